//! Training against held-out NLL: is the model overconfident?
//!
//! A model fitted on some rows predicts those rows better than new ones. By
//! the reasoning behind AIC (Akaike 1974), for a correctly specified model
//! with k free parameters the expected in-sample mean NLL is lower than the
//! out-of-sample one by about k / n_train per row. A held-out gap much
//! larger than that, beyond the noise of the held-out mean, says the model
//! claims more certainty than the data support.

use serde::Serialize;

/// Standard errors of the held-out mean NLL allowed above the expected
/// optimism before warning: 2 keeps chance warnings to about 2.5% (one
/// sided) when the held-out rows are many enough for a normal mean.
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
    /// Standard error of the held-out mean NLL: sd(test rows) / sqrt(n_test).
    pub test_se: f64,
    /// gap > expected_optimism + GAP_SE * test_se.
    pub overconfident: bool,
}

/// Compares per-row training and held-out NLL of a fit with `k` free
/// parameters:
///   overconfident  <=>  mean(test) - mean(train) > k / n_train + 2 sd(test) / sqrt(n_test).
pub fn check(train_nll: &[f64], test_nll: &[f64], k: usize) -> GapCheck {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let train_mean = mean(train_nll);
    let test_mean = mean(test_nll);
    let n_test = test_nll.len();
    // Sample standard deviation (n - 1 in the denominator).
    let var = if n_test > 1 {
        test_nll
            .iter()
            .map(|v| (v - test_mean).powi(2))
            .sum::<f64>()
            / (n_test - 1) as f64
    } else {
        f64::NAN
    };
    let test_se = (var / n_test as f64).sqrt();
    let expected_optimism = k as f64 / train_nll.len() as f64;
    let gap = test_mean - train_mean;
    GapCheck {
        n_train: train_nll.len(),
        n_test,
        train_mean_nll: train_mean,
        test_mean_nll: test_mean,
        gap,
        expected_optimism,
        test_se,
        overconfident: gap > expected_optimism + GAP_SE * test_se,
    }
}

impl GapCheck {
    /// The warning to print when the check fails.
    pub fn warning(&self, what: &str) -> Option<String> {
        self.overconfident.then(|| {
            format!(
                "{what}: the held-out mean NLL ({:.6}) exceeds the training mean NLL ({:.6}) by {:.6}, more than the {:.6} expected from fitting (k / n_train) plus {GAP_SE} standard errors of the held-out mean ({:.6} each): the model is overconfident on new data",
                self.test_mean_nll, self.train_mean_nll, self.gap, self.expected_optimism, self.test_se
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_rule_by_hand() {
        // Train mean 1.0 over 10 rows with k = 2: optimism 0.2.
        // Test values 1, 2, 3: mean 2, sd 1, se 1/sqrt(3) = 0.57735.
        // Gap 1.0 <= 0.2 + 2 * 0.57735 = 1.3547: no warning.
        let c = check(&[1.0; 10], &[1.0, 2.0, 3.0], 2);
        assert!((c.gap - 1.0).abs() < 1e-15);
        assert!((c.test_se - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        assert!(!c.overconfident);
        // Test values 3, 4, 5: gap 3 > 1.3547: warning.
        let c = check(&[1.0; 10], &[3.0, 4.0, 5.0], 2);
        assert!(c.overconfident);
        assert!(c.warning("all").is_some());
    }
}
