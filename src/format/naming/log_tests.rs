//! Tests of the log naming module: known answers from TiKV/TiDB, round trips and near misses.

use super::*;
use proptest::prelude::*;

const U: &str = "f0251bd5-1441-499a-8f53-adc0d1057a73";

fn uuid() -> Uuid {
    Uuid::parse_str(U).unwrap()
}

// tikv components/backup-stream/src/utils.rs
// `test_parse_backupmeta_filename_accepts_reordered_and_new_tags`.
#[test]
fn log_name_4_tikv_kat_reordered_and_unknown_tags() {
    let name = "000000000000000A000000000000000B-u0000000000000004x0000000000000009d0000000000000002l0000000000000003.meta";
    let n = parse_meta_file_name(name).unwrap();
    assert_eq!(
        n,
        MetaName::Tagged {
            flush_ts: 0xA,
            store_id: 0xB,
            min_begin_ts: 2,
            min_ts: 3,
            max_ts: 4,
            flags: None,
            other_tags: vec![('x', 9)],
        }
    );
}

// tikv utils.rs `test_parse_backupmeta_filename_rejects_incomplete_tag_segment`.
#[test]
fn log_name_4_tikv_kat_incomplete_tag_segment() {
    let name =
        "000000000000000A000000000000000B-d0000000000000002l0000000000000003u00000000000000.meta";
    let e = parse_meta_file_name(name).unwrap_err();
    assert_eq!(e.rule, Some("LOG-NAME-4"));
    assert!(e.to_string().contains("incomplete tag segment"), "{e}");
}

// tikv compact-log-backup tests build `{:016X}{:016X}-d{:016X}l{:016X}u{:016X}.meta` with
// store 1: base_ts = 1000.
#[test]
fn log_name_4_tikv_test_fixture_name() {
    let p = format!(
        "v1/backupmeta/{:016X}{:016X}-d{:016X}l{:016X}u{:016X}.meta",
        1300, 1, 1100, 1100, 1300
    );
    match parse_meta_path(&p).unwrap() {
        MetaName::Tagged {
            flush_ts,
            store_id,
            min_begin_ts,
            min_ts,
            max_ts,
            flags,
            ..
        } => assert_eq!(
            (flush_ts, store_id, min_begin_ts, min_ts, max_ts, flags),
            (1300, 1, 1100, 1100, 1300, None)
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn log_name_4_brkit_writes_tagged_with_flags_upper_case() {
    let p = build_meta_path(0xABC, 7, 1, 2, 3, META_FLAG_NO_META_KV);
    assert_eq!(
        p,
        "v1/backupmeta/0000000000000ABC0000000000000007-d0000000000000001l0000000000000002u0000000000000003p0000000000000001.meta"
    );
    // Case-insensitive like BR's parser.go.
    let lower = p.to_lowercase().replace("v1/backupmeta/", "");
    let n = parse_meta_file_name(&lower).unwrap();
    assert_eq!(parse_meta_path(&p).unwrap(), n);
}

#[test]
fn log_name_4_missing_or_duplicate_tags_rejected() {
    for bad in [
        // missing u
        "000000000000000A000000000000000B-d0000000000000002l0000000000000003.meta",
        // duplicate d
        "000000000000000A000000000000000B-d0000000000000002d0000000000000002l0000000000000003u0000000000000004.meta",
        // non-alnum tag
        "000000000000000A000000000000000B-_0000000000000002l0000000000000003u0000000000000004.meta",
        // non-hex value
        "000000000000000A000000000000000B-d000000000000000Gl0000000000000003u0000000000000004.meta",
        // no tags
        "000000000000000A000000000000000B-.meta",
        // non-hex prefix
        "000000000000000A000000000000000Z-d0000000000000002l0000000000000003u0000000000000004.meta",
    ] {
        let e = parse_meta_file_name(bad).unwrap_err();
        assert_eq!(e.rule, Some("LOG-NAME-4"), "{bad}: {e}");
    }
}

#[test]
fn log_name_3_legacy_hex_and_synthetic() {
    let n = parse_meta_file_name(
        "0000000000000010-000000000000000a-000000000000000B-000000000000000C.meta",
    )
    .unwrap();
    assert_eq!(
        n,
        MetaName::LegacyHex {
            flush_ts: 16,
            min_begin_ts: 10,
            min_ts: 11,
            max_ts: 12,
            synthetic: None
        }
    );
    let s = parse_meta_file_name(
        "0000000000000010-000000000000000A-000000000000000B-000000000000000C-SYNTHETIC0123abcd.meta",
    )
    .unwrap();
    assert!(matches!(s, MetaName::LegacyHex { synthetic: Some(ref h), .. } if h == "0123abcd"));
    for bad in [
        "0000000000000010-000000000000000A-000000000000000B.meta",
        "0000000000000010-000000000000000A-000000000000000B-000000000000000C-SYNTH01.meta",
        "0000000000000010-000000000000000A-000000000000000B-00000000000000C.meta",
        "0000000000000010-000000000000000A-000000000000000B-000000000000000C-SYNTHETIC.meta",
    ] {
        let e = parse_meta_file_name(bad).unwrap_err();
        assert_eq!(e.rule, Some("LOG-NAME-3"), "{bad}: {e}");
    }
}

#[test]
fn log_name_2_decimal_and_log_name_1_padded() {
    let d = parse_meta_file_name(&format!("434098800931373064-{U}.meta")).unwrap();
    assert_eq!(
        d,
        MetaName::Decimal {
            min_resolved_ts: 434098800931373064,
            uuid: uuid(),
            padded: false
        }
    );
    let p = parse_meta_file_name(&format!("000000001234-{U}.meta")).unwrap();
    assert_eq!(p.generation(), "padded-decimal");
    assert_eq!(p.file_name(), format!("000000001234-{U}.meta"));
}

#[test]
fn log_name_1_near_misses_rejected() {
    for bad in [
        format!("434098800931373064-{U}.met"),
        format!("434098800931373064-{U}"),
        format!("43409880093137306x-{U}.meta"),
        format!("0434098800931373064-{U}.meta"),
        format!("434098800931373064-{}.meta", U.to_uppercase()),
        format!("434098800931373064-{}.meta", &U[1..]),
        format!("434098800931373064_{U}.meta"),
        format!("99999999999999999999-{U}.meta"),
        format!("-{U}.meta"),
        ".meta".to_string(),
    ] {
        assert!(parse_meta_file_name(&bad).is_err(), "accepted {bad}");
    }
    assert!(parse_meta_path(&format!("v1/backupmeta/x/1-{U}.meta")).is_err());
    assert!(parse_meta_path(&format!("v1/backupmet/1-{U}.meta")).is_err());
}

#[test]
fn log_name_6_date_hour_is_utc_of_physical_max_ts() {
    // physical 1_700_000_000_000 ms = 2023-11-14T22:13:20Z.
    let max_ts = 1_700_000_000_000u64 << 18 | 5;
    let p = build_log_data_path(3, 42, max_ts, uuid(), false);
    assert_eq!(p, format!("v1/20231114/22/3/42-{U}.log"));
    let m = build_log_data_path(3, 42, max_ts, uuid(), true);
    assert_eq!(m, format!("v1/20231114/22/3/schema-meta/42-{U}.log"));
    assert_eq!(
        parse_log_data_path(&m).unwrap(),
        LogDataName::Group {
            date_hour: DateHour {
                year: 2023,
                month: 11,
                day: 14,
                hour: 22
            },
            store_id: 3,
            schema_meta: true,
            min_ts: 42,
            uuid: uuid()
        }
    );
}

// tikv router.rs doc comments: the v6.2 per-table form and the v6.1 layout.
#[test]
fn log_name_8_old_generations_parse() {
    let v62 = format!("v1/20220101/05/1/t00000071/434098800931373064-{U}.log");
    assert!(matches!(
        parse_log_data_path(&v62).unwrap(),
        LogDataName::V62Table {
            table_id: 71,
            store_id: 1,
            ..
        }
    ));
    let v61 = format!("v1/t00000071/20220101-434098800931373064-{U}.log");
    assert!(matches!(
        parse_log_data_path(&v61).unwrap(),
        LogDataName::V61 {
            table_id: Some(71),
            date: (2022, 1, 1),
            ..
        }
    ));
    let v61m = format!("v1/schema-meta/20220101-000000000042-{U}.log");
    let n = parse_log_data_path(&v61m).unwrap();
    assert!(matches!(
        n,
        LogDataName::V61 {
            table_id: None,
            min_ts: 42,
            ..
        }
    ));
    assert_eq!(format_log_data_path(&n), v61m);
}

#[test]
fn log_name_6_near_misses_rejected() {
    for bad in [
        format!("v1/20231114/22/3/42-{U}.lo"),
        format!("v2/20231114/22/3/42-{U}.log"),
        format!("v1/20231314/22/3/42-{U}.log"),
        format!("v1/20231114/24/3/42-{U}.log"),
        format!("v1/20231114/2/3/42-{U}.log"),
        format!("v1/2023111/22/3/42-{U}.log"),
        format!("v1/20231114/22/x/42-{U}.log"),
        format!("v1/20231114/22/03/42-{U}.log"),
        format!("v1/20231114/22/3/042-{U}.log"),
        format!("v1/20231114/22/3/schema-met/42-{U}.log"),
        format!("v1/20231114/22/3/t0000071/42-{U}.log"),
        format!("v1/20231114/22/3/42_{U}.log"),
        format!("v1/20231114/22/3/a/b/42-{U}.log"),
        format!("v1/t00000071/20220101_42-{U}.log"),
    ] {
        assert!(parse_log_data_path(&bad).is_err(), "accepted {bad}");
    }
}

#[test]
fn log_name_9_global_checkpoint_names() {
    assert_eq!(build_global_checkpoint_path(5), "v1/global_checkpoint/5.ts");
    assert_eq!(
        parse_global_checkpoint_path("v1/global_checkpoint/5.ts").unwrap(),
        5
    );
    for bad in [
        "v1/global_checkpoint/05.ts",
        "v1/global_checkpoint/5.t",
        "v1/global_checkpoint/.ts",
        "v1/global_checkpoints/5.ts",
        "v1/global_checkpoint/x.ts",
    ] {
        let e = parse_global_checkpoint_path(bad).unwrap_err();
        assert_eq!(e.rule, Some("LOG-NAME-9"), "{bad}");
    }
}

#[test]
fn log_name_10_and_11_fixed_names() {
    assert_eq!(TRUNCATE_SAFEPOINT, "v1_stream_trancate_safepoint.txt");
    assert_eq!(LOCK, "backup.lock");
    assert_eq!(BACKUPMETA, "backupmeta");
}

fn arb_meta_name() -> impl Strategy<Value = MetaName> {
    let uuid = any::<u128>().prop_map(Uuid::from_u128);
    prop_oneof![
        (any::<u64>(), uuid.clone()).prop_map(|(t, uuid)| MetaName::Decimal {
            min_resolved_ts: t,
            uuid,
            padded: false
        }),
        (0u64..100_000_000_000, uuid).prop_map(|(t, uuid)| MetaName::Decimal {
            min_resolved_ts: t,
            uuid,
            padded: true
        }),
        (any::<[u64; 4]>(), proptest::option::of("[0-9A-F]{1,64}")).prop_map(|(v, synthetic)| {
            MetaName::LegacyHex {
                flush_ts: v[0],
                min_begin_ts: v[1],
                min_ts: v[2],
                max_ts: v[3],
                synthetic,
            }
        }),
        (
            any::<[u64; 5]>(),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec(any::<u64>(), 0..3)
        )
            .prop_map(|(v, flags, extra)| MetaName::Tagged {
                flush_ts: v[0],
                store_id: v[1],
                min_begin_ts: v[2],
                min_ts: v[3],
                max_ts: v[4],
                flags,
                other_tags: extra
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| ((b'x' + i as u8) as char, x))
                    .collect()
            }),
    ]
}

fn arb_data_name() -> impl Strategy<Value = LogDataName> {
    let uuid = any::<u128>().prop_map(Uuid::from_u128);
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        uuid,
        any::<bool>(),
        0i64..i64::MAX,
        0u64..100_000_000_000,
    )
        .prop_flat_map(|(store, min_ts, max_ts, uuid, meta, table, small_ts)| {
            let dh = DateHour::of_ts(max_ts);
            prop_oneof![
                Just(LogDataName::Group {
                    date_hour: dh,
                    store_id: store,
                    schema_meta: meta,
                    min_ts,
                    uuid
                }),
                Just(LogDataName::V62Table {
                    date_hour: dh,
                    store_id: store,
                    table_id: table,
                    min_ts,
                    uuid
                }),
                Just(LogDataName::V61 {
                    date: (dh.year, dh.month, dh.day),
                    table_id: meta.then_some(table),
                    min_ts: small_ts,
                    uuid
                }),
            ]
        })
}

proptest! {
    #[test]
    fn log_name_1_to_4_meta_names_round_trip(n in arb_meta_name()) {
        prop_assert_eq!(parse_meta_path(&n.path()).unwrap(), n);
    }

    #[test]
    fn log_name_6_to_8_data_names_round_trip(n in arb_data_name()) {
        prop_assert_eq!(parse_log_data_path(&format_log_data_path(&n)).unwrap(), n);
    }

    #[test]
    fn log_name_9_checkpoint_round_trip(s: u64) {
        prop_assert_eq!(parse_global_checkpoint_path(&build_global_checkpoint_path(s)).unwrap(), s);
    }

    #[test]
    fn log_name_4_one_char_off_is_rejected_or_differs(n in arb_meta_name(), pos in any::<prop::sample::Index>(), c in "[ -~]") {
        // raft-engine style near miss: replace one char; the parse must fail or give a
        // different value unless the replacement only changed hex case.
        let name = n.file_name();
        let i = pos.index(name.len());
        let mut bytes = name.clone().into_bytes();
        let c = c.as_bytes()[0];
        if bytes[i].eq_ignore_ascii_case(&c) { return Ok(()); }
        bytes[i] = c;
        let mutated = String::from_utf8(bytes).unwrap();
        if let Ok(m) = parse_meta_file_name(&mutated) {
            prop_assert_ne!(m, n);
        }
    }

    #[test]
    fn log_names_parse_never_panics(s in "\\PC{0,120}") {
        let _ = parse_meta_file_name(&s);
        let _ = parse_meta_path(&s);
        let _ = parse_log_data_path(&s);
        let _ = parse_global_checkpoint_path(&s);
    }
}

#[test]
fn log_merge_12_journal_path_round_trip_and_near_misses() {
    let u = Uuid::from_u128(0x1234);
    let p = build_journal_path(u);
    assert_eq!(
        p,
        "v1/brkit_pending_deletes/00000000-0000-0000-0000-000000001234.json"
    );
    assert!(is_journal_path(&p));
    for bad in [
        "v1/brkit_pending_deletes/x.json",
        "v1/brkit_pending_deletes/00000000-0000-0000-0000-000000001234",
        "v1/backupmeta/00000000-0000-0000-0000-000000001234.json",
        "v1/brkit_pending_deletes/00000000-0000-0000-0000-000000001234.json.tmp",
    ] {
        assert!(!is_journal_path(bad), "{bad}");
    }
}
