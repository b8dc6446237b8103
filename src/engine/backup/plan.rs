//! Which tables a backup covers, read from the catalog at the backup ts and selected by the
//! table filter, each with its ranges (RANGE-*), and databases selected whole with no table
//! (recorded as empty-database schema entries, META-SCHEMA-1).

use crate::codec::model::{DBInfo, TableInfo};
use crate::engine::error::{EngineError, Result};
use crate::engine::filter::TableFilter;
use crate::engine::ranges::table_range_pairs;
use crate::proto::brkitpb::DatabaseSchema;

/// One table to back up.
#[derive(Debug, Clone)]
pub struct PlannedTable {
    pub db: String,
    pub name: String,
    pub db_json: Vec<u8>,
    pub table_json: Vec<u8>,
    pub info: TableInfo,
    /// Raw ranges, sorted.
    pub ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl PlannedTable {
    pub fn display_name(&self) -> String {
        format!("`{}`.`{}`", self.db, self.name)
    }
}

/// Selects tables; returns them, the JSON of selected databases without tables, and a
/// description of the selection (for the checkpoint's config hash).
pub fn plan_tables(
    dbs: &[DatabaseSchema],
    filter: &TableFilter,
) -> Result<(Vec<PlannedTable>, Vec<Vec<u8>>, String)> {
    let mut tables = Vec::new();
    let mut empty = Vec::new();
    for d in dbs {
        let db: DBInfo = DBInfo::from_json(&d.db_info)
            .map_err(|e| EngineError::json("a database's DBInfo", e))?;
        let db_name = db.db_name.o.clone();
        let mut any = false;
        for t in &d.tables {
            let info = TableInfo::from_json(t)
                .map_err(|e| EngineError::json(format!("a TableInfo in database {db_name}"), e))?;
            if !filter.matches_table(&db_name, &info.name.o) {
                continue;
            }
            any = true;
            tables.push(PlannedTable {
                db: db_name.clone(),
                name: info.name.o.clone(),
                db_json: d.db_info.clone(),
                table_json: t.clone(),
                ranges: table_range_pairs(&info)?,
                info,
            });
        }
        if !any && d.tables.is_empty() && filter.matches_db(&db_name) {
            empty.push(d.db_info.clone());
        }
    }
    tables.sort_by(|a, b| a.ranges.first().cmp(&b.ranges.first()));
    let desc = tables
        .iter()
        .map(|t| format!("{}.{}:{}", t.db, t.name, t.info.id))
        .collect::<Vec<_>>()
        .join(",");
    Ok((tables, empty, desc))
}

/// The table whose ranges hold raw key `k`.
pub fn table_of(tables: &[PlannedTable], k: &[u8]) -> Option<usize> {
    tables.iter().position(|t| {
        t.ranges
            .iter()
            .any(|(s, e)| k >= s.as_slice() && (e.is_empty() || k < e.as_slice()))
    })
}
