//! `brtool restore point`: BR's point-in-time restore (`br restore point`), the snapshot from
//! `--full-backup-storage` then the log from `-s` up to `--restored-ts`; and the `restore`
//! command enum that puts it next to `restore full|db|table`.

use super::backup::{run_restore_cmd, RestoreArgs, Scope};
use super::common::{
    open_storage, parse_ts_flag, runtime, CrypterArgs, LogCrypterArgs, Outcome, PdArgs,
    StderrProgress,
};
use crate::engine::filter::TableFilter;
use crate::engine::pitr::{run_pitr, Origin, PitrOptions, PitrSummary};
use crate::format::crypto::Cipher;
use anyhow::{anyhow, bail};
use clap::ArgAction;
use std::process::ExitCode;

/// `brtool restore ...`.
#[derive(Debug, clap::Subcommand)]
pub enum RestoreCommand {
    #[command(flatten)]
    Snapshot(Scope<RestoreArgs>),
    /// Point-in-time restore: a snapshot plus the log backup up to --restored-ts.
    Point(PointArgs),
}

#[derive(Debug, clap::Args)]
pub struct PointArgs {
    #[command(flatten)]
    pub pd: PdArgs,
    /// The log backup archive URL.
    #[arg(long, short = 's')]
    pub storage: String,
    /// The snapshot (full) backup archive URL to start from.
    #[arg(long = "full-backup-storage")]
    pub full_backup_storage: String,
    /// Restore to this ts: a TSO or a datetime like "2026-11-21 10:00:00 +00:00"
    /// (default: the log's global checkpoint).
    #[arg(long = "restored-ts")]
    pub restored_ts: Option<String>,
    /// BR's log start ts; brkit accepts only the snapshot's backup ts.
    #[arg(long = "start-ts")]
    pub start_ts: Option<String>,
    /// Only this database.
    #[arg(long)]
    pub db: Option<String>,
    /// Only this table (with --db).
    #[arg(long)]
    pub table: Option<String>,
    /// Table filter `db.table` with wildcards, `!` to exclude (repeatable).
    #[arg(long = "filter", short = 'f')]
    pub filter: Vec<String>,
    /// The snapshot's key (--full-backup-storage).
    #[command(flatten)]
    pub crypter: CrypterArgs,
    /// The log backup's data key (-s), as given to `log start` (format/log.md LOG-CRYPT-5).
    #[command(flatten)]
    pub log_crypter: LogCrypterArgs,
    /// Work units at once (files for the snapshot, Apply requests for the log).
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Verify the snapshot part's checksums (`--checksum=false` to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub checksum: bool,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(c: RestoreCommand) -> Outcome {
    match c {
        RestoreCommand::Snapshot(s) => run_restore_cmd(s),
        RestoreCommand::Point(a) => run_point(a),
    }
}

fn filter_of(a: &PointArgs) -> anyhow::Result<TableFilter> {
    match (&a.db, &a.table) {
        (Some(db), Some(t)) if a.filter.is_empty() => Ok(TableFilter::table(db, t)),
        (Some(db), None) if a.filter.is_empty() => Ok(TableFilter::database(db)),
        (None, Some(_)) => bail!("--table needs --db"),
        (None, None) => TableFilter::parse(&a.filter).map_err(|e| anyhow!("-f/--filter: {e}")),
        _ => bail!("give either --db/--table or -f/--filter, not both"),
    }
}

fn print(s: &PitrSummary, json: bool) {
    let secs = s.replay_elapsed.as_secs_f64().max(1e-9);
    if json {
        let tables: Vec<_> = s
            .tables
            .iter()
            .map(|t| serde_json::json!({"db": t.db, "table": t.name, "old_id": t.old_id, "new_id": t.new_id,
                "origin": match t.origin { Origin::Snapshot => "snapshot", Origin::CreatedAfterSnapshot => "log" },
                "crc64xor": t.checksum.crc64xor, "total_kvs": t.checksum.total_kvs, "total_bytes": t.checksum.total_bytes}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"snapshot_ts": s.snapshot_ts, "restored_ts": s.restored_ts,
                "min_restorable_ts": s.window.min_ts, "max_restorable_ts": s.window.max_ts,
                "tables": tables, "gone": s.gone, "meta_events": s.meta_events,
                "log_files": s.replay.files, "log_stored_bytes": s.replay.stored_bytes,
                "log_bytes": s.replay.plain_bytes, "log_events": s.replay.events,
                "replay_seconds": s.replay_elapsed.as_secs_f64(), "seconds": s.elapsed.as_secs_f64()})
        );
        return;
    }
    println!(
        "restored to ts {} (snapshot ts {}): {} tables; log replay {} sub-files, {} events, {:.1} MB in {:.2}s ({:.1} MB/s); total {:.2}s",
        s.restored_ts,
        s.snapshot_ts,
        s.tables.len(),
        s.replay.files,
        s.replay.events,
        s.replay.plain_bytes as f64 / 1e6,
        secs,
        s.replay.plain_bytes as f64 / 1e6 / secs,
        s.elapsed.as_secs_f64()
    );
    for t in &s.tables {
        let from = match t.origin {
            Origin::Snapshot => "snapshot+log",
            Origin::CreatedAfterSnapshot => "log only",
        };
        println!(
            "  `{}`.`{}` id {} -> {} ({from}): {} KVs, crc64xor {:#018x}",
            t.db, t.name, t.old_id, t.new_id, t.checksum.total_kvs, t.checksum.crc64xor
        );
    }
    for g in &s.gone {
        println!("  {g}: dropped or truncated before the restored ts, not restored");
    }
}

fn run_point(a: PointArgs) -> Outcome {
    let mut opts = PitrOptions::new(&a.storage, &a.full_backup_storage);
    opts.filter = filter_of(&a)?;
    opts.snapshot_cipher = a.crypter.cipher()?;
    opts.log_cipher = a.log_crypter.cipher()?.unwrap_or_else(Cipher::plaintext);
    opts.concurrency = a.concurrency.max(1) as usize;
    opts.checksum = a.checksum;
    opts.restored_ts = a
        .restored_ts
        .as_deref()
        .map(|v| parse_ts_flag("--restored-ts", v))
        .transpose()?;
    opts.start_ts = a
        .start_ts
        .as_deref()
        .map(|v| parse_ts_flag("--start-ts", v))
        .transpose()?;
    let log = open_storage(&a.storage)?;
    let snap =
        open_storage(&a.full_backup_storage).map_err(|e| anyhow!("--full-backup-storage: {e}"))?;
    runtime()?.block_on(async move {
        let client = a.pd.connect().await?;
        let r = run_pitr(&client, log, snap, &opts, &StderrProgress).await;
        client.close().await;
        print(&r?, a.json);
        Ok(ExitCode::SUCCESS)
    })
}
