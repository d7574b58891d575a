//! What the compiler finds in a model whatever the data: `nll check`
//! without a data file, `nll explain`, and the REPL before `:data`.

use crate::data::{Column, ColumnKind, DataSet};
use crate::diag::Diagnostic;
use crate::model::Model;

/// What the compiler finds in `model` whatever the data: it is lowered on a
/// stand-in data set with every declared column, no rows and
/// `STAND_IN_LEVELS` for each factor, and only the
/// model's errors and warnings (`E2xx`, `W2xx`) are kept. Those about the
/// data (a factor's number of levels, values outside a support) need the
/// data and are left to `check --data`.
pub fn model_shape_diagnostics(model: &Model) -> Vec<Diagnostic> {
    let columns = super::column_requests(model)
        .into_iter()
        .map(|r| {
            let col = match r.kind {
                ColumnKind::Factor => Column::Factor {
                    codes: Vec::new(),
                    levels: STAND_IN_LEVELS.iter().map(|l| l.to_string()).collect(),
                },
                _ => Column::Real(Vec::new()),
            };
            (r.name, r.kind, col)
        })
        .collect();
    let ds = DataSet {
        n_rows: 0,
        columns,
        n_dropped: 0,
        n_filtered_out: 0,
        source_rows: Default::default(),
    };
    let diags = match super::compile(model, &ds, &ds.source_rows) {
        Ok(compiled) => compiled.warnings,
        Err(diags) => diags,
    };
    diags
        .into_iter()
        .filter(|d| d.code.starts_with("E2") || d.code.starts_with("W2"))
        .filter(|d| !depends_on_levels(model, d))
        .map(|mut d| {
            // The stand-in's level count means nothing to the reader.
            let levels = format!("which has {} elements", STAND_IN_LEVELS.len());
            if d.message.contains(&levels) {
                d.message = d
                    .message
                    .replace(&levels, "which has one element per level");
                if let Some(label) = d.primary.as_mut() {
                    label.message = "must be a whole number from 1".to_string();
                }
            }
            d
        })
        .collect()
}

/// The levels each factor has in the stand-in data set of
/// [`model_shape_diagnostics`]: several, so that a parameter per level is
/// not one number, an unusual count, so that an index out of range of a
/// per-level dimension can be told from one out of a fixed dimension's,
/// and named so that no data set has them.
const STAND_IN_LEVELS: [&str; 7] = [
    "<level 1>",
    "<level 2>",
    "<level 3>",
    "<level 4>",
    "<level 5>",
    "<level 6>",
    "<level 7>",
];

/// Whether diagnostic `d`, found on the stand-in data set, depends on how
/// many levels a factor has: a factor's level count against a vector's size,
/// a constant index into a parameter with one element per level, or a
/// warning naming a stand-in level.
///
/// Missing: this reads the diagnostics' text. The lowering itself should be
/// told that level counts are unknown and skip those checks; that needs a
/// way to pass it through `compile`, which no other caller wants yet.
fn depends_on_levels(model: &Model, d: &Diagnostic) -> bool {
    if STAND_IN_LEVELS.iter().any(|l| d.message.contains(l)) {
        return true;
    }
    if d.code != "E212" {
        return false;
    }
    if d.message.contains(" levels but `") {
        return true;
    }
    // "index 9 is out of range for `u`, which has 7 elements": a whole
    // index from 1 on, past the stand-in's level count, into a parameter
    // with a dimension per level. An index below 1 or not whole, or past
    // a fixed dimension's size, is wrong whatever the data.
    let per_level = |name: &str| {
        model.param(name).is_some_and(|p| {
            p.dims
                .iter()
                .any(|dim| matches!(dim, crate::model::ParamDim::Factor(_)))
        })
    };
    let Some((index, rest)) = d
        .message
        .strip_prefix("index ")
        .and_then(|m| m.split_once(" is out of range for `"))
    else {
        return false;
    };
    let whole_from_one = index
        .parse::<f64>()
        .is_ok_and(|v| v >= 1.0 && v.fract() == 0.0);
    let levels = format!("which has {} elements", STAND_IN_LEVELS.len());
    whole_from_one
        && rest.ends_with(&levels)
        && rest
            .split_once('`')
            .is_some_and(|(name, _)| per_level(name))
}
