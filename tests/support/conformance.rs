//! The storage conformance suite (format/storage.md STORE-*): one set of cases that every
//! [`Storage`] backend must pass. tests/storage.rs runs it over fs and memory,
//! tests/object_stores.rs over the real S3, Azure Blob and GCS servers of
//! scripts/test-servers.sh. Owns only the cases, not how a backend is opened.
#![allow(dead_code)]

use std::sync::Arc;

use brkit::storage::{Storage, StorageErrorKind};
use bytes::Bytes;

/// Runs every STORE-* case against `s`. Object names are below `base` (which must be empty or
/// end in `/`) so runs against shared servers do not collide.
pub async fn conformance(s: Arc<dyn Storage>, base: &str) {
    let n = |x: &str| format!("{base}{x}");

    // STORE-2 write/read, overwrite.
    s.write(&n("a/one"), Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(&s.read(&n("a/one")).await.unwrap()[..], b"hello");
    s.write(&n("a/one"), Bytes::from_static(b"world!"))
        .await
        .unwrap();
    assert_eq!(&s.read(&n("a/one")).await.unwrap()[..], b"world!");
    // Empty objects exist and have size 0.
    s.write(&n("empty"), Bytes::new()).await.unwrap();
    assert_eq!(s.stat(&n("empty")).await.unwrap().size, 0);
    assert!(s.read(&n("empty")).await.unwrap().is_empty());

    // STORE-4 read_range: middle, up to the end, past the end, empty ranges.
    s.write(&n("r"), Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    assert_eq!(&s.read_range(&n("r"), 3, 4).await.unwrap()[..], b"3456");
    assert_eq!(&s.read_range(&n("r"), 7, 3).await.unwrap()[..], b"789");
    assert_eq!(
        &s.read_range(&n("r"), 0, 10).await.unwrap()[..],
        b"0123456789"
    );
    let e = s.read_range(&n("r"), 8, 5).await.unwrap_err();
    assert_eq!(e.kind, StorageErrorKind::Truncated, "{e}");
    let e = s.read_range(&n("r"), 20, 1).await.unwrap_err();
    assert_eq!(e.kind, StorageErrorKind::Truncated, "{e}");
    let e = s.read_range(&n("r"), u64::MAX, 2).await.unwrap_err();
    assert_eq!(e.kind, StorageErrorKind::Truncated, "{e}");
    assert!(s.read_range(&n("r"), 10, 0).await.unwrap().is_empty());
    let e = s.read_range(&n("r"), 11, 0).await.unwrap_err();
    assert_eq!(e.kind, StorageErrorKind::Truncated, "{e}");

    // stat.
    let m = s.stat(&n("r")).await.unwrap();
    assert_eq!((m.name.as_str(), m.size), (n("r").as_str(), 10));

    // STORE-7 NotFound kinds, never temporary.
    for e in [
        s.read(&n("missing")).await.unwrap_err(),
        s.stat(&n("missing")).await.unwrap_err(),
        s.read_range(&n("missing"), 0, 1).await.unwrap_err(),
    ] {
        assert_eq!(e.kind, StorageErrorKind::NotFound, "{e}");
        assert!(!e.is_temporary());
    }
    // STORE-7/STORE-11: a "directory" is not an object, and nothing lies below an object.
    for e in [
        s.stat(&n("a")).await.unwrap_err(),
        s.read(&n("a")).await.unwrap_err(),
        s.read_range(&n("a"), 0, 1).await.unwrap_err(),
        s.read(&n("a/one/x")).await.unwrap_err(),
        s.stat(&n("a/one/x")).await.unwrap_err(),
    ] {
        assert_eq!(e.kind, StorageErrorKind::NotFound, "{e}");
    }
    assert!(s.list(&n("a/one/")).await.unwrap().is_empty());
    s.delete(&n("a/one/x")).await.unwrap();

    // STORE-5 list: recursive, sorted, objects only, prefix may end mid-name.
    for x in ["l/b", "l/a/2", "l/a/1", "l/c.meta", "l/c.meta.2", "lx"] {
        s.write(&n(x), Bytes::from(x.to_string())).await.unwrap();
    }
    let names = |v: Vec<brkit::storage::ObjectMeta>| -> Vec<String> {
        v.into_iter().map(|m| m.name).collect()
    };
    assert_eq!(
        names(s.list(&n("l/")).await.unwrap()),
        ["l/a/1", "l/a/2", "l/b", "l/c.meta", "l/c.meta.2"].map(n)
    );
    assert_eq!(
        names(s.list(&n("l/c.meta")).await.unwrap()),
        ["l/c.meta", "l/c.meta.2"].map(n)
    );
    assert_eq!(
        names(s.list(&n("l")).await.unwrap()),
        ["l/a/1", "l/a/2", "l/b", "l/c.meta", "l/c.meta.2", "lx"].map(n)
    );
    let all = s.list(base).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].name < w[1].name), "sorted");
    let sizes: Vec<u64> = s
        .list(&n("l/a/"))
        .await
        .unwrap()
        .iter()
        .map(|m| m.size)
        .collect();
    assert_eq!(sizes, [5, 5]);
    assert!(s.list(&n("nothing-here/")).await.unwrap().is_empty());

    // STORE-8 delete, missing ok.
    s.delete(&n("l/b")).await.unwrap();
    s.delete(&n("l/b")).await.unwrap();
    s.delete(&n("never-existed")).await.unwrap();
    assert_eq!(
        s.stat(&n("l/b")).await.unwrap_err().kind,
        StorageErrorKind::NotFound
    );

    // STORE-6 write_if_absent twice ⇒ AlreadyExists, first content kept.
    s.write_if_absent(&n("lock"), Bytes::from_static(b"first"))
        .await
        .unwrap();
    let e = s
        .write_if_absent(&n("lock"), Bytes::from_static(b"second"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, StorageErrorKind::AlreadyExists, "{e}");
    assert_eq!(&s.read(&n("lock")).await.unwrap()[..], b"first");

    // STORE-6 racing creators: exactly one wins where the backend promises atomic create.
    let mut tasks = Vec::new();
    for i in 0..6u8 {
        let (s, name) = (s.clone(), n("race"));
        tasks.push(tokio::spawn(async move {
            s.write_if_absent(&name, Bytes::from(vec![i; 64])).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(e) => assert_eq!(e.kind, StorageErrorKind::AlreadyExists, "{e}"),
        }
    }
    if s.capabilities().atomic_create {
        assert_eq!(wins, 1, "atomic_create promised one winner");
    } else {
        assert!(wins >= 1);
        eprintln!(
            "note: {} does not promise atomic create; {wins} racers won",
            s.display_url()
        );
    }

    // STORE-1 hostile names rejected before touching the backend.
    for bad in ["", "/abs", "../x", "a/../b", "a//b", "a/./b", "a\0b", "a/"] {
        let e = s.write(bad, Bytes::from_static(b"x")).await.unwrap_err();
        assert_eq!(e.kind, StorageErrorKind::BadName, "{bad:?}: {e}");
        let e = s.read(bad).await.unwrap_err();
        assert_eq!(e.kind, StorageErrorKind::BadName, "{bad:?}: {e}");
    }
    assert_eq!(
        s.list("/abs").await.unwrap_err().kind,
        StorageErrorKind::BadName
    );
    assert_eq!(
        s.list("../").await.unwrap_err().kind,
        StorageErrorKind::BadName
    );

    // Large object (9 MiB: above multipart thresholds), whole and ranged reads.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    s.write(&n("big"), Bytes::from(big.clone())).await.unwrap();
    assert_eq!(s.stat(&n("big")).await.unwrap().size, big.len() as u64);
    let got = s.read(&n("big")).await.unwrap();
    assert!(got[..] == big[..], "9 MiB object round trip");
    let off = 8 * 1024 * 1024 + 17;
    let r = s.read_range(&n("big"), off as u64, 1000).await.unwrap();
    assert_eq!(&r[..], &big[off..off + 1000]);

    // Clean up what we wrote (servers may be shared).
    for m in s.list(base).await.unwrap() {
        s.delete(&m.name).await.unwrap();
    }
    assert!(s.list(base).await.unwrap().is_empty());
}
