//! Verifying a snapshot archive's metadata (`--level meta`, VERIFY-META-*): the root and every
//! metafile decode and match their pointers, every referenced object exists with its recorded
//! size and a name that parses, no stray `.sst` objects, every data file belongs to a table of
//! the schema, each table's ranges are covered without overlap (and without unexplained gaps),
//! and FastChecksum (CSUM-8) holds. Then hands the data files to [`super::data`] for the
//! `file` and `kv` levels. Reading is tolerant: a broken metafile is a finding and the rest of
//! the archive is still checked.

use super::data::{verify_data, TableWork};
use super::finding::{checksum_text, Finding, TableResult};
use super::{unreadable, Level, VerifyOptions, VerifyProgress, VerifyReport};
use crate::archive::catalog::{catalog, TableEntry};
use crate::archive::snapshot::SnapshotArchive;
use crate::engine::ranges::table_ranges;
use crate::engine::{EngineError, Result};
use crate::format::backupmeta::{
    decode_backupmeta, decode_metafile, BackupMeta, DataFile, MetaPointer,
};
use crate::format::checksum::Checksum;
use crate::format::naming::check_relative_name;
use crate::format::naming::snapshot::{
    parse_metafile_name, parse_sst_name, Cf, BACKUPMETA, CHECKPOINT_DATA_DIR,
};
use crate::format::FormatError;
use crate::format::FormatErrorKind;
use crate::storage::{Storage, StorageErrorKind};
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many metafiles are read at once.
const METAFILE_READ_CONCURRENCY: usize = 8;

/// Maps a metafile decoding error to a finding kind (VERIFY-META-2).
fn metafile_finding(p: &MetaPointer, e: &FormatError) -> Finding {
    let (kind, rule) = match &e.kind {
        FormatErrorKind::Mismatch { what, .. } if what.contains("SHA-256") => {
            ("metafile-sha256-mismatch", "META-V2-3")
        }
        FormatErrorKind::Mismatch { .. } => ("metafile-size-mismatch", "META-V2-3"),
        _ => ("metafile-undecodable", e.rule.unwrap_or("META-V2-3")),
    };
    let mut f = Finding::error(kind, rule, e.to_string()).file(&p.name);
    if let FormatErrorKind::Mismatch {
        expected, actual, ..
    } = &e.kind
    {
        f = f.expected_actual(expected, actual);
    }
    f
}

/// Reads the root (VERIFY-META-1). `Ok(None)` when the root is a finding and nothing more can
/// be checked; `Err` when verification is impossible (a wrong key).
fn decode_root(
    storage: &dyn Storage,
    root: &[u8],
    opts: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<Option<BackupMeta>> {
    match decode_backupmeta(root, &opts.cipher) {
        Ok(m) => Ok(Some(m)),
        Err(e) => {
            if let FormatErrorKind::UnknownVersion { value, known, .. } = &e.kind {
                report.push(
                    Finding::error("unknown-version", e.rule.unwrap_or("META-1"), e.to_string())
                        .file(BACKUPMETA)
                        .expected_actual(known, value),
                );
                return Ok(None);
            }
            if opts.cipher.is_encrypted() {
                // CTR has no integrity: an undecodable root under a key is a wrong key
                // (or method) far more often than a damaged root. Either way, nothing
                // behind it can be read: could not verify.
                return Err(EngineError::BadOption {
                    flag: "--crypter.key",
                    detail: format!(
                        "{}: backupmeta does not decode with this key and method ({e}); \
                         check --crypter.method and --crypter.key",
                        storage.display_url()
                    ),
                });
            }
            report.push(
                Finding::error(
                    "backupmeta-undecodable",
                    e.rule.unwrap_or("META-1"),
                    format!("{e} (if the archive is encrypted, pass --crypter.method and --crypter.key)"),
                )
                .file(BACKUPMETA),
            );
            Ok(None)
        }
    }
}

/// Reads every leaf metafile, turning each failure into a finding (VERIFY-META-2), and
/// collects what decoded into a [`SnapshotArchive`].
async fn open_tolerant(
    storage: &dyn Storage,
    meta: BackupMeta,
    opts: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<SnapshotArchive> {
    let pointers: Vec<MetaPointer> = meta
        .file_index
        .iter()
        .chain(&meta.schema_index)
        .chain(&meta.ddl_index)
        .cloned()
        .collect();
    let cipher = &opts.cipher;
    let results: Vec<_> = stream::iter(pointers.iter().map(|p| async move {
        if let Err(e) = check_relative_name(&p.name) {
            return Ok(Err(
                Finding::error("unsafe-name", "NAME-9", e.to_string()).file(&p.name)
            ));
        }
        match storage.read(&p.name).await {
            Ok(bytes) => {
                Ok(decode_metafile(&bytes, p, cipher).map_err(|e| metafile_finding(p, &e)))
            }
            Err(e) if e.kind == StorageErrorKind::NotFound => Ok(Err(Finding::error(
                "metafile-missing",
                "ORDER-2",
                "referenced by a backupmeta index but does not exist",
            )
            .file(&p.name))),
            Err(e) => Err(unreadable(e)),
        }
    }))
    .buffered(METAFILE_READ_CONCURRENCY)
    .collect()
    .await;
    let mut leaves = Vec::new();
    for r in results {
        match r? {
            Ok(leaf) => leaves.push(leaf),
            Err(f) => report.push(f),
        }
    }
    Ok(SnapshotArchive::assemble(meta, leaves, pointers))
}

/// Every referenced data file: safe name, parseable name, exists with its size
/// (VERIFY-META-3); stray `.sst` objects (VERIFY-META-4). Returns the indexes of files whose
/// bytes can be read.
fn check_objects(
    archive: &SnapshotArchive,
    listing: &HashMap<String, u64>,
    report: &mut VerifyReport,
) -> HashSet<usize> {
    let mut readable = HashSet::new();
    let mut referenced: HashSet<&str> = HashSet::new();
    for (i, f) in archive.files.iter().enumerate() {
        referenced.insert(&f.name);
        if let Err(e) = check_relative_name(&f.name) {
            report.push(Finding::error("unsafe-name", "NAME-9", e.to_string()).file(&f.name));
            continue;
        }
        if let Err(e) = parse_sst_name(&f.name) {
            report.push(
                Finding::error("bad-name", e.rule.unwrap_or("NAME-10"), e.to_string())
                    .file(&f.name),
            );
        }
        match listing.get(&f.name) {
            None => report.push(
                Finding::error(
                    "file-missing",
                    "ORDER-2",
                    "referenced by backupmeta but does not exist",
                )
                .file(&f.name),
            ),
            Some(&size) if size != f.size => report.push(
                Finding::error(
                    "file-size-mismatch",
                    "DATA-2",
                    "the stored object's length differs from File.size",
                )
                .file(&f.name)
                .expected_actual(f.size, size),
            ),
            Some(_) => {
                readable.insert(i);
            }
        }
    }
    for name in listing.keys() {
        if name.ends_with(".sst")
            && !referenced.contains(name.as_str())
            && !name.starts_with(CHECKPOINT_DATA_DIR)
        {
            report.push(
                Finding::warning(
                    "unreferenced-file",
                    "VERIFY-META-4",
                    "an .sst object no backupmeta entry references (left by a failed or retried backup?)",
                )
                .file(name),
            );
        }
    }
    readable
}

fn end_lt(a: &[u8], b: &[u8]) -> bool {
    // a < b where empty = +infinity
    !a.is_empty() && (b.is_empty() || a < b)
}

/// A hole `[from, to)` in a table's coverage that FastChecksum does not explain.
fn gap(from: &[u8], to: &[u8], table: &str) -> Finding {
    Finding::error(
        "range-gap",
        "VERIFY-META-5",
        format!(
            "no data file covers [{}, {}) and the table's FastChecksum does not hold",
            hex::encode(from),
            hex::encode(to)
        ),
    )
    .table(table)
}

/// Coverage of one table (VERIFY-META-5): its write files, clipped to each of the table's
/// ranges, must not overlap, and a gap is an error unless FastChecksum proves the table
/// complete (an empty region leaves no file, DATA-1). Default files need a write twin (DATA-6).
fn check_coverage(
    archive: &SnapshotArchive,
    entry: &TableEntry,
    name: &str,
    complete: bool,
    report: &mut VerifyReport,
) {
    let Some(info) = &entry.info else { return };
    let ranges = match table_ranges(info) {
        Ok(r) => r,
        Err(e) => {
            report.push(
                Finding::error("schema-undecodable", "META-SCHEMA-1", e.to_string()).table(name),
            );
            return;
        }
    };
    let files: Vec<&DataFile> = entry.files.iter().map(|&i| &archive.files[i]).collect();
    let write_bounds: HashSet<(&[u8], &[u8])> = files
        .iter()
        .filter(|f| f.cf == Cf::Write)
        .map(|f| (f.start_key.as_slice(), f.end_key.as_slice()))
        .collect();
    for f in files.iter().filter(|f| f.cf == Cf::Default) {
        if !write_bounds.contains(&(f.start_key.as_slice(), f.end_key.as_slice())) {
            report.push(
                Finding::error(
                    "default-without-write",
                    "DATA-6",
                    "a default-CF file whose range has no write-CF file",
                )
                .file(&f.name)
                .table(name),
            );
        }
    }
    let mut writes: Vec<&DataFile> = files.into_iter().filter(|f| f.cf == Cf::Write).collect();
    writes.sort_by(|a, b| a.start_key.cmp(&b.start_key));
    // A file must lie inside one of the table's ranges.
    for f in &writes {
        let inside = ranges.iter().any(|r| {
            f.start_key >= r.start
                && (r.end.is_empty() || (!f.end_key.is_empty() && f.end_key <= r.end))
        });
        if !inside {
            report.push(
                Finding::error(
                    "file-outside-table-ranges",
                    "VERIFY-META-5",
                    format!(
                        "[{}, {}) is not inside a record or index range of the table",
                        hex::encode(&f.start_key),
                        hex::encode(&f.end_key)
                    ),
                )
                .file(&f.name)
                .table(name),
            );
        }
    }
    for r in &ranges {
        let in_range: Vec<&&DataFile> = writes
            .iter()
            .filter(|f| f.start_key >= r.start && (r.end.is_empty() || f.start_key < r.end))
            .collect();
        if in_range.is_empty() {
            continue; // an empty range has no files at all (DATA-1)
        }
        let mut cursor: &[u8] = &r.start;
        let mut prev: Option<&DataFile> = None;
        for f in in_range {
            if f.start_key.as_slice() < cursor {
                report.push(
                    Finding::error(
                        "range-overlap",
                        "VERIFY-META-5",
                        format!(
                            "starts at {} inside the previous file {}, which ends at {}",
                            hex::encode(&f.start_key),
                            prev.map_or("", |p| p.name.as_str()),
                            hex::encode(cursor)
                        ),
                    )
                    .file(&f.name)
                    .table(name),
                );
            } else if f.start_key.as_slice() > cursor && !complete {
                report.push(gap(cursor, &f.start_key, name).file(&f.name));
            }
            if end_lt(cursor, &f.end_key) || f.end_key.is_empty() {
                cursor = &f.end_key;
            }
            prev = Some(f);
            if cursor.is_empty() {
                break;
            }
        }
        if !complete && !cursor.is_empty() && end_lt(cursor, &r.end) {
            report.push(gap(cursor, &r.end, name));
        }
    }
}

/// `db.table` of an entry.
pub(super) fn table_name(e: &TableEntry) -> String {
    format!("{}.{}", e.db, e.table.as_deref().unwrap_or(""))
}

/// Verifies a snapshot archive whose root bytes are `root` (`None`: no `backupmeta`).
pub async fn verify_snapshot(
    storage: &dyn Storage,
    root: Option<&[u8]>,
    opts: &VerifyOptions,
    progress: &dyn VerifyProgress,
    report: &mut VerifyReport,
) -> Result<()> {
    let listing: HashMap<String, u64> = storage
        .list("")
        .await
        .map_err(unreadable)?
        .into_iter()
        .map(|o| (o.name, o.size))
        .collect();
    let Some(root) = root else {
        if listing.is_empty() {
            return Err(EngineError::BadOption {
                flag: "-s/--storage",
                detail: format!(
                    "{}: no archive here (no backupmeta, no log metadata, no objects)",
                    storage.display_url()
                ),
            });
        }
        report.push(
            Finding::error(
                "backupmeta-missing",
                "ORDER-2",
                "objects exist but backupmeta does not: a backup that did not finish, or not an archive",
            )
            .file(BACKUPMETA),
        );
        return Ok(());
    };
    let Some(meta) = decode_root(storage, root, opts, report)? else {
        return Ok(());
    };
    if meta.end_version == 0 {
        report.push(
            Finding::error(
                "log-root-without-metas",
                "LAYOUT-3",
                "backupmeta has end_version 0 (a log archive's root) but v1/backupmeta/ holds no .meta",
            )
            .file(BACKUPMETA),
        );
        return Ok(());
    }
    if !meta.unknown_fields.is_empty() {
        report.push(
            Finding::warning(
                "unknown-fields",
                "META-3",
                format!(
                    "backupmeta has fields this brkit does not know: {:?}",
                    meta.unknown_fields
                ),
            )
            .file(BACKUPMETA),
        );
    }
    let mut archive = open_tolerant(storage, meta, opts, report).await?;
    for p in &archive.metafiles {
        if let (Ok(()), Err(e)) = (check_relative_name(&p.name), parse_metafile_name(&p.name)) {
            // BR reads a pointer whatever the leaf is called: an odd name is a warning.
            report.push(
                Finding::warning("bad-name", e.rule.unwrap_or("NAME-6"), e.to_string())
                    .file(&p.name),
            );
        }
    }
    let readable = check_objects(&archive, &listing, report);
    let (entries, orphans) = match catalog(&archive) {
        Ok(c) => c,
        Err(e) => {
            report.push(
                Finding::error(
                    "schema-undecodable",
                    e.rule.unwrap_or("META-SCHEMA-1"),
                    e.to_string(),
                )
                .file(BACKUPMETA),
            );
            return Ok(());
        }
    };
    for &i in &orphans {
        let f = &archive.files[i];
        report.push(
            Finding::error(
                "file-without-table",
                "DATA-3",
                format!(
                    "its start key {} names no table of the archive's schema",
                    hex::encode(&f.start_key)
                ),
            )
            .file(&f.name),
        );
    }
    // The schema JSON is decoded into the catalog now; keep only one copy in memory.
    archive.schemas = Vec::new();
    let mut work = Vec::new();
    for entry in entries.into_iter().filter(|e| e.info.is_some()) {
        let name = table_name(&entry);
        if let Some(filter) = &opts.filter {
            if !filter.matches_table(&entry.db, entry.table.as_deref().unwrap_or("")) {
                continue;
            }
        }
        let mut from_files = Checksum::default();
        let mut bytes = 0;
        for &i in &entry.files {
            from_files.merge(&archive.files[i].checksum);
            bytes += archive.files[i].size;
        }
        // CSUM-5: all zeros means BR ran with checksums off; nothing to compare.
        let complete = !entry.checksum.is_zero() && entry.checksum == from_files;
        if !entry.checksum.is_zero() && entry.checksum != from_files {
            report.push(
                Finding::error(
                    "fast-checksum-mismatch",
                    "CSUM-8",
                    "the table's File entries do not add up to its Schema checksum",
                )
                .table(&name)
                .expected_actual(checksum_text(&entry.checksum), checksum_text(&from_files)),
            );
        }
        check_coverage(&archive, &entry, &name, complete, report);
        report.tables.push(TableResult {
            db: entry.db.clone(),
            table: entry.table.clone().unwrap_or_default(),
            files: entry.files.len(),
            bytes,
            expected: entry.checksum,
            from_files,
            recomputed: None,
            rows: 0,
            undecodable_rows: 0,
            errors: 0,
        });
        work.push(TableWork {
            result: report.tables.len() - 1,
            name,
            entry,
        });
    }
    if opts.level >= Level::File {
        verify_data(storage, &archive, work, &readable, opts, progress, report).await?;
    }
    count_table_errors(report);
    Ok(())
}

/// Fills `TableResult::errors` from the findings that name each table.
fn count_table_errors(report: &mut VerifyReport) {
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for f in &report.findings {
        if let (Some(t), super::Severity::Error) = (&f.table, f.severity) {
            *per.entry(t.clone()).or_default() += 1;
        }
    }
    for t in &mut report.tables {
        t.errors = per
            .get(&format!("{}.{}", t.db, t.table))
            .copied()
            .unwrap_or(0);
    }
}
