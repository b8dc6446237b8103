//! Tests of the placement driver: TSO monotonicity (within a process, across reopen, with the
//! clock behind the saved bound), region map invariants under splits (proptest), leader moves,
//! scatter plans, GC safepoints with TTLs, and the state file (round trip, damage refused).

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::codec::tso::{compose, logical, physical, LOGICAL_MASK};

const T0: u64 = 1_700_000_000_000;

fn open(dir: &Path, clock: &Arc<ManualClock>) -> Placement {
    Placement::open_with_clock(dir, 3, clock.clone()).unwrap()
}

fn fresh() -> (tempfile::TempDir, Arc<ManualClock>, Placement) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let pd = open(dir.path(), &clock);
    (dir, clock, pd)
}

fn saved_doc(pd: &Placement) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(pd.file()).unwrap()).unwrap()
}

/// Full coverage, no gap or overlap, unique ids: the region map's invariant.
fn assert_covers(pd: &Placement) {
    let all = pd.regions_in(b"", b"");
    assert_eq!(all.len(), pd.region_count());
    assert!(all[0].start.is_empty());
    assert!(all.last().unwrap().end.is_empty());
    for w in all.windows(2) {
        assert_eq!(w[0].end, w[1].start, "gap or overlap between regions");
        assert!(w[0].start < w[0].end);
    }
    let ids: HashSet<u64> = all.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), all.len());
}

#[test]
fn bootstrap_one_region_over_the_key_space_on_store_1() {
    let (_d, _c, pd) = fresh();
    let stores = pd.stores();
    assert_eq!(stores.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(stores.iter().all(|s| s.up && s.address.is_empty()));
    let r = pd.region_by_key(b"anything");
    assert_eq!((r.start.as_slice(), r.end.as_slice()), (&b""[..], &b""[..]));
    assert_eq!(
        r.epoch,
        Epoch {
            conf_ver: 1,
            version: 1
        }
    );
    assert_eq!(r.leader_store, 1);
    assert_ne!(r.id, r.peer_id);
    assert_ne!(pd.cluster_id(), 0);
    assert_eq!(pd.region_by_id(r.id), Some(r));
}

// ---- TSO ----

#[test]
fn tso_1_strictly_increasing_and_count_is_the_last_of_a_run() {
    let (_d, clock, pd) = fresh();
    let a = pd.tso(1).unwrap();
    assert_eq!(physical(a), T0);
    let b = pd.tso(10).unwrap();
    assert_eq!(b, a + 10, "same millisecond: logical grows by count");
    clock.advance(1);
    let c = pd.tso(1).unwrap();
    assert_eq!(c, compose(T0 + 1, 1));
    let mut last = c;
    for _ in 0..1000 {
        let t = pd.tso(1).unwrap();
        assert!(t > last);
        last = t;
    }
}

#[test]
fn tso_logical_overflow_moves_to_next_millisecond() {
    let (_d, _c, pd) = fresh();
    let a = pd.tso(LOGICAL_MASK as u32).unwrap();
    assert_eq!(logical(a), LOGICAL_MASK);
    let b = pd.tso(2).unwrap();
    assert_eq!(b, compose(T0 + 1, 2));
    assert!(matches!(pd.tso(0), Err(PdError::Invalid(_))));
    assert!(matches!(
        pd.tso(LOGICAL_MASK as u32 + 1),
        Err(PdError::Invalid(_))
    ));
}

#[test]
fn tso_bound_persisted_before_timestamps_pass_it() {
    let (_d, clock, pd) = fresh();
    for step in [0, 1000, 2999, 3000, 3001, 10_000, 10_001] {
        clock.set(T0 + step);
        let ts = pd.tso(1).unwrap();
        let bound = saved_doc(&pd)["tso_bound_ms"].as_u64().unwrap();
        assert!(
            physical(ts) < bound,
            "ts {ts} handed out beyond saved bound {bound}"
        );
    }
}

#[test]
fn tso_monotonic_across_reopen_even_when_clock_is_behind_saved_bound() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let pd = open(dir.path(), &clock);
    let mut last = 0;
    for _ in 0..100 {
        last = pd.tso(3).unwrap();
    }
    drop(pd);
    // The clock went back 1 minute (NTP step, another machine): still no repeat.
    clock.set(T0 - 60_000);
    let pd = open(dir.path(), &clock);
    let next = pd.tso(1).unwrap();
    assert!(next > last, "{next} <= {last} after reopen");
    assert!(physical(next) > physical(last));
    // A reopen with the clock ahead uses the clock.
    drop(pd);
    clock.set(T0 + 3_600_000);
    let pd = open(dir.path(), &clock);
    assert_eq!(pd.tso(1).unwrap(), compose(T0 + 3_600_000, 1));
}

#[test]
fn advance_to_makes_later_timestamps_greater_also_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let pd = open(dir.path(), &clock);
    let ahead = compose(T0 + 86_400_000, 77);
    pd.advance_to(ahead).unwrap();
    let t = pd.tso(1).unwrap();
    assert_eq!(t, ahead + 1);
    // Advancing backwards is a no-op.
    pd.advance_to(compose(T0, 0)).unwrap();
    assert!(pd.tso(1).unwrap() > t);
    drop(pd);
    let pd = open(dir.path(), &clock);
    assert!(pd.tso(1).unwrap() > ahead);
    // Logical part at its maximum still leaves room for later timestamps.
    let edge = compose(T0 + 90_000_000, LOGICAL_MASK);
    pd.advance_to(edge).unwrap();
    assert!(pd.tso(1).unwrap() > edge);
}

#[test]
fn tso_unique_across_threads() {
    let (_d, _c, pd) = fresh();
    let pd = Arc::new(pd);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pd = pd.clone();
            std::thread::spawn(move || (0..500).map(|_| pd.tso(1).unwrap()).collect::<Vec<_>>())
        })
        .collect();
    let mut all = HashSet::new();
    for h in handles {
        for t in h.join().unwrap() {
            assert!(all.insert(t), "duplicate ts {t}");
        }
    }
}

// ---- ids ----

#[test]
fn alloc_id_monotonic_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let pd = open(dir.path(), &clock);
    let region = pd.region_by_key(b"");
    let ids: Vec<u64> = (0..2500).map(|_| pd.alloc_id().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(ids[0] > region.peer_id.max(region.id));
    drop(pd);
    let pd = open(dir.path(), &clock);
    assert!(pd.alloc_id().unwrap() > *ids.last().unwrap());
}

// ---- regions ----

#[test]
fn split_right_derive_keeps_original_id_on_the_right_and_bumps_versions() {
    let (_d, _c, pd) = fresh();
    let orig = pd.region_by_key(b"");
    let new = pd
        .split(&[b"m".to_vec(), b"c".to_vec(), b"m".to_vec()])
        .unwrap();
    assert_eq!(new.len(), 2);
    let all = pd.regions_in(b"", b"");
    let spans: Vec<(&[u8], &[u8])> = all
        .iter()
        .map(|r| (r.start.as_slice(), r.end.as_slice()))
        .collect();
    assert_eq!(spans, [(&b""[..], &b"c"[..]), (b"c", b"m"), (b"m", b"")]);
    // Keys in order: split at "c" then at "m"; the original keeps [m, +inf).
    assert_eq!(all[2].id, orig.id);
    assert_eq!(all[2].epoch.version, 3);
    assert_eq!((all[0].id, all[0].epoch.version), (new[0], 2));
    assert_eq!((all[1].id, all[1].epoch.version), (new[1], 3));
    assert!(all
        .iter()
        .all(|r| r.leader_store == 1 && r.epoch.conf_ver == 1));
    let peers: HashSet<u64> = all.iter().map(|r| r.peer_id).collect();
    assert_eq!(peers.len(), 3);
    // Existing boundaries and the empty key do not split.
    assert_eq!(
        pd.split(&[b"c".to_vec(), Vec::new()]).unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(pd.region_count(), 3);
    assert_covers(&pd);
}

#[test]
fn regions_in_and_region_by_key_follow_half_open_ranges() {
    let (_d, _c, pd) = fresh();
    pd.split(&[b"b".to_vec(), b"d".to_vec(), b"f".to_vec()])
        .unwrap();
    let starts = |v: Vec<Region>| v.into_iter().map(|r| r.start).collect::<Vec<_>>();
    assert_eq!(starts(pd.regions_in(b"b", b"d")), [b"b".to_vec()]);
    assert_eq!(
        starts(pd.regions_in(b"a", b"d\x00")),
        [b"".to_vec(), b"b".to_vec(), b"d".to_vec()]
    );
    assert_eq!(
        starts(pd.regions_in(b"e", b"")),
        [b"d".to_vec(), b"f".to_vec()]
    );
    assert!(pd.regions_in(b"e", b"c").is_empty());
    assert_eq!(pd.region_by_key(b"d").start, b"d");
    assert_eq!(pd.region_by_key(b"c\xff").start, b"b");
    assert_eq!(pd.region_by_key(b"zz").start, b"f");
}

#[test]
fn transfer_leader_moves_peer_and_bumps_conf_ver() {
    let (_d, _c, pd) = fresh();
    pd.split(&[b"k".to_vec()]).unwrap();
    let r = pd.region_by_key(b"z");
    let moved = pd.transfer_leader(r.id, 2).unwrap();
    assert_eq!(moved.leader_store, 2);
    assert_eq!(
        moved.epoch,
        Epoch {
            conf_ver: r.epoch.conf_ver + 1,
            version: r.epoch.version
        }
    );
    assert_ne!(moved.peer_id, r.peer_id);
    assert_eq!(pd.region_by_id(r.id), Some(moved.clone()));
    assert_eq!(pd.leader_regions(2, b"", b""), vec![moved.clone()]);
    assert_eq!(pd.leader_regions(1, b"", b"").len(), 1);
    assert!(pd.leader_regions(2, b"a", b"b").is_empty());
    // To the same store: unchanged.
    assert_eq!(pd.transfer_leader(r.id, 2).unwrap(), moved);
    assert!(matches!(
        pd.transfer_leader(r.id, 9),
        Err(PdError::UnknownStore(9))
    ));
    assert!(matches!(
        pd.transfer_leader(12345, 2),
        Err(PdError::UnknownRegion(12345))
    ));
    pd.set_store_up(3, false).unwrap();
    assert!(matches!(
        pd.transfer_leader(r.id, 3),
        Err(PdError::StoreDown(3))
    ));
    assert_eq!(
        pd.region_by_id(r.id),
        Some(moved),
        "failed move changed nothing"
    );
}

#[test]
fn scatter_plan_balances_leaders_over_up_stores() {
    let (_d, _c, pd) = fresh();
    let keys: Vec<Vec<u8>> = (1..9u8).map(|i| vec![b'a' + i]).collect();
    pd.split(&keys).unwrap();
    let ids: Vec<u64> = pd.regions_in(b"", b"").iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 9);
    let plan = pd.scatter_plan(&ids);
    assert_eq!(plan.len(), 6, "3 stay on store 1, 6 move: {plan:?}");
    for (rid, to) in &plan {
        pd.transfer_leader(*rid, *to).unwrap();
    }
    for s in 1..=3 {
        assert_eq!(pd.leader_regions(s, b"", b"").len(), 3, "store {s}");
    }
    assert!(
        pd.scatter_plan(&ids).is_empty(),
        "a balanced group stays put"
    );
    // A down store is never a target and its leaders move away.
    pd.set_store_up(2, false).unwrap();
    let plan = pd.scatter_plan(&ids);
    assert_eq!(plan.len(), 3);
    assert!(plan.iter().all(|(_, to)| *to != 2));
    for (rid, to) in &plan {
        pd.transfer_leader(*rid, *to).unwrap();
    }
    let (a, b) = (
        pd.leader_regions(1, b"", b"").len(),
        pd.leader_regions(3, b"", b"").len(),
    );
    assert!(a.abs_diff(b) <= 1 && a + b == 9, "{a} vs {b}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random splits: full coverage without gaps or overlaps, unique ids, every key's region
    /// version never decreases, returned ids are the new left regions.
    #[test]
    fn random_splits_keep_full_coverage_and_growing_epochs(
        batches in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..4), 0..6), 1..6),
        probes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..4), 1..8),
    ) {
        let (_d, _c, pd) = fresh();
        let mut versions: Vec<u64> = probes.iter().map(|k| pd.region_by_key(k).epoch.version).collect();
        let mut all_ids: HashSet<u64> = HashSet::from([pd.region_by_key(b"").id]);
        for batch in &batches {
            let before = pd.region_count();
            let new = pd.split(batch).unwrap();
            prop_assert_eq!(pd.region_count(), before + new.len());
            for id in &new {
                prop_assert!(all_ids.insert(*id), "id {} reused", id);
                let r = pd.region_by_id(*id).unwrap();
                prop_assert!(batch.contains(&r.end), "a new region ends at a split key");
            }
            for k in batch {
                prop_assert_eq!(&pd.region_by_key(k).start, k);
            }
            assert_covers(&pd);
            for (k, v) in probes.iter().zip(versions.iter_mut()) {
                let now = pd.region_by_key(k).epoch.version;
                prop_assert!(now >= *v);
                *v = now;
            }
        }
    }
}

// ---- GC safepoints ----

#[test]
fn service_safepoint_holds_gc_until_ttl_expiry() {
    let (_d, clock, pd) = fresh();
    assert_eq!(
        pd.update_service_safepoint("br-backup", 60, 100).unwrap(),
        100
    );
    assert_eq!(pd.update_service_safepoint("cdc", 600, 150).unwrap(), 100);
    assert_eq!(
        pd.update_gc_safepoint(500).unwrap(),
        100,
        "held by br-backup"
    );
    clock.advance(60_000); // br-backup expires exactly now
    assert_eq!(pd.min_service_safepoint(), Some(150));
    assert_eq!(pd.update_gc_safepoint(500).unwrap(), 150, "held by cdc");
    assert_eq!(
        pd.update_service_safepoint("cdc", 0, 0).unwrap(),
        150,
        "removed: gc sp returned"
    );
    assert_eq!(pd.min_service_safepoint(), None);
    assert_eq!(pd.update_gc_safepoint(500).unwrap(), 500);
    assert_eq!(
        pd.update_gc_safepoint(200).unwrap(),
        500,
        "never moves back"
    );
    assert_eq!(pd.gc_safepoint(), 500);
    let e = pd.update_service_safepoint("late", 60, 499).unwrap_err();
    assert!(
        matches!(&e, PdError::SafepointBehindGc { service, requested: 499, gc_safepoint: 500 } if service == "late"),
        "{e}"
    );
    assert!(e.to_string().contains("\"late\""));
    // Renewing keeps holding; an infinite TTL never expires.
    pd.update_service_safepoint("keeper", i64::MAX, 600)
        .unwrap();
    clock.advance(10 * 365 * 86_400_000);
    assert_eq!(pd.update_gc_safepoint(u64::MAX).unwrap(), 600);
}

// ---- the state file ----

#[test]
fn state_round_trips_through_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let pd = open(dir.path(), &clock);
    pd.set_store_address(2, "127.0.0.1:20161").unwrap();
    pd.set_store_up(3, false).unwrap();
    pd.split(&[b"\x00\xff".to_vec(), b"t\x80".to_vec()])
        .unwrap();
    let r = pd.region_by_key(b"t\x90");
    pd.transfer_leader(r.id, 2).unwrap();
    pd.update_service_safepoint("br", 300, 42).unwrap();
    pd.update_gc_safepoint(40).unwrap();
    let (id, stores, regions) = (pd.cluster_id(), pd.stores(), pd.regions_in(b"", b""));
    drop(pd);
    let pd = Placement::open_with_clock(dir.path(), 0, clock.clone()).unwrap();
    assert_eq!(pd.cluster_id(), id);
    assert_eq!(pd.stores(), stores);
    assert_eq!(pd.regions_in(b"", b""), regions);
    assert_eq!(pd.gc_safepoint(), 40);
    assert_eq!(pd.min_service_safepoint(), Some(42));
    assert!(!dir.path().join("pd.json.tmp").exists());
}

#[test]
fn reopen_with_other_store_count_is_refused() {
    let (dir, clock, pd) = fresh();
    drop(pd);
    let e = Placement::open_with_clock(dir.path(), 5, clock.clone()).unwrap_err();
    assert!(
        matches!(
            e,
            PdError::StoreCount {
                saved: 3,
                requested: 5,
                ..
            }
        ),
        "{e}"
    );
    let fresh_dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Placement::open_with_clock(fresh_dir.path(), 0, clock),
        Err(PdError::Invalid(_))
    ));
}

fn damage(edit: impl FnOnce(&mut serde_json::Value)) -> PdError {
    let (dir, clock, pd) = fresh();
    pd.split(&[b"m".to_vec()]).unwrap();
    let mut doc = saved_doc(&pd);
    drop(pd);
    edit(&mut doc);
    std::fs::write(
        dir.path().join(STATE_FILE),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    Placement::open_with_clock(dir.path(), 3, clock).unwrap_err()
}

#[test]
fn damaged_state_file_is_refused_naming_it() {
    let (dir, clock, pd) = fresh();
    drop(pd);
    let file = dir.path().join(STATE_FILE);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let e = Placement::open_with_clock(dir.path(), 3, clock).unwrap_err();
    assert!(
        matches!(&e, PdError::Damaged { file: f, .. } if *f == file),
        "{e}"
    );
    assert!(e.to_string().contains("pd.json"));

    let gap = damage(|d| d["regions"][1]["start"] = "6e".into());
    assert!(
        matches!(&gap, PdError::Damaged { reason, .. } if reason.contains("gap")),
        "{gap}"
    );
    let no_inf = damage(|d| d["regions"][1]["end"] = "7a".into());
    assert!(matches!(no_inf, PdError::Damaged { .. }), "{no_inf}");
    let bad_hex = damage(|d| d["regions"][0]["end"] = "zz".into());
    assert!(matches!(bad_hex, PdError::Damaged { .. }), "{bad_hex}");
    let bad_store = damage(|d| d["regions"][0]["leader_store"] = 7.into());
    assert!(matches!(bad_store, PdError::Damaged { .. }), "{bad_store}");
    let dup = damage(|d| d["regions"][0]["id"] = d["regions"][1]["id"].clone());
    assert!(matches!(dup, PdError::Damaged { .. }), "{dup}");
    let ids = damage(|d| d["id_bound"] = 2.into());
    assert!(matches!(ids, PdError::Damaged { .. }), "{ids}");
    let v = damage(|d| d["format_version"] = 2.into());
    assert!(
        matches!(
            v,
            PdError::UnknownVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{v}"
    );
}
