//! `backup.lock` (format/lock.md LOCK-*): the exact bytes BR writes, and the check of a lock
//! read back. The protocol (write it first, conditional create) lives in `crate::archive`.

use super::error::{FormatError, Result};

/// LOCK-1: the exact content of `backup.lock` (one `\n`, no trailing newline).
pub const LOCK_CONTENT: &[u8] =
    b"DO NOT DELETE\nThis file exists to remind other backup jobs won't use this path";

/// Checks a lock object read back (LOCK-1). Any other content is reported, not guessed at:
/// the target may hold something other than a BR archive.
pub fn check_lock(bytes: &[u8]) -> Result<()> {
    if bytes == LOCK_CONTENT {
        Ok(())
    } else {
        Err(FormatError::mismatch(
            "LOCK-1",
            "backup.lock content",
            format!("{} bytes of BR's lock text", LOCK_CONTENT.len()),
            format!("{} other bytes", bytes.len()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_1_exact_bytes() {
        assert_eq!(LOCK_CONTENT.len(), 78);
        assert_eq!(LOCK_CONTENT.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(!LOCK_CONTENT.ends_with(b"\n"));
        check_lock(LOCK_CONTENT).unwrap();
        let mut flipped = LOCK_CONTENT.to_vec();
        flipped[3] ^= 1;
        assert!(check_lock(&flipped).is_err());
        assert!(check_lock(&LOCK_CONTENT[..77]).is_err());
    }
}
