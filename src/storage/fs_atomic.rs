//! Atomic object writes on a local filesystem (STORE-3, STORE-6): temporary file in the
//! target's directory, fsync, then rename (replace) or hard link (create only if absent), then
//! fsync of the directory. Owns the temporary-file naming so listings can hide such files.

use std::path::Path;

use bytes::Bytes;

/// Marker in the names of the fs backend's temporary files (STORE-3); such files are never
/// listed as objects.
pub(super) const FS_TMP_MARKER: &str = ".brkit-tmp.";

pub(super) fn is_fs_tmp(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.starts_with('.') && last.contains(FS_TMP_MARKER)
}

/// STORE-3 on a local filesystem: the bytes go to a temporary file in the target's directory,
/// are fsync'ed, then the file is renamed over the target (`write`) or hard-linked to it
/// (`write_if_absent`: `link` fails if the target exists, so readers never see a partial
/// object and two creators cannot both win). The directory is fsync'ed afterwards.
pub(super) async fn fs_write(
    root: &Path,
    name: &str,
    data: Bytes,
    if_absent: bool,
) -> std::io::Result<()> {
    let target = root.join(name);
    let dir = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.to_path_buf());
    let mut file_name = target
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    // Keep the temporary name within NAME_MAX (255) even for very long object names.
    if file_name.len() > 100 {
        let mut cut = 100;
        while !file_name.is_char_boundary(cut) {
            cut -= 1;
        }
        file_name.truncate(cut);
    }
    let tmp = dir.join(format!(
        ".{file_name}{FS_TMP_MARKER}{}",
        uuid::Uuid::new_v4().simple()
    ));
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        // A parent that is itself a file must not read as `AlreadyExists` of the object.
        std::fs::create_dir_all(&dir).map_err(|e| {
            std::io::Error::other(format!("cannot create directory {}: {e}", dir.display()))
        })?;
        if if_absent && target.exists() {
            return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
        }
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
            drop(f);
            if if_absent {
                match std::fs::hard_link(&tmp, &target) {
                    // Filesystems without hard links (FAT, some network mounts): fall back to
                    // an exclusive create of the target, still one winner but readers may see
                    // a partly written object while it is written (STORE-6).
                    Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                        let mut f = std::fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .open(&target)?;
                        f.write_all(&data)?;
                        f.sync_all()
                    }
                    r => r,
                }
            } else {
                std::fs::rename(&tmp, &target)
            }
        })();
        let _ = std::fs::remove_file(&tmp);
        result?;
        // Make the new directory entry durable; failure here is not worth failing the write
        // on filesystems that cannot fsync a directory.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })
    .await
    .map_err(|e| std::io::Error::other(format!("write task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_3_temporary_files_are_hidden_from_listing() {
        assert!(is_fs_tmp("a/.obj.brkit-tmp.0123abcd"));
        assert!(is_fs_tmp(".backupmeta.brkit-tmp.ff"));
        assert!(!is_fs_tmp("a/obj.brkit-tmp.0123")); // not hidden: a real object
        assert!(!is_fs_tmp("a/.hidden"));
    }
}

#[cfg(test)]
mod long_names {
    #[tokio::test]
    async fn store_3_object_names_near_name_max_can_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let name = "é".repeat(127); // 254 bytes: a legal file name, too long with a suffix
        super::fs_write(dir.path(), &name, bytes::Bytes::from_static(b"x"), false)
            .await
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), b"x");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
