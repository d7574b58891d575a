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

/// The most sums one [`RowOp::AccumulateDots`] computes.
pub(crate) const MAX_DOTS: usize = 4;

/// Merges runs of sums of products that share a factor, sum_i s_i v_ki for
/// up to [`MAX_DOTS`] k (the gradient's sum_i r_i x_ij, a Hessian's
/// sum_i w_i x_ij x_ik), into one [`RowOp::AccumulateDots`]: one pass that
/// reads s once, with independent running sums. Each sum adds the same
/// terms in the same lanes, so results are bit-identical.
pub(crate) fn shared_dots(rows: Vec<RowInstr>) -> Vec<RowInstr> {
    let dot = |r: &RowInstr| match r.op {
        RowOp::AccumulateBinary {
            acc,
            op: BinOp::Mul,
            a,
            b,
        } if is_column(a) && is_column(b) => Some((acc, a, b)),
        _ => None,
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let (Some((acc0, a0, b0)), Some((_, a1, b1))) =
            (dot(&rows[i]), rows.get(i + 1).and_then(dot))
        else {
            out.push(rows[i].clone());
            i += 1;
            continue;
        };
        let Some(shared) = [a0, b0].into_iter().find(|s| *s == a1 || *s == b1) else {
            out.push(rows[i].clone());
            i += 1;
            continue;
        };
        let other = |a: Src, b: Src| if a == shared { b } else { a };
        let mut accs = vec![acc0];
        let mut others = vec![other(a0, b0)];
        let mut end = i + 1;
        while end < rows.len() && others.len() < MAX_DOTS {
            match dot(&rows[end]) {
                Some((acc, a, b)) if a == shared || b == shared => {
                    accs.push(acc);
                    others.push(other(a, b));
                    end += 1;
                }
                _ => break,
            }
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
    partials.iter().all(|&b| {
        for r in &rows[end..] {
            if r.operands().contains(&Src::Buf(b)) {
                return false;
            }
            if r.written_buffers().contains(&b) {
                return true;
            }
        }
        !row_outputs.contains(&Src::Buf(b))
    })
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
        // Six dots with r (on either side), one with a scalar, one with
        // another factor.
        let rows = vec![
            dot(0, r, Src::Col(0)),
            dot(1, Src::Col(1), r),
            dot(2, r, Src::Col(2)),
            dot(3, r, Src::Col(3)),
            dot(4, r, Src::Col(4)),
            dot(5, r, Src::Col(5)),
            dot(6, r, Src::Slot(1)),
            dot(7, Src::Col(0), Src::Col(1)),
        ];
        let fused = shared_dots(rows);
        let groups: Vec<(Vec<u32>, Vec<Src>)> = fused
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
        assert_eq!(groups[0].0, [0, 1, 2, 3]);
        assert_eq!(
            groups[0].1,
            [Src::Col(0), Src::Col(1), Src::Col(2), Src::Col(3)]
        );
        assert_eq!(groups[1].0, [4, 5]);
        assert!(matches!(
            fused[2].op,
            RowOp::AccumulateBinary { acc: 6, .. }
        ));
        assert!(matches!(
            fused[3].op,
            RowOp::AccumulateBinary { acc: 7, .. }
        ));
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
