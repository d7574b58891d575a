//! The `:commands` of the REPL, and expressions typed on their own.
//!
//! Each command works on the [`Session`] through the same steps as the
//! command line: `:fit` runs [`crate::infer::fit`] and prints the report
//! `nll fit` prints, `:explain` and `:compile` print what `nll explain` and
//! `nll compile` print. A command that fails changes nothing.

use std::fmt::Write;

use crate::data;
use crate::diag::{suggest, Diagnostic};
use crate::infer::{self, fmt_num, FitOptions};
use crate::syntax::{self, ast::Expr};

use super::session::{base_name, join_entries, DataFile, Entry, Origin, Reply, Session};

/// A REPL command, as `:help` lists it.
#[derive(Debug, Clone, Copy)]
pub struct CommandDoc {
    /// `:load`.
    pub name: &'static str,
    /// Its arguments, `FILE`; empty when it takes none.
    pub args: &'static str,
    /// What it does, in a phrase.
    pub about: &'static str,
}

const fn doc(name: &'static str, args: &'static str, about: &'static str) -> CommandDoc {
    CommandDoc { name, args, about }
}

/// Every command, for `:help`, completion and the check of arguments.
pub const COMMANDS: &[CommandDoc] = &[
    doc(
        ":load",
        "FILE",
        "replace the model with the statements of a .nll file",
    ),
    doc(
        ":data",
        "FILE",
        "load a CSV data file for the model's columns",
    ),
    doc(
        ":fit",
        "",
        "fit the model to the data; the estimates become the parameter values",
    ),
    doc(
        ":params",
        "",
        "show the parameters and their current values",
    ),
    doc(
        ":set",
        "NAME = VALUE",
        "set a parameter (or an element, `beta[2]`) to a value",
    ),
    doc(
        ":nll",
        "",
        "the negative log-likelihood at the current values",
    ),
    doc(":grad", "", "its gradient at the current values"),
    doc(
        ":explain",
        "",
        "the model's NLL written as mathematics, as `nll explain`",
    ),
    doc(":compile", "", "the compiled graph, as `nll compile`"),
    doc(":model", "", "the current model as source text"),
    doc(":save", "FILE", "write the model to a .nll file"),
    doc(
        ":drop",
        "NAME",
        "remove a declaration, or the statement for a left side (`:drop y ~`)",
    ),
    doc(
        ":reset",
        "",
        "forget the model, the data and the parameter values",
    ),
    doc(":help", "", "this list"),
    doc(":quit", "", "leave (Ctrl-D does too)"),
];

impl Session {
    /// Runs a `:command` line typed on session line `line`.
    pub(super) fn command(&mut self, text: &str, line: usize) -> Reply {
        let text = strip_comment(text).trim();
        let (word, rest) = match text.find(char::is_whitespace) {
            Some(i) => (&text[..i], text[i..].trim()),
            None => (text, ""),
        };
        let arg_offset = text.len() - rest.len();
        let needs = COMMANDS.iter().find(|c| c.name == word).map(|c| c.args);
        if let Some(args) = needs.filter(|a| !a.is_empty() && rest.is_empty()) {
            return self.usage(text, word, args, line);
        }
        match word {
            ":load" => self.cmd_load(rest),
            ":data" => self.cmd_data(rest),
            ":fit" => self.cmd_fit(),
            ":params" => self.cmd_params(),
            ":set" => self.cmd_set(text, rest, arg_offset, line),
            ":nll" => self.cmd_nll(),
            ":grad" => self.cmd_grad(),
            ":explain" => Reply::out(crate::explain::explain(
                &self.checked.model,
                &self.checked.source,
                false,
            )),
            ":compile" => match self.compiled() {
                Ok(c) => Reply::out(c.to_text(crate::compile::Show::default())),
                Err(d) => Reply::fail(self.render_model(&d)),
            },
            ":model" => Reply::out(self.model_text()),
            ":save" => self.cmd_save(rest),
            ":drop" => self.cmd_drop(rest, line),
            ":reset" => {
                let fresh = Session::in_dir(self.dir.clone())
                    .with_color(self.color)
                    .with_load_options(self.load_opts.clone());
                let (cancel, n_lines) = (self.cancel.clone(), self.n_lines);
                *self = Session {
                    cancel,
                    n_lines,
                    ..fresh
                };
                Reply::out("cleared the model, the data and the parameter values\n")
            }
            ":help" => Reply::out(help_text()),
            ":quit" | ":q" | ":exit" => Reply {
                quit: true,
                ..Reply::default()
            },
            _ => {
                let names = COMMANDS.iter().map(|c| c.name);
                let mut d = Diagnostic::error("E005", format!("unknown command `{word}`"))
                    .with_primary(crate::diag::Span::new(0, word.len()), "not a command");
                d = match suggest::closest(word, names) {
                    Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                    None => d.with_help("Type `:help` for the list of commands."),
                };
                Reply::fail(self.render_input(&[d], text, 0, line))
            }
        }
    }

    /// The error for a command typed without the arguments it needs.
    fn usage(&self, text: &str, cmd: &str, args: &str, line: usize) -> Reply {
        let d = Diagnostic::error("E005", format!("`{cmd}` needs {args}"))
            .with_primary(crate::diag::Span::new(0, text.len()), "incomplete")
            .with_help(format!("Write `{cmd} {args}`; `:help` lists the commands."));
        Reply::fail(self.render_input(&[d], text, 0, line))
    }

    fn render_model(&self, diags: &[Diagnostic]) -> String {
        let origin = Origin {
            source: &self.checked.source,
            input: None,
        };
        self.render_at(diags, &origin)
    }

    fn cmd_load(&mut self, file: &str) -> Reply {
        let path = self.resolve(file);
        let source = match syntax::read_model_file(&path, file) {
            Ok(s) => s,
            Err(d) => return Reply::fail(self.render_model(&[d])),
        };
        // Errors in the file are shown against the file itself.
        let program = match syntax::parse_program(&source) {
            Ok(p) => p,
            Err(diags) => return Reply::fail(self.render_file(&diags, file, &source)),
        };
        if let Err(diags) = self.check(&source, None) {
            return Reply::fail(self.render_file(&diags, file, &source));
        }
        let mut candidate = Vec::new();
        for stmt in &program.stmts {
            let text = source[stmt.span.start..stmt.span.end].to_string();
            match syntax::parse_statement(&text) {
                Ok(stmt) => candidate.push(Entry { text, stmt }),
                Err(diags) => return Reply::fail(self.render_file(&diags, file, &source)),
            }
        }
        let n = candidate.len();
        let all: Vec<String> = self.values.iter().map(|(n, _)| n.clone()).collect();
        let reply = self.commit(candidate, None, &all);
        if reply.failed {
            return reply;
        }
        Reply {
            out: format!("loaded {file}: {}\n", crate::model::plural(n, "statement")),
            ..reply
        }
    }

    fn render_file(&self, diags: &[Diagnostic], name: &str, source: &str) -> String {
        diags
            .iter()
            .map(|d| crate::diag::render(d, name, source, self.color))
            .collect()
    }

    fn cmd_data(&mut self, file: &str) -> Reply {
        let path = self.resolve(file);
        // `:save` must not replace the data (the model file it may).
        crate::fsutil::protect_input(&path);
        // `:data` is a request to read the file now: a pipe given again is
        // read again, not served from what it gave before.
        data::forget_piped(&path);
        let header = match data::read_header(&path) {
            Ok(h) => h,
            Err(e) => return Reply::fail(self.render_model(&e.to_diagnostics(file))),
        };
        let df = DataFile {
            shown: file.to_string(),
            path,
            header,
        };
        // The whole file is read once, for its rows, even before the model
        // asks for any column.
        let rows = match data::load_file(&df.path, &[], &self.load_opts) {
            Ok(ds) => ds.n_rows,
            Err(e) => return Reply::fail(self.render_model(&e.to_diagnostics(file))),
        };
        let checked = match self.check(&self.checked.source.clone(), Some(&df)) {
            Ok(c) => c,
            Err(diags) => return Reply::fail(self.render_model(&diags)),
        };
        let origin_source = checked.source.clone();
        let warnings = checked.warnings();
        // Rows the model leaves out (`--drop-missing`, `--where` on its
        // columns) are said apart.
        let used = match checked.compiled.as_ref().map(|c| c.n_rows) {
            Some(n) if n != rows => format!(" ({n} used by the model)"),
            _ => String::new(),
        };
        let out = format!(
            "data {file}: {}{used}, columns {}\n",
            crate::model::plural(rows, "row"),
            df.header.join(", ")
        );
        self.checked = checked;
        self.data = Some(df);
        self.fitted = false;
        let origin = Origin {
            source: &origin_source,
            input: None,
        };
        let err = self.render_new_warnings(&warnings, &origin);
        Reply {
            out,
            err,
            ..Reply::default()
        }
    }

    fn cmd_fit(&mut self) -> Reply {
        if self.checked.compiled.is_none() {
            let d = Diagnostic::error("E002", "`:fit` needs data")
                .with_help("Load the data with `:data FILE.csv`.");
            return Reply::fail(self.render_model(&[d]));
        }
        if let Some(d) = &self.checked.no_likelihood {
            return Reply::fail(self.render_model(std::slice::from_ref(d)));
        }
        let (compiled, theta) = match self.at_values(true) {
            Ok(x) => x,
            Err(r) => return r,
        };
        // The fit starts at the current values, given as start values.
        let starts = compiled
            .params
            .iter()
            .zip(&theta)
            .map(|(p, t)| (p.name.clone(), p.transform.to_natural(*t)))
            .collect();
        let opts = FitOptions {
            starts,
            cancel: Some(self.cancel.clone()),
            ..FitOptions::default()
        };
        let mut report = match infer::fit(&compiled, &opts) {
            Ok(r) => r,
            Err(diags) => return Reply::fail(self.render_model(&diags)),
        };
        if let Some(ds) = &self.checked.data {
            report.n_dropped = ds.n_dropped;
        }
        self.values = compiled
            .params
            .iter()
            .zip(&report.theta)
            // Kept strictly inside the constraints, so that the next fit
            // can start from them.
            .map(|(p, t)| {
                let natural = p.transform.to_natural(*t);
                (p.name.clone(), p.transform.inside(natural))
            })
            .collect();
        self.fitted = true;
        Reply::out(report.to_text())
    }

    fn cmd_params(&self) -> Reply {
        let (c, theta) = match self.at_values(false) {
            Ok(x) => x,
            Err(r) => return r,
        };
        if c.params.is_empty() {
            return Reply::out("no parameters\n");
        }
        let w = name_width(&c);
        let mut out = String::new();
        let _ = writeln!(out, "{:<w$}  {:>14}  constraint", "parameter", "value");
        for (p, t) in c.params.iter().zip(&theta) {
            let value = num(p.transform.to_natural(*t));
            let _ = writeln!(
                out,
                "{:<w$}  {value:>14}  {}",
                p.name,
                p.transform.describe()
            );
        }
        let _ = writeln!(
            out,
            "({})",
            if self.fitted {
                "estimates of the last :fit"
            } else if self.values.is_empty() {
                "start values"
            } else {
                "start values, overridden by :set or an earlier :fit"
            }
        );
        Reply::out(trim_lines(&out))
    }

    fn cmd_set(&mut self, text: &str, rest: &str, offset: usize, line: usize) -> Reply {
        let Some((name, value)) = rest.split_once('=').filter(|(n, _)| !n.trim().is_empty()) else {
            return self.usage(text, ":set", "NAME = VALUE", line);
        };
        let name = name.trim().replace(' ', "");
        let value_offset = offset + rest.find('=').unwrap_or(0) + 1;
        let expr = match syntax::parse_expr(value) {
            Ok(e) => e,
            Err(diags) => return Reply::fail(self.render_input(&diags, text, value_offset, line)),
        };
        let v = match crate::model::eval_const(&expr, &self.checked.model.consts) {
            Ok(v) => v,
            Err(d) => return Reply::fail(self.render_input(&[d], text, value_offset, line)),
        };
        let c = match self.compiled() {
            Ok(c) => c,
            Err(d) => return Reply::fail(self.render_model(&d)),
        };
        let matching: Vec<_> = c
            .params
            .iter()
            .filter(|p| p.name == name || p.param == name)
            .collect();
        if matching.is_empty() {
            let names = c.params.iter().map(|p| p.name.as_str());
            let typed = rest[..rest.find('=').unwrap_or(0)].trim_end();
            let span = crate::diag::Span::new(offset, offset + typed.len());
            let mut d = Diagnostic::error("E502", format!("unknown parameter `{name}`"))
                .with_primary(span, "not a parameter");
            d = match suggest::closest(&name, names) {
                Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                None => d.with_help("Type `:params` for the list of parameters."),
            };
            return Reply::fail(self.render_input(&[d], text, 0, line));
        }
        if let Some(p) = matching.iter().find(|p| !p.transform.admits(v)) {
            let d = Diagnostic::error(
                "E501",
                format!(
                    "{v} is outside the constraint {} of `{}`",
                    p.transform.describe(),
                    p.name
                ),
            )
            .with_primary(
                crate::diag::Span::new(
                    value_offset + value.len() - value.trim_start().len(),
                    text.len(),
                ),
                "outside the constraint",
            )
            .with_help("Choose a value strictly inside the constraint.");
            return Reply::fail(self.render_input(&[d], text, 0, line));
        }
        // A whole parameter replaces the values of its elements.
        let whole = matching.iter().any(|p| p.param == name && p.name != name);
        self.values
            .retain(|(n, _)| *n != name && !(whole && base_name(n) == name));
        self.values.push((name.clone(), v));
        self.fitted = false;
        Reply::out(format!("{name} = {}\n", num(v)))
    }

    fn cmd_nll(&self) -> Reply {
        let (c, theta) = match self.at_values(true) {
            Ok(x) => x,
            Err(r) => return r,
        };
        if let Err(d) = infer::check_start(&c, &theta) {
            return Reply::fail(self.render_model(&[d]));
        }
        // c.nll is what a fit minimises: the data's NLL plus the priors'
        // negative log-densities. The NLL is the data's alone, as the fit
        // report's; the sum is shown beside it.
        let objective = c.eval_scalars(&[c.nll], &theta)[0];
        match infer::prior_total(&c, &theta) {
            Some(prior) => Reply::out(format!(
                "nll = {}\nnll + priors = {} (what a fit minimises)\n",
                num(objective - prior),
                num(objective)
            )),
            None => Reply::out(format!("nll = {}\n", num(objective))),
        }
    }

    fn cmd_grad(&self) -> Reply {
        let (c, theta) = match self.at_values(true) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let grad = c.eval_scalars(&c.grad, &theta);
        let w = name_width(&c);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<w$}  {:>14}  {:>14}",
            "parameter", "d nll / d x", "d nll / d theta"
        );
        for ((p, g), t) in c.params.iter().zip(&grad).zip(&theta) {
            // d nll / d x = (d nll / d theta) / (dx / dtheta).
            let natural = g / p.transform.jacobian(*t);
            let _ = writeln!(out, "{:<w$}  {:>14}  {:>14}", p.name, num(natural), num(*g));
        }
        let _ = writeln!(
            out,
            "(x is the parameter as declared, theta its unconstrained coordinate)"
        );
        Reply::out(out)
    }

    /// The compiled model, and theta at the current values. With
    /// `needs_data`, the model must be compiled on loaded data (the NLL
    /// of no rows would mislead); otherwise no rows will do.
    fn at_values(&self, needs_data: bool) -> Result<(crate::compile::Compiled, Vec<f64>), Reply> {
        if needs_data && self.checked.compiled.is_none() {
            let d = Diagnostic::error("E002", "the NLL needs data")
                .with_help("Load the data with `:data FILE.csv`.");
            return Err(Reply::fail(self.render_model(&[d])));
        }
        let c = self
            .compiled()
            .map_err(|d| Reply::fail(self.render_model(&d)))?;
        let theta = self
            .theta(&c)
            .map_err(|d| Reply::fail(self.render_model(&[d])))?;
        Ok((c, theta))
    }

    fn cmd_save(&self, file: &str) -> Reply {
        let path = self.resolve(file);
        let mut text = self.model_text();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        match crate::fsutil::write_atomically(&path, text.as_bytes()) {
            Ok(()) => Reply::out(format!(
                "saved {} to {file}\n",
                crate::model::plural(self.entries.len(), "statement")
            )),
            Err(e) => {
                let d = Diagnostic::error("E006", format!("cannot write `{file}`: {e}"));
                Reply::fail(self.render_model(&[d]))
            }
        }
    }

    fn cmd_drop(&mut self, what: &str, line: usize) -> Reply {
        let text = format!(":drop {what}");
        let (names, key) = match what.strip_suffix('~') {
            Some(lhs) => match syntax::parse_expr(lhs.trim()) {
                Ok(e) => (Vec::new(), Some(syntax::print_expr(&e))),
                Err(diags) => return Reply::fail(self.render_input(&diags, &text, 6, line)),
            },
            None => (vec![what.to_string()], None),
        };
        let (candidate, dropped) = self.entries_without(&names, key.as_deref());
        if dropped.is_empty() {
            let d = Diagnostic::error("E005", format!("nothing named `{what}` in the model"))
                .with_primary(crate::diag::Span::new(6, text.len()), "not found")
                .with_help("Type `:model` to see the model.");
            return Reply::fail(self.render_input(&[d], &text, 0, line));
        }
        if let Some(reply) = self.still_used(&names, &candidate) {
            return reply;
        }
        let mut reply = self.commit(candidate, None, &names);
        if !reply.failed {
            reply.out = dropped.iter().map(|d| format!("dropped {d}\n")).collect();
        }
        reply
    }

    /// When the model without the dropped `names` still uses one of them,
    /// the failure (E007) saying where; the model is left as it was.
    fn still_used(&self, names: &[String], candidate: &[Entry]) -> Option<Reply> {
        let (source, _) = join_entries(candidate);
        let diags = self.check(&source, self.data.as_ref()).err()?;
        for name in names {
            // The checker's "unknown name" (or function) errors at the uses.
            let unknown = [
                format!("unknown name `{name}`"),
                format!("unknown function `{name}`"),
            ];
            let uses: Vec<crate::diag::Span> = diags
                .iter()
                .filter(|d| d.is_error() && unknown.contains(&d.message))
                .filter_map(|d| d.primary.as_ref().map(|l| l.span))
                .collect();
            if uses.is_empty() {
                continue;
            }
            // Shown on the model as it is (and stays), not as it would be.
            let (current, uses) = match to_current(&self.entries, candidate, &uses) {
                Some(mapped) => (join_entries(&self.entries).0, mapped),
                None => (source.clone(), uses),
            };
            let first = &uses[0];
            let (line, col) = line_col(&current, first.start);
            let mut d = Diagnostic::error(
                "E007",
                format!("cannot drop `{name}`: it is used at <model>:{line}:{col}"),
            )
            .with_primary(*first, "still used here")
            .with_note("The model is unchanged.")
            .with_help(format!(
                "Change or drop what uses `{name}` first, then drop it."
            ));
            for other in &uses[1..] {
                d = d.with_secondary(*other, "and here");
            }
            let origin = Origin {
                source: &current,
                input: None,
            };
            return Some(Reply::fail(self.render_at(&[d], &origin)));
        }
        None
    }

    /// Evaluates an expression typed on its own at the current values: a
    /// number prints as is; a value per data row prints as a summary.
    pub(super) fn evaluate(&mut self, text: &str, line: usize) -> Reply {
        let expr: Expr = match syntax::parse_expr(text) {
            Ok(e) => e,
            Err(diags) => return Reply::fail(self.render_input(&diags, text, 0, line)),
        };
        let diags = crate::model::check_expr(&self.checked.model, &expr);
        if diags.iter().any(|d| d.is_error()) {
            return Reply::fail(self.render_input(&diags, text, 0, line));
        }
        let theta = match self.at_values(false) {
            Ok((_, theta)) => theta,
            Err(r) => return r,
        };
        let empty;
        let ds = match &self.checked.data {
            Some(ds) => ds,
            None => {
                empty = data::DataSet::empty(&crate::compile::column_requests(&self.checked.model));
                &empty
            }
        };
        let probes = std::slice::from_ref(&expr);
        let (c, nodes) = match crate::compile::compile_probes(
            &self.checked.model,
            ds,
            &ds.source_rows,
            probes,
        ) {
            Ok(x) => x,
            Err(diags) => return Reply::fail(self.render_input(&diags, text, 0, line)),
        };
        let node = nodes[0];
        if !c.graph.is_row(node) {
            let v = c.eval_scalars(&[node], &theta)[0];
            return Reply::out(format!("{}\n", num(v)));
        }
        if self.checked.data.is_none() {
            let d = Diagnostic::error(
                "E004",
                "this expression has a value per data row, and no data is loaded",
            )
            .with_primary(expr.span, "uses data")
            .with_help("Load the data with `:data FILE.csv`.");
            return Reply::fail(self.render_input(&[d], text, 0, line));
        }
        let values = c.eval_rows(&[node], &theta).pop().unwrap_or_default();
        Reply::out(summary(&values))
    }
}

/// A number as the fit report writes it, with 0 for -0.
fn num(v: f64) -> String {
    fmt_num(if v == 0.0 { 0.0 } else { v })
}

/// The width of a table's first column: the longest element name, and at
/// least the heading `parameter`.
fn name_width(c: &crate::compile::Compiled) -> usize {
    let longest = c.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
    longest.max("parameter".len())
}

/// n, mean, standard deviation, minimum and maximum of the finite values,
/// and how many are not finite.
fn summary(values: &[f64]) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    let mut out = format!("n = {n}");
    if n > 0 {
        let mean = finite.iter().sum::<f64>() / n as f64;
        // Sample standard deviation, with n - 1 in the denominator.
        let ss: f64 = finite.iter().map(|v| (v - mean).powi(2)).sum();
        let sd = if n > 1 {
            (ss / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let _ = write!(
            out,
            "  mean = {}  sd = {}  min = {}  max = {}",
            num(mean),
            num(sd),
            num(min),
            num(max)
        );
    }
    let n_bad = values.len() - n;
    if n_bad > 0 {
        let _ = write!(out, "  ({n_bad} not finite)");
    }
    out.push('\n');
    out
}

/// The text of `:help`.
pub fn help_text() -> String {
    let mut out = String::from(
        "Type a statement to add it to the model (a name declared again replaces its\n\
         old definition), or an expression to evaluate it at the current values.\n\n",
    );
    for c in COMMANDS {
        let usage = format!("{} {}", c.name, c.args);
        let _ = writeln!(out, "  {:<20} {}", usage.trim_end(), c.about);
    }
    out.push_str("\nKeys: Tab completes, Ctrl-R searches the history, Ctrl-C cancels the input\nor a running fit, Ctrl-D leaves.\n");
    out
}

/// Text without spaces at the ends of its lines.
fn trim_lines(text: &str) -> String {
    text.lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// A command line without its comment.
fn strip_comment(text: &str) -> &str {
    text.split('#').next().unwrap_or(text)
}

/// The line and column (from 1, in characters) of byte offset `at`.
fn line_col(source: &str, at: usize) -> (usize, usize) {
    let before = source.get(..at).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// Spans in the model joined from `candidate` (the session's `entries`
/// with some taken out or shortened) moved to where the same text is in
/// the model joined from `entries`; `None` when one lies in an entry that
/// changed.
fn to_current(
    entries: &[Entry],
    candidate: &[Entry],
    spans: &[crate::diag::Span],
) -> Option<Vec<crate::diag::Span>> {
    let (_, old) = join_entries(entries);
    let (_, new) = join_entries(candidate);
    // The candidate keeps the entries' order: match equal texts in turn.
    let mut shift = Vec::new();
    let mut j = 0;
    for (k, c) in candidate.iter().enumerate() {
        while j < entries.len() && entries[j].text != c.text {
            j += 1;
        }
        let moved = (j < entries.len()).then(|| (new[k].clone(), old[j].start));
        shift.push(moved);
        j += 1;
    }
    spans
        .iter()
        .map(|sp| {
            let (range, start) = shift
                .iter()
                .flatten()
                .find(|(r, _)| r.contains(&sp.start))?;
            let by = *start as isize - range.start as isize;
            let at = |x: usize| (x as isize + by) as usize;
            Some(crate::diag::Span::new(at(sp.start), at(sp.end)))
        })
        .collect()
}
