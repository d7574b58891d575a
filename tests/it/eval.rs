//! The evaluator against a plain reference: random row expressions and their
//! derivatives, summed over random data, evaluated by the compiled program
//! (chunks, fused sums, partial-sum lanes, buffers reused by liveness,
//! blocks on threads) and by a column-at-a-time walk of the same graph that
//! sums each column in row order.
//!
//! Per row, both use the same elementary functions (the evaluator's
//! vectorisable exp/ln/log1p, tested against the standard library in
//! `eval::fastmath`), but the program may round differently: fused
//! multiply-adds in those functions on AVX2 and AVX-512, softplus and
//! logistic from one exp, softmax weights from the log-sum-exp's exps,
//! multiplications by a shared reciprocal instead of divisions. A row value
//! then differs by a few ulps of the intermediate values it is computed
//! from, which may cancel to a much smaller result (a quotient rule's
//! terms), and a sum of n terms reordered differs by at most about
//! n eps sum_i |t_i|, in practice far less. Hence [`SUM_REL_TOL`], applied
//! to sum_i |t_i| plus one per row: parameters and data here are of order
//! 1, and so are the intermediate values that cancel.

use proptest::prelude::*;

use nll::eval::{fastmath, Columns, Program, ProgramOptions, Workspace};
use nll::graph::{apply_binary, log_sum_exp, Func, Graph, Node, NodeId};

/// Allowed difference between the program's sum and the reference sum,
/// relative to sum_i |t_i| + n (see the module documentation).
const SUM_REL_TOL: f64 = 1e-12;

const N_PARAMS: u32 = 3;
const N_REAL_COLS: u32 = 3;
const N_LEVELS: u32 = 3;

/// A random expression of parameters, data and constants.
#[derive(Debug, Clone)]
enum Expr {
    Param(u32),
    Data(u32),
    Const(f64),
    Level(u32),
    Unary(Func, Box<Expr>),
    Binary(u8, Box<Expr>, Box<Expr>),
    Select(Vec<Expr>),
    LogSumExp(Box<Expr>, Box<Expr>),
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (0..N_PARAMS).prop_map(Expr::Param),
        (0..N_REAL_COLS).prop_map(Expr::Data),
        (-2.0..2.0f64).prop_map(Expr::Const),
        (0..N_LEVELS).prop_map(Expr::Level),
    ];
    let funcs = prop_oneof![
        Just(Func::Neg),
        Just(Func::Exp),
        Just(Func::Log1p),
        Just(Func::Logistic),
        Just(Func::Softplus),
        Just(Func::Abs),
        Just(Func::Tanh),
    ];
    leaf.prop_recursive(5, 40, 3, move |inner| {
        prop_oneof![
            (funcs.clone(), inner.clone()).prop_map(|(f, e)| Expr::Unary(f, Box::new(e))),
            (0..4u8, inner.clone(), inner.clone()).prop_map(|(op, a, b)| Expr::Binary(
                op,
                Box::new(a),
                Box::new(b)
            )),
            prop::collection::vec(inner.clone(), N_LEVELS as usize).prop_map(Expr::Select),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::LogSumExp(Box::new(a), Box::new(b))),
        ]
    })
}

fn build(g: &mut Graph, e: &Expr) -> NodeId {
    use nll::graph::BinOp;
    match e {
        Expr::Param(k) => g.param(*k),
        Expr::Data(c) => g.data(*c),
        Expr::Const(v) => g.constant(*v),
        Expr::Level(l) => g.level(0, *l),
        Expr::Unary(f, a) => {
            let a = build(g, a);
            g.unary(*f, a)
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (build(g, a), build(g, b));
            let op = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div][*op as usize];
            g.binary(op, a, b)
        }
        Expr::Select(items) => {
            let items = items.iter().map(|i| build(g, i)).collect();
            g.select(0, items)
        }
        Expr::LogSumExp(a, b) => {
            let items = vec![build(g, a), build(g, b)];
            g.log_sum_exp(items)
        }
    }
}

/// Deterministic data: real columns in [-2, 2), a factor with
/// [`N_LEVELS`] levels.
fn columns(n_rows: usize, seed: u64) -> Columns {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) >> 11
    };
    let unit = 1.0 / (1u64 << 53) as f64;
    let real = (0..N_REAL_COLS)
        .map(|_| {
            (0..n_rows)
                .map(|_| next() as f64 * unit * 4.0 - 2.0)
                .collect()
        })
        .collect();
    let factor = vec![(0..n_rows)
        .map(|_| (next() % N_LEVELS as u64) as u32)
        .collect()];
    Columns {
        n_rows,
        real,
        factor,
    }
}

/// The value of a row node's function on one row, as the evaluator computes
/// it: the vectorised functions where it has them, `Func::apply` elsewhere.
fn row_unary(f: Func, x: f64) -> f64 {
    match f {
        Func::Exp => fastmath::exp(x),
        Func::Log => fastmath::ln(x),
        Func::Log1p => fastmath::log1p(x),
        Func::Logistic => fastmath::logistic(x),
        Func::Softplus => fastmath::softplus(x),
        other => other.apply(x),
    }
}

/// A node's value in the reference: one value per row, or one scalar.
#[derive(Clone)]
enum Value {
    Rows(Vec<f64>),
    Scalar(f64),
}

impl Value {
    fn at(&self, row_idx: usize) -> f64 {
        match self {
            Value::Rows(v) => v[row_idx],
            Value::Scalar(x) => *x,
        }
    }
}

/// Evaluates every node up to the largest root in id order, a column at a
/// time; returns each root's value and, for a sum, sum_i |t_i|.
fn reference(g: &Graph, roots: &[NodeId], data: &Columns, theta: &[f64]) -> Vec<(f64, f64)> {
    let n = data.n_rows;
    let last = roots.iter().map(|r| r.idx()).max().unwrap_or(0);
    let mut vals: Vec<Value> = Vec::with_capacity(last + 1);
    let mut abs_sums = vec![0.0; last + 1];
    for id_idx in 0..=last {
        let id = NodeId(id_idx as u32);
        let rows = |f: &dyn Fn(usize) -> f64| Value::Rows((0..n).map(f).collect());
        let v = match g.node(id) {
            Node::Const(bits) => Value::Scalar(f64::from_bits(*bits)),
            Node::Param(k) => Value::Scalar(theta[*k as usize]),
            Node::RowCount => Value::Scalar(n as f64),
            Node::Data(c) => Value::Rows(data.real[*c as usize].clone()),
            Node::Level { col, level } => {
                let codes = &data.factor[*col as usize];
                rows(&|i| if codes[i] == *level { 1.0 } else { 0.0 })
            }
            Node::Select { col, items } => {
                let codes = &data.factor[*col as usize];
                rows(&|i| {
                    let item = items.get(codes[i] as usize);
                    item.map_or(f64::NAN, |it| vals[it.idx()].at(i))
                })
            }
            Node::Unary(f, a) if g.is_row(id) => rows(&|i| row_unary(*f, vals[a.idx()].at(i))),
            Node::Unary(f, a) => Value::Scalar(f.apply(vals[a.idx()].at(0))),
            Node::Binary(op, a, b) if g.is_row(id) => {
                rows(&|i| apply_binary(*op, vals[a.idx()].at(i), vals[b.idx()].at(i)))
            }
            Node::Binary(op, a, b) => {
                Value::Scalar(apply_binary(*op, vals[a.idx()].at(0), vals[b.idx()].at(0)))
            }
            Node::LogSumExp(items) if g.is_row(id) => rows(&|i| {
                let xs: Vec<f64> = items.iter().map(|it| vals[it.idx()].at(i)).collect();
                let m = xs.iter().cloned().fold(f64::NEG_INFINITY, |m, x| {
                    if x > m || x.is_nan() {
                        x
                    } else {
                        m
                    }
                });
                let s: f64 = xs.iter().fold(0.0, |s, x| s + fastmath::exp(x - m));
                if m.is_finite() {
                    m + fastmath::ln(s)
                } else {
                    m
                }
            }),
            Node::LogSumExp(items) => {
                let xs: Vec<f64> = items.iter().map(|it| vals[it.idx()].at(0)).collect();
                Value::Scalar(log_sum_exp(&xs))
            }
            Node::Sum(a) => {
                let col = &vals[a.idx()];
                abs_sums[id_idx] = (0..n).map(|i| col.at(i).abs()).sum();
                Value::Scalar((0..n).map(|i| col.at(i)).sum())
            }
        };
        vals.push(v);
    }
    roots
        .iter()
        .map(|r| (vals[r.idx()].at(0), abs_sums[r.idx()]))
        .collect()
}

/// The sums of `e` and of its derivatives with respect to each parameter,
/// as root nodes (only those that are row nodes: a sum of a scalar is not
/// what is being tested).
fn sum_roots(g: &mut Graph, e: NodeId) -> Vec<NodeId> {
    let mut terms = vec![e];
    for k in 0..N_PARAMS {
        terms.push(g.diff(e, k));
    }
    let row_terms: Vec<NodeId> = terms.into_iter().filter(|t| g.is_row(*t)).collect();
    row_terms
        .into_iter()
        .map(|t| g.intern(Node::Sum(t)))
        .collect()
}

fn eval_with_threads(
    g: &Graph,
    roots: &[NodeId],
    data: &Columns,
    theta: &[f64],
    n_threads: usize,
) -> Vec<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n_threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        let prog = Program::new(g, roots, &[], data, ProgramOptions::default());
        let mut ws = Workspace::new(&prog);
        let mut out = vec![0.0; roots.len()];
        prog.eval(&mut ws, data, theta, &mut out);
        out
    })
}

/// Checks the program against the reference on `n_rows` rows, at one and
/// at three threads (which must agree bit for bit).
fn check_eval(e: &Expr, n_rows: usize, seed: u64) -> Result<(), String> {
    let mut g = Graph::new();
    let node = build(&mut g, e);
    if !g.is_row(node) {
        return Ok(());
    }
    let roots = sum_roots(&mut g, node);
    let data = columns(n_rows, seed);
    let theta = [0.3, -0.7, 1.1];

    let expected = reference(&g, &roots, &data, &theta);
    let one = eval_with_threads(&g, &roots, &data, &theta, 1);
    let three = eval_with_threads(&g, &roots, &data, &theta, 3);
    for (k, ((got, got3), (want, abs_sum))) in one.iter().zip(&three).zip(&expected).enumerate() {
        if got.to_bits() != got3.to_bits() {
            return Err(format!("root {k}: {got:e} with 1 thread, {got3:e} with 3"));
        }
        let both_nan = got.is_nan() && want.is_nan();
        let close = (got - want).abs() <= SUM_REL_TOL * (abs_sum + n_rows as f64) || got == want;
        if !both_nan && !close {
            return Err(format!(
                "root {k} on {n_rows} rows: program {got:e}, reference {want:e} (sum |t| {abs_sum:e})"
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Row counts around the chunk size (512) and below it.
    #[test]
    fn program_matches_reference_on_random_models(e in expr(), n_rows in 0usize..1600, seed in any::<u64>()) {
        check_eval(&e, n_rows, seed).map_err(TestCaseError::fail)?;
    }
}

/// Row counts with nothing, one row, a partial chunk, and many blocks with
/// a partial last chunk (100003 is prime); a model with every kind of row
/// operation.
#[test]
fn program_matches_reference_at_edge_row_counts() {
    use Expr::*;
    let p = |k| Box::new(Param(k));
    let x = |c| Box::new(Data(c));
    // softplus(a + b x0) - x1 (a + b x0) + log-sum-exp(c x2, [g]) + select
    let eta = Binary(0, p(0), Box::new(Binary(2, p(1), x(0))));
    let e = Binary(
        0,
        Box::new(Binary(
            1,
            Box::new(Unary(Func::Softplus, Box::new(eta.clone()))),
            Box::new(Binary(2, x(1), Box::new(eta))),
        )),
        Box::new(Binary(
            0,
            Box::new(LogSumExp(
                Box::new(Binary(2, p(2), x(2))),
                Box::new(Level(1)),
            )),
            Box::new(Select(vec![Param(0), Data(1), Unary(Func::Exp, p(1))])),
        )),
    );
    for n_rows in [0, 1, 7, 100_003] {
        check_eval(&e, n_rows, 42).unwrap_or_else(|msg| panic!("{msg}"));
    }
}

/// The shapes the evaluator computes inside their readers: a mixture's
/// log weight less a constant and a scaled square (c - (d + h z^2)), its
/// log-sum-exp of two items with both weights, squares scaled by a row
/// value (r^2 exp(-2 g)), and sums of a weight times a difference
/// (w (1 - z^2)) in the gradients; every row count at chunk edges.
#[test]
fn mixture_and_scale_model_shapes_match_reference() {
    use Expr::*;
    let p = |k| Box::new(Param(k));
    let x = |c| Box::new(Data(c));
    let c = |v| Box::new(Const(v));
    let square = |e: Expr| Binary(2, Box::new(e.clone()), Box::new(e));
    // log w_k - (d_k + z_k^2 / 2), z_1 = (x0 - b) exp(-s), d_1 = 0.9 + s
    // (the log of a scale), z_2 = x0 - 1.5, d_2 = 0.3
    let z1 = Binary(
        2,
        Box::new(Binary(1, x(0), p(1))),
        Box::new(Unary(Func::Exp, Box::new(Unary(Func::Neg, p(2))))),
    );
    let z2 = Binary(1, x(0), c(1.5));
    let component = |log_w: Expr, d: Expr, z: Expr| {
        Binary(
            1,
            Box::new(log_w),
            Box::new(Binary(
                0,
                Box::new(d),
                Box::new(Binary(2, c(0.5), Box::new(square(z)))),
            )),
        )
    };
    let mixture = Unary(
        Func::Neg,
        Box::new(LogSumExp(
            Box::new(component(
                Unary(Func::Neg, Box::new(Unary(Func::Softplus, p(0)))),
                Binary(0, c(0.9), p(2)),
                z1,
            )),
            Box::new(component(
                Unary(
                    Func::Neg,
                    Box::new(Unary(Func::Softplus, Box::new(Unary(Func::Neg, p(0))))),
                ),
                Const(0.3),
                z2,
            )),
        )),
    );
    // g + r^2 exp(-2 g) / 2, g = a + b x1, r = x2 - s x1
    let g = Binary(0, p(0), Box::new(Binary(2, p(1), x(1))));
    let r = Binary(1, x(2), Box::new(Binary(2, p(2), x(1))));
    let precision = Unary(Func::Exp, Box::new(Binary(2, c(-2.0), Box::new(g.clone()))));
    let scale_model = Binary(
        0,
        Box::new(g),
        Box::new(Binary(
            2,
            c(0.5),
            Box::new(Binary(2, Box::new(square(r)), Box::new(precision))),
        )),
    );
    for e in [mixture, scale_model] {
        for n_rows in [0, 1, 7, 255, 256, 257, 100_003] {
            check_eval(&e, n_rows, 23).unwrap_or_else(|msg| panic!("{msg}"));
        }
    }
}

/// Sums of a row value and a product, o + c y, o - c y, c y - o with a
/// constant c (a parameter factor is taken out of the sum), and o + u v,
/// computed in the sum's own loop.
#[test]
fn sums_of_a_value_and_a_product_match_reference() {
    use Expr::*;
    let p = |k| Box::new(Param(k));
    let x = |c| Box::new(Data(c));
    let ax0 = Box::new(Unary(Func::Exp, Box::new(Binary(2, p(0), x(0)))));
    let cx1 = Box::new(Unary(Func::Softplus, Box::new(Binary(2, p(2), x(1)))));
    let tanh = Box::new(Unary(Func::Tanh, Box::new(Binary(2, p(0), x(1)))));
    let c = || Box::new(Const(0.37));
    let models = [
        // o + c y
        Binary(0, ax0.clone(), Box::new(Binary(2, c(), cx1.clone()))),
        // o - c y
        Binary(1, ax0.clone(), Box::new(Binary(2, c(), cx1.clone()))),
        // c y - o
        Binary(1, Box::new(Binary(2, c(), cx1.clone())), ax0.clone()),
        // o + u v
        Binary(0, ax0, Box::new(Binary(2, tanh, cx1))),
    ];
    for e in &models {
        for n_rows in [0, 1, 545, 100_003] {
            check_eval(e, n_rows, 5).unwrap_or_else(|msg| panic!("{msg}"));
        }
    }
}

/// exp(-(a x)) (an exponential decay) and exp(-2 (b + c x)) (a scale's
/// inverse square), each an exp of a scaled value computed in one pass.
#[test]
fn exps_of_scaled_values_match_reference() {
    use Expr::*;
    let p = |k| Box::new(Param(k));
    let x = |c| Box::new(Data(c));
    let decay = Unary(
        Func::Exp,
        Box::new(Unary(Func::Neg, Box::new(Binary(2, p(0), x(0))))),
    );
    let eta = Binary(0, p(1), Box::new(Binary(2, p(2), x(1))));
    let inv_var = Unary(
        Func::Exp,
        Box::new(Binary(2, Box::new(Const(-2.0)), Box::new(eta.clone()))),
    );
    let e = Binary(
        0,
        Box::new(Binary(2, x(2), Box::new(decay))),
        Box::new(Binary(
            0,
            Box::new(Binary(2, Box::new(inv_var.clone()), x(0))),
            Box::new(eta),
        )),
    );
    // eta read only by the exp's exponent: the exp may take its buffer.
    let alone = Binary(2, Box::new(inv_var), x(0));
    for e in [e, alone] {
        for n_rows in [0, 1, 545, 100_003] {
            check_eval(&e, n_rows, 9).unwrap_or_else(|msg| panic!("{msg}"));
        }
    }
}

/// Several divisions by one exp(u)^2 (a Gaussian scale model's r^2 / sigma^2
/// and r / sigma^2, sigma = exp(b + c x)): the shared reciprocal is
/// exp(-2 u), and sigma itself is never computed.
#[test]
fn divisions_by_a_power_of_exp_match_reference() {
    use Expr::*;
    let p = |k| Box::new(Param(k));
    let x = |c| Box::new(Data(c));
    let sigma = Unary(
        Func::Exp,
        Box::new(Binary(0, p(1), Box::new(Binary(2, p(2), x(1))))),
    );
    // (sigma^2 as sigma * sigma: the graph writes it as a power)
    let var = Binary(2, Box::new(sigma.clone()), Box::new(sigma));
    let r = Binary(1, x(0), p(0));
    let e = Binary(
        0,
        Box::new(Binary(
            3,
            Box::new(Binary(2, Box::new(r.clone()), Box::new(r.clone()))),
            Box::new(var.clone()),
        )),
        Box::new(Binary(
            3,
            Box::new(Binary(2, Box::new(r), x(2))),
            Box::new(var),
        )),
    );
    for n_rows in [0, 1, 545, 100_003] {
        check_eval(&e, n_rows, 17).unwrap_or_else(|msg| panic!("{msg}"));
    }
}

/// A log-sum-exp whose largest item overflows to +inf on some rows: there
/// the result is +inf and the other item's softmax weight is 0, not NaN.
#[test]
fn log_sum_exp_with_infinite_items_matches_reference() {
    use Expr::*;
    let huge = Unary(
        Func::Exp,
        Box::new(Unary(
            Func::Exp,
            Box::new(Binary(2, Box::new(Const(4.0)), Box::new(Data(0)))),
        )),
    );
    let e = LogSumExp(
        Box::new(huge),
        Box::new(Binary(2, Box::new(Param(0)), Box::new(Data(1)))),
    );
    for n_rows in [1, 545, 2000] {
        check_eval(&e, n_rows, 13).unwrap_or_else(|msg| panic!("{msg}"));
    }
}

/// A log-sum-exp of two items takes one exp per row (of the smaller item
/// less the larger) instead of two: its value and gradient are bit for bit
/// those of the general loop, here the same items with a third that is
/// -inf on every row and so adds exactly 0.
#[test]
fn a_log_sum_exp_of_two_items_equals_the_general_one_bit_for_bit() {
    for n_rows in [1, 545, 2000] {
        let mut data = columns(n_rows, 29);
        data.real[2] = vec![0.0; n_rows];
        let mut g = Graph::new();
        let (a, b) = (g.param(0), g.param(1));
        let (x0, x1, zero) = (g.data(0), g.data(1), g.data(2));
        let ax = g.mul(a, x0);
        let bx = g.mul(b, x1);
        let bx = g.sub(bx, x0);
        let minus_inf = g.unary(Func::Log, zero);
        let two = g.log_sum_exp(vec![ax, bx]);
        let three = g.log_sum_exp(vec![ax, bx, minus_inf]);
        let mut roots = Vec::new();
        for l in [two, three] {
            let terms = [l, g.diff(l, 0), g.diff(l, 1)];
            roots.extend(terms.map(|t| g.intern(Node::Sum(t))));
        }
        let got = eval_with_threads(&g, &roots, &data, &[0.3, -1.7], 1);
        assert!(got.iter().all(|v| v.is_finite()), "{got:?}");
        for k in 0..3 {
            assert_eq!(
                got[k].to_bits(),
                got[k + 3].to_bits(),
                "root {k} on {n_rows} rows: {got:?}"
            );
        }
    }
}

/// logistic(-eta) beside softplus(eta) and logistic(eta) (a logistic
/// regression's Hessian weight) comes from the pair's exp: bit for bit the
/// value the logistic alone gives, in a program without the pair.
#[test]
fn logistic_of_the_negated_operand_of_a_pair_equals_the_lone_one() {
    for n_rows in [1, 545, 2000] {
        let data = columns(n_rows, 31);
        let mirror_sum = |with_pair: bool| -> f64 {
            let mut g = Graph::new();
            let (a, b) = (g.param(0), g.param(1));
            let (x0, x1) = (g.data(0), g.data(1));
            let bx = g.mul(b, x0);
            let eta = g.add(a, bx);
            // (the pair first: the instruction computing it must come
            // before any reader of logistic(-eta))
            let mut roots = Vec::new();
            if with_pair {
                let sp = g.unary(Func::Softplus, eta);
                let lg = g.unary(Func::Logistic, eta);
                let u = g.mul(lg, x0);
                roots.push(g.intern(Node::Sum(sp)));
                roots.push(g.intern(Node::Sum(u)));
            }
            let minus_eta = g.neg(eta);
            let mirror = g.unary(Func::Logistic, minus_eta);
            let t = g.mul(mirror, x1);
            roots.push(g.intern(Node::Sum(t)));
            *eval_with_threads(&g, &roots, &data, &[0.3, -25.0], 1)
                .last()
                .expect("three roots")
        };
        let (fused, alone) = (mirror_sum(true), mirror_sum(false));
        assert!(fused.is_finite());
        assert_eq!(
            fused.to_bits(),
            alone.to_bits(),
            "{n_rows} rows: {fused:e} vs {alone:e}"
        );
    }
}

/// A linear predictor of several terms (one pass that keeps its running
/// sum in registers, a few rows at a time) inside a logistic NLL, at row
/// counts that leave a partial group of rows at the end of a chunk and of
/// the data.
#[test]
fn linear_predictors_match_reference() {
    use Expr::*;
    let p = |k| Box::new(Param(k));
    let x = |c| Box::new(Data(c));
    // eta = a + b x0 + c x1 + a x2 + (b x0) x1
    let mut eta = Binary(0, p(0), Box::new(Binary(2, p(1), x(0))));
    eta = Binary(0, Box::new(eta), Box::new(Binary(2, p(2), x(1))));
    eta = Binary(0, Box::new(eta), Box::new(Binary(2, p(0), x(2))));
    eta = Binary(
        0,
        Box::new(eta),
        Box::new(Binary(2, Box::new(Binary(2, p(1), x(0))), x(1))),
    );
    let e = Binary(
        1,
        Box::new(Unary(Func::Softplus, Box::new(eta.clone()))),
        Box::new(Binary(2, x(1), Box::new(eta))),
    );
    for n_rows in [0, 1, 31, 33, 545, 100_003] {
        check_eval(&e, n_rows, 7).unwrap_or_else(|msg| panic!("{msg}"));
    }
}

/// sum_i (e^a x_i - (x_i if g_i = 1, else 0)) is split into a sum that
/// depends on a and one of data only; the second is computed once when the
/// program is built, and the choice it alone reads is not computed on each
/// evaluation.
#[test]
fn what_only_a_folded_sum_reads_is_not_computed() {
    let mut g = Graph::new();
    let a = g.param(0);
    let x = g.data(0);
    let zero = g.constant(0.0);
    let chosen = g.select(0, vec![zero, x, zero]);
    let ea = g.unary(Func::Exp, a);
    let t = g.mul(ea, x);
    let d = g.sub(t, chosen);
    let s = g.sum(d);
    let data = columns(1000, 7);
    let prog = Program::new(&g, &[s], &[], &data, ProgramOptions::default());
    // e^a is a scalar factor, sum_i e^a x_i = e^a sum_i x_i: both sums are
    // data only, and nothing is left to compute per row.
    assert_eq!(prog.n_row_instrs(), 0);
    let theta = [0.3];
    let mut ws = Workspace::new(&prog);
    let mut out = [0.0];
    prog.eval(&mut ws, &data, &theta, &mut out);
    let want: f64 = (0..1000)
        .map(|i| {
            let xi = data.real[0][i];
            let c = if data.factor[0][i] == 1 { xi } else { 0.0 };
            0.3f64.exp() * xi - c
        })
        .sum();
    assert!(
        (out[0] - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{} vs {want}",
        out[0]
    );
}

/// Per-row values handed over a block at a time are the whole columns of
/// `eval_rows`, cut at block boundaries, for row counts below, at and across
/// the block size, including a sum over all rows asked for per row (which
/// needs a pass of its own first) and a parameter (the same in every row).
#[test]
fn row_blocks_are_the_columns_cut_in_pieces() {
    for n_rows in [0usize, 1, 7, 16384, 40000] {
        let mut g = Graph::new();
        let x = g.data(0);
        let a = g.param(0);
        let ax = g.mul(a, x);
        let e = g.unary(Func::Exp, ax);
        let total = g.sum(ax);
        let columns = Columns {
            n_rows,
            real: vec![(0..n_rows)
                .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0)
                .collect()],
            factor: Vec::new(),
        };
        let roots = [e, total, a];
        let prog = Program::new(&g, &[], &roots, &columns, ProgramOptions::default());
        let whole = prog.eval_rows(&columns, &[0.3]);
        let mut pieces = vec![Vec::new(); roots.len()];
        let mut next_row = 0;
        prog.for_each_row_block(&columns, &[0.3], |first, cols| {
            assert_eq!(first, next_row, "blocks in order, without gaps");
            next_row += cols[0].len();
            for (piece, col) in pieces.iter_mut().zip(cols) {
                piece.extend_from_slice(col);
            }
        });
        assert_eq!(next_row, n_rows);
        assert_eq!(pieces, whole, "{n_rows} rows");
    }
}

/// A sum of factor choices, computed as masked sums without the choices
/// themselves: zero, non-zero scalar and per-row items, a row count that is
/// not a whole number of chunks, and a code with no item (the sum is NaN, as
/// the choice of that row is).
#[test]
fn sums_of_factor_choices_match_a_row_by_row_sum() {
    for n_rows in [0usize, 1, 7, 1000, 100003] {
        for n_levels in [3u32, 4, 5] {
            let mut g = Graph::new();
            let x = g.data(0);
            let a = g.param(0);
            let zero = g.constant(0.0);
            let ax = g.mul(a, x);
            let items = vec![zero, x, a, ax];
            let chosen = g.select(0, items);
            let total = g.sum(chosen);
            let xs: Vec<f64> = (0..n_rows)
                .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0)
                .collect();
            let codes: Vec<u32> = (0..n_rows)
                .map(|i| ((i * 7) % n_levels as usize) as u32)
                .collect();
            let theta = [0.7];
            let expected: f64 = xs
                .iter()
                .zip(&codes)
                .map(|(x, c)| match c {
                    0 => 0.0,
                    1 => *x,
                    2 => theta[0],
                    3 => theta[0] * x,
                    _ => f64::NAN,
                })
                .sum();
            let columns = Columns {
                n_rows,
                real: vec![xs],
                factor: vec![codes],
            };
            let prog = Program::new(&g, &[total], &[], &columns, ProgramOptions::default());
            let mut ws = Workspace::new(&prog);
            let mut out = [0.0];
            prog.eval(&mut ws, &columns, &theta, &mut out);
            let what = format!(
                "{n_rows} rows, {n_levels} levels: {} against {expected}",
                out[0]
            );
            if expected.is_nan() {
                assert!(out[0].is_nan(), "{what}");
            } else {
                assert!(
                    (out[0] - expected).abs() <= 1e-12 * (n_rows as f64 + 1.0),
                    "{what}"
                );
            }
        }
    }
}

/// The model objective's NLL-only probes and its remembered evaluations give
/// the numbers of a fresh evaluation: to rounding for the probe (a program
/// of its own, whose softplus rounds differently from the one computed with
/// its logistic), bit for bit when the same program is asked again.
#[test]
fn the_objectives_probes_and_remembered_passes_match_fresh_evaluations() {
    use nll::infer::ModelObjective;
    use nll::optim::Objective;
    // A kept data column (log(income)) and a softplus paired with its
    // logistic.
    for (example, data_file) in [
        ("engel_heteroscedastic.nll", "engel.csv"),
        ("breast_cancer_logistic.nll", "breast_cancer.csv"),
    ] {
        let (model, ds) = crate::common::load_example(example, data_file);
        let c = nll::compile::compile(&model, &ds, &ds.source_rows).expect("compiles");
        let n = c.n_params();
        let free: Vec<usize> = (0..n).collect();
        let point = |shift: f64| -> Vec<f64> {
            (0..n)
                .map(|k| 0.01 * shift * (k as f64 + 1.0).sin())
                .collect()
        };
        let fresh = |x: &[f64]| {
            let mut obj = ModelObjective::new(&c, free.clone(), vec![0.0; n]);
            let mut g = vec![0.0; n];
            let f = obj.value_grad(x, &mut g);
            (f, g)
        };
        // The value's bits and the gradient a value-and-gradient pass gives.
        let asked = |obj: &mut ModelObjective, x: &[f64]| {
            let mut g = vec![0.0; n];
            (obj.value_grad(x, &mut g).to_bits(), g)
        };
        let mut obj = ModelObjective::new(&c, free.clone(), vec![0.0; n]);
        for shift in [0.0, 1.0, -2.0, 1.0] {
            let x = point(shift);
            let (f, g) = fresh(&x);
            assert_eq!(asked(&mut obj, &x), (f.to_bits(), g), "{example}");
            let p = obj.probe_nll(&x);
            assert!(
                (p - f).abs() <= 1e-13 * f.abs(),
                "{example}: probe {p} against {f}"
            );
            // After the Hessian pass at x, its value and gradient are
            // what a value-and-gradient pass there returns.
            let mut g2 = vec![0.0; n];
            let mut h = nalgebra::DMatrix::zeros(n, n);
            let f2 = obj.value_grad_hess(&x, &mut g2, &mut h);
            assert_eq!(asked(&mut obj, &x), (f2.to_bits(), g2), "{example}");
            assert!((f2 - f).abs() <= 1e-13 * f.abs(), "{example}");
        }
    }
}

/// The program's outputs at `theta`, evaluated on a pool of `threads`.
fn eval_on_threads(p: &Program, cols: &Columns, theta: &[f64], threads: usize) -> Vec<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        let mut ws = Workspace::new(p);
        let mut out = vec![0.0; p.n_outputs()];
        p.eval(&mut ws, cols, theta, &mut out);
        out
    })
}

/// Each output within [`SUM_REL_TOL`] of the reference's (value, sum of
/// absolute terms).
fn assert_near_reference(got: &[f64], expected: &[(f64, f64)], n_rows: usize) {
    for (k, (got, (want, abs_sum))) in got.iter().zip(expected).enumerate() {
        assert!(
            (got - want).abs() <= SUM_REL_TOL * (abs_sum + n_rows as f64),
            "root {k}, {n_rows} rows: {got:e} against {want:e}"
        );
    }
}

/// The Hessians of a logistic and a Poisson regression with four
/// coefficients: each entry is sum_i (w_i x_ia) x_ib with one weight w
/// (p (1 - p), exp(eta)) shared by all of them, and programs compute such
/// entries together, a block at a time. The results are those of the
/// entries computed one by one, bit for bit, at any number of threads, and
/// match the reference.
#[test]
fn hessian_entries_sharing_a_weight_equal_the_entries_one_by_one() {
    for poisson in [false, true] {
        let mut g = Graph::new();
        // eta = b0 + b1 x0 + b2 x1 + b3 x2; y in column 3.
        let mut eta = g.param(0);
        for k in 0..3 {
            let b = g.param(k + 1);
            let x = g.data(k);
            let t = g.mul(b, x);
            eta = g.add(eta, t);
        }
        let y = g.data(3);
        let y_eta = g.mul(y, eta);
        let mean = if poisson {
            g.unary(Func::Exp, eta)
        } else {
            g.unary(Func::Softplus, eta)
        };
        let e = g.sub(mean, y_eta);
        let mut roots = vec![g.intern(Node::Sum(e))];
        for j in 0..4 {
            let d = g.diff(e, j);
            roots.push(g.intern(Node::Sum(d)));
            for k in j..4 {
                let dd = g.diff(d, k);
                roots.push(g.intern(Node::Sum(dd)));
            }
        }
        let theta = [0.2, -0.4, 0.3, 0.1];
        for n_rows in [0, 1, 7, 511, 513, 100_003] {
            let mut cols = columns(n_rows, 11);
            cols.real.push(
                columns(n_rows, 12).real[0]
                    .iter()
                    .map(|v| v.abs())
                    .collect(),
            );
            let expected = reference(&g, &roots, &cols, &theta);
            let blocked = ProgramOptions::default();
            let one_by_one = ProgramOptions {
                gram_blocks: false,
                ..ProgramOptions::default()
            };
            let with = Program::new(&g, &roots, &[], &cols, blocked);
            let without = Program::new(&g, &roots, &[], &cols, one_by_one);
            assert!(
                with.n_row_instrs() < without.n_row_instrs(),
                "the Hessian's entries are computed together"
            );
            let run = |p: &Program, threads: usize| eval_on_threads(p, &cols, &theta, threads);
            let reference_out = run(&without, 1);
            for threads in [1, 3] {
                let got = run(&with, threads);
                for (k, (a, b)) in got.iter().zip(&reference_out).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "root {k}, {n_rows} rows: {a:e} {b:e}"
                    );
                }
            }
            assert_near_reference(&reference_out, &expected, n_rows);
        }
    }
}

/// The Hessian of a softmax regression with four classes (three free, each
/// with an intercept and two coefficients): its entries are sums
/// sum_i w_i x_ia x_ib with a weight per pair of classes (p_k p_l) over
/// the same columns, which a program computes in one instruction, each
/// product of columns once for all the weights. The results match the
/// reference, and do not depend on the number of threads. (The graph built
/// here keeps p_k - p_k^2 apart from the products; the compiler's softmax
/// has all its weights in the instruction, checked on the iris example.)
#[test]
fn hessian_entries_of_several_weights_over_the_same_columns() {
    let mut g = Graph::new();
    let mut items = vec![g.constant(0.0)];
    for k in 0..3 {
        let mut eta = g.param(3 * k);
        for j in 0..2 {
            let b = g.param(3 * k + j + 1);
            let x = g.data(j);
            let t = g.mul(b, x);
            eta = g.add(eta, t);
        }
        items.push(eta);
    }
    let lse = g.log_sum_exp(items.clone());
    // -log p(class 1) for every row: the log-sum-exp less eta_1, weighted
    // by a third column so the gradient has data in it.
    let w = g.data(2);
    let chosen = g.mul(w, items[1]);
    let e = g.sub(lse, chosen);
    let n_params = 9;
    let mut roots = vec![g.intern(Node::Sum(e))];
    for j in 0..n_params {
        let d = g.diff(e, j);
        roots.push(g.intern(Node::Sum(d)));
        for k in j..n_params {
            let dd = g.diff(d, k);
            roots.push(g.intern(Node::Sum(dd)));
        }
    }
    let theta = [0.2, -0.4, 0.3, 0.1, 0.5, -0.2, -0.3, 0.25, 0.15];
    for n_rows in [0, 1, 7, 511, 513, 100_003] {
        let cols = columns(n_rows, 21);
        let expected = reference(&g, &roots, &cols, &theta);
        let program = Program::new(&g, &roots, &[], &cols, ProgramOptions::default());
        let (sets, weights) = program.shared_weight_sets();
        assert_eq!((sets, weights), (1, 3), "one instruction for the p_k p_l");
        let run = |threads: usize| eval_on_threads(&program, &cols, &theta, threads);
        let one = run(1);
        assert_eq!(
            one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            run(3).iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{n_rows} rows: 1 and 3 threads"
        );
        assert_near_reference(&one, &expected, n_rows);
    }
}

/// A compiled softmax regression (three classes, so weights p_1 (1 - p_1),
/// p_2 (1 - p_2) and p_1 p_2, on two features) computes its whole
/// Hessian's sums in one instruction, and its Hessian matches central
/// differences of its gradient.
#[test]
fn a_compiled_softmax_hessian_shares_its_column_products() {
    let source = "data sepal_length, sepal_width
data species: factor
param a2, b2, c2, a3, b3, c3
species ~ CategoricalLogit(0, a2 + b2 * sepal_length + c2 * sepal_width,
    a3 + b3 * sepal_length + c3 * sepal_width)
";
    let program = nll::syntax::parse_program(source).expect("parses");
    let (model, diags) = nll::model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let path = crate::common::repo_path("examples/data/iris.csv");
    let ds = nll::data::load_csv(
        std::path::Path::new(&path),
        &nll::compile::column_requests(&model),
        &nll::data::LoadOptions::default(),
    )
    .expect("data loads");
    let c = nll::compile::compile(&model, &ds, &ds.source_rows).expect("compiles");
    let hess = c.hess_program();
    assert_eq!(hess.shared_weight_sets(), (1, 3));
    let grad = c.grad_program();
    let n = c.n_params();
    let theta = [0.3, -0.2, 0.1, -0.5, 0.1, 0.2];
    let mut ws = Workspace::new(&hess);
    let mut out = vec![0.0; hess.n_outputs()];
    hess.eval(&mut ws, &c.columns, &theta, &mut out);
    let gradient_at = |x: &[f64]| {
        let mut ws = Workspace::new(&grad);
        let mut g = vec![0.0; grad.n_outputs()];
        grad.eval(&mut ws, &c.columns, x, &mut g);
        g[1..].to_vec()
    };
    // Central differences with step h: error h^2 |f'''| / 6 plus rounding
    // eps |g| / h; at h = 1e-5 on 150 rows both are below 1e-6 of the
    // entries here (of order 1 to 1000).
    let h = 1e-5;
    let mut k = 1 + n;
    for j in 0..n {
        let (mut up, mut down) = (theta.to_vec(), theta.to_vec());
        up[j] += h;
        down[j] -= h;
        let (gu, gd) = (gradient_at(&up), gradient_at(&down));
        for l in 0..=j {
            let fd = (gu[l] - gd[l]) / (2.0 * h);
            let got = out[k];
            assert!(
                (got - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "entry ({j}, {l}): {got} against {fd}"
            );
            k += 1;
        }
    }
}
