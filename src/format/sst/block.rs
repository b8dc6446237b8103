//! Fetching one block: bounds of its handle (SST-3), trailer checksum (SST-4) and decompression
//! (SST-5). Hands back the uncompressed block bytes, borrowed from the file when the block is
//! stored uncompressed, otherwise decompressed into a buffer the caller reuses.

use super::footer::{BlockHandle, ChecksumType, Footer, BLOCK_TRAILER_LEN};
use super::varint::read_varint32;
use crate::format::{FormatError, Result};

/// Hard cap on one decompressed block (SST-5): far above any block RocksDB writes for TiKV
/// (block size 4..64 KiB, or one oversized value), small enough that a forged size is harmless.
pub const MAX_BLOCK_LEN: usize = 256 << 20;

/// Compression type byte of a block trailer (SST-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    None,
    Snappy,
    Zlib,
    Bzip2,
    Lz4,
    Lz4hc,
    Xpress,
    Zstd,
    /// 0x40, `kZSTDNotFinalCompression`: zstd written by old RocksDB.
    ZstdNotFinal,
}

impl CompressionType {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => CompressionType::None,
            1 => CompressionType::Snappy,
            2 => CompressionType::Zlib,
            3 => CompressionType::Bzip2,
            4 => CompressionType::Lz4,
            5 => CompressionType::Lz4hc,
            6 => CompressionType::Xpress,
            7 => CompressionType::Zstd,
            0x40 => CompressionType::ZstdNotFinal,
            _ => return None,
        })
    }
}

/// Computes the block checksum of `data` = block contents followed by the type byte (SST-4).
pub fn block_checksum(kind: ChecksumType, data: &[u8]) -> u32 {
    match kind {
        ChecksumType::None => 0,
        ChecksumType::Crc32c => mask_crc32c(crc32c::crc32c(data)),
        ChecksumType::XxHash32 => xxhash_rust::xxh32::xxh32(data, 0),
        ChecksumType::XxHash64 => xxhash_rust::xxh64::xxh64(data, 0) as u32,
        ChecksumType::Xxh3 => match data.split_last() {
            None => 0,
            Some((last, head)) => {
                // RocksDB's ModifyChecksumForLastByte: XXH3 of all but the last byte, then the
                // last byte folded in with a multiply-xor.
                (xxhash_rust::xxh3::xxh3_64(head) as u32) ^ (*last as u32).wrapping_mul(0x6b90_83d9)
            }
        },
    }
}

/// RocksDB's `crc32c::Mask`: rotate right by 15 and add a constant.
pub fn mask_crc32c(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Reusable decompression state of one reader pass.
#[derive(Default)]
pub struct Decompressor {
    zstd: Option<zstd::bulk::Decompressor<'static>>,
    snappy: Option<snap::raw::Decoder>,
}

/// Where the uncompressed bytes of a fetched block live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockLoc {
    /// `file[start..end]`: stored uncompressed (zero copy).
    File { start: usize, end: usize },
    /// The whole caller buffer.
    Buffer,
}

/// Fetches the block at `h`: checks bounds, verifies the trailer if `verify`, decompresses into
/// `buf` when compressed. `what` names the block in errors ("data block", "index block" ...).
pub fn fetch_block(
    file: &[u8],
    footer: &Footer,
    h: BlockHandle,
    verify: bool,
    what: &str,
    buf: &mut Vec<u8>,
    dec: &mut Decompressor,
) -> Result<BlockLoc> {
    let start = usize::try_from(h.offset).ok();
    let end = start
        .zip(usize::try_from(h.size).ok())
        .and_then(|(s, n)| s.checked_add(n));
    let trailer_end = end.and_then(|e| e.checked_add(BLOCK_TRAILER_LEN));
    let (start, end) = match (start, end, trailer_end) {
        (Some(s), Some(e), Some(t)) if t as u64 <= footer.footer_offset => (s, e),
        _ => {
            return Err(FormatError::invalid(
                "SST-3",
                format!("{what} at {h}"),
                format!(
                    "block plus trailer runs past the footer at offset {}",
                    footer.footer_offset
                ),
            ))
        }
    };
    let type_byte = file[end];
    if verify && footer.checksum != ChecksumType::None {
        let mut stored = [0u8; 4];
        stored.copy_from_slice(&file[end + 1..end + BLOCK_TRAILER_LEN]);
        let stored = u32::from_le_bytes(stored);
        let actual = block_checksum(footer.checksum, &file[start..end + 1]);
        if stored != actual {
            return Err(FormatError::mismatch(
                "SST-4",
                format!("{what} at {h}: {:?} checksum", footer.checksum),
                format!("{stored:#010x}"),
                format!("{actual:#010x}"),
            ));
        }
    }
    let raw = &file[start..end];
    let ctype = CompressionType::from_byte(type_byte).ok_or_else(|| {
        FormatError::unknown_version(
            "SST-5",
            format!("{what} at {h}: compression type"),
            type_byte as u64,
            "0 none, 1 snappy, 4 lz4, 5 lz4hc, 7 zstd, 0x40 zstd-not-final",
        )
    })?;
    if ctype == CompressionType::None {
        return Ok(BlockLoc::File { start, end });
    }
    decompress(ctype, raw, footer.format_version, buf, dec).map_err(|detail| {
        FormatError::invalid("SST-5", format!("{what} at {h} ({ctype:?})"), detail)
    })?;
    Ok(BlockLoc::Buffer)
}

/// Decompresses one block body into `buf` (cleared first). The error is a detail string.
pub fn decompress(
    ctype: CompressionType,
    raw: &[u8],
    format_version: u32,
    buf: &mut Vec<u8>,
    dec: &mut Decompressor,
) -> std::result::Result<(), String> {
    buf.clear();
    match ctype {
        CompressionType::None => buf.extend_from_slice(raw),
        CompressionType::Snappy => {
            let n = snap::raw::decompress_len(raw).map_err(|e| e.to_string())?;
            // Snappy expands at most ~21x per input byte (a 2-byte copy of 64 bytes... 3 bytes).
            check_size(n, raw.len(), 64)?;
            buf.resize(n, 0);
            let got = dec
                .snappy
                .get_or_insert_with(snap::raw::Decoder::new)
                .decompress(raw, buf)
                .map_err(|e| e.to_string())?;
            if got != n {
                return Err(format!("snappy produced {got} bytes, declared {n}"));
            }
        }
        CompressionType::Lz4 | CompressionType::Lz4hc => {
            let (n, body) = size_prefix(raw, format_version)?;
            check_size(n, body.len(), 256)?;
            buf.resize(n, 0);
            let got = lz4_flex::block::decompress_into(body, buf).map_err(|e| e.to_string())?;
            if got != n {
                return Err(format!("lz4 produced {got} bytes, declared {n}"));
            }
        }
        CompressionType::Zstd | CompressionType::ZstdNotFinal => {
            // zstd always carries the varint32 size prefix (it postdates format_version 2).
            let (n, body) = size_prefix(raw, 2)?;
            // An RLE block of 128 KiB costs 4 bytes: the ratio never exceeds 32768.
            check_size(n, body.len(), 32768)?;
            buf.reserve(n);
            let z = match &mut dec.zstd {
                Some(z) => z,
                slot => slot.insert(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?),
            };
            let got = z
                .decompress_to_buffer(body, buf)
                .map_err(|e| e.to_string())?;
            if got != n {
                return Err(format!("zstd produced {got} bytes, declared {n}"));
            }
        }
        CompressionType::Zlib | CompressionType::Bzip2 | CompressionType::Xpress => {
            return Err(format!(
                "{ctype:?} is a valid RocksDB compression but brkit does not decode it (BR writes \
                 lz4, snappy or zstd)"
            ))
        }
    }
    Ok(())
}

fn check_size(n: usize, input: usize, ratio: usize) -> std::result::Result<(), String> {
    let bound = input
        .saturating_mul(ratio)
        .saturating_add(64)
        .min(MAX_BLOCK_LEN);
    if n > bound {
        return Err(format!(
            "declared uncompressed size {n} is impossible for {input} compressed bytes"
        ));
    }
    Ok(())
}

/// Splits the uncompressed-size prefix: varint32 for compress format 2 (format_version >= 2),
/// 8-byte little-endian for the legacy lz4 framing (SST-5).
fn size_prefix(raw: &[u8], format_version: u32) -> std::result::Result<(usize, &[u8]), String> {
    if format_version >= 2 {
        let mut p = 0;
        let n = read_varint32(raw, &mut p).ok_or("uncompressed size varint32 is damaged")?;
        Ok((n as usize, &raw[p..]))
    } else {
        if raw.len() < 8 {
            return Err("legacy 8-byte uncompressed size is truncated".into());
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(&raw[..8]);
        let n = usize::try_from(u64::from_le_bytes(a)).map_err(|_| "size overflows")?;
        Ok((n, &raw[8..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sst_4_crc32c_mask_matches_rocksdb() {
        // RocksDB util/crc32c_test.cc: Mask(crc) != crc, and Unmask(Mask(crc)) == crc.
        let crc = crc32c::crc32c(b"foo");
        let m = mask_crc32c(crc);
        assert_ne!(m, crc);
        let unmasked = m.wrapping_sub(0xa282_ead8).rotate_left(15);
        assert_eq!(unmasked, crc);
        // RocksDB crc32c_test.cc StandardResults: 32 zero bytes => 0x8a9136aa.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn sst_5_unknown_compression_type_is_none() {
        assert_eq!(CompressionType::from_byte(8), None);
        assert_eq!(
            CompressionType::from_byte(0x40),
            Some(CompressionType::ZstdNotFinal)
        );
    }

    #[test]
    fn sst_5_forged_sizes_are_rejected_not_allocated() {
        let mut buf = Vec::new();
        let mut dec = Decompressor::default();
        // varint32 0xffffffff then 1 byte of "lz4".
        let raw = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
        let e = decompress(CompressionType::Lz4, &raw, 2, &mut buf, &mut dec).unwrap_err();
        assert!(e.contains("impossible"), "{e}");
        let e = decompress(CompressionType::Zstd, &raw, 2, &mut buf, &mut dec).unwrap_err();
        assert!(e.contains("impossible"), "{e}");
    }
}
