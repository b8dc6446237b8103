//! Restore planning: which archive tables to restore, creating them with new ids (refusing or
//! replacing an existing non-empty table as told), the `t{old}` → `t{new}` rewrite rules per
//! physical table (REWRITE-3; partitions matched by name), and the archive's files grouped by
//! range (a range's `default` and `write` SSTs are ingested together).

use crate::archive::catalog::TableEntry;
use crate::archive::snapshot::SnapshotArchive;
use crate::cluster::ClusterClient;
use crate::codec::model::{DBInfo, TableInfo};
use crate::codec::table::{table_rule, RewriteRule};
use crate::engine::error::{EngineError, Result};
use crate::engine::filter::TableFilter;
use crate::engine::ranges::table_range_pairs;
use crate::format::checksum::Checksum;
use std::collections::BTreeMap;

/// What to do when the target already has a table of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistingPolicy {
    /// Refuse if the existing table holds rows (an empty one is replaced).
    Fail,
    /// Drop the existing table and restore in its place.
    Replace,
}

impl ExistingPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fail" => Some(Self::Fail),
            "replace" => Some(Self::Replace),
            _ => None,
        }
    }
}

/// One table being restored.
#[derive(Debug, Clone)]
pub struct RestoreTable {
    pub db: String,
    pub name: String,
    pub db_json: Vec<u8>,
    pub old_info: TableInfo,
    pub table_json: Vec<u8>,
    /// CSUM-3: the archive's table checksum.
    pub checksum: Checksum,
    /// Indexes into the archive's files.
    pub files: Vec<usize>,
    pub new_db_id: i64,
    pub new_info: TableInfo,
    pub rules: Vec<RewriteRule>,
}

impl RestoreTable {
    pub fn display_name(&self) -> String {
        format!("`{}`.`{}`", self.db, self.name)
    }
}

/// The archive's tables the filter selects.
pub fn select(
    archive: &SnapshotArchive,
    entries: &[TableEntry],
    filter: &TableFilter,
) -> Result<Vec<RestoreTable>> {
    let mut out = Vec::new();
    for e in entries {
        let (Some(name), Some(info)) = (&e.table, &e.info) else {
            continue;
        };
        if !filter.matches_table(&e.db, name) {
            continue;
        }
        let schema = archive
            .schemas
            .iter()
            .find(|s| {
                s.table_json
                    .as_ref()
                    .and_then(|j| TableInfo::from_json(j).ok())
                    .is_some_and(|t| t.id == e.table_id)
            })
            .ok_or_else(|| EngineError::Restore(format!("no schema entry for table {name}")))?;
        out.push(RestoreTable {
            db: e.db.clone(),
            name: name.clone(),
            db_json: schema.db_json.clone(),
            old_info: info.clone(),
            table_json: schema.table_json.clone().unwrap_or_default(),
            checksum: e.checksum,
            files: e.files.clone(),
            new_db_id: 0,
            new_info: TableInfo::default(),
            rules: vec![],
        });
    }
    Ok(out)
}

/// The archive JSON with every id the target allocates cleared.
fn with_ids_cleared(json: &[u8], what: &str) -> Result<Vec<u8>> {
    let mut v: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| EngineError::json(what, e))?;
    v["id"] = 0.into();
    if let Some(defs) = v
        .get_mut("partition")
        .and_then(|p| p.get_mut("definitions"))
        .and_then(|d| d.as_array_mut())
    {
        for d in defs {
            d["id"] = 0.into();
        }
    }
    serde_json::to_vec(&v).map_err(|e| EngineError::json(what, e))
}

/// Creates the database (if needed) and the table with new ids; fills ids and rules.
pub async fn create_table(
    client: &ClusterClient,
    t: &mut RestoreTable,
    policy: ExistingPolicy,
) -> Result<()> {
    let db_json = with_ids_cleared(&t.db_json, "DBInfo")?;
    let db: DBInfo = DBInfo::from_json(&client.create_database(db_json, true).await?)
        .map_err(|e| EngineError::json("created DBInfo", e))?;
    t.new_db_id = db.id;
    let (dbs, now) = client.list_schemas(0).await?;
    for d in &dbs {
        let Ok(existing_db) = DBInfo::from_json(&d.db_info) else {
            continue;
        };
        if existing_db.id != db.id {
            continue;
        }
        for tj in &d.tables {
            let Ok(existing) = TableInfo::from_json(tj) else {
                continue;
            };
            if !existing.name.l.eq_ignore_ascii_case(&t.name) {
                continue;
            }
            let mut has_rows = false;
            for (s, e) in table_range_pairs(&existing)? {
                client
                    .scan(&s, &e, now, |_, _| {
                        has_rows = true;
                        Ok(())
                    })
                    .await?;
                if has_rows {
                    break;
                }
            }
            if has_rows && policy == ExistingPolicy::Fail {
                return Err(EngineError::Restore(format!(
                    "table {} already exists in the target and is not empty; drop it first or pass --on-existing replace",
                    t.display_name()
                )));
            }
            client.drop_table(db.id, existing.id).await?;
        }
    }
    let json = with_ids_cleared(&t.table_json, "TableInfo")?;
    let stored = client.create_table(db.id, json).await?;
    t.new_info =
        TableInfo::from_json(&stored).map_err(|e| EngineError::json("created TableInfo", e))?;
    t.rules = rules_for(&t.old_info, &t.new_info)?;
    Ok(())
}

/// REWRITE-3 table rules: the table id, and each partition matched by name.
pub fn rules_for(old: &TableInfo, new: &TableInfo) -> Result<Vec<RewriteRule>> {
    let mut rules = vec![table_rule(old.id, new.id)];
    if let (Some(op), Some(np)) = (&old.partition, &new.partition) {
        for od in &op.definitions {
            let nd = np
                .definitions
                .iter()
                .find(|d| d.name.l == od.name.l)
                .ok_or_else(|| {
                    EngineError::Restore(format!("partition {} missing after create", od.name.o))
                })?;
            rules.push(table_rule(od.id, nd.id));
        }
    }
    Ok(rules)
}

/// Files grouped by (start key, end key), each group in name order.
pub fn file_groups(archive: &SnapshotArchive, files: &[usize]) -> Vec<Vec<usize>> {
    let mut g: BTreeMap<(&[u8], &[u8]), Vec<usize>> = BTreeMap::new();
    for &i in files {
        let f = &archive.files[i];
        g.entry((&f.start_key, &f.end_key)).or_default().push(i);
    }
    g.into_values().collect()
}
