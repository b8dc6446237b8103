//! Real FUSE mounts (format/brfs.md): the adapter over a fake source in this process (the
//! shell tools see the layout, EROFS, a slow read blocks nothing else), and the `brfs` binary
//! over real archives (see `brfs_mount_archive.rs`). Skipped, loudly, where /dev/fuse or
//! fusermount3 is missing; CI has both. Every mount is undone by a Drop guard.

#[path = "support/brfs_fake.rs"]
mod brfs_fake;

use brfs_fake::{FakeSource, FLUSH_TS, SNAP_TS};
use brkit::brfs::fuse::{is_mounted, mount, FuseOptions, Mounted};
use brkit::brfs::{Vfs, VfsOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fuse_available() -> bool {
    let ok = Path::new("/dev/fuse").exists()
        && Command::new("fusermount3").arg("--version").output().is_ok();
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
            let _ = Command::new("fusermount3").args(["-u", "-z"]).arg(&mp).status();
        }
    }
}

fn mount_fake(src: FakeSource, threads: usize) -> Guard {
    let dir = tempfile::tempdir().unwrap();
    let mp = dir.path().join("mnt");
    std::fs::create_dir(&mp).unwrap();
    let vfs = Arc::new(Vfs::new(Arc::new(src), VfsOptions { root_ts: None, uid: 0, gid: 0 }).unwrap());
    let opts = FuseOptions { threads, ..FuseOptions::default() };
    let mounted = mount(vfs, &mp, &opts).unwrap();
    assert!(is_mounted(&mp), "BRFS-12: mounted when mount returns");
    Guard { mounted: Some(mounted), dir }
}

/// Runs a shell command in `dir`; returns (success, stdout, stderr).
fn sh(dir: &Path, cmd: &str) -> (bool, String, String) {
    let o = Command::new("sh").arg("-c").arg(cmd).env("LC_ALL", "C").current_dir(dir).output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
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
    assert_eq!(ls.lines().collect::<Vec<_>>(), ["%72aw", "README.txt", "at", "backupmeta.json", "empty_db", "raw", "shop", "slow"]);
    let lsr = ok(&mp, "ls -R shop");
    assert!(lsr.contains("shop/orders:\nfiles\nrows.csv\nrows.jsonl\nschema.sql\nstats.json\ntable.json"), "{lsr}");
    let find = ok(&mp, "find . -name rows.csv | sort");
    assert!(find.contains("./shop/a%2Fb/rows.csv\n"), "{find}");
    assert!(find.contains("./slow/big/rows.csv\n"), "{find}");
    assert_eq!(ok(&mp, "cat shop/orders/rows.csv"), "id,name\n1,apple\n2,pear\n");
    assert_eq!(ok(&mp, "head -2 slow/big/rows.csv"), format!("id,name\n0,{}\n", "x".repeat(40)));
    assert_eq!(ok(&mp, "wc -l < slow/big/rows.csv").trim(), "5001");
    assert_eq!(ok(&mp, "grep -c plum at/*/shop/orders/rows.csv | sort"), format!(
        "at/{SNAP_TS}/shop/orders/rows.csv:0\nat/{FLUSH_TS}/shop/orders/rows.csv:1\nat/{}/shop/orders/rows.csv:1\n",
        brfs_fake::CHECKPOINT_TS
    ));
    assert_eq!(ok(&mp, "cat 'at/2024-05-01T10:00:02Z/shop/orders/rows.csv' | tail -1"), "3,plum\n");
    assert_eq!(ok(&mp, "stat -c %s shop/orders/rows.csv").trim(), "23", "BRFS-9: exact size");
    assert_eq!(ok(&mp, "cmp raw/1/5_2_orders_write.sst shop/orders/files/1/5_2_orders_write.sst && echo same"), "same\n");
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
    for cmd in ["touch new", "mkdir d", "rm shop/orders/rows.csv", "echo x >> shop/orders/rows.csv", "mv shop shop2", "chmod 777 shop"] {
        let (success, _, err) = sh(&mp, cmd);
        assert!(!success && err.contains("Read-only file system"), "{cmd}: {err}");
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
    let mut cat = Command::new("sh").arg("-c").arg("cat slow/big/rows.csv > /dev/null").current_dir(&mp).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(ok(&mp, "ls shop | wc -l").trim(), "4");
    assert_eq!(ok(&mp, "cat shop/orders/rows.csv"), "id,name\n1,apple\n2,pear\n");
    let took = t.elapsed();
    let still_reading = cat.try_wait().unwrap().is_none();
    eprintln!("BRFS-11: ls + cat of another table took {took:?} while the slow read {}", if still_reading { "was still running" } else { "had ended" });
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
