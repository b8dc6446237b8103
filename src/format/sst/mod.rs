//! A reader of RocksDB block-based tables (the container of every BR backup SST) straight from
//! bytes: the caller mmaps a local file or holds an object's bytes. Spec: format/sst.md (SST-*).
//! This module owns opening (footer, metaindex, properties, index); `scan.rs` owns iteration.
//! No I/O, no database, no ingest.

mod block;
mod entries;
mod footer;
mod properties;
mod scan;
mod varint;

use std::collections::BTreeMap;

pub use block::{block_checksum, mask_crc32c, CompressionType, MAX_BLOCK_LEN};
pub use footer::{
    BlockHandle, ChecksumType, Footer, BLOCK_BASED_MAGIC, BLOCK_TRAILER_LEN, FOOTER_LEN,
    LEGACY_BLOCK_BASED_MAGIC, LEGACY_FOOTER_LEN, MAX_FORMAT_VERSION,
};
pub use properties::TableProperties;
pub use scan::{split_internal_key, KvEntry, SstEntry, SstIter, SstScan, ValueType};

use block::{fetch_block, BlockLoc, Decompressor};
use entries::{decode_index, for_each_entry, IndexEncoding};

use crate::format::{FormatError, Result};

/// Name of the properties block in the metaindex (older RocksDB wrote `rocksdb.stats`).
const PROPERTIES_BLOCK: &str = "rocksdb.properties";
const LEGACY_PROPERTIES_BLOCK: &str = "rocksdb.stats";

const RANGE_DEL_BLOCK: &str = "rocksdb.range_del";
/// `kTypeRangeDeletion`.
const RANGE_DELETION_TYPE: u8 = 0xF;

/// A range deletion `[begin, end)` of user keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeDeletion {
    pub begin: Vec<u8>,
    pub end: Vec<u8>,
    pub seqno: u64,
}

/// How to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SstReadOptions {
    /// Verify the trailer checksum of every data block while scanning (SST-4). The footer,
    /// metaindex, properties and index blocks are always verified at open.
    pub verify_checksums: bool,
}

impl Default for SstReadOptions {
    fn default() -> Self {
        SstReadOptions {
            verify_checksums: true,
        }
    }
}

/// An opened SST: footer, properties and the handles of every data block, validated.
#[derive(Clone)]
pub struct SstReader<'a> {
    file: &'a [u8],
    footer: Footer,
    options: SstReadOptions,
    properties: TableProperties,
    meta_blocks: BTreeMap<String, BlockHandle>,
    data_blocks: Vec<BlockHandle>,
}

impl<'a> SstReader<'a> {
    /// Opens with default options (checksums verified).
    pub fn open(file: &'a [u8]) -> Result<SstReader<'a>> {
        Self::open_with(file, SstReadOptions::default())
    }

    /// Validates footer (SST-1, SST-2), metaindex and properties (SST-10) and index (SST-9).
    pub fn open_with(file: &'a [u8], options: SstReadOptions) -> Result<SstReader<'a>> {
        let footer = Footer::decode(file)?;
        let mut buf = Vec::new();
        let mut dec = Decompressor::default();

        // Metaindex: name -> handle of each meta block.
        let mut meta_blocks = BTreeMap::new();
        let mh = footer.metaindex;
        let loc = fetch_block(
            file,
            &footer,
            mh,
            true,
            "metaindex block",
            &mut buf,
            &mut dec,
        )?;
        let what = || format!("metaindex block at {mh}");
        for_each_entry(located(file, &buf, loc), &what, |k, v| {
            let mut p = 0;
            let h = BlockHandle::decode(v, &mut p, &what())?;
            meta_blocks.insert(String::from_utf8_lossy(k).into_owned(), h);
            Ok(())
        })?;

        // Properties.
        let ph = meta_blocks
            .get(PROPERTIES_BLOCK)
            .or_else(|| meta_blocks.get(LEGACY_PROPERTIES_BLOCK))
            .copied()
            .ok_or_else(|| {
                FormatError::invalid(
                    "SST-10",
                    format!("metaindex block at {mh}"),
                    "has no rocksdb.properties block",
                )
            })?;
        let mut properties = TableProperties::default();
        let loc = fetch_block(
            file,
            &footer,
            ph,
            true,
            "properties block",
            &mut buf,
            &mut dec,
        )?;
        let what = || format!("properties block at {ph}");
        let pwhat = what();
        for_each_entry(located(file, &buf, loc), &what, |k, v| {
            properties.add(k, v, &pwhat)
        })?;

        let data_blocks = read_index(file, &footer, &properties, &mut buf, &mut dec)?;
        if properties.num_data_blocks != 0 && data_blocks.len() as u64 != properties.num_data_blocks
        {
            return Err(FormatError::mismatch(
                "SST-9",
                "data block count (rocksdb.num.data.blocks vs index entries)",
                properties.num_data_blocks.to_string(),
                data_blocks.len().to_string(),
            ));
        }
        Ok(SstReader {
            file,
            footer,
            options,
            properties,
            meta_blocks,
            data_blocks,
        })
    }

    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    pub fn properties(&self) -> &TableProperties {
        &self.properties
    }

    /// `rocksdb.num.entries`: what a full scan must yield (SST-11).
    pub fn num_entries(&self) -> u64 {
        self.properties.num_entries
    }

    /// Meta blocks by name (`rocksdb.properties`, `fullfilter.*`, `rocksdb.range_del` ...).
    pub fn meta_blocks(&self) -> &BTreeMap<String, BlockHandle> {
        &self.meta_blocks
    }

    /// Handles of the data blocks, in key order.
    pub fn data_blocks(&self) -> &[BlockHandle] {
        &self.data_blocks
    }

    /// The range deletions of the `rocksdb.range_del` meta block (SST-8), in block order.
    pub fn range_deletions(&self) -> Result<Vec<RangeDeletion>> {
        let Some(&h) = self.meta_blocks.get(RANGE_DEL_BLOCK) else {
            return Ok(Vec::new());
        };
        let mut buf = Vec::new();
        let mut dec = Decompressor::default();
        let loc = fetch_block(
            self.file,
            &self.footer,
            h,
            self.options.verify_checksums,
            "range deletion block",
            &mut buf,
            &mut dec,
        )?;
        let what = || format!("range deletion block at {h}");
        let mut out = Vec::new();
        for_each_entry(
            located(self.file, &buf, loc),
            &what,
            |k, v| match split_internal_key(k) {
                Some((begin, seqno, _)) if k[k.len() - 8] == RANGE_DELETION_TYPE => {
                    out.push(RangeDeletion {
                        begin: begin.to_vec(),
                        end: v.to_vec(),
                        seqno,
                    });
                    Ok(())
                }
                _ => Err(FormatError::invalid(
                    "SST-8",
                    what(),
                    "entry is not a range deletion internal key (type 0xF)",
                )),
            },
        )?;
        Ok(out)
    }

    /// A lending cursor over every entry (fastest: no allocation per entry).
    pub fn scan(&self) -> SstScan<'_> {
        SstScan::new(self)
    }

    /// A std iterator of owned entries.
    pub fn iter(&self) -> SstIter<'_> {
        SstIter::new(self.scan())
    }
}

impl std::fmt::Debug for SstReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the file bytes: an SST is tens of MiB.
        f.debug_struct("SstReader")
            .field("len", &self.file.len())
            .field("footer", &self.footer)
            .field("options", &self.options)
            .field("num_entries", &self.properties.num_entries)
            .field("data_blocks", &self.data_blocks.len())
            .finish()
    }
}

fn located<'b>(file: &'b [u8], buf: &'b [u8], loc: BlockLoc) -> &'b [u8] {
    match loc {
        BlockLoc::File { start, end } => &file[start..end],
        BlockLoc::Buffer => buf,
    }
}

/// Reads the index into the list of data block handles (SST-9).
fn read_index(
    file: &[u8],
    footer: &Footer,
    props: &TableProperties,
    buf: &mut Vec<u8>,
    dec: &mut Decompressor,
) -> Result<Vec<BlockHandle>> {
    let enc = IndexEncoding {
        delta: props.index_value_is_delta_encoded,
        first_key: props.index_type == Some(3),
    };
    let ih = footer.index;
    let loc = fetch_block(file, footer, ih, true, "index block", buf, dec)?;
    let what = || format!("index block at {ih}");
    let top = decode_index(located(file, buf, loc), enc, &what)?;
    match props.index_type.unwrap_or(0) {
        // Binary search (with hash prefixes as extra meta blocks, or with first keys).
        0 | 1 | 3 => Ok(top),
        // Two-level: the top level points at index partitions.
        2 => {
            let mut all = Vec::new();
            let mut pbuf = Vec::new();
            for ph in top {
                let loc = fetch_block(file, footer, ph, true, "index partition", &mut pbuf, dec)?;
                let what = || format!("index partition at {ph}");
                all.extend(decode_index(located(file, &pbuf, loc), enc, &what)?);
            }
            Ok(all)
        }
        other => Err(FormatError::unknown_version(
            "SST-9",
            "rocksdb.block.based.table.index.type",
            other as u64,
            "0 binary search, 1 hash search, 2 two-level, 3 binary search with first key",
        )),
    }
}
