//! Write-CF values ("Write records"): the commit record TiKV stores for every committed or
//! rolled-back version of a key, and which backup SSTs and log files carry verbatim.
//!
//! Owns: the record layout (MVCC-8 … MVCC-15), the owned [`Write`] and the allocation-free
//! [`WriteRef`] used when scanning millions of records. Does not own the key the record is
//! stored under (`mvcc.rs`). Rules: format/mvcc.md.

use super::error::{take, CodecError, Result};
use super::number::{decode_u64, decode_var_u64, encode_u64, encode_var_u64};

/// Longest value inlined in a Write record (MVCC-11); longer values go to the default CF.
pub const SHORT_VALUE_MAX_LEN: usize = 255;
/// Short value marking a protected rollback (MVCC-14).
pub const PROTECTED_ROLLBACK_SHORT_VALUE: &[u8] = b"p";

const FLAG_PUT: u8 = b'P';
const FLAG_DELETE: u8 = b'D';
const FLAG_LOCK: u8 = b'L';
const FLAG_ROLLBACK: u8 = b'R';

// Tags of the optional fields (MVCC-10).
const TAG_SHORT_VALUE: u8 = b'v';
const TAG_OVERLAPPED_ROLLBACK: u8 = b'R';
const TAG_GC_FENCE: u8 = b'F';
const TAG_LAST_CHANGE: u8 = b'l';
const TAG_TXN_SOURCE: u8 = b'S';

/// The kind of a Write record (MVCC-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteType {
    Put,
    Delete,
    Lock,
    Rollback,
}

impl WriteType {
    /// The type byte, or `None` for a byte that is not a write type (MVCC-8).
    pub fn from_u8(b: u8) -> Option<WriteType> {
        match b {
            FLAG_PUT => Some(WriteType::Put),
            FLAG_DELETE => Some(WriteType::Delete),
            FLAG_LOCK => Some(WriteType::Lock),
            FLAG_ROLLBACK => Some(WriteType::Rollback),
            _ => None,
        }
    }

    /// The type byte written in front of the record (MVCC-8).
    pub fn to_u8(self) -> u8 {
        match self {
            WriteType::Put => FLAG_PUT,
            WriteType::Delete => FLAG_DELETE,
            WriteType::Lock => FLAG_LOCK,
            WriteType::Rollback => FLAG_ROLLBACK,
        }
    }
}

/// Meaning of the `l` field's two numbers (MVCC-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastChange {
    /// No `l` field, or `(0, 0)`.
    Unknown,
    /// `(0, n > 0)`: no earlier Put, or the last change is a Delete.
    NotExist,
    /// `(ts > 0, n > 0)`: the last Put/Delete is at `ts`, about `versions` records back.
    Exist { ts: u64, versions: u64 },
}

fn last_change_of(parts: Option<(u64, u64)>) -> LastChange {
    match parts {
        None | Some((0, 0)) => LastChange::Unknown,
        Some((0, _)) => LastChange::NotExist,
        Some((ts, versions)) => LastChange::Exist { ts, versions },
    }
}

/// A decoded Write record (owned). Field meanings: MVCC-8 … MVCC-15.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub write_type: WriteType,
    pub start_ts: u64,
    pub short_value: Option<Vec<u8>>,
    pub has_overlapped_rollback: bool,
    pub gc_fence: Option<u64>,
    /// `(last_change_ts, estimated_versions_to_last_change)` as stored (MVCC-15).
    pub last_change: Option<(u64, u64)>,
    /// 0 means absent (MVCC-10).
    pub txn_source: u64,
}

impl Write {
    /// A record with only the mandatory fields and an optional short value.
    pub fn new(write_type: WriteType, start_ts: u64, short_value: Option<Vec<u8>>) -> Self {
        Write {
            write_type,
            start_ts,
            short_value,
            has_overlapped_rollback: false,
            gc_fence: None,
            last_change: None,
            txn_source: 0,
        }
    }

    /// Decodes a Write-CF value (see [`WriteRef::parse`]).
    pub fn decode(b: &[u8]) -> Result<Write> {
        Ok(WriteRef::parse(b)?.to_owned())
    }

    /// Encodes the record in TiKV's field order (MVCC-10). Fails when the short value is
    /// longer than 255 bytes (MVCC-11) or `last_change` is invalid (MVCC-15).
    pub fn encode(&self) -> Result<Vec<u8>> {
        self.as_ref().encode()
    }

    /// Borrowed view of this record.
    pub fn as_ref(&self) -> WriteRef<'_> {
        WriteRef {
            write_type: self.write_type,
            start_ts: self.start_ts,
            short_value: self.short_value.as_deref(),
            has_overlapped_rollback: self.has_overlapped_rollback,
            gc_fence: self.gc_fence,
            last_change: self.last_change,
            txn_source: self.txn_source,
            unknown_tail: &[],
        }
    }

    /// A Rollback whose short value is `"p"` (MVCC-14).
    pub fn is_protected_rollback(&self) -> bool {
        self.as_ref().is_protected_rollback()
    }

    /// Interpretation of the `l` field (MVCC-15).
    pub fn last_change_kind(&self) -> LastChange {
        last_change_of(self.last_change)
    }
}

/// A Write record borrowing its short value from the input: decoding allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRef<'a> {
    pub write_type: WriteType,
    pub start_ts: u64,
    pub short_value: Option<&'a [u8]>,
    pub has_overlapped_rollback: bool,
    pub gc_fence: Option<u64>,
    pub last_change: Option<(u64, u64)>,
    pub txn_source: u64,
    /// Bytes from the first unknown tag on, ignored as TiKV does (MVCC-12). Empty when every
    /// tag was known. Kept so a reader can report records written by a newer TiKV.
    pub unknown_tail: &'a [u8],
}

impl<'a> WriteRef<'a> {
    /// Decodes a Write-CF value. An unknown type byte, a truncated start_ts or a truncated
    /// known field is an error naming it; an unknown tag ends parsing (MVCC-12).
    pub fn parse(b: &'a [u8]) -> Result<WriteRef<'a>> {
        let write_type = parse_type(b)?;
        let mut b = b.get(1..).unwrap_or_default();
        let start_ts = decode_var_u64(&mut b).map_err(|e| rename(e, "write record start_ts"))?;
        let mut w = WriteRef {
            write_type,
            start_ts,
            short_value: None,
            has_overlapped_rollback: false,
            gc_fence: None,
            last_change: None,
            txn_source: 0,
            unknown_tail: &[],
        };
        while let Some((&tag, rest)) = b.split_first() {
            match tag {
                TAG_SHORT_VALUE => {
                    b = rest;
                    let len = take(&mut b, 1, "write record short value length")?[0];
                    w.short_value = Some(take(&mut b, len as usize, "write record short value")?);
                }
                TAG_OVERLAPPED_ROLLBACK => {
                    b = rest;
                    w.has_overlapped_rollback = true;
                }
                TAG_GC_FENCE => {
                    b = rest;
                    w.gc_fence =
                        Some(decode_u64(&mut b).map_err(|e| rename(e, "write record gc_fence"))?);
                }
                TAG_LAST_CHANGE => {
                    b = rest;
                    let ts =
                        decode_u64(&mut b).map_err(|e| rename(e, "write record last_change ts"))?;
                    let versions = decode_var_u64(&mut b)
                        .map_err(|e| rename(e, "write record last_change versions"))?;
                    check_last_change(ts, versions)?;
                    w.last_change = Some((ts, versions));
                }
                TAG_TXN_SOURCE => {
                    b = rest;
                    w.txn_source =
                        decode_var_u64(&mut b).map_err(|e| rename(e, "write record txn_source"))?;
                }
                _ => {
                    // MVCC-12: fields are written in order; an unknown tag ends parsing.
                    w.unknown_tail = b;
                    break;
                }
            }
        }
        Ok(w)
    }

    /// Copies the short value into an owned [`Write`] (the unknown tail is dropped).
    pub fn to_owned(&self) -> Write {
        Write {
            write_type: self.write_type,
            start_ts: self.start_ts,
            short_value: self.short_value.map(<[u8]>::to_vec),
            has_overlapped_rollback: self.has_overlapped_rollback,
            gc_fence: self.gc_fence,
            last_change: self.last_change,
            txn_source: self.txn_source,
        }
    }

    /// Encodes in TiKV's field order (MVCC-10); the unknown tail is not written.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(
            1 + 10 + self.short_value.map_or(0, |v| 2 + v.len()) + 1 + 9 + 19 + 11,
        );
        self.encode_to(&mut out)?;
        Ok(out)
    }

    /// Appends the encoding to `out` (MVCC-10). On error `out` is left unchanged.
    pub fn encode_to(&self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(v) = self.short_value {
            if v.len() > SHORT_VALUE_MAX_LEN {
                return Err(CodecError::invalid(
                    "write record short value",
                    format!("{} bytes, at most {SHORT_VALUE_MAX_LEN}", v.len()),
                ));
            }
        }
        if let Some((ts, versions)) = self.last_change {
            check_last_change(ts, versions)?;
        }
        out.push(self.write_type.to_u8());
        encode_var_u64(out, self.start_ts);
        if let Some(v) = self.short_value {
            out.push(TAG_SHORT_VALUE);
            out.push(v.len() as u8); // checked above (MVCC-11)
            out.extend_from_slice(v);
        }
        if self.has_overlapped_rollback {
            out.push(TAG_OVERLAPPED_ROLLBACK);
        }
        if let Some(ts) = self.gc_fence {
            out.push(TAG_GC_FENCE);
            out.extend_from_slice(&encode_u64(ts));
        }
        if let Some((ts, versions)) = self.last_change {
            out.push(TAG_LAST_CHANGE);
            out.extend_from_slice(&encode_u64(ts));
            encode_var_u64(out, versions);
        }
        if self.txn_source != 0 {
            out.push(TAG_TXN_SOURCE);
            encode_var_u64(out, self.txn_source);
        }
        Ok(())
    }

    /// A Rollback whose short value is `"p"` (MVCC-14).
    pub fn is_protected_rollback(&self) -> bool {
        self.write_type == WriteType::Rollback
            && self.short_value == Some(PROTECTED_ROLLBACK_SHORT_VALUE)
    }

    /// Interpretation of the `l` field (MVCC-15).
    pub fn last_change_kind(&self) -> LastChange {
        last_change_of(self.last_change)
    }

    /// Whether this record, found as the newest version at `read_ts`, is valid: false when
    /// its GC fence points at a version at or before `read_ts` (MVCC-18).
    pub fn passes_gc_fence(&self, read_ts: u64) -> bool {
        !matches!(self.gc_fence, Some(f) if f != 0 && f <= read_ts)
    }
}

/// The version of one user key a backup holds (MVCC-17), like TiKV's `LatestEntryPolicy`.
/// `versions` are `(commit_ts, write value)` of one key, newest first (the order of the write
/// CF); versions above `backup_ts` are skipped. Deletes are kept only when `begin_ts > 0`
/// (incremental backup). Returns the chosen commit_ts and record, or `None` if the key is not
/// in the backup. Damaged records and versions out of order are errors.
pub fn backup_entry<'a, I>(
    versions: I,
    begin_ts: u64,
    backup_ts: u64,
) -> Result<Option<(u64, WriteRef<'a>)>>
where
    I: IntoIterator<Item = (u64, &'a [u8])>,
{
    let mut previous = u64::MAX;
    for (commit_ts, value) in versions {
        if commit_ts > previous {
            return Err(CodecError::invalid(
                "write CF versions",
                format!("commit_ts {commit_ts} after {previous}: not newest first"),
            ));
        }
        previous = commit_ts;
        if commit_ts > backup_ts {
            continue;
        }
        if commit_ts <= begin_ts {
            return Ok(None);
        }
        let w = WriteRef::parse(value)?;
        if !w.passes_gc_fence(backup_ts) {
            return Ok(None); // MVCC-18
        }
        match w.write_type {
            WriteType::Put => return Ok(Some((commit_ts, w))),
            WriteType::Delete if begin_ts > 0 => return Ok(Some((commit_ts, w))),
            WriteType::Delete => return Ok(None),
            WriteType::Lock | WriteType::Rollback => {}
        }
    }
    Ok(None)
}

/// Reads only the type byte of a Write-CF value (MVCC-8).
pub fn parse_type(b: &[u8]) -> Result<WriteType> {
    let Some(&t) = b.first() else {
        return Err(CodecError::Truncated {
            what: "write record type",
            needed: 1,
            available: 0,
        });
    };
    WriteType::from_u8(t).ok_or(CodecError::Unknown {
        what: "write record type",
        value: u64::from(t),
    })
}

fn check_last_change(ts: u64, versions: u64) -> Result<()> {
    if ts != 0 && versions == 0 {
        return Err(CodecError::invalid(
            "write record last_change",
            format!("last_change ts {ts} with 0 versions (MVCC-15)"),
        ));
    }
    Ok(())
}

fn rename(e: CodecError, what: &'static str) -> CodecError {
    match e {
        CodecError::Truncated {
            needed, available, ..
        } => CodecError::Truncated {
            what,
            needed,
            available,
        },
        CodecError::Invalid { detail, .. } => CodecError::Invalid { what, detail },
        CodecError::Unknown { value, .. } => CodecError::Unknown { what, value },
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
