//! Reproducible random splits of rows: a held-out share and K folds.
//!
//! Both start from one permutation of the row indices drawn with a seeded
//! `StdRng` (rand 0.10, ChaCha12): the same seed, rows and program build give
//! the same split. rand documents that StdRng's algorithm may change between
//! its releases; Cargo.lock pins the release, so a split changes only when
//! the dependency is upgraded.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// A random permutation of 0..n_rows from `seed`.
pub fn permutation(n_rows: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..n_rows).collect();
    idx.shuffle(&mut rng);
    idx
}

/// Splits 0..n_rows into (train, test), each increasing: the first
/// round(fraction * n_rows) positions of the permutation are the test rows.
/// Both parts keep at least one row when n_rows >= 2.
pub fn holdout(n_rows: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let perm = permutation(n_rows, seed);
    let n_test = ((fraction * n_rows as f64).round() as usize).clamp(1, n_rows.saturating_sub(1));
    let mut test: Vec<usize> = perm[..n_test].to_vec();
    let mut train: Vec<usize> = perm[n_test..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    (train, test)
}

/// The fold (0..k) of each row: position p of the permutation goes to fold
/// floor(p k / n_rows), so fold sizes differ by at most one.
pub fn folds(n_rows: usize, k: usize, seed: u64) -> Vec<usize> {
    let perm = permutation(n_rows, seed);
    let mut fold = vec![0; n_rows];
    for (pos, row) in perm.iter().enumerate() {
        fold[*row] = pos * k / n_rows;
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_is_reproducible_and_a_partition() {
        let (train, test) = holdout(100, 0.2, 7);
        assert_eq!(test.len(), 20);
        assert_eq!(train.len(), 80);
        assert_eq!(holdout(100, 0.2, 7), (train.clone(), test.clone()));
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_ne!(holdout(100, 0.2, 8).1, test);
    }

    #[test]
    fn folds_have_balanced_sizes() {
        let f = folds(10, 3, 1);
        let sizes: Vec<usize> = (0..3)
            .map(|k| f.iter().filter(|x| **x == k).count())
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), 10);
        assert!(sizes.iter().all(|s| *s == 3 || *s == 4), "{sizes:?}");
    }
}
