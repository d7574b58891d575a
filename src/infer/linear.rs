//! Least squares for the coefficients a Gaussian mean is linear in.
//!
//! With y_i ~ Normal(offset_i(phi) + x_i(phi)' b, sigma) and sigma the same
//! for every row, the NLL is RSS(b, phi) / (2 sigma^2) + n log sigma + const,
//! so for any sigma and phi the estimate of b minimises
//! RSS = |z - X b|^2, z = y - offset: a linear least-squares problem.
//! The optimizer then works on the other parameters only, with b solved
//! for at each point (variable projection, Golub and Pereyra 1973): fewer
//! dimensions, and no valley along which b and phi trade off.
//! Newton's method on the NLL solves the normal equations X'X b = X'z, whose
//! condition number is the square of X's: on a polynomial design such as
//! NIST's Filip that is beyond double precision. A Householder QR of X
//! (columns scaled to unit length) solves R b = Q'z with X's own condition
//! number, and gives (X'X)^-1 = R^-1 R^-T for the covariance.

use nalgebra::{DMatrix, DVector};

use crate::compile::{Compiled, LinearMean};
use crate::eval::{Program, ProgramOptions};
use crate::optim::Objective;

use super::ModelObjective;

/// The design is not factorised above this many cells (8 bytes each):
/// beyond it the general optimizer, which never forms the design, is used.
const MAX_DESIGN_CELLS: usize = 20_000_000;

/// The scaled design counts as rank deficient when its smallest |R_jj| is
/// below this fraction of the largest. Exactly collinear columns leave
/// |R_jj| at the rounding level of the column, about 1e-16 relative;
/// 1e-11 still accepts designs with condition numbers up to 1e11 (Filip's
/// scaled design is near 1e8), whose solution keeps five or more digits.
const RANK_TOL: f64 = 1e-11;

/// Refinement steps of the least-squares solution, at most. Each multiplies
/// the error by about cond(X) eps; two reach the rounding level of the
/// coefficients on every certified linear problem, a third costs little.
const REFINEMENT_STEPS: usize = 3;

/// Designs of at most this many cells get every refinement step: they cost
/// little, and a nonlinear fit by variable projection minimises a function
/// of the coefficients found here, whose rounding noise slows and blurs its
/// convergence (on NIST's Bennett5 and Lanczos2, a less refined solution
/// cost up to two certified digits; the largest certified problem has
/// about 1 300 cells). Larger designs use the two shortcuts below: on the
/// 1e5-row exponential-rise benchmark, where each of the fit's evaluations
/// solves one, they halved the fit's time.
const THOROUGH_CELLS: usize = 10_000;

/// Refinement stops early once a step changes no coefficient by more than
/// this fraction of its value: a further step (three passes over the rows in
/// doubled precision, the bulk of the cost on a large design) would change
/// digits far beyond those a certified value or a standard error shows.
const REFINED_REL: f64 = 1e-12;

/// A large design whose scaled condition number is at most this is
/// factorised a block of rows at a time, never held whole, and gets no
/// refinement on the augmented system (which needs the design and the
/// residuals in memory), only one corrected semi-normal step
/// ([`solve_by_blocks`]). The plain QR solution's relative error is about
///   eps (cond + cond^2 |r| / (|X| |b|))
/// (Golub and Van Loan, section 5.3.8), at most ~1e-12 here whatever the
/// residuals, and the corrected step multiplies it by about cond^2 eps;
/// cond is bounded above by ||R||_F ||R^-1||_F. Typical regression designs
/// (an intercept and covariates of comparable scale) are well inside this.
const COND_WITHOUT_REFINEMENT: f64 = 64.0;

/// The least-squares solution and what the covariance needs from it.
#[derive(Clone)]
pub(super) struct LeastSquares {
    /// The coefficients, in the order of `LinearMean::params`.
    pub coef: Vec<f64>,
    /// (X'X)^-1: times sigma^2 it is the coefficients' covariance.
    pub inv_gram: DMatrix<f64>,
    /// sigma, the same on every row.
    pub sigma: f64,
    /// The residual sum of squares at the solution.
    pub rss: f64,
}

/// The program evaluating, per row, the observation, the mean, sigma and
/// the design columns d mu / d b_j.
pub(super) struct Design {
    program: Program,
    n_coef: usize,
}

impl Design {
    pub fn new(c: &Compiled, lm: &LinearMean) -> Design {
        let s = &c.statements[lm.statement];
        let mut nodes = vec![s.y, s.args[0], s.args[1]];
        nodes.extend(&lm.design);
        let program = Program::new(&c.graph, &[], &nodes, &c.columns, ProgramOptions::UNCACHED);
        Design {
            program,
            n_coef: lm.params.len(),
        }
    }
}

/// Solves the least-squares problem at `theta` (only the coordinates not in
/// `lm.params` matter). None when the design is too big to factorise, has
/// a column of zeros or non-finite values, or is rank deficient: the general
/// optimizer then runs and reports the singular Hessian itself.
pub(super) fn solve(
    c: &Compiled,
    lm: &LinearMean,
    design: &Design,
    theta: &[f64],
) -> Option<LeastSquares> {
    let n = c.n_rows;
    let p = design.n_coef;
    if n < p || n.saturating_mul(p) > MAX_DESIGN_CELLS {
        return None;
    }
    // The offset is the mean with every coefficient at 0 (the mean is affine).
    let mut at_zero = theta.to_vec();
    for k in &lm.params {
        at_zero[*k] = 0.0;
    }
    if n * p > THOROUGH_CELLS {
        match solve_by_blocks(c, design, &at_zero) {
            ByBlocks::Solved(ls) => return Some(ls),
            ByBlocks::Unsolvable => return None,
            // Refinement needs the design and residuals at hand.
            ByBlocks::NeedsRefinement => {}
        }
    }
    let mut cols = design.program.eval_rows(&c.columns, &at_zero);
    let sigma = cols[2].first().copied().unwrap_or(f64::NAN);
    cols.remove(2);
    let z: Vec<f64> = cols[0].iter().zip(&cols[1]).map(|(y, o)| y - o).collect();
    if z.iter().any(|v| !v.is_finite()) {
        return None;
    }
    // Only the design columns are read from here on.
    cols.drain(..2);
    let mut scale = Vec::with_capacity(p);
    let mut x = DMatrix::zeros(n, p);
    for (j, col) in cols.iter().enumerate() {
        let norm = col.iter().map(|v| v * v).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return None;
        }
        scale.push(norm);
        for (i, v) in col.iter().enumerate() {
            x[(i, j)] = v / norm;
        }
    }
    let qr = x.qr();
    let r = qr.r();
    let diag: Vec<f64> = (0..p).map(|j| r[(j, j)].abs()).collect();
    let largest = diag.iter().cloned().fold(0.0, f64::max);
    let smallest = diag.iter().cloned().fold(f64::INFINITY, f64::min);
    if !(smallest > RANK_TOL * largest) {
        return None;
    }
    let r_inv = r.clone().solve_upper_triangular(&DMatrix::identity(p, p))?;
    let zv = DVector::from_vec(z);
    // The scaled coefficients u = R^-1 Q'z; b = S^-1 u. Q'z by applying the
    // Householder reflections, without forming Q.
    let mut qtz = zv.clone();
    qr.q_tr_mul(&mut qtz);
    let u = &r_inv * qtz.rows(0, p);
    let mut coef: Vec<f64> = (0..p).map(|j| u[j] / scale[j]).collect();
    let columns = &cols[..];
    // z_i - r_i - x_i'b in doubled precision, without allocating per row.
    let row_residual = |i: usize, r_i: f64, coef: &[f64]| {
        dot2(
            [(zv[i], 1.0), (r_i, -1.0)]
                .into_iter()
                .chain((0..p).map(|j| (columns[j][i], -coef[j]))),
        )
    };
    let mut resid: Vec<f64> = (0..n).map(|i| row_residual(i, 0.0, &coef)).collect();
    // Iterative refinement on the augmented system
    //   [ I  X ] [r]   [z]
    //   [ X' 0 ] [b] = [0],
    // its residuals f = z - r - X b and g = -X'r computed in doubled
    // precision with the unscaled design: this removes the error term
    // proportional to cond(X)^2 |r| that a plain QR solve leaves when the
    // residuals are large (Wampler5). Each correction solves the system
    // with the QR factors: h = R^-T g_s, du = R^-1 (Q1'f - h),
    // dr = f - Q1 (Q1'f - h), with g_s = S^-1 g the scaled-column residual.
    let rt_inv = r_inv.transpose();
    let cond_bound = r.norm() * r_inv.norm();
    let thorough = n * p <= THOROUGH_CELLS;
    let steps = if !thorough && cond_bound <= COND_WITHOUT_REFINEMENT {
        0
    } else {
        REFINEMENT_STEPS
    };
    let q1 = if steps > 0 {
        qr.q()
    } else {
        DMatrix::zeros(0, 0)
    };
    for _ in 0..steps {
        let f = DVector::from_fn(n, |i, _| row_residual(i, resid[i], &coef));
        let g_scaled = DVector::from_fn(p, |j, _| {
            dot2(columns[j].iter().zip(&resid).map(|(x, r)| (*x, -r))) / scale[j]
        });
        let h = &rt_inv * g_scaled;
        let d1 = q1.transpose() * &f - h;
        let du = &r_inv * &d1;
        let dr = &f - &q1 * d1;
        let mut negligible = true;
        for j in 0..p {
            let step = du[j] / scale[j];
            negligible &= !thorough && step.abs() <= REFINED_REL * coef[j].abs();
            coef[j] += step;
        }
        for i in 0..n {
            resid[i] += dr[i];
        }
        if negligible {
            break;
        }
    }
    if coef.iter().any(|v| !v.is_finite()) {
        return None;
    }
    // (X'X)^-1 = S^-1 (R'R)^-1 S^-1 with S the column scales.
    let unscaled = &r_inv * r_inv.transpose();
    let inv_gram = DMatrix::from_fn(p, p, |i, j| unscaled[(i, j)] / (scale[i] * scale[j]));
    Some(LeastSquares {
        coef,
        inv_gram,
        sigma,
        rss: resid.iter().map(|r| r * r).sum(),
    })
}

/// What [`solve_by_blocks`] found.
enum ByBlocks {
    Solved(LeastSquares),
    /// A zero or non-finite column or observation, or a rank-deficient design.
    Unsolvable,
    /// The scaled design is not well enough conditioned to skip refinement.
    NeedsRefinement,
}

/// Least squares on a large design without holding it: the design, with z as
/// an extra column, is factorised a block of rows at a time, each block
/// stacked under the triangular factor of the blocks before it,
///   [R_k; X_k+1 z_k+1] = Q R_k+1,
/// a sequence of orthogonal transformations of [X z] as a Householder QR of
/// the whole would apply (the same backward stability). Its top p x p part
/// is R and its last column above the diagonal Q'z. The column scales are
/// the norms of R's columns (Q keeps norms), so the scaled factor is R S^-1.
/// When the scaled design is well conditioned (the bound of
/// [`COND_WITHOUT_REFINEMENT`]) the QR solution needs no refinement, and a
/// second pass computes the residual sum of squares in doubled precision.
/// Memory: one block of design rows instead of the n x p design, its
/// factors and a few n-vectors.
fn solve_by_blocks(c: &Compiled, design: &Design, at_zero: &[f64]) -> ByBlocks {
    let p = design.n_coef;
    let mut r_aug = DMatrix::<f64>::zeros(0, p + 1);
    let mut sigma = f64::NAN;
    let mut finite_z = true;
    design
        .program
        .for_each_row_block(&c.columns, at_zero, |first, cols| {
            if first == 0 {
                sigma = cols[2].first().copied().unwrap_or(f64::NAN);
            }
            let m = cols[0].len();
            let top = r_aug.nrows();
            let mut stacked = DMatrix::zeros(top + m, p + 1);
            stacked.rows_mut(0, top).copy_from(&r_aug);
            for i in 0..m {
                for j in 0..p {
                    stacked[(top + i, j)] = cols[3 + j][i];
                }
                let z = cols[0][i] - cols[1][i];
                finite_z &= z.is_finite();
                stacked[(top + i, p)] = z;
            }
            r_aug = stacked.qr().r();
        });
    if !finite_z || r_aug.nrows() < p {
        return ByBlocks::Unsolvable;
    }
    let mut r = r_aug.view((0, 0), (p, p)).into_owned();
    let mut scale = Vec::with_capacity(p);
    for j in 0..p {
        let norm = r.column(j).norm();
        if !(norm.is_finite() && norm > 0.0) {
            return ByBlocks::Unsolvable;
        }
        r.column_mut(j).unscale_mut(norm);
        scale.push(norm);
    }
    let diag: Vec<f64> = (0..p).map(|j| r[(j, j)].abs()).collect();
    let largest = diag.iter().cloned().fold(0.0, f64::max);
    let smallest = diag.iter().cloned().fold(f64::INFINITY, f64::min);
    if !(smallest > RANK_TOL * largest) {
        return ByBlocks::Unsolvable;
    }
    let Some(r_inv) = r.clone().solve_upper_triangular(&DMatrix::identity(p, p)) else {
        return ByBlocks::Unsolvable;
    };
    if r.norm() * r_inv.norm() > COND_WITHOUT_REFINEMENT {
        return ByBlocks::NeedsRefinement;
    }
    // u = R_s^-1 Q'z, b = S^-1 u
    let qtz = r_aug.view((0, p), (p, 1)).into_owned();
    let u = &r_inv * qtz;
    let coef: Vec<f64> = (0..p).map(|j| u[j] / scale[j]).collect();
    // The residuals f = z - X b, each in doubled precision, give the RSS
    // and X'f (summed in doubled precision: it is near 0 at the solution,
    // the difference of large terms). One step of the corrected semi-normal
    // equations, X'X db = X'f, i.e. with R_s = R S^-1,
    //   S db = R_s^-1 R_s^-T S^-1 X'f,
    // then removes most of the QR solution's rounding error (the factor
    // left is about cond(X)^2 eps, at most ~1e-12 here). The RSS at b + db
    // differs from the one at b in the square of |X db|, far below its
    // rounding.
    let mut rss = 0.0;
    let mut xtf = vec![Dot2::default(); p];
    design
        .program
        .for_each_row_block(&c.columns, at_zero, |_, cols| {
            for i in 0..cols[0].len() {
                let z = cols[0][i] - cols[1][i];
                let terms = (0..p).map(|j| (cols[3 + j][i], -coef[j]));
                let f = dot2(std::iter::once((z, 1.0)).chain(terms));
                rss += f * f;
                for (j, acc) in xtf.iter_mut().enumerate() {
                    acc.add(cols[3 + j][i], f);
                }
            }
        });
    let g = DVector::from_fn(p, |j, _| xtf[j].value() / scale[j]);
    let step = &r_inv * (r_inv.transpose() * g);
    let coef: Vec<f64> = (0..p).map(|j| coef[j] + step[j] / scale[j]).collect();
    if coef.iter().any(|v| !v.is_finite()) {
        return ByBlocks::Unsolvable;
    }
    let unscaled = &r_inv * r_inv.transpose();
    let inv_gram = DMatrix::from_fn(p, p, |i, j| unscaled[(i, j)] / (scale[i] * scale[j]));
    ByBlocks::Solved(LeastSquares {
        coef,
        inv_gram,
        sigma,
        rss,
    })
}

/// The NLL as a function of the parameters other than the coefficients,
/// with the coefficients at their least-squares values:
///   F(o) = NLL(b(o), o),  b(o) = argmin_b NLL(b, o).
/// Since the gradient in b vanishes at b(o), the gradient of F is the
/// NLL's gradient in o there, and its Hessian is the Schur complement
///   H_oo - H_ob H_bb^-1 H_bo,  H_bb^-1 = sigma^2 (X'X)^-1.
pub(super) struct Projected<'a> {
    c: &'a Compiled,
    lm: &'a LinearMean,
    design: Design,
    inner: ModelObjective<'a>,
    /// Every free coordinate of theta.
    free: Vec<usize>,
    /// Positions in `free` of the other parameters (the optimizer's
    /// coordinates) and of the coefficients.
    others: Vec<usize>,
    coefs: Vec<usize>,
    theta: Vec<f64>,
    last: Option<LeastSquares>,
    /// The point `last` was solved at.
    last_x: Option<Vec<f64>>,
    /// The coordinate of theta holding sigma, when it is profiled too:
    /// sigma = sqrt(RSS / n) at each point.
    scale: Option<usize>,
}

impl<'a> Projected<'a> {
    pub fn new(
        c: &'a Compiled,
        lm: &'a LinearMean,
        free: Vec<usize>,
        theta: Vec<f64>,
    ) -> Projected<'a> {
        let scale = lm.scale.filter(|k| free.contains(k));
        let others = (0..free.len())
            .filter(|i| !lm.params.contains(&free[*i]) && Some(free[*i]) != scale)
            .collect();
        let coefs = (0..free.len())
            .filter(|i| lm.params.contains(&free[*i]))
            .collect();
        Projected {
            c,
            lm,
            design: Design::new(c, lm),
            inner: ModelObjective::new(c, free.clone(), theta.clone()),
            free,
            others,
            coefs,
            theta,
            last: None,
            last_x: None,
            scale,
        }
    }

    /// Sets the other parameters to `x` and solves for the coefficients;
    /// the full theta, or None where the least-squares problem has no
    /// unique solution.
    pub fn theta_at(&mut self, x: &[f64]) -> Option<Vec<f64>> {
        // The optimizer asks for the value and then the Hessian at the same
        // point: solve once.
        if self.last.is_some() && self.last_x.as_deref() == Some(x) {
            return Some(self.theta.clone());
        }
        self.last_x = None;
        for (i, v) in self.others.iter().zip(x) {
            self.theta[self.free[*i]] = *v;
        }
        let mut ls = solve(self.c, self.lm, &self.design, &self.theta)?;
        for (k, b) in self.lm.params.iter().zip(&ls.coef) {
            self.theta[*k] = *b;
        }
        if let Some(k) = self.scale {
            // The Gaussian NLL is minimised over sigma at sigma^2 = RSS / n.
            let sigma = (ls.rss / self.c.n_rows as f64).sqrt();
            let t = self.c.params[k].transform.to_theta(sigma);
            if !(sigma > 0.0 && t.is_finite()) {
                return None;
            }
            self.theta[k] = t;
            ls.sigma = sigma;
        }
        self.last = Some(ls);
        self.last_x = Some(x.to_vec());
        Some(self.theta.clone())
    }

    pub fn scale(&self) -> Option<usize> {
        self.scale
    }

    /// The least-squares solution at the last point evaluated.
    pub fn last(&self) -> Option<&LeastSquares> {
        self.last.as_ref()
    }

    fn full(&self) -> Vec<f64> {
        self.free.iter().map(|k| self.theta[*k]).collect()
    }
}

impl Objective for Projected<'_> {
    fn dim(&self) -> usize {
        self.others.len()
    }

    fn value_grad(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        if self.theta_at(x).is_none() {
            return f64::NAN;
        }
        let full = self.full();
        let mut g = vec![0.0; full.len()];
        let f = self.inner.value_grad(&full, &mut g);
        for (gi, i) in grad.iter_mut().zip(&self.others) {
            *gi = g[*i];
        }
        f
    }

    fn value_grad_hess(&mut self, x: &[f64], grad: &mut [f64], hess: &mut DMatrix<f64>) -> f64 {
        if self.theta_at(x).is_none() {
            return f64::NAN;
        }
        let full = self.full();
        let n = full.len();
        let mut g = vec![0.0; n];
        let mut h = DMatrix::zeros(n, n);
        let f = self.inner.value_grad_hess(&full, &mut g, &mut h);
        for (gi, i) in grad.iter_mut().zip(&self.others) {
            *gi = g[*i];
        }
        let Some(ls) = &self.last else {
            return f64::NAN;
        };
        let mut s = schur_complement(&h, &self.others, &self.coefs, &ls.inv_gram, ls.sigma, false);
        if let Some(k) = self.scale {
            // sigma is eliminated too; its cross derivatives with the
            // coefficients, X'r / sigma^3, vanish at the solution, so its
            // block is separate: subtract h_os h_so / h_ss.
            let Some(j) = self.free.iter().position(|f| *f == k) else {
                return f64::NAN;
            };
            for (a, i) in self.others.iter().enumerate() {
                for (b, l) in self.others.iter().enumerate() {
                    s[(a, b)] -= h[(*i, j)] * h[(j, *l)] / h[(j, j)];
                }
            }
        }
        hess.copy_from(&s);
        f
    }
}

/// H_oo - H_ob C H_bo with C = sigma^2 (X'X)^-1, the inverse of H_bb; the
/// Hessian of the NLL in the other parameters once the coefficients follow
/// their least-squares values.
///
/// With `to_rounding` (for the fit's report), an entry that cancels to the
/// rounding level of its terms is 0, and the matrix is exactly symmetric.
/// The rounding error of a sum of m products is about m eps sum |terms| at
/// most (Higham, ch. 3); an entry of H_ob C H_bo sums b^2 products of three
/// factors (b coefficients), and the subtraction adds one more rounding, so
/// m = b^2 + 2; a factor of 4 allows for the rounding already in H.
/// Anything below that is no curvature at all. Without this, a parameter
/// the mean does not identify (it enters only through a ratio with a
/// coefficient) keeps a diagonal of -7e-12 and off-diagonals of 1e-11 from
/// entries of 4e4, and reads as a saddle. The optimizer steps on the plain
/// complement: it needs no verdict, and its trust region absorbs rounding.
pub(super) fn schur_complement(
    h: &DMatrix<f64>,
    others: &[usize],
    coefs: &[usize],
    inv_gram: &DMatrix<f64>,
    sigma: f64,
    to_rounding: bool,
) -> DMatrix<f64> {
    let block = |rows: &[usize], cols: &[usize]| {
        DMatrix::from_fn(rows.len(), cols.len(), |i, j| h[(rows[i], cols[j])])
    };
    let (h_oo, h_ob) = (block(others, others), block(others, coefs));
    let c = inv_gram * (sigma * sigma);
    let s = &h_oo - &h_ob * &c * h_ob.transpose();
    if !to_rounding {
        return s;
    }
    let size = h_oo.abs() + h_ob.abs() * c.abs() * h_ob.abs().transpose();
    let tol = 4.0 * (coefs.len() * coefs.len() + 2) as f64 * f64::EPSILON;
    let n = others.len();
    DMatrix::from_fn(n, n, |i, j| {
        let v = 0.5 * (s[(i, j)] + s[(j, i)]);
        if v.abs() <= tol * size[(i, j)].max(size[(j, i)]) {
            0.0
        } else {
            v
        }
    })
}

/// sum_k a_k b_k as if computed in twice the working precision and rounded
/// once (Ogita, Rump and Oishi's Dot2): each product's rounding error comes
/// exactly from a fused multiply-add, each sum's from Knuth's TwoSum, and
/// the errors are accumulated separately.
fn dot2(terms: impl IntoIterator<Item = (f64, f64)>) -> f64 {
    let mut acc = Dot2::default();
    for (a, b) in terms {
        acc.add(a, b);
    }
    acc.value()
}

/// The running state of [`dot2`]: a sum and the rounding errors it left.
#[derive(Clone, Copy, Default)]
struct Dot2 {
    sum: f64,
    err: f64,
}

impl Dot2 {
    fn add(&mut self, a: f64, b: f64) {
        let p = a * b;
        let p_err = a.mul_add(b, -p);
        let s = self.sum + p;
        let z = s - self.sum;
        let s_err = (self.sum - (s - z)) + (p - z);
        self.sum = s;
        self.err += s_err + p_err;
    }

    fn value(self) -> f64 {
        self.sum + self.err
    }
}

#[cfg(test)]
mod tests {
    use super::dot2;

    #[test]
    fn dot2_keeps_what_plain_summation_cancels() {
        // 1e16 + 1 - 1e16 is 0 in double precision, 1 exactly here.
        assert_eq!(dot2([(1e16, 1.0), (1.0, 1.0), (-1e16, 1.0)]), 1.0);
        // (1 + 2^-30)^2 - 1 - 2^-29 = 2^-60: the product's rounding error.
        let a = 1.0 + 2f64.powi(-30);
        assert_eq!(
            dot2([(a, a), (-1.0, 1.0), (-(2f64.powi(-29)), 1.0)]),
            2f64.powi(-60)
        );
    }
}
