//! Rewrites of the emitted row instructions that merge several passes over a
//! chunk into one, once buffers are assigned.

use super::{RowInstr, RowOp, Src};
use crate::graph::{BinOp, Func};

/// The most terms one [`RowOp::LinComb`] takes: its operands are resolved
/// into an array of this size on the stack, once per chunk. A longer chain
/// becomes several instructions.
pub(crate) const MAX_LIN_TERMS: usize = 16;

/// Merges each run of `a + x y` steps (a linear predictor
/// b0 + b1 x1 + ... + bk xk, emitted as one [`RowOp::AddProduct`] per term,
/// each reading the previous one's buffer) into one [`RowOp::LinComb`]: one
/// pass over the chunk that keeps the running sum in registers instead of
/// storing and reloading it per term. The additions happen in the same
/// order with the same roundings, so results are bit-identical.
///
/// A run is merged only where that changes nothing else: no step reads a
/// partial sum other than through the chain, and no later instruction or
/// per-row output reads a partial sum left in a buffer.
pub(crate) fn linear_chains(rows: Vec<RowInstr>, row_outputs: &[Src]) -> Vec<RowInstr> {
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let end = chain_end(&rows, i);
        if end - i >= 2 && chain_is_private(&rows, i, end, row_outputs) {
            let Some((base, _, _)) = plain_add_product(&rows[i]) else {
                unreachable!("a chain starts with a step")
            };
            let terms = rows[i..end]
                .iter()
                .filter_map(plain_add_product)
                .map(|(_, x, y)| (x, y))
                .collect();
            out.push(RowInstr {
                op: RowOp::LinComb { base, terms },
                src: None,
                out: rows[end - 1].out,
            });
            i = end;
        } else {
            out.push(rows[i].clone());
            i += 1;
        }
    }
    out
}

/// Merges s a -> exp, and s a -> neg -> exp (s a scalar), into one
/// [`RowOp::ExpScaled`] computing exp(s a) or exp(-(s a)) in one pass:
/// the exponent of an exponential decay exp(-b x), or of a scale
/// exp(-2 (c + d x)). -(s a) = (-s) a exactly, so results are
/// bit-identical. Only where the intermediate values are read by nothing
/// else, as for [`linear_chains`].
pub(crate) fn scaled_exps(rows: Vec<RowInstr>, row_outputs: &[Src]) -> Vec<RowInstr> {
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        if let Some((scale, negate, a, len)) = scaled_exp_at(&rows, i) {
            if chain_is_private(&rows, i, i + len, row_outputs) {
                out.push(RowInstr {
                    op: RowOp::ExpScaled { scale, negate, a },
                    src: None,
                    out: rows[i + len - 1].out,
                });
                i += len;
                continue;
            }
        }
        out.push(rows[i].clone());
        i += 1;
    }
    out
}

/// (slot of s, negated, a, instructions taken) of s a -> [neg ->] exp
/// starting at `rows[i]`.
fn scaled_exp_at(rows: &[RowInstr], i: usize) -> Option<(u32, bool, Src, usize)> {
    let (scale, a) = match rows[i].op {
        RowOp::Binary(BinOp::Mul, Src::Slot(s), a) | RowOp::Binary(BinOp::Mul, a, Src::Slot(s))
            if !matches!(a, Src::Slot(_)) =>
        {
            (s, a)
        }
        _ => return None,
    };
    let reads = |k: usize, f: Func| -> bool {
        matches!(rows.get(k), Some(r) if r.op == RowOp::Unary(f, Src::Buf(rows[k - 1].out)))
    };
    if reads(i + 1, Func::Exp) {
        Some((scale, false, a, 2))
    } else if reads(i + 1, Func::Neg) && reads(i + 2, Func::Exp) {
        Some((scale, true, a, 3))
    } else {
        None
    }
}

/// Computes a value inside its only reader where the two make one
/// instruction, saving a pass over the chunk and a buffer:
///
/// - a square read only by its product with another value becomes one
///   [`RowOp::ScaledSquare`] (x^2 s, rounded as before: bit-identical);
/// - a sum, difference, product or quotient read only by a sum of its
///   products with a per-row factor, sum_i x_i (1 - z_i^2), becomes one
///   [`RowOp::AccumulateTimesBinary`] (bit-identical);
/// - `d + x y` (d a scalar) read only by its sum or difference with another
///   scalar c becomes one [`RowOp::AddProduct`] with the scalars combined
///   once per evaluation by `combine` (which returns the slot of `c op d`,
///   computed in the prologue): c - (d + x y) = (c - d) - x y, as in a
///   mixture component's log weight minus its Gaussian terms. This one
///   rounds differently: c - d rounded once per evaluation, then the
///   product and one difference per row, instead of two sums per row; each
///   is within an ulp of the largest of c, d and x y.
///
/// The value may be computed a few instructions before its reader: it
/// moves only where its operands still hold the same values there.
pub(crate) fn fold_into_readers(
    rows: Vec<RowInstr>,
    row_outputs: &[Src],
    mut combine: impl FnMut(BinOp, u32, u32) -> u32,
) -> Vec<RowInstr> {
    let flow = Flow::new(&rows, row_outputs);
    let mut rows: Vec<Option<RowInstr>> = rows.into_iter().map(Some).collect();
    for j in 0..rows.len() {
        let Some(out) = rows[j].as_ref().map(|r| r.out) else {
            continue;
        };
        let folded = times_binary(&rows, j, &flow)
            .or_else(|| scaled_square(&rows, j, &flow))
            .or_else(|| scalar_offset(&rows, j, &flow, &mut combine));
        if let Some((i, op)) = folded {
            rows[i] = None;
            rows[j] = Some(RowInstr { op, src: None, out });
        }
    }
    rows.into_iter().flatten().collect()
}

/// For a product `rows[j]` of a square read by nothing else and another
/// value s: the instruction computing the square and the
/// [`RowOp::ScaledSquare`] that replaces both.
fn scaled_square(rows: &[Option<RowInstr>], j: usize, flow: &Flow) -> Option<(usize, RowOp)> {
    let RowOp::Binary(BinOp::Mul, a, b) = rows[j].as_ref()?.op else {
        return None;
    };
    [(a, b), (b, a)].into_iter().find_map(|(square, scale)| {
        let Src::Buf(t) = square else { return None };
        if scale == square {
            return None;
        }
        let i = private_producer(rows, j, t, flow)?;
        match rows[i].as_ref()?.op {
            RowOp::Square(x) => Some((i, RowOp::ScaledSquare { scale, a: x })),
            _ => None,
        }
    })
}

/// For a sum or difference `rows[j]` of a scalar c and v = d + x y (d a
/// scalar) read by nothing else: the instruction computing v and the
/// [`RowOp::AddProduct`] of the combined scalar that replaces both.
fn scalar_offset(
    rows: &[Option<RowInstr>],
    j: usize,
    flow: &Flow,
    combine: &mut impl FnMut(BinOp, u32, u32) -> u32,
) -> Option<(usize, RowOp)> {
    let RowOp::Binary(op @ (BinOp::Add | BinOp::Sub), a, b) = rows[j].as_ref()?.op else {
        return None;
    };
    let (scalar, buf, scalar_first) = match (a, b) {
        (Src::Slot(s), Src::Buf(t)) => (s, t, true),
        (Src::Buf(t), Src::Slot(s)) => (s, t, false),
        _ => return None,
    };
    let i = private_producer(rows, j, buf, flow)?;
    let RowOp::AddProduct {
        is_sub: false,
        other: Src::Slot(d),
        x,
        y,
        ..
    } = rows[i].as_ref()?.op
    else {
        return None;
    };
    // c + v, v + c and v - c add x y to c + d, d + c or d - c; c - v
    // subtracts it from c - d.
    let (first, second) = if scalar_first {
        (scalar, d)
    } else {
        (d, scalar)
    };
    let op = RowOp::AddProduct {
        is_sub: op == BinOp::Sub && scalar_first,
        product_first: false,
        other: Src::Slot(combine(op, first, second)),
        x,
        y,
    };
    Some((i, op))
}

/// For a sum of products `rows[j]`, sum_i x_i v_i with v = a op b read by
/// nothing else: the instruction computing v and the
/// [`RowOp::AccumulateTimesBinary`] that replaces both.
fn times_binary(rows: &[Option<RowInstr>], j: usize, flow: &Flow) -> Option<(usize, RowOp)> {
    let RowOp::AccumulateBinary {
        acc,
        op: BinOp::Mul,
        a,
        b,
    } = rows[j].as_ref()?.op
    else {
        return None;
    };
    [(a, b), (b, a)].into_iter().find_map(|(x, v)| {
        let Src::Buf(t) = v else { return None };
        if matches!(x, Src::Slot(_)) || x == v {
            return None;
        }
        let i = private_producer(rows, j, t, flow)?;
        match rows[i].as_ref()?.op {
            RowOp::Binary(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div), a, b) => {
                Some((i, RowOp::AccumulateTimesBinary { acc, x, op, a, b }))
            }
            _ => None,
        }
    })
}

/// Who writes and reads each value of the chunk buffers, found in one pass
/// over the instructions before any is folded. Folding keeps what it
/// answers true or makes it err on the side of folding less: a folded
/// instruction reads its producer's operands where the producer read them
/// (the same values, so each still has as many readers), and the write of
/// a removed producer, still counted, only hides folds.
struct Flow {
    /// The positions of the instructions writing each buffer, in order.
    writes: Vec<Vec<usize>>,
    /// For each instruction, how many operands of later instructions read
    /// the value it wrote (for instructions writing one buffer).
    n_reads: Vec<usize>,
    /// Whether the value an instruction wrote is still in its buffer at
    /// the end, as a per-row output.
    is_output: Vec<bool>,
}

impl Flow {
    fn new(rows: &[RowInstr], row_outputs: &[Src]) -> Flow {
        let n_bufs = rows
            .iter()
            .flat_map(RowInstr::written_buffers)
            .max()
            .map_or(0, |b| b as usize + 1);
        let mut writes = vec![Vec::new(); n_bufs];
        let mut n_reads = vec![0; rows.len()];
        // The instruction that wrote each buffer last, so far.
        let mut last = vec![None; n_bufs];
        for (k, r) in rows.iter().enumerate() {
            for src in r.operands() {
                if let Src::Buf(b) = src {
                    if let Some(Some(w)) = last.get(b as usize) {
                        n_reads[*w] += 1;
                    }
                }
            }
            for b in r.written_buffers() {
                writes[b as usize].push(k);
                last[b as usize] = Some(k);
            }
        }
        let mut is_output = vec![false; rows.len()];
        for (b, w) in last.iter().enumerate() {
            if let Some(w) = w {
                is_output[*w] |= row_outputs.contains(&Src::Buf(b as u32));
            }
        }
        Flow {
            writes,
            n_reads,
            is_output,
        }
    }

    /// The last instruction before `at` that writes buffer `b`.
    fn writer_before(&self, b: u32, at: usize) -> Option<usize> {
        let writes = self.writes.get(b as usize)?;
        let n = writes.partition_point(|&k| k < at);
        n.checked_sub(1).map(|i| writes[i])
    }

    /// Whether an instruction strictly between `from` and `to` writes `b`.
    fn written_between(&self, b: u32, from: usize, to: usize) -> bool {
        self.writes.get(b as usize).is_some_and(|writes| {
            writes.partition_point(|&k| k <= from) < writes.partition_point(|&k| k < to)
        })
    }
}

/// The instruction before `reader` that wrote buffer `buf`, when it writes
/// nothing else, `reader` is the only instruction to read that value, and
/// its operands hold the same values up to `reader` (none of them the
/// reader's output): it can then run as part of `reader`.
fn private_producer(
    rows: &[Option<RowInstr>],
    reader: usize,
    buf: u32,
    flow: &Flow,
) -> Option<usize> {
    let at = flow.writer_before(buf, reader)?;
    let producer = rows[at].as_ref()?;
    let foldable = matches!(
        producer.op,
        RowOp::Square(_) | RowOp::AddProduct { .. } | RowOp::Binary(..)
    );
    if !foldable
        || producer.written_buffers() != [buf]
        || flow.n_reads[at] != 1
        || flow.is_output[at]
    {
        return None;
    }
    let inputs = producer.operands();
    if inputs.contains(&Src::Buf(rows[reader].as_ref()?.out)) {
        return None;
    }
    let kept = inputs.iter().all(|src| match *src {
        Src::Buf(b) => !flow.written_between(b, at, reader),
        _ => true,
    });
    kept.then_some(at)
}

/// The most sums one [`RowOp::AccumulateDots`] computes.
pub(crate) const MAX_DOTS: usize = 4;

/// Merges runs of sums of products that share a factor, sum_i s_i v_ki for
/// up to [`MAX_DOTS`] k (the gradient's sum_i r_i x_ij, a Hessian's
/// sum_i w_i x_ij x_ik), into one [`RowOp::AccumulateDots`]: one pass that
/// reads s once, with independent running sums. A plain sum of s (the
/// gradient of an intercept) joins them as the product s 1. Each sum adds
/// the same terms in the same lanes (s 1 = s exactly), so results are
/// bit-identical.
pub(crate) fn shared_dots(rows: Vec<RowInstr>) -> Vec<RowInstr> {
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let (Some((acc0, a0, b0)), Some(next)) =
            (dot_factors(&rows[i]), rows.get(i + 1).and_then(dot_factors))
        else {
            out.push(rows[i].clone());
            i += 1;
            continue;
        };
        let Some(shared) = [Some(a0), b0]
            .into_iter()
            .flatten()
            .find(|s| other_than(*s, (next.1, next.2)).is_some())
        else {
            out.push(rows[i].clone());
            i += 1;
            continue;
        };
        let mut accs = vec![acc0];
        let mut others = vec![other_than(shared, (a0, b0)).expect("shared is a factor")];
        let mut end = i + 1;
        while end < rows.len() && others.len() < MAX_DOTS {
            let Some((acc, a, b)) = dot_factors(&rows[end]) else {
                break;
            };
            let Some(other) = other_than(shared, (a, b)) else {
                break;
            };
            accs.push(acc);
            others.push(other);
            end += 1;
        }
        out.push(RowInstr {
            op: RowOp::AccumulateDots {
                shared,
                others,
                accs,
            },
            src: None,
            out: u32::MAX,
        });
        i = end;
    }
    out
}

/// (accumulator, factor, other factor) of a sum of a product of two per-row
/// values, or of a plain sum of one (the other factor `None`, for 1).
fn dot_factors(r: &RowInstr) -> Option<(u32, Src, Option<Src>)> {
    match (&r.op, r.src) {
        (
            &RowOp::AccumulateBinary {
                acc,
                op: BinOp::Mul,
                a,
                b,
            },
            _,
        ) if is_column(a) && is_column(b) => Some((acc, a, Some(b))),
        (&RowOp::Accumulate { acc }, Some(s)) if is_column(s) => Some((acc, s, None)),
        _ => None,
    }
}

/// The factor of `(a, b)` other than `shared` (`None` for the 1 of a plain
/// sum), if `shared` is one of them.
fn other_than(shared: Src, (a, b): (Src, Option<Src>)) -> Option<Option<Src>> {
    if a == shared {
        Some(b)
    } else if b == Some(shared) {
        Some(Some(a))
    } else {
        None
    }
}

/// A per-row operand (not a scalar slot).
fn is_column(s: Src) -> bool {
    !matches!(s, Src::Slot(_))
}

/// (other, x, y) of `other + x y`.
fn plain_add_product(instr: &RowInstr) -> Option<(Src, Src, Src)> {
    match instr.op {
        RowOp::AddProduct {
            is_sub: false,
            product_first: false,
            other,
            x,
            y,
        } => Some((other, x, y)),
        _ => None,
    }
}

/// One past the last step of the chain starting at `start` (`start` itself
/// when it is not a step): each next step adds to the buffer the previous
/// one wrote, and reads no other buffer the chain wrote.
fn chain_end(rows: &[RowInstr], start: usize) -> usize {
    if plain_add_product(&rows[start]).is_none() {
        return start;
    }
    let final_out = |end: usize| Src::Buf(rows[end - 1].out);
    let mut written = vec![rows[start].out];
    let mut end = start + 1;
    while end < rows.len() && end - start < MAX_LIN_TERMS {
        let Some((other, x, y)) = plain_add_product(&rows[end]) else {
            break;
        };
        let reads_partial = [x, y]
            .iter()
            .any(|s| matches!(s, Src::Buf(b) if written.contains(b)));
        if other != Src::Buf(rows[end - 1].out) || reads_partial {
            break;
        }
        written.push(rows[end].out);
        end += 1;
    }
    // The merged instruction writes its output while it still reads its
    // operands: none of them may be that buffer.
    while end > start + 1 {
        let out = final_out(end);
        let reads_out = rows[start..end].iter().enumerate().any(|(k, r)| {
            let Some((other, x, y)) = plain_add_product(r) else {
                return false;
            };
            (k == 0 && other == out) || x == out || y == out
        });
        if !reads_out {
            break;
        }
        end -= 1;
    }
    end
}

/// Whether the partial sums the steps `rows[start..end]` leave in buffers
/// (all but the last step's) are read by nothing after the chain.
fn chain_is_private(rows: &[RowInstr], start: usize, end: usize, row_outputs: &[Src]) -> bool {
    let last = rows[end - 1].out;
    let partials: Vec<u32> = rows[start..end - 1]
        .iter()
        .map(|r| r.out)
        .filter(|b| *b != last)
        .collect();
    partials
        .iter()
        .all(|&b| is_dead(&rows[end..], b, row_outputs))
}

/// Whether the value in buffer `b` is read by none of `rows` (in order)
/// before one of them writes it again, and is not a per-row output left in
/// it at the end.
fn is_dead<'a>(rows: impl IntoIterator<Item = &'a RowInstr>, b: u32, row_outputs: &[Src]) -> bool {
    for r in rows {
        if r.operands().contains(&Src::Buf(b)) {
            return false;
        }
        if r.written_buffers().contains(&b) {
            return true;
        }
    }
    !row_outputs.contains(&Src::Buf(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(other: Src, x: Src, y: Src, out: u32) -> RowInstr {
        RowInstr {
            op: RowOp::AddProduct {
                is_sub: false,
                product_first: false,
                other,
                x,
                y,
            },
            src: None,
            out,
        }
    }

    fn predictor(k: u32) -> Vec<RowInstr> {
        let mut rows = vec![step(Src::Slot(0), Src::Slot(1), Src::Col(0), 0)];
        for j in 1..k {
            rows.push(step(
                Src::Buf((j - 1) % 2),
                Src::Slot(j + 1),
                Src::Col(j),
                j % 2,
            ));
        }
        rows
    }

    fn terms_of(instr: &RowInstr) -> usize {
        match &instr.op {
            RowOp::LinComb { terms, .. } => terms.len(),
            _ => 0,
        }
    }

    #[test]
    fn a_predictor_becomes_one_instruction() {
        let rows = linear_chains(predictor(5), &[]);
        assert_eq!(rows.len(), 1);
        assert_eq!(terms_of(&rows[0]), 5);
        assert_eq!(rows[0].out, 0);
    }

    #[test]
    fn long_predictors_are_cut() {
        // The second run's base is the first one's result, in buffer 1, and
        // its sixteenth step would write buffer 1 again: an instruction
        // never writes a buffer it reads, so that run stops at 15.
        let rows = linear_chains(predictor(40), &[]);
        let sizes: Vec<usize> = rows.iter().map(terms_of).collect();
        assert_eq!(sizes, [16, 15, 9]);
    }

    #[test]
    fn a_partial_sum_read_later_keeps_the_chain() {
        // Buffer 1 holds b0 + b1 x0 + b2 x1 after the chain of three steps
        // (whose result is in buffer 0), and the next instruction reads it.
        let mut rows = predictor(3);
        rows.push(RowInstr {
            op: RowOp::Unary(crate::graph::Func::Exp, Src::Buf(1)),
            src: None,
            out: 2,
        });
        let fused = linear_chains(rows.clone(), &[]);
        assert!(fused.iter().all(|r| terms_of(r) == 0), "{fused:?}");
        // ... and so does a partial sum asked for per row.
        let fused = linear_chains(predictor(3), &[Src::Buf(1)]);
        assert!(fused.iter().all(|r| terms_of(r) == 0), "{fused:?}");
        // A partial sum overwritten before it is read is free to go.
        let mut rows = predictor(3);
        rows.push(RowInstr {
            op: RowOp::Unary(crate::graph::Func::Exp, Src::Col(4)),
            src: None,
            out: 1,
        });
        rows.push(RowInstr {
            op: RowOp::Unary(crate::graph::Func::Exp, Src::Buf(1)),
            src: None,
            out: 2,
        });
        let fused = linear_chains(rows, &[Src::Buf(1)]);
        assert_eq!(terms_of(&fused[0]), 3);
    }

    #[test]
    fn exps_of_scaled_values_become_one_instruction() {
        let unary = |f, a, out| RowInstr {
            op: RowOp::Unary(f, a),
            src: None,
            out,
        };
        let mul = RowInstr {
            op: RowOp::Binary(BinOp::Mul, Src::Slot(3), Src::Col(0)),
            src: None,
            out: 0,
        };
        // exp(-(s x)), then a reader of the exp
        let rows = vec![
            mul.clone(),
            unary(Func::Neg, Src::Buf(0), 1),
            unary(Func::Exp, Src::Buf(1), 0),
            unary(Func::Log, Src::Buf(0), 2),
        ];
        let fused = scaled_exps(rows, &[]);
        assert_eq!(fused.len(), 2);
        assert_eq!(
            fused[0].op,
            RowOp::ExpScaled {
                scale: 3,
                negate: true,
                a: Src::Col(0)
            }
        );
        assert_eq!(fused[0].out, 0);
        // s x read again after the exp: left as it is.
        let rows = vec![
            mul.clone(),
            unary(Func::Exp, Src::Buf(0), 1),
            unary(Func::Log, Src::Buf(0), 2),
        ];
        assert_eq!(scaled_exps(rows.clone(), &[]), rows);
        // exp of a product of two columns: not a scaled value.
        let rows = vec![
            RowInstr {
                op: RowOp::Binary(BinOp::Mul, Src::Col(1), Src::Col(0)),
                src: None,
                out: 0,
            },
            unary(Func::Exp, Src::Buf(0), 1),
        ];
        assert_eq!(scaled_exps(rows.clone(), &[]), rows);
    }

    #[test]
    fn dots_sharing_a_factor_are_grouped() {
        let dot = |acc, a, b| RowInstr {
            op: RowOp::AccumulateBinary {
                acc,
                op: BinOp::Mul,
                a,
                b,
            },
            src: None,
            out: u32::MAX,
        };
        let r = Src::Buf(2);
        let plain_sum = RowInstr {
            op: RowOp::Accumulate { acc: 8 },
            src: Some(r),
            out: u32::MAX,
        };
        // A plain sum of r, five dots with r (on either side), one with a
        // scalar, one with another factor.
        let rows = vec![
            plain_sum,
            dot(0, r, Src::Col(0)),
            dot(1, Src::Col(1), r),
            dot(2, r, Src::Col(2)),
            dot(3, r, Src::Col(3)),
            dot(4, r, Src::Col(4)),
            dot(6, r, Src::Slot(1)),
            dot(7, Src::Col(0), Src::Col(1)),
        ];
        let fused = shared_dots(rows);
        let groups: Vec<(Vec<u32>, Vec<Option<Src>>)> = fused
            .iter()
            .filter_map(|instr| match &instr.op {
                RowOp::AccumulateDots {
                    shared,
                    others,
                    accs,
                } => {
                    assert_eq!(*shared, r);
                    Some((accs.clone(), others.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(fused.len(), 4);
        assert_eq!(groups[0].0, [8, 0, 1, 2]);
        assert_eq!(
            groups[0].1,
            [
                None,
                Some(Src::Col(0)),
                Some(Src::Col(1)),
                Some(Src::Col(2))
            ]
        );
        assert_eq!(groups[1].0, [3, 4]);
        assert!(matches!(
            fused[2].op,
            RowOp::AccumulateBinary { acc: 6, .. }
        ));
        assert!(matches!(
            fused[3].op,
            RowOp::AccumulateBinary { acc: 7, .. }
        ));
    }

    fn instr(op: RowOp, out: u32) -> RowInstr {
        RowInstr { op, src: None, out }
    }

    /// Folds `rows`, returning the result and the scalars combined (op, c, d),
    /// each given slot 100, 101, ...
    fn fold(rows: Vec<RowInstr>, outs: &[Src]) -> (Vec<RowInstr>, Vec<(BinOp, u32, u32)>) {
        let mut combined = Vec::new();
        let rows = fold_into_readers(rows, outs, |op, c, d| {
            combined.push((op, c, d));
            99 + combined.len() as u32
        });
        (rows, combined)
    }

    #[test]
    fn a_square_read_once_by_a_product_is_scaled_in_place() {
        let square = instr(RowOp::Square(Src::Col(0)), 0);
        let exp = instr(RowOp::Unary(Func::Exp, Src::Col(1)), 1);
        let times = instr(RowOp::Binary(BinOp::Mul, Src::Slot(4), Src::Buf(0)), 2);
        let (rows, _) = fold(vec![square.clone(), exp.clone(), times.clone()], &[]);
        let scaled = |scale| {
            instr(
                RowOp::ScaledSquare {
                    scale,
                    a: Src::Col(0),
                },
                2,
            )
        };
        assert_eq!(rows, [exp.clone(), scaled(Src::Slot(4))]);
        // ... by a per-row value on either side.
        for times in [
            instr(RowOp::Binary(BinOp::Mul, Src::Buf(1), Src::Buf(0)), 2),
            instr(RowOp::Binary(BinOp::Mul, Src::Buf(0), Src::Buf(1)), 2),
        ] {
            let rows = vec![square.clone(), exp.clone(), times];
            assert_eq!(fold(rows, &[]).0, [exp.clone(), scaled(Src::Buf(1))]);
        }
        // The square read again, or asked for per row: left as it is.
        let again = instr(RowOp::Unary(Func::Log, Src::Buf(0)), 3);
        let rows = vec![square.clone(), times.clone(), again];
        assert_eq!(fold(rows.clone(), &[]).0, rows);
        let rows = vec![square.clone(), times.clone()];
        assert_eq!(fold(rows.clone(), &[Src::Buf(0)]).0, rows);
        // Its operand overwritten before the product: left as it is.
        let square = instr(RowOp::Square(Src::Buf(5)), 0);
        let overwrite = instr(RowOp::Unary(Func::Exp, Src::Col(1)), 5);
        let rows = vec![square, overwrite, times];
        assert_eq!(fold(rows.clone(), &[]).0, rows);
    }

    #[test]
    fn scalar_offsets_of_a_product_are_combined_once() {
        let product = |out| {
            instr(
                RowOp::AddProduct {
                    is_sub: false,
                    product_first: false,
                    other: Src::Slot(1),
                    x: Src::Slot(2),
                    y: Src::Col(0),
                },
                out,
            )
        };
        let with = |is_sub, other| {
            instr(
                RowOp::AddProduct {
                    is_sub,
                    product_first: false,
                    other: Src::Slot(other),
                    x: Src::Slot(2),
                    y: Src::Col(0),
                },
                1,
            )
        };
        let c = Src::Slot(7);
        let v = Src::Buf(0);
        // c - v = (c - d) - x y; c + v = (c + d) + x y; v - c = (d - c) + x y;
        // v + c = (d + c) + x y.
        let cases = [
            (BinOp::Sub, c, v, with(true, 100), (BinOp::Sub, 7, 1)),
            (BinOp::Add, c, v, with(false, 100), (BinOp::Add, 7, 1)),
            (BinOp::Sub, v, c, with(false, 100), (BinOp::Sub, 1, 7)),
            (BinOp::Add, v, c, with(false, 100), (BinOp::Add, 1, 7)),
        ];
        for (op, a, b, want, combined) in cases {
            let reader = instr(RowOp::Binary(op, a, b), 1);
            let (rows, got) = fold(vec![product(0), reader], &[]);
            assert_eq!(rows, [want]);
            assert_eq!(got, [combined]);
        }
        // A reader writing over the product's operand cannot compute it.
        let product_of_buf = instr(
            RowOp::AddProduct {
                is_sub: false,
                product_first: false,
                other: Src::Slot(1),
                x: Src::Slot(2),
                y: Src::Buf(3),
            },
            0,
        );
        let reader = instr(RowOp::Binary(BinOp::Sub, c, v), 3);
        let rows = vec![product_of_buf, reader];
        assert_eq!(fold(rows.clone(), &[]).0, rows);
    }

    #[test]
    fn an_operation_read_once_by_a_sum_of_products_is_computed_in_it() {
        let diff = instr(RowOp::Binary(BinOp::Sub, Src::Slot(2), Src::Buf(3)), 0);
        let other = instr(RowOp::Accumulate { acc: 0 }, u32::MAX);
        let dot = |a, b| RowInstr {
            op: RowOp::AccumulateBinary {
                acc: 1,
                op: BinOp::Mul,
                a,
                b,
            },
            src: None,
            out: u32::MAX,
        };
        let folded = RowInstr {
            op: RowOp::AccumulateTimesBinary {
                acc: 1,
                x: Src::Col(0),
                op: BinOp::Sub,
                a: Src::Slot(2),
                b: Src::Buf(3),
            },
            src: None,
            out: u32::MAX,
        };
        for reader in [dot(Src::Buf(0), Src::Col(0)), dot(Src::Col(0), Src::Buf(0))] {
            let rows = vec![diff.clone(), other.clone(), reader];
            assert_eq!(fold(rows, &[]).0, [other.clone(), folded.clone()]);
        }
        // A scalar factor, or the difference read again: left as it is.
        let rows = vec![diff.clone(), dot(Src::Buf(0), Src::Slot(1))];
        assert_eq!(fold(rows.clone(), &[]).0, rows);
        let again = instr(RowOp::Unary(Func::Exp, Src::Buf(0)), 4);
        let rows = vec![diff.clone(), dot(Src::Buf(0), Src::Col(0)), again];
        assert_eq!(fold(rows.clone(), &[]).0, rows);
        // Its operand overwritten in between: left as it is.
        let overwrite = instr(RowOp::Unary(Func::Exp, Src::Col(1)), 3);
        let rows = vec![diff, overwrite, dot(Src::Buf(0), Src::Col(0))];
        assert_eq!(fold(rows.clone(), &[]).0, rows);
    }

    #[test]
    fn a_step_reading_a_partial_sum_ends_the_chain() {
        let rows = vec![
            step(Src::Slot(0), Src::Slot(1), Src::Col(0), 0),
            step(Src::Buf(0), Src::Slot(2), Src::Col(1), 1),
            // reads buffer 0, a partial sum, as a factor
            step(Src::Buf(1), Src::Buf(0), Src::Col(2), 2),
        ];
        // The first two steps stay apart (their partial sum in buffer 0 is
        // read as a factor); the last two, from buffer 0, merge.
        let fused = linear_chains(rows, &[]);
        assert_eq!(fused.len(), 2);
        assert_eq!(terms_of(&fused[0]), 0);
        assert_eq!(terms_of(&fused[1]), 2);
    }
}
