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

mod objective;
mod report;

use nalgebra::{DMatrix, SymmetricEigen};

use crate::compile::Compiled;
use crate::diag::Diagnostic;
use crate::optim::{self, Method, Options, StopReason};

pub use objective::ModelObjective;
pub use report::{FitReport, ParamEstimate};

/// How to fit.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Start values on the natural scale, by element name (`beta[2]`) or by
    /// parameter name (applies to every element).
    pub starts: Vec<(String, f64)>,
    pub max_iter: usize,
    pub method: Method,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { starts: Vec::new(), max_iter: 1000, method: Method::Auto }
    }
}

/// Two-sided 95% normal quantile, Phi^-1(0.975).
const Z_975: f64 = 1.959_963_984_540_054;

/// |theta| beyond this puts a transformed parameter within exp(-30) ~ 1e-13
/// (relative to its scale) of its bound: it is reported as at the bound.
const THETA_AT_BOUND: f64 = 30.0;

/// A Hessian eigenvalue below this fraction of the largest counts as zero:
/// about sqrt(machine epsilon), since the Hessian is evaluated at a point
/// known only to about that relative precision.
const EIGEN_REL_TOL: f64 = 1e-9;

/// A scale argument smaller than this fraction of the observations' spread
/// means the fit reproduces the data exactly and the scale is collapsing.
const SCALE_COLLAPSE_REL: f64 = 1e-7;

/// The first smoothing width of kinks, relative to the residual scale, and
/// the last: 1e-9 makes the smoothed NLL differ from the kinked one by at
/// most about 1e-9 relative, below the reported precision.
const SMOOTHING_START: f64 = 1e-1;
const SMOOTHING_END: f64 = 1e-9;

/// A scale for residuals: the mean absolute deviation of the observations
/// of the likelihood statements from their mean (1 if that is 0).
fn residual_scale(c: &Compiled, theta: &[f64]) -> f64 {
    let mut scale: f64 = 0.0;
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        let y = c.eval_rows(&[s.y], theta).pop().unwrap_or_default();
        let n = y.len().max(1) as f64;
        let mean = y.iter().sum::<f64>() / n;
        let mad = y.iter().map(|v| (v - mean).abs()).sum::<f64>() / n;
        if mad.is_finite() {
            scale = scale.max(mad);
        }
    }
    if scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// Resolves start values: declared ones, then the overrides in `opts`.
pub fn start_theta(c: &Compiled, opts: &FitOptions) -> Result<Vec<f64>, Diagnostic> {
    let mut natural: Vec<f64> = c.params.iter().map(|p| p.start).collect();
    for (name, value) in &opts.starts {
        let mut matched = false;
        for (i, p) in c.params.iter().enumerate() {
            if p.name == *name || p.param == *name {
                if !p.transform.admits(*value) {
                    return Err(Diagnostic::error(
                        "E501",
                        format!("start value {value} for `{name}` is outside its constraint {}", p.transform.describe()),
                    )
                    .with_help("Choose a start value strictly inside the constraint."));
                }
                natural[i] = *value;
                matched = true;
            }
        }
        if !matched {
            let names: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
            let mut d = Diagnostic::error("E502", format!("--start names an unknown parameter `{name}`"));
            if let Some(s) = crate::diag::suggest::closest(name, names.iter().copied()) {
                d = d.with_help(format!("Did you mean `{s}`?"));
            } else {
                d = d.with_note(format!("The parameters are: {}.", names.join(", ")));
            }
            return Err(d);
        }
    }
    let mut theta: Vec<f64> = c.params.iter().zip(natural).map(|(p, x)| p.transform.to_theta(x)).collect();
    // The smoothing width of kinks, if the model has any; set by `fit`.
    theta.push(0.0);
    Ok(theta)
}

/// Fits the model. Errors are problems that prevent fitting at all (the NLL
/// is not finite at the start); a fit that does not converge is a report
/// with `converged: false`, not an error.
pub fn fit(c: &Compiled, opts: &FitOptions) -> Result<FitReport, Vec<Diagnostic>> {
    let theta0 = start_theta(c, opts).map_err(|d| vec![d])?;

    // Parameters the NLL does not depend on stay at their start values.
    let nll_params = &c.graph.info(c.nll).params;
    let free: Vec<usize> = (0..c.n_params()).filter(|k| nll_params.binary_search(&(*k as u32)).is_ok()).collect();
    let mut warnings: Vec<String> = c.warnings.iter().map(|d| d.message.clone()).collect();
    for (k, p) in c.params.iter().enumerate() {
        if !free.contains(&k) {
            warnings.push(format!(
                "parameter `{}` is not used by the likelihood; it stays at its start value {} and has no standard error",
                p.name, p.start
            ));
        }
    }

    let mut theta0 = theta0;
    let smoothing_scale = c.smoothing_index.map(|si| {
        let scale = residual_scale(c, &theta0);
        theta0[si] = scale * SMOOTHING_START;
        scale
    });
    let mut obj = ModelObjective::new(c, free.clone(), theta0.clone());
    let x0: Vec<f64> = free.iter().map(|k| theta0[*k]).collect();
    let f0 = obj.nll_at(&x0);
    if !f0.is_finite() {
        return Err(vec![objective::explain_nonfinite_start(c, &theta0)]);
    }

    let options = Options { max_iter: opts.max_iter, method: opts.method, ..Options::default() };
    let started = std::time::Instant::now();
    let mut outcome = optim::minimize(&mut obj, &x0, &options);
    if let (Some(si), Some(scale)) = (c.smoothing_index, smoothing_scale) {
        // Continuation: shrink the smoothing width of the kinks by a factor
        // of 10 per stage, each stage starting from the previous optimum.
        let mut delta = scale * SMOOTHING_START;
        let mut iterations = outcome.iterations;
        let mut evals = outcome.n_evals;
        while delta > scale * SMOOTHING_END {
            delta /= 10.0;
            obj.set_theta(si, delta);
            outcome = optim::minimize(&mut obj, &outcome.x.clone(), &options);
            iterations += outcome.iterations;
            evals += outcome.n_evals;
            log::debug!("smoothing width {delta:.3e}: nll {:.12e}, {}", outcome.f, outcome.stop);
        }
        theta0[si] = delta;
        outcome.iterations = iterations;
        outcome.n_evals = evals;
    }
    log::info!(
        "fit: {} iterations, {} evaluations, nll {:.10e}, {:.3} s, {}",
        outcome.iterations,
        outcome.n_evals,
        outcome.f,
        started.elapsed().as_secs_f64(),
        outcome.stop
    );
    for r in &outcome.repairs {
        log::debug!("optimizer repair: {r}");
    }

    let mut theta = theta0.clone();
    for (i, k) in free.iter().enumerate() {
        theta[*k] = outcome.x[i];
    }

    // Exact Hessian at the optimum, on the free coordinates.
    let n_free = free.len();
    let mut grad = vec![0.0; n_free];
    let mut hess = DMatrix::zeros(n_free, n_free);
    let nll = optim::Objective::value_grad_hess(&mut obj, &outcome.x, &mut grad, &mut hess);
    let grad_norm = grad.iter().fold(0.0_f64, |m, g| m.max(g.abs()));

    let optimizer_converged = matches!(outcome.stop, StopReason::Converged { .. });
    if !optimizer_converged {
        warnings.push(format!("the optimizer did not converge: {}", outcome.stop));
    }

    // Positive definiteness, and which parameters a flat direction involves.
    if c.smoothing_index.is_some() {
        warnings.push(
            "the likelihood has a kink (the absolute value in a Laplace density): it was minimised by smoothing the kink and shrinking the smoothing to 1e-9 of the residual scale; the Hessian is not defined at the kink, so no standard errors are reported (a profile likelihood or a bootstrap gives intervals)".to_string(),
        );
    }
    let eig = SymmetricEigen::new(hess.clone());
    let max_eig = eig.eigenvalues.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    // A collapsing scale makes the Hessian infinite; that is reported by
    // itself instead of as a Hessian problem.
    let collapsed = scale_collapse_warnings(c, &theta);
    let scale_collapsed = !collapsed.is_empty();
    let kinked = c.smoothing_index.is_some();
    let mut hessian_pd = kinked || n_free == 0 || eig.eigenvalues.iter().all(|v| *v > EIGEN_REL_TOL * max_eig);
    if !hess.iter().all(|v| v.is_finite()) {
        hessian_pd = false;
    }
    let mut min_eigenvalue = None;
    if !hessian_pd && n_free > 0 && !kinked && !scale_collapsed {
        let (imin, vmin) = eig
            .eigenvalues
            .iter()
            .enumerate()
            .fold((0, f64::INFINITY), |acc, (i, v)| if *v < acc.1 { (i, *v) } else { acc });
        min_eigenvalue = Some(vmin);
        let v = eig.eigenvectors.column(imin);
        let mut involved: Vec<(f64, &str)> = (0..n_free)
            .filter(|i| v[*i].abs() > 0.1)
            .map(|i| (v[i].abs(), c.params[free[i]].name.as_str()))
            .collect();
        involved.sort_by(|a, b| b.0.total_cmp(&a.0));
        let names: Vec<String> = involved.iter().map(|(_, n)| format!("`{n}`")).collect();
        warnings.push(format!(
            "the Hessian is not positive definite (smallest eigenvalue {vmin:.3e}); the direction of that eigenvalue involves {}: these parameters are not identified by the data, or the fit is not at a minimum",
            names.join(", ")
        ));
    }

    warnings.extend(collapsed);

    // Covariance on theta, then the delta method to the natural scale.
    let cov_theta = if hessian_pd && !kinked { hess.clone().try_inverse() } else { None };
    let mut at_bound = false;
    let mut estimates = Vec::new();
    for (k, p) in c.params.iter().enumerate() {
        let value = p.transform.to_natural(theta[k]);
        let free_idx = free.iter().position(|f| *f == k);
        let std_error = match (&cov_theta, free_idx) {
            (Some(cov), Some(i)) => {
                let var = cov[(i, i)];
                if var >= 0.0 {
                    Some(p.transform.jacobian(theta[k]).abs() * var.sqrt())
                } else {
                    None
                }
            }
            _ => None,
        };
        if p.transform != crate::model::Transform::Identity && theta[k].abs() > THETA_AT_BOUND {
            at_bound = true;
            warnings.push(format!(
                "parameter `{}` is at the edge of its constraint {} (estimate {value:.6e}): the likelihood keeps increasing toward the bound",
                p.name,
                p.transform.describe()
            ));
        }
        let (ci_lower, ci_upper) = match std_error {
            Some(se) => (Some(value - Z_975 * se), Some(value + Z_975 * se)),
            None => (None, None),
        };
        estimates.push(ParamEstimate { name: p.name.clone(), estimate: value, std_error, ci_lower, ci_upper });
    }


    let converged = optimizer_converged && hessian_pd && !at_bound && !scale_collapsed;
    let status = if converged {
        outcome.stop.to_string()
    } else if scale_collapsed {
        "no maximum: a scale collapses to 0 and the likelihood is unbounded".to_string()
    } else if !optimizer_converged {
        format!("not converged: {}", outcome.stop)
    } else if at_bound {
        "no interior maximum: a parameter is at its bound".to_string()
    } else {
        "not a strict minimum: the Hessian is not positive definite".to_string()
    };

    let n = c.n_rows;
    let k = free.len();
    Ok(FitReport {
        parameters: estimates,
        nll,
        log_likelihood: -nll,
        aic: 2.0 * k as f64 + 2.0 * nll,
        bic: k as f64 * (n as f64).ln() + 2.0 * nll,
        n,
        k,
        converged,
        status,
        iterations: outcome.iterations,
        evaluations: outcome.n_evals,
        grad_norm,
        min_hessian_eigenvalue: min_eigenvalue,
        warnings,
        n_dropped: 0,
        theta,
    })
}

/// A warning for each likelihood statement whose scale argument is collapsing
/// toward 0 relative to the spread of its observations.
fn scale_collapse_warnings(c: &Compiled, theta: &[f64]) -> Vec<String> {
    let mut out = Vec::new();
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        let Some(scale_idx) = s.family.scale_arg else { continue };
        let rows = c.eval_rows(&[s.args[scale_idx], s.y], theta);
        let (scale, y) = (&rows[0], &rows[1]);
        let max_scale = scale.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let spread = y.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
        if max_scale < SCALE_COLLAPSE_REL * spread {
            out.push(format!(
                "the scale `{}` of `{}` collapses toward 0 (largest value {max_scale:.3e}): the mean reproduces the data exactly, so the likelihood grows without bound and the scale has no estimate; the other estimates are the exact-fit values",
                s.family.args[scale_idx], s.family.name
            ));
        }
    }
    out
}
