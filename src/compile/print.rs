//! The compiled model as stable text: the parameter transforms, the graph
//! nodes, and which node is each statement's term, the NLL, each gradient
//! component and each Hessian entry.
//!
//! Nodes are renumbered `%0, %1, ...` in graph order among those printed, so
//! the text is the same on every run and machine, and a small change of the
//! model changes a few lines.

use std::collections::HashMap;
use std::fmt::Write;

use super::Compiled;
use crate::graph::{Node, NodeId};
use crate::model::Transform;

/// Which parts of the compiled model to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Show {
    pub nll: bool,
    pub grad: bool,
    pub hess: bool,
}

impl Default for Show {
    fn default() -> Self {
        Show {
            nll: true,
            grad: true,
            hess: false,
        }
    }
}

impl Show {
    /// Parses a comma-separated list of `nll`, `grad`, `hess`, `all`.
    pub fn parse(text: &str) -> Result<Show, String> {
        let mut show = Show {
            nll: false,
            grad: false,
            hess: false,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "nll" => show.nll = true,
                "grad" => show.grad = true,
                "hess" => show.hess = true,
                "all" => {
                    show = Show {
                        nll: true,
                        grad: true,
                        hess: true,
                    }
                }
                other => {
                    return Err(format!(
                        "unknown part `{other}`: expected nll, grad, hess or all"
                    ))
                }
            }
        }
        Ok(show)
    }
}

impl Compiled {
    /// The compiled model as text; see the module documentation.
    pub fn to_text(&self, show: Show) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# parameters: natural value from theta, the unconstrained vector the optimizer sees"
        );
        for (k, p) in self.params.iter().enumerate() {
            let t = match p.transform {
                Transform::Identity => format!("theta[{k}]"),
                Transform::Lower(lo) if lo == 0.0 => format!("exp(theta[{k}])"),
                Transform::Lower(lo) => format!("{} + exp(theta[{k}])", num(lo)),
                Transform::Upper(hi) => format!("{} - exp(theta[{k}])", num(hi)),
                Transform::Interval(lo, hi) => {
                    format!("{} + {} * logistic(theta[{k}])", num(lo), num(hi - lo))
                }
            };
            let _ = writeln!(out, "{} = {t}", p.name);
        }
        if let Some(k) = self.smoothing_index {
            let _ = writeln!(
                out,
                "delta = theta[{k}]  (smoothing width of |.|, shrunk to ~0 while fitting)"
            );
        }

        // Roots to print, with their labels.
        let mut roots: Vec<(String, NodeId)> = Vec::new();
        if show.nll {
            for (i, s) in self.statements.iter().enumerate() {
                let how = if s.is_prior {
                    "added once"
                } else {
                    "summed over rows"
                };
                roots.push((format!("term[{}] {} ({how})", i + 1, s.family.name), s.term));
            }
            roots.push(("nll".to_string(), self.nll));
        }
        if show.grad {
            for (k, p) in self.params.iter().enumerate() {
                roots.push((format!("grad[{}]", p.name), self.grad[k]));
            }
        }
        if show.hess {
            for k in 0..self.params.len() {
                for l in 0..=k {
                    let label = format!("hess[{}, {}]", self.params[k].name, self.params[l].name);
                    roots.push((label, self.hess[Compiled::hess_index(k, l)]));
                }
            }
        }

        let ids: Vec<NodeId> = roots.iter().map(|(_, id)| *id).collect();
        let order = self.graph.reachable(&ids);
        let number: HashMap<NodeId, usize> =
            order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let _ = writeln!(
            out,
            "\n# graph: {} nodes (each shared subexpression once)",
            order.len()
        );
        for id in &order {
            let _ = writeln!(
                out,
                "%{} = {}",
                number[id],
                self.describe_node(*id, &number)
            );
        }
        let _ = writeln!(out, "\n# results (grad[p] and hess[p, q] are derivatives with respect to theta, the unconstrained coordinates)");
        for (label, id) in &roots {
            let _ = writeln!(out, "{label} = %{}", number[id]);
        }
        out
    }

    fn describe_node(&self, id: NodeId, number: &HashMap<NodeId, usize>) -> String {
        let r = |n: &NodeId| format!("%{}", number[n]);
        let list = |items: &[NodeId]| items.iter().map(r).collect::<Vec<_>>().join(", ");
        let factor = |c: &u32| {
            self.factor_names
                .get(*c as usize)
                .cloned()
                .unwrap_or_else(|| format!("factor{c}"))
        };
        match self.graph.node(id) {
            Node::Const(bits) => num(f64::from_bits(*bits)),
            Node::Param(k) => match self.params.get(*k as usize) {
                Some(p) => format!("theta[{k}]  ({})", p.name),
                None => format!("theta[{k}]  (delta)"),
            },
            Node::RowCount => "n  (number of rows)".to_string(),
            Node::Data(c) => {
                let name = self
                    .real_names
                    .get(*c as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("col{c}"));
                format!("{name}_i")
            }
            Node::Level { col, level } => format!("[{}_i == level {}]", factor(col), level + 1),
            Node::Select { col, items } => format!("select by {}_i ({})", factor(col), list(items)),
            Node::Unary(f, a) => format!("{}({})", f.name(), r(a)),
            Node::Binary(op, a, b) => format!("{} {} {}", r(a), op.symbol(), r(b)),
            Node::LogSumExp(items) => format!("logsumexp({})", list(items)),
            Node::Sum(a) => format!("sum_i {}", r(a)),
        }
    }
}

/// A number in the shortest form that reads back to the same value.
fn num(v: f64) -> String {
    format!("{v:?}")
}
