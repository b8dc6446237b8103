//! RocksDB's own `sst_dump --command=scan --output_hex` as the reference SST reader, for the
//! integration tests (tests/support) and the store's unit tests (included by path from
//! src/cluster/store/test_util.rs), so there is one parser of its output.

use std::path::Path;

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
