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
        name: snapshot::build_metafile_name(snapshot::MetaFileKind::DataFile, 1),
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

/// Row values: v2 layout, v1 datums, and full typed decoding against the demo's `users`-like
/// schema (every visible column type conversion runs on whatever the input holds).
pub fn row_v2(data: &[u8]) {
    use crate::codec::row::{self, v1, v2::RowV2, Handle, RowDecoder};
    if let Ok(r) = RowV2::decode(data) {
        let _ = r.values().count();
        let _ = r.checksum();
    }
    let _ = v1::decode(data);
    let _ = crate::codec::datum::decode_key(data);
    let _ = crate::codec::mysql::json::Json::decode(
        data.first().copied().unwrap_or(1),
        data.get(1..).unwrap_or_default(),
    );
    thread_local! {
        static DECODER: RowDecoder = RowDecoder::new(&fuzz_table()).expect("the fixed schema is valid");
    }
    DECODER.with(|d| {
        let _ = d.decode(&Handle::Int(1), data);
    });
    let _ = row::is_new_format(data);
}

fn fuzz_table() -> crate::codec::model::TableInfo {
    let col = |id: i64, tp: u8, flag: u32, flen: i64, dec: i64, elems: serde_json::Value| {
        serde_json::json!({"id": id, "name": {"O": format!("c{id}"), "L": format!("c{id}")}, "offset": id - 1, "state": 5,
            "type": {"Tp": tp, "Flag": flag, "Flen": flen, "Decimal": dec, "Charset": "utf8mb4", "Collate": "utf8mb4_bin", "Elems": elems}})
    };
    let cols = vec![
        col(1, 8, 3, 20, 0, serde_json::Value::Null),
        col(2, 3, 32, 10, 0, serde_json::Value::Null),
        col(3, 5, 0, 22, -1, serde_json::Value::Null),
        col(4, 246, 0, 30, 10, serde_json::Value::Null),
        col(5, 12, 0, 26, 6, serde_json::Value::Null),
        col(6, 11, 0, 17, 6, serde_json::Value::Null),
        col(7, 245, 0, 0, 0, serde_json::Value::Null),
        col(8, 247, 0, 1, 0, serde_json::json!(["a", "b", "c"])),
        col(9, 248, 0, 1, 0, serde_json::json!(["x", "y"])),
        col(10, 16, 32, 12, 0, serde_json::Value::Null),
        col(11, 15, 0, 255, 0, serde_json::Value::Null),
        col(12, 13, 32, 4, 0, serde_json::Value::Null),
        col(13, 10, 0, 10, 0, serde_json::Value::Null),
        col(14, 7, 0, 19, 0, serde_json::Value::Null),
        col(15, 4, 0, 12, -1, serde_json::Value::Null),
    ];
    let t = serde_json::json!({"id": 200, "name": {"O": "f", "L": "f"}, "cols": cols, "pk_is_handle": true, "index_info": []});
    crate::codec::model::TableInfo::from_json(&serde_json::to_vec(&t).expect("json"))
        .expect("fixed schema parses")
}

/// The SST reader: open, then scan every entry (with checksum verification on and off).
pub fn sst_reader(data: &[u8]) {
    use crate::format::sst::{SstReadOptions, SstReader};
    for verify_checksums in [true, false] {
        if let Ok(r) = SstReader::open_with(data, SstReadOptions { verify_checksums }) {
            let mut scan = r.scan();
            while let Ok(Some(_)) = scan.next_entry() {}
        }
    }
}
