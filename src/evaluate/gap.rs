//! Training against held-out NLL: is the model overconfident?
//!
//! A model fitted on some rows predicts those rows better than new ones. By
//! the reasoning behind AIC (Akaike 1974), for a correctly specified model
//! with k free parameters the expected in-sample mean NLL is lower than the
//! out-of-sample one by about k / n_train per row. A held-out gap much
//! larger than that, beyond the noise of the two means, says the model
//! claims more certainty than the data support.

use serde::Serialize;

/// Standard errors of the gap allowed above the expected optimism before
/// warning: 2 keeps chance warnings to about 2.5% (one sided) when both
/// parts have enough rows for their means to be near normal.
pub const GAP_SE: f64 = 2.0;

/// The comparison of one set of per-row NLL values.
#[derive(Debug, Clone, Serialize)]
pub struct GapCheck {
    pub n_train: usize,
    pub n_test: usize,
    pub train_mean_nll: f64,
    pub test_mean_nll: f64,
    /// test_mean_nll - train_mean_nll.
    pub gap: f64,
    /// k / n_train: the gap expected from fitting alone.
    pub expected_optimism: f64,
    /// Standard error of the gap, the two parts being disjoint rows:
    /// sqrt(var(test) / n_test + var(train) / n_train).
    pub gap_se: f64,
    /// gap > expected_optimism + GAP_SE * gap_se.
    pub overconfident: bool,
}

/// Compares per-row training and held-out NLL of a fit with `k` free
/// parameters:
///   overconfident  <=>  mean(test) - mean(train)
///                         > k / n_train + 2 sqrt(var(test) / n_test + var(train) / n_train),
/// with sample variances (n - 1 in the denominator).
pub fn check(train_nll: &[f64], test_nll: &[f64], k: usize) -> GapCheck {
    let (train_mean, train_var) = mean_and_variance(train_nll);
    let (test_mean, test_var) = mean_and_variance(test_nll);
    let (n_train, n_test) = (train_nll.len(), test_nll.len());
    let gap_se = (test_var / n_test as f64 + train_var / n_train as f64).sqrt();
    let expected_optimism = k as f64 / n_train as f64;
    let gap = test_mean - train_mean;
    GapCheck {
        n_train,
        n_test,
        train_mean_nll: train_mean,
        test_mean_nll: test_mean,
        gap,
        expected_optimism,
        gap_se,
        // A held-out row the model gives probability 0 (an infinite mean
        // NLL) is the extreme of overconfidence, whatever the spread.
        overconfident: gap > expected_optimism + GAP_SE * gap_se
            || (test_mean == f64::INFINITY && train_mean.is_finite()),
    }
}

/// Six decimals for a number of ordinary size; an exponent (or `inf`,
/// `NaN`) otherwise, so a table column stays readable.
pub fn fixed6(v: f64) -> String {
    if v.is_finite() && v.abs() < 1e7 {
        // A value that rounds to 0 is shown as 0, not -0.000000.
        let v = if v.abs() < 5e-7 { 0.0 } else { v };
        format!("{v:.6}")
    } else {
        crate::infer::fmt_num(v)
    }
}

/// The mean and the sample variance (NaN below two values).
fn mean_and_variance(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        f64::NAN
    };
    (mean, var)
}

impl GapCheck {
    /// The largest gap that does not warn.
    pub fn allowed(&self) -> f64 {
        self.expected_optimism + GAP_SE * self.gap_se
    }

    /// The warning to print when the check fails.
    pub fn warning(&self, what: &str) -> Option<String> {
        self.overconfident.then(|| {
            format!(
                "{what}: the held-out mean NLL ({}) exceeds the training mean NLL ({}) by {}, more than the {} expected from fitting (k / n_train) plus {GAP_SE} standard errors of the difference ({} each): the model is overconfident on new data",
                fixed6(self.test_mean_nll),
                fixed6(self.train_mean_nll),
                fixed6(self.gap),
                fixed6(self.expected_optimism),
                fixed6(self.gap_se)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed6_shows_a_value_that_rounds_to_zero_as_zero() {
        assert_eq!(fixed6(-1e-9), "0.000000");
        assert_eq!(fixed6(-4e-7), "0.000000");
        assert_eq!(fixed6(-6e-7), "-0.000001");
        assert_eq!(fixed6(0.0617), "0.061700");
    }

    #[test]
    fn gap_rule_by_hand() {
        // Train: ten rows of 1.0 (mean 1, variance 0), k = 2: optimism 0.2.
        // Test values 1, 2, 3: mean 2, sample variance 1, so the gap's
        // standard error is sqrt(1/3 + 0/10) = 0.57735.
        // Gap 1.0 <= 0.2 + 2 * 0.57735 = 1.3547: no warning.
        let c = check(&[1.0; 10], &[1.0, 2.0, 3.0], 2);
        assert!((c.gap - 1.0).abs() < 1e-15);
        assert!((c.gap_se - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        assert!(!c.overconfident);
        // Test values 3, 4, 5: gap 3 > 1.3547: warning.
        let c = check(&[1.0; 10], &[3.0, 4.0, 5.0], 2);
        assert!(c.overconfident);
        assert!(c.warning("all").is_some());
        // Train values 0, 2 (mean 1, variance 2) against test 3, 4, 5:
        // se = sqrt(1/3 + 2/2) = 1.1547, allowed 1 + 2.3094 = 3.3094 with
        // k = 2 on 2 rows; the gap of 3 does not warn.
        let c = check(&[0.0, 2.0], &[3.0, 4.0, 5.0], 2);
        assert!((c.gap_se - (1.0f64 / 3.0 + 1.0).sqrt()).abs() < 1e-15);
        assert!(!c.overconfident);
    }
}
