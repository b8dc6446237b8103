//! [`RetryStorage`]: a decorator that retries temporary errors (STORE-ERR-1) with bounded,
//! jittered exponential backoff and returns permanent errors at once. Owns only the retry
//! decision; which errors are temporary is decided by the backend that produced them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::{Capabilities, ObjectMeta, Result, Storage, StorageError, StorageErrorKind};

/// How hard to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled after each further one.
    pub base_delay: Duration,
    /// Upper bound of a single delay.
    pub max_delay: Duration,
    /// Give up on one attempt after this long and count it as a temporary failure
    /// (`None` = wait as long as the backend does).
    pub attempt_timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 6 attempts, 200 ms doubling up to 10 s (about 16 s of waiting in the worst case), and
    /// 10 minutes per attempt (a 1 GiB object at under 2 MB/s is a stuck connection).
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            attempt_timeout: Some(Duration::from_secs(600)),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based): exponential, capped, with up to 25 %
    /// random jitter taken off so concurrent clients do not retry in lockstep.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_delay);
        let jitter: f64 = rand::random::<f64>() * 0.25;
        capped.mul_f64(1.0 - jitter)
    }
}

/// Retrying decorator over any storage.
#[derive(Debug)]
pub struct RetryStorage<S: Storage + ?Sized> {
    inner: Arc<S>,
    policy: RetryPolicy,
    retries: AtomicU64,
}

impl<S: Storage + ?Sized> RetryStorage<S> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<S>, policy: RetryPolicy) -> Self {
        Self {
            inner,
            policy,
            retries: AtomicU64::new(0),
        }
    }

    /// Retries performed so far, over all operations (for tests and metrics).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    async fn run<T, F, Fut>(&self, what: &'static str, name: &str, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempt = 1u32;
        loop {
            let result = match self.policy.attempt_timeout {
                Some(t) => match tokio::time::timeout(t, f()).await {
                    Ok(r) => r,
                    Err(_) => Err(StorageError::other(format!("{what} timed out after {t:?}"))
                        .with_object(name)
                        .with_url(&self.inner.display_url())
                        .with_temporary(true)),
                },
                None => f().await,
            };
            match result {
                Err(e) if e.is_temporary() && attempt < self.policy.max_attempts => {
                    let d = self.policy.delay(attempt - 1);
                    tracing::debug!(op = what, object = name, attempt, error = %e, "retrying");
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    tokio::time::sleep(d).await;
                }
                r => return r,
            }
        }
    }
}

#[async_trait]
impl<S: Storage + ?Sized> Storage for RetryStorage<S> {
    async fn read(&self, name: &str) -> Result<Bytes> {
        self.run("read", name, || self.inner.read(name)).await
    }

    async fn read_range(&self, name: &str, offset: u64, len: u64) -> Result<Bytes> {
        self.run("read_range", name, || {
            self.inner.read_range(name, offset, len)
        })
        .await
    }

    async fn write(&self, name: &str, data: Bytes) -> Result<()> {
        self.run("write", name, || self.inner.write(name, data.clone()))
            .await
    }

    async fn write_if_absent(&self, name: &str, data: Bytes) -> Result<()> {
        let failed_before = std::sync::atomic::AtomicBool::new(false);
        let r = self
            .run("write_if_absent", name, || {
                let attempt = self.inner.write_if_absent(name, data.clone());
                let flag = &failed_before;
                async move {
                    let r = attempt.await;
                    if matches!(&r, Err(e) if e.is_temporary()) {
                        flag.store(true, Ordering::Relaxed);
                    }
                    r
                }
            })
            .await;
        let failed_before = failed_before.load(Ordering::Relaxed);
        match r {
            // STORE-6: an earlier attempt may have created the object before its answer was
            // lost. If the object now holds exactly our bytes, that attempt won.
            Err(e) if e.kind == StorageErrorKind::AlreadyExists && failed_before => {
                match self.read(name).await {
                    Ok(existing) if existing == data => Ok(()),
                    _ => Err(e),
                }
            }
            r => r,
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        self.run("list", prefix, || self.inner.list(prefix)).await
    }

    async fn stat(&self, name: &str) -> Result<ObjectMeta> {
        self.run("stat", name, || self.inner.stat(name)).await
    }

    async fn delete(&self, name: &str) -> Result<()> {
        self.run("delete", name, || self.inner.delete(name)).await
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn display_url(&self) -> String {
        self.inner.display_url()
    }

    fn local_path(&self, name: &str) -> Option<std::path::PathBuf> {
        self.inner.local_path(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            attempt_timeout: None,
        };
        assert!(p.delay(0) <= Duration::from_millis(100));
        assert!(p.delay(0) >= Duration::from_millis(75));
        assert!(p.delay(2) >= Duration::from_millis(300));
        assert!(p.delay(40) <= Duration::from_millis(1000));
        assert!(p.delay(40) >= Duration::from_millis(750));
    }
}
