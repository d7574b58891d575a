//! The partial sums of a full chunk, in [`LANES`] lanes: term i of the
//! chunk goes to partial sum i mod LANES.
//!
//! The portable loops below are what every CPU runs, and LLVM vectorises
//! them well enough in a small function. Inlined into the large AVX-512 row
//! function (whose other loops do use 512-bit registers), they came out
//! with 128-bit registers, four times the instructions; the AVX-512 versions
//! here state the two 8-lane registers outright. Both perform the same IEEE
//! operations on the same lanes in the same order, so their results are
//! bit-identical (tested).

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

/// A binary operation summed over a chunk: on one value, and on 8 lanes.
pub(super) trait LaneOp {
    fn f(a: f64, b: f64) -> f64;
    /// Lane-wise `f`, exactly rounded as `f` is.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn v(
        a: std::arch::x86_64::__m512d,
        b: std::arch::x86_64::__m512d,
    ) -> std::arch::x86_64::__m512d;
}

macro_rules! lane_op {
    ($name:ident, $op:tt, $intrinsic:ident) => {
        pub(super) struct $name;

        impl LaneOp for $name {
            #[inline(always)]
            fn f(a: f64, b: f64) -> f64 {
                a $op b
            }

            #[cfg(target_arch = "x86_64")]
            #[inline]
            #[target_feature(enable = "avx512f")]
            unsafe fn v(
                a: std::arch::x86_64::__m512d,
                b: std::arch::x86_64::__m512d,
            ) -> std::arch::x86_64::__m512d {
                std::arch::x86_64::$intrinsic(a, b)
            }
        }
    };
}

lane_op!(AddOp, +, _mm512_add_pd);
lane_op!(SubOp, -, _mm512_sub_pd);
lane_op!(MulOp, *, _mm512_mul_pd);
lane_op!(DivOp, /, _mm512_div_pd);

/// The sum of the partial sums, added pairwise: the upper half onto the lower
/// half, then the upper quarter onto the lower quarter, down to one value.
#[inline(always)]
pub(super) fn reduce(mut lanes: [f64; LANES]) -> f64 {
    let mut width = LANES / 2;
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

#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    //! The loops above with 8-lane registers. Each function requires
    //! AVX-512F and slices whose length is a multiple of [`LANES`].

    use super::{LaneOp, LANES};
    use std::arch::x86_64::*;

    /// The partial sums of `term(i)`, the 8 values at rows i..i+8, over
    /// `n` rows: lanes 8j..8j+8 in register j.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sum(n: usize, term: impl Fn(usize) -> __m512d) -> [f64; LANES] {
        debug_assert_eq!(n % LANES, 0);
        let mut acc = [_mm512_setzero_pd(); LANES / 8];
        let mut i = 0;
        while i < n {
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm512_add_pd(*a, term(i + 8 * j));
            }
            i += LANES;
        }
        let mut lanes = [0.0; LANES];
        for (j, a) in acc.iter().enumerate() {
            _mm512_storeu_pd(lanes.as_mut_ptr().add(8 * j), *a);
        }
        lanes
    }

    /// As [`super::of1`] with f(x) = x.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(in crate::eval) unsafe fn of_values(v: &[f64]) -> [f64; LANES] {
        sum(v.len(), |i| _mm512_loadu_pd(v.as_ptr().add(i)))
    }

    /// As [`super::of2`] with f = O::f.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(in crate::eval) unsafe fn of2<O: LaneOp>(u: &[f64], v: &[f64]) -> [f64; LANES] {
        assert_eq!(u.len(), v.len());
        sum(u.len(), |i| {
            O::v(
                _mm512_loadu_pd(u.as_ptr().add(i)),
                _mm512_loadu_pd(v.as_ptr().add(i)),
            )
        })
    }

    /// As [`super::of1`] with f(x) = O::f(x, s).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(in crate::eval) unsafe fn of_vs<O: LaneOp>(u: &[f64], s: f64) -> [f64; LANES] {
        let s = _mm512_set1_pd(s);
        sum(u.len(), |i| O::v(_mm512_loadu_pd(u.as_ptr().add(i)), s))
    }

    /// with_product::<O, SWAP> on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn with_product<O: LaneOp, const SWAP: bool>(o: __m512d, p: __m512d) -> __m512d {
        if SWAP {
            O::v(p, o)
        } else {
            O::v(o, p)
        }
    }

    /// As [`super::of2`] with f(o, v) = with_product(o, s v).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(in crate::eval) unsafe fn of_scaled_product<O: LaneOp, const SWAP: bool>(
        o: &[f64],
        s: f64,
        v: &[f64],
    ) -> [f64; LANES] {
        assert_eq!(o.len(), v.len());
        let s = _mm512_set1_pd(s);
        sum(o.len(), |i| {
            let p = _mm512_mul_pd(s, _mm512_loadu_pd(v.as_ptr().add(i)));
            with_product::<O, SWAP>(_mm512_loadu_pd(o.as_ptr().add(i)), p)
        })
    }

    /// As [`super::of3`] with f(o, u, v) = with_product(o, u v).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(in crate::eval) unsafe fn of_product<O: LaneOp, const SWAP: bool>(
        o: &[f64],
        u: &[f64],
        v: &[f64],
    ) -> [f64; LANES] {
        assert!(o.len() == u.len() && u.len() == v.len());
        sum(o.len(), |i| {
            let p = _mm512_mul_pd(
                _mm512_loadu_pd(u.as_ptr().add(i)),
                _mm512_loadu_pd(v.as_ptr().add(i)),
            );
            with_product::<O, SWAP>(_mm512_loadu_pd(o.as_ptr().add(i)), p)
        })
    }

    /// [`of2`] with O the multiplication for each of `others` against
    /// `shared`, reading `shared` once: N independent pairs of running
    /// sums.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(in crate::eval) unsafe fn of_dots<const N: usize>(
        shared: &[f64],
        others: [&[f64]; N],
    ) -> [[f64; LANES]; N] {
        debug_assert_eq!(LANES, 16);
        let n = shared.len();
        assert!(n % LANES == 0 && others.iter().all(|o| o.len() == n));
        let mut lo = [_mm512_setzero_pd(); N];
        let mut hi = [_mm512_setzero_pd(); N];
        let mut i = 0;
        while i < n {
            let s_lo = _mm512_loadu_pd(shared.as_ptr().add(i));
            let s_hi = _mm512_loadu_pd(shared.as_ptr().add(i + 8));
            for k in 0..N {
                let o = others[k].as_ptr().add(i);
                lo[k] = _mm512_add_pd(lo[k], _mm512_mul_pd(s_lo, _mm512_loadu_pd(o)));
                hi[k] = _mm512_add_pd(hi[k], _mm512_mul_pd(s_hi, _mm512_loadu_pd(o.add(8))));
            }
            i += LANES;
        }
        let mut lanes = [[0.0; LANES]; N];
        for k in 0..N {
            _mm512_storeu_pd(lanes[k].as_mut_ptr(), lo[k]);
            _mm512_storeu_pd(lanes[k].as_mut_ptr().add(8), hi[k]);
        }
        lanes
    }

    /// As [`super::of1`] with f(x) = O::f(s, x).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(in crate::eval) unsafe fn of_sv<O: LaneOp>(s: f64, v: &[f64]) -> [f64; LANES] {
        let s = _mm512_set1_pd(s);
        sum(v.len(), |i| O::v(s, _mm512_loadu_pd(v.as_ptr().add(i))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[cfg(target_arch = "x86_64")]
    fn check<O: LaneOp>() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        let (u, v) = (values(512, 1), values(512, 2));
        let bits = |l: [f64; LANES]| l.map(f64::to_bits);
        // SAFETY: AVX-512F is present, checked above; lengths are 512.
        unsafe {
            assert_eq!(bits(avx512::of2::<O>(&u, &v)), bits(of2(&u, &v, O::f)));
            assert_eq!(
                bits(avx512::of_vs::<O>(&u, 0.37)),
                bits(of1(&u, |x| O::f(x, 0.37)))
            );
            assert_eq!(
                bits(avx512::of_sv::<O>(-2.5, &v)),
                bits(of1(&v, |y| O::f(-2.5, y)))
            );
            assert_eq!(bits(avx512::of_values(&u)), bits(of1(&u, |x| x)));
            let dots = avx512::of_dots::<2>(&u, [&v, &u]);
            assert_eq!(bits(dots[0]), bits(of2(&u, &v, |a, b| a * b)));
            assert_eq!(bits(dots[1]), bits(of2(&u, &u, |a, b| a * b)));
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
                bits(avx512::of_product::<O, false>(&u, &v, &w)),
                bits(sum3(false))
            );
            assert_eq!(
                bits(avx512::of_product::<O, true>(&u, &v, &w)),
                bits(sum3(true))
            );
            assert_eq!(
                bits(avx512::of_scaled_product::<O, false>(&u, 1.7, &w)),
                bits(sum2(false))
            );
            assert_eq!(
                bits(avx512::of_scaled_product::<O, true>(&u, 1.7, &w)),
                bits(sum2(true))
            );
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_avx512_sums_equal_the_portable_ones_bit_for_bit() {
        check::<AddOp>();
        check::<SubOp>();
        check::<MulOp>();
        check::<DivOp>();
    }

    #[test]
    fn reduce_adds_halves_pairwise() {
        let lanes: [f64; LANES] = std::array::from_fn(|k| (k + 1) as f64);
        assert_eq!(reduce(lanes), (1..=16).sum::<usize>() as f64);
    }
}
