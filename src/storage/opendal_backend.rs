//! [`OpendalStorage`]: the one [`Storage`] implementation for real backends (fs, memory, s3,
//! azblob, gcs) over opendal, and [`open`], which turns a [`StorageUrl`] into a storage.
//! Owns the per-service configuration and the STORE-* guarantees opendal does not give by
//! itself (fs write atomicity, sorted recursive object-only listing, strict range reads).
//! Knows nothing of archive layouts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use opendal::Operator;

use super::error::{StorageError, StorageErrorKind};
use super::fs_atomic::{fs_write, is_fs_tmp};
use super::noop::NoopStorage;
use super::retry::{RetryPolicy, RetryStorage};
use super::url::StorageUrl;
use super::{check_name, check_prefix, Capabilities, ObjectMeta, Result, Storage};

/// Content type sent on object stores that want one (GCS emulators refuse writes without).
const CONTENT_TYPE: &str = "application/octet-stream";

/// Opens the storage a URL names. `noop://` gives a [`NoopStorage`]; `local://` and
/// `memory://` an [`OpendalStorage`]; the object stores (s3, azure, gcs) an [`OpendalStorage`]
/// behind a [`RetryStorage`] with the default [`RetryPolicy`] (STORE-ERR-1): over a network,
/// a refused connection, a timeout or a 503 is routine, and every caller (the CLI, the
/// cluster's stores) gets the retries.
pub fn open(url: &StorageUrl) -> Result<Arc<dyn Storage>> {
    open_with_policy(url, RetryPolicy::default())
}

fn open_with_policy(url: &StorageUrl, policy: RetryPolicy) -> Result<Arc<dyn Storage>> {
    match url {
        StorageUrl::Noop => Ok(Arc::new(NoopStorage)),
        StorageUrl::Local { .. } | StorageUrl::Memory { .. } => {
            Ok(Arc::new(OpendalStorage::new(url)?))
        }
        StorageUrl::S3(_) | StorageUrl::Azure(_) | StorageUrl::Gcs(_) => Ok(Arc::new(
            RetryStorage::new(Arc::new(OpendalStorage::new(url)?), policy),
        )),
    }
}

/// Parses a BR storage URL and opens it ([`StorageUrl::parse`] then [`open`]).
pub fn open_url(raw: &str) -> Result<Arc<dyn Storage>> {
    open(&StorageUrl::parse(raw)?)
}

/// Parses and opens a BR storage URL behind a [`RetryStorage`] with `policy`, whatever the
/// backend (object stores get this one layer, not two).
pub fn open_with_retry(raw: &str, policy: RetryPolicy) -> Result<Arc<dyn Storage>> {
    let url = StorageUrl::parse(raw)?;
    match url {
        StorageUrl::S3(_) | StorageUrl::Azure(_) | StorageUrl::Gcs(_) => {
            open_with_policy(&url, policy)
        }
        _ => Ok(Arc::new(RetryStorage::new(open(&url)?, policy))),
    }
}

/// A storage over one opendal operator.
#[derive(Clone)]
pub struct OpendalStorage {
    op: Operator,
    backend: &'static str,
    redacted: String,
    secrets: Vec<String>,
    /// Set for the local backend: writes go through temp file + rename (STORE-3).
    fs_root: Option<PathBuf>,
    caps: Capabilities,
    content_type: bool,
    /// `write_if_absent` may use opendal's `if_not_exists`.
    conditional: bool,
}

impl std::fmt::Debug for OpendalStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpendalStorage")
            .field("url", &self.redacted)
            .finish()
    }
}

fn memory_registry() -> &'static Mutex<HashMap<String, Operator>> {
    static REG: OnceLock<Mutex<HashMap<String, Operator>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Root given to opendal for a bucket prefix: `/prefix/` (or `/`).
fn root_of(prefix: &str) -> String {
    if prefix.is_empty() {
        "/".to_string()
    } else {
        format!("/{prefix}/")
    }
}

impl OpendalStorage {
    /// Builds the operator for a parsed URL. Nothing is contacted yet; `noop` is refused here
    /// (use [`open`]).
    pub fn new(url: &StorageUrl) -> Result<Self> {
        // Installs the process-wide HTTP transport (reqwest) that the s3/azblob/gcs services
        // need; idempotent, and the first installed transport wins.
        opendal::install_default();
        let redacted = url.redacted();
        let mut secrets = url.secrets();
        secrets.extend(env_secrets(url));
        let fail = |e: opendal::Error| {
            let mut err = StorageError::from(e).with_url(&redacted);
            scrub(&mut err, &secrets);
            err
        };
        let mut fs_root = None;
        let mut content_type = false;
        let mut endpoint_known = true;
        let op = match url {
            StorageUrl::Noop => {
                return Err(StorageError::unsupported("noop storage has no operator"))
            }
            StorageUrl::Local { path } => {
                let root = path.to_string_lossy().to_string();
                fs_root = Some(path.clone());
                Operator::new(opendal::services::Fs::default().root(&root)).map_err(fail)?
            }
            StorageUrl::Memory { name } => {
                let mut reg = memory_registry()
                    .lock()
                    .map_err(|_| StorageError::other("memory registry poisoned"))?;
                match reg.get(name) {
                    Some(op) => op.clone(),
                    None => {
                        let op = Operator::new(opendal::services::Memory::default().root("/"))
                            .map_err(fail)?;
                        reg.insert(name.clone(), op.clone());
                        op
                    }
                }
            }
            StorageUrl::S3(s) => {
                let mut b = opendal::services::S3::default()
                    .bucket(&s.bucket)
                    .root(&root_of(&s.prefix))
                    .region(s.region.as_deref().unwrap_or("us-east-1"));
                if let Some(ep) = &s.endpoint {
                    b = b.endpoint(ep);
                    // Only AWS is known to honour If-None-Match on PUT; other S3 servers may
                    // ignore it (STORE-6).
                    endpoint_known = false;
                }
                if let (Some(ak), Some(sk)) = (&s.access_key, &s.secret_access_key) {
                    b = b.access_key_id(ak.expose()).secret_access_key(sk.expose());
                }
                if let Some(t) = &s.session_token {
                    b = b.session_token(t.expose());
                }
                if let Some(p) = &s.profile {
                    b = b.profile(p);
                }
                if let Some(r) = &s.role_arn {
                    b = b.role_arn(r);
                }
                if let Some(x) = &s.external_id {
                    b = b.external_id(x);
                }
                if let Some(c) = &s.storage_class {
                    b = b.default_storage_class(c);
                }
                if let Some(sse) = &s.sse {
                    b = b.server_side_encryption(sse);
                }
                if let Some(k) = &s.sse_kms_key_id {
                    b = b.server_side_encryption_aws_kms_key_id(k);
                }
                if let Some(acl) = &s.acl {
                    b = b.default_acl(acl);
                }
                if !s.force_path_style {
                    b = b.enable_virtual_host_style();
                }
                Operator::new(b).map_err(fail)?
            }
            StorageUrl::Azure(a) => {
                let mut b = opendal::services::Azblob::default()
                    .container(&a.container)
                    .root(&root_of(&a.prefix));
                let endpoint = match (&a.endpoint, &a.account_name) {
                    (Some(ep), _) => ep.clone(),
                    (None, Some(acct)) => format!("https://{acct}.blob.core.windows.net"),
                    (None, None) => {
                        return Err(StorageError::bad_url(
                            "azure needs `account-name` (or env AZURE_STORAGE_ACCOUNT) or \
                             `endpoint`",
                        )
                        .with_url(&redacted))
                    }
                };
                b = b.endpoint(&endpoint);
                if let Some(n) = &a.account_name {
                    b = b.account_name(n);
                }
                if let Some(k) = &a.account_key {
                    b = b.account_key(k.expose());
                }
                if let Some(t) = &a.sas_token {
                    b = b.sas_token(t.expose());
                }
                if let Some(k) = &a.encryption_key {
                    b = b.encryption_key(k.expose());
                }
                Operator::new(b).map_err(fail)?
            }
            StorageUrl::Gcs(g) => {
                content_type = true;
                let mut b = opendal::services::Gcs::default()
                    .bucket(&g.bucket)
                    .root(&root_of(&g.prefix));
                if let Some(ep) = &g.endpoint {
                    b = b.endpoint(ep);
                    // Emulators (gcp-storage-emulator) ignore ifGenerationMatch=0 (STORE-6).
                    endpoint_known = false;
                }
                match &g.credentials_file {
                    Some(f) => b = b.credential_path(f),
                    // Emulators (an explicit endpoint and no credentials): no auth at all.
                    None if g.endpoint.is_some() => {
                        b = b
                            .skip_signature()
                            .disable_vm_metadata()
                            .disable_config_load()
                    }
                    None => {}
                }
                if let Some(c) = &g.storage_class {
                    b = b.default_storage_class(c);
                }
                if let Some(acl) = &g.predefined_acl {
                    b = b.predefined_acl(acl);
                }
                Operator::new(b).map_err(fail)?
            }
        };
        let native = op.info().capability();
        let conditional = native.write_with_if_not_exists && fs_root.is_none();
        let caps = Capabilities {
            atomic_create: if fs_root.is_some() {
                true // hard link of a complete temp file, see fs_write_if_absent
            } else {
                conditional && endpoint_known
            },
            local_files: fs_root.is_some(),
        };
        Ok(Self {
            op,
            backend: url.backend_name(),
            redacted,
            secrets,
            fs_root,
            caps,
            content_type,
            conditional,
        })
    }

    /// The backend name (`StorageUrl::backend_name`).
    pub fn backend_name(&self) -> &'static str {
        self.backend
    }

    /// The underlying opendal operator (e.g. to add layers).
    pub fn operator(&self) -> &Operator {
        &self.op
    }

    fn err(&self, e: opendal::Error, name: &str) -> StorageError {
        let mut err = StorageError::from(e)
            .with_object(name)
            .with_url(&self.redacted);
        scrub(&mut err, &self.secrets);
        err
    }

    /// Maps a failed read. opendal's fs service reports reading a directory as an unexpected
    /// *temporary* error; on fs the path itself decides (STORE-7: no object there).
    fn read_err(&self, e: opendal::Error, name: &str) -> StorageError {
        let err = self.err(e, name);
        if self.fs_lacks(name, |m| m.is_file()) {
            return StorageError::not_found(name).with_url(&self.redacted);
        }
        err
    }

    /// On fs: true if nothing of the wanted type (`want` on its metadata) is at `name`,
    /// including when a parent is a file. Always false on other backends.
    fn fs_lacks(&self, name: &str, want: impl Fn(&std::fs::Metadata) -> bool) -> bool {
        let Some(root) = &self.fs_root else {
            return false;
        };
        match std::fs::metadata(root.join(name)) {
            Ok(m) => !want(&m),
            Err(io) => matches!(
                io.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ),
        }
    }

    fn io_err(&self, e: &std::io::Error, name: &str) -> StorageError {
        StorageError::from_io(e, name).with_url(&self.redacted)
    }

    async fn put(&self, name: &str, data: Bytes, if_not_exists: bool) -> Result<()> {
        let mut w = self.op.write_with(name, data);
        if self.content_type {
            w = w.content_type(CONTENT_TYPE);
        }
        if if_not_exists {
            w = w.if_not_exists(true);
        }
        w.await.map(|_| ()).map_err(|e| self.err(e, name))
    }
}

/// Secrets a backend may load from the environment by itself (opendal's credential chains),
/// so that they are scrubbed from its errors too (STORE-URL-4).
fn env_secrets(url: &StorageUrl) -> Vec<String> {
    let vars: &[&str] = match url {
        StorageUrl::S3(_) => &["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"],
        StorageUrl::Azure(_) => &[
            "AZURE_STORAGE_KEY",
            "AZURE_STORAGE_SAS_TOKEN",
            "AZURE_CLIENT_SECRET",
            "AZBLOB_ACCOUNT_KEY",
        ],
        _ => &[],
    };
    vars.iter()
        .filter_map(|v| std::env::var(v).ok())
        .filter(|s| s.len() >= 4)
        .collect()
}

/// Removes every known secret value from an error's text (STORE-URL-4).
/// Request URIs in opendal's error context carry a SAS token verbatim or percent-encoded, so
/// both spellings are removed.
fn scrub(err: &mut StorageError, secrets: &[String]) {
    for s in secrets {
        let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        for form in [s.as_str(), encoded.as_str()] {
            if err.detail.contains(form) {
                err.detail = err.detail.replace(form, "redacted");
            }
        }
    }
}

#[async_trait]
impl Storage for OpendalStorage {
    async fn read(&self, name: &str) -> Result<Bytes> {
        check_name(name)?;
        let buf = self
            .op
            .read(name)
            .await
            .map_err(|e| self.read_err(e, name))?;
        Ok(buf.to_bytes())
    }

    async fn read_range(&self, name: &str, offset: u64, len: u64) -> Result<Bytes> {
        check_name(name)?;
        let Some(end) = offset.checked_add(len) else {
            return Err(
                StorageError::truncated(name, "range end overflows").with_url(&self.redacted)
            );
        };
        if len == 0 {
            // STORE-4: an empty range is valid only within the object.
            let size = self.stat(name).await?.size;
            if offset > size {
                return Err(StorageError::truncated(
                    name,
                    format!("offset {offset} past end {size}"),
                )
                .with_url(&self.redacted));
            }
            return Ok(Bytes::new());
        }
        let buf = match self.op.read_with(name).range(offset..end).await {
            Ok(b) => b,
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Err(self.err(e, name)),
            Err(e) => {
                // STORE-4: services answer a range past the end with 416 or a short body
                // (which opendal reports as "reader got too little data"); the size decides.
                let err = self.read_err(e, name);
                if err.kind == StorageErrorKind::NotFound {
                    return Err(err);
                }
                return match self.op.stat(name).await {
                    Ok(m) if end > m.content_length() => Err(StorageError::truncated(
                        name,
                        format!("range {offset}..{end} past end {}", m.content_length()),
                    )
                    .with_url(&self.redacted)),
                    _ => Err(err),
                };
            }
        };
        if buf.len() as u64 != len {
            return Err(StorageError::truncated(
                name,
                format!("wanted {len} bytes at {offset}, got {}", buf.len()),
            )
            .with_url(&self.redacted));
        }
        Ok(buf.to_bytes())
    }

    async fn write(&self, name: &str, data: Bytes) -> Result<()> {
        check_name(name)?;
        match &self.fs_root {
            Some(root) => fs_write(root, name, data, false)
                .await
                .map_err(|e| self.io_err(&e, name)),
            None => self.put(name, data, false).await,
        }
    }

    async fn write_if_absent(&self, name: &str, data: Bytes) -> Result<()> {
        check_name(name)?;
        if let Some(root) = &self.fs_root {
            return fs_write(root, name, data, true)
                .await
                .map_err(|e| self.io_err(&e, name));
        }
        // STORE-6: check first even when the service has a conditional create, because some
        // S3-compatible servers silently ignore If-None-Match.
        match self.op.stat(name).await {
            Ok(_) => return Err(StorageError::already_exists(name).with_url(&self.redacted)),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
            Err(e) => return Err(self.err(e, name)),
        }
        self.put(name, data, self.conditional).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        check_prefix(prefix)?;
        // STORE-5: list the directory part recursively, keep objects under the full prefix.
        let dir = match prefix.rfind('/') {
            Some(i) => &prefix[..=i],
            None => "",
        };
        let entries = match self.op.list_with(dir).recursive(true).await {
            Ok(v) => v,
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Vec::new(),
            Err(_) if !dir.is_empty() && self.fs_lacks(dir, |m| m.is_dir()) => Vec::new(),
            Err(e) => return Err(self.err(e, prefix)),
        };
        let mut out: Vec<ObjectMeta> = entries
            .into_iter()
            .filter(|e| !e.metadata().is_dir() && !e.path().ends_with('/'))
            .map(|e| {
                let name = e.path().trim_start_matches('/').to_string();
                ObjectMeta {
                    size: e.metadata().content_length(),
                    name,
                }
            })
            .filter(|m| m.name.starts_with(prefix) && !is_fs_tmp(&m.name))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        Ok(out)
    }

    async fn stat(&self, name: &str) -> Result<ObjectMeta> {
        check_name(name)?;
        let m = self
            .op
            .stat(name)
            .await
            .map_err(|e| self.read_err(e, name))?;
        if m.is_dir() {
            return Err(StorageError::not_found(name)
                .with_url(&self.redacted)
                .with_temporary(false));
        }
        Ok(ObjectMeta {
            name: name.to_string(),
            size: m.content_length(),
        })
    }

    async fn delete(&self, name: &str) -> Result<()> {
        check_name(name)?;
        match self.op.delete(name).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(()),
            Err(_) if self.fs_lacks(name, |m| m.is_file()) => Ok(()),
            Err(e) => Err(self.err(e, name)),
        }
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    fn display_url(&self) -> String {
        self.redacted.clone()
    }

    fn local_path(&self, name: &str) -> Option<PathBuf> {
        let root = self.fs_root.as_ref()?;
        check_name(name).ok()?;
        Some(root.join(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_url_4_backend_errors_are_scrubbed_of_secrets() {
        let mut e = StorageError::other("403: signature for key AKSECRET1 with SKSECRET2 failed");
        scrub(&mut e, &["AKSECRET1".to_string(), "SKSECRET2".to_string()]);
        assert_eq!(
            e.detail,
            "403: signature for key redacted with redacted failed"
        );
        let mut e = StorageError::other("uri: http://h/c/x?key=a%2Bb%2Fc%3D&x=1");
        scrub(&mut e, &["a+b/c=".to_string()]);
        assert_eq!(e.detail, "uri: http://h/c/x?key=redacted&x=1");
    }

    #[tokio::test]
    async fn store_6_s3_with_custom_endpoint_does_not_claim_atomic_create() {
        let u =
            StorageUrl::parse_with_env("s3://b/p?endpoint=http://127.0.0.1:1", &|_| None).unwrap();
        let s = OpendalStorage::new(&u).unwrap();
        assert!(!s.capabilities().atomic_create);
        let u = StorageUrl::parse_with_env("s3://b/p?region=eu-west-1", &|_| None).unwrap();
        assert!(
            OpendalStorage::new(&u)
                .unwrap()
                .capabilities()
                .atomic_create
        );
    }
}
