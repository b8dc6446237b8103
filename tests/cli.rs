//! `brtool` as a user runs it: inspect on archives written by the library, JSON output, exit
//! codes and error messages for bad input.

use brkit::archive::sst_writer::SstCompression;
use brkit::engine::sample::{write_sample_archive, write_sample_log_archive, SampleSpec};
use brkit::format::backupmeta::MetaVersion;
use brkit::format::crypto::{Cipher, CipherMethod};
use brkit::storage::opendal_backend::open_url;
use std::process::{Command, Output};

fn brtool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args(args)
        .output()
        .expect("brtool runs")
}

fn write_archive(dir: &std::path::Path, cipher: Cipher) -> String {
    let url = format!("local://{}", dir.join("a").display());
    let storage = open_url(&url).unwrap();
    let spec = SampleSpec {
        rows_per_table: 100,
        compression: SstCompression::Zstd,
        cipher,
        meta_version: MetaVersion::V2,
        backend: "local".into(),
        seed: 1,
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(write_sample_archive(storage.as_ref(), dir, &spec))
        .unwrap();
    url
}

#[test]
fn inspect_prints_tables_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = write_archive(dir.path(), Cipher::plaintext());
    let out = brtool(&["inspect", "-s", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Snapshot archive"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("demo") && l.contains("users") && l.contains(" 110 ")),
        "{text}"
    );
    assert!(text.contains("_write.sst"));
}

#[test]
fn inspect_json_has_integer_numbers_and_hex_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = write_archive(dir.path(), Cipher::plaintext());
    let out = brtool(&["inspect", "-s", &url, "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "snapshot");
    assert!(v["end_version"].is_u64());
    assert!(v["cluster_id"].is_u64());
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    for f in files {
        assert!(f["crc64xor"].is_u64());
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
        assert!(f["start_key"].as_str().unwrap().starts_with("74")); // 't'
    }
    let users = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "users")
        .unwrap();
    assert_eq!(users["total_kvs"], 200);
    assert_eq!(v["schemas"][0]["table"]["name"]["O"], "users");
}

#[test]
fn inspect_encrypted_needs_the_right_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = "00112233445566778899aabbccddeeff";
    let url = write_archive(
        dir.path(),
        Cipher::new(CipherMethod::Aes128Ctr, hex::decode(key).unwrap()).unwrap(),
    );
    let ok = brtool(&[
        "inspect",
        "-s",
        &url,
        "--crypter.method",
        "aes128-ctr",
        "--crypter.key",
        key,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let wrong = brtool(&[
        "inspect",
        "-s",
        &url,
        "--crypter.method",
        "aes128-ctr",
        "--crypter.key",
        "ffeeddccbbaa99887766554433221100",
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong --crypter.key"));
    let no_key = brtool(&["inspect", "-s", &url, "--crypter.method", "aes128-ctr"]);
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("--crypter.key"));
    let short_key = brtool(&[
        "inspect",
        "-s",
        &url,
        "--crypter.method",
        "aes256-ctr",
        "--crypter.key",
        key,
    ]);
    assert_eq!(short_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short_key.stderr).contains("32-byte key"));
}

#[test]
fn inspect_log_archive() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("local://{}", dir.path().display());
    let s = open_url(&url).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(write_sample_log_archive(
            s.as_ref(),
            brkit::codec::tso::compose(1_790_000_000_000, 0),
        ))
        .unwrap();
    let out = brtool(&["inspect", "-s", &url, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "log");
    assert_eq!(v["metas"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["metas"][0]["groups"][0]["sub_files"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        v["max_restorable_ts"]["tso"].as_u64().unwrap()
            > v["min_restorable_ts"]["tso"].as_u64().unwrap()
    );
    let human = brtool(&["inspect", "-s", &url]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("Log backup archive"));
}

#[test]
fn bad_input_exits_2_with_a_named_cause() {
    let dir = tempfile::tempdir().unwrap();
    let out = brtool(&[
        "inspect",
        "-s",
        &format!("local://{}", dir.path().display()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LAYOUT-3"));
    let out = brtool(&["inspect", "-s", "ftp://host/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ftp"));
    let out = brtool(&["inspect", "-s", "/tmp/x", "--crypter.method", "rot13"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--crypter.method"));
    std::fs::write(dir.path().join("backupmeta"), b"\x60\x07garbage").unwrap();
    let out = brtool(&[
        "inspect",
        "-s",
        &format!("local://{}", dir.path().display()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("backupmeta"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn inspect_reports_unknown_backupmeta_fields() {
    let dir = tempfile::tempdir().unwrap();
    let url = write_archive(dir.path(), Cipher::plaintext());
    let root = dir.path().join("a/backupmeta");
    let mut bytes = std::fs::read(&root).unwrap();
    bytes.extend_from_slice(&[0xD8, 0x01, 0x01]); // field 27 = 1: unknown to this brkit
    std::fs::write(&root, bytes).unwrap();
    let out = brtool(&["inspect", "-s", &url]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("does not know: [27]"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&brtool(&["inspect", "-s", &url, "--json"]).stdout).unwrap();
    assert_eq!(v["unknown_fields"], serde_json::json!([27]));
}
