//! `brtool verify`: an offline audit of a snapshot or log archive, with no cluster
//! (format/verify.md VERIFY-*). Levels build on each other: `meta` (every metafile decodes and
//! matches its pointer, every referenced object exists with its size, names parse, per-table
//! key-range coverage, FastChecksum), `file` (SHA-256 of every data file), `kv` (decrypt, read
//! every SST, MVCC-resolve and recompute the per-file and per-table checksums, decode rows).
//! Log archives get their own checks ([`log`]). Everything found is a [`Finding`] in the
//! report; only "could not verify" (unreadable storage, a wrong key, bad options) is an `Err`.

mod data;
pub mod finding;
mod hashing;
pub mod log;
mod snapshot;
mod subset;

pub use finding::{Finding, LogResult, Severity, TableResult, TsWindow, VerifyReport};
pub use hashing::sha256;
pub use subset::Subset;

use super::filter::TableFilter;
use super::{EngineError, Result};
use crate::format::crypto::Cipher;
use crate::format::naming::log::META_DIR;
use crate::format::naming::snapshot::BACKUPMETA;
use crate::storage::{Storage, StorageErrorKind};
use std::sync::Arc;

/// How deep to verify (each level includes the ones before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Meta,
    File,
    Kv,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Meta => "meta",
            Level::File => "file",
            Level::Kv => "kv",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "meta" => Some(Level::Meta),
            "file" => Some(Level::File),
            "kv" => Some(Level::Kv),
            _ => None,
        }
    }
}

/// What `verify` is asked to do.
#[derive(Clone)]
pub struct VerifyOptions {
    pub level: Level,
    /// The snapshot archive's key (`--crypter.*`); for a log archive also the data key when
    /// `log_cipher` is not given (compatibility).
    pub cipher: Cipher,
    /// A log archive's data key (`--log.crypter.*`, LOG-CRYPT-5).
    pub log_cipher: Option<Cipher>,
    /// For a log archive: the snapshot whose backup ts starts the window to check.
    pub full_backup: Option<Arc<dyn Storage>>,
    /// Which data files to read at `file`/`kv` level (metadata is always read whole).
    pub subset: Subset,
    /// Which tables (snapshot archives); `None` = all.
    pub filter: Option<TableFilter>,
    /// How many data files are read and checked at once.
    pub concurrency: usize,
}

impl VerifyOptions {
    pub fn new(level: Level) -> VerifyOptions {
        VerifyOptions {
            level,
            cipher: Cipher::plaintext(),
            log_cipher: None,
            full_backup: None,
            subset: Subset::All,
            filter: None,
            concurrency: 4,
        }
    }

    /// The key of a log archive's data sub-files: `--log.crypter.*`, else `--crypter.*`.
    pub fn log_data_cipher(&self) -> &Cipher {
        self.log_cipher.as_ref().unwrap_or(&self.cipher)
    }
}

/// Progress of the data phase, implemented by the front end (a bar on a terminal).
pub trait VerifyProgress: Send + Sync {
    /// The data phase starts: this many files and bytes will be read.
    fn start(&self, files: u64, bytes: u64);
    /// One file is done.
    fn file_done(&self, bytes: u64);
    fn finish(&self) {}
}

/// A progress sink that reports nothing.
pub struct NoProgress;

impl VerifyProgress for NoProgress {
    fn start(&self, _files: u64, _bytes: u64) {}
    fn file_done(&self, _bytes: u64) {}
}

/// A storage error that means "could not verify" (exit 2) rather than a finding.
pub(crate) fn unreadable(e: crate::storage::StorageError) -> EngineError {
    EngineError::Storage(e)
}

/// Verifies the archive at `storage`: detects its kind (LAYOUT-3), then runs the snapshot or
/// log checks at the asked level.
pub async fn run_verify(
    storage: &dyn Storage,
    opts: &VerifyOptions,
    progress: &dyn VerifyProgress,
) -> Result<VerifyReport> {
    let root = match storage.read(BACKUPMETA).await {
        Ok(b) => Some(b),
        Err(e) if e.kind == StorageErrorKind::NotFound => None,
        Err(e) => return Err(unreadable(e)),
    };
    let has_log_metas = !storage.list(META_DIR).await.map_err(unreadable)?.is_empty();
    let mut report = VerifyReport {
        level: opts.level.as_str(),
        ..VerifyReport::default()
    };
    if has_log_metas {
        report.archive_kind = "log";
        log::verify_log(storage, root.as_deref(), opts, progress, &mut report).await?;
    } else {
        report.archive_kind = "snapshot";
        snapshot::verify_snapshot(storage, root.as_deref(), opts, progress, &mut report).await?;
    }
    Ok(report)
}
