//! `brtool verify -s URL [--level meta|file|kv] …`: the offline audit (format/verify.md). A
//! human summary (per-table status, checksums expected vs recomputed, the log window) or
//! `--json` JSON Lines (findings, tables, log, summary). Exit codes (VERIFY-1): 0 clean, 1
//! findings, 2 could not verify. A progress bar (files and bytes) is drawn on stderr only when
//! it is a terminal.

use super::common::{open_storage, runtime, CrypterArgs, LogCrypterArgs, Outcome};
use crate::codec::tso;
use crate::engine::filter::TableFilter;
use crate::engine::verify::{
    run_verify, Level, Subset, VerifyOptions, VerifyProgress, VerifyReport,
};
use anyhow::{anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Archive URL: local:///path, /path, s3://bucket/prefix?endpoint=…, azure://…, gcs://…
    #[arg(short = 's', long = "storage", value_name = "URL")]
    pub storage: String,
    /// meta: metadata, names, sizes, coverage; file: + SHA-256 of every data file;
    /// kv: + recompute checksums from the SST data and decode every row.
    #[arg(long, default_value = "file", value_name = "LEVEL")]
    pub level: String,
    /// For a log archive: the snapshot archive whose backup ts starts the window to check.
    #[arg(long = "full-backup-storage", value_name = "URL")]
    pub full_backup_storage: Option<String>,
    /// Read only part of the data files: `n/t` (t runs cover every file once) or `x%`.
    #[arg(long = "read-data-subset", value_name = "n/t|x%")]
    pub read_data_subset: Option<String>,
    /// Only this database.
    #[arg(long)]
    pub db: Option<String>,
    /// Only this table (needs --db).
    #[arg(long)]
    pub table: Option<String>,
    /// Table filter `db.table` with wildcards, `!` to exclude (repeatable).
    #[arg(long = "filter", short = 'f')]
    pub filter: Vec<String>,
    /// How many data files are read and checked at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// JSON Lines on stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// The snapshot archive's key (for a log archive: the `--full-backup-storage` snapshot's,
    /// and the log data's when no --log.crypter.* flag is given).
    #[command(flatten)]
    pub crypter: CrypterArgs,
    /// A log archive's data key (format/log.md LOG-CRYPT-5).
    #[command(flatten)]
    pub log_crypter: LogCrypterArgs,
}

fn filter_of(a: &VerifyArgs) -> anyhow::Result<Option<TableFilter>> {
    let scoped = a.db.is_some() || a.table.is_some();
    match (scoped, a.filter.is_empty()) {
        (true, false) => bail!("--filter cannot be combined with --db/--table"),
        (false, true) => Ok(None),
        (false, false) => TableFilter::parse(&a.filter)
            .map(Some)
            .map_err(|e| anyhow!("-f/--filter: {e}")),
        (true, true) => match (&a.db, &a.table) {
            (Some(db), Some(t)) => Ok(Some(TableFilter::table(db, t))),
            (Some(db), None) => Ok(Some(TableFilter::database(db))),
            (None, _) => bail!("--table needs --db"),
        },
    }
}

/// The options `verify` runs with, every flag checked.
fn options(a: &VerifyArgs) -> anyhow::Result<VerifyOptions> {
    let level = Level::parse(&a.level)
        .ok_or_else(|| anyhow!("--level {:?}: expected meta, file or kv", a.level))?;
    let mut opts = VerifyOptions::new(level);
    opts.cipher = a.crypter.cipher()?;
    opts.log_cipher = a.log_crypter.cipher()?;
    opts.filter = filter_of(a)?;
    if let Some(s) = &a.read_data_subset {
        opts.subset = Subset::parse(s).map_err(|e| anyhow!("--read-data-subset {e}"))?;
    }
    if a.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    opts.concurrency = a.concurrency;
    if let Some(url) = &a.full_backup_storage {
        opts.full_backup =
            Some(open_storage(url).map_err(|e| anyhow!("--full-backup-storage: {e}"))?);
    }
    Ok(opts)
}

/// A bar on stderr when it is a terminal; nothing otherwise.
struct Bar(Option<ProgressBar>);

impl VerifyProgress for Bar {
    fn start(&self, files: u64, bytes: u64) {
        if let Some(b) = &self.0 {
            b.set_length(bytes);
            b.set_message(format!("0/{files} files"));
            b.set_prefix(files.to_string());
        }
    }
    fn file_done(&self, bytes: u64) {
        if let Some(b) = &self.0 {
            b.inc(bytes);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

fn bar() -> Bar {
    if !std::io::stderr().is_terminal() {
        return Bar(None);
    }
    let b = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "verify [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    ) {
        b.set_style(style.progress_chars("=> "));
    }
    Bar(Some(b))
}

pub fn run(a: VerifyArgs) -> Outcome {
    let opts = options(&a)?;
    let rt = runtime()?;
    let (report, url) = rt.block_on(async {
        let storage = open_storage(&a.storage)?;
        let report = run_verify(storage.as_ref(), &opts, &bar()).await?;
        anyhow::Ok((report, storage.display_url()))
    })?;
    let mut out = std::io::stdout().lock();
    if a.json {
        for line in report.json_lines() {
            serde_json::to_writer(&mut out, &line)?;
            writeln!(out)?;
        }
    } else {
        render_human(&mut out, &report, &url)?;
    }
    Ok(ExitCode::from(report.exit_code()))
}

pub(super) fn render_human(
    out: &mut impl Write,
    r: &VerifyReport,
    url: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "verify {} archive at level {}: {}",
        r.archive_kind, r.level, url
    )?;
    for f in &r.findings {
        write!(out, "  {} {} [{}]", f.severity.as_str(), f.kind, f.rule)?;
        if let Some(t) = &f.table {
            write!(out, " table {t}")?;
        }
        if let Some(file) = &f.file {
            write!(out, " file {file}")?;
        }
        write!(out, ": {}", f.detail)?;
        if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
            write!(out, " (expected {e}, found {a})")?;
        }
        writeln!(out)?;
    }
    if !r.tables.is_empty() {
        writeln!(
            out,
            "  {:<32} {:>6} {:>7} {:>18} {:>18} {:>10}",
            "table", "status", "files", "crc64xor expected", "crc64xor actual", "kvs"
        )?;
    }
    for t in &r.tables {
        let actual = t.recomputed.unwrap_or(t.from_files);
        writeln!(
            out,
            "  {:<32} {:>6} {:>7} {:#018x} {:#018x} {:>10}{}",
            format!("{}.{}", t.db, t.table),
            if t.errors == 0 { "ok" } else { "FAILED" },
            t.files,
            t.expected.crc64xor,
            actual.crc64xor,
            actual.total_kvs,
            if t.recomputed.is_some() {
                format!("  ({} rows decoded)", t.rows)
            } else {
                String::new()
            }
        )?;
    }
    if let Some(l) = &r.log {
        writeln!(
            out,
            "  log: start {} ({}), checkpoint {} ({}), {} metas, {} groups, {} sub-files, {} bytes",
            l.start_ts,
            tso::display_utc(l.start_ts),
            l.checkpoint_ts,
            tso::display_utc(l.checkpoint_ts),
            l.metas,
            l.groups,
            l.sub_files,
            l.bytes
        )?;
        for w in &l.windows {
            writeln!(
                out,
                "  restorable: [{}, {}]  {} .. {}",
                w.from,
                w.to,
                tso::display_utc(w.from),
                tso::display_utc(w.to)
            )?;
        }
        for g in &l.gaps {
            writeln!(out, "  GAP: [{}, {}] is not restorable", g.from, g.to)?;
        }
    }
    writeln!(
        out,
        "{}: {} errors, {} warnings; {} files, {} bytes read",
        if r.exit_code() == 0 { "OK" } else { "FAILED" },
        r.errors(),
        r.warnings(),
        r.files_read,
        r.bytes_read
    )
}
