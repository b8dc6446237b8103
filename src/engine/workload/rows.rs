//! Rows of the workload tables and the KVs TiDB writes for them: the record KV (key per
//! handle kind, KEY-3; value in row format v2 with TiDB's `CanSkip` omissions, ROW-*,
//! ROWDEC-3) and every index KV (`codec::index`, KEY-4), routed to the right partition
//! (MODEL-6). Every value is a pure function of (seed, table name, row number, version), so a
//! test can recompute what any load, update or delete wrote. Handle and unique-key columns
//! depend on the row number only, so updates never collide.

use crate::codec::datum::{encode_key, Datum};
use crate::codec::index::{index_entry, is_stored_index, key_datum, need_restored_data};
use crate::codec::model::{HandleKind, TableInfo};
use crate::codec::mysql::{bit_bytes, flag, set_name, Decimal, Duration, Json, Time, TimeType};
use crate::codec::row::v2;
use crate::codec::table::{record_key_common, record_key_int, Handle};

use super::schema::{ALL_TYPES, EVENTS, METRICS, ORDERS};
use super::{Kvs, Mutation, WorkloadError};

type Result<T> = std::result::Result<T, WorkloadError>;

/// One generated row: where it lives, its handle and one datum per column (by offset).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedRow {
    /// The partition id holding the row (the table id when not partitioned).
    pub physical_id: i64,
    pub handle: Handle,
    pub datums: Vec<Datum>,
}

/// splitmix64 over the inputs: a deterministic 64-bit value per (row, version, salt).
#[derive(Clone, Copy)]
struct Gen {
    base: u64,
    row: u64,
    version: u64,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Gen {
    fn new(seed: u64, table: &str, row: u64, version: u64) -> Gen {
        // FNV-1a of the table name, so sbtest1 and sbtest2 differ.
        let name = table.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        });
        Gen {
            base: mix(seed ^ name),
            row,
            version,
        }
    }
    /// A value that changes with the version.
    fn v(&self, salt: u64) -> u64 {
        mix(self.base ^ mix(self.row ^ mix(self.version ^ mix(salt))))
    }
    fn digits(&self, salt: u64, groups: usize) -> String {
        (0..groups)
            .map(|g| format!("{:011}", self.v(salt + g as u64) % 100_000_000_000))
            .collect::<Vec<_>>()
            .join("-")
    }
    fn time(&self, salt: u64, tp: TimeType, fsp: u8, year0: u64, years: u64) -> Result<Datum> {
        let h = self.v(salt);
        let mut s = format!(
            "{:04}-{:02}-{:02}",
            year0 + h % years,
            1 + (h >> 8) % 12,
            1 + (h >> 12) % 28
        );
        if tp != TimeType::Date {
            s += &format!(
                " {:02}:{:02}:{:02}",
                (h >> 20) % 24,
                (h >> 28) % 60,
                (h >> 36) % 60
            );
            if fsp > 0 {
                let frac = (h >> 42) % 1_000_000;
                s += &format!(
                    ".{:0width$}",
                    frac / 10u64.pow(6 - u32::from(fsp)),
                    width = usize::from(fsp)
                );
            }
        }
        Ok(Datum::Time(Time::parse(&s, tp, fsp)?))
    }
    fn bytes(&self, salt: u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (self.v(salt + i as u64) >> 13) as u8)
            .collect()
    }
}

fn text(s: String) -> Datum {
    Datum::Bytes(s.into_bytes())
}

fn handle_int(row: u64) -> Result<i64> {
    i64::try_from(row).map_err(|_| WorkloadError::RowOutOfRange(row))
}

fn sbtest(g: Gen, id: i64) -> Vec<Datum> {
    vec![
        Datum::I64(id),
        Datum::I64((g.v(1) % 100_000) as i64 + 1),
        text(g.digits(10, 10)),
        text(g.digits(30, 5)),
    ]
}

fn orders(g: Gen, row: u64) -> Result<Vec<Datum>> {
    // A trailing space now and then: the sort key drops it, the restored data counts it.
    let space = if g.v(1).is_multiple_of(4) { " " } else { "" };
    let status = 1 + g.v(2) % 4;
    let names = ["new", "paid", "shipped", "cancelled"];
    Ok(vec![
        text(format!("ORD-{row:08}")),
        Datum::I64((row % 5) as i64 + 1),
        text(format!("cust-{:05}{space}", g.v(3) % 5000)),
        Datum::Enum {
            value: status,
            name: names[(status - 1) as usize].into(),
        },
        Datum::Decimal {
            value: Decimal::parse(&format!("{}.{:02}", g.v(4) % 1_000_000, g.v(5) % 100))?,
            prec: 12,
            frac: 2,
        },
        g.time(6, TimeType::Datetime, 0, 2020, 6)?,
        if (g.row + g.version).is_multiple_of(3) {
            Datum::Null
        } else {
            text(format!("note for {row} v{}", g.version))
        },
    ])
}

fn events(g: Gen) -> Result<Vec<Datum>> {
    let kinds = ["click", "view", "buy", "share"];
    Ok(vec![
        text(kinds[(g.v(1) % 4) as usize].into()),
        Datum::I64((g.v(2) % 100_000) as i64),
        if g.v(3).is_multiple_of(5) {
            Datum::Null
        } else {
            Datum::F64((g.v(4) % 10_000_000) as f64 / 100.0)
        },
        if g.v(5).is_multiple_of(4) {
            Datum::Null
        } else {
            text(format!("ev {}", g.v(6) % 1000))
        },
        g.time(7, TimeType::Datetime, 3, 2024, 2)?,
    ])
}

fn metrics(g: Gen, id: i64) -> Result<Vec<Datum>> {
    Ok(vec![
        Datum::I64(id),
        text(format!("host-{:02}", g.v(1) % 16)),
        g.time(2, TimeType::Datetime, 0, 2025, 1)?,
        if g.v(3).is_multiple_of(6) {
            Datum::Null
        } else {
            Datum::F64((g.v(4) % 1_000_000) as f64 / 8.0)
        },
        Datum::I64(1_000_000 + id),
    ])
}

fn all_types(g: Gen, id: i64) -> Result<Vec<Datum>> {
    let v = |s| g.v(s);
    let signed = |s, bits: u32| (v(s) % (1u64 << bits)) as i64 - (1i64 << (bits - 1));
    let text_len = if g.row.is_multiple_of(3) {
        300 + v(17) % 300
    } else {
        v(17) % 40
    } as usize;
    let long_text: String = (0..text_len)
        .map(|i| char::from(b'a' + ((v(18) as usize + i * 7) % 26) as u8))
        .collect();
    let varchar = match v(16) % 4 {
        0 => format!("needs \"quoting\", v{}\nline2", g.version),
        1 => r"\N".to_string(),
        _ => format!("vc-{}", v(15) % 100_000),
    };
    let secs = (v(24) % (838 * 3600 * 2)) as i64 - 838 * 3600;
    let set = v(28) % 16;
    let set_elems = ["a", "b", "c", "d"].map(String::from);
    let enum_value = 1 + v(27) % 3;
    let mut row = vec![
        Datum::I64(id),
        Datum::I64(signed(2, 8)),
        Datum::U64(v(3) % 256),
        Datum::I64(signed(4, 16)),
        Datum::U64(v(5) % 65_536),
        Datum::I64(signed(6, 24)),
        Datum::U64(v(7) % (1 << 24)),
        Datum::I64(id.wrapping_mul(3).wrapping_sub(1_000)),
        Datum::U64(v(9) % (1 << 32)),
        Datum::I64(v(10) as i64),
        Datum::U64(v(11)),
        Datum::F32(((v(12) % 2_000_001) as f32 - 1e6) / 8.0),
        Datum::F64((v(13) as i64 % 1_000_000_000_000) as f64 / 1000.0),
        Datum::Decimal {
            value: Decimal::parse(&format!(
                "{}{}.{:06}",
                if v(14) % 2 == 0 { "-" } else { "" },
                v(14) % 10_000_000_000_000,
                v(114) % 1_000_000
            ))?,
            prec: 20,
            frac: 6,
        },
        text(format!("ch-{:x}", v(19) % 0xFFFF_FFFF)),
        text(varchar),
        text(long_text),
        Datum::Bytes(g.bytes(20, (v(20) % 40) as usize)),
        Datum::Bytes(g.bytes(21, 8)),
        Datum::Bytes(g.bytes(22, (v(22) % 32) as usize)),
        g.time(23, TimeType::Date, 0, 1970, 80)?,
        g.time(25, TimeType::Datetime, 6, 1990, 40)?,
        g.time(26, TimeType::Timestamp, 0, 1980, 50)?,
        Datum::Duration(Duration::from_nanos(secs * 1_000_000_000, 0)?),
        Datum::I64(1901 + (v(29) % 255) as i64),
        Datum::Json(Json::from_serde(&serde_json::json!({
            "row": g.row, "v": g.version, "tags": ["x", v(30) % 10], "ok": v(31) % 2 == 0, "f": 1.5
        }))),
        Datum::Enum {
            value: enum_value,
            name: ["red", "green", "blue"][(enum_value - 1) as usize].into(),
        },
        Datum::Set {
            value: set,
            name: set_name(&set_elems, set)?,
        },
        Datum::Bit(bit_bytes(v(32) % 4096, 12)),
    ];
    // Every nullable column is NULL in one row of any seven consecutive rows.
    for (j, d) in row.iter_mut().enumerate().skip(1) {
        if (g.row + j as u64).is_multiple_of(7) {
            *d = Datum::Null;
        }
    }
    Ok(row)
}

/// The datums of `row` at `version` for a workload table (by `t.name`), its handle and
/// physical table (MODEL-4, MODEL-6).
pub fn generate_row(t: &TableInfo, row: u64, seed: u64, version: u64) -> Result<GeneratedRow> {
    let name = t.name.l.as_str();
    let g = Gen::new(seed, name, row, version);
    let id = handle_int(row)?;
    let datums = match name {
        ORDERS => orders(g, row)?,
        EVENTS => events(g)?,
        METRICS => metrics(g, id)?,
        ALL_TYPES => all_types(g, id)?,
        n if n
            .strip_prefix("sbtest")
            .is_some_and(|d| d.parse::<u32>().is_ok()) =>
        {
            sbtest(g, id)
        }
        _ => return Err(WorkloadError::UnknownTable(t.name.o.clone())),
    };
    if datums.len() != t.cols.len() {
        return Err(WorkloadError::Schema {
            table: t.name.o.clone(),
            detail: format!(
                "{} columns, the generator makes {}",
                t.cols.len(),
                datums.len()
            ),
        });
    }
    let handle = handle_of(t, &datums, id)?;
    let physical_id = physical_id_of(t, &handle)?;
    Ok(GeneratedRow {
        physical_id,
        handle,
        datums,
    })
}

/// The row handle (KEY-3): the int PK, the encoded sort keys of the clustered PK columns, or
/// `rowid` as `_tidb_rowid`.
pub fn handle_of(t: &TableInfo, datums: &[Datum], rowid: i64) -> Result<Handle> {
    Ok(match t.handle_kind()? {
        HandleKind::IntPk { column } => match datums.get(column) {
            Some(Datum::I64(i)) => Handle::Int(*i),
            Some(Datum::U64(u)) => Handle::Int(*u as i64),
            other => {
                return Err(WorkloadError::Schema {
                    table: t.name.o.clone(),
                    detail: format!("int primary key value {other:?}"),
                })
            }
        },
        HandleKind::Common { columns } => {
            let mut keys = Vec::with_capacity(columns.len());
            for o in columns {
                let (Some(col), Some(d)) = (t.cols.get(o), datums.get(o)) else {
                    return Err(WorkloadError::Schema {
                        table: t.name.o.clone(),
                        detail: format!("no value for primary-key column offset {o}"),
                    });
                };
                keys.push(key_datum(&col.field_type, d)?);
            }
            Handle::Common(encode_key(&keys)?)
        }
        HandleKind::RowId => Handle::Int(rowid),
    })
}

/// The partition a row goes to: `HASH(int handle) % partitions` (TiDB `locateHashPartition`,
/// absolute value), or the table itself when not partitioned (MODEL-6).
pub fn physical_id_of(t: &TableInfo, handle: &Handle) -> Result<i64> {
    let defs = match &t.partition {
        Some(p) if !p.definitions.is_empty() => &p.definitions,
        _ => return Ok(t.id),
    };
    let Handle::Int(h) = handle else {
        return Err(WorkloadError::Schema {
            table: t.name.o.clone(),
            detail: "partitioned by hash of a non-int handle".into(),
        });
    };
    let i = (h % defs.len() as i64).unsigned_abs() as usize;
    Ok(defs[i].id)
}

/// TiDB `CanSkip`: columns a row value leaves out (int PK handle; full-length clustered PK
/// columns without restored data; NULLs of columns whose defaults are NULL; ROWDEC-3).
fn record_value(t: &TableInfo, datums: &[Datum]) -> Result<Vec<u8>> {
    let pk = t.indexes().iter().find(|i| i.is_primary);
    let mut cols = Vec::with_capacity(datums.len());
    for (offset, (col, d)) in t.cols.iter().zip(datums).enumerate() {
        let is_pk = col.field_type.flag & flag::PRI_KEY != 0;
        if (t.pk_is_handle && is_pk) || col.is_virtual_generated() {
            continue;
        }
        if t.is_common_handle {
            if let Some(ic) = pk.and_then(|p| p.idx_cols.iter().find(|c| c.offset == offset)) {
                if ic.length <= 0 && !need_restored_data(&col.field_type) {
                    continue;
                }
            }
        }
        let default_null = col.extra.get("default").is_none_or(|v| v.is_null());
        if d.is_null() && default_null && col.origin_default.is_null() {
            continue;
        }
        cols.push((col.id, d.clone()));
    }
    Ok(v2::encode(&cols)?)
}

/// The record KV and every stored index KV of one generated row (KEY-3, KEY-4).
pub fn encode_row(t: &TableInfo, r: &GeneratedRow) -> Result<Kvs> {
    let key = match &r.handle {
        Handle::Int(h) => record_key_int(r.physical_id, *h),
        Handle::Common(b) => record_key_common(r.physical_id, b),
    };
    let mut out = vec![(key, record_value(t, &r.datums)?)];
    for idx in t.public_indexes().filter(|i| is_stored_index(t, i)) {
        out.push(index_entry(t, idx, r.physical_id, &r.datums, &r.handle)?);
    }
    Ok(out)
}

/// The KVs a load writes for `row` (record first, then indexes in index order).
pub fn row_kvs(t: &TableInfo, row: u64, seed: u64, version: u64) -> Result<Kvs> {
    encode_row(t, &generate_row(t, row, seed, version)?)
}

/// Updating `row` from version `from` to `to`: the new record value and changed index entries
/// are put; index entries whose keys disappear are deleted (TiDB `UpdateRecord`).
pub fn update_kvs(t: &TableInfo, row: u64, seed: u64, from: u64, to: u64) -> Result<Mutation> {
    let old = row_kvs(t, row, seed, from)?;
    let new = row_kvs(t, row, seed, to)?;
    let deletes = old
        .iter()
        .filter(|(k, _)| !new.iter().any(|(nk, _)| nk == k))
        .map(|(k, _)| k.clone())
        .collect();
    let puts = new
        .into_iter()
        .enumerate()
        .filter(|(i, kv)| *i == 0 || !old.contains(kv))
        .map(|(_, kv)| kv)
        .collect();
    Ok(Mutation { puts, deletes })
}

/// Deleting `row` (last written at `version`): its record key and every index key.
pub fn delete_kvs(t: &TableInfo, row: u64, seed: u64, version: u64) -> Result<Mutation> {
    Ok(Mutation {
        puts: Vec::new(),
        deletes: row_kvs(t, row, seed, version)?
            .into_iter()
            .map(|(k, _)| k)
            .collect(),
    })
}
