//! Every checker diagnostic, rendered without colour with its source, from
//! the minimal examples of docs/errors.md.

use nll::diag::render;
use nll::{model, syntax};

/// Parses and checks `source`; returns every diagnostic rendered.
fn check_source(source: &str) -> String {
    let program = match syntax::parse_program(source) {
        Ok(p) => p,
        Err(diags) => {
            return diags
                .iter()
                .map(|d| render(d, "model.nll", source, false))
                .collect()
        }
    };
    let (_, diags) = model::check(&program);
    diags
        .iter()
        .map(|d| render(d, "model.nll", source, false))
        .collect()
}

const CASES: &[(&str, &str)] = &[
    (
        "E212_parameter_too_large",
        "data y\nparam b[3, 5000]\ny ~ Normal(b[1, 1], 1)\n",
    ),
    (
        "E201_unknown_name",
        "data x, y\nparam a, sigma > 0\ny ~ Normal(a * x, sigm)\n",
    ),
    (
        "E202_declared_twice",
        "data a, y\nparam a\nparam s > 0\ny ~ Normal(a, s)\n",
    ),
    (
        "E203_unknown_function",
        "data y\nparam a, s > 0\ny ~ Normal(exq(a), s)\n",
    ),
    (
        "E204_function_arity",
        "data x, y\nparam a, s > 0\nmu(x) = a + x\ny ~ Normal(mu(x, y), s)\n",
    ),
    (
        "E205_unknown_distribution",
        "data y\nparam mu, s > 0\ny ~ Normall(mu, s)\n",
    ),
    (
        "E206_distribution_arity",
        "data y\nparam mu\ny ~ Normal(mu)\n",
    ),
    (
        "E207_mixed_left_side",
        "data y\nparam a, s > 0\ny - a ~ Normal(0, s)\n",
    ),
    (
        "E207_constant_left_side",
        "data y\nparam s > 0\n2 ~ Normal(0, s)\ny ~ Normal(0, s)\n",
    ),
    (
        "E208_prior_uses_data",
        "data x, y\nparam a, s > 0\na ~ Normal(x, 1)\ny ~ Normal(a, s)\n",
    ),
    (
        "E209_bound_not_constant",
        "data y\nparam t, s > t\ny ~ Normal(0, s)\n",
    ),
    (
        "E210_start_outside",
        "data y\nparam s > 0 = -1\ny ~ Normal(0, s)\n",
    ),
    (
        "E210_empty_interval",
        "data y\nparam p in (1, 0)\ny ~ Bernoulli(p)\n",
    ),
    (
        "E212_dimension_not_factor",
        "data x, y\nparam u[x], s > 0\ny ~ Normal(0, s)\n",
    ),
    (
        "E215_three_dimensions",
        "data y\nparam A[2, 2, 2], s > 0\ny ~ Normal(0, s)\n",
    ),
    (
        "E216_builtin_redeclared",
        "data y\nparam exp, s > 0\ny ~ Normal(0, s)\n",
    ),
    ("E217_no_likelihood", "param a\na ~ Normal(0, 1)\n"),
];

#[test]
fn checker_diagnostics() {
    for (name, source) in CASES {
        let text = format!("{source}---\n{}", check_source(source));
        insta::assert_snapshot!(*name, text);
    }
}

/// A column of order 1e29 beside an intercept of order 1: the fit does not
/// converge, and says that the parameters' scales are the reason and the
/// column's units the remedy. A well-scaled fit that stops early is not
/// told so.
#[test]
fn unbalanced_parameter_scales_are_named_when_a_fit_does_not_converge() {
    let r = crate::common::fit_fixture("logistic_huge_scale.nll", "logistic_huge_scale.csv");
    assert!(!r.converged);
    let scales = r
        .warnings
        .iter()
        .find(|w| w.contains("scales differ"))
        .unwrap_or_else(|| panic!("{:#?}", r.warnings));
    assert!(
        scales.contains("`b`") && scales.contains("`a`") && scales.contains("column `x`"),
        "{scales}"
    );
    // Neither a well-scaled fit stopped early nor one stopped by a small
    // --max-iter (it may only need more) is told to rescale.
    for (model, data) in [
        (
            "examples/engel_heteroscedastic.nll",
            "examples/data/engel.csv",
        ),
        (
            "tests/fixtures/logistic_huge_scale.nll",
            "tests/fixtures/logistic_huge_scale.csv",
        ),
    ] {
        let text = crate::cli::run(&["fit", model, "--data", data, "--max-iter", "2"]);
        assert!(
            text.contains("did not converge") && !text.contains("scales differ"),
            "{text}"
        );
    }
}

/// Observations of order 1e25 and a scale the fit leaves near its start:
/// the scale is tiny against the data but the rows are nowhere near fitted,
/// so this is a fit that did not converge (exit 3), not a scale collapsing
/// onto an exact fit (exit 4), and the data's size is named. An exact fit
/// whose scale is written exp(g) still collapses.
#[test]
fn a_scale_left_far_below_huge_residuals_is_not_called_a_collapse() {
    let r = crate::common::fit_fixture("exact_log_scale.nll", "exact.csv");
    assert!(
        r.status.contains("scale collapses")
            && r.warnings.iter().any(|w| w.contains("collapses toward 0")),
        "{}: {:#?}",
        r.status,
        r.warnings
    );
    let r = crate::common::fit_fixture("huge_outcome.nll", "huge_outcome.csv");
    assert!(!r.converged);
    assert!(
        !r.warnings.iter().any(|w| w.contains("collapses")),
        "{:#?}",
        r.warnings
    );
    assert!(!r.status.contains("scale collapses"), "{}", r.status);
    assert!(
        r.warnings.iter().any(|w| w.contains("data column `y`")),
        "{:#?}",
        r.warnings
    );
}

/// A Laplace fit's kink is smoothed, and the smoothed NLL has a Hessian: at
/// a minimum its rows at the kink make it positive definite. A fit on
/// observations of order 1e20 from the default start stopped with the
/// location's coefficients near 1e7, where no row is near the kink and the
/// NLL is flat to rounding along them, and reported convergence; it now
/// says the Hessian is not positive definite there. The same model on the
/// data divided by 1e20 still converges.
#[test]
fn a_laplace_fit_stuck_far_from_its_rows_is_not_called_converged() {
    let r = crate::common::fit_fixture("laplace_huge_scale.nll", "laplace_huge_scale.csv");
    assert!(!r.converged, "{}", r.status);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("not positive definite")),
        "{:#?}",
        r.warnings
    );
    let text = std::fs::read_to_string(crate::common::repo_path(
        "tests/fixtures/laplace_huge_scale.csv",
    ))
    .unwrap();
    let mut scaled = String::from("x,y\n");
    for line in text.lines().skip(1) {
        let (x, y) = line.split_once(',').unwrap();
        scaled.push_str(&format!("{x},{}\n", y.parse::<f64>().unwrap() / 1e20));
    }
    let dir = std::env::temp_dir().join(format!("nll-laplace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("scaled.csv");
    std::fs::write(&csv, scaled).unwrap();
    let out = crate::cli::run(&[
        "fit",
        "tests/fixtures/laplace_huge_scale.nll",
        "--data",
        csv.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.starts_with("exit: 0"), "{out}");
}
