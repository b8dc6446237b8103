//! AES-CTR as BR and TiKV use it (format/encryption.md CRYPT-*): methods and key lengths,
//! 16-byte IVs, the whole 128-bit block big-endian as the counter (RustCrypto `Ctr128BE`, the
//! same stream as Go's `cipher.NewCTR` and TiKV's `Iv::add_offset`).

use super::error::{FormatError, Result};
use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

/// Length of every CTR IV (CRYPT-2).
pub const IV_LEN: usize = 16;

/// `encryptionpb.EncryptionMethod` (CRYPT-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherMethod {
    Plaintext,
    Aes128Ctr,
    Aes192Ctr,
    Aes256Ctr,
}

impl CipherMethod {
    /// From the protobuf enum value; UNKNOWN (0) and SM4 (5) are rejected with the field named.
    pub fn from_proto(v: i32) -> Result<Self> {
        match v {
            1 => Ok(CipherMethod::Plaintext),
            2 => Ok(CipherMethod::Aes128Ctr),
            3 => Ok(CipherMethod::Aes192Ctr),
            4 => Ok(CipherMethod::Aes256Ctr),
            other => Err(FormatError::unknown_version(
                "CRYPT-1",
                "EncryptionMethod",
                other as u64,
                "1 PLAINTEXT, 2 AES128_CTR, 3 AES192_CTR, 4 AES256_CTR",
            )),
        }
    }

    /// The protobuf enum value.
    pub fn to_proto(self) -> i32 {
        match self {
            CipherMethod::Plaintext => 1,
            CipherMethod::Aes128Ctr => 2,
            CipherMethod::Aes192Ctr => 3,
            CipherMethod::Aes256Ctr => 4,
        }
    }

    /// BR's `--crypter.method` spelling: `plaintext`, `aes128-ctr`, `aes192-ctr`, `aes256-ctr`.
    pub fn parse_flag(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "plaintext" => Some(CipherMethod::Plaintext),
            "aes128-ctr" => Some(CipherMethod::Aes128Ctr),
            "aes192-ctr" => Some(CipherMethod::Aes192Ctr),
            "aes256-ctr" => Some(CipherMethod::Aes256Ctr),
            _ => None,
        }
    }

    /// The flag spelling [`CipherMethod::parse_flag`] accepts.
    pub fn flag_name(self) -> &'static str {
        match self {
            CipherMethod::Plaintext => "plaintext",
            CipherMethod::Aes128Ctr => "aes128-ctr",
            CipherMethod::Aes192Ctr => "aes192-ctr",
            CipherMethod::Aes256Ctr => "aes256-ctr",
        }
    }

    /// Key length in bytes (CRYPT-1).
    pub fn key_len(self) -> usize {
        match self {
            CipherMethod::Plaintext => 0,
            CipherMethod::Aes128Ctr => 16,
            CipherMethod::Aes192Ctr => 24,
            CipherMethod::Aes256Ctr => 32,
        }
    }
}

/// A method with its key: what `--crypter.method/--crypter.key` give.
#[derive(Clone, PartialEq, Eq)]
pub struct Cipher {
    pub method: CipherMethod,
    key: Vec<u8>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Cipher")
            .field("method", &self.method)
            .finish()
    }
}

impl Cipher {
    /// No encryption.
    pub fn plaintext() -> Self {
        Cipher {
            method: CipherMethod::Plaintext,
            key: Vec::new(),
        }
    }

    /// Checks the key length against the method (CRYPT-1).
    pub fn new(method: CipherMethod, key: Vec<u8>) -> Result<Self> {
        if key.len() != method.key_len() {
            return Err(FormatError::invalid(
                "CRYPT-1",
                "crypter.key",
                format!(
                    "{:?} needs a {}-byte key, got {} bytes",
                    method,
                    method.key_len(),
                    key.len()
                ),
            ));
        }
        Ok(Cipher { method, key })
    }

    /// True when data is really encrypted (not PLAINTEXT).
    pub fn is_encrypted(&self) -> bool {
        self.method != CipherMethod::Plaintext
    }

    /// The method.
    pub fn method(&self) -> CipherMethod {
        self.method
    }

    /// The raw key bytes (for protobuf `CipherInfo`, never for logs).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// XORs the CTR key stream starting at byte `offset` of the stream into `data` (CRYPT-2).
    /// Encryption and decryption are the same operation. PLAINTEXT leaves `data` unchanged.
    pub fn apply_at(&self, iv: &[u8], offset: u64, data: &mut [u8]) -> Result<()> {
        if !self.is_encrypted() {
            return Ok(());
        }
        let iv: &[u8; IV_LEN] = iv.try_into().map_err(|_| {
            FormatError::invalid(
                "CRYPT-2",
                "cipher_iv",
                format!("IV must be 16 bytes, got {}", iv.len()),
            )
        })?;
        macro_rules! run {
            ($aes:ty) => {{
                let mut c = ctr::Ctr128BE::<$aes>::new(self.key.as_slice().into(), iv.into());
                c.seek(offset);
                c.apply_keystream(data);
            }};
        }
        match self.method {
            CipherMethod::Aes128Ctr => run!(aes::Aes128),
            CipherMethod::Aes192Ctr => run!(aes::Aes192),
            CipherMethod::Aes256Ctr => run!(aes::Aes256),
            CipherMethod::Plaintext => {}
        }
        Ok(())
    }

    /// Encrypts or decrypts a whole stream from offset 0 (CRYPT-2).
    pub fn apply(&self, iv: &[u8], data: &mut [u8]) -> Result<()> {
        self.apply_at(iv, 0, data)
    }
}

/// A fresh random IV (CRYPT-2).
pub fn random_iv() -> [u8; IV_LEN] {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    // NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt), first block: the counter block is the whole
    // 128-bit IV, incremented big-endian, as CRYPT-2 requires.
    #[test]
    fn crypt_2_nist_ctr_vector() {
        let key = hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap();
        let iv = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").unwrap();
        let mut data =
            hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
                .unwrap();
        let c = Cipher::new(CipherMethod::Aes128Ctr, key).unwrap();
        c.apply(&iv, &mut data).unwrap();
        assert_eq!(
            hex::encode(&data),
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        );
    }

    #[test]
    fn crypt_2_seek_matches_stream() {
        let c = Cipher::new(CipherMethod::Aes256Ctr, vec![7; 32]).unwrap();
        let iv = [0xFFu8; 16]; // counter wraps around inside the stream
        let mut whole = vec![0u8; 100];
        c.apply(&iv, &mut whole).unwrap();
        let mut tail = vec![0u8; 63];
        c.apply_at(&iv, 37, &mut tail).unwrap();
        assert_eq!(&whole[37..], &tail[..]);
    }

    #[test]
    fn crypt_1_rejects_wrong_key_length_and_unknown_method() {
        assert!(Cipher::new(CipherMethod::Aes192Ctr, vec![0; 16]).is_err());
        assert!(CipherMethod::from_proto(5).is_err());
        assert!(CipherMethod::from_proto(0).is_err());
        assert_eq!(
            CipherMethod::parse_flag("AES256-CTR"),
            Some(CipherMethod::Aes256Ctr)
        );
    }
}
