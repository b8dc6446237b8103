//! `brtool demo`: the end-to-end demonstration on a scratch directory: a 3-store cluster
//! served in this process (gRPC on loopback) with a log backup task started before any write,
//! the TiDB-compatible workload loaded and run, a full backup in BR's format taken mid-run,
//! `inspect`, `verify --level kv` (every checksum re-derived offline from the SST data), a
//! restore into a fresh cluster with every table's checksum and row dump compared, more writes,
//! a DROP TABLE and a TRUNCATE TABLE after the snapshot, then `log metadata` and `verify` of
//! the log archive the task wrote and a point-in-time restore to a ts between the snapshot and
//! the checkpoint, checked table by table against the source at that ts (the truncated table
//! must hold the rows written after its TRUNCATE); last, the `brfs mount` command for the
//! archive (with `BRKIT_DEMO_MOUNT=1`, a real mount, a table listed, unmounted). With
//! `--encrypt` the snapshot and the log data have two different random AES-256 keys
//! (`--crypter.*`, `--log.crypter.*`). Exit 0
//! when every check agrees, 1 when one does not.
use super::common::{open_storage, runtime, Outcome};
use super::demo_pitr::{metadata_and_verify, pitr_and_compare, wait_checkpoint};
use crate::archive::snapshot::SnapshotArchive;
use crate::archive::sst_writer::SstCompression;
use crate::cluster::server::{ClusterConfig, RunningCluster};
use crate::cluster::ClusterClient;
use crate::codec::model::DBInfo;
use crate::engine::backup::{run_backup, BackupOptions, Quiet};
use crate::engine::restore::{run_restore, RestoreOptions};
use crate::engine::tables;
use crate::engine::verify::{run_verify, Level, NoProgress, VerifyOptions};
use crate::engine::workload::{self, WorkloadSpec};
use crate::format::crypto::{Cipher, CipherMethod};
use anyhow::{anyhow, Context};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The demo's log backup task.
const TASK: &str = "demo";
/// Rows written into the table truncated after the snapshot.
const TRUNCATED_ROWS: u64 = 20;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Directory to work in (default: a new directory under the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rows per workload table.
    #[arg(long, default_value_t = 20_000)]
    pub rows: u64,
    /// Sysbench tables (the four special tables are always created).
    #[arg(long, default_value_t = 2)]
    pub tables: usize,
    /// SST compression: zstd, lz4, snappy, none.
    #[arg(long, default_value = "zstd")]
    pub compression: String,
    /// Encrypt the snapshot and the log backup's data, each with its own random AES-256-CTR
    /// key.
    #[arg(long)]
    pub encrypt: bool,
    /// Seconds of workload (inserts, updates, deletes) before and after the snapshot.
    #[arg(long, default_value_t = 2)]
    pub run_secs: u64,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

pub fn run(a: DemoArgs) -> Outcome {
    let compression = SstCompression::parse(&a.compression).ok_or_else(|| {
        anyhow!(
            "--compression {:?}: expected zstd, lz4, snappy or none",
            a.compression
        )
    })?;
    let dir = match a.dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("brkit-demo-{}", std::process::id())),
    };
    let archive_dir = dir.join("full");
    let log_dir = dir.join("log");
    let scratch = dir.join("scratch");
    for d in [&archive_dir, &log_dir, &scratch] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let random_key = || -> anyhow::Result<Cipher> {
        Ok(if a.encrypt {
            Cipher::new(CipherMethod::Aes256Ctr, rand::random::<[u8; 32]>().to_vec())?
        } else {
            Cipher::plaintext()
        })
    };
    let cipher = random_key()?;
    let log_cipher = random_key()?;
    let snap_url = format!("local://{}", archive_dir.canonicalize()?.display());
    let log_url = format!("local://{}", log_dir.canonicalize()?.display());
    let rt = runtime()?;
    let mut out = std::io::stdout().lock();
    let cluster_a = dir.join("cluster-a");
    let cluster_b = dir.join("cluster-b");
    let cluster_c = dir.join("cluster-c");
    let ok = rt.block_on(async {
        let storage = open_storage(&snap_url)?;
        let spec = WorkloadSpec { db: "sbtest".into(), tables: a.tables, rows: a.rows, seed: 42 };
        let run_for = Duration::from_secs(a.run_secs);
        writeln!(out, "== 1. Cluster A: brtool cluster start --dir {}   (3 stores, RocksDB, gRPC on loopback, served by this process)", cluster_a.display())?;
        let running = RunningCluster::start(ClusterConfig::embedded(cluster_a.clone())).await?;
        let pd = running.pd_addr().to_string();
        let src = ClusterClient::connect(&pd).await?;
        writeln!(out, "   PD at {pd}")?;

        writeln!(out, "\n== 2. brtool log start --pd {pd} --task-name {TASK} -s {log_url} --flush-interval 1s{}   (before any write)", if a.encrypt { " --log.crypter.method aes256-ctr --log.crypter.key-file …" } else { "" })?;
        let task = src.register_encrypted_log_task(TASK, &log_url, 0, 1000, &log_cipher).await?;
        writeln!(out, "   task {TASK:?} started at ts {}{}", task.start_ts, if a.encrypt { "; every data sub-file AES-256-CTR encrypted with its own IV (another key than the snapshot's)" } else { "" })?;

        writeln!(out, "\n== 3. brtool workload load --pd {pd} --tables {} --rows {}", a.tables, a.rows)?;
        let l = workload::load(&src, &spec).await?;
        writeln!(out, "   {} tables, {} rows, {} KVs, {:.1} MB in {:.2} s ({:.1} MB/s), every change also observed by the log backup", l.tables, l.rows, l.kvs, mb(l.bytes), l.elapsed.as_secs_f64(), mb(l.bytes) / l.elapsed.as_secs_f64())?;
        writeln!(out, "\n== 4. brtool workload run --pd {pd} --duration {}s   (inserts, updates, deletes)", a.run_secs)?;
        let w1 = workload::run(&src, &spec, run_for).await?;
        writeln!(out, "   {} commits: {} inserts, {} updates, {} deletes", w1.commits, w1.inserts, w1.updates, w1.deletes)?;

        writeln!(out, "\n== 5. brtool backup full --pd {pd} -s {snap_url} --compression {}{}   (the snapshot, mid-run)", a.compression, if a.encrypt { " --crypter.method aes256-ctr" } else { "" })?;
        let mut bo = BackupOptions::new(&snap_url);
        bo.compression = compression;
        bo.cipher = cipher.clone();
        let b = run_backup(&src, storage.clone(), &bo, &Quiet).await?;
        let bs = b.elapsed.as_secs_f64();
        writeln!(out, "   backup ts {}: {} tables, {} SST files, {:.1} MB logical -> {:.1} MB stored in {:.2} s ({:.1} MB/s logical)", b.backup_ts, b.tables, b.files, mb(b.logical_bytes), mb(b.stored_bytes), bs, mb(b.logical_bytes) / bs)?;

        writeln!(out, "\n== 6. brtool inspect -s {snap_url}")?;
        let archive = SnapshotArchive::open(storage.as_ref(), &cipher).await?;
        let doc = super::inspect::snapshot_json(&archive, &storage.display_url())?;
        super::inspect::render_snapshot_summary(&mut out, &doc)?;

        writeln!(out, "\n== 7. brtool verify -s {snap_url} --level kv{}   (offline: SHA-256, SST reader, MVCC resolution, checksums recomputed, every row decoded)", if a.encrypt { " --crypter.method aes256-ctr --crypter.key …" } else { "" })?;
        let t = Instant::now();
        let mut vo = VerifyOptions::new(Level::Kv);
        vo.cipher = cipher.clone();
        let report = run_verify(storage.as_ref(), &vo, &NoProgress).await?;
        let secs = t.elapsed().as_secs_f64();
        let mut all_ok = report.exit_code() == 0;
        for f in &report.findings {
            writeln!(out, "   {} {} [{}] {} {}: {}", f.severity.as_str(), f.kind, f.rule, f.table.as_deref().unwrap_or(""), f.file.as_deref().unwrap_or(""), f.detail)?;
        }
        for t in &report.tables {
            let got = t.recomputed.unwrap_or_default();
            writeln!(out, "   {}.{:<18} {:<8} rows {:>7}  crc64xor expected {:#018x} recomputed {:#018x}  kvs {:>7} bytes {:>9}",
                t.db, t.table, if t.errors == 0 && t.recomputed == Some(t.expected) { "OK" } else { "FAILED" }, t.rows, t.expected.crc64xor, got.crc64xor, got.total_kvs, got.total_bytes)?;
        }
        writeln!(out, "   {} errors, {} warnings; verified {} files, {:.1} MB in {:.2} s", report.errors(), report.warnings(), report.files_read, mb(report.bytes_read), secs)?;

        writeln!(out, "\n== 8. brtool restore full --pd local://{} -s {snap_url} into a fresh cluster B, then compare every table with A at the backup ts", cluster_b.display())?;
        let dst = ClusterClient::connect(&format!("local://{}", cluster_b.display())).await?;
        let mut ro = RestoreOptions::new(&snap_url);
        ro.cipher = cipher.clone();
        let r = run_restore(&dst, storage.clone(), &ro, &Quiet).await?;
        let rs = r.elapsed.as_secs_f64();
        writeln!(out, "   restored {} tables, {} files, {} KVs in {:.2} s ({:.1} MB/s logical); restore checksums match", r.tables, r.files, r.kvs, rs, mb(r.logical_bytes) / rs)?;
        for t in tables::list_tables(&src, "sbtest", b.backup_ts).await? {
            let (sa, _) = tables::checksum(&src, "sbtest", &t, b.backup_ts).await?;
            let (sb, _) = tables::checksum(&dst, "sbtest", &t, 0).await?;
            let (da, _) = dump_bytes(&src, "sbtest", &t, b.backup_ts).await?;
            let (db, _) = dump_bytes(&dst, "sbtest", &t, 0).await?;
            let same = sa == sb && da == db;
            all_ok &= same;
            writeln!(out, "   sbtest.{:<18} {:<9} checksum {:#018x} {} {}  dump {} bytes, {}",
                t, if same { "IDENTICAL" } else { "DIFFERENT" }, sb.crc64xor, sb.total_kvs, sb.total_bytes, db.len(), if da == db { "same rows" } else { "rows differ" })?;
        }
        dst.close().await;

        writeln!(out, "\n== 9. After the snapshot: brtool workload run --duration {}s, DROP TABLE sbtest.{}, TRUNCATE TABLE sbtest.{} and {TRUNCATED_ROWS} new rows in it, then more writes", a.run_secs, workload::EVENTS, workload::ORDERS)?;
        let w2 = workload::run(&src, &spec, run_for).await?;
        let events = tables::find_table(&src, "sbtest", workload::EVENTS, 0).await?;
        let (dbs, _) = src.list_schemas(0).await?;
        let sbtest = dbs.iter().map(|d| DBInfo::from_json(&d.db_info)).collect::<Result<Vec<_>, _>>()?
            .into_iter().find(|d| d.db_name.l == "sbtest").ok_or_else(|| anyhow!("database sbtest is gone"))?;
        src.drop_table(sbtest.id, events.id).await?;
        let orders = tables::truncate_table(&src, "sbtest", workload::ORDERS).await?;
        let mut muts = Vec::new();
        for row in 1..=TRUNCATED_ROWS {
            muts.extend(workload::row_kvs(&orders, row, spec.seed, 0)?.into_iter().map(|(k, v)| (k, Some(v))));
        }
        src.commit(muts).await?;
        let chosen = src.tso().await?;
        let w3 = workload::run(&src, &spec, run_for).await?;
        let last = src.tso().await?;
        writeln!(out, "   {} + {} commits; the PITR target ts {chosen} lies after the DROP and the TRUNCATE and before the last {} commits", w2.commits, w3.commits, w3.commits)?;

        writeln!(out, "\n== 10. brtool log status --pd {pd} --task-name {TASK}   (waiting for the global checkpoint to pass ts {last})")?;
        let t = Instant::now();
        let checkpoint = wait_checkpoint(&src, TASK, last).await?;
        writeln!(out, "   global checkpoint {checkpoint} after {:.1} s", t.elapsed().as_secs_f64())?;

        all_ok &= metadata_and_verify(&mut out, (&log_url, &snap_url), (&log_cipher, &cipher)).await?;
        let (same, pitr_time, replayed) = pitr_and_compare(&mut out, &src, &cluster_c, (&log_url, &snap_url), (&log_cipher, &cipher), ("sbtest", &[workload::ORDERS]), chosen).await?;
        all_ok &= same;
        src.stop_log_task(TASK).await?;
        src.close().await;
        running.shutdown().await;

        writeln!(out, "\n== Summary")?;
        writeln!(out, "   load    {:>9.1} MB  {:>7.2} s  {:>7.1} MB/s", mb(l.bytes), l.elapsed.as_secs_f64(), mb(l.bytes) / l.elapsed.as_secs_f64())?;
        writeln!(out, "   backup  {:>9.1} MB  {:>7.2} s  {:>7.1} MB/s logical  ({:.1} MB stored, {:.1}x smaller)", mb(b.logical_bytes), bs, mb(b.logical_bytes) / bs, mb(b.stored_bytes), b.logical_bytes as f64 / b.stored_bytes.max(1) as f64)?;
        writeln!(out, "   restore {:>9.1} MB  {:>7.2} s  {:>7.1} MB/s logical", mb(r.logical_bytes), rs, mb(r.logical_bytes) / rs)?;
        writeln!(out, "   pitr    {:>9.1} MB  {:>7.2} s  (log replayed to ts {chosen}, snapshot part included)", mb(replayed), pitr_time.as_secs_f64())?;
        writeln!(out, "   result: {}", if all_ok { "every checksum re-derived from the SSTs matches backupmeta, the log archive verifies clean, and every restored table (full restore and PITR) is identical to the source at its ts" } else { "MISMATCH (see above)" })?;
        writeln!(out, "\n   Try it yourself:")?;
        writeln!(out, "     brtool cluster start --dir {}/c &          # a server; then --pd local://{}/c", dir.display(), dir.display())?;
        writeln!(out, "     brtool log start --pd local://{}/c --task-name t1 -s local://{}/log2", dir.display(), dir.display())?;
        writeln!(out, "     brtool workload load --pd local://{}/c --tables 2 --rows 10000", dir.display())?;
        writeln!(out, "     brtool backup full --pd local://{}/c -s local://{}/bk2", dir.display(), dir.display())?;
        writeln!(out, "     brtool log metadata -s local://{}/log2", dir.display())?;
        writeln!(out, "     brtool restore point --pd local://{}/d -s local://{}/log2 --full-backup-storage local://{}/bk2", dir.display(), dir.display(), dir.display())?;
        writeln!(out, "     brtool table dump --pd local://{} --db sbtest --table sbtest1 | head", cluster_c.display())?;
        writeln!(out, "     brtool verify -s {log_url} --full-backup-storage {snap_url} --level kv --json")?;
        anyhow::Ok(all_ok)
    })?;
    drop(rt);
    // The last step: browse the archive (issue 6). Outside the runtime: the view layer blocks.
    let mnt = dir.join("mnt");
    let keys_hex = a
        .encrypt
        .then(|| (hex::encode(cipher.key()), hex::encode(log_cipher.key())));
    let cmd = crate::brfs::demo::mount_command(
        &snap_url,
        &log_url,
        &mnt,
        keys_hex.as_ref().map(|(s, l)| (s.as_str(), l.as_str())),
    );
    writeln!(out, "\n== 14. Browse the archive as files: {cmd}")?;
    if std::env::var_os("BRKIT_DEMO_MOUNT").is_some_and(|v| v == "1") {
        crate::brfs::demo::mount_and_show(
            &mut out,
            &snap_url,
            &log_url,
            (&cipher, &log_cipher),
            &mnt,
            &scratch,
            ("sbtest", "sbtest1"),
        )?;
    } else {
        writeln!(
            out,
            "   (BRKIT_DEMO_MOUNT=1 mounts it here, lists a table and unmounts)"
        )?;
    }
    writeln!(out, "     mkdir -p {} && {cmd}", mnt.display())?;
    writeln!(
        out,
        "     ls {}/sbtest/sbtest1 && head -3 {}/sbtest/sbtest1/rows.csv && ls {}/at",
        mnt.display(),
        mnt.display(),
        mnt.display()
    )?;
    writeln!(out, "     brfs umount {}", mnt.display())?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The CSV dump of `db.table` at `ts` and its number of rows.
pub(super) async fn dump_bytes(
    c: &ClusterClient,
    db: &str,
    table: &str,
    ts: u64,
) -> anyhow::Result<(Vec<u8>, u64)> {
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct W(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (rows, _) = tables::dump(c, db, table, ts, Box::new(W(buf.clone()))).await?;
    let v = buf.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok((v, rows))
}
