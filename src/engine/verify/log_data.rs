//! The data checks of a log archive (format/verify-log.md VERIFY-LOG-5, VERIFY-LOG-6): one
//! data object's bytes in, one outcome per sub-file out. Each defect gets its own finding kind
//! (a corrupted zstd frame and a length mismatch are different things to an operator), unlike
//! `format::logfile::decode_sub_file`, which stops at the first error. Pure: no I/O; the
//! caller reads the object once and runs this on a blocking thread.

use crate::codec::write::WriteRef;
use crate::engine::verify::finding::Finding;
use crate::engine::verify::sha256;
use crate::format::checksum::Checksum;
use crate::format::crypto::{Cipher, CipherMethod};
use crate::format::logfile::{
    events, key_ts, sub_file_range, DECOMPRESS_SLACK, MAX_SUB_FILE_LENGTH,
};
use crate::format::logmeta::{DataKeyMode, EventKind, LogCompression, LogSubFile};
use crate::format::naming::snapshot::Cf;
use std::io::Read;

/// What checking one sub-file gave.
#[derive(Debug, Default)]
pub(crate) struct SubFileOutcome {
    pub findings: Vec<Finding>,
    /// The sub-file is encrypted, its ciphertext matched `file_encryption_info.checksum`, and
    /// still its plaintext failed a check: the key is the likelier culprit (VERIFY-LOG-5).
    pub key_suspect: bool,
    /// The sub-file is encrypted and every check passed (proves the key right).
    pub decrypted_ok: bool,
}

/// Why a sub-file cannot be checked at all (exit 2, not a finding).
#[derive(Debug)]
pub(crate) enum CannotCheck {
    NoKey(CipherMethod),
    /// LOG-CRYPT-6: the data key is wrapped by a master key.
    MasterKey,
    OtherMethod {
        file: CipherMethod,
        given: CipherMethod,
    },
}

fn finding(kind: &'static str, rule: &'static str, object: &str, what: &str) -> Finding {
    Finding::error(kind, rule, what.to_string()).file(object)
}

/// Inflates a stored sub-file with the LOG-FILE-9 cap. `Err` is the finding.
fn inflate(
    stored: &[u8],
    f: &LogSubFile,
    object: &str,
    what: &str,
) -> Result<Vec<u8>, Box<Finding>> {
    let fail = |kind, rule, detail: String| Box::new(finding(kind, rule, object, &detail));
    match f.compression {
        LogCompression::None => Ok(stored.to_vec()),
        LogCompression::Zstd => {
            if f.length > MAX_SUB_FILE_LENGTH {
                let mut e = fail(
                    "log-length-mismatch",
                    "LOG-FILE-9",
                    format!("{what}: declared length over the {MAX_SUB_FILE_LENGTH}-byte limit"),
                );
                e.expected = Some(format!("<= {MAX_SUB_FILE_LENGTH}"));
                e.actual = Some(f.length.to_string());
                return Err(e);
            }
            let cap = f.length + DECOMPRESS_SLACK;
            let mut out = Vec::new();
            let r = zstd::stream::read::Decoder::new(stored)
                .and_then(|d| d.take(cap + 1).read_to_end(&mut out));
            if let Err(e) = r {
                return Err(fail(
                    "log-frame-corrupt",
                    "LOG-FILE-3",
                    format!("{what}: the zstd frame does not decode: {e}"),
                ));
            }
            if out.len() as u64 > cap {
                let mut e = fail(
                    "log-length-mismatch",
                    "LOG-FILE-9",
                    format!("{what}: the zstd frame inflates past the declared length"),
                );
                e.expected = Some(f.length.to_string());
                e.actual = Some(format!("> {cap}"));
                return Err(e);
            }
            Ok(out)
        }
    }
}

/// VERIFY-LOG-6: at `--level kv`, every event's ts lies in `[min_ts, max_ts]` and its key in
/// `[start_key, end_key]` (LOG-FILE-7), and write-CF Put values parse as write records
/// (MVCC-8 … MVCC-13).
fn check_events_kv(f: &LogSubFile, plain: &[u8], object: &str, what: &str) -> Option<Finding> {
    let (mut bad, mut first) = (0u64, None::<String>);
    for (i, ev) in events(plain).enumerate() {
        let Ok((k, v)) = ev else { break };
        let problem = match key_ts(k) {
            Err(e) => Some(e.to_string()),
            Ok(ts) if ts < f.min_ts || ts > f.max_ts => Some(format!(
                "ts {ts} outside [{}, {}] (LOG-FILE-7)",
                f.min_ts, f.max_ts
            )),
            Ok(_) if !f.start_key.is_empty() && (k < &f.start_key[..] || k > &f.end_key[..]) => {
                Some("key outside [start_key, end_key] (LOG-FILE-7)".to_string())
            }
            Ok(_) if f.cf == Cf::Write && f.kind == EventKind::Put => WriteRef::parse(v)
                .err()
                .map(|e| format!("write record does not parse: {e}")),
            Ok(_) => None,
        };
        if let Some(p) = problem {
            bad += 1;
            first.get_or_insert(format!("event {i}: {p}"));
        }
    }
    first.map(|p| {
        finding(
            "log-event-invalid",
            "LOG-FILE-7",
            object,
            &format!("{what}: {bad} bad event(s), first {p}"),
        )
    })
}

/// Checks one sub-file of `object` (VERIFY-LOG-5; VERIFY-LOG-6 when `kv`). `what` names the
/// sub-file in messages (meta path and index).
pub(crate) fn check_sub_file(
    object: &str,
    bytes: &[u8],
    f: &LogSubFile,
    cipher: &Cipher,
    kv: bool,
    what: &str,
) -> Result<SubFileOutcome, CannotCheck> {
    let mut out = SubFileOutcome::default();
    let range = match sub_file_range(f, bytes.len() as u64) {
        Ok(r) => r,
        Err(e) => {
            out.findings.push(finding(
                "log-sub-file-range",
                "LOG-META-4",
                object,
                &format!("{what}: {e}"),
            ));
            return Ok(out);
        }
    };
    // In range of `bytes` (checked above), so both ends fit usize.
    let stored = &bytes[range.start as usize..range.end as usize];
    let enc = f
        .encryption
        .as_ref()
        .filter(|e| e.method != CipherMethod::Plaintext);
    let mut ciphertext_ok = false;
    let decrypted;
    let stored = match enc {
        None => stored,
        Some(e) => {
            if matches!(e.mode, DataKeyMode::MasterKeyBased(_)) {
                return Err(CannotCheck::MasterKey);
            }
            if !cipher.is_encrypted() {
                return Err(CannotCheck::NoKey(e.method));
            }
            if cipher.method() != e.method {
                return Err(CannotCheck::OtherMethod {
                    file: e.method,
                    given: cipher.method(),
                });
            }
            // LOG-FILE-4: the checksum of the ciphertext, when TiKV recorded one.
            if !e.checksum.is_empty() {
                let got = sha256(stored);
                if got[..] != e.checksum[..] {
                    out.findings.push(
                        finding(
                            "log-ciphertext-sha256",
                            "LOG-FILE-4",
                            object,
                            &format!("{what}: the stored (encrypted) bytes are damaged"),
                        )
                        .expected_actual(hex::encode(&e.checksum), hex::encode(got)),
                    );
                    return Ok(out);
                }
                ciphertext_ok = true;
            }
            let mut buf = stored.to_vec();
            if let Err(err) = cipher.apply(&e.iv, &mut buf) {
                out.findings.push(finding(
                    "log-frame-corrupt",
                    "LOG-FILE-4",
                    object,
                    &format!("{what}: cannot decrypt: {err}"),
                ));
                return Ok(out);
            }
            decrypted = buf;
            &decrypted[..]
        }
    };
    let suspect = |out: &mut SubFileOutcome| out.key_suspect = ciphertext_ok;
    let plain = match inflate(stored, f, object, what) {
        Ok(p) => p,
        Err(fd) => {
            out.findings.push(*fd);
            suspect(&mut out);
            return Ok(out);
        }
    };
    // LOG-FILE-5: the declared length, then the SHA-256 of the plaintext.
    if plain.len() as u64 != f.length {
        out.findings.push(
            finding(
                "log-length-mismatch",
                "LOG-FILE-5",
                object,
                &format!("{what}: the event stream length differs from the recorded length"),
            )
            .expected_actual(f.length, plain.len()),
        );
    }
    if let Some(want) = f.sha256 {
        let got = sha256(&plain);
        if got != want {
            out.findings.push(
                finding(
                    "log-sha256-mismatch",
                    "LOG-FILE-5",
                    object,
                    &format!("{what}: SHA-256 of the event stream"),
                )
                .expected_actual(hex::encode(want), hex::encode(got)),
            );
        }
    }
    // LOG-FILE-2, LOG-FILE-6, LOG-FILE-7: framing, crc64xor (when recorded), entry count.
    let mut sum = Checksum::default();
    let mut framing = None;
    for ev in events(&plain) {
        match ev {
            Ok((k, v)) => sum.update(k, v),
            Err(e) => {
                framing = Some(e);
                break;
            }
        }
    }
    if let Some(e) = framing {
        out.findings.push(finding(
            "log-events-undecodable",
            "LOG-FILE-2",
            object,
            &format!("{what}: {e}"),
        ));
    } else {
        if f.crc64xor != 0 && sum.crc64xor != f.crc64xor {
            out.findings.push(
                finding(
                    "log-crc64xor-mismatch",
                    "LOG-FILE-6",
                    object,
                    &format!("{what}: crc64xor of the events"),
                )
                .expected_actual(
                    format!("{:#018x}", f.crc64xor),
                    format!("{:#018x}", sum.crc64xor),
                ),
            );
        }
        if sum.total_kvs != f.number_of_entries {
            out.findings.push(
                finding(
                    "log-entries-mismatch",
                    "LOG-FILE-7",
                    object,
                    &format!("{what}: number_of_entries"),
                )
                .expected_actual(f.number_of_entries, sum.total_kvs),
            );
        }
        if kv {
            out.findings
                .extend(check_events_kv(f, &plain, object, what));
        }
    }
    if out.findings.is_empty() {
        out.decrypted_ok = enc.is_some();
    } else {
        suspect(&mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::logfile::{build_sub_file, SubFileSpec};

    fn sub(compression: LogCompression) -> (Vec<u8>, LogSubFile) {
        let spec = SubFileSpec {
            region_id: 1,
            cf: Cf::Default,
            kind: EventKind::Put,
            is_meta: false,
            table_id: 1,
            resolved_ts: 0,
            region_start_key: vec![],
            region_end_key: vec![],
            region_epochs: vec![],
            compression,
        };
        let ev = vec![
            (crate::codec::mvcc::encode_mvcc_key(b"a", 10), b"x".to_vec()),
            (crate::codec::mvcc::encode_mvcc_key(b"b", 12), b"y".to_vec()),
        ];
        build_sub_file(&spec, &ev, &Cipher::plaintext(), [0; 16]).unwrap()
    }

    fn kinds(bytes: &[u8], f: &LogSubFile) -> Vec<&'static str> {
        check_sub_file("o", bytes, f, &Cipher::plaintext(), true, "s")
            .unwrap()
            .findings
            .iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn verify_log_5_good_sub_files_have_no_findings() {
        for c in [LogCompression::None, LogCompression::Zstd] {
            let (b, f) = sub(c);
            assert!(kinds(&b, &f).is_empty());
        }
    }

    #[test]
    fn verify_log_5_frame_corruption_and_length_are_distinct() {
        let (mut b, f) = sub(LogCompression::Zstd);
        b[0] ^= 0xFF; // zstd magic
        assert_eq!(kinds(&b, &f), ["log-frame-corrupt"]);
        let (b, mut f) = sub(LogCompression::Zstd);
        f.length += 1;
        assert_eq!(kinds(&b, &f), ["log-length-mismatch"]);
        let (b, mut f) = sub(LogCompression::None);
        f.crc64xor ^= 1;
        f.number_of_entries = 3;
        assert_eq!(
            kinds(&b, &f),
            ["log-crc64xor-mismatch", "log-entries-mismatch"]
        );
    }

    #[test]
    fn verify_log_6_event_ts_outside_the_recorded_range() {
        let (b, mut f) = sub(LogCompression::None);
        f.max_ts = 11;
        assert_eq!(kinds(&b, &f), ["log-event-invalid"]);
    }
}
