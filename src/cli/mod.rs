//! The thin front end of `brtool`: clap parses arguments into the library's option structs,
//! one file per subcommand renders the result. Exit codes: 0 success, 1 findings (verify),
//! 2 could not run (bad arguments, unreadable storage, undecodable archive).

mod backup;
mod cluster;
mod common;
mod demo;
mod demo_pitr;
mod diff;
mod export;
mod inspect;
mod log;
mod log_task;
mod restore_point;
mod table;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// brtool: inspect, verify, back up and restore TiDB BR archives.
#[derive(Debug, Parser)]
#[command(name = "brtool", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a snapshot or log archive (like `br debug decode`): ts, cluster, tables, files.
    Inspect(inspect::InspectArgs),
    /// Audit an archive offline: metadata, SHA-256, or recomputed checksums (exit 0 clean,
    /// 1 findings, 2 could not verify).
    Verify(verify::VerifyArgs),
    /// Run the end-to-end demonstration on a temporary directory.
    Demo(demo::DemoArgs),
    /// Run or control the embedded TiKV-compatible cluster.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Back up a cluster into an archive (BR's `br backup`).
    #[command(subcommand)]
    Backup(backup::Scope<backup::BackupArgs>),
    /// Restore an archive into a cluster (BR's `br restore`), or to a point in time.
    #[command(subcommand)]
    Restore(restore_point::RestoreCommand),
    /// Create and change TiDB-compatible tables in a cluster.
    #[command(subcommand)]
    Workload(table::WorkloadCommand),
    /// Read tables of a cluster without SQL: list, dump (CSV), checksum.
    #[command(subcommand)]
    Table(table::TableCommand),
    /// Log backup (BR's `br log`): start, status, pause, resume, stop a task; metadata,
    /// truncate, merge an archive.
    #[command(subcommand)]
    Log(log::LogCommand),
    /// Write one table of an archive (at any ts with --log-storage) as CSV or JSON Lines:
    /// the bytes `brfs mount` shows.
    Export(export::ExportArgs),
    /// Rows inserted, deleted and changed per table between two archives or two ts (exit 0
    /// same, 1 differences, 2 could not diff).
    Diff(diff::DiffArgs),
}

/// Runs brtool with the process arguments.
pub fn brtool_main() -> ExitCode {
    common::init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Cluster(c) => cluster::run(c),
        Command::Backup(s) => backup::run_backup_cmd(s),
        Command::Restore(c) => restore_point::run(c),
        Command::Workload(c) => table::run_workload(c),
        Command::Table(c) => table::run_table(c),
        Command::Log(c) => log::run(c),
        Command::Export(a) => export::run(a),
        Command::Diff(a) => diff::run(a),
    };
    common::finish(result)
}
