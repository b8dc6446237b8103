//! The client side of log replay, as BR drives TiKV's `ImportSST.Apply`: each sub-file's key
//! range is rewritten into the target's key space (REWRITE-*), the regions it spans are looked
//! up, and every region's leader store gets one Apply request per batch of sub-files with the
//! storage backend, the rewrite rules and the ts window, so the stores read the log objects
//! themselves and replay scales with the stores. A region that changed underneath answers with
//! a region error and its part is looked up and sent again.
//!
//! Completeness: every store reports, per sub-file, the events inside the ts window and how many
//! it applied; the sums over regions must equal the window counts, so no event is lost between
//! regions (and none applied twice).

use super::plan::ReplayFile;
use crate::cluster::{ClusterClient, Region};
use crate::codec::mvcc::split_ts;
use crate::codec::table::{rewrite_encoded_key, RewriteRule};
use crate::engine::error::{EngineError, Result};
use crate::format::logmeta::{EventKind, LogCompression};
use crate::proto::backup::{CipherInfo, StorageBackend};
use crate::proto::encryptionpb::FileEncryptionInfo;
use crate::proto::import_sstpb::{self as isst, ApplyRequest, KvMeta};
use crate::proto::{kvrpcpb, metapb};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// At most this many stored bytes of sub-files per Apply request.
const REQUEST_BYTES: u64 = 64 << 20;
/// At most this many sub-files per Apply request.
const REQUEST_FILES: usize = 256;
/// Rounds of region-error retries before giving up.
const MAX_ROUNDS: usize = 30;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub files: u64,
    /// Stored (compressed, encrypted) bytes of the sub-files, each counted once.
    pub stored_bytes: u64,
    /// Plaintext event-stream bytes of the sub-files (LOG-FILE-5 `length`).
    pub plain_bytes: u64,
    /// Events inside the ts windows (each counted once).
    pub events: u64,
    pub requests: u64,
    /// Region pieces sent again after a region error.
    pub retried: u64,
}

impl ReplayStats {
    pub fn add(&mut self, o: &ReplayStats) {
        self.files += o.files;
        self.stored_bytes += o.stored_bytes;
        self.plain_bytes += o.plain_bytes;
        self.events += o.events;
        self.requests += o.requests;
        self.retried += o.retried;
    }
}

/// Everything the requests share.
pub struct Replayer<'a> {
    pub client: &'a ClusterClient,
    pub backend: StorageBackend,
    pub cipher_info: Option<CipherInfo>,
    pub rules: Vec<RewriteRule>,
    pub concurrency: usize,
}

fn rerr(msg: impl Into<String>) -> EngineError {
    EngineError::Restore(msg.into())
}

fn kv_meta(r: &ReplayFile) -> KvMeta {
    let f = &r.file;
    KvMeta {
        name: r.path.clone(),
        length: f.length,
        cf: f.cf.as_str().to_string(),
        is_delete: f.kind == EventKind::Delete,
        restore_ts: r.restore_ts,
        start_key: f.start_key.clone(),
        end_key: f.end_key.clone(),
        sha256: f.sha256.map(|s| s.to_vec()).unwrap_or_default(),
        start_snapshot_ts: 0,
        start_ts: r.start_ts,
        range_offset: f.range_offset,
        range_length: if f.path.is_empty() { f.range_length } else { 0 },
        compression_type: match f.compression {
            LogCompression::None => 0,
            LogCompression::Zstd => 3,
        },
        file_encryption_info: f.encryption.as_ref().map(|e| FileEncryptionInfo {
            mode: None,
            encryption_method: e.method.to_proto(),
            file_iv: e.iv.clone(),
            checksum: e.checksum.clone(),
        }),
        crc64xor: f.crc64xor,
    }
}

/// The rewritten, encoded user-key range `[start, end)` a sub-file's events can land in.
fn target_range(rules: &[RewriteRule], r: &ReplayFile) -> Result<(Vec<u8>, Vec<u8>)> {
    let user = |k: &[u8]| -> Result<Vec<u8>> {
        let new = rewrite_encoded_key(rules, k)?.ok_or_else(|| {
            rerr(format!(
                "sub-file of table {} in {}: key {} matches no rewrite rule (REWRITE-4)",
                r.file.table_id,
                r.path,
                hex::encode(k)
            ))
        })?;
        Ok(split_ts(&new)?.0.to_vec())
    };
    let start = user(&r.file.start_key)?;
    let mut end = user(&r.file.end_key)?;
    // end_key is inclusive (LOG-FILE-7): the smallest key above it ends the range.
    end.push(0);
    if end <= start {
        return Err(rerr(format!(
            "sub-file in {} at {}: start_key is above end_key (LOG-FILE-7)",
            r.path, r.file.range_offset
        )));
    }
    Ok((start, end))
}

/// One piece of work: sub-file `file` restricted to `[start, end)`.
type Piece = (usize, Vec<u8>, Vec<u8>);

/// Per sub-file: (events in the window as the stores report it, Σ applied over regions).
type Tally = Vec<(Option<u64>, u64)>;

impl Replayer<'_> {
    /// Applies `files` (already in application order) to the target stores.
    pub async fn replay(&self, files: &[ReplayFile]) -> Result<ReplayStats> {
        let mut stats = ReplayStats::default();
        let mut pieces: Vec<Piece> = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let (s, e) = target_range(&self.rules, f)?;
            pieces.push((i, s, e));
            stats.files += 1;
            stats.stored_bytes += f.file.range_length;
            stats.plain_bytes += f.file.length;
        }
        let metas: Vec<KvMeta> = files.iter().map(kv_meta).collect();
        let mut tally: Tally = vec![(None, 0); files.len()];
        let mut round = 0;
        while !pieces.is_empty() {
            round += 1;
            if round > MAX_ROUNDS {
                return Err(rerr(format!(
                    "{} sub-file pieces keep hitting region changes after {MAX_ROUNDS} rounds",
                    pieces.len()
                )));
            }
            if round > 1 {
                stats.retried += pieces.len() as u64;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let jobs = self.jobs(&pieces, files).await?;
            stats.requests += jobs.len() as u64;
            let mut next: Vec<Piece> = Vec::new();
            let mut results = futures::stream::iter(jobs)
                .map(|(region, idx)| async {
                    let r = self.send(&region, &idx, &metas).await;
                    (region, idx, r)
                })
                .buffer_unordered(self.concurrency.max(1));
            while let Some((region, idx, r)) = results.next().await {
                match r? {
                    Ok(counts) => {
                        for (&i, c) in idx.iter().zip(counts) {
                            let t = &mut tally[i];
                            if t.0.is_some_and(|w| w != c.in_window) {
                                return Err(rerr(format!(
                                    "stores disagree on the events of {} at {}",
                                    files[i].path, files[i].file.range_offset
                                )));
                            }
                            t.0 = Some(c.in_window);
                            t.1 += c.applied;
                        }
                    }
                    Err(()) => {
                        for &i in &idx {
                            for (pi, s, e) in &pieces {
                                if *pi == i && region.overlaps(s, e) {
                                    let (cs, ce) = region.clip(s, e);
                                    next.push((i, cs, ce));
                                }
                            }
                        }
                    }
                }
            }
            pieces = next;
        }
        for (i, (w, applied)) in tally.iter().enumerate() {
            let w = w.unwrap_or(0);
            if w != *applied {
                return Err(rerr(format!(
                    "sub-file of table {} in {} at {}: {w} events fall in the replay window but {applied} were applied across the regions",
                    files[i].file.table_id, files[i].path, files[i].file.range_offset
                )));
            }
            stats.events += w;
        }
        Ok(stats)
    }

    /// Pieces grouped by the region they fall in, in file order, cut into requests.
    async fn jobs(
        &self,
        pieces: &[Piece],
        files: &[ReplayFile],
    ) -> Result<Vec<(Region, Vec<usize>)>> {
        let mut by_region: BTreeMap<u64, (Region, Vec<usize>)> = BTreeMap::new();
        for (i, s, e) in pieces {
            for r in self.client.scan_regions(s, e).await? {
                let entry = by_region
                    .entry(r.id)
                    .or_insert_with(|| (r.clone(), Vec::new()));
                entry.1.push(*i);
            }
        }
        let mut jobs = Vec::new();
        for (_, (region, mut idx)) in by_region {
            idx.sort_unstable();
            idx.dedup();
            let mut cur: Vec<usize> = Vec::new();
            let mut bytes = 0;
            for i in idx {
                let b = files[i].file.range_length;
                if !cur.is_empty() && (bytes + b > REQUEST_BYTES || cur.len() >= REQUEST_FILES) {
                    jobs.push((region.clone(), std::mem::take(&mut cur)));
                    bytes = 0;
                }
                cur.push(i);
                bytes += b;
            }
            if !cur.is_empty() {
                jobs.push((region, cur));
            }
        }
        Ok(jobs)
    }

    /// One Apply request. `Ok(Err(()))`: a region error, retry the pieces.
    async fn send(
        &self,
        region: &Region,
        idx: &[usize],
        metas: &[KvMeta],
    ) -> Result<std::result::Result<Vec<isst::ApplyCount>, ()>> {
        let (addr, mut ic) = self.client.import_client(region.leader_store).await?;
        let req = ApplyRequest {
            metas: idx.iter().map(|&i| metas[i].clone()).collect(),
            rewrite_rules: self
                .rules
                .iter()
                .map(|r| isst::RewriteRule {
                    old_key_prefix: r.old_prefix.clone(),
                    new_key_prefix: r.new_prefix.clone(),
                    ..Default::default()
                })
                .collect(),
            storage_backend: Some(self.backend.clone()),
            context: Some(kvrpcpb::Context {
                region_id: region.id,
                region_epoch: Some(metapb::RegionEpoch {
                    conf_ver: region.epoch.conf_ver,
                    version: region.epoch.version,
                }),
                peer: Some(region.leader_peer()),
            }),
            cipher_info: self.cipher_info.clone(),
            ..Default::default()
        };
        let resp = ic
            .apply(req)
            .await
            .map_err(|s| {
                rerr(format!(
                    "store {} at {addr}: apply: {}",
                    region.leader_store,
                    s.message()
                ))
            })?
            .into_inner();
        if let Some(e) = resp.error {
            if let Some(se) = &e.store_error {
                tracing::info!(region = region.id, err = %crate::cluster::error::describe_region_error(se), "apply hit a region error; retrying");
                return Ok(Err(()));
            }
            return Err(rerr(format!(
                "store {} at {addr}: {}",
                region.leader_store, e.message
            )));
        }
        if resp.counts.len() != idx.len() {
            return Err(rerr(format!(
                "store {} at {addr}: apply answered {} counts for {} sub-files",
                region.leader_store,
                resp.counts.len(),
                idx.len()
            )));
        }
        Ok(Ok(resp.counts))
    }
}
