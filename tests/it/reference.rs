//! End-to-end fits of the bundled examples against reference fits made with
//! statsmodels (tests/reference/*.reference.json, copied from the project's
//! shared reference data; see examples/data/README.md for the sources).
//!
//! Tolerances: the references are full-precision maximum-likelihood fits
//! with analytic Hessians, so a correct fitter agrees to ~1e-8 in estimates
//! and log-likelihood; 1e-5 relative for estimates and standard errors and
//! 1e-7 for the log-likelihood leave room for the optimizer's stopping rule
//! while catching any wrong constant, derivative or convergence.

use serde_json::Value;

use crate::common::fit_example;

const EST_REL_TOL: f64 = 1e-5;
const SE_REL_TOL: f64 = 1e-5;
const LOGLIK_REL_TOL: f64 = 1e-7;

fn reference(name: &str, model: &str) -> Value {
    let path = format!(
        "{}/tests/reference/{name}.reference.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("reference JSON parses");
    v["models"][model].clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// Fits `example` on `data` and compares every parameter (in order),
/// standard error and the log-likelihood with the reference model.
fn check_against(example: &str, data: &str, filters: &[(&str, &str)], refname: &str, model: &str) {
    let r = reference(refname, model);
    let report = fit_example(example, data, filters);
    assert!(
        report.converged,
        "{example}: {}\n{:?}",
        report.status, report.warnings
    );

    let est = floats(&r["estimates"]);
    let se = floats(&r["std_errors"]);
    assert_eq!(
        report.parameters.len(),
        est.len(),
        "{example}: parameter count"
    );
    for (i, p) in report.parameters.iter().enumerate() {
        assert!(
            rel_err(p.estimate, est[i]) < EST_REL_TOL,
            "{example} {}: estimate {} vs reference {}",
            p.name,
            p.estimate,
            est[i]
        );
        let s = p.std_error.unwrap_or(f64::NAN);
        assert!(
            rel_err(s, se[i]) < SE_REL_TOL,
            "{example} {}: std error {s} vs reference {}",
            p.name,
            se[i]
        );
    }
    let ll = r["loglik"].as_f64().unwrap();
    assert!(
        rel_err(report.log_likelihood, ll) < LOGLIK_REL_TOL,
        "{example}: log-likelihood {} vs reference {ll}",
        report.log_likelihood
    );
    let n_params = r["n_params"].as_u64().unwrap() as usize;
    assert_eq!(report.k, n_params);
    assert!(rel_err(report.aic, r["aic"].as_f64().unwrap()) < LOGLIK_REL_TOL);
    assert!(rel_err(report.bic, r["bic"].as_f64().unwrap()) < LOGLIK_REL_TOL);
}

#[test]
fn randhie_negative_binomial_matches_statsmodels() {
    // Reference made by tests/reference/make_extra_references.py (statsmodels
    // NB2). The example estimates alpha = 1/phi; the reference lists phi and
    // its standard error and, among its checks, alpha and se(alpha)
    // = se(phi) / phi^2 (the delta method, exact at the optimum).
    let r = reference("randhie_negbin", "negbin2");
    let report = fit_example("randhie_negbin.nll", "randhie.csv", &[]);
    assert!(report.converged, "{}", report.status);
    let est = floats(&r["estimates"]);
    let se = floats(&r["std_errors"]);
    let n = est.len();
    for i in 0..n - 1 {
        let p = &report.parameters[i];
        assert!(
            rel_err(p.estimate, est[i]) < EST_REL_TOL,
            "{}: {} vs {}",
            p.name,
            p.estimate,
            est[i]
        );
        assert!(
            rel_err(p.std_error.unwrap(), se[i]) < SE_REL_TOL,
            "{}: se",
            p.name
        );
    }
    let alpha = &report.parameters[n - 1];
    assert_eq!(alpha.name, "alpha");
    let (alpha_ref, se_alpha_ref) = (
        r["checks"]["alpha"].as_f64().unwrap(),
        r["checks"]["se_alpha"].as_f64().unwrap(),
    );
    assert!(
        rel_err(alpha.estimate, alpha_ref) < EST_REL_TOL,
        "alpha {} vs {alpha_ref}",
        alpha.estimate
    );
    assert!(
        rel_err(alpha.std_error.unwrap(), se_alpha_ref) < SE_REL_TOL,
        "se(alpha)"
    );
    assert!(rel_err(report.log_likelihood, r["loglik"].as_f64().unwrap()) < LOGLIK_REL_TOL);
    assert!(rel_err(report.aic, r["aic"].as_f64().unwrap()) < LOGLIK_REL_TOL);
}

#[test]
fn engel_laplace_matches_the_exact_lad_solution() {
    // The reference is the exact least-absolute-deviation vertex (checked
    // with a linear program); no standard errors exist at the kink.
    let r = reference("engel_laplace", "lad");
    let report = fit_example("engel_laplace.nll", "engel.csv", &[]);
    assert!(report.converged, "{}", report.status);
    for (p, e) in report.parameters.iter().zip(floats(&r["estimates"])) {
        // The smoothing ends at 1e-9 of the residual scale: 1e-6 relative.
        assert!(
            rel_err(p.estimate, e) < 1e-6,
            "{}: {} vs {e}",
            p.name,
            p.estimate
        );
    }
    let ll = r["loglik"].as_f64().unwrap();
    assert!(
        rel_err(report.log_likelihood, ll) < LOGLIK_REL_TOL,
        "{} vs {ll}",
        report.log_likelihood
    );
}

#[test]
fn engel_constant_sigma_matches_statsmodels() {
    check_against("engel_linear.nll", "engel.csv", &[], "engel", "gaussian");
}

#[test]
fn engel_heteroscedastic_matches_statsmodels() {
    check_against(
        "engel_heteroscedastic.nll",
        "engel.csv",
        &[],
        "engel",
        "heteroscedastic",
    );
}

#[test]
fn diabetes_ten_covariates_match_statsmodels() {
    check_against(
        "diabetes_linear.nll",
        "diabetes.csv",
        &[],
        "diabetes",
        "gaussian",
    );
}

#[test]
fn randhie_poisson_matches_statsmodels() {
    check_against(
        "randhie_poisson.nll",
        "randhie.csv",
        &[],
        "randhie",
        "poisson",
    );
}

#[test]
fn breast_cancer_logistic_on_train_rows_matches_statsmodels() {
    check_against(
        "breast_cancer_logistic.nll",
        "breast_cancer.csv",
        &[("split", "train")],
        "breast_cancer",
        "logit_train",
    );
}

#[test]
fn breast_cancer_logistic_on_all_rows_matches_statsmodels() {
    check_against(
        "breast_cancer_logistic.nll",
        "breast_cancer.csv",
        &[],
        "breast_cancer",
        "logit_all",
    );
}

#[test]
fn iris_softmax_matches_statsmodels() {
    check_against(
        "iris_softmax.nll",
        "iris.csv",
        &[],
        "iris",
        "mnlogit_sepal_length",
    );
}

#[test]
fn iris_softmax_with_a_coefficient_matrix_matches_statsmodels() {
    // Reference order: (a2, b2, a3, b3); the example declares a[2] then
    // W[2, 1], so its order is (a[1], a[2], W[1,1], W[2,1]).
    let r = reference("iris", "mnlogit_sepal_length");
    let report = fit_example("iris_softmax_matrix.nll", "iris.csv", &[]);
    assert!(report.converged, "{}", report.status);
    let est = floats(&r["estimates"]);
    let se = floats(&r["std_errors"]);
    for (ours, theirs) in [(0, 0), (1, 2), (2, 1), (3, 3)] {
        let p = &report.parameters[ours];
        assert!(
            rel_err(p.estimate, est[theirs]) < EST_REL_TOL,
            "{}: {} vs {}",
            p.name,
            p.estimate,
            est[theirs]
        );
        assert!(
            rel_err(p.std_error.unwrap(), se[theirs]) < SE_REL_TOL,
            "{}",
            p.name
        );
    }
    assert!(rel_err(report.log_likelihood, r["loglik"].as_f64().unwrap()) < LOGLIK_REL_TOL);
}

#[test]
fn iris_softmax_with_sepal_width_reports_separation() {
    // The reference file: setosa is linearly separable by sepal length and
    // width, so no finite maximum-likelihood estimate exists.
    let r = reference("iris", "mnlogit_sepal_length_width");
    assert_eq!(r["mle_exists"], false);
    let report =
        crate::common::fit_fixture("iris_softmax_separated.nll", "../../examples/data/iris.csv");
    assert!(!report.converged);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("separation") && w.contains("setosa")),
        "{:?}",
        report.warnings
    );
}
