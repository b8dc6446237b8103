//! Names and numbers of the mount: how database and table names become directory entries
//! (BRFS-5), the reserved root entries (BRFS-2), and the inode number of a path (BRFS-6).
//! Pure; the one place that knows these rules.

/// The root's own entries; a database with one of these names is escaped (BRFS-5).
pub const README: &str = "README.txt";
pub const BACKUPMETA_JSON: &str = "backupmeta.json";
pub const RAW_DIR: &str = "raw";
pub const AT_DIR: &str = "at";
/// The data-file directory inside a table directory (BRFS-4).
pub const FILES_DIR: &str = "files";
pub const RESERVED_ROOT: [&str; 4] = [README, BACKUPMETA_JSON, RAW_DIR, AT_DIR];

/// FUSE's root inode.
pub const ROOT_INO: u64 = 1;

fn push_escaped(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// The directory entry of a database or table name (BRFS-5): `%`, `/` and NUL are
/// percent-encoded; so is the first character of `.`, `..` and, when `at_root`, of a name
/// equal to a reserved root entry. Decoding with [`decode_name`] gives the name back.
pub fn encode_name(name: &str, at_root: bool) -> String {
    let escape_first = name == "." || name == ".." || (at_root && RESERVED_ROOT.contains(&name));
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        if matches!(c, '%' | '/' | '\0') || (i == 0 && escape_first) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        // TiDB has no empty names; an empty one from a damaged archive still gets an entry.
        out.push_str("%00%00");
    }
    out
}

/// The inverse of [`encode_name`]; `None` on a bad `%` sequence or bytes that are not UTF-8.
pub fn decode_name(entry: &str) -> Option<String> {
    let bytes = entry.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = entry.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The path of `name` inside the directory at `parent` (paths start with `/`).
pub fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The inode number of a path of the mount (BRFS-6): 1 for `/`, otherwise XXH3-64 of the
/// path's UTF-8 bytes, moved past 0 and 1. The same path has the same number in every mount
/// of every archive.
pub fn path_ino(path: &str) -> u64 {
    if path == "/" {
        return ROOT_INO;
    }
    let h = xxhash_rust::xxh3::xxh3_64(path.as_bytes());
    if h <= ROOT_INO {
        h + 2
    } else {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brfs_5_names_round_trip_and_escape_only_what_they_must() {
        for (name, at_root, entry) in [
            ("sbtest1", true, "sbtest1"),
            ("a/b", false, "a%2Fb"),
            ("50%", false, "50%25"),
            (".", false, "%2E"),
            ("..", true, "%2E."),
            ("raw", true, "%72aw"),
            ("raw", false, "raw"),
            ("at", true, "%61t"),
            ("README.txt", true, "%52EADME.txt"),
            ("表", true, "表"),
            ("nul\0", false, "nul%00"),
        ] {
            assert_eq!(encode_name(name, at_root), entry, "{name:?}");
            assert_eq!(decode_name(entry).as_deref(), Some(name), "{entry:?}");
        }
        assert_eq!(decode_name("%4"), None);
        assert_eq!(decode_name("%zz"), None);
        assert_eq!(decode_name("%FF"), None); // not UTF-8
    }

    #[test]
    fn brfs_6_inode_numbers_are_stable_and_never_the_reserved_ones() {
        assert_eq!(path_ino("/"), 1);
        assert_eq!(path_ino("/raw"), path_ino("/raw"));
        assert_ne!(path_ino("/raw"), path_ino("/at"));
        assert!(path_ino("/README.txt") > 1);
    }
}
