//! Splitting the input into records, with a fast path for plain lines.
//!
//! Most data files have no quoted fields. For those, a record is a
//! non-empty line split at its commas, which [`RowReader`] finds in a
//! reused block buffer, or a block at a time in a file mapped into memory,
//! without copying fields anywhere (the loader splits
//! a line and reads its numbers in one pass, [`split_reading_numbers`]). A
//! line holding a `"`, or a `\r` anywhere but just before its `\n`, is left
//! to the `csv` crate, which then reads the rest of the input: the switch
//! happens at the start of that line, where both readers are in the same
//! state, so every record, field and file line comes out as if the `csv`
//! crate had read the whole input. Like that crate, the fast path strips a
//! UTF-8 byte-order mark at the very start of the input, skips blank lines
//! and accepts CRLF endings.

use std::io::{self, Chain, Cursor, Read};
use std::ops::Deref;
use std::sync::Arc;

use csv::ByteRecord;

#[cfg(target_arch = "x86_64")]
use super::cell::read_field_decimal_ssse3;
use super::cell::{read_field_decimal, read_plain_decimal};
use super::lines::LineTracker;
use super::separators::Separators;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Initial size of the block buffer; it grows to hold a longer line.
pub(crate) const BLOCK_BYTES: usize = 1 << 20;

type CsvReader<R> = csv::Reader<LineTracker<Chain<Chain<Cursor<Vec<u8>>, MappedRest>, R>>>;

/// Where the reader's bytes are.
enum Buffer {
    /// A block read from the input, moved to the front and read into again
    /// as lines are taken.
    Read(Vec<u8>),
    /// The whole input, mapped into memory: the unread part moves forward
    /// over it a block at a time, and the pages before it are given back.
    Mapped {
        map: Arc<memmap2::Mmap>,
        block_bytes: usize,
        /// The pages before this offset are given back.
        released_to: usize,
    },
}

impl Deref for Buffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Buffer::Read(buf) => buf,
            Buffer::Mapped { map, .. } => map,
        }
    }
}

/// The part of a mapped input after the fast reader's block, which the
/// `csv` crate reads after the block's unread bytes; nothing for an input
/// that is read.
pub(crate) struct MappedRest {
    map: Option<Arc<memmap2::Mmap>>,
    at: usize,
}

impl Read for MappedRest {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(map) = &self.map else {
            return Ok(0);
        };
        let rest = map.get(self.at..).unwrap_or_default();
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// An error while reading records.
pub(crate) enum ReadError {
    Io(io::Error),
    Csv(csv::Error),
}

/// The fields of the record most recently read.
pub(crate) enum Record<'a> {
    /// A plain line; `ends[i]` is where field `i` ends in `line`.
    Line {
        line: &'a [u8],
        ends: &'a [usize],
    },
    Csv(&'a ByteRecord),
}

impl Record<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Record::Line { ends, .. } => ends.len(),
            Record::Csv(record) => record.len(),
        }
    }

    /// The raw bytes of field `idx`, which must be below [`Record::len`].
    #[inline]
    pub(crate) fn field(&self, idx: usize) -> &[u8] {
        match self {
            Record::Line { line, ends } => {
                let start = if idx == 0 { 0 } else { ends[idx - 1] + 1 };
                &line[start..ends[idx]]
            }
            Record::Csv(record) => &record[idx],
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |idx| self.field(idx))
    }
}

/// A record before it is split into fields.
pub(crate) enum Line<'a> {
    /// A plain line without its line break: no quotes, no `\r`, not empty.
    /// [`split_reading_numbers`] splits it.
    Plain(&'a [u8]),
    Csv(&'a ByteRecord),
}

/// Split a plain `line` at its commas into `ends` (`ends[i]` is where
/// field `i` ends), and read each field `i` marked in `numeric` as a plain
/// decimal into `values[i]` on the way, so that its bytes are looked at
/// once. Whether every marked field was a plain decimal (see
/// [`read_plain_decimal`]); the others keep whatever `values` held.
pub(crate) fn split_reading_numbers(
    line: &[u8],
    numeric: &[bool],
    ends: &mut Vec<usize>,
    values: &mut [f64],
) -> bool {
    ends.clear();
    let mut is_all_read = true;
    let mut start = 0;
    loop {
        let field_idx = ends.len();
        let mut read_to = None;
        if numeric.get(field_idx) == Some(&true) {
            let (value, n_read) = read_plain_decimal(&line[start..]);
            let stop = start + n_read;
            match value {
                Some(value) if line.get(stop).is_none_or(|&byte| byte == b',') => {
                    values[field_idx] = value;
                    read_to = Some(stop);
                }
                _ => is_all_read = false,
            }
        }
        let end = read_to.unwrap_or_else(|| {
            memchr::memchr(b',', &line[start..]).map_or(line.len(), |idx| start + idx)
        });
        ends.push(end);
        if end == line.len() {
            return is_all_read;
        }
        start = end + 1;
    }
}

/// Reads records one at a time, each with the file line it starts on.
pub(crate) struct RowReader<R> {
    state: State<R>,
    /// Field ends of the plain line [`RowReader::next_record`] returned last.
    ends: Vec<usize>,
    /// The size of the whole input, when known.
    expected_bytes: Option<u64>,
}

enum State<R> {
    Fast(FastLines<R>),
    Csv(CsvReader<R>, ByteRecord),
    /// Only while switching from one to the other.
    Switching,
}

struct FastLines<R> {
    inner: R,
    buf: Buffer,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    is_eof: bool,
    /// Whether a byte-order mark was looked for (and stripped when found).
    has_started: bool,
    has_stripped_bom: bool,
    /// `\n` bytes consumed so far.
    n_newlines: u64,
    /// Bytes read from `inner` so far.
    n_bytes_read: u64,
    /// The current record: `buf[line.0..line.1]`.
    line: (usize, usize),
    current_line_no: u64,
}

enum Step {
    Line,
    End,
    /// The next line needs the full CSV parser.
    Switch,
}

impl<R: Read> RowReader<R> {
    pub(crate) fn new(inner: R) -> RowReader<R> {
        RowReader::with_block_bytes(inner, BLOCK_BYTES)
    }

    /// Reads the mapped bytes of a whole input, `block_bytes` at a time.
    /// `inner` stands for what would follow the map, and should be empty:
    /// only the `csv` crate, once it takes over, reads it.
    pub(crate) fn mapped(map: memmap2::Mmap, inner: R, block_bytes: usize) -> RowReader<R> {
        let n_bytes = map.len() as u64;
        let buf = Buffer::Mapped {
            map: Arc::new(map),
            block_bytes: block_bytes.max(1),
            released_to: 0,
        };
        let mut reader = RowReader::with_buffer(inner, buf);
        reader.set_expected_bytes(Some(n_bytes));
        reader
    }

    pub(crate) fn with_block_bytes(inner: R, block_bytes: usize) -> RowReader<R> {
        RowReader::with_buffer(inner, Buffer::Read(vec![0; block_bytes.max(1)]))
    }

    fn with_buffer(inner: R, buf: Buffer) -> RowReader<R> {
        RowReader {
            state: State::Fast(FastLines {
                inner,
                buf,
                pos: 0,
                end: 0,
                is_eof: false,
                has_started: false,
                has_stripped_bom: false,
                n_newlines: 0,
                n_bytes_read: 0,
                line: (0, 0),
                current_line_no: 0,
            }),
            ends: Vec::new(),
            expected_bytes: None,
        }
    }

    /// Tells the reader the size of its whole input (a file's length), for
    /// [`RowReader::estimated_rows_left`].
    pub(crate) fn set_expected_bytes(&mut self, n_bytes: Option<u64>) {
        self.expected_bytes = n_bytes;
    }

    /// About how many lines are still to be read: the bytes left over the
    /// mean length of the complete lines in the current block, plus a
    /// tenth. `None` when the input's size is unknown or the block holds
    /// no complete line.
    pub(crate) fn estimated_rows_left(&self) -> Option<usize> {
        let State::Fast(fast) = &self.state else {
            return None;
        };
        let lines = self.complete_lines();
        let n_lines = memchr::memchr_iter(b'\n', lines).count();
        if n_lines == 0 {
            return None;
        }
        let n_unread_in_block = (fast.end - fast.pos) as u64;
        let n_left = self
            .expected_bytes?
            .checked_sub(fast.n_bytes_read)?
            .checked_add(n_unread_in_block)?;
        let mean_line = lines.len() as f64 / n_lines as f64;
        Some((1.1 * n_left as f64 / mean_line) as usize)
    }

    /// The next record and the 1-based file line of its first content
    /// byte, or `None` at the end of the input.
    pub(crate) fn next_record(&mut self) -> Result<Option<(Record<'_>, u64)>, ReadError> {
        let Some((line, line_no)) = self.state.next_line()? else {
            return Ok(None);
        };
        let record = match line {
            Line::Plain(line) => {
                split_reading_numbers(line, &[], &mut self.ends, &mut []);
                Record::Line {
                    line,
                    ends: &self.ends,
                }
            }
            Line::Csv(record) => Record::Csv(record),
        };
        Ok(Some((record, line_no)))
    }

    /// When the input ended inside a quoted field, the file line of the
    /// quote that opened it (see [`LineTracker::unclosed_quote_line`]).
    /// Meaningful once the last record has been read.
    pub(crate) fn unclosed_quote_line(&self) -> Option<u64> {
        match &self.state {
            State::Csv(reader, _) => reader.get_ref().unclosed_quote_line(),
            _ => None,
        }
    }

    /// The next record, not yet split when it is a plain line, and the
    /// 1-based file line of its first content byte; `None` at the end of
    /// the input.
    pub(crate) fn next_line(&mut self) -> Result<Option<(Line<'_>, u64)>, ReadError> {
        self.state.next_line()
    }
}

/// Reads the plain numeric lines at the front of `block`, the separators
/// of 64 bytes at a time and then each field's number: lines of exactly
/// `numeric.len()` fields, those marked in `numeric` plain decimals (read
/// into `values[i]`, as [`split_reading_numbers`] reads them) and the
/// others free of `,`, `"`, `\r` and `\n`, each line non-empty and ending
/// in `\n` or `\r\n` inside `block`.
/// `store` gets each such line as a record with its values and says whether
/// it took it. Stops before the first line that is anything else,
/// incomplete or not taken. Returns how many lines were taken and where
/// they end in `block`.
pub(crate) fn plain_numeric_lines(
    block: &[u8],
    numeric: &[bool],
    values: &mut [f64],
    ends: &mut Vec<usize>,
    store: impl FnMut(&Record<'_>, &[f64]) -> bool,
) -> (usize, usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the processor supports SSSE3.
        return unsafe { plain_numeric_lines_ssse3(block, numeric, values, ends, store) };
    }
    // SAFETY: with SSSE3 false, the body needs no processor feature.
    unsafe { plain_numeric_lines_with::<false>(block, numeric, values, ends, store) }
}

/// [`plain_numeric_lines`] built for SSSE3, which reads numbers with it.
///
/// # Safety
///
/// The processor must support SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
unsafe fn plain_numeric_lines_ssse3(
    block: &[u8],
    numeric: &[bool],
    values: &mut [f64],
    ends: &mut Vec<usize>,
    store: impl FnMut(&Record<'_>, &[f64]) -> bool,
) -> (usize, usize) {
    // SAFETY: the caller's promise.
    unsafe { plain_numeric_lines_with::<true>(block, numeric, values, ends, store) }
}

/// The field `block[pos..end]` as a plain decimal, read with SSSE3 when
/// `SSSE3`.
///
/// # Safety
///
/// With `SSSE3`, the processor must support it.
#[inline(always)]
unsafe fn read_field<const SSSE3: bool>(block: &[u8], pos: usize, end: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if SSSE3 {
        // SAFETY: the caller's promise.
        return unsafe { read_field_decimal_ssse3(block, pos, end) };
    }
    read_field_decimal(block, pos, end)
}

/// The body of [`plain_numeric_lines`].
///
/// # Safety
///
/// With `SSSE3`, the processor must support it.
#[inline(always)]
unsafe fn plain_numeric_lines_with<const SSSE3: bool>(
    block: &[u8],
    numeric: &[bool],
    values: &mut [f64],
    ends: &mut Vec<usize>,
    mut store: impl FnMut(&Record<'_>, &[f64]) -> bool,
) -> (usize, usize) {
    if numeric.is_empty() {
        return (0, 0);
    }
    let mut pos = 0;
    // Where the lines taken end.
    let mut taken_to = 0;
    let mut n_lines = 0;
    let mut separators = Separators::new(block);
    'lines: loop {
        let start = pos;
        ends.clear();
        for (field_idx, &is_numeric) in numeric.iter().enumerate() {
            let is_last = field_idx + 1 == numeric.len();
            // The field's separator: a comma, or the line break (LF or
            // CRLF) after the last field. Where the next field starts is
            // known before this one is read.
            let Some(end) = separators.next_at() else {
                break 'lines;
            };
            let next = match (is_last, block[end]) {
                (false, b',') | (true, b'\n') => end + 1,
                (true, b'\r') if block.get(end + 1) == Some(&b'\n') => {
                    separators.next_at();
                    end + 2
                }
                _ => break 'lines,
            };
            if is_numeric {
                // SAFETY: the caller's promise.
                match unsafe { read_field::<SSSE3>(block, pos, end) } {
                    Some(value) => values[field_idx] = value,
                    None => break 'lines,
                }
            } else if is_last && end == start {
                // A blank line is no record (a lone field may be empty).
                break 'lines;
            }
            ends.push(end - start);
            pos = next;
        }
        let record = Record::Line {
            line: &block[start..start + ends.last().copied().unwrap_or(0)],
            ends,
        };
        if !store(&record, values) {
            break;
        }
        taken_to = pos;
        n_lines += 1;
    }
    (n_lines, taken_to)
}

/// Below this many bytes of complete lines in a block, one thread reads them:
/// handing pieces to other threads costs more than it saves.
const MIN_PARALLEL_BYTES: usize = 1 << 16;

impl<R: Read> RowReader<R> {
    /// Reads the plain numeric lines at the front of the current block (see
    /// [`plain_numeric_lines`]), leaving the line that stopped them to
    /// [`RowReader::next_line`]. The lines read are consecutive file lines;
    /// returns how many.
    ///
    /// This is the loader's path for large clean files: it replaces, per
    /// line, a search for the line's end, one for quotes and carriage
    /// returns, and the split, which on a file of one short column cost
    /// more than reading the number.
    pub(crate) fn plain_numeric_rows(
        &mut self,
        numeric: &[bool],
        values: &mut [f64],
        store: impl FnMut(&Record<'_>, &[f64]) -> bool,
    ) -> usize {
        let State::Fast(fast) = &mut self.state else {
            return 0;
        };
        if !fast.has_started {
            return 0;
        }
        let block = &fast.buf[fast.pos..fast.end];
        let (n_lines, taken_to) =
            plain_numeric_lines(block, numeric, values, &mut self.ends, store);
        fast.pos += taken_to;
        fast.n_newlines += n_lines as u64;
        n_lines
    }

    /// The complete lines at the front of the current block, for
    /// [`plain_numeric_lines`] to read on several threads; empty once the
    /// `csv` crate reads the input. [`RowReader::consume`] then passes over
    /// those read.
    pub(crate) fn complete_lines(&self) -> &[u8] {
        match &self.state {
            State::Fast(fast) if fast.has_started => {
                let block = &fast.buf[fast.pos..fast.end];
                let complete = memchr::memrchr(b'\n', block).map_or(0, |idx| idx + 1);
                &block[..complete]
            }
            _ => &[],
        }
    }

    /// Passes over `n_bytes` of [`RowReader::complete_lines`], which hold
    /// `n_lines` whole lines.
    pub(crate) fn consume(&mut self, n_bytes: usize, n_lines: usize) {
        if let State::Fast(fast) = &mut self.state {
            fast.pos += n_bytes;
            fast.n_newlines += n_lines as u64;
        }
    }
}

/// Cuts `lines` (whole lines) into at most `n` pieces of whole lines, of
/// about equal size but none below [`MIN_PARALLEL_BYTES`]: the pieces' ends.
pub(crate) fn cut_at_lines(lines: &[u8], n: usize) -> Vec<usize> {
    let n = n.min(lines.len() / MIN_PARALLEL_BYTES).max(1);
    let mut ends = Vec::with_capacity(n);
    let mut from = 0;
    for k in 1..n {
        // The first line break at or after k/n of the way.
        let at = (lines.len() * k / n).max(from);
        let end = memchr::memchr(b'\n', &lines[at..]).map_or(lines.len(), |i| at + i + 1);
        ends.push(end);
        from = end;
    }
    ends.push(lines.len());
    ends
}

impl<R: Read> State<R> {
    fn next_line(&mut self) -> Result<Option<(Line<'_>, u64)>, ReadError> {
        if let State::Fast(fast) = self {
            match fast.step().map_err(ReadError::Io)? {
                Step::Line | Step::End => {}
                Step::Switch => self.switch_to_csv(),
            }
        }
        match self {
            State::Fast(fast) => {
                if fast.is_done() {
                    return Ok(None);
                }
                let (start, stop) = fast.line;
                Ok(Some((
                    Line::Plain(&fast.buf[start..stop]),
                    fast.current_line_no,
                )))
            }
            State::Csv(reader, record) => {
                if !reader.read_byte_record(record).map_err(ReadError::Csv)? {
                    return Ok(None);
                }
                let start = record.position().map_or(0, |p| p.byte());
                let line = reader.get_mut().record_line(start);
                Ok(Some((Line::Csv(record), line)))
            }
            State::Switching => unreachable!("the switch completes before reading"),
        }
    }

    /// Hand the unread input to the `csv` crate, in the state it would be
    /// in had it read everything so far.
    fn switch_to_csv(&mut self) {
        let State::Fast(fast) = std::mem::replace(self, State::Switching) else {
            unreachable!("only the fast reader switches");
        };
        let rest = &fast.buf[fast.pos..fast.end];
        let (prefix, n_newlines_passed) = if fast.n_newlines > 0 {
            // A blank line first, standing for the lines already read, so
            // that the crate neither strips a byte-order mark here nor
            // counts a line twice.
            let mut prefix = Vec::with_capacity(rest.len() + 1);
            prefix.push(b'\n');
            prefix.extend_from_slice(rest);
            (prefix, fast.n_newlines - 1)
        } else {
            // Still on the first line: the crate reads it from the start.
            let mut prefix = Vec::with_capacity(rest.len() + UTF8_BOM.len());
            if fast.has_stripped_bom {
                prefix.extend_from_slice(UTF8_BOM);
            }
            prefix.extend_from_slice(rest);
            (prefix, 0)
        };
        let rest = MappedRest {
            map: match &fast.buf {
                Buffer::Mapped { map, .. } => Some(map.clone()),
                Buffer::Read(_) => None,
            },
            at: fast.end,
        };
        let input = Cursor::new(prefix).chain(rest).chain(fast.inner);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineTracker::with_newlines_passed(input, n_newlines_passed));
        *self = State::Csv(reader, ByteRecord::new());
    }
}

impl<R: Read> FastLines<R> {
    fn is_done(&self) -> bool {
        self.line == (usize::MAX, usize::MAX)
    }

    /// Move to the next non-blank line, splitting it into fields.
    fn step(&mut self) -> io::Result<Step> {
        if !self.has_started {
            while self.end < UTF8_BOM.len() && !self.is_eof {
                self.fill()?;
            }
            if self.buf[..self.end].starts_with(UTF8_BOM) {
                self.pos = UTF8_BOM.len();
                self.has_stripped_bom = true;
            }
            self.has_started = true;
        }
        loop {
            let unread = &self.buf[self.pos..self.end];
            let (stop, has_newline) = match memchr::memchr(b'\n', unread) {
                Some(idx) => (self.pos + idx, true),
                None if !self.is_eof => {
                    self.fill()?;
                    continue;
                }
                None if unread.is_empty() => {
                    self.line = (usize::MAX, usize::MAX);
                    return Ok(Step::End);
                }
                None => (self.end, false),
            };
            let start = self.pos;
            let mut len = stop - start;
            if len > 0 && self.buf[stop - 1] == b'\r' {
                len -= 1;
            }
            let line = &self.buf[start..start + len];
            if memchr::memchr2(b'"', b'\r', line).is_some() {
                return Ok(Step::Switch);
            }
            let line_no = self.n_newlines + 1;
            self.pos = if has_newline { stop + 1 } else { stop };
            if has_newline {
                self.n_newlines += 1;
            }
            if len == 0 {
                continue;
            }
            self.line = (start, start + len);
            self.current_line_no = line_no;
            return Ok(Step::Line);
        }
    }

    /// Moves the end of the unread bytes a block further over the mapped
    /// input, and gives back the whole pages before the unread bytes: they
    /// were read, and would otherwise stay in the process's memory beside
    /// the columns, as large as the file.
    fn advance_over_map(&mut self) {
        let Buffer::Mapped {
            map,
            block_bytes,
            released_to,
        } = &mut self.buf
        else {
            return;
        };
        // A line longer than a block doubles what is unread, as a read
        // buffer doubles, so that looking for its end again after each
        // step costs in all a few passes over it, not one per block.
        let step = (*block_bytes).max(self.end - self.pos);
        self.end = (self.end + step).min(map.len());
        self.n_bytes_read = self.end as u64;
        self.is_eof = self.end == map.len();
        let page = super::page_size();
        let read_to = self.pos / page * page;
        if read_to > *released_to {
            #[cfg(unix)]
            // SAFETY: the map is a shared read-only mapping of a file, for
            // which MADV_DONTNEED only drops this process's page table
            // entries: nothing refers to bytes before `pos` any more, and
            // a read of them would map them again from the file, with the
            // same contents.
            unsafe {
                let _ = map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    *released_to,
                    read_to - *released_to,
                );
            }
            *released_to = read_to;
        }
    }

    /// Read more input after the unread bytes, moving them to the front
    /// and growing the buffer when they fill it.
    fn fill(&mut self) -> io::Result<()> {
        let Buffer::Read(buf) = &mut self.buf else {
            self.advance_over_map();
            return Ok(());
        };
        if self.pos > 0 {
            buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == buf.len() {
            // A line that does not fit in memory (a file of zero bytes
            // without a line break, say) is an unreadable input, not an
            // abort.
            if buf.try_reserve_exact(buf.len()).is_err() {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!(
                        "a line longer than {} bytes does not fit in memory",
                        buf.len()
                    ),
                ));
            }
            buf.resize(buf.len() * 2, 0);
        }
        loop {
            match self.inner.read(&mut buf[self.end..]) {
                Ok(0) => {
                    self.is_eof = true;
                    return Ok(());
                }
                Ok(n_read) => {
                    self.end += n_read;
                    self.n_bytes_read += n_read as u64;
                    return Ok(());
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rows_left_are_estimated_from_the_lines_in_the_block() {
        let mut text = String::from("x,y\n");
        for i in 0..5000 {
            text.push_str(&format!("{}.5,{}\n", i % 100, i % 7));
        }
        let mut reader = RowReader::with_block_bytes(text.as_bytes(), 4096);
        assert!(reader.estimated_rows_left().is_none(), "nothing read yet");
        reader.next_record().ok().flatten().expect("the header");
        assert!(reader.estimated_rows_left().is_none(), "input size unknown");
        reader.set_expected_bytes(Some(text.len() as u64));
        let estimate = reader.estimated_rows_left().expect("an estimate");
        // The lines are 5 to 7 bytes long, the block's first ones shorter
        // than the mean: at least all 5000, and not wildly more.
        assert!((5000..=7000).contains(&estimate), "{estimate}");
    }

    /// Forget the first record's line: it is the header's, which is never
    /// reported, and `LineTracker` does not count blank lines after a
    /// byte-order mark before it.
    fn without_header_line(mut records: Vec<(Vec<Vec<u8>>, u64)>) -> Vec<(Vec<Vec<u8>>, u64)> {
        if let Some(first) = records.first_mut() {
            first.1 = 0;
        }
        records
    }

    /// Every record's fields and line, as read by `RowReader`.
    fn fast_records(input: &[u8], block_bytes: usize) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut reader = RowReader::with_block_bytes(input, block_bytes);
        let mut out = Vec::new();
        while let Some((record, line)) = reader.next_record().ok().unwrap() {
            out.push((record.iter().map(<[u8]>::to_vec).collect(), line));
        }
        without_header_line(out)
    }

    /// The same, read by the `csv` crate alone.
    fn csv_records(input: &[u8]) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineTracker::new(input));
        let mut record = ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let start = record.position().unwrap().byte();
            let line = reader.get_mut().record_line(start);
            out.push((record.iter().map(<[u8]>::to_vec).collect(), line));
        }
        without_header_line(out)
    }

    #[test]
    fn switches_to_the_csv_crate_mid_file() {
        let text = b"x,y\n1,2\n\n\"a,b\",3\r\n4,5\n";
        let expected = csv_records(text);
        assert_eq!(expected.len(), 4);
        assert_eq!(expected[2], (vec![b"a,b".to_vec(), b"3".to_vec()], 4));
        assert_eq!(fast_records(text, 3), expected);
        assert_eq!(fast_records(text, 1 << 10), expected);
    }

    #[test]
    fn byte_order_mark_only_at_the_start() {
        for text in [
            &b"\xef\xbb\xbfx\n\xef\xbb\xbfy\n"[..],
            b"\xef\xbb\xbf\xef\xbb\xbfx\n",
            b"\xef\xbb\xbf\"x\"\n",
            b"x\n\xef\xbb\xbf\"y\"\n",
            b"\xef\xbb\xbf\n\n\"x\"\n",
        ] {
            assert_eq!(fast_records(text, 2), csv_records(text), "{text:?}");
            assert_eq!(fast_records(text, 64), csv_records(text), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn same_records_and_lines_as_the_csv_crate(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(&b"a"[..]), Just(&b"1"[..]), Just(&b","[..]), Just(&b"\n"[..]),
                    Just(&b"\r\n"[..]), Just(&b"\r"[..]), Just(&b"\""[..]), Just(&b" "[..]),
                    Just(&b"\xef\xbb\xbf"[..]),
                ],
                0..40,
            ),
            block_bytes in 1usize..16,
        ) {
            let text: Vec<u8> = parts.concat();
            prop_assert_eq!(fast_records(&text, block_bytes), csv_records(&text));
        }
    }
}
