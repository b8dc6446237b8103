//! Issue 6, the data layer of `brfs mount` (format/view.md): archive views at the snapshot ts
//! and at ts inside the log's restorable window, checked against the source cluster read at
//! the same ts (tests/support/view_fixture.rs: a REAL log backup task, a snapshot mid-run,
//! drop / truncate / create after it). Every view call is blocking and runs outside any async
//! runtime, as FUSE threads call it.

mod support;

#[path = "support/view_fixture.rs"]
mod view_fixture;
use view_fixture::{fixture, Fixture, Image};

use brkit::engine::view::{ArchiveView, TableFileKind, ViewError, ViewFile, ViewOptions};
use brkit::format::crypto::{Cipher, CipherMethod};
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::sync::Arc;

fn open(f: &Fixture, with_log: bool, cache_bytes: u64) -> Arc<ArchiveView> {
    let mut o = ViewOptions::new(&f.snap_url);
    if with_log {
        o.log_storage = Some(f.log_url.clone());
    }
    o.cache_dir = f.scratch();
    o.cache_bytes = cache_bytes;
    ArchiveView::open(o).unwrap()
}

fn read_all(file: &dyn ViewFile) -> Vec<u8> {
    let mut out = Vec::new();
    brkit::engine::view::copy_file(file, &mut out).unwrap();
    out
}

/// The catalog at `ts` lists exactly the source's tables, and every `rows.csv` equals
/// `brtool table dump` of the source at `ts` (VIEW-1, VIEW-3, VIEW-4).
fn assert_view_equals_source(view: &ArchiveView, ts: u64, want: &Image, label: &str) {
    let cat = view.catalog(ts).unwrap();
    assert_eq!(cat.ts, ts);
    let got: BTreeSet<(String, String)> = cat
        .tables()
        .map(|t| (t.db.clone(), t.name.clone()))
        .collect();
    let expected: BTreeSet<(String, String)> = want.keys().cloned().collect();
    assert_eq!(got, expected, "{label}: tables at ts {ts}");
    for t in cat.tables() {
        let w = &want[&(t.db.clone(), t.name.clone())];
        assert_eq!(t.info.id, w.info.id, "{label}: {}.{} id", t.db, t.name);
        let file = view.table_file(&cat, t, TableFileKind::RowsCsv).unwrap();
        // Streamed before the size is known, then the size agrees.
        let bytes = read_all(file.as_ref());
        assert!(
            bytes == w.csv,
            "{label}: rows.csv of {}.{} differs from the dump at ts {ts}:\n--- view\n{}\n--- dump\n{}",
            t.db,
            t.name,
            String::from_utf8_lossy(&bytes[..bytes.len().min(600)]),
            String::from_utf8_lossy(&w.csv[..w.csv.len().min(600)])
        );
        assert_eq!(
            file.size().unwrap(),
            w.csv.len() as u64,
            "{label}: size of {}",
            t.name
        );
    }
}

#[test]
fn view_4_snapshot_rows_csv_equals_the_source_dump_for_every_table() {
    let f = fixture();
    let view = open(f, false, 64 << 20);
    assert_eq!(view.snapshot_ts(), f.snapshot_ts);
    assert!(view.windows().is_empty());
    assert_view_equals_source(&view, f.snapshot_ts, f.image(f.snapshot_ts), "snapshot");
}

#[test]
fn view_3_pitr_views_equal_the_source_at_each_ts_through_ddl() {
    let f = fixture();
    let view = open(f, true, 64 << 20);
    let windows = view.windows();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0].0, f.snapshot_ts);
    assert!(windows[0].1 >= f.checkpoint, "{windows:?}");
    let points = view.flush_points();
    assert!(
        !points.is_empty() && points.windows(2).all(|w| w[0] < w[1]),
        "{points:?}"
    );
    assert_eq!(
        *points.last().unwrap(),
        windows[0].1,
        "the checkpoint is a flush point"
    );
    // The points differ from the snapshot (else the log would not be tested).
    let key = ("sbtest".to_string(), "sbtest1".to_string());
    let snap_csv = &f.image(f.snapshot_ts)[&key].csv;
    assert!(
        &f.image(f.checkpoint)[&key].csv != snap_csv,
        "no change after the snapshot"
    );
    for (label, ts, want) in &f.points {
        assert_view_equals_source(&view, *ts, want, label);
    }
    // The DDL after the snapshot shows: dropped, truncated (new id), created.
    let snap = view.catalog(f.snapshot_ts).unwrap();
    let late = view.catalog(f.checkpoint).unwrap();
    assert!(snap.find("sbtest", "events_rowid").is_some());
    assert!(late.find("sbtest", "events_rowid").is_none());
    assert_ne!(
        snap.find("sbtest", "orders_clustered").unwrap().info.id,
        late.find("sbtest", "orders_clustered").unwrap().info.id
    );
    assert!(snap.find("late", "sbtest1").is_none());
    assert!(late.find("late", "metrics_part").is_some());
}

#[test]
fn view_8_stats_checksums_equal_admin_checksum_of_the_source() {
    let f = fixture();
    let view = open(f, true, 64 << 20);
    for ts in [f.snapshot_ts, f.checkpoint] {
        let cat = view.catalog(ts).unwrap();
        for t in cat.tables() {
            let w = &f.image(ts)[&(t.db.clone(), t.name.clone())];
            let file = view.table_file(&cat, t, TableFileKind::StatsJson).unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&read_all(file.as_ref())).unwrap();
            let sum = &doc["checksum"];
            let label = format!("{}.{} at {ts}", t.db, t.name);
            assert_eq!(sum["crc64xor"], w.checksum.crc64xor, "{label}: {doc}");
            assert_eq!(sum["total_kvs"], w.checksum.total_kvs, "{label}");
            assert_eq!(sum["total_bytes"], w.checksum.total_bytes, "{label}");
            let source = if ts == f.snapshot_ts {
                "backupmeta"
            } else {
                "recomputed"
            };
            assert_eq!(sum["source"], source, "{label}");
            let rows: usize = w.rows.iter().map(|p| p.len()).sum();
            assert_eq!(doc["rows"], rows as u64, "{label}");
            assert_eq!(doc["rows_csv_bytes"], w.csv.len() as u64, "{label}");
        }
    }
}

#[test]
fn view_9_read_at_any_offset_and_length_equals_the_slice_of_the_content() {
    let f = fixture();
    let view = open(f, true, 256 << 10); // 16 KiB chunks: many chunks per table
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (ts, db, table) in [
        (f.snapshot_ts, "big", "sbtest1"),
        (f.snapshot_ts, "big", "all_types"),
        (f.checkpoint, "sbtest", "orders_clustered"),
        (f.checkpoint, "sbtest", "sbtest1"),
        (f.checkpoint, "late", "metrics_part"),
    ] {
        let want = &f.image(ts)[&(db.to_string(), table.to_string())].csv;
        let (cat, t) = view.find_table(ts, db, table).unwrap();
        let file = view.table_file(&cat, &t, TableFileKind::RowsCsv).unwrap();
        // Random reads before the size was ever asked, then after.
        for round in 0..2 {
            for _ in 0..40 {
                let off = rng.gen_range(0..want.len() as u64 + 10);
                let len = rng.gen_range(0..70_000usize);
                let mut buf = vec![0u8; len];
                let n = file.read_at(off, &mut buf).unwrap();
                let lo = (off as usize).min(want.len());
                let hi = (lo + len).min(want.len());
                assert_eq!(n, hi - lo, "{db}.{table} round {round} read {len} at {off}");
                assert!(
                    buf[..n] == want[lo..hi],
                    "{db}.{table} bytes at {off}+{len}"
                );
            }
            assert_eq!(file.size().unwrap(), want.len() as u64);
        }
        assert_eq!(file.read_at(u64::MAX, &mut [0u8; 8]).unwrap(), 0);
    }
}

#[test]
fn view_15_a_table_larger_than_the_cache_streams_in_bounded_memory() {
    let f = fixture();
    let cache = 32 << 10; // 4 KiB chunks
    let view = open(f, false, cache);
    let (cat, t) = view.find_table(f.snapshot_ts, "big", "sbtest1").unwrap();
    let want = &f.image(f.snapshot_ts)[&("big".to_string(), "sbtest1".to_string())];
    assert!(
        want.csv.len() > 8 * cache as usize,
        "{} bytes",
        want.csv.len()
    );
    let rows = want.rows[0].len() as u64;
    let file = view.table_file(&cat, &t, TableFileKind::RowsCsv).unwrap();
    // Sequential reads of 4 KiB (what FUSE does), before any size pass.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = file.read_at(got.len() as u64, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == want.csv);
    let s = view.cache_stats();
    assert!(s.peak_bytes <= cache, "{s:?}");
    // One pass per segment (plus read-ahead of the next), not one per read.
    assert!(s.rows_rendered <= 2 * rows, "{s:?} for {rows} rows");
    // Random reads after the size pass re-render at most a few chunks each.
    let size = file.size().unwrap();
    let before = view.cache_stats();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let reads = 20;
    for _ in 0..reads {
        let off = rng.gen_range(0..size);
        file.read_at(off, &mut buf).unwrap();
    }
    let after = view.cache_stats();
    let rows_per_chunk = rows * 4096 / size + 1;
    assert!(
        after.rows_rendered - before.rows_rendered <= reads * 6 * rows_per_chunk,
        "{before:?} -> {after:?}"
    );
    assert!(after.peak_bytes <= cache, "{after:?}");
}

#[test]
fn view_13_encrypted_archive_opens_only_with_the_right_key() {
    let f = fixture();
    let mut o = ViewOptions::new(&f.enc_url);
    o.cache_dir = f.scratch();
    let err = ArchiveView::open(o.clone()).err().expect("no key");
    assert!(err.to_string().contains("backupmeta"), "{err}");
    o.cipher = Cipher::new(CipherMethod::Aes256Ctr, vec![0x11; 32]).unwrap();
    let err = ArchiveView::open(o.clone()).err().expect("wrong key");
    assert!(err.to_string().contains("wrong --crypter.key"), "{err}");
    o.cipher = f.key.clone();
    let view = ArchiveView::open(o).unwrap();
    assert_eq!(view.snapshot_ts(), f.enc_ts);
    assert_view_equals_source(&view, f.enc_ts, f.image(f.enc_ts), "encrypted snapshot");
}

#[test]
fn view_2_a_ts_outside_the_window_is_ts_outside_window() {
    let f = fixture();
    let plain = open(f, false, 1 << 20);
    let e = plain.catalog(f.snapshot_ts + 1).unwrap_err();
    assert!(matches!(e, ViewError::TsOutsideWindow { .. }), "{e}");
    let view = open(f, true, 1 << 20);
    let (_, max) = view.windows()[0];
    for ts in [f.snapshot_ts - 1, max + 1, 1] {
        let e = view.catalog(ts).unwrap_err();
        assert!(
            matches!(e, ViewError::TsOutsideWindow { ts: t, .. } if t == ts),
            "{ts}: {e}"
        );
    }
    // Any ts inside resolves, flush point or not.
    let mid = f.snapshot_ts + (max - f.snapshot_ts) / 2;
    view.catalog(mid).unwrap();
    assert_eq!(view.parse_ts(&mid.to_string()).unwrap(), mid);
    let t = view.parse_ts("2026-11-21 10:00:00 +00:00").unwrap();
    assert_eq!(
        view.parse_ts("2026-11-21T10:00:00Z").unwrap(),
        t,
        "RFC 3339"
    );
    assert_eq!(view.parse_ts("2026-11-21 12:00:00 +02:00").unwrap(), t);
    assert!(view.parse_ts("yesterday").is_err());
}

/// Splits RFC 4180 CSV (as VIEW-4 writes it) into records of fields; `None` is `\N`.
fn parse_csv(mut s: &[u8]) -> Vec<Vec<Option<Vec<u8>>>> {
    let mut records = Vec::new();
    let mut rec = Vec::new();
    while !s.is_empty() {
        let (field, rest) = if s[0] == b'"' {
            let mut f = Vec::new();
            let mut i = 1;
            loop {
                if s[i] == b'"' {
                    if s.get(i + 1) == Some(&b'"') {
                        f.push(b'"');
                        i += 2;
                        continue;
                    }
                    break;
                }
                f.push(s[i]);
                i += 1;
            }
            (Some(f), &s[i + 1..])
        } else {
            let end = s.iter().position(|b| *b == b',' || *b == b'\n').unwrap();
            let raw = &s[..end];
            (
                if raw == br"\N" {
                    None
                } else {
                    Some(raw.to_vec())
                },
                &s[end..],
            )
        };
        rec.push(field);
        s = &rest[1..];
        if rest[0] == b'\n' {
            records.push(std::mem::take(&mut rec));
        }
    }
    records
}

#[test]
fn view_5_rows_jsonl_types_every_column_of_all_types() {
    use base64::Engine as _;
    let f = fixture();
    let view = open(f, false, 64 << 20);
    let (cat, t) = view.find_table(f.snapshot_ts, "big", "all_types").unwrap();
    let csv = read_all(
        view.table_file(&cat, &t, TableFileKind::RowsCsv)
            .unwrap()
            .as_ref(),
    );
    let jsonl = view.table_file(&cat, &t, TableFileKind::RowsJsonl).unwrap();
    let text = read_all(jsonl.as_ref());
    assert_eq!(jsonl.size().unwrap(), text.len() as u64);
    let records = parse_csv(&csv);
    let header: Vec<String> = records[0]
        .iter()
        .map(|h| String::from_utf8(h.clone().unwrap()).unwrap())
        .collect();
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), records.len() - 1, "one object per row");
    let mut seen_null = BTreeSet::new();
    for (line, rec) in lines.iter().zip(&records[1..]) {
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(line).unwrap();
        let keys: Vec<&String> = obj.keys().collect();
        assert_eq!(keys, header.iter().collect::<Vec<_>>(), "column order");
        for (name, field) in header.iter().zip(rec) {
            let v = &obj[name];
            let Some(field) = field else {
                assert!(v.is_null(), "{name}: {v}");
                seen_null.insert(name.clone());
                continue;
            };
            let text = String::from_utf8_lossy(field);
            match name.as_str() {
                "id" | "c_tinyint" | "c_utinyint" | "c_smallint" | "c_usmallint"
                | "c_mediumint" | "c_umediumint" | "c_int" | "c_uint" | "c_bigint"
                | "c_ubigint" | "c_float" | "c_double" => {
                    assert!(v.is_number(), "{name}: {v}");
                    assert_eq!(v.to_string(), text, "{name}");
                }
                "c_year" => assert_eq!(v.as_u64(), Some(text.parse::<u64>().unwrap()), "{name}"),
                "c_blob" | "c_binary" | "c_varbinary" => {
                    let b = base64::engine::general_purpose::STANDARD
                        .decode(v.as_str().unwrap())
                        .unwrap();
                    assert_eq!(&b, field, "{name}");
                }
                "c_bit" => {
                    let want = field.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
                    assert_eq!(v.as_u64(), Some(want), "{name}");
                }
                "c_json" => {
                    let want: serde_json::Value = serde_json::from_slice(field).unwrap();
                    assert_eq!(v, &want, "{name}");
                }
                _ => assert_eq!(v.as_str(), Some(text.as_ref()), "{name}: {v}"),
            }
        }
    }
    assert!(!lines.is_empty());
}

#[test]
fn view_6_7_schema_sql_and_table_json_of_a_view_table() {
    let f = fixture();
    let view = open(f, true, 1 << 20);
    let (cat, t) = view
        .find_table(f.checkpoint, "sbtest", "orders_clustered")
        .unwrap();
    let sql = read_all(
        view.table_file(&cat, &t, TableFileKind::SchemaSql)
            .unwrap()
            .as_ref(),
    );
    let sql = String::from_utf8(sql).unwrap();
    assert!(
        sql.starts_with("CREATE TABLE `orders_clustered` (\n"),
        "{sql}"
    );
    assert!(sql.ends_with("COLLATE=utf8mb4_bin;\n"), "{sql}");
    let json = read_all(
        view.table_file(&cat, &t, TableFileKind::TableJson)
            .unwrap()
            .as_ref(),
    );
    let info = brkit::codec::model::TableInfo::from_json(&json).unwrap();
    assert_eq!(info.id, t.info.id);
    // The same object each time (its index lives with the catalog).
    let a = view.table_file(&cat, &t, TableFileKind::RowsCsv).unwrap();
    let b = view.table_file(&cat, &t, TableFileKind::RowsCsv).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
}

#[test]
fn view_10_data_files_and_raw_objects_are_byte_identical() {
    let f = fixture();
    let view = open(f, true, 1 << 20);
    let objects = view.objects().unwrap();
    assert!(objects.iter().any(|(n, _)| n == "backupmeta"));
    assert!(objects
        .iter()
        .any(|(n, _)| n.starts_with("log/v1/backupmeta/")));
    let (_, t) = view.find_table(f.snapshot_ts, "big", "sbtest1").unwrap();
    let files = view.table_data_files(&t);
    assert!(!files.is_empty());
    let snap_dir = f.dir.path().join("snap");
    let log_dir = f.dir.path().join("log");
    let some_log = objects
        .iter()
        .find(|(n, _)| n.starts_with("log/v1/"))
        .unwrap()
        .clone();
    for (name, size) in files.iter().take(3).chain(std::iter::once(&some_log)) {
        let file = view.object_file(name, *size);
        let got = read_all(file.as_ref());
        let path = match name.strip_prefix("log/") {
            Some(rest) => log_dir.join(rest),
            None => snap_dir.join(name),
        };
        assert_eq!(got, std::fs::read(path).unwrap(), "{name}");
        assert_eq!(file.size().unwrap(), *size);
    }
    let meta: serde_json::Value = serde_json::from_slice(&view.backupmeta_json().unwrap()).unwrap();
    assert_eq!(meta["backup_ts"]["tso"], f.snapshot_ts);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &p);
        } else {
            std::fs::copy(e.path(), p).unwrap();
        }
    }
}

#[test]
fn view_9_a_damaged_data_file_is_an_error_not_a_panic() {
    let f = fixture();
    let bad = f.dir.path().join("snap-damaged");
    copy_dir(&f.dir.path().join("snap"), &bad);
    let good = open(f, false, 1 << 20);
    let (_, t) = good.find_table(f.snapshot_ts, "big", "sbtest1").unwrap();
    let (name, size) = good
        .table_data_files(&t)
        .into_iter()
        .filter(|(n, _)| n.contains("write"))
        .max_by_key(|(_, s)| *s)
        .unwrap();
    let path = bad.join(&name);
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, size);
    for i in (size as usize / 4..size as usize / 2).step_by(97) {
        bytes[i] ^= 0x5A;
    }
    std::fs::write(&path, bytes).unwrap();
    let mut o = ViewOptions::new(&format!("local://{}", bad.display()));
    o.cache_dir = f.scratch();
    let view = ArchiveView::open(o).unwrap(); // metadata is intact
    let (cat, t) = view.find_table(f.snapshot_ts, "big", "sbtest1").unwrap();
    let file = view.table_file(&cat, &t, TableFileKind::RowsCsv).unwrap();
    let mut out = Vec::new();
    let e = brkit::engine::view::copy_file(file.as_ref(), &mut out).unwrap_err();
    assert!(
        e.to_string().contains(&name) || e.to_string().contains("SST"),
        "{e}"
    );
    assert!(file.size().is_err());
}
