//! A table's KVs at the view's ts, in key order (VIEW-3). The key ranges asked for (the
//! record range of each physical id for rows, every range of the table for checksums) are
//! cut into segments, one per snapshot range pair (its write SST and default SST, DATA-6),
//! tiling each range; a segment is walked on its own from any key, so the row files can
//! resume there and size passes can run segments in parallel. Walking MVCC-resolves the pair
//! with `kv_scan::walk_pair` (DATA-4) and merges the log overlay over it: an overlay key
//! replaces the snapshot's version (Put) or removes it (Delete).

use super::file::{Result, ViewError};
use super::overlay::{Overlay, OverlayIter, Resolved};
use super::Shared;
use crate::codec::table::KeyRange;
use crate::codec::write::WriteType;
use crate::engine::kv_scan::walk_pair_with;
use crate::format::backupmeta::DataFile;
use crate::format::naming::snapshot::Cf;
use crate::storage::local_map::LocalMap;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// A range's write file and its default file (indexes into `Shared::files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pair {
    pub write: usize,
    pub default: Option<usize>,
}

/// Raw keys `[start, end)` (empty `end` = unbounded) and the snapshot pair holding them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    pub pair: Option<Pair>,
}

fn below_end(key: &[u8], end: &[u8]) -> bool {
    end.is_empty() || key < end
}

/// A range's (write file, default file).
type Slots = (Option<usize>, Option<usize>);

/// The pairs among `files` (DATA-6: a range's files share their bounds). A default file
/// without a write file holds nothing MVCC can read and is left out.
fn pairs(all: &[DataFile], files: &[usize]) -> Vec<Pair> {
    let mut by_range: BTreeMap<(&[u8], &[u8]), Slots> = BTreeMap::new();
    for &i in files {
        let f = &all[i];
        let slot = by_range
            .entry((f.start_key.as_slice(), f.end_key.as_slice()))
            .or_default();
        match f.cf {
            Cf::Write => slot.0 = Some(i),
            Cf::Default => slot.1 = Some(i),
            Cf::Lock => {}
        }
    }
    by_range
        .into_values()
        .filter_map(|(w, d)| w.map(|write| Pair { write, default: d }))
        .collect()
}

/// Cuts `ranges` into segments: per range, one segment per snapshot pair meeting it (from
/// the pair's start, the first from the range's start) and one for the whole range when no
/// pair meets it. Overlapping pairs are an error (DATA-6).
pub(crate) fn segments(
    all: &[DataFile],
    files: &[usize],
    ranges: &[KeyRange],
) -> Result<Vec<Segment>> {
    let pairs = pairs(all, files);
    let mut out = Vec::new();
    for r in ranges {
        let mut meeting: Vec<&Pair> = pairs
            .iter()
            .filter(|p| {
                let f = &all[p.write];
                below_end(&r.start, &f.end_key) && below_end(&f.start_key, &r.end)
            })
            .collect();
        meeting.sort_by(|a, b| all[a.write].start_key.cmp(&all[b.write].start_key));
        if meeting.is_empty() {
            out.push(Segment {
                start: r.start.clone(),
                end: r.end.clone(),
                pair: None,
            });
            continue;
        }
        for (i, p) in meeting.iter().enumerate() {
            let f = &all[p.write];
            if i > 0 {
                let prev = &all[meeting[i - 1].write];
                if prev.end_key.is_empty() || prev.end_key > f.start_key {
                    return Err(ViewError::Invalid {
                        context: format!("data files {} and {}", prev.name, f.name),
                        detail: "their key ranges overlap (DATA-6)".into(),
                    });
                }
            }
            let start = if i == 0 {
                r.start.clone()
            } else {
                f.start_key.clone().max(r.start.clone())
            };
            let end = match meeting.get(i + 1) {
                Some(n) => all[n.write].start_key.clone(),
                None => r.end.clone(),
            };
            out.push(Segment {
                start,
                end,
                pair: Some(**p),
            });
        }
    }
    Ok(out)
}

/// The stored bytes of a data file: memory-mapped when local, else read whole.
fn stored(shared: &Shared, f: &DataFile) -> Result<Bytes> {
    if let Some(map) = LocalMap::open_object(shared.storage.as_ref(), &f.name)? {
        return Ok(map.into_bytes());
    }
    Ok(shared.block_on(shared.storage.read(&f.name))?)
}

/// The plaintext of a data file (CRYPT-5).
fn plaintext(shared: &Shared, f: &DataFile) -> Result<Bytes> {
    let bytes = stored(shared, f)?;
    if !shared.cipher.is_encrypted() {
        return Ok(bytes);
    }
    let mut plain = bytes.to_vec();
    shared
        .cipher
        .apply(&f.cipher_iv, &mut plain)
        .map_err(|e| e.in_file(f.name.clone()))?;
    Ok(Bytes::from(plain))
}

type Visit<'v> = dyn FnMut(&[u8], &[u8]) -> Result<Flow> + 'v;

/// Emits the overlay's live keys below `upto` (all when `None`); false when the visitor
/// stopped.
fn drain(
    upto: Option<&[u8]>,
    ov: &mut Option<OverlayIter<'_>>,
    ov_next: &mut Option<Resolved>,
    visit: &mut Visit<'_>,
) -> Result<bool> {
    while let Some((k, v)) = ov_next.as_ref() {
        if upto.is_some_and(|u| k.as_slice() >= u) {
            break;
        }
        if let Some(v) = v {
            if visit(k, v)?.is_break() {
                return Ok(false);
            }
        }
        *ov_next = match ov.as_mut() {
            Some(it) => it.next_resolved()?,
            None => None,
        };
    }
    Ok(true)
}

/// What a visitor says after each KV.
pub(crate) type Flow = ControlFlow<()>;

/// Walks the KVs of `seg` with keys `>= resume` (or from the segment's start) in key order,
/// snapshot merged with `overlay` (VIEW-3); `visit` gets (raw key, value) of every live KV.
/// Returns `Break` when the visitor stopped early.
pub(crate) fn walk_segment(
    shared: &Shared,
    seg: &Segment,
    resume: Option<&[u8]>,
    overlay: Option<&Overlay>,
    visit: &mut Visit<'_>,
) -> Result<Flow> {
    let lower: &[u8] = match resume {
        Some(r) if r > seg.start.as_slice() => r,
        _ => &seg.start,
    };
    let mut ov = overlay.map(|o| o.iter(lower, &seg.end));
    // The overlay's next resolved key, looked ahead.
    let mut ov_next = match ov.as_mut() {
        Some(it) => it.next_resolved()?,
        None => None,
    };
    let mut stop = false;
    let mut err: Option<ViewError> = None;
    if let Some(p) = seg.pair {
        let wf = &shared.files[p.write];
        let wbytes = plaintext(shared, wf)?;
        let dfile = p.default.map(|d| &shared.files[d]);
        let dbytes = match dfile {
            Some(d) => Some(plaintext(shared, d)?),
            None => None,
        };
        // The views need no CSUM-2 aggregates: skip the CRC-64 of every KV.
        let walked = walk_pair_with(
            (&wf.name, &wbytes),
            dfile
                .zip(dbytes.as_ref())
                .map(|(d, b)| (d.name.as_str(), &b[..])),
            false,
            |kv| {
                let key = kv.raw_key;
                if key < lower || !below_end(key, &seg.end) {
                    return Ok(());
                }
                let res = (|| -> Result<bool> {
                    if !drain(Some(key), &mut ov, &mut ov_next, visit)? {
                        return Ok(false);
                    }
                    if let Some((k, v)) = ov_next.as_ref().filter(|(k, _)| k.as_slice() == key) {
                        // The log's version at the ts replaces the snapshot's.
                        let go = match v {
                            Some(v) => visit(k, v)?.is_continue(),
                            None => true,
                        };
                        ov_next = match ov.as_mut() {
                            Some(it) => it.next_resolved()?,
                            None => None,
                        };
                        return Ok(go);
                    }
                    if kv.write_type == WriteType::Put {
                        return Ok(visit(key, kv.value)?.is_continue());
                    }
                    Ok(true)
                })();
                match res {
                    Ok(true) => Ok(()),
                    Ok(false) => {
                        stop = true;
                        Err(crate::format::FormatError::invalid(
                            "VIEW-9", "walk", "stopped",
                        ))
                    }
                    Err(e) => {
                        err = Some(e);
                        Err(crate::format::FormatError::invalid(
                            "VIEW-9", "walk", "failed",
                        ))
                    }
                }
            },
        );
        if let Some(e) = err {
            return Err(e);
        }
        if stop {
            return Ok(ControlFlow::Break(()));
        }
        walked?;
    }
    if !drain(None, &mut ov, &mut ov_next, visit)? {
        return Ok(ControlFlow::Break(()));
    }
    Ok(ControlFlow::Continue(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::checksum::Checksum;

    fn file(name: &str, cf: Cf, start: &[u8], end: &[u8]) -> DataFile {
        DataFile {
            name: name.into(),
            sha256: vec![],
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            start_version: 0,
            end_version: 1,
            checksum: Checksum::default(),
            cf,
            size: 0,
            cipher_iv: vec![],
        }
    }

    fn range(a: &[u8], b: &[u8]) -> KeyRange {
        KeyRange {
            start: a.to_vec(),
            end: b.to_vec(),
        }
    }

    #[test]
    fn view_3_segments_tile_each_range_one_per_pair() {
        let all = vec![
            file("w2", Cf::Write, b"m", b"t"),
            file("d1", Cf::Default, b"c", b"m"),
            file("w1", Cf::Write, b"c", b"m"),
            file("w3", Cf::Write, b"x", b""),
        ];
        let segs = segments(&all, &[0, 1, 2, 3], &[range(b"a", b"z")]).unwrap();
        let got: Vec<(&[u8], &[u8], Option<Pair>)> = segs
            .iter()
            .map(|s| (s.start.as_slice(), s.end.as_slice(), s.pair))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    &b"a"[..],
                    &b"m"[..],
                    Some(Pair {
                        write: 2,
                        default: Some(1)
                    })
                ),
                (
                    b"m",
                    b"x",
                    Some(Pair {
                        write: 0,
                        default: None
                    })
                ),
                (
                    b"x",
                    b"z",
                    Some(Pair {
                        write: 3,
                        default: None
                    })
                ),
            ]
        );
        // A range no pair meets is one segment without snapshot data.
        let segs = segments(&all, &[0, 1, 2, 3], &[range(b"0", b"1")]).unwrap();
        assert_eq!(
            segs,
            vec![Segment {
                start: b"0".to_vec(),
                end: b"1".to_vec(),
                pair: None
            }]
        );
    }

    #[test]
    fn view_3_overlapping_pairs_are_an_error() {
        let all = vec![
            file("w1", Cf::Write, b"a", b"n"),
            file("w2", Cf::Write, b"m", b"z"),
        ];
        let e = segments(&all, &[0, 1], &[range(b"a", b"z")]).unwrap_err();
        assert!(e.to_string().contains("DATA-6"), "{e}");
    }
}
