//! [`RowDecoder`]: turns `(handle, row value)` into one typed datum per visible column, in
//! column order, following TiDB's chunk decoder (format/rows.md ROWDEC-1 … ROWDEC-4).

use crate::codec::datum::Datum;
use crate::codec::error::{CodecError, Result};
use crate::codec::model::{ColumnInfo, FieldType, HandleKind, TableInfo};
use crate::codec::mysql::TimeType;

use super::typed::{coerce_flat, decode_v2_value, parse_default};
use super::v2::{ChecksumStatus, RowV2, Slot};
use super::{is_new_format, v1, Handle};

#[derive(Debug, Clone)]
enum HandlePos {
    /// The int handle is this column (pk_is_handle).
    Int,
    /// Position among the common-handle datums.
    Common(usize),
}

#[derive(Debug, Clone)]
struct ColPlan {
    id: i64,
    name: String,
    ft: FieldType,
    virtual_generated: bool,
    default: Datum,
    handle: Option<HandlePos>,
}

/// Whether the `i`-th primary-index column covers the whole column (no prefix length).
fn full_length_pk_column(table: &TableInfo, i: usize) -> bool {
    table
        .indexes()
        .iter()
        .find(|x| x.is_primary)
        .and_then(|pk| pk.idx_cols.get(i))
        .is_some_and(|c| c.length <= 0) // -1 (TiDB's unspecified) or absent
}

/// Decodes row values of one table version into typed datums (ROWDEC-1).
#[derive(Debug, Clone)]
pub struct RowDecoder {
    cols: Vec<ColPlan>,
    common_handle_len: usize,
    /// Seconds east of UTC to show TIMESTAMP values in (TIME-3); 0 keeps UTC.
    tz_offset_secs: i64,
}

fn in_column(col: &ColPlan, e: CodecError) -> CodecError {
    CodecError::invalid(
        "row column",
        format!("column {} (id {}): {e}", col.name, col.id),
    )
}

impl RowDecoder {
    /// Plans decoding for the visible columns of `table` (MODEL-3), parsing every
    /// `origin_default` up front so a bad schema fails here, not per row.
    pub fn new(table: &TableInfo) -> Result<RowDecoder> {
        let kind = table.handle_kind()?;
        let visible: Vec<(usize, &ColumnInfo)> = table
            .cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_visible())
            .collect();
        let mut cols = Vec::with_capacity(visible.len());
        for (offset, c) in visible {
            let handle = match &kind {
                HandleKind::IntPk { column } if *column == offset => Some(HandlePos::Int),
                // ROWDEC-3: TiDB skips a full-length primary-key column that needs no restored
                // data from the value (`CanSkip`), so the handle holds it; a prefix column
                // (`length != -1`) is always in the value.
                HandleKind::Common { columns } => columns
                    .iter()
                    .position(|o| *o == offset)
                    .and_then(|i| full_length_pk_column(table, i).then_some(HandlePos::Common(i))),
                _ => None,
            };
            let default = parse_default(c)?;
            cols.push(ColPlan {
                id: c.id,
                name: c.name.o.clone(),
                ft: c.field_type.clone(),
                virtual_generated: c.is_virtual_generated(),
                default,
                handle,
            });
        }
        let common_handle_len = match &kind {
            HandleKind::Common { columns } => columns.len(),
            _ => 0,
        };
        Ok(RowDecoder {
            cols,
            common_handle_len,
            tz_offset_secs: 0,
        })
    }

    /// Shows TIMESTAMP columns in a fixed UTC offset (seconds east) instead of UTC (TIME-3).
    pub fn with_time_zone_offset(mut self, secs: i32) -> RowDecoder {
        self.tz_offset_secs = i64::from(secs);
        self
    }

    fn localize(&self, d: Datum) -> Datum {
        match d {
            Datum::Time(t) if t.tp == TimeType::Timestamp && self.tz_offset_secs != 0 => {
                Datum::Time(t.add_seconds(self.tz_offset_secs).unwrap_or(t))
            }
            other => other,
        }
    }

    /// Names of the output columns, in output order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.cols.iter().map(|c| c.name.as_str())
    }

    /// Field types of the output columns, in output order.
    pub fn field_types(&self) -> impl Iterator<Item = &FieldType> {
        self.cols.iter().map(|c| &c.ft)
    }

    /// Decodes one row; a v2 checksum is verified against the handle (ROWDEC-4).
    pub fn decode(&self, handle: &Handle, value: &[u8]) -> Result<Vec<Datum>> {
        self.decode_with_key(handle, None, value)
    }

    /// Like [`RowDecoder::decode`], also giving the raw record key for checksum version 1.
    pub fn decode_with_key(
        &self,
        handle: &Handle,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> Result<Vec<Datum>> {
        let handle_datums = match handle {
            Handle::Common(_) if self.common_handle_len > 0 => {
                let d = handle.datums()?;
                if d.len() != self.common_handle_len {
                    return Err(CodecError::invalid(
                        "common handle",
                        format!(
                            "{} datums, the primary key has {} columns (ROWDEC-2)",
                            d.len(),
                            self.common_handle_len
                        ),
                    ));
                }
                d
            }
            _ => Vec::new(),
        };
        let from_handle = |col: &ColPlan| -> Result<Option<Datum>> {
            match (&col.handle, handle) {
                (Some(HandlePos::Int), Handle::Int(i)) => {
                    coerce_flat(Datum::I64(*i), &col.ft).map(Some)
                }
                (Some(HandlePos::Common(i)), Handle::Common(_)) => match handle_datums.get(*i) {
                    Some(d) => coerce_flat(d.clone(), &col.ft).map(Some),
                    None => Ok(None),
                },
                _ => Ok(None),
            }
        };
        let mut out = Vec::with_capacity(self.cols.len());
        if is_new_format(value) {
            let row = RowV2::decode(value)?;
            let enc = handle.encoded();
            if row.verify_checksum(key, Some(&enc))? == ChecksumStatus::Unverifiable {
                tracing::trace!("row checksum version 0 or without key: not verified");
            }
            for col in &self.cols {
                let d = if col.virtual_generated {
                    Datum::Null
                } else {
                    match row.get(col.id) {
                        Slot::Value(b) => {
                            decode_v2_value(b, &col.ft).map_err(|e| in_column(col, e))?
                        }
                        slot => self.missing(col, slot == Slot::Null, &from_handle)?,
                    }
                };
                out.push(self.localize(d));
            }
        } else {
            let pairs = v1::decode(value)?;
            for col in &self.cols {
                let d = if col.virtual_generated {
                    Datum::Null
                } else {
                    match pairs.iter().find(|(id, _)| *id == col.id) {
                        Some((_, Datum::Null)) => self.missing(col, true, &from_handle)?,
                        Some((_, d)) => {
                            coerce_flat(d.clone(), &col.ft).map_err(|e| in_column(col, e))?
                        }
                        None => self.missing(col, false, &from_handle)?,
                    }
                };
                out.push(self.localize(d));
            }
        }
        Ok(out)
    }

    /// A column without a stored value: the handle, else NULL if listed as null, else the
    /// column's origin default (ROWDEC-3).
    fn missing(
        &self,
        col: &ColPlan,
        is_null: bool,
        from_handle: &dyn Fn(&ColPlan) -> Result<Option<Datum>>,
    ) -> Result<Datum> {
        if let Some(d) = from_handle(col).map_err(|e| in_column(col, e))? {
            return Ok(d);
        }
        if is_null {
            return Ok(Datum::Null);
        }
        Ok(col.default.clone())
    }
}
