//! Where each kept row came from in the file.

/// The 1-based data-row number in the file of each kept row, strictly
/// increasing.
///
/// While the numbers run on without a gap (no row dropped or filtered out,
/// the usual case) they are held as their first number and count, not one
/// word per row: at a million rows a list would be as large as a column of
/// data. The first gap turns them into a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRows(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    /// first, first + 1, ..., first + len - 1.
    Run {
        first: usize,
        len: usize,
    },
    List(Vec<usize>),
}

impl Default for SourceRows {
    fn default() -> Self {
        SourceRows::new()
    }
}

impl SourceRows {
    pub fn new() -> SourceRows {
        SourceRows(Repr::Run { first: 1, len: 0 })
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Run { len, .. } => *len,
            Repr::List(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file row of kept row `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<usize> {
        match &self.0 {
            Repr::Run { first, len } => (i < *len).then(|| first + i),
            Repr::List(rows) => rows.get(i).copied(),
        }
    }

    /// The file row of kept row `i`, or `i + 1` (its number when no row
    /// before it was left out) past the end.
    pub fn row_of(&self, i: usize) -> usize {
        self.get(i).unwrap_or(i + 1)
    }

    pub fn last(&self) -> Option<usize> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).map(|i| self.row_of(i))
    }

    pub fn to_vec(&self) -> Vec<usize> {
        self.iter().collect()
    }

    /// Appends the next kept row, which must come after the last one.
    pub fn push(&mut self, row: usize) {
        debug_assert!(self.last().is_none_or(|last| row > last));
        match &mut self.0 {
            Repr::Run {
                first,
                len: len @ 0,
            } => (*first, *len) = (row, 1),
            Repr::Run { first, len } if *first + *len == row => *len += 1,
            Repr::Run { first, len } => {
                let mut rows: Vec<usize> = (*first..*first + *len).collect();
                rows.push(row);
                self.0 = Repr::List(rows);
            }
            Repr::List(rows) => rows.push(row),
        }
    }

    /// Appends the rows `rows.start..rows.end`.
    pub fn extend_run(&mut self, rows: std::ops::Range<usize>) {
        match &mut self.0 {
            Repr::Run { first, len } if *len == 0 || *first + *len == rows.start => {
                if *len == 0 {
                    *first = rows.start;
                }
                *len += rows.len();
            }
            _ => rows.for_each(|r| self.push(r)),
        }
    }
}

impl FromIterator<usize> for SourceRows {
    fn from_iter<I: IntoIterator<Item = usize>>(rows: I) -> SourceRows {
        let mut out = SourceRows::new();
        rows.into_iter().for_each(|r| out.push(r));
        out
    }
}

impl From<Vec<usize>> for SourceRows {
    fn from(rows: Vec<usize>) -> SourceRows {
        rows.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_stays_a_run_until_its_first_gap() {
        let mut rows = SourceRows::new();
        assert_eq!((rows.len(), rows.last(), rows.get(0)), (0, None, None));
        rows.extend_run(3..6);
        rows.push(6);
        assert_eq!(rows.0, Repr::Run { first: 3, len: 4 });
        assert_eq!(rows.to_vec(), [3, 4, 5, 6]);
        rows.push(9);
        rows.extend_run(10..12);
        assert_eq!(rows.to_vec(), [3, 4, 5, 6, 9, 10, 11]);
        assert!(matches!(rows.0, Repr::List(_)));
        assert_eq!(
            (rows.get(4), rows.get(7), rows.row_of(7)),
            (Some(9), None, 8)
        );
        assert_eq!(rows.last(), Some(11));
    }

    #[test]
    fn collected_rows_equal_whatever_their_representation() {
        let run: SourceRows = (1..=4).collect();
        assert_eq!(run, SourceRows::from(vec![1, 2, 3, 4]));
        assert_eq!(run.iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
        let gaps = SourceRows::from(vec![2, 5]);
        assert_eq!((gaps.len(), gaps.row_of(0), gaps.row_of(1)), (2, 2, 5));
    }
}
