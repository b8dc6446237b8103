//! The FUSE adapter: translates kernel requests into [`Vfs`] calls (nothing else happens
//! here), and the mount's lifetime (mount, wait, unmount, lazy unmount when busy). fuser's
//! default build is pure Rust; `fusermount3` mounts when not root. No unsafe code.

use super::source::MountSource;
use super::tree::{Attr, EntryKind, Vfs, VfsError};
use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, FopenFlags, Generation, INodeNo, MountOption,
    OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyWrite, ReplyXattr, Request, SessionACL,
};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// How long the kernel may cache entries and attributes: the archive never changes while
/// mounted (BRFS-1), so an hour.
pub const TTL: Duration = Duration::from_secs(3600);

/// Mount options of `brfs mount`.
#[derive(Debug, Clone)]
pub struct FuseOptions {
    /// Let other users read the mount (`allow_other`; needs `user_allow_other` in
    /// /etc/fuse.conf when not root).
    pub allow_other: bool,
    /// Threads serving requests: a long read blocks one, not the others (BRFS-11).
    pub threads: usize,
    /// The `fsname` shown in /proc/mounts.
    pub fsname: String,
}

impl Default for FuseOptions {
    fn default() -> Self {
        FuseOptions {
            allow_other: false,
            threads: 4,
            fsname: "brfs".into(),
        }
    }
}

struct BrFs<S: MountSource> {
    vfs: Arc<Vfs<S>>,
}

fn errno(e: &VfsError) -> Errno {
    match e {
        VfsError::NotFound => Errno::ENOENT,
        VfsError::NotDir => Errno::ENOTDIR,
        VfsError::IsDir => Errno::EISDIR,
        VfsError::ReadOnly => Errno::EROFS,
        VfsError::Io(_) => Errno::EIO,
    }
}

fn file_type(k: EntryKind) -> FileType {
    match k {
        EntryKind::Dir => FileType::Directory,
        EntryKind::File => FileType::RegularFile,
    }
}

fn file_attr(a: &Attr) -> FileAttr {
    FileAttr {
        ino: INodeNo(a.ino),
        size: a.size,
        blocks: a.size.div_ceil(512),
        atime: a.mtime,
        mtime: a.mtime,
        ctime: a.mtime,
        crtime: a.mtime,
        kind: file_type(a.kind),
        perm: a.perm,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: 0,
        blksize: 128 * 1024,
        flags: 0,
    }
}

impl<S: MountSource> fuser::Filesystem for BrFs<S> {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(name) = name.to_str() else {
            return reply.error(Errno::ENOENT);
        };
        match self.vfs.lookup(parent.0, name) {
            Ok(a) => reply.entry(&TTL, &file_attr(&a), Generation(0)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.vfs.forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.vfs.getattr(ino.0) {
            Ok(a) => reply.attr(&TTL, &file_attr(&a)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let write = flags.acc_mode() != OpenAccMode::O_RDONLY
            || flags.0 & (libc_o_trunc() | libc_o_append()) != 0;
        match self.vfs.open(ino.0, write) {
            // The bytes of a file never change while mounted: keep the page cache.
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        match self.vfs.read(ino.0, offset, size) {
            Ok(bytes) => reply.data(&bytes),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn flush(
        &self,
        _r: &Request,
        _i: INodeNo,
        _f: FileHandle,
        _l: fuser::LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(&self, _r: &Request, _i: INodeNo, _f: FileHandle, _d: bool, reply: ReplyEmpty) {
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        // d_type only, no readdirplus: listing a table directory computes no sizes (BRFS-9).
        let r = self.vfs.readdir_from(ino.0, offset, |e, next| {
            reply.add(INodeNo(e.ino), next, file_type(e.kind), &e.name)
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn lseek(
        &self,
        _r: &Request,
        _i: INodeNo,
        _fh: FileHandle,
        _o: i64,
        _w: i32,
        reply: fuser::ReplyLseek,
    ) {
        // SEEK_DATA/SEEK_HOLE: files have no holes; ENOSYS makes the kernel answer itself.
        reply.error(Errno::ENOSYS);
    }

    fn readlink(&self, _req: &Request, _ino: INodeNo, reply: ReplyData) {
        reply.error(Errno::EINVAL);
    }

    fn getxattr(&self, _r: &Request, _i: INodeNo, _n: &OsStr, _s: u32, reply: ReplyXattr) {
        reply.error(Errno::NO_XATTR);
    }

    fn listxattr(&self, _r: &Request, _i: INodeNo, size: u32, reply: ReplyXattr) {
        if size == 0 {
            reply.size(0);
        } else {
            reply.data(&[]);
        }
    }

    // BRFS-1: every change is refused with EROFS.
    fn setattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        _size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        reply.error(Errno::EROFS);
    }

    fn mknod(
        &self,
        _r: &Request,
        _p: INodeNo,
        _n: &OsStr,
        _m: u32,
        _u: u32,
        _d: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn mkdir(&self, _r: &Request, _p: INodeNo, _n: &OsStr, _m: u32, _u: u32, reply: ReplyEntry) {
        reply.error(Errno::EROFS);
    }

    fn unlink(&self, _r: &Request, _p: INodeNo, _n: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn rmdir(&self, _r: &Request, _p: INodeNo, _n: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn symlink(&self, _r: &Request, _p: INodeNo, _n: &OsStr, _t: &Path, reply: ReplyEntry) {
        reply.error(Errno::EROFS);
    }

    fn rename(
        &self,
        _r: &Request,
        _p: INodeNo,
        _n: &OsStr,
        _np: INodeNo,
        _nn: &OsStr,
        _f: fuser::RenameFlags,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }

    fn link(&self, _r: &Request, _i: INodeNo, _np: INodeNo, _nn: &OsStr, reply: ReplyEntry) {
        reply.error(Errno::EROFS);
    }

    fn write(
        &self,
        _r: &Request,
        _i: INodeNo,
        _fh: FileHandle,
        _o: u64,
        _d: &[u8],
        _wf: fuser::WriteFlags,
        _f: OpenFlags,
        _l: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        reply.error(Errno::EROFS);
    }

    fn create(
        &self,
        _r: &Request,
        _p: INodeNo,
        _n: &OsStr,
        _m: u32,
        _u: u32,
        _f: i32,
        reply: fuser::ReplyCreate,
    ) {
        reply.error(Errno::EROFS);
    }

    fn setxattr(
        &self,
        _r: &Request,
        _i: INodeNo,
        _n: &OsStr,
        _v: &[u8],
        _f: i32,
        _p: u32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }

    fn removexattr(&self, _r: &Request, _i: INodeNo, _n: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }
}

// Linux open(2) flags (x86_64 and aarch64 agree on these two).
const fn libc_o_trunc() -> i32 {
    0o1000
}
const fn libc_o_append() -> i32 {
    0o2000
}

/// A live mount: unmount it, or wait until someone else does.
pub struct Mounted {
    unmounter: fuser::SessionUnmounter,
    thread: Option<JoinHandle<io::Result<()>>>,
    mountpoint: PathBuf,
}

/// Mounts `vfs` at `mountpoint` and returns once the kernel has finished the FUSE handshake:
/// from then on the mount answers.
pub fn mount<S: MountSource>(
    vfs: Arc<Vfs<S>>,
    mountpoint: &Path,
    opts: &FuseOptions,
) -> io::Result<Mounted> {
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::RO,
        MountOption::FSName(opts.fsname.clone()),
        MountOption::Subtype("brfs".into()),
        MountOption::DefaultPermissions,
        MountOption::NoAtime,
        MountOption::NoDev,
        MountOption::NoSuid,
    ];
    if opts.allow_other {
        config.acl = SessionACL::All;
    }
    config.n_threads = Some(opts.threads.max(1));
    config.clone_fd = true;
    let mut session = fuser::Session::new(BrFs { vfs }, mountpoint, &config)?;
    let unmounter = session.unmount_callable();
    let thread = std::thread::Builder::new()
        .name("brfs-session".into())
        .spawn(move || session.run())?;
    Ok(Mounted {
        unmounter,
        thread: Some(thread),
        mountpoint: mountpoint.to_path_buf(),
    })
}

impl Mounted {
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// True once the session has ended (someone ran `brfs umount` or `fusermount3 -u`).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Unmounts; when the mount point is busy (a shell inside it), detaches it lazily so it
    /// goes away once the last user leaves (BRFS-12). Waits for the session to end.
    pub fn unmount(mut self) -> io::Result<()> {
        if !self.is_finished() {
            if let Err(e) = self.unmounter.unmount() {
                tracing::warn!(
                    "unmounting {}: {e}; detaching lazily",
                    self.mountpoint.display()
                );
                lazy_unmount(&self.mountpoint)?;
            }
        }
        self.join()
    }

    /// Waits until the session ends.
    pub fn join(mut self) -> io::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("the FUSE session thread panicked"))?,
            None => Ok(()),
        }
    }
}

/// `fusermount3 -u -z`, else `umount -l`.
fn lazy_unmount(mp: &Path) -> io::Result<()> {
    for (bin, args) in [("fusermount3", &["-u", "-z"][..]), ("umount", &["-l"][..])] {
        if let Ok(s) = std::process::Command::new(bin).args(args).arg(mp).status() {
            if s.success() {
                return Ok(());
            }
        }
    }
    Err(io::Error::other(format!(
        "could not unmount {}",
        mp.display()
    )))
}

/// `brfs umount`: `fusermount3 -u MOUNTPOINT`, else (root, no fusermount3) `umount`.
pub fn unmount_path(mp: &Path) -> io::Result<()> {
    let mut last = String::new();
    for (bin, args) in [("fusermount3", &["-u"][..]), ("umount", &[][..])] {
        match std::process::Command::new(bin).args(args).arg(mp).output() {
            Ok(o) if o.status.success() => return Ok(()),
            Ok(o) => last = String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => last = format!("{bin}: {e}"),
        }
    }
    Err(io::Error::other(last))
}

/// True when /proc/mounts lists `mp` as a mount point (the path is canonicalized).
pub fn is_mounted(mp: &Path) -> bool {
    let target = mp.canonicalize().unwrap_or_else(|_| mp.to_path_buf());
    let want = target.to_string_lossy().replace(' ', "\\040");
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(want.as_str()))
}
