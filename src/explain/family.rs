//! Each family's negative log-density as the terms a textbook writes, and
//! what the family teaches about its loss.
//!
//! The terms are built as graph expressions of the observation and the
//! arguments, so the same template serves the per-row formula (arguments as
//! names), the NLL (arguments written out) and the derivatives (`Graph::diff`
//! of the sum of the terms). A test checks that the terms add up to the
//! density the fit uses (`dist::Family::neg_log_density`), in value and in
//! every derivative.

use crate::dist::mixture::{self, Compound as Kind};
use crate::dist::Family;
use crate::graph::{BinOp, Func, Graph, Node, NodeId, Prec};

use super::lower::Ctx;
use super::text::Both;

/// One term of -log p: subtracted when `minus`.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    pub minus: bool,
    pub node: NodeId,
}

fn plus(node: NodeId) -> Term {
    Term { minus: false, node }
}

fn minus(node: NodeId) -> Term {
    Term { minus: true, node }
}

/// The observation: a value, or the level of a factor column.
#[derive(Debug, Clone, Copy)]
pub enum Obs {
    Value(NodeId),
    Level(u32),
}

/// `a*b` written in this order (the graph orders the operands of a product
/// by age, which would write `x*b` for `b*x`).
pub fn mul_in_order(g: &mut Graph, a: NodeId, b: NodeId) -> NodeId {
    let p = g.mul(a, b);
    if a != b && *g.node(p) == Node::Binary(BinOp::Mul, b, a) {
        g.intern(Node::Binary(BinOp::Mul, a, b))
    } else {
        p
    }
}

/// `a + b` written in this order.
pub fn add_in_order(g: &mut Graph, a: NodeId, b: NodeId) -> NodeId {
    let s = g.add(a, b);
    if a != b && *g.node(s) == Node::Binary(BinOp::Add, b, a) {
        g.intern(Node::Binary(BinOp::Add, a, b))
    } else {
        s
    }
}

/// The terms of -log p(y | args) for `family`; empty for a family that has
/// no written form.
pub fn terms(cx: &mut Ctx, family: &Family, y: Obs, a: &[NodeId]) -> Vec<Term> {
    let y = match y {
        Obs::Level(col) if family.name == "Categorical" => {
            // The probabilities as given: -log(p_y).
            let chosen = cx.g.select(col, a.to_vec());
            let log_p = cx.call(Func::Log, chosen);
            return vec![minus(log_p)];
        }
        Obs::Level(col) => {
            let lse = cx.g.log_sum_exp(a.to_vec());
            let chosen = cx.g.select(col, a.to_vec());
            return vec![plus(lse), minus(chosen)];
        }
        Obs::Value(y) => y,
    };
    let pi = cx.pi;
    let half = cx.g.constant(0.5);
    let one = cx.g.constant(1.0);
    let two = cx.g.constant(2.0);
    match family.name {
        "Normal" => {
            let (mu, sigma) = (a[0], a[1]);
            let log_sigma = cx.call(Func::Log, sigma);
            let two_pi = cx.g.mul(two, pi);
            let log_2pi = cx.call(Func::Log, two_pi);
            let c = cx.g.mul(half, log_2pi);
            let quad = quadratic(&mut cx.g, y, mu, sigma, two);
            vec![plus(log_sigma), plus(c), plus(quad)]
        }
        "Laplace" => {
            let (mu, b) = (a[0], a[1]);
            let two_b = cx.g.mul(two, b);
            let log_2b = cx.call(Func::Log, two_b);
            let r = cx.g.sub(y, mu);
            let abs = cx.call(Func::Abs, r);
            let scaled = cx.g.div(abs, b);
            vec![plus(log_2b), plus(scaled)]
        }
        "StudentT" => {
            let (nu, mu, sigma) = (a[0], a[1], a[2]);
            let half_nu = cx.g.mul(half, nu);
            let lg1 = cx.call(Func::Lgamma, half_nu);
            let nu1 = add_in_order(&mut cx.g, nu, one);
            let half_nu1 = cx.g.mul(half, nu1);
            let lg2 = cx.call(Func::Lgamma, half_nu1);
            let nu_pi = mul_in_order(&mut cx.g, nu, pi);
            let log_nu_pi = cx.call(Func::Log, nu_pi);
            let c = cx.g.mul(half, log_nu_pi);
            let log_sigma = cx.call(Func::Log, sigma);
            let r = cx.g.sub(y, mu);
            let r2 = cx.g.pow(r, two);
            let s2 = cx.g.pow(sigma, two);
            let nu_s2 = mul_in_order(&mut cx.g, nu, s2);
            let ratio = cx.g.div(r2, nu_s2);
            let inner = cx.g.add(one, ratio);
            let log_inner = cx.call(Func::Log, inner);
            let tail = mul_in_order(&mut cx.g, half_nu1, log_inner);
            vec![plus(lg1), minus(lg2), plus(c), plus(log_sigma), plus(tail)]
        }
        "Poisson" => {
            let rate = a[0];
            let log_rate = cx.call(Func::Log, rate);
            let y_log = mul_in_order(&mut cx.g, y, log_rate);
            let fact = log_factorial(cx, y);
            vec![plus(rate), minus(y_log), plus(fact)]
        }
        "NegBinomial" => {
            let (mu, phi) = (a[0], a[1]);
            let lg_phi = cx.call(Func::Lgamma, phi);
            let fact = log_factorial(cx, y);
            let y_phi = add_in_order(&mut cx.g, y, phi);
            let lg_y_phi = cx.call(Func::Lgamma, y_phi);
            let phi_y = add_in_order(&mut cx.g, phi, y);
            let phi_mu = add_in_order(&mut cx.g, phi, mu);
            let log_phi_mu = cx.call(Func::Log, phi_mu);
            let mix = mul_in_order(&mut cx.g, phi_y, log_phi_mu);
            let log_phi = cx.call(Func::Log, phi);
            let phi_log_phi = mul_in_order(&mut cx.g, phi, log_phi);
            let log_mu = cx.call(Func::Log, mu);
            let y_log_mu = mul_in_order(&mut cx.g, y, log_mu);
            vec![
                plus(lg_phi),
                plus(fact),
                minus(lg_y_phi),
                plus(mix),
                minus(phi_log_phi),
                minus(y_log_mu),
            ]
        }
        "Bernoulli" => {
            let p = a[0];
            if let Node::Unary(Func::Logistic, eta) = *cx.g.node(p) {
                return logit_terms(cx, y, eta);
            }
            if let Node::Unary(Func::Phi, eta) = *cx.g.node(p) {
                return probit_terms(cx, y, eta);
            }
            vec![minus(cross_entropy(cx, y, p))]
        }
        "BernoulliLogit" => logit_terms(cx, y, a[0]),
        "BernoulliProbit" => probit_terms(cx, y, a[0]),
        "Exponential" => {
            let rate = a[0];
            let log_rate = cx.call(Func::Log, rate);
            let ry = mul_in_order(&mut cx.g, rate, y);
            vec![minus(log_rate), plus(ry)]
        }
        "Gamma" => {
            let (shape, rate) = (a[0], a[1]);
            let lg = cx.call(Func::Lgamma, shape);
            let log_rate = cx.call(Func::Log, rate);
            let s_log_r = mul_in_order(&mut cx.g, shape, log_rate);
            let s1 = cx.g.sub(shape, one);
            let log_y = cx.call(Func::Log, y);
            let s1_log_y = mul_in_order(&mut cx.g, s1, log_y);
            let ry = mul_in_order(&mut cx.g, rate, y);
            vec![plus(lg), minus(s_log_r), minus(s1_log_y), plus(ry)]
        }
        "Cauchy" => {
            let (mu, sigma) = (a[0], a[1]);
            let log_pi = cx.call(Func::Log, pi);
            let log_sigma = cx.call(Func::Log, sigma);
            let r = cx.g.sub(y, mu);
            let r2 = cx.g.pow(r, two);
            let s2 = cx.g.pow(sigma, two);
            let ratio = cx.g.div(r2, s2);
            let inner = cx.g.add(one, ratio);
            let tail = cx.call(Func::Log, inner);
            vec![plus(log_pi), plus(log_sigma), plus(tail)]
        }
        "LogNormal" => {
            // The Normal's terms for log(y), then the Jacobian log(y).
            let (mu, sigma) = (a[0], a[1]);
            let log_y = cx.call(Func::Log, y);
            let log_sigma = cx.call(Func::Log, sigma);
            let two_pi = cx.g.mul(two, pi);
            let log_2pi = cx.call(Func::Log, two_pi);
            let c = cx.g.mul(half, log_2pi);
            let quad = quadratic(&mut cx.g, log_y, mu, sigma, two);
            vec![plus(log_sigma), plus(c), plus(quad), plus(log_y)]
        }
        "Weibull" => {
            let (k, lambda) = (a[0], a[1]);
            let log_k = cx.call(Func::Log, k);
            let log_lambda = cx.call(Func::Log, lambda);
            let k_log_lambda = mul_in_order(&mut cx.g, k, log_lambda);
            let k1 = cx.g.sub(k, one);
            let log_y = cx.call(Func::Log, y);
            let k1_log_y = mul_in_order(&mut cx.g, k1, log_y);
            let ratio = cx.g.div(y, lambda);
            let power = cx.g.pow(ratio, k);
            vec![
                minus(log_k),
                plus(k_log_lambda),
                minus(k1_log_y),
                plus(power),
            ]
        }
        "Beta" => {
            let (sa, sb) = (a[0], a[1]);
            let lg_a = cx.call(Func::Lgamma, sa);
            let lg_b = cx.call(Func::Lgamma, sb);
            let ab = add_in_order(&mut cx.g, sa, sb);
            let lg_ab = cx.call(Func::Lgamma, ab);
            let a1 = cx.g.sub(sa, one);
            let log_y = cx.call(Func::Log, y);
            let t_a = mul_in_order(&mut cx.g, a1, log_y);
            let b1 = cx.g.sub(sb, one);
            let neg_y = cx.g.neg(y);
            let log_1my = cx.call(Func::Log1p, neg_y);
            let t_b = mul_in_order(&mut cx.g, b1, log_1my);
            vec![plus(lg_a), plus(lg_b), minus(lg_ab), minus(t_a), minus(t_b)]
        }
        "Logistic" => {
            let (mu, s) = (a[0], a[1]);
            let log_s = cx.call(Func::Log, s);
            let r = cx.g.sub(y, mu);
            let z = cx.g.div(r, s);
            let neg_z = cx.g.neg(z);
            let sp = cx.call(Func::Softplus, neg_z);
            let two_sp = cx.g.mul(two, sp);
            vec![plus(log_s), plus(z), plus(two_sp)]
        }
        "Binomial" | "BinomialLogit" => {
            let n = a[0];
            let mut ts = neg_log_choose(cx, n, y);
            let eta = match (family.name, cx.g.node(a[1])) {
                ("BinomialLogit", _) => Some(a[1]),
                (_, Node::Unary(Func::Logistic, eta)) => Some(*eta),
                _ => None,
            };
            match eta {
                // log(p) = eta - softplus(eta), log(1 - p) = -softplus(eta).
                Some(eta) => {
                    let sp = cx.call(Func::Softplus, eta);
                    let n_sp = mul_in_order(&mut cx.g, n, sp);
                    let y_eta = mul_in_order(&mut cx.g, y, eta);
                    ts.extend([plus(n_sp), minus(y_eta)]);
                }
                None => {
                    let p = a[1];
                    let log_p = cx.call(Func::Log, p);
                    let y_log_p = mul_in_order(&mut cx.g, y, log_p);
                    let neg_p = cx.g.neg(p);
                    let log_q = cx.call(Func::Log1p, neg_p);
                    let n_y = cx.g.sub(n, y);
                    let fails = mul_in_order(&mut cx.g, n_y, log_q);
                    ts.extend([minus(y_log_p), minus(fails)]);
                }
            }
            ts
        }
        "Geometric" => {
            let p = a[0];
            let log_p = cx.call(Func::Log, p);
            let neg_p = cx.g.neg(p);
            let log_q = cx.call(Func::Log1p, neg_p);
            let y_log_q = mul_in_order(&mut cx.g, y, log_q);
            vec![minus(log_p), minus(y_log_q)]
        }
        // A family without a template: the caller says it cannot be
        // written out.
        _ => Vec::new(),
    }
}

/// (y - mu)^2 / (2 sigma^2)
pub fn quadratic(g: &mut Graph, y: NodeId, mu: NodeId, sigma: NodeId, two: NodeId) -> NodeId {
    let r = g.sub(y, mu);
    let r2 = g.pow(r, two);
    let s2 = g.pow(sigma, two);
    let den = g.mul(two, s2);
    g.div(r2, den)
}

/// log(y!) = lgamma(y + 1)
fn log_factorial(cx: &mut Ctx, y: NodeId) -> NodeId {
    let one = cx.g.constant(1.0);
    let y1 = cx.g.add(one, y);
    cx.call(Func::Lgamma, y1)
}

/// -log C(n, y) = log(y!) + log((n - y)!) - log(n!), as three terms.
fn neg_log_choose(cx: &mut Ctx, n: NodeId, y: NodeId) -> Vec<Term> {
    let fact_y = log_factorial(cx, y);
    let n_y = cx.g.sub(n, y);
    let fact_ny = log_factorial(cx, n_y);
    let fact_n = log_factorial(cx, n);
    // The printer writes lgamma(1 + u) as log(u!) only for a data name u;
    // so are n - y and n when they hold no parameter.
    for (u, fact) in [(n_y, fact_ny), (n, fact_n)] {
        if !cx.params_of(u).is_empty() || cx.g.as_const(fact).is_some() {
            continue;
        }
        let (plain, latex) = (cx.show(u, false), cx.show(u, true));
        let label = if plain.prec == Prec::Atom {
            Both::new(
                format!("log({}!)", plain.text),
                format!("\\log({}!)", latex.text),
            )
        } else {
            Both::new(
                format!("log(({})!)", plain.text),
                format!("\\log(\\left({}\\right)!)", latex.text),
            )
        };
        cx.label(fact, label, false);
    }
    vec![plus(fact_y), plus(fact_ny), minus(fact_n)]
}

/// y log(p) + (1 - y) log(1 - p), whose negative is the cross-entropy.
pub fn cross_entropy(cx: &mut Ctx, y: NodeId, p: NodeId) -> NodeId {
    let one = cx.g.constant(1.0);
    let log_p = cx.call(Func::Log, p);
    let t1 = mul_in_order(&mut cx.g, y, log_p);
    let q = cx.g.sub(one, p);
    let log_q = cx.call(Func::Log, q);
    let one_minus_y = cx.g.sub(one, y);
    let t2 = mul_in_order(&mut cx.g, one_minus_y, log_q);
    cx.g.add(t1, t2)
}

/// softplus(eta) - y eta: the Bernoulli with p = logistic(eta).
fn logit_terms(cx: &mut Ctx, y: NodeId, eta: NodeId) -> Vec<Term> {
    let sp = cx.call(Func::Softplus, eta);
    let y_eta = mul_in_order(&mut cx.g, y, eta);
    vec![plus(sp), minus(y_eta)]
}

/// -(y logPhi(eta) + (1 - y) logPhi(-eta)): the Bernoulli with
/// p = Phi(eta) and 1 - p = Phi(-eta).
fn probit_terms(cx: &mut Ctx, y: NodeId, eta: NodeId) -> Vec<Term> {
    let one = cx.g.constant(1.0);
    let lp = cx.call(Func::LogPhi, eta);
    let t1 = mul_in_order(&mut cx.g, y, lp);
    let neg_eta = cx.g.neg(eta);
    let lq = cx.call(Func::LogPhi, neg_eta);
    let one_minus_y = cx.g.sub(one, y);
    let t2 = mul_in_order(&mut cx.g, one_minus_y, lq);
    vec![minus(t1), minus(t2)]
}

/// The sum of signed terms as one node, written in their order.
fn total_in_order(g: &mut Graph, terms: &[Term]) -> NodeId {
    let mut acc = g.constant(0.0);
    for t in terms {
        acc = if t.minus {
            g.sub(acc, t.node)
        } else {
            add_in_order(g, acc, t.node)
        };
    }
    acc
}

/// One component of a compound distribution: its terms and their sum,
/// -log p_k(y).
pub struct Component {
    pub terms: Vec<Term>,
    pub total: NodeId,
}

/// The terms of a compound distribution, and the parts a reader is shown.
pub struct Compound {
    pub terms: Vec<Term>,
    pub components: Vec<Component>,
    /// The weights as probabilities (w and 1 - w; logistic(eta) and
    /// logistic(-eta); a softmax), for the textbook form.
    pub probs: Vec<NodeId>,
    /// Mixtures: log(w_k), the log-sum-exp and its items log(w_k) - l_k.
    pub log_weights: Vec<NodeId>,
    pub lse: Option<NodeId>,
    pub items: Vec<NodeId>,
    /// Zero inflation: the indicators [y = 0] and [y > 0], and -log p in
    /// each case.
    pub indicators: Option<(NodeId, NodeId)>,
    pub cases: Option<(NodeId, NodeId)>,
}

/// The terms of -log p(y) for a mixture or a zero-inflated distribution
/// with the given weight arguments and components (family and arguments).
///
/// Mixture: -log sum_k w_k p_k(y) = -LSE_k(log(w_k) - l_k(y)), one term.
/// Zero inflation, with D the count distribution and l_D = -log p_D(y):
///   y = 0:  -log(pi + (1 - pi) exp(-l_D)),
///   y > 0:  -(log(1 - pi) - l_D),
/// as two terms, each multiplied by the indicator of its case.
pub fn compound_terms(
    cx: &mut Ctx,
    kind: Kind,
    y: NodeId,
    weights: &[NodeId],
    components: &[(&'static Family, Vec<NodeId>)],
) -> Result<Compound, String> {
    let mut parts = Vec::new();
    for (family, args) in components {
        let terms = terms(cx, family, Obs::Value(y), args);
        if terms.is_empty() {
            return Err(format!(
                "the {} distribution has no written form yet",
                family.name
            ));
        }
        let total = total_in_order(&mut cx.g, &terms);
        parts.push(Component { terms, total });
    }
    let k = parts.len();
    let one = cx.g.constant(1.0);
    if kind == Kind::ZeroInflated {
        let [pi] = weights else {
            return Err("the zero-inflation probability must be a number".into());
        };
        let l = parts[0].total;
        // pi + (1 - pi) exp(-l_D)
        let q = cx.g.sub(one, *pi);
        let neg_l = cx.g.neg(l);
        let p_d = cx.call(Func::Exp, neg_l);
        let q_p = mul_in_order(&mut cx.g, q, p_d);
        let p0 = add_in_order(&mut cx.g, *pi, q_p);
        let log_p0 = cx.call(Func::Log, p0);
        // log(1 - pi) - l_D
        let neg_pi = cx.g.neg(*pi);
        let log_q = cx.call(Func::Log1p, neg_pi);
        let log_py = cx.g.sub(log_q, l);
        let sign = cx.call(Func::Sign, y);
        let zero = cx.g.sub(one, sign);
        let positive = cx.g.sub(one, zero);
        let t0 = mul_in_order(&mut cx.g, zero, log_p0);
        let t1 = mul_in_order(&mut cx.g, positive, log_py);
        let case0 = cx.g.neg(log_p0);
        let case1 = cx.g.neg(log_py);
        return Ok(Compound {
            terms: vec![minus(t0), minus(t1)],
            components: parts,
            probs: vec![*pi],
            log_weights: Vec::new(),
            lse: None,
            items: Vec::new(),
            indicators: Some((zero, positive)),
            cases: Some((case0, case1)),
        });
    }
    if !(weights.len() == k || (weights.len() == 1 && k == 2)) {
        return Err(format!(
            "a mixture of {k} components needs {k} weights (or one number for two components), found {}",
            weights.len()
        ));
    }
    let log_w = mixture::log_weights(&mut cx.g, kind, weights, k);
    let probs = match (kind, weights) {
        (Kind::Mixture, [w]) => vec![*w, cx.g.sub(one, *w)],
        (Kind::MixtureLogit, [eta]) => {
            let neg_eta = cx.g.neg(*eta);
            vec![
                cx.call(Func::Logistic, *eta),
                cx.call(Func::Logistic, neg_eta),
            ]
        }
        // The softmax, exp(eta_k - log(sum_j exp(eta_j))).
        (Kind::MixtureLogit, _) => log_w.iter().map(|lw| cx.call(Func::Exp, *lw)).collect(),
        (_, ws) => ws.to_vec(),
    };
    let items: Vec<NodeId> = log_w
        .iter()
        .zip(&parts)
        .map(|(lw, c)| cx.g.sub(*lw, c.total))
        .collect();
    let lse = cx.g.log_sum_exp(items.clone());
    Ok(Compound {
        terms: vec![minus(lse)],
        components: parts,
        probs,
        log_weights: log_w,
        lse: Some(lse),
        items,
        indicators: None,
        cases: None,
    })
}

/// The sum of signed terms as one node.
pub fn total(g: &mut Graph, terms: &[Term]) -> NodeId {
    let mut acc = g.constant(0.0);
    for t in terms {
        acc = if t.minus {
            g.sub(acc, t.node)
        } else {
            g.add(acc, t.node)
        };
    }
    acc
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::dist::{self, Support, FAMILIES};
    use crate::graph::{apply_binary, log_sum_exp};
    use crate::model::Model;

    use super::super::lower::LeafKind;

    /// The value of a node with the leaves set: parameter k to `params[k]`,
    /// the observation to `y`, every factor column to level `level`.
    fn eval(g: &Graph, id: NodeId, params: &HashMap<u32, f64>, y: f64, level: u32) -> f64 {
        let ev = |x: NodeId| eval(g, x, params, y, level);
        match g.node(id) {
            Node::Const(bits) => f64::from_bits(*bits),
            Node::Param(k) => params[k],
            Node::Data(_) => y,
            Node::Level { level: l, .. } => f64::from(u8::from(*l == level)),
            Node::Select { items, .. } => ev(items[level as usize]),
            Node::LogSumExp(items) => {
                log_sum_exp(&items.iter().map(|x| ev(*x)).collect::<Vec<_>>())
            }
            Node::Unary(f, a) => f.apply(ev(*a)),
            Node::Binary(op, a, b) => apply_binary(*op, ev(*a), ev(*b)),
            other => panic!("unexpected node {other:?}"),
        }
    }

    /// A test context: the graph, and the value of each leaf (pi is pi).
    struct Setup<'m> {
        cx: Ctx<'m>,
        values: HashMap<u32, f64>,
    }

    impl<'m> Setup<'m> {
        fn new(model: &'m Model) -> Setup<'m> {
            let cx = Ctx::new(model);
            let Node::Param(pi) = *cx.g.node(cx.pi) else {
                unreachable!()
            };
            let values = HashMap::from([(pi, std::f64::consts::PI)]);
            Setup { cx, values }
        }

        /// A new argument leaf with the given value.
        fn arg(&mut self, value: f64) -> NodeId {
            let id = self
                .cx
                .leaf(Both::new("a", "a"), Prec::Atom, LeafKind::Constant);
            let Node::Param(k) = *self.cx.g.node(id) else {
                unreachable!()
            };
            self.values.insert(k, value);
            id
        }

        /// Arguments inside the family's supports: a whole number of trials,
        /// probabilities below 1, positive scales.
        fn args_for(&mut self, family: &Family) -> Vec<NodeId> {
            family
                .arg_support
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let v = match s {
                        Support::Count => 5.0,
                        Support::UnitOpen | Support::UnitClosed => [0.35, 0.6, 0.2][i % 3],
                        _ => [0.35, 1.7, 2.4][i % 3],
                    };
                    self.arg(v)
                })
                .collect()
        }

        /// `mine` and `theirs` agree in value and in the derivative in every
        /// leaf of `args`.
        fn check(
            &mut self,
            mine: NodeId,
            theirs: NodeId,
            args: &[NodeId],
            y: f64,
            level: u32,
            what: &str,
        ) {
            let g = &mut self.cx.g;
            let a = eval(g, mine, &self.values, y, level);
            let b = eval(g, theirs, &self.values, y, level);
            assert!(b.is_finite(), "{what}: {b} at y = {y}");
            assert!(
                (a - b).abs() < 1e-12 * b.abs().max(1.0),
                "{what}: {a} vs {b} at y = {y}, level {level}"
            );
            for arg in args {
                let Node::Param(k) = *g.node(*arg) else {
                    unreachable!()
                };
                let da = g.diff(mine, k);
                let db = g.diff(theirs, k);
                let (da, db) = (
                    eval(g, da, &self.values, y, level),
                    eval(g, db, &self.values, y, level),
                );
                assert!(
                    (da - db).abs() < 1e-12 * db.abs().max(1.0),
                    "{what} d/d{k}: {da} vs {db} at y = {y}, level {level}"
                );
            }
        }
    }

    /// Observations to check at: whole numbers (counts, 0/1 outcomes,
    /// positive values) and a proportion.
    const YS: [f64; 4] = [1.0, 0.0, 3.0, 0.25];

    /// The templates add up to the densities the fit uses, and so do their
    /// derivatives in every argument.
    #[test]
    fn terms_match_the_fitted_densities() {
        let model = Model::default();
        for family in FAMILIES.iter().filter(|f| !f.variadic) {
            let mut s = Setup::new(&model);
            let y = s.cx.g.data(0);
            let args = s.args_for(family);
            let ts = terms(&mut s.cx, family, Obs::Value(y), &args);
            assert!(!ts.is_empty(), "{} has no written form", family.name);
            let mine = total(&mut s.cx.g, &ts);
            let theirs = family.neg_log_density(&mut s.cx.g, y, &args);
            for yv in YS.into_iter().filter(|v| family.support.contains(*v)) {
                s.check(mine, theirs, &args, yv, 0, family.name);
            }
        }
    }

    /// A probability written logistic(eta) or Phi(eta) gives the logit or
    /// probit form, as in the fit: finite and equal to it far into the tails.
    #[test]
    fn linked_probabilities_use_the_stable_forms() {
        let model = Model::default();
        for (name, link) in [
            ("Bernoulli", Func::Logistic),
            ("Bernoulli", Func::Phi),
            ("Binomial", Func::Logistic),
        ] {
            for eta_value in [0.35, -40.0, 40.0] {
                let family = dist::lookup(name).expect("a family");
                let mut s = Setup::new(&model);
                let y = s.cx.g.data(0);
                let eta = s.arg(eta_value);
                let p = s.cx.g.unary(link, eta);
                let mut args = vec![p];
                if name == "Binomial" {
                    args.insert(0, s.arg(5.0));
                }
                let ts = terms(&mut s.cx, family, Obs::Value(y), &args);
                let mine = total(&mut s.cx.g, &ts);
                let theirs = family.neg_log_density(&mut s.cx.g, y, &args);
                let what = format!("{name}({link:?}(eta)) at eta = {eta_value}");
                for yv in [0.0, 1.0] {
                    s.check(mine, theirs, &[eta], yv, 0, &what);
                }
            }
        }
    }

    /// Categorical and CategoricalLogit at each observed level.
    #[test]
    fn categorical_terms_match_the_fitted_densities() {
        let model = Model::default();
        for (name, values) in [
            ("Categorical", [0.2, 0.5, 0.3]),
            ("CategoricalLogit", [0.0, 1.7, -0.4]),
        ] {
            let family = dist::lookup(name).expect("a family");
            let mut s = Setup::new(&model);
            let args: Vec<NodeId> = values.iter().map(|v| s.arg(*v)).collect();
            let ts = terms(&mut s.cx, family, Obs::Level(0), &args);
            let mine = total(&mut s.cx.g, &ts);
            let theirs = match name {
                "Categorical" => dist::categorical(&mut s.cx.g, 0, &args),
                _ => dist::categorical_logit(&mut s.cx.g, 0, &args),
            };
            for level in 0..3 {
                s.check(mine, theirs, &args, 0.0, level, name);
            }
        }
    }

    /// Mixtures and zero inflation add up to the fitted compound densities,
    /// built as the compiler builds them from the components' densities.
    #[test]
    fn compound_terms_match_the_fitted_densities() {
        let model = Model::default();
        let cases: &[(Kind, &[f64], &[&str])] = &[
            (Kind::Mixture, &[0.35], &["Normal", "Normal"]),
            (
                Kind::Mixture,
                &[0.2, 0.5, 0.3],
                &["Normal", "Laplace", "StudentT"],
            ),
            (Kind::MixtureLogit, &[0.7], &["Poisson", "NegBinomial"]),
            (
                Kind::MixtureLogit,
                &[0.0, 1.7, -0.4],
                &["Cauchy", "Logistic", "Normal"],
            ),
            (Kind::Mixture, &[0.35], &["LogNormal", "Gamma"]),
            (Kind::ZeroInflated, &[0.35], &["Poisson"]),
            (Kind::ZeroInflated, &[0.35], &["NegBinomial"]),
            (Kind::ZeroInflated, &[0.35], &["Binomial"]),
            (Kind::ZeroInflated, &[0.35], &["Geometric"]),
        ];
        for (kind, weight_values, names) in cases {
            let mut s = Setup::new(&model);
            let y = s.cx.g.data(0);
            let weights: Vec<NodeId> = weight_values.iter().map(|v| s.arg(*v)).collect();
            let mut comps = Vec::new();
            for name in names.iter() {
                let family = dist::lookup(name).expect("a family");
                let args = s.args_for(family);
                comps.push((family, args));
            }
            let written = compound_terms(&mut s.cx, *kind, y, &weights, &comps).expect("a form");
            let mine = total(&mut s.cx.g, &written.terms);
            let nlls: Vec<NodeId> = comps
                .iter()
                .map(|(f, a)| f.neg_log_density(&mut s.cx.g, y, a))
                .collect();
            let theirs = match kind {
                Kind::ZeroInflated => {
                    mixture::zero_inflated_term(&mut s.cx.g, y, weights[0], nlls[0])
                }
                _ => {
                    let log_w = mixture::log_weights(&mut s.cx.g, *kind, &weights, comps.len());
                    mixture::mixture_term(&mut s.cx.g, &log_w, &nlls)
                }
            };
            let mut all: Vec<NodeId> = weights.clone();
            all.extend(comps.iter().flat_map(|(_, a)| a.iter().copied()));
            let what = format!("{kind:?} of {names:?}");
            for yv in YS
                .into_iter()
                .filter(|v| comps.iter().all(|(f, _)| f.support.contains(*v)))
            {
                s.check(mine, theirs, &all, yv, 0, &what);
            }
        }
    }
}
