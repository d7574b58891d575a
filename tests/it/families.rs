//! The distribution families beyond the first ten: their log-densities
//! against statrs or an independent closed form, their normalisation, the
//! normal log-CDF far in its tails, and the probability-scale categorical
//! through the whole compiler.

use nll::dist;
use nll::eval::{Columns, Program, ProgramOptions, Workspace};
use nll::graph::{Func, Graph};
use proptest::prelude::*;
use statrs::distribution::{
    Beta, Binomial, Cauchy, Continuous, ContinuousCDF, Discrete, Geometric, LogNormal,
    NegativeBinomial, Normal, Weibull,
};

/// -log p(y_i | args) for each y_i, through the graph and the evaluator.
/// The arguments are parameters (theta), except those listed in `data_args`,
/// which are data columns holding the same value in every row (Binomial's n).
fn nll_rows(family: &str, ys: &[f64], args: &[f64], data_args: &[usize]) -> Vec<f64> {
    let fam = dist::lookup(family).expect("family exists");
    let mut g = Graph::new();
    let y = g.data(0);
    let mut real = vec![ys.to_vec()];
    let mut theta = Vec::new();
    let mut nodes = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if data_args.contains(&i) {
            nodes.push(g.data(real.len() as u32));
            real.push(vec![*a; ys.len()]);
        } else {
            nodes.push(g.param(theta.len() as u32));
            theta.push(*a);
        }
    }
    let term = fam.neg_log_density(&mut g, y, &nodes);
    let cols = Columns {
        n_rows: ys.len(),
        real,
        factor: vec![],
    };
    let prog = Program::new(&g, &[], &[term], &cols, ProgramOptions::default());
    prog.eval_rows(&cols, &theta).pop().expect("one row root")
}

fn nll_at(family: &str, y: f64, args: &[f64], data_args: &[usize]) -> f64 {
    nll_rows(family, &[y], args, data_args)[0]
}

/// Relative agreement, with an absolute floor of `tol` for values near 0.
fn agree(ours: f64, reference: f64, tol: f64) -> bool {
    (ours - reference).abs() <= tol * reference.abs().max(1.0)
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

// ---- Log-densities at random points --------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Continuous families against statrs' `ln_pdf`.
    #[test]
    fn continuous_log_densities_match_statrs(
        mu in -3.0f64..3.0,
        scale in 0.05f64..5.0,
        shape in 0.2f64..6.0,
        z in -4.0f64..4.0,
        u in 0.001f64..0.999,
    ) {
        // Cauchy(mu, sigma) at y = mu + z sigma.
        let y = mu + z * scale;
        let ours = -nll_at("Cauchy", y, &[mu, scale], &[]);
        let theirs = Cauchy::new(mu, scale).unwrap().ln_pdf(y);
        prop_assert!(agree(ours, theirs, 1e-12), "Cauchy({mu}, {scale}) at {y}: {ours} vs statrs {theirs}");

        // LogNormal(mu, sigma) at y = exp(mu + z sigma).
        let y = (mu + z * scale).exp();
        let ours = -nll_at("LogNormal", y, &[mu, scale], &[]);
        let theirs = LogNormal::new(mu, scale).unwrap().ln_pdf(y);
        prop_assert!(agree(ours, theirs, 1e-12), "LogNormal({mu}, {scale}) at {y}: {ours} vs statrs {theirs}");

        // Weibull(shape, scale) at y = scale * exp(z / 2).
        let y = scale * (z / 2.0).exp();
        let ours = -nll_at("Weibull", y, &[shape, scale], &[]);
        let theirs = Weibull::new(shape, scale).unwrap().ln_pdf(y);
        prop_assert!(agree(ours, theirs, 1e-11), "Weibull({shape}, {scale}) at {y}: {ours} vs statrs {theirs}");

        // Beta(a, b) at y = u, with a = shape and b = 2 scale.
        let (a, b) = (shape, 2.0 * scale);
        let ours = -nll_at("Beta", u, &[a, b], &[]);
        let theirs = Beta::new(a, b).unwrap().ln_pdf(u);
        prop_assert!(agree(ours, theirs, 1e-10), "Beta({a}, {b}) at {u}: {ours} vs statrs {theirs}");
    }

    /// Logistic(mu, s) against the closed form
    ///   p(y) = sech^2(z / 2) / (4 s),  z = (y - mu) / s,
    /// (Johnson, Kotz and Balakrishnan, Continuous Univariate Distributions,
    /// vol. 2, ch. 23), a different formula from the one the family uses.
    #[test]
    fn logistic_log_density_matches_the_sech_form(mu in -3.0f64..3.0, s in 0.05f64..5.0, z in -30.0f64..30.0) {
        let y = mu + z * s;
        let ours = -nll_at("Logistic", y, &[mu, s], &[]);
        let zz = (y - mu) / s;
        let reference = -(4.0 * s).ln() - 2.0 * (zz / 2.0).cosh().ln();
        prop_assert!(agree(ours, reference, 1e-12), "Logistic({mu}, {s}) at {y}: {ours} vs {reference}");
    }

    /// Binomial, BinomialLogit and Geometric against statrs' `ln_pmf`, with
    /// n a data column.
    #[test]
    fn discrete_log_masses_match_statrs(n in 1u64..60, k_frac in 0.0f64..1.0, p in 0.01f64..0.99, eta in -6.0f64..6.0, k in 0u64..80) {
        let y = (k_frac * n as f64).floor();
        let ours = -nll_at("Binomial", y, &[n as f64, p], &[0]);
        let theirs = Binomial::new(p, n).unwrap().ln_pmf(y as u64);
        prop_assert!(agree(ours, theirs, 1e-11), "Binomial({n}, {p}) at {y}: {ours} vs statrs {theirs}");

        let ours = -nll_at("BinomialLogit", y, &[n as f64, eta], &[0]);
        let theirs = Binomial::new(logistic(eta), n).unwrap().ln_pmf(y as u64);
        prop_assert!(agree(ours, theirs, 1e-10), "BinomialLogit({n}, {eta}) at {y}: {ours} vs statrs {theirs}");

        // statrs counts trials up to and including the first success
        // (support 1, 2, ...); Geometric here counts the failures before it,
        // so y failures are y + 1 trials.
        let ours = -nll_at("Geometric", k as f64, &[p], &[]);
        let theirs = Geometric::new(p).unwrap().ln_pmf(k + 1);
        prop_assert!(agree(ours, theirs, 1e-11), "Geometric({p}) at {k}: {ours} vs statrs {theirs}");
    }

    /// NegBinomial(mu, phi) against statrs' NegativeBinomial(r = phi,
    /// p = phi / (phi + mu)), which counts failures with mean mu. statrs
    /// sums lgamma values of size phi log(phi) directly, so phi stays
    /// where that is good to 1e-11 (the next test covers large phi).
    #[test]
    fn negative_binomial_log_mass_matches_statrs(mu in 0.01f64..200.0, log_phi in -3.0f64..9.0, y in 0u64..300) {
        let phi = log_phi.exp();
        let ours = -nll_at("NegBinomial", y as f64, &[mu, phi], &[]);
        let theirs = NegativeBinomial::new(phi, phi / (phi + mu)).unwrap().ln_pmf(y);
        prop_assert!(agree(ours, theirs, 1e-10), "NegBinomial({mu}, {phi}) at {y}: {ours} vs statrs {theirs}");
    }

    /// Phi, log Phi and BernoulliProbit against statrs' standard normal CDF
    /// where the CDF is not too small to take its log directly. statrs'
    /// CDF is built on the same erfc, so this checks the wiring (signs,
    /// scaling, which tail); the high-precision table below checks accuracy.
    #[test]
    fn probit_matches_the_statrs_normal_cdf(u in -8.0f64..8.0) {
        let normal = Normal::new(0.0, 1.0).unwrap();
        let phi = eval_unary(Func::Phi, u);
        prop_assert!(agree(phi, normal.cdf(u), 1e-14), "Phi({u}): {phi} vs statrs {}", normal.cdf(u));
        let log_phi = eval_unary(Func::LogPhi, u);
        prop_assert!(agree(log_phi, normal.cdf(u).ln(), 1e-13), "logPhi({u}): {log_phi} vs {}", normal.cdf(u).ln());
        for y in [0.0, 1.0] {
            let ours = -nll_at("BernoulliProbit", y, &[u], &[]);
            let p = if y == 1.0 { normal.cdf(u) } else { normal.sf(u) };
            prop_assert!(agree(ours, p.ln(), 1e-13), "BernoulliProbit({u}) at {y}: {ours} vs {}", p.ln());
        }
    }
}

// ---- Normalisation -------------------------------------------------------

/// Composite Simpson's rule on equally spaced values f_0, ..., f_n (n even)
/// with spacing h. Its error is O(h^4) for a smooth integrand; every
/// integrand below is smooth after its change of variables.
fn simpson(values: &[f64], h: f64) -> f64 {
    let n = values.len() - 1;
    assert!(n.is_multiple_of(2));
    let inner: f64 = values[1..n]
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { 4.0 * v } else { 2.0 * v })
        .sum();
    (values[0] + values[n] + inner) * h / 3.0
}

/// The integral of exp(-nll(y)) dy over the support, after the change of
/// variables y = to_y(t) on t in [t0, t1] (dy = dy_dt(t) dt), by Simpson's
/// rule, with every density value from one evaluator pass over a data column.
fn total_mass(
    family: &str,
    args: &[f64],
    to_y: impl Fn(f64) -> f64,
    dy_dt: impl Fn(f64) -> f64,
    t0: f64,
    t1: f64,
) -> f64 {
    const N: usize = 40_000;
    let h = (t1 - t0) / N as f64;
    let ts: Vec<f64> = (0..=N).map(|i| t0 + i as f64 * h).collect();
    let ys: Vec<f64> = ts.iter().map(|t| to_y(*t)).collect();
    let nll = nll_rows(family, &ys, args, &[]);
    let dens: Vec<f64> = ts
        .iter()
        .zip(&nll)
        .map(|(t, v)| (-v).exp() * dy_dt(*t))
        .collect();
    simpson(&dens, h)
}

#[test]
fn continuous_densities_integrate_to_one() {
    // Cauchy: y = mu + sigma sinh(t) turns the density into 1 / (pi cosh t)
    // in t, whose mass beyond |t| = 45 is below (2 / pi) e^-45 < 1e-19.
    for (mu, sigma) in [(0.0, 1.0), (1.5, 0.7), (-3.0, 20.0)] {
        let m = total_mass(
            "Cauchy",
            &[mu, sigma],
            |t| mu + sigma * t.sinh(),
            |t| sigma * t.cosh(),
            -45.0,
            45.0,
        );
        assert!((m - 1.0).abs() < 1e-9, "Cauchy({mu}, {sigma}): {m}");
    }
    // Logistic: the mass outside mu +- 60 s is 2 / (1 + e^60) < 1e-25.
    for (mu, s) in [(0.0, 1.0), (-0.5, 2.0), (3.0, 0.1)] {
        let m = total_mass(
            "Logistic",
            &[mu, s],
            |t| t,
            |_| 1.0,
            mu - 60.0 * s,
            mu + 60.0 * s,
        );
        assert!((m - 1.0).abs() < 1e-9, "Logistic({mu}, {s}): {m}");
    }
    // LogNormal: in t = log y the density is Normal(mu, sigma); the mass
    // beyond 12 standard deviations is below 1e-32.
    for (mu, sigma) in [(0.0, 1.0), (0.3, 0.8), (-2.0, 2.5)] {
        let m = total_mass(
            "LogNormal",
            &[mu, sigma],
            f64::exp,
            f64::exp,
            mu - 12.0 * sigma,
            mu + 12.0 * sigma,
        );
        assert!((m - 1.0).abs() < 1e-9, "LogNormal({mu}, {sigma}): {m}");
    }
    // Weibull: in t = log(y / lambda), P(y < lambda e^t0) = 1 - exp(-e^(k t0))
    // <= e^(k t0) = e^-40 for t0 = -40 / k, and
    // P(y > lambda e^t1) = exp(-e^(k t1)) = exp(-e^4) < 1e-23 for t1 = 4 / k.
    for (k, lambda) in [(1.0, 1.0), (0.7, 2.0), (2.5, 0.5), (8.0, 3.0)] {
        let m = total_mass(
            "Weibull",
            &[k, lambda],
            |t| lambda * t.exp(),
            |t| lambda * t.exp(),
            -40.0 / k,
            4.0 / k,
        );
        assert!((m - 1.0).abs() < 1e-9, "Weibull({k}, {lambda}): {m}");
    }
    // Beta: y = logistic(t), dy = y (1 - y) dt. In t the density is below
    // y^a (1 - y)^b / B(a, b), so the mass below t = -80 is below
    // e^(-80 a) / (a B(a, b)) < 1e-17 for the shapes here, and above t = 36
    // below e^(-36 b) / (b B(a, b)) < 1e-15. The upper end
    // stops at 36 because logistic(t) rounds to 1 beyond about t = 37, so
    // shapes b < 1 (mass piling up within rounding of y = 1) are not used.
    for (a, b) in [(0.5, 2.0), (2.0, 5.0), (30.0, 12.0), (1.0, 1.0)] {
        let m = total_mass(
            "Beta",
            &[a, b],
            logistic,
            |t| logistic(t) * logistic(-t),
            -80.0,
            36.0,
        );
        assert!((m - 1.0).abs() < 1e-9, "Beta({a}, {b}): {m}");
    }
}

/// Near its Poisson limit, where -log p differs from the Poisson's by about
/// ((y - mu)^2 - y) / (2 phi), the negative binomial keeps full precision:
/// its lgamma terms, each about phi log(phi), cancel to the size of the
/// counts. Reference values from mpmath at 60 digits.
#[test]
fn negative_binomial_keeps_its_precision_near_the_poisson_limit() {
    let cases = [
        (0.0, 3.0, 1e8, 2.999_999_955_000_000_9),
        (7.0, 3.0, 1e8, 3.834_875_295_388_648_8),
        (7.0, 3.0, 1e12, 3.834_875_340_384_146_5),
        (40.0, 25.5, 1e12, 6.273_501_628_097_052),
        (2.0, 0.5, 1e16, 2.579_441_541_679_836),
        (123.0, 80.0, 3e5, 13.232_232_122_231_661),
    ];
    for (y, mu, phi, want) in cases {
        let got = nll_at("NegBinomial", y, &[mu, phi], &[]);
        // Rounding of the Poisson-sized terms that are summed (lgamma(y + 1),
        // y log(mu), about mu, twice about y), each through a log or log1p
        // within 2 or 4 ulps, and five sums: 16 ulps of their total. Summed
        // directly, phi log(phi) of 3e13 at phi = 1e12 leaves an error
        // near 1e-2.
        let terms = statrs::function::gamma::ln_gamma(y + 1.0) + y * mu.ln().abs() + mu + 2.0 * y;
        assert!(
            (got - want).abs() <= 16.0 * f64::EPSILON * terms,
            "NegBinomial({mu}, {phi}) at {y}: {got} vs {want}"
        );
    }
}

#[test]
fn discrete_masses_sum_to_one() {
    for (n, p) in [(1.0, 0.5), (12.0, 0.3), (200.0, 0.01)] {
        let ys: Vec<f64> = (0..=n as u32).map(f64::from).collect();
        let total: f64 = nll_rows("Binomial", &ys, &[n, p], &[0])
            .iter()
            .map(|v| (-v).exp())
            .sum();
        assert!((total - 1.0).abs() < 1e-12, "Binomial({n}, {p}): {total}");
    }
    for (n, eta) in [(5.0, 0.0), (12.0, -0.4), (300.0, 3.0)] {
        let ys: Vec<f64> = (0..=n as u32).map(f64::from).collect();
        let total: f64 = nll_rows("BinomialLogit", &ys, &[n, eta], &[0])
            .iter()
            .map(|v| (-v).exp())
            .sum();
        assert!(
            (total - 1.0).abs() < 1e-12,
            "BinomialLogit({n}, {eta}): {total}"
        );
    }
    // NegBinomial: its tail falls like (mu / (phi + mu))^y, at most
    // (6/7)^5000 < 1e-300 beyond y = 5000 for these.
    for (mu, phi) in [(3.0, 0.5), (40.0, 7.0), (20.0, 1e9)] {
        let ys: Vec<f64> = (0..=5000).map(f64::from).collect();
        let total: f64 = nll_rows("NegBinomial", &ys, &[mu, phi], &[])
            .iter()
            .map(|v| (-v).exp())
            .sum();
        assert!(
            (total - 1.0).abs() < 1e-12,
            "NegBinomial({mu}, {phi}): {total}"
        );
    }
    // Geometric: the mass beyond y = Y is (1 - p)^(Y + 1); with Y = 5000 it
    // is below 0.99^5001 < 1e-21 for p >= 0.01.
    for p in [0.01, 0.3, 0.9] {
        let ys: Vec<f64> = (0..=5000).map(f64::from).collect();
        let total: f64 = nll_rows("Geometric", &ys, &[p], &[])
            .iter()
            .map(|v| (-v).exp())
            .sum();
        assert!((total - 1.0).abs() < 1e-12, "Geometric({p}): {total}");
    }
    for eta in [-30.0, -2.0, 0.0, 0.3, 7.0] {
        let total: f64 = nll_rows("BernoulliProbit", &[0.0, 1.0], &[eta], &[])
            .iter()
            .map(|v| (-v).exp())
            .sum();
        assert!(
            (total - 1.0).abs() < 1e-14,
            "BernoulliProbit({eta}): {total}"
        );
    }
}

// ---- The normal log-CDF in its tails --------------------------------------

/// f(u), f'(u) and f''(u) through the graph's symbolic derivatives and the
/// evaluator, with u a parameter.
fn eval_unary_derivatives(f: Func, u: f64) -> [f64; 3] {
    let mut g = Graph::new();
    let t = g.param(0);
    let root = g.unary(f, t);
    let d1 = g.diff(root, 0);
    let d2 = g.diff(d1, 0);
    let cols = Columns {
        n_rows: 1,
        real: vec![],
        factor: vec![],
    };
    let prog = Program::new(&g, &[root, d1, d2], &[], &cols, ProgramOptions::default());
    let mut ws = Workspace::new(&prog);
    let mut out = [0.0; 3];
    prog.eval(&mut ws, &cols, &[u], &mut out);
    out
}

fn eval_unary(f: Func, u: f64) -> f64 {
    eval_unary_derivatives(f, u)[0]
}

/// log Phi(u), its derivative m = phi(u) / Phi(u) and its second derivative
/// -m (u + m), computed with mpmath 1.4.1 at 60 digits and rounded to
/// the nearest double:
///   log(ncdf(u)) for u <= 0 and log1p(-ncdf(-u)) for u > 0,
///   npdf(u) / ncdf(u).
/// At u = 40 they are -3.655893540915029704e-350, 1.463270250838303179e-348
/// and -5.853081003353212715e-347, below the smallest double: 0 in the table.
const LOG_PHI_REFERENCE: &[(f64, f64, f64, f64)] = &[
    (
        -40.0,
        -804.6084420137538,
        40.02496884720726,
        -0.9993773316214086,
    ),
    (
        -20.0,
        -203.91715537109727,
        20.04975306852785,
        -0.9975367383849478,
    ),
    (
        -10.5,
        -58.404187061073245,
        10.593583926132379,
        -0.9913891756203221,
    ),
    (
        -10.0,
        -53.23128515051247,
        10.098093233962512,
        -0.9905546221743438,
    ),
    (
        -5.0,
        -15.064998393988725,
        5.186503967125842,
        -0.9673035653828878,
    ),
    (
        -1.0,
        -1.8410216450092636,
        1.525135276160981,
        -0.8009023344296512,
    ),
    (
        0.0,
        -0.6931471805599453,
        0.7978845608028654,
        -0.6366197723675814,
    ),
    (
        1.0,
        -0.17275377902344988,
        0.2875999709391784,
        -0.3703137142233946,
    ),
    (
        5.0,
        -2.866516129637636e-7,
        1.4867199409049056e-6,
        -7.433601914860711e-6,
    ),
    (40.0, 0.0, 0.0, 0.0),
];

/// Relative error, or the absolute value where the reference underflows.
fn rel_err(ours: f64, reference: f64) -> f64 {
    if reference.abs() < f64::MIN_POSITIVE {
        ours.abs()
    } else {
        ((ours - reference) / reference).abs()
    }
}

#[test]
fn log_phi_and_its_derivatives_match_high_precision_values() {
    for &(u, lp, m, dm) in LOG_PHI_REFERENCE {
        let [v, d1, d2] = eval_unary_derivatives(Func::LogPhi, u);
        assert!(
            v.is_finite() && d1.is_finite() && d2.is_finite(),
            "u = {u}: {v} {d1} {d2}"
        );
        // Below u = -10 the asymptotic series is accurate to rounding; the
        // second derivative loses up to |m / (u + m)| ~ 1600 ulps to the
        // cancellation in u + m. From u = -10 up, log Phi inherits the about
        // 1e-10 relative error of statrs 0.19's erfc, and the second
        // derivative amplifies it by |m / (u + m)|, about 100 at u = -10.
        let (tol, tol2) = if u < -10.0 {
            (1e-14, 1e-11)
        } else {
            (1e-9, 1e-7)
        };
        assert!(
            rel_err(v, lp) < tol,
            "log Phi({u}) = {v}, reference {lp}, rel {:e}",
            rel_err(v, lp)
        );
        assert!(
            rel_err(d1, m) < tol,
            "d log Phi({u}) = {d1}, reference {m}, rel {:e}",
            rel_err(d1, m)
        );
        assert!(
            rel_err(d2, dm) < tol2,
            "d2 log Phi({u}) = {d2}, reference {dm}, rel {:e}",
            rel_err(d2, dm)
        );
    }
}

#[test]
fn log_phi_is_continuous_where_it_switches_to_the_asymptotic_series() {
    // The switch is at u = -10. The two sides differ by the error of erfc
    // there (about 1e-10 relative), far below what a finite-difference
    // step or an optimizer step could notice.
    let below = eval_unary_derivatives(Func::LogPhi, -10.0 - 1e-12);
    let at = eval_unary_derivatives(Func::LogPhi, -10.0);
    for i in 0..3 {
        assert!(
            (below[i] - at[i]).abs() < 1e-8 * at[i].abs(),
            "derivative {i}: {} vs {}",
            below[i],
            at[i]
        );
    }
}

#[test]
fn probit_stays_finite_for_confidently_wrong_predictions() {
    // y = 1 at eta = -40 and y = 0 at eta = 40 both cost -log Phi(-40).
    for (eta, y) in [(-40.0, 1.0), (40.0, 0.0)] {
        let mut g = Graph::new();
        let t = g.param(0);
        let yn = g.data(0);
        let term = dist::lookup("BernoulliProbit")
            .unwrap()
            .neg_log_density(&mut g, yn, &[t]);
        let root = g.sum(term);
        let d1 = g.diff(root, 0);
        let d2 = g.diff(d1, 0);
        let cols = Columns {
            n_rows: 1,
            real: vec![vec![y]],
            factor: vec![],
        };
        let prog = Program::new(&g, &[root, d1, d2], &[], &cols, ProgramOptions::default());
        let mut ws = Workspace::new(&prog);
        let mut out = [0.0; 3];
        prog.eval(&mut ws, &cols, &[eta], &mut out);
        let sign = if y == 1.0 { -1.0 } else { 1.0 };
        assert!(
            (out[0] - 804.6084420137538).abs() < 1e-12 * 804.6,
            "{out:?}"
        );
        assert!(
            (out[1] - sign * 40.02496884720726).abs() < 1e-12 * 40.0,
            "{out:?}"
        );
        assert!((out[2] - 0.9993773316214086).abs() < 1e-10, "{out:?}");
    }
}

#[test]
fn probability_links_are_evaluated_in_their_stable_forms() {
    // Bernoulli(Phi(eta)) builds the same node as BernoulliProbit(eta), and
    // Binomial(n, logistic(eta)) the same as BinomialLogit(n, eta), so both
    // stay finite where Phi(eta) or logistic(eta) rounds to 0 or 1.
    let mut g = Graph::new();
    let eta = g.param(0);
    let y = g.data(0);
    let n = g.data(1);
    let phi = g.unary(Func::Phi, eta);
    let via_phi = dist::lookup("Bernoulli")
        .unwrap()
        .neg_log_density(&mut g, y, &[phi]);
    let probit = dist::lookup("BernoulliProbit")
        .unwrap()
        .neg_log_density(&mut g, y, &[eta]);
    assert_eq!(via_phi, probit);
    let p = g.unary(Func::Logistic, eta);
    let via_logistic = dist::lookup("Binomial")
        .unwrap()
        .neg_log_density(&mut g, y, &[n, p]);
    let logit = dist::lookup("BinomialLogit")
        .unwrap()
        .neg_log_density(&mut g, y, &[n, eta]);
    assert_eq!(via_logistic, logit);
    // Three successes in three trials: at p = 1/2 the cost is 3 log 2; at
    // eta = -800 it is -log C(3, 3) + 3 softplus(-800) + 3 * 800 = 2400 to
    // double precision, where logistic(-800) itself underflows to 0.
    assert!(
        (nll_at("Binomial", 3.0, &[3.0, 0.5], &[0]) - 3.0 * std::f64::consts::LN_2).abs() < 1e-15
    );
    let cols = Columns {
        n_rows: 1,
        real: vec![vec![3.0], vec![3.0]],
        factor: vec![],
    };
    let prog = Program::new(&g, &[], &[logit], &cols, ProgramOptions::default());
    assert_eq!(prog.eval_rows(&cols, &[-800.0])[0][0], 2400.0);
}

// ---- Categorical on probabilities through the compiler -----------------

fn compile_and_eval(
    source: &str,
    column: nll::data::Column,
    kind: nll::data::ColumnKind,
    theta: &[f64],
) -> Vec<f64> {
    use nll::data::DataSet;
    let program = nll::syntax::parse_program(source).unwrap();
    let (m, diags) = nll::model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let n_rows = match &column {
        nll::data::Column::Real(v) => v.len(),
        nll::data::Column::Factor { codes, .. } => codes.len(),
    };
    let ds = DataSet {
        n_rows,
        columns: vec![("y".into(), kind, column)],
        n_dropped: 0,
        n_filtered_out: 0,
        source_rows: (1..=n_rows).collect(),
    };
    let c = nll::compile::compile(&m, &ds, &ds.source_rows).unwrap_or_else(|d| panic!("{d:?}"));
    let prog = c.grad_program();
    let mut ws = Workspace::new(&prog);
    let mut out = vec![0.0; prog.n_outputs()];
    prog.eval(&mut ws, &c.columns, theta, &mut out);
    out
}

#[test]
fn categorical_is_minus_log_of_the_chosen_probability() {
    use nll::data::{Column, ColumnKind};
    // Three classes with p = (a, (1 - a) b, (1 - a)(1 - b)); a and b are in
    // (0, 1), so a = logistic(theta_a), b = logistic(theta_b).
    let factor_model = "data y: factor\nparam a in (0, 1), b in (0, 1)\ny ~ Categorical(a, (1 - a) * b, (1 - a) * (1 - b))\n";
    let int_model = "data y: int\nparam a in (0, 1), b in (0, 1)\ny ~ Categorical(a, (1 - a) * b, (1 - a) * (1 - b))\n";
    let theta = [0.4, -1.1];
    let (a, b) = (logistic(theta[0]), logistic(theta[1]));
    let p = [a, (1.0 - a) * b, (1.0 - a) * (1.0 - b)];
    let classes = [0usize, 2, 1, 2, 2, 0];
    let expected: f64 = classes.iter().map(|k| -p[*k].ln()).sum();
    let nll_of = |theta: &[f64]| {
        let (a, b) = (logistic(theta[0]), logistic(theta[1]));
        let p = [a, (1.0 - a) * b, (1.0 - a) * (1.0 - b)];
        classes.iter().map(|k| -p[*k].ln()).sum::<f64>()
    };

    let factor = Column::Factor {
        codes: classes.iter().map(|k| *k as u32).collect(),
        levels: vec!["cat".into(), "dog".into(), "eel".into()],
    };
    let ints = Column::Real(classes.iter().map(|k| *k as f64 + 1.0).collect());
    for out in [
        compile_and_eval(factor_model, factor, ColumnKind::Factor, &theta),
        compile_and_eval(int_model, ints, ColumnKind::Int, &theta),
    ] {
        assert!(
            (out[0] - expected).abs() < 1e-12 * expected,
            "{} vs {expected}",
            out[0]
        );
        // Gradient in theta against central differences of the closed form.
        for k in 0..2 {
            let h = 1e-5;
            let mut tp = theta;
            tp[k] += h;
            let mut tm = theta;
            tm[k] -= h;
            let fd = (nll_of(&tp) - nll_of(&tm)) / (2.0 * h);
            assert!(
                (out[1 + k] - fd).abs() < 1e-7,
                "d/dtheta_{k}: {} vs {fd}",
                out[1 + k]
            );
        }
    }
}

#[test]
fn categorical_signature_names_probabilities() {
    assert_eq!(
        dist::lookup("Categorical").unwrap().signature(),
        "Categorical(p_1, ..., p_K)"
    );
    assert_eq!(
        dist::lookup("CategoricalLogit").unwrap().signature(),
        "CategoricalLogit(eta_1, ..., eta_K)"
    );
}

// ---- The examples fit, and their optimum is that of statrs' likelihood --

/// The rows of a CSV file under examples/data, as maps from header to text.
fn read_csv(file: &str) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(crate::common::repo_path(&format!("examples/data/{file}")))
        .unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &std::collections::HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap()
}

/// The example converged, its NLL equals `independent` at the estimates, and
/// `independent` is flat there: for each parameter, its central difference
/// over +-1e-3 standard errors, times the standard error, is below 1e-4
/// (one standard error away from the optimum the same quantity is about 1).
fn check_example_fit(
    example: &str,
    data: &str,
    filters: &[(&str, &str)],
    independent: impl Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let report = crate::common::fit_example(example, data, filters);
    assert!(report.converged, "{example}: {}", report.status);
    let est: Vec<f64> = report.parameters.iter().map(|p| p.estimate).collect();
    let reference = independent(&est);
    assert!(
        (report.nll - reference).abs() < 1e-8 * reference.abs(),
        "{example}: NLL {} vs independent {reference}",
        report.nll
    );
    for (k, p) in report.parameters.iter().enumerate() {
        let se = p.std_error.expect("a standard error");
        let h = 1e-3 * se;
        let mut up = est.clone();
        up[k] += h;
        let mut down = est.clone();
        down[k] -= h;
        let slope = (independent(&up) - independent(&down)) / (2.0 * h) * se;
        assert!(
            slope.abs() < 1e-4,
            "{example}: d NLL / d {} times its standard error is {slope}",
            p.name
        );
    }
    est
}

#[test]
fn beta_regression_example_fits_the_statrs_likelihood() {
    let rows: Vec<(f64, f64)> = read_csv("proportions.csv")
        .iter()
        .map(|r| (num(r, "x"), num(r, "y")))
        .collect();
    let est = check_example_fit("beta_regression.nll", "proportions.csv", &[], |p| {
        rows.iter()
            .map(|(x, y)| {
                let mu = logistic(p[0] + p[1] * x);
                -Beta::new(mu * p[2], (1.0 - mu) * p[2]).unwrap().ln_pdf(*y)
            })
            .sum()
    });
    // Simulated with b0 = -0.5, b1 = 1.2, phi = 25.
    assert!(
        (est[0] + 0.5).abs() < 0.1 && (est[1] - 1.2).abs() < 0.1 && (est[2] - 25.0).abs() < 6.0,
        "{est:?}"
    );
}

#[test]
fn weibull_survival_example_fits_the_statrs_likelihood() {
    let rows: Vec<[f64; 3]> = read_csv("survival.csv")
        .iter()
        .map(|r| [num(r, "time"), num(r, "treated"), num(r, "age")])
        .collect();
    let est = check_example_fit("weibull_survival.nll", "survival.csv", &[], |p| {
        rows.iter()
            .map(|[t, treated, age]| {
                let scale = (p[1] + p[2] * treated + p[3] * age).exp();
                -Weibull::new(p[0], scale).unwrap().ln_pdf(*t)
            })
            .sum()
    });
    // Simulated with shape 1.6, c0 = 2, c_treated = 0.5, c_age = -0.3.
    let truth = [1.6, 2.0, 0.5, -0.3];
    for (e, t) in est.iter().zip(truth) {
        assert!((e - t).abs() < 0.2, "{est:?}");
    }
}

#[test]
fn probit_example_fits_the_statrs_likelihood() {
    let rows: Vec<[f64; 5]> = read_csv("breast_cancer.csv")
        .iter()
        .filter(|r| r["split"] == "train")
        .map(|r| {
            [
                num(r, "malignant"),
                num(r, "mean_radius"),
                num(r, "mean_texture"),
                num(r, "mean_smoothness"),
                num(r, "mean_concave_points"),
            ]
        })
        .collect();
    let normal = Normal::new(0.0, 1.0).unwrap();
    check_example_fit(
        "breast_cancer_probit.nll",
        "breast_cancer.csv",
        &[("split", "train")],
        |p| {
            rows.iter()
                .map(|r| {
                    let eta = p[0] + p[1] * r[1] + p[2] * r[2] + p[3] * r[3] + p[4] * r[4];
                    let prob = if r[0] == 1.0 {
                        normal.cdf(eta)
                    } else {
                        normal.sf(eta)
                    };
                    -prob.ln()
                })
                .sum()
        },
    );
}
