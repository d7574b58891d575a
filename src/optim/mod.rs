//! Unconstrained minimisation of smooth functions.
//!
//! The caller supplies an [`Objective`]: a value and gradient, and an exact
//! Hessian, on an unconstrained parameter vector `x`. [`minimize`] returns an
//! [`Outcome`] that says honestly why it stopped ([`StopReason`]) and which
//! numerical repairs were needed on the way (`Outcome::repairs`).
//!
//! Names of variables and algorithm numbers follow J. Nocedal and S. J.
//! Wright, *Numerical Optimization*, 2nd ed., Springer 2006 (below: N&W).
//!
//! # Methods
//!
//! * [`Method::Lbfgs`] (module `lbfgs`): limited-memory BFGS. The search
//!   direction comes from the two-loop recursion (N&W Alg. 7.4) with the
//!   initial inverse Hessian `gamma_k * I`, `gamma_k = s'y / y'y` (N&W eq.
//!   7.20); the outer loop is N&W Alg. 7.5. Step lengths come from a line
//!   search satisfying the strong Wolfe conditions with `c1 = 1e-4`,
//!   `c2 = 0.9` (module `line_search`, N&W Alg. 3.5 and 3.6, with safeguarded
//!   cubic or quadratic interpolation). A pair `(s_k, y_k)` whose curvature
//!   `s'y` is not clearly positive is not stored. Where the objective is not
//!   finite, the line search treats the trial point as infeasible and
//!   shortens the step; such a point is never accepted. Once the decrease to
//!   be verified is below the rounding level of `f`, the approximate Wolfe
//!   conditions of Hager and Zhang take over.
//!
//! * [`Method::Newton`] (module `trust_region`): Newton's method with the
//!   exact Hessian in a trust region (N&W ch. 4, Alg. 4.1). The subproblem
//!   `min g'p + p'Hp/2` subject to `||D p|| <= Delta` is solved exactly
//!   through a symmetric eigendecomposition of the scaled Hessian (N&W
//!   section 4.3), including indefinite Hessians and the "hard case"; so saddle
//!   points and regions of negative curvature are left along directions of
//!   negative curvature instead of being stepped into. `D` is a diagonal
//!   scaling built from the Hessian diagonal, kept non-decreasing in the
//!   manner of Moré (1978), which makes the method insensitive to parameters
//!   that differ by orders of magnitude. Steps are accepted by the ratio of
//!   actual to predicted reduction; a non-finite value counts as a failed
//!   step and shrinks the region. Near the solution, where the predicted
//!   decrease is below the rounding level of `f`, full Newton steps are
//!   judged by the gradient instead, which polishes `x` to near machine
//!   precision.
//!
//! * [`Method::Auto`] (the default): trust-region Newton from the start for
//!   up to [`AUTO_NEWTON_MAX_DIM`] parameters, the most reliable and cheapest
//!   choice on the test problems (the constant's documentation gives the
//!   measurements); for more parameters, L-BFGS until the relative gradient
//!   is below [`AUTO_HANDOFF_TOL`], then trust-region Newton to full
//!   precision.
//!
//! # Convergence
//!
//! With `f` the value, `g` the gradient and `x` the point, a run converges
//! ([`StopReason::Converged`]) when
//!
//! * ([`Criterion::Gradient`], all methods)
//!   `max_i |g_i| max(1, |x_i|) <= grad_rel_tol * max(1, |f|)`: the change of
//!   `f` under a relative change of any parameter is negligible relative to
//!   `f`; the floors of one keep the test meaningful for parameters and
//!   values near zero; or
//! * ([`Criterion::NewtonStep`], trust region only) the Hessian is positive
//!   definite, the full Newton step `p = -H^{-1} g` satisfies
//!   `max_i |p_i| / max(|x_i|, STEP_X_FLOOR) <= STEP_REL_TOL` and its
//!   predicted decrease `g'H^{-1}g / 2 <= PRED_REL_TOL * max(1, |f|)`: the
//!   remaining distance to the minimiser is negligible and the remaining
//!   decrease is at the rounding level of `f`. This covers parameters whose
//!   gradient rounding noise exceeds the gradient tolerance.
//!
//! Module `stop` explains the choice of each tolerance. A run that ends for
//! any other reason is reported as such, never as converged. Iterations of
//! both methods count against the same limit `Options::max_iter`; an
//! iteration is one line search (L-BFGS) or one trial step, accepted or not
//! (trust region).

mod lbfgs;
mod line_search;
pub mod root;
mod stop;
mod subproblem;
mod trust_region;

#[cfg(test)]
mod nist_data;
#[cfg(test)]
mod nist_tests;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nalgebra::DMatrix;

pub use stop::{
    Criterion, StopReason, DEFAULT_GRAD_REL_TOL, PRED_REL_TOL, STEP_REL_TOL, STEP_X_FLOOR,
};

/// What the optimizer minimizes. `x` is the unconstrained parameter vector.
pub trait Objective {
    /// Number of parameters.
    fn dim(&self) -> usize;

    /// Value and gradient at `x`. May return a non-finite value (inf or NaN)
    /// when `x` is outside the domain; the optimizer then treats the point as
    /// infeasible (shortens the step) and never accepts it.
    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64;

    /// Value only (default: calls `value_grad` with a scratch buffer).
    fn value(&mut self, x: &[f64]) -> f64 {
        let mut scratch = vec![0.0; self.dim()];
        self.value_grad(x, &mut scratch)
    }

    /// Value, gradient and exact Hessian (dense, symmetric, dim x dim).
    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64;

    /// The largest change one trust-region step may make in coordinate i
    /// (default: none). A coordinate that is the log or the logit of a
    /// constrained parameter moves it by a factor of e^cap at most: where
    /// the likelihood is nearly flat in such a coordinate, the scaled trust
    /// region would otherwise let one step throw it by e^20 and more, into
    /// a region the fit cannot come back from.
    fn step_cap(&self, i: usize) -> f64 {
        let _ = i;
        f64::INFINITY
    }
}

/// Optional per-iteration observer for progress display.
pub trait Observer {
    /// Called once at the start (`iter == 0`) and after every iteration that
    /// moved `x`, with the objective value and the largest absolute gradient
    /// component.
    fn iteration(&mut self, iter: usize, f: f64, grad_norm: f64);
}

impl<F: FnMut(usize, f64, f64)> Observer for F {
    fn iteration(&mut self, iter: usize, f: f64, grad_norm: f64) {
        self(iter, f, grad_norm)
    }
}

/// The observer used by [`minimize`]: ignores everything.
struct Silent;

impl Observer for Silent {
    fn iteration(&mut self, _iter: usize, _f: f64, _grad_norm: f64) {}
}

/// Which algorithm [`minimize`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Trust-region Newton for up to [`AUTO_NEWTON_MAX_DIM`] parameters;
    /// above that, L-BFGS to [`AUTO_HANDOFF_TOL`] and then trust-region
    /// Newton to full precision.
    #[default]
    Auto,
    /// L-BFGS with a strong Wolfe line search only.
    Lbfgs,
    /// Trust-region Newton with the exact Hessian only.
    Newton,
}

impl Method {
    /// True when [`minimize`] over `n` parameters asks for the Hessian at
    /// the start point (its first step is a Newton step).
    pub fn starts_with_newton(self, n: usize) -> bool {
        match self {
            Method::Newton => true,
            Method::Lbfgs => false,
            Method::Auto => n <= AUTO_NEWTON_MAX_DIM,
        }
    }
}

/// A flag that stops a minimisation at its next iteration when raised, from
/// another thread or a signal handler. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> CancelFlag {
        CancelFlag::default()
    }

    /// Asks the run to stop; it ends with [`StopReason::Cancelled`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Lowers the flag, for the next run.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Two flags are equal when they are the same flag.
impl PartialEq for CancelFlag {
    fn eq(&self, other: &CancelFlag) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Settings of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Iteration limit, summed over all phases.
    pub max_iter: usize,
    /// Tolerance of the relative gradient rule (see module `stop`).
    pub grad_rel_tol: f64,
    /// Number of `(s_k, y_k)` pairs kept by L-BFGS.
    pub lbfgs_memory: usize,
    /// Algorithm.
    pub method: Method,
    /// Checked before every iteration; when raised, the run stops.
    pub cancel: Option<CancelFlag>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_iter: 1000,
            grad_rel_tol: DEFAULT_GRAD_REL_TOL,
            lbfgs_memory: 10,
            method: Method::Auto,
            cancel: None,
        }
    }
}

/// Result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Best point found (always one where the objective was finite).
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub f: f64,
    /// Gradient at `x`.
    pub grad: Vec<f64>,
    /// Iterations used (see the module documentation for what counts).
    pub iterations: usize,
    /// Calls of `value` and `value_grad`.
    pub n_evals: usize,
    /// Calls of `value_grad_hess`.
    pub n_hess_evals: usize,
    /// Why the run stopped.
    pub stop: StopReason,
    /// Numerical repairs made on the way, in words, in the order they
    /// happened (for example a Hessian that was not positive definite).
    pub repairs: Vec<String>,
}

impl Outcome {
    /// `later`, a run started where this one stopped (or from a point this
    /// one led to), with the work of both counted.
    pub fn followed_by(mut self, later: Outcome) -> Outcome {
        self.repairs.extend(later.repairs);
        Outcome {
            iterations: self.iterations + later.iterations,
            n_evals: self.n_evals + later.n_evals,
            n_hess_evals: self.n_hess_evals + later.n_hess_evals,
            repairs: self.repairs,
            ..later
        }
    }
}

/// Dimension up to which [`Method::Auto`] runs trust-region Newton from the
/// start.
///
/// Measured on the 27 NIST StRD nonlinear regression problems from both
/// NIST starting points (54 runs, default options, as residual sum of squares
/// and as profile log-likelihood `(n/2) ln RSS`): Newton from the start
/// reached six correct digits in 48 and 45 runs, L-BFGS followed by Newton in
/// 48 and 46, but with more than twice the iterations and three times the
/// function evaluations. The two fail on different problems; the combination
/// failed Rat43 from its first start (L-BFGS carried the iterate onto a
/// plateau), one of the problems this module must solve. A dense Hessian and
/// an `O(n^3)` eigendecomposition per iteration are cheap below a few hundred
/// parameters; above this size L-BFGS does the bulk of the work and Newton
/// only polishes.
pub const AUTO_NEWTON_MAX_DIM: usize = 200;

/// Relative-gradient tolerance at which [`Method::Auto`] hands over from
/// L-BFGS to trust-region Newton on large problems: loose enough that L-BFGS
/// does not struggle with rounding, tight enough that Newton starts close to
/// the minimiser and needs only a few Hessians. L-BFGS gets at most half of
/// `Options::max_iter`, so that Newton always has its turn.
pub const AUTO_HANDOFF_TOL: f64 = 1e-5;

/// Minimise `obj` starting from `x0`.
///
/// # Panics
/// If `x0.len() != obj.dim()`.
pub fn minimize(obj: &mut dyn Objective, x0: &[f64], opts: &Options) -> Outcome {
    minimize_with_observer(obj, x0, opts, &mut Silent)
}

/// [`minimize`], reporting every iteration to `observer`.
pub fn minimize_with_observer(
    obj: &mut dyn Objective,
    x0: &[f64],
    opts: &Options,
    observer: &mut dyn Observer,
) -> Outcome {
    assert_eq!(
        x0.len(),
        obj.dim(),
        "starting point has the wrong number of parameters"
    );
    let mut ctx = Context::new(obj, observer, opts.max_iter);
    ctx.cancel = opts.cancel.clone();
    let n = x0.len();
    let mut g0 = vec![0.0; n];
    let f0 = ctx.value_grad(x0, &mut g0);
    let start = Point {
        x: x0.to_vec(),
        f: f0,
        g: g0,
    };
    if !start.is_finite() {
        log::debug!("optim: non-finite objective or gradient at the start");
        return ctx.finish(start, StopReason::NonFiniteStart);
    }
    ctx.observe(&start);
    if n == 0 {
        let criterion = Criterion::Gradient;
        return ctx.finish(start, StopReason::Converged { criterion });
    }

    let (end, stop) = match opts.method {
        Method::Lbfgs => lbfgs::run(&mut ctx, start, opts.grad_rel_tol, opts.lbfgs_memory),
        Method::Newton => trust_region::run(&mut ctx, start, opts.grad_rel_tol),
        Method::Auto if opts.method.starts_with_newton(n) => {
            log::debug!("optim: auto, {n} parameters: trust-region Newton from the start");
            trust_region::run(&mut ctx, start, opts.grad_rel_tol)
        }
        Method::Auto => {
            let handoff = opts.grad_rel_tol.max(AUTO_HANDOFF_TOL);
            log::debug!("optim: auto, {n} parameters: L-BFGS to {handoff:e}, then Newton");
            // L-BFGS gets at most half of the iterations, Newton the rest.
            ctx.max_iter = opts.max_iter / 2;
            let (mid, stop) = lbfgs::run(&mut ctx, start, handoff, opts.lbfgs_memory);
            ctx.max_iter = opts.max_iter;
            if ctx.out_of_iterations() {
                (mid, stop)
            } else {
                log::debug!("optim: L-BFGS phase ended ({stop}); Newton polish");
                trust_region::run(&mut ctx, mid, opts.grad_rel_tol)
            }
        }
    };
    ctx.finish(end, stop)
}

/// A point with its value and gradient.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub x: Vec<f64>,
    pub f: f64,
    pub g: Vec<f64>,
}

impl Point {
    /// Value and every gradient component finite.
    pub fn is_finite(&self) -> bool {
        self.f.is_finite() && self.g.iter().all(|v| v.is_finite())
    }
}

/// Most repairs kept in an [`Outcome`]; later ones are only counted.
const MAX_REPAIRS: usize = 100;

/// Shared state of one run: counted access to the objective, the observer,
/// the iteration count and the list of repairs.
pub(crate) struct Context<'a> {
    obj: &'a mut dyn Objective,
    observer: &'a mut dyn Observer,
    pub max_iter: usize,
    pub iterations: usize,
    n_evals: usize,
    n_hess_evals: usize,
    repairs: Vec<String>,
    repairs_dropped: usize,
    cancel: Option<CancelFlag>,
}

impl<'a> Context<'a> {
    fn new(obj: &'a mut dyn Objective, observer: &'a mut dyn Observer, max_iter: usize) -> Self {
        Context {
            obj,
            observer,
            max_iter,
            iterations: 0,
            n_evals: 0,
            n_hess_evals: 0,
            repairs: Vec::new(),
            repairs_dropped: 0,
            cancel: None,
        }
    }

    pub fn value(&mut self, x: &[f64]) -> f64 {
        self.n_evals += 1;
        self.obj.value(x)
    }

    pub fn value_grad(&mut self, x: &[f64], g: &mut [f64]) -> f64 {
        self.n_evals += 1;
        self.obj.value_grad(x, g)
    }

    pub fn value_grad_hess(&mut self, x: &[f64], g: &mut [f64], h: &mut DMatrix<f64>) -> f64 {
        self.n_hess_evals += 1;
        self.obj.value_grad_hess(x, g, h)
    }

    pub fn step_cap(&self, i: usize) -> f64 {
        self.obj.step_cap(i)
    }

    /// True when no further iteration is allowed: the limit is reached or
    /// the run was cancelled.
    pub fn out_of_iterations(&self) -> bool {
        self.iterations >= self.max_iter || self.is_cancelled()
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelFlag::is_cancelled)
    }

    /// Why the run stops when [`Context::out_of_iterations`] holds.
    pub fn limit_reason(&self) -> StopReason {
        if self.is_cancelled() {
            StopReason::Cancelled
        } else {
            StopReason::MaxIterations
        }
    }

    /// Report the current point to the observer.
    pub fn observe(&mut self, p: &Point) {
        self.observer
            .iteration(self.iterations, p.f, stop::max_abs(&p.g));
    }

    /// Record a numerical repair.
    pub fn repair(&mut self, what: String) {
        log::debug!("optim: {what}");
        if self.repairs.len() < MAX_REPAIRS {
            self.repairs.push(what);
        } else {
            self.repairs_dropped += 1;
        }
    }

    fn finish(mut self, p: Point, stop: StopReason) -> Outcome {
        log::debug!(
            "optim: stopped after {} iterations: {stop} (f = {:e})",
            self.iterations,
            p.f
        );
        if self.repairs_dropped > 0 {
            let n = self.repairs_dropped;
            self.repairs.push(format!("{n} further repairs not listed"));
        }
        Outcome {
            x: p.x,
            f: p.f,
            grad: p.g,
            iterations: self.iterations,
            n_evals: self.n_evals,
            n_hess_evals: self.n_hess_evals,
            stop,
            repairs: self.repairs,
        }
    }
}

/// Dot product.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(ai, bi)| ai * bi).sum()
}

/// Euclidean norm.
pub(crate) fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}
