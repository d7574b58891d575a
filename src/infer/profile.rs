//! Profile-likelihood intervals.
//!
//! Inputs: a compiled model and its fit report (the estimate theta-hat and
//! the minimum NLL). Output: for each requested parameter element, the set
//! of values v where
//!
//!   2 * (NLL_profile(v) - NLL_min) <= q,   q = chi-square(1) quantile at the level,
//!   NLL_profile(v) = min over the other free parameters of NLL(v, others),
//!
//! which by Wilks' theorem covers the true value with about the stated
//! probability. Unlike the Wald interval it follows the likelihood's shape
//! (asymmetric near a bound, invariant under reparameterisation).
//!
//! # Method
//!
//! The search runs on the unconstrained coordinate theta_k of the parameter
//! (a monotone transform of the natural value, so the interval maps back
//! end to end). On each side of the estimate it steps outward in units of
//! the Wald standard error of theta_k, re-optimizing the other parameters
//! at each step, warm-started from the previous step's optimum, until the
//! deviance 2 * (NLL_profile - NLL_min) exceeds q; Brent's method then finds
//! the crossing inside that bracket (`optim::root`). No crossing within
//! [`SEARCH_OFFSETS`] is reported as unbounded; an inner optimization that
//! does not converge makes that bound "failed", with the reason.
//!
//! With priors in the model, the objective profiled is the one the fit
//! maximised (likelihood times priors), so the interval is a profile of the
//! posterior mode, not of the likelihood alone.

use serde::Serialize;

use super::report::fmt_num;
use super::{free_params, FitReport, ModelObjective};
use crate::compile::Compiled;
use crate::diag::Diagnostic;
use crate::optim::root::brent_zero;
use crate::optim::{self, Method, Objective, Options, StopReason};

/// How to profile.
#[derive(Debug, Clone)]
pub struct ProfileOptions {
    /// Confidence level in (0, 1).
    pub level: f64,
    /// Iteration limit of each inner optimization.
    pub max_iter: usize,
    pub method: Method,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            level: 0.95,
            max_iter: super::DEFAULT_MAX_ITER,
            method: Method::Auto,
        }
    }
}

/// One end of a profile interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProfileBound {
    /// The deviance crosses the threshold at `value` (natural scale).
    Found { value: f64 },
    /// The deviance stays below the threshold as far as the search went
    /// (`searched_to`, natural scale): the likelihood is too flat on this
    /// side to bound the parameter at this level. `reaches_bound` when this
    /// side heads for the parameter's constraint (`s > 0` going to 0): the
    /// interval then extends to the bound.
    Unbounded {
        searched_to: f64,
        reaches_bound: bool,
    },
    /// The profile could not be computed on this side.
    Failed { reason: String },
}

impl ProfileBound {
    /// The bound's value, when one was found.
    pub fn value(&self) -> Option<f64> {
        match self {
            ProfileBound::Found { value } => Some(*value),
            _ => None,
        }
    }
}

/// One evaluated point of a profile: the natural value and the deviance
/// 2 * (NLL_profile - NLL_min) there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProfilePoint {
    pub value: f64,
    pub deviance: f64,
}

/// The profile-likelihood interval of one parameter element.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileInterval {
    /// The element's reported name (`sigma`, `beta[2]`, `u[north]`).
    pub name: String,
    pub level: f64,
    /// The deviance threshold q: the chi-square(1) quantile at `level`.
    pub threshold: f64,
    pub estimate: f64,
    pub lower: ProfileBound,
    pub upper: ProfileBound,
    /// The Wald interval at the same level, computed on the unconstrained
    /// scale and mapped back (as in the fit report), when the fit has a
    /// standard error for this element.
    pub wald_lower: Option<f64>,
    pub wald_upper: Option<f64>,
    /// Every point where the profile was evaluated, by increasing value,
    /// the estimate (deviance 0) included.
    pub curve: Vec<ProfilePoint>,
    /// Remarks in full sentences: a profile below the fit's minimum, a
    /// bound at the edge of the region where the likelihood is finite.
    pub notes: Vec<String>,
}

/// The chi-square quantile with one degree of freedom at `level`, the
/// deviance threshold of a profile interval.
///
/// # Example: the 95% threshold
///
/// ```
/// let q = nll::infer::chi_square_1_quantile(0.95);
/// assert!((q - 3.841458820694124).abs() < 1e-9);
/// ```
pub fn chi_square_1_quantile(level: f64) -> f64 {
    // A chi-square(1) is a squared normal, P(Z^2 <= q) = erf(sqrt(q / 2)),
    // so q = 2 erfinv(level)^2. Written so, it keeps its relative accuracy
    // at small levels, where the chi-square's own inverse (a root search to
    // an absolute tolerance) stopped near 9.3e-10 (2^-30) for any level
    // below about 1e-5 (the 1e-9 quantile is 1.6e-18).
    let z = statrs::function::erf::erf_inv(level);
    2.0 * z * z
}

/// Steps of the outward search, in units of the Wald standard error of
/// theta_k (or of the fallback step when there is none). Half-unit steps up
/// to 3 cover a well-behaved profile, whose crossing at 95% is near 1.96,
/// with a few points each side for the plot; the steps then grow
/// geometrically to 100 units, where a likelihood that has still not risen
/// by q/2 is called flat on that side.
pub const SEARCH_OFFSETS: [f64; 21] = [
    0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 32.0, 40.0,
    50.0, 64.0, 80.0, 100.0,
];

/// Without a standard error, the search unit on theta is this fraction of
/// max(1, |theta_k|): a tenth is small enough to resolve the profile of a
/// parameter known to one significant digit and large enough to reach
/// 10 * max(1, |theta_k|) within [`SEARCH_OFFSETS`].
const FALLBACK_STEP_REL: f64 = 0.1;

/// The largest search unit on the theta of a constrained parameter (a log
/// or logit scale): with [`SEARCH_OFFSETS`] up to 100 units the search then
/// spans a factor of at most e^50 ~ 5e21 in the distance to the bound,
/// beyond any meaningful value and short of overflow; a poorly identified
/// parameter would otherwise have a standard error that sends it to
/// exp(1000).
const MAX_TRANSFORMED_UNIT: f64 = 0.5;

/// Brent's tolerance on theta_k, relative to the search unit (about one
/// standard error): 1e-10 of a standard error is far below any precision a
/// user reads, and well above the root's noise, which is the NLL's rounding
/// (~1e-13 relative) divided by the deviance's slope at the crossing
/// (~sqrt(q) / se), i.e. ~1e-13 * NLL standard errors.
const ROOT_X_REL_TOL: f64 = 1e-10;

/// Function evaluations allowed to Brent's method per bound; it needs about
/// 10 for the tolerance above, and bisection alone about 35.
const ROOT_MAX_EVALS: usize = 100;

/// An inner optimization that stops without progress (rounding defeats
/// the gradient test) is still accepted when its relative gradient
/// max_i |g_i| max(1, |x_i|) / max(1, |f|) is below this: the decrease still
/// available, about g'H^-1 g / 2, is then many orders below the threshold
/// q/2 ~ 2 on any reasonably scaled problem.
const STALLED_GRAD_REL_TOL: f64 = 1e-6;

/// A profile NLL below the fit's minimum by more than this (relative to
/// max(1, |NLL_min|)) means the fit did not find the maximum; smaller
/// differences are the inner optimizations' rounding.
const BELOW_MIN_REL_TOL: f64 = 1e-9;

/// Where Brent's method has converged on theta yet the deviance there is
/// still away from the threshold by more than this fraction of it, the
/// deviance jumps across the threshold instead of crossing it: a smooth
/// profile at the tolerance above misses it by ~1e-10 of q.
const EDGE_JUMP_TOL: f64 = 1e-3;

/// Resolves `--profile` names to coordinates of theta: `all` (every free
/// element), element names (`beta[2]`), or declared parameter names
/// (`beta`: every element). Order follows the model; duplicates are kept once.
///
/// # Errors
///
/// E506 for a name that is no parameter (with a suggestion), E507 for a
/// parameter the likelihood does not depend on.
pub fn resolve_profile_names(c: &Compiled, names: &[String]) -> Result<Vec<usize>, Diagnostic> {
    let free = free_params(c);
    if names.iter().any(|n| n == "all") {
        return Ok(free);
    }
    let mut chosen = Vec::new();
    for name in names {
        let matches: Vec<usize> = (0..c.n_params())
            .filter(|k| c.params[*k].name == *name || c.params[*k].param == *name)
            .collect();
        if matches.is_empty() {
            let mut candidates: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
            candidates.extend(c.params.iter().map(|p| p.param.as_str()));
            candidates.push("all");
            candidates.sort_unstable();
            candidates.dedup();
            let mut d = Diagnostic::error(
                "E506",
                format!("--profile names an unknown parameter `{name}`"),
            );
            d = match crate::diag::suggest::closest(name, candidates.iter().copied()) {
                Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                None => d.with_help("Name a parameter or an element such as `beta[2]`, or `all`."),
            };
            let listed: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
            return Err(d.with_note(format!("The parameters are: {}.", listed.join(", "))));
        }
        for k in matches {
            if !free.contains(&k) {
                return Err(Diagnostic::error(
                    "E507",
                    format!(
                        "--profile names `{}`, which the likelihood does not depend on",
                        c.params[k].name
                    ),
                )
                .with_primary(c.params[k].span, "declared here, used by no statement")
                .with_note("Its profile would be flat: the data say nothing about it."));
            }
            if !chosen.contains(&k) {
                chosen.push(k);
            }
        }
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Profile-likelihood intervals of the elements `targets` (coordinates of
/// theta, from [`resolve_profile_names`]) around the fit in `report`.
///
/// Never fails as a whole: a side that cannot be computed is a
/// [`ProfileBound::Failed`] with the reason.
///
/// # Panics
///
/// If `opts.level` is not inside (0, 1) (the command line validates it).
pub fn profile(
    c: &Compiled,
    report: &FitReport,
    targets: &[usize],
    opts: &ProfileOptions,
) -> Vec<ProfileInterval> {
    assert!(
        opts.level > 0.0 && opts.level < 1.0,
        "profile level {} outside (0, 1)",
        opts.level
    );
    let q = chi_square_1_quantile(opts.level);
    let free = free_params(c);
    let theta_hat = report.theta.clone();

    // The minimum of the objective itself (priors included), which is what
    // the inner optimizations minimise too.
    let mut full = ModelObjective::new(c, free.clone(), theta_hat.clone());
    let x_hat: Vec<f64> = free.iter().map(|k| theta_hat[*k]).collect();
    let nll_min = full.nll_at(&x_hat);

    targets
        .iter()
        .map(|&k| {
            // The profile of an objective that is not a likelihood covers
            // nothing: no interval, like the Wald one the fit omits.
            if report.not_a_likelihood {
                let estimate = c.params[k].transform.to_natural(theta_hat[k]);
                let failed = ProfileBound::Failed {
                    reason: "the fit is not a likelihood at its estimate (see its status)"
                        .to_string(),
                };
                return ProfileInterval {
                    name: c.params[k].name.clone(),
                    level: opts.level,
                    threshold: q,
                    estimate,
                    lower: failed.clone(),
                    upper: failed,
                    wald_lower: None,
                    wald_upper: None,
                    curve: vec![ProfilePoint {
                        value: estimate,
                        deviance: 0.0,
                    }],
                    notes: Vec::new(),
                };
            }
            let std_error = report
                .parameters
                .get(k)
                .and_then(|p| p.std_error)
                .filter(|se| se.is_finite() && *se > 0.0);
            let profiler = Profiler {
                c,
                k,
                others: free.iter().copied().filter(|j| *j != k).collect(),
                theta_hat: &theta_hat,
                nll_min,
                level: opts.level,
                fit_converged: report.converged,
                has_priors: report.log_prior.is_some(),
                threshold: q,
                options: Options {
                    max_iter: opts.max_iter,
                    method: opts.method,
                    ..Options::default()
                },
            };
            profiler.run(std_error)
        })
        .collect()
}

/// The profile of one coordinate k.
struct Profiler<'a> {
    c: &'a Compiled,
    k: usize,
    /// The free coordinates other than k, re-optimized at each point.
    others: Vec<usize>,
    theta_hat: &'a [f64],
    nll_min: f64,
    level: f64,
    threshold: f64,
    options: Options,
    fit_converged: bool,
    has_priors: bool,
}

/// The profile at one value t of theta_k.
#[derive(Clone)]
struct Eval {
    t: f64,
    /// 2 * (NLL_profile(t) - NLL_min); +inf where the NLL is not finite.
    deviance: f64,
    /// The optimum of the other coordinates, for warm starts.
    x: Vec<f64>,
}

impl Profiler<'_> {
    fn run(&self, std_error: Option<f64>) -> ProfileInterval {
        let p = &self.c.params[self.k];
        let t_hat = self.theta_hat[self.k];
        let mut obj = ModelObjective::new(self.c, self.others.clone(), self.theta_hat.to_vec());

        // The search unit on theta: the Wald standard error of theta_k,
        // from the natural one by the delta method, se_theta = se / |dx/dtheta|.
        let se_theta = std_error
            .map(|se| se / p.transform.jacobian(t_hat).abs())
            .filter(|s| s.is_finite() && *s > 0.0);
        let mut unit = se_theta.unwrap_or(FALLBACK_STEP_REL * t_hat.abs().max(1.0));
        if p.transform != crate::model::Transform::Identity {
            unit = unit.min(MAX_TRANSFORMED_UNIT);
        }

        let x_hat: Vec<f64> = self.others.iter().map(|j| self.theta_hat[*j]).collect();
        let start = Eval {
            t: t_hat,
            deviance: 0.0,
            x: x_hat,
        };
        let mut evals = vec![start.clone()];
        let mut notes = Vec::new();
        let below = self.side(&mut obj, &start, -unit, &mut evals, &mut notes);
        let above = self.side(&mut obj, &start, unit, &mut evals, &mut notes);

        // The deviance must not go below 0 by more than rounding.
        let tol = 2.0 * BELOW_MIN_REL_TOL * self.nll_min.abs().max(1.0);
        if let Some(lowest) = evals
            .iter()
            .filter(|e| e.deviance < -tol)
            .min_by(|a, b| a.deviance.total_cmp(&b.deviance))
        {
            notes.push(format!(
                "the profile reaches an NLL lower than the fit's by {:.3e} at {} = {}: the fit is not at the maximum, so this interval is relative to a point that is not the optimum",
                -lowest.deviance / 2.0,
                p.name,
                fmt_num(p.transform.to_natural(lowest.t))
            ));
        }
        if self.has_priors {
            notes.push("the model has priors: this profiles the objective the fit maximised (likelihood times priors), not the likelihood alone".to_string());
        }
        if !self.fit_converged {
            notes.push("the fit did not converge (see its status): the profile is taken around the point where it stopped".to_string());
        }

        // Map theta bounds to the natural scale; a decreasing transform
        // (`< U`) swaps the ends.
        // A side that heads for the constraint's bound: theta -> -inf for
        // `> L` and `< U`, either side for an interval.
        use crate::model::Transform;
        let toward_bound = |t: f64| match p.transform {
            Transform::Identity => false,
            Transform::Lower(_) | Transform::Upper(_) => t < t_hat,
            Transform::Interval(..) => true,
        };
        let natural = |b: ThetaBound| match b {
            ThetaBound::Found(t) => ProfileBound::Found {
                value: p.transform.to_natural(t),
            },
            ThetaBound::Unbounded(t) => ProfileBound::Unbounded {
                searched_to: p.transform.to_natural(t),
                reaches_bound: toward_bound(t),
            },
            ThetaBound::Failed(reason) => ProfileBound::Failed { reason },
        };
        let increasing = p.transform.jacobian(t_hat) > 0.0;
        let (lower, upper) = if increasing {
            (natural(below), natural(above))
        } else {
            (natural(above), natural(below))
        };

        // Wald at the same level: theta-hat +- z se on theta, mapped back,
        // with z = sqrt(q) because a chi-square(1) is a squared normal.
        let z = self.threshold.sqrt();
        let (wald_lower, wald_upper) = match se_theta {
            Some(se) => {
                let a = p.transform.to_natural(t_hat - z * se);
                let b = p.transform.to_natural(t_hat + z * se);
                (Some(a.min(b)), Some(a.max(b)))
            }
            _ => (None, None),
        };

        let mut curve: Vec<ProfilePoint> = evals
            .iter()
            .filter(|e| e.deviance.is_finite())
            .map(|e| ProfilePoint {
                value: p.transform.to_natural(e.t),
                deviance: e.deviance,
            })
            .collect();
        curve.sort_by(|a, b| a.value.total_cmp(&b.value));
        curve.dedup_by(|a, b| a.value == b.value);

        ProfileInterval {
            name: p.name.clone(),
            level: self.level,
            threshold: self.threshold,
            estimate: p.transform.to_natural(t_hat),
            lower,
            upper,
            wald_lower,
            wald_upper,
            curve,
            notes,
        }
    }

    /// Searches one side: steps of `unit` (signed) times [`SEARCH_OFFSETS`]
    /// until the deviance exceeds the threshold, then Brent's method on the
    /// last step.
    fn side(
        &self,
        obj: &mut ModelObjective,
        start: &Eval,
        unit: f64,
        evals: &mut Vec<Eval>,
        notes: &mut Vec<String>,
    ) -> ThetaBound {
        let name = &self.c.params[self.k].name;
        let mut inside = start.clone();
        for offset in SEARCH_OFFSETS {
            let t = start.t + offset * unit;
            let e = match self.eval(obj, t, &inside.x) {
                Ok(e) => e,
                Err(reason) => return ThetaBound::Failed(reason),
            };
            evals.push(e.clone());
            if e.deviance > self.threshold {
                return self.crossing(obj, inside, e, unit.abs(), evals, notes);
            }
            inside = e;
        }
        log::debug!(
            "profile of `{name}`: no crossing up to theta = {}",
            inside.t
        );
        ThetaBound::Unbounded(inside.t)
    }

    /// Brent's method on deviance - threshold between `inside` (below the
    /// threshold) and `outside` (above it).
    fn crossing(
        &self,
        obj: &mut ModelObjective,
        inside: Eval,
        outside: Eval,
        unit: f64,
        evals: &mut Vec<Eval>,
        notes: &mut Vec<String>,
    ) -> ThetaBound {
        let p = &self.c.params[self.k];
        let mut failure: Option<String> = None;
        // Warm start each evaluation from the evaluated point nearest in t.
        let mut known: Vec<Eval> = vec![inside.clone(), outside.clone()];
        let zero = brent_zero(
            |t| {
                if failure.is_some() {
                    return f64::NAN;
                }
                let warm = known
                    .iter()
                    .filter(|e| e.deviance.is_finite())
                    .min_by(|a, b| (a.t - t).abs().total_cmp(&(b.t - t).abs()))
                    .map(|e| e.x.clone())
                    .unwrap_or_else(|| inside.x.clone());
                match self.eval(obj, t, &warm) {
                    Ok(e) => {
                        let d = e.deviance - self.threshold;
                        known.push(e.clone());
                        evals.push(e);
                        d
                    }
                    Err(reason) => {
                        failure = Some(reason);
                        f64::NAN
                    }
                }
            },
            inside.t,
            outside.t,
            inside.deviance - self.threshold,
            outside.deviance - self.threshold,
            ROOT_X_REL_TOL * unit,
            ROOT_MAX_EVALS,
        );
        if let Some(reason) = failure {
            return ThetaBound::Failed(reason);
        }
        if !zero.converged {
            return ThetaBound::Failed(format!(
                "the crossing of the threshold was not located within {ROOT_MAX_EVALS} evaluations"
            ));
        }
        // A crossing where the deviance jumps: to an infinite NLL (the edge
        // of the region where the likelihood is finite), or between two
        // optima of the re-fitted parameters. Either way not a smooth rise.
        if zero.fx.abs() > EDGE_JUMP_TOL * self.threshold {
            let cause = if zero.fx < 0.0 && !outside.deviance.is_finite() {
                "the likelihood is not finite beyond it (an edge of the support)"
            } else {
                "the re-fitted parameters switch to another optimum there"
            };
            notes.push(format!(
                "the profile of `{}` jumps across the threshold at {} instead of rising through it: {cause}",
                p.name,
                fmt_num(p.transform.to_natural(zero.x))
            ));
        }
        ThetaBound::Found(zero.x)
    }

    /// The profile deviance at theta_k = t, re-optimizing the others from
    /// `warm`.
    fn eval(&self, obj: &mut ModelObjective, t: f64, warm: &[f64]) -> Result<Eval, String> {
        let p = &self.c.params[self.k];
        obj.set_theta(self.k, t);
        let infinite = || Eval {
            t,
            deviance: f64::INFINITY,
            x: warm.to_vec(),
        };
        if self.others.is_empty() {
            let f = obj.nll_at(&[]);
            return Ok(if f.is_finite() {
                Eval {
                    t,
                    deviance: 2.0 * (f - self.nll_min),
                    x: Vec::new(),
                }
            } else {
                infinite()
            });
        }
        let mut outcome = optim::minimize(obj, warm, &self.options);
        if outcome.stop == StopReason::NonFiniteStart {
            // The warm start may be infeasible at this t; the fit's own
            // estimates of the others are a second chance.
            let x_hat: Vec<f64> = self.others.iter().map(|j| self.theta_hat[*j]).collect();
            let mut g = vec![0.0; x_hat.len()];
            if obj.value_grad(&x_hat, &mut g).is_finite() {
                log::debug!(
                    "profile of `{}` at {}: the warm start is infeasible, restarting from the estimates",
                    p.name,
                    p.transform.to_natural(t)
                );
                outcome = optim::minimize(obj, &x_hat, &self.options);
            }
        }
        let accepted = match outcome.stop {
            StopReason::Converged { .. } => true,
            StopReason::NoProgress | StopReason::LineSearchFailed => {
                let rel = outcome
                    .grad
                    .iter()
                    .zip(&outcome.x)
                    .fold(0.0_f64, |m, (g, x)| m.max(g.abs() * x.abs().max(1.0)))
                    / outcome.f.abs().max(1.0);
                rel <= STALLED_GRAD_REL_TOL
            }
            // The NLL is not finite anywhere tried with theta_k = t: this
            // value is outside the region where the likelihood is finite.
            StopReason::NonFiniteStart => return Ok(infinite()),
            StopReason::MaxIterations | StopReason::Cancelled => false,
        };
        if !accepted {
            return Err(format!(
                "re-optimizing the other parameters with `{}` fixed at {} failed: {}",
                p.name,
                fmt_num(p.transform.to_natural(t)),
                outcome.stop
            ));
        }
        Ok(Eval {
            t,
            deviance: 2.0 * (outcome.f - self.nll_min),
            x: outcome.x,
        })
    }
}

/// One side's result on the theta scale.
enum ThetaBound {
    Found(f64),
    Unbounded(f64),
    Failed(String),
}

/// The profile intervals as a table for a terminal, with a line per note
/// and per bound that is unbounded or failed.
pub fn profile_table(intervals: &[ProfileInterval]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let Some(first) = intervals.first() else {
        return out;
    };
    let pct = format_level(first.level);
    let _ = writeln!(
        out,
        "profile-likelihood intervals ({pct}: 2 * (NLL - NLL_min) <= {})",
        fmt_num(first.threshold)
    );
    let name_w = intervals
        .iter()
        .map(|i| i.name.len())
        .max()
        .unwrap_or(4)
        .max(9);
    let _ = writeln!(
        out,
        "{:<name_w$}  {:>14}  {:>14}  {:>14}  {:>14}  {:>14}",
        "parameter", "estimate", "profile lower", "profile upper", "Wald lower", "Wald upper"
    );
    let opt = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".to_string());
    let bound = |b: &ProfileBound| match b {
        ProfileBound::Found { value } => fmt_num(*value),
        ProfileBound::Unbounded { .. } => "unbounded".to_string(),
        ProfileBound::Failed { .. } => "failed".to_string(),
    };
    for i in intervals {
        let _ = writeln!(
            out,
            "{:<name_w$}  {:>14}  {:>14}  {:>14}  {:>14}  {:>14}",
            i.name,
            fmt_num(i.estimate),
            bound(&i.lower),
            bound(&i.upper),
            opt(i.wald_lower),
            opt(i.wald_upper)
        );
    }
    let mut printed: Vec<&str> = Vec::new();
    for i in intervals {
        for (side, b) in [("lower", &i.lower), ("upper", &i.upper)] {
            match b {
                ProfileBound::Found { .. } => {}
                ProfileBound::Unbounded {
                    searched_to,
                    reaches_bound,
                } => {
                    let why = if *reaches_bound {
                        "the interval extends to the parameter's constraint"
                    } else {
                        "the likelihood is flat on that side"
                    };
                    let _ = writeln!(
                        out,
                        "note: `{}` has no {side} bound at this level: the profile stays below the threshold out to {} ({why})",
                        i.name,
                        fmt_num(*searched_to)
                    );
                }
                ProfileBound::Failed { reason } => {
                    let _ = writeln!(
                        out,
                        "note: the {side} bound of `{}` failed: {reason}",
                        i.name
                    );
                }
            }
        }
        // The same remark about the fit is made once, not per parameter.
        for n in &i.notes {
            if !printed.contains(&n.as_str()) {
                printed.push(n);
                let _ = writeln!(out, "note: {n}");
            }
        }
    }
    out
}

/// `0.95` as `95%`, `0.999` as `99.9%`.
fn format_level(level: f64) -> String {
    format!("{}%", level_percent(level))
}

/// A level in percent for names and headers: `0.95` as `95`, `0.999999999`
/// as `99.9999999`. Rounded to 9 decimals, so that 0.29 is `29`, not the
/// `28.999999999999996` its binary value multiplies to; the levels the
/// command line takes (1e-9 to 1 - 1e-9) keep their digits.
pub(crate) fn level_percent(level: f64) -> String {
    format!("{}", (level * 100.0 * 1e9).round() / 1e9)
}

#[cfg(test)]
mod tests {
    /// Against scipy.stats.chi2.ppf(level, 1), from tiny levels (where
    /// statrs' root search stopped at 2^-30) to 1 - 1e-9. The tolerance
    /// is a few ulps of erfinv, squared.
    #[test]
    fn chi_square_quantiles_keep_their_relative_accuracy() {
        for (level, scipy) in [
            (1e-9, 1.5707963267948974e-18),
            (1e-6, 1.5707963267957187e-12),
            (1e-4, 1.5707963350195693e-08),
            (0.5, 0.454936423119572),
            (0.95, 3.841458820694124),
            (0.999999999, 37.32489310651872),
        ] {
            let q = super::chi_square_1_quantile(level);
            assert!(
                (q - scipy).abs() <= 1e-12 * scipy,
                "{level}: {q} vs {scipy}"
            );
        }
    }
}
