//! `nll explain` through the library: the NLL of every example written out,
//! plain and LaTeX, and the forms a reader checks by hand.

use nll::diag::render;
use nll::model;
use nll::syntax;

use crate::common::repo_path;

/// The explanation of a model given as text.
fn explain_source(source: &str, latex: bool) -> String {
    let program = syntax::parse_program(source).unwrap_or_else(|d| panic!("{d:?}"));
    let (model, diags) = model::check(&program);
    if diags.iter().any(|d| d.is_error()) {
        let text: String = diags
            .iter()
            .map(|d| render(d, "model", source, false))
            .collect();
        panic!("{text}");
    }
    nll::explain::explain(&model, source, latex)
}

fn explain_example(name: &str, latex: bool) -> String {
    let source = std::fs::read_to_string(repo_path(&format!("examples/{name}.nll")))
        .expect("example exists");
    explain_source(&source, latex)
}

fn snapshot_example(name: &str) {
    let plain = explain_example(name, false);
    let latex = explain_example(name, true);
    insta::assert_snapshot!(format!("{name}_plain"), plain);
    insta::assert_snapshot!(format!("{name}_latex"), latex);
}

#[test]
fn every_example_has_a_snapshot() {
    // A new example needs a snapshot test below.
    let mut names: Vec<String> = std::fs::read_dir(repo_path("examples"))
        .expect("examples folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".nll").map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "beta_regression",
            "breast_cancer_logistic",
            "breast_cancer_probit",
            "diabetes_linear",
            "engel_heteroscedastic",
            "engel_laplace",
            "engel_linear",
            "engel_studentt",
            "iris_softmax",
            "iris_softmax_matrix",
            "mixture_gaussian",
            "randhie_negbin",
            "randhie_poisson",
            "weibull_survival",
        ]
    );
}

#[test]
fn breast_cancer_logistic() {
    snapshot_example("breast_cancer_logistic");
}

#[test]
fn diabetes_linear() {
    snapshot_example("diabetes_linear");
}

#[test]
fn engel_heteroscedastic() {
    snapshot_example("engel_heteroscedastic");
}

#[test]
fn engel_laplace() {
    snapshot_example("engel_laplace");
}

#[test]
fn engel_linear() {
    snapshot_example("engel_linear");
}

#[test]
fn engel_studentt() {
    snapshot_example("engel_studentt");
}

#[test]
fn iris_softmax() {
    snapshot_example("iris_softmax");
}

#[test]
fn iris_softmax_matrix() {
    snapshot_example("iris_softmax_matrix");
}

#[test]
fn beta_regression() {
    snapshot_example("beta_regression");
}

#[test]
fn breast_cancer_probit() {
    snapshot_example("breast_cancer_probit");
}

#[test]
fn weibull_survival() {
    snapshot_example("weibull_survival");
}

#[test]
fn mixture_gaussian() {
    snapshot_example("mixture_gaussian");
}

#[test]
fn randhie_negbin() {
    snapshot_example("randhie_negbin");
}

#[test]
fn randhie_poisson() {
    snapshot_example("randhie_poisson");
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim() == line)
}

#[test]
fn normal_with_constant_sigma_is_written_exactly() {
    let text = explain_source(
        "data x, y\nparam a, b\nparam s > 0\ny ~ Normal(a + b * x, s)\n",
        false,
    );
    assert!(
        has_line(
            &text,
            "NLL = n*log(s) + (n/2)*log(2*pi) + sum_i (y_i - a - b*x_i)^2 / (2*s^2)"
        ),
        "{text}"
    );
}

// Normal, by hand: l = log(sigma) + log(2 pi)/2 + (y - mu)^2 / (2 sigma^2).
//   dl/dmu    = -2 (y - mu) / (2 sigma^2) = (mu - y)/sigma^2
//   dl/dsigma = 1/sigma - 2 (y - mu)^2 / (2 sigma^3) = 1/sigma - (y - mu)^2/sigma^3
//   with mu = a + b x: dmu/db = x, so dNLL/db = sum_i (mu_i - y_i)/sigma^2 * x_i;
//   with sigma = s: dNLL/ds = n/s - sum_i (y_i - mu_i)^2 / s^3.
#[test]
fn normal_gradients_match_the_hand_derivation() {
    let text = explain_source(
        "data x, y\nparam a, b\nparam s > 0\ny ~ Normal(a + b * x, s)\n",
        false,
    );
    for line in [
        "dl_i/dmu_i = (mu_i - y_i)/sigma^2",
        "dl_i/dsigma = 1/sigma - (y_i - mu_i)^2/sigma^3",
        "dmu_i/db = x_i",
        "dNLL/db = sum_i (mu_i - y_i)/sigma^2 * x_i",
        "dNLL/ds = n/sigma - sum_i (y_i - mu_i)^2 / sigma^3",
    ] {
        assert!(has_line(&text, line), "missing `{line}` in\n{text}");
    }
}

// Poisson with rate = exp(eta), by hand: l = rate - y log(rate) + log(y!)
//   = exp(eta) - y eta + log(y!), since log(exp(eta)) = eta.
//   dl/deta = exp(eta) - y; with eta = a + b x, deta/db = x, so
//   dNLL/db = sum_i (exp(eta_i) - y_i) * x_i.
#[test]
fn poisson_gradients_match_the_hand_derivation() {
    let text = explain_source(
        "data x, y: int\nparam a, b\ny ~ Poisson(exp(a + b * x))\n",
        false,
    );
    for line in [
        "eta_i = a + b*x_i",
        "rate_i = exp(eta_i)",
        "l_i = -log p(y_i) = exp(eta_i) - y_i*eta_i + log(y_i!)",
        "NLL = sum_i exp(a + b*x_i) - sum_i y_i*(a + b*x_i) + sum_i log(y_i!)",
        "dl_i/deta_i = exp(eta_i) - y_i",
        "dNLL/da = sum_i (exp(eta_i) - y_i)",
        "dNLL/db = sum_i (exp(eta_i) - y_i) * x_i",
    ] {
        assert!(has_line(&text, line), "missing `{line}` in\n{text}");
    }
}

// BernoulliLogit, by hand: l = softplus(eta) - y eta = log(1 + exp(eta)) - y eta.
//   dl/deta = exp(eta)/(1 + exp(eta)) - y = logistic(eta) - y.
//   In p = logistic(eta) the cross-entropy -[y log p + (1 - y) log(1 - p)]
//   has dl/dp = -1/p at y = 1 and 1/(1 - p) at y = 0.
#[test]
fn bernoulli_logit_gradients_match_the_hand_derivation() {
    let text = explain_source(
        "data x, y: int\nparam a, b\ny ~ BernoulliLogit(a + b * x)\n",
        false,
    );
    for line in [
        "l_i = -log p(y_i) = -(y_i*log(p_i) + (1 - y_i)*log(1 - p_i))",
        "l_i = softplus(eta_i) - y_i*eta_i",
        "dl_i/deta_i = logistic(eta_i) - y_i",
        "dNLL/db = sum_i (logistic(eta_i) - y_i) * x_i",
    ] {
        assert!(has_line(&text, line), "missing `{line}` in\n{text}");
    }
    assert!(
        text.contains("-1/p_i for an observed 1 and 1/(1 - p_i) for an observed 0"),
        "{text}"
    );
}

#[test]
fn priors_are_added_once() {
    let text = explain_source(
        "data x, y\nparam a, b\nparam s > 0\ny ~ Normal(a + b * x, s)\nb ~ Normal(0, 10)\n",
        false,
    );
    assert!(
        has_line(&text, "NLL += log(10) + (1/2)*log(2*pi) + b^2/200"),
        "{text}"
    );
    assert!(has_line(&text, "dl/db = (b - mu)/sigma^2"), "{text}");
}

// Beta, by hand: l = lgamma(a) + lgamma(b) - lgamma(a + b) - (a - 1) log(y)
//   - (b - 1) log(1 - y).
//   dl/da = digamma(a) - digamma(a + b) - log(y)
//   dl/db = digamma(b) - digamma(a + b) - log(1 - y)
//   With a = mu*phi and b = phi constant in the data: da/dphi = mu, db/dphi = 1,
//   so dNLL/dphi sums (digamma(a_i) - digamma(a_i + b) - log(y_i)) * mu_i and
//   (digamma(b) - digamma(a_i + b) - log(1 - y_i)).
#[test]
fn beta_gradients_match_the_hand_derivation() {
    let text = explain_source(
        "data x, y\nparam c, phi > 0\ny ~ Beta(logistic(c * x) * phi, phi)\n",
        false,
    );
    for line in [
        "a_i = logistic(c*x_i)*phi",
        "b = phi",
        "l_i = -log p(y_i) = lgamma(a_i) + lgamma(b) - lgamma(a_i + b) - (a_i - 1)*log(y_i) - (b - 1)*log(1 - y_i)",
        "dl_i/da_i = digamma(a_i) - digamma(a_i + b) - log(y_i)",
        "dl_i/db = digamma(b) - digamma(a_i + b) - log(1 - y_i)",
        "da_i/dphi = logistic(c*x_i)",
    ] {
        assert!(has_line(&text, line), "missing `{line}` in\n{text}");
    }
    assert!(!text.contains("no written form"), "{text}");
}

// Mixture of two Normals, by hand, with p = w p1 + (1 - w) p2 and
// l = -log p = -log(w exp(-l1) + (1 - w) exp(-l2)):
//   dl/dw   = -(exp(-l1) - exp(-l2))/p = r2/(1 - w) - r1/w,
//   dl/dmu1 = w exp(-l1) dl1/dmu1 / p = r1 (mu1 - y)/sigma1^2,
//   dl/dsigma1 = r1 (1/sigma1 - (y - mu1)^2/sigma1^3),
// with the responsibilities r1 = w exp(-l1)/p = exp(log(w) - l1 + l) and
// r2 = (1 - w) exp(-l2)/p = exp(log(1 - w) - l2 + l), which add up to 1.
// With mu2 = m + gap, dmu2/dm = 1, so dNLL/dm collects both components.
#[test]
fn mixture_gradients_match_the_hand_derivation() {
    let text = explain_example("mixture_gaussian", false);
    for line in [
        "l_{1,i} = -log p_1(y_i) = log(sigma_1) + (1/2)*log(2*pi) + (y_i - mu_1)^2/(2*sigma_1^2)",
        "l_i = -log p(y_i) = -log(w*exp(-l_{1,i}) + (1 - w)*exp(-l_{2,i}))",
        "l_i = -log(exp(log(w) - l_{1,i}) + exp(log(1 - w) - l_{2,i}))",
        "dl_i/dw = r_{2,i}/(1 - w) - r_{1,i}/w",
        "dl_i/dmu_1 = (mu_1 - y_i)*r_{1,i}/sigma_1^2",
        "dl_i/dsigma_1 = r_{1,i}*(1/sigma_1 - (y_i - mu_1)^2/sigma_1^3)",
        "dNLL/dm1 = sum_i ((mu_1 - y_i)*r_{1,i}/sigma_1^2 + (mu_2 - y_i)*r_{2,i}/sigma_2^2)",
    ] {
        assert!(has_line(&text, line), "missing `{line}` in\n{text}");
    }
    assert!(
        text.contains(
            "r_{1,i} = exp(log(w) - l_{1,i} + l_i) and r_{2,i} = exp(log(1 - w) - l_{2,i} + l_i)"
        ),
        "{text}"
    );
}

// Zero-inflated Poisson, by hand: p(0) = pi + (1 - pi) exp(-l_D(0)) and
// p(y) = (1 - pi) exp(-l_D(y)) for y > 0, with l_D = rate - y log(rate) + log(y!).
//   y = 0: dl/dpi = -(1 - exp(-l_D))/(pi + (1 - pi) exp(-l_D));
//   y > 0: dl/dpi = 1/(1 - pi).
#[test]
fn zero_inflation_has_both_cases() {
    let text = explain_source(
        "data y: int\nparam zi in (0, 1), lam > 0\ny ~ ZeroInflated(zi, Poisson(lam))\n",
        false,
    );
    for line in [
        "l_{D,i} = -log p_D(y_i) = rate - y_i*log(rate) + log(y_i!)",
        "l_i = -log p(y_i) = -log(pi + (1 - pi)*exp(-l_{D,i}))   for y_i = 0",
        "l_i = -log p(y_i) = l_{D,i} - log(1 - pi)   for y_i > 0",
        "dl_i/dpi = [y_i > 0]/(1 - pi) - (1 - exp(-l_{D,i}))*[y_i = 0]/(pi + (1 - pi)*exp(-l_{D,i}))",
    ] {
        assert!(has_line(&text, line), "missing `{line}` in\n{text}");
    }
}

/// Every distribution, compound ones included, is written out.
#[test]
fn every_family_has_a_written_form() {
    for (decl, statement) in [
        ("data y\nparam m, s > 0", "y ~ Cauchy(m, s)"),
        ("data y\nparam m, s > 0", "y ~ LogNormal(m, s)"),
        ("data y\nparam k > 0, s > 0", "y ~ Weibull(k, s)"),
        ("data y\nparam a > 0, b > 0", "y ~ Beta(a, b)"),
        ("data y\nparam m, s > 0", "y ~ Logistic(m, s)"),
        ("data y: int\nparam p in (0, 1)", "y ~ Binomial(10, p)"),
        ("data y: int, n: int\nparam e", "y ~ BinomialLogit(n, e)"),
        ("data y: int\nparam p in (0, 1)", "y ~ Geometric(p)"),
        ("data y: int\nparam e", "y ~ BernoulliProbit(e)"),
        (
            "data y: factor\nparam a in (0, 1)",
            "y ~ Categorical(a, 1 - a)",
        ),
        (
            "data y\nparam w in (0, 1), m1, m2",
            "y ~ Mixture(w, Normal(m1, 1), Normal(m2, 1))",
        ),
        (
            "data y: int\nparam e, r > 0, q in (0, 1)",
            "y ~ MixtureLogit(e, Poisson(r), Geometric(q))",
        ),
        (
            "data y: int\nparam z in (0, 1), p in (0, 1)",
            "y ~ ZeroInflated(z, Binomial(5, p))",
        ),
    ] {
        let text = explain_source(&format!("{decl}\n{statement}\n"), false);
        assert!(text.contains("The NLL:"), "{statement}:\n{text}");
        assert!(text.contains("What it means:"), "{statement}:\n{text}");
    }
}

// Categorical, by hand: l = -log(p_y), so dl/dp_k = -[y = k]/p_k, which is
// -[y = k]/p_y since the indicator is 0 unless y = k.
#[test]
fn categorical_probabilities_are_written_out() {
    let text = explain_source(
        "data y: factor\nparam a in (0, 1), b in (0, 1)\ny ~ Categorical(a, (1 - a) * b, (1 - a) * (1 - b))\n",
        false,
    );
    for line in [
        "p_3 = (1 - a)*(1 - b)",
        "l_i = -log p(y_i) = -log(p_{y_i})",
        "dl_i/dp_2 = -[y_i = level 2]/p_{y_i}",
    ] {
        assert!(has_line(&text, line), "missing `{line}` in\n{text}");
    }
}

#[test]
fn functions_calling_each_other_twice_are_expanded_once_per_argument() {
    // f_k(x) = f_{k-1}(x) + f_{k-1}(x), 30 deep: 2^30 expansions of f_0
    // when each call is expanded anew (it never finished); one per level
    // when a call with the same argument is reused.
    let mut source = String::from("data x, y\nparam a, s > 0\nf0(x) = a + x\n");
    for k in 1..=30 {
        source.push_str(&format!("f{k}(x) = f{}(x) + f{}(x)\n", k - 1, k - 1));
    }
    source.push_str("y ~ Normal(f30(x), s)\n");
    let text = explain_source(&source, false);
    assert!(text.contains("mu_i = 1073741824*(a + x_i)"), "{text}");
}

/// A model declaring x, y, a, s and e0 = a, e_k = e_{k-1} * e_{k-1} +
/// e_{k-1} up to e60: 62 graph nodes, and about 3 * 2^60 terms as text.
fn squaring_chain() -> String {
    let mut source = String::from("data x, y\nparam a, s > 0\ne0 = a\n");
    for k in 1..=60 {
        let p = k - 1;
        source.push_str(&format!("e{k} = e{p} * e{p} + e{p}\n"));
    }
    source
}

#[test]
fn a_formula_too_long_to_write_out_is_refused_before_it_is_written() {
    // Writing the chain out took all memory.
    let mut source = squaring_chain();
    source.push_str("y ~ Normal(e60 * x, s)\n");
    let text = explain_source(&source, false);
    assert!(
        text.contains("This statement cannot be written out: written out, it would have"),
        "{text}"
    );
}

#[test]
fn a_formula_too_long_to_write_out_on_the_left_side_is_refused_too() {
    // The same chain as a prior's left side: checking which names it
    // refers to walked every call (it never finished), and so did writing
    // out the observation.
    let mut source = squaring_chain();
    source.push_str("y ~ Normal(a * x, s)\ne60 ~ Normal(0, 1)\n");
    let text = explain_source(&source, false);
    assert!(
        text.contains("cannot be written out: written out, it would have"),
        "{text}"
    );
    assert!(
        text.contains("NLL += "),
        "the first statement is written out: {text}"
    );
}

/// A `MixtureLogit` of three components with two linear predictors (the
/// form the language documents) is written out with the reference
/// predictor: eta_1 = 0, and e[1], e[2] as eta_2, eta_3.
#[test]
fn a_mixture_with_a_reference_component_is_written_out() {
    let text = explain_source(
        "data y\nparam e[2], m[3], s > 0\ny ~ MixtureLogit(e, Normal(m[1], s), Normal(m[2], s), Normal(m[3], s))\n",
        false,
    );
    assert!(!text.contains("cannot be written out"), "{text}");
    for line in ["eta_1 = 0\n", "eta_2 = e[1]\n", "eta_3 = e[2]\n"] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

/// A zero-inflation probability is named pi; where an argument uses the
/// constant pi, the probability is pi' so that the two are not confused.
#[test]
fn a_zero_inflation_probability_beside_the_constant_pi_is_primed() {
    let text = explain_source(
        "data y: int\nparam pz in (0, 1), a\ny ~ ZeroInflated(pz, Poisson(pi * exp(a)))\n",
        false,
    );
    assert!(text.contains("pi' = pz\n"), "{text}");
    assert!(text.contains("rate = pi*exp(a)\n"), "{text}");
    let plain = explain_source(
        "data y: int\nparam pz in (0, 1), a\ny ~ ZeroInflated(pz, Poisson(exp(a)))\n",
        false,
    );
    assert!(plain.contains("pi = pz\n"), "{plain}");
}

/// Parameters named like a component's arguments (mu_1, mu_2) prime the
/// arguments, so that `mu_1 = mu_2` cannot be read as an equation between
/// the two parameters.
#[test]
fn component_arguments_named_like_parameters_are_primed() {
    let text = explain_source(
        "data y\nparam e, mu_1, mu_2\nparam s > 0\ny ~ MixtureLogit(e, Normal(mu_2, s), Normal(mu_1 + 1, s))\n",
        false,
    );
    assert!(text.contains("mu'_1 = mu_2\n"), "{text}");
    assert!(text.contains("mu'_2 = mu_1 + 1\n"), "{text}");
    assert!(!text.contains("  mu_1 = "), "{text}");
}
