//! Memory-mapping of objects on a local filesystem (STORE-9), so large SST and log files of a
//! local archive can be read without copying. Owns the only `unsafe` of the storage layer.
//!
//! Soundness: `memmap2::Mmap::map` is unsafe because another process may modify or truncate
//! the file while it is mapped. brkit maps only objects of archives it reads, which are never
//! rewritten in place (STORE-3: writers create a new file and rename it over the old one, so
//! a mapped old inode stays intact). What remains is an outside actor truncating the file in
//! place: then touching the lost pages raises SIGBUS and the process dies. That is a crash, not
//! silent corruption, and it is documented in format/storage.md (STORE-9); callers that
//! cannot accept it use [`Storage::read`] instead.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{check_name, Result, Storage, StorageError};

/// A read-only mapping of a whole local object.
#[derive(Debug)]
pub struct LocalMap {
    map: Option<memmap2::Mmap>,
    path: PathBuf,
}

impl LocalMap {
    /// Maps the file at `path` read-only. Empty files give an empty slice (no mapping).
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.to_string_lossy();
        let file = std::fs::File::open(path).map_err(|e| StorageError::from_io(&e, &name))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::from_io(&e, &name))?
            .len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: see the module doc: archive objects are immutable once written; an
            // external truncation leads to SIGBUS (a crash), never to reading freed memory.
            #[allow(unsafe_code)]
            let m = unsafe { memmap2::Mmap::map(&file) }
                .map_err(|e| StorageError::from_io(&e, &name))?;
            Some(m)
        };
        Ok(Self {
            map,
            path: path.to_path_buf(),
        })
    }

    /// Maps object `name` of `storage` if the storage keeps it in a local file; `Ok(None)` for
    /// other backends.
    pub fn open_object(storage: &dyn Storage, name: &str) -> Result<Option<Self>> {
        check_name(name)?;
        match storage.local_path(name) {
            Some(p) => Self::open(&p)
                .map(Some)
                .map_err(|e| e.with_object(name).with_url(&storage.display_url())),
            None => Ok(None),
        }
    }

    /// The mapped file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mapped bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// Turns the mapping into `Bytes` (zero-copy; the mapping lives as long as any clone).
    pub fn into_bytes(self) -> Bytes {
        match self.map {
            Some(m) => Bytes::from_owner(m),
            None => Bytes::new(),
        }
    }
}

impl Deref for LocalMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for LocalMap {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// The whole object: mapped when the storage is local, read otherwise.
pub async fn read_mapped(storage: &dyn Storage, name: &str) -> Result<Bytes> {
    match LocalMap::open_object(storage, name)? {
        Some(m) => Ok(m.into_bytes()),
        None => storage.read(name).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn store_9_maps_local_objects_and_reads_others() {
        let dir = tempfile::tempdir().unwrap();
        let s = super::super::open_url(dir.path().to_str().unwrap()).unwrap();
        s.write("a/b", Bytes::from_static(b"mapped")).await.unwrap();
        s.write("empty", Bytes::new()).await.unwrap();
        let m = LocalMap::open_object(s.as_ref(), "a/b").unwrap().unwrap();
        assert_eq!(&m[..], b"mapped");
        assert_eq!(
            &read_mapped(s.as_ref(), "a/b").await.unwrap()[..],
            b"mapped"
        );
        assert!(read_mapped(s.as_ref(), "empty").await.unwrap().is_empty());
        let e = LocalMap::open_object(s.as_ref(), "missing").unwrap_err();
        assert_eq!(e.kind, crate::storage::StorageErrorKind::NotFound);
        assert_eq!(e.object.as_deref(), Some("missing"));
        let mem = super::super::open_url("memory://local-map").unwrap();
        mem.write("x", Bytes::from_static(b"m")).await.unwrap();
        assert!(LocalMap::open_object(mem.as_ref(), "x").unwrap().is_none());
        assert_eq!(&read_mapped(mem.as_ref(), "x").await.unwrap()[..], b"m");
    }
}
