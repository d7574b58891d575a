//! The partial sums of a full chunk, in [`LANES`] lanes: term i of the
//! chunk goes to partial sum i mod LANES.
//!
//! The portable loops below are what every CPU runs, and LLVM vectorises
//! them well enough in a small function. Inlined into the large AVX-512 and
//! AVX2 row functions (whose other loops do use 512- and 256-bit registers),
//! they came out with 128-bit registers, two to four times the
//! instructions; the [`avx2`] and [`avx512`] versions here state the
//! registers outright. All perform the same IEEE operations on the same
//! lanes in the same order, so their results are bit-identical (tested);
//! the shared Gram sums' fused multiply-adds match the portable loop's when
//! it is given [`Fused`](super::fastmath::Fused).

use super::fastmath::MulAdd;

/// Partial sums per chunk; the partial sums are then added pairwise.
///
/// The partial sums are independent, so the additions do not wait on one
/// running sum (a few cycles each), and the loop vectorises at any width:
/// 16 lanes are 2 AVX-512 registers, 4 AVX2 or 8 SSE2 ones, and every width
/// performs the same additions in the same order, so the result does not
/// depend on the CPU or on the number of threads. Measured with `nll bench`
/// on the logistic regression workload at 1e5 rows, this took 18% less time
/// than the pairwise summation of the whole chunk it replaced, which wrote
/// every term to memory first; 32 and 64 lanes were no faster. The rounding
/// error of a partial sum grows with its 512 / 16 = 32 terms (against 9
/// levels for the pairwise sum of a chunk), far below the error already in
/// the terms for the models here.
pub(super) const LANES: usize = 16;

/// Which registers the sums of a row function use: the portable loops, or
/// the [`avx2`] or [`avx512`] ones. A const parameter of the row functions.
pub(super) const PORTABLE: u8 = 0;
pub(super) const AVX2: u8 = 1;
pub(super) const AVX512: u8 = 2;

/// A binary operation summed over a chunk: on one value, and on the lanes
/// of a 4-lane (AVX) and an 8-lane (AVX-512) register.
pub(super) trait LaneOp {
    fn f(a: f64, b: f64) -> f64;
    /// Lane-wise `f`, exactly rounded as `f` is.
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[cfg(target_arch = "x86_64")]
    unsafe fn v4(
        a: std::arch::x86_64::__m256d,
        b: std::arch::x86_64::__m256d,
    ) -> std::arch::x86_64::__m256d;
    /// As `v4`, on 8 lanes.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn v8(
        a: std::arch::x86_64::__m512d,
        b: std::arch::x86_64::__m512d,
    ) -> std::arch::x86_64::__m512d;
}

macro_rules! lane_op {
    ($name:ident, $op:tt, $v4:ident, $v8:ident) => {
        pub(super) struct $name;

        impl LaneOp for $name {
            #[inline(always)]
            fn f(a: f64, b: f64) -> f64 {
                a $op b
            }

            #[cfg(target_arch = "x86_64")]
            #[inline]
            #[target_feature(enable = "avx")]
            unsafe fn v4(
                a: std::arch::x86_64::__m256d,
                b: std::arch::x86_64::__m256d,
            ) -> std::arch::x86_64::__m256d {
                std::arch::x86_64::$v4(a, b)
            }

            #[cfg(target_arch = "x86_64")]
            #[inline]
            #[target_feature(enable = "avx512f")]
            unsafe fn v8(
                a: std::arch::x86_64::__m512d,
                b: std::arch::x86_64::__m512d,
            ) -> std::arch::x86_64::__m512d {
                std::arch::x86_64::$v8(a, b)
            }
        }
    };
}

lane_op!(AddOp, +, _mm256_add_pd, _mm512_add_pd);
lane_op!(SubOp, -, _mm256_sub_pd, _mm512_sub_pd);
lane_op!(MulOp, *, _mm256_mul_pd, _mm512_mul_pd);
lane_op!(DivOp, /, _mm256_div_pd, _mm512_div_pd);

/// Partial sums of the sums of a shared Gram instruction (see
/// `gram::Shared`): eight, one AVX-512 register per sum, so a tile of 5
/// weights by 3 pairs fits the 32 registers beside its factors.
pub(super) const GRAM_LANES: usize = 8;

/// The sum of the partial sums, added pairwise: the upper half onto the lower
/// half, then the upper quarter onto the lower quarter, down to one value.
#[inline(always)]
pub(super) fn reduce<const N: usize>(mut lanes: [f64; N]) -> f64 {
    let mut width = N / 2;
    while width > 0 {
        for k in 0..width {
            lanes[k] += lanes[k + width];
        }
        width /= 2;
    }
    lanes[0]
}

/// The partial sums of f(v_i); `v.len()` a multiple of [`LANES`].
#[inline(always)]
pub(super) fn of1(v: &[f64], f: impl Fn(f64) -> f64) -> [f64; LANES] {
    let mut lanes = [0.0; LANES];
    for x in v.chunks_exact(LANES) {
        // As an array, so the length is known and the loop has no bounds
        // checks left to stop it from vectorising.
        let x: &[f64; LANES] = x.try_into().expect("chunks are LANES long");
        for k in 0..LANES {
            lanes[k] += f(x[k]);
        }
    }
    lanes
}

/// The partial sums of f(u_i, v_i); lengths equal, a multiple of [`LANES`].
#[inline(always)]
pub(super) fn of2(u: &[f64], v: &[f64], f: impl Fn(f64, f64) -> f64) -> [f64; LANES] {
    let mut lanes = [0.0; LANES];
    for (x, y) in u.chunks_exact(LANES).zip(v.chunks_exact(LANES)) {
        let x: &[f64; LANES] = x.try_into().expect("chunks are LANES long");
        let y: &[f64; LANES] = y.try_into().expect("chunks are LANES long");
        for k in 0..LANES {
            lanes[k] += f(x[k], y[k]);
        }
    }
    lanes
}

/// The partial sums of f(o_i, u_i, v_i); lengths equal, a multiple of
/// [`LANES`].
#[inline(always)]
pub(super) fn of3(
    o: &[f64],
    u: &[f64],
    v: &[f64],
    f: impl Fn(f64, f64, f64) -> f64,
) -> [f64; LANES] {
    let mut lanes = [0.0; LANES];
    let rows = o
        .chunks_exact(LANES)
        .zip(u.chunks_exact(LANES))
        .zip(v.chunks_exact(LANES));
    for ((a, x), y) in rows {
        let a: &[f64; LANES] = a.try_into().expect("chunks are LANES long");
        let x: &[f64; LANES] = x.try_into().expect("chunks are LANES long");
        let y: &[f64; LANES] = y.try_into().expect("chunks are LANES long");
        for k in 0..LANES {
            lanes[k] += f(a[k], x[k], y[k]);
        }
    }
    lanes
}

/// The partial sums of w_i (a_i b_i), each term added with one rounding
/// (`M::mul_add`) into partial sum i mod [`GRAM_LANES`]: what the [`avx2`]
/// and [`avx512`] `of_shared` compute with a fused multiply-add. Lengths
/// equal, a multiple of [`GRAM_LANES`].
#[inline(always)]
pub(super) fn of_shared<M: MulAdd>(w: &[f64], a: &[f64], b: &[f64]) -> [f64; GRAM_LANES] {
    let mut lanes = [0.0; GRAM_LANES];
    for (i, ((wi, ai), bi)) in w.iter().zip(a).zip(b).enumerate() {
        lanes[i % GRAM_LANES] = M::mul_add(*wi, ai * bi, lanes[i % GRAM_LANES]);
    }
    lanes
}

/// o + p (or p - o when `SWAP`, with O the subtraction) of a sum of
/// `other` and a product, on one value.
#[inline(always)]
pub(super) fn with_product<O: LaneOp, const SWAP: bool>(o: f64, p: f64) -> f64 {
    if SWAP {
        O::f(p, o)
    } else {
        O::f(o, p)
    }
}

/// The loops above with explicit vector registers of `$width` lanes, in a
/// module `$module` whose functions require `$feature`: LANES / `$width`
/// registers hold the partial sums.
macro_rules! vector_sums {
    ($module:ident, $feature:literal, $vec:ty, $width:literal, $op:ident,
     $zero:ident, $load:ident, $store:ident, $add:ident, $mul:ident, $splat:ident,
     $fma:ident) => {
        #[cfg(target_arch = "x86_64")]
        pub(super) mod $module {
            //! Each function requires the target feature named in its
            //! attribute and slices whose length is a multiple of [`LANES`].

            use super::{LaneOp, GRAM_LANES, LANES};
            use std::arch::x86_64::*;

            /// Registers per set of partial sums.
            const REGS: usize = LANES / $width;

            /// Registers per set of a shared Gram sum's partial sums.
            const GRAM_REGS: usize = GRAM_LANES / $width;

            /// The partial sums of `term(i)`, the values at rows
            /// i..i+width, over `n` rows: lanes width*j.. in register j.
            #[inline]
            #[target_feature(enable = $feature)]
            unsafe fn sum(n: usize, term: impl Fn(usize) -> $vec) -> [f64; LANES] {
                debug_assert_eq!(n % LANES, 0);
                let mut acc = [$zero(); REGS];
                let mut i = 0;
                while i < n {
                    for (j, a) in acc.iter_mut().enumerate() {
                        *a = $add(*a, term(i + $width * j));
                    }
                    i += LANES;
                }
                let mut lanes = [0.0; LANES];
                for (j, a) in acc.iter().enumerate() {
                    $store(lanes.as_mut_ptr().add($width * j), *a);
                }
                lanes
            }

            /// As [`super::of1`] with f(x) = x.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_values(v: &[f64]) -> [f64; LANES] {
                sum(v.len(), |i| $load(v.as_ptr().add(i)))
            }

            /// As [`super::of2`] with f = O::f.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of2<O: LaneOp>(u: &[f64], v: &[f64]) -> [f64; LANES] {
                assert_eq!(u.len(), v.len());
                sum(u.len(), |i| {
                    O::$op($load(u.as_ptr().add(i)), $load(v.as_ptr().add(i)))
                })
            }

            /// As [`super::of1`] with f(x) = O::f(x, s).
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_vs<O: LaneOp>(u: &[f64], s: f64) -> [f64; LANES] {
                let s = $splat(s);
                sum(u.len(), |i| O::$op($load(u.as_ptr().add(i)), s))
            }

            /// As [`super::of1`] with f(x) = O::f(s, x).
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_sv<O: LaneOp>(s: f64, v: &[f64]) -> [f64; LANES] {
                let s = $splat(s);
                sum(v.len(), |i| O::$op(s, $load(v.as_ptr().add(i))))
            }

            /// with_product::<O, SWAP> on a register.
            #[inline]
            #[target_feature(enable = $feature)]
            unsafe fn with_product<O: LaneOp, const SWAP: bool>(o: $vec, p: $vec) -> $vec {
                if SWAP {
                    O::$op(p, o)
                } else {
                    O::$op(o, p)
                }
            }

            /// As [`super::of3`] with f(o, u, v) = with_product::<O, SWAP>(o,
            /// I(u, v)): o + u v (O the addition, I the multiplication), or
            /// o (u - v) (O the multiplication, I the subtraction).
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_nested<O: LaneOp, I: LaneOp, const SWAP: bool>(
                o: &[f64],
                u: &[f64],
                v: &[f64],
            ) -> [f64; LANES] {
                assert!(o.len() == u.len() && u.len() == v.len());
                sum(o.len(), |i| {
                    let p = I::$op($load(u.as_ptr().add(i)), $load(v.as_ptr().add(i)));
                    with_product::<O, SWAP>($load(o.as_ptr().add(i)), p)
                })
            }

            /// As [`of_nested`] with u = s for every row.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_nested_sv<O: LaneOp, I: LaneOp, const SWAP: bool>(
                o: &[f64],
                s: f64,
                v: &[f64],
            ) -> [f64; LANES] {
                assert_eq!(o.len(), v.len());
                let s = $splat(s);
                sum(o.len(), |i| {
                    let p = I::$op(s, $load(v.as_ptr().add(i)));
                    with_product::<O, SWAP>($load(o.as_ptr().add(i)), p)
                })
            }

            /// As [`of_nested`] with v = s for every row.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_nested_vs<O: LaneOp, I: LaneOp, const SWAP: bool>(
                o: &[f64],
                u: &[f64],
                s: f64,
            ) -> [f64; LANES] {
                assert_eq!(o.len(), u.len());
                let s = $splat(s);
                sum(o.len(), |i| {
                    let p = I::$op($load(u.as_ptr().add(i)), s);
                    with_product::<O, SWAP>($load(o.as_ptr().add(i)), p)
                })
            }

            /// [`of2`] with O the multiplication for each of `others`
            /// against `shared`, reading each register of `shared` once: N
            /// independent sets of partial sums.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_dots<const N: usize>(
                shared: &[f64],
                others: [&[f64]; N],
            ) -> [[f64; LANES]; N] {
                let n = shared.len();
                assert!(n % LANES == 0 && others.iter().all(|o| o.len() == n));
                let mut acc = [[$zero(); REGS]; N];
                let mut i = 0;
                while i < n {
                    for j in 0..REGS {
                        let at = i + $width * j;
                        let s = $load(shared.as_ptr().add(at));
                        for k in 0..N {
                            let p = $mul(s, $load(others[k].as_ptr().add(at)));
                            acc[k][j] = $add(acc[k][j], p);
                        }
                    }
                    i += LANES;
                }
                let mut lanes = [[0.0; LANES]; N];
                for k in 0..N {
                    for j in 0..REGS {
                        $store(lanes[k].as_mut_ptr().add($width * j), acc[k][j]);
                    }
                }
                lanes
            }

            /// For each of A `lefts` l and B `rights` r, the partial sums
            /// of (w l) r in the lanes of [`super::of3`]: a block of a
            /// weighted Gram matrix sum_i w_i x_i x_i' (a Hessian's entries
            /// sum_i w_i x_ia x_ib) with its A B sums in registers, each
            /// column read once and each w l computed once per register.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_gram<const A: usize, const B: usize>(
                w: &[f64],
                lefts: [&[f64]; A],
                rights: [&[f64]; B],
            ) -> [[[f64; LANES]; B]; A] {
                let n = w.len();
                assert!(n % LANES == 0);
                assert!(lefts.iter().chain(&rights).all(|c| c.len() == n));
                let mut acc = [[[$zero(); REGS]; B]; A];
                let mut i = 0;
                while i < n {
                    for j in 0..REGS {
                        let at = i + $width * j;
                        let wv = $load(w.as_ptr().add(at));
                        let mut r = [$zero(); B];
                        for b in 0..B {
                            r[b] = $load(rights[b].as_ptr().add(at));
                        }
                        for a in 0..A {
                            let t = $mul(wv, $load(lefts[a].as_ptr().add(at)));
                            for b in 0..B {
                                acc[a][b][j] = $add(acc[a][b][j], $mul(t, r[b]));
                            }
                        }
                    }
                    i += LANES;
                }
                let mut lanes = [[[0.0; LANES]; B]; A];
                for a in 0..A {
                    for b in 0..B {
                        for j in 0..REGS {
                            $store(lanes[a][b].as_mut_ptr().add($width * j), acc[a][b][j]);
                        }
                    }
                }
                lanes
            }

            /// For each of K weights w and P pairs of factors (a, b), the
            /// partial sums of w (a b) in the lanes of
            /// [`super::of_shared`]: a tile of the Hessian blocks of several
            /// weights over the same columns, each pair's product computed
            /// once for all K weights and each column read once.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_shared<const K: usize, const P: usize>(
                ws: [&[f64]; K],
                pairs: [(&[f64], &[f64]); P],
            ) -> [[[f64; GRAM_LANES]; P]; K] {
                let n = ws[0].len();
                assert!(n % GRAM_LANES == 0);
                assert!(ws.iter().all(|w| w.len() == n));
                assert!(pairs.iter().all(|(a, b)| a.len() == n && b.len() == n));
                let mut acc = [[[$zero(); GRAM_REGS]; P]; K];
                let mut i = 0;
                while i < n {
                    for j in 0..GRAM_REGS {
                        let at = i + $width * j;
                        let mut ab = [$zero(); P];
                        for p in 0..P {
                            let a = $load(pairs[p].0.as_ptr().add(at));
                            ab[p] = $mul(a, $load(pairs[p].1.as_ptr().add(at)));
                        }
                        for k in 0..K {
                            let wv = $load(ws[k].as_ptr().add(at));
                            for p in 0..P {
                                acc[k][p][j] = $fma(wv, ab[p], acc[k][p][j]);
                            }
                        }
                    }
                    i += GRAM_LANES;
                }
                let mut lanes = [[[0.0; GRAM_LANES]; P]; K];
                for k in 0..K {
                    for p in 0..P {
                        for j in 0..GRAM_REGS {
                            $store(lanes[k][p].as_mut_ptr().add($width * j), acc[k][p][j]);
                        }
                    }
                }
                lanes
            }

            /// [`of_gram`] with the single left factor 1: the partial sums
            /// of w r for each of B `rights`, w read once per register.
            #[inline]
            #[target_feature(enable = $feature)]
            pub(in crate::eval) unsafe fn of_weighted<const B: usize>(
                w: &[f64],
                rights: [&[f64]; B],
            ) -> [[f64; LANES]; B] {
                let n = w.len();
                assert!(n % LANES == 0 && rights.iter().all(|c| c.len() == n));
                let mut acc = [[$zero(); REGS]; B];
                let mut i = 0;
                while i < n {
                    for j in 0..REGS {
                        let at = i + $width * j;
                        let wv = $load(w.as_ptr().add(at));
                        for b in 0..B {
                            let r = $load(rights[b].as_ptr().add(at));
                            acc[b][j] = $add(acc[b][j], $mul(wv, r));
                        }
                    }
                    i += LANES;
                }
                let mut lanes = [[0.0; LANES]; B];
                for b in 0..B {
                    for j in 0..REGS {
                        $store(lanes[b].as_mut_ptr().add($width * j), acc[b][j]);
                    }
                }
                lanes
            }
        }
    };
}

vector_sums!(
    avx2,
    "avx2,fma",
    __m256d,
    4,
    v4,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_add_pd,
    _mm256_mul_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd
);
vector_sums!(
    avx512,
    "avx512f",
    __m512d,
    8,
    v8,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_add_pd,
    _mm512_mul_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd
);

/// The vector sums for the registers `$isa` names ([`AVX2`] or [`AVX512`]),
/// `$portable` for [`PORTABLE`]: `$call` is a call of a function of the
/// [`avx2`] and [`avx512`] modules.
///
/// The row functions are compiled for these features and pick their `$isa`
/// only on a CPU that has them, which makes the calls sound.
macro_rules! vectored {
    ($isa:expr, $portable:expr, $($call:tt)+) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if $isa == $crate::eval::lanes::AVX512 {
                // SAFETY: see the macro's documentation.
                #[allow(unused_unsafe)]
                unsafe { $crate::eval::lanes::avx512::$($call)+ }
            } else if $isa == $crate::eval::lanes::AVX2 {
                // SAFETY: as above.
                #[allow(unused_unsafe)]
                unsafe { $crate::eval::lanes::avx2::$($call)+ }
            } else {
                $portable
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $portable
        }
    }};
}
pub(super) use vectored;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::fastmath::Fused;

    fn values(n: usize, seed: u64) -> Vec<f64> {
        // A spread of magnitudes and signs, with exact ties and zeros.
        let mut state = seed;
        (0..n)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                match i % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => (u - 0.5) * 10f64.powi((i % 13) as i32 - 6),
                }
            })
            .collect()
    }

    /// A check that module `$m` sums as the portable loops do, bit for bit,
    /// on a CPU with `$feature`.
    macro_rules! same_as_portable {
        ($check:ident, $m:ident, $feature:tt, $also:tt) => {
            #[cfg(target_arch = "x86_64")]
            fn $check<O: LaneOp>() {
                if !std::arch::is_x86_feature_detected!($feature)
                    || !std::arch::is_x86_feature_detected!($also)
                {
                    return;
                }
                let (u, v) = (values(512, 1), values(512, 2));
                let bits = |l: [f64; LANES]| l.map(f64::to_bits);
                // SAFETY: the feature is present, checked above; lengths are 512.
                unsafe {
                    assert_eq!(bits($m::of2::<O>(&u, &v)), bits(of2(&u, &v, O::f)));
                    assert_eq!(
                        bits($m::of_vs::<O>(&u, 0.37)),
                        bits(of1(&u, |x| O::f(x, 0.37)))
                    );
                    assert_eq!(
                        bits($m::of_sv::<O>(-2.5, &v)),
                        bits(of1(&v, |y| O::f(-2.5, y)))
                    );
                    assert_eq!(bits($m::of_values(&u)), bits(of1(&u, |x| x)));
                    let (x, y) = (values(512, 5), values(512, 6));
                    let gram = $m::of_gram::<2, 3>(&u, [&v, &x], [&y, &u, &v]);
                    for (a, l) in [&v, &x].into_iter().enumerate() {
                        for (b, r) in [&y, &u, &v].into_iter().enumerate() {
                            let want = of3(&u, l, r, |w, l, r| (w * l) * r);
                            assert_eq!(bits(gram[a][b]), bits(want), "gram {a} {b}");
                        }
                    }
                    let shared = $m::of_shared::<2, 3>([&u, &x], [(&v, &y), (&u, &u), (&x, &v)]);
                    for (k, w) in [&u, &x].into_iter().enumerate() {
                        for (p, (a, b)) in [(&v, &y), (&u, &u), (&x, &v)].into_iter().enumerate() {
                            let want = of_shared::<Fused>(w, a, b).map(f64::to_bits);
                            assert_eq!(shared[k][p].map(f64::to_bits), want, "shared {k} {p}");
                        }
                    }
                    let weighted = $m::of_weighted::<3>(&u, [&y, &x, &v]);
                    for (b, r) in [&y, &x, &v].into_iter().enumerate() {
                        assert_eq!(bits(weighted[b]), bits(of2(&u, r, |w, r| w * r)), "{b}");
                    }
                    let dots = $m::of_dots::<2>(&u, [&v, &u]);
                    assert_eq!(bits(dots[0]), bits(of2(&u, &v, |a, b| a * b)));
                    assert_eq!(bits(dots[1]), bits(of2(&u, &u, |a, b| a * b)));
                    let w = values(512, 4);
                    let dots = $m::of_dots::<4>(&w, [&v, &u, &w, &v]);
                    assert_eq!(bits(dots[2]), bits(of2(&w, &w, |a, b| a * b)));
                    assert_eq!(bits(dots[3]), bits(of2(&w, &v, |a, b| a * b)));
                    let w = values(512, 3);
                    let sum3 = |swap: bool| {
                        of3(&u, &v, &w, |o, x, y| {
                            if swap {
                                O::f(x * y, o)
                            } else {
                                O::f(o, x * y)
                            }
                        })
                    };
                    let sum2 = |swap: bool| {
                        of2(&u, &w, |o, y| {
                            if swap {
                                O::f(1.7 * y, o)
                            } else {
                                O::f(o, 1.7 * y)
                            }
                        })
                    };
                    assert_eq!(
                        bits($m::of_nested::<O, MulOp, false>(&u, &v, &w)),
                        bits(sum3(false))
                    );
                    assert_eq!(
                        bits($m::of_nested::<O, MulOp, true>(&u, &v, &w)),
                        bits(sum3(true))
                    );
                    assert_eq!(
                        bits($m::of_nested_sv::<O, MulOp, false>(&u, 1.7, &w)),
                        bits(sum2(false))
                    );
                    assert_eq!(
                        bits($m::of_nested_sv::<O, MulOp, true>(&u, 1.7, &w)),
                        bits(sum2(true))
                    );
                }
            }
        };
    }

    same_as_portable!(check_avx2, avx2, "avx2", "fma");
    same_as_portable!(check_avx512, avx512, "avx512f", "avx512f");

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_vector_sums_equal_the_portable_ones_bit_for_bit() {
        check_avx2::<AddOp>();
        check_avx2::<SubOp>();
        check_avx2::<MulOp>();
        check_avx2::<DivOp>();
        check_avx512::<AddOp>();
        check_avx512::<SubOp>();
        check_avx512::<MulOp>();
        check_avx512::<DivOp>();
    }

    #[test]
    fn reduce_adds_halves_pairwise() {
        let lanes: [f64; LANES] = std::array::from_fn(|k| (k + 1) as f64);
        assert_eq!(reduce(lanes), (1..=16).sum::<usize>() as f64);
    }
}
