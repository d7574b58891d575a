//! Reading one cell: missing-value markers, numbers and factor levels.
//!
//! Every cell of a requested column goes through [`classify`], which works
//! on the raw bytes of the field and allocates nothing. The loader decides
//! what to do with the outcome (store it, drop the row, or report it).

use super::error::CellIssue;
use super::ColumnKind;
use crate::graph::func::is_whole;

/// Cell texts that mean "no value", after trimming surrounding whitespace.
///
/// An empty cell is missing too. The match is exact and case-sensitive, so
/// the level `Na` (sodium, say) of a factor stays a value. Any text that
/// parses as a floating-point NaN in a numeric column (such as `-nan`) also
/// counts as missing, since NaN is how other tools write a missing number.
pub const MISSING_MARKERS: &[&str] =
    &["NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "."];

/// What one cell holds, as far as its column's kind is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    /// A finite number, already checked to be whole for `Int` columns.
    Number(f64),
    /// A valid factor level; its text is the trimmed field.
    Level,
    /// Empty or a missing-value marker.
    Missing,
    /// A value the column cannot hold.
    Invalid(CellIssue),
}

/// Classify the raw bytes of one field for a column of `kind`.
pub(crate) fn classify(raw: &[u8], kind: ColumnKind) -> Cell {
    let bytes = raw.trim_ascii();
    // No marker starts with a digit or sign, so most numbers skip the list.
    let may_be_marker = !matches!(bytes.first(), Some(b'0'..=b'9' | b'-' | b'+'));
    if may_be_marker && is_missing_marker(bytes) {
        return Cell::Missing;
    }

    if kind == ColumnKind::Factor {
        return match std::str::from_utf8(bytes) {
            Ok(_) => Cell::Level,
            Err(_) => Cell::Invalid(CellIssue::NotUtf8),
        };
    }

    let Some(value) = parse_number(bytes) else {
        return Cell::Invalid(CellIssue::NotANumber);
    };
    classify_number(value, kind)
}

/// The largest integer magnitude an `Int` column takes: 2^53 - 1. From 2^53
/// on, doubles skip integers, so the value read need not be the one written
/// (9007199254740993 reads as 2^53, 99999999999999999999 as 1e20).
pub(crate) const MAX_EXACT_INT: f64 = 9_007_199_254_740_991.0;

/// Whether `value` is a whole number an `Int` column takes: at most
/// [`MAX_EXACT_INT`] in magnitude.
#[inline]
pub(crate) fn is_exact_int(value: f64) -> bool {
    is_whole(value) & (value.abs() <= MAX_EXACT_INT)
}

/// Classify a number already read, for a `Real` or `Int` column: NaN is
/// missing, infinities are invalid, and an `Int` column wants whole numbers
/// held exactly (at most [`MAX_EXACT_INT`] in magnitude).
#[inline]
pub(crate) fn classify_number(value: f64, kind: ColumnKind) -> Cell {
    if value.is_nan() {
        return Cell::Missing;
    }
    if value.is_infinite() {
        return Cell::Invalid(CellIssue::NonFinite);
    }
    if kind == ColumnKind::Int && !is_exact_int(value) {
        return Cell::Invalid(CellIssue::NotInteger);
    }
    Cell::Number(value)
}

/// Parse `bytes` exactly as `str::parse::<f64>` would.
///
/// Finite decimal and exponent forms, the bulk of any data file, go
/// through `fast_float2`, which accepts the same texts and rounds the same
/// way (correctly). Anything else it rejects or reads as infinite or NaN
/// (words such as `inf`, overflow, text) goes through the standard parser,
/// so that its exact set of spellings is kept.
#[inline]
fn parse_number(bytes: &[u8]) -> Option<f64> {
    if let Some(value) = parse_plain_decimal(bytes) {
        return Some(value);
    }
    match fast_float2::parse::<f64, _>(bytes) {
        Ok(value) if value.is_finite() => Some(value),
        _ => std::str::from_utf8(bytes).ok()?.parse::<f64>().ok(),
    }
}

/// 10^k for k = 0..=19, each a double exactly (5^19 < 2^53).
const POWERS_OF_TEN: [f64; 20] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19,
];

/// The largest integer below which every integer is a double: 2^53.
const EXACT_INTEGER_LIMIT: u64 = 1 << 53;

/// Read `bytes` as a plain decimal, `[+-]digits[.digits]` with at least
/// one and at most 19 digits, or `None` for any other text (which the
/// general parsers then read).
#[inline]
fn parse_plain_decimal(bytes: &[u8]) -> Option<f64> {
    match read_plain_decimal(bytes) {
        (Some(value), n_read) if n_read == bytes.len() => Some(value),
        _ => None,
    }
}

/// Read the plain decimal at the start of `bytes`: a sign, digits and at
/// most one point, up to the first other byte. The value, or `None` when
/// there are no digits, more than 19, or too many for the fast path below,
/// and the number of bytes read either way.
///
/// The digits, read as an integer w, and the count f of digits after the
/// point give the value w / 10^f. When w <= 2^53 both w and 10^f are
/// doubles exactly, and IEEE division rounds the exact quotient correctly,
/// so the result is the double nearest the text, the one `str::parse`
/// returns (Clinger's fast path). Larger w is left to the general parsers.
#[inline(always)]
pub(crate) fn read_plain_decimal(bytes: &[u8]) -> (Option<f64>, usize) {
    // Signs come in any order in a column: no branch on them.
    let first = bytes.first().copied().unwrap_or(0);
    let is_negative = first == b'-';
    let n_sign = usize::from(is_negative | (first == b'+'));
    let (mut whole, mut n_digits): (u64, usize) = (0, 0);
    let mut end = n_sign;
    let mut n_fraction_digits = 0;
    for is_fraction in [false, true] {
        if is_fraction {
            if bytes.get(end) != Some(&b'.') {
                break;
            }
            end += 1;
        }
        loop {
            let (value, n_read) = leading_digits(bytes, end);
            // Wraps only past 19 digits, which are refused below.
            whole = whole
                .wrapping_mul(SMALL_POWERS_OF_TEN[n_read])
                .wrapping_add(value);
            n_digits += n_read;
            end += n_read;
            if is_fraction {
                n_fraction_digits += n_read;
            }
            if n_read < 8 {
                break;
            }
        }
    }
    if n_digits == 0 || n_digits > 19 || whole > EXACT_INTEGER_LIMIT {
        return (None, end);
    }
    // At most 19 digits follow the point, and POWERS_OF_TEN has 10^19.
    let magnitude = whole as f64 / POWERS_OF_TEN[n_fraction_digits];
    let sign = u64::from(is_negative) << 63;
    (Some(f64::from_bits(magnitude.to_bits() | sign)), end)
}

/// The plain decimal that is exactly `block[pos..end]`, or `None` when
/// that field is anything else: [`read_plain_decimal`] on a field whose end
/// is known (a separator follows it), with the same result.
#[inline(always)]
pub(crate) fn read_field_decimal(block: &[u8], pos: usize, end: usize) -> Option<f64> {
    match read_plain_decimal(&block[pos..]) {
        (Some(value), n_read) if pos + n_read == end => Some(value),
        _ => None,
    }
}

/// [`read_field_decimal`] with SSSE3: the field's up to 16 digits are
/// checked, moved past the point and combined in one register, instead of
/// eight bytes at a time with a count of the digits between the two reads.
/// On the logistic benchmark's file (11 million numbers) the whole load
/// took about a quarter less time. Fields of more than 16 digits, of none,
/// near the block's end or above 2^53 as integers are left to
/// [`read_field_decimal`].
///
/// # Safety
///
/// The processor must support SSSE3.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn read_field_decimal_ssse3(block: &[u8], pos: usize, end: usize) -> Option<f64> {
    use std::arch::x86_64::{
        _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8,
        _mm_cvtsi128_si32, _mm_loadu_si128, _mm_madd_epi16, _mm_maddubs_epi16, _mm_min_epu8,
        _mm_movemask_epi8, _mm_or_si128, _mm_packs_epi32, _mm_set1_epi8, _mm_setr_epi16,
        _mm_setr_epi8, _mm_shuffle_epi8, _mm_srli_si128, _mm_sub_epi8,
    };
    let first = block[pos];
    let is_negative = first == b'-';
    let start = pos + usize::from(is_negative | (first == b'+'));
    // The field's length after its sign: 1 to 16 here.
    let n = end.wrapping_sub(start);
    if n.wrapping_sub(1) >= 16 || start + 16 > block.len() {
        return read_field_decimal(block, pos, end);
    }
    // SAFETY (the whole block): SSSE3 is the caller's promise, and the
    // load reads the 16 bytes at `start`, inside `block` (checked above).
    let (whole, n_fraction_digits) = unsafe {
        let bytes = _mm_loadu_si128(block.as_ptr().add(start).cast());
        let lane = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let in_field = _mm_cmplt_epi8(lane, _mm_set1_epi8(n as i8));
        // Digits are the bytes whose distance from b'0' is at most 9.
        let values = _mm_sub_epi8(bytes, _mm_set1_epi8(b'0' as i8));
        let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(values, _mm_set1_epi8(9)), values);
        let is_point = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'.' as i8));
        let others = _mm_andnot_si128(_mm_or_si128(is_digit, is_point), in_field);
        let points = _mm_movemask_epi8(_mm_and_si128(is_point, in_field)) as u32;
        // Anything but digits and at most one point: not a plain decimal.
        if _mm_movemask_epi8(others) != 0 || points & points.wrapping_sub(1) != 0 {
            return None;
        }
        let n_digits = n as i32 - i32::from(points != 0);
        if n_digits == 0 {
            return None;
        }
        // Where the point is, 16 without one.
        let point = points.trailing_zeros().min(16) as i32;
        let n_fraction_digits = if points != 0 { n_digits - point } else { 0 };
        // Lane j of the result takes digit t = j - (16 - n_digits), the
        // digits right-aligned with zeros before them, from byte t, or
        // t + 1 from the point on. A negative t has its top bit set, which
        // makes the shuffle write a zero.
        let digit = _mm_sub_epi8(lane, _mm_set1_epi8((16 - n_digits) as i8));
        let past_point = _mm_cmpgt_epi8(digit, _mm_set1_epi8((point - 1) as i8));
        let digits = _mm_shuffle_epi8(values, _mm_sub_epi8(digit, past_point));
        // Adjacent digits, pairs and quads combined: a*10 + b, p*100 + q,
        // r*10000 + s. Each step's values fit its lanes (at most 99, 9999,
        // 99999999), so the saturating pack of the quads loses nothing.
        let ten_one = _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1);
        let pairs = _mm_maddubs_epi16(digits, ten_one);
        let quads = _mm_madd_epi16(pairs, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
        let quads = _mm_packs_epi32(quads, quads);
        let eights = _mm_madd_epi16(
            quads,
            _mm_setr_epi16(10_000, 1, 10_000, 1, 10_000, 1, 10_000, 1),
        );
        let high = u64::from(_mm_cvtsi128_si32(eights) as u32);
        let low = u64::from(_mm_cvtsi128_si32(_mm_srli_si128::<4>(eights)) as u32);
        (high * 100_000_000 + low, n_fraction_digits as usize)
    };
    if whole > EXACT_INTEGER_LIMIT {
        return read_field_decimal(block, pos, end);
    }
    // As in read_plain_decimal: w and 10^f are exact, the quotient
    // correctly rounded.
    let magnitude = whole as f64 / POWERS_OF_TEN[n_fraction_digits];
    let sign = u64::from(is_negative) << 63;
    Some(f64::from_bits(magnitude.to_bits() | sign))
}

/// 10^k for k = 0..=8, the scales of [`leading_digits`] runs.
const SMALL_POWERS_OF_TEN: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The ASCII digits of `bytes` from `at` on, at most 8 of them, as an
/// integer, and how many there are; all 8 are looked at together in one
/// word.
#[inline(always)]
fn leading_digits(bytes: &[u8], at: usize) -> (u64, usize) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let word = word_at(bytes, at);
    // A byte is a digit when its high nibble is 3 both as it is and plus 6
    // (0x30-0x39 stay below 0x40). A carry out of a byte >= 0xFA reaches
    // only bytes after a non-digit, which do not count anyway.
    let high_nibbles = 0xF0 * ONES;
    let non_digits = ((word & high_nibbles) ^ (0x30 * ONES))
        | ((word.wrapping_add(0x06 * ONES) & high_nibbles) ^ (0x30 * ONES));
    let n_digits = (non_digits.trailing_zeros() / 8) as usize;
    if n_digits == 0 {
        return (0, 0);
    }
    // The first byte is the most significant digit: shifting the run to
    // the top bytes puts zeros before it. Then adjacent digits, pairs and
    // quads are combined, a*10 + b, p*100 + q, r*10000 + s, each lane
    // holding its partial value in its low half.
    let digits = (word & (0x0F * ONES)) << (8 * (8 - n_digits));
    let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8) & 0x00FF_00FF_00FF_00FF;
    let quads = pairs.wrapping_mul(100).wrapping_add(pairs >> 16) & 0x0000_FFFF_0000_FFFF;
    let value = quads.wrapping_mul(10_000).wrapping_add(quads >> 32) & 0xFFFF_FFFF;
    (value, n_digits)
}

/// The 8 bytes of `bytes` from `at` on as a little-endian word, with
/// zero bytes past the end.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    if let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        return u64::from_le_bytes(*chunk);
    }
    let n_past_end = at + 8 - bytes.len();
    match bytes.last_chunk::<8>() {
        // The last 8 bytes, shifted down past the ones before `at`.
        Some(tail) if n_past_end < 8 => u64::from_le_bytes(*tail) >> (8 * n_past_end),
        Some(_) => 0,
        None => bytes[at.min(bytes.len())..]
            .iter()
            .rev()
            .fold(0, |word, &byte| (word << 8) | u64::from(byte)),
    }
}

/// Parse `text` as a finite number the way numeric cells are parsed.
/// Used to decide whether factor levels sort numerically.
pub(crate) fn parse_finite(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn is_missing_marker(trimmed: &[u8]) -> bool {
    trimmed.is_empty() || MISSING_MARKERS.iter().any(|m| m.as_bytes() == trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::num::f64;
    use proptest::prelude::*;

    fn real(text: &str) -> Cell {
        classify(text.as_bytes(), ColumnKind::Real)
    }

    #[test]
    fn parses_decimal_and_exponent_forms() {
        assert_eq!(real("1.5"), Cell::Number(1.5));
        assert_eq!(real("  -2 "), Cell::Number(-2.0));
        assert_eq!(real("+3"), Cell::Number(3.0));
        assert_eq!(real(".591E0"), Cell::Number(0.591));
        assert_eq!(real("760."), Cell::Number(760.0));
        assert_eq!(real("1e-3"), Cell::Number(0.001));
        assert_eq!(real("\t10.07E0\t"), Cell::Number(10.07));
    }

    #[test]
    fn recognises_missing_markers() {
        for text in [
            "", "   ", "NA", " NA ", "N/A", "n/a", "NaN", "nan", "NAN", ".", "null", "NULL",
        ] {
            assert_eq!(real(text), Cell::Missing, "{text:?}");
            assert_eq!(
                classify(text.as_bytes(), ColumnKind::Factor),
                Cell::Missing,
                "{text:?}"
            );
        }
        assert_eq!(real("-nan"), Cell::Missing);
    }

    #[test]
    fn marker_match_is_case_sensitive_for_factors() {
        assert_eq!(classify(b"Na", ColumnKind::Factor), Cell::Level);
        assert_eq!(classify(b"none", ColumnKind::Factor), Cell::Level);
    }

    #[test]
    fn rejects_infinities_and_overflow() {
        for text in ["inf", "-inf", "Infinity", "1e999", "-1e400"] {
            assert_eq!(real(text), Cell::Invalid(CellIssue::NonFinite), "{text:?}");
        }
    }

    #[test]
    fn rejects_text_and_decimal_commas() {
        for text in ["abc", "1,5", "?", "1 000", "0x10", "1.2.3", "--1", "1e"] {
            assert_eq!(real(text), Cell::Invalid(CellIssue::NotANumber), "{text:?}");
        }
        assert_eq!(real("\u{fffd}"), Cell::Invalid(CellIssue::NotANumber));
        assert_eq!(
            classify(b"\xff1", ColumnKind::Real),
            Cell::Invalid(CellIssue::NotANumber)
        );
    }

    #[test]
    fn int_columns_accept_whole_numbers_in_any_form() {
        let int = |t: &str| classify(t.as_bytes(), ColumnKind::Int);
        assert_eq!(int("3"), Cell::Number(3.0));
        assert_eq!(int("-0"), Cell::Number(-0.0));
        assert_eq!(int("2.0"), Cell::Number(2.0));
        assert_eq!(int("1e3"), Cell::Number(1000.0));
        assert_eq!(int("2.5"), Cell::Invalid(CellIssue::NotInteger));
        assert_eq!(int("1e-3"), Cell::Invalid(CellIssue::NotInteger));
        assert_eq!(int("9007199254740991"), Cell::Number(MAX_EXACT_INT));
        assert_eq!(int("-9007199254740991"), Cell::Number(-MAX_EXACT_INT));
        assert_eq!(
            int("9007199254740993"),
            Cell::Invalid(CellIssue::NotInteger)
        );
        assert_eq!(
            int("99999999999999999999"),
            Cell::Invalid(CellIssue::NotInteger)
        );
        assert_eq!(int("abc"), Cell::Invalid(CellIssue::NotANumber));
        assert_eq!(int("NA"), Cell::Missing);
    }

    #[test]
    fn factor_cells_must_be_utf8() {
        assert_eq!(
            classify(" a b ".as_bytes(), ColumnKind::Factor),
            Cell::Level
        );
        assert_eq!(
            classify(b"caf\xe9", ColumnKind::Factor),
            Cell::Invalid(CellIssue::NotUtf8)
        );
    }

    #[test]
    fn fast_parser_agrees_with_the_standard_one() {
        let texts = [
            "0",
            "-0",
            "+0",
            "1",
            "01",
            "1.",
            ".1",
            "-.1",
            "+.5",
            "1e5",
            "1E5",
            "1e+5",
            "1e-5",
            "1.5e-310",
            "4.9e-324",
            "2e-324",
            "1e308",
            "1.7976931348623157e308",
            "1e309",
            "123456789012345678901234567890",
            "0.1000000000000000055511151231257827",
            "9007199254740993",
            ".",
            "-",
            "+",
            "e",
            "e5",
            "1e",
            "1e+",
            "1e-",
            ".e1",
            "1..2",
            "1.2.3",
            "--1",
            "+-1",
            "1-",
            "1e5e5",
            "1e5.5",
            "-.",
            "+.",
            "1.5E",
            "00.000e-0",
        ];
        for text in texts {
            assert_eq!(
                parse_number(text.as_bytes()).map(f64::to_bits),
                text.parse::<f64>().ok().map(f64::to_bits),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn whole_check_agrees_with_fract(value in f64::NORMAL | f64::SUBNORMAL | f64::ZERO) {
            prop_assert_eq!(is_whole(value), value.fract() == 0.0);
        }

        #[test]
        fn fast_parser_agrees_on_plain_texts(text in "[-+.eE0-9]{1,24}|[-+.eEinfatyINFATY0-9x_ ]{1,12}") {
            prop_assert_eq!(
                parse_number(text.as_bytes()).map(f64::to_bits),
                text.parse::<f64>().ok().map(f64::to_bits)
            );
        }

        #[test]
        fn plain_decimals_read_as_the_standard_parser_reads_them(
            text in "[-+]?[0-9]{0,10}[.]?[0-9]{0,10}",
        ) {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let is_exact = digits.parse::<u64>().is_ok_and(|w| w <= 1 << 53);
            let plain = parse_plain_decimal(text.as_bytes());
            prop_assert_eq!(plain.is_some(), is_exact);
            if let Some(value) = plain {
                prop_assert_eq!(value.to_bits(), text.parse::<f64>().unwrap().to_bits());
            }
        }

        #[test]
        fn leading_digits_counts_and_reads_the_first_run(bytes in proptest::collection::vec(
            prop_oneof![b'0'..=b'9', any::<u8>()], 0..12,
        )) {
            let n_expected = bytes.iter().take(8).take_while(|b| b.is_ascii_digit()).count();
            let expected = bytes[..n_expected]
                .iter()
                .fold(0, |value, byte| value * 10 + u64::from(byte - b'0'));
            prop_assert_eq!(leading_digits(&bytes, 0), (expected, n_expected));
            for at in 0..=bytes.len() {
                let mut padded = bytes[at..].to_vec();
                padded.resize(8, 0);
                let expected = u64::from_le_bytes(padded[..8].try_into().unwrap());
                prop_assert_eq!(word_at(&bytes, at), expected);
            }
        }

        /// The SSSE3 reader of a field gives what the portable one gives,
        /// bit for bit, on fields of every length around its 16-digit
        /// limit, with signs, points, other bytes, values past 2^53, and
        /// the field at any distance from the block's end.
        #[cfg(target_arch = "x86_64")]
        #[test]
        fn fields_read_with_ssse3_as_without(
            field in "[-+]?[0-9]{0,18}[.]?[0-9]{0,18}|[-+.0-9eE x]{0,20}",
            n_after in 0usize..20,
        ) {
            if !std::arch::is_x86_feature_detected!("ssse3") {
                return Ok(());
            }
            let mut block = field.clone().into_bytes();
            block.push(b',');
            block.extend(std::iter::repeat_n(b'7', n_after));
            let end = field.len();
            if end == 0 {
                return Ok(());
            }
            let expected = read_field_decimal(&block, 0, end).map(f64::to_bits);
            // SAFETY: SSSE3 was detected above.
            let got = unsafe { read_field_decimal_ssse3(&block, 0, end) }.map(f64::to_bits);
            prop_assert_eq!(got, expected);
            if let Some(bits) = got {
                prop_assert_eq!(bits, field.parse::<f64>().unwrap().to_bits());
            }
        }

        #[test]
        fn long_plain_decimals_are_left_to_the_general_parser(
            text in "[-+]?[0-9]{15,22}[.]?[0-9]{0,6}",
        ) {
            if let Some(value) = parse_plain_decimal(text.as_bytes()) {
                prop_assert_eq!(value.to_bits(), text.parse::<f64>().unwrap().to_bits());
            }
        }

        #[test]
        fn finite_numbers_round_trip(value in f64::NORMAL | f64::SUBNORMAL | f64::ZERO) {
            prop_assert_eq!(real(&format!(" {value} ")), Cell::Number(value));
            prop_assert_eq!(real(&format!("{value:e}")), Cell::Number(value));
        }

        #[test]
        fn integers_round_trip_in_int_columns(value in -(1i64 << 53)..(1i64 << 53)) {
            let cell = classify(value.to_string().as_bytes(), ColumnKind::Int);
            prop_assert_eq!(cell, Cell::Number(value as f64));
        }
    }
}
