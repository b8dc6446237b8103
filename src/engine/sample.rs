//! A sample snapshot archive, built the way BR and TiKV build one, for the demo and the tests:
//! TiDB tables (TableInfo JSON as TiDB writes it), rows in row format v2, MVCC KVs exactly as
//! TiKV stores them (short values inline, longer ones in `default`), one range per record
//! range and per index (RANGE-1, RANGE-3), each range written as a `default`/`write` SST pair
//! by RocksDB, sealed (CRYPT-5), named (NAME-1/2) and recorded in backupmeta with CSUM-2
//! checksums; schemas carry the table checksums (CSUM-3). Deterministic for a seed.

use crate::archive::sst_writer::{write_sst, SstCompression};
use crate::archive::writer::{seal_data_file, SnapshotWriter};
use crate::codec::datum::{encode_key, Datum};
use crate::codec::mvcc::encode_data_key;
use crate::codec::mysql::decimal::Decimal;
use crate::codec::mysql::time::{Time, TimeType};
use crate::codec::row::v2;
use crate::codec::table::{index_key, index_range, record_key_int, record_range_int, KeyRange};
use crate::codec::tso;
use crate::codec::write::{Write, WriteType};
use crate::format::backupmeta::{DataFile, MetaVersion, RootHeader, SchemaEntry};
use crate::format::checksum::Checksum;
use crate::format::crypto::Cipher;
use crate::format::naming::snapshot::{build_sst_name, Cf};
use crate::storage::Storage;
use anyhow::Context;
use serde_json::json;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleSpec {
    pub rows_per_table: u64,
    pub compression: SstCompression,
    pub cipher: Cipher,
    pub meta_version: MetaVersion,
    /// Storage backend name, for SST naming (NAME-1 vs NAME-2).
    pub backend: String,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct SampleSummary {
    pub backup_ts: u64,
    pub tables: usize,
    pub files: usize,
    pub file_bytes: u64,
    pub kvs: u64,
    /// Σ key+value bytes of the backed-up KVs (CSUM-2's total_bytes).
    pub logical_bytes: u64,
}

const DB_ID: i64 = 2;
const SAMPLE_TABLES: [(i64, &str); 2] = [(110, "users"), (112, "events")];

fn col(
    id: i64,
    name: &str,
    offset: usize,
    tp: u8,
    flag: u32,
    flen: i64,
    decimal: i64,
) -> serde_json::Value {
    let (charset, collate) = if matches!(tp, 15 | 252 | 254) {
        ("utf8mb4", "utf8mb4_bin")
    } else {
        ("binary", "binary")
    };
    json!({
        "id": id, "name": {"O": name, "L": name.to_lowercase()}, "offset": offset,
        "origin_default": null, "origin_default_bit": null, "default": null, "default_bit": null,
        "default_is_expr": false, "generated_expr_string": "", "generated_stored": false,
        "dependences": null,
        "type": {"Tp": tp, "Flag": flag, "Flen": flen, "Decimal": decimal, "Charset": charset,
                 "Collate": collate, "Elems": null, "ElemsIsBinaryLit": null, "Array": false},
        "state": 5, "comment": "", "hidden": false, "change_state_info": null, "version": 2
    })
}

/// TableInfo JSON as TiDB writes it (MODEL-*): `users` has an int PK handle and an index on
/// `name`; `events` has no PK (hidden `_tidb_rowid`) and nullable columns.
fn table_json(id: i64, name: &str) -> serde_json::Value {
    let (cols, indexes, pk_is_handle) = if name == "users" {
        (
            vec![
                col(1, "id", 0, 8, 3, 20, 0), // BIGINT NOT NULL PRIMARY KEY
                col(2, "name", 1, 15, 0, 64, 0),
                col(3, "score", 2, 246, 0, 10, 2),
                col(4, "created", 3, 12, 0, 19, 0),
                col(5, "bio", 4, 252, 0, 65535, 0),
            ],
            vec![
                json!({"id": 1, "idx_name": {"O": "idx_name", "L": "idx_name"}, "tbl_name": {"O": "", "L": ""},
                        "idx_cols": [{"name": {"O": "name", "L": "name"}, "offset": 1, "length": -1}],
                        "state": 5, "backfill_state": 0, "comment": "", "index_type": 1,
                        "is_unique": false, "is_primary": false, "is_invisible": false, "is_global": false, "mv_index": false}),
            ],
            true,
        )
    } else {
        (
            vec![
                col(1, "kind", 0, 15, 0, 16, 0),
                col(2, "amount", 1, 5, 0, 22, -1),
                col(3, "note", 2, 15, 0, 255, 0),
            ],
            vec![],
            false,
        )
    };
    json!({
        "id": id, "name": {"O": name, "L": name}, "charset": "utf8mb4", "collate": "utf8mb4_bin",
        "cols": cols, "index_info": indexes, "constraint_info": null, "fk_info": null, "state": 5,
        "pk_is_handle": pk_is_handle, "is_common_handle": false, "common_handle_version": 0,
        "comment": "", "auto_inc_id": 0, "auto_id_cache": 0, "auto_rand_id": 0,
        "max_col_id": 5, "max_idx_id": 1, "max_fk_id": 0, "max_cst_id": 0, "update_timestamp": 0,
        "ShardRowIDBits": 0, "max_shard_row_id_bits": 0, "auto_random_bits": 0, "auto_random_range_bits": 0,
        "pre_split_regions": 0, "partition": null, "compression": "", "view": null, "sequence": null,
        "Lock": null, "version": 5, "tiflash_replica": null, "is_columnar": false, "temp_table_type": 0,
        "cache_table_status": 0, "policy_ref_info": null, "stats_options": null, "exchange_partition_info": null,
        "ttl_info": null, "revision": 0
    })
}

/// xorshift64*: a tiny deterministic generator, so the sample is the same for a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The rows of one table as (handle, [(col id, datum)]).
/// One row: its handle and its (column id, value) pairs.
type SampleRow = (i64, Vec<(i64, Datum)>);

fn rows(name: &str, n: u64, rng: &mut Rng) -> anyhow::Result<Vec<SampleRow>> {
    let mut out = Vec::with_capacity(n as usize);
    for i in 1..=n as i64 {
        let r = rng.next();
        let cols = if name == "users" {
            let bio_len = if i % 10 == 0 {
                300 + (r % 200) as usize
            } else {
                (r % 80) as usize
            };
            let bio: String = (0..bio_len)
                .map(|j| (b'a' + ((r as usize + j) % 26) as u8) as char)
                .collect();
            let created = format!(
                "2026-{:02}-{:02} {:02}:{:02}:{:02}",
                1 + r % 12,
                1 + (r >> 8) % 28,
                (r >> 16) % 24,
                (r >> 24) % 60,
                (r >> 32) % 60
            );
            vec![
                (
                    2,
                    Datum::Bytes(format!("user-{:05}", r % 5000).into_bytes()),
                ),
                (
                    3,
                    Datum::Decimal {
                        value: Decimal::parse(&format!("{}.{:02}", (r >> 20) % 100_000, r % 100))?,
                        prec: 10,
                        frac: 2,
                    },
                ),
                (
                    4,
                    Datum::Time(Time::parse(&created, TimeType::Datetime, 0)?),
                ),
                (5, Datum::Bytes(bio.into_bytes())),
            ]
        } else {
            let kind = ["click", "view", "buy"][(r % 3) as usize];
            let note = if r.is_multiple_of(4) {
                Datum::Null
            } else {
                Datum::Bytes(format!("note {i}").into_bytes())
            };
            vec![
                (1, Datum::Bytes(kind.as_bytes().to_vec())),
                (2, Datum::F64((r % 100_000) as f64 / 100.0)),
                (3, note),
            ]
        };
        out.push((i, cols));
    }
    Ok(out)
}

/// The MVCC KVs of one range: `write` and `default` SST contents (keys with `z`) plus the
/// CSUM-2 accounting for each file.
#[derive(Default)]
struct RangeKvs {
    write: Vec<(Vec<u8>, Vec<u8>)>,
    default: Vec<(Vec<u8>, Vec<u8>)>,
    write_sum: Checksum,
    default_sum: Checksum,
}

impl RangeKvs {
    fn put(
        &mut self,
        raw_key: &[u8],
        value: Vec<u8>,
        start_ts: u64,
        commit_ts: u64,
    ) -> anyhow::Result<()> {
        let short = value.len() <= crate::codec::write::SHORT_VALUE_MAX_LEN;
        let w = Write::new(WriteType::Put, start_ts, short.then(|| value.clone()));
        self.write
            .push((encode_data_key(raw_key, commit_ts), w.encode()?));
        if short {
            self.write_sum.update(raw_key, &value);
        } else {
            self.default_sum.update(raw_key, &value);
            self.default
                .push((encode_data_key(raw_key, start_ts), value));
        }
        Ok(())
    }
}

/// Writes the sample archive to `storage`. `tmp` is a scratch directory for RocksDB's
/// SstFileWriter.
pub async fn write_sample_archive(
    storage: &dyn Storage,
    tmp: &std::path::Path,
    spec: &SampleSpec,
) -> anyhow::Result<SampleSummary> {
    let mut rng = Rng(spec.seed | 1);
    let now_ms = chrono::Utc::now().timestamp_millis() as u64;
    let start_ts = tso::compose(now_ms - 2_000, 1);
    let commit_ts = tso::compose(now_ms - 1_000, 7);
    let backup_ts = tso::compose(now_ms, 0);
    let mut w = SnapshotWriter::create(storage, spec.meta_version, spec.cipher.clone()).await?;
    let mut summary = SampleSummary {
        backup_ts,
        tables: SAMPLE_TABLES.len(),
        ..Default::default()
    };
    let mut schemas = Vec::new();
    let mut region_id = 10;
    for (table_id, name) in SAMPLE_TABLES {
        let rows = rows(name, spec.rows_per_table, &mut rng)?;
        let mut record = RangeKvs::default();
        let mut index = RangeKvs::default();
        let mut index_entries = Vec::new();
        for (handle, cols) in &rows {
            record.put(
                &record_key_int(table_id, *handle),
                v2::encode(cols)?,
                start_ts,
                commit_ts,
            )?;
            if name == "users" {
                let enc = encode_key(&[cols[0].1.clone(), Datum::I64(*handle)])?;
                index_entries.push(index_key(table_id, 1, &enc));
            }
        }
        index_entries.sort();
        for k in &index_entries {
            index.put(k, b"0".to_vec(), start_ts, commit_ts)?;
        }
        let mut ranges = vec![(record_range_int(table_id), record)];
        if name == "users" {
            ranges.push((index_range(table_id, 1), index));
        }
        let mut table_sum = Checksum::default();
        for (KeyRange { start, end }, kvs) in ranges {
            region_id += 1;
            for (cf, entries, sum) in [
                (Cf::Default, &kvs.default, kvs.default_sum),
                (Cf::Write, &kvs.write, kvs.write_sum),
            ] {
                if entries.is_empty() {
                    continue;
                }
                let name = build_sst_name(&spec.backend, 1, region_id, 1, &start, now_ms, cf);
                let path = tmp.join(format!("sample-{region_id}-{}.sst", cf.as_str()));
                let bytes = write_sst(
                    &path,
                    spec.compression,
                    entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
                )?;
                let sealed = seal_data_file(&spec.cipher, bytes)?;
                w.put_data_file(&name, &sealed).await?;
                let file = DataFile {
                    name,
                    sha256: sealed.sha256.clone(),
                    start_key: start.clone(),
                    end_key: end.clone(),
                    start_version: 0,
                    end_version: backup_ts,
                    checksum: sum,
                    cf,
                    size: sealed.size,
                    cipher_iv: sealed.cipher_iv.clone(),
                };
                w.add_data_file(&file).await?;
                table_sum.merge(&sum);
                summary.files += 1;
                summary.file_bytes += sealed.size;
            }
        }
        summary.kvs += table_sum.total_kvs;
        summary.logical_bytes += table_sum.total_bytes;
        schemas.push(SchemaEntry {
            db_json: serde_json::to_vec(&json!({"id": DB_ID, "db_name": {"O": "demo", "L": "demo"}, "charset": "utf8mb4", "collate": "utf8mb4_bin", "state": 5}))?,
            table_json: Some(serde_json::to_vec(&table_json(table_id, name))?),
            checksum: table_sum,
            tiflash_replicas: 0,
        });
    }
    w.end_data_files().await?;
    for s in &schemas {
        w.add_schema(s).await?;
    }
    let header = RootHeader {
        cluster_id: 7_300_000_000_000_000_001,
        cluster_version: "8.5.0".into(),
        br_version: format!("brkit\nRelease Version: {}", env!("CARGO_PKG_VERSION")),
        start_version: 0,
        end_version: backup_ts,
        new_collations_enabled: "True".into(),
    };
    w.finish(&header).await.context("writing backupmeta")?;
    Ok(summary)
}

/// Writes a small log backup archive in the current layout (format/log.md): the lock and the
/// log root (start ts), one group object holding a `write` and a `default` sub-file (zstd
/// frames) with updates to `demo.users` committed after `snapshot_ts`, its `.meta`, and the
/// global checkpoint, in the order ORDER-4 asks (data, then meta, then checkpoint).
pub async fn write_sample_log_archive(
    storage: &dyn Storage,
    snapshot_ts: u64,
) -> anyhow::Result<()> {
    use crate::codec::mvcc::encode_mvcc_key;
    use crate::format::backupmeta::MetaWriter;
    use crate::format::lock::LOCK_CONTENT;
    use crate::format::logfile::{build_sub_file, GroupBuilder, SubFileSpec};
    use crate::format::logmeta::{
        encode_global_checkpoint, encode_log_meta, EventKind, LogCompression, LogMeta,
        LogMetaVersion,
    };
    use crate::format::naming::log::{
        build_global_checkpoint_path, build_log_data_path, build_meta_path,
    };
    use crate::format::naming::snapshot::LOCK;
    use bytes::Bytes;

    let start_ts = tso::compose(tso::physical(snapshot_ts) - 5_000, 0);
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

    let (mut writes, mut defaults) = (Vec::new(), Vec::new());
    for i in 1..=20i64 {
        let begin = tso::compose(tso::physical(snapshot_ts) + 100 * i as u64, 0);
        let commit = begin + 5;
        let bio = if i % 5 == 0 {
            "x".repeat(400)
        } else {
            format!("updated bio {i}")
        };
        let row = v2::encode(&[
            (2, Datum::Bytes(format!("user-{i:05}").into_bytes())),
            (5, Datum::Bytes(bio.into_bytes())),
        ])?;
        let key = record_key_int(110, i);
        let short = row.len() <= crate::codec::write::SHORT_VALUE_MAX_LEN;
        let w = Write::new(WriteType::Put, begin, short.then(|| row.clone()));
        writes.push((encode_mvcc_key(&key, commit), w.encode()?));
        if !short {
            defaults.push((encode_mvcc_key(&key, begin), row));
        }
    }
    let spec = |cf| SubFileSpec {
        region_id: 11,
        cf,
        kind: EventKind::Put,
        is_meta: false,
        table_id: 110,
        resolved_ts: 0,
        region_start_key: Vec::new(),
        region_end_key: Vec::new(),
        region_epochs: vec![(1, 1)],
        compression: LogCompression::Zstd,
    };
    let mut group = GroupBuilder::new();
    for (cf, events) in [(Cf::Default, &defaults), (Cf::Write, &writes)] {
        let (stored, f) = build_sub_file(&spec(cf), events, &Cipher::plaintext(), [0; 16])?;
        group.push(&stored, f);
    }
    let (min_ts, max_ts) = (writes
        .iter()
        .chain(&defaults)
        .map(|(k, _)| crate::format::logfile::key_ts(k))
        .collect::<Result<Vec<_>, _>>()?)
    .iter()
    .fold((u64::MAX, 0), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    let path = build_log_data_path(1, min_ts, max_ts, uuid::Uuid::new_v4(), false);
    let (bytes, group) = group.finish(path.clone());
    storage.write(&path, Bytes::from(bytes)).await?;
    let resolved = max_ts + 1;
    let meta = LogMeta {
        store_id: 1,
        resolved_ts: resolved,
        min_ts,
        max_ts,
        version: LogMetaVersion::V2,
        groups: vec![group],
        files: Vec::new(),
    };
    storage
        .write(
            &build_meta_path(resolved, 1, min_ts, min_ts, max_ts, 0),
            Bytes::from(encode_log_meta(&meta)),
        )
        .await?;
    storage
        .write(
            &build_global_checkpoint_path(1),
            Bytes::copy_from_slice(&encode_global_checkpoint(resolved)),
        )
        .await?;
    Ok(())
}
