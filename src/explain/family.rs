//! Each family's negative log-density as the terms a textbook writes, and
//! what the family teaches about its loss.
//!
//! The terms are built as graph expressions of the observation and the
//! arguments, so the same template serves the per-row formula (arguments as
//! names), the NLL (arguments written out) and the derivatives (`Graph::diff`
//! of the sum of the terms). A test checks that the terms add up to the
//! density the fit uses (`dist::Family::neg_log_density`), in value and in
//! every derivative.

use crate::dist::Family;
use crate::graph::{BinOp, Func, Graph, Node, NodeId};

use super::lower::Ctx;

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
            vec![minus(cross_entropy(cx, y, p))]
        }
        "BernoulliLogit" => logit_terms(cx, y, a[0]),
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
    use super::*;
    use crate::dist::FAMILIES;
    use crate::graph::apply_binary;
    use crate::model::Model;

    fn eval(g: &Graph, id: NodeId, params: &dyn Fn(u32) -> f64, y: f64) -> f64 {
        match g.node(id) {
            Node::Const(bits) => f64::from_bits(*bits),
            Node::Param(k) => params(*k),
            Node::Data(_) => y,
            Node::Unary(f, a) => f.apply(eval(g, *a, params, y)),
            Node::Binary(op, a, b) => {
                apply_binary(*op, eval(g, *a, params, y), eval(g, *b, params, y))
            }
            other => panic!("unexpected node {other:?}"),
        }
    }

    /// The templates add up to the densities the fit uses, and so do their
    /// derivatives in every argument.
    #[test]
    fn terms_match_the_fitted_densities() {
        let model = Model::default();
        for family in FAMILIES.iter().filter(|f| !f.variadic) {
            let mut cx = Ctx::new(&model);
            let y = cx.g.data(0);
            let args: Vec<NodeId> = (0..family.args.len())
                .map(|_| {
                    cx.leaf(
                        super::super::text::Both::new("a", "a"),
                        crate::graph::Prec::Atom,
                        super::super::lower::LeafKind::Constant,
                    )
                })
                .collect();
            let ts = terms(&mut cx, family, Obs::Value(y), &args);
            if ts.is_empty() {
                // No written form yet: explain says so instead of a formula.
                continue;
            }
            let mine = total(&mut cx.g, &ts);
            let theirs = family.neg_log_density(&mut cx.g, y, &args);
            let pi_k = match cx.g.node(cx.pi) {
                Node::Param(k) => *k,
                _ => unreachable!(),
            };
            // Values inside every support: y = 1 is a count, a 0/1 outcome
            // and positive; the arguments are positive, p below 1.
            let values = [0.35, 1.7, 2.4];
            let value = |k: u32| {
                if k == pi_k {
                    std::f64::consts::PI
                } else {
                    values[(k as usize - 1) % 3]
                }
            };
            for yv in [1.0, 0.0, 3.0] {
                if !family.support.contains(yv) {
                    continue;
                }
                let a = eval(&cx.g, mine, &value, yv);
                let b = eval(&cx.g, theirs, &value, yv);
                assert!(
                    (a - b).abs() < 1e-12 * b.abs().max(1.0),
                    "{}: {a} vs {b} at y = {yv}",
                    family.name
                );
                for arg in &args {
                    let Node::Param(k) = *cx.g.node(*arg) else {
                        unreachable!()
                    };
                    let da = cx.g.diff(mine, k);
                    let db = cx.g.diff(theirs, k);
                    let (da, db) = (eval(&cx.g, da, &value, yv), eval(&cx.g, db, &value, yv));
                    assert!(
                        (da - db).abs() < 1e-12 * db.abs().max(1.0),
                        "{} d/d{k}: {da} vs {db}",
                        family.name
                    );
                }
            }
        }
    }
}
