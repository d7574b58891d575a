//! Elementwise functions of one argument: their names, their values, and the
//! special functions the standard library lacks.
//!
//! The same [`Func`] table serves the graph (constant folding, derivative
//! rules), the evaluator (row loops) and the language (builtin names).

use statrs::function::erf::erfc;
use statrs::function::gamma::{digamma, ln_gamma};

/// An elementwise function of one real argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    Neg,
    Exp,
    Log,
    Log1p,
    Expm1,
    Sqrt,
    Abs,
    /// sign(x) in {-1, 0, 1}; the derivative of `abs`.
    Sign,
    Sin,
    Cos,
    Tan,
    Atan,
    Tanh,
    /// 1 / (1 + exp(-x))
    Logistic,
    /// log(1 + exp(x))
    Softplus,
    /// log |Gamma(x)|
    Lgamma,
    /// psi(x) = d/dx lgamma(x)
    Digamma,
    /// psi'(x)
    Trigamma,
    /// psi''(x)
    Tetragamma,
    /// lgamma(x) - lgamma(x + 1/2) + log(x) / 2, computed without the
    /// cancellation of its terms for large x (see [`lgamma_gap`]).
    LgammaGap,
    /// Its derivative, psi(x) - psi(x + 1/2) + 1 / (2x).
    DigammaGap,
    /// Its second derivative, psi'(x) - psi'(x + 1/2) - 1 / (2x^2).
    TrigammaGap,
    /// The remainder of Stirling's formula,
    /// lgamma(x) - (x - 1/2) log(x) + x - log(2 pi)/2 (see [`lgamma_rem`]).
    LgammaRem,
    /// Its derivative, psi(x) - log(x) + 1 / (2x).
    DigammaRem,
    /// Its second derivative, psi'(x) - 1/x - 1 / (2x^2).
    TrigammaRem,
    /// log1p(x) / x, 1 at x = 0 (see [`log1p_over_x`]).
    Log1pOverX,
    /// Its derivative (1/(1 + x) - log1p(x)/x) / x.
    Log1pOverX1,
    /// Its second derivative.
    Log1pOverX2,
    /// The standard normal CDF, Phi(x).
    Phi,
    /// log Phi(x), accurate far into both tails.
    LogPhi,
    /// phi(x) / Phi(x), the derivative of log Phi(x).
    InvMills,
}

impl Func {
    /// Builtin functions a model may call by name, with their `Func`.
    pub const BUILTINS: &'static [(&'static str, Func)] = &[
        ("exp", Func::Exp),
        ("log", Func::Log),
        ("log1p", Func::Log1p),
        ("expm1", Func::Expm1),
        ("sqrt", Func::Sqrt),
        ("abs", Func::Abs),
        ("sin", Func::Sin),
        ("cos", Func::Cos),
        ("tan", Func::Tan),
        ("atan", Func::Atan),
        ("tanh", Func::Tanh),
        ("logistic", Func::Logistic),
        ("softplus", Func::Softplus),
        ("lgamma", Func::Lgamma),
        ("digamma", Func::Digamma),
        ("Phi", Func::Phi),
        ("logPhi", Func::LogPhi),
    ];

    pub fn from_name(name: &str) -> Option<Func> {
        Func::BUILTINS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Neg => "neg",
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Log1p => "log1p",
            Func::Expm1 => "expm1",
            Func::Sqrt => "sqrt",
            Func::Abs => "abs",
            Func::Sign => "sign",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Atan => "atan",
            Func::Tanh => "tanh",
            Func::Logistic => "logistic",
            Func::Softplus => "softplus",
            Func::Lgamma => "lgamma",
            Func::Digamma => "digamma",
            Func::Trigamma => "trigamma",
            Func::Tetragamma => "tetragamma",
            Func::LgammaGap => "lgamma_gap",
            Func::DigammaGap => "digamma_gap",
            Func::TrigammaGap => "trigamma_gap",
            Func::LgammaRem => "lgamma_rem",
            Func::DigammaRem => "digamma_rem",
            Func::TrigammaRem => "trigamma_rem",
            Func::Log1pOverX => "log1p_over_x",
            Func::Log1pOverX1 => "d_log1p_over_x",
            Func::Log1pOverX2 => "d2_log1p_over_x",
            Func::Phi => "Phi",
            Func::LogPhi => "logPhi",
            Func::InvMills => "inv_mills",
        }
    }

    /// The value of the function at `x`.
    #[inline]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Func::Neg => -x,
            Func::Exp => x.exp(),
            Func::Log => x.ln(),
            Func::Log1p => x.ln_1p(),
            Func::Expm1 => x.exp_m1(),
            Func::Sqrt => x.sqrt(),
            Func::Abs => x.abs(),
            Func::Sign => sign(x),
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Tan => x.tan(),
            Func::Atan => x.atan(),
            Func::Tanh => x.tanh(),
            Func::Logistic => logistic(x),
            Func::Softplus => softplus(x),
            Func::Lgamma => lgamma(x),
            Func::Digamma => digamma(x),
            Func::Trigamma => polygamma(1, x),
            Func::Tetragamma => polygamma(2, x),
            Func::LgammaGap => lgamma_gap(x),
            Func::DigammaGap => digamma_gap(x),
            Func::TrigammaGap => trigamma_gap(x),
            Func::LgammaRem => lgamma_rem(x),
            Func::DigammaRem => digamma_rem(x),
            Func::TrigammaRem => trigamma_rem(x),
            Func::Log1pOverX => log1p_over_x(x),
            Func::Log1pOverX1 => d_log1p_over_x(x),
            Func::Log1pOverX2 => d2_log1p_over_x(x),
            Func::Phi => norm_cdf(x),
            Func::LogPhi => log_norm_cdf(x),
            Func::InvMills => inv_mills(x),
        }
    }
}

/// sign(x): -1, 0 or 1 (NaN stays NaN).
#[inline]
pub fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x * 0.0
    }
}

// logistic(x) = 1 / (1 + exp(-x)), written so that exp never overflows:
// for x < 0 it uses exp(x) / (1 + exp(x)).
#[inline]
pub fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)).
// The second form never overflows and keeps full relative accuracy for
// large negative x, where softplus(x) ~ exp(x).
#[inline]
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// log |Gamma(x)| for x > 0 (statrs' Lanczos approximation, about 1e-15
/// relative); NaN for x <= 0 where the models never need it.
#[inline]
pub fn lgamma(x: f64) -> f64 {
    // Counts make most arguments small whole numbers (log y! is
    // lgamma(y + 1)): those come from a table of the same function's values,
    // computed once. At a million rows this took a model's compilation from
    // 25 ms, most of it this one column, to a few.
    if x >= 1.0 && x <= LGAMMA_TABLE_LEN as f64 && is_whole(x) {
        return lgamma_table()[x as usize - 1];
    }
    if x > 0.0 {
        ln_gamma(x)
    } else {
        f64::NAN
    }
}

/// True when x is a whole number (finite and without a fractional part).
///
/// For |x| < 2^52, (|x| + 2^52) - 2^52 is |x| rounded to a whole number (the
/// sum has no bits below the units), so it equals |x| exactly when |x| is
/// whole; from 2^52 on every double is whole. Unlike `x.fract() == 0.0` this
/// needs no library call on the baseline x86-64 target, which lacks rounding
/// instructions (SSE4.1), and a loop over a column of it vectorises.
#[inline]
pub fn is_whole(x: f64) -> bool {
    const ALL_WHOLE: f64 = 4_503_599_627_370_496.0; // 2^52
    let a = x.abs();
    x.is_finite() & ((a >= ALL_WHOLE) | ((a + ALL_WHOLE) - ALL_WHOLE == a))
}

/// Whole arguments 1..=LGAMMA_TABLE_LEN have their lgamma in a table.
const LGAMMA_TABLE_LEN: usize = 1024;

fn lgamma_table() -> &'static [f64; LGAMMA_TABLE_LEN] {
    static TABLE: std::sync::OnceLock<[f64; LGAMMA_TABLE_LEN]> = std::sync::OnceLock::new();
    // Gamma(1) = Gamma(2) = 1 exactly: log 0! and log 1! are 0, not the
    // -4e-16 of the general formula, so the mass of a count of 0 or 1 does
    // not come out above 1.
    TABLE
        .get_or_init(|| std::array::from_fn(|k| if k < 2 { 0.0 } else { ln_gamma((k + 1) as f64) }))
}

/// The polygamma function psi^(m)(x) for m >= 1 and x > 0.
///
/// # Formula
/// Shift x up to at least `POLYGAMMA_SHIFT` with the recurrence
///   psi^(m)(x) = psi^(m)(x + 1) - (-1)^m m! / x^(m+1),
/// then use the asymptotic expansion (Abramowitz & Stegun 6.4.11)
///   psi^(m)(x) ~ (-1)^(m+1) [ (m-1)!/x^m + m!/(2 x^(m+1))
///                + sum_k B_2k (2k+m-1)! / ((2k)! x^(2k+m)) ].
/// With x >= 20 and Bernoulli terms up to B_12 the truncation error is below
/// 1e-16 relative for m <= 4.
///
/// statrs has `digamma` but no higher polygamma functions, which the Hessian
/// of `lgamma` terms (Student-t degrees of freedom, Gamma shape) needs.
pub fn polygamma(m: u32, x: f64) -> f64 {
    if !(x > 0.0) || m == 0 {
        return if m == 0 { digamma(x) } else { f64::NAN };
    }
    let mf = m as f64;
    let factorial = |k: u32| (1..=k).fold(1.0_f64, |acc, i| acc * i as f64);
    let sign_m = if m % 2 == 1 { 1.0 } else { -1.0 }; // (-1)^(m+1)

    let mut x = x;
    let mut shifted = 0.0;
    while x < POLYGAMMA_SHIFT {
        // psi^(m)(x) = psi^(m)(x+1) + (-1)^(m+1) m! / x^(m+1)
        shifted += sign_m * factorial(m) / x.powf(mf + 1.0);
        x += 1.0;
    }

    // B_2k for k = 1..6.
    const BERNOULLI: [f64; 6] = [
        1.0 / 6.0,
        -1.0 / 30.0,
        1.0 / 42.0,
        -1.0 / 30.0,
        5.0 / 66.0,
        -691.0 / 2730.0,
    ];
    let mut series = factorial(m - 1) / x.powf(mf) + factorial(m) / (2.0 * x.powf(mf + 1.0));
    for (k, b) in BERNOULLI.iter().enumerate() {
        let two_k = 2 * (k as u32 + 1);
        series += b * factorial(two_k + m - 1) / (factorial(two_k) * x.powf(two_k as f64 + mf));
    }
    shifted + sign_m * series
}

/// From this x on, the gap functions below use their asymptotic series.
/// Below it the direct formulas lose at most about eps lgamma(40.5) = 1.2e-14
/// absolutely; above it the series' first omitted term is below 1e-17 of
/// the value (x^-11 and beyond).
pub const GAP_SERIES_FROM: f64 = 40.0;

/// g(x) = lgamma(x) - lgamma(x + 1/2) + log(x) / 2 for x > 0 (NaN otherwise).
///
/// A Student-t density with nu degrees of freedom has the constant
///   lgamma(nu/2) - lgamma((nu+1)/2) + log(nu pi)/2 = g(nu/2) + log(2 pi)/2,
/// whose three terms are each about (nu/2) log(nu/2) while the constant
/// tends to log(2 pi)/2: summed directly, at nu = 1e7 it has an error of
/// about 1e-8 that moves with nu in no smooth way, and a fit whose nu runs
/// off toward the normal limit then stalls in that noise.
///
/// # Formula
/// Below [`GAP_SERIES_FROM`], the definition. Above, Stirling's series for
/// lgamma(x + a) (Abramowitz & Stegun 6.1.40 with the Bernoulli polynomials
/// B_n(1/2) = (2^(1-n) - 1) B_n) gives
///   g(x) = 1/(8x) - 1/(192x^3) + 1/(640x^5) - 17/(14336x^7) + 31/(18432x^9) - ...
/// (checked against 50-digit values: 3e-18 relative at x = 40).
pub fn lgamma_gap(x: f64) -> f64 {
    if x >= GAP_SERIES_FROM {
        let u = 1.0 / (x * x);
        let s = 1.0 / 8.0
            + u * (-1.0 / 192.0 + u * (1.0 / 640.0 + u * (-17.0 / 14336.0 + u * (31.0 / 18432.0))));
        s / x
    } else if x > 0.0 {
        lgamma(x) - lgamma(x + 0.5) + 0.5 * x.ln()
    } else {
        f64::NAN
    }
}

/// g'(x) = psi(x) - psi(x + 1/2) + 1/(2x), the derivative of [`lgamma_gap`].
///
/// # Formula
/// Below [`GAP_SERIES_FROM`], the definition (psi(40) is 3.7, so about
/// 1e-15 absolute); above, the series of g differentiated term by term:
///   g'(x) = -1/(8x^2) + 1/(64x^4) - 1/(128x^6) + 17/(2048x^8) - 31/(2048x^10) + ...
/// (3e-17 relative at x = 40).
pub fn digamma_gap(x: f64) -> f64 {
    if x >= GAP_SERIES_FROM {
        let u = 1.0 / (x * x);
        let s = -1.0 / 8.0
            + u * (1.0 / 64.0 + u * (-1.0 / 128.0 + u * (17.0 / 2048.0 + u * (-31.0 / 2048.0))));
        s * u
    } else if x > 0.0 {
        digamma(x) - digamma(x + 0.5) + 0.5 / x
    } else {
        f64::NAN
    }
}

/// g''(x) = psi'(x) - psi'(x + 1/2) - 1/(2x^2), the second derivative of
/// [`lgamma_gap`].
///
/// # Formula
/// Below [`GAP_SERIES_FROM`], the definition; above, the series of g'
/// differentiated term by term:
///   g''(x) = 1/(4x^3) - 1/(16x^5) + 3/(64x^7) - 17/(256x^9) + 155/(1024x^11) - ...
/// (2e-16 relative at x = 40).
pub fn trigamma_gap(x: f64) -> f64 {
    if x >= GAP_SERIES_FROM {
        let u = 1.0 / (x * x);
        let s = 1.0 / 4.0
            + u * (-1.0 / 16.0 + u * (3.0 / 64.0 + u * (-17.0 / 256.0 + u * (155.0 / 1024.0))));
        s * u / x
    } else if x > 0.0 {
        polygamma(1, x) - polygamma(1, x + 0.5) - 0.5 / (x * x)
    } else {
        f64::NAN
    }
}

/// r(x) = lgamma(x) - (x - 1/2) log(x) + x - log(2 pi)/2 for x > 0, the
/// part of lgamma that Stirling's formula leaves (NaN for x < 0).
///
/// A difference lgamma(x + y) - lgamma(x) with x much larger than y is two
/// numbers of size x log(x) that cancel to about y log(x): a negative
/// binomial's lgamma(y + phi) - lgamma(phi) at phi = 1e12 has an error of
/// 1e-3 per row. Written with r, the large parts combine into a log1p (see
/// the negative binomial in `dist`) and only r(x + y) - r(x) remains, of
/// size y / (12 x^2) with rounding to match.
///
/// # Formula
/// Below [`GAP_SERIES_FROM`], the definition (absolute error about 1e-14,
/// lgamma's rounding). Above, Stirling's series (Abramowitz & Stegun
/// 6.1.41):
///   r(x) = 1/(12x) - 1/(360x^3) + 1/(1260x^5) - 1/(1680x^7) + 1/(1188x^9) - ...
/// whose next term, 691/(360360 x^11), is 1e-18 of r at x = 40.
pub fn lgamma_rem(x: f64) -> f64 {
    if x >= GAP_SERIES_FROM {
        let u = 1.0 / (x * x);
        let s = 1.0 / 12.0
            + u * (-1.0 / 360.0 + u * (1.0 / 1260.0 + u * (-1.0 / 1680.0 + u * (1.0 / 1188.0))));
        s / x
    } else if x > 0.0 {
        lgamma(x) - (x - 0.5) * x.ln() + x - HALF_LN_2PI
    } else if x == 0.0 {
        f64::INFINITY
    } else {
        f64::NAN
    }
}

/// r'(x) = psi(x) - log(x) + 1/(2x), the derivative of [`lgamma_rem`].
///
/// # Formula
/// Below [`GAP_SERIES_FROM`], the definition; above, the series of r
/// differentiated term by term:
///   r'(x) = -1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8) - 1/(132x^10) + ...
pub fn digamma_rem(x: f64) -> f64 {
    if x >= GAP_SERIES_FROM {
        let u = 1.0 / (x * x);
        let s = -1.0 / 12.0
            + u * (1.0 / 120.0 + u * (-1.0 / 252.0 + u * (1.0 / 240.0 + u * (-1.0 / 132.0))));
        s * u
    } else if x > 0.0 {
        digamma(x) - x.ln() + 0.5 / x
    } else {
        f64::NAN
    }
}

/// r''(x) = psi'(x) - 1/x - 1/(2x^2), the second derivative of
/// [`lgamma_rem`].
///
/// # Formula
/// Below [`GAP_SERIES_FROM`], the definition; above, the series of r'
/// differentiated term by term:
///   r''(x) = 1/(6x^3) - 1/(30x^5) + 1/(42x^7) - 1/(30x^9) + 5/(66x^11) - ...
pub fn trigamma_rem(x: f64) -> f64 {
    if x >= GAP_SERIES_FROM {
        let u = 1.0 / (x * x);
        let s =
            1.0 / 6.0 + u * (-1.0 / 30.0 + u * (1.0 / 42.0 + u * (-1.0 / 30.0 + u * (5.0 / 66.0))));
        s * u / x
    } else if x > 0.0 {
        polygamma(1, x) - 1.0 / x - 0.5 / (x * x)
    } else {
        f64::NAN
    }
}

/// Below this |x|, log1p(x)/x and its derivatives come from their Taylor
/// series; above it, from their closed forms, whose subtractions then lose
/// at most a factor of about 10 and 60 (first and second derivative).
pub const LOG1P_OVER_X_SERIES_BELOW: f64 = 0.25;

/// Terms of those series: 0.25^30 ~ 1e-18 of the leading term.
const LOG1P_OVER_X_TERMS: i32 = 30;

/// Sum over j < [`LOG1P_OVER_X_TERMS`] of coef(j) (-x)^j, by Horner's rule.
fn alternating_series(x: f64, coef: impl Fn(f64) -> f64) -> f64 {
    (0..LOG1P_OVER_X_TERMS)
        .rev()
        .fold(0.0, |s, j| s * -x + coef(f64::from(j)))
}

/// m(x) = log1p(x) / x for x > -1, with m(0) = 1.
///
/// A term phi log1p(mu/phi) with phi large is mu m(mu/phi): its derivative
/// in phi, written for log1p, is two terms of size mu/phi that cancel to
/// size mu^2/phi^2, and a negative binomial's Hessian turned to noise past
/// phi = 1e15. Written with m, every derivative term has that size.
///
/// # Formula
/// For |x| < [`LOG1P_OVER_X_SERIES_BELOW`], m(x) = sum_j (-x)^j / (j + 1);
/// otherwise log1p(x) / x.
pub fn log1p_over_x(x: f64) -> f64 {
    if x.abs() < LOG1P_OVER_X_SERIES_BELOW {
        alternating_series(x, |j| 1.0 / (j + 1.0))
    } else {
        x.ln_1p() / x
    }
}

/// m'(x), the derivative of [`log1p_over_x`].
///
/// # Formula
/// For small |x|, m'(x) = -sum_j (j + 1) (-x)^j / (j + 2); otherwise
/// (1/(1 + x) - m(x)) / x.
pub fn d_log1p_over_x(x: f64) -> f64 {
    if x.abs() < LOG1P_OVER_X_SERIES_BELOW {
        -alternating_series(x, |j| (j + 1.0) / (j + 2.0))
    } else {
        (1.0 / (1.0 + x) - log1p_over_x(x)) / x
    }
}

/// m''(x), the second derivative of [`log1p_over_x`].
///
/// # Formula
/// For small |x|, m''(x) = sum_j (j + 1)(j + 2) (-x)^j / (j + 3); otherwise
/// (-1/(1 + x)^2 - 2 m'(x)) / x.
pub fn d2_log1p_over_x(x: f64) -> f64 {
    if x.abs() < LOG1P_OVER_X_SERIES_BELOW {
        alternating_series(x, |j| (j + 1.0) * (j + 2.0) / (j + 3.0))
    } else {
        let inv = 1.0 / (1.0 + x);
        (-inv * inv - 2.0 * d_log1p_over_x(x)) / x
    }
}

// ln(2 pi) / 2
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Below this u, log Phi(u) and phi(u) / Phi(u) come from the asymptotic
/// series of the Mills ratio instead of erfc.
const NORM_TAIL: f64 = -10.0;

/// Terms of that series after the leading 1.
const MILLS_TERMS: u32 = 24;

/// The standard normal density phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
#[inline]
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x - HALF_LN_2PI).exp()
}

/// The standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2.
///
/// erfc keeps its relative accuracy in the left tail, where 1 + erf(x)
/// would cancel; Phi underflows to 0 below about x = -38.5. The accuracy is
/// that of statrs' erfc: in statrs 0.19 about 1e-10 relative for arguments
/// above 0.5 (measured against mpmath), limited by its interval constants.
#[inline]
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// log Phi(x), finite for every finite x: accurate to rounding below
/// NORM_TAIL and as accurate as statrs' erfc above it.
///
/// # Formula
/// - x >= 0: log Phi(x) = log1p(-Q(x)) with the upper tail
///   Q(x) = erfc(x / sqrt 2) / 2 <= 1/2, so nothing cancels and for large x
///   the result is -Q(x) to full precision.
/// - NORM_TAIL <= x < 0: log(erfc(-x / sqrt 2) / 2), as accurate as erfc
///   (see [`norm_cdf`]): an absolute error of about 1e-10 in log Phi.
/// - x < NORM_TAIL: from the Mills ratio expansion
///   Phi(x) = phi(x) / |x| * S(x),  S(x) = 1 - 1/x^2 + 3/x^4 - 15/x^6 + ...,
///   log Phi(x) = -x^2/2 - log(2 pi)/2 - log(-x) + log1p(S(x) - 1).
///   Nothing here underflows, so it stays finite however negative x is,
///   and it is accurate to rounding.
pub fn log_norm_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x >= 0.0 {
        let q = 0.5 * erfc(x * std::f64::consts::FRAC_1_SQRT_2);
        (-q).ln_1p()
    } else if x >= NORM_TAIL {
        norm_cdf(x).ln()
    } else if x == f64::NEG_INFINITY {
        x
    } else {
        -0.5 * x * x - HALF_LN_2PI - (-x).ln() + mills_series_minus_one(x).ln_1p()
    }
}

/// phi(x) / Phi(x), the derivative of log Phi(x), finite for every finite
/// x, with the accuracy of [`log_norm_cdf`].
///
/// # Formula
/// - x >= NORM_TAIL: the quotient of phi(x) and Phi(x) as computed above
///   (for large x phi underflows to 0, where the ratio is below 1e-300).
/// - x < NORM_TAIL: phi(x) / Phi(x) = -x / S(x) from the expansion in
///   [`log_norm_cdf`]; as x -> -inf it tends to -x.
pub fn inv_mills(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x >= NORM_TAIL {
        norm_pdf(x) / norm_cdf(x)
    } else if x == f64::NEG_INFINITY {
        f64::INFINITY
    } else {
        -x / (1.0 + mills_series_minus_one(x))
    }
}

/// S(x) - 1 for the asymptotic series
///   S(x) = sum_{k>=0} (-1)^k (2k-1)!! / x^(2k)
/// of x Phi(x) / -phi(x) as x -> -inf (Abramowitz & Stegun 26.2.12), for
/// x < NORM_TAIL. The series diverges, but its terms shrink while
/// 2k - 1 < x^2, and the alternating sum is within the first omitted term
/// of the limit: after 24 terms that is 49!! / 10^50 < 1e-18 at x = -10,
/// and less further out.
fn mills_series_minus_one(x: f64) -> f64 {
    let inv_x2 = 1.0 / (x * x);
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 1..=MILLS_TERMS {
        // term_k = -term_{k-1} (2k - 1) / x^2
        term *= -((2 * k - 1) as f64) * inv_x2;
        sum += term;
    }
    sum
}

/// Where [`polygamma`] switches from the recurrence to the asymptotic series.
const POLYGAMMA_SHIFT: f64 = 20.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_whole_agrees_with_fract_at_the_edges() {
        let two52 = 2f64.powi(52);
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            0.5,
            1.5,
            2.5,
            -3.0,
            -3.25,
            1e-300,
            f64::MIN_POSITIVE,
            two52 - 1.0,
            two52 - 0.5,
            two52,
            two52 + 1.0,
            2.0 * two52,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        // near every power of two, on both sides
        for e in -60..70 {
            let p = 2f64.powi(e);
            xs.extend([p, p.next_up(), p.next_down(), -p.next_up()]);
        }
        for x in xs {
            let reference = x.is_finite() && x.fract() == 0.0;
            assert_eq!(is_whole(x), reference, "{x:e}");
        }
    }

    #[test]
    fn lgamma_of_whole_numbers_from_the_table_is_the_function_itself() {
        // Except log 0! and log 1!, which are 0 exactly.
        for k in 3..=LGAMMA_TABLE_LEN + 2 {
            let x = k as f64;
            assert_eq!(lgamma(x).to_bits(), ln_gamma(x).to_bits(), "lgamma({x})");
        }
        assert_eq!((lgamma(1.0), lgamma(2.0)), (0.0, 0.0));
        // Neighbours of table entries are computed, not looked up.
        for x in [1.5, 2.000_000_000_000_000_4, 1023.999] {
            assert_eq!(lgamma(x).to_bits(), ln_gamma(x).to_bits(), "lgamma({x})");
        }
        assert!((lgamma(5.0) - 24f64.ln()).abs() < 1e-14);
        assert!(lgamma(0.0).is_nan() && lgamma(-3.0).is_nan());
    }

    #[test]
    fn trigamma_matches_known_values() {
        // psi'(1) = pi^2/6, psi'(1/2) = pi^2/2 (Abramowitz & Stegun 6.4.2, 6.4.4).
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((polygamma(1, 1.0) - pi2 / 6.0).abs() < 1e-14);
        assert!((polygamma(1, 0.5) - pi2 / 2.0).abs() < 1e-13);
        // psi''(1) = -2 zeta(3), zeta(3) = 1.2020569031595942.
        assert!((polygamma(2, 1.0) + 2.0 * 1.2020569031595942).abs() < 1e-13);
    }

    #[test]
    fn polygamma_is_derivative_of_lower_order() {
        // Central differences with h = 1e-5: truncation error ~ h^2 |psi'''|.
        for &x in &[0.3, 1.7, 4.0, 25.0, 300.0] {
            let h = 1e-5 * x;
            let d = (digamma(x + h) - digamma(x - h)) / (2.0 * h);
            assert!(
                (d - polygamma(1, x)).abs() < 1e-7 * polygamma(1, x).abs().max(1.0),
                "{x}"
            );
            let d2 = (polygamma(1, x + h) - polygamma(1, x - h)) / (2.0 * h);
            assert!(
                (d2 - polygamma(2, x)).abs() < 1e-6 * polygamma(2, x).abs().max(1.0),
                "{x}"
            );
        }
    }

    #[test]
    fn the_lgamma_gap_and_its_derivatives_match_50_digit_values() {
        // (x, g, g', g'') from mpmath at 50 digits, on both sides of the
        // switch to the series and far into it.
        let cases = [
            (
                0.05,
                0.990_982_208_163_609_3,
                -8.761_885_740_657_697,
                197.331_518_081_059_2,
            ),
            (
                0.5,
                0.225_791_352_644_727_43,
                -0.386_294_361_119_890_6,
                1.289_868_133_696_452_9,
            ),
            (
                2.5,
                0.049_681_055_850_051_38,
                -0.019_627_694_453_223_952,
                0.015_423_689_252_008_43,
            ),
            (
                39.5,
                0.003_164_472_468_386_819_4,
                -8.010_894_971_080_735e-5,
                4.055_824_574_605_970_3e-6,
            ),
            (
                40.0,
                0.003_124_918_635_043_224_4,
                -7.811_889_839_045_848e-5,
                3.905_639_934_286_817e-6,
            ),
            (
                1000.0,
                1.249_999_947_916_682_3e-4,
                -1.249_999_843_750_078e-7,
                2.499_999_375_000_468_7e-10,
            ),
            (
                5e6,
                2.499_999_999_999_995_8e-8,
                -4.999_999_999_999_975e-15,
                1.999_999_999_999_98e-21,
            ),
            (
                7e12,
                1.785_714_285_714_285_7e-14,
                -2.551_020_408_163_265_3e-27,
                7.288_629_737_609_346e-40,
            ),
        ];
        // Direct below x = 40: lgamma's and psi's rounding (about 1e-15
        // of lgamma(40.5) = 108 absolutely) against values of 3e-3 and
        // 8e-5 there; the series is good to a few ulps.
        for (x, g0, g1, g2) in cases {
            let tol = if x < GAP_SERIES_FROM { 2e-11 } else { 1e-14 };
            for (got, want, what) in [
                (lgamma_gap(x), g0, "g"),
                (digamma_gap(x), g1, "g'"),
                (trigamma_gap(x), g2, "g''"),
            ] {
                assert!(
                    (got - want).abs() <= tol * want.abs(),
                    "{what}({x}) = {got:e}, not {want:e}"
                );
            }
        }
        assert!(
            lgamma_gap(0.0).is_nan() && digamma_gap(-1.0).is_nan() && trigamma_gap(-2.0).is_nan()
        );
        // The direct formula where it cancels: 13 orders of magnitude off.
        let x: f64 = 5e6;
        let direct = lgamma(x) - lgamma(x + 0.5) + 0.5 * x.ln();
        assert!((direct - 2.5e-8).abs() > 1e-12);
    }

    #[test]
    fn the_stirling_remainder_and_its_derivatives_match_50_digit_values() {
        // (x, r, r', r'') from mpmath at 50 digits, on both sides of the
        // switch to the series and far into it.
        let cases = [
            (
                0.05,
                0.751_861_144_747_762_1,
                -7.502_112_717_745_879,
                181.532_357_342_115_1,
            ),
            (
                0.5,
                0.153_426_409_720_027_35,
                -0.270_362_845_461_478_17,
                0.934_802_200_544_679_3,
            ),
            (
                2.5,
                0.033_162_873_519_936_287,
                -0.013_134_091_228_911_878,
                0.010_357_756_100_234_865,
            ),
            (
                39.5,
                0.002_109_659_577_663_921_2,
                -5.340_682_194_386_619_3e-5,
                2.703_969_663_102_482_4e-6,
            ),
            (
                40.0,
                0.002_083_289_938_302_421_7,
                -5.208_007_909_317_694_2e-5,
                2.603_841_291_028_157_6e-6,
            ),
            (
                1000.0,
                8.333_333_055_555_635e-5,
                -8.333_332_500_000_397e-8,
                1.666_666_333_333_571_4e-10,
            ),
            (
                5e6,
                1.666_666_666_666_664_4e-8,
                -3.333_333_333_333_32e-15,
                1.333_333_333_333_322_7e-21,
            ),
            (
                7e12,
                1.190_476_190_476_190_5e-14,
                -1.700_680_272_108_843_5e-27,
                4.859_086_491_739_553e-40,
            ),
        ];
        // Direct below x = 40: lgamma's and psi's rounding (about 1e-14
        // absolutely at x = 40) against values of 2e-3 and 5e-5 there;
        // the series is good to a few ulps.
        for (x, r0, r1, r2) in cases {
            let tol = if x < GAP_SERIES_FROM { 5e-11 } else { 1e-14 };
            for (got, want, what) in [
                (lgamma_rem(x), r0, "r"),
                (digamma_rem(x), r1, "r'"),
                (trigamma_rem(x), r2, "r''"),
            ] {
                assert!(
                    (got - want).abs() <= tol * want.abs(),
                    "{what}({x}) = {got:e}, not {want:e}"
                );
            }
        }
        assert_eq!(lgamma_rem(0.0), f64::INFINITY);
        assert!(
            lgamma_rem(-1.0).is_nan() && digamma_rem(-1.0).is_nan() && trigamma_rem(0.0).is_nan()
        );
    }

    #[test]
    fn log1p_over_x_and_its_derivatives_match_50_digit_values() {
        // (x, m, m', m'') from mpmath at 50 digits, on both sides of the
        // switch to the series.
        let cases = [
            (
                -0.9,
                2.558_427_881_104_495_2,
                -8.268_413_465_439_45,
                92.736_858_965_690_11,
            ),
            (
                -0.3,
                1.188_916_479_795_774_6,
                -0.798_849_829_252_179_9,
                1.477_055_560_087_508,
            ),
            (
                -0.1,
                1.053_605_156_578_263,
                -0.575_059_545_328_481,
                0.844_488_105_776_059_3,
            ),
            (
                -1e-5,
                1.000_005_000_033_333_6,
                -0.500_006_666_741_667_5,
                0.666_681_666_906_67,
            ),
            (0.0, 1.0, -0.5, 0.666_666_666_666_666_7),
            (
                1e-9,
                0.999_999_999_5,
                -0.499_999_999_333_333_33,
                0.666_666_665_166_666_7,
            ),
            (
                0.05,
                0.975_803_283_388_640_1,
                -0.468_446_620_153_753_6,
                0.597_275_236_989_146_6,
            ),
            (
                0.5,
                0.810_930_216_216_328_8,
                -0.288_527_099_099_324_2,
                0.265_219_507_508_407_9,
            ),
            (
                3.0,
                0.462_098_120_373_296_87,
                -0.070_699_373_457_765_62,
                0.026_299_582_305_177_083,
            ),
            (
                1e5,
                1.151_293_546_492_022_9e-4,
                -1.051_294_546_482_023e-9,
                2.002_591_092_934_046_4e-14,
            ),
        ];
        // The series is good to an ulp or two; the closed forms lose up to
        // a factor of 10 (m') and 60 (m'') at |x| = 0.25, less beyond.
        for (x, m0, m1, m2) in cases {
            for (got, want, what, tol) in [
                (log1p_over_x(x), m0, "m", 4e-16),
                (d_log1p_over_x(x), m1, "m'", 4e-15),
                (d2_log1p_over_x(x), m2, "m''", 2e-14),
            ] {
                assert!(
                    (got - want).abs() <= tol * want.abs(),
                    "{what}({x}) = {got:e}, not {want:e}"
                );
            }
        }
        // Both sides of the switch agree.
        for f in [log1p_over_x, d_log1p_over_x, d2_log1p_over_x] {
            let (below, above) = (f(0.25 - 1e-15), f(0.25));
            assert!(
                (below - above).abs() <= 1e-13 * above.abs(),
                "{below} {above}"
            );
        }
        assert!(log1p_over_x(-2.0).is_nan());
    }

    #[test]
    fn softplus_and_logistic_are_stable_in_the_tails() {
        assert_eq!(softplus(800.0), 800.0);
        assert!((softplus(-800.0)).abs() < 1e-300);
        assert!((softplus(-40.0) - (-40.0_f64).exp()).abs() < 1e-30);
        assert_eq!(logistic(-800.0), 0.0);
        assert_eq!(logistic(800.0), 1.0);
    }
}
