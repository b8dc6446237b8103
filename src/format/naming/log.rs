//! Log backup (PITR) object names, every generation (format/log.md LOG-NAME-*): `.meta`
//! metadata names, data object names (merged groups, schema-meta, and the v6.1/v6.2
//! per-table forms), global checkpoint names and the truncate safepoint. A builder and a parser
//! side by side; no other module formats a log archive path. Names only: this module never
//! looks at object contents.

use crate::format::error::{FormatError, Result};
use uuid::Uuid;

pub use super::snapshot::{BACKUPMETA, LOCK};

/// LOG-NAME-1: the root of every object of the log layout except the lock, the root and the
/// truncate safepoint (what a listing of data objects starts from).
pub const LOG_DIR: &str = "v1/";
/// LOG-MERGE-12: the directory of brkit's pending-deletion journals (BR ignores it: it reads
/// only `v1/backupmeta/`, `v1/global_checkpoint/` and the data objects metas list).
pub const JOURNAL_DIR: &str = "v1/brkit_pending_deletes/";
const JOURNAL_SUFFIX: &str = ".json";

/// LOG-MERGE-12: a journal's name, `JOURNAL_DIR` + a UUID + `.json`.
pub fn build_journal_path(uuid: Uuid) -> String {
    format!("{JOURNAL_DIR}{uuid}{JOURNAL_SUFFIX}")
}

/// True for a path [`build_journal_path`] can produce (under `JOURNAL_DIR`, ending `.json`).
pub fn is_journal_path(path: &str) -> bool {
    path.strip_prefix(JOURNAL_DIR)
        .and_then(|rest| rest.strip_suffix(JOURNAL_SUFFIX))
        .is_some_and(|id| Uuid::parse_str(id).is_ok())
}

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

#[path = "log_data.rs"]
mod data;
pub use data::*;

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
