//! The metrics of held-out evaluation, as plain functions of predictions and
//! outcomes. `docs/evaluation.md` states each formula; the comments here
//! repeat them next to the code.

use serde::Serialize;

/// How predicted probabilities are grouped for calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binning {
    /// Bins [0, 1/B), [1/B, 2/B), ..., [(B-1)/B, 1]; a bin may be empty.
    EqualWidth,
    /// The predictions sorted and cut into B runs whose sizes differ by at
    /// most one (the first n mod B runs hold one more); tied predictions
    /// may fall on both sides of a cut.
    EqualMass,
}

/// One row of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// The bin's range: its fixed edges for equal width, the smallest and
    /// largest prediction in it for equal mass.
    pub lower: f64,
    pub upper: f64,
    pub n: usize,
    /// Mean predicted probability in the bin (`None` when empty).
    pub mean_predicted: Option<f64>,
    /// Observed frequency of the event in the bin (`None` when empty).
    pub observed: Option<f64>,
}

/// The reliability table of predictions `pred` (probabilities of an event)
/// against `hit` (1 when the event happened, else 0), rows in `rows`.
pub fn reliability(
    pred: &[f64],
    hit: &[f64],
    rows: &[usize],
    n_bins: usize,
    binning: Binning,
) -> Vec<Bin> {
    let n_bins = n_bins.max(1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_bins];
    match binning {
        Binning::EqualWidth => {
            for &i in rows {
                // Bin b holds [b/B, (b+1)/B); p = 1 goes to the last bin.
                let b = ((pred[i] * n_bins as f64).floor() as usize).min(n_bins - 1);
                members[b].push(i);
            }
        }
        Binning::EqualMass => {
            let mut sorted: Vec<usize> = rows.to_vec();
            sorted.sort_by(|a, b| pred[*a].total_cmp(&pred[*b]).then(a.cmp(b)));
            let n = sorted.len();
            let (base, extra) = (n / n_bins, n % n_bins);
            let mut start = 0;
            for (b, m) in members.iter_mut().enumerate() {
                let len = base + usize::from(b < extra);
                m.extend_from_slice(&sorted[start..start + len]);
                start += len;
            }
        }
    }
    members
        .iter()
        .enumerate()
        .filter(|(_, m)| binning == Binning::EqualWidth || !m.is_empty())
        .map(|(b, m)| {
            let n = m.len();
            let mean = |v: &[f64]| (n > 0).then(|| m.iter().map(|i| v[*i]).sum::<f64>() / n as f64);
            let (lower, upper) = match binning {
                Binning::EqualWidth => (b as f64 / n_bins as f64, (b + 1) as f64 / n_bins as f64),
                Binning::EqualMass => (
                    m.iter().map(|i| pred[*i]).fold(f64::INFINITY, f64::min),
                    m.iter().map(|i| pred[*i]).fold(f64::NEG_INFINITY, f64::max),
                ),
            };
            Bin {
                lower,
                upper,
                n,
                mean_predicted: mean(pred),
                observed: mean(hit),
            }
        })
        .collect()
}

/// Expected calibration error of a reliability table:
///   ECE = sum_b (n_b / n) |observed_b - mean_predicted_b|.
pub fn expected_calibration_error(bins: &[Bin]) -> f64 {
    let n: usize = bins.iter().map(|b| b.n).sum();
    if n == 0 {
        return f64::NAN;
    }
    bins.iter()
        .filter_map(|b| {
            let gap = (b.observed? - b.mean_predicted?).abs();
            Some(b.n as f64 / n as f64 * gap)
        })
        .sum()
}

/// Mean of `v` over `rows` (NaN for no rows).
pub fn mean_over(v: &[f64], rows: &[usize]) -> f64 {
    rows.iter().map(|i| v[*i]).sum::<f64>() / rows.len() as f64
}

/// Kolmogorov-Smirnov distance of values in [0, 1] from the uniform
/// distribution: with u_(1) <= ... <= u_(n) sorted,
///   D = max_i max(i/n - u_(i), u_(i) - (i-1)/n).
pub fn ks_uniform(u: &[f64]) -> f64 {
    let mut s: Vec<f64> = u.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    s.iter().enumerate().fold(0.0, |d, (i, v)| {
        let above = (i + 1) as f64 / n - v;
        let below = v - i as f64 / n;
        d.max(above).max(below)
    })
}

/// Terms of the Kolmogorov series summed at most; they fall like
/// exp(-2 j^2 lambda^2), below 1e-16 long before for lambda > 0.2.
const KOLMOGOROV_TERMS: usize = 100;

/// Asymptotic p-value of the KS distance `d` on `n` values, with
/// Stephens' small-sample correction (Stephens 1970; Numerical Recipes,
/// 3rd ed., section 14.3.3):
///   lambda = (sqrt(n) + 0.12 + 0.11 / sqrt(n)) d,
///   p = Q(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2).
/// Accurate to about two digits for n >= 5, enough for a flag.
pub fn ks_p_value(d: f64, n: usize) -> f64 {
    if n == 0 || !d.is_finite() {
        return f64::NAN;
    }
    let sn = (n as f64).sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    // Below lambda = 0.2 the series converges slowly and Q is 1 to 1e-10.
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for j in 1..=KOLMOGOROV_TERMS {
        let jf = j as f64;
        let term = (-2.0 * jf * jf * lambda * lambda).exp();
        sum += if j % 2 == 1 { term } else { -term };
        if term < 1e-18 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Counts of values in [0, 1] in `n_bins` equal-width bins (1 goes to the
/// last bin).
pub fn histogram_unit(u: &[f64], n_bins: usize) -> Vec<usize> {
    let n_bins = n_bins.max(1);
    let mut counts = vec![0; n_bins];
    for v in u {
        let b = ((v * n_bins as f64).floor().max(0.0) as usize).min(n_bins - 1);
        counts[b] += 1;
    }
    counts
}

/// Pearson's chi-square of bin counts against equal expected counts:
///   X^2 = sum_b (O_b - E)^2 / E,  E = n / B,
/// with B - 1 degrees of freedom; returns (X^2, df, p-value).
pub fn chi_square_uniform(counts: &[usize]) -> (f64, usize, f64) {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let n: usize = counts.iter().sum();
    let n_bins = counts.len();
    if n == 0 || n_bins < 2 {
        return (f64::NAN, 0, f64::NAN);
    }
    let expected = n as f64 / n_bins as f64;
    let x2: f64 = counts
        .iter()
        .map(|o| (*o as f64 - expected).powi(2) / expected)
        .sum();
    let df = n_bins - 1;
    let p = ChiSquared::new(df as f64).map_or(f64::NAN, |d| d.sf(x2));
    (x2, df, p)
}

/// Binomial standard errors below nominal that count as "well below": with
/// n rows the observed coverage of a calibrated interval has standard error
/// sqrt(L (1 - L) / n), so 3 of them is a shortfall rarely (about 0.1%) due
/// to chance.
pub const COVERAGE_SHORTFALL_SE: f64 = 3.0;

/// A shortfall must also be at least this large (5 percentage points) to be
/// reported, so a huge test set does not flag a negligible miss.
pub const COVERAGE_SHORTFALL_MIN: f64 = 0.05;

/// True when an interval of nominal level `nominal` covering `observed` of
/// `n` rows is well below nominal: an overconfident model.
///   observed < nominal - max(0.05, 3 sqrt(nominal (1 - nominal) / n)).
pub fn coverage_well_below(nominal: f64, observed: f64, n: usize) -> bool {
    let se = (nominal * (1.0 - nominal) / n as f64).sqrt();
    observed < nominal - COVERAGE_SHORTFALL_MIN.max(COVERAGE_SHORTFALL_SE * se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_of_a_perfect_grid_is_half_a_step() {
        // u = (i - 1/2)/n is the most uniform sample: D = 1/(2n).
        let u: Vec<f64> = (0..10).map(|i| (i as f64 + 0.5) / 10.0).collect();
        assert!((ks_uniform(&u) - 0.05).abs() < 1e-15);
    }

    #[test]
    fn ks_p_value_matches_the_kolmogorov_tail() {
        // Q(lambda) at lambda = 1.358 is 0.05 (the classical 5% point).
        let n = 10_000;
        let sn = (n as f64).sqrt();
        let d = 1.358 / (sn + 0.12 + 0.11 / sn);
        assert!((ks_p_value(d, n) - 0.05).abs() < 2e-4);
    }
}
