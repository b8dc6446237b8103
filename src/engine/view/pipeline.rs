//! Rendering one segment on every core (VIEW-16): a walker thread reads the segment's KVs
//! (SST decoding, decompression, MVCC, overlay merge: `kvs::walk_segment`) into batches, a few
//! render threads turn batches into rows in parallel, and the calling thread puts the rendered
//! batches back in order and cuts them into chunks by the deterministic rule of `lazy` (a chunk
//! closes before the first row that starts at or past the chunk size). Channels between the
//! stages are bounded, so memory stays a few batches per stage; when `emit` says stop, every
//! stage ends at its next batch.

use super::file::{Result, ViewError};
use super::kvs::{walk_segment, Flow, Segment};
use super::overlay::Overlay;
use super::render::Renderer;
use super::Shared;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// Batches waiting per stage. With batches of an eighth of a chunk, a pass runs about a chunk
/// and a half ahead of what it delivered (random reads pay for a few chunks, not a segment).
const QUEUE: usize = 4;
/// The smallest batch (KV bytes).
const MIN_BATCH: usize = 512;
/// Render threads at most.
const MAX_RENDERERS: usize = 4;

/// One rendered chunk of a segment.
pub(crate) struct ChunkOut {
    pub data: Vec<u8>,
    pub rows: u64,
    /// The first key of the next chunk; `None` at the segment's end.
    pub next: Option<Arc<[u8]>>,
}

/// KVs in one buffer: (key start, key end, value end) per KV; values follow their keys.
#[derive(Default)]
struct KvBatch {
    seq: u64,
    data: Vec<u8>,
    items: Vec<(u32, u32, u32)>,
}

impl KvBatch {
    fn key(&self, i: usize) -> &[u8] {
        let (a, b, _) = self.items[i];
        &self.data[a as usize..b as usize]
    }
}

/// A batch's rows: the text and, per row, its end in `text` and its KV index.
struct Rendered {
    kvs: KvBatch,
    text: Vec<u8>,
    rows: Vec<(usize, usize)>,
}

type Work = Arc<Mutex<Receiver<Result<KvBatch>>>>;

fn renderers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, MAX_RENDERERS)
}

/// Walks `seg` from `resume` into batches; stops when the workers are gone.
fn walk(
    shared: &Shared,
    seg: &Segment,
    resume: Option<&[u8]>,
    overlay: Option<&Overlay>,
    batch_bytes: usize,
    tx: &SyncSender<Result<KvBatch>>,
) {
    let mut seq = 0u64;
    let mut batch = KvBatch::default();
    let r = walk_segment(shared, seg, resume, overlay, &mut |k, v| {
        let a = batch.data.len();
        batch.data.extend_from_slice(k);
        let b = batch.data.len();
        batch.data.extend_from_slice(v);
        let c = batch.data.len();
        let fits = |x: usize| {
            u32::try_from(x).map_err(|_| ViewError::Invalid {
                context: "render batch".into(),
                detail: "a KV over 4 GiB".into(),
            })
        };
        batch.items.push((fits(a)?, fits(b)?, fits(c)?));
        if batch.data.len() >= batch_bytes {
            let full = std::mem::take(&mut batch);
            if tx.send(Ok(KvBatch { seq, ..full })).is_err() {
                return Ok(ControlFlow::Break(()));
            }
            seq += 1;
        }
        Ok(Flow::Continue(()))
    });
    match r {
        Ok(ControlFlow::Continue(())) => {
            let _ = tx.send(Ok(KvBatch { seq, ..batch }));
        }
        Ok(ControlFlow::Break(())) => {}
        Err(e) => {
            let _ = tx.send(Err(e));
        }
    }
}

/// Renders batches until the work queue closes.
fn render_batches(
    shared: &Shared,
    renderer: &Renderer,
    work: &Work,
    out: &SyncSender<Result<Rendered>>,
) {
    loop {
        let next = work.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(kvs) = next else { return };
        let r = kvs.and_then(|kvs| {
            let mut text = Vec::with_capacity(kvs.data.len() + kvs.data.len() / 4);
            let mut rows = Vec::with_capacity(kvs.items.len());
            for (i, &(a, b, c)) in kvs.items.iter().enumerate() {
                let (k, v) = (
                    &kvs.data[a as usize..b as usize],
                    &kvs.data[b as usize..c as usize],
                );
                if renderer.render(k, v, &mut text)? {
                    rows.push((text.len(), i));
                }
            }
            shared.cache.rows_rendered(rows.len() as u64);
            Ok(Rendered { kvs, text, rows })
        });
        let failed = r.is_err();
        if out.send(r).is_err() || failed {
            return;
        }
    }
}

/// Renders segment `seg` from `resume` into chunks of about `chunk` bytes; `emit` returns
/// false to stop (then this returns Ok).
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_segment(
    shared: &Shared,
    renderer: &Renderer,
    seg: &Segment,
    resume: Option<&[u8]>,
    overlay: Option<&Overlay>,
    chunk: usize,
    emit: &mut dyn FnMut(ChunkOut) -> bool,
) -> Result<()> {
    shared.cache.pass_started();
    let (kv_tx, kv_rx) = sync_channel::<Result<KvBatch>>(QUEUE);
    let (row_tx, row_rx) = sync_channel::<Result<Rendered>>(QUEUE);
    let work: Work = Arc::new(Mutex::new(kv_rx));
    std::thread::scope(|scope| {
        let batch_bytes = (chunk / 8).max(MIN_BATCH);
        scope.spawn(move || walk(shared, seg, resume, overlay, batch_bytes, &kv_tx));
        for _ in 0..renderers() {
            let (work, row_tx) = (work.clone(), row_tx.clone());
            scope.spawn(move || render_batches(shared, renderer, &work, &row_tx));
        }
        drop(row_tx);
        // Dropping the receivers (on any return) stops the walker and the renderers.
        let _work = work;
        assemble(row_rx, chunk, emit)
    })
}

/// Puts rendered batches back in order and cuts chunks.
fn assemble(
    rx: Receiver<Result<Rendered>>,
    chunk: usize,
    emit: &mut dyn FnMut(ChunkOut) -> bool,
) -> Result<()> {
    let mut pending: BTreeMap<u64, Rendered> = BTreeMap::new();
    let mut want = 0u64;
    let mut buf = Vec::with_capacity(chunk + chunk / 8);
    let mut rows = 0u64;
    for r in rx.iter() {
        let r = r?;
        pending.insert(r.kvs.seq, r);
        while let Some(b) = pending.remove(&want) {
            want += 1;
            let mut start = 0;
            for &(end, i) in &b.rows {
                if buf.len() >= chunk {
                    let out = ChunkOut {
                        data: std::mem::replace(&mut buf, Vec::with_capacity(chunk + chunk / 8)),
                        rows,
                        next: Some(Arc::from(b.kvs.key(i))),
                    };
                    rows = 0;
                    if !emit(out) {
                        return Ok(());
                    }
                }
                buf.extend_from_slice(&b.text[start..end]);
                rows += 1;
                start = end;
            }
        }
    }
    // The walker sends its last batch only when the walk ended; a gap means it stopped.
    if !pending.is_empty() {
        return Err(ViewError::Invalid {
            context: "render".into(),
            detail: "a batch was lost between the walker and the renderers".into(),
        });
    }
    emit(ChunkOut {
        data: buf,
        rows,
        next: None,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Cut = Vec<(Vec<u8>, u64, Option<Vec<u8>>)>;

    /// Rows (key, text) sent as batches of `batch` rows, in `order`, cut at `chunk` bytes.
    fn cut(rows: &[(Vec<u8>, Vec<u8>)], batch: usize, reversed: bool, chunk: usize) -> Cut {
        let (tx, rx) = sync_channel(rows.len() + 1);
        let mut batches: Vec<Rendered> = rows
            .chunks(batch)
            .enumerate()
            .map(|(seq, part)| {
                let mut kvs = KvBatch {
                    seq: seq as u64,
                    ..KvBatch::default()
                };
                let (mut text, mut ends) = (Vec::new(), Vec::new());
                for (i, (k, t)) in part.iter().enumerate() {
                    let a = kvs.data.len() as u32;
                    kvs.data.extend_from_slice(k);
                    let b = kvs.data.len() as u32;
                    kvs.items.push((a, b, b));
                    text.extend_from_slice(t);
                    ends.push((text.len(), i));
                }
                Rendered {
                    kvs,
                    text,
                    rows: ends,
                }
            })
            .collect();
        if reversed {
            batches.reverse();
        }
        for b in batches {
            tx.send(Ok(b)).unwrap();
        }
        drop(tx);
        let mut out = Vec::new();
        assemble(rx, chunk, &mut |c| {
            out.push((c.data, c.rows, c.next.map(|k| k.to_vec())));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn view_16_chunks_are_cut_the_same_whatever_the_batches() {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..300usize)
            .map(|i| {
                let text = vec![b'a' + (i % 26) as u8; 1 + (i * 7) % 50];
                (format!("k{i:04}").into_bytes(), text)
            })
            .collect();
        let one = cut(&rows, 1, false, 100);
        for (batch, reversed) in [(2, false), (7, true), (64, false), (300, false), (13, true)] {
            assert_eq!(cut(&rows, batch, reversed, 100), one, "batches of {batch}");
        }
        // The rule: every chunk but the last reaches the size with its last row and not
        // before it; `next` is the key of the following chunk's first row.
        let all: Vec<u8> = rows.iter().flat_map(|r| r.1.clone()).collect();
        assert_eq!(
            one.iter().flat_map(|c| c.0.clone()).collect::<Vec<_>>(),
            all
        );
        assert_eq!(one.iter().map(|c| c.1).sum::<u64>(), rows.len() as u64);
        let mut first_row = 0usize;
        for (i, (data, n, next)) in one.iter().enumerate() {
            let n = *n as usize;
            let last_row_len = rows[first_row + n - 1].1.len();
            if i + 1 < one.len() {
                assert!(
                    data.len() >= 100 && data.len() - last_row_len < 100,
                    "chunk {i}"
                );
                assert_eq!(next.as_deref(), Some(rows[first_row + n].0.as_slice()));
            } else {
                assert!(next.is_none());
            }
            first_row += n;
        }
    }
}
