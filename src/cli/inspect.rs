//! `brtool inspect -s URL [--json]`: decodes a snapshot or log archive and prints what it
//! holds. Human tables by default; `--json` prints one JSON document (META-JSON-1 conventions:
//! hex for hashes and keys, schema JSON embedded as objects, numbers as decimal integers).

use super::common::{open_storage, runtime, CrypterArgs, Outcome};
use crate::archive::snapshot::SnapshotArchive;
use crate::archive::{detect_kind, log as log_archive};
use crate::format::layout::ArchiveKind;
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Archive URL: local:///path, /path, s3://bucket/prefix?endpoint=…, azure://…, gcs://…
    #[arg(short = 's', long = "storage", value_name = "URL")]
    pub storage: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub crypter: CrypterArgs,
}

pub fn run(a: InspectArgs) -> Outcome {
    let cipher = a.crypter.cipher()?;
    let rt = runtime()?;
    let doc = rt.block_on(async {
        let storage = open_storage(&a.storage)?;
        let (kind, _) = detect_kind(storage.as_ref(), &cipher).await?;
        anyhow::Ok(match kind {
            ArchiveKind::Snapshot => {
                let archive = SnapshotArchive::open(storage.as_ref(), &cipher).await?;
                snapshot_json(&archive, &storage.display_url())?
            }
            ArchiveKind::Log => {
                let archive = log_archive::LogArchive::open(storage.as_ref()).await?;
                log_archive::to_json(&archive, &storage.display_url())
            }
        })
    })?;
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else if doc["kind"] == "snapshot" {
        render_snapshot(&mut out, &doc)?;
    } else {
        log_archive::render_human(&mut out, &doc)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON document for a snapshot archive (`archive::snapshot::to_json`).
pub fn snapshot_json(a: &SnapshotArchive, url: &str) -> anyhow::Result<Value> {
    Ok(crate::archive::snapshot::to_json(a, url)?)
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn render_snapshot(out: &mut impl Write, d: &Value) -> std::io::Result<()> {
    render_snapshot_summary(out, d)?;
    let files = d["files"].as_array().map(Vec::as_slice).unwrap_or_default();
    writeln!(out)?;
    writeln!(
        out,
        "{:<72} {:<7} {:>10} {:>8} {:>8}",
        "FILE", "CF", "SIZE", "KVS", "TABLE"
    )?;
    for f in files {
        writeln!(
            out,
            "{:<72} {:<7} {:>10} {:>8} {:>8}",
            f["name"].as_str().unwrap_or_default(),
            f["cf"].as_str().unwrap_or_default(),
            f["size"].to_string(),
            f["total_kvs"].to_string(),
            f["table_id"].to_string()
        )?;
    }
    if d["unknown_fields"]
        .as_array()
        .is_some_and(|u| !u.is_empty())
    {
        writeln!(out, "\nwarning: backupmeta has field numbers this brkit does not know: {}; newer BR refuses to restore it (META-3)", d["unknown_fields"])?;
    }
    let orphans = d["files_without_table"].as_array().map_or(0, Vec::len);
    if orphans > 0 {
        writeln!(
            out,
            "\nwarning: {orphans} data files belong to no table in the schema (DATA-3)"
        )?;
    }
    Ok(())
}

/// The header and the table list of a snapshot document (the demo shows this much).
pub fn render_snapshot_summary(out: &mut impl Write, d: &Value) -> std::io::Result<()> {
    let files = d["files"].as_array().map(Vec::as_slice).unwrap_or_default();
    let data: u64 = files.iter().filter_map(|f| f["size"].as_u64()).sum();
    writeln!(
        out,
        "Snapshot archive   {}",
        d["storage"].as_str().unwrap_or_default()
    )?;
    writeln!(
        out,
        "  cluster          id {}  version {}",
        d["cluster_id"],
        d["cluster_version"].as_str().unwrap_or_default()
    )?;
    writeln!(
        out,
        "  backup ts        {} ({})",
        d["end_version"],
        d["backup_ts"]["time"].as_str().unwrap_or_default()
    )?;
    writeln!(out, "  start ts         {}", d["start_version"])?;
    writeln!(
        out,
        "  backupmeta       {} with {} metafiles",
        d["meta_version"].as_str().unwrap_or_default(),
        d["metafiles"].as_array().map_or(0, Vec::len)
    )?;
    writeln!(
        out,
        "  backup size      {}",
        human_size(d["backup_size"].as_u64().unwrap_or_default())
    )?;
    writeln!(
        out,
        "  data files       {} ({})",
        files.len(),
        human_size(data)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:<24} {:>8} {:>18} {:>10} {:>12} {:>6}",
        "DATABASE", "TABLE", "ID", "CRC64XOR", "KVS", "BYTES", "FILES"
    )?;
    for t in d["tables"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        writeln!(
            out,
            "{:<20} {:<24} {:>8} {:>#18x} {:>10} {:>12} {:>6}",
            t["db"].as_str().unwrap_or_default(),
            t["table"].as_str().unwrap_or("(empty database)"),
            t["table_id"].to_string(),
            t["crc64xor"].as_u64().unwrap_or_default(),
            t["total_kvs"].to_string(),
            t["total_bytes"].to_string(),
            t["files"].to_string()
        )?;
    }
    Ok(())
}
