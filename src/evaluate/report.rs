//! The evaluation report: every statement's metrics on all rows and, with
//! `--by`, per group, with the worst group and the spread of each metric;
//! as data (JSON) or as text.

use std::fmt::Write;

use serde::Serialize;

use super::{evaluate_statement, StatementEval, StatementRows};

/// What `nll eval` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub fit: String,
    pub data: String,
    /// The rows evaluated.
    pub n_rows: usize,
    /// Rows left out of every metric because a distribution argument is
    /// outside its support there.
    #[serde(skip_serializing_if = "is_zero")]
    pub excluded_rows: usize,
    /// Bins of the reliability tables and PIT histograms.
    pub bins: usize,
    /// Seed of the randomised PIT of counts.
    pub seed: u64,
    /// Sum over statements of their total NLL.
    pub total_nll: f64,
    pub statements: Vec<StatementEval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<GroupReport>,
    pub warnings: Vec<String>,
    /// The figure files written (`eval --plot`), with their folder.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Metrics per level of a column.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub column: String,
    pub groups: Vec<Group>,
    /// For each statement and metric: the worst and best group.
    pub spread: Vec<Spread>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub level: String,
    pub n_rows: usize,
    pub statements: Vec<StatementEval>,
}

/// How far one metric differs between groups.
#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub statement: String,
    pub metric: String,
    pub worst_group: String,
    pub worst: f64,
    pub best_group: String,
    pub best: f64,
    /// |worst - best|: the largest gap between two groups.
    pub gap: f64,
}

/// Builds the report of `rows` over all rows, and per group when `groups`
/// gives a column name, its levels and each row's level code.
pub fn build(
    header: (String, String, String),
    rows: &[StatementRows],
    n_rows: usize,
    n_bins: usize,
    seed: u64,
    groups: Option<(&str, &[String], &[u32])>,
) -> EvalReport {
    // Rows where an argument is outside its support have no density: they
    // are left out of every metric, of every statement.
    let all = super::rows_in_support(rows, n_rows);
    let excluded_rows = n_rows - all.len();
    let statements: Vec<StatementEval> = rows
        .iter()
        .map(|sr| evaluate_statement(sr, &all, n_bins))
        .collect();
    let mut warnings = coverage_warnings(&statements, None);
    let by = groups.map(|(column, levels, codes)| {
        let groups: Vec<Group> = levels
            .iter()
            .enumerate()
            .filter_map(|(k, level)| {
                let members: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|i| codes[*i] as usize == k)
                    .collect();
                (!members.is_empty()).then(|| Group {
                    level: level.clone(),
                    n_rows: members.len(),
                    statements: rows
                        .iter()
                        .map(|sr| evaluate_statement(sr, &members, n_bins))
                        .collect(),
                })
            })
            .collect();
        for g in &groups {
            warnings.extend(coverage_warnings(
                &g.statements,
                Some(&format!("{column} = {}", g.level)),
            ));
        }
        let spread = spreads(&groups);
        GroupReport {
            column: column.to_string(),
            groups,
            spread,
        }
    });
    EvalReport {
        model: header.0,
        fit: header.1,
        data: header.2,
        n_rows: all.len(),
        excluded_rows,
        bins: n_bins,
        seed,
        total_nll: statements.iter().map(|s| s.total_nll).sum(),
        statements,
        by,
        warnings,
        figures: Vec::new(),
    }
}

/// One warning per interval whose coverage is well below nominal.
fn coverage_warnings(statements: &[StatementEval], group: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for s in statements {
        let Some(cal) = &s.calibration else { continue };
        for c in cal.coverage.iter().filter(|c| c.well_below_nominal) {
            let place = group.map(|g| format!(" where {g}")).unwrap_or_default();
            out.push(format!(
                "`{}`{place}: the central {:.0}% prediction intervals cover {:.1}% of {} rows, well below nominal: the model is overconfident (its spread is too small here)",
                s.statement,
                100.0 * c.nominal,
                100.0 * c.observed,
                c.n_rows
            ));
        }
    }
    out
}

/// The metrics compared across groups, each with whether a larger value is
/// worse.
fn metric_values(s: &StatementEval) -> Vec<(String, f64, bool)> {
    let mut out = vec![("mean NLL".to_string(), s.mean_nll, true)];
    if let Some(c) = &s.classification {
        out.push(("Brier score".to_string(), c.brier, true));
        out.push(("accuracy".to_string(), c.accuracy, false));
        out.push(("ECE (equal mass)".to_string(), c.ece_equal_mass, true));
    }
    if let Some(p) = &s.calibration {
        out.push(("PIT KS distance".to_string(), p.ks, true));
        for c in &p.coverage {
            out.push((
                format!("{:.0}% coverage", 100.0 * c.nominal),
                c.observed,
                false,
            ));
        }
    }
    out
}

fn spreads(groups: &[Group]) -> Vec<Spread> {
    let Some(first) = groups.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (s_idx, s) in first.statements.iter().enumerate() {
        for (metric, _, larger_is_worse) in metric_values(s) {
            let values: Vec<(&str, f64)> = groups
                .iter()
                .filter_map(|g| {
                    let v = metric_values(&g.statements[s_idx])
                        .into_iter()
                        .find(|(m, _, _)| *m == metric)?;
                    v.1.is_finite().then_some((g.level.as_str(), v.1))
                })
                .collect();
            let worse = |a: f64, b: f64| if larger_is_worse { a > b } else { a < b };
            let Some(worst) = values
                .iter()
                .copied()
                .reduce(|w, v| if worse(v.1, w.1) { v } else { w })
            else {
                continue;
            };
            let Some(best) = values
                .iter()
                .copied()
                .reduce(|b, v| if worse(b.1, v.1) { v } else { b })
            else {
                continue;
            };
            out.push(Spread {
                statement: s.statement.clone(),
                metric,
                worst_group: worst.0.to_string(),
                worst: worst.1,
                best_group: best.0.to_string(),
                best: best.1,
                gap: (worst.1 - best.1).abs(),
            });
        }
    }
    out
}

impl EvalReport {
    /// Text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "model  {}", self.model);
        let _ = writeln!(out, "fit    {}", self.fit);
        if self.excluded_rows > 0 {
            let _ = writeln!(
                out,
                "data   {} ({} rows; {} excluded: a distribution argument is outside its support there)",
                self.data,
                self.n_rows,
                self.excluded_rows
            );
        } else {
            let _ = writeln!(out, "data   {} ({} rows)", self.data, self.n_rows);
        }
        let _ = writeln!(out, "total NLL  {}", num(self.total_nll));
        for s in &self.statements {
            let _ = writeln!(out);
            write_statement(&mut out, s, true);
        }
        if let Some(by) = &self.by {
            let _ = writeln!(out);
            let _ = writeln!(out, "by {}: {} groups", by.column, by.groups.len());
            for g in &by.groups {
                let _ = writeln!(out);
                let _ = writeln!(out, "== {} = {} ({} rows)", by.column, g.level, g.n_rows);
                for s in &g.statements {
                    write_statement(&mut out, s, false);
                }
            }
            let _ = writeln!(out);
            let _ = writeln!(out, "worst group and largest gap between groups:");
            let _ = writeln!(
                out,
                "  {:<28} {:<18} {:>12} {:<14} {:>12}",
                "statement", "metric", "worst", "group", "gap"
            );
            for sp in &by.spread {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<18} {:>12} {:<14} {:>12}",
                    sp.statement,
                    sp.metric,
                    num(sp.worst),
                    sp.worst_group,
                    num(sp.gap)
                );
            }
        }
        if !self.figures.is_empty() {
            let _ = writeln!(out);
            for f in &self.figures {
                let _ = writeln!(out, "figure  {f}");
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out);
            for w in &self.warnings {
                let _ = writeln!(out, "warning: {w}");
            }
        }
        out
    }
}

fn write_statement(out: &mut String, s: &StatementEval, tables: bool) {
    let _ = writeln!(out, "{}  ({} rows)", s.statement, s.n_rows);
    let _ = writeln!(
        out,
        "  NLL  total {}  mean {}",
        num(s.total_nll),
        num(s.mean_nll)
    );
    if let Some(c) = &s.classification {
        let _ = writeln!(
            out,
            "  log loss {}  Brier {}  accuracy {}",
            num(c.log_loss),
            num(c.brier),
            num(c.accuracy)
        );
        let _ = writeln!(
            out,
            "  ECE of {}: equal-width {} ({} bins), equal-mass {}",
            c.calibrated_quantity,
            num(c.ece_equal_width),
            c.reliability_equal_width.len(),
            num(c.ece_equal_mass)
        );
        if tables {
            let _ = writeln!(out, "  reliability (equal-mass bins):");
            let _ = writeln!(
                out,
                "    {:>9} {:>9} {:>6} {:>10} {:>10}",
                "from", "to", "n", "predicted", "observed"
            );
            for b in &c.reliability_equal_mass {
                let _ = writeln!(
                    out,
                    "    {:>9.4} {:>9.4} {:>6} {:>10} {:>10}",
                    b.lower,
                    b.upper,
                    b.n,
                    b.mean_predicted
                        .map(|v| format!("{v:.4}"))
                        .unwrap_or("-".into()),
                    b.observed.map(|v| format!("{v:.4}")).unwrap_or("-".into())
                );
            }
        }
    }
    if let Some(p) = &s.calibration {
        let _ = writeln!(
            out,
            "  PIT{}: KS {} (p = {}), chi-square {} on {} df (p = {})",
            if p.randomized_pit {
                " (randomised)"
            } else {
                ""
            },
            num(p.ks),
            num(p.ks_p_value),
            num(p.chi_square),
            p.chi_square_df,
            num(p.chi_square_p_value)
        );
        if tables {
            let counts: Vec<String> = p.pit_histogram.iter().map(|c| c.to_string()).collect();
            let _ = writeln!(out, "  PIT histogram: {}", counts.join(" "));
        }
        for c in &p.coverage {
            let _ = writeln!(
                out,
                "  {:>3.0}% interval: coverage {:.4} (mean width {}){}",
                100.0 * c.nominal,
                c.observed,
                num(c.mean_width),
                if c.well_below_nominal {
                    "  WELL BELOW NOMINAL"
                } else {
                    ""
                }
            );
        }
    }
    if let Some(note) = &s.note {
        let _ = writeln!(out, "  note: {note}");
    }
}

/// Numbers with 6 significant digits.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) {
        format!("{v:.5e}")
    } else {
        let digits = (5 - v.abs().log10().floor().max(-5.0) as i32).clamp(0, 10) as usize;
        if v == 0.0 {
            "0".to_string()
        } else {
            format!("{v:.digits$}")
        }
    }
}
