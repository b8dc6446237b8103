//! Helpers shared by integration tests: the tokio runtime they drive the async library with,
//! and RocksDB's own `sst_dump` as the reference reader. Each test binary uses a subset.
#![allow(dead_code)]

use std::path::Path;

/// Two workers, as the CLI runs.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Parses `sst_dump --command=scan --output_hex`: `'KEYHEX' seq:N, type:T => VALUEHEX`.
pub fn sst_dump_scan(path: &Path) -> Vec<(Vec<u8>, u64, u8, Vec<u8>)> {
    let out = std::process::Command::new("sst_dump")
        .arg(format!("--file={}", path.display()))
        .arg("--command=scan")
        .arg("--output_hex")
        .output()
        .expect("sst_dump is missing: install rocksdb-tools (Debian) to run this test");
    assert!(
        out.status.success(),
        "sst_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('\'')) {
        let (k, rest) = line[1..].split_once("' seq:").expect(line);
        let (seq, rest) = rest.split_once(", type:").expect(line);
        let (t, v) = rest
            .split_once(" => ")
            .unwrap_or((rest.trim_end_matches(" =>"), ""));
        rows.push((
            hex::decode(k).unwrap(),
            seq.parse().unwrap(),
            t.trim().parse().unwrap(),
            hex::decode(v.trim()).unwrap(),
        ));
    }
    rows
}
