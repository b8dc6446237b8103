//! The log merge planner (format/log-merge.md LOG-MERGE-*): chooses small group objects,
//! packs their sub-files into new objects of at least a target size, and lays out the
//! crash-safe steps as data (write objects, write metas, rewrite or delete old metas, delete
//! old objects). Also the reader's dedup rule and [`apply_plan_bytes`], which builds the new
//! objects from the sources' bytes. Pure: no I/O; UUIDs come from the caller.

use super::error::{FormatError, Result};
use super::logmeta::EventKind;
use super::logmeta::{encode_log_meta, LogGroup, LogMeta, LogMetaVersion, LogSubFile};
use super::naming::log::{build_log_data_path, parse_meta_path, MetaName, META_DIR};
use super::naming::snapshot::Cf;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use uuid::Uuid;

/// LOG-MERGE-1: the default target size of a merged object (128 MiB).
pub const DEFAULT_TARGET_SIZE: u64 = 128 << 20;

/// LOG-MERGE-5: what makes two sub-file entries the same sub-file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubFileId {
    pub sha256: [u8; 32],
    pub region_id: i64,
    pub cf: Cf,
    pub kind: EventKind,
    pub min_ts: u64,
    pub max_ts: u64,
    pub length: u64,
}

impl SubFileId {
    /// `None` when the sub-file has no SHA-256 (such sub-files are never moved, LOG-MERGE-2).
    pub fn of(f: &LogSubFile) -> Option<SubFileId> {
        Some(SubFileId {
            sha256: f.sha256?,
            region_id: f.region_id,
            cf: f.cf,
            kind: f.kind,
            min_ts: f.min_ts,
            max_ts: f.max_ts,
            length: f.length,
        })
    }
}

/// LOG-MERGE-5: the sub-files a reader restores from a set of metas, each identity once, at
/// its canonical location (LOG-MERGE-6): the occurrence in the longest group, ties to the
/// smallest object path. Sub-files without SHA-256 are all kept.
pub fn dedup_sub_files(metas: &[(String, LogMeta)]) -> Vec<(String, LogSubFile)> {
    let canon = canonical_locations(metas);
    let mut out = Vec::new();
    for (_, m) in metas {
        for (path, f) in m.sub_files() {
            match SubFileId::of(f) {
                None => out.push((path.to_string(), f.clone())),
                Some(id) => {
                    if canon.get(&id).map(|(_, p)| p.as_str()) == Some(path) {
                        out.push((path.to_string(), f.clone()));
                    }
                }
            }
        }
    }
    // A canonical object may list one identity twice only through two metas; keep one.
    let mut seen = BTreeSet::new();
    out.retain(|(p, f)| match SubFileId::of(f) {
        None => true,
        Some(id) => seen.insert((id, p.clone())),
    });
    out
}

/// Identity → (group length, object path) of its canonical location (LOG-MERGE-6).
fn canonical_locations(metas: &[(String, LogMeta)]) -> HashMap<SubFileId, (u64, String)> {
    let mut canon: HashMap<SubFileId, (u64, String)> = HashMap::new();
    for (_, m) in metas {
        let groups = m
            .groups
            .iter()
            .map(|g| (g.length, g.path.as_str(), &g.files[..]));
        let v1 = m
            .files
            .iter()
            .map(|f| (0u64, f.path.as_str(), std::slice::from_ref(f)));
        for (len, path, files) in groups.chain(v1) {
            for f in files {
                let Some(id) = SubFileId::of(f) else { continue };
                let better = match canon.get(&id) {
                    None => true,
                    Some((l, p)) => len > *l || (len == *l && path < p.as_str()),
                };
                if better {
                    canon.insert(id, (len, path.to_string()));
                }
            }
        }
    }
    canon
}

/// One byte range copied from a source object into a new object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCopy {
    pub source: String,
    pub range_offset: u64,
    pub range_length: u64,
    pub new_offset: u64,
}

/// A new object: the copies that make it, in order, and its group as the new meta lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewObject {
    pub store_id: i64,
    pub copies: Vec<RangeCopy>,
    pub group: LogGroup,
}

/// One storage operation of a plan (LOG-MERGE-3 gives their order).
#[derive(Debug, Clone, PartialEq)]
pub enum MergeStep {
    /// Write new object `index` of [`MergePlan::objects`] (bytes from [`apply_plan_bytes`]).
    WriteObject { index: usize, path: String },
    /// Write a new `.meta` listing new objects.
    WriteMeta { path: String, meta: LogMeta },
    /// Overwrite an old `.meta` without the groups that moved or were superseded.
    RewriteMeta { path: String, meta: LogMeta },
    /// Delete an old `.meta` whose every group moved or was superseded.
    DeleteMeta { path: String },
    /// Delete an old object no remaining group references.
    DeleteObject { path: String },
}

/// The plan: new objects and the ordered steps. `Display` renders it for `--dry-run`.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    pub target_size: u64,
    pub objects: Vec<NewObject>,
    pub steps: Vec<MergeStep>,
}

impl MergePlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The `.meta` changes of phases 2 and 3 in step order: `Some(bytes)` to write (new or
    /// rewritten, encoded with `encode_log_meta`), `None` to delete.
    pub fn meta_writes(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                MergeStep::WriteMeta { path, meta } | MergeStep::RewriteMeta { path, meta } => {
                    Some((path.clone(), Some(encode_log_meta(meta))))
                }
                MergeStep::DeleteMeta { path } => Some((path.clone(), None)),
                _ => None,
            })
            .collect()
    }
}

/// A group is meta-KV (schema-meta) when it is not empty and all its sub-files are.
fn is_meta_group(g: &LogGroup) -> bool {
    !g.files.is_empty() && g.files.iter().all(|f| f.is_meta)
}

/// LOG-MERGE-2: a group may move when it is V2, smaller than the target, and every
/// sub-file has a SHA-256.
fn movable(g: &LogGroup, target: u64) -> bool {
    g.length < target && !g.files.is_empty() && g.files.iter().all(|f| f.sha256.is_some())
}

fn flush_ts_of(path: &str, m: &LogMeta) -> u64 {
    match parse_meta_path(path) {
        Ok(MetaName::LegacyHex { flush_ts, .. }) | Ok(MetaName::Tagged { flush_ts, .. }) => {
            flush_ts
        }
        _ => m.resolved_ts,
    }
}

/// A movable group: (min_ts, object path, meta index, group index); sorts in LOG-MERGE-4 order.
type Candidate<'a> = (u64, &'a str, usize, usize);

/// Plans a merge (LOG-MERGE-1 … LOG-MERGE-7). `new_uuid` names new objects. Deterministic
/// for a given input and UUID sequence.
pub fn plan_merge(
    metas: &[(String, LogMeta)],
    target_size: u64,
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> Result<MergePlan> {
    if target_size == 0 {
        return Err(FormatError::invalid(
            "LOG-MERGE-1",
            "target size",
            "must be > 0",
        ));
    }
    let mut seen_meta = BTreeSet::new();
    for (p, _) in metas {
        if !seen_meta.insert(p.as_str()) {
            return Err(FormatError::invalid(
                "LOG-MERGE-2",
                p.clone(),
                "meta listed twice",
            ));
        }
    }
    let canon = canonical_locations(metas);
    // (meta index, group index) leaving its meta: superseded (LOG-MERGE-6) or moved.
    let mut leaving: BTreeSet<(usize, usize)> = BTreeSet::new();
    // LOG-MERGE-6: groups none of whose sub-files is canonical there (left by a crash).
    for (mi, (_, m)) in metas.iter().enumerate() {
        if m.version != LogMetaVersion::V2 {
            continue;
        }
        for (gi, g) in m.groups.iter().enumerate() {
            let superseded = !g.files.is_empty()
                && g.files.iter().all(|f| {
                    SubFileId::of(f)
                        .is_some_and(|id| canon.get(&id).is_some_and(|(_, p)| *p != g.path))
                });
            if superseded {
                leaving.insert((mi, gi));
            }
        }
    }
    // LOG-MERGE-4: candidates by (store, class), ordered by min_ts then path.
    let mut buckets: BTreeMap<(i64, bool), Vec<Candidate>> = BTreeMap::new();
    for (mi, (_, m)) in metas.iter().enumerate() {
        if m.version != LogMetaVersion::V2 {
            continue;
        }
        for (gi, g) in m.groups.iter().enumerate() {
            if !leaving.contains(&(mi, gi)) && movable(g, target_size) {
                buckets
                    .entry((m.store_id, is_meta_group(g)))
                    .or_default()
                    .push((g.min_ts, g.path.as_str(), mi, gi));
            }
        }
    }
    let mut objects = Vec::new();
    let mut new_meta_src: Vec<Vec<usize>> = Vec::new();
    for ((store_id, schema_meta), mut cands) in buckets {
        cands.sort();
        let mut bins: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
        let mut size = 0u64;
        for (_, _, mi, gi) in cands {
            let len = metas[mi].1.groups[gi].length;
            if let Some(b) = bins.last_mut() {
                b.push((mi, gi));
            }
            size = size.saturating_add(len);
            if size >= target_size {
                bins.push(Vec::new());
                size = 0;
            }
        }
        for bin in bins.into_iter().filter(|b| b.len() >= 2) {
            let obj = build_object(metas, &bin, store_id, schema_meta, new_uuid());
            leaving.extend(bin.iter().copied());
            new_meta_src.push(bin.iter().map(|&(mi, _)| mi).collect());
            objects.push(obj);
        }
    }
    Ok(steps_for(
        metas,
        target_size,
        objects,
        new_meta_src,
        &leaving,
    ))
}

fn build_object(
    metas: &[(String, LogMeta)],
    bin: &[(usize, usize)],
    store_id: i64,
    schema_meta: bool,
    uuid: Uuid,
) -> NewObject {
    let groups: Vec<&LogGroup> = bin
        .iter()
        .map(|&(mi, gi)| &metas[mi].1.groups[gi])
        .collect();
    let min_ts = groups.iter().map(|g| g.min_ts).min().unwrap_or(0);
    let max_ts = groups.iter().map(|g| g.max_ts).max().unwrap_or(0);
    let min_resolved_ts = groups.iter().map(|g| g.min_resolved_ts).min().unwrap_or(0);
    let path = build_log_data_path(store_id as u64, min_ts, max_ts, uuid, schema_meta);
    let mut copies = Vec::new();
    let mut files = Vec::new();
    let mut off = 0u64;
    for g in &groups {
        for f in &g.files {
            copies.push(RangeCopy {
                source: g.path.clone(),
                range_offset: f.range_offset,
                range_length: f.range_length,
                new_offset: off,
            });
            let mut nf = f.clone();
            nf.path.clear();
            nf.range_offset = off;
            off = off.saturating_add(f.range_length);
            files.push(nf);
        }
    }
    NewObject {
        store_id,
        copies,
        group: LogGroup {
            path,
            min_ts,
            max_ts,
            min_resolved_ts,
            length: off,
            files,
        },
    }
}

fn steps_for(
    metas: &[(String, LogMeta)],
    target_size: u64,
    objects: Vec<NewObject>,
    new_meta_src: Vec<Vec<usize>>,
    leaving: &BTreeSet<(usize, usize)>,
) -> MergePlan {
    let mut steps = Vec::new();
    for (index, o) in objects.iter().enumerate() {
        steps.push(MergeStep::WriteObject {
            index,
            path: o.group.path.clone(),
        });
    }
    // LOG-MERGE-8: new meta names are unique among old and new names.
    let mut taken: BTreeSet<String> = metas.iter().map(|(p, _)| p.clone()).collect();
    for (o, src) in objects.iter().zip(&new_meta_src) {
        let g = &o.group;
        let mut flush_ts = src
            .iter()
            .map(|&mi| flush_ts_of(&metas[mi].0, &metas[mi].1))
            .max()
            .unwrap_or(0);
        let min_begin = g
            .files
            .iter()
            .map(|f| f.min_begin_ts_in_default_cf)
            .min()
            .unwrap_or(g.min_ts);
        let flags = if g.files.iter().any(|f| f.is_meta) {
            0
        } else {
            1
        };
        let path = loop {
            let p = MetaName::Tagged {
                flush_ts,
                store_id: o.store_id as u64,
                min_begin_ts: min_begin,
                min_ts: g.min_ts,
                max_ts: g.max_ts,
                flags: Some(flags),
                other_tags: Vec::new(),
            }
            .path();
            if taken.insert(p.clone()) {
                break p;
            }
            flush_ts = flush_ts.wrapping_add(1);
        };
        steps.push(MergeStep::WriteMeta {
            path,
            meta: LogMeta {
                store_id: o.store_id,
                // LOG-META-11: as BR's ReplaceMetadata.
                resolved_ts: g.min_resolved_ts,
                min_ts: g.min_ts,
                max_ts: g.max_ts,
                version: LogMetaVersion::V2,
                groups: vec![g.clone()],
                files: Vec::new(),
            },
        });
    }
    // Objects still referenced after the plan (kept groups, V1 files, new objects).
    let mut kept_objects: BTreeSet<&str> = objects.iter().map(|o| o.group.path.as_str()).collect();
    let mut old_objects: BTreeSet<&str> = BTreeSet::new();
    for (mi, (path, m)) in metas.iter().enumerate() {
        kept_objects.extend(m.files.iter().map(|f| f.path.as_str()));
        let mut kept = Vec::new();
        for (gi, g) in m.groups.iter().enumerate() {
            if leaving.contains(&(mi, gi)) {
                old_objects.insert(g.path.as_str());
            } else {
                kept_objects.insert(g.path.as_str());
                kept.push(g.clone());
            }
        }
        if kept.len() == m.groups.len() {
            continue;
        }
        if kept.is_empty() && m.files.is_empty() {
            steps.push(MergeStep::DeleteMeta { path: path.clone() });
        } else {
            // LOG-META-11: recompute like BR's ReplaceMetadata (V1 files keep the old values).
            let mut nm = m.clone();
            if !kept.is_empty() {
                nm.min_ts = kept.iter().map(|g| g.min_ts).min().unwrap_or(0);
                nm.max_ts = kept.iter().map(|g| g.max_ts).max().unwrap_or(0);
                nm.resolved_ts = kept.iter().map(|g| g.min_resolved_ts).min().unwrap_or(0);
            }
            nm.groups = kept;
            steps.push(MergeStep::RewriteMeta {
                path: path.clone(),
                meta: nm,
            });
        }
    }
    for p in old_objects.difference(&kept_objects) {
        steps.push(MergeStep::DeleteObject {
            path: p.to_string(),
        });
    }
    MergePlan {
        target_size,
        objects,
        steps,
    }
}

/// Builds the bytes of every new object from the source objects' bytes (LOG-MERGE-9):
/// byte-exact copies, in plan order. Returns `(path, bytes)` per new object.
pub fn apply_plan_bytes(
    plan: &MergePlan,
    sources: &HashMap<String, Vec<u8>>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::with_capacity(plan.objects.len());
    for o in &plan.objects {
        let mut bytes = Vec::new();
        for c in &o.copies {
            let src = sources.get(&c.source).ok_or_else(|| {
                FormatError::invalid("LOG-MERGE-9", c.source.clone(), "source object missing")
            })?;
            let end = c.range_offset.checked_add(c.range_length);
            let slice = end
                .filter(|&e| e <= src.len() as u64)
                .map(|e| &src[c.range_offset as usize..e as usize])
                .ok_or_else(|| {
                    FormatError::truncated(
                        "LOG-MERGE-9",
                        format!("{} range at {}", c.source, c.range_offset),
                        c.range_offset.saturating_add(c.range_length),
                        src.len() as u64,
                    )
                })?;
            if bytes.len() as u64 != c.new_offset {
                return Err(FormatError::invalid(
                    "LOG-MERGE-9",
                    o.group.path.clone(),
                    "copies are not contiguous",
                ));
            }
            bytes.extend_from_slice(slice);
        }
        out.push((o.group.path.clone(), bytes));
    }
    Ok(out)
}

impl fmt::Display for MergePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "merge plan: {} new object(s), target {} bytes, {} step(s)",
            self.objects.len(),
            self.target_size,
            self.steps.len()
        )?;
        for o in &self.objects {
            writeln!(
                f,
                "object {} (store {}, {} bytes, {} sub-files)",
                o.group.path,
                o.store_id,
                o.group.length,
                o.copies.len()
            )?;
            for c in &o.copies {
                writeln!(
                    f,
                    "  copy {} [{}, +{}) -> @{}",
                    c.source, c.range_offset, c.range_length, c.new_offset
                )?;
            }
        }
        for (i, s) in self.steps.iter().enumerate() {
            let (op, path) = match s {
                MergeStep::WriteObject { path, .. } => ("write object", path),
                MergeStep::WriteMeta { path, .. } => ("write meta", path),
                MergeStep::RewriteMeta { path, .. } => ("rewrite meta", path),
                MergeStep::DeleteMeta { path } => ("delete meta", path),
                MergeStep::DeleteObject { path } => ("delete object", path),
            };
            writeln!(f, "step {}: {op} {path}", i + 1)?;
        }
        Ok(())
    }
}

/// True when `path` is a `.meta` object path a merge may write (under [`META_DIR`]).
pub fn is_meta_path(path: &str) -> bool {
    path.starts_with(META_DIR) && path.ends_with(".meta")
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
