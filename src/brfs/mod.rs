//! `brfs`: an archive as a read-only file system (format/brfs.md). A front end like `cli`:
//! `source` is what a mount shows (implemented over `engine::view`), `tree` the kernel-free
//! VFS over it (inodes, lookup, readdir, read), `fuse` the thin FUSE adapter and the mount's
//! lifetime, `cli` the `brfs mount` / `brfs umount` commands. Nothing below `engine` uses it.

pub mod catalog;
pub mod cli;
pub mod demo;
pub mod fuse;
pub mod names;
pub mod objtree;
pub mod readme;
pub mod source;
pub mod tree;
pub mod view_source;

pub use source::{
    ArchiveFacts, MountCatalog, MountDatabase, MountSource, MountTable, TableFileKind,
};
pub use tree::{Attr, DirEntry, EntryKind, Vfs, VfsError, VfsOptions};
