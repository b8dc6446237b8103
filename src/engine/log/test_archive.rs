//! A log archive builder for tests and benchmarks of the log tools: several stores, one flush
//! per store every 10 s of TSO time, each flush a group object of data sub-files (write and
//! default CF, Put and Delete, one sub-file per (table, region, cf, type), LOG-FILE-10) plus,
//! now and then, a schema-meta object of meta-KV sub-files (LOG-NAME-7), then its `.meta`
//! (LOG-NAME-4); global checkpoints; optionally a transaction whose prewrite (default CF) and
//! commit (write CF) land in different flushes; optionally encrypted (LOG-FILE-4).
//! Deterministic: the same spec gives the same bytes and names.

use crate::codec::mvcc::encode_mvcc_key;
use crate::codec::table::{meta_hash_key, record_key_int};
use crate::codec::tso;
use crate::codec::write::{Write, WriteType};
use crate::format::backupmeta::{MetaVersion, MetaWriter, RootHeader};
use crate::format::crypto::Cipher;
use crate::format::lock::LOCK_CONTENT;
use crate::format::logfile::{build_sub_file, GroupBuilder, SubFileSpec};
use crate::format::logmeta::{
    encode_global_checkpoint, encode_log_meta, EventKind, LogCompression, LogGroup, LogMeta,
    LogMetaVersion,
};
use crate::format::naming::log::{
    build_global_checkpoint_path, build_log_data_path, build_meta_path, META_FLAG_NO_META_KV,
};
use crate::format::naming::snapshot::{Cf, LOCK};
use crate::storage::Storage;
use bytes::Bytes;
use std::collections::BTreeMap;

/// Milliseconds of TSO time between two flushes of a store.
pub const FLUSH_INTERVAL_MS: u64 = 10_000;

/// What to build.
#[derive(Debug, Clone)]
pub struct TestLogSpec {
    /// Stores `1..=stores` (at most 9).
    pub stores: u64,
    pub flushes: usize,
    /// Transactions per store and flush (at most 40).
    pub txns_per_flush: usize,
    pub cipher: Cipher,
    /// `(prewrite flush, commit flush)` of a transaction on store 1, table 120.
    pub long_txn: Option<(usize, usize)>,
    /// A meta-KV sub-file pair on store 1 every this many flushes (0: never).
    pub meta_kv_every: usize,
    /// Physical time (ms) of the task start.
    pub start_physical_ms: u64,
}

impl Default for TestLogSpec {
    fn default() -> Self {
        TestLogSpec {
            stores: 3,
            flushes: 8,
            txns_per_flush: 6,
            cipher: Cipher::plaintext(),
            long_txn: None,
            meta_kv_every: 3,
            // 2026-01-01T00:00:00Z
            start_physical_ms: 1_767_225_600_000,
        }
    }
}

/// The transaction of [`TestLogSpec::long_txn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongTxn {
    pub raw_key: Vec<u8>,
    pub start_ts: u64,
    pub commit_ts: u64,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct TestLogArchive {
    /// The task start ts (`backupmeta.start_version`).
    pub start_ts: u64,
    /// The resolved ts of each flush (the same on every store).
    pub flush_ts: Vec<u64>,
    /// The global checkpoint (= the last flush ts).
    pub checkpoint: u64,
    pub long_txn: Option<LongTxn>,
    pub metas: usize,
    pub objects: usize,
}

/// One sub-file partition (LOG-FILE-10): (is_meta, table, region, cf, kind).
type Partition = (bool, i64, i64, Cf, EventKind);

/// The events of each partition of one flush of one store.
type Partitions = BTreeMap<Partition, Vec<(Vec<u8>, Vec<u8>)>>;

struct Builder<'a> {
    storage: &'a dyn Storage,
    cipher: Cipher,
    counter: u64,
}

impl Builder<'_> {
    fn next_u128(&mut self) -> [u8; 16] {
        self.counter += 1;
        let mut b = [0xA5u8; 16];
        b[8..].copy_from_slice(&self.counter.to_be_bytes());
        b
    }

    /// Builds and uploads one group object from partitions; returns its group.
    async fn group(
        &mut self,
        store: u64,
        resolved: u64,
        parts: &Partitions,
        schema_meta: bool,
    ) -> anyhow::Result<Option<LogGroup>> {
        let mut gb = GroupBuilder::new();
        let (mut min_ts, mut max_ts) = (u64::MAX, 0);
        for (&(is_meta, table_id, region_id, cf, kind), events) in parts {
            if is_meta != schema_meta || events.is_empty() {
                continue;
            }
            let spec = SubFileSpec {
                region_id,
                cf,
                kind,
                is_meta,
                table_id,
                resolved_ts: resolved,
                region_start_key: Vec::new(),
                region_end_key: Vec::new(),
                region_epochs: vec![(1, 5)],
                compression: LogCompression::Zstd,
            };
            let iv = self.next_u128();
            let (stored, f) = build_sub_file(&spec, events, &self.cipher, iv)?;
            min_ts = min_ts.min(f.min_ts);
            max_ts = max_ts.max(f.max_ts);
            gb.push(&stored, f);
        }
        if gb.is_empty() {
            return Ok(None);
        }
        let uuid = uuid::Builder::from_random_bytes(self.next_u128()).into_uuid();
        let path = build_log_data_path(store, min_ts, max_ts, uuid, schema_meta);
        let (bytes, group) = gb.finish(path.clone());
        // LOG-2: data before the meta that lists it.
        self.storage.write(&path, Bytes::from(bytes)).await?;
        Ok(Some(group))
    }
}

fn put(
    parts: &mut Partitions,
    (is_meta, table, region): (bool, i64, i64),
    raw: &[u8],
    start: u64,
    commit: u64,
    value: Vec<u8>,
) -> anyhow::Result<()> {
    let short = value.len() <= crate::codec::write::SHORT_VALUE_MAX_LEN;
    let w = Write::new(WriteType::Put, start, short.then(|| value.clone()));
    parts
        .entry((is_meta, table, region, Cf::Write, EventKind::Put))
        .or_default()
        .push((encode_mvcc_key(raw, commit), w.encode()?));
    if !short {
        parts
            .entry((is_meta, table, region, Cf::Default, EventKind::Put))
            .or_default()
            .push((encode_mvcc_key(raw, start), value));
    }
    Ok(())
}

fn value(len: usize, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((seed as usize + i * 7) % 26) as u8)
        .collect()
}

/// Writes the archive described by `spec` to `storage` (lock, root, then per flush and store
/// data objects and the `.meta`, then the global checkpoints).
pub async fn write_test_log_archive(
    storage: &dyn Storage,
    spec: &TestLogSpec,
) -> anyhow::Result<TestLogArchive> {
    anyhow::ensure!((1..=9).contains(&spec.stores), "1..=9 stores");
    anyhow::ensure!(
        spec.txns_per_flush <= 40,
        "at most 40 transactions per flush"
    );
    let start_ts = tso::compose(spec.start_physical_ms, 0);
    storage
        .write_if_absent(LOCK, Bytes::from_static(LOCK_CONTENT))
        .await?;
    let (_, root) = MetaWriter::new(MetaVersion::V1, Cipher::plaintext()).finish(&RootHeader {
        cluster_id: 7_300_000_000_000_000_001,
        cluster_version: "8.5.0".into(),
        start_version: start_ts,
        end_version: 0,
        ..Default::default()
    })?;
    storage.write(&root.name, Bytes::from(root.bytes)).await?;

    let mut b = Builder {
        storage,
        cipher: spec.cipher.clone(),
        counter: 0,
    };
    let mut out = TestLogArchive {
        start_ts,
        flush_ts: Vec::new(),
        checkpoint: start_ts,
        long_txn: None,
        metas: 0,
        objects: 0,
    };
    for i in 0..spec.flushes {
        let window = spec.start_physical_ms + i as u64 * FLUSH_INTERVAL_MS;
        let resolved = tso::compose(window + FLUSH_INTERVAL_MS, 0);
        out.flush_ts.push(resolved);
        for s in 1..=spec.stores {
            let mut parts = Partitions::new();
            for j in 0..spec.txns_per_flush {
                let table = [110i64, 112][j % 2];
                let region = s as i64 * 100 + table - 100;
                let handle = (i * 100_000 + j * 100) as i64 + s as i64;
                let at = window + 100 + j as u64 * 200 + s;
                let long = (i + j + s as usize).is_multiple_of(3);
                let v = value(if long { 300 } else { 20 }, handle as u64);
                put(
                    &mut parts,
                    (false, table, region),
                    &record_key_int(table, handle),
                    tso::compose(at, 0),
                    tso::compose(at + 50, 0),
                    v,
                )?;
            }
            if (i + s as usize).is_multiple_of(4) {
                // A rolled-back prewrite: TiKV deletes its default-CF value (a raft Delete).
                let raw = record_key_int(110, (i * 100_000 + 99_000) as i64 + s as i64);
                parts
                    .entry((
                        false,
                        110,
                        s as i64 * 100 + 10,
                        Cf::Default,
                        EventKind::Delete,
                    ))
                    .or_default()
                    .push((
                        encode_mvcc_key(&raw, tso::compose(window + 9_500 + s, 0)),
                        vec![],
                    ));
            }
            if s == 1 {
                if let Some((pre, commit)) = spec.long_txn {
                    let raw = record_key_int(120, 1);
                    let start = tso::compose(
                        spec.start_physical_ms + pre as u64 * FLUSH_INTERVAL_MS + 50,
                        0,
                    );
                    let commit_ts = tso::compose(
                        spec.start_physical_ms + commit as u64 * FLUSH_INTERVAL_MS + 60,
                        0,
                    );
                    if i == pre {
                        parts
                            .entry((false, 120, 120, Cf::Default, EventKind::Put))
                            .or_default()
                            .push((encode_mvcc_key(&raw, start), value(400, 120)));
                    }
                    if i == commit {
                        let w = Write::new(WriteType::Put, start, None);
                        parts
                            .entry((false, 120, 120, Cf::Write, EventKind::Put))
                            .or_default()
                            .push((encode_mvcc_key(&raw, commit_ts), w.encode()?));
                    }
                    out.long_txn = Some(LongTxn {
                        raw_key: raw,
                        start_ts: start,
                        commit_ts,
                    });
                }
                if spec.meta_kv_every > 0 && i.is_multiple_of(spec.meta_kv_every) {
                    let raw = meta_hash_key(b"DB:2", format!("Table:{}", 200 + i).as_bytes());
                    let at = window + 7_000;
                    put(
                        &mut parts,
                        (true, 0, 1),
                        &raw,
                        tso::compose(at, 0),
                        tso::compose(at + 20, 0),
                        value(300, i as u64),
                    )?;
                }
            }
            let mut groups = Vec::new();
            for schema_meta in [false, true] {
                if let Some(g) = b.group(s, resolved, &parts, schema_meta).await? {
                    groups.push(g);
                }
            }
            if groups.is_empty() {
                continue;
            }
            out.objects += groups.len();
            let min_ts = groups.iter().map(|g| g.min_ts).min().unwrap_or(0);
            let max_ts = groups.iter().map(|g| g.max_ts).max().unwrap_or(0);
            let min_begin = groups
                .iter()
                .flat_map(|g| &g.files)
                .map(|f| f.min_begin_ts_in_default_cf)
                .min()
                .unwrap_or(min_ts);
            let flags = if groups.iter().flat_map(|g| &g.files).any(|f| f.is_meta) {
                0
            } else {
                META_FLAG_NO_META_KV
            };
            let meta = LogMeta {
                store_id: s as i64,
                resolved_ts: resolved,
                min_ts,
                max_ts,
                version: LogMetaVersion::V2,
                groups,
                files: Vec::new(),
            };
            let path = build_meta_path(resolved, s, min_begin, min_ts, max_ts, flags);
            storage
                .write(&path, Bytes::from(encode_log_meta(&meta)))
                .await?;
            out.metas += 1;
        }
    }
    out.checkpoint = out.flush_ts.last().copied().unwrap_or(start_ts);
    for s in 1..=spec.stores {
        storage
            .write(
                &build_global_checkpoint_path(s),
                Bytes::copy_from_slice(&encode_global_checkpoint(out.checkpoint)),
            )
            .await?;
    }
    Ok(out)
}
