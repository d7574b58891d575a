//! Evaluating a fitted model on data: per-statement NLL, the calibration of
//! classifiers, the PIT and interval coverage of continuous and count
//! outcomes, prediction and simulation.
//!
//! Inputs: a model compiled on the evaluation data (its factors coded with
//! the fit's levels, see [`recode`]) and the fitted theta. Each likelihood
//! statement's distribution arguments are evaluated per row with the
//! compiled graph ([`Compiled::eval_rows`] on the statement's argument
//! nodes), so every argument means exactly what it meant while fitting.
//! [`statement_rows`] turns them into per-row predictions once; the metrics
//! of any subset of rows (all of them, or one group of `--by`) are then
//! computed from those by [`evaluate_statement`].
//!
//! Metrics and warning rules are stated in `docs/evaluation.md`.

pub mod gap;
pub mod metrics;
pub mod plot;
pub mod predictive;
pub mod recode;
pub mod report;
pub mod split;
pub mod table;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::compile::{Compiled, LoweredStatement};
use crate::diag::Span;
use crate::dist::{Family, Support};
use metrics::{Bin, Binning};
pub use predictive::{Predictive, RowDist};

/// The central prediction intervals whose coverage is measured.
pub const COVERAGE_LEVELS: [f64; 3] = [0.5, 0.8, 0.95];

/// The default number of calibration and PIT bins.
pub const DEFAULT_BINS: usize = 10;

/// How to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Bins of the reliability tables and the PIT histogram.
    pub n_bins: usize,
    /// Seeds the uniform draws of the randomised PIT of counts.
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            n_bins: DEFAULT_BINS,
            seed: 0,
        }
    }
}

/// What a statement predicts on each row.
#[derive(Debug, Clone)]
pub enum Prediction {
    /// A 0/1 outcome: the probability of 1.
    Binary { p: Vec<f64> },
    /// A class outcome: one probability per level and row
    /// (`probs[row][level]`), the observed class of each row.
    Classes {
        probs: Vec<Vec<f64>>,
        class: Vec<usize>,
        levels: Vec<String>,
    },
    /// A continuous or count outcome with its fitted distribution per row,
    /// the PIT value of each row and each row's central intervals at
    /// [`COVERAGE_LEVELS`] (`None` where no quantile exists).
    Distribution {
        dists: Vec<Predictive>,
        pit: Vec<f64>,
        intervals: Vec<Vec<Option<(f64, f64)>>>,
        randomized: bool,
    },
    /// No distribution functions for this family here; says why.
    Unsupported(String),
}

/// One likelihood statement evaluated on every row.
#[derive(Debug, Clone)]
pub struct StatementRows {
    /// `malignant ~ Bernoulli`: the left side as written and the family.
    pub label: String,
    /// The left side as written.
    pub lhs: String,
    pub family: &'static str,
    /// The distribution's argument names (`mu`, `sigma`; `eta_1`.. for
    /// variadic families; `w` for mixture weights).
    pub arg_names: Vec<String>,
    /// `args[arg][row]`.
    pub args: Vec<Vec<f64>>,
    /// The observed value of each row (NaN for a class outcome; see
    /// [`Prediction::Classes`]).
    pub y: Vec<f64>,
    /// -log p(y_i) of each row.
    pub nll: Vec<f64>,
    pub prediction: Prediction,
    /// The arguments outside their support on some rows: those rows have
    /// no prediction, draw or metric.
    pub outside: Vec<OutsideSupport>,
}

/// A distribution argument outside its support on some rows, by the
/// supports `nll fit` checks at its start values (E401).
#[derive(Debug, Clone)]
pub struct OutsideSupport {
    /// The argument's name: `sigma`, or `c1_sigma` for a component's.
    pub arg: String,
    pub family: &'static str,
    pub support: Support,
    /// Where the argument is written in the model.
    pub span: Span,
    /// Each offending row (an index into the statement's rows) with its value.
    pub rows: Vec<(usize, f64)>,
}

impl StatementRows {
    /// Whether each of `n_rows` rows has every argument inside its support.
    pub fn row_ok(&self, n_rows: usize) -> Vec<bool> {
        let mut ok = vec![true; n_rows];
        for o in &self.outside {
            for (i, _) in &o.rows {
                if let Some(v) = ok.get_mut(*i) {
                    *v = false;
                }
            }
        }
        ok
    }
}

/// The rows (indices) where every statement's arguments are inside their
/// supports.
pub fn rows_in_support(rows: &[StatementRows], n_rows: usize) -> Vec<usize> {
    let mut ok = vec![true; n_rows];
    for sr in rows {
        for (o, r) in ok.iter_mut().zip(sr.row_ok(n_rows)) {
            *o &= r;
        }
    }
    (0..n_rows).filter(|i| ok[*i]).collect()
}

/// Rows inside every support whose -log p(y) came out NaN: the formula
/// broke down there (an intermediate overflowed at extreme parameter
/// values), so any total over them would be a wrong number. Each statement
/// with such rows, by its label, with the rows (indices).
pub fn undefined_nll_rows(rows: &[StatementRows]) -> Vec<(&str, Vec<usize>)> {
    rows.iter()
        .filter_map(|sr| {
            let ok = sr.row_ok(sr.nll.len());
            let bad: Vec<usize> = (0..sr.nll.len())
                .filter(|i| ok[*i] && sr.nll[*i].is_nan())
                .collect();
            (!bad.is_empty()).then_some((sr.label.as_str(), bad))
        })
        .collect()
}

/// The arguments of `family` (`args[arg][row]`) outside their supports;
/// `prefix` names a compound's component (`c1_`).
fn outside_support(
    family: &'static Family,
    args: &[Vec<f64>],
    spans: &[Span],
    fallback_span: Span,
    prefix: &str,
) -> Vec<OutsideSupport> {
    let mut out = Vec::new();
    for (a, values) in args.iter().enumerate() {
        let support = family.arg_support_of(a);
        let rows: Vec<(usize, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| !support.contains(**v))
            .map(|(i, v)| (i, *v))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let name = family
            .args
            .get(a)
            .map(|n| n.to_string())
            .unwrap_or_else(|| format!("argument {}", a + 1));
        out.push(OutsideSupport {
            arg: format!("{prefix}{name}"),
            family: family.name,
            support,
            span: spans.get(a).copied().unwrap_or(fallback_span),
            rows,
        });
    }
    out
}

/// The likelihood statements of `c` evaluated at `theta`, in the compiled
/// order; `source` is the model text, for labels.
pub fn statement_rows(
    c: &Compiled,
    theta: &[f64],
    source: &str,
    opts: &EvalOptions,
) -> Vec<StatementRows> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    c.statements
        .iter()
        .filter(|s| !s.is_prior)
        .map(|s| one_statement(c, s, theta, source, &mut rng))
        .collect()
}

fn one_statement(
    c: &Compiled,
    s: &LoweredStatement,
    theta: &[f64],
    source: &str,
    rng: &mut StdRng,
) -> StatementRows {
    let lhs = source
        .get(s.lhs_span.start..s.lhs_span.end)
        .unwrap_or("?")
        .to_string();
    let mut nodes = vec![s.term, s.y];
    nodes.extend(&s.args);
    for (_, comp_args, _) in &s.components {
        nodes.extend(comp_args);
    }
    let mut rows = c.eval_rows(&nodes, theta);
    let mut comp_rows = rows.split_off(2 + s.args.len());
    let args = rows.split_off(2);
    let y = rows.pop().unwrap_or_default();
    let nll = rows.pop().unwrap_or_default();
    // Each component's arguments, in order.
    let mut components = Vec::new();
    for (family, comp_args, _) in &s.components {
        let rest = comp_rows.split_off(comp_args.len());
        components.push((family.name, std::mem::replace(&mut comp_rows, rest)));
    }
    let arg_names: Vec<String> = if !s.components.is_empty() {
        // The weights as the model's documentation names them.
        match s.family.name {
            "ZeroInflated" => vec!["pi".to_string()],
            "MixtureLogit" => (1..=args.len()).map(|k| format!("eta_{k}")).collect(),
            _ => (1..=args.len()).map(|k| format!("w_{k}")).collect(),
        }
    } else if s.family.variadic {
        let stem = if s.family.name == "Categorical" {
            "p"
        } else {
            "eta"
        };
        (1..=args.len()).map(|k| format!("{stem}_{k}")).collect()
    } else {
        s.family.args.iter().map(|a| a.to_string()).collect()
    };
    let outside = statement_outside(s, &args, components.iter().map(|(_, v)| v.as_slice()));
    let prediction = predict_rows(c, s, &args, &components, &y, rng);
    // A compound's component arguments follow its weights: `c1_mu`, ...
    let mut arg_names = arg_names;
    let mut args = args;
    for (k, (family, comp_args)) in components.into_iter().enumerate() {
        let names = crate::dist::lookup(family).map_or(&[][..], |f| f.args);
        for (j, values) in comp_args.into_iter().enumerate() {
            let arg = names.get(j).copied().unwrap_or("arg");
            arg_names.push(format!("c{}_{arg}", k + 1));
            args.push(values);
        }
    }
    StatementRows {
        label: format!("{lhs} ~ {}", s.family.name),
        lhs,
        family: s.family.name,
        arg_names,
        args,
        y,
        nll,
        prediction,
        outside,
    }
}

/// The arguments of statement `s` outside their supports at `theta`: a
/// component's named `c1_sigma`, ... Where one is, the row has no
/// likelihood, whatever number the formula gives (-log(1.3) for a
/// Bernoulli "probability" of 1.3).
pub fn args_outside_support(
    c: &Compiled,
    s: &LoweredStatement,
    theta: &[f64],
) -> Vec<OutsideSupport> {
    let mut nodes = s.args.clone();
    for (_, comp_args, _) in &s.components {
        nodes.extend(comp_args);
    }
    let mut args = c.eval_rows(&nodes, theta);
    let mut rest = args.split_off(s.args.len());
    let mut components = Vec::new();
    for (_, comp_args, _) in &s.components {
        let tail = rest.split_off(comp_args.len());
        components.push(std::mem::replace(&mut rest, tail));
    }
    statement_outside(s, &args, components.iter().map(|v| v.as_slice()))
}

/// [`outside_support`] of a statement's arguments (`args[arg][row]`) and of
/// each of its components' (in order).
fn statement_outside<'a>(
    s: &LoweredStatement,
    args: &[Vec<f64>],
    components: impl Iterator<Item = &'a [Vec<f64>]>,
) -> Vec<OutsideSupport> {
    let mut outside = outside_support(s.family, args, &s.arg_spans, s.span, "");
    for (k, ((family, _, span), values)) in s.components.iter().zip(components).enumerate() {
        let prefix = format!("c{}_", k + 1);
        outside.extend(outside_support(family, values, &[], *span, &prefix));
    }
    outside
}

/// The components of a compound statement: family name, then
/// `args[arg][row]`.
type ComponentRows = [(&'static str, Vec<Vec<f64>>)];

fn predict_rows(
    c: &Compiled,
    s: &LoweredStatement,
    args: &[Vec<f64>],
    components: &ComponentRows,
    y: &[f64],
    rng: &mut StdRng,
) -> Prediction {
    let n_rows = c.n_rows;
    let row_args = |i: usize| -> Vec<f64> { args.iter().map(|a| a[i]).collect() };
    if !components.is_empty() {
        let dists: Option<Vec<Predictive>> = (0..n_rows)
            .map(|i| compound_row(s.family.name, &row_args(i), components, i))
            .collect();
        return match dists {
            Some(dists) => distribution_prediction(dists, y, rng),
            None => Prediction::Unsupported(format!(
                "a component of `{}` has no distribution functions here: no PIT, intervals or draws",
                s.family.name
            )),
        };
    }
    match s.family.name {
        "Bernoulli" => Prediction::Binary { p: args[0].clone() },
        "BernoulliLogit" => Prediction::Binary {
            p: args[0].iter().map(|e| predictive::logistic(*e)).collect(),
        },
        // p = Phi(eta) = erfc(-eta / sqrt(2)) / 2.
        "BernoulliProbit" => Prediction::Binary {
            p: args[0]
                .iter()
                .map(|e| 0.5 * statrs::function::erf::erfc(-e / std::f64::consts::SQRT_2))
                .collect(),
        },
        "Categorical" | "CategoricalLogit" => {
            let col = s.outcome_factor.unwrap_or(0) as usize;
            let class: Vec<usize> = c
                .columns
                .factor
                .get(col)
                .map(|codes| codes.iter().map(|k| *k as usize).collect())
                .unwrap_or_default();
            let levels = c.factor_levels.get(col).cloned().unwrap_or_default();
            let probs = (0..n_rows)
                .map(|i| {
                    let a = row_args(i);
                    if s.family.name == "Categorical" {
                        a
                    } else {
                        softmax(&a)
                    }
                })
                .collect();
            Prediction::Classes {
                probs,
                class,
                levels,
            }
        }
        name => {
            let dists: Option<Vec<RowDist>> = (0..n_rows)
                .map(|i| RowDist::from_family(name, &row_args(i)))
                .collect();
            let Some(dists) = dists else {
                return Prediction::Unsupported(format!(
                    "`{name}` has no distribution functions here: no PIT, intervals or draws"
                ));
            };
            let dists = dists.into_iter().map(Predictive::One).collect();
            distribution_prediction(dists, y, rng)
        }
    }
}

/// PIT values and central intervals of continuous or count predictions.
fn distribution_prediction(dists: Vec<Predictive>, y: &[f64], rng: &mut StdRng) -> Prediction {
    let randomized = dists.first().is_some_and(|d| d.is_discrete());
    // PIT: u = F(y) for a continuous outcome. For a count, the randomised
    // PIT u = F(y - 1) + v (F(y) - F(y - 1)), v uniform on (0, 1), which is
    // uniform when the model is right (Czado, Gneiting and Held 2009,
    // eq. 2).
    let pit = dists
        .iter()
        .zip(y)
        .map(|(d, yi)| {
            let v = predictive::open_unit(rng);
            if d.is_discrete() {
                let below = d.cdf_below(*yi);
                below + v * (d.cdf(*yi) - below)
            } else {
                d.cdf(*yi)
            }
        })
        .collect();
    // Central interval at level L: [F^-1((1 - L)/2), F^-1((1 + L)/2)].
    let intervals = dists
        .iter()
        .map(|d| {
            COVERAGE_LEVELS
                .iter()
                .map(|l| Some((d.quantile((1.0 - l) / 2.0)?, d.quantile((1.0 + l) / 2.0)?)))
                .collect()
        })
        .collect();
    Prediction::Distribution {
        dists,
        pit,
        intervals,
        randomized,
    }
}

/// Row `i` of a compound statement as a mixture. The weights, from the
/// statement's weight arguments `w`:
///   Mixture(w, D1, D2):             w, 1 - w;
///   MixtureLogit(eta, D1, D2):      logistic(eta), logistic(-eta);
///   MixtureLogit(eta..., D1..DK):   softmax(0, eta_1, ..., eta_{K-1}) for
///                                   K - 1 predictors (the first component
///                                   is the reference, as when fitting),
///                                   softmax(eta) for K;
///   ZeroInflated(pi, D):            pi on a point mass at 0, 1 - pi on D.
fn compound_row(name: &str, w: &[f64], components: &ComponentRows, i: usize) -> Option<Predictive> {
    let comp = |k: usize| -> Option<RowDist> {
        let (family, args) = components.get(k)?;
        let a: Vec<f64> = args.iter().map(|v| v[i]).collect();
        RowDist::from_family(family, &a)
    };
    let weights: Vec<f64> = match (name, w.len()) {
        ("MixtureLogit", 1) => vec![predictive::logistic(w[0]), predictive::logistic(-w[0])],
        ("MixtureLogit", n) if n + 1 == components.len() => {
            let eta: Vec<f64> = std::iter::once(0.0).chain(w.iter().copied()).collect();
            softmax(&eta)
        }
        ("MixtureLogit", _) => softmax(w),
        (_, 1) => vec![w[0], 1.0 - w[0]],
        _ => return None,
    };
    let mut pairs = Vec::new();
    if name == "ZeroInflated" {
        pairs.push((weights[0], RowDist::PointMass { at: 0.0 }));
        pairs.push((weights[1], comp(0)?));
    } else {
        for (k, wk) in weights.iter().enumerate() {
            pairs.push((*wk, comp(k)?));
        }
    }
    Some(Predictive::Mixture(pairs))
}

/// softmax(a)_k = exp(a_k - m) / sum_j exp(a_j - m), m = max_j a_j, so no
/// exponential overflows.
pub fn softmax(a: &[f64]) -> Vec<f64> {
    let m = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = a.iter().map(|v| (v - m).exp()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|v| v / total).collect()
}

/// The metrics of one statement over some rows.
#[derive(Debug, Clone, Serialize)]
pub struct StatementEval {
    pub statement: String,
    pub family: String,
    pub n_rows: usize,
    /// sum_i -log p(y_i).
    pub total_nll: f64,
    /// total_nll / n_rows.
    pub mean_nll: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<PitMetrics>,
    /// Why some metrics are missing, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Metrics of a binary or class outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ClassMetrics {
    /// Mean of -log p(observed class): the statement's mean NLL.
    pub log_loss: f64,
    pub brier: f64,
    pub accuracy: f64,
    /// What the reliability tables bin: `P(y = 1)` or `top-class probability`.
    pub calibrated_quantity: String,
    pub ece_equal_width: f64,
    pub ece_equal_mass: f64,
    pub reliability_equal_width: Vec<Bin>,
    pub reliability_equal_mass: Vec<Bin>,
}

/// Metrics of a continuous or count outcome.
#[derive(Debug, Clone, Serialize)]
pub struct PitMetrics {
    /// True for counts: the PIT is randomised within each count's jump.
    pub randomized_pit: bool,
    /// Kolmogorov-Smirnov distance of the PIT values from uniform.
    pub ks: f64,
    pub ks_p_value: f64,
    /// Chi-square of the PIT histogram against equal counts.
    pub chi_square: f64,
    pub chi_square_df: usize,
    pub chi_square_p_value: f64,
    /// Counts of PIT values in equal-width bins over [0, 1].
    pub pit_histogram: Vec<usize>,
    pub coverage: Vec<Coverage>,
}

/// Coverage of one central prediction interval.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub nominal: f64,
    /// Share of rows whose observation lies inside its interval.
    pub observed: f64,
    pub n_rows: usize,
    /// Mean interval width.
    pub mean_width: f64,
    /// Observed coverage well below nominal (see
    /// [`metrics::coverage_well_below`]).
    pub well_below_nominal: bool,
}

/// The metrics of `sr` over `rows` (indices into its rows).
pub fn evaluate_statement(sr: &StatementRows, rows: &[usize], n_bins: usize) -> StatementEval {
    let total_nll: f64 = rows.iter().map(|i| sr.nll[*i]).sum();
    let n = rows.len();
    let mut eval = StatementEval {
        statement: sr.label.clone(),
        family: sr.family.to_string(),
        n_rows: n,
        total_nll,
        mean_nll: total_nll / n as f64,
        classification: None,
        calibration: None,
        note: None,
    };
    if n == 0 {
        return eval;
    }
    match &sr.prediction {
        Prediction::Binary { p } => {
            // Brier = mean (p_i - y_i)^2; a row is predicted 1 when p > 0.5.
            let brier = rows.iter().map(|i| (p[*i] - sr.y[*i]).powi(2)).sum::<f64>() / n as f64;
            let correct = rows
                .iter()
                .filter(|i| (p[**i] > 0.5) == (sr.y[**i] == 1.0))
                .count();
            eval.classification = Some(class_metrics(
                eval.mean_nll,
                brier,
                correct as f64 / n as f64,
                "P(y = 1)",
                p,
                &sr.y,
                rows,
                n_bins,
            ));
        }
        Prediction::Classes { probs, class, .. } => {
            // Brier = mean_i sum_k (p_ik - [y_i = k])^2 (Brier 1950, over
            // all classes). Calibration of the top class: confidence
            // max_k p_ik against whether that class was observed.
            let mut brier = 0.0;
            let n_all = probs.len();
            let mut confidence = vec![0.0; n_all];
            let mut hit = vec![0.0; n_all];
            for &i in rows {
                let (top, conf) = argmax(&probs[i]);
                confidence[i] = conf;
                hit[i] = f64::from(u8::from(top == class[i]));
                brier += probs[i]
                    .iter()
                    .enumerate()
                    .map(|(k, pk)| (pk - f64::from(u8::from(k == class[i]))).powi(2))
                    .sum::<f64>();
            }
            let accuracy = metrics::mean_over(&hit, rows);
            eval.classification = Some(class_metrics(
                eval.mean_nll,
                brier / n as f64,
                accuracy,
                "top-class probability",
                &confidence,
                &hit,
                rows,
                n_bins,
            ));
        }
        Prediction::Distribution {
            pit,
            intervals,
            randomized,
            ..
        } => {
            // A PIT the CDF could not give (NaN) is left out, and said.
            let u: Vec<f64> = rows
                .iter()
                .map(|i| pit[*i])
                .filter(|u| u.is_finite())
                .collect();
            let missing_pit = u.len() < n;
            let ks = metrics::ks_uniform(&u);
            let histogram = metrics::histogram_unit(&u, n_bins);
            let (chi2, df, chi2_p) = metrics::chi_square_uniform(&histogram);
            let mut coverage = Vec::new();
            let mut missing_quantiles = false;
            for (level_idx, nominal) in COVERAGE_LEVELS.iter().enumerate() {
                let with: Vec<(usize, (f64, f64))> = rows
                    .iter()
                    .filter_map(|i| intervals[*i][level_idx].map(|iv| (*i, iv)))
                    .collect();
                if with.len() < n {
                    missing_quantiles = true;
                }
                if with.is_empty() {
                    continue;
                }
                let covered = with
                    .iter()
                    .filter(|(i, (lo, hi))| *lo <= sr.y[*i] && sr.y[*i] <= *hi)
                    .count();
                let observed = covered as f64 / with.len() as f64;
                let mean_width =
                    with.iter().map(|(_, (lo, hi))| hi - lo).sum::<f64>() / with.len() as f64;
                coverage.push(Coverage {
                    nominal: *nominal,
                    observed,
                    n_rows: with.len(),
                    mean_width,
                    well_below_nominal: metrics::coverage_well_below(
                        *nominal,
                        observed,
                        with.len(),
                    ),
                });
            }
            let mut notes = Vec::new();
            if missing_pit {
                notes.push(format!(
                    "{} of {n} rows have no PIT value (the CDF is not defined for their arguments) and are left out of the PIT metrics",
                    n - u.len()
                ));
            }
            if missing_quantiles {
                notes.push(
                    "some rows have no prediction interval: the quantile is not defined for their arguments"
                        .to_string(),
                );
            }
            if !notes.is_empty() {
                eval.note = Some(notes.join("; "));
            }
            eval.calibration = Some(PitMetrics {
                randomized_pit: *randomized,
                ks,
                ks_p_value: metrics::ks_p_value(ks, u.len()),
                chi_square: chi2,
                chi_square_df: df,
                chi_square_p_value: chi2_p,
                pit_histogram: histogram,
                coverage,
            });
        }
        Prediction::Unsupported(why) => eval.note = Some(why.clone()),
    }
    eval
}

#[allow(clippy::too_many_arguments)]
fn class_metrics(
    log_loss: f64,
    brier: f64,
    accuracy: f64,
    quantity: &str,
    pred: &[f64],
    hit: &[f64],
    rows: &[usize],
    n_bins: usize,
) -> ClassMetrics {
    let width = metrics::reliability(pred, hit, rows, n_bins, Binning::EqualWidth);
    let mass = metrics::reliability(pred, hit, rows, n_bins, Binning::EqualMass);
    ClassMetrics {
        log_loss,
        brier,
        accuracy,
        calibrated_quantity: quantity.to_string(),
        ece_equal_width: metrics::expected_calibration_error(&width),
        ece_equal_mass: metrics::expected_calibration_error(&mass),
        reliability_equal_width: width,
        reliability_equal_mass: mass,
    }
}

/// The first largest entry: (index, value).
pub(crate) fn argmax(v: &[f64]) -> (usize, f64) {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (k, x)| {
            if *x > best.1 {
                (k, *x)
            } else {
                best
            }
        })
}
