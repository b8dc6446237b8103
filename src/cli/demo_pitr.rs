//! The log backup and PITR part of `brtool demo`: waiting for the task's global checkpoint,
//! `brtool log metadata` and `brtool verify` of the log archive the task wrote, and a
//! point-in-time restore into a fresh cluster checked table by table against the source read
//! at the restored ts (row dump + checksum with the rewrite rules back to the source's ids,
//! CSUM-6). The demo's steps call these in order.

use super::common::open_storage;
use crate::cluster::ClusterClient;
use crate::engine::backup::Quiet;
use crate::engine::log::metadata::{self, MetadataOptions};
use crate::engine::pitr::{run_pitr, Origin, PitrOptions};
use crate::engine::ranges::table_range_pairs;
use crate::engine::restore::rules_for;
use crate::engine::tables;
use crate::engine::verify::{run_verify, Level, NoProgress, VerifyOptions};
use crate::format::crypto::Cipher;
use anyhow::bail;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Waits (at most two minutes) until `task`'s global checkpoint reaches `ts`; returns it.
pub async fn wait_checkpoint(c: &ClusterClient, task: &str, ts: u64) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = c.log_tasks(task).await?;
        let Some(t) = r.tasks.first() else {
            bail!("log backup task {task:?} is gone");
        };
        if t.checkpoint_ts >= ts {
            return Ok(t.checkpoint_ts);
        }
        if Instant::now() > deadline {
            bail!(
                "the global checkpoint of {task:?} ({}) did not reach {ts} in 2 minutes",
                t.checkpoint_ts
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `brtool log metadata -s LOG` (no key: metadata only) then `brtool verify -s LOG
/// --full-backup-storage SNAP --level kv` with the log's and the snapshot's keys; true when
/// verify has no error finding.
pub async fn metadata_and_verify(
    out: &mut impl Write,
    (log_url, snap_url): (&str, &str),
    (log_cipher, cipher): (&Cipher, &Cipher),
) -> anyhow::Result<bool> {
    let log = open_storage(log_url)?;
    writeln!(out, "\n== 11. brtool log metadata -s {log_url}")?;
    let m = metadata::log_metadata(log.as_ref(), MetadataOptions { min_gap_ms: 60_000 }).await?;
    metadata::render_human(out, &m, &log.display_url())?;

    writeln!(
        out,
        "\n== 12. brtool verify -s {log_url} --full-backup-storage {snap_url} --level kv{}",
        keys_text(log_cipher, cipher)
    )?;
    let t = Instant::now();
    let mut vo = VerifyOptions::new(Level::Kv);
    vo.cipher = cipher.clone();
    vo.log_cipher = Some(log_cipher.clone());
    vo.full_backup = Some(open_storage(snap_url)?);
    let r = run_verify(log.as_ref(), &vo, &NoProgress).await?;
    super::verify::render_human(out, &r, &log.display_url())?;
    writeln!(out, "   (verified in {:.2} s)", t.elapsed().as_secs_f64())?;
    Ok(r.errors() == 0)
}

/// The key flags of a command line, elided (CRYPT-7).
fn keys_text(log_cipher: &Cipher, cipher: &Cipher) -> String {
    let mut t = String::new();
    if cipher.is_encrypted() {
        t += &format!(
            " --crypter.method {} --crypter.key …",
            cipher.method().flag_name()
        );
    }
    if log_cipher.is_encrypted() {
        t += &format!(
            " --log.crypter.method {} --log.crypter.key …",
            log_cipher.method().flag_name()
        );
    }
    t
}

/// `brtool restore point` to `ts` into a fresh cluster at `dir`, then every table of `db` in
/// the target compared with the source at `ts`; the `truncated` tables (TRUNCATE TABLE after
/// the snapshot) are named with their row count. Returns whether all are identical with no
/// table missing or extra, the time of the PITR and the log bytes it replayed.
pub async fn pitr_and_compare(
    out: &mut impl Write,
    src: &ClusterClient,
    dir: &Path,
    (log_url, snap_url): (&str, &str),
    (log_cipher, cipher): (&Cipher, &Cipher),
    (db, truncated): (&str, &[&str]),
    ts: u64,
) -> anyhow::Result<(bool, Duration, u64)> {
    writeln!(out, "\n== 13. brtool restore point --pd local://{} -s {log_url} --full-backup-storage {snap_url} --restored-ts {ts}{}   (a fresh cluster C)", dir.display(), keys_text(log_cipher, cipher))?;
    let dst = ClusterClient::connect(&format!("local://{}", dir.display())).await?;
    let mut o = PitrOptions::new(log_url, snap_url);
    o.restored_ts = Some(ts);
    o.snapshot_cipher = cipher.clone();
    o.log_cipher = log_cipher.clone();
    let s = run_pitr(
        &dst,
        open_storage(log_url)?,
        open_storage(snap_url)?,
        &o,
        &Quiet,
    )
    .await?;
    let secs = s.replay_elapsed.as_secs_f64().max(1e-9);
    writeln!(out, "   restored to ts {} from snapshot ts {} (restorable window [{}, {}]): snapshot part {} KVs, log replay {} sub-files, {} events, {:.1} MB in {:.2} s ({:.1} MB/s), {} DDL meta records; total {:.2} s",
        s.restored_ts, s.snapshot_ts, s.window.min_ts, s.window.max_ts, s.snapshot.kvs, s.replay.files, s.replay.events,
        s.replay.plain_bytes as f64 / 1e6, secs, s.replay.plain_bytes as f64 / 1e6 / secs, s.meta_events, s.elapsed.as_secs_f64())?;
    for g in &s.gone {
        if truncated.iter().any(|t| g == &format!("`{db}`.`{t}`")) {
            writeln!(out, "   {g}: truncated after the snapshot, before the restored ts: the snapshot's rows are not restored; the table is recreated from the log")?;
        } else {
            writeln!(
                out,
                "   {g}: dropped after the snapshot, before the restored ts: not restored"
            )?;
        }
    }
    writeln!(
        out,
        "   every table compared with cluster A read at ts {ts}:"
    )?;
    let mut ok = true;
    let want = tables::list_tables(src, db, ts).await?;
    let dst_ts = dst.tso().await?;
    let got = tables::list_tables(&dst, db, dst_ts).await?;
    if want != got {
        ok = false;
        writeln!(
            out,
            "   DIFFERENT table lists: source {want:?}, restored {got:?}"
        )?;
    }
    for t in want.iter().filter(|t| got.contains(t)) {
        let old = tables::find_table(src, db, t, ts).await?;
        let new = tables::find_table(&dst, db, t, dst_ts).await?;
        let (sa, _) = tables::checksum(src, db, t, ts).await?;
        let rules: Vec<(Vec<u8>, Vec<u8>)> = rules_for(&old, &new)?
            .into_iter()
            .map(|r| (r.old_prefix, r.new_prefix))
            .collect();
        let sb = dst
            .checksum(&table_range_pairs(&new)?, dst_ts, &rules)
            .await?;
        let (da, rows_a) = super::demo::dump_bytes(src, db, t, ts).await?;
        let (dbytes, _) = super::demo::dump_bytes(&dst, db, t, dst_ts).await?;
        let same = sa == sb && da == dbytes;
        ok &= same;
        let from = match s.tables.iter().find(|x| x.db == db && &x.name == t) {
            Some(x) if x.origin == Origin::CreatedAfterSnapshot => "log only",
            Some(_) => "snapshot+log",
            None => "?",
        };
        writeln!(
            out,
            "   {db}.{:<18} {:<9} ({from:<12}) checksum {:#018x} {} {}  dump {} bytes, {}",
            t,
            if same { "IDENTICAL" } else { "DIFFERENT" },
            sb.crc64xor,
            sb.total_kvs,
            sb.total_bytes,
            dbytes.len(),
            if da == dbytes {
                "same rows"
            } else {
                "rows differ"
            }
        )?;
        if truncated.contains(&t.as_str()) {
            writeln!(
                out,
                "   {db}.{t}: TRUNCATEd after the snapshot; restored with the {rows_a} rows it held at ts {ts} (not the snapshot's)"
            )?;
        }
    }
    dst.close().await;
    Ok((ok, s.elapsed, s.replay.plain_bytes))
}
