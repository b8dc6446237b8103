//! TiKV's backup endpoint on one store: for every requested range, each region this store
//! leads is scanned at the backup ts from one snapshot, its SST pairs are uploaded straight to
//! the archive's storage (NAME-1/NAME-2 names), and one `BackupResponse` per region range is
//! streamed back. If the region changed while it was being backed up (split, leader moved),
//! the files are removed and the response carries a region error so BR retries that range.

use super::state::{enc, raw_of, ClusterState, StoreHandle};
use super::status_of;
use crate::archive::sst_writer::SstCompression;
use crate::cluster::error::ClusterError;
use crate::cluster::storage_backend::StorageCache;
use crate::cluster::store::{BackupFile, BackupOptions};
use crate::cluster::Region;
use crate::format::crypto::{Cipher, CipherMethod};
use crate::proto::backup::{self, backup_server::Backup, BackupRequest, BackupResponse};
use crate::proto::errorpb;
use crate::storage::Storage;
use futures::StreamExt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

pub struct BackupService {
    pub state: Arc<ClusterState>,
    pub store_id: u64,
    pub storages: Arc<StorageCache>,
}

type RespStream = Pin<Box<dyn Stream<Item = Result<BackupResponse, Status>> + Send>>;

/// TiKV's mapping of the requested compression (facts §2.4): UNKNOWN picks LZ4.
pub fn compression_of(v: i32) -> SstCompression {
    match backup::CompressionType::try_from(v).unwrap_or(backup::CompressionType::Unknown) {
        backup::CompressionType::Snappy => SstCompression::Snappy,
        backup::CompressionType::Zstd => SstCompression::Zstd,
        backup::CompressionType::Lz4 | backup::CompressionType::Unknown => SstCompression::Lz4,
    }
}

/// The cipher a request asks for (absent or PLAINTEXT = none).
pub fn cipher_of(info: Option<&backup::CipherInfo>) -> Result<Cipher, Status> {
    match info {
        None => Ok(Cipher::plaintext()),
        Some(c) if c.cipher_type == 0 || c.cipher_type == 1 => Ok(Cipher::plaintext()),
        Some(c) => CipherMethod::from_proto(c.cipher_type)
            .and_then(|m| Cipher::new(m, c.cipher_key.clone()))
            .map_err(|e| Status::invalid_argument(format!("cipher_info: {e}"))),
    }
}

/// Paces uploads to `rate` bytes per second (BR's --ratelimit, per store).
struct Pacer {
    rate: u64,
    start: Instant,
    bytes: u64,
}

impl Pacer {
    async fn account(&mut self, n: u64) {
        if self.rate == 0 {
            return;
        }
        self.bytes += n;
        let due = Duration::from_secs_f64(self.bytes as f64 / self.rate as f64);
        let spent = self.start.elapsed();
        if due > spent {
            tokio::time::sleep(due - spent).await;
        }
    }
}

struct Job {
    state: Arc<ClusterState>,
    handle: Arc<StoreHandle>,
    storage: Arc<dyn Storage>,
    opts: BackupOptions,
    pacer: Arc<tokio::sync::Mutex<Pacer>>,
}

fn error_response(
    start: Vec<u8>,
    end: Vec<u8>,
    msg: String,
    region: Option<errorpb::Error>,
) -> BackupResponse {
    BackupResponse {
        error: Some(backup::Error {
            msg,
            detail: region.map(backup::error::Detail::RegionError),
        }),
        start_key: start,
        end_key: end,
        files: vec![],
    }
}

impl Job {
    /// Backs up one region's part of a range; `Err` only when the store itself is down.
    async fn region(
        &self,
        region: Region,
        es: Vec<u8>,
        ee: Vec<u8>,
    ) -> Result<BackupResponse, Status> {
        self.handle.check_up().map_err(|e| status_of(&e))?;
        let (cs, ce) = region.clip(&es, &ee);
        let (raw_s, raw_e) = match (raw_of(&cs), raw_of(&ce)) {
            (Ok(s), Ok(e)) => (s, e),
            _ => {
                return Ok(error_response(
                    vec![],
                    vec![],
                    format!("region {} has undecodable bounds", region.id),
                    None,
                ))
            }
        };
        let (tx, mut rx) = mpsc::channel::<BackupFile>(4);
        let store = self.handle.store.clone();
        let opts = self.opts.clone();
        let tmp = self
            .state
            .dir
            .join("tmp")
            .join(format!("backup-{}", self.handle.id));
        let reg = region.clone();
        let (bs, be) = (cs.clone(), ce.clone());
        let scan = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&tmp)?;
            store
                .backup_region(&reg, &bs, &be, &opts, &tmp, &mut |f| {
                    tx.blocking_send(f)
                        .map_err(|_| crate::cluster::store::StoreError::Sink {
                            detail: "upload side stopped".into(),
                        })
                })
                .map_err(ClusterError::from)
        });
        let mut files = Vec::new();
        let mut uploaded = Vec::new();
        let mut upload_err = None;
        while let Some(f) = rx.recv().await {
            if upload_err.is_some() {
                continue;
            }
            self.pacer.lock().await.account(f.bytes.len() as u64).await;
            match self.storage.write(&f.name, f.bytes.clone()).await {
                Ok(()) => {
                    uploaded.push(f.name.clone());
                    files.push(f.file);
                }
                Err(e) => upload_err = Some(e),
            }
        }
        let scanned = scan.await.map_err(|e| Status::internal(e.to_string()))?;
        let failure = match (scanned, upload_err) {
            (Err(e), _) => Some(format!(
                "store {}: backing up region {}: {e}",
                self.handle.id, region.id
            )),
            (_, Some(e)) => Some(format!(
                "store {}: uploading to {}: {e}",
                self.handle.id,
                self.storage.display_url()
            )),
            _ => None,
        };
        if let Some(msg) = failure {
            self.remove(&uploaded).await;
            return Ok(error_response(raw_s, raw_e, msg, None));
        }
        if self.state.fire_failpoint("backup.split_region_after_scan") {
            let st = self.state.clone();
            let r = region.clone();
            let _ = tokio::task::spawn_blocking(move || -> Result<(), ClusterError> {
                let h = st.store(r.leader_store)?;
                let size = h.store.approximate_size(&r.start, &r.end);
                if let Some(k) = h.store.split_key(&r.start, &r.end, (size / 2).max(1))? {
                    st.split(&[k])?;
                }
                Ok(())
            })
            .await;
        }
        self.handle.check_up().map_err(|e| status_of(&e))?;
        let current = self.state.pd.region_by_id(region.id);
        let stale = match &current {
            Some(c) => c.epoch != region.epoch || c.leader_store != self.handle.id,
            None => true,
        };
        if stale {
            self.remove(&uploaded).await;
            let err = errorpb::Error {
                message: format!(
                    "region {} changed during backup (epoch {:?} -> {:?})",
                    region.id,
                    region.epoch,
                    current.as_ref().map(|c| c.epoch)
                ),
                epoch_not_match: Some(errorpb::EpochNotMatch {
                    current_regions: self
                        .state
                        .pd
                        .regions_in(&region.start, &region.end)
                        .iter()
                        .map(|r| r.to_proto())
                        .collect(),
                }),
                ..Default::default()
            };
            let msg = err.message.clone();
            return Ok(error_response(raw_s, raw_e, msg, Some(err)));
        }
        // Fault drill: this store stops after finishing one region (`= store id`).
        if self
            .state
            .failpoint("backup.stop_store_after_region")
            .as_deref()
            == Some(self.handle.id.to_string().as_str())
        {
            self.state
                .set_failpoint("backup.stop_store_after_region", "");
            let _ = self.state.set_store_up(self.handle.id, false);
        }
        Ok(BackupResponse {
            error: None,
            start_key: raw_s,
            end_key: raw_e,
            files,
        })
    }

    async fn remove(&self, names: &[String]) {
        for n in names {
            let _ = self.storage.delete(n).await;
        }
    }
}

#[tonic::async_trait]
impl Backup for BackupService {
    type backupStream = RespStream;

    async fn backup(
        &self,
        req: Request<BackupRequest>,
    ) -> Result<Response<Self::backupStream>, Status> {
        let handle = self
            .state
            .store(self.store_id)
            .map_err(|e| status_of(&e))?
            .clone();
        handle.check_up().map_err(|e| status_of(&e))?;
        let req = req.into_inner();
        if req.is_raw_kv {
            return Err(Status::unimplemented(
                "raw KV backup is not supported by brkit stores",
            ));
        }
        let backend = req
            .storage_backend
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("BackupRequest.storage_backend is missing"))?;
        let (storage, backend_name) = self
            .storages
            .get(backend)
            .map_err(|e| Status::invalid_argument(format!("storage_backend: {e}")))?;
        let opts = BackupOptions {
            start_version: req.start_version,
            end_version: req.end_version,
            compression: compression_of(req.compression_type),
            compression_level: req.compression_level,
            cipher: cipher_of(req.cipher_info.as_ref())?,
            sst_max_size: if req.sst_max_size == 0 {
                96 << 20
            } else {
                req.sst_max_size
            },
            backend: backend_name.to_string(),
        };
        let mut ranges = vec![(req.start_key.clone(), req.end_key.clone())];
        ranges.extend(
            req.sub_ranges
                .iter()
                .map(|r| (r.start_key.clone(), r.end_key.clone())),
        );
        let concurrency = if req.concurrency == 0 {
            4
        } else {
            req.concurrency as usize
        };
        let job = Arc::new(Job {
            state: self.state.clone(),
            handle,
            storage,
            opts,
            pacer: Arc::new(tokio::sync::Mutex::new(Pacer {
                rate: req.rate_limit,
                start: Instant::now(),
                bytes: 0,
            })),
        });
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut work = Vec::new();
            for (s, e) in ranges {
                let (es, ee) = (enc(&s), enc(&e));
                for r in job.state.pd.leader_regions(job.handle.id, &es, &ee) {
                    work.push((r, es.clone(), ee.clone()));
                }
            }
            let mut results = futures::stream::iter(work)
                .map(|(r, es, ee)| {
                    let job = job.clone();
                    async move { job.region(r, es, ee).await }
                })
                .buffer_unordered(concurrency);
            while let Some(res) = results.next().await {
                let stop = res.is_err();
                if tx.send(res).await.is_err() || stop {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
