//! Tests of event framing, sub-file reading/writing and group building.

use super::*;
use crate::format::error::FormatErrorKind;
use proptest::prelude::*;

// pingcap/tidb br/pkg/stream/decode_kv_test.go `TestDecodeKVEntry` / `TestDecodeKVEntryError`:
// EncodeKVEntry("db", "tidb"), then a trailing 'x' makes the next read fail.
#[test]
fn log_file_1_tidb_kat_and_trailing_garbage() {
    let mut buf = Vec::new();
    encode_event(&mut buf, b"db", b"tidb").unwrap();
    assert_eq!(hex::encode(&buf), "0200000064620400000074696462");
    buf.push(b'x');
    let mut it = events(&buf);
    assert_eq!(it.next().unwrap().unwrap(), (&b"db"[..], &b"tidb"[..]));
    let e = it.next().unwrap().unwrap_err();
    assert_eq!(e.rule, Some("LOG-FILE-2"));
    assert!(matches!(e.kind, FormatErrorKind::Truncated { .. }));
    assert!(it.next().is_none());
    assert!(decode_events(&buf).is_err());
}

// tikv components/txn_types/src/types.rs `test_append_ts`: "z" + ts 1000.
#[test]
fn log_file_7_key_ts_reads_the_desc_suffix() {
    let key = hex::decode("7A0000000000000000F8FFFFFFFFFFFFFC17").unwrap();
    assert_eq!(key_ts(&key).unwrap(), 1000);
    assert_eq!(key_ts(&[1; 7]).unwrap_err().rule, Some("LOG-FILE-7"));
}

#[test]
fn log_file_8_write_record_start_ts() {
    // 'P' then varint 300 (0xAC 0x02), then a short value tag.
    assert_eq!(
        write_record_start_ts(&[b'P', 0xAC, 0x02, b'v', 1, b'x']).unwrap(),
        300
    );
    assert_eq!(write_record_start_ts(&[b'D', 5]).unwrap(), 5);
    assert_eq!(
        write_record_start_ts(&[]).unwrap_err().rule,
        Some("LOG-FILE-8")
    );
    assert_eq!(
        write_record_start_ts(&[b'X', 5]).unwrap_err().rule,
        Some("LOG-FILE-8")
    );
    assert!(write_record_start_ts(&[b'P', 0x80]).is_err());
}

pub(crate) fn mvcc_key(user: &[u8], ts: u64) -> Vec<u8> {
    let mut k = crate::codec::bytes::encode_bytes(user);
    k.extend_from_slice(&(!ts).to_be_bytes());
    k
}

pub(crate) fn spec(cf: Cf, compression: LogCompression) -> SubFileSpec {
    SubFileSpec {
        region_id: 7,
        cf,
        kind: EventKind::Put,
        is_meta: false,
        table_id: 42,
        resolved_ts: 500,
        region_start_key: vec![],
        region_end_key: vec![],
        region_epochs: vec![(1, 3)],
        compression,
    }
}

fn write_events() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (mvcc_key(b"t\x80b", 120), vec![b'P', 100]),
        (mvcc_key(b"t\x80a", 130), vec![b'P', 90, b'v', 1, b'z']),
        (mvcc_key(b"t\x80c", 110), vec![b'D', 105]),
    ]
}

fn aes() -> Cipher {
    Cipher::new(CipherMethod::Aes256Ctr, vec![9; 32]).unwrap()
}

#[test]
fn log_file_7_8_builder_fills_stats_like_tikv() {
    let ev = write_events();
    let (_, f) = build_sub_file(
        &spec(Cf::Write, LogCompression::Zstd),
        &ev,
        &Cipher::plaintext(),
        [0; 16],
    )
    .unwrap();
    assert_eq!((f.min_ts, f.max_ts), (110, 130));
    assert_eq!(f.min_begin_ts_in_default_cf, 90);
    assert_eq!(f.number_of_entries, 3);
    assert_eq!(f.start_key, mvcc_key(b"t\x80a", 130));
    assert_eq!(f.end_key, mvcc_key(b"t\x80c", 110));
    let mut plain = Vec::new();
    let mut c = Checksum::default();
    for (k, v) in &ev {
        encode_event(&mut plain, k, v).unwrap();
        c.update(k, v);
    }
    assert_eq!(f.length, plain.len() as u64);
    assert_eq!(f.crc64xor, c.crc64xor);
    assert_eq!(f.sha256.unwrap(), <[u8; 32]>::from(Sha256::digest(&plain)));
    // Default CF: no write records, so min_begin = min_ts.
    let (_, d) = build_sub_file(
        &spec(Cf::Default, LogCompression::None),
        &[(mvcc_key(b"k", 77), b"row".to_vec())],
        &Cipher::plaintext(),
        [0; 16],
    )
    .unwrap();
    assert_eq!(d.min_begin_ts_in_default_cf, 77);
}

#[test]
fn log_file_3_4_5_round_trip_every_combination() {
    let ev = write_events();
    for comp in [LogCompression::None, LogCompression::Zstd] {
        for cipher in [Cipher::plaintext(), aes()] {
            let (stored, f) =
                build_sub_file(&spec(Cf::Write, comp), &ev, &cipher, [3; 16]).unwrap();
            let mut g = GroupBuilder::new();
            g.push(b"", f.clone()); // an empty neighbour does not disturb offsets
            g.push(&stored, f);
            let (obj, group) = g.finish("p.log".into());
            let f = &group.files[1];
            let plain = decode_sub_file(&obj, f, &cipher).unwrap();
            assert_eq!(decode_events(&plain).unwrap(), ev);
            assert_eq!(cipher.is_encrypted(), f.encryption.is_some());
        }
    }
}

#[test]
fn log_file_4_wrong_or_missing_key_is_a_mismatch() {
    let (stored, f) = build_sub_file(
        &spec(Cf::Write, LogCompression::Zstd),
        &write_events(),
        &aes(),
        [3; 16],
    )
    .unwrap();
    let e = decode_sub_file(&stored, &f, &Cipher::plaintext()).unwrap_err();
    assert_eq!(e.rule, Some("LOG-FILE-4"));
    let wrong = Cipher::new(CipherMethod::Aes256Ctr, vec![8; 32]).unwrap();
    assert!(decode_sub_file(&stored, &f, &wrong).is_err());
}

// format/log.md "Encryption": the sub-file KAT (NIST SP 800-38A F.5.5 key and IV, the second
// `log-event` example as plaintext; ciphertext and checksum recomputed with OpenSSL).
#[test]
fn log_crypt_1_sub_file_kat() {
    let key =
        hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4").unwrap();
    let iv: [u8; 16] = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
        .unwrap()
        .try_into()
        .unwrap();
    let cipher = Cipher::new(CipherMethod::Aes256Ctr, key).unwrap();
    let k = hex::decode("7A0000000000000000F8FFFFFFFFFFFFFC17").unwrap();
    let (stored, f) = build_sub_file(
        &spec(Cf::Default, LogCompression::None),
        &[(k, Vec::new())],
        &cipher,
        iv,
    )
    .unwrap();
    assert_eq!(
        hex::encode(&stored),
        "19df7df1231716335e9a8b15c8983afda5919662af7619065433"
    );
    let e = f.encryption.as_ref().unwrap();
    assert_eq!(e.mode, DataKeyMode::PlainText);
    assert_eq!(e.iv, iv.to_vec());
    assert_eq!(
        hex::encode(&e.checksum),
        "ae8d9310edd4e23fd5744afc8dfdfc3c57803d3b26948dd0c79352ad31e5de4a"
    );
    assert_eq!(
        hex::encode(f.sha256.unwrap()),
        "27fa36f3ccca3e9d38524b705382f58e4d70a78ebe404b1b9257100e3b095819"
    );
    assert_eq!((f.length, f.range_length), (26, 26));
}

#[test]
fn log_crypt_6_master_key_sub_files_are_refused_not_decrypted_with_the_given_key() {
    let (stored, mut f) = build_sub_file(
        &spec(Cf::Write, LogCompression::Zstd),
        &write_events(),
        &aes(),
        [3; 16],
    )
    .unwrap();
    decode_sub_file(&stored, &f, &aes()).unwrap();
    f.encryption.as_mut().unwrap().mode = DataKeyMode::MasterKeyBased(Default::default());
    let e = decode_sub_file(&stored, &f, &aes()).unwrap_err();
    assert_eq!(e.rule, Some("LOG-CRYPT-6"), "{e}");
}

#[test]
fn log_file_5_length_and_sha_mismatches_are_reported() {
    let (stored, f) = build_sub_file(
        &spec(Cf::Write, LogCompression::None),
        &write_events(),
        &Cipher::plaintext(),
        [0; 16],
    )
    .unwrap();
    let mut bad = stored.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let e = decode_sub_file(&bad, &f, &Cipher::plaintext()).unwrap_err();
    assert_eq!(e.rule, Some("LOG-FILE-5"));
    assert!(e.to_string().contains("sha256"), "{e}");
    let mut f2 = f.clone();
    f2.length += 1;
    let e = decode_sub_file(&stored, &f2, &Cipher::plaintext()).unwrap_err();
    assert!(e.to_string().contains("length"), "{e}");
}

#[test]
fn log_file_6_crc64xor_mismatch_and_zero_means_unset() {
    let (stored, mut f) = build_sub_file(
        &spec(Cf::Write, LogCompression::Zstd),
        &write_events(),
        &Cipher::plaintext(),
        [0; 16],
    )
    .unwrap();
    f.crc64xor ^= 1;
    assert_eq!(
        decode_sub_file(&stored, &f, &Cipher::plaintext())
            .unwrap_err()
            .rule,
        Some("LOG-FILE-6")
    );
    f.crc64xor = 0;
    assert!(decode_sub_file(&stored, &f, &Cipher::plaintext()).is_ok());
}

#[test]
fn log_file_9_zstd_bomb_is_cut_off() {
    let big = vec![0u8; 4 << 20];
    let stored = zstd::bulk::compress(&big, 1).unwrap();
    assert!(stored.len() < 4096);
    let (_, mut f) = build_sub_file(
        &spec(Cf::Default, LogCompression::Zstd),
        &[(mvcc_key(b"k", 1), vec![])],
        &Cipher::plaintext(),
        [0; 16],
    )
    .unwrap();
    f.range_length = stored.len() as u64;
    let e = decode_sub_file(&stored, &f, &Cipher::plaintext()).unwrap_err();
    assert_eq!(e.rule, Some("LOG-FILE-9"));
    f.length = MAX_SUB_FILE_LENGTH + 1;
    let e = decode_sub_file(&stored, &f, &Cipher::plaintext()).unwrap_err();
    assert_eq!(e.rule, Some("LOG-FILE-9"));
}

#[test]
fn log_meta_4_range_past_object_end_is_truncated_error() {
    let (stored, mut f) = build_sub_file(
        &spec(Cf::Write, LogCompression::None),
        &write_events(),
        &Cipher::plaintext(),
        [0; 16],
    )
    .unwrap();
    f.range_offset = 1;
    let e = decode_sub_file(&stored, &f, &Cipher::plaintext()).unwrap_err();
    assert!(matches!(e.kind, FormatErrorKind::Truncated { .. }));
    f.range_offset = u64::MAX;
    assert!(decode_sub_file(&stored, &f, &Cipher::plaintext()).is_err());
    // V1 files (own path) are the whole object.
    f.path = "v1/x.log".into();
    assert!(decode_sub_file(&stored, &f, &Cipher::plaintext()).is_ok());
}

#[test]
fn log_file_3_garbage_zstd_is_an_error() {
    let (_, mut f) = build_sub_file(
        &spec(Cf::Write, LogCompression::Zstd),
        &write_events(),
        &Cipher::plaintext(),
        [0; 16],
    )
    .unwrap();
    let junk = vec![0x55u8; 40];
    f.range_length = junk.len() as u64;
    assert!(decode_sub_file(&junk, &f, &Cipher::plaintext()).is_err());
}

fn arb_events() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..60),
        )
            .prop_map(|(u, ts, v)| (mvcc_key(&u, ts), v)),
        1..20,
    )
}

proptest! {
    // tikv stream_event.rs `test_encode_decode` / `test_decode_events`: random keys and values
    // survive framing, in order.
    #[test]
    fn log_file_1_framing_round_trip(ev in proptest::collection::vec(
        (proptest::collection::vec(any::<u8>(), 0..100), proptest::collection::vec(any::<u8>(), 0..100)), 0..20)) {
        let mut buf = Vec::new();
        for (k, v) in &ev { encode_event(&mut buf, k, v).unwrap(); }
        prop_assert_eq!(decode_events(&buf).unwrap(), ev);
    }

    #[test]
    fn log_file_2_every_cut_inside_an_event_is_an_error(ev in arb_events(), cut in any::<prop::sample::Index>()) {
        let mut buf = Vec::new();
        let mut bounds = vec![0];
        for (k, v) in &ev { encode_event(&mut buf, k, v).unwrap(); bounds.push(buf.len()); }
        let c = cut.index(buf.len());
        let r = decode_events(&buf[..c]);
        prop_assert_eq!(r.is_ok(), bounds.contains(&c));
    }

    #[test]
    fn log_file_sub_file_round_trip(ev in arb_events(), zstd: bool, enc: bool, iv: [u8; 16]) {
        let comp = if zstd { LogCompression::Zstd } else { LogCompression::None };
        let cipher = if enc { aes() } else { Cipher::plaintext() };
        let (stored, f) = build_sub_file(&spec(Cf::Default, comp), &ev, &cipher, iv).unwrap();
        let plain = decode_sub_file(&stored, &f, &cipher).unwrap();
        prop_assert_eq!(decode_events(&plain).unwrap(), ev);
    }

    #[test]
    fn log_file_damaged_sub_file_errors_never_panic(ev in arb_events(), zstd: bool, flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let comp = if zstd { LogCompression::Zstd } else { LogCompression::None };
        let (mut stored, f) = build_sub_file(&spec(Cf::Default, comp), &ev, &Cipher::plaintext(), [0; 16]).unwrap();
        let i = flip.index(stored.len());
        stored[i] ^= 1 << bit;
        // A flipped bit is caught (length, sha256 or the frame itself), unless it lies in a
        // zstd header bit that does not change the output: then the plaintext is intact.
        match decode_sub_file(&stored, &f, &Cipher::plaintext()) {
            Err(_) => {}
            Ok(plain) => {
                prop_assert!(zstd, "an uncompressed flip went unnoticed");
                prop_assert_eq!(decode_events(&plain).unwrap(), ev);
            }
        }
    }

    #[test]
    fn log_file_random_stream_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_events(&b);
        let _ = stream_checksum(&b);
        let _ = write_record_start_ts(&b);
        let _ = key_ts(&b);
    }
}
