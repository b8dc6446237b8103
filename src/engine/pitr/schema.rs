//! The schema at the restored ts, from the snapshot's schemas plus the log's meta-KV events:
//! the snapshot's DBInfo/TableInfo JSON seed the TiDB meta keys (KEY-5) at the snapshot ts,
//! then every meta-KV write record with snapshot_ts < commit_ts ≤ restored_ts is replayed in
//! commit order (Put: the short value, or the default-CF value at its start ts; Delete: the
//! key is gone; Lock/Rollback: no change). The catalog's own readers
//! (`cluster::catalog::list_schemas`) then list what exists at the restored ts, so a table
//! created after the snapshot appears, a dropped one does not, and a truncated one (same name,
//! new id) appears under its new id only.

use crate::cluster::catalog::{self, CatalogError, MetaKv};
use crate::codec::model::{DBInfo, TableInfo};
use crate::codec::mvcc::decode_mvcc_key;
use crate::codec::write::{WriteRef, WriteType};
use crate::engine::error::{EngineError, Result};
use crate::format::backupmeta::SchemaEntry;
use crate::format::logfile::events;
use crate::format::naming::snapshot::Cf;
use std::collections::{BTreeMap, HashMap};

/// Raw meta key → (commit ts → value, `None` = deleted).
type Versions = BTreeMap<Vec<u8>, BTreeMap<u64, Option<Vec<u8>>>>;

/// A read-only multi-version [`MetaKv`] built from a snapshot's schemas and log events.
#[derive(Debug, Default, Clone)]
pub struct ReplayKv {
    versions: Versions,
    /// Meta write records replayed.
    pub replayed: u64,
}

/// One table at the restored ts.
#[derive(Debug, Clone)]
pub struct TableAt {
    pub db: DBInfo,
    pub db_json: Vec<u8>,
    pub info: TableInfo,
    pub json: Vec<u8>,
}

impl TableAt {
    pub fn display_name(&self) -> String {
        format!("`{}`.`{}`", self.db.db_name.o, self.info.name.o)
    }
}

fn json_err(what: &str) -> impl FnOnce(crate::codec::CodecError) -> EngineError + '_ {
    move |e| EngineError::json(what, e)
}

impl ReplayKv {
    /// Seeds the meta keys of every database and table of the snapshot at `snapshot_ts`.
    pub fn from_snapshot(schemas: &[SchemaEntry], snapshot_ts: u64) -> Result<ReplayKv> {
        let mut kv = ReplayKv::default();
        for s in schemas {
            let db = DBInfo::from_json(&s.db_json).map_err(json_err("snapshot DBInfo"))?;
            kv.put(
                catalog::db_info_key(db.id),
                snapshot_ts,
                Some(s.db_json.clone()),
            );
            if let Some(tj) = &s.table_json {
                let t = TableInfo::from_json(tj).map_err(json_err("snapshot TableInfo"))?;
                kv.put(
                    catalog::table_info_key(db.id, t.id),
                    snapshot_ts,
                    Some(tj.clone()),
                );
            }
        }
        Ok(kv)
    }

    fn put(&mut self, key: Vec<u8>, ts: u64, v: Option<Vec<u8>>) {
        self.versions.entry(key).or_default().insert(ts, v);
    }

    /// Replays meta-KV events: `writes` and `defaults` are plaintext event streams of
    /// write-CF and default-CF meta sub-files (Puts). Write records with commit ts in
    /// `(after, upto]` change the state.
    pub fn replay(&mut self, streams: &[(Cf, Vec<u8>)], after: u64, upto: u64) -> Result<()> {
        let mut values: HashMap<(Vec<u8>, u64), &[u8]> = HashMap::new();
        let mut writes: Vec<(u64, Vec<u8>, Vec<u8>)> = Vec::new();
        for (cf, stream) in streams {
            for ev in events(stream) {
                let (k, v) = ev?;
                let (raw, ts) = decode_mvcc_key(k)?;
                match cf {
                    Cf::Default if ts <= upto => {
                        values.insert((raw, ts), v);
                    }
                    Cf::Write if ts > after && ts <= upto => writes.push((ts, raw, v.to_vec())),
                    _ => {}
                }
            }
        }
        // Commit order; one key commits at most once per ts.
        writes.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (commit_ts, raw, v) in writes {
            let w = WriteRef::parse(&v)?;
            let value = match w.write_type {
                WriteType::Put => match w.short_value {
                    Some(s) => Some(s.to_vec()),
                    None => Some(
                        values
                            .get(&(raw.clone(), w.start_ts))
                            .ok_or_else(|| {
                                EngineError::Restore(format!(
                                    "meta key {} committed at {commit_ts}: its value (default CF at start ts {}) is not in the log",
                                    String::from_utf8_lossy(&raw),
                                    w.start_ts
                                ))
                            })?
                            .to_vec(),
                    ),
                },
                WriteType::Delete => None,
                WriteType::Lock | WriteType::Rollback => continue,
            };
            self.put(raw, commit_ts, value);
            self.replayed += 1;
        }
        Ok(())
    }

    /// Every table at `ts`, with its database.
    pub fn tables_at(&self, ts: u64) -> Result<Vec<TableAt>> {
        let mut out = Vec::new();
        for (db_json, tables) in catalog::list_schemas(self, ts).map_err(cat_err)? {
            let db = DBInfo::from_json(&db_json).map_err(json_err("DBInfo"))?;
            for json in tables {
                let info = TableInfo::from_json(&json).map_err(json_err("TableInfo"))?;
                out.push(TableAt {
                    db: db.clone(),
                    db_json: db_json.clone(),
                    info,
                    json,
                });
            }
        }
        Ok(out)
    }
}

fn cat_err(e: CatalogError) -> EngineError {
    EngineError::Restore(format!("schema at the restored ts: {e}"))
}

impl MetaKv for ReplayKv {
    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        ts: u64,
    ) -> std::result::Result<Vec<(Vec<u8>, Vec<u8>)>, CatalogError> {
        let range = self.versions.range(start.to_vec()..);
        let mut out = Vec::new();
        for (k, vs) in range {
            if !end.is_empty() && k.as_slice() >= end {
                break;
            }
            if let Some((_, Some(v))) = vs.range(..=ts).next_back() {
                out.push((k.clone(), v.clone()));
            }
        }
        Ok(out)
    }

    fn commit(
        &self,
        _muts: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> std::result::Result<u64, CatalogError> {
        Err(CatalogError::Kv(
            "the replayed schema is read-only".to_string(),
        ))
    }

    fn current_ts(&self) -> std::result::Result<u64, CatalogError> {
        Ok(u64::MAX)
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
