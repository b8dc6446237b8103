//! A store of the embedded cluster: one RocksDB with TiKV's column families `default`, `write`
//! and `lock`, keys exactly as TiKV lays them out (`z` ‖ memcomparable ‖ !ts, MVCC-6, MVCC-7),
//! transactional writes (MVCC-11: short values inline, long ones in `default`), MVCC reads at
//! any ts, GC, and TiKV's per-region backup and import endpoints.
//!
//! Owns: opening the RocksDB (and refusing a second opener), the write path and the `Store`
//! type. Reads live in `mvcc`, GC in `gc`, backup in `backup`, import in `import`, log replay
//! (PITR's Apply) in `log_apply`, region data moves and size estimates in `ranges`.
//! Everything is synchronous: the gRPC layer calls it from `spawn_blocking`. No storage I/O
//! here: backup emits files, the caller uploads them.

mod backup;
mod error;
mod gc;
mod import;
mod log_apply;
mod log_scan;
mod mvcc;
mod ranges;

#[cfg(test)]
mod backup_tests;
#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod mvcc_tests;
#[cfg(test)]
pub(crate) mod test_util;

pub use backup::{BackupFile, BackupOptions, BackupStats};
pub use error::{Result, StoreError};
pub use import::DownloadOutcome;
pub use log_apply::{ApplyOutcome, ApplyWindow};
pub use log_scan::VersionSink;

use crate::codec::bytes::encode_bytes_to;
use crate::codec::mvcc::{encode_data_key_to, DATA_PREFIX};
use crate::codec::write::{Write, WriteType, SHORT_VALUE_MAX_LEN};
use crate::format::naming::snapshot::Cf;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options,
    WriteBatch, WriteOptions, DB,
};
use std::path::{Path, PathBuf};

/// What [`Store::apply_observed`] reports per entry: (mutation index, cf, key without `z`,
/// value).
pub type ApplySink<'a> = dyn FnMut(usize, Cf, &[u8], &[u8]) + 'a;

/// One change of a transaction: `value: None` deletes the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// Raw TiDB key (not memcomparable-encoded).
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// One TiKV-like store.
pub struct Store {
    db: DB,
    dir: PathBuf,
    store_id: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("store_id", &self.store_id)
            .field("dir", &self.dir)
            .finish()
    }
}

/// The CFs of every store, in open order.
const CFS: [Cf; 3] = [Cf::Default, Cf::Write, Cf::Lock];

/// Upper bound of the whole data keyspace: the byte after `z`.
const DATA_END: &[u8] = &[DATA_PREFIX + 1];

fn cf_options(cf: Cf, cache: &Cache) -> Options {
    let mut o = Options::default();
    // Bulk loads: large memtables, lz4 for our own files, few write stalls.
    let (buffer, block) = match cf {
        Cf::Default => (128 << 20, 64 << 10),
        Cf::Write => (64 << 20, 32 << 10),
        Cf::Lock => (16 << 20, 16 << 10),
    };
    o.set_write_buffer_size(buffer);
    o.set_max_write_buffer_number(4);
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_level_zero_slowdown_writes_trigger(40);
    o.set_level_zero_stop_writes_trigger(64);
    o.set_target_file_size_base(64 << 20);
    o.set_max_bytes_for_level_base(512 << 20);
    let mut t = BlockBasedOptions::default();
    t.set_block_size(block);
    t.set_block_cache(cache);
    if cf == Cf::Write {
        t.set_bloom_filter(10.0, false);
    }
    o.set_block_based_table_factory(&t);
    o
}

impl Store {
    /// Opens (creating if missing) the store's RocksDB in `dir`. A directory another opener
    /// holds gives [`StoreError::Busy`].
    pub fn open(dir: &Path, store_id: u64) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            store_id,
            op: "creating store directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_bytes_per_sync(1 << 20);
        db_opts.set_max_open_files(512);
        let cache = Cache::new_lru_cache(128 << 20).map_err(|e| StoreError::RocksDb {
            store_id,
            op: "creating block cache",
            detail: e.to_string(),
        })?;
        let cfs = CFS
            .iter()
            .map(|&cf| ColumnFamilyDescriptor::new(cf.as_str(), cf_options(cf, &cache)));
        let db = DB::open_cf_descriptors(&db_opts, dir, cfs).map_err(|e| {
            if error::is_lock_error(&e) {
                StoreError::Busy {
                    path: dir.to_path_buf(),
                }
            } else {
                StoreError::RocksDb {
                    store_id,
                    op: "open",
                    detail: e.to_string(),
                }
            }
        })?;
        Ok(Store {
            db,
            dir: dir.to_path_buf(),
            store_id,
        })
    }

    pub fn store_id(&self) -> u64 {
        self.store_id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Commits `muts` as one transaction (start_ts, commit_ts) in one atomic WriteBatch:
    /// a write-CF record per key at commit_ts and, for values over 255 bytes, the value in
    /// `default` at start_ts (MVCC-11, MVCC-16). WAL on, no fsync per write.
    pub fn apply(&self, muts: &[Mutation], start_ts: u64, commit_ts: u64) -> Result<()> {
        self.apply_observed(muts, start_ts, commit_ts, &mut |_, _, _, _| {})
    }

    /// [`Store::apply`], telling `observe` every RocksDB entry it writes as
    /// `(index of the mutation, cf, key without the `z` prefix, value)` (log backup's
    /// observer: format/log.md LOG-FILE-7 keys are these keys), before the batch is written.
    pub fn apply_observed(
        &self,
        muts: &[Mutation],
        start_ts: u64,
        commit_ts: u64,
        observe: &mut ApplySink<'_>,
    ) -> Result<()> {
        if commit_ts < start_ts {
            return Err(self.invalid(format!(
                "commit_ts {commit_ts} is before start_ts {start_ts}"
            )));
        }
        let (wcf, dcf) = (self.cf(Cf::Write)?, self.cf(Cf::Default)?);
        let mut batch = WriteBatch::default();
        let mut key = Vec::new();
        let mut val = Vec::new();
        for (i, m) in muts.iter().enumerate() {
            let record = match &m.value {
                Some(v) if v.len() <= SHORT_VALUE_MAX_LEN => {
                    Write::new(WriteType::Put, start_ts, Some(v.clone()))
                }
                Some(v) => {
                    key.clear();
                    encode_data_key_to(&mut key, &m.key, start_ts);
                    batch.put_cf(dcf, &key, v);
                    observe(i, Cf::Default, &key[1..], v);
                    Write::new(WriteType::Put, start_ts, None)
                }
                None => Write::new(WriteType::Delete, start_ts, None),
            };
            val.clear();
            record
                .as_ref()
                .encode_to(&mut val)
                .map_err(|source| StoreError::Codec {
                    store_id: self.store_id,
                    what: "encoding a write record".into(),
                    source,
                })?;
            key.clear();
            encode_data_key_to(&mut key, &m.key, commit_ts);
            batch.put_cf(wcf, &key, &val);
            observe(i, Cf::Write, &key[1..], &val);
        }
        self.write_batch(batch)
    }

    /// Writes a batch without fsync (the WAL is written; bulk loads do not sync per write).
    fn write_batch(&self, batch: WriteBatch) -> Result<()> {
        let mut wo = WriteOptions::default();
        wo.set_sync(false);
        self.db
            .write_opt(batch, &wo)
            .map_err(|e| self.rocks("write", e))
    }

    fn cf(&self, cf: Cf) -> Result<&ColumnFamily> {
        self.db
            .cf_handle(cf.as_str())
            .ok_or_else(|| StoreError::RocksDb {
                store_id: self.store_id,
                op: "column family handle",
                detail: format!("column family {} is missing", cf.as_str()),
            })
    }

    fn rocks(&self, op: &'static str, e: rocksdb::Error) -> StoreError {
        StoreError::RocksDb {
            store_id: self.store_id,
            op,
            detail: e.to_string(),
        }
    }

    fn invalid(&self, detail: String) -> StoreError {
        StoreError::Invalid {
            store_id: self.store_id,
            detail,
        }
    }

    fn corrupt(&self, key: &[u8], detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            store_id: self.store_id,
            key: hex::encode(key),
            detail: detail.into(),
        }
    }
}

/// `z` ‖ `enc`: the lower bound of an encoded (no ts) range start in RocksDB.
fn data_lower(enc: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(enc.len() + 1);
    out.push(DATA_PREFIX);
    out.extend_from_slice(enc);
    out
}

/// The RocksDB upper bound of an encoded range end: `z` ‖ `enc`, or the end of the data
/// keyspace when `enc` is empty (+infinity). Every version of a user key below `enc` sorts
/// below `z ‖ enc` because memcomparable encodings are prefix-free (MVCC-1).
fn data_upper(enc: &[u8]) -> Vec<u8> {
    if enc.is_empty() {
        DATA_END.to_vec()
    } else {
        data_lower(enc)
    }
}

/// Memcomparable form of a raw range bound; an empty raw end stays empty (+infinity).
fn encode_bound(raw: &[u8], is_end: bool) -> Vec<u8> {
    if raw.is_empty() && is_end {
        return Vec::new();
    }
    let mut out = Vec::new();
    encode_bytes_to(&mut out, raw);
    out
}
