//! A row file (`rows.csv`, `rows.jsonl`) as a positional file with an exact size, decoded
//! lazily and in bounded memory (VIEW-9, VIEW-15).
//!
//! The file is the header followed by the rendered segments of the table (`kvs`), each cut
//! into chunks of about `chunk` bytes at row boundaries (a chunk closes before the first row
//! that starts at or past the target, so the cut is the same whoever renders it). The sparse
//! index keeps, per segment, the offset and resume key of every chunk seen so far; a segment's
//! length is known once one pass rendered it to its end. A read finds its chunk in the chunk
//! cache, or takes an idle decoding pass ("cursor": a thread rendering one segment from one
//! index point into a channel of two chunks) that is at or shortly before it, or starts one at
//! the nearest index point. Reads past the known part extend the index as they go, so a read
//! at offset 0 streams at once; `size` renders every segment not yet known, segments in
//! parallel, counting bytes without keeping them.

use super::cache::ChunkKey;
use super::catalog::TableData;
use super::file::{Result, ViewError, ViewFile};
use super::index::{Point, SegIndex};
use super::kvs::{segments, Segment};
use super::overlay::Overlay;
use super::pipeline::{render_segment, ChunkOut};
use super::render::{Renderer, RowFormat};
use super::Shared;
use crate::codec::model::HandleKind;
use crate::codec::table::{record_range_common, record_range_int, KeyRange};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// Idle cursors kept per file.
const IDLE_CURSORS: usize = 4;
/// A cursor this many chunks before the wanted one is pulled forward instead of starting a
/// new pass.
const MAX_SKIP: usize = 8;
/// Chunks a cursor renders ahead of its reader.
const AHEAD: usize = 2;
/// Segments rendered at once by a size pass.
const SIZE_WORKERS: usize = 2;

/// The record ranges of a table's physical ids, in `physical_ids()` order (VIEW-4).
pub(crate) fn record_ranges(data: &TableData) -> Result<Vec<KeyRange>> {
    let common = matches!(data.info.handle_kind()?, HandleKind::Common { .. });
    Ok(data
        .info
        .physical_ids()
        .into_iter()
        .map(|id| {
            if common {
                record_range_common(id)
            } else {
                record_range_int(id)
            }
        })
        .collect())
}

/// Everything needed to render: made on first use (may build the log overlay).
pub(crate) struct Prepared {
    pub renderer: Renderer,
    pub header: Arc<[u8]>,
    pub segs: Vec<Segment>,
    pub overlay: Arc<Option<Overlay>>,
}

/// The immutable half of a lazy file, shared with its cursor threads.
struct Inner {
    id: u64,
    data: Arc<TableData>,
    format: RowFormat,
    chunk: usize,
    prepared: Mutex<Option<Arc<Prepared>>>,
    /// Last: dropped after the overlay that lives in its scratch directory.
    shared: Arc<Shared>,
}

impl Inner {
    fn prepared(&self) -> Result<Arc<Prepared>> {
        let mut slot = self.prepared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = slot.as_ref() {
            return Ok(p.clone());
        }
        let renderer = Renderer::new(&self.data.info, self.format)?;
        let header: Arc<[u8]> = Arc::from(renderer.header());
        let segs = segments(
            &self.shared.files,
            &self.data.files,
            &record_ranges(&self.data)?,
        )?;
        let overlay = self.data.overlay(&self.shared)?;
        let p = Arc::new(Prepared {
            renderer,
            header,
            segs,
            overlay,
        });
        *slot = Some(p.clone());
        Ok(p)
    }

    /// Renders segment `s` from `resume`, cutting chunks (module doc); `emit` returns false
    /// to stop.
    fn render(
        &self,
        p: &Prepared,
        s: usize,
        resume: Option<&[u8]>,
        emit: &mut dyn FnMut(ChunkOut) -> bool,
    ) -> Result<()> {
        render_segment(
            &self.shared,
            &p.renderer,
            &p.segs[s],
            resume,
            p.overlay.as_ref().as_ref(),
            self.chunk,
            emit,
        )
    }
}

/// A decoding pass in its own thread, rendering one segment into a bounded channel.
struct Cursor {
    seg: usize,
    /// The next chunk it will deliver and its relative offset.
    next: usize,
    off: u64,
    rx: Option<Receiver<std::result::Result<ChunkOut, String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Cursor {
    /// Stops the pass and waits for it (it notices at its next chunk): no decoding thread
    /// outlives its file, so none runs while the process exits (RocksDB's static state is
    /// torn down then).
    fn drop(&mut self) {
        self.rx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Cursor {
    fn spawn(inner: Arc<Inner>, p: Arc<Prepared>, seg: usize, c: usize, at: Point) -> Cursor {
        let (tx, rx) = sync_channel(AHEAD);
        let thread = std::thread::spawn(move || {
            let r = inner.render(&p, seg, at.resume.as_deref(), &mut |out| {
                tx.send(Ok(out)).is_ok()
            });
            if let Err(e) = r {
                let _ = tx.send(Err(e.to_string()));
            }
        });
        Cursor {
            seg,
            next: c,
            off: at.off,
            rx: Some(rx),
            thread: Some(thread),
        }
    }

    /// The next chunk: (chunk number, relative offset, chunk).
    fn pull(&mut self, what: &str) -> Result<(usize, u64, ChunkOut)> {
        let rx = self
            .rx
            .as_ref()
            .ok_or_else(|| invalid(what, "the pass was stopped".into()))?;
        let out = rx
            .recv()
            .map_err(|_| invalid(what, "the decoding pass ended early".into()))?
            .map_err(|e| invalid(what, e))?;
        let at = (self.next, self.off);
        self.next += 1;
        self.off += out.data.len() as u64;
        Ok((at.0, at.1, out))
    }
}

fn invalid(what: &str, detail: String) -> ViewError {
    ViewError::Invalid {
        context: what.to_string(),
        detail,
    }
}

struct State {
    index: Vec<SegIndex>,
    idle: Vec<Cursor>,
}

/// Where an offset is.
enum Locate {
    Eof,
    Header,
    /// A known chunk: segment, chunk and its absolute start.
    Chunk(usize, usize, u64),
    /// Past the known part of segment `s`: its frontier chunk must be rendered first.
    Frontier(usize),
}

/// A lazily rendered row file.
pub(crate) struct LazyFile {
    inner: Arc<Inner>,
    state: Mutex<State>,
}

impl Drop for LazyFile {
    fn drop(&mut self) {
        self.inner.shared.cache.forget_file(self.inner.id);
    }
}

impl LazyFile {
    pub fn new_rows(shared: Arc<Shared>, data: Arc<TableData>, format: RowFormat) -> LazyFile {
        let chunk = shared.cache.chunk_bytes();
        LazyFile {
            inner: Arc::new(Inner {
                id: shared.next_id(),
                shared,
                data,
                format,
                chunk,
                prepared: Mutex::new(None),
            }),
            state: Mutex::new(State {
                index: Vec::new(),
                idle: Vec::new(),
            }),
        }
    }

    fn what(&self) -> String {
        let name = match self.inner.format {
            RowFormat::Csv => "rows.csv",
            RowFormat::Jsonl => "rows.jsonl",
        };
        format!(
            "{} {name} at ts {}",
            self.inner.data.display_name(),
            self.inner.data.ts
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn prepared(&self) -> Result<Arc<Prepared>> {
        let p = self.inner.prepared()?;
        let mut st = self.lock();
        if st.index.len() != p.segs.len() {
            st.index = vec![SegIndex::new(); p.segs.len()];
        }
        Ok(p)
    }

    fn locate(st: &State, header: u64, off: u64) -> Locate {
        if off < header {
            return Locate::Header;
        }
        let mut base = header;
        for (s, ix) in st.index.iter().enumerate() {
            let rel = off - base;
            if rel < ix.known_end() {
                let (c, a, _) = ix.chunk_at(rel);
                return Locate::Chunk(s, c, base + a);
            }
            if !ix.complete {
                return Locate::Frontier(s);
            }
            base += ix.len;
        }
        Locate::Eof
    }

    /// Chunk `c` of segment `s`, from the cache (unless `render`) or rendered, recording
    /// what the pass learns on the way.
    fn chunk(&self, p: &Arc<Prepared>, s: usize, c: usize, render: bool) -> Result<Arc<[u8]>> {
        let key: ChunkKey = (self.inner.id, s, c);
        if !render {
            if let Some(d) = self.inner.shared.cache.get(&key) {
                return Ok(d);
            }
        }
        let mut cur = {
            let mut st = self.lock();
            let pick = st
                .idle
                .iter()
                .position(|k| k.seg == s && k.next <= c && c - k.next <= MAX_SKIP);
            match pick {
                Some(i) => st.idle.remove(i),
                None => {
                    let at = st.index[s].points[c].clone();
                    Cursor::spawn(self.inner.clone(), p.clone(), s, c, at)
                }
            }
        };
        let what = self.what();
        loop {
            let (n, off, out) = cur.pull(&what)?;
            let ChunkOut { data, rows, next } = out;
            let finished = next.is_none();
            let len = data.len();
            let data: Arc<[u8]> = Arc::from(data);
            let mut st = self.lock();
            st.index[s].record(n, off, len, rows, next.as_ref());
            self.inner
                .shared
                .cache
                .put((self.inner.id, s, n), data.clone());
            if finished {
                // Sequential readers go on with the next segment: start it now.
                if s + 1 < p.segs.len() && !st.idle.iter().any(|k| k.seg == s + 1) {
                    let at = st.index[s + 1].points[0].clone();
                    let ahead = Cursor::spawn(self.inner.clone(), p.clone(), s + 1, 0, at);
                    push_idle(&mut st, ahead);
                }
                if n < c {
                    return Err(invalid(
                        &what,
                        format!("chunk {c} of segment {s} is past its end"),
                    ));
                }
                return Ok(data);
            }
            if n >= c {
                push_idle(&mut st, cur);
                return Ok(data);
            }
        }
    }

    /// One read inside one chunk (or the header); 0 at the end.
    fn read_once(&self, off: u64, buf: &mut [u8]) -> Result<usize> {
        let p = self.prepared()?;
        let header = p.header.len() as u64;
        loop {
            let loc = Self::locate(&self.lock(), header, off);
            let (data, start): (Arc<[u8]>, u64) = match loc {
                Locate::Eof => return Ok(0),
                Locate::Header => (p.header.clone(), 0),
                Locate::Chunk(s, c, a) => (self.chunk(&p, s, c, false)?, a),
                Locate::Frontier(s) => {
                    let fc = self.lock().index[s].points.len() - 1;
                    self.chunk(&p, s, fc, true)?;
                    continue;
                }
            };
            let at = (off - start) as usize;
            if at >= data.len() {
                return Err(invalid(
                    &self.what(),
                    format!("offset {off}: the chunk does not reach it (index inconsistent)"),
                ));
            }
            let n = buf.len().min(data.len() - at);
            buf[..n].copy_from_slice(&data[at..at + n]);
            return Ok(n);
        }
    }

    /// Renders every segment whose length is not known yet (in parallel) and returns the
    /// file's exact length.
    fn ensure_sized(&self) -> Result<u64> {
        let p = self.prepared()?;
        let todo: Vec<usize> = {
            let st = self.lock();
            (0..st.index.len())
                .filter(|&s| !st.index[s].complete)
                .collect()
        };
        if !todo.is_empty() {
            // Each segment renders on every core already (`pipeline`); two at once fill the
            // gaps when one starts or ends.
            let workers = SIZE_WORKERS.min(todo.len());
            let next = std::sync::atomic::AtomicUsize::new(0);
            let results: Vec<Result<()>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        scope.spawn(|| -> Result<()> {
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(&s) = todo.get(i) else { return Ok(()) };
                                self.size_segment(&p, s)?;
                            }
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(invalid("size pass", "panicked".into())))
                    })
                    .collect()
            });
            for r in results {
                r?;
            }
        }
        let st = self.lock();
        Ok(p.header.len() as u64 + st.index.iter().map(|ix| ix.len).sum::<u64>())
    }

    /// One full pass over segment `s`, recording its index without keeping the bytes.
    fn size_segment(&self, p: &Prepared, s: usize) -> Result<()> {
        if self.lock().index[s].complete {
            return Ok(());
        }
        let mut ix = SegIndex::new();
        let mut off = 0u64;
        let mut n = 0usize;
        self.inner.render(p, s, None, &mut |out| {
            ix.record(n, off, out.data.len(), out.rows, out.next.as_ref());
            off += out.data.len() as u64;
            n += 1;
            true
        })?;
        let mut st = self.lock();
        if !st.index[s].complete {
            st.index[s] = ix;
        }
        Ok(())
    }

    /// The number of rows (renders what `size` renders).
    pub fn row_count(&self) -> Result<u64> {
        self.ensure_sized()?;
        Ok(self.lock().index.iter().map(|ix| ix.rows).sum())
    }
}

fn push_idle(st: &mut State, c: Cursor) {
    if st.idle.len() >= IDLE_CURSORS {
        st.idle.remove(0);
    }
    st.idle.push(c);
}

impl ViewFile for LazyFile {
    fn size(&self) -> Result<u64> {
        self.ensure_sized()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.read_once(offset + filled as u64, &mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        Ok(filled)
    }
}
