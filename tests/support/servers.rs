//! The real object-store servers that tests run against (scripts/test-servers.sh: moto for
//! S3, Azurite for Azure Blob, gcp-storage-emulator for GCS): which env var names each one's
//! BR storage URL, a loud skip when it is not set (a failure instead when
//! `BRKIT_REQUIRE_SERVERS` is set, as `.ci/run` does, so CI never skips), and fresh URLs with a
//! private prefix per test so tests sharing one server never see each other's objects.
#![allow(dead_code)]

/// One of the three servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    S3,
    Azure,
    Gcs,
}

impl Server {
    /// The env var holding the server's base URL (bucket, endpoint and test credentials).
    pub fn var(self) -> &'static str {
        match self {
            Server::S3 => "BRKIT_TEST_S3_URL",
            Server::Azure => "BRKIT_TEST_AZURE_URL",
            Server::Gcs => "BRKIT_TEST_GCS_URL",
        }
    }

    /// Short name for prefixes and messages.
    pub fn name(self) -> &'static str {
        match self {
            Server::S3 => "s3",
            Server::Azure => "azure",
            Server::Gcs => "gcs",
        }
    }

    /// The base URL from the environment; `None` (after a loud message) when the server is
    /// not configured. Panics instead when `BRKIT_REQUIRE_SERVERS` is set.
    pub fn base_url(self, test: &str) -> Option<String> {
        match std::env::var(self.var()) {
            Ok(u) if !u.is_empty() => Some(u),
            _ => {
                let msg = format!(
                    "SKIPPED: {test} did NOT run against {}: {} not set; run \
                     `scripts/test-servers.sh start` and `eval \"$(scripts/test-servers.sh env)\"`",
                    self.name(),
                    self.var()
                );
                if std::env::var_os("BRKIT_REQUIRE_SERVERS").is_some() {
                    panic!("BRKIT_REQUIRE_SERVERS is set but {msg}");
                }
                eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
                None
            }
        }
    }

    /// A URL below the base with a fresh prefix `<test>-<uuid>[/<sub>]`.
    pub fn fresh_url(self, test: &str) -> Option<String> {
        let base = self.base_url(test)?;
        let prefix = format!("{test}-{}", uuid::Uuid::new_v4().simple());
        Some(with_prefix(&base, &prefix))
    }
}

/// Every server, in a fixed order.
pub const ALL: [Server; 3] = [Server::S3, Server::Azure, Server::Gcs];

/// `base` with `/prefix` appended to its path (before the query).
pub fn with_prefix(base: &str, prefix: &str) -> String {
    let (head, query) = match base.find('?') {
        Some(i) => (&base[..i], &base[i..]),
        None => (base, ""),
    };
    format!("{}/{}{}", head.trim_end_matches('/'), prefix, query)
}

/// The query string of a URL (`?...`, or empty).
pub fn query_of(url: &str) -> &str {
    url.find('?').map(|i| &url[i..]).unwrap_or("")
}

/// Every value of a secret parameter of `url` (they must never be printed).
pub fn secrets_of(url: &str) -> Vec<String> {
    let q = query_of(url).trim_start_matches('?');
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| brkit::storage::url::is_secret_param(k))
        .map(|(_, v)| v.to_string())
        .collect()
}

/// The (percent-decoded only for `+`-free values) value of parameter `key` in a query string.
pub fn param(query: &str, key: &str) -> Option<String> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

/// `url` with parameter `key` set to `value`, or removed when `value` is empty.
pub fn replace_param(url: &str, key: &str, value: &str) -> String {
    let (head, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(key))
        .map(str::to_string)
        .collect();
    if !value.is_empty() {
        kept.push(format!("{key}={value}"));
    }
    if kept.is_empty() {
        head.to_string()
    } else {
        format!("{head}?{}", kept.join("&"))
    }
}
