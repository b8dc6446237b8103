//! `brtool log …`: log backup archive maintenance from storage alone: `metadata` (restorable
//! window, gaps, sizes), `truncate` (BR's `br log truncate`) and `merge` (small objects into
//! large ones). One variant of [`LogCommand`] per subcommand; the task subcommands
//! (`start|status|pause|resume|stop`) join the same enum. The work is in `engine::log`.

use super::common::{open_storage, parse_ts_flag, runtime, Outcome};
use crate::engine::log::{merge, metadata, truncate};
use anyhow::bail;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Restorable window (min_restorable_ts, max_restorable_ts), gaps and sizes of a log
    /// archive, read from storage alone.
    Metadata(MetadataArgs),
    /// Delete log data that no restore to a ts >= --until needs (BR's `br log truncate`).
    Truncate(TruncateArgs),
    /// Rewrite small data objects into objects of at least --target-size, crash-safely.
    Merge(MergeArgs),
    /// start, status, pause, resume, stop (the task on a running cluster).
    #[command(flatten)]
    Task(super::log_task::LogTaskCommand),
}

#[derive(Debug, clap::Args)]
pub struct MetadataArgs {
    /// Log archive URL (local:///path, s3://bucket/prefix?…, azure://…, gcs://…).
    #[arg(short = 's', long = "storage", value_name = "URL")]
    pub storage: String,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Report gaps (spans without any change) of at least this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub min_gap: u64,
}

#[derive(Debug, clap::Args)]
pub struct TruncateArgs {
    #[arg(short = 's', long = "storage", value_name = "URL")]
    pub storage: String,
    /// Keep what restoring to this ts or later needs: a TSO or a datetime
    /// (`2026-11-21 10:00:00 +08:00`), at most the global checkpoint.
    #[arg(long, value_name = "TS")]
    pub until: String,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    #[arg(short = 's', long = "storage", value_name = "URL")]
    pub storage: String,
    /// Minimum stored size of a merged object: bytes, KB/MB/GB (powers of 1000) or
    /// KiB/MiB/GiB (powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "128MiB", value_parser = merge::parse_size)]
    pub target_size: u64,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(c: LogCommand) -> Outcome {
    match c {
        LogCommand::Metadata(a) => run_metadata(a),
        LogCommand::Truncate(a) => run_truncate(a),
        LogCommand::Merge(a) => run_merge(a),
        LogCommand::Task(t) => super::log_task::run_task(t),
    }
}

fn run_metadata(a: MetadataArgs) -> Outcome {
    let storage = open_storage(&a.storage)?;
    let opts = metadata::MetadataOptions {
        min_gap_ms: a.min_gap.saturating_mul(1000),
    };
    let r = runtime()?.block_on(metadata::log_metadata(storage.as_ref(), opts))?;
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &metadata::to_json(&r, &storage.display_url()))?;
        writeln!(out)?;
    } else {
        metadata::render_human(&mut out, &r, &storage.display_url())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_truncate(a: TruncateArgs) -> Outcome {
    let until = parse_ts_flag("--until", &a.until)?;
    let storage = open_storage(&a.storage)?;
    let rt = runtime()?;
    let plan = rt.block_on(truncate::plan_log_truncate(storage.as_ref(), until))?;
    let mut out = std::io::stdout().lock();
    write!(out, "{plan}")?;
    if a.dry_run {
        writeln!(out, "dry run: nothing changed")?;
        return Ok(ExitCode::SUCCESS);
    }
    if !a.yes
        && !confirm(&format!(
            "Truncate {} before ts {until}?",
            storage.display_url()
        ))?
    {
        writeln!(out, "aborted: nothing changed")?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = rt.block_on(truncate::execute_truncate_plan(storage.as_ref(), &plan))?;
    writeln!(out, "{s}")?;
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal; refuses without one (scripts pass `-y`).
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to truncate without confirmation: stdin is not a terminal (pass -y to confirm, or --dry-run to see the plan)");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn run_merge(a: MergeArgs) -> Outcome {
    let storage = open_storage(&a.storage)?;
    let rt = runtime()?;
    let plan = rt.block_on(merge::plan_log_merge(storage.as_ref(), a.target_size))?;
    let mut out = std::io::stdout().lock();
    if a.dry_run {
        write!(out, "{plan}")?;
        writeln!(out, "dry run: nothing changed")?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = rt.block_on(merge::execute_merge_plan(storage.as_ref(), &plan))?;
    writeln!(out, "{s}")?;
    Ok(ExitCode::SUCCESS)
}
