//! The data levels of a snapshot audit. `file` (VERIFY-FILE-1): the SHA-256 of every data
//! file's stored bytes against `File.sha256` (CSUM-7). `kv` (VERIFY-KV-*): each range's write
//! and default SSTs are decrypted, read with brkit's SST reader and MVCC-resolved together
//! ([`crate::engine::kv_scan::walk_pair`]); every key must lie in the file's range, the
//! per-file aggregates are recomputed as TiKV accounts them (CSUM-2) and summed per table
//! against the Schema checksum (CSUM-3), and every record is decoded with the table's schema.
//! Files are read `--concurrency` at a time (memory-mapped on `local://`); the CPU work runs
//! on blocking threads.

use super::finding::{checksum_text, Finding};
use super::hashing::sha256;
use super::{unreadable, Level, Subset, VerifyOptions, VerifyProgress, VerifyReport};
use crate::archive::catalog::TableEntry;
use crate::archive::snapshot::SnapshotArchive;
use crate::codec::model::TableInfo;
use crate::codec::row::RowDecoder;
use crate::codec::table::{classify, KeyKind};
use crate::engine::kv_scan::walk_pair;
use crate::engine::{EngineError, Result};
use crate::format::backupmeta::DataFile;
use crate::format::checksum::Checksum;
use crate::format::crypto::Cipher;
use crate::format::naming::snapshot::Cf;
use crate::storage::local_map::LocalMap;
use crate::storage::Storage;
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// One table to check: its catalog entry and its slot in `report.tables`.
pub(super) struct TableWork {
    pub result: usize,
    pub name: String,
    pub entry: TableEntry,
}

/// One unit of data work: a single file (`file` level) or a range's pair (`kv` level), as
/// indexes into the archive's files (copied only when the unit runs, so memory stays flat).
struct UnitRef {
    table: usize,
    write: usize,
    default: Option<usize>,
}

/// A unit about to run, with its own copies of the file entries.
struct Unit {
    write: DataFile,
    default: Option<DataFile>,
}

/// A range's (write, default) file indexes.
type PairSlots = (Option<usize>, Option<usize>);

/// What one unit found.
#[derive(Default)]
struct UnitOutcome {
    findings: Vec<Finding>,
    /// `None` when the pair could not be read to the end (its sums are unknown).
    sums: Option<Checksum>,
    rows: u64,
    undecodable_rows: u64,
    bytes: u64,
}

/// The stored bytes of a data file: memory-mapped when local, else read whole.
async fn stored_bytes(storage: &dyn Storage, name: &str) -> Result<Bytes> {
    if let Some(map) = LocalMap::open_object(storage, name).map_err(unreadable)? {
        return Ok(map.into_bytes());
    }
    storage.read(name).await.map_err(unreadable)
}

/// CSUM-7: a finding when the stored bytes do not hash to `File.sha256`.
fn check_sha(f: &DataFile, stored: &[u8], table: &str) -> Option<Finding> {
    let actual = sha256(stored);
    (actual.as_slice() != f.sha256.as_slice()).then(|| {
        Finding::error(
            "sha256-mismatch",
            "CSUM-7",
            "the stored bytes do not hash to File.sha256",
        )
        .file(&f.name)
        .table(table)
        .expected_actual(hex::encode(&f.sha256), hex::encode(actual))
    })
}

/// The plaintext of a data file (CRYPT-5).
fn plaintext(
    f: &DataFile,
    stored: Bytes,
    cipher: &Cipher,
) -> std::result::Result<Bytes, Box<Finding>> {
    if !cipher.is_encrypted() {
        return Ok(stored);
    }
    let mut plain = stored.to_vec();
    cipher.apply(&f.cipher_iv, &mut plain).map_err(|e| {
        Box::new(
            Finding::error("undecryptable", e.rule.unwrap_or("CRYPT-5"), e.to_string())
                .file(&f.name),
        )
    })?;
    Ok(Bytes::from(plain))
}

/// True when `key` lies in the file's `[start_key, end_key)` (DATA-2; empty end = unbounded).
fn in_range(f: &DataFile, key: &[u8]) -> bool {
    key >= f.start_key.as_slice() && (f.end_key.is_empty() || key < f.end_key.as_slice())
}

/// `kv` level for one range pair (blocking: SST decoding and hashing).
fn check_pair(
    unit: &Unit,
    stored: (Bytes, Option<Bytes>),
    table: &str,
    info: &TableInfo,
    cipher: &Cipher,
) -> UnitOutcome {
    let mut out = UnitOutcome::default();
    let (wstored, dstored) = stored;
    out.bytes = wstored.len() as u64 + dstored.as_ref().map_or(0, |d| d.len() as u64);
    out.findings.extend(check_sha(&unit.write, &wstored, table));
    if let (Some(d), Some(b)) = (&unit.default, &dstored) {
        out.findings.extend(check_sha(d, b, table));
    }
    let wplain = match plaintext(&unit.write, wstored, cipher) {
        Ok(p) => p,
        Err(f) => {
            out.findings.push(f.table(table));
            return out;
        }
    };
    let dplain = match (&unit.default, dstored) {
        (Some(d), Some(b)) => match plaintext(d, b, cipher) {
            Ok(p) => Some((d, p)),
            Err(f) => {
                out.findings.push(f.table(table));
                return out;
            }
        },
        _ => None,
    };
    let decoder = match RowDecoder::new(info) {
        Ok(d) => Some(d),
        Err(e) => {
            out.findings.push(
                Finding::error(
                    "schema-undecodable",
                    "META-SCHEMA-1",
                    format!("no row decoder for the table's TableInfo: {e}"),
                )
                .table(table),
            );
            None
        }
    };
    let mut out_of_range: Option<(Vec<u8>, &str)> = None;
    let mut first_bad_row: Option<Vec<u8>> = None;
    let (mut rows, mut bad_rows) = (0u64, 0u64);
    let walked = walk_pair(
        (&unit.write.name, &wplain),
        dplain.as_ref().map(|(d, b)| (d.name.as_str(), &b[..])),
        |kv| {
            let file = if kv.from_default {
                unit.default.as_ref().unwrap_or(&unit.write)
            } else {
                &unit.write
            };
            if out_of_range.is_none() && !in_range(file, kv.raw_key) {
                out_of_range = Some((kv.raw_key.to_vec(), file.name.as_str()));
            }
            if let (KeyKind::Record { handle, .. }, Some(dec)) = (classify(kv.raw_key), &decoder) {
                rows += 1;
                if dec.decode(&handle, kv.value).is_err() {
                    bad_rows += 1;
                    first_bad_row.get_or_insert_with(|| kv.raw_key.to_vec());
                }
            }
            Ok(())
        },
    );
    out.rows = rows;
    out.undecodable_rows = bad_rows;
    if let Some((key, file)) = out_of_range {
        let f = if file == unit.write.name {
            &unit.write
        } else {
            unit.default.as_ref().unwrap_or(&unit.write)
        };
        out.findings.push(
            Finding::error(
                "key-out-of-range",
                "DATA-2",
                format!(
                    "holds key {} outside its range [{}, {}): the file's data belongs elsewhere",
                    hex::encode(&key),
                    hex::encode(&f.start_key),
                    hex::encode(&f.end_key)
                ),
            )
            .file(file)
            .table(table),
        );
    }
    if let Some(key) = first_bad_row {
        out.findings.push(
            Finding::error(
                "undecodable-row",
                "VERIFY-KV-3",
                format!(
                    "{bad_rows} of {rows} rows do not decode with the table's schema (first key {})",
                    hex::encode(key)
                ),
            )
            .file(&unit.write.name)
            .table(table),
        );
    }
    match walked {
        Err(e) => {
            let file = e.file.clone().unwrap_or_else(|| unit.write.name.clone());
            out.findings.push(
                Finding::error("sst-undecodable", e.rule.unwrap_or("SST-3"), e.to_string())
                    .file(file)
                    .table(table),
            );
        }
        Ok(sums) => {
            let mut total = Checksum::default();
            let mut per_file = vec![(&unit.write, sums.write)];
            per_file.extend(unit.default.as_ref().map(|d| (d, sums.default)));
            for (f, actual) in per_file {
                total.merge(&actual);
                if actual != f.checksum {
                    out.findings.push(
                        Finding::error(
                            "file-checksum-mismatch",
                            "CSUM-2",
                            "the KVs in the file do not add up to its File entry",
                        )
                        .file(&f.name)
                        .table(table)
                        .expected_actual(checksum_text(&f.checksum), checksum_text(&actual)),
                    );
                }
            }
            if sums.unreferenced_default > 0 {
                out.findings.push(
                    Finding::error(
                        "unreferenced-default-kvs",
                        "DATA-4",
                        format!(
                            "{} default-CF entries no write record references",
                            sums.unreferenced_default
                        ),
                    )
                    .file(unit.default.as_ref().map_or(&unit.write.name, |d| &d.name))
                    .table(table),
                );
            }
            out.sums = Some(total);
        }
    }
    out
}

/// Runs one unit: reads its files, then checks them on a blocking thread.
async fn run_unit(
    storage: &dyn Storage,
    unit: Unit,
    table: String,
    info: Option<Arc<TableInfo>>,
    level: Level,
    cipher: Cipher,
) -> Result<UnitOutcome> {
    let wstored = stored_bytes(storage, &unit.write.name).await?;
    let dstored = match &unit.default {
        Some(d) => Some(stored_bytes(storage, &d.name).await?),
        None => None,
    };
    tokio::task::spawn_blocking(move || match (level, info) {
        (Level::Kv, Some(info)) => check_pair(&unit, (wstored, dstored), &table, &info, &cipher),
        _ => UnitOutcome {
            bytes: wstored.len() as u64,
            findings: check_sha(&unit.write, &wstored, &table)
                .into_iter()
                .collect(),
            ..UnitOutcome::default()
        },
    })
    .await
    .map_err(|e| EngineError::Backup(format!("verify worker panicked: {e}")))
}

/// Splits the tables' files into units; a unit is left out when the subset skips it or one
/// of its files cannot be read (that is already a finding). Returns the units and, per
/// table, whether every one of its pairs is included.
fn plan_units(
    archive: &SnapshotArchive,
    work: &[TableWork],
    readable: &HashSet<usize>,
    level: Level,
    subset: &Subset,
) -> (Vec<UnitRef>, Vec<bool>) {
    let mut units = Vec::new();
    let mut whole = vec![true; work.len()];
    for (ti, w) in work.iter().enumerate() {
        if level == Level::File {
            for &i in &w.entry.files {
                let f = &archive.files[i];
                if !readable.contains(&i) || !subset.contains(&f.name) {
                    whole[ti] = false;
                    continue;
                }
                units.push(UnitRef {
                    table: ti,
                    write: i,
                    default: None,
                });
            }
            continue;
        }
        // DATA-6: a range's files share their bounds.
        let mut pairs: BTreeMap<(&[u8], &[u8]), PairSlots> = BTreeMap::new();
        for &i in &w.entry.files {
            let f = &archive.files[i];
            let slot = pairs
                .entry((f.start_key.as_slice(), f.end_key.as_slice()))
                .or_default();
            match f.cf {
                Cf::Write => slot.0 = Some(i),
                Cf::Default => slot.1 = Some(i),
                Cf::Lock => {}
            }
        }
        for (wi, di) in pairs.into_values() {
            let Some(wi) = wi else {
                whole[ti] = false; // reported as default-without-write
                continue;
            };
            let ok = readable.contains(&wi) && di.is_none_or(|d| readable.contains(&d));
            if !ok || !subset.contains(&archive.files[wi].name) {
                whole[ti] = false;
                continue;
            }
            units.push(UnitRef {
                table: ti,
                write: wi,
                default: di,
            });
        }
    }
    (units, whole)
}

/// The `file` and `kv` levels over the tables in `work`.
pub(super) async fn verify_data(
    storage: &dyn Storage,
    archive: &SnapshotArchive,
    mut work: Vec<TableWork>,
    readable: &HashSet<usize>,
    opts: &VerifyOptions,
    progress: &dyn VerifyProgress,
    report: &mut VerifyReport,
) -> Result<()> {
    let (mut units, whole) = plan_units(archive, &work, readable, opts.level, &opts.subset);
    let size = |i: usize| archive.files[i].size;
    // Largest first: the big ranges start at once and the small ones fill the gaps, so both
    // cores stay busy to the end (longest-processing-time-first scheduling).
    units.sort_by_key(|u| std::cmp::Reverse(size(u.write) + u.default.map_or(0, size)));
    let total_bytes: u64 = units
        .iter()
        .map(|u| size(u.write) + u.default.map_or(0, size))
        .sum();
    let total_files: u64 = units
        .iter()
        .map(|u| 1 + u64::from(u.default.is_some()))
        .sum();
    progress.start(total_files, total_bytes);
    // Moved out of the catalog entries: one TableInfo per table in memory.
    let infos: Vec<Option<Arc<TableInfo>>> = work
        .iter_mut()
        .map(|w| w.entry.info.take().map(Arc::new))
        .collect();
    let mut sums: Vec<Option<Checksum>> = vec![Some(Checksum::default()); work.len()];
    let first_data_finding = report.findings.len();
    let mut outcomes = stream::iter(units.into_iter().map(|u| {
        let ti = u.table;
        let files = 1 + u64::from(u.default.is_some());
        let unit = Unit {
            write: archive.files[u.write].clone(),
            default: u.default.map(|d| archive.files[d].clone()),
        };
        let fut = run_unit(
            storage,
            unit,
            work[ti].name.clone(),
            infos[ti].clone(),
            opts.level,
            opts.cipher.clone(),
        );
        async move { (ti, files, fut.await) }
    }))
    .buffer_unordered(opts.concurrency.max(1));
    while let Some((ti, files, outcome)) = outcomes.next().await {
        let o = outcome?;
        report.files_read += files;
        report.bytes_read += o.bytes;
        progress.file_done(o.bytes);
        let t = &mut report.tables[work[ti].result];
        t.rows += o.rows;
        t.undecodable_rows += o.undecodable_rows;
        sums[ti] = match (sums[ti], o.sums) {
            (Some(mut acc), Some(s)) => {
                acc.merge(&s);
                Some(acc)
            }
            _ => None,
        };
        report.findings.extend(o.findings);
    }
    drop(outcomes);
    progress.finish();
    // Units finish in any order; findings are reported in a stable one.
    report.findings[first_data_finding..]
        .sort_by(|a, b| (&a.table, &a.file, a.kind).cmp(&(&b.table, &b.file, b.kind)));
    if opts.level < Level::Kv {
        return Ok(());
    }
    for (ti, w) in work.iter().enumerate() {
        let Some(sum) = sums[ti].filter(|_| whole[ti]) else {
            continue; // part of the table was skipped or unreadable: no table total
        };
        report.tables[w.result].recomputed = Some(sum);
        // CSUM-5: all zeros = checksums were off at backup time.
        if !w.entry.checksum.is_zero() && sum != w.entry.checksum {
            report.push(
                Finding::error(
                    "table-checksum-mismatch",
                    "CSUM-3",
                    "the table's data does not add up to its Schema checksum (ADMIN CHECKSUM TABLE at backup time)",
                )
                .table(&w.name)
                .expected_actual(checksum_text(&w.entry.checksum), checksum_text(&sum)),
            );
        }
    }
    Ok(())
}
