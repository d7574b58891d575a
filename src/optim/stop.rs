//! Stopping rules, the reasons reported for stopping, and the tolerances
//! behind them.
//!
//! Two rules may declare convergence:
//!
//! * **Gradient** (all methods). With `f` the objective, `g` its gradient and
//!   `x` the current point, the test is
//!
//!   ```text
//!   max_i |g_i| * max(1, |x_i|)  <=  grad_rel_tol * max(1, |f|)
//!   ```
//!
//!   The left side estimates how much `f` would change under a *relative*
//!   change of each coordinate (`g_i * x_i` is the derivative of `f` with
//!   respect to `log x_i`), so the test does not depend on the units in
//!   which a parameter is expressed once it is larger than one; the floor of
//!   one keeps it meaningful for parameters near zero. The right side compares
//!   that with the size of `f` itself, so a log-likelihood summing a million
//!   terms is not held to a tighter absolute standard than one summing ten;
//!   again the floor of one stops the test from demanding the impossible when
//!   `f` is close to zero. This is the relative gradient of Dennis and
//!   Schnabel (Numerical Methods for Unconstrained Optimization, 1983,
//!   section 7.2) with typical sizes of one.
//!
//! * **Newton step** (trust-region Newton only). When the Hessian is positive
//!   definite, the full Newton step `s_N = -H^{-1} g` estimates the remaining
//!   distance to the minimiser and `pred_N = g' H^{-1} g / 2` the remaining
//!   decrease of `f`. The point is accepted when both are negligible:
//!
//!   ```text
//!   max_i |s_N,i| / max(|x_i|, STEP_X_FLOOR)  <=  STEP_REL_TOL   and
//!   pred_N  <=  PRED_REL_TOL * max(1, |f|)
//!   ```
//!
//!   This rule exists because the gradient cannot be computed more accurately
//!   than rounding allows: for a parameter of size 1e-4 (so that the floor of
//!   one applies to it in the gradient rule) the rounding noise in `g_i` can
//!   exceed `grad_rel_tol` even at the exact minimiser, while the Newton step
//!   computed from that noisy gradient is still tiny. When the Hessian is not
//!   positive definite this rule never applies.
//!
//! Everything else is not convergence and is reported as such: the iteration
//! limit ([`StopReason::MaxIterations`]), a line search that found no
//! acceptable point ([`StopReason::LineSearchFailed`]), or a step that no
//! longer changes `x` ([`StopReason::NoProgress`]).

use std::fmt;

/// Default of `Options::grad_rel_tol`.
///
/// Far below any statistical precision, yet reachable for a well-scaled
/// objective: rounding noise in a computed gradient is typically
/// `1e-15..1e-13` on the relative scale of the test, and Newton's method
/// (quadratic convergence) crosses from `1e-6` to below `1e-12` in one or two
/// steps, so the tolerance costs at most one extra iteration. Where rounding
/// keeps the gradient above it (small parameters, cancelling sums), the
/// Newton-step rule ends the run instead.
pub const DEFAULT_GRAD_REL_TOL: f64 = 1e-11;

/// Relative size below which a Newton step counts as "tiny" (see the module
/// documentation). A step of `1e-9 * |x_i|` changes `x_i` in its tenth
/// significant digit, four decades below the 1e-5 agreement that reference
/// fits require. Before the rule is applied the trust-region method takes
/// Newton steps down to the rounding floor, so the remaining step is usually
/// far smaller; the tolerance only has to exceed that floor, which grows with
/// the condition number (on NIST MGH10, condition about 1e13 after scaling,
/// it ends near 1e-9).
pub const STEP_REL_TOL: f64 = 1e-9;

/// Floor for `|x_i|` in the Newton-step rule, so that a parameter whose
/// optimum is exactly zero does not demand a step of exactly zero.
pub const STEP_X_FLOOR: f64 = 1e-12;

/// Rounding level of `f`, relative to `max(1, |f|)`: about 4500 units in the
/// last place. Evaluating a sum of `n` terms loses about `n * eps` relative
/// accuracy in the worst case, so a predicted decrease below this level
/// cannot be verified by comparing values of `f` for sums of a few thousand
/// terms.
pub const PRED_REL_TOL: f64 = 1e-12;

/// Why a minimisation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A convergence rule holds at the returned point.
    Converged {
        /// Which rule holds.
        criterion: Criterion,
    },
    /// The iteration limit `Options::max_iter` was reached first.
    MaxIterations,
    /// The caller raised the run's [`CancelFlag`](super::CancelFlag).
    Cancelled,
    /// The line search of L-BFGS found no point with sufficient decrease,
    /// even along the steepest-descent direction.
    LineSearchFailed,
    /// The objective, or its gradient, is not finite at the starting point.
    NonFiniteStart,
    /// The step became too small to change `x` in floating point while no
    /// convergence rule holds (the trust region shrank to nothing).
    NoProgress,
}

/// The convergence rule that stopped a run (see the module documentation of
/// `stop` for the exact formulas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// The relative gradient is below `grad_rel_tol`.
    Gradient,
    /// The Newton step is tiny relative to `x` and its predicted decrease is
    /// at the rounding level of `f`.
    NewtonStep,
}

impl StopReason {
    /// True for [`StopReason::Converged`].
    pub fn is_converged(&self) -> bool {
        matches!(self, StopReason::Converged { .. })
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Criterion::Gradient => write!(f, "relative gradient below tolerance"),
            Criterion::NewtonStep => write!(
                f,
                "Newton step negligible and predicted decrease at rounding level"
            ),
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Converged { criterion } => write!(f, "converged ({criterion})"),
            StopReason::MaxIterations => write!(f, "iteration limit reached before convergence"),
            StopReason::Cancelled => write!(f, "cancelled"),
            StopReason::LineSearchFailed => {
                write!(f, "line search failed to find a lower value")
            }
            StopReason::NonFiniteStart => {
                write!(f, "objective or gradient not finite at the starting point")
            }
            StopReason::NoProgress => write!(
                f,
                "no progress: steps no longer change the parameters, gradient test not met"
            ),
        }
    }
}

/// The scale `max(1, |f|)` against which gradients and decreases are judged.
pub(crate) fn f_scale(f: f64) -> f64 {
    f.abs().max(1.0)
}

/// Left side of the gradient rule divided by `max(1, |f|)`: the quantity that
/// must fall below `grad_rel_tol`.
pub(crate) fn relative_gradient(x: &[f64], f: f64, g: &[f64]) -> f64 {
    let worst = x
        .iter()
        .zip(g)
        .map(|(xi, gi)| gi.abs() * xi.abs().max(1.0))
        .fold(0.0, f64::max);
    worst / f_scale(f)
}

/// The gradient rule.
pub(crate) fn gradient_converged(x: &[f64], f: f64, g: &[f64], grad_rel_tol: f64) -> bool {
    relative_gradient(x, f, g) <= grad_rel_tol
}

/// Largest component of `s` relative to `max(|x_i|, STEP_X_FLOOR)`.
pub(crate) fn relative_step(x: &[f64], s: &[f64]) -> f64 {
    x.iter()
        .zip(s)
        .map(|(xi, si)| si.abs() / xi.abs().max(STEP_X_FLOOR))
        .fold(0.0, f64::max)
}

/// The decrease below which values of `f` cannot be told apart from rounding.
pub(crate) fn rounding_level(f: f64) -> f64 {
    PRED_REL_TOL * f_scale(f)
}

/// The Newton-step rule, given the full Newton step and its predicted decrease.
pub(crate) fn newton_step_converged(x: &[f64], f: f64, s_newton: &[f64], pred: f64) -> bool {
    relative_step(x, s_newton) <= STEP_REL_TOL && pred <= rounding_level(f)
}

/// Largest absolute gradient component, reported to observers.
pub(crate) fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, vi| m.max(vi.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_rule_uses_floors_of_one() {
        // Small x and f: plain absolute gradient.
        assert!(gradient_converged(&[0.5], 0.1, &[1e-12], 1e-11));
        assert!(!gradient_converged(&[0.5], 0.1, &[1e-10], 1e-11));
        // Large x multiplies, large f divides.
        let x = [1e6];
        assert!(!gradient_converged(&x, 1.0, &[1e-12], 1e-11));
        assert!(gradient_converged(&x, 1e6, &[1e-12], 1e-11));
    }

    #[test]
    fn newton_rule_needs_both_parts() {
        let x = [2.0, 3.0];
        assert!(newton_step_converged(&x, 5.0, &[1e-12, -1e-12], 1e-20));
        // Step fine, predicted decrease too large.
        assert!(!newton_step_converged(&x, 5.0, &[1e-12, 0.0], 1e-6));
        // Decrease fine, step too large relative to x.
        assert!(!newton_step_converged(&x, 5.0, &[1e-6, 0.0], 1e-20));
    }

    #[test]
    fn display_is_words() {
        let s = StopReason::Converged {
            criterion: Criterion::NewtonStep,
        }
        .to_string();
        assert!(s.starts_with("converged"));
        assert!(StopReason::MaxIterations
            .to_string()
            .contains("iteration limit"));
    }
}
