//! Checks of the estimate that the optimizer cannot make: a scale
//! collapsing onto an exact fit, a likelihood that keeps increasing along
//! some direction (separation), rows fitted with probability 1, densities
//! losing precision, probabilities that do not sum to 1, and parameters
//! of scales too far apart for the optimizer. Each returns
//! what [`super::fit`] reports; none changes the estimate.

use super::report::fmt_num;
use super::{ModelObjective, RECESSION_REL_DECREASE};
use crate::compile::Compiled;
use crate::dist::Support;
use crate::graph::func::Func;
use crate::graph::{Node, NodeId};

/// Steps along the flattest direction used to detect a likelihood that
/// keeps increasing without bound, in units of 1 + max |theta|.
const RECESSION_STEPS: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];

/// A scale argument smaller than this fraction of the observations' spread
/// (see [`SPREAD_PER_MEDIAN`]) means the fit reproduces the data exactly and
/// the scale is collapsing.
const SCALE_COLLAPSE_REL: f64 = 1e-7;

/// The spread taken is at most this many times the observations' median
/// distance from their median (rounded up to a power of 2): on regular
/// data the largest distance from the mean is a few times that and is
/// taken as it is, while errors so heavy-tailed that the largest is 1e8
/// times the scale (3000 draws of a Student-t with nu = 0.5, whose mean
/// is itself far from most of them) would otherwise put the collapse level
/// above a scale that is estimated well.
const SPREAD_PER_MEDIAN: f64 = 1e3;

/// Streaming medians: a histogram of the top bits of an order-preserving
/// key of each value, then of the next bits within the bin holding the
/// median. Two passes, fixed memory, no copy of the observations; the
/// median comes out to 12 bits of its binade (a relative error below
/// 2^-12), plenty for a spread compared at 1e-7.
const MEDIAN_BITS: u32 = 12;

/// An integer key in the order of the f64 values (negatives reversed).
fn order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if v.is_sign_negative() {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The value of an order key (the inverse of [`order_key`]).
fn from_order_key(key: u64) -> f64 {
    if key >> 63 == 1 {
        f64::from_bits(key & !(1 << 63))
    } else {
        f64::from_bits(!key)
    }
}

/// The bin of `key` at `level` (0: the top MEDIAN_BITS bits, 1: the next).
fn key_bin(key: u64, level: u32) -> usize {
    ((key >> (64 - MEDIAN_BITS * (level + 1))) & ((1 << MEDIAN_BITS) - 1)) as usize
}

/// The bin holding the value of rank `rank` (from 0) in `counts`, and the
/// rank within it.
fn bin_of_rank(counts: &[u64], rank: u64) -> (usize, u64) {
    let mut below = 0;
    for (b, count) in counts.iter().enumerate() {
        if below + count > rank {
            return (b, rank - below);
        }
        below += count;
    }
    (counts.len() - 1, 0)
}

/// The median of values seen in two passes (see [`MEDIAN_BITS`]): `add`
/// each value, `second_pass`, `add` each again, then `median`.
struct StreamingMedian {
    n: u64,
    counts: Vec<u64>,
    /// After the first pass: the top bin holding the median, and the
    /// median's rank within it.
    top: Option<(usize, u64)>,
}

impl StreamingMedian {
    fn new() -> StreamingMedian {
        StreamingMedian {
            n: 0,
            counts: vec![0; 1 << MEDIAN_BITS],
            top: None,
        }
    }

    #[inline]
    fn add(&mut self, v: f64) {
        let key = order_key(v);
        match self.top {
            None => {
                self.n += 1;
                self.counts[key_bin(key, 0)] += 1;
            }
            Some((top_bin, _)) if key_bin(key, 0) == top_bin => {
                self.counts[key_bin(key, 1)] += 1;
            }
            Some(_) => {}
        }
    }

    fn second_pass(&mut self) {
        self.top = Some(bin_of_rank(&self.counts, self.n / 2));
        self.counts.fill(0);
    }

    /// The median rounded toward -inf to MEDIAN_BITS bits of its binade
    /// after the top ones; NaN before any value.
    fn median(&self) -> f64 {
        match self.top {
            Some((top_bin, rank)) if self.n > 0 => {
                let (next_bin, _) = bin_of_rank(&self.counts, rank);
                from_order_key(
                    ((top_bin as u64) << (64 - MEDIAN_BITS))
                        | ((next_bin as u64) << (64 - 2 * MEDIAN_BITS)),
                )
            }
            _ => f64::NAN,
        }
    }
}

/// ... or smaller than this fraction of the largest |observation| (capped as
/// the spread is, at SPREAD_PER_MEDIAN times the median's size plus the
/// median distance): the residuals of an exact fit are rounding errors of
/// the observations' size, so on data far from 0 (y = 1e9 + 2 x exactly) a
/// collapsed scale is about 1e-16 |y|, which can exceed SCALE_COLLAPSE_REL
/// times a small spread; 1e-14 is well above that and below real noise
/// (noise of 1e-12 |y|, 5 000 ulps, was called a collapse at 1e-12).
const SCALE_ROUNDING_REL: f64 = 1e-14;

/// A warning for each likelihood statement whose scale argument is collapsing
/// toward 0 relative to the spread of its observations.
pub(super) fn scale_collapse_warnings(c: &Compiled, theta: &[f64]) -> Vec<String> {
    let mut out = Vec::new();
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        // Families without a scale (Bernoulli, Poisson) have nothing to
        // collapse: no pass over the rows for them.
        let has_scale = s.family.scale_arg.is_some()
            || s.components.iter().any(|(f, _, _)| f.scale_arg.is_some());
        if !has_scale {
            continue;
        }
        // Passes a block of rows at a time (no whole columns): the mean
        // and size of the observations, their spread about the mean, then
        // the scales against the collapse level.
        let n = c.n_rows as u64;
        let (mut sum, mut largest) = (0.0, 0.0_f64);
        let mut median = StreamingMedian::new();
        c.for_each_row_block(&[s.y], theta, |_, cols| {
            for v in cols[0] {
                sum += v;
                largest = largest.max(v.abs());
                median.add(*v);
            }
        });
        let mean = sum / c.n_rows.max(1) as f64;
        median.second_pass();
        c.for_each_row_block(&[s.y], theta, |_, cols| {
            cols[0].iter().for_each(|v| median.add(*v));
        });
        let median = median.median();
        // The largest distance from the mean, and the binade (biased
        // exponent) of each distance from the median.
        let mut spread = 0.0_f64;
        let mut binades = vec![0u64; 2048];
        c.for_each_row_block(&[s.y], theta, |_, cols| {
            for v in cols[0] {
                spread = spread.max((v - mean).abs());
                let d = (v - median).abs();
                binades[((d.to_bits() >> 52) & 0x7ff) as usize] += 1;
            }
        });
        // At most SPREAD_PER_MEDIAN times the median distance, rounded up
        // to the top of its binade; the largest distance where most
        // observations equal the median (binade 0) or the median is not a
        // number.
        let median_bound = match bin_of_rank(&binades, n / 2) {
            (e, _) if e > 0 && median.is_finite() => {
                Some(f64::from_bits((e as u64 + 1).min(2046) << 52))
            }
            _ => None,
        };
        let spread = median_bound.map_or(spread, |m| spread.min(SPREAD_PER_MEDIAN * m));
        // The observations' size for their rounding, capped the same way:
        // one observation of 1e14 among values near 1 does not make every
        // residual of a well-fitted scale of 0.1 a rounding error.
        let largest = if median.is_finite() {
            largest.min(SPREAD_PER_MEDIAN * (median.abs() + median_bound.unwrap_or(0.0)))
        } else {
            largest
        };
        // At the least, a scale whose square is below the smallest normal
        // double: (y - mu)^2 / s^2 and the curvature 1 / s^2 no longer
        // compute, which is where a fit on observations all equal to 0
        // stops (with every residual exactly 0, the two terms above are 0).
        let level = (SCALE_COLLAPSE_REL * spread)
            .max(SCALE_ROUNDING_REL * largest)
            .max(f64::MIN_POSITIVE.sqrt());
        // Scales below the level are a collapse only where rows are fitted
        // exactly: for a family with a location `mu` (Normal, Laplace,
        // Student-t, Cauchy, Logistic) that is |y - mu| below the level too.
        // A fit that stopped before the scale grew to the residuals' size
        // (observations of order 1e25, the scale left near its start of 1)
        // has residuals of the data's size and is not a collapse. Families
        // without a location count every row whose scale is below the
        // level.
        let location = s.family.location_arg().map(|i| s.args[i]);
        // Observations all equal have no spread for a scale to be small
        // against: once the location reproduces them, the likelihood grows
        // as any scale shrinks, so whatever value the scale stopped at (a
        // Laplace fit's smoothing stops it near 1e-10) is a collapse, and
        // only the rows' exactness decides. Without a location nothing
        // shows the rows are fitted exactly (an exponential's rate on
        // equal observations has a finite estimate).
        let scale_level = if spread == 0.0 && location.is_some() {
            f64::INFINITY
        } else {
            level
        };
        // the statement's own scale (if any), then each component's; a
        // scale that no parameter moves (a known sigma) cannot collapse
        let estimated = |node: crate::graph::NodeId| !c.graph.info(node).params.is_empty();
        let mut scale_nodes: Vec<crate::graph::NodeId> = Vec::new();
        scale_nodes.extend(
            s.family
                .scale_arg
                .map(|i| s.args[i])
                .filter(|n| estimated(*n)),
        );
        let n_own = scale_nodes.len();
        // the observations and their locations after the scale, for the
        // rows of its own scale
        if n_own == 1 {
            scale_nodes.push(s.y);
            scale_nodes.extend(location);
        }
        let mut components = Vec::new();
        let n_before_components = scale_nodes.len();
        for (k, (family, args, _)) in s.components.iter().enumerate() {
            if let Some(ci) = family.scale_arg.filter(|ci| estimated(args[*ci])) {
                scale_nodes.push(args[ci]);
                components.push((k, family, ci));
            }
        }
        // the largest |scale| of each node, and the rows where the
        // statement's own scale is below the collapse level
        let mut max_abs = vec![0.0_f64; scale_nodes.len()];
        let mut n_exact = 0;
        let mut collapsed_rows: Vec<usize> = Vec::new();
        c.for_each_row_block(&scale_nodes, theta, |first, cols| {
            for (m, col) in max_abs.iter_mut().zip(cols) {
                *m = col.iter().fold(*m, |m, v| m.max(v.abs()));
            }
            if n_own == 1 {
                for (i, (v, y)) in cols[0].iter().zip(cols[1]).enumerate() {
                    let exact = location.is_none() || (y - cols[2][i]).abs() < level;
                    if v.abs() < scale_level && exact {
                        n_exact += 1;
                        if collapsed_rows.len() < crate::compile::MAX_LISTED_ROWS {
                            collapsed_rows.push(first + i);
                        }
                    }
                }
            }
        });
        let n_rows = if n_own == 1 { c.n_rows } else { 0 };
        let max_scale = if n_rows == 0 {
            f64::INFINITY
        } else {
            max_abs[0]
        };
        // Most rows fitted exactly under a scale that is small everywhere:
        // the scale collapses. Otherwise a scale per group (`s[g]`) may
        // collapse on some rows only: a group with a single observation
        // fitted exactly.
        let collapsed = max_scale < scale_level && 2 * n_exact > n_rows;
        if n_exact > 0 && !collapsed {
            let listed: Vec<String> = collapsed_rows
                .iter()
                .map(|i| format!("row {}", c.source_rows.row_of(*i)))
                .collect();
            out.push(format!(
                "the scale `{}` of `{}` collapses toward 0 on {} of {} rows ({}): those rows are fitted exactly (a group with a single observation, for example), so the likelihood grows without bound there and the estimates are degenerate",
                s.family.args[s.family.scale_arg.unwrap_or(0)],
                s.family.name,
                n_exact,
                n_rows,
                listed.join(", ")
            ));
        }
        let scale_idx = s.family.scale_arg.unwrap_or(0);
        for (&(k, family, ci), &max_comp) in components.iter().zip(&max_abs[n_before_components..])
        {
            if max_comp < level && component_on_observation(c, theta, s, k, family, ci) {
                out.push(format!(
                    "component {} (`{}`) of `{}` collapses: its scale `{}` goes to 0 (largest value {max_comp:.3e}) while its location sits on a single observation, so the likelihood grows without bound there; this is a degenerate solution, not a fit (try other start values or a lower bound on the scale)",
                    k + 1,
                    family.name,
                    s.family.name,
                    family.args[ci]
                ));
            }
        }
        if collapsed {
            out.push(format!(
                "the scale `{}` of `{}` collapses toward 0 (largest value {max_scale:.3e}): the mean reproduces the data exactly, so the likelihood grows without bound and the scale has no estimate; the other estimates are the exact-fit values",
                s.family.args[scale_idx], s.family.name
            ));
        }
    }
    out
}

/// A component's scale below the collapse level grows the likelihood
/// without bound only where its location sits on an observation; a
/// component whose weight went to 0 far from every observation (started
/// there with a tiny scale) carries no row at all, and its scale is merely
/// undetermined. On some row, |y - mu| <= COLLAPSE_Z sigma + 4 eps max(|y|,
/// |mu|): a few scales, or the rounding of mu at y's size once sigma is
/// below that rounding (a collapse drives mu onto y to the last bit, and
/// sigma further down). Families without a location argument right before
/// their scale (Weibull) are taken at the scale's word.
fn component_on_observation(
    c: &Compiled,
    theta: &[f64],
    s: &crate::compile::LoweredStatement,
    k: usize,
    family: &crate::dist::Family,
    scale: usize,
) -> bool {
    let args = &s.components[k].1;
    let Some(loc) = family.location_arg() else {
        return true;
    };
    let mut on = false;
    c.for_each_row_block(&[s.y, args[loc], args[scale]], theta, |_, cols| {
        on |= cols[0]
            .iter()
            .zip(cols[1])
            .zip(cols[2])
            .any(|((y, mu), sigma)| {
                (y - mu).abs()
                    <= COLLAPSE_Z * sigma.abs() + 4.0 * f64::EPSILON * y.abs().max(mu.abs())
            });
    });
    on
}

/// How many scales from an observation a collapsing component's location
/// may be: the optimizer stopped on its way down (sigma halving per step
/// while mu closes in) leaves mu a few sigma off; a component far from the
/// data is 1e10 and more of its scales off.
const COLLAPSE_Z: f64 = 8.0;

/// A mixture component carried by fewer observations than this (the sum
/// over rows of each row's probability of having come from it) rests on a
/// handful of rows: too few to say much about its location and scale.
const FEW_COMPONENT_ROWS: f64 = 5.0;

/// ... and such a component whose scale is below this fraction of the
/// other components' is the usual shape of a spurious maximum: a few close
/// observations fitted tightly.
const SPURIOUS_SCALE_RATIO: f64 = 0.1;

/// A component carried by more rows than [`FEW_COMPONENT_ROWS`] but fewer
/// than this share of them, with a scale below [`NARROW_SCALE_RATIO`] of
/// the others', has the same shape: a two-component normal on 300 rows
/// (y of order 1e10) stopped with its second component on 6 rows and 1/340
/// of the other scale, NLL 58 above the maximum of the same data in units.
/// A genuine narrow group of a few percent of the rows is named too; the
/// warning says how to tell.
const SPURIOUS_SHARE: f64 = 0.05;
const NARROW_SCALE_RATIO: f64 = 0.01;

/// A warning for each mixture component that only a few observations
/// carry. With r_ik = w_k p_k(y_i) / sum_j w_j p_j(y_i) (each row's
/// probability of having come from component k), component k is carried
/// by n_k = sum_i r_ik rows; it is reported when n_k is below
/// [`FEW_COMPONENT_ROWS`] and below a quarter of an equal share, n / (4 K),
/// so that small data sets are not reported wholesale. The scales compared
/// are means weighted by r_ik: the component's own against the others'.
pub(super) fn few_rows_component_warnings(c: &Compiled, theta: &[f64]) -> Vec<String> {
    let mut out = Vec::new();
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        let joints = &s.component_log_joints;
        let k_count = joints.len();
        if k_count < 2 || c.n_rows == 0 {
            continue;
        }
        // Each component's scale node, where its family has one.
        let scales: Vec<Option<NodeId>> = s
            .components
            .iter()
            .map(|(family, args, _)| family.scale_arg.map(|i| args[i]))
            .collect();
        let mut nodes = joints.clone();
        nodes.extend(scales.iter().flatten());
        let mut carried = vec![0.0; k_count];
        let mut scale_sum = vec![0.0; k_count];
        let mut share = vec![0.0; k_count];
        c.for_each_row_block(&nodes, theta, |_, cols| {
            for i in 0..cols[0].len() {
                let top = (0..k_count).fold(f64::NEG_INFINITY, |m, k| m.max(cols[k][i]));
                if !top.is_finite() {
                    continue;
                }
                // r_ik = exp(a_k - max) / sum_j exp(a_j - max)
                let mut total = 0.0;
                for (k, r) in share.iter_mut().enumerate() {
                    *r = (cols[k][i] - top).exp();
                    total += *r;
                }
                let mut col = k_count;
                for k in 0..k_count {
                    let r = share[k] / total;
                    carried[k] += r;
                    if scales[k].is_some() {
                        scale_sum[k] += r * cols[col][i].abs();
                        col += 1;
                    }
                }
            }
        });
        let n = c.n_rows as f64;
        let limit = FEW_COMPONENT_ROWS.min(n / (4.0 * k_count as f64));
        for k in 0..k_count {
            let others: (f64, f64) = (0..k_count)
                .filter(|j| *j != k && scales[*j].is_some())
                .fold((0.0, 0.0), |(sum, n), j| {
                    (sum + scale_sum[j], n + carried[j])
                });
            let own_scale = scales[k].is_some().then(|| scale_sum[k] / carried[k]);
            let other_scale = (others.1 > 0.0).then(|| others.0 / others.1);
            let narrow = matches!((own_scale, other_scale), (Some(own), Some(rest)) if own < NARROW_SCALE_RATIO * rest);
            let few = carried[k] < limit;
            if !(few || (narrow && carried[k] < SPURIOUS_SHARE * n)) {
                continue;
            }
            let family = s.components[k].0;
            let head = format!(
                "component {} (`{}`) of `{}`",
                k + 1,
                family.name,
                s.family.name
            );
            if carried[k] < 0.5 {
                out.push(format!(
                    "{head} carries almost none of the {} observations (each row's probability of coming from it sums to {:.1e} over rows): the data do not determine its parameters; a model with fewer components may describe them as well",
                    c.n_rows, carried[k]
                ));
                continue;
            }
            let rows = format!(
                "{head} is carried by about {:.1} of the {} observations (the sum over rows of each row's probability of coming from it)",
                carried[k], c.n_rows
            );
            match (own_scale, other_scale, family.scale_arg) {
                (Some(own), Some(rest), Some(ci)) if own < SPURIOUS_SCALE_RATIO * rest => {
                    out.push(format!(
                        "{rows}, and its scale ({} of `{}`) averages {} against {} in the other components: a component fitting a few close values with a small scale is the usual shape of a spurious maximum, where the likelihood grows by hugging those values rather than by describing a group in the data; refit from other start values and compare the NLL, or bound the scale below",
                        family.args[ci],
                        family.name,
                        fmt_num(own),
                        fmt_num(rest)
                    ))
                }
                _ => out.push(format!(
                    "{rows}: its parameters rest on those few rows, so their estimates and standard errors say little; a model with fewer components may describe the data as well"
                )),
            }
        }
    }
    out
}

/// The direction (in free coordinates) along which the NLL keeps
/// decreasing from the optimum `x`, if any: a likelihood without a finite
/// maximum.
pub(super) fn recession_direction(
    obj: &mut ModelObjective,
    x: &[f64],
    f: f64,
    dir: &[f64],
) -> Option<Vec<f64>> {
    let scale = 1.0 + x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    for sign in [1.0, -1.0] {
        let mut prev = f;
        let mut monotone = true;
        for t in RECESSION_STEPS {
            let trial: Vec<f64> = x
                .iter()
                .zip(dir)
                .map(|(xi, di)| xi + sign * t * scale * di)
                .collect();
            let ft = obj.nll_at(&trial);
            if !(ft <= prev) {
                monotone = false;
                break;
            }
            prev = ft;
        }
        if monotone && f - prev > RECESSION_REL_DECREASE * f.abs().max(f64::MIN_POSITIVE) {
            return Some(dir.iter().map(|v| sign * v).collect());
        }
    }
    None
}

/// A standard error (on the unconstrained scale) above this multiple of
/// max(1, |theta|) marks a parameter the data do not bound.
pub(super) const HUGE_RELATIVE_SE: f64 = 1e3;

/// True when a standard error `se` on the unconstrained scale is huge for a
/// coordinate at `theta` (see [`HUGE_RELATIVE_SE`]).
pub(super) fn is_huge_se(se: f64, theta: f64) -> bool {
    se > HUGE_RELATIVE_SE * theta.abs().max(1.0)
}

/// A term below this is a row predicted with probability 1 - 1e-10 or more.
const PERFECT_FIT_TERM: f64 = 1e-10;

/// The term below which a row counts as predicted with probability 1 at an
/// optimum with NLL `f`: [`PERFECT_FIT_TERM`], or more on large data. A row
/// whose parameter runs off (a factor level seen once, with one class)
/// contributes about its term t = -log p ~ 1 - p to that parameter's
/// gradient, and the optimizer stops once the relative gradient is below
/// DEFAULT_GRAD_REL_TOL |f|: with 30 000 rows (|f| ~ 3e4) it stopped with
/// t ~ 2e-10, which the fixed level missed while the parameter's standard
/// error was 3 000 times its estimate.
pub(super) fn perfect_fit_level(f: f64) -> f64 {
    PERFECT_FIT_TERM.max(crate::optim::DEFAULT_GRAD_REL_TOL * f.abs())
}

/// Describes the rows of binary, categorical or count outcomes fitted with
/// probability 1, by class or count, ending in its verb ("3 rows (3 of
/// class 1) are"), or None when there are none.
pub(super) fn perfectly_fitted_rows(c: &Compiled, theta: &[f64], level: f64) -> Option<String> {
    use crate::dist::Support;
    let mut parts = Vec::new();
    for s in c.statements.iter().filter(|s| {
        !s.is_prior && matches!(s.support, Support::Binary | Support::Level | Support::Count)
    }) {
        // Count per class (the factor level, or the 0/1 value), a block of
        // rows at a time.
        let mut counts: std::collections::BTreeMap<String, usize> =
            std::collections::BTreeMap::new();
        let mut n_perfect = 0;
        c.for_each_row_block(&[s.term, s.y], theta, |first, cols| {
            for (k, (term, y)) in cols[0].iter().zip(cols[1]).enumerate() {
                if !(*term < level) {
                    continue;
                }
                n_perfect += 1;
                let class = match s.outcome_factor {
                    Some(col) => {
                        let code = c.columns.factor[col as usize][first + k] as usize;
                        c.factor_levels
                            .get(col as usize)
                            .and_then(|l| l.get(code))
                            .cloned()
                            .unwrap_or_else(|| code.to_string())
                    }
                    None => format!("{y}"),
                };
                *counts.entry(class).or_default() += 1;
            }
        });
        if n_perfect == 0 {
            continue;
        }
        let by_class: Vec<String> = counts
            .iter()
            .map(|(k, n)| match s.support {
                Support::Count => format!("{n} with count {k}"),
                _ => format!("{n} of class {k}"),
            })
            .collect();
        let (rows, are) = if n_perfect == 1 {
            ("row", "is")
        } else {
            ("rows", "are")
        };
        parts.push(format!(
            "{n_perfect} {rows} ({}) {are}",
            by_class.join(", ")
        ));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("; "))
    }
}

/// Categorical probabilities may sum to 1 to within this (rounding in the
/// expressions that build them).
const PROBABILITY_SUM_TOL: f64 = 1e-8;

/// Whether `node` lies in [0, 1] whatever the parameters and data: a
/// logistic 1 / (1 + exp(-x)) or a normal CDF, which stay there in floating
/// point too, or a constant there.
fn is_unit_valued(c: &Compiled, node: NodeId) -> bool {
    match c.graph.node(node) {
        Node::Unary(Func::Logistic | Func::Phi, _) => true,
        Node::Const(bits) => (0.0..=1.0).contains(&f64::from_bits(*bits)),
        _ => false,
    }
}

/// Warnings when what the model calls probabilities are not probabilities
/// at the estimate: the "likelihood" is then not one, and maximising it is
/// meaningless.
/// - The probabilities of a `Categorical` do not sum to 1: maximising
///   drives every one of them to 1.
/// - A probability argument (Bernoulli's or Binomial's p) lies outside
///   [0, 1] on some row. Bernoulli's term is -log(p) or -log(1 - p) by the
///   observation, finite on one side of the interval: an identity link
///   a + b x can run p past 0 or 1 there and reach a "log-likelihood" above
///   0. Nothing in the graph stops it, so it is caught here.
pub(super) fn improper_probability_warnings(c: &Compiled, theta: &[f64]) -> Vec<String> {
    let mut out = Vec::new();
    for s in c.statements.iter().filter(|s| !s.is_prior) {
        if s.family.name == "Categorical" {
            let rows = c.eval_rows(&s.args, theta);
            let n = rows.first().map(|r| r.len()).unwrap_or(0);
            let worst = (0..n)
                .map(|i| (i, rows.iter().map(|r| r[i]).sum::<f64>()))
                .max_by(|a, b| (a.1 - 1.0).abs().total_cmp(&(b.1 - 1.0).abs()));
            if let Some((i, total)) = worst {
                if (total - 1.0).abs() > PROBABILITY_SUM_TOL {
                    out.push(format!(
                        "the probabilities of `Categorical` sum to {total} on row {}, not 1: this is not a likelihood; build them so they sum to 1 (or use CategoricalLogit, whose softmax does)",
                        c.source_rows.row_of(i)
                    ));
                }
            }
            // Summing to 1 is not enough: p_k = 1 - p_1 - p_2 goes negative.
            let outside = rows.iter().enumerate().find_map(|(k, values)| {
                let i = values.iter().position(|p| !(0.0..=1.0).contains(p))?;
                Some((k, i, values[i]))
            });
            if let Some((k, i, p)) = outside {
                out.push(format!(
                    "the probability p_{} of `Categorical` is {p} on row {}, outside [0, 1]: this is not a likelihood; keep each probability inside (CategoricalLogit's softmax does)",
                    k + 1,
                    c.source_rows.row_of(i)
                ));
            }
            continue;
        }
        // Only statements with a probability argument that may leave
        // [0, 1] are evaluated: the rest would cost a column per argument at
        // the end of every fit.
        let is_proper =
            |family: &crate::dist::Family, args: &[NodeId]| {
                family.arg_support.iter().zip(args).all(|(support, &arg)| {
                    *support != Support::UnitClosed || is_unit_valued(c, arg)
                })
            };
        if is_proper(s.family, &s.args)
            && s.components.iter().all(|(f, args, _)| is_proper(f, args))
        {
            continue;
        }
        let probabilities = crate::evaluate::args_outside_support(c, s, theta)
            .into_iter()
            .filter(|o| o.support == Support::UnitClosed);
        for o in probabilities {
            let (i, p) = o.rows[0];
            out.push(format!(
                "the probability `{}` of `{}` is {p} on row {}, outside [0, 1]: this is not a likelihood; keep it inside (a logistic link, {}Logit, does)",
                o.arg,
                o.family,
                c.source_rows.row_of(i),
                o.family
            ));
        }
    }
    out
}

/// When the fit did not converge: do the free parameters' curvatures
/// differ by more than the optimizer's scaling balances, with a data column
/// of extreme size to blame? The trust region scales each parameter by
/// sqrt|H_ii|, so it does balance such parameters, but a fit that must
/// also carry them across many orders of magnitude from the start is slow
/// (a normal's log-scale moves about half a unit per Newton step toward
/// data of order 1e150: 700 iterations). That is a matter of the data's
/// units, and saying so is the useful part;
/// without such a column (NIST's MGH10 from its first start reaches
/// curvatures of 1e300 on data of order 1e2) the parameters themselves
/// went astray, and this is not said.
pub(super) fn unbalanced_scales_warning(
    c: &Compiled,
    free: &[usize],
    hess: &nalgebra::DMatrix<f64>,
) -> Option<String> {
    const RATIO: f64 = 1e8;
    let scales: Vec<(f64, usize)> = (0..free.len())
        .map(|i| (hess[(i, i)].abs().sqrt(), free[i]))
        .filter(|(d, _)| d.is_finite() && *d > 0.0)
        .collect();
    let largest = scales.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0))?;
    let smallest = scales.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0))?;
    if largest.0 <= RATIO * smallest.0 {
        return None;
    }
    // The data columns the two parameters' gradients read: a column that
    // enters only another statement (or only through a log) is not to
    // blame.
    let mut read = std::collections::HashSet::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![c.grad[largest.1], c.grad[smallest.1]];
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if let crate::graph::Node::Data(col) = c.graph.node(n) {
            read.insert(*col as usize);
        }
        stack.extend(c.graph.children(n));
    }
    // Of those, the column whose largest magnitude is furthest from 1, if
    // that is beyond 1e8 either way.
    let (name, size) = c
        .real_names
        .iter()
        .zip(&c.columns.real)
        .enumerate()
        .filter(|(i, _)| read.contains(i))
        .map(|(_, column)| column)
        .filter_map(|(name, values)| {
            let size = values
                .iter()
                .filter(|v| v.is_finite())
                .fold(0.0_f64, |m, v| m.max(v.abs()));
            (size > 0.0).then_some((name, size))
        })
        .max_by(|a, b| a.1.log10().abs().total_cmp(&b.1.log10().abs()))?;
    if size.log10().abs() < RATIO.log10() {
        return None;
    }
    Some(format!(
        "the parameters' scales differ by a factor of about {:.0e} (the square root of the Hessian's diagonal is {:.3e} for `{}` and {:.3e} for `{}`), which slows the optimizer down, and data column `{name}` has values up to {size:.1e} in size: rescale it (for example to standardised units) so that the coefficients are of comparable size",
        largest.0 / smallest.0,
        largest.0,
        c.params[largest.1].name,
        smallest.0,
        c.params[smallest.1].name
    ))
}

/// The warning of a fit whose objective has a kink, naming where it is: a
/// Laplace likelihood's, a Laplace prior's, or an absolute value written
/// in the model.
pub(super) fn kink_warning(c: &Compiled) -> String {
    let laplace = |prior: bool| {
        c.statements
            .iter()
            .any(|s| s.is_prior == prior && s.family.name == "Laplace")
    };
    let what = if laplace(false) {
        "the likelihood has a kink (the absolute value in a Laplace density)"
    } else if laplace(true) {
        "the objective has a kink (the absolute value in a Laplace prior's density)"
    } else {
        "the objective has a kink (an absolute value in the model)"
    };
    format!(
        "{what}: it was minimised by smoothing the kink and shrinking the smoothing to 1e-9 of the residual scale; the Hessian is not defined at the kink, so no standard errors are reported (a profile likelihood or a bootstrap gives intervals)"
    )
}

/// Where the parameters along `dir` (over the free coordinates `free`)
/// head, `dir` turned the way the fit moved them from its start (`travel`,
/// theta minus its start): words for [`heading_along`], or "some
/// parameters run off" where `dir` names none (a Hessian that overflowed,
/// `hessian_finite` false, has no flat direction).
pub(super) fn heading_from_start(
    c: &Compiled,
    free: &[usize],
    mut dir: Vec<f64>,
    travel: &[f64],
    hessian_finite: bool,
) -> String {
    if dir.iter().zip(travel).map(|(d, t)| d * t).sum::<f64>() < 0.0 {
        dir.iter_mut().for_each(|d| *d = -*d);
    }
    if dir.iter().any(|d| d.abs() > 0.1) {
        heading_along(c, free, &dir)
    } else if hessian_finite {
        "some parameters run off".to_string()
    } else {
        "some parameters run off (the Hessian there is not finite, so it does not say which)"
            .to_string()
    }
}

/// Where each parameter that direction `dir` (over the free coordinates
/// `free`, in theta) moves by a tenth of its length or more is heading,
/// as words: "`b` grows without bound and `r` falls to its bound 0".
pub(super) fn heading_along(c: &Compiled, free: &[usize], dir: &[f64]) -> String {
    use crate::model::Transform;
    let mut moving: Vec<(f64, usize)> = (0..free.len())
        .filter(|i| dir[*i].abs() > 0.1)
        .map(|i| (dir[i], free[i]))
        .collect();
    moving.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    let phrases: Vec<String> = moving
        .iter()
        .map(|(d, k)| {
            let p = &c.params[*k];
            let up = *d > 0.0;
            // theta grows or falls without bound; what the natural value does
            let to = match (p.transform, up) {
                (Transform::Identity, true) | (Transform::Lower(_), true) => {
                    "grows without bound".to_string()
                }
                (Transform::Identity, false) | (Transform::Upper(_), true) => {
                    "decreases without bound".to_string()
                }
                (Transform::Lower(bound), false) | (Transform::Upper(bound), false) => {
                    format!("goes to its bound {bound}")
                }
                (Transform::Interval(_, hi), true) => format!("goes to its bound {hi}"),
                (Transform::Interval(lo, _), false) => format!("goes to its bound {lo}"),
            };
            format!("`{}` {to}", p.name)
        })
        .collect();
    match phrases.as_slice() {
        [] => "some parameters run off".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What a likelihood that keeps increasing means for the model's outcomes:
/// separation for binary and categorical ones, counts fitted exactly for
/// counts (a group whose counts are all 0).
pub(super) fn divergence_note(c: &Compiled) -> &'static str {
    if has_outcome(c, &[Support::Binary, Support::Level]) {
        " (for a binary or categorical outcome this is separation: some rows are predicted with probability 1)"
    } else if has_outcome(c, &[Support::Count]) {
        " (for counts, some rows are predicted with probability 1: a rate going to 0 on counts that are all 0, for example)"
    } else {
        ""
    }
}

/// "separation: " for a model with a binary or categorical outcome, where
/// rows predicted with probability 1 are that; nothing for counts.
pub(super) fn separation_prefix(c: &Compiled) -> &'static str {
    if has_outcome(c, &[Support::Binary, Support::Level]) {
        "separation: "
    } else {
        ""
    }
}

/// Whether a likelihood statement's outcome has one of `supports`.
fn has_outcome(c: &Compiled, supports: &[Support]) -> bool {
    c.statements
        .iter()
        .any(|s| !s.is_prior && supports.contains(&s.support))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_as_their_values_and_invert() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            3e9,
            f64::INFINITY,
        ];
        for pair in values.windows(2) {
            assert!(order_key(pair[0]) < order_key(pair[1]), "{pair:?}");
        }
        for v in values {
            assert_eq!(from_order_key(order_key(v)).to_bits(), v.to_bits());
        }
    }

    /// The two histogram passes find the median to 12 bits of its binade,
    /// rounded down.
    #[test]
    fn two_histogram_passes_find_the_median() {
        let values: Vec<f64> = (0..1001)
            .map(|i| 1e9 + ((i * 37) % 1001) as f64 * 0.25)
            .collect();
        let mut median = StreamingMedian::new();
        values.iter().for_each(|v| median.add(*v));
        median.second_pass();
        values.iter().for_each(|v| median.add(*v));
        let got = median.median();
        // the exact median is 1e9 + 125; in the binade [2^29, 2^30) the
        // second-level bins are 2^29 / 2^12 = 131072 apart
        assert!(got <= 1e9 + 125.0 && got > 1e9 + 125.0 - 131_072.0, "{got}");
        assert!(StreamingMedian::new().median().is_nan());
    }
}
