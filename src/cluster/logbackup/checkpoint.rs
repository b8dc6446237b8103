//! Reporting a durable flush and publishing the global checkpoint: the store reports its
//! resolved ts to the placement driver (after its data and `.meta` are written, LOG-2), which
//! answers with the global checkpoint (the minimum over stores, persisted in `pd.json`); the
//! store writes it to `v1/global_checkpoint/{store_id}.ts` (LOG-NAME-9, 8-byte LE, LOG-CKPT-1)
//! whenever it is newer than what it last wrote there (LOG-CKPT-2).

use super::observer::StoreObserver;
use crate::cluster::error::{ClusterError, Result};
use crate::cluster::server::state::ClusterState;
use crate::format::logmeta::encode_global_checkpoint;
use crate::format::naming::log::build_global_checkpoint_path;
use crate::storage::Storage;
use bytes::Bytes;
use std::sync::Arc;

/// Reports `resolved_ts` for the observer's store and writes the store's checkpoint file
/// when the global checkpoint advanced. Returns the global checkpoint.
pub async fn report(
    state: &Arc<ClusterState>,
    obs: &StoreObserver,
    task: &str,
    storage: &Arc<dyn Storage>,
    resolved_ts: u64,
) -> Result<u64> {
    let (st, t, store_id) = (state.clone(), task.to_string(), obs.store_id);
    let ckpt =
        tokio::task::spawn_blocking(move || st.pd.report_log_flush(&t, store_id, resolved_ts))
            .await
            .map_err(|e| ClusterError::Invalid(format!("checkpoint worker: {e}")))??;
    if obs.checkpoint_advanced(ckpt) {
        storage
            .write(
                &build_global_checkpoint_path(store_id),
                Bytes::copy_from_slice(&encode_global_checkpoint(ckpt)),
            )
            .await?;
        obs.set_written_checkpoint(ckpt);
    }
    Ok(ckpt)
}
