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

/// Math given in both forms.
fn mt(latex: bool, plain: &str, tex: &str) -> Piece {
    m(if latex { tex } else { plain })
}

/// Pieces joined as "a, b and c".
fn listed(items: Vec<Vec<Piece>>) -> Vec<Piece> {
    let n = items.len();
    let mut out = Vec::new();
    for (k, item) in items.into_iter().enumerate() {
        if k > 0 {
            out.push(w(if k + 1 == n { " and " } else { ", " }));
        }
        out.extend(item);
    }
    out
}

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

/// The derivatives of the probit Bernoulli in eta at an observed 1 and 0,
/// and how its tails differ from the logit's.
fn probit_slopes(cx: &mut Ctx, p: &Prepared, latex: bool) -> Vec<Piece> {
    let eta = &p.args[0];
    let row = eta.row;
    let name = ident("eta", if row { &["i"] } else { &[] });
    let leaf = cx.leaf(name.clone(), Prec::Atom, LeafKind::Arg { row });
    let Node::Param(k) = *cx.g.node(leaf) else {
        unreachable!()
    };
    let mut slope = |y: f64| {
        let lp = cx.call(Func::LogPhi, leaf);
        let neg = cx.g.neg(leaf);
        let lq = cx.call(Func::LogPhi, neg);
        let l = if y == 1.0 { cx.g.neg(lp) } else { cx.g.neg(lq) };
        let d = cx.g.diff(l, k);
        show(cx, d, latex)
    };
    let one = slope(1.0);
    let zero = slope(0.0);
    let en = name.get(latex);
    let abs = format!("|{}|", en);
    let abs_tex = format!("\\lvert {} \\rvert", en);
    vec![
        w("On the probit scale the derivative in "),
        m(en),
        w(" is "),
        m(one),
        w(" for an observed 1 and "),
        m(zero),
        w(" for an observed 0, where "),
        mt(
            latex,
            "inv_mills(u) = phi(u)/Phi(u)",
            "\\operatorname{inv\\_mills}(u) = \\varphi(u)/\\operatorname{Phi}(u)",
        ),
        w(", with "),
        mt(latex, "phi", "\\varphi"),
        w(" the standard normal density, is the derivative of "),
        mt(latex, "logPhi(u)", "\\operatorname{logPhi}(u)"),
        w(". For a confidently wrong prediction it grows like "),
        m(if latex { abs_tex.clone() } else { abs.clone() }),
        w(" without bound, where the logit's stays between -1 and 1. The cost of such a mistake, "),
        m(if latex {
            format!("-\\operatorname{{logPhi}}(-{abs_tex})")
        } else {
            format!("-logPhi(-{abs})")
        }),
        w(", grows like "),
        m(format!("{en}^2/2")),
        w(" against the logit's "),
        m(if latex {
            format!("\\operatorname{{softplus}}({abs_tex})")
        } else {
            format!("softplus({abs})")
        }),
        w(", about "),
        m(if latex { abs_tex.clone() } else { abs.clone() }),
        w(": the normal's thin tails make the probit punish a confident mistake quadratically and the logit \
           only linearly, so a single mislabelled row pulls a probit fit harder."),
    ]
}

/// Mixtures: several plausible answers, the log-sum-exp, the
/// responsibilities and label switching.
fn mixture_lesson(cx: &mut Ctx, p: &Prepared, c: &super::CompoundView, say: &mut Vec<Vec<Piece>>) {
    let latex = p.latex;
    let mut from = Vec::new();
    let mut bound = Vec::new();
    for ((comp, prob), (part, log_w)) in c
        .components
        .iter()
        .zip(&c.form.probs)
        .zip(c.form.components.iter().zip(&c.form.log_weights))
    {
        from.push(vec![
            m(comp.p_name.get(latex)),
            w(" with probability "),
            m(show(cx, *prob, latex)),
        ]);
        let b = cx.g.sub(part.total, *log_w);
        bound.push(vec![m(show(cx, b, latex))]);
    }
    let mut s = vec![w(
        "A mixture is for data with several plausible answers: each row comes from ",
    )];
    s.extend(listed(from));
    s.push(w(
        ", and its density is the weighted sum of theirs. So a row costs little when any one component \
         explains it well: ",
    ));
    s.push(m(p.l_name.get(latex)));
    s.push(w(" is at most each of "));
    s.extend(listed(bound));
    s.push(w("."));
    say.push(s);
    let several = super::weight_count(p, c) > 1;
    match (c.kind, several) {
        (crate::dist::mixture::Compound::Mixture, true) => say.push(vec![w(
            "The weights are used as given, neither checked nor normalised: the model must keep them \
             positive and make them sum to 1.",
        )]),
        (crate::dist::mixture::Compound::MixtureLogit, true) => say.push(vec![w(
            "The weights are a softmax: only differences between its arguments matter, so fix one at 0 \
             as the reference.",
        )]),
        (crate::dist::mixture::Compound::MixtureLogit, false) => {
            let eta = &p.args[0];
            let logs: Vec<Vec<Piece>> = c
                .form
                .log_weights
                .iter()
                .map(|lw| vec![m(show(cx, *lw, latex))])
                .collect();
            let mut s = vec![
                w("The weights are on the logit scale: "),
                m(eta.name.get(latex)),
                w(" is the log-odds of component 1 against component 2 and may be any real number. \
                   The logs of the weights are "),
            ];
            s.extend(listed(logs));
            s.push(w(", finite for any value."));
            say.push(s);
        }
        _ => {}
    }
    let items: Vec<Vec<Piece>> = c
        .form
        .items
        .iter()
        .map(|i| vec![m(show(cx, *i, latex))])
        .collect();
    let mut s = vec![
        w("Each "),
        mt(latex, "exp(-l_{k,i})", "\\exp(-\\ell_{k,i})"),
        w(" underflows to 0 in double precision once "),
        mt(latex, "l_{k,i}", "\\ell_{k,i}"),
        w(" passes about 745, which a far outlier reaches easily. The fit therefore evaluates the \
           log-sum-exp of "),
    ];
    s.extend(listed(items));
    s.extend([
        w(" with the largest item taken out, "),
        mt(
            latex,
            "log(exp(u) + exp(v)) = max(u, v) + log(1 + exp(-|u - v|))",
            "\\log(e^u + e^v) = \\max(u, v) + \\log(1 + e^{-\\lvert u - v \\rvert})",
        ),
        w(", which never underflows or overflows."),
    ]);
    say.push(s);
    let mut s = vec![w(
        "Label switching: exchanging the components together with their weights gives the same NLL, so each \
         optimum comes with copies, one per ordering of the components. An order constraint, such as a \
         second mean written as the first plus a positive gap, keeps one of them.",
    )];
    // A location-scale component whose scale is free can put all its mass
    // on one observation.
    let mut at = super::weight_count(p, c);
    let mut collapses = false;
    for k in &c.components {
        if let (Some(j), true) = (k.family.scale_arg, k.family.location_arg().is_some()) {
            collapses |= !p.args[at + j].params.is_empty();
        }
        at += k.family.args.len();
    }
    if collapses {
        s.push(w(
            " The NLL is not convex and can have further local optima; it is even unbounded below, since a \
             component centred on a single observation with its scale shrinking to 0 sends it to minus \
             infinity. The fit finds a local optimum, so the start values matter.",
        ));
    } else {
        s.push(w(
            " The NLL is not convex and can have further local optima, so the start values matter.",
        ));
    }
    say.push(s);
}

/// Zero inflation: extra zeros, and what each case costs.
fn zero_inflated_lesson(
    cx: &mut Ctx,
    p: &Prepared,
    c: &super::CompoundView,
    say: &mut Vec<Vec<Piece>>,
) {
    let latex = p.latex;
    let Some((case0, case1)) = c.form.cases else {
        return;
    };
    let comp = &c.components[0];
    let pi = &p.args[0];
    // log(pi) and log(1 - pi) - l_D: the items of the log-sum-exp the fit uses.
    let log_pi = cx.call(Func::Log, pi.display);
    let neg_pi = cx.g.neg(pi.display);
    let log_q = cx.call(Func::Log1p, neg_pi);
    let item = cx.g.sub(log_q, c.form.components[0].total);
    let price = cx.g.neg(log_q);
    say.push(vec![
        w("Zero inflation adds extra zeros: with probability "),
        m(pi.name.get(latex)),
        w(" a row is a zero whatever "),
        m(comp.p_name.get(latex)),
        w(" says, and otherwise it follows "),
        m(comp.p_name.get(latex)),
        w(format!(
            ", the {}. A zero can come from either source and costs ",
            comp.family.name
        )),
        m(show(cx, case0, latex)),
        w("; a positive count comes only from "),
        m(comp.p_name.get(latex)),
        w(" and costs "),
        m(show(cx, case1, latex)),
        w(": its own NLL plus "),
        m(show(cx, price, latex)),
        w(" for not being an extra zero."),
    ]);
    say.push(vec![
        w("The fit evaluates the zero case as the log-sum-exp of "),
        m(show(cx, log_pi, latex)),
        w(" and "),
        m(show(cx, item, latex)),
        w(", which never underflows. If the data have no more zeros than "),
        m(comp.p_name.get(latex)),
        w(" predicts, the estimate of "),
        m(pi.name.get(latex)),
        w(" goes to 0, the edge of its range."),
    ]);
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
        "Bernoulli" | "BernoulliLogit" | "BernoulliProbit" => {
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
            let link = super::bernoulli_link(p);
            if link == Some(Func::Phi) {
                say.push(probit_slopes(cx, p, latex));
            }
            if link == Some(Func::Logistic) {
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
        "Categorical" => {
            let pn = super::chosen_name(p.family, &p.y_name);
            let leaf = cx.leaf(pn.clone(), Prec::Atom, LeafKind::Arg { row: true });
            let lg = cx.call(Func::Log, leaf);
            let l = cx.g.neg(lg);
            let Node::Param(k) = *cx.g.node(leaf) else {
                unreachable!()
            };
            let d = cx.g.diff(l, k);
            say.push(vec![
                w("This is the cross-entropy (log loss) with the probabilities given directly: "),
                m(p.l_name.get(latex)),
                w(" is minus the log of the probability "),
                m(pn.get(latex)),
                w(" that the model gives the observed level. In that probability its derivative is "),
                m(show(cx, d, latex)),
                w(", which explodes when the model is confidently wrong."),
            ]);
            say.push(vec![w(
                "The probabilities are used as given, neither checked nor normalised: the model \
                 must keep them positive and make them sum to 1, which CategoricalLogit does with a softmax.",
            )]);
        }
        "Cauchy" => {
            let mu = &p.args[0];
            let tail = p.named[2].node;
            let y_node = p.y.unwrap_or(cx.n);
            let r = cx.g.sub(y_node, mu.display);
            let abs = cx.call(Func::Abs, r);
            let log_abs = cx.call(Func::Log, abs);
            let grows = cx.g.mul(two, log_abs);
            say.push(vec![
                w("The residual enters only through "),
                m(show(cx, tail, latex)),
                w(", which grows like "),
                m(show(cx, grows, latex)),
                w(": the tails are heavy, so an outlier costs little and pulls "),
                m(mu.name.get(latex)),
                w(" far less than under the Normal. This is the Student-t with one degree of freedom: \
                   its mean and variance do not exist, and "),
                m(mu.name.get(latex)),
                w(" is the median."),
            ]);
            say.push(vec![
                w("Unlike the squared error, this term is not convex in "),
                m(mu.name.get(latex)),
                w(": with outliers on both sides the NLL can have several local minima."),
            ]);
        }
        "Logistic" => {
            let (mu, s) = (&p.args[0], &p.args[1]);
            let both = cx.g.add(p.named[1].node, p.named[2].node);
            let y_node = p.y.unwrap_or(cx.n);
            let r = cx.g.sub(y_node, mu.display);
            let r2 = cx.g.pow(r, two);
            let four = cx.g.constant(4.0);
            let s2 = cx.g.pow(s.display, two);
            let four_s2 = cx.g.mul(four, s2);
            let small = cx.g.div(r2, four_s2);
            let c2 = cx.g.constant(2.0);
            let log2 = cx.call(Func::Log, c2);
            let two_log2 = cx.g.mul(two, log2);
            let near = family::add_in_order(&mut cx.g, two_log2, small);
            let abs = cx.call(Func::Abs, r);
            let large = cx.g.div(abs, s.display);
            let neg_large = cx.g.neg(large);
            let tail = cx.call(Func::Exp, neg_large);
            say.push(vec![
                w("The residual enters through "),
                m(show(cx, both, latex)),
                w(". For a small residual this is about "),
                m(show(cx, near, latex)),
                w(", a squared error, and for a large one it tends to "),
                m(show(cx, large, latex)),
                w(", an absolute error: an outlier pulls "),
                m(mu.name.get(latex)),
                w(" less than under the Normal, while the loss stays smooth and convex in "),
                m(mu.name.get(latex)),
                w(". The density falls like "),
                m(show(cx, tail, latex)),
                w(": heavier tails than the Normal's, lighter than the Cauchy's."),
            ]);
        }
        "LogNormal" => {
            let (mu, sigma) = (&p.args[0], &p.args[1]);
            let jac = p.named[3].node;
            let sj = p.sum_over_rows(cx, p.named[3].node);
            say.push(vec![
                w("This is the Normal's NLL for "),
                m(show(cx, jac, latex)),
                w(" plus the Jacobian term "),
                m(show(cx, jac, latex)),
                w(": the density of y is that of log(y) times "),
                mt(
                    latex,
                    "|d log(y)/dy| = 1/y",
                    "\\lvert d \\log(y)/dy \\rvert = 1/y",
                ),
                w(". The Jacobian term is data only, so the estimates are those of "),
                mt(
                    latex,
                    "log(y) ~ Normal(mu, sigma)",
                    "\\log(y) \\sim \\operatorname{Normal}(\\mu, \\sigma)",
                ),
                w("; it shifts the NLL by "),
                m(show(cx, sj, latex)),
                w(", which matters when the NLL is compared with that of another model of y."),
            ]);
            if !sigma.row && !p.prior {
                let sq = p.sum_over_rows(cx, p.named[2].node);
                let mut s = vec![
                    w("With "),
                    m(sigma.name.get(latex)),
                    w(" fixed, the NLL is, up to constants, "),
                    m(show(cx, sq, latex)),
                    w(": the squared error on the log scale."),
                ];
                if !mu.params.is_empty() {
                    s.push(w(" So maximum likelihood for "));
                    s.extend(super::name_list(cx, &mu.params, latex));
                    s.extend([w(" is least squares on "), m(show(cx, jac, latex)), w(".")]);
                }
                say.push(s);
            }
        }
        "Weibull" => {
            let (k, lambda) = (&p.args[0], &p.args[1]);
            let y_node = p.y.unwrap_or(cx.n);
            let one = cx.g.constant(1.0);
            let ratio = cx.g.div(y_node, lambda.display);
            let k1 = cx.g.sub(k.display, one);
            let power = cx.g.pow(ratio, k1);
            let k_over = cx.g.div(k.display, lambda.display);
            let hazard = family::mul_in_order(&mut cx.g, k_over, power);
            let neg_log_h = family::total(&mut cx.g, &p.named[..3]);
            let kn = k.name.get(latex).to_string();
            say.push(vec![
                w("The hazard at "),
                m(y.clone()),
                w(", the rate of the event at that time among those still waiting for it, is "),
                m(show(cx, hazard, latex)),
                w(": it falls with time for "),
                m(format!("{kn} < 1")),
                w(", is constant for "),
                m(format!("{kn} = 1")),
                w(" (the Exponential with rate "),
                m(format!("1/{}", lambda.name.get(latex))),
                w(") and rises for "),
                m(format!("{kn} > 1")),
                w("."),
            ]);
            say.push(vec![
                w("Per row the NLL is the cumulative hazard "),
                m(show(cx, p.named[3].node, latex)),
                w(", which charges for the time survived, minus the log of the hazard at the event, \
                   which enters as "),
                m(show(cx, neg_log_h, latex)),
                w(": a high hazard is penalised before the event and rewarded at it."),
            ]);
        }
        "Beta" => {
            let (a, b) = (&p.args[0], &p.args[1]);
            let ab = family::add_in_order(&mut cx.g, a.display, b.display);
            let mean = cx.g.div(a.display, ab);
            let norm = family::total(&mut cx.g, &p.named[..3]);
            say.push(vec![
                w("A model for proportions strictly between 0 and 1. The observation enters only through "),
                m(show(cx, p.named[3].node, latex)),
                w(" and "),
                m(show(cx, p.named[4].node, latex)),
                w(": raising "),
                m(a.name.get(latex)),
                w(" favours values near 1 and raising "),
                m(b.name.get(latex)),
                w(" values near 0; the mean is "),
                m(show(cx, mean, latex)),
                w(". "),
                m(show(cx, norm, latex)),
                w(" is the log of the Beta function that normalises the density. An observation of \
                   exactly 0 or 1 would need the log of 0: it is outside the support."),
            ]);
            say.push(vec![
                w("Written as "),
                mt(latex, "a = mu*phi", "a = \\mu\\,\\phi"),
                w(" and "),
                mt(latex, "b = (1 - mu)*phi", "b = (1 - \\mu)\\,\\phi"),
                w(", the mean is "),
                mt(latex, "mu", "\\mu"),
                w(" and the variance "),
                mt(
                    latex,
                    "mu*(1 - mu)/(1 + phi)",
                    "\\frac{\\mu\\,(1 - \\mu)}{1 + \\phi}",
                ),
                w(": "),
                mt(latex, "phi", "\\phi"),
                w(" is a precision, and a larger one means less spread around the mean."),
            ]);
        }
        "Binomial" | "BinomialLogit" => {
            let (n, second) = (&p.args[0], &p.args[1]);
            let y_node = p.y.unwrap_or(cx.n);
            let pn = ident("p", if second.row { &["i"] } else { &[] });
            let pl = cx.leaf(pn.clone(), Prec::Atom, LeafKind::Arg { row: second.row });
            let log_p = cx.call(Func::Log, pl);
            let succ = family::mul_in_order(&mut cx.g, y_node, log_p);
            let neg_p = cx.g.neg(pl);
            let log_q = cx.call(Func::Log1p, neg_p);
            let n_y = cx.g.sub(n.display, y_node);
            let fails = family::mul_in_order(&mut cx.g, n_y, log_q);
            let ll = cx.g.add(succ, fails);
            let ce = cx.g.neg(ll);
            let Node::Param(k) = *cx.g.node(pl) else {
                unreachable!()
            };
            let d = cx.g.diff(ce, k);
            let prop = cx.g.div(y_node, n.display);
            let choose = family::total(&mut cx.g, &p.named[..3]);
            let mut s = vec![
                w("This is the cross-entropy of "),
                m(n.name.get(latex)),
                w(" trials: "),
                m(show(cx, ce, latex)),
                w(" counts "),
                m(y.clone()),
                w(" successes at "),
                m(format!("-{}", show(cx, log_p, latex))),
                w(" each and the failures at "),
                m(format!("-{}", show(cx, log_q, latex))),
                w(" each, as that many Bernoulli outcomes would. Its derivative in "),
                m(pn.get(latex)),
                w(", "),
                m(show(cx, d, latex)),
                w(", is zero at "),
                m(format!("{} = {}", pn.get(latex), show(cx, prop, latex))),
                w(", the observed proportion."),
            ];
            if bare_param(cx, second) && !p.prior {
                let y_node = p.y.unwrap_or(cx.n);
                let sy = cx.g.intern(Node::Sum(y_node));
                let sn = if n.row {
                    cx.g.intern(Node::Sum(n.display))
                } else {
                    cx.g.intern(Node::Binary(crate::graph::BinOp::Mul, cx.n, n.display))
                };
                let pooled = cx.g.intern(Node::Binary(crate::graph::BinOp::Div, sy, sn));
                s.extend([
                    w(" With one "),
                    m(second.name.get(latex)),
                    w(" for all rows, the optimum is "),
                    m(format!(
                        "{} = {}",
                        second.name.get(latex),
                        show(cx, pooled, latex)
                    )),
                    w(": the proportion of successes over all trials."),
                ]);
            }
            if p.actual[..3]
                .iter()
                .all(|t| cx.params_of(t.node).is_empty())
            {
                s.extend([
                    w(" "),
                    m(show(cx, choose, latex)),
                    w(", minus the log of the binomial coefficient, does not depend on the parameters."),
                ]);
            }
            say.push(s);
            if p.family.name == "BinomialLogit" || second.link.is_some() {
                let l = family::total(&mut cx.g, &p.named);
                let Node::Param(k) = *cx.g.node(second.sym) else {
                    unreachable!()
                };
                let d = cx.g.diff(l, k);
                say.push(vec![
                    w("On the logit scale the derivative in "),
                    m(second.sym_name.get(latex)),
                    w(" is "),
                    m(show(cx, d, latex)),
                    w(", the predicted number of successes minus the observed one."),
                ]);
            }
        }
        "Geometric" => {
            let prob = &p.args[0];
            let neg_p = cx.g.neg(prob.display);
            let log_q = cx.call(Func::Log1p, neg_p);
            let fail = cx.g.neg(log_q);
            let log_p = cx.call(Func::Log, prob.display);
            let succ = cx.g.neg(log_p);
            let mut s = vec![
                w("Each row is "),
                m(y.clone()),
                w(" failures, each costing "),
                m(show(cx, fail, latex)),
                w(", before one success, costing "),
                m(show(cx, succ, latex)),
                w(": a small "),
                m(prob.name.get(latex)),
                w(" makes long runs of failures cheap and the success dear."),
            ];
            if bare_param(cx, prob) && !p.prior {
                let y_node = p.y.unwrap_or(cx.n);
                let sy = cx.g.intern(Node::Sum(y_node));
                let den = cx.g.add(cx.n, sy);
                let opt =
                    cx.g.intern(Node::Binary(crate::graph::BinOp::Div, cx.n, den));
                s.extend([
                    w(" With one "),
                    m(prob.name.get(latex)),
                    w(" for all rows, setting the derivative to zero gives "),
                    m(format!(
                        "{} = {}",
                        prob.name.get(latex),
                        show(cx, opt, latex)
                    )),
                    w(": one over one plus the mean count."),
                ]);
            }
            say.push(s);
        }
        "Mixture" | "MixtureLogit" => {
            if let Some(c) = &p.compound {
                mixture_lesson(cx, p, c, &mut say);
            }
        }
        "ZeroInflated" => {
            if let Some(c) = &p.compound {
                zero_inflated_lesson(cx, p, c, &mut say);
            }
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
