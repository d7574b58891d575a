//! Profile-likelihood intervals against closed forms, and `--profile` on
//! the command line.

use nll::compile;
use nll::data::{self, LoadOptions};
use nll::infer::{self, FitOptions, ProfileBound, ProfileInterval, ProfileOptions};
use nll::model;
use nll::syntax;

use crate::common::repo_path;

/// Bounds must match the closed form to this (absolute, in the parameter's
/// units). The root finder works to ~1e-10 standard errors; the rest is
/// the rounding of the NLL at the inner optima. Measured: 1e-12 to 7e-11 on
/// the cases below, so this leaves room for other platforms' rounding.
const BOUND_ABS_TOL: f64 = 1e-6;

/// Fits `model` (repository path) on `data`, checks that the fit
/// converged, and profiles `names`.
fn check_profile(model: &str, data_file: &str, names: &[&str], level: f64) -> Vec<ProfileInterval> {
    let (converged, intervals) = fit_and_profile(model, data_file, names, level);
    assert!(converged, "the fit of {model} did not converge");
    intervals
}

/// Fits `model` on `data` and profiles `names`; whether the fit converged,
/// and the intervals.
fn fit_and_profile(
    model: &str,
    data_file: &str,
    names: &[&str],
    level: f64,
) -> (bool, Vec<ProfileInterval>) {
    let source = std::fs::read_to_string(repo_path(model)).unwrap();
    let program = syntax::parse_program(&source).unwrap();
    let (m, diags) = model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let ds = data::load_csv(
        std::path::Path::new(&repo_path(data_file)),
        &compile::column_requests(&m),
        &LoadOptions::default(),
    )
    .unwrap();
    let c = compile::compile(&m, &ds, &ds.source_rows).unwrap();
    let report = infer::fit(&c, &FitOptions::default()).unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let targets = infer::resolve_profile_names(&c, &names).unwrap();
    let opts = ProfileOptions {
        level,
        ..ProfileOptions::default()
    };
    (
        report.converged,
        infer::profile(&c, &report, &targets, &opts),
    )
}

/// One column of a CSV file in the repository, as numbers.
fn csv_column(path: &str, column: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(repo_path(path)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let idx = header.iter().position(|h| *h == column).unwrap();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').nth(idx).unwrap().parse().unwrap())
        .collect()
}

/// The zero of a decreasing-then-increasing `f` on [a, b] by plain
/// bisection: `f(a)` and `f(b)` of opposite signs.
fn bisect(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let fa = f(a);
    assert!(fa * f(b) < 0.0, "no sign change on [{a}, {b}]");
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if (f(m) < 0.0) == (fa < 0.0) {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// Checks both ends of `interval` against `lower` and `upper`.
fn assert_bounds(interval: &ProfileInterval, lower: f64, upper: f64) {
    let ok = |b: &ProfileBound, want: f64| (found(b) - want).abs() < BOUND_ABS_TOL;
    assert!(ok(&interval.lower, lower), "lower {lower}: {interval:?}");
    assert!(ok(&interval.upper, upper), "upper {upper}: {interval:?}");
}

fn found(b: &ProfileBound) -> f64 {
    b.value()
        .unwrap_or_else(|| panic!("expected a bound, found {b:?}"))
}

#[test]
fn normal_mean_interval_matches_the_closed_form() {
    // With mu and sigma both free, sigma's optimum at fixed mu is
    //   sigma^2(mu) = s2 + (ybar - mu)^2,   s2 = (1/n) sum (y_i - ybar)^2,
    // so the profile NLL is n/2 log(2 pi sigma^2(mu)) + n/2 and
    //   2 (NLL_p(mu) - NLL_min) = n log(1 + (ybar - mu)^2 / s2).
    // Setting it equal to q gives
    //   mu = ybar +- sqrt(s2 (exp(q / n) - 1)).
    let y = csv_column("examples/data/engel.csv", "foodexp");
    let n = y.len() as f64;
    let ybar = y.iter().sum::<f64>() / n;
    let s2 = y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>() / n;
    for level in [0.95, 0.99] {
        let q = infer::chi_square_1_quantile(level);
        let half = (s2 * (q / n).exp_m1()).sqrt();
        let p = check_profile(
            "tests/fixtures/normal_mean.nll",
            "examples/data/engel.csv",
            &["mu", "sigma"],
            level,
        );
        assert_eq!(p[0].name, "mu");
        assert_bounds(&p[0], ybar - half, ybar + half);

        // sigma's profile: mu = ybar at every sigma, so
        //   2 (NLL_p(sigma) - NLL_min) = n (2 log(sigma / sigma_hat) + s2 / sigma^2 - 1),
        // solved here by bisection on each side of sigma_hat = sqrt(s2).
        let sigma_hat = s2.sqrt();
        let dev = |s: f64| n * (2.0 * (s / sigma_hat).ln() + s2 / (s * s) - 1.0) - q;
        let lo = bisect(dev, 0.5 * sigma_hat, sigma_hat);
        let hi = bisect(dev, sigma_hat, 2.0 * sigma_hat);
        assert_bounds(&p[1], lo, hi);
        // The profile interval of a scale is asymmetric: longer upward.
        assert!(hi - sigma_hat > sigma_hat - lo);
    }
}

#[test]
fn poisson_rate_interval_solves_the_deviance_equation() {
    // With one rate for all rows, lambda_hat = ybar and
    //   2 (NLL(lambda) - NLL_min) = 2 n [ybar log(ybar / lambda) - (ybar - lambda)],
    // whose two roots at q are found here by bisection.
    let y = csv_column("examples/data/randhie.csv", "mdvis");
    let n = y.len() as f64;
    let ybar = y.iter().sum::<f64>() / n;
    let q = infer::chi_square_1_quantile(0.95);
    let dev = |l: f64| 2.0 * n * (ybar * (ybar / l).ln() - (ybar - l)) - q;
    let lo = bisect(dev, 0.5 * ybar, ybar);
    let hi = bisect(dev, ybar, 2.0 * ybar);
    let p = check_profile(
        "tests/fixtures/poisson_rate.nll",
        "examples/data/randhie.csv",
        &["all"],
        0.95,
    );
    assert_eq!(p.len(), 1);
    assert!((p[0].estimate - ybar).abs() < 1e-9);
    assert_bounds(&p[0], lo, hi);
    // The curve holds the estimate and points on both sides, in order.
    let values: Vec<f64> = p[0].curve.iter().map(|c| c.value).collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    assert!(values[0] < lo && *values.last().unwrap() > hi);
}

#[test]
fn a_flat_profile_is_unbounded() {
    // `a` and `b` enter only as `a + b`: fixing one, the other takes up the
    // difference, and the profile is flat.
    let (converged, p) = fit_and_profile(
        "tests/fixtures/not_identified.nll",
        "tests/fixtures/xy.csv",
        &["a", "c"],
        0.95,
    );
    assert!(!converged);
    assert!(p[0].notes.iter().any(|n| n.contains("did not converge")));
    assert!(
        matches!(p[0].lower, ProfileBound::Unbounded { .. }),
        "{:?}",
        p[0]
    );
    assert!(
        matches!(p[0].upper, ProfileBound::Unbounded { .. }),
        "{:?}",
        p[0]
    );
    // `c` is identified: it has both bounds around its estimate.
    assert!(found(&p[1].lower) < p[1].estimate && p[1].estimate < found(&p[1].upper));
}

#[test]
fn per_level_elements_are_profiled_by_name() {
    // y ~ Normal(u[g], s): at fixed u[north] = v the other means stay at
    // their group averages and s^2(v) = (RSS + n_north (ybar_north - v)^2) / n,
    // so 2 (NLL_p(v) - NLL_min) = n log(1 + n_north (ybar_north - v)^2 / RSS)
    // and the bounds are ybar_north +- sqrt(RSS (exp(q / n) - 1) / n_north).
    let text = std::fs::read_to_string(repo_path("tests/fixtures/groups.csv")).unwrap();
    let rows: Vec<(String, f64)> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (g, y) = l.split_once(',').unwrap();
            (g.to_string(), y.parse().unwrap())
        })
        .collect();
    let n = rows.len() as f64;
    let mean_of = |g: &str| {
        let ys: Vec<f64> = rows.iter().filter(|r| r.0 == g).map(|r| r.1).collect();
        (ys.iter().sum::<f64>() / ys.len() as f64, ys.len() as f64)
    };
    let rss: f64 = rows.iter().map(|(g, y)| (y - mean_of(g).0).powi(2)).sum();
    let (ybar, n_north) = mean_of("north");
    let q = infer::chi_square_1_quantile(0.95);
    let half = (rss * (q / n).exp_m1() / n_north).sqrt();

    let p = check_profile(
        "tests/fixtures/group_means.nll",
        "tests/fixtures/groups.csv",
        &["u[north]"],
        0.95,
    );
    assert_eq!(p.len(), 1);
    assert_bounds(&p[0], ybar - half, ybar + half);

    // The declared name profiles every element, in the model's order.
    let all = check_profile(
        "tests/fixtures/group_means.nll",
        "tests/fixtures/groups.csv",
        &["u"],
        0.95,
    );
    let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["u[north]", "u[south]", "u[west]"]);
}

#[test]
fn a_profile_toward_a_constraint_reaches_the_bound() {
    // With m = ybar at every v, the NLL is n/2 log(1 + v) + n s2 / (2 (1 + v))
    // plus a constant, s2 = (1/n) sum (y_i - ybar)^2 < 1 here, so it
    // increases in v and the maximum is at the bound v = 0:
    //   2 (NLL_p(v) - NLL_p(0)) = n (log(1 + v) + s2 / (1 + v) - s2).
    let y = csv_column("tests/fixtures/variance_at_bound.csv", "y");
    let n = y.len() as f64;
    let ybar = y.iter().sum::<f64>() / n;
    let s2 = y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>() / n;
    assert!(s2 < 1.0);
    let q = infer::chi_square_1_quantile(0.95);
    let dev = |v: f64| n * ((1.0 + v).ln() + s2 / (1.0 + v) - s2) - q;
    let upper = bisect(dev, 0.0, 100.0);

    let (converged, p) = fit_and_profile(
        "tests/fixtures/variance_at_bound.nll",
        "tests/fixtures/variance_at_bound.csv",
        &["v"],
        0.95,
    );
    // The fit reports the boundary maximum as not converged.
    assert!(!converged);
    assert!(
        matches!(
            p[0].lower,
            ProfileBound::Unbounded {
                reaches_bound: true,
                ..
            }
        ),
        "{:?}",
        p[0]
    );
    // The fit stops a hair inside the bound (v ~ 1e-12), which moves the
    // deviance, and so the bound, by far less than the tolerance.
    assert!(
        (found(&p[0].upper) - upper).abs() < BOUND_ABS_TOL,
        "{:?}",
        p[0]
    );
}
