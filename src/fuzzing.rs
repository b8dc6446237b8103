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
        assert_eq!(
            snapshot::format_sst_name(&n),
            s,
            "SST name does not rebuild"
        );
    }
    if let Ok((kind, seq)) = snapshot::parse_metafile_name(&s) {
        if kind != snapshot::MetaFileKind::Stats {
            assert_eq!(
                snapshot::build_metafile_name(kind, seq),
                s,
                "metafile name does not rebuild"
            );
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
        assert_eq!(
            bytes::encode_bytes(&raw),
            &data[..consumed],
            "memcomparable does not rebuild"
        );
    }
    let _ = bytes::decode_bytes_desc(&mut &data[..]);
    let _ = number::decode_var_u64(&mut &data[..]);
    let _ = number::decode_var_i64(&mut &data[..]);
    if let Ok((raw, ts)) = mvcc::decode_mvcc_key(data) {
        assert_eq!(
            mvcc::encode_mvcc_key(&raw, ts),
            data,
            "MVCC key does not rebuild"
        );
    }
}

/// Log object names: whatever parses must rebuild to a name that parses the same.
fn log_naming(s: &str) {
    use crate::format::naming::log;
    if let Ok(n) = log::parse_meta_path(s) {
        assert_eq!(
            log::parse_meta_path(&n.path()).expect("rebuilt .meta name parses"),
            n
        );
    }
    if let Ok(n) = log::parse_log_data_path(s) {
        let again = log::format_log_data_path(&n);
        assert_eq!(
            log::parse_log_data_path(&again).expect("rebuilt data name parses"),
            n
        );
    }
    if let Ok(store) = log::parse_global_checkpoint_path(s) {
        assert_eq!(
            log::parse_global_checkpoint_path(&log::build_global_checkpoint_path(store)).ok(),
            Some(store)
        );
    }
}

/// `.meta` documents: what decodes must encode to a document that decodes the same.
pub fn log_meta(data: &[u8]) {
    use crate::format::logmeta::{
        decode_global_checkpoint, decode_log_meta, decode_truncate_safepoint, encode_log_meta,
    };
    if let Ok(m) = decode_log_meta(data) {
        let again = encode_log_meta(&m);
        assert_eq!(
            decode_log_meta(&again).expect("re-encoded .meta decodes"),
            m
        );
    }
    let _ = decode_global_checkpoint(data);
    let _ = decode_truncate_safepoint(data);
}

/// Log data: the input as an event stream, and as a group object holding one zstd sub-file
/// whose declared length comes from the first four bytes (exercises the decompression cap).
pub fn log_file(data: &[u8]) {
    use crate::format::logfile::{build_sub_file, decode_events, decode_sub_file, SubFileSpec};
    use crate::format::logmeta::{EventKind, LogCompression};
    let _ = decode_events(data);
    let spec = SubFileSpec {
        region_id: 1,
        cf: snapshot::Cf::Write,
        kind: EventKind::Put,
        is_meta: false,
        table_id: 1,
        resolved_ts: 0,
        region_start_key: Vec::new(),
        region_end_key: Vec::new(),
        region_epochs: Vec::new(),
        compression: LogCompression::Zstd,
    };
    let key = mvcc::encode_mvcc_key(b"t\x80\0\0\0\0\0\0\x01_r", 5);
    let Ok((_, mut f)) = build_sub_file(
        &spec,
        &[(key, b"P\x01".to_vec())],
        &Cipher::plaintext(),
        [0; 16],
    ) else {
        panic!("a fixed valid sub-file must build");
    };
    f.range_offset = 0;
    f.range_length = data.len() as u64;
    f.length = data.get(..4).map_or(0, |b| {
        u32::from_le_bytes(b.try_into().expect("4 bytes")) as u64 % (1 << 20)
    });
    let _ = decode_sub_file(data, &f, &Cipher::plaintext());
}
