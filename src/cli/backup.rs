//! `brtool backup full|db|table` with BR's flags, and `brtool restore full|db|table`.

use super::common::{
    open_storage, parse_ts_flag, runtime, CrypterArgs, Outcome, PdArgs, StderrProgress,
};
use crate::archive::sst_writer::SstCompression;
use crate::engine::backup::{run_backup, BackupOptions, BackupSummary};
use crate::engine::filter::TableFilter;
use crate::engine::restore::{run_restore, ExistingPolicy, RestoreOptions, RestoreSummary};
use crate::format::backupmeta::MetaVersion;
use anyhow::{anyhow, bail};
use clap::ArgAction;
use std::process::ExitCode;

/// Which part of the cluster (BR's `full`, `db`, `table`).
#[derive(Debug, clap::Subcommand)]
pub enum Scope<A: clap::Args> {
    /// Every table (system schemas excluded), optionally narrowed by -f.
    Full(A),
    /// One database (--db).
    Db(A),
    /// One table (--db and --table).
    Table(A),
}

/// Flags shared by backup and restore.
#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub pd: PdArgs,
    /// Archive URL: local:///path, s3://bucket/prefix?endpoint=..., azure://, gcs://.
    #[arg(long, short = 's')]
    pub storage: String,
    /// Database (db and table commands).
    #[arg(long)]
    pub db: Option<String>,
    /// Table (table command).
    #[arg(long)]
    pub table: Option<String>,
    /// Table filter `db.table` with wildcards, `!` to exclude (repeatable; full command).
    #[arg(long = "filter", short = 'f')]
    pub filter: Vec<String>,
    #[command(flatten)]
    pub crypter: CrypterArgs,
    /// Work units at once (regions per store for backup, files for restore).
    #[arg(long, default_value_t = 4)]
    pub concurrency: u32,
    /// Verify checksums (`--checksum=false` to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub checksum: bool,
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Backup ts: a TSO or a datetime like "2026-11-21 10:00:00 +00:00" (default: now).
    #[arg(long)]
    pub backupts: Option<String>,
    /// SST compression: zstd, lz4, snappy.
    #[arg(long, default_value = "zstd")]
    pub compression: String,
    /// Compression level (0 = the algorithm's default).
    #[arg(long, default_value_t = 0)]
    pub compression_level: i32,
    /// Upload rate limit per store in MiB/s (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub ratelimit: u64,
    /// Write backupmeta V2 (metafiles); `=false` for V1.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub use_backupmeta_v2: bool,
    /// GC safepoint TTL in seconds held while the backup runs.
    #[arg(long, default_value_t = 300)]
    pub gcttl: i64,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// When a table already exists: `fail` if it has rows, or `replace` it.
    #[arg(long, default_value = "fail")]
    pub on_existing: String,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub json: bool,
}

fn filter_of(kind: &str, c: &CommonArgs) -> anyhow::Result<TableFilter> {
    match kind {
        "full" => {
            if c.db.is_some() || c.table.is_some() {
                bail!("--db/--table belong to the db and table commands; use -f with full");
            }
            TableFilter::parse(&c.filter).map_err(|e| anyhow!("-f/--filter: {e}"))
        }
        "db" => {
            let db = c.db.as_deref().ok_or_else(|| anyhow!("--db is required"))?;
            Ok(TableFilter::database(db))
        }
        _ => {
            let db = c.db.as_deref().ok_or_else(|| anyhow!("--db is required"))?;
            let t = c
                .table
                .as_deref()
                .ok_or_else(|| anyhow!("--table is required"))?;
            Ok(TableFilter::table(db, t))
        }
    }
}

fn split<A: clap::Args>(s: Scope<A>) -> (&'static str, A) {
    match s {
        Scope::Full(a) => ("full", a),
        Scope::Db(a) => ("db", a),
        Scope::Table(a) => ("table", a),
    }
}

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

pub fn print_backup(s: &BackupSummary, json: bool) {
    let secs = s.elapsed.as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"backup_ts": s.backup_ts, "tables": s.tables, "ranges": s.ranges, "files": s.files,
                "kvs": s.kvs, "logical_bytes": s.logical_bytes, "stored_bytes": s.stored_bytes,
                "retried_pieces": s.retried_pieces, "resumed_pieces": s.resumed_pieces, "seconds": secs})
        );
    } else {
        println!(
            "backup ts {}: {} tables, {} files, {} KVs, {:.1} MB logical -> {:.1} MB stored in {:.2}s ({:.1} MB/s logical); {} pieces retried, {} resumed",
            s.backup_ts, s.tables, s.files, s.kvs, s.logical_bytes as f64 / 1e6, s.stored_bytes as f64 / 1e6,
            secs, mbps(s.logical_bytes, secs), s.retried_pieces, s.resumed_pieces
        );
    }
}

pub fn print_restore(s: &RestoreSummary, json: bool) {
    let secs = s.elapsed.as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"backup_ts": s.backup_ts, "tables": s.tables, "files": s.files, "kvs": s.kvs,
                "logical_bytes": s.logical_bytes, "downloaded_bytes": s.downloaded_bytes, "seconds": secs})
        );
    } else {
        println!(
            "restored {} tables ({} files, {} KVs, {:.1} MB logical) from backup ts {} in {:.2}s ({:.1} MB/s logical); checksums match",
            s.tables, s.files, s.kvs, s.logical_bytes as f64 / 1e6, s.backup_ts, secs, mbps(s.logical_bytes, secs)
        );
    }
}

pub fn run_backup_cmd(scope: Scope<BackupArgs>) -> Outcome {
    let (kind, a) = split(scope);
    let filter = filter_of(kind, &a.common)?;
    let compression = SstCompression::parse(&a.compression)
        .filter(|c| *c != SstCompression::None)
        .ok_or_else(|| {
            anyhow!(
                "--compression {:?}: expected zstd, lz4 or snappy",
                a.compression
            )
        })?;
    let mut opts = BackupOptions::new(&a.common.storage);
    opts.filter = filter;
    opts.backup_ts = a
        .backupts
        .as_deref()
        .map(|v| parse_ts_flag("--backupts", v))
        .transpose()?;
    opts.compression = compression;
    opts.compression_level = a.compression_level;
    opts.cipher = a.common.crypter.cipher()?;
    opts.rate_limit = a.ratelimit.saturating_mul(1 << 20);
    opts.concurrency = a.common.concurrency.max(1);
    opts.checksum = a.common.checksum;
    opts.meta_version = if a.use_backupmeta_v2 {
        MetaVersion::V2
    } else {
        MetaVersion::V1
    };
    opts.gc_ttl_secs = a.gcttl;
    let storage = open_storage(&a.common.storage)?;
    runtime()?.block_on(async move {
        let client = a.common.pd.connect().await?;
        let r = run_backup(&client, storage, &opts, &StderrProgress).await;
        client.close().await;
        print_backup(&r?, a.json);
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_restore_cmd(scope: Scope<RestoreArgs>) -> Outcome {
    let (kind, a) = split(scope);
    let mut opts = RestoreOptions::new(&a.common.storage);
    opts.filter = filter_of(kind, &a.common)?;
    opts.cipher = a.common.crypter.cipher()?;
    opts.concurrency = a.common.concurrency.max(1) as usize;
    opts.checksum = a.common.checksum;
    opts.on_existing = ExistingPolicy::parse(&a.on_existing).ok_or_else(|| {
        anyhow!(
            "--on-existing {:?}: expected fail or replace",
            a.on_existing
        )
    })?;
    let storage = open_storage(&a.common.storage)?;
    runtime()?.block_on(async move {
        let client = a.common.pd.connect().await?;
        let r = run_restore(&client, storage, &opts, &StderrProgress).await;
        client.close().await;
        print_restore(&r?, a.json);
        Ok(ExitCode::SUCCESS)
    })
}
