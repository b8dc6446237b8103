//! `brtool verify` on snapshot archives (issue 4): zero findings on good archives (cluster
//! backups of every workload table in each compression, encrypted, V1 and V2; sample archives
//! in the store-dir and flat layouts), and a damaged-archive corpus made from a good cluster
//! backup, one case per defect, each asserting the exact finding (kind, rule, file, table) and
//! the exit code. Also the CLI's exit codes and JSON Lines, and `--read-data-subset`.

mod support;
use support::rt;

use brkit::archive::snapshot::SnapshotArchive;
use brkit::archive::sst_writer::SstCompression;
use brkit::cluster::ClusterClient;
use brkit::engine::backup::{run_backup, BackupOptions, Quiet};
use brkit::engine::sample::{write_sample_archive, SampleSpec};
use brkit::engine::verify::{run_verify, Level, NoProgress, Subset, VerifyOptions, VerifyReport};
use brkit::engine::workload::{self, WorkloadSpec};
use brkit::format::backupmeta::{DataFile, MetaVersion, MetaWriter, RootHeader, SchemaEntry};
use brkit::format::crypto::{Cipher, CipherMethod};
use brkit::format::naming::snapshot::{Cf, BACKUPMETA};
use brkit::storage::{open_url, Storage};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

fn aes256() -> Cipher {
    Cipher::new(CipherMethod::Aes256Ctr, vec![0x5a; 32]).unwrap()
}

fn url(dir: &Path) -> String {
    format!("local://{}", dir.display())
}

/// Builds (once per configuration) a cluster backup of the whole workload: 5 tables (int
/// handle, clustered, `_tidb_rowid`, partitioned with a global index, every column type) with
/// SSTs capped small so ranges hold several files.
fn cluster_archive(
    name: &str,
    compression: SstCompression,
    cipher: Cipher,
    v: MetaVersion,
) -> PathBuf {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    static SOURCE: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let root = ROOT.get_or_init(|| tempfile::tempdir().unwrap());
    let _one_at_a_time = SOURCE.get_or_init(Default::default).lock().unwrap();
    let out = root.path().join(name);
    if out.join(BACKUPMETA).exists() {
        return out;
    }
    rt().block_on(async {
        let cdir = root.path().join("cluster");
        let c = ClusterClient::connect(&url(&cdir)).await.unwrap();
        if !cdir.join("loaded").exists() {
            let spec = WorkloadSpec {
                db: "sbtest".into(),
                tables: 1,
                rows: 400,
                seed: 11,
            };
            workload::load(&c, &spec).await.unwrap();
            std::fs::write(cdir.join("loaded"), b"").unwrap();
        }
        let mut o = BackupOptions::new(&url(&out));
        o.compression = compression;
        o.cipher = cipher;
        o.meta_version = v;
        o.sst_max_size = 8 << 10;
        run_backup(&c, open_url(&url(&out)).unwrap(), &o, &Quiet)
            .await
            .unwrap();
        c.close().await;
    });
    out
}

fn good() -> PathBuf {
    cluster_archive(
        "good",
        SstCompression::Zstd,
        Cipher::plaintext(),
        MetaVersion::V2,
    )
}

/// A private copy of an archive directory, to damage.
fn copy_of(src: &Path) -> (tempfile::TempDir, PathBuf) {
    fn cp(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let t = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                cp(&e.path(), &t);
            } else {
                std::fs::copy(e.path(), &t).unwrap();
            }
        }
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("archive");
    cp(src, &p);
    (d, p)
}

fn verify_with(dir: &Path, opts: &VerifyOptions) -> VerifyReport {
    let s = open_url(&url(dir)).unwrap();
    rt().block_on(run_verify(s.as_ref(), opts, &NoProgress))
        .unwrap()
}

fn verify(dir: &Path, level: Level) -> VerifyReport {
    verify_with(dir, &VerifyOptions::new(level))
}

fn open(dir: &Path, cipher: &Cipher) -> (Arc<dyn Storage>, SnapshotArchive) {
    let s = open_url(&url(dir)).unwrap();
    let a = rt()
        .block_on(SnapshotArchive::open(s.as_ref(), cipher))
        .unwrap();
    (s, a)
}

/// Rewrites the archive's metadata (metafiles and root) after `edit` changed the file and
/// schema lists, as a writer would (same version, fresh metafile names).
fn rewrite_meta(dir: &Path, edit: impl FnOnce(&mut Vec<DataFile>, &mut Vec<SchemaEntry>)) {
    let (s, a) = open(dir, &Cipher::plaintext());
    let (mut files, mut schemas) = (a.files.clone(), a.schemas.clone());
    edit(&mut files, &mut schemas);
    rt().block_on(async {
        for p in &a.metafiles {
            s.delete(&p.name).await.unwrap();
        }
        let mut w = MetaWriter::new(a.meta.version, Cipher::plaintext());
        let mut objects = Vec::new();
        for f in &files {
            objects.extend(w.add_data_file(f).unwrap());
        }
        objects.extend(w.flush().unwrap());
        for sc in &schemas {
            objects.extend(w.add_schema(sc).unwrap());
        }
        let header = RootHeader {
            cluster_id: a.meta.cluster_id,
            cluster_version: a.meta.cluster_version.clone(),
            br_version: a.meta.br_version.clone(),
            start_version: a.meta.start_version,
            end_version: a.meta.end_version,
            new_collations_enabled: a.meta.new_collations_enabled.clone(),
        };
        let (last, root) = w.finish(&header).unwrap();
        objects.extend(last);
        for o in objects {
            s.write(&o.name, Bytes::from(o.bytes)).await.unwrap();
        }
        s.write(&root.name, Bytes::from(root.bytes)).await.unwrap();
    });
}

fn sha(b: &[u8]) -> Vec<u8> {
    brkit::engine::verify::sha256(b).to_vec()
}

/// The archive's files of table `db.table` (by the table id of the start key), write CF.
fn table_files(a: &SnapshotArchive, table: &str) -> Vec<DataFile> {
    let (entries, _) = brkit::archive::catalog::catalog(a).unwrap();
    let e = entries
        .iter()
        .find(|e| e.table.as_deref() == Some(table))
        .unwrap();
    e.files.iter().map(|&i| a.files[i].clone()).collect()
}

/// Asserts exactly one error finding of `kind` exists and returns it; every other error
/// finding must have a kind in `also`.
fn only<'a>(r: &'a VerifyReport, kind: &str, also: &[&str]) -> &'a brkit::engine::verify::Finding {
    let errors: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity == brkit::engine::verify::Severity::Error)
        .collect();
    for f in &errors {
        assert!(
            f.kind == kind || also.contains(&f.kind),
            "unexpected finding {f:?}\nall: {:#?}",
            r.findings
        );
    }
    let hits: Vec<_> = errors.iter().filter(|f| f.kind == kind).collect();
    assert_eq!(hits.len(), 1, "want one {kind}: {:#?}", r.findings);
    assert_eq!(r.exit_code(), 1);
    hits[0]
}

fn assert_clean(r: &VerifyReport, what: &str) {
    assert!(
        r.findings.is_empty(),
        "{what}: findings on a good archive: {:#?}",
        r.findings
    );
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn verify_kv_finds_nothing_on_good_cluster_archives() {
    let cases = [
        (
            "zstd-v2",
            SstCompression::Zstd,
            Cipher::plaintext(),
            MetaVersion::V2,
        ),
        (
            "lz4-v1",
            SstCompression::Lz4,
            Cipher::plaintext(),
            MetaVersion::V1,
        ),
        (
            "snappy-v2",
            SstCompression::Snappy,
            Cipher::plaintext(),
            MetaVersion::V2,
        ),
        (
            "none-v1",
            SstCompression::None,
            Cipher::plaintext(),
            MetaVersion::V1,
        ),
        ("aes-v2", SstCompression::Zstd, aes256(), MetaVersion::V2),
    ];
    for (name, comp, cipher, v) in cases {
        let dir = cluster_archive(name, comp, cipher.clone(), v);
        let mut o = VerifyOptions::new(Level::Kv);
        o.cipher = cipher;
        let r = verify_with(&dir, &o);
        assert_clean(&r, name);
        assert_eq!(r.tables.len(), 5, "{name}");
        for t in &r.tables {
            let got = t.recomputed.expect("every table recomputed");
            assert_eq!(got, t.expected, "{name} {}", t.table);
            assert!(t.rows > 0 && t.undecodable_rows == 0, "{name} {t:?}");
        }
        // The small SST cap gave ranges of several files: the coverage check had work to do.
        let (_, a) = open(&dir, &o.cipher);
        let f = table_files(&a, "sbtest1");
        assert!(
            f.iter().filter(|f| f.cf == Cf::Write).count() >= 3,
            "{name}: {}",
            f.len()
        );
    }
}

#[test]
fn verify_kv_finds_nothing_on_sample_archives_in_both_layouts() {
    for backend in ["local", "gcs"] {
        for (v, cipher) in [
            (MetaVersion::V1, Cipher::plaintext()),
            (MetaVersion::V2, aes256()),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let s = open_url(&url(&dir.path().join("a"))).unwrap();
            let spec = SampleSpec {
                rows_per_table: 300,
                compression: SstCompression::Zstd,
                cipher: cipher.clone(),
                meta_version: v,
                backend: backend.into(),
                seed: 3,
            };
            rt().block_on(write_sample_archive(s.as_ref(), dir.path(), &spec))
                .unwrap();
            let mut o = VerifyOptions::new(Level::Kv);
            o.cipher = cipher;
            let r = verify_with(&dir.path().join("a"), &o);
            assert_clean(&r, backend);
            assert_eq!(r.tables.len(), 2);
        }
    }
}

#[test]
fn missing_data_file() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let victim = &table_files(&a, "sbtest1")[0];
    std::fs::remove_file(dir.join(&victim.name)).unwrap();
    let r = verify(&dir, Level::Meta);
    let f = only(&r, "file-missing", &[]);
    assert_eq!(f.file.as_deref(), Some(victim.name.as_str()));
    assert_eq!(f.rule, "ORDER-2");
}

#[test]
fn missing_metafile() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let leaf = a.meta.file_index[0].name.clone();
    std::fs::remove_file(dir.join(&leaf)).unwrap();
    let r = verify(&dir, Level::Meta);
    // Without the leaf its data files are unknown: the tables no longer add up, and the
    // files it listed are stray.
    let f = only(
        &r,
        "metafile-missing",
        &["fast-checksum-mismatch", "range-gap"],
    );
    assert_eq!(f.file.as_deref(), Some(leaf.as_str()));
    assert!(r.of_kind("unreferenced-file").count() > 0);
}

#[test]
fn byte_flip_in_sst_found_at_file_level() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let victim = table_files(&a, "sbtest1")
        .into_iter()
        .find(|f| f.cf == Cf::Write)
        .unwrap();
    let p = dir.join(&victim.name);
    let mut b = std::fs::read(&p).unwrap();
    b[20] ^= 0x40;
    std::fs::write(&p, &b).unwrap();
    assert_clean(&verify(&dir, Level::Meta), "meta level reads no data");
    let r = verify(&dir, Level::File);
    let f = only(&r, "sha256-mismatch", &[]);
    assert_eq!(f.file.as_deref(), Some(victim.name.as_str()));
    assert_eq!(f.table.as_deref(), Some("sbtest.sbtest1"));
    assert_eq!(f.rule, "CSUM-7");
}

#[test]
fn byte_flip_with_forged_sha256_found_at_kv_level_naming_the_table() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let victim = table_files(&a, "sbtest1")
        .into_iter()
        .find(|f| f.cf == Cf::Write)
        .unwrap();
    let p = dir.join(&victim.name);
    let mut b = std::fs::read(&p).unwrap();
    b[20] ^= 0x40;
    std::fs::write(&p, &b).unwrap();
    let forged = sha(&b);
    rewrite_meta(&dir, |files, _| {
        for f in files.iter_mut().filter(|f| f.name == victim.name) {
            f.sha256 = forged.clone();
        }
    });
    assert_clean(
        &verify(&dir, Level::File),
        "the forged SHA-256 fools the file level",
    );
    let r = verify(&dir, Level::Kv);
    let f = only(&r, "sst-undecodable", &[]);
    assert_eq!(f.file.as_deref(), Some(victim.name.as_str()));
    assert_eq!(f.table.as_deref(), Some("sbtest.sbtest1"));
    assert!(f.rule.starts_with("SST-"), "{f:?}");
    let t = r.tables.iter().find(|t| t.table == "sbtest1").unwrap();
    assert!(t.recomputed.is_none() && t.errors == 1);
}

#[test]
fn truncated_sst() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let victim = &table_files(&a, "sbtest1")[1];
    let p = dir.join(&victim.name);
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..b.len() - 30]).unwrap();
    for level in [Level::Meta, Level::Kv] {
        let r = verify(&dir, level);
        let f = only(&r, "file-size-mismatch", &[]);
        assert_eq!(f.file.as_deref(), Some(victim.name.as_str()));
        assert_eq!(f.expected, Some(victim.size.to_string()));
        assert_eq!(f.actual, Some((victim.size - 30).to_string()));
    }
}

#[test]
fn sst_swapped_between_tables_with_forged_entries() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let pick = |t: &str| {
        table_files(&a, t)
            .into_iter()
            .find(|f| f.cf == Cf::Write)
            .unwrap()
    };
    let (x, y) = (pick("sbtest1"), pick("orders_clustered"));
    let (bx, by) = (
        std::fs::read(dir.join(&x.name)).unwrap(),
        std::fs::read(dir.join(&y.name)).unwrap(),
    );
    std::fs::write(dir.join(&x.name), &by).unwrap();
    std::fs::write(dir.join(&y.name), &bx).unwrap();
    // Swapped objects differ in SHA-256 and usually in size: either way both are named.
    let file_level = verify(&dir, Level::File);
    let mut named: Vec<_> = file_level
        .findings
        .iter()
        .filter(|f| f.kind == "sha256-mismatch" || f.kind == "file-size-mismatch")
        .filter_map(|f| f.file.clone())
        .collect();
    named.sort();
    let mut want = vec![x.name.clone(), y.name.clone()];
    want.sort();
    assert_eq!(named, want, "{:#?}", file_level.findings);
    // Forge SHA-256 and size so only the data can tell.
    rewrite_meta(&dir, |files, _| {
        for f in files.iter_mut() {
            if f.name == x.name {
                (f.sha256, f.size) = (sha(&by), by.len() as u64);
            } else if f.name == y.name {
                (f.sha256, f.size) = (sha(&bx), bx.len() as u64);
            }
        }
    });
    let r = verify(&dir, Level::Kv);
    let out: Vec<_> = r.of_kind("key-out-of-range").collect();
    assert_eq!(out.len(), 2, "{:#?}", r.findings);
    for (f, name, table) in [
        (&x, x.name.as_str(), "sbtest.sbtest1"),
        (&y, y.name.as_str(), "sbtest.orders_clustered"),
    ] {
        let hit = out
            .iter()
            .find(|o| o.file.as_deref() == Some(name))
            .unwrap();
        assert_eq!(hit.table.as_deref(), Some(table), "{f:?}");
    }
    // and both tables' totals are off
    assert_eq!(
        r.of_kind("table-checksum-mismatch").count(),
        2,
        "{:#?}",
        r.findings
    );
}

#[test]
fn wrong_crc64xor_in_backupmeta() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let victim = table_files(&a, "events_rowid")
        .into_iter()
        .find(|f| f.checksum.total_kvs > 0)
        .unwrap();
    rewrite_meta(&dir, |files, _| {
        for f in files.iter_mut().filter(|f| f.name == victim.name) {
            f.checksum.crc64xor ^= 0x1234;
        }
    });
    let meta = verify(&dir, Level::Meta);
    let f = only(&meta, "fast-checksum-mismatch", &[]);
    assert_eq!(f.table.as_deref(), Some("sbtest.events_rowid"));
    assert_eq!(f.rule, "CSUM-8");
    let kv = verify(&dir, Level::Kv);
    let f = only(&kv, "file-checksum-mismatch", &["fast-checksum-mismatch"]);
    assert_eq!(f.file.as_deref(), Some(victim.name.as_str()));
    assert_eq!(f.rule, "CSUM-2");
    // The data itself still adds up to the Schema checksum.
    let t = kv
        .tables
        .iter()
        .find(|t| t.table == "events_rowid")
        .unwrap();
    assert_eq!(t.recomputed, Some(t.expected));
}

#[test]
fn table_range_gap() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let mut writes: Vec<_> = table_files(&a, "sbtest1")
        .into_iter()
        .filter(|f| f.cf == Cf::Write)
        .collect();
    writes.sort_by(|a, b| a.start_key.cmp(&b.start_key));
    let victim = writes[1].clone(); // a middle file of the record range
    rewrite_meta(&dir, |files, _| {
        files.retain(|f| f.start_key != victim.start_key || f.end_key != victim.end_key)
    });
    let r = verify(&dir, Level::Meta);
    let f = only(&r, "range-gap", &["fast-checksum-mismatch"]);
    assert_eq!(f.table.as_deref(), Some("sbtest.sbtest1"));
    assert!(
        f.detail.contains(&hex::encode(&victim.start_key))
            && f.detail.contains(&hex::encode(&victim.end_key)),
        "the gap is exactly the removed file's range: {f:?}"
    );
    assert_eq!(r.of_kind("fast-checksum-mismatch").count(), 1);
    // the removed entry's objects are now stray
    assert!(r
        .of_kind("unreferenced-file")
        .any(|w| w.file.as_deref() == Some(victim.name.as_str())));
}

#[test]
fn overlapping_files() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let mut writes: Vec<_> = table_files(&a, "sbtest1")
        .into_iter()
        .filter(|f| f.cf == Cf::Write)
        .collect();
    writes.sort_by(|a, b| a.start_key.cmp(&b.start_key));
    let (first, second) = (writes[0].clone(), writes[1].clone());
    // Stretch the first file's end past the second's start.
    rewrite_meta(&dir, |files, _| {
        for f in files.iter_mut() {
            if f.start_key == first.start_key && f.end_key == first.end_key {
                f.end_key = second.end_key.clone();
            }
        }
    });
    let r = verify(&dir, Level::Meta);
    let f = only(&r, "range-overlap", &[]);
    assert_eq!(f.file.as_deref(), Some(second.name.as_str()));
    assert_eq!(f.table.as_deref(), Some("sbtest.sbtest1"));
}

#[test]
fn unknown_backupmeta_version() {
    use prost::Message;
    let (_d, dir) = copy_of(&good());
    let p = dir.join(BACKUPMETA);
    let mut m = brkit::proto::backup::BackupMeta::decode(&std::fs::read(&p).unwrap()[..]).unwrap();
    m.version = 7;
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    let r = verify(&dir, Level::Kv);
    let f = only(&r, "unknown-version", &[]);
    assert_eq!(f.rule, "META-1");
    assert_eq!(f.actual.as_deref(), Some("7"));
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn wrong_metafile_sha256() {
    let (_d, dir) = copy_of(&good());
    let (_, a) = open(&dir, &Cipher::plaintext());
    let leaf = a.meta.schema_index[0].name.clone();
    let p = dir.join(&leaf);
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n / 2] ^= 0x01;
    std::fs::write(&p, &b).unwrap();
    let r = verify(&dir, Level::Meta);
    // Without the schema leaf the tables are unknown, so their files are orphans.
    let f = only(&r, "metafile-sha256-mismatch", &["file-without-table"]);
    assert_eq!(f.file.as_deref(), Some(leaf.as_str()));
    assert_eq!(f.rule, "META-V2-3");
    assert_eq!(
        f.expected.as_deref(),
        Some(hex::encode(&a.meta.schema_index[0].sha256).as_str())
    );
}

fn brtool(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn encrypted_archive_with_a_wrong_key_could_not_verify() {
    let dir = cluster_archive("aes-v2", SstCompression::Zstd, aes256(), MetaVersion::V2);
    let u = url(&dir);
    let right = hex::encode([0x5a; 32]);
    let wrong = hex::encode([0x5b; 32]);
    let (code, out, _) = brtool(&[
        "verify",
        "-s",
        &u,
        "--level",
        "kv",
        "--crypter.method",
        "aes256-ctr",
        "--crypter.key",
        &right,
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out, err) = brtool(&[
        "verify",
        "-s",
        &u,
        "--crypter.method",
        "aes256-ctr",
        "--crypter.key",
        &wrong,
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--crypter.key"), "{err}");
    assert!(
        !err.contains(&wrong),
        "the key must never be printed: {err}"
    );
}

#[test]
fn cli_exit_codes_and_json_lines() {
    let (_d, dir) = copy_of(&good());
    let u = url(&dir);
    let (code, out, _) = brtool(&["verify", "-s", &u, "--json"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["type"], "summary");
    assert_eq!(lines.last().unwrap()["level"], "file");
    assert_eq!(lines.iter().filter(|l| l["type"] == "table").count(), 5);
    // damage → exit 1 with a finding line
    let (_, a) = open(&dir, &Cipher::plaintext());
    std::fs::remove_file(dir.join(&a.files[0].name)).unwrap();
    let (code, out, _) = brtool(&["verify", "-s", &u, "--json", "--level", "meta"]);
    assert_eq!(code, 1);
    let f: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(f["type"], "finding");
    assert_eq!(f["kind"], "file-missing");
    assert_eq!(f["file"], a.files[0].name.as_str());
    // human output names the finding too
    let (code, out, _) = brtool(&["verify", "-s", &u, "--level", "meta"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("file-missing") && out.contains("FAILED"),
        "{out}"
    );
    // could not verify: bad flags, empty location
    let empty = tempfile::tempdir().unwrap();
    for args in [
        vec!["verify", "-s", &u, "--level", "deep"],
        vec!["verify", "-s", &u, "--read-data-subset", "5/4"],
        vec!["verify", "-s", &u, "--table", "t"],
        vec!["verify", "-s", "ftp://x/y"],
    ] {
        let (code, _, err) = brtool(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    let eu = url(empty.path());
    let (code, _, err) = brtool(&["verify", "-s", &eu]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no archive here"), "{err}");
}

#[test]
fn read_data_subset_runs_cover_every_file_once() {
    let dir = good();
    let total = verify(&dir, Level::File).files_read;
    assert!(total > 10);
    let mut sum = 0;
    for n in 1..=3 {
        let mut o = VerifyOptions::new(Level::File);
        o.subset = Subset::Part { n, t: 3 };
        let r = verify_with(&dir, &o);
        assert!(r.findings.is_empty());
        assert!(r.files_read < total);
        sum += r.files_read;
    }
    assert_eq!(sum, total);
}

#[test]
fn filter_limits_the_tables_checked() {
    let dir = good();
    let mut o = VerifyOptions::new(Level::Kv);
    o.filter = Some(brkit::engine::filter::TableFilter::table(
        "sbtest", "sbtest1",
    ));
    let r = verify_with(&dir, &o);
    assert_eq!(r.tables.len(), 1);
    assert_eq!(r.tables[0].table, "sbtest1");
    assert!(r.findings.is_empty());
}
