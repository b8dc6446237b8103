//! Errors of the placement driver: each names the file, region, store or service it concerns,
//! so an operator can act on it without reading code.

use std::path::PathBuf;

/// What went wrong in the placement driver.
#[derive(Debug, thiserror::Error)]
pub enum PdError {
    /// Reading, writing, syncing or renaming the state file failed.
    #[error("placement state {}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but cannot be trusted; the cluster refuses to start on it.
    #[error("placement state {} is damaged: {reason}", file.display())]
    Damaged { file: PathBuf, reason: String },
    /// The state file was written by a newer brkit.
    #[error("placement state {} has format version {found}; this brkit reads version {supported}", file.display())]
    UnknownVersion {
        file: PathBuf,
        found: u32,
        supported: u32,
    },
    /// `open_or_bootstrap` was given a store count that differs from the bootstrapped one.
    #[error("placement state {} was bootstrapped with {saved} stores, not {requested}; pass 0 (or omit --stores) to reuse the saved count", file.display())]
    StoreCount {
        file: PathBuf,
        saved: u32,
        requested: u32,
    },
    /// An argument that can never be served (count 0, a TSO past 2^46 ms, ...).
    #[error("invalid placement request: {0}")]
    Invalid(String),
    #[error("store {0} is not in the cluster")]
    UnknownStore(u64),
    #[error("store {0} is down")]
    StoreDown(u64),
    #[error("region {0} is not in the cluster")]
    UnknownRegion(u64),
    /// Like PD: a service safepoint may not be set below the current GC safepoint, because
    /// the versions it would protect may already be gone.
    #[error("service {service:?}: safepoint {requested} is below the GC safepoint {gc_safepoint}; data older than that may already be collected")]
    SafepointBehindGc {
        service: String,
        requested: u64,
        gc_safepoint: u64,
    },
}

/// Result of the placement driver.
pub type Result<T, E = PdError> = std::result::Result<T, E>;
