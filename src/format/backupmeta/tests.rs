//! Tests of the backupmeta codec: round trips through the writer and reader for V1 and V2,
//! plain and encrypted, and one damaged-input case per reader check.

use super::*;
use crate::format::crypto::CipherMethod;
use proptest::prelude::*;

fn file(i: u64, cf: Cf) -> DataFile {
    DataFile {
        name: format!(
            "1/{i}_1_{}_{}_{}.sst",
            "a".repeat(64),
            1_700_000_000_000u64 + i,
            cf.as_str()
        ),
        sha256: vec![i as u8; 32],
        start_key: format!("t{i}").into_bytes(),
        end_key: format!("t{}", i + 1).into_bytes(),
        start_version: 0,
        end_version: 42,
        checksum: Checksum {
            crc64xor: i * 7,
            total_kvs: i,
            total_bytes: i * 10,
        },
        cf,
        size: 1000 + i,
        cipher_iv: vec![9; 16],
    }
}

fn schema(i: u64) -> SchemaEntry {
    SchemaEntry {
        db_json: br#"{"id":2,"db_name":{"O":"test","L":"test"}}"#.to_vec(),
        table_json: Some(format!(r#"{{"id":{i},"name":{{"O":"t{i}","L":"t{i}"}}}}"#).into_bytes()),
        checksum: Checksum {
            crc64xor: i,
            total_kvs: 1,
            total_bytes: 2,
        },
        tiflash_replicas: 0,
    }
}

struct Written {
    objects: Vec<EncodedObject>,
    root: EncodedObject,
}

fn write(
    version: MetaVersion,
    cipher: &Cipher,
    split: usize,
    nfiles: u64,
    nschemas: u64,
) -> Written {
    let mut w = MetaWriter::with_split(version, cipher.clone(), split);
    let mut objects = Vec::new();
    for i in 0..nfiles {
        objects.extend(
            w.add_data_file(&file(i, if i % 2 == 0 { Cf::Default } else { Cf::Write }))
                .unwrap(),
        );
    }
    objects.extend(w.flush().unwrap());
    for i in 0..nschemas {
        objects.extend(w.add_schema(&schema(100 + i)).unwrap());
    }
    let header = RootHeader {
        cluster_id: 7,
        cluster_version: "8.5.0".into(),
        end_version: 42,
        ..Default::default()
    };
    let (last, root) = w.finish(&header).unwrap();
    objects.extend(last);
    Written { objects, root }
}

fn read_all(w: &Written, cipher: &Cipher) -> (BackupMeta, Vec<DataFile>, Vec<SchemaEntry>) {
    let meta = decode_backupmeta(&w.root.bytes, cipher).unwrap();
    let mut files = meta.files.clone();
    let mut schemas = meta.schemas.clone();
    for p in meta.file_index.iter().chain(&meta.schema_index) {
        let obj = w
            .objects
            .iter()
            .find(|o| o.name == p.name)
            .expect("pointer to a written object");
        let c = decode_metafile(&obj.bytes, p, cipher).unwrap();
        files.extend(c.data_files);
        schemas.extend(c.schemas);
    }
    (meta, files, schemas)
}

fn aes() -> Cipher {
    Cipher::new(CipherMethod::Aes256Ctr, (0..32).collect()).unwrap()
}

#[test]
fn meta_v2_2_shared_counter_and_split() {
    let w = write(MetaVersion::V2, &Cipher::plaintext(), 2_000, 100, 30);
    let names: Vec<&str> = w.objects.iter().map(|o| o.name.as_str()).collect();
    assert!(names.len() > 3, "split threshold produced {names:?}");
    for (i, n) in names.iter().enumerate() {
        assert!(
            n.ends_with(&format!(".{:09}", i + 1)),
            "{n} is not sequence {}",
            i + 1
        );
    }
    let first_schema = names
        .iter()
        .position(|n| n.starts_with("backupmeta.schema."))
        .unwrap();
    assert!(names[..first_schema]
        .iter()
        .all(|n| n.starts_with("backupmeta.datafile.")));
    assert!(names[first_schema..]
        .iter()
        .all(|n| n.starts_with("backupmeta.schema.")));
    let (meta, files, schemas) = read_all(&w, &Cipher::plaintext());
    assert_eq!(meta.version, MetaVersion::V2);
    assert!(meta.files.is_empty() && meta.schemas.is_empty());
    assert_eq!(
        files,
        (0..100)
            .map(|i| file(i, if i % 2 == 0 { Cf::Default } else { Cf::Write }))
            .collect::<Vec<_>>()
    );
    assert_eq!(schemas.len(), 30);
}

#[test]
fn meta_6_v1_keeps_everything_inline() {
    let w = write(MetaVersion::V1, &Cipher::plaintext(), 10, 10, 3);
    assert!(w.objects.is_empty());
    let (meta, files, schemas) = read_all(&w, &Cipher::plaintext());
    assert_eq!(meta.version, MetaVersion::V1);
    assert_eq!((files.len(), schemas.len()), (10, 3));
    assert_eq!(meta.ddls, b"[]");
    assert_eq!(meta.end_version, 42);
}

#[test]
fn crypt_3_crypt_4_encrypted_round_trip_and_wrong_key() {
    let c = aes();
    let w = write(MetaVersion::V2, &c, 3_000, 50, 5);
    let (_, files, schemas) = read_all(&w, &c);
    assert_eq!((files.len(), schemas.len()), (50, 5));
    // The root is IV || ciphertext: read without the key it is not the same document.
    let as_plain = decode_backupmeta(&w.root.bytes, &Cipher::plaintext());
    assert!(as_plain.map(|m| m.end_version != 42).unwrap_or(true));
    let decrypted = decrypt_backupmeta(&w.root.bytes, &c).unwrap();
    assert_eq!(decrypted.len(), w.root.bytes.len() - 16);
    let wrong = Cipher::new(CipherMethod::Aes256Ctr, vec![1; 32]).unwrap();
    let meta = decode_backupmeta(&w.root.bytes, &c).unwrap();
    let p = &meta.file_index[0];
    let obj = w.objects.iter().find(|o| o.name == p.name).unwrap();
    let err = decode_metafile(&obj.bytes, p, &wrong).unwrap_err();
    assert_eq!(err.rule, Some("META-V2-3"));
    assert!(err.to_string().contains("SHA-256"), "{err}");
}

#[test]
fn meta_5_backup_size_counts_data_metafiles_and_root() {
    let w = write(MetaVersion::V2, &Cipher::plaintext(), 1_000, 20, 2);
    let meta = decode_backupmeta(&w.root.bytes, &Cipher::plaintext()).unwrap();
    let data: u64 = (0..20).map(|i| file(i, Cf::Default).size).sum();
    let metafiles: u64 = w.objects.iter().map(|o| o.bytes.len() as u64).sum();
    // The root's size before backup_size is set: the encoding minus that field (field 25:
    // a 2-byte tag, then the varint).
    let field_len = 2 + prost::encoding::encoded_len_varint(meta.backup_size);
    let root_len = w.root.bytes.len() as u64 - field_len as u64;
    assert_eq!(meta.backup_size, data + metafiles + root_len);
}

#[test]
fn meta_1_unknown_version_is_rejected() {
    let m = pb::BackupMeta {
        version: 7,
        end_version: 1,
        ..Default::default()
    };
    let err = decode_backupmeta(&m.encode_to_vec(), &Cipher::plaintext()).unwrap_err();
    assert_eq!(err.rule, Some("META-1"));
    assert_eq!(err.file.as_deref(), Some("backupmeta"));
    assert!(err.to_string().contains("unknown version 7"), "{err}");
}

#[test]
fn meta_2_newer_schema_version_is_rejected() {
    let m = pb::BackupMeta {
        backup_schema_version: 2,
        ..Default::default()
    };
    let err = decode_backupmeta(&m.encode_to_vec(), &Cipher::plaintext()).unwrap_err();
    assert_eq!(err.rule, Some("META-2"));
}

#[test]
fn meta_v2_1_depth_two_is_rejected() {
    let leaf = pb::MetaFile {
        meta_files: vec![pb::File {
            name: "x".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let plain = leaf.encode_to_vec();
    let p = MetaPointer {
        name: "backupmeta.datafile.000000001".into(),
        sha256: Sha256::digest(&plain).to_vec(),
        size: plain.len() as u64,
        cipher_iv: vec![],
    };
    let err = decode_metafile(&plain, &p, &Cipher::plaintext()).unwrap_err();
    assert_eq!(err.rule, Some("META-V2-1"));
    assert_eq!(err.file.as_deref(), Some("backupmeta.datafile.000000001"));
}

#[test]
fn meta_v2_3_sha256_and_size_mismatch_are_named() {
    let w = write(MetaVersion::V2, &Cipher::plaintext(), 100_000, 5, 0);
    let meta = decode_backupmeta(&w.root.bytes, &Cipher::plaintext()).unwrap();
    let p = &meta.file_index[0];
    let mut bytes = w.objects[0].bytes.clone();
    bytes[10] ^= 0x40;
    let err = decode_metafile(&bytes, p, &Cipher::plaintext()).unwrap_err();
    assert!(
        err.to_string().contains("metafile SHA-256 mismatch"),
        "{err}"
    );
    let err = decode_metafile(&bytes[..bytes.len() - 1], p, &Cipher::plaintext()).unwrap_err();
    assert!(err.to_string().contains("metafile size mismatch"), "{err}");
}

#[test]
fn name_9_hostile_file_name_in_backupmeta_is_rejected() {
    let mut f = data_file_to_pb(&file(1, Cf::Write));
    f.name = "../../etc/passwd".into();
    let m = pb::BackupMeta {
        files: vec![f],
        end_version: 1,
        ..Default::default()
    };
    let err = decode_backupmeta(&m.encode_to_vec(), &Cipher::plaintext()).unwrap_err();
    assert_eq!(err.rule, Some("NAME-9"));
    assert_eq!(err.file.as_deref(), Some("backupmeta"));
}

#[test]
fn data_2_bad_cf_and_sha_length_are_named() {
    let mut f = data_file_to_pb(&file(1, Cf::Write));
    f.cf = "raft".into();
    let m = pb::BackupMeta {
        files: vec![f.clone()],
        ..Default::default()
    };
    let err = decode_backupmeta(&m.encode_to_vec(), &Cipher::plaintext()).unwrap_err();
    assert!(err.to_string().contains("field cf"), "{err}");
    f.cf = "write".into();
    f.sha256 = vec![1; 31];
    let m = pb::BackupMeta {
        files: vec![f],
        ..Default::default()
    };
    let err = decode_backupmeta(&m.encode_to_vec(), &Cipher::plaintext()).unwrap_err();
    assert!(err.to_string().contains("field sha256"), "{err}");
}

#[test]
fn truncated_and_flipped_roots_error_not_panic() {
    let w = write(MetaVersion::V2, &Cipher::plaintext(), 1_000, 10, 2);
    for cut in 0..w.root.bytes.len() {
        let _ = decode_backupmeta(&w.root.bytes[..cut], &Cipher::plaintext());
    }
    let err = decode_backupmeta(
        &w.root.bytes[..w.root.bytes.len() / 2],
        &Cipher::plaintext(),
    )
    .unwrap_err();
    assert_eq!(err.file.as_deref(), Some("backupmeta"));
    let enc = decode_backupmeta(&[1, 2, 3], &aes()).unwrap_err();
    assert_eq!(enc.rule, Some("CRYPT-3"));
}

#[test]
fn meta_v2_6_ddls_merge() {
    assert_eq!(merge_ddls(&[]), b"[]");
    assert_eq!(
        merge_ddls(&[b"{\"a\":1}".to_vec(), b"{}".to_vec()]),
        b"[{\"a\":1},{}]"
    );
}

proptest! {
    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_backupmeta(&data, &Cipher::plaintext());
        let _ = decode_backupmeta(&data, &aes());
        let p = MetaPointer { name: "m".into(), sha256: Sha256::digest(&data).to_vec(), size: data.len() as u64, cipher_iv: vec![] };
        let _ = decode_metafile(&data, &p, &Cipher::plaintext());
    }

    #[test]
    fn writer_reader_round_trip(nfiles in 0u64..40, nschemas in 0u64..10, split in 200usize..5000, v2: bool, enc: bool) {
        let version = if v2 { MetaVersion::V2 } else { MetaVersion::V1 };
        let cipher = if enc { aes() } else { Cipher::plaintext() };
        let w = write(version, &cipher, split, nfiles, nschemas);
        let (_, files, schemas) = read_all(&w, &cipher);
        prop_assert_eq!(files.len() as u64, nfiles);
        prop_assert_eq!(schemas.len() as u64, nschemas);
    }
}

#[test]
fn meta_3_unknown_fields_are_reported_not_kept() {
    let mut bytes = pb::BackupMeta {
        end_version: 5,
        ..Default::default()
    }
    .encode_to_vec();
    // field 27, varint 1; field 3 (reserved), length-delimited "x"; field 1000, fixed64.
    bytes.extend_from_slice(&[0xD8, 0x01, 0x01, 0x1A, 0x01, b'x']);
    bytes.extend_from_slice(&[0xC1, 0x3E, 1, 2, 3, 4, 5, 6, 7, 8]);
    let m = decode_backupmeta(&bytes, &Cipher::plaintext()).unwrap();
    assert_eq!(m.unknown_fields, vec![27, 3, 1000]);
    assert_eq!(m.end_version, 5);
    let w = write(MetaVersion::V2, &Cipher::plaintext(), 1_000, 3, 1);
    assert!(decode_backupmeta(&w.root.bytes, &Cipher::plaintext())
        .unwrap()
        .unknown_fields
        .is_empty());
}
