//! From source text to the [`ast`](super::ast).
//!
//! Parsing a file goes in two steps:
//!
//! 1. The file is cut into *logical statements* by `next_chunk`: a
//!    statement starts at the first line that holds more than whitespace and
//!    comments, and goes on over the next line while a `(` or `[` is open or
//!    while its line ends with a binary operator (`+ - * / ^`) or a comma.
//! 2. Each logical statement is matched against the pest grammar in
//!    `grammar/nll.pest` and the match is turned into AST nodes whose spans
//!    are byte offsets into the whole file.
//!
//! Because each statement is parsed on its own, a syntax error in one
//! statement is reported and parsing goes on with the next one. When a
//! statement swallowed the following lines because of an unclosed bracket or
//! a trailing operator, and the line where the error sits reads as a
//! statement of its own, the error is reported at the end of the line before
//! it and parsing resumes there (see `split_after_runaway`).
//!
//! Errors from pest name grammar rules; `describe_failure` turns them into
//! diagnostics that say in words what was expected, what was found, and,
//! where one exists, a concrete fix.

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

use super::ast::{
    BinOp, Constraint, DataDecl, DataKind, Dim, Expr, ExprKind, Ident, ParamDecl, Program, Stmt,
    StmtKind,
};
use crate::diag::{Diagnostic, Span};

/// The pest parser generated from `grammar/nll.pest`.
///
/// The path is taken relative to the crate's manifest directory first
/// (and only then relative to `src/`), so it names the grammar at the root
/// of the crate.
#[derive(Parser)]
#[grammar = "grammar/nll.pest"]
pub struct NllParser;

/// The reserved words of the language; none of them can be used as a name.
pub const RESERVED_WORDS: &[&str] = &["data", "param", "const", "in", "int", "real", "factor"];

/// How deeply expressions may nest (operands within operands, arguments
/// within calls; parentheses alone do not count) before the parser gives up
/// with an error instead of risking the stack.
const MAX_NESTING: usize = 200;

/// Parses a whole model file.
///
/// On failure, returns every error found: each statement is parsed on its
/// own, so one bad statement does not hide problems in the others.
pub fn parse_program(source: &str) -> Result<Program, Vec<Diagnostic>> {
    let mut stmts = Vec::new();
    let mut diags = Vec::new();
    let mut pos = 0;
    while let Some(chunk) = next_chunk(source, pos) {
        match parse_stmt_range(source, chunk.start, chunk.end, "end of file") {
            Ok(stmt) => {
                stmts.push(stmt);
                pos = chunk.next;
            }
            Err(failure) => {
                if let Some((diag, resume)) = split_after_runaway(source, &chunk, &failure) {
                    diags.push(diag);
                    pos = resume;
                } else {
                    diags.push(*failure.diag);
                    pos = chunk.next;
                }
            }
        }
    }
    if diags.is_empty() {
        Ok(Program { stmts })
    } else {
        Err(diags)
    }
}

/// Parses one statement, as typed at an interactive prompt. The text must hold
/// exactly one statement; it may span several lines, and comments are allowed.
pub fn parse_statement(source: &str) -> Result<Stmt, Vec<Diagnostic>> {
    parse_stmt_range(source, 0, source.len(), "end of input").map_err(|f| vec![*f.diag])
}

/// Parses an expression alone, as typed at an interactive prompt.
pub fn parse_expr(source: &str) -> Result<Expr, Vec<Diagnostic>> {
    parse_range(
        source,
        0,
        source.len(),
        Rule::expr_input,
        "end of input",
        |b, pair| {
            let expr = pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::expr)
                .expect("grammar: expr");
            b.expr(expr, 0)
        },
    )
    .map_err(|f| vec![*f.diag])
}

/// Whether text typed so far (at an interactive prompt, say) goes on over
/// the next line by the rules of a model file: a `(` or `[` is still open, or
/// the last line ends with a binary operator or a comma (comments aside).
pub fn continues_on_next_line(text: &str) -> bool {
    let mut depth = 0;
    let mut last = None;
    for line in text.lines() {
        let (d, l) = scan_line(line, depth);
        depth = d;
        last = l.or(last);
    }
    depth > 0 || last.is_some_and(|c| CONTINUING_CHARS.contains(&c))
}

// ---------------------------------------------------------------------------
// Cutting a file into logical statements
// ---------------------------------------------------------------------------

/// One logical statement of a file, as byte offsets.
#[derive(Debug, Clone, PartialEq)]
struct Chunk {
    /// The first character of the statement.
    start: usize,
    /// The end of its last line, before the line break.
    end: usize,
    /// Where the next line after the statement starts.
    next: usize,
    /// The lines the statement was continued onto, in order.
    continuations: Vec<Continuation>,
}

/// A line that a statement was continued onto.
#[derive(Debug, Clone, PartialEq)]
struct Continuation {
    /// Where the line starts.
    line_start: usize,
    /// Its first character that is not whitespace (or the line end).
    first: usize,
    /// The end of the previous line, before its line break.
    prev_end: usize,
}

/// The characters that continue a statement onto the next line when a line
/// ends with them.
const CONTINUING_CHARS: &[char] = &['+', '-', '*', '/', '^', ','];

/// Finds the next logical statement that starts on or after the line starting
/// at `pos`. Lines holding only whitespace and comments are skipped, before
/// a statement and inside it alike.
fn next_chunk(src: &str, mut pos: usize) -> Option<Chunk> {
    // Skip lines that hold nothing.
    let (start, mut line_end) = loop {
        if pos >= src.len() {
            return None;
        }
        let line_end = line_end_at(src, pos);
        let line = &src[pos..line_end];
        let first = line.find(|c: char| !c.is_whitespace());
        match first {
            Some(i) if !line[i..].starts_with('#') => break (pos + i, line_end),
            _ => pos = next_line(src, line_end),
        }
    };
    let mut depth = 0usize;
    let mut continuations = Vec::new();
    let mut line_start = start;
    // The last significant character so far; lines with only whitespace or a
    // comment leave it as it was.
    let mut last = None;
    loop {
        let (d, l) = scan_line(&src[line_start..line_end], depth);
        depth = d;
        last = l.or(last);
        let next = next_line(src, line_end);
        let continues = depth > 0 || last.is_some_and(|c| CONTINUING_CHARS.contains(&c));
        if !continues || next >= src.len() {
            return Some(Chunk {
                start,
                end: trim_cr(src, line_end),
                next,
                continuations,
            });
        }
        let prev_end = trim_cr(src, line_end);
        line_start = next;
        line_end = line_end_at(src, line_start);
        let line = &src[line_start..line_end];
        let first = line
            .find(|c: char| !c.is_whitespace())
            .map_or(line_end, |i| line_start + i);
        if first < line_end && !src[first..].starts_with('#') {
            continuations.push(Continuation {
                line_start,
                first,
                prev_end,
            });
        }
    }
}

/// The offset of the `\n` ending the line that contains `pos`, or the end of
/// the text.
fn line_end_at(src: &str, pos: usize) -> usize {
    src[pos..].find('\n').map_or(src.len(), |i| pos + i)
}

/// The start of the line after a line that ends at `line_end`.
fn next_line(src: &str, line_end: usize) -> usize {
    (line_end + 1).min(src.len())
}

/// Moves a line end back over a `\r` of a Windows line break.
fn trim_cr(src: &str, line_end: usize) -> usize {
    if line_end > 0 && src.as_bytes()[line_end - 1] == b'\r' {
        line_end - 1
    } else {
        line_end
    }
}

/// Follows bracket depth over one line, ignoring its comment. Returns the
/// depth at the end of the line and the last character that is neither
/// whitespace nor part of a comment.
fn scan_line(line: &str, mut depth: usize) -> (usize, Option<char>) {
    let mut last = None;
    for c in line.chars() {
        match c {
            '#' => break,
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !c.is_whitespace() {
            last = Some(c);
        }
    }
    (depth, last)
}

/// After a failed statement that ran on over several lines: the statement
/// most likely ended early (a missing `)` or a stray trailing operator) when,
/// on the line where the error sits, the text from that line on parses as a
/// statement, or the error is at the line's first token and the line reads
/// as a statement of its own. Returns the error for the statement cut before
/// that line, and where to resume.
fn split_after_runaway(src: &str, chunk: &Chunk, failure: &Failure) -> Option<(Diagnostic, usize)> {
    let at = failure.at?;
    let cont = chunk.continuations.iter().rev().find(|c| c.first <= at)?;
    let line = &src[cont.first..line_end_at(src, cont.first)];
    if !(at == cont.first && looks_like_statement(line)) {
        let rest = next_chunk(src, cont.line_start)?;
        parse_stmt_range(src, rest.start, rest.end, "end of file").ok()?;
    }
    match parse_stmt_range(src, chunk.start, cont.prev_end, "end of line") {
        Err(cut) => Some((*cut.diag, cont.line_start)),
        Ok(_) => None,
    }
}

/// Whether a line reads like the start of a statement: it starts with a
/// declaration keyword, or has a `~` or `=` before any comment.
fn looks_like_statement(line: &str) -> bool {
    let code = line.split('#').next().unwrap_or("");
    let first = code
        .trim_start()
        .split(|c: char| !is_ident_char(c))
        .next()
        .unwrap_or("");
    matches!(first, "data" | "param" | "const") || code.contains(['~', '='])
}

// ---------------------------------------------------------------------------
// Running the grammar
// ---------------------------------------------------------------------------

/// A failed parse: the diagnostic, and where pest stopped when the failure is
/// a syntax error.
#[derive(Debug)]
struct Failure {
    diag: Box<Diagnostic>,
    at: Option<usize>,
}

impl From<Box<Diagnostic>> for Failure {
    fn from(diag: Box<Diagnostic>) -> Failure {
        Failure { diag, at: None }
    }
}

fn parse_stmt_range(src: &str, start: usize, end: usize, end_word: &str) -> Result<Stmt, Failure> {
    parse_range(
        src,
        start,
        end,
        Rule::statement_input,
        end_word,
        |b, pair| {
            let stmt = pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::statement)
                .expect("grammar: statement");
            b.statement(stmt)
        },
    )
}

/// Matches `src[start..end]` against `rule` and builds the result with
/// `build`. `end_word` names what lies at `end` ("end of file", ...).
fn parse_range<T>(
    src: &str,
    start: usize,
    end: usize,
    rule: Rule,
    end_word: &str,
    build: impl FnOnce(&Builder, Pair<'_, Rule>) -> Built<T>,
) -> Result<T, Failure> {
    let text = &src[start..end];
    match NllParser::parse(rule, text) {
        Ok(mut pairs) => {
            let pair = pairs.next().expect("pest returns the matched entry rule");
            build(&Builder::new(text, start), pair).map_err(Failure::from)
        }
        Err(err) => {
            let pos = match err.location {
                InputLocation::Pos(p) => p,
                InputLocation::Span((p, _)) => p,
            };
            let diag = match err.variant {
                ErrorVariant::ParsingError { positives, .. } => {
                    let nothing_after = src[end..]
                        .lines()
                        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
                    let end_word = if nothing_after || end_word != "end of file" {
                        end_word
                    } else {
                        "end of line"
                    };
                    describe_failure(src, start, end, start + pos, &positives, end_word)
                }
                // Pest's own limits: the statement nests too deeply for the stack.
                ErrorVariant::CustomError { .. } => {
                    Diagnostic::error("E101", "this statement is nested too deeply to parse")
                        .with_primary(Span::new(start + pos, start + pos), "here")
                        .with_help("Split it into smaller functions.")
                }
            };
            Err(Failure {
                diag: Box::new(diag),
                at: Some(start + pos),
            })
        }
    }
}

// ---------------------------------------------------------------------------
// From pest pairs to AST nodes
// ---------------------------------------------------------------------------

/// The result of building an AST node; the error is boxed to keep the
/// happy path small.
type Built<T> = Result<T, Box<Diagnostic>>;

/// Builds AST nodes from pest pairs of one statement, whose text started at
/// byte `off` of the source.
struct Builder {
    off: usize,
    /// For each offset `i` of the statement's text, the end of the last
    /// character before `i` that is neither whitespace nor in a comment.
    /// Pest lets a rule that ends in an optional part take in the whitespace
    /// and comments that follow it; spans are cut back with this.
    content_end: Vec<usize>,
}

impl Builder {
    fn new(text: &str, off: usize) -> Builder {
        let mut content_end = vec![0; text.len() + 1];
        let mut last = 0;
        let mut in_comment = false;
        for (i, c) in text.char_indices() {
            content_end[i] = last;
            if in_comment {
                in_comment = c != '\n';
            } else if c == '#' {
                in_comment = true;
            } else if !c.is_whitespace() {
                last = i + c.len_utf8();
            }
            for slot in &mut content_end[i + 1..i + c.len_utf8()] {
                *slot = last;
            }
        }
        content_end[text.len()] = last;
        Builder { off, content_end }
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let end = self.content_end[s.end()].max(s.start());
        Span::new(self.off + s.start(), self.off + end)
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn idents(&self, pair: Pair<'_, Rule>) -> Vec<Ident> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::ident)
            .map(|p| self.ident(p))
            .collect()
    }

    fn statement(&self, pair: Pair<'_, Rule>) -> Built<Stmt> {
        let span = self.span(&pair);
        let inner = pair
            .into_inner()
            .next()
            .expect("grammar: statement has one kind");
        let kind = match inner.as_rule() {
            Rule::data_stmt => StmtKind::Data(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::data_decl)
                    .map(|p| self.data_decl(p))
                    .collect(),
            ),
            Rule::param_stmt => StmtKind::Param(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::param_decl)
                    .map(|p| self.param_decl(p))
                    .collect::<Result<_, _>>()?,
            ),
            Rule::const_stmt => {
                let mut name = None;
                let mut value = None;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::ident => name = Some(self.ident(p)),
                        Rule::const_value => value = Some(self.wrapped(p)?),
                        _ => {}
                    }
                }
                StmtKind::Const {
                    name: name.expect("grammar: const name"),
                    value: value.expect("grammar: const value"),
                }
            }
            Rule::func_stmt => {
                let mut name = None;
                let mut args = Vec::new();
                let mut body = None;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::ident => name = Some(self.ident(p)),
                        Rule::func_args => args = self.idents(p),
                        Rule::body => body = Some(self.wrapped(p)?),
                        _ => {}
                    }
                }
                StmtKind::Func {
                    name: name.expect("grammar: function name"),
                    args,
                    body: body.expect("grammar: function body"),
                }
            }
            Rule::sample_stmt => {
                let mut lhs = None;
                let mut dist = None;
                let mut args = Vec::new();
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::expr => lhs = Some(self.expr(p, 0)?),
                        Rule::dist => {
                            for q in p.into_inner() {
                                match q.as_rule() {
                                    Rule::ident => dist = Some(self.ident(q)),
                                    Rule::expr => args.push(self.expr(q, 0)?),
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
                StmtKind::Sample {
                    lhs: lhs.expect("grammar: sample lhs"),
                    dist: dist.expect("grammar: distribution name"),
                    args,
                }
            }
            other => unreachable!("grammar: unexpected statement kind {other:?}"),
        };
        Ok(Stmt { kind, span })
    }

    fn data_decl(&self, pair: Pair<'_, Rule>) -> DataDecl {
        let span = self.span(&pair);
        let mut name = None;
        let mut kind = DataKind::Real;
        let mut columns = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::data_kind => {
                    kind = match p.into_inner().next().map(|k| k.as_rule()) {
                        Some(Rule::kw_int) => DataKind::Int,
                        Some(Rule::kw_factor) => DataKind::Factor,
                        _ => DataKind::Real,
                    }
                }
                Rule::column_list => columns = Some(self.idents(p)),
                _ => {}
            }
        }
        DataDecl {
            name: name.expect("grammar: data name"),
            kind,
            columns,
            span,
        }
    }

    fn param_decl(&self, pair: Pair<'_, Rule>) -> Built<ParamDecl> {
        let span = self.span(&pair);
        let mut name = None;
        let mut dims = Vec::new();
        let mut constraint = None;
        let mut start = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::dims => {
                    for d in p.into_inner().filter(|d| d.as_rule() == Rule::dim) {
                        dims.push(self.dim(d)?);
                    }
                }
                Rule::constraint => constraint = Some(self.constraint(p)?),
                Rule::start => start = Some(self.wrapped(p)?),
                _ => {}
            }
        }
        Ok(ParamDecl {
            name: name.expect("grammar: parameter name"),
            dims,
            constraint,
            start,
            span,
        })
    }

    fn dim(&self, pair: Pair<'_, Rule>) -> Built<Dim> {
        let inner = pair.into_inner().next().expect("grammar: dim has one part");
        let span = self.span(&inner);
        match inner.as_rule() {
            Rule::size => match inner.as_str().parse::<usize>() {
                Ok(size) => Ok(Dim::Size { size, span }),
                Err(_) => Err(Diagnostic::error(
                    "E103",
                    format!("the size `{}` is too large", inner.as_str()),
                )
                .with_primary(span, "too large")
                .into()),
            },
            _ => Ok(Dim::Factor(self.ident(inner))),
        }
    }

    fn constraint(&self, pair: Pair<'_, Rule>) -> Built<Constraint> {
        let mut kind = None;
        let mut lower = None;
        let mut upper = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::gt | Rule::lt | Rule::kw_in => kind = Some(p.as_rule()),
                Rule::lower => lower = Some(self.wrapped(p)?),
                Rule::upper => upper = Some(self.wrapped(p)?),
                _ => {}
            }
        }
        Ok(match (kind, lower, upper) {
            (Some(Rule::gt), Some(lo), _) => Constraint::Lower(lo),
            (Some(Rule::lt), _, Some(hi)) => Constraint::Upper(hi),
            (Some(Rule::kw_in), Some(lo), Some(hi)) => Constraint::Interval(lo, hi),
            _ => unreachable!("grammar: malformed constraint"),
        })
    }

    /// The expression inside a rule that only names its role (`lower`,
    /// `start`, `body`, ...).
    fn wrapped(&self, pair: Pair<'_, Rule>) -> Built<Expr> {
        let inner = pair
            .into_inner()
            .next()
            .expect("grammar: wrapped expression");
        self.expr(inner, 0)
    }

    /// Builds an expression. Rules that wrap a single child, and
    /// parentheses, are walked through in a loop, so only real nesting
    /// (operands, arguments) costs stack; `depth` counts it.
    fn expr(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<Expr> {
        // Every wrapper on the way down has the same span as the node built
        // at the bottom, except parentheses, which add to it: the outermost
        // span is the one to keep.
        let span = self.span(&pair);
        if depth > MAX_NESTING {
            return Err(
                Diagnostic::error("E101", "this expression is nested too deeply")
                    .with_primary(span, "nested too deeply")
                    .with_help("Split it into smaller functions.")
                    .into(),
            );
        }
        let depth = depth + 1;
        let mut pair = pair;
        loop {
            let rule = pair.as_rule();
            let mut parts = pair.clone().into_inner();
            let kind = match rule {
                Rule::expr | Rule::term | Rule::power | Rule::unary => {
                    let first = parts.next().expect("grammar: operand");
                    if parts.peek().is_none() {
                        pair = first;
                        continue;
                    }
                    if first.as_rule() == Rule::neg {
                        let operand = parts.next().expect("grammar: operand");
                        ExprKind::Neg(Box::new(self.expr(operand, depth)?))
                    } else {
                        let mut acc = self.expr(first, depth)?;
                        while let Some(op) = parts.next() {
                            let rhs = self.expr(parts.next().expect("grammar: operand"), depth)?;
                            let op = match op.as_str() {
                                "+" => BinOp::Add,
                                "-" => BinOp::Sub,
                                "*" => BinOp::Mul,
                                "/" => BinOp::Div,
                                _ => BinOp::Pow,
                            };
                            acc = binary(op, acc, rhs);
                        }
                        acc.kind
                    }
                }
                Rule::atom
                | Rule::lower
                | Rule::upper
                | Rule::start
                | Rule::const_value
                | Rule::body => {
                    pair = parts.next().expect("grammar: wrapped expression");
                    continue;
                }
                Rule::paren => {
                    pair = parts
                        .find(|p| p.as_rule() == Rule::expr)
                        .expect("grammar: paren");
                    continue;
                }
                Rule::number => {
                    let text = pair.as_str();
                    match text.parse::<f64>() {
                        Ok(value) if value.is_finite() => ExprKind::Number(value),
                        _ => {
                            return Err(Diagnostic::error(
                                "E103",
                                format!("the number `{text}` is too large"),
                            )
                            .with_primary(self.span(&pair), "too large")
                            .with_note(
                                "Numbers must fit in a 64-bit floating point value, \
                                 about 1.8e308 at most.",
                            )
                            .into())
                        }
                    }
                }
                Rule::name => ExprKind::Name(pair.as_str().to_string()),
                Rule::call | Rule::index => {
                    let mut func = None;
                    let mut args = Vec::new();
                    for p in parts {
                        match p.as_rule() {
                            Rule::ident => func = Some(self.ident(p)),
                            Rule::expr => args.push(self.expr(p, depth)?),
                            _ => {}
                        }
                    }
                    let func = func.expect("grammar: called name");
                    if rule == Rule::call {
                        ExprKind::Call { func, args }
                    } else {
                        ExprKind::Index {
                            base: func,
                            indices: args,
                        }
                    }
                }
                other => unreachable!("grammar: unexpected expression rule {other:?}"),
            };
            return Ok(Expr { kind, span });
        }
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    }
}

// ---------------------------------------------------------------------------
// Describing syntax errors
// ---------------------------------------------------------------------------

/// What the grammar wanted at the place where it failed, in the user's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Want {
    Statement,
    Expr,
    Name,
    Dist,
    DistOpen,
    DataKind,
    Dim,
    ColumnList,
    Constraint,
    /// A punctuation token, as written.
    Token(&'static str),
    /// A binary operator continuing an expression.
    Operator,
    /// The end of the statement.
    End,
}

impl Want {
    fn from_rule(rule: Rule) -> Want {
        match rule {
            Rule::statement | Rule::statement_input => Want::Statement,
            Rule::expr
            | Rule::expr_input
            | Rule::term
            | Rule::unary
            | Rule::power
            | Rule::atom
            | Rule::neg
            | Rule::number
            | Rule::name
            | Rule::call
            | Rule::index
            | Rule::paren
            | Rule::lower
            | Rule::upper
            | Rule::start
            | Rule::const_value
            | Rule::body => Want::Expr,
            Rule::dist => Want::Dist,
            Rule::dist_open => Want::DistOpen,
            Rule::data_kind | Rule::kw_int | Rule::kw_real | Rule::kw_factor => Want::DataKind,
            Rule::dim | Rule::size => Want::Dim,
            Rule::dims | Rule::lbracket => Want::Token("["),
            Rule::column_list => Want::ColumnList,
            Rule::constraint => Want::Constraint,
            Rule::func_args | Rule::lparen => Want::Token("("),
            Rule::rparen => Want::Token(")"),
            Rule::rbracket => Want::Token("]"),
            Rule::comma => Want::Token(","),
            Rule::colon => Want::Token(":"),
            Rule::eq => Want::Token("="),
            Rule::tilde => Want::Token("~"),
            Rule::gt => Want::Token(">"),
            Rule::lt => Want::Token("<"),
            Rule::kw_in => Want::Token("in"),
            Rule::add_op | Rule::mul_op | Rule::pow_op => Want::Operator,
            Rule::EOI => Want::End,
            Rule::kw_data | Rule::kw_param | Rule::kw_const => Want::Statement,
            Rule::ident | Rule::keyword | Rule::data_decl | Rule::param_decl => Want::Name,
            // Whole statement kinds, and silent rules that pest never reports.
            Rule::data_stmt
            | Rule::param_stmt
            | Rule::const_stmt
            | Rule::func_stmt
            | Rule::sample_stmt
            | Rule::WHITESPACE
            | Rule::COMMENT
            | Rule::exponent
            | Rule::ident_char => Want::Statement,
        }
    }

    /// Wants that only say the expression or declaration could go on; they
    /// are left out of the message when something more telling is expected.
    fn is_continuation(self) -> bool {
        matches!(
            self,
            Want::Operator | Want::Token("(") | Want::Token("[") | Want::Constraint
        )
    }

    /// The order in which wants are listed in a message.
    fn rank(self) -> usize {
        const TOKENS: &[&str] = &["~", "=", ",", ")", "]", ":", ">", "<", "in", "(", "["];
        match self {
            Want::Statement => 0,
            Want::Expr => 1,
            Want::Name => 2,
            Want::Dist => 3,
            Want::DistOpen => 4,
            Want::DataKind => 5,
            Want::Dim => 6,
            Want::ColumnList => 7,
            Want::Token(t) => 10 + TOKENS.iter().position(|x| *x == t).unwrap_or(TOKENS.len()),
            Want::Constraint => 30,
            Want::Operator => 31,
            Want::End => 32,
        }
    }

    fn words(self) -> String {
        match self {
            Want::Statement => "a statement".into(),
            Want::Expr => "an expression".into(),
            Want::Name => "a name".into(),
            Want::Dist => "a distribution such as `Normal(..)`".into(),
            Want::DistOpen => "`(` after the distribution name".into(),
            Want::DataKind => "`int`, `real` or `factor`".into(),
            Want::Dim => "a size or a factor name".into(),
            Want::ColumnList => "a list of columns such as `[age, bmi]`".into(),
            Want::Constraint => "a constraint".into(),
            Want::Token(t) => format!("`{t}`"),
            Want::Operator => "an operator".into(),
            Want::End => "the end of the statement".into(),
        }
    }
}

/// The text found where the grammar failed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Found {
    /// Nothing more in the statement; the span is empty and sits right after
    /// its last token.
    End(Span),
    /// A token of the source.
    Token(Span),
}

/// Turns a pest failure at byte `at` of `src` (inside the statement
/// `src[start..end]`) into a diagnostic.
fn describe_failure(
    src: &str,
    start: usize,
    end: usize,
    at: usize,
    positives: &[Rule],
    end_word: &str,
) -> Diagnostic {
    let mut wants: Vec<Want> = positives.iter().map(|r| Want::from_rule(*r)).collect();
    wants.sort_by_key(|w| w.rank());
    wants.dedup();
    let prev = prev_token(src, start, at);
    let found = found_at(src, end, at, prev);
    let found_text = match found {
        Found::End(_) => String::new(),
        // Characters that would not show are named by code point.
        Found::Token(s) => src[s.start..s.end]
            .chars()
            .map(|c| {
                if crate::diag::is_hidden(c) {
                    format!("U+{:04X}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect(),
    };
    let found_label = match found {
        Found::End(_) => format!("found {end_word}"),
        Found::Token(_) => format!("found `{found_text}`"),
    };
    let found_span = match found {
        Found::End(s) | Found::Token(s) => s,
    };
    let prev_text = prev.map(|p| &src[p.start..p.end]);

    // A character that has no place anywhere in the language.
    if let Found::Token(s) = found {
        let c = src[s.start..].chars().next().unwrap_or(' ');
        if !is_known_char(c) {
            let span = Span::new(s.start, s.start + c.len_utf8());
            // A control or invisible character is named by its code point,
            // which a terminal would not show.
            let shown = if crate::diag::is_hidden(c) || c.is_whitespace() {
                format!("U+{:04X}", u32::from(c))
            } else {
                format!("`{c}`")
            };
            let d = Diagnostic::error("E101", format!("unexpected character {shown}"))
                .with_primary(span, "this character has no meaning here")
                .with_note(format!("Expected {} here.", expected_words(&wants)));
            return if c.is_alphabetic() {
                d.with_help("Write names with the letters `a`-`z` and `A`-`Z`, digits and `_`.")
            } else {
                d.with_help(format!("Remove the {shown}."))
            };
        }
    }

    // A reserved word where a name was wanted.
    if RESERVED_WORDS.contains(&found_text.as_str())
        && wants.iter().any(|w| {
            matches!(
                w,
                Want::Expr | Want::Name | Want::Dist | Want::Dim | Want::Statement
            )
        })
    {
        return reserved_word(found_span, &found_text);
    }

    // A reserved word used as the name of a function or in a sample statement:
    // `data = 3`, `param(x) = ...`.
    if let Some(p) = prev {
        let first = first_token(src, start);
        if first == Some(p)
            && RESERVED_WORDS.contains(&prev_text.unwrap_or(""))
            && ["=", "(", "~", "[", "^", "*", "/"]
                .iter()
                .any(|t| found_text.starts_with(t))
        {
            return reserved_word(p, prev_text.unwrap_or(""));
        }
    }

    // A malformed number: `1e`, `2x`, `1.2.3`.
    if looks_numeric(&found_text) && !is_number(&found_text) {
        return bad_number(found_span, &found_text);
    }

    // Text after a complete statement.
    if wants.contains(&Want::End) {
        if found_text == ")" || found_text == "]" {
            return Diagnostic::error("E101", format!("unmatched `{found_text}`"))
                .with_primary(found_span, format!("this `{found_text}` closes nothing"))
                .with_help(format!(
                    "Remove the `{found_text}`, or add the `{}` it should close.",
                    if found_text == ")" { "(" } else { "[" }
                ));
        }
        let mut d = Diagnostic::error("E101", "unexpected text after the end of the statement")
            .with_primary(found_span, found_label);
        if let Some(p) = prev {
            d = d.with_secondary(Span::new(start, p.end), "this is a complete statement");
        }
        let same_line = prev.is_none_or(|p| !src[p.end..found_span.start].contains('\n'));
        let first = first_token(src, start).map(|t| &src[t.start..t.end]);
        let declaration = matches!(first, Some("data" | "param"));
        if !same_line {
            d = d.with_note("Only one statement can be given here.");
        } else if declaration && (found_text == "<" || found_text == ">") {
            d = d.with_help(
                "A parameter takes one constraint; for two bounds write `in (lower, upper)`, \
                 as in `param p in (0, 1)`.",
            );
        } else if declaration && found_text.starts_with(|c: char| c.is_ascii_alphabetic()) {
            d = d.with_help(format!(
                "Separate the names with commas, as in `{} a, b`.",
                first.unwrap_or("param")
            ));
        } else if parse_stmt_range(src, found_span.start, end, "end of file").is_ok() {
            d = d.with_help(format!(
                "Put each statement on its own line: start a new line before `{}`.",
                first_word(&found_text)
            ));
        }
        return d;
    }

    // A bracket left open at the end of the statement.
    if let Found::End(_) = found {
        let closer = [")", "]"]
            .into_iter()
            .find(|t| wants.contains(&Want::Token(t)));
        if let Some(closer) = closer {
            let mut d = Diagnostic::error("E101", format!("expected `{closer}`"))
                .with_primary(found_span, found_label);
            if let Some(open) = unclosed_bracket(src, start, at) {
                let o = &src[open.start..open.end];
                d = d.with_secondary(open, format!("this `{o}` is never closed"));
            }
            return d.with_help(format!("Add the missing `{closer}`."));
        }
    }

    let words = expected_words(&wants);
    let after = match prev_text {
        Some(t @ ("+" | "-" | "*" | "/" | "^" | "=" | ">" | "<" | "~"))
            if wants.contains(&Want::Expr) =>
        {
            format!(" after `{t}`")
        }
        Some(t @ ("data" | "param" | "const")) if wants == [Want::Name] => {
            format!(" after `{t}`")
        }
        _ => String::new(),
    };
    let mut d = Diagnostic::error("E101", format!("expected {words}{after}"))
        .with_primary(found_span, found_label);
    match (wants.as_slice(), prev_text) {
        ([Want::Name], Some("~")) | ([Want::Dist], _) => {
            d.message = "expected a distribution such as `Normal(..)` after `~`".into();
            d = d.with_help(
                "Name a distribution and give its parameters, as in `y ~ Normal(mu, sigma)`.",
            );
        }
        ([Want::DistOpen], _) => {
            d = d.with_help(
                "Give the distribution's parameters in parentheses, as in `Normal(mu, sigma)`.",
            );
        }
        (_, Some(op @ (">" | "<"))) if wants.contains(&Want::Expr) => {
            let (which, example) = if op == ">" {
                ("a lower", "param s > 0")
            } else {
                ("an upper", "param s < 10")
            };
            d.message = format!("expected {which} bound after `{op}`");
            d = if found_text.starts_with('=') {
                d.with_help(format!(
                    "Write `{op}` alone, as in `{example}`: the bound itself is never \
                     reached by the parameter."
                ))
            } else {
                d.with_help(format!("Write the bound after `{op}`, as in `{example}`."))
            };
        }
        (_, Some(op @ ("+" | "-" | "*" | "/" | "^" | ","))) if matches!(found, Found::End(_)) => {
            if let Some(open) = unclosed_bracket(src, start, at) {
                let o = &src[open.start..open.end];
                d = d.with_secondary(open, format!("this `{o}` is never closed"));
            }
            let what = if op == "," {
                "the next item"
            } else {
                "the expression"
            };
            d = d.with_help(format!(
                "Write {what} after the `{op}`, or remove the `{op}`."
            ));
            if end_word == "end of file" {
                d = d.with_note(format!(
                    "A line that ends with `{op}` goes on over the next line, and here the file \
                     ended first."
                ));
            }
        }
        ([Want::DataKind], _) => {
            d = d.with_note(
                "A data column is `real` (the default), `int` or `factor`, as in `data n: int`.",
            );
        }
        ([Want::Dim], _) => {
            d = d.with_help(
                "Give a whole number, as in `beta[30]`, or the name of a factor, as in `u[g]`.",
            );
        }
        ([Want::Statement], _) => {
            d = d.with_note(
                "A statement is a declaration (`data`, `param` or `const`), a function such as \
                 `mu(x) = a + b * x`, or a sample statement such as `y ~ Normal(mu, s)`.",
            );
        }
        _ if found_text == "="
            && wants.contains(&Want::Token("~"))
            && !wants.contains(&Want::Token("=")) =>
        {
            d = d.with_note(
                "A function is defined as `name(arg, ..) = expression`, with plain names as \
                 its arguments.",
            );
        }
        _ if wants.contains(&Want::Token("~")) && wants.contains(&Want::Token("=")) => {
            d = d.with_note(
                "A sample statement reads `y ~ Normal(mu, s)`; a function reads `f(x) = a + b * x`.",
            );
        }
        _ => {}
    }
    d
}

fn reserved_word(span: Span, word: &str) -> Diagnostic {
    Diagnostic::error(
        "E102",
        format!("`{word}` is a reserved word and cannot be used as a name"),
    )
    .with_primary(span, "reserved word")
    .with_note(format!(
        "The reserved words are {}.",
        or_list(
            &RESERVED_WORDS
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>(),
            "and"
        )
    ))
    .with_help(format!("Choose another name, such as `{word}_`."))
}

fn bad_number(span: Span, text: &str) -> Diagnostic {
    let d = Diagnostic::error("E103", format!("malformed number `{text}`"))
        .with_primary(span, "not a number");
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let rest = &text[digits_end..];
    if rest.starts_with(['e', 'E'])
        && !rest[1..]
            .trim_start_matches(['+', '-'])
            .starts_with(|c: char| c.is_ascii_digit())
    {
        d.with_help("An exponent needs digits after the `e`, as in `1e-3` or `2.5e4`.")
    } else if text.matches('.').count() > 1 {
        d.with_help("A number has at most one decimal point, as in `0.25`.")
    } else if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && is_number(&text[..digits_end])
    {
        let num = &text[..digits_end];
        d.with_help(format!("Write `{num} * {rest}` to multiply."))
    } else {
        d.with_note("Numbers are written like `2`, `0.5`, `.5`, `760.`, `1e-3` or `2.5E+4`.")
    }
}

/// Joins what was expected into words: "`,` or `)`".
fn expected_words(wants: &[Want]) -> String {
    let main: Vec<Want> = wants
        .iter()
        .copied()
        .filter(|w| !w.is_continuation())
        .collect();
    let chosen = if main.is_empty() {
        wants.to_vec()
    } else {
        main
    };
    let words: Vec<String> = chosen.iter().map(|w| w.words()).collect();
    or_list(&words, "or")
}

/// "a", "a or b", "a, b or c" (with `and` in place of `or` as asked).
fn or_list(words: &[String], conj: &str) -> String {
    match words.len() {
        0 => "something else".to_string(),
        1 => words[0].clone(),
        n => format!("{} {conj} {}", words[..n - 1].join(", "), words[n - 1]),
    }
}

/// Characters that can appear somewhere in a model file.
fn is_known_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_whitespace() || "_#+-*/^()[],=~<>:.".contains(c)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether text starts like a number: a digit, or a `.` and a digit.
fn looks_numeric(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_ascii_digit() => true,
        Some('.') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// Whether text is a whole number literal of the grammar.
fn is_number(text: &str) -> bool {
    NllParser::parse(Rule::number, text).is_ok_and(|p| p.as_str().len() == text.len())
}

/// The token at `at`, or the end of the statement.
fn found_at(src: &str, end: usize, at: usize, prev: Option<Span>) -> Found {
    if at >= end {
        let p = prev.map_or(at, |p| p.end);
        return Found::End(Span::new(p, p));
    }
    let rest = &src[at..end];
    let c = rest.chars().next().expect("at < end");
    let len = if is_ident_char(c) && !looks_numeric(rest) {
        rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len())
    } else if looks_numeric(rest) {
        // Digits, letters, dots, and a sign right after an exponent letter.
        let mut len = 0;
        let mut last = ' ';
        for ch in rest.chars() {
            let sign_ok = matches!(last, 'e' | 'E') && (ch == '+' || ch == '-');
            if is_ident_char(ch) || ch == '.' || sign_ok {
                len += ch.len_utf8();
                last = ch;
            } else {
                break;
            }
        }
        len
    } else if c.is_ascii_punctuation() && c != '#' {
        // A run of punctuation, at most eight characters: `+)`.
        rest.char_indices()
            .take_while(|(i, ch)| *i < 8 && ch.is_ascii_punctuation() && *ch != '#')
            .map(|(i, ch)| i + ch.len_utf8())
            .last()
            .unwrap_or(1)
    } else {
        c.len_utf8()
    };
    Found::Token(Span::new(at, at + len))
}

/// The first word of some text (or its first character).
fn first_word(text: &str) -> &str {
    let n = text.find(|c: char| !is_ident_char(c)).unwrap_or(text.len());
    if n == 0 {
        &text[..text.chars().next().map_or(0, char::len_utf8)]
    } else {
        &text[..n]
    }
}

/// The spans of the significant characters of `src[start..end]`, skipping
/// whitespace and comments, as (offset, char) pairs.
fn significant(src: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut in_comment = false;
    src[start..end].char_indices().filter_map(move |(i, c)| {
        if in_comment {
            if c == '\n' {
                in_comment = false;
            }
            return None;
        }
        if c == '#' {
            in_comment = true;
            return None;
        }
        (!c.is_whitespace()).then_some((start + i, c))
    })
}

/// The span of the last token before `at` in the statement starting at
/// `start`: a whole name or number, or a single punctuation character.
fn prev_token(src: &str, start: usize, at: usize) -> Option<Span> {
    let (i, c) = significant(src, start, at).last()?;
    let end = i + c.len_utf8();
    if is_ident_char(c) || c == '.' {
        let begin = src[start..i]
            .rfind(|ch: char| !(is_ident_char(ch) || ch == '.'))
            .map_or(start, |j| start + j + 1);
        Some(Span::new(begin, end))
    } else {
        Some(Span::new(i, end))
    }
}

/// The span of the first token of the statement starting at `start`.
fn first_token(src: &str, start: usize) -> Option<Span> {
    let n = src[start..]
        .find(|c: char| !is_ident_char(c))
        .unwrap_or(src.len() - start);
    (n > 0).then(|| Span::new(start, start + n))
}

/// The innermost `(` or `[` still open at `at`.
fn unclosed_bracket(src: &str, start: usize, at: usize) -> Option<Span> {
    let mut open = Vec::new();
    for (i, c) in significant(src, start, at) {
        match c {
            '(' | '[' => open.push(i),
            ')' | ']' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop().map(|i| Span::new(i, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::render;
    use crate::syntax::print::{print_expr, print_program};

    /// Every example of the language reference, as one file.
    const EXAMPLES: &str = "\
# a comment
data x, y                 # real-valued columns, matched to the CSV header by name
data n: int               # integer column
data g: factor            # categorical column
data X = [age, sex, bmi]  # a vector of real columns
param a, b, d             # unconstrained real parameters
param s > 0               # positive parameter
param p in (0, 1)         # parameter inside an open interval
param c = 0.5             # start value
param s > 0 = 2           # constraint then start value
param u[g]                # one parameter per level of factor g
param s2[g] > 0           # constraints and start values apply to every element
param beta[30]            # a vector of 30
param W[3, 4]             # a matrix
param m2 > m1             # bound may be any expression
const nu = 4
mu(x) = a + b * x         # a function
eta = a + b               # a function without arguments
y ~ Normal(mu(x), exp(c + d * x))
log(y) ~ Normal(a + b * x, s)   # the left side may be an expression
a ~ Normal(0, 10)
y ~ Normal(dot(beta, X), s)
y ~ Normal(u[g] + W[2, 3], s)
";

    fn program(src: &str) -> Program {
        match parse_program(src) {
            Ok(p) => p,
            Err(diags) => {
                let text: String = diags
                    .iter()
                    .map(|d| render(d, "test.nll", src, false))
                    .collect();
                panic!("expected {src:?} to parse, got:\n{text}")
            }
        }
    }

    fn stmt(src: &str) -> StmtKind {
        let mut p = program(src);
        assert_eq!(p.stmts.len(), 1, "one statement in {src:?}");
        p.stmts.remove(0).kind
    }

    fn expr(src: &str) -> Expr {
        parse_expr(src).unwrap_or_else(|d| panic!("expected {src:?} to parse: {d:?}"))
    }

    /// Renders every diagnostic of a program that must fail, without colour.
    fn errors(src: &str) -> String {
        let diags = parse_program(src).expect_err("expected a syntax error");
        diags
            .iter()
            .map(|d| render(d, "model.nll", src, false))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn codes(src: &str) -> Vec<&'static str> {
        parse_program(src)
            .expect_err("expected a syntax error")
            .iter()
            .map(|d| d.code)
            .collect()
    }

    #[test]
    fn all_examples_parse_and_print_canonically() {
        let p = program(EXAMPLES);
        assert_eq!(p.stmts.len(), 22);
        let printed = print_program(&p);
        insta::assert_snapshot!("examples_printed", printed);
        // Printing is a fixed point.
        assert_eq!(print_program(&program(&printed)), printed);
    }

    #[test]
    fn each_example_line_parses_alone() {
        for line in EXAMPLES
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
        {
            assert!(parse_statement(line).is_ok(), "{line:?}");
        }
    }

    #[test]
    fn data_declarations() {
        let StmtKind::Data(decls) = stmt("data x, n: int, g: factor, X = [age, sex, bmi]") else {
            panic!("not data")
        };
        let shape: Vec<_> = decls
            .iter()
            .map(|d| {
                let cols = d
                    .columns
                    .as_ref()
                    .map(|c| c.iter().map(|i| i.name.clone()).collect());
                (d.name.name.as_str(), d.kind, cols)
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("x", DataKind::Real, None),
                ("n", DataKind::Int, None),
                ("g", DataKind::Factor, None),
                (
                    "X",
                    DataKind::Real,
                    Some(vec!["age".to_string(), "sex".into(), "bmi".into()])
                ),
            ]
        );
        assert!(matches!(stmt("data r: real"), StmtKind::Data(d) if d[0].kind == DataKind::Real));
    }

    #[test]
    fn param_declarations() {
        let StmtKind::Param(decls) = stmt("param s > 0 = 2, p in (0, 1), u[g], W[3, 4], m2 > m1")
        else {
            panic!("not param")
        };
        assert_eq!(decls.len(), 5);
        let s = &decls[0];
        assert_eq!(s.name.name, "s");
        assert!(
            matches!(&s.constraint, Some(Constraint::Lower(e)) if e.kind == ExprKind::Number(0.0))
        );
        assert!(matches!(&s.start, Some(e) if e.kind == ExprKind::Number(2.0)));
        assert!(
            matches!(&decls[1].constraint, Some(Constraint::Interval(lo, hi))
            if lo.kind == ExprKind::Number(0.0) && hi.kind == ExprKind::Number(1.0))
        );
        assert!(matches!(&decls[2].dims[..], [Dim::Factor(g)] if g.name == "g"));
        assert!(matches!(
            &decls[3].dims[..],
            [Dim::Size { size: 3, .. }, Dim::Size { size: 4, .. }]
        ));
        assert!(matches!(&decls[4].constraint,
            Some(Constraint::Lower(e)) if e.kind == ExprKind::Name("m1".into())));
        let StmtKind::Param(decls) = stmt("param t < 10, s2[g] > 0") else {
            panic!()
        };
        assert!(matches!(&decls[0].constraint, Some(Constraint::Upper(_))));
        assert!(matches!(&decls[1].constraint, Some(Constraint::Lower(_))));
        assert_eq!(decls[1].dims.len(), 1);
    }

    #[test]
    fn const_functions_and_samples() {
        assert!(matches!(stmt("const nu = 4"),
            StmtKind::Const { name, value } if name.name == "nu" && value.kind == ExprKind::Number(4.0)));
        let StmtKind::Func { name, args, body } = stmt("mu(x, z) = a + b * x") else {
            panic!()
        };
        assert_eq!(name.name, "mu");
        assert_eq!(
            args.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["x", "z"]
        );
        assert_eq!(print_expr(&body), "a + b * x");
        let StmtKind::Func { args, .. } = stmt("eta = a + b") else {
            panic!()
        };
        assert!(args.is_empty());
        let StmtKind::Sample { lhs, dist, args } = stmt("log(y) ~ Normal(a + b * x, s)") else {
            panic!()
        };
        assert!(
            matches!(lhs.kind, ExprKind::Call { ref func, ref args } if func.name == "log" && args.len() == 1)
        );
        assert_eq!(dist.name, "Normal");
        assert_eq!(args.len(), 2);
        let StmtKind::Sample { args, .. } = stmt("y ~ Normal(u[g] + W[2, 3], s)") else {
            panic!()
        };
        assert_eq!(print_expr(&args[0]), "u[g] + W[2, 3]");
    }

    fn shape(e: &Expr) -> String {
        // A fully parenthesised rendering that shows the tree's structure.
        match &e.kind {
            ExprKind::Number(v) => format!("{v}"),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Neg(x) => format!("(neg {})", shape(x)),
            ExprKind::Binary { op, lhs, rhs } => format!("({op:?} {} {})", shape(lhs), shape(rhs)),
            ExprKind::Call { func, args } => {
                format!(
                    "(call {} {})",
                    func.name,
                    args.iter().map(shape).collect::<Vec<_>>().join(" ")
                )
            }
            ExprKind::Index { base, indices } => {
                format!(
                    "(index {} {})",
                    base.name,
                    indices.iter().map(shape).collect::<Vec<_>>().join(" ")
                )
            }
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let cases = [
            ("-x^2", "(neg (Pow x 2))"),
            ("2^-1", "(Pow 2 (neg 1))"),
            ("a^b^c", "(Pow a (Pow b c))"),
            ("a - b - c", "(Sub (Sub a b) c)"),
            ("a / b * c", "(Mul (Div a b) c)"),
            ("a + b * c", "(Add a (Mul b c))"),
            ("(a + b) * c", "(Mul (Add a b) c)"),
            ("-a * b", "(Mul (neg a) b)"),
            ("a * -b", "(Mul a (neg b))"),
            ("a - -b", "(Sub a (neg b))"),
            ("--a", "(neg (neg a))"),
            ("2^-x^2", "(Pow 2 (neg (Pow x 2)))"),
            ("(-a)^2", "(Pow (neg a) 2)"),
            ("-2", "(neg 2)"),
            ("f() + g(a, b)", "(Add (call f ) (call g a b))"),
            ("W[k, 2] * u[g]", "(Mul (index W k 2) (index u g))"),
        ];
        for (src, want) in cases {
            assert_eq!(shape(&expr(src)), want, "{src}");
        }
    }

    #[test]
    fn number_literals() {
        for (src, want) in [
            ("2", 2.0),
            ("0.5", 0.5),
            (".5", 0.5),
            ("1e-3", 1e-3),
            ("2.5E+4", 2.5e4),
            ("760.", 760.0),
            ("1e3", 1000.0),
        ] {
            assert_eq!(expr(src).kind, ExprKind::Number(want), "{src}");
        }
        assert_eq!(parse_expr("1e999").unwrap_err()[0].code, "E103");
        assert_eq!(parse_expr("1e").unwrap_err()[0].code, "E103");
        assert_eq!(parse_expr("1.2.3").unwrap_err()[0].code, "E103");
        assert_eq!(parse_expr("2x").unwrap_err()[0].code, "E103");
        assert_eq!(codes("param b[99999999999999999999999]"), ["E103"]);
    }

    #[test]
    fn spans_are_byte_offsets_into_the_file() {
        let src = "# head\nparam s > 0   # positive\n  y ~ Normal(a + b, s)  # tail\n";
        let p = program(src);
        let s0 = p.stmts[0].span;
        assert_eq!(&src[s0.start..s0.end], "param s > 0");
        let s1 = p.stmts[1].span;
        assert_eq!(&src[s1.start..s1.end], "y ~ Normal(a + b, s)");
        let StmtKind::Sample { lhs, dist, args } = &p.stmts[1].kind else {
            panic!()
        };
        assert_eq!(&src[lhs.span.start..lhs.span.end], "y");
        assert_eq!(&src[dist.span.start..dist.span.end], "Normal");
        assert_eq!(&src[args[0].span.start..args[0].span.end], "a + b");
        let StmtKind::Param(decls) = &p.stmts[0].kind else {
            panic!()
        };
        assert_eq!(&src[decls[0].span.start..decls[0].span.end], "s > 0");
        assert_eq!(&src[decls[0].name.span.start..decls[0].name.span.end], "s");
        // Parentheses belong to the expression they enclose; a negation
        // covers its operand.
        let e = expr("-(a + b) * c");
        let ExprKind::Binary { lhs, .. } = &e.kind else {
            panic!()
        };
        assert_eq!(lhs.span, Span::new(0, 8));
        let ExprKind::Neg(inner) = &lhs.kind else {
            panic!()
        };
        assert_eq!(inner.span, Span::new(1, 8));
        assert_eq!(e.span, Span::new(0, 12));
    }

    #[test]
    fn multi_line_statements() {
        // Inside parentheses.
        let src =
            "y ~ Normal(a + b * x,\n           exp(c +\n               d * x))\nz ~ Normal(0, 1)\n";
        let p = program(src);
        assert_eq!(p.stmts.len(), 2);
        let s = p.stmts[0].span;
        assert_eq!(
            &src[s.start..s.end],
            "y ~ Normal(a + b * x,\n           exp(c +\n               d * x))"
        );
        // After a trailing operator, with a comment in between.
        let p = program("mu = a +  # the intercept\n     b * x\n");
        assert_eq!(print_program(&p), "mu = a + b * x\n");
        let p = program("mu = a +\n  # the slope:\n\n     b * x\n");
        assert_eq!(print_program(&p), "mu = a + b * x\n");
        // After a trailing comma, in a declaration.
        let p = program("param a,\n      b > 0,\n      c\ndata x,\n  y\n");
        assert_eq!(print_program(&p), "param a, b > 0, c\ndata x, y\n");
        // A line that starts with an operator inside brackets.
        let p = program("y ~ Normal(a\n           + b, s)\n");
        assert_eq!(print_program(&p), "y ~ Normal(a + b, s)\n");
        // Brackets of a column list, and comment lines inside a statement.
        let p = program("data X = [\n  # the columns\n  age,\n  bmi\n]\n");
        assert_eq!(print_program(&p), "data X = [age, bmi]\n");
        // Windows line breaks.
        let p = program("param a,\r\n  b\r\ny ~ Normal(a, b)\r\n");
        assert_eq!(print_program(&p), "param a, b\ny ~ Normal(a, b)\n");
        // A line that does not end in an operator ends the statement.
        let p = program("mu = a\n-b ~ Normal(0, 1)\n");
        assert_eq!(p.stmts.len(), 2);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let ok = format!("y = {}x{}", "(".repeat(150), ")".repeat(150));
        assert!(parse_program(&ok).is_ok());
        let ok = format!("y = {}x + 1", "-".repeat(150));
        assert!(parse_program(&ok).is_ok());
        for src in [
            format!("y = {}x{}", "(".repeat(5000), ")".repeat(5000)),
            format!("y = {}x", "-".repeat(5000)),
            format!("y = x{}", "^x".repeat(5000)),
            format!("y = {}x{}", "f(".repeat(5000), ")".repeat(5000)),
        ] {
            assert_eq!(codes(&src), ["E101"]);
        }
    }

    #[test]
    fn blank_lines_and_comments() {
        assert_eq!(program("").stmts.len(), 0);
        assert_eq!(program("\n\n  # only comments\n\t\n").stmts.len(), 0);
        assert_eq!(program("a ~ Normal(0, 1)").stmts.len(), 1);
        assert_eq!(program("\n\na ~ Normal(0, 1)#c\n\n# end").stmts.len(), 1);
    }

    #[test]
    fn names_and_reserved_words() {
        assert_eq!(
            shape(&expr("data_1 + _x + inner + integer + constant")),
            "(Add (Add (Add (Add data_1 _x) inner) integer) constant)"
        );
        for word in RESERVED_WORDS {
            let src = format!("param {word}");
            assert_eq!(codes(&src), ["E102"], "{src}");
            let src = format!("y ~ Normal({word}, 1)");
            assert_eq!(codes(&src), ["E102"], "{src}");
        }
        assert_eq!(codes("data = 3"), ["E102"]);
        assert_eq!(codes("const(x) = 3"), ["E102"]);
        assert_eq!(codes("mu(in) = 3"), ["E102"]);
    }

    #[test]
    fn keeps_going_after_an_error() {
        let src = "param s >\ny ~ Normal(a $ b)\nz ~ Normal(0, 1)\nw ~\n";
        let diags = parse_program(src).unwrap_err();
        assert_eq!(diags.len(), 3);
        let lines: Vec<_> = diags
            .iter()
            .map(|d| {
                src[..d.primary.as_ref().unwrap().span.start]
                    .matches('\n')
                    .count()
                    + 1
            })
            .collect();
        assert_eq!(lines, [1, 2, 4]);
    }

    #[test]
    fn missing_close_paren_does_not_swallow_later_statements() {
        let src = "y ~ Normal(a, b\nz ~ Normal(0, 1\nw ~ Normal(0, 1)\n";
        insta::assert_snapshot!("recovery_after_unclosed_parens", errors(src));
        let diags = parse_program(src).unwrap_err();
        assert_eq!(diags.len(), 2);
        // A trailing operator before a new statement.
        for src in [
            "mu = a +\ny ~ Normal(mu, 1)\n",
            "mu = a +\n\ny ~ Normal(mu, 1)\n",
        ] {
            let diags = parse_program(src).unwrap_err();
            assert_eq!(diags.len(), 1, "{src:?}");
            assert_eq!(diags[0].message, "expected an expression after `+`");
            assert_eq!(diags[0].primary.as_ref().unwrap().span, Span::new(8, 8));
            assert_eq!(
                diags[0].primary.as_ref().unwrap().message,
                "found end of line"
            );
        }
        // A continuation line that does not read as a statement stays part
        // of the statement it continues.
        let diags = parse_program("y ~ Normal(a\n   b, s)\nz ~ Normal(0, 1)\n").unwrap_err();
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "expected `,` or `)`");
    }

    #[test]
    fn single_statement_and_expression_entry_points() {
        assert!(matches!(
            parse_statement("  y ~ Normal(0, 1)  # c\n").unwrap().kind,
            StmtKind::Sample { .. }
        ));
        assert!(matches!(
            parse_statement("y ~ Normal(0,\n 1)").unwrap().kind,
            StmtKind::Sample { .. }
        ));
        let err = parse_statement("a ~ Normal(0, 1)\nb ~ Normal(0, 1)").unwrap_err();
        assert_eq!(
            err[0].message,
            "unexpected text after the end of the statement"
        );
        assert_eq!(
            parse_statement("").unwrap_err()[0].message,
            "expected a statement"
        );
        assert_eq!(parse_statement("# nothing").unwrap_err()[0].code, "E101");
        assert_eq!(print_expr(&expr(" a+b # sum")), "a + b");
        assert!(parse_expr("a ~ Normal(0, 1)").is_err());
        assert!(parse_expr("").is_err());
    }

    #[test]
    fn continuation_for_a_prompt() {
        assert!(continues_on_next_line("y ~ Normal(a,"));
        assert!(continues_on_next_line("mu = a +  # more below"));
        assert!(continues_on_next_line("data X = [age,\n  bmi"));
        assert!(continues_on_next_line("param a,"));
        assert!(!continues_on_next_line("y ~ Normal(a, b)"));
        assert!(!continues_on_next_line("mu = a + b  # done"));
        assert!(!continues_on_next_line(""));
        assert!(!continues_on_next_line("y ~ Normal(a, b))"));
    }

    #[test]
    fn messages_use_words_not_rule_names() {
        let srcs = [
            "y ~ Normal(a, b",
            "y ~",
            "y ~ Normal(a $ b)",
            "param data",
            "param s >",
            "y ~ Normal(1e, 2)",
            "a ~ Normal(0, 1) b ~ Normal(0, 1)",
            "y Normal(0, 1)",
            "data x: integer",
            "param beta[2.5]",
            "param s x",
            "y ~ Normal(a b)",
            "+ 3",
            "mu(x, 2) = a",
            "param p in 0",
            "data X = age",
            "const = 3",
            "y ~ Normal)",
            "f(x) = ",
            "param W[3, 4",
            "y ~ Normal(a, b))",
            "data",
            "param",
            "y",
        ];
        for src in srcs {
            for d in parse_program(src).unwrap_err() {
                let all = format!("{} {:?} {:?} {:?}", d.message, d.primary, d.notes, d.help);
                for bad in [
                    "_stmt", "_op", "lparen", "rparen", "EOI", "ident", "unary", "DEBUG",
                ] {
                    assert!(!all.contains(bad), "{src:?}: {all}");
                }
                assert!(d.primary.is_some(), "{src:?}");
            }
        }
    }

    #[test]
    fn helpful_messages_for_common_slips() {
        let first = |src: &str| parse_program(src).unwrap_err().remove(0);
        let d = first("param s >= 0");
        assert_eq!(d.message, "expected a lower bound after `>`");
        assert!(d.help.unwrap().starts_with("Write `>` alone"));
        assert!(first("param s > 0 < 1")
            .help
            .unwrap()
            .contains("in (lower, upper)"));
        assert!(first("param a b").help.unwrap().contains("`param a, b`"));
        assert_eq!(first("data").message, "expected a name after `data`");
        assert!(first("y ~ Normal(μ, 1)").help.unwrap().contains("letters"));
        assert_eq!(
            first("y ~ Normal)").message,
            "expected `(` after the distribution name"
        );
        assert_eq!(first("param W[3, 4").message, "expected `]`");
        assert_eq!(first("mu = a + b)").message, "unmatched `)`");
    }

    // Rendered diagnostics, as a user sees them.

    #[test]
    fn snapshot_missing_close_paren() {
        insta::assert_snapshot!(errors("y ~ Normal(mu(x), exp(c + d * x)\n"));
    }

    #[test]
    fn snapshot_missing_distribution() {
        insta::assert_snapshot!(errors("y ~\n"));
        insta::assert_snapshot!("missing_distribution_number", errors("y ~ 3 + x\n"));
        insta::assert_snapshot!("missing_distribution_parens", errors("y ~ Normal\n"));
    }

    #[test]
    fn snapshot_garbage_character() {
        insta::assert_snapshot!(errors("y ~ Normal(a $ b)\n"));
    }

    #[test]
    fn snapshot_reserved_word() {
        insta::assert_snapshot!(errors("param data\n"));
        insta::assert_snapshot!("reserved_word_as_function", errors("data = 3\n"));
    }

    #[test]
    fn snapshot_missing_bound() {
        insta::assert_snapshot!(errors("param s >\n"));
    }

    #[test]
    fn snapshot_bad_number() {
        insta::assert_snapshot!(errors("y ~ Normal(1e, 2)\n"));
        insta::assert_snapshot!("bad_number_juxtaposed", errors("mu = 2x + 1\n"));
    }

    #[test]
    fn snapshot_unterminated_at_end_of_file() {
        insta::assert_snapshot!(errors("param a\ny ~ Normal(a,\n"));
        insta::assert_snapshot!("unterminated_operator", errors("mu = a + b *"));
        insta::assert_snapshot!("unterminated_paren", errors("y ~ Normal(a, (b + c)"));
    }

    #[test]
    fn snapshot_two_statements_on_one_line() {
        insta::assert_snapshot!(errors("a ~ Normal(0, 1) b ~ Normal(0, 1)\n"));
    }

    #[test]
    fn snapshot_other_errors() {
        insta::assert_snapshot!("missing_operator", errors("y ~ Normal(a b)\n"));
        insta::assert_snapshot!("neither_tilde_nor_equals", errors("y Normal(0, 1)\n"));
        insta::assert_snapshot!("bad_data_kind", errors("data n: integer\n"));
        insta::assert_snapshot!("unmatched_paren", errors("y ~ Normal(a, b))\n"));
        insta::assert_snapshot!("expression_expected", errors("y ~ Normal(a, +)\n"));
        insta::assert_snapshot!(
            "several_errors",
            errors("param s >\n\ny ~ Normal(a $ b)\nz ~ Normal(0, 1)\nw ~\n")
        );
    }
}
