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
