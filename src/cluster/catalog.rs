//! The schema catalog of the embedded cluster, kept in the KV space exactly where TiDB keeps it
//! (KEY-5): `DBs` hash → `DB:<id>` → DBInfo JSON; `DB:<db id>` hash → `Table:<id>` →
//! TableInfo JSON; string keys `NextGlobalID` (the largest id handed out, decimal ASCII, as
//! TiDB's `GenGlobalIDs`) and `SchemaVersionKey` (bumped by every DDL). So schema KVs read
//! from our stores (log backups, raw scans) look like TiDB's.
//!
//! Owns the DDL a restore and the workload need (create database/table, drop table) and the
//! reads (list, find). Works against [`MetaKv`], which the store side implements over raw
//! (not memcomparable) keys; knows no RocksDB, no gRPC. DDL is serialized within the process
//! by one lock (only one process opens a cluster's stores); dropping a table removes its
//! schema entry only, not its rows (TiDB leaves those to GC too). TiDB's schema diffs and
//! auto-id keys (`Diff:<v>`, `TID:<id>`) are not written.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::codec::model::{DBInfo, TableInfo, STATE_PUBLIC};
use crate::codec::table::{
    decode_meta_key, meta_hash_key, meta_string_key, parse_meta_field, prefix_next, MetaField,
    META_HASH_DATA, META_PREFIX,
};
use crate::codec::CodecError;

/// TiDB's meta keys (`pkg/meta/meta.go`).
pub const DBS_KEY: &[u8] = b"DBs";
pub const NEXT_GLOBAL_ID_KEY: &[u8] = b"NextGlobalID";
pub const SCHEMA_VERSION_KEY: &[u8] = b"SchemaVersionKey";

/// The KV access the catalog needs; keys are raw TiDB meta keys.
pub trait MetaKv {
    /// Latest values of raw keys in [start, end) visible at ts.
    fn scan(&self, start: &[u8], end: &[u8], ts: u64) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Commits all puts (Some) / deletes (None) atomically; returns commit ts.
    fn commit(&self, muts: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<u64>;
    fn current_ts(&self) -> Result<u64>;
}

/// What went wrong in the catalog; names the database, table, id or key concerned.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The KV layer failed (the `MetaKv` implementation's message).
    #[error("schema catalog storage: {0}")]
    Kv(String),
    /// A schema JSON (given or stored) does not parse.
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: CodecError,
    },
    #[error("database {name:?} already exists (id {id})")]
    DatabaseExists { name: String, id: i64 },
    #[error("database id {0} does not exist")]
    UnknownDatabase(i64),
    #[error("table {table:?} already exists in database {db:?}")]
    TableExists { db: String, table: String },
    #[error("table id {table_id} does not exist in database id {db_id}")]
    UnknownTable { db_id: i64, table_id: i64 },
    #[error("id {id} of {what} is already used by {used_by}")]
    DuplicateId {
        id: i64,
        what: String,
        used_by: String,
    },
    /// A stored meta value that must be a decimal integer is not.
    #[error("meta key {key}: {reason}")]
    BadCounter { key: String, reason: String },
    #[error("invalid schema: {0}")]
    Invalid(String),
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// Every database (DBInfo JSON) with its tables (TableInfo JSON), as [`list_schemas`] returns.
pub type SchemaList = Vec<(Vec<u8>, Vec<Vec<u8>>)>;

/// Versions of [`MemMetaKv`]: (key, commit ts) → value, `None` = deleted.
type Versions = BTreeMap<(Vec<u8>, u64), Option<Vec<u8>>>;

impl CatalogError {
    /// For `MetaKv` implementations.
    pub fn kv(e: impl std::fmt::Display) -> CatalogError {
        CatalogError::Kv(e.to_string())
    }
}

fn json_err(what: impl Into<String>) -> impl FnOnce(CodecError) -> CatalogError {
    let what = what.into();
    move |source| CatalogError::Json { what, source }
}

/// Serializes DDL in this process (read, allocate, commit must not interleave).
static DDL: Mutex<()> = Mutex::new(());

fn db_field(id: i64) -> Vec<u8> {
    format!("DB:{id}").into_bytes()
}

fn table_field(id: i64) -> Vec<u8> {
    format!("Table:{id}").into_bytes()
}

/// The raw key of database `id`'s info (KEY-5).
pub fn db_info_key(id: i64) -> Vec<u8> {
    meta_hash_key(DBS_KEY, &db_field(id))
}

/// The raw key of table `table_id`'s info in database `db_id` (KEY-5).
pub fn table_info_key(db_id: i64, table_id: i64) -> Vec<u8> {
    meta_hash_key(&db_field(db_id), &table_field(table_id))
}

/// [start, end) of every field of hash `key`.
fn hash_range(key: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut start = meta_hash_key(key, b"");
    // meta_hash_key appends EncodeBytes("") (9 bytes); the hash prefix ends before it.
    start.truncate(start.len() - 9);
    debug_assert_eq!(start[0], META_PREFIX);
    debug_assert_eq!(start[start.len() - 8..], META_HASH_DATA.to_be_bytes());
    let end = prefix_next(&start);
    (start, end)
}

fn get(kv: &dyn MetaKv, key: &[u8], ts: u64) -> Result<Option<Vec<u8>>> {
    let mut end = key.to_vec();
    end.push(0);
    Ok(kv
        .scan(key, &end, ts)?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v))
}

/// A decimal counter (`NextGlobalID`, `SchemaVersionKey`); absent = 0.
fn read_counter(kv: &dyn MetaKv, key: &[u8], ts: u64) -> Result<i64> {
    let Some(v) = get(kv, &meta_string_key(key), ts)? else {
        return Ok(0);
    };
    std::str::from_utf8(&v)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| CatalogError::BadCounter {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: format!(
                "value {:?} is not a decimal integer",
                String::from_utf8_lossy(&v)
            ),
        })
}

fn counter_put(key: &[u8], v: i64) -> (Vec<u8>, Option<Vec<u8>>) {
    (meta_string_key(key), Some(v.to_string().into_bytes()))
}

/// The schema version at `ts` (0 before the first DDL).
pub fn schema_version(kv: &dyn MetaKv, ts: u64) -> Result<i64> {
    read_counter(kv, SCHEMA_VERSION_KEY, ts)
}

/// Fields of hash `key` at `ts` whose field parses as `DB:`/`Table:` ids, by id.
fn hash_objects(kv: &dyn MetaKv, key: &[u8], ts: u64) -> Result<BTreeMap<i64, Vec<u8>>> {
    let (start, end) = hash_range(key);
    let mut out = BTreeMap::new();
    for (k, v) in kv.scan(&start, &end, ts)? {
        let Ok(mk) = decode_meta_key(&k) else {
            continue;
        };
        match mk.field.as_deref().map(parse_meta_field) {
            Some(MetaField::Db(id)) if key == DBS_KEY => {
                out.insert(id, v);
            }
            Some(MetaField::Table(id)) if key != DBS_KEY => {
                out.insert(id, v);
            }
            _ => {} // TID:, Names, ...: not schema objects
        }
    }
    Ok(out)
}

fn parse_db(id: i64, json: &[u8]) -> Result<DBInfo> {
    DBInfo::from_json(json).map_err(json_err(format!("stored info of database id {id}")))
}

fn parse_table(db_id: i64, id: i64, json: &[u8]) -> Result<TableInfo> {
    TableInfo::from_json(json).map_err(json_err(format!(
        "stored info of table id {id} in database id {db_id}"
    )))
}

/// Databases at `ts` by id, parsed and raw.
fn databases(kv: &dyn MetaKv, ts: u64) -> Result<Vec<(DBInfo, Vec<u8>)>> {
    hash_objects(kv, DBS_KEY, ts)?
        .into_iter()
        .map(|(id, v)| Ok((parse_db(id, &v)?, v)))
        .collect()
}

/// Tables of database `db_id` at `ts` by id, parsed and raw.
fn tables(kv: &dyn MetaKv, db_id: i64, ts: u64) -> Result<Vec<(TableInfo, Vec<u8>)>> {
    hash_objects(kv, &db_field(db_id), ts)?
        .into_iter()
        .map(|(id, v)| Ok((parse_table(db_id, id, &v)?, v)))
        .collect()
}

/// Every id in use at `ts` (databases, tables, partitions) and what uses it.
fn used_ids(kv: &dyn MetaKv, ts: u64) -> Result<BTreeMap<i64, String>> {
    let mut used = BTreeMap::new();
    for (db, _) in databases(kv, ts)? {
        used.insert(db.id, format!("database {:?}", db.db_name.o));
        for (t, _) in tables(kv, db.id, ts)? {
            used.insert(t.id, format!("table {}.{}", db.db_name.o, t.name.o));
            for p in t.partition.iter().flat_map(|p| &p.definitions) {
                let what = format!("partition {} of {}.{}", p.name.o, db.db_name.o, t.name.o);
                used.insert(p.id, what);
            }
        }
    }
    Ok(used)
}

/// `NextGlobalID` as TiDB's `GenGlobalIDs`: the stored value is the largest id handed out.
struct IdAlloc {
    last: i64,
    changed: bool,
}

impl IdAlloc {
    fn read(kv: &dyn MetaKv, ts: u64) -> Result<IdAlloc> {
        Ok(IdAlloc {
            last: read_counter(kv, NEXT_GLOBAL_ID_KEY, ts)?,
            changed: false,
        })
    }

    fn next(&mut self) -> i64 {
        self.last += 1;
        self.changed = true;
        self.last
    }

    /// An id given explicitly: later allocations go above it.
    fn rebase(&mut self, id: i64) {
        if id > self.last {
            self.last = id;
            self.changed = true;
        }
    }

    /// The id to use: `id` when non-zero (checked against `used`), else a new one.
    fn assign(&mut self, id: i64, what: &str, used: &mut BTreeMap<i64, String>) -> Result<i64> {
        let id = if id == 0 {
            self.next()
        } else {
            if id < 0 {
                return Err(CatalogError::Invalid(format!(
                    "{what} has negative id {id}"
                )));
            }
            if let Some(by) = used.get(&id) {
                return Err(CatalogError::DuplicateId {
                    id,
                    what: what.to_string(),
                    used_by: by.clone(),
                });
            }
            self.rebase(id);
            id
        };
        used.insert(id, what.to_string());
        Ok(id)
    }

    fn put(&self, muts: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        if self.changed {
            muts.push(counter_put(NEXT_GLOBAL_ID_KEY, self.last));
        }
    }
}

/// Adds the schema version bump every DDL commits with.
fn bump_version(
    kv: &dyn MetaKv,
    ts: u64,
    muts: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>,
) -> Result<()> {
    let v = schema_version(kv, ts)?;
    muts.push(counter_put(SCHEMA_VERSION_KEY, v + 1));
    Ok(())
}

fn set_public(extra: &mut serde_json::Map<String, Value>) {
    extra.insert("state".into(), Value::from(STATE_PUBLIC));
}

fn normalize_name(o: &str, what: &str) -> Result<String> {
    if o.is_empty() {
        return Err(CatalogError::Invalid(format!("{what} has no name")));
    }
    Ok(o.to_lowercase())
}

/// Creates a database from DBInfo JSON (id allocated when 0, state public) and returns the
/// stored JSON. A database with the same name (case-insensitive) is an error, unless
/// `if_not_exists`, which returns the existing one unchanged.
pub fn create_database(kv: &dyn MetaKv, db_json: &[u8], if_not_exists: bool) -> Result<Vec<u8>> {
    let _ddl = DDL.lock().unwrap_or_else(|e| e.into_inner());
    let mut db = DBInfo::from_json(db_json).map_err(json_err("database info to create"))?;
    db.db_name.l = normalize_name(&db.db_name.o, "database")?;
    let ts = kv.current_ts()?;
    if let Some((old, raw)) = databases(kv, ts)?
        .into_iter()
        .find(|(d, _)| d.db_name.l == db.db_name.l)
    {
        if if_not_exists {
            return Ok(raw);
        }
        return Err(CatalogError::DatabaseExists {
            name: old.db_name.o,
            id: old.id,
        });
    }
    let mut alloc = IdAlloc::read(kv, ts)?;
    let mut used = if db.id == 0 {
        BTreeMap::new()
    } else {
        used_ids(kv, ts)?
    };
    db.id = alloc.assign(db.id, &format!("database {:?}", db.db_name.o), &mut used)?;
    set_public(&mut db.extra);
    let json = db.to_json();
    let mut muts = vec![(db_info_key(db.id), Some(json.clone()))];
    alloc.put(&mut muts);
    bump_version(kv, ts, &mut muts)?;
    kv.commit(muts)?;
    Ok(json)
}

/// Creates a table in database `db_id` from TableInfo JSON: the table id and every partition
/// id that is 0 are allocated (table first, then partitions in order, as TiDB's
/// `GenGlobalIDs`), explicit ids must be unused; state public; other fields kept as given
/// (MODEL-1). Returns the stored JSON. A table of the same name in the database is an error.
pub fn create_table(kv: &dyn MetaKv, db_id: i64, table_json: &[u8]) -> Result<Vec<u8>> {
    let _ddl = DDL.lock().unwrap_or_else(|e| e.into_inner());
    let mut t = TableInfo::from_json(table_json).map_err(json_err("table info to create"))?;
    t.name.l = normalize_name(&t.name.o, "table")?;
    let ts = kv.current_ts()?;
    let db_raw = get(kv, &db_info_key(db_id), ts)?.ok_or(CatalogError::UnknownDatabase(db_id))?;
    let db = parse_db(db_id, &db_raw)?;
    if tables(kv, db_id, ts)?
        .iter()
        .any(|(o, _)| o.name.l == t.name.l)
    {
        return Err(CatalogError::TableExists {
            db: db.db_name.o,
            table: t.name.o,
        });
    }
    let parts = t.partition.iter().flat_map(|p| &p.definitions);
    let explicit = t.id != 0 || parts.clone().any(|p| p.id != 0);
    let mut used = if explicit {
        used_ids(kv, ts)?
    } else {
        BTreeMap::new()
    };
    let mut alloc = IdAlloc::read(kv, ts)?;
    let full = format!("table {}.{}", db.db_name.o, t.name.o);
    t.id = alloc.assign(t.id, &full, &mut used)?;
    if let Some(p) = t.partition.as_mut() {
        for d in &mut p.definitions {
            d.id = alloc.assign(
                d.id,
                &format!("partition {} of {full}", d.name.o),
                &mut used,
            )?;
        }
    }
    set_public(&mut t.extra);
    let json = t.to_json();
    let mut muts = vec![(table_info_key(db_id, t.id), Some(json.clone()))];
    alloc.put(&mut muts);
    bump_version(kv, ts, &mut muts)?;
    kv.commit(muts)?;
    Ok(json)
}

/// Removes table `table_id`'s schema entry from database `db_id` (its rows stay until GC).
pub fn drop_table(kv: &dyn MetaKv, db_id: i64, table_id: i64) -> Result<()> {
    let _ddl = DDL.lock().unwrap_or_else(|e| e.into_inner());
    let ts = kv.current_ts()?;
    let key = table_info_key(db_id, table_id);
    if get(kv, &key, ts)?.is_none() {
        return Err(CatalogError::UnknownTable { db_id, table_id });
    }
    let mut muts = vec![(key, None)];
    bump_version(kv, ts, &mut muts)?;
    kv.commit(muts)?;
    Ok(())
}

/// Every database at `ts` with its tables (JSON as stored), databases and tables by id.
pub fn list_schemas(kv: &dyn MetaKv, ts: u64) -> Result<SchemaList> {
    databases(kv, ts)?
        .into_iter()
        .map(|(db, raw)| {
            let ts_json = tables(kv, db.id, ts)?.into_iter().map(|(_, j)| j).collect();
            Ok((raw, ts_json))
        })
        .collect()
}

/// The database named `db_name` (case-insensitive) at `ts`.
pub fn find_database(kv: &dyn MetaKv, ts: u64, db_name: &str) -> Result<Option<DBInfo>> {
    let l = db_name.to_lowercase();
    Ok(databases(kv, ts)?
        .into_iter()
        .map(|(d, _)| d)
        .find(|d| d.db_name.l == l))
}

/// The table `db_name`.`table_name` (case-insensitive) at `ts`.
pub fn find_table(
    kv: &dyn MetaKv,
    ts: u64,
    db_name: &str,
    table_name: &str,
) -> Result<Option<(DBInfo, TableInfo)>> {
    let Some(db) = find_database(kv, ts, db_name)? else {
        return Ok(None);
    };
    let l = table_name.to_lowercase();
    let t = tables(kv, db.id, ts)?
        .into_iter()
        .map(|(t, _)| t)
        .find(|t| t.name.l == l);
    Ok(t.map(|t| (db, t)))
}

/// An in-memory multi-version [`MetaKv`] (tests, and tools that need a catalog without a
/// store). Commit ts are 1, 2, 3, ...; `current_ts` is the last commit ts.
#[derive(Debug, Default)]
pub struct MemMetaKv {
    inner: Mutex<(u64, Versions)>,
}

impl MetaKv for MemMetaKv {
    fn scan(&self, start: &[u8], end: &[u8], ts: u64) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Versions of a key are in ascending ts order: the last one at or below ts wins.
        let mut latest: BTreeMap<&[u8], &Option<Vec<u8>>> = BTreeMap::new();
        for ((k, v_ts), v) in g.1.range((start.to_vec(), 0)..) {
            if !end.is_empty() && k.as_slice() >= end {
                break;
            }
            if *v_ts <= ts {
                latest.insert(k, v);
            }
        }
        let out = latest
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_vec(), v.clone())))
            .collect();
        Ok(out)
    }

    fn commit(&self, muts: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<u64> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        let ts = g.0;
        for (k, v) in muts {
            g.1.insert((k, ts), v);
        }
        Ok(ts)
    }

    fn current_ts(&self) -> Result<u64> {
        Ok(self.inner.lock().unwrap_or_else(|e| e.into_inner()).0)
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
