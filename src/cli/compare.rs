//! `nll compare`: fits several models on the same data and prints one
//! table (`infer::compare`), optionally with the mean NLL of held-out rows.

use std::path::Path;

use super::pipeline::{compile_on, emit, load_data, load_model, write_out, Failure, Loaded};
use super::{CompareArgs, DataArgs, Format};
use crate::compile::Compiled;
use crate::diag::Diagnostic;
use crate::infer::compare::{self, CompareInput};
use crate::infer::{self, FitOptions, FitReport};

/// One model read, compiled and fitted.
struct Fitted {
    label: String,
    loaded: Loaded,
    compiled: Compiled,
    report: FitReport,
    held_out: Option<compare::HeldOut>,
}

pub fn compare_cmd(args: &CompareArgs, color: bool) -> Result<(), Failure> {
    let Some(path) = &args.data.data else {
        let d = Diagnostic::error("E002", "`nll compare` needs data")
            .with_help("Give the data file with --data FILE.csv.");
        emit(&[d], "", "", color);
        return Err(Failure::Usage);
    };
    let labels = labels_of(&args.models);

    // With a split, every model is fitted on the training rows only.
    let mut fit_data = args.data.filters.clone();
    if let Some(col) = &args.split_column {
        fit_data.push((col.clone(), args.train_value.clone()));
    }
    let fit_args = DataArgs {
        data: args.data.data.clone(),
        drop_missing: args.data.drop_missing,
        filters: fit_data,
    };

    let mut fitted = Vec::new();
    for (model_path, label) in args.models.iter().zip(labels) {
        let loaded = load_model(model_path, color)?;
        let mut ds = load_data(&loaded, &fit_args, path, color)?;
        let compiled = compile_on(&loaded, &mut ds, color)?;
        let opts = FitOptions {
            starts: Vec::new(),
            max_iter: args.max_iter,
            method: args.method.method(),
            ..FitOptions::default()
        };
        let mut report = infer::fit(&compiled, &opts).map_err(|diags| {
            emit(&diags, &loaded.name, &loaded.source, color);
            Failure::Input
        })?;
        report.n_dropped = ds.n_dropped;
        let held_out = match &args.split_column {
            Some(col) => Some(held_out(
                args, col, path, &loaded, &compiled, &report, color,
            )?),
            None => None,
        };
        fitted.push(Fitted {
            label,
            loaded,
            compiled,
            report,
            held_out,
        });
    }

    let inputs: Vec<CompareInput> = fitted
        .iter()
        .map(|f| CompareInput {
            label: f.label.clone(),
            compiled: &f.compiled,
            report: &f.report,
            held_out: f.held_out.clone(),
        })
        .collect();
    let comparison = compare::compare(&inputs, &args.nested).map_err(|d| {
        emit(&[d], "", "", color);
        Failure::Input
    })?;
    // Name the first model's file in any log line about the comparison.
    log::info!(
        "compared {} models (first: {})",
        fitted.len(),
        fitted.first().map(|f| f.loaded.name.as_str()).unwrap_or("")
    );
    match args.format {
        Format::Text => write_out(&comparison.to_text()),
        Format::Json => match serde_json::to_string_pretty(&comparison) {
            Ok(s) => write_out(&format!("{s}\n")),
            Err(e) => Err(Failure::Io(format!("cannot write JSON: {e}"))),
        },
    }
}

/// The mean NLL of the rows where `col` equals the test value, at the
/// estimates fitted on the training rows.
fn held_out(
    args: &CompareArgs,
    col: &str,
    path: &Path,
    loaded: &Loaded,
    train: &Compiled,
    report: &FitReport,
    color: bool,
) -> Result<compare::HeldOut, Failure> {
    let mut filters = args.data.filters.clone();
    filters.push((col.to_string(), args.test_value.clone()));
    let test_args = DataArgs {
        data: args.data.data.clone(),
        drop_missing: args.data.drop_missing,
        filters,
    };
    let mut ds = load_data(loaded, &test_args, path, color)?;
    let test = compile_on(loaded, &mut ds, color)?;
    Ok(compare::held_out_nll(train, &report.theta, &test))
}

/// Each model's name in the table: its file stem, or the whole path when
/// two files share a stem.
fn labels_of(paths: &[std::path::PathBuf]) -> Vec<String> {
    let stems: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string())
        })
        .collect();
    stems
        .iter()
        .zip(paths)
        .map(|(s, p)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.display().to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}
