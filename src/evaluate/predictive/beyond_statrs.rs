//! Where statrs falls short: forms that take over from its functions at
//! extreme arguments (where it is slow, wrong or never returns), the
//! bisection the quantiles fall back on, and a guard that turns a panic
//! inside statrs into "no value".

use rand::distr::Distribution;
use rand::Rng;
use statrs::distribution::{self as sd, Continuous, ContinuousCDF, DiscreteCDF};

thread_local! {
    /// How many [`guarded`] calls are running on this thread.
    static GUARD_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs a computation that calls statrs, turning a panic inside it into
/// `None` without printing it. statrs checks its arguments when a
/// distribution is made, yet some it accepts then fail an `unwrap` deep in
/// its special functions (a gamma rate of 1.7e308, a t with nu near 0):
/// [`RowDist::is_valid`] keeps out the ones found, this catches the rest.
/// The process's panic hook stays silent while a guarded call runs on the
/// same thread and reports every other panic as before.
pub(super) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARD_DEPTH.with(|d| d.get()) == 0 {
                previous(info);
            }
        }));
    });
    GUARD_DEPTH.with(|d| d.set(d.get() + 1));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARD_DEPTH.with(|d| d.set(d.get() - 1));
    result.ok()
}

/// A quantile's bisection (a continuous mixture's, a small gamma
/// quantile's) stops when the bracket is this narrow relative to its ends:
/// 1e-12 is a few thousand ulps, far below any use of an interval bound,
/// and reached in about 40 halvings from a bracket of component quantiles.
pub(super) const BISECT_REL_TOL: f64 = 1e-12;

/// Halvings at most (a bracket of 1e300 shrinks below 1e-12 in ~1040).
const BISECT_MAX_STEPS: usize = 2000;

/// The q-quantile of a continuous CDF between `lo` and `hi` (F(lo) <= q
/// <= F(hi)) by bisection, to `rel_tol` of its size, or to adjacent
/// doubles.
pub(super) fn bisect_quantile(
    cdf: impl Fn(f64) -> f64,
    mut lo: f64,
    mut hi: f64,
    q: f64,
    rel_tol: f64,
) -> f64 {
    for _ in 0..BISECT_MAX_STEPS {
        let scale = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
        let mid = 0.5 * (lo + hi);
        if hi - lo <= rel_tol * scale || mid <= lo || mid >= hi {
            break;
        }
        if cdf(mid) >= q {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Above this many degrees of freedom a Student-t's CDF and quantiles come
/// from the normal ones with the first terms of their expansion in 1/nu:
/// statrs inverts the t CDF through an incomplete beta function whose
/// iteration did not end (nu = 1.8e11, a fit of normal data whose nu grows
/// without bound). Against scipy at nu = 1e5, over |x| <= 8 and q from
/// 1e-7 to 1 - 1e-4, the CDF below is within 2.3e-11 and the quantile
/// within 2e-13 relative; both errors shrink as 1/nu^2 and 1/nu^3.
pub(super) const T_EXPANSION_FROM: f64 = 1e5;

/// The standard normal distribution.
pub(super) fn std_normal() -> sd::Normal {
    sd::Normal::standard()
}

/// F(x) of a t with nu degrees of freedom, nu >= [`T_EXPANSION_FROM`]:
/// Phi(x) - phi(x) (x^3 + x) / (4 nu).
pub(super) fn t_cdf_large_nu(x: f64, nu: f64) -> f64 {
    let n = std_normal();
    n.cdf(x) - n.pdf(x) * (x * x * x + x) / (4.0 * nu)
}

/// The q-quantile of a t with nu >= [`T_EXPANSION_FROM`] (Cornish-Fisher):
/// z + (z^3 + z) / (4 nu) + (5 z^5 + 16 z^3 + 3 z) / (96 nu^2), z = Phi^-1(q).
pub(super) fn t_quantile_large_nu(q: f64, nu: f64) -> f64 {
    let z = std_normal().inverse_cdf(q);
    let z2 = z * z;
    z + (z2 + 1.0) * z / (4.0 * nu) + ((5.0 * z2 + 16.0) * z2 + 3.0) * z / (96.0 * nu * nu)
}

/// Below this many degrees of freedom statrs' t quantiles are wrong (at
/// nu = 0.1 the 95% point came out 9.7e7 against 1.64e9, at 0.01 1.2e8
/// against 5e98; at 0.3 they are right): no interval there.
pub(super) const T_STATRS_QUANTILE_FROM: f64 = 0.3;

/// Above this, statrs' beta CDF is off (by 3e-6 at a = b = 1e9, by 0.25 at
/// (2, 1e15)) and its inverse slow or endless (Beta(9e6, 3) did not
/// return): no PIT and no interval for such a beta.
pub(super) const BETA_STATRS_UP_TO: f64 = 1e6;

/// Below this, a quantile statrs inverts with an absolute tolerance (near
/// 1e-9 for the gamma, 1e-16 for the beta) is found again by bisection on
/// the CDF, which statrs computes to a relative error near the point.
const SMALL_QUANTILE: f64 = 1e-6;

/// `x`, statrs' q-quantile of a distribution on x >= 0 with CDF `cdf`, or
/// where it is below [`SMALL_QUANTILE`] the quantile to 1e-12 relative by
/// bisection from [0, 2 SMALL_QUANTILE] (widened while the CDF there is
/// still below q).
fn refine_small_quantile(cdf: impl Fn(f64) -> f64, x: f64, q: f64) -> f64 {
    if !(x < SMALL_QUANTILE) {
        return x;
    }
    let mut hi = 2.0 * SMALL_QUANTILE;
    while cdf(hi) < q && hi < 1e300 {
        hi *= 2.0;
    }
    bisect_quantile(cdf, 0.0, hi, q, BISECT_REL_TOL)
}

/// The q-quantile of Gamma(k, rate 1), k up to [`LARGE_SHAPE`]: statrs',
/// refined where small (a small shape's low quantiles: Gamma(0.1) has its
/// 2.5% point at 6e-17).
pub(super) fn gamma_quantile(q: f64, k: f64) -> Option<f64> {
    let d = sd::Gamma::new(k, 1.0).ok()?;
    Some(refine_small_quantile(|x| d.cdf(x), d.inverse_cdf(q), q))
}

/// The q-quantile of Beta(a, b), a and b up to [`BETA_STATRS_UP_TO`]:
/// statrs', refined where small (Beta(0.08, 5.6) has its 2.5% point at
/// 2.6e-21, where statrs answered 8.5e-18, the 4.8% point).
pub(super) fn beta_quantile(q: f64, a: f64, b: f64) -> Option<f64> {
    let d = sd::Beta::new(a, b).ok()?;
    Some(refine_small_quantile(|x| d.cdf(x), d.inverse_cdf(q), q))
}

/// Above this shape statrs's gamma functions are slow or do not end (a
/// gamma of shape 1e15 took 0.4 s per quantile, one of 2e17 did not return
/// a CDF far below its mean); the Wilson-Hilferty approximation below
/// takes over.
pub(super) const LARGE_SHAPE: f64 = 1e7;

/// The CDF of Gamma(k, rate 1) for k > [`LARGE_SHAPE`] (Wilson-Hilferty:
/// (X / k)^(1/3) is nearly normal with mean 1 - 1/(9k) and variance
/// 1/(9k)): Phi(((x / k)^(1/3) - 1 + 1/(9k)) / sqrt(1/(9k))). Against
/// scipy's regularised incomplete gamma, within |x - k| <= 9 sqrt(k), its
/// error was 5.1e-7, 5.1e-8 and 5.1e-9 at k = 1e4, 1e5 and 1e6, falling
/// as 1/k; at k = 1.5e7 it is within 3e-10 of 40-digit values (where
/// scipy's and statrs' own CDFs are off by 1e-8).
pub(super) fn gamma_cdf_large_shape(x: f64, k: f64) -> f64 {
    let c = 1.0 / (9.0 * k);
    std_normal().cdf(((x / k).cbrt() - 1.0 + c) / c.sqrt())
}

/// The q-quantile of Gamma(k, rate 1) for k > [`LARGE_SHAPE`], inverting
/// the same approximation: k (1 - 1/(9k) + z sqrt(1/(9k)))^3, z = Phi^-1(q)
/// (2e-9 relative at k = 1e6 against scipy, q from 1e-9 to 1 - 1e-9).
pub(super) fn gamma_quantile_large_shape(q: f64, k: f64) -> f64 {
    let c = 1.0 / (9.0 * k);
    k * (1.0 - c + std_normal().inverse_cdf(q) * c.sqrt()).powi(3)
}

/// Above this mean a Poisson draw is the normal one with the same mean and
/// variance, rounded: statrs' sampler drew with a variance 0.96 and 1.15
/// times the mean at 1e14 and 1e15, while the normal differs from the
/// Poisson by its skewness, 1/sqrt(mean) = 3e-5 here and less beyond.
pub(super) const LARGE_COUNT_MEAN: f64 = 1e9;

/// P(X <= k) for X ~ Poisson(rate), k >= 0 whole. Above a rate of
/// [`LARGE_SHAPE`] it is the upper tail of a gamma, P(X <= k) =
/// 1 - P(Gamma(k + 1, 1) <= rate), by the Wilson-Hilferty form (k + 1 is
/// then large wherever the probability is not 0 or 1 to rounding): statrs'
/// CDF took a second per quantile at a rate of 1e12 and was off by a
/// thousand counts there.
pub(super) fn poisson_cdf(k: f64, rate: f64) -> f64 {
    if rate > LARGE_SHAPE {
        return 1.0 - gamma_cdf_large_shape(rate, k + 1.0);
    }
    sd::Poisson::new(rate).map_or(f64::NAN, |d| d.cdf(k as u64))
}

/// One Poisson(rate) draw (NaN for an invalid rate).
pub(super) fn poisson_draw<R: Rng + ?Sized>(rate: f64, rng: &mut R) -> f64 {
    if rate > LARGE_COUNT_MEAN && rate.is_finite() {
        let z: f64 = std_normal().sample(rng);
        return (rate + rate.sqrt() * z).round().max(0.0);
    }
    sd::Poisson::new(rate).map_or(f64::NAN, |d| d.sample(rng))
}

/// P(X <= k) for X ~ NegBinomial(mean mu, size phi) with mu above
/// [`LARGE_COUNT_MEAN`], as the gamma with the same mean and variance
/// (mu + mu^2 / phi) at k + 1/2: shape phi mu / (phi + mu), rate shape /
/// mu. statrs' CDF, an incomplete beta whose second argument is k + 1,
/// drifted from mu = 1e12 (its 97.5% point 6.8e-4 too high there, below
/// the mean at 5.8e14). The negative binomial is a Poisson count around a
/// gamma rate; the gamma matches its first two moments and its skewness
/// to O(1 / sqrt(mu)) whichever of the two spreads dominates: at mu = 1e12
/// and 2e14, with phi = 2 and phi = mu, the 2.5%, 50% and 97.5% points were
/// within 1e-9 relative of scipy's (a count or two).
pub(super) fn nb_cdf_large_mean(k: f64, mu: f64, phi: f64) -> f64 {
    let shape = phi * mu / (phi + mu);
    let y = k + 0.5;
    if shape > LARGE_SHAPE {
        gamma_cdf_large_shape(y * shape / mu, shape)
    } else {
        sd::Gamma::new(shape, shape / mu).map_or(f64::NAN, |g| g.cdf(y))
    }
}

/// Whether NegBinomial(mu, phi) is taken as its limit Poisson(mu): for
/// phi above 1e6 max(mu, 1). statrs' negative binomial goes wrong as phi
/// grows (at mu = 3 its CDF put all mass at 0 from phi = 1e17, and its
/// sampler drew only zeros), while the two distributions differ by at most
/// about mu / phi in total variation (the variance ratio is 1 + mu/phi),
/// 1e-6 here: below the accuracy of statrs' own CDF at mu = 1e6,
/// phi = 1e12, and far below what a quantile or a draw can show.
pub(super) fn is_poisson_limit(mu: f64, phi: f64) -> bool {
    phi > NB_POISSON_LIMIT * mu.max(1.0)
}

pub(super) const NB_POISSON_LIMIT: f64 = 1e6;
