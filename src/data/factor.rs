//! Building a factor column: interning levels, then ordering them.
//!
//! While rows stream in, each new level gets a provisional code in order of
//! first appearance; a level seen before costs one hash lookup and no
//! allocation. [`FactorBuilder::finish`] then sorts the levels and rewrites
//! the codes, so the result does not depend on the order of the rows.

use rustc_hash::FxHashMap;

use super::cell::parse_finite;
use super::Column;

/// Accumulates the codes of one factor column.
#[derive(Debug, Default)]
pub(crate) struct FactorBuilder {
    /// Provisional code of each level seen so far.
    code_of: FxHashMap<Box<str>, u32>,
    /// Levels in order of first appearance; `levels[code]` is its text.
    levels: Vec<Box<str>>,
    /// Provisional code of each row.
    codes: Vec<u32>,
}

impl FactorBuilder {
    /// Append one row whose (trimmed, valid) level text is `level`.
    pub(crate) fn push(&mut self, level: &str) {
        let code = match self.code_of.get(level) {
            Some(&code) => code,
            None => {
                // More than u32::MAX distinct levels would need more memory
                // than the rows holding them, so this cannot fail in practice.
                let code = u32::try_from(self.levels.len()).expect("too many factor levels");
                self.levels.push(level.into());
                self.code_of.insert(level.into(), code);
                code
            }
        };
        self.codes.push(code);
    }

    /// The finished column, with levels sorted as described in
    /// [`sort_levels`] and codes indexing into them.
    pub(crate) fn finish(self) -> Column {
        let order = sort_levels(&self.levels);

        // `order[new] = old`; invert it to map each provisional code.
        let mut new_code = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_code[old] = new as u32;
        }

        let codes = self
            .codes
            .iter()
            .map(|&old| new_code[old as usize])
            .collect();
        let mut levels: Vec<Option<Box<str>>> = self.levels.into_iter().map(Some).collect();
        let levels = order
            .iter()
            .map(|&old| String::from(levels[old].take().expect("each level is taken once")))
            .collect();
        Column::Factor { codes, levels }
    }
}

/// The order of `levels` as indices into it: numerical when every level
/// parses as a finite number (ties such as `1` and `1.0` broken by text),
/// otherwise lexicographic by bytes, so `B` sorts before `a`.
fn sort_levels(levels: &[Box<str>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..levels.len()).collect();
    let numbers: Option<Vec<f64>> = levels.iter().map(|l| parse_finite(l)).collect();
    match numbers {
        Some(numbers) => order.sort_by(|&a, &b| {
            numbers[a]
                .total_cmp(&numbers[b])
                .then_with(|| levels[a].cmp(&levels[b]))
        }),
        None => order.sort_by(|&a, &b| levels[a].cmp(&levels[b])),
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn build(values: &[&str]) -> (Vec<u32>, Vec<String>) {
        let mut builder = FactorBuilder::default();
        for value in values {
            builder.push(value);
        }
        match builder.finish() {
            Column::Factor { codes, levels } => (codes, levels),
            Column::Real(_) => unreachable!("a factor builder makes factors"),
        }
    }

    #[test]
    fn text_levels_sort_lexicographically() {
        let (codes, levels) = build(&["setosa", "virginica", "setosa", "versicolor"]);
        assert_eq!(levels, ["setosa", "versicolor", "virginica"]);
        assert_eq!(codes, [0, 2, 0, 1]);
    }

    #[test]
    fn lexicographic_order_is_by_bytes() {
        let (_, levels) = build(&["b", "a", "B", "10", "9"]);
        assert_eq!(levels, ["10", "9", "B", "a", "b"]);
    }

    #[test]
    fn numeric_levels_sort_numerically() {
        let (codes, levels) = build(&["10", "9", "-1", "2.5", "9"]);
        assert_eq!(levels, ["-1", "2.5", "9", "10"]);
        assert_eq!(codes, [3, 2, 0, 1, 2]);
    }

    #[test]
    fn equal_numbers_written_differently_are_distinct_levels() {
        let (codes, levels) = build(&["1.0", "2", "1"]);
        assert_eq!(levels, ["1", "1.0", "2"]);
        assert_eq!(codes, [1, 2, 0]);
    }

    #[test]
    fn one_non_number_makes_the_order_lexicographic() {
        let (_, levels) = build(&["10", "9", "x"]);
        assert_eq!(levels, ["10", "9", "x"]);
    }

    proptest! {
        #[test]
        fn codes_map_back_to_the_values(values in vec("[a-c0-9]{1,3}", 0..40)) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let (codes, levels) = build(&refs);
            prop_assert_eq!(codes.len(), values.len());
            for (code, value) in codes.iter().zip(&values) {
                prop_assert_eq!(&levels[*code as usize], value);
            }
            let mut distinct = values.clone();
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(levels.len(), distinct.len());
        }

        #[test]
        fn level_order_ignores_row_order(mut values in vec("[a-c0-9]{1,3}", 1..30)) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let (_, forward) = build(&refs);
            values.reverse();
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let (_, backward) = build(&refs);
            prop_assert_eq!(forward, backward);
        }
    }
}
