//! Integration tests, one binary with a module per boundary.

mod cli;
mod common;
mod derivatives;
mod explain;
mod recovery;
mod reference;
