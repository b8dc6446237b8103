//! Real FUSE mounts (format/brfs.md): the adapter over a fake source in this process (the
//! shell tools see the layout, EROFS, a slow read blocks nothing else), and the `brfs` binary
//! over real archives made by a cluster with a real log backup (tests/support/view_fixture.rs):
//! rows.csv equals `brtool table dump` of the source at each ts, raw/ and files/ equal the
//! objects, DuckDB reads rows.csv, bad input fails with exit 2 and leaves nothing mounted.
//! Skipped, loudly, where /dev/fuse or fusermount3 is missing; CI has both. Every mount is
//! undone by a Drop guard.

#[path = "support/brfs_fake.rs"]
mod brfs_fake;
mod support;
#[path = "support/view_fixture.rs"]
mod view_fixture;

use brfs_fake::{FakeSource, FLUSH_TS, SNAP_TS};
use brkit::brfs::fuse::{is_mounted, mount, FuseOptions, Mounted};
use brkit::brfs::{Vfs, VfsOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fuse_available() -> bool {
    let ok = Path::new("/dev/fuse").exists()
        && Command::new("fusermount3")
            .arg("--version")
            .output()
            .is_ok();
    if !ok {
        eprintln!("\n\n!!!!! SKIPPED: /dev/fuse or fusermount3 is missing; brfs mount tests did not run !!!!!\n\n");
    }
    ok
}

/// Unmounts on drop, whatever happened.
struct Guard {
    mounted: Option<Mounted>,
    dir: tempfile::TempDir,
}

impl Guard {
    fn path(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(m) = self.mounted.take() {
            let _ = m.unmount();
        }
        let mp = self.path();
        if is_mounted(&mp) {
            let _ = Command::new("fusermount3")
                .args(["-u", "-z"])
                .arg(&mp)
                .status();
        }
    }
}

fn mount_fake(src: FakeSource, threads: usize) -> Guard {
    let dir = tempfile::tempdir().unwrap();
    let mp = dir.path().join("mnt");
    std::fs::create_dir(&mp).unwrap();
    let vfs = Arc::new(
        Vfs::new(
            Arc::new(src),
            VfsOptions {
                root_ts: None,
                uid: 0,
                gid: 0,
            },
        )
        .unwrap(),
    );
    let opts = FuseOptions {
        threads,
        ..FuseOptions::default()
    };
    let mounted = mount(vfs, &mp, &opts).unwrap();
    assert!(is_mounted(&mp), "BRFS-12: mounted when mount returns");
    Guard {
        mounted: Some(mounted),
        dir,
    }
}

/// Runs a shell command in `dir`; returns (success, stdout, stderr).
fn sh(dir: &Path, cmd: &str) -> (bool, String, String) {
    let o = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("LC_ALL", "C")
        .current_dir(dir)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(dir: &Path, cmd: &str) -> String {
    let (success, out, err) = sh(dir, cmd);
    assert!(success, "{cmd}: {err}");
    out
}

#[test]
fn brfs_2_shell_tools_see_the_layout_of_a_fake_archive() {
    if !fuse_available() {
        return;
    }
    let g = mount_fake(FakeSource::new(true), 4);
    let mp = g.path();
    let ls = ok(&mp, "ls");
    assert_eq!(
        ls.lines().collect::<Vec<_>>(),
        [
            "%72aw",
            "README.txt",
            "at",
            "backupmeta.json",
            "empty_db",
            "raw",
            "shop",
            "slow"
        ]
    );
    let lsr = ok(&mp, "ls -R shop");
    assert!(
        lsr.contains(
            "shop/orders:\nfiles\nrows.csv\nrows.jsonl\nschema.sql\nstats.json\ntable.json"
        ),
        "{lsr}"
    );
    let find = ok(&mp, "find . -name rows.csv | sort");
    assert!(find.contains("./shop/a%2Fb/rows.csv\n"), "{find}");
    assert!(find.contains("./slow/big/rows.csv\n"), "{find}");
    assert_eq!(
        ok(&mp, "cat shop/orders/rows.csv"),
        "id,name\n1,apple\n2,pear\n"
    );
    assert_eq!(
        ok(&mp, "head -2 slow/big/rows.csv"),
        format!("id,name\n0,{}\n", "x".repeat(40))
    );
    assert_eq!(ok(&mp, "wc -l < slow/big/rows.csv").trim(), "5001");
    assert_eq!(ok(&mp, "grep -c plum at/*/shop/orders/rows.csv | sort"), format!(
        "at/{SNAP_TS}/shop/orders/rows.csv:0\nat/{FLUSH_TS}/shop/orders/rows.csv:1\nat/{}/shop/orders/rows.csv:1\n",
        brfs_fake::CHECKPOINT_TS
    ));
    assert_eq!(
        ok(
            &mp,
            "cat 'at/2024-05-01T10:00:02Z/shop/orders/rows.csv' | tail -1"
        ),
        "3,plum\n"
    );
    assert_eq!(
        ok(&mp, "stat -c %s shop/orders/rows.csv").trim(),
        "23",
        "BRFS-9: exact size"
    );
    assert_eq!(
        ok(
            &mp,
            "cmp raw/1/5_2_orders_write.sst shop/orders/files/1%2F5_2_orders_write.sst && echo same"
        ),
        "same\n"
    );
    let (success, _, err) = sh(&mp, "ls at/2020-01-01T00:00:00Z");
    assert!(!success && err.contains("No such file"), "BRFS-10: {err}");
}

#[test]
fn brfs_1_writes_fail_with_erofs_through_the_kernel() {
    if !fuse_available() {
        return;
    }
    let g = mount_fake(FakeSource::new(false), 4);
    let mp = g.path();
    for cmd in [
        "touch new",
        "mkdir d",
        "rm shop/orders/rows.csv",
        "echo x >> shop/orders/rows.csv",
        "mv shop shop2",
        "chmod 777 shop",
    ] {
        let (success, _, err) = sh(&mp, cmd);
        assert!(
            !success && err.contains("Read-only file system"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn brfs_11_a_slow_read_does_not_block_listing_or_other_reads() {
    if !fuse_available() {
        return;
    }
    let mut src = FakeSource::new(false);
    src.slow = Duration::from_millis(20); // every 1000-byte read of slow.big takes 20 ms
    let g = mount_fake(src, 4);
    let mp = g.path();
    let mut cat = Command::new("sh")
        .arg("-c")
        .arg("cat slow/big/rows.csv > /dev/null")
        .current_dir(&mp)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(ok(&mp, "ls shop | wc -l").trim(), "4");
    assert_eq!(
        ok(&mp, "cat shop/orders/rows.csv"),
        "id,name\n1,apple\n2,pear\n"
    );
    let took = t.elapsed();
    let still_reading = cat.try_wait().unwrap().is_none();
    eprintln!(
        "BRFS-11: ls + cat of another table took {took:?} while the slow read {}",
        if still_reading {
            "was still running"
        } else {
            "had ended"
        }
    );
    assert!(still_reading, "the slow read should take seconds");
    assert!(took < Duration::from_secs(1), "{took:?}");
    let _ = cat.kill();
    let _ = cat.wait();
}

#[test]
fn brfs_12_unmount_leaves_nothing_mounted() {
    if !fuse_available() {
        return;
    }
    let mut g = mount_fake(FakeSource::new(false), 2);
    let mp = g.path();
    ok(&mp, "cat README.txt > /dev/null");
    g.mounted.take().unwrap().unmount().unwrap();
    assert!(!is_mounted(&mp));
    assert!(std::fs::read_dir(&mp).unwrap().next().is_none());
}

// ---- the brfs binary over real archives ----

const BRFS: &str = env!("CARGO_BIN_EXE_brfs");

/// A mount point for the binary; unmounts (lazily if needed) on drop.
struct BinMount {
    dir: tempfile::TempDir,
}

impl BinMount {
    fn new() -> BinMount {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        BinMount { dir }
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }
}

impl Drop for BinMount {
    fn drop(&mut self) {
        let mp = self.path();
        if is_mounted(&mp) {
            let _ = Command::new("fusermount3")
                .args(["-u", "-z"])
                .arg(&mp)
                .status();
        }
    }
}

/// Runs `brfs ARGS` to the end; returns (exit code, stderr).
fn brfs(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(BRFS).args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `brfs mount` in the background mode; it returns when the mount answers (BRFS-12).
fn mount_bin(m: &BinMount, url: &str, extra: &[&str]) {
    let mp = m.path();
    let mut args = vec!["mount", url, mp.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, err) = brfs(&args);
    assert_eq!(code, Some(0), "brfs mount: {err}");
    assert!(is_mounted(&mp), "BRFS-12: mounted when brfs mount exits 0");
}

/// The `\n`-terminated lines of `b`, as `wc -l` and `head` count them.
fn lines(b: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = b.split(|c| *c == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// Every object under `root` (relative names) with its bytes.
fn objects_on_disk(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn brfs_4_rows_csv_equals_table_dump_at_every_ts_and_objects_are_byte_identical() {
    if !fuse_available() {
        return;
    }
    let f = view_fixture::fixture();
    let m = BinMount::new();
    let mp = m.path();
    mount_bin(
        &m,
        &f.snap_url,
        &[
            "--log-storage",
            &f.log_url,
            "--cache-dir",
            f.scratch().to_str().unwrap(),
        ],
    );
    // The root: the snapshot.
    let snap = f.image(f.snapshot_ts);
    let mut n = 0;
    for ((db, t), img) in snap {
        let got = std::fs::read(mp.join(db).join(t).join("rows.csv")).unwrap();
        assert_eq!(got, img.csv, "{db}.{t} at the snapshot");
        n += 1;
    }
    assert!(n >= 4, "{n} tables");
    // Every point of the window, under at/.
    for (label, ts, image) in &f.points {
        let base = mp.join("at").join(ts.to_string());
        let listed: std::collections::BTreeSet<(String, String)> = std::fs::read_dir(&base)
            .unwrap()
            .flat_map(|d| {
                let db = d.unwrap().file_name().to_string_lossy().into_owned();
                std::fs::read_dir(base.join(&db)).unwrap().map(move |t| {
                    (
                        db.clone(),
                        t.unwrap().file_name().to_string_lossy().into_owned(),
                    )
                })
            })
            .collect();
        let want: std::collections::BTreeSet<(String, String)> = image.keys().cloned().collect();
        assert_eq!(listed, want, "tables at {label}");
        for ((db, t), img) in image {
            let got = std::fs::read(base.join(db).join(t).join("rows.csv")).unwrap();
            assert_eq!(got, img.csv, "{db}.{t} at {label} ({ts})");
        }
    }
    // Shell tools over the biggest sysbench table (integer id first, no newlines in values).
    let ((db, t), img) = snap
        .iter()
        .filter(|((_, t), _)| t.starts_with("sbtest"))
        .max_by_key(|(_, i)| i.csv.len())
        .unwrap();
    eprintln!(
        "shell tools and DuckDB over {db}.{t} ({} bytes)",
        img.csv.len()
    );
    let rel = format!("{db}/{t}/rows.csv");
    let want_lines = lines(&img.csv);
    assert_eq!(
        ok(&mp, &format!("wc -l < {rel}")).trim(),
        want_lines.len().to_string()
    );
    let head: Vec<u8> = want_lines
        .iter()
        .take(3)
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    assert_eq!(
        ok(&mp, &format!("head -3 {rel}")).as_bytes(),
        head.as_slice()
    );
    let first = String::from_utf8_lossy(want_lines[1])
        .split(',')
        .next()
        .unwrap()
        .to_string();
    assert!(
        ok(&mp, &format!("grep -c '^{first},' {rel}"))
            .trim()
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        ok(&mp, &format!("cat {rel} | cksum")),
        ok(
            Path::new("/"),
            &format!("printf '%s' '' | cat {}/{rel} | cksum", mp.display())
        )
    );
    let finds = ok(
        &mp,
        "find . -path ./at -prune -o -name rows.csv -print | wc -l",
    );
    assert_eq!(
        finds.trim(),
        snap.len().to_string(),
        "find sees every table once at the root"
    );
    let lsr = ok(&mp, "ls -R .");
    assert!(
        lsr.contains("rows.jsonl") && lsr.contains("schema.sql"),
        "ls -R"
    );
    assert!(ok(&mp, "cat README.txt").contains(&f.snapshot_ts.to_string()));
    // raw/ mirrors the snapshot archive, files/ the table's objects (BRFS-7).
    let snap_dir = PathBuf::from(f.snap_url.strip_prefix("local://").unwrap());
    let on_disk = objects_on_disk(&snap_dir);
    assert!(!on_disk.is_empty());
    for (name, bytes) in &on_disk {
        assert_eq!(
            &std::fs::read(mp.join("raw").join(name)).unwrap(),
            bytes,
            "raw/{name}"
        );
    }
    let files = objects_on_disk(&mp.join(db).join(t).join("files"));
    assert!(!files.is_empty(), "{db}.{t} has data files");
    for (name, bytes) in &files {
        // BRFS-7: files/ is flat, each entry the percent-encoded object name.
        let object = brkit::brfs::names::decode_name(name).unwrap();
        assert!(!name.contains('/'), "{name}");
        assert_eq!(
            &std::fs::read(snap_dir.join(&object)).unwrap(),
            bytes,
            "files/{name}"
        );
    }
    // DuckDB reads the mounted CSV like the source's rows.
    duckdb_check(&mp.join(&rel), &img.csv);
    let (code, err) = brfs(&["umount", mp.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!is_mounted(&mp), "BRFS-12: unmounted");
}

/// DuckDB's `read_csv` over the mounted file: the row count and the first column's values
/// equal the source's (skipped loudly without the duckdb module).
fn duckdb_check(path: &Path, source_csv: &[u8]) {
    if Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("\n\n!!!!! SKIPPED: python3 -c 'import duckdb' fails (pip install duckdb); DuckDB check did not run !!!!!\n\n");
        return;
    }
    let script = format!(
        "import duckdb, json\nr = duckdb.sql(\"select * from read_csv('{}', nullstr='\\\\N', header=true, all_varchar=true)\")\nrows = r.fetchall()\nprint(json.dumps([len(rows), [x[0] for x in rows]]))",
        path.display()
    );
    let o = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want: Vec<String> = lines(source_csv)
        .iter()
        .skip(1)
        .map(|l| {
            String::from_utf8_lossy(l)
                .split(',')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string()
        })
        .collect();
    assert_eq!(
        v[0].as_u64().unwrap() as usize,
        want.len(),
        "duckdb row count"
    );
    let got: Vec<String> = v[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(got, want, "duckdb first column");
    eprintln!("DuckDB read {} rows of {}", want.len(), path.display());
}

#[test]
fn brfs_12_encrypted_archive_mounts_with_its_key_and_sigterm_unmounts() {
    if !fuse_available() {
        return;
    }
    let f = view_fixture::fixture();
    let key = "5a".repeat(32);
    let m = BinMount::new();
    let mp = m.path();
    let mut child = Command::new(BRFS)
        .args([
            "mount",
            &f.enc_url,
            mp.to_str().unwrap(),
            "--foreground",
            "--crypter.method",
            "aes256-ctr",
            "--crypter.key",
            &key,
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !is_mounted(&mp) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "brfs exited before mounting"
        );
        assert!(Instant::now() < deadline, "not mounted after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    for ((db, t), img) in f.image(f.enc_ts) {
        assert_eq!(
            std::fs::read(mp.join(db).join(t).join("rows.csv")).unwrap(),
            img.csv,
            "{db}.{t} (encrypted)"
        );
    }
    assert!(ok(&mp, "cat README.txt").contains("aes256-ctr"));
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "BRFS-12: SIGTERM unmounts and exits 0"
    );
    assert!(
        !is_mounted(&mp),
        "BRFS-12: nothing left mounted after SIGTERM"
    );
}

#[test]
fn brfs_13_bad_input_exits_2_and_leaves_nothing_mounted() {
    if !fuse_available() {
        return;
    }
    let f = view_fixture::fixture();
    let tmp = tempfile::tempdir().unwrap();
    let m = BinMount::new();
    let mp = m.path();
    let mps = mp.to_str().unwrap();
    let missing = tmp.path().join("nope");
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("a"), b"x").unwrap();
    let junk = tmp.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::write(junk.join("backupmeta"), b"\xff\xfe not a backupmeta").unwrap();
    let junk_url = format!("local://{}", junk.display());
    let wrong_key = "11".repeat(32);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["mount", &f.snap_url, missing.to_str().unwrap()],
            "mount point",
        ),
        (
            vec!["mount", &f.snap_url, file.to_str().unwrap()],
            "not a directory",
        ),
        (
            vec!["mount", &f.snap_url, full.to_str().unwrap()],
            "not empty",
        ),
        (vec!["mount", &junk_url, mps], "backupmeta"),
        (
            vec![
                "mount",
                &f.enc_url,
                mps,
                "--crypter.method",
                "aes256-ctr",
                "--crypter.key",
                &wrong_key,
            ],
            "snapshot archive",
        ),
        (
            vec![
                "mount",
                &f.enc_url,
                mps,
                "--crypter.method",
                "aes256-ctr",
                "--crypter.key",
                "zz",
            ],
            "--crypter.key",
        ),
        (
            vec![
                "mount",
                &f.snap_url,
                mps,
                "--log-storage",
                &f.log_url,
                "--ts",
                "1",
            ],
            "--ts",
        ),
        (
            vec![
                "mount",
                &f.snap_url,
                mps,
                "--ts",
                "2020-01-01 00:00:00 +00:00",
            ],
            "--ts",
        ),
        (
            vec![
                "mount",
                &f.snap_url,
                mps,
                "--foreground",
                "--ts",
                "not-a-ts",
            ],
            "--ts",
        ),
    ];
    for (args, needle) in cases {
        let (code, err) = brfs(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: message should name {needle:?}: {err}"
        );
        assert!(!is_mounted(&mp), "{args:?} left a mount");
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        assert!(
            !mounts.contains(tmp.path().to_str().unwrap()),
            "{args:?} left a mount: {mounts}"
        );
    }
    let (code, err) = brfs(&["umount", mps]);
    assert_eq!(
        code,
        Some(2),
        "umount of a directory that is not mounted: {err}"
    );
    // A --ts inside the window moves the root.
    mount_bin(
        &m,
        &f.snap_url,
        &[
            "--log-storage",
            &f.log_url,
            "--ts",
            &f.checkpoint.to_string(),
        ],
    );
    for ((db, t), img) in f.image(f.checkpoint) {
        assert_eq!(
            std::fs::read(mp.join(db).join(t).join("rows.csv")).unwrap(),
            img.csv,
            "{db}.{t} at --ts checkpoint"
        );
    }
    let (code, err) = brfs(&["umount", mps]);
    assert_eq!(code, Some(0), "{err}");
}
