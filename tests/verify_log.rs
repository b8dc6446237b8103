//! `verify` on log archives (format/verify-log.md VERIFY-LOG-*): zero findings on good
//! archives of every shape (compression, encryption, V1/V2, every `.meta` name generation,
//! merged and half-merged), deterministic `--read-data-subset`, and a damaged corpus generated
//! from a good archive, one test per defect, each asserting the exact finding and exit code.

mod support;
use support::rt;

use async_trait::async_trait;
use brkit::codec::tso;
use brkit::engine::sample_log::{write_log_sample, LogSampleSpec, LogSampleSummary, MetaNameGen};
use brkit::engine::verify::{
    run_verify, Level, NoProgress, Subset, TsWindow, VerifyOptions, VerifyReport,
};
use brkit::format::backupmeta::{MetaVersion, MetaWriter, RootHeader};
use brkit::format::crypto::{Cipher, CipherMethod};
use brkit::format::logmeta::{decode_log_meta, encode_log_meta, LogCompression, LogMeta};
use brkit::format::merge::{apply_plan_bytes, plan_merge, MergeStep};
use brkit::format::naming::log::{
    build_global_checkpoint_path, GLOBAL_CHECKPOINT_DIR, META_DIR, TRUNCATE_SAFEPOINT,
};
use brkit::storage::{open_url, Capabilities, ObjectMeta, Storage};
use bytes::Bytes;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn memory() -> Arc<dyn Storage> {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    open_url(&format!("memory://verify-log-{}-{n}", std::process::id())).unwrap()
}

/// 2024-05-01 10:00:00 UTC, the spec's recurring backup ts.
const SNAPSHOT_MS: u64 = 1_714_557_600_000;

struct Fx {
    rt: tokio::runtime::Runtime,
    s: Arc<dyn Storage>,
    sum: LogSampleSummary,
    cipher: Cipher,
}

fn fixture_at(spec: LogSampleSpec, snapshot_ms: u64) -> Fx {
    let rt = rt();
    let s = memory();
    let sum = rt
        .block_on(write_log_sample(
            s.as_ref(),
            tso::compose(snapshot_ms, 0),
            &spec,
        ))
        .unwrap();
    Fx {
        rt,
        s,
        sum,
        cipher: spec.cipher,
    }
}

fn fixture(spec: LogSampleSpec) -> Fx {
    fixture_at(spec, SNAPSHOT_MS)
}

impl Fx {
    fn opts(&self, level: Level) -> VerifyOptions {
        let mut o = VerifyOptions::new(level);
        o.cipher = self.cipher.clone();
        o
    }

    fn verify_with(&self, opts: &VerifyOptions) -> VerifyReport {
        self.rt
            .block_on(run_verify(self.s.as_ref(), opts, &NoProgress))
            .unwrap()
    }

    fn verify(&self, level: Level) -> VerifyReport {
        self.verify_with(&self.opts(level))
    }

    /// The flush of store 1 numbered `n` (1-based).
    fn flush(&self, n: u64) -> &brkit::engine::sample_log::SampleFlush {
        self.sum
            .flushes
            .iter()
            .find(|f| f.store_id == 1 && f.flush == n)
            .unwrap()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        self.rt.block_on(self.s.read(name)).unwrap().to_vec()
    }

    fn write(&self, name: &str, b: Vec<u8>) {
        self.rt
            .block_on(self.s.write(name, Bytes::from(b)))
            .unwrap();
    }

    fn delete(&self, name: &str) {
        self.rt.block_on(self.s.delete(name)).unwrap();
    }

    /// Rewrites the `.meta` of flush `n` after `edit`.
    fn edit_meta(&self, n: u64, edit: impl FnOnce(&mut LogMeta)) {
        let path = self.flush(n).meta_path.clone();
        let mut m = decode_log_meta(&self.read(&path)).unwrap();
        edit(&mut m);
        self.write(&path, encode_log_meta(&m));
    }

    fn whole_window(&self) -> Vec<TsWindow> {
        vec![TsWindow {
            from: self.sum.start_ts,
            to: self.sum.checkpoint_ts,
        }]
    }
}

fn show(r: &VerifyReport) -> String {
    r.findings
        .iter()
        .map(|f| format!("{}\n", f.to_json()))
        .collect()
}

/// The kinds of the error findings, as a set.
fn error_kinds(r: &VerifyReport) -> BTreeSet<&'static str> {
    r.findings
        .iter()
        .filter(|f| f.severity == brkit::engine::verify::Severity::Error)
        .map(|f| f.kind)
        .collect()
}

/// Asserts exactly the error kinds `kinds`, exit code 1, and one finding of `kind` with
/// `rule` on `file`.
fn assert_defect(r: &VerifyReport, kinds: &[&str], kind: &str, rule: &str, file: &str) {
    let want: BTreeSet<&str> = kinds.iter().copied().collect();
    assert_eq!(error_kinds(r), want, "{}", show(r));
    assert!(
        r.of_kind(kind)
            .any(|f| f.rule == rule && f.file.as_deref() == Some(file)),
        "no {kind} [{rule}] on {file}:\n{}",
        show(r)
    );
    assert_eq!(r.exit_code(), 1);
}

fn assert_clean(r: &VerifyReport) {
    assert!(r.findings.is_empty(), "{}", show(r));
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.archive_kind, "log");
}

// ---------------------------------------------------------------- good archives

fn check_good(spec: LogSampleSpec, snapshot_ms: u64) {
    let fx = fixture_at(spec.clone(), snapshot_ms);
    let objects: usize = fx.sum.flushes.iter().map(|f| f.objects.len()).sum();
    for level in [Level::Meta, Level::File, Level::Kv] {
        let r = fx.verify(level);
        assert_clean(&r);
        let log = r.log.as_ref().unwrap();
        assert_eq!(log.windows, fx.whole_window(), "{level:?}");
        assert!(log.gaps.is_empty());
        assert_eq!(log.metas, (spec.stores * spec.flushes) as usize);
        assert_eq!(log.groups, objects);
        // a default and a write sub-file per flush with data and store
        let data_flushes = spec.flushes - u64::from(spec.record_empty);
        assert_eq!(log.sub_files, (2 * spec.stores * data_flushes) as usize);
        let read = if level == Level::Meta { 0 } else { objects };
        assert_eq!(r.files_read, read as u64, "{level:?}");
        assert_eq!(r.bytes_read > 0, read > 0);
    }
}

#[test]
fn verify_log_zero_findings_on_zstd_plaintext_tagged_v2() {
    check_good(LogSampleSpec::default(), SNAPSHOT_MS);
}

#[test]
fn verify_log_zero_findings_on_uncompressed_two_stores() {
    check_good(
        LogSampleSpec {
            compression: LogCompression::None,
            stores: 2,
            ..Default::default()
        },
        SNAPSHOT_MS,
    );
}

#[test]
fn verify_log_zero_findings_on_aes256_encrypted() {
    for compression in [LogCompression::Zstd, LogCompression::None] {
        check_good(
            LogSampleSpec {
                cipher: Cipher::new(CipherMethod::Aes256Ctr, vec![0x5A; 32]).unwrap(),
                compression,
                ..Default::default()
            },
            SNAPSHOT_MS,
        );
    }
}

#[test]
fn verify_log_zero_findings_with_a_recorded_empty_flush() {
    check_good(
        LogSampleSpec {
            record_empty: true,
            stores: 2,
            ..Default::default()
        },
        SNAPSHOT_MS,
    );
}

#[test]
fn verify_log_zero_findings_on_v1_metadata() {
    check_good(
        LogSampleSpec {
            v1: true,
            names: MetaNameGen::PaddedDecimal,
            ..Default::default()
        },
        SNAPSHOT_MS,
    );
}

#[test]
fn verify_log_2_zero_findings_on_every_meta_name_generation() {
    for names in [
        MetaNameGen::Decimal,
        MetaNameGen::LegacyHex,
        MetaNameGen::Tagged,
    ] {
        check_good(
            LogSampleSpec {
                names,
                ..Default::default()
            },
            SNAPSHOT_MS,
        );
    }
    // LOG-NAME-1: the zero padding shows only for ts below 10^12 (physical ms around 10 s).
    let fx = fixture_at(
        LogSampleSpec {
            names: MetaNameGen::PaddedDecimal,
            ..Default::default()
        },
        10_000,
    );
    assert!(fx.flush(1).meta_path.starts_with(&format!("{META_DIR}00")));
    assert_clean(&fx.verify(Level::Kv));
}

/// Runs a merge plan's steps up to (not including) the first step matching `stop`.
fn merge(fx: &Fx, stop: impl Fn(&MergeStep) -> bool) {
    let metas: Vec<(String, LogMeta)> = fx
        .sum
        .flushes
        .iter()
        .map(|f| {
            (
                f.meta_path.clone(),
                decode_log_meta(&fx.read(&f.meta_path)).unwrap(),
            )
        })
        .collect();
    let mut n = 0u128;
    let plan = plan_merge(&metas, 1 << 20, &mut || {
        n += 1;
        uuid::Uuid::from_u128(0xABC0 + n)
    })
    .unwrap();
    assert!(!plan.objects.is_empty());
    let sources: HashMap<String, Vec<u8>> = fx
        .sum
        .flushes
        .iter()
        .flat_map(|f| f.objects.iter())
        .map(|p| (p.clone(), fx.read(p)))
        .collect();
    let bytes = apply_plan_bytes(&plan, &sources).unwrap();
    for step in &plan.steps {
        if stop(step) {
            break;
        }
        match step {
            MergeStep::WriteObject { index, path } => fx.write(path, bytes[*index].1.clone()),
            MergeStep::WriteMeta { path, meta } | MergeStep::RewriteMeta { path, meta } => {
                fx.write(path, encode_log_meta(meta))
            }
            MergeStep::DeleteMeta { path } | MergeStep::DeleteObject { path } => fx.delete(path),
        }
    }
}

#[test]
fn verify_log_12_merged_archive_is_clean_and_counts_sub_files_once() {
    let fx = fixture(LogSampleSpec {
        stores: 2,
        ..Default::default()
    });
    merge(&fx, |_| false);
    let r = fx.verify(Level::Kv);
    assert_clean(&r);
    let log = r.log.unwrap();
    assert_eq!(log.windows, fx.whole_window());
    assert_eq!(log.sub_files, 12);
    assert_eq!(log.groups, 2, "one merged object per store");
}

#[test]
fn verify_log_12_half_merged_archive_has_no_errors_and_no_double_count() {
    // LOG-MERGE-3 phases 1 and 2 done: every sub-file is listed twice (LOG-MERGE-5).
    let fx = fixture(LogSampleSpec::default());
    merge(&fx, |s| {
        matches!(
            s,
            MergeStep::RewriteMeta { .. } | MergeStep::DeleteMeta { .. }
        )
    });
    let r = fx.verify(Level::File);
    assert_clean(&r);
    let log = r.log.unwrap();
    assert_eq!(log.sub_files, 6);
    assert_eq!(log.metas, 4);
}

// ---------------------------------------------------------------- --read-data-subset

/// Counts whole-object reads of `.log` objects.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Storage>,
    reads: Mutex<HashMap<String, u32>>,
}

#[async_trait]
impl Storage for Counting {
    async fn read(&self, name: &str) -> brkit::storage::Result<Bytes> {
        if name.ends_with(".log") {
            *self.reads.lock().unwrap().entry(name.into()).or_default() += 1;
        }
        self.inner.read(name).await
    }
    async fn read_range(&self, n: &str, o: u64, l: u64) -> brkit::storage::Result<Bytes> {
        self.inner.read_range(n, o, l).await
    }
    async fn write(&self, n: &str, d: Bytes) -> brkit::storage::Result<()> {
        self.inner.write(n, d).await
    }
    async fn write_if_absent(&self, n: &str, d: Bytes) -> brkit::storage::Result<()> {
        self.inner.write_if_absent(n, d).await
    }
    async fn list(&self, p: &str) -> brkit::storage::Result<Vec<ObjectMeta>> {
        self.inner.list(p).await
    }
    async fn stat(&self, n: &str) -> brkit::storage::Result<ObjectMeta> {
        self.inner.stat(n).await
    }
    async fn delete(&self, n: &str) -> brkit::storage::Result<()> {
        self.inner.delete(n).await
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn display_url(&self) -> String {
        self.inner.display_url()
    }
}

#[test]
fn verify_log_5_read_data_subset_runs_read_every_object_once() {
    let fx = fixture(LogSampleSpec {
        stores: 3,
        flushes: 4,
        ..Default::default()
    });
    let counting = Counting {
        inner: fx.s.clone(),
        reads: Mutex::new(HashMap::new()),
    };
    let t = 3;
    let mut total = 0;
    for n in 1..=t {
        let mut o = fx.opts(Level::File);
        o.subset = Subset::Part { n, t };
        o.concurrency = 3;
        let r = fx
            .rt
            .block_on(run_verify(&counting, &o, &NoProgress))
            .unwrap();
        assert_clean(&r);
        total += r.files_read;
    }
    let reads = counting.reads.lock().unwrap();
    let objects: BTreeSet<&String> = fx.sum.flushes.iter().flat_map(|f| &f.objects).collect();
    assert_eq!(total, objects.len() as u64);
    assert_eq!(reads.len(), objects.len());
    assert!(reads.values().all(|&c| c == 1), "{reads:?}");
}

// ---------------------------------------------------------------- damaged corpus

#[test]
fn verify_log_3_missing_group_object_is_a_finding_and_a_gap() {
    let fx = fixture(LogSampleSpec::default());
    let obj = fx.flush(2).objects[0].clone();
    let g = &fx.flush(2).meta.groups[0];
    fx.delete(&obj);
    for level in [Level::Meta, Level::File] {
        let r = fx.verify(level);
        assert_defect(
            &r,
            &["log-object-missing", "log-ts-gap"],
            "log-object-missing",
            "LOG-2",
            &obj,
        );
        assert_defect(
            &r,
            &["log-object-missing", "log-ts-gap"],
            "log-ts-gap",
            "VERIFY-LOG-8",
            &obj,
        );
        let log = r.log.unwrap();
        let gap = TsWindow {
            from: g.min_ts,
            to: g.max_ts,
        };
        assert_eq!(log.gaps, vec![gap]);
        assert_eq!(
            log.windows,
            vec![
                TsWindow {
                    from: fx.sum.start_ts,
                    to: g.min_ts - 1
                },
                TsWindow {
                    from: g.max_ts + 1,
                    to: fx.sum.checkpoint_ts
                }
            ]
        );
    }
}

#[test]
fn verify_log_5_corrupted_zstd_frame() {
    let fx = fixture(LogSampleSpec::default());
    let obj = fx.flush(2).objects[0].clone();
    let mut b = fx.read(&obj);
    b[1] ^= 0xFF; // inside the first sub-file's zstd magic number
    fx.write(&obj, b);
    assert_clean(&fx.verify(Level::Meta));
    let r = fx.verify(Level::File);
    assert_defect(
        &r,
        &["log-frame-corrupt", "log-ts-gap"],
        "log-frame-corrupt",
        "LOG-FILE-3",
        &obj,
    );
    assert_eq!(
        r.of_kind("log-frame-corrupt").count(),
        1,
        "only the first sub-file"
    );
}

#[test]
fn verify_log_5_sub_file_length_mismatch_is_not_a_frame_error() {
    let fx = fixture(LogSampleSpec::default());
    let obj = fx.flush(2).objects[0].clone();
    fx.edit_meta(2, |m| m.groups[0].files[1].length += 1);
    let r = fx.verify(Level::File);
    assert_defect(
        &r,
        &["log-length-mismatch", "log-ts-gap"],
        "log-length-mismatch",
        "LOG-FILE-5",
        &obj,
    );
    let f = r.of_kind("log-length-mismatch").next().unwrap();
    let want = fx.flush(2).meta.groups[0].files[1].length;
    assert_eq!(f.expected.as_deref(), Some((want + 1).to_string().as_str()));
    assert_eq!(f.actual.as_deref(), Some(want.to_string().as_str()));
}

#[test]
fn verify_log_5_wrong_sub_file_sha256() {
    let fx = fixture(LogSampleSpec::default());
    let obj = fx.flush(3).objects[0].clone();
    fx.edit_meta(3, |m| {
        let s = m.groups[0].files[0].sha256.as_mut().unwrap();
        s[0] ^= 1;
    });
    let r = fx.verify(Level::File);
    assert_defect(
        &r,
        &["log-sha256-mismatch", "log-ts-gap"],
        "log-sha256-mismatch",
        "LOG-FILE-5",
        &obj,
    );
}

#[test]
fn verify_log_5_wrong_crc64xor() {
    let fx = fixture(LogSampleSpec::default());
    let obj = fx.flush(1).objects[0].clone();
    fx.edit_meta(1, |m| m.groups[0].files[1].crc64xor ^= 0x10);
    let r = fx.verify(Level::File);
    assert_defect(
        &r,
        &["log-crc64xor-mismatch", "log-ts-gap"],
        "log-crc64xor-mismatch",
        "LOG-FILE-6",
        &obj,
    );
    // LOG-FILE-6: 0 means "not recorded" (TiKV before 2024-08) and is not checked.
    fx.edit_meta(1, |m| m.groups[0].files[1].crc64xor = 0);
    assert_clean(&fx.verify(Level::Kv));
}

#[test]
fn verify_log_2_undecodable_meta_names_the_object_and_loses_its_flush() {
    let fx = fixture(LogSampleSpec::default());
    let path = fx.flush(2).meta_path.clone();
    fx.write(&path, vec![0xFF, 0xFF, 0xFF]);
    let r = fx.verify(Level::Meta);
    assert_defect(
        &r,
        &["log-meta-undecodable", "log-ts-gap"],
        "log-meta-undecodable",
        "LOG-META-1",
        &path,
    );
    assert_defect(
        &r,
        &["log-meta-undecodable", "log-ts-gap"],
        "log-ts-gap",
        "VERIFY-LOG-8",
        &path,
    );
    // its object is now listed by no meta
    assert_eq!(r.of_kind("log-object-unreferenced").count(), 1);
    let m = &fx.flush(2).meta;
    assert_eq!(
        r.log.unwrap().gaps,
        vec![TsWindow {
            from: m.min_ts,
            to: m.max_ts
        }]
    );
}

#[test]
fn verify_log_9_gap_in_ts_coverage_when_the_last_flush_is_lost() {
    // The archive records idle flushes (flush 1 is an empty .meta with flag bit 1), so the
    // checkpoint running past the last .meta means .meta objects are gone.
    let fx = fixture(LogSampleSpec {
        record_empty: true,
        flushes: 4,
        ..Default::default()
    });
    let last = fx.flush(4);
    fx.delete(&last.meta_path);
    for o in &last.objects {
        fx.delete(o);
    }
    let r = fx.verify(Level::File);
    assert_defect(&r, &["log-ts-gap"], "log-ts-gap", "VERIFY-LOG-8", META_DIR);
    let reach = fx.flush(3).meta.resolved_ts;
    let log = r.log.unwrap();
    assert_eq!(
        log.gaps,
        vec![TsWindow {
            from: reach + 1,
            to: fx.sum.checkpoint_ts
        }]
    );
    assert_eq!(
        log.windows,
        vec![TsWindow {
            from: fx.sum.start_ts,
            to: reach
        }]
    );
}

#[test]
fn verify_log_9_writers_that_skip_idle_flushes_only_warn_when_the_checkpoint_runs_ahead() {
    // TiKV <= v8.5 (and brkit's log backup) write no .meta for an idle flush: the same archive
    // is not provably damaged, whatever the name generation.
    for names in [MetaNameGen::Decimal, MetaNameGen::Tagged] {
        let fx = fixture(LogSampleSpec {
            names,
            ..Default::default()
        });
        let last = fx.flush(3);
        fx.delete(&last.meta_path);
        for o in &last.objects {
            fx.delete(o);
        }
        let r = fx.verify(Level::File);
        assert_eq!(r.exit_code(), 0, "{}", show(&r));
        let w: Vec<_> = r.of_kind("log-flush-behind-checkpoint").collect();
        assert_eq!(w.len(), 1, "{}", show(&r));
        assert_eq!(w[0].rule, "VERIFY-LOG-9");
        assert_eq!(r.findings.len(), 1);
        assert!(r.log.unwrap().gaps.is_empty());
    }
}

#[test]
fn verify_log_7_missing_global_checkpoint() {
    let fx = fixture(LogSampleSpec::default());
    fx.delete(&build_global_checkpoint_path(1));
    let r = fx.verify(Level::File);
    assert_defect(
        &r,
        &["log-checkpoint-missing"],
        "log-checkpoint-missing",
        "VERIFY-LOG-7",
        GLOBAL_CHECKPOINT_DIR,
    );
    // LOG-TRUNC-2: without a checkpoint BR can restore only to the task start.
    let log = r.log.unwrap();
    assert_eq!(log.checkpoint_ts, fx.sum.start_ts);
    assert_eq!(
        log.windows,
        vec![TsWindow {
            from: fx.sum.start_ts,
            to: fx.sum.start_ts
        }]
    );
}

/// A snapshot archive root with backup ts `ts`, in its own storage.
fn snapshot_root(fx: &Fx, ts: u64) -> Arc<dyn Storage> {
    let s = memory();
    let (_, root) = MetaWriter::new(MetaVersion::V1, Cipher::plaintext())
        .finish(&RootHeader {
            cluster_id: 7_300_000_000_000_000_001,
            cluster_version: "8.5.0".into(),
            end_version: ts,
            ..Default::default()
        })
        .unwrap();
    fx.rt
        .block_on(s.write(&root.name, Bytes::from(root.bytes)))
        .unwrap();
    s
}

#[test]
fn verify_log_10_full_backup_inside_the_window_starts_it() {
    let fx = fixture(LogSampleSpec::default());
    let snap = tso::compose(SNAPSHOT_MS, 0);
    let mut o = fx.opts(Level::File);
    o.full_backup = Some(snapshot_root(&fx, snap));
    let r = fx.verify_with(&o);
    assert_clean(&r);
    let log = r.log.unwrap();
    assert_eq!(log.start_ts, snap);
    assert_eq!(
        log.windows,
        vec![TsWindow {
            from: snap,
            to: fx.sum.checkpoint_ts
        }]
    );
}

#[test]
fn verify_log_10_full_backup_ts_outside_the_window() {
    let fx = fixture(LogSampleSpec::default());
    for snap in [fx.sum.start_ts - 1, fx.sum.checkpoint_ts + 1] {
        let full = snapshot_root(&fx, snap);
        let mut o = fx.opts(Level::Meta);
        o.full_backup = Some(full.clone());
        let r = fx.verify_with(&o);
        assert_defect(
            &r,
            &["log-snapshot-outside-window"],
            "log-snapshot-outside-window",
            "VERIFY-LOG-10",
            &full.display_url(),
        );
        assert!(r.log.unwrap().windows.is_empty());
    }
}

#[test]
fn verify_log_10_truncate_safepoint_above_the_snapshot_ts() {
    let fx = fixture(LogSampleSpec::default());
    let snap = tso::compose(SNAPSHOT_MS, 0);
    let safepoint = fx.flush(1).meta.resolved_ts;
    assert!(snap < safepoint);
    fx.write(TRUNCATE_SAFEPOINT, safepoint.to_string().into_bytes());
    // without the snapshot the window simply starts at the safepoint (LOG-TRUNC-2)
    let r = fx.verify(Level::Meta);
    assert_clean(&r);
    assert_eq!(r.log.unwrap().windows[0].from, safepoint);
    let mut o = fx.opts(Level::Meta);
    o.full_backup = Some(snapshot_root(&fx, snap));
    let r = fx.verify_with(&o);
    assert_defect(
        &r,
        &["log-snapshot-truncated"],
        "log-snapshot-truncated",
        "LOG-TRUNC-2",
        TRUNCATE_SAFEPOINT,
    );
    assert_eq!(r.log.unwrap().truncate_safepoint, Some(safepoint));
}

#[test]
fn verify_log_5_encrypted_archive_without_or_with_a_wrong_key_cannot_be_verified() {
    let fx = fixture(LogSampleSpec {
        cipher: Cipher::new(CipherMethod::Aes256Ctr, vec![0x5A; 32]).unwrap(),
        ..Default::default()
    });
    let mut o = VerifyOptions::new(Level::File);
    let no_key = fx
        .rt
        .block_on(run_verify(fx.s.as_ref(), &o, &NoProgress))
        .unwrap_err();
    assert!(no_key.to_string().contains("--log.crypter.key"), "{no_key}");
    o.cipher = Cipher::new(CipherMethod::Aes256Ctr, vec![0xA5; 32]).unwrap();
    let wrong = fx
        .rt
        .block_on(run_verify(fx.s.as_ref(), &o, &NoProgress))
        .unwrap_err();
    assert!(wrong.to_string().contains("wrong key"), "{wrong}");
    // metadata needs no key
    assert_clean(&fx.verify_with(&VerifyOptions::new(Level::Meta)));
}

#[test]
fn verify_log_5_damaged_ciphertext_is_a_finding_not_a_wrong_key() {
    let fx = fixture(LogSampleSpec {
        cipher: Cipher::new(CipherMethod::Aes256Ctr, vec![0x5A; 32]).unwrap(),
        ..Default::default()
    });
    let obj = fx.flush(2).objects[0].clone();
    let mut b = fx.read(&obj);
    let last = b.len() - 1;
    b[last] ^= 0x01;
    fx.write(&obj, b);
    let r = fx.verify(Level::File);
    assert_defect(
        &r,
        &["log-ciphertext-sha256", "log-ts-gap"],
        "log-ciphertext-sha256",
        "LOG-FILE-4",
        &obj,
    );
}
