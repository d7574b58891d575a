//! Training against held-out rows: `nll fit --holdout`, `nll fit
//! --split-column` and `nll cv`. Each split is fitted on its training rows
//! and both parts are scored per row with the compiled model; the
//! comparison and its warning rule are in `crate::evaluate::gap`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::evaluate::{
    filter_selection, json_out, needs_data, recode_like, undefined_nll, write_fit_file,
};
use super::pipeline::{emit, load_data_with, load_model, write_out, Failure, Loaded};
use super::{DataArgs, FitArgs, Format};
use crate::compile::{self, Compiled};
use crate::data::{self, DataSet, LoadOptions};
use crate::diag::Diagnostic;
use crate::evaluate::gap::fixed6;
use crate::evaluate::{self, gap, recode, split, EvalOptions, StatementRows};
use crate::infer::{self, FitOptions, FitReport};

#[derive(Debug, Args)]
pub struct CvArgs {
    /// The model file (.nll).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of folds.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(2..=1000))]
    pub folds: u64,
    /// Seed of the random fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
    /// Held-out rows where a distribution argument is outside its support
    /// (a probability above 1 from an identity link), said in words.
    test_outside: Vec<String>,
}

fn fit_and_score(
    loaded: &Loaded,
    args_fit: Option<&FitArgs>,
    train: &DataSet,
    test: &DataSet,
    fold: Option<(usize, usize)>,
    color: bool,
) -> Result<TrainTest, Failure> {
    // Errors name the fold they happened in; the model's warnings, the same
    // for every fold, are shown once.
    let report_diags = |diags: Vec<Diagnostic>| {
        let diags: Vec<Diagnostic> = match fold {
            Some((k, n)) => diags
                .into_iter()
                .map(|d| d.with_note(format!("In fold {k} of {n}.")))
                .collect(),
            None => diags,
        };
        emit(&diags, &loaded.name, &loaded.source, color);
        Failure::Input
    };
    let mut compiled =
        compile::compile(&loaded.model, train, &train.source_rows).map_err(report_diags)?;
    // Fewer training rows than parameters, without priors to make up for
    // them, leave the fit undetermined and its training NLL meaningless
    // (an exact fit with a collapsed scale: NaN per row).
    let has_priors = compiled.statements.iter().any(|s| s.is_prior);
    if !has_priors && compiled.n_rows < compiled.n_params() {
        let d = Diagnostic::error(
            "E708",
            format!(
                "the training rows are too few to fit: {} for {} parameters",
                match compiled.n_rows {
                    1 => "1 row".to_string(),
                    n => format!("{n} rows"),
                },
                compiled.n_params()
            ),
        )
        .with_help("Train on more rows: hold out fewer, choose fewer folds, or use more data.");
        // (a usage problem, as the other E708 errors)
        let _ = report_diags(vec![d]);
        return Err(Failure::Usage);
    }
    if fold.is_none_or(|(k, _)| k == 1) {
        emit(&compiled.warnings, &loaded.name, &loaded.source, color);
    }
    let opts = match args_fit {
        Some(a) => {
            if a.jacobian {
                compiled = compiled.with_jacobian();
            }
            FitOptions {
                starts: a.starts.clone(),
                max_iter: a.max_iter,
                method: super::method_of(a),
                ..FitOptions::default()
            }
        }
        None => FitOptions::default(),
    };
    let mut report = infer::fit(&compiled, &opts).map_err(report_diags)?;
    report.n_dropped = train.n_dropped;
    let test_compiled =
        compile::compile(&loaded.model, test, &test.source_rows).map_err(report_diags)?;
    let opts = EvalOptions::default();
    let train_rows = evaluate::statement_rows(&compiled, &report.theta, &loaded.source, &opts);
    let mut test_rows =
        evaluate::statement_rows(&test_compiled, &report.theta, &loaded.source, &opts);
    // Where an argument is outside its support the model gives the row no
    // probability at all: its held-out NLL counts as infinite, not as the
    // number the formula happens to give there (-log(1.3), say, for a
    // "probability" of 1.3, which would flatter the model).
    let mut test_outside = Vec::new();
    for sr in &mut test_rows {
        for o in &sr.outside {
            for (i, _) in &o.rows {
                if let Some(v) = sr.nll.get_mut(*i) {
                    *v = f64::INFINITY;
                }
            }
            let (i, value) = o.rows[0];
            test_outside.push(format!(
                "`{}` of `{}` in `{}` is outside its support ({}) on {} (row {}: {value}); their held-out NLL counts as infinite",
                o.arg,
                o.family,
                sr.label,
                o.support.describe(),
                crate::model::plural(o.rows.len(), "held-out row"),
                test_compiled.source_rows.row_of(i),
            ));
        }
    }
    let mut undefined = undefined_nll(&train_rows, &compiled.source_rows, "the training rows");
    undefined.extend(undefined_nll(
        &test_rows,
        &test_compiled.source_rows,
        "the held-out rows",
    ));
    if !undefined.is_empty() {
        return Err(report_diags(undefined));
    }
    Ok(TrainTest {
        compiled,
        report,
        train_rows,
        test_rows,
        test_outside,
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
    let mut warnings = tt.test_outside.clone();
    let what = match statements.as_slice() {
        [(label, _)] => format!("`{label}`"),
        _ => "all statements".to_string(),
    };
    if let Some(w) = total.warning(&what) {
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
        "  {:<32} {:>8} {:>8} {:>16} {:>16} {:>12} {:>12}",
        "statement", "n train", "n test", "train mean NLL", "test mean NLL", "gap", "allowed"
    );
    let line = |out: &mut String, label: &str, g: &gap::GapCheck| {
        let _ = writeln!(
            out,
            "  {:<32} {:>8} {:>8} {:>16} {:>16} {:>12} {:>12}",
            label,
            g.n_train,
            g.n_test,
            fixed6(g.train_mean_nll),
            fixed6(g.test_mean_nll),
            fixed6(g.gap),
            fixed6(g.allowed())
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
        if h.train_value == h.test_value {
            let d = Diagnostic::error(
                "E708",
                format!(
                    "--train-value and --test-value are both `{}`: the held-out rows would be the training rows",
                    h.train_value
                ),
            )
            .with_help("Give the value that marks the held-out rows with --test-value.");
            emit(&[d], &loaded.name, &loaded.source, color);
            return Err(Failure::Usage);
        }
        let with = |value: &str| {
            let mut o = base.clone();
            o.filters.push((col.clone(), value.to_string()));
            o
        };
        crate::fsutil::protect_input(path);
        // A value no row has leaves one side empty: say which side.
        let load_side =
            |side: &str, value: &str| match data::load_file(path, &requests, &with(value)) {
                Ok(ds) => Ok(ds),
                Err(err) => {
                    let mut diags = err.to_diagnostics(&path.display().to_string());
                    for d in diags.iter_mut().filter(|d| d.code == "E312") {
                        d.message =
                            format!("no rows {side}: none is left where `{col}` = `{value}`");
                    }
                    emit(&diags, &loaded.name, &loaded.source, color);
                    Err(Failure::Input)
                }
            };
        let train = load_side("to train on", &h.train_value)?;
        let test = load_side("to hold out", &h.test_value)?;
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
                "E708",
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
    let unscored = recode_like(&mut test, &train, path, loaded, color)?;
    let mut tt = fit_and_score(loaded, Some(args), &train, &test, None, color)?;
    tt.test_outside.splice(0..0, unscored);
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
    // Profiles and figures of the fit on the training rows.
    let extras = super::extras::after_fit(args, &tt.compiled, &tt.report).map_err(|d| {
        emit(&[d], &loaded.name, &loaded.source, color);
        Failure::Input
    })?;
    let summary = held_out_summary(&tt, what, train.n_rows, test.n_rows);
    match args.format {
        Format::Text => write_out(&format!(
            "{}{}\n{}",
            tt.report.to_text(),
            extras.to_text(),
            held_out_text(&summary)
        ))?,
        Format::Json => json_out(&serde_json::json!({
            "fit": extras.output(&tt.report),
            "held_out": summary,
        }))?,
    }
    // The exit status of the fit, as without a split.
    match tt.report.outcome {
        infer::FitOutcome::Converged => Ok(()),
        other => Err(Failure::Fit(other.exit_code())),
    }
}

/// One fold of `nll cv`.
#[derive(Debug, serde::Serialize)]
struct Fold {
    fold: usize,
    converged: bool,
    #[serde(skip)]
    outcome: infer::FitOutcome,
    status: String,
    check: gap::GapCheck,
}

/// `nll cv`.
pub(super) fn cv(args: &CvArgs, color: bool) -> Result<(), Failure> {
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
            "E708",
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
    let mut fold_warnings = Vec::new();
    // The fits' own warnings (a collapsing scale, separation, a mixture
    // component carried by a few rows), each with the folds it came from.
    let mut fit_warnings: Vec<(String, Vec<usize>)> = Vec::new();
    for f in 0..k {
        let train_idx: Vec<usize> = (0..all.n_rows).filter(|i| fold_of[*i] != f).collect();
        let test_idx: Vec<usize> = (0..all.n_rows).filter(|i| fold_of[*i] == f).collect();
        let train = recode::subset(&all, &train_idx);
        let mut test = recode::subset(&all, &test_idx);
        let unscored = recode_like(&mut test, &train, path, &loaded, color)?;
        let mut tt = fit_and_score(&loaded, None, &train, &test, Some((f + 1, k)), color)?;
        tt.test_outside.splice(0..0, unscored);
        let train_nll = row_totals(&tt.train_rows, train.n_rows);
        let test_nll = row_totals(&tt.test_rows, test.n_rows);
        n_params = n_params.max(tt.report.k);
        fold_warnings.extend(
            tt.test_outside
                .iter()
                .map(|w| format!("fold {}: {w}", f + 1)),
        );
        for w in &tt.report.warnings {
            match fit_warnings.iter_mut().find(|(text, _)| text == w) {
                Some((_, in_folds)) => in_folds.push(f + 1),
                None => fit_warnings.push((w.clone(), vec![f + 1])),
            }
        }
        folds.push(Fold {
            fold: f + 1,
            converged: tt.report.converged,
            outcome: tt.report.outcome,
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
    pooled.overconfident = pooled.gap > pooled.allowed();
    let mut warnings: Vec<String> = pooled.warning("cross-validation").into_iter().collect();
    for f in folds.iter().filter(|f| !f.converged) {
        warnings.push(format!("fold {}: no proper fit: {}", f.fold, f.status));
    }
    warnings.extend(fold_warnings);
    warnings.extend(fit_warnings.into_iter().map(|(text, in_folds)| {
        let list: Vec<String> = in_folds.iter().map(|f| f.to_string()).collect();
        let folds = if in_folds.len() == 1 { "fold" } else { "folds" };
        format!("{folds} {}: {text}", list.join(", "))
    }));
    match args.format {
        Format::Json => json_out(&serde_json::json!({
            "model": loaded.name,
            "data": path.display().to_string(),
            "folds": folds,
            "pooled": pooled,
            "seed": args.seed,
            "warnings": warnings,
        }))?,
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
                "  {:>4} {:>8} {:>8} {:>16} {:>16} {:>12}  status",
                "fold", "n train", "n test", "train mean NLL", "test mean NLL", "gap"
            );
            for f in &folds {
                let _ = writeln!(
                    out,
                    "  {:>4} {:>8} {:>8} {:>16} {:>16} {:>12}  {}",
                    f.fold,
                    f.check.n_train,
                    f.check.n_test,
                    fixed6(f.check.train_mean_nll),
                    fixed6(f.check.test_mean_nll),
                    fixed6(f.check.gap),
                    f.status
                );
            }
            let _ = writeln!(
                out,
                "  {:>4} {:>8} {:>8} {:>16} {:>16} {:>12}  (allowed {})",
                "all",
                "",
                pooled.n_test,
                fixed6(pooled.train_mean_nll),
                fixed6(pooled.test_mean_nll),
                fixed6(pooled.gap),
                fixed6(pooled.allowed())
            );
            for w in &warnings {
                let _ = writeln!(out, "warning: {w}");
            }
            write_out(&out)?
        }
    }
    // Any fold that did not converge decides the exit status: 3 before 4.
    let outcomes: Vec<infer::FitOutcome> = folds.iter().map(|f| f.outcome).collect();
    match [
        infer::FitOutcome::NotConverged,
        infer::FitOutcome::NoMaximum,
    ]
    .into_iter()
    .find(|o| outcomes.contains(o))
    {
        Some(o) => Err(Failure::Fit(o.exit_code())),
        None => Ok(()),
    }
}
