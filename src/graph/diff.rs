//! Symbolic differentiation of graph nodes with respect to one parameter.
//!
//! `diff(g, u, k)` returns a node for d u / d theta_k. Results are memoised
//! per (node, parameter), and a node that does not depend on theta_k has
//! derivative 0 without recursing, so the gradient of a model costs about
//! as many new nodes as the model has, per parameter. Differentiating the
//! gradient again gives the Hessian; the simplifying constructors keep the
//! result small (zero terms vanish, shared factors are reused).

use super::{BinOp, Func, Graph, Node, NodeId};

// ln(2 pi) / 2
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

pub(super) fn diff(g: &mut Graph, u: NodeId, k: u32) -> NodeId {
    if !g.depends_on(u, k) {
        return g.constant(0.0);
    }
    if let Some(&d) = g.diff_memo.get(&(u, k)) {
        return d;
    }
    let d = diff_uncached(g, u, k);
    g.diff_memo.insert((u, k), d);
    d
}

fn diff_uncached(g: &mut Graph, u: NodeId, k: u32) -> NodeId {
    match g.node(u).clone() {
        Node::Const(_) | Node::RowCount | Node::Data(_) | Node::Level { .. } => g.constant(0.0),
        Node::Param(j) => g.constant(if j == k { 1.0 } else { 0.0 }),

        // d select(col, items) = select(col, d items): the row picks the
        // derivative of the item it picks.
        Node::Select { col, items } => {
            let d_items: Vec<NodeId> = items.iter().map(|i| diff(g, *i, k)).collect();
            g.select(col, d_items)
        }

        // d sum_i u_i = sum_i d u_i
        Node::Sum(a) => {
            let da = diff(g, a, k);
            g.sum(da)
        }

        // d LSE(x) = sum_j softmax_j(x) dx_j,  softmax_j = exp(x_j - LSE(x)).
        Node::LogSumExp(items) => {
            let mut total = g.constant(0.0);
            for item in items {
                let dx = diff(g, item, k);
                if g.as_const(dx) == Some(0.0) {
                    continue;
                }
                let shifted = g.sub(item, u);
                let weight = g.unary(Func::Exp, shifted);
                let term = g.mul(weight, dx);
                total = g.add(total, term);
            }
            total
        }

        Node::Binary(op, a, b) => {
            let da = diff(g, a, k);
            let db = diff(g, b, k);
            diff_binary(g, op, u, a, b, da, db)
        }

        Node::Unary(f, a) => {
            let da = diff(g, a, k);
            let f_prime = derivative_of(g, f, u, a);
            g.mul(f_prime, da)
        }
    }
}

fn diff_binary(
    g: &mut Graph,
    op: BinOp,
    u: NodeId,
    a: NodeId,
    b: NodeId,
    da: NodeId,
    db: NodeId,
) -> NodeId {
    match op {
        // d(a + b) = da + db,  d(a - b) = da - db
        BinOp::Add => g.add(da, db),
        BinOp::Sub => g.sub(da, db),
        // d(a b) = da b + a db
        BinOp::Mul => {
            let t1 = g.mul(da, b);
            let t2 = g.mul(a, db);
            g.add(t1, t2)
        }
        // d(a / b) = da / b - (a / b) db / b
        BinOp::Div => {
            let t1 = g.div(da, b);
            let q = g.mul(u, db);
            let t2 = g.div(q, b);
            g.sub(t1, t2)
        }
        BinOp::Pow => match g.as_const(b) {
            // d(a^c) = c a^(c-1) da
            Some(c) => {
                let c_minus_1 = g.constant(c - 1.0);
                let p = g.pow(a, c_minus_1);
                let cn = g.constant(c);
                let coef = g.mul(cn, p);
                g.mul(coef, da)
            }
            // d(a^b) = a^b (db log a + b da / a), for a > 0.
            None => {
                let log_a = g.unary(Func::Log, a);
                let t1 = g.mul(db, log_a);
                let b_da = g.mul(b, da);
                let t2 = g.div(b_da, a);
                let s = g.add(t1, t2);
                g.mul(u, s)
            }
        },
    }
}

/// f'(a) as a node, given `u` = f(a) so the rule can reuse it.
fn derivative_of(g: &mut Graph, f: Func, u: NodeId, a: NodeId) -> NodeId {
    match f {
        // d(-a) = -1
        Func::Neg => g.constant(-1.0),
        // d exp(a) = exp(a)
        Func::Exp => u,
        // d log(a) = 1 / a
        Func::Log => {
            let one = g.constant(1.0);
            g.div(one, a)
        }
        // d log1p(a) = 1 / (1 + a)
        Func::Log1p => {
            let one = g.constant(1.0);
            let den = g.add(one, a);
            g.div(one, den)
        }
        // d expm1(a) = exp(a)
        Func::Expm1 => g.unary(Func::Exp, a),
        // d sqrt(a) = 1 / (2 sqrt(a))
        Func::Sqrt => {
            let half = g.constant(0.5);
            g.div(half, u)
        }
        // d |a| = sign(a), taking 0 at a = 0 (a subgradient).
        Func::Abs => g.unary(Func::Sign, a),
        // sign is piecewise constant.
        Func::Sign => g.constant(0.0),
        // d sin(a) = cos(a),  d cos(a) = -sin(a)
        Func::Sin => g.unary(Func::Cos, a),
        Func::Cos => {
            let s = g.unary(Func::Sin, a);
            g.neg(s)
        }
        // d tan(a) = 1 + tan(a)^2
        Func::Tan => {
            let one = g.constant(1.0);
            let two = g.constant(2.0);
            let t2 = g.pow(u, two);
            g.add(one, t2)
        }
        // d atan(a) = 1 / (1 + a^2)
        Func::Atan => {
            let one = g.constant(1.0);
            let two = g.constant(2.0);
            let a2 = g.pow(a, two);
            let den = g.add(one, a2);
            g.div(one, den)
        }
        // d tanh(a) = 1 - tanh(a)^2
        Func::Tanh => {
            let one = g.constant(1.0);
            let two = g.constant(2.0);
            let t2 = g.pow(u, two);
            g.sub(one, t2)
        }
        // d logistic(a) = logistic(a) logistic(-a); written with logistic(-a)
        // instead of 1 - logistic(a) so it keeps relative accuracy for large a.
        Func::Logistic => {
            let neg_a = g.neg(a);
            let other = g.unary(Func::Logistic, neg_a);
            g.mul(u, other)
        }
        // d softplus(a) = logistic(a)
        Func::Softplus => g.unary(Func::Logistic, a),
        // d lgamma(a) = digamma(a), d digamma = trigamma, d trigamma = tetragamma
        Func::Lgamma => g.unary(Func::Digamma, a),
        Func::Digamma => g.unary(Func::Trigamma, a),
        Func::Trigamma => g.unary(Func::Tetragamma, a),
        // Third derivatives of lgamma are never needed for a gradient and a
        // Hessian; NaN makes any such use visible instead of silently wrong.
        Func::Tetragamma => g.constant(f64::NAN),
        // The same chain for the lgamma gap, Stirling's remainder and
        // log1p(x)/x.
        Func::LgammaGap => g.unary(Func::DigammaGap, a),
        Func::DigammaGap => g.unary(Func::TrigammaGap, a),
        Func::TrigammaGap => g.constant(f64::NAN),
        Func::LgammaRem => g.unary(Func::DigammaRem, a),
        Func::DigammaRem => g.unary(Func::TrigammaRem, a),
        Func::TrigammaRem => g.constant(f64::NAN),
        Func::Log1pOverX => g.unary(Func::Log1pOverX1, a),
        Func::Log1pOverX1 => g.unary(Func::Log1pOverX2, a),
        Func::Log1pOverX2 => g.constant(f64::NAN),
        // d Phi(a) = phi(a) = exp(-a^2/2 - log(2 pi)/2)
        Func::Phi => {
            let two = g.constant(2.0);
            let a2 = g.pow(a, two);
            let minus_half = g.constant(-0.5);
            let e = g.mul(minus_half, a2);
            let c = g.constant(HALF_LN_2PI);
            let arg = g.sub(e, c);
            g.unary(Func::Exp, arg)
        }
        // d log Phi(a) = phi(a) / Phi(a), the inverse Mills ratio m(a),
        // evaluated by its own function so it stays accurate where Phi(a)
        // underflows.
        Func::LogPhi => g.unary(Func::InvMills, a),
        // d m(a) = (phi'(a) Phi(a) - phi(a)^2) / Phi(a)^2 = -m(a) (a + m(a)),
        // using phi'(a) = -a phi(a).
        Func::InvMills => {
            let s = g.add(a, u);
            let p = g.mul(u, s);
            g.neg(p)
        }
    }
}
