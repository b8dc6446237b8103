//! Tests of the `.meta` codec, checkpoint and safepoint codecs and the restorable window.

use super::*;
use crate::format::error::FormatErrorKind;
use proptest::prelude::*;

pub(crate) fn sub(offset: u64, len: u64) -> LogSubFile {
    LogSubFile {
        sha256: Some([7; 32]),
        path: String::new(),
        number_of_entries: 3,
        min_ts: 10,
        max_ts: 20,
        resolved_ts: 21,
        region_id: 5,
        start_key: b"a".to_vec(),
        end_key: b"b".to_vec(),
        cf: Cf::Write,
        kind: EventKind::Put,
        is_meta: false,
        table_id: 99,
        length: 100,
        min_begin_ts_in_default_cf: 9,
        range_offset: offset,
        range_length: len,
        compression: LogCompression::Zstd,
        crc64xor: 0xdead,
        region_start_key: vec![],
        region_end_key: vec![],
        region_epochs: vec![(1, 2)],
        encryption: None,
    }
}

fn meta_with(files: Vec<LogSubFile>, length: u64) -> LogMeta {
    LogMeta {
        store_id: 1,
        resolved_ts: 30,
        min_ts: 10,
        max_ts: 20,
        version: LogMetaVersion::V2,
        groups: vec![LogGroup {
            path: "v1/20231114/22/1/10-f0251bd5-1441-499a-8f53-adc0d1057a73.log".into(),
            min_ts: 10,
            max_ts: 20,
            min_resolved_ts: 21,
            length,
            files,
        }],
        files: vec![],
    }
}

fn proto_of(m: &LogMeta) -> Metadata {
    Metadata::decode(encode_log_meta(m).as_slice()).unwrap()
}

fn rule_of(r: Result<LogMeta>) -> Option<&'static str> {
    r.unwrap_err().rule
}

#[test]
fn log_meta_round_trip_of_a_typical_v2_document() {
    let m = meta_with(vec![sub(0, 40), sub(40, 60)], 100);
    assert_eq!(decode_log_meta(&encode_log_meta(&m)).unwrap(), m);
}

#[test]
fn log_meta_1_unknown_meta_version_is_rejected() {
    let mut p = proto_of(&meta_with(vec![sub(0, 1)], 1));
    p.meta_version = 2;
    let e = decode_log_meta(&p.encode_to_vec()).unwrap_err();
    assert!(matches!(
        e.kind,
        FormatErrorKind::UnknownVersion { value: 2, .. }
    ));
    assert_eq!(e.rule, Some("LOG-META-1"));
}

#[test]
fn log_meta_1_garbage_is_a_protobuf_error() {
    let e = decode_log_meta(&[0xff, 0xff, 0xff]).unwrap_err();
    assert!(matches!(e.kind, FormatErrorKind::Protobuf { .. }), "{e}");
}

#[test]
fn log_meta_2_v1_files_need_safe_paths() {
    let mut f = sub(0, 0);
    f.path = "v1/t00000001/20220101-000000000001-f0251bd5-1441-499a-8f53-adc0d1057a73.log".into();
    let m = LogMeta {
        version: LogMetaVersion::V1,
        groups: vec![],
        files: vec![f.clone()],
        ..meta_with(vec![], 0)
    };
    assert_eq!(decode_log_meta(&encode_log_meta(&m)).unwrap(), m);
    assert_eq!(m.sub_files().next().unwrap().0, f.path);
    for bad in ["", "../x.log", "/abs.log"] {
        let mut m2 = m.clone();
        m2.files[0].path = bad.into();
        assert_eq!(
            rule_of(decode_log_meta(&encode_log_meta(&m2))),
            Some("NAME-9"),
            "{bad}"
        );
    }
}

#[test]
fn log_meta_3_v2_group_path_checked_and_sub_path_must_match() {
    let mut m = meta_with(vec![sub(0, 1)], 1);
    m.groups[0].path = "a/../b.log".into();
    assert_eq!(
        rule_of(decode_log_meta(&encode_log_meta(&m))),
        Some("NAME-9")
    );
    let mut m = meta_with(vec![sub(0, 1)], 1);
    m.groups[0].files[0].path = "other.log".into();
    assert_eq!(
        rule_of(decode_log_meta(&encode_log_meta(&m))),
        Some("LOG-META-3")
    );
    let mut m = meta_with(vec![sub(0, 1)], 1);
    m.groups[0].files[0].path = m.groups[0].path.clone();
    assert!(decode_log_meta(&encode_log_meta(&m)).is_ok());
}

#[test]
fn log_meta_4_ranges_outside_or_overlapping_are_rejected() {
    let m = meta_with(vec![sub(0, 40), sub(30, 70)], 100);
    let e = decode_log_meta(&encode_log_meta(&m)).unwrap_err();
    assert_eq!(e.rule, Some("LOG-META-4"));
    assert!(e.to_string().contains("sub-file 1"), "{e}");
    let m = meta_with(vec![sub(0, 40), sub(40, 61)], 100);
    assert_eq!(
        rule_of(decode_log_meta(&encode_log_meta(&m))),
        Some("LOG-META-4")
    );
    let m = meta_with(vec![sub(u64::MAX, 2)], 0);
    assert_eq!(
        rule_of(decode_log_meta(&encode_log_meta(&m))),
        Some("LOG-META-4")
    );
}

#[test]
fn log_meta_5_sum_of_ranges_must_equal_group_length() {
    let m = meta_with(vec![sub(0, 40), sub(50, 40)], 100);
    let e = decode_log_meta(&encode_log_meta(&m)).unwrap_err();
    assert_eq!(e.rule, Some("LOG-META-5"));
    assert!(matches!(e.kind, FormatErrorKind::Mismatch { .. }));
    // length 0 = not set: not checked.
    let m = meta_with(vec![sub(0, 40), sub(50, 40)], 0);
    assert!(decode_log_meta(&encode_log_meta(&m)).is_ok());
}

#[test]
fn log_meta_6_min_ts_above_max_ts_is_rejected_at_every_level() {
    let mut m = meta_with(vec![sub(0, 1)], 1);
    m.groups[0].files[0].min_ts = 21;
    assert_eq!(
        rule_of(decode_log_meta(&encode_log_meta(&m))),
        Some("LOG-META-6")
    );
    let mut m = meta_with(vec![sub(0, 1)], 1);
    m.groups[0].min_ts = 21;
    assert_eq!(
        rule_of(decode_log_meta(&encode_log_meta(&m))),
        Some("LOG-META-6")
    );
    let mut m = meta_with(vec![sub(0, 1)], 1);
    m.min_ts = 21;
    assert_eq!(
        rule_of(decode_log_meta(&encode_log_meta(&m))),
        Some("LOG-META-6")
    );
}

#[test]
fn log_meta_7_unknown_cf_bad_sha_negative_count_rejected() {
    let base = meta_with(vec![sub(0, 1)], 1);
    let mut p = proto_of(&base);
    p.file_groups[0].data_files_info[0].cf = "lock".into();
    assert_eq!(
        rule_of(decode_log_meta(&p.encode_to_vec())),
        Some("LOG-META-7")
    );
    let mut p = proto_of(&base);
    p.file_groups[0].data_files_info[0].sha256 = vec![1; 31];
    assert_eq!(
        rule_of(decode_log_meta(&p.encode_to_vec())),
        Some("LOG-META-7")
    );
    let mut p = proto_of(&base);
    p.file_groups[0].data_files_info[0].number_of_entries = -1;
    assert_eq!(
        rule_of(decode_log_meta(&p.encode_to_vec())),
        Some("LOG-META-7")
    );
}

#[test]
fn log_meta_8_unknown_file_type_rejected() {
    let mut p = proto_of(&meta_with(vec![sub(0, 1)], 1));
    p.file_groups[0].data_files_info[0].r#type = 2;
    assert_eq!(
        rule_of(decode_log_meta(&p.encode_to_vec())),
        Some("LOG-META-8")
    );
}

#[test]
fn log_meta_9_lz4_snappy_unsupported_naming_the_sub_file() {
    for t in [1, 2, 9] {
        let mut p = proto_of(&meta_with(vec![sub(0, 1)], 1));
        p.file_groups[0].data_files_info[0].compression_type = t;
        let e = decode_log_meta(&p.encode_to_vec()).unwrap_err();
        assert_eq!(e.rule, Some("LOG-META-9"));
        assert!(e.to_string().contains("sub-file 0"), "{e}");
    }
}

#[test]
fn log_meta_10_encryption_needs_known_method_and_16_byte_iv() {
    let mut m = meta_with(vec![sub(0, 1)], 1);
    m.groups[0].files[0].encryption = Some(SubFileEncryption {
        method: CipherMethod::Aes256Ctr,
        mode: DataKeyMode::PlainText,
        iv: vec![1; 16],
        checksum: vec![2; 32],
    });
    assert_eq!(decode_log_meta(&encode_log_meta(&m)).unwrap(), m);
    let mut p = proto_of(&m);
    p.file_groups[0].data_files_info[0]
        .file_encryption_info
        .as_mut()
        .unwrap()
        .file_iv = vec![1; 12];
    assert_eq!(
        rule_of(decode_log_meta(&p.encode_to_vec())),
        Some("LOG-META-10")
    );
    let mut p = proto_of(&m);
    p.file_groups[0].data_files_info[0]
        .file_encryption_info
        .as_mut()
        .unwrap()
        .encryption_method = 5; // SM4
    assert_eq!(
        rule_of(decode_log_meta(&p.encode_to_vec())),
        Some("CRYPT-1")
    );
}

#[test]
fn log_ckpt_1_checkpoint_is_exactly_8_le_bytes() {
    assert_eq!(
        decode_global_checkpoint(&[1, 0, 0, 0, 0, 0, 0, 0x80]).unwrap(),
        0x8000_0000_0000_0001
    );
    assert_eq!(encode_global_checkpoint(0x0102), [2, 1, 0, 0, 0, 0, 0, 0]);
    for n in [0, 7, 9] {
        let e = decode_global_checkpoint(&vec![0; n]).unwrap_err();
        assert_eq!(e.rule, Some("LOG-CKPT-1"));
    }
}

// pingcap/tidb br/pkg/stream/stream_metas_test.go `TestTruncateSafepoint`: the value is
// written with strconv.FormatUint and read back with strconv.ParseUint.
#[test]
fn log_trunc_1_safepoint_decimal_text() {
    assert_eq!(
        encode_truncate_safepoint(434_098_800_931_373_064),
        b"434098800931373064"
    );
    assert_eq!(
        decode_truncate_safepoint(b"434098800931373064").unwrap(),
        434_098_800_931_373_064
    );
    assert_eq!(decode_truncate_safepoint(b"007").unwrap(), 7);
    for bad in [
        &b""[..],
        b" 1",
        b"1\n",
        b"+1",
        b"-1",
        b"0x10",
        b"18446744073709551616",
    ] {
        let e = decode_truncate_safepoint(bad).unwrap_err();
        assert_eq!(e.rule, Some("LOG-TRUNC-1"), "{bad:?}");
    }
}

#[test]
fn log_trunc_2_restorable_window_follows_br() {
    assert_eq!(
        restorable_window(100, None, &[150, 300, 200]),
        RestorableWindow {
            min_ts: 100,
            max_ts: 300
        }
    );
    assert_eq!(
        restorable_window(100, Some(250), &[150, 300]),
        RestorableWindow {
            min_ts: 250,
            max_ts: 300
        }
    );
    // No checkpoint yet, or checkpoints behind the truncate point: upper = lower.
    assert_eq!(
        restorable_window(100, Some(400), &[300]),
        RestorableWindow {
            min_ts: 400,
            max_ts: 400
        }
    );
    assert_eq!(
        restorable_window(100, None, &[]),
        RestorableWindow {
            min_ts: 100,
            max_ts: 100
        }
    );
}

fn arb_sub() -> impl Strategy<Value = LogSubFile> {
    (
        (
            proptest::option::of(any::<[u8; 32]>()),
            0u64..1000,
            any::<u64>(),
            any::<u64>(),
        ),
        (
            any::<i64>(),
            proptest::collection::vec(any::<u8>(), 0..10),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            any::<u64>(),
            any::<bool>(),
            any::<u64>(),
            proptest::option::of(any::<[u8; 16]>()),
        ),
        (
            any::<i64>(),
            proptest::collection::vec((any::<u64>(), any::<u64>()), 0..2),
        ),
    )
        .prop_map(
            |((sha, n, a, b), (region, key, write, put), (crc, zstd, len, iv), (table, epochs))| {
                LogSubFile {
                    sha256: sha,
                    path: String::new(),
                    number_of_entries: n,
                    min_ts: a.min(b),
                    max_ts: a.max(b),
                    resolved_ts: b,
                    region_id: region,
                    start_key: key.clone(),
                    end_key: key.iter().rev().copied().collect(),
                    cf: if write { Cf::Write } else { Cf::Default },
                    kind: if put {
                        EventKind::Put
                    } else {
                        EventKind::Delete
                    },
                    is_meta: !write,
                    table_id: table,
                    length: len,
                    min_begin_ts_in_default_cf: a,
                    range_offset: 0,
                    range_length: 0,
                    compression: if zstd {
                        LogCompression::Zstd
                    } else {
                        LogCompression::None
                    },
                    crc64xor: crc,
                    region_start_key: key,
                    region_end_key: vec![],
                    region_epochs: epochs,
                    encryption: iv.map(|iv| SubFileEncryption {
                        method: CipherMethod::Aes128Ctr,
                        mode: DataKeyMode::PlainText,
                        iv: iv.to_vec(),
                        checksum: vec![],
                    }),
                }
            },
        )
}

fn arb_meta() -> impl Strategy<Value = LogMeta> {
    let group = (
        proptest::collection::vec((arb_sub(), 0u64..1_000_000), 0..4),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(subs, a, b)| {
            let mut off = 0;
            let files = subs
                .into_iter()
                .map(|(mut f, len)| {
                    f.range_offset = off;
                    f.range_length = len;
                    off += len;
                    f
                })
                .collect();
            LogGroup {
                path: format!(
                    "v1/20240101/00/1/{}-f0251bd5-1441-499a-8f53-adc0d1057a73.log",
                    a
                ),
                min_ts: a.min(b),
                max_ts: a.max(b),
                min_resolved_ts: b,
                length: off,
                files,
            }
        });
    (
        proptest::collection::vec(group, 0..3),
        any::<i64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(groups, store_id, a, b)| LogMeta {
            store_id,
            resolved_ts: b,
            min_ts: a.min(b),
            max_ts: a.max(b),
            version: LogMetaVersion::V2,
            groups,
            files: vec![],
        })
}

proptest! {
    #[test]
    fn log_meta_encode_decode_is_identity(m in arb_meta()) {
        let bytes = encode_log_meta(&m);
        let back = decode_log_meta(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        // Canonical: re-encoding gives the same bytes.
        prop_assert_eq!(encode_log_meta(&back), bytes);
    }

    #[test]
    fn log_meta_damaged_bytes_never_panic(m in arb_meta(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let bytes = encode_log_meta(&m);
        if !bytes.is_empty() {
            let _ = decode_log_meta(&bytes[..cut.index(bytes.len())]);
            let mut b = bytes.clone();
            let i = flip.index(b.len());
            b[i] ^= 1 << bit;
            let _ = decode_log_meta(&b);
        }
    }

    #[test]
    fn log_meta_random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_log_meta(&b);
        let _ = decode_truncate_safepoint(&b);
        let _ = decode_global_checkpoint(&b);
    }

    #[test]
    fn log_ckpt_and_trunc_round_trip(ts: u64) {
        prop_assert_eq!(decode_global_checkpoint(&encode_global_checkpoint(ts)).unwrap(), ts);
        prop_assert_eq!(decode_truncate_safepoint(&encode_truncate_safepoint(ts)).unwrap(), ts);
    }
}
