//! Log backup metadata (format/log.md LOG-META-*, LOG-CKPT-*, LOG-TRUNC-*): the `.meta`
//! documents (`backup.Metadata` protobuf) converted into checked domain types and back; the
//! global checkpoint and truncate safepoint codecs and the restorable-window rule live in the
//! `window` submodule and are re-exported here. Pure: no I/O. Object names live in
//! `naming::log`; data-object bytes in `logfile`.

use super::crypto::CipherMethod;
use super::error::{FormatError, Result};
use super::naming::check_relative_name;
use super::naming::snapshot::Cf;
use crate::proto::backup::{DataFileGroup, DataFileInfo, Metadata};
use crate::proto::encryptionpb::{file_encryption_info::Mode, FileEncryptionInfo, MasterKeyBased};
use crate::proto::metapb::RegionEpoch;
use prost::Message;

/// `MetaVersion` of a `.meta` document (LOG-META-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogMetaVersion {
    /// TiKV ≤ v6.2: one object per sub-file, listed in `files`.
    V1,
    /// TiKV ≥ v6.3: group objects, listed in `file_groups`.
    V2,
}

/// Raft command kind of every event in a sub-file (`FileType`, LOG-META-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Delete,
    Put,
}

/// How a sub-file's stored bytes are compressed (LOG-META-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogCompression {
    /// `UNKNOWN` (0): stored as is.
    None,
    /// `ZSTD` (3): one independent zstd frame.
    Zstd,
}

/// Where the data key of an encrypted sub-file comes from (`FileEncryptionInfo.mode`).
#[derive(Debug, Clone, PartialEq)]
pub enum DataKeyMode {
    /// Neither oneof member set.
    Unset,
    /// `plain_text_data_key`: the key given on the command line (`--crypter.key`).
    PlainText,
    /// `master_key_based`: data key wrapped by master keys (kept opaque).
    MasterKeyBased(MasterKeyBased),
}

/// `FileEncryptionInfo` of one sub-file (LOG-META-10).
#[derive(Debug, Clone, PartialEq)]
pub struct SubFileEncryption {
    pub method: CipherMethod,
    pub mode: DataKeyMode,
    /// The CTR IV (16 bytes when `method` encrypts).
    pub iv: Vec<u8>,
    /// SHA-256 of the ciphertext, as TiKV writes it (may be empty).
    pub checksum: Vec<u8>,
}

/// One logical sub-file (`DataFileInfo`): a byte range of a data object holding one
/// compressed, possibly encrypted event stream (LOG-FILE-*).
#[derive(Debug, Clone, PartialEq)]
pub struct LogSubFile {
    /// SHA-256 of the plaintext, uncompressed event stream (LOG-FILE-5); `None` if absent.
    pub sha256: Option<[u8; 32]>,
    /// The object path: set in V1 metadata only (LOG-META-2); empty in V2 (LOG-META-3).
    pub path: String,
    pub number_of_entries: u64,
    pub min_ts: u64,
    pub max_ts: u64,
    pub resolved_ts: u64,
    pub region_id: i64,
    /// Smallest and largest encoded key with ts (no `z` prefix).
    pub start_key: Vec<u8>,
    pub end_key: Vec<u8>,
    pub cf: Cf,
    pub kind: EventKind,
    pub is_meta: bool,
    pub table_id: i64,
    /// Uncompressed length of the event stream (LOG-FILE-5).
    pub length: u64,
    pub min_begin_ts_in_default_cf: u64,
    pub range_offset: u64,
    pub range_length: u64,
    pub compression: LogCompression,
    pub crc64xor: u64,
    pub region_start_key: Vec<u8>,
    pub region_end_key: Vec<u8>,
    /// `(conf_ver, version)` pairs.
    pub region_epochs: Vec<(u64, u64)>,
    pub encryption: Option<SubFileEncryption>,
}

/// One data object (`DataFileGroup`) and the sub-files it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroup {
    pub path: String,
    pub min_ts: u64,
    pub max_ts: u64,
    pub min_resolved_ts: u64,
    /// Stored length of the object = Σ `range_length` (LOG-META-5).
    pub length: u64,
    pub files: Vec<LogSubFile>,
}

/// One `.meta` document (`Metadata`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogMeta {
    pub store_id: i64,
    pub resolved_ts: u64,
    pub min_ts: u64,
    pub max_ts: u64,
    pub version: LogMetaVersion,
    /// V2 only.
    pub groups: Vec<LogGroup>,
    /// V1 only: each sub-file is a whole object named by its `path`.
    pub files: Vec<LogSubFile>,
}

impl LogMeta {
    /// Every sub-file with the object it lives in: the group path for V2 (BR copies it into
    /// the sub-file, LOG-META-3), the sub-file's own path for V1.
    pub fn sub_files(&self) -> impl Iterator<Item = (&str, &LogSubFile)> {
        let v1 = self.files.iter().map(|f| (f.path.as_str(), f));
        let v2 = self
            .groups
            .iter()
            .flat_map(|g| g.files.iter().map(move |f| (g.path.as_str(), f)));
        v1.chain(v2)
    }
}

fn u64_of(rule: &'static str, what: &str, field: &str, v: i64) -> Result<u64> {
    u64::try_from(v)
        .map_err(|_| FormatError::invalid(rule, what, format!("{field} is negative ({v})")))
}

fn sub_file_from_proto(what: &str, p: DataFileInfo) -> Result<LogSubFile> {
    let sha256 = match p.sha256.len() {
        0 => None,
        32 => Some(p.sha256.as_slice().try_into().unwrap_or([0; 32])),
        n => {
            return Err(FormatError::invalid(
                "LOG-META-7",
                what,
                format!("sha256 has {n} bytes, not 32"),
            ))
        }
    };
    if p.min_ts > p.max_ts {
        return Err(FormatError::invalid(
            "LOG-META-6",
            what,
            format!("min_ts {} > max_ts {}", p.min_ts, p.max_ts),
        ));
    }
    // LOG-META-7: only the two column families log backup records.
    let cf = match p.cf.as_str() {
        "default" => Cf::Default,
        "write" => Cf::Write,
        other => {
            return Err(FormatError::invalid(
                "LOG-META-7",
                what,
                format!("unknown column family {other:?} (log backup has default and write)"),
            ))
        }
    };
    let kind = match p.r#type {
        0 => EventKind::Delete,
        1 => EventKind::Put,
        other => {
            return Err(FormatError::unknown_version(
                "LOG-META-8",
                format!("{what} type"),
                other as u64,
                "0 Delete, 1 Put",
            ))
        }
    };
    let compression = match p.compression_type {
        0 => LogCompression::None,
        3 => LogCompression::Zstd,
        1 | 2 => {
            return Err(FormatError::invalid(
                "LOG-META-9",
                what,
                format!(
                    "compression_type {} ({}) is not supported for log files (BR reads UNKNOWN and ZSTD)",
                    p.compression_type,
                    if p.compression_type == 1 { "LZ4" } else { "SNAPPY" }
                ),
            ))
        }
        other => {
            return Err(FormatError::unknown_version(
                "LOG-META-9",
                format!("{what} compression_type"),
                other as u64,
                "0 UNKNOWN, 3 ZSTD",
            ))
        }
    };
    let encryption = match p.file_encryption_info {
        None => None,
        Some(e) => Some(encryption_from_proto(what, e)?),
    };
    Ok(LogSubFile {
        sha256,
        path: p.path,
        number_of_entries: u64_of("LOG-META-7", what, "number_of_entries", p.number_of_entries)?,
        min_ts: p.min_ts,
        max_ts: p.max_ts,
        resolved_ts: p.resolved_ts,
        region_id: p.region_id,
        start_key: p.start_key,
        end_key: p.end_key,
        cf,
        kind,
        is_meta: p.is_meta,
        table_id: p.table_id,
        length: p.length,
        min_begin_ts_in_default_cf: p.min_begin_ts_in_default_cf,
        range_offset: p.range_offset,
        range_length: p.range_length,
        compression,
        crc64xor: p.crc64xor,
        region_start_key: p.region_start_key,
        region_end_key: p.region_end_key,
        region_epochs: p
            .region_epoch
            .into_iter()
            .map(|e| (e.conf_ver, e.version))
            .collect(),
        encryption,
    })
}

fn encryption_from_proto(what: &str, e: FileEncryptionInfo) -> Result<SubFileEncryption> {
    let method = CipherMethod::from_proto(e.encryption_method)
        .map_err(|err| err.in_file(what.to_string()))?;
    if method != CipherMethod::Plaintext && e.file_iv.len() != super::crypto::IV_LEN {
        return Err(FormatError::invalid(
            "LOG-META-10",
            what,
            format!("file_iv has {} bytes, not 16", e.file_iv.len()),
        ));
    }
    let mode = match e.mode {
        None => DataKeyMode::Unset,
        Some(Mode::PlainTextDataKey(_)) => DataKeyMode::PlainText,
        Some(Mode::MasterKeyBased(m)) => DataKeyMode::MasterKeyBased(m),
    };
    Ok(SubFileEncryption {
        method,
        mode,
        iv: e.file_iv,
        checksum: e.checksum,
    })
}

fn sub_file_to_proto(f: &LogSubFile) -> DataFileInfo {
    DataFileInfo {
        sha256: f.sha256.map(|s| s.to_vec()).unwrap_or_default(),
        path: f.path.clone(),
        number_of_entries: f.number_of_entries.min(i64::MAX as u64) as i64,
        min_ts: f.min_ts,
        max_ts: f.max_ts,
        resolved_ts: f.resolved_ts,
        region_id: f.region_id,
        start_key: f.start_key.clone(),
        end_key: f.end_key.clone(),
        cf: f.cf.as_str().to_string(),
        r#type: match f.kind {
            EventKind::Delete => 0,
            EventKind::Put => 1,
        },
        is_meta: f.is_meta,
        table_id: f.table_id,
        length: f.length,
        min_begin_ts_in_default_cf: f.min_begin_ts_in_default_cf,
        range_offset: f.range_offset,
        range_length: f.range_length,
        compression_type: match f.compression {
            LogCompression::None => 0,
            LogCompression::Zstd => 3,
        },
        crc64xor: f.crc64xor,
        region_start_key: f.region_start_key.clone(),
        region_end_key: f.region_end_key.clone(),
        region_epoch: f
            .region_epochs
            .iter()
            .map(|&(conf_ver, version)| RegionEpoch { conf_ver, version })
            .collect(),
        file_encryption_info: f.encryption.as_ref().map(|e| FileEncryptionInfo {
            encryption_method: e.method.to_proto(),
            file_iv: e.iv.clone(),
            checksum: e.checksum.clone(),
            mode: match &e.mode {
                DataKeyMode::Unset => None,
                DataKeyMode::PlainText => Some(Mode::PlainTextDataKey(Default::default())),
                DataKeyMode::MasterKeyBased(m) => Some(Mode::MasterKeyBased(m.clone())),
            },
        }),
    }
}

/// LOG-META-4, LOG-META-5: ranges inside the group, disjoint, and summing to its length.
fn check_group_ranges(g: &LogGroup) -> Result<()> {
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(g.files.len());
    let mut sum: u64 = 0;
    for (i, f) in g.files.iter().enumerate() {
        let what = || format!("{} sub-file {i}", g.path);
        let end = f.range_offset.checked_add(f.range_length).ok_or_else(|| {
            FormatError::invalid(
                "LOG-META-4",
                what(),
                "range_offset + range_length overflows",
            )
        })?;
        if g.length != 0 && end > g.length {
            return Err(FormatError::invalid(
                "LOG-META-4",
                what(),
                format!(
                    "range [{}, {end}) exceeds the group length {}",
                    f.range_offset, g.length
                ),
            ));
        }
        sum = sum.checked_add(f.range_length).ok_or_else(|| {
            FormatError::invalid("LOG-META-5", g.path.clone(), "Σ range_length overflows")
        })?;
        ranges.push((f.range_offset, end, i));
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(FormatError::invalid(
                "LOG-META-4",
                format!("{} sub-file {}", g.path, w[1].2),
                format!(
                    "range [{}, {}) overlaps sub-file {} [{}, {})",
                    w[1].0, w[1].1, w[0].2, w[0].0, w[0].1
                ),
            ));
        }
    }
    if g.length != 0 && sum != g.length {
        return Err(FormatError::mismatch(
            "LOG-META-5",
            format!("{} length", g.path),
            g.length.to_string(),
            format!("{sum} (Σ range_length)"),
        ));
    }
    Ok(())
}

/// Decodes and checks a `.meta` document (LOG-META-1 … LOG-META-10).
pub fn decode_log_meta(bytes: &[u8]) -> Result<LogMeta> {
    let m =
        Metadata::decode(bytes).map_err(|e| FormatError::protobuf("LOG-META-1", "Metadata", e))?;
    let version = match m.meta_version {
        0 => LogMetaVersion::V1,
        1 => LogMetaVersion::V2,
        v => {
            return Err(FormatError::unknown_version(
                "LOG-META-1",
                "Metadata.meta_version",
                v as u64,
                "0 V1, 1 V2",
            ))
        }
    };
    if m.min_ts > m.max_ts {
        return Err(FormatError::invalid(
            "LOG-META-6",
            "Metadata",
            format!("min_ts {} > max_ts {}", m.min_ts, m.max_ts),
        ));
    }
    let mut files = Vec::new();
    let mut groups = Vec::new();
    match version {
        LogMetaVersion::V1 => {
            if !m.file_groups.is_empty() {
                return Err(FormatError::invalid(
                    "LOG-META-2",
                    "Metadata",
                    "V1 metadata carries file_groups",
                ));
            }
            for (i, f) in m.files.into_iter().enumerate() {
                let what = format!("files[{i}] {}", f.path);
                check_relative_name(&f.path)
                    .map_err(|e| e.in_file(what.clone()).rule("LOG-META-2"))?;
                files.push(sub_file_from_proto(&what, f)?);
            }
        }
        LogMetaVersion::V2 => {
            if !m.files.is_empty() {
                return Err(FormatError::invalid(
                    "LOG-META-3",
                    "Metadata",
                    "V2 metadata carries V1 files",
                ));
            }
            for (gi, g) in m.file_groups.into_iter().enumerate() {
                check_relative_name(&g.path)
                    .map_err(|e| e.in_file(format!("file_groups[{gi}]")).rule("LOG-META-3"))?;
                if g.min_ts > g.max_ts {
                    return Err(FormatError::invalid(
                        "LOG-META-6",
                        g.path.clone(),
                        format!("group min_ts {} > max_ts {}", g.min_ts, g.max_ts),
                    ));
                }
                let mut sub = Vec::with_capacity(g.data_files_info.len());
                for (i, f) in g.data_files_info.into_iter().enumerate() {
                    let what = format!("{} sub-file {i}", g.path);
                    if !f.path.is_empty() && f.path != g.path {
                        return Err(FormatError::invalid(
                            "LOG-META-3",
                            what,
                            format!("sub-file path {:?} differs from its group's", f.path),
                        ));
                    }
                    sub.push(sub_file_from_proto(&what, f)?);
                }
                let group = LogGroup {
                    path: g.path,
                    min_ts: g.min_ts,
                    max_ts: g.max_ts,
                    min_resolved_ts: g.min_resolved_ts,
                    length: g.length,
                    files: sub,
                };
                check_group_ranges(&group)?;
                groups.push(group);
            }
        }
    }
    Ok(LogMeta {
        store_id: m.store_id,
        resolved_ts: m.resolved_ts,
        min_ts: m.min_ts,
        max_ts: m.max_ts,
        version,
        groups,
        files,
    })
}

/// Encodes a `.meta` document; `decode_log_meta(&encode_log_meta(m)) == m` for every `m`
/// that decodes. Field order and omitted defaults match TiKV's output.
pub fn encode_log_meta(meta: &LogMeta) -> Vec<u8> {
    Metadata {
        files: meta.files.iter().map(sub_file_to_proto).collect(),
        store_id: meta.store_id,
        resolved_ts: meta.resolved_ts,
        max_ts: meta.max_ts,
        min_ts: meta.min_ts,
        file_groups: meta
            .groups
            .iter()
            .map(|g| DataFileGroup {
                path: g.path.clone(),
                data_files_info: g.files.iter().map(sub_file_to_proto).collect(),
                min_ts: g.min_ts,
                max_ts: g.max_ts,
                min_resolved_ts: g.min_resolved_ts,
                length: g.length,
            })
            .collect(),
        meta_version: match meta.version {
            LogMetaVersion::V1 => 0,
            LogMetaVersion::V2 => 1,
        },
    }
    .encode_to_vec()
}

#[path = "log/window.rs"]
mod window;
pub use window::*;

#[cfg(test)]
#[path = "logmeta_tests.rs"]
pub(crate) mod tests;
