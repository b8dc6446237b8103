//! The hook for automatic merging of small log data objects during a task (issue 5: "and
//! automatically during the task when enough small objects exist"). The merge itself
//! (`engine::log::merge::merge_small_objects`) lives in the engine layer, which the
//! cluster may not name (tests/layering.rs), so the server takes it as a trait object.
//!
//! `brtool cluster start` installs the engine's merge (`cli/cluster.rs`, `EngineMerger`).

use crate::storage::Storage;
use std::sync::Arc;

/// Default: merge once a store has written this many data objects since the last merge.
pub const DEFAULT_MERGE_AFTER_OBJECTS: u64 = 64;
/// Default target size of merged objects (issue 5: at least 128 MiB).
pub const DEFAULT_MERGE_TARGET_BYTES: u64 = 128 << 20;

/// Rewrites small data objects of a log archive into objects of at least `target_bytes`.
/// Called from the flush loop, at most one call at a time per cluster; an error is logged
/// and the task goes on (merging is an optimisation, never needed for correctness).
#[async_trait::async_trait]
pub trait SmallObjectMerger: Send + Sync {
    async fn merge(&self, storage: Arc<dyn Storage>, target_bytes: u64) -> Result<(), String>;
}
