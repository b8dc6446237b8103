//! Column type text as TiDB's `SHOW CREATE TABLE` prints it (VIEW-6): pingcap/tidb
//! `types.TypeToStr`, `mysql.GetDefaultFieldLengthAndDecimal`, `FieldType.CompactStr`,
//! `ColumnInfo.GetTypeDesc`, `field_types.HasCharset` and `charset.GetDefaultCollation`.

use crate::codec::model::FieldType;
use crate::codec::mysql::{flag, tp};

/// `format.OutputFormat` for ENUM/SET members.
fn output_format(s: &str) -> String {
    super::schema_sql::output_format(s)
}

/// TiDB's default collation of a charset (`charset.GetDefaultCollation`).
pub(crate) fn default_collation(cs: &str) -> &'static str {
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
pub(crate) fn type_desc(ft: &FieldType) -> String {
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
pub(crate) fn has_charset(ft: &FieldType) -> bool {
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
