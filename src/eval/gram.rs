//! Sums that share a row weight: sum_i w_i, sum_i w_i x_ia and
//! sum_i (w_i x_ia) x_ib over data columns x_a, x_b. A Hessian of a model
//! whose predictors are linear in its coefficients is made of them (a
//! logistic regression's sum_i p_i (1 - p_i) x_ia x_ib, one such block per
//! pair of classes in a softmax), as many as there are pairs of columns.
//!
//! Emitted one by one, each entry is its own pass over a chunk, and w_i x_ia
//! a buffer written and read back. Here they become one instruction per
//! weight, which computes them a block at a time: a few left factors
//! w_i x_ia and right factors x_ib held in registers for a few sums at once
//! (see `lanes::of_gram`). Every product is rounded as the graph rounds it,
//! (w x_a) x_b, and every sum adds its terms in the lanes and order of the
//! other sums, so the results are those of the instructions it replaces,
//! bit for bit. (A fused multiply-add per term would round once instead of
//! twice; it made no measurable difference to the time, so the results stay
//! the same whichever way a program is built.)
//!
//! Several weights over the same columns (a softmax's, one per pair of
//! classes) are one instruction instead, [`Shared`]: each product x_a x_b
//! is computed once per row for all of them and each weight's term added
//! with a fused multiply-add. That is about a third of the operations of a
//! [`Gram`] per weight; on the softmax workload (10 weights, 66 pairs of
//! columns, AVX-512) the Hessian took 10.5 instead of 16.3 ms. Its
//! roundings are not the graph's, by a rounding or two per term.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::graph::{BinOp, Graph, Node, NodeId};

use super::Src;

/// Stands for the factor 1 (no data column) on either side.
pub(crate) const ONE: u8 = u8::MAX;

/// The accumulator of a product a block computes but no sum asked for.
pub(crate) const NO_ACC: u32 = u32::MAX;

/// At least this many sums share a weight before they are computed
/// together: a Hessian block.
const MIN_SUMS: usize = 6;

/// Left and right factors per block: A B sums of 16 partial sums each
/// must fit in the 32 AVX-512 registers beside the factors.
pub(crate) const BLOCK_LEFTS: usize = 2;
pub(crate) const BLOCK_RIGHTS: usize = 4;

/// Weights that share their data columns, at least this many, are computed
/// together (see [`Shared`]): a softmax Hessian has one weight per pair of
/// classes, all over the same columns. Three is the fewest a softmax has
/// (three classes); on one with 10 features at 200 000 rows its Hessian
/// took 5.0-5.2 ms together against 5.5-5.7 ms a weight at a time.
const MIN_SHARED_WEIGHTS: usize = 3;

/// At most this many weights in one [`Shared`] instruction (its operands
/// are gathered on the stack); a larger set is split.
pub(crate) const MAX_SHARED_WEIGHTS: usize = 64;

/// Weights and pairs per tile of [`Shared`] sums on AVX-512: 5 by 3 sums of
/// 8 partial sums each, one register per sum, beside the 3 pair products
/// and a weight.
pub(crate) const TILE_WEIGHTS: usize = 5;
pub(crate) const TILE_PAIRS: usize = 3;

/// Sums sum_i w_ki (x_ia x_ib) for several weights w_k over one set of
/// data columns: the product of each pair of columns is computed once per
/// row for all the weights, and each term is added with a fused
/// multiply-add into one of [`lanes::GRAM_LANES`](super::lanes::GRAM_LANES)
/// partial sums. Per pair and weight that is one operation, where a
/// [`Gram`] per weight takes w x_a for each left factor and then a
/// multiplication and an addition. The rounding differs from the graph's
/// (w x_a) x_b (one rounding of x_a x_b, one of the fused step), well
/// inside the evaluator's tolerance; results still do not depend on the
/// number of threads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shared {
    pub ws: Vec<Src>,
    /// The data factors; pairs name them by index, or [`ONE`].
    pub cols: Vec<Src>,
    /// (a, b) with a <= b, sorted.
    pub pairs: Vec<(u8, u8)>,
    /// The accumulator of weight k and pair p at `k * pairs.len() + p`, or
    /// [`NO_ACC`] where that weight has no such sum.
    pub accs: Vec<u32>,
}

/// Weights over the same data columns, to be one [`Shared`] instruction:
/// the graph's nodes, before they are given places in the program.
pub(super) struct SharedSet {
    pub ws: Vec<NodeId>,
    /// Sorted; pairs name them by index, or [`ONE`].
    pub cols: Vec<NodeId>,
    /// (a, b) with a <= b, sorted.
    pub pairs: Vec<(u8, u8)>,
    /// The sum node of weight k and pair p at `k * pairs.len() + p`, where
    /// that weight has one.
    pub sums: Vec<Option<NodeId>>,
}

/// `groups` split into those computed alone and sets computed together as
/// one [`Shared`] instruction each: at least [`MIN_SHARED_WEIGHTS`] weights
/// over the same data columns, at most [`MAX_SHARED_WEIGHTS`] to a set.
pub(super) fn shared_sets(groups: Vec<Group>) -> (Vec<Group>, Vec<SharedSet>) {
    let mut by_cols: BTreeMap<Vec<NodeId>, Vec<Group>> = BTreeMap::new();
    let mut alone = Vec::new();
    for gr in groups {
        let mut cols = gr.cols.clone();
        cols.sort();
        // A weight with two sums of one pair (x_a x_b and x_b x_a kept
        // apart by the graph) keeps its own instruction.
        let key = |i: u8| {
            if i == ONE {
                u32::MAX
            } else {
                gr.cols[usize::from(i)].0
            }
        };
        let mut pairs: Vec<(u32, u32)> = gr
            .entries
            .iter()
            .map(|(l, r, _)| (key(*l).min(key(*r)), key(*l).max(key(*r))))
            .collect();
        pairs.sort();
        let n = pairs.len();
        pairs.dedup();
        if pairs.len() == n {
            by_cols.entry(cols).or_default().push(gr);
        } else {
            alone.push(gr);
        }
    }
    let mut sets = Vec::new();
    for (cols, grs) in by_cols {
        if grs.len() < MIN_SHARED_WEIGHTS {
            alone.extend(grs);
            continue;
        }
        // Each group's factor indices, as indices into the sorted columns.
        let index = |gr: &Group, i: u8| {
            if i == ONE {
                return ONE;
            }
            let n = gr.cols[usize::from(i)];
            cols.iter()
                .position(|c| *c == n)
                .expect("a column of the set") as u8
        };
        for grs in grs.chunks(MAX_SHARED_WEIGHTS) {
            let entries: Vec<(usize, (u8, u8), NodeId)> = grs
                .iter()
                .enumerate()
                .flat_map(|(k, gr)| {
                    gr.entries.iter().map(move |(l, r, sum)| {
                        let (a, b) = (index(gr, *l), index(gr, *r));
                        (k, (a.min(b), a.max(b)), *sum)
                    })
                })
                .collect();
            let mut pairs: Vec<(u8, u8)> = entries.iter().map(|e| e.1).collect();
            pairs.sort();
            pairs.dedup();
            let mut sums = vec![None; grs.len() * pairs.len()];
            for (k, pair, sum) in entries {
                let p = pairs.binary_search(&pair).expect("a pair of the set");
                sums[k * pairs.len() + p] = Some(sum);
            }
            sets.push(SharedSet {
                ws: grs.iter().map(|gr| gr.w).collect(),
                cols: cols.clone(),
                pairs,
                sums,
            });
        }
    }
    // In the order of their weights, as they came.
    alone.sort_by_key(|g| g.w);
    (alone, sets)
}

/// The sums of one weight, as an instruction reads them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gram {
    pub w: Src,
    /// The data factors; a block names them by index, or [`ONE`].
    pub cols: Vec<Src>,
    pub blocks: Vec<Block>,
}

/// sum_i (w_i l_i) r_i into `accs[a * rights.len() + b]` for each left
/// factor l = `lefts[a]` and right factor r = `rights[b]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    pub lefts: Vec<u8>,
    pub rights: Vec<u8>,
    pub accs: Vec<u32>,
}

/// Sums over rows of one weight node, found in a graph.
pub(super) struct Group {
    pub w: NodeId,
    /// Data nodes, indexed by the entries.
    pub cols: Vec<NodeId>,
    /// (left, right, sum node): the sum is sum_i (w_i l_i) r_i, with
    /// [`ONE`] for a factor that is not there.
    pub entries: Vec<(u8, u8, NodeId)>,
}

/// The groups of at least [`MIN_SUMS`] sums among `row_nodes` that share a
/// weight with parameters in it, some with two data factors;
/// `is_column(n)` tells the data nodes that are read as columns.
pub(super) fn groups(
    g: &Graph,
    row_nodes: &[NodeId],
    is_column: impl Fn(NodeId) -> bool,
) -> Vec<Group> {
    let mut by_weight: BTreeMap<NodeId, Group> = BTreeMap::new();
    for &s in row_nodes {
        let Node::Sum(a) = *g.node(s) else {
            continue;
        };
        let Some((w, left, right)) = split(g, a, &is_column) else {
            continue;
        };
        let group = by_weight.entry(w).or_insert_with(|| Group {
            w,
            cols: Vec::new(),
            entries: Vec::new(),
        });
        let mut index = |c: Option<NodeId>| -> Option<u8> {
            let Some(c) = c else {
                return Some(ONE);
            };
            if let Some(i) = group.cols.iter().position(|x| *x == c) {
                return Some(i as u8);
            }
            // Indices stop below ONE; further columns keep their own sums.
            (group.cols.len() < usize::from(ONE)).then(|| {
                group.cols.push(c);
                (group.cols.len() - 1) as u8
            })
        };
        if let (Some(l), Some(r)) = (index(left), index(right)) {
            group.entries.push((l, r, s));
        }
    }
    // Sums of w x_a alone (a gradient's) are left to the dot products
    // that share w (`fuse::shared_dots`): measured on the logistic
    // regression workload, they took 5% longer here.
    let has_pairs = |gr: &Group| gr.entries.iter().any(|(l, r, _)| *l != ONE && *r != ONE);
    by_weight
        .into_values()
        .filter(|gr| gr.entries.len() >= MIN_SUMS && has_pairs(gr))
        .collect()
}

/// A summed row value as (w, left, right) with the value (w l) r, l and r
/// data columns or absent (the factor 1; w 1 = w exactly): the weight w is
/// what is left after at most two data factors are taken off the outside
/// of the product, and has parameters in it.
fn split(
    g: &Graph,
    a: NodeId,
    is_column: &impl Fn(NodeId) -> bool,
) -> Option<(NodeId, Option<NodeId>, Option<NodeId>)> {
    let peel = |n: NodeId| -> (NodeId, Option<NodeId>) {
        match *g.node(n) {
            Node::Binary(BinOp::Mul, u, v) if is_column(v) && !is_column(u) => (u, Some(v)),
            Node::Binary(BinOp::Mul, u, v) if is_column(u) && !is_column(v) => (v, Some(u)),
            _ => (n, None),
        }
    };
    let (inner, right) = peel(a);
    let (w, left) = if right.is_some() {
        peel(inner)
    } else {
        (inner, None)
    };
    // w r alone is (w 1) r: the left factor is 1.
    let weighted = g.is_row(w) && !g.info(w).params.is_empty();
    weighted.then_some((w, left, right))
}

/// `row_nodes` without what only the grouped sums read, in the same order:
/// the sums themselves and the products they alone were built from. The
/// weights stay, and so does everything the other sums, the per-row
/// `row_roots` and the weights read.
pub(super) fn without_grouped(
    g: &Graph,
    row_nodes: Vec<NodeId>,
    groups: &[Group],
    row_roots: &[NodeId],
) -> Vec<NodeId> {
    let grouped: HashSet<NodeId> = groups
        .iter()
        .flat_map(|gr| gr.entries.iter().map(|e| e.2))
        .collect();
    if grouped.is_empty() {
        return row_nodes;
    }
    let present: HashSet<NodeId> = row_nodes.iter().copied().collect();
    let mut stack: Vec<NodeId> = row_nodes
        .iter()
        .copied()
        .filter(|n| matches!(g.node(*n), Node::Sum(_)) && !grouped.contains(n))
        .chain(row_roots.iter().copied())
        .chain(groups.iter().map(|gr| gr.w))
        .filter(|n| present.contains(n))
        .collect();
    let mut needed: HashSet<NodeId> = HashSet::new();
    while let Some(n) = stack.pop() {
        if needed.insert(n) {
            stack.extend(g.children(n).into_iter().filter(|c| present.contains(c)));
        }
    }
    row_nodes
        .into_iter()
        .filter(|n| needed.contains(n))
        .collect()
}

/// The blocks computing `entries` (left, right, accumulator): left factors
/// taken [`BLOCK_LEFTS`] at a time, with the right factors any of them
/// needs [`BLOCK_RIGHTS`] at a time. A Hessian's entries pair each left
/// factor with the right ones from it on, so neighbouring left factors
/// need almost the same right ones, and few products are computed that no
/// sum asked for.
pub(super) fn blocks(entries: &[(u8, u8, u32)]) -> Vec<Block> {
    let mut by_left: BTreeMap<u8, HashMap<u8, u32>> = BTreeMap::new();
    for &(l, r, acc) in entries {
        by_left.entry(l).or_default().insert(r, acc);
    }
    let lefts: Vec<u8> = by_left.keys().copied().collect();
    let mut out = Vec::new();
    for pair in lefts.chunks(BLOCK_LEFTS) {
        let rights: BTreeSet<u8> = pair
            .iter()
            .flat_map(|l| by_left[l].keys().copied())
            .collect();
        let rights: Vec<u8> = rights.into_iter().collect();
        for rs in rights.chunks(BLOCK_RIGHTS) {
            let accs = pair
                .iter()
                .flat_map(|l| {
                    rs.iter()
                        .map(|r| by_left[l].get(r).copied().unwrap_or(NO_ACC))
                })
                .collect();
            out.push(Block {
                lefts: pair.to_vec(),
                rights: rs.to_vec(),
                accs,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_over_the_same_columns_are_set_together() {
        let n = NodeId;
        // Three weights over columns 10 and 11 (listed in either order),
        // one over 10 and 12, one with x_10 x_11 and x_11 x_10 as two sums.
        let group = |w: u32, cols: [u32; 2], entries: Vec<(u8, u8, u32)>| Group {
            w: n(w),
            cols: cols.map(n).to_vec(),
            entries: entries.into_iter().map(|(l, r, s)| (l, r, n(s))).collect(),
        };
        let groups = vec![
            group(1, [10, 11], vec![(0, 0, 100), (0, 1, 101), (1, ONE, 102)]),
            group(2, [11, 10], vec![(1, 1, 200), (1, 0, 201), (ONE, ONE, 202)]),
            group(3, [10, 11], vec![(0, 1, 300)]),
            group(4, [10, 12], vec![(0, 1, 400)]),
            group(5, [10, 11], vec![(0, 1, 500), (1, 0, 501)]),
        ];
        let (alone, sets) = shared_sets(groups);
        let alone: Vec<NodeId> = alone.iter().map(|g| g.w).collect();
        assert_eq!(alone, vec![n(4), n(5)]);
        assert_eq!(sets.len(), 1);
        let set = &sets[0];
        assert_eq!(set.ws, vec![n(1), n(2), n(3)]);
        assert_eq!(set.cols, vec![n(10), n(11)]);
        // Weight 2's columns come as 11, 10: its (1, 1) is x_10 x_10.
        assert_eq!(set.pairs, vec![(0, 0), (0, 1), (1, ONE), (ONE, ONE)]);
        let none = None;
        assert_eq!(
            set.sums,
            vec![
                Some(n(100)),
                Some(n(101)),
                Some(n(102)),
                none,
                Some(n(200)),
                Some(n(201)),
                none,
                Some(n(202)),
                none,
                Some(n(300)),
                none,
                none,
            ]
        );
    }

    #[test]
    fn blocks_cover_every_entry_once() {
        // The upper triangle of 5 columns and the 1 column, as a Hessian.
        let mut entries = Vec::new();
        let mut acc = 0;
        for l in (0..5).chain([ONE]) {
            for r in (l..5).chain([ONE]) {
                if l == ONE && r != ONE {
                    continue;
                }
                entries.push((l, r, acc));
                acc += 1;
            }
        }
        let blocks = blocks(&entries);
        let mut seen = Vec::new();
        for b in &blocks {
            assert!(b.lefts.len() <= BLOCK_LEFTS && b.rights.len() <= BLOCK_RIGHTS);
            assert_eq!(b.accs.len(), b.lefts.len() * b.rights.len());
            for (i, l) in b.lefts.iter().enumerate() {
                for (j, r) in b.rights.iter().enumerate() {
                    let a = b.accs[i * b.rights.len() + j];
                    if a != NO_ACC {
                        assert!(entries.contains(&(*l, *r, a)));
                        seen.push(a);
                    }
                }
            }
        }
        seen.sort();
        assert_eq!(seen, (0..acc).collect::<Vec<_>>());
    }
}
