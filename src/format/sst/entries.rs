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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::number::encode_var_u64;
    use proptest::prelude::*;

    /// A minimal RocksDB BlockBuilder (block_builder.cc) for tests: prefix compression with a
    /// restart every `interval` entries; `delta` = value delta encoding of index blocks, where
    /// `values[i]` is then written as given (full or delta form chosen by the caller).
    fn build(entries: &[(Vec<u8>, Vec<u8>)], interval: usize, delta: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut restarts = Vec::new();
        let mut prev: &[u8] = &[];
        for (i, (k, v)) in entries.iter().enumerate() {
            let shared = if i % interval == 0 {
                restarts.push(out.len() as u32);
                0
            } else {
                k.iter().zip(prev).take_while(|(a, b)| a == b).count()
            };
            encode_var_u64(&mut out, shared as u64);
            encode_var_u64(&mut out, (k.len() - shared) as u64);
            if !delta {
                encode_var_u64(&mut out, v.len() as u64);
            }
            out.extend_from_slice(&k[shared..]);
            out.extend_from_slice(v);
            prev = k;
        }
        if restarts.is_empty() {
            restarts.push(0);
        }
        for r in &restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
        out
    }

    fn what() -> String {
        "test block".into()
    }

    fn collect(block: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut got = Vec::new();
        for_each_entry(block, &what, |k, v| {
            got.push((k.to_vec(), v.to_vec()));
            Ok(())
        })?;
        Ok(got)
    }

    proptest! {
        #[test]
        fn sst_7_prefix_compressed_entries_round_trip(
            keys in proptest::collection::btree_set(proptest::collection::vec(0u8..4, 0..12), 0..60),
            interval in 1usize..20,
        ) {
            let entries: Vec<(Vec<u8>, Vec<u8>)> =
                keys.into_iter().enumerate().map(|(i, k)| (k, vec![i as u8; i % 7])).collect();
            let block = build(&entries, interval, false);
            prop_assert_eq!(collect(&block).unwrap(), entries);
        }

        #[test]
        fn sst_9_delta_encoded_index_round_trips(
            sizes in proptest::collection::vec(0u64..100_000, 1..50),
            interval in 1usize..5,
        ) {
            let mut handles = Vec::new();
            let mut off = 0u64;
            for s in &sizes {
                handles.push(BlockHandle { offset: off, size: *s });
                off += s + 5;
            }
            // Keys share a prefix so that non-restart entries have shared > 0.
            let mut entries = Vec::new();
            for (i, h) in handles.iter().enumerate() {
                let key = format!("key{i:06}").into_bytes();
                let mut v = Vec::new();
                if i % interval == 0 {
                    encode_var_u64(&mut v, h.offset);
                    encode_var_u64(&mut v, h.size);
                } else {
                    let d = h.size as i64 - handles[i - 1].size as i64;
                    encode_var_u64(&mut v, ((d << 1) ^ (d >> 63)) as u64);
                }
                entries.push((key, v));
            }
            let block = build(&entries, interval, true);
            let enc = IndexEncoding { delta: true, first_key: false };
            prop_assert_eq!(decode_index(&block, enc, &what).unwrap(), handles.clone());
            // The same handles, classic encoding.
            let classic: Vec<_> = handles.iter().enumerate().map(|(i, h)| {
                let mut v = Vec::new();
                encode_var_u64(&mut v, h.offset);
                encode_var_u64(&mut v, h.size);
                (format!("key{i:06}").into_bytes(), v)
            }).collect();
            let block = build(&classic, interval, false);
            let enc = IndexEncoding { delta: false, first_key: false };
            prop_assert_eq!(decode_index(&block, enc, &what).unwrap(), handles);
        }

        #[test]
        fn sst_7_damaged_blocks_error_never_panic(
            keys in proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..20), 1..20),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let entries: Vec<_> = keys.into_iter().map(|k| (k, b"value".to_vec())).collect();
            let mut block = build(&entries, 3, false);
            for (i, x) in flips {
                let i = i.index(block.len());
                block[i] ^= x;
            }
            let _ = collect(&block);
            let enc = IndexEncoding { delta: true, first_key: true };
            let _ = decode_index(&block, enc, &what);
        }
    }

    #[test]
    fn sst_6_zero_restarts_and_oversized_restart_array_are_rejected() {
        let err = collect(&0u32.to_le_bytes()).unwrap_err();
        assert_eq!(err.rule, Some("SST-6"));
        let err = collect(&1000u32.to_le_bytes()).unwrap_err();
        assert_eq!(err.rule, Some("SST-6"));
        let err = collect(&[1, 2]).unwrap_err();
        assert_eq!(err.rule, Some("SST-6"));
        // Hash index flag with a bucket count larger than the block.
        let mut b = vec![0u8; 4];
        b.extend_from_slice(&100u16.to_le_bytes());
        b.extend_from_slice(&(1u32 | 1 << 31).to_le_bytes());
        assert_eq!(collect(&b).unwrap_err().rule, Some("SST-6"));
    }

    #[test]
    fn sst_7_shared_longer_than_previous_key_is_rejected() {
        // One entry: shared=2 with no previous key.
        let mut b = vec![2, 1, 0, b'k'];
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        let err = collect(&b).unwrap_err();
        assert_eq!(err.rule, Some("SST-7"), "{err}");
        // Value running into the restart array.
        let mut b = vec![0, 1, 9, b'k'];
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        assert_eq!(collect(&b).unwrap_err().rule, Some("SST-7"));
    }

    #[test]
    fn sst_9_index_handles_out_of_order_are_rejected() {
        let enc = IndexEncoding {
            delta: false,
            first_key: false,
        };
        let mut v1 = Vec::new();
        encode_var_u64(&mut v1, 100);
        encode_var_u64(&mut v1, 10);
        let mut v2 = Vec::new();
        encode_var_u64(&mut v2, 50);
        encode_var_u64(&mut v2, 10);
        let block = build(&[(b"a".to_vec(), v1), (b"b".to_vec(), v2)], 1, false);
        let err = decode_index(&block, enc, &what).unwrap_err();
        assert_eq!(err.rule, Some("SST-9"), "{err}");
    }

    #[test]
    fn sst_9_first_index_entry_cannot_be_delta_encoded() {
        // shared=1 on the first entry is already an SST-7 error (no previous key) ...
        let mut b = vec![1, 1, b'k', 0];
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        let enc = IndexEncoding {
            delta: true,
            first_key: false,
        };
        assert_eq!(
            decode_index(&b, enc, &what).unwrap_err().rule,
            Some("SST-7")
        );
    }
}
