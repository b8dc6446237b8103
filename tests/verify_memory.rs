//! Issue 4: verifying a metadata-heavy archive (10,000 tables, 100,000 data files, V2
//! metafiles) stays under 512 MiB RSS. The fixture is generated here (tiny data objects with
//! correct SHA-256, abutting ranges, FastChecksum-consistent Schema entries); `brtool verify
//! --level file` runs as a child process and reports its own peak RSS (`VmHWM`) because
//! `BRKIT_REPORT_PEAK_RSS` is set.

use brkit::archive::snapshot::SnapshotArchive;
use brkit::archive::sst_writer::SstCompression;
use brkit::codec::table::{record_key_int, record_range_int};
use brkit::engine::sample::{write_sample_archive, SampleSpec};
use brkit::format::backupmeta::{DataFile, MetaVersion, MetaWriter, RootHeader, SchemaEntry};
use brkit::format::checksum::Checksum;
use brkit::format::crypto::Cipher;
use brkit::format::naming::snapshot::{build_sst_name, Cf, BACKUPMETA};
use brkit::storage::open_url;
use std::path::Path;
use std::process::Command;

const TABLES: i64 = 10_000;
const FILES_PER_TABLE: i64 = 10;
const LIMIT_KIB: u64 = 512 * 1024;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A TableInfo JSON (the sample's `_tidb_rowid` table) to clone for every table.
fn template(tmp: &Path) -> (Vec<u8>, serde_json::Value) {
    let s = open_url(&format!("local://{}", tmp.join("t").display())).unwrap();
    let spec = SampleSpec {
        rows_per_table: 1,
        compression: SstCompression::None,
        cipher: Cipher::plaintext(),
        meta_version: MetaVersion::V2,
        backend: "local".into(),
        seed: 1,
    };
    let rt = rt();
    rt.block_on(write_sample_archive(s.as_ref(), tmp, &spec))
        .unwrap();
    let a = rt
        .block_on(SnapshotArchive::open(s.as_ref(), &Cipher::plaintext()))
        .unwrap();
    let e = &a.schemas[1];
    (
        e.db_json.clone(),
        serde_json::from_slice(e.table_json.as_ref().unwrap()).unwrap(),
    )
}

fn build(dir: &Path, tmp: &Path) -> u64 {
    let (db_json, table) = template(tmp);
    let mut w = MetaWriter::with_split(MetaVersion::V2, Cipher::plaintext(), 4 << 20);
    let mut objects = Vec::new();
    let mut schemas = Vec::new();
    let mut files = 0;
    for t in 0..TABLES {
        let id = 1000 + t;
        let range = record_range_int(id);
        let mut sum = Checksum::default();
        for k in 0..FILES_PER_TABLE {
            let start = if k == 0 {
                range.start.clone()
            } else {
                record_key_int(id, k * 1000)
            };
            let end = if k == FILES_PER_TABLE - 1 {
                range.end.clone()
            } else {
                record_key_int(id, (k + 1) * 1000)
            };
            let name = build_sst_name(
                "local",
                1 + (k as u64 % 3),
                id as u64 * 16 + k as u64,
                1,
                &start,
                1_790_000_000_000,
                Cf::Write,
            );
            let body = format!("{name}:{t}:{k}").into_bytes();
            let path = dir.join(&name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &body).unwrap();
            let mut c = Checksum::default();
            c.update(&start, &body);
            sum.merge(&c);
            let f = DataFile {
                name,
                sha256: brkit::engine::verify::sha256(&body).to_vec(),
                start_key: start,
                end_key: end,
                start_version: 0,
                end_version: 449_460_987_494_400_001,
                checksum: c,
                cf: Cf::Write,
                size: body.len() as u64,
                cipher_iv: Vec::new(),
            };
            objects.extend(w.add_data_file(&f).unwrap());
            files += 1;
        }
        let mut info = table.clone();
        info["id"] = id.into();
        let name = format!("t{t}");
        info["name"] = serde_json::json!({"O": name, "L": name});
        schemas.push(SchemaEntry {
            db_json: db_json.clone(),
            table_json: Some(serde_json::to_vec(&info).unwrap()),
            checksum: sum,
            tiflash_replicas: 0,
        });
    }
    objects.extend(w.flush().unwrap());
    for s in &schemas {
        objects.extend(w.add_schema(s).unwrap());
    }
    let header = RootHeader {
        cluster_id: 1,
        cluster_version: "8.5.0".into(),
        br_version: "brkit test".into(),
        start_version: 0,
        end_version: 449_460_987_494_400_001,
        new_collations_enabled: "True".into(),
    };
    let (last, root) = w.finish(&header).unwrap();
    objects.extend(last);
    for o in objects {
        std::fs::write(dir.join(&o.name), &o.bytes).unwrap();
    }
    std::fs::write(dir.join(BACKUPMETA), &root.bytes).unwrap();
    files
}

#[test]
fn verify_10000_tables_100000_files_under_512_mib() {
    let tmp = tempfile::tempdir().unwrap();
    // BRKIT_KEEP_FIXTURE=DIR keeps the generated archive in DIR (for profiling and benches).
    let dir = match std::env::var_os("BRKIT_KEEP_FIXTURE") {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().join("archive"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    let files = build(&dir, tmp.path());
    assert_eq!(files, (TABLES * FILES_PER_TABLE) as u64);
    let out = Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args([
            "verify",
            "-s",
            &format!("local://{}", dir.display()),
            "--json",
        ])
        .env("BRKIT_REPORT_PEAK_RSS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["tables"], TABLES);
    assert_eq!(summary["files_read"], files);
    let peak_kib: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("brtool: peak RSS "))
        .and_then(|v| v.trim_end_matches(" KiB").parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS line in stderr: {stderr}"));
    eprintln!("verify of {TABLES} tables / {files} files: peak RSS {peak_kib} KiB");
    assert!(peak_kib < LIMIT_KIB, "peak RSS {peak_kib} KiB >= 512 MiB");
}
