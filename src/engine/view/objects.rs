//! Archive objects as they are stored (VIEW-10): the listing of the snapshot archive and of
//! the log archive (under `log/`), and a read-through file per object that reads ranges of
//! the object and keeps the last 1 MiB block it read (sequential readers of small requests
//! hit it). Bytes are never decrypted or changed.

use super::file::{Result, ViewError, ViewFile};
use super::{Shared, LOG_PREFIX};
use crate::storage::Storage;
use bytes::Bytes;
use std::sync::{Arc, Mutex};

/// The block a read-through file fetches at once.
const BLOCK: u64 = 1 << 20;

/// Every object of the snapshot archive, then the log archive's under [`LOG_PREFIX`].
pub(crate) fn list(shared: &Shared) -> Result<Vec<(String, u64)>> {
    let mut out: Vec<(String, u64)> = shared
        .block_on(shared.storage.list(""))?
        .into_iter()
        .map(|o| (o.name, o.size))
        .collect();
    if let Some(log) = &shared.log_storage {
        out.extend(
            shared
                .block_on(log.list(""))?
                .into_iter()
                .map(|o| (format!("{LOG_PREFIX}{}", o.name), o.size)),
        );
    }
    Ok(out)
}

pub(crate) struct ObjectFile {
    shared: Arc<Shared>,
    name: String,
    size: u64,
    /// (block start, bytes)
    last: Mutex<Option<(u64, Bytes)>>,
}

impl ObjectFile {
    pub fn new(shared: Arc<Shared>, name: &str, size: u64) -> ObjectFile {
        ObjectFile {
            shared,
            name: name.to_string(),
            size,
            last: Mutex::new(None),
        }
    }

    /// The storage holding the object and its name there.
    fn target(&self) -> Result<(&Arc<dyn Storage>, &str)> {
        match (self.name.strip_prefix(LOG_PREFIX), &self.shared.log_storage) {
            (Some(rest), Some(log)) => Ok((log, rest)),
            _ => Ok((&self.shared.storage, self.name.as_str())),
        }
    }

    fn block(&self, start: u64) -> Result<Bytes> {
        if let Some((s, b)) = self.last.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if *s == start {
                return Ok(b.clone());
            }
        }
        let (storage, name) = self.target()?;
        let len = BLOCK.min(self.size - start);
        let bytes = self
            .shared
            .block_on(storage.read_range(name, start, len))
            .map_err(|e| ViewError::Storage(e.with_object(name)))?;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((start, bytes.clone()));
        Ok(bytes)
    }
}

impl ViewFile for ObjectFile {
    fn size(&self) -> Result<u64> {
        Ok(self.size)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0usize;
        while filled < buf.len() {
            let off = offset + filled as u64;
            if off >= self.size {
                break;
            }
            let start = off - off % BLOCK;
            let block = self.block(start)?;
            let at = (off - start) as usize;
            if at >= block.len() {
                break;
            }
            let n = (buf.len() - filled).min(block.len() - at);
            buf[filled..filled + n].copy_from_slice(&block[at..at + n]);
            filled += n;
        }
        Ok(filled)
    }
}
