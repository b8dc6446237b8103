//! `brfs mount` / `brfs umount`: arguments, checks before mounting, daemonizing after the
//! mount is ready, and unmounting on SIGINT/SIGTERM. Exit codes (BRFS-13): 0 mounted (or
//! unmounted cleanly), 2 bad input (a flag, the mount point, an archive that does not
//! decode, a wrong key, a ts the archive cannot show), 1 the system refused (FUSE, unmount).

use super::fuse::{self, FuseOptions};
use super::source::MountSource;
use super::tree::{window_detail, Vfs, VfsOptions};
use crate::engine::view::ViewError;
use crate::format::crypto::{Cipher, CipherMethod};
use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// brfs: browse a TiDB BR archive as databases and tables, read-only, at any PITR ts.
#[derive(Debug, Parser)]
#[command(name = "brfs", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mount an archive read-only (format/brfs.md describes the tree).
    Mount(Box<MountArgs>),
    /// Unmount a brfs mount point (`fusermount3 -u`).
    Umount(UmountArgs),
}

/// One `--crypter.*` group: method, key in hex or a file holding it.
#[derive(Debug, Clone, Default)]
pub struct KeyFlags {
    pub method: String,
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct MountArgs {
    /// The snapshot archive (BR storage URL: local://, s3://, azure://, gcs://).
    #[arg(value_name = "STORAGE_URL")]
    pub storage: String,
    /// An existing, empty directory.
    pub mountpoint: PathBuf,
    /// The log archive: enables `at/<ts>/` and `--ts` inside its restorable window.
    #[arg(long, value_name = "URL")]
    pub log_storage: Option<String>,
    /// What the root shows: a TSO or a datetime (default: the snapshot's backup ts).
    #[arg(long, value_name = "TS|DATETIME")]
    pub ts: Option<String>,
    /// Encryption of the snapshot archive: plaintext, aes128-ctr, aes192-ctr, aes256-ctr.
    #[arg(
        long = "crypter.method",
        value_name = "METHOD",
        default_value = "plaintext"
    )]
    pub crypter_method: String,
    /// The key in hex.
    #[arg(
        long = "crypter.key",
        value_name = "HEX",
        env = "BR_CRYPTER_KEY",
        hide_env_values = true
    )]
    pub crypter_key: Option<String>,
    /// A file holding the key in hex.
    #[arg(
        long = "crypter.key-file",
        value_name = "FILE",
        conflicts_with = "crypter_key"
    )]
    pub crypter_key_file: Option<PathBuf>,
    /// Encryption of the log archive (default: plaintext).
    #[arg(
        long = "log.crypter.method",
        value_name = "METHOD",
        default_value = "plaintext"
    )]
    pub log_crypter_method: String,
    #[arg(
        long = "log.crypter.key",
        value_name = "HEX",
        env = "BR_LOG_CRYPTER_KEY",
        hide_env_values = true
    )]
    pub log_crypter_key: Option<String>,
    #[arg(
        long = "log.crypter.key-file",
        value_name = "FILE",
        conflicts_with = "log_crypter_key"
    )]
    pub log_crypter_key_file: Option<PathBuf>,
    /// Stay in the foreground (logs on stderr; Ctrl-C unmounts).
    #[arg(long, short = 'f')]
    pub foreground: bool,
    /// Let other users read the mount.
    #[arg(long)]
    pub allow_other: bool,
    /// Directory for decoded-table caches (default: memory only).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Bound of the decode cache: bytes, or with KiB/MiB/GiB/KB/MB/GB.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    pub cache_size: String,
    /// Threads serving requests.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
    /// Append logs to this file (the background process has no terminal after it is ready;
    /// without this its logs are dropped then).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Internal: set on the background process `brfs mount` starts.
    #[arg(long, hide = true)]
    pub daemon_child: bool,
}

impl MountArgs {
    pub fn snapshot_keys(&self) -> KeyFlags {
        KeyFlags {
            method: self.crypter_method.clone(),
            key: self.crypter_key.clone(),
            key_file: self.crypter_key_file.clone(),
        }
    }
    pub fn log_keys(&self) -> KeyFlags {
        KeyFlags {
            method: self.log_crypter_method.clone(),
            key: self.log_crypter_key.clone(),
            key_file: self.log_crypter_key_file.clone(),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct UmountArgs {
    pub mountpoint: PathBuf,
}

/// An error of bad input: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn bad(msg: impl Into<String>) -> anyhow::Error {
    BadInput(msg.into()).into()
}

/// Builds a cipher from one flag group, naming the flag that is wrong (`prefix` is
/// `crypter` or `log.crypter`).
pub fn cipher(prefix: &str, k: &KeyFlags) -> anyhow::Result<Cipher> {
    let method = CipherMethod::parse_flag(&k.method).ok_or_else(|| {
        bad(format!(
            "--{prefix}.method {:?}: expected plaintext, aes128-ctr, aes192-ctr or aes256-ctr",
            k.method
        ))
    })?;
    let key = match (&k.key, &k.key_file) {
        (Some(k), _) => Some(k.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| bad(format!("--{prefix}.key-file {}: {e}", f.display())))?,
        ),
        (None, None) => None,
    };
    if method == CipherMethod::Plaintext {
        if key.is_some() {
            return Err(bad(format!(
                "--{prefix}.key given but --{prefix}.method is plaintext"
            )));
        }
        return Ok(Cipher::plaintext());
    }
    let key = key.ok_or_else(|| {
        bad(format!(
            "--{prefix}.method {} needs --{prefix}.key or --{prefix}.key-file",
            k.method
        ))
    })?;
    let key = hex::decode(key.trim()).map_err(|_| bad(format!("--{prefix}.key is not hex")))?;
    Cipher::new(method, key).map_err(|e| bad(format!("--{prefix}.key: {e}")))
}

/// `64MiB`, `1GiB`, `500MB`, `4096`.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mul: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// The mount point must exist, be a directory, be empty and not be mounted already.
pub fn check_mountpoint(mp: &Path) -> anyhow::Result<PathBuf> {
    let meta =
        std::fs::metadata(mp).map_err(|e| bad(format!("mount point {}: {e}", mp.display())))?;
    if !meta.is_dir() {
        return Err(bad(format!(
            "mount point {} is not a directory",
            mp.display()
        )));
    }
    if fuse::is_mounted(mp) {
        return Err(bad(format!(
            "mount point {} is already mounted",
            mp.display()
        )));
    }
    let mut entries =
        std::fs::read_dir(mp).map_err(|e| bad(format!("mount point {}: {e}", mp.display())))?;
    if entries.next().is_some() {
        return Err(bad(format!(
            "mount point {} is not empty (its files would be hidden)",
            mp.display()
        )));
    }
    mp.canonicalize()
        .map_err(|e| bad(format!("mount point {}: {e}", mp.display())))
}

/// The owner of this process (the owner of /proc/self), for the files' uid/gid.
fn process_owner() -> (u32, u32) {
    std::fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((0, 0))
}

/// Serves `src` at the mount point until SIGINT/SIGTERM or an outside unmount. `ready` is
/// called once the mount answers.
pub fn serve<S: MountSource>(
    src: Arc<S>,
    a: &MountArgs,
    mountpoint: &Path,
    ready: impl FnOnce(&Vfs<S>),
) -> anyhow::Result<()> {
    let root_ts = match &a.ts {
        Some(t) => Some(
            src.parse_ts(t)
                .map_err(|e| bad(format!("--ts {t:?}: {e}")))?,
        ),
        None => None,
    };
    let (uid, gid) = process_owner();
    let vfs = match Vfs::new(src.clone(), VfsOptions { root_ts, uid, gid }) {
        Ok(v) => Arc::new(v),
        Err(e @ ViewError::TsOutsideWindow { .. }) => {
            let t = a.ts.as_deref().unwrap_or_default();
            return Err(bad(format!("--ts {t:?}: {e}")));
        }
        Err(e) => return Err(bad(format!("{}: {e}", a.storage))),
    };
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone())?;
    let opts = FuseOptions {
        allow_other: a.allow_other,
        threads: a.threads as usize,
        fsname: "brfs".into(),
    };
    let mounted = fuse::mount(vfs.clone(), mountpoint, &opts)
        .with_context(|| format!("mounting at {}", mountpoint.display()))?;
    ready(&vfs);
    while !stop.load(Ordering::SeqCst) && !mounted.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
    }
    if stop.load(Ordering::SeqCst) {
        tracing::info!("signal: unmounting {}", mountpoint.display());
        mounted
            .unmount()
            .with_context(|| format!("unmounting {}", mountpoint.display()))?;
    } else {
        mounted.join()?;
    }
    Ok(())
}

/// SIGINT and SIGTERM set `stop`; SIGHUP is ignored (a daemon outlives its terminal).
fn watch_signals(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut int, mut term, mut hup) = {
        let _g = rt.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        )
    };
    std::thread::Builder::new()
        .name("brfs-signals".into())
        .spawn(move || {
            rt.block_on(async {
                loop {
                    tokio::select! {
                        _ = int.recv() => break,
                        _ = term.recv() => break,
                        _ = hup.recv() => continue,
                    }
                }
            });
            stop.store(true, Ordering::SeqCst);
        })?;
    Ok(())
}

/// The readiness line the background process prints on its stdout.
const READY: &str = "BRFS-READY";

/// Without `--foreground`: starts this program again with `--daemon-child` in its own
/// process group, relays its messages until it says the mount is ready, and exits with 0
/// then, or with the child's exit code when it fails (BRFS-12).
fn daemonize(a: &MountArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("finding the brfs executable")?;
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    args.push("--daemon-child".into());
    let mut child = std::process::Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("starting the brfs background process")?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow!("no stderr pipe"))?;
    let relay = std::thread::spawn(move || {
        let mut err = std::io::stderr();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = writeln!(err, "{line}");
        }
    });
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout pipe"))?;
    let mut line = String::new();
    let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    if line.trim() == READY {
        eprintln!(
            "brfs: {} mounted at {} (pid {}); `brfs umount {}` unmounts it",
            a.storage,
            a.mountpoint.display(),
            child.id(),
            a.mountpoint.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let status = child
        .wait()
        .context("waiting for the brfs background process")?;
    let _ = relay.join();
    let code = status.code().unwrap_or(1).clamp(1, 255) as u8;
    Ok(ExitCode::from(code))
}

/// Opens the archive as a mount source (the real one: `engine::view`).
pub type Opener<S> = fn(&MountArgs, Cipher, Cipher) -> anyhow::Result<Arc<S>>;

fn run_mount<S: MountSource>(a: MountArgs, open: Opener<S>) -> anyhow::Result<ExitCode> {
    if !a.foreground && !a.daemon_child {
        // Check what can be checked before forking so the common mistakes fail fast.
        check_mountpoint(&a.mountpoint)?;
        return daemonize(&a);
    }
    let mountpoint = check_mountpoint(&a.mountpoint)?;
    parse_size(&a.cache_size).ok_or_else(|| {
        bad(format!(
            "--cache-size {:?}: expected bytes or a size like 64MiB",
            a.cache_size
        ))
    })?;
    let snap = cipher("crypter", &a.snapshot_keys())?;
    let log = cipher("log.crypter", &a.log_keys())?;
    let src = open(&a, snap, log)?;
    let daemon = a.daemon_child;
    serve(src, &a, &mountpoint, |vfs| {
        if daemon {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{READY}");
            let _ = out.flush();
            DETACHED.store(true, Ordering::SeqCst);
        } else {
            eprintln!(
                "brfs: {} mounted at {} ({} tables at ts {}); Ctrl-C or `brfs umount {}` unmounts it",
                a.storage, mountpoint.display(), vfs.root_tables(), vfs.root_ts(), mountpoint.display()
            );
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_umount(a: UmountArgs) -> anyhow::Result<ExitCode> {
    if !fuse::is_mounted(&a.mountpoint) {
        return Err(bad(format!("{} is not mounted", a.mountpoint.display())));
    }
    fuse::unmount_path(&a.mountpoint)
        .with_context(|| format!("unmounting {}", a.mountpoint.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Set once the background process has reported ready: its stderr is a pipe to a parent
/// that has exited, and a failed write there would panic (tracing reports write errors with
/// `eprintln!`), killing a FUSE thread. Logs then go to `--log-file` or nowhere.
static DETACHED: AtomicBool = AtomicBool::new(false);

/// Logs go to stderr (and `--log-file`); `RUST_LOG` selects the level (default: warnings).
fn init_tracing(log_file: Option<&Path>) {
    let file = log_file.and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
            .map(|f| Arc::new(std::sync::Mutex::new(f)))
    });
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let make = move || -> Box<dyn Write> {
        match (&file, DETACHED.load(Ordering::SeqCst)) {
            (Some(f), _) => Box::new(SharedFile(f.clone())),
            (None, true) => Box::new(std::io::sink()),
            (None, false) => Box::new(std::io::stderr()),
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(log_file.is_none())
        .with_writer(make)
        .try_init();
}

struct SharedFile(Arc<std::sync::Mutex<std::fs::File>>);

impl Write for SharedFile {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("log file lock"))?
            .write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs brfs with the process arguments, serving archives opened by `open`.
pub fn brfs_main_with<S: MountSource>(open: Opener<S>) -> ExitCode {
    let cli = Cli::parse();
    init_tracing(match &cli.command {
        Command::Mount(a) => a.log_file.as_deref(),
        Command::Umount(_) => None,
    });
    let result = match cli.command {
        Command::Mount(a) => run_mount(*a, open),
        Command::Umount(a) => run_umount(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let mut msg = format!("brfs: error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!(": {cause}"));
            }
            if !DETACHED.load(Ordering::SeqCst) {
                let _ = writeln!(std::io::stderr(), "{msg}");
            }
            if e.downcast_ref::<BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The message for a ts outside the archive's windows (shared with the source adapters).
pub fn outside_window(ts: u64, snapshot_ts: u64, windows: &[(u64, u64)]) -> ViewError {
    ViewError::TsOutsideWindow {
        ts,
        detail: window_detail(snapshot_ts, windows),
    }
}

/// Runs brfs with the process arguments over real archives.
pub fn brfs_main() -> ExitCode {
    brfs_main_with(super::view_source::open)
}
