//! Zeros of a function of one variable, inside a bracket.
//!
//! [`brent_zero`] finds a point where a continuous `f` changes sign on
//! `[a, b]`, given `f(a)` and `f(b)` of opposite signs. Each step is an
//! inverse quadratic interpolation through the last three points, or a
//! secant step through the last two, when that step stays well inside the
//! bracket and shrinks it fast enough; otherwise it bisects. The bracket
//! therefore always holds a sign change, and the method needs at most about
//! the square of the number of bisection steps, usually far fewer.
//!
//! A value of `+inf` (a point outside the function's domain that counts as
//! "above") is allowed: interpolation is skipped while any of the three
//! points is not finite, and the step bisects.
//!
//! # Reference
//!
//! R. P. Brent, *Algorithms for Minimization without Derivatives*,
//! Prentice-Hall 1973, chapter 4 (the procedure `zero`). The variable names
//! follow it: `b` is the best estimate, `a` the previous one, `c` the other
//! end of the bracket, `d` the last step and `e` the one before.

/// Where [`brent_zero`] stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zero {
    /// The best estimate of the zero.
    pub x: f64,
    /// `f(x)`.
    pub fx: f64,
    /// Calls of `f` made.
    pub n_evals: usize,
    /// True when the bracket shrank below the tolerance (or `f(x) == 0`);
    /// false when `max_evals` ran out first.
    pub converged: bool,
}

/// A zero of `f` in the bracket `[a, b]`, to within `x_abs_tol` plus a few
/// units in the last place of `x`.
///
/// `fa = f(a)` and `fb = f(b)` must have opposite signs (or one be zero);
/// NaN from `f` is treated as `+inf`.
///
/// # Panics
///
/// When `fa` and `fb` have the same strict sign: there is no bracket.
pub fn brent_zero(
    mut f: impl FnMut(f64) -> f64,
    a: f64,
    b: f64,
    fa: f64,
    fb: f64,
    x_abs_tol: f64,
    max_evals: usize,
) -> Zero {
    let clean = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    let (mut a, mut b, mut fa, mut fb) = (a, b, clean(fa), clean(fb));
    assert!(
        !(fa > 0.0 && fb > 0.0) && !(fa < 0.0 && fb < 0.0),
        "brent_zero needs a sign change: f({a}) = {fa}, f({b}) = {fb}"
    );
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    let mut n_evals = 0;
    loop {
        // Keep c on the other side of the zero from b.
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        // Keep b the point with the smaller |f|.
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        // Rounding of b itself limits how small the bracket can get.
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * x_abs_tol;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Zero {
                x: b,
                fx: fb,
                n_evals,
                converged: true,
            };
        }
        if n_evals >= max_evals {
            return Zero {
                x: b,
                fx: fb,
                n_evals,
                converged: false,
            };
        }

        let finite = fa.is_finite() && fb.is_finite() && fc.is_finite();
        if e.abs() < tol || fa.abs() <= fb.abs() || !finite {
            d = m;
            e = m;
        } else {
            // Interpolate x as a function of f and take its value at f = 0:
            // a secant step when only two distinct points exist (a == c),
            // inverse quadratic interpolation otherwise. The step is p / q.
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let q0 = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * q0 * (q0 - r) - (b - a) * (r - 1.0));
                q = (q0 - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            // Accept the interpolated step only if it lands inside the
            // bracket (3/4 of the way toward c at most) and is less than
            // half the step before last; otherwise bisect.
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = clean(f(b));
        n_evals += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cube_root_of_two() {
        let f = |x: f64| x * x * x - 2.0;
        let z = brent_zero(f, 0.0, 2.0, f(0.0), f(2.0), 1e-14, 100);
        assert!(z.converged);
        assert!((z.x - 2f64.cbrt()).abs() < 1e-13, "{z:?}");
        // Far fewer evaluations than the ~50 of bisection.
        assert!(z.n_evals < 20, "{z:?}");
    }

    #[test]
    fn bisects_past_an_infinite_end() {
        // Below 1 the function is -1; above 1.5 it is outside its domain.
        let f = |x: f64| {
            if x > 1.5 {
                f64::INFINITY
            } else {
                x - 1.0
            }
        };
        let z = brent_zero(f, 0.0, 3.0, f(0.0), f(3.0), 1e-12, 200);
        assert!(z.converged);
        assert!((z.x - 1.0).abs() < 1e-11, "{z:?}");
    }

    #[test]
    fn accepts_a_bracket_in_either_order() {
        let f = |x: f64| (x - 0.3).tanh();
        let z = brent_zero(f, 1.0, -1.0, f(1.0), f(-1.0), 1e-12, 100);
        assert!((z.x - 0.3).abs() < 1e-11, "{z:?}");
    }

    #[test]
    fn stops_at_the_evaluation_limit() {
        let f = |x: f64| x - 0.123;
        let z = brent_zero(f, 0.0, 1.0, f(0.0), f(1.0), 0.0, 0);
        assert!(!z.converged);
    }
}
