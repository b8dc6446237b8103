//! Tests of the import endpoint: backup SSTs of one store staged into another under rewrite
//! rules (REWRITE-4, REWRITE-6), filtered to a region, ingested; the restored table's checksum
//! with the rules equals the source's (CSUM-6).

use super::test_util::*;
use super::{BackupFile, BackupOptions, DownloadOutcome, Store, StoreError};
use crate::archive::sst_writer::SstCompression;
use crate::cluster::{Epoch, Region};
use crate::codec::bytes::encode_bytes;
use crate::codec::table::{index_key, index_rule, record_prefix, record_rule, RewriteRule};
use crate::format::crypto::Cipher;
use crate::format::naming::snapshot::Cf;

fn backup_all(s: &Store, ts: u64, sst_max_size: u64) -> Vec<BackupFile> {
    let r = Region {
        id: 2,
        start: vec![],
        end: vec![],
        epoch: Epoch::default(),
        leader_store: s.store_id(),
        peer_id: 1,
    };
    let o = BackupOptions {
        start_version: 0,
        end_version: ts,
        compression: SstCompression::Lz4,
        compression_level: 0,
        cipher: Cipher::plaintext(),
        sst_max_size,
        backend: "local".into(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    s.backup_region(&r, b"", b"", &o, tmp.path(), &mut |f| {
        files.push(f);
        Ok(())
    })
    .unwrap();
    files
}

/// Table 7: 40 rows (every 3rd long) and an index 1 entry per row.
fn load(s: &Store) {
    for h in 0..40i64 {
        let len = if h % 3 == 0 { 500 } else { 30 };
        put(s, &row(7, h), &val(h as u64, len), 10, 11);
        put(s, &index_key(7, 1, &[h as u8]), b"0", 10, 11);
    }
}

fn rules() -> Vec<RewriteRule> {
    vec![record_rule(7, 70), index_rule(7, 1, 70, 3)]
}

/// Stages every file of `files` into `dst` (keeping [keep_start, keep_end)) and ingests them.
fn restore(dst: &Store, files: &[BackupFile], keep: (&[u8], &[u8])) -> Vec<DownloadOutcome> {
    let mut staged = Vec::new();
    let mut outs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let uuid = format!("uuid-{i}").into_bytes();
        let o = dst
            .stage_download(&f.bytes, f.cf, &rules(), keep.0, keep.1, &uuid)
            .unwrap();
        if !o.is_empty {
            staged.push((uuid, f.cf));
        }
        outs.push(o);
    }
    dst.ingest(&staged).unwrap();
    for (uuid, _) in &staged {
        assert!(!dst.staged_path(uuid).exists(), "staging file removed");
    }
    outs
}

#[test]
fn rewrite_6_restored_rows_carry_the_new_ids_and_csum_6_checksums_match() {
    let (_a, src) = temp_store(1);
    let (_b, dst) = temp_store(2);
    load(&src);
    let files = backup_all(&src, 20, 2000);
    assert!(files.len() > 2);
    restore(&dst, &files, (b"", b""));
    let rows: Vec<_> = scan_all(&dst, u64::MAX);
    assert_eq!(rows.len(), 80);
    for h in 0..40i64 {
        let len = if h % 3 == 0 { 500 } else { 30 };
        assert_eq!(dst.get(&row(70, h), 100).unwrap(), Some(val(h as u64, len)));
        assert_eq!(
            dst.get(&index_key(70, 3, &[h as u8]), 100).unwrap(),
            Some(b"0".to_vec())
        );
        assert_eq!(dst.get(&row(7, h), 100).unwrap(), None);
    }
    let t = |id| {
        (
            crate::codec::table::table_prefix(id),
            crate::codec::table::table_prefix(id + 1),
        )
    };
    let original = src.checksum(&[t(7)], 20, &[]).unwrap();
    let pairs: Vec<_> = rules()
        .iter()
        .map(|r| (r.old_prefix.clone(), r.new_prefix.clone()))
        .collect();
    let restored = dst.checksum(&[t(70)], u64::MAX, &pairs).unwrap();
    assert_eq!(restored, original, "CSUM-6");
    assert_eq!(original.total_kvs, 80);
}

#[test]
fn stage_download_keeps_only_the_target_region_range() {
    let (_a, src) = temp_store(1);
    let (_b, dst) = temp_store(2);
    load(&src);
    let files = backup_all(&src, 20, 0);
    let (ks, ke) = (encode_bytes(&row(70, 10)), encode_bytes(&row(70, 20)));
    let outs = restore(&dst, &files, (&ks, &ke));
    let kept: Vec<_> = scan_all(&dst, u64::MAX)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kept, (10..20).map(|h| row(70, h)).collect::<Vec<_>>());
    let write = outs
        .iter()
        .zip(&files)
        .find(|(_, f)| f.cf == Cf::Write)
        .unwrap()
        .0;
    assert!(!write.is_empty);
    assert_eq!(write.kvs, 10);
    assert_eq!(write.range, (ks.clone(), encode_bytes(&row(70, 19))));
    // A range holding nothing of the file stages nothing, and ingesting it is refused.
    let (es, ee) = (encode_bytes(&row(90, 0)), encode_bytes(&row(91, 0)));
    let f = &files[0];
    let o = dst
        .stage_download(&f.bytes, f.cf, &rules(), &es, &ee, b"empty")
        .unwrap();
    assert!(o.is_empty);
    assert!(matches!(
        dst.ingest(&[(b"empty".to_vec(), f.cf)]),
        Err(StoreError::Invalid { .. })
    ));
}

#[test]
fn rewrite_4_key_matching_no_rule_is_an_error_naming_it() {
    let (_a, src) = temp_store(1);
    let (_b, dst) = temp_store(2);
    load(&src);
    let files = backup_all(&src, 20, 0);
    let w = files.iter().find(|f| f.cf == Cf::Write).unwrap();
    let only_records = vec![record_rule(7, 70)];
    let err = dst
        .stage_download(&w.bytes, Cf::Write, &only_records, b"", b"", b"u")
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Invalid { .. }), "{msg}");
    assert!(msg.contains("matches no rewrite rule"), "{msg}");
    // Without rules, keys stay as they are.
    let o = dst
        .stage_download(&w.bytes, Cf::Write, &[], b"", b"", b"u")
        .unwrap();
    assert_eq!(o.kvs, 80);
    assert!(o.range.0.starts_with(&encode_bytes(&record_prefix(7))[..8]));
}

#[test]
fn damaged_download_is_a_format_error() {
    let (_a, src) = temp_store(1);
    let (_b, dst) = temp_store(2);
    load(&src);
    let files = backup_all(&src, 20, 0);
    let mut bytes = files[0].bytes.to_vec();
    let n = bytes.len();
    bytes.truncate(n - 10);
    let err = dst
        .stage_download(&bytes, files[0].cf, &rules(), b"", b"", b"x")
        .unwrap_err();
    assert!(matches!(err, StoreError::Format { .. }), "{err}");
    let mut flipped = files[0].bytes.to_vec();
    flipped[20] ^= 0x40;
    assert!(dst
        .stage_download(&flipped, files[0].cf, &rules(), b"", b"", b"x")
        .is_err());
}

#[test]
fn rewrite_6_rules_that_reorder_keys_still_stage_a_sorted_sst() {
    let (_a, src) = temp_store(1);
    let (_b, dst) = temp_store(2);
    load(&src);
    let files = backup_all(&src, 20, 0);
    let w = files.iter().find(|f| f.cf == Cf::Write).unwrap();
    // Source order: t7_i… before t7_r…; rewritten: t80_i… after t70_r…, so the streaming
    // path must give way to collect-and-sort.
    let swap = vec![record_rule(7, 70), index_rule(7, 1, 80, 3)];
    let o = dst
        .stage_download(&w.bytes, Cf::Write, &swap, b"", b"", b"sorted")
        .unwrap();
    assert_eq!(o.kvs, 80);
    let records = encode_bytes(&record_prefix(70));
    assert!(o.range.0.starts_with(&records[..8]));
    assert!(o.range.1 > o.range.0);
    dst.ingest(&[(b"sorted".to_vec(), Cf::Write)]).unwrap();
}

#[test]
fn rewrite_4_error_midway_leaves_no_staged_file() {
    let (_a, src) = temp_store(1);
    let (_b, dst) = temp_store(2);
    load(&src);
    let files = backup_all(&src, 20, 0);
    let w = files.iter().find(|f| f.cf == Cf::Write).unwrap();
    // Index keys come first and are staged; the first record key matches no rule.
    let only_index = vec![index_rule(7, 1, 70, 3)];
    let err = dst
        .stage_download(&w.bytes, Cf::Write, &only_index, b"", b"", b"mid")
        .unwrap_err();
    assert!(err.to_string().contains("matches no rewrite rule"), "{err}");
    assert!(!dst.staged_path(b"mid").exists());
}
