//! The databases and tables of a view at one ts (VIEW-1): at the snapshot ts from the
//! snapshot's schemas (META-SCHEMA-1) with their backup checksums; at a later ts from the
//! schema replay of `engine::pitr::schema` (the snapshot's schemas plus the log's meta-KV
//! events up to the ts), so tables created, dropped, truncated or renamed after the snapshot
//! come out as they were. Each table carries the snapshot data files of its physical ids and
//! keeps its files once made (so their sparse indexes live as long as the catalog).

use super::file::{BytesFile, Result, ViewError, ViewFile};
use super::lazy::LazyFile;
use super::overlay::{read_sub_file, Overlay};
use super::render::RowFormat;
use super::{Shared, TableFileKind};
use crate::archive::catalog::catalog as snapshot_catalog;
use crate::archive::snapshot::SnapshotArchive;
use crate::cluster::catalog::list_schemas;
use crate::codec::model::{DBInfo, TableInfo};
use crate::engine::pitr::plan::meta_files;
use crate::engine::pitr::ReplayKv;
use crate::engine::EngineError;
use crate::format::checksum::Checksum;
use crate::format::naming::snapshot::Cf;
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

/// The databases and tables at `ts`, sorted by name.
#[derive(Debug)]
pub struct Catalog {
    pub ts: u64,
    pub databases: Vec<ViewDatabase>,
}

/// One database and its tables, sorted by name.
#[derive(Debug)]
pub struct ViewDatabase {
    pub name: String,
    pub tables: Vec<Arc<ViewTable>>,
}

/// One table at the catalog's ts.
pub struct ViewTable {
    pub db: String,
    pub name: String,
    pub info: Arc<TableInfo>,
    pub(crate) data: Arc<TableData>,
    csv: OnceLock<Arc<LazyFile>>,
    jsonl: OnceLock<Arc<LazyFile>>,
    other: [OnceLock<Arc<dyn ViewFile>>; 5],
}

impl std::fmt::Debug for ViewTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewTable")
            .field("db", &self.db)
            .field("name", &self.name)
            .field("id", &self.info.id)
            .field("ts", &self.data.ts)
            .finish()
    }
}

/// What a table's files are made from; shared by them (not by the catalog: no cycle).
pub(crate) struct TableData {
    pub db: String,
    pub name: String,
    pub info: Arc<TableInfo>,
    /// The TableInfo JSON as stored (backupmeta schema or meta-KV value).
    pub json: Vec<u8>,
    pub ts: u64,
    /// True when the view is past the snapshot (log events merged, VIEW-3).
    pub pitr: bool,
    /// CSUM-3: the backup-time checksum (snapshot views only).
    pub snapshot_checksum: Option<Checksum>,
    /// Indexes into `Shared::files`: the snapshot data files of the table's ids.
    pub files: Vec<usize>,
    overlay: Mutex<Option<Arc<Option<Overlay>>>>,
}

impl TableData {
    /// The log overlay of this table at its ts (built once, VIEW-3); `None` for a snapshot
    /// view or when no log event touches the table.
    pub fn overlay(&self, shared: &Shared) -> Result<Arc<Option<Overlay>>> {
        let mut slot = self.overlay.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = slot.as_ref() {
            return Ok(o.clone());
        }
        let o = Arc::new(if self.pitr {
            let mut ids: BTreeSet<i64> = self.info.physical_ids().into_iter().collect();
            ids.insert(self.info.id);
            Overlay::build(shared, &ids, self.ts)?
        } else {
            None
        });
        *slot = Some(o.clone());
        Ok(o)
    }

    pub fn display_name(&self) -> String {
        format!("`{}`.`{}`", self.db, self.name)
    }
}

impl ViewTable {
    fn new(data: TableData) -> ViewTable {
        ViewTable {
            db: data.db.clone(),
            name: data.name.clone(),
            info: data.info.clone(),
            data: Arc::new(data),
            csv: OnceLock::new(),
            jsonl: OnceLock::new(),
            other: Default::default(),
        }
    }

    /// The view's ts of this table.
    pub fn ts(&self) -> u64 {
        self.data.ts
    }

    pub(crate) fn rows_file(&self, shared: &Arc<Shared>, format: RowFormat) -> Arc<LazyFile> {
        let slot = match format {
            RowFormat::Csv => &self.csv,
            RowFormat::Jsonl => &self.jsonl,
        };
        slot.get_or_init(|| {
            Arc::new(LazyFile::new_rows(
                shared.clone(),
                self.data.clone(),
                format,
            ))
        })
        .clone()
    }

    pub(crate) fn file(
        &self,
        shared: &Arc<Shared>,
        kind: TableFileKind,
    ) -> Result<Arc<dyn ViewFile>> {
        Ok(match kind {
            TableFileKind::RowsCsv => self.rows_file(shared, RowFormat::Csv),
            TableFileKind::RowsJsonl => self.rows_file(shared, RowFormat::Jsonl),
            TableFileKind::SchemaSql => self.other[kind.slot()]
                .get_or_init(|| {
                    let mut sql = super::schema_sql::show_create_table(&self.info);
                    sql.push_str(";\n");
                    Arc::new(BytesFile::new(sql.into_bytes()))
                })
                .clone(),
            TableFileKind::TableJson => self.other[kind.slot()]
                .get_or_init(|| {
                    let mut j = self.data.json.clone();
                    j.push(b'\n');
                    Arc::new(BytesFile::new(j))
                })
                .clone(),
            TableFileKind::StatsJson => {
                let csv = self.rows_file(shared, RowFormat::Csv);
                self.other[kind.slot()]
                    .get_or_init(|| {
                        Arc::new(super::stats::StatsFile::new(
                            shared.clone(),
                            self.data.clone(),
                            csv,
                        ))
                    })
                    .clone()
            }
        })
    }
}

impl Catalog {
    /// `db.table`, names compared case-insensitively (as TiDB does).
    pub fn find(&self, db: &str, table: &str) -> Option<Arc<ViewTable>> {
        self.databases
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(db))?
            .tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(table))
            .cloned()
    }

    /// Every table, database by database.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<ViewTable>> {
        self.databases.iter().flat_map(|d| d.tables.iter())
    }
}

fn json_err(what: &str, e: impl std::fmt::Display) -> ViewError {
    ViewError::Engine(EngineError::json(what, e))
}

/// Groups tables by database, both sorted by name; `dbs` lists every database (also empty).
fn assemble(ts: u64, dbs: BTreeSet<String>, tables: Vec<TableData>) -> Catalog {
    let mut by_db: BTreeMap<String, Vec<Arc<ViewTable>>> =
        dbs.into_iter().map(|d| (d, Vec::new())).collect();
    for t in tables {
        by_db
            .entry(t.db.clone())
            .or_default()
            .push(Arc::new(ViewTable::new(t)));
    }
    let databases = by_db
        .into_iter()
        .map(|(name, mut tables)| {
            tables.sort_by(|a, b| a.name.cmp(&b.name));
            ViewDatabase { name, tables }
        })
        .collect();
    Catalog { ts, databases }
}

/// The snapshot's catalog (VIEW-1): its schemas, checksums and files.
pub(crate) fn at_snapshot(shared: &Shared, snap: &SnapshotArchive) -> Result<Catalog> {
    let (entries, _) = snapshot_catalog(snap)?;
    let mut dbs = BTreeSet::new();
    let mut tables = Vec::new();
    for (e, s) in entries.into_iter().zip(&snap.schemas) {
        dbs.insert(e.db.clone());
        let (Some(name), Some(info), Some(json)) = (e.table, e.info, &s.table_json) else {
            continue;
        };
        let mut files = e.files;
        files.sort_unstable();
        tables.push(TableData {
            db: e.db,
            name,
            info: Arc::new(info),
            json: json.clone(),
            ts: shared.snapshot_ts,
            pitr: false,
            snapshot_checksum: Some(e.checksum),
            files,
            overlay: Mutex::new(None),
        });
    }
    Ok(assemble(shared.snapshot_ts, dbs, tables))
}

/// The catalog at a ts past the snapshot, from the replayed schema (VIEW-1).
pub(crate) fn at_ts(shared: &Shared, kv: &ReplayKv, ts: u64) -> Result<Catalog> {
    let schemas = list_schemas(kv, ts)
        .map_err(|e| ViewError::Engine(EngineError::Restore(format!("schema at ts {ts}: {e}"))))?;
    let mut dbs = BTreeSet::new();
    let mut tables = Vec::new();
    for (db_json, table_jsons) in schemas {
        let db = DBInfo::from_json(&db_json).map_err(|e| json_err("DBInfo", e))?;
        dbs.insert(db.db_name.o.clone());
        for json in table_jsons {
            let info = TableInfo::from_json(&json).map_err(|e| json_err("TableInfo", e))?;
            let mut ids = info.physical_ids();
            ids.push(info.id);
            let mut files: Vec<usize> = ids
                .iter()
                .flat_map(|id| shared.files_by_table.get(id).into_iter().flatten().copied())
                .collect();
            files.sort_unstable();
            files.dedup();
            tables.push(TableData {
                db: db.db_name.o.clone(),
                name: info.name.o.clone(),
                info: Arc::new(info),
                json,
                ts,
                pitr: true,
                snapshot_checksum: None,
                files,
                overlay: Mutex::new(None),
            });
        }
    }
    Ok(assemble(ts, dbs, tables))
}

/// The snapshot's schemas plus every meta-KV write with snapshot_ts < commit_ts ≤ `upto`
/// (LOG-FILE-8), multi-versioned so any ts up to `upto` can be listed.
pub(crate) fn replay_schema(
    shared: &Shared,
    snap: &SnapshotArchive,
    upto: u64,
) -> Result<ReplayKv> {
    let snapshot_ts = shared.snapshot_ts;
    let mut kv = ReplayKv::from_snapshot(&snap.schemas, snapshot_ts)?;
    let metas = meta_files(&shared.log_files, snapshot_ts, upto);
    let streams: Vec<(Cf, Vec<u8>)> =
        shared.block_on(
            futures::stream::iter(metas.iter())
                .map(|(p, f)| async move {
                    Ok::<_, ViewError>((f.cf, read_sub_file(shared, p, f).await?))
                })
                .buffered(8)
                .try_collect(),
        )?;
    kv.replay(&streams, snapshot_ts, upto)?;
    Ok(kv)
}
