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

/// The estimate of parameter `name` in `r`.
fn estimate(r: &nll::infer::FitReport, name: &str) -> f64 {
    r.parameters
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no parameter `{name}`"))
        .estimate
}

/// `got` equals `want` to `rel` relative.
fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: {got:e}, expected {want:e} to {rel:e} relative"
    );
}

/// Fits whose parameters differ in size by 20 to 30 orders of magnitude,
/// from the default start, reach the estimates of the same data in units
/// near 1, scaled back. References from outside this code: statsmodels
/// (Logit with x / 1e28; OLS with y / 1e25, sigma = sqrt(RSS / n); QuantReg
/// at the median with y / 1e20, s = mean |residual|) and scipy (the
/// Student-t likelihood of y / 1e25 minimised by BFGS after Nelder-Mead).
/// The tolerances are the reference's own precision: 1e-7 where the
/// optimum is a smooth unique point; 1e-5 for the Laplace line, whose
/// median regression has a flat face that QuantReg and a linear program
/// place 5e-6 apart; 1e-6 for the Student-t, where scipy stops at a
/// gradient of 1e-10.
#[test]
fn parameters_twenty_orders_of_magnitude_apart_are_fitted() {
    let r = crate::common::fit_fixture("logistic_huge_scale.nll", "logistic_huge_scale.csv");
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    assert_close("logistic a", estimate(&r, "a"), 0.191877590620201, 1e-7);
    assert_close("logistic b", estimate(&r, "b"), 7.87486359478901e-30, 1e-7);

    let r = crate::common::fit_fixture("huge_outcome.nll", "huge_outcome.csv");
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    assert_close("normal a", estimate(&r, "a"), 1.007677649058111e25, 1e-7);
    assert_close("normal b", estimate(&r, "b"), 5.153092900002412e24, 1e-7);
    assert_close("normal g", estimate(&r, "g"), 57.49027318710147, 1e-7);

    let r = crate::common::fit_fixture("laplace_huge_scale.nll", "laplace_huge_scale.csv");
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    assert_close("laplace a", estimate(&r, "a"), 1.2752451706804737e20, 1e-5);
    assert_close("laplace b", estimate(&r, "b"), 1.9603340939442156e20, 1e-5);
    assert_close("laplace s", estimate(&r, "s"), 9.934044691983938e19, 1e-7);

    let r = crate::common::fit_fixture("studentt_huge_scale.nll", "studentt_huge_scale.csv");
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    assert_close("student a", estimate(&r, "a"), 1.9997720364774125e25, 1e-6);
    assert_close("student b", estimate(&r, "b"), 5.073281246779193e24, 1e-6);
    assert_close("student s", estimate(&r, "s"), 1.043125997213062e25, 1e-6);
    assert_close("student nu", estimate(&r, "nu"), 4.315607567802229, 1e-6);
}

/// A scale per group on observations of order 1e20, from scales of 1: the
/// fit reaches each group's mean and root mean squared deviation (the
/// normal's estimates, computed here from the file).
#[test]
fn group_scales_twenty_orders_above_their_start_are_fitted() {
    let r = crate::common::fit_fixture("group_scales.nll", "group_scales_huge.csv");
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    let text = std::fs::read_to_string(crate::common::repo_path(
        "tests/fixtures/group_scales_huge.csv",
    ))
    .unwrap();
    let mut groups: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in text.lines().skip(1) {
        let (g, y) = line.split_once(',').unwrap();
        groups
            .entry(g.to_string())
            .or_default()
            .push(y.parse().unwrap());
    }
    assert_eq!(groups.len(), 4);
    for (g, ys) in &groups {
        let n = ys.len() as f64;
        let mean = ys.iter().sum::<f64>() / n;
        let sd = (ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n).sqrt();
        // Both are sums of a hundred terms: 1e-9 is far above their
        // rounding and far below any error of the fit.
        assert_close(
            &format!("u[{g}]"),
            estimate(&r, &format!("u[{g}]")),
            mean,
            1e-9,
        );
        assert_close(
            &format!("s[{g}]"),
            estimate(&r, &format!("s[{g}]")),
            sd,
            1e-9,
        );
    }
}

/// `nll fit` on observations of order 1e150 stopped by the iteration
/// limit while its log-scale is still on the way (at about 300 of 345).
fn stopped_short_of_data_of_order_1e150() -> String {
    crate::cli::run(&[
        "fit",
        "tests/fixtures/huge_outcome.nll",
        "--data",
        "tests/fixtures/huge_outcome_1e150.csv",
        "--max-iter",
        "600",
    ])
}

/// A fit stopped by the iteration limit after room to balance its
/// parameters (a log-scale that must travel 345 units against a column of
/// order 1e150) says that the parameters' scales differ and names the
/// column to rescale. A well-scaled fit stopped early is not told so, nor
/// one stopped by a small --max-iter (it may only need more).
#[test]
fn unbalanced_parameter_scales_are_named_when_a_fit_does_not_converge() {
    let text = stopped_short_of_data_of_order_1e150();
    assert!(text.contains("did not converge"), "{text}");
    let scales = text
        .lines()
        .find(|w| w.contains("scales differ"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        scales.contains("`g`") && scales.contains("column `y`"),
        "{scales}"
    );
    for (model, data) in [
        (
            "examples/engel_heteroscedastic.nll",
            "examples/data/engel.csv",
        ),
        (
            "tests/fixtures/huge_outcome.nll",
            "tests/fixtures/huge_outcome_1e150.csv",
        ),
    ] {
        let text = crate::cli::run(&["fit", model, "--data", data, "--max-iter", "2"]);
        assert!(
            text.contains("did not converge") && !text.contains("scales differ"),
            "{text}"
        );
    }
}

/// Observations of order 1e150 and a scale the fit has not yet brought
/// near them when it stops: the scale is tiny against the data but the
/// rows are nowhere near fitted, so this is a fit that did not converge
/// (exit 3), not a scale collapsing onto an exact fit (exit 4), and the
/// data's size is named. An exact fit whose scale is written exp(g) still
/// collapses.
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
    let text = stopped_short_of_data_of_order_1e150();
    assert!(text.starts_with("exit: 3"), "{text}");
    assert!(!text.contains("collapses"), "{text}");
    assert!(text.contains("data column `y`"), "{text}");
}

/// A scratch folder for one test, under the system's temporary folder.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nll-it-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// The fit of model text `model` to CSV text `csv`, both written to files
/// in `dir` first.
fn fit_written(dir: &std::path::Path, model: &str, csv: &str) -> nll::infer::FitReport {
    let (model_path, data_path) = (dir.join("model.nll"), dir.join("data.csv"));
    std::fs::write(&model_path, model).expect("model");
    std::fs::write(&data_path, csv).expect("data");
    crate::common::fit_paths(
        model_path.to_str().unwrap(),
        data_path.to_str().unwrap(),
        &[],
    )
}

/// Errors so heavy-tailed that the largest is 1e9 times the scale
/// (1 + 2 (u^-2 - 1) with a random sign, tails like a Student-t with
/// nu = 0.5), fitted by a Student-t with nu = 0.5: the mean of such data is
/// far from most of it, and a collapse level taken from the largest
/// distance to the mean lay above the well-estimated scale. It is a
/// maximum, with standard errors. So is a Cauchy line with one observation
/// 1e15 times its scale.
#[test]
fn a_well_estimated_scale_under_huge_outliers_is_not_a_collapse() {
    let dir = scratch("heavy");
    let n = 20_000;
    let rows: String = (0..n)
        .map(|i| {
            let u = (i as f64 + 0.5) / n as f64;
            // scatter the sizes over the rows, alternate the signs
            let u = (u * 7919.0).fract().max(0.5 / n as f64);
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            format!("{}\n", 1.0 + sign * 2.0 * (u.powi(-2) - 1.0))
        })
        .collect();
    let r = fit_written(
        &dir,
        "data y\nparam mu, s > 0\ny ~ StudentT(0.5, mu, s)\n",
        &format!("y\n{rows}"),
    );
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    assert!(
        !r.warnings.iter().any(|w| w.contains("collapses")),
        "{:#?}",
        r.warnings
    );
    let s = estimate(&r, "s");
    assert!(s > 0.1 && s < 10.0, "{s}");
    assert!(r
        .parameters
        .iter()
        .all(|p| p.std_error.is_some_and(|e| e > 0.0)));

    // A Cauchy line with scale 0.1 and one observation of 1e14: the
    // observations' size for their rounding is not that one's either.
    let rows: String = (0..200)
        .map(|i| {
            let x = i as f64 / 200.0;
            let u = (i as f64 * 0.618_033_988_749_895 + 0.1).fract();
            let y = if i == 7 {
                1e14
            } else {
                1.0 + 2.0 * x + 0.1 * (std::f64::consts::PI * (u - 0.5)).tan()
            };
            format!("{x},{y}\n")
        })
        .collect();
    let r = fit_written(
        &dir,
        "data x, y\nparam a, b, s > 0\ny ~ Cauchy(a + b * x, s)\n",
        &format!("x,y\n{rows}"),
    );
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    let s = estimate(&r, "s");
    assert!(s > 0.05 && s < 0.2, "{s}");
}

/// Observations whose every residual can be exactly 0 (log(y) of y = 1 in
/// every row): the scale falls until its square is no longer a normal
/// double and the curvature overflows; that is a collapse, and said so.
#[test]
fn a_scale_collapsing_onto_residuals_of_exactly_zero_is_named() {
    let r = crate::common::fit_fixture("log_linear.nll", "all_ones.csv");
    assert!(!r.converged);
    assert!(r.status.contains("scale collapses"), "{}", r.status);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("`sigma` of `Normal` collapses toward 0")),
        "{:#?}",
        r.warnings
    );
}

/// Observations all equal: a location that reproduces them makes any scale
/// a collapse, wherever the fit stopped it (a Laplace fit's smoothing stops
/// near 1e-10, far above what the observations' rounding would call small).
/// The same observations under a location that cannot reproduce them (b x
/// with x varying) have a proper maximum.
#[test]
fn a_scale_on_observations_all_equal_collapses_only_where_they_are_fitted_exactly() {
    let dir = scratch("equal");
    let r = fit_written(
        &dir,
        "data y\nparam m, s\ny ~ Laplace(m, exp(s))\n",
        "y\n3\n3\n3\n3\n3\n",
    );
    assert!(!r.converged, "{}", r.status);
    assert!(r.status.contains("scale collapses"), "{}", r.status);
    let r = fit_written(
        &dir,
        "data x, y\nparam b, s > 0\ny ~ Normal(b * x, s)\n",
        "x,y\n1,3\n2,3\n3,3\n4,3\n5,3\n",
    );
    assert!(r.converged, "{}: {:#?}", r.status, r.warnings);
    // b = sum x y / sum x^2 = 45 / 55, s^2 = mean (y - b x)^2
    let b = 45.0 / 55.0;
    let s2 = (1..=5).map(|x| (3.0 - b * x as f64).powi(2)).sum::<f64>() / 5.0;
    assert!((estimate(&r, "b") - b).abs() < 1e-6);
    assert!((estimate(&r, "s") - s2.sqrt()).abs() < 1e-6);
}

/// Quasi-complete separation (100 normal x, y = [x > 0.1], and two rows at
/// x = 0.1 with y = 0 and 1): the slope runs off and the optimizer's steps
/// along it soon promise decreases far below the NLL's rounding. A step
/// grown to be visible and then rejected once sent the radius back a
/// quarter at a time, 290 iterations; it now falls back at once, as the
/// fit did before it grew steps at all (46).
#[test]
fn a_separating_slope_is_found_without_a_long_retreat_of_the_radius() {
    let r = crate::common::fit_fixture("logistic.nll", "quasi_separated_many.csv");
    assert!(!r.converged);
    assert!(
        r.warnings.iter().any(|w| w.contains("separation")),
        "{:#?}",
        r.warnings
    );
    assert!(r.iterations <= 60, "{} iterations", r.iterations);
}

/// A two-component normal mixture on 300 observations of order 1e10
/// (40% near 1.5e10, 60% near 4.5e10), from start values in units of 1:
/// the fit ends at a local maximum whose second component holds 6 rows
/// with 1/340 of the other scale, NLL 7463.99 against 7405.78 at the
/// maximum (the same data in units of 1e10 give 498.02). It is a maximum,
/// so the fit converged; the component is named as the shape of a
/// spurious one.
#[test]
fn a_narrow_component_on_a_few_percent_of_the_rows_is_named() {
    let r = crate::common::fit_paths(
        &crate::common::repo_path("examples/mixture_gaussian.nll"),
        &crate::common::repo_path("tests/fixtures/mixture_1e10.csv"),
        &[],
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("component 2") && w.contains("spurious maximum")),
        "{}: {:#?}",
        r.status,
        r.warnings
    );
}

/// A Laplace fit's kink is smoothed, and the smoothed NLL has a Hessian: at
/// a minimum its rows at the kink make it positive definite. Where a
/// coefficient is not identified (its column is 0 in every row) the Hessian
/// of the smoothed likelihood is singular, and the fit says so instead of
/// reporting a strict minimum.
#[test]
fn a_laplace_fit_with_a_singular_smoothed_hessian_is_not_called_converged() {
    let dir = scratch("laplace");
    let csv = dir.join("zero_column.csv");
    let mut rows = String::from("x,y\n");
    for i in 0..40 {
        // y spread over [-2, 2] without ties
        rows.push_str(&format!("0,{}\n", ((i * 17) % 40) as f64 / 10.0 - 2.0));
    }
    std::fs::write(&csv, rows).unwrap();
    let out = crate::cli::run(&[
        "fit",
        "tests/fixtures/laplace_huge_scale.nll",
        "--data",
        csv.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.starts_with("exit: 4"), "{out}");
    assert!(
        out.contains("the Hessian of the smoothed likelihood is not positive definite")
            && out.contains("involves `b`"),
        "{out}"
    );
}

/// Started at a scale of exp(800) (the Engel model's g0 = 800), the
/// Hessian in the location coefficients underflows: the Newton decrement
/// at the stopping point is not a number, which says nothing about
/// convergence (it was taken as at the rounding level, exit 4 with a
/// gradient norm of 1.6e3), and the flat directions' names were lost when
/// their norm overflowed.
#[test]
fn a_newton_decrement_that_is_not_a_number_is_no_convergence() {
    let text = crate::cli::run(&[
        "fit",
        "examples/engel_heteroscedastic.nll",
        "--data",
        "examples/data/engel.csv",
        "--start",
        "g0=800",
    ]);
    assert!(text.starts_with("exit: 3"), "{text}");
    assert!(text.contains("not converged"), "{text}");
    assert!(!text.contains("involves ;"), "{text}");
    assert!(!text.contains("involves :"), "{text}");
}

/// A Poisson log-rate started at -600: the rows of 0 are fitted with
/// probability 1 while the others still pull with a gradient of 7. The fit
/// stops far from its maximum (at log(7/6)); that is no convergence
/// (exit 3), not parameters running off (exit 4).
#[test]
fn rows_fitted_exactly_under_a_steep_gradient_are_not_a_divergence() {
    let dir = scratch("steep");
    std::fs::write(
        dir.join("m.nll"),
        "data y: int\nparam a\ny ~ Poisson(exp(a))\n",
    )
    .unwrap();
    std::fs::write(dir.join("d.csv"), "y\n0\n1\n2\n0\n3\n1\n").unwrap();
    let model = dir.join("m.nll").display().to_string();
    let data = dir.join("d.csv").display().to_string();
    let text = crate::cli::run(&["fit", &model, "--data", &data, "--start", "a=-600"]);
    assert!(!text.contains("no finite maximum"), "{text}");
    assert!(
        text.starts_with("exit: 3") || text.starts_with("exit: 0"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rate declared positive, on counts that are all 0: the rows are
/// predicted with probability 1 as the rate goes to its bound 0, which is
/// what the warning says (it said the rate could "grow without bound").
#[test]
fn a_divergence_names_where_each_parameter_heads() {
    let dir = scratch("heading");
    let r = fit_written(
        &dir,
        "data y: int\nparam lam > 0\ny ~ Poisson(lam)\n",
        "y\n0\n0\n0\n0\n0\n0\n",
    );
    assert!(
        r.warnings.iter().any(|w| w
            .contains("6 rows (6 with count 0) are predicted with probability 1")
            && w.contains("`lam` goes to its bound 0")),
        "{:#?}",
        r.warnings
    );
}

/// The kink that stops standard errors is named where it is: a Laplace
/// prior's, not the (Gaussian) likelihood's.
#[test]
fn a_kink_in_a_prior_is_called_the_prior_s() {
    let dir = scratch("prior-kink");
    let r = fit_written(
        &dir,
        "data x, y\nparam b0, b1, s > 0\ny ~ Normal(b0 + b1 * x, s)\nb0 ~ Laplace(0, 10)\n",
        "x,y\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n5,10.1\n",
    );
    assert!(
        r.warnings.iter().any(|w| w.starts_with(
            "the objective has a kink (the absolute value in a Laplace prior's density)"
        )),
        "{:#?}",
        r.warnings
    );
}
