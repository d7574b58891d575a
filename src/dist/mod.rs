//! The distribution families: each is a builder of the negative log-density
//! of one observation as a graph expression, plus what it accepts.
//!
//! Densities include every normalising constant, so the reported
//! log-likelihood can be compared with other tools. A family's gradient and
//! Hessian are never written by hand: `graph::diff` derives them from the
//! expression built here, and the builders choose forms that stay finite
//! where the mathematics is finite (softplus instead of log(logistic)).

pub mod mixture;

use crate::graph::{Func, Graph, Node, NodeId};

/// Where a value may lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Real,
    Positive,
    NonNegative,
    /// 0, 1, 2, ...
    Count,
    /// 0 or 1.
    Binary,
    /// Inside (0, 1).
    UnitOpen,
    /// Inside [0, 1].
    UnitClosed,
    /// A level of a factor column.
    Level,
}

impl Support {
    /// Written without short-circuiting `&&` and `||`: a column of
    /// observations is checked row by row, and on 0/1 data in random order
    /// a branch per comparison was mispredicted half the time (5 ns a row).
    #[inline]
    pub fn contains(self, x: f64) -> bool {
        match self {
            Support::Real => x.is_finite(),
            Support::Positive => (x > 0.0) & x.is_finite(),
            Support::NonNegative => (x >= 0.0) & x.is_finite(),
            Support::Count => (x >= 0.0) & crate::graph::func::is_whole(x),
            Support::Binary => (x == 0.0) | (x == 1.0),
            Support::UnitOpen => (x > 0.0) & (x < 1.0),
            Support::UnitClosed => (x >= 0.0) & (x <= 1.0),
            Support::Level => true,
        }
    }

    /// How many of `values` are outside the support.
    pub fn count_outside(self, values: &[f64]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.count_outside_avx2(values) };
        }
        self.count_outside_portable(values)
    }

    /// Built for AVX2: four values per comparison instead of the baseline
    /// target's two (a million counts checked in 1.7-2.1 instead of 3.5 ms on one core).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn count_outside_avx2(self, values: &[f64]) -> usize {
        self.count_outside_portable(values)
    }

    /// The support is matched once, outside the loop, so each arm is a
    /// branch-free loop the compiler vectorises; counts are added in u32 per
    /// block of 4096 values, which packs twice as many in a register as
    /// usize.
    #[inline(always)]
    fn count_outside_portable(self, values: &[f64]) -> usize {
        #[inline(always)]
        fn count(values: &[f64], inside: impl Fn(f64) -> bool) -> usize {
            values
                .chunks(4096)
                .map(|c| c.iter().map(|&v| u32::from(!inside(v))).sum::<u32>() as usize)
                .sum()
        }
        match self {
            Support::Real => count(values, |x| Support::Real.contains(x)),
            Support::Positive => count(values, |x| Support::Positive.contains(x)),
            Support::NonNegative => count(values, |x| Support::NonNegative.contains(x)),
            Support::Count => count(values, |x| Support::Count.contains(x)),
            Support::Binary => count(values, |x| Support::Binary.contains(x)),
            Support::UnitOpen => count(values, |x| Support::UnitOpen.contains(x)),
            Support::UnitClosed => count(values, |x| Support::UnitClosed.contains(x)),
            Support::Level => 0,
        }
    }

    /// True for supports of discrete values.
    pub fn is_discrete(self) -> bool {
        matches!(self, Support::Count | Support::Binary | Support::Level)
    }

    /// In words, for messages: "a positive number".
    pub fn describe(self) -> &'static str {
        match self {
            Support::Real => "a finite number",
            Support::Positive => "a positive number",
            Support::NonNegative => "a non-negative number",
            Support::Count => "a non-negative integer",
            Support::Binary => "0 or 1",
            Support::UnitOpen => "a number strictly between 0 and 1",
            Support::UnitClosed => "a number between 0 and 1",
            Support::Level => "a factor level",
        }
    }
}

/// A distribution family as the language sees it.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    /// Argument names, in order; empty with `variadic` for Categorical.
    pub args: &'static [&'static str],
    /// Support of each argument, parallel to `args`.
    pub arg_support: &'static [Support],
    /// Support of the observed value.
    pub support: Support,
    /// Index of the scale argument, if the family has one (used to detect a
    /// scale collapsing to 0).
    pub scale_arg: Option<usize>,
    /// Takes any number (at least 2) of arguments.
    pub variadic: bool,
    build: fn(&mut Graph, NodeId, &[NodeId]) -> NodeId,
}

impl Family {
    /// The support of argument `a`: any finite number when the family
    /// declares none (variadic and compound families).
    /// The argument that is the distribution's location `mu` (Normal,
    /// Laplace, Student-t, Cauchy, Logistic), where it has one: an
    /// observation fitted exactly sits on it.
    pub fn location_arg(&self) -> Option<usize> {
        self.args.iter().position(|a| *a == "mu")
    }

    pub fn arg_support_of(&self, a: usize) -> Support {
        self.arg_support.get(a).copied().unwrap_or(Support::Real)
    }

    /// The negative log-density of `y` given the arguments.
    pub fn neg_log_density(&self, g: &mut Graph, y: NodeId, args: &[NodeId]) -> NodeId {
        (self.build)(g, y, args)
    }

    /// `Normal(mu, sigma)`: a signature for messages.
    pub fn signature(&self) -> String {
        if self.variadic {
            // Categorical takes probabilities, CategoricalLogit linear predictors.
            let stem = if self.name == "Categorical" {
                "p"
            } else {
                "eta"
            };
            format!("{}({stem}_1, ..., {stem}_K)", self.name)
        } else {
            format!("{}({})", self.name, self.args.join(", "))
        }
    }
}

pub fn lookup(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// The names of every distribution, the compound ones included.
pub fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES
        .iter()
        .map(|f| f.name)
        .chain(mixture::COMPOUNDS.iter().map(|c| c.family.name))
}

use Support::*;

pub static FAMILIES: &[Family] = &[
    Family {
        name: "Normal",
        args: &["mu", "sigma"],
        arg_support: &[Real, Positive],
        support: Real,
        scale_arg: Some(1),
        variadic: false,
        build: normal,
    },
    Family {
        name: "Laplace",
        args: &["mu", "b"],
        arg_support: &[Real, Positive],
        support: Real,
        scale_arg: Some(1),
        variadic: false,
        build: laplace,
    },
    Family {
        name: "StudentT",
        args: &["nu", "mu", "sigma"],
        arg_support: &[Positive, Real, Positive],
        support: Real,
        scale_arg: Some(2),
        variadic: false,
        build: student_t,
    },
    Family {
        name: "Poisson",
        args: &["rate"],
        arg_support: &[Positive],
        support: Count,
        scale_arg: None,
        variadic: false,
        build: poisson,
    },
    Family {
        name: "NegBinomial",
        args: &["mu", "phi"],
        arg_support: &[Positive, Positive],
        support: Count,
        scale_arg: None,
        variadic: false,
        build: neg_binomial,
    },
    Family {
        name: "Bernoulli",
        args: &["p"],
        arg_support: &[UnitClosed],
        support: Binary,
        scale_arg: None,
        variadic: false,
        build: bernoulli,
    },
    Family {
        name: "BernoulliLogit",
        args: &["eta"],
        arg_support: &[Real],
        support: Binary,
        scale_arg: None,
        variadic: false,
        build: bernoulli_logit,
    },
    Family {
        name: "Exponential",
        args: &["rate"],
        arg_support: &[Positive],
        support: NonNegative,
        scale_arg: None,
        variadic: false,
        build: exponential,
    },
    Family {
        name: "Gamma",
        args: &["shape", "rate"],
        arg_support: &[Positive, Positive],
        support: Positive,
        scale_arg: None,
        variadic: false,
        build: gamma,
    },
    Family {
        name: "CategoricalLogit",
        args: &[],
        arg_support: &[],
        support: Level,
        scale_arg: None,
        variadic: true,
        build: categorical_unsupported,
    },
    Family {
        name: "Cauchy",
        args: &["mu", "sigma"],
        arg_support: &[Real, Positive],
        support: Real,
        scale_arg: Some(1),
        variadic: false,
        build: cauchy,
    },
    // sigma is the scale of log(y), not of y, so it is not compared with
    // the spread of y as a collapsing scale would be.
    Family {
        name: "LogNormal",
        args: &["mu", "sigma"],
        arg_support: &[Real, Positive],
        support: Positive,
        scale_arg: None,
        variadic: false,
        build: log_normal,
    },
    Family {
        name: "Weibull",
        args: &["shape", "scale"],
        arg_support: &[Positive, Positive],
        support: Positive,
        scale_arg: Some(1),
        variadic: false,
        build: weibull,
    },
    Family {
        name: "Beta",
        args: &["a", "b"],
        arg_support: &[Positive, Positive],
        support: UnitOpen,
        scale_arg: None,
        variadic: false,
        build: beta,
    },
    Family {
        name: "Logistic",
        args: &["mu", "s"],
        arg_support: &[Real, Positive],
        support: Real,
        scale_arg: Some(1),
        variadic: false,
        build: logistic,
    },
    Family {
        name: "Binomial",
        args: &["n", "p"],
        arg_support: &[Count, UnitClosed],
        support: Count,
        scale_arg: None,
        variadic: false,
        build: binomial,
    },
    Family {
        name: "BinomialLogit",
        args: &["n", "eta"],
        arg_support: &[Count, Real],
        support: Count,
        scale_arg: None,
        variadic: false,
        build: binomial_logit,
    },
    Family {
        name: "Geometric",
        args: &["p"],
        arg_support: &[UnitOpen],
        support: Count,
        scale_arg: None,
        variadic: false,
        build: geometric,
    },
    Family {
        name: "BernoulliProbit",
        args: &["eta"],
        arg_support: &[Real],
        support: Binary,
        scale_arg: None,
        variadic: false,
        build: bernoulli_probit,
    },
    Family {
        name: "Categorical",
        args: &[],
        arg_support: &[],
        support: Level,
        scale_arg: None,
        variadic: true,
        build: categorical_unsupported,
    },
];

// ln(2 pi) / 2
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

// Normal: -log p = log(sigma) + log(2 pi)/2 + z^2/2,  z = (y - mu) / sigma.
fn normal(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (mu, sigma) = (a[0], a[1]);
    let resid = g.sub(y, mu);
    let z = g.div(resid, sigma);
    let two = g.constant(2.0);
    let z2 = g.pow(z, two);
    let half = g.constant(0.5);
    let quad = g.mul(half, z2);
    let log_sigma = g.unary(Func::Log, sigma);
    let c = g.constant(HALF_LN_2PI);
    let t = g.add(log_sigma, c);
    g.add(t, quad)
}

// Laplace: -log p = log(2 b) + |y - mu| / b.
// The kink of |y - mu| is smoothed while fitting (see Graph::smooth_abs).
fn laplace(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (mu, b) = (a[0], a[1]);
    let resid = g.sub(y, mu);
    let abs = g.smooth_abs(resid);
    let scaled = g.div(abs, b);
    let log_b = g.unary(Func::Log, b);
    let ln2 = g.constant(std::f64::consts::LN_2);
    let t = g.add(ln2, log_b);
    g.add(t, scaled)
}

// Student-t with nu degrees of freedom, location mu and scale sigma:
//   -log p = lgamma(nu/2) - lgamma((nu+1)/2) + log(nu pi)/2 + log(sigma)
//            + (nu+1)/2 log1p(z^2 / nu),  z = (y - mu) / sigma,
// with the first three terms computed as lgamma_gap(nu/2) + log(2 pi)/2:
// they cancel to that for large nu (see `func::lgamma_gap`).
fn student_t(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (nu, mu, sigma) = (a[0], a[1], a[2]);
    let half = g.constant(0.5);
    let one = g.constant(1.0);
    let half_nu = g.mul(half, nu);
    let nu_p1 = g.add(nu, one);
    let half_nu_p1 = g.mul(half, nu_p1);
    let gap = g.unary(Func::LgammaGap, half_nu);
    let half_ln_2pi = g.constant(0.5 * (2.0 * std::f64::consts::PI).ln());
    let log_sigma = g.unary(Func::Log, sigma);
    let resid = g.sub(y, mu);
    let z = g.div(resid, sigma);
    let two = g.constant(2.0);
    let z2 = g.pow(z, two);
    let ratio = g.div(z2, nu);
    let l1p = g.unary(Func::Log1p, ratio);
    let tail = g.mul(half_nu_p1, l1p);
    let t2 = g.add(gap, half_ln_2pi);
    let t3 = g.add(t2, log_sigma);
    g.add(t3, tail)
}

// Poisson: -log p = rate - y log(rate) + lgamma(y + 1).
// With rate = exp(eta), log(rate) simplifies to eta in the graph.
fn poisson(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let rate = a[0];
    let log_rate = g.unary(Func::Log, rate);
    let y_log_rate = g.mul(y, log_rate);
    let one = g.constant(1.0);
    let y1 = g.add(y, one);
    let log_fact = g.unary(Func::Lgamma, y1);
    let t = g.sub(rate, y_log_rate);
    g.add(t, log_fact)
}

// Negative binomial with mean mu and size phi (variance mu + mu^2/phi):
//   -log p = lgamma(phi) + lgamma(y + 1) - lgamma(y + phi)
//            - phi log(phi / (phi + mu)) - y log(mu / (phi + mu)).
// Summed as written, its terms are each about phi log(phi) while -log p
// tends to the Poisson's as phi grows, and at phi = 1e12 a row has an error
// of 1e-3. With Stirling's remainder r (lgamma(x) = (x - 1/2) log(x) - x
// + log(2 pi)/2 + r(x), see `func::lgamma_rem`) and m(x) = log1p(x)/x
// (`func::log1p_over_x`) the same value is
//   -log p = lgamma(y + 1) - y log(mu) + (mu + y u) m(u)
//            - (y + (y - 1/2) v) m(v) + y + r(phi) - r(y + phi),
//   u = mu / phi, v = y / phi,
// whose terms stay of the size of the counts: as phi grows, the third
// tends to mu, the fourth to y and the remainders to 0. The log1p terms
// (phi + y) log1p(u) and (phi + y - 1/2) log1p(v) are written with m so
// that their derivatives in phi are sums of terms of size 1/phi^2, not
// differences of terms of size 1/phi.
// Not protected: counts far above phi. lgamma(y + 1), y log(mu) and the
// two m terms are then each about y log(y) and cancel (a row at
// y = mu = 1e13, phi = 2 is off by 0.07); a saddle-point form would keep
// the digits at a division and a log1p more per row (docs/LIMITATIONS.md).
fn neg_binomial(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (mu, phi) = (a[0], a[1]);
    let one = g.constant(1.0);
    let half = g.constant(0.5);
    let y1 = g.add(y, one);
    let lg_y1 = g.unary(Func::Lgamma, y1);
    let log_mu = g.unary(Func::Log, mu);
    let y_log_mu = g.mul(y, log_mu);
    let u = g.div(mu, phi);
    let m_u = g.unary(Func::Log1pOverX, u);
    let y_u = g.mul(y, u);
    let mu_y_u = g.add(mu, y_u);
    let t_mu = g.mul(mu_y_u, m_u);
    let v = g.div(y, phi);
    let m_v = g.unary(Func::Log1pOverX, v);
    let y_half = g.sub(y, half);
    let y_half_v = g.mul(y_half, v);
    let y_y_half_v = g.add(y, y_half_v);
    let t_y = g.mul(y_y_half_v, m_v);
    let phi_y = g.add(phi, y);
    let r_phi = g.unary(Func::LgammaRem, phi);
    let r_phi_y = g.unary(Func::LgammaRem, phi_y);
    let s1 = g.sub(lg_y1, y_log_mu);
    let s2 = g.add(s1, t_mu);
    let s3 = g.sub(s2, t_y);
    let s4 = g.add(s3, y);
    let s5 = g.add(s4, r_phi);
    g.sub(s5, r_phi_y)
}

// Bernoulli: -log p = -(y log p + (1 - y) log(1 - p)), evaluated for
// y in {0, 1} as the equal form
//   -log(y p + (1 - y) (1 - p)),
// the log of the probability of the observed outcome, which stays exact
// where p is 0 or 1 on a row whose outcome has probability 1 (the first
// form is 0 * log 0 = NaN there).
// When p is written as logistic(eta) or Phi(eta) the logit or probit form
// below is used instead, which stays finite for any eta.
// p outside [0, 1] is not rejected here: on a row with y = 0 and p < 0 the
// term is -log(1 - p), finite and negative, so an identity-link fit can run
// p below 0. The fit's report calls such an estimate "not a likelihood"
// (`improper_probability_warnings`).
fn bernoulli(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let p = a[0];
    if let Node::Unary(Func::Logistic, eta) = *g.node(p) {
        return bernoulli_logit(g, y, &[eta]);
    }
    if let Node::Unary(Func::Phi, eta) = *g.node(p) {
        return bernoulli_probit(g, y, &[eta]);
    }
    let one = g.constant(1.0);
    let q = g.sub(one, p);
    let yp = g.mul(y, p);
    let one_minus_y = g.sub(one, y);
    let yq = g.mul(one_minus_y, q);
    let p_obs = g.add(yp, yq);
    let log_p_obs = g.unary(Func::Log, p_obs);
    g.neg(log_p_obs)
}

// Bernoulli on the logit scale, p = logistic(eta):
//   -log p = softplus(eta) - y eta.
fn bernoulli_logit(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let eta = a[0];
    let sp = g.unary(Func::Softplus, eta);
    let y_eta = g.mul(y, eta);
    g.sub(sp, y_eta)
}

// Exponential: -log p = -log(rate) + rate y.
fn exponential(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let rate = a[0];
    let log_rate = g.unary(Func::Log, rate);
    let ry = g.mul(rate, y);
    g.sub(ry, log_rate)
}

// Gamma with shape k and rate r:
//   -log p = lgamma(k) - k log(r) - (k - 1) log(y) + r y.
fn gamma(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (k, r) = (a[0], a[1]);
    let one = g.constant(1.0);
    let lg = g.unary(Func::Lgamma, k);
    let log_r = g.unary(Func::Log, r);
    let k_log_r = g.mul(k, log_r);
    let log_y = g.unary(Func::Log, y);
    let k1 = g.sub(k, one);
    let t_y = g.mul(k1, log_y);
    let ry = g.mul(r, y);
    let s1 = g.sub(lg, k_log_r);
    let s2 = g.sub(s1, t_y);
    g.add(s2, ry)
}

/// Categorical needs the factor column of the observation, not its value;
/// the compiler lowers it with [`categorical_logit`] or [`categorical`]
/// instead.
fn categorical_unsupported(g: &mut Graph, _y: NodeId, _a: &[NodeId]) -> NodeId {
    g.constant(f64::NAN)
}

/// Categorical on the logit scale for an observation in factor column `col`:
///   -log p = log(sum_k exp(eta_k)) - eta_{y},
/// with log-sum-exp evaluated with the maximum taken out.
pub fn categorical_logit(g: &mut Graph, col: u32, etas: &[NodeId]) -> NodeId {
    let lse = g.log_sum_exp(etas.to_vec());
    let chosen = g.select(col, etas.to_vec());
    g.sub(lse, chosen)
}

/// Categorical on the probability scale for an observation in factor column
/// `col`:
///   -log p = -log(p_y).
/// The probabilities are taken as given: the model must make them sum to 1
/// (for example with a last argument `1 - p1 - p2`).
pub fn categorical(g: &mut Graph, col: u32, ps: &[NodeId]) -> NodeId {
    let chosen = g.select(col, ps.to_vec());
    let log_p = g.unary(Func::Log, chosen);
    g.neg(log_p)
}

// ln(pi)
const LN_PI: f64 = 1.144_729_885_849_400_2;

// Cauchy with location mu and scale sigma:
//   -log p = log(pi) + log(sigma) + log1p(z^2),  z = (y - mu) / sigma.
fn cauchy(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (mu, sigma) = (a[0], a[1]);
    let resid = g.sub(y, mu);
    let z = g.div(resid, sigma);
    let two = g.constant(2.0);
    let z2 = g.pow(z, two);
    let l1p = g.unary(Func::Log1p, z2);
    let log_sigma = g.unary(Func::Log, sigma);
    let c = g.constant(LN_PI);
    let t = g.add(c, log_sigma);
    g.add(t, l1p)
}

// Log-normal: log(y) is Normal(mu, sigma), and the density of y carries the
// Jacobian 1/y:
//   -log p = log(y) + log(sigma) + log(2 pi)/2 + z^2/2,  z = (log(y) - mu) / sigma.
fn log_normal(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let log_y = g.unary(Func::Log, y);
    let normal_part = normal(g, log_y, a);
    g.add(log_y, normal_part)
}

// Weibull with shape k and scale lambda, density
// (k / lambda) (y / lambda)^(k - 1) exp(-(y / lambda)^k):
//   -log p = -log(k) + log(lambda) - (k - 1) t + exp(k t),
//   t = log(y) - log(lambda) = log(y / lambda).
// Writing (y / lambda)^k as exp(k t) avoids a power with a parameter
// exponent; log(y) is data and is computed once.
fn weibull(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (k, lambda) = (a[0], a[1]);
    let one = g.constant(1.0);
    let log_y = g.unary(Func::Log, y);
    let log_lambda = g.unary(Func::Log, lambda);
    let t = g.sub(log_y, log_lambda);
    let kt = g.mul(k, t);
    let power = g.unary(Func::Exp, kt);
    let k1 = g.sub(k, one);
    let k1t = g.mul(k1, t);
    let log_k = g.unary(Func::Log, k);
    let s1 = g.sub(log_lambda, log_k);
    let s2 = g.sub(s1, k1t);
    g.add(s2, power)
}

// Beta on (0, 1) with shapes a and b:
//   -log p = lgamma(a) + lgamma(b) - lgamma(a + b)
//            - (a - 1) log(y) - (b - 1) log1p(-y).
// log1p(-y) keeps accuracy for y near 0; both logs of y are data.
fn beta(g: &mut Graph, y: NodeId, args: &[NodeId]) -> NodeId {
    let (a, b) = (args[0], args[1]);
    let one = g.constant(1.0);
    let lg_a = g.unary(Func::Lgamma, a);
    let lg_b = g.unary(Func::Lgamma, b);
    let ab = g.add(a, b);
    let lg_ab = g.unary(Func::Lgamma, ab);
    let log_y = g.unary(Func::Log, y);
    let neg_y = g.neg(y);
    let log_1my = g.unary(Func::Log1p, neg_y);
    let a1 = g.sub(a, one);
    let b1 = g.sub(b, one);
    let t_a = g.mul(a1, log_y);
    let t_b = g.mul(b1, log_1my);
    let s1 = g.add(lg_a, lg_b);
    let s2 = g.sub(s1, lg_ab);
    let s3 = g.sub(s2, t_a);
    g.sub(s3, t_b)
}

// Logistic with location mu and scale s, density
// exp(-z) / (s (1 + exp(-z))^2),  z = (y - mu) / s:
//   -log p = log(s) + z + 2 softplus(-z).
// softplus never overflows, so the form is finite for any z.
fn logistic(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (mu, s) = (a[0], a[1]);
    let resid = g.sub(y, mu);
    let z = g.div(resid, s);
    let neg_z = g.neg(z);
    let sp = g.unary(Func::Softplus, neg_z);
    let two = g.constant(2.0);
    let two_sp = g.mul(two, sp);
    let log_s = g.unary(Func::Log, s);
    let t = g.add(log_s, z);
    g.add(t, two_sp)
}

// -log C(n, y) = lgamma(y + 1) + lgamma(n - y + 1) - lgamma(n + 1).
// With n a data column or a number this is data only, computed once.
// For y > n, lgamma(n - y + 1) is NaN, so such a row is reported as a
// non-finite log-density at the start values.
fn neg_log_choose(g: &mut Graph, n: NodeId, y: NodeId) -> NodeId {
    let one = g.constant(1.0);
    let y1 = g.add(y, one);
    let lg_y1 = g.unary(Func::Lgamma, y1);
    let n_y = g.sub(n, y);
    let n_y1 = g.add(n_y, one);
    let lg_ny1 = g.unary(Func::Lgamma, n_y1);
    let n1 = g.add(n, one);
    let lg_n1 = g.unary(Func::Lgamma, n1);
    let s = g.add(lg_y1, lg_ny1);
    g.sub(s, lg_n1)
}

// Binomial with n trials and success probability p, y in 0..n:
//   -log p = -log C(n, y) - y log(p) - (n - y) log1p(-p).
// When p is written as logistic(eta) the logit form below is used instead.
fn binomial(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (n, p) = (a[0], a[1]);
    if let Node::Unary(Func::Logistic, eta) = *g.node(p) {
        return binomial_logit(g, y, &[n, eta]);
    }
    let nlc = neg_log_choose(g, n, y);
    let log_p = g.unary(Func::Log, p);
    let neg_p = g.neg(p);
    let log_q = g.unary(Func::Log1p, neg_p);
    let t_y = g.mul(y, log_p);
    let n_y = g.sub(n, y);
    let t_ny = g.mul(n_y, log_q);
    let s1 = g.sub(nlc, t_y);
    g.sub(s1, t_ny)
}

// Binomial on the logit scale, p = logistic(eta). With
// log p = -softplus(-eta) = eta - softplus(eta) and log(1 - p) = -softplus(eta):
//   -log p = -log C(n, y) + n softplus(eta) - y eta,
// finite for any eta.
fn binomial_logit(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let (n, eta) = (a[0], a[1]);
    let nlc = neg_log_choose(g, n, y);
    let sp = g.unary(Func::Softplus, eta);
    let n_sp = g.mul(n, sp);
    let y_eta = g.mul(y, eta);
    let s1 = g.add(nlc, n_sp);
    g.sub(s1, y_eta)
}

// Geometric: the number of failures y = 0, 1, 2, ... before the first
// success, with success probability p: P(y) = (1 - p)^y p, so
//   -log p = -log(p) - y log1p(-p).
fn geometric(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let p = a[0];
    let log_p = g.unary(Func::Log, p);
    let neg_p = g.neg(p);
    let log_q = g.unary(Func::Log1p, neg_p);
    let t_y = g.mul(y, log_q);
    let s = g.add(log_p, t_y);
    g.neg(s)
}

// Bernoulli on the probit scale, p = Phi(eta), 1 - p = Phi(-eta):
//   -log p = -(y logPhi(eta) + (1 - y) logPhi(-eta)).
// logPhi stays finite and accurate far into both tails, and so do its
// derivatives (see `graph::func::log_norm_cdf`).
fn bernoulli_probit(g: &mut Graph, y: NodeId, a: &[NodeId]) -> NodeId {
    let eta = a[0];
    let one = g.constant(1.0);
    let lp = g.unary(Func::LogPhi, eta);
    let neg_eta = g.neg(eta);
    let lq = g.unary(Func::LogPhi, neg_eta);
    let t1 = g.mul(y, lp);
    let one_minus_y = g.sub(one, y);
    let t2 = g.mul(one_minus_y, lq);
    let s = g.add(t1, t2);
    g.neg(s)
}

#[cfg(test)]
mod tests {
    use super::Support;

    /// The vectorised count agrees with `contains` value by value, on the
    /// edges of every support and on lengths that leave a partial block.
    #[test]
    fn count_outside_matches_contains() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            0.5,
            -1.0,
            2.0,
            1e-300,
            4_503_599_627_370_496.0,
            4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            3.000_000_000_000_000_4,
        ];
        let supports = [
            Support::Real,
            Support::Positive,
            Support::NonNegative,
            Support::Count,
            Support::Binary,
            Support::UnitOpen,
            Support::UnitClosed,
            Support::Level,
        ];
        for len in [0, 1, 7, 4096, 4097, 10_000] {
            let values: Vec<f64> = (0..len)
                .map(|i| edges[(i * 7 + i / 5) % edges.len()])
                .collect();
            for s in supports {
                let expected = values.iter().filter(|v| !s.contains(**v)).count();
                assert_eq!(s.count_outside(&values), expected, "{s:?}, {len} values");
            }
        }
    }
}
