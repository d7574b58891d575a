//! Graph nodes written as infix mathematics for a person to read, in plain
//! text or LaTeX, with as few parentheses as precedence allows.
//!
//! Printing goes through a small display tree. Sums are flattened into
//! signed terms; products and quotients into a numeric coefficient with
//! numerator and denominator factors, where equal bases have their powers
//! combined (`sigma * sigma^-4` is `1/sigma^3`); a negative coefficient
//! becomes a minus sign, or flips a difference (`-(y - mu)/s` is written
//! `(mu - y)/s`). These rewrites change how an expression is written, never
//! its value.
//!
//! The graph knows no names: a callback gives the text of leaves and of any
//! node the caller wants written its own way (a [`Label`]). Unnamed leaves
//! are written as in [`Graph::dump`].
//!
//! Plain-text conventions: `*` without spaces, `+` and `-` with spaces, `/`
//! without spaces except directly under a big operator
//! (`sum_i (y_i - mu)^2 / (2*s^2)`, where it separates the summand's parts),
//! and a halved coefficient in parentheses (`(n/2)*log(2*pi)`).

use super::{BinOp, Func, Graph, Node, NodeId};

/// Binding strength of printed text, loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prec {
    /// A big operator such as `sum_i body`, whose body runs to the right.
    Big,
    /// `a + b`, `a - b`.
    Add,
    /// `a*b`, `a/b`.
    Mul,
    /// `-a`.
    Neg,
    /// `a^b`.
    Pow,
    /// Names, numbers, calls and bracketed forms.
    Atom,
}

/// How the caller wants a node written instead of by its structure.
#[derive(Debug, Clone, PartialEq)]
pub enum Label {
    /// This text, which binds like the given precedence.
    Text(String, Prec),
    /// A big operator written before the node's own structure, such as
    /// `sum_j` before `beta[j]*X_ij`.
    Over(String),
}

impl Label {
    /// A name: text that binds like an atom.
    pub fn name(text: impl Into<String>) -> Label {
        Label::Text(text.into(), Prec::Atom)
    }
}

/// Printed text together with how tightly it binds, so callers can combine
/// pieces with the parentheses they need.
#[derive(Debug, Clone, PartialEq)]
pub struct Infix {
    pub text: String,
    pub prec: Prec,
}

impl Infix {
    /// The text, in parentheses when it binds looser than `min`.
    pub fn wrapped(&self, min: Prec, latex: bool) -> String {
        if self.prec < min {
            paren(&self.text, latex)
        } else {
            self.text.clone()
        }
    }
}

/// The naming callback: `Some` to write a node its own way.
pub type Names<'a> = dyn Fn(NodeId, &Node) -> Option<Label> + 'a;

impl Graph {
    /// `id` as infix text (LaTeX math when `latex`).
    pub fn to_infix(&self, id: NodeId, names: &Names, latex: bool) -> String {
        self.infix(id, names, latex).text
    }

    /// `id` as infix text with its binding strength.
    pub fn infix(&self, id: NodeId, names: &Names, latex: bool) -> Infix {
        let d = build(self, id, names, latex);
        print(&d, latex, false)
    }
}

/// The display tree.
#[derive(Debug, Clone, PartialEq)]
enum D {
    Num(f64),
    Text(String, Prec),
    /// Signed terms (true = subtracted): at least two, or one subtracted.
    /// No term is itself a sum, a zero or a negative number.
    Sum(Vec<(bool, D)>),
    /// Positive coefficient, numerator factors, denominator factors.
    Prod(f64, Vec<D>, Vec<D>),
    Pow(Box<D>, Box<D>),
    Call(Func, Box<D>),
    Abs(Box<D>),
    Factorial(Box<D>),
    Over(String, Box<D>),
}

fn build(g: &Graph, id: NodeId, names: &Names, latex: bool) -> D {
    let node = g.node(id);
    match names(id, node) {
        Some(Label::Text(text, prec)) => D::Text(text, prec),
        Some(Label::Over(prefix)) => D::Over(prefix, Box::new(structure(g, id, names, latex))),
        None => structure(g, id, names, latex),
    }
}

fn structure(g: &Graph, id: NodeId, names: &Names, latex: bool) -> D {
    let b = |x: NodeId| build(g, x, names, latex);
    let atom = |plain: String, tex: String| D::Text(if latex { tex } else { plain }, Prec::Atom);
    match g.node(id) {
        Node::Const(bits) => D::Num(f64::from_bits(*bits)),
        Node::Param(k) => atom(format!("theta[{k}]"), format!("\\theta_{{{k}}}")),
        Node::RowCount => atom("n".into(), "n".into()),
        Node::Data(c) => atom(format!("col[{c}]_i"), format!("\\mathrm{{col}}_{{{c},i}}")),
        Node::Level { col, level } => atom(
            format!("[col[{col}]_i = {level}]"),
            format!("[\\mathrm{{col}}_{{{col},i}} = {level}]"),
        ),
        Node::Select { col, items } => {
            let list: Vec<String> = items
                .iter()
                .map(|i| print(&b(*i), latex, false).text)
                .collect();
            atom(
                format!("select(col[{col}]_i; {})", list.join(", ")),
                format!(
                    "\\operatorname{{select}}(\\mathrm{{col}}_{{{col},i}}; {})",
                    list.join(", ")
                ),
            )
        }
        Node::Unary(f, a) => unary(g, *f, *a, b(*a)),
        Node::Binary(op, x, y) => {
            let (x, y) = (b(*x), b(*y));
            match op {
                BinOp::Add => sum(vec![(false, x), (false, y)]),
                BinOp::Sub => sum(vec![(false, x), (true, y)]),
                BinOp::Mul => mul(x, y),
                BinOp::Div => div(x, y),
                BinOp::Pow => pow(x, y),
            }
        }
        Node::LogSumExp(items) => {
            let terms = items
                .iter()
                .map(|i| match b(*i) {
                    D::Num(c) => (false, D::Num(c.exp())),
                    d => (false, D::Call(Func::Exp, Box::new(d))),
                })
                .collect();
            D::Call(Func::Log, Box::new(sum(terms)))
        }
        Node::Sum(a) => D::Over(
            if latex { "\\sum_i" } else { "sum_i" }.into(),
            Box::new(b(*a)),
        ),
    }
}

fn unary(g: &Graph, f: Func, a: NodeId, da: D) -> D {
    match f {
        Func::Neg => neg(da),
        // log1p(u) = log(1 + u), expm1(u) = exp(u) - 1: the same values,
        // written the way a reader knows them.
        Func::Log1p => D::Call(
            Func::Log,
            Box::new(sum(vec![(false, D::Num(1.0)), (false, da)])),
        ),
        Func::Expm1 => sum(vec![
            (false, D::Call(Func::Exp, Box::new(da))),
            (true, D::Num(1.0)),
        ]),
        Func::Abs => D::Abs(Box::new(da)),
        // lgamma(y + 1) = log(y!) for an observed count y.
        Func::Lgamma => match *g.node(a) {
            Node::Binary(BinOp::Add, one, y)
                if g.as_const(one) == Some(1.0) && g.is_row(y) && g.info(y).params.is_empty() =>
            {
                let dy = match da {
                    D::Sum(mut ts) if ts.len() == 2 => {
                        ts.pop().map(|(_, t)| t).unwrap_or(D::Num(0.0))
                    }
                    other => return D::Call(Func::Lgamma, Box::new(other)),
                };
                D::Call(Func::Log, Box::new(D::Factorial(Box::new(dy))))
            }
            _ => D::Call(Func::Lgamma, Box::new(da)),
        },
        _ => D::Call(f, Box::new(da)),
    }
}

// ---- Normalising constructors ----------------------------------------------

fn sum(terms: Vec<(bool, D)>) -> D {
    let mut out = Vec::new();
    for (negated, t) in terms {
        push_term(&mut out, negated, t);
    }
    if out.is_empty() {
        return D::Num(0.0);
    }
    if out.len() == 1 && !out[0].0 {
        return out.pop().map(|(_, t)| t).unwrap_or(D::Num(0.0));
    }
    D::Sum(out)
}

fn push_term(out: &mut Vec<(bool, D)>, negated: bool, t: D) {
    match t {
        D::Sum(ts) => {
            for (n2, t2) in ts {
                push_term(out, negated != n2, t2);
            }
        }
        D::Num(c) if c == 0.0 => {}
        D::Num(c) if c < 0.0 => out.push((!negated, D::Num(-c))),
        other => out.push((negated, other)),
    }
}

fn neg(d: D) -> D {
    match d {
        D::Num(c) => D::Num(-c),
        D::Sum(ts) => {
            let mut flipped: Vec<(bool, D)> = ts.into_iter().map(|(n, t)| (!n, t)).collect();
            // Lead with an added term when there is one: `mu - y`, not `-y + mu`.
            if flipped.first().is_some_and(|(n, _)| *n) {
                if let Some(pos) = flipped.iter().position(|(n, _)| !*n) {
                    let t = flipped.remove(pos);
                    flipped.insert(0, t);
                }
            }
            sum(flipped)
        }
        D::Prod(c, n, d) => prod(-c, n, d),
        other => sum(vec![(true, other)]),
    }
}

/// A display value as coefficient * numerator / denominator.
fn parts(d: D) -> (f64, Vec<D>, Vec<D>) {
    match d {
        D::Num(c) => (c, vec![], vec![]),
        D::Prod(c, n, d) => (c, n, d),
        D::Sum(mut ts) if ts.len() == 1 && ts[0].0 => {
            let (_, t) = ts.remove(0);
            let (c, n, d) = parts(t);
            (-c, n, d)
        }
        other => (1.0, vec![other], vec![]),
    }
}

fn mul(a: D, b: D) -> D {
    let (ca, mut na, mut da) = parts(a);
    let (cb, nb, db) = parts(b);
    na.extend(nb);
    da.extend(db);
    prod(ca * cb, na, da)
}

fn div(a: D, b: D) -> D {
    let (ca, mut na, mut da) = parts(a);
    let (cb, nb, db) = parts(b);
    na.extend(db);
    da.extend(nb);
    prod(ca / cb, na, da)
}

fn pow(a: D, b: D) -> D {
    match (a, b) {
        (a, D::Num(k)) if k < 0.0 => div(D::Num(1.0), pow(a, D::Num(-k))),
        (a, D::Num(k)) if k == 1.0 => a,
        (D::Pow(base, e), D::Num(k))
            if k.fract() == 0.0 && matches!(*e, D::Num(j) if j.fract() == 0.0) =>
        {
            let D::Num(j) = *e else { unreachable!() };
            pow(*base, D::Num(j * k))
        }
        (a, b) => D::Pow(Box::new(a), Box::new(b)),
    }
}

/// coef * prod(num) / prod(den), with numbers folded into the coefficient,
/// powers of equal bases combined and the sign brought to the front.
fn prod(coef: f64, num: Vec<D>, den: Vec<D>) -> D {
    let mut c = coef;
    let mut bases: Vec<(D, f64)> = Vec::new();
    let mut add = |c: &mut f64, f: D, sign: f64| match f {
        D::Num(v) => {
            if sign > 0.0 {
                *c *= v
            } else {
                *c /= v
            }
        }
        D::Pow(base, e) if matches!(*e, D::Num(_)) => {
            let D::Num(k) = *e else { unreachable!() };
            add_base(&mut bases, *base, sign * k);
        }
        other => add_base(&mut bases, other, sign),
    };
    for f in num {
        add(&mut c, f, 1.0);
    }
    for f in den {
        add(&mut c, f, -1.0);
    }
    if c == 0.0 {
        return D::Num(0.0);
    }
    let power = |base: D, e: f64| {
        if e == 1.0 {
            base
        } else {
            D::Pow(Box::new(base), Box::new(D::Num(e)))
        }
    };
    let mut n = Vec::new();
    let mut d = Vec::new();
    for (base, e) in bases {
        if e > 0.0 {
            n.push(power(base, e));
        } else if e < 0.0 {
            d.push(power(base, -e));
        }
    }
    clear_inner_denominators(&mut d);
    if c < 0.0 {
        // -(y - mu) * u = (mu - y) * u, and -sign(y - mu) = sign(mu - y).
        let difference = |f: &D| matches!(f, D::Sum(ts) if ts.len() == 2 && ts[0].0 != ts[1].0);
        let flippable =
            |f: &D| difference(f) || matches!(f, D::Call(Func::Sign, a) if difference(a));
        if let Some(i) = n.iter().position(flippable) {
            let f = n.remove(i);
            let flipped = match f {
                D::Call(Func::Sign, a) => D::Call(Func::Sign, Box::new(neg(*a))),
                other => neg(other),
            };
            n.insert(i, flipped);
            c = -c;
        }
    }
    let magnitude = c.abs();
    let core = if n.is_empty() && d.is_empty() {
        D::Num(magnitude)
    } else if magnitude == 1.0 && n.len() == 1 && d.is_empty() {
        n.pop().unwrap_or(D::Num(1.0))
    } else {
        D::Prod(magnitude, n, d)
    };
    if c < 0.0 {
        sum(vec![(true, core)])
    } else {
        core
    }
}

/// Multiplies a sum in the denominator by the other denominator factors
/// its terms are divided by: (1 + u/(a*b)) * a * b is written a*b + u.
fn clear_inner_denominators(den: &mut Vec<D>) {
    let mut i = 0;
    while i < den.len() {
        let D::Sum(terms) = &den[i] else {
            i += 1;
            continue;
        };
        // The bases (with powers) the terms are divided by.
        let mut needed: Vec<(D, f64)> = Vec::new();
        for (_, t) in terms {
            let (_, _, td) = parts(t.clone());
            for f in td {
                let (b, e) = match f {
                    D::Pow(b, e) if matches!(*e, D::Num(_)) => {
                        let D::Num(k) = *e else { unreachable!() };
                        (*b, k)
                    }
                    other => (other, 1.0),
                };
                match needed.iter_mut().find(|(x, _)| *x == b) {
                    Some((_, k)) => *k = k.max(e),
                    None => needed.push((b, e)),
                }
            }
        }
        if needed.is_empty() {
            i += 1;
            continue;
        }
        // Every needed base must be among the other denominator factors
        // with at least that power.
        let power_of = |f: &D| -> (D, f64) {
            match f {
                D::Pow(b, e) if matches!(**e, D::Num(_)) => {
                    let D::Num(k) = **e else { unreachable!() };
                    ((**b).clone(), k)
                }
                other => (other.clone(), 1.0),
            }
        };
        let available = needed.iter().all(|(b, e)| {
            den.iter().enumerate().any(|(j, f)| {
                j != i && {
                    let (fb, fe) = power_of(f);
                    fb == *b && fe >= *e
                }
            })
        });
        if !available {
            i += 1;
            continue;
        }
        let factor: Vec<D> = needed
            .iter()
            .map(|(b, e)| {
                if *e == 1.0 {
                    b.clone()
                } else {
                    D::Pow(Box::new(b.clone()), Box::new(D::Num(*e)))
                }
            })
            .collect();
        let new_terms: Vec<(bool, D)> = terms
            .iter()
            .map(|(neg_t, t)| {
                let (c, tn, td) = parts(t.clone());
                let mut tn = tn;
                tn.extend(factor.iter().cloned());
                (*neg_t, prod(c, tn, td))
            })
            .collect();
        den[i] = sum(new_terms);
        // Take the needed powers out of the other factors.
        for (b, e) in &needed {
            if let Some(j) = den
                .iter()
                .enumerate()
                .position(|(j, f)| j != i && power_of(f).0 == *b)
            {
                let (fb, fe) = power_of(&den[j]);
                let rest = fe - e;
                if rest == 0.0 {
                    den.remove(j);
                    if j < i {
                        i -= 1;
                    }
                } else if rest == 1.0 {
                    den[j] = fb;
                } else {
                    den[j] = D::Pow(Box::new(fb), Box::new(D::Num(rest)));
                }
            }
        }
        i += 1;
    }
}

fn add_base(bases: &mut Vec<(D, f64)>, base: D, e: f64) {
    match bases.iter_mut().find(|(b, _)| *b == base) {
        Some((_, k)) => *k += e,
        None => bases.push((base, e)),
    }
}

// ---- Printing ---------------------------------------------------------------

fn paren(text: &str, latex: bool) -> String {
    if latex {
        format!("\\left({text}\\right)")
    } else {
        format!("({text})")
    }
}

fn infix(text: String, prec: Prec) -> Infix {
    Infix { text, prec }
}

/// A positive coefficient as an integer or a half, if it is one.
fn as_halves(c: f64) -> Option<(f64, f64)> {
    if c.abs() >= 1e15 {
        None
    } else if c.fract() == 0.0 {
        Some((c, 1.0))
    } else if (2.0 * c).fract() == 0.0 {
        Some((2.0 * c, 2.0))
    } else {
        None
    }
}

fn number(c: f64, latex: bool) -> Infix {
    if c.is_nan() {
        return infix("NaN".into(), Prec::Atom);
    }
    if c < 0.0 {
        let inner = number(-c, latex);
        return infix(format!("-{}", inner.wrapped(Prec::Mul, latex)), Prec::Neg);
    }
    if c.is_infinite() {
        return infix(
            if latex {
                "\\infty".into()
            } else {
                "inf".into()
            },
            Prec::Atom,
        );
    }
    match as_halves(c) {
        Some((p, 1.0)) => infix(format!("{p}"), Prec::Atom),
        Some((p, _)) if latex => infix(format!("\\frac{{{p}}}{{2}}"), Prec::Pow),
        Some((p, _)) => infix(format!("{p}/2"), Prec::Mul),
        None if c != 0.0 && !(1e-4..1e15).contains(&c) => {
            let s = format!("{c:e}");
            match (latex, s.split_once('e')) {
                (true, Some((m, e))) if m == "1" => infix(format!("10^{{{e}}}"), Prec::Pow),
                (true, Some((m, e))) => infix(format!("{m} \\times 10^{{{e}}}"), Prec::Mul),
                _ => infix(s, Prec::Atom),
            }
        }
        None => infix(format!("{c}"), Prec::Atom),
    }
}

fn func_name(f: Func, latex: bool) -> String {
    if !latex {
        return f.name().to_string();
    }
    match f {
        Func::Exp => "\\exp".into(),
        Func::Log => "\\log".into(),
        Func::Sin => "\\sin".into(),
        Func::Cos => "\\cos".into(),
        Func::Tan => "\\tan".into(),
        Func::Atan => "\\arctan".into(),
        Func::Tanh => "\\tanh".into(),
        Func::Lgamma => "\\log\\Gamma".into(),
        Func::Digamma => "\\psi".into(),
        Func::Trigamma => "\\psi'".into(),
        Func::Tetragamma => "\\psi''".into(),
        other => format!("\\operatorname{{{}}}", other.name().replace('_', "\\_")),
    }
}

/// Prints `d`; `spaced` writes a top-level quotient as `a / b`.
fn print(d: &D, latex: bool, spaced: bool) -> Infix {
    match d {
        D::Num(c) => number(*c, latex),
        D::Text(t, p) => infix(t.clone(), *p),
        D::Sum(terms) => {
            let mut out = String::new();
            let last = terms.len() - 1;
            for (i, (negated, t)) in terms.iter().enumerate() {
                let p = print(t, latex, false);
                let bare = (p.prec >= Prec::Mul && p.prec != Prec::Neg)
                    || (p.prec == Prec::Big && i == last);
                let text = if bare { p.text } else { paren(&p.text, latex) };
                match (i, negated) {
                    (0, true) => out.push('-'),
                    (0, false) => {}
                    (_, true) => out.push_str(" - "),
                    (_, false) => out.push_str(" + "),
                }
                out.push_str(&text);
            }
            infix(
                out,
                if terms.len() == 1 {
                    Prec::Neg
                } else {
                    Prec::Add
                },
            )
        }
        D::Prod(c, num, den) => print_prod(*c, num, den, latex, spaced),
        D::Pow(base, e) => {
            let b = print(base, latex, false).wrapped(Prec::Atom, latex);
            let e = print(e, latex, false);
            if latex {
                infix(format!("{b}^{{{}}}", e.text), Prec::Pow)
            } else {
                infix(format!("{b}^{}", e.wrapped(Prec::Atom, false)), Prec::Pow)
            }
        }
        D::Call(f, a_d) => {
            let a = print(a_d, latex, false).text;
            match (f, latex) {
                (Func::Sqrt, true) => infix(format!("\\sqrt{{{a}}}"), Prec::Atom),
                (_, true) => {
                    // Brackets that grow with a fraction or a sum inside.
                    let inner = print(a_d, true, false);
                    let arg = if inner.prec == Prec::Atom {
                        format!("({a})")
                    } else {
                        paren(&a, true)
                    };
                    infix(format!("{}{arg}", func_name(*f, true)), Prec::Atom)
                }
                _ => infix(format!("{}({a})", func_name(*f, false)), Prec::Atom),
            }
        }
        D::Abs(a) => {
            let a = print(a, latex, false).text;
            infix(
                if latex {
                    format!("\\lvert {a} \\rvert")
                } else {
                    format!("|{a}|")
                },
                Prec::Atom,
            )
        }
        D::Factorial(a) => infix(
            format!("{}!", print(a, latex, false).wrapped(Prec::Atom, latex)),
            Prec::Atom,
        ),
        D::Over(prefix, body) => {
            let b = print(body, latex, true);
            let text = if b.prec < Prec::Mul || b.prec == Prec::Neg {
                paren(&b.text, latex)
            } else {
                b.text
            };
            infix(format!("{prefix} {text}"), Prec::Big)
        }
    }
}

fn print_prod(c: f64, num: &[D], den: &[D], latex: bool, spaced: bool) -> Infix {
    let join = if latex { "\\," } else { "*" };
    let printed: Vec<Infix> = num.iter().map(|f| print(f, latex, false)).collect();
    // A factor in a product: parenthesised unless it binds at least like a
    // power; a big operator may stay bare as the very last factor.
    let factor = |p: &Infix, last: bool| -> String {
        let tight = if latex {
            p.prec > Prec::Mul
        } else {
            p.prec > Prec::Neg
        };
        if tight || (last && p.prec == Prec::Big) {
            p.text.clone()
        } else {
            paren(&p.text, latex)
        }
    };
    let halves = as_halves(c);
    // A coefficient 1/k for a whole k > 2 divides: a^2/200, not 0.005*a^2.
    let divisor = match halves {
        None if c < 1.0 => {
            let k = (1.0 / c).round();
            (k > 2.0 && k < 1e15 && (1.0 / k - c).abs() <= 1e-15 * c).then_some(k)
        }
        _ => None,
    };
    if den.is_empty() && divisor.is_none() {
        let n = printed.len();
        let body = |from: usize| -> String {
            printed[from..]
                .iter()
                .enumerate()
                .map(|(i, p)| factor(p, from + i + 1 == n))
                .collect::<Vec<_>>()
                .join(join)
        };
        let ends_big = printed.last().is_some_and(|p| p.prec == Prec::Big);
        let prec = if ends_big { Prec::Big } else { Prec::Mul };
        return match halves {
            Some((p, 1.0)) if p == 1.0 => infix(body(0), prec),
            Some((p, 1.0)) => infix(format!("{p}{join}{}", body(0)), prec),
            Some((p, _)) => {
                let first_groups =
                    p == 1.0 && matches!(num[0], D::Text(_, Prec::Atom) | D::Sum(_) | D::Abs(_));
                if first_groups {
                    // (n/2)*log(2*pi), ((nu + 1)/2)*log(...)
                    let group = if latex {
                        format!("\\frac{{{}}}{{2}}", printed[0].text)
                    } else {
                        format!("{}/2", printed[0].wrapped(Prec::Atom, false))
                    };
                    if n == 1 {
                        infix(group, if latex { Prec::Pow } else { Prec::Mul })
                    } else if latex {
                        infix(format!("{group}{join}{}", body(1)), prec)
                    } else {
                        infix(format!("({group}){join}{}", body(1)), prec)
                    }
                } else {
                    let coef = if latex {
                        format!("\\frac{{{p}}}{{2}}")
                    } else {
                        format!("({p}/2)")
                    };
                    infix(format!("{coef}{join}{}", body(0)), prec)
                }
            }
            None => {
                let coef = number(c, latex).wrapped(Prec::Pow, latex);
                infix(format!("{coef}{join}{}", body(0)), prec)
            }
        };
    }
    // A quotient: numerator and denominator, each with its part of the
    // coefficient.
    let (top_coef, bottom_coef) = match (divisor, halves) {
        (Some(k), _) => (1.0, k),
        (None, Some((p, q))) => (p, q),
        (None, None) => (c, 1.0),
    };
    let mut top: Vec<Infix> = Vec::new();
    if top_coef != 1.0 || printed.is_empty() {
        top.push(number(top_coef, latex));
    }
    top.extend(printed);
    let mut bottom: Vec<Infix> = Vec::new();
    if bottom_coef != 1.0 {
        bottom.push(number(bottom_coef, latex));
    }
    bottom.extend(den.iter().map(|f| print(f, latex, false)));
    let side = |parts: &[Infix]| -> String {
        if parts.len() == 1 && latex {
            parts[0].text.clone()
        } else {
            parts
                .iter()
                .map(|p| factor(p, false))
                .collect::<Vec<_>>()
                .join(join)
        }
    };
    let num_text = side(&top);
    let den_text = side(&bottom);
    if latex {
        return infix(format!("\\frac{{{num_text}}}{{{den_text}}}"), Prec::Pow);
    }
    let den_text = match bottom.as_slice() {
        [one] => one.wrapped(Prec::Pow, false),
        _ => format!("({den_text})"),
    };
    let slash = if spaced { " / " } else { "/" };
    infix(format!("{num_text}{slash}{den_text}"), Prec::Mul)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::apply_binary;
    use crate::syntax::ast::{Expr, ExprKind};

    fn names(_: NodeId, node: &Node) -> Option<Label> {
        match node {
            Node::Param(k) => Some(Label::name(["a", "b", "c", "d"][*k as usize % 4])),
            Node::Data(c) => Some(Label::name(format!("x{c}"))),
            _ => None,
        }
    }

    fn plain(g: &Graph, id: NodeId) -> String {
        g.to_infix(id, &names, false)
    }

    fn tex(g: &Graph, id: NodeId) -> String {
        g.to_infix(id, &names, true)
    }

    /// A graph with parameters a, b, c, d and data x0.
    fn leaves() -> (Graph, [NodeId; 5]) {
        let mut g = Graph::new();
        let a = g.param(0);
        let b = g.param(1);
        let c = g.param(2);
        let d = g.param(3);
        let x = g.data(0);
        (g, [a, b, c, d, x])
    }

    #[test]
    fn precedence_gives_minimal_parentheses() {
        let (mut g, [a, b, c, _, _]) = leaves();
        let bc = g.add(b, c);
        let e = g.mul(a, bc);
        assert_eq!(plain(&g, e), "a*(b + c)");
        let ab = g.mul(a, b);
        let e = g.intern(Node::Binary(BinOp::Add, ab, c));
        assert_eq!(plain(&g, e), "a*b + c");
        let two = g.constant(2.0);
        let ab = g.add(a, b);
        let sq = g.pow(ab, two);
        assert_eq!(plain(&g, sq), "(a + b)^2");
        let e = g.pow(a, bc);
        assert_eq!(plain(&g, e), "a^(b + c)");
        // -(a^2) needs no parentheses, (-a)^2 does.
        let a2 = g.pow(a, two);
        let e = g.neg(a2);
        assert_eq!(plain(&g, e), "-a^2");
        let na = g.neg(a);
        let e = g.intern(Node::Binary(BinOp::Pow, na, two));
        assert_eq!(plain(&g, e), "(-a)^2");
        // a - (b - c) is a - b + c; a - (b + c) is a - b - c.
        let b_c = g.sub(b, c);
        let e = g.sub(a, b_c);
        assert_eq!(plain(&g, e), "a - b + c");
        let e = g.sub(a, bc);
        assert_eq!(plain(&g, e), "a - b - c");
        // Calls need no inner parentheses beyond their own.
        let e = g.unary(Func::Exp, bc);
        assert_eq!(plain(&g, e), "exp(b + c)");
        let e = g.pow(e, two);
        assert_eq!(plain(&g, e), "exp(b + c)^2");
    }

    #[test]
    fn negative_numbers_and_negations() {
        let (mut g, [a, b, _, _, x]) = leaves();
        let m3 = g.constant(-3.0);
        let e = g.add(a, m3);
        assert_eq!(plain(&g, e), "-3 + a");
        let m2 = g.constant(-2.0);
        let e = g.mul(x, m2);
        assert_eq!(plain(&g, e), "-2*x0");
        let e = g.intern(Node::Unary(Func::Exp, m2));
        assert_eq!(plain(&g, e), "exp(-2)");
        let e = g.intern(Node::Binary(BinOp::Pow, m2, a));
        assert_eq!(plain(&g, e), "(-2)^a");
        // -(a - b) leads with the added term.
        let ab = g.sub(a, b);
        let e = g.intern(Node::Unary(Func::Neg, ab));
        assert_eq!(plain(&g, e), "b - a");
        // a + (-b) is a - b.
        let nb = g.intern(Node::Unary(Func::Neg, b));
        let e = g.intern(Node::Binary(BinOp::Add, a, nb));
        assert_eq!(plain(&g, e), "a - b");
        // a * (-b) is -a*b.
        let e = g.intern(Node::Binary(BinOp::Mul, a, nb));
        assert_eq!(plain(&g, e), "-a*b");
        let half = g.constant(-0.5);
        assert_eq!(plain(&g, half), "-1/2");
    }

    #[test]
    fn division_forms() {
        let (mut g, [a, b, c, _, x]) = leaves();
        let one = g.constant(1.0);
        let two = g.constant(2.0);
        // x^-1 is 1/x, x^-2 is 1/x^2.
        let m1 = g.constant(-1.0);
        let e = g.intern(Node::Binary(BinOp::Pow, x, m1));
        assert_eq!(plain(&g, e), "1/x0");
        let m2 = g.constant(-2.0);
        let e = g.intern(Node::Binary(BinOp::Pow, x, m2));
        assert_eq!(plain(&g, e), "1/x0^2");
        // u * (1/v) is u/v.
        let inv = g.intern(Node::Binary(BinOp::Div, one, b));
        let e = g.intern(Node::Binary(BinOp::Mul, a, inv));
        assert_eq!(plain(&g, e), "a/b");
        // (a/b)/c and a/(b/c).
        let ab = g.div(a, b);
        let e = g.div(ab, c);
        assert_eq!(plain(&g, e), "a/(b*c)");
        let bc = g.div(b, c);
        let e = g.intern(Node::Binary(BinOp::Div, a, bc));
        assert_eq!(plain(&g, e), "a*c/b");
        // Powers of one base combine: b / (b^2 * b^2) = 1/b^3.
        let b2 = g.pow(b, two);
        let den = g.intern(Node::Binary(BinOp::Mul, b2, b2));
        let e = g.intern(Node::Binary(BinOp::Div, b, den));
        assert_eq!(plain(&g, e), "1/b^3");
        // Halves: (n/2)*log(2*pi) style, (a + b)/2, (1/2)*exp(a).
        let half = g.constant(0.5);
        let n = g.row_count();
        let ex = g.unary(Func::Exp, a);
        let t = g.intern(Node::Binary(BinOp::Mul, half, ex));
        let e = g.intern(Node::Binary(BinOp::Mul, n, t));
        assert_eq!(plain(&g, e), "(n/2)*exp(a)");
        assert_eq!(plain(&g, t), "(1/2)*exp(a)");
        let apb = g.add(a, b);
        let e = g.mul(half, apb);
        assert_eq!(plain(&g, e), "(a + b)/2");
        // A numeric denominator joins the others: (a - b)^2/(2*c^2).
        let amb = g.sub(a, b);
        let sq = g.pow(amb, two);
        let c2 = g.pow(c, two);
        let den = g.mul(two, c2);
        let e = g.div(sq, den);
        assert_eq!(plain(&g, e), "(a - b)^2/(2*c^2)");
        assert_eq!(tex(&g, e), "\\frac{\\left(a - b\\right)^{2}}{2\\,c^{2}}");
        // -(a - b)/c is (b - a)/c.
        let q = g.div(amb, c);
        let e = g.neg(q);
        assert_eq!(plain(&g, e), "(b - a)/c");
    }

    #[test]
    fn big_operators_and_spaced_quotients() {
        let (mut g, [a, b, c, _, x]) = leaves();
        let two = g.constant(2.0);
        let bx = g.mul(b, x);
        let r = g.sub(x, a);
        let r = g.sub(r, bx);
        let sq = g.pow(r, two);
        let c2 = g.pow(c, two);
        let den = g.mul(two, c2);
        let q = g.div(sq, den);
        let s = g.intern(Node::Sum(q));
        assert_eq!(plain(&g, s), "sum_i (x0 - a - b*x0)^2 / (2*c^2)");
        assert_eq!(
            tex(&g, s),
            "\\sum_i \\frac{\\left(x0 - a - b\\,x0\\right)^{2}}{2\\,c^{2}}"
        );
        // A summand that is a sum is bracketed; a sum before another term is too.
        let ax = g.add(a, x);
        let s = g.intern(Node::Sum(ax));
        assert_eq!(plain(&g, s), "sum_i (a + x0)");
        let e = g.intern(Node::Binary(BinOp::Add, s, c));
        assert_eq!(plain(&g, e), "(sum_i (a + x0)) + c");
        let e = g.intern(Node::Binary(BinOp::Add, c, s));
        assert_eq!(plain(&g, e), "c + sum_i (a + x0)");
        // Over labels: sum_j beta[j]*X_ij.
        let p = g.mul(a, x);
        let over = |id: NodeId, node: &Node| {
            if id == p {
                Some(Label::Over("sum_j".into()))
            } else {
                names(id, node)
            }
        };
        let e = g.add(b, p);
        assert_eq!(g.to_infix(e, &over, false), "b + sum_j a*x0");
        let e = g.pow(p, two);
        assert_eq!(g.to_infix(e, &over, false), "(sum_j a*x0)^2");
    }

    #[test]
    fn log_forms() {
        let (mut g, [a, b, _, _, x]) = leaves();
        let one = g.constant(1.0);
        let y1 = g.add(one, x);
        let e = g.unary(Func::Lgamma, y1);
        assert_eq!(plain(&g, e), "log(x0!)");
        assert_eq!(tex(&g, e), "\\log(x0!)");
        // With a parameter inside it stays lgamma.
        let a1 = g.add(one, a);
        let e = g.unary(Func::Lgamma, a1);
        assert_eq!(plain(&g, e), "lgamma(1 + a)");
        let e = g.unary(Func::Log1p, b);
        assert_eq!(plain(&g, e), "log(1 + b)");
        let zero = g.constant(0.0);
        let e = g.log_sum_exp(vec![zero, a, b]);
        assert_eq!(plain(&g, e), "log(1 + exp(a) + exp(b))");
        let d = g.sub(x, a);
        let e = g.unary(Func::Abs, d);
        assert_eq!(plain(&g, e), "|x0 - a|");
        assert_eq!(tex(&g, e), "\\lvert x0 - a \\rvert");
    }

    // ---- Round trip: print, parse with the model grammar, evaluate -----------

    fn eval_graph(g: &Graph, id: NodeId, vals: &[f64]) -> f64 {
        match g.node(id) {
            Node::Const(bits) => f64::from_bits(*bits),
            Node::Param(k) => vals[*k as usize],
            Node::Data(c) => vals[4 + *c as usize],
            Node::Unary(f, a) => f.apply(eval_graph(g, *a, vals)),
            Node::Binary(op, a, b) => {
                apply_binary(*op, eval_graph(g, *a, vals), eval_graph(g, *b, vals))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn eval_ast(e: &Expr, vals: &[f64]) -> f64 {
        match &e.kind {
            ExprKind::Number(v) => *v,
            ExprKind::Name(n) => match n.as_str() {
                "a" => vals[0],
                "b" => vals[1],
                "c" => vals[2],
                "d" => vals[3],
                "x0" => vals[4],
                other => panic!("unknown name {other}"),
            },
            ExprKind::Neg(a) => -eval_ast(a, vals),
            ExprKind::Binary { op, lhs, rhs } => apply_binary(
                crate::model::graph_op(*op),
                eval_ast(lhs, vals),
                eval_ast(rhs, vals),
            ),
            ExprKind::Call { func, args } => Func::from_name(&func.name)
                .expect("builtin")
                .apply(eval_ast(&args[0], vals)),
            ExprKind::Index { .. } => panic!("no indexing expected"),
        }
    }

    /// xorshift64*: a small deterministic generator for test expressions.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_expr(g: &mut Graph, rng: &mut Rng, depth: u32) -> NodeId {
        if depth == 0 || rng.below(4) == 0 {
            return match rng.below(7) {
                0 => g.constant([-3.0, -1.0, 0.5, 1.0, 2.0, 2.5, -0.5][rng.below(7) as usize]),
                1..=4 => g.param(rng.below(4) as u32),
                _ => g.data(0),
            };
        }
        let a = random_expr(g, rng, depth - 1);
        match rng.below(9) {
            0 => g.unary(Func::Neg, a),
            1 => g.unary(Func::Exp, a),
            2 => {
                let k = g.constant([-2.0, -1.0, 2.0, 3.0][rng.below(4) as usize]);
                g.intern(Node::Binary(BinOp::Pow, a, k))
            }
            3 => {
                let sq = g.constant(2.0);
                let a2 = g.pow(a, sq);
                let one = g.constant(1.0);
                let pos = g.add(one, a2);
                g.unary(Func::Log, pos)
            }
            op => {
                let b = random_expr(g, rng, depth - 1);
                let op = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div][(op - 4) as usize % 4];
                // Half of the time unsimplified, to print raw shapes too.
                if rng.below(2) == 0 {
                    g.binary(op, a, b)
                } else {
                    g.intern(Node::Binary(op, a, b))
                }
            }
        }
    }

    #[test]
    fn printed_text_parses_back_to_the_same_value() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let vals = [0.7, -1.3, 1.9, 0.4, 2.2];
        for case in 0..3000 {
            let mut g = Graph::new();
            let e = random_expr(&mut g, &mut rng, 5);
            let want = eval_graph(&g, e, &vals);
            let text = plain(&g, e);
            if text.contains("inf") || text.contains("NaN") {
                continue; // a constant folded to a non-number
            }
            let parsed = crate::syntax::parse_expr(&text)
                .unwrap_or_else(|_| panic!("case {case}: `{text}` does not parse"));
            let got = eval_ast(&parsed, &vals);
            if want.is_finite() && want.abs() < 1e12 {
                // log(1 + u) in the text against log1p(u) in the graph loses digits for tiny u.
                let tol = 1e-6 * want.abs().max(1.0);
                assert!(
                    (got - want).abs() <= tol,
                    "case {case}: `{text}` gives {got}, the graph {want}"
                );
            }
        }
    }
}
