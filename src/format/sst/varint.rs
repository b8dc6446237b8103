//! LEB128 varints as RocksDB writes them (`util/coding.h`), decoded at a position in a slice.
//! A private hot-path helper of the SST reader: `None` means truncated or over-long, and the
//! caller turns that into a FormatError naming the field.

/// A byte position inside a block or file slice.
pub type Pos = usize;

/// Decodes a varint32 at `*pos`, advancing it. Over-long (> 5 bytes) or > u32 ⇒ `None`.
#[inline(always)]
pub fn read_varint32(buf: &[u8], pos: &mut Pos) -> Option<u32> {
    let b0 = *buf.get(*pos)?;
    if b0 < 0x80 {
        *pos += 1;
        return Some(b0 as u32);
    }
    let v = read_varint64_slow(buf, pos, 5)?;
    u32::try_from(v).ok()
}

/// Decodes a varint64 at `*pos`, advancing it. Over-long (> 10 bytes) ⇒ `None`.
#[inline]
pub fn read_varint64(buf: &[u8], pos: &mut Pos) -> Option<u64> {
    read_varint64_slow(buf, pos, 10)
}

fn read_varint64_slow(buf: &[u8], pos: &mut Pos, max_len: usize) -> Option<u64> {
    let mut result: u64 = 0;
    let mut p = *pos;
    for i in 0..max_len {
        let b = *buf.get(p)?;
        p += 1;
        let shift = 7 * i as u32;
        let part = (b & 0x7f) as u64;
        if shift == 63 && part > 1 {
            return None;
        }
        result |= part << shift;
        if b < 0x80 {
            *pos = p;
            return Some(result);
        }
    }
    None
}

/// Decodes a zigzag varint64 (`GetVarsignedint64`).
pub fn read_varsigned64(buf: &[u8], pos: &mut Pos) -> Option<i64> {
    let u = read_varint64(buf, pos)?;
    Some(((u >> 1) as i64) ^ -((u & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_limits() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            crate::codec::number::encode_var_u64(&mut out, v);
            let mut p = 0;
            assert_eq!(read_varint64(&out, &mut p), Some(v));
            assert_eq!(p, out.len());
            let mut p = 0;
            assert_eq!(read_varint32(&out, &mut p), u32::try_from(v).ok());
        }
        let mut p = 0;
        assert_eq!(read_varint64(&[0x80, 0x80], &mut p), None);
        assert_eq!(read_varint64(&[0xff; 11], &mut p), None);
        let mut p = 0;
        assert_eq!(read_varsigned64(&[3], &mut p), Some(-2));
    }
}
