//! Reading tables from a cluster without SQL: list a database's tables, dump a table's rows
//! as CSV at a ts, and compute ADMIN CHECKSUM TABLE at a ts (record range and every index
//! range, every partition; RANGE-*), all from the catalog's TableInfo at that ts.
//! `truncate_table` is TRUNCATE TABLE (drop, then the same definition with new ids).

use crate::cluster::ClusterClient;
use crate::codec::model::HandleKind;
use crate::codec::model::{DBInfo, TableInfo};
use crate::codec::table::{record_range_common, record_range_int};
use crate::engine::error::{EngineError, Result};
use crate::engine::ranges::table_range_pairs;
use crate::format::checksum::Checksum;
use std::io::Write;

/// The read ts: `ts`, or now when 0.
async fn read_ts(client: &ClusterClient, ts: u64) -> Result<u64> {
    Ok(if ts == 0 { client.tso().await? } else { ts })
}

/// Table names of `db` at `ts` (0 = now), sorted.
pub async fn list_tables(client: &ClusterClient, db: &str, ts: u64) -> Result<Vec<String>> {
    let ts = read_ts(client, ts).await?;
    let (dbs, _) = client.list_schemas(ts).await?;
    for d in &dbs {
        let info = DBInfo::from_json(&d.db_info).map_err(|e| EngineError::json("DBInfo", e))?;
        if info.db_name.l == db.to_lowercase() {
            let mut names = d
                .tables
                .iter()
                .map(|t| {
                    TableInfo::from_json(t)
                        .map(|t| t.name.o)
                        .map_err(|e| EngineError::json("TableInfo", e))
                })
                .collect::<Result<Vec<_>>>()?;
            names.sort();
            return Ok(names);
        }
    }
    Err(EngineError::BadOption {
        flag: "--db",
        detail: format!("database {db} does not exist at ts {ts}"),
    })
}

/// The TableInfo of `db.table` at `ts`.
pub async fn find_table(
    client: &ClusterClient,
    db: &str,
    table: &str,
    ts: u64,
) -> Result<TableInfo> {
    let (dbs, _) = client.list_schemas(ts).await?;
    for d in &dbs {
        let info = DBInfo::from_json(&d.db_info).map_err(|e| EngineError::json("DBInfo", e))?;
        if info.db_name.l != db.to_lowercase() {
            continue;
        }
        for t in &d.tables {
            let ti = TableInfo::from_json(t).map_err(|e| EngineError::json("TableInfo", e))?;
            if ti.name.l == table.to_lowercase() {
                return Ok(ti);
            }
        }
    }
    Err(EngineError::BadOption {
        flag: "--table",
        detail: format!("table {db}.{table} does not exist at ts {ts}"),
    })
}

/// ADMIN CHECKSUM TABLE at `ts` (0 = now).
pub async fn checksum(
    client: &ClusterClient,
    db: &str,
    table: &str,
    ts: u64,
) -> Result<(Checksum, u64)> {
    let ts = read_ts(client, ts).await?;
    let info = find_table(client, db, table, ts).await?;
    let ranges = table_range_pairs(&info)?;
    Ok((client.checksum(&ranges, ts, &[]).await?, ts))
}

/// Writes the rows of `db.table` at `ts` (0 = now) as CSV; returns (rows, ts).
pub async fn dump(
    client: &ClusterClient,
    db: &str,
    table: &str,
    ts: u64,
    out: Box<dyn Write + Send>,
) -> Result<(u64, u64)> {
    let ts = read_ts(client, ts).await?;
    let info = find_table(client, db, table, ts).await?;
    let common = matches!(info.handle_kind()?, HandleKind::Common { .. });
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, Vec<u8>)>(4096);
    let dinfo = info.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::new(out);
        let n = super::workload::dump_csv(&dinfo, rx, &mut out);
        let flushed = out.flush();
        (n, flushed)
    });
    let mut scan_err = None;
    for pid in info.physical_ids() {
        let r = if common {
            record_range_common(pid)
        } else {
            record_range_int(pid)
        };
        let res = client
            .scan(&r.start, &r.end, ts, |k, v| {
                tx.send((k, v)).map_err(|_| {
                    crate::cluster::ClusterError::Invalid("the CSV writer stopped".into())
                })
            })
            .await;
        if let Err(e) = res {
            scan_err = Some(e);
            break;
        }
    }
    drop(tx);
    let (n, flushed) = writer
        .await
        .map_err(|e| EngineError::Backup(e.to_string()))?;
    let n = n.map_err(|e| EngineError::BadOption {
        flag: "--table",
        detail: e.to_string(),
    })?;
    flushed?;
    if let Some(e) = scan_err {
        return Err(e.into());
    }
    Ok((n, ts))
}

/// TRUNCATE TABLE as TiDB does it: drop `db.table` and create the same definition with new
/// ids (the table's and every partition's), so the old rows stay behind under the old ids
/// and the table reads empty. Returns the new TableInfo.
pub async fn truncate_table(client: &ClusterClient, db: &str, table: &str) -> Result<TableInfo> {
    let old = find_table(client, db, table, 0).await?;
    let (dbs, _) = client.list_schemas(0).await?;
    let mut db_id = None;
    for d in &dbs {
        let info = DBInfo::from_json(&d.db_info).map_err(|e| EngineError::json("DBInfo", e))?;
        if info.db_name.l == db.to_lowercase() {
            db_id = Some(info.id);
        }
    }
    let db_id = db_id.ok_or_else(|| EngineError::BadOption {
        flag: "--db",
        detail: format!("database {db} does not exist"),
    })?;
    client.drop_table(db_id, old.id).await?;
    let mut fresh = old.clone();
    fresh.id = 0;
    if let Some(p) = fresh.partition.as_mut() {
        for d in &mut p.definitions {
            d.id = 0;
        }
    }
    let stored = client.create_table(db_id, fresh.to_json()).await?;
    TableInfo::from_json(&stored).map_err(|e| EngineError::json("TableInfo", e))
}
