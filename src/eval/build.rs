//! Compiling graph nodes into a [`Program`]: which nodes run once per
//! evaluation and which per row, the fused row instructions, chunk buffers
//! assigned by liveness, and the data-only columns and sums computed once.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use super::plan::Plan;
use super::{
    fuse, gram, Columns, Program, ProgramOptions, RowInstr, RowOp, ScalarInstr, ScalarOp, Src,
    Workspace, PREFETCH_MIN_BYTES,
};
use crate::graph::{BinOp, Func, Graph, Node, NodeId};

/// Turns reachable graph nodes into the three instruction phases.
pub(super) struct Builder<'a> {
    graph: &'a Graph,
    data: &'a Columns,
    opts: ProgramOptions,
    /// Where each compiled node's value lives.
    loc: HashMap<NodeId, Src>,
    slot_init: Vec<f64>,
    prologue: Vec<ScalarInstr>,
    rows: Vec<RowInstr>,
    epilogue: Vec<ScalarInstr>,
    kept: Vec<Arc<Vec<f64>>>,
    n_accs: usize,
    /// The accumulator of each sum node.
    sum_acc: HashMap<NodeId, u32>,
    /// A program whose data-only sums and kept columns are taken over.
    reuse: Option<&'a Program>,
    kept_nodes: Vec<NodeId>,
    data_sums: Vec<(NodeId, f64)>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(
        graph: &'a Graph,
        data: &'a Columns,
        opts: ProgramOptions,
        reuse: Option<&'a Program>,
    ) -> Builder<'a> {
        Builder {
            graph,
            data,
            opts,
            loc: HashMap::default(),
            slot_init: Vec::new(),
            prologue: Vec::new(),
            rows: Vec::new(),
            epilogue: Vec::new(),
            kept: Vec::new(),
            n_accs: 0,
            sum_acc: HashMap::default(),
            reuse,
            kept_nodes: Vec::new(),
            data_sums: Vec::new(),
        }
    }

    fn new_slot(&mut self, init: f64) -> u32 {
        self.slot_init.push(init);
        (self.slot_init.len() - 1) as u32
    }

    pub(super) fn build(mut self, roots: &[NodeId], row_roots: &[NodeId]) -> Program {
        let all_roots: Vec<NodeId> = roots.iter().chain(row_roots).cloned().collect();
        let order = self.graph.reachable(&all_roots);

        // A scalar node is in the epilogue when it depends on a row sum.
        let mut after_sum: HashMap<NodeId, bool> = HashMap::default();
        for &id in &order {
            let node = self.graph.node(id);
            let flag = matches!(node, Node::Sum(_))
                || self.graph.children(id).iter().any(|c| after_sum[c]);
            after_sum.insert(id, flag);
        }

        // Sums of data-only row nodes (sum_i lgamma(y_i + 1) in a Poisson
        // NLL) do not change between evaluations: computed once here, they
        // become constants.
        if self.opts.keep_data_columns {
            let g = self.graph;
            let data_sums: Vec<NodeId> = order
                .iter()
                .filter(|id| matches!(g.node(**id), Node::Sum(_)) && g.info(**id).params.is_empty())
                .cloned()
                .collect();
            let known: Vec<Option<f64>> = data_sums
                .iter()
                .map(|id| {
                    let reused = self.reuse.map(|p| p.data_sums.iter());
                    reused.and_then(|mut it| it.find(|(n, _)| n == id).map(|(_, v)| *v))
                })
                .collect();
            let missing: Vec<NodeId> = data_sums
                .iter()
                .zip(&known)
                .filter(|(_, v)| v.is_none())
                .map(|(id, _)| *id)
                .collect();
            let mut computed = vec![0.0; missing.len()];
            if !missing.is_empty() {
                let pre = Program::new(g, &missing, &[], self.data, ProgramOptions::UNCACHED);
                let mut ws = Workspace::new(&pre);
                pre.eval(&mut ws, self.data, &[], &mut computed);
            }
            let mut computed = computed.into_iter();
            for (id, value) in data_sums.iter().zip(known) {
                let value = value.unwrap_or_else(|| computed.next().expect("one per missing sum"));
                let slot = self.new_slot(value);
                self.loc.insert(*id, Src::Slot(slot));
                self.data_sums.push((*id, value));
            }
        }

        // What folded sums alone read is not computed at all.
        let order = self
            .graph
            .reachable_until(&all_roots, |id| self.loc.contains_key(&id));

        // Data-only row nodes worth keeping: those read by a node that
        // depends on parameters or by a sum.
        let kept_nodes = match (
            self.opts.keep_data_columns,
            self.opts.keep_only_for_first_roots,
        ) {
            (false, _) => Vec::new(),
            (true, None) => self.kept_frontier(&order),
            (true, Some(k)) => {
                let first = self
                    .graph
                    .reachable_until(&roots[..k.min(roots.len())], |id| {
                        self.loc.contains_key(&id)
                    });
                self.kept_frontier(&first)
            }
        };
        let reused = |node: &NodeId| {
            self.reuse.and_then(|p| {
                let i = p.kept_nodes.iter().position(|n| n == node)?;
                Some(&p.kept[i])
            })
        };
        let missing: Vec<NodeId> = kept_nodes
            .iter()
            .filter(|n| reused(n).is_none())
            .cloned()
            .collect();
        let mut computed = if missing.is_empty() {
            Vec::new()
        } else {
            let pre = Program::new(
                self.graph,
                &[],
                &missing,
                self.data,
                ProgramOptions::UNCACHED,
            );
            pre.eval_rows(self.data, &[])
        }
        .into_iter();
        for node in &kept_nodes {
            let col = match reused(node) {
                Some(col) => col.clone(),
                None => Arc::new(computed.next().expect("one column per missing node")),
            };
            self.kept.push(col);
            self.kept_nodes.push(*node);
            self.loc
                .insert(*node, Src::Kept((self.kept.len() - 1) as u32));
        }

        let mut row_nodes: Vec<NodeId> = Vec::new();
        for &id in &order {
            if self.loc.contains_key(&id) {
                continue;
            }
            let g = self.graph;
            match g.node(id) {
                Node::Const(bits) => {
                    let s = self.new_slot(f64::from_bits(*bits));
                    self.loc.insert(id, Src::Slot(s));
                }
                Node::RowCount => {
                    let s = self.new_slot(self.data.n_rows as f64);
                    self.loc.insert(id, Src::Slot(s));
                }
                Node::Data(c) => {
                    self.loc.insert(id, Src::Col(*c));
                }
                Node::Sum(_) => {
                    let acc = self.n_accs as u32;
                    self.n_accs += 1;
                    let s = self.new_slot(f64::NAN);
                    self.epilogue.push(ScalarInstr {
                        op: ScalarOp::SumResult(acc),
                        out: s,
                    });
                    self.loc.insert(id, Src::Slot(s));
                    self.sum_acc.insert(id, acc);
                    row_nodes.push(id);
                }
                _ if g.is_row(id) => row_nodes.push(id),
                _ => {
                    let op = self.scalar_op(id);
                    let s = self.new_slot(f64::NAN);
                    let instr = ScalarInstr { op, out: s };
                    if after_sum[&id] {
                        self.epilogue.push(instr);
                    } else {
                        self.prologue.push(instr);
                    }
                    self.loc.insert(id, Src::Slot(s));
                }
            }
        }

        // Sums sharing a row weight (a Hessian's blocks) are computed by one
        // instruction per weight, after the others; the weight is kept
        // until then as if asked for per row.
        let g = self.graph;
        let groups = if self.opts.gram_blocks {
            gram::groups(g, &row_nodes, |n| {
                matches!(self.loc.get(&n), Some(Src::Col(_) | Src::Kept(_)))
            })
        } else {
            Vec::new()
        };
        let row_nodes = gram::without_grouped(g, row_nodes, &groups, row_roots);
        let mut kept_to_end: Vec<NodeId> = row_roots.to_vec();
        for gr in &groups {
            if !kept_to_end.contains(&gr.w) {
                kept_to_end.push(gr.w);
            }
        }
        let (n_bufs, mut row_out_locs) = self.allocate_rows(&row_nodes, &kept_to_end);
        row_out_locs.truncate(row_roots.len());
        let (groups, shared) = gram::shared_sets(groups);
        for set in shared {
            self.rows.push(RowInstr {
                op: RowOp::AccumulateGramShared(Box::new(gram::Shared {
                    ws: set.ws.iter().map(|w| self.loc[w]).collect(),
                    cols: set.cols.iter().map(|c| self.loc[c]).collect(),
                    pairs: set.pairs,
                    accs: set
                        .sums
                        .iter()
                        .map(|sum| sum.map_or(gram::NO_ACC, |s| self.sum_acc[&s]))
                        .collect(),
                })),
                src: None,
                out: u32::MAX,
            });
        }
        for gr in &groups {
            let entries: Vec<(u8, u8, u32)> = gr
                .entries
                .iter()
                .map(|(l, r, s)| (*l, *r, self.sum_acc[s]))
                .collect();
            self.rows.push(RowInstr {
                op: RowOp::AccumulateGram(Box::new(gram::Gram {
                    w: self.loc[&gr.w],
                    cols: gr.cols.iter().map(|c| self.loc[c]).collect(),
                    blocks: gram::blocks(&entries),
                })),
                src: None,
                out: u32::MAX,
            });
        }

        let mut streamed: Vec<Src> = Vec::new();
        for instr in &self.rows {
            for src in instr.operands() {
                if matches!(src, Src::Col(_) | Src::Kept(_)) && !streamed.contains(&src) {
                    streamed.push(src);
                }
            }
        }
        // Columns that fit in the caches are read from there on every
        // evaluation after the first: requesting them ahead only costs
        // instructions (6-7% of the time of the nonlinear-curve workloads,
        // 1.6 MB of columns).
        if self.data.n_rows * streamed.len() * std::mem::size_of::<f64>() < PREFETCH_MIN_BYTES {
            streamed.clear();
        }

        let outputs = roots
            .iter()
            .map(|r| match self.loc[r] {
                Src::Slot(s) => s,
                // A row node asked for as a scalar root is a caller bug;
                // the graph constructors never produce one.
                other => panic!("root {r:?} is a row node at {other:?}"),
            })
            .collect();

        Program {
            n_rows: self.data.n_rows,
            slot_init: self.slot_init,
            prologue: self.prologue,
            rows: self.rows,
            epilogue: self.epilogue,
            n_bufs,
            n_accs: self.n_accs,
            kept: self.kept,
            kept_nodes: self.kept_nodes,
            data_sums: self.data_sums,
            outputs,
            row_outputs: row_out_locs,
            streamed,
        }
    }

    fn kept_frontier(&self, order: &[NodeId]) -> Vec<NodeId> {
        let g = self.graph;
        let is_data_only = |id: NodeId| {
            g.is_row(id)
                && g.info(id).params.is_empty()
                && !matches!(g.node(id), Node::Data(_) | Node::Level { .. })
        };
        // One addition, subtraction or product of data columns, level
        // indicators and scalars, or a choice among them by a factor
        // (x_j [y = k], `select by y (0, x_j, 0, ...)` in a softmax
        // gradient), costs about as much in the row loop as reading it back
        // from a kept column, and keeping it costs a column of memory each:
        // computed per evaluation instead.
        let is_leaf =
            |id: NodeId| !g.is_row(id) || matches!(g.node(id), Node::Data(_) | Node::Level { .. });
        let is_cheap = |id: NodeId| match g.node(id) {
            Node::Binary(BinOp::Add | BinOp::Sub | BinOp::Mul, a, b) => is_leaf(*a) && is_leaf(*b),
            Node::Select { items, .. } => items.iter().all(|i| is_leaf(*i)),
            _ => false,
        };
        let mut kept = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &id in order {
            // A folded data-only sum is a constant and reads nothing.
            let is_folded = self.loc.contains_key(&id);
            let consumer_needs_it =
                !is_folded && (!g.info(id).params.is_empty() || matches!(g.node(id), Node::Sum(_)));
            if !consumer_needs_it {
                continue;
            }
            for c in g.children(id) {
                if is_data_only(c) && !is_cheap(c) && seen.insert(c) {
                    kept.push(c);
                }
            }
        }
        kept.sort();
        kept
    }

    fn scalar_op(&self, id: NodeId) -> ScalarOp {
        let slot = |n: &NodeId| match self.loc[n] {
            Src::Slot(s) => s,
            other => panic!("scalar node {id:?} reads row operand {other:?}"),
        };
        match self.graph.node(id) {
            Node::Param(k) => ScalarOp::Param(*k),
            Node::Unary(f, a) => ScalarOp::Unary(*f, slot(a)),
            Node::Binary(op, a, b) => ScalarOp::Binary(*op, slot(a), slot(b)),
            Node::LogSumExp(items) => ScalarOp::LogSumExp(items.iter().map(slot).collect()),
            other => panic!("unexpected scalar node {other:?}"),
        }
    }

    /// Emits row instructions for `row_nodes` (in topological order) and
    /// assigns chunk buffers by liveness: a buffer is reused as soon as the
    /// last instruction reading it has run.
    fn allocate_rows(&mut self, row_nodes: &[NodeId], row_outputs: &[NodeId]) -> (usize, Vec<Src>) {
        let g = self.graph;
        let position: HashMap<NodeId, usize> =
            row_nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let plan = Plan::new(g, row_nodes, row_outputs, &position);
        let division_at = |id: NodeId| plan.division_at(g, id);

        // Several divisions by one row value (r / s^2, x r / s^2 and
        // r^2 / s^2 in a Gaussian scale model's gradient) become
        // multiplications by its reciprocal, computed once per chunk: a
        // vector division costs many multiplications. Each result is then
        // rounded twice instead of once (within 1 ulp of the quotient),
        // and where 1 / d overflows (|d| below 5.6e-309, a scale that has
        // collapsed) a finite quotient becomes infinite.
        // Likewise a division by a scalar (a constant, or a slot of the
        // prologue: row instructions read nothing else) becomes a
        // multiplication by its reciprocal, computed once per evaluation.
        let mut scalar_reciprocal: HashMap<u32, u32> = HashMap::default();
        for &id in row_nodes {
            let Some(d) = division_at(id).filter(|_| !plan.inlined.contains(&id)) else {
                continue;
            };
            if let Some(Src::Slot(s)) = self.loc.get(&d).copied() {
                if !scalar_reciprocal.contains_key(&s) {
                    let one = self.new_slot(1.0);
                    let out = self.new_slot(f64::NAN);
                    self.prologue.push(ScalarInstr {
                        op: ScalarOp::Binary(BinOp::Div, one, s),
                        out,
                    });
                    scalar_reciprocal.insert(s, out);
                }
            }
        }
        let mut divisor_uses: HashMap<NodeId, (usize, usize, usize)> = HashMap::default();
        for (i, &id) in row_nodes.iter().enumerate() {
            if plan.inlined.contains(&id) {
                continue;
            }
            if let Some(d) = division_at(id).filter(|d| position.contains_key(d)) {
                let e = divisor_uses.entry(d).or_insert((i, i, 0));
                e.1 = i;
                e.2 += 1;
            }
        }
        divisor_uses.retain(|_, e| e.2 >= 2);
        let one = (!divisor_uses.is_empty()).then(|| self.new_slot(1.0));
        let mut reciprocal: HashMap<NodeId, u32> = HashMap::default();

        // A shared divisor exp(u)^k (or exp(u)) read by nothing but its
        // divisions (sigma^2 = exp(g)^2 of a Gaussian scale model) has the
        // reciprocal exp(-k u): one exp per row instead of an exp, a power
        // and a division, and neither exp(u) nor its power is computed.
        // Every division still reads the one shared reciprocal, so values
        // that are exactly proportional stay so (a singular Hessian stays
        // singular); only the reciprocal's rounding changes.
        let readers = |n: NodeId| plan.n_readers.get(&n).copied().unwrap_or(0);
        let mut exp_reciprocal: HashMap<NodeId, (u32, NodeId)> = HashMap::default();
        let mut not_computed: std::collections::HashSet<NodeId> = Default::default();
        let mut read_until: HashMap<NodeId, usize> = HashMap::default();
        for (&d, &(first, _, count)) in &divisor_uses {
            let (e, k) = match *g.node(d) {
                Node::Binary(BinOp::Pow, e, k) => match g.as_const(k) {
                    Some(k) => (e, k),
                    None => continue,
                },
                _ => (d, 1.0),
            };
            let Node::Unary(Func::Exp, u) = *g.node(e) else {
                continue;
            };
            let only_divisions = readers(d) == count && (e == d || readers(e) == 1);
            let asked_for = row_outputs.contains(&d) || row_outputs.contains(&e);
            if !position.contains_key(&u) || !only_divisions || asked_for {
                continue;
            }
            let scale = self.new_slot(-k);
            exp_reciprocal.insert(d, (scale, u));
            not_computed.extend([d, e]);
            let until = read_until.entry(u).or_insert(first);
            *until = (*until).max(first);
        }

        let mut free: Vec<u32> = Vec::new();
        let mut n_bufs = 0u32;
        let mut dying: HashMap<usize, Vec<u32>> = HashMap::default();
        for (i, &id) in row_nodes.iter().enumerate() {
            let partner_done = plan
                .partner
                .get(&id)
                .is_some_and(|other| self.loc.contains_key(other));
            if plan.inlined.contains(&id)
                || partner_done
                || plan.absorbed.contains(&id)
                || plan.weight_of.contains_key(&id)
                || plan.mirror.values().any(|m| *m == id)
                || not_computed.contains(&id)
            {
                continue;
            }
            let shared_divisor = division_at(id).filter(|d| divisor_uses.contains_key(d));
            if let (Some(d), Some(one)) = (shared_divisor, one) {
                let (first, last, _) = divisor_uses[&d];
                if i == first {
                    let buf = free.pop().unwrap_or_else(|| {
                        n_bufs += 1;
                        n_bufs - 1
                    });
                    let op = match exp_reciprocal.get(&d) {
                        Some(&(scale, u)) => RowOp::ExpScaled {
                            scale,
                            negate: false,
                            a: self.loc[&u],
                        },
                        None => RowOp::Binary(BinOp::Div, Src::Slot(one), self.loc[&d]),
                    };
                    self.rows.push(RowInstr {
                        op,
                        src: None,
                        out: buf,
                    });
                    reciprocal.insert(d, buf);
                    dying.entry(last).or_default().push(buf);
                }
            }
            // x / d as x * (1 / d) when the reciprocal is shared.
            // (The divisor itself may not be computed at all: see
            // `exp_reciprocal`.)
            let divide = |op: BinOp, b: NodeId| -> (BinOp, Src) {
                if let (BinOp::Div, Some(buf)) = (op, reciprocal.get(&b)) {
                    return (BinOp::Mul, Src::Buf(*buf));
                }
                match (op, self.loc[&b]) {
                    (BinOp::Div, Src::Slot(s)) => match scalar_reciprocal.get(&s) {
                        Some(r) => (BinOp::Mul, Src::Slot(*r)),
                        None => (op, Src::Slot(s)),
                    },
                    (_, src) => (op, src),
                }
            };
            let src = |n: &NodeId| self.loc[n];
            let mut instr = match g.node(id) {
                Node::Binary(op, u, v) if plan.product_of.contains_key(&id) => {
                    let m = plan.product_of[&id];
                    let Node::Binary(BinOp::Mul, x, y) = *g.node(m) else {
                        unreachable!("only products are inlined into sums and differences")
                    };
                    let other = if *v == m { *u } else { *v };
                    RowInstr {
                        op: RowOp::AddProduct {
                            is_sub: *op == BinOp::Sub,
                            product_first: *u == m,
                            other: src(&other),
                            x: src(&x),
                            y: src(&y),
                        },
                        src: None,
                        out: 0,
                    }
                }
                Node::Sum(a)
                    if plan.fused.contains(a) && matches!(g.node(*a), Node::Select { .. }) =>
                {
                    let Node::Select { col, items } = g.node(*a) else {
                        unreachable!("matched just above")
                    };
                    RowInstr {
                        op: RowOp::AccumulateSelect {
                            acc: self.sum_acc[&id],
                            col: *col,
                            items: items.iter().map(src).collect(),
                        },
                        src: None,
                        out: u32::MAX,
                    }
                }
                Node::Sum(a) if plan.sum_product_of.contains_key(a) => {
                    let m = plan.sum_product_of[a];
                    let (Node::Binary(op, u, v), Node::Binary(BinOp::Mul, x, y)) =
                        (g.node(*a), g.node(m))
                    else {
                        unreachable!("a sum or difference with a product")
                    };
                    let other = if *v == m { *u } else { *v };
                    RowInstr {
                        op: RowOp::AccumulateAddProduct {
                            acc: self.sum_acc[&id],
                            is_sub: *op == BinOp::Sub,
                            product_first: *u == m,
                            other: src(&other),
                            x: src(x),
                            y: src(y),
                        },
                        src: None,
                        out: u32::MAX,
                    }
                }
                Node::Sum(a) if plan.fused.contains(a) => {
                    let acc = self.sum_acc[&id];
                    let Node::Binary(op, x, y) = g.node(*a) else {
                        unreachable!("only binary and choice nodes are fused into sums")
                    };
                    // x^2 as x * x: the same value (`pow` squares that way),
                    // without the general power.
                    let (op, b) = match op {
                        BinOp::Pow if g.as_const(*y) == Some(2.0) => (BinOp::Mul, src(x)),
                        _ => divide(*op, *y),
                    };
                    RowInstr {
                        op: RowOp::AccumulateBinary {
                            acc,
                            op,
                            a: src(x),
                            b,
                        },
                        src: None,
                        out: u32::MAX,
                    }
                }
                Node::Sum(a) => {
                    let acc = self.sum_acc[&id];
                    RowInstr {
                        op: RowOp::Accumulate { acc },
                        src: Some(src(a)),
                        out: u32::MAX,
                    }
                }
                Node::Unary(_, a) if plan.partner.contains_key(&id) => RowInstr {
                    op: RowOp::SoftplusLogistic {
                        a: src(a),
                        logistic_out: 0,
                        mirror_out: None,
                    },
                    src: None,
                    out: 0,
                },
                Node::Unary(f, a) => RowInstr {
                    op: RowOp::Unary(*f, src(a)),
                    src: None,
                    out: 0,
                },
                Node::Binary(BinOp::Pow, a, b) if g.as_const(*b) == Some(2.0) => RowInstr {
                    op: RowOp::Square(src(a)),
                    src: None,
                    out: 0,
                },
                Node::Binary(op, a, b) => {
                    let (op, b) = divide(*op, *b);
                    RowInstr {
                        op: RowOp::Binary(op, src(a), b),
                        src: None,
                        out: 0,
                    }
                }
                Node::Level { col, level } => RowInstr {
                    op: RowOp::Level {
                        col: *col,
                        level: *level,
                    },
                    src: None,
                    out: 0,
                },
                Node::Select { col, items } => RowInstr {
                    op: RowOp::Select {
                        col: *col,
                        items: items.iter().map(src).collect(),
                    },
                    src: None,
                    out: 0,
                },
                Node::LogSumExp(items) => RowInstr {
                    op: RowOp::LogSumExp {
                        items: items.iter().map(src).collect(),
                        weights: vec![None; items.len()],
                    },
                    src: None,
                    out: 0,
                },
                other => panic!("unexpected row node {other:?}"),
            };

            let is_accumulate = matches!(
                instr.op,
                RowOp::Accumulate { .. }
                    | RowOp::AccumulateBinary { .. }
                    | RowOp::AccumulateAddProduct { .. }
                    | RowOp::AccumulateSelect { .. }
            );
            if !is_accumulate {
                // Each node this instruction computes gets a buffer, held
                // until its last reader has run.
                let mut outputs = vec![id];
                outputs.extend(plan.partner.get(&id));
                if let (Some(_), Node::Unary(_, a)) = (plan.partner.get(&id), g.node(id)) {
                    outputs.extend(plan.mirror.get(a));
                }
                let weights: Vec<(NodeId, usize)> = row_nodes
                    .iter()
                    .filter_map(|n| match plan.weight_of.get(n) {
                        Some(&(l, k)) if l == id => Some((*n, k)),
                        _ => None,
                    })
                    .collect();
                outputs.extend(weights.iter().map(|(n, _)| *n));
                let mut bufs = Vec::with_capacity(2);
                for node in outputs {
                    let buf = free.pop().unwrap_or_else(|| {
                        n_bufs += 1;
                        n_bufs - 1
                    });
                    self.loc.insert(node, Src::Buf(buf));
                    bufs.push((node, buf));
                    let last_use = match (plan.last_use.get(&node), read_until.get(&node)) {
                        (Some(&a), Some(&b)) if a != usize::MAX => Some(a.max(b)),
                        (None, Some(&b)) => Some(b),
                        (a, _) => a.copied(),
                    };
                    match last_use {
                        Some(last) if last != usize::MAX && last >= i => {
                            dying.entry(last).or_default().push(buf)
                        }
                        Some(last) if last != usize::MAX => {
                            unreachable!("node read at {last}, before it is computed at {i}")
                        }
                        Some(_) => {}
                        // Never read again (a dead end of the graph): free now.
                        None => dying.entry(i).or_default().push(buf),
                    }
                }
                instr.out = bufs[0].1;
                if let RowOp::LogSumExp { weights: slots, .. } = &mut instr.op {
                    for ((_, k), (_, buf)) in weights.iter().zip(&bufs[1..]) {
                        slots[*k] = Some(*buf);
                    }
                }
                if let RowOp::SoftplusLogistic {
                    logistic_out,
                    mirror_out,
                    ..
                } = &mut instr.op
                {
                    // The instruction is at the softplus node or at the
                    // logistic one: its output is that node's buffer.
                    let is_softplus = matches!(g.node(id), Node::Unary(Func::Softplus, _));
                    let (sp, lg) = if is_softplus {
                        (bufs[0].1, bufs[1].1)
                    } else {
                        (bufs[1].1, bufs[0].1)
                    };
                    instr.out = sp;
                    *logistic_out = lg;
                    *mirror_out = bufs.get(2).map(|(_, b)| *b);
                }
            }
            self.rows.push(instr);
            // Buffers whose last reader was this instruction are free again;
            // freed only after the output was assigned, so an instruction
            // never writes into one of its own inputs.
            if let Some(bufs) = dying.remove(&i) {
                free.extend(bufs);
            }
        }

        let outs: Vec<Src> = row_outputs.iter().map(|r| self.loc[r]).collect();
        let rows = std::mem::take(&mut self.rows);
        self.rows = fuse::fold_into_readers(rows, &outs, |op, c, d| {
            let out = self.new_slot(f64::NAN);
            self.prologue.push(ScalarInstr {
                op: ScalarOp::Binary(op, c, d),
                out,
            });
            out
        });
        self.rows = fuse::linear_chains(std::mem::take(&mut self.rows), &outs);
        self.rows = fuse::scaled_exps(std::mem::take(&mut self.rows), &outs);
        self.rows = fuse::shared_dots(std::mem::take(&mut self.rows));
        (n_bufs as usize, outs)
    }
}
