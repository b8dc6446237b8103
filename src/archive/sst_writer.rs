//! Writing backup SSTs with RocksDB's own `SstFileWriter` (the same writer TiKV uses), with the
//! column-family options TiKV gives backup files (format/sst.md; facts §2.4): block-based
//! table, 32 KiB blocks for `write`, bloom filter, the requested compression. We do not write
//! SSTs by hand: RocksDB is the reference producer and the `rocksdb` crate links it.

use anyhow::{bail, Context};
use rocksdb::{BlockBasedOptions, DBCompressionType, Options, SstFileWriter};
use std::path::Path;

/// BR's `--compression` values for SSTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SstCompression {
    None,
    Lz4,
    Snappy,
    Zstd,
}

impl SstCompression {
    /// Parses BR's flag value (`zstd`, `lz4`, `snappy`; brkit also accepts `none`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(SstCompression::None),
            "lz4" => Some(SstCompression::Lz4),
            "snappy" => Some(SstCompression::Snappy),
            "zstd" => Some(SstCompression::Zstd),
            _ => None,
        }
    }

    /// From `backup.CompressionType` (DATA-7): LZ4, SNAPPY, ZSTD as named; UNKNOWN (0) or an
    /// unknown number takes the fastest supported, LZ4, as TiKV does (facts §2.4).
    pub fn from_proto(v: i32) -> Self {
        match v {
            2 => SstCompression::Snappy,
            3 => SstCompression::Zstd,
            _ => SstCompression::Lz4,
        }
    }

    /// To `backup.CompressionType`; `None` has no wire value and maps to UNKNOWN (0).
    pub fn to_proto(self) -> i32 {
        match self {
            SstCompression::None => 0,
            SstCompression::Lz4 => 1,
            SstCompression::Snappy => 2,
            SstCompression::Zstd => 3,
        }
    }

    fn rocksdb(self) -> DBCompressionType {
        match self {
            SstCompression::None => DBCompressionType::None,
            SstCompression::Lz4 => DBCompressionType::Lz4,
            SstCompression::Snappy => DBCompressionType::Snappy,
            SstCompression::Zstd => DBCompressionType::Zstd,
        }
    }
}

fn options(compression: SstCompression) -> Options {
    sst_options(compression, 0)
}

/// The `SstFileWriter` options of a backup SST (SST-12, DATA-7): 32 KiB blocks, bloom filter,
/// the requested compression; a non-zero `level` is applied as TiKV does (compression options
/// with window bits -14, that level, strategy 0; per-level compression stays unset). Callers that stream
/// keys into their own `SstFileWriter` keep these options alive beside it.
pub fn sst_options(compression: SstCompression, level: i32) -> Options {
    let mut opts = Options::default();
    opts.set_compression_type(compression.rocksdb());
    if level != 0 {
        opts.set_compression_options(-14, level, 0, 0);
    }
    let mut table = BlockBasedOptions::default();
    table.set_block_size(32 << 10);
    table.set_bloom_filter(10.0, false);
    opts.set_block_based_table_factory(&table);
    opts
}

/// Writes `kvs` (already sorted, keys with the `z` prefix) into an SST at `path` and returns
/// its bytes. An empty input is refused: RocksDB cannot finish an empty SST and BR never
/// writes one (DATA-1).
pub fn write_sst<'a>(
    path: &Path,
    compression: SstCompression,
    kvs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> anyhow::Result<Vec<u8>> {
    let opts = options(compression);
    let mut writer = SstFileWriter::create(&opts);
    writer
        .open(path)
        .with_context(|| format!("creating SST {}", path.display()))?;
    let mut n = 0u64;
    for (k, v) in kvs {
        writer
            .put(k, v)
            .with_context(|| format!("adding a key to SST {}", path.display()))?;
        n += 1;
    }
    if n == 0 {
        bail!("refusing to write an empty SST {}", path.display());
    }
    writer
        .finish()
        .with_context(|| format!("finishing SST {}", path.display()))?;
    let bytes =
        std::fs::read(path).with_context(|| format!("reading back SST {}", path.display()))?;
    std::fs::remove_file(path).ok();
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // DATA-7 and facts §2.4 (TiKV `to_sst_compression_type`): UNKNOWN takes LZ4.
    #[test]
    fn data_7_compression_from_proto_follows_tikv() {
        assert_eq!(SstCompression::from_proto(0), SstCompression::Lz4);
        assert_eq!(SstCompression::from_proto(1), SstCompression::Lz4);
        assert_eq!(SstCompression::from_proto(2), SstCompression::Snappy);
        assert_eq!(SstCompression::from_proto(3), SstCompression::Zstd);
        assert_eq!(SstCompression::from_proto(99), SstCompression::Lz4);
        for c in [
            SstCompression::Lz4,
            SstCompression::Snappy,
            SstCompression::Zstd,
        ] {
            assert_eq!(SstCompression::from_proto(c.to_proto()), c);
        }
    }
}
