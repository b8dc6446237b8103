//! Fixed-width and variable-width integer and float codecs used by TiKV and TiDB.
//! Rules: format/mvcc.md MVCC-4 (comparable numbers), MVCC-5 (varints).

use super::error::{take, CodecError, Result};

const SIGN_MASK: u64 = 0x8000_0000_0000_0000;

/// Big-endian u64 (MVCC-4).
pub fn encode_u64(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

/// Big-endian of `!v`: larger values sort first (MVCC-4; used for timestamps in keys).
pub fn encode_u64_desc(v: u64) -> [u8; 8] {
    (!v).to_be_bytes()
}

/// Comparable i64: big-endian of `v ^ 0x8000_0000_0000_0000` (MVCC-4).
pub fn encode_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ SIGN_MASK).to_be_bytes()
}

/// Comparable f64 (MVCC-4): sign bit clear → set it; sign bit set → invert all bits.
pub fn encode_f64(v: f64) -> [u8; 8] {
    let u = v.to_bits();
    let u = if u & SIGN_MASK == 0 {
        u | SIGN_MASK
    } else {
        !u
    };
    u.to_be_bytes()
}

fn read8(input: &mut &[u8], what: &'static str) -> Result<u64> {
    let b = take(input, 8, what)?;
    Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
}

/// Decodes [`encode_u64`] from the front of `input`.
pub fn decode_u64(input: &mut &[u8]) -> Result<u64> {
    read8(input, "u64")
}

/// Decodes [`encode_u64_desc`] from the front of `input`.
pub fn decode_u64_desc(input: &mut &[u8]) -> Result<u64> {
    Ok(!read8(input, "u64 desc")?)
}

/// Decodes [`encode_i64`] from the front of `input`.
pub fn decode_i64(input: &mut &[u8]) -> Result<i64> {
    Ok((read8(input, "comparable i64")? ^ SIGN_MASK) as i64)
}

/// Decodes [`encode_f64`] from the front of `input`.
pub fn decode_f64(input: &mut &[u8]) -> Result<f64> {
    let u = read8(input, "comparable f64")?;
    let u = if u & SIGN_MASK != 0 {
        u & !SIGN_MASK
    } else {
        !u
    };
    Ok(f64::from_bits(u))
}

/// Appends an unsigned LEB128 varint (MVCC-5).
pub fn encode_var_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a zig-zag signed varint (MVCC-5).
pub fn encode_var_i64(out: &mut Vec<u8>, v: i64) {
    encode_var_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Decodes an unsigned LEB128 varint of at most 10 bytes (MVCC-5).
pub fn decode_var_u64(input: &mut &[u8]) -> Result<u64> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let Some((&b, rest)) = input.split_first() else {
            return Err(CodecError::Truncated {
                what: "varint",
                needed: 1,
                available: 0,
            });
        };
        *input = rest;
        if i == 9 && b > 1 {
            return Err(CodecError::invalid("varint", "overflows 64 bits"));
        }
        v |= u64::from(b & 0x7F) << (7 * i);
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(CodecError::invalid("varint", "longer than 10 bytes"))
}

/// Decodes a zig-zag signed varint (MVCC-5).
pub fn decode_var_i64(input: &mut &[u8]) -> Result<i64> {
    let u = decode_var_u64(input)?;
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mvcc_4_known_answers() {
        assert_eq!(encode_i64(1), [0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            encode_i64(-1),
            [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            encode_u64_desc(1000),
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC, 0x17]
        );
        // From tikv encoder_for_test.rs: 1.8 and -1.8 as comparable f64.
        assert_eq!(
            encode_f64(1.8),
            [0xBF, 0xFC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCD]
        );
        assert_eq!(
            encode_f64(-1.8),
            [0x40, 0x03, 0x33, 0x33, 0x33, 0x33, 0x33, 0x32]
        );
        let mut v = Vec::new();
        encode_var_u64(&mut v, 300);
        assert_eq!(v, [0xAC, 0x02]);
        v.clear();
        encode_var_i64(&mut v, -1);
        assert_eq!(v, [0x01]);
    }

    #[test]
    fn mvcc_5_rejects_overlong_varints() {
        assert!(decode_var_u64(&mut &[0xFF; 11][..]).is_err());
        assert!(decode_var_u64(&mut &[0x80][..]).is_err());
        let mut max = [0xFFu8; 10];
        max[9] = 0x01;
        assert_eq!(decode_var_u64(&mut &max[..]).unwrap(), u64::MAX);
        max[9] = 0x02;
        assert!(decode_var_u64(&mut &max[..]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips_keep_order(a: i64, b: i64, x: u64, f in any::<f64>().prop_filter("not nan", |f| !f.is_nan())) {
            prop_assert_eq!(a.cmp(&b), encode_i64(a).cmp(&encode_i64(b)));
            prop_assert_eq!(decode_i64(&mut &encode_i64(a)[..]).unwrap(), a);
            prop_assert_eq!(decode_u64_desc(&mut &encode_u64_desc(x)[..]).unwrap(), x);
            prop_assert_eq!(decode_f64(&mut &encode_f64(f)[..]).unwrap().to_bits(), f.to_bits());
            let mut v = Vec::new();
            encode_var_u64(&mut v, x);
            encode_var_i64(&mut v, a);
            let mut s = &v[..];
            prop_assert_eq!(decode_var_u64(&mut s).unwrap(), x);
            prop_assert_eq!(decode_var_i64(&mut s).unwrap(), a);
            prop_assert!(s.is_empty());
        }
    }
}
