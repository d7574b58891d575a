//! `nll explain`: a model's negative log-likelihood (NLL) written out as
//! mathematics a person reads, without data.
//!
//! For each sampling statement, in source order, [`explain`] writes:
//!
//! 1. the statement and its line;
//! 2. the distribution's arguments as definitions (`mu_i = b0 + b1*income_i`),
//!    with functions expanded and data carrying the row subscript `i`;
//! 3. the per-row term `l_i = -log p(y_i)` in the argument names, and the
//!    statement's NLL with every constant, where terms that do not vary by
//!    row are multiplied by `n` and the others summed over rows;
//! 4. which parameters each term depends on, and what the family teaches;
//! 5. the derivative of `l_i` in each argument and, by the chain rule, of
//!    the NLL in each parameter.
//!
//! Everything is derived from graphs: the model's expressions are lowered to
//! a symbolic graph (`lower`), each family's density is a template of
//! terms (`family`), dependence comes from `Graph::info`, derivatives from
//! `Graph::diff`, and text from the graph's infix printer.

mod family;
mod lessons;
mod lower;
mod text;

use std::collections::HashMap;

use crate::dist::mixture::Compound;
use crate::dist::{Family, Support};
use crate::graph::{Func, Graph, Infix, Node, NodeId, Prec};
use crate::model::{Model, ParamDim, Statement};
use crate::syntax::ast::DataKind;

use family::{Obs, Term};
use lower::{Ctx, LeafKind};
use text::{ident, m, w, Both, Out, Piece};

/// Formulas with more nodes than this, counted as written out (a shared
/// part once per use), are not printed when sharing makes them much longer
/// than their graph (see [`SHARING_FACTOR`]).
const MAX_WRITTEN_NODES: u64 = 20_000;

/// How many times longer than its graph a written-out formula may be.
const SHARING_FACTOR: u64 = 8;

/// The largest number of nodes any node of `g` has when written out as a
/// tree: 1 + the children's, counted once per use. Children come before
/// their parents in a graph, so one pass in order counts them all.
fn longest_written(g: &Graph) -> u64 {
    let mut size = vec![0u64; g.len()];
    for i in 0..g.len() {
        let n = NodeId(i as u32);
        size[i] = g
            .children(n)
            .iter()
            .fold(1u64, |acc, c| acc.saturating_add(size[c.0 as usize]));
    }
    size.into_iter().max().unwrap_or(0)
}

/// Written out, a formula repeats each shared part at every use: one built
/// by squaring the previous part again and again is small as a graph and
/// astronomically long as text. Checked before anything of `g` is written.
/// A long model without such sharing (a sum of 20 000 terms) is written:
/// its text is about as long as its graph.
fn short_enough_to_write(g: &Graph) -> Result<(), String> {
    let longest = longest_written(g);
    if longest <= MAX_WRITTEN_NODES || longest <= SHARING_FACTOR * g.len() as u64 {
        return Ok(());
    }
    let count = if longest == u64::MAX {
        "more than 1e19".to_string()
    } else {
        longest.to_string()
    };
    Err(format!(
        "written out, it would have {count} terms, since each use of a shared part repeats it (more than {MAX_WRITTEN_NODES} are not printed)"
    ))
}

/// Arguments written out longer than this many characters stay by name in
/// the NLL (their definition is printed above it).
const INLINE_LIMIT: usize = 40;

/// The NLL of `model` as text (LaTeX math when `latex`); `source` is the
/// model text, for the statements' lines.
pub fn explain(model: &Model, source: &str, latex: bool) -> String {
    let mut out = Out::new(latex);
    preamble(model, &mut out);
    let several = model.statements.len() > 1;
    for st in &model.statements {
        let (lines, text) = statement_source(source, st);
        out.heading(&lines, &text);
        if let Err(msg) = explain_statement(model, st, several, &mut out) {
            out.say(&[w(format!("This statement cannot be written out: {msg}."))]);
        }
    }
    out.finish()
}

/// "line 7" or "lines 7-8", and the statement's text on one line without
/// comments.
fn statement_source(source: &str, st: &Statement) -> (String, String) {
    let start = st.span.start.min(source.len());
    let end = st.span.end.clamp(start, source.len());
    let first = source[..start].matches('\n').count() + 1;
    let last = first + source[start..end].trim_end().matches('\n').count();
    let text: Vec<&str> = source[start..end]
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let lines = if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}-{last}")
    };
    (lines, text.join(" "))
}

fn preamble(model: &Model, out: &mut Out) {
    let params: Vec<String> = model
        .params
        .iter()
        .map(|p| {
            let dims: Vec<String> = p
                .dims
                .iter()
                .map(|d| match d {
                    ParamDim::Size(n) => n.to_string(),
                    ParamDim::Factor(f) => f.clone(),
                })
                .collect();
            let mut s = p.name.clone();
            if !dims.is_empty() {
                s.push_str(&format!("[{}]", dims.join(", ")));
            }
            let c = p.transform.describe();
            if !c.is_empty() {
                s.push(' ');
                s.push_str(&c);
            }
            s
        })
        .collect();
    let data: Vec<String> = model
        .data
        .iter()
        .map(|d| {
            let kind = match d.kind {
                DataKind::Real => "",
                DataKind::Int => ": int",
                DataKind::Factor => ": factor",
            };
            if d.is_vector {
                format!("{}{kind} = [{}]", d.name, d.columns.join(", "))
            } else {
                format!("{}{kind}", d.name)
            }
        })
        .collect();
    let (rows, i) = if out.latex {
        ("i = 1, \\dots, n", "i")
    } else {
        ("i = 1..n", "i")
    };
    out.say(&[
        w("The negative log-likelihood (NLL) of this model, written out. Rows are "),
        m(rows),
        w(", and a data name with the subscript "),
        m(i),
        w(" is that column on row "),
        m(i),
        w("."),
    ]);
    out.say(&[w(format!("Data: {}.", data.join(", ")))]);
    out.say(&[w(format!(
        "Parameters: {}.",
        if params.is_empty() {
            "none".to_string()
        } else {
            params.join(", ")
        }
    ))]);
    if !model.consts.is_empty() {
        let consts: Vec<String> = model
            .consts
            .iter()
            .map(|(n, v)| format!("{n} = {v}"))
            .collect();
        out.say(&[w(format!("Constants: {}.", consts.join(", ")))]);
    }
    out.say(&[w(
        "Derivatives are with respect to the parameters as declared (the optimizer works on \
        unconstrained coordinates; see docs/language.md). log is the natural logarithm.",
    )]);
    if model.statements.len() > 1 {
        out.say(&[w(
            "The NLL is the sum of the contributions of the statements below (NLL += ...).",
        )]);
    }
}

/// A distribution argument and the names it is written by.
pub(crate) struct Arg {
    /// The family's name for it, as written (`mu_i`, `rate_i`, `eta_{2,i}`).
    pub name: Both,
    /// The argument as written in the model.
    pub actual: NodeId,
    /// `Some` when the argument is exp(eta) (Poisson) or logistic(eta)
    /// (Bernoulli): the link and the node of eta.
    pub link: Option<(Func, NodeId)>,
    /// The name of what the derivatives are taken in: `eta_i` for a link,
    /// else the argument's own name.
    pub sym_name: Both,
    pub sym: NodeId,
    /// The argument in names: the symbol, or link(symbol).
    pub display: NodeId,
    /// The argument as the NLL line writes it: as written when short.
    pub inline: NodeId,
    /// True when the argument varies by row.
    pub row: bool,
    pub params: Vec<usize>,
}

impl Arg {
    /// The node derivatives go through: eta for a link, else the argument.
    pub fn target(&self) -> NodeId {
        self.link.map(|(_, eta)| eta).unwrap_or(self.actual)
    }
}

/// Everything about one statement that the sections below use.
pub(crate) struct Prepared {
    pub family: &'static Family,
    pub prior: bool,
    /// The observation as written (`foodexp_i`, `b`).
    pub y: Option<NodeId>,
    pub y_name: Both,
    /// The factor column of a categorical observation.
    pub level_col: Option<u32>,
    pub args: Vec<Arg>,
    pub actual: Vec<Term>,
    pub named: Vec<Term>,
    pub inline: Vec<Term>,
    /// l_i or l.
    pub l_name: Both,
    pub latex: bool,
    /// For a mixture or zero inflation, its parts in the argument names.
    pub compound: Option<CompoundView>,
}

/// A compound statement as a reader is shown it.
pub(crate) struct CompoundView {
    pub kind: Compound,
    pub components: Vec<ComponentView>,
    /// The terms and parts in the argument names (`Prepared::named`).
    pub form: family::Compound,
    /// Mixtures: the responsibilities r_{k,i} = exp(log(w_k) - l_{k,i} + l_i).
    pub resp: Vec<NodeId>,
}

/// One component: its family, the name of its -log p and of its density.
pub(crate) struct ComponentView {
    pub family: &'static Family,
    pub l_name: Both,
    pub p_name: Both,
}

impl Prepared {
    /// Parameters of the whole statement.
    pub fn params(&self, cx: &Ctx) -> Vec<usize> {
        let mut all: Vec<usize> = self
            .actual
            .iter()
            .flat_map(|t| cx.params_of(t.node))
            .collect();
        all.sort_by_key(|p| (cx.psyms[*p].decl, *p));
        all.dedup();
        all
    }

    /// `sum_i body`, or the body alone for a prior.
    pub fn sum_over_rows(&self, cx: &mut Ctx, body: NodeId) -> NodeId {
        if self.prior {
            body
        } else {
            cx.g.intern(Node::Sum(body))
        }
    }
}

fn explain_statement(
    model: &Model,
    st: &Statement,
    several: bool,
    out: &mut Out,
) -> Result<(), String> {
    let latex = out.latex;
    let mut cx = Ctx::new(model);
    let p = prepare(&mut cx, st, latex)?;

    // 1. What kind of statement.
    if p.prior {
        out.say(&[w(format!(
            "A prior (penalty) on {}: its term is added once, not per row.",
            p.y_name.plain
        ))]);
    } else {
        out.say(&[w(
            "A likelihood statement: one term per data row, summed over the rows.",
        )]);
    }

    // 2. Definitions.
    definitions(&mut cx, &p, out);

    // 3. The per-row term and the NLL.
    per_row(&mut cx, &p, out);
    let nll_terms = aggregated(&mut cx, &p);
    let nll = join_terms(
        &cx,
        &nll_terms.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        latex,
    );
    let lhs = match (several, latex) {
        (false, false) => "NLL = ",
        (true, false) => "NLL += ",
        (false, true) => "\\mathrm{NLL} = ",
        (true, true) => "\\mathrm{NLL} \\mathrel{+}= ",
    };
    out.label("The NLL");
    out.formula(&format!("{lhs}{nll}"));
    if !p.prior
        && nll_terms
            .iter()
            .any(|(t, _)| !matches!(cx.g.node(t.node), Node::Sum(_)))
    {
        out.say(&[
            w("Here "),
            m("n"),
            w(" is the number of data rows: a term that does not vary by row is added "),
            m("n"),
            w(" times."),
        ]);
    }

    // 4. Dependence and the lesson.
    dependence(&cx, &p, &nll_terms, out);
    lessons::lesson(&mut cx, &p, out);

    // 5. Derivatives.
    gradients(&mut cx, &p, out);
    Ok(())
}

/// One distribution argument before it is named: the family's name for it,
/// a component or element index, and the argument as written.
struct Spec {
    base: &'static str,
    index: Option<usize>,
    actual: NodeId,
    /// The family the argument belongs to (a component's, for a compound
    /// statement) and its position there, for recognising links.
    family: &'static str,
    pos: usize,
}

/// The link of an argument written as link(eta) where the family is
/// written on that scale: `Poisson(exp(eta))`, `Bernoulli(logistic(eta))`,
/// `Bernoulli(Phi(eta))`, `Binomial(n, logistic(eta))`.
fn link_of(g: &Graph, family: &str, pos: usize, node: NodeId) -> Option<(Func, NodeId)> {
    match (family, pos, g.node(node)) {
        ("Poisson", 0, Node::Unary(Func::Exp, eta)) => Some((Func::Exp, *eta)),
        ("Bernoulli", 0, Node::Unary(f @ (Func::Logistic | Func::Phi), eta)) => Some((*f, *eta)),
        ("Binomial", 1, Node::Unary(Func::Logistic, eta)) => Some((Func::Logistic, *eta)),
        _ => None,
    }
}

/// The argument specs of a compound statement: the weights, then each
/// component's arguments.
fn compound_specs(
    cx: &mut Ctx,
    st: &Statement,
    kind: Compound,
    comps: &[crate::model::Component],
) -> Result<(Vec<Spec>, usize), String> {
    let env = HashMap::new();
    let written = cx.elements(&st.args[0], &env)?;
    // K - 1 linear predictors of K > 2 components: the first component is
    // the reference, its predictor 0, written out as eta_1 = 0.
    let weights =
        crate::dist::mixture::with_reference_predictor(&mut cx.g, kind, &written, comps.len());
    let several = weights.len() > 1;
    // Vector weights on the logit scale are eta_k unless a component has
    // arguments of that name.
    let eta_in_components = comps.iter().any(|c| {
        c.family.args.contains(&"eta")
            || matches!(c.family.name, "Poisson" | "Bernoulli" | "Binomial")
    });
    let base = match kind {
        Compound::Mixture => "w",
        Compound::MixtureLogit if several && eta_in_components => "alpha",
        Compound::MixtureLogit => "eta",
        Compound::ZeroInflated => "pi",
    };
    let mut specs: Vec<Spec> = weights
        .iter()
        .enumerate()
        .map(|(k, w)| Spec {
            base,
            index: several.then_some(k + 1),
            actual: *w,
            family: st.family.name,
            pos: k,
        })
        .collect();
    for (k, comp) in comps.iter().enumerate() {
        for (j, a) in comp.args.iter().enumerate() {
            specs.push(Spec {
                base: comp.family.args[j],
                index: (kind != Compound::ZeroInflated).then_some(k + 1),
                actual: cx.scalar(a, &env)?,
                family: comp.family.name,
                pos: j,
            });
        }
    }
    Ok((specs, weights.len()))
}

fn prepare(cx: &mut Ctx, st: &Statement, latex: bool) -> Result<Prepared, String> {
    let env = HashMap::new();
    let family = st.family;
    let prior = st.is_prior;
    // The observation.
    let (y, y_name, level_col) = if family.support == Support::Level {
        let crate::syntax::ast::ExprKind::Name(name) = &st.lhs.kind else {
            return Err("the left side of a categorical statement must be a data column".into());
        };
        let col = cx.factor_col(name);
        (None, ident(name, &["i"]), Some(col))
    } else {
        let y = cx.scalar(&st.lhs, &env)?;
        short_enough_to_write(&cx.g)?;
        (Some(y), cx.both(y), None)
    };
    let (specs, n_weights) = match &st.compound {
        Some((kind, comps)) => compound_specs(cx, st, *kind, comps)?,
        None => {
            let mut specs = Vec::new();
            for (i, a) in st.args.iter().enumerate() {
                let (base, index) = match (family.variadic, family.name) {
                    (true, "Categorical") => ("p", Some(i + 1)),
                    (true, _) => ("eta", Some(i + 1)),
                    (false, _) => (family.args[i], None),
                };
                specs.push(Spec {
                    base,
                    index,
                    actual: cx.scalar(a, &env)?,
                    family: family.name,
                    pos: i,
                });
            }
            (specs, 0)
        }
    };
    short_enough_to_write(&cx.g)?;

    // The constant pi written in an argument (a rate of pi exp(a)) makes a
    // zero-inflation probability named pi a clash too.
    let pi_in_args = specs.iter().any(|spec| {
        cx.show(spec.actual, false)
            .text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == "pi")
    });
    let mut args = Vec::new();
    for spec in &specs {
        let actual = spec.actual;
        let link = link_of(&cx.g, spec.family, spec.pos, actual);
        let target = link.map(|(_, e)| e).unwrap_or(actual);
        let row = cx.g.is_row(target);
        let rows: &[&str] = if row { &["i"] } else { &[] };
        let index = spec.index.map(|k| k.to_string());
        let subs = |extra: &[&str]| -> Vec<String> {
            index
                .iter()
                .cloned()
                .chain(extra.iter().map(|s| s.to_string()))
                .collect()
        };
        let name_for = |cx: &Ctx, base: &str, node: NodeId| -> Both {
            let s = subs(rows);
            let s: Vec<&str> = s.iter().map(|x| x.as_str()).collect();
            let mut b = ident(base, &s);
            // A model name written like the argument but meaning something
            // else gets a prime on the argument.
            // So does an argument written `n`, the number of rows.
            let is_model_name = |name: &str| {
                cx.model.param(name).is_some()
                    || cx.model.data_var(name).is_some()
                    || cx.model.const_value(name).is_some()
            };
            // (a component's mu_2 clashes with a parameter named mu_2)
            let clash = is_model_name(base)
                || index
                    .as_ref()
                    .is_some_and(|k| is_model_name(&format!("{base}_{k}")))
                || (base == "pi" && pi_in_args)
                || b.plain == "n";
            // Element k of a vector with the argument's name is that
            // argument: w[2] is w_2.
            let shown = cx.show(node, false).text;
            let element = index
                .as_ref()
                .is_some_and(|k| shown == format!("{base}[{k}]"));
            if clash && !element && shown != b.plain {
                b = Both::new(
                    b.plain.replacen(base, &format!("{base}'"), 1),
                    b.latex.replacen(
                        &ident(base, &[]).latex,
                        &format!("{}'", ident(base, &[]).latex),
                        1,
                    ),
                );
            }
            b
        };
        let name = name_for(cx, spec.base, actual);
        let sym_name = if link.is_some() {
            name_for(cx, "eta", target)
        } else {
            name.clone()
        };
        let sym = cx.leaf(sym_name.clone(), Prec::Atom, LeafKind::Arg { row });
        let display = match link {
            Some((f, _)) => cx.g.unary(f, sym),
            None => sym,
        };
        let inline = if cx.show(target, false).text.chars().count() <= INLINE_LIMIT {
            actual
        } else {
            display
        };
        let params = cx.params_of(target);
        args.push(Arg {
            name,
            actual,
            link,
            sym_name,
            sym,
            display,
            inline,
            row,
            params,
        });
    }

    let actual_nodes: Vec<NodeId> = args.iter().map(|a| a.actual).collect();
    let named_nodes: Vec<NodeId> = args.iter().map(|a| a.display).collect();
    let inline_nodes: Vec<NodeId> = args.iter().map(|a| a.inline).collect();
    let (actual, named, inline, compound) = match (&st.compound, y) {
        (Some((kind, comps)), Some(y)) => {
            let build = |cx: &mut Ctx, nodes: &[NodeId]| {
                let (weights, mut rest) = nodes.split_at(n_weights);
                let mut parts = Vec::new();
                for c in comps {
                    let (these, more) = rest.split_at(c.args.len());
                    parts.push((c.family, these.to_vec()));
                    rest = more;
                }
                family::compound_terms(cx, *kind, y, weights, &parts)
            };
            let actual = build(cx, &actual_nodes)?;
            let inline = build(cx, &inline_nodes)?;
            let named = build(cx, &named_nodes)?;
            let view = compound_view(cx, *kind, comps, named, &y_name, n_weights);
            (
                actual.terms,
                view.form.terms.clone(),
                inline.terms,
                Some(view),
            )
        }
        _ => {
            let obs = match (y, level_col) {
                (Some(y), _) => Obs::Value(y),
                (None, Some(col)) => Obs::Level(col),
                _ => unreachable!(),
            };
            let actual = family::terms(cx, family, obs, &actual_nodes);
            if actual.is_empty() {
                return Err(format!(
                    "the {} distribution has no written form yet",
                    family.name
                ));
            }
            let named = family::terms(cx, family, obs, &named_nodes);
            let inline = family::terms(cx, family, obs, &inline_nodes);
            (actual, named, inline, None)
        }
    };
    if let Some(col) = level_col {
        // eta_{y_i} or p_{y_i}: the argument of the observed level.
        let chosen = chosen_name(family, &y_name);
        for t in actual.iter().chain(&named).chain(&inline) {
            let mut node = t.node;
            if let Node::Unary(_, inner) = *cx.g.node(node) {
                node = inner;
            }
            if let Node::Select { col: c, .. } = cx.g.node(node) {
                if *c == col {
                    cx.label(node, chosen.clone(), false);
                }
            }
        }
    }
    let l_name = if prior {
        Both::new("l", "\\ell")
    } else {
        Both::new("l_i", "\\ell_i")
    };
    Ok(Prepared {
        family,
        prior,
        y,
        y_name,
        level_col,
        args,
        actual,
        named,
        inline,
        l_name,
        latex,
        compound,
    })
}

/// `eta_{y_i}` (CategoricalLogit) or `p_{y_i}` (Categorical): the argument
/// of the observed level.
fn chosen_name(family: &Family, y_name: &Both) -> Both {
    let (plain, latex) = if family.name == "Categorical" {
        ("p", "p")
    } else {
        ("eta", "\\eta")
    };
    Both::new(
        format!("{plain}_{{{}}}", y_name.plain),
        format!("{latex}_{{{}}}", y_name.latex),
    )
}

/// Names the parts of a compound statement's named form: each component's
/// -log p as l_{k,i} (l_{D,i} for zero inflation), the responsibilities
/// r_{k,i} that its derivatives bring in, and the indicators of the cases.
fn compound_view(
    cx: &mut Ctx,
    kind: Compound,
    comps: &[crate::model::Component],
    form: family::Compound,
    y_name: &Both,
    n_weights: usize,
) -> CompoundView {
    let zero_inflated = kind == Compound::ZeroInflated;
    let mut components = Vec::new();
    for (k, (c, part)) in comps.iter().zip(&form.components).enumerate() {
        let tag = if zero_inflated {
            "D".to_string()
        } else {
            (k + 1).to_string()
        };
        let l_name = Both::new(format!("l_{{{tag},i}}"), format!("\\ell_{{{tag},i}}"));
        let p_name = Both::new(format!("p_{tag}"), format!("p_{{{tag}}}"));
        cx.label(part.total, l_name.clone(), false);
        components.push(ComponentView {
            family: c.family,
            l_name,
            p_name,
        });
    }
    // d LSE = sum_k exp(item_k - LSE) d item_k: the derivative's weights,
    // built as the derivative builds them so the labels apply.
    let mut resp = Vec::new();
    if let Some(lse) = form.lse {
        for (k, item) in form.items.iter().enumerate() {
            let shifted = cx.g.sub(*item, lse);
            let r = cx.g.unary(Func::Exp, shifted);
            cx.label(
                r,
                Both::new(format!("r_{{{},i}}", k + 1), format!("r_{{{},i}}", k + 1)),
                false,
            );
            resp.push(r);
        }
    }
    // Softmax weights are w_k, their logs log(w_k).
    if kind == Compound::MixtureLogit && n_weights > 1 {
        for (k, (prob, log_w)) in form.probs.iter().zip(&form.log_weights).enumerate() {
            let name = Both::new(format!("w_{}", k + 1), format!("w_{}", k + 1));
            let log_name = Both::new(format!("log(w_{})", k + 1), format!("\\log(w_{})", k + 1));
            // The weight is exp(log(w_k)), the node a derivative of the
            // log-sum-exp of the weights' arguments builds.
            cx.label(*prob, name, false);
            cx.label(*log_w, log_name, false);
        }
    }
    if let Some((zero, positive)) = form.indicators {
        cx.label(
            zero,
            Both::new(
                format!("[{} = 0]", y_name.plain),
                format!("[{} = 0]", y_name.latex),
            ),
            false,
        );
        cx.label(
            positive,
            Both::new(
                format!("[{} > 0]", y_name.plain),
                format!("[{} > 0]", y_name.latex),
            ),
            false,
        );
    }
    CompoundView {
        kind,
        components,
        form,
        resp,
    }
}

fn definitions(cx: &mut Ctx, p: &Prepared, out: &mut Out) {
    let latex = p.latex;
    let mut lines = Vec::new();
    for a in &p.args {
        let target = a.target();
        let written = cx.show(target, latex).text;
        if a.link.is_some() {
            lines.push(format!("{} = {written}", a.sym_name.get(latex)));
            lines.push(format!(
                "{} = {}",
                a.name.get(latex),
                cx.show(a.display, latex).text
            ));
        } else if written != a.name.get(latex) {
            lines.push(format!("{} = {written}", a.name.get(latex)));
        }
    }
    if lines.is_empty() && cx.notes.is_empty() {
        return;
    }
    out.label("Arguments");
    for l in &lines {
        out.formula(l);
    }
    if !p.prior && p.level_col.is_none() {
        let fixed: Vec<&Arg> = p.args.iter().filter(|a| !a.row).collect();
        if !fixed.is_empty() {
            let mut pieces = vec![];
            for (i, a) in fixed.iter().enumerate() {
                if i > 0 {
                    pieces.push(w(if i + 1 == fixed.len() { " and " } else { ", " }));
                }
                pieces.push(m(a.name.get(latex)));
            }
            pieces.push(w(if fixed.len() == 1 {
                " uses no data, so it is the same on every row."
            } else {
                " use no data, so they are the same on every row."
            }));
            out.say(&pieces);
        }
    }
    for (sym, words) in cx.notes.clone() {
        out.say(&[m(sym.get(latex)), w(format!("{words}."))]);
    }
    if p.level_col.is_some() {
        out.say(&[
            m(chosen_name(p.family, &p.y_name).get(latex)),
            w(format!(
                " is the argument of the level of {} on row i: the k-th argument belongs to the k-th level in sorted order \
                 (nll check --data lists the levels).",
                p.y_name.plain.trim_end_matches("_i")
            )),
        ]);
    }
}

/// The link of a Bernoulli written on the logit or probit scale.
pub(crate) fn bernoulli_link(p: &Prepared) -> Option<Func> {
    match (p.family.name, p.args.first().and_then(|a| a.link)) {
        ("BernoulliLogit", _) => Some(Func::Logistic),
        ("BernoulliProbit", _) => Some(Func::Phi),
        ("Bernoulli", Some((f, _))) => Some(f),
        _ => None,
    }
}

/// A function's name as written in the output.
fn func_text(f: Func, latex: bool) -> String {
    if latex {
        format!("\\operatorname{{{}}}", f.name())
    } else {
        f.name().to_string()
    }
}

fn per_row(cx: &mut Ctx, p: &Prepared, out: &mut Out) {
    let latex = p.latex;
    let lhs = if latex {
        format!("{} = -\\log p({})", p.l_name.latex, p.y_name.latex)
    } else {
        format!("{} = -log p({})", p.l_name.plain, p.y_name.plain)
    };
    out.label(if p.prior { "The term" } else { "Per row" });
    if let Some(c) = &p.compound {
        per_row_compound(cx, p, c, &lhs, out);
        return;
    }
    if let Some(link) = bernoulli_link(p) {
        // The cross-entropy in p, then the same on the logit or probit
        // scale.
        let y = p.y.unwrap_or(cx.n);
        let row = !p.prior;
        let pn = ident("p", if row { &["i"] } else { &[] });
        let pl = cx.leaf(pn.clone(), Prec::Atom, LeafKind::Arg { row });
        let s = family::cross_entropy(cx, y, pl);
        let ce = cx.show(s, latex).wrapped(Prec::Pow, latex);
        out.formula(&format!("{lhs} = -{ce}"));
        let eta = &p.args[0].sym_name;
        out.formula(&format!(
            "{} = {}",
            p.l_name.get(latex),
            join_terms(cx, &p.named, latex)
        ));
        let helper = match (link, latex) {
            (Func::Phi, false) => "logPhi(u) = log(Phi(u))".to_string(),
            (Func::Phi, true) => {
                "\\operatorname{logPhi}(u) = \\log(\\operatorname{Phi}(u))".to_string()
            }
            (_, false) => "softplus(u) = log(1 + exp(u))".to_string(),
            (_, true) => "\\operatorname{softplus}(u) = \\log(1 + \\exp(u))".to_string(),
        };
        let mut s = vec![
            w("with "),
            m(format!(
                "{} = {}({})",
                pn.get(latex),
                func_text(link, latex),
                eta.get(latex)
            )),
        ];
        if link == Func::Phi {
            s.extend([
                w(", the standard normal CDF, "),
                m(format!(
                    "1 - {} = {}(-{})",
                    pn.get(latex),
                    func_text(link, latex),
                    eta.get(latex)
                )),
                w(", and "),
                m(helper),
                w(", computed so that it stays finite far into both tails."),
            ]);
        } else {
            s.extend([w(" and "), m(helper), w(".")]);
        }
        out.say(&s);
        return;
    }
    out.formula(&format!("{lhs} = {}", join_terms(cx, &p.named, latex)));
}

/// True for a mixture whose weights are a softmax of several arguments.
pub(crate) fn softmax_weights(p: &Prepared, c: &CompoundView) -> bool {
    c.kind == Compound::MixtureLogit && weight_count(p, c) > 1
}

/// The number of weight arguments of a compound statement.
pub(crate) fn weight_count(p: &Prepared, c: &CompoundView) -> usize {
    p.args.len()
        - c.components
            .iter()
            .map(|k| k.family.args.len())
            .sum::<usize>()
}

/// The per-row term of a mixture or a zero-inflated distribution: each
/// component's -log p, then the compound's in terms of them.
fn per_row_compound(cx: &mut Ctx, p: &Prepared, c: &CompoundView, lhs: &str, out: &mut Out) {
    let latex = p.latex;
    let y = p.y_name.get(latex);
    let minus_log = if latex { "-\\log" } else { "-log" };
    let mut densities = Vec::new();
    let mut at = weight_count(p, c);
    for (k, (comp, part)) in c.components.iter().zip(&c.form.components).enumerate() {
        out.formula(&format!(
            "{} = {minus_log} {}({y}) = {}",
            comp.l_name.get(latex),
            comp.p_name.get(latex),
            join_terms(cx, &part.terms, latex)
        ));
        let n = comp.family.args.len();
        let names: Vec<&str> = p.args[at..at + n]
            .iter()
            .map(|a| a.name.get(latex))
            .collect();
        at += n;
        let fam = if latex {
            format!("\\operatorname{{{}}}", comp.family.name)
        } else {
            comp.family.name.to_string()
        };
        if k > 0 {
            densities.push(w(if k + 1 == c.components.len() {
                " and "
            } else {
                ", "
            }));
        }
        densities.push(m(format!(
            "{} = {fam}({})",
            comp.p_name.get(latex),
            names.join(", ")
        )));
    }
    if let Some((case0, case1)) = c.form.cases {
        let when = |cond: &str| {
            if latex {
                format!("\\quad \\text{{for }} {y} {cond}")
            } else {
                format!("   for {y} {cond}")
            }
        };
        out.formula(&format!(
            "{lhs} = {}{}",
            cx.show(case0, latex).text,
            when("= 0")
        ));
        out.formula(&format!(
            "{lhs} = {}{}",
            cx.show(case1, latex).text,
            when("> 0")
        ));
        out.formula(&format!(
            "{} = {}",
            p.l_name.get(latex),
            join_terms(cx, &p.named, latex)
        ));
        let mut s = vec![w("with the count distribution ")];
        s.extend(densities);
        s.push(w(
            "; the last line is both cases in one, as the NLL sums them.",
        ));
        out.say(&s);
        return;
    }
    // -log(sum_k w_k exp(-l_k)), then the log-sum-exp the fit evaluates.
    let mut sum = None;
    for (prob, part) in c.form.probs.iter().zip(&c.form.components) {
        let neg_l = cx.g.neg(part.total);
        let e = cx.call(Func::Exp, neg_l);
        let t = family::mul_in_order(&mut cx.g, *prob, e);
        sum = Some(match sum {
            None => t,
            Some(acc) => family::add_in_order(&mut cx.g, acc, t),
        });
    }
    if let Some(sum) = sum {
        let log = cx.call(Func::Log, sum);
        let textbook = cx.g.neg(log);
        out.formula(&format!("{lhs} = {}", cx.show(textbook, latex).text));
    }
    out.formula(&format!(
        "{} = {}",
        p.l_name.get(latex),
        join_terms(cx, &p.named, latex)
    ));
    let mut s = vec![w("with the components ")];
    s.extend(densities);
    if softmax_weights(p, c) {
        let eta = p.args[0].name.get(latex);
        let base = eta.split('_').next().unwrap_or(eta);
        s.extend([
            w(" and the weights "),
            m(if latex {
                format!("w_k = \\exp({base}_k) / \\sum_j \\exp({base}_j)")
            } else {
                format!("w_k = exp({base}_k)/sum_j exp({base}_j)")
            }),
            w(", the softmax"),
        ]);
    }
    s.push(w(
        "; the second line, a log-sum-exp, is the form the fit evaluates.",
    ));
    out.say(&s);
}

/// The NLL's terms: each as written with inline arguments, summed over rows
/// or multiplied by n, with the corresponding term of the written-out
/// arguments (for its dependence).
fn aggregated(cx: &mut Ctx, p: &Prepared) -> Vec<(Term, Term)> {
    let mut out = Vec::new();
    for (t, a) in p.inline.iter().zip(&p.actual) {
        if cx.g.as_const(t.node) == Some(0.0) {
            continue;
        }
        let node = if p.prior {
            t.node
        } else if cx.g.is_row(a.node) {
            cx.g.intern(Node::Sum(t.node))
        } else {
            cx.g.intern(Node::Binary(crate::graph::BinOp::Mul, cx.n, t.node))
        };
        out.push((
            Term {
                minus: t.minus,
                node,
            },
            *a,
        ));
    }
    out
}

/// Signed terms joined with `+` and `-`.
fn join_terms(cx: &Ctx, terms: &[Term], latex: bool) -> String {
    let mut s = String::new();
    for (i, t) in terms.iter().enumerate() {
        let inf = cx.show(t.node, latex);
        let needs = inf.prec == Prec::Add || (inf.prec == Prec::Neg && (i > 0 || t.minus));
        let text = if needs {
            paren(&inf.text, latex)
        } else {
            inf.text
        };
        match (i, t.minus) {
            (0, true) => s.push('-'),
            (0, false) => {}
            (_, true) => s.push_str(" - "),
            (_, false) => s.push_str(" + "),
        }
        s.push_str(&text);
    }
    if s.is_empty() {
        s.push('0');
    }
    s
}

fn paren(text: &str, latex: bool) -> String {
    if latex {
        format!("\\left({text}\\right)")
    } else {
        format!("({text})")
    }
}

fn name_list(cx: &Ctx, ps: &[usize], latex: bool) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        if i > 0 {
            pieces.push(w(if i + 1 == ps.len() { " and " } else { ", " }));
        }
        pieces.push(m(cx.psyms[*p].name.get(latex)));
    }
    pieces
}

fn dependence(cx: &Ctx, p: &Prepared, terms: &[(Term, Term)], out: &mut Out) {
    let latex = p.latex;
    let all = p.params(cx);
    out.label("Which parameters each term depends on");
    let mut items = Vec::new();
    for (t, a) in terms {
        let ps = cx.params_of(a.node);
        let shown = cx.show(t.node, latex).text;
        let mut pieces = vec![m(shown)];
        if ps.is_empty() {
            if cx.g.is_row(a.node) {
                pieces.push(w(": data only, constant in every parameter."));
            } else {
                pieces.push(w(": a constant."));
            }
        } else if ps.len() == all.len() {
            pieces.push(w(if ps.len() == 1 {
                ": depends on "
            } else {
                ": depends on every parameter here, "
            }));
            pieces.extend(name_list(cx, &ps, latex));
            pieces.push(w("."));
        } else {
            pieces.push(w(": depends only on "));
            pieces.extend(name_list(cx, &ps, latex));
            pieces.push(w("; constant in "));
            let rest: Vec<usize> = all.iter().copied().filter(|q| !ps.contains(q)).collect();
            pieces.extend(name_list(cx, &rest, latex));
            pieces.push(w("."));
        }
        items.push(pieces);
    }
    out.items(&items);
}

/// d over the leaves of a parameter symbol: the sum of the derivatives in
/// each leaf that stands for it.
fn diff_param(g: &mut Graph, node: NodeId, leaves: &[u32]) -> NodeId {
    let mut acc = g.constant(0.0);
    for k in leaves {
        let d = g.diff(node, *k);
        acc = g.add(acc, d);
    }
    acc
}

/// The softmax, written as such: exp(x - LSE(...)) is exp(x)/sum_k exp(eta_k).
fn softmax_form(cx: &mut Ctx, node: NodeId, total: NodeId) -> NodeId {
    let mut memo = HashMap::new();
    rebuild(cx, node, total, &mut memo)
}

fn rebuild(cx: &mut Ctx, id: NodeId, total: NodeId, memo: &mut HashMap<NodeId, NodeId>) -> NodeId {
    if let Some(r) = memo.get(&id) {
        return *r;
    }
    let r = match cx.g.node(id).clone() {
        Node::Unary(Func::Exp, inner) => match *cx.g.node(inner) {
            Node::Binary(crate::graph::BinOp::Sub, x, l)
                if matches!(cx.g.node(l), Node::LogSumExp(_)) =>
            {
                let e = cx.g.unary(Func::Exp, x);
                cx.g.div(e, total)
            }
            _ => id,
        },
        Node::Unary(f, a) => {
            let a2 = rebuild(cx, a, total, memo);
            if a2 == a {
                id
            } else {
                cx.g.unary(f, a2)
            }
        }
        Node::Binary(op, a, b) => {
            let a2 = rebuild(cx, a, total, memo);
            let b2 = rebuild(cx, b, total, memo);
            if (a2, b2) == (a, b) {
                id
            } else {
                cx.g.binary(op, a2, b2)
            }
        }
        _ => id,
    };
    memo.insert(id, r);
    r
}

fn dfrac(num: &str, den: &str, latex: bool) -> String {
    if latex {
        format!("\\frac{{\\partial {num}}}{{\\partial {den}}}")
    } else {
        format!("d{num}/d{den}")
    }
}

fn gradients(cx: &mut Ctx, p: &Prepared, out: &mut Out) {
    let latex = p.latex;
    let l_total = family::total(&mut cx.g, &p.named);
    let l = p.l_name.get(latex).to_string();
    let stmt_params = p.params(cx);
    if stmt_params.is_empty() {
        return;
    }

    // The softmax's denominator and the level indicators, for categorical
    // statements.
    let total = if p.level_col.is_some() && p.family.name == "CategoricalLogit" {
        let row = p.args.iter().any(|a| a.row);
        let i = if row { ",i" } else { "" };
        let denom = Both::new(
            format!("sum_k exp(eta_{{k{i}}})"),
            format!("\\sum_k \\exp(\\eta_{{k{i}}})"),
        );
        Some(cx.leaf(denom, Prec::Big, LeafKind::Arg { row }))
    } else {
        None
    };
    if let Some(col) = p.level_col {
        for (k, _) in p.args.iter().enumerate() {
            let level = cx.g.level(col, k as u32);
            let y = &p.y_name;
            cx.label(
                level,
                Both::new(
                    format!("[{} = level {}]", y.plain, k + 1),
                    format!("[{} = \\text{{level }} {}]", y.latex, k + 1),
                ),
                false,
            );
        }
    }

    // d l / d argument, for the arguments that depend on parameters; for a
    // prior, also d l / d (the parameter on the left).
    let mut lines = Vec::new();
    let mut d_arg: Vec<Option<NodeId>> = Vec::new();
    for a in &p.args {
        if a.params.is_empty() {
            d_arg.push(None);
            continue;
        }
        let Node::Param(k) = *cx.g.node(a.sym) else {
            unreachable!()
        };
        let mut d = cx.g.diff(l_total, k);
        if let Some(total) = total {
            d = softmax_form(cx, d, total);
        }
        lines.push(format!(
            "{} = {}",
            dfrac(&l, a.sym_name.get(latex), latex),
            cx.show(d, latex).text
        ));
        d_arg.push(Some(d));
    }
    let lhs_params = match p.y {
        Some(y) if p.prior => cx.params_of(y),
        _ => Vec::new(),
    };
    let mut d_lhs: HashMap<usize, NodeId> = HashMap::new();
    for &ps in &lhs_params {
        let leaves = cx.psyms[ps].leaves.clone();
        let d = diff_param(&mut cx.g, l_total, &leaves);
        lines.push(format!(
            "{} = {}",
            dfrac(&l, cx.psyms[ps].name.get(latex), latex),
            cx.show(d, latex).text
        ));
        d_lhs.insert(ps, d);
    }
    if !lines.is_empty() {
        out.label_pieces(&[w("Derivatives of "), m(p.l_name.get(latex))]);
        for line in &lines {
            out.formula(line);
        }
        if let Some(c) = p.compound.as_ref().filter(|c| !c.resp.is_empty()) {
            responsibilities(cx, p, c, out);
        }
    }

    out.label("Chain rule, per parameter");
    let nll = if latex { "\\mathrm{NLL}" } else { "NLL" };
    for &ps in &stmt_params {
        let psym = cx.psyms[ps].clone();
        let pname = psym.name.get(latex).to_string();
        // (d l / d argument, d argument / d parameter, names for the latter)
        let mut pieces: Vec<(NodeId, NodeId, HashMap<NodeId, Both>)> = Vec::new();
        if let Some(d) = d_lhs.get(&ps) {
            let one = cx.g.constant(1.0);
            pieces.push((*d, one, HashMap::new()));
        }
        for (a, d) in p.args.iter().zip(&d_arg) {
            let Some(d) = d else { continue };
            let target = a.target();
            let da = diff_param(&mut cx.g, target, &psym.leaves);
            if cx.g.as_const(da) == Some(0.0) {
                continue;
            }
            // d(argument)/d(parameter), with the argument written by name
            // where it reappears (d sigma_i/d g1 = sigma_i*log(income_i)).
            let mut extra = HashMap::new();
            if !matches!(cx.g.node(target), Node::Param(_) | Node::Data(_)) {
                extra.insert(target, a.sym_name.clone());
            }
            let own_leaf = matches!(*cx.g.node(target), Node::Param(k) if psym.leaves.contains(&k));
            if !own_leaf {
                let shown = cx.show_with(da, latex, &extra).text;
                out.formula(&format!(
                    "{} = {shown}",
                    dfrac(a.sym_name.get(latex), &pname, latex)
                ));
            }
            pieces.push((*d, da, extra));
        }
        if pieces.is_empty() {
            continue;
        }
        let row = !p.prior
            && pieces
                .iter()
                .any(|(d, da, _)| cx.varies_by_row(*d) || cx.g.is_row(*da));
        let lhs = dfrac(nll, &pname, latex);
        let sum_prefix = match (&psym.rows, latex) {
            (None, false) => "sum_i".to_string(),
            (None, true) => "\\sum_i".to_string(),
            (Some(r), false) => format!("sum_{{i: {}}}", r.plain),
            (Some(r), true) => format!("\\sum_{{i:\\ {}}}", r.latex),
        };
        // One argument that is the parameter itself: summed term by term,
        // like the NLL (n/sigma - sum_i ...).
        if row
            && pieces.len() == 1
            && cx.g.as_const(pieces[0].1) == Some(1.0)
            && psym.rows.is_none()
        {
            if let Some(text) = aggregate_text(cx, pieces[0].0, latex) {
                out.formula(&format!("{lhs} = {text}"));
                continue;
            }
        }
        // A single negative derivative is written -sum_i (its negation).
        let mut sign = "";
        if pieces.len() == 1 && cx.show(pieces[0].0, latex).prec == Prec::Neg {
            pieces[0].0 = cx.g.neg(pieces[0].0);
            sign = "-";
        }
        let products: Vec<(String, Prec)> = pieces
            .iter()
            .map(|(d, da, extra)| {
                let f = cx.show(*d, latex);
                if cx.g.as_const(*da) == Some(1.0) {
                    return (f.text, f.prec);
                }
                let g = cx.show_with(*da, latex, extra);
                let dot = if latex { " \\cdot " } else { " * " };
                (
                    format!("{}{dot}{}", factor_text(&f, latex), factor_text(&g, latex)),
                    Prec::Mul,
                )
            })
            .collect();
        let body = match products.as_slice() {
            [(text, prec)] if row && (*prec == Prec::Add || *prec == Prec::Neg) => {
                paren(text, latex)
            }
            [(text, _)] => text.clone(),
            many => {
                let joined = many
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(" + ");
                if row {
                    paren(&joined, latex)
                } else {
                    joined
                }
            }
        };
        if row {
            out.formula(&format!("{lhs} = {sign}{sum_prefix} {body}"));
        } else {
            out.formula(&format!("{lhs} = {sign}{body}"));
        }
    }
}

/// What the r_{k,i} in a mixture's derivatives are.
fn responsibilities(cx: &mut Ctx, p: &Prepared, c: &CompoundView, out: &mut Out) {
    let latex = p.latex;
    let l = cx.leaf(p.l_name.clone(), Prec::Atom, LeafKind::Arg { row: true });
    let mut s = vec![w("where ")];
    for (k, (r, item)) in c.resp.iter().zip(&c.form.items).enumerate() {
        if k > 0 {
            s.push(w(if k + 1 == c.resp.len() { " and " } else { ", " }));
        }
        let shifted = cx.g.add(*item, l);
        let e = cx.call(Func::Exp, shifted);
        s.push(m(format!(
            "{} = {}",
            cx.show(*r, latex).text,
            cx.show(e, latex).text
        )));
    }
    s.push(w(
        " are the responsibilities: the probability, given the observation, that row i came \
         from each component. A row's responsibilities add up to 1, and each component's \
         derivative counts on a row in proportion to its responsibility, as in the EM algorithm.",
    ));
    out.say(&s);
}

fn factor_text(f: &Infix, latex: bool) -> String {
    if f.prec == Prec::Add || f.prec == Prec::Neg || f.prec == Prec::Big {
        paren(&f.text, latex)
    } else {
        f.text.clone()
    }
}

/// A derivative summed over rows term by term: row terms under `sum_i`,
/// the others times n. `None` when every term varies by row.
fn aggregate_text(cx: &mut Ctx, d: NodeId, latex: bool) -> Option<String> {
    let mut terms = Vec::new();
    split_terms(&cx.g, d, false, &mut terms);
    if terms.iter().all(|t| cx.varies_by_row(t.node)) {
        return None;
    }
    let mut out = Vec::new();
    for t in terms {
        let node = if cx.varies_by_row(t.node) {
            cx.g.intern(Node::Sum(t.node))
        } else {
            cx.g.intern(Node::Binary(crate::graph::BinOp::Mul, cx.n, t.node))
        };
        out.push(Term {
            minus: t.minus,
            node,
        });
    }
    Some(join_terms(cx, &out, latex))
}

fn split_terms(g: &Graph, id: NodeId, minus: bool, out: &mut Vec<Term>) {
    match *g.node(id) {
        Node::Binary(crate::graph::BinOp::Add, a, b) => {
            split_terms(g, a, minus, out);
            split_terms(g, b, minus, out);
        }
        Node::Binary(crate::graph::BinOp::Sub, a, b) => {
            split_terms(g, a, minus, out);
            split_terms(g, b, !minus, out);
        }
        Node::Unary(Func::Neg, a) => split_terms(g, a, !minus, out),
        _ => out.push(Term { minus, node: id }),
    }
}
