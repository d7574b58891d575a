//! What `nll fit` adds after the fit itself: profile-likelihood intervals
//! (`--profile`) and figures (`--plot`).
//!
//! Kept apart from the pipeline so the fit command only calls [`after_fit`]
//! and prints what it returns beside the report.

use serde::Serialize;

use super::FitArgs;
use crate::compile::Compiled;
use crate::diag::Diagnostic;
use crate::infer::{self, FitReport, ProfileInterval, ProfileOptions};

/// The results of the optional steps, ready to print.
#[derive(Debug, Default)]
pub struct FitExtras {
    pub profile: Option<Vec<ProfileInterval>>,
    /// Files written by `--plot`, for the text report.
    pub figures: Vec<String>,
    /// Figures left out, and why.
    pub figure_notes: Vec<String>,
}

/// The fit report with the optional results, as JSON.
#[derive(Serialize)]
pub struct FitOutput<'a> {
    #[serde(flatten)]
    pub report: &'a FitReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<&'a [ProfileInterval]>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub figures: &'a [String],
}

impl FitExtras {
    /// Text printed after the report's table.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(intervals) = &self.profile {
            out.push('\n');
            out.push_str(&infer::profile_table(intervals));
        }
        if !self.figures.is_empty() {
            out.push('\n');
            for f in &self.figures {
                out.push_str(&format!("figure           {f}\n"));
            }
        }
        for n in &self.figure_notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }

    pub fn output<'a>(&'a self, report: &'a FitReport) -> FitOutput<'a> {
        FitOutput {
            report,
            profile: self.profile.as_deref(),
            figures: &self.figures,
        }
    }
}

/// Runs the steps `args` asks for on a finished fit.
pub fn after_fit(
    args: &FitArgs,
    compiled: &Compiled,
    report: &FitReport,
) -> Result<FitExtras, Diagnostic> {
    let mut extras = FitExtras::default();
    if !args.profile.is_empty() {
        let names: Vec<String> = args.profile.iter().flat_map(|s| split_names(s)).collect();
        if names.is_empty() {
            return Err(Diagnostic::error("E506", "--profile names no parameter")
                .with_help("Name a parameter or an element such as `beta[2]`, or `all`."));
        }
        let targets = infer::resolve_profile_names(compiled, &names)?;
        let opts = ProfileOptions {
            level: args.level,
            max_iter: args.max_iter,
            method: super::method_of(args),
        };
        let started = std::time::Instant::now();
        let intervals = infer::profile(compiled, report, &targets, &opts);
        log::info!(
            "profile: {} parameter(s), {:.3} s",
            intervals.len(),
            started.elapsed().as_secs_f64()
        );
        extras.profile = Some(intervals);
    }
    if let Some(dir) = &args.plot {
        let figures =
            crate::plot::write_fit_figures(dir, compiled, report, extras.profile.as_deref())
                .map_err(|e| Diagnostic::error("E706", e.to_string()))?;
        extras.figures = figures
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        extras.figure_notes = figures.notes;
    }
    Ok(extras)
}

/// Splits `a,beta[2],W[2,1]` at the commas outside brackets, so an element
/// of a matrix stays whole; blank pieces are dropped.
fn split_names(list: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0_i32;
    let mut current = String::new();
    for ch in list.chars() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth <= 0 => {
                names.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    names.push(current);
    names
        .into_iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_names;

    #[test]
    fn commas_inside_brackets_do_not_split() {
        assert_eq!(
            split_names("a, W[2,1],beta[3] ,"),
            ["a", "W[2,1]", "beta[3]"]
        );
    }
}
