//! The pending-deletion journal (format/log-merge.md LOG-MERGE-12, format/log.md LOG-TRUNC-5):
//! before a merge or truncate drops groups from their metas it records the objects it is about
//! to delete, so a crash after the metas changed (when no meta lists those objects any more)
//! does not leak them; every later merge or truncate finishes the deletions of every journal,
//! deleting only objects no meta references. Owns the journal's name and JSON body.

use super::referenced_objects;
use crate::engine::{EngineError, Result};
use crate::format::logmeta::decode_log_meta;
use crate::format::naming::log::{
    build_journal_path, is_journal_path, parse_log_data_path, META_DIR,
};
use crate::storage::Storage;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use crate::format::naming::log::JOURNAL_DIR;

/// The body of one journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// `merge` or `truncate`.
    pub operation: String,
    /// Data objects to delete once no meta references them.
    pub objects: Vec<String>,
}

/// What [`finish_journals`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalCleanup {
    pub journals_finished: usize,
    pub journals_kept: usize,
    pub objects_deleted: usize,
}

/// Writes a journal for `objects` (nothing when empty) and returns its path
/// ([`build_journal_path`] with a random UUID).
pub async fn write_journal(
    storage: &dyn Storage,
    operation: &str,
    objects: &[String],
) -> Result<Option<String>> {
    if objects.is_empty() {
        return Ok(None);
    }
    let path = build_journal_path(uuid::Uuid::new_v4());
    let body = serde_json::to_vec(&Journal {
        operation: operation.to_string(),
        objects: objects.to_vec(),
    })
    .map_err(|e| EngineError::json(&path, e))?;
    storage.write(&path, Bytes::from(body)).await?;
    Ok(Some(path))
}

/// The paths of every journal in the archive.
pub async fn list_journals(storage: &dyn Storage) -> Result<Vec<String>> {
    Ok(storage
        .list(JOURNAL_DIR)
        .await?
        .into_iter()
        .map(|o| o.name)
        .filter(|n| is_journal_path(n))
        .collect())
}

/// LOG-MERGE-12: completes every journal: deletes each listed object that no current `.meta`
/// references, then the journal itself; a journal some of whose objects are still referenced
/// is kept for a later run.
pub async fn finish_journals(storage: &dyn Storage) -> Result<JournalCleanup> {
    let journals = list_journals(storage).await?;
    let mut done = JournalCleanup::default();
    if journals.is_empty() {
        return Ok(done);
    }
    // Read the metas now: the journal's objects are deleted only when no meta lists them.
    let mut metas = Vec::new();
    for o in storage.list(META_DIR).await? {
        if o.name.ends_with(".meta") {
            let bytes = storage.read(&o.name).await?;
            metas.push(decode_log_meta(&bytes).map_err(|e| e.in_file(o.name.clone()))?);
        }
    }
    let referenced = referenced_objects(&metas);
    for path in journals {
        let bytes = storage.read(&path).await?;
        let j: Journal = serde_json::from_slice(&bytes).map_err(|e| EngineError::json(&path, e))?;
        let mut kept = false;
        for obj in &j.objects {
            if referenced.contains(obj) {
                kept = true;
            } else {
                // Only data objects: a damaged journal never deletes a meta or the root.
                parse_log_data_path(obj).map_err(|e| e.in_file(path.clone()))?;
                storage.delete(obj).await?;
                done.objects_deleted += 1;
            }
        }
        if kept {
            done.journals_kept += 1;
        } else {
            storage.delete(&path).await?;
            done.journals_finished += 1;
        }
    }
    Ok(done)
}
