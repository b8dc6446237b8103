//! BR storage URLs (`-s`/`--storage`): parsing into a typed [`StorageUrl`], BR's parameter
//! aliases, and the redacted form used in every message (format/storage.md STORE-URL-*).
//! Owns only the text ⇄ configuration mapping; opening a backend is `opendal_backend`'s job.

use std::fmt;
use std::path::{Path, PathBuf};

mod params;

use params::{parse_azure, parse_gcs, parse_s3, Params};

use super::error::StorageError;
use super::Result;

/// A credential or key taken from a URL. `Debug` and `Display` never show it (STORE-URL-4).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }
    /// The secret itself, only for handing it to a backend.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// S3 (and S3-compatible) settings: BR's `S3BackendOptions`, keyed by its JSON tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Url {
    pub bucket: String,
    /// Prefix below the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key: Option<Secret>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    pub provider: Option<String>,
    /// BR's default for URLs is path style (`true`), turned off for the `alibaba` and
    /// `netease` providers and for accelerate endpoints (STORE-URL-3).
    pub force_path_style: bool,
    pub use_accelerate_endpoint: bool,
    pub storage_class: Option<String>,
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub acl: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub profile: Option<String>,
    pub object_lock_enabled: bool,
}

/// Azure Blob settings: BR's `AzblobBackendOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AzureUrl {
    pub container: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    /// From `account-name`, else env `AZURE_STORAGE_ACCOUNT`.
    pub account_name: Option<String>,
    /// From `account-key`, else env `AZURE_STORAGE_KEY`.
    pub account_key: Option<Secret>,
    pub sas_token: Option<Secret>,
    pub access_tier: Option<String>,
    pub encryption_scope: Option<String>,
    pub encryption_key: Option<Secret>,
}

/// Google Cloud Storage settings: BR's `GCSBackendOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcsUrl {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub credentials_file: Option<String>,
    pub storage_class: Option<String>,
    pub predefined_acl: Option<String>,
}

/// A parsed storage URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// `local:///abs`, `file:///abs`, or a bare path (made absolute).
    Local {
        path: PathBuf,
    },
    /// `noop://`: writes are discarded, nothing exists.
    Noop,
    /// `memory://name`: an in-process store shared by every open of the same name (tests).
    Memory {
        name: String,
    },
    S3(S3Url),
    Azure(AzureUrl),
    Gcs(GcsUrl),
}

/// Parameter names whose values are secrets (after normalisation, STORE-URL-2).
const SECRET_PARAMS: &[&str] = &[
    "access-key",
    "secret-access-key",
    "session-token",
    "account-key",
    "sas-token",
    "encryption-key",
];

impl StorageUrl {
    /// Parses a BR storage URL, taking Azure's account and key from the environment when the
    /// URL does not name them.
    pub fn parse(raw: &str) -> Result<Self> {
        Self::parse_with_env(raw, &|k| std::env::var(k).ok())
    }

    /// [`StorageUrl::parse`] with an explicit environment (for tests).
    pub fn parse_with_env(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        if raw.is_empty() {
            return Err(StorageError::bad_url("empty storage URL"));
        }
        let Some(scheme) = scheme_of(raw) else {
            return local_from_bare(raw);
        };
        let lower = scheme.to_ascii_lowercase();
        match lower.as_str() {
            "local" | "file" | "noop" | "memory" | "s3" | "azure" | "azblob" | "gcs" | "gs" => {}
            _ => {
                return Err(StorageError::bad_url(format!(
                    "unsupported storage scheme `{scheme}` (expected local, file, s3, azure, \
                     azblob, gcs, gs, noop or memory)"
                )))
            }
        }
        // The URL parser would resolve `a/../b` to `b` and `a/./b` to `a/b`; BR keeps them in
        // the key prefix. Neither is what the user meant, so such a prefix is refused
        // (STORE-URL-1).
        let before_query = raw.split(['?', '#']).next().unwrap_or("");
        if matches!(lower.as_str(), "s3" | "azure" | "azblob" | "gcs" | "gs")
            && before_query
                .split('/')
                .skip(3) // "scheme:", "", bucket
                .any(|seg| {
                    let seg = seg.to_ascii_lowercase().replace("%2e", ".");
                    seg == ".." || seg == "."
                })
        {
            return Err(StorageError::bad_url(format!(
                "{lower} prefix contains a `.` or `..` segment"
            )));
        }
        // BR (br/pkg/storage/parse.go ParseRawURL): a `+` in a secret key is literal, not a
        // space, so it is escaped before parsing (STORE-URL-2).
        let escaped = raw.replace('+', "%2B");
        let u = url::Url::parse(&escaped)
            .map_err(|e| StorageError::bad_url(format!("{lower} URL does not parse: {e}")))?;
        let host = u.host_str().unwrap_or("").to_string();
        let path = percent_decode(u.path())?;
        let params = Params::from_url(&u)?;
        match lower.as_str() {
            "local" | "file" => {
                if !host.is_empty() {
                    return Err(StorageError::bad_url(format!(
                        "{lower} URL has a host `{host}`; use {lower}:///absolute/path"
                    )));
                }
                params.reject_all(&lower)?;
                if !path.starts_with('/') {
                    return Err(StorageError::bad_url(format!(
                        "{lower} URL needs an absolute path"
                    )));
                }
                Ok(Self::Local {
                    path: PathBuf::from(path),
                })
            }
            "noop" => {
                params.reject_all("noop")?;
                Ok(Self::Noop)
            }
            "memory" => {
                params.reject_all("memory")?;
                let name = if host.is_empty() {
                    "default".to_string()
                } else {
                    host
                };
                Ok(Self::Memory { name })
            }
            "s3" => parse_s3(host, &path, params).map(Self::S3),
            "azure" | "azblob" => parse_azure(host, &path, params, env).map(Self::Azure),
            _ => parse_gcs(host, &path, params).map(Self::Gcs),
        }
    }

    /// `"local"`, `"s3"`, `"azure"`, `"gcs"`, `"noop"` or `"memory"`: the name BR uses for the
    /// backend (SST naming puts files under store directories for `s3` and `local`).
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Local { .. } => "local",
            Self::Noop => "noop",
            Self::Memory { .. } => "memory",
            Self::S3(_) => "s3",
            Self::Azure(_) => "azure",
            Self::Gcs(_) => "gcs",
        }
    }

    /// The URL in canonical form with every secret replaced by `redacted` (STORE-URL-4).
    pub fn redacted(&self) -> String {
        self.render(false)
    }

    /// The URL in canonical form with the secrets in clear: only for handing the storage to
    /// a store process (as BR sends credentials to TiKV), never for a message. Parses back to
    /// `self`.
    pub fn expose_full(&self) -> String {
        self.render(true)
    }

    /// Adds the S3 credentials the URL leaves out from BR's environment (the AWS SDK's
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), as BR does before
    /// it sends a backend to TiKV. Azure's `AZURE_STORAGE_*` are taken at parse time.
    /// Returns whether anything was added.
    pub fn fill_env_credentials(&mut self, env: &dyn Fn(&str) -> Option<String>) -> bool {
        let Self::S3(s) = self else {
            return false;
        };
        if s.access_key.is_some() || s.profile.is_some() || s.role_arn.is_some() {
            return false;
        }
        let get = |k: &str| env(k).filter(|v| !v.is_empty()).map(Secret);
        let (Some(ak), Some(sk)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) else {
            return false;
        };
        s.access_key = Some(ak);
        s.secret_access_key = Some(sk);
        if s.session_token.is_none() {
            s.session_token = get("AWS_SESSION_TOKEN");
        }
        true
    }

    fn render(&self, show_secrets: bool) -> String {
        let secret = |q: &mut Vec<(&'static str, String)>, k: &'static str, v: &Option<Secret>| {
            debug_assert!(SECRET_PARAMS.contains(&k));
            if let Some(v) = v {
                let shown = if show_secrets { v.expose() } else { "redacted" };
                q.push((k, shown.to_string()));
            }
        };
        let mut q: Vec<(&str, String)> = Vec::new();
        let base = match self {
            Self::Local { path } => format!("local://{}", path.display()),
            Self::Noop => "noop://".to_string(),
            Self::Memory { name } => format!("memory://{name}"),
            Self::S3(s) => {
                opt(&mut q, "endpoint", &s.endpoint);
                opt(&mut q, "region", &s.region);
                opt(&mut q, "provider", &s.provider);
                secret(&mut q, "access-key", &s.access_key);
                secret(&mut q, "secret-access-key", &s.secret_access_key);
                secret(&mut q, "session-token", &s.session_token);
                opt(&mut q, "storage-class", &s.storage_class);
                opt(&mut q, "sse", &s.sse);
                opt(&mut q, "sse-kms-key-id", &s.sse_kms_key_id);
                opt(&mut q, "acl", &s.acl);
                opt(&mut q, "role-arn", &s.role_arn);
                opt(&mut q, "external-id", &s.external_id);
                opt(&mut q, "profile", &s.profile);
                if !s.force_path_style {
                    q.push(("force-path-style", "false".into()));
                }
                if s.use_accelerate_endpoint {
                    q.push(("use-accelerate-endpoint", "true".into()));
                }
                if s.object_lock_enabled {
                    q.push(("object-lock-enabled", "true".into()));
                }
                join_base("s3", &s.bucket, &s.prefix)
            }
            Self::Azure(a) => {
                opt(&mut q, "endpoint", &a.endpoint);
                opt(&mut q, "account-name", &a.account_name);
                secret(&mut q, "account-key", &a.account_key);
                secret(&mut q, "sas-token", &a.sas_token);
                opt(&mut q, "access-tier", &a.access_tier);
                opt(&mut q, "encryption-scope", &a.encryption_scope);
                secret(&mut q, "encryption-key", &a.encryption_key);
                join_base("azure", &a.container, &a.prefix)
            }
            Self::Gcs(g) => {
                opt(&mut q, "endpoint", &g.endpoint);
                opt(&mut q, "credentials-file", &g.credentials_file);
                opt(&mut q, "storage-class", &g.storage_class);
                opt(&mut q, "predefined-acl", &g.predefined_acl);
                join_base("gcs", &g.bucket, &g.prefix)
            }
        };
        if q.is_empty() {
            return base;
        }
        let query: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", escape_query_value(v)))
            .collect();
        format!("{base}?{}", query.join("&"))
    }

    /// Every secret value in this URL (for scrubbing backend messages, STORE-URL-4).
    pub fn secrets(&self) -> Vec<String> {
        let all: Vec<&Option<Secret>> = match self {
            Self::S3(s) => vec![&s.access_key, &s.secret_access_key, &s.session_token],
            Self::Azure(a) => vec![&a.account_key, &a.sas_token, &a.encryption_key],
            _ => vec![],
        };
        all.into_iter()
            .flatten()
            .map(|s| s.expose().to_string())
            .filter(|s| s.len() >= 4)
            .collect()
    }
}

impl fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for StorageUrl {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// The scheme of `raw` if it looks like `scheme:`; `None` for a bare path (STORE-URL-1).
fn scheme_of(raw: &str) -> Option<&str> {
    let colon = raw.find(':')?;
    let scheme = &raw[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let ok = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // A one-letter "scheme" would be a Windows drive; a `/` before the colon means a path.
    (ok && scheme.len() > 1).then_some(scheme)
}

fn local_from_bare(raw: &str) -> Result<StorageUrl> {
    if raw.contains('\0') {
        return Err(StorageError::bad_url("local path contains NUL"));
    }
    let p = Path::new(raw);
    let path = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| StorageError::bad_url(format!("cannot resolve relative path: {e}")))?
            .join(p)
    };
    Ok(StorageUrl::Local { path })
}

fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| StorageError::bad_url("bad percent escape in URL path"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| StorageError::bad_url("URL path is not UTF-8"))
}

fn opt(q: &mut Vec<(&'static str, String)>, k: &'static str, v: &Option<String>) {
    if let Some(v) = v {
        q.push((k, v.clone()));
    }
}

fn join_base(scheme: &str, bucket: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("{scheme}://{bucket}")
    } else {
        format!("{scheme}://{bucket}/{prefix}")
    }
}

/// Escapes only what would change how the query parses, so endpoints stay readable.
fn escape_query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '%' | '&' | '#' | '+' | '=' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// The form of a raw storage URL to show in any message or output (STORE-URL-4):
/// [`StorageUrl::redacted`] when it parses (the environment is not consulted, so nothing is
/// added), else the URL cut before its query and fragment, without user info, with
/// `?redacted` standing for the query.
pub fn redact_url(raw: &str) -> String {
    if let Ok(u) = StorageUrl::parse_with_env(raw, &|_| None) {
        return u.redacted();
    }
    let head = raw.split(['?', '#']).next().unwrap_or("");
    let head = match head.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    if raw.contains(['?', '#']) {
        format!("{head}?redacted")
    } else {
        head
    }
}

/// Whether a (normalised) query parameter name holds a secret.
pub fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.contains(&name.to_ascii_lowercase().replace('_', "-").as_str())
}
