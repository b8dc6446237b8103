//! TiKV's import service on one store: `Download` fetches a backup SST from the archive's
//! storage, checks its SHA-256, decrypts it, rewrites table/index prefixes and stages the keys
//! that fall in the target region; `MultiIngest` ingests staged files after checking that the
//! region (and its epoch) still is what the caller saw; `Apply` (PITR's log replay) lives in
//! `apply_service`.

use super::backup_service::cipher_of;
use super::state::{ClusterState, StoreHandle};
use super::status_of;
use crate::cluster::error::ClusterError;
use crate::cluster::storage_backend::StorageCache;
use crate::codec::table::RewriteRule;
use crate::format::naming::snapshot::Cf;
use crate::proto::errorpb;
use crate::proto::import_sstpb::{self, import_sst_server::ImportSst};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct ImportService {
    pub state: Arc<ClusterState>,
    pub store_id: u64,
    pub storages: Arc<StorageCache>,
}

impl ImportService {
    pub(super) fn handle(&self) -> Result<Arc<StoreHandle>, Status> {
        let h = self
            .state
            .store(self.store_id)
            .map_err(|e| status_of(&e))?
            .clone();
        h.check_up().map_err(|e| status_of(&e))?;
        Ok(h)
    }

    /// The region error for a request whose context no longer matches PD, if any.
    pub(super) fn region_error(
        &self,
        ctx: Option<&crate::proto::kvrpcpb::Context>,
        ssts: &[import_sstpb::SstMeta],
    ) -> Option<errorpb::Error> {
        let ctx = ctx?;
        let Some(cur) = self.state.pd.region_by_id(ctx.region_id) else {
            return Some(errorpb::Error {
                message: format!("region {} not found", ctx.region_id),
                region_not_found: Some(errorpb::RegionNotFound {
                    region_id: ctx.region_id,
                }),
                ..Default::default()
            });
        };
        if cur.leader_store != self.store_id {
            return Some(errorpb::Error {
                message: format!("region {} is led by store {}", cur.id, cur.leader_store),
                not_leader: Some(errorpb::NotLeader {
                    region_id: cur.id,
                    leader: Some(cur.leader_peer()),
                }),
                ..Default::default()
            });
        }
        let e = ctx.region_epoch.unwrap_or_default();
        if e.version != cur.epoch.version || e.conf_ver != cur.epoch.conf_ver {
            return Some(errorpb::Error {
                message: format!("region {} epoch changed", cur.id),
                epoch_not_match: Some(errorpb::EpochNotMatch {
                    current_regions: vec![cur.to_proto()],
                }),
                ..Default::default()
            });
        }
        for s in ssts {
            let r = s.range.clone().unwrap_or_default();
            let end_ok = if r.end.is_empty() {
                cur.end.is_empty()
            } else {
                cur.end.is_empty() || r.end <= cur.end
            };
            let inside = cur.contains(&r.start) && end_ok;
            if !inside {
                return Some(errorpb::Error {
                    message: format!("SST range is outside region {}", cur.id),
                    key_not_in_region: Some(errorpb::KeyNotInRegion {
                        key: r.start,
                        region_id: cur.id,
                        start_key: cur.start.clone(),
                        end_key: cur.end.clone(),
                    }),
                    ..Default::default()
                });
            }
        }
        None
    }
}

fn cf_of(name: &str) -> Result<Cf, Status> {
    Cf::parse(name).ok_or_else(|| {
        Status::invalid_argument(format!("SSTMeta.cf_name {name:?} is not default or write"))
    })
}

#[tonic::async_trait]
impl ImportSst for ImportService {
    async fn download(
        &self,
        req: Request<import_sstpb::DownloadRequest>,
    ) -> Result<Response<import_sstpb::DownloadResponse>, Status> {
        let h = self.handle()?;
        let r = req.into_inner();
        let sst = r
            .sst
            .clone()
            .ok_or_else(|| Status::invalid_argument("DownloadRequest.sst is missing"))?;
        let cf = cf_of(&sst.cf_name)?;
        let backend = r.storage_backend.as_ref().ok_or_else(|| {
            Status::invalid_argument("DownloadRequest.storage_backend is missing")
        })?;
        let (storage, _) = self
            .storages
            .get(backend)
            .map_err(|e| Status::invalid_argument(format!("storage_backend: {e}")))?;
        let fail = |msg: String| {
            Ok(Response::new(import_sstpb::DownloadResponse {
                error: Some(import_sstpb::Error {
                    message: msg,
                    store_error: None,
                }),
                ..Default::default()
            }))
        };
        let bytes = match storage.read(&r.name).await {
            Ok(b) => b,
            Err(e) => return fail(format!("reading {}: {e}", r.name)),
        };
        let cipher = cipher_of(r.cipher_info.as_ref())?;
        let rules: Vec<RewriteRule> = r
            .rewrite_rule
            .iter()
            .map(|w| RewriteRule {
                old_prefix: w.old_key_prefix.clone(),
                new_prefix: w.new_key_prefix.clone(),
            })
            .collect();
        let range = sst.range.clone().unwrap_or_default();
        let name = r.name.clone();
        let (sha256, iv) = (r.sha256, r.cipher_iv);
        // Hashing, decrypting and staging are CPU work: off the async workers.
        let out = tokio::task::spawn_blocking(move || {
            if !sha256.is_empty() && Sha256::digest(&bytes).as_slice() != sha256.as_slice() {
                return Err(format!(
                    "{name}: SHA-256 of the stored bytes does not match backupmeta (CSUM-7)"
                ));
            }
            let decrypted;
            let plain: &[u8] = if cipher.is_encrypted() {
                let mut b = bytes.to_vec();
                cipher
                    .apply(&iv, &mut b)
                    .map_err(|e| format!("{name}: decrypting: {e}"))?;
                decrypted = b;
                &decrypted
            } else {
                &bytes
            };
            h.store
                .stage_download(plain, cf, &rules, &range.start, &range.end, &sst.uuid)
                .map_err(|e| format!("{name}: {}", ClusterError::from(e)))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?;
        match out {
            Ok(o) => Ok(Response::new(import_sstpb::DownloadResponse {
                range: Some(import_sstpb::Range {
                    start: o.range.0,
                    end: o.range.1,
                }),
                is_empty: o.is_empty,
                error: None,
                crc32: 0,
                length: o.bytes,
                ssts: vec![],
            })),
            Err(msg) => fail(msg),
        }
    }

    async fn ingest(
        &self,
        req: Request<import_sstpb::IngestRequest>,
    ) -> Result<Response<import_sstpb::IngestResponse>, Status> {
        let r = req.into_inner();
        self.multi_ingest(Request::new(import_sstpb::MultiIngestRequest {
            context: r.context,
            ssts: r.sst.into_iter().collect(),
        }))
        .await
    }

    async fn apply(
        &self,
        req: Request<import_sstpb::ApplyRequest>,
    ) -> Result<Response<import_sstpb::ApplyResponse>, Status> {
        super::apply_service::apply(self, req.into_inner())
            .await
            .map(Response::new)
    }

    async fn multi_ingest(
        &self,
        req: Request<import_sstpb::MultiIngestRequest>,
    ) -> Result<Response<import_sstpb::IngestResponse>, Status> {
        let h = self.handle()?;
        // Ingested SSTs bypass the commit path, so a log backup task would not see them (BR
        // refuses to restore while a log backup task runs, for the same reason).
        if let Some(task) = self.state.log.running_task() {
            return Err(Status::failed_precondition(format!(
                "log backup task {task:?} is running: ingested data would be missing from its archive; stop it first (`brtool log stop --task-name {task}`)"
            )));
        }
        let r = req.into_inner();
        if let Some(error) = self.region_error(r.context.as_ref(), &r.ssts) {
            return Ok(Response::new(import_sstpb::IngestResponse {
                error: Some(error),
            }));
        }
        let staged = r
            .ssts
            .iter()
            .map(|s| Ok((s.uuid.clone(), cf_of(&s.cf_name)?)))
            .collect::<Result<Vec<_>, Status>>()?;
        tokio::task::spawn_blocking(move || h.store.ingest(&staged).map_err(ClusterError::from))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| status_of(&e))?;
        Ok(Response::new(import_sstpb::IngestResponse { error: None }))
    }
}
