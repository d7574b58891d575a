//! Held-out evaluation, prediction and simulation: the metrics against
//! values worked out by hand, the breast cancer held-out log loss against
//! its reference, parameter recovery from simulated data, an overconfident
//! model, and the fit file's safety checks. End-to-end cases run the real
//! binary on files under `tests/fixtures/` and `examples/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nll::evaluate::metrics::{self, Binning};
use nll::evaluate::{evaluate_statement, Prediction, Predictive, RowDist, StatementRows};

use crate::common::repo_path;

/// Tolerances of this module.
mod tol {
    /// Hand-worked values are computed in double precision from short
    /// formulas; they agree with the code to rounding (a few ulps of
    /// numbers near 1).
    pub const HAND: f64 = 1e-12;
    /// The held-out log loss reproduces the reference to 1e-8 relative:
    /// the reference estimates agree with ours to about 1e-9 relative, and
    /// the held-out loss is not stationary in them, so it inherits that.
    pub const REFERENCE_REL: f64 = 1e-8;
    /// Standard errors allowed between a refitted and a true parameter.
    pub const RECOVERY_SE: f64 = 3.0;
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// A scratch folder for one test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nll-it-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Runs `nll ARGS` from the repository root.
fn nll(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nll"))
        .args(args)
        .current_dir(repo_path(""))
        .env("NO_COLOR", "1")
        .output()
        .expect("the nll binary runs")
}

/// Runs `nll ARGS`, requires success, returns standard output.
fn nll_ok(args: &[&str]) -> String {
    let out = nll(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nll {args:?} failed:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `nll ARGS`, requires exit status 1 without a panic, returns stderr.
fn nll_err(args: &[&str]) -> String {
    let out = nll(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "nll {args:?}:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON")
}

/// A statement's rows made by hand: the metrics only read these fields.
fn rows_by_hand(y: Vec<f64>, nll: Vec<f64>, prediction: Prediction) -> StatementRows {
    StatementRows {
        label: "y ~ Test".to_string(),
        lhs: "y".to_string(),
        family: "Test",
        arg_names: Vec::new(),
        args: Vec::new(),
        y,
        nll,
        prediction,
        outside: Vec::new(),
    }
}

#[test]
fn binary_metrics_by_hand() {
    // p = 0.9, 0.2, 0.6, 0.4 against y = 1, 0, 0, 1.
    // log loss = -(ln 0.9 + ln 0.8 + ln 0.4 + ln 0.4) / 4,
    // Brier = (0.1^2 + 0.2^2 + 0.6^2 + 0.6^2) / 4 = 0.77 / 4 = 0.1925,
    // predicted classes (p > 0.5) 1, 0, 1, 0: accuracy 2/4.
    // Two equal-width bins: [0, 0.5) holds p = 0.2, 0.4 (mean 0.3, observed
    // 1/2), [0.5, 1] holds 0.9, 0.6 (mean 0.75, observed 1/2):
    // ECE = 0.5 |0.5 - 0.3| + 0.5 |0.5 - 0.75| = 0.225. Equal-mass bins cut
    // the sorted p into {0.2, 0.4} and {0.6, 0.9}: the same ECE.
    let p: Vec<f64> = vec![0.9, 0.2, 0.6, 0.4];
    let y: Vec<f64> = vec![1.0, 0.0, 0.0, 1.0];
    let nll: Vec<f64> = p
        .iter()
        .zip(&y)
        .map(|(p, y)| if *y == 1.0 { -p.ln() } else { -(1.0 - p).ln() })
        .collect();
    let sr = rows_by_hand(y, nll, Prediction::Binary { p });
    let e = evaluate_statement(&sr, &[0, 1, 2, 3], 2);
    let c = e.classification.expect("binary metrics");
    let log_loss = -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln() + 0.4f64.ln()) / 4.0;
    assert!(close(c.log_loss, log_loss, tol::HAND), "{}", c.log_loss);
    assert!(close(e.mean_nll, log_loss, tol::HAND));
    assert!(close(c.brier, 0.1925, tol::HAND), "{}", c.brier);
    assert!(close(c.accuracy, 0.5, tol::HAND));
    assert!(
        close(c.ece_equal_width, 0.225, tol::HAND),
        "{}",
        c.ece_equal_width
    );
    assert!(
        close(c.ece_equal_mass, 0.225, tol::HAND),
        "{}",
        c.ece_equal_mass
    );
    let b = &c.reliability_equal_width[0];
    assert_eq!((b.lower, b.upper, b.n), (0.0, 0.5, 2));
    assert!(close(b.mean_predicted.expect("rows"), 0.3, tol::HAND));
    assert!(close(b.observed.expect("rows"), 0.5, tol::HAND));

    // With one bin per row the ECE is the mean |y - p|:
    // (0.1 + 0.2 + 0.6 + 0.6) / 4 = 0.375.
    let e4 = evaluate_statement(&sr, &[0, 1, 2, 3], 4);
    let c4 = e4.classification.expect("binary metrics");
    assert!(
        close(c4.ece_equal_mass, 0.375, tol::HAND),
        "{}",
        c4.ece_equal_mass
    );

    // A subset of rows: only rows 1 and 3 (p = 0.2 with y = 0, p = 0.4 with
    // y = 1): Brier (0.04 + 0.36) / 2 = 0.2, accuracy 1/2.
    let sub = evaluate_statement(&sr, &[1, 3], 2);
    let cs = sub.classification.expect("binary metrics");
    assert!(close(cs.brier, 0.2, tol::HAND));
    assert_eq!(sub.n_rows, 2);
}

#[test]
fn equal_width_bins_keep_empty_bins_and_put_one_in_the_last() {
    // p = 0, 1 in 4 bins: rows in the first and last bins, two empty bins.
    let bins = metrics::reliability(&[0.0, 1.0], &[0.0, 1.0], &[0, 1], 4, Binning::EqualWidth);
    let counts: Vec<usize> = bins.iter().map(|b| b.n).collect();
    assert_eq!(counts, vec![1, 0, 0, 1]);
    assert_eq!(bins[1].mean_predicted, None);
    assert_eq!(metrics::expected_calibration_error(&bins), 0.0);
    // Equal mass: 5 rows in 2 bins hold 3 and 2.
    let p = [0.5, 0.1, 0.3, 0.2, 0.4];
    let bins = metrics::reliability(&p, &[0.0; 5], &[0, 1, 2, 3, 4], 2, Binning::EqualMass);
    assert_eq!(bins.iter().map(|b| b.n).collect::<Vec<_>>(), vec![3, 2]);
    assert_eq!((bins[0].lower, bins[0].upper), (0.1, 0.3));
}

#[test]
fn class_metrics_by_hand() {
    // Three rows, three classes, observed classes 0, 2, 2.
    // Brier per row, sum_k (p_k - [y = k])^2:
    //   (0.3^2 + 0.2^2 + 0.1^2) = 0.14, (0.1^2 + 0.6^2 + 0.7^2) = 0.86,
    //   (0.2^2 + 0.3^2 + 0.5^2) = 0.38; mean 1.38 / 3 = 0.46.
    // Top classes 0, 1, 2: accuracy 2/3. One bin: mean confidence
    // (0.7 + 0.6 + 0.5) / 3 = 0.6 against accuracy 2/3: ECE = 1/15.
    let probs = vec![
        vec![0.7, 0.2, 0.1],
        vec![0.1, 0.6, 0.3],
        vec![0.2, 0.3, 0.5],
    ];
    let class = vec![0, 2, 2];
    let nll = vec![-(0.7f64.ln()), -(0.3f64.ln()), -(0.5f64.ln())];
    let levels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
    let sr = rows_by_hand(
        vec![f64::NAN; 3],
        nll,
        Prediction::Classes {
            probs,
            class,
            levels,
        },
    );
    let e = evaluate_statement(&sr, &[0, 1, 2], 1);
    let c = e.classification.expect("class metrics");
    assert!(close(c.brier, 0.46, tol::HAND), "{}", c.brier);
    assert!(close(c.accuracy, 2.0 / 3.0, tol::HAND));
    assert!(
        close(c.ece_equal_width, 1.0 / 15.0, tol::HAND),
        "{}",
        c.ece_equal_width
    );
    let log_loss = -(0.7f64.ln() + 0.3f64.ln() + 0.5f64.ln()) / 3.0;
    assert!(close(c.log_loss, log_loss, tol::HAND));
}

#[test]
fn pit_and_coverage_by_hand() {
    // Standard normal predictions, y = 0, 1, -2, 3:
    // PIT = Phi(y) = 0.5, 0.8413447, 0.0227501, 0.9986501.
    // KS: sorted u = 0.02275, 0.5, 0.84134, 0.99865 with n = 4; the largest
    // term is u_(3) - 2/4 = 0.3413447.
    // Coverage: the 50% interval +-0.6745 holds only y = 0 (1/4); the 80%
    // interval +-1.2816 and the 95% interval +-1.96 hold 0 and 1 (2/4).
    // Chi-square with 2 PIT bins: counts 1 (u < 0.5) and 3, expected 2:
    // X^2 = 1/2 + 1/2 = 1 on 1 df, p = P(chi2_1 > 1) = 0.3173105.
    let y = vec![0.0, 1.0, -2.0, 3.0];
    let dists = vec![
        Predictive::One(RowDist::Normal {
            mu: 0.0,
            sigma: 1.0
        });
        4
    ];
    let pit: Vec<f64> = dists.iter().zip(&y).map(|(d, v)| d.cdf(*v)).collect();
    let intervals = dists
        .iter()
        .map(|d| {
            nll::evaluate::COVERAGE_LEVELS
                .iter()
                .map(|l| Some((d.quantile((1.0 - l) / 2.0)?, d.quantile((1.0 + l) / 2.0)?)))
                .collect()
        })
        .collect();
    let sr = rows_by_hand(
        y,
        vec![0.0; 4],
        Prediction::Distribution {
            dists,
            pit,
            intervals,
            randomized: false,
        },
    );
    let e = evaluate_statement(&sr, &[0, 1, 2, 3], 2);
    let p = e.calibration.expect("PIT metrics");
    // Phi(1) = 0.8413447460685429 (R: pnorm(1)); statrs 0.19's erfc, behind
    // its normal CDF, is accurate to about 1e-10 relative
    // (docs/distributions.md), so that is the tolerance here.
    assert!(
        close(p.ks, 0.841_344_746_068_542_9 - 0.5, 1e-10),
        "{}",
        p.ks
    );
    assert_eq!(p.pit_histogram, vec![1, 3]);
    assert!(close(p.chi_square, 1.0, tol::HAND));
    assert_eq!(p.chi_square_df, 1);
    // P(chi2_1 > 1) = erfc(1/sqrt(2)) = 0.31731050786291415 (R: pchisq(1, 1,
    // lower.tail = FALSE)); statrs' incomplete gamma is good to ~1e-10.
    assert!(close(p.chi_square_p_value, 0.317_310_507_862_914_15, 1e-9));
    let cov: Vec<f64> = p.coverage.iter().map(|c| c.observed).collect();
    assert_eq!(cov, vec![0.25, 0.5, 0.5]);
    // 95% interval width 2 * 1.959964 = 3.919928.
    assert!(close(p.coverage[2].mean_width, 3.919_927_969_080_108, 1e-9));

    // A PIT the CDF could not give is left out of the PIT metrics, and
    // said: with row 3's NaN the others give counts 1 and 2.
    let mut sr = sr;
    if let Prediction::Distribution { pit, .. } = &mut sr.prediction {
        pit[3] = f64::NAN;
    }
    let e = evaluate_statement(&sr, &[0, 1, 2, 3], 2);
    let p = e.calibration.expect("PIT metrics");
    assert_eq!(p.pit_histogram, vec![1, 2]);
    let note = e.note.expect("a note on the missing PIT");
    assert!(note.starts_with("1 of 4 rows have no PIT value"), "{note}");
}

#[test]
fn coverage_rule_by_hand() {
    // n = 100 at 95%: se = sqrt(0.95 * 0.05 / 100) = 0.0217945, 3 se =
    // 0.0653835 > 0.05, so the threshold is 0.95 - 0.0653835 = 0.8846165.
    assert!(metrics::coverage_well_below(0.95, 0.88, 100));
    assert!(!metrics::coverage_well_below(0.95, 0.89, 100));
    // n = 10000: 3 se = 0.0065 < 0.05, so the 5-point floor applies.
    assert!(!metrics::coverage_well_below(0.95, 0.91, 10_000));
    assert!(metrics::coverage_well_below(0.95, 0.89, 10_000));
}

/// The per-row predictions of `source` on CSV `data` at `theta`.
fn rows_of(source: &str, data: &str, theta: &[f64], seed: u64) -> Vec<StatementRows> {
    let program = nll::syntax::parse_program(source).expect("parses");
    let (model, diags) = nll::model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let requests = nll::compile::column_requests(&model);
    let ds = nll::data::load_csv_str(data, "data.csv", &requests, &Default::default())
        .expect("data loads");
    let c = nll::compile::compile(&model, &ds, &ds.source_rows).expect("compiles");
    let opts = nll::evaluate::EvalOptions { n_bins: 10, seed };
    nll::evaluate::statement_rows(&c, theta, source, &opts)
}

/// A mixture of three components weighted by two linear predictors has the
/// first component as its reference, when predicting as when fitting: the
/// weights are softmax(0, e_1, e_2), and the predictive mean is
/// sum_k w_k m_k.
#[test]
fn a_three_component_logit_mixture_predicts_with_all_three() {
    let source = "data y\nparam e[2]\nparam m1, m2, m3\n\
                  y ~ MixtureLogit(e, Normal(m1, 1), Normal(m2, 1), Normal(m3, 1))\n";
    let data = "y\n-3.5\n0.2\n4.1\n";
    let (e1, e2, m) = (0.4f64, 0.9f64, [-4.0, 0.0, 5.0]);
    // parameters in declaration order, then the constant slot
    let theta = [e1, e2, m[0], m[1], m[2], 0.0];
    let total = 1.0 + e1.exp() + e2.exp();
    let w = [1.0 / total, e1.exp() / total, e2.exp() / total];
    let mean: f64 = w.iter().zip(m).map(|(w, m)| w * m).sum();
    match &rows_of(source, data, &theta, 1)[0].prediction {
        Prediction::Distribution { dists, .. } => {
            assert_eq!(dists.len(), 3);
            for d in dists {
                let got = d.mean().expect("a mixture of normals has a mean");
                assert!((got - mean).abs() < 1e-12, "{got} vs {mean}");
            }
        }
        other => panic!("expected a distribution, found {other:?}"),
    }
}

#[test]
fn randomized_pit_of_a_count_lies_within_its_jump() {
    // Poisson(2) (theta = log 2) at y = 1: the PIT is uniform between
    // F(0) = e^-2 = 0.1353353 and F(1) = 3 e^-2 = 0.4060058.
    let source = "data count: int\nparam a\ncount ~ Poisson(exp(a))\n";
    let data = "count\n1\n1\n1\n1\n";
    let theta = [2f64.ln(), 0.0];
    let pit_of = |seed: u64| match &rows_of(source, data, &theta, seed)[0].prediction {
        Prediction::Distribution {
            pit, randomized, ..
        } => {
            assert!(randomized);
            pit.clone()
        }
        other => panic!("expected a distribution, found {other:?}"),
    };
    let (f0, f1) = ((-2.0f64).exp(), 3.0 * (-2.0f64).exp());
    let pit = pit_of(7);
    assert!(pit.iter().all(|u| *u >= f0 && *u <= f1), "{pit:?}");
    // Distinct draws per row, the same for the same seed, others for another.
    assert_ne!(pit[0], pit[1]);
    assert_eq!(pit, pit_of(7));
    assert_ne!(pit, pit_of(8));
}

/// Fits `model` on `data` (with extra arguments), writing `fit`.
/// The fit may end without converging (exit 3: a mixture of Bernoulli
/// components is not identified) or without a proper maximum (exit 4: the
/// zero-inflation fixture's `zi` sits at its bound 0); its fit file is
/// written all the same, and these tests are about what is done with it.
fn fit_to(model: &str, data: &str, fit: &Path, extra: &[&str]) -> String {
    let mut args = vec!["fit", model, "--data", data, "--output", s(fit)];
    args.extend(extra);
    let out = nll(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0) | Some(3) | Some(4)),
        "nll {args:?} failed:\n{stderr}"
    );
    assert!(fit.exists(), "no fit file: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const POISSON: &str = "tests/fixtures/poisson.nll";
const POISSON_DATA: &str = "tests/fixtures/eval_poisson.csv";
const HETERO: &str = "tests/fixtures/eval_hetero.nll";
const HETERO_TRAIN: &str = "tests/fixtures/eval_hetero_train.csv";
const BREAST: &str = "examples/breast_cancer_logistic.nll";
const BREAST_DATA: &str = "examples/data/breast_cancer.csv";

/// A scratch folder and the fit file of `model` on `data` in it.
fn fitted(name: &str, model: &str, data: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let fit = dir.join("fit.json");
    fit_to(model, data, &fit, extra);
    (dir, fit)
}

/// The breast cancer model fitted on its training rows, into `dir`.
fn breast_cancer_fit(dir: &Path) -> PathBuf {
    let fit = dir.join("breast.json");
    fit_to(BREAST, BREAST_DATA, &fit, &["--where", "split=train"]);
    fit
}

#[test]
fn breast_cancer_held_out_log_loss_matches_the_reference() {
    let fit = breast_cancer_fit(&scratch("breast"));
    let (model, data) = (BREAST, BREAST_DATA);
    let report = json(&nll_ok(&[
        "eval",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--where",
        "split=test",
        "--format",
        "json",
    ]));
    let reference: serde_json::Value = json(
        &std::fs::read_to_string(repo_path("tests/reference/breast_cancer.reference.json"))
            .expect("reference file"),
    );
    let expected = &reference["models"]["logit_train"]["test_evaluation"];
    let st = &report["statements"][0];
    assert_eq!(st["n_rows"], 171);
    let rel = |got: &serde_json::Value, want: &serde_json::Value| {
        let (g, w) = (
            got.as_f64().expect("number"),
            want.as_f64().expect("number"),
        );
        (g - w).abs() / w.abs()
    };
    assert!(
        rel(&st["mean_nll"], &expected["log_loss_mean"]) < tol::REFERENCE_REL,
        "{} vs {}",
        st["mean_nll"],
        expected["log_loss_mean"]
    );
    assert!(rel(&st["total_nll"], &expected["log_loss_sum"]) < tol::REFERENCE_REL);
    let c = &st["classification"];
    assert!(rel(&c["log_loss"], &expected["log_loss_mean"]) < tol::REFERENCE_REL);
    assert!(rel(&c["brier"], &expected["brier_score"]) < tol::REFERENCE_REL);
    assert!(rel(&c["accuracy"], &expected["accuracy_at_0.5"]) < 1e-15);

    // The same split in one command, by the split column.
    let one = nll_ok(&[
        "fit",
        model,
        "--data",
        data,
        "--split-column",
        "split",
        "--format",
        "json",
    ]);
    let held = &json(&one)["held_out"]["total"];
    assert!(rel(&held["test_mean_nll"], &expected["log_loss_mean"]) < tol::REFERENCE_REL);
    assert_eq!(held["overconfident"], false);
}

/// Reads the estimates and standard errors of a fit file by name.
fn estimates(fit: &Path) -> Vec<(String, f64, f64)> {
    let v = json(&std::fs::read_to_string(fit).expect("fit file"));
    v["estimates"]
        .as_array()
        .expect("estimates")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["estimate"].as_f64().expect("estimate"),
                e["std_error"].as_f64().expect("standard error"),
            )
        })
        .collect()
}

/// Fits `model` on `data` for the true parameters, simulates a data set
/// from them with `seed`, refits, and checks every estimate lies within
/// 3 standard errors of the truth.
fn check_recovery(name: &str, model: &str, data: &str, seed: &str) {
    let dir = scratch(name);
    let truth = dir.join("truth.json");
    fit_to(model, data, &truth, &[]);
    let simulated = dir.join("simulated.csv");
    nll_ok(&[
        "simulate",
        model,
        "--fit",
        s(&truth),
        "--data",
        data,
        "--seed",
        seed,
        "--out",
        s(&simulated),
    ]);
    // The same seed gives the same draws.
    let again = nll_ok(&[
        "simulate",
        model,
        "--fit",
        s(&truth),
        "--data",
        data,
        "--seed",
        seed,
    ]);
    assert_eq!(
        again,
        std::fs::read_to_string(&simulated).expect("simulated data")
    );
    let refit = dir.join("refit.json");
    fit_to(model, s(&simulated), &refit, &[]);
    for ((name, true_value, _), (_, estimate, se)) in
        estimates(&truth).iter().zip(estimates(&refit))
    {
        assert!(
            (estimate - true_value).abs() < tol::RECOVERY_SE * se,
            "{name}: estimate {estimate} from simulated data, true {true_value}, se {se}"
        );
    }
}

#[test]
fn simulate_then_fit_recovers_a_heteroscedastic_gaussian() {
    check_recovery(
        "recover-gauss",
        "examples/engel_heteroscedastic.nll",
        "examples/data/engel.csv",
        "17",
    );
}

#[test]
fn simulate_then_fit_recovers_a_poisson_regression() {
    check_recovery("recover-poisson", POISSON, POISSON_DATA, "5");
}

#[test]
fn simulation_depends_on_the_seed_and_keeps_covariates() {
    let (_dir, fit) = fitted("sim-seed", POISSON, POISSON_DATA, &[]);
    let (model, data) = (POISSON, POISSON_DATA);
    let a = nll_ok(&[
        "simulate",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--seed",
        "1",
        "--draws",
        "2",
    ]);
    let b = nll_ok(&[
        "simulate",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--seed",
        "2",
        "--draws",
        "2",
    ]);
    assert_ne!(a, b);
    let lines: Vec<&str> = a.lines().collect();
    assert_eq!(lines[0], "draw,x,count");
    // 400 rows per draw, two draws, one header.
    assert_eq!(lines.len(), 801);
    assert!(lines[1].starts_with("1,0.461207,"), "{}", lines[1]);
    assert!(lines[401].starts_with("2,0.461207,"), "{}", lines[401]);
}

#[test]
fn overconfident_model_shows_low_coverage_and_warns() {
    // Fitted where x is in (0, 1), evaluated where x is in (1.5, 2): the
    // true log(sigma) grows like x^2, the model's only linearly, so its
    // intervals are far too narrow there (see make_eval_fixtures.py).
    let (_dir, fit) = fitted("overconfident", HETERO, HETERO_TRAIN, &[]);
    let model = HETERO;
    let test = "tests/fixtures/eval_hetero_test.csv";
    let report = json(&nll_ok(&[
        "eval",
        model,
        "--fit",
        s(&fit),
        "--data",
        test,
        "--format",
        "json",
    ]));
    let coverage = report["statements"][0]["calibration"]["coverage"]
        .as_array()
        .expect("coverage")
        .clone();
    let c95 = &coverage[2];
    assert_eq!(c95["nominal"], 0.95);
    assert!(c95["observed"].as_f64().expect("coverage") < 0.7, "{c95}");
    assert_eq!(c95["well_below_nominal"], true);
    let warnings = report["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap_or("").contains("overconfident")),
        "{warnings:?}"
    );
    let text = nll_ok(&["eval", model, "--fit", s(&fit), "--data", test]);
    assert!(text.contains("WELL BELOW NOMINAL"), "{text}");
    assert!(text.contains("warning: `y ~ Normal`"), "{text}");

    // The same split through `fit --split-column`: the held-out mean NLL
    // is far above the training one, beyond k / n_train and 2 standard
    // errors, so the gap warning fires.
    let combined = _dir.join("combined.csv");
    let mut text = String::from("x,y,part\n");
    for (file, part) in [(HETERO_TRAIN, "near"), (test, "far")] {
        let body = std::fs::read_to_string(repo_path(file)).expect("fixture");
        for line in body.lines().skip(1) {
            text.push_str(&format!("{line},{part}\n"));
        }
    }
    std::fs::write(&combined, text).expect("combined data");
    let split = [
        "fit",
        model,
        "--data",
        s(&combined),
        "--split-column",
        "part",
        "--train-value",
        "near",
        "--test-value",
        "far",
    ];
    let mut as_json = split.to_vec();
    as_json.extend(["--format", "json"]);
    let out = json(&nll_ok(&as_json));
    let total = &out["held_out"]["total"];
    assert_eq!(total["n_train"], 300);
    assert_eq!(total["n_test"], 200);
    assert_eq!(total["overconfident"], true, "{total}");
    let text = nll_ok(&split);
    assert!(
        text.contains("warning: `y ~ Normal`: the held-out mean NLL"),
        "{text}"
    );

    // On the training range the same fit is calibrated: no warning.
    let train = nll_ok(&["eval", model, "--fit", s(&fit), "--data", HETERO_TRAIN]);
    assert!(!train.contains("warning"), "{train}");
}

#[test]
fn eval_by_group_names_the_worst_group() {
    let fit = breast_cancer_fit(&scratch("by"));
    let (model, data) = (BREAST, BREAST_DATA);
    let report = json(&nll_ok(&[
        "eval",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--by",
        "split",
        "--format",
        "json",
    ]));
    let by = &report["by"];
    assert_eq!(by["column"], "split");
    let groups = by["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2);
    // Levels sorted: test, then train; 171 and 398 rows.
    assert_eq!(groups[0]["level"], "test");
    assert_eq!(groups[0]["n_rows"], 171);
    assert_eq!(groups[1]["n_rows"], 398);
    let spread = by["spread"].as_array().expect("spread");
    let mean_nll = spread
        .iter()
        .find(|s| s["metric"] == "mean NLL")
        .expect("mean NLL spread");
    // Training rows have the larger mean NLL here (0.1527 against 0.1251).
    assert_eq!(mean_nll["worst_group"], "train");
    let gap = mean_nll["gap"].as_f64().expect("gap");
    let g0 = groups[0]["statements"][0]["mean_nll"]
        .as_f64()
        .expect("nll");
    let g1 = groups[1]["statements"][0]["mean_nll"]
        .as_f64()
        .expect("nll");
    assert!(close(gap, (g1 - g0).abs(), tol::HAND));
}

/// A categorical outcome held as integers 1..K has K classes in predictions
/// and draws whichever classes the rows hold: a probability column per
/// class under a header of as many names, and draws of every class.
#[test]
fn an_integer_class_outcome_predicts_and_draws_all_its_classes() {
    let dir = scratch("int-classes");
    let model = dir.join("model.nll");
    std::fs::write(
        &model,
        "data y: int\nparam a in (0, 1), b in (0, 1)\n\
         y ~ Categorical(a, (1 - a) * b, (1 - a) * (1 - b))\n",
    )
    .expect("model");
    let train = dir.join("train.csv");
    let rows: String = (0..60).map(|i| format!("{}\n", 1 + i % 3)).collect();
    std::fs::write(&train, format!("y\n{rows}")).expect("data");
    let fit = dir.join("fit.json");
    fit_to(s(&model), s(&train), &fit, &[]);
    // New rows all of one class.
    let new = dir.join("new.csv");
    std::fs::write(&new, "y\n2\n2\n").expect("new data");
    let pred = nll_ok(&["predict", s(&model), "--fit", s(&fit), "--data", s(&new)]);
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines[0], "row,p_1,p_2,p_3,prob_1,prob_2,prob_3,predicted");
    for line in &lines[1..] {
        assert_eq!(line.split(',').count(), 8, "{line}");
    }
    let draws = nll_ok(&[
        "simulate",
        s(&model),
        "--fit",
        s(&fit),
        "--data",
        s(&new),
        "--draws",
        "200",
        "--seed",
        "3",
    ]);
    let mut counts = [0usize; 3];
    for line in draws.lines().skip(1) {
        let y = line.split(',').nth(1).expect("a drawn y");
        let k: usize = y
            .parse()
            .unwrap_or_else(|_| panic!("class `{y}` in {line}"));
        counts[k - 1] += 1;
    }
    // Each class has probability 1/3 at the estimates: 400 draws.
    assert!(counts.iter().all(|c| *c > 80), "{counts:?}");
}

#[test]
fn predict_writes_arguments_means_and_intervals() {
    let (dir, fit) = fitted("predict", HETERO, HETERO_TRAIN, &[]);
    let model = HETERO;
    // New data without the outcome column.
    let new = dir.join("new.csv");
    std::fs::write(&new, "x\n0\n0.5\n").expect("new data");
    let out = dir.join("pred.csv");
    nll_ok(&[
        "predict",
        model,
        "--fit",
        s(&fit),
        "--data",
        s(&new),
        "--level",
        "0.9",
        "--out",
        s(&out),
    ]);
    let text = std::fs::read_to_string(&out).expect("predictions");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row,mu,sigma,mean,lower_90,upper_90");
    assert_eq!(lines.len(), 3);
    // Row x = 0: mu = a, sigma = exp(c), interval mu -+ 1.6448536 sigma.
    let est = estimates(&fit);
    let fields: Vec<f64> = lines[1]
        .split(',')
        .map(|f| f.parse().expect("number"))
        .collect();
    assert!(close(fields[1], est[0].1, 1e-12));
    assert!(close(fields[2], est[2].1.exp(), 1e-12));
    let z = 1.644_853_626_951_472_2;
    assert!(close(fields[4], fields[1] - z * fields[2], 1e-9));
    assert!(close(fields[5], fields[1] + z * fields[2], 1e-9));
    // A level whose percentage is not exact in binary still names a clean
    // column: 0.29 * 100 is 28.999999999999996.
    let head = nll_ok(&[
        "predict",
        model,
        "--fit",
        s(&fit),
        "--data",
        s(&new),
        "--level",
        "0.29",
    ]);
    assert!(
        head.starts_with("row,mu,sigma,mean,lower_29,upper_29\n"),
        "{head}"
    );

    // A classifier: probabilities of class 1.
    let bc_fit = breast_cancer_fit(&dir);
    let pred = nll_ok(&[
        "predict",
        BREAST,
        "--fit",
        s(&bc_fit),
        "--data",
        BREAST_DATA,
    ]);
    assert!(pred.starts_with("row,p,prob_1\n1,"), "{}", &pred[..40]);
    assert_eq!(pred.lines().count(), 570);
}

#[test]
fn cross_validation_reports_every_fold() {
    let out = json(&nll_ok(&[
        "cv",
        POISSON,
        "--data",
        POISSON_DATA,
        "--folds",
        "4",
        "--seed",
        "3",
        "--format",
        "json",
    ]));
    let folds = out["folds"].as_array().expect("folds");
    assert_eq!(folds.len(), 4);
    let n_test: u64 = folds
        .iter()
        .map(|f| f["check"]["n_test"].as_u64().expect("count"))
        .sum();
    assert_eq!(n_test, 400);
    assert_eq!(out["pooled"]["overconfident"], false);
    assert!(folds.iter().all(|f| f["converged"] == true));
}

#[test]
fn fit_file_is_replaced_whole_or_not_at_all() {
    let (dir, fit) = fitted("atomic", POISSON, POISSON_DATA, &[]);
    let (model, data) = (POISSON, POISSON_DATA);
    let first = std::fs::read_to_string(&fit).expect("fit file");
    assert!(first.ends_with("}\n"));
    let v = json(&first);
    assert_eq!(v["format"], "nll-fit/1");
    assert_eq!(v["model"]["hash"].as_str().expect("hash").len(), 64);
    assert_eq!(v["data"]["n_rows"], 400);
    assert_eq!(v["theta"].as_array().expect("theta").len(), 3);
    assert_eq!(v["covariance"].as_array().expect("covariance").len(), 2);

    // A target that cannot be replaced (a folder): an error, no leftovers.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("inside")).expect("folder");
    let err = nll_err(&["fit", model, "--data", data, "--output", s(&blocked)]);
    assert!(err.contains("error[E701]"), "{err}");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert_eq!(std::fs::read_to_string(&fit).expect("fit file"), first);

    // A folder that does not exist: an error, nothing written.
    let err = nll_err(&[
        "fit",
        model,
        "--data",
        data,
        "--output",
        s(&dir.join("nope/fit.json")),
    ]);
    assert!(err.contains("error[E701]: cannot write fit file"), "{err}");
}

#[test]
fn a_changed_model_is_refused_clearly() {
    let (dir, fit) = fitted("hash", POISSON, POISSON_DATA, &[]);
    let data = POISSON_DATA;
    // Comments and spacing do not change the hash.
    let reformatted = dir.join("reformatted.nll");
    std::fs::write(
        &reformatted,
        "# the same model\ndata x,count\nparam a,b\ncount ~ Poisson(exp(a+b*x))\n",
    )
    .expect("model");
    nll_ok(&["eval", s(&reformatted), "--fit", s(&fit), "--data", data]);
    // Another link is another model.
    let changed = dir.join("changed.nll");
    std::fs::write(
        &changed,
        "data x, count\nparam a, b\ncount ~ Poisson(exp(a + b * x * x))\n",
    )
    .expect("model");
    let err = nll_err(&["eval", s(&changed), "--fit", s(&fit), "--data", data]);
    assert!(
        err.contains("error[E703]: the model differs from the one fit file"),
        "{err}"
    );
    assert!(err.contains("tests/fixtures/poisson.nll"), "{err}");
}

#[test]
fn bad_input_gives_located_errors() {
    let (dir, fit) = fitted("bad", POISSON, POISSON_DATA, &[]);
    let (model, data) = (POISSON, POISSON_DATA);

    // A test file without a column the model uses.
    let no_x = dir.join("no_x.csv");
    std::fs::write(&no_x, "count\n1\n2\n").expect("data");
    let err = nll_err(&["eval", model, "--fit", s(&fit), "--data", s(&no_x)]);
    assert!(err.contains("error[E305]"), "{err}");
    assert!(err.contains("`x`"), "{err}");

    // Evaluation needs the outcome; prediction does not.
    let no_count = dir.join("no_count.csv");
    std::fs::write(&no_count, "x\n1\n2\n").expect("data");
    let err = nll_err(&["eval", model, "--fit", s(&fit), "--data", s(&no_count)]);
    assert!(err.contains("error[E305]"), "{err}");
    nll_ok(&["predict", model, "--fit", s(&fit), "--data", s(&no_count)]);

    // Files that do not exist.
    let err = nll_err(&[
        "eval",
        model,
        "--fit",
        s(&dir.join("none.json")),
        "--data",
        data,
    ]);
    assert!(err.contains("error[E701]: cannot read fit file"), "{err}");
    let err = nll_err(&[
        "eval",
        model,
        "--fit",
        s(&fit),
        "--data",
        s(&dir.join("none.csv")),
    ]);
    assert!(err.contains("error[E301]"), "{err}");
    let err = nll_err(&["predict", "nope.nll", "--fit", s(&fit), "--data", data]);
    assert!(err.contains("error[E001]"), "{err}");

    // A file that is not a fit file.
    let junk = dir.join("junk.json");
    std::fs::write(&junk, "{\"format\": 3}").expect("junk");
    let err = nll_err(&["eval", model, "--fit", s(&junk), "--data", data]);
    assert!(err.contains("error[E702]"), "{err}");

    // An output file that cannot be written.
    let err = nll_err(&[
        "predict",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--out",
        s(&dir.join("no/such/folder/pred.csv")),
    ]);
    assert!(err.contains("error[E706]: cannot write"), "{err}");

    // A holdout share outside (0, 1) is a wrong command line: status 2.
    let out = nll(&["fit", model, "--data", data, "--holdout", "1.5"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[E708]: --holdout 1.5 cannot split 400 rows"),
        "{err}"
    );

    // A bad cell in the test file is located by row.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "x,count\n1,2\nabc,1\n").expect("data");
    let err = nll_err(&["eval", model, "--fit", s(&fit), "--data", s(&bad)]);
    assert!(
        err.contains("error[E309]") && err.contains("row 2"),
        "{err}"
    );
}

#[test]
fn an_unseen_factor_level_is_refused_with_its_rows() {
    let dir = scratch("levels");
    let fit = dir.join("fit.json");
    let model = dir.join("groups.nll");
    std::fs::write(
        &model,
        "data g: factor, y\nparam u[g], s > 0\ny ~ Normal(u[g], s)\n",
    )
    .expect("model");
    let train = dir.join("train.csv");
    std::fs::write(
        &train,
        "g,y\nnorth,1\nsouth,4\nnorth,1.5\nsouth,3.5\nwest,0\nwest,1\n",
    )
    .expect("data");
    fit_to(s(&model), s(&train), &fit, &[]);
    // A test file with only `west` rows: coded as the fit's third level.
    let west = dir.join("west.csv");
    std::fs::write(&west, "g,y\nwest,0.5\n").expect("data");
    let pred = nll_ok(&["predict", s(&model), "--fit", s(&fit), "--data", s(&west)]);
    let est = estimates(&fit);
    assert_eq!(est[2].0, "u[west]");
    let mu: f64 = pred
        .lines()
        .nth(1)
        .expect("row")
        .split(',')
        .nth(1)
        .expect("mu")
        .parse()
        .expect("number");
    assert!(close(mu, est[2].1, 1e-12), "{pred}");
    // A level the fit never saw.
    let east = dir.join("east.csv");
    std::fs::write(&east, "g,y\nwest,0.5\neast,2\n").expect("data");
    let err = nll_err(&["eval", s(&model), "--fit", s(&fit), "--data", s(&east)]);
    assert!(
        err.contains("error[E704]: factor `g` has a level `east` that the fit did not see"),
        "{err}"
    );
    assert!(err.contains("row 2 (counted"), "{err}");
}

#[test]
fn eval_plot_writes_labelled_svg_figures() {
    let (dir, fit) = fitted("plot", HETERO, HETERO_TRAIN, &[]);
    let (model, data) = (HETERO, HETERO_TRAIN);
    let figs = dir.join("figs");
    nll_ok(&[
        "eval",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--plot",
        s(&figs),
    ]);
    for name in ["pit_1_y.svg", "intervals_1_y.svg"] {
        let svg = std::fs::read_to_string(figs.join(name)).expect("figure");
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(svg.contains("y ~ Normal"), "{name}: title");
    }
    let pit = std::fs::read_to_string(figs.join("pit_1_y.svg")).expect("figure");
    assert!(pit.contains("PIT value F(y)"));

    let bc_fit = breast_cancer_fit(&dir);
    let args = [
        "eval",
        BREAST,
        "--fit",
        s(&bc_fit),
        "--data",
        BREAST_DATA,
        "--plot",
        s(&figs),
    ];
    nll_ok(&args);
    let rel = std::fs::read_to_string(figs.join("reliability_1_malignant.svg")).expect("figure");
    assert!(rel.contains("observed frequency") && rel.contains("Reliability"));
}

#[test]
fn holdout_split_is_reproducible() {
    let args = |seed: &str| {
        nll_ok(&[
            "fit",
            POISSON,
            "--data",
            POISSON_DATA,
            "--holdout",
            "0.25",
            "--seed",
            seed,
            "--format",
            "json",
        ])
    };
    let a = json(&args("9"));
    assert_eq!(a, json(&args("9")));
    assert_ne!(
        a["held_out"]["total"],
        json(&args("10"))["held_out"]["total"]
    );
    assert_eq!(a["held_out"]["total"]["n_test"], 100);
    assert_eq!(a["held_out"]["total"]["n_train"], 300);
    assert_eq!(a["fit"]["n"], 300);
}

#[test]
fn compound_distributions_are_evaluated_as_mixtures() {
    // A two-component Gaussian mixture: PIT, intervals and draws.
    let (dir, fit) = fitted(
        "mixture",
        "examples/mixture_gaussian.nll",
        "examples/data/mixture.csv",
        &[],
    );
    let model = "examples/mixture_gaussian.nll";
    let data = "examples/data/mixture.csv";
    let report = json(&nll_ok(&[
        "eval",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--format",
        "json",
    ]));
    let cal = &report["statements"][0]["calibration"];
    assert_eq!(cal["randomized_pit"], false);
    // The model generated these data: calibrated, no warning.
    assert!(cal["ks_p_value"].as_f64().expect("p") > 0.01, "{cal}");
    assert_eq!(report["warnings"].as_array().expect("warnings").len(), 0);
    let pred = nll_ok(&["predict", model, "--fit", s(&fit), "--data", data]);
    assert!(
        pred.starts_with("row,w_1,c1_mu,c1_sigma,c2_mu,c2_sigma,mean,lower_95,upper_95\n"),
        "{}",
        &pred[..80]
    );
    nll_ok(&["simulate", model, "--fit", s(&fit), "--data", data]);

    // Zero inflation over a count: a randomised PIT.
    let zip_fit = dir.join("zip.json");
    fit_to("tests/fixtures/eval_zip.nll", POISSON_DATA, &zip_fit, &[]);
    let report = json(&nll_ok(&[
        "eval",
        "tests/fixtures/eval_zip.nll",
        "--fit",
        s(&zip_fit),
        "--data",
        POISSON_DATA,
        "--format",
        "json",
    ]));
    assert_eq!(
        report["statements"][0]["calibration"]["randomized_pit"],
        true
    );
    // The extra-zero probability is named as the documentation names it.
    let args = [
        "predict",
        "tests/fixtures/eval_zip.nll",
        "--fit",
        s(&zip_fit),
    ];
    let pred = nll_ok(&[&args[..], &["--data", POISSON_DATA]].concat());
    assert!(pred.starts_with("row,pi,c1_rate,"), "{}", &pred[..40]);

    // Bernoulli components have no CDF here: a note, and no simulation.
    let b_fit = dir.join("bernoulli.json");
    let b_model = "tests/fixtures/eval_bernoulli_mixture.nll";
    let b_data = "tests/fixtures/eval_binary.csv";
    fit_to(b_model, b_data, &b_fit, &[]);
    let text = nll_ok(&["eval", b_model, "--fit", s(&b_fit), "--data", b_data]);
    assert!(text.contains("note: a component of `Mixture`"), "{text}");
    let err = nll_err(&["simulate", b_model, "--fit", s(&b_fit), "--data", b_data]);
    assert!(
        err.contains("error[E707]: cannot simulate `y ~ Mixture`"),
        "{err}"
    );
}

/// Runs `nll ARGS` and snapshots "exit: N", stdout and stderr, as the
/// diagnostics tests do; the fit files under `tests/fixtures/` were written
/// by `nll fit --output` on the data next to them.
fn check_run(name: &str, args: &[&str]) {
    let out = nll(args);
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{name} panicked:\n{text}");
    insta::assert_snapshot!(name, text);
}

#[test]
fn snapshot_eval_of_a_saved_fit() {
    check_run(
        "eval_poisson",
        &[
            "eval",
            POISSON,
            "--fit",
            "tests/fixtures/eval_poisson.fit.json",
            "--data",
            POISSON_DATA,
            "--bins",
            "5",
        ],
    );
}

#[test]
fn snapshot_changed_model() {
    check_run(
        "eval_model_changed",
        &[
            "eval",
            "tests/fixtures/eval_poisson_changed.nll",
            "--fit",
            "tests/fixtures/eval_poisson.fit.json",
            "--data",
            POISSON_DATA,
        ],
    );
}

#[test]
fn snapshot_unseen_level() {
    check_run(
        "eval_unseen_level",
        &[
            "predict",
            "tests/fixtures/eval_groups.nll",
            "--fit",
            "tests/fixtures/eval_groups.fit.json",
            "--data",
            "tests/fixtures/eval_groups_new.csv",
        ],
    );
}

#[test]
fn snapshot_not_a_fit_file() {
    check_run(
        "eval_not_a_fit_file",
        &[
            "eval",
            POISSON,
            "--fit",
            POISSON_DATA,
            "--data",
            POISSON_DATA,
        ],
    );
}

#[test]
fn fit_file_names_elements_as_the_report_does() {
    // A coefficient matrix: the fit file lists W[k,d] like the report.
    let dir = scratch("names");
    let fit = dir.join("fit.json");
    let model = "examples/iris_softmax_matrix.nll";
    let data = "examples/data/iris.csv";
    let report = json(&fit_to(model, data, &fit, &["--format", "json"]));
    let reported: Vec<&str> = report["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    let saved = estimates(&fit);
    let names: Vec<&str> = saved.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, reported);
    assert!(names.iter().any(|n| n.starts_with("W[")), "{names:?}");
    let levels = &json(&std::fs::read_to_string(&fit).expect("fit file"))["data"]["columns"];
    let species = levels
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "species")
        .expect("species column");
    assert_eq!(
        species["levels"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );

    // Rows of one class only are still coded with the three fitted levels.
    let report = json(&nll_ok(&[
        "eval",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--where",
        "species=virginica",
        "--format",
        "json",
    ]));
    assert_eq!(report["statements"][0]["n_rows"], 50);
    let pred = nll_ok(&[
        "predict",
        model,
        "--fit",
        s(&fit),
        "--data",
        data,
        "--where",
        "species=virginica",
    ]);
    let header = pred.lines().next().expect("header");
    assert!(
        header.ends_with("prob_setosa,prob_versicolor,prob_virginica,predicted"),
        "{header}"
    );
}

const ENGEL_HETERO: &str = "examples/engel_heteroscedastic.nll";
const ENGEL_DATA: &str = "examples/data/engel.csv";

/// Runs `nll ARGS`, requires success, returns standard output and error.
fn nll_ok_err(args: &[&str]) -> (String, String) {
    let out = nll(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "nll {args:?} failed:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn arguments_outside_their_support_on_new_data_are_named_and_skipped() {
    // sigma = exp(g0 + g1 * log(income)) is NaN at a negative income and 0
    // at income 0: those rows have no distribution.
    let (dir, fit) = fitted("outside", ENGEL_HETERO, ENGEL_DATA, &[]);
    let new = dir.join("new.csv");
    std::fs::write(
        &new,
        "income,foodexp\n400,300\n-5,300\n0,200\n600,400\n800,500\n",
    )
    .expect("new data");
    let args = |cmd: &'static str| vec![cmd, ENGEL_HETERO, "--fit", s(&fit), "--data", s(&new)];

    let (pred, err) = nll_ok_err(&args("predict"));
    assert!(err.contains("warning[W701]"), "{err}");
    assert!(err.contains("`sigma` of `Normal`"), "{err}");
    assert!(err.contains("rows 2 (NaN), 3 (0)"), "{err}");
    assert!(err.contains("left empty"), "{err}");
    assert!(!pred.contains("NaN"), "{pred}");
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines.len(), 6, "{pred}");
    assert_eq!(lines[2], "2,,,,,");
    assert_eq!(lines[3], "3,,,,,");
    assert!(lines[1].split(',').all(|f| !f.is_empty()), "{pred}");

    let (sim, err) = nll_ok_err(&args("simulate"));
    assert!(err.contains("warning[W701]"), "{err}");
    assert!(!sim.contains("NaN"), "{sim}");
    let lines: Vec<&str> = sim.lines().collect();
    assert_eq!(lines[0], "draw,income,foodexp");
    assert_eq!(lines[2], "1,-5,");
    assert_eq!(lines[3], "1,0,");
    assert!(!lines[1].ends_with(','), "{sim}");

    // eval leaves the two rows out of every metric and says so.
    let mut eval_args = args("eval");
    eval_args.extend(["--format", "json"]);
    let (report, err) = nll_ok_err(&eval_args);
    assert!(err.contains("left out of every metric"), "{err}");
    let v = json(&report);
    assert_eq!(v["n_rows"], 3);
    assert_eq!(v["excluded_rows"], 2);
    assert!(v["total_nll"].as_f64().expect("number").is_finite());
    let st = &v["statements"][0];
    assert_eq!(st["n_rows"], 3);
    assert_eq!(st["calibration"]["coverage"][0]["n_rows"], 3);
    let pit: u64 = st["calibration"]["pit_histogram"]
        .as_array()
        .expect("histogram")
        .iter()
        .map(|c| c.as_u64().expect("count"))
        .sum();
    assert_eq!(pit, 3);
    let (text, _) = nll_ok_err(&args("eval"));
    assert!(text.contains("(3 rows; 2 excluded"), "{text}");

    // Every row bad: an error, not a report of nothing.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "income,foodexp\n-1,3\n0,2\n").expect("bad data");
    let err = nll_err(&["eval", ENGEL_HETERO, "--fit", s(&fit), "--data", s(&bad)]);
    assert!(err.contains("error[E709]"), "{err}");

    // More than ten rows: ten listed and the rest counted.
    let many = dir.join("many.csv");
    let mut text = "income,foodexp\n".to_string();
    for _ in 0..13 {
        text.push_str("-1,3\n");
    }
    text.push_str("500,300\n");
    std::fs::write(&many, text).expect("many rows");
    let (_, err) = nll_ok_err(&[
        "predict",
        ENGEL_HETERO,
        "--fit",
        s(&fit),
        "--data",
        s(&many),
    ]);
    assert!(err.contains("10 (NaN), and 3 more"), "{err}");
    assert!(err.contains("in 13 rows"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_nan_nll_at_an_extreme_fit_is_an_error_not_a_total() {
    // A negative binomial's phi of 1e-308 makes mu/phi overflow, and the
    // log-mass's formula gives NaN on every row (the mass itself is finite:
    // about phi for y > 0). Printing "total NLL NaN" with exit 0 would pass a
    // broken number off as a result.
    let dir = scratch("nan-nll");
    let model = dir.join("nb.nll");
    let data = dir.join("nb.csv");
    std::fs::write(&model, "data y\nparam phi > 0\ny ~ NegBinomial(3, phi)\n").expect("model");
    std::fs::write(&data, "y\n0\n1\n5\n2\n").expect("data");
    let fit = dir.join("fit.json");
    fit_to(s(&model), s(&data), &fit, &[]);
    let good = nll_ok(&["eval", s(&model), "--fit", s(&fit), "--data", s(&data)]);
    assert!(good.contains("total NLL"), "{good}");
    let mut file = json(&std::fs::read_to_string(&fit).expect("fit file"));
    // theta holds log(phi): the parameter's unconstrained coordinate.
    file["theta"][0] = serde_json::json!(1e-308f64.ln());
    file["estimates"][0]["estimate"] = serde_json::json!(1e-308);
    std::fs::write(&fit, file.to_string()).expect("edited fit file");
    let err = nll_err(&["eval", s(&model), "--fit", s(&fit), "--data", s(&data)]);
    assert!(err.contains("error[E710]"), "{err}");
    assert!(err.contains("not a number on 4 rows"), "{err}");
    assert!(err.contains("Rows 1, 2, 3, 4"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_edited_estimate_that_theta_does_not_give_is_refused() {
    // `predict` uses theta; an estimate edited alone would be ignored
    // without a word, the predictions those of the fit.
    let (dir, fit) = fitted("edited", ENGEL_HETERO, ENGEL_DATA, &[]);
    let edited = dir.join("edited.json");
    // The fit file with one edit, and `predict`'s error on it.
    let error_after = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut file = json(&std::fs::read_to_string(&fit).expect("fit file"));
        edit(&mut file);
        std::fs::write(&edited, file.to_string()).expect("edited fit file");
        let args = [
            "predict",
            ENGEL_HETERO,
            "--fit",
            s(&edited),
            "--data",
            ENGEL_DATA,
        ];
        nll_err(&args)
    };
    let err = error_after(&|f| f["estimates"][0]["estimate"] = serde_json::json!(100.0));
    assert!(err.contains("error[E711]"), "{err}");
    assert!(err.contains("estimate 100 but theta gives"), "{err}");
    // So is a negative smoothing width, theta's last coordinate.
    let err = error_after(&|f| {
        let last = f["theta"].as_array().expect("theta").len() - 1;
        f["theta"][last] = serde_json::json!(-3.0);
    });
    assert!(err.contains("the smoothing width of kinks) is -3"), "{err}");
    // So is a theta whose natural value overflows (log s = 710), which no
    // finite estimate is within a relative 1e-12 of.
    let positive = dir.join("positive.nll");
    std::fs::write(
        &positive,
        "data income, foodexp\nparam a, b, s > 0\nfoodexp ~ Normal(a + b * income, s)\n",
    )
    .expect("model");
    let positive_fit = dir.join("positive.json");
    fit_to(s(&positive), ENGEL_DATA, &positive_fit, &[]);
    let mut file = json(&std::fs::read_to_string(&positive_fit).expect("fit file"));
    file["theta"][2] = serde_json::json!(710.0);
    std::fs::write(&positive_fit, file.to_string()).expect("edited fit file");
    let err = nll_err(&[
        "predict",
        s(&positive),
        "--fit",
        s(&positive_fit),
        "--data",
        ENGEL_DATA,
    ]);
    assert!(err.contains("theta gives inf"), "{err}");
    // The file as written passes.
    nll_ok(&[
        "predict",
        ENGEL_HETERO,
        "--fit",
        s(&fit),
        "--data",
        ENGEL_DATA,
    ]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn predict_and_simulate_do_not_need_the_outcome() {
    let (dir, fit) = fitted("blanks", ENGEL_HETERO, ENGEL_DATA, &[]);
    // The usual "fill in the blanks" file: the outcome column is there,
    // empty on the rows to predict.
    let new = dir.join("blanks.csv");
    std::fs::write(&new, "income,foodexp\n400,\n500,300\n600,\n").expect("new data");
    let args = |cmd: &'static str| vec![cmd, ENGEL_HETERO, "--fit", s(&fit), "--data", s(&new)];
    let (pred, err) = nll_ok_err(&args("predict"));
    assert!(!err.contains("error"), "{err}");
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines.len(), 4, "{pred}");
    assert!(lines[1].starts_with("1,"), "{pred}");
    assert!(lines[3].starts_with("3,"), "{pred}");
    let (sim, _) = nll_ok_err(&args("simulate"));
    let lines: Vec<&str> = sim.lines().collect();
    assert_eq!(lines[0], "draw,income,foodexp");
    assert_eq!(lines.len(), 4, "{sim}");
    assert!(lines[1].starts_with("1,400,"), "{sim}");
    assert!(lines[1].split(',').all(|f| !f.is_empty()), "{sim}");

    // --drop-missing keeps every row that has its covariates and drops
    // only those missing one.
    let gaps = dir.join("gaps.csv");
    std::fs::write(&gaps, "income,foodexp\n400,\n,300\n600,\n").expect("gaps");
    let plain = [
        "predict",
        ENGEL_HETERO,
        "--fit",
        s(&fit),
        "--data",
        s(&gaps),
    ];
    let mut drop = plain.to_vec();
    drop.push("--drop-missing");
    let (pred, _) = nll_ok_err(&drop);
    let rows: Vec<&str> = pred.lines().skip(1).map(|l| &l[..2]).collect();
    assert_eq!(rows, ["1,", "3,"], "{pred}");
    // Without it, a missing covariate is still an error.
    let err = nll_err(&plain);
    assert!(err.contains("E307"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The folds' fits say what went wrong in them, as a fit would: on data
/// where a mixture component settles on three close values, the warning
/// about a component carried by a few rows names the folds it came from.
#[test]
fn cross_validation_shows_the_warnings_of_its_folds() {
    let out = nll(&[
        "cv",
        "tests/fixtures/mixture_spurious.nll",
        "--data",
        "tests/fixtures/mixture_spurious.csv",
        "--folds",
        "3",
        "--format",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = json(&stdout);
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().expect("text"))
        .collect();
    let spurious: Vec<&&str> = warnings
        .iter()
        .filter(|w| w.contains("the usual shape of a spurious maximum"))
        .collect();
    assert!(!spurious.is_empty(), "{warnings:#?}");
    assert!(
        spurious.iter().all(|w| w.starts_with("fold")),
        "{warnings:#?}"
    );
}

/// A fit stopped where the Hessian is positive but tiny (a Poisson rate of
/// exp(-745), its curvature n exp(-745) is a subnormal): its inverse
/// overflows, so the file has no covariance rather than one with `null`
/// entries, and `nll eval` reads it.
#[test]
fn a_covariance_that_overflows_is_left_out_of_the_fit_file() {
    let dir = scratch("covariance_overflow");
    let (model, data) = (dir.join("m.nll"), dir.join("d.csv"));
    std::fs::write(&model, "data y: int\nparam a\ny ~ Poisson(exp(a))\n").unwrap();
    std::fs::write(&data, "y\n0\n5\n").unwrap();
    let fit = dir.join("fit.json");
    fit_to(
        s(&model),
        s(&data),
        &fit,
        &["--max-iter", "0", "--start", "a=-745"],
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fit).unwrap()).unwrap();
    assert!(file["covariance"].is_null(), "{}", file["covariance"]);
    nll_ok(&["eval", s(&model), "--fit", s(&fit), "--data", s(&data)]);
}

/// A mixture weight w = logistic(37.5) rounds to 1, yet its other
/// component keeps the weight 1 - w = logistic(-37.5) = 5.2e-17: the
/// observation 30, 30 standard deviations from the first component, is
/// that component's. Written log1p(-w), the second term was -inf and the
/// total NLL 451.8 instead of 39.34.
#[test]
fn a_mixture_weight_that_rounds_to_one_keeps_its_complement() {
    let dir = scratch("mixture-weight-near-one");
    let (model, data) = (dir.join("m.nll"), dir.join("d.csv"));
    std::fs::write(
        &model,
        "data y\nparam w in (0, 1)\ny ~ Mixture(w, Normal(0, 1), Normal(30, 1))\n",
    )
    .unwrap();
    std::fs::write(&data, "y\n0\n30\n").unwrap();
    let fit = dir.join("fit.json");
    fit_to(s(&model), s(&data), &fit, &[]);
    let mut file = json(&std::fs::read_to_string(&fit).expect("fit file"));
    file["theta"][0] = serde_json::json!(37.5);
    file["estimates"][0]["estimate"] = serde_json::json!(1.0);
    std::fs::write(&fit, file.to_string()).expect("edited fit file");
    let out = nll_ok(&[
        "eval",
        s(&model),
        "--fit",
        s(&fit),
        "--data",
        s(&data),
        "--format",
        "json",
    ]);
    let total = json(&out)["total_nll"].as_f64().expect("total_nll");
    // -log N(0; 0, 1) + [-log N(30; 30, 1) - log(1 - w)] with the far
    // component's density (exp(-450)) dropped: it is below 1e-195 of the
    // near one's. -log(1 - w) = softplus(37.5) = 37.5 + log1p(exp(-37.5)).
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let expected = 2.0 * half_log_2pi + 37.5 + (-37.5f64).exp().ln_1p();
    assert!(
        close(total, expected, 1e-12 * expected),
        "{total} vs {expected}"
    );
}
