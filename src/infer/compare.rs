//! Comparing fitted models on the same data: information criteria, Akaike
//! weights, and likelihood-ratio tests between nested models.
//!
//! Inputs: several compiled models, each with its fit report, fitted to the
//! same rows of the same file. Output: a [`Comparison`]. The models must
//! describe the same observations: the same data rows (by their row numbers
//! in the file) and the same observed values on the left of `~`; a
//! fingerprint of both is compared, and a difference is an error, because
//! likelihoods of different data are not comparable.
//!
//! # Nesting
//!
//! A likelihood-ratio test needs the smaller model to be a special case of
//! the bigger one. Model S is taken as nested in model B when
//!
//! 1. B has more free parameters than S,
//! 2. every parameter element of S is also one of B (by name), and
//! 3. B evaluated with S's estimates for the shared elements and 0 for its
//!    extra elements reproduces S's maximised NLL to [`NESTED_NLL_REL_TOL`].
//!
//! The third condition is a numerical check that B at "extra effects
//! switched off" is S. The user may also declare a pair (`--nested S:B`)
//! where names differ (a constant `sigma` against `exp(g0 + g1 * x)`);
//! the check then runs if it can, and the test is reported either way.

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{free_params, FitReport, ModelObjective};
use crate::compile::Compiled;
use crate::diag::Diagnostic;

/// One model to compare.
pub struct CompareInput<'a> {
    /// The name shown in the table (the file's stem).
    pub label: String,
    pub compiled: &'a Compiled,
    pub report: &'a FitReport,
    /// The mean NLL per row on held-out rows, when a split was given.
    pub held_out: Option<HeldOut>,
}

/// The fit of a model judged on rows it was not fitted to.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOut {
    pub n: usize,
    /// Sum of the likelihood terms over the held-out rows, divided by `n`;
    /// None when it cannot be evaluated (the reason is in `note`).
    pub mean_nll: Option<f64>,
    pub note: Option<String>,
}

/// One row of the comparison table.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    pub label: String,
    pub k: usize,
    pub n: usize,
    pub log_likelihood: f64,
    pub aic: f64,
    pub bic: f64,
    /// AIC minus the smallest AIC of the models that are likelihoods; None
    /// for a model that is not one at its estimate.
    pub delta_aic: Option<f64>,
    /// exp(-delta_aic / 2), normalised to sum to 1 over the models that are
    /// likelihoods; None for the others.
    pub akaike_weight: Option<f64>,
    pub converged: bool,
    pub status: String,
    /// A fingerprint of the rows and observed values fitted (FNV-1a, hex).
    pub data_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out: Option<HeldOut>,
}

/// A likelihood-ratio test of `small` nested in `big`.
#[derive(Debug, Clone, Serialize)]
pub struct LrTest {
    pub small: String,
    pub big: String,
    /// 2 * (log-likelihood of big - log-likelihood of small).
    pub statistic: f64,
    /// k_big - k_small.
    pub df: usize,
    /// P(chi-square(df) >= statistic); None when the statistic is negative.
    pub p_value: Option<f64>,
    /// "detected" (names and NLL check) or "declared" (`--nested`).
    pub nesting: String,
    pub notes: Vec<String>,
}

/// A pair with no test, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotNested {
    pub a: String,
    pub b: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub models: Vec<ModelRow>,
    pub lr_tests: Vec<LrTest>,
    pub not_nested: Vec<NotNested>,
    pub notes: Vec<String>,
}

/// The detection check's tolerance: B at S's estimates (extras at 0) must
/// give S's NLL to 1e-8 relative. Both NLLs are sums of the same terms
/// evaluated in a different order of operations, equal to ~1e-14; a
/// difference above 1e-8 means B's extra parameters at 0 are not S, and
/// it is far below any difference a test would care about.
pub const NESTED_NLL_REL_TOL: f64 = 1e-8;

/// A bigger model's log-likelihood may fall below the smaller one's by this
/// (relative) before that is called a failure of nesting or of the fit: the
/// two optima are each known to about 1e-10 relative.
const LL_ORDER_REL_TOL: f64 = 1e-8;

/// Compares the models. `declared` lists (small, big) label pairs from
/// `--nested`.
///
/// # Errors
///
/// E601 when the models are not fitted on the same number of rows, E602
/// when they are fitted to different rows or observed values, E603 when a
/// declared pair names an unknown model or a model twice.
pub fn compare(
    inputs: &[CompareInput],
    declared: &[(String, String)],
) -> Result<Comparison, Diagnostic> {
    check_same_data(inputs)?;
    let labels: Vec<&str> = inputs.iter().map(|m| m.label.as_str()).collect();
    let mut declared_idx = Vec::new();
    for (small, big) in declared {
        let find = |name: &str| {
            labels.iter().position(|l| *l == name).ok_or_else(|| {
                let d = Diagnostic::error(
                    "E603",
                    format!("--nested names `{name}`, which is not one of the models compared"),
                );
                match crate::diag::suggest::closest(name, labels.iter().copied()) {
                    Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                    None => d.with_note(format!("The models are: {}.", labels.join(", "))),
                }
            })
        };
        let (s, b) = (find(small)?, find(big)?);
        if s == b {
            return Err(Diagnostic::error(
                "E603",
                format!("--nested names `{small}` on both sides"),
            )
            .with_help("Write --nested SMALL:BIG with two different models."));
        }
        declared_idx.push((s, b));
    }

    // AIC differences and Akaike weights, over the set L of models that are
    // likelihoods at their estimates (a model that is not has no AIC to
    // weigh):
    //   delta_i = AIC_i - min_{j in L} AIC_j,
    //   w_i = exp(-delta_i / 2) / sum_{j in L} exp(-delta_j / 2),  i in L.
    // The minimum has delta 0, so the sum is at least 1 and nothing overflows.
    let min_aic = inputs
        .iter()
        .filter(|m| !m.report.not_a_likelihood)
        .map(|m| m.report.aic)
        .fold(f64::INFINITY, f64::min);
    let delta: Vec<Option<f64>> = inputs
        .iter()
        .map(|m| (!m.report.not_a_likelihood).then(|| m.report.aic - min_aic))
        .collect();
    let total: f64 = delta.iter().flatten().map(|d| (-d / 2.0).exp()).sum();
    let models = inputs
        .iter()
        .zip(&delta)
        .map(|(m, d)| ModelRow {
            label: m.label.clone(),
            k: m.report.k,
            n: m.report.n,
            log_likelihood: m.report.log_likelihood,
            aic: m.report.aic,
            bic: m.report.bic,
            delta_aic: *d,
            akaike_weight: d.map(|d| (-d / 2.0).exp() / total),
            converged: m.report.converged,
            status: m.report.status.clone(),
            data_fingerprint: format!("{:016x}", fingerprint(m.compiled)),
            held_out: m.held_out.clone(),
        })
        .collect();

    let mut lr_tests = Vec::new();
    let mut not_nested = Vec::new();
    for i in 0..inputs.len() {
        for j in (i + 1)..inputs.len() {
            // Order the pair small, big by the number of parameters; a
            // declaration decides the order when given.
            let pair = declared_idx
                .iter()
                .find(|(s, b)| (*s == i && *b == j) || (*s == j && *b == i))
                .copied();
            let (s, b) = pair.unwrap_or(if inputs[i].report.k <= inputs[j].report.k {
                (i, j)
            } else {
                (j, i)
            });
            match nesting(&inputs[s], &inputs[b], pair.is_some()) {
                Ok(test) => lr_tests.push(test),
                Err(reason) => not_nested.push(NotNested {
                    a: inputs[s].label.clone(),
                    b: inputs[b].label.clone(),
                    reason,
                }),
            }
        }
    }

    let mut notes = Vec::new();
    let improper: Vec<String> = inputs
        .iter()
        .filter(|m| m.report.not_a_likelihood)
        .map(|m| format!("`{}`", m.label))
        .collect();
    if !improper.is_empty() {
        let weights = if improper.len() == inputs.len() {
            "no model is left to weigh"
        } else {
            "the weights are those of the other models"
        };
        notes.push(format!(
            "{} {} not a likelihood at {} estimate (see the status): left out of dAIC, the Akaike weights and the likelihood-ratio tests; {weights}",
            improper.join(", "),
            if improper.len() == 1 { "is" } else { "are" },
            if improper.len() == 1 { "its" } else { "their" }
        ));
    }
    if inputs.iter().any(|m| !m.report.converged) {
        notes.push("a fit that did not converge has no reliable log-likelihood, AIC or test: see its status".to_string());
    }
    Ok(Comparison {
        models,
        lr_tests,
        not_nested,
        notes,
    })
}

/// Errors unless every model is fitted on the same rows and observations.
fn check_same_data(inputs: &[CompareInput]) -> Result<(), Diagnostic> {
    let Some(first) = inputs.first() else {
        return Ok(());
    };
    for m in &inputs[1..] {
        if m.report.n != first.report.n {
            return Err(Diagnostic::error(
                "E601",
                format!(
                    "the models are fitted on different rows: `{}` on {}, `{}` on {}",
                    first.label, first.report.n, m.label, m.report.n
                ),
            )
            .with_note("Likelihoods of different data are not comparable, and neither are their AIC and BIC.")
            .with_help("Fit every model on the same rows: a model that uses a column with missing values loses rows under --drop-missing; select the complete rows for all models with --where, or remove them from the file."));
        }
    }
    let f0 = fingerprint(first.compiled);
    for m in &inputs[1..] {
        if fingerprint(m.compiled) != f0 {
            return Err(Diagnostic::error(
                "E602",
                format!(
                    "`{}` and `{}` are fitted to different observations ({} rows each)",
                    first.label, m.label, first.report.n
                ),
            )
            .with_note("The rows kept, or the observed values on the left of `~`, differ (for example `y` in one model and `log(y)` in the other).")
            .with_help("Compare models of the same observed values on the same rows."));
        }
    }
    Ok(())
}

/// FNV-1a (64-bit) over the source row numbers and, statement by statement,
/// the observed values of the likelihood terms: equal for two models that
/// describe the same observations of the same rows.
fn fingerprint(c: &Compiled) -> u64 {
    // FNV-1a: h = (h XOR byte) * prime, from the offset basis.
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |v: u64| {
        for byte in v.to_le_bytes() {
            h = (h ^ byte as u64).wrapping_mul(PRIME);
        }
    };
    for r in c.source_rows.iter() {
        feed(r as u64);
    }
    let theta = c.start_theta();
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        let y = c.eval_rows(&[s.y], &theta).pop().unwrap_or_default();
        for v in y {
            // -0.0 and 0.0 are the same observation.
            feed((v + 0.0).to_bits());
        }
    }
    h
}

/// The likelihood-ratio test of `small` in `big`, or why there is none.
fn nesting(small: &CompareInput, big: &CompareInput, declared: bool) -> Result<LrTest, String> {
    let (s, b) = (small.report, big.report);
    if let Some(m) = [small, big].into_iter().find(|m| m.report.not_a_likelihood) {
        return Err(format!(
            "`{}` is not a likelihood at its estimate (what it calls probabilities are not), so it has no log-likelihood to test",
            m.label
        ));
    }
    if s.log_prior.is_some() || b.log_prior.is_some() {
        return Err("a model has priors: its fit is a posterior mode, not a maximum likelihood, and a likelihood-ratio test does not apply".to_string());
    }
    if b.k <= s.k {
        return Err(format!(
            "`{}` does not have more free parameters than `{}` ({} and {})",
            big.label, small.label, b.k, s.k
        ));
    }
    let mut notes = Vec::new();
    let nesting = match nll_at_null(small, big) {
        Ok((nll_big_at_null, extras)) => {
            let tol = NESTED_NLL_REL_TOL * s.nll.abs().max(1.0);
            let diff = nll_big_at_null - s.nll;
            if diff.abs() <= tol {
                if declared {
                    "declared, and checked".to_string()
                } else {
                    "detected".to_string()
                }
            } else if declared {
                notes.push(format!(
                    "`{}` with {} at `{}`'s estimates gives NLL {}, not `{}`'s {}: the declared nesting is not the one where the extra parameters are 0, and was not checked",
                    big.label,
                    describe_zeros(&extras),
                    small.label,
                    nll_big_at_null,
                    small.label,
                    s.nll
                ));
                "declared".to_string()
            } else {
                return Err(format!(
                    "`{}` with {} at `{}`'s estimates does not reproduce `{}` (NLL {} against {})",
                    big.label,
                    describe_zeros(&extras),
                    small.label,
                    small.label,
                    super::report::fmt_num(nll_big_at_null),
                    super::report::fmt_num(s.nll)
                ));
            }
        }
        Err(reason) if declared => {
            notes.push(format!(
                "the nesting was declared and not checked: {reason}"
            ));
            "declared".to_string()
        }
        Err(reason) => return Err(reason),
    };

    // Constraints on the bigger model's extra parameters may put the
    // smaller model on the boundary of its parameter space.
    let shared: Vec<&str> = small
        .compiled
        .params
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let constrained: Vec<String> = free_params(big.compiled)
        .into_iter()
        .map(|k| &big.compiled.params[k])
        .filter(|p| !shared.contains(&p.name.as_str()))
        .filter(|p| p.transform != crate::model::Transform::Identity)
        .map(|p| format!("`{} {}`", p.name, p.transform.describe()))
        .collect();
    if !constrained.is_empty() {
        notes.push(format!(
            "{} {} constrained: if `{}` is `{}` with {} on {} boundary (a variance or a mixture weight of 0), the chi-square reference, which assumes the smaller model inside the bigger one's parameter space, is conservative: the true p-value is smaller than shown",
            constrained.join(", "),
            if constrained.len() == 1 { "is" } else { "are" },
            small.label,
            big.label,
            if constrained.len() == 1 { "it" } else { "them" },
            if constrained.len() == 1 { "its" } else { "their" }
        ));
    }
    if !s.converged || !b.converged {
        notes.push("a fit did not converge: the statistic is not reliable".to_string());
    }

    // LR statistic and its chi-square reference:
    //   LR = 2 (ll_big - ll_small) ~ chi-square(k_big - k_small) under the smaller model.
    let statistic = 2.0 * (b.log_likelihood - s.log_likelihood);
    let df = b.k - s.k;
    let ll_tol = LL_ORDER_REL_TOL * s.log_likelihood.abs().max(1.0);
    let p_value = if statistic < -2.0 * ll_tol {
        notes.push(format!(
            "`{}` fits worse than `{}`, which a model containing it cannot at its maximum: the models are not nested, or a fit stopped short of its maximum",
            big.label, small.label
        ));
        None
    } else {
        // Rounding may leave a tiny negative statistic for equal fits.
        let chi2 = ChiSquared::new(df as f64).expect("df >= 1");
        Some(chi2.sf(statistic.max(0.0)))
    };
    Ok(LrTest {
        small: small.label.clone(),
        big: big.label.clone(),
        statistic,
        df,
        p_value,
        nesting,
        notes,
    })
}

/// The bigger model's NLL at the smaller one's estimates with its extra
/// elements at 0, and the names of those extras; or why it cannot be
/// evaluated.
fn nll_at_null(small: &CompareInput, big: &CompareInput) -> Result<(f64, Vec<String>), String> {
    let (cs, cb) = (small.compiled, big.compiled);
    for q in &cs.params {
        if !cb.params.iter().any(|p| p.name == q.name) {
            return Err(format!(
                "`{}` of `{}` is not a parameter of `{}`",
                q.name, small.label, big.label
            ));
        }
    }
    let mut theta = big.report.theta.clone();
    let mut extras = Vec::new();
    for (k, p) in cb.params.iter().enumerate() {
        let value = match cs.params.iter().position(|q| q.name == p.name) {
            Some(j) => small.report.parameters[j].estimate,
            None => {
                extras.push(p.name.clone());
                0.0
            }
        };
        if !p.transform.admits(value) {
            return Err(format!(
                "`{}` of `{}` cannot be {value} (it is constrained {})",
                p.name,
                big.label,
                p.transform.describe()
            ));
        }
        theta[k] = p.transform.to_theta(value);
    }
    let all: Vec<usize> = (0..cb.n_params()).collect();
    let x: Vec<f64> = theta[..cb.n_params()].to_vec();
    let mut obj = ModelObjective::new(cb, all, theta);
    Ok((obj.nll_at(&x), extras))
}

/// "`g1` = 0" or "`g1`, `g2` = 0".
fn describe_zeros(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!("{} = 0", quoted.join(", "))
}

impl Comparison {
    /// The comparison as tables for a terminal.
    pub fn to_text(&self) -> String {
        use super::report::fmt_num;
        use std::fmt::Write;
        let mut out = String::new();
        let label_w = self
            .models
            .iter()
            .map(|m| m.label.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let held_out = self.models.iter().any(|m| m.held_out.is_some());
        let _ = write!(
            out,
            "{:<label_w$}  {:>3}  {:>7}  {:>14}  {:>14}  {:>14}  {:>10}  {:>8}",
            "model", "k", "n", "log-lik", "AIC", "BIC", "dAIC", "weight"
        );
        if held_out {
            let _ = write!(out, "  {:>7}  {:>14}", "n test", "test NLL/row");
        }
        let _ = writeln!(out, "  status");
        for m in &self.models {
            let or_dash = |v: Option<f64>, digits: usize| {
                v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
            };
            let _ = write!(
                out,
                "{:<label_w$}  {:>3}  {:>7}  {:>14}  {:>14}  {:>14}  {:>10}  {:>8}",
                m.label,
                m.k,
                m.n,
                fmt_num(m.log_likelihood),
                fmt_num(m.aic),
                fmt_num(m.bic),
                or_dash(m.delta_aic, 3),
                or_dash(m.akaike_weight, 4)
            );
            if held_out {
                match &m.held_out {
                    Some(h) => {
                        let v = h.mean_nll.map(fmt_num).unwrap_or_else(|| "-".to_string());
                        let _ = write!(out, "  {:>7}  {:>14}", h.n, v);
                    }
                    None => {
                        let _ = write!(out, "  {:>7}  {:>14}", "-", "-");
                    }
                }
            }
            let status = if m.converged { "converged" } else { &m.status };
            let _ = writeln!(out, "  {status}");
        }

        if !self.lr_tests.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "likelihood-ratio tests (LR = 2 * (log-lik big - log-lik small))"
            );
            for t in &self.lr_tests {
                let p = t
                    .p_value
                    .map(|p| format!("{p:.4e}"))
                    .unwrap_or_else(|| "-".to_string());
                let _ = writeln!(
                    out,
                    "{} in {}: LR = {}, df = {}, p = {p} (nesting {})",
                    t.small,
                    t.big,
                    fmt_num(t.statistic),
                    t.df,
                    t.nesting
                );
                for n in &t.notes {
                    let _ = writeln!(out, "  note: {n}");
                }
            }
        }
        if !self.not_nested.is_empty() {
            let _ = writeln!(out);
        }
        for nn in &self.not_nested {
            let _ = writeln!(
                out,
                "no likelihood-ratio test between {} and {}: {}",
                nn.a, nn.b, nn.reason
            );
        }
        for m in &self.models {
            if let Some(note) = m.held_out.as_ref().and_then(|h| h.note.as_ref()) {
                let _ = writeln!(out, "note: no held-out NLL for {}: {note}", m.label);
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }
}

/// The mean NLL per row of `test` (the model compiled on held-out rows) at
/// the estimate `theta` of the same model fitted on other rows. Parameters
/// are matched by name, so factor levels may be coded differently in the
/// two sets; a parameter of the test rows that the fit does not have (a
/// level seen only there) makes the value unavailable, with the reason.
pub fn held_out_nll(train: &Compiled, theta: &[f64], test: &Compiled) -> HeldOut {
    let n = test.n_rows;
    let unavailable = |note: String| HeldOut {
        n,
        mean_nll: None,
        note: Some(note),
    };
    let mut test_theta = test.start_theta();
    for (k, p) in test.params.iter().enumerate() {
        match train.params.iter().position(|q| q.name == p.name) {
            Some(j) => test_theta[k] = theta[j],
            None => {
                return unavailable(format!(
                    "parameter `{}` exists only on the held-out rows (a factor level not seen in the fitted rows)",
                    p.name
                ))
            }
        }
    }
    // The smoothing width of kinks, if any, as at the end of the fit.
    if let (Some(ti), Some(si)) = (test.smoothing_index, train.smoothing_index) {
        test_theta[ti] = theta[si];
    }
    if n == 0 {
        return unavailable("no held-out rows".to_string());
    }
    // A held-out row where an argument leaves its support (a probability
    // above 1 from an identity link) has no likelihood, whatever number
    // the formula gives there: no held-out NLL, rather than a flattering one.
    for s in test.statements.iter().filter(|s| !s.is_prior) {
        if let Some(o) = crate::evaluate::args_outside_support(test, s, &test_theta).first() {
            let (i, v) = o.rows[0];
            return unavailable(format!(
                "`{}` of `{}` is {v} on held-out row {}, not {}: the model gives that row no likelihood",
                o.arg,
                o.family,
                test.source_rows.row_of(i),
                o.support.describe()
            ));
        }
    }
    // Held-out NLL: sum over likelihood statements and rows of the terms,
    // priors excluded (they are not about the rows), divided by the rows.
    let terms: Vec<_> = test
        .statements
        .iter()
        .filter(|s| !s.is_prior)
        .map(|s| s.term)
        .collect();
    let total: f64 = test.eval_rows(&terms, &test_theta).iter().flatten().sum();
    if !total.is_finite() {
        return unavailable("the NLL of the held-out rows is not finite at the estimate (an observation outside what the fitted model allows)".to_string());
    }
    HeldOut {
        n,
        mean_nll: Some(total / n as f64),
        note: None,
    }
}
