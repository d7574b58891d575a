//! Criterion benchmarks of the evaluator: one NLL+gradient and one
//! NLL+gradient+Hessian evaluation of small models on 100 000 generated
//! rows, single-threaded, plus the hand-written fused loop for the linear
//! Gaussian model as a yardstick measured in the same run.
//!
//!     cargo bench --bench eval
//!
//! `eval_vs_loop` prints the same comparison at a million rows as ratios;
//! `bench/run.py` compares whole workloads with the shared lower bound.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use nll::compile::Compiled;
use nll::eval::Workspace;

mod common;

/// As the `nll` binary allocates: data columns on cache lines.
#[global_allocator]
static ALLOCATOR: nll::alloc::CacheLineAligned = nll::alloc::CacheLineAligned;

use common::{compile_source, Rng};

const N_ROWS: usize = 100_000;

/// Benchmarks the gradient and Hessian programs of `c` at `theta`.
fn bench_model(crit: &mut Criterion, name: &str, c: &Compiled, theta: &[f64]) {
    let grad = c.grad_program();
    let mut ws = Workspace::new(&grad);
    let mut out = vec![0.0; grad.n_outputs()];
    crit.bench_function(&format!("{name}/grad"), |b| {
        b.iter(|| grad.eval(&mut ws, &c.columns, black_box(theta), &mut out))
    });
    let hess = c.hess_program();
    let mut ws = Workspace::new(&hess);
    let mut out = vec![0.0; hess.n_outputs()];
    crit.bench_function(&format!("{name}/hess"), |b| {
        b.iter(|| hess.eval(&mut ws, &c.columns, black_box(theta), &mut out))
    });
}

fn evaluator(crit: &mut Criterion) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .ok();
    let mut rng = Rng(20_261_204);

    let x: Vec<f64> = (0..N_ROWS).map(|_| rng.normal()).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|xi| 1.5 + 2.0 * xi + 0.7 * rng.normal())
        .collect();
    let c = compile_source(
        "data x, y\nparam a, b\nparam s > 0\ny ~ Normal(a + b * x, s)\n",
        N_ROWS,
        vec![("x", x.clone()), ("y", y.clone())],
    );
    let theta = [1.4, 1.9, (0.6f64).ln(), 0.0];
    bench_model(crit, "linear", &c, &theta);
    crit.bench_function("linear/hand_loop", |b| {
        b.iter(|| common::linear_loop(black_box(&x), black_box(&y), black_box(&theta)))
    });

    let xs: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..N_ROWS).map(|_| rng.normal()).collect())
        .collect();
    let yl: Vec<f64> = (0..N_ROWS)
        .map(|i| {
            let eta = 0.3 + 0.8 * xs[0][i] - 0.5 * xs[1][i] + 0.2 * xs[2][i];
            f64::from(rng.next_f64() < 1.0 / (1.0 + (-eta).exp()))
        })
        .collect();
    let c = compile_source(
        "data y, x1, x2, x3\nparam b0, b1, b2, b3\ny ~ BernoulliLogit(b0 + b1 * x1 + b2 * x2 + b3 * x3)\n",
        N_ROWS,
        vec![("y", yl), ("x1", xs[0].clone()), ("x2", xs[1].clone()), ("x3", xs[2].clone())],
    );
    bench_model(crit, "logistic", &c, &[0.2, 0.7, -0.4, 0.1, 0.0]);

    let counts: Vec<f64> = xs[0]
        .iter()
        .map(|x0| (1.0 + (0.5 * x0).exp() * 2.0 * rng.next_f64()).floor())
        .collect();
    let c = compile_source(
        "data y, x1, x2\nparam b0, b1, b2\ny ~ Poisson(exp(b0 + b1 * x1 + b2 * x2))\n",
        N_ROWS,
        vec![("y", counts), ("x1", xs[0].clone()), ("x2", xs[1].clone())],
    );
    bench_model(crit, "poisson", &c, &[0.1, 0.4, -0.1, 0.0]);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = evaluator
}
criterion_main!(benches);
