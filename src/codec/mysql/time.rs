//! MySQL `DATE` / `DATETIME` / `TIMESTAMP` values and TiDB's packed `u64` form
//! (format/rows.md TIME-1 … TIME-4). Owns no time-zone logic: a TIMESTAMP is kept as the UTC
//! wall clock it is stored as (TIME-3).

use std::fmt;

use crate::codec::error::{CodecError, Result};

/// Which MySQL temporal type a [`Time`] is (decides how it prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeType {
    Date,
    Datetime,
    Timestamp,
}

/// A MySQL date/datetime/timestamp: calendar fields exactly as stored (zero dates and zero
/// months/days are legal in MySQL), plus the type and fractional-second precision (0..=6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Time {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micro: u32,
    pub tp: TimeType,
    pub fsp: u8,
}

impl Time {
    /// The zero value `0000-00-00 00:00:00` of a type.
    pub fn zero(tp: TimeType, fsp: u8) -> Time {
        Time {
            year: 0,
            month: 0,
            day: 0,
            hour: 0,
            minute: 0,
            second: 0,
            micro: 0,
            tp,
            fsp: fsp.min(6),
        }
    }

    /// Packs the fields (TIME-1). Fields are assumed valid (see [`Time::validate`]).
    pub fn to_packed(&self) -> u64 {
        let ymd = ((u64::from(self.year) * 13 + u64::from(self.month)) << 5) | u64::from(self.day);
        let hms =
            (u64::from(self.hour) << 12) | (u64::from(self.minute) << 6) | u64::from(self.second);
        (((ymd << 17) | hms) << 24) | u64::from(self.micro)
    }

    /// Unpacks a packed time (TIME-1) and validates the fields (TIME-2).
    pub fn from_packed(v: u64, tp: TimeType, fsp: u8) -> Result<Time> {
        let micro = (v & 0xFF_FFFF) as u32;
        let ymdhms = v >> 24;
        let hms = ymdhms & 0x1_FFFF;
        let ymd = ymdhms >> 17;
        let ym = ymd >> 5;
        let t = Time {
            year: u16::try_from(ym / 13).map_err(|_| bad_packed(v, "year"))?,
            month: (ym % 13) as u8,
            day: (ymd & 0x1F) as u8,
            hour: (hms >> 12) as u8,
            minute: ((hms >> 6) & 0x3F) as u8,
            second: (hms & 0x3F) as u8,
            micro,
            tp,
            fsp: fsp.min(6),
        };
        t.validate().map_err(|f| bad_packed(v, f))?;
        Ok(t)
    }

    /// Checks every field's range (TIME-2); returns the name of the first bad field.
    pub fn validate(&self) -> std::result::Result<(), &'static str> {
        if self.year > 9999 {
            return Err("year");
        }
        if self.month > 12 {
            return Err("month");
        }
        if self.day > 31 {
            return Err("day");
        }
        if self.hour > 23 {
            return Err("hour");
        }
        if self.minute > 59 {
            return Err("minute");
        }
        if self.second > 59 {
            return Err("second");
        }
        if self.micro > 999_999 {
            return Err("microsecond");
        }
        if self.fsp > 6 {
            return Err("fsp");
        }
        Ok(())
    }

    /// Whether this is the zero time.
    pub fn is_zero(&self) -> bool {
        self.to_packed() == 0
    }

    /// Parses `YYYY-MM-DD[ HH:MM:SS[.f…]]` (the form TiDB stores in `origin_default`).
    /// Fraction digits beyond 6 are rejected; the value keeps the given type and fsp.
    pub fn parse(s: &str, tp: TimeType, fsp: u8) -> Result<Time> {
        let bad = |d: &str| CodecError::invalid("time text", format!("{s:?}: {d}"));
        let s = s.trim();
        let (date, time) = match s.split_once([' ', 'T']) {
            Some((d, t)) => (d, Some(t)),
            None => (s, None),
        };
        let num = |p: &str, what: &str| -> Result<u32> {
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(what));
            }
            p.parse::<u32>().map_err(|_| bad(what))
        };
        let mut dp = date.split('-');
        let (Some(y), Some(m), Some(d), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
            return Err(bad("expected YYYY-MM-DD"));
        };
        let mut t = Time::zero(tp, fsp);
        t.year = num(y, "year")? as u16;
        t.month = num(m, "month")? as u8;
        t.day = num(d, "day")? as u8;
        if let Some(time) = time {
            let (hms, frac) = match time.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (time, None),
            };
            let mut tp = hms.split(':');
            let (Some(h), Some(mi), Some(se), None) = (tp.next(), tp.next(), tp.next(), tp.next())
            else {
                return Err(bad("expected HH:MM:SS"));
            };
            t.hour = num(h, "hour")? as u8;
            t.minute = num(mi, "minute")? as u8;
            t.second = num(se, "second")? as u8;
            if let Some(f) = frac {
                t.micro = parse_micros(f).ok_or_else(|| bad("fraction"))?;
            }
        }
        t.validate().map_err(bad)?;
        Ok(t)
    }
}

impl Time {
    /// This time moved by `secs` seconds on the proleptic Gregorian calendar, used to show a
    /// UTC TIMESTAMP in a fixed UTC offset (TIME-3). `None` for zero or invalid calendar dates
    /// and for results outside years 1..=9999; those are shown unshifted, as TiDB does for
    /// zero times.
    pub fn add_seconds(&self, secs: i64) -> Option<Time> {
        let (m, d) = (u32::from(self.month), u32::from(self.day));
        if self.year == 0 || m == 0 || d == 0 || d > days_in_month(i64::from(self.year), m) {
            return None;
        }
        let days = days_from_civil(i64::from(self.year), m, d);
        let tod =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        let total = (days * 86_400 + tod).checked_add(secs)?;
        let (y, mo, da) = civil_from_days(total.div_euclid(86_400));
        let rem = total.rem_euclid(86_400);
        if !(1..=9999).contains(&y) {
            return None;
        }
        Some(Time {
            year: y as u16,
            month: mo as u8,
            day: da as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            ..*self
        })
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses 1..=6 fraction digits into microseconds.
pub(crate) fn parse_micros(f: &str) -> Option<u32> {
    if f.is_empty() || f.len() > 6 || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u32 = f.parse().ok()?;
    Some(v * 10u32.pow(6 - f.len() as u32))
}

fn bad_packed(v: u64, field: &str) -> CodecError {
    CodecError::invalid(
        "packed time",
        format!("{v:#x}: {field} out of range (TIME-2)"),
    )
}

impl fmt::Display for Time {
    /// `YYYY-MM-DD` for DATE; `YYYY-MM-DD HH:MM:SS[.f{fsp}]` otherwise (TIME-4).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if self.tp == TimeType::Date {
            return Ok(());
        }
        write!(f, " {:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        if self.fsp > 0 {
            let frac = format!("{:06}", self.micro);
            write!(f, ".{}", &frac[..usize::from(self.fsp.min(6))])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // pingcap/tidb pkg/util/rowcodec/rowcodec_test.go (TestTypesNewRowCodec):
    // 2011-11-10 11:11:11.999999 packs to 1840446893366133311.
    #[test]
    fn time_1_tidb_known_answer() {
        let t = Time::parse("2011-11-10 11:11:11.999999", TimeType::Datetime, 6).unwrap();
        assert_eq!(t.to_packed(), 1840446893366133311);
        let back = Time::from_packed(1840446893366133311, TimeType::Datetime, 6).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.to_string(), "2011-11-10 11:11:11.999999");
    }

    // tikv encoder_for_test.rs `test_encode`: 2018-01-19 03:14:07 packs to 0x199EE63387000000.
    #[test]
    fn time_1_tikv_known_answer() {
        let t = Time::parse("2018-01-19 03:14:07", TimeType::Datetime, 0).unwrap();
        assert_eq!(t.to_packed(), 0x199E_E633_8700_0000);
    }

    #[test]
    fn time_4_prints_per_type_and_fsp() {
        let t = Time::parse("2011-11-10 11:11:11.999999", TimeType::Datetime, 3).unwrap();
        assert_eq!(t.to_string(), "2011-11-10 11:11:11.999");
        let d = Time::parse("2020-02-29", TimeType::Date, 0).unwrap();
        assert_eq!(d.to_string(), "2020-02-29");
        assert_eq!(
            Time::zero(TimeType::Timestamp, 0).to_string(),
            "0000-00-00 00:00:00"
        );
        assert_eq!(Time::zero(TimeType::Datetime, 0).to_packed(), 0);
    }

    #[test]
    fn time_3_fixed_offset_shift() {
        let t = Time::parse("2024-02-28 23:30:00.5", TimeType::Timestamp, 1).unwrap();
        assert_eq!(
            t.add_seconds(3600).unwrap().to_string(),
            "2024-02-29 00:30:00.5"
        );
        assert_eq!(
            t.add_seconds(-86_400 * 59).unwrap().to_string(),
            "2023-12-31 23:30:00.5"
        );
        let t = Time::parse("1999-12-31 20:00:00", TimeType::Timestamp, 0).unwrap();
        assert_eq!(
            t.add_seconds(8 * 3600).unwrap().to_string(),
            "2000-01-01 04:00:00"
        );
        assert!(Time::zero(TimeType::Timestamp, 0).add_seconds(60).is_none());
        assert!(Time::parse("2023-02-30 00:00:00", TimeType::Timestamp, 0)
            .unwrap()
            .add_seconds(1)
            .is_none());
    }

    #[test]
    fn time_2_rejects_damaged_packed_values() {
        let t = Time::parse("2011-11-10 11:11:11", TimeType::Datetime, 0).unwrap();
        // microsecond field 0xFFFFFF > 999999
        assert!(Time::from_packed(t.to_packed() | 0xFF_FFFF, TimeType::Datetime, 0).is_err());
        // hour 31
        assert!(Time::from_packed(t.to_packed() | (31 << 36), TimeType::Datetime, 0).is_err());
        assert!(Time::from_packed(u64::MAX, TimeType::Datetime, 0).is_err());
        assert!(Time::parse("2011-13-01", TimeType::Date, 0).is_err());
        assert!(Time::parse("2011-1", TimeType::Date, 0).is_err());
    }

    proptest! {
        #[test]
        fn time_1_round_trip(y in 0u16..=9999, mo in 0u8..=12, d in 0u8..=31, h in 0u8..24,
                             mi in 0u8..60, s in 0u8..60, us in 0u32..1_000_000) {
            let t = Time { year: y, month: mo, day: d, hour: h, minute: mi, second: s, micro: us,
                           tp: TimeType::Datetime, fsp: 6 };
            let back = Time::from_packed(t.to_packed(), TimeType::Datetime, 6).unwrap();
            prop_assert_eq!(back, t);
            prop_assert_eq!(Time::parse(&t.to_string(), TimeType::Datetime, 6).unwrap(), t);
        }

        #[test]
        fn time_3_shift_round_trip(y in 2u16..=9998, mo in 1u8..=12, d in 1u8..=28, h in 0u8..24,
                                   secs in -86_400i64 * 366..86_400 * 366) {
            let t = Time { year: y, month: mo, day: d, hour: h, minute: 7, second: 9, micro: 5,
                           tp: TimeType::Timestamp, fsp: 6 };
            let s = t.add_seconds(secs).unwrap();
            prop_assert_eq!(s.add_seconds(-secs).unwrap(), t);
            prop_assert_eq!(s.to_packed().cmp(&t.to_packed()), secs.cmp(&0));
        }

        #[test]
        fn time_2_from_packed_never_panics(v: u64) {
            let _ = Time::from_packed(v, TimeType::Timestamp, 6);
        }
    }
}
