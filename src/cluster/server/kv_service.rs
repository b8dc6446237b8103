//! brkit's transaction and read service (what TiDB's SQL layer would do through TiKV):
//! commit, scan at a timestamp, ADMIN CHECKSUM, GC.

use super::state::ClusterState;
use super::status_of;
use crate::cluster::store::Mutation;
use crate::proto::brkitpb::{self, kv_server::Kv, mutation::Op};
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

pub struct KvService {
    pub state: Arc<ClusterState>,
}

type ScanStream = Pin<Box<dyn Stream<Item = Result<brkitpb::ScanResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Kv for KvService {
    async fn commit(
        &self,
        req: Request<brkitpb::CommitRequest>,
    ) -> Result<Response<brkitpb::CommitResponse>, Status> {
        let muts = req
            .into_inner()
            .mutations
            .into_iter()
            .map(|m| Mutation {
                key: m.key,
                value: (m.op != Op::Delete as i32).then_some(m.value),
            })
            .collect::<Vec<_>>();
        if muts.iter().any(|m| m.key.is_empty()) {
            return Err(Status::invalid_argument("a mutation has an empty key"));
        }
        let st = self.state.clone();
        let (start_ts, commit_ts) = tokio::task::spawn_blocking(move || st.commit(muts))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| status_of(&e))?;
        Ok(Response::new(brkitpb::CommitResponse {
            start_ts,
            commit_ts,
        }))
    }

    type ScanStream = ScanStream;

    async fn scan(
        &self,
        req: Request<brkitpb::ScanRequest>,
    ) -> Result<Response<Self::ScanStream>, Status> {
        let r = req.into_inner();
        let range = r.range.unwrap_or_default();
        let batch = if r.batch_size == 0 {
            1024
        } else {
            r.batch_size as usize
        };
        let key_only = r.key_only;
        let st = self.state.clone();
        let version = if r.version == 0 {
            st.read_ts().map_err(|e| status_of(&e))?
        } else {
            r.version
        };
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            let mut pairs = Vec::with_capacity(batch);
            let res = st.scan(&range.start, &range.end, version, &mut |k, v| {
                pairs.push(brkitpb::KvPair {
                    key: k.to_vec(),
                    value: if key_only { vec![] } else { v.to_vec() },
                });
                if pairs.len() >= batch {
                    let out = std::mem::replace(&mut pairs, Vec::with_capacity(batch));
                    return tx
                        .blocking_send(Ok(brkitpb::ScanResponse { pairs: out }))
                        .is_ok();
                }
                true
            });
            let last = match res {
                Ok(()) if pairs.is_empty() => return,
                Ok(()) => Ok(brkitpb::ScanResponse { pairs }),
                Err(e) => Err(status_of(&e)),
            };
            let _ = tx.blocking_send(last);
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn checksum(
        &self,
        req: Request<brkitpb::ChecksumRequest>,
    ) -> Result<Response<brkitpb::ChecksumResponse>, Status> {
        let r = req.into_inner();
        let st = self.state.clone();
        let c = tokio::task::spawn_blocking(move || {
            let version = if r.version == 0 {
                st.read_ts()?
            } else {
                r.version
            };
            let ranges: Vec<_> = r.ranges.into_iter().map(|k| (k.start, k.end)).collect();
            let rules: Vec<_> = r
                .rules
                .into_iter()
                .map(|k| (k.old_prefix, k.new_prefix))
                .collect();
            st.checksum(&ranges, version, &rules)
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| status_of(&e))?;
        Ok(Response::new(brkitpb::ChecksumResponse {
            checksum: c.crc64xor,
            total_kvs: c.total_kvs,
            total_bytes: c.total_bytes,
        }))
    }

    async fn gc(
        &self,
        req: Request<brkitpb::GcRequest>,
    ) -> Result<Response<brkitpb::GcResponse>, Status> {
        let sp = req.get_ref().safe_point;
        let st = self.state.clone();
        let (safe_point, removed_versions) = tokio::task::spawn_blocking(move || st.gc(sp))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| status_of(&e))?;
        Ok(Response::new(brkitpb::GcResponse {
            safe_point,
            removed_versions,
        }))
    }
}
