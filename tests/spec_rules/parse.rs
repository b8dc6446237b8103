//! Per-kind syntax of the example lines of `format/*.md` (format/README.md "Example kinds"):
//! each line is split into typed fields; no code of the crate is called here.

use std::collections::BTreeMap;

/// An example line split into its fields (format/README.md "Example kinds").
// The fields of kinds awaiting code are read once `check_example` wires them.
#[allow(dead_code)]
#[derive(Debug)]
pub enum Example {
    SstName {
        name: String,
        store: u64,
        region: u64,
        version: u64,
        hash: Option<String>,
        ms: Option<u64>,
        cf: String,
        generation: String,
    },
    KeyHash {
        key: Vec<u8>,
        hash: String,
    },
    MetafileName {
        name: String,
        kind: String,
        seq: u64,
    },
    LockBytes(Vec<u8>),
    Name {
        good: bool,
        name: String,
    },
    Crc64 {
        text: String,
        crc: u64,
    },
    KvChecksum {
        kvs: Vec<(Vec<u8>, Vec<u8>)>,
        crc64xor: u64,
        total_kvs: u64,
        total_bytes: u64,
    },
    ChecksumRewrite {
        old: Vec<u8>,
        new: Vec<u8>,
        key: Vec<u8>,
        value: Vec<u8>,
        crc: u64,
        bytes: u64,
    },
    Protobuf {
        message: String,
        bytes: Vec<u8>,
        fields: Vec<(u64, Value)>,
    },
    BackupmetaReject {
        bytes: Vec<u8>,
        rule: String,
    },
    CipherMethod {
        value: i32,
        method: Option<(String, usize)>,
    },
    AesCtr {
        method: String,
        key: Vec<u8>,
        iv: Vec<u8>,
        plain: Vec<u8>,
        cipher: Vec<u8>,
    },
    FileTable {
        key: Vec<u8>,
        table: Option<i64>,
    },
    SstKey {
        raw: Vec<u8>,
        ts: u64,
        key: Vec<u8>,
    },
    BackupmetaFile {
        method: String,
        key: Option<Vec<u8>>,
        iv: Option<Vec<u8>>,
        proto: Vec<u8>,
        object: Vec<u8>,
    },
}

/// A decoded protobuf field value of a `protobuf` example.
#[derive(Debug, PartialEq)]
pub enum Value {
    Varint(u64),
    Bytes(Vec<u8>),
}

pub type R<T> = Result<T, String>;

fn unhex(s: &str) -> R<Vec<u8>> {
    if s == "-" {
        return Ok(Vec::new());
    }
    hex::decode(s).map_err(|e| format!("bad hex {s:?}: {e}"))
}

fn num<T: std::str::FromStr>(s: &str) -> R<T> {
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

fn hex_u64(s: &str) -> R<u64> {
    let h = s.strip_prefix("0x").ok_or(format!("{s:?} lacks 0x"))?;
    if h.len() != 16 {
        return Err(format!("{s:?} is not 16 hex digits"));
    }
    u64::from_str_radix(h, 16).map_err(|e| e.to_string())
}

fn split_arrow(line: &str) -> R<(&str, &str)> {
    line.rsplit_once(" => ")
        .ok_or_else(|| "missing ` => `".to_string())
}

/// `k=v` pairs separated by spaces.
fn pairs(s: &str) -> R<BTreeMap<&str, &str>> {
    s.split(' ')
        .map(|p| p.split_once('=').ok_or(format!("{p:?} is not k=v")))
        .collect()
}

fn get<'a>(m: &BTreeMap<&str, &'a str>, k: &str) -> R<&'a str> {
    m.get(k).copied().ok_or(format!("missing {k}="))
}

/// A Rust-ish escaped string literal `"…"` (escapes `\\`, `\"`, `\0`, `\n`).
fn unquote(s: &str) -> R<String> {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or(format!("{s:?} is not quoted"))?;
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('0') => out.push('\0'),
            Some('n') => out.push('\n'),
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

/// Tokens separated by single spaces outside double quotes.
fn tokens(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn opt<T>(s: &str, f: impl Fn(&str) -> R<T>) -> R<Option<T>> {
    if s == "-" {
        Ok(None)
    } else {
        f(s).map(Some)
    }
}

pub fn parse_example(kind: &str, line: &str) -> R<Example> {
    Ok(match kind {
        "sst-name" => {
            let (name, rest) = split_arrow(line)?;
            let m = pairs(rest)?;
            Example::SstName {
                name: name.to_string(),
                store: num(get(&m, "store")?)?,
                region: num(get(&m, "region")?)?,
                version: num(get(&m, "version")?)?,
                hash: opt(get(&m, "hash")?, |s| Ok(s.to_string()))?,
                ms: opt(get(&m, "ms")?, num)?,
                cf: get(&m, "cf")?.to_string(),
                generation: get(&m, "gen")?.to_string(),
            }
        }
        "key-hash" => {
            let (k, h) = split_arrow(line)?;
            Example::KeyHash {
                key: unhex(k)?,
                hash: h.to_string(),
            }
        }
        "metafile-name" => {
            let (name, rest) = split_arrow(line)?;
            let m = pairs(rest)?;
            Example::MetafileName {
                name: name.to_string(),
                kind: get(&m, "kind")?.to_string(),
                seq: num(get(&m, "seq")?)?,
            }
        }
        "lock-bytes" => Example::LockBytes(unhex(line)?),
        "bad-name" | "good-name" => Example::Name {
            good: kind == "good-name",
            name: unquote(line)?,
        },
        "crc64" => {
            let (t, c) = split_arrow(line)?;
            Example::Crc64 {
                text: t.to_string(),
                crc: hex_u64(c)?,
            }
        }
        "kv-checksum" => {
            let (l, r) = split_arrow(line)?;
            let kvs = l
                .split(' ')
                .map(|e| {
                    let (k, v) = e.split_once(':').ok_or(format!("{e:?} is not key:value"))?;
                    Ok((unhex(k)?, if v.is_empty() { Vec::new() } else { unhex(v)? }))
                })
                .collect::<R<Vec<_>>>()?;
            let m = pairs(r)?;
            Example::KvChecksum {
                kvs,
                crc64xor: hex_u64(get(&m, "crc64xor")?)?,
                total_kvs: num(get(&m, "total_kvs")?)?,
                total_bytes: num(get(&m, "total_bytes")?)?,
            }
        }
        "checksum-rewrite" => {
            let (l, r) = split_arrow(line)?;
            let (m, o) = (pairs(l)?, pairs(r)?);
            Example::ChecksumRewrite {
                old: unhex(get(&m, "old")?)?,
                new: unhex(get(&m, "new")?)?,
                key: unhex(get(&m, "key")?)?,
                value: unhex(get(&m, "value")?)?,
                crc: hex_u64(get(&o, "crc64")?)?,
                bytes: num(get(&o, "bytes")?)?,
            }
        }
        "protobuf" => {
            let (l, r) = split_arrow(line)?;
            let (message, h) = l.split_once(' ').ok_or("missing message name")?;
            let fields = tokens(r)
                .into_iter()
                .map(|t| {
                    let (f, v) = t
                        .split_once('=')
                        .ok_or(format!("{t:?} is not field=value"))?;
                    let v = if v.starts_with('"') {
                        Value::Bytes(unquote(v)?.into_bytes())
                    } else if let Some(h) = v.strip_prefix("0x") {
                        Value::Bytes(unhex(h)?)
                    } else {
                        Value::Varint(num(v)?)
                    };
                    Ok((num(f)?, v))
                })
                .collect::<R<Vec<_>>>()?;
            Example::Protobuf {
                message: message.to_string(),
                bytes: unhex(h)?,
                fields,
            }
        }
        "backupmeta-reject" => {
            let (h, rule) = split_arrow(line)?;
            Example::BackupmetaReject {
                bytes: unhex(h)?,
                rule: rule.to_string(),
            }
        }
        "cipher-method" => {
            let (v, r) = split_arrow(line)?;
            let method = if r == "reject" {
                None
            } else {
                let (m, k) = r.split_once(" key_len=").ok_or("missing key_len=")?;
                Some((m.to_string(), num(k)?))
            };
            Example::CipherMethod {
                value: num(v)?,
                method,
            }
        }
        "aes-ctr" => {
            let (l, c) = split_arrow(line)?;
            let (method, rest) = l.split_once(' ').ok_or("missing method")?;
            let m = pairs(rest)?;
            Example::AesCtr {
                method: method.to_string(),
                key: unhex(get(&m, "key")?)?,
                iv: unhex(get(&m, "iv")?)?,
                plain: unhex(get(&m, "plain")?)?,
                cipher: unhex(c)?,
            }
        }
        "file-table" => {
            let (k, r) = split_arrow(line)?;
            let table = if r == "reject" {
                None
            } else {
                Some(num(r.strip_prefix("table=").ok_or("missing table=")?)?)
            };
            Example::FileTable {
                key: unhex(k)?,
                table,
            }
        }
        "sst-key" => {
            let (l, k) = split_arrow(line)?;
            let (raw, ts) = l.split_once(" ts=").ok_or("missing ts=")?;
            Example::SstKey {
                raw: unhex(raw)?,
                ts: num(ts)?,
                key: unhex(k)?,
            }
        }
        "backupmeta-file" => {
            let (l, o) = split_arrow(line)?;
            let (method, rest) = l.split_once(' ').ok_or("missing method")?;
            let m = pairs(rest)?;
            Example::BackupmetaFile {
                method: method.to_string(),
                key: opt(get(&m, "key")?, unhex)?,
                iv: opt(get(&m, "iv")?, unhex)?,
                proto: unhex(get(&m, "proto")?)?,
                object: unhex(o)?,
            }
        }
        other => return Err(format!("unknown kind {other}")),
    })
}
