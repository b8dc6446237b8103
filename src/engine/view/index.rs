//! The sparse index of a row file (VIEW-9, VIEW-15): per segment, where each chunk seen so
//! far starts (its offset in the segment and the key of its first row) and, once one pass
//! rendered the segment to its end, its length and rows. Chunks are recorded only in order,
//! by the pass that renders the first chunk not yet known (the frontier), so the index never
//! has holes. Pure bookkeeping: no I/O.

use std::sync::Arc;

/// The start of a chunk inside its segment.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub off: u64,
    pub resume: Option<Arc<[u8]>>,
}

/// What is known of one segment.
#[derive(Debug, Clone)]
pub(crate) struct SegIndex {
    /// Starts of chunks 0..points.len(); the last one's length is known only when complete.
    pub points: Vec<Point>,
    pub complete: bool,
    /// Length (when complete) and rows of the chunks recorded.
    pub len: u64,
    pub rows: u64,
}

impl SegIndex {
    pub fn new() -> SegIndex {
        SegIndex {
            points: vec![Point {
                off: 0,
                resume: None,
            }],
            complete: false,
            len: 0,
            rows: 0,
        }
    }

    /// Where the known part ends: the segment's length, or the start of the frontier chunk.
    pub fn known_end(&self) -> u64 {
        if self.complete {
            self.len
        } else {
            self.points.last().map_or(0, |p| p.off)
        }
    }

    /// The chunk holding relative offset `rel` (< known_end) and its (start, end).
    pub fn chunk_at(&self, rel: u64) -> (usize, u64, u64) {
        let c = self.points.partition_point(|p| p.off <= rel) - 1;
        let end = self.points.get(c + 1).map_or(self.len, |p| p.off);
        (c, self.points[c].off, end)
    }

    /// Records chunk `c` (rendered at `off`, `len` bytes, `rows` rows, followed by a chunk
    /// starting at key `next`) if it is the frontier chunk.
    pub fn record(&mut self, c: usize, off: u64, len: usize, rows: u64, next: Option<&Arc<[u8]>>) {
        if self.complete || c + 1 != self.points.len() || self.points[c].off != off {
            return;
        }
        self.rows += rows;
        let end = off + len as u64;
        match next {
            Some(k) => self.points.push(Point {
                off: end,
                resume: Some(k.clone()),
            }),
            None => {
                self.complete = true;
                self.len = end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Option<Arc<[u8]>> {
        Some(Arc::from(k.as_bytes()))
    }

    #[test]
    fn view_9_chunks_are_recorded_in_order_and_located_by_offset() {
        let mut ix = SegIndex::new();
        assert_eq!(ix.known_end(), 0);
        ix.record(0, 0, 100, 3, key("b").as_ref());
        // Not the frontier (chunk 0 again, or a chunk ahead): ignored.
        ix.record(0, 0, 100, 3, key("b").as_ref());
        ix.record(2, 250, 10, 1, None);
        assert_eq!(ix.points.len(), 2);
        assert_eq!(ix.known_end(), 100);
        ix.record(1, 100, 150, 5, key("c").as_ref());
        assert_eq!(ix.chunk_at(0), (0, 0, 100));
        assert_eq!(ix.chunk_at(99), (0, 0, 100));
        assert_eq!(ix.chunk_at(100).0, 1);
        assert!(!ix.complete);
        ix.record(2, 250, 10, 1, None);
        assert!(ix.complete);
        assert_eq!((ix.len, ix.rows, ix.known_end()), (260, 9, 260));
        assert_eq!(ix.chunk_at(255), (2, 250, 260));
        assert_eq!(ix.points[2].resume.as_deref(), Some(&b"c"[..]));
        // A wrong offset for the frontier chunk is not taken.
        let mut other = SegIndex::new();
        other.record(0, 7, 10, 1, None);
        assert!(!other.complete);
    }
}
