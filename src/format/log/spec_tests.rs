//! Checks every `example` block of format/log.md against the code (kinds `log-meta-name`,
//! `log-data-name`, `log-event`, `log-checkpoint`, `log-safepoint`).

use crate::format::crypto::{Cipher, CipherMethod};
use crate::format::logfile::{decode_events, encode_event};
use crate::format::logmeta::{decode_global_checkpoint, decode_truncate_safepoint};
use crate::format::naming::log::{
    parse_global_checkpoint_path, parse_log_data_path, parse_meta_file_name, LogDataName, MetaName,
};
use crate::format::Result;

const SPEC: &str = include_str!("../../../format/log.md");

/// `(kind, line)` for every line of every example block of `doc`.
pub(crate) fn examples(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut kind: Option<String> = None;
    for line in doc.lines() {
        if let Some(k) = line.strip_prefix("```example kind=") {
            kind = Some(k.trim().to_string());
        } else if line.starts_with("```") {
            kind = None;
        } else if let Some(k) = &kind {
            if !line.trim().is_empty() {
                out.push((k.clone(), line.to_string()));
            }
        }
    }
    out
}

fn render<T>(r: Result<T>, f: impl Fn(T) -> String) -> String {
    match r {
        Ok(v) => f(v),
        Err(e) => format!("error {}", e.rule.unwrap_or("?")),
    }
}

fn meta(n: MetaName) -> String {
    match n {
        MetaName::Decimal {
            min_resolved_ts,
            uuid,
            ..
        } => format!(
            "gen={} min_resolved_ts={min_resolved_ts} uuid={uuid}",
            n.generation()
        ),
        MetaName::LegacyHex {
            flush_ts,
            min_begin_ts,
            min_ts,
            max_ts,
            ref synthetic,
        } => {
            let mut s = format!("gen=legacy-hex flush_ts={flush_ts} min_begin_ts={min_begin_ts} min_ts={min_ts} max_ts={max_ts}");
            if let Some(h) = synthetic {
                s.push_str(&format!(" synthetic={h}"));
            }
            s
        }
        MetaName::Tagged {
            flush_ts,
            store_id,
            min_begin_ts,
            min_ts,
            max_ts,
            flags,
            ref other_tags,
        } => {
            let mut s = format!("gen=tagged flush_ts={flush_ts} store_id={store_id} min_begin_ts={min_begin_ts} min_ts={min_ts} max_ts={max_ts}");
            if let Some(f) = flags {
                s.push_str(&format!(" flags={f}"));
            }
            if !other_tags.is_empty() {
                let o: Vec<String> = other_tags.iter().map(|(t, v)| format!("{t}:{v}")).collect();
                s.push_str(&format!(" other={}", o.join(",")));
            }
            s
        }
    }
}

fn data(path: &str) -> String {
    if path.starts_with("v1/global_checkpoint/") {
        return render(parse_global_checkpoint_path(path), |s| {
            format!("gen=global-checkpoint store_id={s}")
        });
    }
    render(parse_log_data_path(path), |n| {
        match n {
        LogDataName::Group {
            date_hour: d,
            store_id,
            schema_meta,
            min_ts,
            ..
        } => format!(
            "gen=group store_id={store_id} date={:04}{:02}{:02} hour={:02} min_ts={min_ts} schema_meta={schema_meta}",
            d.year, d.month, d.day, d.hour
        ),
        LogDataName::V62Table {
            date_hour: d,
            store_id,
            table_id,
            min_ts,
            ..
        } => format!(
            "gen=v62-table store_id={store_id} date={:04}{:02}{:02} hour={:02} table_id={table_id} min_ts={min_ts}",
            d.year, d.month, d.day, d.hour
        ),
        LogDataName::V61 {
            date: (y, m, d),
            table_id,
            min_ts,
            ..
        } => format!(
            "gen=v61 date={y:04}{m:02}{d:02} table_id={} min_ts={min_ts}",
            table_id.map_or("none".to_string(), |t| t.to_string())
        ),
    }
    })
}

fn bytes_arg(s: &str) -> Vec<u8> {
    if s == "-" {
        Vec::new()
    } else {
        hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
    }
}

#[test]
fn log_md_examples_match_the_code() {
    let ex = examples(SPEC);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for (kind, line) in &ex {
        let (input, want) = line
            .split_once(" => ")
            .unwrap_or_else(|| panic!("no ' => ' in {line}"));
        let got = match kind.as_str() {
            "log-meta-name" => render(parse_meta_file_name(input), meta),
            "log-data-name" => data(input),
            "log-event" => {
                let (k, v) = input.split_once(' ').expect("key value");
                let (k, v) = (bytes_arg(k), bytes_arg(v));
                let mut framed = Vec::new();
                encode_event(&mut framed, &k, &v).unwrap();
                assert_eq!(decode_events(&framed).unwrap(), vec![(k, v)], "{line}");
                hex::encode_upper(framed)
            }
            "log-checkpoint" => render(decode_global_checkpoint(&bytes_arg(input)), |t| {
                t.to_string()
            }),
            "log-safepoint" => render(decode_truncate_safepoint(input.as_bytes()), |t| {
                t.to_string()
            }),
            // LOG-CRYPT-1: a sub-file's stored bytes under its key and IV (also checked as a
            // plain CTR vector by tests/spec_rules.rs); its plaintext is a valid event stream.
            "aes-ctr" => {
                let mut it = input.split(' ');
                let method = it
                    .next()
                    .and_then(CipherMethod::parse_flag)
                    .expect("method");
                let mut field = |name: &str| {
                    let f = it.next().expect(name);
                    bytes_arg(f.strip_prefix(name).expect(name))
                };
                let (key, iv, mut data) = (field("key="), field("iv="), field("plain="));
                assert!(!decode_events(&data).unwrap().is_empty(), "{line}");
                let c = Cipher::new(method, key).unwrap();
                c.apply(&iv, &mut data).unwrap();
                hex::encode(data)
            }
            other => panic!("unknown example kind {other}"),
        };
        assert_eq!(got, want, "format/log.md example: {line}");
        *kinds.entry(kind.clone()).or_default() += 1;
    }
    for k in [
        "log-meta-name",
        "log-data-name",
        "log-event",
        "log-checkpoint",
        "log-safepoint",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) >= 3,
            "too few {k} examples"
        );
    }
}

/// `(id, strength, paragraph)` of every rule definition of `doc` (COMMON.md syntax).
pub(crate) fn rules(doc: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let mut open = false;
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("- **") {
            open = false;
            if let Some((id, tail)) = rest.split_once("** (") {
                if id.contains('-')
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
                {
                    let (strength, _) = tail.split_once(')').expect("strength");
                    out.push((id.to_string(), strength.to_string(), line.to_string()));
                    open = true;
                }
            }
        } else if open && line.starts_with("  ") {
            let last = out.last_mut().expect("open rule");
            last.2.push(' ');
            last.2.push_str(line.trim());
        } else {
            open = false;
        }
    }
    out
}

#[test]
fn log_md_rule_ids_are_unique_and_well_formed() {
    let mut seen = std::collections::BTreeSet::new();
    for (id, strength, text) in rules(SPEC) {
        assert!(id.starts_with("LOG-"), "{id}");
        assert!(
            ["MUST", "SHOULD", "MAY"].contains(&strength.as_str()),
            "{id}: {strength}"
        );
        assert!(
            text.contains("*Breaking it:*"),
            "{id} lacks its consequence"
        );
        assert!(seen.insert(id.clone()), "duplicate {id}");
    }
    assert!(seen.len() >= 30, "only {} rules parsed", seen.len());
}

const MERGE_SPEC: &str = include_str!("../../../format/log-merge.md");

/// Runs one `log-merge-pack` example: `target=T groups=s:len,... => objects=s:len,...|none`.
fn merge_pack(input: &str) -> String {
    use crate::format::logmeta::{LogGroup, LogMeta, LogMetaVersion};
    use crate::format::merge::plan_merge;
    use crate::format::naming::log::{build_log_data_path, build_meta_path};
    use sha2::{Digest, Sha256};
    let (t, g) = input.split_once(' ').expect("target and groups");
    let target: u64 = t.strip_prefix("target=").expect("target=").parse().unwrap();
    let mut metas = Vec::new();
    for (i, sg) in g
        .strip_prefix("groups=")
        .expect("groups=")
        .split(',')
        .enumerate()
    {
        let (s, l) = sg.split_once(':').expect("store:len");
        let (store, len): (i64, u64) = (s.parse().unwrap(), l.parse().unwrap());
        let min_ts = 1000 + i as u64 * 10;
        let mut f = crate::format::logmeta::tests::sub(0, len);
        f.sha256 = Some(Sha256::digest((i as u64).to_le_bytes()).into());
        f.min_ts = min_ts;
        f.max_ts = min_ts + 5;
        let path = build_log_data_path(
            store as u64,
            min_ts,
            min_ts + 5,
            uuid::Uuid::from_u128(i as u128),
            false,
        );
        let meta = LogMeta {
            store_id: store,
            resolved_ts: min_ts + 6,
            min_ts,
            max_ts: min_ts + 5,
            version: LogMetaVersion::V2,
            groups: vec![LogGroup {
                path,
                min_ts,
                max_ts: min_ts + 5,
                min_resolved_ts: min_ts + 6,
                length: len,
                files: vec![f],
            }],
            files: vec![],
        };
        metas.push((
            build_meta_path(i as u64 + 1, store as u64, min_ts, min_ts, min_ts + 5, 1),
            meta,
        ));
    }
    let mut n = 0u128;
    let plan = plan_merge(&metas, target, &mut || {
        n += 1;
        uuid::Uuid::from_u128(0xF000 + n)
    })
    .unwrap();
    if plan.objects.is_empty() {
        return "none".into();
    }
    let o: Vec<String> = plan
        .objects
        .iter()
        .map(|o| format!("{}:{}", o.store_id, o.group.length))
        .collect();
    format!("objects={}", o.join(","))
}

#[test]
fn log_merge_md_examples_match_the_planner() {
    let ex = examples(MERGE_SPEC);
    assert!(ex.len() >= 4);
    for (kind, line) in ex {
        assert_eq!(kind, "log-merge-pack", "{line}");
        let (input, want) = line.split_once(" => ").expect("' => '");
        assert_eq!(
            merge_pack(input),
            want,
            "format/log-merge.md example: {line}"
        );
    }
}

#[test]
fn log_merge_md_rule_ids_are_unique_and_well_formed() {
    let r = rules(MERGE_SPEC);
    let mut seen = std::collections::BTreeSet::new();
    for (id, strength, text) in &r {
        assert!(id.starts_with("LOG-MERGE-"), "{id}");
        assert!(
            ["MUST", "SHOULD", "MAY"].contains(&strength.as_str()),
            "{id}"
        );
        assert!(
            text.contains("*Breaking it:*"),
            "{id} lacks its consequence"
        );
        assert!(seen.insert(id.clone()), "duplicate {id}");
    }
    // Numbered onward with no hole: LOG-MERGE-1 … LOG-MERGE-N (14 since the journal rules).
    let want: std::collections::BTreeSet<String> =
        (1..=seen.len()).map(|n| format!("LOG-MERGE-{n}")).collect();
    assert_eq!(seen, want);
    assert!(
        seen.len() >= 14,
        "LOG-MERGE-12..14 (journal, names, checks) are defined"
    );
}
