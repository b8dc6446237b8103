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
use crate::format::sst::{SstReader, ValueType};
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
        if cf == Cf::Lock {
            return Err(self.invalid("backup SSTs hold only the default and write CFs".into()));
        }
        let what = || format!("downloaded {} SST {}", cf.as_str(), hex::encode(uuid));
        let fmt = |source| StoreError::Format {
            store_id: self.store_id,
            what: what(),
            source: Box::new(source),
        };
        let codec = |key: &[u8], source| StoreError::Codec {
            store_id: self.store_id,
            what: format!("{}: key {}", what(), hex::encode(key)),
            source,
        };
        let reader = SstReader::open(sst_plain).map_err(fmt)?;
        let mut scan = reader.scan();
        let mut kept: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut sorted = true;
        while let Some(e) = scan.next_entry().map_err(fmt)? {
            if e.value_type != ValueType::Put {
                return Err(self.invalid(format!(
                    "{}: key {} is a {:?}, backup SSTs hold only Puts (SST-12)",
                    what(),
                    hex::encode(e.user_key),
                    e.value_type
                )));
            }
            let key = strip_data_prefix(e.user_key).map_err(|s| codec(e.user_key, s))?;
            let new = if rules.is_empty() {
                key.to_vec()
            } else {
                rewrite_encoded_key(rules, key)
                    .map_err(|s| codec(e.user_key, s))?
                    .ok_or_else(|| {
                        self.invalid(format!(
                            "{}: key {} matches no rewrite rule (REWRITE-4)",
                            what(),
                            hex::encode(e.user_key)
                        ))
                    })?
            };
            let (user, _) = split_ts(&new).map_err(|s| codec(e.user_key, s))?;
            if user < keep_start || (!keep_end.is_empty() && user >= keep_end) {
                continue;
            }
            let mut k = Vec::with_capacity(new.len() + 1);
            k.push(DATA_PREFIX);
            k.extend_from_slice(&new);
            if sorted && kept.last().is_some_and(|(last, _)| *last >= k) {
                sorted = false;
            }
            kept.push((k, e.value.to_vec()));
        }
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
        if kept.is_empty() {
            return Ok(DownloadOutcome {
                is_empty: true,
                ..Default::default()
            });
        }
        if !sorted {
            // Rules mapping several prefixes can reorder keys (e.g. index ids renumbered).
            kept.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            if kept.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(self.invalid(format!("{}: two keys rewrite to the same key", what())));
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("creating import directory", e))?;
        }
        let opts = sst_options(SstCompression::Lz4, 0);
        let mut w = SstFileWriter::create(&opts);
        let rocks = |e| self.rocks("writing staged SST", e);
        w.open(&path).map_err(rocks)?;
        let mut bytes = 0u64;
        for (k, v) in &kept {
            w.put(k, v).map_err(rocks)?;
            bytes += (k.len() + v.len()) as u64;
        }
        w.finish().map_err(rocks)?;
        let user = |k: &[u8]| k[1..k.len() - TS_LEN].to_vec();
        Ok(DownloadOutcome {
            is_empty: false,
            range: (user(&kept[0].0), user(&kept[kept.len() - 1].0)),
            kvs: kept.len() as u64,
            bytes,
        })
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
