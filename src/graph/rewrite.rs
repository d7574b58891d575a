//! Rewrites of a graph for evaluation only: the same values in cheaper
//! operations, on a copy, so that what `nll explain` and `nll compile` print
//! keeps the form the model was written in.

use rustc_hash::FxHashMap as HashMap;

use super::{BinOp, Func, Graph, Node, NodeId};

impl Graph {
    /// A copy of the graph in which every division by exp(u)^k (k a
    /// constant, u a row value depending on a parameter) is a
    /// multiplication by exp(-k u), with each root of `root_sets` mapped to
    /// its node in the copy; `None` when there is no such division.
    ///
    ///   a / exp(u)^k = a exp(-k u)
    ///
    /// A Gaussian scale model, sigma = exp(g), divides several terms by
    /// sigma^2 (the NLL's r^2 / (2 sigma^2) and the gradient's r / sigma^2
    /// and x r / sigma^2): an exp, a square and a division per row become one
    /// exp of -2 g. The rounding differs: exp(-k u) is within a few ulps of
    /// the exact value (the evaluator's exp), where 1 / exp(u)^k rounds the
    /// exp, the power and the quotient in turn.
    pub fn with_exp_divisions_as_products(
        &self,
        root_sets: &[&[NodeId]],
    ) -> Option<(Graph, Vec<Vec<NodeId>>)> {
        let all_roots: Vec<NodeId> = root_sets.iter().flat_map(|r| r.iter().copied()).collect();
        let reachable = self.reachable(&all_roots);
        if !reachable.iter().any(|&id| self.exp_power(id).is_some()) {
            return None;
        }
        let mut g = self.clone();
        let mut map: HashMap<NodeId, NodeId> = HashMap::default();
        // Ids grow from children to parents, so each child is mapped first.
        for &id in &reachable {
            let m = |c: &NodeId| map.get(c).copied().unwrap_or(*c);
            let new = match self.node(id).clone() {
                Node::Binary(BinOp::Div, a, _) if self.exp_power(id).is_some() => {
                    let (u, k) = self.exp_power(id).expect("checked just above");
                    let scale = g.constant(-k);
                    let exponent = g.binary(BinOp::Mul, scale, m(&u));
                    let factor = g.unary(Func::Exp, exponent);
                    g.binary(BinOp::Mul, m(&a), factor)
                }
                Node::Unary(f, a) if map.contains_key(&a) => g.unary(f, m(&a)),
                Node::Binary(op, a, b) if map.contains_key(&a) || map.contains_key(&b) => {
                    g.binary(op, m(&a), m(&b))
                }
                Node::Sum(a) if map.contains_key(&a) => g.intern(Node::Sum(m(&a))),
                Node::Select { col, items } if items.iter().any(|i| map.contains_key(i)) => {
                    g.select(col, items.iter().map(m).collect())
                }
                Node::LogSumExp(items) if items.iter().any(|i| map.contains_key(i)) => {
                    g.log_sum_exp(items.iter().map(m).collect())
                }
                _ => continue,
            };
            map.insert(id, new);
        }
        let mapped = root_sets
            .iter()
            .map(|roots| {
                roots
                    .iter()
                    .map(|r| map.get(r).copied().unwrap_or(*r))
                    .collect()
            })
            .collect();
        Some((g, mapped))
    }

    /// (u, k) when `id` is a / exp(u)^k (or a / exp(u), k = 1) with u a row
    /// node depending on a parameter.
    fn exp_power(&self, id: NodeId) -> Option<(NodeId, f64)> {
        let Node::Binary(BinOp::Div, _, d) = *self.node(id) else {
            return None;
        };
        let (e, k) = match *self.node(d) {
            Node::Binary(BinOp::Pow, e, k) => (e, self.as_const(k)?),
            _ => (d, 1.0),
        };
        let Node::Unary(Func::Exp, u) = *self.node(e) else {
            return None;
        };
        // A scalar divisor is already a multiplication by its reciprocal,
        // computed once per evaluation; only a divisor that varies by row
        // costs a division per row.
        let varies = self.is_row(u) && !self.info(u).params.is_empty();
        (varies && k.is_finite()).then_some((u, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::apply_binary;

    /// One row's value: theta and the row's data columns.
    fn value(g: &Graph, id: NodeId, theta: &[f64], row: &[f64]) -> f64 {
        match g.node(id) {
            Node::Const(bits) => f64::from_bits(*bits),
            Node::Param(k) => theta[*k as usize],
            Node::Data(c) => row[*c as usize],
            Node::Unary(f, a) => f.apply(value(g, *a, theta, row)),
            Node::Binary(op, a, b) => {
                apply_binary(*op, value(g, *a, theta, row), value(g, *b, theta, row))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn divisions(g: &Graph, roots: &[NodeId]) -> usize {
        g.reachable(roots)
            .iter()
            .filter(|id| matches!(g.node(**id), Node::Binary(BinOp::Div, ..)))
            .count()
    }

    #[test]
    fn divisions_by_a_power_of_exp_become_products() {
        // r / exp(c + d x)^2 and r^2 / exp(c + d x)^2, as a Gaussian scale
        // model's gradient has them, and r / exp(c + d x).
        let mut g = Graph::new();
        let (c, d, x, y) = (g.param(0), g.param(1), g.data(0), g.data(1));
        let dx = g.binary(BinOp::Mul, d, x);
        let u = g.binary(BinOp::Add, c, dx);
        let sigma = g.unary(Func::Exp, u);
        let two = g.constant(2.0);
        let var = g.binary(BinOp::Pow, sigma, two);
        let r = g.binary(BinOp::Sub, y, c);
        let q1 = g.binary(BinOp::Div, r, var);
        let r2 = g.binary(BinOp::Pow, r, two);
        let q2 = g.binary(BinOp::Div, r2, var);
        let q3 = g.binary(BinOp::Div, r, sigma);
        // A row value over exp of a parameter alone: a scalar divisor, left
        // as it is (computed once per evaluation).
        let scalar = g.unary(Func::Exp, c);
        let q4 = g.binary(BinOp::Div, r, scalar);
        let rows = [q1, q2, q3];

        let (h, roots) = g
            .with_exp_divisions_as_products(&[&rows, &[q4]])
            .expect("there are divisions by exp");
        assert_eq!(divisions(&g, &rows), 3);
        assert_eq!(divisions(&h, &roots[0]), 0);
        assert_eq!(roots[1], vec![q4]);
        for (old, new) in rows.iter().zip(&roots[0]) {
            for (theta, row) in [([0.3, -0.8], [1.7, -2.1]), ([-1.2, 0.4], [0.0, 3.5])] {
                let (a, b) = (value(&g, *old, &theta, &row), value(&h, *new, &theta, &row));
                // A few roundings apart.
                assert!((a - b).abs() <= 1e-14 * a.abs(), "{a} {b}");
            }
        }
        // Nothing to do: no copy.
        assert!(g.with_exp_divisions_as_products(&[&[r, q4]]).is_none());
    }
}
