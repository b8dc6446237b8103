//! The layout inside one uncompressed block (SST-6) and its prefix-compressed entries (SST-7),
//! plus the two index value encodings (SST-9). Used for the index, metaindex and properties
//! blocks; the data-block hot loop lives in `scan.rs` and shares [`entries_end`].

use super::footer::BlockHandle;
use super::varint::{read_varint32, read_varint64, read_varsigned64, Pos};
use crate::format::{FormatError, Result};

/// Returns where the entries of `block` end (the start of the restart array), validating the
/// block footer: packed restart count (bit 31 = data-block hash index present) (SST-6).
pub fn entries_end(block: &[u8], what: &dyn Fn() -> String) -> Result<usize> {
    let len = block.len();
    if len < 4 {
        return Err(FormatError::truncated("SST-6", what(), 4, len as u64));
    }
    let mut a = [0u8; 4];
    a.copy_from_slice(&block[len - 4..]);
    let packed = u32::from_le_bytes(a);
    let has_hash = packed & (1 << 31) != 0;
    let num_restarts = (packed & !(1 << 31)) as usize;
    let mut end = len - 4;
    if has_hash {
        // DataBlockHashIndex: <buckets: u8 x n> <n: fixed16> before the block footer.
        if end < 2 {
            return Err(bad(what, "hash index bucket count is truncated"));
        }
        let n = u16::from_le_bytes([block[end - 2], block[end - 1]]) as usize;
        end = end
            .checked_sub(2 + n)
            .ok_or_else(|| bad(what, "hash index runs past the block start"))?;
    }
    if num_restarts == 0 {
        return Err(bad(what, "restart count is 0"));
    }
    num_restarts
        .checked_mul(4)
        .and_then(|r| end.checked_sub(r))
        .ok_or_else(|| {
            bad(
                what,
                &format!("{num_restarts} restart points do not fit in {len} bytes"),
            )
        })
}

fn bad(what: &dyn Fn() -> String, detail: &str) -> FormatError {
    FormatError::invalid("SST-6", what(), detail)
}

fn bad_entry(what: &dyn Fn() -> String, pos: Pos, detail: &str) -> FormatError {
    FormatError::invalid(
        "SST-7",
        format!("{} entry at block offset {pos}", what()),
        detail,
    )
}

/// Decodes the key of the entry at `*pos` into `key` (prefix compression, SST-7) and returns
/// the value length when `with_value_len`.
#[inline]
fn entry_key(
    block: &[u8],
    end: usize,
    pos: &mut Pos,
    key: &mut Vec<u8>,
    with_value_len: bool,
    what: &dyn Fn() -> String,
) -> Result<(u32, usize)> {
    let at = *pos;
    let lim = &block[..end];
    let shared = read_varint32(lim, pos).ok_or_else(|| bad_entry(what, at, "shared length"))?;
    let non_shared =
        read_varint32(lim, pos).ok_or_else(|| bad_entry(what, at, "non-shared length"))?;
    let vlen = if with_value_len {
        read_varint32(lim, pos).ok_or_else(|| bad_entry(what, at, "value length"))? as usize
    } else {
        0
    };
    if shared as usize > key.len() {
        return Err(bad_entry(
            what,
            at,
            &format!(
                "shares {shared} bytes with a {}-byte previous key",
                key.len()
            ),
        ));
    }
    let kend = pos
        .checked_add(non_shared as usize)
        .filter(|&e| e <= end)
        .ok_or_else(|| bad_entry(what, at, "key runs past the restart array"))?;
    key.truncate(shared as usize);
    key.extend_from_slice(&block[*pos..kend]);
    *pos = kend;
    Ok((shared, vlen))
}

/// Calls `f(key, value)` for every entry of a block with classic `<shared><non_shared>
/// <value_len>` entries (metaindex, properties, index without delta encoding).
pub fn for_each_entry(
    block: &[u8],
    what: &dyn Fn() -> String,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    let end = entries_end(block, what)?;
    let mut pos = 0;
    let mut key = Vec::new();
    while pos < end {
        let at = pos;
        let (_, vlen) = entry_key(block, end, &mut pos, &mut key, true, what)?;
        let vend = pos
            .checked_add(vlen)
            .filter(|&e| e <= end)
            .ok_or_else(|| bad_entry(what, at, "value runs past the restart array"))?;
        f(&key, &block[pos..vend])?;
        pos = vend;
    }
    Ok(())
}

/// How index values are encoded (table properties, SST-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEncoding {
    /// `rocksdb.index.value.is.delta.encoded`: no value length; entries with shared > 0 store
    /// only a zigzag size delta, the offset following the previous block.
    pub delta: bool,
    /// Index type 3 (`kBinarySearchWithFirstKey`): a length-prefixed first key follows.
    pub first_key: bool,
}

/// Decodes every block handle of an index block, in order (SST-9).
pub fn decode_index(
    block: &[u8],
    enc: IndexEncoding,
    what: &dyn Fn() -> String,
) -> Result<Vec<BlockHandle>> {
    let end = entries_end(block, what)?;
    let mut out: Vec<BlockHandle> = Vec::new();
    let mut pos = 0;
    let mut key = Vec::new();
    while pos < end {
        let at = pos;
        let (shared, vlen) = entry_key(block, end, &mut pos, &mut key, !enc.delta, what)?;
        let vstart = pos;
        let lim = &block[..end];
        // RocksDB writes a full handle whenever shared == 0, a size delta otherwise.
        let h = match (enc.delta && shared != 0, out.last()) {
            (true, Some(prev)) => {
                let delta = read_varsigned64(lim, &mut pos)
                    .ok_or_else(|| bad_entry(what, at, "delta-encoded size"))?;
                let offset = prev
                    .next_offset()
                    .ok_or_else(|| bad_entry(what, at, "offset overflows"))?;
                let size = (prev.size as i64)
                    .checked_add(delta)
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| bad_entry(what, at, "delta-encoded size is negative"))?;
                BlockHandle { offset, size }
            }
            (true, None) => {
                return Err(bad_entry(what, at, "first index entry is delta-encoded"));
            }
            (false, _) => BlockHandle::decode(lim, &mut pos, &what())?,
        };
        if enc.first_key {
            let n = read_varint64(lim, &mut pos)
                .ok_or_else(|| bad_entry(what, at, "first key length"))?;
            pos = usize::try_from(n)
                .ok()
                .and_then(|n| pos.checked_add(n))
                .filter(|&e| e <= end)
                .ok_or_else(|| bad_entry(what, at, "first key runs past the block"))?;
        }
        if !enc.delta {
            match vstart.checked_add(vlen).filter(|&e| e <= end && e >= pos) {
                Some(vend) => pos = vend,
                None => {
                    return Err(bad_entry(
                        what,
                        at,
                        "value length does not cover the handle",
                    ));
                }
            }
        }
        if let Some(prev) = out.last() {
            if h.offset < prev.offset {
                return Err(FormatError::invalid(
                    "SST-9",
                    what(),
                    format!("data block {h} comes before the previous one at {prev}"),
                ));
            }
        }
        out.push(h);
    }
    Ok(out)
}
