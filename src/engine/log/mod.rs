//! Maintenance of log backup archives over storage alone (format/log.md, format/log-merge.md):
//! `log metadata` (restorable window, gaps, sizes), `log merge` (executes the pure planner of
//! `format::merge` in the LOG-MERGE-3 order) and `log truncate` (BR's rule, LOG-TRUNC-3), with
//! the pending-deletion journal both use so a crash never leaks objects (LOG-MERGE-12). Every
//! operation that changes storage is a plan first (printable for `--dry-run`), then executed.
//! Knows no CLI and no cluster; one merge or truncate at a time per archive.

pub mod journal;
pub mod merge;
pub mod metadata;
pub mod test_archive;
pub mod truncate;

use crate::archive::log::LogArchive;
use crate::format::logmeta::LogMeta;

/// `(path, meta)` of every `.meta` of an opened archive, the planners' input.
pub fn metas_of(archive: &LogArchive) -> Vec<(String, LogMeta)> {
    archive
        .metas
        .iter()
        .map(|m| (m.path.clone(), m.meta.clone()))
        .collect()
}

/// Every data object a set of metas references (group paths and V1 file paths).
pub fn referenced_objects<'a>(
    metas: impl IntoIterator<Item = &'a LogMeta>,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for m in metas {
        out.extend(m.groups.iter().map(|g| g.path.clone()));
        out.extend(m.files.iter().map(|f| f.path.clone()));
    }
    out
}
