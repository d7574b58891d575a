//! A first approach to the estimates on a subsample of the rows, for fits
//! on large data: Newton from the start spends most of its passes far from
//! the estimates, where a sixteenth of the rows guides as well as all.

use nalgebra::DMatrix;

use super::ModelObjective;
use crate::compile::Compiled;
use crate::optim::{self, Options, StopReason};

/// Rows from which a fit approaches its estimates on a subsample first.
/// Below, a pass over the data costs well under a millisecond and the
/// subsample's programs (built anew) would cost more than they save.
pub(super) const SUBSAMPLE_MIN_ROWS: usize = 100_000;

/// One row in this many makes the subsample (63 488 of a million rows).
/// Its estimates differ from those of all rows by about 4 (= sqrt 16) of
/// their standard errors, a distance Newton's quadratic convergence
/// clears in two or three passes over all rows.
const SUBSAMPLE_STRIDE: usize = 16;

/// Iterations the subsample's fit gets. Newton reaches a well-posed
/// maximum in well under this (5-15 on the benchmark workloads); one that
/// needs more (separation in the subsample, a scale far from the data) is
/// not worth following there, and 50 iterations cost about 3 passes over
/// all rows.
const SUBSAMPLE_MAX_ITER: usize = 50;

/// A point near the estimates, found by fitting the likelihood of one row
/// in [`SUBSAMPLE_STRIDE`] (see [`Compiled::subsample`]) from `x0` (a pass
/// over them costs a sixteenth of one over all rows), or None when that
/// fit does not converge within [`SUBSAMPLE_MAX_ITER`], or when its
/// estimates are not near those of all rows (see [`SUBSAMPLE_NEAR`]; `f0`
/// is the NLL of all rows at `x0`). Newton from the start spends most of its passes far from the
/// estimates, where the subsample's likelihood is as good a guide as the
/// whole; the fit on all rows then starts where it converges within a few
/// passes. Its value, gradient and Hessian at the point returned are left
/// computed in `obj`.
pub(super) fn subsample_start(
    c: &Compiled,
    free: &[usize],
    theta0: &[f64],
    x0: &[f64],
    options: &Options,
    obj: &mut ModelObjective,
    f0: f64,
) -> Option<Vec<f64>> {
    let started = std::time::Instant::now();
    let sub = c.subsample(SUBSAMPLE_STRIDE);
    let mut sub_obj = ModelObjective::new(&sub, free.to_vec(), theta0.to_vec());
    let brief = Options {
        max_iter: options.max_iter.min(SUBSAMPLE_MAX_ITER),
        ..options.clone()
    };
    let outcome = optim::minimize(&mut sub_obj, x0, &brief);
    let converged = matches!(outcome.stop, StopReason::Converged { .. });
    let head = format!(
        "subsample of {} rows: {} iterations, {}, {:.3} s",
        sub.n_rows,
        outcome.iterations,
        outcome.stop,
        started.elapsed().as_secs_f64()
    );
    if !converged {
        log::info!("{head}; not used");
        return None;
    }
    let n = x0.len();
    let mut g = vec![0.0; n];
    let mut h = DMatrix::zeros(n, n);
    let f = optim::Objective::value_grad_hess(obj, &outcome.x, &mut g, &mut h);
    // The decrease the Newton step of all rows still promises there,
    // g' H^-1 g / 2, against the decrease already made from the start.
    // Near the estimates of all rows it is a small part (1e-3 on the
    // logistic workload). Where the subsample had separation that the
    // whole does not (its few rows of one class all between the runs) its
    // estimate is far out in a flat tail: the promise dwarfs the decrease
    // made, and Newton crawls back from there (52 iterations against 12
    // from the start).
    let remaining = DMatrix::from_column_slice(n, 1, &g);
    let promised = h
        .cholesky()
        .map(|ch| 0.5 * remaining.dot(&ch.solve(&remaining)));
    let near = match promised {
        Some(p) => f < f0 && p <= SUBSAMPLE_NEAR * (f0 - f),
        None => false,
    };
    log::info!(
        "{head}; nll of all rows {f:.6e} there against {f0:.6e} at the start, Newton promises {}: {}",
        promised.map_or("nothing (Hessian not positive definite)".to_string(), |p| format!("{p:.3e}")),
        if near { "used" } else { "not used" }
    );
    near.then_some(outcome.x)
}

/// The largest decrease the Newton step of all rows may still promise at
/// the subsample's estimate, as a fraction of the decrease already made
/// from the start, for the fit on all rows to start there.
const SUBSAMPLE_NEAR: f64 = 0.1;
