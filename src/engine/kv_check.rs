//! Recomputing a snapshot archive's checksums from the SST data itself (CSUM-2, CSUM-3,
//! CSUM-7): for every table, every range's files are read, their stored SHA-256 checked,
//! decrypted, MVCC-resolved ([`super::kv_scan`]) and re-added; record KVs are decoded with the
//! table's schema (row format v1/v2). The demo prints the result; `verify --level kv` will
//! report it as findings.

use super::kv_scan::walk_pair;
use crate::archive::catalog::{catalog, TableEntry};
use crate::archive::snapshot::SnapshotArchive;
use crate::codec::model::TableInfo;
use crate::codec::row::{format_csv_field, RowDecoder};
use crate::codec::table::{classify, KeyKind};
use crate::format::backupmeta::DataFile;
use crate::format::checksum::Checksum;
use crate::format::crypto::Cipher;
use crate::format::naming::snapshot::Cf;
use crate::format::FormatError;
use crate::storage::Storage;
use anyhow::{anyhow, Context};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A range's (write, default) files.
type RangeFiles<'a> = (Option<&'a DataFile>, Option<&'a DataFile>);

/// One data file: what backupmeta says and what the data gives.
#[derive(Debug, Clone)]
pub struct FileCheck {
    pub name: String,
    pub expected: Checksum,
    pub actual: Checksum,
    pub sha256_ok: bool,
}

/// One table: the Schema checksum against the re-derived one.
#[derive(Debug, Clone)]
pub struct TableCheck {
    pub db: String,
    pub table: String,
    pub expected: Checksum,
    pub actual: Checksum,
    pub files: Vec<FileCheck>,
    pub rows: u64,
    pub undecodable_rows: u64,
    /// The first rows as CSV lines (header first), for display.
    pub sample_csv: Vec<String>,
}

impl TableCheck {
    pub fn is_ok(&self) -> bool {
        self.undecodable_rows == 0
            && (self.expected.is_zero() || self.expected == self.actual)
            && self
                .files
                .iter()
                .all(|f| f.sha256_ok && f.expected == f.actual)
    }
}

/// The SST's plaintext (the stored bytes themselves when not encrypted) and whether the stored
/// bytes match the recorded SHA-256 (CSUM-7).
fn plain_bytes(f: &DataFile, stored: Bytes, cipher: &Cipher) -> anyhow::Result<(Bytes, bool)> {
    let sha_ok = Sha256::digest(&stored).as_slice() == f.sha256.as_slice();
    if !cipher.is_encrypted() {
        return Ok((stored, sha_ok));
    }
    let mut plain = stored.to_vec();
    cipher
        .apply(&f.cipher_iv, &mut plain)
        .map_err(|e| anyhow!(e.in_file(f.name.clone())))?;
    Ok((Bytes::from(plain), sha_ok))
}

/// Checks one table, keeping up to `sample_rows` decoded rows.
pub async fn check_table(
    storage: &dyn Storage,
    archive: &SnapshotArchive,
    entry: &TableEntry,
    info: &TableInfo,
    cipher: &Cipher,
    sample_rows: usize,
) -> anyhow::Result<TableCheck> {
    let decoder = RowDecoder::new(info).map_err(|e| anyhow!("table {}: {e}", info.name.o))?;
    let types: Vec<_> = decoder.field_types().cloned().collect();
    let mut check = TableCheck {
        db: entry.db.clone(),
        table: entry.table.clone().unwrap_or_default(),
        expected: entry.checksum,
        actual: Checksum::default(),
        files: Vec::new(),
        rows: 0,
        undecodable_rows: 0,
        sample_csv: vec![decoder.column_names().collect::<Vec<_>>().join(",")],
    };
    // Files of one range share their key bounds (DATA-1).
    let mut ranges: BTreeMap<(&[u8], &[u8]), RangeFiles<'_>> = BTreeMap::new();
    for &i in &entry.files {
        let f = &archive.files[i];
        let slot = ranges
            .entry((f.start_key.as_slice(), f.end_key.as_slice()))
            .or_default();
        match f.cf {
            Cf::Write => slot.0 = Some(f),
            Cf::Default => slot.1 = Some(f),
            Cf::Lock => {}
        }
    }
    for (write, default) in ranges.values() {
        let write = write.ok_or_else(|| {
            anyhow!(FormatError::invalid(
                "DATA-1",
                "range",
                "has a default file but no write file"
            ))
        })?;
        let (wplain, wsha) = plain_bytes(write, storage.read(&write.name).await?, cipher)?;
        let dplain = match default {
            Some(d) => Some((d, plain_bytes(d, storage.read(&d.name).await?, cipher)?)),
            None => None,
        };
        let sums = walk_pair(
            (&write.name, &wplain),
            dplain.as_ref().map(|(d, (b, _))| (d.name.as_str(), &b[..])),
            |kv| {
                if let KeyKind::Record { handle, .. } = classify(kv.raw_key) {
                    check.rows += 1;
                    match decoder.decode(&handle, kv.value) {
                        Ok(datums) => {
                            if check.sample_csv.len() <= sample_rows {
                                let line: Vec<String> = datums
                                    .iter()
                                    .zip(&types)
                                    .map(|(d, t)| match d {
                                        crate::codec::datum::Datum::Null => "\\N".to_string(),
                                        d => String::from_utf8_lossy(&format_csv_field(d, t))
                                            .into_owned(),
                                    })
                                    .collect();
                                check.sample_csv.push(line.join(","));
                            }
                        }
                        Err(_) => check.undecodable_rows += 1,
                    }
                }
                Ok(())
            },
        )
        .with_context(|| format!("reading range of {}", write.name))?;
        check.files.push(FileCheck {
            name: write.name.clone(),
            expected: write.checksum,
            actual: sums.write,
            sha256_ok: wsha,
        });
        check.actual.merge(&sums.write);
        if let Some((d, (_, dsha))) = &dplain {
            check.files.push(FileCheck {
                name: d.name.clone(),
                expected: d.checksum,
                actual: sums.default,
                sha256_ok: *dsha,
            });
            check.actual.merge(&sums.default);
        }
    }
    Ok(check)
}

/// Checks every table of the archive.
pub async fn check_archive(
    storage: &dyn Storage,
    archive: &SnapshotArchive,
    cipher: &Cipher,
    sample_rows: usize,
) -> anyhow::Result<Vec<TableCheck>> {
    let (tables, _) = catalog(archive)?;
    let mut out = Vec::new();
    for entry in &tables {
        let Some(info) = &entry.info else { continue };
        out.push(check_table(storage, archive, entry, info, cipher, sample_rows).await?);
    }
    Ok(out)
}
