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
    let file_name = target
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
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
