//! MySQL `TIME` values ("durations"): signed nanoseconds plus a fractional-second precision
//! (format/rows.md DUR-1, DUR-2).

use std::fmt;

use super::time::parse_micros;
use crate::codec::error::{CodecError, Result};

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// `838:59:59.999999999` in nanoseconds: anything beyond is a damaged value (DUR-1).
pub const MAX_NANOS: i64 = (838 * 3600 + 59 * 60 + 59) * NANOS_PER_SEC + 999_999_999;

/// A MySQL TIME: nanoseconds (as TiDB's Go `time.Duration`) and fsp 0..=6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duration {
    pub nanos: i64,
    pub fsp: u8,
}

impl Duration {
    /// Builds a duration, rejecting values outside ±838:59:59.999999999 (DUR-1).
    pub fn from_nanos(nanos: i64, fsp: u8) -> Result<Duration> {
        if !(-MAX_NANOS..=MAX_NANOS).contains(&nanos) {
            return Err(CodecError::invalid(
                "duration",
                format!("{nanos} ns is outside ±838:59:59 (DUR-1)"),
            ));
        }
        Ok(Duration {
            nanos,
            fsp: fsp.min(6),
        })
    }

    /// Parses `[-]H…H:MM:SS[.f…]` (the form TiDB stores in `origin_default`).
    pub fn parse(s: &str, fsp: u8) -> Result<Duration> {
        let bad = |d: &str| CodecError::invalid("duration text", format!("{s:?}: {d}"));
        let s = s.trim();
        let (neg, rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (hms, frac) = match rest.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        let mut parts = hms.split(':');
        let (Some(h), Some(m), Some(sec), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected HH:MM:SS"));
        };
        let num = |p: &str| -> Result<i64> {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("not a number"));
            }
            p.parse::<i64>().map_err(|_| bad("not a number"))
        };
        let (h, m, sec) = (num(h)?, num(m)?, num(sec)?);
        if m > 59 || sec > 59 {
            return Err(bad("minute or second out of range"));
        }
        let micros = match frac {
            Some(f) => i64::from(parse_micros(f).ok_or_else(|| bad("fraction"))?),
            None => 0,
        };
        let total = ((h * 3600 + m * 60 + sec) * 1_000_000 + micros) * 1000;
        Duration::from_nanos(if neg { -total } else { total }, fsp)
    }
}

impl fmt::Display for Duration {
    /// `[-]HH:MM:SS[.f{fsp}]`, hours at least two digits (DUR-2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.nanos.unsigned_abs();
        let secs = abs / NANOS_PER_SEC as u64;
        let micros = (abs % NANOS_PER_SEC as u64) / 1000;
        if self.nanos < 0 {
            f.write_str("-")?;
        }
        write!(
            f,
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        )?;
        if self.fsp > 0 {
            let frac = format!("{micros:06}");
            write!(f, ".{}", &frac[..usize::from(self.fsp.min(6))])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // pingcap/tidb rowcodec_test.go (TestTypesNewRowCodec): 4:00:00 is 14400000000000 ns.
    #[test]
    fn dur_1_tidb_known_answer() {
        let d = Duration::parse("4:00:00", 0).unwrap();
        assert_eq!(d.nanos, 14_400_000_000_000);
        assert_eq!(d.to_string(), "04:00:00");
    }

    #[test]
    fn dur_2_prints_sign_hours_and_fsp() {
        let d = Duration::parse("-838:59:59.5", 1).unwrap();
        assert_eq!(d.to_string(), "-838:59:59.5");
        let d = Duration::from_nanos(1_234_567_890, 6).unwrap();
        assert_eq!(d.to_string(), "00:00:01.234567");
        let d = Duration::from_nanos(1_234_567_890, 2).unwrap();
        assert_eq!(d.to_string(), "00:00:01.23");
    }

    #[test]
    fn dur_1_rejects_out_of_range() {
        assert!(Duration::from_nanos(MAX_NANOS + 1, 0).is_err());
        assert!(Duration::from_nanos(i64::MIN, 0).is_err());
        assert!(Duration::parse("839:00:00", 0).is_err());
        assert!(Duration::parse("1:60:00", 0).is_err());
    }

    proptest! {
        #[test]
        fn dur_2_round_trip_via_strings(us in -(MAX_NANOS / 1000)..=(MAX_NANOS / 1000)) {
            let d = Duration::from_nanos(us * 1000, 6).unwrap();
            prop_assert_eq!(Duration::parse(&d.to_string(), 6).unwrap(), d);
        }
    }
}
