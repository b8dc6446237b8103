//! `brtool export` and `brtool diff` (format/view.md VIEW-11, VIEW-12) over the view tests'
//! archives (tests/support/view_fixture.rs): export writes the view's bytes (and so the
//! source's dump); diff of a view against itself is empty; diff of the snapshot against a
//! later ts reports exactly the source's inserted / deleted / changed rows, computed here from
//! the source's raw record KVs by handle.

mod support;

#[path = "support/view_fixture.rs"]
mod view_fixture;
use view_fixture::{fixture, Fixture, Image};

use brkit::codec::row::RowDecoder;
use brkit::codec::table::{classify, KeyKind};
use brkit::engine::filter::TableFilter;
use brkit::engine::view::diff::{diff, DiffSide, DiffStatus, TableDiff};
use brkit::engine::view::{copy_file, ArchiveView, TableFileKind, ViewOptions};
use brkit::engine::workload::write_csv_row;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

fn brtool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_brtool"))
}

fn open(f: &Fixture) -> Arc<ArchiveView> {
    let mut o = ViewOptions::new(&f.snap_url);
    o.log_storage = Some(f.log_url.clone());
    o.cache_dir = f.scratch();
    ArchiveView::open(o).unwrap()
}

fn view_bytes(v: &ArchiveView, ts: u64, db: &str, t: &str, kind: TableFileKind) -> Vec<u8> {
    let (cat, table) = v.find_table(ts, db, t).unwrap();
    let mut out = Vec::new();
    copy_file(v.table_file(&cat, &table, kind).unwrap().as_ref(), &mut out).unwrap();
    out
}

#[test]
fn view_11_export_writes_the_view_bytes_to_a_file_and_to_stdout() {
    let f = fixture();
    let v = open(f);
    let scratch = f.scratch();
    for (ts, db, table, format, kind) in [
        (
            f.snapshot_ts,
            "big",
            "all_types",
            "csv",
            TableFileKind::RowsCsv,
        ),
        (
            f.snapshot_ts,
            "sbtest",
            "orders_clustered",
            "jsonl",
            TableFileKind::RowsJsonl,
        ),
        (
            f.checkpoint,
            "sbtest",
            "orders_clustered",
            "csv",
            TableFileKind::RowsCsv,
        ),
        (
            f.checkpoint,
            "late",
            "metrics_part",
            "jsonl",
            TableFileKind::RowsJsonl,
        ),
    ] {
        let want = view_bytes(&v, ts, db, table, kind);
        if kind == TableFileKind::RowsCsv {
            assert!(
                want == f.image(ts)[&(db.into(), table.into())].csv,
                "{db}.{table}"
            );
        }
        let out = scratch.join(format!("{db}.{table}.{ts}.{format}"));
        let st = brtool()
            .args(["export", "-s", &f.snap_url, "--log-storage", &f.log_url])
            .args(["--db", db, "--table", table, "--ts", &ts.to_string()])
            .args(["--format", format, "-o"])
            .arg(&out)
            .arg("--cache-dir")
            .arg(&scratch)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        assert!(
            std::fs::read(&out).unwrap() == want,
            "{db}.{table} {format} at {ts}"
        );
        let st = brtool()
            .args(["export", "-s", &f.snap_url, "--log-storage", &f.log_url])
            .args(["--db", db, "--table", table, "--ts", &ts.to_string()])
            .args(["--format", format, "-o", "-"])
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        assert!(st.stdout == want, "{db}.{table} {format} at {ts} to stdout");
    }
    // Bad input: a ts outside the window, a table that does not exist then.
    let st = brtool()
        .args([
            "export",
            "-s",
            &f.snap_url,
            "--db",
            "sbtest",
            "--table",
            "sbtest1",
        ])
        .args(["--ts", &(f.snapshot_ts + 1).to_string()])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("outside the restorable window"));
    let st = brtool()
        .args(["export", "-s", &f.snap_url, "--log-storage", &f.log_url])
        .args([
            "--db",
            "sbtest",
            "--table",
            "events_rowid",
            "--ts",
            &f.checkpoint.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("does not exist"));
}

/// The expected diff of two source images, by handle, rows compared decoded (VIEW-12).
fn expected(a: &Image, b: &Image) -> BTreeMap<(String, String), TableDiff> {
    let line = |info: &brkit::codec::model::TableInfo, key: &[u8], value: &[u8]| {
        let dec = RowDecoder::new(info).unwrap();
        let KeyKind::Record { handle, .. } = classify(key) else {
            panic!()
        };
        let datums = dec.decode_with_key(&handle, Some(key), value).unwrap();
        let mut out = Vec::new();
        write_csv_row(&mut out, &dec, &datums).unwrap();
        out
    };
    let mut out = BTreeMap::new();
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).cloned().collect();
    for k in keys {
        let (ta, tb) = (a.get(&k), b.get(&k));
        let mut d = TableDiff {
            db: k.0.clone(),
            table: k.1.clone(),
            status: DiffStatus::Same,
            rows_a: 0,
            rows_b: 0,
            inserted: 0,
            deleted: 0,
            changed: 0,
        };
        let parts = ta.or(tb).unwrap().rows.len();
        for p in 0..parts {
            let empty = BTreeMap::new();
            let ra = ta.map_or(&empty, |t| &t.rows[p]);
            let rb = tb.map_or(&empty, |t| &t.rows[p]);
            d.rows_a += ra.len() as u64;
            d.rows_b += rb.len() as u64;
            d.deleted += ra.keys().filter(|h| !rb.contains_key(*h)).count() as u64;
            d.inserted += rb.keys().filter(|h| !ra.contains_key(*h)).count() as u64;
            for (h, (ka, va)) in ra {
                if let Some((kb, vb)) = rb.get(h) {
                    let (ta, tb) = (ta.unwrap(), tb.unwrap());
                    if line(&ta.info, ka, va) != line(&tb.info, kb, vb) {
                        d.changed += 1;
                    }
                }
            }
        }
        d.status = match (ta, tb) {
            (Some(_), None) => DiffStatus::OnlyInA,
            (None, Some(_)) => DiffStatus::OnlyInB,
            _ if d.inserted + d.deleted + d.changed > 0 => DiffStatus::Changed,
            _ => DiffStatus::Same,
        };
        out.insert(k, d);
    }
    out
}

fn run_diff(v: &ArchiveView, ts_a: u64, ts_b: u64) -> BTreeMap<(String, String), TableDiff> {
    let mut got = BTreeMap::new();
    let all = TableFilter::parse(&[]).unwrap();
    diff(
        DiffSide { view: v, ts: ts_a },
        DiffSide { view: v, ts: ts_b },
        &all,
        &mut |t| {
            got.insert((t.db.clone(), t.table.clone()), t.clone());
            Ok(())
        },
    )
    .unwrap();
    got
}

#[test]
fn view_12_diff_of_a_view_against_itself_is_empty() {
    let f = fixture();
    let v = open(f);
    for ts in [f.snapshot_ts, f.checkpoint] {
        let got = run_diff(&v, ts, ts);
        assert_eq!(got.len(), f.image(ts).len());
        for (k, t) in &got {
            assert_eq!(t.status, DiffStatus::Same, "{k:?}: {t:?}");
            let rows: usize = f.image(ts)[k].rows.iter().map(|p| p.len()).sum();
            assert_eq!((t.rows_a, t.rows_b), (rows as u64, rows as u64), "{k:?}");
        }
    }
    let st = brtool()
        .args(["diff", "-s", &f.snap_url, "--json"])
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&st.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["same"], last["tables"]);
}

#[test]
fn view_12_diff_of_the_snapshot_against_later_ts_reports_the_sources_changes() {
    let f = fixture();
    let v = open(f);
    for ts in [f.mid_ts(), f.checkpoint] {
        let want = expected(f.image(f.snapshot_ts), f.image(ts));
        let got = run_diff(&v, f.snapshot_ts, ts);
        assert_eq!(got, want, "snapshot vs {ts}");
        let changed = want
            .values()
            .filter(|t| t.status == DiffStatus::Changed)
            .count();
        assert!(changed > 0, "the workload changed nothing?");
        assert!(
            want.values().any(|t| t.status == DiffStatus::OnlyInA),
            "the dropped table"
        );
        assert!(
            want.values().any(|t| t.status == DiffStatus::OnlyInB),
            "the created database"
        );
    }
    let st = brtool()
        .args(["diff", "-s", &f.snap_url, "--log-storage", &f.log_url])
        .args([
            "--ts2",
            &f.checkpoint.to_string(),
            "--json",
            "--db",
            "sbtest",
        ])
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&st.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want = expected(f.image(f.snapshot_ts), f.image(f.checkpoint));
    for l in &lines[..lines.len() - 1] {
        let k = (
            l["db"].as_str().unwrap().to_string(),
            l["table"].as_str().unwrap().to_string(),
        );
        assert_eq!(l, &want[&k].to_json(), "{k:?}");
    }
    let sum = &lines[lines.len() - 1];
    let inserted: u64 = want
        .values()
        .filter(|t| t.db == "sbtest")
        .map(|t| t.inserted)
        .sum();
    assert_eq!(sum["rows_inserted"], inserted);
    // Human output: the header and one line per table.
    let st = brtool()
        .args(["diff", "-s", &f.snap_url, "--log-storage", &f.log_url])
        .args(["--ts2", &f.checkpoint.to_string(), "--db", "late"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        text.contains("late.metrics_part") && text.contains("only-in-b"),
        "{text}"
    );
}
