//! TSOs (timestamps from PD): physical milliseconds and an 18-bit logical counter in one u64,
//! and BR's rules for turning a `--backupts`/`--restored-ts` string into one.
//!
//! Owns: compose/split (TSO-1, TSO-2), TSO ⇄ UTC time (TSO-3), and parsing user strings like
//! BR's `ParseTSString` (TSO-4 … TSO-7). Pure except [`parse_ts_string`] reading the local time
//! zone when the string carries none (as BR does). Rules: format/tso.md.

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone, Utc};

use super::error::{CodecError, Result};

/// Bits of the logical part (TSO-1).
pub const PHYSICAL_SHIFT_BITS: u32 = 18;
/// Mask of the logical part (TSO-1).
pub const LOGICAL_MASK: u64 = (1 << PHYSICAL_SHIFT_BITS) - 1;
/// Largest physical time (ms) a TSO can hold: 2^46 − 1 (TSO-1).
pub const MAX_PHYSICAL_MS: u64 = u64::MAX >> PHYSICAL_SHIFT_BITS;

/// `(physical_ms << 18) + logical`, wrapping like TiKV's `TimeStamp::compose` (TSO-1).
/// Use [`checked_compose`] for values from outside.
pub fn compose(physical_ms: u64, logical: u64) -> u64 {
    (physical_ms << PHYSICAL_SHIFT_BITS).wrapping_add(logical)
}

/// [`compose`] that refuses a physical time over 2^46 − 1 or a logical over 2^18 − 1 (TSO-1).
pub fn checked_compose(physical_ms: u64, logical: u64) -> Option<u64> {
    (physical_ms <= MAX_PHYSICAL_MS && logical <= LOGICAL_MASK)
        .then(|| compose(physical_ms, logical))
}

/// Milliseconds since the Unix epoch (TSO-2).
pub fn physical(ts: u64) -> u64 {
    ts >> PHYSICAL_SHIFT_BITS
}

/// The 18-bit logical counter (TSO-2).
pub fn logical(ts: u64) -> u64 {
    ts & LOGICAL_MASK
}

/// The physical part as a UTC time, millisecond precision (TSO-3).
pub fn ts_to_datetime_utc(ts: u64) -> DateTime<Utc> {
    // physical(ts) < 2^46 ms (about year 4199), always inside chrono's range.
    DateTime::from_timestamp_millis(physical(ts) as i64).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The physical part as text for people: `YYYY-MM-DD HH:MM:SS.mmm UTC` (TSO-3).
pub fn display_utc(ts: u64) -> String {
    ts_to_datetime_utc(ts)
        .format("%Y-%m-%d %H:%M:%S%.3f UTC")
        .to_string()
}

/// `compose(unix_ms, 0)` of a point in time, like PD's `GoTimeToTS` (TSO-3). Times before
/// the epoch or past the largest physical time are errors.
pub fn datetime_to_ts<Tz: TimeZone>(t: &DateTime<Tz>) -> Result<u64> {
    let ms = t.timestamp_millis();
    u64::try_from(ms)
        .ok()
        .and_then(|ms| checked_compose(ms, 0))
        .ok_or_else(|| {
            CodecError::invalid(
                "TSO time",
                format!("{} ms since the epoch is outside 0..2^46", ms),
            )
        })
}

/// Parses a TSO given by a user, like BR's `ParseTSString` (TSO-4 … TSO-7):
/// empty → 0; only decimal digits → that TSO; otherwise a datetime
/// `YYYY-MM-DD HH:MM:SS[.fraction]` (or with `T`) with an optional zone suffix `Z`, `±hh`,
/// `±hhmm` or `±hh:mm`. Without a suffix the local time zone applies, unless `tz_check`,
/// which demands one. Errors quote the input.
pub fn parse_ts_string(s: &str, tz_check: bool) -> Result<u64> {
    if s.is_empty() {
        return Ok(0); // TSO-4
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        // TSO-5
        return s
            .parse::<u64>()
            .map_err(|_| bad(s, "decimal TSO does not fit in 64 bits"));
    }
    let (body, zone) = split_zone(s);
    let naive = parse_datetime_body(s, body)?;
    let dt = match zone {
        Some(offset_secs) => {
            let off = FixedOffset::east_opt(offset_secs)
                .ok_or_else(|| bad(s, "time zone offset out of range"))?;
            off.from_local_datetime(&naive)
                .single()
                .ok_or_else(|| bad(s, "time does not exist in its zone"))?
                .fixed_offset()
        }
        None if tz_check => {
            // TSO-6
            return Err(bad(
                s,
                "a time zone is required, e.g. '2018-05-11 01:42:23+0800'",
            ));
        }
        None => Local
            .from_local_datetime(&naive)
            .earliest()
            .ok_or_else(|| bad(s, "time does not exist in the local time zone"))?
            .fixed_offset(),
    };
    // TSO-7: fractional seconds are rounded to microseconds (fsp 6), then truncated to ms.
    let micros = dt
        .timestamp()
        .checked_mul(1_000_000)
        .and_then(|us| us.checked_add((i64::from(dt.timestamp_subsec_nanos()) + 500) / 1000))
        .ok_or_else(|| bad(s, "time out of range"))?;
    let ms = micros.div_euclid(1000);
    u64::try_from(ms)
        .ok()
        .and_then(|ms| checked_compose(ms, 0))
        .ok_or_else(|| bad(s, "time is before 1970 or after the largest TSO"))
}

fn bad(input: &str, why: &str) -> CodecError {
    CodecError::invalid("TSO string", format!("{input:?}: {why}"))
}

/// Splits a trailing zone suffix off (TSO-6): returns the body and the offset in seconds.
fn split_zone(s: &str) -> (&str, Option<i32>) {
    if let Some(body) = s.strip_suffix('Z') {
        return (body, Some(0));
    }
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0i32, |acc, d| acc * 10 + i32::from(*d - b'0'))
    };
    let n = b.len();
    // (suffix length, hour range, minute range) for ±hh:mm, ±hhmm, ±hh.
    let forms: [(usize, Option<usize>); 3] = [(6, Some(4)), (5, Some(3)), (3, None)];
    for (len, minute_at) in forms {
        if n <= len {
            continue;
        }
        let start = n - len;
        let sign = match b[start] {
            b'+' => 1,
            b'-' => -1,
            _ => continue,
        };
        let hours = start + 1..start + 3;
        if !digits(hours.clone()) {
            continue;
        }
        let minutes = match minute_at {
            Some(at) => {
                if len == 6 && b[start + 3] != b':' {
                    continue;
                }
                let r = start + at..n;
                if !digits(r.clone()) {
                    continue;
                }
                num(r)
            }
            None => 0,
        };
        // The body must end with a time, not a date part like "-05".
        if !s[..start].contains(':') {
            continue;
        }
        return (&s[..start], Some(sign * (num(hours) * 3600 + minutes * 60)));
    }
    (s, None)
}

fn parse_datetime_body(input: &str, body: &str) -> Result<NaiveDateTime> {
    let body = body.trim();
    let normalized: String = body
        .char_indices()
        .map(|(i, c)| if i == 10 && c == 'T' { ' ' } else { c })
        .collect();
    NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%d %H:%M:%S%.f").map_err(|e| {
        bad(
            input,
            &format!("not a TSO nor a datetime 'YYYY-MM-DD HH:MM:SS[.ffffff][zone]' ({e})"),
        )
    })
}

#[cfg(test)]
#[path = "tso_tests.rs"]
mod tests;
