//! The CSV reading loop: header, then one pass over the rows. The
//! requested columns themselves (planning, cells, final checks) are kept
//! by `columns.rs`, which the Arrow reader shares.
//!
//! The header is resolved into field indices first. Rows are then read by
//! a [`RowReader`], which finds plain lines in place and hands anything
//! with quotes to the `csv` crate. A plain line is split and its numeric
//! fields read as plain decimals in the same pass over its bytes; a row
//! whose requested cells all read that way is stored at once. Other rows
//! go through the full checks, where only the fields of requested and
//! filter columns are looked at. A clean row allocates nothing. Problems
//! are logged per column and issue while reading and turned into
//! [`DataProblem`]s at the end. Once any problem is seen, values are no
//! longer stored, since the load will fail anyway.

use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::path::Path;

use super::cell::{classify, is_exact_int, Cell};
use super::columns::{conclude, plan_columns, unreadable, ColumnPlan, FilterPlan, Planned, Tally};
use super::error::{RowFields, MAX_LISTED_ROWS};
use super::rows::{
    cut_at_lines, plain_numeric_lines, split_reading_numbers, Line, ReadError, Record, RowReader,
    BLOCK_BYTES,
};
use super::SourceRows;
use super::{CellIssue, ColumnKind, ColumnRequest, DataError, DataProblem, DataSet, LoadOptions};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Load the requested columns of the CSV file at `path`.
///
/// See the [module documentation](super) for the accepted format, how rows
/// are selected and what the result guarantees.
///
/// # Errors
///
/// Every problem found in the file, as described in the module
/// documentation; a file that cannot be opened gives E301 alone.
pub fn load_csv(
    path: &Path,
    requests: &[ColumnRequest],
    opts: &LoadOptions,
) -> Result<DataSet, DataError> {
    let name = path.display().to_string();
    match File::open(path) {
        Ok(file) => load_rows(file_rows(file), &name, requests, opts),
        Err(err) => Err(DataError {
            problems: vec![unreadable(&name, &err)],
            source_name: name,
        }),
    }
}

/// A reader of the rows of `file`: its bytes mapped into memory when it can
/// be (a regular file that is not empty), so that they come from the file
/// cache without a copy; read a block at a time otherwise.
fn file_rows(file: File) -> RowReader<Box<dyn io::Read>> {
    let metadata = file.metadata().ok();
    if metadata
        .as_ref()
        .is_some_and(|m| m.is_file() && m.len() > 0)
    {
        // SAFETY: the map is read-only. Another process writing the file
        // while it is mapped would change these bytes under the reader, and
        // truncating it would make reading the lost pages fault: that is the
        // contract of any mapped input. The values are copied out as the
        // rows are read, and the map lives only while the data loads.
        if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
            return RowReader::mapped(map, Box::new(io::empty()), BLOCK_BYTES);
        }
    }
    let mut reader = RowReader::new(Box::new(file) as Box<dyn io::Read>);
    reader.set_expected_bytes(metadata.map(|m| m.len()));
    reader
}

/// Load the requested columns from CSV `text`, naming it `source_name` in
/// messages. Behaves exactly like [`load_csv`] on a file holding `text`.
///
/// # Example: a factor and a numeric column
///
/// ```
/// use nll::data::{load_csv_str, Column, ColumnKind, ColumnRequest, LoadOptions};
///
/// let text = "y,group\n1.5,b\n2.0,a\n";
/// let requests = [
///     ColumnRequest::new("y", ColumnKind::Real),
///     ColumnRequest::new("group", ColumnKind::Factor),
/// ];
/// let data = load_csv_str(text, "inline.csv", &requests, &LoadOptions::default()).unwrap();
/// assert_eq!(data.n_rows, 2);
/// assert_eq!(data.column("y"), Some(&Column::Real(vec![1.5, 2.0])));
/// let (codes, levels) = data.column("group").unwrap().as_factor().unwrap();
/// assert_eq!((codes, levels), (&[1, 0][..], &["a".to_string(), "b".to_string()][..]));
/// ```
///
/// # Errors
///
/// As for [`load_csv`].
pub fn load_csv_str(
    text: &str,
    source_name: &str,
    requests: &[ColumnRequest],
    opts: &LoadOptions,
) -> Result<DataSet, DataError> {
    load_from_reader(text.as_bytes(), source_name, requests, opts)
}

/// The trimmed column names in the header of the CSV file at `path`.
///
/// # Errors
///
/// E301 when the file cannot be read, E302 when it has no header row, E303
/// for names that are not UTF-8 text.
pub(super) fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
    let name = path.display().to_string();
    let fail = |problems| DataError {
        source_name: name.clone(),
        problems,
    };

    let file = File::open(path).map_err(|err| fail(vec![unreadable(&name, &err)]))?;
    let mut reader = RowReader::new(file);
    read_header_names(&mut reader, &name).map_err(fail)
}

pub(super) fn load_from_reader<R: io::Read>(
    input: R,
    source_name: &str,
    requests: &[ColumnRequest],
    opts: &LoadOptions,
) -> Result<DataSet, DataError> {
    load_rows(RowReader::new(input), source_name, requests, opts)
}

fn load_rows<R: io::Read>(
    mut reader: RowReader<R>,
    source_name: &str,
    requests: &[ColumnRequest],
    opts: &LoadOptions,
) -> Result<DataSet, DataError> {
    let fail = |problems| DataError {
        source_name: source_name.to_string(),
        problems,
    };
    let header = read_header_names(&mut reader, source_name).map_err(fail)?;
    let Planned {
        mut problems,
        mut plans,
        plan_of_request,
        mut filters,
    } = plan_columns(&header, requests, opts, source_name);
    let has_header_problem = !problems.is_empty();
    let can_check_cells = filters.iter().all(|f| f.field_idx.is_some());
    if let Some(n_rows) = reader.estimated_rows_left() {
        for plan in plans.iter_mut() {
            plan.reserve_numbers(n_rows);
        }
    }

    // The single pass over the rows.
    let mut n_data_rows = 0;
    let mut n_filtered_out = 0;
    let mut n_dropped = 0;
    let mut n_kept = 0;
    let mut source_rows = SourceRows::new();
    let mut ragged_rows: Vec<RowFields> = Vec::new();
    let mut n_ragged_rows = 0;
    let mut is_clean = !has_header_problem;
    let mut has_read_error = false;
    let mut cells = vec![Cell::Missing; plans.len()];
    // Plain lines are split and their numeric fields read in one pass; a
    // row of plain decimals (and valid levels) is stored at once, anything
    // else goes through the checks below. Filters always do.
    let is_numeric_field: Vec<bool> = (0..header.len())
        .map(|field_idx| {
            plans
                .iter()
                .any(|plan| plan.field_idx == Some(field_idx) && plan.kind != ColumnKind::Factor)
        })
        .collect();
    let mut field_values = vec![0.0; header.len()];
    let mut ends = Vec::new();
    let can_store_plain_rows = can_check_cells && filters.is_empty();
    // Factor levels are numbered in the order they first appear, which
    // pieces read apart would not keep: only numeric columns are read on
    // several threads.
    let is_numeric_only = plans.iter().all(|plan| plan.kind != ColumnKind::Factor);
    let is_parallel = rayon::current_num_threads() > 1 && is_numeric_only;
    // Whether the last run of plain lines was long. Handing a block to the
    // threads costs a pass over it and a wake-up (tens of microseconds);
    // where plain lines come in short runs between others (a dropped row
    // every other line), one thread reads them, each run costing only its
    // own lines.
    let mut is_long_run = true;
    loop {
        if is_clean && can_store_plain_rows {
            let n_read = if is_parallel && is_long_run {
                store_plain_rows_parallel(&mut reader, &is_numeric_field, &mut plans)
            } else if is_numeric_only {
                // Each value pushed straight onto its column, without
                // looking at every plan's kind for every row.
                let mut columns = numeric_columns(&mut plans);
                reader.plain_numeric_rows(&is_numeric_field, &mut field_values, |_, values| {
                    let is_valid = columns
                        .iter()
                        .all(|(_, field_idx, is_int)| !is_int || is_exact_int(values[*field_idx]));
                    if is_valid {
                        for (column, field_idx, _) in columns.iter_mut() {
                            column.push(values[*field_idx]);
                        }
                    }
                    is_valid
                })
            } else {
                reader.plain_numeric_rows(&is_numeric_field, &mut field_values, |record, values| {
                    store_plain_row(&mut plans, record, values)
                })
            };
            is_long_run = n_read >= LONG_RUN_LINES;
            source_rows.extend_run(n_data_rows + 1..n_data_rows + 1 + n_read);
            n_data_rows += n_read;
            n_kept += n_read;
        }
        let (next_line, line) = match reader.next_line() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(err) => {
                problems.push(unreadable_read(source_name, err));
                has_read_error = true;
                break;
            }
        };
        n_data_rows += 1;
        let row = n_data_rows;
        let record = match next_line {
            Line::Plain(text) => {
                let is_all_read =
                    split_reading_numbers(text, &is_numeric_field, &mut ends, &mut field_values);
                let record = Record::Line {
                    line: text,
                    ends: &ends,
                };
                if is_all_read
                    && is_clean
                    && can_store_plain_rows
                    && ends.len() == header.len()
                    && store_plain_row(&mut plans, &record, &field_values)
                {
                    n_kept += 1;
                    source_rows.push(row);
                    continue;
                }
                record
            }
            Line::Csv(record) => Record::Csv(record),
        };

        if record.len() != header.len() {
            n_ragged_rows += 1;
            if ragged_rows.len() < MAX_LISTED_ROWS {
                ragged_rows.push(RowFields {
                    row,
                    line,
                    n_fields: record.len(),
                });
            }
            is_clean = false;
            continue;
        }
        if !can_check_cells {
            continue;
        }
        if !passes_filters(&mut filters, &record) {
            n_filtered_out += 1;
            continue;
        }

        let mut has_missing = false;
        let mut has_invalid = false;
        for (plan, cell) in plans.iter_mut().zip(&mut cells) {
            let Some(field_idx) = plan.field_idx else {
                continue;
            };
            let raw = record.field(field_idx);
            *cell = classify(raw, plan.kind);
            match *cell {
                Cell::Missing => {
                    has_missing = true;
                    plan.n_missing += 1;
                    if !opts.drop_missing {
                        plan.log(CellIssue::Missing, row, line, raw);
                    }
                }
                Cell::Invalid(issue) => {
                    has_invalid = true;
                    plan.log(issue, row, line, raw);
                }
                Cell::Number(_) | Cell::Level => {}
            }
        }
        if has_missing && opts.drop_missing {
            n_dropped += 1;
            continue;
        }
        n_kept += 1;
        if has_missing || has_invalid {
            is_clean = false;
        }
        if !is_clean {
            continue;
        }

        for (plan, cell) in plans.iter_mut().zip(&cells) {
            plan.store(*cell, |i| record.field(i));
        }
        source_rows.push(row);
    }

    // Turn the logs into problems, in a stable order.
    if let Some(line) = reader.unclosed_quote_line() {
        problems.push(DataProblem::QuoteUnclosed {
            file: source_name.to_string(),
            line,
        });
    }
    if n_ragged_rows > 0 {
        problems.push(DataProblem::RowFieldCount {
            n_header_fields: header.len(),
            n_rows: n_ragged_rows,
            first: ragged_rows,
        });
    }
    let is_row_count_known =
        !has_header_problem && !has_read_error && n_ragged_rows == 0 && can_check_cells;
    let planned = Planned {
        problems,
        plans,
        plan_of_request,
        filters,
    };
    conclude(
        source_name,
        planned,
        requests,
        Tally {
            n_data_rows,
            n_filtered_out,
            n_dropped,
            n_kept,
            source_rows,
            is_row_count_known,
        },
    )
}

/// Store a row whose numeric fields were all read as plain decimals
/// (`field_values`), when every requested cell is valid: numbers, whole
/// where the column wants integers, and levels. Nothing is stored and
/// `false` returned otherwise, for the full checks to find out why.
fn store_plain_row(plans: &mut [ColumnPlan], record: &Record<'_>, field_values: &[f64]) -> bool {
    let is_valid = plans.iter().all(|plan| match (plan.field_idx, plan.kind) {
        (None, _) | (Some(_), ColumnKind::Real) => true,
        (Some(field_idx), ColumnKind::Int) => is_exact_int(field_values[field_idx]),
        (Some(field_idx), ColumnKind::Factor) => {
            classify(record.field(field_idx), ColumnKind::Factor) == Cell::Level
        }
    });
    if !is_valid {
        return false;
    }
    for plan in plans.iter_mut() {
        if let Some(field_idx) = plan.field_idx {
            match plan.kind {
                ColumnKind::Real | ColumnKind::Int => plan.store_number(field_values[field_idx]),
                ColumnKind::Factor => plan.store(Cell::Level, |i| record.field(i)),
            }
        }
    }
    true
}

/// A run of plain lines this long is worth handing to several threads for
/// the next block: a few hundred microseconds of reading, against tens for
/// the hand-over.
const LONG_RUN_LINES: usize = 4096;

/// Reads the plain numeric rows at the front of the reader's block on the
/// current pool's threads into `plans`, none of them a factor, in file
/// order; the number of rows. The block's lines are cut into one piece per
/// thread, each piece's lines counted, and each piece written by its thread
/// straight into its own stretch of every column (so the columns' memory is
/// first touched in parallel too). A piece that stops before its end (a
/// line the general path must read) ends the run: what comes after it is
/// left, to be read again in order.
fn store_plain_rows_parallel<R: io::Read>(
    reader: &mut RowReader<R>,
    numeric: &[bool],
    plans: &mut [ColumnPlan],
) -> usize {
    use rayon::prelude::*;
    let lines = reader.complete_lines();
    let ends = cut_at_lines(lines, rayon::current_num_threads());
    let pieces: Vec<&[u8]> = std::iter::once(0)
        .chain(ends.iter().copied())
        .zip(&ends)
        .map(|(start, end)| &lines[start..*end])
        .collect();
    let counts: Vec<usize> = pieces
        .par_iter()
        .map(|piece| memchr::memchr_iter(b'\n', piece).count())
        .collect();
    let n_lines: usize = counts.iter().sum();
    // The columns read from a field, each with its field and whether it
    // holds integers; and each piece's stretch of every column.
    let mut columns = numeric_columns(plans);
    let fields: Vec<(usize, bool)> = columns.iter().map(|c| (c.1, c.2)).collect();
    let mut stretches: Vec<Vec<&mut [MaybeUninit<f64>]>> =
        pieces.iter().map(|_| Vec::new()).collect();
    for (column, _, _) in columns.iter_mut() {
        column.reserve(n_lines);
        let mut rest = &mut column.spare_capacity_mut()[..n_lines];
        for (stretch, count) in stretches.iter_mut().zip(&counts) {
            let (mine, after) = rest.split_at_mut(*count);
            stretch.push(mine);
            rest = after;
        }
    }
    let read: Vec<(usize, usize)> = stretches
        .into_par_iter()
        .zip(&pieces)
        .map(|(mut stretch, piece)| {
            let mut values = vec![0.0; numeric.len()];
            let mut field_ends = Vec::new();
            let mut row = 0;
            plain_numeric_lines(piece, numeric, &mut values, &mut field_ends, |_, values| {
                let is_valid = fields
                    .iter()
                    .all(|&(field_idx, is_int)| !is_int || is_exact_int(values[field_idx]));
                if is_valid {
                    // Each line taken ends in one of the piece's line
                    // breaks, so `row` stays below the piece's count.
                    for (slots, &(field_idx, _)) in stretch.iter_mut().zip(&fields) {
                        slots[row].write(values[field_idx]);
                    }
                    row += 1;
                }
                is_valid
            })
        })
        .collect();
    // The rows read without a gap: every piece up to the first that stopped
    // early, and that one's lines before it stopped.
    let (mut n_rows, mut n_bytes) = (0, 0);
    for ((n_read, taken_to), piece) in read.into_iter().zip(&pieces) {
        n_rows += n_read;
        n_bytes += taken_to;
        if taken_to < piece.len() {
            break;
        }
    }
    for (column, _, _) in columns {
        // SAFETY: the first `n_rows` slots after the column's length were
        // written above: those of each whole piece (one per line break, and
        // a whole piece took every line), then the first `n_read` of the
        // piece that stopped; `reserve` made room for them.
        unsafe { column.set_len(column.len() + n_rows) };
    }
    reader.consume(n_bytes, n_rows);
    n_rows
}

/// The numeric columns read from a field, each with its field and whether
/// it holds integers.
fn numeric_columns(plans: &mut [ColumnPlan]) -> Vec<(&mut Vec<f64>, usize, bool)> {
    plans
        .iter_mut()
        .filter_map(|plan| {
            let (field_idx, is_int) = (plan.field_idx?, plan.kind == ColumnKind::Int);
            Some((plan.numbers_mut()?, field_idx, is_int))
        })
        .collect()
}

/// Read the first record and turn it into trimmed names.
pub(super) fn read_header_names<R: io::Read>(
    reader: &mut RowReader<R>,
    source_name: &str,
) -> Result<Vec<String>, Vec<DataProblem>> {
    let record = match reader.next_record() {
        Ok(Some((record, _))) => record,
        Ok(None) => {
            return Err(vec![DataProblem::FileEmpty {
                file: source_name.to_string(),
            }])
        }
        Err(err) => return Err(vec![unreadable_read(source_name, err)]),
    };

    let mut names = Vec::with_capacity(record.len());
    let mut problems = Vec::new();
    for (field_idx, raw) in record.iter().enumerate() {
        let raw = if field_idx == 0 {
            raw.strip_prefix(UTF8_BOM).unwrap_or(raw)
        } else {
            raw
        };
        match std::str::from_utf8(raw.trim_ascii()) {
            Ok(name) => names.push(name.to_string()),
            Err(_) => problems.push(DataProblem::HeaderNotUtf8 {
                file: source_name.to_string(),
                position: field_idx + 1,
            }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    // A header of one blank name is a file of whitespace, not a column.
    if let [only] = names.as_slice() {
        if only.is_empty() {
            return Err(vec![DataProblem::FileEmpty {
                file: source_name.to_string(),
            }]);
        }
    }
    Ok(names)
}

/// Whether `record` passes every filter. All filters are evaluated, not
/// just up to the first failure, so that each one's match count is right.
fn passes_filters(filters: &mut [FilterPlan], record: &Record<'_>) -> bool {
    let mut passes = true;
    for filter in filters {
        let field_idx = filter
            .field_idx
            .expect("cells are checked only when filters resolve");
        let cell = record.field(field_idx).trim_ascii();
        if cell == filter.value.as_bytes() {
            filter.n_matched += 1;
        } else {
            passes = false;
            if filter.n_matched == 0 {
                filter.remember(cell);
            }
        }
    }
    passes
}

fn unreadable_read(path: &str, err: ReadError) -> DataProblem {
    match err {
        ReadError::Io(err) => unreadable(path, &err),
        ReadError::Csv(err) => unreadable_csv(path, err),
    }
}

fn unreadable_csv(path: &str, err: csv::Error) -> DataProblem {
    if let csv::ErrorKind::Io(io_err) = err.kind() {
        return unreadable(path, io_err);
    }
    DataProblem::FileUnreadable {
        path: path.to_string(),
        reason: err.to_string(),
        io_kind: io::ErrorKind::InvalidData,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Column, ColumnKind};
    use super::*;
    use proptest::prelude::*;
    use ColumnKind::{Factor, Int, Real};

    fn requests(columns: &[(&str, ColumnKind)]) -> Vec<ColumnRequest> {
        columns
            .iter()
            .map(|&(name, kind)| ColumnRequest::new(name, kind))
            .collect()
    }

    fn load(
        text: &str,
        columns: &[(&str, ColumnKind)],
        opts: &LoadOptions,
    ) -> Result<DataSet, DataError> {
        load_csv_str(text, "data.csv", &requests(columns), opts)
    }

    fn load_ok(text: &str, columns: &[(&str, ColumnKind)], opts: &LoadOptions) -> DataSet {
        load(text, columns, opts).unwrap_or_else(|err| panic!("unexpected error:\n{err}"))
    }

    /// Every problem as code, message and help, the way a user reads them.
    fn report(text: &str, columns: &[(&str, ColumnKind)], opts: &LoadOptions) -> String {
        let err = load(text, columns, opts).expect_err("the load should fail");
        render(&err)
    }

    fn render(err: &DataError) -> String {
        let mut out = String::new();
        for problem in err.problems() {
            out.push_str(&format!(
                "error[{}]: {}\n",
                problem.code(),
                problem.message()
            ));
            if let Some(help) = problem.help() {
                out.push_str(&format!("  help: {help}\n"));
            }
        }
        out
    }

    fn drop_missing() -> LoadOptions {
        LoadOptions {
            drop_missing: true,
            ..LoadOptions::default()
        }
    }

    fn filter(column: &str, value: &str) -> LoadOptions {
        LoadOptions {
            filters: vec![(column.into(), value.into())],
            ..LoadOptions::default()
        }
    }

    fn reals(data: &DataSet, name: &str) -> Vec<f64> {
        data.column(name)
            .and_then(Column::as_real)
            .expect("a real column")
            .to_vec()
    }

    fn factor(data: &DataSet, name: &str) -> (Vec<u32>, Vec<String>) {
        let (codes, levels) = data
            .column(name)
            .and_then(Column::as_factor)
            .expect("a factor");
        (codes.to_vec(), levels.to_vec())
    }

    /// A file in the system's temporary folder, removed when dropped.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(name: &str, contents: &[u8]) -> TempFile {
            let path = std::env::temp_dir().join(format!("nll-data-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).expect("the temporary folder is writable");
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn loads_requested_columns_in_request_order() {
        let text = "y,n,g,unused\n1.5,3,b,zzz\n-2e1,4.0,a,\n";
        let data = load_ok(
            text,
            &[("g", Factor), ("y", Real), ("n", Int)],
            &LoadOptions::default(),
        );
        assert_eq!(data.n_rows, 2);
        assert_eq!(data.header(), ["g", "y", "n"]);
        assert_eq!(data.kind("n"), Some(Int));
        assert_eq!(reals(&data, "y"), [1.5, -20.0]);
        assert_eq!(reals(&data, "n"), [3.0, 4.0]);
        assert_eq!(
            factor(&data, "g"),
            (vec![1, 0], vec!["a".into(), "b".into()])
        );
        assert_eq!(data.source_rows.to_vec(), [1, 2]);
        assert_eq!((data.n_dropped, data.n_filtered_out), (0, 0));
        assert!(data.column("unused").is_none());
    }

    #[test]
    fn trims_header_names_and_cells() {
        let data = load_ok(
            " x , g \n 1 , a b \n",
            &[("x", Real), ("g", Factor)],
            &LoadOptions::default(),
        );
        assert_eq!(reals(&data, "x"), [1.0]);
        assert_eq!(factor(&data, "g").1, ["a b"]);
    }

    #[test]
    fn numeric_factor_levels_sort_as_numbers() {
        let text = "dose\n10\n2\n1\n2\n";
        let data = load_ok(text, &[("dose", Factor)], &LoadOptions::default());
        assert_eq!(
            factor(&data, "dose"),
            (vec![2, 1, 0, 1], vec!["1".into(), "2".into(), "10".into()])
        );
    }

    #[test]
    fn text_factor_levels_sort_lexicographically() {
        let text = "species\nvirginica\nsetosa\nversicolor\nsetosa\n";
        let data = load_ok(text, &[("species", Factor)], &LoadOptions::default());
        assert_eq!(
            factor(&data, "species").1,
            ["setosa", "versicolor", "virginica"]
        );
        assert_eq!(factor(&data, "species").0, [2, 0, 1, 0]);
    }

    #[test]
    fn factor_levels_come_from_kept_rows_only() {
        let text = "g,split\na,train\nb,test\nc,train\n";
        let data = load_ok(text, &[("g", Factor)], &filter("split", "train"));
        assert_eq!(
            factor(&data, "g"),
            (vec![0, 1], vec!["a".into(), "c".into()])
        );
    }

    #[test]
    fn drop_missing_counts_dropped_rows() {
        let text = "x,g\n1,a\n,b\nNA,c\n4,\n5,NaN\n6,f\n7, . \n";
        let data = load_ok(text, &[("x", Real), ("g", Factor)], &drop_missing());
        assert_eq!(data.n_rows, 2);
        assert_eq!(data.n_dropped, 5);
        assert_eq!(data.source_rows.to_vec(), [1, 6]);
        assert_eq!(reals(&data, "x"), [1.0, 6.0]);
        assert_eq!(factor(&data, "g").1, ["a", "f"]);
    }

    #[test]
    fn drop_missing_ignores_missing_cells_in_unrequested_columns() {
        let text = "x,other\n1,\n2,NA\n";
        let data = load_ok(text, &[("x", Real)], &drop_missing());
        assert_eq!((data.n_rows, data.n_dropped), (2, 0));
    }

    #[test]
    fn drop_missing_still_reports_text_in_numeric_columns() {
        let text = "x,y\n1,2\nNA,3\nabc,4\n5,NA\n";
        insta::assert_snapshot!(report(text, &[("x", Real), ("y", Real)], &drop_missing()), @r"
            error[E309]: column `x` has 1 non-numeric cell: row 3 (file line 4) `abc`
              help: If `x` holds categories rather than numbers, declare it as a factor.
        ");
    }

    #[test]
    fn filters_keep_matching_rows() {
        let text = "y,split\n1,train\n2,test\n3, train \n4,\"train\"\n";
        let data = load_ok(text, &[("y", Real)], &filter("split", "train"));
        assert_eq!(reals(&data, "y"), [1.0, 3.0, 4.0]);
        assert_eq!(data.source_rows.to_vec(), [1, 3, 4]);
        assert_eq!(
            (data.n_rows, data.n_filtered_out, data.n_dropped),
            (3, 1, 0)
        );
    }

    #[test]
    fn filters_combine_with_and() {
        let text = "y,split,site\n1,train,a\n2,train,b\n3,test,a\n";
        let opts = LoadOptions {
            filters: vec![
                ("split".into(), "train".into()),
                ("site".into(), "a".into()),
            ],
            ..LoadOptions::default()
        };
        let data = load_ok(text, &[("y", Real)], &opts);
        assert_eq!(reals(&data, "y"), [1.0]);
        assert_eq!(data.n_filtered_out, 2);
    }

    #[test]
    fn filtered_rows_are_not_checked_or_dropped() {
        let text = "y,split\n1,train\nbad,test\n,test\n2,train\n";
        let opts = LoadOptions {
            drop_missing: true,
            ..filter("split", "train")
        };
        let data = load_ok(text, &[("y", Real)], &opts);
        assert_eq!(reals(&data, "y"), [1.0, 2.0]);
        assert_eq!((data.n_filtered_out, data.n_dropped), (2, 0));
    }

    #[test]
    fn filter_column_may_also_be_requested() {
        let text = "y,split\n1,train\n2,test\n";
        let data = load_ok(
            text,
            &[("y", Real), ("split", Factor)],
            &filter("split", "train"),
        );
        assert_eq!(factor(&data, "split"), (vec![0], vec!["train".into()]));
    }

    #[test]
    fn accepts_bom_and_crlf() {
        let text = "\u{feff}x,g\r\n1.5,a\r\n2,b\r\n";
        let data = load_ok(text, &[("x", Real), ("g", Factor)], &LoadOptions::default());
        assert_eq!(reals(&data, "x"), [1.5, 2.0]);
        assert_eq!(factor(&data, "g").1, ["a", "b"]);
    }

    #[test]
    fn bom_before_a_quoted_header_name() {
        let text = "\u{feff}\"x\",y\n1,2\n";
        let data = load_ok(text, &[("x", Real)], &LoadOptions::default());
        assert_eq!(reals(&data, "x"), [1.0]);
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_breaks() {
        let text = "label,x\n\"a, b\",1\n\"say \"\"hi\"\"\",2\n\"two\nlines\",3\n";
        let data = load_ok(
            text,
            &[("label", Factor), ("x", Real)],
            &LoadOptions::default(),
        );
        assert_eq!(
            factor(&data, "label").1,
            ["a, b", "say \"hi\"", "two\nlines"]
        );
        assert_eq!(reals(&data, "x"), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn rows_and_file_lines_differ_after_blank_lines_and_line_breaks() {
        let text = "label,x\n\n\"two\nlines\",1\n\nb,oops\n";
        insta::assert_snapshot!(report(text, &[("x", Real)], &LoadOptions::default()), @r"
            error[E309]: column `x` has 1 non-numeric cell: row 2 (file line 6) `oops`
              help: If `x` holds categories rather than numbers, declare it as a factor.
        ");
    }

    #[test]
    fn an_unclosed_quote_is_an_error_not_one_long_last_value() {
        // The `csv` crate would read lines 3 to 5 as one field of a row
        // with three fields, and two rows would load without a word.
        let text = "x,y,z\n1,2,a\n2,3,\"oops\n3,5,b\n4,9,c\n";
        insta::assert_snapshot!(report(text, &[("x", Real), ("y", Real)], &LoadOptions::default()), @r#"
            error[E314]: the quote that opens a field on line 3 of `data.csv` is never closed: every line from there to the end of the file would be read as that one field
              help: Close the quoted field with a `"`; a quote that is part of a value is written twice inside a quoted field (`"5"" pipe"`).
        "#);
    }

    #[test]
    fn unrequested_columns_may_hold_anything() {
        let text = "x,junk,junk\n1,abc,\n2,\"\",inf\n";
        let data = load_ok(text, &[("x", Int)], &LoadOptions::default());
        assert_eq!(reals(&data, "x"), [1.0, 2.0]);
    }

    #[test]
    fn a_repeated_request_gives_two_equal_columns() {
        let text = "x\n1\nabc\n";
        let data = load_ok(
            "x\n1\n2\n",
            &[("x", Real), ("x", Real)],
            &LoadOptions::default(),
        );
        assert_eq!(data.columns.len(), 2);
        assert_eq!(data.columns[0], data.columns[1]);
        // The bad cell is reported once, not once per request.
        let err = load(text, &[("x", Real), ("x", Real)], &LoadOptions::default()).unwrap_err();
        assert_eq!(err.problems().len(), 1);
    }

    #[test]
    fn no_requests_still_counts_rows() {
        let data = load_ok("a,b\n1,2\n3,4\n", &[], &LoadOptions::default());
        assert_eq!((data.n_rows, data.columns.len()), (2, 0));
        assert_eq!(data.source_rows.to_vec(), [1, 2]);
    }

    #[test]
    fn load_csv_reads_a_file() {
        let file = TempFile::new("read.csv", b"x,y\n1,2\n3,4\n");
        let data = load_csv(&file.0, &requests(&[("y", Real)]), &LoadOptions::default()).unwrap();
        assert_eq!(reals(&data, "y"), [2.0, 4.0]);
    }

    #[test]
    fn read_header_lists_trimmed_names() {
        let file = TempFile::new("header.csv", "\u{feff}a, b ,c\r\n1,2,3\r\n".as_bytes());
        assert_eq!(read_header(&file.0).unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn read_header_of_an_empty_file() {
        let file = TempFile::new("empty-header.csv", b"");
        let err = read_header(&file.0).unwrap_err();
        assert_eq!(err.problems()[0].code(), "E302");
    }

    // One test per error code, showing what the user sees.

    #[test]
    fn e301_file_not_found() {
        let path = Path::new("/nonexistent-nll-folder/data.csv");
        let err = load_csv(path, &requests(&[("x", Real)]), &LoadOptions::default()).unwrap_err();
        insta::assert_snapshot!(render(&err), @r"
            error[E301]: cannot read `/nonexistent-nll-folder/data.csv`: no such file or directory
              help: Check the path; a relative path starts from the current directory.
        ");
        let err = read_header(path).unwrap_err();
        assert_eq!(err.problems()[0].code(), "E301");
    }

    #[test]
    fn e301_path_is_a_folder() {
        let folder = std::env::temp_dir();
        let err =
            load_csv(&folder, &requests(&[("x", Real)]), &LoadOptions::default()).unwrap_err();
        let problem = &err.problems()[0];
        assert_eq!(problem.code(), "E301");
        assert!(
            problem.message().ends_with(": is a directory"),
            "{}",
            problem.message()
        );
        assert_eq!(problem.help(), None);
    }

    #[test]
    fn e302_empty_file() {
        insta::assert_snapshot!(report("", &[("x", Real)], &LoadOptions::default()), @r"
            error[E302]: `data.csv` is empty: it has no header row
              help: The first line of the file must name the columns, separated by commas.
        ");
    }

    #[test]
    fn e302_file_of_blank_lines() {
        for text in ["\n\n", "\r\n", "   \n", "\u{feff}"] {
            let err = load(text, &[("x", Real)], &LoadOptions::default()).unwrap_err();
            assert_eq!(err.problems().len(), 1, "{text:?}");
            assert_eq!(err.problems()[0].code(), "E302", "{text:?}");
        }
    }

    #[test]
    fn e303_header_not_utf8() {
        let err = load_from_reader(
            &b"x,caf\xe9\n1,2\n"[..],
            "latin1.csv",
            &[],
            &LoadOptions::default(),
        )
        .unwrap_err();
        insta::assert_snapshot!(render(&err), @r"
            error[E303]: the name of column 2 in the header of `latin1.csv` is not UTF-8 text
              help: Save the file with UTF-8 encoding.
        ");
    }

    #[test]
    fn e304_duplicate_requested_column() {
        let text = "x,y,x\n1,2,3\n";
        let opts = LoadOptions::default();
        insta::assert_snapshot!(report(text, &[("x", Real), ("y", Real)], &opts), @r"
            error[E304]: the header of `data.csv` has 2 columns named `x`, at positions 1 and 3
              help: Rename the columns so that each name appears only once.
        ");
    }

    #[test]
    fn duplicate_unrequested_columns_are_fine() {
        let data = load_ok("x,y,y\n1,2,3\n", &[("x", Real)], &LoadOptions::default());
        assert_eq!(reals(&data, "x"), [1.0]);
    }

    #[test]
    fn e305_unknown_column_with_suggestion() {
        let text = "age,income,sex\n30,1000,f\n";
        insta::assert_snapshot!(report(text, &[("incme", Real)], &LoadOptions::default()), @r"
            error[E305]: column `incme` is not in `data.csv`, whose columns are `age`, `income` and `sex`
              help: Did you mean `income`?
        ");
    }

    #[test]
    fn e305_unknown_column_without_suggestion() {
        let text = "age,income,sex\n30,1000,f\n";
        let opts = LoadOptions::default();
        insta::assert_snapshot!(report(text, &[("weight", Real)], &opts), @"error[E305]: column `weight` is not in `data.csv`, whose columns are `age`, `income` and `sex`");
    }

    #[test]
    fn e305_semicolon_separated_file() {
        let text = "x;y\n1;2\n";
        let opts = LoadOptions::default();
        insta::assert_snapshot!(report(text, &[("x", Real), ("y", Real)], &opts), @r"
            error[E305]: column `x` is not in `data.csv`, whose columns are `x;y`
              help: The header has a single column and looks separated by `;`; only comma-separated files are read.
            error[E305]: column `y` is not in `data.csv`, whose columns are `x;y`
              help: The header has a single column and looks separated by `;`; only comma-separated files are read.
        ");
    }

    #[test]
    fn e305_unknown_filter_column() {
        let text = "y,split\n1,train\n";
        insta::assert_snapshot!(report(text, &[("y", Real)], &filter("splt", "train")), @r"
            error[E305]: filter column `splt` is not in `data.csv`, whose columns are `y` and `split`
              help: Did you mean `split`?
        ");
    }

    #[test]
    fn e306_one_row_with_too_many_fields() {
        let text = "x,y\n1,2\n1,5,3\n4,5\n";
        insta::assert_snapshot!(report(text, &[("x", Real)], &LoadOptions::default()), @r"
            error[E306]: row 2 (file line 3) has 3 fields but the header has 2
              help: A value that contains a comma must be quoted; check these rows for missing or extra commas.
        ");
    }

    #[test]
    fn e306_many_ragged_rows() {
        let mut text = String::from("x,y,z\n");
        for row in 1..=8 {
            text.push_str(if row % 2 == 0 { "1,2\n" } else { "1,2,3,4\n" });
        }
        text.push_str("1,2,3\n");
        insta::assert_snapshot!(report(&text, &[("x", Real)], &LoadOptions::default()), @r"
            error[E306]: 8 rows have a different number of fields than the header's 3: row 1 (file line 2) has 4, row 2 (file line 3) has 2, row 3 (file line 4) has 4, row 4 (file line 5) has 2, row 5 (file line 6) has 4, and 3 more
              help: A value that contains a comma must be quoted; check these rows for missing or extra commas.
        ");
    }

    #[test]
    fn e307_missing_cells() {
        let text = "income,g\n1,a\n,b\nNA,c\n4,\n";
        let opts = LoadOptions::default();
        insta::assert_snapshot!(report(text, &[("income", Real), ("g", Factor)], &opts), @r"
            error[E307]: column `income` has 2 missing values: row 2 (file line 3) empty, row 3 (file line 4) `NA`
              help: Use --drop-missing to fit on the complete rows only, or fill in the missing values.
            error[E307]: column `g` has 1 missing value: row 4 (file line 5) empty
              help: Use --drop-missing to fit on the complete rows only, or fill in the missing values.
        ");
    }

    #[test]
    fn e308_non_finite_values() {
        let text = "x\n1\ninf\n-Infinity\n1e999\n";
        insta::assert_snapshot!(report(text, &[("x", Real)], &drop_missing()), @r"
            error[E308]: column `x` has 3 non-finite values: row 2 (file line 3) `inf`, row 3 (file line 4) `-Infinity`, row 4 (file line 5) `1e999`
              help: Replace the infinite values with finite numbers, or remove these rows.
        ");
    }

    #[test]
    fn e309_non_numeric_cells() {
        let text = "income\n1\nabc\n2\n?\nfive\n";
        insta::assert_snapshot!(report(text, &[("income", Real)], &LoadOptions::default()), @r"
            error[E309]: column `income` has 3 non-numeric cells: row 2 (file line 3) `abc`, row 4 (file line 5) `?`, row 5 (file line 6) `five`
              help: If `income` holds categories rather than numbers, declare it as a factor.
        ");
    }

    #[test]
    fn e309_decimal_commas() {
        let text = "income\n1.5\n\"1,5\"\n\"-0,25\"\n";
        insta::assert_snapshot!(report(text, &[("income", Real)], &LoadOptions::default()), @r"
            error[E309]: column `income` has 2 non-numeric cells: row 2 (file line 3) `1,5`, row 3 (file line 4) `-0,25`
              help: Write numbers with `.` as the decimal mark, as in `1.5` rather than `1,5`.
        ");
    }

    #[test]
    fn e309_twelve_bad_cells_list_five() {
        let mut text = String::from("x\n");
        for row in 1..=15 {
            text.push_str(if row % 5 == 0 { "1\n" } else { "bad\n" });
        }
        insta::assert_snapshot!(report(&text, &[("x", Real)], &LoadOptions::default()), @r"
            error[E309]: column `x` has 12 non-numeric cells: row 1 (file line 2) `bad`, row 2 (file line 3) `bad`, row 3 (file line 4) `bad`, row 4 (file line 5) `bad`, row 6 (file line 7) `bad`, and 7 more
              help: If `x` holds categories rather than numbers, declare it as a factor.
        ");
    }

    #[test]
    fn e310_non_integer_values() {
        let text = "count\n1\n2.5\n3\n-0.5\n";
        insta::assert_snapshot!(report(text, &[("count", Int)], &LoadOptions::default()), @r"
            error[E310]: integer column `count` has 2 values that are not whole numbers below 2^53 in size: row 2 (file line 3) `2.5`, row 4 (file line 5) `-0.5`
              help: An integer column holds whole numbers only, below 2^53 = 9007199254740992 in size (from there on a double does not hold every integer); declare `count` as real if it may hold fractions.
        ");
    }

    #[test]
    fn e311_factor_cells_not_utf8() {
        let input = &b"g\ncaf\xe9\nok\n"[..];
        let err = load_from_reader(
            input,
            "latin1.csv",
            &requests(&[("g", Factor)]),
            &LoadOptions::default(),
        )
        .unwrap_err();
        insta::assert_snapshot!(render(&err), @r"
            error[E311]: column `g` has 1 cell that is not UTF-8 text: row 1 (file line 2) `caf�`
              help: Save the file with UTF-8 encoding.
        ");
    }

    #[test]
    fn e312_header_only() {
        insta::assert_snapshot!(report("x,y\n", &[("x", Real)], &LoadOptions::default()), @r"
            error[E312]: `data.csv` has a header but no data rows
              help: Add data rows below the header.
        ");
    }

    #[test]
    fn e312_every_row_dropped() {
        let text = "x,y\n1,\nNA,2\n";
        insta::assert_snapshot!(report(text, &[("x", Real), ("y", Real)], &drop_missing()), @r"
            error[E312]: no rows left in `data.csv`: all 2 data rows were dropped for missing values
              help: Every row has a missing value; `x` is missing in 1 of those 2 rows.
        ");
    }

    #[test]
    fn e312_filter_value_misspelled() {
        let text = "y,split\n1,train\n2,test\n";
        insta::assert_snapshot!(report(text, &[("y", Real)], &filter("split", "trian")), @r"
            error[E312]: no rows left in `data.csv`: all 2 data rows were filtered out
              help: No row has `split` equal to `trian`; did you mean `train`?
        ");
    }

    #[test]
    fn e312_filter_value_unknown() {
        let text = "y,split\n1,train\n2,test\n3,train\n";
        insta::assert_snapshot!(report(text, &[("y", Real)], &filter("split", "holdout")), @r"
            error[E312]: no rows left in `data.csv`: all 3 data rows were filtered out
              help: No row has `split` equal to `holdout`; its values include `train` and `test`.
        ");
    }

    #[test]
    fn e312_filters_that_never_hold_together() {
        let text = "y,split,site\n1,train,a\n2,test,b\n";
        let opts = LoadOptions {
            filters: vec![
                ("split".into(), "train".into()),
                ("site".into(), "b".into()),
            ],
            ..LoadOptions::default()
        };
        insta::assert_snapshot!(report(text, &[("y", Real)], &opts), @r"
            error[E312]: no rows left in `data.csv`: all 2 data rows were filtered out
              help: No row passes all the filters together; check the filter values.
        ");
    }

    #[test]
    fn e312_filtered_and_dropped() {
        let text = "y,split\n1,test\nNA,train\n";
        let opts = LoadOptions {
            drop_missing: true,
            ..filter("split", "train")
        };
        insta::assert_snapshot!(report(text, &[("y", Real)], &opts), @r"
            error[E312]: no rows left in `data.csv`: of 2 data rows, 1 was filtered out and 1 dropped for missing values
              help: The only row that passes the filters has no value for `y`.
        ");
    }

    #[test]
    fn e312_names_the_empty_column() {
        let text = "x,y,z\n1,,3\n2,NA,\n3,,6\n";
        let opts = drop_missing();
        insta::assert_snapshot!(report(text, &[("x", Real), ("y", Real), ("z", Real)], &opts), @r"
            error[E312]: no rows left in `data.csv`: all 3 data rows were dropped for missing values
              help: Every row has a missing value; `y` is missing in all 3 rows.
        ");
    }

    #[test]
    fn file_lines_are_right_with_crlf_endings() {
        let text = "\u{feff}x,y\r\n1,2\r\n\r\nabc,3\r\n4,x\r\n";
        let opts = LoadOptions::default();
        insta::assert_snapshot!(report(text, &[("x", Real), ("y", Real)], &opts), @r"
            error[E309]: column `x` has 1 non-numeric cell: row 2 (file line 4) `abc`
              help: If `x` holds categories rather than numbers, declare it as a factor.
            error[E309]: column `y` has 1 non-numeric cell: row 3 (file line 5) `x`
              help: If `y` holds categories rather than numbers, declare it as a factor.
        ");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = "x,n,g,g\n1,2,a,a\nabc,2.5,b,b\n,3\n4,inf,c,c\n";
        let err = load(
            text,
            &[("x", Real), ("n", Int), ("g", Factor), ("z", Real)],
            &LoadOptions::default(),
        )
        .unwrap_err();
        insta::assert_snapshot!(err.to_string(), @r"
            error[E304]: the header of `data.csv` has 2 columns named `g`, at positions 3 and 4
            error[E305]: column `z` is not in `data.csv`, whose columns are `x`, `n`, `g` and `g`
            error[E306]: row 3 (file line 4) has 2 fields but the header has 4
            error[E309]: column `x` has 1 non-numeric cell: row 2 (file line 3) `abc`
            error[E308]: column `n` has 1 non-finite value: row 4 (file line 5) `inf`
            error[E310]: integer column `n` has 1 value that is not a whole number below 2^53 in size: row 2 (file line 3) `2.5`
        ");
    }

    #[test]
    fn a_row_estimate_too_large_to_reserve_is_not_taken() {
        // A file of 2^60 bytes whose first lines are short would need more
        // room than any system gives: the columns then grow as they fill.
        let text = "x,y\n1,2\n3,4\n";
        let mut reader = RowReader::new(text.as_bytes());
        reader.set_expected_bytes(Some(1 << 60));
        let columns = requests(&[("x", Real), ("y", Real)]);
        let data = load_rows(reader, "data.csv", &columns, &LoadOptions::default()).unwrap();
        assert_eq!(data.n_rows, 2);
        assert_eq!(reals(&data, "y"), [2.0, 4.0]);
    }

    /// A reader of `text` as the loader reads a mapped file, with blocks of
    /// `block_bytes`: the text in an anonymous map. Empty text, which a map
    /// cannot hold (nor does the loader map an empty file), is read.
    fn mapped_reader(text: &str, block_bytes: usize) -> RowReader<std::io::Empty> {
        if text.is_empty() {
            return RowReader::with_block_bytes(std::io::empty(), block_bytes);
        }
        let mut map = memmap2::MmapMut::map_anon(text.len()).unwrap();
        map.copy_from_slice(text.as_bytes());
        let map = map.make_read_only().unwrap();
        RowReader::mapped(map, std::io::empty(), block_bytes)
    }

    /// A small table of cells drawn from valid numbers, missing markers and
    /// filter values, for checking the invariants of a successful load.
    fn table() -> impl Strategy<Value = Vec<(String, String, String)>> {
        let number = prop_oneof![
            (-1000i32..1000).prop_map(|v| v.to_string()),
            (-1e6f64..1e6).prop_map(|v| format!("{v:e}")),
            Just(String::new()),
            Just("NA".to_string()),
        ];
        let level = prop_oneof![
            "[a-d]".prop_map(|s| format!(" {s}")),
            (0u8..12).prop_map(|v| v.to_string()),
            Just("NaN".to_string()),
        ];
        let split = prop_oneof![Just("train".to_string()), Just("test".to_string())];
        proptest::collection::vec((number, level, split), 0..40)
    }

    /// A cell that a numeric or factor column may meet: plain decimals
    /// of any length, other number forms, markers, text, quotes.
    fn any_cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[-+]?[0-9]{1,12}([.][0-9]{0,12})?",
            "[-+]?[0-9]{0,3}[.]?[0-9]{0,3}([eE][-+]?[0-9]{1,3})?",
            Just(" 1.5 ".to_string()),
            Just(String::new()),
            Just("NA".to_string()),
            Just("abc".to_string()),
            Just("\"2.5\"".to_string()),
            Just("1e400".to_string()),
            Just("12345678901234567890".to_string()),
        ]
    }

    proptest! {
        /// Rows stored straight from their plain decimals give the same
        /// data, or the same report, as the full checks, which every row
        /// goes through when a filter is set (here one every row passes).
        #[test]
        fn plain_rows_load_as_the_full_checks_load_them(
            rows in proptest::collection::vec((any_cell(), any_cell(), any_cell()), 0..30),
            drop in any::<bool>(),
        ) {
            let mut text = String::from("x,n,g,k\n");
            for (x, n, g) in &rows {
                text.push_str(&format!("{x},{n},{g},1\n"));
            }
            let columns = [("x", Real), ("n", Int), ("g", Factor)];
            let plain = LoadOptions { drop_missing: drop, ..LoadOptions::default() };
            let checked = LoadOptions { drop_missing: drop, ..filter("k", "1") };
            match (load(&text, &columns, &plain), load(&text, &columns, &checked)) {
                (Ok(plain), Ok(checked)) => {
                    prop_assert_eq!(&plain.columns, &checked.columns);
                    prop_assert_eq!(plain.source_rows.to_vec(), checked.source_rows.to_vec());
                    prop_assert_eq!(plain.n_dropped, checked.n_dropped);
                }
                (Err(plain), Err(checked)) => prop_assert_eq!(render(&plain), render(&checked)),
                (plain, checked) => prop_assert!(false, "{:?} vs {:?}", plain.is_ok(), checked.is_ok()),
            }
        }

        /// Rows read a block at a time by the plain numeric path give the
        /// same data, or the same report, as rows read one line at a time
        /// (a filter every row passes turns that path off), whatever the
        /// block size: lines cut at a block's end, CRLF endings, blank
        /// lines, rows with a field too few or too many, an unused column
        /// of any text, quotes.
        #[test]
        fn block_reads_load_as_line_reads(
            rows in proptest::collection::vec(
                (any_cell(), any_cell(), "[a-z ]{0,3}|\"q\"|", 0..4usize, any::<bool>()),
                0..30,
            ),
            block_bytes in prop_oneof![1usize..64, Just(1 << 12)],
            int_column in any::<bool>(),
        ) {
            let mut text = String::from("x,n,u,k\n");
            for (x, n, u, shape, crlf) in &rows {
                let end = if *crlf { "\r\n" } else { "\n" };
                match shape {
                    0 => text.push_str(&format!("{x},{n},{u},1{end}")),
                    1 => text.push_str(&format!("{x},{n},1{end}")),
                    2 => text.push_str(&format!("{x},{n},{u},1,2{end}")),
                    _ => text.push_str(&format!("{x},{n},{u},1{end}{end}")),
                }
            }
            let n_kind = if int_column { Int } else { Real };
            let columns = requests(&[("x", Real), ("n", n_kind), ("k", Real)]);
            let plain = LoadOptions::default();
            let checked = filter("k", "1");
            let by_block = |opts: &LoadOptions| {
                let reader = RowReader::with_block_bytes(text.as_bytes(), block_bytes);
                load_rows(reader, "data.csv", &columns, opts)
            };
            let by_map = || {
                let reader = mapped_reader(&text, block_bytes);
                load_rows(reader, "data.csv", &columns, &plain)
            };
            let checked = by_block(&checked);
            for other in [by_block(&plain), by_map()] {
                match (other, &checked) {
                    (Ok(other), Ok(checked)) => {
                        prop_assert_eq!(&other.columns, &checked.columns);
                        prop_assert_eq!(other.source_rows.to_vec(), checked.source_rows.to_vec());
                    }
                    (Err(other), Err(checked)) => prop_assert_eq!(render(&other), render(checked)),
                    (other, checked) => prop_assert!(false, "{:?} vs {:?}", other.is_ok(), checked.is_ok()),
                }
            }
        }

        /// Files large enough to be read in pieces on two threads load as
        /// on one thread and as through the full checks, whatever line
        /// stops the pieces (a bad cell, a CRLF ending, a quote, a blank
        /// line, a ragged row, a fraction in an integer column) and where
        /// it lies (each piece, a piece's first or last line, the first
        /// block's end).
        #[test]
        fn pieces_read_on_two_threads_load_as_one_thread_loads(
            odd_line in prop_oneof![
                Just("abc,1,1"), Just("1.5,2,1\r"), Just("\"1\",2,1"), Just(""),
                Just("1,2"), Just("1,2.5,1"), Just("1,2,1"),
            ],
            at in prop_oneof![0usize..3, 9_000usize..9_010, 17_990usize..18_000, 0usize..18_000],
            block_bytes in prop_oneof![Just(1usize << 20), Just(1 << 17)],
        ) {
            let mut text = String::from("x,n,k\n");
            for i in 0..18_000usize {
                if i == at {
                    text.push_str(odd_line);
                    text.push('\n');
                }
                text.push_str(&format!("{}.{:03},{},1\n", i % 997, i % 1000, i % 13));
            }
            let columns = requests(&[("x", Real), ("n", Int), ("k", Real)]);
            let by_block = |opts: &LoadOptions, n_threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(n_threads).build().unwrap();
                pool.install(|| {
                    let reader = RowReader::with_block_bytes(text.as_bytes(), block_bytes);
                    load_rows(reader, "data.csv", &columns, opts)
                })
            };
            let plain = LoadOptions { drop_missing: true, ..LoadOptions::default() };
            let checked = LoadOptions { drop_missing: true, ..filter("k", "1") };
            let two = by_block(&plain, 2);
            let mapped_two = {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
                pool.install(|| {
                    let reader = mapped_reader(&text, block_bytes);
                    load_rows(reader, "data.csv", &columns, &plain)
                })
            };
            for other in [by_block(&plain, 1), by_block(&checked, 1), mapped_two] {
                match (&two, other) {
                    (Ok(two), Ok(other)) => {
                        prop_assert_eq!(&two.columns, &other.columns);
                        prop_assert_eq!(two.source_rows.to_vec(), other.source_rows.to_vec());
                        prop_assert_eq!(two.n_dropped, other.n_dropped);
                    }
                    (Err(two), Err(other)) => prop_assert_eq!(render(two), render(&other)),
                    (two, other) => prop_assert!(false, "{:?} vs {:?}", two.is_ok(), other.is_ok()),
                }
            }
        }

        #[test]
        fn successful_loads_keep_their_invariants(rows in table(), drop in any::<bool>()) {
            let mut text = String::from("x,g,split\n");
            for (x, g, split) in &rows {
                text.push_str(&format!("{x},{g},{split}\n"));
            }
            let opts = LoadOptions { drop_missing: drop, ..filter("split", "train") };
            let Ok(data) = load(&text, &[("x", Real), ("g", Factor)], &opts) else {
                return Ok(());
            };

            prop_assert!(data.n_rows > 0);
            prop_assert_eq!(data.n_rows + data.n_dropped + data.n_filtered_out, rows.len());
            prop_assert_eq!(data.source_rows.len(), data.n_rows);
            prop_assert!(data.source_rows.to_vec().windows(2).all(|w| w[0] < w[1]));

            let xs = reals(&data, "x");
            let (codes, levels) = factor(&data, "g");
            prop_assert_eq!(xs.len(), data.n_rows);
            prop_assert_eq!(codes.len(), data.n_rows);
            for ((row, x), &code) in data.source_rows.iter().zip(&xs).zip(&codes) {
                let (x_text, g_text, split) = &rows[row - 1];
                prop_assert_eq!(split.as_str(), "train");
                prop_assert_eq!(*x, x_text.parse::<f64>().unwrap());
                prop_assert_eq!(levels[code as usize].as_str(), g_text.trim());
            }
            let mut used: Vec<u32> = codes.clone();
            used.sort_unstable();
            used.dedup();
            prop_assert_eq!(used.len(), levels.len());
        }
    }
}
