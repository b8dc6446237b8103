//! Log backup (PITR) object names, every generation (format/log.md LOG-NAME-*): `.meta`
//! metadata names, data object names (merged groups, schema-meta, and the v6.1/v6.2
//! per-table forms), global checkpoint names and the truncate safepoint. A builder and a parser
//! side by side; no other module formats a log archive path. Names only: this module never
//! looks at object contents.

use crate::format::error::{FormatError, Result};
use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use uuid::Uuid;

pub use super::snapshot::{BACKUPMETA, LOCK};

/// LOG-NAME-1: the directory holding every `.meta` object.
pub const META_DIR: &str = "v1/backupmeta/";
/// LOG-NAME-9: the directory of the per-store global checkpoint files.
pub const GLOBAL_CHECKPOINT_DIR: &str = "v1/global_checkpoint/";
/// LOG-NAME-10: the truncate safepoint, spelled as BR's code spells it ("trancate").
pub const TRUNCATE_SAFEPOINT: &str = "v1_stream_trancate_safepoint.txt";
/// LOG-NAME-10: the spelling of current English docs; BR never reads it (reported only).
pub const TRUNCATE_SAFEPOINT_DOC_SPELLING: &str = "v1_stream_truncate_safepoint.txt";

const META_SUFFIX: &str = ".meta";
const LOG_SUFFIX: &str = ".log";
const SCHEMA_META_DIR: &str = "schema-meta";
/// LOG-NAME-4: tag of `min_begin_ts`, `min_ts`, `max_ts`, `flags`.
const TAG_MIN_BEGIN: char = 'd';
const TAG_MIN: char = 'l';
const TAG_MAX: char = 'u';
const TAG_FLAGS: char = 'p';

/// Bit 0 of the `p` tag (LOG-NAME-4): the flush wrote no meta-KV (schema-meta) files.
pub const META_FLAG_NO_META_KV: u64 = 1;
/// Bit 1 of the `p` tag (LOG-NAME-4): the flush is empty.
pub const META_FLAG_EMPTY: u64 = 2;

/// The decoded parts of a `.meta` file name, one variant per generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetaName {
    /// LOG-NAME-1 (TiKV v6.1, v6.2: `{:012}`) and LOG-NAME-2 (v6.3 … v8.5.2: plain decimal):
    /// `{min_resolved_ts}-{uuid}.meta`. `padded` records a 12-digit zero-padded number; for
    /// real TSOs (18 digits) both generations give the same text.
    Decimal {
        min_resolved_ts: u64,
        uuid: Uuid,
        padded: bool,
    },
    /// LOG-NAME-3 (v8.5.3 … v8.5.x): four 16-hex-digit parts, optionally `-SYNTHETIC<hex>`.
    LegacyHex {
        flush_ts: u64,
        min_begin_ts: u64,
        min_ts: u64,
        max_ts: u64,
        synthetic: Option<String>,
    },
    /// LOG-NAME-4 (master 2026): `{flush:016X}{store:016X}-` then tagged 16-hex values.
    Tagged {
        flush_ts: u64,
        store_id: u64,
        min_begin_ts: u64,
        min_ts: u64,
        max_ts: u64,
        /// The `p` tag, when present.
        flags: Option<u64>,
        /// Tags this brkit does not know, in name order (kept, as BR and TiKV do).
        other_tags: Vec<(char, u64)>,
    },
}

impl MetaName {
    /// The generation name used in reports and spec examples.
    pub fn generation(&self) -> &'static str {
        match self {
            MetaName::Decimal { padded: true, .. } => "padded-decimal",
            MetaName::Decimal { padded: false, .. } => "decimal",
            MetaName::LegacyHex { .. } => "legacy-hex",
            MetaName::Tagged { .. } => "tagged",
        }
    }

    /// The file name (no directory), the inverse of [`parse_meta_file_name`] (LOG-NAME-1…4).
    /// Hex digits are written upper case, as TiKV writes them.
    pub fn file_name(&self) -> String {
        match self {
            MetaName::Decimal {
                min_resolved_ts,
                uuid,
                padded,
            } => {
                if *padded {
                    format!("{min_resolved_ts:012}-{uuid}{META_SUFFIX}")
                } else {
                    format!("{min_resolved_ts}-{uuid}{META_SUFFIX}")
                }
            }
            MetaName::LegacyHex {
                flush_ts,
                min_begin_ts,
                min_ts,
                max_ts,
                synthetic,
            } => {
                let mut s =
                    format!("{flush_ts:016X}-{min_begin_ts:016X}-{min_ts:016X}-{max_ts:016X}");
                if let Some(syn) = synthetic {
                    s.push_str("-SYNTHETIC");
                    s.push_str(syn);
                }
                s.push_str(META_SUFFIX);
                s
            }
            MetaName::Tagged {
                flush_ts,
                store_id,
                min_begin_ts,
                min_ts,
                max_ts,
                flags,
                other_tags,
            } => {
                let mut s = format!(
                    "{flush_ts:016X}{store_id:016X}-{TAG_MIN_BEGIN}{min_begin_ts:016X}{TAG_MIN}{min_ts:016X}{TAG_MAX}{max_ts:016X}"
                );
                if let Some(f) = flags {
                    s.push_str(&format!("{TAG_FLAGS}{f:016X}"));
                }
                for (tag, v) in other_tags {
                    s.push_str(&format!("{tag}{v:016X}"));
                }
                s.push_str(META_SUFFIX);
                s
            }
        }
    }

    /// The full object path under [`META_DIR`].
    pub fn path(&self) -> String {
        format!("{META_DIR}{}", self.file_name())
    }
}

/// Builds the name brkit writes: the current tagged form (LOG-NAME-4) with the `p` flags tag.
pub fn build_meta_path(
    flush_ts: u64,
    store_id: u64,
    min_begin_ts: u64,
    min_ts: u64,
    max_ts: u64,
    flags: u64,
) -> String {
    MetaName::Tagged {
        flush_ts,
        store_id,
        min_begin_ts,
        min_ts,
        max_ts,
        flags: Some(flags),
        other_tags: Vec::new(),
    }
    .path()
}

fn parse_hex16(rule: &'static str, name: &str, part: &str, what: &str) -> Result<u64> {
    if part.len() != 16 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FormatError::bad_name(
            rule,
            name,
            format!("{what} {part:?} is not 16 hex digits"),
        ));
    }
    u64::from_str_radix(part, 16)
        .map_err(|_| FormatError::bad_name(rule, name, format!("{what} {part:?} is not hex")))
}

/// A decimal field of a log name: digits only, fits u64, and no leading zero unless the field
/// is the 12-digit zero-padded form of the v6.1/v6.2 generation (returned as `true`).
fn parse_dec(rule: &'static str, name: &str, part: &str, what: &str) -> Result<(u64, bool)> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FormatError::bad_name(
            rule,
            name,
            format!("{what} {part:?} is not a decimal number"),
        ));
    }
    let padded = part.len() > 1 && part.starts_with('0');
    if padded && part.len() != 12 {
        return Err(FormatError::bad_name(
            rule,
            name,
            format!("{what} {part:?} has leading zeros but is not 12 digits"),
        ));
    }
    let v = part
        .parse()
        .map_err(|_| FormatError::bad_name(rule, name, format!("{what} {part:?} overflows u64")))?;
    Ok((v, padded))
}

/// A hyphenated lower-case UUID, as TiKV's `Uuid::new_v4()` prints it.
fn parse_uuid(rule: &'static str, name: &str, part: &str) -> Result<Uuid> {
    let ok_shape = part.len() == 36
        && part.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    if !ok_shape {
        return Err(FormatError::bad_name(
            rule,
            name,
            format!("{part:?} is not a hyphenated lower-case UUID"),
        ));
    }
    Uuid::parse_str(part)
        .map_err(|e| FormatError::bad_name(rule, name, format!("bad UUID {part:?}: {e}")))
}

/// Splits `{number}-{uuid}` (the uuid itself contains hyphens).
fn split_ts_uuid<'a>(rule: &'static str, name: &str, stem: &'a str) -> Result<(&'a str, &'a str)> {
    stem.split_once('-')
        .ok_or_else(|| FormatError::bad_name(rule, name, "expected {ts}-{uuid}"))
}

/// Parses a `.meta` path: `v1/backupmeta/<file name>` (LOG-NAME-1…4).
pub fn parse_meta_path(path: &str) -> Result<MetaName> {
    let file = path.strip_prefix(META_DIR).ok_or_else(|| {
        FormatError::bad_name("LOG-NAME-1", path, format!("not under {META_DIR}"))
    })?;
    if file.contains('/') {
        return Err(FormatError::bad_name(
            "LOG-NAME-1",
            path,
            "a .meta object lies directly in v1/backupmeta/",
        ));
    }
    parse_meta_file_name(file).map_err(|e| e.in_file(path))
}

/// Parses a `.meta` file name of any generation (LOG-NAME-1…4). Hex parts are read case
/// insensitively, like BR's `backupmetas.ParseName`. LOG-NAME-5: readers do not depend on
/// this; an unparsable name is reported, and the object is still read.
pub fn parse_meta_file_name(name: &str) -> Result<MetaName> {
    let stem = name
        .strip_suffix(META_SUFFIX)
        .ok_or_else(|| FormatError::bad_name("LOG-NAME-1", name, "does not end in .meta"))?;
    if !stem.is_ascii() {
        return Err(FormatError::bad_name("LOG-NAME-1", name, "not ASCII"));
    }
    let (head, rest) = split_ts_uuid("LOG-NAME-1", name, stem)?;
    if head.len() == 32 {
        return parse_tagged(name, head, rest);
    }
    // A UUID's first group has 8 digits; the legacy form's second part has 16.
    let next_len = rest.split('-').next().map_or(0, str::len);
    if head.len() == 16 && next_len == 16 {
        return parse_legacy_hex(name, stem);
    }
    let (min_resolved_ts, padded) = parse_dec("LOG-NAME-2", name, head, "min_resolved_ts")?;
    let uuid = parse_uuid("LOG-NAME-2", name, rest)?;
    Ok(MetaName::Decimal {
        min_resolved_ts,
        uuid,
        padded,
    })
}

fn parse_legacy_hex(name: &str, stem: &str) -> Result<MetaName> {
    const R: &str = "LOG-NAME-3";
    let parts: Vec<&str> = stem.split('-').collect();
    let synthetic = match parts.len() {
        4 => None,
        5 => {
            let syn = parts[4].strip_prefix("SYNTHETIC").ok_or_else(|| {
                FormatError::bad_name(R, name, "fifth part must be SYNTHETIC<hex>")
            })?;
            if syn.is_empty() || syn.len() > 64 || !syn.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(FormatError::bad_name(
                    R,
                    name,
                    "SYNTHETIC must be followed by 1 to 64 hex digits",
                ));
            }
            Some(syn.to_string())
        }
        _ => {
            return Err(FormatError::bad_name(
                R,
                name,
                "expected four 16-hex-digit parts",
            ))
        }
    };
    Ok(MetaName::LegacyHex {
        flush_ts: parse_hex16(R, name, parts[0], "flush_ts")?,
        min_begin_ts: parse_hex16(R, name, parts[1], "min_begin_ts")?,
        min_ts: parse_hex16(R, name, parts[2], "min_ts")?,
        max_ts: parse_hex16(R, name, parts[3], "max_ts")?,
        synthetic,
    })
}

fn parse_tagged(name: &str, head: &str, suffix: &str) -> Result<MetaName> {
    const R: &str = "LOG-NAME-4";
    const SEG: usize = 17;
    let flush_ts = parse_hex16(R, name, &head[..16], "flush_ts")?;
    let store_id = parse_hex16(R, name, &head[16..], "store_id")?;
    let mut seen: Vec<(char, u64)> = Vec::new();
    let mut rest = suffix;
    if rest.is_empty() {
        return Err(FormatError::bad_name(R, name, "no tags after '-'"));
    }
    while !rest.is_empty() {
        if rest.len() < SEG {
            return Err(FormatError::bad_name(
                R,
                name,
                format!("incomplete tag segment ({} bytes left)", rest.len()),
            ));
        }
        let (seg, tail) = rest.split_at(SEG);
        let tag = seg.as_bytes()[0] as char;
        if !tag.is_ascii_alphanumeric() {
            return Err(FormatError::bad_name(
                R,
                name,
                format!("invalid tag {tag:?}"),
            ));
        }
        let v = parse_hex16(R, name, &seg[1..], &format!("tag {tag}"))?;
        if seen.iter().any(|(t, _)| *t == tag) {
            return Err(FormatError::bad_name(
                R,
                name,
                format!("duplicate tag {tag:?}"),
            ));
        }
        seen.push((tag, v));
        rest = tail;
    }
    let mut take = |tag: char| -> Option<u64> {
        let i = seen.iter().position(|(t, _)| *t == tag)?;
        Some(seen.remove(i).1)
    };
    let need = |v: Option<u64>, tag: char| {
        v.ok_or_else(|| FormatError::bad_name(R, name, format!("missing tag {tag:?}")))
    };
    let min_begin_ts = need(take(TAG_MIN_BEGIN), TAG_MIN_BEGIN)?;
    let min_ts = need(take(TAG_MIN), TAG_MIN)?;
    let max_ts = need(take(TAG_MAX), TAG_MAX)?;
    let flags = take(TAG_FLAGS);
    Ok(MetaName::Tagged {
        flush_ts,
        store_id,
        min_begin_ts,
        min_ts,
        max_ts,
        flags,
        other_tags: seen,
    })
}

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

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
