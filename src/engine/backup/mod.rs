//! Snapshot backup, as BR's snapshot architecture does it: target check and `backup.lock`
//! first (LOCK-2/3/5), the backup ts, a GC service safepoint held for the whole run, the table
//! ranges at the backup ts (record + every public index, per partition), one streaming Backup
//! request per store in parallel (stores write SSTs straight to storage), ranges that hit
//! region errors retried after the regions settle, finished ranges recorded in a checkpoint so a
//! failed backup resumes without redoing them, then the table checksums (from the files, and
//! compared with the cluster's when `--checksum`), metafiles, and `backupmeta` last (ORDER-2).

mod checkpoint;
mod coverage;
mod plan;

pub use checkpoint::{CheckpointMeta, DoneRange};
pub use plan::{plan_tables, PlannedTable};

use crate::archive::sst_writer::SstCompression;
use crate::archive::writer::SnapshotWriter;
use crate::cluster::storage_backend::to_backend;
use crate::cluster::ClusterClient;
use crate::engine::error::{EngineError, Result};
use crate::engine::filter::TableFilter;
use crate::format::backupmeta::{
    data_file_from_pb, DataFile, MetaVersion, RootHeader, SchemaEntry,
};
use crate::format::checksum::Checksum;
use crate::format::crypto::Cipher;
use crate::proto::backup::{self as pb, BackupRequest, CipherInfo, RawRange};
use crate::storage::Storage;
use coverage::Coverage;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to back up and how (BR's flags).
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// `-s/--storage`, the URL as given (sent to the stores).
    pub storage_url: String,
    pub filter: TableFilter,
    /// `--backupts`; None = now.
    pub backup_ts: Option<u64>,
    pub compression: SstCompression,
    pub compression_level: i32,
    pub cipher: Cipher,
    /// `--ratelimit` in bytes per second per store (0 = unlimited).
    pub rate_limit: u64,
    /// `--concurrency`: regions backed up at once per store.
    pub concurrency: u32,
    /// `--checksum`: compare the files' checksums with the cluster's ADMIN CHECKSUM.
    pub checksum: bool,
    pub meta_version: MetaVersion,
    /// TiKV's sst-max-size (0 = the store default).
    pub sst_max_size: u64,
    /// `--gcttl` seconds of the service safepoint.
    pub gc_ttl_secs: i64,
    /// Give up on ranges still failing after this many rounds.
    pub max_rounds: u32,
}

impl BackupOptions {
    pub fn new(storage_url: &str) -> BackupOptions {
        BackupOptions {
            storage_url: storage_url.to_string(),
            filter: TableFilter::parse(&[]).expect("*.* parses"),
            backup_ts: None,
            compression: SstCompression::Zstd,
            compression_level: 0,
            cipher: Cipher::plaintext(),
            rate_limit: 0,
            concurrency: 4,
            checksum: true,
            meta_version: MetaVersion::V2,
            sst_max_size: 0,
            gc_ttl_secs: 300,
            max_rounds: 20,
        }
    }

    /// LOCK-8: the options a resumed backup must share with the failed one.
    fn config_hash(&self, filter_desc: &str) -> String {
        let text = format!(
            "{filter_desc}|{:?}|{}|{:?}|{:?}",
            self.compression,
            self.compression_level,
            self.cipher_method_name(),
            self.meta_version
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn cipher_method_name(&self) -> String {
        format!("{:?}", self.cipher.method())
    }
}

/// What a backup did.
#[derive(Debug, Clone, Default)]
pub struct BackupSummary {
    pub backup_ts: u64,
    pub tables: usize,
    pub ranges: usize,
    pub files: usize,
    /// Bytes stored (SSTs, after compression and encryption).
    pub stored_bytes: u64,
    pub kvs: u64,
    /// Σ key+value bytes backed up (CSUM-2 total_bytes): the logical size.
    pub logical_bytes: u64,
    /// Ranges (region pieces) that had to be sent again after a region error.
    pub retried_pieces: u64,
    /// Ranges found finished in a checkpoint and not backed up again.
    pub resumed_pieces: usize,
    pub elapsed: Duration,
}

/// Progress reports (the CLI prints them; tests ignore them).
pub trait Progress: Send + Sync {
    fn note(&self, msg: &str);
}

/// Ignores progress.
pub struct Quiet;
impl Progress for Quiet {
    fn note(&self, _msg: &str) {}
}

fn backup_err(msg: impl Into<String>) -> EngineError {
    EngineError::Backup(msg.into())
}

/// Table checksums (ADMIN CHECKSUM) requested at once after the data files.
pub(crate) const CHECKSUM_TABLES_AT_ONCE: usize = 4;

/// Runs a backup of the cluster behind `client` into `storage`.
pub async fn run_backup(
    client: &ClusterClient,
    storage: Arc<dyn Storage>,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    let started = Instant::now();
    let resume = checkpoint::read_meta(storage.as_ref()).await?;
    let writer = match &resume {
        Some(_) => {
            SnapshotWriter::resume(storage.as_ref(), opts.meta_version, opts.cipher.clone()).await?
        }
        None => {
            SnapshotWriter::create(storage.as_ref(), opts.meta_version, opts.cipher.clone()).await?
        }
    };
    // Only one backup may write this path at a time, also while resuming.
    let lock_id: u64 = rand::random();
    checkpoint::take_lock(storage.as_ref(), lock_id, false).await?;
    let r = run_locked(
        client,
        storage.clone(),
        writer,
        opts,
        resume,
        lock_id,
        progress,
        started,
    )
    .await;
    checkpoint::release_lock(storage.as_ref()).await;
    r
}

#[allow(clippy::too_many_arguments)]
async fn run_locked(
    client: &ClusterClient,
    storage: Arc<dyn Storage>,
    mut writer: SnapshotWriter<'_>,
    opts: &BackupOptions,
    resume: Option<CheckpointMeta>,
    lock_id: u64,
    progress: &dyn Progress,
    started: Instant,
) -> Result<BackupSummary> {
    let backup_ts = match (&resume, opts.backup_ts) {
        (Some(m), _) => m.backup_ts,
        (None, Some(ts)) => ts,
        (None, None) => client.tso().await?,
    };
    // GC keeper: BR's service safepoint, refreshed until the backup ends.
    let service_id = resume
        .as_ref()
        .map(|m| m.gc_service_id.clone())
        .unwrap_or_else(|| format!("br-{}", uuid::Uuid::new_v4().simple()));
    client
        .update_service_safepoint(&service_id, opts.gc_ttl_secs, backup_ts.saturating_sub(1))
        .await
        .map_err(|e| backup_err(format!("cannot hold GC at the backup ts {backup_ts}: {e}")))?;
    let keeper = {
        let c = client.clone();
        let id = service_id.clone();
        let ttl = opts.gc_ttl_secs;
        let st = storage.clone();
        tokio::spawn(async move {
            let mut last_lock = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs((ttl / 3).clamp(1, 30) as u64)).await;
                let _ = c
                    .update_service_safepoint(&id, ttl, backup_ts.saturating_sub(1))
                    .await;
                if last_lock.elapsed() > Duration::from_secs(60) {
                    let _ = checkpoint::take_lock(st.as_ref(), lock_id, true).await;
                    last_lock = Instant::now();
                }
            }
        })
    };
    let result = backup_body(
        client,
        storage.as_ref(),
        &mut writer,
        opts,
        backup_ts,
        &service_id,
        resume.as_ref(),
        progress,
    )
    .await;
    keeper.abort();
    let mut summary = match result {
        Ok(s) => s,
        Err(e) => return Err(e),
    };
    let header = RootHeader {
        cluster_id: client.cluster_id(),
        cluster_version: format!("brkit-embedded {}", env!("CARGO_PKG_VERSION")),
        br_version: format!("brkit\nRelease Version: {}", env!("CARGO_PKG_VERSION")),
        start_version: 0,
        end_version: backup_ts,
        new_collations_enabled: "True".into(),
    };
    writer.finish(&header).await?;
    checkpoint::remove_all(storage.as_ref()).await?;
    let _ = client.update_service_safepoint(&service_id, 0, 0).await;
    summary.elapsed = started.elapsed();
    progress.note(&format!(
        "backup finished: {} tables, {} files, {} KVs, {} logical bytes, {} stored bytes in {:.2?}",
        summary.tables,
        summary.files,
        summary.kvs,
        summary.logical_bytes,
        summary.stored_bytes,
        summary.elapsed
    ));
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
async fn backup_body(
    client: &ClusterClient,
    storage: &dyn Storage,
    writer: &mut SnapshotWriter<'_>,
    opts: &BackupOptions,
    backup_ts: u64,
    service_id: &str,
    resume: Option<&CheckpointMeta>,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    let (dbs, _) = client.list_schemas(backup_ts).await?;
    let (tables, empty_dbs, filter_desc) = plan_tables(&dbs, &opts.filter)?;
    let hash = opts.config_hash(&filter_desc);
    match resume {
        Some(m) if m.config_hash != hash => {
            return Err(backup_err(format!(
                "{} holds a checkpoint of a backup with other options (tables, compression or encryption differ); resume it with the same flags or use an empty path",
                storage.display_url()
            )))
        }
        Some(_) => progress.note("resuming the backup from its checkpoint"),
        None => {
            checkpoint::write_meta(
                storage,
                &CheckpointMeta {
                    gc_service_id: service_id.to_string(),
                    config_hash: hash,
                    backup_ts,
                },
            )
            .await?
        }
    }
    let ranges: Vec<(Vec<u8>, Vec<u8>)> = tables
        .iter()
        .flat_map(|t| t.ranges.iter().cloned())
        .collect();
    let mut summary = BackupSummary {
        backup_ts,
        tables: tables.len(),
        ranges: ranges.len(),
        ..Default::default()
    };
    let mut coverage = Coverage::default();
    let mut files: Vec<pb::File> = Vec::new();
    if resume.is_some() {
        for d in checkpoint::load_done(storage, &opts.cipher).await? {
            coverage.add(&d.start, &d.end);
            files.extend(d.files);
            summary.resumed_pieces += 1;
        }
    }
    let started = Instant::now();
    let mut round = 0;
    loop {
        let gaps: Vec<(Vec<u8>, Vec<u8>)> = ranges
            .iter()
            .flat_map(|(s, e)| coverage.gaps(s, e))
            .collect();
        if gaps.is_empty() {
            break;
        }
        if round >= opts.max_rounds {
            return Err(backup_err(format!(
                "{} key ranges still fail after {round} rounds (first: {}..{})",
                gaps.len(),
                hex::encode(&gaps[0].0),
                hex::encode(&gaps[0].1)
            )));
        }
        if round > 0 {
            summary.retried_pieces += gaps.len() as u64;
            progress.note(&format!(
                "retrying {} ranges after region errors (round {round})",
                gaps.len()
            ));
            tokio::time::sleep(Duration::from_millis(100 * round as u64)).await;
        }
        round += 1;
        let done = one_round(client, storage, opts, backup_ts, &gaps, started).await;
        for d in &done.done {
            coverage.add(&d.start, &d.end);
            files.extend(d.files.iter().cloned());
        }
        if let Some(e) = done.fatal {
            return Err(e);
        }
    }
    // Data files, then schemas with checksums (CSUM-2/3), then the root (ORDER-2).
    files.sort_by(|a, b| (&a.start_key, &a.cf, &a.name).cmp(&(&b.start_key, &b.cf, &b.name)));
    let data_files = files
        .into_iter()
        .map(|f| {
            let n = f.name.clone();
            data_file_from_pb(f, &n)
        })
        .collect::<std::result::Result<Vec<DataFile>, _>>()?;
    let mut sums = vec![Checksum::default(); tables.len()];
    for f in &data_files {
        let t = plan::table_of(&tables, &f.start_key)
            .ok_or_else(|| backup_err(format!("file {} belongs to no requested table", f.name)))?;
        sums[t].merge(&f.checksum);
        summary.files += 1;
        summary.stored_bytes += f.size;
        writer.add_data_file(f).await?;
    }
    writer.end_data_files().await?;
    if opts.checksum {
        // A few tables at once: each one keeps only the stores holding its regions busy.
        use futures::StreamExt;
        let futs: Vec<_> = tables
            .iter()
            .map(|t| {
                let (c, ranges) = (client.clone(), t.ranges.clone());
                async move { c.checksum(&ranges, backup_ts, &[]).await }
            })
            .collect();
        let mut gots = futures::stream::iter(futs).buffered(CHECKSUM_TABLES_AT_ONCE);
        for (t, sum) in tables.iter().zip(&sums) {
            let got = gots
                .next()
                .await
                .ok_or_else(|| backup_err("checksum stream ended early"))??;
            if got != *sum {
                return Err(EngineError::ChecksumMismatch {
                    table: t.display_name(),
                    what: "the cluster at the backup ts",
                    expected: *sum,
                    got,
                });
            }
        }
    }
    for (t, sum) in tables.iter().zip(&sums) {
        summary.kvs += sum.total_kvs;
        summary.logical_bytes += sum.total_bytes;
        writer
            .add_schema(&SchemaEntry {
                db_json: t.db_json.clone(),
                table_json: Some(t.table_json.clone()),
                checksum: *sum,
                tiflash_replicas: 0,
            })
            .await?;
    }
    for db_json in empty_dbs {
        writer
            .add_schema(&SchemaEntry {
                db_json,
                table_json: None,
                checksum: Checksum::default(),
                tiflash_replicas: 0,
            })
            .await?;
    }
    Ok(summary)
}

struct RoundResult {
    done: Vec<DoneRange>,
    fatal: Option<EngineError>,
}

/// Sends the gap ranges to every store at once and collects what comes back. Finished pieces
/// are recorded in the checkpoint as they arrive (their SSTs are already stored).
async fn one_round(
    client: &ClusterClient,
    storage: &dyn Storage,
    opts: &BackupOptions,
    backup_ts: u64,
    gaps: &[(Vec<u8>, Vec<u8>)],
    started: Instant,
) -> RoundResult {
    let mut out = RoundResult {
        done: vec![],
        fatal: None,
    };
    let stores = match client.stores().await {
        Ok(s) => s,
        Err(e) => {
            out.fatal = Some(e.into());
            return out;
        }
    };
    let backend = match to_backend(&opts.storage_url) {
        Ok(b) => b,
        Err(e) => {
            out.fatal = Some(e.into());
            return out;
        }
    };
    let cipher_info = opts.cipher.is_encrypted().then(|| CipherInfo {
        cipher_type: opts.cipher.method().to_proto(),
        cipher_key: opts.cipher.key().to_vec(),
    });
    let req = BackupRequest {
        cluster_id: client.cluster_id(),
        start_key: gaps[0].0.clone(),
        end_key: gaps[0].1.clone(),
        start_version: 0,
        end_version: backup_ts,
        rate_limit: opts.rate_limit,
        concurrency: opts.concurrency,
        storage_backend: Some(backend),
        is_raw_kv: false,
        cf: String::new(),
        compression_type: match opts.compression {
            SstCompression::Lz4 => pb::CompressionType::Lz4,
            SstCompression::Snappy => pb::CompressionType::Snappy,
            SstCompression::Zstd => pb::CompressionType::Zstd,
            SstCompression::None => pb::CompressionType::Unknown,
        } as i32,
        compression_level: opts.compression_level,
        cipher_info,
        sub_ranges: gaps[1..]
            .iter()
            .map(|(s, e)| RawRange {
                start_key: s.clone(),
                end_key: e.clone(),
                cf: String::new(),
            })
            .collect(),
        sst_max_size: opts.sst_max_size,
    };
    let (tx, mut rx) =
        tokio::sync::mpsc::channel::<std::result::Result<pb::BackupResponse, EngineError>>(64);
    for s in stores {
        let c = client.clone();
        let req = req.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let res: Result<()> = async {
                let (addr, mut bc) = c.backup_client(s.id).await?;
                let mut stream = bc
                    .backup(req)
                    .await
                    .map_err(|st| store_failed(s.id, &addr, &st))?
                    .into_inner();
                while let Some(r) = stream
                    .message()
                    .await
                    .map_err(|st| store_failed(s.id, &addr, &st))?
                {
                    if tx.send(Ok(r)).await.is_err() {
                        break;
                    }
                }
                Ok(())
            }
            .await;
            if let Err(e) = res {
                let _ = tx.send(Err(e)).await;
            }
        });
    }
    drop(tx);
    let mut pending: Vec<DoneRange> = Vec::new();
    let mut last_flush = Instant::now();
    while let Some(msg) = rx.recv().await {
        match msg {
            Err(e) => {
                if out.fatal.is_none() {
                    out.fatal = Some(e);
                }
            }
            Ok(r) => match &r.error {
                Some(err) if matches!(err.detail, Some(pb::error::Detail::RegionError(_))) => {
                    tracing::info!(msg = %err.msg, "region error; the range will be retried");
                }
                Some(err) => {
                    if out.fatal.is_none() {
                        out.fatal = Some(backup_err(err.msg.clone()));
                    }
                }
                None => {
                    let d = DoneRange {
                        start: r.start_key,
                        end: r.end_key,
                        files: r.files,
                    };
                    pending.push(d.clone());
                    out.done.push(d);
                    if pending.len() >= 64 || last_flush.elapsed() > Duration::from_secs(1) {
                        if let Err(e) = flush(storage, opts, &mut pending, started).await {
                            out.fatal.get_or_insert(e);
                        }
                        last_flush = Instant::now();
                    }
                }
            },
        }
    }
    if let Err(e) = flush(storage, opts, &mut pending, started).await {
        out.fatal.get_or_insert(e);
    }
    out
}

async fn flush(
    storage: &dyn Storage,
    opts: &BackupOptions,
    pending: &mut Vec<DoneRange>,
    started: Instant,
) -> Result<()> {
    let batch = std::mem::take(pending);
    checkpoint::append(
        storage,
        &opts.cipher,
        &batch,
        started.elapsed().as_nanos() as u64,
    )
    .await
}

fn store_failed(id: u64, addr: &str, st: &tonic::Status) -> EngineError {
    backup_err(format!(
        "store {id} at {addr} failed during the backup: {}: {} (the archive has no backupmeta and is not complete; rerun the same command to resume from the checkpoint)",
        st.code(),
        st.message()
    ))
}
