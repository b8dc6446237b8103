//! The log key check of a point-in-time restore (format/log.md LOG-CRYPT-5): before the
//! restore creates or writes anything, the key given with `--log.crypter.*` must be the one
//! the log's data sub-files are encrypted with. A missing key, a key of another method or a
//! master-key archive (LOG-CRYPT-6) is refused from the metadata alone; a wrong key of the
//! right method is found by decoding one encrypted sub-file the restore would read (the
//! smallest), whose intact ciphertext (its `file_encryption_info.checksum` matches) does not
//! decrypt to its recorded plaintext.

use crate::engine::error::{EngineError, Result};
use crate::format::crypto::{Cipher, CipherMethod};
use crate::format::logfile::decode_sub_file;
use crate::format::logmeta::{DataKeyMode, LogSubFile, SubFileEncryption};
use crate::storage::Storage;
use sha2::{Digest, Sha256};

/// The flag every error here names.
pub const LOG_KEY_FLAG: &str = "--log.crypter.key";

fn bad(detail: String) -> EngineError {
    EngineError::BadOption {
        flag: LOG_KEY_FLAG,
        detail,
    }
}

fn encryption(f: &LogSubFile) -> Option<&SubFileEncryption> {
    f.encryption
        .as_ref()
        .filter(|e| e.method != CipherMethod::Plaintext)
}

/// What the metadata alone says about `cipher` for the encrypted sub-files in `files`:
/// `Ok(None)` when none is encrypted, `Ok(Some(f))` with the sub-file to try the key on.
pub fn key_probe<'a>(
    files: &'a [(String, LogSubFile)],
    cipher: &Cipher,
) -> Result<Option<&'a (String, LogSubFile)>> {
    let encrypted: Vec<&(String, LogSubFile)> = files
        .iter()
        .filter(|(_, f)| encryption(f).is_some())
        .collect();
    let Some(first) = encrypted.first() else {
        return Ok(None);
    };
    let enc = |f: &LogSubFile| encryption(f).cloned();
    if encrypted
        .iter()
        .any(|(_, f)| matches!(enc(f).map(|e| e.mode), Some(DataKeyMode::MasterKeyBased(_))))
    {
        return Err(bad(
            "the log backup's data key is wrapped by a master key (BR --master-key, LOG-CRYPT-6); brkit restores only logs encrypted with a plain data key (--log.crypter.key)".into(),
        ));
    }
    let method = enc(&first.1).map_or(CipherMethod::Plaintext, |e| e.method);
    if !cipher.is_encrypted() {
        return Err(bad(format!(
            "the log backup's data sub-files are encrypted ({m}); give --log.crypter.method {m} and --log.crypter.key or --log.crypter.key-file",
            m = method.flag_name()
        )));
    }
    if let Some((p, f)) = encrypted
        .iter()
        .find(|(_, f)| enc(f).is_some_and(|e| e.method != cipher.method()))
    {
        return Err(bad(format!(
            "{p}: the log data is encrypted with {}, the key given is for {}",
            enc(f).map_or("?", |e| e.method.flag_name()),
            cipher.method().flag_name()
        )));
    }
    Ok(encrypted.into_iter().min_by_key(|(_, f)| f.range_length))
}

/// Checks `cipher` against the log sub-files a restore will read (see the module doc).
pub async fn check_log_key(
    storage: &dyn Storage,
    files: &[(String, LogSubFile)],
    cipher: &Cipher,
) -> Result<()> {
    let Some((path, f)) = key_probe(files, cipher)? else {
        return Ok(());
    };
    let bytes = if f.path.is_empty() {
        storage
            .read_range(path, f.range_offset, f.range_length)
            .await?
    } else {
        storage.read(path).await?
    };
    let mut at0 = f.clone();
    if f.path.is_empty() {
        at0.range_offset = 0;
    }
    let Err(e) = decode_sub_file(&bytes, &at0, cipher) else {
        return Ok(());
    };
    let stored = bytes
        .get(at0.range_offset as usize..)
        .and_then(|b| b.get(..f.range_length as usize))
        .unwrap_or(&[]);
    let recorded = encryption(f)
        .map(|e| e.checksum.clone())
        .unwrap_or_default();
    if !recorded.is_empty() && Sha256::digest(stored).as_slice() != recorded.as_slice() {
        // Damaged ciphertext says nothing about the key: report the damage itself.
        return Err(EngineError::Format(e.in_file(path.clone())));
    }
    Err(bad(format!(
        "wrong key: {path} [{}, +{}) does not decrypt to its recorded data ({e}) although its ciphertext is intact",
        f.range_offset, f.range_length
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::logfile::{build_sub_file, SubFileSpec};
    use crate::format::logmeta::{EventKind, LogCompression};
    use crate::format::naming::snapshot::Cf;

    fn sub_file(cipher: &Cipher) -> (Vec<u8>, LogSubFile) {
        let spec = SubFileSpec {
            region_id: 1,
            cf: Cf::Default,
            kind: EventKind::Put,
            is_meta: false,
            table_id: 7,
            resolved_ts: 9,
            region_start_key: vec![],
            region_end_key: vec![],
            region_epochs: vec![],
            compression: LogCompression::Zstd,
        };
        let key = crate::codec::mvcc::encode_mvcc_key(b"t\x80k", 5);
        build_sub_file(&spec, &[(key, b"row".to_vec())], cipher, [3; 16]).unwrap()
    }

    fn aes(b: u8) -> Cipher {
        Cipher::new(CipherMethod::Aes256Ctr, vec![b; 32]).unwrap()
    }

    fn run(stored: &[u8], f: &LogSubFile, cipher: &Cipher) -> Result<()> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let s = crate::storage::open_url(&format!("memory://pitr-key-{n}")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            s.write("v1/o.log", bytes::Bytes::from(stored.to_vec()))
                .await
                .unwrap();
            check_log_key(s.as_ref(), &[("v1/o.log".to_string(), f.clone())], cipher).await
        })
    }

    #[test]
    fn log_crypt_5_right_key_passes_missing_and_wrong_keys_name_the_flag() {
        let (stored, f) = sub_file(&aes(1));
        run(&stored, &f, &aes(1)).unwrap();
        for (cipher, says) in [
            (Cipher::plaintext(), "give --log.crypter.method aes256-ctr"),
            (aes(2), "wrong key"),
            (
                Cipher::new(CipherMethod::Aes128Ctr, vec![1; 16]).unwrap(),
                "encrypted with aes256-ctr, the key given is for aes128-ctr",
            ),
        ] {
            let e = run(&stored, &f, &cipher).unwrap_err().to_string();
            assert!(
                e.starts_with("--log.crypter.key: ") && e.contains(says),
                "{e}"
            );
        }
    }

    #[test]
    fn log_crypt_5_damaged_ciphertext_is_damage_not_a_wrong_key() {
        let (mut stored, f) = sub_file(&aes(1));
        stored[0] ^= 1;
        let e = run(&stored, &f, &aes(1)).unwrap_err().to_string();
        assert!(!e.contains("--log.crypter.key"), "{e}");
    }

    #[test]
    fn log_crypt_5_plaintext_log_needs_no_key_and_master_key_logs_are_refused() {
        let (stored, f) = sub_file(&Cipher::plaintext());
        run(&stored, &f, &Cipher::plaintext()).unwrap();
        run(&stored, &f, &aes(1)).unwrap();
        let (stored, mut f) = sub_file(&aes(1));
        if let Some(e) = f.encryption.as_mut() {
            e.mode = DataKeyMode::MasterKeyBased(Default::default());
        }
        let e = run(&stored, &f, &aes(1)).unwrap_err().to_string();
        assert!(e.contains("LOG-CRYPT-6"), "{e}");
    }
}
