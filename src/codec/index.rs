//! TiDB index entries as TiDB writes them: the key (tablecodec `GenIndexKey`, KEY-4) and the
//! value (tablecodec `GenIndexValuePortal`: the old encoding, index value version 0 and the
//! clustered-index version 1 layout, facts §4.1), the new-collation sort keys and restored
//! data those need (`types.NeedRestoredData`), and a splitter that reads a value's segments
//! back (`SplitIndexValue`). BR treats index values as opaque (KEY-4); brkit writes them so a
//! restored TiDB can read its indexes.
//!
//! Assumes new collations are enabled (TiDB's default for clusters created since v4.0). Only
//! the binary and `_bin` collations have sort keys here; any other collation on an indexed
//! string column is an error rather than a guessed key.
//! Does not own datum encoding (`datum.rs`) or key prefixes (`table.rs`).

use super::datum::{encode_key_to, Datum};
use super::error::{take, CodecError, Result};
use super::model::{ColumnInfo, FieldType, IndexInfo, TableInfo};
use super::mysql::{flag, is_string_type, tp};
use super::number::{decode_i64, encode_i64};
use super::row::v2;
use super::table::{index_key, Handle};

/// Marks a common handle segment in an index value (`CommonHandleFlag`).
pub const COMMON_HANDLE_FLAG: u8 = 127;
/// Marks a partition id segment in a global index value (`PartitionIDFlag`).
pub const PARTITION_ID_FLAG: u8 = 126;
/// Marks the version of a clustered-index value (`IndexVersionFlag`).
pub const INDEX_VERSION_FLAG: u8 = 125;
/// Values up to this length use the old encoding (`MaxOldEncodeValueLen`).
pub const MAX_OLD_ENCODE_VALUE_LEN: usize = 9;
/// The value of a non-unique index entry in the old encoding: the single byte `'0'`.
pub const OLD_NON_UNIQUE_VALUE: &[u8] = b"0";

/// TiDB `collate.IsBinCollation`: the PAD SPACE `_bin` collations.
pub fn is_bin_collation(collate: &str) -> bool {
    matches!(
        collate.to_ascii_lowercase().as_str(),
        "ascii_bin" | "latin1_bin" | "utf8_bin" | "utf8mb4_bin" | "gbk_bin" | "gb18030_bin"
    )
}

fn is_varchar(t: u8) -> bool {
    matches!(t, tp::VARCHAR | tp::VAR_STRING)
}

fn is_nonbinary_string(ft: &FieldType) -> bool {
    is_string_type(ft.tp) && !ft.collate.eq_ignore_ascii_case("binary")
}

/// TiDB `types.NeedRestoredData` with new collations on: a non-binary string whose sort key
/// loses information (any non-`_bin` collation, or a VARCHAR under a PAD SPACE `_bin` one).
pub fn need_restored_data(ft: &FieldType) -> bool {
    is_nonbinary_string(ft)
        && (!is_bin_collation(&ft.collate) || is_varchar(ft.tp))
        && !ft.collate.eq_ignore_ascii_case("utf8mb4_0900_bin")
}

/// Trailing ASCII spaces of `s` (`stringutil.GetTailSpaceCount`).
pub fn tail_space_count(s: &[u8]) -> u64 {
    s.iter().rev().take_while(|b| **b == b' ').count() as u64
}

/// The sort key of a string under `collate` (`collate.GetCollator(c).Key`): unchanged for
/// binary and NO PAD collations, trailing spaces removed for PAD SPACE `_bin` collations.
pub fn collation_key(collate: &str, s: &[u8]) -> Result<Vec<u8>> {
    let c = collate.to_ascii_lowercase();
    if c.is_empty() || c == "binary" || c == "utf8mb4_0900_bin" {
        return Ok(s.to_vec());
    }
    if is_bin_collation(&c) {
        let n = s.len() - tail_space_count(s) as usize;
        return Ok(s[..n].to_vec());
    }
    Err(CodecError::invalid(
        "collation",
        format!("{collate}: sort keys of this collation are not implemented"),
    ))
}

/// A column value as index keys and common handles hold it: strings as their collation sort
/// key (KEY-3), everything else unchanged.
pub fn key_datum(ft: &FieldType, d: &Datum) -> Result<Datum> {
    match d {
        Datum::Bytes(b) if is_string_type(ft.tp) => {
            Ok(Datum::Bytes(collation_key(&ft.collate, b)?))
        }
        other => Ok(other.clone()),
    }
}

/// `TruncateIndexValue`: a prefix index column keeps its first `length` characters (bytes for
/// the binary and ascii charsets).
fn truncate_prefix(d: &Datum, length: i64, col: &ColumnInfo) -> Datum {
    let (Datum::Bytes(b), Ok(n)) = (d, usize::try_from(length)) else {
        return d.clone();
    };
    let cs = col.field_type.charset.to_ascii_lowercase();
    if cs == "binary" || cs == "ascii" {
        return Datum::Bytes(b[..n.min(b.len())].to_vec());
    }
    match std::str::from_utf8(b) {
        Ok(s) => Datum::Bytes(s.chars().take(n).collect::<String>().into_bytes()),
        Err(_) => Datum::Bytes(b[..n.min(b.len())].to_vec()),
    }
}

/// The `common_handle_version` of a table (0 when absent).
pub fn common_handle_version(table: &TableInfo) -> i64 {
    table
        .extra
        .get("common_handle_version")
        .and_then(|v| v.as_i64())
        .unwrap_or(0)
}

/// Whether TiDB writes this index as separate entries: every index except the primary key of
/// a clustered table (whose rows are the record keys).
pub fn is_stored_index(table: &TableInfo, index: &IndexInfo) -> bool {
    !(table.is_common_handle && index.is_primary)
}

fn column(table: &TableInfo, offset: usize) -> Result<&ColumnInfo> {
    table.cols.get(offset).ok_or_else(|| {
        CodecError::invalid(
            "index column",
            format!(
                "offset {offset} beyond the table's {} columns",
                table.cols.len()
            ),
        )
    })
}

fn value_at(row: &[Datum], offset: usize) -> Result<&Datum> {
    row.get(offset).ok_or_else(|| {
        CodecError::invalid(
            "row",
            format!("no value at column offset {offset} ({} values)", row.len()),
        )
    })
}

/// The restored datum of a string under a `_bin` collation is its trailing-space count
/// (`ConvertDatumToTailSpaceCount`); other collations restore the value itself.
fn restored_datum(ft: &FieldType, d: &Datum) -> Datum {
    match d {
        Datum::Bytes(b) if is_bin_collation(&ft.collate) => Datum::U64(tail_space_count(b)),
        other => other.clone(),
    }
}

fn encode_common_handle(out: &mut Vec<u8>, handle: &[u8]) -> Result<()> {
    let n = u16::try_from(handle.len())
        .map_err(|_| CodecError::invalid("common handle", "longer than 65535 bytes"))?;
    out.push(COMMON_HANDLE_FLAG);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(handle);
    Ok(())
}

/// The key and value TiDB writes for `index` of a row (`GenIndexKey` + `GenIndexValuePortal`,
/// KEY-4, facts §4.1). `row` holds one datum per table column (by offset), `physical_id` is
/// the partition id (or the table id) the row lives in; a global index is keyed under the
/// logical table id and records `physical_id` in its value.
pub fn index_entry(
    table: &TableInfo,
    index: &IndexInfo,
    physical_id: i64,
    row: &[Datum],
    handle: &Handle,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut indexed = Vec::with_capacity(index.idx_cols.len());
    for ic in &index.idx_cols {
        let col = column(table, ic.offset)?;
        indexed.push((
            col,
            truncate_prefix(value_at(row, ic.offset)?, ic.length, col),
        ));
    }
    // A unique index with a NULL value is not distinct: the handle goes into the key.
    let distinct = index.is_unique && indexed.iter().all(|(_, d)| !d.is_null());
    let mut enc = Vec::new();
    for (col, d) in &indexed {
        encode_key_to(&mut enc, &key_datum(&col.field_type, d)?)?;
    }
    if !distinct {
        match handle {
            Handle::Int(h) => encode_key_to(&mut enc, &Datum::I64(*h))?,
            Handle::Common(b) => enc.extend_from_slice(b),
        }
    }
    let key_table = if index.is_global {
        table.id
    } else {
        physical_id
    };
    let key = index_key(key_table, index.id, &enc);
    let global = index.is_global.then_some(physical_id);
    let need_restore = indexed
        .iter()
        .any(|(c, _)| need_restored_data(&c.field_type));
    let value = if table.is_common_handle && common_handle_version(table) == 1 {
        value_clustered_v1(table, &indexed, row, handle, distinct, global, need_restore)?
    } else {
        value_v0(&indexed, handle, distinct, global, need_restore)?
    };
    Ok((key, value))
}

/// `genIndexValueVersion0`.
fn value_v0(
    indexed: &[(&ColumnInfo, Datum)],
    handle: &Handle,
    distinct: bool,
    global: Option<i64>,
    need_restore: bool,
) -> Result<Vec<u8>> {
    let mut v = vec![0u8];
    let mut new_encode = false;
    if let (Handle::Common(h), true) = (handle, distinct) {
        encode_common_handle(&mut v, h)?;
        new_encode = true;
    }
    if let Some(pid) = global {
        v.push(PARTITION_ID_FLAG);
        v.extend_from_slice(&encode_i64(pid));
        new_encode = true;
    }
    if need_restore {
        let cols: Vec<(i64, Datum)> = indexed.iter().map(|(c, d)| (c.id, d.clone())).collect();
        v.extend_from_slice(&v2::encode(&cols)?);
        new_encode = true;
    }
    if !new_encode {
        return Ok(match (handle, distinct) {
            (Handle::Int(h), true) => (*h as u64).to_be_bytes().to_vec(),
            _ => OLD_NON_UNIQUE_VALUE.to_vec(),
        });
    }
    let mut tail = 0u8;
    if let (Handle::Int(h), true) = (handle, distinct) {
        tail = 8;
        v.extend_from_slice(&(*h as u64).to_be_bytes());
    } else if v.len() < 10 {
        tail = (10 - v.len()) as u8;
        v.resize(10, 0);
    }
    v[0] = tail;
    Ok(v)
}

/// `GenIndexValueForClusteredIndexVersion1`, with the handle's restored data from
/// `TryGetHandleRestoredDataWrapper`.
fn value_clustered_v1(
    table: &TableInfo,
    indexed: &[(&ColumnInfo, Datum)],
    row: &[Datum],
    handle: &Handle,
    distinct: bool,
    global: Option<i64>,
    need_restore: bool,
) -> Result<Vec<u8>> {
    let mut v = vec![0u8, INDEX_VERSION_FLAG, 1];
    if distinct {
        encode_common_handle(&mut v, &handle.encoded())?;
    }
    if let Some(pid) = global {
        v.push(PARTITION_ID_FLAG);
        v.extend_from_slice(&encode_i64(pid));
    }
    let mut handle_restored = Vec::new();
    if let Some(pk) = table.indexes().iter().find(|i| i.is_primary) {
        for ic in &pk.idx_cols {
            let col = column(table, ic.offset)?;
            if need_restored_data(&col.field_type) {
                let d = value_at(row, ic.offset)?;
                handle_restored.push((col.id, restored_datum(&col.field_type, d)));
            }
        }
    }
    if need_restore || !handle_restored.is_empty() {
        let mut cols: Vec<(i64, Datum)> = indexed
            .iter()
            // Primary-key columns come with the handle's restored data below.
            .filter(|(c, _)| c.field_type.flag & flag::PRI_KEY == 0)
            .filter(|(c, _)| need_restored_data(&c.field_type))
            .map(|(c, d)| (c.id, restored_datum(&c.field_type, d)))
            .collect();
        cols.extend(handle_restored);
        v.extend_from_slice(&v2::encode(&cols)?);
    }
    Ok(v)
}

/// The parts of an index value (`SplitIndexValue`, `SplitIndexValueForClusteredIndexVersion1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexValue {
    /// 0 for the old and version-0 layouts, else the clustered-index version.
    pub version: u8,
    /// The int handle of a unique entry of an int-handle table.
    pub int_handle: Option<i64>,
    /// The encoded common handle of a unique entry of a clustered table.
    pub common_handle: Option<Vec<u8>>,
    /// The partition id of a global index entry.
    pub partition_id: Option<i64>,
    /// The restored data (a v2 row), when present.
    pub restored: Option<Vec<u8>>,
}

/// Splits an index value into its segments. Never panics; inconsistent lengths are errors.
pub fn split_index_value(value: &[u8]) -> Result<IndexValue> {
    if value.is_empty() {
        return Err(CodecError::Truncated {
            what: "index value",
            needed: 1,
            available: 0,
        });
    }
    if value.len() <= MAX_OLD_ENCODE_VALUE_LEN {
        let mut out = IndexValue::default();
        if value.len() >= 8 {
            let b: [u8; 8] = value[..8].try_into().expect("8 bytes");
            out.int_handle = Some(u64::from_be_bytes(b) as i64);
        }
        return Ok(out);
    }
    let tail_len = usize::from(value[0]);
    if tail_len >= value.len() {
        return Err(CodecError::invalid(
            "index value tail length",
            format!("{tail_len} but the value has {} bytes", value.len()),
        ));
    }
    let (body, tail) = value[1..].split_at(value.len() - 1 - tail_len);
    let mut out = IndexValue::default();
    let mut cur = body;
    if (tail_len == 0 || tail_len == 1) && body.first() == Some(&INDEX_VERSION_FLAG) {
        let ver = take(&mut cur, 2, "index value version")?[1];
        out.version = ver;
        if ver != 1 {
            return Err(CodecError::Unknown {
                what: "index value version",
                value: u64::from(ver),
            });
        }
    } else if tail.len() >= 8 {
        let b: [u8; 8] = tail[..8].try_into().expect("8 bytes");
        out.int_handle = Some(u64::from_be_bytes(b) as i64);
    }
    if cur.first() == Some(&COMMON_HANDLE_FLAG) {
        let h = take(&mut cur, 3, "index value common handle length")?;
        let n = usize::from(u16::from_be_bytes([h[1], h[2]]));
        out.common_handle = Some(take(&mut cur, n, "index value common handle")?.to_vec());
    }
    if cur.first() == Some(&PARTITION_ID_FLAG) {
        take(&mut cur, 1, "index value partition flag")?;
        out.partition_id = Some(decode_i64(&mut cur)?);
    }
    if cur.first() == Some(&v2::CODEC_VER) {
        v2::RowV2::decode(cur)?;
        out.restored = Some(cur.to_vec());
    } else if !cur.is_empty() {
        return Err(CodecError::invalid(
            "index value",
            format!("{} unrecognised bytes before the tail", cur.len()),
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
