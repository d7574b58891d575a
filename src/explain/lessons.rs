//! What each family's NLL teaches, in words with formulas from the graph.
//!
//! Which sentence applies is decided from the statement: whether sigma
//! varies by row, whether it shares parameters with mu, whether an argument
//! is a bare parameter, whether the statement is a prior.

use crate::graph::{Func, Node, NodeId, Prec};

use super::family;
use super::lower::{Ctx, LeafKind};
use super::text::{ident, m, w, Out, Piece};
use super::{Arg, Prepared};

fn show(cx: &Ctx, id: NodeId, latex: bool) -> String {
    cx.show(id, latex).text
}

/// True when the argument is one scalar parameter as declared.
fn bare_param(cx: &Ctx, a: &Arg) -> bool {
    match *cx.g.node(a.actual) {
        Node::Param(k) => matches!(cx.leaf_kind(k), Some(LeafKind::Param(_))),
        _ => false,
    }
}

/// d(-log p)/dp of the Bernoulli at the observation `y` (0 or 1), in a
/// probability named p_i (or p).
fn bernoulli_slope(cx: &mut Ctx, row: bool, y: f64, latex: bool) -> String {
    let name = ident("p", if row { &["i"] } else { &[] });
    let p = cx.leaf(name, Prec::Atom, LeafKind::Arg { row });
    let yv = cx.g.constant(y);
    let s = family::cross_entropy(cx, yv, p);
    let l = cx.g.neg(s);
    let Node::Param(k) = *cx.g.node(p) else {
        unreachable!()
    };
    let d = cx.g.diff(l, k);
    show(cx, d, latex)
}

pub fn lesson(cx: &mut Ctx, p: &Prepared, out: &mut Out) {
    let latex = p.latex;
    let y = p.y_name.get(latex).to_string();
    let two = cx.g.constant(2.0);
    let mut say: Vec<Vec<Piece>> = Vec::new();
    let name = if p.prior && !matches!(p.family.name, "Normal" | "Laplace") {
        "prior"
    } else {
        p.family.name
    };
    match name {
        "prior" => {
            say.push(vec![
                w("As a prior this adds "),
                m(format!("-{}", if latex { "\\log p" } else { "log p" })),
                w(" of "),
                m(y.clone()),
                w(" once: a penalty that is smallest where the density of "),
                m(y.clone()),
                w(" is highest."),
            ]);
        }
        "Normal" => {
            let (mu, sigma) = (&p.args[0], &p.args[1]);
            let quad = p.named[2].node;
            let log_sigma = p.named[0].node;
            if p.prior {
                let mut s = vec![
                    w("As a penalty, "),
                    m(show(cx, quad, latex)),
                    w(" is quadratic (ridge, L2): it pulls "),
                    m(y.clone()),
                    w(" toward "),
                    m(mu.name.get(latex)),
                    w(", harder the smaller "),
                    m(sigma.name.get(latex)),
                    w(" is."),
                ];
                if sigma.params.is_empty() {
                    s.push(w(" The other terms are constants."));
                }
                say.push(s);
            } else if !sigma.row {
                let shared = sigma.params.iter().any(|q| mu.params.contains(q));
                let sq = p.sum_over_rows(cx, quad);
                if shared {
                    say.push(vec![
                        w("Here "),
                        m(sigma.name.get(latex)),
                        w(" and "),
                        m(mu.name.get(latex)),
                        w(" share parameters, so the squared error "),
                        m(show(cx, sq, latex)),
                        w(" and the n log(sigma) term are traded off together."),
                    ]);
                } else {
                    let mut s = vec![
                        w("With "),
                        m(sigma.name.get(latex)),
                        w(" fixed, the NLL is, up to constants, "),
                        m(show(cx, sq, latex)),
                        w(": the squared error."),
                    ];
                    if !mu.params.is_empty() {
                        s.push(w(" So maximum likelihood for "));
                        s.extend(super::name_list(cx, &mu.params, latex));
                        s.push(w(" is least squares."));
                    }
                    say.push(s);
                }
                if bare_param(cx, sigma) {
                    // sigma^2 = (1/n) sum_i (y_i - mu_i)^2 at the optimum.
                    let y_node = p.y.unwrap_or(cx.n);
                    let r = cx.g.sub(y_node, mu.display);
                    let r2 = cx.g.pow(r, two);
                    let s = cx.g.intern(Node::Sum(r2));
                    let mean = cx.g.intern(Node::Binary(crate::graph::BinOp::Div, s, cx.n));
                    let s2 = cx.g.pow(sigma.display, two);
                    say.push(vec![
                        w("Setting the derivative in "),
                        m(sigma.name.get(latex)),
                        w(" to zero gives "),
                        m(format!(
                            "{} = {}",
                            show(cx, s2, latex),
                            show(cx, mean, latex)
                        )),
                        w(": the mean squared residual."),
                    ]);
                }
            } else {
                let sq = p.sum_over_rows(cx, quad);
                let sl = p.sum_over_rows(cx, log_sigma);
                let s2 = cx.g.pow(sigma.display, two);
                let log_s2 = cx.call(Func::Log, s2);
                let half = cx.g.constant(0.5);
                let half_log = cx.g.mul(half, log_s2);
                say.push(vec![
                    w("The weighted squared error "),
                    m(show(cx, sq, latex)),
                    w(" rewards fit, while "),
                    m(show(cx, sl, latex)),
                    w(" (each "),
                    m(format!(
                        "{} = {}",
                        show(cx, log_sigma, latex),
                        show(cx, half_log, latex)
                    )),
                    w(") penalises claimed uncertainty: a row with a large "),
                    m(sigma.name.get(latex)),
                    w(" counts less in the squared error but pays "),
                    m(show(cx, log_sigma, latex)),
                    w("."),
                ]);
            }
        }
        "Laplace" => {
            let (mu, b) = (&p.args[0], &p.args[1]);
            let scaled = p.named[1].node;
            if p.prior {
                say.push(vec![
                    w("As a penalty, "),
                    m(show(cx, scaled, latex)),
                    w(" is an absolute-value (lasso, L1) penalty pulling "),
                    m(y.clone()),
                    w(" toward "),
                    m(mu.name.get(latex)),
                    w("; unlike the quadratic one it can hold it exactly there."),
                ]);
            } else {
                let sa = p.sum_over_rows(cx, scaled);
                let fixed = if b.row {
                    w("The NLL's data term is ")
                } else {
                    w("")
                };
                let mut s = vec![];
                if b.row {
                    s.push(fixed);
                } else {
                    s.extend([
                        w("With "),
                        m(b.name.get(latex)),
                        w(" fixed, the NLL is, up to constants, "),
                    ]);
                }
                s.extend([
                    m(show(cx, sa, latex)),
                    w(": the absolute error. A residual counts in proportion to its size, not squared, \
                       so outliers pull the fit less; the best constant location is a median of the observations."),
                ]);
                say.push(s);
                let bn = b.name.get(latex);
                let (lo, hi) = if latex {
                    (
                        format!("-\\frac{{1}}{{{bn}}}"),
                        format!("\\frac{{1}}{{{bn}}}"),
                    )
                } else {
                    (format!("-1/{bn}"), format!("1/{bn}"))
                };
                say.push(vec![
                    w("The absolute value has a kink where the residual is 0: there the derivative in "),
                    m(mu.name.get(latex)),
                    w(" jumps between "),
                    m(lo),
                    w(" and "),
                    m(hi),
                    w(". The fit smooths the kink and shrinks the smoothing to nothing."),
                ]);
            }
        }
        "StudentT" => {
            let (nu, mu, sigma) = (&p.args[0], &p.args[1], &p.args[2]);
            let tail = p.named[4].node;
            let y_node = p.y.unwrap_or(cx.n);
            let quad = family::quadratic(&mut cx.g, y_node, mu.display, sigma.display, two);
            say.push(vec![
                w("The residual enters only through "),
                m(show(cx, tail, latex)),
                w(", which grows like the logarithm of the squared residual: an outlier costs little, so it pulls "),
                m(mu.name.get(latex)),
                w(" less than under the Normal. As "),
                m(nu.name.get(latex)),
                w(" grows this term tends to "),
                m(show(cx, quad, latex)),
                w(", the Normal's squared error."),
            ]);
        }
        "Poisson" => {
            let rate = &p.args[0];
            let dev = cx.g.sub(p.named[0].node, p.named[1].node);
            let sd = p.sum_over_rows(cx, dev);
            let sf = p.sum_over_rows(cx, p.named[2].node);
            let mut s = vec![];
            if let Some((_, _)) = rate.link {
                s.extend([
                    w("With "),
                    m(format!(
                        "{} = {}",
                        rate.name.get(latex),
                        show(cx, rate.display, latex)
                    )),
                    w(", log of the rate is "),
                    m(rate.sym_name.get(latex)),
                    w(" itself, so the NLL is, up to constants, "),
                ]);
            } else {
                s.push(w("Up to constants, the NLL is "));
            }
            s.extend([
                m(show(cx, sd, latex)),
                w(": the Poisson deviance up to constants; "),
            ]);
            s.extend([
                m(show(cx, sf, latex)),
                w(" does not depend on the parameters."),
            ]);
            say.push(s);
            if rate.link.is_some() {
                let eta = rate.sym;
                let Node::Param(k) = *cx.g.node(eta) else {
                    unreachable!()
                };
                let d = cx.g.diff(dev, k);
                say.push(vec![
                    w("It is convex in "),
                    m(rate.sym_name.get(latex)),
                    w(", and its derivative "),
                    m(show(cx, d, latex)),
                    w(" is the predicted count minus the observed one."),
                ]);
            }
        }
        "NegBinomial" => {
            let (mu, phi) = (&p.args[0], &p.args[1]);
            let mu2 = cx.g.pow(mu.display, two);
            let q = cx.g.div(mu2, phi.display);
            let var = cx.g.add(mu.display, q);
            let y_node = p.y.unwrap_or(cx.n);
            let log_mu = cx.call(Func::Log, mu.display);
            let ylm = family::mul_in_order(&mut cx.g, y_node, log_mu);
            let pois = cx.g.sub(mu.display, ylm);
            let sp = p.sum_over_rows(cx, pois);
            let sf = p.sum_over_rows(cx, p.named[1].node);
            say.push(vec![
                w("The variance is "),
                m(show(cx, var, latex)),
                w(": "),
                m(phi.name.get(latex)),
                w(" measures overdispersion, strong when it is small. As it grows the NLL tends to the Poisson's, "),
                m(show(cx, sp, latex)),
                w(" up to constants. "),
                m(show(cx, sf, latex)),
                w(" does not depend on the parameters."),
            ]);
        }
        "Bernoulli" | "BernoulliLogit" => {
            let row = p.args[0].row;
            let one = bernoulli_slope(cx, row, 1.0, latex);
            let zero = bernoulli_slope(cx, row, 0.0, latex);
            say.push(vec![
                w("This is the cross-entropy (log loss). In the probability p its derivative is "),
                m(one),
                w(" for an observed 1 and "),
                m(zero),
                w(
                    " for an observed 0: it explodes when the model is confidently wrong \
                   (p near 0 for a 1, near 1 for a 0).",
                ),
            ]);
            if super::bernoulli_link(p) == Some(Func::Logistic) {
                let eta = &p.args[0];
                let l = super::family::total(&mut cx.g, &p.named);
                let Node::Param(k) = *cx.g.node(eta.sym) else {
                    unreachable!()
                };
                let d = cx.g.diff(l, k);
                say.push(vec![
                    w("On the logit scale the derivative in "),
                    m(eta.sym_name.get(latex)),
                    w(" is "),
                    m(show(cx, d, latex)),
                    w(", the predicted probability minus the outcome: it stays between -1 and 1."),
                ]);
            }
        }
        "CategoricalLogit" => {
            let pn = super::text::Both::new(
                format!("p_{{{}}}", p.y_name.plain),
                format!("p_{{{}}}", p.y_name.latex),
            );
            let leaf = cx.leaf(pn.clone(), Prec::Atom, LeafKind::Arg { row: true });
            let lg = cx.call(Func::Log, leaf);
            let l = cx.g.neg(lg);
            let Node::Param(k) = *cx.g.node(leaf) else {
                unreachable!()
            };
            let d = cx.g.diff(l, k);
            let reference = p
                .args
                .iter()
                .position(|a| cx.g.as_const(a.actual).is_some());
            let mut s = vec![
                w("This is the cross-entropy of a softmax (log loss): "),
                m(p.l_name.get(latex)),
                w(" is minus the log of the probability "),
                m(pn.get(latex)),
                w(" that the model gives the observed level. In that probability its derivative is "),
                m(show(cx, d, latex)),
                w(", which explodes when the model is confidently wrong."),
            ];
            match reference {
                Some(i) => s.push(w(format!(
                    " Only differences between the arguments matter; argument {} is fixed as the reference.",
                    i + 1
                ))),
                None => s.push(w(" Only differences between the arguments matter: fix one at 0 as the reference.")),
            }
            say.push(s);
        }
        "Exponential" => {
            let rate = &p.args[0];
            let mut s = vec![
                w("The term "),
                m(show(cx, p.named[1].node, latex)),
                w(" rewards a small rate and "),
                m(format!("-{}", show(cx, p.named[0].node, latex))),
                w(" a large one."),
            ];
            if bare_param(cx, rate) && !p.prior {
                s.push(w(" With one rate for all rows, the optimum is n over the sum of the observations: one over their mean."));
            }
            say.push(s);
        }
        "Gamma" => {
            let (shape, rate) = (&p.args[0], &p.args[1]);
            let in_rate = cx.g.sub(p.named[3].node, p.named[1].node);
            say.push(vec![
                m(format!("-{}", show(cx, p.named[2].node, latex))),
                w(" does not depend on "),
                m(rate.name.get(latex)),
                w(". With "),
                m(shape.name.get(latex)),
                w(" fixed, the NLL in the rate is, per row and up to constants, "),
                m(show(cx, in_rate, latex)),
                w(": the Exponential's, with the log of the rate weighted by the shape."),
            ]);
        }
        _ => {}
    }
    if say.is_empty() {
        return;
    }
    out.label("What it means");
    for s in &say {
        out.say(s);
    }
}
