//! Which parts of the requested raw key ranges are backed up already. Responses arrive per
//! region range in any order; what is left after a round (region errors, moved regions) is
//! sent again, as BR's fine-grained backup does. Keys are raw; an empty end means +infinity.

use std::collections::BTreeMap;

/// Disjoint done intervals, merged on insert.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    done: BTreeMap<Vec<u8>, Vec<u8>>,
}

fn end_lt(a: &[u8], b: &[u8]) -> bool {
    // a < b with empty = +infinity
    match (a.is_empty(), b.is_empty()) {
        (true, _) => false,
        (false, true) => true,
        (false, false) => a < b,
    }
}

fn end_max(a: Vec<u8>, b: Vec<u8>) -> Vec<u8> {
    if end_lt(&a, &b) {
        b
    } else {
        a
    }
}

impl Coverage {
    /// Marks [start, end) done.
    pub fn add(&mut self, start: &[u8], end: &[u8]) {
        if !end.is_empty() && start >= end {
            return;
        }
        let mut s = start.to_vec();
        let mut e = end.to_vec();
        // absorb every interval that overlaps or touches [s, e)
        let touching: Vec<Vec<u8>> = self
            .done
            .iter()
            .filter(|(ds, de)| {
                (e.is_empty() || ds.as_slice() <= e.as_slice())
                    && (de.is_empty() || s.as_slice() <= de.as_slice())
            })
            .map(|(ds, _)| ds.clone())
            .collect();
        for k in touching {
            let de = self.done.remove(&k).unwrap_or_default();
            if k < s {
                s = k;
            }
            e = end_max(e, de);
        }
        self.done.insert(s, e);
    }

    /// The parts of [start, end) not done yet.
    pub fn gaps(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        let mut cur = start.to_vec();
        for (ds, de) in &self.done {
            if !end.is_empty() && ds.as_slice() >= end {
                break;
            }
            if !de.is_empty() && de.as_slice() <= cur.as_slice() {
                continue;
            }
            if ds.as_slice() > cur.as_slice() {
                let stop = if !end.is_empty() && end < ds.as_slice() {
                    end
                } else {
                    ds
                };
                out.push((cur.clone(), stop.to_vec()));
            }
            if de.is_empty() {
                return out;
            }
            cur = de.clone();
            if !end.is_empty() && cur.as_slice() >= end {
                return out;
            }
        }
        out.push((cur, end.to_vec()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gaps_shrink_as_pieces_arrive() {
        let mut c = Coverage::default();
        assert_eq!(c.gaps(b"a", b"z"), vec![(b"a".to_vec(), b"z".to_vec())]);
        c.add(b"c", b"f");
        c.add(b"m", b"");
        assert_eq!(
            c.gaps(b"a", b"z"),
            vec![
                (b"a".to_vec(), b"c".to_vec()),
                (b"f".to_vec(), b"m".to_vec())
            ]
        );
        c.add(b"a", b"c");
        c.add(b"f", b"m");
        assert!(c.gaps(b"a", b"z").is_empty());
        assert!(c.gaps(b"a", b"").is_empty());
    }

    proptest! {
        #[test]
        fn gaps_are_exactly_the_uncovered_points(
            pieces in proptest::collection::vec((0u8..40, 1u8..10), 0..12),
            probe in 0u8..60,
        ) {
            let mut c = Coverage::default();
            let mut covered = [false; 64];
            for (s, l) in &pieces {
                let e = s.saturating_add(*l).min(50);
                c.add(&[*s], &[e]);
                for x in *s..e { covered[x as usize] = true; }
            }
            let gaps = c.gaps(&[0], &[50]);
            let in_gap = gaps.iter().any(|(s, e)| s.as_slice() <= [probe].as_slice() && [probe].as_slice() < e.as_slice());
            if probe < 50 {
                prop_assert_eq!(in_gap, !covered[probe as usize]);
            } else {
                prop_assert!(!in_gap);
            }
        }
    }
}
