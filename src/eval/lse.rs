//! A log-sum-exp over a chunk of rows with its softmax weights (a
//! mixture's or a softmax's terms and the weights their gradients read).

use super::exec::{Arg, Chunk};
use super::fastmath::{self, MulAdd};
use super::CHUNK;
use crate::eval::Src;

/// [`log_sum_exp_rows`] of two items (a two-component mixture) in one
/// pass, into `lse` and the weights `wa` and `wb`; false, with the outputs
/// unfinished, when some row's maximum is infinite or NaN (the general loop
/// then does the chunk). exp(item - m) is exp(0) = 1 for the item that is
/// the maximum, so one exp per row, of the other item, gives both terms,
/// and one division 1 / s both weights (each the other term times it).
#[inline(always)]
fn log_sum_exp_pair<M: MulAdd>(
    a: &[f64],
    b: &[f64],
    lse: &mut [f64],
    wa: &mut [f64],
    wb: &mut [f64],
) -> bool {
    let exp = |x: f64| <fastmath::Exp as fastmath::Kernel>::apply::<M>(x);
    let one = exp(0.0);
    // (log-sum-exp, weight of a, weight of b, whether the maximum is not
    // finite) of one row.
    let row = |x: f64, y: f64| {
        // The maximum as the general loop takes it (NaN wins).
        let m = if y > x || y.is_nan() { y } else { x };
        let t = exp(x.min(y) - m);
        let (ea, eb) = if x == m { (one, t) } else { (t, one) };
        let s = ea + eb;
        let r = 1.0 / s;
        let l = m + <fastmath::Ln as fastmath::Kernel>::apply::<M>(s);
        (l, ea * r, eb * r, !m.is_finite())
    };
    // PAIR_ROWS rows at a time, so that several vector registers of rows
    // go through the long chain of dependent operations (exp's polynomial,
    // two divisions, ln's polynomial) side by side.
    let mut bad = false;
    let n = a.len();
    let full = n - n % PAIR_ROWS;
    let blocks = lse[..full]
        .chunks_exact_mut(PAIR_ROWS)
        .zip(wa[..full].chunks_exact_mut(PAIR_ROWS))
        .zip(wb[..full].chunks_exact_mut(PAIR_ROWS))
        .zip(
            a[..full]
                .chunks_exact(PAIR_ROWS)
                .zip(b[..full].chunks_exact(PAIR_ROWS)),
        );
    for (((l, wa), wb), (x, y)) in blocks {
        for k in 0..PAIR_ROWS {
            let (lk, wak, wbk, badk) = row(x[k], y[k]);
            l[k] = lk;
            wa[k] = wak;
            wb[k] = wbk;
            bad |= badk;
        }
    }
    for i in full..n {
        let (l, wa_i, wb_i, bad_i) = row(a[i], b[i]);
        lse[i] = l;
        wa[i] = wa_i;
        wb[i] = wb_i;
        bad |= bad_i;
    }
    !bad
}

/// Rows [`log_sum_exp_pair`] takes at a time: two AVX-512 registers (16
/// rows took 0.97 of the time of 32 and 64 on the mixture workload, and
/// 0.91 of one register at a time).
const PAIR_ROWS: usize = 16;

/// Per row, log(sum_k exp(item_k)) with the maximum taken out:
///   m + log(sum_k exp(item_k - m)),  m = max_k item_k,
/// into buffer `out`, computed item by item over the chunk so each step is
/// a vector loop (two items in one pass, see [`log_sum_exp_pair`]); where
/// m is infinite or NaN the result is m, as in
/// [`log_sum_exp`](crate::graph::log_sum_exp). The softmax weights
///   w_k = exp(item_k - m) / sum_j exp(item_j - m) = exp(item_k - LSE)
/// go into the buffers `weights[k]` given, from the same exps. Every output
/// buffer differs from every item's, so each item is read before any
/// output is written over it.
#[inline(always)]
pub(super) fn log_sum_exp_rows<M: MulAdd>(
    ctx: &Chunk,
    items: &[Src],
    weights: &[Option<u32>],
    out: u32,
    bufs: &mut [f64],
) {
    let n = ctx.len;
    if let ([a, b], [wa, wb]) = (items, weights) {
        if let (Arg::V(a), Arg::V(b)) = (ctx.arg(*a, bufs), ctx.arg(*b, bufs)) {
            let mut lse = [0.0; CHUNK];
            let mut ws = [[0.0; CHUNK]; 2];
            let [wa_rows, wb_rows] = &mut ws;
            if log_sum_exp_pair::<M>(a, b, &mut lse[..n], &mut wa_rows[..n], &mut wb_rows[..n]) {
                let mut put = |buf: u32, values: &[f64]| {
                    let at = buf as usize * CHUNK;
                    bufs[at..at + n].copy_from_slice(&values[..n]);
                };
                put(out, &lse);
                for (w, values) in [(*wa, &ws[0]), (*wb, &ws[1])] {
                    if let Some(w) = w {
                        put(w, values);
                    }
                }
                return;
            }
        }
    }
    let mut max = [f64::NEG_INFINITY; CHUNK];
    let max = &mut max[..n];
    for item in items {
        map2_in_place(max, ctx.arg(*item, bufs), |m, x| {
            // NaN wins, so a NaN item gives a NaN result.
            if x > m || x.is_nan() {
                x
            } else {
                m
            }
        });
    }
    let mut sum = [0.0; CHUNK];
    let sum = &mut sum[..n];
    let mut e = [0.0; CHUNK];
    let e = &mut e[..n];
    let exp = |x: f64| <fastmath::Exp as fastmath::Kernel>::apply::<M>(x);
    for (item, weight) in items.iter().zip(weights) {
        match ctx.arg(*item, bufs) {
            Arg::S(x) => {
                for (e, m) in e.iter_mut().zip(max.iter()) {
                    *e = exp(x - *m);
                }
            }
            Arg::V(v) => {
                for ((e, m), x) in e.iter_mut().zip(max.iter()).zip(v) {
                    *e = exp(*x - *m);
                }
            }
        }
        for (s, e) in sum.iter_mut().zip(e.iter()) {
            *s += *e;
        }
        if let Some(w) = weight {
            let at = *w as usize * CHUNK;
            bufs[at..at + n].copy_from_slice(e);
        }
    }
    // The weights e_k / s as e_k (1 / s): one division per row instead of
    // one per weight (a vector division takes as long as a dozen
    // multiplications); each weight is rounded twice, within an ulp of its
    // quotient. For a finite maximum 1 <= s <= K, so 1 / s is a normal
    // number.
    if weights.iter().any(Option::is_some) {
        for (r, s) in e.iter_mut().zip(sum.iter()) {
            *r = 1.0 / *s;
        }
        for w in weights.iter().flatten() {
            let at = *w as usize * CHUNK;
            for (w, r) in bufs[at..at + n].iter_mut().zip(e.iter()) {
                *w *= *r;
            }
        }
    }
    // Where the maximum is infinite or NaN the log-sum-exp is that maximum,
    // and exp(item_k - LSE) is 0 for a finite item, not the NaN that
    // exp(inf - inf) put into the sum: those rows get the weight from its
    // definition.
    // (a fold rather than `any`, whose early exit kept the loop scalar:
    // 5% of the mixture workload's evaluation)
    if max.iter().fold(false, |bad, m| bad | !m.is_finite()) {
        for (item, weight) in items.iter().zip(weights) {
            let Some(w) = weight else { continue };
            let arg = ctx.arg(*item, bufs);
            for (i, m) in max.iter().enumerate() {
                e[i] = if m.is_finite() {
                    f64::NAN
                } else {
                    <fastmath::Exp as fastmath::Kernel>::apply::<M>(arg.at(i) - *m)
                };
            }
            let at = *w as usize * CHUNK;
            for ((w, e), m) in bufs[at..at + n].iter_mut().zip(e.iter()).zip(max.iter()) {
                if !m.is_finite() {
                    *w = *e;
                }
            }
        }
    }
    let at = out as usize * CHUNK;
    for ((o, m), s) in bufs[at..at + n].iter_mut().zip(max.iter()).zip(sum.iter()) {
        let y = *m + <fastmath::Ln as fastmath::Kernel>::apply::<M>(*s);
        *o = if m.is_finite() { y } else { *m };
    }
}

/// acc_i = f(acc_i, a_i) over a chunk.
#[inline(always)]
fn map2_in_place(acc: &mut [f64], a: Arg, f: impl Fn(f64, f64) -> f64) {
    match a {
        Arg::S(x) => acc.iter_mut().for_each(|m| *m = f(*m, x)),
        Arg::V(v) => {
            for (m, x) in acc.iter_mut().zip(v) {
                *m = f(*m, *x);
            }
        }
    }
}
