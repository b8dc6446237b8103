//! TiKV's import service for one store: `stage_download` reads a downloaded (already
//! decrypted) backup SST with brkit's own reader, rewrites every key's table/index prefix
//! (REWRITE-4, REWRITE-6: decode, replace the raw prefix, re-encode, same ts), keeps the keys
//! of the target region and writes them to a staged SST under `<store dir>/import/`; `ingest`
//! moves staged files into their column families.
//!
//! Owns the staging directory. Downloading and decrypting the object is the caller's.

use super::{Result, Store, StoreError};
use crate::archive::sst_writer::{sst_options, SstCompression};
use crate::codec::mvcc::{split_ts, strip_data_prefix, DATA_PREFIX, TS_LEN};
use crate::codec::table::{rewrite_encoded_key, RewriteRule};
use crate::format::naming::snapshot::Cf;
use crate::format::sst::{SstEntry, SstReader, ValueType};
use rocksdb::{IngestExternalFileOptions, SstFileWriter};
use std::path::PathBuf;

/// The staging sub-directory of a store.
const IMPORT_DIR: &str = "import";

/// What `stage_download` kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadOutcome {
    /// Nothing of the SST fell in the kept range: no file was staged, do not ingest.
    pub is_empty: bool,
    /// First and last kept keys: encoded (rewritten space), without `z` and ts.
    pub range: (Vec<u8>, Vec<u8>),
    /// Kept entries.
    pub kvs: u64,
    /// Σ (key + value) length of the kept entries as staged.
    pub bytes: u64,
}

impl Store {
    /// Where the staged SST of `uuid` lives.
    pub fn staged_path(&self, uuid: &[u8]) -> PathBuf {
        self.dir
            .join(IMPORT_DIR)
            .join(format!("{}.sst", hex::encode(uuid)))
    }

    /// Rewrites and filters a plaintext backup SST of `cf` into a staged SST named by `uuid`.
    /// `rules` empty = keys unchanged; otherwise a key no rule matches is an error. Only keys
    /// whose encoded user key lies in [keep_start, keep_end) (rewritten space, no `z`, empty
    /// end = +infinity) are kept.
    pub fn stage_download(
        &self,
        sst_plain: &[u8],
        cf: Cf,
        rules: &[RewriteRule],
        keep_start: &[u8],
        keep_end: &[u8],
        uuid: &[u8],
    ) -> Result<DownloadOutcome> {
        let out = self.stage(sst_plain, cf, rules, keep_start, keep_end, uuid);
        if out.is_err() {
            // A damaged SST can fail midway through streaming: stage nothing.
            let _ = std::fs::remove_file(self.staged_path(uuid));
        }
        out
    }

    fn stage(
        &self,
        sst_plain: &[u8],
        cf: Cf,
        rules: &[RewriteRule],
        keep_start: &[u8],
        keep_end: &[u8],
        uuid: &[u8],
    ) -> Result<DownloadOutcome> {
        if cf == Cf::Lock {
            return Err(self.invalid("backup SSTs hold only the default and write CFs".into()));
        }
        let what = || format!("downloaded {} SST {}", cf.as_str(), hex::encode(uuid));
        let fmt = |source| StoreError::Format {
            store_id: self.store_id,
            what: what(),
            source: Box::new(source),
        };
        let path = self.staged_path(uuid);
        let io = |op, source| StoreError::Io {
            store_id: self.store_id,
            op,
            path: path.clone(),
            source,
        };
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| io("removing stale staged SST", e))?;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("creating import directory", e))?;
        }
        let opts = sst_options(SstCompression::Lz4, 0);
        let rocks = |e| self.rocks("writing staged SST", e);
        let reader = SstReader::open(sst_plain).map_err(fmt)?;
        let mut scan = reader.scan();
        // Fast path: keys stay in order (one rule, or rules that keep the order) and stream
        // straight into the staged SST. The first out-of-order key switches to collecting
        // everything and sorting (rules mapping several prefixes can reorder keys, e.g. index
        // ids renumbered), which restarts the scan.
        let mut streamed: Option<SstFileWriter> = None;
        let mut kept: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut sorted = true;
        let (mut first, mut last) = (Vec::new(), Vec::new());
        let (mut kvs, mut bytes) = (0u64, 0u64);
        let mut k: Vec<u8> = Vec::new();
        while let Some(e) = scan.next_entry().map_err(fmt)? {
            if !self.rewrite_entry(&e, rules, keep_start, keep_end, &what, &mut k)? {
                continue;
            }
            if sorted && kvs > 0 && last >= k {
                sorted = false;
                break;
            }
            let w = match streamed.as_mut() {
                Some(w) => w,
                None => {
                    let w = SstFileWriter::create(&opts);
                    w.open(&path).map_err(rocks)?;
                    first.clone_from(&k);
                    streamed.insert(w)
                }
            };
            w.put(&k, e.value).map_err(rocks)?;
            kvs += 1;
            bytes += (k.len() + e.value.len()) as u64;
            std::mem::swap(&mut last, &mut k);
        }
        if !sorted {
            drop(streamed.take());
            let _ = std::fs::remove_file(&path);
            let mut scan = reader.scan();
            while let Some(e) = scan.next_entry().map_err(fmt)? {
                if self.rewrite_entry(&e, rules, keep_start, keep_end, &what, &mut k)? {
                    kept.push((k.clone(), e.value.to_vec()));
                }
            }
            kept.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            if kept.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(self.invalid(format!("{}: two keys rewrite to the same key", what())));
            }
            if kept.is_empty() {
                return Ok(DownloadOutcome {
                    is_empty: true,
                    ..Default::default()
                });
            }
            let mut w = SstFileWriter::create(&opts);
            w.open(&path).map_err(rocks)?;
            for (k, v) in &kept {
                w.put(k, v).map_err(rocks)?;
                bytes += (k.len() + v.len()) as u64;
            }
            kvs = kept.len() as u64;
            if let (Some(f), Some(l)) = (kept.first(), kept.last()) {
                first.clone_from(&f.0);
                last.clone_from(&l.0);
            }
            streamed = Some(w);
        }
        let Some(mut w) = streamed.filter(|_| kvs > 0) else {
            return Ok(DownloadOutcome {
                is_empty: true,
                ..Default::default()
            });
        };
        w.finish().map_err(rocks)?;
        let user = |k: &[u8]| k[1..k.len() - TS_LEN].to_vec();
        Ok(DownloadOutcome {
            is_empty: false,
            range: (user(&first), user(&last)),
            kvs,
            bytes,
        })
    }

    /// Checks one entry of a backup SST and rewrites its key into `out` (`z` ‖ rewritten
    /// encoded key ‖ ts); false when the key falls outside [keep_start, keep_end).
    fn rewrite_entry(
        &self,
        e: &SstEntry<'_>,
        rules: &[RewriteRule],
        keep_start: &[u8],
        keep_end: &[u8],
        what: &dyn Fn() -> String,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        let codec = |key: &[u8], source| StoreError::Codec {
            store_id: self.store_id,
            what: format!("{}: key {}", what(), hex::encode(key)),
            source,
        };
        if e.value_type != ValueType::Put {
            return Err(self.invalid(format!(
                "{}: key {} is a {:?}, backup SSTs hold only Puts (SST-12)",
                what(),
                hex::encode(e.user_key),
                e.value_type
            )));
        }
        let key = strip_data_prefix(e.user_key).map_err(|s| codec(e.user_key, s))?;
        let rewritten;
        let new: &[u8] = if rules.is_empty() {
            key
        } else {
            rewritten = rewrite_encoded_key(rules, key)
                .map_err(|s| codec(e.user_key, s))?
                .ok_or_else(|| {
                    self.invalid(format!(
                        "{}: key {} matches no rewrite rule (REWRITE-4)",
                        what(),
                        hex::encode(e.user_key)
                    ))
                })?;
            &rewritten
        };
        let (user, _) = split_ts(new).map_err(|s| codec(e.user_key, s))?;
        if user < keep_start || (!keep_end.is_empty() && user >= keep_end) {
            return Ok(false);
        }
        out.clear();
        out.push(DATA_PREFIX);
        out.extend_from_slice(new);
        Ok(true)
    }

    /// Ingests staged files into their CFs (default-CF files first, so a commit record never
    /// becomes visible before its value) and removes the staging files. A uuid with no staged
    /// file (never staged, empty, or already ingested) is an error.
    pub fn ingest(&self, staged: &[(Vec<u8>, Cf)]) -> Result<()> {
        let mut order: Vec<&(Vec<u8>, Cf)> = staged.iter().collect();
        order.sort_by_key(|(_, cf)| *cf != Cf::Default);
        for (uuid, cf) in order {
            let path = self.staged_path(uuid);
            if !path.exists() {
                return Err(self.invalid(format!(
                    "no staged SST for uuid {} ({}): download it first (an empty download stages nothing)",
                    hex::encode(uuid),
                    path.display()
                )));
            }
            let mut io = IngestExternalFileOptions::default();
            io.set_move_files(true);
            self.db
                .ingest_external_file_cf_opts(self.cf(*cf)?, &io, vec![&path])
                .map_err(|e| self.rocks("ingesting staged SST", e))?;
            if path.exists() {
                std::fs::remove_file(&path).map_err(|source| StoreError::Io {
                    store_id: self.store_id,
                    op: "removing ingested staged SST",
                    path: path.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }
}
