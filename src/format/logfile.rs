//! Log data objects (format/log.md LOG-FILE-*): the event framing, reading one sub-file out of
//! a data object (range, decrypt, decompress with a cap, verify length / SHA-256 / crc64xor),
//! and writing sub-files and group objects with every `DataFileInfo` field filled the way TiKV
//! fills it. Pure: the caller supplies bytes, keys and IVs; no I/O, no clock, no randomness.

use super::checksum::Checksum;
use super::crypto::{Cipher, CipherMethod, IV_LEN};
use super::error::{FormatError, Result};
use super::logmeta::{
    DataKeyMode, EventKind, LogCompression, LogGroup, LogSubFile, SubFileEncryption,
};
use super::naming::snapshot::Cf;
use sha2::{Digest, Sha256};
use std::io::Read;

/// LOG-FILE-9: extra plaintext bytes tolerated past the declared `length` before a zstd frame
/// is cut off as a decompression bomb (the length is then reported as a mismatch).
pub const DECOMPRESS_SLACK: u64 = 64 * 1024;
/// LOG-FILE-9: the largest declared sub-file `length` brkit inflates (TiKV's default group
/// limit is 256 MiB of plaintext; this is 16 times that).
pub const MAX_SUB_FILE_LENGTH: u64 = 4 << 30;

/// Appends one framed event (LOG-FILE-1): `u32 LE key_len || key || u32 LE value_len || value`.
pub fn encode_event(out: &mut Vec<u8>, key: &[u8], value: &[u8]) -> Result<()> {
    let len32 = |n: usize, what: &str| {
        u32::try_from(n).map_err(|_| {
            FormatError::invalid(
                "LOG-FILE-1",
                what,
                format!("{n} bytes do not fit a u32 length"),
            )
        })
    };
    let kl = len32(key.len(), "event key")?;
    let vl = len32(value.len(), "event value")?;
    out.extend_from_slice(&kl.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&vl.to_le_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// Iterates the events of a plaintext event stream (LOG-FILE-1, LOG-FILE-2). After an error it
/// yields nothing more.
pub struct EventIter<'a> {
    rest: &'a [u8],
    offset: u64,
    failed: bool,
}

/// Iterates the events of `stream`, yielding `(key_with_ts, value)` slices.
pub fn events(stream: &[u8]) -> EventIter<'_> {
    EventIter {
        rest: stream,
        offset: 0,
        failed: false,
    }
}

impl<'a> EventIter<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(FormatError::truncated(
                "LOG-FILE-2",
                format!("{what} at stream offset {}", self.offset),
                n as u64,
                self.rest.len() as u64,
            ));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        self.offset += n as u64;
        Ok(head)
    }

    fn len_prefix(&mut self, what: &str) -> Result<usize> {
        let b = self.take(4, what)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(n).map_err(|_| FormatError::invalid("LOG-FILE-2", what, "length overflows"))
    }

    fn next_event(&mut self) -> Result<(&'a [u8], &'a [u8])> {
        let kl = self.len_prefix("event key length")?;
        let key = self.take(kl, "event key")?;
        let vl = self.len_prefix("event value length")?;
        let value = self.take(vl, "event value")?;
        Ok((key, value))
    }
}

impl<'a> Iterator for EventIter<'a> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let r = self.next_event();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Decodes a whole event stream into owned pairs (LOG-FILE-1, LOG-FILE-2).
pub fn decode_events(stream: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    events(stream)
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect()
}

/// The commit/start ts of an event key: the last 8 bytes, `encode_u64_desc` (LOG-FILE-7).
pub fn key_ts(key: &[u8]) -> Result<u64> {
    let n = key.len();
    let tail: [u8; 8] = key
        .get(n.saturating_sub(8)..)
        .and_then(|t| t.try_into().ok())
        .ok_or_else(|| {
            FormatError::invalid(
                "LOG-FILE-7",
                "event key",
                format!("{n} bytes: no 8-byte ts suffix"),
            )
        })?;
    Ok(!u64::from_be_bytes(tail))
}

/// The `start_ts` of a write-CF value (MVCC write record: type byte, then a varint), used for
/// `min_begin_ts_in_default_cf` (LOG-FILE-8).
pub fn write_record_start_ts(value: &[u8]) -> Result<u64> {
    let Some((&t, mut rest)) = value.split_first() else {
        return Err(FormatError::invalid("LOG-FILE-8", "write record", "empty"));
    };
    if !matches!(t, b'P' | b'D' | b'L' | b'R') {
        return Err(FormatError::invalid(
            "LOG-FILE-8",
            "write record",
            format!("unknown write type byte {t:#04x}"),
        ));
    }
    Ok(crate::codec::number::decode_var_u64(&mut rest)?)
}

/// The byte range of `f` inside an object of `object_len` bytes: `[range_offset,
/// range_offset + range_length)` for V2 sub-files, the whole object for V1 files (which carry
/// their own `path`).
pub fn sub_file_range(f: &LogSubFile, object_len: u64) -> Result<std::ops::Range<u64>> {
    if !f.path.is_empty() {
        return Ok(0..object_len);
    }
    let end = f
        .range_offset
        .checked_add(f.range_length)
        .filter(|&e| e <= object_len)
        .ok_or_else(|| {
            FormatError::truncated(
                "LOG-META-4",
                format!("sub-file range at {}", f.range_offset),
                f.range_offset.saturating_add(f.range_length),
                object_len,
            )
        })?;
    Ok(f.range_offset..end)
}

fn check_cipher(f: &LogSubFile, cipher: &Cipher) -> Result<Option<Vec<u8>>> {
    let Some(e) = f
        .encryption
        .as_ref()
        .filter(|e| e.method != CipherMethod::Plaintext)
    else {
        return Ok(None);
    };
    if let DataKeyMode::MasterKeyBased(_) = e.mode {
        // LOG-CRYPT-6: the data key is wrapped by a master key (KMS or file); the key given
        // on the command line is not the data key.
        return Err(FormatError::invalid(
            "LOG-CRYPT-6",
            "sub-file file_encryption_info",
            "the data key is wrapped by a master key (BR --master-key); brkit decrypts only plain_text_data_key sub-files",
        ));
    }
    if cipher.method != e.method {
        return Err(FormatError::mismatch(
            "LOG-FILE-4",
            "sub-file encryption method",
            format!("{:?}", e.method),
            format!("{:?} (the key given)", cipher.method),
        ));
    }
    Ok(Some(e.iv.clone()))
}

fn inflate(stored: &[u8], f: &LogSubFile) -> Result<Vec<u8>> {
    match f.compression {
        LogCompression::None => Ok(stored.to_vec()),
        LogCompression::Zstd => {
            if f.length > MAX_SUB_FILE_LENGTH {
                return Err(FormatError::invalid(
                    "LOG-FILE-9",
                    "sub-file length",
                    format!(
                        "declared {} bytes, over the {MAX_SUB_FILE_LENGTH} limit",
                        f.length
                    ),
                ));
            }
            let cap = f.length + DECOMPRESS_SLACK;
            let dec = zstd::stream::read::Decoder::new(stored)
                .map_err(|e| FormatError::invalid("LOG-FILE-3", "zstd frame", e.to_string()))?;
            let mut out = Vec::new();
            dec.take(cap + 1)
                .read_to_end(&mut out)
                .map_err(|e| FormatError::invalid("LOG-FILE-3", "zstd frame", e.to_string()))?;
            if out.len() as u64 > cap {
                return Err(FormatError::invalid(
                    "LOG-FILE-9",
                    "zstd frame",
                    format!(
                        "inflates past the declared length {} (+{DECOMPRESS_SLACK})",
                        f.length
                    ),
                ));
            }
            Ok(out)
        }
    }
}

/// Reads one sub-file out of its object's bytes and returns the verified plaintext event
/// stream: range (LOG-META-4), decrypt (LOG-FILE-4), decompress with a cap (LOG-FILE-3,
/// LOG-FILE-9), then length and SHA-256 (LOG-FILE-5) and crc64xor when set (LOG-FILE-6).
pub fn decode_sub_file(object: &[u8], f: &LogSubFile, cipher: &Cipher) -> Result<Vec<u8>> {
    let r = sub_file_range(f, object.len() as u64)?;
    // In range of `object`, so both ends fit usize.
    let stored = &object[r.start as usize..r.end as usize];
    let plain = match check_cipher(f, cipher)? {
        Some(iv) => {
            let mut buf = stored.to_vec();
            cipher.apply(&iv, &mut buf)?;
            inflate(&buf, f)?
        }
        None => inflate(stored, f)?,
    };
    if plain.len() as u64 != f.length {
        return Err(FormatError::mismatch(
            "LOG-FILE-5",
            "sub-file length",
            f.length.to_string(),
            plain.len().to_string(),
        ));
    }
    if let Some(want) = f.sha256 {
        let got: [u8; 32] = Sha256::digest(&plain).into();
        if got != want {
            return Err(FormatError::mismatch(
                "LOG-FILE-5",
                "sub-file sha256",
                hex::encode(want),
                hex::encode(got),
            ));
        }
    }
    if f.crc64xor != 0 {
        let got = stream_checksum(&plain)?.crc64xor;
        if got != f.crc64xor {
            return Err(FormatError::mismatch(
                "LOG-FILE-6",
                "sub-file crc64xor",
                format!("{:016x}", f.crc64xor),
                format!("{got:016x}"),
            ));
        }
    }
    Ok(plain)
}

/// CSUM-4 / LOG-FILE-6: XOR of CRC64(key with ts || value) over the events of a stream.
pub fn stream_checksum(stream: &[u8]) -> Result<Checksum> {
    let mut c = Checksum::default();
    for ev in events(stream) {
        let (k, v) = ev?;
        c.update(k, v);
    }
    Ok(c)
}

/// What the writer of a sub-file knows that the events do not say (LOG-FILE-7).
#[derive(Debug, Clone, PartialEq)]
pub struct SubFileSpec {
    pub region_id: i64,
    pub cf: Cf,
    pub kind: EventKind,
    pub is_meta: bool,
    pub table_id: i64,
    pub resolved_ts: u64,
    pub region_start_key: Vec<u8>,
    pub region_end_key: Vec<u8>,
    pub region_epochs: Vec<(u64, u64)>,
    pub compression: LogCompression,
}

/// Builds one sub-file from events: the stored bytes (zstd frame if asked, then AES-CTR with
/// `iv` when `cipher` encrypts) and its `LogSubFile` with every statistic filled
/// (LOG-FILE-5…8). `range_offset`/`range_length` are set by [`GroupBuilder`].
pub fn build_sub_file(
    spec: &SubFileSpec,
    events_in: &[(Vec<u8>, Vec<u8>)],
    cipher: &Cipher,
    iv: [u8; IV_LEN],
) -> Result<(Vec<u8>, LogSubFile)> {
    if events_in.is_empty() {
        return Err(FormatError::invalid("LOG-FILE-7", "sub-file", "no events"));
    }
    let mut plain = Vec::new();
    let mut crc = Checksum::default();
    let (mut min_ts, mut max_ts) = (u64::MAX, 0u64);
    let mut min_begin: Option<u64> = None;
    for (k, v) in events_in {
        encode_event(&mut plain, k, v)?;
        crc.update(k, v);
        let ts = key_ts(k)?;
        min_ts = min_ts.min(ts);
        max_ts = max_ts.max(ts);
        if spec.cf == Cf::Write && !v.is_empty() {
            let st = write_record_start_ts(v)?;
            min_begin = Some(min_begin.map_or(st, |m| m.min(st)));
        }
    }
    let start_key = events_in
        .iter()
        .map(|(k, _)| k)
        .min()
        .cloned()
        .unwrap_or_default();
    let end_key = events_in
        .iter()
        .map(|(k, _)| k)
        .max()
        .cloned()
        .unwrap_or_default();
    let sha256: [u8; 32] = Sha256::digest(&plain).into();
    let mut stored = match spec.compression {
        LogCompression::None => plain.clone(),
        LogCompression::Zstd => zstd::bulk::compress(&plain, 1)
            .map_err(|e| FormatError::invalid("LOG-FILE-3", "zstd compression", e.to_string()))?,
    };
    let encryption = if cipher.is_encrypted() {
        cipher.apply(&iv, &mut stored)?;
        Some(SubFileEncryption {
            method: cipher.method,
            mode: DataKeyMode::PlainText,
            iv: iv.to_vec(),
            checksum: Sha256::digest(&stored).to_vec(),
        })
    } else {
        None
    };
    let f = LogSubFile {
        sha256: Some(sha256),
        path: String::new(),
        number_of_entries: events_in.len() as u64,
        min_ts,
        max_ts,
        resolved_ts: spec.resolved_ts,
        region_id: spec.region_id,
        start_key,
        end_key,
        cf: spec.cf,
        kind: spec.kind,
        is_meta: spec.is_meta,
        table_id: spec.table_id,
        length: plain.len() as u64,
        min_begin_ts_in_default_cf: min_begin.unwrap_or(min_ts),
        range_offset: 0,
        range_length: stored.len() as u64,
        compression: spec.compression,
        crc64xor: crc.crc64xor,
        region_start_key: spec.region_start_key.clone(),
        region_end_key: spec.region_end_key.clone(),
        region_epochs: spec.region_epochs.clone(),
        encryption,
    };
    Ok((stored, f))
}

/// Concatenates stored sub-files into one group object (LOG-FILE-3), setting each
/// `range_offset`/`range_length` and the group's ts fields and length (LOG-META-5, LOG-META-11).
#[derive(Debug, Default)]
pub struct GroupBuilder {
    bytes: Vec<u8>,
    files: Vec<LogSubFile>,
}

impl GroupBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one stored sub-file.
    pub fn push(&mut self, stored: &[u8], mut f: LogSubFile) {
        f.path.clear();
        f.range_offset = self.bytes.len() as u64;
        f.range_length = stored.len() as u64;
        self.bytes.extend_from_slice(stored);
        self.files.push(f);
    }

    /// Bytes appended so far (the stored length of the object).
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The object bytes and its `LogGroup` named `path`.
    pub fn finish(self, path: String) -> (Vec<u8>, LogGroup) {
        let group = LogGroup {
            path,
            min_ts: self.files.iter().map(|f| f.min_ts).min().unwrap_or(0),
            max_ts: self.files.iter().map(|f| f.max_ts).max().unwrap_or(0),
            min_resolved_ts: self.files.iter().map(|f| f.resolved_ts).min().unwrap_or(0),
            length: self.bytes.len() as u64,
            files: self.files,
        };
        (self.bytes, group)
    }
}

#[cfg(test)]
#[path = "logfile_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "log/spec_tests.rs"]
pub(crate) mod spec_tests;
