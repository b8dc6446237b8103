//! What a mount shows, as the VFS consumes it: the `MountSource` trait (databases and tables
//! at a ts, their files, the archive's objects, the time points of the log) and the plain
//! data it hands over. Implemented over `engine::view::ArchiveView` for real archives and by
//! fakes in the tests; the VFS (`tree.rs`) knows nothing else about archives.

use crate::engine::view::file::Result;
use crate::engine::view::ViewFile;
use std::sync::Arc;

/// The files of a table directory (BRFS-4): the view layer's kinds.
pub use crate::engine::view::TableFileKind;

/// One table of a catalog; `handle` is whatever the source needs to produce its files.
#[derive(Debug, Clone)]
pub struct MountTable<T> {
    pub name: String,
    pub handle: T,
}

/// One database of a catalog (a database without tables is listed, empty).
#[derive(Debug, Clone)]
pub struct MountDatabase<T> {
    pub name: String,
    pub tables: Vec<MountTable<T>>,
}

/// The databases and tables that exist at `ts`.
#[derive(Debug, Clone)]
pub struct MountCatalog<T> {
    pub ts: u64,
    pub databases: Vec<MountDatabase<T>>,
}

/// What `/README.txt` says about the archive (BRFS-3). Computed once when the source opens.
#[derive(Debug, Clone, Default)]
pub struct ArchiveFacts {
    /// The storage URL, credentials redacted.
    pub storage: String,
    pub log_storage: Option<String>,
    pub cluster_id: u64,
    pub cluster_version: String,
    pub br_version: String,
    /// The snapshot's backup ts (`end_version`).
    pub backup_ts: u64,
    /// `backup_size` of backupmeta.
    pub backup_size: u64,
    pub data_files: u64,
    pub data_bytes: u64,
    pub databases: u64,
    pub tables: u64,
    /// `plaintext` or the cipher method.
    pub encryption: String,
}

/// The data of a mount. Every method may block (the VFS calls them from FUSE worker
/// threads); errors use the view layer's `ViewError` so the VFS can tell "does not exist"
/// (`NotFound`, `TsOutsideWindow`) from "could not read" (anything else).
pub trait MountSource: Send + Sync + 'static {
    /// A table as the source identifies it (kept by the VFS while the kernel holds the
    /// table's directory).
    type Table: Send + Sync + 'static;

    fn facts(&self) -> ArchiveFacts;
    /// The snapshot's ts: what the root shows unless `--ts` says otherwise.
    fn snapshot_ts(&self) -> u64;
    /// The restorable windows `[start, end]` of the log archive; empty without one.
    fn windows(&self) -> Vec<(u64, u64)>;
    /// The ts of every flush of the log archive inside the windows.
    fn flush_points(&self) -> Vec<u64>;
    /// A TSO or a datetime, as `--ts` and `/at/<ts>` accept them (TSO-4 … TSO-7).
    fn parse_ts(&self, s: &str) -> Result<u64>;
    /// The catalog at `ts`; `TsOutsideWindow` when the archive cannot show that ts.
    fn catalog(&self, ts: u64) -> Result<Arc<MountCatalog<Self::Table>>>;
    /// One file of a table (cheap: decoding happens on `size`/`read_at`).
    fn table_file(&self, table: &Self::Table, kind: TableFileKind) -> Result<Arc<dyn ViewFile>>;
    /// The table's data files: archive object names and sizes.
    fn table_data_files(&self, table: &Self::Table) -> Result<Vec<(String, u64)>>;
    /// Every object of the archive (snapshot storage), names relative to its root.
    fn objects(&self) -> Result<Vec<(String, u64)>>;
    /// One archive object, read through (byte-identical).
    fn object_file(&self, name: &str, size: u64) -> Arc<dyn ViewFile>;
    /// The decoded metadata, as `brtool inspect --json` prints it.
    fn backupmeta_json(&self) -> Result<Vec<u8>>;
}
