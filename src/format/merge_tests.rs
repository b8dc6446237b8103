//! Tests of the merge planner: byte-exact copies, sizes, crash safety after every step prefix,
//! and convergence when a crashed merge is planned again.

use super::*;
use crate::format::logmeta::{decode_log_meta, encode_log_meta, LogCompression};
use crate::format::naming::log::build_meta_path;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// An archive as storage holds it: object bytes and encoded metas by path.
#[derive(Debug, Clone, Default)]
struct Archive {
    objects: HashMap<String, Vec<u8>>,
    metas: BTreeMap<String, Vec<u8>>,
}

impl Archive {
    fn metas(&self) -> Vec<(String, LogMeta)> {
        self.metas
            .iter()
            .map(|(p, b)| (p.clone(), decode_log_meta(b).unwrap()))
            .collect()
    }

    fn apply(&mut self, plan: &MergePlan, new_bytes: &[(String, Vec<u8>)], upto: usize) {
        for s in &plan.steps[..upto] {
            match s {
                MergeStep::WriteObject { index, path } => {
                    self.objects
                        .insert(path.clone(), new_bytes[*index].1.clone());
                }
                MergeStep::WriteMeta { path, meta } | MergeStep::RewriteMeta { path, meta } => {
                    self.metas.insert(path.clone(), encode_log_meta(meta));
                }
                MergeStep::DeleteMeta { path } => {
                    self.metas.remove(path);
                }
                MergeStep::DeleteObject { path } => {
                    self.objects.remove(path);
                }
            }
        }
    }

    /// What a reader restores: identity → stored bytes, after dedup. Panics if a listed
    /// object is missing or a sub-file appears twice after dedup.
    fn restorable(&self) -> BTreeMap<SubFileId, Vec<u8>> {
        let mut out = BTreeMap::new();
        for (path, f) in dedup_sub_files(&self.metas()) {
            let obj = self
                .objects
                .get(&path)
                .unwrap_or_else(|| panic!("missing {path}"));
            let r = crate::format::logfile::sub_file_range(&f, obj.len() as u64).unwrap();
            let bytes = obj[r.start as usize..r.end as usize].to_vec();
            let id = SubFileId::of(&f).unwrap();
            assert!(out.insert(id, bytes).is_none(), "sub-file reachable twice");
        }
        out
    }
}

fn sub_file(label: u64, len: u64, is_meta: bool) -> LogSubFile {
    let mut f = crate::format::logmeta::tests::sub(0, len);
    f.sha256 = Some(Sha256::digest(label.to_le_bytes()).into());
    f.region_id = label as i64;
    f.min_ts = label;
    f.max_ts = label + 5;
    f.is_meta = is_meta;
    f.cf = if is_meta { Cf::Default } else { Cf::Write };
    f.compression = LogCompression::Zstd;
    f
}

/// Per flush: the store and its groups (meta-KV?, sub-file sizes).
type Spec = Vec<(i64, Vec<(bool, Vec<u64>)>)>;

/// Builds an archive: per (store, flush), one meta with groups of sub-files of given sizes.
fn archive(spec: &Spec) -> Archive {
    let mut a = Archive::default();
    let mut label = 1000u64;
    for (n, (store, groups)) in spec.iter().enumerate() {
        let mut gs = Vec::new();
        for (gi, (is_meta, sizes)) in groups.iter().enumerate() {
            let mut bytes = Vec::new();
            let mut files = Vec::new();
            for &s in sizes {
                label += 10;
                let mut f = sub_file(label, s, *is_meta);
                f.range_offset = bytes.len() as u64;
                bytes.extend((0..s).map(|i| (label as u8).wrapping_add(i as u8)));
                files.push(f);
            }
            let uuid = Uuid::from_u128(((n as u128) << 32) | gi as u128);
            let min_ts = files.iter().map(|f| f.min_ts).min().unwrap_or(0);
            let max_ts = files.iter().map(|f| f.max_ts).max().unwrap_or(0);
            let path = build_log_data_path(*store as u64, min_ts, max_ts, uuid, *is_meta);
            a.objects.insert(path.clone(), bytes.clone());
            gs.push(LogGroup {
                path,
                min_ts,
                max_ts,
                min_resolved_ts: max_ts,
                length: bytes.len() as u64,
                files,
            });
        }
        let min_ts = gs.iter().map(|g| g.min_ts).min().unwrap_or(0);
        let max_ts = gs.iter().map(|g| g.max_ts).max().unwrap_or(0);
        let meta = LogMeta {
            store_id: *store,
            resolved_ts: max_ts + 1,
            min_ts,
            max_ts,
            version: LogMetaVersion::V2,
            groups: gs,
            files: vec![],
        };
        let path = build_meta_path(n as u64 + 1, *store as u64, min_ts, min_ts, max_ts, 0);
        a.metas.insert(path, encode_log_meta(&meta));
    }
    a
}

fn uuids() -> impl FnMut() -> Uuid {
    let mut n = 0xAB00u128;
    move || {
        n += 1;
        Uuid::from_u128(n)
    }
}

#[test]
fn log_merge_4_packs_small_groups_per_store_in_order() {
    let a = archive(&vec![
        (1, vec![(false, vec![30, 20]), (false, vec![200])]),
        (1, vec![(false, vec![40])]),
        (2, vec![(false, vec![10])]),
        (1, vec![(false, vec![60]), (true, vec![5])]),
        (1, vec![(true, vec![7])]),
    ]);
    let plan = plan_merge(&a.metas(), 100, &mut uuids()).unwrap();
    // store 1 data: 50, 40, 60 -> one object of 150; 200 is big; store 2 alone: untouched;
    // store 1 meta-KV: 5 + 7 -> one schema-meta object of 12.
    let sizes: Vec<(i64, u64, bool)> = plan
        .objects
        .iter()
        .map(|o| {
            (
                o.store_id,
                o.group.length,
                o.group.path.contains("schema-meta"),
            )
        })
        .collect();
    assert_eq!(sizes, vec![(1, 150, false), (1, 12, true)]);
    assert_eq!(plan.objects[0].copies.len(), 4);
    let text = plan.to_string();
    assert!(text.contains("2 new object(s)"), "{text}");
    assert!(text.contains("step 1: write object"), "{text}");
    // Ordering of step kinds (LOG-MERGE-3).
    let rank = |s: &MergeStep| match s {
        MergeStep::WriteObject { .. } => 0,
        MergeStep::WriteMeta { .. } => 1,
        MergeStep::RewriteMeta { .. } | MergeStep::DeleteMeta { .. } => 2,
        MergeStep::DeleteObject { .. } => 3,
    };
    assert!(plan.steps.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])));
    // Two new metas; the old metas of flushes 1, 2, 4 and 5 change (flush 3 is store 2).
    let mw = plan.meta_writes();
    assert_eq!(
        mw.iter().filter(|(p, _)| !a.metas.contains_key(p)).count(),
        2
    );
    assert_eq!(mw.len(), 6);
    for (p, b) in &mw {
        assert!(is_meta_path(p), "{p}");
        if let Some(b) = b {
            decode_log_meta(b).unwrap();
        }
    }
}

#[test]
fn log_merge_1_nothing_to_do_gives_an_empty_plan() {
    let a = archive(&vec![
        (1, vec![(false, vec![500])]),
        (1, vec![(false, vec![10])]),
    ]);
    let plan = plan_merge(&a.metas(), 100, &mut uuids()).unwrap();
    assert!(plan.is_empty(), "{plan}");
    assert!(plan_merge(&a.metas(), 0, &mut uuids()).is_err());
}

#[test]
fn log_merge_2_groups_without_sha256_stay() {
    let mut a = archive(&vec![
        (1, vec![(false, vec![10])]),
        (1, vec![(false, vec![10])]),
    ]);
    let (p, mut m) = a.metas().remove(0);
    m.groups[0].files[0].sha256 = None;
    a.metas.insert(p, encode_log_meta(&m));
    assert!(plan_merge(&a.metas(), 100, &mut uuids())
        .unwrap()
        .is_empty());
}

#[test]
fn log_merge_9_missing_source_is_an_error() {
    let a = archive(&vec![
        (1, vec![(false, vec![10])]),
        (1, vec![(false, vec![10])]),
    ]);
    let plan = plan_merge(&a.metas(), 100, &mut uuids()).unwrap();
    assert!(apply_plan_bytes(&plan, &HashMap::new()).is_err());
}

fn arb_archive() -> impl Strategy<Value = Spec> {
    proptest::collection::vec(
        (
            1i64..4,
            proptest::collection::vec(
                (
                    proptest::bool::weighted(0.2),
                    proptest::collection::vec(1u64..60, 1..4),
                ),
                1..4,
            ),
        ),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn log_merge_copies_are_exact_and_sizes_reach_target(spec in arb_archive(), target in 20u64..200) {
        let a = archive(&spec);
        let before = a.restorable();
        let plan = plan_merge(&a.metas(), target, &mut uuids()).unwrap();
        let bytes = apply_plan_bytes(&plan, &a.objects).unwrap();
        for (o, (_, b)) in plan.objects.iter().zip(&bytes) {
            prop_assert_eq!(b.len() as u64, o.group.length);
            for f in &o.group.files {
                let id = SubFileId::of(f).unwrap();
                let r = f.range_offset as usize..(f.range_offset + f.range_length) as usize;
                prop_assert_eq!(&b[r], &before[&id][..]);
            }
        }
        // Per (store, class), every new object but the last reaches the target.
        let mut by: BTreeMap<(i64, bool), Vec<u64>> = BTreeMap::new();
        for o in &plan.objects {
            by.entry((o.store_id, o.group.path.contains("schema-meta"))).or_default().push(o.group.length);
        }
        for sizes in by.values() {
            prop_assert!(sizes[..sizes.len() - 1].iter().all(|&s| s >= target), "{:?}", sizes);
        }
        let mut after = a.clone();
        after.apply(&plan, &bytes, plan.steps.len());
        prop_assert_eq!(after.restorable(), before);
        // Every remaining meta decodes, and merging again finds no new pairs.
        let again = plan_merge(&after.metas(), target, &mut uuids()).unwrap();
        prop_assert!(again.objects.len() <= by.len(), "{}", again);
    }

    #[test]
    fn log_merge_3_crash_after_any_step_keeps_every_sub_file_once(spec in arb_archive(), target in 20u64..200) {
        let a = archive(&spec);
        let before = a.restorable();
        let plan = plan_merge(&a.metas(), target, &mut uuids()).unwrap();
        let bytes = apply_plan_bytes(&plan, &a.objects).unwrap();
        for k in 0..=plan.steps.len() {
            let mut crashed = a.clone();
            crashed.apply(&plan, &bytes, k);
            prop_assert_eq!(&crashed.restorable(), &before, "after {} steps", k);
            // LOG-MERGE-7: planning again from the crashed state converges.
            let mut ids = {
                let mut n = 0xCD00u128 + (k as u128) * 0x100;
                move || { n += 1; Uuid::from_u128(n) }
            };
            let replan = plan_merge(&crashed.metas(), target, &mut ids).unwrap();
            let rb = apply_plan_bytes(&replan, &crashed.objects).unwrap();
            let mut done = crashed.clone();
            done.apply(&replan, &rb, replan.steps.len());
            prop_assert_eq!(&done.restorable(), &before, "replan after {} steps", k);
            // After a completed re-plan no sub-file is listed twice.
            let listed: usize = done.metas().iter().map(|(_, m)| m.sub_files().count()).sum();
            prop_assert_eq!(listed, before.len(), "duplicates left after replan at {}", k);
        }
    }
}

// LOG-MERGE-9: moved sub-files still decrypt, decompress and verify in their new object.
#[test]
fn log_merge_9_moved_encrypted_sub_files_still_decode() {
    use crate::format::crypto::{Cipher, CipherMethod};
    use crate::format::logfile::tests::{mvcc_key, spec};
    use crate::format::logfile::{build_sub_file, decode_events, decode_sub_file, GroupBuilder};
    let cipher = Cipher::new(CipherMethod::Aes128Ctr, vec![4; 16]).unwrap();
    let mut a = Archive::default();
    let mut events_by_sha = HashMap::new();
    for n in 0..3u64 {
        let mut g = GroupBuilder::new();
        for j in 0..2u64 {
            let ev: Vec<(Vec<u8>, Vec<u8>)> = (0..5)
                .map(|i| {
                    (
                        mvcc_key(format!("k{n}{j}{i}").as_bytes(), 100 + n * 10 + i),
                        vec![b'P', 50],
                    )
                })
                .collect();
            let (stored, f) = build_sub_file(
                &spec(Cf::Write, LogCompression::Zstd),
                &ev,
                &cipher,
                [(n * 2 + j) as u8; 16],
            )
            .unwrap();
            events_by_sha.insert(f.sha256.unwrap(), ev);
            g.push(&stored, f);
        }
        let path = build_log_data_path(1, 100 + n * 10, 200, Uuid::from_u128(n as u128), false);
        let (bytes, group) = g.finish(path.clone());
        a.objects.insert(path, bytes);
        let meta = LogMeta {
            store_id: 1,
            resolved_ts: 300,
            min_ts: group.min_ts,
            max_ts: group.max_ts,
            version: LogMetaVersion::V2,
            groups: vec![group],
            files: vec![],
        };
        a.metas.insert(
            build_meta_path(n + 1, 1, 0, 0, 0, 1),
            encode_log_meta(&meta),
        );
    }
    let plan = plan_merge(&a.metas(), 1 << 20, &mut uuids()).unwrap();
    assert_eq!(plan.objects.len(), 1);
    let bytes = apply_plan_bytes(&plan, &a.objects).unwrap();
    let (_, obj) = &bytes[0];
    assert_eq!(plan.objects[0].group.files.len(), 6);
    for f in &plan.objects[0].group.files {
        let plain = decode_sub_file(obj, f, &cipher).unwrap();
        assert_eq!(
            decode_events(&plain).unwrap(),
            events_by_sha[&f.sha256.unwrap()]
        );
    }
}
