//! Tests of `minimize` on classic problems: Rosenbrock, a badly scaled
//! quadratic, an objective with an infeasible region, a saddle point, and
//! honest reporting of failures.

use nalgebra::DMatrix;

use super::*;

/// All three methods.
pub(super) const METHODS: [Method; 3] = [Method::Auto, Method::Newton, Method::Lbfgs];

pub(super) fn opts(method: Method) -> Options {
    Options {
        method,
        ..Options::default()
    }
}

/// Checks the gradient and Hessian of `obj` at `x` against central
/// differences (relative tolerance `tol`).
pub(super) fn check_derivatives(obj: &mut dyn Objective, x: &[f64], tol: f64) {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut h = DMatrix::zeros(n, n);
    let f = obj.value_grad_hess(x, &mut g, &mut h);
    let mut g2 = vec![0.0; n];
    assert_eq!(f, obj.value_grad(x, &mut g2), "value differs between calls");
    assert_eq!(g, g2, "gradient differs between calls");
    for j in 0..n {
        let step = 1e-6 * if x[j] == 0.0 { 1.0 } else { x[j].abs() };
        let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
        xp[j] += step;
        xm[j] -= step;
        let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
        let fp = obj.value_grad(&xp, &mut gp);
        let fm = obj.value_grad(&xm, &mut gm);
        let fd = (fp - fm) / (2.0 * step);
        // Near a minimiser g_j is a sum of cancelling terms of size ~sqrt(H_jj f).
        let scale = g[j].abs().max((h[(j, j)] * f).abs().sqrt()).max(1e-300);
        assert!(
            (fd - g[j]).abs() <= tol * scale,
            "grad {j}: {fd} vs {}",
            g[j]
        );
        for i in 0..n {
            let fd = (gp[i] - gm[i]) / (2.0 * step);
            let scale = h[(i, j)]
                .abs()
                .max(h[(i, i)].abs().sqrt() * h[(j, j)].abs().sqrt());
            assert!(
                (fd - h[(i, j)]).abs() <= tol * scale.max(1e-300),
                "hess ({i},{j}): {fd} vs {}",
                h[(i, j)]
            );
        }
    }
}

/// Extended Rosenbrock function (Moré, Garbow and Hillstrom 1981, no. 21):
/// independent pairs `100 (x_{2i} - x_{2i-1}^2)^2 + (1 - x_{2i-1})^2`.
pub(super) struct Rosenbrock {
    pub n: usize,
}

impl Objective for Rosenbrock {
    fn dim(&self) -> usize {
        self.n
    }
    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut h = DMatrix::zeros(self.n, self.n);
        self.value_grad_hess(x, grad, &mut h)
    }
    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        hess.fill(0.0);
        let mut f = 0.0;
        for i in (0..self.n).step_by(2) {
            let (a, b) = (x[i], x[i + 1]);
            let r = b - a * a;
            f += 100.0 * r * r + (1.0 - a) * (1.0 - a);
            grad[i] = -400.0 * a * r - 2.0 * (1.0 - a);
            grad[i + 1] = 200.0 * r;
            hess[(i, i)] = 1200.0 * a * a - 400.0 * b + 2.0;
            hess[(i, i + 1)] = -400.0 * a;
            hess[(i + 1, i)] = -400.0 * a;
            hess[(i + 1, i + 1)] = 200.0;
        }
        f
    }
}

fn rosenbrock_start(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect()
}

fn assert_close(x: &[f64], expect: &[f64], rel: f64) {
    for (xi, ei) in x.iter().zip(expect) {
        assert!(
            (xi - ei).abs() <= rel * ei.abs().max(1e-300),
            "{x:?} vs {expect:?}"
        );
    }
}

#[test]
fn rosenbrock_derivatives() {
    check_derivatives(&mut Rosenbrock { n: 4 }, &[-1.2, 1.0, 0.3, 2.0], 1e-6);
}

#[test]
fn rosenbrock_2d_and_10d() {
    for n in [2, 10] {
        for method in METHODS {
            let out = minimize(&mut Rosenbrock { n }, &rosenbrock_start(n), &opts(method));
            assert!(out.stop.is_converged(), "{method:?} n={n}: {}", out.stop);
            assert_close(&out.x, &vec![1.0; n], 1e-8);
            assert!(out.f < 1e-16, "{method:?}: f = {}", out.f);
        }
    }
}

/// `f(x) = 1/2 (x - c)' A (x - c)` with `A = R diag(lambda) R'`, `R` a
/// rotation, eigenvalues spread over ten decades, and a centre `c` whose
/// components differ by orders of magnitude.
struct BadQuadratic {
    a: DMatrix<f64>,
    c: Vec<f64>,
}

impl BadQuadratic {
    fn new(n: usize, rotate: bool) -> Self {
        let lambda: Vec<f64> = (0..n)
            .map(|i| 10f64.powf(10.0 * i as f64 / (n - 1) as f64))
            .collect();
        let mut r = DMatrix::<f64>::identity(n, n);
        if rotate {
            // Product of plane rotations: a fixed, well-mixed orthogonal matrix.
            for k in 0..n - 1 {
                let (c, s) = ((0.3 + k as f64).cos(), (0.3 + k as f64).sin());
                let mut g = DMatrix::<f64>::identity(n, n);
                g[(k, k)] = c;
                g[(k + 1, k + 1)] = c;
                g[(k, k + 1)] = -s;
                g[(k + 1, k)] = s;
                r = &r * g;
            }
        }
        let a = &r * DMatrix::from_diagonal(&lambda.into()) * r.transpose();
        let c = (0..n).map(|i| 10f64.powi(i as i32 - 2) * 3.7).collect();
        BadQuadratic { a, c }
    }
}

impl Objective for BadQuadratic {
    fn dim(&self) -> usize {
        self.c.len()
    }
    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.dim();
        let e: Vec<f64> = x.iter().zip(&self.c).map(|(x, c)| x - c).collect();
        let mut f = 0.0;
        for i in 0..n {
            grad[i] = (0..n).map(|j| self.a[(i, j)] * e[j]).sum();
            f += 0.5 * e[i] * grad[i];
        }
        f
    }
    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        hess.copy_from(&self.a);
        self.value_grad(x, grad)
    }
}

#[test]
fn badly_scaled_quadratic() {
    for rotate in [false, true] {
        for method in [Method::Auto, Method::Newton] {
            let mut q = BadQuadratic::new(5, rotate);
            let c = q.c.clone();
            let out = minimize(&mut q, &[1.0; 5], &opts(method));
            assert!(out.stop.is_converged(), "{method:?}: {}", out.stop);
            assert_close(&out.x, &c, 1e-8);
            assert!(out.iterations <= 3, "{}", out.iterations);
        }
    }
    // L-BFGS on the diagonal (axis-aligned) version in two dimensions.
    let mut q = BadQuadratic::new(2, false);
    let c = q.c.clone();
    let out = minimize(&mut q, &[1.0, 1.0], &opts(Method::Lbfgs));
    assert!(out.stop.is_converged(), "{}", out.stop);
    assert_close(&out.x, &c, 1e-6);
}

/// `f(x) = sum_i (w_i x_i - ln x_i)`, infinite where some `x_i <= 0`;
/// minimum at `x_i = 1/w_i`. Counts evaluations where `f` was not finite.
struct LogBarrier {
    w: Vec<f64>,
    infeasible_evals: usize,
}

impl Objective for LogBarrier {
    fn dim(&self) -> usize {
        self.w.len()
    }
    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        if x.iter().any(|&v| v <= 0.0) {
            self.infeasible_evals += 1;
            grad.fill(f64::NAN);
            return f64::INFINITY;
        }
        let mut f = 0.0;
        for i in 0..x.len() {
            f += self.w[i] * x[i] - x[i].ln();
            grad[i] = self.w[i] - 1.0 / x[i];
        }
        f
    }
    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        let f = self.value_grad(x, grad);
        hess.fill(0.0);
        for i in 0..x.len() {
            hess[(i, i)] = 1.0 / (x[i] * x[i]);
        }
        f
    }
}

#[test]
fn infeasible_region_is_never_accepted() {
    for method in METHODS {
        let mut obj = LogBarrier {
            w: vec![1.0, 10.0, 0.01],
            infeasible_evals: 0,
        };
        let mut accepted = Vec::new();
        let mut watch = |_: usize, f: f64, _: f64| accepted.push(f);
        let out = minimize_with_observer(&mut obj, &[3.0, 3.0, 3.0], &opts(method), &mut watch);
        assert!(out.stop.is_converged(), "{method:?}: {}", out.stop);
        assert_close(&out.x, &[1.0, 0.1, 100.0], 1e-8);
        assert!(accepted.iter().all(|f| f.is_finite()));
        assert!(out.f.is_finite());
        // The test is only meaningful if the infeasible region was probed.
        assert!(obj.infeasible_evals > 0, "{method:?} never left the domain");
        assert!(out.repairs.iter().any(|r| r.contains("not finite")));
    }
}

/// `f(x, y) = x^2 - y^2 + y^4 / 4`: a saddle at the origin, minima at
/// `(0, +-sqrt 2)` with `f = -1`. Starting on the line `y = 0`, the gradient
/// never points off it; only negative curvature reveals the way down.
struct Saddle;

impl Objective for Saddle {
    fn dim(&self) -> usize {
        2
    }
    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        grad[0] = 2.0 * a;
        grad[1] = -2.0 * b + b * b * b;
        a * a - b * b + 0.25 * b.powi(4)
    }
    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        hess.fill(0.0);
        hess[(0, 0)] = 2.0;
        hess[(1, 1)] = -2.0 + 3.0 * x[1] * x[1];
        self.value_grad(x, grad)
    }
}

#[test]
fn newton_escapes_saddle() {
    for start in [[1.0, 0.0], [0.0, 0.0], [1e-3, 1e-9]] {
        for method in [Method::Auto, Method::Newton] {
            let out = minimize(&mut Saddle, &start, &opts(method));
            assert!(out.stop.is_converged(), "{start:?}: {}", out.stop);
            assert!((out.f + 1.0).abs() < 1e-14, "{start:?}: f = {}", out.f);
            assert!((out.x[1].abs() - 2f64.sqrt()).abs() < 1e-8);
            assert!(out.x[0].abs() < 1e-8);
            assert!(out.repairs[0].contains("not positive definite"));
        }
    }
}

#[test]
fn max_iterations_reported() {
    for method in METHODS {
        let o = Options {
            max_iter: 3,
            ..opts(method)
        };
        let out = minimize(&mut Rosenbrock { n: 2 }, &[-1.2, 1.0], &o);
        assert_eq!(out.stop, StopReason::MaxIterations, "{method:?}");
        assert_eq!(out.iterations, 3);
        assert!(out.f.is_finite() && out.f < 24.2);
    }
}

#[test]
fn non_finite_start_reported() {
    let mut obj = LogBarrier {
        w: vec![1.0],
        infeasible_evals: 0,
    };
    let out = minimize(&mut obj, &[-1.0], &Options::default());
    assert_eq!(out.stop, StopReason::NonFiniteStart);
    assert_eq!(out.iterations, 0);
    assert_eq!(out.n_evals, 1);
}

/// Rosenbrock with the gradient sign flipped: no method can make progress,
/// and none may claim convergence.
struct WrongGradient;

impl Objective for WrongGradient {
    fn dim(&self) -> usize {
        2
    }
    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let f = Rosenbrock { n: 2 }.value_grad(x, grad);
        grad.iter_mut().for_each(|g| *g = -*g);
        f
    }
    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        let f = self.value_grad(x, grad);
        hess.fill(0.0);
        hess[(0, 0)] = 1.0;
        hess[(1, 1)] = 1.0;
        f
    }
}

#[test]
fn failures_are_not_reported_as_convergence() {
    let out = minimize(&mut WrongGradient, &[-1.2, 1.0], &opts(Method::Lbfgs));
    assert_eq!(out.stop, StopReason::LineSearchFailed);
    let out = minimize(&mut WrongGradient, &[-1.2, 1.0], &opts(Method::Newton));
    assert_eq!(out.stop, StopReason::NoProgress);
    assert_eq!(out.x, vec![-1.2, 1.0]);
}

#[test]
fn observer_sees_decreasing_values() {
    let mut seen = Vec::new();
    let mut watch = |it: usize, f: f64, g: f64| seen.push((it, f, g));
    let out = minimize_with_observer(
        &mut Rosenbrock { n: 2 },
        &[-1.2, 1.0],
        &Options::default(),
        &mut watch,
    );
    assert_eq!(seen[0].0, 0);
    assert_eq!(seen.last().unwrap().1, out.f);
    assert!(seen.windows(2).all(|w| w[1].1 <= w[0].1 && w[1].0 > w[0].0));
}

#[test]
fn zero_dimensional_problem() {
    struct Constant;
    impl Objective for Constant {
        fn dim(&self) -> usize {
            0
        }
        fn value_grad(&mut self, _: &[f64], _: &mut [f64]) -> f64 {
            4.0
        }
        fn value_grad_hess(&mut self, _: &[f64], _: &mut [f64], _: &mut DMatrix<f64>) -> f64 {
            4.0
        }
    }
    for method in METHODS {
        let out = minimize(&mut Constant, &[], &opts(method));
        assert!(out.stop.is_converged());
        assert_eq!(out.f, 4.0);
    }
}

/// Small deterministic pseudo-random generator (64-bit LCG), so that the
/// randomised tests below are reproducible without extra dependencies.
struct Lcg(u64);

impl Lcg {
    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

#[test]
fn random_quadratics_are_solved_exactly() {
    let mut rng = Lcg(7);
    for trial in 0..200 {
        let n = 1 + trial % 8;
        // A = Q diag(lambda) Q' with Q from Gram-Schmidt of a random matrix.
        let m = DMatrix::from_fn(n, n, |_, _| rng.range(-1.0, 1.0));
        let q = m.qr().q();
        let lambda: Vec<f64> = (0..n).map(|_| 10f64.powf(rng.range(-3.0, 3.0))).collect();
        let a = &q * DMatrix::from_diagonal(&lambda.into()) * q.transpose();
        let c: Vec<f64> = (0..n)
            .map(|_| rng.range(-1.0, 1.0) * 10f64.powf(rng.range(-3.0, 3.0)))
            .collect();
        let x0: Vec<f64> = (0..n).map(|_| rng.range(-10.0, 10.0)).collect();
        let mut obj = BadQuadratic { a, c: c.clone() };
        let out = minimize(&mut obj, &x0, &Options::default());
        assert!(out.stop.is_converged(), "trial {trial}: {}", out.stop);
        // Error in x relative to the scale of the problem (|c| up to 1e3).
        let scale = c.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
        for (xi, ci) in out.x.iter().zip(&c) {
            assert!(
                (xi - ci).abs() <= 1e-8 * scale,
                "trial {trial}: {xi} vs {ci}"
            );
        }
    }
}

/// `f(x) = sum_i (x_i^2 - 1)^2 + 0.1 sum_i x_i x_{i+1}`: many saddles and
/// local minima. From random starts, including exactly at the origin (a
/// stationary point with negative curvature), Newton must end at a point
/// where the Hessian is positive semidefinite.
struct DoubleWells {
    n: usize,
}

impl Objective for DoubleWells {
    fn dim(&self) -> usize {
        self.n
    }
    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut h = DMatrix::zeros(self.n, self.n);
        self.value_grad_hess(x, grad, &mut h)
    }
    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        hess.fill(0.0);
        let mut f = 0.0;
        for i in 0..self.n {
            let w = x[i] * x[i] - 1.0;
            f += w * w;
            grad[i] = 4.0 * x[i] * w;
            hess[(i, i)] = 12.0 * x[i] * x[i] - 4.0;
        }
        for i in 0..self.n - 1 {
            f += 0.1 * x[i] * x[i + 1];
            grad[i] += 0.1 * x[i + 1];
            grad[i + 1] += 0.1 * x[i];
            hess[(i, i + 1)] = 0.1;
            hess[(i + 1, i)] = 0.1;
        }
        f
    }
}

#[test]
fn random_starts_end_at_local_minima() {
    let mut rng = Lcg(11);
    for trial in 0..100 {
        let n = 2 + trial % 5;
        let x0: Vec<f64> = if trial < 5 {
            vec![0.0; n]
        } else {
            (0..n).map(|_| rng.range(-2.0, 2.0)).collect()
        };
        let mut obj = DoubleWells { n };
        let out = minimize(&mut obj, &x0, &Options::default());
        assert!(out.stop.is_converged(), "trial {trial}: {}", out.stop);
        let mut g = vec![0.0; n];
        let mut h = DMatrix::zeros(n, n);
        obj.value_grad_hess(&out.x, &mut g, &mut h);
        let lambda_min = h.symmetric_eigenvalues().min();
        assert!(
            lambda_min > 0.0,
            "trial {trial}: ended at a saddle {:?}",
            out.x
        );
    }
}

#[test]
fn auto_on_a_large_problem_uses_lbfgs_then_newton() {
    let n = AUTO_NEWTON_MAX_DIM + 10;
    let out = minimize(
        &mut Rosenbrock { n },
        &rosenbrock_start(n),
        &Options::default(),
    );
    assert!(out.stop.is_converged(), "{}", out.stop);
    assert_close(&out.x, &vec![1.0; n], 1e-8);
    // Most iterations are L-BFGS ones, without Hessians.
    assert!(out.n_hess_evals < out.iterations / 2, "{out:?}");
}
