//! MVCC keys: a memcomparable-encoded user key followed by a descending timestamp, with or
//! without the `z` data prefix that TiKV's RocksDB (and so every backup SST) puts in front.
//!
//! Owns: appending/splitting the 8-byte timestamp (MVCC-6), the `z` data prefix (MVCC-7) and
//! whole-key encode/decode. Does not own memcomparable bytes (`bytes.rs`) or Write record
//! values (`write.rs`). Rules: format/mvcc.md.

use super::bytes::{decode_bytes_exact, encode_bytes_to, encoded_len};
use super::error::{CodecError, Result};
use super::number::{decode_u64_desc, encode_u64_desc};

/// The data prefix TiKV puts in front of every user key stored in RocksDB (MVCC-7).
pub const DATA_PREFIX: u8 = b'z';

/// Length of the timestamp suffix of a key with ts (MVCC-6).
pub const TS_LEN: usize = 8;

/// `encoded_key || !ts` big-endian (MVCC-6). `encoded_key` is already memcomparable.
pub fn append_ts(encoded_key: &[u8], ts: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_key.len() + TS_LEN);
    out.extend_from_slice(encoded_key);
    out.extend_from_slice(&encode_u64_desc(ts));
    out
}

/// Splits a key with ts into the encoded user key and the timestamp (MVCC-6).
/// Fails when the key is shorter than 8 bytes.
pub fn split_ts(key_with_ts: &[u8]) -> Result<(&[u8], u64)> {
    let Some(pos) = key_with_ts.len().checked_sub(TS_LEN) else {
        return Err(CodecError::Truncated {
            what: "MVCC key timestamp",
            needed: TS_LEN,
            available: key_with_ts.len(),
        });
    };
    let (key, mut ts) = key_with_ts.split_at(pos);
    Ok((key, decode_u64_desc(&mut ts)?))
}

/// `z || encoded` (MVCC-7): the form a key takes inside RocksDB and backup SSTs.
pub fn data_key(encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() + 1);
    out.push(DATA_PREFIX);
    out.extend_from_slice(encoded);
    out
}

/// Removes the `z` data prefix (MVCC-7); a key without it is an error.
pub fn strip_data_prefix(key: &[u8]) -> Result<&[u8]> {
    match key.split_first() {
        Some((&DATA_PREFIX, rest)) => Ok(rest),
        Some((&b, _)) => Err(CodecError::invalid(
            "data key prefix",
            format!("expected 'z' (0x7a), found {b:#04x}"),
        )),
        None => Err(CodecError::Truncated {
            what: "data key prefix",
            needed: 1,
            available: 0,
        }),
    }
}

/// `encode_bytes(raw) || !ts` (MVCC-1, MVCC-6): a default-CF or write-CF key without `z`.
pub fn encode_mvcc_key(raw: &[u8], ts: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(raw.len()) + TS_LEN);
    encode_bytes_to(&mut out, raw);
    out.extend_from_slice(&encode_u64_desc(ts));
    out
}

/// `z || encode_bytes(raw) || !ts` (MVCC-7): the key as stored in a backup SST.
pub fn encode_data_key(raw: &[u8], ts: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + encoded_len(raw.len()) + TS_LEN);
    encode_data_key_to(&mut out, raw, ts);
    out
}

/// Appends [`encode_data_key`]'s bytes to `out` (scans reuse one buffer).
pub fn encode_data_key_to(out: &mut Vec<u8>, raw: &[u8], ts: u64) {
    out.push(DATA_PREFIX);
    encode_bytes_to(out, raw);
    out.extend_from_slice(&encode_u64_desc(ts));
}

/// Decodes a key with ts (no `z`) into the raw user key and the timestamp. The part before
/// the timestamp must be exactly one memcomparable value (MVCC-3, MVCC-6).
pub fn decode_mvcc_key(key_with_ts: &[u8]) -> Result<(Vec<u8>, u64)> {
    let (encoded, ts) = split_ts(key_with_ts)?;
    Ok((decode_bytes_exact(encoded)?, ts))
}

/// Decodes an SST key (`z` + key with ts) into the raw user key and the timestamp (MVCC-7).
pub fn decode_data_key(sst_key: &[u8]) -> Result<(Vec<u8>, u64)> {
    decode_mvcc_key(strip_data_prefix(sst_key)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bytes::encode_bytes;
    use proptest::prelude::*;

    // Known answers from tikv/tikv components/txn_types/src/types.rs `test_append_ts`.
    #[test]
    fn mvcc_6_append_ts_matches_tikv_known_answers() {
        assert_eq!(
            append_ts(b"abc", 100),
            [b'a', b'b', b'c', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x9B]
        );
        let expected = [
            b'z', 0, 0, 0, 0, 0, 0, 0, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC, 0x17,
        ];
        assert_eq!(append_ts(&encode_bytes(b"z"), 1000), expected);
        assert_eq!(encode_mvcc_key(b"z", 1000), expected);
        assert_eq!(decode_mvcc_key(&expected).unwrap(), (b"z".to_vec(), 1000));
        assert_eq!(split_ts(&expected).unwrap().1, 1000);
    }

    #[test]
    fn mvcc_6_split_ts_rejects_keys_shorter_than_8_bytes() {
        for n in 0..TS_LEN {
            let key = vec![0xFFu8; n];
            assert!(matches!(
                split_ts(&key),
                Err(CodecError::Truncated { needed: 8, .. })
            ));
        }
        assert_eq!(split_ts(&[0xFF; 8]).unwrap(), (&[][..], 0));
    }

    #[test]
    fn mvcc_6_newer_versions_of_a_key_sort_first() {
        let older = encode_mvcc_key(b"k", 10);
        let newer = encode_mvcc_key(b"k", 20);
        assert!(newer < older);
    }

    #[test]
    fn mvcc_7_data_key_has_z_prefix_and_round_trips() {
        let k = encode_data_key(b"t\x80", 7);
        assert_eq!(k[0], b'z');
        assert_eq!(&k[1..], &encode_mvcc_key(b"t\x80", 7)[..]);
        assert_eq!(data_key(&k[1..]), k);
        assert_eq!(decode_data_key(&k).unwrap(), (b"t\x80".to_vec(), 7));
    }

    #[test]
    fn mvcc_7_key_without_z_is_rejected() {
        let k = encode_mvcc_key(b"abc", 1);
        assert!(matches!(
            decode_data_key(&k),
            Err(CodecError::Invalid {
                what: "data key prefix",
                ..
            })
        ));
        assert!(strip_data_prefix(b"").is_err());
    }

    #[test]
    fn mvcc_3_user_key_with_trailing_bytes_is_rejected() {
        // One memcomparable group, two stray bytes, then the timestamp.
        let mut k = encode_bytes(b"abc");
        k.extend_from_slice(&[1, 2]);
        k.extend_from_slice(&encode_u64_desc(5));
        assert!(decode_mvcc_key(&k).is_err());
        // Truncated group.
        let k = encode_mvcc_key(b"abcdefghij", 5);
        assert!(decode_mvcc_key(&k[3..]).is_err());
    }

    proptest! {
        #[test]
        fn mvcc_6_round_trip_and_order(a in proptest::collection::vec(any::<u8>(), 0..40),
                                       b in proptest::collection::vec(any::<u8>(), 0..40),
                                       ta: u64, tb: u64) {
            let (ka, kb) = (encode_mvcc_key(&a, ta), encode_mvcc_key(&b, tb));
            prop_assert_eq!(decode_mvcc_key(&ka).unwrap(), (a.clone(), ta));
            prop_assert_eq!(decode_data_key(&data_key(&ka)).unwrap(), (a.clone(), ta));
            // Keys sort by user key ascending, then by timestamp descending.
            let expected = a.cmp(&b).then(tb.cmp(&ta));
            prop_assert_eq!(ka.cmp(&kb), expected);
        }

        #[test]
        fn mvcc_decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_mvcc_key(&data);
            let _ = decode_data_key(&data);
            let _ = split_ts(&data);
        }
    }
}

// Spec examples of format/mvcc.md, tidb-keys.md and tso.md (all of this helper's chapters).
#[cfg(test)]
#[path = "keys_spec_examples.rs"]
mod spec_examples;
