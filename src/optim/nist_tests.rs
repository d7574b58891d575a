//! NIST StRD nonlinear least-squares problems as objectives.
//!
//! Each objective is the residual sum of squares `f(b) = sum_i r_i^2`,
//! `r_i = y_i - m(x_i; b)`, with gradient `-2 sum_i r_i dm_i` and exact
//! Hessian `2 sum_i (dm_i dm_i' - r_i d2m_i)` (the Gauss-Newton term plus the
//! second-order term), from hand-written first and second derivatives of each
//! model. Data, starting values and certified values are those of the NIST
//! Statistical Reference Datasets (nonlinear regression); the file each array
//! comes from is named above it. Accuracy is measured by the log relative
//! error `LRE = -log10(|estimate - certified| / |certified|)`, capped at the
//! 11 digits NIST certifies.

use nalgebra::DMatrix;

use super::nist_data::*;
use super::tests::{check_derivatives, opts};
use super::*;

/// `m(b; x)`, filling `dm` (length p) and `d2m` (p x p, row-major).
pub(super) type Model = fn(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64;

/// The residual sum of squares of a problem.
struct Nls<'p> {
    problem: &'p Problem,
}

impl Objective for Nls<'_> {
    fn dim(&self) -> usize {
        self.problem.start1.len()
    }
    fn value_grad(&mut self, b: &[f64], grad: &mut [f64]) -> f64 {
        let mut h = DMatrix::zeros(self.dim(), self.dim());
        self.value_grad_hess(b, grad, &mut h)
    }
    fn value_grad_hess(&mut self, b: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        let p = self.dim();
        let (mut dm, mut d2m) = (vec![0.0; p], vec![0.0; p * p]);
        grad.fill(0.0);
        hess.fill(0.0);
        let mut f = 0.0;
        for (&x, &y) in self.problem.x.iter().zip(self.problem.y) {
            let r = y - (self.problem.model)(b, x, &mut dm, &mut d2m);
            f += r * r;
            for j in 0..p {
                grad[j] -= 2.0 * r * dm[j];
                for k in 0..p {
                    hess[(j, k)] += 2.0 * (dm[j] * dm[k] - r * d2m[j * p + k]);
                }
            }
        }
        f
    }
}

/// `b1 (1 - exp(-b2 x))` (Misra1a, BoxBOD).
pub(super) fn exp_rise(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64 {
    let e = (-b[1] * x).exp();
    dm[0] = 1.0 - e;
    dm[1] = b[0] * x * e;
    d2m.copy_from_slice(&[0.0, x * e, x * e, -b[0] * x * x * e]);
    b[0] * (1.0 - e)
}

/// `b1 (x^2 + x b2) / (x^2 + x b3 + b4)` (MGH09).
pub(super) fn mgh09(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64 {
    let num = x * x + x * b[1];
    let den = x * x + x * b[2] + b[3];
    let (d2, d3) = (den * den, den * den * den);
    dm[0] = num / den;
    dm[1] = b[0] * x / den;
    dm[2] = -b[0] * num * x / d2;
    dm[3] = -b[0] * num / d2;
    let h01 = x / den;
    let h02 = -num * x / d2;
    let h03 = -num / d2;
    let h12 = -b[0] * x * x / d2;
    let h13 = -b[0] * x / d2;
    let h22 = 2.0 * b[0] * num * x * x / d3;
    let h23 = 2.0 * b[0] * num * x / d3;
    let h33 = 2.0 * b[0] * num / d3;
    d2m.copy_from_slice(&[
        0.0, h01, h02, h03, //
        h01, 0.0, h12, h13, //
        h02, h12, h22, h23, //
        h03, h13, h23, h33,
    ]);
    b[0] * num / den
}

/// `b1 / (1 + exp(b2 - b3 x))^(1/b4)` (Rat43), written as `b1 exp(h)` with
/// `h = -ln(1 + exp(b2 - b3 x)) / b4`.
pub(super) fn rat43(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64 {
    let e = (b[1] - b[2] * x).exp();
    let u = 1.0 + e;
    let l = u.ln();
    // derivatives of l = ln(1 + e) with respect to b2, b3
    let (l2, l3) = (e / u, -x * e / u);
    let (l22, l23, l33) = (e / (u * u), -x * e / (u * u), x * x * e / (u * u));
    let b4 = b[3];
    // h and its derivatives with respect to (b2, b3, b4)
    let h = -l / b4;
    let hd = [-l2 / b4, -l3 / b4, l / (b4 * b4)];
    let hdd = [
        [-l22 / b4, -l23 / b4, l2 / (b4 * b4)],
        [-l23 / b4, -l33 / b4, l3 / (b4 * b4)],
        [l2 / (b4 * b4), l3 / (b4 * b4), -2.0 * l / (b4 * b4 * b4)],
    ];
    let eh = h.exp();
    let m = b[0] * eh;
    dm[0] = eh;
    d2m[0] = 0.0;
    for j in 0..3 {
        dm[j + 1] = m * hd[j];
        d2m[j + 1] = eh * hd[j];
        d2m[(j + 1) * 4] = eh * hd[j];
        for k in 0..3 {
            d2m[(j + 1) * 4 + k + 1] = m * (hd[j] * hd[k] + hdd[j][k]);
        }
    }
    m
}

/// `b1 / (1 + exp(b2 - b3 x))` (Rat42).
pub(super) fn rat42(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64 {
    let e = (b[1] - b[2] * x).exp();
    let u = 1.0 + e;
    let (u2, u3) = (u * u, u * u * u);
    dm[0] = 1.0 / u;
    dm[1] = -b[0] * e / u2;
    dm[2] = b[0] * x * e / u2;
    let h01 = -e / u2;
    let h02 = x * e / u2;
    let c = b[0] * e * (1.0 - e) / u3;
    d2m.copy_from_slice(&[
        0.0,
        h01,
        h02, //
        h01,
        -c,
        x * c, //
        h02,
        x * c,
        -x * x * c,
    ]);
    b[0] / u
}

/// `b1 exp(b2 / (x + b3))` (MGH10).
pub(super) fn mgh10(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64 {
    let t = x + b[2];
    let e = (b[1] / t).exp();
    let m = b[0] * e;
    dm[0] = e;
    dm[1] = m / t;
    dm[2] = -m * b[1] / (t * t);
    let h01 = e / t;
    let h02 = -e * b[1] / (t * t);
    let h11 = m / (t * t);
    let h12 = -m * (b[1] / (t * t * t) + 1.0 / (t * t));
    let h22 = m * b[1] * (b[1] / t.powi(4) + 2.0 / (t * t * t));
    d2m.copy_from_slice(&[
        0.0, h01, h02, //
        h01, h11, h12, //
        h02, h12, h22,
    ]);
    m
}

/// `(b1 / b2) exp(-((x - b3) / b2)^2 / 2)` (Eckerle4).
pub(super) fn eckerle4(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64 {
    let (b2, z) = (b[1], (x - b[2]) / b[1]);
    let q = (-0.5 * z * z).exp() / b2;
    let m = b[0] * q;
    // derivatives of ln m with respect to b2, b3
    let (l2, l3) = ((z * z - 1.0) / b2, z / b2);
    let (l22, l23, l33) = (
        (1.0 - 3.0 * z * z) / (b2 * b2),
        -2.0 * z / (b2 * b2),
        -1.0 / (b2 * b2),
    );
    dm.copy_from_slice(&[q, m * l2, m * l3]);
    d2m.copy_from_slice(&[
        0.0,
        q * l2,
        q * l3,
        q * l2,
        m * (l2 * l2 + l22),
        m * (l2 * l3 + l23),
        q * l3,
        m * (l2 * l3 + l23),
        m * (l3 * l3 + l33),
    ]);
    m
}

/// `b1 x^b2` (DanWood).
pub(super) fn danwood(b: &[f64], x: f64, dm: &mut [f64], d2m: &mut [f64]) -> f64 {
    let (p, lx) = (x.powf(b[1]), x.ln());
    dm.copy_from_slice(&[p, b[0] * p * lx]);
    d2m.copy_from_slice(&[0.0, p * lx, p * lx, b[0] * p * lx * lx]);
    b[0] * p
}

fn problem(name: &str) -> &'static Problem {
    PROBLEMS.iter().find(|p| p.name == name).unwrap()
}

/// Log relative error, capped at the 11 certified digits.
fn lre(estimate: f64, certified: f64) -> f64 {
    let rel = (estimate - certified).abs() / certified.abs();
    if rel == 0.0 {
        11.0
    } else {
        (-rel.log10()).min(11.0)
    }
}

/// Fit `p` from `start` with `method`; returns the outcome and the smallest
/// LRE over the parameters and the residual sum of squares.
fn fit(p: &Problem, start: &[f64], method: Method) -> (Outcome, f64) {
    let out = minimize(&mut Nls { problem: p }, start, &opts(method));
    let worst = out
        .x
        .iter()
        .zip(p.certified)
        .map(|(e, c)| lre(*e, *c))
        .fold(lre(out.f, p.rss), f64::min);
    eprintln!(
        "{:9} {:?} from {:?}: LRE {:.1}, {} iterations, {} evals, {} Hessians, {}",
        p.name, method, start, worst, out.iterations, out.n_evals, out.n_hess_evals, out.stop
    );
    (out, worst)
}

/// Fit from the given starts with Auto and Newton; require convergence and
/// six correct digits in every parameter and in the residual sum of squares.
fn check(name: &str, starts: &[&[f64]]) {
    let p = problem(name);
    for start in starts {
        for method in [Method::Auto, Method::Newton] {
            let (out, worst) = fit(p, start, method);
            assert!(out.stop.is_converged(), "{name} {method:?}: {}", out.stop);
            assert!(
                worst >= 6.0,
                "{name} {method:?} from {start:?}: LRE {worst:.2}"
            );
        }
    }
}

/// Both NIST starting points.
fn both(name: &str) {
    let p = problem(name);
    check(name, &[p.start1, p.start2]);
}

#[test]
fn nist_model_derivatives() {
    for p in &PROBLEMS {
        for b in [p.start1, p.start2, p.certified] {
            check_derivatives(&mut Nls { problem: p }, b, 1e-5);
        }
    }
}

#[test]
fn nist_misra1a() {
    both("Misra1a");
}

#[test]
fn nist_boxbod() {
    both("BoxBOD");
}

#[test]
fn nist_mgh09() {
    both("MGH09");
}

#[test]
fn nist_rat43() {
    both("Rat43");
}

#[test]
fn nist_rat42() {
    both("Rat42");
}

#[test]
fn nist_mgh10_start2() {
    check("MGH10", &[problem("MGH10").start2]);
}

/// From NIST start 1 `(2, 4e5, 2.5e4)` the iterates creep along the valley
/// towards `b1 -> 0`, `b2 -> infinity` and reach neither the minimiser nor
/// the convergence tests within the default 1000 iterations (nor within
/// 20000). The right outcome is the certified minimiser; today the run ends
/// with `MaxIterations`, which at least is reported honestly. When a better
/// scaling of the raw least-squares objective reaches the minimiser, this
/// test will fail and should become `check("MGH10", ...)`.
#[test]
fn nist_mgh10_start1_is_not_claimed_converged() {
    let p = problem("MGH10");
    let (out, _) = fit(p, p.start1, Method::Auto);
    assert_eq!(out.stop, StopReason::MaxIterations);
}

#[test]
fn nist_eckerle4() {
    both("Eckerle4");
}

#[test]
fn nist_danwood() {
    both("DanWood");
}

/// L-BFGS alone is not required to reach six digits, but it must not claim
/// convergence where the gradient rule does not hold.
#[test]
fn nist_lbfgs_is_honest() {
    for p in &PROBLEMS {
        let (out, _) = fit(p, p.start1, Method::Lbfgs);
        if out.stop.is_converged() {
            let rel = stop::relative_gradient(&out.x, out.f, &out.grad);
            assert!(rel <= DEFAULT_GRAD_REL_TOL, "{}: {rel:e}", p.name);
        }
    }
}
