//! The cluster as a gRPC server on loopback: PD, Kv, Catalog and Admin services on one port
//! (the `--pd` address), and each store's Backup and ImportSST services on its own port (the
//! store address PD reports), all in one process over one directory:
//! `DIR/pd/` (placement), `DIR/store-N/` (RocksDB per store), `DIR/cluster.addr` (the PD
//! address while `brtool cluster start` runs), `DIR/cluster.lock` (held by the one process that
//! runs the cluster; RocksDB's own LOCK guards each store as well).

mod admin_service;
mod apply_service;
mod backup_service;
mod catalog_service;
mod import_service;
mod kv_service;
pub mod logbackup_service;
mod pd_service;
pub mod state;

use super::error::{ClusterError, Result};
use super::logbackup::{self, merge_hook::SmallObjectMerger, LogBackupConfig};
use super::pd::Placement;
use super::storage_backend::StorageCache;
use super::store::Store;
use crate::proto::backup::backup_server::BackupServer;
use crate::proto::brkitpb::{
    admin_server::AdminServer, catalog_server::CatalogServer, kv_server::KvServer,
};
use crate::proto::import_sstpb::import_sst_server::ImportSstServer;
use crate::proto::logbackuppb::log_backup_server::LogBackupServer;
use crate::proto::pdpb::pd_server::PdServer;
use state::ClusterState;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use backup_service::{cipher_of, compression_of};

/// The file a running server records its PD address in.
pub const ADDR_FILE: &str = "cluster.addr";
/// The file a running cluster holds locked.
pub const LOCK_FILE: &str = "cluster.lock";
/// Default number of stores.
pub const DEFAULT_STORES: u32 = 3;
/// PD's default region-max-size (TiKV coprocessor): 144 MiB since 6.x; split at 96 MiB.
pub const DEFAULT_REGION_SPLIT_BYTES: u64 = 96 << 20;

/// How to run a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub dir: PathBuf,
    pub stores: u32,
    /// Host to bind (loopback).
    pub host: String,
    /// PD port (0 = any free port).
    pub pd_port: u16,
    /// Split a region when this many bytes were written to it.
    pub region_split_bytes: u64,
    /// Record the PD address in `DIR/cluster.addr` (a long-running server does).
    pub write_addr_file: bool,
}

impl ClusterConfig {
    /// The embedded default: an in-process cluster for one command.
    pub fn embedded(dir: PathBuf) -> ClusterConfig {
        ClusterConfig {
            dir,
            stores: DEFAULT_STORES,
            host: "127.0.0.1".into(),
            pd_port: 0,
            region_split_bytes: std::env::var("BRKIT_REGION_SPLIT_BYTES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_REGION_SPLIT_BYTES),
            write_addr_file: false,
        }
    }
}

/// The PD address recorded in `dir`, if any.
pub fn read_addr_file(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(ADDR_FILE))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A gRPC status for an error, keeping its kind (unavailable stores stay retryable).
pub fn status_of(e: &ClusterError) -> tonic::Status {
    match e {
        ClusterError::StoreUnavailable { .. } => tonic::Status::unavailable(e.to_string()),
        ClusterError::Invalid(_) => tonic::Status::invalid_argument(e.to_string()),
        ClusterError::Region(_) => tonic::Status::aborted(e.to_string()),
        _ => tonic::Status::internal(e.to_string()),
    }
}

/// A cluster serving on loopback.
pub struct RunningCluster {
    /// Held (flock) while the cluster runs.
    _lock: std::fs::File,
    pd_addr: SocketAddr,
    state: Arc<ClusterState>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    addr_file: Option<PathBuf>,
}

fn serve_until(
    router: tonic::transport::server::Router,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(async move {
        let _ = router
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stop.wait_for(|v| *v).await;
            })
            .await;
    })
}

impl RunningCluster {
    /// Opens (bootstrapping if new) the cluster in `cfg.dir` and starts serving.
    pub async fn start(cfg: ClusterConfig) -> Result<RunningCluster> {
        Self::start_with(cfg, LogBackupConfig::default()).await
    }

    /// [`RunningCluster::start`] with log backup sizes (tests and benchmarks). A log backup
    /// task recorded as running resumes: each store rescans from the task's checkpoint.
    pub async fn start_with(cfg: ClusterConfig, log: LogBackupConfig) -> Result<RunningCluster> {
        std::fs::create_dir_all(&cfg.dir)?;
        // One process per cluster directory: PD's state file and the stores stay single-owner.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(cfg.dir.join(LOCK_FILE))?;
        if lock.try_lock().is_err() {
            return Err(ClusterError::Store(super::store::StoreError::Busy {
                path: cfg.dir.clone(),
            }));
        }
        let dir = cfg.dir.clone();
        let stores_n = cfg.stores;
        let (pd, stores) = tokio::task::spawn_blocking(move || -> Result<_> {
            let pd = Placement::open_or_bootstrap(&dir.join("pd"), stores_n)?;
            let mut stores = Vec::new();
            for s in pd.stores() {
                stores.push(Arc::new(Store::open(
                    &dir.join(format!("store-{}", s.id)),
                    s.id,
                )?));
            }
            Ok((pd, stores))
        })
        .await
        .map_err(|e| ClusterError::Invalid(e.to_string()))??;
        let _ = std::fs::remove_dir_all(cfg.dir.join("tmp"));
        let state = Arc::new(ClusterState::with_log_config(
            cfg.dir.clone(),
            pd,
            stores,
            cfg.region_split_bytes,
            log,
        ));
        let (shutdown, stop) = watch::channel(false);
        let storages = Arc::new(StorageCache::default());
        let mut tasks = Vec::new();
        for h in &state.stores {
            let l = TcpListener::bind((cfg.host.as_str(), 0)).await?;
            let addr = l.local_addr()?;
            *h.addr.lock().unwrap() = Some(addr);
            state.pd.set_store_address(h.id, &addr.to_string())?;
            state.pd.set_store_up(h.id, true)?;
            let router = tonic::transport::Server::builder()
                .add_service(
                    BackupServer::new(backup_service::BackupService {
                        state: state.clone(),
                        store_id: h.id,
                        storages: storages.clone(),
                    })
                    .max_decoding_message_size(crate::cluster::client::MAX_MESSAGE)
                    .max_encoding_message_size(crate::cluster::client::MAX_MESSAGE),
                )
                .add_service(
                    ImportSstServer::new(import_service::ImportService {
                        state: state.clone(),
                        store_id: h.id,
                        storages: storages.clone(),
                    })
                    .max_decoding_message_size(crate::cluster::client::MAX_MESSAGE),
                );
            tasks.push(serve_until(router, l, stop.clone()));
        }
        let l = TcpListener::bind((cfg.host.as_str(), cfg.pd_port)).await?;
        let pd_addr = l.local_addr()?;
        let router = tonic::transport::Server::builder()
            .add_service(PdServer::new(pd_service::PdService {
                state: state.clone(),
            }))
            .add_service(
                KvServer::new(kv_service::KvService {
                    state: state.clone(),
                })
                .max_decoding_message_size(crate::cluster::client::MAX_MESSAGE)
                .max_encoding_message_size(crate::cluster::client::MAX_MESSAGE),
            )
            .add_service(
                CatalogServer::new(catalog_service::CatalogService {
                    state: state.clone(),
                    ddl: Arc::default(),
                })
                .max_encoding_message_size(crate::cluster::client::MAX_MESSAGE),
            )
            .add_service(AdminServer::new(admin_service::AdminService {
                state: state.clone(),
                shutdown: shutdown.clone(),
            }))
            .add_service(LogBackupServer::new(logbackup_service::LogBackupService {
                state: state.clone(),
                storages: storages.clone(),
                changes: Arc::default(),
            }));
        tasks.push(serve_until(router, l, stop));
        {
            let st = state.clone();
            let cache = storages.clone();
            // Blocking threads of the runtime can spawn the flush loops.
            tokio::task::spawn_blocking(move || {
                logbackup::resume_after_restart(&st, &|url| {
                    logbackup_service::open_storage(&cache, url)
                })
            })
            .await
            .map_err(|e| ClusterError::Invalid(e.to_string()))??;
        }
        let addr_file = if cfg.write_addr_file {
            let p = cfg.dir.join(ADDR_FILE);
            std::fs::write(&p, format!("{pd_addr}\n"))?;
            Some(p)
        } else {
            None
        };
        tracing::info!(%pd_addr, dir = %cfg.dir.display(), "cluster serving");
        Ok(RunningCluster {
            _lock: lock,
            pd_addr,
            state,
            shutdown,
            tasks,
            addr_file,
        })
    }

    pub fn pd_addr(&self) -> SocketAddr {
        self.pd_addr
    }

    /// Installs the automatic-merge hook of log backup (see `logbackup::merge_hook`).
    pub fn set_log_merger(&self, m: Arc<dyn SmallObjectMerger>) {
        self.state.log.set_merger(m);
    }

    /// Waits until an Admin Shutdown request (or `stop`) arrives, then stops.
    pub async fn wait(self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|v| *v).await;
        self.shutdown().await;
    }

    /// A handle that stops the server when sent `true` (e.g. from a Ctrl-C handler).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Stops serving and closes the stores.
    pub async fn shutdown(self) {
        logbackup::stop_observing(&self.state).await;
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(p) = &self.addr_file {
            let _ = std::fs::remove_file(p);
        }
        let state = self.state;
        let _ = tokio::task::spawn_blocking(move || drop(state)).await;
    }
}
