//! The last step of `brtool demo`: the exact `brfs mount` command for the archive the demo
//! made and, when asked (`BRKIT_DEMO_MOUNT=1`) and FUSE is there, a real mount: `ls` of a
//! table directory, `head -3` of its `rows.csv`, unmount.

use super::fuse::{self, FuseOptions};
use super::tree::{Vfs, VfsOptions};
use super::view_source::ViewSource;
use crate::engine::view::ViewOptions;
use crate::format::crypto::Cipher;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// The command line that mounts the demo's archives (`key_hex` for an encrypted snapshot).
pub fn mount_command(
    snap_url: &str,
    log_url: &str,
    mountpoint: &Path,
    keys_hex: Option<(&str, &str)>,
) -> String {
    let mut cmd = format!(
        "brfs mount {snap_url} {} --log-storage {log_url}",
        mountpoint.display()
    );
    if let Some((snap, log)) = keys_hex {
        cmd.push_str(&format!(
            " --crypter.method aes256-ctr --crypter.key {snap} --log.crypter.method aes256-ctr --log.crypter.key {log}"
        ));
    }
    cmd
}

/// Mounts the archive at `mountpoint` in this process, shows `ls -l` of `db.table` and the
/// first three lines of its `rows.csv`, and unmounts. Returns false when FUSE is missing.
pub fn mount_and_show(
    out: &mut dyn Write,
    snap_url: &str,
    log_url: &str,
    (cipher, log_cipher): (&Cipher, &Cipher),
    mountpoint: &Path,
    scratch: &Path,
    (db, table): (&str, &str),
) -> anyhow::Result<bool> {
    if !Path::new("/dev/fuse").exists() {
        writeln!(out, "   /dev/fuse is missing: not mounting")?;
        return Ok(false);
    }
    std::fs::create_dir_all(mountpoint)?;
    let mut o = ViewOptions::new(snap_url);
    o.log_storage = Some(log_url.to_string());
    o.cipher = cipher.clone();
    o.log_cipher = Some(log_cipher.clone());
    o.cache_dir = scratch.to_path_buf();
    let src = ViewSource::open_with(o)?;
    let vfs = Arc::new(Vfs::new(src, VfsOptions::default())?);
    let t = std::time::Instant::now();
    let mounted = fuse::mount(vfs, mountpoint, &FuseOptions::default())?;
    writeln!(
        out,
        "   mounted at {} in {:.2} s",
        mountpoint.display(),
        t.elapsed().as_secs_f64()
    )?;
    let dir = mountpoint.join(db).join(table);
    let run = |cmd: &str, arg: &Path| -> anyhow::Result<String> {
        let parts: Vec<&str> = cmd.split(' ').collect();
        let o = Command::new(parts[0]).args(&parts[1..]).arg(arg).output()?;
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let shown = (|| -> anyhow::Result<()> {
        writeln!(out, "   $ ls -l {}", dir.display())?;
        for l in run("ls -l", &dir)?.lines() {
            writeln!(out, "     {l}")?;
        }
        let csv = dir.join("rows.csv");
        writeln!(out, "   $ head -3 {}", csv.display())?;
        for l in run("head -3", &csv)?.lines() {
            let l: String = l.chars().take(110).collect();
            writeln!(out, "     {l}")?;
        }
        Ok(())
    })();
    mounted.unmount()?;
    writeln!(out, "   unmounted")?;
    shown?;
    Ok(true)
}
