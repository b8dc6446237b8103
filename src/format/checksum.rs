//! CRC-64/XZ and the crc64xor / total_kvs / total_bytes aggregate (format/checksums.md CSUM-*).
//! `crc64fast` is the crate TiKV itself uses, so results agree bit for bit.

/// CRC-64/XZ of the concatenation of `parts` (CSUM-1).
pub fn crc64(parts: &[&[u8]]) -> u64 {
    let mut d = crc64fast::Digest::new();
    for p in parts {
        d.write(p);
    }
    d.sum64()
}

/// The aggregate BR and TiKV keep per file and per table (CSUM-2, CSUM-3): XOR of per-KV
/// CRC-64s, the number of KVs and the sum of key and value lengths.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Checksum {
    pub crc64xor: u64,
    pub total_kvs: u64,
    pub total_bytes: u64,
}

impl Checksum {
    /// Accounts one KV: `crc64(key || value)` (CSUM-2).
    pub fn update(&mut self, key: &[u8], value: &[u8]) {
        self.crc64xor ^= crc64(&[key, value]);
        self.total_kvs += 1;
        self.total_bytes += (key.len() + value.len()) as u64;
    }

    /// Accounts one KV read from a restored table whose key carries `new_prefix` where the
    /// backup had `old_prefix` (CSUM-6, TiKV's checksum with a rewrite rule): the result equals
    /// what the original cluster computed for the original key. Returns `false` (and accounts
    /// nothing) when `key` does not start with `new_prefix`.
    pub fn update_rewritten(
        &mut self,
        key: &[u8],
        value: &[u8],
        old_prefix: &[u8],
        new_prefix: &[u8],
    ) -> bool {
        let Some(rest) = key.strip_prefix(new_prefix) else {
            return false;
        };
        self.crc64xor ^= crc64(&[old_prefix, rest, value]);
        self.total_kvs += 1;
        self.total_bytes += (old_prefix.len() + rest.len() + value.len()) as u64;
        true
    }

    /// Combines two aggregates (XOR and sums; CSUM-3).
    pub fn merge(&mut self, other: &Checksum) {
        self.crc64xor ^= other.crc64xor;
        self.total_kvs += other.total_kvs;
        self.total_bytes += other.total_bytes;
    }

    /// BR skips the comparison when all three numbers are zero (CSUM-5).
    pub fn is_zero(&self) -> bool {
        *self == Checksum::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // tikv/crc64fast README and the CRC catalogue check value.
    #[test]
    fn csum_1_known_answers() {
        assert_eq!(crc64(&[b"hello world!"]), 0x8483_C0FA_3260_7D61);
        assert_eq!(crc64(&[b"123456789"]), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(&[b"1234", b"56789"]), 0x995D_C9BB_DF19_39FA);
    }

    #[test]
    fn csum_6_rewritten_keys_count_as_the_original() {
        let mut original = Checksum::default();
        original.update(b"t\x80\x01_r\x05", b"row");
        let mut restored = Checksum::default();
        assert!(restored.update_rewritten(b"t\x80\x09_r\x05", b"row", b"t\x80\x01", b"t\x80\x09"));
        assert_eq!(original, restored);
        assert!(!restored.update_rewritten(b"t\x80\x07_r\x05", b"row", b"t\x80\x01", b"t\x80\x09"));
        assert_eq!(restored.total_kvs, 1);
    }

    #[test]
    fn csum_3_merge_is_order_independent() {
        let mut a = Checksum::default();
        a.update(b"k1", b"v1");
        a.update(b"k2", b"v2");
        let mut b = Checksum::default();
        b.update(b"k2", b"v2");
        let mut c = Checksum::default();
        c.update(b"k1", b"v1");
        c.merge(&b);
        assert_eq!(a, c);
        assert_eq!(a.total_kvs, 2);
        assert_eq!(a.total_bytes, 8);
        let mut z = a;
        z.merge(&a);
        assert_eq!(z.crc64xor, 0);
    }
}
