//! `brtool log start|status|pause|resume|stop`: the log backup task commands (BR's `br log`),
//! thin over the cluster's LogBackup service. `log metadata|truncate|merge` live in `log.rs`
//! (another branch); the lead joins the two subcommand sets.
//!
//! `log start --log.crypter.*` hands the data key to the cluster, which keeps it with the
//! task (format/log.md LOG-CRYPT-3); `log status` shows the method, never the key (CRYPT-7).

use super::common::{parse_ts_flag, runtime, LogCrypterArgs, Outcome, PdArgs};
use crate::codec::tso::{display_utc, physical};
use crate::format::crypto::Cipher;
use crate::proto::logbackuppb::{GetTasksResponse, TaskInfo};
use anyhow::{anyhow, bail};
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum LogTaskCommand {
    /// Start a log backup task: every store flushes its committed changes to the storage.
    Start(StartArgs),
    /// Show tasks: state, global checkpoint and its lag, each store's flushed resolved ts.
    Status(StatusArgs),
    /// Pause a task; its GC safepoint is kept for --gc-ttl.
    Pause(PauseArgs),
    /// Resume a paused task (changes made while paused are backed up too).
    Resume(NameArgs),
    /// Stop and remove a task (the archive stays; the GC safepoint is released).
    Stop(NameArgs),
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    #[arg(long)]
    pub task_name: String,
    #[command(flatten)]
    pub pd: PdArgs,
    /// Archive storage URL (BR syntax: local://, s3://, azure://, gcs://).
    #[arg(long, short = 's')]
    pub storage: String,
    /// Start ts (TSO or datetime); default now.
    #[arg(long)]
    pub start_ts: Option<String>,
    /// How often stores flush (e.g. 10s, 500ms, 3m).
    #[arg(long, default_value = "10s")]
    pub flush_interval: String,
    /// Encrypt every data sub-file with this key (the `.meta` files stay plaintext, as BR).
    #[command(flatten)]
    pub log_crypter: LogCrypterArgs,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub pd: PdArgs,
    /// Only this task.
    #[arg(long, default_value = "")]
    pub task_name: String,
    /// JSON Lines, one object per task.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    #[arg(long)]
    pub task_name: String,
    #[command(flatten)]
    pub pd: PdArgs,
    /// Seconds the GC safepoint stays held while paused (BR's default: 24 h).
    #[arg(long, default_value_t = 86400)]
    pub gc_ttl: i64,
}

#[derive(Debug, clap::Args)]
pub struct NameArgs {
    #[arg(long)]
    pub task_name: String,
    #[command(flatten)]
    pub pd: PdArgs,
}

/// Parses `10s`, `500ms`, `3m`, `1h` or a plain number of seconds into milliseconds.
pub fn parse_interval_ms(v: &str) -> anyhow::Result<u64> {
    let v = v.trim();
    let (num, unit_ms) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = v.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (v, 1000)
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow!("--flush-interval {v:?}: expected e.g. 10s, 500ms, 3m"))?;
    let ms = n
        .checked_mul(unit_ms)
        .ok_or_else(|| anyhow!("--flush-interval {v:?} is too large"))?;
    if ms == 0 {
        bail!("--flush-interval must be positive");
    }
    Ok(ms)
}

/// A `local://` URL with a relative path made absolute: the server may run elsewhere.
fn absolute_url(url: &str) -> anyhow::Result<String> {
    match url.strip_prefix("local://") {
        Some(p) if !p.starts_with('/') => {
            let abs = std::env::current_dir()?.join(p);
            Ok(format!("local://{}", abs.display()))
        }
        _ => Ok(url.to_string()),
    }
}

fn lag_ms(now: u64, ts: u64) -> u64 {
    physical(now).saturating_sub(physical(ts))
}

/// The `log status --json` object of one task.
pub fn task_json(t: &TaskInfo, r: &GetTasksResponse) -> serde_json::Value {
    let now = r.current_ts;
    let safepoint = r
        .service_safepoints
        .get(&format!("log-backup-{}", t.name))
        .copied();
    json!({
        "task": t.name,
        "state": t.state,
        "storage": crate::storage::url::redact_url(&t.storage_url),
        "start_ts": t.start_ts,
        "checkpoint_ts": t.checkpoint_ts,
        "checkpoint_time": display_utc(t.checkpoint_ts),
        "checkpoint_lag_ms": lag_ms(now, t.checkpoint_ts),
        "flush_interval_ms": t.flush_interval_ms,
        "encryption": encryption(t),
        "gc_service_safepoint": safepoint,
        "stores": t.stores.iter().map(|s| json!({
            "store_id": s.store_id,
            "resolved_ts": s.resolved_ts,
            "lag_ms": if s.resolved_ts == 0 { None } else { Some(lag_ms(now, s.resolved_ts)) },
        })).collect::<Vec<_>>(),
    })
}

/// The task's data encryption method (`plaintext` when none); the key is never shown.
fn encryption(t: &TaskInfo) -> &str {
    if t.encryption.is_empty() {
        "plaintext"
    } else {
        &t.encryption
    }
}

fn print_task(t: &TaskInfo, r: &GetTasksResponse) {
    let now = r.current_ts;
    println!("task:        {}", t.name);
    println!("state:       {}", t.state);
    println!(
        "storage:     {}",
        crate::storage::url::redact_url(&t.storage_url)
    );
    println!("encryption:  {}", encryption(t));
    println!("start:       {} ({})", t.start_ts, display_utc(t.start_ts));
    println!(
        "checkpoint:  {} ({}), lag {:.1} s",
        t.checkpoint_ts,
        display_utc(t.checkpoint_ts),
        lag_ms(now, t.checkpoint_ts) as f64 / 1000.0
    );
    for s in &t.stores {
        if s.resolved_ts == 0 {
            println!("  store {}: no flush yet", s.store_id);
        } else {
            println!(
                "  store {}: flushed up to {} (lag {:.1} s)",
                s.store_id,
                s.resolved_ts,
                lag_ms(now, s.resolved_ts) as f64 / 1000.0
            );
        }
    }
}

/// Runs one `brtool log` task subcommand.
pub fn run_task(cmd: LogTaskCommand) -> Outcome {
    let rt = runtime()?;
    rt.block_on(async move {
        match cmd {
            LogTaskCommand::Start(a) => {
                let start_ts = match &a.start_ts {
                    Some(v) => parse_ts_flag("--start-ts", v)?,
                    None => 0,
                };
                let interval = parse_interval_ms(&a.flush_interval)?;
                let url = absolute_url(&a.storage)?;
                let cipher = a.log_crypter.cipher()?.unwrap_or_else(Cipher::plaintext);
                let client = a.pd.connect().await?;
                let r = client
                    .register_encrypted_log_task(&a.task_name, &url, start_ts, interval, &cipher)
                    .await;
                client.close().await;
                let t = r?;
                println!(
                    "log backup task {} started at {} ({}); storage {}; data {}",
                    t.name,
                    t.start_ts,
                    display_utc(t.start_ts),
                    crate::storage::url::redact_url(&t.storage_url),
                    match encryption(&t) {
                        "plaintext" => "not encrypted".to_string(),
                        m => format!("encrypted with {m}"),
                    }
                );
            }
            LogTaskCommand::Status(a) => {
                let client = a.pd.connect().await?;
                let r = client.log_tasks(&a.task_name).await;
                client.close().await;
                let r = r?;
                if r.tasks.is_empty() && !a.task_name.is_empty() {
                    bail!("no log backup task named {:?}", a.task_name);
                }
                for t in &r.tasks {
                    if a.json {
                        println!("{}", task_json(t, &r));
                    } else {
                        print_task(t, &r);
                    }
                }
                if r.tasks.is_empty() && !a.json {
                    println!("no log backup task");
                }
            }
            LogTaskCommand::Pause(a) => {
                let client = a.pd.connect().await?;
                let r = client.pause_log_task(&a.task_name, a.gc_ttl).await;
                client.close().await;
                let t = r?;
                println!(
                    "log backup task {} paused at checkpoint {}; GC held for {} s",
                    t.name, t.checkpoint_ts, a.gc_ttl
                );
            }
            LogTaskCommand::Resume(a) => {
                let client = a.pd.connect().await?;
                let r = client.resume_log_task(&a.task_name).await;
                client.close().await;
                let t = r?;
                println!(
                    "log backup task {} resumed from checkpoint {}",
                    t.name, t.checkpoint_ts
                );
            }
            LogTaskCommand::Stop(a) => {
                let client = a.pd.connect().await?;
                let r = client.stop_log_task(&a.task_name).await;
                client.close().await;
                let t = r?;
                println!(
                    "log backup task {} stopped at checkpoint {}",
                    t.name, t.checkpoint_ts
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_interval_units() {
        assert_eq!(parse_interval_ms("10s").unwrap(), 10_000);
        assert_eq!(parse_interval_ms("500ms").unwrap(), 500);
        assert_eq!(parse_interval_ms("3m").unwrap(), 180_000);
        assert_eq!(parse_interval_ms("7").unwrap(), 7_000);
        assert!(parse_interval_ms("0s").is_err());
        assert!(parse_interval_ms("ten").is_err());
    }
}
