//! Completion candidates and syntax colours, computed from the lexer's
//! tokens. Pure functions of the text, so tests call them directly; the
//! terminal front-end (`terminal.rs`) only hands them to rustyline.

use crate::dist;
use crate::graph::Func;
use crate::model::SPECIAL_FUNCTIONS;
use crate::syntax::parse::RESERVED_WORDS;

use super::commands::COMMANDS;
use super::lexer::{self, Token};

/// The completions of the word before byte `pos` of `line`: where the word
/// starts, and every candidate that extends it, sorted and without
/// duplicates. `names` are the names declared so far and the data columns.
///
/// After a `:` at the start of a line the candidates are commands; elsewhere
/// they are reserved words, distributions, builtin functions, `pi` and
/// `names`.
///
/// # Example: a partial distribution name
///
/// ```
/// use nll::repl::complete::candidates;
/// let (start, found) = candidates("y ~ Norm", 8, &[]);
/// assert_eq!((start, found), (4, vec!["Normal".to_string()]));
/// ```
pub fn candidates(line: &str, pos: usize, names: &[String]) -> (usize, Vec<String>) {
    let (start, word) = lexer::word_at(line, pos);
    if word.starts_with(':') {
        let mut out: Vec<String> = COMMANDS
            .iter()
            .map(|c| c.name.to_string())
            .filter(|c| c.starts_with(word))
            .collect();
        out.sort();
        return (start, out);
    }
    if word.is_empty() {
        return (start, Vec::new());
    }
    let builtins = RESERVED_WORDS
        .iter()
        .copied()
        .chain(dist::names())
        .chain(Func::BUILTINS.iter().map(|(n, _)| *n))
        .chain(SPECIAL_FUNCTIONS.iter().map(|(n, _)| *n))
        .chain(["pi"]);
    let mut out: Vec<String> = builtins
        .map(str::to_string)
        .chain(names.iter().cloned())
        .filter(|c| c.starts_with(word) && c != word)
        .collect();
    out.sort();
    out.dedup();
    (start, out)
}

/// How a stretch of input is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Keyword,
    Distribution,
    Function,
    Number,
    Command,
    Comment,
    Operator,
    /// Text that is no token of the language.
    Error,
    Plain,
}

impl Style {
    /// The ANSI select-graphic-rendition code of the style.
    pub fn ansi(self) -> Option<&'static str> {
        match self {
            Style::Keyword => Some("1;35"),
            Style::Distribution => Some("1;32"),
            Style::Function => Some("36"),
            Style::Number => Some("33"),
            Style::Command => Some("1;34"),
            Style::Comment => Some("2"),
            Style::Operator => Some("1"),
            Style::Error => Some("4;31"),
            Style::Plain => None,
        }
    }
}

/// Styled byte ranges of `line`, in order; text between them is plain.
pub fn styles(line: &str) -> Vec<(Style, std::ops::Range<usize>)> {
    lexer::tokens(line)
        .into_iter()
        .map(|(tok, range)| {
            let style = match tok {
                Token::Keyword => Style::Keyword,
                Token::Number => Style::Number,
                Token::Command => Style::Command,
                Token::Comment => Style::Comment,
                Token::Operator | Token::Tilde => Style::Operator,
                Token::Unknown => Style::Error,
                Token::Name => {
                    let word = &line[range.clone()];
                    if dist::lookup(word).is_some() || dist::mixture::lookup(word).is_some() {
                        Style::Distribution
                    } else if Func::from_name(word).is_some()
                        || SPECIAL_FUNCTIONS.iter().any(|(n, _)| *n == word)
                    {
                        Style::Function
                    } else {
                        Style::Plain
                    }
                }
                _ => Style::Plain,
            };
            (style, range)
        })
        .filter(|(s, _)| *s != Style::Plain)
        .collect()
}

/// `line` with ANSI colours. The text shown has the same width as `line`.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut at = 0;
    for (style, range) in styles(line) {
        let Some(code) = style.ansi() else { continue };
        out.push_str(&line[at..range.start]);
        out.push_str(&format!("\x1b[{code}m{}\x1b[0m", &line[range.clone()]));
        at = range.end;
    }
    out.push_str(&line[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_complete_after_a_colon() {
        assert_eq!(
            candidates(":s", 2, &[]),
            (0, vec![":save".to_string(), ":set".to_string()])
        );
    }

    #[test]
    fn declared_names_complete() {
        let names = vec!["income".to_string(), "intercept".to_string()];
        let (start, found) = candidates("mu = b0 + inc", 13, &names);
        assert_eq!(start, 10);
        assert_eq!(found, vec!["income".to_string()]);
        let (_, found) = candidates("mu = in", 7, &names);
        assert_eq!(found, vec!["income", "int", "intercept"]);
    }

    #[test]
    fn highlighting_keeps_the_text() {
        let line = "param s > 0  # a scale";
        let shown = highlight(line);
        let plain: String = strip_ansi(&shown);
        assert_eq!(plain, line);
        assert!(shown.contains("\x1b[1;35mparam\x1b[0m"));
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in s.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }
}
