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

/// Bisection of a continuous mixture's quantile stops when the bracket is
/// this narrow relative to its ends: 1e-12 is a few thousand ulps, far
/// below any use of an interval bound, and reached in about 40 halvings
/// from a bracket of component quantiles.
const MIXTURE_QUANTILE_REL_TOL: f64 = 1e-12;

/// Halvings at most (a bracket of 1e300 shrinks below 1e-12 in ~1040).
const MIXTURE_QUANTILE_MAX_STEPS: usize = 2000;

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
    pub fn cdf(&self, y: f64) -> f64 {
        use RowDist::*;
        let nan = f64::NAN;
        match *self {
            Normal { mu, sigma } => sd::Normal::new(mu, sigma).map_or(nan, |d| d.cdf(y)),
            Laplace { mu, b } => sd::Laplace::new(mu, b).map_or(nan, |d| d.cdf(y)),
            StudentT { nu, mu, sigma } => {
                sd::StudentsT::new(mu, sigma, nu).map_or(nan, |d| d.cdf(y))
            }
            Cauchy { mu, sigma } => sd::Cauchy::new(mu, sigma).map_or(nan, |d| d.cdf(y)),
            LogNormal { mu, sigma } => sd::LogNormal::new(mu, sigma).map_or(nan, |d| d.cdf(y)),
            // F(y) = logistic((y - mu) / s).
            Logistic { mu, s } if s > 0.0 => logistic((y - mu) / s),
            Logistic { .. } => nan,
            Exponential { rate } => sd::Exp::new(rate).map_or(nan, |d| d.cdf(y)),
            Gamma { shape, rate } => sd::Gamma::new(shape, rate).map_or(nan, |d| d.cdf(y)),
            Weibull { shape, scale } => sd::Weibull::new(shape, scale).map_or(nan, |d| d.cdf(y)),
            Beta { a, b } => sd::Beta::new(a, b).map_or(nan, |d| d.cdf(y)),
            _ => self.count_cdf(y.floor()),
        }
    }

    /// P(Y < y): equal to the CDF for continuous families, and to
    /// P(Y <= y - 1) for counts at an integer y.
    pub fn cdf_below(&self, y: f64) -> f64 {
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
        if k < 0.0 {
            return 0.0;
        }
        let k_u = k as u64;
        match *self {
            Poisson { rate } => sd::Poisson::new(rate).map_or(nan, |d| d.cdf(k_u)),
            NegBinomial { mu, phi } if is_poisson_limit(mu, phi) => {
                sd::Poisson::new(mu).map_or(nan, |d| d.cdf(k_u))
            }
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
    pub fn quantile(&self, q: f64) -> Option<f64> {
        use RowDist::*;
        if !(q > 0.0 && q < 1.0) {
            return None;
        }
        let x = match *self {
            Normal { mu, sigma } => sd::Normal::new(mu, sigma).ok()?.inverse_cdf(q),
            Laplace { mu, b } => sd::Laplace::new(mu, b).ok()?.inverse_cdf(q),
            StudentT { nu, mu, sigma } => sd::StudentsT::new(mu, sigma, nu).ok()?.inverse_cdf(q),
            Cauchy { mu, sigma } => sd::Cauchy::new(mu, sigma).ok()?.inverse_cdf(q),
            LogNormal { mu, sigma } => sd::LogNormal::new(mu, sigma).ok()?.inverse_cdf(q),
            // F^-1(q) = mu + s log(q / (1 - q)).
            Logistic { mu, s } if s > 0.0 => mu + s * (q / (1.0 - q)).ln(),
            Logistic { .. } => return None,
            Exponential { rate } => sd::Exp::new(rate).ok()?.inverse_cdf(q),
            Gamma { shape, rate } => sd::Gamma::new(shape, rate).ok()?.inverse_cdf(q),
            Weibull { shape, scale } => sd::Weibull::new(shape, scale).ok()?.inverse_cdf(q),
            Beta { a, b } => sd::Beta::new(a, b).ok()?.inverse_cdf(q),
            _ => return self.count_quantile(q),
        };
        x.is_finite().then_some(x)
    }

    fn count_quantile(&self, q: f64) -> Option<f64> {
        integer_quantile(|k| self.count_cdf(k), q)
    }

    /// One draw, NaN for invalid arguments.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        use RowDist::*;
        let nan = f64::NAN;
        match *self {
            Normal { mu, sigma } => sd::Normal::new(mu, sigma).map_or(nan, |d| d.sample(rng)),
            Laplace { mu, b } => sd::Laplace::new(mu, b).map_or(nan, |d| d.sample(rng)),
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
            Poisson { rate } => sd::Poisson::new(rate).map_or(nan, |d| d.sample(rng)),
            NegBinomial { mu, phi } if is_poisson_limit(mu, phi) => {
                sd::Poisson::new(mu).map_or(nan, |d| d.sample(rng))
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

/// Whether NegBinomial(mu, phi) is taken as its limit Poisson(mu): for
/// phi above 1e6 max(mu, 1). statrs' negative binomial goes wrong as phi
/// grows (at mu = 3 its CDF put all mass at 0 from phi = 1e17, and its
/// sampler drew only zeros), while the two distributions differ by at most
/// about mu / phi in total variation (the variance ratio is 1 + mu/phi),
/// 1e-6 here: below the accuracy of statrs' own CDF at mu = 1e6,
/// phi = 1e12, and far below what a quantile or a draw can show.
fn is_poisson_limit(mu: f64, phi: f64) -> bool {
    phi > NB_POISSON_LIMIT * mu.max(1.0)
}

const NB_POISSON_LIMIT: f64 = 1e6;

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
    while cdf(hi) < q {
        hi *= 2.0;
        if hi > MAX_COUNT_SEARCH || cdf(hi).is_nan() {
            return None;
        }
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
        for _ in 0..MIXTURE_QUANTILE_MAX_STEPS {
            let scale = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
            if hi - lo <= MIXTURE_QUANTILE_REL_TOL * scale {
                break;
            }
            let mid = 0.5 * (lo + hi);
            if self.cdf(mid) >= q {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
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

    /// Quantiles invert the CDF to 1e-8 on the probability scale. statrs
    /// 0.19's closed forms do far better, but its iterative inverses stop
    /// earlier: Gamma(5.6154, 10.2807) at q = 0.19328 was measured 1.1e-9
    /// off, and its erfc (behind the normal family) is good to ~1e-10.
    const QUANTILE_TOL: f64 = 1e-8;

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
