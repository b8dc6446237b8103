//! The log overlay of one table at one ts (VIEW-3): every log event of the table's ids that
//! the restore would replay up to the ts (`pitr::plan_replay`: write CF by commit ts in
//! `(snapshot_ts, ts]`, default CF from the shift ts), written into a temporary RocksDB under
//! the view's scratch directory so memory stays bounded whatever the log volume. Put events
//! are written first, then Delete events remove their exact version (as `ImportSST.Apply`
//! does). Reading resolves each key as MVCC does at the ts: the newest Put or Delete wins,
//! Lock and Rollback records are skipped, a Put without a short value takes its default-CF
//! value at its start ts.

use super::file::{Result, ViewError};
use super::Shared;
use crate::codec::bytes::encode_bytes;
use crate::codec::mvcc::{append_ts, decode_mvcc_key, split_ts};
use crate::codec::write::{WriteRef, WriteType};
use crate::engine::pitr::plan::{plan_replay, ReplayFile};
use crate::format::logfile::{decode_sub_file, events};
use crate::format::logmeta::{EventKind, LogSubFile};
use crate::format::naming::snapshot::Cf;
use futures::StreamExt;
use rocksdb::{DBRawIterator, Options, WriteBatch, WriteOptions, DB};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Tag bytes in front of the stored keys: write-CF and default-CF events.
const WRITE_TAG: u8 = b'w';
const DEFAULT_TAG: u8 = b'd';
/// Flush a write batch at this many bytes.
const BATCH_BYTES: usize = 4 << 20;
/// Sub-files read and decoded at once while building.
const READ_AHEAD: usize = 4;

/// Reads one sub-file's verified plaintext event stream (LOG-FILE-4/5/6/9).
pub(crate) async fn read_sub_file(shared: &Shared, path: &str, f: &LogSubFile) -> Result<Vec<u8>> {
    let storage = shared
        .log_storage
        .as_ref()
        .ok_or_else(|| ViewError::Invalid {
            context: "log sub-file".into(),
            detail: "no --log-storage given".into(),
        })?;
    let bytes = if f.path.is_empty() {
        storage
            .read_range(path, f.range_offset, f.range_length)
            .await?
    } else {
        storage.read(path).await?
    };
    // With `path` set, the bytes read are the whole sub-file (LOG-META-4).
    let mut whole = f.clone();
    whole.path = path.to_string();
    Ok(decode_sub_file(&bytes, &whole, &shared.log_cipher)
        .map_err(|e| e.in_file(path.to_string()))?)
}

/// A built overlay. The RocksDB and its directory are removed on drop.
pub(crate) struct Overlay {
    db: Option<DB>,
    dir: PathBuf,
    /// Events written (Puts) and removed (Deletes) while building.
    pub events: u64,
}

impl Drop for Overlay {
    fn drop(&mut self) {
        self.db.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rocks(e: rocksdb::Error) -> ViewError {
    ViewError::Invalid {
        context: "log overlay".into(),
        detail: e.to_string(),
    }
}

impl Overlay {
    /// Builds the overlay of `ids` (physical ids and the logical id) at `ts`; `None` when no
    /// sub-file of those ids meets the replay window.
    pub fn build(shared: &Shared, ids: &BTreeSet<i64>, ts: u64) -> Result<Option<Overlay>> {
        let plan = plan_replay(&shared.log_files, ids, shared.snapshot_ts, ts);
        if plan.puts.is_empty() && plan.deletes.is_empty() {
            return Ok(None);
        }
        let dir = shared
            .scratch
            .join(format!("overlay-{}", uuid::Uuid::new_v4()));
        let mut o = Options::default();
        o.create_if_missing(true);
        o.set_write_buffer_size(16 << 20);
        o.set_max_write_buffer_number(2);
        o.set_max_background_jobs(1);
        o.set_compression_type(rocksdb::DBCompressionType::None);
        let db = DB::open(&o, &dir).map_err(rocks)?;
        let mut overlay = Overlay {
            db: Some(db),
            dir,
            events: 0,
        };
        // Puts first, then Deletes remove their exact version (LOG-FILE-7 apply order).
        overlay.apply(shared, &plan.puts, ids)?;
        overlay.apply(shared, &plan.deletes, ids)?;
        Ok(Some(overlay))
    }

    fn db(&self) -> &DB {
        self.db.as_ref().expect("open until dropped")
    }

    fn apply(&mut self, shared: &Shared, files: &[ReplayFile], ids: &BTreeSet<i64>) -> Result<()> {
        let mut wo = WriteOptions::default();
        wo.disable_wal(true);
        let mut batch = WriteBatch::default();
        let mut stream = futures::stream::iter(files.iter())
            .map(|r| async move {
                read_sub_file(shared, &r.path, &r.file)
                    .await
                    .map(|s| (r, s))
            })
            .buffered(READ_AHEAD);
        let mut key = Vec::new();
        while let Some(next) = shared.block_on(stream.next()) {
            let (r, plain) = next?;
            let tag = match r.file.cf {
                Cf::Write => WRITE_TAG,
                Cf::Default => DEFAULT_TAG,
                Cf::Lock => continue,
            };
            for ev in events(&plain) {
                let (k, v) = ev.map_err(|e| e.in_file(r.path.clone()))?;
                let (raw, ev_ts) = decode_mvcc_key(k).map_err(ViewError::Codec)?;
                // The restore's window per sub-file (kvproto KVMeta start_ts/restore_ts).
                if ev_ts < r.start_ts || ev_ts > r.restore_ts {
                    continue;
                }
                match crate::codec::table::decode_table_id(&raw) {
                    Some(id) if ids.contains(&id) => {}
                    _ => continue,
                }
                key.clear();
                key.push(tag);
                key.extend_from_slice(k);
                match r.file.kind {
                    EventKind::Put => batch.put(&key, v),
                    EventKind::Delete => batch.delete(&key),
                }
                self.events += 1;
                if batch.size_in_bytes() >= BATCH_BYTES {
                    self.db()
                        .write_opt(std::mem::take(&mut batch), &wo)
                        .map_err(rocks)?;
                }
            }
        }
        self.db().write_opt(batch, &wo).map_err(rocks)
    }

    /// The resolved keys in `[lower, upper)` (raw keys; empty `upper` = unbounded), in key
    /// order.
    pub fn iter(&self, lower: &[u8], upper: &[u8]) -> OverlayIter<'_> {
        let mut it = self.db().raw_iterator();
        let mut seek = vec![WRITE_TAG];
        seek.extend_from_slice(&encode_bytes(lower));
        it.seek(&seek);
        OverlayIter {
            overlay: self,
            it,
            upper: upper.to_vec(),
            done: false,
        }
    }
}

/// One resolved key: the raw key and its value at the ts, `None` when deleted.
pub(crate) type Resolved = (Vec<u8>, Option<Vec<u8>>);

pub(crate) struct OverlayIter<'a> {
    overlay: &'a Overlay,
    it: DBRawIterator<'a>,
    upper: Vec<u8>,
    done: bool,
}

impl OverlayIter<'_> {
    fn bad(detail: String) -> ViewError {
        ViewError::Invalid {
            context: "log overlay".into(),
            detail,
        }
    }

    /// The next key that has a Put or Delete at the ts; keys with only Lock/Rollback records
    /// are passed over (the snapshot's version stands).
    pub fn next_resolved(&mut self) -> Result<Option<Resolved>> {
        while !self.done {
            let Some(k) = self.it.key() else {
                self.it.status().map_err(rocks)?;
                self.done = true;
                break;
            };
            if k.first() != Some(&WRITE_TAG) {
                self.done = true;
                break;
            }
            let (enc_user, _) = split_ts(&k[1..]).map_err(ViewError::Codec)?;
            let enc_user = enc_user.to_vec();
            let (raw, _) = decode_mvcc_key(&k[1..]).map_err(ViewError::Codec)?;
            if !self.upper.is_empty() && raw.as_slice() >= self.upper.as_slice() {
                self.done = true;
                break;
            }
            // Versions of this key, newest first.
            let mut decided: Option<Option<Vec<u8>>> = None;
            while let (Some(k), Some(v)) = (self.it.key(), self.it.value()) {
                if k.first() != Some(&WRITE_TAG) || !k[1..].starts_with(&enc_user) {
                    break;
                }
                let (this_user, commit_ts) = split_ts(&k[1..]).map_err(ViewError::Codec)?;
                if this_user != enc_user.as_slice() {
                    break;
                }
                if decided.is_none() {
                    let w = WriteRef::parse(v).map_err(ViewError::Codec)?;
                    match w.write_type {
                        WriteType::Put => {
                            let value = match w.short_value {
                                Some(s) => s.to_vec(),
                                None => {
                                    self.default_value(&enc_user, w.start_ts, commit_ts, &raw)?
                                }
                            };
                            decided = Some(Some(value));
                        }
                        WriteType::Delete => decided = Some(None),
                        WriteType::Lock | WriteType::Rollback => {}
                    }
                }
                self.it.next();
            }
            if let Some(d) = decided {
                return Ok(Some((raw, d)));
            }
        }
        Ok(None)
    }

    fn default_value(
        &self,
        enc_user: &[u8],
        start_ts: u64,
        commit_ts: u64,
        raw: &[u8],
    ) -> Result<Vec<u8>> {
        let mut key = vec![DEFAULT_TAG];
        key.extend_from_slice(&append_ts(enc_user, start_ts));
        self.overlay
            .db()
            .get(&key)
            .map_err(rocks)?
            .ok_or_else(|| {
                Self::bad(format!(
                    "key {} committed at {commit_ts}: its value (default CF at start ts {start_ts}) is not in the log (DATA-4)",
                    hex::encode(raw)
                ))
            })
    }
}
