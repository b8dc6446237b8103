//! The truncate planner against BR's rule (LOG-TRUNC-3) and the crash-safe order (LOG-TRUNC-4).

use super::*;
use crate::format::logmeta::{LogGroup, LogMetaVersion, LogSubFile};

/// A sub-file of `cf` with ts `[min, max]` and `min_begin_ts_in_default_cf`.
fn sf(cf: Cf, min: u64, max: u64, begin: u64) -> LogSubFile {
    let mut f = crate::format::logmeta::tests::sub(0, 10);
    f.cf = cf;
    f.min_ts = min;
    f.max_ts = max;
    f.resolved_ts = max + 1;
    f.min_begin_ts_in_default_cf = begin;
    f
}

fn group(path: &str, files: Vec<LogSubFile>) -> LogGroup {
    LogGroup {
        path: path.into(),
        min_ts: files.iter().map(|f| f.min_ts).min().unwrap(),
        max_ts: files.iter().map(|f| f.max_ts).max().unwrap(),
        min_resolved_ts: files.iter().map(|f| f.resolved_ts).min().unwrap(),
        length: 10 * files.len() as u64,
        files,
    }
}

fn meta(path: &str, groups: Vec<LogGroup>) -> (String, LogMeta) {
    (
        path.into(),
        LogMeta {
            store_id: 1,
            resolved_ts: groups.iter().map(|g| g.min_resolved_ts).min().unwrap(),
            min_ts: groups.iter().map(|g| g.min_ts).min().unwrap(),
            max_ts: groups.iter().map(|g| g.max_ts).max().unwrap(),
            version: LogMetaVersion::V2,
            groups,
            files: vec![],
        },
    )
}

/// Flush 1: default CF of a txn started at 15 (and other data up to 30); flush 2: data 40..60;
/// flush 3: the commit at 110 of the txn started at 15, plus data 100..120.
fn archive() -> Vec<(String, LogMeta)> {
    vec![
        meta(
            "m1.meta",
            vec![group(
                "o1.log",
                vec![sf(Cf::Default, 15, 15, 15), sf(Cf::Write, 20, 30, 18)],
            )],
        ),
        meta(
            "m2.meta",
            vec![
                group("o2a.log", vec![sf(Cf::Write, 40, 50, 39)]),
                group("o2b.log", vec![sf(Cf::Write, 55, 60, 52)]),
            ],
        ),
        meta(
            "m3.meta",
            vec![group(
                "o3.log",
                vec![sf(Cf::Write, 100, 120, 15), sf(Cf::Default, 90, 95, 90)],
            )],
        ),
    ]
}

#[test]
fn log_trunc_3_shift_keeps_default_cf_of_txn_committing_after_until() {
    let a = archive();
    // The commit at 110 (>= until 70) started at 15: everything from 15 on stays.
    assert_eq!(shift_until_ts(&a, 70), 15);
    let p = plan_truncate(&a, None, 200, 70).unwrap();
    assert_eq!(p.shift_until_ts, 15);
    assert_eq!(p.steps, vec![TruncateStep::WriteSafepoint { ts: 70 }]);
}

#[test]
fn log_trunc_3_shift_ignores_default_cf_zero_begin_and_files_before_until() {
    let mut a = archive();
    // Without the long transaction, the write-CF sub-files overlapping [70, ∞) begin at 100.
    a[2].1.groups[0].files[0].min_begin_ts_in_default_cf = 100;
    assert_eq!(shift_until_ts(&a, 70), 70);
    // A zero min_begin_ts_in_default_cf is skipped like BR does.
    a[2].1.groups[0].files[0].min_begin_ts_in_default_cf = 0;
    assert_eq!(shift_until_ts(&a, 70), 70);
    // Default-CF sub-files never lower the shift, whatever their begin ts.
    a[2].1.groups[0].files[1].min_begin_ts_in_default_cf = 1;
    a[2].1.groups[0].files[1].max_ts = 130;
    assert_eq!(shift_until_ts(&a, 70), 70);
    // until inside a write sub-file: its begin ts counts.
    assert_eq!(shift_until_ts(&archive(), 45), 15);
}

#[test]
fn log_trunc_3_deletes_groups_below_shift_rewrites_and_deletes_metas_in_order() {
    let mut a = archive();
    a[2].1.groups[0].files[0].min_begin_ts_in_default_cf = 100;
    let p = plan_truncate(&a, Some(10), 200, 58).unwrap();
    // Write sub-file 55..60 overlaps [58, ∞) and began at 52.
    assert_eq!(p.shift_until_ts, 52);
    assert_eq!(p.groups_removed, 2);
    assert_eq!(p.bytes_removed, 30);
    let mut m2 = a[1].1.clone();
    m2.groups.remove(0);
    m2.min_ts = 55;
    m2.max_ts = 60;
    m2.resolved_ts = 61;
    assert_eq!(
        p.steps,
        vec![
            TruncateStep::WriteSafepoint { ts: 58 },
            TruncateStep::DeleteMeta {
                path: "m1.meta".into()
            },
            TruncateStep::RewriteMeta {
                path: "m2.meta".into(),
                meta: m2
            },
            TruncateStep::DeleteObject {
                path: "o1.log".into()
            },
            TruncateStep::DeleteObject {
                path: "o2a.log".into()
            },
        ]
    );
}

#[test]
fn log_trunc_3_safepoint_only_moves_forward_and_rerun_is_empty() {
    let mut a = archive();
    a[2].1.groups[0].files[0].min_begin_ts_in_default_cf = 100;
    let p = plan_truncate(&a, Some(80), 200, 70).unwrap();
    assert!(!p
        .steps
        .iter()
        .any(|s| matches!(s, TruncateStep::WriteSafepoint { .. })));
    // Nothing below 70 except m1, m2 groups: the plan deletes them without a safepoint step.
    assert_eq!(p.groups_removed, 3);
    let p = plan_truncate(&a, Some(70), 200, 70).unwrap();
    assert!(p
        .steps
        .iter()
        .all(|s| !matches!(s, TruncateStep::WriteSafepoint { .. })));
    let p = plan_truncate(&a, Some(70), 200, 10).unwrap();
    assert!(p.is_empty());
}

#[test]
fn log_trunc_3_object_listed_by_a_remaining_meta_is_not_deleted() {
    let mut a = archive();
    a[2].1.groups[0].files[0].min_begin_ts_in_default_cf = 100;
    // A second meta lists o1.log again with later data (as after an interrupted merge).
    a.push(meta(
        "m4.meta",
        vec![group("o1.log", vec![sf(Cf::Write, 150, 160, 150)])],
    ));
    let p = plan_truncate(&a, None, 200, 70).unwrap();
    assert!(p.steps.iter().all(|s| *s
        != TruncateStep::DeleteObject {
            path: "o1.log".into()
        }));
    assert!(p.steps.contains(&TruncateStep::DeleteObject {
        path: "o2a.log".into()
    }));
}

#[test]
fn log_trunc_6_refuses_until_after_the_global_checkpoint() {
    let e = plan_truncate(&archive(), None, 100, 101).unwrap_err();
    assert!(
        matches!(
            e,
            EngineError::BadOption {
                flag: "--until",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("global checkpoint"), "{e}");
    assert!(plan_truncate(&archive(), None, 100, 100).is_ok());
}
