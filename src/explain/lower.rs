//! Model expressions to a symbolic graph, without data.
//!
//! The compiler lowers a model on its data; `explain` needs the same graph
//! shape with names instead of columns. Each scalar data name becomes a
//! `Node::Data` placeholder written `x_i`; each scalar parameter (or element
//! named by constant indices) a `Node::Param` leaf; consts and `pi` are leaves
//! too, so they are written by name instead of being folded into numbers.
//!
//! Vectors stay symbolic: `data X = [...]` is one leaf `X_ij`, `param
//! beta[10]` one leaf `beta[j]`, and `dot(beta, X)` is their product written
//! `sum_j beta[j]*X_ij`; its derivative in the leaf `beta[j]` is `X_ij`. A
//! factor-indexed element `u[g]` is a per-row selection of one leaf, written
//! `u[g_i]`, whose derivative in `u[l]` holds on the rows with `g_i = l`.

use std::collections::HashMap;

use crate::graph::{Func, Graph, Label, Node, NodeId, Prec};
use crate::model::{Model, ParamDim};
use crate::syntax::ast::{BinOp, DataKind, Expr, ExprKind};

use super::text::{ident, Both};

/// What a `Node::Param` leaf stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum LeafKind {
    /// (Part of) the model parameter symbol with this index in `Ctx::psyms`.
    Param(usize),
    /// A const, `pi`, or another fixed quantity.
    Constant,
    /// A distribution argument written by its name (`mu_i`); `row` when the
    /// argument varies by row.
    Arg { row: bool },
}

/// A parameter as the derivatives see it: `b1`, `beta[j]`, `u[l]`.
#[derive(Debug, Clone)]
pub struct ParamSym {
    pub name: Both,
    /// Index of the declaration in `Model::params`, for ordering.
    pub decl: usize,
    /// The leaves that stand for it (`beta[j]` and `sum_j beta[j]`).
    pub leaves: Vec<u32>,
    /// For a factor-indexed element, the rows it acts on: `g_i = l`.
    pub rows: Option<Both>,
}

/// A lowered expression.
#[derive(Debug, Clone)]
pub enum Val {
    Scalar(NodeId),
    Vector(Vector),
    /// A parameter matrix, usable only through indexing.
    Matrix(String),
}

/// A text that is equal for equal values: a function call's cache key.
fn val_key(v: &Val) -> String {
    match v {
        Val::Scalar(n) => format!("s{n:?}"),
        Val::Vector(v) => format!("v{:?}/{}/{:?}", v.elem, v.len, v.source),
        Val::Matrix(name) => format!("m{name}"),
    }
}

/// A symbolic vector: the node of its j-th element, and where it came from
/// (for constant indexing).
#[derive(Debug, Clone)]
pub struct Vector {
    pub elem: NodeId,
    pub len: usize,
    pub source: VecSource,
}

#[derive(Debug, Clone)]
pub enum VecSource {
    Data(Vec<String>),
    /// A parameter with the indices fixed so far (the free one last).
    Param {
        base: String,
        fixed: Vec<Part>,
    },
}

/// One index of a parameter element.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Fixed(usize),
    Level(String),
    Free,
}

/// The symbolic graph of one statement with everything needed to name its
/// nodes.
pub struct Ctx<'m> {
    pub model: &'m Model,
    pub g: Graph,
    leaves: HashMap<u32, (Both, Prec, LeafKind)>,
    data: HashMap<u32, (Both, Prec)>,
    labels: HashMap<NodeId, (Both, bool)>,
    pub psyms: Vec<ParamSym>,
    by_key: HashMap<String, NodeId>,
    factor_cols: Vec<String>,
    expanding: Vec<String>,
    /// The value of each function call expanded so far, by the function's
    /// name and its arguments' values.
    calls: HashMap<String, Val>,
    /// Explanations of the notation used: a symbol (`X_ij`, `beta[j]`,
    /// `u[g_i]`) and words about it.
    pub notes: Vec<(Both, String)>,
    pub n: NodeId,
    pub pi: NodeId,
}

type Lowered<T> = Result<T, String>;

impl<'m> Ctx<'m> {
    pub fn new(model: &'m Model) -> Ctx<'m> {
        let mut g = Graph::new();
        let n = g.row_count();
        let mut cx = Ctx {
            model,
            g,
            leaves: HashMap::new(),
            data: HashMap::new(),
            labels: HashMap::new(),
            psyms: Vec::new(),
            by_key: HashMap::new(),
            factor_cols: Vec::new(),
            expanding: Vec::new(),
            calls: HashMap::new(),
            notes: Vec::new(),
            n,
            pi: n,
        };
        cx.pi = cx.leaf(Both::new("pi", "\\pi"), Prec::Atom, LeafKind::Constant);
        cx
    }

    /// A new `Node::Param` leaf.
    pub fn leaf(&mut self, name: Both, prec: Prec, kind: LeafKind) -> NodeId {
        let k = self.leaves.len() as u32;
        self.leaves.insert(k, (name, prec, kind));
        self.g.param(k)
    }

    fn data_leaf(&mut self, key: String, name: Both, prec: Prec) -> NodeId {
        if let Some(id) = self.by_key.get(&key) {
            return *id;
        }
        let c = self.data.len() as u32;
        self.data.insert(c, (name, prec));
        let id = self.g.data(c);
        self.by_key.insert(key, id);
        id
    }

    pub fn leaf_kind(&self, k: u32) -> Option<&LeafKind> {
        self.leaves.get(&k).map(|(_, _, kind)| kind)
    }

    /// The parameter symbols a node depends on, in declaration order.
    pub fn params_of(&self, id: NodeId) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .g
            .info(id)
            .params
            .iter()
            .filter_map(|k| match self.leaf_kind(*k) {
                Some(LeafKind::Param(p)) => Some(*p),
                _ => None,
            })
            .collect();
        out.sort_by_key(|p| (self.psyms[*p].decl, *p));
        out.dedup();
        out
    }

    /// True when the node varies by row, directly or through an argument
    /// symbol that does.
    pub fn varies_by_row(&self, id: NodeId) -> bool {
        self.g.is_row(id)
            || self
                .g
                .info(id)
                .params
                .iter()
                .any(|k| matches!(self.leaf_kind(*k), Some(LeafKind::Arg { row: true })))
    }

    /// Names a node its own way in every printout.
    pub fn label(&mut self, id: NodeId, text: Both, over: bool) {
        self.labels.insert(id, (text, over));
    }

    pub fn factor_col(&mut self, name: &str) -> u32 {
        match self.factor_cols.iter().position(|f| f == name) {
            Some(i) => i as u32,
            None => {
                self.factor_cols.push(name.to_string());
                (self.factor_cols.len() - 1) as u32
            }
        }
    }

    /// The label of a node, with `extra` names taking precedence.
    pub fn name_of(
        &self,
        id: NodeId,
        node: &Node,
        latex: bool,
        extra: &HashMap<NodeId, Both>,
    ) -> Option<Label> {
        if let Some(t) = extra.get(&id) {
            return Some(Label::name(t.get(latex)));
        }
        if let Some((t, over)) = self.labels.get(&id) {
            return Some(if *over {
                Label::Over(t.get(latex).to_string())
            } else {
                Label::name(t.get(latex))
            });
        }
        match node {
            // An underscore in \operatorname would start a subscript.
            Node::Unary(Func::InvMills, a) if latex => {
                let inner = self.show_with(*a, latex, extra);
                let arg = if inner.prec == Prec::Atom {
                    format!("({})", inner.text)
                } else {
                    format!("\\left({}\\right)", inner.text)
                };
                Some(Label::Text(
                    format!("\\operatorname{{inv\\_mills}}{arg}"),
                    Prec::Atom,
                ))
            }
            Node::Param(k) => self
                .leaves
                .get(k)
                .map(|(t, p, _)| Label::Text(t.get(latex).to_string(), *p)),
            Node::Data(c) => self
                .data
                .get(c)
                .map(|(t, p)| Label::Text(t.get(latex).to_string(), *p)),
            Node::RowCount => Some(Label::name("n")),
            _ => None,
        }
    }

    /// A node as text, with `extra` names.
    pub fn show_with(
        &self,
        id: NodeId,
        latex: bool,
        extra: &HashMap<NodeId, Both>,
    ) -> crate::graph::Infix {
        let names = |i: NodeId, node: &Node| self.name_of(i, node, latex, extra);
        self.g.infix(id, &names, latex)
    }

    pub fn show(&self, id: NodeId, latex: bool) -> crate::graph::Infix {
        self.show_with(id, latex, &HashMap::new())
    }

    pub fn both(&self, id: NodeId) -> Both {
        Both::new(self.show(id, false).text, self.show(id, true).text)
    }

    fn note(&mut self, symbol: Both, words: String) {
        if !self.notes.iter().any(|(s, _)| *s == symbol) {
            self.notes.push((symbol, words));
        }
    }

    /// `f(a)`, kept as a call when `a` is a number so `log(10)` stays
    /// readable instead of becoming 2.302585092994046.
    pub fn call(&mut self, f: Func, a: NodeId) -> NodeId {
        if self.g.as_const(a).is_some() {
            self.g.intern(Node::Unary(f, a))
        } else {
            self.g.unary(f, a)
        }
    }

    // ---- Parameters -------------------------------------------------------

    /// The leaf (or per-row selection of a leaf) for parameter `base` with
    /// the given index parts.
    fn param_element(&mut self, base: &str, parts: &[Part]) -> NodeId {
        let decl = self
            .model
            .params
            .iter()
            .position(|p| p.name == base)
            .unwrap_or(usize::MAX);
        let mut level_vars = ["l", "m"].iter();
        let mut sym_parts: Vec<String> = Vec::new();
        let mut row_parts: Vec<(String, String)> = Vec::new();
        let mut rows_plain: Vec<String> = Vec::new();
        let mut rows_latex: Vec<String> = Vec::new();
        for p in parts {
            match p {
                Part::Fixed(v) => {
                    sym_parts.push(v.to_string());
                    row_parts.push((v.to_string(), v.to_string()));
                }
                Part::Free => {
                    sym_parts.push("j".into());
                    row_parts.push(("j".into(), "j".into()));
                }
                Part::Level(f) => {
                    let var = level_vars.next().copied().unwrap_or("l");
                    sym_parts.push(var.into());
                    let fi = ident(f, &["i"]);
                    rows_plain.push(format!("{} = {var}", fi.plain));
                    rows_latex.push(format!("{} = {var}", fi.latex));
                    row_parts.push((fi.plain, fi.latex));
                }
            }
        }
        let key = format!("param {base}[{}]", sym_parts.join(","));
        let leaf_node = match self.by_key.get(&key) {
            Some(id) => *id,
            None => {
                let name = if parts.is_empty() {
                    ident(base, &[])
                } else {
                    let subs: Vec<&str> = sym_parts.iter().map(|s| s.as_str()).collect();
                    Both::new(
                        format!("{base}[{}]", sym_parts.join(",")),
                        ident(base, &subs).latex,
                    )
                };
                let rows = if rows_plain.is_empty() {
                    None
                } else {
                    Some(Both::new(rows_plain.join(", "), rows_latex.join(",\\ ")))
                };
                let p = self.psyms.len();
                let k = self.leaves.len() as u32;
                self.psyms.push(ParamSym {
                    name: name.clone(),
                    decl,
                    leaves: vec![k],
                    rows,
                });
                let id = self.leaf(name, Prec::Atom, LeafKind::Param(p));
                self.by_key.insert(key, id);
                id
            }
        };
        let levels: Vec<&String> = parts
            .iter()
            .filter_map(|p| {
                if let Part::Level(f) = p {
                    Some(f)
                } else {
                    None
                }
            })
            .collect();
        let Some(first_factor) = levels.first().map(|s| s.to_string()) else {
            return leaf_node;
        };
        // Per row, the element of the row's level: a selection of one item
        // (interned as is, so it is not simplified away).
        let col = self.factor_col(&first_factor);
        let node = self.g.intern(Node::Select {
            col,
            items: vec![leaf_node],
        });
        let plain = format!(
            "{base}[{}]",
            row_parts
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let latex_subs: Vec<&str> = row_parts.iter().map(|(_, l)| l.as_str()).collect();
        let shown = Both::new(plain, ident(base, &latex_subs).latex);
        self.label(node, shown.clone(), false);
        self.note(
            shown,
            format!(": the element of {base} for the level of {first_factor} on row i"),
        );
        node
    }

    /// A declared parameter used by name.
    fn param_value(&mut self, name: &str) -> Lowered<Val> {
        let p = self
            .model
            .param(name)
            .ok_or_else(|| format!("unknown parameter `{name}`"))?;
        match p.dims.as_slice() {
            [] => Ok(Val::Scalar(self.param_element(name, &[]))),
            [ParamDim::Size(n)] => {
                let n = *n;
                Ok(Val::Vector(self.param_vector(name, vec![], n)))
            }
            [ParamDim::Factor(f)] => Err(format!(
                "`{name}` has one value per level of `{f}` and needs an index"
            )),
            _ => Ok(Val::Matrix(name.to_string())),
        }
    }

    fn param_vector(&mut self, base: &str, fixed: Vec<Part>, len: usize) -> Vector {
        let mut parts = fixed.clone();
        parts.push(Part::Free);
        let elem = self.param_element(base, &parts);
        let shown = self.both(elem);
        self.note(shown, format!(": element j of {base}, j = 1..{len}"));
        Vector {
            elem,
            len,
            source: VecSource::Param {
                base: base.to_string(),
                fixed,
            },
        }
    }

    // ---- Expressions ------------------------------------------------------

    pub fn scalar(&mut self, e: &Expr, env: &HashMap<String, Val>) -> Lowered<NodeId> {
        match self.expr(e, env)? {
            Val::Scalar(n) => Ok(n),
            Val::Vector(_) => Err("a vector where a number is expected".into()),
            Val::Matrix(m) => Err(format!("the matrix `{m}` where a number is expected")),
        }
    }

    /// The elements of a number or vector expression: the number itself,
    /// or one node per element of a vector of data columns or of a
    /// parameter (`w[1]`, `w[2]`, ...).
    pub fn elements(&mut self, e: &Expr, env: &HashMap<String, Val>) -> Lowered<Vec<NodeId>> {
        let notes = self.notes.len();
        match self.expr(e, env)? {
            Val::Scalar(n) => Ok(vec![n]),
            Val::Vector(v) => {
                // The elements are written one by one, not as element j.
                self.notes.truncate(notes);
                Ok(match v.source {
                    VecSource::Data(cols) => cols
                        .iter()
                        .map(|c| self.data_leaf(format!("data {c}"), ident(c, &["i"]), Prec::Atom))
                        .collect(),
                    VecSource::Param { base, fixed } => (1..=v.len)
                        .map(|k| {
                            let mut parts = fixed.clone();
                            parts.push(Part::Fixed(k));
                            self.param_element(&base, &parts)
                        })
                        .collect(),
                })
            }
            Val::Matrix(m) => Err(format!(
                "the matrix `{m}` where a number or a vector is expected"
            )),
        }
    }

    fn vector(&mut self, e: &Expr, env: &HashMap<String, Val>) -> Lowered<Vector> {
        match self.expr(e, env)? {
            Val::Vector(v) => Ok(v),
            _ => Err("a number or matrix where a vector is expected".into()),
        }
    }

    pub fn expr(&mut self, e: &Expr, env: &HashMap<String, Val>) -> Lowered<Val> {
        match &e.kind {
            ExprKind::Number(v) => Ok(Val::Scalar(self.g.constant(*v))),
            ExprKind::Name(n) => self.name(n, env),
            ExprKind::Neg(a) => {
                let a = self.scalar(a, env)?;
                Ok(Val::Scalar(self.g.neg(a)))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.scalar(lhs, env)?;
                let b = self.scalar(rhs, env)?;
                // Sums and products keep the operands in the order written.
                let node = match op {
                    BinOp::Add => super::family::add_in_order(&mut self.g, a, b),
                    BinOp::Mul => super::family::mul_in_order(&mut self.g, a, b),
                    _ => self.g.binary(crate::model::graph_op(*op), a, b),
                };
                Ok(Val::Scalar(node))
            }
            ExprKind::Call { func, args } => self.call_expr(&func.name, args, env),
            ExprKind::Index { base, indices } => self.index(&base.name, indices, env),
        }
    }

    fn name(&mut self, n: &str, env: &HashMap<String, Val>) -> Lowered<Val> {
        if let Some(v) = env.get(n) {
            return Ok(v.clone());
        }
        if let Some(dv) = self.model.data_var(n) {
            if dv.kind == DataKind::Factor {
                return Err(format!("the factor `{n}` is used as a number"));
            }
            if dv.is_vector {
                let name = ident(n, &["i", "j"]);
                let elem = self.data_leaf(format!("data {n}[j]"), name.clone(), Prec::Atom);
                self.note(
                    name.clone(),
                    format!(": column j of {n} = [{}] on row i", dv.columns.join(", ")),
                );
                return Ok(Val::Vector(Vector {
                    elem,
                    len: dv.columns.len(),
                    source: VecSource::Data(dv.columns.clone()),
                }));
            }
            let id = self.data_leaf(format!("data {n}"), ident(n, &["i"]), Prec::Atom);
            return Ok(Val::Scalar(id));
        }
        if self.model.param(n).is_some() {
            return self.param_value(n);
        }
        if self.model.const_value(n).is_some() {
            let key = format!("const {n}");
            if let Some(id) = self.by_key.get(&key) {
                return Ok(Val::Scalar(*id));
            }
            let id = self.leaf(ident(n, &[]), Prec::Atom, LeafKind::Constant);
            self.by_key.insert(key, id);
            return Ok(Val::Scalar(id));
        }
        if n == "pi" {
            return Ok(Val::Scalar(self.pi));
        }
        if self.model.func(n).is_some() {
            return self.call_expr(n, &[], env);
        }
        Err(format!("unknown name `{n}`"))
    }

    fn call_expr(&mut self, f: &str, args: &[Expr], env: &HashMap<String, Val>) -> Lowered<Val> {
        if let Some(func) = Func::from_name(f) {
            let a = self.scalar(&args[0], env)?;
            return Ok(Val::Scalar(self.call(func, a)));
        }
        match f {
            "pow" => {
                let a = self.scalar(&args[0], env)?;
                let b = self.scalar(&args[1], env)?;
                return Ok(Val::Scalar(self.g.pow(a, b)));
            }
            "dot" => {
                let a = self.vector(&args[0], env)?;
                let b = self.vector(&args[1], env)?;
                if a.len != b.len {
                    return Err(format!(
                        "`dot` of vectors of lengths {} and {}",
                        a.len, b.len
                    ));
                }
                // sum_j a_j b_j: the product of the two j-th elements under
                // a `sum_j` label.
                let p = self.g.mul(a.elem, b.elem);
                let p = if self.g.node(p) == &Node::Binary(crate::graph::BinOp::Mul, b.elem, a.elem)
                {
                    self.g
                        .intern(Node::Binary(crate::graph::BinOp::Mul, a.elem, b.elem))
                } else {
                    p
                };
                self.label(p, Both::new("sum_j", "\\sum_j"), true);
                return Ok(Val::Scalar(p));
            }
            "sum" => {
                let v = self.vector(&args[0], env)?;
                let shown = self.both(v.elem);
                let name = Both::new(
                    format!("sum_j {}", shown.plain),
                    format!("\\sum_j {}", shown.latex),
                );
                return match v.source {
                    VecSource::Data(_) => {
                        let key = format!("sum of {}", shown.plain);
                        Ok(Val::Scalar(self.data_leaf(key, name, Prec::Big)))
                    }
                    VecSource::Param { .. } if matches!(self.g.node(v.elem), Node::Param(_)) => {
                        // A leaf of the same parameter symbol: its derivative
                        // in beta[j] is 1.
                        let Node::Param(k) = *self.g.node(v.elem) else {
                            unreachable!()
                        };
                        let Some(LeafKind::Param(p)) = self.leaf_kind(k).cloned() else {
                            return Err("`sum` of an unnamed vector".into());
                        };
                        let id = self.leaf(name, Prec::Big, LeafKind::Param(p));
                        if let Node::Param(k2) = *self.g.node(id) {
                            self.psyms[p].leaves.push(k2);
                        }
                        Ok(Val::Scalar(id))
                    }
                    VecSource::Param { .. } => {
                        Err("`sum` over a factor-indexed vector is not written out".into())
                    }
                };
            }
            _ => {}
        }
        let def = self
            .model
            .func(f)
            .ok_or_else(|| format!("unknown function `{f}`"))?
            .clone();
        if self.expanding.iter().any(|x| x == f) {
            return Err(format!("function `{f}` calls itself"));
        }
        let mut inner = HashMap::new();
        let mut key = vec![f.to_string()];
        for (name, a) in def.args.iter().zip(args) {
            let v = self.expr(a, env)?;
            key.push(val_key(&v));
            inner.insert(name.clone(), v);
        }
        // The same function of the same argument nodes is the same node:
        // expanded once, so functions that call each other repeatedly
        // take linear, not exponential, time (as in the compiler).
        let key = key.join("|");
        if let Some(v) = self.calls.get(&key) {
            return Ok(v.clone());
        }
        self.expanding.push(f.to_string());
        let result = self.expr(&def.body, &inner);
        self.expanding.pop();
        if self.g.len() > crate::compile::MAX_GRAPH_NODES {
            return Err(format!(
                "the model grows past {} graph nodes while expanding `{f}`",
                crate::compile::MAX_GRAPH_NODES
            ));
        }
        if let Ok(v) = &result {
            self.calls.insert(key, v.clone());
        }
        result
    }

    fn index(&mut self, base: &str, indices: &[Expr], env: &HashMap<String, Val>) -> Lowered<Val> {
        // A data vector (or a vector passed to a function) by position.
        let value = if let Some(v) = env.get(base) {
            Some(v.clone())
        } else {
            None
        };
        let is_data = self.model.data_var(base).is_some();
        if value.is_some() || is_data {
            let v = match value {
                Some(v) => v,
                None => self.name(base, env)?,
            };
            let Val::Vector(vec) = v else {
                return Err(format!("`{base}` cannot be indexed"));
            };
            if indices.len() != 1 {
                return Err(format!("`{base}` is a vector and takes one index"));
            }
            let k = self.constant_index(&indices[0], vec.len, base)?;
            return match vec.source {
                VecSource::Data(cols) => {
                    let col = cols[k - 1].clone();
                    Ok(Val::Scalar(self.data_leaf(
                        format!("data {col}"),
                        ident(&col, &["i"]),
                        Prec::Atom,
                    )))
                }
                VecSource::Param {
                    base: pb,
                    mut fixed,
                } => {
                    fixed.push(Part::Fixed(k));
                    Ok(Val::Scalar(self.param_element(&pb, &fixed)))
                }
            };
        }
        let p = self
            .model
            .param(base)
            .ok_or_else(|| format!("`{base}` cannot be indexed"))?
            .clone();
        if indices.len() > p.dims.len() {
            return Err(format!("`{base}` is given too many indices"));
        }
        let mut parts = Vec::new();
        for (d, idx) in p.dims.iter().zip(indices) {
            if let ExprKind::Name(n) = &idx.kind {
                if self
                    .model
                    .data_var(n)
                    .is_some_and(|dv| dv.kind == DataKind::Factor)
                {
                    parts.push(Part::Level(n.clone()));
                    continue;
                }
            }
            let size = match d {
                ParamDim::Size(s) => *s,
                ParamDim::Factor(_) => usize::MAX,
            };
            parts.push(Part::Fixed(self.constant_index(idx, size, base)?));
        }
        match p.dims.len() - indices.len() {
            0 => Ok(Val::Scalar(self.param_element(base, &parts))),
            1 => match p.dims.last() {
                Some(ParamDim::Size(n)) => {
                    let n = *n;
                    if parts.iter().any(|x| matches!(x, Part::Level(_))) {
                        let mut all = parts.clone();
                        all.push(Part::Free);
                        let elem = self.param_element(base, &all);
                        Ok(Val::Vector(Vector {
                            elem,
                            len: n,
                            source: VecSource::Param {
                                base: base.into(),
                                fixed: parts,
                            },
                        }))
                    } else {
                        Ok(Val::Vector(self.param_vector(base, parts, n)))
                    }
                }
                _ => Err(format!(
                    "a row of `{base}` indexed by a factor is not written out"
                )),
            },
            _ => Err(format!("`{base}` needs more indices")),
        }
    }

    fn constant_index(&self, e: &Expr, size: usize, base: &str) -> Lowered<usize> {
        let v = crate::model::eval_const(e, &self.model.consts)
            .map_err(|_| format!("an index of `{base}` must be a whole number or a factor"))?;
        if v.fract() != 0.0 || v < 1.0 || v > size as f64 {
            return Err(format!("index {v} is out of range for `{base}`"));
        }
        Ok(v as usize)
    }
}
