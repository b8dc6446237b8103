//! Entry points of the fuzz targets in `fuzz/` and of their corpus replay in
//! `tests/fuzz_corpus.rs`: one function per decoder. Each takes arbitrary bytes, must return
//! without panicking, and asserts the round-trip properties that hold for accepted input (a
//! failed assertion is a crash the fuzzer reports).

use crate::codec::{bytes, mvcc, number, write::Write};
use crate::format::backupmeta::{decode_backupmeta, decode_metafile, MetaPointer};
use crate::format::crypto::{Cipher, CipherMethod};
use crate::format::lock::check_lock;
use crate::format::naming::{check_relative_name, snapshot};
use sha2::{Digest, Sha256};

/// Every name parser of the naming module; accepted names must rebuild to themselves.
pub fn naming(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = check_relative_name(&s);
    if let Ok(n) = snapshot::parse_sst_name(&s) {
        assert_eq!(snapshot::format_sst_name(&n), s, "SST name does not rebuild");
    }
    if let Ok((kind, seq)) = snapshot::parse_metafile_name(&s) {
        if kind != snapshot::MetaFileKind::Stats {
            assert_eq!(snapshot::build_metafile_name(kind, seq), s, "metafile name does not rebuild");
        }
    }
    log_naming(&s);
}

fn aes_cipher() -> Cipher {
    Cipher::new(CipherMethod::Aes128Ctr, vec![0x42; 16]).expect("16-byte key")
}

/// `backupmeta`, plain and encrypted.
pub fn backupmeta(data: &[u8]) {
    let _ = decode_backupmeta(data, &Cipher::plaintext());
    let _ = decode_backupmeta(data, &aes_cipher());
}

/// A leaf metafile whose pointer matches it (so decoding gets past the SHA-256 check).
pub fn metafile(data: &[u8]) {
    let p = MetaPointer {
        name: "backupmeta.datafile.000000001".into(),
        sha256: Sha256::digest(data).to_vec(),
        size: data.len() as u64,
        cipher_iv: Vec::new(),
    };
    let _ = decode_metafile(data, &p, &Cipher::plaintext());
}

/// `backup.lock`.
pub fn lock(data: &[u8]) {
    let _ = check_lock(data);
}

/// Write records: what decodes must re-encode to a record that decodes the same.
pub fn write_record(data: &[u8]) {
    if let Ok(w) = Write::decode(data) {
        if let Ok(again) = w.encode() {
            assert_eq!(Write::decode(&again).expect("re-encoded record decodes"), w);
        }
    }
}

/// Memcomparable bytes, numbers and MVCC keys: what decodes must re-encode to the same bytes.
pub fn memcomparable(data: &[u8]) {
    let mut input = data;
    if let Ok(raw) = bytes::decode_bytes(&mut input) {
        let consumed = data.len() - input.len();
        assert_eq!(bytes::encode_bytes(&raw), &data[..consumed], "memcomparable does not rebuild");
    }
    let _ = bytes::decode_bytes_desc(&mut &data[..]);
    let _ = number::decode_var_u64(&mut &data[..]);
    let _ = number::decode_var_i64(&mut &data[..]);
    if let Ok((raw, ts)) = mvcc::decode_mvcc_key(data) {
        assert_eq!(mvcc::encode_mvcc_key(&raw, ts), data, "MVCC key does not rebuild");
    }
}
