//! The contract between view contents and their readers (the FUSE mount, `export`): a
//! read-only file with an exact size and positional reads, so tools that seek work.

use std::sync::Arc;

/// Why a view file could not be produced or read; names the archive object, table or ts.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    #[error(transparent)]
    Codec(#[from] crate::codec::CodecError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A ts outside what the archive can show (before the snapshot, past the checkpoint, or
    /// inside a gap of the log).
    #[error("ts {ts} is outside the restorable window: {detail}")]
    TsOutsideWindow { ts: u64, detail: String },
    /// A table or database that does not exist at the view's ts.
    #[error("{what} does not exist at ts {ts}")]
    NotFound { what: String, ts: u64 },
    /// Any other bad input, with the file, field or flag it concerns.
    #[error("{context}: {detail}")]
    Invalid { context: String, detail: String },
}

pub type Result<T> = std::result::Result<T, ViewError>;

/// A read-only file of a view. `size` is exact (it may decode the whole content once, the
/// first time, and must then be cheap); `read_at` fills `buf` from `offset` and returns the
/// number of bytes read, 0 at or past the end. Both may be called from many threads.
pub trait ViewFile: Send + Sync {
    fn size(&self) -> Result<u64>;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize>;
}

/// A file whose bytes are known up front (README, JSON documents, `schema.sql`).
#[derive(Debug, Clone)]
pub struct BytesFile(pub Arc<[u8]>);

impl BytesFile {
    pub fn new(bytes: impl Into<Vec<u8>>) -> BytesFile {
        BytesFile(Arc::from(bytes.into()))
    }
}

impl ViewFile for BytesFile {
    fn size(&self) -> Result<u64> {
        Ok(self.0.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let len = self.0.len() as u64;
        if offset >= len {
            return Ok(0);
        }
        let start = offset as usize;
        let n = buf.len().min(self.0.len() - start);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_file_reads_at_any_offset_and_stops_at_the_end() {
        let f = BytesFile::new(b"hello world".to_vec());
        assert_eq!(f.size().unwrap(), 11);
        let mut buf = [0u8; 5];
        assert_eq!(f.read_at(6, &mut buf).unwrap(), 5);
        assert_eq!(&buf, b"world");
        assert_eq!(f.read_at(9, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"ld");
        assert_eq!(f.read_at(11, &mut buf).unwrap(), 0);
        assert_eq!(f.read_at(u64::MAX, &mut buf).unwrap(), 0);
    }
}
