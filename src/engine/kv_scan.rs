//! Walking one backup range's `write` and `default` SSTs together, MVCC-resolving them
//! (MVCC-17, DATA-4): every write record is paired with its default-CF value when it has no
//! short value, and each backed-up KV is handed out with its raw key and user value, accounted
//! to the file CSUM-2 says (default file when the value lives there, else the write file).
//! This is what `verify --level kv` and the demo recompute against backupmeta.

use crate::codec::mvcc::{decode_data_key, encode_data_key_to};
use crate::codec::write::{WriteRef, WriteType};
use crate::format::checksum::Checksum;
use crate::format::sst::SstReader;
use crate::format::{FormatError, Result};

/// One backed-up KV as BR accounts it.
#[derive(Debug, Clone, Copy)]
pub struct BackedUpKv<'a> {
    /// The raw TiDB key (no `z`, no ts).
    pub raw_key: &'a [u8],
    pub commit_ts: u64,
    pub start_ts: u64,
    pub write_type: WriteType,
    /// The user value: short value, default-CF value, or empty for a Delete.
    pub value: &'a [u8],
    /// True when the value came from the default CF.
    pub from_default: bool,
}

/// What a pair of files adds up to (CSUM-2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairChecksums {
    pub write: Checksum,
    pub default: Checksum,
    /// Entries in the default SST that no write record referenced.
    pub unreferenced_default: u64,
}

/// Walks a range's SSTs (plaintext bytes). `visit` sees every backed-up KV in key order.
/// Names are for messages only.
pub fn walk_pair(
    write: (&str, &[u8]),
    default: Option<(&str, &[u8])>,
    visit: impl FnMut(&BackedUpKv<'_>) -> Result<()>,
) -> Result<PairChecksums> {
    walk_pair_with(write, default, true, visit)
}

/// [`walk_pair`], computing the CSUM-2 aggregates only when `checksums` (readers that only
/// want the KVs, like archive views, skip the CRC-64 of every KV); `unreferenced_default` is
/// counted either way.
pub fn walk_pair_with(
    write: (&str, &[u8]),
    default: Option<(&str, &[u8])>,
    checksums: bool,
    mut visit: impl FnMut(&BackedUpKv<'_>) -> Result<()>,
) -> Result<PairChecksums> {
    let (wname, wbytes) = write;
    let wreader = SstReader::open(wbytes).map_err(|e| e.in_file(wname))?;
    let dreader = match default {
        Some((dname, dbytes)) => Some((
            dname,
            SstReader::open(dbytes).map_err(|e| e.in_file(dname))?,
        )),
        None => None,
    };
    let mut dscan = dreader.as_ref().map(|(n, r)| (*n, r.scan()));
    // The current default entry (key with `z` and ts, value), copied out of the cursor.
    let (mut dkey, mut dval, mut dvalid) = (Vec::new(), Vec::new(), false);
    let mut sums = PairChecksums::default();
    let mut wscan = wreader.scan();
    let mut target = Vec::new();
    while let Some(e) = wscan.next_entry().map_err(|e| e.in_file(wname))? {
        let (raw, commit_ts) = decode_data_key(e.user_key)
            .map_err(|err| FormatError::from(err).in_file(wname).rule("DATA-5"))?;
        let w = WriteRef::parse(e.value)
            .map_err(|err| FormatError::from(err).in_file(wname).rule("MVCC-6"))?;
        let (value, from_default): (&[u8], bool) = match (w.write_type, w.short_value) {
            (WriteType::Put, Some(v)) => (v, false),
            (WriteType::Put, None) => {
                let Some((dname, scan)) = dscan.as_mut() else {
                    return Err(FormatError::invalid(
                        "DATA-1",
                        "write record",
                        format!(
                            "key {} needs a default-CF value but the range has no default file",
                            hex::encode(&raw)
                        ),
                    )
                    .in_file(wname));
                };
                target.clear();
                encode_data_key_to(&mut target, &raw, w.start_ts);
                // Both files are sorted by (key asc, ts desc): advance to the target.
                while !dvalid || dkey < target {
                    match scan.next_entry().map_err(|e| e.in_file(*dname))? {
                        Some(d) => {
                            if dvalid {
                                sums.unreferenced_default += 1;
                            }
                            dkey.clear();
                            dkey.extend_from_slice(d.user_key);
                            dval.clear();
                            dval.extend_from_slice(d.value);
                            dvalid = true;
                        }
                        None => {
                            dvalid = false;
                            break;
                        }
                    }
                }
                if !dvalid || dkey != target {
                    return Err(FormatError::invalid(
                        "DATA-4",
                        "default CF",
                        format!(
                            "no value for key {} start_ts {} referenced by the write file {wname}",
                            hex::encode(&raw),
                            w.start_ts
                        ),
                    )
                    .in_file(*dname));
                }
                dvalid = false; // consumed
                (dval.as_slice(), true)
            }
            (WriteType::Delete, _) => (&[][..], false),
            (t, _) => {
                return Err(FormatError::invalid(
                    "DATA-4",
                    "write record",
                    format!(
                        "{t:?} record for key {} in a backup file",
                        hex::encode(&raw)
                    ),
                )
                .in_file(wname))
            }
        };
        let kv = BackedUpKv {
            raw_key: &raw,
            commit_ts,
            start_ts: w.start_ts,
            write_type: w.write_type,
            value,
            from_default,
        };
        if checksums {
            if from_default {
                sums.default.update(&raw, value);
            } else {
                sums.write.update(&raw, value);
            }
        }
        visit(&kv)?;
    }
    if let Some((dname, scan)) = dscan.as_mut() {
        while scan.next_entry().map_err(|e| e.in_file(*dname))?.is_some() {
            sums.unreferenced_default += 1;
        }
    }
    Ok(sums)
}
