//! The brfs VFS without a kernel (format/brfs.md): every path of the layout, listings, exact
//! sizes, reads at offsets, EROFS, ENOENT, `/at` resolution in and out of the window, inode
//! numbers, laziness (listing decodes nothing) and the memory bound — over a fake source.

#[path = "support/brfs_fake.rs"]
mod brfs_fake;

use brfs_fake::{FakeSource, CHECKPOINT_TS, FLUSH_TS, SNAP_TS};
use brkit::brfs::names::path_ino;
use brkit::brfs::{Attr, EntryKind, TableFileKind, Vfs, VfsError, VfsOptions};
use brkit::engine::view::ViewError;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn vfs(with_log: bool) -> (Arc<FakeSource>, Vfs<FakeSource>) {
    let src = Arc::new(FakeSource::new(with_log));
    let v = Vfs::new(
        src.clone(),
        VfsOptions {
            root_ts: None,
            uid: 1000,
            gid: 1000,
        },
    )
    .unwrap();
    (src, v)
}

/// Looks up every component of `path` (one kernel reference each), like a path walk.
fn walk<S: brkit::brfs::MountSource>(v: &Vfs<S>, path: &str) -> Result<Attr, VfsError> {
    let mut attr = v.getattr(1)?;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        attr = v.lookup(attr.ino, part)?;
    }
    Ok(attr)
}

fn names<S: brkit::brfs::MountSource>(v: &Vfs<S>, path: &str) -> Vec<String> {
    let ino = walk(v, path).unwrap().ino;
    v.readdir(ino)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .skip(2)
        .collect()
}

fn read_all<S: brkit::brfs::MountSource>(v: &Vfs<S>, path: &str) -> Vec<u8> {
    let a = walk(v, path).unwrap();
    let bytes = v.read(a.ino, 0, (a.size + 10) as u32).unwrap();
    assert_eq!(bytes.len() as u64, a.size, "{path}: size vs bytes");
    bytes
}

#[test]
fn brfs_2_root_lists_readme_backupmeta_raw_at_and_databases() {
    let (_, v) = vfs(true);
    assert_eq!(
        names(&v, "/"),
        [
            "README.txt",
            "backupmeta.json",
            "raw",
            "at",
            "%72aw",
            "empty_db",
            "shop",
            "slow"
        ]
    );
    let (_, v) = vfs(false);
    assert_eq!(
        names(&v, "/"),
        [
            "README.txt",
            "backupmeta.json",
            "raw",
            "%72aw",
            "empty_db",
            "shop",
            "slow"
        ]
    );
    assert_eq!(
        walk(&v, "/at"),
        Err(VfsError::NotFound),
        "BRFS-10: no at/ without a log archive"
    );
    let all = v.readdir(1).unwrap();
    assert_eq!((all[0].name.as_str(), all[0].ino), (".", 1));
    assert_eq!((all[1].name.as_str(), all[1].ino), ("..", 1));
}

#[test]
fn brfs_3_readme_and_backupmeta_json_have_exact_sizes() {
    let (_, v) = vfs(true);
    let readme = String::from_utf8(read_all(&v, "/README.txt")).unwrap();
    assert!(
        readme.contains("local:///fake") && readme.contains("id 7  version v8.5.0"),
        "{readme}"
    );
    assert!(
        readme.contains(&format!("This view (/)    {SNAP_TS}")),
        "{readme}"
    );
    assert!(readme.contains("time points    3"), "{readme}");
    assert_eq!(
        read_all(&v, "/backupmeta.json"),
        b"{\"kind\":\"snapshot\"}\n"
    );
}

#[test]
fn brfs_4_table_directory_has_five_files_and_files_dir_with_exact_bytes() {
    let (_, v) = vfs(false);
    assert_eq!(names(&v, "/shop"), ["50%25", "a%2Fb", "gone", "orders"]);
    assert_eq!(
        names(&v, "/shop/orders"),
        [
            "schema.sql",
            "table.json",
            "rows.csv",
            "rows.jsonl",
            "stats.json",
            "files"
        ]
    );
    for kind in TableFileKind::ALL {
        let path = format!("/shop/orders/{}", kind.file_name());
        let a = walk(&v, &path).unwrap();
        assert_eq!(a.kind, EntryKind::File);
        assert_eq!(a.perm, 0o444);
        assert_eq!(
            read_all(&v, &path),
            FakeSource::file_bytes(SNAP_TS, "shop", "orders", kind)
        );
    }
    assert_eq!(
        read_all(&v, "/shop/orders/rows.csv"),
        b"id,name\n1,apple\n2,pear\n"
    );
    // BRFS-7: files/ is flat, object names percent-encoded.
    assert_eq!(
        names(&v, "/shop/orders/files"),
        ["1%2F5_2_orders_default.sst", "1%2F5_2_orders_write.sst"]
    );
    assert_eq!(
        read_all(&v, "/shop/orders/files/1%2F5_2_orders_write.sst"),
        FakeSource::object_bytes("1/5_2_orders_write.sst", 300)
    );
    assert_eq!(names(&v, "/empty_db"), Vec::<String>::new());
}

#[test]
fn brfs_5_escaped_names_resolve_to_the_right_tables() {
    let (_, v) = vfs(false);
    assert_eq!(read_all(&v, "/shop/a%2Fb/rows.csv"), b"id,name\n1,slash\n");
    assert_eq!(
        read_all(&v, "/shop/50%25/rows.csv"),
        b"id,name\n1,percent\n"
    );
    assert_eq!(read_all(&v, "/%72aw/t/rows.csv"), b"id,name\n1,reserved\n");
    assert_eq!(walk(&v, "/shop/50%"), Err(VfsError::NotFound));
    // `raw` at the root is the object tree, not the database.
    assert_eq!(
        names(&v, "/raw"),
        ["1", "2", "backup.lock", "backupmeta", "log"]
    );
}

#[test]
fn brfs_7_raw_mirrors_every_object_byte_for_byte_and_lists_lazily() {
    let (src, v) = vfs(true);
    assert_eq!(
        src.objects_listed.load(Ordering::SeqCst),
        0,
        "mount lists no objects"
    );
    for (name, size) in FakeSource::object_list() {
        let a = walk(&v, &format!("/raw/{name}")).unwrap();
        assert_eq!(a.size, size, "{name}");
        assert_eq!(
            read_all(&v, &format!("/raw/{name}")),
            FakeSource::object_bytes(&name, size)
        );
    }
    assert_eq!(names(&v, "/raw/log/v1/backupmeta"), ["1.meta"]);
    assert_eq!(src.objects_listed.load(Ordering::SeqCst), 1, "listed once");
}

#[test]
fn reads_at_offsets_cross_the_sources_short_reads_and_stop_at_the_end() {
    let (_, v) = vfs(false);
    let a = walk(&v, "/slow/big/rows.csv").unwrap();
    let all = FakeSource::rows_csv(SNAP_TS, "slow", "big");
    assert_eq!(a.size, all.len() as u64);
    for (off, len) in [
        (0u64, 4096u32),
        (999, 2),
        (1000, 3000),
        (all.len() as u64 - 5, 100),
        (all.len() as u64, 10),
        (u64::MAX - 1, 10),
    ] {
        let got = v.read(a.ino, off, len).unwrap();
        let start = (off as usize).min(all.len());
        let end = start.saturating_add(len as usize).min(all.len());
        assert_eq!(got, all[start..end], "offset {off} len {len}");
    }
    let r = walk(&v, "/README.txt").unwrap();
    assert_eq!(v.read(r.ino, u64::MAX, 10).unwrap(), b"");
}

#[test]
fn brfs_1_every_change_is_refused_with_erofs() {
    let (_, v) = vfs(false);
    let f = walk(&v, "/shop/orders/rows.csv").unwrap();
    assert_eq!(v.open(f.ino, true), Err(VfsError::ReadOnly));
    assert_eq!(v.open(f.ino, false), Ok(()));
    assert_eq!(v.open(1, true), Err(VfsError::ReadOnly));
}

#[test]
fn missing_paths_are_enoent_files_are_not_directories() {
    let (_, v) = vfs(false);
    for p in [
        "/nope",
        "/shop/nope",
        "/shop/orders/nope.csv",
        "/shop/orders/files/9",
        "/raw/zzz",
        "/raw/1/zzz.sst",
    ] {
        assert_eq!(walk(&v, p), Err(VfsError::NotFound), "{p}");
    }
    let f = walk(&v, "/shop/orders/rows.csv").unwrap();
    assert_eq!(v.lookup(f.ino, "x"), Err(VfsError::NotDir));
    assert_eq!(v.readdir(f.ino), Err(VfsError::NotDir));
    assert_eq!(v.read(1, 0, 10), Err(VfsError::IsDir));
    assert_eq!(v.getattr(12345), Err(VfsError::NotFound));
    assert_eq!(v.lookup(1, ".."), Err(VfsError::NotFound));
}

#[test]
fn brfs_10_at_lists_time_points_and_resolves_any_ts_inside_the_window() {
    let (_, v) = vfs(true);
    assert_eq!(
        names(&v, "/at"),
        [
            SNAP_TS.to_string(),
            FLUSH_TS.to_string(),
            CHECKPOINT_TS.to_string()
        ]
    );
    let at = |ts: &str| format!("/at/{ts}/shop/orders/rows.csv");
    assert_eq!(
        read_all(&v, &at(&SNAP_TS.to_string())),
        b"id,name\n1,apple\n2,pear\n"
    );
    assert_eq!(
        read_all(&v, &at(&FLUSH_TS.to_string())),
        b"id,name\n1,apple\n2,pear\n3,plum\n"
    );
    // Not listed, inside the window.
    assert_eq!(
        read_all(&v, &at(&(FLUSH_TS + 7).to_string())),
        b"id,name\n1,apple\n2,pear\n3,plum\n"
    );
    // A datetime: 10:00:02 UTC is after the flush point (10:00:01).
    assert_eq!(
        read_all(&v, &at("2024-05-01T10:00:02Z")),
        b"id,name\n1,apple\n2,pear\n3,plum\n"
    );
    assert_eq!(
        read_all(&v, &at("2024-05-01 10:00:02 +00:00")),
        b"id,name\n1,apple\n2,pear\n3,plum\n"
    );
    // The dropped table is gone at the checkpoint.
    assert!(names(&v, &format!("/at/{CHECKPOINT_TS}/shop"))
        .iter()
        .all(|n| n != "gone"));
    assert!(names(&v, &format!("/at/{SNAP_TS}/shop"))
        .iter()
        .any(|n| n == "gone"));
    // Outside the window, or not a ts: ENOENT.
    for bad in [
        (SNAP_TS - 1).to_string(),
        (CHECKPOINT_TS + 1).to_string(),
        "2024-05-01T09:00:00Z".into(),
        "yesterday".into(),
    ] {
        assert_eq!(
            walk(&v, &format!("/at/{bad}")),
            Err(VfsError::NotFound),
            "{bad}"
        );
    }
}

#[test]
fn brfs_8_root_ts_option_moves_the_root_and_is_checked() {
    let src = Arc::new(FakeSource::new(true));
    let v = Vfs::new(
        src.clone(),
        VfsOptions {
            root_ts: Some(FLUSH_TS),
            uid: 0,
            gid: 0,
        },
    )
    .unwrap();
    assert_eq!(
        read_all(&v, "/shop/orders/rows.csv"),
        b"id,name\n1,apple\n2,pear\n3,plum\n"
    );
    let r = String::from_utf8(read_all(&v, "/README.txt")).unwrap();
    assert!(r.contains(&format!("This view (/)    {FLUSH_TS}")), "{r}");
    let err = Vfs::new(
        src,
        VfsOptions {
            root_ts: Some(CHECKPOINT_TS + 1),
            uid: 0,
            gid: 0,
        },
    )
    .err();
    assert!(
        matches!(err, Some(ViewError::TsOutsideWindow { .. })),
        "{err:?}"
    );
    let err = Vfs::new(
        Arc::new(FakeSource::new(false)),
        VfsOptions {
            root_ts: Some(FLUSH_TS),
            uid: 0,
            gid: 0,
        },
    )
    .err();
    assert!(
        matches!(err, Some(ViewError::TsOutsideWindow { .. })),
        "{err:?}"
    );
}

#[test]
fn brfs_9_listing_decodes_nothing_and_stat_decodes_once() {
    let (src, v) = vfs(true);
    // Walk every directory through readdir + lookups of directories only (what `ls -R` and
    // `find` do with d_type).
    let mut stack = vec![(1u64, "/".to_string())];
    let mut files = 0;
    while let Some((ino, path)) = stack.pop() {
        for e in v.readdir(ino).unwrap().into_iter().skip(2) {
            let p = if path == "/" {
                format!("/{}", e.name)
            } else {
                format!("{path}/{}", e.name)
            };
            match e.kind {
                EntryKind::Dir => {
                    let a = v.lookup(ino, &e.name).unwrap();
                    assert_eq!(a.ino, e.ino, "{p}: readdir and lookup agree (BRFS-6)");
                    stack.push((a.ino, p));
                }
                EntryKind::File => files += 1,
            }
        }
    }
    assert!(files > 50, "{files}");
    assert_eq!(
        src.sizes.load(Ordering::SeqCst),
        0,
        "no table file was sized while listing"
    );
    let a = walk(&v, "/shop/orders/rows.csv").unwrap();
    assert_eq!(src.sizes.load(Ordering::SeqCst), 1);
    v.getattr(a.ino).unwrap();
    assert!(
        src.sizes.load(Ordering::SeqCst) >= 2,
        "getattr asks the file (which caches its size)"
    );
}

#[test]
fn brfs_6_inode_numbers_are_the_path_hash_and_survive_forget() {
    let (_, v) = vfs(true);
    let p = "/shop/orders/rows.csv";
    let a = walk(&v, p).unwrap();
    assert_eq!(a.ino, path_ino(p));
    assert_eq!(walk(&v, p).unwrap().ino, a.ino);
    // Another mount of the same archive numbers the same path the same way.
    let (_, v2) = vfs(true);
    assert_eq!(walk(&v2, p).unwrap().ino, a.ino);
    // Each walk counted one reference per component; forgetting them drops the inodes.
    let live = v.live_inodes();
    assert!(live >= 4, "{live}");
    for path in ["/shop", "/shop/orders", p] {
        v.forget(path_ino(path), 2);
    }
    assert_eq!(v.live_inodes(), live - 3);
    assert_eq!(v.getattr(a.ino), Err(VfsError::NotFound), "forgotten");
    assert_eq!(walk(&v, p).unwrap().ino, a.ino, "the same number again");
    v.forget(1, 100);
    assert!(v.getattr(1).is_ok(), "the root is never forgotten");
}

#[test]
fn readdir_resumes_at_any_offset() {
    let (_, v) = vfs(true);
    let full = v.readdir(1).unwrap();
    let mut got = Vec::new();
    let mut offset = 0;
    loop {
        let mut batch = Vec::new();
        v.readdir_from(1, offset, |e, next| {
            batch.push((e, next));
            batch.len() == 3 // a kernel buffer of three entries
        })
        .unwrap();
        if batch.is_empty() {
            break;
        }
        // The entry that did not fit is offered again next time.
        let keep = if batch.len() == 3 { 2 } else { batch.len() };
        offset = batch[keep - 1].1;
        got.extend(batch.into_iter().take(keep).map(|(e, _)| e));
    }
    assert_eq!(got, full);
}

#[test]
fn ten_thousand_tables_list_without_creating_inodes() {
    let mut src = FakeSource::new(false);
    src.many = 10_000;
    let v = Vfs::new(Arc::new(src), VfsOptions::default()).unwrap();
    assert_eq!(v.root_tables(), 10_000 + 6);
    let before = v.live_inodes();
    let many = walk(&v, "/many").unwrap();
    assert_eq!(v.readdir(many.ino).unwrap().len(), 10_002);
    assert_eq!(v.live_inodes(), before + 1, "listing creates no inodes");
    assert_eq!(read_all(&v, "/many/t9999/rows.csv"), b"id,name\n");
}

#[test]
fn attributes_are_read_only_with_the_views_time() {
    let (_, v) = vfs(true);
    let d = walk(&v, "/shop").unwrap();
    assert_eq!(
        (d.kind, d.perm, d.nlink, d.uid),
        (EntryKind::Dir, 0o555, 2, 1000)
    );
    let f = walk(&v, &format!("/at/{FLUSH_TS}/shop/orders/rows.csv")).unwrap();
    assert_eq!(f.mtime, brkit::brfs::tree::ts_time(FLUSH_TS));
    assert_eq!(
        f.mtime
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
        1_714_557_601_000
    );
}

/// format/brfs.md `example kind=brfs-ino`: the inode number of a path (BRFS-6).
#[test]
fn brfs_6_spec_examples_of_inode_numbers() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/format/brfs.md")).unwrap();
    let mut n = 0;
    let mut in_block = false;
    for line in spec.lines() {
        if line.starts_with("```example kind=brfs-ino") {
            in_block = true;
            continue;
        }
        if line.starts_with("```") {
            in_block = false;
            continue;
        }
        if in_block {
            let (path, ino) = line.split_once(" => ").unwrap();
            let ino = u64::from_str_radix(ino.trim_start_matches("0x"), 16).unwrap();
            assert_eq!(path_ino(path), ino, "{path}");
            n += 1;
        }
    }
    assert!(n >= 4, "{n} examples");
}

#[test]
fn brfs_14_a_damaged_archive_is_eio_not_an_empty_file() {
    let mut src = FakeSource::new(false);
    src.fail_reads = true;
    let v = Vfs::new(Arc::new(src), VfsOptions::default()).unwrap();
    let a = walk(&v, "/shop/orders/rows.csv").unwrap();
    assert_eq!(a.size, 23);
    match v.read(a.ino, 0, 100) {
        Err(VfsError::Io(msg)) => assert!(msg.contains("checksum mismatch"), "{msg}"),
        other => panic!("expected EIO, got {other:?}"),
    }
}
