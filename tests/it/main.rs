//! Integration tests, one binary with a module per boundary.

mod cli;
mod common;
mod compile;
mod derivatives;
mod diagnostics;
mod eval;
mod explain;
mod families;
mod mixture;
mod nist;
mod recovery;
mod reference;
mod simplify;
mod tidy;
