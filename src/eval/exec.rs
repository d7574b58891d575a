//! Running a compiled [`Program`]: the scalar prologue, the chunked row loop
//! (optionally over several threads), and the epilogue.

use rayon::prelude::*;

use super::{
    Columns, Program, RowInstr, RowOp, ScalarInstr, ScalarOp, Src, CHUNK, CHUNKS_PER_BLOCK,
};
use crate::graph::{apply_binary, func, log_sum_exp, BinOp, Func};

/// Reusable memory for evaluating one program.
#[derive(Debug, Clone)]
pub struct Workspace {
    slots: Vec<f64>,
    bufs: Vec<f64>,
    accs: Vec<f64>,
}

impl Workspace {
    pub fn new(program: &Program) -> Workspace {
        Workspace {
            slots: program.slot_init.clone(),
            bufs: vec![0.0; program.n_bufs * CHUNK],
            accs: vec![0.0; program.n_accs],
        }
    }
}

/// Rows per block, the unit of parallel work.
const BLOCK: usize = CHUNK * CHUNKS_PER_BLOCK;

pub(super) fn run(
    p: &Program,
    ws: &mut Workspace,
    data: &Columns,
    theta: &[f64],
    out: &mut [f64],
    mut row_cols: Option<&mut Vec<Vec<f64>>>,
) {
    if ws.slots.len() != p.slot_init.len() {
        *ws = Workspace::new(p);
    }
    run_scalars(&p.prologue, &mut ws.slots, theta, &[]);

    let n = p.n_rows;
    let n_blocks = n.div_ceil(BLOCK);
    let parallel = row_cols.is_none() && n_blocks > 1 && rayon::current_num_threads() > 1;
    ws.accs.iter_mut().for_each(|a| *a = 0.0);

    if parallel {
        let slots = &ws.slots;
        let partials: Vec<Vec<f64>> = (0..n_blocks)
            .into_par_iter()
            .map_init(
                || vec![0.0; p.n_bufs * CHUNK],
                |bufs, block| {
                    let mut accs = vec![0.0; p.n_accs];
                    run_block(p, data, slots, bufs, &mut accs, block, None);
                    accs
                },
            )
            .collect();
        // Added in block order: the result does not depend on scheduling.
        for block_accs in partials {
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
                &mut ws.bufs,
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
    if let Some(cols) = row_cols {
        // Scalar row outputs are the same in every row.
        for (col, src) in cols.iter_mut().zip(&p.row_outputs) {
            if let Src::Slot(s) = src {
                col.iter_mut().for_each(|v| *v = ws.slots[*s as usize]);
            }
        }
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

fn run_block(
    p: &Program,
    data: &Columns,
    slots: &[f64],
    bufs: &mut [f64],
    accs: &mut [f64],
    block: usize,
    mut row_cols: Option<&mut Vec<Vec<f64>>>,
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
        for instr in &p.rows {
            run_row_instr(&ctx, instr, bufs, accs);
        }
        if let Some(cols) = row_cols.as_deref_mut() {
            for (col, src) in cols.iter_mut().zip(&p.row_outputs) {
                if let Arg::V(v) = ctx.arg(*src, bufs) {
                    col[start..start + len].copy_from_slice(v);
                }
            }
        }
        start += len;
    }
}

/// One chunk of rows being evaluated.
struct Chunk<'a> {
    data: &'a Columns,
    kept: &'a [Vec<f64>],
    slots: &'a [f64],
    start: usize,
    len: usize,
}

/// An operand resolved for one chunk: a broadcast scalar or a row slice.
#[derive(Clone, Copy)]
enum Arg<'a> {
    S(f64),
    V(&'a [f64]),
}

impl<'a> Chunk<'a> {
    fn arg<'b>(&self, src: Src, bufs: &'b [f64]) -> Arg<'b>
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

fn run_row_instr(ctx: &Chunk, instr: &RowInstr, bufs: &mut [f64], accs: &mut [f64]) {
    if let RowOp::Accumulate { acc } = instr.op {
        let src = instr.src.expect("accumulate has an operand");
        accs[acc as usize] += match ctx.arg(src, bufs) {
            Arg::S(x) => x * ctx.len as f64,
            Arg::V(v) => v.iter().sum::<f64>(),
        };
        return;
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
        RowOp::Unary(f, a) => unary(*f, out, view.arg(ctx, *a)),
        RowOp::Square(a) => map1(out, view.arg(ctx, *a), |x| x * x),
        RowOp::Binary(op, a, b) => binary(*op, out, view.arg(ctx, *a), view.arg(ctx, *b)),
        RowOp::Level { col, level } => {
            let codes = &ctx.data.factor[*col as usize][ctx.start..ctx.start + ctx.len];
            for (o, c) in out.iter_mut().zip(codes) {
                *o = if c == level { 1.0 } else { 0.0 };
            }
        }
        RowOp::Select { col, items } => {
            let codes = &ctx.data.factor[*col as usize][ctx.start..ctx.start + ctx.len];
            let args: Vec<Arg> = items.iter().map(|i| view.arg(ctx, *i)).collect();
            for (row, (o, c)) in out.iter_mut().zip(codes).enumerate() {
                *o = match args.get(*c as usize) {
                    Some(Arg::S(x)) => *x,
                    Some(Arg::V(v)) => v[row],
                    None => f64::NAN,
                };
            }
        }
        RowOp::LogSumExp(items) => {
            let args: Vec<Arg> = items.iter().map(|i| view.arg(ctx, *i)).collect();
            let mut xs = vec![0.0; args.len()];
            for (row, o) in out.iter_mut().enumerate() {
                for (x, a) in xs.iter_mut().zip(&args) {
                    *x = match a {
                        Arg::S(s) => *s,
                        Arg::V(v) => v[row],
                    };
                }
                *o = log_sum_exp(&xs);
            }
        }
        RowOp::Accumulate { .. } => unreachable!("handled above"),
    }
}

/// The chunk buffers other than the output buffer.
struct Split<'a> {
    before: &'a [f64],
    after: &'a [f64],
    out_at: usize,
}

impl<'a> Split<'a> {
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

fn unary(f: Func, out: &mut [f64], a: Arg) {
    // One loop per function so each is compiled (and vectorised where the
    // function allows) on its own instead of branching per element.
    match f {
        Func::Neg => map1(out, a, |x| -x),
        Func::Exp => map1(out, a, f64::exp),
        Func::Log => map1(out, a, f64::ln),
        Func::Log1p => map1(out, a, f64::ln_1p),
        Func::Expm1 => map1(out, a, f64::exp_m1),
        Func::Sqrt => map1(out, a, f64::sqrt),
        Func::Abs => map1(out, a, f64::abs),
        Func::Sign => map1(out, a, func::sign),
        Func::Logistic => map1(out, a, func::logistic),
        Func::Softplus => map1(out, a, func::softplus),
        other => map1(out, a, |x| other.apply(x)),
    }
}

fn binary(op: BinOp, out: &mut [f64], a: Arg, b: Arg) {
    match op {
        BinOp::Add => map2(out, a, b, |x, y| x + y),
        BinOp::Sub => map2(out, a, b, |x, y| x - y),
        BinOp::Mul => map2(out, a, b, |x, y| x * y),
        BinOp::Div => map2(out, a, b, |x, y| x / y),
        BinOp::Pow => map2(out, a, b, crate::graph::pow),
    }
}
