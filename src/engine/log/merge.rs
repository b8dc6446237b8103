//! `log merge`: executes a `format::merge` plan over storage (format/log-merge.md). Steps run
//! strictly in plan order (LOG-MERGE-3): new objects, new metas, then, after the
//! pending-deletion journal is written (LOG-MERGE-12), rewrites and deletions of old metas,
//! then deletions of old objects. New objects get names derived from their sources
//! (LOG-MERGE-13) so a re-run after a crash overwrites its own half-done work instead of
//! leaving garbage; sources are read by range, checked, one new object in memory at a time.

use super::journal::{finish_journals, write_journal, JournalCleanup};
use super::metas_of;
use crate::archive::log::LogArchive;
use crate::engine::{EngineError, Result};
use crate::format::crypto::{Cipher, CipherMethod};
use crate::format::logfile::decode_sub_file;
use crate::format::logmeta::{encode_log_meta, LogSubFile};
use crate::format::merge::{plan_merge, MergePlan, MergeStep, NewObject};
use crate::format::naming::log::build_log_data_path;
use crate::format::FormatError;
use crate::storage::{Storage, StorageErrorKind};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeSummary {
    pub steps: usize,
    pub objects_written: usize,
    pub bytes_written: u64,
    pub metas_written: usize,
    pub metas_rewritten: usize,
    pub metas_deleted: usize,
    pub objects_deleted: usize,
    /// Deletions finished for journals of earlier, interrupted runs.
    pub journals: JournalCleanup,
}

impl fmt::Display for MergeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "merge: {} step(s): wrote {} object(s) ({} bytes) and {} meta(s), rewrote {} meta(s), deleted {} meta(s) and {} object(s)",
            self.steps,
            self.objects_written,
            self.bytes_written,
            self.metas_written,
            self.metas_rewritten,
            self.metas_deleted,
            self.objects_deleted
        )?;
        let j = &self.journals;
        if j.journals_finished + j.journals_kept > 0 {
            write!(
                f,
                "; earlier runs: {} journal(s) finished, {} kept, {} object(s) deleted",
                j.journals_finished, j.journals_kept, j.objects_deleted
            )?;
        }
        Ok(())
    }
}

/// Parses a `--target-size`: bytes, or a number with `KB`/`MB`/`GB`/`TB` (powers of 1000)
/// or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), case-insensitive, optional `B` for bytes.
/// Zero is refused (LOG-MERGE-1).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size like 128MiB, 64MB or 1048576"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ))
        }
    };
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?}: too large"))?;
    if v == 0 {
        return Err(format!("{s:?}: the target size must be > 0 (LOG-MERGE-1)"));
    }
    Ok(v)
}

/// LOG-MERGE-13: a new object's UUID is derived from its source ranges (SHA-256, v4 layout),
/// so planning the same sources again names the same object. Renames the objects of `plan`
/// and every reference to them.
pub fn stable_object_names(plan: &mut MergePlan) {
    let mut renames: HashMap<String, String> = HashMap::new();
    for o in &mut plan.objects {
        let mut h = Sha256::new();
        h.update(b"brkit log merge v1\0");
        for c in &o.copies {
            h.update(c.source.as_bytes());
            h.update([0]);
            h.update(c.range_offset.to_be_bytes());
            h.update(c.range_length.to_be_bytes());
        }
        let mut b = [0u8; 16];
        b.copy_from_slice(&h.finalize()[..16]);
        let uuid = uuid::Builder::from_random_bytes(b).into_uuid();
        let schema_meta = !o.group.files.is_empty() && o.group.files.iter().all(|f| f.is_meta);
        let new = build_log_data_path(
            o.store_id as u64,
            o.group.min_ts,
            o.group.max_ts,
            uuid,
            schema_meta,
        );
        renames.insert(std::mem::replace(&mut o.group.path, new.clone()), new);
    }
    let rename = |p: &mut String| {
        if let Some(n) = renames.get(p.as_str()) {
            *p = n.clone();
        }
    };
    for s in &mut plan.steps {
        match s {
            MergeStep::WriteObject { path, .. } => rename(path),
            MergeStep::WriteMeta { meta, .. } => {
                meta.groups.iter_mut().for_each(|g| rename(&mut g.path))
            }
            _ => {}
        }
    }
}

/// Plans a merge of the archive's current state (LOG-MERGE-7: also completes a crashed one).
pub async fn plan_log_merge(storage: &dyn Storage, target_size: u64) -> Result<MergePlan> {
    let archive = LogArchive::open(storage).await?;
    let metas = metas_of(&archive);
    let mut n = 0u128;
    let mut plan = plan_merge(&metas, target_size, &mut || {
        n += 1;
        uuid::Uuid::from_u128(n)
    })?;
    stable_object_names(&mut plan);
    Ok(plan)
}

/// LOG-MERGE-9, LOG-MERGE-14: checks a stored sub-file before it is copied: plaintext ones
/// are decoded and checked (length, SHA-256, crc64xor), encrypted ones against the SHA-256
/// of their ciphertext when recorded.
fn check_stored(stored: &[u8], f: &LogSubFile) -> std::result::Result<(), FormatError> {
    let mut at0 = f.clone();
    at0.range_offset = 0;
    match &f.encryption {
        Some(e) if e.method != CipherMethod::Plaintext => {
            if !e.checksum.is_empty() && Sha256::digest(stored).as_slice() != e.checksum.as_slice()
            {
                return Err(FormatError::mismatch(
                    "LOG-FILE-4",
                    "sub-file ciphertext sha256",
                    hex::encode(&e.checksum),
                    hex::encode(Sha256::digest(stored)),
                ));
            }
            Ok(())
        }
        _ => decode_sub_file(stored, &at0, &Cipher::plaintext()).map(|_| ()),
    }
}

/// Reads the bytes of one new object: each run of contiguous ranges of one source with one
/// `read_range`, every sub-file checked (LOG-MERGE-14).
async fn build_object(storage: &dyn Storage, o: &NewObject) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(o.group.length).unwrap_or(0));
    let mut i = 0;
    while i < o.copies.len() {
        let first = &o.copies[i];
        let mut end = first.range_offset.saturating_add(first.range_length);
        let mut j = i + 1;
        while j < o.copies.len()
            && o.copies[j].source == first.source
            && o.copies[j].range_offset == end
        {
            end = end.saturating_add(o.copies[j].range_length);
            j += 1;
        }
        if bytes.len() as u64 != first.new_offset {
            return Err(FormatError::invalid(
                "LOG-MERGE-9",
                o.group.path.clone(),
                "copies are not contiguous",
            )
            .into());
        }
        let run = storage
            .read_range(&first.source, first.range_offset, end - first.range_offset)
            .await?;
        for (c, f) in o.copies[i..j].iter().zip(&o.group.files[i..j]) {
            let from = usize::try_from(c.range_offset - first.range_offset).unwrap_or(usize::MAX);
            let to = usize::try_from(c.range_length)
                .ok()
                .and_then(|l| from.checked_add(l));
            let stored = to.and_then(|to| run.get(from..to)).ok_or_else(|| {
                FormatError::invalid("LOG-MERGE-9", c.source.clone(), "short range read")
            })?;
            check_stored(stored, f).map_err(|e| e.in_file(c.source.clone()))?;
        }
        bytes.extend_from_slice(&run);
        i = j;
    }
    if bytes.len() as u64 != o.group.length {
        return Err(FormatError::mismatch(
            "LOG-META-5",
            "merged object length",
            o.group.length.to_string(),
            bytes.len().to_string(),
        )
        .in_file(o.group.path.clone())
        .into());
    }
    Ok(bytes)
}

/// Executes `plan` step by step in its order (LOG-MERGE-3), writing the pending-deletion
/// journal before the first step of phase 3 (LOG-MERGE-12) and removing it after the last
/// step; then finishes the journals of earlier interrupted runs. Any failure stops at once:
/// re-planning and running again completes the merge (LOG-MERGE-7).
pub async fn execute_merge_plan(storage: &dyn Storage, plan: &MergePlan) -> Result<MergeSummary> {
    let mut s = MergeSummary {
        steps: plan.steps.len(),
        ..Default::default()
    };
    let deletes: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|st| match st {
            MergeStep::DeleteObject { path } => Some(path.clone()),
            _ => None,
        })
        .collect();
    let mut journal: Option<Option<String>> = None;
    for step in &plan.steps {
        let phase3 = matches!(
            step,
            MergeStep::RewriteMeta { .. }
                | MergeStep::DeleteMeta { .. }
                | MergeStep::DeleteObject { .. }
        );
        if phase3 && journal.is_none() {
            journal = Some(write_journal(storage, "merge", &deletes).await?);
        }
        match step {
            MergeStep::WriteObject { index, path } => {
                let o = plan.objects.get(*index).ok_or_else(|| {
                    FormatError::invalid("LOG-MERGE-3", path.clone(), "no such new object")
                })?;
                let bytes = build_object(storage, o).await?;
                s.bytes_written += bytes.len() as u64;
                storage.write(path, Bytes::from(bytes)).await?;
                s.objects_written += 1;
            }
            MergeStep::WriteMeta { path, meta } => {
                let bytes = Bytes::from(encode_log_meta(meta));
                match storage.write_if_absent(path, bytes.clone()).await {
                    Ok(()) => {}
                    // A lost answer of our own earlier attempt: the same bytes are there.
                    Err(e) if e.kind == StorageErrorKind::AlreadyExists => {
                        if storage.read(path).await? != bytes {
                            return Err(EngineError::Storage(e));
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
                s.metas_written += 1;
            }
            MergeStep::RewriteMeta { path, meta } => {
                storage
                    .write(path, Bytes::from(encode_log_meta(meta)))
                    .await?;
                s.metas_rewritten += 1;
            }
            MergeStep::DeleteMeta { path } => {
                storage.delete(path).await?;
                s.metas_deleted += 1;
            }
            MergeStep::DeleteObject { path } => {
                storage.delete(path).await?;
                s.objects_deleted += 1;
            }
        }
    }
    if let Some(Some(j)) = journal {
        storage.delete(&j).await?;
    }
    s.journals = finish_journals(storage).await?;
    Ok(s)
}

/// Plans and executes a merge into objects of at least `target_size` stored bytes; what the
/// log backup task calls when enough small objects exist. Idempotent: a second call on a
/// merged archive changes nothing.
pub async fn merge_small_objects(storage: &dyn Storage, target_size: u64) -> Result<MergeSummary> {
    let plan = plan_log_merge(storage, target_size).await?;
    execute_merge_plan(storage, &plan).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_size_units_log_merge_1() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("64MB"), Ok(64_000_000));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("10 kib"), Ok(10_240));
        assert_eq!(parse_size("7B"), Ok(7));
        for bad in [
            "",
            "0",
            "0MiB",
            "MiB",
            "12XB",
            "-1",
            "99999999999TiB",
            "1.5MiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
