//! The fit driver: start values, optimization, standard errors and an honest
//! status.
//!
//! [`fit`] minimises the compiled NLL over theta (the unconstrained scale),
//! then evaluates the exact Hessian at the optimum. Standard errors on the
//! natural scale come from the delta method: with x = t(theta) elementwise,
//!   Cov(x) = J Cov(theta) J,  J = diag(dx/dtheta),  Cov(theta) = H^-1.
//! At a stationary point this equals the inverse of the Hessian taken in the
//! natural parameters, the observed information other tools report.
//!
//! The report says plainly what is wrong when something is: no convergence,
//! a Hessian that is not positive definite (with the parameters involved),
//! a parameter at its bound, a scale collapsing to 0.
//!
//! After a fit: [`profile`] gives profile-likelihood intervals,
//! [`compare`] compares fits of several models on the same rows, and
//! [`residuals`] gives standardised residuals for the figures of `plot`.

mod checks;
pub mod compare;
mod curvature;
mod linear;
mod objective;
mod probes;
pub(crate) mod profile;
mod report;
pub mod residuals;
mod start;
mod subsample;

use nalgebra::DMatrix;

use checks::{
    divergence_note, few_rows_component_warnings, heading_along, heading_from_start,
    improper_probability_warnings, is_huge_se, kink_warning, perfect_fit_level,
    perfectly_fitted_rows, recession_direction, scale_collapse_warnings, separation_prefix,
    unbalanced_scales_warning,
};
use curvature::{analyse_hessian, linear_curvature};
use probes::{
    edge_of, flat_both_ways, limit_hint, lower_point_inward, Edge, EDGE_PROBE,
    FAR_START_ITERATIONS, MAX_INWARD_RESTARTS,
};
use start::residual_scale;
pub use start::{check_start, free_params, start_theta};
use subsample::{subsample_start, SUBSAMPLE_MIN_ROWS};

use crate::compile::Compiled;
use crate::diag::Diagnostic;
use crate::optim::{self, CancelFlag, Method, Options, StopReason};

pub use objective::ModelObjective;
pub use profile::{
    chi_square_1_quantile, profile, profile_table, resolve_profile_names, ProfileBound,
    ProfileInterval, ProfileOptions, ProfilePoint,
};
pub use report::{fmt_num, FitOutcome, FitReport, ParamEstimate};

/// How to fit.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Start values on the natural scale, by element name (`beta[2]`) or by
    /// parameter name (applies to every element).
    pub starts: Vec<(String, f64)>,
    pub max_iter: usize,
    pub method: Method,
    /// When raised during the fit, the optimizer stops and [`fit`] returns
    /// the error `E504` instead of a report.
    pub cancel: Option<CancelFlag>,
    /// On large data, take the first steps on a subsample of the rows (see
    /// `subsample::SUBSAMPLE_MIN_ROWS`). The estimates are those of all rows either
    /// way; off, the fit follows the path it takes on small data.
    pub subsample: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            starts: Vec::new(),
            max_iter: DEFAULT_MAX_ITER,
            method: Method::Auto,
            cancel: None,
            subsample: true,
        }
    }
}

/// The default iteration limit: generous, because iterations on small
/// problems are cheap and some certified problems (a slowly curving valley)
/// need around two thousand; a fit that converges stops long before.
pub const DEFAULT_MAX_ITER: usize = 5000;

/// Two-sided 95% normal quantile, Phi^-1(0.975).
const Z_975: f64 = 1.959_963_984_540_054;

/// The Newton decrement at a minimum that Newton's method has polished is
/// at the rounding level of the NLL (measured: 1e-23 to 1e-29 relative on
/// the examples and the certified problems). A point where it exceeds 1e-14
/// relative is not a minimum to double precision, even when a gradient
/// test passed there (measured: 5e-13 to 3e-12 relative where L-BFGS stops
/// early on the ill-conditioned Wampler problems).
const NEWTON_DECREMENT_REL_TOL: f64 = 1e-14;

/// A decrease of the NLL below this relative amount along the flattest
/// direction is rounding, not a real decrease.
pub(super) const RECESSION_REL_DECREASE: f64 = 1e-12;

/// The first smoothing width of kinks, relative to the residual scale, and
/// the last: 1e-9 makes the smoothed NLL differ from the kinked one by at
/// most about 1e-9 relative, below the reported precision.
const SMOOTHING_START: f64 = 1e-1;
const SMOOTHING_END: f64 = 1e-9;

/// Fits the model. Errors are problems that prevent fitting at all (the NLL
/// is not finite at the start); a fit that does not converge is a report
/// with `converged: false`, not an error.
pub fn fit(c: &Compiled, opts: &FitOptions) -> Result<FitReport, Vec<Diagnostic>> {
    let theta0 = start_theta(c, opts).map_err(|d| vec![d])?;

    // Parameters the NLL does not depend on stay at their start values.
    let free = free_params(c);
    let mut warnings: Vec<String> = c.warnings.iter().map(|d| d.message.clone()).collect();
    for (k, p) in c.params.iter().enumerate() {
        if !free.contains(&k) {
            warnings.push(format!(
                "parameter `{}` is not used by the likelihood; it stays at its start value {} and has no standard error",
                p.name,
                p.transform.to_natural(theta0[k])
            ));
        }
    }

    let mut theta0 = theta0;
    let smoothing_scale = c.smoothing_index.map(|si| {
        let scale = residual_scale(c, &theta0);
        theta0[si] = scale * SMOOTHING_START;
        scale
    });
    // The start values as given must give a finite NLL, whatever is then
    // solved for from them.
    let mut obj = ModelObjective::new(c, free.clone(), theta0.clone());
    let start: Vec<f64> = free.iter().map(|k| theta0[*k]).collect();
    // When the optimizer will start with a Newton step on this objective
    // from here, the check computes the Hessian it will ask for (kept by
    // the objective): one pass over the data instead of two.
    let newton_here = opts.method.starts_with_newton(start.len())
        && (c.linear_mean.is_none() || c.smoothing_index.is_some());
    // On large data the first steps are taken on a subsample instead (see
    // `subsample_start`), and the start needs only its value checked.
    // Not for a mixture: its likelihood has several maxima, and the
    // subsample's (a cluster it happens to miss) can lead the fit on all
    // rows to another, worse one than the path from the start would.
    let mixture = c.statements.iter().any(|s| !s.components.is_empty());
    let warm = newton_here
        && opts.subsample
        && !mixture
        && c.smoothing_index.is_none()
        && c.n_rows >= SUBSAMPLE_MIN_ROWS
        && !start.is_empty();
    let start_nll = if warm {
        obj.probe_nll(&start)
    } else if newton_here {
        let mut g = vec![0.0; start.len()];
        let mut h = DMatrix::zeros(start.len(), start.len());
        optim::Objective::value_grad_hess(&mut obj, &start, &mut g, &mut h)
    } else {
        obj.nll_at(&start)
    };
    if !start_nll.is_finite() {
        return Err(vec![objective::explain_nonfinite_start(c, &theta0)]);
    }

    // A Gaussian mean linear in some coefficients: they are solved for by
    // least squares at every point, and the optimizer runs over the other
    // parameters only. Not with no iterations allowed (an evaluation at
    // the start), where solving would move the coefficients.
    let mut projected = match (&c.linear_mean, c.smoothing_index) {
        (Some(lm), None) if opts.max_iter > 0 => {
            let mut p = linear::Projected::new(c, lm, free.clone(), theta0.clone());
            p.theta_at(&[]).is_some().then_some((lm, p))
        }
        _ => None,
    };
    let optimized: Vec<usize> = match &projected {
        Some((lm, p)) => free
            .iter()
            .filter(|k| !lm.params.contains(k) && Some(**k) != p.scale())
            .copied()
            .collect(),
        None => free.clone(),
    };
    let x0: Vec<f64> = optimized.iter().map(|k| theta0[*k]).collect();
    if let Some((lm, p)) = projected.as_mut() {
        log::info!(
            "least squares for the {} coefficient(s) the mean is linear in; optimizing {} other parameter(s)",
            lm.params.len(),
            optimized.len()
        );
        match p.theta_at(&x0) {
            Some(t) if optim::Objective::value(p, &x0).is_finite() => theta0 = t,
            _ => projected = None,
        }
    }
    let optimized = if projected.is_some() {
        optimized
    } else {
        free.clone()
    };
    let x0: Vec<f64> = optimized.iter().map(|k| theta0[*k]).collect();

    let options = Options {
        max_iter: opts.max_iter,
        method: opts.method,
        cancel: opts.cancel.clone(),
        ..Options::default()
    };
    let cancelled = || opts.cancel.as_ref().is_some_and(CancelFlag::is_cancelled);
    let started = std::time::Instant::now();
    // Constrained coordinates, by their index among the free ones.
    let constrained: Vec<usize> = free
        .iter()
        .enumerate()
        .filter(|(_, k)| !matches!(c.params[**k].transform, crate::model::Transform::Identity))
        .map(|(i, _)| i)
        .collect();
    // A start far out on a constrained parameter's scale (a rate of 1e25)
    // can leave the optimizer thousands of small steps from the maximum,
    // or where its derivatives overflow (a Student-t's nu at 1e200). A
    // lower point back toward the interior is then tried too, and the
    // better of the two fits kept: a lower start can still lead to a
    // worse maximum (a mixture's weight moved to 0.5 while both means are
    // far from the data), so it does not replace the given one. With no
    // iterations allowed (an evaluation at the start) neither this nor the
    // restarts below look inward: the start stays.
    let look_inward = options.max_iter > 0;
    let inward = match projected {
        None if look_inward => lower_point_inward(&mut obj, &x0, &constrained),
        _ => None,
    };
    let mut outcome = match (projected.as_mut(), inward) {
        (Some((_, p)), _) => optim::minimize(p, &x0, &options),
        (None, None) => match warm
            .then(|| subsample_start(c, &free, &theta0, &x0, &options, &mut obj, start_nll))
            .flatten()
        {
            Some(near) => {
                let outcome = optim::minimize(&mut obj, &near, &options);
                if matches!(outcome.stop, StopReason::Converged { .. }) {
                    outcome
                } else {
                    // Not worse than without the subsample: the fit from
                    // the start itself, as it would have run.
                    log::info!(
                        "the fit from the subsample's estimates did not converge ({}): fitting from the start",
                        outcome.stop
                    );
                    outcome.followed_by(optim::minimize(&mut obj, &x0, &options))
                }
            }
            None => optim::minimize(&mut obj, &x0, &options),
        },
        (None, Some(lower)) => {
            let brief = Options {
                max_iter: options.max_iter.min(FAR_START_ITERATIONS),
                ..options.clone()
            };
            let given = optim::minimize(&mut obj, &x0, &brief);
            let from_lower = optim::minimize(&mut obj, &lower, &options);
            let rounding = RECESSION_REL_DECREASE * given.f.abs().max(1.0);
            log::info!(
                "far start: nll {:.12e} from the given start ({}), {:.12e} from a lower point inward ({})",
                given.f,
                given.stop,
                from_lower.f,
                from_lower.stop
            );
            if from_lower.f <= given.f + rounding {
                given.followed_by(from_lower)
            } else if matches!(given.stop, StopReason::MaxIterations) {
                let rest = Options {
                    max_iter: options.max_iter.saturating_sub(given.iterations),
                    ..options.clone()
                };
                let more = optim::minimize(&mut obj, &given.x, &rest);
                from_lower.followed_by(given).followed_by(more)
            } else {
                from_lower.followed_by(given)
            }
        }
    };
    if let (Some(si), Some(scale)) = (c.smoothing_index, smoothing_scale) {
        // Continuation: shrink the smoothing width of the kinks by a factor
        // of 10 per stage, each stage starting from the previous optimum.
        // The stages share the iteration limit: once it is spent, the fit
        // stops at the width reached (the last stage's stop says so).
        let mut delta = scale * SMOOTHING_START;
        while delta > scale * SMOOTHING_END && !cancelled() {
            let left = options.max_iter.saturating_sub(outcome.iterations);
            if left == 0 && options.max_iter > 0 {
                outcome.stop = StopReason::MaxIterations;
                break;
            }
            delta /= 10.0;
            obj.set_theta(si, delta);
            let stage_options = Options {
                max_iter: left,
                ..options.clone()
            };
            let stage = optim::minimize(&mut obj, &outcome.x, &stage_options);
            outcome = outcome.followed_by(stage);
            log::debug!(
                "smoothing width {delta:.3e}: nll {:.12e}, {}",
                outcome.f,
                outcome.stop
            );
        }
        theta0[si] = delta;
    }
    log::info!(
        "fit: {} iterations, {} evaluations ({} with the Hessian), nll {:.10e}, {:.3} s, {}",
        outcome.iterations,
        outcome.n_evals + outcome.n_hess_evals,
        outcome.n_hess_evals,
        outcome.f,
        started.elapsed().as_secs_f64(),
        outcome.stop
    );
    for r in &outcome.repairs {
        log::debug!("optimizer repair: {r}");
    }
    if cancelled() {
        return Err(vec![Diagnostic::error("E504", "the fit was cancelled")
            .with_note(format!(
                "It was stopped after {} iterations; nothing was estimated.",
                outcome.iterations
            ))]);
    }

    let mut theta = theta0.clone();
    let mut least_squares = None;
    match projected.as_mut() {
        Some((lm, p)) => {
            // The coefficients at the optimum of the others; from here on
            // every free coordinate is looked at.
            if let Some(t) = p.theta_at(&outcome.x) {
                theta = t;
            }
            least_squares = p.last().map(|ls| (*lm, ls.clone()));
            outcome.x = free.iter().map(|k| theta[*k]).collect();
            obj = ModelObjective::new(c, free.clone(), theta.clone());
            // When the mean is nonlinear in other parameters, Newton steps
            // on every coordinate polish the last digits the projected
            // problem leaves (its Hessian is a Schur complement, computed
            // with more rounding). A polish that fails or rises is dropped.
            let mu = c.statements[lm.statement].args[0];
            let partial = c.graph.info(mu).params.len() > lm.params.len();
            if partial && matches!(outcome.stop, StopReason::Converged { .. }) {
                let polish = optim::minimize(&mut obj, &outcome.x, &options);
                let rounding = RECESSION_REL_DECREASE * outcome.f.abs().max(1.0);
                log::debug!(
                    "polish on every coordinate: nll {:.12e}, {}",
                    polish.f,
                    polish.stop
                );
                if matches!(polish.stop, StopReason::Converged { .. })
                    && polish.f <= outcome.f + rounding
                {
                    outcome = outcome.followed_by(polish);
                    for (i, k) in free.iter().enumerate() {
                        theta[*k] = outcome.x[i];
                    }
                    least_squares = None;
                }
            }
        }
        None => {
            for (i, k) in free.iter().enumerate() {
                theta[*k] = outcome.x[i];
            }
        }
    }

    // A constrained parameter far out on its unconstrained scale may have
    // stopped in a region where the likelihood is flat to rounding (a
    // Student-t's nu or a negative binomial's phi started at 1e20 sits in
    // the limit family's likelihood). Where a point back toward the
    // interior is lower, the fit goes on from there.
    for _ in 0..MAX_INWARD_RESTARTS {
        if cancelled() || !look_inward {
            break;
        }
        let Some(lower) = lower_point_inward(&mut obj, &outcome.x, &constrained) else {
            break;
        };
        let restart = optim::minimize(&mut obj, &lower, &options);
        log::info!(
            "restarted from a lower point toward the interior: nll {:.12e} -> {:.12e}, {}",
            outcome.f,
            restart.f,
            restart.stop
        );
        if !(restart.f < outcome.f) {
            break;
        }
        outcome = outcome.followed_by(restart);
        for (i, k) in free.iter().enumerate() {
            theta[*k] = outcome.x[i];
        }
        least_squares = None;
    }

    // Exact Hessian at the optimum, on the free coordinates.
    let n_free = free.len();
    let mut grad = vec![0.0; n_free];
    let mut hess = DMatrix::zeros(n_free, n_free);
    let nll = optim::Objective::value_grad_hess(&mut obj, &outcome.x, &mut grad, &mut hess);
    let grad_norm = grad.iter().fold(0.0_f64, |m, g| m.max(g.abs()));

    let mut optimizer_converged = matches!(outcome.stop, StopReason::Converged { .. });

    let kinked = c.smoothing_index.is_some();
    if kinked {
        warnings.push(kink_warning(c));
    }
    // A collapsing scale makes the Hessian infinite; that is reported by
    // itself instead of as a Hessian problem.
    let collapsed = scale_collapse_warnings(c, &theta);
    let scale_collapsed = !collapsed.is_empty();
    // A collapse says more than a component on few rows: only one of them.
    let few_rows = if scale_collapsed {
        Vec::new()
    } else {
        few_rows_component_warnings(c, &theta)
    };
    let improper = improper_probability_warnings(c, &theta);
    let not_a_density = !improper.is_empty();
    warnings.extend(improper);
    if not_a_density {
        warnings.push(
            "no standard errors or intervals are reported: they come from the curvature of a log-likelihood at its maximum, and this objective is not a log-likelihood".to_string(),
        );
    }

    let curvature = match &least_squares {
        Some((lm, ls)) => linear_curvature(&free, &hess, lm, ls),
        None => analyse_hessian(&hess),
    };
    // For a kinked likelihood this is the Hessian of its last smoothing.
    let hessian_pd = n_free == 0 || curvature.is_pd;
    let names_along = |v: &[f64]| -> String {
        let mut involved: Vec<(f64, &str)> = (0..n_free)
            .filter(|i| v[*i].abs() > 0.1)
            .map(|i| (v[i].abs(), c.params[free[i]].name.as_str()))
            .collect();
        involved.sort_by(|a, b| b.0.total_cmp(&a.0));
        involved
            .iter()
            .map(|(_, n)| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };

    // Is this a minimum to the precision the NLL is known? The Newton
    // decrement g' H^-1 g / 2 is the decrease a Newton step would still
    // make; an optimizer that stopped early (a gradient test passed on a
    // badly conditioned problem) leaves a visible one.
    // Conversely, an optimizer that stopped without progress at a point
    // where the decrement is at the rounding level has found the minimum:
    // the gradient test could not be met only because rounding in the
    // gradient exceeds it (a badly conditioned design).
    // Where the Hessian is singular (collinear covariates) the optimizer's
    // own Newton-step rule never applies, so it stops without progress or
    // with its gradient test passed depending on rounding. The decrement
    // is then taken on the range of the Hessian, g' H^+ g / 2, and held to
    // the optimizer's rounding level of the NLL (PRED_REL_TOL, the rule it
    // would have applied to a positive definite Hessian): below it, the
    // point is as stationary as one where the gradient test passed, and is
    // judged the same way below (a direction along which the NLL keeps
    // decreasing, or a singular Hessian).
    let mut short_of_minimum = false;
    let stalled = matches!(
        outcome.stop,
        StopReason::NoProgress | StopReason::LineSearchFailed
    );
    let inverse = curvature
        .covariance
        .as_ref()
        .or(curvature.range_inverse.as_ref().filter(|_| stalled));
    if let (Some(cov), false) = (inverse, kinked || scale_collapsed) {
        let mut g = nalgebra::DVector::from_column_slice(&grad);
        // Least-squares coefficients are exact by construction; their
        // evaluated gradient X'r / sigma^2 is rounding amplified by the
        // design's conditioning and says nothing about convergence.
        if let Some((lm, _)) = &least_squares {
            for (i, k) in free.iter().enumerate() {
                if lm.params.contains(k) {
                    g[i] = 0.0;
                }
            }
        }
        let decrement = 0.5 * g.dot(&(cov * &g));
        log::debug!("Newton decrement at the estimate: {decrement:.3e} (nll {nll:.6e})");
        let tol = if curvature.covariance.is_some() {
            NEWTON_DECREMENT_REL_TOL
        } else {
            optim::PRED_REL_TOL
        };
        if decrement > tol * nll.abs().max(1.0) {
            short_of_minimum = optimizer_converged;
            if short_of_minimum {
                warnings.push(format!(
                    "the fit stopped short of the minimum: a Newton step from the estimate would still lower the NLL by {decrement:.3e}"
                ));
                warnings.extend(unbalanced_scales_warning(c, &free, &hess));
            }
        } else if stalled && decrement.is_finite() {
            // (a decrement that is not a number, from a Hessian that
            // underflowed, shows nothing about convergence)
            optimizer_converged = true;
            log::debug!("accepted as converged: the Newton decrement is at the rounding level");
        }
    }
    if !optimizer_converged {
        warnings.push(format!("the optimizer did not converge: {}", outcome.stop));
        // A fit stopped by a small --max-iter may just need more
        // iterations: a logistic slope on a column of order 1e20
        // converges in about 250.
        let given_room = outcome.stop != optim::StopReason::MaxIterations
            || outcome.iterations >= ROOM_FOR_SCALING;
        if given_room {
            warnings.extend(unbalanced_scales_warning(c, &free, &hess));
        }
    }

    // Does the NLL keep decreasing along the flattest direction? Then there
    // is no finite maximum (separation, or counts that are all zero).
    let mut diverging = false;
    // Only at a point the optimizer accepted as stationary: elsewhere the NLL
    // decreases along many directions simply because it is not minimised.
    if optimizer_converged && !kinked && !scale_collapsed && !short_of_minimum && n_free > 0 {
        if let Some(dir) = recession_direction(&mut obj, &outcome.x, nll, &curvature.flat_direction)
        {
            diverging = true;
            let heading = heading_along(c, &free, &dir);
            // The rows predicted with probability 1 where there are some,
            // else what such a divergence usually is for these outcomes.
            let note = match perfectly_fitted_rows(c, &theta, perfect_fit_level(nll)) {
                Some(desc) => format!(
                    " ({}{desc} predicted with probability 1)",
                    separation_prefix(c)
                ),
                None => divergence_note(c).to_string(),
            };
            warnings.push(format!(
                "no finite maximum: the likelihood keeps increasing as {heading}{note}; the estimates shown are where the optimizer stopped"
            ));
        }
    }
    // Rows of a binary or categorical outcome fitted with probability 1
    // (to rounding) while the Hessian is singular: separation.
    // A positive definite Hessian whose inverse gives standard errors a
    // thousand times the parameter's own size is the same flat likelihood
    // seen from a finite point (the NLL underflowed before the divergence
    // could be measured).
    let huge_se = curvature
        .covariance
        .as_ref()
        .is_some_and(|cov| (0..n_free).any(|i| is_huge_se(cov[(i, i)].sqrt(), outcome.x[i])));
    // Rows fitted with probability 1 at a point where the NLL still falls
    // steeply (a Poisson's log-rate started at -600, where the rows of 0 are
    // fitted exactly and the others pull with a gradient of 7) are a fit
    // that stopped far from its maximum, not a divergence: as parameters
    // run off, the gradient decays with the rows' remaining terms.
    let gradient_spent = grad_norm <= DIVERGENCE_GRAD_REL * nll.abs().max(1.0);
    if !diverging && (!hessian_pd || huge_se) && !kinked && !scale_collapsed && gradient_spent {
        if let Some(desc) = perfectly_fitted_rows(c, &theta, perfect_fit_level(nll)) {
            diverging = true;
            // Name the parameters the data do not bound: those with a huge
            // standard error, or else the flattest direction; each heading
            // the way the fit moved it from its start.
            let travel: Vec<f64> = free.iter().map(|k| theta[*k] - theta0[*k]).collect();
            let dir: Vec<f64> = match &curvature.covariance {
                Some(cov) if huge_se => (0..n_free)
                    .map(|i| {
                        if is_huge_se(cov[(i, i)].sqrt(), outcome.x[i]) {
                            travel[i].signum()
                        } else {
                            0.0
                        }
                    })
                    .collect(),
                _ => curvature.flat_direction.clone(),
            };
            let which = heading_from_start(
                c,
                &free,
                dir,
                &travel,
                curvature.min_scaled_eigenvalue.is_finite(),
            );
            warnings.push(format!(
                "no finite maximum: {}{desc} predicted with probability 1, as {which}; the estimates shown are where the optimizer stopped",
                separation_prefix(c)
            ));
        }
    }
    if diverging && short_of_minimum {
        short_of_minimum = false;
        warnings.retain(|w| !w.starts_with("the fit stopped short of the minimum"));
    }
    let mut min_eigenvalue = None;
    if !hessian_pd && !scale_collapsed && !diverging && !curvature.min_scaled_eigenvalue.is_finite()
    {
        warnings.push("the Hessian at the estimate is not finite: the estimates are at a point where the model's derivatives overflow, so no curvature and no standard errors can be computed".to_string());
    } else if !hessian_pd && !scale_collapsed && !diverging {
        min_eigenvalue = Some(curvature.min_scaled_eigenvalue);
        // Adding 0 turns a curvature of -0 into 0, which reads as what it is.
        let more: String = curvature
            .more_flat
            .iter()
            .map(|(v, dir)| format!("; the next, {:.3e}, involves {}", v + 0.0, names_along(dir)))
            .collect();
        // A kinked likelihood has no Hessian at the kink; that of its last
        // smoothing is positive definite at a minimum, where rows sit at
        // the kink.
        let hessian = if kinked {
            "the Hessian of the smoothed likelihood"
        } else {
            "the Hessian"
        };
        warnings.push(format!(
            "{hessian} is not positive definite (smallest eigenvalue of the Hessian scaled to unit diagonal: {:.3e}); the direction of that eigenvalue involves {}{more}: these parameters are not identified by the data, or the fit is not at a minimum",
            curvature.min_scaled_eigenvalue + 0.0,
            names_along(&curvature.flat_direction)
        ));
    }

    warnings.extend(collapsed);
    warnings.extend(few_rows);

    // Covariance on theta, then the delta method to the natural scale.
    // No standard errors where they would mean nothing: at a kink, along a
    // divergence, when a scale collapsed (the curvature is infinite), or
    // when the objective is not a likelihood.
    let cov_theta = if hessian_pd && !kinked && !diverging && !scale_collapsed && !not_a_density {
        curvature.covariance
    } else {
        None
    };
    let mut at_bound = false;
    // Whether parameter k enters a mixture's statement.
    let in_mixture = |k: usize| {
        c.statements
            .iter()
            .any(|s| !s.components.is_empty() && c.graph.info(s.term).params.contains(&(k as u32)))
    };
    // Parameters whose standard error on the unconstrained scale dwarfs
    // their value (the likelihood is flat along them where the optimizer
    // stopped, as a Student-t's nu started at 1e100).
    let mut flat: Vec<String> = Vec::new();
    let mut estimates = Vec::new();
    for (k, p) in c.params.iter().enumerate() {
        let value = p.transform.to_natural(theta[k]);
        let free_idx = free.iter().position(|f| *f == k);
        let mut se_theta = match (&cov_theta, free_idx) {
            (Some(cov), Some(i)) if cov[(i, i)] >= 0.0 => Some(cov[(i, i)].sqrt()),
            _ => None,
        };
        if let (Some(i), false) = (free_idx, scale_collapsed) {
            if let Some(edge) = edge_of(&mut obj, &outcome.x, nll, i, p.transform) {
                at_bound = true;
                // A Wald interval means nothing at a boundary maximum.
                se_theta = None;
                warnings.push(match edge {
                    Edge::Bound => format!(
                        "parameter `{}` is at the edge of its constraint {} (estimate {value:.6e}): the likelihood does not decrease toward the bound, so {}{}",
                        p.name,
                        p.transform.describe(),
                        if in_mixture(k) {
                            "the fit ends on the boundary; a mixture's likelihood often has several maxima, and other start values may find a higher one inside"
                        } else {
                            "the maximum is on the boundary, not inside"
                        },
                        limit_hint(c, k as u32, &theta),
                    ),
                    Edge::Infinity => format!(
                        "parameter `{}` grows without bound (estimate {value:.6e}): the likelihood keeps increasing as it grows, so it has no finite estimate{}",
                        p.name,
                        limit_hint(c, k as u32, &theta)
                    ),
                });
            }
        }
        // Only on a constrained parameter's unconstrained scale, which has
        // no units (a log or a logit): an unconstrained coefficient's
        // standard error depends on the data's units (NIST's Wampler5 has
        // certified ones 2e4 times its coefficients). And a huge standard
        // error alone is no verdict; a likelihood that does not change
        // within rounding over EDGE_PROBE either way is.
        let unit_free = !matches!(p.transform, crate::model::Transform::Identity);
        let huge = unit_free && se_theta.is_some_and(|se| is_huge_se(se, theta[k]));
        if let (true, Some(i)) = (huge, free_idx) {
            if flat_both_ways(&mut obj, &outcome.x, nll, i) {
                flat.push(format!("`{}`", p.name));
                se_theta = None;
            }
        }
        let std_error = se_theta.map(|se| p.transform.jacobian(theta[k]).abs() * se);
        // The Wald interval is taken on the unconstrained scale and mapped
        // back, so it respects the constraint (for `s > 0` it is
        // exp(log s +- z se(log s)), asymmetric like the likelihood).
        let (ci_lower, ci_upper) = match se_theta {
            Some(se) => {
                let a = p.transform.to_natural(theta[k] - Z_975 * se);
                let b = p.transform.to_natural(theta[k] + Z_975 * se);
                (Some(a.min(b)), Some(a.max(b)))
            }
            None => (None, None),
        };
        estimates.push(ParamEstimate {
            name: p.name.clone(),
            estimate: value,
            std_error,
            ci_lower,
            ci_upper,
        });
    }

    // At a boundary maximum a Newton step leaves the constraint: the
    // decrement then says nothing about convergence.
    if at_bound && short_of_minimum {
        short_of_minimum = false;
        warnings.retain(|w| !w.starts_with("the fit stopped short of the minimum"));
    }
    if !flat.is_empty() {
        warnings.push(format!(
            "the likelihood is flat along {} where the fit stopped: it does not change within rounding over {EDGE_PROBE} units either way on the unconstrained scale, so the data do not determine it there; the optimizer may have stopped far from a maximum (try other start values) or the parameter is not identified",
            flat.join(", ")
        ));
    }
    let converged = !not_a_density
        && flat.is_empty()
        && optimizer_converged
        && hessian_pd
        && !at_bound
        && !scale_collapsed
        && !diverging
        && !short_of_minimum;
    // In the order the status below names the problem.
    let outcome_class = if converged {
        FitOutcome::Converged
    } else if not_a_density || scale_collapsed || diverging {
        FitOutcome::NoMaximum
    } else if !optimizer_converged || short_of_minimum {
        FitOutcome::NotConverged
    } else {
        FitOutcome::NoMaximum
    };
    let status = if converged && stalled {
        "converged (Newton decrement at the rounding level; the gradient test is below rounding for this design)".to_string()
    } else if converged {
        outcome.stop.to_string()
    } else if not_a_density {
        "not a likelihood: the model's probabilities are not probabilities (see the warning)"
            .to_string()
    } else if scale_collapsed {
        "no maximum: a scale collapses to 0 and the likelihood is unbounded".to_string()
    } else if diverging {
        "no finite maximum: parameters diverge (see the warning)".to_string()
    } else if !optimizer_converged {
        format!("not converged: {}", outcome.stop)
    } else if short_of_minimum {
        "not converged: the optimizer stopped short of the minimum (see the warning)".to_string()
    } else if !flat.is_empty() {
        "no maximum found: the likelihood is flat along a parameter where the fit stopped (see the warning)".to_string()
    } else if at_bound {
        "no interior maximum: a parameter is at its bound or grows without bound (see the warning)"
            .to_string()
    } else {
        "not a strict minimum: the Hessian is not positive definite".to_string()
    };

    // Prior terms are part of the objective but not of the likelihood.
    let log_prior = prior_total(c, &theta).map(|p| -p);
    let data_nll = nll + log_prior.unwrap_or(0.0);
    let estimator = match (log_prior.is_some(), c.jacobian.is_some()) {
        (true, false) => "maximum a posteriori (MAP): likelihood times the priors, maximised on the natural scale of the parameters (no Jacobian term)",
        (true, true) => "maximum a posteriori (MAP) on the unconstrained scale: likelihood times the priors times the Jacobian of the parameter transforms",
        _ => "maximum likelihood",
    };
    if !c.transformed_observations.is_empty() {
        warnings.push(format!(
            "the left side {} is a transformed observation: the log-likelihood is that of the transformed values (no Jacobian term), not comparable with a model of the untransformed data",
            c.transformed_observations.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
        ));
    }

    let n = c.n_rows;
    let k = free.len();
    Ok(FitReport {
        estimator: estimator.to_string(),
        parameters: estimates,
        nll: data_nll,
        log_likelihood: -data_nll,
        log_prior,
        aic: 2.0 * k as f64 + 2.0 * data_nll,
        bic: k as f64 * (n as f64).ln() + 2.0 * data_nll,
        n,
        k,
        converged,
        outcome: outcome_class,
        status,
        not_a_likelihood: not_a_density,
        iterations: outcome.iterations,
        evaluations: outcome.n_evals + outcome.n_hess_evals,
        grad_norm,
        min_hessian_eigenvalue: min_eigenvalue,
        warnings,
        n_dropped: 0,
        theta,
    })
}

/// Iterations after which a fit stopped by the iteration limit has had the
/// room to balance badly scaled parameters (a logistic slope on a column of
/// order 1e20 took about 250; twice that), so unbalanced scales are worth
/// naming.
const ROOM_FOR_SCALING: usize = 500;

/// The largest gradient component, relative to max(1, |NLL|), at which
/// rows fitted with probability 1 are read as a divergence. Where
/// parameters run off, the rows not yet fitted exactly contribute terms of
/// the size of their remaining NLL, and the whole NLL is then small; a
/// gradient of 1e-3 |NLL| or more means the NLL still changes fast.
const DIVERGENCE_GRAD_REL: f64 = 1e-3;

/// Sum of the prior terms at theta (their negative log-densities), or None
/// when the model has no prior.
pub(crate) fn prior_total(c: &Compiled, theta: &[f64]) -> Option<f64> {
    let mut priors: Vec<_> = c
        .statements
        .iter()
        .filter(|s| s.is_prior)
        .map(|s| s.term)
        .collect();
    priors.extend(c.jacobian);
    if priors.is_empty() {
        return None;
    }
    let prog = crate::eval::Program::new(
        &c.graph,
        &priors,
        &[],
        &c.columns,
        crate::eval::ProgramOptions::default(),
    );
    let mut ws = crate::eval::Workspace::new(&prog);
    let mut out = vec![0.0; priors.len()];
    prog.eval(&mut ws, &c.columns, theta, &mut out);
    Some(out.iter().sum())
}
