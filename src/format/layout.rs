//! Which kind of archive a storage root holds (format/layout.md LAYOUT-3), decided from the
//! names found at the root and the decoded root document. Pure: the caller lists and reads.

use super::backupmeta::BackupMeta;
use super::error::{FormatError, Result};

/// The two archive kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// A snapshot (full/db/table) backup: SSTs plus backupmeta with a backup ts.
    Snapshot,
    /// A log backup (PITR): `v1/backupmeta/*.meta`, merged log objects, checkpoints.
    Log,
}

/// LAYOUT-3. `has_log_metas`: some object exists under `v1/backupmeta/`; `root`: the decoded
/// `backupmeta` if one exists. A root with a backup ts is a snapshot; `v1/backupmeta/` objects,
/// or a root with `end_version == 0` and no data, make a log archive; anything else is not an
/// archive.
pub fn detect(has_log_metas: bool, root: Option<&BackupMeta>) -> Result<ArchiveKind> {
    match root {
        Some(m) if m.end_version > 0 => {
            if has_log_metas {
                return Err(FormatError::invalid(
                    "LAYOUT-3",
                    "archive root",
                    "holds both a snapshot backupmeta (end_version > 0) and log metadata under v1/backupmeta/",
                ));
            }
            Ok(ArchiveKind::Snapshot)
        }
        Some(m) => {
            let empty = m.files.is_empty() && m.schemas.is_empty() && m.file_index.is_empty() && m.schema_index.is_empty();
            if empty || has_log_metas {
                Ok(ArchiveKind::Log)
            } else {
                Err(FormatError::invalid(
                    "LAYOUT-3",
                    "backupmeta field end_version",
                    "is 0 but the document lists data files or schemas (neither a snapshot nor a log root)",
                ))
            }
        }
        None if has_log_metas => Ok(ArchiveKind::Log),
        None => Err(FormatError::invalid(
            "LAYOUT-3",
            "archive root",
            "no backupmeta and no v1/backupmeta/ objects: not a BR archive (or a backup that never finished)",
        )),
    }
}
