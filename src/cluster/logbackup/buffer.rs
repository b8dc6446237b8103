//! A store's log backup buffer between two flushes: events appended to one local temp file
//! per partition (table or 0 for meta-KV, region, cf, event kind; format/log.md LOG-FILE-10),
//! each file already in the event framing of LOG-FILE-1, so a flush reads it back as the
//! plaintext stream of one sub-file. Files live in one directory per buffer generation under
//! the store directory; a flushed (or abandoned) generation is removed as a whole.
//!
//! Owns the temp files only; what goes in them is decided by `observer`, what comes out by
//! `flush`.

use crate::cluster::Region;
use crate::codec::table::decode_table_id;
use crate::format::logmeta::EventKind;
use crate::format::naming::snapshot::Cf;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Bytes each partition keeps in memory before writing to its file.
const PART_BUFFER: usize = 64 << 10;

/// The partition of an event (TiKV's `TempFileKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartKey {
    /// 0 for meta-KV events.
    pub table_id: i64,
    pub region_id: u64,
    pub cf: Cf,
    pub kind: EventKind,
    pub is_meta: bool,
}

impl PartKey {
    /// The partition of an event on raw user key `raw` in `region`.
    pub fn of(raw: &[u8], region_id: u64, cf: Cf, kind: EventKind) -> PartKey {
        let is_meta = raw.first() == Some(&b'm');
        PartKey {
            table_id: if is_meta {
                0
            } else {
                decode_table_id(raw).unwrap_or(0)
            },
            region_id,
            cf,
            kind,
            is_meta,
        }
    }
}

/// The region facts a sub-file records (LOG-FILE-7: region boundaries and epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionFacts {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    pub conf_ver: u64,
    pub version: u64,
}

impl From<&Region> for RegionFacts {
    fn from(r: &Region) -> Self {
        RegionFacts {
            start: r.start.clone(),
            end: r.end.clone(),
            conf_ver: r.epoch.conf_ver,
            version: r.epoch.version,
        }
    }
}

struct Part {
    path: PathBuf,
    file: BufWriter<File>,
    region: RegionFacts,
    events: u64,
}

/// One sealed partition file.
#[derive(Debug, Clone)]
pub struct SealedPart {
    pub key: PartKey,
    pub path: PathBuf,
    pub region: RegionFacts,
    pub events: u64,
}

/// A buffer whose files are closed, waiting to be flushed (or retried after a failed flush).
#[derive(Debug, Clone)]
pub struct SealedBatch {
    pub dir: PathBuf,
    pub parts: Vec<SealedPart>,
    pub bytes: u64,
}

impl SealedBatch {
    /// Removes the batch's files (after a successful flush, or when abandoned).
    pub fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %self.dir.display(), error = %e, "removing log backup temp files");
            }
        }
    }
}

/// The open buffer of one generation.
pub struct Buffer {
    dir: PathBuf,
    parts: HashMap<PartKey, Part>,
    bytes: u64,
}

impl Buffer {
    /// A new, empty buffer whose files go in `dir` (created lazily).
    pub fn new(dir: PathBuf) -> Buffer {
        Buffer {
            dir,
            parts: HashMap::new(),
            bytes: 0,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of events buffered so far (framed, uncompressed).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends one event (`key` with ts, no `z`) to its partition's file, framed as
    /// LOG-FILE-1 (`u32 LE len ‖ key ‖ u32 LE len ‖ value`).
    pub fn push(
        &mut self,
        key: PartKey,
        region: &Region,
        event_key: &[u8],
        value: &[u8],
    ) -> std::io::Result<()> {
        let too_long = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "event over 4 GiB");
        let klen = u32::try_from(event_key.len()).map_err(|_| too_long())?;
        let vlen = u32::try_from(value.len()).map_err(|_| too_long())?;
        let part = match self.parts.get_mut(&key) {
            Some(p) => p,
            None => self.open_part(key, region)?,
        };
        let f = &mut part.file;
        f.write_all(&klen.to_le_bytes())?;
        f.write_all(event_key)?;
        f.write_all(&vlen.to_le_bytes())?;
        f.write_all(value)?;
        part.events += 1;
        self.bytes += 8 + event_key.len() as u64 + value.len() as u64;
        Ok(())
    }

    fn open_part(&mut self, key: PartKey, region: &Region) -> std::io::Result<&mut Part> {
        if self.parts.is_empty() {
            std::fs::create_dir_all(&self.dir)?;
        }
        let path = self.dir.join(format!(
            "{}-{}-{}-{}-{}.events",
            if key.is_meta {
                "meta".to_string()
            } else {
                format!("t{}", key.table_id)
            },
            key.region_id,
            key.cf.as_str(),
            match key.kind {
                EventKind::Put => "put",
                EventKind::Delete => "delete",
            },
            self.parts.len()
        ));
        let file = BufWriter::with_capacity(PART_BUFFER, File::create(&path)?);
        Ok(self.parts.entry(key).or_insert(Part {
            path,
            file,
            region: RegionFacts::from(region),
            events: 0,
        }))
    }

    /// Closes every file (flushing what is in memory) and hands the batch over.
    pub fn seal(self) -> std::io::Result<SealedBatch> {
        let mut parts = Vec::with_capacity(self.parts.len());
        for (key, p) in self.parts {
            let f = p.file.into_inner().map_err(|e| e.into_error())?;
            drop(f);
            parts.push(SealedPart {
                key,
                path: p.path,
                region: p.region,
                events: p.events,
            });
        }
        // Data sub-files first, then meta-KV (TiKV's order), each in partition order.
        parts.sort_by_key(|p| (p.key.is_meta, p.key));
        Ok(SealedBatch {
            dir: self.dir,
            parts,
            bytes: self.bytes,
        })
    }

    /// Drops the buffer and its files (pause, stop, or a broken buffer).
    pub fn discard(self) {
        let dir = self.dir.clone();
        drop(self.parts);
        let _ = std::fs::remove_dir_all(dir);
    }
}
