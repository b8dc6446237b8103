//! `schema.sql` (VIEW-6): `CREATE TABLE` reconstructed from a TableInfo the way TiDB's
//! `SHOW CREATE TABLE` prints it (pingcap/tidb `pkg/executor/show.go`
//! `ConstructResultOfShowCreateTable`, `FieldType.CompactStr`, `ColumnInfo.GetTypeDesc`,
//! `ddl.AppendPartitionInfo`), with the session defaults: `sql_mode` without ANSI_QUOTES,
//! integer display widths shown, time zone UTC. What TiDB takes from live state instead of the
//! TableInfo is left out: the `AUTO_INCREMENT=`/`AUTO_RANDOM_BASE=` table options (allocator
//! positions) and hypothetical indexes.

use super::sql_types::{default_collation, has_charset, type_desc};
use crate::codec::model::{ColumnInfo, IndexInfo, TableInfo};
use crate::codec::mysql::{flag, tp};
use serde_json::Value;
use std::fmt::Write;

/// `NoDefaultValueFlag` and `OnUpdateNowFlag` of TiDB's `mysql` package (TYPE-2 bits 12, 13).
const NO_DEFAULT_VALUE: u32 = 1 << 12;
const ON_UPDATE_NOW: u32 = 1 << 13;
/// `model.PartitionType` values.
const PARTITION_RANGE: i64 = 1;
const PARTITION_HASH: i64 = 2;
const PARTITION_LIST: i64 = 3;
const PARTITION_KEY: i64 = 4;

/// A name in backquotes, inner backquotes doubled (`stringutil.Escape`).
fn name(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// `format.OutputFormat`: `\0`, `'`, `\n`, `\r` escaped for a single-quoted literal.
pub(crate) fn output_format(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\'' => out.push_str("''"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn extra_str<'a>(m: &'a serde_json::Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

fn extra_i64(m: &serde_json::Map<String, Value>, k: &str) -> i64 {
    m.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn extra_bool(m: &serde_json::Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// A BIT default as `b'...'` (`BinaryLiteral.ToBitLiteralString(true)`: leading zeros trimmed).
fn bit_literal(bytes: &[u8]) -> String {
    let bits: String = bytes.iter().map(|b| format!("{b:08b}")).collect();
    let trimmed = bits.trim_start_matches('0');
    format!("b'{}'", if trimmed.is_empty() { "0" } else { trimmed })
}

fn column(out: &mut String, c: &ColumnInfo, tbl_charset: &str, tbl_collate: &str) {
    let ft = &c.field_type;
    let _ = write!(out, "  {} {}", name(&c.name.o), type_desc(ft));
    if has_charset(ft) {
        if ft.charset != tbl_charset {
            let _ = write!(out, " CHARACTER SET {}", ft.charset);
        }
        let default = default_collation(&ft.charset);
        if ft.collate != tbl_collate || (!default.is_empty() && default != ft.collate) {
            let _ = write!(out, " COLLATE {}", ft.collate);
        }
    }
    let generated = !c.generated_expr_string.is_empty();
    if generated {
        let kind = if c.generated_stored {
            "STORED"
        } else {
            "VIRTUAL"
        };
        let _ = write!(
            out,
            " GENERATED ALWAYS AS ({}) {kind}",
            c.generated_expr_string
        );
    }
    if ft.flag & flag::AUTO_INCREMENT != 0 {
        out.push_str(" NOT NULL AUTO_INCREMENT");
    } else {
        let not_null = ft.flag & flag::NOT_NULL != 0;
        if not_null {
            out.push_str(" NOT NULL");
        }
        if ft.flag & NO_DEFAULT_VALUE == 0 && !generated {
            default_clause(out, c, not_null);
        }
        if ft.flag & ON_UPDATE_NOW != 0 {
            out.push_str(" ON UPDATE CURRENT_TIMESTAMP");
            if ft.decimal > 0 {
                let _ = write!(out, "({})", ft.decimal);
            }
        }
    }
    let comment = extra_str(&c.extra, "comment");
    if !comment.is_empty() {
        let _ = write!(out, " COMMENT '{}'", output_format(comment));
    }
}

fn default_clause(out: &mut String, c: &ColumnInfo, not_null: bool) {
    let ft = &c.field_type;
    let bit_default = (ft.tp == tp::BIT)
        .then(|| c.extra.get("default_bit").and_then(Value::as_str))
        .flatten();
    let text = match c.extra.get("default") {
        None | Some(Value::Null) if bit_default.is_none() => {
            if !not_null {
                if ft.tp == tp::TIMESTAMP {
                    out.push_str(" NULL");
                }
                out.push_str(" DEFAULT NULL");
            }
            return;
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    };
    if let Some(b64) = bit_default {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_default();
        let _ = write!(out, " DEFAULT {}", bit_literal(&bytes));
        return;
    }
    if text == "CURRENT_TIMESTAMP" || text == "CURRENT_DATE" {
        let _ = write!(out, " DEFAULT {text}");
        if ft.decimal > 0 {
            let _ = write!(out, "({})", ft.decimal);
        }
    } else if extra_bool(&c.extra, "default_is_expr") {
        let _ = write!(out, " DEFAULT {}", output_format(&text));
    } else {
        let _ = write!(out, " DEFAULT '{}'", output_format(&text));
    }
}

fn index(out: &mut String, t: &TableInfo, idx: &IndexInfo) {
    if idx.is_primary {
        out.push_str("  PRIMARY KEY ");
    } else if idx.is_unique {
        let _ = write!(out, "  UNIQUE KEY {} ", name(&idx.idx_name.o));
    } else {
        let _ = write!(out, "  KEY {} ", name(&idx.idx_name.o));
    }
    let cols: Vec<String> = idx
        .idx_cols
        .iter()
        .map(|ic| match t.cols.get(ic.offset) {
            Some(c) if c.hidden => format!("({})", c.generated_expr_string),
            _ if ic.length != -1 => format!("{}({})", name(&ic.name.o), ic.length),
            _ => name(&ic.name.o),
        })
        .collect();
    let _ = write!(out, "({})", cols.join(","));
    if extra_bool(&idx.extra, "is_invisible") {
        out.push_str(" /*!80000 INVISIBLE */");
    }
    let comment = extra_str(&idx.extra, "comment");
    if !comment.is_empty() {
        let _ = write!(out, " COMMENT '{}'", output_format(comment));
    }
    if idx.is_primary {
        if t.pk_is_handle || t.is_common_handle {
            out.push_str(" /*T![clustered_index] CLUSTERED */");
        } else {
            out.push_str(" /*T![clustered_index] NONCLUSTERED */");
        }
    }
    if idx.is_global {
        out.push_str(" /*T![global_index] GLOBAL */");
    }
}

/// `ddl.AppendPartitionInfo`.
fn partition(out: &mut String, t: &TableInfo) {
    let Some(p) = &t.partition else { return };
    let ptype = extra_i64(&p.extra, "type");
    let expr = extra_str(&p.extra, "expr");
    let type_name = match ptype {
        PARTITION_RANGE => "RANGE",
        PARTITION_HASH => "HASH",
        PARTITION_LIST => "LIST",
        PARTITION_KEY => "KEY",
        _ => "SYSTEM_TIME",
    };
    let num = p
        .extra
        .get("num")
        .and_then(Value::as_u64)
        .unwrap_or(p.definitions.len() as u64);
    let columns: Vec<String> = p
        .extra
        .get("columns")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("O").and_then(Value::as_str))
                .map(name)
                .collect()
        })
        .unwrap_or_default();
    if ptype == PARTITION_HASH || ptype == PARTITION_KEY {
        let defaults = p.definitions.iter().enumerate().all(|(i, d)| {
            d.name.o == format!("p{i}")
                && extra_str(&d.extra, "comment").is_empty()
                && d.extra.get("policy_ref_info").is_none_or(Value::is_null)
        });
        if defaults {
            let e = if ptype == PARTITION_KEY {
                columns.join(",")
            } else {
                expr.to_string()
            };
            let _ = write!(out, "\nPARTITION BY {type_name} ({e}) PARTITIONS {num}");
            return;
        }
    }
    if !columns.is_empty() {
        let _ = write!(
            out,
            "\nPARTITION BY {type_name} COLUMNS({})\n(",
            columns.join(",")
        );
    } else {
        let _ = write!(out, "\nPARTITION BY {type_name} ({expr})\n(");
    }
    for (i, d) in p.definitions.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n ");
        }
        let _ = write!(out, "PARTITION {}", name(&d.name.o));
        let strs = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        if ptype == PARTITION_RANGE {
            let lt = d.extra.get("less_than").map(strs).unwrap_or_default();
            let _ = write!(out, " VALUES LESS THAN ({})", lt.join(","));
        } else if ptype == PARTITION_LIST {
            let groups: Vec<String> = d
                .extra
                .get("in_values")
                .and_then(Value::as_array)
                .map(|gs| {
                    gs.iter()
                        .map(|g| {
                            let vs = strs(g);
                            if vs.len() > 1 {
                                format!("({})", vs.join(","))
                            } else {
                                vs.join("")
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(out, " VALUES IN ({})", groups.join(","));
        }
        let comment = extra_str(&d.extra, "comment");
        if !comment.is_empty() {
            let _ = write!(out, " COMMENT '{}'", output_format(comment));
        }
    }
    out.push(')');
}

/// The `Create Table` text of `SHOW CREATE TABLE` (no trailing `;` or newline).
pub fn show_create_table(t: &TableInfo) -> String {
    let mut tbl_charset = extra_str(&t.extra, "charset").to_string();
    if tbl_charset.is_empty() {
        tbl_charset = "utf8mb4".into();
    }
    let mut tbl_collate = extra_str(&t.extra, "collate").to_string();
    if tbl_collate.is_empty() {
        tbl_collate = default_collation(&tbl_charset).to_string();
    }
    let mut out = String::new();
    let kind = match extra_i64(&t.extra, "temp_table_type") {
        1 => "CREATE GLOBAL TEMPORARY TABLE",
        2 => "CREATE TEMPORARY TABLE",
        _ => "CREATE TABLE",
    };
    let _ = writeln!(out, "{kind} {} (", name(&t.name.o));
    let mut lines: Vec<String> = Vec::new();
    let mut pk_col = None;
    for c in t.visible_columns() {
        let mut line = String::new();
        column(&mut line, c, &tbl_charset, &tbl_collate);
        let auto_random = extra_i64(&t.extra, "auto_random_bits");
        if auto_random > 0 && t.pk_is_handle && c.field_type.flag & flag::PRI_KEY != 0 {
            let r = extra_i64(&t.extra, "auto_random_range_bits");
            if r == 0 || r == 64 {
                let _ = write!(line, " /*T![auto_rand] AUTO_RANDOM({auto_random}) */");
            } else {
                let _ = write!(line, " /*T![auto_rand] AUTO_RANDOM({auto_random}, {r}) */");
            }
        }
        lines.push(line);
        if t.pk_is_handle && c.field_type.flag & flag::PRI_KEY != 0 {
            pk_col = Some(c);
        }
    }
    if let Some(c) = pk_col {
        lines.push(format!(
            "  PRIMARY KEY ({}) /*T![clustered_index] CLUSTERED */",
            name(&c.name.o)
        ));
    }
    for idx in t.public_indexes() {
        let mut line = String::new();
        index(&mut line, t, idx);
        lines.push(line);
    }
    out.push_str(&lines.join(",\n"));
    out.push_str("\n) ENGINE=InnoDB");
    if tbl_collate.is_empty() || tbl_collate == "binary" {
        let _ = write!(out, " DEFAULT CHARSET={tbl_charset}");
    } else {
        let _ = write!(out, " DEFAULT CHARSET={tbl_charset} COLLATE={tbl_collate}");
    }
    let compression = extra_str(&t.extra, "compression");
    if !compression.is_empty() {
        let _ = write!(out, " COMPRESSION='{compression}'");
    }
    let auto_id_cache = extra_i64(&t.extra, "auto_id_cache");
    if auto_id_cache != 0 {
        let _ = write!(out, " /*T![auto_id_cache] AUTO_ID_CACHE={auto_id_cache} */");
    }
    let shard = extra_i64(&t.extra, "ShardRowIDBits");
    let pre_split = extra_i64(&t.extra, "pre_split_regions");
    if shard > 0 {
        let _ = write!(out, " /*T! SHARD_ROW_ID_BITS={shard} ");
        if pre_split > 0 {
            let _ = write!(out, "PRE_SPLIT_REGIONS={pre_split} ");
        }
        out.push_str("*/");
    }
    if extra_i64(&t.extra, "auto_random_bits") > 0 && pre_split > 0 {
        let _ = write!(out, " /*T! PRE_SPLIT_REGIONS={pre_split} */");
    }
    let comment = extra_str(&t.extra, "comment");
    if !comment.is_empty() {
        let _ = write!(out, " COMMENT='{}'", output_format(comment));
    }
    if extra_i64(&t.extra, "temp_table_type") == 1 {
        out.push_str(" ON COMMIT DELETE ROWS");
    }
    if extra_i64(&t.extra, "cache_table_status") == 1 {
        out.push_str(" /* CACHED ON */");
    }
    partition(&mut out, t);
    out
}

#[cfg(test)]
#[path = "schema_sql_tests.rs"]
mod tests;
