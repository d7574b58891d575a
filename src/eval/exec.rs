//! Running a compiled [`Program`]: the scalar prologue, the chunked row loop
//! (optionally over several threads), and the epilogue.

use rayon::prelude::*;
use std::sync::Arc;

use super::fastmath::{self, Fused, MulAdd, Separate};
use super::fuse::{MAX_DOTS, MAX_LIN_TERMS};
use super::gram::{MAX_SHARED_WEIGHTS, ONE};
use super::lanes::{self, AddOp, DivOp, MulOp, SubOp};
use super::lse;
use super::sums::{
    dots, gram_block, gram_shared, pick, sum_add_product, sum_map2, sum_op, sum_select, sum_times,
    sum_values,
};
use super::{
    Columns, Program, RowInstr, RowOp, ScalarInstr, ScalarOp, Src, CHUNK, CHUNKS_PER_BLOCK,
};
use crate::graph::{apply_binary, func, log_sum_exp, BinOp, Func};

/// Rows per block, the unit of parallel work.
const BLOCK: usize = CHUNK * CHUNKS_PER_BLOCK;

/// A chunk of ones, the other factor of a plain sum grouped with dot
/// products (see `fuse::shared_dots`), starting on a cache line as the
/// chunk buffers do.
#[repr(align(64))]
struct Ones([f64; CHUNK]);
static ONES: Ones = Ones([1.0; CHUNK]);

/// Reusable memory for evaluating one program.
#[derive(Debug, Clone)]
pub struct Workspace {
    slots: Vec<f64>,
    bufs: Vec<f64>,
    accs: Vec<f64>,
    /// The sums of each block when blocks run on several threads.
    partials: Vec<f64>,
}

thread_local! {
    /// The chunk buffers of a worker thread running blocks in parallel,
    /// kept from one evaluation to the next.
    static THREAD_BUFS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Workspace {
    pub fn new(program: &Program) -> Workspace {
        Workspace {
            slots: program.slot_init.clone(),
            bufs: vec![0.0; program.n_bufs * CHUNK + LINE_F64],
            accs: vec![0.0; program.n_accs],
            partials: Vec::new(),
        }
    }
}

/// Doubles in a cache line.
const LINE_F64: usize = 64 / std::mem::size_of::<f64>();

/// `bufs` (allocated a cache line longer than the chunk buffers need) from
/// its first cache-line boundary on, so that no 64-byte (AVX-512) load or
/// store of a chunk buffer spans two lines. With the buffers 16 bytes off
/// a line, as the C library's allocator leaves them, one evaluation of the
/// linear workload took 1.16 times as long, the heteroscedastic one 1.15.
fn from_line_start(bufs: &mut [f64]) -> &mut [f64] {
    let skip = bufs.as_ptr().align_offset(64).min(bufs.len());
    &mut bufs[skip..]
}

pub(super) fn run(
    p: &Program,
    ws: &mut Workspace,
    data: &Columns,
    theta: &[f64],
    out: &mut [f64],
    mut row_cols: Option<&mut RowOut>,
) {
    if ws.slots.len() != p.slot_init.len() {
        *ws = Workspace::new(p);
    }
    run_scalars(&p.prologue, &mut ws.slots, theta, &[]);

    let n_blocks = p.n_rows.div_ceil(BLOCK);
    let parallel = row_cols.is_none() && n_blocks > 1 && rayon::current_num_threads() > 1;
    ws.accs.iter_mut().for_each(|a| *a = 0.0);

    if parallel {
        // Each block's sums in its own stretch of `partials`, kept in the
        // workspace, and each thread's chunk buffers kept by the thread
        // from one evaluation to the next. Fresh buffers per piece of work
        // made the Student-t curve's Hessian at 1e5 rows take 0.59 ms on
        // two threads instead of 0.47.
        let width = p.n_accs.max(1);
        ws.partials.resize(n_blocks * width, 0.0);
        let slots = &ws.slots;
        ws.partials
            .par_chunks_mut(width)
            .enumerate()
            .for_each(|(block, accs)| {
                accs.iter_mut().for_each(|a| *a = 0.0);
                THREAD_BUFS.with_borrow_mut(|bufs| {
                    bufs.resize(p.n_bufs * CHUNK + LINE_F64, 0.0);
                    let bufs = from_line_start(bufs);
                    run_block(p, data, slots, bufs, &mut accs[..p.n_accs], block, None);
                });
            });
        // Added in block order: the result does not depend on scheduling.
        for block_accs in ws.partials.chunks(width) {
            for (a, b) in ws.accs.iter_mut().zip(block_accs) {
                *a += b;
            }
        }
    } else {
        let mut block_accs = vec![0.0; p.n_accs];
        for block in 0..n_blocks {
            block_accs.iter_mut().for_each(|a| *a = 0.0);
            run_block(
                p,
                data,
                &ws.slots,
                from_line_start(&mut ws.bufs),
                &mut block_accs,
                block,
                row_cols.as_deref_mut(),
            );
            for (a, b) in ws.accs.iter_mut().zip(&block_accs) {
                *a += b;
            }
        }
    }

    run_scalars(&p.epilogue, &mut ws.slots, theta, &ws.accs);
    for (o, s) in out.iter_mut().zip(&p.outputs) {
        *o = ws.slots[*s as usize];
    }
    if let Some(out) = row_cols {
        fill_scalar_outputs(p, &ws.slots, out.cols);
    }
}

/// Where the row loop writes the per-row values of the program's row
/// outputs: one column per output, holding the rows from `first_row` on.
pub(super) struct RowOut<'a> {
    pub cols: &'a mut [Vec<f64>],
    pub first_row: usize,
}

/// Scalar row outputs are the same in every row.
fn fill_scalar_outputs(p: &Program, slots: &[f64], cols: &mut [Vec<f64>]) {
    for (col, src) in cols.iter_mut().zip(&p.row_outputs) {
        if let Src::Slot(s) = src {
            col.iter_mut().for_each(|v| *v = slots[*s as usize]);
        }
    }
}

/// Runs the program block after block on one thread, handing each block's
/// per-row outputs to `f` (its first row, one slice per output) instead of
/// keeping whole columns: a pass over derived values in the memory of one
/// block.
pub(super) fn run_by_block(
    p: &Program,
    ws: &mut Workspace,
    data: &Columns,
    theta: &[f64],
    f: &mut dyn FnMut(usize, &[&[f64]]),
) {
    // A row output computed after the row loop (one that depends on a sum)
    // needs a whole pass first.
    let needs_sums = p
        .row_outputs
        .iter()
        .any(|src| matches!(src, Src::Slot(s) if p.epilogue.iter().any(|instr| instr.out == *s)));
    if needs_sums {
        let mut scalars = vec![0.0; p.outputs.len()];
        run(p, ws, data, theta, &mut scalars, None);
    } else {
        if ws.slots.len() != p.slot_init.len() {
            *ws = Workspace::new(p);
        }
        run_scalars(&p.prologue, &mut ws.slots, theta, &[]);
    }
    let mut cols = vec![vec![0.0; BLOCK.min(p.n_rows)]; p.row_outputs.len()];
    fill_scalar_outputs(p, &ws.slots, &mut cols);
    let mut accs = vec![0.0; p.n_accs];
    for block in 0..p.n_rows.div_ceil(BLOCK) {
        let first_row = block * BLOCK;
        let mut out = RowOut {
            cols: &mut cols,
            first_row,
        };
        run_block(
            p,
            data,
            &ws.slots,
            from_line_start(&mut ws.bufs),
            &mut accs,
            block,
            Some(&mut out),
        );
        let len = BLOCK.min(p.n_rows - first_row);
        let views: Vec<&[f64]> = cols.iter().map(|c| &c[..len]).collect();
        f(first_row, &views);
    }
}

fn run_scalars(instrs: &[ScalarInstr], slots: &mut [f64], theta: &[f64], accs: &[f64]) {
    for instr in instrs {
        let v = match &instr.op {
            ScalarOp::Param(k) => theta[*k as usize],
            ScalarOp::Unary(f, a) => f.apply(slots[*a as usize]),
            ScalarOp::Binary(op, a, b) => apply_binary(*op, slots[*a as usize], slots[*b as usize]),
            ScalarOp::LogSumExp(items) => {
                let xs: Vec<f64> = items.iter().map(|i| slots[*i as usize]).collect();
                log_sum_exp(&xs)
            }
            ScalarOp::SumResult(acc) => accs[*acc as usize],
        };
        slots[instr.out as usize] = v;
    }
}

/// Runs the row instructions over one block, with the widest vector
/// instructions the CPU has.
///
/// The row loops are written so the compiler can vectorise them; compiled
/// for the baseline x86-64 target they get 2-wide SSE2 vectors only. The
/// same code is therefore also compiled with AVX2 and with AVX-512 enabled,
/// both with fused multiply-add, and the variant is picked at run time.
/// The two perform the same floating-point operations in the same order
/// (Rust never fuses a multiply and an add on its own; only the polynomials
/// of [`fastmath`] ask for fused ones), so their results are bit-identical.
/// The baseline variant, for CPUs without FMA, evaluates those polynomials
/// with separate multiplications and additions, and its exp, ln and log1p
/// may differ from the others' in the last bit.
/// Measured with `nll bench` on the benchmark machine (AMD EPYC with
/// AVX-512), the AVX-512 variant evaluates the logistic regression workload
/// in well under half the time of the baseline one, and fused multiply-adds
/// in the polynomials took a further 16% off (at 1e5 rows, in cache).
fn run_block(
    p: &Program,
    data: &Columns,
    slots: &[f64],
    bufs: &mut [f64],
    accs: &mut [f64],
    block: usize,
    row_cols: Option<&mut RowOut>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        let fma = std::arch::is_x86_feature_detected!("fma");
        if fma
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU supports the features the function is
            // compiled for, checked just above.
            return unsafe { run_block_avx512(p, data, slots, bufs, accs, block, row_cols) };
        }
        if fma && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { run_block_avx2(p, data, slots, bufs, accs, block, row_cols) };
        }
    }
    run_block_generic::<Separate, { lanes::PORTABLE }>(p, data, slots, bufs, accs, block, row_cols)
}

/// `run_block_generic` compiled with more target features enabled.
macro_rules! run_block_with_features {
    ($name:ident, $features:literal, $vec:expr) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name(
            p: &Program,
            data: &Columns,
            slots: &[f64],
            bufs: &mut [f64],
            accs: &mut [f64],
            block: usize,
            row_cols: Option<&mut RowOut>,
        ) {
            run_block_generic::<Fused, { $vec }>(p, data, slots, bufs, accs, block, row_cols)
        }
    };
}

run_block_with_features!(run_block_avx512, "avx512f,avx512dq,avx2,fma", lanes::AVX512);
run_block_with_features!(run_block_avx2, "avx2,fma", lanes::AVX2);

#[inline(always)]
fn run_block_generic<M: MulAdd, const VEC: u8>(
    p: &Program,
    data: &Columns,
    slots: &[f64],
    bufs: &mut [f64],
    accs: &mut [f64],
    block: usize,
    mut row_cols: Option<&mut RowOut>,
) {
    let block_start = block * BLOCK;
    let block_end = (block_start + BLOCK).min(p.n_rows);
    let mut start = block_start;
    while start < block_end {
        let len = CHUNK.min(block_end - start);
        let ctx = Chunk {
            data,
            kept: &p.kept,
            slots,
            start,
            len,
        };
        // The next chunk's lines, a share before each instruction.
        let n_instrs = p.rows.len();
        for (k, instr) in p.rows.iter().enumerate() {
            let lines = LINES_PER_CHUNK * k / n_instrs..LINES_PER_CHUNK * (k + 1) / n_instrs;
            prefetch_lines(p, data, start + len, lines);
            run_row_instr::<M, VEC>(&ctx, instr, bufs, accs);
        }
        if let Some(out) = row_cols.as_deref_mut() {
            let at = start - out.first_row;
            for (col, src) in out.cols.iter_mut().zip(&p.row_outputs) {
                if let Arg::V(v) = ctx.arg(*src, bufs) {
                    col[at..at + len].copy_from_slice(v);
                }
            }
        }
        start += len;
    }
}

const F64_PER_LINE: usize = 8;

const LINES_PER_CHUNK: usize = CHUNK / F64_PER_LINE;

/// Asks the CPU to bring cache lines `lines` of the chunk that starts at
/// row `next_start`, of each column the program streams, into the L2 cache.
///
/// The row instructions of a chunk read its columns and then compute on
/// buffers in cache; a hardware prefetcher that follows the columns' reads
/// stops running ahead while the computation goes on, so a chunk's first
/// instruction waited for memory and the others left it idle. Spreading
/// the requests for all of the next chunk over the current chunk's
/// instructions keeps memory busy through them. On an Intel Xeon with
/// AVX-512, at chunks of 512 rows, the logistic workload at 1e6 rows (11
/// columns) took 9.4-9.6 ms with this, 10.7 ms with what it replaced (the
/// first two lines of each column's chunk after next, once per chunk) and
/// 9.9 ms with no requests at all; the workloads with one or two columns
/// did not move. On an AMD EPYC a few
/// requests before each instruction for the chunk after next cost more
/// instructions than they saved (the linear workload 0.99 instead of 0.62
/// ms); not measured there since.
#[inline(always)]
fn prefetch_lines(p: &Program, data: &Columns, next_start: usize, lines: std::ops::Range<usize>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        for src in &p.streamed {
            let col: &[f64] = match *src {
                Src::Col(c) => &data.real[c as usize],
                Src::Kept(k) => &p.kept[k as usize],
                _ => continue,
            };
            for line in lines.clone() {
                let row_idx = next_start + line * F64_PER_LINE;
                if row_idx < col.len() {
                    // SAFETY: a prefetch is only a hint: it never faults and
                    // does not change memory, and the address is in bounds.
                    #[allow(unused_unsafe)]
                    unsafe {
                        _mm_prefetch::<_MM_HINT_T1>(col.as_ptr().add(row_idx) as *const i8)
                    };
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, data, next_start, lines);
}

/// One chunk of rows being evaluated.
pub(super) struct Chunk<'a> {
    pub data: &'a Columns,
    pub kept: &'a [Arc<Vec<f64>>],
    pub slots: &'a [f64],
    pub start: usize,
    pub len: usize,
}

/// An operand resolved for one chunk: a broadcast scalar or a row slice.
#[derive(Clone, Copy)]
pub(super) enum Arg<'a> {
    S(f64),
    V(&'a [f64]),
}

impl Arg<'_> {
    /// The value at row `row_idx` of the chunk.
    #[inline(always)]
    pub(super) fn at(&self, row_idx: usize) -> f64 {
        match self {
            Arg::S(x) => *x,
            Arg::V(v) => v[row_idx],
        }
    }
}

impl<'a> Chunk<'a> {
    #[inline(always)]
    pub(super) fn arg<'b>(&self, src: Src, bufs: &'b [f64]) -> Arg<'b>
    where
        'a: 'b,
    {
        let range = self.start..self.start + self.len;
        match src {
            Src::Slot(s) => Arg::S(self.slots[s as usize]),
            Src::Buf(b) => {
                let b = b as usize * CHUNK;
                Arg::V(&bufs[b..b + self.len])
            }
            Src::Col(c) => Arg::V(&self.data.real[c as usize][range]),
            Src::Kept(k) => Arg::V(&self.kept[k as usize][range]),
        }
    }
}

// TODO: each instruction is one pass over the chunk, writing its result to
// a buffer the next one reads back; only some patterns are fused (a product
// into a sum or difference, a binary node or a sum with a product into a
// sum, a sum of products with a binary node, a scalar offset into a
// product, a scaled square, a linear predictor, an exp of a scaled value,
// softplus with logistic, a log-sum-exp with its softmax weights, dot
// products sharing a factor, blocks of a Hessian sharing a weight). Fusing
// any chain of elementwise instructions into one loop, or a JIT, is what
// separates an evaluation from a hand-written fused loop built for the CPU
// (see docs/performance.md for the ratios on the benchmark workloads).
#[inline(always)]
fn run_row_instr<M: MulAdd, const VEC: u8>(
    ctx: &Chunk,
    instr: &RowInstr,
    bufs: &mut [f64],
    accs: &mut [f64],
) {
    match instr.op {
        RowOp::Accumulate { acc } => {
            let src = instr.src.expect("accumulate has an operand");
            accs[acc as usize] += sum_values::<VEC>(ctx.len, ctx.arg(src, bufs));
            return;
        }
        RowOp::AccumulateBinary { acc, op, a, b } => {
            let (a, b) = (ctx.arg(a, bufs), ctx.arg(b, bufs));
            accs[acc as usize] += match op {
                BinOp::Add => sum_op::<VEC, AddOp>(ctx.len, a, b),
                BinOp::Sub => sum_op::<VEC, SubOp>(ctx.len, a, b),
                BinOp::Mul => sum_op::<VEC, MulOp>(ctx.len, a, b),
                BinOp::Div => sum_op::<VEC, DivOp>(ctx.len, a, b),
                BinOp::Pow => sum_map2(ctx.len, a, b, crate::graph::pow),
            };
            return;
        }
        RowOp::AccumulateDots {
            shared,
            ref others,
            accs: ref targets,
        } => {
            let shared = ctx.arg(shared, bufs);
            let mut vs = [Arg::S(0.0); MAX_DOTS];
            for (v, o) in vs.iter_mut().zip(others) {
                *v = match o {
                    Some(o) => ctx.arg(*o, bufs),
                    None => Arg::V(&ONES.0[..ctx.len]),
                };
            }
            let mut sums = [0.0; MAX_DOTS];
            dots::<VEC>(ctx.len, shared, &vs[..others.len()], &mut sums);
            for (t, s) in targets.iter().zip(sums) {
                accs[*t as usize] += s;
            }
            return;
        }
        RowOp::AccumulateGram(ref gram) => {
            let w = ctx.arg(gram.w, bufs);
            let factor = |i: u8| (i != ONE).then(|| ctx.arg(gram.cols[usize::from(i)], bufs));
            for block in &gram.blocks {
                gram_block::<VEC>(ctx.len, w, block, &factor, accs);
            }
            return;
        }
        RowOp::AccumulateGramShared(ref shared) => {
            let mut ws = [Arg::S(0.0); MAX_SHARED_WEIGHTS];
            if shared.ws.len() > MAX_SHARED_WEIGHTS {
                unreachable!("at most {MAX_SHARED_WEIGHTS} weights share an instruction");
            }
            for (w, src) in ws.iter_mut().zip(&shared.ws) {
                *w = ctx.arg(*src, bufs);
            }
            let factor = |i: u8| (i != ONE).then(|| ctx.arg(shared.cols[usize::from(i)], bufs));
            gram_shared::<M, VEC>(ctx.len, &ws[..shared.ws.len()], shared, &factor, accs);
            return;
        }
        RowOp::AccumulateAddProduct {
            acc,
            is_sub,
            product_first,
            other,
            x,
            y,
        } => {
            let (o, x, y) = (ctx.arg(other, bufs), ctx.arg(x, bufs), ctx.arg(y, bufs));
            accs[acc as usize] += match (is_sub, product_first) {
                (false, _) => sum_add_product::<VEC, AddOp, false>(ctx.len, o, x, y),
                (true, false) => sum_add_product::<VEC, SubOp, false>(ctx.len, o, x, y),
                (true, true) => sum_add_product::<VEC, SubOp, true>(ctx.len, o, x, y),
            };
            return;
        }
        RowOp::AccumulateTimesBinary { acc, x, op, a, b } => {
            let (x, a, b) = (ctx.arg(x, bufs), ctx.arg(a, bufs), ctx.arg(b, bufs));
            accs[acc as usize] += match op {
                BinOp::Add => sum_times::<VEC, AddOp>(ctx.len, x, a, b),
                BinOp::Sub => sum_times::<VEC, SubOp>(ctx.len, x, a, b),
                BinOp::Mul => sum_times::<VEC, MulOp>(ctx.len, x, a, b),
                BinOp::Div => sum_times::<VEC, DivOp>(ctx.len, x, a, b),
                BinOp::Pow => unreachable!("powers are not folded into sums"),
            };
            return;
        }
        RowOp::ExpScaled { scale, negate, a } if a == Src::Buf(instr.out) => {
            let at = instr.out as usize * CHUNK;
            let s = scaled(ctx.slots[scale as usize], negate);
            for v in &mut bufs[at..at + ctx.len] {
                *v = <fastmath::Exp as fastmath::Kernel>::apply::<M>(s * *v);
            }
            return;
        }
        RowOp::LogSumExp {
            ref items,
            ref weights,
        } => {
            lse::log_sum_exp_rows::<M>(ctx, items, weights, instr.out, bufs);
            return;
        }
        RowOp::AccumulateSelect {
            acc,
            col,
            ref items,
        } => {
            accs[acc as usize] += sum_select(ctx, col, items, bufs);
            return;
        }
        _ => {}
    }

    // The output buffer is split off from the others: the allocator never
    // gives an instruction an output buffer that is also one of its inputs,
    // so reading the inputs from `rest` sees every other buffer intact.
    let out_at = instr.out as usize * CHUNK;
    let (before, tail) = bufs.split_at_mut(out_at);
    let (out, after) = tail.split_at_mut(CHUNK);
    let out = &mut out[..ctx.len];
    let view = Split {
        before,
        after,
        out_at,
    };

    match &instr.op {
        RowOp::Unary(f, a) => unary::<M>(*f, out, view.arg(ctx, *a)),
        RowOp::Square(a) => map1(out, view.arg(ctx, *a), |x| x * x),
        RowOp::ScaledSquare { scale, a } => {
            let a = view.arg(ctx, *a);
            match view.arg(ctx, *scale) {
                Arg::S(s) => map1(out, a, |x| x * x * s),
                scale => map2(out, a, scale, |x, s| x * x * s),
            }
        }
        RowOp::Binary(op, a, b) => binary(*op, out, view.arg(ctx, *a), view.arg(ctx, *b)),
        RowOp::AddProduct {
            is_sub,
            product_first,
            other,
            x,
            y,
        } => {
            let (o, x, y) = (view.arg(ctx, *other), view.arg(ctx, *x), view.arg(ctx, *y));
            // Each form rounds the product, then the sum, as the two
            // separate instructions would.
            match (is_sub, product_first) {
                (false, _) => add_product(out, o, x, y, |o, p| o + p),
                (true, false) => add_product(out, o, x, y, |o, p| o - p),
                (true, true) => add_product(out, o, x, y, |o, p| p - o),
            }
        }
        RowOp::Level { col, level } => {
            let codes = &ctx.data.factor[*col as usize][ctx.start..ctx.start + ctx.len];
            for (o, c) in out.iter_mut().zip(codes) {
                *o = if c == level { 1.0 } else { 0.0 };
            }
        }
        RowOp::Select { col, items } => {
            let codes = &ctx.data.factor[*col as usize][ctx.start..ctx.start + ctx.len];
            // One blend per item, each a vector loop; a code with no item
            // keeps NaN.
            out.fill(f64::NAN);
            for (k, item) in items.iter().enumerate() {
                let blend = |o: f64, c: u32, x: f64| pick(c == k as u32, x, o);
                match view.arg(ctx, *item) {
                    Arg::S(x) => {
                        for (o, c) in out.iter_mut().zip(codes) {
                            *o = blend(*o, *c, x);
                        }
                    }
                    Arg::V(v) => {
                        for ((o, c), x) in out.iter_mut().zip(codes).zip(v) {
                            *o = blend(*o, *c, *x);
                        }
                    }
                }
            }
        }
        RowOp::SoftplusLogistic {
            a,
            logistic_out,
            mirror_out,
        } => {
            // The other outputs go through the stack: the buffers other
            // than `out` are only readable here.
            let mut logistic = [0.0; CHUNK];
            let logistic = &mut logistic[..ctx.len];
            let a = view.arg(ctx, *a);
            let put = |bufs: &mut [f64], buf: u32, values: &[f64]| {
                let at = buf as usize * CHUNK;
                bufs[at..at + values.len()].copy_from_slice(values);
            };
            match mirror_out {
                Some(m) => {
                    let mut mirror = [0.0; CHUNK];
                    let mirror = &mut mirror[..ctx.len];
                    softplus_logistics_rows::<M>(out, logistic, mirror, a);
                    put(bufs, *m, mirror);
                }
                None => softplus_logistic_rows::<M>(out, logistic, a),
            }
            put(bufs, *logistic_out, logistic);
        }
        RowOp::ExpScaled { scale, negate, a } => {
            let s = scaled(ctx.slots[*scale as usize], *negate);
            match view.arg(ctx, *a) {
                Arg::S(x) => out.fill(<fastmath::Exp as fastmath::Kernel>::apply::<M>(s * x)),
                Arg::V(v) => {
                    for (o, x) in out.iter_mut().zip(v) {
                        *o = <fastmath::Exp as fastmath::Kernel>::apply::<M>(s * *x);
                    }
                }
            }
        }
        RowOp::LinComb { base, terms } => {
            let mut args = [(Arg::S(0.0), Arg::S(0.0)); MAX_LIN_TERMS];
            for (a, (x, y)) in args.iter_mut().zip(terms) {
                *a = (view.arg(ctx, *x), view.arg(ctx, *y));
            }
            lin_comb(out, view.arg(ctx, *base), &args[..terms.len()]);
        }
        RowOp::Accumulate { .. }
        | RowOp::AccumulateBinary { .. }
        | RowOp::AccumulateAddProduct { .. }
        | RowOp::AccumulateTimesBinary { .. }
        | RowOp::AccumulateDots { .. }
        | RowOp::AccumulateGram(_)
        | RowOp::AccumulateGramShared(_)
        | RowOp::AccumulateSelect { .. }
        | RowOp::LogSumExp { .. } => unreachable!("handled above"),
    }
}

/// The factor of `ExpScaled`: -(s a) = (-s) a exactly (a product's rounding
/// does not depend on the signs).
#[inline(always)]
fn scaled(s: f64, negate: bool) -> f64 {
    if negate {
        -s
    } else {
        s
    }
}

/// Rows a [`lin_comb`] keeps in registers at a time: 4 AVX-512 or 8 AVX2
/// registers of running sums.
const LIN_ROWS: usize = 32;

/// out_i = base_i + x1_i y1_i + ... + xk_i yk_i, each product rounded and
/// then added, left to right (what the chain of `AddProduct` steps it
/// replaces computes), [`LIN_ROWS`] rows at a time: the running sums stay
/// in registers while each term's column is read once.
#[inline(always)]
fn lin_comb(out: &mut [f64], base: Arg, terms: &[(Arg, Arg)]) {
    let len = out.len();
    let mut at = 0;
    while at + LIN_ROWS <= len {
        let rows = at..at + LIN_ROWS;
        let mut sum = [0.0; LIN_ROWS];
        match base {
            Arg::S(b) => sum = [b; LIN_ROWS],
            Arg::V(v) => sum.copy_from_slice(&v[rows.clone()]),
        }
        for &(x, y) in terms {
            match (x, y) {
                (Arg::S(s), Arg::V(v)) | (Arg::V(v), Arg::S(s)) => {
                    let v: &[f64; LIN_ROWS] = v[rows.clone()].try_into().expect("LIN_ROWS long");
                    for k in 0..LIN_ROWS {
                        sum[k] += s * v[k];
                    }
                }
                (Arg::V(u), Arg::V(v)) => {
                    let u: &[f64; LIN_ROWS] = u[rows.clone()].try_into().expect("LIN_ROWS long");
                    let v: &[f64; LIN_ROWS] = v[rows.clone()].try_into().expect("LIN_ROWS long");
                    for k in 0..LIN_ROWS {
                        sum[k] += u[k] * v[k];
                    }
                }
                (Arg::S(a), Arg::S(b)) => {
                    let p = a * b;
                    for s in &mut sum {
                        *s += p;
                    }
                }
            }
        }
        out[rows].copy_from_slice(&sum);
        at += LIN_ROWS;
    }
    for (row_idx, o) in out.iter_mut().enumerate().skip(at) {
        let mut s = base.at(row_idx);
        for (x, y) in terms {
            s += x.at(row_idx) * y.at(row_idx);
        }
        *o = s;
    }
}

/// The chunk buffers other than the output buffer.
struct Split<'a> {
    before: &'a [f64],
    after: &'a [f64],
    out_at: usize,
}

impl<'a> Split<'a> {
    #[inline(always)]
    fn arg<'b>(&'b self, ctx: &'b Chunk, src: Src) -> Arg<'b> {
        match src {
            Src::Buf(b) => {
                let at = b as usize * CHUNK;
                let v = if at < self.out_at {
                    &self.before[at..at + ctx.len]
                } else {
                    debug_assert!(at > self.out_at, "an instruction reads its own output");
                    let at = at - self.out_at - CHUNK;
                    &self.after[at..at + ctx.len]
                };
                Arg::V(v)
            }
            Src::Slot(s) => Arg::S(ctx.slots[s as usize]),
            Src::Col(c) => Arg::V(&ctx.data.real[c as usize][ctx.start..ctx.start + ctx.len]),
            Src::Kept(k) => Arg::V(&ctx.kept[k as usize][ctx.start..ctx.start + ctx.len]),
        }
    }
}

#[inline(always)]
fn map1(out: &mut [f64], a: Arg, f: impl Fn(f64) -> f64) {
    match a {
        Arg::S(x) => out.iter_mut().for_each(|o| *o = f(x)),
        Arg::V(v) => {
            for (o, x) in out.iter_mut().zip(v) {
                *o = f(*x);
            }
        }
    }
}

/// softplus and logistic of `a` into `sp` and `lg`, row by row.
#[inline(always)]
fn softplus_logistic_rows<M: MulAdd>(sp: &mut [f64], lg: &mut [f64], a: Arg) {
    match a {
        Arg::S(x) => {
            let (s, l) = fastmath::softplus_logistic_with::<M>(x);
            sp.fill(s);
            lg.fill(l);
        }
        Arg::V(v) => {
            for ((s, l), x) in sp.iter_mut().zip(lg.iter_mut()).zip(v) {
                (*s, *l) = fastmath::softplus_logistic_with::<M>(*x);
            }
        }
    }
}

/// softplus(a), logistic(a) and logistic(-a) into `sp`, `lg` and `mi`
/// (see [`fastmath::softplus_logistics_with`]).
#[inline(always)]
fn softplus_logistics_rows<M: MulAdd>(sp: &mut [f64], lg: &mut [f64], mi: &mut [f64], a: Arg) {
    match a {
        Arg::S(x) => {
            let (s, l, m) = fastmath::softplus_logistics_with::<M>(x);
            sp.fill(s);
            lg.fill(l);
            mi.fill(m);
        }
        Arg::V(v) => {
            let outs = sp.iter_mut().zip(lg.iter_mut()).zip(mi.iter_mut());
            for (((s, l), m), x) in outs.zip(v) {
                (*s, *l, *m) = fastmath::softplus_logistics_with::<M>(*x);
            }
        }
    }
}

/// [`map1`] for the functions of [`fastmath`]. Their bodies are too long
/// for the compiler to inline a closure around them into the loop (a
/// closure cannot be marked `#[inline(always)]`); called through the
/// trait, the function is always inlined, so the loop vectorises.
#[inline(always)]
fn map1_kernel<K: fastmath::Kernel, M: MulAdd>(out: &mut [f64], a: Arg) {
    match a {
        Arg::S(x) => out.iter_mut().for_each(|o| *o = K::apply::<M>(x)),
        Arg::V(v) => {
            for (o, x) in out.iter_mut().zip(v) {
                *o = K::apply::<M>(*x);
            }
        }
    }
}

/// out_i = f(other_i, x_i y_i) over a chunk. The usual operands (a column
/// or buffer, a scalar coefficient times a column) get loops of their own so
/// they vectorise; x y = y x exactly, so the scalar factor may come first.
#[inline(always)]
fn add_product(out: &mut [f64], other: Arg, x: Arg, y: Arg, f: impl Fn(f64, f64) -> f64) {
    let (x, y) = match (x, y) {
        (Arg::V(_), Arg::S(_)) => (y, x),
        _ => (x, y),
    };
    match (other, x, y) {
        (Arg::V(o), Arg::S(s), Arg::V(v)) => {
            for ((r, o), v) in out.iter_mut().zip(o).zip(v) {
                *r = f(*o, s * *v);
            }
        }
        (Arg::V(o), Arg::V(u), Arg::V(v)) => {
            for (((r, o), u), v) in out.iter_mut().zip(o).zip(u).zip(v) {
                *r = f(*o, *u * *v);
            }
        }
        (Arg::S(o), Arg::S(s), Arg::V(v)) => {
            for (r, v) in out.iter_mut().zip(v) {
                *r = f(o, s * *v);
            }
        }
        _ => {
            for (row_idx, r) in out.iter_mut().enumerate() {
                *r = f(other.at(row_idx), x.at(row_idx) * y.at(row_idx));
            }
        }
    }
}

#[inline(always)]
fn map2(out: &mut [f64], a: Arg, b: Arg, f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Arg::V(u), Arg::V(v)) => {
            for ((o, x), y) in out.iter_mut().zip(u).zip(v) {
                *o = f(*x, *y);
            }
        }
        (Arg::V(u), Arg::S(y)) => {
            for (o, x) in out.iter_mut().zip(u) {
                *o = f(*x, y);
            }
        }
        (Arg::S(x), Arg::V(v)) => {
            for (o, y) in out.iter_mut().zip(v) {
                *o = f(x, *y);
            }
        }
        (Arg::S(x), Arg::S(y)) => out.iter_mut().for_each(|o| *o = f(x, y)),
    }
}

#[inline(always)]
fn unary<M: MulAdd>(f: Func, out: &mut [f64], a: Arg) {
    // One loop per function so each is compiled (and vectorised where the
    // function allows) on its own instead of branching per element.
    match f {
        Func::Neg => map1(out, a, |x| -x),
        Func::Exp => map1_kernel::<fastmath::Exp, M>(out, a),
        Func::Log => map1_kernel::<fastmath::Ln, M>(out, a),
        Func::Log1p => map1_kernel::<fastmath::Log1p, M>(out, a),
        Func::Expm1 => map1(out, a, f64::exp_m1),
        Func::Sqrt => map1(out, a, f64::sqrt),
        Func::Abs => map1(out, a, f64::abs),
        Func::Sign => map1(out, a, func::sign),
        Func::Logistic => map1_kernel::<fastmath::Logistic, M>(out, a),
        Func::Softplus => map1_kernel::<fastmath::Softplus, M>(out, a),
        Func::Lgamma => map1(out, a, func::lgamma),
        other => map1(out, a, |x| other.apply(x)),
    }
}

#[inline(always)]
fn binary(op: BinOp, out: &mut [f64], a: Arg, b: Arg) {
    match op {
        BinOp::Add => map2(out, a, b, |x, y| x + y),
        BinOp::Sub => map2(out, a, b, |x, y| x - y),
        BinOp::Mul => map2(out, a, b, |x, y| x * y),
        BinOp::Div => map2(out, a, b, |x, y| x / y),
        // Small whole exponents, the usual ones, as the multiplications that
        // `powi` performs (repeated squaring, then one division for a
        // negative exponent): the same values, in a loop that vectorises
        // instead of a library call per row.
        BinOp::Pow => match b {
            Arg::S(y) if y == 2.0 => map1(out, a, |x| x * x),
            Arg::S(y) if y == 3.0 => map1(out, a, |x| x * (x * x)),
            Arg::S(y) if y == 4.0 => map1(out, a, |x| (x * x) * (x * x)),
            Arg::S(y) if y == -1.0 => map1(out, a, |x| 1.0 / x),
            Arg::S(y) if y == -2.0 => map1(out, a, |x| 1.0 / (x * x)),
            _ => map2(out, a, b, crate::graph::pow),
        },
    }
}
