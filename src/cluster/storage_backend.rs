//! Carrying a storage URL to a store over gRPC. brkit sends every URL as kvproto's
//! `StorageBackend.cloud_dynamic` with `provider_name` = the backend and `attrs["url"]` = BR's
//! URL (options and credentials included, as BR sends credentials to TiKV); `local` and `noop`
//! backends from other senders are understood too. The store opens it with
//! `storage::opendal_backend::open_url`, caching one handle per URL.

use crate::proto::backup::{storage_backend::Backend, CloudDynamic, StorageBackend};
use crate::storage::url::StorageUrl;
use crate::storage::{opendal_backend, Storage, StorageError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Wraps a storage URL for a request.
/// Credentials that come from this process's environment (BR's `AZURE_STORAGE_*`, the AWS
/// SDK's `AWS_*`) are written into the URL sent, as BR sends them to TiKV: a store in another
/// process may not have the same environment.
pub fn to_backend(url: &str) -> Result<StorageBackend, StorageError> {
    let env = |k: &str| std::env::var(k).ok();
    let mut parsed = StorageUrl::parse(url)?;
    parsed.fill_env_credentials(&env);
    let sent = if parsed == StorageUrl::parse_with_env(url, &|_| None)? {
        url.to_string()
    } else {
        parsed.expose_full()
    };
    let mut attrs = HashMap::new();
    attrs.insert("url".to_string(), sent);
    Ok(StorageBackend {
        backend: Some(Backend::CloudDynamic(CloudDynamic {
            bucket: None,
            provider_name: parsed.backend_name().to_string(),
            attrs,
        })),
    })
}

/// The URL a backend names.
pub fn url_of(b: &StorageBackend) -> Result<String, StorageError> {
    match &b.backend {
        Some(Backend::CloudDynamic(c)) => c
            .attrs
            .get("url")
            .cloned()
            .ok_or_else(|| StorageError::bad_url("StorageBackend.cloud_dynamic has no attrs[\"url\"]")),
        Some(Backend::Local(l)) => Ok(format!("local://{}", l.path)),
        Some(Backend::Noop(_)) => Ok("noop://".into()),
        Some(_) => Err(StorageError::unsupported(
            "StorageBackend kinds other than local, noop and cloud_dynamic are not accepted by brkit stores",
        )),
        None => Err(StorageError::bad_url("StorageBackend is empty")),
    }
}

/// An open storage and its backend name.
type Opened = (Arc<dyn Storage>, &'static str);

/// Open storages by URL, shared by a store's requests.
#[derive(Debug, Default)]
pub struct StorageCache {
    open: Mutex<HashMap<String, Opened>>,
}

impl StorageCache {
    /// The storage and its backend name (for NAME-1/NAME-2) for a request's backend.
    pub fn get(
        &self,
        b: &StorageBackend,
    ) -> Result<(Arc<dyn Storage>, &'static str), StorageError> {
        let url = url_of(b)?;
        if let Some(s) = self.open.lock().unwrap().get(&url) {
            return Ok(s.clone());
        }
        let parsed = StorageUrl::parse(&url)?;
        let s = (opendal_backend::open(&parsed)?, parsed.backend_name());
        self.open.lock().unwrap().insert(url, s.clone());
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_round_trips_through_the_backend_message() {
        let url =
            "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&access-key=A&secret-access-key=B";
        let b = to_backend(url).unwrap();
        assert_eq!(url_of(&b).unwrap(), url);
        match b.backend {
            Some(Backend::CloudDynamic(c)) => assert_eq!(c.provider_name, "s3"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(url_of(&StorageBackend { backend: None }).is_err());
    }
}
