//! Lowering a checked model and its data to one expression graph.
//!
//! Inputs: a [`Model`] without errors and the loaded [`DataSet`]. Output: a
//! [`Compiled`] model holding the graph, the NLL node, its gradient and
//! Hessian nodes (derived symbolically), the parameter layout (each element
//! of each declared parameter is one coordinate of theta, the unconstrained
//! vector the optimizer works on) and the data as columns for the evaluator.
//!
//! Constraints become transforms inside the graph: a parameter `s > 0` is
//! the node `exp(theta_k)`, so derivatives with respect to theta include the
//! transform by the chain rule, and no step can leave the constraint.

mod lower;
pub(crate) use lower::MAX_GRAPH_NODES;
mod print;
mod shape;
pub use shape::model_shape_diagnostics;

pub use print::Show;

use crate::data::SourceRows;
use std::collections::HashMap;

use crate::data::{Column, DataSet};
use crate::diag::{Diagnostic, Span};
use crate::dist::{Family, Support};
use crate::eval::{Columns, Program, ProgramOptions};
use crate::graph::{Graph, Node, NodeId};
use crate::model::{Model, Transform};

/// One coordinate of theta: an element of a declared parameter.
#[derive(Debug, Clone)]
pub struct ParamElement {
    /// `a`, `beta[3]`, `u[north]`, `W[2,1]`.
    pub name: String,
    /// The declared parameter it belongs to.
    pub param: String,
    pub transform: Transform,
    /// Start value on the natural scale.
    pub start: f64,
    /// The natural-scale value as a graph node of theta.
    pub node: NodeId,
    pub span: Span,
}

/// A lowered sampling statement, kept for diagnostics and reports.
#[derive(Debug, Clone)]
pub struct LoweredStatement {
    pub family: &'static Family,
    pub is_prior: bool,
    /// The observed value (row node for likelihood terms).
    pub y: NodeId,
    /// The distribution's arguments.
    pub args: Vec<NodeId>,
    /// The negative log-density of one observation.
    pub term: NodeId,
    pub span: Span,
    pub arg_spans: Vec<Span>,
    pub lhs_span: Span,
    /// For a categorical outcome, its factor column in `Compiled::columns`.
    pub outcome_factor: Option<u32>,
    /// Where the observed value must lie (a compound distribution takes its
    /// components').
    pub support: Support,
    /// The components of a mixture: family, argument nodes, span.
    pub components: Vec<(&'static Family, Vec<NodeId>, Span)>,
    /// For a mixture (not a zero-inflated count), log(w_k p_k(y)) per
    /// component: normalised over k, each row's probability of having
    /// come from each component.
    pub component_log_joints: Vec<NodeId>,
}

/// Consecutive rows taken together by [`Compiled::subsample`]: 64 values
/// of a column are eight cache lines.
const SUBSAMPLE_RUN: usize = 1024;

/// A model lowered to a graph, ready to evaluate and fit.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub graph: Graph,
    pub params: Vec<ParamElement>,
    pub statements: Vec<LoweredStatement>,
    pub columns: Columns,
    /// The NLL: sum of likelihood terms over rows plus the prior terms.
    pub nll: NodeId,
    /// d NLL / d theta_k, one per parameter element.
    pub grad: Vec<NodeId>,
    /// Lower triangle of the Hessian, row by row: (k, l) for l <= k.
    pub hess: Vec<NodeId>,
    pub n_rows: usize,
    /// The coordinate of theta after the parameters that holds the smoothing
    /// width of kinks (|y - mu| in a Laplace likelihood), when the NLL has
    /// any; the fit driver shrinks it toward 0.
    pub smoothing_index: Option<usize>,
    /// The name of each real column of `columns`, then of each factor column.
    pub real_names: Vec<String>,
    pub factor_names: Vec<String>,
    /// The level names of each factor column (derived class columns: 1..K).
    pub factor_levels: Vec<Vec<String>>,
    /// Warnings found before fitting: parameters that cannot be told apart,
    /// scales that can reach 0, constant data columns.
    pub warnings: Vec<Diagnostic>,
    /// The 1-based data-row number in the file of each row.
    pub source_rows: SourceRows,
    /// The Jacobian term -sum_k log |dx_k / dtheta_k| when added by
    /// [`Compiled::with_jacobian`].
    pub jacobian: Option<NodeId>,
    /// Left sides of likelihood statements that are expressions of data
    /// rather than a column (`log(y)`), as source text.
    pub transformed_observations: Vec<String>,
    /// Set when the likelihood is a Gaussian whose mean is linear in some
    /// parameters: the fit then solves for those by least squares.
    pub linear_mean: Option<LinearMean>,
}

/// A likelihood whose one statement is `y ~ Normal(mu, sigma)` with the mean
/// affine in some coordinates of theta,
///   mu_i = offset_i + sum_j theta_j x_ij,  x_ij = d mu_i / d theta_j,
/// where the offset and every x_ij are data, and sigma the same for every
/// row and free of those coordinates. Whatever sigma is, the NLL
///   sum_i (y_i - mu_i)^2 / (2 sigma^2) + n log sigma + const
/// is minimised over the theta_j by the least-squares solution, which an
/// orthogonal factorisation of the design X finds without forming X'X.
#[derive(Debug, Clone)]
pub struct LinearMean {
    /// The statement, an index into `Compiled::statements`.
    pub statement: usize,
    /// The coordinates of theta the mean is linear in, ascending.
    pub params: Vec<usize>,
    /// d mu / d theta_j for each of them: the columns of the design.
    pub design: Vec<NodeId>,
    /// The coordinate of theta whose natural value is sigma, when sigma is
    /// a parameter by itself: the fit sets it to its optimum
    /// sqrt(RSS / n) with the coefficients.
    pub scale: Option<usize>,
}

impl Compiled {
    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// The same model on one row in `stride` of the data: a likelihood of
    /// the same shape at a fraction of the cost, for a first approach to
    /// the estimates on large data. The rows are taken in runs of
    /// `SUBSAMPLE_RUN` from every `stride` runs, so that gathering them
    /// reads a fraction of the data's memory (single rows every 16 share
    /// their cache lines with the rows between, and reading those cost a
    /// whole pass: 10 ms of 88 MB), and data sorted by a covariate is still
    /// sampled across its whole range. Programs built from it fold their
    /// row count and data-only sums from those rows alone.
    pub fn subsample(&self, stride: usize) -> Compiled {
        let stride = stride.max(1);
        let runs: Vec<std::ops::Range<usize>> = (0..self.n_rows)
            .step_by(SUBSAMPLE_RUN * stride)
            .map(|first| first..(first + SUBSAMPLE_RUN).min(self.n_rows))
            .collect();
        let n_rows = runs.iter().map(|r| r.len()).sum();
        fn gather<T: Copy>(col: &[T], runs: &[std::ops::Range<usize>], n: usize) -> Vec<T> {
            let mut out = Vec::with_capacity(n);
            for r in runs {
                out.extend_from_slice(&col[r.clone()]);
            }
            out
        }
        let columns = Columns {
            n_rows,
            real: (self.columns.real.iter())
                .map(|col| gather(col, &runs, n_rows))
                .collect(),
            factor: (self.columns.factor.iter())
                .map(|col| gather(col, &runs, n_rows))
                .collect(),
        };
        let mut source_rows = SourceRows::new();
        for i in runs.iter().flat_map(|r| r.clone()) {
            source_rows.push(self.source_rows.row_of(i));
        }
        Compiled {
            graph: self.graph.clone(),
            params: self.params.clone(),
            statements: self.statements.clone(),
            columns,
            nll: self.nll,
            grad: self.grad.clone(),
            hess: self.hess.clone(),
            n_rows,
            smoothing_index: self.smoothing_index,
            real_names: self.real_names.clone(),
            factor_names: self.factor_names.clone(),
            factor_levels: self.factor_levels.clone(),
            warnings: Vec::new(),
            source_rows,
            jacobian: self.jacobian,
            transformed_observations: self.transformed_observations.clone(),
            linear_mean: self.linear_mean.clone(),
        }
    }

    /// Index into `hess` of entry (k, l), l <= k.
    pub fn hess_index(k: usize, l: usize) -> usize {
        let (k, l) = if l <= k { (k, l) } else { (l, k) };
        k * (k + 1) / 2 + l
    }

    /// The program computing [nll, grad...].
    pub fn grad_program(&self) -> Program {
        let mut roots = vec![self.nll];
        roots.extend(&self.grad);
        Program::new(
            &self.graph,
            &roots,
            &[],
            &self.columns,
            ProgramOptions::default(),
        )
    }

    /// The program computing the NLL alone, taking the data-only sums and
    /// kept columns from `grad`, a [`Compiled::grad_program`] of this model.
    /// Its NLL may differ from the derivative programs' in the last bits
    /// (a softplus computed alone rounds differently from one computed with
    /// its logistic): compare its values with each other, or with theirs
    /// only to a tolerance well above rounding.
    pub fn value_program_from(&self, grad: &Program) -> Program {
        Program::new_reusing(
            &self.graph,
            &[self.nll],
            &[],
            &self.columns,
            ProgramOptions::default(),
            grad,
        )
    }

    /// The program computing [nll, grad..., hess...].
    pub fn hess_program(&self) -> Program {
        self.hess_program_with(None)
    }

    /// Like [`Compiled::hess_program`], taking the data-only sums and kept
    /// columns from `grad`, a [`Compiled::grad_program`] of this model,
    /// instead of computing them again.
    pub fn hess_program_from(&self, grad: &Program) -> Program {
        self.hess_program_with(Some(grad))
    }

    fn hess_program_with(&self, grad: Option<&Program>) -> Program {
        let mut roots = vec![self.nll];
        roots.extend(&self.grad);
        roots.extend(&self.hess);
        // Data-only products such as x_j x_k are not kept as columns here:
        // there may be one per Hessian entry, too many to hold for big data.
        // Those the NLL and gradient read (lgamma(y + 1)) are, as in
        // `grad_program`.
        let opts = ProgramOptions {
            keep_data_columns: true,
            keep_only_for_first_roots: Some(1 + self.grad.len()),
            ..ProgramOptions::default()
        };
        match grad {
            Some(g) => Program::new_reusing(&self.graph, &roots, &[], &self.columns, opts, g),
            None => Program::new(&self.graph, &roots, &[], &self.columns, opts),
        }
    }

    /// Adds the log-Jacobian of the parameter transforms to the objective,
    /// so a MAP fit maximises the posterior density of theta (the
    /// unconstrained parameters) instead of that of the natural parameters:
    ///   objective = NLL + priors - sum_k log |dx_k / dtheta_k|,
    /// with log |dx/dtheta| = theta for `> L` and `< U`, and
    /// log(U - L) - softplus(-theta) - softplus(theta) for `in (L, U)`.
    pub fn with_jacobian(mut self) -> Compiled {
        use crate::graph::Func;
        let g = &mut self.graph;
        let mut total = g.constant(0.0);
        for (k, p) in self.params.iter().enumerate() {
            let theta = g.param(k as u32);
            let log_jac = match p.transform {
                Transform::Identity => continue,
                Transform::Lower(_) | Transform::Upper(_) => theta,
                Transform::Interval(lo, hi) => {
                    let width = g.constant((hi - lo).ln());
                    let neg = g.neg(theta);
                    let a = g.unary(Func::Softplus, neg);
                    let b = g.unary(Func::Softplus, theta);
                    let s = g.add(a, b);
                    g.sub(width, s)
                }
            };
            total = g.sub(total, log_jac);
        }
        self.nll = g.add(self.nll, total);
        self.jacobian = Some(total);
        // sqrt(RSS / n) is no longer sigma's optimum once the objective has
        // a Jacobian term in it.
        if let Some(lm) = &mut self.linear_mean {
            lm.scale = None;
        }
        let n = self.params.len() as u32;
        self.grad = (0..n).map(|k| self.graph.diff(self.nll, k)).collect();
        self.hess.clear();
        for k in 0..n {
            for l in 0..=k {
                let h = self.graph.diff(self.grad[k as usize], l);
                self.hess.push(h);
            }
        }
        self
    }

    /// Per-row values of some nodes at theta.
    pub fn eval_rows(&self, nodes: &[NodeId], theta: &[f64]) -> Vec<Vec<f64>> {
        self.row_program(nodes).eval_rows(&self.columns, theta)
    }

    /// Per-row values of some nodes at theta, a block of rows at a time (see
    /// [`Program::for_each_row_block`]).
    pub fn for_each_row_block(
        &self,
        nodes: &[NodeId],
        theta: &[f64],
        f: impl FnMut(usize, &[&[f64]]),
    ) {
        self.row_program(nodes)
            .for_each_row_block(&self.columns, theta, f)
    }

    /// A program computing the per-row values of `nodes`, for one use.
    fn row_program(&self, nodes: &[NodeId]) -> Program {
        Program::new(
            &self.graph,
            &[],
            nodes,
            &self.columns,
            ProgramOptions::UNCACHED,
        )
    }

    /// Values of scalar nodes (those that are not per row) at theta.
    pub fn eval_scalars(&self, nodes: &[NodeId], theta: &[f64]) -> Vec<f64> {
        let prog = Program::new(
            &self.graph,
            nodes,
            &[],
            &self.columns,
            ProgramOptions::UNCACHED,
        );
        let mut ws = crate::eval::Workspace::new(&prog);
        let mut out = vec![0.0; nodes.len()];
        prog.eval(&mut ws, &self.columns, theta, &mut out);
        out
    }

    /// Theta at the start values, with the extra smoothing coordinate
    /// (0: no smoothing) after the parameters.
    pub fn start_theta(&self) -> Vec<f64> {
        let mut theta: Vec<f64> = self
            .params
            .iter()
            .map(|p| p.transform.to_theta(p.start))
            .collect();
        theta.push(0.0);
        theta
    }
}

/// The CSV columns a model declares, each once, with the kind it declares.
pub fn column_requests(model: &Model) -> Vec<crate::data::ColumnRequest> {
    use crate::data::{ColumnKind, ColumnRequest};
    use crate::syntax::ast::DataKind;
    let mut out: Vec<ColumnRequest> = Vec::new();
    for dv in &model.data {
        let kind = match dv.kind {
            DataKind::Real => ColumnKind::Real,
            DataKind::Int => ColumnKind::Int,
            DataKind::Factor => ColumnKind::Factor,
        };
        for c in &dv.columns {
            if !out.iter().any(|r| r.name == *c) {
                out.push(ColumnRequest {
                    name: c.clone(),
                    kind,
                });
            }
        }
    }
    out
}

/// Lowers a model on its data. Errors are data-dependent problems: index
/// ranges, factor levels, observed values outside a distribution's support.
pub fn compile(
    model: &Model,
    data: &DataSet,
    source_rows: &SourceRows,
) -> Result<Compiled, Vec<Diagnostic>> {
    compile_with(model, data, source_rows, Graph::new(), &[]).map(|(c, _)| c)
}

/// Like [`compile`], moving the data columns the model uses and the source
/// rows out of `data` instead of copying them: the data are held once.
/// Afterwards `data` keeps its row counts and factor levels, while those
/// columns' values and `source_rows` are empty.
pub fn compile_taking(model: &Model, data: &mut DataSet) -> Result<Compiled, Vec<Diagnostic>> {
    let (columns, col_index) = build_columns(model, data.n_rows, |name| take_column(data, name));
    let source_rows = std::mem::take(&mut data.source_rows);
    compile_from(
        model,
        data,
        columns,
        col_index,
        source_rows,
        Graph::new(),
        &[],
    )
    .map(|(c, _)| c)
}

/// Like [`compile`], and lowers `probes` too: expressions typed on their own
/// (at the REPL), already checked with [`crate::model::check_expr`], into
/// the same graph. Returns their nodes in order; each is one number per row
/// or a single number, as [`Graph::is_row`] tells.
pub fn compile_probes(
    model: &Model,
    data: &DataSet,
    source_rows: &SourceRows,
    probes: &[crate::syntax::ast::Expr],
) -> Result<(Compiled, Vec<NodeId>), Vec<Diagnostic>> {
    compile_with(model, data, source_rows, Graph::new(), probes)
}

/// Like [`compile`] but without any algebraic simplification, to measure
/// what the simplifier saves and check that it changes no value.
pub fn compile_unsimplified(
    model: &Model,
    data: &DataSet,
    source_rows: &SourceRows,
) -> Result<Compiled, Vec<Diagnostic>> {
    compile_with(model, data, source_rows, Graph::new_unsimplified(), &[]).map(|(c, _)| c)
}

fn compile_with(
    model: &Model,
    data: &DataSet,
    source_rows: &SourceRows,
    graph: Graph,
    probes: &[crate::syntax::ast::Expr],
) -> Result<(Compiled, Vec<NodeId>), Vec<Diagnostic>> {
    let (columns, col_index) = build_columns(model, data.n_rows, |name| data.column(name).cloned());
    compile_from(
        model,
        data,
        columns,
        col_index,
        source_rows.clone(),
        graph,
        probes,
    )
}

/// Lowers on `columns`, built by [`build_columns`] from `data`, whose factor
/// levels and row count are read.
fn compile_from(
    model: &Model,
    data: &DataSet,
    columns: Columns,
    col_index: HashMap<String, ColRef>,
    source_rows: SourceRows,
    graph: Graph,
    probes: &[crate::syntax::ast::Expr],
) -> Result<(Compiled, Vec<NodeId>), Vec<Diagnostic>> {
    let mut graph = graph;
    let mut real_names = vec![String::new(); columns.real.len()];
    let mut factor_names = vec![String::new(); columns.factor.len()];
    let mut factor_levels = vec![Vec::new(); columns.factor.len()];
    for (name, r) in &col_index {
        match r {
            ColRef::Real(i) => real_names[*i as usize] = name.clone(),
            ColRef::Factor { col, .. } => {
                factor_names[*col as usize] = name.clone();
                if let Some(Column::Factor { levels, .. }) = data.column(name) {
                    factor_levels[*col as usize] = levels.clone();
                }
            }
        }
    }

    let mut lowerer =
        lower::Lowerer::new(model, data, &columns, &source_rows, &col_index, &mut graph);
    let params = lowerer.layout_params();
    lowerer.declare_smoothing(params.len() as u32);
    let statements = lowerer.lower_statements()?;
    let probe_nodes = probes
        .iter()
        .map(|e| lowerer.probe(e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|d| vec![d])?;
    let derived = lowerer.into_derived_factors();
    let mut columns = columns;
    for (name, codes, n_classes) in derived {
        // Classes 1..K as the statement has them, whichever the rows hold
        // (a prediction on rows of one class still has K probabilities).
        factor_names.push(format!("{name} (as classes)"));
        factor_levels.push((1..=n_classes).map(|k| k.to_string()).collect());
        columns.factor.push(codes);
    }

    check_observed_supports(&graph, &statements, &columns, &source_rows)?;

    // NLL = sum over likelihood statements of sum_i term_i + prior terms.
    let mut nll = graph.constant(0.0);
    for s in &statements {
        let t = if s.is_prior {
            s.term
        } else {
            graph.sum(s.term)
        };
        nll = graph.add(nll, t);
    }
    let n_params = params.len() as u32;
    let smoothing_index = graph.depends_on(nll, n_params).then_some(n_params as usize);
    let grad: Vec<NodeId> = (0..n_params).map(|k| graph.diff(nll, k)).collect();
    let mut hess = Vec::new();
    for k in 0..n_params {
        for l in 0..=k {
            hess.push(graph.diff(grad[k as usize], l));
        }
    }
    log::info!(
        "compiled: {} parameters, {} statements, {} graph nodes",
        params.len(),
        statements.len(),
        graph.len()
    );
    let mut compiled = Compiled {
        graph,
        params,
        statements,
        columns,
        nll,
        grad,
        hess,
        n_rows: data.n_rows,
        smoothing_index,
        real_names,
        factor_names,
        factor_levels,
        warnings: Vec::new(),
        source_rows,
        jacobian: None,
        transformed_observations: model
            .statements
            .iter()
            .filter(|s| !s.is_prior && !matches!(s.lhs.kind, crate::syntax::ast::ExprKind::Name(_)))
            .map(|s| crate::syntax::print_expr(&s.lhs))
            .collect(),
        linear_mean: None,
    };
    compiled.linear_mean = find_linear_mean(&mut compiled);
    compiled.warnings = static_warnings(&compiled, model);
    Ok((compiled, probe_nodes))
}

/// Recognises a Gaussian likelihood with a mean linear in its parameters
/// (see [`LinearMean`]).
fn find_linear_mean(c: &mut Compiled) -> Option<LinearMean> {
    let n_params = c.params.len() as u32;
    let mut likelihood = c.statements.iter().enumerate().filter(|(_, s)| !s.is_prior);
    let (index, s) = likelihood.next()?;
    if likelihood.next().is_some() || s.family.name != "Normal" || !s.components.is_empty() {
        return None;
    }
    let (y, mu, sigma) = (s.y, s.args[0], s.args[1]);
    let g = &mut c.graph;
    if !g.info(y).params.is_empty() || g.is_row(sigma) {
        return None;
    }
    // Coordinates the mean is linear in, each on its own; then drop any
    // whose derivative still involves another one (a product a * b), until
    // the mean is affine in all that remain jointly. Coordinates of sigma
    // or of a prior are not solved for: least squares would ignore them.
    let priors: Vec<NodeId> = c
        .statements
        .iter()
        .filter(|s| s.is_prior)
        .map(|s| s.term)
        .collect();
    let mut linear: Vec<(u32, NodeId)> = Vec::new();
    for k in g.info(mu).params.to_vec() {
        let d = g.diff(mu, k);
        if k < n_params
            && !g.depends_on(d, k)
            && !g.depends_on(sigma, k)
            && !priors.iter().any(|t| g.depends_on(*t, k))
        {
            linear.push((k, d));
        }
    }
    loop {
        let before = linear.len();
        let kept: Vec<u32> = linear.iter().map(|(k, _)| *k).collect();
        linear.retain(|(_, d)| !kept.iter().any(|j| g.depends_on(*d, *j)));
        if linear.len() == before {
            break;
        }
    }
    if linear.is_empty() {
        return None;
    }
    let (params, design): (Vec<u32>, Vec<NodeId>) = linear.into_iter().unzip();
    let scale = c
        .params
        .iter()
        .position(|p| p.node == sigma)
        .filter(|k| !priors.iter().any(|t| c.graph.depends_on(*t, *k as u32)));
    Some(LinearMean {
        statement: index,
        params: params.into_iter().map(|k| k as usize).collect(),
        design,
        scale,
    })
}

/// The parameter element without a lower bound that `node` is, or that it
/// picks per level of one or more factors (`s[g]`, `S[g, h]`): its index,
/// and the factors, named for a message.
fn unbounded_element(c: &Compiled, node: NodeId) -> Option<(usize, Option<String>)> {
    use crate::model::Transform;
    let reaches_zero = |t: Transform| match t {
        Transform::Identity | Transform::Upper(_) => true,
        Transform::Lower(l) | Transform::Interval(l, _) => l < 0.0,
    };
    let direct = c
        .params
        .iter()
        .position(|p| p.node == node && reaches_zero(p.transform));
    if let Some(k) = direct {
        return Some((k, None));
    }
    let Node::Select { col, items } = c.graph.node(node) else {
        return None;
    };
    let inner: Vec<(usize, Option<String>)> = items
        .iter()
        .map(|n| unbounded_element(c, *n))
        .collect::<Option<_>>()?;
    let (k, deeper) = inner.into_iter().next()?;
    let factor = format!("`{}`", c.factor_names.get(*col as usize)?);
    Some((
        k,
        Some(match deeper {
            Some(inner) => format!("{inner} and {factor}"),
            None => factor,
        }),
    ))
}

/// Problems visible before fitting, each pointing at the model text.
fn static_warnings(c: &Compiled, model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();

    // Two parameters with the same gradient node enter the NLL only through
    // an expression symmetric in them (typically their sum): the data cannot
    // tell them apart. Hash-consing makes equal derivatives the same node.
    // Parameters sharing one gradient node form a group, in the order of
    // their first member; one warning per group.
    let mut groups: Vec<(NodeId, Vec<usize>)> = Vec::new();
    for (k, g) in c.grad.iter().enumerate() {
        if c.graph.as_const(*g) == Some(0.0) {
            continue;
        }
        match groups.iter_mut().find(|(node, _)| node == g) {
            Some((_, members)) => members.push(k),
            None => groups.push((*g, vec![k])),
        }
    }
    for (_, members) in groups.iter().filter(|(_, m)| m.len() > 1) {
        let (a, b) = (&c.params[members[0]], &c.params[members[1]]);
        let mut d = if members.len() == 2 {
            Diagnostic::warning(
                "W201",
                format!("`{}` and `{}` enter the likelihood only together (for example through `{} + {}`): they are not identifiable", a.name, b.name, a.name, b.name),
            )
            .with_note("Their derivatives are identical, so any change of one can be undone by the other; the Hessian is singular.")
        } else {
            const LISTED: usize = 8;
            let mut names: Vec<String> = members
                .iter()
                .take(LISTED)
                .map(|k| format!("`{}`", c.params[*k].name))
                .collect();
            if members.len() > LISTED {
                names.push(format!("and {} more", members.len() - LISTED));
            }
            Diagnostic::warning(
                "W201",
                format!("{} parameters enter the likelihood only together (for example through their sum): {}; they are not identifiable", members.len(), names.join(", ")),
            )
            .with_note("Their derivatives are identical, so a change of one can be undone by the others; the Hessian is singular.")
        }
        .with_primary(b.span, "declared here");
        if a.span != b.span {
            d = d.with_secondary(a.span, "and here");
        }
        out.push(d.with_help(if members.len() == 2 {
            "Drop one of them or fix it with a const."
        } else {
            "Keep one of them and drop the others, or fix them with consts."
        }));
    }

    // A scale argument that is a parameter without a lower bound can reach 0
    // (where the likelihood may be unbounded) or go negative.
    for s in &c.statements {
        let Some(i) = s.family.scale_arg else {
            continue;
        };
        let Some((k, per_level)) = unbounded_element(c, s.args[i]) else {
            continue;
        };
        let p = &c.params[k];
        let what = match &per_level {
            Some(factors) => format!("`{}`, one per level of {factors}", p.param),
            None => format!("`{}`", p.name),
        };
        use crate::model::Transform;
        let what = match p.transform {
            Transform::Identity => format!("the unconstrained parameter {what}"),
            Transform::Upper(_) => format!("the parameter {what}, bounded above only"),
            Transform::Lower(l) | Transform::Interval(l, _) => {
                format!("the parameter {what}, whose lower bound {l} is below 0")
            }
        };
        let scalar = p.name == p.param;
        let help = match p.transform {
            Transform::Upper(u) | Transform::Interval(_, u) if u <= 0.0 => format!(
                "Its upper bound {u} leaves it no positive value: a scale must be positive; bound `{}` within (0, ...) or write the scale as exp(...).",
                p.param
            ),
            Transform::Upper(u) | Transform::Interval(_, u) if scalar => format!(
                "Bound it below at 0: `param {} in (0, {u})`, or write the scale as exp(...).",
                p.name
            ),
            _ if scalar => format!(
                "Declare it positive: `param {} > 0`, or write the scale as exp(...).",
                p.name
            ),
            _ => format!(
                "Bound `{}` below at 0 in its `param` declaration (`> 0` after its dimensions, or `in (0, ...)` with an upper bound), or write the scale as exp(...).",
                p.param
            ),
        };
        out.push(
            Diagnostic::warning("W202", format!("scale `{}` of `{}` is {what}", s.family.args[i], s.family.name))
                .with_primary(s.arg_spans[i], "can reach 0 or go negative")
                .with_secondary(
                    p.span,
                    match p.transform {
                        Transform::Lower(_) | Transform::Interval(..) => "declared with a lower bound below 0",
                        _ => "declared without a lower bound",
                    },
                )
                .with_note("At 0 the likelihood may be unbounded, and a negative value is outside the support.")
                .with_help(help),
        );
    }

    // A data column with one value cannot inform a slope and duplicates an
    // intercept.
    // Outcomes and numbers of trials may well be constant; only covariates
    // are warned about.
    let name_of = |e: &crate::syntax::ast::Expr| match &e.kind {
        crate::syntax::ast::ExprKind::Name(n) => Some(n.clone()),
        _ => None,
    };
    let mut outcomes: Vec<String> = model
        .statements
        .iter()
        .filter_map(|s| name_of(&s.lhs))
        .collect();
    outcomes.extend(
        model
            .statements
            .iter()
            .filter(|s| s.family.name.starts_with("Binomial"))
            .filter_map(|s| s.args.first().and_then(name_of)),
    );
    for dv in model.data.iter().filter(|d| !outcomes.contains(&d.name)) {
        for name in &dv.columns {
            let values = c
                .real_names
                .iter()
                .position(|n| n == name)
                .map(|i| &c.columns.real[i]);
            let Some(values) = values else { continue };
            if values.len() > 1 && values.iter().all(|v| *v == values[0]) {
                out.push(
                    Diagnostic::warning("W203", format!("data column `{name}` is constant ({} in every row)", values[0]))
                        .with_primary(dv.span, "declared here")
                        .with_note("A coefficient on a constant column cannot be told apart from an intercept."),
                );
            }
        }
    }

    // The same observations modelled twice count twice: the NLL doubles
    // and the standard errors shrink by sqrt(2), with nothing to show why.
    let likelihood: Vec<_> = model.statements.iter().filter(|s| !s.is_prior).collect();
    for (i, s) in likelihood.iter().enumerate() {
        let lhs = crate::syntax::print_expr(&s.lhs);
        if let Some(first) = likelihood[..i]
            .iter()
            .find(|t| crate::syntax::print_expr(&t.lhs) == lhs)
        {
            out.push(
                Diagnostic::warning("W204", format!("`{lhs}` is modelled by two statements: each row's observation counts twice in the likelihood"))
                    .with_primary(s.span, "second statement")
                    .with_secondary(first.span, "first statement")
                    .with_note("The NLL is the sum over both statements, so the log-likelihood doubles and the standard errors shrink by about sqrt(2), as if every row had been seen twice.")
                    .with_help("Keep one statement per observed column (in `nll repl` a new statement for the same left side replaces the old one)."),
            );
        }
    }
    out
}

/// Where each data column of the model lives in the evaluator's columns.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ColRef {
    Real(u32),
    Factor { col: u32, n_levels: usize },
}

/// The columns the model uses, each once, as `column` hands them out by
/// name (a copy, or values moved out of the data set).
fn build_columns(
    model: &Model,
    n_rows: usize,
    mut column: impl FnMut(&str) -> Option<Column>,
) -> (Columns, HashMap<String, ColRef>) {
    let mut columns = Columns {
        n_rows,
        ..Columns::default()
    };
    let mut index = HashMap::new();
    for dv in &model.data {
        for name in &dv.columns {
            if index.contains_key(name) {
                continue;
            }
            match column(name) {
                Some(Column::Real(v)) => {
                    columns.real.push(v);
                    index.insert(name.clone(), ColRef::Real(columns.real.len() as u32 - 1));
                }
                Some(Column::Factor { codes, levels }) => {
                    columns.factor.push(codes);
                    index.insert(
                        name.clone(),
                        ColRef::Factor {
                            col: columns.factor.len() as u32 - 1,
                            n_levels: levels.len(),
                        },
                    );
                }
                None => {}
            }
        }
    }
    (columns, index)
}

/// The values of column `name` moved out of `data` (its levels copied).
fn take_column(data: &mut DataSet, name: &str) -> Option<Column> {
    let (_, _, column) = data.columns.iter_mut().find(|(n, _, _)| n == name)?;
    Some(match column {
        Column::Real(v) => Column::Real(std::mem::take(v)),
        Column::Factor { codes, levels } => Column::Factor {
            codes: std::mem::take(codes),
            levels: levels.clone(),
        },
    })
}

/// Rows listed in a data error: the first few, then a count.
pub const MAX_LISTED_ROWS: usize = 5;

fn check_observed_supports(
    graph: &Graph,
    statements: &[LoweredStatement],
    columns: &Columns,
    source_rows: &SourceRows,
) -> Result<(), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    for s in statements
        .iter()
        .filter(|s| !s.is_prior && s.support != Support::Level)
    {
        // Binomial counts are also bounded by their number of trials n,
        // when n is data (a parameter n is checked by the density itself).
        let trials =
            s.family.name.starts_with("Binomial") && graph.info(s.args[0]).params.is_empty();
        let mut nodes = vec![s.y];
        if trials {
            nodes.push(s.args[0]);
        }
        // A data column is checked in place; an expression of data is
        // evaluated first.
        let rows: Vec<std::borrow::Cow<[f64]>> = match nodes
            .iter()
            .map(|n| match graph.node(*n) {
                Node::Data(c) => Some(std::borrow::Cow::Borrowed(&columns.real[*c as usize][..])),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
        {
            Some(cols) => cols,
            None => Program::new(graph, &[], &nodes, columns, ProgramOptions::UNCACHED)
                .eval_rows(columns, &[])
                .into_iter()
                .map(std::borrow::Cow::Owned)
                .collect(),
        };
        let values = &rows[0];
        // The number of trials must itself be a count.
        let within_trials =
            |i: usize| !trials || (values[i] <= rows[1][i] && Support::Count.contains(rows[1][i]));
        let support = s.support;
        let is_bad = |i: usize| !support.contains(values[i]) | !within_trials(i);
        // Counted first, in a loop without branches to mispredict: there is
        // almost never anything to list.
        let n_outside = if trials {
            (0..values.len()).filter(|i| is_bad(*i)).count()
        } else {
            support.count_outside(values)
        };
        if n_outside == 0 {
            continue;
        }
        let bad: Vec<usize> = (0..values.len()).filter(|i| is_bad(*i)).collect();
        // 1e300 as written, not as its 301 digits
        let show = |v: f64| {
            let plain = v.to_string();
            if plain.len() > 16 {
                format!("{v:e}")
            } else {
                plain
            }
        };
        let listed: Vec<String> = bad
            .iter()
            .take(MAX_LISTED_ROWS)
            .map(|&i| {
                let row = source_rows.row_of(i);
                if trials {
                    // the bad value may be the number of trials
                    format!(
                        "row {row} ({}, of {} trials)",
                        show(values[i]),
                        show(rows[1][i])
                    )
                } else {
                    format!("row {row} ({})", show(values[i]))
                }
            })
            .collect();
        let more = if bad.len() > MAX_LISTED_ROWS {
            format!(", and {} more", bad.len() - MAX_LISTED_ROWS)
        } else {
            String::new()
        };
        diags.push(
            Diagnostic::error(
                "E320",
                format!(
                    "{} observed value{} outside the support of `{}`",
                    bad.len(),
                    if bad.len() == 1 { " is" } else { "s are" },
                    s.family.name
                ),
            )
            .with_primary(
                s.lhs_span,
                if trials {
                    format!(
                        "must be {}, at most the number of trials (itself a non-negative integer)",
                        s.support.describe()
                    )
                } else {
                    format!("must be {}", s.support.describe())
                },
            )
            .with_note(format!(
                "Offending rows (counted from 1 for the first data row): {}{more}.",
                listed.join(", ")
            )),
        );
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(diags)
    }
}
