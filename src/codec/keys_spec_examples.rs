//! Checks every `example` block and rule line of format/mvcc.md, format/tidb-keys.md and
//! format/tso.md against the codecs, so the spec and the code cannot drift apart.

use crate::codec::bytes::{decode_bytes_exact, encode_bytes};
use crate::codec::mvcc::{decode_data_key, decode_mvcc_key, encode_data_key, encode_mvcc_key};
use crate::codec::table::{self, KeyKind, RewriteRule};
use crate::codec::tso;
use crate::codec::write::{Write, WriteRef, WriteType};
use crate::codec::CodecError;

const CHAPTERS: &[(&str, &str)] = &[
    ("mvcc.md", include_str!("../../format/mvcc.md")),
    ("tidb-keys.md", include_str!("../../format/tidb-keys.md")),
    ("tso.md", include_str!("../../format/tso.md")),
];

/// (chapter, kind, line) for every line of every example block.
fn examples() -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    for &(name, text) in CHAPTERS {
        let mut kind: Option<String> = None;
        for line in text.lines() {
            if let Some(k) = line.strip_prefix("```example kind=") {
                kind = Some(k.trim().to_string());
            } else if line.starts_with("```") {
                kind = None;
            } else if let Some(k) = &kind {
                out.push((name, k.clone(), line));
            }
        }
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// `a=1 b=2` → value of `key`.
fn field<'a>(s: &'a str, key: &str) -> &'a str {
    s.split(' ')
        .find_map(|t| t.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in {s:?}"))
}

fn num<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

fn check_write_record(input: &str, out: &str) {
    let bytes = hex(input);
    let w = WriteRef::parse(&bytes).unwrap();
    let mut expected = Write::new(
        WriteType::from_u8(field(out, "type").as_bytes()[0]).unwrap(),
        num(field(out, "start_ts")),
        None,
    );
    let mut tail = Vec::new();
    for tok in out.split(' ').skip(2) {
        match tok.split_once('=') {
            Some(("short", v)) => expected.short_value = Some(hex(v)),
            Some(("gc_fence", v)) => expected.gc_fence = Some(num(v)),
            Some(("last_change", v)) => {
                let (ts, n) = v.split_once(',').unwrap();
                expected.last_change = Some((num(ts), num(n)));
            }
            Some(("txn_source", v)) => expected.txn_source = num(v),
            Some(("tail", v)) => tail = hex(v),
            None if tok == "rollback" => expected.has_overlapped_rollback = true,
            _ => panic!("unknown write-record token {tok:?}"),
        }
    }
    assert_eq!(w.to_owned(), expected, "{input}");
    assert_eq!(w.unknown_tail, &tail[..], "{input}");
    assert_eq!(
        expected.encode().unwrap(),
        &bytes[..bytes.len() - tail.len()]
    );
}

fn write_reject_rule(err: &CodecError) -> &'static str {
    let what = match err {
        CodecError::Truncated { what, .. }
        | CodecError::Invalid { what, .. }
        | CodecError::Unknown { what, .. } => *what,
    };
    match what {
        "write record type" => "MVCC-8",
        "write record start_ts" => "MVCC-9",
        "write record last_change" => "MVCC-15",
        w if w.starts_with("write record ") => "MVCC-13",
        _ => "?",
    }
}

fn check_range(input: &str, out: &str) {
    let (start, end) = out.split_once(' ').unwrap();
    let which = input.split(' ').next().unwrap();
    let t: i64 = num(field(input, "table"));
    let r = match which {
        "record-int" => table::record_range_int(t),
        "record-common" => table::record_range_common(t),
        "index" => table::index_range(t, num(field(input, "index"))),
        "table" => table::table_range(t),
        other => panic!("unknown range kind {other}"),
    };
    assert_eq!((r.start, r.end), (hex(start), hex(end)), "{input}");
}

fn rule_of(input: &str) -> Vec<RewriteRule> {
    vec![RewriteRule {
        old_prefix: hex(field(input, "old")),
        new_prefix: hex(field(input, "new")),
    }]
}

fn opt_hex(s: &str) -> Option<Vec<u8>> {
    (s != "none").then(|| hex(s))
}

fn check(kind: &str, line: &str) {
    let (input, out) = line
        .split_once(" => ")
        .unwrap_or_else(|| panic!("no ' => ' in {line:?}"));
    match kind {
        "memcomparable" => {
            assert_eq!(encode_bytes(&hex(input)), hex(out));
            assert_eq!(decode_bytes_exact(&hex(out)).unwrap(), hex(input));
        }
        "mvcc-key" | "data-key" => {
            let (raw, ts) = input.split_once(" ts=").unwrap();
            let (raw, ts) = (hex(raw), num::<u64>(ts));
            if kind == "mvcc-key" {
                assert_eq!(encode_mvcc_key(&raw, ts), hex(out));
                assert_eq!(decode_mvcc_key(&hex(out)).unwrap(), (raw, ts));
            } else {
                assert_eq!(encode_data_key(&raw, ts), hex(out));
                assert_eq!(decode_data_key(&hex(out)).unwrap(), (raw, ts));
            }
        }
        "write-record" => check_write_record(input, out),
        "write-reject" => {
            let err = Write::decode(&hex(input)).expect_err(line);
            assert_eq!(write_reject_rule(&err), out, "{line}: {err}");
        }
        "record-key" => {
            let (t, h) = (num(field(input, "table")), num(field(input, "handle")));
            assert_eq!(table::record_key_int(t, h), hex(out));
            let want = KeyKind::Record {
                table_id: t,
                handle: table::Handle::Int(h),
            };
            assert_eq!(table::classify(&hex(out)), want);
        }
        "index-key" => {
            let (t, i) = (num(field(input, "table")), num(field(input, "index")));
            let v = hex(field(input, "values"));
            assert_eq!(table::index_key(t, i, &v), hex(out));
            let want = KeyKind::Index {
                table_id: t,
                index_id: i,
                rest: v,
            };
            assert_eq!(table::classify(&hex(out)), want);
        }
        "meta-key" => {
            let (k, f) = (field(input, "key"), field(input, "field"));
            assert_eq!(table::meta_hash_key(k.as_bytes(), f.as_bytes()), hex(out));
            let m = table::decode_meta_key(&hex(out)).unwrap();
            assert_eq!((m.key, m.field), (k.as_bytes().to_vec(), Some(f.into())));
        }
        "key-range" => check_range(input, out),
        "key-prefix-encoded" => assert_eq!(table::encode_key_prefix(&hex(input)), hex(out)),
        "rewrite-raw" => {
            let got = table::rewrite_raw_key(&rule_of(input), &hex(field(input, "key")));
            assert_eq!(got, opt_hex(out), "{line}");
        }
        "rewrite-encoded" => {
            let got = table::rewrite_encoded_key(&rule_of(input), &hex(field(input, "key")));
            assert_eq!(got.unwrap(), opt_hex(out), "{line}");
        }
        "tso" => assert_eq!(tso::parse_ts_string(input, true).unwrap(), num::<u64>(out)),
        "tso-parts" => {
            let ts: u64 = num(input);
            let utc = out.split_once("utc=").unwrap().1;
            assert_eq!(tso::physical(ts), num::<u64>(field(out, "physical")));
            assert_eq!(tso::logical(ts), num::<u64>(field(out, "logical")));
            let shown = tso::ts_to_datetime_utc(ts).format("%Y-%m-%d %H:%M:%S%.3f");
            assert_eq!(shown.to_string(), utc);
        }
        "tso-reject" => {
            assert!(out.starts_with("TSO-"), "{line}");
            assert!(tso::parse_ts_string(input, true).is_err(), "{line}");
        }
        other => panic!("example kind {other:?} has no checker"),
    }
}

#[test]
fn every_example_in_mvcc_keys_and_tso_chapters_matches_the_code() {
    let all = examples();
    assert!(all.len() > 40, "only {} example lines found", all.len());
    for (chapter, kind, line) in all {
        let r = std::panic::catch_unwind(|| check(&kind, line));
        assert!(r.is_ok(), "{chapter}: kind={kind}: {line}");
    }
}

#[test]
fn rule_lines_have_the_exact_syntax_and_unique_ids() {
    let mut seen = std::collections::BTreeSet::new();
    for &(name, text) in CHAPTERS {
        for line in text.lines().filter(|l| l.starts_with("- **")) {
            let bold = line[4..].split("**").next().unwrap_or_default();
            let id_like = bold.starts_with(|c: char| c.is_ascii_uppercase())
                && bold.ends_with(|c: char| c.is_ascii_digit())
                && bold.contains('-');
            if !id_like {
                continue; // a terminology bullet such as "- **raw key**: ..."
            }
            let (id, rest) = line[4..].split_once("** (").expect(line);
            let (prefix, n) = id.rsplit_once('-').expect(line);
            assert!(
                prefix
                    .split('-')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase())),
                "{name}: bad id {id}"
            );
            assert!(n.parse::<u32>().is_ok(), "{name}: bad id {id}");
            let level = rest.split_once("): ").expect(line).0;
            assert!(["MUST", "SHOULD", "MAY"].contains(&level), "{name}: {line}");
            assert!(line.contains(" *Breaking it:* "), "{name}: {id}");
            assert!(line.ends_with('.'), "{name}: {id}");
            assert!(seen.insert(id.to_string()), "{name}: duplicate {id}");
        }
    }
    for id in (1..=18).map(|n| format!("MVCC-{n}")) {
        assert!(seen.contains(&id), "{id} not defined");
    }
}
