//! Resumable backups, in BR's checkpoint layout (NAME-8, LOCK-7..LOCK-10, facts §2.6):
//! `checkpoints/backup/checkpoint.meta` (JSON `gc-service-id`, `config-hash`, `backup-ts`)
//! written before the first range, and `checkpoints/backup/data/<uuid>.cpt` objects, each a
//! JSON `{"dure-time", "range-group-metas": [...]}` whose entries hold a range group
//! (`{"group-key", "groups": [{"StartKey", "EndKey", "Files"}]}`) encrypted like metafiles
//! with the backup's cipher, with the SHA-256 of the plaintext. Finished ranges are recorded
//! after their SSTs are stored (data before metadata), so a resumed backup trusts them. The
//! whole directory is deleted once `backupmeta` is written.

use crate::engine::error::{EngineError, Result};
use crate::format::crypto::{random_iv, Cipher};
use crate::format::naming::snapshot::{
    build_checkpoint_data_name, is_checkpoint_data_name, CHECKPOINT_DIR, CHECKPOINT_LOCK,
    CHECKPOINT_META,
};
use crate::proto::backup::File;
use crate::storage::{Storage, StorageErrorKind};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `checkpoint.meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointMeta {
    pub gc_service_id: String,
    /// Hex SHA-256 of the options that must not change on resume.
    pub config_hash: String,
    pub backup_ts: u64,
}

/// One finished range and the files that hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct DoneRange {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    pub files: Vec<File>,
}

fn bad(name: &str, detail: impl std::fmt::Display) -> EngineError {
    EngineError::Json {
        context: format!("checkpoint object {name}"),
        detail: detail.to_string(),
    }
}

fn b64(v: &[u8]) -> Value {
    Value::String(B64.encode(v))
}

fn unb64(v: &Value, name: &str, field: &str) -> Result<Vec<u8>> {
    match v {
        Value::Null => Ok(vec![]),
        Value::String(s) => B64
            .decode(s)
            .map_err(|e| bad(name, format!("{field}: {e}"))),
        _ => Err(bad(name, format!("{field}: not a base64 string"))),
    }
}

/// A `backuppb.File` as Go's encoding/json writes it (protobuf json tags, bytes as base64).
fn file_json(f: &File) -> Value {
    json!({
        "name": f.name, "sha256": b64(&f.sha256), "start_key": b64(&f.start_key),
        "end_key": b64(&f.end_key), "start_version": f.start_version,
        "end_version": f.end_version, "crc64xor": f.crc64xor, "total_kvs": f.total_kvs,
        "total_bytes": f.total_bytes, "cf": f.cf, "size": f.size, "cipher_iv": b64(&f.cipher_iv),
    })
}

fn file_from_json(v: &Value, name: &str) -> Result<File> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or_default();
    let b = |k: &str| unb64(v.get(k).unwrap_or(&Value::Null), name, k);
    Ok(File {
        name: s("name"),
        sha256: b("sha256")?,
        start_key: b("start_key")?,
        end_key: b("end_key")?,
        start_version: n("start_version"),
        end_version: n("end_version"),
        crc64xor: n("crc64xor"),
        total_kvs: n("total_kvs"),
        total_bytes: n("total_bytes"),
        cf: s("cf"),
        size: n("size"),
        cipher_iv: b("cipher_iv")?,
        table_metas: vec![],
    })
}

pub async fn read_meta(storage: &dyn Storage) -> Result<Option<CheckpointMeta>> {
    let bytes = match storage.read(CHECKPOINT_META).await {
        Ok(b) => b,
        Err(e) if e.kind == StorageErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(CHECKPOINT_META, e))?;
    let get = |k: &str| {
        v.get(k)
            .ok_or_else(|| bad(CHECKPOINT_META, format!("field {k:?} is missing")))
    };
    Ok(Some(CheckpointMeta {
        gc_service_id: get("gc-service-id")?
            .as_str()
            .unwrap_or_default()
            .to_string(),
        config_hash: get("config-hash")?.as_str().unwrap_or_default().to_string(),
        backup_ts: get("backup-ts")?
            .as_u64()
            .ok_or_else(|| bad(CHECKPOINT_META, "backup-ts is not a number"))?,
    }))
}

pub async fn write_meta(storage: &dyn Storage, m: &CheckpointMeta) -> Result<()> {
    let v = json!({"gc-service-id": m.gc_service_id, "config-hash": m.config_hash, "backup-ts": m.backup_ts});
    storage
        .write(
            CHECKPOINT_META,
            Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
        )
        .await?;
    Ok(())
}

/// How long a checkpoint lock lives without a refresh (BR: 5 minutes).
pub const LOCK_TTL_MS: u64 = 5 * 60 * 1000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// LOCK-9: takes (or, with `refresh`, renews) `checkpoint.lock` for `lock_id`. Another live lock
/// means another backup is running on this path: refused. An expired one is taken over.
pub async fn take_lock(storage: &dyn Storage, lock_id: u64, refresh: bool) -> Result<()> {
    let body = |id: u64| {
        Bytes::from(
            serde_json::to_vec(&json!({"lock-id": id, "expire-at": now_ms() + LOCK_TTL_MS}))
                .unwrap_or_default(),
        )
    };
    match storage.read(CHECKPOINT_LOCK).await {
        Ok(b) => {
            let v: Value = serde_json::from_slice(&b).map_err(|e| bad(CHECKPOINT_LOCK, e))?;
            let owner = v.get("lock-id").and_then(Value::as_u64).unwrap_or_default();
            let expire = v
                .get("expire-at")
                .and_then(Value::as_u64)
                .unwrap_or_default();
            if owner != lock_id && expire > now_ms() {
                return Err(EngineError::Backup(format!(
                    "{} is being written by another backup (checkpoint lock {owner} held for {} more seconds)",
                    storage.display_url(),
                    (expire - now_ms()) / 1000
                )));
            }
            storage.write(CHECKPOINT_LOCK, body(lock_id)).await?;
        }
        Err(e) if e.kind == StorageErrorKind::NotFound => {
            if refresh {
                storage.write(CHECKPOINT_LOCK, body(lock_id)).await?;
            } else {
                match storage
                    .write_if_absent(CHECKPOINT_LOCK, body(lock_id))
                    .await
                {
                    Ok(()) => {}
                    Err(e) if e.kind == StorageErrorKind::AlreadyExists => {
                        return Err(EngineError::Backup(format!(
                            "{} is being written by another backup (checkpoint lock just taken)",
                            storage.display_url()
                        )))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Releases `checkpoint.lock` (a failed backup can then be resumed at once).
pub async fn release_lock(storage: &dyn Storage) {
    let _ = storage.delete(CHECKPOINT_LOCK).await;
}

/// Encodes one `.cpt` object for finished ranges.
pub fn encode_data(cipher: &Cipher, ranges: &[DoneRange], dure_nanos: u64) -> Result<Vec<u8>> {
    let mut metas = Vec::new();
    for r in ranges {
        let group = json!({
            "group-key": hex::encode(&r.start),
            "groups": [{"StartKey": b64(&r.start), "EndKey": b64(&r.end),
                        "Files": r.files.iter().map(file_json).collect::<Vec<_>>()}],
        });
        let mut plain = serde_json::to_vec(&group).unwrap_or_default();
        let sum = Sha256::digest(&plain).to_vec();
        let size = plain.len();
        let iv = if cipher.is_encrypted() {
            random_iv().to_vec()
        } else {
            vec![]
        };
        cipher.apply(&iv, &mut plain)?;
        metas.push(
            json!({"RangeGroupsEncriptedData": b64(&plain), "Checksum": b64(&sum),
                          "CipherIv": b64(&iv), "Size": size}),
        );
    }
    Ok(
        serde_json::to_vec(&json!({"dure-time": dure_nanos, "range-group-metas": metas}))
            .unwrap_or_default(),
    )
}

/// Decodes one `.cpt` object, checking each group's SHA-256.
pub fn decode_data(cipher: &Cipher, name: &str, bytes: &[u8]) -> Result<Vec<DoneRange>> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(name, e))?;
    let metas = v
        .get("range-group-metas")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(name, "range-group-metas is missing"))?;
    let mut out = Vec::new();
    for m in metas {
        let mut data = unb64(
            m.get("RangeGroupsEncriptedData").unwrap_or(&Value::Null),
            name,
            "RangeGroupsEncriptedData",
        )?;
        let iv = unb64(m.get("CipherIv").unwrap_or(&Value::Null), name, "CipherIv")?;
        cipher.apply(&iv, &mut data)?;
        let want = unb64(m.get("Checksum").unwrap_or(&Value::Null), name, "Checksum")?;
        if Sha256::digest(&data).as_slice() != want.as_slice() {
            return Err(bad(
                name,
                "a range group's SHA-256 does not match (wrong --crypter.key, or damaged)",
            ));
        }
        let g: Value = serde_json::from_slice(&data).map_err(|e| bad(name, e))?;
        for r in g
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let files = r
                .get("Files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| file_from_json(f, name))
                .collect::<Result<Vec<_>>>()?;
            out.push(DoneRange {
                start: unb64(r.get("StartKey").unwrap_or(&Value::Null), name, "StartKey")?,
                end: unb64(r.get("EndKey").unwrap_or(&Value::Null), name, "EndKey")?,
                files,
            });
        }
    }
    Ok(out)
}

/// Writes finished ranges as one new `.cpt` object.
pub async fn append(
    storage: &dyn Storage,
    cipher: &Cipher,
    ranges: &[DoneRange],
    dure_nanos: u64,
) -> Result<()> {
    if ranges.is_empty() {
        return Ok(());
    }
    let bytes = encode_data(cipher, ranges, dure_nanos)?;
    let name = build_checkpoint_data_name(&uuid::Uuid::new_v4().simple().to_string());
    storage.write(&name, Bytes::from(bytes)).await?;
    Ok(())
}

/// Every finished range recorded so far.
pub async fn load_done(storage: &dyn Storage, cipher: &Cipher) -> Result<Vec<DoneRange>> {
    let mut out = Vec::new();
    for o in storage.list(CHECKPOINT_DIR).await? {
        if is_checkpoint_data_name(&o.name) {
            let bytes = storage.read(&o.name).await?;
            out.extend(decode_data(cipher, &o.name, &bytes)?);
        }
    }
    Ok(out)
}

/// LOCK-10: deletes the checkpoint directory (after `backupmeta` is written).
pub async fn remove_all(storage: &dyn Storage) -> Result<()> {
    for o in storage.list(CHECKPOINT_DIR).await? {
        storage.delete(&o.name).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::crypto::CipherMethod;

    fn sample() -> Vec<DoneRange> {
        vec![DoneRange {
            start: b"t\x80\x00".to_vec(),
            end: b"t\x80\x01".to_vec(),
            files: vec![File {
                name: "1/2_3_ab_4_write.sst".into(),
                sha256: vec![7; 32],
                start_key: b"t\x80\x00".to_vec(),
                end_key: b"t\x80\x01".to_vec(),
                end_version: 99,
                crc64xor: 5,
                total_kvs: 6,
                total_bytes: 7,
                cf: "write".into(),
                size: 8,
                cipher_iv: vec![1; 16],
                ..Default::default()
            }],
        }]
    }

    #[test]
    fn checkpoint_data_round_trips_plain_and_encrypted() {
        for cipher in [
            Cipher::plaintext(),
            Cipher::new(CipherMethod::Aes256Ctr, vec![9; 32]).unwrap(),
        ] {
            let bytes = encode_data(&cipher, &sample(), 12).unwrap();
            assert_eq!(decode_data(&cipher, "x.cpt", &bytes).unwrap(), sample());
        }
    }

    #[test]
    fn wrong_key_or_damage_is_detected() {
        let c = Cipher::new(CipherMethod::Aes128Ctr, vec![1; 16]).unwrap();
        let bytes = encode_data(&c, &sample(), 1).unwrap();
        let other = Cipher::new(CipherMethod::Aes128Ctr, vec![2; 16]).unwrap();
        let e = decode_data(&other, "x.cpt", &bytes)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.cpt") && e.contains("SHA-256"), "{e}");
        assert!(decode_data(&c, "y.cpt", b"{}").is_err());
    }
}
