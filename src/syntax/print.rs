//! From the [`ast`](super::ast) back to canonical source text.
//!
//! The printed text parses back to the same tree (spans aside). Parentheses
//! are written only where the precedence and associativity rules need them:
//!
//! | level | forms                  | associativity |
//! |-------|------------------------|---------------|
//! | 1     | `a + b`, `a - b`       | left          |
//! | 2     | `a * b`, `a / b`       | left          |
//! | 3     | `-a`                   | prefix        |
//! | 4     | `a ^ b`                | right         |
//! | 5     | numbers, names, calls, indexing, `( .. )` | |
//!
//! The base of `^` must be at level 5 (so `(-a)^2` and `(a^b)^c` keep their
//! parentheses), while its exponent may be a unary minus (`2^-1`). Binary
//! operators are written with a space on each side except `^`, which is
//! written tight: `a + b * x^2`.

use std::fmt::Write;

use super::ast::{
    BinOp, Constraint, DataDecl, DataKind, Dim, Expr, ExprKind, ParamDecl, Program, Stmt, StmtKind,
};

/// Prints a program as canonical source text, one statement per line, each
/// line ending in a line break.
pub fn print_program(p: &Program) -> String {
    let mut out = String::new();
    for stmt in &p.stmts {
        out.push_str(&print_stmt(stmt));
        out.push('\n');
    }
    out
}

/// Prints one statement on one line, without a line break.
pub fn print_stmt(stmt: &Stmt) -> String {
    match &stmt.kind {
        StmtKind::Data(decls) => {
            format!("data {}", join(decls.iter().map(print_data_decl)))
        }
        StmtKind::Param(decls) => {
            format!("param {}", join(decls.iter().map(print_param_decl)))
        }
        StmtKind::Const { name, value } => format!("const {} = {}", name.name, print_expr(value)),
        StmtKind::Func { name, args, body } => {
            if args.is_empty() {
                format!("{} = {}", name.name, print_expr(body))
            } else {
                let args = join(args.iter().map(|a| a.name.clone()));
                format!("{}({}) = {}", name.name, args, print_expr(body))
            }
        }
        StmtKind::Sample { lhs, dist, args } => {
            format!(
                "{} ~ {}({})",
                print_expr(lhs),
                dist.name,
                join(args.iter().map(print_expr))
            )
        }
    }
}

fn print_data_decl(d: &DataDecl) -> String {
    let mut out = d.name.name.clone();
    match d.kind {
        DataKind::Real => {}
        DataKind::Int => out.push_str(": int"),
        DataKind::Factor => out.push_str(": factor"),
    }
    if let Some(columns) = &d.columns {
        let _ = write!(out, " = [{}]", join(columns.iter().map(|c| c.name.clone())));
    }
    out
}

fn print_param_decl(d: &ParamDecl) -> String {
    let mut out = d.name.name.clone();
    if !d.dims.is_empty() {
        let dims = d.dims.iter().map(|dim| match dim {
            Dim::Size { size, .. } => size.to_string(),
            Dim::Factor(name) => name.name.clone(),
        });
        let _ = write!(out, "[{}]", join(dims));
    }
    match &d.constraint {
        None => {}
        Some(Constraint::Lower(lo)) => {
            let _ = write!(out, " > {}", print_expr(lo));
        }
        Some(Constraint::Upper(hi)) => {
            let _ = write!(out, " < {}", print_expr(hi));
        }
        Some(Constraint::Interval(lo, hi)) => {
            let _ = write!(out, " in ({}, {})", print_expr(lo), print_expr(hi));
        }
    }
    if let Some(start) = &d.start {
        let _ = write!(out, " = {}", print_expr(start));
    }
    out
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Prints an expression with the fewest parentheses that keep its meaning.
pub fn print_expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e, Level::Sum);
    out
}

/// Binding levels, loosest first; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Sum,
    Product,
    Prefix,
    Power,
    Atom,
}

/// The level at which an expression is written without parentheses.
fn level(e: &Expr) -> Level {
    match &e.kind {
        ExprKind::Number(v) if is_negative(*v) => Level::Prefix,
        ExprKind::Number(_) | ExprKind::Name(_) | ExprKind::Call { .. } => Level::Atom,
        ExprKind::Index { .. } => Level::Atom,
        ExprKind::Neg(_) => Level::Prefix,
        ExprKind::Binary {
            op: BinOp::Add | BinOp::Sub,
            ..
        } => Level::Sum,
        ExprKind::Binary {
            op: BinOp::Mul | BinOp::Div,
            ..
        } => Level::Product,
        ExprKind::Binary { op: BinOp::Pow, .. } => Level::Power,
    }
}

fn is_negative(v: f64) -> bool {
    v.is_sign_negative() && !v.is_nan()
}

/// Writes `e` where the surrounding text needs at least level `min`.
fn write_expr(out: &mut String, e: &Expr, min: Level) {
    let parens = level(e) < min;
    if parens {
        out.push('(');
    }
    match &e.kind {
        ExprKind::Number(v) => {
            if is_negative(*v) {
                out.push('-');
            }
            out.push_str(&format_number(v.abs()));
        }
        ExprKind::Name(name) => out.push_str(name),
        ExprKind::Call { func, args } => {
            out.push_str(&func.name);
            write_list(out, '(', args, ')');
        }
        ExprKind::Index { base, indices } => {
            out.push_str(&base.name);
            write_list(out, '[', indices, ']');
        }
        ExprKind::Neg(inner) => {
            out.push('-');
            write_expr(out, inner, Level::Prefix);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (left, right, sym) = match op {
                BinOp::Add => (Level::Sum, Level::Product, " + "),
                BinOp::Sub => (Level::Sum, Level::Product, " - "),
                BinOp::Mul => (Level::Product, Level::Prefix, " * "),
                BinOp::Div => (Level::Product, Level::Prefix, " / "),
                BinOp::Pow => (Level::Atom, Level::Prefix, "^"),
            };
            write_expr(out, lhs, left);
            out.push_str(sym);
            write_expr(out, rhs, right);
        }
    }
    if parens {
        out.push(')');
    }
}

fn write_list(out: &mut String, open: char, items: &[Expr], close: char) {
    out.push(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_expr(out, item, Level::Sum);
    }
    out.push(close);
}

/// Formats a finite, non-negative number so that it reads back as the same
/// `f64`: the shortest round-tripping digits, an exponent for very large or
/// small magnitudes, and no `.0` on whole numbers.
fn format_number(v: f64) -> String {
    let text = format!("{v:?}");
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::diag::Span;
    use crate::syntax::ast::Ident;
    use crate::syntax::parse::{parse_expr, parse_program, RESERVED_WORDS};

    fn e(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    fn id(name: &str) -> Ident {
        Ident {
            name: name.to_string(),
            span: Span::default(),
        }
    }

    fn num(v: f64) -> Expr {
        e(ExprKind::Number(v))
    }

    fn name(n: &str) -> Expr {
        e(ExprKind::Name(n.to_string()))
    }

    fn neg(x: Expr) -> Expr {
        e(ExprKind::Neg(Box::new(x)))
    }

    fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
        e(ExprKind::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
        })
    }

    // Span-free copies, to compare trees by shape alone.

    fn strip_ident(i: &Ident) -> Ident {
        id(&i.name)
    }

    fn strip_expr(x: &Expr) -> Expr {
        e(match &x.kind {
            ExprKind::Number(v) => ExprKind::Number(*v),
            ExprKind::Name(n) => ExprKind::Name(n.clone()),
            ExprKind::Call { func, args } => ExprKind::Call {
                func: strip_ident(func),
                args: args.iter().map(strip_expr).collect(),
            },
            ExprKind::Index { base, indices } => ExprKind::Index {
                base: strip_ident(base),
                indices: indices.iter().map(strip_expr).collect(),
            },
            ExprKind::Neg(inner) => ExprKind::Neg(Box::new(strip_expr(inner))),
            ExprKind::Binary { op, lhs, rhs } => ExprKind::Binary {
                op: *op,
                lhs: Box::new(strip_expr(lhs)),
                rhs: Box::new(strip_expr(rhs)),
            },
        })
    }

    fn strip_program(p: &Program) -> Program {
        let stmts = p
            .stmts
            .iter()
            .map(|s| {
                let kind = match &s.kind {
                    StmtKind::Data(decls) => StmtKind::Data(
                        decls
                            .iter()
                            .map(|d| DataDecl {
                                name: strip_ident(&d.name),
                                kind: d.kind,
                                columns: d
                                    .columns
                                    .as_ref()
                                    .map(|c| c.iter().map(strip_ident).collect()),
                                span: Span::default(),
                            })
                            .collect(),
                    ),
                    StmtKind::Param(decls) => StmtKind::Param(
                        decls
                            .iter()
                            .map(|d| ParamDecl {
                                name: strip_ident(&d.name),
                                dims: d
                                    .dims
                                    .iter()
                                    .map(|dim| match dim {
                                        Dim::Size { size, .. } => Dim::Size {
                                            size: *size,
                                            span: Span::default(),
                                        },
                                        Dim::Factor(f) => Dim::Factor(strip_ident(f)),
                                    })
                                    .collect(),
                                constraint: d.constraint.as_ref().map(|c| match c {
                                    Constraint::Lower(x) => Constraint::Lower(strip_expr(x)),
                                    Constraint::Upper(x) => Constraint::Upper(strip_expr(x)),
                                    Constraint::Interval(a, b) => {
                                        Constraint::Interval(strip_expr(a), strip_expr(b))
                                    }
                                }),
                                start: d.start.as_ref().map(strip_expr),
                                span: Span::default(),
                            })
                            .collect(),
                    ),
                    StmtKind::Const { name, value } => StmtKind::Const {
                        name: strip_ident(name),
                        value: strip_expr(value),
                    },
                    StmtKind::Func { name, args, body } => StmtKind::Func {
                        name: strip_ident(name),
                        args: args.iter().map(strip_ident).collect(),
                        body: strip_expr(body),
                    },
                    StmtKind::Sample { lhs, dist, args } => StmtKind::Sample {
                        lhs: strip_expr(lhs),
                        dist: strip_ident(dist),
                        args: args.iter().map(strip_expr).collect(),
                    },
                };
                Stmt {
                    kind,
                    span: Span::default(),
                }
            })
            .collect();
        Program { stmts }
    }

    fn reparse(x: &Expr) -> Expr {
        let text = print_expr(x);
        strip_expr(&parse_expr(&text).unwrap_or_else(|d| panic!("{text:?} does not parse: {d:?}")))
    }

    #[test]
    fn minimal_parentheses() {
        let (a, b, c) = (name("a"), name("b"), name("c"));
        let cases = [
            (
                bin(BinOp::Sub, bin(BinOp::Sub, a.clone(), b.clone()), c.clone()),
                "a - b - c",
            ),
            (
                bin(BinOp::Sub, a.clone(), bin(BinOp::Sub, b.clone(), c.clone())),
                "a - (b - c)",
            ),
            (
                bin(BinOp::Add, a.clone(), bin(BinOp::Add, b.clone(), c.clone())),
                "a + (b + c)",
            ),
            (
                bin(BinOp::Mul, bin(BinOp::Add, a.clone(), b.clone()), c.clone()),
                "(a + b) * c",
            ),
            (
                bin(BinOp::Div, a.clone(), bin(BinOp::Mul, b.clone(), c.clone())),
                "a / (b * c)",
            ),
            (
                bin(BinOp::Pow, a.clone(), bin(BinOp::Pow, b.clone(), c.clone())),
                "a^b^c",
            ),
            (
                bin(BinOp::Pow, bin(BinOp::Pow, a.clone(), b.clone()), c.clone()),
                "(a^b)^c",
            ),
            (neg(bin(BinOp::Pow, a.clone(), num(2.0))), "-a^2"),
            (bin(BinOp::Pow, neg(a.clone()), num(2.0)), "(-a)^2"),
            (bin(BinOp::Pow, num(2.0), neg(num(1.0))), "2^-1"),
            (
                bin(
                    BinOp::Pow,
                    a.clone(),
                    neg(bin(BinOp::Add, b.clone(), c.clone())),
                ),
                "a^-(b + c)",
            ),
            (neg(bin(BinOp::Add, a.clone(), b.clone())), "-(a + b)"),
            (neg(bin(BinOp::Mul, a.clone(), b.clone())), "-(a * b)"),
            (bin(BinOp::Mul, neg(a.clone()), b.clone()), "-a * b"),
            (bin(BinOp::Mul, a.clone(), neg(b.clone())), "a * -b"),
            (bin(BinOp::Sub, a.clone(), neg(b.clone())), "a - -b"),
            (neg(neg(a.clone())), "--a"),
            (bin(BinOp::Pow, num(-2.0), a.clone()), "(-2)^a"),
            (bin(BinOp::Sub, a.clone(), num(-2.0)), "a - -2"),
            (
                e(ExprKind::Call {
                    func: id("f"),
                    args: vec![bin(BinOp::Add, a.clone(), b.clone()), c.clone()],
                }),
                "f(a + b, c)",
            ),
            (
                e(ExprKind::Call {
                    func: id("f"),
                    args: vec![],
                }),
                "f()",
            ),
            (
                e(ExprKind::Index {
                    base: id("W"),
                    indices: vec![name("k"), num(2.0)],
                }),
                "W[k, 2]",
            ),
        ];
        for (tree, text) in cases {
            assert_eq!(print_expr(&tree), text);
        }
    }

    #[test]
    fn numbers_read_back_exactly() {
        for (v, text) in [
            (2.0, "2"),
            (0.5, "0.5"),
            (1e-3, "0.001"),
            (2.5e4, "25000"),
            (1e-7, "1e-7"),
            (1e21, "1e21"),
            (1.5e300, "1.5e300"),
            (0.1, "0.1"),
            (0.0, "0"),
            (123456.789, "123456.789"),
        ] {
            assert_eq!(print_expr(&num(v)), text);
            assert_eq!(reparse(&num(v)), num(v));
        }
    }

    #[test]
    fn statements() {
        let src = "data x, n: int, X: int = [a, b]\nparam s[g, 3] > 0 = 1, p in (0, 1), t < 2\n\
                   const k = 2\nf(x, y) = x^y\ng = 1\ny ~ Dist()\n";
        let p = parse_program(src).unwrap();
        assert_eq!(print_program(&p), src);
        assert_eq!(print_program(&Program { stmts: vec![] }), "");
    }

    // Generators for property tests.

    fn any_ident() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,5}"
            .prop_filter("reserved", |s| !RESERVED_WORDS.contains(&s.as_str()))
    }

    fn any_number() -> impl Strategy<Value = f64> {
        prop_oneof![
            (0u32..1000).prop_map(f64::from),
            0.0..1e6f64,
            (0.0..1.0f64).prop_map(|x| x * 1e-12),
            Just(1.5e300),
            Just(0.5),
        ]
    }

    fn any_op() -> impl Strategy<Value = BinOp> {
        prop_oneof![
            Just(BinOp::Add),
            Just(BinOp::Sub),
            Just(BinOp::Mul),
            Just(BinOp::Div),
            Just(BinOp::Pow)
        ]
    }

    fn any_expr() -> impl Strategy<Value = Expr> {
        let leaf = prop_oneof![
            any_number().prop_map(num),
            any_ident().prop_map(|n| name(&n))
        ];
        leaf.prop_recursive(5, 40, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(neg),
                (any_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| bin(op, l, r)),
                (any_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| bin(op, l, r)),
                (any_ident(), prop::collection::vec(inner.clone(), 0..3))
                    .prop_map(|(f, args)| e(ExprKind::Call { func: id(&f), args })),
                (any_ident(), prop::collection::vec(inner, 1..3)).prop_map(|(b, indices)| e(
                    ExprKind::Index {
                        base: id(&b),
                        indices
                    }
                )),
            ]
        })
    }

    fn any_data_kind() -> impl Strategy<Value = DataKind> {
        prop_oneof![
            Just(DataKind::Real),
            Just(DataKind::Int),
            Just(DataKind::Factor)
        ]
    }

    fn any_dim() -> impl Strategy<Value = Dim> {
        prop_oneof![
            (0usize..100).prop_map(|size| Dim::Size {
                size,
                span: Span::default()
            }),
            any_ident().prop_map(|n| Dim::Factor(id(&n))),
        ]
    }

    fn any_constraint() -> impl Strategy<Value = Constraint> {
        prop_oneof![
            any_expr().prop_map(Constraint::Lower),
            any_expr().prop_map(Constraint::Upper),
            (any_expr(), any_expr()).prop_map(|(a, b)| Constraint::Interval(a, b)),
        ]
    }

    fn any_stmt() -> impl Strategy<Value = Stmt> {
        let idents = || prop::collection::vec(any_ident().prop_map(|n| id(&n)), 1..4);
        let data = prop::collection::vec(
            (any_ident(), any_data_kind(), prop::option::of(idents())).prop_map(
                |(n, kind, columns)| DataDecl {
                    name: id(&n),
                    kind,
                    columns,
                    span: Span::default(),
                },
            ),
            1..4,
        )
        .prop_map(StmtKind::Data);
        let param = prop::collection::vec(
            (
                any_ident(),
                prop::collection::vec(any_dim(), 0..3),
                prop::option::of(any_constraint()),
                prop::option::of(any_expr()),
            )
                .prop_map(|(n, dims, constraint, start)| ParamDecl {
                    name: id(&n),
                    dims,
                    constraint,
                    start,
                    span: Span::default(),
                }),
            1..4,
        )
        .prop_map(StmtKind::Param);
        let constant = (any_ident(), any_expr()).prop_map(|(n, value)| StmtKind::Const {
            name: id(&n),
            value,
        });
        let func = (
            any_ident(),
            prop::collection::vec(any_ident().prop_map(|n| id(&n)), 0..3),
            any_expr(),
        )
            .prop_map(|(n, args, body)| StmtKind::Func {
                name: id(&n),
                args,
                body,
            });
        let sample = (
            any_expr(),
            any_ident(),
            prop::collection::vec(any_expr(), 0..3),
        )
            .prop_map(|(lhs, d, args)| StmtKind::Sample {
                lhs,
                dist: id(&d),
                args,
            });
        prop_oneof![data, param, constant, func, sample].prop_map(|kind| Stmt {
            kind,
            span: Span::default(),
        })
    }

    /// The grouping parentheses of printed text (not those of calls), as
    /// pairs of byte offsets.
    fn grouping_parens(text: &str) -> Vec<(usize, usize)> {
        let bytes = text.as_bytes();
        let mut stack = Vec::new();
        let mut pairs = Vec::new();
        for (i, &c) in bytes.iter().enumerate() {
            match c {
                b'(' => {
                    let call =
                        i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
                    stack.push((i, call));
                }
                b')' => {
                    if let Some((open, call)) = stack.pop() {
                        if !call {
                            pairs.push((open, i));
                        }
                    }
                }
                _ => {}
            }
        }
        pairs
    }

    proptest! {
        #[test]
        fn expressions_round_trip(x in any_expr()) {
            prop_assert_eq!(reparse(&x), x.clone());
            let once = print_expr(&x);
            prop_assert_eq!(print_expr(&parse_expr(&once).unwrap()), once);
        }

        #[test]
        fn every_parenthesis_is_needed(x in any_expr()) {
            let text = print_expr(&x);
            for (open, close) in grouping_parens(&text) {
                let without = format!("{}{}{}", &text[..open], &text[open + 1..close], &text[close + 1..]);
                if let Ok(other) = parse_expr(&without) {
                    prop_assert_ne!(strip_expr(&other), x.clone(), "{} parses the same without the parentheses at {}", text, open);
                }
            }
        }

        #[test]
        fn programs_round_trip(stmts in prop::collection::vec(any_stmt(), 0..5)) {
            let p = Program { stmts };
            let text = print_program(&p);
            let back = parse_program(&text).unwrap_or_else(|d| panic!("{text:?} does not parse: {d:?}"));
            prop_assert_eq!(strip_program(&back), p);
            prop_assert_eq!(print_program(&back), text);
        }
    }
}
