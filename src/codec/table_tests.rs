//! Tests of TiDB keys, backup ranges and rewrite rules (format/tidb-keys.md).

use super::*;
use crate::codec::mvcc::encode_mvcc_key;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

// Worked key from br-format-facts.md §4.1 (table 110, handle 1), verified there independently.
#[test]
fn key_3_table_110_handle_1_known_answer() {
    let raw = hex("74 80 00 00 00 00 00 00 6E 5F 72 80 00 00 00 00 00 00 01");
    assert_eq!(record_key_int(110, 1), raw);
    assert_eq!(raw.len(), RECORD_KEY_INT_LEN);
    assert_eq!(
        encode_bytes(&raw),
        hex("74 80 00 00 00 00 00 00 FF 6E 5F 72 80 00 00 00 00 FF 00 00 01 00 00 00 00 00 FA")
    );
    assert_eq!(
        classify(&raw),
        KeyKind::Record {
            table_id: 110,
            handle: Handle::Int(1)
        }
    );
    assert_eq!(decode_table_id(&raw), Some(110));
}

#[test]
fn key_1_table_prefix_and_negative_ids() {
    assert_eq!(table_prefix(110), hex("74 80 00 00 00 00 00 00 6E"));
    assert_eq!(table_prefix(-1), hex("74 7F FF FF FF FF FF FF FF"));
    assert_eq!(decode_table_id(&table_prefix(-5)), Some(-5));
    assert_eq!(decode_table_id(b"t\x80\x00"), None);
    assert_eq!(decode_table_id(b"m\x80\x00\x00\x00\x00\x00\x00\x01"), None);
    assert_eq!(decode_table_id(b""), None);
}

#[test]
fn key_4_index_key_layout_and_classification() {
    let k = index_key(110, 2, &[0x03, 1, 2, 3]);
    assert_eq!(
        k,
        hex("74 80 00 00 00 00 00 00 6E 5F 69 80 00 00 00 00 00 00 02 03 01 02 03")
    );
    assert_eq!(index_prefix(110, 2).len(), INDEX_PREFIX_LEN);
    assert_eq!(
        classify(&k),
        KeyKind::Index {
            table_id: 110,
            index_id: 2,
            rest: vec![3, 1, 2, 3]
        }
    );
}

#[test]
fn key_6_classify_common_handles_and_near_misses() {
    let common = record_key_common(7, &[0x01, b'a', 0, 0, 0, 0, 0, 0, 0, 0xF8]);
    assert_eq!(
        classify(&common),
        KeyKind::Record {
            table_id: 7,
            handle: Handle::Common(vec![0x01, b'a', 0, 0, 0, 0, 0, 0, 0, 0xF8])
        }
    );
    assert_eq!(classify(&record_prefix(7)), KeyKind::Other);
    assert_eq!(classify(&table_prefix(7)), KeyKind::Other);
    assert_eq!(classify(&index_prefix(7, 1)[..15]), KeyKind::Other);
    assert_eq!(classify(b"t"), KeyKind::Other);
    assert_eq!(classify(b"x-anything"), KeyKind::Other);
    assert_eq!(classify(b"m\x01"), KeyKind::Other);
}

#[test]
fn key_5_meta_hash_keys_for_databases_and_tables() {
    let k = meta_hash_key(b"DB:2", b"Table:110");
    // m, EncodeBytes("DB:2"), EncodeUint('h'), EncodeBytes("Table:110")
    let mut want = vec![b'm'];
    want.extend_from_slice(&hex("44 42 3A 32 00 00 00 00 FB"));
    want.extend_from_slice(&hex("00 00 00 00 00 00 00 68"));
    want.extend_from_slice(&hex(
        "54 61 62 6C 65 3A 31 31 FF 30 00 00 00 00 00 00 00 F8",
    ));
    assert_eq!(k, want);
    let m = decode_meta_key(&k).unwrap();
    assert_eq!(m.key, b"DB:2");
    assert_eq!(m.type_flag, u64::from(b'h'));
    assert_eq!(m.parsed_field(), MetaField::Table(110));
    assert_eq!(classify(&k), KeyKind::Meta(m));
    let db = decode_meta_key(&meta_hash_key(b"DBs", b"DB:2")).unwrap();
    assert_eq!(db.parsed_field(), MetaField::Db(2));
    assert_eq!(parse_meta_field(b"TID:5"), MetaField::Other);
    assert_eq!(parse_meta_field(b"Table:x"), MetaField::Other);
}

#[test]
fn key_5_damaged_meta_keys_are_errors() {
    let k = meta_hash_key(b"DB:2", b"Table:110");
    for cut in 1..k.len() {
        assert!(decode_meta_key(&k[..cut]).is_err(), "cut {cut}");
    }
    let mut trailing = k.clone();
    trailing.push(0);
    assert!(decode_meta_key(&trailing).is_err());
    assert!(decode_meta_key(b"t").is_err());
    // Non-hash flags keep what follows raw (a string-data key has nothing after the flag).
    let mut s = vec![b'm'];
    s.extend_from_slice(&encode_bytes(b"SchemaVersionKey"));
    s.extend_from_slice(&encode_u64(u64::from(b's')));
    let m = decode_meta_key(&s).unwrap();
    assert_eq!(
        (m.type_flag, m.field, m.rest),
        (u64::from(b's'), None, vec![])
    );
}

#[test]
fn key_5_meta_string_key_is_bytes_then_s_flag() {
    // m, EncodeBytes("NextGlobalID") (12 bytes: one full group + one of 4), EncodeUint('s')
    let k = meta_string_key(b"NextGlobalID");
    let mut want = vec![b'm'];
    want.extend_from_slice(&hex(
        "4E 65 78 74 47 6C 6F 62 FF 61 6C 49 44 00 00 00 00 FB",
    ));
    want.extend_from_slice(&hex("00 00 00 00 00 00 00 73"));
    assert_eq!(k, want);
    let m = decode_meta_key(&k).unwrap();
    assert_eq!(
        (m.key.as_slice(), m.type_flag, m.field, m.rest),
        (&b"NextGlobalID"[..], META_STRING_DATA, None, vec![])
    );
    assert_eq!(classify(&k), KeyKind::Meta(decode_meta_key(&k).unwrap()));
}

// Bytes from pingcap/tidb pkg/distsql (encodeHandleKey, EncodeIndexKey) with
// ranger.FullIntRange / FullNotNullRange / FullRange and kv.Key.PrefixNext.
#[test]
fn range_1_to_3_backup_ranges() {
    let r = record_range_int(110);
    assert_eq!(
        r.start,
        hex("74 80 00 00 00 00 00 00 6E 5F 72 00 00 00 00 00 00 00 00")
    );
    assert_eq!(
        r.end,
        hex("74 80 00 00 00 00 00 00 6E 5F 72 FF FF FF FF FF FF FF FF 00")
    );
    let c = record_range_common(110);
    assert_eq!(c.start, hex("74 80 00 00 00 00 00 00 6E 5F 72 01"));
    assert_eq!(c.end, hex("74 80 00 00 00 00 00 00 6E 5F 72 FB"));
    let i = index_range(110, 1);
    assert_eq!(
        i.start,
        hex("74 80 00 00 00 00 00 00 6E 5F 69 80 00 00 00 00 00 00 01 00")
    );
    assert_eq!(
        i.end,
        hex("74 80 00 00 00 00 00 00 6E 5F 69 80 00 00 00 00 00 00 01 FB")
    );
}

#[test]
fn range_4_table_range_is_next_table_prefix() {
    let r = table_range(110);
    assert_eq!(r.start, table_prefix(110));
    assert_eq!(r.end, table_prefix(111));
    assert_eq!(table_range(-1).end, table_prefix(0));
    assert_eq!(table_range(i64::MAX).end, hex("75 00 00 00 00 00 00 00 00"));
}

#[test]
fn prefix_next_matches_tidb() {
    assert_eq!(prefix_next(b"ab"), b"ac");
    assert_eq!(prefix_next(&[1, 0xFF]), [2, 0]);
    assert_eq!(prefix_next(&[0xFF, 0xFF]), [0xFF, 0xFF, 0]);
    assert_eq!(prefix_next(&[]), [0]);
}

#[test]
fn rewrite_2_detail_rules_rewrite_rows_and_indexes() {
    let rules = [record_rule(110, 210), index_rule(110, 1, 210, 3)];
    assert_eq!(
        rewrite_raw_key(&rules, &record_key_int(110, 9)),
        Some(record_key_int(210, 9))
    );
    assert_eq!(
        rewrite_raw_key(&rules, &index_key(110, 1, b"\x03abc")),
        Some(index_key(210, 3, b"\x03abc"))
    );
    assert_eq!(rewrite_raw_key(&rules, &index_key(110, 2, b"x")), None);
    assert_eq!(rewrite_raw_key(&rules, &record_key_int(111, 9)), None);
}

#[test]
fn rewrite_4_longest_prefix_wins() {
    let rules = [table_rule(110, 500), index_rule(110, 1, 210, 3)];
    assert_eq!(
        rewrite_raw_key(&rules, &index_key(110, 1, b"v")),
        Some(index_key(210, 3, b"v"))
    );
    assert_eq!(
        rewrite_raw_key(&rules, &record_key_int(110, 1)),
        Some(record_key_int(500, 1))
    );
}

// br-format-facts.md §4.3: t{id}_r (11 bytes) becomes 't' id[0..7] FF id[7] '_' 'r'.
#[test]
fn rewrite_5_encode_key_prefix_legacy_form() {
    assert_eq!(
        encode_key_prefix(&record_prefix(110)),
        hex("74 80 00 00 00 00 00 00 FF 6E 5F 72")
    );
    assert_eq!(encode_key_prefix(b"abc"), b"abc");
    assert_eq!(encode_key_prefix(b""), b"");
    assert_eq!(
        encode_key_prefix(b"abcdefgh"),
        hex("61 62 63 64 65 66 67 68 FF")
    );
}

#[test]
fn rewrite_6_encoded_key_keeps_ts() {
    let rules = [record_rule(110, 210)];
    let old = encode_mvcc_key(&record_key_int(110, 9), 42);
    let new = rewrite_encoded_key(&rules, &old).unwrap().unwrap();
    assert_eq!(new, encode_mvcc_key(&record_key_int(210, 9), 42));
    let other = encode_mvcc_key(&record_key_int(111, 9), 42);
    assert_eq!(rewrite_encoded_key(&rules, &other).unwrap(), None);
    assert!(rewrite_encoded_key(&rules, &old[..old.len() - 9]).is_err());
    assert!(rewrite_encoded_key(&rules, b"short").is_err());
}

#[test]
fn rewrite_7_proto_conversion_keeps_prefixes() {
    let r = record_rule(1, 2);
    let p: import_sstpb::RewriteRule = (&r).into();
    assert_eq!(p.old_key_prefix, record_prefix(1));
    assert_eq!(p.new_timestamp, 0);
    assert_eq!(RewriteRule::from(&p), r);
}

proptest! {
    #[test]
    fn key_3_record_keys_round_trip_and_keep_order(t: i64, a: i64, b: i64) {
        let (ka, kb) = (record_key_int(t, a), record_key_int(t, b));
        prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
        prop_assert_eq!(classify(&ka), KeyKind::Record { table_id: t, handle: Handle::Int(a) });
        let r = record_range_int(t);
        prop_assert!(r.start <= ka && ka < r.end);
        let tr = table_range(t);
        prop_assert!(tr.start <= ka && ka < tr.end);
    }

    #[test]
    fn range_3_index_keys_fall_in_index_range(t: i64, i: i64, flag in 0u8..0xFB,
            tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut v = vec![flag];
        v.extend_from_slice(&tail);
        let k = index_key(t, i, &v);
        let r = index_range(t, i);
        prop_assert!(r.start <= k && k < r.end);
    }

    #[test]
    fn rewrite_5_encoded_prefix_is_prefix_of_encoded_key(
            p in proptest::collection::vec(any::<u8>(), 0..30),
            tail in proptest::collection::vec(any::<u8>(), 0..30)) {
        let mut key = p.clone();
        key.extend_from_slice(&tail);
        prop_assert!(encode_bytes(&key).starts_with(&encode_key_prefix(&p)));
    }

    #[test]
    fn rewrite_5_legacy_encoded_rules_rewrite_encoded_keys_like_keyspace_mode(
            old: i64, new: i64, handle: i64, ts: u64, idx: i64, new_idx: i64,
            vals in proptest::collection::vec(any::<u8>(), 0..20)) {
        for (rule, key) in [
            (record_rule(old, new), record_key_int(old, handle)),
            (table_rule(old, new), record_key_int(old, handle)),
            (index_rule(old, idx, new, new_idx), index_key(old, idx, &vals)),
        ] {
            let enc = encode_mvcc_key(&key, ts);
            let legacy = rewrite_raw_key(&[rule.to_legacy_encoded()], &enc);
            let keyspace = rewrite_encoded_key(&[rule], &enc).unwrap();
            prop_assert!(legacy.is_some());
            prop_assert_eq!(legacy, keyspace);
        }
    }

    #[test]
    fn key_decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = classify(&data);
        let _ = decode_meta_key(&data);
        let _ = rewrite_encoded_key(&[record_rule(1, 2)], &data);
        let mut m = vec![b'm'];
        m.extend_from_slice(&data);
        let _ = classify(&m);
    }
}
