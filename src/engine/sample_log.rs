//! Configurable sample log backup archives for tests and the verify corpus: N stores, each
//! flushing M times (one `.meta` per flush per store, LOG-2 order: data objects, then the
//! `.meta`, then the global checkpoints), zstd or uncompressed sub-files, plaintext or
//! encrypted (LOG-FILE-4), V2 group objects or V1 one-object-per-file metadata, and `.meta`
//! names of any generation (LOG-NAME-1…4). Deterministic: UUIDs and IVs come from counters.
//! [`super::sample::write_sample_log_archive`] stays the one-flush archive of the demo.

use crate::codec::datum::Datum;
use crate::codec::mvcc::encode_mvcc_key;
use crate::codec::row::v2;
use crate::codec::table::record_key_int;
use crate::codec::tso;
use crate::codec::write::{Write, WriteType};
use crate::format::backupmeta::{MetaVersion, MetaWriter, RootHeader};
use crate::format::crypto::Cipher;
use crate::format::lock::LOCK_CONTENT;
use crate::format::logfile::{build_sub_file, key_ts, GroupBuilder, SubFileSpec};
use crate::format::logmeta::{
    encode_global_checkpoint, encode_log_meta, EventKind, LogCompression, LogMeta, LogMetaVersion,
    LogSubFile,
};
use crate::format::naming::log::{
    build_global_checkpoint_path, build_log_data_path, MetaName, META_FLAG_EMPTY,
    META_FLAG_NO_META_KV,
};
use crate::format::naming::snapshot::{Cf, LOCK};
use crate::storage::Storage;
use bytes::Bytes;
use uuid::Uuid;

/// Which `.meta` name generation the sample writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaNameGen {
    /// LOG-NAME-1: `{min_resolved_ts:012}-{uuid}` (TiKV v6.1/v6.2).
    PaddedDecimal,
    /// LOG-NAME-2: `{min_resolved_ts}-{uuid}` (TiKV v6.3 … v8.5.2).
    Decimal,
    /// LOG-NAME-3: four hex parts (TiKV v8.5.3+).
    LegacyHex,
    /// LOG-NAME-4 with the `p` flags tag (current TiKV, brkit).
    Tagged,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct LogSampleSpec {
    pub stores: u64,
    /// Flushes per store; flush `f` of every store covers the same ts slice.
    pub flushes: u64,
    pub compression: LogCompression,
    pub cipher: Cipher,
    pub names: MetaNameGen,
    /// V1 metadata (one object per sub-file, TiKV ≤ v6.2) instead of V2 groups.
    pub v1: bool,
    /// Flush 1 of every store is empty and recorded as such: a `.meta` with no groups whose
    /// tagged name has flag bit 1 (LOG-NAME-4), as a writer that records idle flushes does.
    pub record_empty: bool,
}

impl Default for LogSampleSpec {
    fn default() -> Self {
        LogSampleSpec {
            stores: 1,
            flushes: 3,
            compression: LogCompression::Zstd,
            cipher: Cipher::plaintext(),
            names: MetaNameGen::Tagged,
            v1: false,
            record_empty: false,
        }
    }
}

/// One flush the sample wrote.
#[derive(Debug, Clone)]
pub struct SampleFlush {
    pub store_id: u64,
    /// 1-based flush number.
    pub flush: u64,
    pub meta_path: String,
    pub meta: LogMeta,
    /// Data objects of this flush.
    pub objects: Vec<String>,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct LogSampleSummary {
    /// The root's `start_version`.
    pub start_ts: u64,
    /// The global checkpoint written by every store (the last flush's resolved ts).
    pub checkpoint_ts: u64,
    /// In write order (flush 1 of every store, then flush 2, …).
    pub flushes: Vec<SampleFlush>,
}

/// Events of one flush of one store: `(default, write)` events for table 110, rows keyed by
/// store and flush so that stores never share keys.
type Events = Vec<(Vec<u8>, Vec<u8>)>;

fn flush_events(store: u64, flush: u64, base_ms: u64) -> anyhow::Result<(Events, Events)> {
    let (mut defaults, mut writes) = (Vec::new(), Vec::new());
    for i in 1..=6u64 {
        let handle = (store * 1_000 + flush * 10 + i) as i64;
        let begin = tso::compose(base_ms + flush * 1_000 + i * 10, store);
        let commit = begin + 3;
        let bio = if i % 3 == 0 {
            "y".repeat(300)
        } else {
            format!("bio {store}/{flush}/{i}")
        };
        let row = v2::encode(&[(5, Datum::Bytes(bio.into_bytes()))])?;
        let key = record_key_int(110, handle);
        let short = row.len() <= crate::codec::write::SHORT_VALUE_MAX_LEN;
        let w = Write::new(WriteType::Put, begin, short.then(|| row.clone()));
        writes.push((encode_mvcc_key(&key, commit), w.encode()?));
        if !short {
            defaults.push((encode_mvcc_key(&key, begin), row));
        }
    }
    Ok((defaults, writes))
}

fn meta_name(
    gen: MetaNameGen,
    m: &LogMeta,
    store: u64,
    uuid: Uuid,
    min_begin: u64,
    flags: u64,
) -> String {
    match gen {
        MetaNameGen::PaddedDecimal | MetaNameGen::Decimal => MetaName::Decimal {
            min_resolved_ts: m.resolved_ts,
            uuid,
            padded: gen == MetaNameGen::PaddedDecimal && m.resolved_ts < 1_000_000_000_000,
        },
        MetaNameGen::LegacyHex => MetaName::LegacyHex {
            flush_ts: m.resolved_ts,
            min_begin_ts: min_begin,
            min_ts: m.min_ts,
            max_ts: m.max_ts,
            synthetic: None,
        },
        MetaNameGen::Tagged => MetaName::Tagged {
            flush_ts: m.resolved_ts,
            store_id: store,
            min_begin_ts: min_begin,
            min_ts: m.min_ts,
            max_ts: m.max_ts,
            flags: Some(flags),
            other_tags: Vec::new(),
        },
    }
    .path()
}

/// Writes the archive. `snapshot_ts` places the data: the task starts 5 s before it, flushes
/// follow it one second apart.
pub async fn write_log_sample(
    storage: &dyn Storage,
    snapshot_ts: u64,
    spec: &LogSampleSpec,
) -> anyhow::Result<LogSampleSummary> {
    let base_ms = tso::physical(snapshot_ts);
    let start_ts = tso::compose(base_ms - 5_000, 0);
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

    let mut counter: u128 = 0;
    let mut next = || {
        counter += 1;
        counter
    };
    let mut summary = LogSampleSummary {
        start_ts,
        checkpoint_ts: 0,
        flushes: Vec::new(),
    };
    for flush in 1..=spec.flushes {
        for store in 1..=spec.stores {
            let resolved = tso::compose(base_ms + flush * 1_000 + 900, 0);
            if spec.record_empty && flush == 1 {
                let meta = LogMeta {
                    store_id: store as i64,
                    resolved_ts: resolved,
                    min_ts: 0,
                    max_ts: 0,
                    version: LogMetaVersion::V2,
                    groups: Vec::new(),
                    files: Vec::new(),
                };
                let flags = META_FLAG_NO_META_KV | META_FLAG_EMPTY;
                let uuid = Uuid::from_u128(next());
                let meta_path = meta_name(spec.names, &meta, store, uuid, 0, flags);
                storage
                    .write(&meta_path, Bytes::from(encode_log_meta(&meta)))
                    .await?;
                summary.checkpoint_ts = resolved;
                summary.flushes.push(SampleFlush {
                    store_id: store,
                    flush,
                    meta_path,
                    meta,
                    objects: Vec::new(),
                });
                continue;
            }
            let (defaults, writes) = flush_events(store, flush, base_ms)?;
            let sub_spec = |cf| SubFileSpec {
                region_id: 10 + store as i64,
                cf,
                kind: EventKind::Put,
                is_meta: false,
                table_id: 110,
                resolved_ts: 0,
                region_start_key: Vec::new(),
                region_end_key: Vec::new(),
                region_epochs: vec![(1, 1)],
                compression: spec.compression,
            };
            let mut subs: Vec<(Vec<u8>, LogSubFile)> = Vec::new();
            for (cf, events) in [(Cf::Default, &defaults), (Cf::Write, &writes)] {
                let iv = next().to_be_bytes();
                subs.push(build_sub_file(&sub_spec(cf), events, &spec.cipher, iv)?);
            }
            let ts: Vec<u64> = writes
                .iter()
                .chain(&defaults)
                .map(|(k, _)| key_ts(k))
                .collect::<Result<_, _>>()?;
            let min_ts = ts.iter().copied().min().unwrap_or(0);
            let max_ts = ts.iter().copied().max().unwrap_or(0);
            let mut meta = LogMeta {
                store_id: store as i64,
                resolved_ts: resolved,
                min_ts,
                max_ts,
                version: LogMetaVersion::V2,
                groups: Vec::new(),
                files: Vec::new(),
            };
            let mut objects = Vec::new();
            if spec.v1 {
                meta.version = LogMetaVersion::V1;
                for (stored, mut f) in subs {
                    let path = build_log_data_path(
                        store,
                        f.min_ts,
                        f.max_ts,
                        Uuid::from_u128(next()),
                        false,
                    );
                    f.path = path.clone();
                    f.range_offset = 0;
                    f.range_length = stored.len() as u64;
                    f.resolved_ts = resolved;
                    storage.write(&path, Bytes::from(stored)).await?;
                    objects.push(path);
                    meta.files.push(f);
                }
            } else {
                let mut group = GroupBuilder::new();
                for (stored, mut f) in subs {
                    f.resolved_ts = resolved;
                    group.push(&stored, f);
                }
                let path =
                    build_log_data_path(store, min_ts, max_ts, Uuid::from_u128(next()), false);
                let (bytes, g) = group.finish(path.clone());
                storage.write(&path, Bytes::from(bytes)).await?;
                objects.push(path);
                meta.groups.push(g);
            }
            let min_begin = meta
                .sub_files()
                .map(|(_, f)| f.min_begin_ts_in_default_cf)
                .min()
                .unwrap_or(min_ts);
            let uuid = Uuid::from_u128(next());
            let meta_path = meta_name(
                spec.names,
                &meta,
                store,
                uuid,
                min_begin,
                META_FLAG_NO_META_KV,
            );
            storage
                .write(&meta_path, Bytes::from(encode_log_meta(&meta)))
                .await?;
            summary.checkpoint_ts = resolved;
            summary.flushes.push(SampleFlush {
                store_id: store,
                flush,
                meta_path,
                meta,
                objects,
            });
        }
    }
    for store in 1..=spec.stores {
        storage
            .write(
                &build_global_checkpoint_path(store),
                Bytes::copy_from_slice(&encode_global_checkpoint(summary.checkpoint_ts)),
            )
            .await?;
    }
    Ok(summary)
}
