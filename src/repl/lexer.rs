//! A token-level view of REPL input, for everything that must work on text
//! that does not parse yet: syntax highlighting, completion of the word under
//! the cursor, and deciding whether a statement goes on over the next line.
//!
//! The lexer never fails: text that is no token of the language comes out as
//! [`Token::Unknown`], so a half-typed line still highlights. Complete
//! statements are parsed by the pest grammar in `src/syntax`, not here; the
//! two agree on where a statement ends (a unit test compares
//! [`is_unfinished`] with [`crate::syntax::continues_on_next_line`]).

use std::ops::Range;

use logos::Logos;

/// One token of model text or of a `:command` line.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
#[logos(skip r"[ \t\r\n]+")]
pub enum Token {
    /// A reserved word: `data`, `param`, `const`, `in`, `int`, `real`,
    /// `factor`.
    #[regex("data|param|const|in|int|real|factor", priority = 5)]
    Keyword,
    /// A name: `beta_1`, `Normal`, `exp`.
    #[regex("[A-Za-z_][A-Za-z0-9_]*", priority = 4)]
    Name,
    /// A number: `2`, `0.5`, `.5`, `760.`, `1e-3`.
    #[regex(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")]
    #[regex(r"\.[0-9]+([eE][+-]?[0-9]+)?")]
    Number,
    /// A REPL command word at the start of a line: `:fit`.
    #[regex(":[A-Za-z]+")]
    Command,
    /// A comment, `#` to the end of the line.
    #[regex("#[^\n]*", allow_greedy = true)]
    Comment,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token("~")]
    Tilde,
    #[token("=")]
    Eq,
    #[token(":")]
    Colon,
    #[token("<")]
    Less,
    #[token(">")]
    Greater,
    /// A binary operator `+ - * / ^` (`-` is also unary minus).
    #[regex(r"[-+*/^]")]
    Operator,
    /// Anything else; never produced by the logos machine itself.
    Unknown,
}

/// Every token of `text` with its byte range, comments included. Text that
/// is no token becomes [`Token::Unknown`].
pub fn tokens(text: &str) -> Vec<(Token, Range<usize>)> {
    let mut lexer = Token::lexer(text);
    let mut out = Vec::new();
    while let Some(result) = lexer.next() {
        out.push((result.unwrap_or(Token::Unknown), lexer.span()));
    }
    out
}

/// Whether `text` goes on over the next line by the rules of a model file: a
/// `(` or `[` is still open, or the last token before any comment is a binary
/// operator or a comma. A `:command` line never goes on, and it ends a
/// statement left unfinished before it (a command cannot be part of a
/// statement, and a stray `(` must not swallow the rest of a script).
///
/// # Example: an open call and a trailing operator
///
/// ```
/// use nll::repl::lexer::is_unfinished;
/// assert!(is_unfinished("y ~ Normal(mu,"));
/// assert!(is_unfinished("mu = a +  # more below"));
/// assert!(!is_unfinished("mu = a + b"));
/// ```
pub fn is_unfinished(text: &str) -> bool {
    let last_line = text.lines().rev().find(|l| !is_blank(l)).unwrap_or("");
    if is_command(last_line) {
        return false;
    }
    let toks = tokens(text);
    let mut depth = 0usize;
    let mut last = None;
    for (tok, _) in &toks {
        match tok {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
        if *tok != Token::Comment {
            last = Some(*tok);
        }
    }
    depth > 0 || matches!(last, Some(Token::Operator | Token::Comma))
}

/// Cuts `text` into logical statements, each going on over as many lines as
/// [`is_unfinished`] says. Lines holding only whitespace or a comment between
/// statements are dropped. Returns each statement with the 0-based index of
/// its first line; an unfinished statement at the end is returned as is.
pub fn split_statements(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (line_idx, line) in text.lines().enumerate() {
        if is_command(line) {
            out.extend(current.take());
        }
        match current.as_mut() {
            Some((_, buf)) => {
                buf.push('\n');
                buf.push_str(line);
            }
            None if is_blank(line) => continue,
            None => current = Some((line_idx, line.to_string())),
        }
        let done = current.as_ref().is_some_and(|(_, buf)| !is_unfinished(buf));
        if done {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// Whether a line is a `:command`.
pub fn is_command(line: &str) -> bool {
    matches!(tokens(line).first(), Some((Token::Command, _)))
}

/// Whether a line holds nothing but whitespace and a comment.
pub fn is_blank(text: &str) -> bool {
    tokens(text).iter().all(|(t, _)| *t == Token::Comment)
}

/// The name being typed at byte `pos`: its start and the part before `pos`.
/// A `:command` word counts as one name, colon included.
pub fn word_at(line: &str, pos: usize) -> (usize, &str) {
    let before = &line[..pos];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .last()
        .map_or(pos, |(i, _)| i);
    let start =
        if start > 0 && before[..start].ends_with(':') && before[..start - 1].trim().is_empty() {
            start - 1
        } else {
            start
        };
    (start, &line[start..pos])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        tokens(text).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn keywords_are_whole_words() {
        use Token::*;
        assert_eq!(kinds("data x, data_1"), vec![Keyword, Name, Comma, Name]);
        assert_eq!(
            kinds("param inner in (0, 1)")[..3],
            [Keyword, Name, Keyword]
        );
    }

    #[test]
    fn numbers_and_operators() {
        use Token::*;
        assert_eq!(
            kinds("2.5e-3 * .5 ^ -x"),
            vec![Number, Operator, Number, Operator, Operator, Name]
        );
    }

    #[test]
    fn unknown_text_does_not_stop_the_lexer() {
        use Token::*;
        assert_eq!(kinds("a $ b"), vec![Name, Unknown, Name]);
    }

    #[test]
    fn commands_never_continue() {
        assert!(!is_unfinished(":set a = (1"));
        assert!(!is_unfinished("y ~ Normal(\n:fit"));
        assert_eq!(
            split_statements("y ~ Normal(\n\n:fit\nx"),
            vec![
                (0, "y ~ Normal(\n".to_string()),
                (2, ":fit".to_string()),
                (3, "x".to_string())
            ]
        );
        assert_eq!(kinds(":fit")[0], Token::Command);
    }

    #[test]
    fn unfinished_agrees_with_the_file_rules() {
        let cases = [
            "y ~ Normal(mu,",
            "y ~ Normal(mu, s)",
            "mu = a +",
            "mu = a + # comment",
            "mu = a\n- b",
            "param a,\n  s > 0",
            "data X = [\n age,",
            "data X = [\n age,\n bmi\n]",
            "x)",
            "# only a comment",
            "",
            "mu = (a\n  - b",
            "f(x) = x ^",
            "y ~ Normal(mu, s)) +",
        ];
        for case in cases {
            assert_eq!(
                is_unfinished(case),
                crate::syntax::continues_on_next_line(case),
                "{case:?}"
            );
        }
    }

    #[test]
    fn statements_are_split_by_continuation() {
        let text = "data x, y\n\n# a comment\ny ~ Normal(a +\n  b * x,\n  s)\nparam a";
        assert_eq!(
            split_statements(text),
            vec![
                (0, "data x, y".to_string()),
                (3, "y ~ Normal(a +\n  b * x,\n  s)".to_string()),
                (6, "param a".to_string()),
            ]
        );
    }

    #[test]
    fn word_at_the_cursor() {
        assert_eq!(word_at("y ~ Norm", 8), (4, "Norm"));
        assert_eq!(word_at(":pa", 3), (0, ":pa"));
        assert_eq!(word_at("a + ", 4), (4, ""));
        assert_eq!(word_at("mu(inc", 6), (3, "inc"));
    }
}
