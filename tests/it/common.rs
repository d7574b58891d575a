//! Shared helpers: run the library pipeline on files in the repository.

use nll::compile;
use nll::data::{self, LoadOptions};
use nll::diag::render;
use nll::infer::{self, FitOptions, FitReport};
use nll::model;
use nll::syntax;

pub fn repo_path(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Parses, checks, loads, compiles and fits `examples/NAME` on
/// `examples/data/DATA`; panics with the rendered diagnostics on failure.
pub fn fit_example(example: &str, data_file: &str, filters: &[(&str, &str)]) -> FitReport {
    fit_paths(
        &repo_path(&format!("examples/{example}")),
        &repo_path(&format!("examples/data/{data_file}")),
        filters,
    )
}

/// Parses, checks and loads `examples/NAME` with `examples/data/DATA`.
pub fn load_example(example: &str, data_file: &str) -> (nll::model::Model, data::DataSet) {
    let model_path = repo_path(&format!("examples/{example}"));
    let source = std::fs::read_to_string(&model_path).expect("example exists");
    let program = syntax::parse_program(&source).expect("example parses");
    let (model, diags) = model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let requests = nll::compile::column_requests(&model);
    let path = repo_path(&format!("examples/data/{data_file}"));
    let ds = data::load_csv(
        std::path::Path::new(&path),
        &requests,
        &LoadOptions::default(),
    )
    .expect("data loads");
    (model, ds)
}

/// Fits the model file `model_path` on the CSV `data_path`.
pub fn fit_paths(model_path: &str, data_path: &str, filters: &[(&str, &str)]) -> FitReport {
    let example = model_path;
    let source = std::fs::read_to_string(&model_path).expect("example exists");
    let fail = |diags: Vec<nll::diag::Diagnostic>| -> ! {
        let text: String = diags
            .iter()
            .map(|d| render(d, example, &source, false))
            .collect();
        panic!("{example}:\n{text}")
    };
    let program = syntax::parse_program(&source).unwrap_or_else(|d| fail(d));
    let (model, diags) = model::check(&program);
    if diags.iter().any(|d| d.is_error()) {
        fail(diags);
    }
    let requests = nll::compile::column_requests(&model);
    let opts = LoadOptions {
        drop_missing: false,
        filters: filters
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    };
    let ds = data::load_csv(std::path::Path::new(data_path), &requests, &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let compiled = compile::compile(&model, &ds, &ds.source_rows).unwrap_or_else(|d| fail(d));
    infer::fit(&compiled, &FitOptions::default()).unwrap_or_else(|d| fail(d))
}

/// Like [`fit_example`] for a model and data under `tests/fixtures/`.
pub fn fit_fixture(model: &str, data_file: &str) -> FitReport {
    fit_paths(
        &repo_path(&format!("tests/fixtures/{model}")),
        &repo_path(&format!("tests/fixtures/{data_file}")),
        &[],
    )
}

/// Below this, a gradient norm at the estimate is rounding: its digits
/// change with the order of floating-point additions (chunk sizes, vector
/// widths), which is not what a snapshot is meant to pin down.
const ROUNDING_LEVEL_GRADIENT: f64 = 1e-8;

/// `text` with every `gradient norm  X` line below [`ROUNDING_LEVEL_GRADIENT`]
/// shown as `gradient norm  < 1e-8`, for snapshots. Larger norms are kept:
/// a fit that stops short of the optimum must still show.
pub fn redact_rounding(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let redacted = line.strip_prefix("gradient norm").and_then(|rest| {
            let value: f64 = rest.trim().parse().ok()?;
            let pad = &rest[..rest.len() - rest.trim_start().len()];
            let newline = if line.ends_with('\n') { "\n" } else { "" };
            (value.abs() < ROUNDING_LEVEL_GRADIENT)
                .then(|| format!("gradient norm{pad}< {ROUNDING_LEVEL_GRADIENT:e}{newline}"))
        });
        out.push_str(redacted.as_deref().unwrap_or(line));
    }
    out
}
