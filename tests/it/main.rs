//! Integration tests, one binary with a module per boundary.

mod cli;
mod common;
mod derivatives;
mod recovery;
mod reference;
