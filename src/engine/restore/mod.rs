//! Snapshot restore, as BR does it: read the archive (root, metafiles), pick tables by
//! filter, create their databases and tables with new ids, split regions at every file's
//! (rewritten) start key and scatter them, then have each region's leader store download the
//! file, rewrite the `t{old}` prefix to `t{new}` (REWRITE-*) and ingest; finally compare each
//! table's checksum, computed by the cluster with TiKV's checksum rewrite rules (CSUM-6), with
//! the archive's (CSUM-3). A failed restore drops the tables it created, so no table is left
//! silently partial.

mod plan;

pub use plan::{create_table, rules_for, ExistingPolicy, RestoreTable};

use crate::archive::catalog::catalog;
use crate::archive::snapshot::SnapshotArchive;
use crate::cluster::storage_backend::to_backend;
use crate::cluster::{ClusterClient, Region};
use crate::codec::bytes::encode_bytes;
use crate::codec::table::{rewrite_raw_key, table_prefix, RewriteRule};
use crate::engine::backup::Progress;
use crate::engine::error::{EngineError, Result};
use crate::engine::filter::TableFilter;
use crate::engine::ranges::table_range_pairs;
use crate::format::backupmeta::DataFile;
use crate::format::crypto::Cipher;
use crate::proto::backup::{CipherInfo, StorageBackend};
use crate::proto::import_sstpb::{self as isst, SstMeta};
use crate::proto::{kvrpcpb, metapb};
use crate::storage::Storage;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to restore and how.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub storage_url: String,
    pub filter: TableFilter,
    pub cipher: Cipher,
    /// Files downloaded and ingested at once.
    pub concurrency: usize,
    /// Compare checksums after ingest (BR's `--checksum`, default on).
    pub checksum: bool,
    pub on_existing: ExistingPolicy,
    /// Restore only the archive tables with these (old) table ids, if set (PITR: the tables
    /// that still exist at the restored ts).
    pub only_table_ids: Option<std::collections::BTreeSet<i64>>,
}

impl RestoreOptions {
    pub fn new(storage_url: &str) -> RestoreOptions {
        RestoreOptions {
            storage_url: storage_url.to_string(),
            filter: TableFilter::parse(&[]).expect("*.* parses"),
            cipher: Cipher::plaintext(),
            concurrency: 4,
            checksum: true,
            on_existing: ExistingPolicy::Fail,
            only_table_ids: None,
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone, Default)]
pub struct RestoreSummary {
    pub backup_ts: u64,
    pub tables: usize,
    pub files: usize,
    pub kvs: u64,
    /// Σ key+value bytes restored (the archive's CSUM-3 total_bytes of the tables).
    pub logical_bytes: u64,
    /// Bytes read from storage.
    pub downloaded_bytes: u64,
    pub elapsed: Duration,
    /// The restored tables with their new ids and rewrite rules (old → new).
    pub restored: Vec<RestoreTable>,
}

fn restore_err(msg: impl Into<String>) -> EngineError {
    EngineError::Restore(msg.into())
}

/// Restores the selected tables of the archive in `storage` into the cluster.
pub async fn run_restore(
    client: &ClusterClient,
    storage: Arc<dyn Storage>,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreSummary> {
    let started = Instant::now();
    let archive = SnapshotArchive::open(storage.as_ref(), &opts.cipher).await?;
    let backup_ts = archive.meta.end_version;
    let now = client.tso().await?;
    if now <= backup_ts {
        // Restored versions keep their commit ts: reads must happen after the backup ts.
        client.advance_ts(backup_ts).await?;
        progress.note(&format!(
            "advanced the cluster's TSO from {now} past the backup ts {backup_ts}"
        ));
    }
    let (entries, _) = catalog(&archive)?;
    let mut selected = plan::select(&archive, &entries, &opts.filter)?;
    if let Some(ids) = &opts.only_table_ids {
        selected.retain(|t| ids.contains(&t.old_info.id));
    }
    if selected.is_empty() {
        return Err(restore_err(format!(
            "no table of {} matches the filter",
            storage.display_url()
        )));
    }
    let mut created = Vec::new();
    let res = restore_tables(client, &archive, selected, opts, &mut created, progress).await;
    match res {
        Ok(mut s) => {
            s.backup_ts = backup_ts;
            s.elapsed = started.elapsed();
            Ok(s)
        }
        Err(e) => {
            for (db_id, table_id, name) in &created {
                if client.drop_table(*db_id, *table_id).await.is_ok() {
                    progress.note(&format!("dropped partially restored table {name}"));
                }
            }
            Err(e)
        }
    }
}

async fn restore_tables(
    client: &ClusterClient,
    archive: &SnapshotArchive,
    selected: Vec<RestoreTable>,
    opts: &RestoreOptions,
    created: &mut Vec<(i64, i64, String)>,
    progress: &dyn Progress,
) -> Result<RestoreSummary> {
    let mut summary = RestoreSummary::default();
    // 1. schemas with new ids
    let mut tables = Vec::new();
    for mut t in selected {
        plan::create_table(client, &mut t, opts.on_existing).await?;
        created.push((t.new_db_id, t.new_info.id, t.display_name()));
        tables.push(t);
    }
    progress.note(&format!("created {} tables", tables.len()));
    // 2. split at every file's rewritten start key, then scatter
    let mut jobs = Vec::new();
    let mut split_keys = Vec::new();
    for (ti, t) in tables.iter().enumerate() {
        for group in plan::file_groups(archive, &t.files) {
            let first: &DataFile = &archive.files[group[0]];
            let start = rewrite_raw_key(&t.rules, &first.start_key).ok_or_else(|| {
                restore_err(format!(
                    "file {} is outside table {}",
                    first.name,
                    t.display_name()
                ))
            })?;
            let end = if first.end_key.is_empty() {
                Vec::new()
            } else {
                rewrite_raw_key(&t.rules, &first.end_key).unwrap_or_else(|| {
                    crate::codec::table::prefix_next(&table_prefix(t.new_info.id))
                })
            };
            split_keys.push(encode_bytes(&start));
            jobs.push(Job {
                table: ti,
                files: group,
                start,
                end,
            });
        }
    }
    split_keys.sort();
    split_keys.dedup();
    let new_regions = client.split_regions(split_keys).await?;
    client.scatter_regions(new_regions).await?;
    // 3. download + ingest per region
    let backend = to_backend(&opts.storage_url)?;
    let cipher_info = opts.cipher.is_encrypted().then(|| CipherInfo {
        cipher_type: opts.cipher.method().to_proto(),
        cipher_key: opts.cipher.key().to_vec(),
    });
    let ctx = Ctx {
        client,
        archive,
        tables: &tables,
        backend,
        cipher_info,
    };
    let mut stream = futures::stream::iter(jobs.iter())
        .map(|j| ctx.restore_job(j))
        .buffer_unordered(opts.concurrency.max(1));
    while let Some(r) = stream.next().await {
        let (files, bytes) = r?;
        summary.files += files;
        summary.downloaded_bytes += bytes;
    }
    drop(stream);
    // 4. checksums (CSUM-3 against CSUM-6)
    let ts = client.tso().await?;
    // A few tables at once (as backup does); results are compared in table order.
    let mut gots = futures::stream::iter(tables.iter().filter(|_| opts.checksum))
        .map(|t| async move {
            let ranges = table_range_pairs(&t.new_info)?;
            let rules: Vec<(Vec<u8>, Vec<u8>)> = t
                .rules
                .iter()
                .map(|r| (r.old_prefix.clone(), r.new_prefix.clone()))
                .collect();
            Ok::<_, EngineError>(client.checksum(&ranges, ts, &rules).await?)
        })
        .buffered(crate::engine::backup::CHECKSUM_TABLES_AT_ONCE);
    for t in &tables {
        summary.tables += 1;
        summary.kvs += t.checksum.total_kvs;
        summary.logical_bytes += t.checksum.total_bytes;
        if !opts.checksum {
            continue;
        }
        let got = gots
            .next()
            .await
            .ok_or_else(|| restore_err("checksum stream ended early"))??;
        if got != t.checksum {
            return Err(EngineError::ChecksumMismatch {
                table: t.display_name(),
                what: "the restored table",
                expected: t.checksum,
                got,
            });
        }
    }
    progress.note(&format!(
        "restored {} tables, {} files, {} KVs; checksums {}",
        summary.tables,
        summary.files,
        summary.kvs,
        if opts.checksum { "match" } else { "skipped" }
    ));
    drop(gots);
    summary.restored = tables;
    Ok(summary)
}

/// The files of one range (its default and write SSTs) and where they go.
struct Job {
    table: usize,
    files: Vec<usize>,
    start: Vec<u8>,
    end: Vec<u8>,
}

struct Ctx<'a> {
    client: &'a ClusterClient,
    archive: &'a SnapshotArchive,
    tables: &'a [RestoreTable],
    backend: StorageBackend,
    cipher_info: Option<CipherInfo>,
}

impl Ctx<'_> {
    /// Downloads and ingests one range's files into every region it spans, retrying a region
    /// that changed underneath. Returns (files, bytes downloaded).
    async fn restore_job(&self, job: &Job) -> Result<(usize, u64)> {
        let t = &self.tables[job.table];
        let es = encode_bytes(&job.start);
        let ee = if job.end.is_empty() {
            vec![]
        } else {
            encode_bytes(&job.end)
        };
        let mut pending = vec![(es, ee)];
        let mut bytes = 0;
        let mut attempts = 0;
        while let Some((s, e)) = pending.pop() {
            attempts += 1;
            if attempts > 50 {
                return Err(restore_err(format!(
                    "range of {} keeps failing on region changes",
                    self.archive.files[job.files[0]].name
                )));
            }
            for r in self.client.scan_regions(&s, &e).await? {
                let (cs, ce) = r.clip(&s, &e);
                match self.one_region(job, &t.rules, &r, &cs, &ce).await? {
                    Some(n) => bytes += n,
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        pending.push((cs, ce));
                    }
                }
            }
        }
        Ok((job.files.len(), bytes))
    }

    /// `None` when the region changed and the piece must be retried.
    async fn one_region(
        &self,
        job: &Job,
        rules: &[RewriteRule],
        r: &Region,
        cs: &[u8],
        ce: &[u8],
    ) -> Result<Option<u64>> {
        let (addr, mut ic) = self.client.import_client(r.leader_store).await?;
        let epoch = metapb::RegionEpoch {
            conf_ver: r.epoch.conf_ver,
            version: r.epoch.version,
        };
        // The range's files (default and write) download at once; results keep file order.
        let downloads = job.files.iter().map(|&fi| {
            let mut ic = ic.clone();
            let addr = &addr;
            async move {
                let f = &self.archive.files[fi];
                let rule = rules
                    .iter()
                    .find(|w| f.start_key.starts_with(&w.old_prefix))
                    .ok_or_else(|| {
                        restore_err(format!("no rewrite rule covers file {}", f.name))
                    })?;
                let meta = SstMeta {
                    uuid: uuid::Uuid::new_v4().as_bytes().to_vec(),
                    range: Some(isst::Range {
                        start: cs.to_vec(),
                        end: ce.to_vec(),
                    }),
                    cf_name: f.cf.as_str().to_string(),
                    region_id: r.id,
                    region_epoch: Some(epoch),
                    end_key_exclusive: true,
                    cipher_iv: f.cipher_iv.clone(),
                    ..Default::default()
                };
                let resp = ic
                    .download(isst::DownloadRequest {
                        sst: Some(meta.clone()),
                        name: f.name.clone(),
                        rewrite_rule: Some(isst::RewriteRule {
                            old_key_prefix: rule.old_prefix.clone(),
                            new_key_prefix: rule.new_prefix.clone(),
                            ..Default::default()
                        }),
                        storage_backend: Some(self.backend.clone()),
                        is_raw_kv: false,
                        cipher_info: self.cipher_info.clone(),
                        sha256: f.sha256.clone(),
                        cipher_iv: f.cipher_iv.clone(),
                    })
                    .await
                    .map_err(|s| {
                        restore_err(format!(
                            "store {} at {addr}: download of {}: {}",
                            r.leader_store,
                            f.name,
                            s.message()
                        ))
                    })?
                    .into_inner();
                if let Some(e) = resp.error {
                    return Err(restore_err(format!(
                        "store {} at {addr}: {}",
                        r.leader_store, e.message
                    )));
                }
                Ok::<_, EngineError>((f.size, (!resp.is_empty).then_some(meta)))
            }
        });
        let mut metas = Vec::new();
        let mut bytes = 0;
        for (size, meta) in futures::future::try_join_all(downloads).await? {
            bytes += size;
            metas.extend(meta);
        }
        if metas.is_empty() {
            return Ok(Some(bytes));
        }
        let resp = ic
            .multi_ingest(isst::MultiIngestRequest {
                context: Some(kvrpcpb::Context {
                    region_id: r.id,
                    region_epoch: Some(epoch),
                    peer: Some(r.leader_peer()),
                }),
                ssts: metas,
            })
            .await
            .map_err(|s| {
                restore_err(format!(
                    "store {} at {addr}: ingest: {}",
                    r.leader_store,
                    s.message()
                ))
            })?
            .into_inner();
        if let Some(e) = resp.error {
            tracing::info!(region = r.id, err = %crate::cluster::error::describe_region_error(&e), "ingest hit a region error; retrying");
            return Ok(None);
        }
        Ok(Some(bytes))
    }
}
