//! `brtool workload load|run` and `brtool table list|dump|checksum`: data for backups, and the
//! SQL-free readers tests and users compare clusters with.

use super::common::{parse_ts_flag, runtime, Outcome, PdArgs};
use crate::engine::tables;
use crate::engine::workload::{self, WorkloadSpec};
use anyhow::anyhow;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum WorkloadCommand {
    /// Create the workload tables in --db and load --rows rows into each.
    Load(WorkloadArgs),
    /// Insert, update and delete rows continuously for --duration.
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub struct WorkloadArgs {
    #[command(flatten)]
    pub pd: PdArgs,
    #[arg(long, default_value = "sbtest")]
    pub db: String,
    /// Number of sysbench tables (the special tables are always created).
    #[arg(long, default_value_t = 4)]
    pub tables: usize,
    /// Rows per table.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub w: WorkloadArgs,
    /// How long to run, e.g. 30s, 2m.
    #[arg(long, default_value = "30s")]
    pub duration: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum TableCommand {
    /// Table names of --db, one per line.
    List(TableArgs),
    /// Rows of --db.--table as CSV (header first) at --ts.
    Dump(TableArgs),
    /// ADMIN CHECKSUM TABLE at --ts: crc64xor total_kvs total_bytes.
    Checksum(TableArgs),
}

#[derive(Debug, clap::Args)]
pub struct TableArgs {
    #[command(flatten)]
    pub pd: PdArgs,
    #[arg(long)]
    pub db: String,
    #[arg(long)]
    pub table: Option<String>,
    /// Read ts: a TSO or a datetime (default: now).
    #[arg(long)]
    pub ts: Option<String>,
}

/// Parses `30s`, `2m`, `1h`, `500ms` or plain seconds.
pub fn parse_duration(flag: &str, v: &str) -> anyhow::Result<Duration> {
    let v = v.trim();
    let (num, unit) = v.split_at(
        v.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(v.len()),
    );
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow!("{flag} {v:?}: expected a number with s, m, h or ms"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(anyhow!("{flag} {v:?}: unknown unit {unit:?}")),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn spec(a: &WorkloadArgs) -> WorkloadSpec {
    WorkloadSpec {
        db: a.db.clone(),
        tables: a.tables,
        rows: a.rows,
        seed: a.seed,
    }
}

pub fn run_workload(cmd: WorkloadCommand) -> Outcome {
    runtime()?.block_on(async move {
        match cmd {
            WorkloadCommand::Load(a) => {
                let c = a.pd.connect().await?;
                let r = workload::load(&c, &spec(&a)).await;
                c.close().await;
                let s = r?;
                println!(
                    "loaded {} tables, {} rows, {} KVs, {:.1} MB in {:.2}s ({:.1} MB/s)",
                    s.tables,
                    s.rows,
                    s.kvs,
                    s.bytes as f64 / 1e6,
                    s.elapsed.as_secs_f64(),
                    s.bytes as f64 / 1e6 / s.elapsed.as_secs_f64().max(1e-9)
                );
            }
            WorkloadCommand::Run(a) => {
                let d = parse_duration("--duration", &a.duration)?;
                let c = a.w.pd.connect().await?;
                let r = workload::run(&c, &spec(&a.w), d).await;
                c.close().await;
                let s = r?;
                println!(
                    "{} commits: {} inserts, {} updates, {} deletes; commit ts {}..{}",
                    s.commits, s.inserts, s.updates, s.deletes, s.first_commit_ts, s.last_commit_ts
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_table(cmd: TableCommand) -> Outcome {
    runtime()?.block_on(async move {
        let (a, what) = match cmd {
            TableCommand::List(a) => (a, "list"),
            TableCommand::Dump(a) => (a, "dump"),
            TableCommand::Checksum(a) => (a, "checksum"),
        };
        let ts =
            a.ts.as_deref()
                .map(|v| parse_ts_flag("--ts", v))
                .transpose()?
                .unwrap_or(0);
        let c = a.pd.connect().await?;
        let table = || {
            a.table
                .clone()
                .ok_or_else(|| anyhow!("--table is required"))
        };
        let r: anyhow::Result<()> = async {
            match what {
                "list" => {
                    for t in tables::list_tables(&c, &a.db, ts).await? {
                        println!("{t}");
                    }
                }
                "dump" => {
                    tables::dump(&c, &a.db, &table()?, ts, Box::new(std::io::stdout())).await?;
                }
                _ => {
                    let (sum, _) = tables::checksum(&c, &a.db, &table()?, ts).await?;
                    println!(
                        "{:#018x} {} {}",
                        sum.crc64xor, sum.total_kvs, sum.total_bytes
                    );
                }
            }
            Ok(())
        }
        .await;
        c.close().await;
        r?;
        Ok(ExitCode::SUCCESS)
    })
}
