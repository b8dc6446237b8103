//! The LogBackup service (proto/logbackuppb.proto) on the PD port: what `br log start|status|
//! pause|resume|stop` do through PD and TiKV. Registering checks the target, records the task
//! in the placement driver (which holds the GC service safepoint), starts the observers, and
//! writes `backup.lock` and the root `backupmeta` (LOG-1) before the first flush can run.
//! An encrypted task's key (`log_cipher`) is checked (CRYPT-1) and kept with the task in the
//! placement driver (LOG-CRYPT-3); answers carry its method, never the key.

use super::backup_service::cipher_of;
use super::state::ClusterState;
use super::status_of;
use crate::cluster::error::{ClusterError, Result};
use crate::cluster::logbackup::{self, root, DEFAULT_FLUSH_INTERVAL_MS};
use crate::cluster::pd::{LogTask, LogTaskState, TaskCipher};
use crate::cluster::storage_backend::{to_backend, StorageCache};
use crate::proto::logbackuppb::{self as pb, log_backup_server::LogBackup};
use crate::storage::Storage;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// BR's default `--gc-ttl` of `log pause`: 24 h.
pub const DEFAULT_PAUSE_GC_TTL_SECS: i64 = 24 * 3600;

pub struct LogBackupService {
    pub state: Arc<ClusterState>,
    pub storages: Arc<StorageCache>,
    /// Serialises task changes (register/pause/resume/stop).
    pub changes: Arc<tokio::sync::Mutex<()>>,
}

/// The task as the wire carries it.
pub fn task_info(t: &LogTask) -> pb::TaskInfo {
    pb::TaskInfo {
        name: t.name.clone(),
        // STORE-URL-4: answers show the storage redacted; the stores read the URL from PD.
        storage_url: crate::storage::url::redact_url(&t.storage_url),
        start_ts: t.start_ts,
        checkpoint_ts: t.checkpoint_ts,
        state: t.state.as_str().into(),
        flush_interval_ms: t.flush_interval_ms,
        // CRYPT-7: the method only.
        encryption: t
            .cipher
            .as_ref()
            .map(|c| c.method.clone())
            .unwrap_or_default(),
        stores: t
            .store_resolved
            .iter()
            .map(|(&store_id, &resolved_ts)| pb::StoreCheckpoint {
                store_id,
                resolved_ts,
            })
            .collect(),
    }
}

/// Opens a task's storage through the shared cache.
pub fn open_storage(cache: &StorageCache, url: &str) -> Result<Arc<dyn Storage>> {
    Ok(cache.get(&to_backend(url)?)?.0)
}

impl LogBackupService {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ClusterState) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, Status> {
        let st = self.state.clone();
        tokio::task::spawn_blocking(move || f(&st))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| status_of(&e))
    }

    async fn register(&self, r: pb::RegisterTaskRequest) -> Result<LogTask> {
        if r.name.is_empty() {
            return Err(ClusterError::Invalid("--task-name is empty".into()));
        }
        let cipher = cipher_of(r.log_cipher.as_ref())
            .map_err(|s| ClusterError::Invalid(format!("--log.crypter: {}", s.message())))?;
        let task_cipher = TaskCipher::of(&cipher);
        if let Some(t) = self.state.pd.log_tasks().first() {
            return Err(ClusterError::Invalid(format!(
                "log backup task {:?} ({}, storage {}) is already registered; brkit runs one task at a time: stop it first with `brtool log stop --task-name {}`",
                t.name,
                t.state.as_str(),
                crate::storage::url::redact_url(&t.storage_url),
                t.name
            )));
        }
        let storage = open_storage(&self.storages, &r.storage_url)?;
        root::check_target(storage.as_ref()).await?;
        let st = self.state.clone();
        let url = r.storage_url.clone();
        let interval = if r.flush_interval_ms == 0 {
            DEFAULT_FLUSH_INTERVAL_MS
        } else {
            r.flush_interval_ms
        };
        // Start ts, registration and the observers' start behind one commit barrier: every
        // commit after the start ts is observed. With a start ts in the past, the observers
        // first scan (start ts, now].
        let scan_from = (r.start_ts != 0).then_some(r.start_ts);
        let task = tokio::task::spawn_blocking(move || {
            st.under_commit_barrier(|| -> Result<LogTask> {
                let start_ts = if r.start_ts == 0 {
                    st.pd.tso(1)?
                } else {
                    r.start_ts
                };
                let task = LogTask {
                    name: r.name.clone(),
                    storage_url: url,
                    start_ts,
                    checkpoint_ts: start_ts,
                    state: LogTaskState::Running,
                    flush_interval_ms: interval,
                    store_resolved: Default::default(),
                    cipher: task_cipher,
                };
                st.pd.register_log_task(task.clone())?;
                logbackup::activate_locked(&st, scan_from);
                Ok(task)
            })
        })
        .await
        .map_err(|e| ClusterError::Invalid(e.to_string()))??;
        // LOG-1: the root before any flush can write a .meta.
        if let Err(e) =
            root::write_root(storage.as_ref(), self.state.pd.cluster_id(), task.start_ts).await
        {
            logbackup::stop_observing(&self.state).await;
            let _ = self.state.pd.stop_log_task(&task.name);
            return Err(e);
        }
        logbackup::spawn_flush_loops(&self.state, &task, storage);
        tracing::info!(task = %task.name, start_ts = task.start_ts, encryption = task.encryption(), "log backup task registered");
        Ok(task)
    }
}

#[tonic::async_trait]
impl LogBackup for LogBackupService {
    async fn register_task(
        &self,
        req: Request<pb::RegisterTaskRequest>,
    ) -> std::result::Result<Response<pb::RegisterTaskResponse>, Status> {
        let _g = self.changes.lock().await;
        let task = self
            .register(req.into_inner())
            .await
            .map_err(|e| status_of(&e))?;
        Ok(Response::new(pb::RegisterTaskResponse {
            task: Some(task_info(&task)),
        }))
    }

    async fn get_tasks(
        &self,
        req: Request<pb::GetTasksRequest>,
    ) -> std::result::Result<Response<pb::GetTasksResponse>, Status> {
        let name = req.into_inner().name;
        let resp = self
            .blocking(move |st| {
                let tasks = st
                    .pd
                    .log_tasks()
                    .iter()
                    .filter(|t| name.is_empty() || t.name == name)
                    .map(task_info)
                    .collect();
                Ok(pb::GetTasksResponse {
                    tasks,
                    current_ts: st.read_ts()?,
                    service_safepoints: st
                        .pd
                        .service_safepoints()
                        .into_iter()
                        .map(|(k, v)| (k, v.safepoint))
                        .collect(),
                    gc_safepoint: st.pd.gc_safepoint(),
                })
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn pause_task(
        &self,
        req: Request<pb::PauseTaskRequest>,
    ) -> std::result::Result<Response<pb::TaskResponse>, Status> {
        let _g = self.changes.lock().await;
        let r = req.into_inner();
        let ttl = if r.gc_ttl_secs <= 0 {
            DEFAULT_PAUSE_GC_TTL_SECS
        } else {
            r.gc_ttl_secs
        };
        let task = self
            .blocking(move |st| Ok(st.pd.pause_log_task(&r.name, ttl)?))
            .await?;
        logbackup::stop_observing(&self.state).await;
        Ok(Response::new(pb::TaskResponse {
            task: Some(task_info(&task)),
        }))
    }

    async fn resume_task(
        &self,
        req: Request<pb::ResumeTaskRequest>,
    ) -> std::result::Result<Response<pb::TaskResponse>, Status> {
        let _g = self.changes.lock().await;
        let r = req.into_inner();
        let task = self
            .blocking(move |st| Ok(st.pd.resume_log_task(&r.name)?))
            .await?;
        let storage = open_storage(&self.storages, &task.storage_url).map_err(|e| status_of(&e))?;
        let st = self.state.clone();
        let t = task.clone();
        // Everything committed while paused is rebuilt from the checkpoint on.
        tokio::task::spawn_blocking(move || {
            logbackup::start_observing(&st, &t, storage, Some(t.checkpoint_ts))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| status_of(&e))?;
        Ok(Response::new(pb::TaskResponse {
            task: Some(task_info(&task)),
        }))
    }

    async fn stop_task(
        &self,
        req: Request<pb::StopTaskRequest>,
    ) -> std::result::Result<Response<pb::TaskResponse>, Status> {
        let _g = self.changes.lock().await;
        let r = req.into_inner();
        if self.state.pd.log_task(&r.name).is_none() {
            return Err(Status::not_found(format!(
                "no log backup task named {:?}",
                r.name
            )));
        }
        logbackup::stop_observing(&self.state).await;
        let task = self
            .blocking(move |st| Ok(st.pd.stop_log_task(&r.name)?))
            .await?;
        Ok(Response::new(pb::TaskResponse {
            task: Some(task_info(&task)),
        }))
    }
}
