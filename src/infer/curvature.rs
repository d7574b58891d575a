//! What the Hessian at the optimum says: positive definite or not (judged
//! on the Hessian scaled to unit diagonal, so units do not matter), the
//! flattest directions and the parameters in them, and the covariance of
//! theta; for a mean solved by least squares, by blocks from the QR factors.

use nalgebra::{DMatrix, SymmetricEigen};

use super::linear;

/// The Hessian counts as positive definite when the smallest eigenvalue of
/// the Hessian scaled to unit diagonal exceeds this. The scaled matrix has
/// eigenvalues between 0 and the number of parameters whatever the units;
/// 1e-13 (about 500 machine epsilons) separates a merely ill-conditioned
/// design from one that is singular to rounding.
const SCALED_EIGEN_TOL: f64 = 1e-13;

/// The curvature when the mean's coefficients b were solved by least
/// squares. Their block of the Hessian, H_bb = X'X / sigma^2, is inverted
/// from the QR factors (C = sigma^2 (X'X)^-1, accurate where X'X itself is
/// too badly conditioned to invert), and the rest by blocks:
///   S = H_oo - H_ob C H_bo        (the other parameters' Hessian once b
///                                  follows them; judged for definiteness)
///   Cov_oo = S^-1,  Cov_bo = -C H_bo S^-1,
///   Cov_bb = C + C H_bo S^-1 H_ob C.
pub(super) fn linear_curvature(
    free: &[usize],
    hess: &DMatrix<f64>,
    lm: &crate::compile::LinearMean,
    ls: &linear::LeastSquares,
) -> Curvature {
    let n = free.len();
    let others: Vec<usize> = (0..n).filter(|i| !lm.params.contains(&free[*i])).collect();
    let coefs: Vec<usize> = (0..n).filter(|i| lm.params.contains(&free[*i])).collect();
    let schur = linear::schur_complement(hess, &others, &coefs, &ls.inv_gram, ls.sigma, true);
    let rest = analyse_hessian(&schur);
    let mut flat_direction = vec![0.0; n];
    for (i, v) in others.iter().zip(&rest.flat_direction) {
        flat_direction[*i] = *v;
    }
    let c = &ls.inv_gram * (ls.sigma * ls.sigma);
    let s_inv = match (&rest.covariance, others.is_empty()) {
        (Some(cov), _) => Some(cov.clone()),
        (None, true) => Some(DMatrix::zeros(0, 0)),
        (None, false) => None,
    };
    let covariance = s_inv.filter(|_| ls.sigma.is_finite()).map(|s_inv| {
        let h_bo = DMatrix::from_fn(coefs.len(), others.len(), |i, j| {
            hess[(coefs[i], others[j])]
        });
        let cross = -(&c * &h_bo * &s_inv);
        let bb = &c - &cross * h_bo.transpose() * &c;
        let mut cov = DMatrix::zeros(n, n);
        for (a, i) in coefs.iter().enumerate() {
            for (b, j) in coefs.iter().enumerate() {
                cov[(*i, *j)] = bb[(a, b)];
            }
            for (b, j) in others.iter().enumerate() {
                cov[(*i, *j)] = cross[(a, b)];
                cov[(*j, *i)] = cross[(a, b)];
            }
        }
        for (a, i) in others.iter().enumerate() {
            for (b, j) in others.iter().enumerate() {
                cov[(*i, *j)] = s_inv[(a, b)];
            }
        }
        cov
    });
    Curvature {
        is_pd: covariance.is_some(),
        min_scaled_eigenvalue: rest.min_scaled_eigenvalue,
        flat_direction,
        more_flat: rest
            .more_flat
            .iter()
            .map(|(v, d)| {
                let mut full = vec![0.0; n];
                for (i, x) in others.iter().zip(d) {
                    full[*i] = *x;
                }
                (*v, full)
            })
            .collect(),
        // Singular: the gradient of the coefficients is exact by
        // construction (they are solved for), so the decrement on the
        // Hessian's range is that of the other parameters, through the
        // Schur complement's inverse on its range.
        range_inverse: covariance.clone().or_else(|| {
            rest.range_inverse.as_ref().map(|inv| {
                let mut full = DMatrix::zeros(n, n);
                for (a, i) in others.iter().enumerate() {
                    for (b, j) in others.iter().enumerate() {
                        full[(*i, *j)] = inv[(a, b)];
                    }
                }
                full
            })
        }),
        covariance,
    }
}

/// What the Hessian at the optimum says.
pub(super) struct Curvature {
    pub is_pd: bool,
    pub min_scaled_eigenvalue: f64,
    /// The eigenvector of the smallest scaled eigenvalue, mapped back to
    /// theta coordinates and normalised: the flattest direction.
    pub flat_direction: Vec<f64>,
    /// The next smallest scaled eigenvalues that are not positive either,
    /// with their directions (at most [`MORE_FLAT_LISTED`]).
    pub more_flat: Vec<(f64, Vec<f64>)>,
    pub covariance: Option<DMatrix<f64>>,
    /// The inverse of the Hessian on its range (the covariance when it is
    /// positive definite; when it is singular, the pseudo-inverse of the
    /// scaled matrix, scaled back), for the Newton decrement of the
    /// directions the NLL curves along.
    pub range_inverse: Option<DMatrix<f64>>,
}

/// How many flat directions beyond the flattest a report names.
const MORE_FLAT_LISTED: usize = 2;

/// Analyses the Hessian scaled to unit diagonal,
///   S = D^-1/2 H D^-1/2,  D = diag(|H_kk|),
/// so positive definiteness does not depend on the units of the parameters;
/// the covariance is H^-1 = D^-1/2 S^-1 D^-1/2.
pub(super) fn analyse_hessian(hess: &DMatrix<f64>) -> Curvature {
    let n = hess.nrows();
    let none = |dir: Vec<f64>| Curvature {
        is_pd: false,
        min_scaled_eigenvalue: f64::NAN,
        flat_direction: dir,
        more_flat: Vec::new(),
        covariance: None,
        range_inverse: None,
    };
    if n == 0 {
        return Curvature {
            is_pd: true,
            min_scaled_eigenvalue: f64::NAN,
            flat_direction: vec![],
            more_flat: Vec::new(),
            covariance: None,
            range_inverse: None,
        };
    }
    if !hess.iter().all(|v| v.is_finite()) {
        return none(vec![0.0; n]);
    }
    // A parameter with no curvature at all is flat by itself; so is each
    // further one (a mixture component of weight 0 has several).
    let no_curvature: Vec<usize> = (0..n).filter(|k| hess[(*k, *k)] <= 0.0).collect();
    if let Some(&k) = no_curvature.first() {
        let unit = |k: usize| {
            let mut dir = vec![0.0; n];
            dir[k] = 1.0;
            dir
        };
        // Parameters the NLL does not depend on (rows and columns of 0)
        // add nothing to the Hessian's range: its inverse there is that of
        // the other parameters' block.
        let is_unused = |k: usize| (0..n).all(|j| hess[(k, j)] == 0.0);
        let range_inverse = if no_curvature.iter().all(|&k| is_unused(k)) {
            let curved: Vec<usize> = (0..n).filter(|&k| hess[(k, k)] > 0.0).collect();
            let block = DMatrix::from_fn(curved.len(), curved.len(), |i, j| {
                hess[(curved[i], curved[j])]
            });
            let inner = analyse_hessian(&block);
            inner.covariance.or(inner.range_inverse).map(|inv| {
                let mut full = DMatrix::zeros(n, n);
                for (i, &a) in curved.iter().enumerate() {
                    for (j, &b) in curved.iter().enumerate() {
                        full[(a, b)] = inv[(i, j)];
                    }
                }
                full
            })
        } else {
            None
        };
        return Curvature {
            min_scaled_eigenvalue: hess[(k, k)],
            more_flat: no_curvature[1..]
                .iter()
                .take(MORE_FLAT_LISTED)
                .map(|&j| (hess[(j, j)], unit(j)))
                .collect(),
            range_inverse,
            ..none(unit(k))
        };
    }
    let d: Vec<f64> = (0..n).map(|k| hess[(k, k)].sqrt()).collect();
    let scaled = DMatrix::from_fn(n, n, |i, j| hess[(i, j)] / (d[i] * d[j]));
    let eig = SymmetricEigen::new(scaled.clone());
    let (imin, vmin) =
        eig.eigenvalues
            .iter()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |acc, (i, v)| if *v < acc.1 { (i, *v) } else { acc },
            );
    // An eigenvector of the scaled matrix, mapped back to theta and
    // normalised.
    let direction = |i: usize| -> Vec<f64> {
        let u = eig.eigenvectors.column(i);
        let mut dir: Vec<f64> = (0..n).map(|k| u[k] / d[k]).collect();
        // Divided by its largest entry first, so that a curvature of 1e-300
        // (a scale of 1e150 over a location) does not overflow the norm;
        // an infinite entry makes the direction that coordinate's alone.
        if dir.iter().any(|v| v.is_infinite()) {
            dir.iter_mut()
                .for_each(|v| *v = if v.is_infinite() { v.signum() } else { 0.0 });
        }
        let largest = dir.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if largest > 0.0 {
            dir.iter_mut().for_each(|v| *v /= largest);
        }
        let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
        dir.iter_mut().for_each(|v| *v /= norm);
        dir
    };
    let dir = direction(imin);
    // Further flat directions, smallest first, a few at most.
    let mut flat: Vec<(f64, usize)> = eig
        .eigenvalues
        .iter()
        .enumerate()
        .filter(|(i, v)| *i != imin && **v <= SCALED_EIGEN_TOL)
        .map(|(i, v)| (*v, i))
        .collect();
    flat.sort_by(|a, b| a.0.total_cmp(&b.0));
    let more_flat = flat
        .into_iter()
        .take(MORE_FLAT_LISTED)
        .map(|(v, i)| (v, direction(i)))
        .collect();
    let is_pd = vmin > SCALED_EIGEN_TOL;
    let covariance = if is_pd {
        scaled.cholesky().map(|ch| {
            let inv = ch.inverse();
            DMatrix::from_fn(n, n, |i, j| inv[(i, j)] / (d[i] * d[j]))
        })
    } else {
        None
    };
    // For a singular Hessian, a generalised inverse: the pseudo-inverse of
    // the scaled matrix on its eigenvalues above the tolerance, scaled back,
    //   H^+ = D^-1/2 (sum_{lambda_i > tol} u_i u_i' / lambda_i) D^-1/2.
    let range_inverse = if covariance.is_some() {
        covariance.clone()
    } else {
        let mut inv = DMatrix::zeros(n, n);
        for (i, lambda) in eig.eigenvalues.iter().enumerate() {
            if *lambda > SCALED_EIGEN_TOL {
                let u = eig.eigenvectors.column(i);
                inv += (u * u.transpose()) / *lambda;
            }
        }
        Some(DMatrix::from_fn(n, n, |i, j| inv[(i, j)] / (d[i] * d[j])))
    };
    Curvature {
        is_pd: is_pd && covariance.is_some(),
        min_scaled_eigenvalue: vmin,
        flat_direction: dir,
        more_flat,
        covariance,
        range_inverse,
    }
}
