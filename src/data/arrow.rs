//! Reading the requested columns from an Arrow IPC file or stream.
//!
//! The rows of an Arrow file go through the same steps as CSV rows (see the
//! [module documentation](super)), with the file's types standing in for
//! parsing:
//!
//! - a null is a missing value, like an empty CSV cell;
//! - numbers (floating point, signed and unsigned integers) are read as
//!   `f64`, a NaN being missing and an infinity an error as in CSV; an
//!   `Int` column checks that they are whole;
//! - text (`Utf8`, `LargeUtf8`, `Utf8View`), booleans (`true`, `false`)
//!   and dictionaries of these or of numbers are read as the text of a CSV
//!   cell would be, so the missing-value markers, trimming and the parsing
//!   of numbers are the same; except that a boolean where a number is
//!   wanted is 1 or 0;
//! - a number in a factor column is the level of its shortest decimal text
//!   (`3`, `2.5`), and factor levels are sorted as for CSV;
//! - a filter compares that same text, a null being empty.
//!
//! Rows are numbered from 1 across record batches; there are no file
//! lines, so messages name rows only. A file that cannot be decoded is
//! E301; a requested or filter column of another type (a list, a date, a
//! decimal…) is E313.
//!
//! A file (not a stream) is read whole with one read, and its record
//! batches are decoded as views into those bytes. A batch whose numbers
//! are all present and valid for their column is appended with one copy
//! per column after a check of its values, so a `Float64` column is one
//! `memcpy` per batch into a vector allocated once at its final size. A
//! file or stream is held in memory whole while it is read.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use std::sync::Arc;

use arrow_buffer::{Buffer, NullBuffer};
use arrow_ipc::convert::try_fb_to_schema;
use arrow_ipc::reader::{read_footer_length, FileDecoder, StreamReader};
use arrow_ipc::{root_as_footer, Block};
use arrow_schema::{ArrowError, DataType, Schema, SchemaRef};

use super::cell::{classify, classify_number, is_exact_int, Cell};
use super::columns::{conclude, plan_columns, unreadable, ColumnPlan, Planned, Tally, Values};
use super::SourceRows;
use super::{
    CellIssue, ColumnKind, ColumnRequest, ColumnRole, DataError, DataProblem, DataSet, LoadOptions,
};

/// The first bytes of an Arrow IPC file (`.arrow`, Feather v2): the magic
/// `ARROW1` and two bytes of padding, which no CSV header holds (a first
/// column named `ARROW1` is not Arrow).
const FILE_MAGIC: &[u8] = b"ARROW1\0\0";
/// The first bytes of an Arrow IPC stream: a continuation marker.
const STREAM_MAGIC: &[u8] = &[0xFF, 0xFF, 0xFF, 0xFF];
/// File extensions that are read as Arrow IPC whatever their first bytes.
const EXTENSIONS: &[&str] = &["arrow", "arrows", "feather", "ipc"];

/// The text of a null in messages.
const NULL_TEXT: &str = "null";

/// Which Arrow IPC format a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    File,
    Stream,
}

/// The Arrow format of the file at `path`, by its first bytes or its
/// extension; `None` for anything else (CSV). A file that cannot be read
/// is left to the loader to report.
pub(super) fn sniff(path: &Path) -> Option<Format> {
    let mut start = [0u8; 8];
    let n = File::open(path)
        .and_then(|mut file| read_up_to(&mut file, &mut start))
        .unwrap_or(0);
    let start = &start[..n];
    if start.starts_with(FILE_MAGIC) {
        return Some(Format::File);
    }
    if start.starts_with(STREAM_MAGIC) {
        return Some(Format::Stream);
    }
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "arrows" => Some(Format::Stream),
        ext if EXTENSIONS.contains(&ext) => Some(Format::File),
        _ => None,
    }
}

/// Whether `start`, the first bytes of some input, begin an Arrow IPC file
/// or stream.
pub(super) fn is_arrow_start(start: &[u8]) -> bool {
    start.starts_with(FILE_MAGIC) || start.starts_with(STREAM_MAGIC)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The batches of an open Arrow file or stream.
enum Batches {
    File(FileBatches),
    Stream(StreamReader<io::BufReader<File>>),
}

/// An Arrow IPC file read whole into memory, its record batches decoded
/// one by one as views into those bytes, without copying them again.
struct FileBatches {
    bytes: Buffer,
    /// The map behind `bytes`, when the file is mapped.
    map: Option<Arc<memmap2::Mmap>>,
    decoder: FileDecoder,
    schema: SchemaRef,
    blocks: Vec<Block>,
    next: usize,
}

impl Batches {
    /// Open the file and read its schema. Every column is decoded, which
    /// for the file format costs little: arrays are views into the bytes.
    fn open(path: &Path, format: Format) -> Result<Batches, Problem> {
        match format {
            Format::File => {
                let (bytes, map) = file_bytes(path).map_err(Problem::Io)?;
                if !bytes.as_slice().starts_with(FILE_MAGIC) {
                    return Err(Problem::NotArrow);
                }
                guard(|| FileBatches::new(bytes, map))
                    .map(Batches::File)
                    .map_err(Problem::Arrow)
            }
            Format::Stream => {
                let file = File::open(path).map_err(Problem::Io)?;
                guard(|| StreamReader::try_new_buffered(file, None))
                    .map(Batches::Stream)
                    .map_err(Problem::Arrow)
            }
        }
    }

    fn schema(&self) -> SchemaRef {
        match self {
            Batches::File(file) => file.schema.clone(),
            Batches::Stream(reader) => reader.schema(),
        }
    }

    fn next_batch(&mut self) -> Option<Result<RecordBatch, ArrowError>> {
        match self {
            Batches::File(file) => guard(|| file.next_batch()).transpose(),
            Batches::Stream(reader) => guard(|| reader.next().transpose()).transpose(),
        }
    }

    /// The mapped pages of the batches, when the file is mapped.
    fn mapped(&self) -> Option<MappedBatches> {
        let Batches::File(file) = self else {
            return None;
        };
        let ranges = file
            .blocks
            .iter()
            .map(|block| {
                let offset = usize::try_from(block.offset()).unwrap_or(0);
                let len = usize::try_from(block.metaDataLength()).unwrap_or(0)
                    + usize::try_from(block.bodyLength()).unwrap_or(0);
                (offset, len)
            })
            .collect();
        Some(MappedBatches {
            map: file.map.clone()?,
            ranges,
        })
    }
}

/// The bytes of the file at `path`, mapped into memory when it can be
/// (the pages come from the file cache without a copy; on the 88 MB logistic
/// benchmark file, reading it into a vector took about half the load), read
/// whole otherwise.
fn file_bytes(path: &Path) -> io::Result<(Buffer, Option<Arc<memmap2::Mmap>>)> {
    let file = File::open(path)?;
    if file.metadata()?.len() > 0 {
        // SAFETY: the map is read-only. Another process writing the file
        // while it is mapped would change these bytes under the reader, and
        // truncating it would make reading the lost pages fault: that is the
        // contract of any mapped input, and the columns are copied out of
        // the map while the data loads, so the map lives only that long.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) };
        if let Ok(map) = map {
            let len = map.len();
            if let Some(ptr) = std::ptr::NonNull::new(map.as_ptr().cast_mut()) {
                let map = Arc::new(map);
                // SAFETY: ptr is valid for len bytes as long as `map`
                // lives, and the buffer keeps it alive.
                let bytes = unsafe { Buffer::from_custom_allocation(ptr, len, map.clone()) };
                return Ok((bytes, Some(map)));
            }
        }
    }
    let mut bytes = Vec::new();
    (&file).read_to_end(&mut bytes)?;
    Ok((Buffer::from_vec(bytes), None))
}

/// The pages of a mapped file's record batches, to give back once a batch's
/// values are copied into the columns: the mapped file would otherwise stay
/// in the process's memory beside the columns, doubling the peak.
struct MappedBatches {
    map: Arc<memmap2::Mmap>,
    /// Each batch's bytes (offset and length) in the file, in order.
    ranges: Vec<(usize, usize)>,
}

impl MappedBatches {
    /// Gives back the whole pages inside batch `k`'s bytes (on Unix; a
    /// no-op elsewhere).
    #[cfg(not(unix))]
    fn release(&self, _k: usize) {}

    /// Gives back the whole pages inside batch `k`'s bytes.
    #[cfg(unix)]
    fn release(&self, k: usize) {
        let Some(&(offset, len)) = self.ranges.get(k) else {
            return;
        };
        let page = super::page_size();
        let start = offset.div_ceil(page) * page;
        let end = ((offset + len) / page * page).min(self.map.len());
        if end > start {
            // SAFETY: the map is a shared read-only mapping of a file, for
            // which MADV_DONTNEED only drops this process's page table
            // entries: a later read of those pages (a batch still held
            // refers to them) maps them again from the file, with the same
            // contents. Nothing writes through the map.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
        }
    }
}

impl FileBatches {
    /// Read the footer (schema and where the batches are) and the
    /// dictionaries of the file held in `bytes`.
    fn new(bytes: Buffer, map: Option<Arc<memmap2::Mmap>>) -> Result<FileBatches, ArrowError> {
        let no_footer = || {
            ArrowError::IpcError(
                "no Arrow IPC footer at the end of the file, which is truncated or not an \
                 Arrow IPC file"
                    .into(),
            )
        };
        let n = bytes.len();
        let trailer: [u8; 10] = bytes
            .get(n.saturating_sub(10)..)
            .and_then(|t| t.try_into().ok())
            .ok_or_else(no_footer)?;
        let footer_len = read_footer_length(trailer).map_err(|_| no_footer())?;
        let footer_start = (n - 10).checked_sub(footer_len).ok_or_else(no_footer)?;
        let footer = root_as_footer(&bytes[footer_start..n - 10])
            .map_err(|err| ArrowError::ParseError(format!("invalid footer: {err}")))?;
        let ipc_schema = footer
            .schema()
            .ok_or_else(|| ArrowError::ParseError("the footer has no schema".into()))?;
        if !ipc_schema.endianness().equals_to_target_endianness() {
            return Err(ArrowError::IpcError(
                "the file was written with the other byte order (endianness)".into(),
            ));
        }
        let schema = Arc::new(try_fb_to_schema(ipc_schema)?);
        let mut decoder = FileDecoder::new(schema.clone(), footer.version());
        for block in footer.dictionaries().iter().flatten() {
            decoder.read_dictionary(block, &block_bytes(&bytes, block)?)?;
        }
        let blocks = footer
            .recordBatches()
            .map(|blocks| blocks.iter().copied().collect())
            .unwrap_or_default();
        Ok(FileBatches {
            bytes,
            map,
            decoder,
            schema,
            blocks,
            next: 0,
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        let Some(block) = self.blocks.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        let data = block_bytes(&self.bytes, block)?;
        match self.decoder.read_record_batch(block, &data)? {
            Some(batch) => Ok(Some(batch)),
            None => Err(ArrowError::IpcError(
                "a block of the footer holds no record batch".into(),
            )),
        }
    }
}

/// The bytes of `block` (its message and body) within the file's `bytes`.
fn block_bytes(bytes: &Buffer, block: &Block) -> Result<Buffer, ArrowError> {
    let start = usize::try_from(block.offset()).ok();
    let len = usize::try_from(block.metaDataLength())
        .ok()
        .zip(usize::try_from(block.bodyLength()).ok())
        .and_then(|(meta, body)| meta.checked_add(body));
    match start.zip(len) {
        Some((start, len)) if start.checked_add(len).is_some_and(|end| end <= bytes.len()) => {
            Ok(bytes.slice_with_length(start, len))
        }
        _ => Err(ArrowError::IpcError(
            "the footer points past the end of the file, which is truncated or corrupt".into(),
        )),
    }
}

/// Why an Arrow file could not be read.
enum Problem {
    Io(io::Error),
    /// A file named as Arrow that does not start as one.
    NotArrow,
    Arrow(ArrowError),
}

/// Run a decoding step, turning a panic inside the Arrow crates (which
/// should not happen, even on a corrupt file) into an error.
fn guard<T>(step: impl FnOnce() -> Result<T, ArrowError>) -> Result<T, ArrowError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or_else(|_| {
        Err(ArrowError::IpcError(
            "the decoder stopped on malformed data".into(),
        ))
    })
}

fn file_problem(source_name: &str, problem: Problem) -> DataProblem {
    match problem {
        Problem::Io(err) => unreadable(source_name, &err),
        Problem::NotArrow => DataProblem::FileUnreadable {
            path: source_name.to_string(),
            reason: "its extension names an Arrow IPC file, but it does not start with the Arrow magic (`ARROW1` and two zero bytes)"
                .into(),
            io_kind: io::ErrorKind::InvalidData,
        },
        Problem::Arrow(ArrowError::IoError(_, err))
            if err.kind() == io::ErrorKind::UnexpectedEof =>
        {
            DataProblem::FileUnreadable {
                path: source_name.to_string(),
                reason: "its Arrow IPC data ends early: the file is truncated".into(),
                io_kind: io::ErrorKind::InvalidData,
            }
        }
        Problem::Arrow(ArrowError::IoError(_, err)) => unreadable(source_name, &err),
        // The reader is built without the codecs: the error names a build
        // feature, which says nothing to a user.
        Problem::Arrow(err) if err.to_string().contains("decompression requires") => {
            DataProblem::FileUnreadable {
                path: source_name.to_string(),
                reason: "its record batches are compressed (LZ4 or ZSTD), and compressed Arrow files are not read; write it uncompressed (pyarrow: `feather.write_feather(table, path, compression='uncompressed')`, whose default compresses)".into(),
                io_kind: io::ErrorKind::InvalidData,
            }
        }
        Problem::Arrow(err) => DataProblem::FileUnreadable {
            path: source_name.to_string(),
            reason: format!("it is not valid Arrow IPC data: {}", arrow_reason(&err)),
            io_kind: io::ErrorKind::InvalidData,
        },
    }
}

/// The Arrow error without its kind prefix, which says little to a user.
/// Errors from decoding a message's metadata carry the decoder's internal
/// state (byte positions, type names, a trace), which says nothing to a
/// user either: they are replaced by what they mean.
fn arrow_reason(err: &ArrowError) -> String {
    let text = err.to_string();
    if text.contains("Unable to get root as") {
        return "the metadata of a message is corrupt (the file was damaged or cut short)"
            .to_string();
    }
    match err {
        ArrowError::IpcError(text)
        | ArrowError::ParseError(text)
        | ArrowError::InvalidArgumentError(text)
        | ArrowError::SchemaError(text)
        | ArrowError::NotYetImplemented(text)
        | ArrowError::ComputeError(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The column names of the Arrow file at `path`.
pub(super) fn read_names(path: &Path, format: Format) -> Result<Vec<String>, DataError> {
    let name = path.display().to_string();
    let batches = Batches::open(path, format).map_err(|problem| DataError {
        problems: vec![file_problem(&name, problem)],
        source_name: name.clone(),
    })?;
    Ok(names_of(&batches.schema()))
}

fn names_of(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// Load the requested columns of the Arrow file at `path`, with the same
/// rules and guarantees as [`super::load_csv`].
pub(super) fn load_arrow(
    path: &Path,
    format: Format,
    requests: &[ColumnRequest],
    opts: &LoadOptions,
) -> Result<DataSet, DataError> {
    let source_name = path.display().to_string();
    let fail = |problem| DataError {
        problems: vec![file_problem(&source_name, problem)],
        source_name: source_name.clone(),
    };

    let mut batches = Batches::open(path, format).map_err(fail)?;
    let schema = batches.schema();
    let header = names_of(&schema);
    let mut planned = plan_columns(&header, requests, opts, &source_name);
    let Planned {
        problems,
        plans,
        filters,
        ..
    } = &mut planned;

    // Columns of a type that is not data are reported, and not read.
    let mut reported = Vec::new();
    let roles = plans
        .iter_mut()
        .map(|plan| (&mut plan.field_idx, ColumnRole::Requested))
        .chain(
            filters
                .iter_mut()
                .map(|filter| (&mut filter.field_idx, ColumnRole::Filter)),
        );
    for (field_idx, role) in roles {
        let Some(idx) = *field_idx else { continue };
        let field = schema.field(idx);
        if is_readable(field.data_type()) {
            continue;
        }
        *field_idx = None;
        if !reported.contains(&idx) {
            reported.push(idx);
            problems.push(DataProblem::ColumnType {
                file: source_name.clone(),
                name: field.name().clone(),
                role,
                type_name: field.data_type().to_string(),
            });
        }
    }
    let has_header_problem = !problems.is_empty();
    let can_check_cells = filters.iter().all(|f| f.field_idx.is_some());

    let mut pass = Pass {
        tally: Tally {
            n_data_rows: 0,
            n_filtered_out: 0,
            n_dropped: 0,
            n_kept: 0,
            source_rows: SourceRows::new(),
            is_row_count_known: false,
        },
        is_clean: !has_header_problem,
        drop_missing: opts.drop_missing,
    };
    // All batches first (views into the file's bytes, or the stream's
    // buffers), so that the columns are allocated once at their size.
    let mut has_read_error = false;
    let mut all = Vec::new();
    while let Some(batch) = batches.next_batch() {
        match batch {
            Ok(batch) => all.push(batch),
            Err(err) => {
                problems.push(file_problem(&source_name, Problem::Arrow(err)));
                has_read_error = true;
                break;
            }
        }
    }
    let mapped = batches.mapped();
    drop(batches);
    let n_rows: usize = all.iter().map(RecordBatch::num_rows).sum();
    if pass.is_clean {
        for plan in plans.iter_mut() {
            if let Values::Real(values) = &mut plan.values {
                values.reserve_exact(n_rows);
            }
        }
    }
    for (k, batch) in all.iter().enumerate() {
        if !can_check_cells {
            pass.tally.n_data_rows += batch.num_rows();
            continue;
        }
        let view = |field_idx: Option<usize>| {
            field_idx.map(|idx| CellsView::new(batch.column(idx).as_ref()))
        };
        let columns: Vec<Option<CellsView<'_>>> =
            plans.iter().map(|plan| view(plan.field_idx)).collect();
        let filter_columns: Vec<CellsView<'_>> = filters
            .iter()
            .map(|f| view(f.field_idx).expect("filters resolve when cells are checked"))
            .collect();
        pass.read_batch(batch.num_rows(), plans, &columns, filters, &filter_columns);
        if let Some(mapped) = &mapped {
            mapped.release(k);
        }
    }

    pass.tally.is_row_count_known = !has_header_problem && !has_read_error && can_check_cells;
    conclude(&source_name, planned, requests, pass.tally)
}

/// Whether the loader reads columns of type `data_type`.
fn is_readable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, values) => {
            !matches!(**values, DataType::Dictionary(..)) && is_readable(values)
        }
        other => is_number(other) || is_text(other),
    }
}

fn is_number(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Boolean
            | DataType::Null
    )
}

/// One column of one batch, ready to be read cell by cell.
enum CellsView<'a> {
    /// Numbers; the values of null slots are meaningless.
    Numbers {
        values: Cow<'a, [f64]>,
        nulls: Option<NullBuffer>,
        /// The array itself, for the exact text of an integer.
        array: &'a dyn Array,
    },
    /// Anything read as text: `values` holds the texts, looked up through
    /// `keys` for a dictionary.
    Texts {
        values: &'a dyn Array,
        keys: Option<Vec<usize>>,
        nulls: Option<NullBuffer>,
    },
}

impl<'a> CellsView<'a> {
    /// The view of `array`, whose type [`is_readable`].
    fn new(array: &'a dyn Array) -> CellsView<'a> {
        let nulls = array.logical_nulls();
        if let Some(values) = numbers(array) {
            return CellsView::Numbers {
                values,
                nulls,
                array,
            };
        }
        if let Some(dict) = array.as_any_dictionary_opt() {
            let values = dict.values().as_ref();
            // With no values every key is null (else the file is invalid).
            let keys = if values.is_empty() {
                vec![0; array.len()]
            } else {
                dict.normalized_keys()
            };
            return CellsView::Texts {
                values,
                keys: Some(keys),
                nulls: nulls
                    .or_else(|| values.is_empty().then(|| NullBuffer::new_null(array.len()))),
            };
        }
        CellsView::Texts {
            values: array,
            keys: None,
            nulls,
        }
    }

    fn is_null(&self, row: usize) -> bool {
        let nulls = match self {
            CellsView::Numbers { nulls, .. } | CellsView::Texts { nulls, .. } => nulls,
        };
        nulls.as_ref().is_some_and(|n| n.is_null(row))
    }

    /// The cell of `row` for a column of `kind`; a level's or a bad cell's
    /// text is left in `text`.
    fn classify(&self, row: usize, kind: ColumnKind, text: &mut String) -> Cell {
        text.clear();
        if self.is_null(row) {
            text.push_str(NULL_TEXT);
            return Cell::Missing;
        }
        match self {
            CellsView::Numbers { values, array, .. } => {
                let value = values[row];
                if kind == ColumnKind::Factor {
                    if value.is_nan() {
                        text.push_str("NaN");
                        return Cell::Missing;
                    }
                    push_exact_number(text, *array, row, value);
                    return Cell::Level;
                }
                let cell = classify_number(value, kind);
                if !matches!(cell, Cell::Number(_)) {
                    push_exact_number(text, *array, row, value);
                }
                cell
            }
            CellsView::Texts { values, keys, .. } => {
                let at = keys.as_ref().map_or(row, |keys| keys[row]);
                // A boolean is 1 or 0 where a number is wanted (a binary
                // outcome), the level `true` or `false` in a factor.
                if let (Some(b), false) = (values.as_boolean_opt(), kind == ColumnKind::Factor) {
                    return classify_number(f64::from(u8::from(b.value(at))), kind);
                }
                push_text(text, *values, at);
                let cell = classify(text.as_bytes(), kind);
                if cell == Cell::Level {
                    let trimmed = text.trim_ascii();
                    if trimmed.len() != text.len() {
                        *text = trimmed.to_string();
                    }
                }
                cell
            }
        }
    }

    /// The text a filter compares: trimmed, empty for a null.
    fn filter_text(&self, row: usize, text: &mut String) {
        text.clear();
        if self.is_null(row) {
            return;
        }
        match self {
            CellsView::Numbers { values, array, .. } => {
                push_exact_number(text, *array, row, values[row])
            }
            CellsView::Texts { values, keys, .. } => {
                let at = keys.as_ref().map_or(row, |keys| keys[row]);
                push_text(text, *values, at);
                let trimmed = text.trim_ascii();
                if trimmed.len() != text.len() {
                    *text = trimmed.to_string();
                }
            }
        }
    }

    /// The values when every one of them is a valid, present number for a
    /// column of `kind`, to be appended at once.
    fn clean_numbers(&self, kind: ColumnKind) -> Option<&[f64]> {
        let CellsView::Numbers { values, nulls, .. } = self else {
            return None;
        };
        if kind == ColumnKind::Factor || nulls.as_ref().is_some_and(|n| n.null_count() > 0) {
            return None;
        }
        let is_clean = match kind {
            ColumnKind::Int => values.iter().all(|&v| is_exact_int(v)),
            _ => values.iter().all(|v| v.is_finite()),
        };
        is_clean.then_some(values.as_ref())
    }
}

/// The values of a numeric array as `f64`: borrowed for `Float64`.
fn numbers(array: &dyn Array) -> Option<Cow<'_, [f64]>> {
    macro_rules! convert {
        ($type:ty) => {
            Cow::Owned(
                array
                    .as_primitive::<$type>()
                    .values()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
            )
        };
    }
    Some(match array.data_type() {
        DataType::Float64 => Cow::Borrowed(array.as_primitive::<Float64Type>().values().as_ref()),
        DataType::Float32 => convert!(Float32Type),
        DataType::Float16 => Cow::Owned(
            array
                .as_primitive::<Float16Type>()
                .values()
                .iter()
                .map(|v| v.to_f64())
                .collect(),
        ),
        DataType::Int8 => convert!(Int8Type),
        DataType::Int16 => convert!(Int16Type),
        DataType::Int32 => convert!(Int32Type),
        DataType::Int64 => convert!(Int64Type),
        DataType::UInt8 => convert!(UInt8Type),
        DataType::UInt16 => convert!(UInt16Type),
        DataType::UInt32 => convert!(UInt32Type),
        DataType::UInt64 => convert!(UInt64Type),
        _ => return None,
    })
}

/// Append the shortest decimal text of `value`, as a CSV file would hold it.
fn push_number(text: &mut String, value: f64) {
    use std::fmt::Write;
    let _ = write!(text, "{value}");
}

/// Append the text of entry `at` of the numeric `array`, whose value as an
/// f64 is `value`: integers in full (a 64-bit integer above 2^53 has no
/// exact f64, and two such identifiers must stay two factor levels), other
/// numbers as [`push_number`] writes them.
fn push_exact_number(text: &mut String, array: &dyn Array, at: usize, value: f64) {
    use std::fmt::Write;
    let _ = match array.data_type() {
        DataType::Int64 => write!(text, "{}", array.as_primitive::<Int64Type>().value(at)),
        DataType::UInt64 => write!(text, "{}", array.as_primitive::<UInt64Type>().value(at)),
        _ => {
            push_number(text, value);
            Ok(())
        }
    };
}

/// Append the text of entry `at` of `array`, which is text, boolean, null or
/// numbers (the values of a dictionary).
fn push_text(text: &mut String, array: &dyn Array, at: usize) {
    match array.data_type() {
        DataType::Utf8 => text.push_str(array.as_string::<i32>().value(at)),
        DataType::LargeUtf8 => text.push_str(array.as_string::<i64>().value(at)),
        DataType::Utf8View => text.push_str(array.as_string_view().value(at)),
        DataType::Boolean => {
            text.push_str(if array.as_boolean().value(at) {
                "true"
            } else {
                "false"
            });
        }
        DataType::Null => {}
        _ => {
            if let Some(values) = numbers(&array.slice(at, 1)) {
                push_number(text, values[0]);
            }
        }
    }
}

/// The counts of the pass over the rows.
struct Pass {
    tally: Tally,
    /// No problem seen yet, so values are still stored.
    is_clean: bool,
    drop_missing: bool,
}

impl Pass {
    /// Read the `n_rows` rows of one batch: `columns[i]` is the batch's
    /// column for `plans[i]` (`None` when the column was not found).
    fn read_batch(
        &mut self,
        n_rows: usize,
        plans: &mut [ColumnPlan],
        columns: &[Option<CellsView<'_>>],
        filters: &mut [super::columns::FilterPlan],
        filter_columns: &[CellsView<'_>],
    ) {
        let first_row = self.tally.n_data_rows + 1;
        self.tally.n_data_rows += n_rows;

        // A batch of valid numbers, with nothing to filter, goes in at once.
        if self.is_clean && filters.is_empty() {
            let clean: Option<Vec<Option<&[f64]>>> = plans
                .iter()
                .zip(columns)
                .map(|(plan, column)| match column {
                    Some(column) => column.clean_numbers(plan.kind).map(Some),
                    None => Some(None),
                })
                .collect();
            if let Some(clean) = clean {
                for (plan, values) in plans.iter_mut().zip(clean) {
                    if let (Values::Real(stored), Some(values)) = (&mut plan.values, values) {
                        stored.extend_from_slice(values);
                    }
                }
                self.tally.n_kept += n_rows;
                self.tally
                    .source_rows
                    .extend_run(first_row..first_row + n_rows);
                return;
            }
        }

        let mut text = String::new();
        let mut texts = vec![String::new(); plans.len()];
        let mut cells = vec![Cell::Missing; plans.len()];
        for idx in 0..n_rows {
            let row = first_row + idx;
            if !passes_filters(filters, filter_columns, idx, &mut text) {
                self.tally.n_filtered_out += 1;
                continue;
            }

            let mut has_missing = false;
            let mut has_invalid = false;
            for (((plan, column), cell), text) in plans
                .iter_mut()
                .zip(columns)
                .zip(&mut cells)
                .zip(&mut texts)
            {
                let Some(column) = column else { continue };
                *cell = column.classify(idx, plan.kind, text);
                match *cell {
                    Cell::Missing => {
                        has_missing = true;
                        plan.n_missing += 1;
                        if !self.drop_missing {
                            plan.log(CellIssue::Missing, row, 0, text.as_bytes());
                        }
                    }
                    Cell::Invalid(issue) => {
                        has_invalid = true;
                        plan.log(issue, row, 0, text.as_bytes());
                    }
                    Cell::Number(_) | Cell::Level => {}
                }
            }
            if has_missing && self.drop_missing {
                self.tally.n_dropped += 1;
                continue;
            }
            self.tally.n_kept += 1;
            if has_missing || has_invalid {
                self.is_clean = false;
            }
            if !self.is_clean {
                continue;
            }
            for ((plan, cell), text) in plans.iter_mut().zip(&cells).zip(&texts) {
                if plan.field_idx.is_none() {
                    continue;
                }
                match (&mut plan.values, *cell) {
                    (Values::Real(values), Cell::Number(value)) => values.push(value),
                    (Values::Factor(builder), Cell::Level) => builder.push(text),
                    _ => unreachable!("only valid cells of the column's kind are stored"),
                }
            }
            self.tally.source_rows.push(row);
        }
    }
}

/// Whether row `idx` passes every filter; all are evaluated, so that each
/// one's match count is right.
fn passes_filters(
    filters: &mut [super::columns::FilterPlan],
    columns: &[CellsView<'_>],
    idx: usize,
    text: &mut String,
) -> bool {
    let mut passes = true;
    for (filter, column) in filters.iter_mut().zip(columns) {
        column.filter_text(idx, text);
        if *text == filter.value {
            filter.n_matched += 1;
        } else {
            passes = false;
            if filter.n_matched == 0 {
                filter.remember(text.as_bytes());
            }
        }
    }
    passes
}
