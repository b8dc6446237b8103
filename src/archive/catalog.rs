//! What a snapshot archive holds, by database and table: names and ids from the schema JSON
//! (META-SCHEMA-1), checksums, and which data files belong to which table (DATA-3).

use super::snapshot::SnapshotArchive;
use crate::format::checksum::Checksum;
use crate::format::FormatError;
use serde_json::Value;
use std::collections::BTreeMap;

/// BR's prefix for system databases stored under a temporary name (META-SCHEMA-1).
pub const TEMPORARY_DB_PREFIX: &str = "__TiDB_BR_Temporary_";

/// One table (or an empty database when `table` is `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    pub db: String,
    pub db_id: i64,
    pub table: Option<String>,
    pub table_id: i64,
    /// The table id, or every partition id for a partitioned table (DATA-3).
    pub physical_ids: Vec<i64>,
    /// CSUM-3: the checksum recorded at backup time.
    pub checksum: Checksum,
    /// Indexes into [`SnapshotArchive::files`].
    pub files: Vec<usize>,
}

fn name_of(v: &Value, field: &str) -> Option<String> {
    v.get(field)?.get("O")?.as_str().map(str::to_string)
}

fn parse_json(bytes: &[u8], what: &str) -> Result<Value, FormatError> {
    serde_json::from_slice(bytes).map_err(|e| {
        FormatError::invalid(
            "META-SCHEMA-1",
            what.to_string(),
            format!("not valid JSON: {e}"),
        )
    })
}

/// Builds the catalog; files are attached by the table id of their raw start key (DATA-3).
/// Files whose id matches no table are returned separately (verify reports them).
pub fn catalog(archive: &SnapshotArchive) -> Result<(Vec<TableEntry>, Vec<usize>), FormatError> {
    let mut tables = Vec::new();
    let mut by_physical: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, s) in archive.schemas.iter().enumerate() {
        let db = parse_json(&s.db_json, &format!("schema #{i} field db"))?;
        let db_name = name_of(&db, "db_name").unwrap_or_default();
        let db_id = db.get("id").and_then(Value::as_i64).unwrap_or_default();
        let (table, table_id, physical_ids) = match &s.table_json {
            None => (None, 0, Vec::new()),
            Some(t) => {
                let t = parse_json(t, &format!("schema #{i} field table"))?;
                let id = t.get("id").and_then(Value::as_i64).ok_or_else(|| {
                    FormatError::invalid(
                        "META-SCHEMA-1",
                        format!("schema #{i} field table"),
                        "TableInfo has no integer id",
                    )
                })?;
                let parts: Vec<i64> = t
                    .get("partition")
                    .and_then(|p| p.get("definitions"))
                    .and_then(Value::as_array)
                    .map(|defs| {
                        defs.iter()
                            .filter_map(|d| d.get("id").and_then(Value::as_i64))
                            .collect()
                    })
                    .unwrap_or_default();
                let physical = if parts.is_empty() { vec![id] } else { parts };
                (name_of(&t, "name"), id, physical)
            }
        };
        for id in &physical_ids {
            by_physical.insert(*id, tables.len());
        }
        tables.push(TableEntry {
            db: db_name,
            db_id,
            table,
            table_id,
            physical_ids,
            checksum: s.checksum,
            files: Vec::new(),
        });
    }
    let mut orphans = Vec::new();
    for (fi, f) in archive.files.iter().enumerate() {
        match crate::codec::table::decode_table_id(&f.start_key).and_then(|id| by_physical.get(&id))
        {
            Some(&ti) => tables[ti].files.push(fi),
            None => orphans.push(fi),
        }
    }
    Ok((tables, orphans))
}
