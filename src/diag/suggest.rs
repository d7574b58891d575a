//! "Did you mean ...?" suggestions for misspelt names.
//!
//! [`closest`] picks the candidate nearest to a name by edit distance
//! (insertions, deletions, substitutions and swaps of two neighbouring
//! characters each count one), and only when it is near enough:
//! see [`max_edits`].

/// How many characters of a name each allowed edit must be paid for with:
/// a name of `n` characters may be `(n + 1) / EDIT_COST_IN_CHARS` edits away
/// from its suggestion. With 3, a one-letter name gets no suggestion, names of
/// two to four letters allow one edit, five to seven letters two, and so on.
pub const EDIT_COST_IN_CHARS: usize = 3;

/// The largest edit distance at which a candidate is still suggested for a
/// name of `len` characters.
pub fn max_edits(len: usize) -> usize {
    (len + 1) / EDIT_COST_IN_CHARS
}

/// The candidate closest to `name`, if one is within [`max_edits`] of it.
///
/// A candidate that differs from `name` only in letter case is always
/// suggested. A candidate equal to `name` is never suggested. Ties are
/// broken by the smaller distance ignoring case, then alphabetically, so the
/// answer does not depend on the order of the candidates.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = max_edits(name.chars().count());
    let lower = name.to_lowercase();
    let mut best: Option<((usize, usize), &'a str)> = None;
    for cand in candidates {
        if cand == name {
            continue;
        }
        let folded = edit_distance(&lower, &cand.to_lowercase());
        let exact = edit_distance(name, cand);
        if folded > 0 && exact > limit {
            continue;
        }
        let key = (if folded == 0 { 0 } else { exact }, folded);
        let better = match best {
            None => true,
            Some((best_key, best_cand)) => key < best_key || (key == best_key && cand < best_cand),
        };
        if better {
            best = Some((key, cand));
        }
    }
    best.map(|(_, cand)| cand)
}

/// The optimal string alignment distance between two strings, counted in
/// characters: the number of insertions, deletions, substitutions and swaps
/// of two neighbouring characters that turn one into the other.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the dynamic programming table: two back, one back, now.
    let mut two_back: Vec<usize> = vec![0; b.len() + 1];
    let mut one_back: Vec<usize> = (0..=b.len()).collect();
    let mut now: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        now[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (one_back[j] + 1)
                .min(now[j - 1] + 1)
                .min(one_back[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            now[j] = d;
        }
        std::mem::swap(&mut two_back, &mut one_back);
        std::mem::swap(&mut one_back, &mut now);
    }
    one_back[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("Normal", "Nromal"), 1);
        assert_eq!(edit_distance("sigma", "sigm"), 1);
        assert_eq!(edit_distance("μ", "mu"), 2);
    }

    #[test]
    fn thresholds() {
        assert_eq!(max_edits(1), 0);
        assert_eq!(max_edits(2), 1);
        assert_eq!(max_edits(4), 1);
        assert_eq!(max_edits(5), 2);
        assert_eq!(max_edits(8), 3);
    }

    #[test]
    fn suggests_near_names() {
        let dists = ["Normal", "LogNormal", "Poisson", "Gamma", "Beta"];
        assert_eq!(closest("Normla", dists), Some("Normal"));
        assert_eq!(closest("normal", dists), Some("Normal"));
        assert_eq!(closest("Poison", dists), Some("Poisson"));
        assert_eq!(closest("Gama", dists), Some("Gamma"));
        assert_eq!(closest("Weibull", dists), None);
        assert_eq!(closest("Normal", dists), None);
    }

    #[test]
    fn short_names() {
        assert_eq!(closest("x", ["y", "z"]), None);
        assert_eq!(closest("mu", ["nu", "sigma"]), Some("nu"));
        assert_eq!(closest("X", ["x"]), Some("x"));
    }

    #[test]
    fn ties_do_not_depend_on_order() {
        assert_eq!(closest("ab", ["ac", "aa"]), Some("aa"));
        assert_eq!(closest("ab", ["aa", "ac"]), Some("aa"));
        // A case-only difference wins over a one-letter change.
        assert_eq!(closest("Beta", ["beta", "Bet"]), Some("beta"));
        assert_eq!(closest("Beta", ["Bet", "beta"]), Some("beta"));
    }
}
