//! The fit report: what `nll fit` prints, as data (JSON) or as a table.

use std::fmt::Write;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ParamEstimate {
    pub name: String,
    pub estimate: f64,
    pub std_error: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
}

/// How a fit ended, in the three classes the exit status tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FitOutcome {
    /// A strict interior maximum, to the precision the NLL is known.
    Converged,
    /// The optimizer stopped before convergence: the iteration limit, a
    /// failed line search, steps that no longer change anything, a
    /// non-finite value, or a point short of the minimum. The estimates
    /// are the last finite point.
    NotConverged,
    /// The optimizer converged, but not to a proper maximum: a singular
    /// Hessian, a parameter at its bound, a scale collapsing to 0,
    /// parameters diverging, or probabilities that do not sum to 1.
    NoMaximum,
}

impl FitOutcome {
    /// The process exit status `nll fit` ends with.
    pub fn exit_code(self) -> i32 {
        match self {
            FitOutcome::Converged => 0,
            FitOutcome::NotConverged => 3,
            FitOutcome::NoMaximum => 4,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    /// "maximum likelihood", or MAP when the model has priors.
    pub estimator: String,
    pub parameters: Vec<ParamEstimate>,
    /// The negative log-likelihood of the data (prior terms excluded).
    pub nll: f64,
    pub log_likelihood: f64,
    /// The sum of the priors' log-densities at the estimate, when there are
    /// priors; the objective maximised is log_likelihood + log_prior.
    pub log_prior: Option<f64>,
    pub aic: f64,
    pub bic: f64,
    pub n: usize,
    /// Number of free parameters (those the likelihood depends on).
    pub k: usize,
    pub converged: bool,
    /// `converged`, `not_converged` or `no_maximum`.
    pub outcome: FitOutcome,
    pub status: String,
    /// What the model calls probabilities are not probabilities at the
    /// estimate: the objective is not a likelihood, so it has no standard
    /// errors and takes no part in Akaike weights or likelihood-ratio tests.
    /// (The JSON says so in `status` and `warnings`.)
    #[serde(skip)]
    pub not_a_likelihood: bool,
    pub iterations: usize,
    /// Passes over the data made by the optimizer: the NLL with its
    /// gradient, some of them also with the Hessian.
    pub evaluations: usize,
    /// max_k |d NLL / d theta_k| on the unconstrained scale, at the estimate.
    pub grad_norm: f64,
    pub min_hessian_eigenvalue: Option<f64>,
    pub warnings: Vec<String>,
    /// Rows left out because a used column had no value.
    pub n_dropped: usize,
    /// The estimate on the unconstrained scale.
    #[serde(skip)]
    pub theta: Vec<f64>,
}

impl FitReport {
    /// A table for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let name_w = self
            .parameters
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(4)
            .max(9);
        let _ = writeln!(
            out,
            "{:<name_w$}  {:>14}  {:>12}  {:>14}  {:>14}",
            "parameter", "estimate", "std. error", "95% CI lower", "95% CI upper"
        );
        for p in &self.parameters {
            let opt = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".to_string());
            let _ = writeln!(
                out,
                "{:<name_w$}  {:>14}  {:>12}  {:>14}  {:>14}",
                p.name,
                fmt_num(p.estimate),
                opt(p.std_error),
                opt(p.ci_lower),
                opt(p.ci_upper)
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "estimator        {}", self.estimator);
        let _ = writeln!(out, "n                {}", self.n);
        if self.n_dropped > 0 {
            let _ = writeln!(out, "rows dropped     {} (missing values)", self.n_dropped);
        }
        let _ = writeln!(out, "parameters       {}", self.k);
        let _ = writeln!(out, "NLL              {}", fmt_num(self.nll));
        let _ = writeln!(out, "log-likelihood   {}", fmt_num(self.log_likelihood));
        if let Some(lp) = self.log_prior {
            let _ = writeln!(out, "log-prior        {}", fmt_num(lp));
        }
        let _ = writeln!(out, "AIC              {}", fmt_num(self.aic));
        let _ = writeln!(out, "BIC              {}", fmt_num(self.bic));
        let _ = writeln!(out, "iterations       {}", self.iterations);
        let _ = writeln!(out, "gradient norm    {:.3e}", self.grad_norm);
        let _ = writeln!(out, "status           {}", self.status);
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}

/// Seven significant digits, switching to exponent form for very large or
/// small magnitudes: how every number in a report is written.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || (1e-4..1e7).contains(&v.abs()) {
        let digits = if v == 0.0 {
            6
        } else {
            (6 - v.abs().log10().floor() as i32).clamp(0, 10) as usize
        };
        format!("{v:.digits$}")
    } else {
        format!("{v:.6e}")
    }
}
