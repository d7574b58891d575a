//! exp, ln and log1p written so that a loop over a chunk of rows compiles to
//! vector instructions.
//!
//! The standard library's `f64::exp` and `f64::ln` are calls into libm, one
//! value at a time, so a row loop calling them never vectorises. Measured on
//! the benchmark machine (AMD EPYC, AVX-512) with `nll bench`, an evaluation
//! of the Poisson regression workload (one exp per row) spent most of its
//! time in those calls. The versions here are branch-free (special values
//! are handled by selects, which the compiler turns into blends), use only
//! additions, multiplications, one division and bit operations, and are
//! `#[inline(always)]` so that they are compiled inside each caller's loop
//! with the caller's target features.
//!
//! # Accuracy
//!
//! Against the standard library (itself within 1 ulp of the exact value),
//! checked over their domains and at the edges (0, subnormals, +-inf, NaN,
//! overflow and underflow thresholds) by the tests at the bottom of this file:
//! [`exp`] and [`ln`] within [`EXP_LN_MAX_ULPS`], [`log1p`] within
//! [`LOG1P_MAX_ULPS`], with the polynomials evaluated by separate
//! multiplications and additions ([`Separate`]) or by fused multiply-adds
//! ([`Fused`], on CPUs that have them). The results do not depend on the
//! CPU's vector width: the same operations run in the same order on every
//! path (Rust never contracts `a * b + c` on its own).

/// The largest distance in ulps from `f64::exp` and `f64::ln` that the tests
/// accept. Each is within about 1 ulp of the exact value (the polynomial's
/// truncation error is below 2^-60 relative, the rest is rounding), and the
/// standard library's results are within 1 ulp too, so two results may lie
/// 2 ulps apart.
pub const EXP_LN_MAX_ULPS: u64 = 2;

/// The largest distance in ulps from `f64::ln_1p` the tests accept: log1p is
/// ln(1 + x) times the correction x / ((1 + x) - 1), which adds two roundings
/// to those of [`ln`] (Goldberg's bound for this form is a few ulps).
pub const LOG1P_MAX_ULPS: u64 = 4;

/// ln 2 split into a part with 21 trailing zero bits, so that k * LN2_HI is
/// exact for every exponent k of an f64, and the rest.
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
const LOG2_E: f64 = std::f64::consts::LOG2_E;

/// 1.5 * 2^52: adding it to a number of magnitude below 2^51 rounds that
/// number to an integer held in the low bits of the sum's mantissa, a round
/// to nearest that needs no rounding instruction.
const ROUND_SHIFTER: f64 = 6_755_399_441_055_744.0;

/// Beyond these arguments exp is 0 or infinite; clamping to them keeps the
/// integer exponent arithmetic in range without changing the result.
const EXP_ARG_MIN: f64 = -746.0;
const EXP_ARG_MAX: f64 = 710.0;

/// 1/k! for k = 2..=13, the Taylor coefficients of exp.
const EXP_COEFFS: [f64; 12] = [
    0.5,
    0.166_666_666_666_666_66,
    0.041_666_666_666_666_664,
    0.008_333_333_333_333_333,
    0.001_388_888_888_888_889,
    0.000_198_412_698_412_698_4,
    2.480_158_730_158_73e-5,
    2.755_731_922_398_589_3e-6,
    2.755_731_922_398_589e-7,
    2.505_210_838_544_172e-8,
    2.087_675_698_786_81e-9,
    1.605_904_383_682_161_3e-10,
];

/// exp(x).
///
/// # Formula
///
/// With n = round(x / ln 2) and r = x - n ln 2 (so |r| <= ln(2)/2 ~ 0.347):
///   exp(x) = 2^n exp(r),
///   exp(r) = 1 + r + r^2 (1/2! + r (1/3! + ... + r / 13!)).
/// The Taylor series is cut after r^13: the next term is below
/// 0.347^14 / 14! ~ 4e-18, far below half an ulp of exp(r) >= 0.7. 2^n is
/// applied as two powers of two, 2^(n/2) 2^(n - n/2), so results that
/// overflow, or underflow into the subnormal range, are rounded once, as the
/// exact value would be.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    exp_with::<Separate>(x)
}

/// [`exp`] with its polynomial evaluated by `M`'s multiply-add.
#[inline(always)]
pub fn exp_with<M: MulAdd>(x: f64) -> f64 {
    // NaN fails both comparisons and flows through to a NaN result.
    let xc = if x < EXP_ARG_MIN {
        EXP_ARG_MIN
    } else if x > EXP_ARG_MAX {
        EXP_ARG_MAX
    } else {
        x
    };

    let shifted = xc * LOG2_E + ROUND_SHIFTER;
    let n_f = shifted - ROUND_SHIFTER;
    let n = (shifted.to_bits() & ((1u64 << 52) - 1)) as i64 - (1i64 << 51);
    let r = (xc - n_f * LN2_HI) - n_f * LN2_LO;

    let c = &EXP_COEFFS;
    let mut q = c[11];
    for k in (0..11).rev() {
        q = M::mul_add(r, q, c[k]);
    }
    let exp_r = 1.0 + (r + r * r * q);

    let n1 = n >> 1;
    let n2 = n.wrapping_sub(n1);
    let pow2 = |k: i64| f64::from_bits((k.wrapping_add(1023) as u64) << 52);
    exp_r * pow2(n1) * pow2(n2)
}

/// 2/(2k + 1) for k = 1..=10, the coefficients of 2 atanh(s) / s - 2 in
/// powers of s^2.
const LN_COEFFS: [f64; 10] = [
    0.666_666_666_666_666_6,
    0.4,
    0.285_714_285_714_285_7,
    0.222_222_222_222_222_22,
    0.181_818_181_818_181_82,
    0.153_846_153_846_153_85,
    0.133_333_333_333_333_33,
    0.117_647_058_823_529_41,
    0.105_263_157_894_736_84,
    0.095_238_095_238_095_23,
];

/// 2^54, to bring a subnormal argument of ln into the normal range.
const TWO_POW_54: f64 = 18_014_398_509_481_984.0;

/// ln(x), the natural logarithm.
///
/// # Formula
///
/// With x = 2^e m, m in [sqrt(2)/2, sqrt(2)), f = m - 1 (exact) and
/// s = f / (2 + f):
///   ln(x) = e ln 2 + ln(1 + f),  ln(1 + f) = 2 atanh(s)
///         = f - (f^2/2 - s (f^2/2 + R)),  R = sum_{k>=1} 2 s^(2k) / (2k + 1),
/// the arrangement of Sun's fdlibm `e_log.c`, which keeps the leading term f
/// exact. |s| <= 3 - 2 sqrt(2) ~ 0.172, so the series cut after k = 10
/// leaves a relative error below s^22 / 23 ~ 6e-19.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    ln_with::<Separate>(x)
}

/// [`ln`] with its polynomial evaluated by `M`'s multiply-add.
#[inline(always)]
pub fn ln_with<M: MulAdd>(x: f64) -> f64 {
    let is_subnormal = x < f64::MIN_POSITIVE;
    let xs = if is_subnormal { x * TWO_POW_54 } else { x };
    let bias = if is_subnormal { 1023 + 54 } else { 1023 };

    let bits = xs.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - bias;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | 0x3ff0_0000_0000_0000);
    let is_high = m > std::f64::consts::SQRT_2;
    m = if is_high { 0.5 * m } else { m };
    e += is_high as i64;

    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let c = &LN_COEFFS;
    let mut r = c[9];
    for k in (0..9).rev() {
        r = M::mul_add(z, r, c[k]);
    }
    let r = z * r;
    let hfsq = 0.5 * f * f;
    let e_f = e as f64;
    let y = e_f * LN2_HI - ((hfsq - (s * (hfsq + r) + e_f * LN2_LO)) - f);

    // Special values: ln(0) = -inf, ln(+inf) = +inf, ln(x < 0) = NaN, and a
    // NaN argument stays NaN.
    if x == 0.0 {
        f64::NEG_INFINITY
    } else if x == f64::INFINITY {
        x
    } else if x < 0.0 || x.is_nan() {
        f64::NAN
    } else {
        y
    }
}

/// ln(1 + x), accurate also where |x| is tiny.
///
/// # Formula
///
/// With u = 1 + x rounded, u - 1 is exact, and
///   ln(1 + x) = ln(u) * x / (u - 1)   when u != 1,   x when u = 1
/// (Goldberg, "What every computer scientist should know about
/// floating-point arithmetic", 1991, theorem 4): the factor x / (u - 1)
/// corrects the rounding of 1 + x to first order.
#[inline(always)]
pub fn log1p(x: f64) -> f64 {
    log1p_with::<Separate>(x)
}

/// [`log1p`] with `M`'s multiply-add.
#[inline(always)]
pub fn log1p_with<M: MulAdd>(x: f64) -> f64 {
    let u = 1.0 + x;
    let d = u - 1.0;
    let y = ln_with::<M>(u) * (x / d);
    if d == 0.0 || x == f64::INFINITY {
        x
    } else if u == 0.0 {
        f64::NEG_INFINITY
    } else {
        y
    }
}

/// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow for large x,
/// full relative accuracy for large negative x where it is ~ exp(x).
#[inline(always)]
pub fn softplus(x: f64) -> f64 {
    softplus_with::<Separate>(x)
}

/// [`softplus`] with `M`'s multiply-add.
#[inline(always)]
pub fn softplus_with<M: MulAdd>(x: f64) -> f64 {
    let pos = if x > 0.0 { x } else { 0.0 };
    let y = pos + log1p_with::<M>(exp_with::<M>(-x.abs()));
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// logistic(x) = 1 / (1 + exp(-x)), as exp(x) / (1 + exp(x)) for x < 0 so
/// that exp never overflows and small results keep their relative accuracy.
#[inline(always)]
pub fn logistic(x: f64) -> f64 {
    logistic_with::<Separate>(x)
}

/// [`logistic`] with `M`'s multiply-add.
#[inline(always)]
pub fn logistic_with<M: MulAdd>(x: f64) -> f64 {
    let e = exp_with::<M>(-x.abs());
    let num = if x >= 0.0 { 1.0 } else { e };
    let y = num / (1.0 + e);
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// softplus(x) and logistic(x) together, from one exp, one ln and one
/// division (each alone takes an exp, and softplus a second division):
///   e = exp(-|x|),  u = 1 + e,  v = 1 / u,
///   logistic(x) = v for x >= 0, e v otherwise,
///   softplus(x) = max(x, 0) + log1p(e),
///   log1p(e) = ln(u) + (e - (u - 1)) v.
/// The last line corrects ln of the rounded u to first order: u - 1 is
/// exact, e - (u - 1) is the rounding error of u, and ln(1 + e) =
/// ln(u) + ln(1 + (e - (u - 1)) / u), whose argument is below one ulp.
#[inline(always)]
pub fn softplus_logistic_with<M: MulAdd>(x: f64) -> (f64, f64) {
    let (softplus, logistic, _) = softplus_logistics_with::<M>(x);
    (softplus, logistic)
}

/// [`softplus_logistic_with`] and logistic(-x) as well, from the same exp:
/// e = exp(-|-x|) and u = 1 + e are the values [`logistic_with`] computes
/// for -x, so logistic(-x) = (1 if -x >= 0, else e) / u is bit for bit
/// what it returns (a logistic regression's Hessian weight is
/// logistic(x) logistic(-x)).
#[inline(always)]
pub fn softplus_logistics_with<M: MulAdd>(x: f64) -> (f64, f64, f64) {
    let e = exp_with::<M>(-x.abs());
    let u = 1.0 + e;
    let v = 1.0 / u;
    let logistic = if x >= 0.0 { v } else { e * v };
    let mirror = if -x >= 0.0 { 1.0 } else { e } / u;
    let pos = if x > 0.0 { x } else { 0.0 };
    let softplus = pos + (ln_with::<M>(u) + (e - (u - 1.0)) * v);
    if x.is_nan() {
        (x, x, -x)
    } else {
        (softplus, logistic, mirror)
    }
}

/// How the polynomials above evaluate a * b + c.
pub trait MulAdd {
    fn mul_add(a: f64, b: f64, c: f64) -> f64;
}

/// A multiplication, then an addition: two roundings, and the same result
/// on every CPU.
pub struct Separate;

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// The fused multiply-add instruction: one rounding, and one instruction
/// where the other takes two. Only for code compiled with the `fma` target
/// feature; elsewhere `f64::mul_add` is a call into a software routine.
pub struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

/// One of the functions above as a type, for generic row loops that must
/// inline it (see `exec::map1_kernel`).
pub trait Kernel {
    fn apply<M: MulAdd>(x: f64) -> f64;
}

macro_rules! kernel {
    ($name:ident, $f:ident) => {
        pub struct $name;
        impl Kernel for $name {
            #[inline(always)]
            fn apply<M: MulAdd>(x: f64) -> f64 {
                $f::<M>(x)
            }
        }
    };
}

kernel!(Exp, exp_with);
kernel!(Ln, ln_with);
kernel!(Log1p, log1p_with);
kernel!(Softplus, softplus_with);
kernel!(Logistic, logistic_with);

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite f64s of the
    /// same sign (0 when both are the same special value).
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        if !a.is_finite() || !b.is_finite() || (a < 0.0) != (b < 0.0) {
            return u64::MAX;
        }
        let (ia, ib) = (a.abs().to_bits() as i64, b.abs().to_bits() as i64);
        (ia - ib).unsigned_abs()
    }

    /// A deterministic stream of uniform numbers in [0, 1) (SplitMix64).
    struct Uniform(u64);

    impl Uniform {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// The worst distance of `fast` from `reference` over `xs`, with the
    /// argument where it happens.
    fn worst(
        xs: impl Iterator<Item = f64>,
        fast: fn(f64) -> f64,
        reference: fn(f64) -> f64,
    ) -> (u64, f64) {
        xs.map(|x| (ulps(fast(x), reference(x)), x))
            .max_by_key(|p| p.0)
            .unwrap_or((0, 0.0))
    }

    /// [`worst`] over the version with separate multiply and add and the
    /// one with fused multiply-adds (a library call where the CPU has none:
    /// slow, but the same results).
    fn worst_of_both(
        xs: impl Iterator<Item = f64>,
        separate: fn(f64) -> f64,
        fused: fn(f64) -> f64,
        reference: fn(f64) -> f64,
    ) -> (u64, f64) {
        let xs: Vec<f64> = xs.collect();
        let a = worst(xs.iter().copied(), separate, reference);
        let b = worst(xs.iter().copied(), fused, reference);
        if a.0 >= b.0 {
            a
        } else {
            b
        }
    }

    const N_SAMPLES: usize = 200_000;

    #[test]
    fn exp_is_within_its_ulp_bound_over_its_domain() {
        let mut u = Uniform(1);
        // Uniform over the whole finite range, including arguments whose
        // result is subnormal (below -708.4).
        let xs = (0..N_SAMPLES).map(|_| -745.0 + 1454.7 * u.next());
        let (d, x) = worst_of_both(xs, exp, exp_with::<Fused>, f64::exp);
        assert!(d <= EXP_LN_MAX_ULPS, "exp({x:e}) is {d} ulps off");
        // Small arguments, where exp(x) ~ 1 + x.
        let xs = (0..N_SAMPLES).map(|_| (u.next() - 0.5) * 1e-6);
        let (d, x) = worst_of_both(xs, exp, exp_with::<Fused>, f64::exp);
        assert!(d <= EXP_LN_MAX_ULPS, "exp({x:e}) is {d} ulps off");
    }

    #[test]
    fn exp_edge_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(1e300), f64::INFINITY);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(-1e300), 0.0);
        assert_eq!(exp(f64::MIN_POSITIVE), 1.0);
        assert_eq!(exp(5e-324), 1.0);
        for x in [
            709.78, 709.0, -708.39, -708.4, -740.0, -744.4, 1.0, -1.0, 0.5,
        ] {
            assert!(ulps(exp(x), x.exp()) <= EXP_LN_MAX_ULPS, "exp({x})");
            assert!(
                ulps(exp_with::<Fused>(x), x.exp()) <= EXP_LN_MAX_ULPS,
                "exp({x}), fused"
            );
        }
    }

    #[test]
    fn ln_is_within_its_ulp_bound_over_its_domain() {
        let mut u = Uniform(2);
        // Log-uniform over the normal and subnormal range.
        let xs = (0..N_SAMPLES).map(|_| (2f64).powf(-1074.0 + 2097.0 * u.next()));
        let (d, x) = worst_of_both(xs, ln, ln_with::<Fused>, f64::ln);
        assert!(d <= EXP_LN_MAX_ULPS, "ln({x:e}) is {d} ulps off");
        // Near 1, where ln(x) ~ x - 1 is small.
        let xs = (0..N_SAMPLES).map(|_| 1.0 + (u.next() - 0.5) * 1e-3);
        let (d, x) = worst_of_both(xs, ln, ln_with::<Fused>, f64::ln);
        assert!(d <= EXP_LN_MAX_ULPS, "ln({x:e}) is {d} ulps off");
    }

    #[test]
    fn ln_edge_values() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(-0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f64::NEG_INFINITY).is_nan());
        assert!(ln(f64::NAN).is_nan());
        for x in [
            5e-324,
            1e-310,
            f64::MIN_POSITIVE,
            f64::MAX,
            2.0,
            0.5,
            std::f64::consts::E,
        ] {
            assert!(ulps(ln(x), x.ln()) <= EXP_LN_MAX_ULPS, "ln({x:e})");
            assert!(
                ulps(ln_with::<Fused>(x), x.ln()) <= EXP_LN_MAX_ULPS,
                "ln({x:e}), fused"
            );
        }
    }

    #[test]
    fn log1p_is_within_its_ulp_bound_over_its_domain() {
        let mut u = Uniform(3);
        // Log-uniform magnitudes of both signs, down to subnormals; negative
        // arguments stay above -1.
        let xs = (0..N_SAMPLES).map(|_| {
            let m = (2f64).powf(-1074.0 + 1100.0 * u.next());
            if u.next() < 0.5 {
                m
            } else {
                -(m.min(1.0 - 1e-16))
            }
        });
        let (d, x) = worst_of_both(xs, log1p, log1p_with::<Fused>, f64::ln_1p);
        assert!(d <= LOG1P_MAX_ULPS, "log1p({x:e}) is {d} ulps off");
    }

    #[test]
    fn log1p_edge_values() {
        assert_eq!(log1p(0.0), 0.0);
        assert_eq!(log1p(-1.0), f64::NEG_INFINITY);
        assert_eq!(log1p(f64::INFINITY), f64::INFINITY);
        assert!(log1p(-2.0).is_nan());
        assert!(log1p(f64::NAN).is_nan());
        assert_eq!(log1p(5e-324), 5e-324);
        assert_eq!(log1p(1e-300), 1e-300);
        for x in [f64::MAX, 1e300, 1.0, -0.5, 1e-8, -1e-8] {
            assert!(ulps(log1p(x), x.ln_1p()) <= LOG1P_MAX_ULPS, "log1p({x:e})");
            assert!(
                ulps(log1p_with::<Fused>(x), x.ln_1p()) <= LOG1P_MAX_ULPS,
                "log1p({x:e}), fused"
            );
        }
    }

    #[test]
    fn softplus_and_logistic_match_their_definitions() {
        let mut u = Uniform(4);
        for _ in 0..N_SAMPLES {
            let x = (u.next() - 0.5) * 1400.0;
            let sp = crate::graph::func::softplus(x);
            assert!(ulps(softplus(x), sp) <= LOG1P_MAX_ULPS + 2, "softplus({x})");
            let fused = softplus_with::<Fused>(x);
            assert!(
                ulps(fused, sp) <= LOG1P_MAX_ULPS + 2,
                "softplus({x}), fused"
            );
            let fused = logistic_with::<Fused>(x);
            assert!(
                ulps(fused, crate::graph::func::logistic(x)) <= EXP_LN_MAX_ULPS + 2,
                "logistic({x}), fused"
            );
            let lg = crate::graph::func::logistic(x);
            assert!(
                ulps(logistic(x), lg) <= EXP_LN_MAX_ULPS + 2,
                "logistic({x})"
            );
        }
        for _ in 0..N_SAMPLES {
            let x = (u.next() - 0.5) * 1400.0;
            let x = if u.next() < 0.5 { x } else { x * 1e-3 };
            for (sp, lg) in [
                softplus_logistic_with::<Separate>(x),
                softplus_logistic_with::<Fused>(x),
            ] {
                let want = crate::graph::func::softplus(x);
                assert!(ulps(sp, want) <= LOG1P_MAX_ULPS + 2, "softplus({x}) paired");
                let want = crate::graph::func::logistic(x);
                assert!(
                    ulps(lg, want) <= EXP_LN_MAX_ULPS + 2,
                    "logistic({x}) paired"
                );
            }
        }
        for x in [f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1e-300, -1e-300] {
            let (sp, lg) = softplus_logistic_with::<Separate>(x);
            assert_eq!((sp, lg), (softplus(x), logistic(x)), "at {x}");
        }
        assert!(softplus_logistic_with::<Separate>(f64::NAN).0.is_nan());
        assert_eq!(softplus(f64::INFINITY), f64::INFINITY);
        assert_eq!(softplus(f64::NEG_INFINITY), 0.0);
        assert_eq!(logistic(f64::INFINITY), 1.0);
        assert_eq!(logistic(f64::NEG_INFINITY), 0.0);
        assert!(softplus(f64::NAN).is_nan() && logistic(f64::NAN).is_nan());
    }
}
