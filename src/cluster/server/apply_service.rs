//! `ImportSST.Apply` (kvproto's log-restore RPC) on one store: for each `KVMeta` of the
//! request, read the sub-file's byte range of its log data object from the request's storage,
//! decrypt, decompress and verify it (length, SHA-256, crc64xor: LOG-FILE-4/5/6/9), then write
//! the events inside the ts window and the request's region, rewritten, to the store
//! (`Store::apply_log_events`). Sub-files apply in request order (the client sends default-CF
//! files before write-CF ones, so a commit record never lands before its value).
//!
//! The response counts, per sub-file, the events inside the window and those applied here, so
//! the client can prove every event reached exactly one region.

use super::backup_service::cipher_of;
use super::import_service::ImportService;
use crate::cluster::error::ClusterError;
use crate::cluster::store::{ApplyOutcome, ApplyWindow};
use crate::codec::table::RewriteRule;
use crate::format::crypto::CipherMethod;
use crate::format::logfile::decode_sub_file;
use crate::format::logmeta::{
    DataKeyMode, EventKind, LogCompression, LogSubFile, SubFileEncryption,
};
use crate::format::naming::snapshot::Cf;
use crate::proto::import_sstpb::{self as isst, ApplyCount, ApplyRequest, ApplyResponse, KvMeta};
use futures::{StreamExt, TryStreamExt};

use tonic::Status;

/// Sub-file ranges fetched from storage at once per request.
const FETCH_AHEAD: usize = 4;

fn fail(message: String) -> ApplyResponse {
    ApplyResponse {
        error: Some(isst::Error {
            message,
            store_error: None,
        }),
        ..Default::default()
    }
}

/// The `LogSubFile` view of a `KVMeta` whose stored bytes were fetched on their own (so the
/// range is the whole buffer: `path` set, LOG-META-2 style).
fn sub_file_of(m: &KvMeta, cf: Cf) -> Result<LogSubFile, String> {
    let sha256 = match m.sha256.len() {
        0 => None,
        32 => m.sha256.as_slice().try_into().ok(),
        n => return Err(format!("{}: sha256 has {n} bytes (LOG-META-7)", m.name)),
    };
    let compression = match m.compression_type {
        0 => LogCompression::None,
        3 => LogCompression::Zstd,
        c => {
            return Err(format!(
                "{}: compression type {c} is not supported for log files (LOG-META-9)",
                m.name
            ))
        }
    };
    let encryption = match &m.file_encryption_info {
        None => None,
        Some(e) => Some(SubFileEncryption {
            method: CipherMethod::from_proto(e.encryption_method)
                .map_err(|err| format!("{}: {err}", m.name))?,
            mode: DataKeyMode::PlainText,
            iv: e.file_iv.clone(),
            checksum: e.checksum.clone(),
        }),
    };
    Ok(LogSubFile {
        sha256,
        path: m.name.clone(),
        number_of_entries: 0,
        min_ts: 0,
        max_ts: 0,
        resolved_ts: 0,
        region_id: 0,
        start_key: m.start_key.clone(),
        end_key: m.end_key.clone(),
        cf,
        kind: if m.is_delete {
            EventKind::Delete
        } else {
            EventKind::Put
        },
        is_meta: false,
        table_id: 0,
        length: m.length,
        min_begin_ts_in_default_cf: 0,
        range_offset: m.range_offset,
        range_length: m.range_length,
        compression,
        crc64xor: m.crc64xor,
        region_start_key: Vec::new(),
        region_end_key: Vec::new(),
        region_epochs: Vec::new(),
        encryption,
    })
}

/// Serves one Apply request.
pub(super) async fn apply(svc: &ImportService, r: ApplyRequest) -> Result<ApplyResponse, Status> {
    let h = svc.handle()?;
    let ctx = r
        .context
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("ApplyRequest.context (the region) is missing"))?;
    if let Some(e) = svc.region_error(Some(ctx), &[]) {
        return Ok(ApplyResponse {
            error: Some(isst::Error {
                message: e.message.clone(),
                store_error: Some(e),
            }),
            ..Default::default()
        });
    }
    let region = svc
        .state
        .pd
        .region_by_id(ctx.region_id)
        .ok_or_else(|| Status::not_found(format!("region {} vanished", ctx.region_id)))?;
    let backend = r
        .storage_backend
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("ApplyRequest.storage_backend is missing"))?;
    let (storage, _) = svc
        .storages
        .get(backend)
        .map_err(|e| Status::invalid_argument(format!("storage_backend: {e}")))?;
    let cipher = cipher_of(r.cipher_info.as_ref())?;
    let rules: Vec<RewriteRule> = r
        .rewrite_rules
        .iter()
        .chain(r.rewrite_rule.iter())
        .filter(|w| !w.old_key_prefix.is_empty() || !w.new_key_prefix.is_empty())
        .map(|w| RewriteRule {
            old_prefix: w.old_key_prefix.clone(),
            new_prefix: w.new_key_prefix.clone(),
        })
        .collect();
    let mut metas: Vec<KvMeta> = r.metas;
    metas.extend(r.meta);
    let mut checked = Vec::with_capacity(metas.len());
    for m in &metas {
        let cf = match Cf::parse(&m.cf) {
            Some(cf @ (Cf::Default | Cf::Write)) => cf,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "KVMeta.cf {:?} of {} is not default or write",
                    m.cf, m.name
                )))
            }
        };
        if m.restore_ts == 0 {
            return Err(Status::invalid_argument(format!(
                "KVMeta.restore_ts of {} is 0",
                m.name
            )));
        }
        match sub_file_of(m, cf) {
            Ok(f) => checked.push((m, cf, f)),
            Err(msg) => return Ok(fail(msg)),
        }
    }
    // Fetch a few ranges ahead; decode and apply in request order.
    let wanted: Vec<(String, u64, u64)> = checked
        .iter()
        .map(|(m, _, _)| (m.name.clone(), m.range_offset, m.range_length))
        .collect();
    let mut fetched = futures::stream::iter(wanted.into_iter().map(move |(name, off, len)| {
        let storage = storage.clone();
        async move {
            let bytes = if off == 0 && len == 0 {
                storage.read(&name).await
            } else {
                storage.read_range(&name, off, len).await
            };
            bytes.map_err(|e| format!("reading {name} [{off}, +{len}): {e}"))
        }
    }))
    .buffered(FETCH_AHEAD);
    let mut counts = Vec::with_capacity(checked.len());
    let mut range: Option<(Vec<u8>, Vec<u8>)> = None;
    for (m, cf, f) in &checked {
        let bytes = match fetched.try_next().await {
            Ok(Some(b)) => b,
            Ok(None) => return Err(Status::internal("fetch stream ended early")),
            Err(msg) => return Ok(fail(msg)),
        };
        let (h, cipher, rules, region, f, cf) = (
            h.clone(),
            cipher.clone(),
            rules.clone(),
            region.clone(),
            f.clone(),
            *cf,
        );
        let (start_ts, restore_ts) = (m.start_ts.max(m.start_snapshot_ts), m.restore_ts);
        let name = m.name.clone();
        let out = tokio::task::spawn_blocking(move || -> Result<ApplyOutcome, String> {
            let plain = decode_sub_file(&bytes, &f, &cipher)
                .map_err(|e| format!("{name} [{}, +{}): {e}", f.range_offset, f.range_length))?;
            let w = ApplyWindow {
                start_ts,
                restore_ts,
                region_start: &region.start,
                region_end: &region.end,
            };
            h.store
                .apply_log_events(&plain, cf, f.kind == EventKind::Delete, &rules, &w)
                .map_err(|e| format!("{name}: {}", ClusterError::from(e)))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?;
        let out = match out {
            Ok(o) => o,
            Err(msg) => return Ok(fail(msg)),
        };
        if let Some((lo, hi)) = out.range {
            range = Some(match range {
                None => (lo, hi),
                Some((a, b)) => (a.min(lo), b.max(hi)),
            });
        }
        counts.push(ApplyCount {
            in_window: out.in_window,
            applied: out.applied,
        });
    }
    let (start, end) = range.unwrap_or_default();
    Ok(ApplyResponse {
        range: Some(isst::Range { start, end }),
        error: None,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_meta_9_lz4_kvmeta_is_refused_naming_the_file() {
        let m = KvMeta {
            name: "v1/x.log".into(),
            compression_type: 1,
            ..Default::default()
        };
        let e = sub_file_of(&m, Cf::Write).unwrap_err();
        assert!(e.contains("v1/x.log") && e.contains("LOG-META-9"), "{e}");
    }

    #[test]
    fn log_meta_7_short_sha256_is_refused() {
        let m = KvMeta {
            name: "v1/y.log".into(),
            sha256: vec![1; 5],
            ..Default::default()
        };
        assert!(sub_file_of(&m, Cf::Default)
            .unwrap_err()
            .contains("LOG-META-7"));
    }
}
