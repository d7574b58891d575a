//! The abstract syntax tree of a `.nll` model file.
//!
//! Every node carries a [`Span`] of byte offsets into the source text, so
//! later phases can point diagnostics at the exact text they are about.
//! The tree is plain data: name resolution and checking happen in `model`.

use crate::diag::Span;

/// A name as written in the source, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole model file: its statements in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// `data x, y`, `data n: int`, `data g: factor`, `data X = [age, bmi]`.
    Data(Vec<DataDecl>),
    /// `param a, s > 0, p in (0, 1) = 0.3, u[g], W[3, 4]`.
    Param(Vec<ParamDecl>),
    /// `const nu = 4`.
    Const { name: Ident, value: Expr },
    /// `mu(x) = a + b * x`, or `eta = a + b` with no arguments.
    Func {
        name: Ident,
        args: Vec<Ident>,
        body: Expr,
    },
    /// `lhs ~ Dist(args)`.
    Sample {
        lhs: Expr,
        dist: Ident,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Real,
    Int,
    Factor,
}

/// One declared data name.
#[derive(Debug, Clone, PartialEq)]
pub struct DataDecl {
    pub name: Ident,
    pub kind: DataKind,
    /// `Some` for a vector of columns, `data X = [age, bmi, bp]`: the CSV
    /// columns in order. `None` for a single column named like the data.
    pub columns: Option<Vec<Ident>>,
    pub span: Span,
}

/// One declared parameter (scalar, vector or matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    /// Empty for a scalar; one entry per dimension otherwise.
    pub dims: Vec<Dim>,
    pub constraint: Option<Constraint>,
    /// The start value `= expr`; an expression of numbers and consts.
    pub start: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    /// A fixed size, `beta[30]`.
    Size { size: usize, span: Span },
    /// One element per level of a factor data column, `u[g]`.
    Factor(Ident),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// `> lower`
    Lower(Expr),
    /// `< upper`
    Upper(Expr),
    /// `in (lower, upper)`
    Interval(Expr, Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Number(f64),
    /// A reference to a data column, parameter, const, function argument, or
    /// the constant `pi`.
    Name(String),
    /// `f(a, b)`: a builtin function or a user function.
    Call {
        func: Ident,
        args: Vec<Expr>,
    },
    /// `u[g]`, `beta[3]`, `W[k, 2]`.
    Index {
        base: Ident,
        indices: Vec<Expr>,
    },
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}
