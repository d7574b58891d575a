//! What can be wrong with a data file, worded for the person who wrote it.
//!
//! Loading collects every problem it finds into one [`DataError`] instead of
//! stopping at the first, so a user can fix a file in one pass. Each
//! [`DataProblem`] is plain data; [`DataProblem::message`],
//! [`DataProblem::code`] and [`DataProblem::help`] turn it into words.
//!
//! Rows are named twice, because both numbers are useful and easy to
//! confuse: `row 3 (file line 4)` is the third data row, counted from 1 after
//! the header, and the line of the file where it starts. The two differ by
//! one in a plain file, and by more when blank lines or quoted line breaks
//! come before the row. A binary file (Arrow IPC) has no lines: there a
//! `line` of 0 stands for "no line", and only the row is named.

use std::io;

use thiserror::Error;

use super::ColumnKind;
use crate::diag::suggest::closest as closest_name;

/// The most bad cells or rows quoted in one message; the rest are counted.
pub const MAX_LISTED_ROWS: usize = 5;

/// The most header columns listed when a requested column is not found.
pub const MAX_LISTED_COLUMNS: usize = 20;

/// The most distinct values of a filter column kept to explain a filter that
/// matched nothing.
pub const MAX_LISTED_VALUES: usize = 10;

/// The most characters of a cell quoted in a message; longer cells are cut
/// and end in `…`.
pub const MAX_QUOTED_CHARS: usize = 40;

/// Every problem found while loading one data source.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}", display_lines(.problems))]
pub struct DataError {
    /// The path or name of the source, as given to the loader.
    pub source_name: String,
    /// At least one problem: file and header problems first, then rows
    /// with the wrong number of fields, then bad cells column by column in
    /// request order, and last the lack of rows to fit.
    pub problems: Vec<DataProblem>,
}

/// One thing wrong with a data source.
///
/// Variants are named subject first so they group by topic. Row numbers are
/// 1-based data rows (the header is row 0); `line` fields are 1-based lines
/// of the file.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}", self.message())]
pub enum DataProblem {
    /// The file could not be opened or read.
    FileUnreadable {
        path: String,
        reason: String,
        io_kind: io::ErrorKind,
    },
    /// The file has no header row: it is empty or holds only blank lines.
    FileEmpty { file: String },
    /// A header name is not valid UTF-8.
    HeaderNotUtf8 { file: String, position: usize },
    /// A requested or filtered column name appears more than once in the
    /// header, so it is ambiguous. `positions` are 1-based.
    ColumnDuplicate {
        file: String,
        name: String,
        positions: Vec<usize>,
    },
    /// A requested or filtered column is not in the header.
    ColumnUnknown {
        file: String,
        name: String,
        role: ColumnRole,
        header: Vec<String>,
        suggestion: Option<String>,
    },
    /// A requested or filter column of a typed file (Arrow IPC) whose type
    /// cannot be read as data, such as a list or a timestamp.
    ColumnType {
        file: String,
        name: String,
        role: ColumnRole,
        /// The file's name for the type, such as `List(Int64)`.
        type_name: String,
    },
    /// A quoted field is never closed: the `csv` reader took every line
    /// from its opening quote (on file line `line`) to the end of the file
    /// into it.
    QuoteUnclosed { file: String, line: u64 },
    /// Rows whose number of fields differs from the header's.
    RowFieldCount {
        n_header_fields: usize,
        n_rows: usize,
        first: Vec<RowFields>,
    },
    /// Cells of one requested column that it cannot hold, all with the same
    /// issue.
    CellsInvalid {
        column: String,
        kind: ColumnKind,
        issue: CellIssue,
        n_cells: usize,
        first: Vec<BadCell>,
    },
    /// No row is left to fit after filtering and dropping.
    RowsNoneLeft {
        file: String,
        n_data_rows: usize,
        n_filtered_out: usize,
        n_dropped: usize,
        /// The first filter that matched no row at all.
        filter_miss: Option<FilterMiss>,
        /// The requested column missing in the most rows that passed the
        /// filters, when rows were dropped.
        most_missing: Option<MissingCount>,
    },
}

/// Why a column name was looked up in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// The model asked for the column.
    Requested,
    /// A row filter compares the column with a value.
    Filter,
}

/// What is wrong with a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellIssue {
    /// Empty or a missing-value marker, and missing rows are not dropped.
    Missing,
    /// A number too large to represent, or an infinity such as `inf`.
    NonFinite,
    /// Text that does not parse as a number, in a numeric column.
    NotANumber,
    /// A number with a fractional part, in an `Int` column.
    NotInteger,
    /// Bytes that are not UTF-8 text, in a factor column.
    NotUtf8,
}

/// A bad cell quoted in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCell {
    /// 1-based data row.
    pub row: usize,
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The trimmed cell text, shortened to [`MAX_QUOTED_CHARS`]; invalid
    /// UTF-8 is shown as `\u{FFFD}`.
    pub text: String,
}

/// A row with the wrong number of fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFields {
    /// 1-based data row.
    pub row: usize,
    /// 1-based line of the file where the row starts.
    pub line: u64,
    pub n_fields: usize,
}

/// A filter that matched no row, with some of the values its column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterMiss {
    pub column: String,
    pub value: String,
    /// Distinct trimmed values of the column, in order of appearance, at
    /// most [`MAX_LISTED_VALUES`].
    pub seen: Vec<String>,
    /// Whether the column holds more distinct values than `seen`.
    pub has_more: bool,
}

/// How many rows that passed the filters miss a value in one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCount {
    pub column: String,
    pub n_missing: usize,
}

impl DataError {
    pub fn problems(&self) -> &[DataProblem] {
        &self.problems
    }

    /// Every problem as a diagnostic, with a note naming the data file as
    /// `shown` (the path as the user wrote it).
    pub fn to_diagnostics(&self, shown: &str) -> Vec<crate::diag::Diagnostic> {
        self.problems
            .iter()
            .map(|p| {
                let d = crate::diag::Diagnostic::error(p.code(), p.message())
                    .with_note(format!("In data file `{shown}`."));
                match p.help() {
                    Some(h) => d.with_help(h),
                    None => d,
                }
            })
            .collect()
    }
}

impl DataProblem {
    /// A stable code for the problem, documented with the data module.
    pub fn code(&self) -> &'static str {
        match self {
            DataProblem::FileUnreadable { .. } => "E301",
            DataProblem::FileEmpty { .. } => "E302",
            DataProblem::HeaderNotUtf8 { .. } => "E303",
            DataProblem::ColumnDuplicate { .. } => "E304",
            DataProblem::ColumnUnknown { .. } => "E305",
            DataProblem::RowFieldCount { .. } => "E306",
            DataProblem::ColumnType { .. } => "E313",
            DataProblem::QuoteUnclosed { .. } => "E314",
            DataProblem::CellsInvalid { issue, .. } => match issue {
                CellIssue::Missing => "E307",
                CellIssue::NonFinite => "E308",
                CellIssue::NotANumber => "E309",
                CellIssue::NotInteger => "E310",
                CellIssue::NotUtf8 => "E311",
            },
            DataProblem::RowsNoneLeft { .. } => "E312",
        }
    }

    /// One line saying what is wrong and where: lowercase start, no final
    /// period.
    pub fn message(&self) -> String {
        match self {
            DataProblem::FileUnreadable { path, reason, .. } => {
                format!("cannot read `{path}`: {reason}")
            }
            DataProblem::FileEmpty { file } => format!("`{file}` is empty: it has no header row"),
            DataProblem::HeaderNotUtf8 { file, position } => {
                format!("the name of column {position} in the header of `{file}` is not UTF-8 text")
            }
            DataProblem::ColumnDuplicate {
                file,
                name,
                positions,
            } => format!(
                "the header of `{file}` has {} columns named `{name}`, at positions {}",
                positions.len(),
                join_and(positions.iter().map(usize::to_string)),
            ),
            DataProblem::ColumnUnknown {
                file,
                name,
                role,
                header,
                ..
            } => {
                let what = match role {
                    ColumnRole::Requested => "column",
                    ColumnRole::Filter => "filter column",
                };
                format!(
                    "{what} `{name}` is not in `{file}`, whose columns are {}",
                    list_columns(header)
                )
            }
            DataProblem::ColumnType {
                file,
                name,
                role,
                type_name,
            } => {
                let what = match role {
                    ColumnRole::Requested => "column",
                    ColumnRole::Filter => "filter column",
                };
                format!(
                    "{what} `{name}` of `{file}` has type {type_name}, which cannot be read as data"
                )
            }
            DataProblem::QuoteUnclosed { file, line } => format!(
                "the quote that opens a field on line {line} of `{file}` is never closed: every line from there to the end of the file would be read as that one field"
            ),
            DataProblem::RowFieldCount {
                n_header_fields,
                n_rows,
                first,
            } => row_field_count_message(*n_header_fields, *n_rows, first),
            DataProblem::CellsInvalid {
                column,
                kind,
                issue,
                n_cells,
                first,
            } => cells_message(column, *kind, *issue, *n_cells, first),
            DataProblem::RowsNoneLeft {
                file,
                n_data_rows,
                n_filtered_out,
                n_dropped,
                ..
            } => rows_none_left_message(file, *n_data_rows, *n_filtered_out, *n_dropped),
        }
    }

    /// A full sentence proposing a concrete change, when there is one.
    pub fn help(&self) -> Option<String> {
        match self {
            DataProblem::FileUnreadable { io_kind, .. } => (*io_kind == io::ErrorKind::NotFound)
                .then(|| {
                    "Check the path; a relative path starts from the current directory.".into()
                }),
            DataProblem::FileEmpty { .. } => Some(
                "The first line of the file must name the columns, separated by commas.".into(),
            ),
            DataProblem::HeaderNotUtf8 { .. } => Some("Save the file with UTF-8 encoding.".into()),
            DataProblem::ColumnDuplicate { .. } => {
                Some("Rename the columns so that each name appears only once.".into())
            }
            DataProblem::ColumnUnknown {
                suggestion, header, ..
            } => match suggestion {
                Some(name) => Some(format!("Did you mean `{name}`?")),
                None => other_separator_help(header),
            },
            DataProblem::ColumnType { .. } => Some(
                "Columns are read from numbers (integers or floating point), text, booleans \
                 and dictionaries of these; convert the column to one of them."
                    .into(),
            ),
            DataProblem::QuoteUnclosed { .. } => Some(
                "Close the quoted field with a `\"`; a quote that is part of a value is \
                 written twice inside a quoted field (`\"5\"\" pipe\"`)."
                    .into(),
            ),
            DataProblem::RowFieldCount { .. } => Some(
                "A value that contains a comma must be quoted; check these rows for missing \
                 or extra commas."
                    .into(),
            ),
            DataProblem::CellsInvalid {
                column,
                issue,
                first,
                ..
            } => Some(cells_help(column, *issue, first)),
            DataProblem::RowsNoneLeft {
                n_data_rows,
                n_filtered_out,
                n_dropped,
                filter_miss,
                most_missing,
                ..
            } => rows_none_left_help(
                *n_data_rows,
                *n_filtered_out,
                *n_dropped,
                filter_miss.as_ref(),
                most_missing.as_ref(),
            ),
        }
    }
}

/// `DataError`'s display: one `error[CODE]: message` line per problem.
fn display_lines(problems: &[DataProblem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("error[{}]: {}", p.code(), p.message()))
        .collect();
    lines.join("\n")
}

impl BadCell {
    /// Record a cell for a message, shortening long text.
    pub(crate) fn new(row: usize, line: u64, raw: &[u8]) -> BadCell {
        BadCell {
            row,
            line,
            text: quote_text(raw.trim_ascii()),
        }
    }
}

/// Render raw cell bytes for a message: lossy UTF-8, at most
/// [`MAX_QUOTED_CHARS`] characters.
pub(crate) fn quote_text(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if text.chars().count() <= MAX_QUOTED_CHARS {
        return text.into_owned();
    }
    let mut short: String = text.chars().take(MAX_QUOTED_CHARS - 1).collect();
    short.push('…');
    short
}

/// `row 3 (file line 4)`, or `row 3` where the file has no lines (`line`
/// is 0).
fn row_at(row: usize, line: u64) -> String {
    if line == 0 {
        format!("row {row}")
    } else {
        format!("row {row} (file line {line})")
    }
}

fn row_field_count_message(n_header_fields: usize, n_rows: usize, first: &[RowFields]) -> String {
    if let [only] = first {
        if n_rows == 1 {
            return format!(
                "row {} (file line {}) has {} but the header has {n_header_fields}",
                only.row,
                only.line,
                plural(only.n_fields, "field", "fields"),
            );
        }
    }
    let listed = first
        .iter()
        .map(|r| format!("row {} (file line {}) has {}", r.row, r.line, r.n_fields));
    format!(
        "{} have a different number of fields than the header's {n_header_fields}: {}",
        plural(n_rows, "row", "rows"),
        list_with_rest(listed, n_rows),
    )
}

fn cells_message(
    column: &str,
    kind: ColumnKind,
    issue: CellIssue,
    n_cells: usize,
    first: &[BadCell],
) -> String {
    let (one, many) = match issue {
        CellIssue::Missing => ("missing value", "missing values"),
        CellIssue::NonFinite => ("non-finite value", "non-finite values"),
        CellIssue::NotANumber => ("non-numeric cell", "non-numeric cells"),
        CellIssue::NotInteger => (
            "value that is not a whole number below 2^53 in size",
            "values that are not whole numbers below 2^53 in size",
        ),
        CellIssue::NotUtf8 => (
            "cell that is not UTF-8 text",
            "cells that are not UTF-8 text",
        ),
    };
    let listed = first.iter().map(|cell| {
        let text = if cell.text.is_empty() {
            "empty".to_string()
        } else {
            format!("`{}`", cell.text)
        };
        format!("{} {text}", row_at(cell.row, cell.line))
    });
    // Only the integer check depends on the declared kind, so only then is
    // the kind worth naming.
    let subject = if issue == CellIssue::NotInteger {
        format!("{kind} column")
    } else {
        "column".into()
    };
    format!(
        "{subject} `{column}` has {}: {}",
        plural(n_cells, one, many),
        list_with_rest(listed, n_cells)
    )
}

fn cells_help(column: &str, issue: CellIssue, first: &[BadCell]) -> String {
    match issue {
        CellIssue::Missing => {
            "Use --drop-missing to fit on the complete rows only, or fill in the missing values."
                .into()
        }
        CellIssue::NonFinite => {
            "Replace the infinite values with finite numbers, or remove these rows.".into()
        }
        CellIssue::NotANumber
            if first
                .iter()
                .any(|cell| looks_like_decimal_comma(&cell.text)) =>
        {
            "Write numbers with `.` as the decimal mark, as in `1.5` rather than `1,5`.".into()
        }
        CellIssue::NotANumber => {
            format!("If `{column}` holds categories rather than numbers, declare it as a factor.")
        }
        CellIssue::NotInteger => format!(
            "An integer column holds whole numbers only, below 2^53 = 9007199254740992 in \
             size (from there on a double does not hold every integer); declare `{column}` as real \
             if it may hold fractions."
        ),
        CellIssue::NotUtf8 => "Save the file with UTF-8 encoding.".into(),
    }
}

/// Whether `text` reads as a number written with a decimal comma, like
/// `1,5` or `-0,25`.
fn looks_like_decimal_comma(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    match digits.split_once(',') {
        Some((whole, fraction)) => {
            let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            is_digits(whole) && is_digits(fraction)
        }
        None => false,
    }
}

fn rows_none_left_message(
    file: &str,
    n_data_rows: usize,
    n_filtered_out: usize,
    n_dropped: usize,
) -> String {
    if n_data_rows == 0 {
        return format!("`{file}` has a header but no data rows");
    }
    let reason = match (n_filtered_out, n_dropped) {
        (1, 0) => "its only data row was filtered out".to_string(),
        (0, 1) => "its only data row was dropped for missing values".to_string(),
        (_, 0) => format!("all {n_data_rows} data rows were filtered out"),
        (0, _) => format!("all {n_data_rows} data rows were dropped for missing values"),
        _ => format!(
            "of {n_data_rows} data rows, {n_filtered_out} {} filtered out and {n_dropped} \
             dropped for missing values",
            if n_filtered_out == 1 { "was" } else { "were" }
        ),
    };
    format!("no rows left in `{file}`: {reason}")
}

fn rows_none_left_help(
    n_data_rows: usize,
    n_filtered_out: usize,
    n_dropped: usize,
    filter_miss: Option<&FilterMiss>,
    most_missing: Option<&MissingCount>,
) -> Option<String> {
    if n_data_rows == 0 {
        return Some("Add data rows below the header.".into());
    }
    if let Some(miss) = filter_miss {
        let FilterMiss {
            column,
            value,
            seen,
            has_more,
        } = miss;
        let prefix = format!("No row has `{column}` equal to `{value}`");
        if let Some(near) = closest_name(value, seen.iter().map(String::as_str)) {
            return Some(format!("{prefix}; did you mean `{near}`?"));
        }
        if seen.is_empty() {
            return Some(format!("{prefix}."));
        }
        let values = seen.iter().map(|v| format!("`{v}`"));
        let listed = if *has_more {
            format!("{}, …", values.collect::<Vec<_>>().join(", "))
        } else {
            join_and(values)
        };
        return Some(format!("{prefix}; its values include {listed}."));
    }
    if n_dropped > 0 {
        let rows = if n_filtered_out == 0 {
            "row"
        } else {
            "row that passes the filters"
        };
        let n_checked = n_data_rows - n_filtered_out;
        return Some(match most_missing {
            Some(MissingCount { column, .. }) if n_checked == 1 => {
                format!("The only {rows} has no value for `{column}`.")
            }
            Some(MissingCount { column, n_missing }) if *n_missing == n_checked => {
                format!(
                    "Every {rows} has a missing value; `{column}` is missing in all {n_checked} rows."
                )
            }
            Some(MissingCount { column, n_missing }) => format!(
                "Every {rows} has a missing value; `{column}` is missing in {n_missing} of \
                 those {n_checked} rows."
            ),
            None => format!("Every {rows} has a missing value in some requested column."),
        });
    }
    Some("No row passes all the filters together; check the filter values.".into())
}

/// When the header is a single name holding another separator, the file is
/// probably not comma-separated.
fn other_separator_help(header: &[String]) -> Option<String> {
    let [only] = header else { return None };
    let separator = [';', '\t', '|'].into_iter().find(|&c| only.contains(c))?;
    let shown = if separator == '\t' {
        "tab".to_string()
    } else {
        format!("`{separator}`")
    };
    Some(format!(
        "The header has a single column and looks separated by {shown}; only comma-separated \
         files are read."
    ))
}

fn list_columns(header: &[String]) -> String {
    let listed = header
        .iter()
        .take(MAX_LISTED_COLUMNS)
        .map(|name| format!("`{name}`"));
    let rest = header.len().saturating_sub(MAX_LISTED_COLUMNS);
    if rest == 0 {
        join_and(listed)
    } else {
        format!("{} and {rest} more", listed.collect::<Vec<_>>().join(", "))
    }
}

/// `a, b, and 7 more` when `n_total` exceeds the listed items, else `a, b`.
fn list_with_rest(listed: impl Iterator<Item = String>, n_total: usize) -> String {
    let listed: Vec<String> = listed.collect();
    let rest = n_total.saturating_sub(listed.len());
    let mut text = listed.join(", ");
    if rest > 0 {
        text.push_str(&format!(", and {rest} more"));
    }
    text
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_the_data_range() {
        let cell_issues = [
            CellIssue::Missing,
            CellIssue::NonFinite,
            CellIssue::NotANumber,
            CellIssue::NotInteger,
            CellIssue::NotUtf8,
        ];
        let mut problems = vec![
            DataProblem::FileUnreadable {
                path: "p".into(),
                reason: "r".into(),
                io_kind: io::ErrorKind::Other,
            },
            DataProblem::FileEmpty { file: "f".into() },
            DataProblem::HeaderNotUtf8 {
                file: "f".into(),
                position: 1,
            },
            DataProblem::ColumnDuplicate {
                file: "f".into(),
                name: "a".into(),
                positions: vec![1, 2],
            },
            DataProblem::ColumnUnknown {
                file: "f".into(),
                name: "a".into(),
                role: ColumnRole::Requested,
                header: vec![],
                suggestion: None,
            },
            DataProblem::RowFieldCount {
                n_header_fields: 2,
                n_rows: 1,
                first: vec![],
            },
            DataProblem::RowsNoneLeft {
                file: "f".into(),
                n_data_rows: 0,
                n_filtered_out: 0,
                n_dropped: 0,
                filter_miss: None,
                most_missing: None,
            },
        ];
        problems.extend(
            cell_issues
                .into_iter()
                .map(|issue| DataProblem::CellsInvalid {
                    column: "c".into(),
                    kind: ColumnKind::Real,
                    issue,
                    n_cells: 1,
                    first: vec![],
                }),
        );

        let mut codes: Vec<&str> = problems.iter().map(DataProblem::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), problems.len());
        assert!(codes.iter().all(|c| c.starts_with("E3") && c.len() == 4));
    }

    #[test]
    fn messages_start_lowercase_without_final_period() {
        let problem = DataProblem::HeaderNotUtf8 {
            file: "data.csv".into(),
            position: 3,
        };
        let message = problem.message();
        assert!(message.starts_with(|c: char| c.is_lowercase()));
        assert!(!message.ends_with('.'));
        insta::assert_snapshot!(message, @"the name of column 3 in the header of `data.csv` is not UTF-8 text");
    }

    #[test]
    fn long_cells_are_shortened() {
        let long = "x".repeat(100);
        let quoted = quote_text(long.as_bytes());
        assert_eq!(quoted.chars().count(), MAX_QUOTED_CHARS);
        assert!(quoted.ends_with('…'));
        assert_eq!(quote_text(b"caf\xe9"), "caf\u{fffd}");
    }

    #[test]
    fn decimal_commas_are_recognised() {
        assert!(looks_like_decimal_comma("1,5"));
        assert!(looks_like_decimal_comma("-0,25"));
        assert!(!looks_like_decimal_comma("1,"));
        assert!(!looks_like_decimal_comma("a,b"));
        assert!(!looks_like_decimal_comma("15"));
    }

    #[test]
    fn lists_read_as_english() {
        let words = |v: &[&str]| join_and(v.iter().map(|s| s.to_string()));
        assert_eq!(words(&[]), "");
        assert_eq!(words(&["a"]), "a");
        assert_eq!(words(&["a", "b"]), "a and b");
        assert_eq!(words(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn long_headers_are_cut_in_messages() {
        let header: Vec<String> = (1..=25).map(|i| format!("c{i}")).collect();
        let problem = DataProblem::ColumnUnknown {
            file: "wide.csv".into(),
            name: "z".into(),
            role: ColumnRole::Requested,
            header,
            suggestion: None,
        };
        insta::assert_snapshot!(problem.message(), @"column `z` is not in `wide.csv`, whose columns are `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9`, `c10`, `c11`, `c12`, `c13`, `c14`, `c15`, `c16`, `c17`, `c18`, `c19`, `c20` and 5 more");
    }

    #[test]
    fn semicolon_files_get_a_separator_hint() {
        let problem = DataProblem::ColumnUnknown {
            file: "semi.csv".into(),
            name: "x".into(),
            role: ColumnRole::Requested,
            header: vec!["x;y".into()],
            suggestion: None,
        };
        insta::assert_snapshot!(problem.help().unwrap(), @"The header has a single column and looks separated by `;`; only comma-separated files are read.");
    }
}
