//! Integration tests, one binary with a module per boundary.

mod cli;
mod common;
mod compile;
mod derivatives;
mod diagnostics;
mod families;
mod recovery;
mod reference;
mod simplify;
