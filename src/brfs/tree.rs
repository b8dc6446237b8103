//! The kernel-free virtual file system of a mount (format/brfs.md): lookup, getattr, readdir,
//! read and forget by inode over a [`MountSource`]. Inodes exist only while the kernel holds
//! them (created on lookup, dropped on the last forget); their numbers come from the path
//! (BRFS-6), so `readdir` needs no inode table and `ls -R` of 10,000 tables creates nothing.
//! The FUSE adapter (`fuse.rs`) only translates; everything testable lives here.

use super::catalog::CatalogIndex;
use super::names::{self, child_path, path_ino, ROOT_INO};
use super::objtree::{ObjEntry, ObjectTree};
use super::readme::render_readme;
use super::source::{ArchiveFacts, MountSource, TableFileKind};
use crate::engine::view::{ViewError, ViewFile};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why an operation failed; the FUSE adapter maps each to an errno.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VfsError {
    #[error("no such file or directory")]
    NotFound,
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    /// Every change is refused (BRFS-1).
    #[error("read-only file system")]
    ReadOnly,
    /// The archive could not be read; the detail is logged.
    #[error("{0}")]
    Io(String),
}

pub type Result<T> = std::result::Result<T, VfsError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
}

/// What `stat` shows (BRFS-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub kind: EntryKind,
    pub size: u64,
    pub perm: u16,
    pub nlink: u32,
    pub mtime: SystemTime,
    pub uid: u32,
    pub gid: u32,
}

/// One directory entry as `readdir` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    pub kind: EntryKind,
    pub name: String,
}

/// How a mount is set up.
#[derive(Debug, Clone, Default)]
pub struct VfsOptions {
    /// The ts the root shows; `None` is the snapshot ts.
    pub root_ts: Option<u64>,
    pub uid: u32,
    pub gid: u32,
}

/// Catalogs kept for `/at/<ts>` views beyond the root's.
const VIEW_CACHE: usize = 16;
/// Distinct rejected `/at` names remembered so each is logged once.
const REJECT_LOG: usize = 1024;

enum Kind<T> {
    Root,
    Readme,
    BackupMeta,
    At,
    View(Arc<CatalogIndex<T>>),
    Db(Arc<CatalogIndex<T>>, usize),
    Table(Arc<CatalogIndex<T>>, usize, usize),
    TableFile(Arc<dyn ViewFile>, u64),
    ObjDir(Arc<ObjectTree>, String, u64),
    ObjFile(Arc<dyn ViewFile>, u64),
}

impl<T> Clone for Kind<T> {
    fn clone(&self) -> Self {
        match self {
            Kind::Root => Kind::Root,
            Kind::Readme => Kind::Readme,
            Kind::BackupMeta => Kind::BackupMeta,
            Kind::At => Kind::At,
            Kind::View(v) => Kind::View(v.clone()),
            Kind::Db(v, d) => Kind::Db(v.clone(), *d),
            Kind::Table(v, d, t) => Kind::Table(v.clone(), *d, *t),
            Kind::TableFile(f, ts) => Kind::TableFile(f.clone(), *ts),
            Kind::ObjDir(t, d, ts) => Kind::ObjDir(t.clone(), d.clone(), *ts),
            Kind::ObjFile(f, ts) => Kind::ObjFile(f.clone(), *ts),
        }
    }
}

/// Catalog indexes of `at/` views by ts, with their insertion order (oldest first).
type ViewCache<T> = (HashMap<u64, Arc<CatalogIndex<T>>>, VecDeque<u64>);

struct Node<T> {
    path: String,
    kind: Kind<T>,
    lookups: u64,
}

/// The virtual file system. Every method takes `&self` and may be called from many threads.
pub struct Vfs<S: MountSource> {
    src: Arc<S>,
    root: Arc<CatalogIndex<S::Table>>,
    snapshot_ts: u64,
    windows: Vec<(u64, u64)>,
    time_points: Vec<u64>,
    facts: ArchiveFacts,
    uid: u32,
    gid: u32,
    nodes: RwLock<HashMap<u64, Node<S::Table>>>,
    views: Mutex<ViewCache<S::Table>>,
    raw: Mutex<Option<Arc<ObjectTree>>>,
    backupmeta: Mutex<Option<Arc<[u8]>>>,
    readme: Arc<[u8]>,
    rejected: Mutex<HashSet<String>>,
}

fn io_err(what: &str, e: ViewError) -> VfsError {
    match e {
        ViewError::NotFound { .. } | ViewError::TsOutsideWindow { .. } => VfsError::NotFound,
        e => {
            tracing::warn!("{what}: {e}");
            VfsError::Io(format!("{what}: {e}"))
        }
    }
}

/// The UTC time of a TSO, for `mtime` (BRFS-9).
pub fn ts_time(ts: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(crate::codec::tso::physical(ts))
}

impl<S: MountSource> Vfs<S> {
    /// Opens the tree: reads the catalog at the root's ts (a ts the archive cannot show is
    /// the error `TsOutsideWindow`, which `brfs mount` reports naming `--ts`).
    pub fn new(src: Arc<S>, opts: VfsOptions) -> std::result::Result<Vfs<S>, ViewError> {
        let snapshot_ts = src.snapshot_ts();
        let root_ts = opts.root_ts.unwrap_or(snapshot_ts);
        let windows = src.windows();
        if root_ts != snapshot_ts && !in_windows(&windows, root_ts) {
            return Err(ViewError::TsOutsideWindow {
                ts: root_ts,
                detail: window_detail(snapshot_ts, &windows),
            });
        }
        let root = Arc::new(CatalogIndex::new(src.catalog(root_ts)?));
        for d in &root.duplicates {
            tracing::warn!("{d}: another database or table has the same directory name; not shown");
        }
        let mut time_points = Vec::new();
        if !windows.is_empty() {
            time_points.push(snapshot_ts);
            time_points.extend(
                src.flush_points()
                    .into_iter()
                    .filter(|&t| in_windows(&windows, t)),
            );
            time_points.extend(windows.iter().map(|w| w.1));
            time_points.sort_unstable();
            time_points.dedup();
        }
        let facts = src.facts();
        let readme = render_readme(&facts, root_ts, &windows, &time_points).into_bytes();
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT_INO,
            Node {
                path: "/".into(),
                kind: Kind::Root,
                lookups: 1,
            },
        );
        Ok(Vfs {
            src,
            root,
            snapshot_ts,
            windows,
            time_points,
            facts,
            uid: opts.uid,
            gid: opts.gid,
            nodes: RwLock::new(nodes),
            views: Mutex::new((HashMap::new(), VecDeque::new())),
            raw: Mutex::new(None),
            backupmeta: Mutex::new(None),
            readme: Arc::from(readme),
            rejected: Mutex::new(HashSet::new()),
        })
    }

    pub fn root_ts(&self) -> u64 {
        self.root.ts()
    }

    pub fn facts(&self) -> &ArchiveFacts {
        &self.facts
    }

    /// The ts listed in `/at` (BRFS-10); empty without a log archive.
    pub fn time_points(&self) -> &[u64] {
        &self.time_points
    }

    /// Tables shown at the root.
    pub fn root_tables(&self) -> usize {
        self.root.table_count()
    }

    /// Inodes the kernel holds now (for tests and the memory bound).
    pub fn live_inodes(&self) -> usize {
        self.nodes.read().map(|n| n.len()).unwrap_or(0)
    }

    fn node(&self, ino: u64) -> Result<(String, Kind<S::Table>)> {
        let nodes = self
            .nodes
            .read()
            .map_err(|_| VfsError::Io("inode table poisoned".into()))?;
        let n = nodes.get(&ino).ok_or(VfsError::NotFound)?;
        Ok((n.path.clone(), n.kind.clone()))
    }

    /// `lookup`: resolves `name` in directory `parent` and counts one kernel reference.
    pub fn lookup(&self, parent: u64, name: &str) -> Result<Attr> {
        let (ppath, pkind) = self.node(parent)?;
        if name == "." || name == ".." || name.is_empty() || name.contains('/') {
            return Err(VfsError::NotFound);
        }
        let path = child_path(&ppath, name);
        let mut ino = path_ino(&path);
        // Seen already: the kernel's reference count goes up, nothing is resolved again.
        {
            let mut nodes = self
                .nodes
                .write()
                .map_err(|_| VfsError::Io("inode table poisoned".into()))?;
            while let Some(n) = nodes.get_mut(&ino) {
                if n.path == path {
                    n.lookups += 1;
                    let kind = n.kind.clone();
                    drop(nodes);
                    return self.attr_of(ino, &kind);
                }
                ino = ino.wrapping_add(1).max(ROOT_INO + 1); // BRFS-6: collision, next number
            }
        }
        let kind = self.resolve(&pkind, name)?;
        let attr = self.attr_of(ino, &kind)?;
        let mut nodes = self
            .nodes
            .write()
            .map_err(|_| VfsError::Io("inode table poisoned".into()))?;
        loop {
            match nodes.get_mut(&ino) {
                Some(n) if n.path == path => {
                    n.lookups += 1;
                    break;
                }
                Some(_) => ino = ino.wrapping_add(1).max(ROOT_INO + 1),
                None => {
                    nodes.insert(
                        ino,
                        Node {
                            path,
                            kind,
                            lookups: 1,
                        },
                    );
                    break;
                }
            }
        }
        Ok(Attr { ino, ..attr })
    }

    /// `forget`: the kernel drops `n` references; the inode goes with the last one.
    pub fn forget(&self, ino: u64, n: u64) {
        if ino == ROOT_INO {
            return;
        }
        if let Ok(mut nodes) = self.nodes.write() {
            if let Some(node) = nodes.get_mut(&ino) {
                node.lookups = node.lookups.saturating_sub(n);
                if node.lookups == 0 {
                    nodes.remove(&ino);
                }
            }
        }
    }

    pub fn getattr(&self, ino: u64) -> Result<Attr> {
        let (_, kind) = self.node(ino)?;
        self.attr_of(ino, &kind)
    }

    /// `open`: any write access is refused (BRFS-1).
    pub fn open(&self, ino: u64, write: bool) -> Result<()> {
        self.node(ino)?;
        if write {
            return Err(VfsError::ReadOnly);
        }
        Ok(())
    }

    /// Reads up to `size` bytes at `offset`; short only at the end of the file.
    pub fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Vec<u8>> {
        let (path, kind) = self.node(ino)?;
        let bytes = match &kind {
            Kind::Readme => self.readme.clone(),
            Kind::BackupMeta => self.backupmeta()?,
            Kind::TableFile(f, _) | Kind::ObjFile(f, _) => {
                let mut buf = vec![0u8; size as usize];
                let mut got = 0;
                while got < buf.len() {
                    let off = offset.saturating_add(got as u64);
                    let n = f
                        .read_at(off, &mut buf[got..])
                        .map_err(|e| io_err(&path, e))?;
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                buf.truncate(got);
                return Ok(buf);
            }
            _ => return Err(VfsError::IsDir),
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = start.saturating_add(size as usize).min(bytes.len());
        Ok(bytes[start..end].to_vec())
    }

    /// The entries of a directory, `.` and `..` first (BRFS-8), as a list (tests, small dirs).
    pub fn readdir(&self, ino: u64) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        self.readdir_from(ino, 0, |e, _| {
            out.push(e);
            false
        })?;
        Ok(out)
    }

    /// Calls `add(entry, next_offset)` for the entries from position `offset` on, until it
    /// returns true (the kernel's buffer is full). Offsets are positions in the listing.
    pub fn readdir_from(
        &self,
        ino: u64,
        offset: u64,
        mut add: impl FnMut(DirEntry, u64) -> bool,
    ) -> Result<()> {
        let (path, kind) = self.node(ino)?;
        let parent = match path.rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(i) => path[..i].to_string(),
        };
        let mut pos = offset;
        let mut emit = |name: &str, kind: EntryKind, ino: Option<u64>| -> bool {
            let ino = ino.unwrap_or_else(|| path_ino(&child_path(&path, name)));
            pos += 1;
            add(
                DirEntry {
                    ino,
                    kind,
                    name: name.to_string(),
                },
                pos,
            )
        };
        let dir = EntryKind::Dir;
        let file = EntryKind::File;
        // Fixed entries first, then a listing that can start in the middle.
        let mut fixed: Vec<(&str, EntryKind, Option<u64>)> =
            vec![(".", dir, Some(ino)), ("..", dir, Some(path_ino(&parent)))];
        let view = match &kind {
            Kind::Root => {
                fixed.push((names::README, file, None));
                fixed.push((names::BACKUPMETA_JSON, file, None));
                fixed.push((names::RAW_DIR, dir, None));
                if !self.windows.is_empty() {
                    fixed.push((names::AT_DIR, dir, None));
                }
                Some(self.root.clone())
            }
            Kind::View(v) => Some(v.clone()),
            Kind::Table(..) => {
                for k in TableFileKind::ALL {
                    fixed.push((k.file_name(), file, None));
                }
                fixed.push((names::FILES_DIR, dir, None));
                None
            }
            Kind::At | Kind::Db(..) | Kind::ObjDir(..) => None,
            _ => return Err(VfsError::NotDir),
        };
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (name, k, i) in fixed.iter().skip(skip) {
            if emit(name, *k, *i) {
                return Ok(());
            }
        }
        let rest = skip.saturating_sub(fixed.len());
        match (&kind, view) {
            (_, Some(v)) => {
                for d in v.dbs.iter().skip(rest) {
                    if emit(&d.entry, dir, None) {
                        return Ok(());
                    }
                }
            }
            (Kind::At, _) => {
                for ts in self.time_points.iter().skip(rest) {
                    if emit(&ts.to_string(), dir, None) {
                        return Ok(());
                    }
                }
            }
            (Kind::Db(v, d), _) => {
                for (entry, _) in v.dbs[*d].tables.iter().skip(rest) {
                    if emit(entry, dir, None) {
                        return Ok(());
                    }
                }
            }
            (Kind::ObjDir(tree, sub, _), _) => {
                for (name, e) in tree.list(sub).iter().skip(rest) {
                    let k = if matches!(e, ObjEntry::Dir(_)) {
                        dir
                    } else {
                        file
                    };
                    if emit(name, k, None) {
                        return Ok(());
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn resolve(&self, parent: &Kind<S::Table>, name: &str) -> Result<Kind<S::Table>> {
        match parent {
            Kind::Root => match name {
                names::README => Ok(Kind::Readme),
                names::BACKUPMETA_JSON => Ok(Kind::BackupMeta),
                names::RAW_DIR => Ok(Kind::ObjDir(
                    self.raw_tree()?,
                    String::new(),
                    self.snapshot_ts,
                )),
                names::AT_DIR if !self.windows.is_empty() => Ok(Kind::At),
                _ => db_kind(&self.root, name),
            },
            Kind::At => Ok(Kind::View(self.view_at(name)?)),
            Kind::View(v) => db_kind(v, name),
            Kind::Db(v, d) => {
                let t = v.table(*d, name).ok_or(VfsError::NotFound)?;
                Ok(Kind::Table(v.clone(), *d, t))
            }
            Kind::Table(v, d, t) => {
                let table = v.mount_table(*d, *t).ok_or(VfsError::NotFound)?;
                let what = format!("{}.{}", v.catalog.databases[v.dbs[*d].db].name, table.name);
                if name == names::FILES_DIR {
                    let files = self
                        .src
                        .table_data_files(&table.handle)
                        .map_err(|e| io_err(&what, e))?;
                    let tree = ObjectTree::build_flat(files);
                    return Ok(Kind::ObjDir(Arc::new(tree), String::new(), v.ts()));
                }
                let kind = TableFileKind::from_file_name(name).ok_or(VfsError::NotFound)?;
                let f = self
                    .src
                    .table_file(&table.handle, kind)
                    .map_err(|e| io_err(&format!("{what}/{name}"), e))?;
                Ok(Kind::TableFile(f, v.ts()))
            }
            Kind::ObjDir(tree, dir, ts) => match tree.lookup(dir, name) {
                Some(ObjEntry::Dir(sub)) => Ok(Kind::ObjDir(tree.clone(), sub.clone(), *ts)),
                Some(ObjEntry::Object(i)) => {
                    let (obj, size) = &tree.objects[*i];
                    Ok(Kind::ObjFile(self.src.object_file(obj, *size), *ts))
                }
                None => Err(VfsError::NotFound),
            },
            _ => Err(VfsError::NotDir),
        }
    }

    fn attr_of(&self, ino: u64, kind: &Kind<S::Table>) -> Result<Attr> {
        let (ekind, size, ts) = match kind {
            Kind::Root | Kind::At => (EntryKind::Dir, 0, self.root.ts()),
            Kind::View(v) | Kind::Db(v, _) | Kind::Table(v, ..) => (EntryKind::Dir, 0, v.ts()),
            Kind::ObjDir(_, _, ts) => (EntryKind::Dir, 0, *ts),
            Kind::Readme => (EntryKind::File, self.readme.len() as u64, self.root.ts()),
            Kind::BackupMeta => (
                EntryKind::File,
                self.backupmeta()?.len() as u64,
                self.snapshot_ts,
            ),
            Kind::TableFile(f, ts) | Kind::ObjFile(f, ts) => {
                let size = f
                    .size()
                    .map_err(|e| io_err(&format!("inode {ino:#x}"), e))?;
                (EntryKind::File, size, *ts)
            }
        };
        let (perm, nlink) = match ekind {
            EntryKind::Dir => (0o555, 2),
            EntryKind::File => (0o444, 1),
        };
        Ok(Attr {
            ino,
            kind: ekind,
            size,
            perm,
            nlink,
            mtime: ts_time(ts),
            uid: self.uid,
            gid: self.gid,
        })
    }

    fn raw_tree(&self) -> Result<Arc<ObjectTree>> {
        let mut raw = self
            .raw
            .lock()
            .map_err(|_| VfsError::Io("raw tree poisoned".into()))?;
        if let Some(t) = raw.as_ref() {
            return Ok(t.clone());
        }
        let objects = self
            .src
            .objects()
            .map_err(|e| io_err("listing the archive", e))?;
        let (tree, skipped) = ObjectTree::build(objects);
        if skipped > 0 {
            tracing::warn!("raw/: {skipped} object names cannot be shown as paths (BRFS-7)");
        }
        let tree = Arc::new(tree);
        *raw = Some(tree.clone());
        Ok(tree)
    }

    fn backupmeta(&self) -> Result<Arc<[u8]>> {
        let mut b = self
            .backupmeta
            .lock()
            .map_err(|_| VfsError::Io("backupmeta poisoned".into()))?;
        if let Some(b) = b.as_ref() {
            return Ok(b.clone());
        }
        let json: Arc<[u8]> = Arc::from(
            self.src
                .backupmeta_json()
                .map_err(|e| io_err(names::BACKUPMETA_JSON, e))?,
        );
        *b = Some(json.clone());
        Ok(json)
    }

    /// `/at/<name>` (BRFS-10): any ts the source parses that lies inside a window.
    fn view_at(&self, name: &str) -> Result<Arc<CatalogIndex<S::Table>>> {
        let ts = match self.src.parse_ts(name) {
            Ok(ts) => ts,
            Err(e) => {
                self.reject(name, &e.to_string());
                return Err(VfsError::NotFound);
            }
        };
        if ts != self.snapshot_ts && !in_windows(&self.windows, ts) {
            self.reject(
                name,
                &format!(
                    "ts {ts} is outside the restorable window: {}",
                    window_detail(self.snapshot_ts, &self.windows)
                ),
            );
            return Err(VfsError::NotFound);
        }
        if ts == self.root.ts() {
            return Ok(self.root.clone());
        }
        if let Ok(views) = self.views.lock() {
            if let Some(v) = views.0.get(&ts) {
                return Ok(v.clone());
            }
        }
        let cat = match self.src.catalog(ts) {
            Ok(c) => c,
            Err(e @ ViewError::TsOutsideWindow { .. }) => {
                self.reject(name, &e.to_string());
                return Err(VfsError::NotFound);
            }
            Err(e) => return Err(io_err(&format!("at/{name}"), e)),
        };
        let v = Arc::new(CatalogIndex::new(cat));
        if let Ok(mut views) = self.views.lock() {
            let (map, order) = &mut *views;
            if map.insert(ts, v.clone()).is_none() {
                order.push_back(ts);
            }
            while order.len() > VIEW_CACHE {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        Ok(v)
    }

    fn reject(&self, name: &str, why: &str) {
        if let Ok(mut seen) = self.rejected.lock() {
            if seen.len() < REJECT_LOG && seen.insert(name.to_string()) {
                tracing::warn!("at/{name}: not shown: {why}");
            }
        }
    }
}

fn db_kind<T>(v: &Arc<CatalogIndex<T>>, name: &str) -> Result<Kind<T>> {
    let d = v.db(name).ok_or(VfsError::NotFound)?;
    Ok(Kind::Db(v.clone(), d))
}

fn in_windows(windows: &[(u64, u64)], ts: u64) -> bool {
    windows.iter().any(|&(a, b)| a <= ts && ts <= b)
}

/// Names the windows for an out-of-window message.
pub fn window_detail(snapshot_ts: u64, windows: &[(u64, u64)]) -> String {
    if windows.is_empty() {
        return format!("without --log-storage only the snapshot ts {snapshot_ts} can be shown");
    }
    let w: Vec<String> = windows.iter().map(|(a, b)| format!("[{a}, {b}]")).collect();
    format!("the archive can show ts {}", w.join(", "))
}
