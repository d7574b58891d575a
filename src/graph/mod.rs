//! The hash-consed expression graph of a model's negative log-likelihood.
//!
//! A [`Graph`] is a DAG of [`Node`]s in which every distinct node exists once:
//! [`Graph::intern`] returns the existing id for a node that is already there
//! (hash-consing), so shared subexpressions are shared by construction. Every
//! child id is smaller than its parent's id, so id order is a topological
//! order; the evaluator and the printer rely on that.
//!
//! Nodes are either *scalar* (one value per evaluation: parameters, constants
//! and expressions of them) or *row* nodes (one value per data row: columns
//! and anything computed from them). A [`Node::Sum`] reduces a row node to a
//! scalar. The NLL, each component of its gradient and each Hessian entry are
//! scalar nodes of the same graph; `diff` derives them symbolically.
//!
//! The smart constructors ([`Graph::add`], [`Graph::mul`], ...) simplify as
//! they build: constant folding, neutral and absorbing elements, and pulling
//! scalar factors out of row sums. The graph knows nothing of the surface
//! language; `compile` lowers a checked model into it.

mod diff;
pub mod func;
mod infix;
mod print;

use std::sync::Arc;

// Fx hashing: the graph hashes every node it builds, and SipHash was most of
// the compile time of a 200-parameter model's Hessian.
use rustc_hash::FxHashMap as HashMap;

pub use func::Func;
pub use infix::{Infix, Label, Names, Prec};

/// The index of a node in its [`Graph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// Binary operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinOp {
    /// The operator as written in formulas: `+`, `-`, `*`, `/`, `^`.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// A constant, stored as its bit pattern so nodes can be hashed.
    Const(u64),
    /// Component `k` of the unconstrained parameter vector theta.
    Param(u32),
    /// The number of data rows, a scalar.
    RowCount,
    /// Real data column `c` (row node).
    Data(u32),
    /// 1 where factor column `col` has level `level`, else 0 (row node).
    Level {
        col: u32,
        level: u32,
    },
    /// Per row, the item chosen by the level of factor column `col`.
    Select {
        col: u32,
        items: Vec<NodeId>,
    },
    Unary(Func, NodeId),
    Binary(BinOp, NodeId, NodeId),
    /// log(sum_k exp(item_k)), evaluated with the maximum taken out.
    LogSumExp(Vec<NodeId>),
    /// The sum over rows of a row node: a scalar.
    Sum(NodeId),
}

/// What is known about a node without evaluating it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// True for row nodes.
    pub is_row: bool,
    /// The parameters the node depends on, as a sorted list of indices.
    /// Shared with a child whose list is the same (the usual case), so a
    /// graph over many parameters does not hold a copy per node.
    pub params: Arc<[u32]>,
}

/// A hash-consed expression DAG.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
    info: Vec<NodeInfo>,
    index: HashMap<Node, NodeId>,
    diff_memo: HashMap<(NodeId, u32), NodeId>,
    /// The scalar node holding the smoothing width of kinks such as |r|,
    /// when the compiler provides one (see `smooth_abs`).
    smoothing: Option<NodeId>,
    /// True for a graph built without any simplification, to measure what
    /// the simplifier saves and to check that it preserves values.
    raw: bool,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// A graph whose constructors only intern, with no simplification.
    pub fn new_unsimplified() -> Graph {
        Graph {
            raw: true,
            ..Graph::default()
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.idx()]
    }

    pub fn info(&self, id: NodeId) -> &NodeInfo {
        &self.info[id.idx()]
    }

    pub fn is_row(&self, id: NodeId) -> bool {
        self.info[id.idx()].is_row
    }

    /// True when the node depends on parameter `k`.
    pub fn depends_on(&self, id: NodeId, k: u32) -> bool {
        self.info[id.idx()].params.binary_search(&k).is_ok()
    }

    /// The constant value of a node, if it is a constant.
    pub fn as_const(&self, id: NodeId) -> Option<f64> {
        match self.nodes[id.idx()] {
            Node::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    fn is_const(&self, id: NodeId, value: f64) -> bool {
        self.as_const(id) == Some(value)
    }

    /// Returns the id of `node`, adding it if it is new. This is the only
    /// place nodes are created, which is what makes the graph hash-consed.
    pub fn intern(&mut self, node: Node) -> NodeId {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let info = self.compute_info(&node);
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(node.clone());
        self.info.push(info);
        self.index.insert(node, id);
        id
    }

    fn compute_info(&self, node: &Node) -> NodeInfo {
        let children_info = |ids: &[NodeId], is_row: bool| {
            debug_assert!(
                ids.iter().all(|c| c.idx() < self.nodes.len()),
                "child must exist before parent"
            );
            let is_row = is_row || ids.iter().any(|c| self.info[c.idx()].is_row);
            let lists: Vec<&Arc<[u32]>> = ids.iter().map(|c| &self.info[c.idx()].params).collect();
            NodeInfo {
                is_row,
                params: union_sorted(&lists),
            }
        };
        match node {
            Node::Const(_) | Node::RowCount => NodeInfo {
                is_row: false,
                params: Arc::from([]),
            },
            Node::Param(k) => NodeInfo {
                is_row: false,
                params: Arc::from([*k]),
            },
            Node::Data(_) | Node::Level { .. } => NodeInfo {
                is_row: true,
                params: Arc::from([]),
            },
            Node::Select { items, .. } => children_info(items, true),
            Node::Unary(_, a) => children_info(&[*a], false),
            Node::Binary(_, a, b) => children_info(&[*a, *b], false),
            Node::LogSumExp(items) => children_info(items, false),
            Node::Sum(a) => {
                let mut info = children_info(&[*a], false);
                info.is_row = false;
                info
            }
        }
    }

    // ---- Leaves -------------------------------------------------------------

    pub fn constant(&mut self, value: f64) -> NodeId {
        // One bit pattern for zero and for NaN, so equal values intern once.
        let value = if value == 0.0 {
            0.0
        } else if value.is_nan() {
            f64::NAN
        } else {
            value
        };
        self.intern(Node::Const(value.to_bits()))
    }

    pub fn param(&mut self, k: u32) -> NodeId {
        self.intern(Node::Param(k))
    }

    pub fn row_count(&mut self) -> NodeId {
        self.intern(Node::RowCount)
    }

    pub fn data(&mut self, col: u32) -> NodeId {
        self.intern(Node::Data(col))
    }

    pub fn level(&mut self, col: u32, level: u32) -> NodeId {
        self.intern(Node::Level { col, level })
    }

    // ---- Simplifying constructors -------------------------------------------

    /// Per row, `items[level of col]`.
    ///
    /// Simplifies: all items equal -> that item; items that are 1 at one
    /// level and 0 elsewhere -> the level indicator.
    pub fn select(&mut self, col: u32, items: Vec<NodeId>) -> NodeId {
        if self.raw {
            return self.intern(Node::Select { col, items });
        }
        if let Some(first) = items.first() {
            if items.iter().all(|i| i == first) {
                return *first;
            }
        }
        let n_ones = items.iter().filter(|i| self.is_const(**i, 1.0)).count();
        let n_zeros = items.iter().filter(|i| self.is_const(**i, 0.0)).count();
        if n_ones == 1 && n_zeros + 1 == items.len() {
            let level = items
                .iter()
                .position(|i| self.is_const(*i, 1.0))
                .unwrap_or(0);
            return self.level(col, level as u32);
        }
        self.intern(Node::Select { col, items })
    }

    pub fn unary(&mut self, f: Func, a: NodeId) -> NodeId {
        if self.raw {
            return self.intern(Node::Unary(f, a));
        }
        if let Some(x) = self.as_const(a) {
            return self.constant(f.apply(x));
        }
        match (f, self.node(a).clone()) {
            // -(-u) = u
            (Func::Neg, Node::Unary(Func::Neg, u)) => return u,
            // log(exp(u)) = u, for every real u.
            (Func::Log, Node::Unary(Func::Exp, u)) => return u,
            // log(logistic(u)) = -softplus(-u): never log(0) for large -u.
            (Func::Log, Node::Unary(Func::Logistic, u)) => {
                let neg_u = self.neg(u);
                let sp = self.unary(Func::Softplus, neg_u);
                return self.neg(sp);
            }
            // log1p(-logistic(u)) = log(logistic(-u)) = -softplus(u): once
            // logistic(u) rounds to 1 (u above 37) the log1p is -inf, while
            // the softplus keeps the value -u.
            (Func::Log1p, Node::Unary(Func::Neg, v)) => {
                if let Node::Unary(Func::Logistic, u) = *self.node(v) {
                    let sp = self.unary(Func::Softplus, u);
                    return self.neg(sp);
                }
            }
            // exp(log(u)) = u, only where u > 0 is known.
            (Func::Exp, Node::Unary(Func::Log, u)) if self.is_positive(u) => return u,
            // log(exp(u1) + exp(u2) + ...) = log-sum-exp, with the maximum
            // taken out when evaluated, so it never overflows.
            (Func::Log, Node::Binary(BinOp::Add, _, _)) if self.exp_terms(a).is_some() => {
                let items = self.exp_terms(a).unwrap_or_default();
                return self.log_sum_exp(items);
            }
            // log(1 + u) = log1p(u), accurate for small u.
            (Func::Log, Node::Binary(BinOp::Add, x, y)) if self.is_const(x, 1.0) => {
                return self.unary(Func::Log1p, y);
            }
            // abs(abs(u)) = abs(u)
            (Func::Abs, Node::Unary(Func::Abs, u)) => return self.unary(Func::Abs, u),
            _ => {}
        }
        self.intern(Node::Unary(f, a))
    }

    /// For a sum of exponentials exp(u1) + exp(u2) + ..., the exponents.
    fn exp_terms(&self, id: NodeId) -> Option<Vec<NodeId>> {
        match *self.node(id) {
            Node::Unary(Func::Exp, u) => Some(vec![u]),
            Node::Binary(BinOp::Add, a, b) => {
                let mut terms = self.exp_terms(a)?;
                terms.extend(self.exp_terms(b)?);
                Some(terms)
            }
            _ => None,
        }
    }

    pub fn neg(&mut self, a: NodeId) -> NodeId {
        self.unary(Func::Neg, a)
    }

    /// Orders the operands of a commutative operation: constants first, then
    /// by id, so `a + b` and `b + a` intern to the same node.
    fn commute(&self, a: NodeId, b: NodeId) -> (NodeId, NodeId) {
        let key = |id: NodeId| (self.as_const(id).is_none(), id);
        if key(a) <= key(b) {
            (a, b)
        } else {
            (b, a)
        }
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.raw {
            return self.intern(Node::Binary(BinOp::Add, a, b));
        }
        let (a, b) = self.commute(a, b);
        match (self.as_const(a), self.as_const(b)) {
            (Some(x), Some(y)) => return self.constant(x + y),
            (Some(x), None) if x == 0.0 => return b,
            _ => {}
        }
        // u + (-v) = u - v
        if let Node::Unary(Func::Neg, v) = *self.node(b) {
            return self.sub(a, v);
        }
        if let Node::Unary(Func::Neg, v) = *self.node(a) {
            return self.sub(b, v);
        }
        // c1 u + c2 u = (c1 + c2) u
        let (ca, ua) = self.split_coefficient(a);
        let (cb, ub) = self.split_coefficient(b);
        if ua == ub {
            let k = self.constant(ca + cb);
            return self.mul(k, ua);
        }
        if let Some(factored) = self.factor_common(BinOp::Add, a, b) {
            return factored;
        }
        self.intern(Node::Binary(BinOp::Add, a, b))
    }

    /// Takes a common row factor out of a sum or difference of two products:
    ///   u w + v w = (u + v) w,   u w - v w = (u - v) w.
    /// The distributive law holds for all reals. It matters for derivatives:
    /// d/d beta_j of softplus(eta) - y eta is x_j logistic(eta) - x_j y,
    /// which becomes x_j (logistic(eta) - y); the difference is then shared
    /// by every coefficient, and no product of data columns (x_j y) is left
    /// to be stored and read on every evaluation. Only row factors are
    /// taken out, so scalar products keep the form sums pull factors from.
    fn factor_common(&mut self, op: BinOp, a: NodeId, b: NodeId) -> Option<NodeId> {
        // The common factor alone on one side: u - v u = (1 - v) u, and
        // v u - u = (v - 1) u (a softmax's Hessian has p (x - p x); as
        // (p (1 - p)) x it shares p (1 - p) across a block of entries).
        let other_factor = |g: &Graph, prod: NodeId, u: NodeId| match *g.node(prod) {
            Node::Binary(BinOp::Mul, p1, p2) if p1 == u => Some(p2),
            Node::Binary(BinOp::Mul, p1, p2) if p2 == u => Some(p1),
            _ => None,
        };
        if self.is_row(a) {
            if let Some(v) = other_factor(self, b, a) {
                let one = self.constant(1.0);
                let rest = self.binary(op, one, v);
                return Some(self.mul(rest, a));
            }
        }
        if self.is_row(b) {
            if let Some(v) = other_factor(self, a, b) {
                let one = self.constant(1.0);
                let rest = self.binary(op, v, one);
                return Some(self.mul(rest, b));
            }
        }
        let (Node::Binary(BinOp::Mul, a1, a2), Node::Binary(BinOp::Mul, b1, b2)) =
            (self.node(a).clone(), self.node(b).clone())
        else {
            return None;
        };
        let (common, u, v) = if a1 == b1 {
            (a1, a2, b2)
        } else if a1 == b2 {
            (a1, a2, b1)
        } else if a2 == b1 {
            (a2, a1, b2)
        } else if a2 == b2 {
            (a2, a1, b1)
        } else {
            return None;
        };
        if !self.is_row(common) {
            return None;
        }
        let rest = self.binary(op, u, v);
        Some(self.mul(common, rest))
    }

    pub fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.raw {
            return self.intern(Node::Binary(BinOp::Sub, a, b));
        }
        match (self.as_const(a), self.as_const(b)) {
            (Some(x), Some(y)) => return self.constant(x - y),
            (_, Some(y)) if y == 0.0 => return a,
            (Some(x), _) if x == 0.0 => return self.neg(b),
            _ => {}
        }
        // u - (-v) = u + v
        if let Node::Unary(Func::Neg, v) = *self.node(b) {
            return self.add(a, v);
        }
        // 1 - logistic(u) = logistic(-u): no cancellation when logistic(u)
        // is close to 1, and log(1 - logistic(u)) then becomes -softplus(u).
        if let (Some(x), Node::Unary(Func::Logistic, u)) = (self.as_const(a), self.node(b).clone())
        {
            if x == 1.0 {
                let neg_u = self.neg(u);
                return self.unary(Func::Logistic, neg_u);
            }
        }
        // c1 u - c2 u = (c1 - c2) u; in particular u - u = 0 (for finite u:
        // NaN and infinities show in the operands wherever they occur).
        let (ca, ua) = self.split_coefficient(a);
        let (cb, ub) = self.split_coefficient(b);
        if ua == ub {
            let k = self.constant(ca - cb);
            return self.mul(k, ua);
        }
        if let Some(factored) = self.factor_common(BinOp::Sub, a, b) {
            return factored;
        }
        self.intern(Node::Binary(BinOp::Sub, a, b))
    }

    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.raw {
            return self.intern(Node::Binary(BinOp::Mul, a, b));
        }
        let (a, b) = self.commute(a, b);
        match (self.as_const(a), self.as_const(b)) {
            (Some(x), Some(y)) => return self.constant(x * y),
            // 0 * u = 0: derivative terms multiplied by a zero derivative
            // vanish; u is finite wherever the model is defined.
            (Some(x), None) if x == 0.0 => return a,
            (Some(x), None) if x == 1.0 => return b,
            (Some(x), None) if x == -1.0 => return self.neg(b),
            _ => {}
        }
        let (ca, fa) = self.monomial(a);
        let (cb, fb) = self.monomial(b);
        self.build_monomial(ca * cb, fa, fb)
    }

    pub fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.raw {
            return self.intern(Node::Binary(BinOp::Div, a, b));
        }
        match (self.as_const(a), self.as_const(b)) {
            (Some(x), Some(y)) => return self.constant(x / y),
            (Some(x), None) if x == 0.0 => return a,
            (_, Some(y)) if y == 1.0 => return a,
            (_, Some(y)) if y == -1.0 => return self.neg(a),
            _ => {}
        }
        let (ca, fa) = self.monomial(a);
        let (cb, mut fb) = self.monomial(b);
        fb.iter_mut().for_each(|f| f.1 = -f.1);
        self.build_monomial(ca / cb, fa, fb)
    }

    /// Splits a node into a constant coefficient and the rest:
    /// `c * u -> (c, u)`, `-u -> (-1, u)`, anything else `(1, node)`.
    fn split_coefficient(&self, id: NodeId) -> (f64, NodeId) {
        match *self.node(id) {
            Node::Binary(BinOp::Mul, k, u) if self.as_const(k).is_some() => {
                (self.as_const(k).unwrap_or(1.0), u)
            }
            Node::Unary(Func::Neg, u) => {
                let (c, v) = self.split_coefficient(u);
                (-c, v)
            }
            _ => (1.0, id),
        }
    }

    /// True when the node is known to be positive wherever it is defined.
    pub fn is_positive(&self, id: NodeId) -> bool {
        match *self.node(id) {
            Node::Const(bits) => f64::from_bits(bits) > 0.0,
            Node::RowCount => true,
            Node::Unary(Func::Exp | Func::Logistic | Func::Softplus, _) => true,
            Node::Binary(BinOp::Add | BinOp::Mul | BinOp::Div, a, b) => {
                self.is_positive(a) && self.is_positive(b)
            }
            Node::Binary(BinOp::Pow, a, _) => self.is_positive(a),
            _ => false,
        }
    }

    /// Writes a product as `c * prod_j base_j^e_j` with integer exponents.
    /// Products, quotients, negations and integer powers are looked through;
    /// anything else is a base of its own.
    fn monomial(&self, id: NodeId) -> (f64, Vec<(NodeId, i32)>) {
        match *self.node(id) {
            Node::Const(bits) => (f64::from_bits(bits), Vec::new()),
            Node::Unary(Func::Neg, u) => {
                let (c, f) = self.monomial(u);
                (-c, f)
            }
            Node::Binary(BinOp::Mul, u, v) => {
                let (cu, mut fu) = self.monomial(u);
                let (cv, fv) = self.monomial(v);
                fu.extend(fv);
                (cu * cv, fu)
            }
            Node::Binary(BinOp::Div, u, v) => {
                let (cu, mut fu) = self.monomial(u);
                let (cv, fv) = self.monomial(v);
                fu.extend(fv.into_iter().map(|(b, e)| (b, -e)));
                (cu / cv, fu)
            }
            Node::Binary(BinOp::Pow, u, k) => match self.as_const(k) {
                Some(e) if e.fract() == 0.0 && e.abs() <= MAX_COLLECTED_EXPONENT => {
                    (1.0, vec![(u, e as i32)])
                }
                _ => (1.0, vec![(id, 1)]),
            },
            _ => (1.0, vec![(id, 1)]),
        }
    }

    /// Builds `c * prod base^e` canonically: exponents of equal bases added
    /// (u^j u^k = u^(j+k) for integers j, k, and u/u = 1 for u != 0), bases
    /// in id order, positive powers over negative ones:
    ///   c * (u1^e1 * u2^e2 ...) / (v1^f1 * ...).
    fn build_monomial(&mut self, c: f64, fa: Vec<(NodeId, i32)>, fb: Vec<(NodeId, i32)>) -> NodeId {
        // A zero coefficient absorbs the product (its factors are finite
        // wherever the model is defined); an infinite or NaN one came from a
        // constant division by zero and is kept visible as that constant.
        if c == 0.0 || !c.is_finite() {
            return self.constant(c);
        }
        let mut factors: Vec<(NodeId, i32)> = fa.into_iter().chain(fb).collect();
        // Factor order: level indicators (which rows a term is for), then
        // factors with parameters, then data, each by node. Products are
        // built left to right, so products that differ only in their data
        // share the parameter part: a Hessian entry sum_i w_i x_ij x_ik
        // reuses w_i (and w_i x_ij) across the entries of a row of the
        // Hessian instead of computing x_ij x_ik w_i from scratch each time.
        factors.sort_by_key(|f| {
            let class = match self.node(f.0) {
                Node::Level { .. } => 0,
                _ if !self.info(f.0).params.is_empty() => 1,
                _ => 2,
            };
            (class, f.0)
        });
        let mut merged: Vec<(NodeId, i32)> = Vec::new();
        for (b, e) in factors {
            match merged.last_mut() {
                Some(last) if last.0 == b => last.1 += e,
                _ => merged.push((b, e)),
            }
        }
        merged.retain(|f| f.1 != 0);

        // Level indicators of one factor: [g = k]^e = [g = k] for e > 0, and
        // [g = k] [g = l] = 0 for k != l (a row has one level). This keeps
        // the Hessian of per-level parameters sparse in effect: its
        // off-diagonal entries between levels fold to 0.
        let mut seen_level: Option<(u32, u32)> = None;
        for f in merged.iter_mut() {
            if let Node::Level { col, level } = *self.node(f.0) {
                if f.1 > 0 {
                    f.1 = 1;
                    match seen_level {
                        Some((c0, l0)) if c0 == col && l0 != level => return self.constant(0.0),
                        _ => seen_level = Some((col, level)),
                    }
                }
            }
        }

        // Data factors of the numerator go after the quotient when the
        // denominator has no data in it: (r^2 / s^2) x rather than
        // (r^2 x) / s^2, so the derivative with respect to a slope on x
        // reuses the quotient the NLL term and the other derivatives
        // compute (r / s^2, r^2 / s^2), and a sum of it reads the quotient
        // and the column. (Two roundings either way.)
        let is_data = |g: &Graph, b: NodeId| {
            !matches!(g.node(b), Node::Level { .. }) && g.info(b).params.is_empty()
        };
        let den_has_data = merged.iter().any(|f| f.1 < 0 && is_data(self, f.0));
        let (late, merged): (Vec<_>, Vec<_>) = merged
            .into_iter()
            .partition(|f| f.1 > 0 && !den_has_data && is_data(self, f.0));
        let mut num: Option<NodeId> = None;
        let mut den: Option<NodeId> = None;
        for (b, e) in merged {
            let (slot, k) = if e > 0 { (&mut num, e) } else { (&mut den, -e) };
            *slot = Some(self.times_factor(*slot, b, k));
        }
        let mut core = match (num, den) {
            (None, None) => None,
            (Some(n), None) => Some(n),
            (None, Some(d)) => {
                let one = self.constant(1.0);
                Some(self.intern(Node::Binary(BinOp::Div, one, d)))
            }
            (Some(n), Some(d)) => Some(self.intern(Node::Binary(BinOp::Div, n, d))),
        };
        for (b, e) in late {
            core = Some(self.times_factor(core, b, e));
        }
        let Some(core) = core else {
            return self.constant(c);
        };
        if c == 1.0 {
            core
        } else if c == -1.0 {
            self.intern(Node::Unary(Func::Neg, core))
        } else {
            let k = self.constant(c);
            self.intern(Node::Binary(BinOp::Mul, k, core))
        }
    }

    /// `acc * b^k` (or `b^k` without `acc`), a step of a monomial's
    /// product.
    fn times_factor(&mut self, acc: Option<NodeId>, b: NodeId, k: i32) -> NodeId {
        // The square of a data factor after a row value with parameters
        // in it, w_i x_ij^2, is built as (w_i x_ij) x_ij: the diagonal
        // entry of a Hessian then shares w_i x_ij with the entries
        // beside it, instead of squaring x_ij and multiplying again on
        // every evaluation. (Two roundings either way.)
        if let (2, Some(acc)) = (k, acc) {
            let data_only = self.info(b).params.is_empty();
            if data_only && self.is_row(acc) && !self.info(acc).params.is_empty() {
                let once = self.intern(Node::Binary(BinOp::Mul, acc, b));
                return self.intern(Node::Binary(BinOp::Mul, once, b));
            }
        }
        let power = if k == 1 {
            b
        } else {
            let kn = self.constant(k as f64);
            self.intern(Node::Binary(BinOp::Pow, b, kn))
        };
        match acc {
            None => power,
            Some(acc) => self.intern(Node::Binary(BinOp::Mul, acc, power)),
        }
    }

    pub fn pow(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.raw {
            return self.intern(Node::Binary(BinOp::Pow, a, b));
        }
        match (self.as_const(a), self.as_const(b)) {
            (Some(x), Some(y)) => return self.constant(x.powf(y)),
            (_, Some(y)) if y == 1.0 => return a,
            (_, Some(y)) if y == 0.0 => return self.constant(1.0),
            (_, Some(y)) if y == 0.5 => return self.unary(Func::Sqrt, a),
            _ => {}
        }
        // (u / v)^c = u^c / v^c for an integer c: the row part and the
        // scalar part of a quotient stay apart, so sums can pull out v^c.
        if let (Some(y), Node::Binary(BinOp::Div, u, v)) = (self.as_const(b), self.node(a).clone())
        {
            if y.fract() == 0.0 {
                let uc = self.pow(u, b);
                let vc = self.pow(v, b);
                return self.div(uc, vc);
            }
        }
        // (u^c1)^c2 = u^(c1 c2) holds for u > 0 or integer exponents; only
        // the integer case is rewritten so no sign information is lost.
        if let (Some(y), Node::Binary(BinOp::Pow, u, c)) = (self.as_const(b), self.node(a).clone())
        {
            if let Some(x) = self.as_const(c) {
                if x.fract() == 0.0 && y.fract() == 0.0 {
                    let k = self.constant(x * y);
                    return self.pow(u, k);
                }
            }
        }
        self.intern(Node::Binary(BinOp::Pow, a, b))
    }

    pub fn binary(&mut self, op: BinOp, a: NodeId, b: NodeId) -> NodeId {
        match op {
            BinOp::Add => self.add(a, b),
            BinOp::Sub => self.sub(a, b),
            BinOp::Mul => self.mul(a, b),
            BinOp::Div => self.div(a, b),
            BinOp::Pow => self.pow(a, b),
        }
    }

    /// log(sum_k exp(items_k)).
    pub fn log_sum_exp(&mut self, items: Vec<NodeId>) -> NodeId {
        if self.raw {
            return self.intern(Node::LogSumExp(items));
        }
        if items.len() == 1 {
            return items[0];
        }
        if items.iter().all(|i| self.as_const(*i).is_some()) {
            let vals: Vec<f64> = items.iter().filter_map(|i| self.as_const(*i)).collect();
            return self.constant(log_sum_exp(&vals));
        }
        self.intern(Node::LogSumExp(items))
    }

    /// Whether `a` is a factor level indicator, or one times data, or data
    /// chosen by a factor: [g_i = k], [g_i = k] x_i or (x_i if g_i = k,
    /// else 0), or a normalising term lgamma(...), with no parameter in it.
    ///
    /// [`Graph::sum`] splits sum_i (t_i - [g_i = k] x_i) into
    /// sum_i t_i - sum_i [g_i = k] x_i when t has parameters: the second sum
    /// is data only, so it is computed once, not on every evaluation, and
    /// the indicator products need not be kept as columns (a softmax
    /// gradient has one per class and covariate). Such a term is bounded by
    /// the data it selects, the size of t's terms at the optimum (the
    /// expected counts they match), so the split costs no accuracy. The
    /// lgamma terms of count likelihoods (log y! in a Poisson NLL) enter
    /// the NLL's value only, never a derivative, and a kept column of them
    /// would be read on every evaluation. A bare data column is not split
    /// off: in sum_i (y_i - mu_i) the observations may dwarf the residuals,
    /// and sum_i y_i - sum_i mu_i would lose the digits the residuals have.
    fn is_selected_data(&self, a: NodeId) -> bool {
        if !self.info(a).params.is_empty() {
            return false;
        }
        match *self.node(a) {
            Node::Level { .. } | Node::Select { .. } | Node::Unary(Func::Lgamma, _) => true,
            Node::Binary(BinOp::Mul, u, v) => {
                matches!(self.node(u), Node::Level { .. })
                    || matches!(self.node(v), Node::Level { .. })
            }
            _ => false,
        }
    }

    /// The sum over rows of `a`.
    ///
    /// Scalar parts are pulled out so the row loop does less work:
    ///   sum_i c = n c,  sum_i (c u_i) = c sum_i u_i,  sum_i (u_i / c) = (sum_i u_i) / c,
    ///   sum_i -u_i = -sum_i u_i,
    ///   sum_i (u_i + v_i) = sum_i u_i + sum_i v_i when either side is scalar,
    /// where a product or quotient is searched through for every scalar factor,
    /// and when one side is data of the kinds `Graph::is_selected_data`
    /// accepts and the other is not.
    pub fn sum(&mut self, a: NodeId) -> NodeId {
        if self.raw {
            return self.intern(Node::Sum(a));
        }
        if !self.is_row(a) {
            let n = self.row_count();
            return self.mul(n, a);
        }
        match *self.node(a) {
            Node::Unary(Func::Neg, u) => {
                let s = self.sum(u);
                self.neg(s)
            }
            Node::Binary(op @ (BinOp::Add | BinOp::Sub), u, v)
                if !self.is_row(u)
                    || !self.is_row(v)
                    || self.is_selected_data(u) != self.is_selected_data(v) =>
            {
                let su = self.sum(u);
                let sv = self.sum(v);
                self.binary(op, su, sv)
            }
            Node::Binary(BinOp::Mul | BinOp::Div, _, _) => match self.split_scalar_factor(a) {
                (Some(c), Some(row)) => {
                    let s = self.intern(Node::Sum(row));
                    self.mul(c, s)
                }
                _ => self.intern(Node::Sum(a)),
            },
            _ => self.intern(Node::Sum(a)),
        }
    }

    /// Splits a product or quotient into its scalar factor and its row factor:
    /// a = scalar * row, with `None` standing for 1.
    fn split_scalar_factor(&mut self, a: NodeId) -> (Option<NodeId>, Option<NodeId>) {
        if !self.is_row(a) {
            return (Some(a), None);
        }
        let mul_opt = |g: &mut Graph, x: Option<NodeId>, y: Option<NodeId>| match (x, y) {
            (Some(x), Some(y)) => Some(g.mul(x, y)),
            (x, None) => x,
            (None, y) => y,
        };
        match *self.node(a) {
            Node::Binary(BinOp::Mul, u, v) => {
                let (su, ru) = self.split_scalar_factor(u);
                let (sv, rv) = self.split_scalar_factor(v);
                let scalar = mul_opt(self, su, sv);
                let row = mul_opt(self, ru, rv);
                (scalar, row)
            }
            // u / c = (1/c) u for scalar c; u / w keeps w in the row part.
            Node::Binary(BinOp::Div, u, v) => {
                let (su, ru) = self.split_scalar_factor(u);
                if self.is_row(v) {
                    let num = match ru {
                        Some(r) => r,
                        None => self.constant(1.0),
                    };
                    (su, Some(self.div(num, v)))
                } else {
                    let num = match su {
                        Some(s) => s,
                        None => self.constant(1.0),
                    };
                    (Some(self.div(num, v)), ru)
                }
            }
            Node::Unary(Func::Neg, u) => {
                let (su, ru) = self.split_scalar_factor(u);
                let minus_one = self.constant(-1.0);
                (mul_opt(self, Some(minus_one), su), ru)
            }
            _ => (None, Some(a)),
        }
    }

    /// Declares the scalar node that holds the smoothing width delta.
    pub fn set_smoothing(&mut self, delta: NodeId) {
        self.smoothing = Some(delta);
    }

    /// The smoothing width node, if one was declared.
    pub fn smoothing(&self) -> Option<NodeId> {
        self.smoothing
    }

    /// |u|, smoothed when a smoothing width delta is declared:
    ///   |u| ~ sqrt(u^2 + delta^2),
    /// which is within delta of |u| everywhere, has the derivative
    /// u / sqrt(u^2 + delta^2) and a finite second derivative. The fit
    /// driver shrinks delta toward 0 in stages (a continuation), so the
    /// optimizer sees a smooth problem at every stage and the final
    /// estimate is that of the kinked objective to within delta.
    pub fn smooth_abs(&mut self, u: NodeId) -> NodeId {
        match self.smoothing {
            Some(delta) => {
                let two = self.constant(2.0);
                let u2 = self.pow(u, two);
                let d2 = self.pow(delta, two);
                let s = self.add(u2, d2);
                self.unary(Func::Sqrt, s)
            }
            None => self.unary(Func::Abs, u),
        }
    }

    /// d node / d theta_k, built symbolically and memoised.
    pub fn diff(&mut self, node: NodeId, k: u32) -> NodeId {
        diff::diff(self, node, k)
    }

    /// The nodes reachable from `roots`, in id (topological) order.
    pub fn reachable(&self, roots: &[NodeId]) -> Vec<NodeId> {
        self.reachable_until(roots, |_| false)
    }

    /// As [`Graph::reachable`], without going below the nodes for which
    /// `stop` holds (they are included, their children only when reached
    /// another way).
    pub fn reachable_until(&self, roots: &[NodeId], stop: impl Fn(NodeId) -> bool) -> Vec<NodeId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeId> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id.idx()], true) {
                continue;
            }
            if !stop(id) {
                stack.extend(self.children(id));
            }
        }
        (0..self.nodes.len())
            .filter(|i| seen[*i])
            .map(|i| NodeId(i as u32))
            .collect()
    }

    /// The direct children of a node.
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        match &self.nodes[id.idx()] {
            Node::Const(_)
            | Node::Param(_)
            | Node::RowCount
            | Node::Data(_)
            | Node::Level { .. } => {
                vec![]
            }
            Node::Select { items, .. } | Node::LogSumExp(items) => items.clone(),
            Node::Unary(_, a) | Node::Sum(a) => vec![*a],
            Node::Binary(_, a, b) => vec![*a, *b],
        }
    }
}

/// The sorted union of sorted lists without repeats. When the longest list
/// holds all the others, it is shared rather than copied: measured on a
/// 200-parameter logistic regression, sorting and copying these lists for
/// every node of the gradient and Hessian took most of the compile time.
fn union_sorted(lists: &[&Arc<[u32]>]) -> Arc<[u32]> {
    let Some(longest) = lists.iter().max_by_key(|l| l.len()) else {
        return Arc::from([]);
    };
    // Both lists are sorted: one walk through the longer decides.
    let is_subset = |small: &Arc<[u32]>| {
        if Arc::ptr_eq(small, longest) {
            return true;
        }
        let mut rest = longest.iter();
        small.iter().all(|k| rest.any(|l| l == k))
    };
    if lists.iter().all(|l| is_subset(l)) {
        return Arc::clone(longest);
    }
    let mut all: Vec<u32> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    Arc::from(all)
}

/// Integer powers up to this magnitude are collected by the product
/// simplifier; larger ones stay as they are (they overflow easily and are
/// rare in likelihoods).
const MAX_COLLECTED_EXPONENT: f64 = 64.0;

/// log(sum_k exp(x_k)) with the maximum taken out:
///   m + log(sum_k exp(x_k - m)),  m = max_k x_k,
/// so no term overflows and at least one term is exactly 1.
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || m.is_nan() {
        return m;
    }
    if m == f64::INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Binary operation on two scalars, shared by folding and evaluation.
#[inline]
pub fn apply_binary(op: BinOp, x: f64, y: f64) -> f64 {
    match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Pow => pow(x, y),
    }
}

/// x^y, with integer exponents by repeated multiplication (exact signs for
/// negative x and faster than `powf`).
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    if y == 2.0 {
        x * x
    } else if y.fract() == 0.0 && y.abs() <= 64.0 {
        x.powi(y as i32)
    } else {
        x.powf(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_whole_powers_are_the_products_the_evaluator_uses() {
        // The row loops write x^k for these k as plain products; they must
        // be the values `pow` gives.
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1e-160,
            1e160,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        let mut z = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
            xs.push((unit - 0.5) * 10f64.powi((z % 40) as i32 - 20));
        }
        for x in xs {
            let products = [
                (2.0, x * x),
                (3.0, x * (x * x)),
                (4.0, (x * x) * (x * x)),
                (-1.0, 1.0 / x),
                (-2.0, 1.0 / (x * x)),
            ];
            for (k, p) in products {
                assert_eq!(pow(x, k).to_bits(), p.to_bits(), "{x:e}^{k}");
            }
        }
    }

    #[test]
    fn a_squared_data_factor_after_a_row_weight_shares_the_weighted_column() {
        let mut g = Graph::new();
        let (b, x, z) = (g.param(0), g.data(0), g.data(1));
        let eta = g.mul(b, x);
        let w = g.unary(Func::Exp, eta);
        let wx = g.mul(w, x);
        // w x z reuses w x; so does w x^2, written either way.
        let wxz = g.mul(wx, z);
        assert_eq!(*g.node(wxz), Node::Binary(BinOp::Mul, wx, z));
        let two = g.constant(2.0);
        let x2 = g.pow(x, two);
        let wx2 = g.mul(w, x2);
        assert_eq!(*g.node(wx2), Node::Binary(BinOp::Mul, wx, x));
        assert_eq!(g.mul(wx, x), wx2);
        // A scalar coefficient of x^2 keeps the data-only power, which a
        // program computes once for all evaluations.
        let bx2 = g.mul(b, x2);
        assert_eq!(*g.node(bx2), Node::Binary(BinOp::Mul, b, x2));
    }

    #[test]
    fn interning_twice_gives_the_same_id() {
        let mut g = Graph::new();
        let a = g.param(0);
        let x = g.data(0);
        let p1 = g.mul(a, x);
        let p2 = g.mul(x, a);
        assert_eq!(p1, p2);
        let n = g.len();
        let _ = g.mul(a, x);
        assert_eq!(g.len(), n);
    }

    #[test]
    fn neutral_and_absorbing_elements_fold() {
        let mut g = Graph::new();
        let a = g.param(0);
        let zero = g.constant(0.0);
        let one = g.constant(1.0);
        assert_eq!(g.add(a, zero), a);
        assert_eq!(g.mul(one, a), a);
        assert_eq!(g.mul(a, zero), zero);
        assert_eq!(g.sub(a, a), zero);
        let e = g.unary(Func::Exp, a);
        assert_eq!(g.unary(Func::Log, e), a);
        let two = g.constant(2.0);
        let three = g.constant(3.0);
        let five = g.add(two, three);
        assert_eq!(g.as_const(five), Some(5.0));
    }

    #[test]
    fn sums_pull_out_scalar_factors() {
        let mut g = Graph::new();
        let a = g.param(0);
        let x = g.data(0);
        let ax = g.mul(a, x);
        let s = g.sum(ax);
        let sx = g.sum(x);
        assert_eq!(*g.node(s), Node::Binary(BinOp::Mul, a, sx));
        assert!(!g.is_row(s));
    }

    #[test]
    fn sums_split_off_data_selected_by_a_factor_but_not_observations() {
        let mut g = Graph::new();
        let a = g.param(0);
        let x = g.data(0);
        let e = g.unary(Func::Exp, a);
        let ex = g.mul(e, x);
        let ex = g.mul(ex, x);
        // sum_i (e x_i^2 - [g_i = 1] x_i): the indicator part is data only.
        let ind = g.level(1, 1);
        let selected = g.mul(ind, x);
        let t = g.sub(ex, selected);
        let s = g.sum(t);
        let Node::Binary(BinOp::Sub, _, right) = *g.node(s) else {
            panic!("not split: {:?}", g.node(s));
        };
        assert!(g.info(right).params.is_empty());
        // sum_i (y_i - a x_i^2) stays one sum: splitting off sum_i y_i
        // would cancel the digits of small residuals.
        let y = g.data(2);
        let mu = g.mul(a, ex);
        let r = g.sub(y, mu);
        let s = g.sum(r);
        assert!(matches!(g.node(s), Node::Sum(_)));
    }

    #[test]
    fn a_row_factor_alone_on_one_side_is_taken_out() {
        // x - p x = (1 - p) x and p x + x = (p + 1) x: a softmax's Hessian
        // p (x_a - p x_a) x_b then has the weight p (1 - p) in common with
        // the entries beside it.
        let mut g = Graph::new();
        let a = g.param(0);
        let p = g.unary(Func::Exp, a);
        let x = g.data(0);
        let px = g.mul(p, x);
        let d = g.sub(x, px);
        let one = g.constant(1.0);
        let one_minus_p = g.sub(one, p);
        assert_eq!(d, g.mul(one_minus_p, x));
        let s = g.add(px, x);
        let p_plus_one = g.add(p, one);
        assert_eq!(s, g.mul(p_plus_one, x));
        // A scalar factor stays: only row factors are taken out.
        let c = g.param(1);
        let ac = g.mul(a, c);
        let d = g.sub(c, ac);
        assert!(matches!(g.node(d), Node::Binary(BinOp::Sub, _, _)));
    }

    #[test]
    fn log_of_logistic_becomes_softplus() {
        let mut g = Graph::new();
        let u = g.param(0);
        let p = g.unary(Func::Logistic, u);
        let lp = g.unary(Func::Log, p);
        assert!(matches!(g.node(lp), Node::Unary(Func::Neg, _)));
        // log1p(-logistic(u)), a mixture's log(1 - w), is -softplus(u)
        let neg_p = g.neg(p);
        let l1m = g.unary(Func::Log1p, neg_p);
        let Node::Unary(Func::Neg, sp) = *g.node(l1m) else {
            panic!("{:?}", g.node(l1m))
        };
        assert_eq!(*g.node(sp), Node::Unary(Func::Softplus, u));
    }
}
