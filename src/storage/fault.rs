//! [`FaultyStorage`]: a test decorator that injects failures described as data
//! ([`FaultRule`]s: which operation, which names, which occurrence, what happens), can
//! simulate a crash after K writes, and records every operation in a log. Production code never
//! uses it; it exists so archive writers and readers can be tested against a hostile store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::{Capabilities, ObjectMeta, Result, Storage, StorageError, StorageErrorKind};

/// A storage operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Read,
    ReadRange,
    Write,
    WriteIfAbsent,
    List,
    Stat,
    Delete,
}

/// What a firing rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Fail with a temporary error without performing the operation.
    Temporary,
    /// Fail with a permanent error without performing the operation.
    Permanent,
    /// Perform the operation, then report a temporary error (the answer was "lost").
    TemporaryAfter,
    /// Fail with `NotFound`.
    NotFound,
    /// Reads: return only the first N bytes.
    Short(usize),
    /// Reads: flip this bit of the returned data (bit `i` of byte `i / 8`, modulo the length).
    FlipBit(u64),
    /// Wait this long, then perform the operation normally.
    Delay(Duration),
}

type NamePred = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// One injection rule. Built with [`FaultRule::on`] and the builder methods.
#[derive(Clone)]
pub struct FaultRule {
    /// Operations the rule applies to (empty = all).
    pub ops: Vec<Op>,
    /// Names the rule applies to (`None` = all). For `list` the name is the prefix.
    pub names: Option<NamePred>,
    /// Fire only on the n-th matching operation (1-based).
    pub nth: Option<u64>,
    /// Fire on at most this many matching operations (`None` = unlimited).
    pub times: Option<u64>,
    /// What happens when the rule fires.
    pub outcome: Outcome,
}

impl std::fmt::Debug for FaultRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultRule")
            .field("ops", &self.ops)
            .field("names", &self.names.as_ref().map(|_| "<predicate>"))
            .field("nth", &self.nth)
            .field("times", &self.times)
            .field("outcome", &self.outcome)
            .finish()
    }
}

impl FaultRule {
    /// A rule for one operation, on every name, firing every time, failing temporarily.
    pub fn on(op: Op) -> Self {
        Self {
            ops: vec![op],
            names: None,
            nth: None,
            times: None,
            outcome: Outcome::Temporary,
        }
    }
    /// A rule for every operation.
    pub fn any_op() -> Self {
        Self {
            ops: Vec::new(),
            ..Self::on(Op::Read)
        }
    }
    /// Also applies to `op`.
    pub fn or(mut self, op: Op) -> Self {
        self.ops.push(op);
        self
    }
    /// Only names starting with `prefix`.
    pub fn matching(self, prefix: &str) -> Self {
        let p = prefix.to_string();
        self.matching_fn(move |n| n.starts_with(&p))
    }
    /// Only names for which `f` is true.
    pub fn matching_fn(mut self, f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.names = Some(Arc::new(f));
        self
    }
    /// Only the n-th matching operation (1-based).
    pub fn nth(mut self, n: u64) -> Self {
        self.nth = Some(n);
        self
    }
    /// At most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
    /// What happens.
    pub fn outcome(mut self, o: Outcome) -> Self {
        self.outcome = o;
        self
    }

    fn matches(&self, op: Op, name: &str) -> bool {
        (self.ops.is_empty() || self.ops.contains(&op))
            && self.names.as_ref().is_none_or(|f| f(name))
    }
}

/// One logged operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub op: Op,
    /// Object name (prefix for `list`).
    pub name: String,
    /// The operation returned an error (injected or real).
    pub failed: bool,
}

/// The fault-injecting decorator.
#[derive(Debug)]
pub struct FaultyStorage<S: Storage + ?Sized = dyn Storage> {
    inner: Arc<S>,
    rules: Vec<(FaultRule, AtomicU64, AtomicU64)>,
    crash_after: Option<u64>,
    writes: AtomicU64,
    log: Mutex<Vec<LogEntry>>,
}

impl<S: Storage + ?Sized> FaultyStorage<S> {
    /// Wraps `inner` with `rules` (checked in order; the first firing rule wins).
    pub fn new(inner: Arc<S>, rules: Vec<FaultRule>) -> Self {
        Self {
            inner,
            rules: rules
                .into_iter()
                .map(|r| (r, AtomicU64::new(0), AtomicU64::new(0)))
                .collect(),
            crash_after: None,
            writes: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Simulates a crash: after `k` successful writes, every further operation fails
    /// permanently and nothing reaches the inner storage.
    pub fn crash_after_writes(mut self, k: u64) -> Self {
        self.crash_after = Some(k);
        self
    }

    /// Every operation so far, in order.
    pub fn log(&self) -> Vec<LogEntry> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    fn record(&self, op: Op, name: &str, failed: bool) {
        if let Ok(mut l) = self.log.lock() {
            l.push(LogEntry {
                op,
                name: name.to_string(),
                failed,
            });
        }
    }

    /// The outcome of the first rule that fires for this operation, if any.
    fn fire(&self, op: Op, name: &str) -> Option<Outcome> {
        for (rule, seen, fired) in &self.rules {
            if !rule.matches(op, name) {
                continue;
            }
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            if rule.nth.is_some_and(|k| k != n) {
                continue;
            }
            if rule
                .times
                .is_some_and(|t| fired.load(Ordering::SeqCst) >= t)
            {
                continue;
            }
            fired.fetch_add(1, Ordering::SeqCst);
            return Some(rule.outcome);
        }
        None
    }

    fn crashed(&self) -> bool {
        self.crash_after
            .is_some_and(|k| self.writes.load(Ordering::SeqCst) >= k)
    }

    async fn run<T, Fut>(
        &self,
        op: Op,
        name: &str,
        call: impl FnOnce() -> Fut,
        mangle: impl FnOnce(T, Outcome) -> T,
    ) -> Result<T>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        let injected = |temporary: bool, what: &str| {
            StorageError::other(format!("injected fault: {what}"))
                .with_object(name)
                .with_url(&self.inner.display_url())
                .with_temporary(temporary)
        };
        if self.crashed() {
            self.record(op, name, true);
            return Err(injected(false, "simulated crash"));
        }
        let outcome = self.fire(op, name);
        let r = match outcome {
            Some(Outcome::Temporary) => Err(injected(true, "temporary")),
            Some(Outcome::Permanent) => Err(injected(false, "permanent")),
            Some(Outcome::NotFound) => Err(StorageError::new(
                StorageErrorKind::NotFound,
                "injected fault: not found",
            )
            .with_object(name)),
            Some(Outcome::TemporaryAfter) => match call().await {
                Ok(_) => Err(injected(true, "answer lost after the operation")),
                Err(e) => Err(e),
            },
            Some(Outcome::Delay(d)) => {
                tokio::time::sleep(d).await;
                call().await
            }
            Some(o @ (Outcome::Short(_) | Outcome::FlipBit(_))) => {
                call().await.map(|v| mangle(v, o))
            }
            None => call().await,
        };
        let is_write = matches!(op, Op::Write | Op::WriteIfAbsent);
        if is_write && r.is_ok() {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        self.record(op, name, r.is_err());
        r
    }
}

fn mangle_bytes(b: Bytes, o: Outcome) -> Bytes {
    match o {
        Outcome::Short(n) => b.slice(..n.min(b.len())),
        Outcome::FlipBit(bit) if !b.is_empty() => {
            let mut v = b.to_vec();
            let bits = (v.len() as u64).saturating_mul(8);
            let bit = bit % bits;
            let i = usize::try_from(bit / 8).unwrap_or(0);
            v[i] ^= 1 << (bit % 8);
            Bytes::from(v)
        }
        _ => b,
    }
}

fn keep<T>(v: T, _: Outcome) -> T {
    v
}

#[async_trait]
impl<S: Storage + ?Sized> Storage for FaultyStorage<S> {
    async fn read(&self, name: &str) -> Result<Bytes> {
        self.run(Op::Read, name, || self.inner.read(name), mangle_bytes)
            .await
    }

    async fn read_range(&self, name: &str, offset: u64, len: u64) -> Result<Bytes> {
        self.run(
            Op::ReadRange,
            name,
            || self.inner.read_range(name, offset, len),
            mangle_bytes,
        )
        .await
    }

    async fn write(&self, name: &str, data: Bytes) -> Result<()> {
        self.run(Op::Write, name, || self.inner.write(name, data), keep)
            .await
    }

    async fn write_if_absent(&self, name: &str, data: Bytes) -> Result<()> {
        self.run(
            Op::WriteIfAbsent,
            name,
            || self.inner.write_if_absent(name, data),
            keep,
        )
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        self.run(Op::List, prefix, || self.inner.list(prefix), keep)
            .await
    }

    async fn stat(&self, name: &str) -> Result<ObjectMeta> {
        self.run(Op::Stat, name, || self.inner.stat(name), keep)
            .await
    }

    async fn delete(&self, name: &str) -> Result<()> {
        self.run(Op::Delete, name, || self.inner.delete(name), keep)
            .await
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
