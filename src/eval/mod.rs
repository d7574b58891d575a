//! Columnar evaluation of graph nodes over the data.
//!
//! A [`Program`] is compiled once from a [`Graph`] and a set of root nodes
//! and then run many times with different parameter vectors. Evaluation never
//! walks the graph: the program is a flat list of instructions in three
//! phases.
//!
//! 1. *Scalar prologue*: nodes that depend only on parameters and constants
//!    (for example `exp(c)` or `1 / s^2`), computed once per evaluation.
//! 2. *Row loop*: the data rows are cut into chunks of [`CHUNK`] rows; each
//!    row instruction runs a tight loop over one chunk, reading data columns
//!    in place and writing into a small set of reusable chunk buffers
//!    (registers allocated by liveness, so the working set stays in cache).
//!    Each [`Node::Sum`](crate::graph::Node::Sum) adds its chunk into a
//!    running sum.
//! 3. *Scalar epilogue*: nodes that use the row sums (the NLL, gradient and
//!    Hessian entries themselves).
//!
//! Row nodes that depend on data only (`log(y)`, `lgamma(y + 1)`) can be
//! computed once when the program is built and kept as columns.
//!
//! Chunks are grouped into blocks of a fixed number of rows; blocks may run on
//! several threads, and their partial sums are added in block order, so the
//! result is bit-identical whatever the number of threads.

mod build;
mod exec;
pub mod fastmath;
mod fuse;
mod gram;
mod lanes;
mod lse;
mod plan;
mod sums;

use std::sync::Arc;

use crate::graph::{BinOp, Func, Graph, NodeId};

use build::Builder;
pub use exec::Workspace;

/// Rows per chunk: large enough to amortise instruction dispatch, small
/// enough that a chunk of the columns an instruction streams and the
/// buffers it works on stay in the first-level cache. With the next chunk
/// requested during each chunk (see `exec`), 256 rows took 0.84-0.88 of the
/// time of 512 on the logistic workload (ten feature columns, read twice per
/// chunk), 0.88-0.90 on the Poisson one and 0.93 on the mixture; 128 rows
/// lost on the light workloads (1.17 on the heteroscedastic one) and the
/// softmax Hessian's blocks of sums took 1.10 of their time at 512.
pub const CHUNK: usize = 256;

/// Chunks per block, the unit of work of one thread (16 384 rows). Fixed so
/// that the order of floating-point additions does not depend on the
/// thread count.
pub const CHUNKS_PER_BLOCK: usize = 64;

/// Streamed columns smaller than this in all are not requested ahead of
/// their use: larger than the L2 cache of one core on current x86 CPUs,
/// smaller than a benchmark's million-row columns.
const PREFETCH_MIN_BYTES: usize = 8 << 20;

/// The data a program runs on: real columns (for
/// [`Node::Data`](crate::graph::Node::Data)) and factor columns as level
/// codes (for [`Node::Level`](crate::graph::Node::Level) and
/// [`Node::Select`](crate::graph::Node::Select)).
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub n_rows: usize,
    pub real: Vec<Vec<f64>>,
    pub factor: Vec<Vec<u32>>,
}

impl RowInstr {
    /// Every operand the instruction reads.
    fn operands(&self) -> Vec<Src> {
        let mut out: Vec<Src> = self.src.into_iter().collect();
        match &self.op {
            RowOp::Unary(_, a)
            | RowOp::Square(a)
            | RowOp::SoftplusLogistic { a, .. }
            | RowOp::ExpScaled { a, .. } => out.push(*a),
            RowOp::Binary(_, a, b)
            | RowOp::AccumulateBinary { a, b, .. }
            | RowOp::ScaledSquare { scale: b, a } => out.extend([*a, *b]),
            RowOp::AddProduct { other, x, y, .. }
            | RowOp::AccumulateAddProduct { other, x, y, .. } => out.extend([*other, *x, *y]),
            RowOp::AccumulateTimesBinary { x, a, b, .. } => out.extend([*x, *a, *b]),
            RowOp::LinComb { base, terms } => {
                out.push(*base);
                for (x, y) in terms {
                    out.extend([*x, *y]);
                }
            }
            RowOp::AccumulateDots { shared, others, .. } => {
                out.push(*shared);
                out.extend(others.iter().flatten());
            }
            RowOp::AccumulateGram(gram) => {
                out.push(gram.w);
                out.extend(&gram.cols);
            }
            RowOp::AccumulateGramShared(shared) => {
                out.extend(&shared.ws);
                out.extend(&shared.cols);
            }
            RowOp::Select { items, .. }
            | RowOp::LogSumExp { items, .. }
            | RowOp::AccumulateSelect { items, .. } => out.extend(items),
            RowOp::Level { .. } | RowOp::Accumulate { .. } => {}
        }
        out
    }

    /// Every chunk buffer the instruction writes.
    fn written_buffers(&self) -> Vec<u32> {
        match &self.op {
            RowOp::Accumulate { .. }
            | RowOp::AccumulateBinary { .. }
            | RowOp::AccumulateAddProduct { .. }
            | RowOp::AccumulateTimesBinary { .. }
            | RowOp::AccumulateDots { .. }
            | RowOp::AccumulateGram(_)
            | RowOp::AccumulateGramShared(_)
            | RowOp::AccumulateSelect { .. } => Vec::new(),
            RowOp::SoftplusLogistic {
                logistic_out,
                mirror_out,
                ..
            } => [self.out, *logistic_out]
                .into_iter()
                .chain(*mirror_out)
                .collect(),
            RowOp::LogSumExp { weights, .. } => {
                let mut out = vec![self.out];
                out.extend(weights.iter().flatten());
                out
            }
            _ => vec![self.out],
        }
    }
}

/// Where an instruction reads an operand from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Src {
    /// A scalar slot.
    Slot(u32),
    /// A chunk buffer.
    Buf(u32),
    /// A real data column, read in place.
    Col(u32),
    /// A column computed once when the program was built.
    Kept(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RowOp {
    Unary(Func, Src),
    Binary(BinOp, Src, Src),
    /// x^2, the most common power, without a call to `powi`.
    Square(Src),
    /// a^2 s (rounded as the square, then the product): a squared
    /// residual over a variance, r^2 / s^2.
    ScaledSquare {
        scale: Src,
        a: Src,
    },
    Level {
        col: u32,
        level: u32,
    },
    Select {
        col: u32,
        items: Vec<Src>,
    },
    /// log(sum_k exp(item_k)), and into buffer `weights[k]` (where given)
    /// the softmax weight exp(item_k - log-sum-exp): a mixture's or a
    /// softmax's gradient reads them, and they come out of the same exps.
    LogSumExp {
        items: Vec<Src>,
        weights: Vec<Option<u32>>,
    },
    /// softplus(a) into the output buffer and logistic(a) into buffer
    /// `logistic_out`, from one exp (a logistic regression's NLL and
    /// gradient need both).
    SoftplusLogistic {
        a: Src,
        logistic_out: u32,
        /// logistic(-a) too, into this buffer (a logistic regression's
        /// Hessian weight is logistic(a) logistic(-a)), from the same exp.
        mirror_out: Option<u32>,
    },
    /// other + x y, other - x y, or x y - other (when `product_first`):
    /// a product read only by this sum or difference, computed in its loop.
    AddProduct {
        is_sub: bool,
        product_first: bool,
        other: Src,
        x: Src,
        y: Src,
    },
    /// base + x_1 y_1 + ... + x_k y_k, added left to right (each product
    /// rounded, then each sum): a chain of `AddProduct` steps in one pass,
    /// at most [`fuse::MAX_LIN_TERMS`] terms.
    LinComb {
        base: Src,
        terms: Vec<(Src, Src)>,
    },
    /// exp(s a), or exp(-(s a)) when `negate`, with s the scalar in slot
    /// `scale`. May write over `a` (computed row by row in place).
    ExpScaled {
        scale: u32,
        negate: bool,
        a: Src,
    },
    /// Add the operand's chunk to sum accumulator `acc`.
    Accumulate {
        acc: u32,
    },
    /// Add `a op b` over the chunk to sum accumulator `acc` without storing
    /// it: a row node read only by its sum never needs a buffer.
    AccumulateBinary {
        acc: u32,
        op: BinOp,
        a: Src,
        b: Src,
    },
    /// Add `other + x y`, `other - x y` or `x y - other` (as in
    /// `AddProduct`) over the chunk to sum accumulator `acc` without
    /// storing it.
    AccumulateAddProduct {
        acc: u32,
        is_sub: bool,
        product_first: bool,
        other: Src,
        x: Src,
        y: Src,
    },
    /// Add `x (a op b)` over the chunk to sum accumulator `acc` without
    /// storing `a op b` (rounded first, as the two instructions would):
    /// a weight times a difference, w (1 - z^2).
    AccumulateTimesBinary {
        acc: u32,
        x: Src,
        op: BinOp,
        a: Src,
        b: Src,
    },
    /// Add sum_i shared_i others[k]_i over the chunk to sum accumulator
    /// `accs[k]`, for each k (at most [`fuse::MAX_DOTS`]): dot products
    /// with one common factor, read once. An other factor `None` is 1 (the
    /// plain sum of the common factor).
    AccumulateDots {
        shared: Src,
        others: Vec<Option<Src>>,
        accs: Vec<u32>,
    },
    /// Sums sharing a row weight, a block of them at a time (see
    /// [`gram`]).
    AccumulateGram(Box<gram::Gram>),
    /// Sums of several weights over the same pairs of data columns (see
    /// [`gram::Shared`]).
    AccumulateGramShared(Box<gram::Shared>),
    /// Add the factor choice `items[code_i]` over the chunk to sum
    /// accumulator `acc` without storing it.
    AccumulateSelect {
        acc: u32,
        col: u32,
        items: Vec<Src>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowInstr {
    pub op: RowOp,
    /// For `Accumulate`, the operand; otherwise unused.
    pub src: Option<Src>,
    /// The output buffer (unused for `Accumulate`).
    pub out: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum ScalarOp {
    Param(u32),
    Unary(Func, u32),
    Binary(BinOp, u32, u32),
    LogSumExp(Vec<u32>),
    /// The value of sum accumulator `acc`.
    SumResult(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct ScalarInstr {
    pub op: ScalarOp,
    pub out: u32,
}

/// A compiled evaluation of some root nodes of a graph on some data.
#[derive(Debug, Clone)]
pub struct Program {
    n_rows: usize,
    /// Initial slot values: constants filled in, the rest NaN.
    slot_init: Vec<f64>,
    prologue: Vec<ScalarInstr>,
    rows: Vec<RowInstr>,
    epilogue: Vec<ScalarInstr>,
    n_bufs: usize,
    n_accs: usize,
    kept: Vec<Arc<Vec<f64>>>,
    /// The node each kept column holds, for [`Program::new_reusing`].
    kept_nodes: Vec<NodeId>,
    /// The data-only sums folded into constants, with their values.
    data_sums: Vec<(NodeId, f64)>,
    /// Slots of the root nodes, in the order asked for.
    outputs: Vec<u32>,
    /// Row outputs: (buffer at the end of a chunk, or scalar slot) per node.
    row_outputs: Vec<Src>,
    /// The data and kept columns the row instructions read, each once, to
    /// be requested from memory ahead of their use; empty when they are
    /// small enough to stay in the caches.
    streamed: Vec<Src>,
}

/// Options for [`Program::new`].
#[derive(Debug, Clone, Copy)]
pub struct ProgramOptions {
    /// Compute data-only row nodes once and keep them as columns. Saves work
    /// per evaluation at the cost of one column of memory each.
    pub keep_data_columns: bool,
    /// With `keep_data_columns`, keep only the columns that the first this
    /// many roots read (for a Hessian program: those of the NLL and the
    /// gradient, not one product of data columns per Hessian entry).
    pub keep_only_for_first_roots: Option<usize>,
    /// Compute sums that share a row weight (a Hessian's entries) together,
    /// a block at a time (see the module `eval::gram`). The results are
    /// the same either way.
    pub gram_blocks: bool,
}

impl ProgramOptions {
    /// Options that compute everything on every evaluation.
    pub const UNCACHED: ProgramOptions = ProgramOptions {
        keep_data_columns: false,
        keep_only_for_first_roots: None,
        gram_blocks: true,
    };
}

impl Default for ProgramOptions {
    fn default() -> Self {
        ProgramOptions {
            keep_data_columns: true,
            keep_only_for_first_roots: None,
            gram_blocks: true,
        }
    }
}

impl Program {
    /// Compiles the evaluation of scalar `roots` (and the per-row values of
    /// `row_roots`) on `data`.
    pub fn new(
        graph: &Graph,
        roots: &[NodeId],
        row_roots: &[NodeId],
        data: &Columns,
        opts: ProgramOptions,
    ) -> Program {
        Builder::new(graph, data, opts, None).build(roots, row_roots)
    }

    /// Like [`Program::new`], taking the data-only sums and kept columns
    /// that `from` (built on the same graph and data) already computed
    /// instead of another pass over the data for each; the columns are
    /// shared, not copied.
    pub fn new_reusing(
        graph: &Graph,
        roots: &[NodeId],
        row_roots: &[NodeId],
        data: &Columns,
        opts: ProgramOptions,
        from: &Program,
    ) -> Program {
        Builder::new(graph, data, opts, Some(from)).build(roots, row_roots)
    }

    /// Number of data-only columns computed when the program was built.
    pub fn n_kept(&self) -> usize {
        self.kept.len()
    }

    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of row instructions (a size measure for logs and benchmarks).
    pub fn n_row_instrs(&self) -> usize {
        self.rows.len()
    }

    /// Instructions computing the sums of several weights together (see
    /// `gram::Shared`), and the weights they cover.
    pub fn shared_weight_sets(&self) -> (usize, usize) {
        self.rows
            .iter()
            .filter_map(|r| match &r.op {
                RowOp::AccumulateGramShared(shared) => Some(shared.ws.len()),
                _ => None,
            })
            .fold((0, 0), |(n, w), k| (n + 1, w + k))
    }

    /// Evaluates the scalar roots at `theta` into `out`.
    pub fn eval(&self, ws: &mut Workspace, data: &Columns, theta: &[f64], out: &mut [f64]) {
        exec::run(self, ws, data, theta, out, None);
    }

    /// Evaluates the per-row values of the row roots at `theta`: one column
    /// of `n_rows` values per row root (a scalar root is repeated).
    pub fn eval_rows(&self, data: &Columns, theta: &[f64]) -> Vec<Vec<f64>> {
        let mut ws = Workspace::new(self);
        let mut cols = vec![vec![0.0; self.n_rows]; self.row_outputs.len()];
        let mut scalar_out = vec![0.0; self.outputs.len()];
        let mut out = exec::RowOut {
            cols: &mut cols,
            first_row: 0,
        };
        exec::run(self, &mut ws, data, theta, &mut scalar_out, Some(&mut out));
        cols
    }

    /// Passes the per-row values of the row roots at `theta` to `f` a block
    /// of rows at a time (the block's first row, one slice per row root),
    /// without holding whole columns: for a reduction over derived values
    /// of a large data set.
    pub fn for_each_row_block(
        &self,
        data: &Columns,
        theta: &[f64],
        mut f: impl FnMut(usize, &[&[f64]]),
    ) {
        let mut ws = Workspace::new(self);
        exec::run_by_block(self, &mut ws, data, theta, &mut f);
    }
}
