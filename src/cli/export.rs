//! `brtool export -s URL --db D --table T [--ts TS --log-storage URL] --format csv|jsonl
//! -o FILE|-`: one table of an archive view written out, the same bytes as the mounted
//! `rows.csv`/`rows.jsonl` (format/view.md VIEW-11: the same code path, `engine::view`), for
//! machines without FUSE. Also the view flags `brtool diff` shares.

use super::common::{CrypterArgs, LogCrypterArgs, Outcome};
use crate::engine::view::{ArchiveView, TableFileKind, ViewOptions, DEFAULT_CACHE_BYTES};
use anyhow::{anyhow, Context};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where and how to open one view.
#[derive(Debug, Clone, clap::Args)]
pub struct ViewArgs {
    /// The snapshot archive URL: local:///path, /path, s3://bucket/prefix?endpoint=…, …
    #[arg(short = 's', long = "storage", value_name = "URL")]
    pub storage: String,
    /// The log backup archive URL, for a --ts after the snapshot.
    #[arg(long = "log-storage", value_name = "URL")]
    pub log_storage: Option<String>,
    #[command(flatten)]
    pub crypter: CrypterArgs,
    #[command(flatten)]
    pub log_crypter: LogCrypterArgs,
    /// Scratch directory for decoded state (log overlays); default: the system temp dir.
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Memory cap of the decoded chunk cache, in MiB.
    #[arg(long = "cache-mb", value_name = "MIB", default_value_t = DEFAULT_CACHE_BYTES >> 20)]
    pub cache_mb: u64,
}

impl ViewArgs {
    pub fn options(&self) -> anyhow::Result<ViewOptions> {
        let mut o = ViewOptions::new(&self.storage);
        o.log_storage = self.log_storage.clone();
        o.cipher = self.crypter.cipher()?;
        o.log_cipher = self.log_crypter.cipher()?;
        if let Some(d) = &self.cache_dir {
            o.cache_dir = d.clone();
        }
        o.cache_bytes = self.cache_mb.max(1) << 20;
        Ok(o)
    }

    pub fn open(&self) -> anyhow::Result<Arc<ArchiveView>> {
        Ok(ArchiveView::open(self.options()?)?)
    }
}

/// The ts of `--ts` (a TSO or a datetime), or the snapshot's.
pub fn ts_of(view: &ArchiveView, flag: &str, v: Option<&str>) -> anyhow::Result<u64> {
    match v {
        Some(s) => view.parse_ts(s).map_err(|e| anyhow!("{flag}: {e}")),
        None => Ok(view.snapshot_ts()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub view: ViewArgs,
    /// The database.
    #[arg(long)]
    pub db: String,
    /// The table.
    #[arg(long)]
    pub table: String,
    /// The view's ts: a TSO or "2026-11-21 10:00:00 +00:00" (default: the snapshot's ts;
    /// a later ts needs --log-storage).
    #[arg(long)]
    pub ts: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Output file, `-` for stdout.
    #[arg(short = 'o', long = "output", default_value = "-")]
    pub output: String,
    /// Print the file's exact size in bytes (what `stat` shows in the mount; one full
    /// decoding pass) instead of its contents.
    #[arg(long)]
    pub size: bool,
}

/// Copies `file` to `out`; returns (bytes, time until the first read returned).
fn copy_timed(
    file: &dyn crate::engine::view::ViewFile,
    out: &mut dyn Write,
) -> anyhow::Result<(u64, Option<Duration>)> {
    let started = Instant::now();
    let mut first = None;
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = file.read_at(off, &mut buf)?;
        first.get_or_insert_with(|| started.elapsed());
        if n == 0 {
            return Ok((off, first));
        }
        out.write_all(&buf[..n])?;
        off += n as u64;
    }
}

pub fn run(a: ExportArgs) -> Outcome {
    let started = Instant::now();
    let view = a.view.open()?;
    let opened = started.elapsed();
    let ts = ts_of(&view, "--ts", a.ts.as_deref())?;
    let (cat, table) = view.find_table(ts, &a.db, &a.table)?;
    let kind = match a.format {
        Format::Csv => TableFileKind::RowsCsv,
        Format::Jsonl => TableFileKind::RowsJsonl,
    };
    let file = view.table_file(&cat, &table, kind)?;
    if a.size {
        let t0 = Instant::now();
        let size = file.size()?;
        println!("{size}");
        eprintln!(
            "[brtool] size of `{}`.`{}` at ts {ts}: {size} bytes (size pass {:.3} s)",
            table.db,
            table.name,
            t0.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let t0 = Instant::now();
    let (bytes, first) = if a.output == "-" {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let r = copy_timed(file.as_ref(), &mut out)?;
        out.flush()?;
        r
    } else {
        let f = std::fs::File::create(&a.output).with_context(|| format!("-o {}", a.output))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
        let r = copy_timed(file.as_ref(), &mut out)?;
        out.flush().with_context(|| format!("-o {}", a.output))?;
        r
    };
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "[brtool] exported `{}`.`{}` at ts {ts} ({}): {bytes} bytes in {secs:.3} s ({:.1} MB/s); archive opened in {} ms, first byte after {} ms",
        table.db,
        table.name,
        crate::codec::tso::display_utc(ts),
        bytes as f64 / 1e6 / secs.max(1e-9),
        opened.as_millis(),
        first.unwrap_or_default().as_millis()
    );
    Ok(ExitCode::SUCCESS)
}
