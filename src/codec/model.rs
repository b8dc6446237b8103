//! TiDB's schema model JSON as TiDB writes it (`pkg/meta/model`): DBInfo, TableInfo,
//! ColumnInfo, FieldType, IndexInfo, PartitionInfo and CIStr, with the helpers the row decoder
//! and range builders need (format/rows.md MODEL-1 … MODEL-6).
//!
//! Every struct keeps the fields brkit does not type in `extra`, so decode → encode keeps every
//! field (MODEL-1). Typed fields are always written back (TiDB always writes them).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{CodecError, Result};
use super::mysql::{flag, tp};

/// Column id of the hidden `_tidb_rowid` handle column (MODEL-4).
pub const EXTRA_HANDLE_ID: i64 = -1;
/// `SchemaState` value of a public column/index (MODEL-3).
pub const STATE_PUBLIC: u8 = 5;

/// TiDB's `CIStr`: original and lower-case name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CIStr {
    #[serde(rename = "O", default)]
    pub o: String,
    #[serde(rename = "L", default)]
    pub l: String,
}

impl CIStr {
    pub fn new(name: &str) -> CIStr {
        CIStr {
            o: name.to_string(),
            l: name.to_lowercase(),
        }
    }
}

/// `types.FieldType` in its JSON form (MODEL-2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldType {
    #[serde(rename = "Tp", default)]
    pub tp: u8,
    #[serde(rename = "Flag", default)]
    pub flag: u32,
    #[serde(rename = "Flen", default)]
    pub flen: i32,
    #[serde(rename = "Decimal", default)]
    pub decimal: i32,
    #[serde(rename = "Charset", default)]
    pub charset: String,
    #[serde(rename = "Collate", default)]
    pub collate: String,
    #[serde(rename = "Elems", default)]
    pub elems: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl FieldType {
    /// A field type of `tp` with no flags (for tests and writers).
    pub fn new(tp: u8) -> FieldType {
        FieldType {
            tp,
            flen: -1,
            decimal: -1,
            ..FieldType::default()
        }
    }

    pub fn is_unsigned(&self) -> bool {
        self.flag & flag::UNSIGNED != 0
    }

    /// ENUM/SET members (empty when absent).
    pub fn elems(&self) -> &[String] {
        self.elems.as_deref().unwrap_or(&[])
    }

    /// Fractional-second precision for time/duration columns: `Decimal` clamped to 0..=6
    /// (TiDB's unspecified -1 means 0).
    pub fn fsp(&self) -> u8 {
        self.decimal.clamp(0, 6) as u8
    }
}

/// `model.ColumnInfo` (MODEL-3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub name: CIStr,
    #[serde(default)]
    pub offset: i64,
    /// The value of rows written before the column was added (a JSON scalar, usually a string).
    #[serde(default)]
    pub origin_default: Value,
    /// BIT defaults: base64 of the default's bytes (Go `[]byte`).
    #[serde(default)]
    pub origin_default_bit: Value,
    #[serde(default)]
    pub generated_expr_string: String,
    #[serde(default)]
    pub generated_stored: bool,
    #[serde(rename = "type", default)]
    pub field_type: FieldType,
    #[serde(default)]
    pub state: u8,
    #[serde(default)]
    pub hidden: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ColumnInfo {
    /// Public and not hidden: a column a user sees (MODEL-3).
    pub fn is_visible(&self) -> bool {
        self.state == STATE_PUBLIC && !self.hidden
    }

    /// A generated column that is not stored in row values.
    pub fn is_virtual_generated(&self) -> bool {
        !self.generated_expr_string.is_empty() && !self.generated_stored
    }

    /// The bytes of a BIT column's `origin_default_bit`, if set.
    pub fn origin_default_bit_bytes(&self) -> Result<Option<Vec<u8>>> {
        match &self.origin_default_bit {
            Value::String(s) => base64_decode(s).map(Some),
            Value::Null => Ok(None),
            other => Err(CodecError::invalid(
                "origin_default_bit",
                format!("expected a base64 string, got {other}"),
            )),
        }
    }
}

/// `model.IndexColumn`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexColumn {
    #[serde(default)]
    pub name: CIStr,
    #[serde(default)]
    pub offset: usize,
    #[serde(default)]
    pub length: i64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `model.IndexInfo` (MODEL-5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexInfo {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub idx_name: CIStr,
    #[serde(default)]
    pub idx_cols: Vec<IndexColumn>,
    #[serde(default)]
    pub state: u8,
    #[serde(default)]
    pub is_unique: bool,
    #[serde(default)]
    pub is_primary: bool,
    #[serde(default)]
    pub is_global: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `model.PartitionDefinition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionDefinition {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub name: CIStr,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `model.PartitionInfo` (MODEL-6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionInfo {
    #[serde(default)]
    pub definitions: Vec<PartitionDefinition>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `model.TableInfo` (MODEL-4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableInfo {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub name: CIStr,
    #[serde(default)]
    pub cols: Vec<ColumnInfo>,
    #[serde(default)]
    pub index_info: Option<Vec<IndexInfo>>,
    #[serde(default)]
    pub pk_is_handle: bool,
    #[serde(default)]
    pub is_common_handle: bool,
    #[serde(default)]
    pub partition: Option<PartitionInfo>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `model.DBInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DBInfo {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub db_name: CIStr,
    #[serde(default)]
    pub charset: String,
    #[serde(default)]
    pub collate: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a table's rows are keyed (MODEL-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleKind {
    /// A single integer primary key is the handle; `column` is its offset in `cols`.
    IntPk { column: usize },
    /// Clustered non-integer primary key: the handle is `EncodeKey` of these columns
    /// (offsets in `cols`, in index order).
    Common { columns: Vec<usize> },
    /// No int PK, not clustered: the hidden `_tidb_rowid` (column id -1).
    RowId,
}

impl TableInfo {
    /// Parses TiDB's JSON (`Schema.table` in backupmeta).
    pub fn from_json(bytes: &[u8]) -> Result<TableInfo> {
        serde_json::from_slice(bytes)
            .map_err(|e| CodecError::invalid("table info json", e.to_string()))
    }

    /// Serializes back to JSON, keeping unknown fields (MODEL-1).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serializing a Value tree cannot fail")
    }

    /// The handle kind, or an error if the JSON contradicts itself (MODEL-4).
    pub fn handle_kind(&self) -> Result<HandleKind> {
        if self.pk_is_handle {
            let column = self
                .cols
                .iter()
                .position(|c| c.field_type.flag & flag::PRI_KEY != 0)
                .ok_or_else(|| {
                    CodecError::invalid("table info", "pk_is_handle but no PRI_KEY column")
                })?;
            return Ok(HandleKind::IntPk { column });
        }
        if self.is_common_handle {
            let pk = self
                .indexes()
                .iter()
                .find(|i| i.is_primary)
                .ok_or_else(|| {
                    CodecError::invalid("table info", "is_common_handle but no primary index")
                })?;
            let columns = pk
                .idx_cols
                .iter()
                .map(|c| {
                    if c.offset < self.cols.len() {
                        Ok(c.offset)
                    } else {
                        Err(CodecError::invalid(
                            "table info",
                            format!("primary index column offset {} out of range", c.offset),
                        ))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(HandleKind::Common { columns });
        }
        Ok(HandleKind::RowId)
    }

    /// All indexes (none when `index_info` is null).
    pub fn indexes(&self) -> &[IndexInfo] {
        self.index_info.as_deref().unwrap_or(&[])
    }

    /// Public indexes: the ones BR backs up ranges for (MODEL-5).
    pub fn public_indexes(&self) -> impl Iterator<Item = &IndexInfo> {
        self.indexes().iter().filter(|i| i.state == STATE_PUBLIC)
    }

    /// The physical table ids holding rows: partition ids if partitioned, else the table id
    /// (MODEL-6).
    pub fn physical_ids(&self) -> Vec<i64> {
        match &self.partition {
            Some(p) if !p.definitions.is_empty() => p.definitions.iter().map(|d| d.id).collect(),
            _ => vec![self.id],
        }
    }

    /// Columns a user sees, in column order (MODEL-3).
    pub fn visible_columns(&self) -> impl Iterator<Item = &ColumnInfo> {
        self.cols.iter().filter(|c| c.is_visible())
    }
}

impl DBInfo {
    pub fn from_json(bytes: &[u8]) -> Result<DBInfo> {
        serde_json::from_slice(bytes)
            .map_err(|e| CodecError::invalid("db info json", e.to_string()))
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serializing a Value tree cannot fail")
    }
}

/// Standard base64 (with or without padding), as Go's `[]byte` JSON encoding writes.
fn base64_decode(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => {
                return Err(CodecError::invalid(
                    "base64",
                    format!("invalid character {:?}", c as char),
                ))
            }
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// Whether `t` is a type whose default text needs the column's type to interpret.
pub fn is_temporal(t: u8) -> bool {
    matches!(t, tp::DATE | tp::DATETIME | tp::TIMESTAMP | tp::NEWDATE)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A TableInfo as TiDB v7/v8 writes it (trimmed to the fields of three columns, one
    /// index, and a sprinkling of fields brkit does not type).
    pub(crate) const SAMPLE: &str = r#"{"id":110,"name":{"O":"t1","L":"t1"},"charset":"utf8mb4","collate":"utf8mb4_bin",
"cols":[
 {"id":1,"name":{"O":"id","L":"id"},"offset":0,"origin_default":null,"origin_default_bit":null,"default":null,"default_bit":null,"default_is_expr":false,"generated_expr_string":"","generated_stored":false,"dependences":null,
  "type":{"Tp":8,"Flag":515,"Flen":20,"Decimal":0,"Charset":"binary","Collate":"binary","Elems":null,"ElemsIsBinaryLit":null,"Array":false},"state":5,"comment":"","hidden":false,"change_state_info":null,"version":2},
 {"id":2,"name":{"O":"name","L":"name"},"offset":1,"origin_default":null,"origin_default_bit":null,"default":null,"default_bit":null,"default_is_expr":false,"generated_expr_string":"","generated_stored":false,"dependences":null,
  "type":{"Tp":15,"Flag":0,"Flen":64,"Decimal":0,"Charset":"utf8mb4","Collate":"utf8mb4_bin","Elems":null,"ElemsIsBinaryLit":null,"Array":false},"state":5,"comment":"","hidden":false,"change_state_info":null,"version":2},
 {"id":3,"name":{"O":"added","L":"added"},"offset":2,"origin_default":"7","origin_default_bit":null,"default":"7","default_bit":null,"default_is_expr":false,"generated_expr_string":"","generated_stored":false,"dependences":null,
  "type":{"Tp":3,"Flag":0,"Flen":11,"Decimal":0,"Charset":"binary","Collate":"binary","Elems":null,"ElemsIsBinaryLit":null,"Array":false},"state":5,"comment":"","hidden":false,"change_state_info":null,"version":2}
],
"index_info":[{"id":1,"idx_name":{"O":"name","L":"name"},"tbl_name":{"O":"","L":""},"idx_cols":[{"name":{"O":"name","L":"name"},"offset":1,"length":-1}],"state":5,"backfill_state":0,"comment":"","index_type":1,"is_unique":false,"is_primary":false,"is_invisible":false,"is_global":false,"mv_index":false}],
"constraint_info":null,"fk_info":null,"state":5,"pk_is_handle":true,"is_common_handle":false,"common_handle_version":0,"comment":"","auto_inc_id":0,"auto_id_cache":0,"auto_rand_id":0,
"max_col_id":3,"max_idx_id":1,"max_fk_id":0,"max_cst_id":0,"update_timestamp":445566778899,"ShardRowIDBits":0,"max_shard_row_id_bits":0,"auto_random_bits":0,"auto_random_range_bits":0,"pre_split_regions":0,
"partition":null,"compression":"","view":null,"sequence":null,"Lock":null,"version":5,"tiflash_replica":null,"is_columnar":false,"temp_table_type":0,"cache_table_status":0,"policy_ref_info":null,"stats_options":null,"exchange_partition_info":null,"ttl_info":null,"revision":1}"#;

    #[test]
    fn model_1_round_trip_keeps_every_field() {
        let original: Value = serde_json::from_str(SAMPLE).unwrap();
        let t = TableInfo::from_json(SAMPLE.as_bytes()).unwrap();
        let back: Value = serde_json::from_slice(&t.to_json()).unwrap();
        assert_eq!(back, original);
        assert_eq!(t.cols[1].field_type.collate, "utf8mb4_bin");
        assert_eq!(t.cols[2].origin_default, Value::String("7".into()));
    }

    #[test]
    fn model_4_handle_kinds_and_ids() {
        let t = TableInfo::from_json(SAMPLE.as_bytes()).unwrap();
        assert_eq!(t.handle_kind().unwrap(), HandleKind::IntPk { column: 0 });
        assert_eq!(t.physical_ids(), vec![110]);
        assert_eq!(t.public_indexes().count(), 1);
        let mut rowid = t.clone();
        rowid.pk_is_handle = false;
        assert_eq!(rowid.handle_kind().unwrap(), HandleKind::RowId);
        let mut ch = t.clone();
        ch.pk_is_handle = false;
        ch.is_common_handle = true;
        assert!(ch.handle_kind().is_err(), "no primary index");
        ch.index_info.as_mut().unwrap()[0].is_primary = true;
        assert_eq!(
            ch.handle_kind().unwrap(),
            HandleKind::Common { columns: vec![1] }
        );
        let mut p = t.clone();
        p.partition = Some(PartitionInfo {
            definitions: vec![
                PartitionDefinition {
                    id: 111,
                    ..Default::default()
                },
                PartitionDefinition {
                    id: 112,
                    ..Default::default()
                },
            ],
            extra: Map::new(),
        });
        assert_eq!(p.physical_ids(), vec![111, 112]);
    }

    #[test]
    fn model_1_db_info_round_trip() {
        let j = r#"{"id":2,"db_name":{"O":"Shop","L":"shop"},"charset":"utf8mb4","collate":"utf8mb4_bin","state":5,"policy_ref_info":null}"#;
        let db = DBInfo::from_json(j.as_bytes()).unwrap();
        assert_eq!(db.db_name.l, "shop");
        let back: Value = serde_json::from_slice(&db.to_json()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(j).unwrap());
    }

    #[test]
    fn model_3_bit_default_is_base64() {
        let c: ColumnInfo =
            serde_json::from_str(r#"{"id":4,"origin_default_bit":"AQI=","type":{"Tp":16}}"#)
                .unwrap();
        assert_eq!(c.origin_default_bit_bytes().unwrap(), Some(vec![1, 2]));
        assert!(TableInfo::from_json(b"{\"cols\": 5}").is_err());
    }
}
