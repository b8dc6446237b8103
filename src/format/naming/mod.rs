//! The one module that knows archive object names (format/naming.md NAME-*, format/log.md
//! LOG-NAME-*): for every generation of the format a builder and a parser, side by side.
//! No other module formats an archive path.

pub mod log;
pub mod snapshot;

use super::error::{FormatError, Result};

/// Checks that an object name read from an archive document is safe to use as a relative
/// storage path (NAME-9): not empty, not absolute, no `..` or `.` segment, no empty segment,
/// no NUL or backslash.
pub fn check_relative_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(FormatError::bad_name("NAME-9", name, why.to_string()));
    if name.is_empty() {
        return bad("empty name");
    }
    if name.starts_with('/') {
        return bad("absolute path");
    }
    if name.contains('\0') {
        return bad("contains NUL");
    }
    if name.contains('\\') {
        return bad("contains a backslash");
    }
    for seg in name.split('/') {
        match seg {
            "" => return bad("empty path segment"),
            "." | ".." => return bad("`.` or `..` path segment"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_9_rejects_hostile_names() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/./b",
            "a\0b",
            "a\\b",
            "a/",
        ] {
            assert!(check_relative_name(bad).is_err(), "accepted {bad:?}");
        }
        for good in [
            "backupmeta",
            "1/5_12_ab_1_write.sst",
            "v1/backupmeta/x.meta",
            "a..b",
        ] {
            check_relative_name(good).unwrap();
        }
    }
}
