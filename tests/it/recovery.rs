//! Fits on simulated data recover the parameters that generated them, and a
//! Gaussian fit with constant sigma equals least squares.

use nalgebra::{DMatrix, DVector};
use nll::compile;
use nll::data::{Column, ColumnKind, DataSet};
use nll::infer::{self, FitOptions, FitReport};
use nll::{model, syntax};

use crate::common::fit_example;

/// SplitMix64 with a Box-Muller normal: deterministic simulated data.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// (income, foodexp) pairs of the Engel data, read without the library.
fn engel_rows() -> Vec<(f64, f64)> {
    let text =
        std::fs::read_to_string(crate::common::repo_path("examples/data/engel.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let mut it = l.split(',').map(|v| v.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect()
}

fn fit_source(source: &str, columns: Vec<(&str, Vec<f64>)>) -> FitReport {
    let columns = columns
        .into_iter()
        .map(|(n, v)| (n, Column::Real(v)))
        .collect();
    fit_mixed_source(source, columns)
}

#[test]
fn heteroscedastic_gaussian_recovers_mean_and_scale_parameters() {
    // y = a + b x + exp(c + d x) e,  e ~ N(0, 1),  x ~ U(0, 3).
    let truth = [1.0, 2.0, -0.5, 0.4];
    let mut rng = Rng(7);
    let n = 20_000;
    let x: Vec<f64> = (0..n).map(|_| 3.0 * rng.uniform()).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|xi| truth[0] + truth[1] * xi + (truth[2] + truth[3] * xi).exp() * rng.normal())
        .collect();
    let report = fit_source(
        "data x, y\nparam a, b, c, d\nmu(x) = a + b * x\nsigma(x) = exp(c + d * x)\ny ~ Normal(mu(x), sigma(x))\n",
        vec![("x", x), ("y", y)],
    );
    assert!(report.converged, "{}", report.status);
    for (p, t) in report.parameters.iter().zip(truth) {
        let se = p.std_error.expect("standard error");
        // Four standard errors: a correct fitter misses this with probability
        // below 1e-4 per parameter; the seed is fixed, so the test is
        // deterministic.
        assert!(
            (p.estimate - t).abs() < 4.0 * se,
            "{}: {} vs true {t} (se {se})",
            p.name,
            p.estimate
        );
        assert!(
            se < 0.1,
            "{}: standard error {se} too large for n = {n}",
            p.name
        );
    }
}

#[test]
fn constant_sigma_gaussian_equals_least_squares() {
    // Least squares by QR of the design matrix [1, income], independent of
    // the likelihood machinery; sigma_mle = sqrt(RSS / n).
    let rows = engel_rows();
    let n = rows.len();
    let design = DMatrix::from_fn(n, 2, |i, j| if j == 0 { 1.0 } else { rows[i].0 });
    let y = DVector::from_iterator(n, rows.iter().map(|r| r.1));
    let qr = design.clone().qr();
    let beta = qr
        .r()
        .solve_upper_triangular(&(qr.q().transpose() * &y))
        .unwrap();
    let rss = (&y - &design * &beta).norm_squared();

    let report = fit_example("engel_linear.nll", "engel.csv", &[]);
    let est: Vec<f64> = report.parameters.iter().map(|p| p.estimate).collect();
    assert!(
        (est[0] - beta[0]).abs() < 1e-7 * beta[0].abs(),
        "{} vs {}",
        est[0],
        beta[0]
    );
    assert!(
        (est[1] - beta[1]).abs() < 1e-7 * beta[1].abs(),
        "{} vs {}",
        est[1],
        beta[1]
    );
    let sigma = (rss / n as f64).sqrt();
    assert!(
        (est[2] - sigma).abs() < 1e-7 * sigma,
        "{} vs {sigma}",
        est[2]
    );
}

#[test]
fn poisson_regression_recovers_its_coefficients() {
    // count ~ Poisson(exp(0.5 + 0.8 x)), counts drawn by inversion of the CDF.
    let mut rng = Rng(11);
    let n = 5000;
    let x: Vec<f64> = (0..n).map(|_| rng.uniform() * 2.0 - 1.0).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|xi| {
            let rate = (0.5 + 0.8 * xi).exp();
            let u = rng.uniform();
            let (mut k, mut p) = (0.0, (-rate).exp());
            let mut cdf = p;
            while u > cdf {
                k += 1.0;
                p *= rate / k;
                cdf += p;
            }
            k
        })
        .collect();
    let report = fit_source(
        "data x, y\nparam a, b\ny ~ Poisson(exp(a + b * x))\n",
        vec![("x", x), ("y", y)],
    );
    assert!(report.converged);
    for (p, t) in report.parameters.iter().zip([0.5, 0.8]) {
        let se = p.std_error.unwrap();
        assert!(
            (p.estimate - t).abs() < 4.0 * se,
            "{}: {} vs {t}",
            p.name,
            p.estimate
        );
    }
}

#[test]
fn laplace_regression_is_the_least_absolute_deviation_line() {
    // The least-absolute-deviation line passes through two data points (a
    // vertex of the linear program), so the exact minimiser of
    // sum_i |y_i - b0 - b1 x_i| is found by trying the line through every
    // pair of points: an answer independent of smoothing and optimizers.
    let rows = engel_rows();
    let sad = |b0: f64, b1: f64| {
        rows.iter()
            .map(|(x, y)| (y - b0 - b1 * x).abs())
            .sum::<f64>()
    };
    let mut best = (f64::INFINITY, 0.0, 0.0);
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            let (xi, yi) = rows[i];
            let (xj, yj) = rows[j];
            if xi == xj {
                continue;
            }
            let b1 = (yj - yi) / (xj - xi);
            let b0 = yi - b1 * xi;
            let v = sad(b0, b1);
            if v < best.0 {
                best = (v, b0, b1);
            }
        }
    }
    let report = fit_example("engel_laplace.nll", "engel.csv", &[]);
    assert!(report.converged, "{}", report.status);
    let p = &report.parameters;
    // The smoothing ends at 1e-9 of the residual scale; the estimates are
    // then within ~1e-6 relative of the vertex.
    assert!(
        (p[0].estimate - best.1).abs() < 1e-6 * best.1.abs(),
        "b0 {} vs {}",
        p[0].estimate,
        best.1
    );
    assert!(
        (p[1].estimate - best.2).abs() < 1e-6 * best.2.abs(),
        "b1 {} vs {}",
        p[1].estimate,
        best.2
    );
    // The scale's maximum-likelihood estimate is the mean absolute residual.
    let b = best.0 / rows.len() as f64;
    assert!(
        (p[2].estimate - b).abs() < 1e-7 * b,
        "b {} vs {b}",
        p[2].estimate
    );
    assert!(
        p.iter().all(|q| q.std_error.is_none()),
        "no standard errors at a kink"
    );
}

#[test]
fn per_level_parameters_are_the_group_means() {
    // y ~ Normal(u[g], s): the maximum-likelihood u[level] is the mean of y
    // in that level, and s^2 the mean squared deviation from the group means.
    let report = crate::common::fit_fixture("group_means.nll", "groups.csv");
    assert!(report.converged, "{}", report.status);
    let by_name = |n: &str| {
        report
            .parameters
            .iter()
            .find(|p| p.name == n)
            .map(|p| p.estimate)
            .unwrap()
    };
    assert!((by_name("u[north]") - 2.0).abs() < 1e-9);
    assert!((by_name("u[south]") - 5.0).abs() < 1e-9);
    assert!((by_name("u[west]") - 11.0).abs() < 1e-9);
    // Deviations: north (-1, 0, 1), south (-1, 1), west (-2, 2): sum of
    // squares 1+0+1+1+1+4+4 = 12 over 7 rows.
    assert!((by_name("s") - (12.0f64 / 7.0).sqrt()).abs() < 1e-9);
}

#[test]
fn standard_errors_do_not_depend_on_the_units_of_a_column() {
    // Income in centimes instead of francs: the slope and its standard error
    // scale by 1/100, everything else is unchanged.
    let rows = engel_rows();
    let x: Vec<f64> = rows.iter().map(|r| r.0 * 100.0).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let cents = fit_source(
        "data x, y\nparam b0, b1\nparam s > 0 = 100\ny ~ Normal(b0 + b1 * x, s)\n",
        vec![("x", x), ("y", y)],
    );
    let francs = fit_example("engel_linear.nll", "engel.csv", &[]);
    assert!(cents.converged, "{}: {:?}", cents.status, cents.warnings);
    let se = |r: &FitReport, i: usize| r.parameters[i].std_error.unwrap();
    assert!((se(&cents, 1) * 100.0 - se(&francs, 1)).abs() < 1e-6 * se(&francs, 1));
    assert!((se(&cents, 0) - se(&francs, 0)).abs() < 1e-6 * se(&francs, 0));
}

/// Fits `source` on `columns`, each real or a factor (codes into levels).
fn fit_mixed_source(source: &str, columns: Vec<(&str, Column)>) -> FitReport {
    fit_with_subsample(source, columns, true)
}

#[test]
fn observations_far_from_zero_do_not_look_like_a_collapsed_scale() {
    // y = 1e9 + 2 x + noise of sd 1: sigma is 1, a billionth of |y| but
    // not of the spread of y about its mean. The same line without noise
    // is an exact fit, whose scale does collapse.
    let mut rng = Rng(7);
    let x: Vec<f64> = (0..2000).map(|i| i as f64 / 1000.0).collect();
    let noisy: Vec<f64> = x.iter().map(|x| 1e9 + 2.0 * x + rng.normal()).collect();
    let exact: Vec<f64> = x.iter().map(|x| 1e9 + 2.0 * x).collect();
    let source = "data x, y\nparam a, b\nparam sigma > 0 = 1\ny ~ Normal(a + b*x, sigma)\n";
    let fit = fit_source(source, vec![("x", x.clone()), ("y", noisy)]);
    assert!(fit.converged, "{}: {:?}", fit.status, fit.warnings);
    let sigma = fit.parameters.iter().find(|p| p.name == "sigma").unwrap();
    assert!((sigma.estimate - 1.0).abs() < 0.1, "{}", sigma.estimate);
    let collapsed = fit_source(source, vec![("x", x), ("y", exact)]);
    assert!(
        collapsed.warnings.iter().any(|w| w.contains("collapses")),
        "{:?}",
        collapsed.warnings
    );
}

#[test]
fn noise_of_thousands_of_ulps_is_not_a_collapsed_scale() {
    // y = 1e7 + noise of sd 1e-5: the noise is 1e-12 of |y| (5 000 ulps),
    // small but real; the fit is the one of y - 1e7.
    let mut rng = Rng(3);
    let noise: Vec<f64> = (0..500).map(|_| 1e-5 * rng.normal()).collect();
    let y: Vec<f64> = noise.iter().map(|e| 1e7 + e).collect();
    let source = "data y\nparam m = 1e7\nparam s > 0 = 1e-5\ny ~ Normal(m, s)\n";
    let fit = fit_source(source, vec![("y", y.clone())]);
    assert!(fit.converged, "{}: {:?}", fit.status, fit.warnings);
    assert!(fit.warnings.is_empty(), "{:?}", fit.warnings);
    // The maximum-likelihood scale: the root mean square about the mean,
    // of the values as stored.
    let mean = y.iter().map(|v| v - 1e7).sum::<f64>() / y.len() as f64;
    let ms = y.iter().map(|v| (v - 1e7 - mean).powi(2)).sum::<f64>() / y.len() as f64;
    let s = fit.parameters.iter().find(|p| p.name == "s").unwrap();
    assert!(
        (s.estimate / ms.sqrt() - 1.0).abs() < 1e-6,
        "{} {}",
        s.estimate,
        ms.sqrt()
    );
}

#[test]
fn a_level_seen_once_with_one_class_is_separation_on_large_data_too() {
    // Three classes at random in three common groups, and one row of its
    // own group with class v: that group's parameters have no finite
    // estimate. On 30 000 rows the optimizer stops where that row's
    // probability is 1 - 2e-10, not 1 - 1e-10: still separation.
    let mut rng = Rng(11);
    let n = 30_000;
    let group: Vec<u32> = (0..n)
        .map(|i| if i == n / 2 { 3 } else { (i % 3) as u32 })
        .collect();
    let class: Vec<u32> = (0..n)
        .map(|i| {
            if i == n / 2 {
                1
            } else {
                (rng.uniform() * 3.0) as u32
            }
        })
        .collect();
    let factor = |codes: Vec<u32>, levels: &[&str]| Column::Factor {
        codes,
        levels: levels.iter().map(|l| l.to_string()).collect(),
    };
    let fit = fit_mixed_source(
        "data c: factor, g: factor\nparam a2[g], a3[g]\nc ~ CategoricalLogit(0, a2[g], a3[g])\n",
        vec![
            ("c", factor(class, &["u", "v", "w"])),
            ("g", factor(group, &["G0", "G1", "G2", "once"])),
        ],
    );
    assert!(!fit.converged, "{}", fit.status);
    assert!(
        fit.warnings
            .iter()
            .any(|w| w.contains("separation") && w.contains("a2[once]")),
        "{}: {:?}",
        fit.status,
        fit.warnings
    );
}

/// Fits `source` on `columns`, each real or a factor (codes into levels),
/// with the subsample start on large data on or off.
fn fit_with_subsample(source: &str, columns: Vec<(&str, Column)>, subsample: bool) -> FitReport {
    let program = syntax::parse_program(source).expect("parses");
    let (m, diags) = model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let n_rows = match &columns[0].1 {
        Column::Real(v) => v.len(),
        Column::Factor { codes, .. } => codes.len(),
    };
    let ds = DataSet {
        n_rows,
        columns: columns
            .into_iter()
            .map(|(n, c)| {
                let kind = match c {
                    Column::Real(_) => ColumnKind::Real,
                    Column::Factor { .. } => ColumnKind::Factor,
                };
                (n.to_string(), kind, c)
            })
            .collect(),
        n_dropped: 0,
        n_filtered_out: 0,
        source_rows: (1..=n_rows).collect(),
    };
    let c = compile::compile(&m, &ds, &ds.source_rows).expect("compiles");
    let opts = FitOptions {
        subsample,
        ..FitOptions::default()
    };
    infer::fit(&c, &opts).expect("fits")
}

/// On 150 000 rows a fit first approaches the estimates on a subsample;
/// the estimates, standard errors and NLL are those of the fit that starts
/// on all rows, to far below their statistical precision: both end at the
/// point where the gradient of the same NLL is rounding, so they differ by
/// the optimizer's convergence tolerance, 1e-8 relative allowing for the
/// conditioning of the three-feature designs. The data are sorted by a
/// factor whose rare level (800 rows) falls between the runs of rows the
/// subsample takes, so its parameter is not in the subsample at all.
#[test]
fn a_subsample_start_reaches_the_estimates_of_all_rows() {
    let n = 150_000;
    let mut rng = Rng(23);
    let x1: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let x2: Vec<f64> = (0..n).map(|_| rng.uniform() * 4.0 - 2.0).collect();
    // Sorted by group: "rare" is rows 1100..1900.
    let group: Vec<u32> = (0..n)
        .map(|i| match i {
            0..1100 => 0,
            1100..1900 => 2,
            _ => 1,
        })
        .collect();
    let effect = [0.3, -0.4, 1.1];
    let eta: Vec<f64> = (0..n)
        .map(|i| -0.5 + 0.8 * x1[i] - 0.3 * x2[i] + effect[group[i] as usize])
        .collect();
    let y_bin: Vec<f64> = eta
        .iter()
        .map(|e| (rng.uniform() < 1.0 / (1.0 + (-e).exp())) as u8 as f64)
        .collect();
    let y_count: Vec<f64> = eta
        .iter()
        .map(|e| {
            // Poisson by inversion of its CDF
            let mu = (0.5 * e).exp();
            let (mut k, mut p, u) = (0.0, (-mu).exp(), rng.uniform());
            let mut cdf = p;
            while u > cdf && k < 1000.0 {
                k += 1.0;
                p *= mu / k;
                cdf += p;
            }
            k
        })
        .collect();
    let y_het: Vec<f64> = (0..n)
        .map(|i| 1.0 + 2.0 * x1[i] + (0.2 + 0.3 * x2[i]).exp() * rng.normal())
        .collect();
    let columns = || {
        vec![
            ("x1", Column::Real(x1.clone())),
            ("x2", Column::Real(x2.clone())),
            ("yb", Column::Real(y_bin.clone())),
            ("yc", Column::Real(y_count.clone())),
            ("yh", Column::Real(y_het.clone())),
            (
                "g",
                Column::Factor {
                    codes: group.clone(),
                    levels: vec!["a".into(), "b".into(), "rare".into()],
                },
            ),
        ]
    };
    let head = "data x1, x2, yb, yc: int, yh\ndata g: factor\n";
    for body in [
        "param b1, b2, u[g]\nyb ~ Bernoulli(logistic(b1 * x1 + b2 * x2 + u[g]))\n",
        "param b1, b2, u[g]\nyc ~ Poisson(exp(0.5 * (b1 * x1 + b2 * x2 + u[g])))\n",
        "param a, b, c, d\nyh ~ Normal(a + b * x1, exp(c + d * x2))\n",
    ] {
        let source = format!("{head}{body}");
        let warm = fit_with_subsample(&source, columns(), true);
        let cold = fit_with_subsample(&source, columns(), false);
        assert!(
            warm.converged && cold.converged,
            "{}: {} / {}",
            body,
            warm.status,
            cold.status
        );
        assert!(
            (warm.nll - cold.nll).abs() <= 1e-12 * cold.nll.abs(),
            "{body}"
        );
        for (w, c) in warm.parameters.iter().zip(&cold.parameters) {
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * b.abs().max(1e-3);
            assert!(close(w.estimate, c.estimate), "{body}: {w:?} vs {c:?}");
            let (ws, cs) = (w.std_error.unwrap(), c.std_error.unwrap());
            assert!(close(ws, cs), "{body}: {w:?} vs {c:?}");
        }
    }
}

/// Where the subsample could mislead, the fit on all rows starts where it
/// would without it, and ends at the same estimates in no more iterations:
/// - a mixture (several maxima), never started from a subsample: three
///   clusters at 20, 25 and 30 (15, 35 and 50% of the rows) of which the
///   subsample's rows hold only the first two, half each (a tester's data
///   of this shape led the fit to an empty component, tens of thousands
///   of NLL units worse, before the subsample's estimates had to be near
///   those of all rows; this data set does not, but the two paths must
///   stay the same);
/// - a logistic regression whose 50 positive rows all lie between the
///   subsample's runs: the subsample's intercept runs off toward -infinity,
///   and from there Newton took 52 iterations against 12.
#[test]
fn a_subsample_that_misleads_is_not_followed() {
    let n = 200_000;
    let mut rng = Rng(31);
    // Rows the subsample takes: the first 1024 of every 16 384.
    let sampled = |i: usize| i % 16_384 < 1024;
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let u = rng.uniform();
            let centre = match (sampled(i), u) {
                (true, u) if u < 0.5 => 20.0,
                (true, _) => 25.0,
                (false, u) if u < 0.15 => 20.0,
                (false, u) if u < 0.5 => 25.0,
                _ => 30.0,
            };
            centre + rng.normal()
        })
        .collect();
    let source = "data y\nparam w in (0, 1) = 0.5\nparam m1 = 1, gap > 0 = 2\nparam s1 > 0, s2 > 0\ny ~ Mixture(w, Normal(m1, s1), Normal(m1 + gap, s2))\n";
    let warm = fit_with_subsample(source, vec![("y", Column::Real(y.clone()))], true);
    let cold = fit_with_subsample(source, vec![("y", Column::Real(y))], false);
    assert_eq!(warm.nll, cold.nll);
    assert_eq!(warm.iterations, cold.iterations);

    let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let yb: Vec<f64> = (0..n)
        .map(|i| if (2000..2050).contains(&i) { 1.0 } else { 0.0 })
        .collect();
    let source = "data x, y\nparam a, b\ny ~ Bernoulli(logistic(a + b * x))\n";
    let columns = || {
        vec![
            ("x", Column::Real(x.clone())),
            ("y", Column::Real(yb.clone())),
        ]
    };
    let warm = fit_with_subsample(source, columns(), true);
    let cold = fit_with_subsample(source, columns(), false);
    assert!(warm.converged && cold.converged);
    assert!((warm.nll - cold.nll).abs() <= 1e-12 * cold.nll);
    assert!(
        warm.iterations <= cold.iterations,
        "{} iterations against {}",
        warm.iterations,
        cold.iterations
    );
}
