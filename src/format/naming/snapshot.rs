//! Snapshot archive object names (format/naming.md NAME-1 … NAME-8): SST names of every
//! generation, metafile and stats-file names, and the fixed root names. A builder and a parser
//! for each, side by side.

use crate::format::error::{FormatError, Result};
use sha2::{Digest, Sha256};

/// NAME-8: the lock object written first by every backup.
pub const LOCK: &str = "backup.lock";
/// NAME-8: the root document, written last.
pub const BACKUPMETA: &str = "backupmeta";
/// NAME-8: BR's debug JSON rendering (older BR at the root, newer BR under `jsons/`).
pub const BACKUPMETA_JSON: &str = "backupmeta.json";
/// NAME-8: newer BR's location of the debug JSON.
pub const BACKUPMETA_JSON_DIR: &str = "jsons/backupmeta.json";
/// NAME-8: BR's checkpoint directory for resumable backups.
pub const CHECKPOINT_DIR: &str = "checkpoints/backup/";
/// NAME-8: the checkpoint metadata of a resumable backup (JSON).
pub const CHECKPOINT_META: &str = "checkpoints/backup/checkpoint.meta";
/// NAME-8: the lock a running resumable backup holds (JSON `lock-id`, `expire-at`).
pub const CHECKPOINT_LOCK: &str = "checkpoints/backup/checkpoint.lock";
/// NAME-8: where a resumable backup records finished ranges.
pub const CHECKPOINT_DATA_DIR: &str = "checkpoints/backup/data/";

/// NAME-8: a checkpoint data object, named `<uuid-hex>.cpt` as newer BR names them.
pub fn build_checkpoint_data_name(uuid_hex: &str) -> String {
    format!("{CHECKPOINT_DATA_DIR}{uuid_hex}.cpt")
}

/// Whether `name` is a checkpoint data object (NAME-8).
pub fn is_checkpoint_data_name(name: &str) -> bool {
    name.strip_prefix(CHECKPOINT_DATA_DIR)
        .and_then(|r| r.strip_suffix(".cpt"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Column family of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cf {
    Default,
    Write,
    Lock,
}

impl Cf {
    pub fn as_str(self) -> &'static str {
        match self {
            Cf::Default => "default",
            Cf::Write => "write",
            Cf::Lock => "lock",
        }
    }

    pub fn parse(s: &str) -> Option<Cf> {
        match s {
            "default" => Some(Cf::Default),
            "write" => Some(Cf::Write),
            "lock" => Some(Cf::Lock),
            _ => None,
        }
    }
}

/// Which generation of SST naming a name follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SstNameGen {
    /// NAME-1: `{store}/{region}_{version}_{hash}_{ms}_{cf}.sst` (s3 and local since v6.2).
    StoreDir,
    /// NAME-2: `{store}_{region}_{version}_{hash}_{ms}_{cf}.sst`.
    Flat,
    /// NAME-3: `{store}_{region}_{version}_{hash}_{cf}.sst` (v4.0, no timestamp).
    V4,
}

/// The decoded parts of an SST object name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SstName {
    pub generation: SstNameGen,
    pub store_id: u64,
    pub region_id: u64,
    /// `region_epoch.version` of the region when the file was produced.
    pub epoch_version: u64,
    /// Lowercase hex SHA-256 of the raw start key (NAME-5); `None` for an empty start key
    /// (NAME-4).
    pub key_hash: Option<String>,
    /// Wall-clock milliseconds when the name was made (absent in NAME-3 and NAME-4 names).
    pub unix_ms: Option<u64>,
    pub cf: Cf,
}

/// NAME-5: lowercase hex SHA-256 of the raw start key.
pub fn key_hash(raw_start_key: &[u8]) -> String {
    hex::encode(Sha256::digest(raw_start_key))
}

/// True for the storage backends whose SSTs live under a `{store_id}/` directory (NAME-1):
/// `s3` and `local`; every other backend gets the flat form (NAME-2).
pub fn backend_uses_store_dir(backend: &str) -> bool {
    matches!(backend, "s3" | "local")
}

/// Builds the SST name TiKV would give (NAME-1, NAME-2, NAME-4, NAME-5).
pub fn build_sst_name(
    backend: &str,
    store_id: u64,
    region_id: u64,
    epoch_version: u64,
    raw_start_key: &[u8],
    unix_ms: u64,
    cf: Cf,
) -> String {
    let hash = (!raw_start_key.is_empty()).then(|| key_hash(raw_start_key));
    build_sst_name_with_hash(
        backend,
        store_id,
        region_id,
        epoch_version,
        hash.as_deref(),
        unix_ms,
        cf,
    )
}

/// [`build_sst_name`] with the key hash already computed (TiKV's `backup_file_name` shape).
pub fn build_sst_name_with_hash(
    backend: &str,
    store_id: u64,
    region_id: u64,
    epoch_version: u64,
    key_hash: Option<&str>,
    unix_ms: u64,
    cf: Cf,
) -> String {
    let generation = if backend_uses_store_dir(backend) {
        SstNameGen::StoreDir
    } else {
        SstNameGen::Flat
    };
    format_sst_name(&SstName {
        generation,
        store_id,
        region_id,
        epoch_version,
        key_hash: key_hash.map(str::to_string),
        unix_ms: key_hash.map(|_| unix_ms),
        cf,
    })
}

/// Builds a name from decoded parts (inverse of [`parse_sst_name`]).
pub fn format_sst_name(n: &SstName) -> String {
    let sep = if n.generation == SstNameGen::StoreDir {
        '/'
    } else {
        '_'
    };
    let mut name = format!("{}{sep}{}_{}", n.store_id, n.region_id, n.epoch_version);
    if let Some(h) = &n.key_hash {
        name.push('_');
        name.push_str(h);
    }
    if let Some(ms) = n.unix_ms {
        name.push_str(&format!("_{ms}"));
    }
    name.push_str(&format!("_{}.sst", n.cf.as_str()));
    name
}

fn parse_u64(name: &str, part: &str, what: &str) -> Result<u64> {
    if part.is_empty()
        || !part.bytes().all(|b| b.is_ascii_digit())
        || (part.len() > 1 && part.starts_with('0'))
    {
        return Err(FormatError::bad_name(
            "NAME-1",
            name,
            format!("{what} {part:?} is not a decimal number"),
        ));
    }
    part.parse().map_err(|_| {
        FormatError::bad_name("NAME-1", name, format!("{what} {part:?} overflows u64"))
    })
}

fn is_key_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses an SST object name of any generation (NAME-1 … NAME-4), relative to the archive
/// root. Anything else is an error naming the part that does not fit.
pub fn parse_sst_name(name: &str) -> Result<SstName> {
    let stem = name
        .strip_suffix(".sst")
        .ok_or_else(|| FormatError::bad_name("NAME-1", name, "does not end in .sst"))?;
    let (store_dir, rest) = match stem.split_once('/') {
        Some((dir, rest)) => (Some(dir), rest),
        None => (None, stem),
    };
    if rest.contains('/') {
        return Err(FormatError::bad_name(
            "NAME-1",
            name,
            "more than one directory level",
        ));
    }
    let mut parts: Vec<&str> = rest.split('_').collect();
    let cf_str = parts.pop().unwrap_or_default();
    let cf = Cf::parse(cf_str).ok_or_else(|| {
        FormatError::bad_name("NAME-1", name, format!("unknown column family {cf_str:?}"))
    })?;
    let store = match store_dir {
        Some(dir) => dir,
        None => {
            if parts.is_empty() {
                return Err(FormatError::bad_name("NAME-2", name, "missing store id"));
            }
            parts.remove(0)
        }
    };
    let store_id = parse_u64(name, store, "store id")?;
    // parts now: region, version, [hash, [ms]]
    let (generation, key_hash, unix_ms) = match (store_dir.is_some(), parts.len()) {
        (_, 2) => (
            if store_dir.is_some() {
                SstNameGen::StoreDir
            } else {
                SstNameGen::Flat
            },
            None,
            None,
        ),
        (true, 4) | (false, 4) => {
            if !is_key_hash(parts[2]) {
                return Err(FormatError::bad_name(
                    "NAME-5",
                    name,
                    "key hash is not 64 lowercase hex digits",
                ));
            }
            let ms = parse_u64(name, parts[3], "timestamp")?;
            let generation = if store_dir.is_some() {
                SstNameGen::StoreDir
            } else {
                SstNameGen::Flat
            };
            (generation, Some(parts[2].to_string()), Some(ms))
        }
        (false, 3) => {
            if !is_key_hash(parts[2]) {
                return Err(FormatError::bad_name(
                    "NAME-5",
                    name,
                    "key hash is not 64 lowercase hex digits",
                ));
            }
            (SstNameGen::V4, Some(parts[2].to_string()), None)
        }
        _ => {
            return Err(FormatError::bad_name(
                "NAME-1",
                name,
                "expected {store}/{region}_{version}[_{hash}_{ms}]_{cf}.sst or a flat form",
            ))
        }
    };
    Ok(SstName {
        generation,
        store_id,
        region_id: parse_u64(name, parts[0], "region id")?,
        epoch_version: parse_u64(name, parts[1], "epoch version")?,
        key_hash,
        unix_ms,
        cf,
    })
}

/// The kind of a V2 metafile (NAME-6, NAME-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaFileKind {
    DataFile,
    Schema,
    Ddl,
    Stats,
}

impl MetaFileKind {
    fn prefix(self) -> &'static str {
        match self {
            MetaFileKind::DataFile => "backupmeta.datafile.",
            MetaFileKind::Schema => "backupmeta.schema.",
            MetaFileKind::Ddl => "backupmeta.ddl.",
            MetaFileKind::Stats => "backupmeta.schema.stats.",
        }
    }
}

/// NAME-6 / NAME-7: `backupmeta.{datafile,schema,ddl}.%09d`, `backupmeta.schema.stats.%09d`.
pub fn build_metafile_name(kind: MetaFileKind, seq: u64) -> String {
    format!("{}{seq:09}", kind.prefix())
}

/// Parses a metafile name (NAME-6, NAME-7). Readers follow the index and never guess names;
/// this parser serves `inspect` and `verify` when they report on objects.
pub fn parse_metafile_name(name: &str) -> Result<(MetaFileKind, u64)> {
    // Stats first: its prefix extends the schema prefix.
    for kind in [
        MetaFileKind::Stats,
        MetaFileKind::DataFile,
        MetaFileKind::Schema,
        MetaFileKind::Ddl,
    ] {
        if let Some(seq) = name.strip_prefix(kind.prefix()) {
            if seq.len() < 9 || !seq.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FormatError::bad_name(
                    "NAME-6",
                    name,
                    "sequence is not at least 9 decimal digits",
                ));
            }
            let n = seq
                .parse()
                .map_err(|_| FormatError::bad_name("NAME-6", name, "sequence overflows u64"))?;
            if seq.len() > 9 && seq.starts_with('0') {
                return Err(FormatError::bad_name(
                    "NAME-6",
                    name,
                    "sequence has extra leading zeros",
                ));
            }
            return Ok((kind, n));
        }
    }
    Err(FormatError::bad_name(
        "NAME-6",
        name,
        "not a backupmeta.{datafile,schema,ddl,schema.stats}.N name",
    ))
}

#[cfg(test)]
mod checkpoint_name_tests {
    use super::*;

    #[test]
    fn name_8_checkpoint_data_names_round_trip() {
        let n = build_checkpoint_data_name("0a1b");
        assert_eq!(n, "checkpoints/backup/data/0a1b.cpt");
        assert!(is_checkpoint_data_name(&n));
        assert!(!is_checkpoint_data_name("checkpoints/backup/data/.cpt"));
        assert!(!is_checkpoint_data_name(
            "checkpoints/backup/checkpoint.meta"
        ));
        assert!(!is_checkpoint_data_name("checkpoints/backup/data/x/y.cpt"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // tikv components/backup/src/endpoint.rs `test_backup_file_name`: the key hash "000" is
    // passed in directly; after dropping the timestamp (and, here, the cf) the prefixes are:
    #[test]
    fn name_1_name_2_match_tikv_prefixes() {
        let cases = [
            ("s3", "1/0_0_000"),
            ("local", "1/0_0_000"),
            ("gcs", "1_0_0_000"),
            ("azure", "1_0_0_000"),
            ("hdfs", "1_0_0_000"),
        ];
        for (backend, want) in cases {
            let name = build_sst_name_with_hash(
                backend,
                1,
                0,
                0,
                Some("000"),
                1_610_536_435_186,
                Cf::Write,
            );
            let mut parts: Vec<&str> = name.split('_').collect();
            parts.truncate(parts.len() - 2);
            assert_eq!(parts.join("_"), want, "{backend}: {name}");
        }
    }

    #[test]
    fn name_4_empty_start_key_has_no_hash_or_time() {
        assert_eq!(
            build_sst_name("s3", 7, 9, 3, b"", 123, Cf::Write),
            "7/9_3_write.sst"
        );
        assert_eq!(
            build_sst_name("gcs", 7, 9, 3, b"", 123, Cf::Write),
            "7_9_3_write.sst"
        );
        let p = parse_sst_name("7/9_3_write.sst").unwrap();
        assert_eq!(
            (p.key_hash, p.unix_ms, p.generation),
            (None, None, SstNameGen::StoreDir)
        );
    }

    #[test]
    fn name_3_v4_name_without_timestamp_parses() {
        let h = key_hash(b"t\x80");
        let p = parse_sst_name(&format!("1_2_41_{h}_write.sst")).unwrap();
        assert_eq!(p.generation, SstNameGen::V4);
        assert_eq!((p.store_id, p.region_id, p.epoch_version), (1, 2, 41));
        assert_eq!(p.unix_ms, None);
    }

    #[test]
    fn name_5_key_hash_is_sha256_hex() {
        // sha256("") is the well-known e3b0c442…
        assert_eq!(
            key_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn name_1_near_misses_are_rejected() {
        let h = key_hash(b"k");
        for bad in [
            format!("1/2_3_{h}_4_write.ss"),
            format!("1/2_3_{h}_4_writ.sst"),
            format!("1/2_3_{}_4_write.sst", &h[1..]),
            format!("1/2_3_{}_4_write.sst", h.to_uppercase()),
            format!("x/2_3_{h}_4_write.sst"),
            format!("1/2_3_{h}_4x_write.sst"),
            format!("1/a/2_3_{h}_4_write.sst"),
            format!("1/2_{h}_4_write.sst"),
            format!("1/02_3_{h}_4_write.sst"),
            "write.sst".to_string(),
            "_write.sst".to_string(),
            "1/99999999999999999999_3_write.sst".to_string(),
        ] {
            assert!(parse_sst_name(&bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn name_6_metafile_names() {
        assert_eq!(
            build_metafile_name(MetaFileKind::DataFile, 1),
            "backupmeta.datafile.000000001"
        );
        assert_eq!(
            build_metafile_name(MetaFileKind::Stats, 12),
            "backupmeta.schema.stats.000000012"
        );
        assert_eq!(
            parse_metafile_name("backupmeta.schema.000000003").unwrap(),
            (MetaFileKind::Schema, 3)
        );
        assert_eq!(
            parse_metafile_name("backupmeta.schema.stats.000000003").unwrap(),
            (MetaFileKind::Stats, 3)
        );
        for bad in [
            "backupmeta.datafile.1",
            "backupmeta.data.000000001",
            "backupmeta.ddl.00000000x",
            "backupmeta",
        ] {
            assert!(parse_metafile_name(bad).is_err(), "accepted {bad}");
        }
    }

    fn arb_name() -> impl Strategy<Value = SstName> {
        (
            prop_oneof![
                Just(SstNameGen::StoreDir),
                Just(SstNameGen::Flat),
                Just(SstNameGen::V4)
            ],
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 1..20)),
            any::<u64>(),
            prop_oneof![Just(Cf::Default), Just(Cf::Write), Just(Cf::Lock)],
        )
            .prop_map(
                |(generation, store_id, region_id, epoch_version, key, ms, cf)| {
                    let key_hash = match generation {
                        SstNameGen::V4 => Some(key_hash(&key.clone().unwrap_or_default())),
                        _ => key.as_ref().map(|k| key_hash(k)),
                    };
                    let unix_ms = match generation {
                        SstNameGen::V4 => None,
                        _ => key.map(|_| ms),
                    };
                    SstName {
                        generation,
                        store_id,
                        region_id,
                        epoch_version,
                        key_hash,
                        unix_ms,
                        cf,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn sst_names_round_trip(n in arb_name()) {
            prop_assert_eq!(parse_sst_name(&format_sst_name(&n)).unwrap(), n);
        }

        #[test]
        fn build_and_parse_agree(backend in prop_oneof![Just("s3"), Just("local"), Just("gcs"), Just("azure")],
                                 store: u64, region: u64, ver: u64,
                                 key in proptest::collection::vec(any::<u8>(), 0..30), ms: u64) {
            let name = build_sst_name(backend, store, region, ver, &key, ms, Cf::Default);
            let p = parse_sst_name(&name).unwrap();
            prop_assert_eq!((p.store_id, p.region_id, p.epoch_version), (store, region, ver));
            prop_assert_eq!(p.key_hash.is_some(), !key.is_empty());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = parse_sst_name(&s);
            let _ = parse_metafile_name(&s);
        }
    }
}
