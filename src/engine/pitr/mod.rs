//! Point-in-time restore (`brtool restore point`), as BR's PITR does it: open the log archive
//! and its restorable window (LOG-TRUNC-2), pick the restored ts (default: the global
//! checkpoint), compute the schema at that ts from the snapshot plus the log's meta-KV events
//! (`schema`), restore the snapshot's tables that still exist then (`engine::restore`), create
//! the tables born after the snapshot with new ids, replay the log's data events with
//! snapshot_ts < commit_ts ≤ restored_ts in the target stores through `ImportSST.Apply`
//! (`replay`), keys rewritten old id → new id and original ts kept, advance the TSO past the
//! restored ts, and report per-table checksums recomputed on the target.
//!
//! Checksums: the snapshot part is verified against the archive (CSUM-3) before the replay;
//! every replayed sub-file is verified (length, SHA-256, crc64xor: LOG-FILE-5/6) by the store
//! reading it, and the per-sub-file event counts prove every event in the window reached a
//! region. An expected per-table checksum at the restored ts is not derived from the log (the
//! log does not say which snapshot versions an event replaced); the target's checksums are
//! reported, not compared.
//!
//! Keys: the snapshot and the log have their own (`--crypter.*` and `--log.crypter.*`, as
//! BR); the log key is checked on the log's metadata and one sub-file before anything is
//! created (`key`, LOG-CRYPT-5).
//!
//! Failure never leaves a table silently partial: the tables this run created are dropped and
//! the error says so.

pub mod key;
pub mod plan;
pub mod replay;
pub mod schema;

pub use plan::{plan_replay, restored_ts, ReplayFile, ReplayPlan};
pub use replay::ReplayStats;
pub use schema::{ReplayKv, TableAt};

use crate::archive::catalog::catalog;
use crate::archive::log::LogArchive;
use crate::archive::snapshot::SnapshotArchive;
use crate::cluster::storage_backend::to_backend;
use crate::cluster::ClusterClient;
use crate::codec::model::TableInfo;
use crate::engine::backup::Progress;
use crate::engine::error::{EngineError, Result};
use crate::engine::filter::TableFilter;
use crate::engine::ranges::table_range_pairs;
use crate::engine::restore::{
    create_table, run_restore, ExistingPolicy, RestoreOptions, RestoreSummary, RestoreTable,
};
use crate::format::checksum::Checksum;
use crate::format::crypto::Cipher;
use crate::format::logfile::decode_sub_file;
use crate::format::logmeta::{LogMeta, LogSubFile, RestorableWindow};
use crate::format::merge::dedup_sub_files;
use crate::format::naming::snapshot::Cf;
use crate::proto::backup::CipherInfo;
use crate::storage::Storage;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to restore and how (`brtool restore point` flags).
#[derive(Debug, Clone)]
pub struct PitrOptions {
    /// `-s`: the log archive URL (sent to the stores, which read it themselves).
    pub log_url: String,
    /// `--full-backup-storage`: the snapshot archive URL.
    pub snapshot_url: String,
    /// `--restored-ts`; None = the log's global checkpoint.
    pub restored_ts: Option<u64>,
    /// `--start-ts`: accepted only when equal to the snapshot's backup ts (see `run_pitr`).
    pub start_ts: Option<u64>,
    pub filter: TableFilter,
    /// The snapshot archive's key (`--crypter.*`).
    pub snapshot_cipher: Cipher,
    /// The key of the log's data sub-files (`--log.crypter.*`, LOG-CRYPT-5).
    pub log_cipher: Cipher,
    pub concurrency: usize,
    /// Compare the snapshot part's checksums (CSUM-3) before the replay.
    pub checksum: bool,
}

impl PitrOptions {
    pub fn new(log_url: &str, snapshot_url: &str) -> PitrOptions {
        PitrOptions {
            log_url: log_url.to_string(),
            snapshot_url: snapshot_url.to_string(),
            restored_ts: None,
            start_ts: None,
            filter: TableFilter::parse(&[]).expect("*.* parses"),
            snapshot_cipher: Cipher::plaintext(),
            log_cipher: Cipher::plaintext(),
            concurrency: 8,
            checksum: true,
        }
    }
}

/// Where a restored table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// In the snapshot, then replayed.
    Snapshot,
    /// Created (or truncated: new id) after the snapshot; only log data.
    CreatedAfterSnapshot,
}

/// One table of the result.
#[derive(Debug, Clone)]
pub struct PitrTable {
    pub db: String,
    pub name: String,
    pub origin: Origin,
    pub old_id: i64,
    pub new_id: i64,
    /// ADMIN CHECKSUM of the restored table on the target, in the source's key space (CSUM-6).
    pub checksum: Checksum,
}

/// What a point-in-time restore did.
#[derive(Debug, Clone)]
pub struct PitrSummary {
    pub snapshot_ts: u64,
    pub restored_ts: u64,
    pub window: RestorableWindow,
    pub snapshot: RestoreSummary,
    pub tables: Vec<PitrTable>,
    /// Snapshot tables that no longer exist at the restored ts (dropped or truncated).
    pub gone: Vec<String>,
    /// Meta-KV write records replayed into the schema.
    pub meta_events: u64,
    pub replay: ReplayStats,
    pub replay_elapsed: Duration,
    pub elapsed: Duration,
}

fn bad(flag: &'static str, detail: String) -> EngineError {
    EngineError::BadOption { flag, detail }
}

/// Reads one sub-file's verified plaintext (LOG-FILE-4/5/6/9) from `storage`.
async fn read_sub_file(
    storage: &dyn Storage,
    path: &str,
    f: &LogSubFile,
    cipher: &Cipher,
) -> Result<Vec<u8>> {
    let bytes = if f.path.is_empty() {
        storage
            .read_range(path, f.range_offset, f.range_length)
            .await?
    } else {
        storage.read(path).await?
    };
    let mut whole = f.clone();
    whole.path = path.to_string();
    Ok(decode_sub_file(&bytes, &whole, cipher).map_err(|e| e.in_file(path.to_string()))?)
}

/// The schema at `restored`: the snapshot's schemas plus the log's meta-KV events.
async fn schema_at(
    log: &dyn Storage,
    snap: &SnapshotArchive,
    files: &[(String, LogSubFile)],
    snapshot_ts: u64,
    restored: u64,
    cipher: &Cipher,
) -> Result<(Vec<TableAt>, u64)> {
    let mut kv = ReplayKv::from_snapshot(&snap.schemas, snapshot_ts)?;
    let metas = plan::meta_files(files, snapshot_ts, restored);
    let streams: Vec<(Cf, Vec<u8>)> = futures::stream::iter(metas.iter())
        .map(|(p, f)| async move {
            Ok::<_, EngineError>((f.cf, read_sub_file(log, p, f, cipher).await?))
        })
        .buffered(8)
        .try_collect()
        .await?;
    kv.replay(&streams, snapshot_ts, restored)?;
    Ok((kv.tables_at(restored)?, kv.replayed))
}

/// Restores the snapshot in `snap_storage`, then replays the log in `log_storage` up to the
/// restored ts, into the cluster.
pub async fn run_pitr(
    client: &ClusterClient,
    log_storage: Arc<dyn Storage>,
    snap_storage: Arc<dyn Storage>,
    opts: &PitrOptions,
    progress: &dyn Progress,
) -> Result<PitrSummary> {
    let started = Instant::now();
    let log = LogArchive::open(log_storage.as_ref()).await?;
    if log.root.as_ref().is_some_and(|r| r.end_version != 0) {
        return Err(bad(
            "-s",
            format!(
                "{} is a snapshot archive (its backupmeta has end_version set, LOG-1); give the log backup's storage",
                log_storage.display_url()
            ),
        ));
    }
    let snap = SnapshotArchive::open(snap_storage.as_ref(), &opts.snapshot_cipher)
        .await
        .map_err(|e| bad("--full-backup-storage", e.to_string()))?;
    let snapshot_ts = snap.meta.end_version;
    if let Some(s) = opts.start_ts.filter(|&s| s != snapshot_ts) {
        return Err(bad(
            "--start-ts",
            format!(
                "{s}: brkit replays the log on top of the snapshot given by --full-backup-storage, from its backup ts {snapshot_ts}; a log-only restore from another ts is not supported (drop --start-ts)"
            ),
        ));
    }
    let restored = restored_ts(&log.window, snapshot_ts, opts.restored_ts)?;
    progress.note(&format!(
        "restoring to ts {restored} from snapshot ts {snapshot_ts} (restorable window [{}, {}])",
        log.window.min_ts, log.window.max_ts
    ));
    let metas: Vec<(String, LogMeta)> = log
        .metas
        .iter()
        .map(|m| (m.path.clone(), m.meta.clone()))
        .collect();
    let files = dedup_sub_files(&metas);
    // LOG-CRYPT-5: a missing or wrong log key stops here, before anything is created.
    let readable: Vec<(String, LogSubFile)> = files
        .iter()
        .filter(|(_, f)| f.min_ts <= restored)
        .cloned()
        .collect();
    key::check_log_key(log_storage.as_ref(), &readable, &opts.log_cipher).await?;
    let (at, meta_events) = schema_at(
        log_storage.as_ref(),
        &snap,
        &files,
        snapshot_ts,
        restored,
        &opts.log_cipher,
    )
    .await?;
    let at: Vec<TableAt> = at
        .into_iter()
        .filter(|t| opts.filter.matches_table(&t.db.db_name.o, &t.info.name.o))
        .collect();
    if at.is_empty() {
        return Err(bad(
            "--filter",
            format!("no table matches the filter at ts {restored}"),
        ));
    }
    let (entries, _) = catalog(&snap)?;
    let snap_ids: BTreeSet<i64> = entries
        .iter()
        .filter(|e| e.table.is_some())
        .map(|e| e.table_id)
        .collect();
    let at_ids: BTreeSet<i64> = at.iter().map(|t| t.info.id).collect();
    let gone: Vec<String> = entries
        .iter()
        .filter_map(|e| e.table.as_ref().map(|t| (e, t)))
        .filter(|(e, t)| opts.filter.matches_table(&e.db, t) && !at_ids.contains(&e.table_id))
        .map(|(e, t)| format!("`{}`.`{t}`", e.db))
        .collect();
    let from_snap: BTreeSet<i64> = at_ids.intersection(&snap_ids).copied().collect();
    let mut summary = PitrSummary {
        snapshot_ts,
        restored_ts: restored,
        window: log.window,
        snapshot: RestoreSummary::default(),
        tables: Vec::new(),
        gone,
        meta_events,
        replay: ReplayStats::default(),
        replay_elapsed: Duration::ZERO,
        elapsed: Duration::ZERO,
    };
    // 1. the snapshot's surviving tables
    if from_snap.is_empty() {
        if client.tso().await? <= snapshot_ts {
            client.advance_ts(snapshot_ts).await?;
        }
    } else {
        let mut ro = RestoreOptions::new(&opts.snapshot_url);
        ro.cipher = opts.snapshot_cipher.clone();
        ro.concurrency = opts.concurrency;
        ro.checksum = opts.checksum;
        ro.only_table_ids = Some(from_snap.clone());
        summary.snapshot = run_restore(client, snap_storage.clone(), &ro, progress).await?;
    }
    let mut tables: Vec<(RestoreTable, Origin)> = summary
        .snapshot
        .restored
        .drain(..)
        .map(|t| (t, Origin::Snapshot))
        .collect();
    // 2. everything else can fail: drop what this run created
    let res = finish(
        client,
        opts,
        &at,
        &from_snap,
        &files,
        &mut tables,
        &mut summary,
        progress,
    )
    .await;
    match res {
        Ok(()) => {
            summary.elapsed = started.elapsed();
            Ok(summary)
        }
        Err(e) => {
            let mut dropped = Vec::new();
            for (t, _) in &tables {
                if t.new_info.id != 0 && client.drop_table(t.new_db_id, t.new_info.id).await.is_ok()
                {
                    dropped.push(t.display_name());
                }
            }
            Err(EngineError::Restore(format!(
                "{e}; dropped the {} tables this restore created ({})",
                dropped.len(),
                dropped.join(", ")
            )))
        }
    }
}

/// Creates the tables born after the snapshot, replays the log, advances the TSO and
/// computes the checksums.
#[allow(clippy::too_many_arguments)]
async fn finish(
    client: &ClusterClient,
    opts: &PitrOptions,
    at: &[TableAt],
    from_snap: &BTreeSet<i64>,
    files: &[(String, LogSubFile)],
    tables: &mut Vec<(RestoreTable, Origin)>,
    summary: &mut PitrSummary,
    progress: &dyn Progress,
) -> Result<()> {
    for t in at.iter().filter(|t| !from_snap.contains(&t.info.id)) {
        let mut rt = RestoreTable {
            db: t.db.db_name.o.clone(),
            name: t.info.name.o.clone(),
            db_json: t.db_json.clone(),
            old_info: t.info.clone(),
            table_json: t.json.clone(),
            checksum: Checksum::default(),
            files: Vec::new(),
            new_db_id: 0,
            new_info: TableInfo::default(),
            rules: Vec::new(),
        };
        let r = create_table(client, &mut rt, ExistingPolicy::Fail).await;
        let name = rt.display_name();
        tables.push((rt, Origin::CreatedAfterSnapshot));
        r.map_err(|e| EngineError::Restore(format!("creating table {name}: {e}")))?;
    }
    progress.note(&format!(
        "{} tables from the snapshot, {} created after it, {} gone by the restored ts",
        from_snap.len(),
        tables.len() - from_snap.len(),
        summary.gone.len()
    ));
    // 3. replay
    // Partitions, and the logical id too (global indexes of partitioned tables, RANGE-*).
    let physical: BTreeSet<i64> = tables
        .iter()
        .flat_map(|(t, _)| {
            let mut ids = t.old_info.physical_ids();
            ids.push(t.old_info.id);
            ids
        })
        .collect();
    let rules = tables.iter().flat_map(|(t, _)| t.rules.clone()).collect();
    let plan = plan_replay(files, &physical, summary.snapshot_ts, summary.restored_ts);
    let replayer = replay::Replayer {
        client,
        backend: to_backend(&opts.log_url)?,
        cipher_info: opts.log_cipher.is_encrypted().then(|| CipherInfo {
            cipher_type: opts.log_cipher.method().to_proto(),
            cipher_key: opts.log_cipher.key().to_vec(),
        }),
        rules,
        concurrency: opts.concurrency,
    };
    let t0 = Instant::now();
    let mut stats = replayer.replay(&plan.puts).await?;
    stats.add(&replayer.replay(&plan.deletes).await?);
    summary.replay_elapsed = t0.elapsed();
    summary.replay = stats;
    progress.note(&format!(
        "replayed {} sub-files ({:.1} MB stored, {:.1} MB of events, {} events) in {:.2}s",
        summary.replay.files,
        summary.replay.stored_bytes as f64 / 1e6,
        summary.replay.plain_bytes as f64 / 1e6,
        summary.replay.events,
        summary.replay_elapsed.as_secs_f64()
    ));
    // 4. reads at or after the restored ts see the replayed versions
    if client.tso().await? <= summary.restored_ts {
        client.advance_ts(summary.restored_ts).await?;
    }
    // 5. checksums on the target, in the source's key space
    let ts = client.tso().await?;
    for (t, origin) in tables.iter() {
        let ranges = table_range_pairs(&t.new_info)?;
        let rules: Vec<(Vec<u8>, Vec<u8>)> = t
            .rules
            .iter()
            .map(|r| (r.old_prefix.clone(), r.new_prefix.clone()))
            .collect();
        let checksum = client.checksum(&ranges, ts, &rules).await?;
        summary.tables.push(PitrTable {
            db: t.db.clone(),
            name: t.name.clone(),
            origin: *origin,
            old_id: t.old_info.id,
            new_id: t.new_info.id,
            checksum,
        });
    }
    Ok(())
}
