//! PITR planning: the restored ts against the window (LOG-TRUNC-2) and the snapshot, and the
//! sub-files the replay reads (LOG-FILE-7, LOG-FILE-8).

use super::*;
use crate::format::logmeta::LogCompression;

fn w(min_ts: u64, max_ts: u64) -> RestorableWindow {
    RestorableWindow { min_ts, max_ts }
}

fn flag_of(r: Result<u64>) -> &'static str {
    match r {
        Err(EngineError::BadOption { flag, .. }) => flag,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn log_trunc_2_restored_ts_defaults_to_the_global_checkpoint() {
    assert_eq!(restored_ts(&w(100, 500), 200, None).unwrap(), 500);
    assert_eq!(restored_ts(&w(100, 500), 200, Some(200)).unwrap(), 200);
    assert_eq!(restored_ts(&w(100, 500), 100, Some(300)).unwrap(), 300);
}

#[test]
fn log_trunc_2_restored_ts_outside_the_window_names_the_flag_and_window() {
    for ts in [501, 99] {
        match restored_ts(&w(100, 500), 100, Some(ts)) {
            Err(EngineError::BadOption { flag, detail }) => {
                assert_eq!(flag, "--restored-ts");
                assert!(
                    detail.contains("restorable window") && detail.contains("500"),
                    "{detail}"
                );
            }
            other => panic!("{ts}: {other:?}"),
        }
    }
}

#[test]
fn snapshot_before_the_log_start_is_refused_naming_full_backup_storage() {
    assert_eq!(
        flag_of(restored_ts(&w(100, 500), 99, None)),
        "--full-backup-storage"
    );
}

#[test]
fn restored_ts_before_the_snapshot_is_refused() {
    assert_eq!(
        flag_of(restored_ts(&w(100, 500), 300, Some(200))),
        "--restored-ts"
    );
    // the checkpoint has not passed the snapshot yet
    assert_eq!(
        flag_of(restored_ts(&w(100, 250), 300, None)),
        "--restored-ts"
    );
}

fn sf(cf: Cf, kind: EventKind, table: i64, min_ts: u64, max_ts: u64, min_begin: u64) -> LogSubFile {
    LogSubFile {
        sha256: None,
        path: String::new(),
        number_of_entries: 1,
        min_ts,
        max_ts,
        resolved_ts: 0,
        region_id: 1,
        start_key: vec![],
        end_key: vec![],
        cf,
        kind,
        is_meta: table == 0,
        table_id: table,
        length: 0,
        min_begin_ts_in_default_cf: min_begin,
        range_offset: 0,
        range_length: 0,
        compression: LogCompression::Zstd,
        crc64xor: 0,
        region_start_key: vec![],
        region_end_key: vec![],
        region_epochs: vec![],
        encryption: None,
    }
}

fn named(fs: Vec<LogSubFile>) -> Vec<(String, LogSubFile)> {
    fs.into_iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}"), f))
        .collect()
}

#[test]
fn log_file_8_default_window_starts_at_the_smallest_min_begin_ts_of_replayed_writes() {
    use EventKind::{Delete, Put};
    let files = named(
        vec![
            sf(Cf::Write, Put, 7, 90, 100, 80), // f0: at or before the snapshot: skipped
            sf(Cf::Write, Put, 7, 101, 150, 60), // f1: replayed, min_begin 60
            sf(Cf::Write, Put, 7, 301, 350, 300), // f2: after the restored ts: skipped
            sf(Cf::Default, Put, 7, 50, 59, 50), // f3: before the shift ts: skipped
            sf(Cf::Default, Put, 7, 55, 70, 55), // f4: meets [60, 200]
            sf(Cf::Default, Put, 7, 201, 220, 201), // f5: after the restored ts: skipped
            sf(Cf::Write, Put, 8, 120, 130, 110), // f6: another table: skipped
            sf(Cf::Write, Put, 0, 120, 130, 110), // f7: meta-KV: not data
            sf(Cf::Write, Delete, 7, 120, 130, 0), // f8: a delete file, applied last
        ]
        .into_iter()
        .map(|mut f| {
            if f.cf == Cf::Default {
                f.min_begin_ts_in_default_cf = f.min_ts;
            }
            f
        })
        .collect(),
    );
    let ids = BTreeSet::from([7]);
    let p = plan_replay(&files, &ids, 100, 200);
    assert_eq!(p.shift_ts, 60);
    let puts: Vec<(&str, u64, u64)> = p
        .puts
        .iter()
        .map(|r| (r.path.as_str(), r.start_ts, r.restore_ts))
        .collect();
    assert_eq!(
        puts,
        vec![("f4", 60, 200), ("f1", 101, 200)],
        "defaults first, then writes"
    );
    assert_eq!(p.deletes.len(), 1);
    assert_eq!(p.deletes[0].path, "f8");
    assert_eq!(p.files().count(), 3);
}

#[test]
fn shift_ts_is_capped_at_the_snapshot_when_no_write_started_earlier() {
    let files = named(vec![sf(Cf::Write, EventKind::Put, 7, 150, 160, 140)]);
    let p = plan_replay(&files, &BTreeSet::from([7]), 100, 200);
    assert_eq!(p.shift_ts, 101);
}

#[test]
fn meta_files_are_write_puts_in_the_window_and_defaults_up_to_the_restored_ts() {
    use EventKind::{Delete, Put};
    let files = named(vec![
        sf(Cf::Write, Put, 0, 90, 100, 0),  // f0: at the snapshot: skipped
        sf(Cf::Write, Put, 0, 120, 130, 0), // f1
        sf(Cf::Default, Put, 0, 10, 20, 0), // f2: an old start ts is still needed
        sf(Cf::Default, Put, 0, 210, 220, 0), // f3: after: skipped
        sf(Cf::Write, Delete, 0, 120, 130, 0), // f4: deletes are not schema changes
        sf(Cf::Write, Put, 5, 120, 130, 0), // f5: data
    ]);
    let got: Vec<String> = meta_files(&files, 100, 200)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(got, vec!["f1", "f2"]);
}
