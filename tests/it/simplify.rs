//! The simplifier changes no value, and makes gradients smaller.

use nll::compile;
use nll::eval::{Columns, Program, ProgramOptions, Workspace};
use nll::graph::{BinOp, Func, Graph, NodeId};
use proptest::prelude::*;

use crate::common::load_example;

/// A random expression over three parameters and one data column, built
/// from operations that stay finite on the sampled domain.
#[derive(Debug, Clone)]
enum E {
    Param(u32),
    Data,
    Const(f64),
    Unary(u8, Box<E>),
    Binary(u8, Box<E>, Box<E>),
}

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        (0u32..3).prop_map(E::Param),
        Just(E::Data),
        (-2.0f64..2.0).prop_map(E::Const),
        prop_oneof![Just(0.0), Just(1.0), Just(-1.0), Just(2.0)].prop_map(E::Const),
    ];
    leaf.prop_recursive(5, 40, 2, |inner| {
        prop_oneof![
            (0u8..7, inner.clone()).prop_map(|(f, a)| E::Unary(f, Box::new(a))),
            (0u8..6, inner.clone(), inner).prop_map(|(op, a, b)| E::Binary(
                op,
                Box::new(a),
                Box::new(b)
            )),
        ]
    })
}

/// Builds `e` with the graph's constructors; every operation keeps values
/// finite: logs and divisions only see 1 + u^2, exponentials see tanh(u).
fn build(g: &mut Graph, e: &E) -> NodeId {
    match e {
        E::Param(k) => g.param(*k),
        E::Data => g.data(0),
        E::Const(c) => g.constant(*c),
        E::Unary(f, a) => {
            let a = build(g, a);
            match f {
                0 => g.neg(a),
                1 => {
                    let t = g.unary(Func::Tanh, a);
                    g.unary(Func::Exp, t)
                }
                2 => {
                    let two = g.constant(2.0);
                    let sq = g.pow(a, two);
                    let one = g.constant(1.0);
                    let s = g.add(one, sq);
                    g.unary(Func::Log, s)
                }
                3 => g.unary(Func::Softplus, a),
                4 => g.unary(Func::Logistic, a),
                5 => {
                    let e = g.unary(Func::Exp, a);
                    g.unary(Func::Log, e)
                }
                _ => g.unary(Func::Atan, a),
            }
        }
        E::Binary(op, a, b) => {
            let a = build(g, a);
            let b = build(g, b);
            match op {
                0 => g.add(a, b),
                1 => g.sub(a, b),
                2 => g.mul(a, b),
                3 => {
                    let two = g.constant(2.0);
                    let sq = g.pow(b, two);
                    let one = g.constant(1.0);
                    let den = g.add(one, sq);
                    g.div(a, den)
                }
                4 => {
                    let three = g.constant(3.0);
                    let t = g.unary(Func::Tanh, a);
                    g.binary(BinOp::Pow, t, three)
                }
                _ => {
                    let ea = g.unary(Func::Tanh, a);
                    let ea = g.unary(Func::Exp, ea);
                    let eb = g.unary(Func::Tanh, b);
                    let eb = g.unary(Func::Exp, eb);
                    let s = g.add(ea, eb);
                    g.unary(Func::Log, s)
                }
            }
        }
    }
}

/// Sum over rows of the expression and its gradient, at theta.
fn eval_with_grad(mut g: Graph, e: &E, cols: &Columns, theta: &[f64]) -> Vec<f64> {
    let root = build(&mut g, e);
    let total = g.sum(root);
    let mut roots = vec![total];
    for k in 0..3 {
        roots.push(g.diff(total, k));
    }
    let prog = Program::new(&g, &roots, &[], cols, ProgramOptions::default());
    let mut ws = Workspace::new(&prog);
    let mut out = vec![0.0; roots.len()];
    prog.eval(&mut ws, cols, theta, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn simplification_preserves_values_and_gradients(
        e in expr(),
        theta in prop::collection::vec(-1.5f64..1.5, 3),
        xs in prop::collection::vec(-2.0f64..2.0, 4),
    ) {
        let cols = Columns { n_rows: 4, real: vec![xs], factor: vec![] };
        let simplified = eval_with_grad(Graph::new(), &e, &cols, &theta);
        let raw = eval_with_grad(Graph::new_unsimplified(), &e, &cols, &theta);
        for (s, r) in simplified.iter().zip(&raw) {
            // Rewrites change the order of floating-point operations, so
            // values agree to rounding, relative to their magnitude.
            prop_assert!((s - r).abs() <= 1e-9 * (1.0 + r.abs()), "simplified {s} vs raw {r} for {e:?}");
        }
    }
}

#[test]
fn simplified_gradients_are_no_larger_than_raw_ones() {
    for (example, data) in [
        ("engel_linear", "engel"),
        ("engel_heteroscedastic", "engel"),
        ("engel_studentt", "engel"),
        ("randhie_poisson", "randhie"),
        ("randhie_negbin", "randhie"),
        ("breast_cancer_logistic", "breast_cancer"),
        ("diabetes_linear", "diabetes"),
        ("iris_softmax", "iris"),
        ("engel_laplace", "engel"),
    ] {
        let (model, ds) = load_example(&format!("{example}.nll"), &format!("{data}.csv"));
        let simple = compile::compile(&model, &ds, &ds.source_rows).unwrap();
        let raw = compile::compile_unsimplified(&model, &ds, &ds.source_rows).unwrap();
        let count = |c: &compile::Compiled| {
            let mut roots = vec![c.nll];
            roots.extend(&c.grad);
            c.graph.reachable(&roots).len()
        };
        let (n_simple, n_raw) = (count(&simple), count(&raw));
        assert!(
            n_simple <= n_raw,
            "{example}: simplified {n_simple} nodes, raw {n_raw}"
        );
    }
}
