//! Test-only log backup producer (until the store observers land): reads a stopped source
//! cluster's stores directly (RocksDB read-only) and writes every MVCC version committed in
//! (start, checkpoint] as a log archive in the layout of format/log.md: per flush window and
//! store one data object and one `schema-meta/` object of zstd sub-files partitioned by
//! (table or meta-KV, region, cf) (LOG-FILE-10), then the store's `.meta` (LOG-NAME-4), then
//! the global checkpoints (LOG-2), with `backupmeta` (start_version = start, LOG-1) and
//! `backup.lock` at the root. A default-CF value goes in the flush of the commit that needs it.

use brkit::cluster::Region;
use brkit::codec::bytes::decode_bytes_exact;
use brkit::codec::mvcc::{split_ts, strip_data_prefix};
use brkit::codec::table::decode_table_id;
use brkit::codec::write::{WriteRef, WriteType};
use brkit::format::backupmeta::{MetaVersion, MetaWriter, RootHeader};
use brkit::format::crypto::Cipher;
use brkit::format::lock::LOCK_CONTENT;
use brkit::format::logfile::{build_sub_file, GroupBuilder, SubFileSpec};
use brkit::format::logmeta::{
    encode_global_checkpoint, encode_log_meta, EventKind, LogCompression, LogGroup, LogMeta,
    LogMetaVersion,
};
use brkit::format::naming::log::{
    build_global_checkpoint_path, build_log_data_path, build_meta_path,
};
use brkit::format::naming::snapshot::{Cf, LOCK};
use brkit::storage::Storage;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::Path;

/// (flush index, is_meta, table id, region id, cf) → events.
type Partitions = BTreeMap<(usize, bool, i64, u64, Cf), Vec<(Vec<u8>, Vec<u8>)>>;

/// What was written.
#[derive(Debug, Default, Clone)]
pub struct Produced {
    pub stores: usize,
    pub metas: usize,
    pub sub_files: usize,
    pub events: u64,
    pub stored_bytes: u64,
}

fn flush_of(bounds: &[u64], start: u64, ts: u64) -> Option<usize> {
    if ts <= start {
        return None;
    }
    bounds.iter().position(|&b| ts <= b)
}

/// Reads one store's versions committed in (start, last bound] into partitions.
fn read_store(dir: &Path, regions: &[Region], start: u64, bounds: &[u64], parts: &mut Partitions) {
    let opts = rocksdb::Options::default();
    let db = rocksdb::DB::open_cf_for_read_only(&opts, dir, ["default", "write", "lock"], false)
        .unwrap_or_else(|e| panic!("opening {} read-only: {e}", dir.display()));
    let wcf = db.cf_handle("write").unwrap();
    let dcf = db.cf_handle("default").unwrap();
    for item in db.iterator_cf(wcf, rocksdb::IteratorMode::Start) {
        let (k, v) = item.unwrap();
        let key = strip_data_prefix(&k).unwrap();
        let (enc, commit_ts) = split_ts(key).unwrap();
        let Some(flush) = flush_of(bounds, start, commit_ts) else {
            continue;
        };
        let raw = decode_bytes_exact(enc).unwrap();
        let (is_meta, table) = match raw.first() {
            Some(b'm') => (true, 0),
            Some(b't') => match decode_table_id(&raw) {
                Some(id) => (false, id),
                None => continue,
            },
            _ => continue,
        };
        let region = regions
            .iter()
            .find(|r| r.contains(enc))
            .unwrap_or_else(|| panic!("no region holds {}", hex::encode(enc)))
            .id;
        let w = WriteRef::parse(&v).unwrap();
        if w.write_type == WriteType::Put && w.short_value.is_none() {
            let mut dk = vec![b'z'];
            dk.extend_from_slice(&brkit::codec::mvcc::append_ts(enc, w.start_ts));
            let value = db
                .get_cf(dcf, &dk)
                .unwrap()
                .unwrap_or_else(|| panic!("default value missing for {}", hex::encode(&dk)));
            parts
                .entry((flush, is_meta, table, region, Cf::Default))
                .or_default()
                .push((dk[1..].to_vec(), value));
        }
        parts
            .entry((flush, is_meta, table, region, Cf::Write))
            .or_default()
            .push((key.to_vec(), v.to_vec()));
    }
}

fn finish_group(group: GroupBuilder, store: u64, meta: bool) -> Option<(Vec<u8>, LogGroup)> {
    if group.is_empty() {
        return None;
    }
    // The path needs the ts range: finish once to learn it, then name it.
    let (bytes, g) = group.finish(String::new());
    let path = build_log_data_path(store, g.min_ts, g.max_ts, uuid::Uuid::new_v4(), meta);
    Some((bytes, LogGroup { path, ..g }))
}

/// Writes the log archive of the source cluster in `cluster_dir` (stopped) to `storage`:
/// versions with commit ts in (start, bounds.last()], one flush per bound per store.
pub async fn produce(
    storage: &dyn Storage,
    cluster_dir: &Path,
    regions: &[Region],
    start: u64,
    bounds: &[u64],
) -> Produced {
    storage
        .write_if_absent(LOCK, Bytes::from_static(LOCK_CONTENT))
        .await
        .unwrap();
    let (_, root) = MetaWriter::new(MetaVersion::V1, Cipher::plaintext())
        .finish(&RootHeader {
            cluster_id: 1,
            cluster_version: "8.5.0".into(),
            start_version: start,
            end_version: 0,
            ..Default::default()
        })
        .unwrap();
    storage
        .write(&root.name, Bytes::from(root.bytes))
        .await
        .unwrap();
    let mut out = Produced::default();
    let mut stores = Vec::new();
    for e in std::fs::read_dir(cluster_dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(id) = name
            .strip_prefix("store-")
            .and_then(|s| s.parse::<u64>().ok())
        {
            stores.push((id, e.path()));
        }
    }
    stores.sort();
    for (store, dir) in &stores {
        let mut parts = Partitions::new();
        read_store(dir, regions, start, bounds, &mut parts);
        if !parts.is_empty() {
            out.stores += 1;
        }
        for (flush, &flush_ts) in bounds.iter().enumerate() {
            let (mut data, mut meta) = (GroupBuilder::new(), GroupBuilder::new());
            for ((f, is_meta, table, region, cf), evs) in parts.range_mut(
                (flush, false, i64::MIN, 0, Cf::Default)
                    ..=(flush, true, i64::MAX, u64::MAX, Cf::Lock),
            ) {
                debug_assert_eq!(*f, flush);
                evs.sort();
                let spec = SubFileSpec {
                    region_id: *region as i64,
                    cf: *cf,
                    kind: EventKind::Put,
                    is_meta: *is_meta,
                    table_id: *table,
                    resolved_ts: flush_ts,
                    region_start_key: Vec::new(),
                    region_end_key: Vec::new(),
                    region_epochs: vec![(1, 1)],
                    compression: LogCompression::Zstd,
                };
                let (stored, sf) =
                    build_sub_file(&spec, evs, &Cipher::plaintext(), [0; 16]).unwrap();
                out.events += evs.len() as u64;
                out.sub_files += 1;
                out.stored_bytes += stored.len() as u64;
                if *is_meta {
                    meta.push(&stored, sf);
                } else {
                    data.push(&stored, sf);
                }
            }
            let mut groups = Vec::new();
            for (g, is_meta) in [(data, false), (meta, true)] {
                if let Some((bytes, g)) = finish_group(g, *store, is_meta) {
                    storage.write(&g.path, Bytes::from(bytes)).await.unwrap();
                    groups.push(g);
                }
            }
            if groups.is_empty() {
                continue;
            }
            let min_ts = groups.iter().map(|g| g.min_ts).min().unwrap();
            let max_ts = groups.iter().map(|g| g.max_ts).max().unwrap();
            let min_begin = groups
                .iter()
                .flat_map(|g| &g.files)
                .map(|f| f.min_begin_ts_in_default_cf)
                .min()
                .unwrap();
            let lm = LogMeta {
                store_id: *store as i64,
                resolved_ts: flush_ts,
                min_ts,
                max_ts,
                version: LogMetaVersion::V2,
                groups,
                files: Vec::new(),
            };
            let path = build_meta_path(flush_ts, *store, min_begin, min_ts, max_ts, 0);
            storage
                .write(&path, Bytes::from(encode_log_meta(&lm)))
                .await
                .unwrap();
            out.metas += 1;
        }
    }
    // LOG-2: checkpoints after every meta below them.
    let ckpt = *bounds.last().unwrap();
    for (store, _) in &stores {
        storage
            .write(
                &build_global_checkpoint_path(*store),
                Bytes::copy_from_slice(&encode_global_checkpoint(ckpt)),
            )
            .await
            .unwrap();
    }
    out
}
