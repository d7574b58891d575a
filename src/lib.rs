//! `nll`: statistical models written as distributional statements, fitted by
//! maximum likelihood.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! model.nll --syntax--> AST --model--> checked Model --compile--> Graph
//!                                                     (NLL, gradient, Hessian)
//! data.csv  --data----> typed columns ----------------^        |
//!                                                              v
//!                report <--infer-- optim (L-BFGS, Newton) <-- eval (flat program)
//! ```
//!
//! - [`syntax`] parses the text with a pest grammar into an AST with spans.
//! - [`model`] resolves names and checks arities and statement kinds.
//! - [`data`] loads the CSV columns the model declares.
//! - [`compile`] lowers the model on its data to one hash-consed [`graph`]
//!   whose nodes include the NLL, its gradient and its Hessian.
//! - [`eval`] compiles graph roots to a flat program over column chunks.
//! - [`optim`] minimises; [`infer`] turns the optimum into a report with
//!   standard errors and an honest status.
//! - [`plot`] draws SVG figures of a fit (residuals, Q-Q, profiles).
//! - [`diag`] holds diagnostics and renders them; [`cli`] is the command line,
//!   and [`repl`] the interactive session.
//! - [`evaluate`] applies a fit to other rows (held-out metrics,
//!   calibration, prediction, simulation); [`fitfile`] keeps a fit on disk,
//!   and [`fsutil`] writes every output file whole or not at all.

pub mod alloc;
pub mod cli;
pub mod compile;
pub mod data;
pub mod diag;
pub mod dist;
pub mod eval;
pub mod evaluate;
pub mod explain;
pub mod fitfile;
pub mod fsutil;
pub mod graph;
pub mod infer;
pub mod model;
pub mod optim;
pub mod plot;
pub mod repl;
pub mod syntax;
