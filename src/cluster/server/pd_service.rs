//! PD's gRPC service over the placement state (TSO behind the commit barrier, stores,
//! regions, split/scatter with their data moves, GC safepoints, ids).

use super::state::ClusterState;
use super::status_of;
use crate::proto::metapb;
use crate::proto::pdpb::{self, pd_server::Pd};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct PdService {
    pub state: Arc<ClusterState>,
}

impl PdService {
    fn header(&self) -> Option<pdpb::ResponseHeader> {
        Some(pdpb::ResponseHeader {
            cluster_id: self.state.pd.cluster_id(),
            error: None,
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ClusterState) -> crate::cluster::error::Result<T> + Send + 'static,
    ) -> Result<T, Status> {
        let st = self.state.clone();
        tokio::task::spawn_blocking(move || f(&st))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| status_of(&e))
    }
}

fn region_info(r: &crate::cluster::Region) -> pdpb::RegionInfo {
    pdpb::RegionInfo {
        region: Some(r.to_proto()),
        leader: Some(r.leader_peer()),
    }
}

#[tonic::async_trait]
impl Pd for PdService {
    async fn tso(
        &self,
        req: Request<pdpb::TsoRequest>,
    ) -> Result<Response<pdpb::TsoResponse>, Status> {
        let count = req.get_ref().count;
        let ts = self.blocking(move |s| s.tso(count)).await?;
        Ok(Response::new(pdpb::TsoResponse {
            header: self.header(),
            count,
            timestamp: Some(pdpb::Timestamp {
                physical: crate::codec::tso::physical(ts) as i64,
                logical: crate::codec::tso::logical(ts) as i64,
            }),
        }))
    }

    async fn get_all_stores(
        &self,
        _req: Request<pdpb::GetAllStoresRequest>,
    ) -> Result<Response<pdpb::GetAllStoresResponse>, Status> {
        let stores = self
            .state
            .stores
            .iter()
            .map(|h| metapb::Store {
                id: h.id,
                address: h.addr_string(),
                state: if h.is_up() {
                    metapb::StoreState::Up as i32
                } else {
                    metapb::StoreState::Offline as i32
                },
            })
            .collect();
        Ok(Response::new(pdpb::GetAllStoresResponse {
            header: self.header(),
            stores,
        }))
    }

    async fn scan_regions(
        &self,
        req: Request<pdpb::ScanRegionsRequest>,
    ) -> Result<Response<pdpb::ScanRegionsResponse>, Status> {
        let r = req.into_inner();
        let mut regions: Vec<_> = self
            .state
            .pd
            .regions_in(&r.start_key, &r.end_key)
            .iter()
            .map(region_info)
            .collect();
        if r.limit > 0 {
            regions.truncate(r.limit as usize);
        }
        Ok(Response::new(pdpb::ScanRegionsResponse {
            header: self.header(),
            regions,
        }))
    }

    async fn get_region_by_id(
        &self,
        req: Request<pdpb::GetRegionByIdRequest>,
    ) -> Result<Response<pdpb::GetRegionResponse>, Status> {
        let r = self.state.pd.region_by_id(req.get_ref().region_id);
        Ok(Response::new(pdpb::GetRegionResponse {
            header: self.header(),
            region: r.as_ref().map(|r| r.to_proto()),
            leader: r.as_ref().map(|r| r.leader_peer()),
        }))
    }

    async fn split_regions(
        &self,
        req: Request<pdpb::SplitRegionsRequest>,
    ) -> Result<Response<pdpb::SplitRegionsResponse>, Status> {
        let keys = req.into_inner().split_keys;
        let ids = self.blocking(move |s| s.split(&keys)).await?;
        Ok(Response::new(pdpb::SplitRegionsResponse {
            header: self.header(),
            finished_percentage: 100,
            regions_id: ids,
        }))
    }

    async fn scatter_region(
        &self,
        req: Request<pdpb::ScatterRegionRequest>,
    ) -> Result<Response<pdpb::ScatterRegionResponse>, Status> {
        let ids = req.into_inner().regions_id;
        self.blocking(move |s| s.scatter(&ids)).await?;
        Ok(Response::new(pdpb::ScatterRegionResponse {
            header: self.header(),
            finished_percentage: 100,
        }))
    }

    async fn get_gc_safe_point(
        &self,
        _req: Request<pdpb::GetGcSafePointRequest>,
    ) -> Result<Response<pdpb::GetGcSafePointResponse>, Status> {
        Ok(Response::new(pdpb::GetGcSafePointResponse {
            header: self.header(),
            safe_point: self.state.pd.gc_safepoint(),
        }))
    }

    async fn update_gc_safe_point(
        &self,
        req: Request<pdpb::UpdateGcSafePointRequest>,
    ) -> Result<Response<pdpb::UpdateGcSafePointResponse>, Status> {
        let sp = req.get_ref().safe_point;
        let new = self
            .state
            .pd
            .update_gc_safepoint(sp)
            .map_err(|e| Status::failed_precondition(e.to_string()))?;
        Ok(Response::new(pdpb::UpdateGcSafePointResponse {
            header: self.header(),
            new_safe_point: new,
        }))
    }

    async fn update_service_gc_safe_point(
        &self,
        req: Request<pdpb::UpdateServiceGcSafePointRequest>,
    ) -> Result<Response<pdpb::UpdateServiceGcSafePointResponse>, Status> {
        let r = req.into_inner();
        let id = String::from_utf8_lossy(&r.service_id).into_owned();
        let min = self
            .state
            .pd
            .update_service_safepoint(&id, r.ttl, r.safe_point)
            .map_err(|e| Status::failed_precondition(e.to_string()))?;
        Ok(Response::new(pdpb::UpdateServiceGcSafePointResponse {
            header: self.header(),
            service_id: r.service_id,
            ttl: r.ttl,
            min_safe_point: min,
        }))
    }

    async fn alloc_id(
        &self,
        _req: Request<pdpb::AllocIdRequest>,
    ) -> Result<Response<pdpb::AllocIdResponse>, Status> {
        let id = self
            .state
            .pd
            .alloc_id()
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pdpb::AllocIdResponse {
            header: self.header(),
            id,
        }))
    }
}
