//! Arguments shared by subcommands (storage URL, crypter flags), the tokio runtime for the
//! async library, tracing to stderr, and the mapping of errors to exit codes.

use crate::format::crypto::{Cipher, CipherMethod};
use anyhow::{anyhow, bail, Context};
use std::io::Write;
use std::process::ExitCode;

/// BR's `--crypter.method` / `--crypter.key` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct CrypterArgs {
    /// Encryption method of the archive: plaintext, aes128-ctr, aes192-ctr, aes256-ctr.
    #[arg(
        long = "crypter.method",
        value_name = "METHOD",
        default_value = "plaintext"
    )]
    pub method: String,
    /// The key in hex (16, 24 or 32 bytes for aes128/192/256-ctr).
    #[arg(
        long = "crypter.key",
        value_name = "HEX",
        env = "BR_CRYPTER_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
}

impl CrypterArgs {
    /// Builds the cipher, naming the flag that is wrong.
    pub fn cipher(&self) -> anyhow::Result<Cipher> {
        let method = CipherMethod::parse_flag(&self.method).ok_or_else(|| {
            anyhow!(
                "--crypter.method {:?}: expected plaintext, aes128-ctr, aes192-ctr or aes256-ctr",
                self.method
            )
        })?;
        if method == CipherMethod::Plaintext {
            if self.key.is_some() {
                bail!("--crypter.key given but --crypter.method is plaintext");
            }
            return Ok(Cipher::plaintext());
        }
        let key = self
            .key
            .as_deref()
            .ok_or_else(|| anyhow!("--crypter.method {} needs --crypter.key", self.method))?;
        let key = hex::decode(key.trim()).context("--crypter.key is not hex")?;
        Cipher::new(method, key).map_err(|e| anyhow!("--crypter.key: {e}"))
    }
}

/// The async runtime for the library: two workers, one per core of the machines we target.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Logs go to stderr; `RUST_LOG` selects the level (default: warnings).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The outcome of a subcommand: its exit code, or an error (exit 2).
pub type Outcome = anyhow::Result<ExitCode>;

/// Prints an error chain and maps it to exit code 2; a broken pipe (`brtool … | head`) is a
/// normal end, exit 0.
pub fn finish(result: Outcome) -> ExitCode {
    if std::env::var_os("BRKIT_REPORT_PEAK_RSS").is_some() {
        report_peak_rss();
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "brtool: error: {e}");
            for cause in e.chain().skip(1) {
                let _ = write!(err, ": {cause}");
            }
            let _ = writeln!(err);
            ExitCode::from(2)
        }
    }
}

/// With `BRKIT_REPORT_PEAK_RSS` set, prints the process's peak resident set size (`VmHWM` of
/// /proc/self/status) to stderr: the memory-bound tests and benchmark scripts read it.
fn report_peak_rss() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().trim_end_matches("kB").trim().to_string())
    {
        eprintln!("brtool: peak RSS {kib} KiB");
    }
}

/// Opens a storage URL (BR syntax), with the URL redacted in every message.
pub fn open_storage(url: &str) -> anyhow::Result<std::sync::Arc<dyn crate::storage::Storage>> {
    crate::storage::opendal_backend::open_url(url).map_err(|e| anyhow!("-s/--storage: {e}"))
}

/// BR's `--pd`: `host:port`, or brkit's `local://DIR` (the server recorded in DIR, else the
/// cluster opened in this process).
#[derive(Debug, Clone, clap::Args)]
pub struct PdArgs {
    /// PD address (`127.0.0.1:PORT`) or `local://DIR` for the embedded cluster.
    #[arg(long, short = 'u', env = "BRKIT_PD", value_name = "ADDR")]
    pub pd: String,
}

impl PdArgs {
    pub async fn connect(&self) -> anyhow::Result<crate::cluster::ClusterClient> {
        crate::cluster::ClusterClient::connect(&self.pd)
            .await
            .map_err(|e| anyhow!("--pd {}: {e}", self.pd))
    }
}

/// Parses BR's `--backupts`: a TSO number or a datetime (`2026-11-21 10:00:00 +08:00`).
pub fn parse_ts_flag(flag: &str, v: &str) -> anyhow::Result<u64> {
    crate::codec::tso::parse_ts_string(v, false).map_err(|e| anyhow!("{flag} {v:?}: {e}"))
}

/// Prints progress notes to stderr.
pub struct StderrProgress;

impl crate::engine::backup::Progress for StderrProgress {
    fn note(&self, msg: &str) {
        eprintln!("[brtool] {msg}");
    }
}
