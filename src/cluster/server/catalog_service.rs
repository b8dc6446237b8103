//! The schema catalog service (TiDB's DDL, reduced to what backup and restore need): creating
//! databases and tables under TiDB's meta keys, then splitting a region at each new table's
//! prefix and scattering it, as TiDB does with `split-table = true`.

use super::state::{enc, ClusterState};
use super::status_of;
use crate::cluster::catalog;
use crate::cluster::error::ClusterError;
use crate::codec::model::TableInfo;
use crate::codec::table::table_prefix;
use crate::proto::brkitpb::{self, catalog_server::Catalog};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct CatalogService {
    pub state: Arc<ClusterState>,
    /// DDL runs one at a time, as TiDB's DDL owner does.
    pub ddl: Arc<std::sync::Mutex<()>>,
}

impl CatalogService {
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ClusterState) -> Result<T, ClusterError> + Send + 'static,
    ) -> Result<T, Status> {
        let st = self.state.clone();
        let ddl = self.ddl.clone();
        tokio::task::spawn_blocking(move || {
            let _g = ddl.lock().unwrap();
            f(&st)
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| match e {
            ClusterError::Catalog(c) => Status::failed_precondition(c.to_string()),
            other => status_of(&other),
        })
    }
}

#[tonic::async_trait]
impl Catalog for CatalogService {
    async fn create_database(
        &self,
        req: Request<brkitpb::CreateDatabaseRequest>,
    ) -> Result<Response<brkitpb::CreateDatabaseResponse>, Status> {
        let r = req.into_inner();
        let db_info = self
            .run(move |st| Ok(catalog::create_database(st, &r.db_info, r.if_not_exists)?))
            .await?;
        Ok(Response::new(brkitpb::CreateDatabaseResponse { db_info }))
    }

    async fn create_table(
        &self,
        req: Request<brkitpb::CreateTableRequest>,
    ) -> Result<Response<brkitpb::CreateTableResponse>, Status> {
        let r = req.into_inner();
        let table_info = self
            .run(move |st| {
                let stored = catalog::create_table(st, r.db_id, &r.table_info)?;
                let info = TableInfo::from_json(&stored)?;
                let mut keys: Vec<Vec<u8>> = info
                    .physical_ids()
                    .into_iter()
                    .map(|id| enc(&table_prefix(id)))
                    .collect();
                keys.sort();
                let new = st.split(&keys)?;
                let mut ids = new;
                for k in &keys {
                    ids.push(st.pd.region_by_key(k).id);
                }
                st.scatter(&ids)?;
                Ok(stored)
            })
            .await?;
        Ok(Response::new(brkitpb::CreateTableResponse { table_info }))
    }

    async fn drop_table(
        &self,
        req: Request<brkitpb::DropTableRequest>,
    ) -> Result<Response<brkitpb::DropTableResponse>, Status> {
        let r = req.into_inner();
        self.run(move |st| Ok(catalog::drop_table(st, r.db_id, r.table_id)?))
            .await?;
        Ok(Response::new(brkitpb::DropTableResponse {}))
    }

    async fn list_schemas(
        &self,
        req: Request<brkitpb::ListSchemasRequest>,
    ) -> Result<Response<brkitpb::ListSchemasResponse>, Status> {
        let v = req.get_ref().version;
        let st = self.state.clone();
        let (dbs, version) = tokio::task::spawn_blocking(move || {
            let version = if v == 0 { st.read_ts()? } else { v };
            Ok::<_, ClusterError>((catalog::list_schemas(&*st, version)?, version))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| status_of(&e))?;
        Ok(Response::new(brkitpb::ListSchemasResponse {
            databases: dbs
                .into_iter()
                .map(|(db_info, tables)| brkitpb::DatabaseSchema { db_info, tables })
                .collect(),
            version,
        }))
    }
}
