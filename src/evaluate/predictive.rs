//! The fitted distribution of one observation: its mean, CDF, quantiles and
//! draws, for the families that have them.
//!
//! Each [`RowDist`] is built from a row's distribution arguments as the
//! compiler evaluates them (the `args` of a lowered statement). statrs 0.19
//! supplies CDFs, inverse CDFs and samplers; the few it lacks or
//! parameterises differently (Logistic, Geometric counted as failures,
//! NegBinomial by mean and size) are written here with their formulas.

use rand::distr::Distribution;
use rand::Rng;
use statrs::distribution::{self as sd, ContinuousCDF, DiscreteCDF};

pub use crate::graph::func::logistic;

mod beyond_statrs;

use beyond_statrs::{
    beta_quantile, bisect_quantile, gamma_cdf_large_shape, gamma_quantile,
    gamma_quantile_large_shape, guarded, is_poisson_limit, nb_cdf_large_mean, poisson_cdf,
    poisson_draw, std_normal, t_cdf_large_nu, t_quantile_large_nu, BETA_STATRS_UP_TO,
    BISECT_REL_TOL, LARGE_COUNT_MEAN, LARGE_SHAPE, T_EXPANSION_FROM, T_STATRS_QUANTILE_FROM,
};

/// The predictive distribution of one row. Arguments are on the natural
/// scale, as in the model's distribution statement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowDist {
    Normal {
        mu: f64,
        sigma: f64,
    },
    Laplace {
        mu: f64,
        b: f64,
    },
    StudentT {
        nu: f64,
        mu: f64,
        sigma: f64,
    },
    Cauchy {
        mu: f64,
        sigma: f64,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Logistic {
        mu: f64,
        s: f64,
    },
    Exponential {
        rate: f64,
    },
    Gamma {
        shape: f64,
        rate: f64,
    },
    Weibull {
        shape: f64,
        scale: f64,
    },
    Beta {
        a: f64,
        b: f64,
    },
    Poisson {
        rate: f64,
    },
    NegBinomial {
        mu: f64,
        phi: f64,
    },
    Binomial {
        n: f64,
        p: f64,
    },
    /// Failures before the first success, on 0, 1, 2, ...
    Geometric {
        p: f64,
    },
    /// All mass at one integer: the extra zeros of `ZeroInflated`.
    PointMass {
        at: f64,
    },
}

/// A row's predictive distribution: one family, or a finite mixture of
/// families (all continuous or all discrete, as the checker requires).
#[derive(Debug, Clone, PartialEq)]
pub enum Predictive {
    One(RowDist),
    /// (weight, component) pairs; the weights sum to 1.
    Mixture(Vec<(f64, RowDist)>),
}

/// A count's CDF is searched up to this value at most; a quantile beyond it
/// (a Poisson rate near 1e15) is reported as not available.
const MAX_COUNT_SEARCH: f64 = 1e15;

impl RowDist {
    /// The family's distribution for arguments `a` (in the family's order),
    /// or `None` for a family without quantiles here (the compound ones).
    pub fn from_family(family: &str, a: &[f64]) -> Option<RowDist> {
        use RowDist::*;
        Some(match family {
            "Normal" => Normal {
                mu: a[0],
                sigma: a[1],
            },
            "Laplace" => Laplace { mu: a[0], b: a[1] },
            "StudentT" => StudentT {
                nu: a[0],
                mu: a[1],
                sigma: a[2],
            },
            "Cauchy" => Cauchy {
                mu: a[0],
                sigma: a[1],
            },
            "LogNormal" => LogNormal {
                mu: a[0],
                sigma: a[1],
            },
            "Logistic" => Logistic { mu: a[0], s: a[1] },
            "Exponential" => Exponential { rate: a[0] },
            "Gamma" => Gamma {
                shape: a[0],
                rate: a[1],
            },
            "Weibull" => Weibull {
                shape: a[0],
                scale: a[1],
            },
            "Beta" => Beta { a: a[0], b: a[1] },
            "Poisson" => Poisson { rate: a[0] },
            "NegBinomial" => NegBinomial {
                mu: a[0],
                phi: a[1],
            },
            "Binomial" => Binomial { n: a[0], p: a[1] },
            // p = logistic(eta), written so it does not overflow.
            "BinomialLogit" => Binomial {
                n: a[0],
                p: logistic(a[1]),
            },
            "Geometric" => Geometric { p: a[0] },
            _ => return None,
        })
    }

    /// Whether the arguments define a distribution: finite, scales and
    /// shapes positive, probabilities in range. statrs accepts some that
    /// do not (an infinite gamma shape, a negative binomial size of 0) and
    /// then panics in its CDFs; no method of a row with invalid arguments
    /// calls it.
    fn is_valid(&self) -> bool {
        use RowDist::*;
        // Subnormal scales and shapes (below 2.2e-308) made statrs panic or
        // loop: they count as 0.
        let pos = |v: f64| v >= f64::MIN_POSITIVE && v.is_finite();
        let real = |v: f64| v.is_finite();
        match *self {
            Normal { mu, sigma } | Cauchy { mu, sigma } | LogNormal { mu, sigma } => {
                real(mu) && pos(sigma)
            }
            Laplace { mu, b } => real(mu) && pos(b),
            Logistic { mu, s } => real(mu) && pos(s),
            StudentT { nu, mu, sigma } => pos(nu) && real(mu) && pos(sigma),
            Exponential { rate } => pos(rate),
            Gamma { shape, rate } => pos(shape) && pos(rate),
            Weibull { shape, scale } => pos(shape) && pos(scale),
            Beta { a, b } => pos(a) && pos(b),
            Poisson { rate } => rate >= 0.0 && real(rate),
            NegBinomial { mu, phi } => mu >= 0.0 && real(mu) && pos(phi),
            Binomial { n, p } => n >= 0.0 && real(n) && (0.0..=1.0).contains(&p),
            Geometric { p } => p >= f64::MIN_POSITIVE && p <= 1.0,
            PointMass { at } => real(at),
        }
    }

    /// P(Y <= y), NaN for invalid arguments (or where statrs fails).
    pub fn cdf(&self, y: f64) -> f64 {
        guarded(|| self.cdf_unguarded(y)).unwrap_or(f64::NAN)
    }

    /// The q-quantile, `q` in (0, 1): for a count the smallest k with
    /// F(k) >= q. `None` where the arguments are invalid or no quantile
    /// can be computed.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        guarded(|| self.quantile_unguarded(q)).flatten()
    }

    /// One draw, NaN for invalid arguments.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        guarded(|| self.sample_unguarded(rng)).unwrap_or(f64::NAN)
    }

    /// True for families on the integers.
    pub fn is_discrete(&self) -> bool {
        matches!(
            self,
            RowDist::Poisson { .. }
                | RowDist::NegBinomial { .. }
                | RowDist::Binomial { .. }
                | RowDist::Geometric { .. }
                | RowDist::PointMass { .. }
        )
    }

    /// The mean, or `None` where it does not exist (Cauchy; Student-t with
    /// nu <= 1) or the arguments are invalid.
    pub fn mean(&self) -> Option<f64> {
        use RowDist::*;
        if !self.is_valid() {
            return None;
        }
        let m = match *self {
            Normal { mu, .. } | Laplace { mu, .. } | Logistic { mu, .. } => mu,
            StudentT { nu, mu, .. } if nu > 1.0 => mu,
            StudentT { .. } | Cauchy { .. } => return None,
            // E[y] = exp(mu + sigma^2 / 2).
            LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
            Exponential { rate } => 1.0 / rate,
            Gamma { shape, rate } => shape / rate,
            // E[y] = lambda Gamma(1 + 1/k).
            Weibull { shape, scale } => scale * statrs::function::gamma::gamma(1.0 + 1.0 / shape),
            Beta { a, b } => a / (a + b),
            Poisson { rate } => rate,
            NegBinomial { mu, .. } => mu,
            Binomial { n, p } => n * p,
            // Failures before the first success: (1 - p) / p.
            Geometric { p } => (1.0 - p) / p,
            PointMass { at } => at,
        };
        m.is_finite().then_some(m)
    }

    /// P(Y <= y), NaN for invalid arguments.
    fn cdf_unguarded(&self, y: f64) -> f64 {
        use RowDist::*;
        let nan = f64::NAN;
        if !self.is_valid() {
            return nan;
        }
        match *self {
            Normal { mu, sigma } => sd::Normal::new(mu, sigma).map_or(nan, |d| d.cdf(y)),
            Laplace { mu, b } => sd::Laplace::new(mu, b).map_or(nan, |d| d.cdf(y)),
            StudentT { nu, mu, sigma } if nu >= T_EXPANSION_FROM => {
                t_cdf_large_nu((y - mu) / sigma, nu)
            }
            StudentT { nu, mu, sigma } => {
                sd::StudentsT::new(mu, sigma, nu).map_or(nan, |d| d.cdf(y))
            }
            Cauchy { mu, sigma } => sd::Cauchy::new(mu, sigma).map_or(nan, |d| d.cdf(y)),
            LogNormal { mu, sigma } => sd::LogNormal::new(mu, sigma).map_or(nan, |d| d.cdf(y)),
            // F(y) = logistic((y - mu) / s).
            Logistic { mu, s } if s > 0.0 => logistic((y - mu) / s),
            Logistic { .. } => nan,
            Exponential { rate } => sd::Exp::new(rate).map_or(nan, |d| d.cdf(y)),
            Gamma { shape, rate } if shape > LARGE_SHAPE => gamma_cdf_large_shape(y * rate, shape),
            // On the rate-1 scale, where statrs' tolerances are meant for.
            Gamma { shape, rate } => sd::Gamma::new(shape, 1.0).map_or(nan, |d| d.cdf(y * rate)),
            Weibull { shape, scale } => sd::Weibull::new(shape, scale).map_or(nan, |d| d.cdf(y)),
            Beta { a, b } if a.max(b) > BETA_STATRS_UP_TO => nan,
            Beta { a, b } => sd::Beta::new(a, b).map_or(nan, |d| d.cdf(y)),
            _ => self.count_cdf(y.floor()),
        }
    }

    /// P(Y < y): equal to the CDF for continuous families, and to
    /// P(Y <= y - 1) for counts at an integer y.
    pub fn cdf_below(&self, y: f64) -> f64 {
        guarded(|| self.cdf_below_unguarded(y)).unwrap_or(f64::NAN)
    }

    fn cdf_below_unguarded(&self, y: f64) -> f64 {
        if self.is_discrete() {
            self.count_cdf(y.ceil() - 1.0)
        } else {
            self.cdf(y)
        }
    }

    /// The CDF of a count family at an integer k (0 below the support).
    fn count_cdf(&self, k: f64) -> f64 {
        use RowDist::*;
        let nan = f64::NAN;
        if !self.is_valid() {
            return nan;
        }
        if k < 0.0 {
            return 0.0;
        }
        let k_u = k as u64;
        match *self {
            Poisson { rate } => poisson_cdf(k, rate),
            NegBinomial { mu, phi } if is_poisson_limit(mu, phi) => poisson_cdf(k, mu),
            NegBinomial { mu, phi } if mu > LARGE_COUNT_MEAN => nb_cdf_large_mean(k, mu, phi),
            // Mean mu and size phi is statrs' NegativeBinomial(r = phi,
            // p = phi / (phi + mu)), which counts failures with mean
            // r (1 - p) / p = mu.
            NegBinomial { mu, phi } => {
                sd::NegativeBinomial::new(phi, phi / (phi + mu)).map_or(nan, |d| d.cdf(k_u))
            }
            Binomial { n, p } if n >= 0.0 && n.fract() == 0.0 => {
                sd::Binomial::new(p, n as u64).map_or(nan, |d| d.cdf(k_u))
            }
            // F(k) = 1 - (1 - p)^(k + 1) for failures before a success,
            // as -expm1((k + 1) log1p(-p)) to keep small p accurate.
            Geometric { p } if p > 0.0 && p <= 1.0 => -((k + 1.0) * (-p).ln_1p()).exp_m1(),
            PointMass { at } => f64::from(u8::from(k >= at)),
            _ => nan,
        }
    }

    /// The q-quantile, `q` in (0, 1): for a count the smallest k with
    /// F(k) >= q. `None` where the arguments are invalid.
    fn quantile_unguarded(&self, q: f64) -> Option<f64> {
        use RowDist::*;
        if !(q > 0.0 && q < 1.0 && self.is_valid()) {
            return None;
        }
        let x = match *self {
            Normal { mu, sigma } => sd::Normal::new(mu, sigma).ok()?.inverse_cdf(q),
            Laplace { mu, b } => sd::Laplace::new(mu, b).ok()?.inverse_cdf(q),
            StudentT { nu, mu, sigma } if nu >= T_EXPANSION_FROM => {
                mu + sigma * t_quantile_large_nu(q, nu)
            }
            StudentT { nu, .. } if nu < T_STATRS_QUANTILE_FROM => return None,
            StudentT { nu, mu, sigma } => sd::StudentsT::new(mu, sigma, nu).ok()?.inverse_cdf(q),
            Cauchy { mu, sigma } => sd::Cauchy::new(mu, sigma).ok()?.inverse_cdf(q),
            LogNormal { mu, sigma } => sd::LogNormal::new(mu, sigma).ok()?.inverse_cdf(q),
            // F^-1(q) = mu + s log(q / (1 - q)).
            Logistic { mu, s } if s > 0.0 => mu + s * (q / (1.0 - q)).ln(),
            Logistic { .. } => return None,
            Exponential { rate } => sd::Exp::new(rate).ok()?.inverse_cdf(q),
            Gamma { shape, rate } if shape > LARGE_SHAPE => {
                gamma_quantile_large_shape(q, shape) / rate
            }
            Gamma { shape, rate } => gamma_quantile(q, shape)? / rate,
            Weibull { shape, scale } => sd::Weibull::new(shape, scale).ok()?.inverse_cdf(q),
            Beta { a, b } if a.max(b) > BETA_STATRS_UP_TO => return None,
            Beta { a, b } => beta_quantile(q, a, b)?,
            _ => return self.count_quantile(q),
        };
        x.is_finite().then_some(x)
    }

    fn count_quantile(&self, q: f64) -> Option<f64> {
        match *self {
            // (1 - p)^(k + 1) <= 1 - q first holds at
            // k = ceil(log1p(-q) / log1p(-p)) - 1: no search, which for
            // p = 4e-16 would have to reach 1e15 and beyond. The rounding
            // of that ratio is corrected by a step either way where the
            // CDF can tell.
            RowDist::Geometric { p } if p < 1.0 => {
                let mut k = ((-q).ln_1p() / (-p).ln_1p()).ceil().max(1.0) - 1.0;
                if k > 0.0 && self.count_cdf(k - 1.0) >= q {
                    k -= 1.0;
                }
                if self.count_cdf(k) < q {
                    k += 1.0;
                }
                k.is_finite().then_some(k)
            }
            _ => integer_quantile(|k| self.count_cdf(k), q),
        }
    }

    /// One draw, NaN for invalid arguments.
    fn sample_unguarded<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        use RowDist::*;
        let nan = f64::NAN;
        if !self.is_valid() {
            return nan;
        }
        match *self {
            Normal { mu, sigma } => sd::Normal::new(mu, sigma).map_or(nan, |d| d.sample(rng)),
            Laplace { mu, b } => sd::Laplace::new(mu, b).map_or(nan, |d| d.sample(rng)),
            // t = Z / sqrt(V / nu) with V / nu ~ Gamma(nu / 2, rate nu / 2),
            // drawn by statrs' gamma sampler in constant time.
            StudentT { nu, mu, sigma } if nu >= T_EXPANSION_FROM => {
                let z: f64 = std_normal().sample(rng);
                sd::Gamma::new(0.5 * nu, 0.5 * nu)
                    .map_or(nan, |g| mu + sigma * z / g.sample(rng).sqrt())
            }
            StudentT { nu, mu, sigma } => {
                sd::StudentsT::new(mu, sigma, nu).map_or(nan, |d| d.sample(rng))
            }
            Cauchy { mu, sigma } => sd::Cauchy::new(mu, sigma).map_or(nan, |d| d.sample(rng)),
            LogNormal { mu, sigma } => sd::LogNormal::new(mu, sigma).map_or(nan, |d| d.sample(rng)),
            Exponential { rate } => sd::Exp::new(rate).map_or(nan, |d| d.sample(rng)),
            Gamma { shape, rate } => sd::Gamma::new(shape, rate).map_or(nan, |d| d.sample(rng)),
            Weibull { shape, scale } => {
                sd::Weibull::new(shape, scale).map_or(nan, |d| d.sample(rng))
            }
            Beta { a, b } => sd::Beta::new(a, b).map_or(nan, |d| d.sample(rng)),
            Poisson { rate } => poisson_draw(rate, rng),
            NegBinomial { mu, phi } if is_poisson_limit(mu, phi) => poisson_draw(mu, rng),
            // A gamma-distributed rate with mean mu and shape phi, then a
            // Poisson count: statrs' sampler returns a u64, which saturated
            // at 2^64 for mu = 1e20.
            NegBinomial { mu, phi } if mu > LARGE_COUNT_MEAN => {
                sd::Gamma::new(phi, phi / mu).map_or(nan, |g| poisson_draw(g.sample(rng), rng))
            }
            NegBinomial { mu, phi } => {
                sd::NegativeBinomial::new(phi, phi / (phi + mu)).map_or(nan, |d| {
                    let k: u64 = d.sample(rng);
                    k as f64
                })
            }
            Binomial { n, p } if n >= 0.0 && n.fract() == 0.0 => {
                sd::Binomial::new(p, n as u64).map_or(nan, |d| d.sample(rng))
            }
            PointMass { at } => at,
            // Inversion of the CDF for the families statrs lacks here.
            Logistic { .. } | Geometric { .. } | Binomial { .. } => {
                let u: f64 = open_unit(rng);
                self.quantile(u).unwrap_or(nan)
            }
        }
    }
}

/// Smallest integer k >= 0 with cdf(k) >= q: doubling to bracket it, then
/// bisection on the integers. `None` where the CDF is not finite or the
/// quantile lies beyond [`MAX_COUNT_SEARCH`].
fn integer_quantile(cdf: impl Fn(f64) -> f64, q: f64) -> Option<f64> {
    let at_zero = cdf(0.0);
    if !at_zero.is_finite() {
        return None;
    }
    if at_zero >= q {
        return Some(0.0);
    }
    let mut hi = 1.0;
    loop {
        let at_hi = cdf(hi);
        if at_hi.is_nan() || (at_hi < q && hi >= MAX_COUNT_SEARCH) {
            return None;
        }
        if at_hi >= q {
            break;
        }
        hi = (2.0 * hi).min(MAX_COUNT_SEARCH);
    }
    // Invariant: F(lo) < q <= F(hi).
    let mut lo = 0.0;
    while hi - lo > 1.0 {
        let mid = ((lo + hi) / 2.0_f64).floor();
        if cdf(mid) >= q {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

impl Predictive {
    /// True when every component is discrete.
    pub fn is_discrete(&self) -> bool {
        match self {
            Predictive::One(d) => d.is_discrete(),
            Predictive::Mixture(c) => c.iter().all(|(_, d)| d.is_discrete()),
        }
    }

    /// The mean: for a mixture sum_k w_k mean_k, `None` if a component with
    /// positive weight has none.
    pub fn mean(&self) -> Option<f64> {
        match self {
            Predictive::One(d) => d.mean(),
            Predictive::Mixture(c) => c
                .iter()
                .filter(|(w, _)| *w > 0.0)
                .map(|(w, d)| Some(w * d.mean()?))
                .sum(),
        }
    }

    /// P(Y <= y): for a mixture sum_k w_k F_k(y).
    pub fn cdf(&self, y: f64) -> f64 {
        match self {
            Predictive::One(d) => d.cdf(y),
            Predictive::Mixture(c) => c.iter().map(|(w, d)| w * d.cdf(y)).sum(),
        }
    }

    /// P(Y < y): for a mixture sum_k w_k P_k(Y < y).
    pub fn cdf_below(&self, y: f64) -> f64 {
        match self {
            Predictive::One(d) => d.cdf_below(y),
            Predictive::Mixture(c) => c.iter().map(|(w, d)| w * d.cdf_below(y)).sum(),
        }
    }

    /// The q-quantile, `q` in (0, 1). A continuous mixture's quantile lies
    /// between its components' smallest and largest q-quantile (there every
    /// F_k is at most, respectively at least, q), and is found by bisection
    /// on that bracket; a discrete one by the integer search of counts.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let comps = match self {
            Predictive::One(d) => return d.quantile(q),
            Predictive::Mixture(c) => c,
        };
        if !(q > 0.0 && q < 1.0) {
            return None;
        }
        if self.is_discrete() {
            return integer_quantile(|k| self.cdf(k), q);
        }
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for (_, d) in comps.iter().filter(|(w, _)| *w > 0.0) {
            let x = d.quantile(q)?;
            lo = lo.min(x);
            hi = hi.max(x);
        }
        if !(lo.is_finite() && hi.is_finite()) {
            return None;
        }
        Some(bisect_quantile(|x| self.cdf(x), lo, hi, q, BISECT_REL_TOL))
    }

    /// One draw: a component chosen by its weight, then a draw from it.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Predictive::One(d) => d.sample(rng),
            Predictive::Mixture(c) => {
                let u = open_unit(rng);
                let mut acc = 0.0;
                for (w, d) in c {
                    acc += w;
                    if u <= acc {
                        return d.sample(rng);
                    }
                }
                // Rounding left the weights' sum just below u.
                c.last().map_or(f64::NAN, |(_, d)| d.sample(rng))
            }
        }
    }
}

/// A uniform draw strictly inside (0, 1).
pub fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    loop {
        let u: f64 = rand::RngExt::random(rng);
        if u > 0.0 {
            return u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Quantiles invert the CDF to 1e-8 on the probability scale. statrs
    /// 0.19's closed forms do far better, but its iterative inverses stop
    /// earlier: Gamma(5.6154, 10.2807) at q = 0.19328 was measured 1.1e-9
    /// off, and its erfc (behind the normal family) is good to ~1e-10.
    const QUANTILE_TOL: f64 = 1e-8;

    #[test]
    fn invalid_arguments_give_nothing_instead_of_a_panic() {
        // statrs accepts these and then panics in its CDFs.
        let rng = &mut StdRng::seed_from_u64(1);
        for d in [
            RowDist::Gamma {
                shape: f64::INFINITY,
                rate: 1.0,
            },
            RowDist::Gamma {
                shape: 2.0,
                rate: f64::INFINITY,
            },
            RowDist::Poisson {
                rate: f64::INFINITY,
            },
            RowDist::NegBinomial { mu: 3.0, phi: 0.0 },
            RowDist::Beta {
                a: f64::INFINITY,
                b: 2.0,
            },
            RowDist::StudentT {
                nu: f64::INFINITY,
                mu: 0.0,
                sigma: 1.0,
            },
            // Subnormal shapes made statrs panic or loop.
            RowDist::StudentT {
                nu: 5e-324,
                mu: 0.0,
                sigma: 1.0,
            },
            RowDist::Beta { a: 1e-310, b: 0.5 },
            RowDist::Gamma {
                shape: 2.0,
                rate: 5e-324,
            },
            RowDist::Geometric { p: 1e-310 },
        ] {
            assert!(d.cdf(1.0).is_nan(), "{d:?}");
            assert_eq!(d.quantile(0.5), None, "{d:?}");
            assert!(d.sample(rng).is_nan(), "{d:?}");
            assert_eq!(d.mean(), None, "{d:?}");
        }
        // Valid, yet statrs fails an unwrap inside (a gamma rate of
        // 1.7e308): no panic escapes, whatever comes out.
        let d = RowDist::Gamma {
            shape: 2.0,
            rate: 1.7e308,
        };
        let _ = (d.cdf(1.0), d.quantile(0.5), d.sample(rng));
    }

    #[test]
    fn student_t_with_huge_nu_uses_its_expansion() {
        // scipy.stats.t at nu = 1e5: cdf(1.3) = 0.90319801722841,
        // cdf(-4.2) = 1.3357289014839893e-05, ppf(0.975) =
        // 1.9599877075346095, ppf(1e-6) = -4.753704716391288. The
        // expansion is within 2.3e-11 (CDF) and 2e-13 (relative,
        // quantile) there; the tolerances leave room for rounding.
        let t = RowDist::StudentT {
            nu: 1e5,
            mu: 0.0,
            sigma: 1.0,
        };
        assert!((t.cdf(1.3) - 0.90319801722841).abs() < 5e-11);
        assert!((t.cdf(-4.2) - 1.3357289014839893e-05).abs() < 5e-11);
        let q = t.quantile(0.975).unwrap();
        assert!((q / 1.9599877075346095 - 1.0).abs() < 1e-12, "{q}");
        let q = t.quantile(1e-6).unwrap();
        assert!((q / -4.753704716391288 - 1.0).abs() < 1e-12, "{q}");
        // nu = 1.8e11 (a fit whose nu grew without bound): statrs' inverse
        // CDF did not return. Now the normal values, location and scale
        // applied: Phi^-1(0.975) = 1.959963984540054.
        let t = RowDist::StudentT {
            nu: 1.8e11,
            mu: 0.5,
            sigma: 2.0,
        };
        let q = t.quantile(0.975).unwrap();
        // (statrs' normal quantile, under it, differs from scipy's by 1e-11.)
        assert!((q - (0.5 + 2.0 * 1.959963984540054)).abs() < 1e-10, "{q}");
        let rng = &mut StdRng::seed_from_u64(2);
        let draws: Vec<f64> = (0..2000).map(|_| t.sample(rng)).collect();
        let mean = draws.iter().sum::<f64>() / 2000.0;
        // Mean 0.5, standard error 2 / sqrt(2000) = 0.045.
        assert!((mean - 0.5).abs() < 0.2, "{mean}");
    }

    #[test]
    fn gamma_and_beta_with_huge_shapes_answer() {
        // Just above the switch, Wilson-Hilferty against the regularised
        // incomplete gamma at k = 1.5e7, y = k + z sqrt(k), summed as its
        // series x^k e^-x / Gamma(k + 1) sum_n x^n / ((k+1)...(k+n)) in
        // 40-digit mpmath. (statrs' CDF is off by 1.1e-8 at the median
        // here, scipy's by 6% of the value at z = -5.)
        let k = 1.5e7;
        let wh = RowDist::Gamma {
            shape: k,
            rate: 2.0,
        };
        for (z, exact) in [
            (-5.0, 2.835_940_505_277_977e-7),
            (-1.0, 0.158_655_251_242_399_7),
            (0.0, 0.500_034_335_484_637),
            (2.0, 0.977_235_929_444_262_2),
            (6.0, 0.999_999_998_994_960_7),
        ] {
            let y = (k + z * k.sqrt()) / 2.0;
            // The approximation's error falls as 1/k: 2.9e-10 here at most.
            assert!((wh.cdf(y) - exact).abs() < 5e-10, "{z} {}", wh.cdf(y));
        }
        // At shape 2.35e17 (e^40) statrs did not return. The median of a
        // gamma is k - 1/3 + O(1/k); the quantile inverts the CDF.
        let k = 40f64.exp();
        let g = RowDist::Gamma {
            shape: k,
            rate: 1.0,
        };
        let median = g.quantile(0.5).unwrap();
        assert!((median - (k - 1.0 / 3.0)).abs() <= 1e-15 * k, "{median}");
        let q = g.quantile(0.975).unwrap();
        assert!((g.cdf(q) - 0.975).abs() < 1e-6);
        assert!(g.cdf(1.0) == 0.0);
        // Beta(1e12, 5): statrs' inverse CDF did not return, and its CDF
        // is wrong at such sizes: neither is given.
        let b = RowDist::Beta { a: 1e12, b: 5.0 };
        assert_eq!(b.quantile(0.5), None);
        assert!(b.cdf(0.5).is_nan());
        // Small scales: Gamma(2, rate 1e12) has its 5% and 95% points at
        // 3.5536e-13 and 4.7439e-12 (scipy: gamma.ppf(q, 2) / 1e12);
        // statrs' inverse CDF at rate 1e12 stopped near 9.3e-10. And
        // Gamma(0.1, 1)'s 2.5% point, 5.7917e-17 (scipy).
        let g = RowDist::Gamma {
            shape: 2.0,
            rate: 1e12,
        };
        let lo = g.quantile(0.05).unwrap();
        let hi = g.quantile(0.95).unwrap();
        assert!((lo / 3.553_615_106_986_62e-13 - 1.0).abs() < 1e-6, "{lo}");
        assert!((hi / 4.743_864_518_390_577e-12 - 1.0).abs() < 1e-6, "{hi}");
        let g = RowDist::Gamma {
            shape: 0.1,
            rate: 1.0,
        };
        let lo = g.quantile(0.025).unwrap();
        assert!((lo / 5.791_710_245_521_471e-17 - 1.0).abs() < 1e-6, "{lo}");
        // Beta(0.08, 6): its 2.5% and 10% points are 1.0162361855e-21 and
        // 3.4099227983e-14 (50-digit mpmath, the regularised incomplete
        // beta inverted in log x); statrs' inverse CDF is good to about
        // 1e-16 absolute.
        let b = RowDist::Beta { a: 0.08, b: 6.0 };
        for (q, exact) in [
            (0.025, 1.016_236_185_526_972e-21),
            (0.1, 3.409_922_798_320_955e-14),
        ] {
            let x = b.quantile(q).unwrap();
            assert!((x / exact - 1.0).abs() < 1e-6, "{q}: {x}");
        }
    }

    #[test]
    fn poisson_with_a_huge_rate_has_its_quantiles() {
        // scipy.stats.poisson at mu = 1e8: ppf(0.05, 0.5, 0.95) = 99983552,
        // 1e8, 100016449; cdf(1e8) = 0.5000265961519927.
        let d = RowDist::Poisson { rate: 1e8 };
        assert_eq!(d.quantile(0.05), Some(99_983_552.0));
        assert_eq!(d.quantile(0.5), Some(1e8));
        assert_eq!(d.quantile(0.95), Some(100_016_449.0));
        assert!((d.cdf(1e8) - 0.500_026_596_151_992_7).abs() < 1e-9);
        // mu = 1e12 (statrs took a second per quantile and was off by a
        // thousand counts): scipy's 95% point is 1000001644854.
        let d = RowDist::Poisson { rate: 1e12 };
        assert_eq!(d.quantile(0.95), Some(1_000_001_644_854.0));
    }

    /// scipy.stats.nbinom(phi, phi / (phi + mu)).ppf at q = 0.025, 0.5 and
    /// 0.975, with the gamma spread dominant (phi = 2), both spreads equal
    /// (phi = mu) and a 97.5% point above 2^49 (the search's last doubling
    /// before its limit of 1e15); within 1e-9 relative (statrs' CDF put the
    /// 97.5% point below the mean at mu = 5.8e14).
    #[test]
    fn negative_binomial_with_a_huge_mean_has_its_quantiles() {
        for (mu, phi, points) in [
            (
                1e12,
                2.0,
                [121_104_639_271.0, 839_173_495_008.0, 2_785_821_695_471.0],
            ),
            (
                1e12,
                1e12,
                [999_997_228_194.0, 999_999_999_999.0, 1_000_002_771_809.0],
            ),
            (
                2e14,
                2.0,
                [
                    24_220_927_854_396.0,
                    167_834_699_001_666.0,
                    557_164_339_093_891.0,
                ],
            ),
        ] {
            let d = RowDist::NegBinomial { mu, phi };
            for (q, want) in [0.025, 0.5, 0.975].into_iter().zip(points) {
                let got = d.quantile(q).unwrap_or(f64::NAN);
                assert!(
                    (got / want - 1.0).abs() < 1e-9,
                    "{mu} {phi} {q}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn counts_with_huge_means_draw_with_their_variance() {
        let rng = &mut StdRng::seed_from_u64(4);
        // Poisson(1e14): variance / mean 1 (statrs' sampler gave 0.96);
        // over 20000 draws its standard error is sqrt(2 / 20000) = 0.01.
        let d = RowDist::Poisson { rate: 1e14 };
        let x: Vec<f64> = (0..20000).map(|_| d.sample(rng)).collect();
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
        assert!((var / 1e14 - 1.0).abs() < 0.05, "{var}");
        assert!(
            (mean - 1e14).abs() < 5.0 * (1e14f64 / 20000.0).sqrt(),
            "{mean}"
        );
        // NegBinomial(1e20, 2): every statrs draw was 2^64. Variance
        // mu + mu^2 / phi: the mean of 20000 draws has standard error
        // mu / sqrt(2 * 20000) = 5e17.
        let d = RowDist::NegBinomial { mu: 1e20, phi: 2.0 };
        let x: Vec<f64> = (0..20000).map(|_| d.sample(rng)).collect();
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        assert!((mean - 1e20).abs() < 3e18, "{mean}");
        assert!(x.iter().any(|v| *v != x[0]));
    }

    #[test]
    fn geometric_with_a_tiny_p_has_quantiles_and_draws() {
        // p = 3.74e-16 (a fit to counts near 1e15): the median is
        // ceil(log(1/2) / log1p(-p)) - 1 = 1853073482590355 (Python), far
        // beyond the integer search's reach.
        let d = RowDist::Geometric {
            p: 3.7405272217862377e-16,
        };
        assert_eq!(d.quantile(0.5), Some(1853073482590355.0));
        let rng = &mut StdRng::seed_from_u64(3);
        assert!((0..100).all(|_| d.sample(rng).is_finite()));
        // Small counts still come out exactly: p = 0.5, F(k) = 1 - 2^-(k+1).
        let d = RowDist::Geometric { p: 0.5 };
        assert_eq!(d.quantile(0.5), Some(0.0));
        assert_eq!(d.quantile(0.75), Some(1.0));
        assert_eq!(d.quantile(0.76), Some(2.0));
    }

    #[test]
    fn continuous_quantiles_invert_the_cdf() {
        let dists = [
            RowDist::Normal {
                mu: 1.0,
                sigma: 2.0,
            },
            RowDist::Logistic { mu: -1.0, s: 0.5 },
            RowDist::Gamma {
                shape: 2.5,
                rate: 0.7,
            },
            RowDist::Weibull {
                shape: 1.5,
                scale: 3.0,
            },
            RowDist::StudentT {
                nu: 4.0,
                mu: 0.0,
                sigma: 1.0,
            },
        ];
        for d in dists {
            for q in [0.025, 0.25, 0.5, 0.9, 0.975] {
                let x = d.quantile(q).expect("valid");
                assert!((d.cdf(x) - q).abs() < QUANTILE_TOL, "{d:?} at {q}");
            }
        }
    }

    use proptest::prelude::*;

    /// Every continuous family, with arguments drawn inside their supports.
    fn any_continuous() -> impl Strategy<Value = RowDist> {
        let loc = -50.0..50.0f64;
        let scale = 0.05..20.0f64;
        let shape = 0.3..30.0f64;
        prop_oneof![
            (loc.clone(), scale.clone()).prop_map(|(mu, sigma)| RowDist::Normal { mu, sigma }),
            (loc.clone(), scale.clone()).prop_map(|(mu, b)| RowDist::Laplace { mu, b }),
            (shape.clone(), loc.clone(), scale.clone())
                .prop_map(|(nu, mu, sigma)| RowDist::StudentT { nu, mu, sigma }),
            (loc.clone(), scale.clone()).prop_map(|(mu, sigma)| RowDist::Cauchy { mu, sigma }),
            (-3.0..3.0f64, 0.05..2.0f64).prop_map(|(mu, sigma)| RowDist::LogNormal { mu, sigma }),
            (loc, scale.clone()).prop_map(|(mu, s)| RowDist::Logistic { mu, s }),
            scale.clone().prop_map(|rate| RowDist::Exponential { rate }),
            (shape.clone(), scale.clone()).prop_map(|(shape, rate)| RowDist::Gamma { shape, rate }),
            (shape.clone(), scale).prop_map(|(shape, scale)| RowDist::Weibull { shape, scale }),
            (shape.clone(), shape).prop_map(|(a, b)| RowDist::Beta { a, b }),
        ]
    }

    /// Every count family, with arguments drawn inside their supports.
    fn any_count() -> impl Strategy<Value = RowDist> {
        prop_oneof![
            (0.01..200.0f64).prop_map(|rate| RowDist::Poisson { rate }),
            (0.01..200.0f64, 0.1..50.0f64).prop_map(|(mu, phi)| RowDist::NegBinomial { mu, phi }),
            (0u32..200, 0.0..1.0f64).prop_map(|(n, p)| RowDist::Binomial { n: n as f64, p }),
            (0.01..1.0f64).prop_map(|p| RowDist::Geometric { p }),
        ]
    }

    proptest! {
        // Quantiles invert the CDF wherever the density is not tiny: the
        // check is on the probability scale, to QUANTILE_TOL.
        #[test]
        fn continuous_quantile_inverts_cdf(d in any_continuous(), q in 0.01..0.99f64) {
            let x = d.quantile(q).expect("a quantile inside the support");
            prop_assert!((d.cdf(x) - q).abs() < QUANTILE_TOL, "{:?} q {} x {}", d, q, x);
        }

        // A count quantile k is the smallest with F(k) >= q.
        #[test]
        fn count_quantile_is_minimal(d in any_count(), q in 0.01..0.99f64) {
            let k = d.quantile(q).expect("a quantile inside the support");
            prop_assert!(d.cdf(k) >= q, "{:?} q {} k {}", d, q, k);
            prop_assert!(k == 0.0 || d.cdf(k - 1.0) < q, "{:?} q {} k {}", d, q, k);
        }
    }

    #[test]
    fn count_quantile_is_the_smallest_k_reaching_q() {
        // Poisson(2): F(0) = e^-2 = 0.1353, F(1) = 3 e^-2 = 0.4060,
        // F(2) = 5 e^-2 = 0.6767, F(4) = 0.9473, F(5) = 0.9834.
        let d = RowDist::Poisson { rate: 2.0 };
        assert_eq!(d.quantile(0.1), Some(0.0));
        assert_eq!(d.quantile(0.2), Some(1.0));
        assert_eq!(d.quantile(0.5), Some(2.0));
        assert_eq!(d.quantile(0.975), Some(5.0));
        assert_eq!(d.cdf_below(2.0), d.cdf(1.0));
    }

    #[test]
    fn geometric_counts_failures() {
        // P(Y <= k) = 1 - (1 - p)^(k + 1): with p = 0.5, F(0) = 0.5, F(1) = 0.75.
        let d = RowDist::Geometric { p: 0.5 };
        assert!((d.cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((d.cdf(1.0) - 0.75).abs() < 1e-15);
        assert_eq!(d.mean(), Some(1.0));
    }

    #[test]
    fn mixture_quantile_inverts_its_cdf() {
        let m = Predictive::Mixture(vec![
            (
                0.3,
                RowDist::Normal {
                    mu: -2.0,
                    sigma: 0.5,
                },
            ),
            (
                0.7,
                RowDist::Normal {
                    mu: 3.0,
                    sigma: 1.0,
                },
            ),
        ]);
        for q in [0.025, 0.3, 0.5, 0.975] {
            let x = m.quantile(q).expect("valid");
            assert!((m.cdf(x) - q).abs() < QUANTILE_TOL, "{q}: {x}");
        }
        // Mean 0.3 * -2 + 0.7 * 3 = 1.5.
        assert!((m.mean().expect("mean") - 1.5).abs() < 1e-15);
    }

    #[test]
    fn zero_inflation_adds_mass_at_zero() {
        // 0.4 extra zeros on Poisson(2): P(0) = 0.4 + 0.6 e^-2 = 0.4812012.
        let m = Predictive::Mixture(vec![
            (0.4, RowDist::PointMass { at: 0.0 }),
            (0.6, RowDist::Poisson { rate: 2.0 }),
        ]);
        assert!((m.cdf(0.0) - (0.4 + 0.6 * (-2.0f64).exp())).abs() < 1e-15);
        assert_eq!(m.cdf_below(0.0), 0.0);
        assert_eq!(m.quantile(0.45), Some(0.0));
        assert_eq!(m.quantile(0.5), Some(1.0));
        assert!(m.is_discrete());
    }

    #[test]
    fn neg_binomial_has_mean_mu() {
        let d = RowDist::NegBinomial { mu: 3.0, phi: 2.0 };
        // The mean from the CDF: sum_k P(Y > k).
        let mean: f64 = (0..400).map(|k| 1.0 - d.cdf(k as f64)).sum();
        assert!((mean - 3.0).abs() < 1e-9, "{mean}");
    }

    #[test]
    fn neg_binomial_near_its_poisson_limit_keeps_its_quantiles_and_draws() {
        // scipy.stats.nbinom(n=phi, p=phi/(phi+3)).ppf([0.025, 0.975]) is
        // [0, 7] for phi = 1e14 and beyond (and Poisson(3)'s); statrs' own
        // negative binomial gave [0, 0] from phi = 1e17 and drew only 0.
        use rand::SeedableRng;
        for phi in [1e14, 1e17, 1e30, 1e300] {
            let d = RowDist::NegBinomial { mu: 3.0, phi };
            assert_eq!(
                (d.quantile(0.025), d.quantile(0.975)),
                (Some(0.0), Some(7.0)),
                "{phi}"
            );
            let mut rng = rand::rngs::StdRng::seed_from_u64(5);
            let n = 4000;
            let mean = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64;
            // Poisson(3): the mean of 4000 draws has sd sqrt(3/4000) = 0.027.
            assert!((mean - 3.0).abs() < 0.15, "{phi}: {mean}");
        }
        // Either side of the switch the CDF agrees to the approximation's
        // bound: mu/phi = 1e-6 in total variation.
        let below = RowDist::NegBinomial {
            mu: 3.0,
            phi: 2.9e6,
        };
        let above = RowDist::NegBinomial {
            mu: 3.0,
            phi: 3.1e6,
        };
        for k in 0..12 {
            let (b, a) = (below.cdf(k as f64), above.cdf(k as f64));
            assert!((b - a).abs() < 2e-6, "{k}: {b} {a}");
        }
    }
}
