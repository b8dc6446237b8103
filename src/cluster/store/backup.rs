//! TiKV's backup endpoint for one region: scan the region's part of a range from one RocksDB
//! snapshot, keep the version BR wants per key (DATA-4), write `write`/`default` SST pairs with
//! RocksDB's `SstFileWriter` (SST-12, DATA-5, DATA-7), cut pairs at `sst_max_size` (DATA-1),
//! seal them (encryption, SHA-256, IV: DATA-2, CSUM-7), name them (NAME-1/2/4/5) and hand each
//! file to the caller, who uploads it. Per-file checksums follow CSUM-2.
//!
//! Owns only the per-region backup; the BR-side flow (ranges, retries, backupmeta) is the
//! engine's, the upload the gRPC layer's.

use super::mvcc::{ScanPolicy, Scanner};
use super::{Result, Store, StoreError};
use crate::archive::sst_writer::{sst_options, SstCompression};
use crate::archive::writer::seal_data_file;
use crate::cluster::Region;
use crate::codec::bytes::decode_bytes_exact;
use crate::format::checksum::Checksum;
use crate::format::crypto::Cipher;
use crate::format::naming::snapshot::{build_sst_name, Cf};
use crate::proto::backup::File;
use bytes::Bytes;
use rocksdb::{Options, SstFileWriter};
use std::path::{Path, PathBuf};

/// TiKV's default `sst-max-size` when the request leaves it 0 (96 MiB, the region max size).
pub const DEFAULT_SST_MAX_SIZE: u64 = 96 << 20;

/// What a backup request asks of one region.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// 0 for a full backup; > 0 for an incremental one (Deletes included, DATA-4).
    pub start_version: u64,
    /// The backup ts.
    pub end_version: u64,
    pub compression: SstCompression,
    /// 0 = RocksDB's default level.
    pub compression_level: i32,
    pub cipher: Cipher,
    /// Cut a pair when default+write `total_bytes` reach this (DATA-1); 0 = 96 MiB.
    pub sst_max_size: u64,
    /// Storage backend kind (`local`, `s3`, `gcs`, `azure`, ...), for the name (NAME-1/2).
    pub backend: String,
}

/// One sealed SST ready for upload under `name`.
#[derive(Debug, Clone)]
pub struct BackupFile {
    pub cf: Cf,
    pub name: String,
    /// The bytes as stored (encrypted when asked).
    pub bytes: Bytes,
    /// The `File` entry for backupmeta (DATA-2).
    pub file: File,
}

/// Totals of one `backup_region` call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupStats {
    /// Files emitted.
    pub files: u64,
    /// Backed-up versions (one per user key).
    pub kvs: u64,
    /// Stored bytes of the emitted files.
    pub sst_bytes: u64,
    /// CSUM-2 aggregate over every file (its `total_bytes` is the logical size).
    pub checksum: Checksum,
}

/// One SST being written to a temporary file.
struct Part<'o> {
    writer: SstFileWriter<'o>,
    path: PathBuf,
    sum: Checksum,
}

/// The pair of files of one range piece, opened lazily.
struct Pair<'o> {
    write: Option<Part<'o>>,
    default: Option<Part<'o>>,
    start_raw: Vec<u8>,
}

impl Drop for Part<'_> {
    fn drop(&mut self) {
        // On an error path the temporary file would otherwise stay behind; after a successful
        // seal it is already gone.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Everything a pair needs to become files.
struct Ctx<'a> {
    store: &'a Store,
    region: &'a Region,
    opts: &'a BackupOptions,
    sst_opts: &'a Options,
    tmp_dir: &'a Path,
    tag: String,
    seq: u64,
}

impl<'o> Ctx<'o> {
    fn open_part(&mut self, cf: Cf) -> Result<Part<'o>> {
        self.seq += 1;
        let path = self
            .tmp_dir
            .join(format!("{}-{}-{}.sst", self.tag, self.seq, cf.as_str()));
        let writer = SstFileWriter::create(self.sst_opts);
        writer
            .open(&path)
            .map_err(|e| self.store.rocks("creating backup SST", e))?;
        Ok(Part {
            writer,
            path,
            sum: Checksum::default(),
        })
    }

    /// Finishes the pair covering [start_raw, end_raw) and emits `[default, write]` (DATA-1).
    fn finish(
        &self,
        mut pair: Pair<'o>,
        end_raw: &[u8],
        stats: &mut BackupStats,
        emit: &mut dyn FnMut(BackupFile) -> Result<()>,
    ) -> Result<()> {
        let ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        for (cf, part) in [
            (Cf::Default, pair.default.take()),
            (Cf::Write, pair.write.take()),
        ] {
            let Some(part) = part else { continue };
            stats.checksum.merge(&part.sum);
            let f = self.seal(cf, part, &pair.start_raw, end_raw, ms)?;
            stats.files += 1;
            stats.sst_bytes += f.file.size;
            emit(f)?;
        }
        Ok(())
    }

    fn seal(
        &self,
        cf: Cf,
        mut part: Part<'o>,
        start_raw: &[u8],
        end_raw: &[u8],
        ms: u64,
    ) -> Result<BackupFile> {
        let store = self.store;
        let io = |op, source| StoreError::Io {
            store_id: store.store_id,
            op,
            path: part.path.clone(),
            source,
        };
        part.writer
            .finish()
            .map_err(|e| store.rocks("finishing backup SST", e))?;
        let plain = std::fs::read(&part.path).map_err(|e| io("reading backup SST", e))?;
        std::fs::remove_file(&part.path).map_err(|e| io("removing backup SST", e))?;
        let sealed =
            seal_data_file(&self.opts.cipher, plain).map_err(|source| StoreError::Archive {
                store_id: store.store_id,
                source: Box::new(source),
            })?;
        let name = build_sst_name(
            &self.opts.backend,
            store.store_id,
            self.region.id,
            self.region.epoch.version,
            start_raw,
            ms,
            cf,
        );
        let file = File {
            name: name.clone(),
            sha256: sealed.sha256,
            start_key: start_raw.to_vec(),
            end_key: end_raw.to_vec(),
            start_version: self.opts.start_version,
            end_version: self.opts.end_version,
            crc64xor: part.sum.crc64xor,
            total_kvs: part.sum.total_kvs,
            total_bytes: part.sum.total_bytes,
            cf: cf.as_str().to_string(),
            size: sealed.size,
            cipher_iv: sealed.cipher_iv,
            ..Default::default()
        };
        Ok(BackupFile {
            cf,
            name,
            bytes: sealed.bytes,
            file,
        })
    }
}

impl Store {
    /// Backs up encoded [enc_start, enc_end) of `region` (already clipped to it; empty end =
    /// +infinity) at `opts.end_version` from one snapshot, emitting each sealed file. Temporary
    /// SSTs are written under `tmp_dir` and removed. An empty range emits nothing.
    pub fn backup_region(
        &self,
        region: &Region,
        enc_start: &[u8],
        enc_end: &[u8],
        opts: &BackupOptions,
        tmp_dir: &Path,
        emit: &mut dyn FnMut(BackupFile) -> Result<()>,
    ) -> Result<BackupStats> {
        let raw_bound = |enc: &[u8], what: &str| -> Result<Vec<u8>> {
            if enc.is_empty() {
                return Ok(Vec::new());
            }
            decode_bytes_exact(enc).map_err(|source| StoreError::Codec {
                store_id: self.store_id,
                what: format!("backup range {what} {}", hex::encode(enc)),
                source,
            })
        };
        let first_raw = raw_bound(enc_start, "start")?;
        let end_raw = raw_bound(enc_end, "end")?;
        let max = match opts.sst_max_size {
            0 => DEFAULT_SST_MAX_SIZE,
            n => n,
        };
        let sst_opts = sst_options(opts.compression, opts.compression_level);
        let mut ctx = Ctx {
            store: self,
            region,
            opts,
            sst_opts: &sst_opts,
            tmp_dir,
            tag: format!(
                "backup-{}-{}-{}",
                self.store_id,
                region.id,
                uuid::Uuid::new_v4().simple()
            ),
            seq: 0,
        };
        let snap = self.db.snapshot();
        let policy = ScanPolicy {
            begin_ts: opts.start_version,
            read_ts: opts.end_version,
            include_deletes: opts.start_version > 0,
        };
        let mut sc = Scanner::new(self, &snap, enc_start, enc_end, policy)?;
        let mut stats = BackupStats::default();
        let mut pair: Option<Pair> = None;
        let mut next_start = first_raw;
        let mut cut = false;
        while sc.next()? {
            if cut {
                // The finished pair ends where the next one starts (DATA-1).
                if let Some(p) = pair.take() {
                    ctx.finish(p, &sc.raw, &mut stats, emit)?;
                }
                next_start.clone_from(&sc.raw);
            }
            let p = pair.get_or_insert_with(|| Pair {
                write: None,
                default: None,
                start_raw: std::mem::take(&mut next_start),
            });
            if p.write.is_none() {
                p.write = Some(ctx.open_part(Cf::Write)?);
            }
            let rocks = |e| self.rocks("adding to backup SST", e);
            if let Some(w) = p.write.as_mut() {
                w.writer
                    .put(&sc.write_key, &sc.write_value)
                    .map_err(rocks)?;
                if !sc.has_default {
                    w.sum.update(&sc.raw, &sc.value); // CSUM-2: no default value
                }
            }
            if sc.has_default {
                if p.default.is_none() {
                    p.default = Some(ctx.open_part(Cf::Default)?);
                }
                if let Some(d) = p.default.as_mut() {
                    d.writer.put(&sc.default_key, &sc.value).map_err(rocks)?;
                    d.sum.update(&sc.raw, &sc.value); // CSUM-2: accounted to default
                }
            }
            stats.kvs += 1;
            let bytes = p.write.as_ref().map_or(0, |w| w.sum.total_bytes)
                + p.default.as_ref().map_or(0, |d| d.sum.total_bytes);
            cut = bytes >= max;
        }
        if let Some(p) = pair.take() {
            ctx.finish(p, &end_raw, &mut stats, emit)?;
        }
        Ok(stats)
    }
}
