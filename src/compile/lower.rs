//! Expressions and statements to graph nodes.

use crate::data::SourceRows;
use std::collections::HashMap;

use super::{ColRef, LoweredStatement, ParamElement};
use crate::data::{Column, DataSet};
use crate::diag::{Diagnostic, Span};
use crate::dist::{self, Support};
use crate::eval::Columns;
use crate::graph::{Func, Graph, NodeId};
use crate::model::{eval_const, graph_op, Model, ParamDim};
use crate::syntax::ast::{DataKind, Expr, ExprKind};

/// A lowered expression: a number (per row or not), or a vector or matrix
/// of them.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Scalar(NodeId),
    Vector(Vec<NodeId>),
    Matrix { n_cols: usize, items: Vec<NodeId> },
}

/// A declared parameter as lowered: its element nodes and the size of each
/// dimension (with the factor it is indexed by, if any).
#[derive(Debug, Clone)]
struct ParamShape {
    dims: Vec<(usize, Option<String>)>,
    nodes: Vec<NodeId>,
}

pub(super) struct Lowerer<'a> {
    model: &'a Model,
    data: &'a DataSet,
    /// The evaluator's columns and the source rows: `data` may no longer
    /// hold its values (see `compile::compile_taking`).
    columns: &'a Columns,
    source_rows: &'a SourceRows,
    cols: &'a HashMap<String, ColRef>,
    graph: &'a mut Graph,
    shapes: HashMap<String, ParamShape>,
    /// Functions being expanded, to report recursion instead of looping.
    expanding: Vec<String>,
    /// Factor columns made from integer columns (Categorical on 1..K): the
    /// name of the integer column, the codes and K.
    derived_factors: Vec<(String, Vec<u32>, usize)>,
    n_factor_cols: usize,
    /// Results of function calls by function and argument nodes.
    call_cache: HashMap<String, Value>,
}

type Lowered<T> = Result<T, Diagnostic>;

/// A model whose graph grows past this many nodes is refused: with shared
/// subexpressions stored once, real models stay far below (a 300-covariate
/// regression has tens of thousands), while runaway function expansion
/// would exhaust memory.
pub(crate) const MAX_GRAPH_NODES: usize = 5_000_000;

impl<'a> Lowerer<'a> {
    pub(super) fn new(
        model: &'a Model,
        data: &'a DataSet,
        columns: &'a Columns,
        source_rows: &'a SourceRows,
        cols: &'a HashMap<String, ColRef>,
        graph: &'a mut Graph,
    ) -> Lowerer<'a> {
        let n_factor_cols = cols
            .values()
            .filter(|c| matches!(c, ColRef::Factor { .. }))
            .count();
        Lowerer {
            model,
            data,
            columns,
            source_rows,
            cols,
            graph,
            shapes: HashMap::new(),
            expanding: Vec::new(),
            derived_factors: Vec::new(),
            n_factor_cols,
            call_cache: HashMap::new(),
        }
    }

    pub(super) fn into_derived_factors(self) -> Vec<(String, Vec<u32>, usize)> {
        self.derived_factors
    }

    fn levels_of(&self, factor: &str) -> Vec<String> {
        let col_name = self
            .model
            .data_var(factor)
            .map(|d| d.columns[0].clone())
            .unwrap_or_default();
        match self.data.column(&col_name) {
            Some(Column::Factor { levels, .. }) => levels.clone(),
            _ => Vec::new(),
        }
    }

    /// Gives every element of every parameter a coordinate of theta.
    pub(super) fn layout_params(&mut self) -> Vec<ParamElement> {
        let mut elements = Vec::new();
        for p in &self.model.params {
            let dims: Vec<(usize, Option<String>, Vec<String>)> = p
                .dims
                .iter()
                .map(|d| match d {
                    ParamDim::Size(n) => (*n, None, (1..=*n).map(|i| i.to_string()).collect()),
                    ParamDim::Factor(f) => {
                        let levels = self.levels_of(f);
                        (levels.len(), Some(f.clone()), levels)
                    }
                })
                .collect();
            let mut labels: Vec<Vec<String>> = vec![vec![]];
            for (_, _, names) in &dims {
                labels = labels
                    .iter()
                    .flat_map(|prefix| {
                        names.iter().map(move |n| {
                            let mut v = prefix.clone();
                            v.push(n.clone());
                            v
                        })
                    })
                    .collect();
            }
            let mut nodes = Vec::new();
            for label in labels {
                let name = if label.is_empty() {
                    p.name.clone()
                } else {
                    format!("{}[{}]", p.name, label.join(","))
                };
                let k = elements.len() as u32;
                let node = self.natural_node(k, p.transform);
                nodes.push(node);
                elements.push(ParamElement {
                    name,
                    param: p.name.clone(),
                    transform: p.transform,
                    start: p.start.unwrap_or(p.transform.default_start()),
                    node,
                    span: p.span,
                });
            }
            let shape_dims = dims.into_iter().map(|(n, f, _)| (n, f)).collect();
            self.shapes.insert(
                p.name.clone(),
                ParamShape {
                    dims: shape_dims,
                    nodes,
                },
            );
        }
        elements
    }

    /// Theta coordinate `k` (just past the parameters) holds the smoothing
    /// width of kinks; see `Graph::smooth_abs`.
    pub(super) fn declare_smoothing(&mut self, k: u32) {
        let delta = self.graph.param(k);
        self.graph.set_smoothing(delta);
    }

    // The natural value of theta_k under its transform:
    //   lower + exp(theta), upper - exp(theta), lower + (upper-lower) logistic(theta).
    fn natural_node(&mut self, k: u32, t: crate::model::Transform) -> NodeId {
        use crate::model::Transform::*;
        let g = &mut *self.graph;
        let theta = g.param(k);
        match t {
            Identity => theta,
            Lower(lo) => {
                let e = g.unary(Func::Exp, theta);
                let c = g.constant(lo);
                g.add(c, e)
            }
            Upper(hi) => {
                let e = g.unary(Func::Exp, theta);
                let c = g.constant(hi);
                g.sub(c, e)
            }
            Interval(lo, hi) => {
                let s = g.unary(Func::Logistic, theta);
                let w = g.constant(hi - lo);
                let ws = g.mul(w, s);
                let c = g.constant(lo);
                g.add(c, ws)
            }
        }
    }

    pub(super) fn lower_statements(&mut self) -> Result<Vec<LoweredStatement>, Vec<Diagnostic>> {
        let mut out = Vec::new();
        let mut diags = Vec::new();
        // Lowered in a canonical order (priors last, then by source text), so
        // the graph does not depend on the order statements were written in.
        let mut order: Vec<&crate::model::Statement> = self.model.statements.iter().collect();
        order.sort_by_cached_key(|s| (s.is_prior, statement_key(s)));
        for s in order {
            match self.lower_statement(s) {
                Ok(l) => out.push(l),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() {
            Ok(out)
        } else {
            Err(diags)
        }
    }

    fn lower_statement(&mut self, s: &crate::model::Statement) -> Lowered<LoweredStatement> {
        let env = HashMap::new();
        if let Some((kind, comps)) = &s.compound {
            return self.lower_compound(s, *kind, comps);
        }
        let arg_spans: Vec<Span> = s.args.iter().map(|a| a.span).collect();
        let mut args = Vec::new();
        for a in &s.args {
            args.push(self.scalar(a, &env)?);
        }

        if s.family.support == Support::Level {
            let col = self.observed_factor(&s.lhs, args.len())?;
            let term = match s.family.name {
                "Categorical" => dist::categorical(self.graph, col, &args),
                _ => dist::categorical_logit(self.graph, col, &args),
            };
            let y = self.graph.constant(f64::NAN);
            return Ok(LoweredStatement {
                family: s.family,
                is_prior: false,
                y,
                args,
                term,
                span: s.span,
                arg_spans,
                lhs_span: s.lhs.span,
                outcome_factor: Some(col),
                support: s.family.support,
                components: Vec::new(),
                component_log_joints: Vec::new(),
            });
        }

        let y = self.scalar(&s.lhs, &env)?;
        let term = s.family.neg_log_density(self.graph, y, &args);
        Ok(LoweredStatement {
            family: s.family,
            is_prior: s.is_prior,
            y,
            args,
            term,
            span: s.span,
            arg_spans,
            lhs_span: s.lhs.span,
            outcome_factor: None,
            support: s.family.support,
            components: Vec::new(),
            component_log_joints: Vec::new(),
        })
    }

    /// Lowers `y ~ Mixture(w, D1, ...)`, `MixtureLogit` or `ZeroInflated`.
    fn lower_compound(
        &mut self,
        s: &crate::model::Statement,
        kind: dist::mixture::Compound,
        comps: &[crate::model::Component],
    ) -> Lowered<LoweredStatement> {
        use dist::mixture::{self, Compound};
        let env = HashMap::new();
        let y = self.scalar(&s.lhs, &env)?;
        let weight_expr = &s.args[0];
        let weights = match self.expr(weight_expr, &env)? {
            Value::Scalar(w) => vec![w],
            Value::Vector(v) => v,
            Value::Matrix { .. } => {
                return Err(Diagnostic::error(
                    "E213",
                    "mixture weights must be a number or a vector",
                )
                .with_primary(weight_expr.span, "a matrix"));
            }
        };
        let mut components = Vec::new();
        let mut terms = Vec::new();
        for comp in comps {
            let mut args = Vec::new();
            for a in &comp.args {
                args.push(self.scalar(a, &env)?);
            }
            terms.push(comp.family.neg_log_density(self.graph, y, &args));
            components.push((comp.family, args, comp.span));
        }
        let mut component_log_joints = Vec::new();
        let term = match kind {
            Compound::ZeroInflated => {
                if weights.len() != 1 {
                    return Err(Diagnostic::error(
                        "E213",
                        "the zero-inflation probability must be a number",
                    )
                    .with_primary(weight_expr.span, "a vector"));
                }
                mixture::zero_inflated_term(self.graph, y, weights[0], terms[0])
            }
            Compound::Mixture if weights.len() > 1 => {
                return Err(Diagnostic::error("E224", "a mixture weighted by a vector of probabilities is not supported")
                    .with_primary(weight_expr.span, "a vector of weights")
                    .with_note("Nothing would keep independent probabilities summing to 1, and the NLL of weights that do not is not a likelihood.")
                    .with_help(format!(
                        "Use MixtureLogit(eta, ...) with a vector of {} linear predictors: the first component is the reference with predictor 0, and the weights are their softmax.",
                        comps.len() - 1
                    )));
            }
            Compound::Mixture | Compound::MixtureLogit => {
                let k = comps.len();
                let weights = mixture::with_reference_predictor(self.graph, kind, &weights, k);
                if !(weights.len() == k || (weights.len() == 1 && k == 2)) {
                    return Err(Diagnostic::error(
                        "E213",
                        format!("a mixture of {k} components needs {} linear predictors (or {k}), found {}", k - 1, weights.len()),
                    )
                    .with_primary(weight_expr.span, format!("{} weight(s)", weights.len())));
                }
                let log_w = mixture::log_weights(self.graph, kind, &weights, k);
                component_log_joints = mixture::log_joints(self.graph, &log_w, &terms);
                mixture::mixture_term(self.graph, &log_w, &terms)
            }
        };
        Ok(LoweredStatement {
            family: s.family,
            is_prior: false,
            y,
            args: weights,
            term,
            span: s.span,
            arg_spans: vec![weight_expr.span],
            lhs_span: s.lhs.span,
            outcome_factor: None,
            support: comps[0].family.support,
            components,
            component_log_joints,
        })
    }

    /// The factor column of a categorical observation: a factor data name,
    /// or an integer column holding 1..K.
    fn observed_factor(&mut self, lhs: &Expr, n_classes: usize) -> Lowered<u32> {
        let ExprKind::Name(name) = &lhs.kind else {
            return Err(Diagnostic::error(
                "E218",
                "the left side of a categorical statement must be a data column",
            )
            .with_primary(lhs.span, "not a column name"));
        };
        let dv = self
            .model
            .data_var(name)
            .ok_or_else(|| Diagnostic::bug(format!("unresolved `{name}`")))?;
        match (dv.kind, self.cols.get(&dv.columns[0])) {
            (DataKind::Factor, Some(ColRef::Factor { col, n_levels })) => {
                if *n_levels != n_classes {
                    let levels = self.levels_of(name);
                    return Err(Diagnostic::error(
                        "E321",
                        format!("`{name}` has {n_levels} levels but the distribution has {n_classes} linear predictors"),
                    )
                    .with_primary(lhs.span, format!("{n_levels} levels"))
                    .with_note(format!("The levels, in order, are: {}.", levels.join(", "))));
                }
                Ok(*col)
            }
            (DataKind::Int, Some(ColRef::Real(c))) => {
                let values = &self.data_real(*c);
                let mut codes = Vec::with_capacity(values.len());
                let mut bad = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    if *v >= 1.0 && *v <= n_classes as f64 {
                        codes.push(*v as u32 - 1);
                    } else {
                        bad.push(format!("row {} ({v})", self.source_rows.row_of(i)));
                        codes.push(0);
                    }
                }
                if !bad.is_empty() {
                    return Err(Diagnostic::error(
                        "E320",
                        format!(
                            "{} values of `{name}` are not classes 1..{n_classes}",
                            bad.len()
                        ),
                    )
                    .with_primary(
                        lhs.span,
                        format!("must be an integer from 1 to {n_classes}"),
                    )
                    .with_note(format!(
                        "Offending rows: {}.",
                        bad.iter()
                            .take(super::MAX_LISTED_ROWS)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                self.derived_factors.push((name.clone(), codes, n_classes));
                Ok((self.n_factor_cols + self.derived_factors.len() - 1) as u32)
            }
            _ => Err(Diagnostic::error(
                "E218",
                format!("`{name}` must be a factor or integer column to be a categorical outcome"),
            )
            .with_primary(lhs.span, "not a factor")
            .with_help(format!("Declare it with `data {name}: factor`."))),
        }
    }

    fn data_real(&self, c: u32) -> Vec<f64> {
        self.columns
            .real
            .get(c as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// Lowers an expression typed on its own, outside any statement.
    pub(super) fn probe(&mut self, e: &Expr) -> Lowered<NodeId> {
        self.scalar(e, &HashMap::new())
    }

    /// Lowers an expression that must be one number per row (or a scalar).
    fn scalar(&mut self, e: &Expr, env: &HashMap<String, Value>) -> Lowered<NodeId> {
        match self.expr(e, env)? {
            Value::Scalar(n) => Ok(n),
            Value::Vector(v) => Err(Diagnostic::error("E213", format!("expected a number, found a vector of {}", v.len()))
                .with_primary(e.span, "a vector")
                .with_help("Combine a vector with `dot(beta, X)` or `sum(v)`, or pick an element like `beta[1]`.")),
            Value::Matrix { .. } => Err(Diagnostic::error("E213", "expected a number, found a matrix")
                .with_primary(e.span, "a matrix")
                .with_help("Pick a row like `W[2]` or an element like `W[2, 1]`.")),
        }
    }

    fn expr(&mut self, e: &Expr, env: &HashMap<String, Value>) -> Lowered<Value> {
        match &e.kind {
            ExprKind::Number(v) => Ok(Value::Scalar(self.graph.constant(*v))),
            ExprKind::Name(n) => self.name(n, e.span, env),
            ExprKind::Neg(a) => {
                let a = self.scalar(a, env)?;
                Ok(Value::Scalar(self.graph.neg(a)))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.scalar(lhs, env)?;
                let b = self.scalar(rhs, env)?;
                Ok(Value::Scalar(self.graph.binary(graph_op(*op), a, b)))
            }
            ExprKind::Call { func, args } => self.call(&func.name, func.span, args, e.span, env),
            ExprKind::Index { base, indices } => {
                self.index(&base.name, base.span, indices, e.span, env)
            }
        }
    }

    fn name(&mut self, n: &str, span: Span, env: &HashMap<String, Value>) -> Lowered<Value> {
        if let Some(v) = env.get(n) {
            return Ok(v.clone());
        }
        if let Some(dv) = self.model.data_var(n) {
            if dv.kind == DataKind::Factor {
                return Err(
                    Diagnostic::error("E211", format!("factor `{n}` used as a number"))
                        .with_primary(span, "a factor")
                        .with_help(format!(
                            "Use it to pick a parameter per level, like `u[{n}]`."
                        )),
                );
            }
            let mut nodes = Vec::new();
            for c in &dv.columns {
                match self.cols.get(c) {
                    Some(ColRef::Real(i)) => nodes.push(self.graph.data(*i)),
                    _ => return Err(Diagnostic::bug(format!("column `{c}` was not loaded"))),
                }
            }
            return Ok(if dv.is_vector {
                Value::Vector(nodes)
            } else {
                Value::Scalar(nodes[0])
            });
        }
        if let Some(shape) = self.shapes.get(n) {
            return Ok(match shape.dims.len() {
                0 => Value::Scalar(shape.nodes[0]),
                1 if shape.dims[0].1.is_none() => Value::Vector(shape.nodes.clone()),
                1 => {
                    let f = shape.dims[0].1.clone().unwrap_or_default();
                    return Err(Diagnostic::error(
                        "E212",
                        format!("`{n}` has one value per level of `{f}` and needs an index"),
                    )
                    .with_primary(span, "not indexed")
                    .with_help(format!(
                        "Write `{n}[{f}]` for the value of each row's level."
                    )));
                }
                _ => Value::Matrix {
                    n_cols: shape.dims[1].0,
                    items: shape.nodes.clone(),
                },
            });
        }
        if let Some(v) = self.model.const_value(n) {
            return Ok(Value::Scalar(self.graph.constant(v)));
        }
        if n == "pi" {
            return Ok(Value::Scalar(self.graph.constant(std::f64::consts::PI)));
        }
        if self.model.func(n).is_some() {
            return self.call(n, span, &[], span, env);
        }
        Err(Diagnostic::bug(format!(
            "unresolved name `{n}` after checking"
        )))
    }

    fn call(
        &mut self,
        f: &str,
        f_span: Span,
        args: &[Expr],
        span: Span,
        env: &HashMap<String, Value>,
    ) -> Lowered<Value> {
        if let Some(func) = Func::from_name(f) {
            let a = self.scalar(&args[0], env)?;
            return Ok(Value::Scalar(self.graph.unary(func, a)));
        }
        match f {
            "pow" => {
                let a = self.scalar(&args[0], env)?;
                let b = self.scalar(&args[1], env)?;
                return Ok(Value::Scalar(self.graph.pow(a, b)));
            }
            "sum" => {
                let v = self.vector(&args[0], env)?;
                let mut total = self.graph.constant(0.0);
                for x in v {
                    total = self.graph.add(total, x);
                }
                return Ok(Value::Scalar(total));
            }
            "dot" => {
                // dot(a, b) = sum_j a_j b_j
                let a = self.vector(&args[0], env)?;
                let b = self.vector(&args[1], env)?;
                if a.len() != b.len() {
                    return Err(Diagnostic::error(
                        "E213",
                        format!(
                            "`dot` of vectors of different lengths, {} and {}",
                            a.len(),
                            b.len()
                        ),
                    )
                    .with_primary(args[0].span, format!("{} elements", a.len()))
                    .with_secondary(args[1].span, format!("{} elements", b.len())));
                }
                let mut total = self.graph.constant(0.0);
                for (x, y) in a.into_iter().zip(b) {
                    let p = self.graph.mul(x, y);
                    total = self.graph.add(total, p);
                }
                return Ok(Value::Scalar(total));
            }
            _ => {}
        }
        // The model outlives the lowerer: its body is read in place, not
        // copied at every call.
        let model: &'a Model = self.model;
        let Some(def) = model.func(f) else {
            return Err(Diagnostic::bug(format!(
                "unresolved function `{f}` after checking"
            )));
        };
        if self.expanding.iter().any(|x| x == f) {
            return Err(
                Diagnostic::error("E214", format!("function `{f}` calls itself"))
                    .with_primary(f_span, "recursive call")
                    .with_secondary(def.span, "defined here")
                    .with_note(
                        "Functions are expanded where they are used, so they cannot be recursive.",
                    ),
            );
        }
        let mut inner = HashMap::new();
        let mut key = vec![f.to_string()];
        for (name, a) in def.args.iter().zip(args) {
            let v = self.expr(a, env)?;
            key.push(value_key(&v));
            inner.insert(name.clone(), v);
        }
        // A function called again with the same argument nodes gives the
        // same nodes: reuse them instead of expanding the body again, so
        // functions that call each other repeatedly cost linear, not
        // exponential, time.
        let key = key.join("|");
        if let Some(v) = self.call_cache.get(&key) {
            return Ok(v.clone());
        }
        self.expanding.push(f.to_string());
        let result = self.expr(&def.body, &inner);
        self.expanding.pop();
        if self.graph.len() > MAX_GRAPH_NODES {
            return Err(Diagnostic::error("E219", format!("the model grows past {MAX_GRAPH_NODES} graph nodes while expanding `{f}`"))
                .with_primary(span, "expanded here")
                .with_note("Functions are expanded at every call; functions that call each other several times grow exponentially.")
                .with_help("Compute shared parts once in a function without arguments, or simplify the model."));
        }
        let result = result.map_err(|d| {
            if d.secondary.is_empty() {
                d.with_secondary(span, format!("in this call of `{f}`"))
            } else {
                d
            }
        });
        if let Ok(v) = &result {
            self.call_cache.insert(key, v.clone());
        }
        result
    }

    fn vector(&mut self, e: &Expr, env: &HashMap<String, Value>) -> Lowered<Vec<NodeId>> {
        match self.expr(e, env)? {
            Value::Vector(v) => Ok(v),
            Value::Scalar(_) => Err(
                Diagnostic::error("E213", "expected a vector, found a number")
                    .with_primary(e.span, "a number")
                    .with_help("Declare a vector with `param beta[3]` or `data X = [x1, x2, x3]`."),
            ),
            Value::Matrix { .. } => Err(Diagnostic::error(
                "E213",
                "expected a vector, found a matrix",
            )
            .with_primary(e.span, "a matrix")
            .with_help("Pick one row with `W[k]`.")),
        }
    }

    fn index(
        &mut self,
        base: &str,
        base_span: Span,
        indices: &[Expr],
        span: Span,
        env: &HashMap<String, Value>,
    ) -> Lowered<Value> {
        // Each index is a constant position (1-based) or a factor column.
        let (dims, nodes): (Vec<(usize, Option<String>)>, Vec<NodeId>) =
            if let Some(shape) = self.shapes.get(base) {
                (shape.dims.clone(), shape.nodes.clone())
            } else {
                match self.name(base, base_span, env)? {
                    Value::Vector(v) => (vec![(v.len(), None)], v),
                    Value::Matrix { n_cols, items } => {
                        (vec![(items.len() / n_cols, None), (n_cols, None)], items)
                    }
                    Value::Scalar(_) => {
                        return Err(Diagnostic::error(
                            "E212",
                            format!("`{base}` is a single number and cannot be indexed"),
                        )
                        .with_primary(span, "indexed here"));
                    }
                }
            };
        if dims.is_empty() {
            return Err(Diagnostic::error(
                "E212",
                format!("`{base}` is a single number and cannot be indexed"),
            )
            .with_primary(span, "indexed here"));
        }
        if indices.len() > dims.len() {
            return Err(Diagnostic::error(
                "E212",
                format!(
                    "`{base}` has {} but is given {} indices",
                    crate::model::plural(dims.len(), "dimension"),
                    indices.len()
                ),
            )
            .with_primary(span, "too many indices"));
        }

        // Start with all elements as a (rows x cols) table and narrow it one
        // dimension at a time.
        let mut current: Vec<Vec<NodeId>> = if dims.len() == 2 {
            nodes.chunks(dims[1].0).map(|c| c.to_vec()).collect()
        } else {
            nodes.iter().map(|n| vec![*n]).collect()
        };
        for (d, idx_expr) in indices.iter().enumerate() {
            let (size, factor) = &dims[d];
            let picked = self.pick(base, idx_expr, *size, factor.as_deref(), d, &current)?;
            current = picked;
            if d == 0 && dims.len() == 2 && indices.len() == 2 {
                // After the row index, index the columns of the chosen row.
                current = current[0].iter().map(|n| vec![*n]).collect();
            }
        }
        Ok(match (dims.len(), indices.len()) {
            (2, 1) => Value::Vector(current.into_iter().next().unwrap_or_default()),
            _ => Value::Scalar(current[0][0]),
        })
    }

    /// Narrows `table` (one entry per position of dimension `d`) by one index.
    fn pick(
        &mut self,
        base: &str,
        idx: &Expr,
        size: usize,
        factor: Option<&str>,
        _d: usize,
        table: &[Vec<NodeId>],
    ) -> Lowered<Vec<Vec<NodeId>>> {
        if let ExprKind::Name(n) = &idx.kind {
            if let Some(dv) = self.model.data_var(n) {
                if dv.kind != DataKind::Factor {
                    return Err(Diagnostic::error(
                        "E212",
                        format!("`{n}` is not a factor and cannot index `{base}`"),
                    )
                    .with_primary(idx.span, "not a factor")
                    .with_help(format!("Declare it with `data {n}: factor`.")));
                }
                let Some(ColRef::Factor { col, n_levels }) = self.cols.get(&dv.columns[0]).copied()
                else {
                    return Err(Diagnostic::bug(format!("factor `{n}` was not loaded")));
                };
                if let Some(f) = factor {
                    if f != n {
                        return Err(Diagnostic::error(
                            "E212",
                            format!("`{base}` has one element per level of `{f}`, not of `{n}`"),
                        )
                        .with_primary(idx.span, format!("expected `{f}`")));
                    }
                } else if n_levels != size {
                    return Err(Diagnostic::error(
                        "E212",
                        format!("`{n}` has {n_levels} levels but `{base}` has {size} elements"),
                    )
                    .with_primary(idx.span, "size mismatch"));
                }
                // Per row, the element of the row's level: select(col, items).
                let width = table[0].len();
                let row: Vec<NodeId> = (0..width)
                    .map(|j| {
                        let items: Vec<NodeId> = table.iter().map(|r| r[j]).collect();
                        self.graph.select(col, items)
                    })
                    .collect();
                return Ok(vec![row]);
            }
        }
        let consts = &self.model.consts;
        let v = eval_const(idx, consts).map_err(|_| {
            Diagnostic::error(
                "E212",
                format!("an index of `{base}` must be a whole number or a factor column"),
            )
            .with_primary(idx.span, "not a constant or a factor")
        })?;
        if v.fract() != 0.0 || v < 1.0 || v > size as f64 {
            return Err(Diagnostic::error(
                "E212",
                format!(
                    "index {v} is out of range for `{base}`, which has {}",
                    crate::model::plural(size, "element")
                ),
            )
            .with_primary(idx.span, format!("must be 1 to {size}"))
            .with_note("Indices count from 1."));
        }
        Ok(vec![table[v as usize - 1].clone()])
    }
}

/// A statement's text, canonically printed, as a sort key.
fn statement_key(s: &crate::model::Statement) -> String {
    use crate::syntax::print_expr;
    let args: Vec<String> = s.args.iter().map(print_expr).collect();
    format!(
        "{} ~ {}({})",
        print_expr(&s.lhs),
        s.family.name,
        args.join(", ")
    )
}

/// A value's nodes as text, for the function-call cache key.
fn value_key(v: &Value) -> String {
    match v {
        Value::Scalar(n) => format!("{}", n.0),
        Value::Vector(items) => items
            .iter()
            .map(|n| n.0.to_string())
            .collect::<Vec<_>>()
            .join(","),
        Value::Matrix { n_cols, items } => {
            format!(
                "{n_cols}:{}",
                items
                    .iter()
                    .map(|n| n.0.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
    }
}
