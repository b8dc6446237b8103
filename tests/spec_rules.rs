//! Conformance of `format/*.md` (format/README.md "Conventions" and "Example kinds"): every
//! rule id is defined exactly once with the rule-line syntax, every id cited by code or by the
//! spec is defined, every `example` block has a known kind, and every example line parses with
//! its kind's syntax. Kinds whose code exists are checked against it here
//! ([`check_example`]); the others are parsed into fields and listed as awaiting code.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

#[path = "spec_rules/check.rs"]
mod check;
#[path = "spec_rules/parse.rs"]
mod parse;

use check::check_example;
use parse::parse_example;

/// The example kinds of format/README.md, in its order.
/// Example kinds whose chapters' own tests check every line against the code: (kind, the file
/// holding that check). The check below asserts the file names the kind, so an example kind
/// cannot be listed here without something reading it.
const CHECKED_ELSEWHERE: &[(&str, &str)] = &[
    ("log-merge-pack", "src/format/log/spec_tests.rs"),
    ("log-meta-name", "src/format/log/spec_tests.rs"),
    ("log-data-name", "src/format/log/spec_tests.rs"),
    ("log-event", "src/format/log/spec_tests.rs"),
    ("log-checkpoint", "src/format/log/spec_tests.rs"),
    ("log-safepoint", "src/format/log/spec_tests.rs"),
    ("memcomparable", "src/codec/keys_spec_examples.rs"),
    ("mvcc-key", "src/codec/keys_spec_examples.rs"),
    ("data-key", "src/codec/keys_spec_examples.rs"),
    ("write-record", "src/codec/keys_spec_examples.rs"),
    ("write-reject", "src/codec/keys_spec_examples.rs"),
    ("record-key", "src/codec/keys_spec_examples.rs"),
    ("index-key", "src/codec/keys_spec_examples.rs"),
    ("meta-key", "src/codec/keys_spec_examples.rs"),
    ("key-range", "src/codec/keys_spec_examples.rs"),
    ("key-prefix-encoded", "src/codec/keys_spec_examples.rs"),
    ("rewrite-raw", "src/codec/keys_spec_examples.rs"),
    ("rewrite-encoded", "src/codec/keys_spec_examples.rs"),
    ("tso", "src/codec/keys_spec_examples.rs"),
    ("tso-parts", "src/codec/keys_spec_examples.rs"),
    ("tso-reject", "src/codec/keys_spec_examples.rs"),
    ("row-v2", "src/codec/row/spec_examples.rs"),
    ("datum-key", "src/codec/row/spec_examples.rs"),
    ("decimal-bin", "src/codec/row/spec_examples.rs"),
    ("packed-time", "src/codec/row/spec_examples.rs"),
    ("duration", "src/codec/row/spec_examples.rs"),
    ("json-binary", "src/codec/row/spec_examples.rs"),
    ("sst-footer", "tests/sst_reader.rs"),
    ("storage-url", "tests/storage.rs"),
    ("storage-url-bad", "tests/storage.rs"),
    ("storage-url-redacted", "tests/storage.rs"),
    ("object-name-bad", "tests/storage.rs"),
    ("brfs-ino", "tests/brfs_vfs.rs"),
];

fn checked_elsewhere(kind: &str) -> bool {
    CHECKED_ELSEWHERE.iter().any(|(k, _)| *k == kind)
}

#[test]
fn kinds_checked_elsewhere_are_read_by_their_tests() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (kind, file) in CHECKED_ELSEWHERE {
        let text =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            text.contains(&format!("\"{kind}\"")) || text.contains(&format!("kind={kind}")),
            "{file} does not check example kind {kind}"
        );
    }
}

const KNOWN_KINDS: &[&str] = &[
    "sst-name",
    "key-hash",
    "metafile-name",
    "lock-bytes",
    "bad-name",
    "good-name",
    "crc64",
    "kv-checksum",
    "checksum-rewrite",
    "protobuf",
    "backupmeta-reject",
    "cipher-method",
    "aes-ctr",
    "file-table",
    "sst-key",
    "backupmeta-file",
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `format/*.md`, sorted by name: (file name, text).
fn spec_docs() -> Vec<(String, String)> {
    let mut docs: Vec<(String, String)> = fs::read_dir(repo_root().join("format"))
        .expect("format/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).expect("spec chapter is UTF-8"))
        })
        .collect();
    docs.sort();
    docs
}

/// Lines outside fenced code blocks, with 1-based line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            out.push((i + 1, line));
        }
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The longest match of `[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-[0-9]+` starting at `start` that ends at
/// a word boundary; returns its end.
fn match_id_at(s: &[u8], start: usize) -> Option<usize> {
    let mut ends = Vec::new(); // (end of segment, segment is all digits)
    let mut i = start;
    loop {
        let seg = i;
        while i < s.len() && (s[i].is_ascii_uppercase() || s[i].is_ascii_digit()) {
            i += 1;
        }
        if i == seg {
            break;
        }
        ends.push((i, s[seg..i].iter().all(u8::is_ascii_digit)));
        if i + 1 < s.len() && s[i] == b'-' {
            i += 1;
        } else {
            break;
        }
    }
    (1..ends.len())
        .rev()
        .find(|&k| ends[k].1 && (ends[k].0 == s.len() || !is_word(s[ends[k].0])))
        .map(|k| ends[k].0)
}

/// Every rule-id-shaped word in `text` (`\b[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-[0-9]+\b`).
fn find_ids(text: &str) -> Vec<&str> {
    let s = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i].is_ascii_uppercase() && (i == 0 || !is_word(s[i - 1])) {
            if let Some(end) = match_id_at(s, i) {
                out.push(&text[i..end]);
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn first_segment(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// A rule definition: `- **ID** (LEVEL): … *Breaking it:* ….`
struct RuleDef {
    id: String,
    file: String,
    line: usize,
    text: String,
}

fn rule_definitions() -> Vec<RuleDef> {
    let mut defs = Vec::new();
    for (file, text) in spec_docs() {
        let lines = prose_lines(&text);
        for (k, &(line, l)) in lines.iter().enumerate() {
            let Some(rest) = l.strip_prefix("- **") else {
                continue;
            };
            let Some(end) = match_id_at(rest.as_bytes(), 0) else {
                continue;
            };
            if rest[end..].starts_with("**") {
                let id = rest[..end].to_string();
                // A rule is one Markdown list item: its indented continuation lines belong to it.
                let mut item = l.to_string();
                for (expected, &(n, next)) in (line + 1..).zip(lines[k + 1..].iter()) {
                    if n != expected || !next.starts_with("  ") || next.trim().is_empty() {
                        break;
                    }
                    item.push(' ');
                    item.push_str(next.trim());
                }
                let (file, text) = (file.clone(), item);
                defs.push(RuleDef {
                    id,
                    file,
                    line,
                    text,
                });
            }
        }
    }
    defs
}

fn defined_ids() -> BTreeSet<String> {
    rule_definitions().into_iter().map(|d| d.id).collect()
}

#[test]
fn rule_ids_are_defined_once() {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut dups = Vec::new();
    for d in rule_definitions() {
        let here = format!("{}:{}", d.file, d.line);
        if let Some(first) = seen.insert(d.id.clone(), here.clone()) {
            dups.push(format!("{} at {first} and {here}", d.id));
        }
    }
    assert!(seen.len() > 50, "only {} rules found", seen.len());
    assert!(dups.is_empty(), "rule ids defined twice: {dups:#?}");
}

#[test]
fn rule_lines_follow_the_readme_syntax() {
    let mut bad = Vec::new();
    for d in rule_definitions() {
        let after_id = &d.text[4 + d.id.len() + 2..];
        let level_ok = [" (MUST): ", " (SHOULD): ", " (MAY): "]
            .iter()
            .any(|p| after_id.starts_with(p));
        let breaking_ok = after_id.contains(". *Breaking it:* ") && d.text.ends_with('.');
        if !level_ok || !breaking_ok {
            bad.push(format!("{}:{} {}", d.file, d.line, d.id));
        }
    }
    assert!(bad.is_empty(), "malformed rule lines: {bad:#?}");
}

/// Every rule id cited in `src/` and `tests/` whose first segment is a prefix the spec
/// defines (`NAME`, `META`, …) is defined; other id-shaped words (`CRC-64`) are ignored.
#[test]
fn rules_the_code_cites_are_defined() {
    let defined = defined_ids();
    let prefixes: BTreeSet<&str> = defined.iter().map(|d| first_segment(d)).collect();
    let mut files = Vec::new();
    for dir in ["src", "tests"] {
        collect_rs(&repo_root().join(dir), &mut files);
    }
    assert!(!files.is_empty());
    let mut missing = BTreeSet::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("source is UTF-8");
        for (n, line) in text.lines().enumerate() {
            for id in find_ids(line) {
                if prefixes.contains(first_segment(id)) && !defined.contains(id) {
                    let rel = f.strip_prefix(repo_root()).unwrap_or(f);
                    missing.insert(format!("{id} ({}:{})", rel.display(), n + 1));
                }
            }
        }
    }
    assert!(missing.is_empty(), "cited but not defined: {missing:#?}");
}

#[test]
fn rules_the_spec_cross_references_are_defined() {
    let defined = defined_ids();
    let prefixes: BTreeSet<&str> = defined.iter().map(|d| first_segment(d)).collect();
    let mut missing = BTreeSet::new();
    for (file, text) in spec_docs() {
        for (line, l) in prose_lines(&text) {
            for id in find_ids(l) {
                if prefixes.contains(first_segment(id)) && !defined.contains(id) {
                    missing.insert(format!("{id} ({file}:{line})"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "referenced but not defined: {missing:#?}"
    );
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn id_matcher_follows_the_regex() {
    // Prefixes no chapter uses, so this file cites nothing.
    let ids = find_ids("ABC-1, ABC-V2-3; (ABC-DEF-12) xABC-1 ABC-1a QRS-64 A-B ABC-1-A");
    assert_eq!(ids, ["ABC-1", "ABC-V2-3", "ABC-DEF-12", "QRS-64", "ABC-1"]);
    assert!(find_ids("ABC- 1 abc-1 A-").is_empty());
}

/// One example line with its origin.
struct ExampleLine {
    file: String,
    kind: String,
    line: usize,
    text: String,
}

fn example_lines() -> (Vec<ExampleLine>, Vec<String>) {
    let mut lines = Vec::new();
    let mut blocks = Vec::new();
    for (file, text) in spec_docs() {
        let mut kind: Option<String> = None;
        for (i, l) in text.lines().enumerate() {
            if let Some(k) = &kind {
                if l.starts_with("```") {
                    kind = None;
                } else if !l.is_empty() {
                    lines.push(ExampleLine {
                        file: file.clone(),
                        kind: k.clone(),
                        line: i + 1,
                        text: l.to_string(),
                    });
                }
            } else if let Some(info) = l.strip_prefix("```example") {
                let k = info.trim().strip_prefix("kind=").unwrap_or("").to_string();
                blocks.push(format!("{file}:{} {k}", i + 1));
                kind = Some(k);
            } else if l.starts_with("```") {
                // An ordinary fence: skip its body.
                kind = None;
            }
        }
    }
    (lines, blocks)
}

#[test]
fn example_blocks_have_known_kinds() {
    let (lines, blocks) = example_lines();
    assert!(blocks.len() > 15, "only {} example blocks", blocks.len());
    let unknown: Vec<&String> = blocks
        .iter()
        .filter(|b| {
            let kind = b.rsplit(' ').next().unwrap_or("");
            !KNOWN_KINDS.contains(&kind) && !checked_elsewhere(kind)
        })
        .collect();
    assert!(unknown.is_empty(), "unknown example kinds: {unknown:#?}");
    let used: BTreeSet<&str> = lines.iter().map(|l| l.kind.as_str()).collect();
    let unused: Vec<&&str> = KNOWN_KINDS.iter().filter(|k| !used.contains(**k)).collect();
    assert!(unused.is_empty(), "kinds without examples: {unused:?}");
}

#[test]
fn example_lines_parse_and_match_the_code() {
    let (lines, _) = example_lines();
    let mut failures = Vec::new();
    let mut awaiting: BTreeMap<String, usize> = BTreeMap::new();
    let mut checked = 0;
    for l in lines.iter().filter(|l| !checked_elsewhere(&l.kind)) {
        let at = format!("{}:{} [{}] {}", l.file, l.line, l.kind, l.text);
        match parse_example(&l.kind, &l.text) {
            Err(e) => failures.push(format!("{at}: syntax: {e}")),
            Ok(ex) => match check_example(&ex) {
                Some(Ok(())) => checked += 1,
                Some(Err(e)) => failures.push(format!("{at}: {e}")),
                None => *awaiting.entry(l.kind.clone()).or_default() += 1,
            },
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        awaiting.is_empty(),
        "example lines no code checks: {awaiting:?}"
    );
    assert!(checked >= 60, "only {checked} example lines checked");
}
