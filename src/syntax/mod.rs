//! The surface syntax of `.nll` model files: text to tree and back.
//!
//! - [`parse_program`], [`parse_statement`] and [`parse_expr`] turn source
//!   text into the [`ast`], or into [`Diagnostic`]s
//!   that say in words what was expected (codes `E101`–`E103`).
//! - [`continues_on_next_line`] tells an interactive prompt whether to read
//!   another line before parsing.
//! - [`print_program`] and [`print_expr`] turn a tree back into canonical
//!   source text, with as few parentheses as the precedence rules allow.
//!
//! The grammar itself lives in `grammar/nll.pest`; `docs/language.md`
//! describes the language for users.

pub mod ast;
pub mod parse;
pub mod print;

pub use parse::{continues_on_next_line, parse_expr, parse_program, parse_statement};
pub use print::{print_expr, print_program, print_stmt};

use crate::diag::Diagnostic;

/// Line ends written as a carriage return alone (old Mac files) as line
/// feeds; CRLF stays as it is. One byte for one, so positions are kept.
fn lone_returns_as_line_feeds(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let bytes = text.as_bytes();
    let out: Vec<u8> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| match (b, bytes.get(i + 1)) {
            (b'\r', Some(b'\n')) => b'\r',
            (b'\r', _) => b'\n',
            _ => *b,
        })
        .collect();
    String::from_utf8(out).unwrap_or(text)
}

/// Reads a model file as text. A byte-order mark some editors write is not
/// part of the model and is dropped.
///
/// # Errors
///
/// `E001` when the file cannot be read; the message names it as `shown`.
pub fn read_model_file(path: &std::path::Path, shown: &str) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::error("E001", format!("cannot read model file `{shown}`: {e}")))?;
    match String::from_utf8(bytes) {
        Ok(s) => {
            let s = s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s);
            Ok(lone_returns_as_line_feeds(s))
        }
        Err(e) => {
            // Where the text stops being UTF-8, as a line and column.
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + good.iter().filter(|b| **b == b'\n').count();
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            let column = 1 + String::from_utf8_lossy(&good[line_start..]).chars().count();
            Err(Diagnostic::error(
                "E001",
                format!("cannot read model file `{shown}`: it is not UTF-8 text (at line {line}, column {column})"),
            )
            .with_help("Save the model file as UTF-8."))
        }
    }
}
