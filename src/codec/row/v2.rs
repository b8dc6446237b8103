//! Row format v2 ("new row format", first byte 128): the layout, its validation, the per-type
//! value bytes, the optional row checksum, and an encoder (format/rows.md ROW-1 … ROW-7).

use crate::codec::datum::Datum;
use crate::codec::error::{take, CodecError, Result};
use crate::codec::number::encode_f64;

/// First byte of every v2 row (ROW-1).
pub const CODEC_VER: u8 = 128;
const FLAG_LARGE: u8 = 0x01;
const FLAG_CHECKSUM: u8 = 0x02;
const CHECKSUM_VERSION_MASK: u8 = 0b0111;
const CHECKSUM_FLAG_EXTRA: u8 = 0b1000;

/// The checksum trailer of a v2 row (ROW-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowChecksum {
    pub header: u8,
    pub value: u32,
    pub extra: Option<u32>,
}

impl RowChecksum {
    /// Checksum version: 0 legacy column-level, 1 raw bytes + row key, 2 raw bytes + handle.
    pub fn version(&self) -> u8 {
        self.header & CHECKSUM_VERSION_MASK
    }
}

/// What checksum verification concluded (ROW-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The row carries no checksum.
    Absent,
    /// The checksum matches.
    Verified,
    /// Version 0 (legacy, over typed column values) is not verified from bytes alone.
    Unverifiable,
}

/// Where a column stands in a v2 row (ROW-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    Value(&'a [u8]),
    Null,
    /// In neither list: the reader takes the handle or the column default.
    Absent,
}

/// A validated v2 row borrowing its input.
#[derive(Debug, Clone)]
pub struct RowV2<'a> {
    raw: &'a [u8],
    large: bool,
    not_null_ids: Vec<u32>,
    null_ids: Vec<u32>,
    /// End offsets of the not-null values in `data`.
    offsets: Vec<u32>,
    data: &'a [u8],
    /// Length of `raw` before the checksum trailer.
    body_len: usize,
    checksum: Option<RowChecksum>,
}

fn read_ids(input: &mut &[u8], n: usize, large: bool, what: &'static str) -> Result<Vec<u32>> {
    let w = if large { 4 } else { 1 };
    let b = take(input, n.saturating_mul(w), what)?;
    Ok(b.chunks_exact(w)
        .map(|c| match c {
            [x] => u32::from(*x),
            _ => u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
        })
        .collect())
}

fn read_offsets(input: &mut &[u8], n: usize, large: bool) -> Result<Vec<u32>> {
    let w = if large { 4 } else { 2 };
    let b = take(input, n * w, "row v2 offsets")?;
    Ok(b.chunks_exact(w)
        .map(|c| match c {
            [a, b] => u32::from(u16::from_le_bytes([*a, *b])),
            _ => u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
        })
        .collect())
}

fn strictly_ascending(ids: &[u32]) -> bool {
    ids.windows(2).all(|w| w[0] < w[1])
}

impl<'a> RowV2<'a> {
    /// Parses and validates a v2 row (ROW-1 … ROW-7). Never panics; every inconsistency is an
    /// error naming the field.
    pub fn decode(raw: &'a [u8]) -> Result<RowV2<'a>> {
        let mut cur = raw;
        let ver = take(&mut cur, 1, "row v2 version")?[0];
        if ver != CODEC_VER {
            return Err(CodecError::Unknown {
                what: "row v2 version",
                value: u64::from(ver),
            });
        }
        let flags = take(&mut cur, 1, "row v2 flags")?[0];
        if flags & !(FLAG_LARGE | FLAG_CHECKSUM) != 0 {
            return Err(CodecError::Unknown {
                what: "row v2 flags",
                value: u64::from(flags),
            });
        }
        let large = flags & FLAG_LARGE != 0;
        let counts = take(&mut cur, 4, "row v2 column counts")?;
        let n_not_null = usize::from(u16::from_le_bytes([counts[0], counts[1]]));
        let n_null = usize::from(u16::from_le_bytes([counts[2], counts[3]]));
        let not_null_ids = read_ids(&mut cur, n_not_null, large, "row v2 not-null column ids")?;
        let null_ids = read_ids(&mut cur, n_null, large, "row v2 null column ids")?;
        let offsets = read_offsets(&mut cur, n_not_null, large)?;
        // ROW-3: ids sorted ascending and unique within and across the two lists.
        if !strictly_ascending(&not_null_ids) {
            return Err(CodecError::invalid(
                "row v2 not-null column ids",
                "not strictly ascending (ROW-3)",
            ));
        }
        if !strictly_ascending(&null_ids) {
            return Err(CodecError::invalid(
                "row v2 null column ids",
                "not strictly ascending (ROW-3)",
            ));
        }
        if let Some(id) = null_ids
            .iter()
            .find(|id| not_null_ids.binary_search(id).is_ok())
        {
            return Err(CodecError::invalid(
                "row v2 null column ids",
                format!("column {id} is both null and not null (ROW-3)"),
            ));
        }
        // ROW-5: end offsets non-decreasing, the last one is the data length.
        if offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err(CodecError::invalid(
                "row v2 offsets",
                "offsets decrease (ROW-5)",
            ));
        }
        let data_len = offsets.last().copied().unwrap_or(0) as usize;
        let data = take(&mut cur, data_len, "row v2 data")?;
        let body_len = raw.len() - cur.len();
        let checksum = if flags & FLAG_CHECKSUM != 0 {
            let header = take(&mut cur, 1, "row v2 checksum header")?[0];
            let c = take(&mut cur, 4, "row v2 checksum")?;
            let value = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let extra = if header & CHECKSUM_FLAG_EXTRA != 0 {
                let e = take(&mut cur, 4, "row v2 extra checksum")?;
                Some(u32::from_le_bytes([e[0], e[1], e[2], e[3]]))
            } else {
                None
            };
            let cs = RowChecksum {
                header,
                value,
                extra,
            };
            if cs.version() > 2 || header & !(CHECKSUM_VERSION_MASK | CHECKSUM_FLAG_EXTRA) != 0 {
                return Err(CodecError::Unknown {
                    what: "row v2 checksum header",
                    value: u64::from(header),
                });
            }
            Some(cs)
        } else {
            None
        };
        if !cur.is_empty() {
            return Err(CodecError::invalid(
                "row v2 data",
                format!("{} bytes after the last value (ROW-5)", cur.len()),
            ));
        }
        Ok(RowV2 {
            raw,
            large,
            not_null_ids,
            null_ids,
            offsets,
            data,
            body_len,
            checksum,
        })
    }

    /// Whether the row uses 4-byte ids and offsets (ROW-2).
    pub fn is_large(&self) -> bool {
        self.large
    }

    /// The checksum trailer, if any.
    pub fn checksum(&self) -> Option<RowChecksum> {
        self.checksum
    }

    /// Ids of the NULL columns.
    pub fn null_ids(&self) -> &[u32] {
        &self.null_ids
    }

    /// Not-null columns in id order with their value bytes.
    pub fn values(&self) -> impl Iterator<Item = (u32, &'a [u8])> + '_ {
        self.not_null_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, self.value_at(i)))
    }

    fn value_at(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { self.offsets[i - 1] } as usize;
        let end = self.offsets[i] as usize;
        // decode() checked offsets are non-decreasing and end within `data`.
        &self.data[start..end]
    }

    /// Looks a column up by id (ROW-4).
    pub fn get(&self, col_id: i64) -> Slot<'a> {
        let Ok(id) = u32::try_from(col_id) else {
            return Slot::Absent;
        };
        if let Ok(i) = self.not_null_ids.binary_search(&id) {
            return Slot::Value(self.value_at(i));
        }
        if self.null_ids.binary_search(&id).is_ok() {
            return Slot::Null;
        }
        Slot::Absent
    }

    /// Verifies the checksum (ROW-7). `key` is the raw record key and `handle` the encoded
    /// handle (8-byte comparable int, or the common-handle datums). Version 1 was defined over
    /// the key in TiDB v8.3 and over the handle in some later builds, so either matching
    /// verifies it; version 2 is over the handle.
    pub fn verify_checksum(
        &self,
        key: Option<&[u8]>,
        handle: Option<&[u8]>,
    ) -> Result<ChecksumStatus> {
        let Some(cs) = self.checksum else {
            return Ok(ChecksumStatus::Absent);
        };
        let base = crc32_update(0, &self.raw[..self.body_len]);
        let base = crc32_update(base, &[cs.header]);
        let matches = |x: Option<&[u8]>| x.is_some_and(|x| crc32_update(base, x) == cs.value);
        match cs.version() {
            0 => Ok(ChecksumStatus::Unverifiable),
            1 if matches(key) || matches(handle) => Ok(ChecksumStatus::Verified),
            // Without the key a version-1 checksum written over the key cannot be checked.
            1 if key.is_none() => Ok(ChecksumStatus::Unverifiable),
            2 if handle.is_none() => Err(CodecError::invalid(
                "row v2 checksum",
                "version 2 needs the row handle to verify",
            )),
            2 if matches(handle) => Ok(ChecksumStatus::Verified),
            _ => Err(CodecError::invalid(
                "row v2 checksum",
                format!("stored {:#010x} does not match the row (ROW-7)", cs.value),
            )),
        }
    }
}

/// CRC-32/IEEE (the Go `crc32.IEEETable` checksum) continuing from `crc`.
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !crc;
    for b in data {
        c = TABLE[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// Shortest little-endian two's complement of 1, 2, 4 or 8 bytes (ROW-6).
pub fn encode_int(out: &mut Vec<u8>, v: i64) {
    if let Ok(x) = i8::try_from(v) {
        out.push(x as u8);
    } else if let Ok(x) = i16::try_from(v) {
        out.extend_from_slice(&x.to_le_bytes());
    } else if let Ok(x) = i32::try_from(v) {
        out.extend_from_slice(&x.to_le_bytes());
    } else {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Shortest little-endian unsigned of 1, 2, 4 or 8 bytes (ROW-6).
pub fn encode_uint(out: &mut Vec<u8>, v: u64) {
    if let Ok(x) = u8::try_from(v) {
        out.push(x);
    } else if let Ok(x) = u16::try_from(v) {
        out.extend_from_slice(&x.to_le_bytes());
    } else if let Ok(x) = u32::try_from(v) {
        out.extend_from_slice(&x.to_le_bytes());
    } else {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Sign-extends a 1/2/4/8-byte little-endian value (ROW-6).
pub fn decode_int(b: &[u8]) -> Result<i64> {
    Ok(match b.len() {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        n => return Err(bad_int_len(n)),
    })
}

/// Zero-extends a 1/2/4/8-byte little-endian value (ROW-6).
pub fn decode_uint(b: &[u8]) -> Result<u64> {
    Ok(match b.len() {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_le_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => u64::from_le_bytes(b.try_into().expect("8 bytes")),
        n => return Err(bad_int_len(n)),
    })
}

fn bad_int_len(n: usize) -> CodecError {
    CodecError::invalid(
        "row v2 integer value",
        format!("{n} bytes (must be 1, 2, 4 or 8; ROW-6)"),
    )
}

/// The value bytes of one not-null datum (TiDB `encodeValueDatum`, ROW-6).
pub fn encode_value_datum(out: &mut Vec<u8>, d: &Datum) -> Result<()> {
    match d {
        Datum::I64(i) => encode_int(out, *i),
        Datum::U64(u) => encode_uint(out, *u),
        Datum::Bytes(b) => out.extend_from_slice(b),
        Datum::Time(t) => encode_uint(out, t.to_packed()),
        Datum::Duration(d) => encode_int(out, d.nanos),
        Datum::Enum { value, .. } | Datum::Set { value, .. } => encode_uint(out, *value),
        Datum::Bit(b) => encode_uint(out, crate::codec::mysql::bit_value(b)?),
        Datum::F32(f) => out.extend_from_slice(&encode_f64(f64::from(*f))),
        Datum::F64(f) => out.extend_from_slice(&encode_f64(*f)),
        Datum::Decimal { value, prec, frac } => {
            out.push(*prec);
            out.push(*frac);
            out.extend_from_slice(&value.to_bin(*prec, *frac)?);
        }
        Datum::Json(j) => out.extend_from_slice(&j.encode_prefixed()?),
        Datum::VectorF32(v) => crate::codec::mysql::vector::encode_vector(out, v),
        Datum::Null | Datum::Max => {
            return Err(CodecError::invalid(
                "row v2 value",
                format!("{d:?} has no value encoding"),
            ))
        }
    }
    Ok(())
}

/// Encodes a v2 row from `(column id, datum)` pairs, as TiDB's `Encoder.Encode` does with no
/// checksum (ROW-1 … ROW-6). Ids must be positive and unique.
pub fn encode(cols: &[(i64, Datum)]) -> Result<Vec<u8>> {
    encode_inner(cols, None)
}

/// Encodes a v2 row with a version-2 checksum over the row bytes and `handle` (the encoded
/// handle; ROW-7).
pub fn encode_with_checksum(cols: &[(i64, Datum)], handle: &[u8]) -> Result<Vec<u8>> {
    encode_inner(cols, Some(handle))
}

fn encode_inner(cols: &[(i64, Datum)], checksum_handle: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut not_null: Vec<(u32, &Datum)> = Vec::new();
    let mut nulls: Vec<u32> = Vec::new();
    for (id, d) in cols {
        let id = u32::try_from(*id).ok().filter(|i| *i > 0).ok_or_else(|| {
            CodecError::invalid("row v2 column id", format!("{id} is not in 1..=u32::MAX"))
        })?;
        if d.is_null() {
            nulls.push(id);
        } else {
            not_null.push((id, d));
        }
    }
    not_null.sort_by_key(|(id, _)| *id);
    nulls.sort_unstable();
    let mut all: Vec<u32> = not_null
        .iter()
        .map(|(i, _)| *i)
        .chain(nulls.iter().copied())
        .collect();
    all.sort_unstable();
    if all.windows(2).any(|w| w[0] == w[1]) {
        return Err(CodecError::invalid(
            "row v2 column id",
            "duplicate column id",
        ));
    }
    let too_many = |n: usize| {
        u16::try_from(n)
            .map_err(|_| CodecError::invalid("row v2 column counts", "more than 65535 columns"))
    };
    let (nn, nl) = (too_many(not_null.len())?, too_many(nulls.len())?);
    let mut data = Vec::new();
    let mut offsets = Vec::with_capacity(not_null.len());
    for (_, d) in &not_null {
        encode_value_datum(&mut data, d)?;
        offsets.push(
            u32::try_from(data.len())
                .map_err(|_| CodecError::invalid("row v2 data", "larger than 4 GiB"))?,
        );
    }
    // ROW-2: large if any id > 255 or the data exceeds 65535 bytes.
    let large = all.last().is_some_and(|m| *m > 255) || data.len() > usize::from(u16::MAX);
    let mut out = Vec::with_capacity(6 + all.len() * 4 + offsets.len() * 4 + data.len() + 9);
    out.push(CODEC_VER);
    let mut flags = if large { FLAG_LARGE } else { 0 };
    if checksum_handle.is_some() {
        flags |= FLAG_CHECKSUM;
    }
    out.push(flags);
    out.extend_from_slice(&nn.to_le_bytes());
    out.extend_from_slice(&nl.to_le_bytes());
    for id in not_null
        .iter()
        .map(|(i, _)| *i)
        .chain(nulls.iter().copied())
    {
        if large {
            out.extend_from_slice(&id.to_le_bytes());
        } else {
            out.push(id as u8);
        }
    }
    for off in &offsets {
        if large {
            out.extend_from_slice(&off.to_le_bytes());
        } else {
            out.extend_from_slice(&(*off as u16).to_le_bytes());
        }
    }
    out.extend_from_slice(&data);
    if let Some(handle) = checksum_handle {
        let header = 2u8;
        out.push(header);
        let crc = crc32_update(crc32_update(0, &out), handle);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests;
