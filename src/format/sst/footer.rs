//! The SST footer and block handles (format/sst.md §Footer, SST-1, SST-2, SST-3). Owns the
//! magic numbers and the format_version gate; knows nothing about block contents.

use super::varint::{read_varint64, Pos};
use crate::format::{FormatError, Result};

/// Magic of a block-based table with the legacy (format_version 0) footer.
pub const LEGACY_BLOCK_BASED_MAGIC: u64 = 0xdb47_7524_8b80_fb57;
/// Magic of a block-based table with the versioned footer (format_version >= 1).
pub const BLOCK_BASED_MAGIC: u64 = 0x88e2_41b7_85f4_cff7;
/// Magics of other table formats, recognised only to name them in the error.
const PLAIN_TABLE_MAGICS: [u64; 2] = [0x8242_2296_63bf_9564, 0x4f34_7a1b_6e23_1c96];
const CUCKOO_TABLE_MAGIC: u64 = 0x9267_89d0_c5f1_7873;

/// Encoded size of the legacy footer: two padded handles + magic.
pub const LEGACY_FOOTER_LEN: usize = 48;
/// Encoded size of the versioned footer: checksum byte + two padded handles + version + magic.
pub const FOOTER_LEN: usize = 53;
/// The highest block-based format_version brkit reads (SST-2).
pub const MAX_FORMAT_VERSION: u32 = 5;
/// Size of the block trailer: compression type byte + fixed32 checksum (SST-4).
pub const BLOCK_TRAILER_LEN: usize = 5;

/// Where a block sits in the file: `size` excludes the 5-byte trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    /// Decodes `varint64 offset, varint64 size` at `*pos` (SST-3).
    pub fn decode(buf: &[u8], pos: &mut Pos, what: &str) -> Result<BlockHandle> {
        let offset = read_varint64(buf, pos).ok_or_else(|| bad_handle(what, "offset"))?;
        let size = read_varint64(buf, pos).ok_or_else(|| bad_handle(what, "size"))?;
        Ok(BlockHandle { offset, size })
    }

    /// The handle of the block that follows this one directly (delta-encoded index values).
    pub fn next_offset(&self) -> Option<u64> {
        self.offset
            .checked_add(self.size)?
            .checked_add(BLOCK_TRAILER_LEN as u64)
    }
}

impl std::fmt::Display for BlockHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "offset {} size {}", self.offset, self.size)
    }
}

fn bad_handle(what: &str, field: &str) -> FormatError {
    FormatError::invalid(
        "SST-3",
        what,
        format!("block handle {field} is not a varint64"),
    )
}

/// Block checksum algorithm named by the footer (SST-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumType {
    None,
    Crc32c,
    XxHash32,
    XxHash64,
    Xxh3,
}

impl ChecksumType {
    pub fn from_byte(b: u64) -> Result<Self> {
        Ok(match b {
            0 => ChecksumType::None,
            1 => ChecksumType::Crc32c,
            2 => ChecksumType::XxHash32,
            3 => ChecksumType::XxHash64,
            4 => ChecksumType::Xxh3,
            other => {
                return Err(FormatError::unknown_version(
                    "SST-4",
                    "SST footer checksum type",
                    other,
                    "0 none, 1 crc32c, 2 xxHash32, 3 xxHash64, 4 XXH3",
                ))
            }
        })
    }
}

/// The decoded footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// 0 for the legacy footer.
    pub format_version: u32,
    pub checksum: ChecksumType,
    pub metaindex: BlockHandle,
    pub index: BlockHandle,
    /// Offset of the first footer byte: every block must end before it (SST-3).
    pub footer_offset: u64,
}

fn fixed32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn fixed64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

impl Footer {
    /// Decodes the footer at the end of `file` (SST-1, SST-2).
    pub fn decode(file: &[u8]) -> Result<Footer> {
        let len = file.len();
        if len < LEGACY_FOOTER_LEN {
            return Err(FormatError::truncated(
                "SST-1",
                "SST footer",
                LEGACY_FOOTER_LEN as u64,
                len as u64,
            ));
        }
        let magic = fixed64(&file[len - 8..]);
        if magic == LEGACY_BLOCK_BASED_MAGIC {
            let start = len - LEGACY_FOOTER_LEN;
            let part = &file[start..len - 8];
            let mut pos = 0;
            let metaindex = BlockHandle::decode(part, &mut pos, "SST footer metaindex handle")?;
            let index = BlockHandle::decode(part, &mut pos, "SST footer index handle")?;
            return Ok(Footer {
                format_version: 0,
                checksum: ChecksumType::Crc32c,
                metaindex,
                index,
                footer_offset: start as u64,
            });
        }
        if magic != BLOCK_BASED_MAGIC {
            let detail = if PLAIN_TABLE_MAGICS.contains(&magic) {
                "a PlainTable SST, not a block-based table".to_string()
            } else if magic == CUCKOO_TABLE_MAGIC {
                "a CuckooTable SST, not a block-based table".to_string()
            } else {
                format!("magic {magic:#018x} is not a RocksDB block-based table magic")
            };
            return Err(FormatError::invalid(
                "SST-1",
                format!("SST footer at offset {}", len - 8),
                detail,
            ));
        }
        if len < FOOTER_LEN {
            return Err(FormatError::truncated(
                "SST-1",
                "SST footer",
                FOOTER_LEN as u64,
                len as u64,
            ));
        }
        let version = fixed32(&file[len - 12..]);
        if version == 0 || version > MAX_FORMAT_VERSION {
            let known = "1..=5 (format_version 6+ of RocksDB 8.6+ uses a footer with context \
                         checksums that brkit does not read yet; 0 only with the legacy magic)";
            return Err(FormatError::unknown_version(
                "SST-2",
                "SST footer format_version",
                version as u64,
                known,
            ));
        }
        let start = len - FOOTER_LEN;
        let part = &file[start..len - 12];
        let checksum = ChecksumType::from_byte(part[0] as u64)?;
        let mut pos = 1;
        let metaindex = BlockHandle::decode(part, &mut pos, "SST footer metaindex handle")?;
        let index = BlockHandle::decode(part, &mut pos, "SST footer index handle")?;
        Ok(Footer {
            format_version: version,
            checksum,
            metaindex,
            index,
            footer_offset: start as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The footer of a real SstFileWriter file (RocksDB 7.8.3, format_version 5), the
    /// `sst-footer` example of format/sst.md.
    const REAL: &str = "048507201b0e000000000000000000000000000000000000000000000000000000000000\
                        000000000005000000f7cff485b741e288";

    #[test]
    fn sst_1_real_versioned_footer_decodes() {
        let b = hex::decode(REAL).unwrap();
        let f = Footer::decode(&b).unwrap();
        assert_eq!(f.format_version, 5);
        assert_eq!(f.checksum, ChecksumType::Xxh3);
        assert_eq!(
            f.metaindex,
            BlockHandle {
                offset: 901,
                size: 32
            }
        );
        assert_eq!(
            f.index,
            BlockHandle {
                offset: 27,
                size: 14
            }
        );
    }

    #[test]
    fn sst_1_legacy_footer_decodes_as_format_version_0() {
        let real = hex::decode(REAL).unwrap();
        let mut b = vec![0xAA; 10];
        b.extend_from_slice(&real[1..41]);
        b.extend_from_slice(&LEGACY_BLOCK_BASED_MAGIC.to_le_bytes());
        let f = Footer::decode(&b).unwrap();
        assert_eq!(f.format_version, 0);
        assert_eq!(f.checksum, ChecksumType::Crc32c);
        assert_eq!(
            f.index,
            BlockHandle {
                offset: 27,
                size: 14
            }
        );
        assert_eq!(f.footer_offset, 10);
    }

    #[test]
    fn sst_1_other_table_formats_are_named() {
        let mut b = vec![0u8; 60];
        b[52..].copy_from_slice(&PLAIN_TABLE_MAGICS[0].to_le_bytes());
        let e = Footer::decode(&b).unwrap_err();
        assert_eq!(e.rule, Some("SST-1"));
        assert!(e.to_string().contains("PlainTable"), "{e}");
        let e = Footer::decode(&b[..20]).unwrap_err();
        assert_eq!(e.rule, Some("SST-1"));
    }

    #[test]
    fn sst_3_unterminated_handle_varint_is_rejected() {
        let mut b = vec![0x04];
        b.extend_from_slice(&[0xff; 40]);
        b.extend_from_slice(&5u32.to_le_bytes());
        b.extend_from_slice(&BLOCK_BASED_MAGIC.to_le_bytes());
        let e = Footer::decode(&b).unwrap_err();
        assert_eq!(e.rule, Some("SST-3"), "{e}");
    }
}
