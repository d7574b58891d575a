//! The front-end: rustyline on a terminal, or plain lines from a pipe.
//!
//! On a terminal, input is edited with rustyline: history kept in a file
//! between sessions, Ctrl-R to search it, Tab to complete, colours, and a
//! statement that is not finished (see [`lexer::is_unfinished`]) goes on
//! over the next line. From a pipe, lines are read as they come, with no
//! prompt and no colour, and the exit code says whether any input failed.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use super::complete;
use super::interrupt::Guard;
use super::lexer;
use super::session::{Reply, Session};
use crate::diag::Diagnostic;

const PROMPT: &str = "nll> ";

/// The rustyline helper: completion, colours and the unfinished-input check,
/// from the lexer.
struct LineHelper {
    /// The names declared so far and the data columns, refreshed before each
    /// line is read.
    names: Vec<String>,
    files: FilenameCompleter,
    color: bool,
}

impl Completer for LineHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        // A file name after the commands that take one.
        let takes_file = [":load ", ":data ", ":save "];
        if takes_file.iter().any(|c| line.trim_start().starts_with(c)) {
            return self.files.complete(line, pos, ctx);
        }
        let (start, found) = complete::candidates(line, pos, &self.names);
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for LineHelper {
    type Hint = String;
}

impl Highlighter for LineHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(complete::highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        if self.color {
            Cow::Owned(format!("\x1b[1m{prompt}\x1b[0m"))
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Validator for LineHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if lexer::is_unfinished(ctx.input()) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Helper for LineHelper {}

/// Where the history is kept: `$NLL_HISTORY`, else
/// `$XDG_STATE_HOME/nll/history`, else `$HOME/.local/state/nll/history`.
pub fn history_path() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(p) = var("NLL_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let state = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("nll").join("history"))
}

/// Runs the session on a terminal until `:quit` or Ctrl-D; returns the exit
/// code.
pub fn run_terminal(mut session: Session, color: bool) -> i32 {
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .max_history_size(10_000)
        .map(|b| b.build())
        .unwrap_or_default();
    let mut editor: Editor<LineHelper, rustyline::history::FileHistory> =
        match Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot use the terminal: {e}");
                return 1;
            }
        };
    editor.set_helper(Some(LineHelper {
        names: Vec::new(),
        files: FilenameCompleter::new(),
        color,
    }));
    let history = history_path();
    if let Some(p) = &history {
        // A missing history file is normal on the first run.
        let _ = editor.load_history(p);
    }

    loop {
        if let Some(h) = editor.helper_mut() {
            h.names = session.names();
        }
        match editor.readline(PROMPT) {
            Ok(input) => {
                if !input.trim().is_empty() {
                    let _ = editor.add_history_entry(input.as_str());
                    if let Some(p) = &history {
                        save_history(&mut editor, p);
                    }
                }
                let reply = {
                    let _guard = Guard::install(&session.cancel_flag());
                    session.process(&input)
                };
                show(&reply);
                if reply.quit {
                    break;
                }
            }
            // Ctrl-C cancels the line being typed.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: cannot read the input: {e}");
                return 1;
            }
        }
    }
    0
}

fn save_history(editor: &mut Editor<LineHelper, rustyline::history::FileHistory>, p: &PathBuf) {
    if let Some(dir) = p.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = editor.append_history(p) {
        log::debug!("cannot write the history to {}: {e}", p.display());
    }
}

/// Runs the session on lines from `input` (a pipe or a file), without
/// prompt or colour; returns 0 when every input succeeded, 1 otherwise.
pub fn run_lines(mut session: Session, input: impl BufRead) -> i32 {
    let mut failed = false;
    for (number, bytes) in input.split(b'\n').enumerate() {
        let Ok(mut bytes) = bytes else {
            eprintln!("error: cannot read the input");
            return 1;
        };
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        // A byte-order mark some editors write is not part of the script.
        if number == 0 && bytes.starts_with("\u{feff}".as_bytes()) {
            bytes.drain(..3);
        }
        let line = match String::from_utf8(bytes) {
            Ok(line) => line,
            Err(e) => {
                // The line is skipped, as a failed input; the ones after run.
                let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let column = 1 + String::from_utf8_lossy(good).chars().count();
                let d = Diagnostic::error(
                    "E001",
                    format!(
                        "input line {} is not UTF-8 text (at column {column}); it was skipped",
                        number + 1
                    ),
                )
                .with_help("Save the script as UTF-8.");
                eprint!("{}", crate::diag::render(&d, "<stdin>", "", false));
                failed = true;
                // An empty comment in its place keeps the session's line
                // numbers those of the script.
                let _guard = Guard::install(&session.cancel_flag());
                if let Some((_, reply)) = session.feed_line("#") {
                    show(&reply);
                    failed |= reply.failed;
                }
                continue;
            }
        };
        let done = {
            let _guard = Guard::install(&session.cancel_flag());
            session.feed_line(&line)
        };
        if let Some((_, reply)) = done {
            show(&reply);
            failed |= reply.failed;
            if reply.quit {
                return i32::from(failed);
            }
        }
    }
    if let Some((_, reply)) = session.finish() {
        show(&reply);
        failed |= reply.failed;
    }
    i32::from(failed)
}

/// Writes a reply: results to standard output, diagnostics to standard
/// error. A closed output pipe is ignored.
fn show(reply: &Reply) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(reply.out.as_bytes());
    let _ = out.flush();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(reply.err.as_bytes());
}
