//! Archive views: what a snapshot archive (optionally with its log archive) holds at one ts,
//! as databases, tables and read-only files (`schema.sql`, `table.json`, `rows.csv`,
//! `rows.jsonl`, `stats.json`), decoded lazily from the SSTs and log events without
//! restoring anything (format/view.md VIEW-*). `brfs` serves these files through FUSE and
//! `brtool export` writes them, so both give the same bytes (VIEW-11).
//!
//! Every public call is blocking (FUSE threads call them): the view owns a tokio runtime for
//! storage reads, and calling it from inside an async task is a programming error. This
//! module owns the entry points; `catalog` builds the tables at a ts, `kvs` walks a table's
//! KVs (snapshot SST pairs merged with the `overlay` of log events), `render` turns rows into
//! CSV/JSON Lines, `lazy` turns a row stream into a positional file with a sparse index and a
//! bounded chunk cache, `schema_sql`, `stats` and `objects` make the other files, `diff`
//! compares two views.

mod cache;
mod catalog;
pub mod diff;
pub mod file;
mod index;
mod kvs;
mod lazy;
mod objects;
mod overlay;
mod pipeline;
mod render;
pub mod schema_sql;
mod sql_types;
mod stats;
mod window;

pub use cache::CacheStats;
pub use catalog::{Catalog, ViewDatabase, ViewTable};
pub use file::{BytesFile, Result, ViewError, ViewFile};

use crate::archive::log::LogArchive;
use crate::archive::snapshot::SnapshotArchive;
use crate::codec::tso::display_utc;
use crate::engine::pitr::ReplayKv;
use crate::format::backupmeta::DataFile;
use crate::format::crypto::Cipher;
use crate::format::logmeta::LogSubFile;
use crate::format::merge::dedup_sub_files;
use crate::storage::Storage;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The memory cap of decoded caches when none is given (VIEW-15).
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;
/// Catalogs kept (each holds its tables' files and their sparse indexes).
const CATALOGS_KEPT: usize = 16;
/// Names of the log archive's objects in [`ArchiveView::objects`] start with this (VIEW-10).
pub const LOG_PREFIX: &str = "log/";

/// How to open a view.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    /// The snapshot archive URL (BR syntax, as `brtool -s`).
    pub storage: String,
    /// The log archive URL (`--log-storage`).
    pub log_storage: Option<String>,
    /// The snapshot's key (`--crypter.*`).
    pub cipher: Cipher,
    /// The log data's key (`--log.crypter.*`); `None` = the snapshot's.
    pub log_cipher: Option<Cipher>,
    /// Scratch for decoded state (log overlays); a private directory is made inside it and
    /// removed when the view is dropped.
    pub cache_dir: PathBuf,
    /// Memory cap of the decoded chunk cache (VIEW-15).
    pub cache_bytes: u64,
}

impl ViewOptions {
    /// A plaintext snapshot archive, no log, scratch in the system temp dir, 64 MiB cache.
    pub fn new(storage: &str) -> ViewOptions {
        ViewOptions {
            storage: storage.to_string(),
            log_storage: None,
            cipher: Cipher::plaintext(),
            log_cipher: None,
            cache_dir: std::env::temp_dir(),
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// The files of a table directory (VIEW-4 … VIEW-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFileKind {
    SchemaSql,
    TableJson,
    RowsCsv,
    RowsJsonl,
    StatsJson,
}

impl TableFileKind {
    pub const ALL: [TableFileKind; 5] = [
        TableFileKind::SchemaSql,
        TableFileKind::TableJson,
        TableFileKind::RowsCsv,
        TableFileKind::RowsJsonl,
        TableFileKind::StatsJson,
    ];

    /// The file name in a table directory.
    pub fn file_name(self) -> &'static str {
        match self {
            TableFileKind::SchemaSql => "schema.sql",
            TableFileKind::TableJson => "table.json",
            TableFileKind::RowsCsv => "rows.csv",
            TableFileKind::RowsJsonl => "rows.jsonl",
            TableFileKind::StatsJson => "stats.json",
        }
    }

    /// The kind of a file name.
    pub fn from_file_name(name: &str) -> Option<TableFileKind> {
        Self::ALL.into_iter().find(|k| k.file_name() == name)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// What every file of a view shares: storage, keys, the snapshot's data files, the log's
/// sub-files, the runtime and the chunk cache. Files hold it, the view's catalogs do not
/// (no reference cycle).
pub(crate) struct Shared {
    rt: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pub storage: Arc<dyn Storage>,
    pub log_storage: Option<Arc<dyn Storage>>,
    pub cipher: Cipher,
    pub log_cipher: Cipher,
    pub files: Vec<DataFile>,
    /// Snapshot data files by the table id of their start key (DATA-3).
    pub files_by_table: BTreeMap<i64, Vec<usize>>,
    /// Every log sub-file once (LOG-MERGE-5).
    pub log_files: Vec<(String, LogSubFile)>,
    pub snapshot_ts: u64,
    pub cache: cache::ChunkCache,
    pub scratch: PathBuf,
    next_id: AtomicU64,
}

impl Shared {
    /// Runs a storage future to completion from a blocking thread.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// An opened archive, browsable at its snapshot ts and (with a log archive) at any ts of its
/// restorable window (VIEW-1, VIEW-2).
pub struct ArchiveView {
    snapshot_catalog: Arc<Catalog>,
    snap: SnapshotArchive,
    log: Option<LogArchive>,
    windows: Vec<(u64, u64)>,
    flush_points: Vec<u64>,
    /// Why PITR views are unavailable, when a log archive was given but cannot be used.
    no_window: Option<String>,
    replay: Mutex<Option<Arc<ReplayKv>>>,
    catalogs: Mutex<Vec<(u64, Arc<Catalog>)>>,
    /// Last: dropped after the catalogs, whose log overlays live in its scratch directory.
    shared: Arc<Shared>,
}

fn invalid(context: impl Into<String>, detail: impl Into<String>) -> ViewError {
    ViewError::Invalid {
        context: context.into(),
        detail: detail.into(),
    }
}

fn open_storage(flag: &str, url: &str) -> Result<Arc<dyn Storage>> {
    crate::storage::opendal_backend::open_url(url).map_err(|e| invalid(flag, e.to_string()))
}

impl ArchiveView {
    /// Opens the snapshot (and log) archive metadata; a wrong key, an undecodable backupmeta
    /// or unreadable storage fails here (VIEW-13). Decodes no table.
    pub fn open(opts: ViewOptions) -> Result<Arc<ArchiveView>> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("brkit-view")
            .enable_all()
            .build()?;
        let storage = open_storage("-s/--storage", &opts.storage)?;
        let log_storage = match &opts.log_storage {
            Some(u) => Some(open_storage("--log-storage", u)?),
            None => None,
        };
        let snap = rt
            .block_on(SnapshotArchive::open(storage.as_ref(), &opts.cipher))
            .map_err(|e| {
                invalid(
                    format!("snapshot archive {}", storage.display_url()),
                    e.to_string(),
                )
            })?;
        let log =
            match &log_storage {
                Some(s) => Some(rt.block_on(LogArchive::open(s.as_ref())).map_err(|e| {
                    invalid(format!("log archive {}", s.display_url()), e.to_string())
                })?),
                None => None,
            };
        if let Some(root) = log.as_ref().and_then(|l| l.root.as_ref()) {
            if root.end_version != 0 {
                return Err(invalid(
                    "--log-storage",
                    "this is a snapshot archive (its backupmeta has end_version set, LOG-1); give the log backup's storage",
                ));
            }
        }
        let snapshot_ts = snap.meta.end_version;
        let (windows, flush_points, no_window) = match &log {
            None => (Vec::new(), Vec::new(), None),
            Some(l) => {
                window::windows_of(l.window, l.metas.iter().map(|m| m.meta.max_ts), snapshot_ts)
            }
        };
        let log_files = match &log {
            Some(l) => {
                let metas: Vec<_> = l
                    .metas
                    .iter()
                    .map(|m| (m.path.clone(), m.meta.clone()))
                    .collect();
                dedup_sub_files(&metas)
            }
            None => Vec::new(),
        };
        let mut files_by_table: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, f) in snap.files.iter().enumerate() {
            if let Some(id) = crate::codec::table::decode_table_id(&f.start_key) {
                files_by_table.entry(id).or_default().push(i);
            }
        }
        let scratch = opts
            .cache_dir
            .join(format!("brkit-view-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&scratch)?;
        let handle = rt.handle().clone();
        let shared = Arc::new(Shared {
            rt: Some(rt),
            handle,
            storage,
            log_storage,
            log_cipher: opts
                .log_cipher
                .clone()
                .unwrap_or_else(|| opts.cipher.clone()),
            cipher: opts.cipher,
            files: snap.files.clone(),
            files_by_table,
            log_files,
            snapshot_ts,
            cache: cache::ChunkCache::new(opts.cache_bytes),
            scratch,
            next_id: AtomicU64::new(1),
        });
        // META-SCHEMA-1, VIEW-13: every schema decodes before anything is shown; the snapshot's
        // catalog is kept for the life of the view.
        let snapshot_catalog = Arc::new(
            catalog::at_snapshot(&shared, &snap)
                .map_err(|e| invalid("snapshot archive schemas", e.to_string()))?,
        );
        Ok(Arc::new(ArchiveView {
            shared,
            snapshot_catalog,
            snap,
            log,
            windows,
            flush_points,
            no_window,
            replay: Mutex::new(None),
            catalogs: Mutex::new(Vec::new()),
        }))
    }

    /// The snapshot's backup ts (`end_version`).
    pub fn snapshot_ts(&self) -> u64 {
        self.shared.snapshot_ts
    }

    /// With a log archive: the restorable window(s), both ends inclusive (VIEW-2).
    pub fn windows(&self) -> Vec<(u64, u64)> {
        self.windows.clone()
    }

    /// Distinct max ts of the `.meta` files and the global checkpoint, inside the windows,
    /// ascending (VIEW-2).
    pub fn flush_points(&self) -> Vec<u64> {
        self.flush_points.clone()
    }

    /// Parses a `<ts>`: a TSO number, or `YYYY-MM-DD HH:MM:SS[.frac][ ±ZZ:ZZ]` / RFC 3339 (TSO-4
    /// … TSO-7; without a zone the local one applies) (VIEW-14).
    pub fn parse_ts(&self, s: &str) -> Result<u64> {
        parse_ts(s)
    }

    /// Whether `ts` can be viewed: the snapshot ts, or inside a window (VIEW-2).
    fn check_ts(&self, ts: u64) -> Result<()> {
        if ts == self.snapshot_ts() || self.windows.iter().any(|(a, b)| (*a..=*b).contains(&ts)) {
            return Ok(());
        }
        let detail = if let Some(why) = &self.no_window {
            why.clone()
        } else if self.log.is_none() {
            format!(
                "without --log-storage only the snapshot ts {} ({}) can be viewed",
                self.snapshot_ts(),
                display_utc(self.snapshot_ts())
            )
        } else {
            let w: Vec<String> = self
                .windows
                .iter()
                .map(|(a, b)| format!("[{a} ({}), {b} ({})]", display_utc(*a), display_utc(*b)))
                .collect();
            format!("the viewable window is {}", w.join(", "))
        };
        Err(ViewError::TsOutsideWindow { ts, detail })
    }

    /// The databases and tables at `ts` (VIEW-1). Cached per ts; decodes no rows.
    pub fn catalog(&self, ts: u64) -> Result<Arc<Catalog>> {
        self.check_ts(ts)?;
        if ts == self.snapshot_ts() {
            return Ok(self.snapshot_catalog.clone());
        }
        {
            let mut cats = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = cats.iter().position(|(t, _)| *t == ts) {
                let c = cats.remove(i);
                let cat = c.1.clone();
                cats.push(c);
                return Ok(cat);
            }
        }
        let cat = Arc::new(catalog::at_ts(
            &self.shared,
            self.replay_kv()?.as_ref(),
            ts,
        )?);
        let mut cats = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
        if !cats.iter().any(|(t, _)| *t == ts) {
            if cats.len() >= CATALOGS_KEPT {
                cats.remove(0);
            }
            cats.push((ts, cat.clone()));
        }
        Ok(cat)
    }

    /// The schema history: the snapshot's schemas plus every meta-KV event of the window,
    /// read once (VIEW-1).
    fn replay_kv(&self) -> Result<Arc<ReplayKv>> {
        let mut slot = self.replay.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kv) = slot.as_ref() {
            return Ok(kv.clone());
        }
        let upto = self.windows.iter().map(|w| w.1).max().unwrap_or(0);
        let kv = Arc::new(catalog::replay_schema(&self.shared, &self.snap, upto)?);
        *slot = Some(kv.clone());
        Ok(kv)
    }

    /// A table file of the view at `catalog.ts` (VIEW-4 … VIEW-8). Lazy: nothing is decoded
    /// until `size`/`read_at`. The same object is returned for the same table and kind.
    pub fn table_file(
        &self,
        catalog: &Catalog,
        table: &ViewTable,
        kind: TableFileKind,
    ) -> Result<Arc<dyn ViewFile>> {
        let _ = catalog; // the table carries its ts
        table.file(&self.shared, kind)
    }

    /// The snapshot's data files of a table (its physical ids at the view's ts): object name
    /// and stored size (VIEW-10).
    pub fn table_data_files(&self, table: &ViewTable) -> Vec<(String, u64)> {
        table
            .data
            .files
            .iter()
            .map(|&i| (self.shared.files[i].name.clone(), self.shared.files[i].size))
            .collect()
    }

    /// Positional read of any archive object, byte-identical (VIEW-10). Names under
    /// [`LOG_PREFIX`] are objects of the log archive when one is open.
    pub fn object_file(&self, name: &str, size: u64) -> Arc<dyn ViewFile> {
        Arc::new(objects::ObjectFile::new(self.shared.clone(), name, size))
    }

    /// Every object of the snapshot archive, then every object of the log archive under
    /// [`LOG_PREFIX`], with sizes, from one listing each (VIEW-10).
    pub fn objects(&self) -> Result<Vec<(String, u64)>> {
        objects::list(&self.shared)
    }

    /// `brtool inspect --json` of the snapshot archive, pretty-printed with a final newline.
    pub fn backupmeta_json(&self) -> Result<Vec<u8>> {
        let doc =
            crate::archive::snapshot::to_json(&self.snap, &self.shared.storage.display_url())?;
        let mut out = serde_json::to_vec_pretty(&doc)
            .map_err(|e| invalid("backupmeta.json", e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// The decoded snapshot archive (for the README and `files/`).
    pub fn snapshot(&self) -> &SnapshotArchive {
        &self.snap
    }

    /// The decoded log archive, if one was given.
    pub fn log(&self) -> Option<&LogArchive> {
        self.log.as_ref()
    }

    /// Counters of the chunk cache and the decoding passes (VIEW-15; for tests and benches).
    pub fn cache_stats(&self) -> CacheStats {
        self.shared.cache.stats()
    }

    /// Finds `db.table` at `ts` (names compared case-insensitively).
    pub fn find_table(
        &self,
        ts: u64,
        db: &str,
        table: &str,
    ) -> Result<(Arc<Catalog>, Arc<ViewTable>)> {
        let cat = self.catalog(ts)?;
        let t = cat.find(db, table).ok_or_else(|| ViewError::NotFound {
            what: format!("table `{db}`.`{table}`"),
            ts,
        })?;
        Ok((cat.clone(), t))
    }
}

/// `--ts` / `<ts>` parsing shared with `brtool` (TSO-4 … TSO-7, VIEW-14).
pub fn parse_ts(s: &str) -> Result<u64> {
    let v = s.trim();
    if v.is_empty() {
        return Err(invalid("ts", "empty"));
    }
    // RFC 3339 with a `T` and a `Z`/offset is accepted by the same parser.
    crate::codec::tso::parse_ts_string(v, false)
        .map_err(|e| invalid(format!("ts {v:?}"), e.to_string()))
}

/// Writes a view file to `out` sequentially (what `brtool export` does: the same bytes as
/// the mounted file, VIEW-11). Returns the bytes written.
pub fn copy_file(file: &dyn ViewFile, out: &mut dyn std::io::Write) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = file.read_at(off, &mut buf)?;
        if n == 0 {
            return Ok(off);
        }
        out.write_all(&buf[..n])?;
        off += n as u64;
    }
}
