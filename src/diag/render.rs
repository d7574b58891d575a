//! Rendering a [`Diagnostic`] as text for a terminal or a log.
//!
//! A diagnostic with a primary label is drawn by `ariadne`: a header line
//! `error[E101]: message`, the location `file:line:column` (1-based, columns
//! counted in characters), the source lines with the labels under them, and
//! the notes and help at the bottom. A diagnostic without any label (a CSV
//! data error, say) is rendered as plain lines:
//!
//! ```text
//! error[E301]: message
//!   = note: a note
//!   = help: a proposed fix
//! ```
//!
//! Without colour the output holds no ANSI escape codes and no trailing
//! spaces, so it is stable enough for snapshot tests.

use std::ops::Range;

use ariadne::{CharSet, Color, Config, IndexType, Label, LabelAttach, Report, ReportKind, Source};

use super::{Diagnostic, Severity, Span};

/// Renders `diag` about the text `source`, which is shown as `source_name`.
/// With `color`, severity, labels and margins are coloured with ANSI codes.
pub fn render(diag: &Diagnostic, source_name: &str, source: &str, color: bool) -> String {
    // Control characters from a file would reach the terminal as they are
    // (an escape sequence in a model file could retitle the window or
    // worse): each is shown as a visible character of the same length in
    // bytes, so the labels' byte spans still point where they did.
    let source = &visible(source);
    let mut shown = diag.clone();
    shown.message = visible(&shown.message);
    for label in shown.primary.iter_mut().chain(shown.secondary.iter_mut()) {
        label.message = visible(&label.message);
    }
    for note in shown.notes.iter_mut().chain(shown.help.iter_mut()) {
        *note = visible(note);
    }
    let diag = &shown;
    let header = header(diag, color);
    let Some(main) = diag.primary.as_ref().or(diag.secondary.first()) else {
        return render_plain(diag, &header, color);
    };

    let (kind, main_color) = match diag.severity {
        Severity::Error => (ReportKind::Error, Color::Red),
        Severity::Warning => (ReportKind::Warning, Color::Yellow),
        Severity::Note => (ReportKind::Advice, Color::Cyan),
        Severity::Bug => (ReportKind::Error, Color::Magenta),
    };
    let config = Config::default()
        .with_color(color)
        .with_index_type(IndexType::Byte)
        .with_char_set(CharSet::Unicode)
        .with_label_attach(LabelAttach::Start)
        .with_tab_width(4);

    // The primary label first, then the secondary ones.
    let labels: Vec<(Span, &str, bool)> = diag
        .primary
        .iter()
        .map(|p| (p.span, p.message.as_str(), true))
        .chain(
            diag.secondary
                .iter()
                .map(|s| (s.span, s.message.as_str(), false)),
        )
        .collect();
    // A label at the very end of the text needs a character to sit on.
    let mut text = source.to_string();
    if labels.iter().any(|(span, _, _)| span.start >= source.len()) {
        text.push(' ');
    }
    let mut marks: Vec<Mark> = labels
        .into_iter()
        .map(|(span, message, primary)| Mark {
            range: widen(&text, clamp(&text, span)),
            message,
            primary,
        })
        .collect();
    // Labels go line by line, so they stay in one block of source lines, and
    // right to left within a line, so their arrows do not cross.
    marks.sort_by_key(|m| {
        let line = text[..m.range.start].matches('\n').count();
        (line, std::cmp::Reverse(m.range.start), !m.primary)
    });

    let name = source_name.to_string();
    let location = clamp(&text, main.span);
    let mut report = Report::build(kind, (name.clone(), location)).with_config(config);
    for (order, mark) in marks.into_iter().enumerate() {
        let mut label = Label::new((name.clone(), mark.range))
            .with_message(mark.message)
            .with_order(order as i32);
        if color {
            label = label.with_color(if mark.primary {
                main_color
            } else {
                Color::Blue
            });
        }
        report = report.with_label(label);
    }
    for note in &diag.notes {
        report = report.with_note(note);
    }
    if let Some(help) = &diag.help {
        report = report.with_help(help);
    }

    let mut out = Vec::new();
    let written = report
        .finish()
        .write((name.clone(), Source::from(text.as_str())), &mut out);
    if written.is_err() {
        // Writing to a Vec cannot fail; fall back to plain lines all the same.
        return render_plain(diag, &header, color);
    }
    let drawn = String::from_utf8_lossy(&out);
    // Replace ariadne's own header line with ours.
    let body = drawn.split_once('\n').map_or("", |(_, rest)| rest);
    let mut result = header;
    result.push('\n');
    for line in body.lines() {
        result.push_str(line.trim_end());
        result.push('\n');
    }
    result
}

/// Whether a terminal would act on `c`, or show nothing, rather than show
/// it: ASCII and C1 controls (tab and line ends included), and the format
/// characters that reorder or hide text (bidirectional overrides,
/// zero-width marks, line and paragraph separators).
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with each character a terminal would act on rather than show
/// replaced by a visible one of the same UTF-8 length: ASCII controls
/// (but tab, line feed and the carriage return of a CRLF) by `?`, C1
/// controls by `¿`, and the invisible format characters that reorder or
/// hide text (bidirectional overrides, zero-width marks, line and
/// paragraph separators) by U+FFFD.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let shown = match c {
            '\t' | '\n' => c,
            '\r' if chars.peek() == Some(&'\n') => c,
            _ if !is_hidden(c) => c,
            '\u{0}'..='\u{7f}' => '?',
            '\u{80}'..='\u{9f}' => '\u{bf}',
            _ => '\u{fffd}',
        };
        debug_assert_eq!(shown.len_utf8(), c.len_utf8());
        out.push(shown);
    }
    out
}

/// A label ready for ariadne: the byte range of the text to draw it under.
struct Mark<'a> {
    range: Range<usize>,
    message: &'a str,
    primary: bool,
}

/// The first line: `error[E101]: message`.
fn header(diag: &Diagnostic, color: bool) -> String {
    let (word, ansi) = match diag.severity {
        Severity::Error => ("error", "\x1b[1;31m"),
        Severity::Warning => ("warning", "\x1b[1;33m"),
        Severity::Note => ("note", "\x1b[1;36m"),
        Severity::Bug => ("bug", "\x1b[1;35m"),
    };
    if color {
        format!(
            "{ansi}{word}[{}]\x1b[0m\x1b[1m: {}\x1b[0m",
            diag.code, diag.message
        )
    } else {
        format!("{word}[{}]: {}", diag.code, diag.message)
    }
}

/// A diagnostic without labels: the header, then notes and help.
fn render_plain(diag: &Diagnostic, header: &str, color: bool) -> String {
    let mut out = format!("{header}\n");
    let (bold, reset) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    for note in &diag.notes {
        out.push_str(&format!("  = {bold}note{reset}: {note}\n"));
    }
    if let Some(help) = &diag.help {
        out.push_str(&format!("  = {bold}help{reset}: {help}\n"));
    }
    out
}

/// Gives an empty span (the place right after a token) the width of one
/// character, so that it is drawn like any other label.
fn widen(text: &str, range: Range<usize>) -> Range<usize> {
    if range.is_empty() {
        let width = text[range.start..].chars().next().map_or(0, char::len_utf8);
        range.start..range.start + width
    } else {
        range
    }
}

/// Keeps a span inside the text and on character boundaries.
fn clamp(text: &str, span: Span) -> Range<usize> {
    let fix = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = fix(span.start);
    let end = fix(span.end.max(span.start));
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(src: &str, needle: &str) -> Span {
        let start = src.find(needle).expect("needle in source");
        Span::new(start, start + needle.len())
    }

    #[test]
    fn plain_diagnostic_without_labels() {
        let d = Diagnostic::error("E301", "column `age` holds a value that is not a number")
            .with_note("Row 17 has `n/a` in column `age`.")
            .with_note("Empty cells and `NA` are read as missing values.")
            .with_help("Replace `n/a` with `NA`, or remove row 17.");
        let out = render(&d, "data.csv", "", false);
        insta::assert_snapshot!(out);
        assert!(out.starts_with("error[E301]: column `age`"));
    }

    #[test]
    fn severities_and_codes_in_the_header() {
        let src = "param s > 0\n";
        let at = span(src, "s");
        for (d, first) in [
            (Diagnostic::error("E201", "m"), "error[E201]: m"),
            (Diagnostic::warning("W101", "m"), "warning[W101]: m"),
            (Diagnostic::bug("m"), "bug[B000]: m"),
            (
                Diagnostic {
                    severity: Severity::Note,
                    ..Diagnostic::error("N001", "m")
                },
                "note[N001]: m",
            ),
        ] {
            let plain = render(&d, "m.nll", src, false);
            assert_eq!(plain.lines().next(), Some(first));
            let labelled = render(&d.with_primary(at, "here"), "m.nll", src, false);
            assert_eq!(labelled.lines().next(), Some(first));
            assert!(labelled.contains("m.nll:1:7"), "{labelled}");
        }
    }

    #[test]
    fn primary_and_secondary_labels_on_several_lines() {
        let src = "param s > 0\nconst k = 2\ny ~ Normal(mu, s)\n";
        let d = Diagnostic::warning("W201", "parameter `s` is also a distribution argument")
            .with_primary(span(src, "mu"), "unknown name")
            .with_secondary(span(src, "s >"), "declared here")
            .with_note("A note.")
            .with_help("A help.");
        insta::assert_snapshot!(render(&d, "model.nll", src, false));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let src = "# μ and σ\nmu = \"μ\" + 1\n";
        let at = span(src, "\"");
        let d = Diagnostic::error("E101", "unexpected character `\"`")
            .with_primary(Span::new(at.start, at.start + 1), "here");
        let out = render(&d, "m.nll", src, false);
        assert!(out.contains("m.nll:2:6"), "{out}");
        let src = "μμ x";
        let d = Diagnostic::error("E101", "m").with_primary(span(src, "x"), "here");
        assert!(render(&d, "m.nll", src, false).contains("m.nll:1:4"));
    }

    #[test]
    fn labels_at_the_end_of_the_text() {
        for src in ["y ~", "y ~\n", ""] {
            let d = Diagnostic::error("E101", "expected a distribution")
                .with_primary(Span::new(src.len(), src.len()), "found end of file");
            let out = render(&d, "m.nll", src, false);
            assert!(out.contains("found end of file"), "{src:?}: {out}");
            assert!(!out.contains("?:?"), "{src:?}: {out}");
        }
        let d = Diagnostic::error("E101", "m").with_primary(Span::new(3, 3), "end");
        insta::assert_snapshot!(render(&d, "m.nll", "y ~", false));
        // Spans past the end, or inside a character, are pulled back.
        let d = Diagnostic::error("E101", "m").with_primary(Span::new(1, 99), "here");
        assert!(render(&d, "m.nll", "μ", false).contains("m.nll:1:1"));
    }

    #[test]
    fn colour_only_when_asked() {
        let src = "y ~ Normal(a $ b)\n";
        let d = Diagnostic::error("E101", "unexpected character `$`")
            .with_primary(span(src, "$"), "here")
            .with_help("Remove it.");
        let plain = render(&d, "m.nll", src, false);
        assert!(!plain.contains('\x1b'));
        assert!(plain.lines().all(|l| l == l.trim_end()));
        let coloured = render(&d, "m.nll", src, true);
        assert!(coloured.contains('\x1b'));
        assert_eq!(render(&d, "m.nll", src, false), plain);
        let plain = render(
            &Diagnostic::error("E301", "m").with_note("n"),
            "d.csv",
            "",
            false,
        );
        assert!(!plain.contains('\x1b'));
        assert!(render(
            &Diagnostic::error("E301", "m").with_note("n"),
            "d.csv",
            "",
            true
        )
        .contains('\x1b'));
    }

    #[test]
    fn tabs_in_the_source() {
        let src = "\ty ~ Normal(a $ b)\n";
        let d = Diagnostic::error("E101", "unexpected character `$`")
            .with_primary(span(src, "$"), "here");
        let out = render(&d, "m.nll", src, false);
        assert!(out.contains("m.nll:1:15"), "{out}");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn control_characters_reach_the_terminal_as_visible_ones() {
        let src = "param a\u{1b}]0;title\u{7}, s\u{9b}2J\u{202e}x > 0\r\ny\r";
        let d =
            Diagnostic::error("E101", "found `\u{1b}[2J`").with_primary(Span::new(7, 8), "here");
        let out = render(&d, "m.nll", src, false);
        for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
            assert!(!out.contains(c), "{c:?} in {out:?}");
        }
        assert!(out.contains("a?]0;title?, s\u{bf}2J\u{fffd}x > 0"), "{out}");
        assert!(out.contains("found `?[2J`"), "{out}");
        // Every character keeps its length in bytes, so spans stay put.
        assert_eq!(visible(src).len(), src.len());
        assert!(visible(src).ends_with("> 0\r\ny?"));
    }
}
