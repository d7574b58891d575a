//! The commands that use a fit beyond its own data: `fit --output`,
//! `fit --holdout` / `--split-column`, `cv`, `eval`, `predict` and
//! `simulate`. The numbers come from `crate::evaluate`; this file loads,
//! lines data up with the fit and reports problems as diagnostics.

use std::path::{Path, PathBuf};

use clap::Args;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::pipeline::{compile_on, emit, load_data_with, load_model, write_out, Failure, Loaded};
use super::{DataArgs, FitArgs, Format};
use crate::compile::{self, Compiled};
use crate::data::{self, Column, ColumnKind, ColumnRequest, DataSet, LoadOptions};
use crate::diag::Diagnostic;
use crate::evaluate::{self, gap, recode, split, EvalOptions, Prediction, StatementRows};
use crate::fitfile::{self, FitFile, FitFileError, ModelIdentity};
use crate::infer::{self, FitOptions, FitReport};

/// Options of `nll fit` that keep the fit or hold rows out of it.
#[derive(Debug, Args, Default)]
pub struct HeldOutArgs {
    /// Write the fit (estimates, theta, covariance, model hash, data summary) to this JSON file.
    #[arg(long, value_name = "FIT.json")]
    pub output: Option<PathBuf>,
    /// Hold out this share of the rows, drawn at random with --seed, and evaluate on them.
    #[arg(long, value_name = "FRACTION", conflicts_with = "split_column")]
    pub holdout: Option<f64>,
    /// Seed of the random holdout split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fit on the rows where COLUMN is --train-value and evaluate on those where it is --test-value.
    #[arg(long, value_name = "COLUMN")]
    pub split_column: Option<String>,
    /// The training rows' value of --split-column.
    #[arg(long, default_value = "train", requires = "split_column")]
    pub train_value: String,
    /// The held-out rows' value of --split-column.
    #[arg(long, default_value = "test", requires = "split_column")]
    pub test_value: String,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    /// The fit file written by `nll fit --output`.
    #[arg(long, value_name = "FIT.json")]
    pub fit: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Repeat every metric for each value of this column.
    #[arg(long, value_name = "COLUMN")]
    pub by: Option<String>,
    /// Bins of the reliability tables and the PIT histogram.
    #[arg(long, default_value_t = evaluate::DEFAULT_BINS as u64, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub bins: u64,
    /// Seed of the randomised PIT of count outcomes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write SVG figures (reliability diagram, PIT histogram, intervals) into this folder.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    /// The fit file written by `nll fit --output`.
    #[arg(long, value_name = "FIT.json")]
    pub fit: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Level of the central prediction interval.
    #[arg(long, default_value_t = 0.95, value_parser = parse_level)]
    pub level: f64,
    /// Write the CSV to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    /// The fit file written by `nll fit --output`.
    #[arg(long, value_name = "FIT.json")]
    pub fit: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of simulated data sets.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub draws: u64,
    /// Write the CSV to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CvArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of folds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=1000))]
    pub folds: u64,
    /// Seed of the random fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn parse_level(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!(
            "the level must be strictly between 0 and 1, found {v}"
        ))
    }
}

/// The `--where` filters as text, for the fit file's data summary.
pub(super) fn filter_selection(args: &DataArgs) -> Vec<String> {
    args.filters
        .iter()
        .map(|(c, v)| format!("{c} = {v}"))
        .collect()
}

/// The model's identity for a fit file.
fn identity(loaded: &Loaded) -> ModelIdentity {
    // The source parsed when it was loaded, so it parses again.
    let hash = match crate::syntax::parse_program(&loaded.source) {
        Ok(program) => fitfile::model_hash(&program, &loaded.model),
        Err(_) => String::new(),
    };
    ModelIdentity {
        file: loaded.name.clone(),
        hash,
        params: loaded.model.params.iter().map(|p| p.name.clone()).collect(),
    }
}

/// Writes the fit file of a finished fit.
pub(super) fn write_fit_file(
    out: &Path,
    loaded: &Loaded,
    data_path: &Path,
    ds: &DataSet,
    selection: Vec<String>,
    compiled: &Compiled,
    report: &FitReport,
    color: bool,
) -> Result<(), Failure> {
    let summary = fitfile::summarize_data(&data_path.display().to_string(), ds, selection);
    let fit = FitFile::new(identity(loaded), summary, compiled, report);
    fitfile::write_atomic(out, fit.to_json().as_bytes()).map_err(|e| {
        let d = Diagnostic::error(
            "E601",
            format!("cannot write fit file `{}`: {e}", out.display()),
        )
        .with_note("Nothing was written: the file is replaced whole or left as it was.");
        emit(&[d], &loaded.name, &loaded.source, color);
        Failure::Input
    })
}

/// Reports an output file or folder that cannot be written (E606).
fn output_failure(loaded: &Loaded, what: &Path, e: &std::io::Error, color: bool) -> Failure {
    let d = Diagnostic::error("E606", format!("cannot write `{}`: {e}", what.display()));
    emit(&[d], &loaded.name, &loaded.source, color);
    Failure::Input
}

/// Reads a fit file for the loaded model, with a diagnostic when it cannot
/// be used.
fn load_fit(loaded: &Loaded, path: &Path, color: bool) -> Result<FitFile, Failure> {
    let id = identity(loaded);
    FitFile::load(path, &id.hash, &id.params).map_err(|e| {
        let d = match &e {
            FitFileError::Read { .. } => Diagnostic::error("E601", e.to_string()),
            FitFileError::Invalid { .. } => Diagnostic::error("E602", e.to_string())
                .with_help("Give a file written by `nll fit --output`."),
            FitFileError::ModelChanged {
                fitted_file,
                fitted_params,
                params,
                ..
            } => Diagnostic::error("E603", e.to_string())
                .with_note(format!(
                    "The fit was made with model `{fitted_file}` (parameters {}); this model `{}` has parameters {}. Comments and spacing do not count; any change to a statement, a declaration or the parameter order does.",
                    fitted_params.join(", "),
                    loaded.name,
                    params.join(", ")
                ))
                .with_help("Fit this model again with `nll fit ... --output FIT.json`, or give the model the fit was made with."),
        };
        emit(&[d], &loaded.name, &loaded.source, color);
        Failure::Input
    })
}

/// Names on the left of likelihood statements that are plain columns,
/// with the support of their distribution.
fn outcome_columns(loaded: &Loaded) -> Vec<(String, crate::dist::Support)> {
    use crate::syntax::ast::ExprKind;
    let mut out = Vec::new();
    for s in loaded.model.statements.iter().filter(|s| !s.is_prior) {
        let ExprKind::Name(name) = &s.lhs.kind else {
            continue;
        };
        let support = match &s.compound {
            Some((_, comps)) => comps
                .first()
                .map(|c| c.family.support)
                .unwrap_or(s.family.support),
            None => s.family.support,
        };
        if let Some(dv) = loaded.model.data_var(name) {
            for c in &dv.columns {
                out.push((c.clone(), support));
            }
        }
    }
    out
}

/// What new data must hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcomes {
    /// Evaluation: every column, outcomes included.
    Required,
    /// Prediction and simulation: outcome columns absent from the file get
    /// stand-in values.
    Optional,
}

/// Loads new data for a fit: the model's columns (and `extra` ones), factors
/// coded with the fit's levels.
fn load_new_data(
    loaded: &Loaded,
    fit: &FitFile,
    args: &DataArgs,
    path: &Path,
    outcomes: Outcomes,
    extra: Option<&str>,
    color: bool,
) -> Result<DataSet, Failure> {
    let mut requests = compile::column_requests(&loaded.model);
    let mut stand_ins = Vec::new();
    if outcomes == Outcomes::Optional {
        // A header that cannot be read is reported by the load below.
        if let Ok(header) = data::read_header(path) {
            for (name, support) in outcome_columns(loaded) {
                if header.iter().any(|h| h == &name) {
                    continue;
                }
                if let Some(pos) = requests.iter().position(|r| r.name == name) {
                    let r = requests.remove(pos);
                    stand_ins.push((r, support));
                }
            }
        }
    }
    if let Some(col) = extra {
        if !requests.iter().any(|r| r.name == col) {
            requests.push(ColumnRequest::new(col, ColumnKind::Factor));
        }
    }
    let opts = LoadOptions {
        drop_missing: args.drop_missing,
        filters: args.filters.clone(),
    };
    let mut ds = load_data_with(loaded, &requests, &opts, path, color)?;
    for (r, support) in &stand_ins {
        recode::add_placeholder(&mut ds, &r.name, r.kind, *support, fit.levels_of(&r.name));
    }
    recode_to(&mut ds, |name| fit.levels_of(name), path, loaded, color)?;
    Ok(ds)
}

/// Codes the factors of `ds` with known levels; unknown levels are E604.
fn recode_to<'a>(
    ds: &mut DataSet,
    levels_of: impl Fn(&str) -> Option<&'a [String]>,
    path: &Path,
    loaded: &Loaded,
    color: bool,
) -> Result<(), Failure> {
    recode::recode_factors(ds, levels_of).map_err(|unknown| {
        let diags: Vec<Diagnostic> = unknown
            .iter()
            .map(|u| {
                let rows: Vec<String> = u.rows.iter().map(|r| r.to_string()).collect();
                let more = if u.n_rows > u.rows.len() {
                    format!(", and {} more", u.n_rows - u.rows.len())
                } else {
                    String::new()
                };
                Diagnostic::error("E604", u.to_string())
                    .with_note(format!(
                        "In data file `{}`, rows {}{more} (counted from 1 for the first data row).",
                        path.display(),
                        rows.join(", ")
                    ))
                    .with_note(format!("The fit knows the levels: {}.", u.known.join(", ")))
                    .with_help("A parameter per level has no estimate for a level the fit never saw: drop those rows (`--where`) or fit on data that include the level.")
            })
            .collect();
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })
}

/// Codes the factors of held-out rows with the training rows' levels.
fn recode_like(
    test: &mut DataSet,
    train: &DataSet,
    path: &Path,
    loaded: &Loaded,
    color: bool,
) -> Result<(), Failure> {
    let levels_of = |name: &str| match train.column(name) {
        Some(Column::Factor { levels, .. }) => Some(levels.as_slice()),
        _ => None,
    };
    recode_to(test, levels_of, path, loaded, color)
}

/// Compiles the model on new data and checks its parameters are the fit's.
fn compile_for_fit(
    loaded: &Loaded,
    ds: &DataSet,
    fit: &FitFile,
    color: bool,
) -> Result<Compiled, Failure> {
    let compiled = compile::compile(&loaded.model, ds, &ds.source_rows).map_err(|diags| {
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    let names: Vec<&str> = compiled.params.iter().map(|p| p.name.as_str()).collect();
    let fitted: Vec<&str> = fit.estimates.iter().map(|e| e.name.as_str()).collect();
    if names != fitted {
        let d = Diagnostic::error(
            "E605",
            "the model's parameters on this data differ from the fit's",
        )
        .with_note(format!("The fit has: {}.", fitted.join(", ")))
        .with_note(format!("On this data the model has: {}.", names.join(", ")));
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    Ok(compiled)
}

fn needs_data<'a>(
    args: &'a DataArgs,
    loaded: &Loaded,
    command: &str,
    color: bool,
) -> Result<&'a Path, Failure> {
    args.data.as_deref().ok_or_else(|| {
        let d = Diagnostic::error("E002", format!("`nll {command}` needs data"))
            .with_help("Give the data file with --data FILE.csv.");
        emit(&[d], &loaded.name, &loaded.source, color);
        Failure::Usage
    })
}

/// `nll eval`.
pub fn eval(args: &EvalArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    let fit = load_fit(&loaded, &args.fit, color)?;
    let path = needs_data(&args.data, &loaded, "eval", color)?;
    let ds = load_new_data(
        &loaded,
        &fit,
        &args.data,
        path,
        Outcomes::Required,
        args.by.as_deref(),
        color,
    )?;
    let compiled = compile_for_fit(&loaded, &ds, &fit, color)?;
    let opts = EvalOptions {
        n_bins: args.bins as usize,
        seed: args.seed,
    };
    let rows = evaluate::statement_rows(&compiled, &fit.theta, &loaded.source, &opts);
    let groups = match &args.by {
        Some(col) => Some(group_codes(&ds, col)),
        None => None,
    };
    let report = evaluate::report::build(
        (
            loaded.name.clone(),
            args.fit.display().to_string(),
            path.display().to_string(),
        ),
        &rows,
        compiled.n_rows,
        opts.n_bins,
        opts.seed,
        groups.as_ref().map(|(levels, codes)| {
            (
                args.by.as_deref().unwrap_or(""),
                levels.as_slice(),
                codes.as_slice(),
            )
        }),
    );
    if let Some(dir) = &args.plot {
        evaluate::plot::write_all(dir, &rows, &report)
            .map_err(|e| output_failure(&loaded, dir, &e, color))?;
    }
    match args.format {
        Format::Text => write_out(&report.to_text()),
        Format::Json => json_out(&report),
    }
}

fn json_out<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    match serde_json::to_string_pretty(value) {
        Ok(s) => write_out(&format!("{s}\n")),
        Err(e) => Err(Failure::Io(format!("cannot write JSON: {e}"))),
    }
}

/// The levels of the grouping column and each row's code: a factor as
/// loaded, or the distinct values of a numeric column in increasing order.
fn group_codes(ds: &DataSet, col: &str) -> (Vec<String>, Vec<u32>) {
    match ds.column(col) {
        Some(Column::Factor { codes, levels }) => (levels.clone(), codes.clone()),
        Some(Column::Real(values)) => {
            let mut distinct: Vec<f64> = values.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            let codes = values
                .iter()
                .map(|v| distinct.iter().position(|d| d == v).unwrap_or(0) as u32)
                .collect();
            (distinct.iter().map(|v| v.to_string()).collect(), codes)
        }
        None => (Vec::new(), Vec::new()),
    }
}

/// A fit applied to new data: the model, the data as coded for the fit,
/// the compiled model and each statement's per-row predictions.
struct Applied {
    loaded: Loaded,
    ds: DataSet,
    compiled: Compiled,
    rows: Vec<StatementRows>,
}

/// Loads the model, the fit and new data whose outcomes may be absent, and
/// evaluates every statement's predictions at the fit.
fn apply_fit(
    model: &Path,
    fit_path: &Path,
    data: &DataArgs,
    command: &str,
    color: bool,
) -> Result<Applied, Failure> {
    let loaded = load_model(model, color)?;
    let fit = load_fit(&loaded, fit_path, color)?;
    let path = needs_data(data, &loaded, command, color)?;
    let ds = load_new_data(&loaded, &fit, data, path, Outcomes::Optional, None, color)?;
    let compiled = compile_for_fit(&loaded, &ds, &fit, color)?;
    let opts = EvalOptions::default();
    let rows = evaluate::statement_rows(&compiled, &fit.theta, &loaded.source, &opts);
    Ok(Applied {
        loaded,
        ds,
        compiled,
        rows,
    })
}

/// `nll predict`.
pub fn predict(args: &PredictArgs, color: bool) -> Result<(), Failure> {
    let a = apply_fit(&args.model, &args.fit, &args.data, "predict", color)?;
    let csv = prediction_csv(&a.rows, &a.compiled.source_rows, args.level);
    write_csv(&csv, args.out.as_deref(), &a.loaded, color)
}

fn write_csv(text: &str, out: Option<&Path>, loaded: &Loaded, color: bool) -> Result<(), Failure> {
    match out {
        None => write_out(text),
        Some(p) => fitfile::write_atomic(p, text.as_bytes())
            .map_err(|e| output_failure(loaded, p, &e, color)),
    }
}

/// Quotes a CSV field when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Numbers in shortest round-trip form; empty for none.
fn csv_num(v: Option<f64>) -> String {
    v.map(number).unwrap_or_default()
}

/// Whole numbers below this print as integers (`3`, not `3.0`); every
/// integer up to 2^53 is exact in f64.
const MAX_PLAIN_INTEGER: f64 = 9_007_199_254_740_992.0;

/// A number in shortest round-trip form that CSV readers accept: whole
/// numbers as integers (counts stay counts), others with an exponent when
/// that is shorter (`6.26e-12`, not twelve zeros).
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < MAX_PLAIN_INTEGER {
        format!("{x}")
    } else {
        format!("{x:?}")
    }
}

/// One row per data row: the file's row number, then per statement its
/// arguments, the predictive mean and the interval at `level` (or the class
/// probabilities). With several statements, names carry the left side.
fn prediction_csv(rows: &[StatementRows], source_rows: &[usize], level: f64) -> String {
    let prefix = |sr: &StatementRows, name: &str| {
        if rows.len() > 1 {
            format!("{}.{name}", sr.lhs)
        } else {
            name.to_string()
        }
    };
    let pct = format!("{}", level * 100.0);
    let mut header = vec!["row".to_string()];
    for sr in rows {
        for a in &sr.arg_names {
            header.push(prefix(sr, a));
        }
        match &sr.prediction {
            Prediction::Binary { .. } => header.push(prefix(sr, "prob_1")),
            Prediction::Classes { levels, .. } => {
                for l in levels {
                    header.push(prefix(sr, &format!("prob_{l}")));
                }
                header.push(prefix(sr, "predicted"));
            }
            Prediction::Distribution { .. } => {
                header.push(prefix(sr, "mean"));
                header.push(prefix(sr, &format!("lower_{pct}")));
                header.push(prefix(sr, &format!("upper_{pct}")));
            }
            Prediction::Unsupported(_) => {}
        }
    }
    let mut out = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    let lo_q = (1.0 - level) / 2.0;
    let hi_q = (1.0 + level) / 2.0;
    for (i, row_no) in source_rows.iter().enumerate() {
        let mut fields = vec![row_no.to_string()];
        for sr in rows {
            for a in &sr.args {
                fields.push(csv_num(Some(a[i])));
            }
            match &sr.prediction {
                Prediction::Binary { p } => fields.push(csv_num(Some(p[i]))),
                Prediction::Classes { probs, levels, .. } => {
                    for p in &probs[i] {
                        fields.push(csv_num(Some(*p)));
                    }
                    let (top, _) =
                        probs[i]
                            .iter()
                            .enumerate()
                            .fold(
                                (0, f64::NEG_INFINITY),
                                |b, (k, p)| if *p > b.1 { (k, *p) } else { b },
                            );
                    fields.push(csv_field(levels.get(top).map(String::as_str).unwrap_or("")));
                }
                Prediction::Distribution { dists, .. } => {
                    let d = &dists[i];
                    fields.push(csv_num(d.mean()));
                    fields.push(csv_num(d.quantile(lo_q)));
                    fields.push(csv_num(d.quantile(hi_q)));
                }
                Prediction::Unsupported(_) => {}
            }
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// `nll simulate`.
pub fn simulate(args: &SimulateArgs, color: bool) -> Result<(), Failure> {
    let Applied {
        loaded, ds, rows, ..
    } = apply_fit(&args.model, &args.fit, &args.data, "simulate", color)?;
    if let Some(sr) = rows
        .iter()
        .find(|r| matches!(r.prediction, Prediction::Unsupported(_)))
    {
        let d = Diagnostic::error("E607", format!("cannot simulate `{}`", sr.label)).with_note(
            match &sr.prediction {
                Prediction::Unsupported(why) => format!("{why}."),
                _ => String::new(),
            },
        );
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    let mut rng = StdRng::seed_from_u64(args.seed);
    let csv = simulation_csv(&ds, &rows, args.draws as usize, &mut rng);
    write_csv(&csv, args.out.as_deref(), &loaded, color)
}

/// The data's columns with each outcome column replaced by draws, one block
/// of rows per draw (column `draw`, from 1). An outcome written as an
/// expression (`log(y)`) gets a column of its own, named by that text.
fn simulation_csv(
    ds: &DataSet,
    rows: &[StatementRows],
    n_draws: usize,
    rng: &mut StdRng,
) -> String {
    let col_names: Vec<&str> = ds.columns.iter().map(|(n, _, _)| n.as_str()).collect();
    let extra: Vec<&StatementRows> = rows
        .iter()
        .filter(|sr| !col_names.contains(&sr.lhs.as_str()))
        .collect();
    let mut header = vec!["draw".to_string()];
    header.extend(col_names.iter().map(|n| n.to_string()));
    header.extend(extra.iter().map(|sr| sr.lhs.clone()));
    let mut out = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for draw in 1..=n_draws {
        // Draw every statement for every row first, in a fixed order, so the
        // stream of random numbers does not depend on the column order.
        let drawn: Vec<Vec<String>> = rows
            .iter()
            .map(|sr| draw_statement(sr, ds.n_rows, rng))
            .collect();
        for i in 0..ds.n_rows {
            let mut fields = vec![draw.to_string()];
            for (name, _, col) in &ds.columns {
                if let Some(k) = rows.iter().position(|sr| sr.lhs == *name) {
                    fields.push(csv_field(&drawn[k][i]));
                    continue;
                }
                fields.push(match col {
                    Column::Real(v) => number(v[i]),
                    Column::Factor { codes, levels } => csv_field(&levels[codes[i] as usize]),
                });
            }
            for sr in &extra {
                let k = rows.iter().position(|r| std::ptr::eq(r, *sr)).unwrap_or(0);
                fields.push(csv_field(&drawn[k][i]));
            }
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

/// One draw of a statement's outcome per row, as CSV text: a number, or a
/// class's level.
fn draw_statement(sr: &StatementRows, n_rows: usize, rng: &mut StdRng) -> Vec<String> {
    (0..n_rows)
        .map(|i| match &sr.prediction {
            Prediction::Binary { p } => {
                let u = evaluate::predictive::open_unit(rng);
                if u < p[i] { "1" } else { "0" }.to_string()
            }
            Prediction::Classes { probs, levels, .. } => {
                // Inversion: the first class whose cumulative probability
                // reaches u.
                let u = evaluate::predictive::open_unit(rng);
                let mut acc = 0.0;
                let mut k = probs[i].len().saturating_sub(1);
                for (j, p) in probs[i].iter().enumerate() {
                    acc += p;
                    if u <= acc {
                        k = j;
                        break;
                    }
                }
                levels.get(k).cloned().unwrap_or_default()
            }
            Prediction::Distribution { dists, .. } => number(dists[i].sample(rng)),
            Prediction::Unsupported(_) => String::new(),
        })
        .collect()
}

/// Per-row NLL summed over the likelihood statements.
fn row_totals(rows: &[StatementRows], n_rows: usize) -> Vec<f64> {
    let mut total = vec![0.0; n_rows];
    for sr in rows {
        for (t, v) in total.iter_mut().zip(&sr.nll) {
            *t += v;
        }
    }
    total
}

/// Fits on `train` and evaluates per-row NLL on `train` and `test`.
struct TrainTest {
    compiled: Compiled,
    report: FitReport,
    train_rows: Vec<StatementRows>,
    test_rows: Vec<StatementRows>,
}

fn fit_and_score(
    loaded: &Loaded,
    args_fit: Option<&FitArgs>,
    train: &DataSet,
    test: &DataSet,
    color: bool,
) -> Result<TrainTest, Failure> {
    let mut compiled = compile_on(loaded, train, color)?;
    let opts = match args_fit {
        Some(a) => {
            if a.jacobian {
                compiled = compiled.with_jacobian();
            }
            FitOptions {
                starts: a.starts.clone(),
                max_iter: a.max_iter,
                method: super::method_of(a),
            }
        }
        None => FitOptions::default(),
    };
    let mut report = infer::fit(&compiled, &opts).map_err(|diags| {
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    report.n_dropped = train.n_dropped;
    let test_compiled =
        compile::compile(&loaded.model, test, &test.source_rows).map_err(|diags| {
            emit(&diags, &loaded.name, &loaded.source, color);
            Failure::Input
        })?;
    let opts = EvalOptions::default();
    let train_rows = evaluate::statement_rows(&compiled, &report.theta, &loaded.source, &opts);
    let test_rows = evaluate::statement_rows(&test_compiled, &report.theta, &loaded.source, &opts);
    Ok(TrainTest {
        compiled,
        report,
        train_rows,
        test_rows,
    })
}

/// Training and held-out mean NLL of each statement and of all together.
#[derive(Debug, serde::Serialize)]
struct HeldOut {
    selection: String,
    statements: Vec<(String, gap::GapCheck)>,
    total: gap::GapCheck,
    warnings: Vec<String>,
}

fn held_out_summary(tt: &TrainTest, selection: String, n_train: usize, n_test: usize) -> HeldOut {
    let k = tt.report.k;
    let statements: Vec<(String, gap::GapCheck)> = tt
        .train_rows
        .iter()
        .zip(&tt.test_rows)
        .map(|(a, b)| (a.label.clone(), gap::check(&a.nll, &b.nll, k)))
        .collect();
    let total = gap::check(
        &row_totals(&tt.train_rows, n_train),
        &row_totals(&tt.test_rows, n_test),
        k,
    );
    let mut warnings = Vec::new();
    if let Some(w) = total.warning("all statements") {
        warnings.push(w);
    }
    if statements.len() > 1 {
        warnings.extend(
            statements
                .iter()
                .filter_map(|(l, g)| g.warning(&format!("`{l}`"))),
        );
    }
    HeldOut {
        selection,
        statements,
        total,
        warnings,
    }
}

fn held_out_text(h: &HeldOut) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "held-out evaluation ({})", h.selection);
    let _ = writeln!(
        out,
        "  {:<32} {:>8} {:>8} {:>14} {:>14} {:>12} {:>12}",
        "statement", "n train", "n test", "train mean NLL", "test mean NLL", "gap", "allowed"
    );
    let line = |out: &mut String, label: &str, g: &gap::GapCheck| {
        let _ = writeln!(
            out,
            "  {:<32} {:>8} {:>8} {:>14.6} {:>14.6} {:>12.6} {:>12.6}",
            label,
            g.n_train,
            g.n_test,
            g.train_mean_nll,
            g.test_mean_nll,
            g.gap,
            g.expected_optimism + gap::GAP_SE * g.test_se
        );
    };
    for (label, g) in &h.statements {
        line(&mut out, label, g);
    }
    if h.statements.len() > 1 {
        line(&mut out, "all statements", &h.total);
    }
    for w in &h.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// `nll fit --holdout` and `nll fit --split-column`.
pub(super) fn fit_held_out(
    args: &FitArgs,
    loaded: &Loaded,
    path: &Path,
    color: bool,
) -> Result<(), Failure> {
    let h = &args.held_out;
    let requests = compile::column_requests(&loaded.model);
    let base = LoadOptions {
        drop_missing: args.data.drop_missing,
        filters: args.data.filters.clone(),
    };
    let mut selection = filter_selection(&args.data);
    let (train, mut test, what) = if let Some(col) = &h.split_column {
        let with = |value: &str| {
            let mut o = base.clone();
            o.filters.push((col.clone(), value.to_string()));
            o
        };
        let train = load_data_with(loaded, &requests, &with(&h.train_value), path, color)?;
        let test = load_data_with(loaded, &requests, &with(&h.test_value), path, color)?;
        selection.push(format!("{col} = {}", h.train_value));
        let what = format!(
            "trained where {col} = {}, evaluated where {col} = {}",
            h.train_value, h.test_value
        );
        (train, test, what)
    } else {
        let fraction = h.holdout.unwrap_or(0.0);
        let all = load_data_with(loaded, &requests, &base, path, color)?;
        if !(fraction > 0.0 && fraction < 1.0) || all.n_rows < 2 {
            let d = Diagnostic::error(
                "E608",
                format!("--holdout {fraction} cannot split {} rows", all.n_rows),
            )
            .with_help("Give a share strictly between 0 and 1, such as --holdout 0.2, on data with at least 2 rows.");
            emit(&[d], &loaded.name, &loaded.source, color);
            return Err(Failure::Usage);
        }
        let (train_idx, test_idx) = split::holdout(all.n_rows, fraction, h.seed);
        selection.push(format!(
            "random {} of {} rows (holdout {fraction}, seed {})",
            train_idx.len(),
            all.n_rows,
            h.seed
        ));
        let what = format!(
            "{} rows held out at random with seed {}",
            test_idx.len(),
            h.seed
        );
        (
            recode::subset(&all, &train_idx),
            recode::subset(&all, &test_idx),
            what,
        )
    };
    recode_like(&mut test, &train, path, loaded, color)?;
    let tt = fit_and_score(loaded, Some(args), &train, &test, color)?;
    if let Some(out) = &h.output {
        write_fit_file(
            out,
            loaded,
            path,
            &train,
            selection,
            &tt.compiled,
            &tt.report,
            color,
        )?;
    }
    let summary = held_out_summary(&tt, what, train.n_rows, test.n_rows);
    match args.format {
        Format::Text => write_out(&format!(
            "{}\n{}",
            tt.report.to_text(),
            held_out_text(&summary)
        )),
        Format::Json => json_out(&serde_json::json!({
            "fit": tt.report,
            "held_out": summary,
        })),
    }
}

/// One fold of `nll cv`.
#[derive(Debug, serde::Serialize)]
struct Fold {
    fold: usize,
    converged: bool,
    status: String,
    check: gap::GapCheck,
}

/// `nll cv`.
pub fn cv(args: &CvArgs, color: bool) -> Result<(), Failure> {
    let loaded = load_model(&args.model, color)?;
    let path = needs_data(&args.data, &loaded, "cv", color)?;
    let requests = compile::column_requests(&loaded.model);
    let opts = LoadOptions {
        drop_missing: args.data.drop_missing,
        filters: args.data.filters.clone(),
    };
    let all = load_data_with(&loaded, &requests, &opts, path, color)?;
    let k = args.folds as usize;
    if all.n_rows < k {
        let d = Diagnostic::error(
            "E608",
            format!("{k} folds need at least {k} rows, found {}", all.n_rows),
        )
        .with_help("Use fewer folds.");
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Usage);
    }
    let fold_of = split::folds(all.n_rows, k, args.seed);
    let mut folds = Vec::new();
    let mut pooled_train = Vec::new();
    let mut pooled_test = Vec::new();
    let mut n_params = 0;
    for f in 0..k {
        let train_idx: Vec<usize> = (0..all.n_rows).filter(|i| fold_of[*i] != f).collect();
        let test_idx: Vec<usize> = (0..all.n_rows).filter(|i| fold_of[*i] == f).collect();
        let train = recode::subset(&all, &train_idx);
        let mut test = recode::subset(&all, &test_idx);
        recode_like(&mut test, &train, path, &loaded, color)?;
        let tt = fit_and_score(&loaded, None, &train, &test, color)?;
        let train_nll = row_totals(&tt.train_rows, train.n_rows);
        let test_nll = row_totals(&tt.test_rows, test.n_rows);
        n_params = n_params.max(tt.report.k);
        folds.push(Fold {
            fold: f + 1,
            converged: tt.report.converged,
            status: tt.report.status.clone(),
            check: gap::check(&train_nll, &test_nll, tt.report.k),
        });
        // The training mean of a fold weighs each training row once; pool
        // the fold means, each repeated per held-out row, so the pooled
        // training mean averages the folds like the held-out one.
        let train_mean = train_nll.iter().sum::<f64>() / train_nll.len() as f64;
        pooled_train.extend(std::iter::repeat_n(train_mean, test_nll.len()));
        pooled_test.extend(test_nll);
    }
    // Each fold trains on about n (k - 1) / k rows.
    let n_train_typical = all.n_rows * (k - 1) / k;
    let mut pooled = gap::check(&pooled_train, &pooled_test, n_params);
    pooled.n_train = n_train_typical;
    pooled.expected_optimism = n_params as f64 / n_train_typical as f64;
    pooled.overconfident = pooled.gap > pooled.expected_optimism + gap::GAP_SE * pooled.test_se;
    let mut warnings: Vec<String> = pooled.warning("cross-validation").into_iter().collect();
    for f in folds.iter().filter(|f| !f.converged) {
        warnings.push(format!(
            "fold {}: the fit did not converge ({})",
            f.fold, f.status
        ));
    }
    match args.format {
        Format::Json => json_out(&serde_json::json!({
            "model": loaded.name,
            "data": path.display().to_string(),
            "folds": folds,
            "pooled": pooled,
            "seed": args.seed,
            "warnings": warnings,
        })),
        Format::Text => {
            use std::fmt::Write;
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{k}-fold cross-validation of {} on {} ({} rows, seed {})",
                loaded.name,
                path.display(),
                all.n_rows,
                args.seed
            );
            let _ = writeln!(
                out,
                "  {:>4} {:>8} {:>8} {:>14} {:>14} {:>12}  status",
                "fold", "n train", "n test", "train mean NLL", "test mean NLL", "gap"
            );
            for f in &folds {
                let _ = writeln!(
                    out,
                    "  {:>4} {:>8} {:>8} {:>14.6} {:>14.6} {:>12.6}  {}",
                    f.fold,
                    f.check.n_train,
                    f.check.n_test,
                    f.check.train_mean_nll,
                    f.check.test_mean_nll,
                    f.check.gap,
                    f.status
                );
            }
            let _ = writeln!(
                out,
                "  {:>4} {:>8} {:>8} {:>14.6} {:>14.6} {:>12.6}  (allowed {:.6})",
                "all",
                "",
                all.n_rows,
                pooled.train_mean_nll,
                pooled.test_mean_nll,
                pooled.gap,
                pooled.expected_optimism + gap::GAP_SE * pooled.test_se
            );
            for w in &warnings {
                let _ = writeln!(out, "warning: {w}");
            }
            write_out(&out)
        }
    }
}
