//! The workload's tables as TiDB's `CREATE TABLE` would record them: TableInfo JSON with every
//! field TiDB writes (MODEL-1 … MODEL-6), column and index ids set, table and partition ids 0
//! (the placement service allocates them). Owns the column layout of each workload table;
//! values are `rows.rs`'s.

use serde_json::{json, Value};

use super::{TableDef, WorkloadSpec};
use crate::codec::mysql::{flag as f, tp};

/// `ORDERS`, `EVENTS`, `METRICS`, `ALL_TYPES`: names of the special tables.
pub const ORDERS: &str = "orders_clustered";
pub const EVENTS: &str = "events_rowid";
pub const METRICS: &str = "metrics_part";
pub const ALL_TYPES: &str = "all_types";
/// Partitions of `metrics_part` (`PARTITION BY HASH(id) PARTITIONS 4`).
pub const METRICS_PARTITIONS: u64 = 4;

/// One column as `CREATE TABLE` describes it.
struct Col {
    name: &'static str,
    tp: u8,
    flag: u32,
    flen: i64,
    decimal: i64,
    /// `None`: charset/collation `binary`; `Some(c)`: utf8mb4 with collation `c`.
    collate: Option<&'static str>,
    elems: Option<&'static [&'static str]>,
    default: Option<&'static str>,
}

const fn c(name: &'static str, tp: u8, flag: u32, flen: i64, decimal: i64) -> Col {
    Col {
        name,
        tp,
        flag,
        flen,
        decimal,
        collate: None,
        elems: None,
        default: None,
    }
}

/// A utf8mb4_bin string column (TiDB's default collation for new clusters).
const fn s(name: &'static str, tp: u8, flag: u32, flen: i64) -> Col {
    Col {
        collate: Some("utf8mb4_bin"),
        ..c(name, tp, flag, flen, 0)
    }
}

fn col_json(id: usize, offset: usize, col: &Col) -> Value {
    let (charset, collate) = match col.collate {
        Some(coll) => ("utf8mb4", coll),
        None => ("binary", "binary"),
    };
    let elems = col
        .elems
        .map(|e| Value::from(e.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
    let elems_bin = col.elems.map(|e| Value::from(vec![false; e.len()]));
    json!({
        "id": id, "name": {"O": col.name, "L": col.name.to_lowercase()}, "offset": offset,
        "origin_default": null, "origin_default_bit": null,
        "default": col.default, "default_bit": null, "default_is_expr": false,
        "generated_expr_string": "", "generated_stored": false, "dependences": null,
        "type": {"Tp": col.tp, "Flag": col.flag, "Flen": col.flen, "Decimal": col.decimal,
                 "Charset": charset, "Collate": collate, "Elems": elems,
                 "ElemsIsBinaryLit": elems_bin, "Array": false},
        "state": 5, "comment": "", "hidden": false, "change_state_info": null, "version": 2
    })
}

/// One index: (name, column names, unique, primary, global).
type Idx = (&'static str, &'static [&'static str], bool, bool, bool);

fn index_json(id: usize, cols: &[Col], idx: &Idx) -> Value {
    let (name, names, unique, primary, global) = *idx;
    let idx_cols: Vec<Value> = names
        .iter()
        .map(|n| {
            let offset = cols
                .iter()
                .position(|c| c.name == *n)
                .expect("index column");
            json!({"name": {"O": n, "L": n.to_lowercase()}, "offset": offset, "length": -1})
        })
        .collect();
    json!({
        "id": id, "idx_name": {"O": name, "L": name.to_lowercase()}, "tbl_name": {"O": "", "L": ""},
        "idx_cols": idx_cols, "state": 5, "backfill_state": 0, "comment": "", "index_type": 1,
        "is_unique": unique, "is_primary": primary, "is_invisible": false, "is_global": global,
        "mv_index": false
    })
}

/// TableInfo JSON for `cols` and `indexes` (ids from 1 in order), as TiDB v8 writes it.
fn table_json(
    name: &str,
    cols: &[Col],
    indexes: &[Idx],
    pk_is_handle: bool,
    common_handle: bool,
    partition: Value,
) -> Value {
    json!({
        "id": 0, "name": {"O": name, "L": name.to_lowercase()},
        "charset": "utf8mb4", "collate": "utf8mb4_bin",
        "cols": cols.iter().enumerate().map(|(i, c)| col_json(i + 1, i, c)).collect::<Vec<_>>(),
        "index_info": indexes.iter().enumerate().map(|(i, x)| index_json(i + 1, cols, x)).collect::<Vec<_>>(),
        "constraint_info": null, "fk_info": null, "state": 5,
        "pk_is_handle": pk_is_handle, "is_common_handle": common_handle,
        "common_handle_version": if common_handle { 1 } else { 0 },
        "comment": "", "auto_inc_id": 0, "auto_id_cache": 0, "auto_rand_id": 0,
        "max_col_id": cols.len(), "max_idx_id": indexes.len(), "max_fk_id": 0, "max_cst_id": 0,
        "update_timestamp": 0, "ShardRowIDBits": 0, "max_shard_row_id_bits": 0,
        "auto_random_bits": 0, "auto_random_range_bits": 0, "pre_split_regions": 0,
        "partition": partition, "compression": "", "view": null, "sequence": null, "Lock": null,
        "version": 5, "tiflash_replica": null, "is_columnar": false, "temp_table_type": 0,
        "cache_table_status": 0, "policy_ref_info": null, "stats_options": null,
        "exchange_partition_info": null, "ttl_info": null, "revision": 0
    })
}

const NN: u32 = f::NOT_NULL;
const PK: u32 = f::NOT_NULL | f::PRI_KEY;

/// sysbench's `CREATE TABLE sbtestN (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT
/// 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id),
/// KEY k_1 (k))`.
fn sbtest(name: &str) -> Value {
    let cols = [
        c("id", tp::LONG, PK | f::AUTO_INCREMENT, 11, 0),
        Col {
            default: Some("0"),
            ..c("k", tp::LONG, NN | f::MULTIPLE_KEY, 11, 0)
        },
        Col {
            default: Some(""),
            ..s("c", tp::STRING, NN, 120)
        },
        Col {
            default: Some(""),
            ..s("pad", tp::STRING, NN, 60)
        },
    ];
    table_json(
        name,
        &cols,
        &[("k_1", &["k"], false, false, false)],
        true,
        false,
        Value::Null,
    )
}

fn orders() -> Value {
    let cols = [
        s("order_no", tp::VARCHAR, PK, 32),
        c("line", tp::LONG, PK, 11, 0),
        s("customer", tp::VARCHAR, NN | f::MULTIPLE_KEY, 32),
        Col {
            elems: Some(&["new", "paid", "shipped", "cancelled"]),
            ..s("status", tp::ENUM, NN, 9)
        },
        c("amount", tp::NEWDECIMAL, NN, 12, 2),
        c("created_at", tp::DATETIME, NN | f::MULTIPLE_KEY, 19, 0),
        s("note", tp::VARCHAR, 0, 255),
    ];
    let indexes: [Idx; 3] = [
        ("PRIMARY", &["order_no", "line"], true, true, false),
        (
            "uk_customer_order",
            &["customer", "order_no"],
            true,
            false,
            false,
        ),
        ("idx_created", &["created_at"], false, false, false),
    ];
    table_json(ORDERS, &cols, &indexes, false, true, Value::Null)
}

fn events() -> Value {
    let cols = [
        s("kind", tp::VARCHAR, NN | f::MULTIPLE_KEY, 16),
        c("user_id", tp::LONGLONG, NN, 20, 0),
        c("amount", tp::DOUBLE, 0, 22, -1),
        s("note", tp::VARCHAR, 0, 64),
        c("at", tp::DATETIME, NN, 23, 3),
    ];
    let indexes: [Idx; 1] = [("idx_kind_user", &["kind", "user_id"], false, false, false)];
    table_json(EVENTS, &cols, &indexes, false, false, Value::Null)
}

fn metrics() -> Value {
    let cols = [
        c("id", tp::LONGLONG, PK, 20, 0),
        s("host", tp::VARCHAR, NN, 64),
        c("ts", tp::DATETIME, NN | f::MULTIPLE_KEY, 19, 0),
        c("value", tp::DOUBLE, 0, 22, -1),
        c("seq", tp::LONGLONG, NN | f::UNIQUE_KEY, 20, 0),
    ];
    let indexes: [Idx; 2] = [
        ("idx_ts", &["ts"], false, false, false),
        ("uk_seq", &["seq"], true, false, true),
    ];
    let defs: Vec<Value> = (0..METRICS_PARTITIONS)
        .map(|i| {
            json!({"id": 0, "name": {"O": format!("p{i}"), "L": format!("p{i}")},
                   "less_than": null, "in_values": null, "policy_ref_info": null})
        })
        .collect();
    let partition = json!({
        "type": 2, "expr": "`id`", "columns": null, "enable": true, "is_empty_columns": false,
        "definitions": defs, "adding_definitions": null, "dropping_definitions": null,
        "NewPartitionIDs": null, "states": null, "num": METRICS_PARTITIONS, "ddl_state": 0,
        "new_table_id": 0, "ddl_type": 0, "ddl_expr": "", "ddl_columns": null,
        "ddl_update_indexes": null, "original_partition_ids_order": null
    });
    table_json(METRICS, &cols, &indexes, true, false, partition)
}

const U: u32 = f::UNSIGNED;
const B: u32 = f::BINARY;

fn all_types() -> Value {
    let cols = [
        c("id", tp::LONGLONG, PK, 20, 0),
        c("c_tinyint", tp::TINY, 0, 4, 0),
        c("c_utinyint", tp::TINY, U, 3, 0),
        c("c_smallint", tp::SHORT, 0, 6, 0),
        c("c_usmallint", tp::SHORT, U, 5, 0),
        c("c_mediumint", tp::INT24, 0, 9, 0),
        c("c_umediumint", tp::INT24, U, 8, 0),
        c("c_int", tp::LONG, f::UNIQUE_KEY, 11, 0),
        c("c_uint", tp::LONG, U, 10, 0),
        c("c_bigint", tp::LONGLONG, 0, 20, 0),
        c("c_ubigint", tp::LONGLONG, U, 20, 0),
        c("c_float", tp::FLOAT, 0, 12, -1),
        c("c_double", tp::DOUBLE, 0, 22, -1),
        c("c_decimal", tp::NEWDECIMAL, 0, 20, 6),
        s("c_char", tp::STRING, 0, 16),
        Col {
            default: Some("dflt"),
            ..s("c_varchar", tp::VARCHAR, 0, 64)
        },
        Col {
            flag: f::BLOB,
            ..s("c_text", tp::BLOB, 0, 65535)
        },
        c("c_blob", tp::BLOB, f::BLOB | B, 65535, 0),
        c("c_binary", tp::STRING, B, 8, 0),
        c("c_varbinary", tp::VARCHAR, B, 32, 0),
        c("c_date", tp::DATE, B, 10, 0),
        c("c_datetime", tp::DATETIME, B | f::MULTIPLE_KEY, 26, 6),
        c("c_timestamp", tp::TIMESTAMP, B, 19, 0),
        c("c_time", tp::DURATION, B, 10, 0),
        c("c_year", tp::YEAR, f::UNSIGNED | f::ZEROFILL, 4, 0),
        // Flen -1: `FieldType.flen` is i32 in codec::model, so 4294967295 (LONGBLOB width) would not parse.
        c("c_json", tp::JSON, B, -1, 0),
        Col {
            elems: Some(&["red", "green", "blue"]),
            ..s("c_enum", tp::ENUM, 0, 5)
        },
        Col {
            elems: Some(&["a", "b", "c", "d"]),
            ..s("c_set", tp::SET, 0, 7)
        },
        c("c_bit", tp::BIT, U, 12, 0),
    ];
    let indexes: [Idx; 2] = [
        ("uk_int", &["c_int"], true, false, false),
        ("idx_datetime", &["c_datetime"], false, false, false),
    ];
    table_json(ALL_TYPES, &cols, &indexes, true, false, Value::Null)
}

/// The workload's tables: `sbtest1..sbtestN` then the four special tables.
pub fn schema(spec: &WorkloadSpec) -> Vec<TableDef> {
    let mut out: Vec<TableDef> = (1..=spec.tables)
        .map(|i| {
            let name = format!("sbtest{i}");
            TableDef {
                info: sbtest(&name),
                name,
            }
        })
        .collect();
    for (name, info) in [
        (ORDERS, orders()),
        (EVENTS, events()),
        (METRICS, metrics()),
        (ALL_TYPES, all_types()),
    ] {
        out.push(TableDef {
            name: name.to_string(),
            info,
        });
    }
    out
}
