//! NLL + gradient evaluations per second at one million rows, for the
//! compiled program and for a hand-written fused Rust loop computing the same
//! quantities, with their ratio. Both run in the same process on the same
//! data, single-threaded, so the ratio is meaningful on a noisy machine.
//! The loop is built like the rest of the crate, for the baseline target,
//! and calls the standard library's exp and ln, while the program picks
//! AVX2 or AVX-512 loops with vectorised exp and ln at run time: this is a
//! quick check that the program stays ahead of plain code, not the limit.
//! `bench/run.py` measures against a fused loop built for the CPU with
//! vectorised exp and ln (`bench/limit-rs`).
//!
//!     cargo bench --bench eval_vs_loop
//!
//! Each figure is the median of repeated timed evaluations.

use std::hint::black_box;
use std::time::Instant;

use nll::eval::Workspace;

mod common;

/// As the `nll` binary allocates: data columns on cache lines.
#[global_allocator]
static ALLOCATOR: nll::alloc::CacheLineAligned = nll::alloc::CacheLineAligned;

use common::{compile_source, Rng};

const N_ROWS: usize = 1_000_000;
const REPEATS: usize = 15;

fn median_seconds(mut f: impl FnMut() -> f64) -> (f64, f64) {
    let mut times = Vec::with_capacity(REPEATS);
    let mut sink = 0.0;
    sink += f(); // warm-up
    for _ in 0..REPEATS {
        let t = Instant::now();
        sink += f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[REPEATS / 2], sink)
}

/// The hand-written fused loop for the linear Gaussian model with
/// The hand-written fused loop for logistic regression with three features:
///   nll = sum_i softplus(eta_i) - y_i eta_i;  d/db_j = sum (logistic(eta_i) - y_i) x_ij
#[inline(never)]
fn logistic_loop(xs: &[Vec<f64>], y: &[f64], theta: &[f64]) -> f64 {
    let mut nll = 0.0;
    let mut g = [0.0; 4];
    for i in 0..y.len() {
        let eta = theta[0] + theta[1] * xs[0][i] + theta[2] * xs[1][i] + theta[3] * xs[2][i];
        nll += eta.max(0.0) + (-eta.abs()).exp().ln_1p() - y[i] * eta;
        let r = 1.0 / (1.0 + (-eta).exp()) - y[i];
        g[0] += r;
        g[1] += r * xs[0][i];
        g[2] += r * xs[1][i];
        g[3] += r * xs[2][i];
    }
    nll + g.iter().sum::<f64>()
}

fn main() {
    // Single-threaded comparison: the hand loop uses one core.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .ok();
    let mut rng = Rng(20240611);

    println!(
        "{:<22} {:>14} {:>14} {:>10}",
        "workload (1e6 rows)", "nll evals/s", "loop evals/s", "ratio"
    );

    // Linear Gaussian: y = a + b x + sigma e, theta = (a, b, log sigma).
    let x: Vec<f64> = (0..N_ROWS).map(|_| rng.normal()).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|xi| 1.0 + 2.0 * xi + 0.5 * rng.normal())
        .collect();
    let c = compile_source(
        "data x, y\nparam a, b\nparam s > 0\ny ~ Normal(a + b * x, s)\n",
        N_ROWS,
        vec![("x", x.clone()), ("y", y.clone())],
    );
    let theta = [0.9, 1.9, (0.6f64).ln()];
    let prog = c.grad_program();
    let mut ws = Workspace::new(&prog);
    let mut out = vec![0.0; prog.n_outputs()];
    let (t_nll, _) = median_seconds(|| {
        prog.eval(&mut ws, &c.columns, black_box(&theta), &mut out);
        out[0]
    });
    let (t_loop, _) = median_seconds(|| {
        black_box(
            common::linear_loop(black_box(&x), black_box(&y), black_box(&theta))
                .iter()
                .sum::<f64>(),
        )
    });
    println!(
        "{:<22} {:>14.1} {:>14.1} {:>10.2}",
        "linear Gaussian",
        1.0 / t_nll,
        1.0 / t_loop,
        t_nll / t_loop
    );

    // Logistic regression with three features.
    let xs: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..N_ROWS).map(|_| rng.normal()).collect())
        .collect();
    let yl: Vec<f64> = (0..N_ROWS)
        .map(|i| {
            let eta = 0.3 + 0.8 * xs[0][i] - 0.5 * xs[1][i] + 0.2 * xs[2][i];
            if rng.next_f64() < 1.0 / (1.0 + (-eta).exp()) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let c = compile_source(
        "data y, x1, x2, x3\nparam b0, b1, b2, b3\ny ~ BernoulliLogit(b0 + b1 * x1 + b2 * x2 + b3 * x3)\n",
        N_ROWS,
        vec![("y", yl.clone()), ("x1", xs[0].clone()), ("x2", xs[1].clone()), ("x3", xs[2].clone())],
    );
    let theta = [0.2, 0.7, -0.4, 0.1];
    let prog = c.grad_program();
    let mut ws = Workspace::new(&prog);
    let mut out = vec![0.0; prog.n_outputs()];
    let (t_nll, _) = median_seconds(|| {
        prog.eval(&mut ws, &c.columns, black_box(&theta), &mut out);
        out[0]
    });
    let (t_loop, _) = median_seconds(|| {
        black_box(logistic_loop(
            black_box(&xs),
            black_box(&yl),
            black_box(&theta),
        ))
    });
    println!(
        "{:<22} {:>14.1} {:>14.1} {:>10.2}",
        "logistic, 3 features",
        1.0 / t_nll,
        1.0 / t_loop,
        t_nll / t_loop
    );
    println!("\nratio = time of one compiled NLL+gradient evaluation / time of the hand-written loop (lower is better; 1.0 is parity)");
}
