//! TiDB `VECTOR(FLOAT32)` values: `u32le` dimension then that many `f32le` (format/rows.md
//! VEC-1, VEC-2).

use crate::codec::error::{take, CodecError, Result};

/// TiDB's largest vector dimension (VEC-1).
pub const MAX_DIM: usize = 16383;

/// Decodes one serialized vector from the front of `input` (VEC-1): the dimension must fit
/// the input and 16383, and NaN/infinite elements are damage (TiDB never stores them).
pub fn decode_vector(input: &mut &[u8]) -> Result<Vec<f32>> {
    let h = take(input, 4, "vector dimension")?;
    let n = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
    if n > MAX_DIM {
        return Err(CodecError::invalid(
            "vector dimension",
            format!("{n} exceeds {MAX_DIM} (VEC-1)"),
        ));
    }
    let body = take(input, n * 4, "vector elements")?;
    let v: Vec<f32> = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if v.iter().any(|x| !x.is_finite()) {
        return Err(CodecError::invalid(
            "vector elements",
            "NaN or infinite element (VEC-1)",
        ));
    }
    Ok(v)
}

/// Appends the serialized form of `v` (VEC-1).
pub fn encode_vector(out: &mut Vec<u8>, v: &[f32]) {
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// TiDB's text of a vector (VEC-2): `[` elements in shortest plain float32 form joined by `,`
/// `]`.
pub fn format_vector(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vec_1_layout_and_vec_2_text() {
        let mut b = Vec::new();
        encode_vector(&mut b, &[1.0, 2.5]);
        assert_eq!(b, [2, 0, 0, 0, 0, 0, 0x80, 0x3F, 0, 0, 0x20, 0x40]);
        assert_eq!(decode_vector(&mut &b[..]).unwrap(), [1.0, 2.5]);
        assert_eq!(format_vector(&[1.0, 2.5, -0.125]), "[1,2.5,-0.125]");
        assert_eq!(format_vector(&[]), "[]");
    }

    #[test]
    fn vec_1_rejects_damage() {
        assert!(decode_vector(&mut &[2, 0, 0, 0, 0, 0, 0x80][..]).is_err());
        assert!(decode_vector(&mut &[0xFF, 0xFF, 0, 0][..]).is_err());
        let mut b = Vec::new();
        encode_vector(&mut b, &[f32::NAN]);
        assert!(decode_vector(&mut &b[..]).is_err());
    }

    proptest! {
        #[test]
        fn vec_1_round_trip(v in proptest::collection::vec(-1e30f32..1e30, 0..20)) {
            let mut b = Vec::new();
            encode_vector(&mut b, &v);
            let mut cur = &b[..];
            prop_assert_eq!(decode_vector(&mut cur).unwrap(), v);
            prop_assert!(cur.is_empty());
        }
    }
}
