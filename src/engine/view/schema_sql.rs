//! `schema.sql` (VIEW-6): `CREATE TABLE` reconstructed from a TableInfo the way TiDB's
//! `SHOW CREATE TABLE` prints it (pingcap/tidb `pkg/executor/show.go`
//! `ConstructResultOfShowCreateTable`, `FieldType.CompactStr`, `ColumnInfo.GetTypeDesc`,
//! `ddl.AppendPartitionInfo`), with the session defaults: `sql_mode` without ANSI_QUOTES,
//! integer display widths shown, time zone UTC. What TiDB takes from live state instead of the
//! TableInfo is left out: the `AUTO_INCREMENT=`/`AUTO_RANDOM_BASE=` table options (allocator
//! positions) and hypothetical indexes.

use crate::codec::model::{ColumnInfo, FieldType, IndexInfo, TableInfo};
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
fn output_format(s: &str) -> String {
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

/// TiDB's default collation of a charset (`charset.GetDefaultCollation`).
fn default_collation(cs: &str) -> &'static str {
    match cs {
        "utf8mb4" => "utf8mb4_bin",
        "utf8" => "utf8_bin",
        "latin1" => "latin1_bin",
        "ascii" => "ascii_bin",
        "binary" => "binary",
        "gbk" => "gbk_chinese_ci",
        "gb18030" => "gb18030_chinese_ci",
        _ => "",
    }
}

/// `types.TypeToStr`: the type name, with text → blob and char → binary for charset binary.
fn type_name(t: u8, charset: &str) -> &'static str {
    let bin = charset == "binary";
    match t {
        tp::TINY => "tinyint",
        tp::SHORT => "smallint",
        tp::INT24 => "mediumint",
        tp::LONG => "int",
        tp::LONGLONG => "bigint",
        tp::FLOAT => "float",
        tp::DOUBLE => "double",
        tp::NEWDECIMAL => "decimal",
        tp::NULL => "null",
        tp::TIMESTAMP => "timestamp",
        tp::DATE | tp::NEWDATE => "date",
        tp::DURATION => "time",
        tp::DATETIME => "datetime",
        tp::YEAR => "year",
        tp::BIT => "bit",
        tp::JSON => "json",
        tp::ENUM => "enum",
        tp::SET => "set",
        tp::GEOMETRY => "geometry",
        tp::VECTOR_FLOAT32 => "vector",
        tp::VARCHAR if bin => "varbinary",
        tp::VARCHAR => "varchar",
        tp::VAR_STRING if bin => "var_binary",
        tp::VAR_STRING => "var_string",
        tp::STRING if bin => "binary",
        tp::STRING => "char",
        tp::TINY_BLOB if bin => "tinyblob",
        tp::TINY_BLOB => "tinytext",
        tp::BLOB if bin => "blob",
        tp::BLOB => "text",
        tp::MEDIUM_BLOB if bin => "mediumblob",
        tp::MEDIUM_BLOB => "mediumtext",
        tp::LONG_BLOB if bin => "longblob",
        tp::LONG_BLOB => "longtext",
        _ => "unspecified",
    }
}

/// `mysql.GetDefaultFieldLengthAndDecimal`.
fn default_flen_decimal(t: u8) -> (i64, i64) {
    match t {
        tp::BIT => (1, 0),
        tp::TINY => (4, 0),
        tp::SHORT => (6, 0),
        tp::INT24 => (9, 0),
        tp::LONG => (11, 0),
        tp::LONGLONG => (20, 0),
        tp::DOUBLE => (22, -1),
        tp::FLOAT => (12, -1),
        tp::NEWDECIMAL => (10, 0),
        tp::DURATION | tp::DATE => (10, 0),
        tp::TIMESTAMP | tp::DATETIME => (19, 0),
        tp::YEAR => (4, 0),
        tp::STRING => (1, 0),
        tp::VARCHAR | tp::VAR_STRING => (5, 0),
        tp::TINY_BLOB => (255, 0),
        tp::BLOB => (65535, 0),
        tp::MEDIUM_BLOB => (16777215, 0),
        tp::LONG_BLOB | tp::JSON => (4294967295, 0),
        tp::SET | tp::ENUM => (-1, 0),
        _ => (0, 0),
    }
}

/// `FieldType.CompactStr` (integer display widths shown, TiDB's default).
fn compact_str(ft: &FieldType) -> String {
    let t = ft.tp;
    let (dflen, ddec) = default_flen_decimal(t);
    let (flen, dec) = (i64::from(ft.flen), i64::from(ft.decimal));
    let dec_not_default = dec != ddec && dec != 0 && dec != -1;
    let shown_flen = if flen == -1 { dflen } else { flen };
    let shown_dec = if dec == -1 { ddec } else { dec };
    let suffix = match t {
        tp::ENUM | tp::SET => {
            let es: Vec<String> = ft.elems().iter().map(|e| output_format(e)).collect();
            format!("('{}')", es.join("','"))
        }
        tp::TIMESTAMP | tp::DATETIME | tp::DURATION if dec_not_default => format!("({shown_dec})"),
        tp::DOUBLE | tp::FLOAT if dec_not_default => format!("({shown_flen},{shown_dec})"),
        tp::NEWDECIMAL => format!("({shown_flen},{shown_dec})"),
        tp::BIT
        | tp::VARCHAR
        | tp::STRING
        | tp::VAR_STRING
        | tp::TINY
        | tp::SHORT
        | tp::INT24
        | tp::LONG
        | tp::LONGLONG => format!("({shown_flen})"),
        tp::YEAR => format!("({flen})"),
        tp::VECTOR_FLOAT32 if flen != -1 => format!("({flen})"),
        tp::NULL => "(0)".to_string(),
        _ => String::new(),
    };
    format!("{}{suffix}", type_name(t, &ft.charset))
}

/// `ColumnInfo.GetTypeDesc`: CompactStr plus ` unsigned` / ` zerofill` (not for BIT/YEAR).
fn type_desc(ft: &FieldType) -> String {
    let mut d = compact_str(ft);
    if ft.flag & flag::UNSIGNED != 0 && ft.tp != tp::BIT && ft.tp != tp::YEAR {
        d.push_str(" unsigned");
    }
    if ft.flag & flag::ZEROFILL != 0 && ft.tp != tp::YEAR {
        d.push_str(" zerofill");
    }
    d
}

/// `field_types.HasCharset`.
fn has_charset(ft: &FieldType) -> bool {
    match ft.tp {
        tp::VARCHAR
        | tp::STRING
        | tp::VAR_STRING
        | tp::BLOB
        | tp::TINY_BLOB
        | tp::MEDIUM_BLOB
        | tp::LONG_BLOB => ft.flag & flag::BINARY == 0,
        tp::ENUM | tp::SET => true,
        _ => false,
    }
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
