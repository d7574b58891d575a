//! Distributions made of other distributions: finite mixtures and zero
//! inflation.
//!
//! `Mixture(w, D1, ..., DK)` has weights as probabilities: a number for two
//! components (the weight of D1; D2 gets 1 - w), or a vector of K
//! probabilities. `MixtureLogit(eta, D1, ..., DK)` has weights on the logit
//! scale: a number for two components (the log-odds of D1 against D2), or a
//! vector of K linear predictors passed through a softmax.
//! `ZeroInflated(pi, D)` adds extra zeros with probability pi to a count
//! distribution D.
//!
//! Every density is evaluated as a log-sum-exp of the components' log
//! densities plus log weights, so it stays finite where each component's
//! density underflows in double precision.

use super::{Family, Support};
use crate::graph::{Func, Graph, NodeId};

/// How a compound family combines its components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compound {
    Mixture,
    MixtureLogit,
    ZeroInflated,
}

/// A compound family's description: its name and what it takes.
#[derive(Debug)]
pub struct CompoundFamily {
    pub kind: Compound,
    /// The family entry used in statements (its `build` is never called).
    pub family: &'static Family,
    pub min_components: usize,
    pub max_components: usize,
}

fn not_direct(g: &mut Graph, _y: NodeId, _a: &[NodeId]) -> NodeId {
    g.constant(f64::NAN)
}

static MIXTURE: Family = Family {
    name: "Mixture",
    args: &[],
    arg_support: &[],
    support: Support::Real,
    scale_arg: None,
    variadic: true,
    build: not_direct,
};

static MIXTURE_LOGIT: Family = Family {
    name: "MixtureLogit",
    args: &[],
    arg_support: &[],
    support: Support::Real,
    scale_arg: None,
    variadic: true,
    build: not_direct,
};

static ZERO_INFLATED: Family = Family {
    name: "ZeroInflated",
    args: &[],
    arg_support: &[],
    support: Support::Count,
    scale_arg: None,
    variadic: true,
    build: not_direct,
};

pub static COMPOUNDS: &[CompoundFamily] = &[
    CompoundFamily {
        kind: Compound::Mixture,
        family: &MIXTURE,
        min_components: 2,
        max_components: usize::MAX,
    },
    CompoundFamily {
        kind: Compound::MixtureLogit,
        family: &MIXTURE_LOGIT,
        min_components: 2,
        max_components: usize::MAX,
    },
    CompoundFamily {
        kind: Compound::ZeroInflated,
        family: &ZERO_INFLATED,
        min_components: 1,
        max_components: 1,
    },
];

pub fn lookup(name: &str) -> Option<&'static CompoundFamily> {
    COMPOUNDS.iter().find(|c| c.family.name == name)
}

impl CompoundFamily {
    pub fn signature(&self) -> &'static str {
        match self.kind {
            Compound::Mixture => "Mixture(w, D1, D2, ...)",
            Compound::MixtureLogit => "MixtureLogit(eta, D1, D2, ...)",
            Compound::ZeroInflated => "ZeroInflated(pi, D)",
        }
    }
}

/// Log weights of the K components from the weight argument (a number, or a
/// vector of K values).
///
/// # Formula
/// Mixture, K = 2 and a number w: log w, log(1 - w) = log1p(-w).
/// Mixture, a vector: log w_k.
/// MixtureLogit, K = 2 and a number eta: log logistic(eta) = -softplus(-eta),
/// log(1 - logistic(eta)) = -softplus(eta).
/// MixtureLogit, a vector: eta_k - log(sum_j exp(eta_j)).
/// The weight arguments of a mixture as written, with the reference
/// predictor 0 put first where a `MixtureLogit` of K > 2 components has
/// K - 1 linear predictors (the first component is the reference); others
/// as they are.
pub fn with_reference_predictor(
    g: &mut Graph,
    kind: Compound,
    weights: &[NodeId],
    n_components: usize,
) -> Vec<NodeId> {
    if kind == Compound::MixtureLogit && weights.len() + 1 == n_components && n_components > 2 {
        std::iter::once(g.constant(0.0))
            .chain(weights.iter().copied())
            .collect()
    } else {
        weights.to_vec()
    }
}

pub fn log_weights(
    g: &mut Graph,
    kind: Compound,
    weights: &[NodeId],
    n_components: usize,
) -> Vec<NodeId> {
    match (kind, weights.len()) {
        (Compound::Mixture, 1) if n_components == 2 => {
            let w = weights[0];
            let lw = g.unary(Func::Log, w);
            let neg_w = g.neg(w);
            let l1w = g.unary(Func::Log1p, neg_w);
            vec![lw, l1w]
        }
        (Compound::MixtureLogit, 1) if n_components == 2 => {
            let eta = weights[0];
            let neg_eta = g.neg(eta);
            let sp_neg = g.unary(Func::Softplus, neg_eta);
            let sp = g.unary(Func::Softplus, eta);
            vec![g.neg(sp_neg), g.neg(sp)]
        }
        (Compound::MixtureLogit, _) => {
            let lse = g.log_sum_exp(weights.to_vec());
            weights.iter().map(|e| g.sub(*e, lse)).collect()
        }
        _ => weights.iter().map(|w| g.unary(Func::Log, *w)).collect(),
    }
}

/// The log of each component's share of a mixture's density at y,
/// before normalising: log w_k - nll_k(y) = log(w_k p_k(y)).
pub fn log_joints(g: &mut Graph, log_w: &[NodeId], component_nll: &[NodeId]) -> Vec<NodeId> {
    log_w
        .iter()
        .zip(component_nll)
        .map(|(lw, t)| g.sub(*lw, *t))
        .collect()
}

/// -log p of a mixture from the components' negative log densities:
///   -log sum_k w_k p_k(y) = -LSE_k(log w_k - nll_k(y)).
pub fn mixture_term(g: &mut Graph, log_w: &[NodeId], component_nll: &[NodeId]) -> NodeId {
    let items = log_joints(g, log_w, component_nll);
    let lse = g.log_sum_exp(items);
    g.neg(lse)
}

/// -log p of a zero-inflated count y with extra-zero probability pi and the
/// count distribution's negative log density `nll_d`:
///   y = 0:  -log(pi + (1 - pi) p_D(0)) = -LSE(log pi, log(1 - pi) - nll_D(0)),
///   y > 0:  -log(1 - pi) + nll_D(y).
/// The two cases are combined per row with z = 1 - sign(y), which is 1 at
/// y = 0 and 0 for positive counts.
pub fn zero_inflated_term(g: &mut Graph, y: NodeId, pi: NodeId, nll_d: NodeId) -> NodeId {
    let log_pi = g.unary(Func::Log, pi);
    let neg_pi = g.neg(pi);
    let log_1m_pi = g.unary(Func::Log1p, neg_pi);
    let count_part = g.sub(log_1m_pi, nll_d);
    let zero_lse = g.log_sum_exp(vec![log_pi, count_part]);
    let one = g.constant(1.0);
    let sign_y = g.unary(Func::Sign, y);
    let z = g.sub(one, sign_y);
    let nz = g.sub(one, z);
    let a = g.mul(z, zero_lse);
    let b = g.mul(nz, count_part);
    let s = g.add(a, b);
    g.neg(s)
}
