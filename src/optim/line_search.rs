//! Line search for the strong Wolfe conditions (N&W section 3.5).
//!
//! Along a descent direction `d` from `x`, with `phi(alpha) = f(x + alpha d)`,
//! a step `alpha` is sought with
//!
//! ```text
//! phi(alpha) <= phi(0) + c1 alpha phi'(0)        (sufficient decrease, N&W 3.7a)
//! |phi'(alpha)| <= c2 |phi'(0)|                   (curvature, N&W 3.7b)
//! ```
//!
//! The bracketing phase (N&W Alg. 3.5) tries growing steps until it either
//! finds an acceptable one or an interval that must contain one; `zoom`
//! (N&W Alg. 3.6) then shrinks that interval. New trial steps are minimisers
//! of the cubic through the values and slopes at the interval ends (N&W eq.
//! 3.59), falling back to a quadratic and then to bisection, and are kept a
//! safe distance from the ends.
//!
//! When the decrease to be verified is below the rounding level of `f`, the
//! approximate Wolfe conditions of Hager and Zhang (SIAM J. Optim. 16, 2005)
//! take over: the curvature condition, with the value allowed to exceed
//! `phi(0)` by rounding. Without this, L-BFGS could not push the gradient
//! below about the square root of machine precision.
//!
//! A trial point where `f` or the gradient is not finite is infeasible: it
//! acts like a point with a too-high value, so the next trial lies between it
//! and the last feasible step (the step is shortened). It is never returned.

use super::stop::rounding_level;
use super::{dot, Context, Point};

/// Sufficient-decrease constant `c1` (N&W recommend 1e-4).
const C1: f64 = 1e-4;

/// Curvature constant `c2` (N&W recommend 0.9 for quasi-Newton methods).
const C2: f64 = 0.9;

/// Most function evaluations in one line search. Interpolation shrinks the
/// interval at least by the safeguard factor every step, so 40 trials shrink
/// it by far more than the 1e16 that double precision can resolve.
const MAX_EVALS: usize = 40;

/// Largest growth of the step per bracketing iteration.
const MAX_GROWTH: f64 = 4.0;

/// Smallest growth of the step per bracketing iteration.
const MIN_GROWTH: f64 = 1.1;

/// A new trial in `zoom` keeps this fraction of the interval width away from
/// either end, so the interval shrinks by at least that much each time.
const SAFEGUARD: f64 = 0.1;

/// Fraction of the interval kept when the far end is infeasible: halve.
const INFEASIBLE_CONTRACTION: f64 = 0.5;

/// One evaluated trial step.
#[derive(Clone)]
struct Trial {
    /// Step length `alpha`.
    alpha: f64,
    /// `phi(alpha)`; `+inf` for an infeasible point.
    phi: f64,
    /// `phi'(alpha)`; NaN for an infeasible point.
    dphi: f64,
    /// The point itself (absent for infeasible points).
    point: Option<Point>,
}

impl Trial {
    fn feasible(&self) -> bool {
        self.point.is_some()
    }
}

/// Evaluates trials along one line.
struct Line<'c, 'a> {
    ctx: &'c mut Context<'a>,
    start: &'c Point,
    d: &'c [f64],
    /// `phi(0)`.
    phi0: f64,
    /// `phi'(0)` (negative).
    dphi0: f64,
    evals: usize,
    infeasible_seen: bool,
}

impl Line<'_, '_> {
    fn eval(&mut self, alpha: f64) -> Trial {
        self.evals += 1;
        let x: Vec<f64> = self
            .start
            .x
            .iter()
            .zip(self.d)
            .map(|(xi, di)| xi + alpha * di)
            .collect();
        let mut g = vec![0.0; x.len()];
        let f = self.ctx.value_grad(&x, &mut g);
        let point = Point { x, f, g };
        if !point.is_finite() {
            self.infeasible_seen = true;
            return Trial {
                alpha,
                phi: f64::INFINITY,
                dphi: f64::NAN,
                point: None,
            };
        }
        Trial {
            alpha,
            phi: point.f,
            dphi: dot(&point.g, self.d),
            point: Some(point),
        }
    }

    fn sufficient_decrease(&self, t: &Trial) -> bool {
        t.feasible() && t.phi <= self.phi0 + C1 * t.alpha * self.dphi0
    }

    fn curvature(&self, t: &Trial) -> bool {
        t.dphi.abs() <= -C2 * self.dphi0
    }

    /// Approximate Wolfe conditions (after Hager and Zhang, 2005): when
    /// even the first-order decrease `alpha |phi'(0)|` is below the rounding
    /// level of `f`, values cannot certify a decrease, so a step is accepted
    /// on the curvature condition alone if its value is not higher than
    /// `phi(0)` beyond rounding.
    fn approximate_wolfe(&self, t: &Trial) -> bool {
        let noise = rounding_level(self.phi0);
        t.feasible()
            && -t.alpha * self.dphi0 <= noise
            && t.phi <= self.phi0 + noise
            && self.curvature(t)
    }
}

/// Search along `d` from `start`, where `dphi0 = g'd < 0`, beginning with the
/// trial step `alpha_init`. Returns the accepted step and its point, or `None`
/// when no step with sufficient decrease was found.
///
/// If the interval collapses to rounding level before the curvature condition
/// holds, the best point with sufficient decrease is returned; the caller's
/// curvature check on `s'y` decides whether it may update its model.
pub(crate) fn strong_wolfe(
    ctx: &mut Context<'_>,
    start: &Point,
    d: &[f64],
    dphi0: f64,
    alpha_init: f64,
) -> Option<(f64, Point)> {
    debug_assert!(dphi0 < 0.0);
    let mut line = Line {
        ctx,
        start,
        d,
        phi0: start.f,
        dphi0,
        evals: 0,
        infeasible_seen: false,
    };
    let result = bracket(&mut line, alpha_init);
    if line.infeasible_seen {
        let what = format!(
            "objective not finite at a trial point in iteration {}: step shortened",
            line.ctx.iterations
        );
        line.ctx.repair(what);
    }
    result.and_then(|t| t.point.map(|p| (t.alpha, p)))
}

/// N&W Alg. 3.5: find an acceptable step or an interval containing one.
fn bracket(line: &mut Line<'_, '_>, alpha_init: f64) -> Option<Trial> {
    // alpha_0 = 0
    let mut prev = Trial {
        alpha: 0.0,
        phi: line.phi0,
        dphi: line.dphi0,
        point: Some(line.start.clone()),
    };
    // alpha_1
    let mut alpha = alpha_init;
    let mut first = true;
    while line.evals < MAX_EVALS {
        let cur = line.eval(alpha);
        if !cur.feasible() {
            // Beyond the feasible region: the acceptable step lies before it.
            return zoom(line, prev, cur);
        }
        if line.approximate_wolfe(&cur) {
            return Some(cur);
        }
        if !line.sufficient_decrease(&cur) || (!first && cur.phi >= prev.phi) {
            return zoom(line, prev, cur);
        }
        if line.curvature(&cur) {
            return Some(cur);
        }
        if cur.dphi >= 0.0 {
            return zoom(line, cur, prev);
        }
        // Still descending steeply: extrapolate with the cubic, safeguarded.
        let guess = cubic_min(&prev, &cur).unwrap_or(f64::NAN);
        let (lo, hi) = (cur.alpha * MIN_GROWTH, cur.alpha * MAX_GROWTH);
        alpha = if guess.is_finite() && guess > lo {
            guess.min(hi)
        } else {
            hi
        };
        prev = cur;
        first = false;
    }
    // Out of evaluations while still descending: take what we have.
    (prev.alpha > 0.0).then_some(prev)
}

/// N&W Alg. 3.6. `lo` satisfies sufficient decrease and has the lowest value
/// seen; the interval between `lo` and `hi` contains an acceptable step.
fn zoom(line: &mut Line<'_, '_>, mut lo: Trial, mut hi: Trial) -> Option<Trial> {
    while line.evals < MAX_EVALS {
        let width = (hi.alpha - lo.alpha).abs();
        if width <= f64::EPSILON * lo.alpha.abs().max(hi.alpha.abs()) {
            break;
        }
        let alpha = next_trial(&lo, &hi);
        let t = line.eval(alpha);
        if line.approximate_wolfe(&t) {
            return Some(t);
        }
        if !line.sufficient_decrease(&t) || t.phi >= lo.phi {
            hi = t;
        } else {
            if line.curvature(&t) {
                return Some(t);
            }
            if t.dphi * (hi.alpha - lo.alpha) >= 0.0 {
                hi = lo;
            }
            lo = t;
        }
    }
    // Interval exhausted: the best point with sufficient decrease, if any.
    (lo.alpha > 0.0).then_some(lo)
}

/// Safeguarded interpolated trial inside the interval between `lo` and `hi`.
fn next_trial(lo: &Trial, hi: &Trial) -> f64 {
    let (a, b) = (lo.alpha, hi.alpha);
    let width = b - a;
    if !hi.feasible() {
        return a + INFEASIBLE_CONTRACTION * width;
    }
    let guess = cubic_min(lo, hi)
        .or_else(|| quadratic_min(lo, hi))
        .unwrap_or(a + 0.5 * width);
    // Keep the trial at least SAFEGUARD * |width| away from both ends.
    let (left, right) = if a < b { (a, b) } else { (b, a) };
    let margin = SAFEGUARD * width.abs();
    if guess.is_finite() {
        guess.clamp(left + margin, right - margin)
    } else {
        a + 0.5 * width
    }
}

/// Minimiser of the cubic interpolating values and slopes at `p` and `q`
/// (N&W eq. 3.59), if it exists.
fn cubic_min(p: &Trial, q: &Trial) -> Option<f64> {
    let (a, b) = (p.alpha, q.alpha);
    // d1 = phi'(a) + phi'(b) - 3 (phi(a) - phi(b)) / (a - b)
    let d1 = p.dphi + q.dphi - 3.0 * (p.phi - q.phi) / (a - b);
    let disc = d1 * d1 - p.dphi * q.dphi;
    if disc.is_nan() || disc < 0.0 {
        return None;
    }
    // d2 = sign(b - a) sqrt(d1^2 - phi'(a) phi'(b))
    let d2 = (b - a).signum() * disc.sqrt();
    let denom = q.dphi - p.dphi + 2.0 * d2;
    if denom == 0.0 {
        return None;
    }
    let alpha = b - (b - a) * (q.dphi + d2 - d1) / denom;
    alpha.is_finite().then_some(alpha)
}

/// Minimiser of the quadratic through the value and slope at `p` and the
/// value at `q`, if it is convex.
fn quadratic_min(p: &Trial, q: &Trial) -> Option<f64> {
    let h = q.alpha - p.alpha;
    // curvature term of phi(p + t) ~ phi(p) + phi'(p) t + c t^2
    let c = (q.phi - p.phi - p.dphi * h) / (h * h);
    if c.is_nan() || c <= 0.0 {
        return None;
    }
    let alpha = p.alpha - p.dphi / (2.0 * c);
    alpha.is_finite().then_some(alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(alpha: f64, phi: f64, dphi: f64) -> Trial {
        Trial {
            alpha,
            phi,
            dphi,
            point: Some(Point {
                x: vec![],
                f: phi,
                g: vec![],
            }),
        }
    }

    #[test]
    fn cubic_is_exact_for_a_cubic() {
        // phi(a) = (a - 1)^3 / 3 - (a - 1) has its local minimum at a = 2.
        let phi = |a: f64| (a - 1.0).powi(3) / 3.0 - (a - 1.0);
        let dphi = |a: f64| (a - 1.0).powi(2) - 1.0;
        let p = trial(0.5, phi(0.5), dphi(0.5));
        let q = trial(3.0, phi(3.0), dphi(3.0));
        let m = cubic_min(&p, &q).unwrap();
        assert!((m - 2.0).abs() < 1e-12, "{m}");
        let m = cubic_min(&q, &p).unwrap();
        assert!((m - 2.0).abs() < 1e-12, "{m}");
    }

    #[test]
    fn quadratic_is_exact_for_a_parabola() {
        let phi = |a: f64| 3.0 * (a - 0.7) * (a - 0.7);
        let p = trial(0.0, phi(0.0), -4.2);
        let q = trial(2.0, phi(2.0), f64::NAN);
        assert!((quadratic_min(&p, &q).unwrap() - 0.7).abs() < 1e-12);
    }

    #[test]
    fn trial_stays_inside_interval() {
        let lo = trial(1.0, 0.0, -1.0);
        let hi = trial(2.0, 10.0, -50.0); // nonsense slope: cubic fails or lands outside
        let a = next_trial(&lo, &hi);
        assert!((1.1..=1.9).contains(&a), "{a}");
        let inf = Trial {
            alpha: 2.0,
            phi: f64::INFINITY,
            dphi: f64::NAN,
            point: None,
        };
        assert_eq!(next_trial(&lo, &inf), 1.5);
    }
}
