//! `backupmeta` and V2 metafiles (format/backupmeta.md META-*, META-V2-*; encryption per
//! format/encryption.md CRYPT-3, CRYPT-4): decoding with every check the spec asks of a reader,
//! and an incremental writer that produces the metafiles and the root exactly as BR lays them
//! out. Pure: the caller reads and writes the objects (`crate::archive`).

use super::checksum::Checksum;
use super::crypto::{random_iv, Cipher, IV_LEN};
use super::error::{FormatError, Result};
use super::naming::check_relative_name;
use super::naming::snapshot::{build_metafile_name, Cf, MetaFileKind, BACKUPMETA};
use crate::proto::backup as pb;
use prost::Message;
use sha2::{Digest, Sha256};

/// META-1: the meta scheme versions this code knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaVersion {
    /// Everything inline in `backupmeta`.
    V1,
    /// Data files, schemas and DDLs in metafiles behind indexes (depth 1).
    V2,
}

/// META-2: the highest `backup_schema_version` this code understands.
pub const MAX_BACKUP_SCHEMA_VERSION: u32 = 1;
/// META-V2-4: a leaf metafile is flushed once its buffered protobuf exceeds this size.
pub const METAFILE_SPLIT_BYTES: usize = 128 << 20;

/// One SST data file of a snapshot archive (DATA-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    pub name: String,
    /// SHA-256 of the stored (possibly encrypted) bytes (CRYPT-5, CSUM-7).
    pub sha256: Vec<u8>,
    /// Raw user key, inclusive.
    pub start_key: Vec<u8>,
    /// Raw user key, exclusive; empty = unbounded.
    pub end_key: Vec<u8>,
    pub start_version: u64,
    pub end_version: u64,
    /// CSUM-2: the KVs accounted to this file.
    pub checksum: Checksum,
    pub cf: Cf,
    pub size: u64,
    pub cipher_iv: Vec<u8>,
}

/// One schema entry: a table, or an empty database when `table_json` is `None`
/// (META-SCHEMA-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaEntry {
    pub db_json: Vec<u8>,
    pub table_json: Option<Vec<u8>>,
    /// CSUM-3: the table checksum at backup time.
    pub checksum: Checksum,
    pub tiflash_replicas: u32,
}

/// A pointer from the root index to a leaf metafile (META-V2-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaPointer {
    pub name: String,
    /// SHA-256 of the plaintext protobuf.
    pub sha256: Vec<u8>,
    /// Plaintext length.
    pub size: u64,
    pub cipher_iv: Vec<u8>,
}

/// The decoded root document.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupMeta {
    pub version: MetaVersion,
    pub cluster_id: u64,
    pub cluster_version: String,
    pub br_version: String,
    /// 0 for a full backup; the task start ts for a log archive's root.
    pub start_version: u64,
    /// The backup ts (snapshot); 0 for a log archive's root.
    pub end_version: u64,
    pub backup_size: u64,
    pub backup_schema_version: u32,
    pub api_version: i32,
    pub is_raw_kv: bool,
    pub is_txn_kv: bool,
    pub new_collations_enabled: String,
    /// META-6: V1 inline lists (a V2 root may also carry some: META-V2-5).
    pub files: Vec<DataFile>,
    pub schemas: Vec<SchemaEntry>,
    /// The inline `ddls` JSON (V1), `[]` when empty (META-4).
    pub ddls: Vec<u8>,
    pub file_index: Vec<MetaPointer>,
    pub schema_index: Vec<MetaPointer>,
    pub ddl_index: Vec<MetaPointer>,
    /// Fields brkit does not interpret but must carry over when rewriting a root
    /// (policies, raw ranges, PITR maps, mode, ranges).
    pub passthrough: pb::BackupMeta,
    /// META-3: top-level field numbers this code does not know (newer BR refuses to restore
    /// such a root; brkit reports them and never writes them back).
    pub unknown_fields: Vec<u32>,
}

/// Field numbers of `BackupMeta` known to this code (proto/brpb.proto; 3 is reserved).
const KNOWN_BACKUPMETA_FIELDS: std::ops::RangeInclusive<u32> = 1..=26;

/// Lists the top-level field numbers of a protobuf message that are not `known`, in order of
/// first appearance (META-3). Walks the wire format only; the message already decoded, so a
/// malformed tail cannot occur here, but is reported as an error rather than assumed.
pub fn unknown_field_numbers(bytes: &[u8], known: impl Fn(u32) -> bool) -> Result<Vec<u32>> {
    use prost::encoding::{decode_key, skip_field, DecodeContext};
    let mut buf = bytes;
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (tag, wire_type) =
            decode_key(&mut buf).map_err(|e| FormatError::protobuf("META-3", "BackupMeta", e))?;
        if !known(tag) && !out.contains(&tag) {
            out.push(tag);
        }
        skip_field(wire_type, tag, &mut buf, DecodeContext::default())
            .map_err(|e| FormatError::protobuf("META-3", "BackupMeta", e))?;
    }
    Ok(out)
}

/// The content of one leaf metafile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetaFileContent {
    pub data_files: Vec<DataFile>,
    pub schemas: Vec<SchemaEntry>,
    /// One JSON-encoded DDL job per item (META-V2-6).
    pub ddls: Vec<Vec<u8>>,
}

/// A data file from its protobuf form (DATA-2); `what` names it in errors.
pub fn data_file_from_pb(f: pb::File, what: &str) -> Result<DataFile> {
    check_relative_name(&f.name).map_err(|e| e.in_file(what.to_string()))?;
    if !f.sha256.is_empty() && f.sha256.len() != 32 {
        return Err(FormatError::invalid(
            "DATA-2",
            format!("File {:?} field sha256", f.name),
            format!("{} bytes, expected 32", f.sha256.len()),
        ));
    }
    if !f.cipher_iv.is_empty() && f.cipher_iv.len() != IV_LEN {
        return Err(FormatError::invalid(
            "CRYPT-5",
            format!("File {:?} field cipher_iv", f.name),
            format!("{} bytes, expected 16", f.cipher_iv.len()),
        ));
    }
    let cf = Cf::parse(&f.cf).ok_or_else(|| {
        FormatError::invalid(
            "DATA-2",
            format!("File {:?} field cf", f.name),
            format!("unknown column family {:?}", f.cf),
        )
    })?;
    Ok(DataFile {
        name: f.name,
        sha256: f.sha256,
        start_key: f.start_key,
        end_key: f.end_key,
        start_version: f.start_version,
        end_version: f.end_version,
        checksum: Checksum {
            crc64xor: f.crc64xor,
            total_kvs: f.total_kvs,
            total_bytes: f.total_bytes,
        },
        cf,
        size: f.size,
        cipher_iv: f.cipher_iv,
    })
}

/// The protobuf form of a data file (DATA-2).
pub fn data_file_to_pb(f: &DataFile) -> pb::File {
    pb::File {
        name: f.name.clone(),
        sha256: f.sha256.clone(),
        start_key: f.start_key.clone(),
        end_key: f.end_key.clone(),
        start_version: f.start_version,
        end_version: f.end_version,
        crc64xor: f.checksum.crc64xor,
        total_kvs: f.checksum.total_kvs,
        total_bytes: f.checksum.total_bytes,
        cf: f.cf.as_str().to_string(),
        size: f.size,
        cipher_iv: f.cipher_iv.clone(),
        table_metas: Vec::new(),
    }
}

fn pointer_from_pb(f: pb::File, index: &str) -> Result<MetaPointer> {
    check_relative_name(&f.name).map_err(|e| e.in_file(BACKUPMETA))?;
    if f.sha256.len() != 32 {
        return Err(FormatError::invalid(
            "META-V2-3",
            format!("{index} pointer {:?} field sha256", f.name),
            format!("{} bytes, expected 32", f.sha256.len()),
        )
        .in_file(BACKUPMETA));
    }
    Ok(MetaPointer {
        name: f.name,
        sha256: f.sha256,
        size: f.size,
        cipher_iv: f.cipher_iv,
    })
}

fn schema_from_pb(s: pb::Schema) -> SchemaEntry {
    SchemaEntry {
        db_json: s.db,
        table_json: (!s.table.is_empty()).then_some(s.table),
        checksum: Checksum {
            crc64xor: s.crc64xor,
            total_kvs: s.total_kvs,
            total_bytes: s.total_bytes,
        },
        tiflash_replicas: s.tiflash_replicas,
    }
}

fn schema_to_pb(s: &SchemaEntry) -> pb::Schema {
    pb::Schema {
        db: s.db_json.clone(),
        table: s.table_json.clone().unwrap_or_default(),
        crc64xor: s.checksum.crc64xor,
        total_kvs: s.checksum.total_kvs,
        total_bytes: s.checksum.total_bytes,
        tiflash_replicas: s.tiflash_replicas,
        ..Default::default()
    }
}

fn index_pointers(index: Option<pb::MetaFile>, what: &str) -> Result<Vec<MetaPointer>> {
    let Some(index) = index else {
        return Ok(Vec::new());
    };
    if !index.data_files.is_empty() || !index.schemas.is_empty() || !index.ddls.is_empty() {
        return Err(FormatError::invalid(
            "META-V2-1",
            format!("backupmeta field {what}"),
            "a root index holds items instead of pointers to leaf metafiles",
        )
        .in_file(BACKUPMETA));
    }
    index
        .meta_files
        .into_iter()
        .map(|f| pointer_from_pb(f, what))
        .collect()
}

/// Decrypts the root if `cipher` is effective: the first 16 bytes are the IV (CRYPT-3).
pub fn decrypt_backupmeta(bytes: &[u8], cipher: &Cipher) -> Result<Vec<u8>> {
    if !cipher.is_encrypted() {
        return Ok(bytes.to_vec());
    }
    if bytes.len() < IV_LEN {
        return Err(FormatError::truncated(
            "CRYPT-3",
            "encrypted backupmeta IV",
            IV_LEN as u64,
            bytes.len() as u64,
        )
        .in_file(BACKUPMETA));
    }
    let (iv, body) = bytes.split_at(IV_LEN);
    let mut plain = body.to_vec();
    cipher.apply(iv, &mut plain)?;
    Ok(plain)
}

/// Decodes `backupmeta` (META-1, META-2, META-6, META-V2-1, CRYPT-3). A wrong key shows up as
/// a protobuf error: CTR has no integrity of its own, so the message says so.
pub fn decode_backupmeta(bytes: &[u8], cipher: &Cipher) -> Result<BackupMeta> {
    let plain = decrypt_backupmeta(bytes, cipher)?;
    let mut m = pb::BackupMeta::decode(plain.as_slice()).map_err(|e| {
        let mut err = FormatError::protobuf("META-1", "BackupMeta", e).in_file(BACKUPMETA);
        if cipher.is_encrypted() {
            err.kind = super::error::FormatErrorKind::Invalid {
                what: "BackupMeta".into(),
                detail: "does not decode after decryption: wrong --crypter.key or method?".into(),
            };
        }
        err
    })?;
    let unknown_fields =
        unknown_field_numbers(&plain, |n| KNOWN_BACKUPMETA_FIELDS.contains(&n) && n != 3)
            .map_err(|e| e.in_file(BACKUPMETA))?;
    let version = match m.version {
        0 => MetaVersion::V1,
        1 => MetaVersion::V2,
        v => {
            return Err(FormatError::unknown_version(
                "META-1",
                "backupmeta field version",
                v as u64,
                "0 (V1), 1 (V2)",
            )
            .in_file(BACKUPMETA))
        }
    };
    if m.backup_schema_version > MAX_BACKUP_SCHEMA_VERSION {
        return Err(FormatError::unknown_version(
            "META-2",
            "backupmeta field backup_schema_version",
            m.backup_schema_version as u64,
            format!("at most {MAX_BACKUP_SCHEMA_VERSION}"),
        )
        .in_file(BACKUPMETA));
    }
    let files = std::mem::take(&mut m.files)
        .into_iter()
        .map(|f| data_file_from_pb(f, BACKUPMETA))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| e.in_file(BACKUPMETA))?;
    let schemas = std::mem::take(&mut m.schemas)
        .into_iter()
        .map(schema_from_pb)
        .collect();
    let file_index = index_pointers(m.file_index.take(), "file_index")?;
    let schema_index = index_pointers(m.schema_index.take(), "schema_index")?;
    let ddl_index = index_pointers(m.ddl_indexes.take(), "ddl_indexes")?;
    Ok(BackupMeta {
        version,
        cluster_id: m.cluster_id,
        cluster_version: std::mem::take(&mut m.cluster_version),
        br_version: std::mem::take(&mut m.br_version),
        start_version: m.start_version,
        end_version: m.end_version,
        backup_size: m.backup_size,
        backup_schema_version: m.backup_schema_version,
        api_version: m.api_version,
        is_raw_kv: m.is_raw_kv,
        is_txn_kv: m.is_txn_kv,
        new_collations_enabled: std::mem::take(&mut m.new_collations_enabled),
        files,
        schemas,
        ddls: std::mem::take(&mut m.ddls),
        file_index,
        schema_index,
        ddl_index,
        passthrough: m,
        unknown_fields,
    })
}

/// Decodes one leaf metafile: decrypts with the pointer's IV (CRYPT-4), checks the plaintext
/// length and SHA-256 against the pointer (META-V2-3) and refuses a tree deeper than 1
/// (META-V2-1).
pub fn decode_metafile(
    bytes: &[u8],
    pointer: &MetaPointer,
    cipher: &Cipher,
) -> Result<MetaFileContent> {
    let file = pointer.name.as_str();
    let mut plain = bytes.to_vec();
    cipher
        .apply(&pointer.cipher_iv, &mut plain)
        .map_err(|e| e.in_file(file))?;
    if plain.len() as u64 != pointer.size {
        return Err(FormatError::mismatch(
            "META-V2-3",
            "metafile size",
            pointer.size.to_string(),
            plain.len().to_string(),
        )
        .in_file(file));
    }
    let digest = Sha256::digest(&plain);
    if digest.as_slice() != pointer.sha256.as_slice() {
        return Err(FormatError::mismatch(
            "META-V2-3",
            "metafile SHA-256",
            hex::encode(&pointer.sha256),
            hex::encode(digest),
        )
        .in_file(file));
    }
    let m = pb::MetaFile::decode(plain.as_slice())
        .map_err(|e| FormatError::protobuf("META-V2-3", "MetaFile", e).in_file(file))?;
    if !m.meta_files.is_empty() {
        return Err(FormatError::invalid(
            "META-V2-1",
            "MetaFile field meta_files",
            format!(
                "a leaf points to {} further metafiles (tree depth 2)",
                m.meta_files.len()
            ),
        )
        .in_file(file));
    }
    Ok(MetaFileContent {
        data_files: m
            .data_files
            .into_iter()
            .map(|f| data_file_from_pb(f, file))
            .collect::<Result<_>>()
            .map_err(|e| e.in_file(file))?,
        schemas: m.schemas.into_iter().map(schema_from_pb).collect(),
        ddls: m.ddls,
    })
}

/// META-V2-6: joins leaf DDL items into one JSON array.
pub fn merge_ddls(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"[".to_vec();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    out
}

/// Header fields of a root written by [`MetaWriter::finish`].
#[derive(Debug, Clone, Default)]
pub struct RootHeader {
    pub cluster_id: u64,
    pub cluster_version: String,
    pub br_version: String,
    pub start_version: u64,
    pub end_version: u64,
    pub new_collations_enabled: String,
}

/// An encoded object the caller must write before the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedObject {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Builds metafiles and the root like BR's MetaWriter (META-V2-2, META-V2-4): items are
/// buffered per kind and flushed as `backupmeta.<kind>.<seq>` objects, one sequence counter
/// shared by all kinds; the root comes last (ORDER-2). With V1 everything stays inline.
pub struct MetaWriter {
    version: MetaVersion,
    cipher: Cipher,
    split_bytes: usize,
    seq: u64,
    buf: pb::MetaFile,
    buf_kind: Option<MetaFileKind>,
    buf_bytes: usize,
    inline: pb::BackupMeta,
    file_index: Vec<pb::File>,
    schema_index: Vec<pb::File>,
    ddl_index: Vec<pb::File>,
    /// META-5: stored sizes of metafiles plus data files, added up as they pass.
    size_so_far: u64,
}

impl MetaWriter {
    pub fn new(version: MetaVersion, cipher: Cipher) -> Self {
        Self::with_split(version, cipher, METAFILE_SPLIT_BYTES)
    }

    /// A writer with a smaller split threshold (tests exercise META-V2-4 without 128 MiB).
    pub fn with_split(version: MetaVersion, cipher: Cipher, split_bytes: usize) -> Self {
        MetaWriter {
            version,
            cipher,
            split_bytes,
            seq: 0,
            buf: pb::MetaFile::default(),
            buf_kind: None,
            buf_bytes: 0,
            inline: pb::BackupMeta::default(),
            file_index: Vec::new(),
            schema_index: Vec::new(),
            ddl_index: Vec::new(),
            size_so_far: 0,
        }
    }

    fn push(
        &mut self,
        kind: MetaFileKind,
        add: impl FnOnce(&mut pb::MetaFile) -> usize,
    ) -> Result<Vec<EncodedObject>> {
        let mut out = Vec::new();
        if self.buf_kind.is_some_and(|k| k != kind) {
            out.extend(self.flush()?);
        }
        self.buf_kind = Some(kind);
        self.buf_bytes += add(&mut self.buf);
        if self.buf_bytes > self.split_bytes {
            out.extend(self.flush()?);
        }
        Ok(out)
    }

    /// Adds a data file. Returns the metafiles to write now (buffers that were flushed).
    pub fn add_data_file(&mut self, f: &DataFile) -> Result<Vec<EncodedObject>> {
        self.size_so_far += f.size;
        let p = data_file_to_pb(f);
        if self.version == MetaVersion::V1 {
            self.inline.files.push(p);
            return Ok(Vec::new());
        }
        self.push(MetaFileKind::DataFile, |m| {
            let n = p.encoded_len() + 4;
            m.data_files.push(p);
            n
        })
    }

    /// Adds a schema entry.
    pub fn add_schema(&mut self, s: &SchemaEntry) -> Result<Vec<EncodedObject>> {
        let p = schema_to_pb(s);
        if self.version == MetaVersion::V1 {
            self.inline.schemas.push(p);
            return Ok(Vec::new());
        }
        self.push(MetaFileKind::Schema, |m| {
            let n = p.encoded_len() + 4;
            m.schemas.push(p);
            n
        })
    }

    /// Ends a phase (META-V2-4): flushes what is buffered.
    pub fn flush(&mut self) -> Result<Option<EncodedObject>> {
        let Some(kind) = self.buf_kind.take() else {
            return Ok(None);
        };
        self.buf_bytes = 0;
        let plain = std::mem::take(&mut self.buf).encode_to_vec();
        self.seq += 1;
        let name = build_metafile_name(kind, self.seq);
        let (sha256, size) = (Sha256::digest(&plain).to_vec(), plain.len() as u64);
        let (iv, mut bytes) = (self.iv(), plain);
        self.cipher.apply(&iv, &mut bytes)?;
        self.size_so_far += bytes.len() as u64;
        let pointer = pb::File {
            name: name.clone(),
            sha256,
            size,
            cipher_iv: iv,
            ..Default::default()
        };
        match kind {
            MetaFileKind::DataFile => self.file_index.push(pointer),
            MetaFileKind::Schema | MetaFileKind::Stats => self.schema_index.push(pointer),
            MetaFileKind::Ddl => self.ddl_index.push(pointer),
        }
        Ok(Some(EncodedObject { name, bytes }))
    }

    fn iv(&self) -> Vec<u8> {
        if self.cipher.is_encrypted() {
            random_iv().to_vec()
        } else {
            Vec::new()
        }
    }

    /// Finishes: flushes the last buffer and returns (last metafile if any, the root).
    /// The caller writes the metafile first and the root last (ORDER-2).
    pub fn finish(mut self, header: &RootHeader) -> Result<(Option<EncodedObject>, EncodedObject)> {
        let last = self.flush()?;
        let mut root = std::mem::take(&mut self.inline);
        root.cluster_id = header.cluster_id;
        root.cluster_version = header.cluster_version.clone();
        root.br_version = header.br_version.clone();
        root.start_version = header.start_version;
        root.end_version = header.end_version;
        root.new_collations_enabled = header.new_collations_enabled.clone();
        root.ddls = b"[]".to_vec(); // META-4
        root.version = match self.version {
            MetaVersion::V1 => 0,
            MetaVersion::V2 => 1,
        };
        if self.version == MetaVersion::V2 {
            let index = |v: Vec<pb::File>| {
                (!v.is_empty()).then(|| pb::MetaFile {
                    meta_files: v,
                    ..Default::default()
                })
            };
            root.file_index = index(std::mem::take(&mut self.file_index));
            root.schema_index = index(std::mem::take(&mut self.schema_index));
            root.ddl_indexes = index(std::mem::take(&mut self.ddl_index));
        }
        // META-5: the root's own size is taken before backup_size is set.
        root.backup_size = self.size_so_far + root.encoded_len() as u64;
        let plain = root.encode_to_vec();
        let bytes = if self.cipher.is_encrypted() {
            let iv = random_iv();
            let mut body = plain;
            self.cipher.apply(&iv, &mut body)?;
            let mut out = iv.to_vec();
            out.extend_from_slice(&body);
            out
        } else {
            plain
        };
        Ok((
            last,
            EncodedObject {
                name: BACKUPMETA.to_string(),
                bytes,
            },
        ))
    }
}

#[cfg(test)]
mod tests;
