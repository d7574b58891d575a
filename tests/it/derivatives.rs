//! The symbolic gradient and Hessian of every distribution family and every
//! builtin function agree with central finite differences of the value.

use nll::dist::{self, Support};
use nll::eval::{Columns, Program, ProgramOptions, Workspace};
use nll::graph::{Func, Graph, NodeId};
use proptest::prelude::*;

/// Value, gradient and Hessian (full, row-major) of `root` at theta.
fn eval_all(
    g: &mut Graph,
    root: NodeId,
    n: usize,
    cols: &Columns,
    theta: &[f64],
) -> (f64, Vec<f64>, Vec<f64>) {
    let grad: Vec<NodeId> = (0..n as u32).map(|k| g.diff(root, k)).collect();
    let mut roots = vec![root];
    roots.extend(&grad);
    for k in 0..n {
        for l in 0..n {
            let h = g.diff(grad[k], l as u32);
            roots.push(h);
        }
    }
    let prog = Program::new(g, &roots, &[], cols, ProgramOptions::default());
    let mut ws = Workspace::new(&prog);
    let mut out = vec![0.0; roots.len()];
    prog.eval(&mut ws, cols, theta, &mut out);
    (out[0], out[1..=n].to_vec(), out[n + 1..].to_vec())
}

fn value(g: &Graph, root: NodeId, cols: &Columns, theta: &[f64]) -> f64 {
    let prog = Program::new(g, &[root], &[], cols, ProgramOptions::default());
    let mut ws = Workspace::new(&prog);
    let mut out = [0.0];
    prog.eval(&mut ws, cols, theta, &mut out);
    out[0]
}

/// Central differences, h = cbrt(eps) * max(1, |x|): truncation error
/// O(h^2) and rounding error O(eps / h) balance there, giving about 1e-10
/// relative accuracy for smooth functions of moderate curvature.
fn fd_gradient(g: &Graph, root: NodeId, cols: &Columns, theta: &[f64], k: usize) -> f64 {
    let h = f64::EPSILON.cbrt() * theta[k].abs().max(1.0);
    let mut tp = theta.to_vec();
    tp[k] += h;
    let mut tm = theta.to_vec();
    tm[k] -= h;
    (value(g, root, cols, &tp) - value(g, root, cols, &tm)) / (2.0 * h)
}

/// Agreement within an absolute and a relative part: finite differences
/// carry ~1e-10 relative error of the function's scale, and the Hessian check
/// differences the symbolic gradient, so 1e-5 leaves a wide margin while a
/// wrong derivative rule is off by O(1).
fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + scale.abs() + a.abs().max(b.abs()))
}

/// A value inside a support, from a uniform draw u in (0, 1).
fn inside(support: Support, u: f64, y_int: u32) -> f64 {
    match support {
        Support::Real => 4.0 * u - 2.0,
        Support::Positive | Support::NonNegative => 0.2 + 3.0 * u,
        Support::Count => y_int as f64,
        Support::Binary => (y_int % 2) as f64,
        Support::UnitOpen | Support::UnitClosed => 0.05 + 0.9 * u,
        Support::Level => 0.0,
    }
}

/// A count argument (Binomial's n) is a data column holding this value in
/// every row, at least the largest count `inside` draws for an observation.
const DATA_COUNT: f64 = 8.0;

/// Each family's arguments are parameters on the natural scale, except count
/// arguments, which are data; the observation is a data column of three rows.
fn check_family(
    family: &'static dist::Family,
    us: &[f64],
    ys: &[f64; 3],
) -> Result<(), TestCaseError> {
    let mut g = Graph::new();
    let mut real = vec![ys.to_vec()];
    let mut theta = Vec::new();
    // For each parameter, the index of its argument.
    let mut param_arg = Vec::new();
    let mut args = Vec::new();
    for (i, (s, u)) in family.arg_support.iter().zip(us).enumerate() {
        if *s == Support::Count {
            args.push(g.data(real.len() as u32));
            real.push(vec![DATA_COUNT; 3]);
        } else {
            args.push(g.param(theta.len() as u32));
            theta.push(inside(*s, *u, 0));
            param_arg.push(i);
        }
    }
    let n = theta.len();
    let y = g.data(0);
    let term = family.neg_log_density(&mut g, y, &args);
    let root = g.sum(term);
    let cols = Columns {
        n_rows: 3,
        real,
        factor: vec![],
    };
    let (f, grad, hess) = eval_all(&mut g, root, n, &cols, &theta);
    prop_assert!(f.is_finite(), "{} value {f} at {theta:?}", family.name);
    for k in 0..n {
        let fd = fd_gradient(&g, root, &cols, &theta, k);
        let name = family.args[param_arg[k]];
        prop_assert!(
            close(grad[k], fd, f),
            "{} d/d{name}: symbolic {} vs fd {fd} at {theta:?}",
            family.name,
            grad[k]
        );
        for l in 0..n {
            let gk = g.diff(root, k as u32);
            let fd_h = fd_gradient(&g, gk, &cols, &theta, l);
            prop_assert!(
                close(hess[k * n + l], fd_h, grad[k]),
                "{} H[{k},{l}]: {} vs {fd_h}",
                family.name,
                hess[k * n + l]
            );
            prop_assert!(
                close(hess[k * n + l], hess[l * n + k], 0.0),
                "Hessian not symmetric"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn family_derivatives_match_finite_differences(
        us in prop::collection::vec(0.01f64..0.99, 3),
        yu in prop::collection::vec(0.01f64..0.99, 3),
        yk in prop::collection::vec(0u32..7, 3),
    ) {
        for family in dist::FAMILIES.iter().filter(|f| !f.variadic) {
            let ys = [0, 1, 2].map(|i| inside(family.support, yu[i], yk[i]));
            check_family(family, &us, &ys)?;
        }
    }

    #[test]
    fn builtin_derivatives_match_finite_differences(x in 0.1f64..2.5, a in -1.5f64..1.5) {
        // f(a + x * theta) for each builtin, on a domain where it is smooth.
        for (name, func) in Func::BUILTINS {
            let mut g = Graph::new();
            let t = g.param(0);
            let c = g.constant(x);
            let s = g.mul(c, t);
            let arg = if matches!(func, Func::Log | Func::Sqrt | Func::Lgamma | Func::Digamma | Func::Log1p) {
                // Keep the argument positive: exp(a) + x * theta with theta > 0.
                let e = g.constant(a.exp());
                g.add(e, s)
            } else if matches!(func, Func::Tan) {
                let e = g.constant(a / 2.0);
                g.add(e, s)
            } else if matches!(func, Func::Abs) {
                // Away from the kink at 0.
                let e = g.constant(if a >= 0.0 { a + 0.5 } else { a - 0.5 });
                g.add(e, s)
            } else {
                let e = g.constant(a);
                g.add(e, s)
            };
            let root = g.unary(*func, arg);
            let cols = Columns { n_rows: 1, real: vec![], factor: vec![] };
            let theta = [0.1];
            let (f, grad, hess) = eval_all(&mut g, root, 1, &cols, &theta);
            let fd = fd_gradient(&g, root, &cols, &theta, 0);
            prop_assert!(close(grad[0], fd, f), "{name}: {} vs {fd}", grad[0]);
            let g0 = g.diff(root, 0);
            let fd_h = fd_gradient(&g, g0, &cols, &theta, 0);
            prop_assert!(close(hess[0], fd_h, grad[0]), "{name}'': {} vs {fd_h}", hess[0]);
        }
    }
}

#[test]
fn stable_forms_keep_gradients_finite_far_in_the_tails() {
    // Bernoulli with p = logistic(eta) at |eta| = 800: the logit form gives
    // softplus(eta) - y eta, whose gradient logistic(eta) - y is finite.
    for &eta in &[-800.0, 800.0] {
        for &yv in &[0.0, 1.0] {
            let mut g = Graph::new();
            let t = g.param(0);
            let p = g.unary(Func::Logistic, t);
            let y = g.data(0);
            let term = dist::lookup("Bernoulli")
                .unwrap()
                .neg_log_density(&mut g, y, &[p]);
            let root = g.sum(term);
            let cols = Columns {
                n_rows: 1,
                real: vec![vec![yv]],
                factor: vec![],
            };
            let (f, grad, hess) = eval_all(&mut g, root, 1, &cols, &[eta]);
            assert!(
                f.is_finite() && grad[0].is_finite() && hess[0].is_finite(),
                "eta {eta} y {yv}: {f} {grad:?} {hess:?}"
            );
        }
    }
}

#[test]
fn logistic_regression_at_eta_800_matches_hand_values() {
    // y ~ Bernoulli(logistic(a + b x)) at a = 0, b = 800 on rows
    // (x, y) = (1, 0) and (-1, 1): eta = 800 and -800, both confidently
    // wrong. Per row -log p = softplus(eta) - y eta = 800 exactly (to double
    // precision), d/deta = logistic(eta) - y = 1 and -1.
    // So NLL = 1600, d/da = 1 - 1 = 0, d/db = 1*1 + (-1)*(-1) = 2.
    use nll::data::{Column, ColumnKind, DataSet};
    let program =
        nll::syntax::parse_program("data x, y\nparam a, b\ny ~ Bernoulli(logistic(a + b * x))\n")
            .unwrap();
    let (m, _) = nll::model::check(&program);
    let ds = DataSet {
        n_rows: 2,
        columns: vec![
            ("x".into(), ColumnKind::Real, Column::Real(vec![1.0, -1.0])),
            ("y".into(), ColumnKind::Real, Column::Real(vec![0.0, 1.0])),
        ],
        n_dropped: 0,
        n_filtered_out: 0,
        source_rows: vec![1, 2].into(),
    };
    let c = nll::compile::compile(&m, &ds, &ds.source_rows).unwrap();
    let prog = c.grad_program();
    let mut ws = Workspace::new(&prog);
    let mut out = vec![0.0; prog.n_outputs()];
    prog.eval(&mut ws, &c.columns, &[0.0, 800.0, 0.0], &mut out);
    assert_eq!(out, vec![1600.0, 0.0, 2.0]);
}

#[test]
fn log_of_one_minus_logistic_is_a_softplus() {
    // log(1 - logistic(u)) = -softplus(u): at u = 800 the naive form is
    // log(0) = -inf, the stable one -800; its derivative -logistic(u) = -1.
    let mut g = Graph::new();
    let u = g.param(0);
    let p = g.unary(Func::Logistic, u);
    let one = g.constant(1.0);
    let q = g.sub(one, p);
    let root = g.unary(Func::Log, q);
    let cols = Columns {
        n_rows: 1,
        real: vec![],
        factor: vec![],
    };
    let (f, grad, _) = eval_all(&mut g, root, 1, &cols, &[800.0]);
    assert_eq!(f, -800.0);
    assert_eq!(grad[0], -1.0);
}
