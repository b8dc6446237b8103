//! Log backup tasks as the placement driver keeps them (persisted in `pd.json`): the task's
//! name, storage URL, start ts, global checkpoint, state, and each store's last reported
//! flushed resolved ts; and the GC service safepoint `log-backup-<task>` each task holds at
//! its checkpoint. Pure over the state: the caller (`Placement`) persists every change.
//!
//! An encrypted task's data key is kept with the task (format/log.md LOG-CRYPT-3), as BR's
//! etcd keeps `StreamBackupTaskInfo.security_config`: the stores read it from here at every
//! flush. It is never printed: `TaskCipher`'s `Debug` redacts it and the wire's `TaskInfo`
//! carries the method only.
//!
//! The global checkpoint is the minimum over the cluster's stores of the resolved ts each
//! reported after its flush was durable (format/log.md LOG-2): a store that has not reported
//! yet holds it at the task's start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{PdError, Result};
use super::gc;
use super::state::ServiceSafepoint;
use super::Placement;
use crate::format::crypto::{Cipher, CipherMethod};

/// Running or paused (a stopped task is removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTaskState {
    Running,
    Paused,
}

impl LogTaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            LogTaskState::Running => "running",
            LogTaskState::Paused => "paused",
        }
    }
}

/// One log backup task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTask {
    pub name: String,
    /// The archive's storage URL (BR syntax, as given to `log start -s`).
    pub storage_url: String,
    pub start_ts: u64,
    /// The global checkpoint: every commit with ts <= it is in the archive.
    pub checkpoint_ts: u64,
    pub state: LogTaskState,
    /// Flush interval of the stores (ms).
    pub flush_interval_ms: u64,
    /// Store id -> the resolved ts of its last durable flush.
    #[serde(default)]
    pub store_resolved: BTreeMap<u64, u64>,
    /// The data key of an encrypted task (`log start --log.crypter.*`); `None` = plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<TaskCipher>,
}

/// The data key of an encrypted task as `pd.json` keeps it (LOG-CRYPT-3). `Debug` never
/// prints the key (CRYPT-7).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCipher {
    /// BR's flag spelling: `aes128-ctr`, `aes192-ctr` or `aes256-ctr`.
    pub method: String,
    /// The key, hex.
    pub key_hex: String,
}

impl std::fmt::Debug for TaskCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCipher")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl TaskCipher {
    /// The task form of `c`; `None` when `c` does not encrypt.
    pub fn of(c: &Cipher) -> Option<TaskCipher> {
        c.is_encrypted().then(|| TaskCipher {
            method: c.method().flag_name().to_string(),
            key_hex: hex::encode(c.key()),
        })
    }

    /// The cipher, its method and key length checked again (CRYPT-1): `pd.json` may have been
    /// edited by hand.
    pub fn cipher(&self) -> Result<Cipher> {
        let bad = |why: String| PdError::Invalid(format!("log task cipher in pd.json: {why}"));
        let method = CipherMethod::parse_flag(&self.method)
            .filter(|m| *m != CipherMethod::Plaintext)
            .ok_or_else(|| bad(format!("unknown method {:?}", self.method)))?;
        let key = hex::decode(&self.key_hex).map_err(|_| bad("the key is not hex".into()))?;
        Cipher::new(method, key).map_err(|e| bad(e.to_string()))
    }
}

impl LogTask {
    /// The cipher the task's sub-files are encrypted with (plaintext when none).
    pub fn data_cipher(&self) -> Result<Cipher> {
        match &self.cipher {
            Some(c) => c.cipher(),
            None => Ok(Cipher::plaintext()),
        }
    }

    /// The method name shown by `log status` (`plaintext` when not encrypted).
    pub fn encryption(&self) -> &str {
        self.cipher
            .as_ref()
            .map_or("plaintext", |c| c.method.as_str())
    }
}

/// The GC service id a task holds its safepoint under.
pub fn service_id(task: &str) -> String {
    format!("log-backup-{task}")
}

/// A service TTL that never expires (`i64::MAX` seconds saturates to `u64::MAX` ms).
const FOREVER: i64 = i64::MAX;

/// Adds `task` (the only one: a second is refused naming the first) and holds the GC at its
/// start ts.
pub(super) fn register(
    tasks: &mut BTreeMap<String, LogTask>,
    services: &mut BTreeMap<String, ServiceSafepoint>,
    gc_safepoint: u64,
    task: LogTask,
    now_ms: u64,
) -> Result<()> {
    if let Some(t) = tasks.values().next() {
        return Err(PdError::Invalid(format!(
            "log backup task {:?} ({}, storage {}) is already registered; brkit runs one task at a time: stop it first with `brtool log stop --task-name {}`",
            t.name,
            t.state.as_str(),
            crate::storage::url::redact_url(&t.storage_url),
            t.name
        )));
    }
    if task.name.is_empty() {
        return Err(PdError::Invalid("a log backup task needs a name".into()));
    }
    gc::update_service(
        services,
        gc_safepoint,
        &service_id(&task.name),
        FOREVER,
        task.checkpoint_ts,
        now_ms,
    )?;
    tasks.insert(task.name.clone(), task);
    Ok(())
}

fn task_mut<'a>(tasks: &'a mut BTreeMap<String, LogTask>, name: &str) -> Result<&'a mut LogTask> {
    tasks
        .get_mut(name)
        .ok_or_else(|| PdError::Invalid(format!("no log backup task named {name:?}")))
}

/// Records `store`'s flushed resolved ts; advances the checkpoint (and the service safepoint
/// of a running task) to the minimum over `stores`. Returns the checkpoint.
#[allow(clippy::too_many_arguments)]
pub(super) fn report_flush(
    tasks: &mut BTreeMap<String, LogTask>,
    services: &mut BTreeMap<String, ServiceSafepoint>,
    gc_safepoint: u64,
    stores: &[u64],
    name: &str,
    store: u64,
    resolved_ts: u64,
    now_ms: u64,
) -> Result<u64> {
    let t = task_mut(tasks, name)?;
    let e = t.store_resolved.entry(store).or_insert(0);
    *e = (*e).max(resolved_ts);
    let min = stores
        .iter()
        .map(|s| t.store_resolved.get(s).copied().unwrap_or(0))
        .min()
        .unwrap_or(0);
    if min > t.checkpoint_ts {
        t.checkpoint_ts = min;
        if t.state == LogTaskState::Running {
            gc::update_service(
                services,
                gc_safepoint,
                &service_id(name),
                FOREVER,
                min,
                now_ms,
            )?;
        }
    }
    Ok(t.checkpoint_ts)
}

/// Pauses a running task; its safepoint is kept for `gc_ttl_secs` (BR's `--gc-ttl`).
pub(super) fn pause(
    tasks: &mut BTreeMap<String, LogTask>,
    services: &mut BTreeMap<String, ServiceSafepoint>,
    gc_safepoint: u64,
    name: &str,
    gc_ttl_secs: i64,
    now_ms: u64,
) -> Result<LogTask> {
    let t = task_mut(tasks, name)?;
    if t.state == LogTaskState::Paused {
        return Err(PdError::Invalid(format!(
            "log backup task {name:?} is already paused"
        )));
    }
    t.state = LogTaskState::Paused;
    gc::update_service(
        services,
        gc_safepoint,
        &service_id(name),
        gc_ttl_secs.max(1),
        t.checkpoint_ts,
        now_ms,
    )?;
    Ok(t.clone())
}

/// Resumes a paused task: refused when GC has passed its checkpoint (the versions it still
/// has to back up may be gone, like BR's check); otherwise the safepoint is held again.
pub(super) fn resume(
    tasks: &mut BTreeMap<String, LogTask>,
    services: &mut BTreeMap<String, ServiceSafepoint>,
    gc_safepoint: u64,
    name: &str,
    now_ms: u64,
) -> Result<LogTask> {
    let t = task_mut(tasks, name)?;
    if t.state == LogTaskState::Running {
        return Err(PdError::Invalid(format!(
            "log backup task {name:?} is already running"
        )));
    }
    if gc_safepoint > t.checkpoint_ts {
        return Err(PdError::Invalid(format!(
            "log backup task {name:?} cannot resume: its checkpoint {} is behind the GC safepoint {gc_safepoint} (the pause outlived --gc-ttl); stop it and start a new task after a full backup",
            t.checkpoint_ts
        )));
    }
    t.state = LogTaskState::Running;
    gc::update_service(
        services,
        gc_safepoint,
        &service_id(name),
        FOREVER,
        t.checkpoint_ts,
        now_ms,
    )?;
    Ok(t.clone())
}

/// Removes the task and its service safepoint.
pub(super) fn stop(
    tasks: &mut BTreeMap<String, LogTask>,
    services: &mut BTreeMap<String, ServiceSafepoint>,
    gc_safepoint: u64,
    name: &str,
    now_ms: u64,
) -> Result<LogTask> {
    let t = tasks
        .remove(name)
        .ok_or_else(|| PdError::Invalid(format!("no log backup task named {name:?}")))?;
    gc::update_service(services, gc_safepoint, &service_id(name), 0, 0, now_ms)?;
    Ok(t)
}

impl Placement {
    // ---- log backup tasks ----

    /// Registers a log backup task (one at a time) and holds GC at its checkpoint.
    pub fn register_log_task(&self, task: LogTask) -> Result<()> {
        self.update(|s, now| register(&mut s.log_tasks, &mut s.services, s.gc_safepoint, task, now))
    }

    /// Every registered task.
    pub fn log_tasks(&self) -> Vec<LogTask> {
        self.lock().state.log_tasks.values().cloned().collect()
    }

    pub fn log_task(&self, name: &str) -> Option<LogTask> {
        self.lock().state.log_tasks.get(name).cloned()
    }

    /// A store's flush up to `resolved_ts` is durable in the archive; returns the task's
    /// global checkpoint (the minimum over all stores).
    pub fn report_log_flush(&self, task: &str, store_id: u64, resolved_ts: u64) -> Result<u64> {
        {
            let inner = self.lock();
            if let Some(t) = inner.state.log_tasks.get(task) {
                if t.store_resolved.get(&store_id).copied().unwrap_or(0) >= resolved_ts {
                    return Ok(t.checkpoint_ts); // nothing new: no write
                }
            }
        }
        self.update(|s, now| {
            let stores: Vec<u64> = s.stores.keys().copied().collect();
            report_flush(
                &mut s.log_tasks,
                &mut s.services,
                s.gc_safepoint,
                &stores,
                task,
                store_id,
                resolved_ts,
                now,
            )
        })
    }

    /// Pauses a task, keeping its GC safepoint for `gc_ttl_secs`.
    pub fn pause_log_task(&self, task: &str, gc_ttl_secs: i64) -> Result<LogTask> {
        self.update(|s, now| {
            pause(
                &mut s.log_tasks,
                &mut s.services,
                s.gc_safepoint,
                task,
                gc_ttl_secs,
                now,
            )
        })
    }

    /// Resumes a paused task (refused when GC passed its checkpoint).
    pub fn resume_log_task(&self, task: &str) -> Result<LogTask> {
        self.update(|s, now| resume(&mut s.log_tasks, &mut s.services, s.gc_safepoint, task, now))
    }

    /// Removes a task and its GC safepoint.
    pub fn stop_log_task(&self, task: &str) -> Result<LogTask> {
        self.update(|s, now| stop(&mut s.log_tasks, &mut s.services, s.gc_safepoint, task, now))
    }

    /// The live service safepoints (tests, status).
    pub fn service_safepoints(&self) -> std::collections::BTreeMap<String, ServiceSafepoint> {
        let now = self.clock.now_ms();
        let inner = self.lock();
        inner
            .state
            .services
            .iter()
            .filter(|(_, s)| s.expire_at_ms > now)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
