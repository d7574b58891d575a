//! The compiled model as an optimization objective over the free
//! coordinates of theta.

use nalgebra::DMatrix;

use crate::compile::{Compiled, MAX_LISTED_ROWS};
use crate::diag::Diagnostic;
use crate::eval::{Columns, Program, Workspace};
use crate::optim::Objective;

/// NLL, gradient and Hessian of a compiled model, with some coordinates of
/// theta held fixed.
pub struct ModelObjective<'a> {
    c: &'a Compiled,
    free: Vec<usize>,
    theta: Vec<f64>,
    grad_prog: Program,
    grad_ws: Workspace,
    hess_prog: Option<(Program, Workspace)>,
    value_prog: Option<(Program, Workspace)>,
    /// The gradient program's last run: the fit checks that the NLL is
    /// finite at the start, and the optimizer then asks for it there again.
    last_grad: Pass,
    /// The Hessian program's last run: the fit asks for the Hessian at the
    /// optimum the optimizer has just evaluated it at, and at 1e6 rows one
    /// evaluation is tens of milliseconds.
    last_hess: Pass,
}

/// A program's outputs at the whole theta they were computed at.
#[derive(Default)]
struct Pass {
    theta: Option<Vec<f64>>,
    out: Vec<f64>,
}

impl Pass {
    /// The outputs, if they were computed at `theta` (bit for bit).
    fn at(&self, theta: &[f64]) -> Option<&[f64]> {
        let same = self.theta.as_ref().is_some_and(|t| {
            t.len() == theta.len() && t.iter().zip(theta).all(|(u, v)| u.to_bits() == v.to_bits())
        });
        same.then_some(&self.out[..])
    }

    /// The outputs at `theta`, running `prog` only if they are not those.
    fn run(&mut self, prog: &Program, ws: &mut Workspace, data: &Columns, theta: &[f64]) -> &[f64] {
        if self.at(theta).is_none() {
            self.out.resize(prog.n_outputs(), 0.0);
            prog.eval(ws, data, theta, &mut self.out);
            let t = self.theta.get_or_insert_with(Vec::new);
            t.clear();
            t.extend_from_slice(theta);
        }
        &self.out
    }
}

impl<'a> ModelObjective<'a> {
    pub fn new(c: &'a Compiled, free: Vec<usize>, theta: Vec<f64>) -> ModelObjective<'a> {
        let grad_prog = c.grad_program();
        let grad_ws = Workspace::new(&grad_prog);
        ModelObjective {
            c,
            free,
            theta,
            grad_prog,
            grad_ws,
            hess_prog: None,
            value_prog: None,
            last_grad: Pass::default(),
            last_hess: Pass::default(),
        }
    }

    fn set(&mut self, x: &[f64]) {
        for (i, k) in self.free.iter().enumerate() {
            self.theta[*k] = x[i];
        }
    }

    /// Sets a coordinate of theta that is not optimised (the smoothing width).
    pub fn set_theta(&mut self, k: usize, value: f64) {
        self.theta[k] = value;
    }

    pub fn nll_at(&mut self, x: &[f64]) -> f64 {
        let mut g = vec![0.0; x.len()];
        self.value_grad(x, &mut g)
    }

    /// The NLL alone, for probes along a direction: a program without the
    /// gradient's passes over the data. Its last bits may differ from those
    /// of [`ModelObjective::nll_at`] and of the NLL the optimizer saw (see
    /// [`Compiled::value_program_from`]); a probe compares it with those
    /// only to a tolerance far above rounding.
    pub fn probe_nll(&mut self, x: &[f64]) -> f64 {
        self.set(x);
        let (prog, ws) = self.value_prog.get_or_insert_with(|| {
            let p = self.c.value_program_from(&self.grad_prog);
            let ws = Workspace::new(&p);
            (p, ws)
        });
        let mut out = [0.0];
        prog.eval(ws, &self.c.columns, &self.theta, &mut out);
        out[0]
    }
}

/// The largest change of a constrained parameter's unconstrained
/// coordinate in one optimizer step: a factor of e^10 (2.2e4) on the
/// parameter. Steps that large are rare away from a flat region; there,
/// a Student-t's nu went from 1e4 to 1e22 in three steps before the
/// location and scale were near their estimates, and stayed.
const TRANSFORMED_STEP_CAP: f64 = 10.0;

impl Objective for ModelObjective<'_> {
    fn dim(&self) -> usize {
        self.free.len()
    }

    fn step_cap(&self, i: usize) -> f64 {
        match self.c.params[self.free[i]].transform {
            crate::model::Transform::Identity => f64::INFINITY,
            _ => TRANSFORMED_STEP_CAP,
        }
    }

    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        self.set(x);
        // The Hessian program's first outputs are the NLL and gradient.
        let out = match self.last_hess.at(&self.theta) {
            Some(out) => out,
            None => self.last_grad.run(
                &self.grad_prog,
                &mut self.grad_ws,
                &self.c.columns,
                &self.theta,
            ),
        };
        for (i, k) in self.free.iter().enumerate() {
            grad[i] = out[1 + k];
        }
        out[0]
    }

    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        self.set(x);
        if self.hess_prog.is_none() {
            let p = self.c.hess_program_from(&self.grad_prog);
            let ws = Workspace::new(&p);
            self.hess_prog = Some((p, ws));
        }
        let Some((prog, ws)) = self.hess_prog.as_mut() else {
            unreachable!()
        };
        let out = self.last_hess.run(prog, ws, &self.c.columns, &self.theta);
        let p = self.c.n_params();
        for (i, k) in self.free.iter().enumerate() {
            grad[i] = out[1 + k];
            for (j, l) in self.free.iter().enumerate() {
                hess[(i, j)] = out[1 + p + Compiled::hess_index(*k, *l)];
            }
        }
        out[0]
    }
}

/// Says why the NLL is not finite at the start values: the first statement
/// with a non-finite term, the rows involved, and any argument outside its
/// support there.
pub fn explain_nonfinite_start(c: &Compiled, theta: &[f64]) -> Diagnostic {
    for s in &c.statements {
        let mut nodes = vec![s.term];
        nodes.extend(&s.args);
        let rows = c.eval_rows(&nodes, theta);
        let bad_rows: Vec<usize> = (0..rows[0].len())
            .filter(|i| !rows[0][*i].is_finite())
            .collect();
        if bad_rows.is_empty() {
            continue;
        }
        let source_row = |i: usize| c.source_rows.row_of(i);
        for (a, arg_rows) in rows[1..].iter().enumerate() {
            let support = s.family.arg_support_of(a);
            let bad: Vec<(usize, f64)> = bad_rows
                .iter()
                .filter(|i| !support.contains(arg_rows[**i]))
                .map(|i| (*i, arg_rows[*i]))
                .collect();
            if bad.is_empty() {
                continue;
            }
            let listed: Vec<String> = if s.is_prior {
                vec![format!("{}", bad[0].1)]
            } else {
                bad.iter()
                    .take(MAX_LISTED_ROWS)
                    .map(|(i, v)| format!("row {} ({v})", source_row(*i)))
                    .collect()
            };
            let arg_name = s.family.args.get(a).copied().unwrap_or("argument");
            let where_ = if s.is_prior {
                String::new()
            } else {
                format!(
                    " in {} row{}",
                    bad.len(),
                    if bad.len() == 1 { "" } else { "s" }
                )
            };
            return Diagnostic::error("E401", format!("`{arg_name}` of `{}` is outside its support at the start values{where_}", s.family.name))
                .with_primary(s.arg_spans[a], format!("must be {}", support.describe()))
                .with_note(format!("{} at the start: {}.", if s.is_prior { "Value" } else { "Values" }, listed.join(", ")))
                .with_help("Give start values that put every argument inside its support (`param ... = value` or --start NAME=VALUE), or use a transform such as exp(...) for a scale.");
        }
        let listed: Vec<String> = bad_rows
            .iter()
            .take(MAX_LISTED_ROWS)
            .map(|i| format!("row {}", source_row(*i)))
            .collect();
        let where_ = if s.is_prior {
            "A prior is evaluated once, not per row.".to_string()
        } else {
            format!(
                "In {}: {}.",
                crate::model::plural(bad_rows.len(), "row"),
                listed.join(", ")
            )
        };
        return Diagnostic::error("E402", format!("the log-density of `{}` is not finite at the start values", s.family.name))
            .with_primary(s.span, "not finite here")
            .with_note(where_)
            .with_help("Check the start values, or whether a function such as log or sqrt gets a value outside its domain.");
    }
    Diagnostic::error(
        "E402",
        "the negative log-likelihood is not finite at the start values",
    )
}
