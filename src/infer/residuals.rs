//! Standardised residuals of a fit: for each row of each likelihood
//! statement, (y - mean) / sd of the fitted distribution of that row.
//!
//! Inputs: a compiled model and theta at the estimate. The distribution's
//! arguments are evaluated per row (`Compiled::eval_rows`) and turned into
//! the mean and standard deviation of the family by the formulas in
//! [`mean_sd`]. Families without a finite mean and variance in closed form
//! here (Cauchy, categorical outcomes, mixtures) give no residuals, and say
//! so.

use crate::compile::Compiled;
use crate::graph::func::{lgamma, logistic, norm_cdf};

/// The residuals of one likelihood statement.
#[derive(Debug, Clone)]
pub struct StatementResiduals {
    /// The family's name (`Normal`).
    pub family: &'static str,
    /// Per row: the fitted mean.
    pub fitted: Vec<f64>,
    /// Per row: (y - mean) / sd; not finite where sd is 0 or undefined.
    pub standardised: Vec<f64>,
}

/// The residuals of every likelihood statement, in model order, and for
/// each statement without residuals a sentence saying why.
pub fn residuals(c: &Compiled, theta: &[f64]) -> (Vec<StatementResiduals>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        let name = s.family.name;
        if !s.components.is_empty() || s.family.variadic || name == "Cauchy" {
            skipped.push(format!(
                "no residuals for `{name}`: its fitted mean and standard deviation are not computed"
            ));
            continue;
        }
        let mut nodes = vec![s.y];
        nodes.extend(&s.args);
        let rows = c.eval_rows(&nodes, theta);
        let (y, args) = (&rows[0], &rows[1..]);
        let mut fitted = Vec::with_capacity(y.len());
        let mut standardised = Vec::with_capacity(y.len());
        for i in 0..y.len() {
            let a: Vec<f64> = args.iter().map(|col| col[i]).collect();
            let (mean, sd) = mean_sd(name, &a);
            fitted.push(mean);
            standardised.push((y[i] - mean) / sd);
        }
        out.push(StatementResiduals {
            family: name,
            fitted,
            standardised,
        });
    }
    (out, skipped)
}

/// Mean and standard deviation of one row's fitted distribution, from its
/// arguments in the family's order; NaN where they do not exist (a
/// Student-t with nu <= 2 has no finite variance).
///
/// # Formula
///
/// | family | mean | sd |
/// |---|---|---|
/// | Normal(mu, sigma) | mu | sigma |
/// | Laplace(mu, b) | mu | b sqrt(2) |
/// | StudentT(nu, mu, sigma) | mu (nu > 1) | sigma sqrt(nu / (nu - 2)) (nu > 2) |
/// | Logistic(mu, s) | mu | s pi / sqrt(3) |
/// | LogNormal(mu, sigma) | exp(mu + sigma^2/2) | mean sqrt(exp(sigma^2) - 1) |
/// | Exponential(rate) | 1/rate | 1/rate |
/// | Gamma(shape, rate) | shape/rate | sqrt(shape)/rate |
/// | Weibull(k, lambda) | lambda G1 | lambda sqrt(G2 - G1^2), Gj = Gamma(1 + j/k) |
/// | Beta(a, b) | a/(a+b) | sqrt(a b / ((a+b)^2 (a+b+1))) |
/// | Poisson(rate) | rate | sqrt(rate) |
/// | NegBinomial(mu, phi) | mu | sqrt(mu + mu^2/phi) |
/// | Geometric(p) | (1-p)/p | sqrt(1-p)/p |
/// | Bernoulli(p), ...Logit(eta), ...Probit(eta) | p | sqrt(p (1-p)) |
/// | Binomial(n, p), BinomialLogit(n, eta) | n p | sqrt(n p (1-p)) |
///
/// # Reference
///
/// N. L. Johnson, S. Kotz and N. Balakrishnan, *Continuous Univariate
/// Distributions* and *Univariate Discrete Distributions* (Wiley), the
/// chapter of each family.
pub fn mean_sd(family: &str, a: &[f64]) -> (f64, f64) {
    let bernoulli = |p: f64| (p, (p * (1.0 - p)).sqrt());
    let binomial = |n: f64, p: f64| (n * p, (n * p * (1.0 - p)).sqrt());
    match (family, a) {
        ("Normal", [mu, sigma]) => (*mu, *sigma),
        ("Laplace", [mu, b]) => (*mu, b * std::f64::consts::SQRT_2),
        ("StudentT", [nu, mu, sigma]) => {
            let mean = if *nu > 1.0 { *mu } else { f64::NAN };
            let sd = if *nu > 2.0 {
                sigma * (nu / (nu - 2.0)).sqrt()
            } else {
                f64::NAN
            };
            (mean, sd)
        }
        ("Logistic", [mu, s]) => (*mu, s * std::f64::consts::PI / 3f64.sqrt()),
        ("LogNormal", [mu, sigma]) => {
            // exp_m1 keeps sqrt(exp(sigma^2) - 1) accurate for small sigma.
            let mean = (mu + 0.5 * sigma * sigma).exp();
            (mean, mean * (sigma * sigma).exp_m1().sqrt())
        }
        ("Exponential", [rate]) => (1.0 / rate, 1.0 / rate),
        ("Gamma", [shape, rate]) => (shape / rate, shape.sqrt() / rate),
        ("Weibull", [k, lambda]) => {
            // Gamma(1 + j/k) through its log, which does not overflow
            // before the product does.
            let g1 = lgamma(1.0 + 1.0 / k).exp();
            let g2 = lgamma(1.0 + 2.0 / k).exp();
            (lambda * g1, lambda * (g2 - g1 * g1).max(0.0).sqrt())
        }
        ("Beta", [a, b]) => {
            let s = a + b;
            (a / s, (a * b / (s * s * (s + 1.0))).sqrt())
        }
        ("Poisson", [rate]) => (*rate, rate.sqrt()),
        ("NegBinomial", [mu, phi]) => (*mu, (mu + mu * mu / phi).sqrt()),
        ("Geometric", [p]) => ((1.0 - p) / p, (1.0 - p).sqrt() / p),
        ("Bernoulli", [p]) => bernoulli(*p),
        ("BernoulliLogit", [eta]) => bernoulli(logistic(*eta)),
        ("BernoulliProbit", [eta]) => bernoulli(norm_cdf(*eta)),
        ("Binomial", [n, p]) => binomial(*n, *p),
        ("BinomialLogit", [n, eta]) => binomial(*n, logistic(*eta)),
        _ => (f64::NAN, f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_few_families() {
        // Exponential(2): mean 1/2, sd 1/2.
        assert_eq!(mean_sd("Exponential", &[2.0]), (0.5, 0.5));
        // Weibull with shape 1 is Exponential(1 / scale).
        let (m, s) = mean_sd("Weibull", &[1.0, 3.0]);
        assert!((m - 3.0).abs() < 1e-12 && (s - 3.0).abs() < 1e-12);
        // Gamma(4, 2): mean 2, variance 1.
        assert_eq!(mean_sd("Gamma", &[4.0, 2.0]), (2.0, 1.0));
        // Beta(1, 1) is Uniform(0, 1): sd sqrt(1/12).
        let (m, s) = mean_sd("Beta", &[1.0, 1.0]);
        assert!((m - 0.5).abs() < 1e-15 && (s - (1.0f64 / 12.0).sqrt()).abs() < 1e-15);
        // Student-t with nu = 2 has no finite variance.
        assert!(mean_sd("StudentT", &[2.0, 0.0, 1.0]).1.is_nan());
        // BinomialLogit(10, 0): p = 1/2.
        assert_eq!(mean_sd("BinomialLogit", &[10.0, 0.0]), (5.0, 2.5f64.sqrt()));
    }
}
