//! From syntax to a checked model: names resolved, arities checked, every
//! statement classified.
//!
//! [`check`] takes a parsed [`Program`] and returns a [`Model`] together with
//! every diagnostic found (it keeps going after the first error). A model
//! with no error diagnostics is safe to lower: every name in every
//! expression refers to something declared, every call has the right number
//! of arguments, and each sampling statement is known to be either a
//! likelihood term (its left side is data) or a prior (its left side is a
//! parameter). What needs the data (factor levels, index ranges, supports)
//! is checked later by `compile`.

mod consts;

use std::collections::{HashMap, HashSet};

use crate::diag::{suggest, Diagnostic, Span};
use crate::dist::{self, Family};
use crate::graph::Func;
use crate::syntax::ast::{
    BinOp, Constraint, DataKind, Dim, Expr, ExprKind, Ident, Program, StmtKind,
};

pub use consts::eval_const;

/// Builtin functions of more than one argument or over vectors.
/// The most elements one parameter declaration may have. The fit's
/// Hessian is dense, p (p + 1) / 2 entries for p parameters: at 10 000 that
/// is 50 million entries, symbolic and numeric, already far more than a
/// fit of this kind can use.
pub const MAX_PARAM_ELEMENTS: usize = 10_000;

pub const SPECIAL_FUNCTIONS: &[(&str, usize)] = &[("pow", 2), ("dot", 2), ("sum", 1)];

/// A data name: one CSV column, or a vector of columns.
#[derive(Debug, Clone)]
pub struct DataVar {
    pub name: String,
    pub kind: DataKind,
    /// The CSV columns, one for a scalar data name.
    pub columns: Vec<String>,
    pub is_vector: bool,
    pub span: Span,
}

/// How a parameter's natural value is made from an unconstrained one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    Identity,
    /// x = lower + exp(theta)
    Lower(f64),
    /// x = upper - exp(theta)
    Upper(f64),
    /// x = lower + (upper - lower) logistic(theta)
    Interval(f64, f64),
}

impl Transform {
    /// theta for a natural value (which must be inside the constraint).
    pub fn to_theta(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::Lower(lo) => (x - lo).ln(),
            Transform::Upper(hi) => (hi - x).ln(),
            Transform::Interval(lo, hi) => {
                let u = (x - lo) / (hi - lo);
                (u / (1.0 - u)).ln()
            }
        }
    }

    /// The natural value for theta.
    pub fn to_natural(self, theta: f64) -> f64 {
        match self {
            Transform::Identity => theta,
            Transform::Lower(lo) => lo + theta.exp(),
            Transform::Upper(hi) => hi - theta.exp(),
            Transform::Interval(lo, hi) => lo + (hi - lo) * crate::graph::func::logistic(theta),
        }
    }

    /// d natural / d theta, for standard errors by the delta method.
    pub fn jacobian(self, theta: f64) -> f64 {
        match self {
            Transform::Identity => 1.0,
            Transform::Lower(_) => theta.exp(),
            Transform::Upper(_) => -theta.exp(),
            Transform::Interval(lo, hi) => {
                let s = crate::graph::func::logistic(theta);
                let t = crate::graph::func::logistic(-theta);
                (hi - lo) * s * t
            }
        }
    }

    /// Whether a natural value satisfies the constraint (strictly).
    pub fn admits(self, x: f64) -> bool {
        match self {
            Transform::Identity => x.is_finite(),
            Transform::Lower(lo) => x > lo,
            Transform::Upper(hi) => x < hi,
            Transform::Interval(lo, hi) => x > lo && x < hi,
        }
    }

    /// The value the constraint admits nearest to `x`: `x` itself, or the
    /// closest double strictly inside a bound that `x` reached (an estimate
    /// a hair from its bound rounds onto it: 0.5 + exp(-40) is 0.5).
    pub fn inside(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::Lower(lo) => x.max(lo.next_up()),
            Transform::Upper(hi) => x.min(hi.next_down()),
            Transform::Interval(lo, hi) => x.clamp(lo.next_up(), hi.next_down()),
        }
    }

    /// The start value used when none is given: 0, or one unit inside a
    /// one-sided bound, or the middle of an interval.
    pub fn default_start(self) -> f64 {
        match self {
            Transform::Identity => 0.0,
            Transform::Lower(lo) => lo + 1.0,
            Transform::Upper(hi) => hi - 1.0,
            Transform::Interval(lo, hi) => 0.5 * (lo + hi),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Transform::Identity => String::new(),
            Transform::Lower(lo) => format!("> {lo}"),
            Transform::Upper(hi) => format!("< {hi}"),
            Transform::Interval(lo, hi) => format!("in ({lo}, {hi})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamDim {
    Size(usize),
    /// One element per level of this factor data name.
    Factor(String),
}

#[derive(Debug, Clone)]
pub struct ParamVar {
    pub name: String,
    pub dims: Vec<ParamDim>,
    pub transform: Transform,
    pub start: Option<f64>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct FuncDef {
    pub name: String,
    pub args: Vec<String>,
    pub body: Expr,
    pub span: Span,
}

/// A sampling statement `lhs ~ Family(args)`.
#[derive(Debug, Clone)]
pub struct Statement {
    pub lhs: Expr,
    pub family: &'static Family,
    pub args: Vec<Expr>,
    /// True when the left side is a parameter expression: the term is added
    /// once, not per row.
    pub is_prior: bool,
    pub span: Span,
    pub dist_span: Span,
    /// For a compound distribution (mixture, zero inflation), its kind and
    /// components; `args` then holds the weight argument only.
    pub compound: Option<(dist::mixture::Compound, Vec<Component>)>,
}

/// One component distribution of a mixture, `Normal(m1, s1)`.
#[derive(Debug, Clone)]
pub struct Component {
    pub family: &'static Family,
    pub args: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub data: Vec<DataVar>,
    pub params: Vec<ParamVar>,
    pub consts: Vec<(String, f64)>,
    pub funcs: Vec<FuncDef>,
    pub statements: Vec<Statement>,
}

impl Model {
    pub fn data_var(&self, name: &str) -> Option<&DataVar> {
        self.data.iter().find(|d| d.name == name)
    }

    pub fn param(&self, name: &str) -> Option<&ParamVar> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn const_value(&self, name: &str) -> Option<f64> {
        self.consts.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    pub fn func(&self, name: &str) -> Option<&FuncDef> {
        self.funcs.iter().find(|f| f.name == name)
    }
}

/// What a name in an expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum NameKind {
    Data,
    Param,
    Const,
    Arg,
}

/// Checks a parsed program; returns the model and every diagnostic found.
pub fn check(program: &Program) -> (Model, Vec<Diagnostic>) {
    let mut c = Checker {
        model: Model::default(),
        diags: Vec::new(),
        declared: HashMap::new(),
        failed_consts: Vec::new(),
    };
    c.collect_declarations(program);
    c.check_bodies(program);
    if c.model.statements.iter().all(|s| s.is_prior) && !c.diags.iter().any(|d| d.is_error()) {
        c.diags.push(
            Diagnostic::error("E217", "the model has no likelihood statement").with_help(
                "Add a statement such as `y ~ Normal(mu, sigma)` whose left side is a data column.",
            ),
        );
    }
    (c.model, c.diags)
}

/// Checks an expression typed on its own (at the REPL) against a checked
/// model: every name must be declared and every call must have the right
/// number of arguments. Returns the diagnostics found, empty when it is fine.
pub fn check_expr(model: &Model, expr: &Expr) -> Vec<Diagnostic> {
    let mut declared = HashMap::new();
    let names = model
        .data
        .iter()
        .map(|d| (&d.name, d.span))
        .chain(model.params.iter().map(|p| (&p.name, p.span)))
        .chain(model.funcs.iter().map(|f| (&f.name, f.span)));
    for (name, span) in names {
        declared.insert(name.clone(), span);
    }
    for (name, _) in &model.consts {
        declared.insert(name.clone(), Span::default());
    }
    let mut c = Checker {
        model: model.clone(),
        diags: Vec::new(),
        declared,
        failed_consts: Vec::new(),
    };
    c.check_expr(expr, &[]);
    c.diags
}

/// Whether the name `name` appears in `e`.
fn mentions(e: &Expr, name: &str) -> bool {
    match &e.kind {
        ExprKind::Number(_) => false,
        ExprKind::Name(n) => n == name,
        ExprKind::Neg(a) => mentions(a, name),
        ExprKind::Binary { lhs, rhs, .. } => mentions(lhs, name) || mentions(rhs, name),
        ExprKind::Call { args, .. } => args.iter().any(|a| mentions(a, name)),
        ExprKind::Index { base, indices } => {
            base.name == name || indices.iter().any(|i| mentions(i, name))
        }
    }
}

struct Checker {
    model: Model,
    diags: Vec<Diagnostic>,
    /// Every declared name with where it was declared.
    declared: HashMap<String, Span>,
    /// Consts whose value was an error, already reported: what uses them
    /// is not reported again.
    failed_consts: Vec<String>,
}

impl Checker {
    fn declare(&mut self, name: &Ident) -> bool {
        if name.name == "pi" || Func::from_name(&name.name).is_some() || is_special(&name.name) {
            self.diags.push(
                Diagnostic::error(
                    "E216",
                    format!("`{}` is a builtin name and cannot be redeclared", name.name),
                )
                .with_primary(name.span, "builtin name")
                .with_help("Choose another name."),
            );
            return false;
        }
        if let Some(prev) = self.declared.get(&name.name) {
            self.diags.push(
                Diagnostic::error("E202", format!("`{}` is declared twice", name.name))
                    .with_primary(name.span, "declared again here")
                    .with_secondary(*prev, "first declared here"),
            );
            return false;
        }
        self.declared.insert(name.name.clone(), name.span);
        true
    }

    fn collect_declarations(&mut self, program: &Program) {
        for stmt in &program.stmts {
            match &stmt.kind {
                StmtKind::Data(decls) => {
                    for d in decls {
                        if !self.declare(&d.name) {
                            continue;
                        }
                        let (columns, is_vector) = match &d.columns {
                            Some(cols) => (cols.iter().map(|c| c.name.clone()).collect(), true),
                            None => (vec![d.name.name.clone()], false),
                        };
                        self.model.data.push(DataVar {
                            name: d.name.name.clone(),
                            kind: d.kind,
                            columns,
                            is_vector,
                            span: d.span,
                        });
                    }
                }
                StmtKind::Const { name, value } => {
                    if !self.declare(name) {
                        continue;
                    }
                    match eval_const(value, &self.model.consts) {
                        Ok(v) => self.model.consts.push((name.name.clone(), v)),
                        Err(d) => {
                            if !self.failed_consts.iter().any(|c| mentions(value, c)) {
                                self.diags.push(d.with_note("A const is made of numbers, `pi`, builtin functions of one argument and the consts declared before it."));
                            }
                            self.failed_consts.push(name.name.clone());
                        }
                    }
                }
                StmtKind::Func { name, args, body } => {
                    if !self.declare(name) {
                        continue;
                    }
                    self.check_arg_names(args);
                    self.model.funcs.push(FuncDef {
                        name: name.name.clone(),
                        args: args.iter().map(|a| a.name.clone()).collect(),
                        body: body.clone(),
                        span: stmt.span,
                    });
                }
                StmtKind::Param(_) | StmtKind::Sample { .. } => {}
            }
        }
        // Parameters after data and consts, so bounds may use consts and
        // factor dimensions may name data declared anywhere.
        for stmt in &program.stmts {
            if let StmtKind::Param(decls) = &stmt.kind {
                for p in decls {
                    if !self.declare(&p.name) {
                        continue;
                    }
                    // A declaration with an error still declares its name,
                    // so uses of it do not cascade into "unknown name".
                    let param = self.check_param(p).unwrap_or_else(|| ParamVar {
                        name: p.name.name.clone(),
                        dims: Vec::new(),
                        transform: Transform::Identity,
                        start: None,
                        span: p.span,
                    });
                    self.model.params.push(param);
                }
            }
        }
    }

    fn check_arg_names(&mut self, args: &[Ident]) {
        let mut seen = HashSet::new();
        for a in args {
            if !seen.insert(a.name.as_str()) {
                self.diags.push(
                    Diagnostic::error("E202", format!("argument `{}` appears twice", a.name))
                        .with_primary(a.span, "repeated argument"),
                );
            }
        }
    }

    fn check_param(&mut self, p: &crate::syntax::ast::ParamDecl) -> Option<ParamVar> {
        let mut dims = Vec::new();
        for d in &p.dims {
            match d {
                Dim::Size { size, span } => {
                    if *size == 0 {
                        self.diags.push(
                            Diagnostic::error(
                                "E212",
                                "a parameter vector needs at least one element",
                            )
                            .with_primary(*span, "size 0"),
                        );
                        return None;
                    }
                    dims.push(ParamDim::Size(*size));
                }
                Dim::Factor(id) => match self.model.data_var(&id.name) {
                    Some(dv) if dv.kind == DataKind::Factor => {
                        dims.push(ParamDim::Factor(id.name.clone()))
                    }
                    Some(_) => {
                        self.diags.push(
                            Diagnostic::error(
                                "E212",
                                format!("`{}` is not a factor column", id.name),
                            )
                            .with_primary(id.span, "a dimension must be a size or a factor")
                            .with_help(format!("Declare it with `data {}: factor`.", id.name)),
                        );
                        return None;
                    }
                    None => {
                        self.unknown_name(&id.name, id.span);
                        return None;
                    }
                },
            }
        }
        let n_elements = dims.iter().fold(1usize, |n, d| match d {
            ParamDim::Size(size) => n.saturating_mul(*size),
            ParamDim::Factor(_) => n,
        });
        if n_elements > MAX_PARAM_ELEMENTS {
            let span = p.dims.iter().fold(p.name.span, |s, d| match d {
                Dim::Size { span, .. } => s.to(*span),
                Dim::Factor(id) => s.to(id.span),
            });
            self.diags.push(
                Diagnostic::error(
                    "E212",
                    format!("a parameter with {n_elements} elements is more than a fit can handle"),
                )
                .with_primary(span, format!("at most {MAX_PARAM_ELEMENTS} elements"))
                .with_note(
                    "Standard errors come from the dense Hessian, with one entry per pair of parameters: at this size it would not fit in memory.",
                ),
            );
            return None;
        }
        if dims.len() > 2 {
            self.diags.push(
                Diagnostic::error(
                    "E215",
                    "parameters with more than two dimensions are not supported yet",
                )
                .with_primary(p.name.span, "declared here"),
            );
            return None;
        }

        let consts = self.model.consts.clone();
        let failed = self.failed_consts.clone();
        let bound = |e: &Expr, diags: &mut Vec<Diagnostic>| match eval_const(e, &consts) {
            Ok(v) => Some(v),
            Err(_) if failed.iter().any(|c| mentions(e, c)) => None,
            Err(d) => {
                diags.push(d.with_note("Bounds are numbers or expressions of numbers and consts."));
                None
            }
        };
        let transform = match &p.constraint {
            None => Transform::Identity,
            Some(Constraint::Lower(e)) => Transform::Lower(bound(e, &mut self.diags)?),
            Some(Constraint::Upper(e)) => Transform::Upper(bound(e, &mut self.diags)?),
            Some(Constraint::Interval(lo, hi)) => {
                let (lo_v, hi_v) = (bound(lo, &mut self.diags)?, bound(hi, &mut self.diags)?);
                if !(lo_v < hi_v) {
                    self.diags.push(
                        Diagnostic::error("E210", format!("empty interval ({lo_v}, {hi_v})"))
                            .with_primary(
                                lo.span.to(hi.span),
                                "the lower bound must be below the upper bound",
                            ),
                    );
                    return None;
                }
                Transform::Interval(lo_v, hi_v)
            }
        };
        let start = match &p.start {
            None => None,
            Some(e) => {
                let v = bound(e, &mut self.diags)?;
                if !transform.admits(v) {
                    self.diags.push(
                        Diagnostic::error(
                            "E210",
                            format!(
                                "start value {v} is outside the constraint {}",
                                transform.describe()
                            ),
                        )
                        .with_primary(e.span, "start value")
                        .with_help("Choose a start value strictly inside the constraint."),
                    );
                    return None;
                }
                Some(v)
            }
        };
        Some(ParamVar {
            name: p.name.name.clone(),
            dims,
            transform,
            start,
            span: p.span,
        })
    }

    fn check_bodies(&mut self, program: &Program) {
        let funcs = self.model.funcs.clone();
        for f in &funcs {
            let scope: Vec<String> = f.args.clone();
            self.check_expr(&f.body, &scope);
        }
        for stmt in &program.stmts {
            let StmtKind::Sample {
                lhs,
                dist: dist_name,
                args,
            } = &stmt.kind
            else {
                continue;
            };
            if let Some(compound) = dist::mixture::lookup(&dist_name.name) {
                self.check_compound(stmt.span, lhs, dist_name, args, compound);
                continue;
            }
            let lhs_ok = self.check_expr(lhs, &[]);
            let mut args_ok = true;
            for a in args {
                args_ok &= self.check_expr(a, &[]);
            }
            let Some(family) = dist::lookup(&dist_name.name) else {
                let mut d =
                    Diagnostic::error("E205", format!("unknown distribution `{}`", dist_name.name))
                        .with_primary(dist_name.span, "not a distribution");
                d = match suggest::closest(&dist_name.name, dist::names()) {
                    Some(s) => d.with_help(format!("Did you mean `{s}`?")),
                    None => d.with_note(format!(
                        "The distributions are: {}.",
                        dist::names().collect::<Vec<_>>().join(", ")
                    )),
                };
                self.diags.push(d);
                continue;
            };
            let arity_ok = if family.variadic {
                args.len() >= 2
            } else {
                args.len() == family.args.len()
            };
            if !arity_ok {
                let expected = if family.variadic {
                    "at least 2 arguments".to_string()
                } else {
                    plural(family.args.len(), "argument")
                };
                self.diags.push(
                    Diagnostic::error(
                        "E206",
                        format!("`{}` takes {expected}, found {}", family.name, args.len()),
                    )
                    .with_primary(
                        Span::new(dist_name.span.start, stmt.span.end),
                        format!("expected {}", family.signature()),
                    )
                    .with_note(format!("The signature is {}.", family.signature())),
                );
                continue;
            }
            if !(lhs_ok && args_ok) {
                continue;
            }
            let lhs_refs = self.references(lhs, &[]);
            let uses_data = lhs_refs.contains(&NameKind::Data);
            let uses_params = lhs_refs.contains(&NameKind::Param);
            let is_prior = match (uses_data, uses_params) {
                (true, false) => false,
                (false, true) => true,
                (true, true) => {
                    self.diags.push(
                        Diagnostic::error("E207", "the left side of `~` mixes data and parameters")
                            .with_primary(lhs.span, "uses both data and parameters")
                            .with_note("The left side is either data (a likelihood term, summed over rows) or parameters (a prior, added once).")
                            .with_help("Move the parameters into the distribution's arguments."),
                    );
                    continue;
                }
                (false, false) => {
                    self.diags.push(
                        Diagnostic::error("E207", "the left side of `~` is a constant")
                            .with_primary(lhs.span, "no data and no parameters here")
                            .with_help("Put a data column or a parameter on the left of `~`."),
                    );
                    continue;
                }
            };
            if is_prior {
                for a in args {
                    if self.references(a, &[]).contains(&NameKind::Data) {
                        self.diags.push(
                            Diagnostic::error("E208", "a prior's arguments cannot use data")
                                .with_primary(a.span, "uses a data column")
                                .with_note("A statement whose left side is a parameter is added once, not per row."),
                        );
                    }
                }
            }
            if is_prior
                && matches!(
                    family.support,
                    dist::Support::Count | dist::Support::Binary | dist::Support::Level
                )
            {
                self.diags.push(
                    Diagnostic::error("E220", format!("`{}` cannot be a prior: it is a distribution of discrete values", family.name))
                        .with_primary(dist_name.span, "a discrete distribution")
                        .with_note("Parameters are real numbers; a prior on one needs a continuous distribution such as Normal, Laplace, Exponential or Gamma."),
                );
                continue;
            }
            if family.variadic && is_prior {
                self.diags.push(
                    Diagnostic::error(
                        "E215",
                        format!("`{}` as a prior is not supported", family.name),
                    )
                    .with_primary(dist_name.span, "needs a factor column on the left"),
                );
                continue;
            }
            self.model.statements.push(Statement {
                lhs: lhs.clone(),
                family,
                args: args.clone(),
                is_prior,
                span: stmt.span,
                dist_span: dist_name.span,
                compound: None,
            });
        }
    }

    /// Checks `lhs ~ Mixture(w, D1, D2, ...)` and its kin.
    fn check_compound(
        &mut self,
        stmt_span: Span,
        lhs: &Expr,
        dist_name: &Ident,
        args: &[Expr],
        compound: &'static dist::mixture::CompoundFamily,
    ) {
        use dist::mixture::Compound;
        let n_components = args.len().saturating_sub(1);
        if args.len() < 2
            || n_components < compound.min_components
            || n_components > compound.max_components
        {
            self.diags.push(
                Diagnostic::error(
                    "E206",
                    format!(
                        "`{}` takes a weight and its component distributions, found {}",
                        compound.family.name,
                        plural(args.len(), "argument")
                    ),
                )
                .with_primary(
                    Span::new(dist_name.span.start, stmt_span.end),
                    format!("expected {}", compound.signature()),
                ),
            );
            return;
        }
        let mut ok = self.check_expr(&args[0], &[]) & self.check_expr(lhs, &[]);
        let mut components = Vec::new();
        let mut supports = Vec::new();
        for a in &args[1..] {
            let ExprKind::Call { func, args: cargs } = &a.kind else {
                self.diags.push(
                    Diagnostic::error("E222", format!("a component of `{}` must be a distribution such as `Normal(mu, sigma)`", compound.family.name))
                        .with_primary(a.span, "not a distribution"),
                );
                ok = false;
                continue;
            };
            let family = match dist::lookup(&func.name) {
                Some(f) if !f.variadic => f,
                _ => {
                    let mut d = Diagnostic::error(
                        "E222",
                        format!(
                            "`{}` is not a distribution that can be a component",
                            func.name
                        ),
                    )
                    .with_primary(func.span, "not a component distribution");
                    if let Some(s) = suggest::closest(
                        &func.name,
                        dist::FAMILIES
                            .iter()
                            .filter(|f| !f.variadic)
                            .map(|f| f.name),
                    ) {
                        d = d.with_help(format!("Did you mean `{s}`?"));
                    }
                    self.diags.push(d);
                    ok = false;
                    continue;
                }
            };
            if cargs.len() != family.args.len() {
                self.diags.push(
                    Diagnostic::error(
                        "E206",
                        format!(
                            "`{}` takes {}, found {}",
                            family.name,
                            plural(family.args.len(), "argument"),
                            cargs.len()
                        ),
                    )
                    .with_primary(a.span, format!("expected {}", family.signature())),
                );
                ok = false;
                continue;
            }
            for ca in cargs {
                ok &= self.check_expr(ca, &[]);
            }
            supports.push((family.support, a.span));
            components.push(Component {
                family,
                args: cargs.clone(),
                span: a.span,
            });
        }
        if !ok {
            return;
        }
        if let Some((first, _)) = supports.first() {
            if let Some((other, span)) = supports
                .iter()
                .find(|(s, _)| s.is_discrete() != first.is_discrete())
            {
                self.diags.push(
                    Diagnostic::error("E223", "mixture components must all be continuous or all be discrete")
                        .with_primary(*span, format!("this one is for {}", other.describe()))
                        .with_note("A mixture adds densities of the same kind: probabilities of counts, or densities of real values."),
                );
                return;
            }
        }
        if compound.kind == Compound::ZeroInflated
            && components[0].family.support != dist::Support::Count
        {
            self.diags.push(
                Diagnostic::error("E223", "`ZeroInflated` needs a count distribution")
                    .with_primary(components[0].span, "not a distribution of counts")
                    .with_help("Use Poisson, NegBinomial or another count distribution."),
            );
            return;
        }
        let refs = self.references(lhs, &[]);
        if refs.contains(&NameKind::Param) || !refs.contains(&NameKind::Data) {
            self.diags.push(
                Diagnostic::error(
                    "E207",
                    format!("the left side of `{}` must be data", compound.family.name),
                )
                .with_primary(lhs.span, "not a data expression"),
            );
            return;
        }
        self.model.statements.push(Statement {
            lhs: lhs.clone(),
            family: compound.family,
            args: vec![args[0].clone()],
            is_prior: false,
            span: stmt_span,
            dist_span: dist_name.span,
            compound: Some((compound.kind, components)),
        });
    }

    fn unknown_name(&mut self, name: &str, span: Span) {
        // A declared name that cannot be used here: a const whose value
        // was already reported as an error (nothing more to say), or a
        // function used without a call.
        if self.declared.contains_key(name) {
            if let Some(f) = self.model.func(name) {
                let call = format!("{name}({})", f.args.join(", "));
                self.diags.push(
                    Diagnostic::error("E201", format!("`{name}` is a function, not a value"))
                        .with_primary(span, "a function")
                        .with_secondary(f.span, "defined here")
                        .with_help(format!("Call it: `{call}`.")),
                );
            }
            return;
        }
        let mut candidates: Vec<&str> = self.declared.keys().map(|s| s.as_str()).collect();
        candidates.sort();
        let mut d = Diagnostic::error("E201", format!("unknown name `{name}`"))
            .with_primary(span, "not declared");
        if let Some(s) = suggest::closest(name, candidates) {
            d = d.with_help(format!("Did you mean `{s}`?"));
        } else {
            d = d.with_help(format!(
                "Declare it with `data {name}` for a column or `param {name}` for a parameter."
            ));
        }
        self.diags.push(d);
    }

    fn name_kind(&self, name: &str, scope: &[String]) -> Option<NameKind> {
        if scope.iter().any(|s| s == name) {
            Some(NameKind::Arg)
        } else if self.model.data_var(name).is_some() {
            Some(NameKind::Data)
        } else if self.model.param(name).is_some() {
            Some(NameKind::Param)
        } else if self.model.const_value(name).is_some() || name == "pi" {
            Some(NameKind::Const)
        } else {
            None
        }
    }

    /// Checks names and call arities in `e`; true when no error was found.
    fn check_expr(&mut self, e: &Expr, scope: &[String]) -> bool {
        match &e.kind {
            ExprKind::Number(_) => true,
            ExprKind::Name(n) => {
                if self.name_kind(n, scope).is_some() {
                    true
                } else if self.model.func(n).is_some()
                    && self.model.func(n).map(|f| f.args.is_empty()) == Some(true)
                {
                    true
                } else {
                    self.unknown_name(n, e.span);
                    false
                }
            }
            ExprKind::Neg(a) => self.check_expr(a, scope),
            ExprKind::Binary { lhs, rhs, .. } => {
                let a = self.check_expr(lhs, scope);
                let b = self.check_expr(rhs, scope);
                a && b
            }
            ExprKind::Index { base, indices } => {
                let mut ok = true;
                if self.name_kind(&base.name, scope).is_none() {
                    self.unknown_name(&base.name, base.span);
                    ok = false;
                }
                for i in indices {
                    ok &= self.check_expr(i, scope);
                }
                ok
            }
            ExprKind::Call { func, args } => {
                let mut ok = true;
                for a in args {
                    ok &= self.check_expr(a, scope);
                }
                let expected = if Func::from_name(&func.name).is_some() {
                    Some(1)
                } else if let Some((_, n)) = SPECIAL_FUNCTIONS.iter().find(|(n, _)| *n == func.name)
                {
                    Some(*n)
                } else {
                    self.model.func(&func.name).map(|f| f.args.len())
                };
                match expected {
                    Some(n) if n == args.len() => ok,
                    Some(n) => {
                        self.diags.push(
                            Diagnostic::error(
                                "E204",
                                format!(
                                    "`{}` takes {}, found {}",
                                    func.name,
                                    plural(n, "argument"),
                                    args.len()
                                ),
                            )
                            .with_primary(e.span, format!("expected {}", plural(n, "argument"))),
                        );
                        false
                    }
                    None => {
                        let mut names: Vec<&str> = Func::BUILTINS.iter().map(|(n, _)| *n).collect();
                        names.extend(SPECIAL_FUNCTIONS.iter().map(|(n, _)| *n));
                        names.extend(self.model.funcs.iter().map(|f| f.name.as_str()));
                        let mut d =
                            Diagnostic::error("E203", format!("unknown function `{}`", func.name))
                                .with_primary(func.span, "not a function");
                        if let Some(s) = suggest::closest(&func.name, names) {
                            d = d.with_help(format!("Did you mean `{s}`?"));
                        }
                        self.diags.push(d);
                        false
                    }
                }
            }
        }
    }

    /// The kinds of names an expression refers to, through function bodies.
    fn references(&self, e: &Expr, scope: &[String]) -> HashSet<NameKind> {
        let mut out = HashSet::new();
        let mut visiting = Vec::new();
        self.collect_refs(e, scope, &mut out, &mut visiting);
        out
    }

    fn collect_refs(
        &self,
        e: &Expr,
        scope: &[String],
        out: &mut HashSet<NameKind>,
        visiting: &mut Vec<String>,
    ) {
        match &e.kind {
            ExprKind::Number(_) => {}
            ExprKind::Name(n) => match self.name_kind(n, scope) {
                Some(k) => {
                    out.insert(k);
                }
                None => self.collect_func_refs(n, out, visiting),
            },
            ExprKind::Neg(a) => self.collect_refs(a, scope, out, visiting),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.collect_refs(lhs, scope, out, visiting);
                self.collect_refs(rhs, scope, out, visiting);
            }
            ExprKind::Index { base, indices } => {
                if let Some(k) = self.name_kind(&base.name, scope) {
                    out.insert(k);
                }
                for i in indices {
                    self.collect_refs(i, scope, out, visiting);
                }
            }
            ExprKind::Call { func, args } => {
                for a in args {
                    self.collect_refs(a, scope, out, visiting);
                }
                self.collect_func_refs(&func.name, out, visiting);
            }
        }
    }

    fn collect_func_refs(
        &self,
        name: &str,
        out: &mut HashSet<NameKind>,
        visiting: &mut Vec<String>,
    ) {
        // A function's body refers to the same kinds of names at every
        // call: walked once (also what stops a recursive definition), so
        // functions calling each other repeatedly cost linear time.
        if visiting.iter().any(|v| v == name) {
            return;
        }
        if let Some(f) = self.model.func(name) {
            visiting.push(name.to_string());
            let body = f.body.clone();
            let args = f.args.clone();
            self.collect_refs(&body, &args, out, visiting);
        }
    }
}

fn is_special(name: &str) -> bool {
    SPECIAL_FUNCTIONS.iter().any(|(n, _)| *n == name)
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The binary operator of the surface syntax as a graph operation.
pub fn graph_op(op: BinOp) -> crate::graph::BinOp {
    match op {
        BinOp::Add => crate::graph::BinOp::Add,
        BinOp::Sub => crate::graph::BinOp::Sub,
        BinOp::Mul => crate::graph::BinOp::Mul,
        BinOp::Div => crate::graph::BinOp::Div,
        BinOp::Pow => crate::graph::BinOp::Pow,
    }
}
