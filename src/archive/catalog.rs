//! What a snapshot archive holds, by database and table: names and ids from the schema JSON
//! (META-SCHEMA-1), checksums, and which data files belong to which table (DATA-3).

use super::snapshot::SnapshotArchive;
use crate::codec::model::{DBInfo, TableInfo};
use crate::format::checksum::Checksum;
use crate::format::FormatError;
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
    /// The decoded TableInfo (`None` for an empty database).
    pub info: Option<TableInfo>,
}

fn invalid_json(what: String, e: impl std::fmt::Display) -> FormatError {
    FormatError::invalid("META-SCHEMA-1", what, format!("not valid JSON: {e}"))
}

/// Builds the catalog, one entry per schema entry and in the same order (callers pair them by
/// index); files are attached by the table id of their raw start key (DATA-3).
/// Files whose id matches no table are returned separately (verify reports them).
pub fn catalog(archive: &SnapshotArchive) -> Result<(Vec<TableEntry>, Vec<usize>), FormatError> {
    let mut tables = Vec::new();
    let mut by_physical: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, s) in archive.schemas.iter().enumerate() {
        let db: DBInfo = serde_json::from_slice(&s.db_json)
            .map_err(|e| invalid_json(format!("schema #{i} field db"), e))?;
        let info = match &s.table_json {
            None => None,
            Some(t) => {
                let t = TableInfo::from_json(t)
                    .map_err(|e| invalid_json(format!("schema #{i} field table"), e))?;
                if t.id == 0 {
                    return Err(FormatError::invalid(
                        "META-SCHEMA-1",
                        format!("schema #{i} field table"),
                        "TableInfo has no integer id",
                    ));
                }
                Some(t)
            }
        };
        let physical_ids = info
            .as_ref()
            .map(TableInfo::physical_ids)
            .unwrap_or_default();
        for id in &physical_ids {
            by_physical.insert(*id, tables.len());
        }
        // A partitioned table's global indexes live under the logical id (RANGE-3).
        if let Some(t) = &info {
            by_physical.entry(t.id).or_insert(tables.len());
        }
        tables.push(TableEntry {
            db: db.db_name.o,
            db_id: db.id,
            table: info.as_ref().map(|t| t.name.o.clone()),
            table_id: info.as_ref().map_or(0, |t| t.id),
            physical_ids,
            checksum: s.checksum,
            files: Vec::new(),
            info,
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
