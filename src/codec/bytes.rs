//! Memcomparable byte strings (TiKV `encode_bytes`), ascending and descending.
//! Rules: format/mvcc.md MVCC-1 … MVCC-3.

use super::error::{CodecError, Result};

const GROUP: usize = 8;
const MARKER: u8 = 0xFF;
const PAD: u8 = 0x00;

/// Encoded length of `n` raw bytes (MVCC-1): `(n / 8 + 1) * 9`.
pub fn encoded_len(n: usize) -> usize {
    (n / GROUP + 1) * (GROUP + 1)
}

/// Appends the ascending memcomparable encoding of `raw` to `out` (MVCC-1).
pub fn encode_bytes_to(out: &mut Vec<u8>, raw: &[u8]) {
    out.reserve(encoded_len(raw.len()));
    let mut chunks = raw.chunks_exact(GROUP);
    for chunk in &mut chunks {
        out.extend_from_slice(chunk);
        out.push(MARKER);
    }
    let rest = chunks.remainder();
    out.extend_from_slice(rest);
    let pad = GROUP - rest.len();
    out.extend(std::iter::repeat_n(PAD, pad));
    out.push(MARKER - pad as u8);
}

/// Ascending memcomparable encoding of `raw` (MVCC-1).
pub fn encode_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(raw.len()));
    encode_bytes_to(&mut out, raw);
    out
}

/// Descending encoding: the ascending one with every byte inverted (MVCC-2).
pub fn encode_bytes_desc(raw: &[u8]) -> Vec<u8> {
    let mut out = encode_bytes(raw);
    for b in &mut out {
        *b = !*b;
    }
    out
}

/// Decodes one ascending memcomparable value from the front of `input`, advancing it.
/// Rejects a marker implying more than 8 pad bytes, non-zero padding and truncation (MVCC-3).
pub fn decode_bytes(input: &mut &[u8]) -> Result<Vec<u8>> {
    decode_impl(input, false)
}

/// Decodes one descending memcomparable value from the front of `input` (MVCC-2, MVCC-3).
pub fn decode_bytes_desc(input: &mut &[u8]) -> Result<Vec<u8>> {
    decode_impl(input, true)
}

/// Decodes a complete ascending encoding: trailing bytes are an error.
pub fn decode_bytes_exact(mut input: &[u8]) -> Result<Vec<u8>> {
    let v = decode_bytes(&mut input)?;
    if !input.is_empty() {
        return Err(CodecError::invalid(
            "memcomparable bytes",
            format!("{} trailing bytes after the terminating group", input.len()),
        ));
    }
    Ok(v)
}

fn decode_impl(input: &mut &[u8], desc: bool) -> Result<Vec<u8>> {
    let flip = if desc { 0xFF } else { 0x00 };
    let mut out = Vec::with_capacity(input.len() / (GROUP + 1) * GROUP);
    let mut rest = *input;
    loop {
        if rest.len() < GROUP + 1 {
            return Err(CodecError::Truncated {
                what: "memcomparable bytes group",
                needed: GROUP + 1,
                available: rest.len(),
            });
        }
        let (group, tail) = rest.split_at(GROUP + 1);
        rest = tail;
        let marker = group[GROUP] ^ flip;
        if marker == MARKER {
            out.extend(group[..GROUP].iter().map(|b| b ^ flip));
            continue;
        }
        let pad = (MARKER - marker) as usize;
        if pad > GROUP {
            return Err(CodecError::invalid(
                "memcomparable bytes",
                format!(
                    "marker {:#04x} implies {pad} pad bytes (at most 8)",
                    group[GROUP]
                ),
            ));
        }
        let real = GROUP - pad;
        if group[real..GROUP].iter().any(|b| b ^ flip != PAD) {
            return Err(CodecError::invalid(
                "memcomparable bytes",
                "non-zero padding byte",
            ));
        }
        out.extend(group[..real].iter().map(|b| b ^ flip));
        *input = rest;
        return Ok(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Known answers from tikv/tikv components/tikv_util/src/codec/bytes.rs `test_enc_dec_bytes`.
    #[test]
    fn mvcc_1_matches_tikv_known_answers() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", &[0, 0, 0, 0, 0, 0, 0, 0, 0xF7]),
            (&[0], &[0, 0, 0, 0, 0, 0, 0, 0, 0xF8]),
            (&[1, 2, 3], &[1, 2, 3, 0, 0, 0, 0, 0, 0xFA]),
            (&[1, 2, 3, 4, 5, 6, 7], &[1, 2, 3, 4, 5, 6, 7, 0, 0xFE]),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8],
                &[1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0xF7],
            ),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8, 9],
                &[1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 9, 0, 0, 0, 0, 0, 0, 0, 0xF8],
            ),
        ];
        for (raw, enc) in cases {
            assert_eq!(encode_bytes(raw), *enc);
            assert_eq!(decode_bytes_exact(enc).unwrap(), *raw);
            let desc = encode_bytes_desc(raw);
            assert!(desc.iter().zip(enc.iter()).all(|(d, a)| *d == !*a));
            assert_eq!(decode_bytes_desc(&mut &desc[..]).unwrap(), *raw);
        }
    }

    // Invalid inputs from tikv `test_dec_bytes_fail`.
    #[test]
    fn mvcc_3_rejects_invalid_encodings() {
        let bad: &[&[u8]] = &[
            &[1, 2, 3, 4],
            &[0, 0, 0, 0, 0, 0, 0, 0xF7],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0xF6],
            &[0, 0, 0, 0, 0, 0, 0, 1, 0xF8],
            &[1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 1],
            &[1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 1, 2, 3, 4],
            &[1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8],
            &[1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8, 0xFF],
            &[1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8, 0xF0],
        ];
        for b in bad {
            assert!(decode_bytes(&mut &b[..]).is_err(), "accepted {b:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trip_and_order(a in proptest::collection::vec(any::<u8>(), 0..40),
                                b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let (ea, eb) = (encode_bytes(&a), encode_bytes(&b));
            prop_assert_eq!(ea.len(), encoded_len(a.len()));
            prop_assert_eq!(decode_bytes_exact(&ea).unwrap(), a.clone());
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
            let (da, db) = (encode_bytes_desc(&a), encode_bytes_desc(&b));
            prop_assert_eq!(a.cmp(&b), db.cmp(&da));
        }

        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_bytes(&mut &data[..]);
            let _ = decode_bytes_desc(&mut &data[..]);
        }
    }
}
