//! SHA-256 for the file-level audit. The `sha2` crate's portable code reaches about half of
//! OpenSSL's speed on CPUs without SHA-NI; aws-lc-rs (AWS-LC's assembly, already linked for
//! TLS to object stores) runs at OpenSSL's speed, which is what the file level needs to beat
//! `sha256sum` by the margin format/verify.md sets (VERIFY-BENCH-1).

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn agrees_with_sha2_on_the_nist_vector_and_random_data() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let data: Vec<u8> = (0..100_003u32)
            .map(|i| i.wrapping_mul(2_654_435_761) as u8)
            .collect();
        assert_eq!(sha256(&data)[..], sha2::Sha256::digest(&data)[..]);
    }
}
