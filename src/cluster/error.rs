//! Errors of the cluster's gRPC edge: connecting, RPC failures (with the store or service that
//! failed), region errors the caller should retry, and errors of the parts below.

use crate::proto::errorpb;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach the cluster at {addr}: {detail}")]
    Connect { addr: String, detail: String },
    #[error("{service} at {addr}: {status}")]
    Rpc {
        service: &'static str,
        addr: String,
        status: String,
    },
    #[error("store {store_id} at {addr} is unavailable: {detail}")]
    StoreUnavailable {
        store_id: u64,
        addr: String,
        detail: String,
    },
    #[error("region error: {0}")]
    Region(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
    #[error(transparent)]
    Pd(#[from] super::pd::PdError),
    #[error(transparent)]
    Catalog(#[from] super::catalog::CatalogError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    #[error(transparent)]
    Codec(#[from] crate::codec::CodecError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// A one-line description of a region error, for logs and retries.
pub fn describe_region_error(e: &errorpb::Error) -> String {
    if let Some(n) = &e.epoch_not_match {
        return format!(
            "epoch not match ({} current regions): {}",
            n.current_regions.len(),
            e.message
        );
    }
    if let Some(n) = &e.not_leader {
        return format!(
            "region {} not led by this store: {}",
            n.region_id, e.message
        );
    }
    if let Some(n) = &e.region_not_found {
        return format!("region {} not found: {}", n.region_id, e.message);
    }
    if e.key_not_in_region.is_some() {
        return format!("key not in region: {}", e.message);
    }
    e.message.clone()
}
