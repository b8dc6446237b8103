//! `brtool diff -s URL [--ts TS] [--log-storage URL] [--against URL2] [--ts2 TS2]
//! [--against-log-storage URL] [--db D [--table T] | -f FILTER] [--json]`: rows inserted,
//! deleted and changed per table between two archive views (format/view.md VIEW-12). Side A
//! is `-s` at `--ts`; side B is `--against` (default: the same archive) at `--ts2` (default:
//! its snapshot ts). Exit codes as diff(1): 0 no difference, 1 differences, 2 could not diff.

use super::common::{CrypterArgs, Outcome};
use super::export::{ts_of, ViewArgs};
use crate::engine::filter::TableFilter;
use crate::engine::view::diff::{diff, DiffSide, TableDiff};
use crate::engine::view::ArchiveView;
use anyhow::{anyhow, bail};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

/// Side B's key when it differs from side A's (`--against.crypter.*`).
#[derive(Debug, Clone, clap::Args)]
pub struct AgainstCrypterArgs {
    /// Encryption method of the --against archive (default: --crypter.method).
    #[arg(
        id = "against_crypter_method",
        long = "against.crypter.method",
        value_name = "METHOD"
    )]
    pub method: Option<String>,
    /// Its key in hex.
    #[arg(
        id = "against_crypter_key",
        long = "against.crypter.key",
        value_name = "HEX",
        env = "BR_AGAINST_CRYPTER_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub view: ViewArgs,
    /// Side A's ts (default: the snapshot's ts of -s).
    #[arg(long)]
    pub ts: Option<String>,
    /// Side B's snapshot archive (default: the same as -s).
    #[arg(long, value_name = "URL")]
    pub against: Option<String>,
    /// Side B's log archive (default: --log-storage when --against is not given).
    #[arg(long = "against-log-storage", value_name = "URL")]
    pub against_log_storage: Option<String>,
    #[command(flatten)]
    pub against_crypter: AgainstCrypterArgs,
    /// Side B's ts (default: the snapshot's ts of side B).
    #[arg(long)]
    pub ts2: Option<String>,
    /// Only this database.
    #[arg(long)]
    pub db: Option<String>,
    /// Only this table (with --db).
    #[arg(long)]
    pub table: Option<String>,
    /// Table filter `db.table` with wildcards, `!` to exclude (repeatable).
    #[arg(long = "filter", short = 'f')]
    pub filter: Vec<String>,
    /// JSON Lines: one object per table, then a summary object.
    #[arg(long)]
    pub json: bool,
}

fn filter_of(a: &DiffArgs) -> anyhow::Result<TableFilter> {
    match (&a.db, &a.table) {
        (Some(db), Some(t)) if a.filter.is_empty() => Ok(TableFilter::table(db, t)),
        (Some(db), None) if a.filter.is_empty() => Ok(TableFilter::database(db)),
        (None, Some(_)) => bail!("--table needs --db"),
        (None, None) => TableFilter::parse(&a.filter).map_err(|e| anyhow!("-f/--filter: {e}")),
        _ => bail!("give either --db/--table or -f/--filter, not both"),
    }
}

fn side_b(a: &DiffArgs, view_a: &Arc<ArchiveView>) -> anyhow::Result<Arc<ArchiveView>> {
    let Some(url) = &a.against else {
        if a.against_log_storage.is_some() || a.against_crypter.method.is_some() {
            bail!("--against-log-storage and --against.crypter.* need --against");
        }
        return Ok(view_a.clone());
    };
    let mut b = a.view.clone();
    b.storage = url.clone();
    b.log_storage = a.against_log_storage.clone();
    if let Some(m) = &a.against_crypter.method {
        b.crypter = CrypterArgs {
            method: m.clone(),
            key: a.against_crypter.key.clone(),
            key_file: None,
        };
    }
    b.open().map_err(|e| anyhow!("--against: {e}"))
}

fn human(out: &mut impl Write, t: &TableDiff) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<40} {:<10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        format!("{}.{}", t.db, t.table),
        t.status.as_str(),
        t.rows_a,
        t.rows_b,
        t.inserted,
        t.deleted,
        t.changed
    )
}

pub fn run(a: DiffArgs) -> Outcome {
    let filter = filter_of(&a)?;
    let va = a.view.open()?;
    let vb = side_b(&a, &va)?;
    let ts_a = ts_of(&va, "--ts", a.ts.as_deref())?;
    let ts_b = ts_of(&vb, "--ts2", a.ts2.as_deref())?;
    let mut out = std::io::stdout().lock();
    if !a.json {
        writeln!(out, "A: {} at ts {ts_a}", a.view.storage)?;
        writeln!(
            out,
            "B: {} at ts {ts_b}",
            a.against.as_deref().unwrap_or(&a.view.storage)
        )?;
        writeln!(
            out,
            "{:<40} {:<10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "TABLE", "STATUS", "ROWS A", "ROWS B", "INSERTED", "DELETED", "CHANGED"
        )?;
    }
    let summary = diff(
        DiffSide {
            view: &va,
            ts: ts_a,
        },
        DiffSide {
            view: &vb,
            ts: ts_b,
        },
        &filter,
        &mut |t| {
            let r = if a.json {
                writeln!(out, "{}", t.to_json())
            } else {
                human(&mut out, t)
            };
            r.map_err(Into::into)
        },
    )?;
    if a.json {
        writeln!(out, "{}", summary.to_json())?;
    } else {
        writeln!(
            out,
            "{} tables: {} same, {} changed, {} only in A, {} only in B; rows: {} inserted, {} deleted, {} changed",
            summary.tables,
            summary.same,
            summary.changed,
            summary.only_in_a,
            summary.only_in_b,
            summary.rows_inserted,
            summary.rows_deleted,
            summary.rows_changed
        )?;
    }
    out.flush()?;
    Ok(if summary.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
