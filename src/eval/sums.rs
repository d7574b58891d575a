//! Sums over a chunk of rows: of a value, of a binary operation, of a
//! value plus a product, of several products with a common factor, of a
//! factor choice. Full chunks add their terms in [`LANES`] partial sums
//! (see [`lanes`]); shorter ones in row order.

use super::exec::{Arg, Chunk};
use super::fuse::MAX_DOTS;
use super::lanes::{self, vectored, LaneOp, MulOp, LANES};
use super::{Src, CHUNK};

/// sum_i f(a_i) over a chunk.
///
/// A chunk shorter than [`CHUNK`] (all the data, when there are fewer rows
/// than that) is summed in row order with one running sum instead: its cost
/// is negligible, and small problems then give the results of a plain sum.
/// Some of them are sensitive to that at rounding level: on NIST's
/// exact-fit problem Wampler1 (certified residuals of 0, so the likelihood
/// is unbounded and the fit stops where the scale collapses) the first
/// coefficient had 9.0 correct digits with the plain sum and 8.3 with
/// partial sums, even compensated ones. A full chunk is summed in
/// [`LANES`] partial sums.
#[inline(always)]
pub(super) fn sum_map1(len: usize, a: Arg, f: impl Fn(f64) -> f64) -> f64 {
    match a {
        Arg::S(x) => f(x) * len as f64,
        Arg::V(v) if v.len() < CHUNK => v.iter().map(|x| f(*x)).sum(),
        Arg::V(v) => lanes::reduce(lanes::of1(v, f)),
    }
}

/// sum_i a_i over a chunk, as [`sum_map1`]; through the registers `VEC`
/// names (see [`lanes`]).
#[inline(always)]
pub(super) fn sum_values<const VEC: u8>(len: usize, a: Arg) -> f64 {
    match a {
        Arg::V(v) if v.len() == CHUNK => {
            lanes::reduce(vectored!(VEC, lanes::of1(v, |x| x), of_values(v)))
        }
        _ => sum_map1(len, a, |x| x),
    }
}

/// sum_i O(a_i, b_i) over a chunk, as [`sum_map1`]; through the registers
/// `VEC` names.
#[inline(always)]
pub(super) fn sum_op<const VEC: u8, O: LaneOp>(len: usize, a: Arg, b: Arg) -> f64 {
    if len < CHUNK {
        return sum_map2(len, a, b, O::f);
    }
    let lanes = match (a, b) {
        (Arg::V(u), Arg::V(v)) => vectored!(VEC, lanes::of2(u, v, O::f), of2::<O>(u, v)),
        (Arg::V(u), Arg::S(y)) => {
            vectored!(VEC, lanes::of1(u, |x| O::f(x, y)), of_vs::<O>(u, y))
        }
        (Arg::S(x), Arg::V(v)) => {
            vectored!(VEC, lanes::of1(v, |y| O::f(x, y)), of_sv::<O>(x, v))
        }
        (Arg::S(x), Arg::S(y)) => return O::f(x, y) * len as f64,
    };
    lanes::reduce(lanes)
}

/// sum_i (o_i + x_i y_i) over a chunk (O the addition), or o_i - x_i y_i
/// (O the subtraction), or x_i y_i - o_i (with `SWAP`), each product rounded
/// before the sum or difference, as [`sum_map1`]: partial sums for the
/// usual full chunks (a column or buffer plus a scalar times one, or plus
/// a product of two), a plain sum in row order otherwise.
#[inline(always)]
pub(super) fn sum_add_product<const VEC: u8, O: LaneOp, const SWAP: bool>(
    len: usize,
    o: Arg,
    x: Arg,
    y: Arg,
) -> f64 {
    let f = lanes::with_product::<O, SWAP>;
    // The scalar factor, if any, first: x y = y x exactly.
    let (x, y) = match (x, y) {
        (Arg::V(_), Arg::S(_)) => (y, x),
        _ => (x, y),
    };
    match (o, x, y) {
        (Arg::V(o), Arg::S(s), Arg::V(v)) if len == CHUNK => lanes::reduce(vectored!(
            VEC,
            lanes::of2(o, v, |a, b| f(a, s * b)),
            of_scaled_product::<O, SWAP>(o, s, v)
        )),
        (Arg::V(o), Arg::V(u), Arg::V(v)) if len == CHUNK => lanes::reduce(vectored!(
            VEC,
            lanes::of3(o, u, v, |a, b, c| f(a, b * c)),
            of_product::<O, SWAP>(o, u, v)
        )),
        _ => (0..len).map(|i| f(o.at(i), x.at(i) * y.at(i))).sum(),
    }
}

/// sum_i s_i v_ki over a chunk into `sums[k]`, for each of `vs`: as
/// [`sum_op`] would sum each product, reading s once when `VEC` names
/// vector registers.
#[inline(always)]
pub(super) fn dots<const VEC: u8>(len: usize, shared: Arg, vs: &[Arg], sums: &mut [f64; MAX_DOTS]) {
    if let (true, Arg::V(s)) = (VEC != lanes::PORTABLE && len == CHUNK, shared) {
        let mut cols: [&[f64]; MAX_DOTS] = [&[]; MAX_DOTS];
        let mut all_columns = true;
        for (c, v) in cols.iter_mut().zip(vs) {
            match *v {
                Arg::V(x) => *c = x,
                Arg::S(_) => all_columns = false,
            }
        }
        if all_columns {
            let mut put = |from: usize, lanes: &[[f64; LANES]]| {
                for (sum, l) in sums[from..].iter_mut().zip(lanes) {
                    *sum = lanes::reduce(*l);
                }
            };
            // With 4-lane registers, a set of partial sums takes 4 of the
            // 16 registers: at most 3 sets at once, or they spill.
            match (vs.len(), VEC == lanes::AVX2) {
                (2, _) => {
                    return put(
                        0,
                        &vectored!(VEC, unreachable!(), of_dots::<2>(s, [cols[0], cols[1]])),
                    )
                }
                (3, _) => {
                    return put(
                        0,
                        &vectored!(
                            VEC,
                            unreachable!(),
                            of_dots::<3>(s, [cols[0], cols[1], cols[2]])
                        ),
                    )
                }
                (4, false) => {
                    return put(
                        0,
                        &vectored!(
                            VEC,
                            unreachable!(),
                            of_dots::<4>(s, [cols[0], cols[1], cols[2], cols[3]])
                        ),
                    )
                }
                (4, true) => {
                    put(
                        0,
                        &vectored!(VEC, unreachable!(), of_dots::<2>(s, [cols[0], cols[1]])),
                    );
                    return put(
                        2,
                        &vectored!(VEC, unreachable!(), of_dots::<2>(s, [cols[2], cols[3]])),
                    );
                }
                _ => {}
            }
        }
    }
    for (sum, v) in sums.iter_mut().zip(vs) {
        *sum = sum_op::<VEC, MulOp>(len, shared, *v);
    }
}

/// sum_i f(a_i, b_i) over a chunk, as [`sum_map1`].
#[inline(always)]
pub(super) fn sum_map2(len: usize, a: Arg, b: Arg, f: impl Fn(f64, f64) -> f64) -> f64 {
    match (a, b) {
        (Arg::V(u), Arg::V(v)) if u.len() < CHUNK => u.iter().zip(v).map(|(x, y)| f(*x, *y)).sum(),
        (Arg::V(u), Arg::V(v)) => lanes::reduce(lanes::of2(u, v, f)),
        (Arg::V(_), Arg::S(y)) => sum_map1(len, a, |x| f(x, y)),
        (Arg::S(x), Arg::V(_)) => sum_map1(len, b, |y| f(x, y)),
        (Arg::S(x), Arg::S(y)) => f(x, y) * len as f64,
    }
}

/// `if take { x } else { otherwise }`, written with bit masks: as a branch
/// it compiled to a branch per row inside the large row functions (12% of
/// the softmax workload's evaluation in a factor choice, and most of the
/// time its data-only sums took when the program was built).
#[inline(always)]
pub(super) fn pick(take: bool, x: f64, otherwise: f64) -> f64 {
    let mask = u64::from(take).wrapping_neg();
    f64::from_bits((x.to_bits() & mask) | (otherwise.to_bits() & !mask))
}

/// sum_i items[code_i]_i over a chunk, NaN if a code has no item (as the
/// choice itself gives).
///
/// One masked sum per item, each over the whole chunk: item k adds its
/// value where the code is k and +0 elsewhere, and a scalar item s adds
/// s times the number of rows choosing it; items that are 0 add nothing.
/// The usual case, sum_i [g_i = k] x_i of a gradient, has a single
/// non-zero item and so is summed exactly as [`sum_map1`] sums the chosen
/// values.
#[inline(always)]
pub(super) fn sum_select(ctx: &Chunk, col: u32, items: &[Src], bufs: &[f64]) -> f64 {
    let codes = &ctx.data.factor[col as usize][ctx.start..ctx.start + ctx.len];
    let n_items = items.len() as u32;
    // (a maximum rather than `any`, whose early exit keeps the loop from
    // vectorising)
    if codes.iter().fold(0, |m, c| m.max(*c)) >= n_items {
        return f64::NAN;
    }
    let mut total = 0.0;
    for (k, item) in items.iter().enumerate() {
        let k = k as u32;
        total += match ctx.arg(*item, bufs) {
            Arg::S(x) if x == 0.0 => 0.0,
            Arg::S(x) => x * codes.iter().filter(|c| **c == k).count() as f64,
            Arg::V(v) if v.len() < CHUNK => v
                .iter()
                .zip(codes)
                .map(|(x, c)| pick(*c == k, *x, 0.0))
                .sum(),
            Arg::V(v) => {
                let mut lanes = [0.0; LANES];
                for (x, c) in v.chunks_exact(LANES).zip(codes.chunks_exact(LANES)) {
                    let x: &[f64; LANES] = x.try_into().expect("chunks are LANES long");
                    let c: &[u32; LANES] = c.try_into().expect("chunks are LANES long");
                    for j in 0..LANES {
                        lanes[j] += pick(c[j] == k, x[j], 0.0);
                    }
                }
                lanes::reduce(lanes)
            }
        };
    }
    total
}
