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
}

impl<R> LineTracker<R> {
    pub(crate) fn new(inner: R) -> LineTracker<R> {
        LineTracker {
            inner,
            n_bytes_read: 0,
            breaks: VecDeque::new(),
            n_newlines_passed: 0,
        }
    }

    /// A tracker for input that starts after `n_newlines_passed` line
    /// breaks of the file.
    pub(crate) fn with_newlines_passed(inner: R, n_newlines_passed: u64) -> LineTracker<R> {
        LineTracker {
            n_newlines_passed,
            ..LineTracker::new(inner)
        }
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
        }
        self.n_bytes_read += n_read as u64;
        Ok(n_read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
