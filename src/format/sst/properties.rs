//! The table properties block (SST-10): RocksDB's well-known `rocksdb.*` properties decoded into
//! typed fields, every property (including TiKV's `tikv.*` collectors) kept as raw bytes.

use std::collections::BTreeMap;

use super::varint::read_varint64;
use crate::format::{FormatError, Result};

/// Decoded table properties of one SST.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableProperties {
    pub num_entries: u64,
    pub num_data_blocks: u64,
    pub data_size: u64,
    pub index_size: u64,
    pub index_partitions: u64,
    pub filter_size: u64,
    pub raw_key_size: u64,
    pub raw_value_size: u64,
    pub num_deletions: u64,
    pub num_merge_operands: u64,
    pub num_range_deletions: u64,
    /// The format_version recorded by the writer (`rocksdb.format.version`).
    pub format_version: u64,
    pub index_key_is_user_key: bool,
    pub index_value_is_delta_encoded: bool,
    /// `rocksdb.block.based.table.index.type` (0 binary search, 1 hash, 2 two-level,
    /// 3 binary search with first key); `None` when absent.
    pub index_type: Option<u32>,
    pub column_family_id: Option<u64>,
    pub column_family_name: String,
    pub comparator: String,
    pub compression: String,
    pub compression_options: String,
    pub filter_policy: String,
    pub prefix_extractor: String,
    pub merge_operator: String,
    pub property_collectors: String,
    /// `rocksdb.external_sst_file.version` when written by SstFileWriter.
    pub external_sst_file_version: Option<u32>,
    /// `rocksdb.external_sst_file.global_seqno`.
    pub global_seqno: Option<u64>,
    /// Every property, raw, by name (RocksDB's and user-collected ones such as `tikv.*`).
    pub all: BTreeMap<String, Vec<u8>>,
}

impl TableProperties {
    /// A user-collected (or any) property by name, raw.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.all.get(name).map(Vec::as_slice)
    }

    /// Adds one property entry (called per entry of the properties block).
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8], what: &str) -> Result<()> {
        let name = String::from_utf8_lossy(key).into_owned();
        let num = || -> Result<u64> {
            let mut p = 0;
            match read_varint64(value, &mut p) {
                Some(v) if p == value.len() => Ok(v),
                _ => Err(FormatError::invalid(
                    "SST-10",
                    format!("{what}: property {name}"),
                    "is not a varint64",
                )),
            }
        };
        let text = || String::from_utf8_lossy(value).into_owned();
        match name.as_str() {
            "rocksdb.num.entries" => self.num_entries = num()?,
            "rocksdb.num.data.blocks" => self.num_data_blocks = num()?,
            "rocksdb.data.size" => self.data_size = num()?,
            "rocksdb.index.size" => self.index_size = num()?,
            "rocksdb.index.partitions" => self.index_partitions = num()?,
            "rocksdb.filter.size" => self.filter_size = num()?,
            "rocksdb.raw.key.size" => self.raw_key_size = num()?,
            "rocksdb.raw.value.size" => self.raw_value_size = num()?,
            "rocksdb.deleted.keys" => self.num_deletions = num()?,
            "rocksdb.merge.operands" => self.num_merge_operands = num()?,
            "rocksdb.num.range-deletions" => self.num_range_deletions = num()?,
            "rocksdb.format.version" => self.format_version = num()?,
            "rocksdb.index.key.is.user.key" => self.index_key_is_user_key = num()? != 0,
            "rocksdb.index.value.is.delta.encoded" => {
                self.index_value_is_delta_encoded = num()? != 0
            }
            "rocksdb.column.family.id" => self.column_family_id = Some(num()?),
            "rocksdb.column.family.name" => self.column_family_name = text(),
            "rocksdb.comparator" => self.comparator = text(),
            "rocksdb.compression" => self.compression = text(),
            "rocksdb.compression_options" => self.compression_options = text(),
            "rocksdb.filter.policy" => self.filter_policy = text(),
            "rocksdb.prefix.extractor.name" => self.prefix_extractor = text(),
            "rocksdb.merge.operator" => self.merge_operator = text(),
            "rocksdb.property.collectors" => self.property_collectors = text(),
            "rocksdb.block.based.table.index.type" => {
                self.index_type = Some(fixed32(value).ok_or_else(|| {
                    FormatError::invalid("SST-10", format!("{what}: {name}"), "is not a fixed32")
                })?)
            }
            "rocksdb.external_sst_file.version" => {
                self.external_sst_file_version = Some(fixed32(value).ok_or_else(|| {
                    FormatError::invalid("SST-10", format!("{what}: {name}"), "is not a fixed32")
                })?)
            }
            "rocksdb.external_sst_file.global_seqno" => {
                let v: [u8; 8] = value.try_into().map_err(|_| {
                    FormatError::invalid("SST-10", format!("{what}: {name}"), "is not a fixed64")
                })?;
                self.global_seqno = Some(u64::from_le_bytes(v));
            }
            _ => {}
        }
        self.all.insert(name, value.to_vec());
        Ok(())
    }
}

fn fixed32(v: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(v.try_into().ok()?))
}
