//! File line numbers for records, counted while the CSV reader streams.
//!
//! The `csv` crate reports where it began parsing each record, but that
//! position comes before any blank lines it skipped, and before the `\n` of
//! a CRLF ending, which it consumes as part of the next record. So its line
//! number can be too small. [`LineTracker`] wraps the input, notes the
//! offset of every `\r` and `\n` as bytes go by, and works out the line of
//! the first byte of real content in each record.
//!
//! Only line breaks that the reader has read ahead but no record has
//! passed yet are kept, so memory stays bounded by the reader's buffer and
//! the longest record. Lines are counted by `\n`; a file that ends lines
//! with a lone `\r` is read correctly but every row is said to be on line 1.

use std::collections::VecDeque;
use std::io::{self, Read};

/// An input wrapper that answers "on which line does this record start?".
#[derive(Debug)]
pub(crate) struct LineTracker<R> {
    inner: R,
    /// Bytes handed to the reader so far.
    n_bytes_read: u64,
    /// Offset and value of each `\r` or `\n` not yet passed by a record.
    breaks: VecDeque<(u64, u8)>,
    /// Number of `\n` bytes already passed.
    n_newlines_passed: u64,
    /// Line breaks before the input, and `\n` bytes read from it so far.
    n_newlines_before: u64,
    n_newlines_read: u64,
    /// Where the `csv` crate's reading of quotes stands after the bytes read.
    quote: QuoteState,
    /// The file line of the quote that opened the quoted field being read.
    open_quote_line: u64,
    /// The input's first three bytes, to see a byte-order mark, which the
    /// `csv` crate skips.
    head: [u8; 3],
}

const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The states of the `csv` crate's reader (with its default settings) that
/// matter to quotes: whether a field has begun, and whether it is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    /// At the start of a field: a `"` here opens a quoted field.
    FieldStart,
    /// In an unquoted field, where a `"` is an ordinary byte.
    Unquoted,
    /// In a quoted field, where only a `"` can end it.
    Quoted,
    /// Just after a `"` in a quoted field: a second `"` is an escaped
    /// quote, a separator ends the field, anything else continues it
    /// unquoted.
    QuoteInQuoted,
}

impl QuoteState {
    fn after(self, byte: u8) -> QuoteState {
        use QuoteState::{FieldStart, QuoteInQuoted, Quoted, Unquoted};
        let is_separator = matches!(byte, b',' | b'\n' | b'\r');
        match self {
            Quoted if byte == b'"' => QuoteInQuoted,
            Quoted => Quoted,
            QuoteInQuoted if byte == b'"' => Quoted,
            FieldStart if byte == b'"' => Quoted,
            _ if is_separator => FieldStart,
            _ => Unquoted,
        }
    }
}

impl<R> LineTracker<R> {
    pub(crate) fn new(inner: R) -> LineTracker<R> {
        LineTracker {
            inner,
            n_bytes_read: 0,
            breaks: VecDeque::new(),
            n_newlines_passed: 0,
            n_newlines_before: 0,
            n_newlines_read: 0,
            quote: QuoteState::FieldStart,
            open_quote_line: 0,
            head: [0; 3],
        }
    }

    /// A tracker for input that starts after `n_newlines_passed` line
    /// breaks of the file.
    pub(crate) fn with_newlines_passed(inner: R, n_newlines_passed: u64) -> LineTracker<R> {
        LineTracker {
            n_newlines_passed,
            n_newlines_before: n_newlines_passed,
            ..LineTracker::new(inner)
        }
    }

    /// When the input read so far ends inside a quoted field, the file line
    /// of the quote that opened it. The `csv` crate reads such a field to
    /// the end of the input without a word, taking every line after it
    /// into one value.
    pub(crate) fn unclosed_quote_line(&self) -> Option<u64> {
        (self.quote == QuoteState::Quoted).then_some(self.open_quote_line)
    }

    /// The 1-based line of the first content byte of the record whose
    /// parsing began at byte `start`. Must be called with increasing
    /// `start`, once per record, after the record has been read.
    pub(crate) fn record_line(&mut self, start: u64) -> u64 {
        // Breaks before `start` belong to earlier records. A run of breaks
        // beginning exactly at `start` is what the reader skipped before
        // this record: blank lines, or the `\n` of the previous CRLF.
        let mut skipped_to = start;
        while let Some(&(offset, byte)) = self.breaks.front() {
            let is_earlier = offset < start;
            let is_skipped = offset == skipped_to;
            if !is_earlier && !is_skipped {
                break;
            }
            if is_skipped {
                skipped_to += 1;
            }
            if byte == b'\n' {
                self.n_newlines_passed += 1;
            }
            self.breaks.pop_front();
        }
        self.n_newlines_passed + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n_read = self.inner.read(buf)?;
        for (idx, &byte) in buf[..n_read].iter().enumerate() {
            if byte == b'\n' || byte == b'\r' {
                self.breaks
                    .push_back((self.n_bytes_read + idx as u64, byte));
            }
            let offset = self.n_bytes_read + idx as u64;
            if offset < 3 {
                self.head[offset as usize] = byte;
                if offset == 2 && self.head == UTF8_BOM {
                    // The mark is no content: a field starts after it.
                    self.quote = QuoteState::FieldStart;
                    continue;
                }
            }
            let quote = self.quote.after(byte);
            if quote == QuoteState::Quoted && self.quote == QuoteState::FieldStart {
                self.open_quote_line = self.n_newlines_before + self.n_newlines_read + 1;
            }
            self.quote = quote;
            if byte == b'\n' {
                self.n_newlines_read += 1;
            }
        }
        self.n_bytes_read += n_read as u64;
        Ok(n_read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of the unclosed quote a csv reader ends in, once it has
    /// read all of `text`.
    fn unclosed_at_end(text: &str) -> Option<u64> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineTracker::new(text.as_bytes()));
        let mut record = csv::ByteRecord::new();
        let mut n_records = 0;
        while reader.read_byte_record(&mut record).unwrap() {
            n_records += 1;
        }
        assert!(n_records > 0);
        reader.get_ref().unclosed_quote_line()
    }

    #[test]
    fn quotes_left_open_at_the_end_are_found_where_they_open() {
        assert_eq!(unclosed_at_end("a,b\n1,\"x\n2,y\n3,z\n"), Some(2));
        assert_eq!(unclosed_at_end("a,b\r\n1,2\r\n\"3,4\r\n"), Some(3));
        // A quote closed after the last line break, doubled quotes inside
        // a quoted field, and quotes inside unquoted fields or after a
        // closed one are no open quote.
        assert_eq!(unclosed_at_end("a,b\n1,\"x\ny\"\n2,3\n"), None);
        assert_eq!(unclosed_at_end("a,b\n1,\"x\"\"y\"\n"), None);
        assert_eq!(unclosed_at_end("a,b\n5 in\",2\n3,x\"y\n"), None);
        assert_eq!(unclosed_at_end("a,b\n\"x\"y\",2\n"), None);
        // An escaped quote is not a closing one.
        assert_eq!(unclosed_at_end("a,b\n1,\"x\"\"\n2,3\n"), Some(2));
        // A byte-order mark before a quoted first name is skipped, as the
        // csv crate skips it.
        assert_eq!(unclosed_at_end("\u{feff}\"a,\",b\n1,2\n"), None);
        assert_eq!(unclosed_at_end("\u{feff}\"a,b\n1,2\n"), Some(1));
        // After a switch with lines already passed, lines count from there.
        let tracker = LineTracker::with_newlines_passed("\n\"x,1\n".as_bytes(), 9);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(tracker);
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap() {}
        assert_eq!(reader.get_ref().unclosed_quote_line(), Some(11));
    }

    proptest::proptest! {
        /// The tracker's verdict agrees with the `csv` crate itself: after
        /// text that ends inside a quoted field, a line appended to it is
        /// read as part of that field; otherwise as a record of its own.
        /// With or without a byte-order mark first.
        #[test]
        fn open_quotes_are_where_the_csv_crate_sees_them(
            text in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b',', b'"', b'\n', b'\r']),
                0..40,
            ),
            has_bom in proptest::bool::ANY,
        ) {
            let mut text = text;
            if has_bom {
                text.splice(0..0, UTF8_BOM);
            }
            let mut tracker = LineTracker::new(&text[..]);
            std::io::copy(&mut tracker, &mut std::io::sink()).unwrap();
            let mut input = text.clone();
            input.extend_from_slice(b"\nSENTINEL\n");
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&input[..]);
            let mut last = csv::ByteRecord::new();
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).unwrap() {
                last = record.clone();
            }
            let is_separate = last.len() == 1 && &last[0] == b"SENTINEL";
            proptest::prop_assert_eq!(tracker.unclosed_quote_line().is_some(), !is_separate);
        }
    }

    /// The line of every record after the header.
    fn record_lines(text: &str) -> Vec<u64> {
        let tracker = LineTracker::new(text.as_bytes());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(tracker);
        let mut record = csv::ByteRecord::new();
        let mut lines = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let start = record
                .position()
                .expect("records read from a reader have one")
                .byte();
            lines.push(reader.get_mut().record_line(start));
        }
        assert_eq!(
            lines.first(),
            Some(&1),
            "the header is on line 1 in these tests"
        );
        lines.split_off(1)
    }

    #[test]
    fn plain_lines() {
        assert_eq!(record_lines("h\na\nb\n"), [2, 3]);
        assert_eq!(record_lines("h\na\nb"), [2, 3]);
    }

    #[test]
    fn crlf_lines() {
        assert_eq!(record_lines("h\r\na\r\nb\r\n"), [2, 3]);
        assert_eq!(record_lines("h\r\na\r\nb"), [2, 3]);
    }

    #[test]
    fn blank_lines_are_counted_but_skipped() {
        assert_eq!(record_lines("h\n\na\n\n\nb\n"), [3, 6]);
        assert_eq!(record_lines("h\r\n\r\na\r\n\r\nb"), [3, 5]);
    }

    #[test]
    fn quoted_line_breaks_push_later_rows_down() {
        assert_eq!(record_lines("h,x\n\"two\nlines\",1\nb,2\n"), [2, 4]);
        assert_eq!(record_lines("h,x\r\n\"two\r\nlines\",1\r\nb,2\r\n"), [2, 4]);
        assert_eq!(record_lines("h,x\n\"\n\nx\",1\nb,2\n"), [2, 5]);
    }

    /// Only data rows are ever reported, so the header's own line does not
    /// matter; rows after it must count the blank lines before it.
    #[test]
    fn leading_blank_lines_and_bom_before_the_header() {
        let tracker = LineTracker::new(&b"\xef\xbb\xbf\n\nh\na\n"[..]);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(tracker);
        let mut record = csv::ByteRecord::new();
        let mut lines = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let start = record.position().unwrap().byte();
            lines.push(reader.get_mut().record_line(start));
        }
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1], 4);
    }

    #[test]
    fn long_files_stream_with_small_memory() {
        let mut text = String::from("h\n");
        for row in 0..20_000 {
            text.push_str(&format!("{row}\r\n"));
        }
        let lines = record_lines(&text);
        assert_eq!(lines.len(), 20_000);
        assert_eq!(lines[19_999], 20_001);
    }
}
