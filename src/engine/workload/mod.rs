//! The workload generator and the SQL-free table readers behind `brtool workload` and
//! `brtool table`: TiDB-compatible schemas (`schema`), deterministic rows with every KV TiDB
//! writes for them (`rows`), and CSV dumps plus checksum ranges (`dump`). Pure: no I/O beyond
//! the caller's `Write`, no async, no cluster calls; the CLI feeds the cluster client.
//! Uses `codec` only.

mod dump;
mod rows;
mod schema;

#[cfg(test)]
mod tests;

mod driver;
pub use driver::{db_json, load, run, LoadSummary, RunSummary};
pub use dump::{checksum_ranges, dump_csv, write_csv_field, write_csv_header, write_csv_row};
pub use rows::{
    delete_kvs, encode_row, generate_row, handle_of, physical_id_of, row_kvs, update_kvs,
    GeneratedRow,
};
pub use schema::{schema, ALL_TYPES, EVENTS, METRICS, METRICS_PARTITIONS, ORDERS};

use crate::codec::CodecError;

/// What `brtool workload load` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSpec {
    /// Database name (the tables' schema).
    pub db: String,
    /// Number of sysbench tables `sbtest1..sbtestN`.
    pub tables: usize,
    /// Rows per table (row numbers `1..=rows`).
    pub rows: u64,
    pub seed: u64,
}

/// One table to create: its name and TableInfo JSON as TiDB writes it, with table and
/// partition ids 0 (to be allocated) and column/index ids set.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    pub info: serde_json::Value,
}

/// Raw (key, value) pairs.
pub type Kvs = Vec<(Vec<u8>, Vec<u8>)>;

/// One transaction's changes for `workload run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mutation {
    pub puts: Kvs,
    pub deletes: Vec<Vec<u8>>,
}

/// Errors of the workload generator and readers.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("table {0}: not a workload table (sbtestN, orders_clustered, events_rowid, metrics_part, all_types)")]
    UnknownTable(String),
    #[error("table {table}: {detail}")]
    Schema { table: String, detail: String },
    #[error("row number {0} does not fit a handle (at most i64::MAX)")]
    RowOutOfRange(u64),
    #[error("row at key {key}: {source}")]
    Row { key: String, source: CodecError },
    #[error("table {table}: key {key} belongs to another table")]
    ForeignKey { table: String, key: String },
    #[error("writing CSV: {0}")]
    Io(#[from] std::io::Error),
}
