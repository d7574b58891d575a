//! Data: reading the columns a model needs from a CSV or Arrow IPC file.
//!
//! This stage sits between the checked model, which knows which data columns
//! it uses and of what kind, and evaluation, which wants each column as a
//! plain vector. It knows nothing about models: it takes a list of
//! [`ColumnRequest`]s and returns a [`DataSet`], or a [`DataError`] listing
//! every problem found in the file.
//!
//! # Input
//!
//! A CSV file whose first record is a header naming the columns. Fields are
//! separated by commas and may be quoted with `"` (a quoted field can hold
//! commas, doubled quotes and line breaks; one never closed is an error). The file is UTF-8, optionally
//! starting with a byte-order mark; lines end in LF or CRLF. Blank lines are
//! skipped and do not count as rows. Numbers use `.` as the decimal mark.
//! Header names and cells are trimmed of surrounding whitespace, and column
//! names are matched exactly, case included.
//!
//! # Cells
//!
//! - **Missing**: an empty cell or one of [`MISSING_MARKERS`] (`NA`, `NaN`,
//!   `.`, …), in any kind of column; in a numeric column also any text that
//!   parses as a NaN.
//! - **`Real`**: decimal or exponent notation as accepted by Rust's `f64`
//!   parser (`1.5`, `-2`, `.5`, `760.`, `1e-3`). Infinities and numbers too
//!   large for `f64` are errors, not missing values.
//! - **`Int`**: a `Real` value with no fractional part, so `3`, `3.0` and
//!   `3e0` are all accepted. Stored as `f64`.
//! - **`Factor`**: any non-missing text. Levels are the distinct trimmed
//!   values of the kept rows, sorted numerically if every level parses as a
//!   finite number and by bytes otherwise; codes index into the levels.
//!
//! # Rows
//!
//! Each data row (the first after the header is row 1) goes through these
//! steps in order:
//!
//! 1. A row whose number of fields differs from the header's is an error.
//! 2. Every filter `(column, value)` must hold: the trimmed cell equals the
//!    trimmed value, compared as raw text. Filters combine with "and"; their
//!    columns need not be requested. Failing rows count in
//!    [`DataSet::n_filtered_out`] and are not checked further.
//! 3. Every requested cell is classified. With
//!    [`LoadOptions::drop_missing`] a row with a missing cell is dropped and
//!    counts in [`DataSet::n_dropped`]; without it a missing cell is an
//!    error. Other bad cells are errors either way.
//!
//! Only requested and filter columns are looked at; other columns may hold
//! anything, including duplicate names.
//!
//! # Output invariants
//!
//! On success:
//! - every column has [`DataSet::n_rows`] entries, in file order, and
//!   `n_rows > 0`;
//! - `source_rows` has `n_rows` strictly increasing 1-based data-row
//!   numbers, and `n_rows + n_dropped + n_filtered_out` is the number of
//!   data rows in the file;
//! - `Real` and `Int` values are finite, and `Int` values are whole;
//! - factor levels are distinct, sorted as above, each used by some row,
//!   and every code is less than the number of levels;
//! - `columns` follows the order of the requests, one entry per request.
//!
//! # Errors
//!
//! A [`DataError`] holds every [`DataProblem`] found, each with a code:
//!
//! | code | problem |
//! | --- | --- |
//! | E301 | the file cannot be opened or read |
//! | E302 | the file is empty: no header row |
//! | E303 | a header name is not UTF-8 text |
//! | E304 | a requested or filter column name appears more than once in the header |
//! | E305 | a requested or filter column is not in the header |
//! | E306 | rows with a different number of fields than the header |
//! | E307 | missing cells in a requested column, without `drop_missing` |
//! | E308 | infinite or overflowing numbers in a numeric column |
//! | E309 | text that is not a number in a numeric column |
//! | E310 | numbers with a fractional part, or from 2^53 on, in an integer column |
//! | E311 | cells that are not UTF-8 text in a factor column |
//! | E312 | no rows left after filtering and dropping, or no data rows at all |
//! | E313 | a requested or filter column of an Arrow file has a type that is not data (a list, a date…) |
//! | E314 | a quoted field that is never closed |
//!
//! Cell problems are grouped per column and issue, listing the first
//! [`MAX_LISTED_ROWS`] rows with their text and counting the rest. When the
//! header is unusable (E301 to E305), rows are still checked for their
//! number of fields, and cells are checked in the columns that were found,
//! but only if every filter column was found.
//!
//! # Arrow IPC
//!
//! [`load_file`] also reads Arrow IPC files (Feather v2) and streams, with
//! the same rules: nulls are missing cells, numbers and text are read as
//! the cells of a CSV file would be. The details are in `arrow.rs`.

mod arrow;
mod cell;
mod columns;
mod error;
mod factor;
mod lines;
mod load;
mod pipe;
mod rows;
mod separators;
mod source_rows;

use std::fmt;

pub use cell::MISSING_MARKERS;
pub use error::{
    BadCell, CellIssue, ColumnRole, DataError, DataProblem, FilterMiss, MissingCount, RowFields,
    MAX_LISTED_COLUMNS, MAX_LISTED_ROWS, MAX_LISTED_VALUES, MAX_QUOTED_CHARS,
};
pub use load::{load_csv, load_csv_str};
pub use source_rows::SourceRows;

use std::path::Path;

/// Load the requested columns of the data file at `path`: an Arrow IPC
/// file or stream (told by its first bytes, or an `.arrow`, `.arrows`,
/// `.feather` or `.ipc` extension), else CSV. Both are read with the same
/// rules and give the same [`DataSet`]; see the module documentation.
///
/// # Errors
///
/// Every problem found in the file, as for [`load_csv`].
pub fn load_file(
    path: &Path,
    requests: &[ColumnRequest],
    opts: &LoadOptions,
) -> Result<DataSet, DataError> {
    if !is_regular_file(path) {
        return pipe::load(path, requests, opts);
    }
    match arrow::sniff(path) {
        Some(format) => arrow::load_arrow(path, format, requests, opts),
        None => load_csv(path, requests, opts),
    }
}

/// The column names of the data file at `path` (CSV or Arrow IPC, as for
/// [`load_file`]), for suggesting names when a model refers to a column
/// that does not exist. CSV names are trimmed.
///
/// # Errors
///
/// E301 when the file cannot be read, E302 when a CSV file has no header
/// row, E303 for CSV names that are not UTF-8 text.
pub fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
    if !is_regular_file(path) {
        return pipe::read_header(path);
    }
    match arrow::sniff(path) {
        Some(format) => arrow::read_names(path, format),
        None => load::read_header(path),
    }
}

pub use pipe::forget_piped;

/// The size of a memory page (4096 where it cannot be asked).
#[cfg(unix)]
fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .unwrap_or(4096)
}

#[cfg(not(unix))]
fn page_size() -> usize {
    4096
}

/// Whether `path` is a file that can be opened more than once with the same
/// contents (not a pipe, `/dev/stdin` or another device). A path that does
/// not exist counts as a file: opening it reports the error.
fn is_regular_file(path: &Path) -> bool {
    std::fs::metadata(path).map_or(true, |m| m.is_file())
}

/// How the values of a column are read and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Finite floating-point numbers.
    Real,
    /// Whole numbers, stored as `f64` in a [`Column::Real`].
    Int,
    /// Categories, stored as codes into sorted levels.
    Factor,
}

/// A column the model needs, by header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRequest {
    pub name: String,
    pub kind: ColumnKind,
}

/// Which rows to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Drop rows where any requested column is missing, instead of reporting
    /// the missing cells as errors.
    pub drop_missing: bool,
    /// Keep only rows where each `(column, value)` holds: the trimmed cell
    /// equals the trimmed value, compared as text.
    pub filters: Vec<(String, String)>,
}

/// The values of one column, one entry per kept row.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// A `Real` or `Int` column.
    Real(Vec<f64>),
    /// A `Factor` column: row `i` has level `levels[codes[i]]`.
    Factor {
        codes: Vec<u32>,
        levels: Vec<String>,
    },
}

/// The requested columns of the kept rows, with counts of what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSet {
    /// Number of kept rows; every column has this many entries.
    pub n_rows: usize,
    /// One `(name, kind, values)` per request, in request order.
    pub columns: Vec<(String, ColumnKind, Column)>,
    /// Rows that passed the filters but had a missing requested cell, with
    /// [`LoadOptions::drop_missing`] set.
    pub n_dropped: usize,
    /// Rows that failed a filter.
    pub n_filtered_out: usize,
    /// The 1-based data-row number in the file of each kept row (the first
    /// row after the header is 1), for pointing back at the file.
    pub source_rows: SourceRows,
}

impl ColumnRequest {
    pub fn new(name: impl Into<String>, kind: ColumnKind) -> ColumnRequest {
        ColumnRequest {
            name: name.into(),
            kind,
        }
    }
}

impl Column {
    /// Number of entries, which is the number of kept rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Real(values) => values.len(),
            Column::Factor { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of a `Real` or `Int` column.
    pub fn as_real(&self) -> Option<&[f64]> {
        match self {
            Column::Real(values) => Some(values),
            Column::Factor { .. } => None,
        }
    }

    /// The codes and levels of a `Factor` column.
    pub fn as_factor(&self) -> Option<(&[u32], &[String])> {
        match self {
            Column::Real(_) => None,
            Column::Factor { codes, levels } => Some((codes, levels)),
        }
    }
}

impl DataSet {
    /// The requested columns with no rows, as real columns: enough to lower
    /// a model whose shape does not depend on the data (no factors).
    pub fn empty(requests: &[ColumnRequest]) -> DataSet {
        DataSet {
            n_rows: 0,
            columns: requests
                .iter()
                .map(|r| (r.name.clone(), r.kind, Column::Real(Vec::new())))
                .collect(),
            n_dropped: 0,
            n_filtered_out: 0,
            source_rows: SourceRows::new(),
        }
    }

    /// The values of the first column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, column)| column)
    }

    /// The declared kind of the first column named `name`.
    pub fn kind(&self, name: &str) -> Option<ColumnKind> {
        self.columns
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, kind, _)| *kind)
    }

    /// The names of the loaded columns, in request order. For the names in
    /// the file, including columns that were not requested, see
    /// [`read_header`].
    pub fn header(&self) -> Vec<&str> {
        self.columns
            .iter()
            .map(|(name, _, _)| name.as_str())
            .collect()
    }
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnKind::Real => "real",
            ColumnKind::Int => "integer",
            ColumnKind::Factor => "factor",
        })
    }
}
