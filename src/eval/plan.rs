//! Which row nodes a program computes inside another node's instruction,
//! which instructions compute more than one node, and how long each row
//! value must be kept: the decisions [`super::Builder`] makes before it
//! assigns chunk buffers and emits instructions.

use std::collections::HashSet;

use rustc_hash::FxHashMap as HashMap;

use crate::graph::{BinOp, Func, Graph, Node, NodeId};

pub(super) struct Plan {
    /// Binary and factor-choice nodes whose only reader is a sum: computed
    /// inside that sum's loop (a fused multiply-reduce for the usual
    /// gradient term sum_i r_i x_i, a masked sum for sum_i [g_i = k] x_i),
    /// with no instruction or buffer of their own.
    pub fused: HashSet<NodeId>,
    /// A sum or difference, and the product whose only reader it is
    /// (a + b x, a step of a linear predictor): the product is computed
    /// inside that instruction's loop.
    pub product_of: HashMap<NodeId, NodeId>,
    /// A sum or difference fused into a sum, and the product whose only
    /// reader it is (sum_i (a_i + x_i y_i)): the product is computed in the
    /// sum's loop too.
    pub sum_product_of: HashMap<NodeId, NodeId>,
    /// Every node computed inside another's instruction, by the three rules
    /// above.
    pub inlined: HashSet<NodeId>,
    /// exp(item_k - L) for a log-sum-exp L of those items: computed by L's
    /// instruction, from the exps it takes anyway, as weight k. The value
    /// is (L, k).
    pub weight_of: HashMap<NodeId, (NodeId, usize)>,
    /// The differences item_k - L of those weights, and the negations of
    /// `mirror`, read by nothing else and so never computed.
    pub absorbed: HashSet<NodeId>,
    /// softplus(a) and logistic(a) of one operand, each mapped to the
    /// other: one instruction computes both, at the first of the two.
    pub partner: HashMap<NodeId, NodeId>,
    /// logistic(-a) for an operand a of such a pair, read by nothing that
    /// needs -a itself: the pair's instruction computes it too, from its
    /// exp, and the negation (in `absorbed`) is not computed.
    pub mirror: HashMap<NodeId, NodeId>,
    /// The position (in the row order) of the last instruction reading
    /// each row node; `usize::MAX` for the nodes asked for per row.
    pub last_use: HashMap<NodeId, usize>,
    /// How many row nodes read each node.
    pub n_readers: HashMap<NodeId, usize>,
}

impl Plan {
    /// The plan for `row_nodes` (in topological order; `position` maps each
    /// to its index), of which `row_outputs` are asked for per row.
    pub fn new(
        g: &Graph,
        row_nodes: &[NodeId],
        row_outputs: &[NodeId],
        position: &HashMap<NodeId, usize>,
    ) -> Plan {
        let mut n_readers: HashMap<NodeId, usize> = HashMap::default();
        for &id in row_nodes {
            for c in g.children(id) {
                *n_readers.entry(c).or_default() += 1;
            }
        }
        let read_once = |n: NodeId| n_readers.get(&n) == Some(&1) && !row_outputs.contains(&n);

        let fused: HashSet<NodeId> = row_nodes
            .iter()
            .filter_map(|&id| match g.node(id) {
                Node::Sum(a) => Some(*a),
                _ => None,
            })
            .filter(|a| {
                position.contains_key(a)
                    && read_once(*a)
                    && matches!(g.node(*a), Node::Binary(..) | Node::Select { .. })
            })
            .collect();
        // The product a sum or difference reads, when it is its only reader.
        let single_product = |id: NodeId| -> Option<NodeId> {
            let Node::Binary(BinOp::Add | BinOp::Sub, u, v) = *g.node(id) else {
                return None;
            };
            [v, u].into_iter().find(|m| {
                position.contains_key(m)
                    && matches!(g.node(*m), Node::Binary(BinOp::Mul, ..))
                    && read_once(*m)
                    && !fused.contains(m)
            })
        };
        // A sum or difference fused into a sum takes its product into the
        // sum's loop instead.
        let product_of: HashMap<NodeId, NodeId> = row_nodes
            .iter()
            .filter(|id| !fused.contains(id))
            .filter_map(|&id| single_product(id).map(|m| (id, m)))
            .collect();
        let sum_product_of: HashMap<NodeId, NodeId> = fused
            .iter()
            .filter_map(|&a| single_product(a).map(|m| (a, m)))
            .collect();
        let inlined: HashSet<NodeId> = fused
            .iter()
            .chain(product_of.values())
            .chain(sum_product_of.values())
            .copied()
            .collect();

        let mut weight_of: HashMap<NodeId, (NodeId, usize)> = HashMap::default();
        let mut absorbed: HashSet<NodeId> = HashSet::new();
        for &id in row_nodes {
            let Node::Unary(Func::Exp, d) = *g.node(id) else {
                continue;
            };
            let Node::Binary(BinOp::Sub, x, l) = *g.node(d) else {
                continue;
            };
            let Node::LogSumExp(items) = g.node(l) else {
                continue;
            };
            let Some(k) = items.iter().position(|i| *i == x) else {
                continue;
            };
            let free_standing = ![id, d, l].iter().any(|n| inlined.contains(n));
            if read_once(d) && free_standing && position.contains_key(&l) {
                weight_of.insert(id, (l, k));
                absorbed.insert(d);
            }
        }

        let mut logistic_of: HashMap<NodeId, NodeId> = HashMap::default();
        for &id in row_nodes {
            if let Node::Unary(Func::Logistic, a) = *g.node(id) {
                if !inlined.contains(&id) {
                    logistic_of.entry(a).or_insert(id);
                }
            }
        }
        let mut partner: HashMap<NodeId, NodeId> = HashMap::default();
        for &id in row_nodes {
            if let Node::Unary(Func::Softplus, a) = *g.node(id) {
                if let Some(&l) = logistic_of.get(&a).filter(|_| !inlined.contains(&id)) {
                    partner.insert(id, l);
                    partner.insert(l, id);
                }
            }
        }

        let mut mirror: HashMap<NodeId, NodeId> = HashMap::default();
        for &id in row_nodes {
            let Node::Unary(Func::Logistic, n) = *g.node(id) else {
                continue;
            };
            let Node::Unary(Func::Neg, a) = *g.node(n) else {
                continue;
            };
            let Some(&l) = logistic_of.get(&a).filter(|l| partner.contains_key(l)) else {
                continue;
            };
            // The pair's instruction runs at the first of its two nodes,
            // which must come before anything reads logistic(-a).
            let pair_at = position[&l].min(position[&partner[&l]]);
            let free_standing = ![id, n].iter().any(|x| inlined.contains(x));
            if read_once(n)
                && free_standing
                && !partner.contains_key(&id)
                && position[&id] > pair_at
            {
                mirror.entry(a).or_insert(id);
            }
        }
        absorbed.extend(mirror.values().map(|m| match *g.node(*m) {
            Node::Unary(_, n) => n,
            _ => unreachable!("a mirror is a logistic"),
        }));

        // The operands an instruction reads: those of an inlined child
        // count as read by its reader.
        // (a sum or difference and its inlined product: the product's
        // operands in place of the product)
        let with_product = |id: NodeId, m: Option<&NodeId>| -> Vec<NodeId> {
            match m {
                Some(m) => {
                    let mut ops: Vec<NodeId> =
                        g.children(id).into_iter().filter(|c| c != m).collect();
                    ops.extend(g.children(*m));
                    ops
                }
                None => g.children(id),
            }
        };
        let operands = |id: NodeId| -> Vec<NodeId> {
            match g.node(id) {
                Node::Sum(a) if fused.contains(a) => with_product(*a, sum_product_of.get(a)),
                _ => with_product(id, product_of.get(&id)),
            }
        };
        let mut last_use: HashMap<NodeId, usize> = HashMap::default();
        for (i, &id) in row_nodes.iter().enumerate() {
            if inlined.contains(&id) {
                continue;
            }
            for c in operands(id) {
                if position.contains_key(&c) {
                    last_use.insert(c, i);
                }
            }
        }
        for r in row_outputs {
            last_use.insert(*r, usize::MAX);
        }

        Plan {
            fused,
            product_of,
            sum_product_of,
            inlined,
            weight_of,
            absorbed,
            partner,
            mirror,
            last_use,
            n_readers,
        }
    }

    /// The divisor of the division the instruction at node `id` performs:
    /// its own node's, or that of the binary node fused into its sum.
    pub fn division_at(&self, g: &Graph, id: NodeId) -> Option<NodeId> {
        let node = match g.node(id) {
            Node::Sum(a) if self.fused.contains(a) => *a,
            _ => id,
        };
        match *g.node(node) {
            Node::Binary(BinOp::Div, _, d) => Some(d),
            _ => None,
        }
    }
}
