//! Scanning every entry of an SST in file order: the data-block hot loop (SST-7), internal key
//! split (SST-8) and the final entry count check (SST-11). Two front ends: [`SstScan`], a
//! lending cursor that borrows key and value from its own buffers (no allocation per entry), and
//! [`SstIter`], a std `Iterator` of owned entries.

use super::block::{fetch_block, BlockLoc, Decompressor};
use super::entries::entries_end;
use super::footer::{BlockHandle, Footer};
use super::varint::read_varint32;
use super::SstReader;
use crate::format::{FormatError, Result};

/// What an internal key says about its entry (RocksDB `ValueType`, SST-8). Only the types that
/// can appear in a data block are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// 0x0 `kTypeDeletion`.
    Delete,
    /// 0x1 `kTypeValue`.
    Put,
    /// 0x2 `kTypeMerge`.
    Merge,
    /// 0x7 `kTypeSingleDeletion`.
    SingleDelete,
    /// 0x11 `kTypeBlobIndex`.
    BlobIndex,
    /// 0x14 `kTypeDeletionWithTimestamp`.
    DeleteWithTimestamp,
    /// 0x16 `kTypeWideColumnEntity`.
    WideColumnEntity,
}

impl ValueType {
    pub fn from_byte(b: u8) -> Option<ValueType> {
        Some(match b {
            0x0 => ValueType::Delete,
            0x1 => ValueType::Put,
            0x2 => ValueType::Merge,
            0x7 => ValueType::SingleDelete,
            0x11 => ValueType::BlobIndex,
            0x14 => ValueType::DeleteWithTimestamp,
            0x16 => ValueType::WideColumnEntity,
            _ => return None,
        })
    }

    pub fn as_byte(self) -> u8 {
        match self {
            ValueType::Delete => 0x0,
            ValueType::Put => 0x1,
            ValueType::Merge => 0x2,
            ValueType::SingleDelete => 0x7,
            ValueType::BlobIndex => 0x11,
            ValueType::DeleteWithTimestamp => 0x14,
            ValueType::WideColumnEntity => 0x16,
        }
    }
}

/// Splits an internal key into user key, sequence number and type (SST-8).
pub fn split_internal_key(ikey: &[u8]) -> Option<(&[u8], u64, Option<ValueType>)> {
    let n = ikey.len().checked_sub(8)?;
    let (user, tail) = ikey.split_at(n);
    let mut a = [0u8; 8];
    a.copy_from_slice(tail);
    let packed = u64::from_le_bytes(a);
    Some((user, packed >> 8, ValueType::from_byte(packed as u8)))
}

/// Internal key order (SST-14): user key ascending, then the packed (seqno, type) descending.
/// Keys shorter than 8 bytes are left to the SST-8 check.
#[inline]
fn in_order(prev: &[u8], key: &[u8]) -> bool {
    if prev.len() < 8 || key.len() < 8 {
        return true;
    }
    let (pu, pt) = prev.split_at(prev.len() - 8);
    let (ku, kt) = key.split_at(key.len() - 8);
    match pu.cmp(ku) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => trailer(pt) > trailer(kt),
    }
}

fn trailer(t: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(t);
    u64::from_le_bytes(a)
}

/// One entry, borrowed from the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SstEntry<'s> {
    pub user_key: &'s [u8],
    pub seqno: u64,
    pub value_type: ValueType,
    pub value: &'s [u8],
}

/// One entry, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvEntry {
    pub user_key: Vec<u8>,
    pub seqno: u64,
    pub value_type: ValueType,
    pub value: Vec<u8>,
}

/// A lending cursor over every entry of an SST, in file (= key) order.
pub struct SstScan<'r> {
    file: &'r [u8],
    footer: Footer,
    blocks: &'r [BlockHandle],
    verify: bool,
    expect_entries: u64,
    next_block: usize,
    handle: BlockHandle,
    loc: BlockLoc,
    pos: usize,
    end: usize,
    key: Vec<u8>,
    /// Scratch for the order check (SST-14) when user keys tie or one is a prefix.
    prev: Vec<u8>,
    have_prev: bool,
    at_block_start: bool,
    value: (usize, usize),
    buf: Vec<u8>,
    dec: Decompressor,
    count: u64,
    done: bool,
}

impl<'r> SstScan<'r> {
    pub(super) fn new(reader: &'r SstReader<'r>) -> Self {
        SstScan {
            file: reader.file,
            footer: reader.footer,
            blocks: &reader.data_blocks,
            verify: reader.options.verify_checksums,
            // rocksdb.num.entries counts range deletions too; they live in their own block.
            expect_entries: reader
                .properties
                .num_entries
                .saturating_sub(reader.properties.num_range_deletions),
            next_block: 0,
            handle: BlockHandle::default(),
            loc: BlockLoc::File { start: 0, end: 0 },
            pos: 0,
            end: 0,
            key: Vec::with_capacity(64),
            prev: Vec::with_capacity(64),
            have_prev: false,
            at_block_start: true,
            value: (0, 0),
            buf: Vec::new(),
            dec: Decompressor::default(),
            count: 0,
            done: false,
        }
    }

    /// Entries returned so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    #[inline(always)]
    fn block(&self) -> &[u8] {
        match self.loc {
            BlockLoc::File { start, end } => &self.file[start..end],
            BlockLoc::Buffer => &self.buf,
        }
    }

    /// The next entry, `Ok(None)` at the end. After an error the cursor is finished.
    #[inline]
    pub fn next_entry(&mut self) -> Result<Option<SstEntry<'_>>> {
        if self.done {
            return Ok(None);
        }
        while self.pos >= self.end {
            match self.load_next_block() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return self.finish().map(|()| None);
                }
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.decode_entry() {
            self.done = true;
            return Err(e);
        }
        self.count += 1;
        let (vs, ve) = self.value;
        let Some((user_key, seqno, vt)) = split_internal_key(&self.key) else {
            self.done = true;
            return Err(self.entry_error(format!(
                "internal key of {} bytes is shorter than its 8-byte sequence/type trailer",
                self.key.len()
            )));
        };
        let Some(value_type) = vt else {
            let b = self.key[self.key.len() - 8];
            self.done = true;
            return Err(FormatError::unknown_version(
                "SST-8",
                format!(
                    "value type of entry {} in data block at {}",
                    self.count, self.handle
                ),
                b as u64,
                "0 delete, 1 put, 2 merge, 7 single delete, 0x11 blob, 0x14, 0x16",
            ));
        };
        let value = match self.loc {
            BlockLoc::File { start, .. } => &self.file[start + vs..start + ve],
            BlockLoc::Buffer => &self.buf[vs..ve],
        };
        Ok(Some(SstEntry {
            user_key,
            seqno,
            value_type,
            value,
        }))
    }

    fn entry_error(&self, detail: String) -> FormatError {
        FormatError::invalid(
            "SST-7",
            format!(
                "entry {} at offset {} of data block at {}",
                self.count, self.pos, self.handle
            ),
            detail,
        )
    }

    /// Decodes the entry at `pos` into `key` / `value`, advancing `pos` (SST-7).
    #[inline(always)]
    fn decode_entry(&mut self) -> Result<()> {
        let (shared, non_shared, vlen, p) = {
            let block = self.block();
            let lim = &block[..self.end];
            let mut p = self.pos;
            // Fast path: all three lengths < 128 (one byte each), as RocksDB's DecodeEntry.
            if let Some(&[s, n, v]) = lim.get(p..p + 3) {
                if (s | n | v) < 0x80 {
                    (s as usize, n as usize, v as usize, p + 3)
                } else {
                    self.slow_lengths(&mut p)?
                }
            } else {
                self.slow_lengths(&mut p)?
            }
        };
        let avail = if self.at_block_start {
            0
        } else {
            self.key.len()
        };
        if shared > avail {
            return Err(self.entry_error(format!(
                "shares {shared} bytes with a {avail}-byte previous key"
            )));
        }
        let kend = p + non_shared;
        let vend = kend.checked_add(vlen);
        match vend {
            Some(ve) if ve <= self.end => {
                let file = self.file;
                let delta: &[u8] = match self.loc {
                    BlockLoc::File { start, .. } => &file[start + p..start + kend],
                    BlockLoc::Buffer => &self.buf[p..kend],
                };
                // SST-14 without copying the previous key: both keys agree on [..shared], so
                // the first differing byte decides when it lies inside both user keys.
                let verdict = if self.have_prev {
                    let old = &self.key[shared..];
                    let limit = self.key.len().min(shared + non_shared).saturating_sub(8);
                    match old.iter().zip(delta).position(|(a, b)| a != b) {
                        Some(i) if shared + i < limit => Some(delta[i] > old[i]),
                        _ => None,
                    }
                } else {
                    Some(true)
                };
                match verdict {
                    Some(true) => {
                        self.key.truncate(shared);
                        self.key.extend_from_slice(delta);
                    }
                    _ => {
                        self.prev.clear();
                        self.prev.extend_from_slice(&self.key[..shared]);
                        self.prev.extend_from_slice(delta);
                        std::mem::swap(&mut self.key, &mut self.prev);
                        if verdict == Some(false) || !in_order(&self.prev, &self.key) {
                            return Err(FormatError::invalid(
                                "SST-14",
                                format!("entry {} of data block at {}", self.count, self.handle),
                                format!(
                                    "internal key {} does not sort after the previous key {}",
                                    hex::encode(&self.key),
                                    hex::encode(&self.prev)
                                ),
                            ));
                        }
                    }
                }
                self.have_prev = true;
                self.at_block_start = false;
                self.value = (kend, ve);
                self.pos = ve;
                Ok(())
            }
            _ => Err(self.entry_error(format!(
                "key of {non_shared} and value of {vlen} bytes run past the restart array at {}",
                self.end
            ))),
        }
    }

    #[cold]
    fn slow_lengths(&self, p: &mut usize) -> Result<(usize, usize, usize, usize)> {
        let lim = &self.block()[..self.end];
        let mut r = [0usize; 3];
        for (i, name) in ["shared length", "non-shared length", "value length"]
            .iter()
            .enumerate()
        {
            r[i] = read_varint32(lim, p)
                .ok_or_else(|| self.entry_error(format!("{name} varint32 is damaged")))?
                as usize;
        }
        Ok((r[0], r[1], r[2], *p))
    }

    fn load_next_block(&mut self) -> Result<bool> {
        let Some(&h) = self.blocks.get(self.next_block) else {
            return Ok(false);
        };
        self.next_block += 1;
        self.handle = h;
        self.loc = fetch_block(
            self.file,
            &self.footer,
            h,
            self.verify,
            "data block",
            &mut self.buf,
            &mut self.dec,
        )?;
        let what = || format!("data block at {h}");
        self.end = entries_end(self.block(), &what)?;
        self.pos = 0;
        self.at_block_start = true;
        Ok(true)
    }

    fn finish(&self) -> Result<()> {
        if self.count != self.expect_entries {
            return Err(FormatError::mismatch(
                "SST-11",
                "SST entry count (rocksdb.num.entries - rocksdb.num.range-deletions vs entries read)",
                self.expect_entries.to_string(),
                self.count.to_string(),
            ));
        }
        Ok(())
    }
}

/// A std iterator of owned entries; stops after the first error.
pub struct SstIter<'r> {
    scan: SstScan<'r>,
}

impl<'r> SstIter<'r> {
    pub(super) fn new(scan: SstScan<'r>) -> Self {
        SstIter { scan }
    }
}

impl Iterator for SstIter<'_> {
    type Item = Result<KvEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.scan.next_entry() {
            Ok(Some(e)) => Some(Ok(KvEntry {
                user_key: e.user_key.to_vec(),
                seqno: e.seqno,
                value_type: e.value_type,
                value: e.value.to_vec(),
            })),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
