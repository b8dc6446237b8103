//! The global checkpoint and truncate safepoint codecs and the restorable-window rule
//! (format/log.md LOG-CKPT-*, LOG-TRUNC-*). Part of `logmeta`; pure.

use crate::format::error::{FormatError, Result};

/// Decodes `v1/global_checkpoint/{store}.ts`: exactly 8 bytes, u64 little-endian (LOG-CKPT-1).
pub fn decode_global_checkpoint(bytes: &[u8]) -> Result<u64> {
    let b: [u8; 8] = bytes.try_into().map_err(|_| {
        FormatError::mismatch(
            "LOG-CKPT-1",
            "global checkpoint length",
            "8 bytes",
            format!("{} bytes", bytes.len()),
        )
    })?;
    Ok(u64::from_le_bytes(b))
}

/// Encodes a global checkpoint file (LOG-CKPT-1).
pub fn encode_global_checkpoint(ts: u64) -> [u8; 8] {
    ts.to_le_bytes()
}

/// Decodes the truncate safepoint: decimal ASCII digits only, no sign, no whitespace, fits
/// u64 (LOG-TRUNC-1; what Go's `strconv.ParseUint(s, 10, 64)` accepts).
pub fn decode_truncate_safepoint(bytes: &[u8]) -> Result<u64> {
    let bad = |d: &str| FormatError::invalid("LOG-TRUNC-1", "truncate safepoint", d.to_string());
    if bytes.is_empty() {
        return Err(bad("empty"));
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(bad("not decimal ASCII digits"));
    }
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("overflows u64"))
}

/// Encodes the truncate safepoint (LOG-TRUNC-1): decimal, no newline.
pub fn encode_truncate_safepoint(ts: u64) -> Vec<u8> {
    ts.to_string().into_bytes()
}

/// The span of TSOs a log archive can restore to, both ends inclusive (LOG-TRUNC-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestorableWindow {
    pub min_ts: u64,
    pub max_ts: u64,
}

/// LOG-TRUNC-2 / LOG-CKPT-2 (BR `getLogInfo`): lower bound = max(backupmeta
/// `start_version`, truncate safepoint (0 when the file is absent)); upper bound = max(lower
/// bound, max over every global checkpoint file).
pub fn restorable_window(
    start_version: u64,
    truncate_safepoint: Option<u64>,
    global_checkpoints: &[u64],
) -> RestorableWindow {
    let min_ts = start_version.max(truncate_safepoint.unwrap_or(0));
    let max_ts = global_checkpoints.iter().copied().fold(min_ts, u64::max);
    RestorableWindow { min_ts, max_ts }
}
