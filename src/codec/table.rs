//! TiDB keys: table, record (row) and index keys, schema meta keys, the key ranges BR backs
//! up for a table, and the prefix rewrite rules BR and TiKV apply on restore.
//!
//! Owns: KEY-* (layouts and classification), RANGE-* (backup ranges) and REWRITE-* (rules and
//! key rewriting). Keys here are raw (not memcomparable) unless a function says otherwise.
//! Does not own datum encoding inside common handles or index values (`datum.rs`).
//! Rules: format/tidb-keys.md.

use super::bytes::{decode_bytes, decode_bytes_exact, encode_bytes, encode_bytes_to};
use super::error::{CodecError, Result};
use super::mvcc::split_ts;
use super::number::{decode_i64, decode_u64, encode_i64, encode_u64};
use crate::proto::import_sstpb;

/// First byte of every table key (KEY-1).
pub const TABLE_PREFIX: u8 = b't';
/// Separator before a row handle (KEY-2).
pub const RECORD_SEP: &[u8; 2] = b"_r";
/// Separator before an index id (KEY-4).
pub const INDEX_SEP: &[u8; 2] = b"_i";
/// First byte of every schema meta key (KEY-5).
pub const META_PREFIX: u8 = b'm';
/// Type flag of a meta hash-data key (KEY-5).
pub const META_HASH_DATA: u64 = b'h' as u64;

/// `t` + table id (KEY-1).
pub const TABLE_PREFIX_LEN: usize = 9;
/// `t{id}_r` (KEY-2).
pub const RECORD_PREFIX_LEN: usize = 11;
/// `t{id}_r` + int handle (KEY-3).
pub const RECORD_KEY_INT_LEN: usize = 19;
/// `t{id}_i{index}` (KEY-4).
pub const INDEX_PREFIX_LEN: usize = 19;

/// `t` + EncodeInt(id) (KEY-1).
pub fn table_prefix(id: i64) -> Vec<u8> {
    let mut k = Vec::with_capacity(RECORD_KEY_INT_LEN);
    k.push(TABLE_PREFIX);
    k.extend_from_slice(&encode_i64(id));
    k
}

/// `t{id}_r` (KEY-2).
pub fn record_prefix(id: i64) -> Vec<u8> {
    let mut k = table_prefix(id);
    k.extend_from_slice(RECORD_SEP);
    k
}

/// `t{id}_r` + EncodeInt(handle): the row key of a table with an int handle (KEY-3).
pub fn record_key_int(id: i64, handle: i64) -> Vec<u8> {
    let mut k = record_prefix(id);
    k.extend_from_slice(&encode_i64(handle));
    k
}

/// `t{id}_r` + the encoded common (clustered) handle datums (KEY-3).
pub fn record_key_common(id: i64, encoded_handle: &[u8]) -> Vec<u8> {
    let mut k = record_prefix(id);
    k.extend_from_slice(encoded_handle);
    k
}

/// `t{table}_i` + EncodeInt(index) (KEY-4).
pub fn index_prefix(table: i64, index: i64) -> Vec<u8> {
    let mut k = table_prefix(table);
    k.extend_from_slice(INDEX_SEP);
    k.extend_from_slice(&encode_i64(index));
    k
}

/// `t{table}_i{index}` + the encoded index values (KEY-4).
pub fn index_key(table: i64, index: i64, encoded_values: &[u8]) -> Vec<u8> {
    let mut k = index_prefix(table, index);
    k.extend_from_slice(encoded_values);
    k
}

/// The table id of a raw key starting with `t` + 8 bytes, like TiDB's `DecodeTableID`
/// (which answers 0 where this answers `None`) (KEY-1).
pub fn decode_table_id(raw_key: &[u8]) -> Option<i64> {
    match raw_key {
        [TABLE_PREFIX, rest @ ..] if rest.len() >= 8 => decode_i64(&mut &rest[..8]).ok(),
        _ => None,
    }
}

/// A row handle (KEY-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handle {
    /// An int handle (`_tidb_rowid` or an integer primary key).
    Int(i64),
    /// The encoded datums of a clustered primary key, kept encoded.
    Common(Vec<u8>),
}

/// What a raw key is (KEY-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    Record {
        table_id: i64,
        handle: Handle,
    },
    Index {
        table_id: i64,
        index_id: i64,
        /// The encoded index values (plus handle datums for non-unique indexes).
        rest: Vec<u8>,
    },
    Meta(MetaKey),
    Other,
}

/// Classifies a raw key (KEY-6). Never fails: anything unrecognised is [`KeyKind::Other`].
pub fn classify(raw_key: &[u8]) -> KeyKind {
    if raw_key.first() == Some(&META_PREFIX) {
        return decode_meta_key(raw_key).map_or(KeyKind::Other, KeyKind::Meta);
    }
    let Some(table_id) = decode_table_id(raw_key) else {
        return KeyKind::Other;
    };
    let rest = &raw_key[TABLE_PREFIX_LEN..];
    if let Some(handle) = rest.strip_prefix(RECORD_SEP) {
        return match handle.len() {
            0 => KeyKind::Other,
            8 => KeyKind::Record {
                table_id,
                handle: Handle::Int(decode_i64(&mut &handle[..]).unwrap_or_default()),
            },
            _ => KeyKind::Record {
                table_id,
                handle: Handle::Common(handle.to_vec()),
            },
        };
    }
    if let Some(idx) = rest.strip_prefix(INDEX_SEP) {
        if idx.len() >= 8 {
            let mut cur = idx;
            if let Ok(index_id) = decode_i64(&mut cur) {
                return KeyKind::Index {
                    table_id,
                    index_id,
                    rest: cur.to_vec(),
                };
            }
        }
    }
    KeyKind::Other
}

/// A decoded schema meta key (KEY-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaKey {
    /// The structure key, e.g. `DBs` or `DB:2`.
    pub key: Vec<u8>,
    /// The type flag (`'h'` = 104 for hash data; `'s'`, `'H'`, `'l'`, `'L'`, `'S'` others).
    pub type_flag: u64,
    /// For hash data: the decoded field, e.g. `DB:2` or `Table:110`.
    pub field: Option<Vec<u8>>,
    /// Bytes after the type flag when it is not hash data (e.g. a list index), kept raw.
    pub rest: Vec<u8>,
}

/// A meta hash field TiDB uses for schema objects (KEY-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaField {
    /// `DB:<id>`: a database's info (under key `DBs`).
    Db(i64),
    /// `Table:<id>`: a table's info (under key `DB:<db id>`).
    Table(i64),
    Other,
}

impl MetaKey {
    /// The parsed field, if this is hash data with a `DB:` or `Table:` field.
    pub fn parsed_field(&self) -> MetaField {
        self.field
            .as_deref()
            .map_or(MetaField::Other, parse_meta_field)
    }
}

/// `m` + EncodeBytes(key) + EncodeUint('h') + EncodeBytes(field) (KEY-5).
pub fn meta_hash_key(key: &[u8], field: &[u8]) -> Vec<u8> {
    let mut k = vec![META_PREFIX];
    encode_bytes_to(&mut k, key);
    k.extend_from_slice(&encode_u64(META_HASH_DATA));
    encode_bytes_to(&mut k, field);
    k
}

/// Type flag of a meta string-data key (KEY-5).
pub const META_STRING_DATA: u64 = b's' as u64;

/// `m` + EncodeBytes(key) + EncodeUint('s'): a string-data meta key such as `NextGlobalID` or
/// `SchemaVersionKey` (KEY-5; TiDB's `structure` package `encodeStringDataKey`).
pub fn meta_string_key(key: &[u8]) -> Vec<u8> {
    let mut k = vec![META_PREFIX];
    encode_bytes_to(&mut k, key);
    k.extend_from_slice(&encode_u64(META_STRING_DATA));
    k
}

/// Decodes a meta key (KEY-5). Hash data must end right after its field.
pub fn decode_meta_key(raw_key: &[u8]) -> Result<MetaKey> {
    let Some((&META_PREFIX, mut cur)) = raw_key.split_first() else {
        return Err(CodecError::invalid("meta key", "does not start with 'm'"));
    };
    let key = decode_bytes(&mut cur)?;
    let type_flag = decode_u64(&mut cur)?;
    if type_flag == META_HASH_DATA {
        let field = decode_bytes_exact(cur)?;
        return Ok(MetaKey {
            key,
            type_flag,
            field: Some(field),
            rest: Vec::new(),
        });
    }
    Ok(MetaKey {
        key,
        type_flag,
        field: None,
        rest: cur.to_vec(),
    })
}

/// Parses `DB:<id>` / `Table:<id>` (KEY-5).
pub fn parse_meta_field(field: &[u8]) -> MetaField {
    let num = |s: &[u8]| std::str::from_utf8(s).ok()?.parse::<i64>().ok();
    if let Some(id) = field.strip_prefix(b"DB:").and_then(num) {
        return MetaField::Db(id);
    }
    if let Some(id) = field.strip_prefix(b"Table:").and_then(num) {
        return MetaField::Table(id);
    }
    MetaField::Other
}

/// A half-open range `[start, end)` of raw keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyRange {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
}

/// TiDB's `kv.Key.PrefixNext`: increment the last byte with carry; all `0xFF` → append 0.
pub fn prefix_next(key: &[u8]) -> Vec<u8> {
    let mut out = key.to_vec();
    for i in (0..out.len()).rev() {
        out[i] = out[i].wrapping_add(1);
        if out[i] != 0 {
            return out;
        }
    }
    let mut out = key.to_vec();
    out.push(0);
    out
}

/// Rows of an int-handle table (RANGE-1): `[t{id}_r EncodeInt(i64::MIN),
/// t{id}_r PrefixNext(EncodeInt(i64::MAX)))`.
pub fn record_range_int(id: i64) -> KeyRange {
    KeyRange {
        start: record_key_int(id, i64::MIN),
        end: record_key_common(id, &prefix_next(&encode_i64(i64::MAX))),
    }
}

/// Rows of a common-handle table (RANGE-2): `[t{id}_r 01, t{id}_r FB)`.
pub fn record_range_common(id: i64) -> KeyRange {
    KeyRange {
        start: record_key_common(id, &[0x01]),
        end: record_key_common(id, &[0xFB]),
    }
}

/// One index (RANGE-3): `[t{t}_i{i} 00, t{t}_i{i} FB)`.
pub fn index_range(table: i64, index: i64) -> KeyRange {
    KeyRange {
        start: index_key(table, index, &[0x00]),
        end: index_key(table, index, &[0xFB]),
    }
}

/// The whole table, as very old BR used (RANGE-4): `[t{id}, PrefixNext(t{id}))`, which is
/// `t{id+1}` for every id below `i64::MAX`.
pub fn table_range(id: i64) -> KeyRange {
    let start = table_prefix(id);
    let end = prefix_next(&start);
    KeyRange { start, end }
}

/// Replace `old_prefix` with `new_prefix` on keys that start with it (REWRITE-1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RewriteRule {
    pub old_prefix: Vec<u8>,
    pub new_prefix: Vec<u8>,
}

/// `t{old}_r` → `t{new}_r` (REWRITE-2).
pub fn record_rule(old: i64, new: i64) -> RewriteRule {
    RewriteRule {
        old_prefix: record_prefix(old),
        new_prefix: record_prefix(new),
    }
}

/// `t{old_t}_i{old_i}` → `t{new_t}_i{new_i}` (REWRITE-2).
pub fn index_rule(old_t: i64, old_i: i64, new_t: i64, new_i: i64) -> RewriteRule {
    RewriteRule {
        old_prefix: index_prefix(old_t, old_i),
        new_prefix: index_prefix(new_t, new_i),
    }
}

impl RewriteRule {
    /// Both prefixes in BR's legacy `EncodeKeyPrefix` form (REWRITE-5), for TiKV without
    /// keyspaces. [`rewrite_raw_key`] with such rules rewrites memcomparable keys (with or
    /// without ts) by plain byte-prefix substitution, as legacy TiKV does after stripping `z`.
    pub fn to_legacy_encoded(&self) -> RewriteRule {
        RewriteRule {
            old_prefix: encode_key_prefix(&self.old_prefix),
            new_prefix: encode_key_prefix(&self.new_prefix),
        }
    }
}

/// `t{old}` → `t{new}` (REWRITE-3).
pub fn table_rule(old: i64, new: i64) -> RewriteRule {
    RewriteRule {
        old_prefix: table_prefix(old),
        new_prefix: table_prefix(new),
    }
}

/// The rule with the longest old prefix matching `key` (REWRITE-4).
pub fn match_rule<'r>(rules: &'r [RewriteRule], key: &[u8]) -> Option<&'r RewriteRule> {
    rules
        .iter()
        .filter(|r| key.starts_with(&r.old_prefix))
        .max_by_key(|r| r.old_prefix.len())
}

/// Rewrites a raw key with the longest matching rule; `None` when no rule matches (REWRITE-4).
pub fn rewrite_raw_key(rules: &[RewriteRule], key: &[u8]) -> Option<Vec<u8>> {
    let rule = match_rule(rules, key)?;
    let mut out = Vec::with_capacity(key.len() - rule.old_prefix.len() + rule.new_prefix.len());
    out.extend_from_slice(&rule.new_prefix);
    out.extend_from_slice(&key[rule.old_prefix.len()..]);
    Some(out)
}

/// BR's legacy `EncodeKeyPrefix` (REWRITE-5): the memcomparable form of the longest
/// multiple-of-8 part without its final padding group, then the remaining raw bytes.
pub fn encode_key_prefix(raw_prefix: &[u8]) -> Vec<u8> {
    let grouped = raw_prefix.len() - raw_prefix.len() % 8;
    let mut out = encode_bytes(&raw_prefix[..grouped]);
    out.truncate(out.len() - 9); // the all-padding group every full-groups encoding ends with
    out.extend_from_slice(&raw_prefix[grouped..]);
    out
}

/// Rewrites a key with ts (memcomparable user key + 8-byte ts, no `z`), as TiKV's keyspace
/// mode does (REWRITE-6): decode, rewrite the raw key, re-encode, re-append the same ts.
/// `Ok(None)` when no rule matches; damaged keys are errors.
pub fn rewrite_encoded_key(rules: &[RewriteRule], key_with_ts: &[u8]) -> Result<Option<Vec<u8>>> {
    let (encoded, _) = split_ts(key_with_ts)?;
    let ts_bytes = &key_with_ts[encoded.len()..];
    let raw = decode_bytes_exact(encoded)?;
    let Some(new_raw) = rewrite_raw_key(rules, &raw) else {
        return Ok(None);
    };
    let mut out = encode_bytes(&new_raw);
    out.extend_from_slice(ts_bytes);
    Ok(Some(out))
}

impl From<&import_sstpb::RewriteRule> for RewriteRule {
    /// Takes the prefixes; the timestamp fields (REWRITE-7) are not part of this type.
    fn from(p: &import_sstpb::RewriteRule) -> Self {
        RewriteRule {
            old_prefix: p.old_key_prefix.clone(),
            new_prefix: p.new_key_prefix.clone(),
        }
    }
}

impl From<&RewriteRule> for import_sstpb::RewriteRule {
    /// Prefixes as given (raw unless encoded first); timestamps 0 (REWRITE-7).
    fn from(r: &RewriteRule) -> Self {
        import_sstpb::RewriteRule {
            old_key_prefix: r.old_prefix.clone(),
            new_key_prefix: r.new_prefix.clone(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
