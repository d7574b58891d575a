//! Mixtures and zero inflation: densities against hand formulas, finiteness
//! where every component underflows, and degenerate fits named.

use nll::compile;
use nll::data::{Column, ColumnKind, DataSet};
use nll::eval::Workspace;
use nll::{model, syntax};

use crate::common::{fit_example, fit_fixture};

/// NLL of `source` on one data column `y` at theta (natural = theta for
/// unconstrained parameters).
fn nll_at(source: &str, y: &[f64], theta: &[f64]) -> f64 {
    let program = syntax::parse_program(source).unwrap();
    let (m, diags) = model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let ds = DataSet {
        n_rows: y.len(),
        columns: vec![("y".into(), ColumnKind::Real, Column::Real(y.to_vec()))],
        n_dropped: 0,
        n_filtered_out: 0,
        source_rows: (1..=y.len()).collect(),
    };
    let c = compile::compile(&m, &ds, &ds.source_rows).unwrap();
    let prog = c.grad_program();
    let mut ws = Workspace::new(&prog);
    let mut out = vec![0.0; prog.n_outputs()];
    let mut t = theta.to_vec();
    t.push(0.0);
    prog.eval(&mut ws, &c.columns, &t, &mut out);
    out[0]
}

fn normal_pdf(y: f64, m: f64, s: f64) -> f64 {
    (-0.5 * ((y - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
}

const MIX: &str =
    "data y\nparam w, m1, m2, s1, s2\ny ~ Mixture(w, Normal(m1, s1), Normal(m2, s2))\n";

#[test]
fn two_component_mixture_matches_the_density_by_hand() {
    // -log(w N(y; m1, s1) + (1 - w) N(y; m2, s2)), summed over rows.
    let ys = [-1.0, 0.3, 2.5];
    let (w, m1, m2, s1, s2) = (0.3, 0.0, 2.0, 1.0, 0.5);
    let expected: f64 = ys
        .iter()
        .map(|y| -(w * normal_pdf(*y, m1, s1) + (1.0 - w) * normal_pdf(*y, m2, s2)).ln())
        .sum();
    let got = nll_at(MIX, &ys, &[w, m1, m2, s1, s2]);
    assert!(
        (got - expected).abs() < 1e-12 * expected.abs(),
        "{got} vs {expected}"
    );
}

#[test]
fn mixture_is_finite_where_every_component_underflows() {
    // At y = 1000 both densities are below 1e-300000: exp underflows to 0
    // in double precision, but the log-sum-exp form stays exact:
    // -log p = -log(w N(1000; 0, 1) + (1-w) N(1000; 1, 1))
    //        = 999^2/2 + log(2 pi)/2 - log((1-w) + w exp(-(1000^2 - 999^2)/2)).
    let (w, m1, m2, s1, s2): (f64, f64, f64, f64, f64) = (0.5, 0.0, 1.0, 1.0, 1.0);
    let got = nll_at(MIX, &[1000.0], &[w, m1, m2, s1, s2]);
    let expected =
        999.0f64.powi(2) / 2.0 + 0.5 * (2.0 * std::f64::consts::PI).ln() - (1.0 - w).ln();
    assert!(got.is_finite());
    assert!(
        (got - expected).abs() < 1e-9 * expected,
        "{got} vs {expected}"
    );
}

#[test]
fn mixture_logit_with_a_vector_is_a_softmax_of_weights() {
    // MixtureLogit(eta, ...) with eta = (0, a): weights softmax(0, a).
    let source = "data y\nparam a, m1, m2\nparam eta[2]\ny ~ MixtureLogit(eta, Normal(m1, 1), Normal(m2, 1))\n";
    let (a, m1, m2): (f64, f64, f64) = (0.7, -1.0, 1.5);
    let w1 = 1.0 / (1.0 + a.exp());
    let ys = [0.2, -2.0];
    let expected: f64 = ys
        .iter()
        .map(|y| -(w1 * normal_pdf(*y, m1, 1.0) + (1.0 - w1) * normal_pdf(*y, m2, 1.0)).ln())
        .sum();
    let got = nll_at(source, &ys, &[0.0, m1, m2, 0.0, a]);
    assert!(
        (got - expected).abs() < 1e-12 * expected.abs(),
        "{got} vs {expected}"
    );
}

#[test]
fn zero_inflated_poisson_matches_the_density_by_hand() {
    // p(0) = pi + (1 - pi) e^-lam,  p(y) = (1 - pi) e^-lam lam^y / y!.
    let source = "data y\nparam zi, lam\ny ~ ZeroInflated(zi, Poisson(lam))\n";
    let (pi, lam): (f64, f64) = (0.25, 2.5);
    let ys = [0.0, 0.0, 1.0, 4.0];
    let fact = |k: f64| (1..=k as u64).map(|i| i as f64).product::<f64>();
    let expected: f64 = ys
        .iter()
        .map(|y| {
            let pois = (-lam).exp() * lam.powf(*y) / fact(*y);
            let p = if *y == 0.0 {
                pi + (1.0 - pi) * pois
            } else {
                (1.0 - pi) * pois
            };
            -p.ln()
        })
        .sum();
    let got = nll_at(source, &ys, &[pi, lam]);
    assert!(
        (got - expected).abs() < 1e-12 * expected.abs(),
        "{got} vs {expected}"
    );
}

#[test]
fn gaussian_mixture_example_recovers_its_simulation() {
    // examples/data/make_mixture.py: 40% N(1.5, 0.5^2), 60% N(4.5, 0.8^2).
    let r = fit_example("mixture_gaussian.nll", "mixture.csv", &[]);
    assert!(r.converged, "{}", r.status);
    let est = |n: &str| {
        r.parameters
            .iter()
            .find(|p| p.name == n)
            .map(|p| (p.estimate, p.std_error.unwrap()))
            .unwrap()
    };
    for (name, truth) in [("w", 0.4), ("m1", 1.5), ("s1", 0.5), ("s2", 0.8)] {
        let (e, se) = est(name);
        assert!(
            (e - truth).abs() < 4.0 * se,
            "{name}: {e} vs {truth} (se {se})"
        );
    }
    let (gap, se) = est("gap");
    assert!((gap - 3.0).abs() < 4.0 * se, "gap {gap}");
}

#[test]
fn a_component_collapsing_on_one_point_is_named() {
    let r = fit_fixture("mixture_collapse.nll", "collapse.csv");
    assert!(!r.converged);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("component 2 (`Normal`) of `Mixture` collapses")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_component_of_weight_zero_is_not_identified_not_at_an_edge() {
    // Mixture(1, ...): `m2` and `s2` do not affect the likelihood and stay
    // at their starts (`s2` = 1, far from its bound 0); both are named as
    // not identified, and neither is said to sit at its constraint's edge.
    let r = fit_fixture("mixture_weight_one.nll", "xy.csv");
    assert!(!r.converged);
    assert!(
        !r.warnings
            .iter()
            .any(|w| w.contains("edge of its constraint")),
        "{:?}",
        r.warnings
    );
    let hessian = r
        .warnings
        .iter()
        .find(|w| w.starts_with("the Hessian is not positive definite"))
        .unwrap_or_else(|| panic!("{:?}", r.warnings));
    assert!(
        hessian.contains("`m2`") && hessian.contains("`s2`"),
        "{hessian}"
    );
    // Their curvature is exactly 0, not -0.
    assert!(!hessian.contains("-0.000e0"), "{hessian}");
    assert!(
        r.status.contains("Hessian is not positive definite"),
        "{}",
        r.status
    );
}

#[test]
fn a_component_of_weight_zero_is_judged_alike_at_every_row_count() {
    // On these 20 rows the optimizer stops without progress instead of on
    // its gradient test; the curvature of the parameters that matter shows
    // the point is stationary, and the report is the same as on xy.csv.
    let r = fit_fixture("mixture_weight_one.nll", "mixture_20.csv");
    assert!(
        r.status.contains("Hessian is not positive definite"),
        "{}: {:?}",
        r.status,
        r.warnings
    );
}

#[test]
fn a_scale_left_at_a_small_start_is_not_at_an_edge() {
    // `w` goes to its bound 1; `s2` stays at its start 0.01, which is not
    // near its bound 0 and no longer affects the likelihood.
    let r = fit_fixture("mixture_far_component.nll", "collapse.csv");
    let edges: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("edge of its constraint"))
        .collect();
    assert_eq!(edges.len(), 1, "{:?}", r.warnings);
    assert!(
        edges[0].starts_with("parameter `w` is at the edge"),
        "{edges:?}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("the Hessian is not positive definite") && w.contains("`s2`")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_component_hugging_three_close_values_is_called_a_spurious_maximum() {
    let r = fit_fixture("mixture_spurious.nll", "mixture_spurious.csv");
    assert!(r.converged, "a local maximum: {}", r.status);
    let spurious: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("spurious maximum"))
        .collect();
    assert_eq!(spurious.len(), 1, "{:?}", r.warnings);
    // At a maximum the weight is the mean of the rows' probabilities of
    // coming from the component, so the rows carrying it are w n.
    let w = r.parameters[0].estimate;
    let carried = format!("carried by about {:.1} of the 300", w * 300.0);
    assert!(spurious[0].contains(&carried), "{carried}: {}", spurious[0]);
    assert!(spurious[0].starts_with("component 1 (`Normal`)"));

    // From starts near the two groups: a higher maximum, no such warning.
    let good = fit_fixture("mixture_two_groups.nll", "mixture_spurious.csv");
    assert!(good.converged);
    assert!(good.nll < r.nll - 50.0, "{} against {}", good.nll, r.nll);
    assert!(
        !good.warnings.iter().any(|w| w.contains("carried by")),
        "{:?}",
        good.warnings
    );
}

#[test]
fn a_component_no_row_comes_from_is_said_to_carry_none() {
    // `w` goes to 1: every row comes from component 1.
    let r = fit_fixture("mixture_far_component.nll", "collapse.csv");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("component 2 (`Normal`) of `Mixture` carries almost none")),
        "{:?}",
        r.warnings
    );
    assert!(!r.warnings.iter().any(|w| w.starts_with("component 1")));
}
