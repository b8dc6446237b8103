//! The cluster from the command line, as users run it: `brtool cluster start` as a server that
//! other brtool processes reach through `--pd local://DIR` (or its address), a second process
//! that would open the same RocksDB in-process gets a clear error pointing at the server, and
//! the backupmeta a backup writes decodes by kvproto's field numbers.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn brtool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args(args)
        .output()
        .expect("running brtool")
}

fn ok(args: &[&str]) -> String {
    let o = brtool(args);
    assert!(
        o.status.success(),
        "brtool {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args(["cluster", "start", "--dir", dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("cluster.addr").exists() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

#[test]
fn a_server_serves_other_processes_and_stops_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("c");
    let mut server = start_server(&d);
    let pd = format!("local://{}", d.display());
    ok(&[
        "workload", "load", "--pd", &pd, "--tables", "1", "--rows", "50",
    ]);
    let addr = std::fs::read_to_string(d.join("cluster.addr")).unwrap();
    // the same server by address, as BR's --pd host:port
    let names = ok(&["table", "list", "--pd", addr.trim(), "--db", "sbtest"]);
    assert!(names.lines().any(|l| l == "sbtest1"), "{names}");
    let sum = ok(&[
        "table", "checksum", "--pd", &pd, "--db", "sbtest", "--table", "sbtest1",
    ]);
    let parts: Vec<&str> = sum.split_whitespace().collect();
    assert_eq!(parts.len(), 3, "{sum}");
    assert_eq!(parts[1], "100", "50 rows + 50 index entries: {sum}");
    let bk = dir.path().join("bk");
    let url = format!("local://{}", bk.display());
    let out = ok(&[
        "backup", "table", "--pd", &pd, "-s", &url, "--db", "sbtest", "--table", "sbtest1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["kvs"], 100);
    // backupmeta by kvproto field numbers: 6 end_version = backup ts, 12 version = 1 (V2),
    // 13 file_index and 14 schema_index present.
    let meta = std::fs::read(bk.join("backupmeta")).unwrap();
    let fields = wire_fields(&meta);
    let varint = |n: u64| fields.iter().find(|(f, _)| *f == n).map(|(_, v)| v.clone());
    assert_eq!(
        varint(6),
        Some(Field::Varint(v["backup_ts"].as_u64().unwrap()))
    );
    assert_eq!(varint(12), Some(Field::Varint(1)));
    assert!(matches!(varint(13), Some(Field::Bytes(_))));
    assert!(matches!(varint(14), Some(Field::Bytes(_))));
    ok(&["cluster", "stop", "--pd", &pd]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = server.0.try_wait().unwrap() {
            assert!(st.success());
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !d.join("cluster.addr").exists(),
        "the address file goes with the server"
    );
    // with no server, the same URL opens the cluster in-process and sees the same data
    let names = ok(&["table", "list", "--pd", &pd, "--db", "sbtest"]);
    assert!(names.lines().any(|l| l == "sbtest1"));
}

#[test]
fn a_second_in_process_opener_is_told_to_start_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("c");
    let pd = format!("local://{}", d.display());
    ok(&[
        "workload", "load", "--pd", &pd, "--tables", "1", "--rows", "20",
    ]);
    // a long-running in-process command holds the stores
    let mut runner = Server(
        Command::new(env!("CARGO_BIN_EXE_brtool"))
            .args([
                "workload",
                "run",
                "--pd",
                &pd,
                "--tables",
                "1",
                "--rows",
                "20",
                "--duration",
                "20s",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        runner.0.try_wait().unwrap().is_none(),
        "the runner is still running"
    );
    let o = brtool(&["table", "list", "--pd", &pd, "--db", "sbtest"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("brtool cluster start --dir") && err.contains("in use by another process"),
        "{err}"
    );
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Varint(u64),
    Bytes(Vec<u8>),
    Fixed,
}

/// Top-level protobuf fields (number, value), decoded by wire type only.
fn wire_fields(mut b: &[u8]) -> Vec<(u64, Field)> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for i in 0..10 {
            let x = b[0];
            *b = &b[1..];
            v |= ((x & 0x7f) as u64) << (7 * i);
            if x < 0x80 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        let f = match key & 7 {
            0 => Field::Varint(varint(&mut b)),
            2 => {
                let n = varint(&mut b) as usize;
                let v = b[..n].to_vec();
                b = &b[n..];
                Field::Bytes(v)
            }
            1 => {
                b = &b[8..];
                Field::Fixed
            }
            5 => {
                b = &b[4..];
                Field::Fixed
            }
            t => panic!("wire type {t}"),
        };
        out.push((key >> 3, f));
    }
    out
}
