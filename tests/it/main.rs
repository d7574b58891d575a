//! Integration tests, one binary with a module per boundary.

mod arrow;
mod cli;
mod common;
mod compare;
mod compile;
mod derivatives;
mod diagnostics;
mod eval;
mod evaluate;
mod explain;
mod families;
mod mixture;
mod nist;
mod plots;
mod profile;
mod recovery;
mod reference;
mod repl;
mod simplify;
mod tidy;
