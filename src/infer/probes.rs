//! Probes of the NLL along one constrained parameter's unconstrained
//! coordinate, where the optimizer started or stopped: whether the
//! likelihood keeps rising toward a bound or infinity (an edge), whether
//! it is flat both ways, and whether a point back toward the interior is
//! lower. They run a program for the NLL alone and compare to tolerances
//! far above its rounding.

use crate::compile::Compiled;

use super::{ModelObjective, RECESSION_REL_DECREASE};

/// How far, on the unconstrained scale, a constrained parameter is moved to
/// see whether the likelihood keeps increasing toward its bound: a factor of
/// exp(5) ~ 150 in the distance to a one-sided bound. At an interior
/// maximum that costs far more than rounding.
pub(super) const EDGE_PROBE: f64 = 5.0;

/// How far a parameter flat toward its bound is moved the other way, in
/// turn, to see the likelihood change at all. An estimate a hair from a
/// one-sided bound (1e-15 of the data's scale, say) needs the distance to
/// the bound multiplied by up to exp(80) before it matters; a parameter
/// the likelihood does not depend on stays flat at every distance.
const EDGE_AWAY_PROBES: [f64; 3] = [EDGE_PROBE, 20.0, 80.0];

/// Where a constrained parameter's likelihood keeps increasing.
pub(super) enum Edge {
    /// Toward its bound.
    Bound,
    /// Away from a one-sided bound, to infinity.
    Infinity,
}

/// Probes coordinate `i` of the optimum `x` (transform `t`) on both sides.
/// An edge on a side needs both of:
/// - the NLL does not increase by more than rounding going further toward
///   it (by [`EDGE_PROBE`]);
/// - it does increase somewhere going the other way
///   ([`EDGE_AWAY_PROBES`]). A coordinate the NLL does not depend on (the
///   scale of a mixture component of weight 0) is flat both ways, not at
///   an edge: the Hessian names it as not identified.
///
/// Where the optimizer started does not matter: a refit from an estimate
/// already at the bound finds the same edge.
///
/// A fit started far inside a flat region (a Student-t's nu started at
/// 1e30 on data with 10 degrees of freedom) has by then been restarted
/// from a lower point toward the interior (see [`lower_point_inward`]).
pub(super) fn edge_of(
    obj: &mut ModelObjective,
    x: &[f64],
    f: f64,
    i: usize,
    t: crate::model::Transform,
) -> Option<Edge> {
    use crate::model::Transform;
    let rounding = RECESSION_REL_DECREASE * f.abs().max(1.0);
    let mut nll_with = |v: f64| {
        let mut y = x.to_vec();
        y[i] = v;
        obj.probe_nll(&y)
    };
    // `side` -1: theta -> -inf, +1: theta -> +inf.
    let mut edge = |side: f64| {
        let further = nll_with(x[i] + side * EDGE_PROBE);
        further.is_finite()
            && further <= f + rounding
            && EDGE_AWAY_PROBES
                .iter()
                .any(|away| nll_with(x[i] - side * away) > f + rounding)
    };
    match t {
        Transform::Identity => None,
        // For `> L` and `< U` theta -> -inf is the bound, +inf is infinity.
        Transform::Lower(_) | Transform::Upper(_) => {
            if edge(-1.0) {
                Some(Edge::Bound)
            } else if edge(1.0) {
                Some(Edge::Infinity)
            } else {
                None
            }
        }
        Transform::Interval(..) => (edge(-1.0) || edge(1.0)).then_some(Edge::Bound),
    }
}

/// How far from 0 a constrained parameter's unconstrained coordinate must
/// be (a factor of exp(20) ~ 5e8 from 1, or that close to a bound) before
/// a fit looks back toward the interior for a lower NLL. Nearer in, the
/// optimizer's steps (at most 10 on that scale) see the likelihood's shape.
pub(super) const FAR_OUT: f64 = 20.0;

/// Restarts from a lower point found that way; each one found a lower NLL,
/// so more are rarely needed.
pub(super) const MAX_INWARD_RESTARTS: usize = 2;

/// Iterations a fit from a far start gets before it is compared with the
/// fit from a lower point inward (and then continued, if it was better):
/// a two-component mixture started at a weight of 1e-15 took 145 to its
/// maximum, a gamma rate started at 1e25 over 5000.
pub(super) const FAR_START_ITERATIONS: usize = 200;

/// The point with the lowest NLL, if lower than at `x` by more than
/// rounding, among those with one far-out constrained coordinate (indices
/// `constrained`) halved in turn until it is below 1, then set to 0: from
/// 1e30 (a coordinate of 69) that is 8 points, at natural values 1e15,
/// 3e7, 5600, 75, 8.7, 2.9, 1.7 and 1, whatever scale the maximum has.
/// None when no coordinate is far out, at no cost.
pub(super) fn lower_point_inward(
    obj: &mut ModelObjective,
    x: &[f64],
    constrained: &[usize],
) -> Option<Vec<f64>> {
    let far: Vec<usize> = constrained
        .iter()
        .copied()
        .filter(|&i| x[i].abs() >= FAR_OUT)
        .collect();
    if far.is_empty() {
        return None;
    }
    let f = obj.nll_at(x);
    let mut best = f - RECESSION_REL_DECREASE * f.abs().max(1.0);
    let mut lowest = None;
    for i in far {
        let mut at = x[i];
        while at != 0.0 {
            at = if at.abs() < 1.0 { 0.0 } else { at / 2.0 };
            let mut y = x.to_vec();
            y[i] = at;
            let v = obj.probe_nll(&y);
            if v < best {
                best = v;
                lowest = Some(y);
            }
        }
    }
    lowest
}

/// Above this on every row, a Student-t's degrees of freedom or a negative
/// binomial's size have taken the family to its limit (a normal, a
/// Poisson) for any data a likelihood can tell apart.
pub(super) const LIMIT_ARG_FROM: f64 = 1e6;

/// What a parameter at an edge means when it takes the degrees of freedom
/// of a Student-t or the size of a negative binomial to infinity (the
/// parameter itself, or alpha = 1/phi going to 0): both families tend to a
/// simpler one, which fits as well.
pub(super) fn limit_hint(c: &Compiled, k: u32, theta: &[f64]) -> &'static str {
    let uses = |family: &str, arg: usize| {
        c.statements.iter().any(|s| {
            s.family.name == family
                && c.graph.depends_on(s.args[arg], k)
                && c.eval_rows(&[s.args[arg]], theta)
                    .pop()
                    .is_some_and(|v| v.iter().all(|x| *x > LIMIT_ARG_FROM))
        })
    };
    if uses("StudentT", 0) {
        " (it takes the degrees of freedom of a Student-t to infinity: the data have no heavier tails than the normal limit the Student-t reaches there; a Normal fits them as well)"
    } else if uses("NegBinomial", 1) {
        " (it takes the size of a negative binomial to infinity: the counts show no overdispersion, and the negative binomial becomes the Poisson with the same mean; a Poisson fits them as well)"
    } else {
        ""
    }
}

/// True when the NLL `f` at `x` does not change within rounding
/// ([`RECESSION_REL_DECREASE`]) [`EDGE_PROBE`] units either way along
/// coordinate `i`.
pub(super) fn flat_both_ways(obj: &mut ModelObjective, x: &[f64], f: f64, i: usize) -> bool {
    let rounding = RECESSION_REL_DECREASE * f.abs().max(1.0);
    [-EDGE_PROBE, EDGE_PROBE].iter().all(|d| {
        let mut y = x.to_vec();
        y[i] += d;
        (obj.probe_nll(&y) - f).abs() <= rounding
    })
}
