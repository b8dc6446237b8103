//! Tests of the Write record codec (format/mvcc.md MVCC-8 … MVCC-18).

use super::*;
use proptest::prelude::*;

fn full() -> Write {
    Write {
        write_type: WriteType::Put,
        start_ts: 300,
        short_value: Some(b"ab".to_vec()),
        has_overlapped_rollback: true,
        gc_fence: Some(0x0102),
        last_change: Some((7, 2)),
        txn_source: 1,
    }
}

// Byte layout from format/mvcc.md (MVCC-8 … MVCC-10); field order as in tikv/tikv
// components/txn_types/src/write.rs `WriteRef::to_bytes`.
#[test]
fn mvcc_10_full_record_bytes_in_field_order() {
    let expected: &[u8] = &[
        b'P', 0xAC, 0x02, // type, start_ts 300 as varint
        b'v', 2, b'a', b'b', // short value
        b'R', // overlapped rollback
        b'F', 0, 0, 0, 0, 0, 0, 0x01, 0x02, // gc fence
        b'l', 0, 0, 0, 0, 0, 0, 0, 7, 2, // last change ts 7, 2 versions
        b'S', 1, // txn source
    ];
    assert_eq!(full().encode().unwrap(), expected);
    assert_eq!(Write::decode(expected).unwrap(), full());
}

#[test]
fn mvcc_8_type_bytes() {
    for (t, b) in [
        (WriteType::Put, b'P'),
        (WriteType::Delete, b'D'),
        (WriteType::Lock, b'L'),
        (WriteType::Rollback, b'R'),
    ] {
        assert_eq!(t.to_u8(), b);
        assert_eq!(WriteType::from_u8(b), Some(t));
        assert_eq!(Write::new(t, 1, None).encode().unwrap(), [b, 1]);
    }
}

#[test]
fn mvcc_8_unknown_type_byte_is_an_error_naming_it() {
    let err = Write::decode(&[b'X', 1]).unwrap_err();
    assert_eq!(
        err,
        CodecError::Unknown {
            what: "write record type",
            value: u64::from(b'X')
        }
    );
    assert!(err.to_string().contains("write record type"));
    assert!(matches!(
        Write::decode(&[]),
        Err(CodecError::Truncated {
            what: "write record type",
            ..
        })
    ));
}

#[test]
fn mvcc_9_missing_or_overlong_start_ts_is_an_error() {
    assert!(matches!(
        Write::decode(b"P"),
        Err(CodecError::Truncated {
            what: "write record start_ts",
            ..
        })
    ));
    assert!(matches!(
        Write::decode(&[b'P', 0x80]),
        Err(CodecError::Truncated {
            what: "write record start_ts",
            ..
        })
    ));
    let mut over = vec![b'P'];
    over.extend_from_slice(&[0xFF; 11]);
    assert!(matches!(
        Write::decode(&over),
        Err(CodecError::Invalid {
            what: "write record start_ts",
            ..
        })
    ));
}

#[test]
fn mvcc_11_short_value_over_255_bytes_is_refused_by_the_encoder() {
    let ok = Write::new(WriteType::Put, 1, Some(vec![7; 255]));
    let enc = ok.encode().unwrap();
    assert_eq!(enc[3], 255);
    assert_eq!(Write::decode(&enc).unwrap(), ok);
    let too_long = Write::new(WriteType::Put, 1, Some(vec![7; 256]));
    assert!(matches!(
        too_long.encode(),
        Err(CodecError::Invalid {
            what: "write record short value",
            ..
        })
    ));
}

#[test]
fn mvcc_13_truncated_known_fields_are_errors_naming_the_field() {
    let enc = full().encode().unwrap();
    let cases: &[(usize, &str)] = &[
        (4, "write record short value length"),
        (5, "write record short value"),
        (10, "write record gc_fence"),
        (19, "write record last_change ts"),
        (26, "write record last_change versions"),
        (28, "write record txn_source"),
    ];
    for &(cut, field) in cases {
        match Write::decode(&enc[..cut]) {
            Err(CodecError::Truncated { what, .. }) => assert_eq!(what, field, "cut {cut}"),
            other => panic!("cut {cut}: expected truncated {field}, got {other:?}"),
        }
    }
    // Every other prefix either decodes or fails; none panics.
    for cut in 0..enc.len() {
        let _ = Write::decode(&enc[..cut]);
    }
}

#[test]
fn mvcc_12_unknown_tag_stops_parsing_silently() {
    let mut enc = Write::new(WriteType::Put, 5, Some(b"x".to_vec()))
        .encode()
        .unwrap();
    enc.extend_from_slice(b"Zjunk S\x05");
    let w = WriteRef::parse(&enc).unwrap();
    assert_eq!(w.short_value, Some(&b"x"[..]));
    assert_eq!(w.txn_source, 0, "fields after an unknown tag are ignored");
    assert_eq!(w.unknown_tail, b"Zjunk S\x05");
}

#[test]
fn mvcc_14_protected_rollback() {
    let p = Write::new(WriteType::Rollback, 9, Some(b"p".to_vec()));
    assert!(p.is_protected_rollback());
    assert_eq!(p.encode().unwrap(), [b'R', 9, b'v', 1, b'p']);
    assert!(!Write::new(WriteType::Rollback, 9, None).is_protected_rollback());
    assert!(!Write::new(WriteType::Put, 9, Some(b"p".to_vec())).is_protected_rollback());
}

#[test]
fn mvcc_15_last_change_parts() {
    let mut w = Write::new(WriteType::Lock, 3, None);
    assert_eq!(w.last_change_kind(), LastChange::Unknown);
    w.last_change = Some((0, 0));
    assert_eq!(w.last_change_kind(), LastChange::Unknown);
    w.last_change = Some((0, 4));
    assert_eq!(w.last_change_kind(), LastChange::NotExist);
    w.last_change = Some((10, 4));
    assert_eq!(
        w.last_change_kind(),
        LastChange::Exist {
            ts: 10,
            versions: 4
        }
    );
    // ts > 0 with 0 versions: TiKV asserts on it; we refuse to read or write it.
    w.last_change = Some((10, 0));
    assert!(w.encode().is_err());
    let bad = [b'L', 3, b'l', 0, 0, 0, 0, 0, 0, 0, 10, 0];
    assert!(matches!(
        Write::decode(&bad),
        Err(CodecError::Invalid {
            what: "write record last_change",
            ..
        })
    ));
}

#[test]
fn mvcc_10_zero_txn_source_is_not_written() {
    assert_eq!(
        Write::new(WriteType::Delete, 1, None).encode().unwrap(),
        b"D\x01"
    );
}

#[test]
fn mvcc_18_gc_fence_invalidates_latest_version() {
    let mut w = Write::new(WriteType::Put, 1, None);
    assert!(w.as_ref().passes_gc_fence(100));
    w.gc_fence = Some(0);
    assert!(w.as_ref().passes_gc_fence(100));
    w.gc_fence = Some(100);
    assert!(!w.as_ref().passes_gc_fence(100));
    w.gc_fence = Some(101);
    assert!(w.as_ref().passes_gc_fence(100));
}

fn rec(t: WriteType, start: u64) -> Vec<u8> {
    Write::new(t, start, Some(b"v".to_vec())).encode().unwrap()
}

#[test]
fn mvcc_17_full_backup_takes_newest_put_skipping_locks_and_rollbacks() {
    let (put, lock, rb) = (
        rec(WriteType::Put, 5),
        rec(WriteType::Lock, 15),
        rec(WriteType::Rollback, 25),
    );
    let versions = [(30, &rb[..]), (20, &lock[..]), (10, &put[..])];
    let (ts, w) = backup_entry(versions, 0, 100).unwrap().unwrap();
    assert_eq!((ts, w.write_type, w.start_ts), (10, WriteType::Put, 5));
    // Versions above backup_ts are not visible.
    let newer = rec(WriteType::Put, 150);
    let versions = [(200, &newer[..]), (10, &put[..])];
    assert_eq!(backup_entry(versions, 0, 100).unwrap().unwrap().0, 10);
    assert_eq!(backup_entry(versions, 0, 5).unwrap(), None);
}

#[test]
fn mvcc_17_delete_omits_key_in_full_backup_and_is_kept_in_incremental() {
    let (put, del) = (rec(WriteType::Put, 5), rec(WriteType::Delete, 15));
    let versions = [(20, &del[..]), (10, &put[..])];
    assert_eq!(backup_entry(versions, 0, 100).unwrap(), None);
    let (ts, w) = backup_entry(versions, 12, 100).unwrap().unwrap();
    assert_eq!((ts, w.write_type), (20, WriteType::Delete));
    // Nothing newer than begin_ts: the key is not in an incremental backup.
    assert_eq!(backup_entry(versions, 20, 100).unwrap(), None);
}

#[test]
fn mvcc_17_gc_fenced_newest_version_omits_key() {
    let mut fenced = Write::new(WriteType::Put, 5, Some(b"v".to_vec()));
    fenced.gc_fence = Some(50);
    let fenced = fenced.encode().unwrap();
    let old = rec(WriteType::Put, 1);
    let versions = [(10, &fenced[..]), (2, &old[..])];
    assert_eq!(backup_entry(versions, 0, 100).unwrap(), None);
    assert_eq!(backup_entry(versions, 0, 40).unwrap().unwrap().0, 10);
}

#[test]
fn mvcc_17_damaged_or_unordered_versions_are_errors() {
    let put = rec(WriteType::Put, 5);
    assert!(backup_entry([(10, &b"X\x01"[..])], 0, 100).is_err());
    assert!(backup_entry([(10, &put[..]), (20, &put[..])], 0, 5).is_err());
}

fn arb_write() -> impl Strategy<Value = Write> {
    (
        prop_oneof![
            Just(WriteType::Put),
            Just(WriteType::Delete),
            Just(WriteType::Lock),
            Just(WriteType::Rollback)
        ],
        any::<u64>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=255)),
        any::<bool>(),
        proptest::option::of(any::<u64>()),
        proptest::option::of((any::<u64>(), 1..u64::MAX)),
        any::<u64>(),
    )
        .prop_map(|(t, s, v, r, f, l, src)| Write {
            write_type: t,
            start_ts: s,
            short_value: v,
            has_overlapped_rollback: r,
            gc_fence: f,
            last_change: l,
            txn_source: src,
        })
}

proptest! {
    #[test]
    fn mvcc_10_round_trip(w in arb_write()) {
        let enc = w.encode().unwrap();
        prop_assert_eq!(Write::decode(&enc).unwrap(), w.clone());
        let r = WriteRef::parse(&enc).unwrap();
        prop_assert!(r.unknown_tail.is_empty());
        prop_assert_eq!(r.encode().unwrap(), enc);
    }

    #[test]
    fn write_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Write::decode(&data);
    }

    #[test]
    fn write_bit_flips_never_panic(w in arb_write(), pos: usize, bit in 0u8..8) {
        let mut enc = w.encode().unwrap();
        let i = pos % enc.len();
        enc[i] ^= 1 << bit;
        let _ = Write::decode(&enc);
    }
}
