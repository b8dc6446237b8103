//! Operator and test controls: status, stopping/starting a store, failpoints, shutdown.

use super::state::ClusterState;
use super::status_of;
use crate::proto::brkitpb::{self, admin_server::Admin};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct AdminService {
    pub state: Arc<ClusterState>,
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(
        &self,
        _req: Request<brkitpb::StatusRequest>,
    ) -> Result<Response<brkitpb::StatusResponse>, Status> {
        let st = self.state.clone();
        let resp = tokio::task::spawn_blocking(move || {
            let stores = st
                .stores
                .iter()
                .map(|h| {
                    let regions = st.pd.leader_regions(h.id, &[], &[]);
                    let bytes = regions
                        .iter()
                        .map(|r| h.store.approximate_size(&r.start, &r.end))
                        .sum();
                    brkitpb::StoreStatus {
                        id: h.id,
                        address: h.addr_string(),
                        up: h.is_up(),
                        leader_regions: regions.len() as u64,
                        approximate_bytes: bytes,
                    }
                })
                .collect();
            Ok::<_, crate::cluster::error::ClusterError>(brkitpb::StatusResponse {
                cluster_id: st.pd.cluster_id(),
                data_dir: st.dir.display().to_string(),
                stores,
                regions: st.pd.region_count() as u64,
                current_ts: st.read_ts()?,
            })
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| status_of(&e))?;
        Ok(Response::new(resp))
    }

    async fn set_store_state(
        &self,
        req: Request<brkitpb::SetStoreStateRequest>,
    ) -> Result<Response<brkitpb::SetStoreStateResponse>, Status> {
        let r = req.into_inner();
        self.state
            .set_store_up(r.store_id, r.up)
            .map_err(|e| status_of(&e))?;
        tracing::info!(store = r.store_id, up = r.up, "store state changed");
        Ok(Response::new(brkitpb::SetStoreStateResponse {}))
    }

    async fn set_failpoint(
        &self,
        req: Request<brkitpb::SetFailpointRequest>,
    ) -> Result<Response<brkitpb::SetFailpointResponse>, Status> {
        let r = req.into_inner();
        self.state.set_failpoint(&r.name, &r.value);
        Ok(Response::new(brkitpb::SetFailpointResponse {}))
    }

    async fn advance_ts(
        &self,
        req: Request<brkitpb::AdvanceTsRequest>,
    ) -> Result<Response<brkitpb::AdvanceTsResponse>, Status> {
        self.state
            .pd
            .advance_to(req.get_ref().ts)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(brkitpb::AdvanceTsResponse {}))
    }

    async fn shutdown(
        &self,
        _req: Request<brkitpb::ShutdownRequest>,
    ) -> Result<Response<brkitpb::ShutdownResponse>, Status> {
        let _ = self.shutdown.send(true);
        Ok(Response::new(brkitpb::ShutdownResponse {}))
    }
}
