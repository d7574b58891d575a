//! Limited-memory BFGS (N&W section 7.2, Alg. 7.5).
//!
//! At iterate `x_k` with gradient `g_k` the direction is `p_k = -H_k g_k`,
//! where `H_k` is the inverse-Hessian approximation defined implicitly by the
//! last `m` pairs
//!
//! ```text
//! s_i = x_{i+1} - x_i,   y_i = g_{i+1} - g_i,   rho_i = 1 / (y_i' s_i)
//! ```
//!
//! and applied to `g_k` by the two-loop recursion (N&W Alg. 7.4), starting
//! from `H_k^0 = gamma_k I` with `gamma_k = s'y / y'y` of the newest pair (N&W
//! eq. 7.20). The step length comes from the strong Wolfe line search, which
//! guarantees `s'y > 0` in exact arithmetic; a pair whose `s'y` is not
//! clearly positive in floating point is skipped so that `H_k` stays positive
//! definite. If the line search fails along the L-BFGS direction, the memory
//! is cleared and steepest descent is tried once before giving up. A run
//! whose value has stopped decreasing (see `MAX_STALLED_ITERATIONS`) ends with
//! `NoProgress` rather than burning evaluations on rounding noise.

use std::collections::VecDeque;

use super::line_search::strong_wolfe;
use super::stop::{gradient_converged, relative_gradient};
use super::{dot, norm, Context, Criterion, Point, StopReason};

/// A pair is stored only if `s'y > SY_MIN_COS * ||s|| ||y||`, i.e. the
/// cosine between `s` and `y` exceeds machine epsilon: below that the
/// measured curvature along `s` is indistinguishable from rounding error and
/// `rho = 1/s'y` would be garbage.
const SY_MIN_COS: f64 = f64::EPSILON;

/// The very first step, with no curvature information, moves no coordinate
/// by more than this fraction of its size; the line search then grows the
/// step (by up to four times per trial) or shrinks it.
const FIRST_STEP_FRACTION: f64 = 0.1;

/// Iterations in a row without a relative decrease of `f` above
/// `STALL_REL_TOL` after which the run stops with `NoProgress`: steps are
/// then accepted only through the approximate Wolfe conditions, the gradient
/// is dominated by rounding and further iterations only burn evaluations.
const MAX_STALLED_ITERATIONS: usize = 20;

/// A decrease of `f` by less than this fraction of `|f|` (about 45 units in
/// the last place) counts as none for `MAX_STALLED_ITERATIONS`.
const STALL_REL_TOL: f64 = 1e-14;

/// One stored correction pair.
struct Pair {
    /// s_i = x_{i+1} - x_i
    s: Vec<f64>,
    /// y_i = g_{i+1} - g_i
    y: Vec<f64>,
    /// rho_i = 1 / (y_i' s_i)
    rho: f64,
}

/// Run L-BFGS from `start` (finite value and gradient) until the gradient
/// rule holds with `grad_rel_tol` or another stop reason applies.
pub(crate) fn run(
    ctx: &mut Context<'_>,
    start: Point,
    grad_rel_tol: f64,
    memory: usize,
) -> (Point, StopReason) {
    let memory = memory.max(1);
    let mut pairs: VecDeque<Pair> = VecDeque::with_capacity(memory);
    let mut cur = start;
    // value and iteration of the last decrease above the rounding level
    let mut f_mark = cur.f;
    let mut stalled_for = 0;
    loop {
        if gradient_converged(&cur.x, cur.f, &cur.g, grad_rel_tol) {
            let criterion = Criterion::Gradient;
            return (cur, StopReason::Converged { criterion });
        }
        if ctx.out_of_iterations() {
            return (cur, ctx.limit_reason());
        }
        ctx.iterations += 1;

        let mut step = None;
        // First with the quasi-Newton direction, then (if that fails and there
        // was curvature memory) once more with steepest descent.
        for attempt in 0..2 {
            if attempt == 1 {
                if pairs.is_empty() {
                    break;
                }
                pairs.clear();
                let what = format!(
                    "line search failed along the L-BFGS direction in iteration {}: \
                     memory cleared, steepest descent tried",
                    ctx.iterations
                );
                ctx.repair(what);
            }
            // p_k = -H_k g_k
            let mut p = two_loop(&pairs, &cur.g);
            // phi'(0) = g_k' p_k
            let mut dphi0 = dot(&cur.g, &p);
            if dphi0.is_nan() || dphi0 >= 0.0 {
                // Rounding made H_k g_k useless: fall back to -g_k.
                pairs.clear();
                p = cur.g.iter().map(|v| -v).collect();
                dphi0 = -dot(&cur.g, &cur.g);
            }
            // alpha: unit step for quasi-Newton directions (N&W 7.2)
            let alpha_init = if pairs.is_empty() {
                first_step(&cur.x, &p)
            } else {
                1.0
            };
            step = strong_wolfe(ctx, &cur, &p, dphi0, alpha_init);
            if step.is_some() {
                break;
            }
        }
        let Some((alpha, next)) = step else {
            log::debug!(
                "optim: L-BFGS line search failed at relative gradient {:e}",
                relative_gradient(&cur.x, cur.f, &cur.g)
            );
            return (cur, StopReason::LineSearchFailed);
        };
        if next.x == cur.x {
            return (cur, StopReason::NoProgress);
        }

        // s_k = x_{k+1} - x_k
        let s: Vec<f64> = next.x.iter().zip(&cur.x).map(|(a, b)| a - b).collect();
        // y_k = g_{k+1} - g_k
        let y: Vec<f64> = next.g.iter().zip(&cur.g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > SY_MIN_COS * norm(&s) * norm(&y) {
            if pairs.len() == memory {
                pairs.pop_front();
            }
            pairs.push_back(Pair {
                s,
                y,
                rho: 1.0 / sy,
            });
        } else {
            let what = format!(
                "curvature s'y = {sy:.3e} not positive in iteration {} (step {alpha:.3e}): \
                 L-BFGS update skipped",
                ctx.iterations
            );
            ctx.repair(what);
        }
        cur = next;
        ctx.observe(&cur);
        if f_mark - cur.f > STALL_REL_TOL * f_mark.abs() {
            f_mark = cur.f;
            stalled_for = 0;
        } else {
            stalled_for += 1;
            if stalled_for >= MAX_STALLED_ITERATIONS {
                log::debug!(
                    "optim: L-BFGS made no decrease above rounding for {stalled_for} iterations"
                );
                return (cur, StopReason::NoProgress);
            }
        }
    }
}

/// Initial step length when there is no curvature information: no
/// coordinate moves by more than `FIRST_STEP_FRACTION` of its own size (of
/// one, for a coordinate at zero), and the step is at most the unit step.
/// Parameters of very different magnitudes are thus not thrown far out of
/// their range by a gradient dominated by another parameter.
fn first_step(x: &[f64], p: &[f64]) -> f64 {
    let limit = x
        .iter()
        .zip(p)
        .filter(|(_, pi)| **pi != 0.0)
        .map(|(xi, pi)| {
            let size = if *xi == 0.0 { 1.0 } else { xi.abs() };
            FIRST_STEP_FRACTION * size / pi.abs()
        })
        .fold(f64::INFINITY, f64::min);
    limit.min(1.0)
}

/// N&W Alg. 7.4: returns `-H_k g` for the stored pairs (oldest first).
fn two_loop(pairs: &VecDeque<Pair>, g: &[f64]) -> Vec<f64> {
    // q = g_k
    let mut q = g.to_vec();
    // alpha_i = rho_i s_i' q, for the newest pair first
    let mut alphas = vec![0.0; pairs.len()];
    for (i, pair) in pairs.iter().enumerate().rev() {
        alphas[i] = pair.rho * dot(&pair.s, &q);
        for (qj, yj) in q.iter_mut().zip(&pair.y) {
            *qj -= alphas[i] * yj;
        }
    }
    // gamma_k = s'y / y'y of the newest pair: H_k^0 = gamma_k I
    let gamma = pairs
        .back()
        .map(|p| 1.0 / (p.rho * dot(&p.y, &p.y)))
        .unwrap_or(1.0);
    // r = H_k^0 q
    let mut r: Vec<f64> = q.iter().map(|v| gamma * v).collect();
    for (i, pair) in pairs.iter().enumerate() {
        // beta = rho_i y_i' r
        let beta = pair.rho * dot(&pair.y, &r);
        for (rj, sj) in r.iter_mut().zip(&pair.s) {
            *rj += sj * (alphas[i] - beta);
        }
    }
    r.iter_mut().for_each(|v| *v = -*v);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_loop_with_one_pair_matches_bfgs_formula() {
        // One pair on a diagonal quadratic H = diag(2, 8): y = H s.
        let s = vec![1.0, 1.0];
        let y = vec![2.0, 8.0];
        let sy = dot(&s, &y);
        let mut pairs = VecDeque::new();
        pairs.push_back(Pair {
            s: s.clone(),
            y: y.clone(),
            rho: 1.0 / sy,
        });
        let g = [0.3, -0.7];
        let p = two_loop(&pairs, &g);
        // Dense BFGS update of H0 = gamma I (N&W eq. 6.17).
        let gamma = sy / dot(&y, &y);
        let rho = 1.0 / sy;
        let mut h = [[0.0; 2]; 2];
        for (i, row) in h.iter_mut().enumerate() {
            for (j, hij) in row.iter_mut().enumerate() {
                let mut v = 0.0;
                for k in 0..2 {
                    for l in 0..2 {
                        let vik = f64::from(u8::from(i == k)) - rho * s[i] * y[k];
                        let vlj = f64::from(u8::from(l == j)) - rho * y[l] * s[j];
                        let h0 = if k == l { gamma } else { 0.0 };
                        v += vik * h0 * vlj;
                    }
                }
                *hij = v + rho * s[i] * s[j];
            }
        }
        for i in 0..2 {
            let expect = -(h[i][0] * g[0] + h[i][1] * g[1]);
            assert!((p[i] - expect).abs() < 1e-14, "{:?}", p);
        }
    }
}
