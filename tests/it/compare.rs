//! `nll compare`: the table against separate fits, likelihood-ratio tests
//! on nested pairs, and the errors for models of different data.

use crate::cli::{check, fit_json, run};

/// Log-likelihoods from separate runs agree with the comparison to this
/// (relative): both come from the same deterministic fit, so anything
/// beyond printing precision is a bug.
const SAME_FIT_REL_TOL: f64 = 1e-12;

/// Runs `nll compare ARGS --format json`.
fn compare_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let text = run(&all);
    assert!(text.starts_with("exit: 0"), "{text}");
    let json = text
        .split("--- stdout\n")
        .nth(1)
        .and_then(|t| t.split("--- stderr").next())
        .unwrap();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn assert_close(a: f64, b: f64, rel_tol: f64) {
    assert!(
        (a - b).abs() <= rel_tol * a.abs().max(b.abs()).max(1.0),
        "{a} vs {b}"
    );
}

#[test]
fn nested_pair_is_detected_and_tested() {
    let small = "tests/fixtures/engel_log_sigma.nll";
    let big = "examples/engel_heteroscedastic.nll";
    let data = "examples/data/engel.csv";
    let v = compare_json(&[small, big, "--data", data]);
    let fit_small = fit_json(&[small, "--data", data]);
    let fit_big = fit_json(&[big, "--data", data]);

    // AIC, BIC and log-likelihood are the separate fits'.
    for (row, fit) in [(&v["models"][0], &fit_small), (&v["models"][1], &fit_big)] {
        for key in ["log_likelihood", "aic", "bic"] {
            assert_close(num(&row[key]), num(&fit[key]), SAME_FIT_REL_TOL);
        }
        assert_eq!(row["k"], fit["k"]);
        assert_eq!(row["n"], fit["n"]);
    }

    let t = &v["lr_tests"][0];
    assert_eq!(t["small"], "engel_log_sigma");
    assert_eq!(t["big"], "engel_heteroscedastic");
    assert_eq!(t["nesting"], "detected");
    assert_eq!(t["df"], 1);
    let lr = 2.0 * (num(&fit_big["log_likelihood"]) - num(&fit_small["log_likelihood"]));
    assert_close(num(&t["statistic"]), lr, SAME_FIT_REL_TOL);
    // statsmodels' value for the same test, from
    // /work/shared/data/real/engel.reference.json
    // (likelihood_ratio_hetero_vs_constant); references agree to ~1e-8.
    assert_close(num(&t["statistic"]), 185.5188228321108, 1e-8);
    assert!(num(&t["p_value"]) < 1e-40);

    // Akaike weights sum to 1 and favour the smaller AIC.
    let w0 = num(&v["models"][0]["akaike_weight"]);
    let w1 = num(&v["models"][1]["akaike_weight"]);
    assert_close(w0 + w1, 1.0, 1e-15);
    assert!(w1 > w0);
    assert_eq!(num(&v["models"][1]["delta_aic"]), 0.0);
}

#[test]
fn declared_nesting_gives_the_same_test() {
    // engel_linear has `sigma` where engel_heteroscedastic has
    // exp(g0 + g1 log(income)): nested, but not by parameter names.
    let v = compare_json(&[
        "examples/engel_linear.nll",
        "examples/engel_heteroscedastic.nll",
        "--data",
        "examples/data/engel.csv",
        "--nested",
        "engel_linear:engel_heteroscedastic",
    ]);
    let t = &v["lr_tests"][0];
    assert_eq!(t["nesting"], "declared");
    assert_close(num(&t["statistic"]), 185.5188228321108, 1e-8);
}

#[test]
fn non_nested_pair_has_no_test() {
    check(
        "compare_not_nested",
        &[
            "compare",
            "examples/engel_linear.nll",
            "examples/engel_laplace.nll",
            "examples/engel_studentt.nll",
            "--data",
            "examples/data/engel.csv",
        ],
    );
}

#[test]
fn different_rows_are_an_error() {
    // With --drop-missing, y_mean keeps 5 rows of missing.csv and linear 4.
    check(
        "compare_different_rows",
        &[
            "compare",
            "tests/fixtures/y_mean.nll",
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/missing.csv",
            "--drop-missing",
        ],
    );
}

#[test]
fn different_observations_are_an_error() {
    check(
        "compare_different_observations",
        &[
            "compare",
            "tests/fixtures/linear.nll",
            "tests/fixtures/log_linear.nll",
            "--data",
            "tests/fixtures/xy.csv",
        ],
    );
}

#[test]
fn unknown_nested_model_suggests_the_close_one() {
    check(
        "compare_unknown_nested",
        &[
            "compare",
            "examples/engel_linear.nll",
            "examples/engel_heteroscedastic.nll",
            "--data",
            "examples/data/engel.csv",
            "--nested",
            "engel_lnear:engel_heteroscedastic",
        ],
    );
}

#[test]
fn held_out_nll_is_the_mean_over_test_rows() {
    let v = compare_json(&[
        "examples/breast_cancer_logistic.nll",
        "examples/breast_cancer_probit.nll",
        "--data",
        "examples/data/breast_cancer.csv",
        "--split-column",
        "split",
    ]);
    // The fit is on the 398 training rows, as with --where split=train.
    let fit = fit_json(&[
        "examples/breast_cancer_logistic.nll",
        "--data",
        "examples/data/breast_cancer.csv",
        "--where",
        "split=train",
    ]);
    let row = &v["models"][0];
    assert_eq!(row["n"], 398);
    assert_close(num(&row["aic"]), num(&fit["aic"]), SAME_FIT_REL_TOL);

    // The held-out NLL by hand: Bernoulli(logistic(eta)) on the test rows,
    //   nll_i = log(1 + exp(eta_i)) - y_i eta_i.
    let b: Vec<f64> = fit["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| num(&p["estimate"]))
        .collect();
    let text = std::fs::read_to_string(crate::common::repo_path("examples/data/breast_cancer.csv"))
        .unwrap();
    let mut total = 0.0;
    let mut n_test = 0;
    for line in text.lines().skip(1).filter(|l| l.ends_with(",test")) {
        let f: Vec<f64> = line
            .split(',')
            .take(5)
            .map(|c| c.parse().unwrap())
            .collect();
        let eta = b[0] + b[1] * f[1] + b[2] * f[2] + b[3] * f[3] + b[4] * f[4];
        total += eta.exp().ln_1p() - f[0] * eta;
        n_test += 1;
    }
    assert_eq!(row["held_out"]["n"], n_test);
    // The estimates printed in JSON are the full doubles; the sum differs
    // only by its order of additions.
    assert_close(
        num(&row["held_out"]["mean_nll"]),
        total / n_test as f64,
        1e-10,
    );
}

#[test]
fn held_out_level_unseen_in_training_is_named() {
    // groups_split.csv: level `west` occurs only in the test rows, so the
    // group-means model has no estimate for it; the one-mean model does.
    check(
        "compare_held_out_unseen_level",
        &[
            "compare",
            "tests/fixtures/group_means.nll",
            "tests/fixtures/y_mean.nll",
            "--data",
            "tests/fixtures/groups_split.csv",
            "--split-column",
            "split",
        ],
    );
}

#[test]
fn nested_pair_text_shows_the_test() {
    check(
        "compare_nested",
        &[
            "compare",
            "tests/fixtures/engel_log_sigma.nll",
            "examples/engel_heteroscedastic.nll",
            "--data",
            "examples/data/engel.csv",
        ],
    );
}

#[test]
fn declared_nesting_contradicted_by_the_fits_is_flagged() {
    check(
        "compare_declared_worse",
        &[
            "compare",
            "examples/engel_heteroscedastic.nll",
            "tests/fixtures/engel_studentt_quadratic.nll",
            "--data",
            "examples/data/engel.csv",
            "--nested",
            "engel_heteroscedastic:engel_studentt_quadratic",
        ],
    );
}

#[test]
fn a_model_that_is_not_a_likelihood_gets_no_weight_and_no_test() {
    // The identity link runs p outside [0, 1] and reaches the smallest AIC;
    // it is left out of the weights and of the test against the constant
    // model nested in it, and the other two models' weights sum to 1.
    let args = [
        "tests/fixtures/bernoulli_constant.nll",
        "tests/fixtures/bernoulli_identity_link.nll",
        "tests/fixtures/bernoulli_logit_link.nll",
        "--data",
        "tests/fixtures/bernoulli_identity_link.csv",
    ];
    let v = compare_json(&args);
    let models = v["models"].as_array().unwrap();
    assert_eq!(models[1]["label"], "bernoulli_identity_link");
    assert!(models[1]["akaike_weight"].is_null(), "{}", models[1]);
    assert!(models[1]["delta_aic"].is_null(), "{}", models[1]);
    let (w0, w2) = (
        num(&models[0]["akaike_weight"]),
        num(&models[2]["akaike_weight"]),
    );
    assert_close(w0 + w2, 1.0, 1e-15);
    assert!(w2 > w0);
    assert_eq!(num(&models[2]["delta_aic"]), 0.0);
    assert!(
        v["lr_tests"].as_array().unwrap().is_empty(),
        "{}",
        v["lr_tests"]
    );
    let excluded = v["not_nested"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|nn| {
            nn["reason"]
                .as_str()
                .unwrap()
                .starts_with("`bernoulli_identity_link` is not a likelihood")
        })
        .count();
    assert_eq!(excluded, 2, "{}", v["not_nested"]);

    let mut text_args = vec!["compare"];
    text_args.extend(args);
    let text = run(&text_args);
    assert!(text.starts_with("exit: 0"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("bernoulli_identity_link "))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[6..8], ["-", "-"], "{row}");
    assert!(
        text.contains("note: `bernoulli_identity_link` is not a likelihood at its estimate"),
        "{text}"
    );
}
