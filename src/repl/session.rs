//! The state of a REPL session and what one input does to it.
//!
//! A [`Session`] holds the model as a list of statements (each kept as the
//! source text it was typed or loaded as), the data file, and explicit
//! parameter values. [`Session::process`] takes one complete input (a
//! statement, an expression or a `:command`) and returns a [`Reply`]: the
//! text for standard output, the rendered diagnostics for standard error,
//! and whether it failed.
//!
//! Invariant: the committed model always passes the checker (apart from
//! lacking a likelihood statement while it is being built) and, when data is
//! loaded, loads and compiles on it. Every change is made on a candidate
//! copy that is checked in full first; a change that fails leaves the session
//! exactly as it was.

use std::ops::Range;
use std::path::PathBuf;

use crate::compile::{self, Compiled};
use crate::data::{self, DataSet, LoadOptions};
use crate::diag::{render, Diagnostic};
use crate::model::{self, Model};
use crate::optim::CancelFlag;
use crate::syntax::ast::{DataKind, Stmt, StmtKind};
use crate::syntax::{self, print_expr, print_stmt};

use super::lexer::{self, Token};

/// What one input produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reply {
    /// Results, for standard output.
    pub out: String,
    /// Rendered diagnostics (errors and warnings), for standard error.
    pub err: String,
    /// True when the input failed; the session is unchanged.
    pub failed: bool,
    /// True after `:quit`.
    pub quit: bool,
}

impl Reply {
    pub(super) fn out(text: impl Into<String>) -> Reply {
        Reply {
            out: text.into(),
            ..Reply::default()
        }
    }

    pub(super) fn fail(err: String) -> Reply {
        Reply {
            err,
            failed: true,
            ..Reply::default()
        }
    }
}

/// One statement of the model: its text and its syntax tree, whose spans
/// are offsets into `text`.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub text: String,
    pub stmt: Stmt,
}

/// The loaded data file.
#[derive(Debug, Clone)]
pub(super) struct DataFile {
    /// The path as the user wrote it, for messages.
    pub shown: String,
    pub path: PathBuf,
    /// Every column name in the file's header.
    pub header: Vec<String>,
}

/// The committed model, checked, with what was derived from it.
#[derive(Debug, Clone, Default)]
pub(super) struct Checked {
    /// The statements joined, one per line: the text spans point into.
    pub source: String,
    pub model: Model,
    /// The checker's error for a model without a likelihood statement,
    /// which is only an error for `:fit`.
    pub no_likelihood: Option<Diagnostic>,
    /// The model's columns of the data file, when one is loaded.
    pub data: Option<DataSet>,
    /// The model lowered on the data, when data is loaded.
    pub compiled: Option<Compiled>,
}

impl Checked {
    /// The model's warnings: those of its lowering on the data, or before
    /// data is loaded, those that hold whatever the data (a scale that can
    /// reach 0, parameters that enter only together).
    pub(super) fn warnings(&self) -> Vec<Diagnostic> {
        match &self.compiled {
            Some(c) => c.warnings.clone(),
            None if self.data.is_none() && self.no_likelihood.is_none() => {
                crate::compile::model_shape_diagnostics(&self.model)
                    .into_iter()
                    .filter(|d| !d.is_error())
                    .collect()
            }
            None => Vec::new(),
        }
    }
}

/// The checker's code for a model without a likelihood statement.
const NO_LIKELIHOOD: &str = "E217";

/// Where the text of a diagnostic's spans comes from.
pub(super) struct Origin<'a> {
    /// The model source the spans point into.
    pub source: &'a str,
    /// The part of `source` that is the input just typed, and the session
    /// line it was typed on: diagnostics inside it are shown as `<repl>`.
    pub input: Option<(Range<usize>, usize)>,
}

/// An interactive session: the model built so far, its data, parameter
/// values.
pub struct Session {
    pub(super) entries: Vec<Entry>,
    pub(super) checked: Checked,
    pub(super) data: Option<DataFile>,
    pub(super) load_opts: LoadOptions,
    /// Parameter values on the natural scale, by parameter or element name
    /// (`s`, `beta[2]`), from `:set` and `:fit`; other parameters are at
    /// their start values.
    pub(super) values: Vec<(String, f64)>,
    /// True while `values` are the estimates of the last `:fit` on the
    /// current model and data.
    pub(super) fitted: bool,
    /// Relative file names are taken from here; `None` for the current
    /// directory of the process, where they are used as typed.
    pub(super) dir: Option<PathBuf>,
    /// Lines read so far, to number the line of each input.
    pub(super) n_lines: usize,
    pub(super) color: bool,
    pub(super) cancel: CancelFlag,
    /// The model's warnings as last shown: each is shown once while its
    /// cause lasts.
    pub(super) warned: Vec<String>,
    /// Lines given to [`Session::feed_line`] of a statement not finished
    /// yet.
    pub(super) pending: String,
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Session {
    /// An empty session; relative paths in commands are taken from the
    /// current directory.
    pub fn new() -> Session {
        Session::in_dir(None)
    }

    /// An empty session whose relative paths in commands are taken from
    /// `dir` (or the current directory, for `None`).
    pub fn in_dir(dir: Option<PathBuf>) -> Session {
        Session {
            entries: Vec::new(),
            checked: Checked::default(),
            data: None,
            load_opts: LoadOptions::default(),
            values: Vec::new(),
            fitted: false,
            dir,
            n_lines: 0,
            color: false,
            cancel: CancelFlag::new(),
            warned: Vec::new(),
            pending: String::new(),
        }
    }

    /// Renders diagnostics with ANSI colours.
    pub fn with_color(mut self, color: bool) -> Session {
        self.color = color;
        self
    }

    /// Which rows of the data to keep, as `nll fit --drop-missing --where`.
    pub fn with_load_options(mut self, opts: LoadOptions) -> Session {
        self.load_opts = opts;
        self
    }

    /// The flag that stops a running `:fit` when raised (by Ctrl-C).
    pub fn cancel_flag(&self) -> CancelFlag {
        self.cancel.clone()
    }

    /// Every name a completion may offer: declared names, then the columns
    /// of the data file.
    pub fn names(&self) -> Vec<String> {
        let m = &self.checked.model;
        let mut out: Vec<String> = m.data.iter().map(|d| d.name.clone()).collect();
        out.extend(m.params.iter().map(|p| p.name.clone()));
        out.extend(m.consts.iter().map(|(n, _)| n.clone()));
        out.extend(m.funcs.iter().map(|f| f.name.clone()));
        if let Some(df) = &self.data {
            out.extend(df.header.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }

    /// Numbers the next input as line 1 (after commands given on the
    /// command line, so that a script's lines keep their numbers).
    pub fn restart_line_count(&mut self) {
        self.n_lines = 0;
    }

    /// The model as source text, one statement per line.
    pub fn model_text(&self) -> String {
        self.checked.source.clone()
    }

    /// Processes one complete input: a statement, an expression, or a
    /// `:command`. Several statements in one input (pasted lines) are
    /// processed in turn, as the lines of a script are: one that fails does
    /// not stop the others, and `:quit` stops all.
    pub fn process(&mut self, input: &str) -> Reply {
        let first_line = self.n_lines + 1;
        self.n_lines += input.split('\n').count();
        let mut reply = Reply::default();
        for (line_idx, text) in lexer::split_statements(input) {
            let r = self.process_one(text.trim_end(), first_line + line_idx);
            reply.out.push_str(&r.out);
            reply.err.push_str(&r.err);
            reply.failed |= r.failed;
            if r.quit {
                reply.quit = true;
                break;
            }
        }
        reply
    }

    /// Takes one line of a script. Once the lines given so far make a
    /// finished input (see [`lexer::is_unfinished`]), processes it and
    /// returns it with its reply; until then returns `None`.
    pub fn feed_line(&mut self, line: &str) -> Option<(String, Reply)> {
        if self.pending.is_empty() && line.trim().is_empty() {
            // A blank line between inputs only counts.
            self.n_lines += 1;
            return None;
        }
        if !self.pending.is_empty() {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        if lexer::is_unfinished(&self.pending) {
            return None;
        }
        self.finish()
    }

    /// At the end of a script: processes what is left of an unfinished
    /// input, if anything.
    pub fn finish(&mut self) -> Option<(String, Reply)> {
        if self.pending.is_empty() {
            return None;
        }
        let input = std::mem::take(&mut self.pending);
        let reply = self.process(&input);
        Some((input, reply))
    }

    fn process_one(&mut self, text: &str, line: usize) -> Reply {
        let toks = lexer::tokens(text);
        match toks.first() {
            None => Reply::default(),
            Some((Token::Command, _)) => self.command(text, line),
            Some(_) if is_statement(&toks) => self.statement(text, line),
            Some(_) => self.evaluate(text, line),
        }
    }

    /// A statement extends the model; one that declares a name already
    /// declared (or samples a left side already sampled) replaces the old
    /// definition.
    fn statement(&mut self, text: &str, line: usize) -> Reply {
        let stmt = match syntax::parse_statement(text) {
            Ok(s) => s,
            Err(diags) => return Reply::fail(self.render_input(&diags, text, 0, line)),
        };
        let names = declared_names(&stmt);
        let key = sample_key(&stmt);
        let (mut candidate, replaced) = self.entries_without(&names, key.as_deref());
        candidate.push(Entry {
            text: text.to_string(),
            stmt,
        });
        let mut reply = self.commit(candidate, Some(line), &names);
        if !reply.failed {
            reply.out = replaced.iter().map(|r| format!("replaced {r}\n")).collect();
        }
        reply
    }

    /// The entries with the declarations of `names` (and the sampling
    /// statement of left side `key`) taken out, and a description of each
    /// definition taken out.
    pub(super) fn entries_without(
        &self,
        names: &[String],
        key: Option<&str>,
    ) -> (Vec<Entry>, Vec<String>) {
        let mut kept = Vec::new();
        let mut gone = Vec::new();
        for e in &self.entries {
            let (rest, old) = without(e, names, key);
            gone.extend(old);
            kept.extend(rest);
        }
        (kept, gone)
    }

    /// Checks a candidate model in full and makes it the session's model when
    /// it passes. With `typed_line`, the last entry is the input typed on
    /// that line. The values of the parameters named in `forget` are
    /// dropped.
    pub(super) fn commit(
        &mut self,
        candidate: Vec<Entry>,
        typed_line: Option<usize>,
        forget: &[String],
    ) -> Reply {
        let (source, ranges) = join_entries(&candidate);
        let origin = Origin {
            source: &source,
            input: typed_line.and_then(|l| ranges.last().map(|r| (r.clone(), l))),
        };
        let checked = match self.check(&source, self.data.as_ref()) {
            Ok(c) => c,
            Err(diags) => return Reply::fail(self.render_at(&diags, &origin)),
        };
        let warnings = checked.warnings();
        let err = self.render_new_warnings(&warnings, &origin);
        self.entries = candidate;
        self.checked = checked;
        self.values
            .retain(|(n, _)| !forget.iter().any(|f| base_name(n) == f));
        self.fitted = false;
        Reply {
            err,
            ..Reply::default()
        }
    }

    /// Parses, checks, and (with data) loads and compiles the model `source`.
    /// A model without a likelihood statement passes: it is being built.
    pub(super) fn check(
        &self,
        source: &str,
        data: Option<&DataFile>,
    ) -> Result<Checked, Vec<Diagnostic>> {
        let program = syntax::parse_program(source)?;
        let (model, diags) = model::check(&program);
        let (no_likelihood, errors): (Vec<Diagnostic>, Vec<Diagnostic>) = diags
            .into_iter()
            .filter(|d| d.is_error())
            .partition(|d| d.code == NO_LIKELIHOOD);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut checked = Checked {
            source: source.to_string(),
            model,
            no_likelihood: no_likelihood.into_iter().next(),
            data: None,
            compiled: None,
        };
        if let Some(df) = data {
            // The loaded columns are kept while the model asks for the same
            // ones of the same loaded file; `:data` passes a new `DataFile`,
            // so it always reads the file.
            let requests = compile::column_requests(&checked.model);
            let same_file = self.data.as_ref().is_some_and(|d| std::ptr::eq(d, df));
            let ds = match &self.checked.data {
                Some(ds)
                    if same_file && compile::column_requests(&self.checked.model) == requests =>
                {
                    ds.clone()
                }
                _ => self.load_data(df, &checked.model)?,
            };
            let compiled = compile::compile(&checked.model, &ds, &ds.source_rows)?;
            checked.data = Some(ds);
            checked.compiled = Some(compiled);
        }
        Ok(checked)
    }

    /// The columns `model` declares, read from the data file.
    pub(super) fn load_data(
        &self,
        df: &DataFile,
        model: &Model,
    ) -> Result<DataSet, Vec<Diagnostic>> {
        data::load_file(&df.path, &compile::column_requests(model), &self.load_opts)
            .map_err(|e| e.to_diagnostics(&df.shown))
    }

    /// The model compiled: on the data when it is loaded, else on no rows
    /// (which needs a model without factors).
    pub(super) fn compiled(&self) -> Result<Compiled, Vec<Diagnostic>> {
        if let Some(c) = &self.checked.compiled {
            return Ok(c.clone());
        }
        let model = &self.checked.model;
        if let Some(dv) = model.data.iter().find(|d| d.kind == DataKind::Factor) {
            return Err(vec![Diagnostic::error(
                "E003",
                format!(
                    "the levels of factor `{}` decide the model's parameters, and no data is loaded",
                    dv.name
                ),
            )
            .with_primary(dv.span, "a factor")
            .with_help("Load the data with `:data FILE`.")]);
        }
        let ds = DataSet::empty(&compile::column_requests(model));
        compile::compile(model, &ds, &ds.source_rows)
    }

    /// Theta at the current parameter values.
    pub(super) fn theta(&self, c: &Compiled) -> Result<Vec<f64>, Diagnostic> {
        // A value whose element no longer exists (the levels of a factor
        // changed with new data) is left out rather than refused.
        let starts = self
            .values
            .iter()
            .filter(|(n, _)| c.params.iter().any(|p| p.name == *n || p.param == *n))
            .cloned()
            .collect();
        let opts = crate::infer::FitOptions {
            starts,
            ..Default::default()
        };
        crate::infer::start_theta(c, &opts)
    }

    /// Resolves a path typed in a command.
    pub(super) fn resolve(&self, path: &str) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.join(path),
            None => PathBuf::from(path),
        }
    }

    // -----------------------------------------------------------------------
    // Rendering
    // -----------------------------------------------------------------------

    /// Renders diagnostics whose spans are offsets into `text` (plus
    /// `offset`), typed on session line `line`, as `<repl>:LINE:COLUMN`.
    pub(super) fn render_input(
        &self,
        diags: &[Diagnostic],
        text: &str,
        offset: usize,
        line: usize,
    ) -> String {
        // Blank lines before the input make the reported line number the
        // session line.
        let pad = "\n".repeat(line.saturating_sub(1));
        let source = format!("{pad}{text}");
        diags
            .iter()
            .map(|d| render(&shift(d, pad.len() + offset), "<repl>", &source, self.color))
            .collect()
    }

    /// Renders diagnostics about a model source: those inside the typed
    /// input as `<repl>`, the others against the whole model as `<model>`.
    pub(super) fn render_at(&self, diags: &[Diagnostic], origin: &Origin) -> String {
        let mut out = String::new();
        for d in diags {
            // A diagnostic is shown on the input when all its labels are
            // there; one with a label elsewhere in the model (`declared
            // here`) is shown on the whole model, so that no label is lost.
            // A label at the very end of the input ("found end of input")
            // belongs to the input.
            let has_labels = d.primary.is_some() || !d.secondary.is_empty();
            let in_input = |r: &Range<usize>| {
                let mut labels = d.primary.iter().chain(&d.secondary);
                has_labels && labels.all(|l| r.contains(&l.span.start) || l.span.start == r.end)
            };
            match &origin.input {
                Some((range, line)) if in_input(range) => {
                    let inside = shift_back(d, range.start);
                    let text = &origin.source[range.clone()];
                    out.push_str(&self.render_input(&[inside], text, 0, *line));
                }
                _ => out.push_str(&render(d, "<model>", origin.source, self.color)),
            }
        }
        out
    }

    /// Renders those of the model's current `warnings` not shown before,
    /// and remembers the current ones.
    pub(super) fn render_new_warnings(
        &mut self,
        warnings: &[Diagnostic],
        origin: &Origin,
    ) -> String {
        let mut out = String::new();
        let mut now = Vec::new();
        for w in warnings {
            let key = format!("{} {}", w.code, w.message);
            if !self.warned.contains(&key) {
                out.push_str(&self.render_at(std::slice::from_ref(w), origin));
            }
            now.push(key);
        }
        // A warning whose cause went away is forgotten, so it is shown
        // again if the cause comes back.
        self.warned = now;
        out
    }
}

/// Whether tokens read as a statement rather than an expression: a
/// declaration keyword first, or a `~` or `=` outside brackets.
fn is_statement(toks: &[(Token, Range<usize>)]) -> bool {
    if matches!(toks.first(), Some((Token::Keyword, _))) {
        return true;
    }
    let mut depth = 0usize;
    for (t, _) in toks {
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Tilde | Token::Eq if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// The names a statement declares.
pub(super) fn declared_names(stmt: &Stmt) -> Vec<String> {
    match &stmt.kind {
        StmtKind::Data(decls) => decls.iter().map(|d| d.name.name.clone()).collect(),
        StmtKind::Param(decls) => decls.iter().map(|p| p.name.name.clone()).collect(),
        StmtKind::Const { name, .. } | StmtKind::Func { name, .. } => vec![name.name.clone()],
        StmtKind::Sample { .. } => Vec::new(),
    }
}

/// The left side of a sampling statement as canonical text.
pub(super) fn sample_key(stmt: &Stmt) -> Option<String> {
    match &stmt.kind {
        StmtKind::Sample { lhs, .. } => Some(print_expr(lhs)),
        _ => None,
    }
}

/// An entry with the declarations of `names` taken out (and, with `key`,
/// the sampling statement of that left side): what is left of it, if
/// anything, and a description of each definition taken out.
fn without(e: &Entry, names: &[String], key: Option<&str>) -> (Option<Entry>, Vec<String>) {
    let hit = |n: &str| names.iter().any(|m| m == n);
    let shown = |s: &Stmt| format!("`{}`", one_line(&print_stmt(s)));
    match &e.stmt.kind {
        StmtKind::Data(decls) if decls.iter().any(|d| hit(&d.name.name)) => {
            take_out(e, decls, |d| &d.name.name, hit, StmtKind::Data)
        }
        StmtKind::Param(decls) if decls.iter().any(|p| hit(&p.name.name)) => {
            take_out(e, decls, |p| &p.name.name, hit, StmtKind::Param)
        }
        StmtKind::Const { name, .. } | StmtKind::Func { name, .. } if hit(&name.name) => (
            None,
            vec![format!("`{}` (was {})", name.name, shown(&e.stmt))],
        ),
        StmtKind::Sample { lhs, .. } if key == Some(print_expr(lhs).as_str()) => (
            None,
            vec![format!(
                "the statement for `{}` (was {})",
                print_expr(lhs),
                shown(&e.stmt)
            )],
        ),
        _ => (Some(e.clone()), Vec::new()),
    }
}

/// The declarations of a `data` or `param` entry without those `hit` names:
/// what is left of the entry, and a description of each declaration taken
/// out.
fn take_out<T: Clone>(
    e: &Entry,
    decls: &[T],
    name: impl Fn(&T) -> &String,
    hit: impl Fn(&str) -> bool,
    wrap: impl Fn(Vec<T>) -> StmtKind,
) -> (Option<Entry>, Vec<String>) {
    let (gone, kept): (Vec<T>, Vec<T>) = decls.iter().cloned().partition(|d| hit(name(d)));
    let described = gone
        .iter()
        .map(|d| {
            let alone = Stmt {
                kind: wrap(vec![d.clone()]),
                span: e.stmt.span,
            };
            format!("`{}` (was `{}`)", name(d), one_line(&print_stmt(&alone)))
        })
        .collect();
    let rest = (!kept.is_empty()).then(|| wrap(kept));
    (rebuilt(e, rest), described)
}

/// The entry with a new statement kind, printed as canonical text; `None`
/// when nothing is left of it.
fn rebuilt(e: &Entry, kind: Option<StmtKind>) -> Option<Entry> {
    let kind = kind?;
    let text = print_stmt(&Stmt {
        kind,
        span: e.stmt.span,
    });
    let stmt = syntax::parse_statement(&text).ok()?;
    Some(Entry { text, stmt })
}

/// Joins entries into one model source, one statement per line; returns
/// the source and each entry's range in it.
pub(super) fn join_entries(entries: &[Entry]) -> (String, Vec<Range<usize>>) {
    let mut source = String::new();
    let mut ranges = Vec::new();
    for e in entries {
        let start = source.len();
        source.push_str(&e.text);
        ranges.push(start..source.len());
        source.push('\n');
    }
    (source, ranges)
}

/// The parameter an element name belongs to: `beta` for `beta[2]`.
pub(super) fn base_name(name: &str) -> &str {
    name.split('[').next().unwrap_or(name).trim()
}

/// Text on one line, for a message.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A diagnostic with every span moved `by` bytes later.
fn shift(d: &Diagnostic, by: usize) -> Diagnostic {
    let mut d = d.clone();
    for l in d.primary.iter_mut().chain(d.secondary.iter_mut()) {
        l.span.start += by;
        l.span.end += by;
    }
    d
}

/// A diagnostic with every span moved `by` bytes earlier.
fn shift_back(d: &Diagnostic, by: usize) -> Diagnostic {
    let mut d = d.clone();
    for l in d.primary.iter_mut().chain(d.secondary.iter_mut()) {
        l.span.start = l.span.start.saturating_sub(by);
        l.span.end = l.span.end.saturating_sub(by);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Entry {
        Entry {
            text: text.to_string(),
            stmt: syntax::parse_statement(text).expect("parses"),
        }
    }

    #[test]
    fn statements_and_expressions_are_told_apart() {
        let is_stmt = |t: &str| is_statement(&lexer::tokens(t));
        assert!(is_stmt("data x"));
        assert!(is_stmt("mu(x) = a + x"));
        assert!(is_stmt("y ~ Normal(0, 1)"));
        assert!(!is_stmt("mu(x) + 1"));
        assert!(!is_stmt("pow(a, b)"));
    }

    #[test]
    fn one_declaration_is_taken_out_of_several() {
        let names = vec!["b".to_string()];
        let (rest, gone) = without(&entry("param a, b > 0, c"), &names, None);
        assert_eq!(rest.map(|e| e.text), Some("param a, c".to_string()));
        assert_eq!(gone, vec!["`b` (was `param b > 0`)".to_string()]);

        let (rest, gone) = without(&entry("param b"), &names, None);
        assert!(rest.is_none());
        assert_eq!(gone.len(), 1);
    }

    #[test]
    fn sampling_statements_are_matched_by_their_left_side() {
        let e = entry("log(y) ~ Normal(mu,\n  s)");
        let (rest, gone) = without(&e, &[], Some("log(y)"));
        assert!(rest.is_none());
        assert_eq!(
            gone,
            vec!["the statement for `log(y)` (was `log(y) ~ Normal(mu, s)`)".to_string()]
        );
        let (rest, _) = without(&e, &[], Some("y"));
        assert!(rest.is_some());
    }

    #[test]
    fn element_names_belong_to_their_parameter() {
        assert_eq!(base_name("beta[3]"), "beta");
        assert_eq!(base_name("W[2,1]"), "W");
        assert_eq!(base_name("s"), "s");
    }
}
