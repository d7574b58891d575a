//! Making new data line up with a fit: factor levels coded as the fit coded
//! them, row subsets, and stand-in outcome columns for prediction.
//!
//! A factor's levels are the distinct values of the rows loaded, sorted; a
//! test file that lacks a level, or a training subset, would otherwise code
//! `u[g]` differently from the fit. Every function here keeps the
//! [`DataSet`] invariants except one, stated where it applies: after
//! [`recode_factors`] a level may have no rows.

use crate::data::{Column, ColumnKind, DataSet};
use crate::dist::Support;

/// A value of a factor in new data that the fit never saw.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("factor `{column}` has a level `{level}` that the fit did not see")]
pub struct UnknownLevel {
    pub column: String,
    pub level: String,
    /// 1-based data-row numbers in the file, at most the first few.
    pub rows: Vec<usize>,
    pub n_rows: usize,
    /// The levels the fit knows.
    pub known: Vec<String>,
}

impl UnknownLevel {
    /// The rows listed, then how many more hold the level: "7, 9, and 3
    /// more".
    pub fn listed_rows(&self) -> String {
        let rows: Vec<String> = self.rows.iter().map(|r| r.to_string()).collect();
        let more = if self.n_rows > self.rows.len() {
            format!(", and {} more", self.n_rows - self.rows.len())
        } else {
            String::new()
        };
        format!("{}{more}", rows.join(", "))
    }
}

/// Rows listed per unknown level.
const MAX_LISTED_ROWS: usize = 5;

/// Takes out of `ds` the rows whose level of some factor is not among the
/// levels `levels_of` knows for it, and returns those levels with the rows
/// that held them (1-based data-row numbers in the file). What is left can
/// be coded with [`recode_factors`].
pub fn drop_unknown_levels<'a>(
    ds: &mut DataSet,
    levels_of: impl Fn(&str) -> Option<&'a [String]>,
) -> Vec<UnknownLevel> {
    let mut unknown = Vec::new();
    let mut dropped = vec![false; ds.n_rows];
    for (name, _, col) in &ds.columns {
        let (Column::Factor { codes, levels }, Some(known)) = (col, levels_of(name)) else {
            continue;
        };
        for (code, level) in levels.iter().enumerate() {
            if known.contains(level) {
                continue;
            }
            let rows: Vec<usize> = (0..codes.len())
                .filter(|i| codes[*i] as usize == code)
                .collect();
            for i in &rows {
                dropped[*i] = true;
            }
            unknown.push(UnknownLevel {
                column: name.clone(),
                level: level.clone(),
                n_rows: rows.len(),
                rows: rows
                    .iter()
                    .take(MAX_LISTED_ROWS)
                    .map(|i| ds.source_rows.row_of(*i))
                    .collect(),
                known: known.to_vec(),
            });
        }
    }
    if !unknown.is_empty() {
        let kept: Vec<usize> = (0..ds.n_rows).filter(|i| !dropped[*i]).collect();
        *ds = subset(ds, &kept);
    }
    unknown
}

/// Codes every factor column for which `levels_of` knows levels with those
/// levels, in that order; other columns are left as they are.
///
/// # Errors
///
/// Every level absent from the known ones, with the rows that hold it.
pub fn recode_factors<'a>(
    ds: &mut DataSet,
    levels_of: impl Fn(&str) -> Option<&'a [String]>,
) -> Result<(), Vec<UnknownLevel>> {
    let mut unknown = Vec::new();
    let source_rows = ds.source_rows.clone();
    for (name, _, col) in ds.columns.iter_mut() {
        let Column::Factor { codes, levels } = col else {
            continue;
        };
        let Some(known) = levels_of(name) else {
            continue;
        };
        let map: Vec<Option<u32>> = levels
            .iter()
            .map(|l| known.iter().position(|k| k == l).map(|p| p as u32))
            .collect();
        for (code, target) in map.iter().enumerate() {
            if target.is_some() {
                continue;
            }
            let rows: Vec<usize> = (0..codes.len())
                .filter(|i| codes[*i] as usize == code)
                .map(|i| source_rows.row_of(i))
                .collect();
            unknown.push(UnknownLevel {
                column: name.clone(),
                level: levels[code].clone(),
                n_rows: rows.len(),
                rows: rows.into_iter().take(MAX_LISTED_ROWS).collect(),
                known: known.to_vec(),
            });
        }
        if unknown.iter().any(|u| u.column == *name) {
            continue;
        }
        for c in codes.iter_mut() {
            *c = map[*c as usize].unwrap_or(0);
        }
        *levels = known.to_vec();
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown)
    }
}

/// The rows `rows` (indices into `ds`, increasing) of `ds`, with each
/// factor's levels reduced to those the kept rows use.
pub fn subset(ds: &DataSet, rows: &[usize]) -> DataSet {
    let columns = ds
        .columns
        .iter()
        .map(|(name, kind, col)| {
            let col = match col {
                Column::Real(v) => Column::Real(rows.iter().map(|i| v[*i]).collect()),
                Column::Factor { codes, levels } => {
                    let mut used = vec![false; levels.len()];
                    for i in rows {
                        used[codes[*i] as usize] = true;
                    }
                    // New code of each old level, in the old (sorted) order.
                    let mut new_code = vec![0u32; levels.len()];
                    let mut kept = Vec::new();
                    for (k, l) in levels.iter().enumerate() {
                        if used[k] {
                            new_code[k] = kept.len() as u32;
                            kept.push(l.clone());
                        }
                    }
                    Column::Factor {
                        codes: rows.iter().map(|i| new_code[codes[*i] as usize]).collect(),
                        levels: kept,
                    }
                }
            };
            (name.clone(), *kind, col)
        })
        .collect();
    DataSet {
        n_rows: rows.len(),
        columns,
        n_dropped: ds.n_dropped,
        n_filtered_out: ds.n_filtered_out,
        source_rows: rows.iter().map(|i| ds.source_rows.row_of(*i)).collect(),
    }
}

/// A value inside `support`, standing in for an outcome that new data do
/// not have: prediction and simulation never read it, but the compiler
/// checks observed values against their support.
pub fn placeholder_value(support: Support) -> f64 {
    match support {
        Support::Positive | Support::UnitClosed => 0.5,
        Support::UnitOpen => 0.5,
        _ => 0.0,
    }
}

/// Adds a stand-in column `name` to `ds` (see [`placeholder_value`]); a
/// factor gets the first of `levels` on every row.
pub fn add_placeholder(
    ds: &mut DataSet,
    name: &str,
    kind: ColumnKind,
    support: Support,
    levels: Option<&[String]>,
) {
    let col = match (kind, levels) {
        (ColumnKind::Factor, Some(levels)) if !levels.is_empty() => Column::Factor {
            codes: vec![0; ds.n_rows],
            levels: levels.to_vec(),
        },
        (ColumnKind::Factor, _) => Column::Factor {
            codes: vec![0; ds.n_rows],
            levels: vec!["?".to_string()],
        },
        // An integer class outcome (Categorical on 1..K) needs 1.
        (ColumnKind::Int, _) if support == Support::Level => Column::Real(vec![1.0; ds.n_rows]),
        _ => Column::Real(vec![placeholder_value(support); ds.n_rows]),
    };
    ds.columns.push((name.to_string(), kind, col));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor_set(values: &[&str]) -> DataSet {
        let mut levels: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        levels.sort();
        levels.dedup();
        let codes = values
            .iter()
            .map(|v| levels.iter().position(|l| l == v).unwrap_or(0) as u32)
            .collect();
        DataSet {
            n_rows: values.len(),
            columns: vec![(
                "g".to_string(),
                ColumnKind::Factor,
                Column::Factor { codes, levels },
            )],
            n_dropped: 0,
            n_filtered_out: 0,
            source_rows: (1..=values.len()).collect(),
        }
    }

    #[test]
    fn recoding_uses_the_fit_levels() {
        // The new file lacks level `b`: `c` must keep code 2, not become 1.
        let mut ds = factor_set(&["c", "a", "c"]);
        let known = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        recode_factors(&mut ds, |_| Some(known.as_slice())).expect("known levels");
        let (codes, levels) = ds.columns[0].2.as_factor().expect("factor");
        assert_eq!(codes, &[2, 0, 2]);
        assert_eq!(levels, known.as_slice());
    }

    #[test]
    fn unknown_levels_are_listed_with_rows() {
        let mut ds = factor_set(&["a", "z", "z"]);
        let known = vec!["a".to_string()];
        let err = recode_factors(&mut ds, |_| Some(known.as_slice())).expect_err("z is unknown");
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].level, "z");
        assert_eq!(err[0].rows, vec![2, 3]);
    }

    #[test]
    fn subset_drops_unused_levels() {
        let ds = factor_set(&["a", "b", "c", "b"]);
        let sub = subset(&ds, &[1, 2]);
        let (codes, levels) = sub.columns[0].2.as_factor().expect("factor");
        assert_eq!(levels, &["b".to_string(), "c".to_string()]);
        assert_eq!(codes, &[0, 1]);
        assert_eq!(sub.source_rows.to_vec(), [2, 3]);
    }
}
