//! The CSV tables of `nll predict` and `nll simulate`, built from each
//! statement's per-row predictions.
//!
//! Numbers are written in shortest round-trip form (whole numbers as
//! integers, so simulated counts load back as counts); fields holding a
//! comma, a quote or a line break are quoted.

use crate::data::SourceRows;
use rand::rngs::StdRng;

use super::{predictive, Prediction, StatementRows};
use crate::data::{Column, DataSet};

/// The header record: the names quoted where needed, then a line break.
fn header_line(names: &[String]) -> String {
    let mut out = names
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    out
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
pub fn prediction_csv(rows: &[StatementRows], source_rows: &SourceRows, level: f64) -> String {
    let prefix = |sr: &StatementRows, name: &str| {
        if rows.len() > 1 {
            format!("{}.{name}", sr.lhs)
        } else {
            name.to_string()
        }
    };
    let pct = crate::infer::profile::level_percent(level);
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
    let mut out = header_line(&header);
    let lo_q = (1.0 - level) / 2.0;
    let hi_q = (1.0 + level) / 2.0;
    let n_cells: Vec<usize> = rows
        .iter()
        .map(|sr| {
            sr.args.len()
                + match &sr.prediction {
                    Prediction::Binary { .. } => 1,
                    Prediction::Classes { levels, .. } => levels.len() + 1,
                    Prediction::Distribution { .. } => 3,
                    Prediction::Unsupported(_) => 0,
                }
        })
        .collect();
    let ok: Vec<Vec<bool>> = rows.iter().map(|sr| sr.row_ok(source_rows.len())).collect();
    for (i, row_no) in source_rows.iter().enumerate() {
        let mut fields = vec![row_no.to_string()];
        for (k, sr) in rows.iter().enumerate() {
            // An argument outside its support: no prediction, empty cells.
            if !ok[k][i] {
                fields.extend(std::iter::repeat_n(String::new(), n_cells[k]));
                continue;
            }
            for a in &sr.args {
                fields.push(csv_num(Some(a[i])));
            }
            match &sr.prediction {
                Prediction::Binary { p } => fields.push(csv_num(Some(p[i]))),
                Prediction::Classes { probs, levels, .. } => {
                    for p in &probs[i] {
                        fields.push(csv_num(Some(*p)));
                    }
                    let (top, _) = super::argmax(&probs[i]);
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

/// The data's columns with each outcome column replaced by draws, one block
/// of rows per draw (column `draw`, from 1). An outcome written as an
/// expression (`log(y)`) gets a column of its own, named by that text.
pub fn simulation_csv(
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
    let mut out = header_line(&header);
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
    // A row with an argument outside its support has no distribution to
    // draw from: its cell is left empty.
    let ok = sr.row_ok(n_rows);
    (0..n_rows)
        .map(|i| match &sr.prediction {
            _ if !ok[i] => String::new(),
            Prediction::Binary { p } => {
                let u = predictive::open_unit(rng);
                if u < p[i] { "1" } else { "0" }.to_string()
            }
            Prediction::Classes { probs, levels, .. } => {
                // Inversion: the first class whose cumulative probability
                // reaches u.
                let u = predictive::open_unit(rng);
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
            // A draw that could not be made (NaN) is an empty cell, as a
            // row outside the support is.
            Prediction::Distribution { dists, .. } => {
                csv_num(Some(dists[i].sample(rng)).filter(|x| x.is_finite()))
            }
            Prediction::Unsupported(_) => String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_counts_stay_integers() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-0.5), "-0.5");
        assert_eq!(number(6.25e-12), "6.25e-12");
        let x = 0.1 + 0.2;
        assert_eq!(number(x).parse::<f64>().ok(), Some(x));
    }

    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
