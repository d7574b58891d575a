//! `nll repl`: build a model statement by statement, evaluate expressions,
//! fit, and look at the result, interactively or from a script.
//!
//! - `lexer.rs`: a logos lexer for text that may not parse yet: colours,
//!   completion, and whether a statement goes on over the next line.
//! - `session.rs`: the core, free of any terminal: a [`Session`] takes one
//!   input and returns a [`Reply`] (output text, rendered diagnostics,
//!   failure). Complete statements are parsed by the pest grammar and the
//!   candidate model is checked in full before it replaces the current one,
//!   so a failed input changes nothing.
//! - `commands.rs`: the `:commands`, through the same code as the command
//!   line (`infer::fit`, `explain`, `compile`).
//! - `complete.rs`: completion candidates and syntax colours.
//! - `terminal.rs`, `interrupt.rs`: rustyline, history, piped input, Ctrl-C.
//!
//! `docs/repl.md` describes the REPL for users.

pub mod commands;
pub mod complete;
mod interrupt;
pub mod lexer;
mod session;
mod terminal;

use std::io::IsTerminal;
use std::path::Path;

pub use session::{Reply, Session};
pub use terminal::history_path;

use crate::data::LoadOptions;

/// Starts a session, loads `model` and `data` when given, and runs it on the
/// terminal or on piped standard input. Returns the exit code: 0, or 1 when
/// any input (or the initial loading) failed.
pub fn run(model: Option<&Path>, data: Option<&Path>, opts: LoadOptions, color: bool) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    let color = color && interactive;
    let mut session = Session::new().with_color(color).with_load_options(opts);

    if interactive {
        println!(
            "nll {}: type :help for the commands, Ctrl-D to leave",
            env!("CARGO_PKG_VERSION")
        );
    }
    let mut failed = false;
    let mut startup = Vec::new();
    if let Some(d) = data {
        startup.push(format!(":data {}", d.display()));
    }
    if let Some(m) = model {
        startup.push(format!(":load {}", m.display()));
    }
    for cmd in startup {
        let reply = session.process(&cmd);
        print!("{}", reply.out);
        eprint!("{}", reply.err);
        failed |= reply.failed;
    }
    // The lines of a script are numbered from 1.
    session.restart_line_count();

    let code = if interactive {
        terminal::run_terminal(session, color)
    } else {
        terminal::run_lines(session, std::io::stdin().lock())
    };
    if failed {
        1
    } else {
        code
    }
}
