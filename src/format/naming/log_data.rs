//! Log data object names (format/log.md LOG-NAME-6 … LOG-NAME-9): merged group objects,
//! schema-meta objects, the v6.1/v6.2 per-table forms and global checkpoint names. Part of
//! `naming::log`; a builder beside every parser.

use super::{
    parse_dec, parse_uuid, split_ts_uuid, GLOBAL_CHECKPOINT_DIR, LOG_SUFFIX, SCHEMA_META_DIR,
};
use crate::format::error::{FormatError, Result};
use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use uuid::Uuid;

/// A UTC calendar hour: the `{YYYYMMDD}/{HH}` directories of a data object (LOG-NAME-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateHour {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl DateHour {
    /// The UTC date and hour of `physical(ts)` (LOG-NAME-6; TSO physical = ts >> 18 ms).
    pub fn of_ts(ts: u64) -> DateHour {
        let ms = (ts >> 18) as i64; // < 2^46, always representable
        let dt = DateTime::from_timestamp_millis(ms).unwrap_or_default();
        DateHour {
            year: dt.year(),
            month: dt.month(),
            day: dt.day(),
            hour: dt.hour(),
        }
    }

    fn date_str(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    fn parse_date(rule: &'static str, name: &str, s: &str) -> Result<(i32, u32, u32)> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FormatError::bad_name(
                rule,
                name,
                format!("{s:?} is not YYYYMMDD"),
            ));
        }
        let d = NaiveDate::parse_from_str(s, "%Y%m%d")
            .map_err(|_| FormatError::bad_name(rule, name, format!("{s:?} is not a date")))?;
        Ok((d.year(), d.month(), d.day()))
    }

    fn parse(rule: &'static str, name: &str, date: &str, hour: &str) -> Result<DateHour> {
        let (year, month, day) = Self::parse_date(rule, name, date)?;
        if hour.len() != 2 || !hour.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FormatError::bad_name(
                rule,
                name,
                format!("{hour:?} is not HH"),
            ));
        }
        let hour: u32 = hour.parse().unwrap_or(99);
        if hour > 23 {
            return Err(FormatError::bad_name(rule, name, "hour over 23"));
        }
        Ok(DateHour {
            year,
            month,
            day,
            hour,
        })
    }
}

/// The decoded parts of a log data object path, one variant per generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogDataName {
    /// LOG-NAME-6 / LOG-NAME-7 (v6.3+): `v1/{YYYYMMDD}/{HH}/{store}/[schema-meta/]{min_ts}-{uuid}.log`,
    /// one object per `DataFileGroup`.
    Group {
        date_hour: DateHour,
        store_id: u64,
        schema_meta: bool,
        min_ts: u64,
        uuid: Uuid,
    },
    /// LOG-NAME-8 (v6.2, parse only): `v1/{YYYYMMDD}/{HH}/{store}/t{table:08}/{min_ts:012}-{uuid}.log`.
    V62Table {
        date_hour: DateHour,
        store_id: u64,
        table_id: i64,
        min_ts: u64,
        uuid: Uuid,
    },
    /// LOG-NAME-8 (v6.1, parse only): `v1/t{table:08}/{YYYYMMDD}-{min_ts:012}-{uuid}.log`, or
    /// `v1/schema-meta/{YYYYMMDD}-{min_ts:012}-{uuid}.log` (`table_id` = `None`).
    V61 {
        date: (i32, u32, u32),
        table_id: Option<i64>,
        min_ts: u64,
        uuid: Uuid,
    },
}

/// Builds the path of a merged data object the way TiKV does (LOG-NAME-6, LOG-NAME-7): the
/// date/hour directories come from `physical(max_ts)` in UTC.
pub fn build_log_data_path(
    store_id: u64,
    min_ts: u64,
    max_ts: u64,
    uuid: Uuid,
    schema_meta: bool,
) -> String {
    format_log_data_path(&LogDataName::Group {
        date_hour: DateHour::of_ts(max_ts),
        store_id,
        schema_meta,
        min_ts,
        uuid,
    })
}

/// The inverse of [`parse_log_data_path`].
pub fn format_log_data_path(n: &LogDataName) -> String {
    match n {
        LogDataName::Group {
            date_hour,
            store_id,
            schema_meta,
            min_ts,
            uuid,
        } => {
            let meta = if *schema_meta { "schema-meta/" } else { "" };
            format!(
                "v1/{}/{:02}/{store_id}/{meta}{min_ts}-{uuid}{LOG_SUFFIX}",
                date_hour.date_str(),
                date_hour.hour
            )
        }
        LogDataName::V62Table {
            date_hour,
            store_id,
            table_id,
            min_ts,
            uuid,
        } => format!(
            "v1/{}/{:02}/{store_id}/t{table_id:08}/{min_ts:012}-{uuid}{LOG_SUFFIX}",
            date_hour.date_str(),
            date_hour.hour
        ),
        LogDataName::V61 {
            date: (y, m, d),
            table_id,
            min_ts,
            uuid,
        } => {
            let dir = match table_id {
                Some(t) => format!("t{t:08}"),
                None => SCHEMA_META_DIR.to_string(),
            };
            format!("v1/{dir}/{y:04}{m:02}{d:02}-{min_ts:012}-{uuid}{LOG_SUFFIX}")
        }
    }
}

fn parse_table_dir(rule: &'static str, name: &str, s: &str) -> Result<i64> {
    let digits = s
        .strip_prefix('t')
        .ok_or_else(|| FormatError::bad_name(rule, name, "expected t{table_id:08}"))?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FormatError::bad_name(
            rule,
            name,
            "table id is not at least 8 decimal digits",
        ));
    }
    if digits.len() > 8 && digits.starts_with('0') {
        return Err(FormatError::bad_name(
            rule,
            name,
            "table id has extra leading zeros",
        ));
    }
    digits
        .parse()
        .map_err(|_| FormatError::bad_name(rule, name, "table id overflows i64"))
}

/// Parses a log data object path of any generation (LOG-NAME-6…8).
pub fn parse_log_data_path(path: &str) -> Result<LogDataName> {
    const R6: &str = "LOG-NAME-6";
    let stem = path
        .strip_suffix(LOG_SUFFIX)
        .ok_or_else(|| FormatError::bad_name(R6, path, "does not end in .log"))?;
    let segs: Vec<&str> = stem.split('/').collect();
    if segs.first() != Some(&"v1") {
        return Err(FormatError::bad_name(R6, path, "not under v1/"));
    }
    match segs.len() {
        3 => {
            // v6.1: v1/{t%08d|schema-meta}/{date}-{min_ts:012}-{uuid}
            const R: &str = "LOG-NAME-8";
            let table_id = if segs[1] == SCHEMA_META_DIR {
                None
            } else {
                Some(parse_table_dir(R, path, segs[1])?)
            };
            let (date, rest) = segs[2]
                .split_once('-')
                .ok_or_else(|| FormatError::bad_name(R, path, "expected {date}-{min_ts}-{uuid}"))?;
            let date = DateHour::parse_date(R, path, date)?;
            let (ts, uuid) = split_ts_uuid(R, path, rest)?;
            let (min_ts, _) = parse_dec(R, path, ts, "min_ts")?;
            Ok(LogDataName::V61 {
                date,
                table_id,
                min_ts,
                uuid: parse_uuid(R, path, uuid)?,
            })
        }
        5 | 6 => {
            let date_hour = DateHour::parse(R6, path, segs[1], segs[2])?;
            let (store_id, padded) = parse_dec(R6, path, segs[3], "store_id")?;
            if padded {
                return Err(FormatError::bad_name(
                    R6,
                    path,
                    "store id has leading zeros",
                ));
            }
            let (ts, uuid) = split_ts_uuid(R6, path, segs[segs.len() - 1])?;
            let uuid = parse_uuid(R6, path, uuid)?;
            if segs.len() == 5 {
                let (min_ts, padded) = parse_dec(R6, path, ts, "min_ts")?;
                if padded {
                    return Err(FormatError::bad_name(R6, path, "min_ts has leading zeros"));
                }
                return Ok(LogDataName::Group {
                    date_hour,
                    store_id,
                    schema_meta: false,
                    min_ts,
                    uuid,
                });
            }
            if segs[4] == SCHEMA_META_DIR {
                let (min_ts, padded) = parse_dec("LOG-NAME-7", path, ts, "min_ts")?;
                if padded {
                    return Err(FormatError::bad_name(
                        "LOG-NAME-7",
                        path,
                        "min_ts has leading zeros",
                    ));
                }
                return Ok(LogDataName::Group {
                    date_hour,
                    store_id,
                    schema_meta: true,
                    min_ts,
                    uuid,
                });
            }
            let table_id = parse_table_dir("LOG-NAME-8", path, segs[4])?;
            let (min_ts, _) = parse_dec("LOG-NAME-8", path, ts, "min_ts")?;
            Ok(LogDataName::V62Table {
                date_hour,
                store_id,
                table_id,
                min_ts,
                uuid,
            })
        }
        _ => Err(FormatError::bad_name(
            R6,
            path,
            "expected v1/{date}/{hour}/{store}/[schema-meta/]{min_ts}-{uuid}.log or a v6.1 form",
        )),
    }
}

/// LOG-NAME-9: `v1/global_checkpoint/{store_id}.ts`.
pub fn build_global_checkpoint_path(store_id: u64) -> String {
    format!("{GLOBAL_CHECKPOINT_DIR}{store_id}.ts")
}

/// Parses a global checkpoint path (LOG-NAME-9) into the store id.
pub fn parse_global_checkpoint_path(path: &str) -> Result<u64> {
    const R: &str = "LOG-NAME-9";
    let id = path
        .strip_prefix(GLOBAL_CHECKPOINT_DIR)
        .and_then(|s| s.strip_suffix(".ts"))
        .ok_or_else(|| {
            FormatError::bad_name(R, path, "expected v1/global_checkpoint/{store_id}.ts")
        })?;
    let (v, padded) = parse_dec(R, path, id, "store_id")?;
    if padded {
        return Err(FormatError::bad_name(R, path, "store id has leading zeros"));
    }
    Ok(v)
}
