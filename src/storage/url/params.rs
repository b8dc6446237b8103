//! Query parameters of BR storage URLs, per backend (STORE-URL-2, STORE-URL-3): BR's
//! option names and aliases, validation, and the environment fallback for Azure. Owns only
//! the parameter → field mapping; `mod.rs` owns schemes, paths and redaction.

use super::{AzureUrl, GcsUrl, S3Url, Secret};
use crate::storage::error::StorageError;
use crate::storage::Result;

/// Query parameters, keys normalised as BR does: lower case, `_` → `-` (STORE-URL-2).
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn from_url(u: &url::Url) -> Result<Self> {
        let mut v: Vec<(String, String)> = Vec::new();
        for (k, val) in u.query_pairs() {
            let key = k.to_ascii_lowercase().replace('_', "-");
            // BR takes the first value of a repeated key; a second one is almost surely a
            // mistake, so brkit refuses it instead of silently picking.
            if v.iter().any(|(e, _)| *e == key) {
                return Err(StorageError::bad_url(format!(
                    "parameter `{key}` given twice"
                )));
            }
            v.push((key, val.into_owned()));
        }
        Ok(Self(v))
    }

    pub(super) fn reject_all(&self, scheme: &str) -> Result<()> {
        match self.0.first() {
            Some((k, _)) => Err(StorageError::bad_url(format!(
                "unknown parameter `{k}` for {scheme} storage"
            ))),
            None => Ok(()),
        }
    }

    /// Calls `f` with every (key, value); `f` returns false for an unknown key.
    fn each(self, scheme: &str, mut f: impl FnMut(&str, String) -> Result<bool>) -> Result<()> {
        for (k, v) in self.0 {
            if !f(&k, v)? {
                return Err(StorageError::bad_url(format!(
                    "unknown parameter `{k}` for {scheme} storage"
                )));
            }
        }
        Ok(())
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    // Go's strconv.ParseBool, which BR uses; BR ignores a bad value, brkit refuses it.
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(StorageError::bad_url(format!(
            "parameter `{key}` must be true or false"
        ))),
    }
}

fn check_endpoint(scheme: &str, ep: &str) -> Result<()> {
    // BR (S3BackendOptions.Apply): an endpoint needs a scheme and a host.
    let u = url::Url::parse(ep).map_err(|_| {
        StorageError::bad_url(format!(
            "{scheme} parameter `endpoint` must be a URL like http://host:port"
        ))
    })?;
    if u.host_str().unwrap_or("").is_empty() {
        return Err(StorageError::bad_url(format!(
            "{scheme} parameter `endpoint` has no host"
        )));
    }
    Ok(())
}

fn bucket_prefix(scheme: &str, what: &str, host: String, path: &str) -> Result<(String, String)> {
    if host.is_empty() {
        return Err(StorageError::bad_url(format!(
            "please specify the {what} for {scheme} (e.g. {scheme}://{what}/prefix)"
        )));
    }
    let prefix = path.trim_matches('/').to_string();
    if prefix.split('/').any(|s| s == "..") || prefix.contains('\0') {
        return Err(StorageError::bad_url(format!(
            "{scheme} prefix contains `..` or NUL"
        )));
    }
    Ok((host, prefix))
}

fn some(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

fn some_secret(v: String) -> Option<Secret> {
    (!v.is_empty()).then_some(Secret(v))
}

pub(super) fn parse_s3(host: String, path: &str, params: Params) -> Result<S3Url> {
    let (bucket, prefix) = bucket_prefix("s3", "bucket", host, path)?;
    let mut s = S3Url {
        bucket,
        prefix,
        force_path_style: true,
        ..Default::default()
    };
    params.each("s3", |k, v| {
        match k {
            "endpoint" => {
                check_endpoint("s3", &v)?;
                s.endpoint = some(v)
            }
            "region" => s.region = some(v),
            "access-key" => s.access_key = some_secret(v),
            "secret-access-key" => s.secret_access_key = some_secret(v),
            "session-token" => s.session_token = some_secret(v),
            "provider" => s.provider = some(v),
            "force-path-style" => s.force_path_style = parse_bool(k, &v)?,
            "use-accelerate-endpoint" => s.use_accelerate_endpoint = parse_bool(k, &v)?,
            "storage-class" => s.storage_class = some(v),
            "sse" => s.sse = some(v),
            "sse-kms-key-id" => s.sse_kms_key_id = some(v),
            "acl" => s.acl = some(v),
            "role-arn" => s.role_arn = some(v),
            "external-id" => s.external_id = some(v),
            "profile" => s.profile = some(v),
            "object-lock-enabled" => s.object_lock_enabled = parse_bool(k, &v)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    // BR (S3BackendOptions.Apply): these providers and accelerate endpoints need virtual-host
    // style addressing (STORE-URL-3).
    if matches!(s.provider.as_deref(), Some("alibaba" | "netease")) || s.use_accelerate_endpoint {
        s.force_path_style = false;
    }
    if s.access_key.is_some() != s.secret_access_key.is_some() {
        return Err(StorageError::bad_url(
            "s3 parameters `access-key` and `secret-access-key` must be given together",
        ));
    }
    Ok(s)
}

pub(super) fn parse_azure(
    host: String,
    path: &str,
    params: Params,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AzureUrl> {
    let (container, prefix) = bucket_prefix("azure", "container", host, path)?;
    let mut a = AzureUrl {
        container,
        prefix,
        ..Default::default()
    };
    params.each("azure", |k, v| {
        match k {
            "endpoint" => {
                check_endpoint("azure", &v)?;
                a.endpoint = some(v)
            }
            "account-name" => a.account_name = some(v),
            "account-key" => a.account_key = some_secret(v),
            "sas-token" => a.sas_token = some_secret(v),
            "access-tier" => a.access_tier = some(v),
            "encryption-scope" => a.encryption_scope = some(v),
            "encryption-key" => a.encryption_key = some_secret(v),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    // BR (AzblobBackendOptions): the environment fills what the URL leaves out.
    if a.account_name.is_none() {
        a.account_name = env("AZURE_STORAGE_ACCOUNT").and_then(some);
    }
    if a.account_key.is_none() && a.sas_token.is_none() {
        a.account_key = env("AZURE_STORAGE_KEY").and_then(some_secret);
    }
    Ok(a)
}

pub(super) fn parse_gcs(host: String, path: &str, params: Params) -> Result<GcsUrl> {
    let (bucket, prefix) = bucket_prefix("gcs", "bucket", host, path)?;
    let mut g = GcsUrl {
        bucket,
        prefix,
        ..Default::default()
    };
    params.each("gcs", |k, v| {
        match k {
            "endpoint" => {
                check_endpoint("gcs", &v)?;
                g.endpoint = some(v)
            }
            "credentials-file" => g.credentials_file = some(v),
            "storage-class" => g.storage_class = some(v),
            "predefined-acl" => g.predefined_acl = some(v),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(g)
}
