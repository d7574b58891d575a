//! The commands that use a saved fit: `fit --output` writes it, `eval`,
//! `predict` and `simulate` apply it to new data. The numbers come from
//! `crate::evaluate`; this file loads, lines new data up with the fit (its
//! factor levels, stand-ins for absent outcomes) and reports problems as
//! diagnostics. `held_out.rs` holds the commands that split rows.

use crate::data::SourceRows;
use std::path::{Path, PathBuf};

use clap::Args;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::pipeline::{emit, load_data_with, load_model, write_out, Failure, Loaded};
use super::{parse_level, DataArgs, Format};
use crate::compile::{self, Compiled};
use crate::data::{self, Column, ColumnKind, ColumnRequest, DataSet, LoadOptions};
use crate::diag::Diagnostic;
use crate::evaluate::{self, recode, EvalOptions, Prediction, StatementRows};
use crate::fitfile::{self, FitFile, FitFileError, ModelIdentity};
use crate::infer::FitReport;

/// Options of `nll fit` that keep the fit or hold rows out of it.
#[derive(Debug, Args)]
pub struct HeldOutArgs {
    /// Write the fit (estimates, theta, covariance, model hash, data summary) to this JSON file.
    #[arg(long, value_name = "FIT.json")]
    pub output: Option<PathBuf>,
    /// Hold out this share of the rows, drawn at random with --seed, and evaluate on them.
    #[arg(
        long,
        value_name = "FRACTION",
        conflicts_with = "split_column",
        allow_negative_numbers = true
    )]
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
    #[arg(long, default_value_t = evaluate::DEFAULT_BINS as u64, value_parser = clap::value_parser!(u64).range(2..=1000))]
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
    crate::fsutil::write_atomically(out, fit.to_json().as_bytes()).map_err(|e| {
        let d = Diagnostic::error(
            "E701",
            format!("cannot write fit file `{}`: {e}", out.display()),
        )
        .with_note("Nothing was written: the file is replaced whole or left as it was.");
        emit(&[d], &loaded.name, &loaded.source, color);
        Failure::Input
    })
}

/// Refuses (E706) an output path that names one of the command's input
/// files, each given with what it is ("model file"): the output would
/// replace it (`--output model.nll` overwrote the model with the fit).
pub(super) fn refuse_output_over_input(
    out: Option<&Path>,
    inputs: &[(&Path, &str)],
    color: bool,
) -> Result<(), Failure> {
    let Some((path, what)) = out.and_then(|o| crate::fsutil::input_named_by(o, inputs)) else {
        return Ok(());
    };
    let d = Diagnostic::error(
        "E706",
        format!(
            "the output `{}` is the {what} `{}` this command reads",
            out.map(|o| o.display().to_string()).unwrap_or_default(),
            path.display()
        ),
    )
    .with_note("Writing it would replace that file; nothing was written.")
    .with_help("Give the output another name.");
    emit(&[d], "", "", color);
    Err(Failure::Input)
}

/// Reports an output file or folder that cannot be written (E706).
fn output_failure(loaded: &Loaded, what: &Path, e: &std::io::Error, color: bool) -> Failure {
    let d = Diagnostic::error("E706", format!("cannot write `{}`: {e}", what.display()));
    emit(&[d], &loaded.name, &loaded.source, color);
    Failure::Input
}

/// Reads a fit file for the loaded model, with a diagnostic when it cannot
/// be used.
fn load_fit(loaded: &Loaded, path: &Path, color: bool) -> Result<FitFile, Failure> {
    crate::fsutil::protect_input(path);
    let id = identity(loaded);
    FitFile::load(path, &id.hash, &id.params).map_err(|e| {
        let d = match &e {
            FitFileError::Read { .. } => Diagnostic::error("E701", e.to_string()),
            FitFileError::Invalid { .. } => Diagnostic::error("E702", e.to_string())
                .with_help("Give a file written by `nll fit --output`."),
            FitFileError::ModelChanged {
                fitted_file,
                fitted_params,
                params,
                ..
            } => Diagnostic::error("E703", e.to_string())
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
    .inspect(|fit| {
        // What follows is only as good as the fit; say when it was not one.
        if !fit.converged {
            eprintln!(
                "warning: the fit in `{}` did not converge ({}): what is computed from it inherits that",
                crate::diag::visible(&path.display().to_string()),
                crate::diag::visible(&fit.status)
            );
        }
    })
}

/// Names on the left of likelihood statements that are plain columns:
/// the data name, the column and the support of their distribution.
fn outcome_columns(loaded: &Loaded) -> Vec<(String, String, crate::dist::Support)> {
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
                out.push((name.clone(), c.clone(), support));
            }
        }
    }
    out
}

/// Whether `e` mentions `name`, as a name or an indexed vector.
fn mentions(e: &crate::syntax::ast::Expr, name: &str) -> bool {
    use crate::syntax::ast::ExprKind;
    match &e.kind {
        ExprKind::Number(_) => false,
        ExprKind::Name(n) => n == name,
        ExprKind::Call { args, .. } => args.iter().any(|a| mentions(a, name)),
        ExprKind::Index { base, indices } => {
            base.name == name || indices.iter().any(|a| mentions(a, name))
        }
        ExprKind::Neg(inner) => mentions(inner, name),
        ExprKind::Binary { lhs, rhs, .. } => mentions(lhs, name) || mentions(rhs, name),
    }
}

/// Whether the data name `name` is used on the right of any statement or
/// in a function body: then it is a covariate too, and its values count.
fn used_as_covariate(loaded: &Loaded, name: &str) -> bool {
    let m = &loaded.model;
    m.funcs.iter().any(|f| mentions(&f.body, name))
        || m.statements.iter().any(|s| {
            s.args.iter().any(|a| mentions(a, name))
                || s.compound.as_ref().is_some_and(|(_, comps)| {
                    comps
                        .iter()
                        .any(|c| c.args.iter().any(|a| mentions(a, name)))
                })
        })
}

/// What new data must hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcomes {
    /// Evaluation: every column, outcomes included.
    Required,
    /// Prediction and simulation: outcomes are not needed. An outcome column
    /// absent from the file, or used only as an outcome, is not read (so its
    /// cells may be empty) and gets stand-in values.
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
            let all = requests.clone();
            for (var, name, support) in outcome_columns(loaded) {
                if header.iter().any(|h| h == &name) && used_as_covariate(loaded, &var) {
                    continue;
                }
                if let Some(pos) = requests.iter().position(|r| r.name == name) {
                    let r = requests.remove(pos);
                    let at = all.iter().position(|a| a.name == name).unwrap_or(0);
                    stand_ins.push((r, support, at));
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
    // In the place the column would have had, so `simulate` keeps the
    // column order.
    stand_ins.sort_by_key(|(_, _, at)| *at);
    for (r, support, at) in &stand_ins {
        recode::add_placeholder(&mut ds, &r.name, r.kind, *support, fit.levels_of(&r.name));
        if let Some(col) = ds.columns.pop() {
            let at = (*at).min(ds.columns.len());
            ds.columns.insert(at, col);
        }
    }
    recode_to(&mut ds, |name| fit.levels_of(name), path, loaded, color)?;
    Ok(ds)
}

/// Codes the factors of `ds` with known levels; unknown levels are E704.
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
                Diagnostic::error("E704", u.to_string())
                    .with_note(format!(
                        "In data file `{}`, {} {} (counted from 1 for the first data row).",
                        path.display(),
                        if u.n_rows == 1 { "row" } else { "rows" },
                        u.listed_rows()
                    ))
                    .with_note(format!("The fit knows the levels: {}.", u.known.join(", ")))
                    .with_help("A parameter per level has no estimate for a level the fit never saw: remove those rows from the file, or fit on data that include the level.")
            })
            .collect();
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    })
}

/// Codes the factors of held-out rows with the training rows' levels.
/// Held-out rows with a level the training rows lack cannot be scored (a
/// parameter per level has no estimate for it): they are taken out, and
/// the returned warnings say which.
pub(super) fn recode_like(
    test: &mut DataSet,
    train: &DataSet,
    path: &Path,
    loaded: &Loaded,
    color: bool,
) -> Result<Vec<String>, Failure> {
    let levels_of = |name: &str| match train.column(name) {
        Some(Column::Factor { levels, .. }) => Some(levels.as_slice()),
        _ => None,
    };
    let unknown = recode::drop_unknown_levels(test, levels_of);
    let mut warnings: Vec<String> = unknown
        .iter()
        .map(|u| {
            let (n_rows, has, they) = if u.n_rows == 1 {
                ("1 held-out row (file row".to_string(), "has", "it is")
            } else {
                (format!("{} held-out rows (file rows", u.n_rows), "have", "they are")
            };
            format!(
                "{n_rows} {}) {has} the level `{}` of `{}`, which no training row has: the fit has no estimate for it (a parameter of that level, or that outcome class), so {they} left out of the held-out scores",
                u.listed_rows(),
                u.level,
                u.column
            )
        })
        .collect();
    if !unknown.is_empty() && test.n_rows == 0 {
        warnings
            .push("no held-out row is left to score, so the held-out means are NaN".to_string());
    }
    recode_to(test, levels_of, path, loaded, color)?;
    Ok(warnings)
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
            "E705",
            "the model's parameters on this data differ from the fit's",
        )
        .with_note(format!("The fit has: {}.", fitted.join(", ")))
        .with_note(format!("On this data the model has: {}.", names.join(", ")));
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    // The commands use theta; an estimate that is not its natural value
    // was edited (or the file was written by something else), and would be
    // silently ignored.
    let edited: Vec<String> = compiled
        .params
        .iter()
        .zip(&fit.theta)
        .zip(&fit.estimates)
        .filter(|((p, t), e)| {
            let natural = p.transform.to_natural(**t);
            // relative to the larger, which must be finite: theta = 710
            // for a log-scale gives infinity, not an estimate of 0.47
            let scale = natural.abs().max(e.estimate.abs());
            !(natural == e.estimate
                || (scale.is_finite() && (natural - e.estimate).abs() <= 1e-12 * scale))
        })
        .map(|((p, t), e)| {
            format!(
                "`{}`: estimate {} but theta gives {}",
                p.name,
                e.estimate,
                p.transform.to_natural(*t)
            )
        })
        .collect();
    let mut edited = edited;
    // The last coordinate, the smoothing width of kinks, is the fit's own;
    // a negative one would turn |x| into something that is no density.
    if let Some(width) = fit.theta.last().filter(|w| !(w.is_finite() && **w >= 0.0)) {
        edited.push(format!(
            "the last theta coordinate (the smoothing width of kinks) is {width}, not a number >= 0"
        ));
    }
    if !edited.is_empty() {
        let d = Diagnostic::error(
            "E711",
            "the fit file's estimates do not match its theta, which is what this command uses",
        )
        .with_note(format!("{}.", edited.join("; ")))
        .with_help("Refit the model with `nll fit --output`, or edit `theta` (the unconstrained coordinates: log of a positive parameter, logit of one in (0, 1)) along with the estimates.");
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    Ok(compiled)
}

/// At most this many rows are listed in a warning about new data.
const MAX_LISTED_ROWS: usize = 10;

/// Warns (W701) about every distribution argument outside its support on
/// rows of the new data at `path`, saying what `consequence` that has.
fn warn_outside_support(
    a_rows: &[StatementRows],
    source_rows: &SourceRows,
    path: &Path,
    loaded: &Loaded,
    consequence: &str,
    color: bool,
) {
    let diags: Vec<Diagnostic> = a_rows
        .iter()
        .flat_map(|sr| sr.outside.iter().map(move |o| (sr, o)))
        .map(|(sr, o)| {
            let listed: Vec<String> = o
                .rows
                .iter()
                .take(MAX_LISTED_ROWS)
                .map(|(i, v)| {
                    let row = source_rows.row_of(*i);
                    format!("{row} ({v})")
                })
                .collect();
            let more = if o.rows.len() > MAX_LISTED_ROWS {
                format!(", and {} more", o.rows.len() - MAX_LISTED_ROWS)
            } else {
                String::new()
            };
            Diagnostic::warning(
                "W701",
                format!(
                    "`{}` of `{}` in `{}` is outside its support in {} of the new data",
                    o.arg,
                    o.family,
                    sr.label,
                    crate::model::plural(o.rows.len(), "row")
                ),
            )
            .with_primary(o.span, format!("must be {}", o.support.describe()))
            .with_note(format!(
                "In data file `{}`, {} {}{more} (counted from 1 for the first data row; the value in parentheses).",
                path.display(),
                if o.rows.len() == 1 { "row" } else { "rows" },
                listed.join(", ")
            ))
            .with_note(consequence.to_string())
        })
        .collect();
    emit(&diags, &loaded.name, &loaded.source, color);
}

/// Errors (E710) for the statements whose NLL is NaN on some row inside
/// every support: a total or a mean over it would be a wrong number printed
/// as a result. `data` names the rows in words (the data file, or the
/// held-out rows).
pub(super) fn undefined_nll(
    rows: &[StatementRows],
    source_rows: &SourceRows,
    data: &str,
) -> Vec<Diagnostic> {
    evaluate::undefined_nll_rows(rows)
        .into_iter()
        .map(|(label, bad)| {
            let listed: Vec<String> = bad
                .iter()
                .take(MAX_LISTED_ROWS)
                .map(|i| source_rows.row_of(*i).to_string())
                .collect();
            let more = if bad.len() > MAX_LISTED_ROWS {
                format!(", and {} more", bad.len() - MAX_LISTED_ROWS)
            } else {
                String::new()
            };
            Diagnostic::error(
                "E710",
                format!(
                    "the NLL of `{label}` is not a number on {} of {data} at the fitted values",
                    crate::model::plural(bad.len(), "row"),
                ),
            )
            .with_note(format!(
                "Rows {}{more} (counted from 1 for the first data row).",
                listed.join(", ")
            ))
            .with_help("The density's formula breaks down there: a parameter is so extreme that an intermediate value overflows. Check the fit's estimates.")
        })
        .collect()
}

pub(super) fn needs_data<'a>(
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
    warn_outside_support(
        &rows,
        &compiled.source_rows,
        path,
        &loaded,
        "Those rows have no density there: they are left out of every metric.",
        color,
    );
    if compiled.n_rows > 0 && evaluate::rows_in_support(&rows, compiled.n_rows).is_empty() {
        let d = Diagnostic::error(
            "E709",
            format!(
                "no row of `{}` can be evaluated: on every row a distribution argument is outside its support",
                path.display()
            ),
        )
        .with_help("Check the new data against the data the model was fitted on (a log or a scale of a value the fit never saw, such as 0 or a negative number).");
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    let undefined = undefined_nll(
        &rows,
        &compiled.source_rows,
        &format!("`{}`", path.display()),
    );
    if !undefined.is_empty() {
        emit(&undefined, &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    let groups = match &args.by {
        Some(col) => Some(group_codes(&ds, col)),
        None => None,
    };
    let mut report = evaluate::report::build(
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
        let written = evaluate::plot::write_all(dir, &rows, &report)
            .map_err(|e| output_failure(&loaded, dir, &e, color))?;
        report.figures = written
            .iter()
            .map(|name| dir.join(name).display().to_string())
            .collect();
    }
    match args.format {
        Format::Text => write_out(&report.to_text()),
        Format::Json => json_out(&report),
    }
}

pub(super) fn json_out<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
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
                .map(|v| distinct.binary_search_by(|d| d.total_cmp(v)).unwrap_or(0) as u32)
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
    let consequence = if command == "simulate" {
        "Those rows have no distribution there: their draws are left empty."
    } else {
        "Those rows have no distribution there: their cells are left empty."
    };
    warn_outside_support(
        &rows,
        &compiled.source_rows,
        path,
        &loaded,
        consequence,
        color,
    );
    Ok(Applied {
        loaded,
        ds,
        compiled,
        rows,
    })
}

/// `nll predict`.
pub fn predict(args: &PredictArgs, color: bool) -> Result<(), Failure> {
    refuse_output_over_input(
        args.out.as_deref(),
        &inputs_of(&args.model, &args.fit, &args.data),
        color,
    )?;
    let a = apply_fit(&args.model, &args.fit, &args.data, "predict", color)?;
    let csv = evaluate::table::prediction_csv(&a.rows, &a.compiled.source_rows, args.level);
    write_csv(&csv, args.out.as_deref(), &a.loaded, color)
}

/// The input files of a command that applies a fit, with what each is.
fn inputs_of<'a>(
    model: &'a Path,
    fit: &'a Path,
    data: &'a DataArgs,
) -> Vec<(&'a Path, &'static str)> {
    let mut inputs = vec![(model, "model file"), (fit, "fit file")];
    inputs.extend(data.data.as_deref().map(|d| (d, "data file")));
    inputs
}

pub(super) fn write_csv(
    text: &str,
    out: Option<&Path>,
    loaded: &Loaded,
    color: bool,
) -> Result<(), Failure> {
    match out {
        None => write_out(text),
        Some(p) => crate::fsutil::write_atomically(p, text.as_bytes())
            .map_err(|e| output_failure(loaded, p, &e, color)),
    }
}

/// `nll simulate`.
pub fn simulate(args: &SimulateArgs, color: bool) -> Result<(), Failure> {
    refuse_output_over_input(
        args.out.as_deref(),
        &inputs_of(&args.model, &args.fit, &args.data),
        color,
    )?;
    let Applied {
        loaded, ds, rows, ..
    } = apply_fit(&args.model, &args.fit, &args.data, "simulate", color)?;
    if let Some(sr) = rows
        .iter()
        .find(|r| matches!(r.prediction, Prediction::Unsupported(_)))
    {
        let d = Diagnostic::error("E707", format!("cannot simulate `{}`", sr.label)).with_note(
            match &sr.prediction {
                Prediction::Unsupported(why) => format!("{why}."),
                _ => String::new(),
            },
        );
        emit(&[d], &loaded.name, &loaded.source, color);
        return Err(Failure::Input);
    }
    let mut rng = StdRng::seed_from_u64(args.seed);
    let csv = evaluate::table::simulation_csv(&ds, &rows, args.draws as usize, &mut rng);
    write_csv(&csv, args.out.as_deref(), &loaded, color)
}
