//! Verifying a log backup archive (format/log.md, format/verify.md VERIFY-LOG-*).
//! TODO(helper vlog): implement.

use super::{VerifyOptions, VerifyProgress, VerifyReport};
use crate::engine::Result;
use crate::storage::Storage;

/// Checks every `.meta`, group object and sub-file, and the ts coverage of the archive;
/// `root` is the `backupmeta` bytes when the archive has one.
pub async fn verify_log(
    _storage: &dyn Storage,
    _root: Option<&[u8]>,
    _opts: &VerifyOptions,
    _progress: &dyn VerifyProgress,
    _report: &mut VerifyReport,
) -> Result<()> {
    Ok(())
}
