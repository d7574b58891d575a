//! Exact solution of the trust-region subproblem (N&W section 4.3).
//!
//! In scaled variables `u = D p` the subproblem reads
//!
//! ```text
//! min_u  m(u) = a'c + c' Lambda c / 2     with u = Q c,  ||u|| = ||c|| <= Delta
//! ```
//!
//! where `H_hat = Q Lambda Q'` is the symmetric eigendecomposition of the
//! scaled Hessian and `a = Q' g_hat` the scaled gradient in eigen
//! coordinates. By N&W Theorem 4.1 the solution is
//! `c_i(lambda) = -a_i / (lambda_i + lambda)` for a shift `lambda >= 0` with
//! `lambda_i + lambda >= 0` for all `i`, and `lambda (Delta - ||c||) = 0`:
//!
//! * positive definite and `||c(0)|| <= Delta`: the Newton step, `lambda = 0`;
//! * otherwise `lambda` solves the secular equation `||c(lambda)|| = Delta`
//!   on `lambda > max(0, -lambda_1)`, found by safeguarded Newton iteration
//!   on `1/Delta - 1/||c(lambda)||` (N&W Alg. 4.3 in eigen coordinates) with
//!   bisection as fallback;
//! * the **hard case** (N&W section 4.3): `lambda_1 < 0` and `a` has (almost)
//!   no component along the eigenvectors of `lambda_1`, so that
//!   `||c(-lambda_1)|| <= Delta`; then `lambda = -lambda_1` and a multiple of
//!   the eigenvector `q_1` is added to reach the boundary (N&W eq. 4.45).
//!
//! With the decomposition at hand each evaluation of `||c(lambda)||` costs
//! `O(n)`, so the secular equation is solved to near machine precision.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Eigenvalues within this fraction of the largest absolute eigenvalue of
/// `lambda_1` count as equal to it (its eigenspace), and a Hessian whose
/// smallest eigenvalue is below this fraction counts as singular rather than
/// positive definite. A scaled condition number of 1e10 still leaves six
/// significant digits in the Newton step.
const SINGULAR_REL_TOL: f64 = 1e-10;

/// Components of `a` smaller than this fraction of `||a||` count as zero
/// when deciding on the hard case. Misjudging a near-hard case as hard only
/// replaces a very large `c_1 = -a_1/(lambda_1 + lambda)` by the boundary
/// multiple of `q_1`, which is nearly the same step.
const HARD_CASE_REL_TOL: f64 = 1e-8;

/// The secular equation is solved to this relative accuracy in `||c||`.
const SECULAR_REL_TOL: f64 = 1e-12;

/// Iteration limit of the secular solver; bisection alone would halve the
/// bracket 200 times, far beyond double precision.
const SECULAR_MAX_ITER: usize = 200;

/// How the step was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    /// Unconstrained minimiser of the model (`lambda = 0`, or a singular
    /// Hessian with the gradient orthogonal to its null space).
    Interior,
    /// On the boundary, from the secular equation.
    Boundary,
    /// On the boundary, hard case.
    HardCase,
}

/// A solution of the subproblem.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Step in eigen coordinates, `c`.
    pub c: Vec<f64>,
    /// Predicted reduction `-m(c)`.
    pub pred: f64,
    /// The shift `lambda` added to the eigenvalues.
    pub shift: f64,
    /// `||c||` (equals the scaled step length `||D p||`).
    pub norm: f64,
    pub kind: StepKind,
}

/// A decomposed subproblem, reusable for several radii.
pub(crate) struct Subproblem {
    /// Eigenvectors `Q` (columns).
    q: DMatrix<f64>,
    /// Eigenvalues `lambda_i`.
    lambda: Vec<f64>,
    /// `a = Q' g_hat`.
    a: Vec<f64>,
    /// Index of the smallest eigenvalue.
    i_min: usize,
    /// Largest absolute eigenvalue (0 for a zero Hessian).
    scale: f64,
}

impl Subproblem {
    /// Decompose the scaled Hessian `h_hat` (symmetric, finite) for the
    /// scaled gradient `g_hat`. `None` if the eigensolver fails.
    pub fn new(h_hat: DMatrix<f64>, g_hat: &[f64]) -> Option<Self> {
        let n = g_hat.len();
        let eig = SymmetricEigen::try_new(h_hat, f64::EPSILON, 1000 + 100 * n)?;
        let lambda: Vec<f64> = eig.eigenvalues.iter().copied().collect();
        let a = (eig.eigenvectors.transpose() * DVector::from_column_slice(g_hat))
            .iter()
            .copied()
            .collect();
        let i_min = (0..n)
            .min_by(|&i, &j| lambda[i].total_cmp(&lambda[j]))
            .unwrap_or(0);
        let scale = lambda.iter().fold(0.0_f64, |m, l| m.max(l.abs()));
        Some(Subproblem {
            q: eig.eigenvectors,
            lambda,
            a,
            i_min,
            scale,
        })
    }

    /// Smallest eigenvalue `lambda_1` of the scaled Hessian.
    pub fn lambda_min(&self) -> f64 {
        self.lambda.get(self.i_min).copied().unwrap_or(0.0)
    }

    /// Largest absolute eigenvalue of the scaled Hessian.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Norm of the scaled gradient.
    pub fn grad_norm(&self) -> f64 {
        self.a.iter().map(|v| v * v).sum::<f64>().sqrt()
    }

    fn singular_tol(&self) -> f64 {
        SINGULAR_REL_TOL * self.scale
    }

    /// True when the smallest eigenvalue is clearly positive.
    pub fn is_positive_definite(&self) -> bool {
        self.scale > 0.0 && self.lambda_min() > self.singular_tol()
    }

    /// Map eigen coordinates `c` to the scaled step `u = Q c`.
    pub fn to_scaled(&self, c: &[f64]) -> Vec<f64> {
        (&self.q * DVector::from_column_slice(c))
            .iter()
            .copied()
            .collect()
    }

    /// Predicted reduction `-m(c)`.
    fn pred(&self, c: &[f64]) -> f64 {
        c.iter()
            .zip(&self.a)
            .zip(&self.lambda)
            .map(|((ci, ai), li)| -(ai * ci + 0.5 * li * ci * ci))
            .sum()
    }

    fn step(&self, c: Vec<f64>, shift: f64, kind: StepKind) -> Step {
        let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
        let pred = self.pred(&c);
        Step {
            c,
            pred,
            shift,
            norm,
            kind,
        }
    }

    /// The full Newton step `c_i = -a_i / lambda_i`, if the scaled Hessian is
    /// positive definite.
    pub fn newton(&self) -> Option<Step> {
        if !self.is_positive_definite() {
            return None;
        }
        let c = self.shifted(0.0, |_| true);
        Some(self.step(c, 0.0, StepKind::Interior))
    }

    /// `c_i(lambda) = -a_i / (lambda_i + lambda)` for the indices kept by
    /// `keep`, zero elsewhere.
    fn shifted(&self, shift: f64, keep: impl Fn(usize) -> bool) -> Vec<f64> {
        (0..self.a.len())
            .map(|i| {
                if keep(i) && self.a[i] != 0.0 {
                    -self.a[i] / (self.lambda[i] + shift)
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Solve the subproblem for radius `delta > 0`.
    pub fn solve(&self, delta: f64) -> Step {
        if let Some(newton) = self.newton() {
            if newton.norm <= delta {
                return newton;
            }
            return self.boundary(0.0, delta, |_| true);
        }
        // Not positive definite: lambda >= -lambda_1 (and >= 0).
        let lambda_1 = self.lambda_min();
        let lo = (-lambda_1).max(0.0);
        let tol = self.singular_tol();
        let in_min_space = |i: usize| self.lambda[i] <= lambda_1 + tol;
        let a_norm2: f64 = self.a.iter().map(|v| v * v).sum();
        let a_min2: f64 = (0..self.a.len())
            .filter(|&i| in_min_space(i))
            .map(|i| self.a[i] * self.a[i])
            .sum();
        if a_min2 <= HARD_CASE_REL_TOL * HARD_CASE_REL_TOL * a_norm2 {
            // The gradient does not see the lowest eigenspace.
            let rest = |i: usize| !in_min_space(i);
            let mut c = self.shifted(lo, rest);
            let rest_norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
            if rest_norm <= delta {
                if lambda_1 < -tol {
                    // Hard case: go to the boundary along q_1, in the
                    // direction that does not increase the linear term.
                    let tau = (delta * delta - rest_norm * rest_norm).max(0.0).sqrt();
                    let sign = if self.a[self.i_min] > 0.0 { -1.0 } else { 1.0 };
                    c[self.i_min] = sign * tau;
                    return self.step(c, lo, StepKind::HardCase);
                }
                // Singular, positive semidefinite: minimiser on the range.
                return self.step(c, lo, StepKind::Interior);
            }
            return self.boundary(lo, delta, rest);
        }
        self.boundary(lo, delta, |_| true)
    }

    /// Solve `||c(lambda)|| = delta` for `lambda > lo` over the indices kept
    /// by `keep`, where `||c(lo)|| > delta` (possibly infinite).
    fn boundary(&self, lo: f64, delta: f64, keep: impl Fn(usize) -> bool + Copy) -> Step {
        let idx: Vec<usize> = (0..self.a.len())
            .filter(|&i| keep(i) && self.a[i] != 0.0)
            .collect();
        let a_norm = idx.iter().map(|&i| self.a[i].powi(2)).sum::<f64>().sqrt();
        if a_norm == 0.0 {
            return self.step(vec![0.0; self.a.len()], lo, StepKind::Boundary);
        }
        // ||c(lambda)|| and sum a_i^2 / (lambda_i + lambda)^3.
        let eval = |shift: f64| {
            let (mut n2, mut s3) = (0.0, 0.0);
            for &i in &idx {
                let t = self.a[i] / (self.lambda[i] + shift);
                n2 += t * t;
                s3 += t * t / (self.lambda[i] + shift);
            }
            (n2.sqrt(), s3)
        };
        // Every lambda_i + lo >= 0, so at hi each term is at most a_i delta / ||a||.
        let mut right = lo + a_norm / delta;
        if right <= lo {
            // a_norm / delta is below the resolution of lo: step just above it.
            right = lo + 4.0 * f64::EPSILON * lo.abs().max(f64::MIN_POSITIVE);
        }
        let mut left = lo;
        let mut shift = right;
        for _ in 0..SECULAR_MAX_ITER {
            let (len, s3) = eval(shift);
            if (len - delta).abs() <= SECULAR_REL_TOL * delta {
                break;
            }
            if len > delta {
                left = shift;
            } else {
                right = shift;
            }
            if right - left <= f64::EPSILON * right {
                break;
            }
            // Newton on 1/delta - 1/||c(lambda)||.
            let next = shift + (len / delta - 1.0) * len * len / s3;
            shift = if next > left && next < right {
                next
            } else {
                0.5 * (left + right)
            };
        }
        let c = self.shifted(shift, keep);
        self.step(c, shift, StepKind::Boundary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(values: &[f64]) -> DMatrix<f64> {
        DMatrix::from_diagonal(&DVector::from_column_slice(values))
    }

    #[test]
    fn interior_newton_step() {
        let sub = Subproblem::new(diag(&[2.0, 4.0]), &[2.0, -4.0]).unwrap();
        let st = sub.solve(10.0);
        assert_eq!(st.kind, StepKind::Interior);
        let u = sub.to_scaled(&st.c);
        assert!((u[0] + 1.0).abs() < 1e-14 && (u[1] - 1.0).abs() < 1e-14);
        assert!((st.pred - 3.0).abs() < 1e-14);
    }

    #[test]
    fn boundary_step_has_radius_length_and_beats_cauchy() {
        let sub = Subproblem::new(diag(&[1.0, 100.0]), &[1.0, 1.0]).unwrap();
        let st = sub.solve(0.5);
        assert_eq!(st.kind, StepKind::Boundary);
        assert!((st.norm - 0.5).abs() < 1e-10);
        // Cauchy point for comparison: along -g, ||g|| = sqrt 2.
        let t: f64 = 0.5 / 2f64.sqrt();
        let cauchy = 2.0 * t - 0.5 * t * t * 101.0;
        assert!(st.pred >= cauchy.max(0.0));
    }

    #[test]
    fn indefinite_step_goes_to_boundary() {
        let sub = Subproblem::new(diag(&[-1.0, 2.0]), &[0.5, 1.0]).unwrap();
        let st = sub.solve(1.0);
        assert_eq!(st.kind, StepKind::Boundary);
        assert!((st.norm - 1.0).abs() < 1e-10);
        assert!(st.shift > 1.0);
    }

    #[test]
    fn hard_case_uses_lowest_eigenvector() {
        // Gradient orthogonal to the negative-curvature direction.
        let sub = Subproblem::new(diag(&[-2.0, 1.0]), &[0.0, 1.0]).unwrap();
        let st = sub.solve(2.0);
        assert_eq!(st.kind, StepKind::HardCase);
        assert!((st.norm - 2.0).abs() < 1e-12);
        assert!((st.shift - 2.0).abs() < 1e-12);
        let u = sub.to_scaled(&st.c);
        assert!((u[1] + 1.0 / 3.0).abs() < 1e-12, "{u:?}");
        assert!(u[0].abs() > 1.9);
        // Exactly at a saddle: gradient zero.
        let sub = Subproblem::new(diag(&[-2.0, 1.0]), &[0.0, 0.0]).unwrap();
        let st = sub.solve(0.5);
        assert_eq!(st.kind, StepKind::HardCase);
        assert!((st.pred - 0.25).abs() < 1e-12);
    }

    #[test]
    fn singular_semidefinite_stays_on_range() {
        let sub = Subproblem::new(diag(&[0.0, 2.0]), &[0.0, 2.0]).unwrap();
        let st = sub.solve(5.0);
        assert_eq!(st.kind, StepKind::Interior);
        let u = sub.to_scaled(&st.c);
        assert_eq!(u[0], 0.0);
        assert!((u[1] + 1.0).abs() < 1e-14);
    }
}
