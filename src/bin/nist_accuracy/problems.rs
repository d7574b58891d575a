//! The NIST StRD problems of `examples/nist/`: their certified values and
//! starts, one fit of a problem from a start, and the log relative error of
//! the result. Shared by the `nist_accuracy` program and the integration
//! tests (`tests/it/nist.rs`), so both measure the same thing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nll::compile;
use nll::data::{self, LoadOptions};
use nll::diag::render;
use nll::infer::{self, FitOptions, FitReport};
use nll::model;
use nll::syntax;
use serde::Deserialize;

/// The LRE is capped at the 11 significant digits NIST certifies for the
/// nonlinear problems (the linear ones have 15; 11 is used for both).
pub const LRE_CAP: f64 = 11.0;

/// One problem, as in `examples/nist/certified.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    pub name: String,
    /// `nonlinear` or `linear`.
    pub procedure: String,
    /// `lower`, `average` or `higher`.
    pub difficulty: String,
    pub n: usize,
    pub parameters: Vec<String>,
    pub certified_values: Vec<f64>,
    pub certified_std_devs: Vec<f64>,
    pub residual_sum_of_squares: f64,
}

impl Problem {
    pub fn is_linear(&self) -> bool {
        self.procedure == "linear"
    }
}

/// Which start a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// NIST start 1, the values in the model file.
    Start1,
    /// NIST start 2, given as start overrides.
    Start2,
    /// The single start of a linear problem (all coefficients 0).
    Linear,
}

impl Start {
    pub fn label(self) -> &'static str {
        match self {
            Start::Start1 => "1",
            Start::Start2 => "2",
            Start::Linear => "-",
        }
    }
}

/// The folder with the models, data and certified values.
pub fn nist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join("nist")
}

/// Every problem, in NIST's order (27 nonlinear, then 11 linear).
pub fn problems() -> Vec<Problem> {
    let path = nist_dir().join("certified.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The starts a problem is run from: both NIST starts of a nonlinear
/// problem, the one start of a linear problem.
pub fn starts_of(p: &Problem) -> Vec<Start> {
    if p.is_linear() {
        vec![Start::Linear]
    } else {
        vec![Start::Start1, Start::Start2]
    }
}

/// NIST's start 2 of a nonlinear problem, in the order of its parameters,
/// from `examples/nist/starts.json`.
pub fn start2(p: &Problem) -> Vec<(String, f64)> {
    let path = nist_dir().join("starts.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    p.parameters
        .iter()
        .map(|name| {
            let v = all[&p.name]["start2"][name]
                .as_f64()
                .unwrap_or_else(|| panic!("{}: no start 2 for {name}", p.name));
            (name.clone(), v)
        })
        .collect()
}

/// `-log10` of the relative error of `estimate` (of the absolute error when
/// the certified value is 0), capped at [`LRE_CAP`]; 0 for a non-finite
/// estimate or an error of 100% or more.
pub fn lre(estimate: f64, certified: f64) -> f64 {
    if !estimate.is_finite() {
        return 0.0;
    }
    let err = if certified == 0.0 {
        estimate.abs()
    } else {
        (estimate - certified).abs() / certified.abs()
    };
    if err == 0.0 {
        return LRE_CAP;
    }
    if err >= 1.0 {
        return 0.0;
    }
    (-err.log10()).min(LRE_CAP)
}

/// The result of one run.
pub struct Run {
    pub report: FitReport,
    /// LRE of every certified parameter, in certified order.
    pub lres: Vec<f64>,
    /// Residual sum of squares at the estimate, recomputed from the data.
    pub rss: f64,
    /// Wall time from reading the model file to the report, in seconds.
    pub seconds: f64,
}

impl Run {
    /// The smallest LRE over the parameters.
    pub fn min_lre(&self) -> f64 {
        self.lres.iter().copied().fold(LRE_CAP, f64::min)
    }

    /// How far the maximum-likelihood standard errors are from NIST's scaled
    /// by `sqrt((n - p)/n)`: the largest `|se / (se_nist sqrt((n-p)/n)) - 1|`
    /// over the coefficients, or None when the fit reports no standard
    /// errors or NIST certifies 0.
    pub fn se_deviation(&self, p: &Problem) -> Option<f64> {
        let k = p.parameters.len() as f64;
        let factor = ((p.n as f64 - k) / p.n as f64).sqrt();
        let mut worst: f64 = 0.0;
        for (name, se_nist) in p.parameters.iter().zip(&p.certified_std_devs) {
            let se = self
                .report
                .parameters
                .iter()
                .find(|e| &e.name == name)?
                .std_error?;
            if *se_nist == 0.0 {
                return None;
            }
            worst = worst.max((se / (se_nist * factor) - 1.0).abs());
        }
        Some(worst)
    }
}

/// LRE of a residual sum of squares.
pub fn rss_lre(p: &Problem, rss: f64) -> f64 {
    lre(rss, p.residual_sum_of_squares)
}

/// Parses, checks, loads, compiles and fits `examples/nist/NAME.nll` on
/// `NAME.csv` from `start`; panics with the rendered diagnostics if the
/// model cannot be fitted at all.
pub fn run(p: &Problem, start: Start) -> Run {
    run_on(p, start, &nist_dir().join(format!("{}.csv", p.name)))
}

/// Like [`run`], with the data read from `data_path`.
pub fn run_on(p: &Problem, start: Start, data_path: &Path) -> Run {
    let started = Instant::now();
    let model_path = nist_dir().join(format!("{}.nll", p.name));
    let shown = model_path.display().to_string();
    let source = std::fs::read_to_string(&model_path).unwrap_or_else(|e| panic!("{shown}: {e}"));
    let fail = |diags: Vec<nll::diag::Diagnostic>| -> ! {
        let text: String = diags
            .iter()
            .map(|d| render(d, &shown, &source, false))
            .collect();
        panic!("{shown}:\n{text}")
    };
    let program = syntax::parse_program(&source).unwrap_or_else(|d| fail(d));
    let (model, diags) = model::check(&program);
    if diags.iter().any(|d| d.is_error()) {
        fail(diags);
    }
    let ds = data::load_csv(
        data_path,
        &nll::compile::column_requests(&model),
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let compiled = compile::compile(&model, &ds, &ds.source_rows).unwrap_or_else(|d| fail(d));
    let starts = if start == Start::Start2 {
        start2(p)
    } else {
        Vec::new()
    };
    let options = FitOptions {
        starts,
        ..FitOptions::default()
    };
    let report = infer::fit(&compiled, &options).unwrap_or_else(|d| fail(d));

    // The residuals (observation minus mean) of the one likelihood statement.
    let stmt = compiled
        .statements
        .iter()
        .find(|s| !s.is_prior)
        .expect("a likelihood statement");
    let rows = compiled.eval_rows(&[stmt.y, stmt.args[0]], &report.theta);
    let rss = rows[0]
        .iter()
        .zip(&rows[1])
        .map(|(y, m)| (y - m) * (y - m))
        .sum();
    let seconds = started.elapsed().as_secs_f64();

    let lres = p
        .parameters
        .iter()
        .zip(&p.certified_values)
        .map(|(name, cert)| {
            let est = report
                .parameters
                .iter()
                .find(|e| &e.name == name)
                .unwrap_or_else(|| panic!("{}: no {name}", p.name));
            lre(est.estimate, *cert)
        })
        .collect();
    Run {
        report,
        lres,
        rss,
        seconds,
    }
}
