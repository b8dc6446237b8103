//! Arguments shared by subcommands (storage URL, crypter flags), the tokio runtime for the
//! async library, tracing to stderr, and the mapping of errors to exit codes.

use crate::format::crypto::{Cipher, CipherMethod};
use anyhow::{anyhow, bail, Context};
use std::io::Write;
use std::process::ExitCode;

/// BR's `--crypter.method` / `--crypter.key` / `--crypter.key-file` flags (the snapshot
/// archive's key).
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
    /// A file holding the key in hex (one trailing newline allowed), instead of --crypter.key.
    #[arg(long = "crypter.key-file", value_name = "FILE")]
    pub key_file: Option<std::path::PathBuf>,
}

impl CrypterArgs {
    /// Builds the cipher, naming the flag that is wrong.
    pub fn cipher(&self) -> anyhow::Result<Cipher> {
        cipher_of_flags(
            "--crypter",
            &self.method,
            self.key.as_deref(),
            self.key_file.as_deref(),
        )
    }
}

/// BR's `--log.crypter.method` / `--log.crypter.key` / `--log.crypter.key-file` flags: the
/// key of a log backup's data sub-files (format/log.md LOG-CRYPT-5), separate from the
/// snapshot's `--crypter.*`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogCrypterArgs {
    /// Encryption method of the log backup's data: plaintext, aes128-ctr, aes192-ctr,
    /// aes256-ctr.
    #[arg(
        id = "log_crypter_method",
        long = "log.crypter.method",
        value_name = "METHOD"
    )]
    pub method: Option<String>,
    /// The log data key in hex (16, 24 or 32 bytes for aes128/192/256-ctr).
    #[arg(id = "log_crypter_key", long = "log.crypter.key", value_name = "HEX")]
    pub key: Option<String>,
    /// A file holding the log data key in hex (one trailing newline allowed).
    #[arg(
        id = "log_crypter_key_file",
        long = "log.crypter.key-file",
        value_name = "FILE"
    )]
    pub key_file: Option<std::path::PathBuf>,
}

impl LogCrypterArgs {
    /// The log cipher, or `None` when no `--log.crypter.*` flag was given.
    pub fn cipher(&self) -> anyhow::Result<Option<Cipher>> {
        if self.method.is_none() && self.key.is_none() && self.key_file.is_none() {
            return Ok(None);
        }
        let method = self.method.as_deref().ok_or_else(|| {
            anyhow!("--log.crypter.key given without --log.crypter.method (aes128-ctr, aes192-ctr or aes256-ctr)")
        })?;
        cipher_of_flags(
            "--log.crypter",
            method,
            self.key.as_deref(),
            self.key_file.as_deref(),
        )
        .map(Some)
    }
}

/// The cipher of one `<prefix>.method/.key/.key-file` flag set, as BR's
/// `GetCipherKeyContent`: exactly one of the key and the key file for an AES method; the
/// file holds the hex key, a trailing newline is ignored. Errors name the flag.
fn cipher_of_flags(
    prefix: &str,
    method_flag: &str,
    key: Option<&str>,
    key_file: Option<&std::path::Path>,
) -> anyhow::Result<Cipher> {
    let method = CipherMethod::parse_flag(method_flag).ok_or_else(|| {
        anyhow!(
            "{prefix}.method {method_flag:?}: expected plaintext, aes128-ctr, aes192-ctr or aes256-ctr"
        )
    })?;
    if method == CipherMethod::Plaintext {
        if key.is_some() || key_file.is_some() {
            bail!("{prefix}.key given but {prefix}.method is plaintext");
        }
        return Ok(Cipher::plaintext());
    }
    let (hex_key, flag) = match (key, key_file) {
        (Some(k), None) => (k.to_string(), format!("{prefix}.key")),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("{prefix}.key-file {}", f.display()))?;
            (
                text.trim_end_matches(['\n', '\r']).to_string(),
                format!("{prefix}.key-file {}", f.display()),
            )
        }
        (Some(_), Some(_)) => bail!("give one of {prefix}.key and {prefix}.key-file, not both"),
        (None, None) => {
            bail!("{prefix}.method {method_flag} needs {prefix}.key or {prefix}.key-file")
        }
    };
    // CRYPT-7: never echo the key in an error.
    let key = hex::decode(hex_key.trim()).map_err(|_| anyhow!("{flag}: the key is not hex"))?;
    Cipher::new(method, key).map_err(|e| anyhow!("{flag}: {e}"))
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
