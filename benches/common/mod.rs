//! Data generation, model compilation and the hand-written reference loop
//! shared by the benchmarks.

use nll::compile::{self, Compiled};
use nll::data::{Column, ColumnKind, DataSet};
use nll::model;
use nll::syntax;

/// A small deterministic generator (SplitMix64), so the data are the same
/// in every run without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(1e-300);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Parses, checks and compiles `source` on real columns of `n_rows` rows.
pub fn compile_source(source: &str, n_rows: usize, columns: Vec<(&str, Vec<f64>)>) -> Compiled {
    let program = syntax::parse_program(source).expect("benchmark model parses");
    let (m, diags) = model::check(&program);
    assert!(!diags.iter().any(|d| d.is_error()), "{diags:?}");
    let ds = DataSet {
        n_rows,
        columns: columns
            .into_iter()
            .map(|(n, v)| (n.to_string(), ColumnKind::Real, Column::Real(v)))
            .collect(),
        n_dropped: 0,
        n_filtered_out: 0,
        source_rows: (1..=n_rows).collect(),
    };
    compile::compile(&m, &ds, &ds.source_rows).expect("benchmark model compiles")
}

/// The fused loop for the linear Gaussian model, theta = (a, b, log s):
///   r = y - a - b x,  nll = n (log s + log(2 pi)/2) + sum r^2 / (2 s^2),
///   d/da = -sum r / s^2,  d/db = -sum r x / s^2,  d/dlog s = n - sum r^2 / s^2.
#[inline(never)]
pub fn linear_loop(x: &[f64], y: &[f64], theta: &[f64]) -> [f64; 4] {
    let (a, b, s) = (theta[0], theta[1], theta[2].exp());
    let inv_s2 = 1.0 / (s * s);
    let (mut sr, mut srx, mut sr2) = (0.0, 0.0, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        let r = yi - a - b * xi;
        sr += r;
        srx += r * xi;
        sr2 += r * r;
    }
    let n = x.len() as f64;
    [
        n * (s.ln() + 0.918_938_533_204_672_8) + 0.5 * sr2 * inv_s2,
        -sr * inv_s2,
        -srx * inv_s2,
        n - sr2 * inv_s2,
    ]
}
