//! [`NoopStorage`] for BR's `noop://`: accepts writes and discards them; nothing ever exists.
//! Used to measure backup speed without storing anything (as BR does).

use async_trait::async_trait;
use bytes::Bytes;

use super::error::StorageError;
use super::{check_name, check_prefix, Capabilities, ObjectMeta, Result, Storage};

/// Storage that stores nothing (`noop://`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopStorage;

#[async_trait]
impl Storage for NoopStorage {
    async fn read(&self, name: &str) -> Result<Bytes> {
        check_name(name)?;
        Err(StorageError::not_found(name).with_url("noop://"))
    }
    async fn read_range(&self, name: &str, _offset: u64, _len: u64) -> Result<Bytes> {
        self.read(name).await
    }
    async fn write(&self, name: &str, _data: Bytes) -> Result<()> {
        check_name(name)
    }
    async fn write_if_absent(&self, name: &str, _data: Bytes) -> Result<()> {
        check_name(name)
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        check_prefix(prefix)?;
        Ok(Vec::new())
    }
    async fn stat(&self, name: &str) -> Result<ObjectMeta> {
        check_name(name)?;
        Err(StorageError::not_found(name).with_url("noop://"))
    }
    async fn delete(&self, name: &str) -> Result<()> {
        check_name(name)
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_create: true,
            local_files: false,
        }
    }
    fn display_url(&self) -> String {
        "noop://".to_string()
    }
}
