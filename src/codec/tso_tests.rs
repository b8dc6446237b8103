//! Tests of TSO composition and parsing (format/tso.md TSO-1 … TSO-7).

use super::*;
use chrono::{Local, NaiveDate};
use proptest::prelude::*;

#[test]
fn tso_1_compose_and_split() {
    let ts = compose(1_526_017_343_794, 1);
    // pingcap/tidb br/pkg/task/backup_test.go uses this TSO as a decimal input.
    assert_eq!(ts, 400_036_290_571_534_337);
    assert_eq!(physical(ts), 1_526_017_343_794);
    assert_eq!(logical(ts), 1);
    assert_eq!(
        checked_compose(MAX_PHYSICAL_MS, LOGICAL_MASK),
        Some(u64::MAX)
    );
    assert_eq!(checked_compose(MAX_PHYSICAL_MS + 1, 0), None);
    assert_eq!(checked_compose(0, LOGICAL_MASK + 1), None);
}

// Known answers from pingcap/tidb br/pkg/task/backup_test.go `TestParseTSString`.
#[test]
fn tso_5_decimal_string_is_taken_as_is() {
    assert_eq!(parse_ts_string("", false).unwrap(), 0);
    assert_eq!(parse_ts_string("", true).unwrap(), 0);
    assert_eq!(
        parse_ts_string("400036290571534337", true).unwrap(),
        400_036_290_571_534_337
    );
}

// 400032515489792000 is the UTC anchor of the older `TestParseTSString`
// ("2018-05-11 01:42:23" local = 400032515489792000 - (offset*1000)<<18).
#[test]
fn tso_6_datetime_with_zone_known_answers() {
    let cases = [
        ("2018-05-11 01:42:23+00:00", 400_032_515_489_792_000u64),
        ("2018-05-11 01:42:23Z", 400_032_515_489_792_000),
        ("2018-05-11 01:42:23+0000", 400_032_515_489_792_000),
        ("2018-05-11 09:42:23+08", 400_032_515_489_792_000),
        ("2018-05-11 09:42:23+0800", 400_032_515_489_792_000),
        ("2018-05-10 17:42:23-08:00", 400_032_515_489_792_000),
        ("2021-01-01 01:42:23+08:00", 421_904_133_128_192_000),
        // pingcap/tidb-operator TestParseTSString "valid RFC3339".
        ("2006-01-02T15:04:05Z", 297_851_747_041_280_000),
    ];
    for (s, want) in cases {
        assert_eq!(parse_ts_string(s, true).unwrap(), want, "{s}");
        assert_eq!(parse_ts_string(s, false).unwrap(), want, "{s}");
    }
}

#[test]
fn tso_6_zone_required_when_tz_check() {
    let err = parse_ts_string("2021-01-01 01:42:23", true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("2021-01-01 01:42:23"), "{msg}");
    assert!(msg.contains("time zone is required"), "{msg}");
}

#[test]
fn tso_6_no_zone_means_local_time() {
    let naive = NaiveDate::from_ymd_opt(2021, 1, 1)
        .unwrap()
        .and_hms_opt(1, 42, 23)
        .unwrap();
    let local = Local.from_local_datetime(&naive).earliest().unwrap();
    let want = compose(local.timestamp_millis() as u64, 0);
    assert_eq!(parse_ts_string("2021-01-01 01:42:23", false).unwrap(), want);
}

#[test]
fn tso_7_fraction_rounds_to_microseconds_then_truncates_to_ms() {
    let base = 400_032_515_489_792_000u64;
    let at = |s: &str| physical(parse_ts_string(s, true).unwrap()) - physical(base);
    assert_eq!(at("2018-05-11 01:42:23.123456Z"), 123);
    assert_eq!(at("2018-05-11 01:42:23.9995Z"), 999);
    assert_eq!(at("2018-05-11 01:42:23.1Z"), 100);
    // 0.9999996 s rounds up to a whole second at fsp 6.
    assert_eq!(at("2018-05-11 01:42:23.9999996Z"), 1000);
}

#[test]
fn tso_4_bad_strings_are_errors_quoting_the_input() {
    for s in [
        "invalid",
        "+123",
        "18446744073709551616",
        "2018-05-11",
        "2018-13-11 01:42:23Z",
        "2018-05-11 25:42:23Z",
        "1969-12-31 23:59:59Z",
        "2018-05-11 01:42:23+99:00",
        " ",
    ] {
        let err = parse_ts_string(s, false).expect_err(s);
        assert!(
            matches!(
                err,
                CodecError::Invalid {
                    what: "TSO string",
                    ..
                }
            ),
            "{s}: {err:?}"
        );
        assert!(err.to_string().contains(&format!("{s:?}")), "{err}");
    }
}

#[test]
fn tso_3_utc_datetime_round_trip() {
    let ts = 400_032_515_489_792_000u64;
    let dt = ts_to_datetime_utc(ts);
    assert_eq!(dt.to_rfc3339(), "2018-05-11T01:42:23+00:00");
    assert_eq!(datetime_to_ts(&dt).unwrap(), ts);
    assert_eq!(
        ts_to_datetime_utc(u64::MAX).timestamp_millis() as u64,
        MAX_PHYSICAL_MS
    );
}

proptest! {
    #[test]
    fn tso_1_round_trip(ms in 0..=MAX_PHYSICAL_MS, l in 0..=LOGICAL_MASK) {
        let ts = compose(ms, l);
        prop_assert_eq!((physical(ts), logical(ts)), (ms, l));
        prop_assert_eq!(datetime_to_ts(&ts_to_datetime_utc(ts)).unwrap(), compose(ms, 0));
    }

    #[test]
    fn tso_6_formatted_time_parses_back(ms in 0u64..253_402_300_799_000) {
        let ts = compose(ms, 0);
        let s = ts_to_datetime_utc(ts).format("%Y-%m-%d %H:%M:%S%.3f+00:00").to_string();
        prop_assert_eq!(parse_ts_string(&s, true).unwrap(), ts);
    }

    #[test]
    fn tso_parser_never_panics(s in "\\PC{0,40}") {
        let _ = parse_ts_string(&s, true);
        let _ = parse_ts_string(&s, false);
    }

    #[test]
    fn tso_parser_never_panics_on_near_misses(s in "[0-9: T.Z+-]{0,30}") {
        let _ = parse_ts_string(&s, true);
    }
}
