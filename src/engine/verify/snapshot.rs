//! Verifying a snapshot archive's metadata (VERIFY-META-*).

use super::{VerifyOptions, VerifyProgress, VerifyReport};
use crate::engine::Result;
use crate::storage::Storage;

pub async fn verify_snapshot(
    _storage: &dyn Storage,
    _root: Option<&[u8]>,
    _opts: &VerifyOptions,
    _progress: &dyn VerifyProgress,
    _report: &mut VerifyReport,
) -> Result<()> {
    Ok(())
}
