//! The mount source over `engine::view::ArchiveView` (the real archives). Until the view
//! layer's catalog lands, opening says so and `brfs mount` exits 2.

use super::cli::MountArgs;
use super::source::{ArchiveFacts, MountCatalog, MountSource, TableFileKind};
use crate::engine::view::file::Result;
use crate::engine::view::{ViewError, ViewFile};
use crate::format::crypto::Cipher;
use std::sync::Arc;

/// An archive opened through `engine::view`.
pub struct ViewSource {
    _never: std::convert::Infallible,
}

pub fn open(_a: &MountArgs, _snap: Cipher, _log: Cipher) -> anyhow::Result<Arc<ViewSource>> {
    Err(
        super::cli::BadInput("this brkit has no archive view layer yet (engine::view)".into())
            .into(),
    )
}

fn never<T>(s: &ViewSource) -> T {
    match s._never {}
}

impl MountSource for ViewSource {
    type Table = ();
    fn facts(&self) -> ArchiveFacts {
        never(self)
    }
    fn snapshot_ts(&self) -> u64 {
        never(self)
    }
    fn windows(&self) -> Vec<(u64, u64)> {
        never(self)
    }
    fn flush_points(&self) -> Vec<u64> {
        never(self)
    }
    fn parse_ts(&self, _s: &str) -> Result<u64> {
        never(self)
    }
    fn catalog(&self, _ts: u64) -> Result<Arc<MountCatalog<()>>> {
        never(self)
    }
    fn table_file(&self, _t: &(), _k: TableFileKind) -> Result<Arc<dyn ViewFile>> {
        never(self)
    }
    fn table_data_files(&self, _t: &()) -> Result<Vec<(String, u64)>> {
        never(self)
    }
    fn objects(&self) -> Result<Vec<(String, u64)>> {
        never(self)
    }
    fn object_file(&self, _n: &str, _s: u64) -> Arc<dyn ViewFile> {
        never(self)
    }
    fn backupmeta_json(&self) -> Result<Vec<u8>> {
        Err(ViewError::Invalid {
            context: String::new(),
            detail: String::new(),
        })
    }
}
