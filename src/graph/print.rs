//! A stable text dump of graph nodes, one `%id = op(args)` line per node in
//! id order, for debugging and snapshot tests.

use std::fmt::Write;

use super::{Graph, Node, NodeId};

impl Graph {
    /// One line per node reachable from `roots`, in id order.
    pub fn dump(&self, roots: &[NodeId]) -> String {
        let mut out = String::new();
        for id in self.reachable(roots) {
            let _ = writeln!(out, "%{} = {}", id.0, self.describe(id));
        }
        out
    }

    /// The operation of one node with its operands as `%id` references.
    pub fn describe(&self, id: NodeId) -> String {
        let r = |n: &NodeId| format!("%{}", n.0);
        let list = |items: &[NodeId]| items.iter().map(r).collect::<Vec<_>>().join(", ");
        match self.node(id) {
            Node::Const(bits) => format!("{}", f64::from_bits(*bits)),
            Node::Param(k) => format!("theta[{k}]"),
            Node::RowCount => "n".to_string(),
            Node::Data(c) => format!("col[{c}]"),
            Node::Level { col, level } => format!("level(col[{col}]) == {level}"),
            Node::Select { col, items } => format!("select(col[{col}]; {})", list(items)),
            Node::Unary(f, a) => format!("{}({})", f.name(), r(a)),
            Node::Binary(op, a, b) => format!("{} {} {}", r(a), op.symbol(), r(b)),
            Node::LogSumExp(items) => format!("logsumexp({})", list(items)),
            Node::Sum(a) => format!("sum_i {}", r(a)),
        }
    }
}
