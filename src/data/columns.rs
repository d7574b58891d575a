//! The requested columns of a load, whatever the file format: resolved
//! against the file's column names, filled cell by cell, and checked at
//! the end, when the problems logged while reading become
//! [`DataProblem`]s and a clean load becomes a [`DataSet`]. The CSV reader
//! (`load.rs`) and the Arrow reader (`arrow.rs`) both go through here, so
//! the two give the same rows, levels and messages.

use super::SourceRows;
use std::io;

use super::cell::Cell;
use super::error::{quote_text, BadCell, FilterMiss, MAX_LISTED_ROWS, MAX_LISTED_VALUES};
use super::factor::FactorBuilder;
use super::{
    CellIssue, Column, ColumnKind, ColumnRequest, ColumnRole, DataError, DataProblem, DataSet,
    LoadOptions, MissingCount,
};
use crate::diag::suggest::closest as closest_name;

/// Where a requested column is read from, and what has been read so far.
pub(super) struct ColumnPlan {
    pub(super) name: String,
    pub(super) kind: ColumnKind,
    /// `None` when the column is not (unambiguously) in the header.
    pub(super) field_idx: Option<usize>,
    pub(super) values: Values,
    issues: Vec<IssueLog>,
    /// Missing cells in rows that passed the filters, logged or not.
    pub(super) n_missing: usize,
}

pub(super) enum Values {
    Real(Vec<f64>),
    Factor(FactorBuilder),
}

/// The bad cells of one column with one issue.
struct IssueLog {
    issue: CellIssue,
    n_cells: usize,
    first: Vec<BadCell>,
}

/// One `(column, value)` filter and what it has matched.
pub(super) struct FilterPlan {
    pub(super) column: String,
    pub(super) value: String,
    pub(super) field_idx: Option<usize>,
    pub(super) n_matched: usize,
    /// Distinct values seen while nothing matched, to explain a miss.
    seen: Vec<String>,
    has_more: bool,
}

/// The plans of a load: requested columns and filters resolved against the
/// header, with the problems found doing so.
pub(super) struct Planned {
    pub(super) problems: Vec<DataProblem>,
    pub(super) plans: Vec<ColumnPlan>,
    /// The index into `plans` of each request.
    pub(super) plan_of_request: Vec<usize>,
    pub(super) filters: Vec<FilterPlan>,
}

/// What the pass over the rows counted and kept.
pub(super) struct Tally {
    pub(super) n_data_rows: usize,
    pub(super) n_filtered_out: usize,
    pub(super) n_dropped: usize,
    pub(super) n_kept: usize,
    pub(super) source_rows: SourceRows,
    /// Whether every row was read and checked, so that `n_kept == 0` means
    /// that no row is left.
    pub(super) is_row_count_known: bool,
}

/// Resolve the requested and filter columns against `header`. A request
/// repeated with the same kind shares one plan, so its problems are
/// reported once.
pub(super) fn plan_columns(
    header: &[String],
    requests: &[ColumnRequest],
    opts: &LoadOptions,
    source_name: &str,
) -> Planned {
    let mut problems = Vec::new();
    let mut plans: Vec<ColumnPlan> = Vec::new();
    let mut plan_of_request = Vec::with_capacity(requests.len());
    for request in requests {
        let existing = plans
            .iter()
            .position(|p| p.name == request.name && p.kind == request.kind);
        let plan_idx = existing.unwrap_or_else(|| {
            let field_idx = resolve(
                header,
                &request.name,
                ColumnRole::Requested,
                source_name,
                &mut problems,
            );
            plans.push(ColumnPlan::new(request, field_idx));
            plans.len() - 1
        });
        plan_of_request.push(plan_idx);
    }
    let filters = opts
        .filters
        .iter()
        .map(|(column, value)| FilterPlan {
            column: column.clone(),
            value: value.trim().to_string(),
            field_idx: resolve(
                header,
                column,
                ColumnRole::Filter,
                source_name,
                &mut problems,
            ),
            n_matched: 0,
            seen: Vec::new(),
            has_more: false,
        })
        .collect();
    Planned {
        problems,
        plans,
        plan_of_request,
        filters,
    }
}

/// The end of a load: the problems logged by the plans (after the
/// file-level ones already in `planned`), the lack of rows, or the data set.
pub(super) fn conclude(
    source_name: &str,
    planned: Planned,
    requests: &[ColumnRequest],
    tally: Tally,
) -> Result<DataSet, DataError> {
    let Planned {
        mut problems,
        mut plans,
        plan_of_request,
        filters,
    } = planned;
    for plan in &mut plans {
        problems.extend(plan.take_problems());
    }
    if tally.is_row_count_known && tally.n_kept == 0 {
        problems.push(DataProblem::RowsNoneLeft {
            file: source_name.to_string(),
            n_data_rows: tally.n_data_rows,
            n_filtered_out: tally.n_filtered_out,
            n_dropped: tally.n_dropped,
            filter_miss: filters
                .into_iter()
                .find(|f| f.n_matched == 0)
                .map(FilterPlan::into_miss),
            most_missing: most_missing(&plans),
        });
    }
    if !problems.is_empty() {
        return Err(DataError {
            source_name: source_name.to_string(),
            problems,
        });
    }

    let columns = finish_columns(requests, plans, &plan_of_request);
    Ok(DataSet {
        n_rows: tally.n_kept,
        columns,
        n_dropped: tally.n_dropped,
        n_filtered_out: tally.n_filtered_out,
        source_rows: tally.source_rows,
    })
}

/// The field index of `name`, or `None` after logging why there is none.
/// A name already reported is not reported again.
fn resolve(
    header: &[String],
    name: &str,
    role: ColumnRole,
    source_name: &str,
    problems: &mut Vec<DataProblem>,
) -> Option<usize> {
    let positions: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| *h == name)
        .map(|(idx, _)| idx)
        .collect();
    if let [only] = positions.as_slice() {
        return Some(*only);
    }

    let problem = if positions.is_empty() {
        DataProblem::ColumnUnknown {
            file: source_name.to_string(),
            name: name.to_string(),
            role,
            header: header.to_vec(),
            suggestion: closest_name(name, header.iter().map(String::as_str)).map(str::to_string),
        }
    } else {
        DataProblem::ColumnDuplicate {
            file: source_name.to_string(),
            name: name.to_string(),
            positions: positions.iter().map(|idx| idx + 1).collect(),
        }
    };
    if !problems.contains(&problem) {
        problems.push(problem);
    }
    None
}

/// The column with the most missing cells, the first one on a tie.
fn most_missing(plans: &[ColumnPlan]) -> Option<MissingCount> {
    let plan = plans
        .iter()
        .filter(|plan| plan.n_missing > 0)
        .min_by_key(|plan| std::cmp::Reverse(plan.n_missing))?;
    Some(MissingCount {
        column: plan.name.clone(),
        n_missing: plan.n_missing,
    })
}

/// The columns of a clean load, one per request. A plan shared by several
/// requests is cloned for all but its last.
fn finish_columns(
    requests: &[ColumnRequest],
    plans: Vec<ColumnPlan>,
    plan_of_request: &[usize],
) -> Vec<(String, ColumnKind, Column)> {
    let mut finished: Vec<Option<Column>> =
        plans.into_iter().map(|plan| Some(plan.finish())).collect();
    let mut columns = Vec::with_capacity(requests.len());
    for (request_idx, (request, &plan_idx)) in requests.iter().zip(plan_of_request).enumerate() {
        let is_last_use = !plan_of_request[request_idx + 1..].contains(&plan_idx);
        let column = if is_last_use {
            finished[plan_idx].take()
        } else {
            finished[plan_idx].clone()
        };
        let column = column.expect("a plan is taken only at its last use");
        columns.push((request.name.clone(), request.kind, column));
    }
    columns
}

impl ColumnPlan {
    fn new(request: &ColumnRequest, field_idx: Option<usize>) -> ColumnPlan {
        let values = match request.kind {
            ColumnKind::Real | ColumnKind::Int => Values::Real(Vec::new()),
            ColumnKind::Factor => Values::Factor(FactorBuilder::default()),
        };
        ColumnPlan {
            name: request.name.clone(),
            kind: request.kind,
            field_idx,
            values,
            issues: Vec::new(),
            n_missing: 0,
        }
    }

    pub(super) fn log(&mut self, issue: CellIssue, row: usize, line: u64, raw: &[u8]) {
        let log = match self.issues.iter().position(|log| log.issue == issue) {
            Some(idx) => &mut self.issues[idx],
            None => {
                self.issues.push(IssueLog {
                    issue,
                    n_cells: 0,
                    first: Vec::new(),
                });
                self.issues.last_mut().expect("just pushed")
            }
        };
        log.n_cells += 1;
        if log.first.len() < MAX_LISTED_ROWS {
            log.first.push(BadCell::new(row, line, raw));
        }
    }

    /// Store a cell that `classify` found valid for this column; `field`
    /// gives the text of field `i` of the row (a level's name).
    /// Store a number read for this `Real` or `Int` column.
    #[inline]
    pub(super) fn store_number(&mut self, value: f64) {
        match &mut self.values {
            Values::Real(values) => values.push(value),
            Values::Factor(_) => unreachable!("numbers are stored only in numeric columns"),
        }
    }

    /// Makes room for `n_rows` more numeric values, so that a large
    /// column is allocated once instead of growing by doubling: what is
    /// not filled is never touched, and costs address space only. Room the
    /// system refuses (an estimate from short first lines of a huge file)
    /// is not taken: the column then grows as it is filled.
    pub(super) fn reserve_numbers(&mut self, n_rows: usize) {
        if let (Some(_), Values::Real(values)) = (self.field_idx, &mut self.values) {
            let _ = values.try_reserve_exact(n_rows);
        }
    }

    /// The values of a numeric column, to be extended in place.
    pub(super) fn numbers_mut(&mut self) -> Option<&mut Vec<f64>> {
        match &mut self.values {
            Values::Real(column) => Some(column),
            Values::Factor(_) => None,
        }
    }

    pub(super) fn store<'r>(&mut self, cell: Cell, field: impl FnOnce(usize) -> &'r [u8]) {
        let Some(field_idx) = self.field_idx else {
            return;
        };
        match (&mut self.values, cell) {
            (Values::Real(values), Cell::Number(value)) => values.push(value),
            (Values::Factor(builder), Cell::Level) => {
                let text = std::str::from_utf8(field(field_idx).trim_ascii())
                    .expect("classify accepts only UTF-8 levels");
                builder.push(text);
            }
            _ => unreachable!("only valid cells of the column's kind are stored"),
        }
    }

    /// One problem per issue, ordered by issue so output does not depend on
    /// which bad cell came first.
    fn take_problems(&mut self) -> Vec<DataProblem> {
        let mut issues = std::mem::take(&mut self.issues);
        issues.sort_by_key(|log| issue_rank(log.issue));
        issues
            .into_iter()
            .map(|log| DataProblem::CellsInvalid {
                column: self.name.clone(),
                kind: self.kind,
                issue: log.issue,
                n_cells: log.n_cells,
                first: log.first,
            })
            .collect()
    }

    fn finish(self) -> Column {
        match self.values {
            Values::Real(values) => Column::Real(values),
            Values::Factor(builder) => builder.finish(),
        }
    }
}

fn issue_rank(issue: CellIssue) -> u8 {
    match issue {
        CellIssue::Missing => 0,
        CellIssue::NonFinite => 1,
        CellIssue::NotANumber => 2,
        CellIssue::NotInteger => 3,
        CellIssue::NotUtf8 => 4,
    }
}

impl FilterPlan {
    pub(super) fn remember(&mut self, cell: &[u8]) {
        if self.has_more || self.seen.iter().any(|seen| seen.as_bytes() == cell) {
            return;
        }
        if self.seen.len() < MAX_LISTED_VALUES {
            self.seen.push(quote_text(cell));
        } else {
            self.has_more = true;
        }
    }

    fn into_miss(self) -> FilterMiss {
        FilterMiss {
            column: self.column,
            value: self.value,
            seen: self.seen,
            has_more: self.has_more,
        }
    }
}

pub(super) fn unreadable(path: &str, err: &io::Error) -> DataProblem {
    DataProblem::FileUnreadable {
        path: path.to_string(),
        reason: io_reason(err),
        io_kind: err.kind(),
    }
}

/// The operating system's reason, without the error number and starting
/// lowercase to fit inside a message: "no such file or directory".
fn io_reason(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(idx) => &text[..idx],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
