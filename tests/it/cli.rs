//! The `nll` binary on wrong and right input: exit codes and exact messages.
//! Each case runs the real binary and snapshots what a user sees.

use std::process::Command;

use crate::common::repo_path;

/// Runs `nll ARGS` from the repository root; returns "exit: N", then stdout
/// and stderr, for a snapshot.
pub fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nll"))
        .args(args)
        .current_dir(repo_path(""))
        .env("NO_COLOR", "1")
        .output()
        .expect("the nll binary runs");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn check(name: &str, args: &[&str]) {
    let text = run(args);
    assert!(!text.contains("panicked"), "{name} panicked:\n{text}");
    assert!(
        !text.contains("RUST_BACKTRACE"),
        "{name} printed a backtrace hint:\n{text}"
    );
    insta::assert_snapshot!(name, crate::common::redact_rounding(&text));
}

#[test]
fn parse_error_points_at_line_and_column() {
    check("parse_error", &["check", "tests/fixtures/parse_error.nll"]);
}

#[test]
fn unknown_name_suggests_the_close_one() {
    check(
        "unknown_name",
        &["check", "tests/fixtures/unknown_name.nll"],
    );
}

#[test]
fn distribution_arity_is_checked() {
    check("dist_arity", &["check", "tests/fixtures/dist_arity.nll"]);
}

#[test]
fn missing_column_is_named() {
    check(
        "missing_column",
        &[
            "fit",
            "tests/fixtures/missing_column.nll",
            "--data",
            "tests/fixtures/xy.csv",
        ],
    );
}

#[test]
fn bad_cells_are_listed_with_rows() {
    check(
        "bad_cells",
        &[
            "fit",
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/bad_cells.csv",
        ],
    );
}

#[test]
fn noninteger_counts_are_rejected_for_poisson() {
    check(
        "noninteger_poisson",
        &[
            "fit",
            "tests/fixtures/poisson.nll",
            "--data",
            "tests/fixtures/noninteger_counts.csv",
        ],
    );
}

#[test]
fn noninteger_cells_are_rejected_in_int_columns() {
    check(
        "noninteger_int_column",
        &[
            "fit",
            "tests/fixtures/poisson_int.nll",
            "--data",
            "tests/fixtures/noninteger_counts.csv",
        ],
    );
}

#[test]
fn unused_parameter_is_a_warning() {
    let text = run(&[
        "fit",
        "tests/fixtures/unused_param.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--format",
        "json",
    ]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(
        text.contains("parameter `unused` is not used by the likelihood"),
        "{text}"
    );
}

#[test]
fn missing_cells_without_and_with_drop_missing() {
    check(
        "missing_cells",
        &[
            "fit",
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/missing.csv",
        ],
    );
    let text = run(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/missing.csv",
        "--drop-missing",
    ]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(text.contains("rows dropped     2"), "{text}");
}

#[test]
fn scale_outside_support_at_start_is_explained() {
    check(
        "negative_scale_start",
        &[
            "fit",
            "tests/fixtures/negative_scale.nll",
            "--data",
            "tests/fixtures/xy.csv",
            "--start",
            "s=-1",
        ],
    );
}

#[test]
fn missing_model_file_is_an_error_not_a_panic() {
    check(
        "missing_model_file",
        &[
            "fit",
            "tests/fixtures/no_such_model.nll",
            "--data",
            "tests/fixtures/xy.csv",
        ],
    );
}

#[test]
fn unknown_start_parameter_is_reported() {
    check(
        "unknown_start",
        &[
            "fit",
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/xy.csv",
            "--start",
            "bb=1",
        ],
    );
}

#[test]
fn json_output_has_the_documented_shape() {
    let text = run(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--format",
        "json",
    ]);
    let json = text
        .split("--- stdout\n")
        .nth(1)
        .unwrap()
        .split("--- stderr")
        .next()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    for key in [
        "parameters",
        "nll",
        "log_likelihood",
        "aic",
        "bic",
        "n",
        "k",
        "converged",
        "iterations",
        "grad_norm",
        "warnings",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let p = &v["parameters"][0];
    for key in ["name", "estimate", "std_error", "ci_lower", "ci_upper"] {
        assert!(p.get(key).is_some(), "missing parameters[0].{key}");
    }
    assert_eq!(v["n"], 6);
    assert_eq!(v["k"], 3);
}

#[test]
fn exact_fit_reports_a_collapsing_scale() {
    // y = 1 + 2x exactly: sigma -> 0 and the likelihood is unbounded.
    let text = run(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/exact.csv",
        "--format",
        "json",
    ]);
    // A fit without a proper maximum exits 4, in JSON mode too.
    assert!(text.starts_with("exit: 4"), "{text}");
    assert!(text.contains("\"converged\": false"), "{text}");
    assert!(text.contains("\"outcome\": \"no_maximum\""), "{text}");
    assert!(text.contains("collapses toward 0"), "{text}");
}

#[test]
fn non_identified_parameters_are_named() {
    // a and b enter only through a + b.
    let text = run(&[
        "fit",
        "tests/fixtures/not_identified.nll",
        "--data",
        "tests/fixtures/xy.csv",
    ]);
    assert!(text.starts_with("exit: 4"), "{text}");
    assert!(text.contains("not positive definite"), "{text}");
    assert!(
        text.contains("involves `a`, `b`") || text.contains("involves `b`, `a`"),
        "{text}"
    );
}

#[test]
fn iteration_limit_is_not_convergence() {
    let text = run(&[
        "fit",
        "examples/engel_heteroscedastic.nll",
        "--data",
        "examples/data/engel.csv",
        "--max-iter",
        "2",
        "--format",
        "json",
    ]);
    // The optimizer stopped early: exit 3, the last finite point reported.
    assert!(text.starts_with("exit: 3"), "{text}");
    assert!(text.contains("\"converged\": false"), "{text}");
    assert!(text.contains("\"outcome\": \"not_converged\""), "{text}");
    assert!(text.contains("iteration limit"), "{text}");
    let v = fit_json(&[
        "examples/engel_heteroscedastic.nll",
        "--data",
        "examples/data/engel.csv",
        "--max-iter",
        "2",
    ]);
    assert!(v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["estimate"].as_f64().is_some_and(f64::is_finite)));
}

/// With no iterations allowed, a fit is an evaluation at the start: a start
/// far out on a constrained scale (a mixture weight of 1e-12) is reported
/// as given, not replaced by a lower point toward the interior.
#[test]
fn no_iterations_keep_a_far_start() {
    let v = fit_json(&[
        "examples/mixture_gaussian.nll",
        "--data",
        "examples/data/mixture.csv",
        "--max-iter",
        "0",
        "--start",
        "w=1e-12",
    ]);
    let w = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "w")
        .and_then(|p| p["estimate"].as_f64())
        .unwrap();
    assert!((w - 1e-12).abs() < 1e-24, "{w}");

    // Nor are a Gaussian mean's linear coefficients solved for by least
    // squares: the estimates and the NLL are those of the start.
    let v = fit_json(&[
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--max-iter",
        "0",
        "--start",
        "a=0.25",
        "--start",
        "b=-1.5",
    ]);
    let estimates: Vec<f64> = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["estimate"].as_f64().unwrap())
        .collect();
    assert_eq!(&estimates[..2], &[0.25, -1.5], "{v}");
    assert_eq!(v["iterations"], 0, "{v}");
}

#[test]
fn static_warnings_point_at_the_model() {
    check(
        "warning_not_identified",
        &[
            "check",
            "tests/fixtures/not_identified.nll",
            "--data",
            "tests/fixtures/xy.csv",
        ],
    );
    check(
        "warning_unbounded_scale",
        &[
            "check",
            "tests/fixtures/negative_scale.nll",
            "--data",
            "tests/fixtures/xy.csv",
        ],
    );
    check(
        "warning_constant_column",
        &[
            "check",
            "tests/fixtures/constant_column.nll",
            "--data",
            "tests/fixtures/constant_column.csv",
        ],
    );
}

pub fn fit_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["fit"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let text = run(&all);
    let json = text
        .split("--- stdout\n")
        .nth(1)
        .unwrap()
        .split("--- stderr")
        .next()
        .unwrap();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn separation_is_named_not_reported_as_convergence() {
    // y = 0 for x <= 3 and 1 above: the logistic MLE does not exist.
    let v = fit_json(&[
        "tests/fixtures/logistic.nll",
        "--data",
        "tests/fixtures/separated.csv",
    ]);
    assert_eq!(v["converged"], false);
    assert!(
        v["warnings"].to_string().contains("no finite maximum"),
        "{v}"
    );

    // Setosa is separable by sepal length and width: the reference fit
    // says no finite estimate exists.
    let v = fit_json(&[
        "tests/fixtures/iris_separated.nll",
        "--data",
        "examples/data/iris.csv",
    ]);
    assert_eq!(v["converged"], false);
    let w = v["warnings"].to_string();
    assert!(
        w.contains("separation") && w.contains("class setosa"),
        "{w}"
    );
}

#[test]
fn all_zero_counts_have_no_finite_maximum() {
    let v = fit_json(&[
        "tests/fixtures/poisson_intercept.nll",
        "--data",
        "tests/fixtures/zero_counts.csv",
    ]);
    assert_eq!(v["converged"], false);
    assert!(
        v["warnings"].to_string().contains("no finite maximum"),
        "{v}"
    );
}

#[test]
fn priors_are_reported_as_map_and_kept_out_of_the_likelihood() {
    let v = fit_json(&[
        "tests/fixtures/prior.nll",
        "--data",
        "tests/fixtures/xy.csv",
    ]);
    assert!(
        v["estimator"]
            .as_str()
            .unwrap()
            .starts_with("maximum a posteriori"),
        "{v}"
    );
    let ll = v["log_likelihood"].as_f64().unwrap();
    let lp = v["log_prior"].as_f64().unwrap();
    // The prior N(5, 0.001) at a: log density = -log(0.001) - log(2 pi)/2 - z^2/2.
    let a = v["parameters"][0]["estimate"].as_f64().unwrap();
    let z = (a - 5.0) / 0.001;
    let expected = -(0.001f64).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * z * z;
    assert!(
        (lp - expected).abs() < 1e-9 * expected.abs(),
        "{lp} vs {expected}"
    );
    assert!((v["nll"].as_f64().unwrap() + ll).abs() < 1e-12);
}

#[test]
fn intervals_of_constrained_parameters_respect_the_constraint() {
    let v = fit_json(&[
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
    ]);
    let s = &v["parameters"][2];
    assert_eq!(s["name"], "s");
    let (lo, est, hi) = (
        s["ci_lower"].as_f64().unwrap(),
        s["estimate"].as_f64().unwrap(),
        s["ci_upper"].as_f64().unwrap(),
    );
    assert!(lo > 0.0 && lo < est && est < hi, "{lo} {est} {hi}");
    // On the log scale the interval is symmetric: log(est) is the midpoint.
    assert!(((lo.ln() + hi.ln()) / 2.0 - est.ln()).abs() < 1e-12);
}

#[test]
fn map_with_and_without_the_jacobian_solves_its_own_stationarity_equation() {
    // y ~ Normal(a + b x, s), s ~ Exponential(1). With RSS at (a, b) and n rows,
    // d/ds of the log-posterior on the natural scale:
    //   -n/s + RSS/s^3 - 1 = 0;
    // with the Jacobian of s = exp(theta) the log-density of theta adds
    // log s, so the equation becomes -(n - 1)/s + RSS/s^3 - 1 = 0.
    let xy: Vec<(f64, f64)> = std::fs::read_to_string(repo_path("tests/fixtures/xy.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').take(2).map(|v| v.parse().unwrap()).collect();
            (f[0], f[1])
        })
        .collect();
    let n = xy.len() as f64;
    for (extra, jacobian) in [(0.0, false), (1.0, true)] {
        let mut args = vec![
            "tests/fixtures/map_prior.nll",
            "--data",
            "tests/fixtures/xy.csv",
        ];
        if jacobian {
            args.push("--jacobian");
        }
        let v = fit_json(&args);
        let p = |i: usize| v["parameters"][i]["estimate"].as_f64().unwrap();
        let (a, b, s) = (p(0), p(1), p(2));
        let rss: f64 = xy.iter().map(|(x, y)| (y - a - b * x).powi(2)).sum();
        let eq = -(n - extra) / s + rss / s.powi(3) - 1.0;
        assert!(eq.abs() < 1e-8, "jacobian {jacobian}: {eq}");
    }
}

#[test]
fn binomial_counts_above_the_trials_are_rejected() {
    check(
        "binomial_over_trials",
        &[
            "fit",
            "tests/fixtures/binomial.nll",
            "--data",
            "tests/fixtures/binomial_over.csv",
        ],
    );
}

#[test]
fn a_group_scale_collapsing_on_one_observation_is_named() {
    // Group c has one observation: s[c] -> 0 makes the likelihood unbounded.
    let v = fit_json(&[
        "tests/fixtures/group_scales.nll",
        "--data",
        "tests/fixtures/single_group.csv",
    ]);
    assert_eq!(v["converged"], false);
    let w = v["warnings"].to_string();
    assert!(
        w.contains("collapses toward 0 on 1 of 6 rows (row 6)"),
        "{w}"
    );
}

#[test]
fn a_maximum_on_a_constraint_is_not_called_converged() {
    // The intercept of y ~ 2x is near 0, below the bound a > 0.5.
    let v = fit_json(&[
        "tests/fixtures/bound_binds.nll",
        "--data",
        "tests/fixtures/xy.csv",
    ]);
    assert_eq!(v["converged"], false);
    assert!(
        v["warnings"]
            .to_string()
            .contains("`a` is at the edge of its constraint > 0.5"),
        "{v}"
    );
    assert!(v["parameters"][0]["std_error"].is_null());
}

#[test]
fn negative_categorical_probabilities_are_not_a_likelihood() {
    let v = fit_json(&[
        "tests/fixtures/categorical_negative.nll",
        "--data",
        "tests/fixtures/categorical_two_classes.csv",
    ]);
    assert_eq!(v["converged"], false, "{v}");
    assert!(v["status"].to_string().contains("not a likelihood"), "{v}");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("of `Categorical` is") && warnings.contains("outside [0, 1]"),
        "{v}"
    );
    assert!(v["parameters"][0]["std_error"].is_null(), "{v}");
}

#[test]
fn a_maximum_on_a_constraint_is_found_from_a_start_at_the_bound() {
    // The extra variance `v` has its maximum at its bound 0. Started a hair
    // from it (as a refit from the first fit's estimate is), the optimizer
    // hardly moves, and the edge must still be reported.
    for start in ["v=1", "v=1e-12"] {
        let v = fit_json(&[
            "tests/fixtures/variance_at_bound.nll",
            "--data",
            "tests/fixtures/variance_at_bound.csv",
            "--start",
            start,
        ]);
        assert_eq!(v["converged"], false, "{start}: {v}");
        assert!(
            v["warnings"]
                .to_string()
                .contains("`v` is at the edge of its constraint > 0"),
            "{start}: {v}"
        );
        assert!(v["parameters"][1]["std_error"].is_null(), "{start}: {v}");
    }
}

#[test]
fn a_correct_fit_of_a_badly_conditioned_design_is_converged() {
    // x = 1e6 + small noise: the intercept and slope are nearly collinear,
    // the gradient test cannot be met in double precision, but the Newton
    // decrement shows the minimum is reached.
    let v = fit_json(&[
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/offset.csv",
    ]);
    assert_eq!(v["converged"], true, "{v}");
}

#[test]
fn divergence_with_a_covariate_is_named() {
    // Quasi-complete separation: y = 1 exactly when x > 0, with one tie at
    // x = 0; the slope has no finite estimate.
    let v = fit_json(&[
        "tests/fixtures/logistic.nll",
        "--data",
        "tests/fixtures/quasi_separated.csv",
    ]);
    assert_eq!(v["converged"], false);
    assert!(
        v["warnings"]
            .to_string()
            .contains("as `b` grows without bound"),
        "{v}"
    );
    // Every outcome 1: the intercept and slope both run off.
    let v = fit_json(&[
        "tests/fixtures/logistic.nll",
        "--data",
        "tests/fixtures/all_ones.csv",
    ]);
    assert_eq!(v["converged"], false);
    // Every count 0 with a covariate.
    let v = fit_json(&[
        "tests/fixtures/poisson_slope.nll",
        "--data",
        "tests/fixtures/all_zero_counts.csv",
    ]);
    assert_eq!(v["converged"], false);
    assert!(
        v["warnings"].to_string().contains("no finite maximum"),
        "{v}"
    );
}

#[test]
fn profile_intervals_are_printed_beside_wald() {
    check(
        "profile_heteroscedastic",
        &[
            "fit",
            "examples/engel_heteroscedastic.nll",
            "--data",
            "examples/data/engel.csv",
            "--profile",
            "b1,g1",
            "--level",
            "0.9",
        ],
    );
}

#[test]
fn profile_unknown_name_suggests_the_close_one() {
    check(
        "profile_unknown_name",
        &[
            "fit",
            "examples/engel_heteroscedastic.nll",
            "--data",
            "examples/data/engel.csv",
            "--profile",
            "b0,g_1",
        ],
    );
}

#[test]
fn profile_of_an_unused_parameter_is_an_error() {
    check(
        "profile_unused",
        &[
            "fit",
            "tests/fixtures/unused_param.nll",
            "--data",
            "tests/fixtures/xy.csv",
            "--profile",
            "unused",
        ],
    );
}

#[test]
fn profile_of_no_name_is_an_error() {
    for list in ["", " , "] {
        let text = run(&[
            "fit",
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/xy.csv",
            "--profile",
            list,
        ]);
        assert!(text.starts_with("exit: 1"), "{text}");
        assert!(
            text.contains("E506") && text.contains("names no parameter"),
            "{text}"
        );
    }
}

#[test]
fn profile_level_outside_zero_one_is_a_usage_error() {
    let text = run(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--profile",
        "all",
        "--level",
        "95",
    ]);
    assert!(text.starts_with("exit: 2"), "{text}");
    assert!(text.contains("the level must be between 0 and 1"), "{text}");
    // So is a level within 1e-9 of 0 or 1: a tail of 5e-17 had an infinite
    // quantile (an empty column in `predict`) and a level of 1e-300 was
    // named `lower_0`.
    for level in ["0.9999999999999999", "1e-300"] {
        let text = run(&["predict", "tests/fixtures/linear.nll", "--level", level]);
        assert!(text.starts_with("exit: 2"), "{text}");
        assert!(text.contains("at least 1e-9 from both"), "{text}");
    }
}

#[test]
fn profile_intervals_are_in_the_json_report() {
    let v = fit_json(&[
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--profile",
        "s",
    ]);
    let p = &v["profile"][0];
    assert_eq!(p["name"], "s");
    assert_eq!(p["lower"]["status"], "found");
    assert!(p["lower"]["value"].as_f64().unwrap() < p["estimate"].as_f64().unwrap());
    assert!(p["wald_upper"].as_f64().is_some());
    assert!(
        v["parameters"].as_array().is_some(),
        "the report is still there"
    );
}

#[test]
fn profile_with_priors_says_what_it_profiles() {
    let text = run(&[
        "fit",
        "tests/fixtures/map_prior.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--profile",
        "s",
    ]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(
        text.contains("note: the model has priors: this profiles the objective"),
        "{text}"
    );
}

#[test]
fn collinear_covariates_are_named_in_the_singular_hessian_report() {
    // z = 2x exactly: only b + 2c is determined. Whether the optimizer's
    // gradient test passes in the flat valley is a matter of rounding (on
    // the 8 and 50 rows it stops without progress); either way the fit is
    // at a stationary point with a singular Hessian: exit 4.
    for data in ["collinear.csv", "collinear_8.csv", "collinear_50.csv"] {
        let text = run(&[
            "fit",
            "tests/fixtures/collinear.nll",
            "--data",
            &format!("tests/fixtures/{data}"),
        ]);
        assert!(text.starts_with("exit: 4"), "{data}: {text}");
        assert!(
            text.contains(
                "status           not a strict minimum: the Hessian is not positive definite"
            ),
            "{data}: {text}"
        );
        assert!(
            text.contains("involves `b`, `c`") || text.contains("involves `c`, `b`"),
            "{data}: {text}"
        );
    }
}

#[test]
fn a_ratio_of_parameters_is_reported_as_not_identified() {
    // Only b / exp(3 c) enters the mean, so the Hessian at the optimum is
    // singular. A program that computed the divisor exp(c + d x)^3 in two
    // forms, rounded differently, made it merely ill-conditioned on these
    // 512 rows: reported converged, exit 0, with standard errors of 1e6.
    let text = run(&[
        "fit",
        "tests/fixtures/ratio_not_identified.nll",
        "--data",
        "tests/fixtures/ratio_not_identified.csv",
    ]);
    assert!(text.starts_with("exit: 4"), "{text}");
    assert!(text.contains("not positive definite"), "{text}");
}

#[test]
fn a_probability_outside_the_unit_interval_is_not_a_likelihood() {
    // Bernoulli(a + b x): the fit runs p below 0 where y = 0 and reports a
    // positive "log-likelihood"; it must say that this is no likelihood.
    let text = run(&[
        "fit",
        "tests/fixtures/bernoulli_identity_link.nll",
        "--data",
        "tests/fixtures/bernoulli_identity_link.csv",
    ]);
    assert!(text.starts_with("exit: 4"), "{text}");
    assert!(text.contains("status           not a likelihood"), "{text}");
    assert!(
        text.contains("warning: the probability `p` of `Bernoulli` is -1.66")
            && text.contains("on row 1, outside [0, 1]"),
        "{text}"
    );
}

#[test]
fn a_fit_that_is_not_a_likelihood_reports_no_standard_errors() {
    // The curvature of an objective that is not a log-likelihood gives no
    // standard errors: the estimates are shown, the uncertainty is not, and
    // the report says why; in JSON the fields are null.
    let args = [
        "fit",
        "tests/fixtures/bernoulli_identity_link.nll",
        "--data",
        "tests/fixtures/bernoulli_identity_link.csv",
    ];
    let text = run(&args);
    assert!(text.starts_with("exit: 4"), "{text}");
    let row = |name: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{text}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(row("a")[1..], ["-1.666052", "-", "-", "-"], "{text}");
    assert_eq!(row("b")[1..], ["3.419780", "-", "-", "-"], "{text}");
    assert!(
        text.contains("warning: no standard errors or intervals are reported")
            && text.contains("not a log-likelihood"),
        "{text}"
    );
    let v = fit_json(&args[1..]);
    for p in v["parameters"].as_array().unwrap() {
        assert!(p["estimate"].is_f64(), "{p}");
        for field in ["std_error", "ci_lower", "ci_upper"] {
            assert!(p[field].is_null(), "{field}: {p}");
        }
    }
}

#[test]
fn a_fit_that_is_not_a_likelihood_has_no_profile_intervals() {
    let text = run(&[
        "fit",
        "tests/fixtures/bernoulli_identity_link.nll",
        "--data",
        "tests/fixtures/bernoulli_identity_link.csv",
        "--profile",
        "all",
    ]);
    assert!(text.starts_with("exit: 4"), "{text}");
    for name in ["a", "b"] {
        let row: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("profile-likelihood intervals"))
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{text}"))
            .split_whitespace()
            .collect();
        assert_eq!(row[2..], ["failed", "failed", "-", "-"], "{text}");
        assert!(
            text.contains(&format!(
                "note: the lower bound of `{name}` failed: the fit is not a likelihood at its estimate"
            )),
            "{text}"
        );
    }
}

#[test]
fn separation_with_an_overflowing_hessian_claims_no_empty_list() {
    // The optimizer stops at the iteration limit where the Hessian has
    // overflowed: no flat direction names the parameters, and the message
    // must not print an empty list.
    let text = run(&[
        "fit",
        "tests/fixtures/categorical_separated.nll",
        "--data",
        "tests/fixtures/categorical_separated.csv",
    ]);
    let line = text
        .lines()
        .find(|l| l.starts_with("warning: no finite maximum: separation"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("of class a"), "{line}");
    assert!(!line.contains("parameters  "), "{line}");
    assert!(
        line.contains("as some parameters run off (the Hessian there is not finite"),
        "{line}"
    );
}

#[test]
fn a_holdout_that_leaves_fewer_rows_than_parameters_is_refused() {
    // 6 rows, 3 parameters: --holdout 0.9 trains on 1 row.
    let text = run(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--holdout",
        "0.9",
    ]);
    assert!(text.starts_with("exit: 2"), "{text}");
    assert!(
        text.contains("error[E708]: the training rows are too few to fit: 1 row for"),
        "{text}"
    );
}

#[test]
fn held_out_rows_without_a_likelihood_do_not_flatter_the_model() {
    // Trained on x in [0.2, 0.8], the identity link gives p outside [0, 1]
    // on 4 of the 6 held-out rows (x = -0.5 .. 1.5); -log(1.3) there would
    // make its held-out NLL the better one.
    let data = "tests/fixtures/bernoulli_extrapolated.csv";
    let split = ["--data", data, "--split-column", "split"];
    let mut fit = vec!["fit", "tests/fixtures/bernoulli_identity_link.nll"];
    fit.extend(split);
    let text = run(&fit);
    assert!(
        text.contains("on 4 held-out rows (row 201: -0.28") && text.contains("counts as infinite"),
        "{text}"
    );
    assert!(text.contains("0.642981              inf"), "{text}");
    let mut compare = vec![
        "compare",
        "tests/fixtures/bernoulli_identity_link.nll",
        "tests/fixtures/bernoulli_logit_link.nll",
    ];
    compare.extend(split);
    let text = run(&compare);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(
        text.contains("no held-out NLL for bernoulli_identity_link: `p` of `Bernoulli` is -0.28"),
        "{text}"
    );
}

#[test]
fn every_flat_direction_is_reported() {
    // a + b and c + d: two zero eigenvalues of the scaled Hessian, both named.
    let text = run(&[
        "fit",
        "tests/fixtures/two_flat_directions.nll",
        "--data",
        "tests/fixtures/xy.csv",
    ]);
    let line = text
        .lines()
        .find(|l| l.starts_with("warning: the Hessian is not positive definite"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("; the next, "), "{line}");
    for p in ["`a`", "`b`", "`c`", "`d`"] {
        assert!(line.contains(p), "{line}");
    }
}

#[test]
fn an_outcome_modelled_twice_is_warned_about() {
    let text = run(&[
        "fit",
        "tests/fixtures/twice_observed.nll",
        "--data",
        "tests/fixtures/xy.csv",
    ]);
    assert!(text.contains("warning[W204]"), "{text}");
    assert!(text.contains("counts twice"), "{text}");
}

#[test]
fn held_out_fits_exit_like_plain_fits() {
    // The optimizer stopped by the iteration limit: 3, split or not.
    let text = run(&[
        "fit",
        "examples/engel_heteroscedastic.nll",
        "--data",
        "examples/data/engel.csv",
        "--holdout",
        "0.2",
        "--seed",
        "1",
        "--max-iter",
        "2",
    ]);
    assert!(text.starts_with("exit: 3"), "{text}");
    // The same rows for training and testing are refused.
    let text = run(&[
        "fit",
        "examples/breast_cancer_logistic.nll",
        "--data",
        "examples/data/breast_cancer.csv",
        "--split-column",
        "split",
        "--train-value",
        "test",
        "--test-value",
        "test",
    ]);
    assert!(text.starts_with("exit: 2"), "{text}");
    assert!(text.contains("E708"), "{text}");
    // A value no row has: the side left empty is named.
    let text = run(&[
        "fit",
        "examples/breast_cancer_logistic.nll",
        "--data",
        "examples/data/breast_cancer.csv",
        "--split-column",
        "split",
        "--test-value",
        "nope",
    ]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains("no rows to hold out: none is left where `split` = `nope`"),
        "{text}"
    );
}

#[test]
fn evaluation_options_reject_meaningless_values() {
    let text = run(&[
        "eval",
        "tests/fixtures/linear.nll",
        "--fit",
        "no.json",
        "--data",
        "tests/fixtures/xy.csv",
        "--bins",
        "1",
    ]);
    assert!(text.starts_with("exit: 2"), "{text}");
    // A negative share is read as a number and refused as a share.
    let text = run(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--holdout",
        "-0.2",
    ]);
    assert!(text.contains("--holdout -0.2"), "{text}");
}

/// `nll bench --format json` prints one JSON object whose fields the
/// benchmark scripts read; the timings vary, so only their presence, sign and
/// the fitted NLL (which must agree with `nll fit`) are checked.
#[test]
fn bench_reports_every_stage_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_nll"))
        .args([
            "bench",
            "tests/fixtures/linear.nll",
            "--data",
            "tests/fixtures/offset.csv",
            "--threads",
            "2",
            "--format",
            "json",
        ])
        .current_dir(repo_path(""))
        .output()
        .expect("the nll binary runs");
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("bench prints one JSON object");
    for key in ["load_s", "compile_s", "eval_s", "eval_grad_hess_s", "fit_s"] {
        let t = report[key].as_f64().unwrap_or(-1.0);
        assert!(t >= 0.0, "{key} = {}", report[key]);
    }
    assert!(report["evals"].as_u64().unwrap_or(0) > 0);
    assert_eq!(report["threads"].as_u64(), Some(2));
    assert!(report["nll"].as_f64().is_some_and(f64::is_finite));
}

#[test]
fn parameters_entering_together_get_one_warning_per_group() {
    let text = run(&[
        "fit",
        "tests/fixtures/thirty_together.nll",
        "--data",
        "tests/fixtures/xy.csv",
    ]);
    assert_eq!(text.matches("warning[W201]").count(), 1, "{text}");
    assert!(
        text.contains("30 parameters enter the likelihood only together"),
        "{text}"
    );
    assert!(text.contains("and 22 more"), "{text}");
}

#[test]
fn student_t_degrees_of_freedom_on_normal_errors_grow_without_bound() {
    // The likelihood rises toward nu = infinity. From a start near that
    // limit the summed lgamma terms of the density once cancelled to noise
    // of 1e-8 there: the fit stalled at nu = 1e7 and reported no edge.
    for start in ["nu=5", "nu=1e6"] {
        let text = run(&[
            "fit",
            "tests/fixtures/studentt_normal_data.nll",
            "--data",
            "tests/fixtures/studentt_normal_data.csv",
            "--start",
            start,
        ]);
        assert!(text.starts_with("exit: 4"), "{start}: {text}");
        assert!(
            text.contains("parameter `nu` grows without bound")
                && text.contains("a Normal fits them as well"),
            "{start}: {text}"
        );
        assert!(!text.contains("did not converge"), "{start}: {text}");
    }
}

#[test]
fn student_t_degrees_of_freedom_are_found_from_far_starts_and_a_flat_stop_is_no_fit() {
    // nu = 8.43 (scipy.stats.t.fit agrees). From a start of 1e4 or 1e6 the
    // first trust-region steps once threw nu to 1e22 or 1e86, where the
    // likelihood is flat to rounding: the fit then called nu unbounded, or
    // converged with exit 0 and a standard error of 1e127. A constrained
    // parameter's step is capped now. From 1e30 and beyond the fit stopped
    // where it started, in the flat normal limit, and called nu unbounded
    // or flat; it now looks back toward the interior and restarts from a
    // lower point found there.
    let fit = |data: &str, start: &str| {
        run(&[
            "fit",
            &format!("tests/fixtures/{data}.nll"),
            "--data",
            &format!("tests/fixtures/{data}.csv"),
            "--start",
            start,
        ])
    };
    for start in [
        "nu=5", "nu=1e4", "nu=1e6", "nu=1e12", "nu=1e30", "nu=1e100", "nu=1e300",
    ] {
        let text = fit("studentt_10df", start);
        assert!(text.starts_with("exit: 0"), "{start}: {text}");
        assert!(text.contains("nu               8.42765"), "{start}: {text}");
    }
    // On normal data no point back toward the interior is lower, and the
    // likelihood rises toward nu = infinity: from 1e100 (where it does not
    // change within rounding) the fit once stopped and called nu flat, and
    // from 1e154 its derivatives overflowed (exit 3).
    for start in ["nu=1e100", "nu=1e200", "nu=1e300"] {
        let text = fit("studentt_normal_data", start);
        assert!(text.starts_with("exit: 4"), "{start}: {text}");
        assert!(
            text.contains("parameter `nu` grows without bound"),
            "{start}: {text}"
        );
    }
}

#[test]
fn negative_binomial_size_on_underdispersed_counts_grows_without_bound() {
    // Variance 5.8 against a mean of 6.5: the likelihood rises toward the
    // Poisson limit. Its lgamma terms once cancelled to noise of 1e-3 per
    // row at phi = 1e12 and the fit added a precision warning; from a start
    // of 1e30 the derivatives in phi were rounding noise and the fit did
    // not converge (exit 3).
    for start in ["phi=1", "phi=1e-3", "phi=1e12", "phi=1e30", "phi=1e200"] {
        let text = run(&[
            "fit",
            "tests/fixtures/negbin_underdispersed.nll",
            "--data",
            "tests/fixtures/negbin_underdispersed.csv",
            "--start",
            start,
        ]);
        assert!(text.starts_with("exit: 4"), "{start}: {text}");
        assert!(
            text.contains("parameter `phi` grows without bound")
                && text.contains("a Poisson fits them as well"),
            "{start}: {text}"
        );
        assert!(!text.contains("precision"), "{start}: {text}");
    }
    // alpha = 1/phi at its bound 0 is the same limit.
    let text = run(&[
        "fit",
        "tests/fixtures/negbin_underdispersed_alpha.nll",
        "--data",
        "tests/fixtures/negbin_underdispersed.csv",
    ]);
    assert!(text.starts_with("exit: 4"), "{text}");
    assert!(
        text.contains("parameter `alpha` is at the edge of its constraint > 0")
            && text.contains("a Poisson fits them as well"),
        "{text}"
    );
}

#[test]
fn negative_binomial_dispersion_is_found_from_starts_deep_in_the_poisson_limit() {
    // alpha = 1/phi = 1.292953 (statsmodels NegativeBinomial agrees, see
    // tests/reference). From alpha = 1e-20 the fit stopped at 1.6e-22,
    // where the likelihood is the Poisson's to rounding, and called alpha
    // at its bound.
    for start in ["alpha=1e-20", "alpha=1e-40", "alpha=1e30"] {
        let text = run(&[
            "fit",
            "examples/randhie_negbin.nll",
            "--data",
            "examples/data/randhie.csv",
            "--start",
            start,
        ]);
        assert!(text.starts_with("exit: 0"), "{start}: {text}");
        assert!(
            text.contains("alpha            1.292953"),
            "{start}: {text}"
        );
    }
}

#[test]
fn a_known_tiny_scale_is_not_a_collapsing_one() {
    let text = run(&[
        "fit",
        "tests/fixtures/known_tiny_scale.nll",
        "--data",
        "tests/fixtures/eval_hetero_train.csv",
    ]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(!text.contains("collapses"), "{text}");
}

#[test]
fn a_start_far_out_on_a_constrained_scale_starts_from_a_lower_point_inward() {
    // From a rate of 1e25 the optimizer took 5010 iterations (the limit
    // is 5000 per run) to reach what the default start reaches in 11; the
    // fit from the given start now gets 200 iterations, and the fit from
    // the lowest of the points with the rate's log halved toward 0 wins.
    let fit = |start: &str| {
        run(&[
            "fit",
            "tests/fixtures/gamma_rate.nll",
            "--data",
            "tests/fixtures/gamma_rate.csv",
            "--start",
            start,
        ])
    };
    let iterations = |text: &str| -> usize {
        let line = text
            .lines()
            .find(|l| l.starts_with("iterations"))
            .expect("iterations");
        line.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("a count")
    };
    let near = fit("r=1");
    for start in ["r=1e25", "r=1e-25", "k=1e30"] {
        let far = fit(start);
        assert!(far.starts_with("exit: 0"), "{start}: {far}");
        assert!(iterations(&far) <= 250, "{start}: {far}");
        for name in ["k ", "r "] {
            let row = |t: &str| t.lines().find(|l| l.starts_with(name)).map(str::to_owned);
            assert_eq!(row(&far), row(&near), "{start}");
        }
    }
}

#[test]
fn a_lower_point_inward_does_not_replace_a_start_that_reaches_the_maximum() {
    // With both means far above the data, a weight of 0.5 is lower than
    // one of 1e-15, yet from there the fit ran to a weight of 1 and a gap
    // of 1e6 (NLL 1899.81, "at the edge of its constraint"), while the
    // given start reaches the maximum the default start finds (1648.169).
    let fit = |starts: &[&str]| {
        let mut args = vec![
            "fit",
            "tests/fixtures/mixture_two_normals.nll",
            "--data",
            "tests/fixtures/mixture_two_normals.csv",
        ];
        for s in starts {
            args.extend(["--start", s]);
        }
        run(&args)
    };
    let default = fit(&[]);
    assert!(default.contains("NLL              1648.169"), "{default}");
    for w in ["w=1e-9", "w=1e-15", "w=1e-20"] {
        let text = fit(&[w, "m1=30"]);
        assert!(text.starts_with("exit: 0"), "{w}: {text}");
        assert!(text.contains("NLL              1648.169"), "{w}: {text}");
    }
}

#[test]
fn a_component_far_from_every_observation_does_not_freeze_the_fit() {
    // From m1 = 100 no observation (all below 10) reaches either component:
    // the curvature in the gap and the second scale is about 1e-79, and
    // scaling it to one let a unit of scaled step move them by 1e39. Their
    // step cap then shrank the trust radius to 1e-37: 210 iterations without
    // moving, "no progress", and edge warnings for `w` and `s1` at the start
    // values. The maximum is the one the default start finds.
    let text = run(&[
        "fit",
        "tests/fixtures/mixture_two_normals.nll",
        "--data",
        "tests/fixtures/mixture_two_normals.csv",
        "--start",
        "m1=100",
    ]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(text.contains("NLL              1648.169"), "{text}");
    assert!(!text.contains("warning"), "{text}");
}

#[test]
fn a_dead_component_far_from_the_data_is_not_called_a_collapse() {
    // Started with a weight of 1e-15 and a scale of 1e-25, the first
    // component stays far from every observation (its location near -1,
    // tens of orders of magnitude of its scale away): it carries no row,
    // and the likelihood is that of the second component alone. A collapse
    // would need its location on an observation.
    let text = run(&[
        "fit",
        "tests/fixtures/mixture_two_normals.nll",
        "--data",
        "tests/fixtures/mixture_two_normals.csv",
        "--start",
        "w=1e-15",
        "--start",
        "s1=1e-25",
    ]);
    assert!(!text.contains("collapses"), "{text}");
    assert!(text.contains("parameter `w` is at the edge"), "{text}");
    // A boundary reached from one start is a local finding in a mixture.
    assert!(
        text.contains("other start values may find a higher one inside"),
        "{text}"
    );
    // The real collapse still is one.
    let text = run(&[
        "fit",
        "tests/fixtures/mixture_collapse.nll",
        "--data",
        "tests/fixtures/collapse.csv",
    ]);
    assert!(text.contains("collapses"), "{text}");
}

#[test]
fn the_mixture_caveat_at_a_bound_is_for_mixture_parameters_only() {
    // tau enters only the plain normal statement: its bound is the
    // maximum, not where one start of a mixture happened to end.
    let text = run(&[
        "fit",
        "tests/fixtures/mixture_and_normal.nll",
        "--data",
        "tests/fixtures/mixture_and_normal.csv",
    ]);
    assert!(text.contains("parameter `tau` is at the edge"), "{text}");
    assert!(
        text.contains("the maximum is on the boundary, not inside"),
        "{text}"
    );
    assert!(!text.contains("a mixture's likelihood"), "{text}");
}

/// Runs `nll ARGS` with `input` on its standard input; returns the exit
/// code, stdout and stderr.
#[cfg(unix)]
fn run_with_stdin(args: &[&str], input: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nll"))
        .args(args)
        .current_dir(repo_path(""))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the nll binary runs");
    // A write error means the program stopped reading early, which the
    // output below shows.
    let _ = child.stdin.take().unwrap().write_all(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn data_from_a_pipe_is_read_whole() {
    // The first bytes of a pipe were once taken by the look for an Arrow
    // header: the header then lost `income,` and the fit failed, or, with
    // a leading column of that length, ran on the wrong columns.
    let csv = std::fs::read(repo_path("examples/data/engel.csv")).unwrap();
    let args = ["fit", "examples/engel_linear.nll", "--format", "json"];
    let (code, piped, err) = run_with_stdin(&[&args[..], &["--data", "/dev/stdin"]].concat(), &csv);
    assert_eq!(code, 0, "{err}");
    let (code, from_file, err) = run_with_stdin(
        &[&args[..], &["--data", "examples/data/engel.csv"]].concat(),
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let estimates = |text: &str| -> Vec<f64> {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["estimate"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(estimates(&piped), estimates(&from_file));

    // `compare` loads the data once per model: the second load reads the
    // bytes kept from the first, not an exhausted pipe.
    let (code, out, err) = run_with_stdin(
        &[
            "compare",
            "examples/engel_linear.nll",
            "examples/engel_heteroscedastic.nll",
            "--data",
            "/dev/stdin",
        ],
        &csv,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("engel_heteroscedastic    4      235"), "{out}");

    let arrow_start = b"ARROW1\0\0rest of a file";
    let (code, _, err) = run_with_stdin(
        &[&args[..], &["--data", "/dev/stdin"]].concat(),
        arrow_start,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("error[E301]") && err.contains("not from a pipe"),
        "{err}"
    );
}

#[test]
fn held_out_rows_with_a_level_the_fit_never_saw_are_left_out_with_a_warning() {
    // `west` is only in the test rows: the fit runs, the other held-out
    // rows are scored, and the warning names the row left out.
    let text = run(&[
        "fit",
        "tests/fixtures/group_means.nll",
        "--data",
        "tests/fixtures/groups_unseen_level.csv",
        "--split-column",
        "split",
    ]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(
        text.contains(
            "1 held-out row (file row 7) has the level `west` of `g`, which no training row has"
        ),
        "{text}"
    );
    let table_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("y ~ Normal"))
        .unwrap();
    let n_test: Vec<&str> = table_line.split_whitespace().collect();
    assert_eq!(n_test[4], "2", "{table_line}");
}

#[test]
fn check_without_data_finds_what_is_wrong_whatever_the_data() {
    let text = run(&["check", "tests/fixtures/factor_as_number.nll"]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains("error[E211]: factor `g` used as a number"),
        "{text}"
    );
    assert!(!text.contains("ok ("), "{text}");

    let text = run(&["check", "tests/fixtures/twice_observed.nll"]);
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(text.contains("warning[W204]"), "{text}");
    assert!(text.contains("no data checked"), "{text}");

    // `explain` has no loss to write out for such a model.
    let text = run(&["explain", "tests/fixtures/mixture_vector_weights.nll"]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(text.contains("error[E224]"), "{text}");
}

/// `nll check` on a model file holding `source` (a file of its own per
/// call, in the system's temporary folder); returns what [`run`] returns.
fn check_source(source: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("nll-check-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.nll");
    std::fs::write(&path, source).unwrap();
    let text = run(&["check", path.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    text
}

#[test]
fn a_failed_const_is_reported_once_and_a_function_named_as_a_function() {
    let errors_of = |source: &str| -> Vec<String> {
        let text = check_source(source);
        assert!(text.starts_with("exit: 1"), "{text}");
        text.lines()
            .filter(|l| l.starts_with("error["))
            .map(str::to_string)
            .collect()
    };
    // The const's own error only, not one per use.
    let e = errors_of(
        "data x, y\nconst a = log(-1)\nconst b = a + 1\nparam s > 0 = a\ny ~ Normal(b * x, s)\n",
    );
    assert_eq!(e, ["error[E209]: this constant evaluates to NaN"], "{e:?}");
    let e = errors_of("data x, y\nparam a, s > 0\nf(x) = a * x\ny ~ Normal(f[1], s)\n");
    assert_eq!(e, ["error[E201]: `f` is a function, not a value"], "{e:?}");
}

#[test]
fn check_without_data_leaves_level_counts_to_the_data() {
    // `u[3]` is fine for a factor with three or more levels: only the data
    // can say.
    let text = check_source("data y, g: factor\nparam u[g], s > 0\ny ~ Normal(u[3] + u[g], s)\n");
    assert!(text.starts_with("exit: 0"), "{text}");
    assert!(!text.contains("level 1>"), "{text}");
}

#[test]
fn a_model_with_old_mac_line_ends_reads_as_lines() {
    let text = check_source("data x, y\rparam a, s > 0\ry ~ Normal(a * x, s)\r");
    assert!(text.starts_with("exit: 0"), "{text}");
}

#[test]
fn check_without_data_still_refuses_indices_wrong_for_any_data() {
    for (index, expected) in [
        (
            "u[0]",
            "index 0 is out of range for `u`, which has one element per level",
        ),
        ("u[1.5]", "index 1.5 is out of range"),
        (
            "W[1, 3]",
            "index 3 is out of range for `W`, which has 2 elements",
        ),
    ] {
        let text = check_source(&format!(
            "data y, g: factor\nparam u[g], W[g, 2], s > 0\ny ~ Normal({index} + u[g] + W[g, 1], s)\n"
        ));
        assert!(
            text.starts_with("exit: 1") && text.contains(expected),
            "{index}: {text}"
        );
    }
}

/// A scale that is an unconstrained parameter per level of a factor is
/// warned about like a single one, naming the factor; a constrained one
/// is not.
#[test]
fn an_unconstrained_per_level_scale_is_warned_about() {
    let model = |decl: &str| {
        format!("data g: factor\ndata y\nparam u[g]\nparam {decl}\ny ~ Normal(u[g], s[g])\n")
    };
    let text = check_source(&model("s[g]"));
    assert!(
        text.contains("W202")
            && text.contains("the unconstrained parameter `s`, one per level of `g`")
            && text.contains("Bound `s` below at 0 in its `param` declaration"),
        "{text}"
    );
    let text = check_source(&model("s[g] > 0"));
    assert!(!text.contains("W202"), "{text}");
    // Bounded above only, it can still reach 0.
    let text = check_source(&model("s[g] < 5"));
    assert!(
        text.contains("W202") && text.contains("`s`, one per level of `g`, bounded above only"),
        "{text}"
    );
    // A lower bound below 0 does not keep it positive.
    let text = check_source(&model("s[g] > -1"));
    assert!(
        text.contains("`s`, one per level of `g`, whose lower bound -1 is below 0"),
        "{text}"
    );
    // One element per pair of levels of two factors.
    let text = check_source(
        "data g: factor, h: factor\ndata y\nparam u[g]\nparam S[g, h]\ny ~ Normal(u[g], S[g, h])\n",
    );
    assert!(
        text.contains("`S`, one per level of `g` and `h`")
            && text.contains("`> 0` after its dimensions"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn a_bus_error_while_data_load_is_reported_and_exits_as_bad_input() {
    // Reading a mapped data file that another program truncates raises
    // SIGBUS; the process says so instead of dying of the signal. The
    // signal is sent here while the process waits on a pipe it reads its
    // data from (its handlers are set before anything else runs).
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nll"))
        .args(["fit", "tests/fixtures/linear.nll", "--data", "/dev/stdin"])
        .current_dir(repo_path(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the nll binary runs");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill only sends a signal to the child started above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGBUS) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("was cut short by another program"), "{err}");
}

/// More than 1024 threads is a usage error: 20 000 took minutes, spent
/// scheduling threads rather than measuring anything.
#[test]
fn bench_threads_are_bounded() {
    let text = run(&[
        "bench",
        "tests/fixtures/linear.nll",
        "--data",
        "tests/fixtures/xy.csv",
        "--threads",
        "5000",
    ]);
    assert!(text.starts_with("exit: 2"), "{text}");
    assert!(text.contains("5000 is not in 0..=1024"), "{text}");
}

/// An output path that names one of the command's inputs is refused
/// before anything is written: `fit --output` over the model file, and
/// `predict --out` over the data file by another path, leave both whole.
#[test]
fn an_output_over_an_input_file_is_refused() {
    let dir = std::env::temp_dir().join(format!("nll-it-output-over-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (model, data, fit) = (dir.join("m.nll"), dir.join("d.csv"), dir.join("fit.json"));
    let model_text =
        std::fs::read_to_string(crate::common::repo_path("tests/fixtures/linear.nll")).unwrap();
    let data_text =
        std::fs::read_to_string(crate::common::repo_path("tests/fixtures/xy.csv")).unwrap();
    std::fs::write(&model, &model_text).unwrap();
    std::fs::write(&data, &data_text).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let text = run(&[
        "fit",
        &s(&model),
        "--data",
        &s(&data),
        "--output",
        &s(&model),
    ]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains("error[E706]") && text.contains("is the model file"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&model).unwrap(), model_text);
    let text = run(&["fit", &s(&model), "--data", &s(&data), "--output", &s(&fit)]);
    assert!(text.starts_with("exit: 0"), "{text}");
    let other_path = dir.join(".").join("d.csv");
    let text = run(&[
        "predict",
        &s(&model),
        "--fit",
        &s(&fit),
        "--data",
        &s(&data),
        "--out",
        &s(&other_path),
    ]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(text.contains("is the data file"), "{text}");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), data_text);
    // Nor can a figure of a fixed name replace the data it is drawn from.
    let figures = dir.join("figures");
    std::fs::create_dir_all(&figures).unwrap();
    let in_figures = figures.join("residuals.svg");
    std::fs::write(&in_figures, &data_text).unwrap();
    let text = run(&[
        "fit",
        &s(&model),
        "--data",
        &s(&in_figures),
        "--plot",
        &s(&figures),
    ]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains("one of the files this command reads"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&in_figures).unwrap(), data_text);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A kinked likelihood is minimised in stages of shrinking smoothing; the
/// stages share the iteration limit (each had its own: --max-iter 10 ran
/// 100 iterations).
#[test]
fn smoothing_stages_share_the_iteration_limit() {
    let v = fit_json(&[
        "examples/engel_laplace.nll",
        "--data",
        "examples/data/engel.csv",
        "--max-iter",
        "10",
    ]);
    assert!(v["iterations"].as_u64().is_some_and(|n| n <= 10), "{v}");
    assert_eq!(v["converged"], false, "{v}");
}
