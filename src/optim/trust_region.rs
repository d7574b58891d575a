//! Trust-region Newton method with the exact Hessian (N&W ch. 4).
//!
//! Each iteration (N&W Alg. 4.1):
//!
//! 1. Update the diagonal scaling `D` (`d_i = max(d_i, sqrt|H_ii|)`, never
//!    decreasing, after Moré 1978) and form the scaled gradient
//!    `g_hat = D^{-1} g` and Hessian `H_hat = D^{-1} H D^{-1}`. In scaled
//!    variables every parameter has curvature of order one, so parameters
//!    that differ by orders of magnitude are treated alike.
//! 2. Solve `min m(u) = g_hat'u + u'H_hat u/2, ||u|| <= Delta` exactly
//!    (module `subproblem`); the step is `p = D^{-1} u`. An indefinite
//!    Hessian yields a shifted step `(H_hat + lambda I) u = -g_hat` on the
//!    boundary, recorded as a repair.
//! 3. Compare the actual reduction `f(x) - f(x + p)` with the predicted one
//!    `-m(u)`: `rho = actual / predicted`. Accept the step if
//!    `rho > ETA`; shrink `Delta` to a quarter of the step length if
//!    `rho < 1/4`; double it if `rho > 3/4` and the step reached the
//!    boundary. A non-finite value at the trial point counts as `rho = -inf`.
//!
//! Near the solution the predicted decrease of the Newton step falls below
//! the rounding level of `f` (module `stop`), and comparing values of `f`
//! can no longer tell a good step from a bad one. In this *rounding regime*
//! the full Newton step is taken if it does not raise `f` beyond rounding and
//! makes the scaled gradient at least `ROUNDING_GRAD_SHRINK` times smaller
//! (at most `MAX_ROUNDING_STEPS` times);
//! this is what brings `x` to near machine precision when the gradient is
//! still accurate but `f` is not.
//!
//! Stopping: the Newton-step rule and the gradient rule of module `stop`.
//! When the gradient rule holds but the Hessian has clearly negative
//! curvature (a saddle point), the method keeps going along the negative
//! curvature until a step fails. When the gradient rule holds and the Newton
//! step still predicts a decrease above the rounding level of `f`, up to
//! `MAX_POLISH_STEPS` more steps are taken to polish the solution; a rejected
//! polish step ends the run at the point where the gradient rule held.
//! A trust region that shrinks until steps no longer change `x` ends the run
//! with `NoProgress` unless the gradient rule holds.

use nalgebra::DMatrix;

use super::stop::{
    gradient_converged, newton_step_converged, relative_gradient, relative_step, rounding_level,
    PRED_REL_TOL,
};
use super::subproblem::{StepKind, Subproblem};
use super::{norm, Context, Criterion, Point, StopReason};

/// Acceptance threshold `eta` for `rho` (N&W Alg. 4.1 allows `[0, 1/4)`).
/// A step must achieve a tenth of the decrease its model predicted; a step
/// whose model is worse than that is retried shorter. Compared with a
/// threshold near zero this keeps long indefinite steps from leaping onto
/// plateaus (NIST Eckerle4 from its first start), at no measurable cost in
/// iterations on the other test problems.
const ETA: f64 = 0.1;

/// Largest trust radius in scaled variables, relative to `max(1, ||D x||,
/// ||D^-1 g||)` at the start: the size of `x` or, from a start where `x` is
/// 0 and the gradient huge (a scale started 20 orders of magnitude below
/// the data's), the length of a unit-curvature step.
const MAX_RADIUS_FACTOR: f64 = 1e10;

/// Rounds of shrinking the radius for a step past a coordinate's cap
/// ([`super::Objective::step_cap`]); a step still past it after these is
/// taken (the cap is a guard, not a constraint).
const MAX_CAP_ROUNDS: usize = 4;

/// Negative curvature beyond this fraction of the largest eigenvalue of the
/// scaled Hessian makes a stationary point a saddle to escape from; smaller
/// negative eigenvalues are rounding noise or a flat valley.
const SADDLE_REL_TOL: f64 = 1e-6;

/// Failed trial steps allowed when trying to escape a saddle point before
/// accepting it as stationary (each failure quarters the radius).
const MAX_SADDLE_TRIES: usize = 10;

/// Factor by which the radius grows while a step's predicted decrease is
/// below what `f` can resolve, and the most rounds of it (4^40 ~ 1e24, the
/// span from a unit radius to the scaled gradient of a likelihood of order
/// 1e43).
const RADIUS_GROWTH: f64 = 4.0;
const MAX_GROWTH_ROUNDS: usize = 40;

/// Only a step whose predicted decrease is below this fraction of the
/// rounding level of `f` grows the radius: far below anything `f` could
/// show. From a scale 20 orders of magnitude below the data it is 1e-10
/// of the rounding level; a smoothed Laplace fit near its minimum takes
/// steps at about the rounding level, and they are accepted as they are.
const INVISIBLE: f64 = 1e-6;

/// Steps taken after the gradient rule already holds, while the Newton step
/// still promises a decrease above the rounding level. Newton converges
/// quadratically there, so two steps reach the rounding level.
const MAX_POLISH_STEPS: usize = 2;

/// Consecutive Newton steps accepted on a smaller gradient although their
/// predicted decrease is below the rounding level of `f` (so that the ratio
/// test cannot judge them). Each such step roughly squares the remaining
/// relative error, so two or three suffice; the limit prevents cycling on
/// gradient noise.
const MAX_ROUNDING_STEPS: usize = 4;

/// The smallest relative Newton step (largest change of a coordinate over
/// its size) worth taking in the rounding regime: 16 ulps. A smaller step
/// is within the rounding noise of the gradient it comes from (a sum of
/// many rounded terms, whose relative error grows with their number), so
/// taking it changes nothing that can be trusted and costs a pass over the
/// data with the Hessian. (At 64 ulps one NIST problem, Misra1a from its
/// second start, lost 0.1 of a digit; at 16 none changes.)
const MIN_ROUNDING_STEP: f64 = 16.0 * f64::EPSILON;

/// In the rounding regime a Newton step may raise `f` by this many times
/// `PRED_REL_TOL * |f|`: values of `f` computed by cancelling sums are
/// noisier than one rounding error (on NIST MGH10 by about 1e-11 relative).
const ROUNDING_SLACK: f64 = 100.0;

/// How much smaller the scaled gradient must become for a step in the
/// rounding regime to be taken. A Newton step from a point whose gradient is
/// still accurate shrinks it by orders of magnitude; once the gradient is
/// rounding noise, the next one is about as large, smaller or larger by
/// chance, and a step taken on a gradient one ulp smaller only starts
/// another pass over the data (seen on a softmax regression: three passes
/// with the Hessian after the gradient was 1e-16 of f).
const ROUNDING_GRAD_SHRINK: f64 = 0.5;

/// Scaling factor for a parameter whose Hessian diagonal has always been zero.
const UNIT_SCALE: f64 = 1.0;

/// The smallest scaling factor relative to the largest. A coordinate whose
/// curvature is negligible where the fit is (a mixture component that no
/// observation reaches has H_ii of 1e-79) would otherwise be scaled to unit
/// curvature: one unit of scaled step would move it by 1e39, its step cap
/// would shrink the radius to 1e-37, and no other coordinate could move.
/// 1e-8 allows curvatures 1e16 apart to be scaled alike, beyond the spread
/// of any NIST problem's certified solution.
///
/// A coordinate that matters is exempt (see [`MATTERS_REL_CHANGE`]): a
/// regression coefficient on data of order 1e25 has H_ii of order 1e-50,
/// and floored, it could move by no more than 1e8 per unit of radius, so
/// the fit stopped with it nowhere near the data.
const SCALE_FLOOR: f64 = 1e-8;

/// A coordinate matters when the change of `f` that it can make exceeds
/// this fraction of `max(1, |f|)` at some iterate: either the decrease a
/// Newton step along it alone would bring, `g_i^2 / (2 |H_ii|)` (a
/// coefficient started at 0 that must reach 1e25), or the change a move by
/// its own size would bring, `|H_ii| max(1, |x_i|)^2 / 2` (the same
/// coefficient near its estimate). The component no observation reaches
/// stays far below on both counts (its H_ii is 1e-79, its gradient as
/// small).
const MATTERS_REL_CHANGE: f64 = 1e-6;

/// Run trust-region Newton from `start` (finite value and gradient).
pub(crate) fn run(ctx: &mut Context<'_>, start: Point, grad_rel_tol: f64) -> (Point, StopReason) {
    let n = start.x.len();
    let mut h = DMatrix::zeros(n, n);
    let mut g = vec![0.0; n];
    let f = ctx.value_grad_hess(&start.x, &mut g, &mut h);
    let mut cur = Point {
        x: start.x.clone(),
        f,
        g,
    };
    if !cur.is_finite() {
        ctx.repair("value_grad_hess not finite where value_grad was: Newton phase skipped".into());
        return (start, StopReason::NoProgress);
    }
    let mut scaling = Scaling::new(n);
    // Delta (set at the first iteration)
    let mut delta: Option<f64> = None;
    let mut delta_max = f64::INFINITY;
    // consecutive rejected trial steps at the current point
    let mut rejections = 0;
    // accepted steps since the gradient rule first held
    let mut polish_steps = 0;
    // Newton steps accepted in the rounding regime, and whether one failed here
    let mut rounding_steps = 0;
    let mut rounding_failed = false;
    loop {
        prepare_hessian(ctx, &mut h, &scaling.d);
        scaling.update(&h, &cur);
        // D = diag(d)
        let d = scaling.d.clone();
        // g_hat = D^{-1} g, H_hat = D^{-1} H D^{-1}
        let g_hat: Vec<f64> = cur.g.iter().zip(&d).map(|(gi, di)| gi / di).collect();
        let h_hat = DMatrix::from_fn(n, n, |i, j| h[(i, j)] / (d[i] * d[j]));
        let Some(sub) = Subproblem::new(h_hat, &g_hat) else {
            ctx.repair(format!(
                "eigendecomposition failed at iteration {}",
                ctx.iterations
            ));
            return (cur, StopReason::NoProgress);
        };
        let newton = sub.newton();
        // p_N = D^{-1} u_N, the full Newton step, and its relative size
        let s_newton = newton.as_ref().map(|st| unscale(&sub.to_scaled(&st.c), &d));
        let rel_step = s_newton.as_ref().map(|s| relative_step(&cur.x, s));
        let grad_ok = gradient_converged(&cur.x, cur.f, &cur.g, grad_rel_tol);
        log::trace!(
            "optim: newton it {}: f {:e}, rel grad {:e}, lambda_min {:e}, newton step {:?}, pred {:?}",
            ctx.iterations,
            cur.f,
            relative_gradient(&cur.x, cur.f, &cur.g),
            sub.lambda_min(),
            rel_step,
            newton.as_ref().map(|st| st.pred),
        );

        // Rounding regime: the Newton step promises less than f can resolve.
        if let (Some(st), Some(s_n), Some(rel)) = (&newton, &s_newton, rel_step) {
            if st.pred <= rounding_level(cur.f) {
                if rel > MIN_ROUNDING_STEP
                    && rounding_steps < MAX_ROUNDING_STEPS
                    && !rounding_failed
                    && !ctx.out_of_iterations()
                {
                    ctx.iterations += 1;
                    if let Some((next, h_next)) = rounding_step(ctx, &cur, s_n, &d) {
                        cur = next;
                        h = h_next;
                        rounding_steps += 1;
                        rejections = 0;
                        ctx.observe(&cur);
                        continue;
                    }
                    rounding_failed = true;
                }
                if newton_step_converged(&cur.x, cur.f, s_n, st.pred) {
                    let criterion = Criterion::NewtonStep;
                    return (cur, StopReason::Converged { criterion });
                }
            }
        }

        if grad_ok {
            let saddle = sub.lambda_min() < -SADDLE_REL_TOL * sub.scale();
            let polish = polish_steps < MAX_POLISH_STEPS
                && newton
                    .as_ref()
                    .is_some_and(|st| st.pred > rounding_level(cur.f));
            let go_on = (saddle && rejections < MAX_SADDLE_TRIES) || (polish && rejections == 0);
            if !go_on {
                let criterion = Criterion::Gradient;
                return (cur, StopReason::Converged { criterion });
            }
            if saddle {
                log::debug!("optim: stationary point with negative curvature: escaping");
            }
        } else {
            polish_steps = 0;
        }
        if ctx.out_of_iterations() {
            return (cur, ctx.limit_reason());
        }
        ctx.iterations += 1;

        // Trust-region step.
        let dx_norm = norm(&cur.x.iter().zip(&d).map(|(x, d)| x * d).collect::<Vec<_>>());
        let delta_k = *delta.get_or_insert_with(|| {
            delta_max = MAX_RADIUS_FACTOR * dx_norm.max(sub.grad_norm()).max(1.0);
            initial_radius(&sub, newton.as_ref().map(|st| st.norm), dx_norm)
        });
        let mut delta_k = delta_k;
        let mut step = sub.solve(delta_k);
        // A step on the boundary whose model decrease is far below what `f`
        // can resolve would be judged by rounding: the trial value equals
        // `f`, the step is rejected, the radius shrinks, and the next step
        // is less visible still. From a scale started at 1 on data of order
        // 1e20 (f ~ 1e43, a unit step in scaled variables moves log(scale)
        // by 1e-22) the radius grows instead until the decrease is visible.
        // - Only the first trial from a point grows, and a grown step that
        //   is rejected sends the radius below where it grew from: the
        //   model was wrong at the longer length (shrinking a quarter at a
        //   time would take as many rejections as there were rounds).
        // - Only where some step could show: not where even the full Newton
        //   step of a positive definite model promises less (the rounding
        //   regime near a minimum, where short steps are what the model
        //   allows; growing them cost Bennett5 three digits).
        let mut grown_from = None;
        let visible = ROUNDING_SLACK * rounding_level(cur.f);
        let could_show = newton.as_ref().is_none_or(|st| st.pred >= visible);
        if !grad_ok
            && rejections == 0
            && could_show
            && step.pred < INVISIBLE * rounding_level(cur.f)
        {
            let before = delta_k;
            let mut rounds = 0;
            while step.kind != StepKind::Interior
                && step.pred < visible
                && rounds < MAX_GROWTH_ROUNDS
                && delta_k * RADIUS_GROWTH <= delta_max
            {
                delta_k *= RADIUS_GROWTH;
                step = sub.solve(delta_k);
                rounds += 1;
            }
            if rounds > 0 {
                log::debug!(
                    "optim: radius grown to {delta_k:.3e} for a step f can resolve (iteration {})",
                    ctx.iterations
                );
                grown_from = Some(before);
            }
        }
        // A step past a coordinate's cap is solved again on the radius
        // that scales it down to the cap (its direction changes a little
        // with the radius, hence a few rounds), and the radius stays there.
        for _ in 0..MAX_CAP_ROUNDS {
            let p = unscale(&sub.to_scaled(&step.c), &d);
            let over = p
                .iter()
                .enumerate()
                .fold(1.0_f64, |m, (i, pi)| m.max(pi.abs() / ctx.step_cap(i)));
            if over <= 1.0 {
                break;
            }
            delta_k = step.norm / over;
            step = sub.solve(delta_k);
        }
        if !sub.is_positive_definite() {
            let how = match step.kind {
                StepKind::HardCase => "hard case, step along the lowest eigenvector",
                StepKind::Interior => "singular, step on its range",
                StepKind::Boundary => "boundary step",
            };
            ctx.repair(format!(
                "Hessian not positive definite at iteration {} (smallest scaled eigenvalue \
                 {:.3e}): shifted by {:.3e}, {how}",
                ctx.iterations,
                sub.lambda_min(),
                step.shift
            ));
        }
        let p = unscale(&sub.to_scaled(&step.c), &d);
        let x_trial: Vec<f64> = cur.x.iter().zip(&p).map(|(x, p)| x + p).collect();
        if x_trial == cur.x {
            return if grad_ok {
                let criterion = Criterion::Gradient;
                (cur, StopReason::Converged { criterion })
            } else {
                (cur, StopReason::NoProgress)
            };
        }
        // A full Newton step of a positive definite model, taken from a
        // point reached without a rejection, is almost always accepted
        // (near the minimum, always): evaluate its gradient and Hessian
        // along with the value instead of the value alone, which saves a
        // second pass over the data when the step is accepted and costs
        // the Hessian part (about 1-2 value evaluations) when it is not.
        let speculative = rejections == 0
            && sub.is_positive_definite()
            && matches!(step.kind, StepKind::Interior);
        let mut trial_derivs = None;
        let f_trial = if speculative {
            let mut g_t = vec![0.0; n];
            let mut h_t = DMatrix::zeros(n, n);
            let f_t = ctx.value_grad_hess(&x_trial, &mut g_t, &mut h_t);
            trial_derivs = Some((g_t, h_t));
            f_t
        } else {
            ctx.value(&x_trial)
        };
        log::trace!(
            "optim:   delta {delta_k:e}, step {:?} norm {:e} pred {:e}, f_trial {f_trial:e}",
            step.kind,
            step.norm,
            step.pred
        );
        // rho = actual / predicted reduction
        let rho = if !f_trial.is_finite() {
            ctx.repair(format!(
                "objective not finite at the trial point of iteration {}: radius reduced",
                ctx.iterations
            ));
            f64::NEG_INFINITY
        } else if step.pred > 0.0 {
            (cur.f - f_trial) / step.pred
        } else {
            f64::NEG_INFINITY
        };

        // Radius update (N&W Alg. 4.1).
        let mut next_delta = delta_k;
        if rho.is_nan() || rho < 0.25 {
            next_delta = 0.25 * grown_from.unwrap_or(step.norm).min(step.norm);
        } else if rho > 0.75 && step.norm >= 0.99 * delta_k {
            next_delta = (2.0 * delta_k).min(delta_max);
        }
        delta = Some(next_delta);

        if rho > ETA {
            let (f_new, g_new, h_new) = match trial_derivs {
                Some((g_t, h_t)) => (f_trial, g_t, h_t),
                None => {
                    let mut g_new = vec![0.0; n];
                    let mut h_new = DMatrix::zeros(n, n);
                    let f_new = ctx.value_grad_hess(&x_trial, &mut g_new, &mut h_new);
                    (f_new, g_new, h_new)
                }
            };
            let next = Point {
                x: x_trial,
                f: f_new,
                g: g_new,
            };
            if next.is_finite() {
                if grad_ok {
                    polish_steps += 1;
                }
                cur = next;
                h = h_new;
                rejections = 0;
                rounding_failed = false;
                rounding_steps = 0;
                ctx.observe(&cur);
                continue;
            }
            ctx.repair(format!(
                "gradient not finite at the trial point of iteration {}: radius reduced",
                ctx.iterations
            ));
            delta = Some(0.25 * step.norm);
        }
        rejections += 1;
    }
}

/// A full Newton step `p_N` in the rounding regime, where comparing values of
/// `f` cannot judge it: accepted if the value stays finite and rises by at
/// most `ROUNDING_SLACK * PRED_REL_TOL * |f|` (relative to `f` itself, so the
/// value can never get worse by more than 1e-10 relative), and the scaled
/// gradient becomes at least `ROUNDING_GRAD_SHRINK` times smaller. Returns
/// the new point and its Hessian.
fn rounding_step(
    ctx: &mut Context<'_>,
    cur: &Point,
    p_newton: &[f64],
    d: &[f64],
) -> Option<(Point, DMatrix<f64>)> {
    let n = cur.x.len();
    let x: Vec<f64> = cur.x.iter().zip(p_newton).map(|(x, p)| x + p).collect();
    let mut g = vec![0.0; n];
    let mut h = DMatrix::zeros(n, n);
    let f = ctx.value_grad_hess(&x, &mut g, &mut h);
    let next = Point { x, f, g };
    let ok = next.is_finite()
        && next.f - cur.f <= ROUNDING_SLACK * PRED_REL_TOL * cur.f.abs()
        && scaled_norm(&next.g, d) <= ROUNDING_GRAD_SHRINK * scaled_norm(&cur.g, d);
    log::debug!(
        "optim: Newton step below the rounding level of f {} (iteration {})",
        if ok {
            "accepted on a smaller gradient"
        } else {
            "rejected"
        },
        ctx.iterations
    );
    ok.then_some((next, h))
}

/// Symmetrise `h`, and replace it by `D^2` (a scaled steepest-descent model)
/// if it has non-finite entries.
fn prepare_hessian(ctx: &mut Context<'_>, h: &mut DMatrix<f64>, d: &[f64]) {
    if h.iter().all(|v| v.is_finite()) {
        let ht = h.transpose();
        *h += ht;
        *h *= 0.5;
        return;
    }
    ctx.repair(format!(
        "Hessian not finite at iteration {}: replaced by the diagonal scaling",
        ctx.iterations
    ));
    h.fill(0.0);
    for (i, di) in d.iter().enumerate() {
        h[(i, i)] = if *di > 0.0 { di * di } else { UNIT_SCALE };
    }
}

/// The diagonal scaling `D`: `d_i = max(c_i, floor_i)`, where `c_i` is the
/// largest `sqrt|H_ii|` seen (`UNIT_SCALE` while that is 0). The floor is
/// `SCALE_FLOOR * max_j c_j` for a coordinate that has not mattered yet
/// (see [`MATTERS_REL_CHANGE`]; once it has, it stays so). For one that
/// has, it is the smaller of that and `|g_i| / sqrt(2 max(1, |f|))`, which
/// bounds its scaled gradient by `sqrt(2 max(1, |f|))`: a coordinate with
/// a sizeable gradient and almost no curvature (H_ii of 1e-300) is still
/// kept from leaping 1e150 at one unit of radius. The floor is not kept in
/// `c`, so a coordinate found to matter late gets its own scale back.
struct Scaling {
    curvature: Vec<f64>,
    matters: Vec<bool>,
    d: Vec<f64>,
}

impl Scaling {
    fn new(n: usize) -> Scaling {
        Scaling {
            curvature: vec![0.0; n],
            matters: vec![false; n],
            d: vec![0.0; n],
        }
    }

    fn update(&mut self, h: &DMatrix<f64>, at: &Point) {
        let size = at.f.abs().max(1.0);
        let least_change = MATTERS_REL_CHANGE * size;
        for i in 0..self.d.len() {
            let hii = h[(i, i)].abs();
            if hii.is_finite() && hii.sqrt() > self.curvature[i] {
                self.curvature[i] = hii.sqrt();
            }
            let gi = at.g[i].abs();
            let reach = at.x[i].abs().max(1.0);
            let newton_decrease = gi * gi >= 2.0 * least_change * hii;
            let own_size_change = 0.5 * hii * reach * reach >= least_change;
            if hii.is_finite() && gi.is_finite() && (newton_decrease || own_size_change) {
                self.matters[i] = true;
            }
        }
        let c = |ci: f64| if ci == 0.0 { UNIT_SCALE } else { ci };
        let largest = self.curvature.iter().map(|ci| c(*ci)).fold(0.0, f64::max);
        for (i, di) in self.d.iter_mut().enumerate() {
            let gi = at.g[i].abs();
            let floor = if self.matters[i] && gi.is_finite() {
                (SCALE_FLOOR * largest).min(gi / (2.0 * size).sqrt())
            } else {
                SCALE_FLOOR * largest
            };
            *di = c(self.curvature[i]).max(floor);
        }
    }
}

/// `p = D^{-1} u`.
fn unscale(u: &[f64], d: &[f64]) -> Vec<f64> {
    u.iter().zip(d).map(|(ui, di)| ui / di).collect()
}

/// First trust radius: the length of the Newton step if the Hessian is
/// positive definite (so a good Newton step is tried in full; a bad one is
/// cut back by the ratio test), otherwise the larger of one and the scaled
/// gradient norm (a Cauchy step under unit curvature), at most
/// `max(1, ||D x||)`, the scaled size of `x` itself.
fn initial_radius(sub: &Subproblem, newton_norm: Option<f64>, dx_norm: f64) -> f64 {
    match newton_norm {
        Some(len) if len > 0.0 => len,
        _ => sub.grad_norm().max(1.0).min(dx_norm.max(1.0)),
    }
}

/// `||D^{-1} g||`, the gradient norm in scaled variables.
fn scaled_norm(g: &[f64], d: &[f64]) -> f64 {
    norm(&g.iter().zip(d).map(|(gi, di)| gi / di).collect::<Vec<_>>())
}
