//! Evaluation of constant expressions: const values, bounds, start values.

use crate::diag::Diagnostic;
use crate::graph::{apply_binary, Func};
use crate::syntax::ast::{Expr, ExprKind};

use super::graph_op;

/// The value of an expression of numbers, `pi`, earlier consts and builtin
/// functions of one argument.
pub fn eval_const(e: &Expr, consts: &[(String, f64)]) -> Result<f64, Diagnostic> {
    let not_const = |what: &str| {
        Diagnostic::error("E209", format!("expected a constant, found {what}"))
            .with_primary(e.span, "not a constant")
    };
    let v = match &e.kind {
        ExprKind::Number(v) => *v,
        ExprKind::Name(n) if n == "pi" => std::f64::consts::PI,
        ExprKind::Name(n) => match consts.iter().find(|(c, _)| c == n) {
            Some((_, v)) => *v,
            None => return Err(not_const(&format!("`{n}`"))),
        },
        ExprKind::Neg(a) => -eval_const(a, consts)?,
        ExprKind::Binary { op, lhs, rhs } => apply_binary(
            graph_op(*op),
            eval_const(lhs, consts)?,
            eval_const(rhs, consts)?,
        ),
        ExprKind::Call { func, args } if args.len() == 1 => match Func::from_name(&func.name) {
            Some(f) => f.apply(eval_const(&args[0], consts)?),
            None => return Err(not_const(&format!("a call to `{}`", func.name))),
        },
        ExprKind::Call { func, .. } => {
            return Err(not_const(&format!("a call to `{}`", func.name)))
        }
        ExprKind::Index { base, .. } => return Err(not_const(&format!("`{}[..]`", base.name))),
    };
    if !v.is_finite() {
        return Err(
            Diagnostic::error("E209", format!("this constant evaluates to {v}"))
                .with_primary(e.span, "not a finite number"),
        );
    }
    Ok(v)
}
