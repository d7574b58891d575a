//! Sums over a chunk of rows: of a value, of a binary operation, of a
//! value plus a product, of several products with a common factor, of a
//! factor choice. Full chunks add their terms in [`LANES`] partial sums
//! (see [`lanes`]); shorter ones in row order.

use super::exec::{Arg, Chunk};
use super::fastmath::MulAdd;
use super::fuse::MAX_DOTS;
use super::gram::{
    Block, Shared, BLOCK_LEFTS, BLOCK_RIGHTS, MAX_SHARED_WEIGHTS, NO_ACC, ONE, TILE_PAIRS,
    TILE_WEIGHTS,
};
use super::lanes::{self, vectored, LaneOp, MulOp, GRAM_LANES, LANES};
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
            of_nested_sv::<O, MulOp, SWAP>(o, s, v)
        )),
        (Arg::V(o), Arg::V(u), Arg::V(v)) if len == CHUNK => lanes::reduce(vectored!(
            VEC,
            lanes::of3(o, u, v, |a, b, c| f(a, b * c)),
            of_nested::<O, MulOp, SWAP>(o, u, v)
        )),
        _ => (0..len).map(|i| f(o.at(i), x.at(i) * y.at(i))).sum(),
    }
}

/// sum_i x_i I(a_i, b_i) over a chunk, I(a_i, b_i) rounded before the
/// product, as [`sum_map1`]: partial sums for full chunks with a per-row x
/// and at most one scalar operand of I, a plain sum in row order otherwise.
#[inline(always)]
pub(super) fn sum_times<const VEC: u8, I: LaneOp>(len: usize, x: Arg, a: Arg, b: Arg) -> f64 {
    let f = |x: f64, a: f64, b: f64| x * I::f(a, b);
    let lanes = match (x, a, b) {
        (Arg::V(x), Arg::V(u), Arg::V(v)) if len == CHUNK => {
            vectored!(
                VEC,
                lanes::of3(x, u, v, f),
                of_nested::<MulOp, I, false>(x, u, v)
            )
        }
        (Arg::V(x), Arg::S(s), Arg::V(v)) if len == CHUNK => vectored!(
            VEC,
            lanes::of2(x, v, |x, v| f(x, s, v)),
            of_nested_sv::<MulOp, I, false>(x, s, v)
        ),
        (Arg::V(x), Arg::V(u), Arg::S(s)) if len == CHUNK => vectored!(
            VEC,
            lanes::of2(x, u, |x, u| f(x, u, s)),
            of_nested_vs::<MulOp, I, false>(x, u, s)
        ),
        _ => return (0..len).map(|i| f(x.at(i), a.at(i), b.at(i))).sum(),
    };
    lanes::reduce(lanes)
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

/// The sums of a [`Block`]: sum_i (w_i l_i) r_i into `accs` for each of
/// its left and right factors (`factor(i)`, `None` for the factor 1), each
/// as [`sum_op`] sums a product: in [`LANES`] partial sums for a full
/// chunk, in row order for a shorter one.
#[inline(always)]
pub(super) fn gram_block<'b, const VEC: u8>(
    len: usize,
    w: Arg<'b>,
    block: &Block,
    factor: &impl Fn(u8) -> Option<Arg<'b>>,
    accs: &mut [f64],
) {
    let column = |i: u8| match factor(i) {
        None => Some(&ONES[..len]),
        Some(Arg::V(v)) => Some(v),
        Some(Arg::S(_)) => None,
    };
    let (n_l, n_r) = (block.lefts.len(), block.rights.len());
    let mut lefts: [&[f64]; BLOCK_LEFTS] = [&[]; BLOCK_LEFTS];
    let mut rights: [&[f64]; BLOCK_RIGHTS] = [&[]; BLOCK_RIGHTS];
    let mut all_columns = true;
    for (slot, i) in lefts.iter_mut().zip(&block.lefts) {
        match column(*i) {
            Some(v) => *slot = v,
            None => all_columns = false,
        }
    }
    for (slot, i) in rights.iter_mut().zip(&block.rights) {
        match column(*i) {
            Some(v) => *slot = v,
            None => all_columns = false,
        }
    }
    let mut add = |a: usize, b: usize, lanes: &[f64; LANES]| {
        let acc = block.accs[a * n_r + b];
        if acc != NO_ACC {
            accs[acc as usize] += lanes::reduce(*lanes);
        }
    };
    match w {
        Arg::V(w) if all_columns && len == CHUNK && VEC != lanes::PORTABLE => {
            // Tiles of the block that fit the registers: four-lane ones
            // hold a set of partial sums in 4 of their 16, so one left
            // factor and two right ones at a time.
            let (tile_l, tile_r) = if VEC == lanes::AVX2 {
                (1, 2)
            } else {
                (BLOCK_LEFTS, BLOCK_RIGHTS)
            };
            let left_is_one = block.lefts == [ONE];
            for a0 in (0..n_l).step_by(tile_l) {
                for b0 in (0..n_r).step_by(tile_r) {
                    let (na, nb) = (tile_l.min(n_l - a0), tile_r.min(n_r - b0));
                    // w r, for the left factor 1.
                    macro_rules! weighted {
                        ($b:literal) => {{
                            let r: [&[f64]; $b] = std::array::from_fn(|k| rights[b0 + k]);
                            let sums = vectored!(VEC, unreachable!(), of_weighted::<$b>(w, r));
                            for (b, lanes) in sums.iter().enumerate() {
                                add(0, b0 + b, lanes);
                            }
                        }};
                    }
                    macro_rules! gram {
                        ($a:literal, $b:literal) => {{
                            let l: [&[f64]; $a] = std::array::from_fn(|k| lefts[a0 + k]);
                            let r: [&[f64]; $b] = std::array::from_fn(|k| rights[b0 + k]);
                            let sums = vectored!(VEC, unreachable!(), of_gram::<$a, $b>(w, l, r));
                            for (a, row) in sums.iter().enumerate() {
                                for (b, lanes) in row.iter().enumerate() {
                                    add(a0 + a, b0 + b, lanes);
                                }
                            }
                        }};
                    }
                    match (left_is_one, na, nb) {
                        (true, _, 1) => weighted!(1),
                        (true, _, 2) => weighted!(2),
                        (true, _, 3) => weighted!(3),
                        (true, _, 4) => weighted!(4),
                        (false, 1, 1) => gram!(1, 1),
                        (false, 1, 2) => gram!(1, 2),
                        (false, 1, 3) => gram!(1, 3),
                        (false, 1, 4) => gram!(1, 4),
                        (false, 2, 1) => gram!(2, 1),
                        (false, 2, 2) => gram!(2, 2),
                        (false, 2, 3) => gram!(2, 3),
                        (false, 2, 4) => gram!(2, 4),
                        _ => unreachable!("blocks are at most {BLOCK_LEFTS} by {BLOCK_RIGHTS}"),
                    }
                }
            }
        }
        _ => {
            // The general case, one sum at a time: a short chunk, a scalar
            // operand, or no vector registers.
            let value = |x: Arg, i: usize| match x {
                Arg::S(v) => v,
                Arg::V(v) => v[i],
            };
            let arg = |i: u8| factor(i).unwrap_or(Arg::S(1.0));
            for (a, l) in block.lefts.iter().enumerate() {
                for (b, r) in block.rights.iter().enumerate() {
                    let acc = block.accs[a * n_r + b];
                    if acc == NO_ACC {
                        continue;
                    }
                    let (l, r) = (arg(*l), arg(*r));
                    let term = |i: usize| (value(w, i) * value(l, i)) * value(r, i);
                    accs[acc as usize] += if len < CHUNK {
                        (0..len).map(term).sum::<f64>()
                    } else {
                        let mut lanes = [0.0; LANES];
                        for i in 0..len {
                            lanes[i % LANES] += term(i);
                        }
                        lanes::reduce(lanes)
                    };
                }
            }
        }
    }
}

/// The sums of a [`Shared`] instruction: sum_i w_ki (a_i b_i) into `accs`
/// for each of its weights `ws` and pairs of factors (`factor(i)`, `None`
/// for the factor 1), each term added with one rounding (`M::mul_add`): in
/// [`GRAM_LANES`] partial sums for a full chunk, in row order for a
/// shorter one.
#[inline(always)]
pub(super) fn gram_shared<'b, M: MulAdd, const VEC: u8>(
    len: usize,
    ws: &[Arg<'b>],
    shared: &Shared,
    factor: &impl Fn(u8) -> Option<Arg<'b>>,
    accs: &mut [f64],
) {
    let n_p = shared.pairs.len();
    let mut add = |k: usize, p: usize, lanes: &[f64; GRAM_LANES]| {
        let acc = shared.accs[k * n_p + p];
        if acc != NO_ACC {
            accs[acc as usize] += lanes::reduce(*lanes);
        }
    };
    let mut weights: [&[f64]; MAX_SHARED_WEIGHTS] = [&[]; MAX_SHARED_WEIGHTS];
    let mut all_columns = true;
    for (slot, w) in weights.iter_mut().zip(ws) {
        match w {
            Arg::V(v) => *slot = v,
            Arg::S(_) => all_columns = false,
        }
    }
    let column = |i: u8| match factor(i) {
        None => &ONES[..len],
        Some(Arg::V(v)) => v,
        Some(Arg::S(_)) => unreachable!("checked before the tiles"),
    };
    all_columns &= (0..shared.cols.len()).all(|i| !matches!(factor(i as u8), Some(Arg::S(_))));
    if all_columns && len == CHUNK && VEC != lanes::PORTABLE {
        // Tiles that fit the registers: an AVX2 register holds half a set
        // of partial sums, so two weights by two pairs at a time.
        let (tile_k, tile_p) = if VEC == lanes::AVX2 {
            (2, 2)
        } else {
            (TILE_WEIGHTS, TILE_PAIRS)
        };
        for k0 in (0..ws.len()).step_by(tile_k) {
            for p0 in (0..n_p).step_by(tile_p) {
                let (nk, np) = (tile_k.min(ws.len() - k0), tile_p.min(n_p - p0));
                macro_rules! tile {
                    ($k:literal, $p:literal) => {{
                        let w: [&[f64]; $k] = std::array::from_fn(|k| weights[k0 + k]);
                        let pairs: [(&[f64], &[f64]); $p] = std::array::from_fn(|p| {
                            let (a, b) = shared.pairs[p0 + p];
                            (column(a), column(b))
                        });
                        let sums = vectored!(VEC, unreachable!(), of_shared::<$k, $p>(w, pairs));
                        for (k, row) in sums.iter().enumerate() {
                            for (p, lanes) in row.iter().enumerate() {
                                add(k0 + k, p0 + p, lanes);
                            }
                        }
                    }};
                }
                match (nk, np) {
                    (1, 1) => tile!(1, 1),
                    (1, 2) => tile!(1, 2),
                    (1, 3) => tile!(1, 3),
                    (2, 1) => tile!(2, 1),
                    (2, 2) => tile!(2, 2),
                    (2, 3) => tile!(2, 3),
                    (3, 1) => tile!(3, 1),
                    (3, 2) => tile!(3, 2),
                    (3, 3) => tile!(3, 3),
                    (4, 1) => tile!(4, 1),
                    (4, 2) => tile!(4, 2),
                    (4, 3) => tile!(4, 3),
                    (5, 1) => tile!(5, 1),
                    (5, 2) => tile!(5, 2),
                    (5, 3) => tile!(5, 3),
                    _ => unreachable!("tiles are at most {TILE_WEIGHTS} by {TILE_PAIRS}"),
                }
            }
        }
        return;
    }
    // The general case, one sum at a time: a short chunk, a scalar operand,
    // or no vector registers.
    let arg = |i: u8| factor(i).unwrap_or(Arg::V(&ONES[..len]));
    for (k, w) in ws.iter().enumerate() {
        for (p, (a, b)) in shared.pairs.iter().enumerate() {
            let acc = shared.accs[k * n_p + p];
            if acc == NO_ACC {
                continue;
            }
            let (a, b) = (arg(*a), arg(*b));
            accs[acc as usize] += match (w, a, b) {
                (Arg::V(w), Arg::V(a), Arg::V(b)) if len == CHUNK => {
                    lanes::reduce(lanes::of_shared::<M>(w, a, b))
                }
                _ => (0..len).fold(0.0, |sum, i| M::mul_add(w.at(i), a.at(i) * b.at(i), sum)),
            };
        }
    }
}

/// The factor 1 as a column, for [`gram_block`] and [`gram_shared`].
static ONES: [f64; CHUNK] = [1.0; CHUNK];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::gram::{blocks, ONE};

    /// A chunk of values in (-1.5, 1.5) from a linear congruential
    /// generator.
    fn random_chunk(seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..CHUNK)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 3.0
            })
            .collect()
    }

    /// The register widths this CPU runs (the row functions for AVX2 and
    /// AVX-512 also need fused multiply-adds).
    fn widths() -> Vec<u8> {
        let mut widths = vec![lanes::PORTABLE];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                widths.push(lanes::AVX2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                widths.push(lanes::AVX512);
            }
        }
        widths
    }

    /// A sum of x (a op b) in one pass equals, bit for bit, the sum of x t
    /// with t = a op b computed first, at every register width, with a
    /// scalar on either side of op or none, on full and short chunks.
    #[test]
    fn sums_of_a_factor_times_an_operation_equal_the_two_steps() {
        use lanes::{AddOp, DivOp, SubOp};
        let (x, u, v) = (random_chunk(1), random_chunk(2), random_chunk(3));
        fn both<I: LaneOp, const VEC: u8>(len: usize, x: Arg, a: Arg, b: Arg) -> (f64, f64) {
            let t: Vec<f64> = (0..len).map(|i| I::f(a.at(i), b.at(i))).collect();
            let two_steps = sum_op::<VEC, MulOp>(len, x, Arg::V(&t));
            (sum_times::<VEC, I>(len, x, a, b), two_steps)
        }
        fn at_width<I: LaneOp>(vec: u8, len: usize, x: Arg, a: Arg, b: Arg) -> (f64, f64) {
            match vec {
                lanes::AVX512 => both::<I, { lanes::AVX512 }>(len, x, a, b),
                lanes::AVX2 => both::<I, { lanes::AVX2 }>(len, x, a, b),
                _ => both::<I, { lanes::PORTABLE }>(len, x, a, b),
            }
        }
        for vec in widths() {
            for len in [CHUNK, 37] {
                let (x, u, v) = (Arg::V(&x[..len]), Arg::V(&u[..len]), Arg::V(&v[..len]));
                for (a, b) in [(u, v), (Arg::S(1.0), v), (u, Arg::S(0.75))] {
                    for (got, want) in [
                        at_width::<AddOp>(vec, len, x, a, b),
                        at_width::<SubOp>(vec, len, x, a, b),
                        at_width::<MulOp>(vec, len, x, a, b),
                        at_width::<DivOp>(vec, len, x, a, b),
                    ] {
                        assert!(got.is_finite());
                        assert_eq!(got.to_bits(), want.to_bits(), "width {vec}, {len} rows");
                    }
                }
            }
        }
    }

    /// Every register width computes the sums of several weights over
    /// shared pairs as the portable loop with fused multiply-adds does, bit
    /// for bit, on full and short chunks, with tiles cut short at the edges
    /// (7 weights, 5 pairs, one pair with the factor 1) and sums no weight
    /// asked for left out.
    #[test]
    fn shared_gram_sums_are_the_same_at_every_register_width() {
        use crate::eval::fastmath::Fused;
        use crate::eval::gram::Shared;
        let ws: Vec<Vec<f64>> = (1..8).map(random_chunk).collect();
        let cols: Vec<Vec<f64>> = (10..13).map(random_chunk).collect();
        let pairs = vec![(0, 0), (0, 1), (0, 2), (1, ONE), (2, 2)];
        let accs: Vec<u32> = (0..ws.len() * pairs.len())
            .map(|i| if i % 4 == 3 { NO_ACC } else { i as u32 })
            .collect();
        let shared = Shared {
            ws: Vec::new(),
            cols: Vec::new(),
            pairs,
            accs,
        };
        let run = |vec: u8, len: usize| -> Vec<u64> {
            let w: Vec<Arg> = ws.iter().map(|w| Arg::V(&w[..len])).collect();
            let factor = |i: u8| (i != ONE).then(|| Arg::V(&cols[usize::from(i)][..len]));
            let mut out = vec![0.0; ws.len() * shared.pairs.len()];
            match vec {
                lanes::AVX512 => {
                    gram_shared::<Fused, { lanes::AVX512 }>(len, &w, &shared, &factor, &mut out)
                }
                lanes::AVX2 => {
                    gram_shared::<Fused, { lanes::AVX2 }>(len, &w, &shared, &factor, &mut out)
                }
                _ => gram_shared::<Fused, { lanes::PORTABLE }>(len, &w, &shared, &factor, &mut out),
            }
            out.iter().map(|a| a.to_bits()).collect()
        };
        let widths = widths();
        for len in [CHUNK, 100] {
            let portable = run(lanes::PORTABLE, len);
            for &vec in &widths {
                assert_eq!(run(vec, len), portable, "width {vec}, {len} rows");
            }
            // Weight 2, pair (0, 0) is accumulator 2 * 5 + 0 = 10; 7 is
            // left out (7 % 4 == 3).
            let sum: f64 = (0..len).map(|i| ws[2][i] * (cols[0][i] * cols[0][i])).sum();
            assert!((f64::from_bits(portable[10]) - sum).abs() <= 1e-12 * len as f64);
            assert_eq!(portable[7], 0f64.to_bits(), "a sum no weight asked for");
        }
    }

    /// Every register width computes a Hessian's blocks as the portable
    /// loop does, bit for bit, on full and short chunks.
    #[test]
    fn gram_blocks_are_the_same_at_every_register_width() {
        let w = random_chunk(1);
        let cols: Vec<Vec<f64>> = (2..7).map(random_chunk).collect();
        // The upper triangle of 5 columns and the factor 1.
        let mut entries = Vec::new();
        for l in (0..5).chain([ONE]) {
            for r in (l..5).chain([ONE]) {
                entries.push((l, r, entries.len() as u32));
            }
        }
        let blocks = blocks(&entries);
        let run = |vec: u8, len: usize| -> Vec<u64> {
            let factor = |i: u8| (i != ONE).then(|| Arg::V(&cols[usize::from(i)][..len]));
            let mut accs = vec![0.0; entries.len()];
            for b in &blocks {
                match vec {
                    lanes::AVX512 => gram_block::<{ lanes::AVX512 }>(
                        len,
                        Arg::V(&w[..len]),
                        b,
                        &factor,
                        &mut accs,
                    ),
                    lanes::AVX2 => {
                        gram_block::<{ lanes::AVX2 }>(len, Arg::V(&w[..len]), b, &factor, &mut accs)
                    }
                    _ => gram_block::<{ lanes::PORTABLE }>(
                        len,
                        Arg::V(&w[..len]),
                        b,
                        &factor,
                        &mut accs,
                    ),
                }
            }
            accs.iter().map(|a| a.to_bits()).collect()
        };
        let widths = widths();
        for len in [CHUNK, 100] {
            let portable = run(lanes::PORTABLE, len);
            for &vec in &widths {
                assert_eq!(run(vec, len), portable, "width {vec}, {len} rows");
            }
            // Entry (0, 1) is sum_i (w_i x0_i) x1_i.
            let sum: f64 = (0..len).map(|i| (w[i] * cols[0][i]) * cols[1][i]).sum();
            assert!((f64::from_bits(portable[1]) - sum).abs() <= 1e-12 * len as f64);
        }
    }
}
