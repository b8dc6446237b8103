//! The BR side's handle on a cluster: PD calls (TSO, stores, regions, split/scatter, GC
//! safepoints), transactions and reads, the schema catalog, admin controls, and channels to each
//! store's Backup and ImportSST services. `connect` understands `--pd` as BR does
//! (`host:port`) plus `local://DIR`: the server recorded in `DIR` if one runs, else the cluster
//! opened in this process for the lifetime of the client (the embedded default).

use super::error::{ClusterError, Result};
use super::server::{read_addr_file, ClusterConfig, RunningCluster};
use super::Region;
use crate::proto::backup::backup_client::BackupClient;
use crate::proto::brkitpb::{
    self, admin_client::AdminClient, catalog_client::CatalogClient, kv_client::KvClient,
};
use crate::proto::import_sstpb::import_sst_client::ImportSstClient;
use crate::proto::logbackuppb::{self as logpb, log_backup_client::LogBackupClient};
use crate::proto::pdpb::{self, pd_client::PdClient};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tonic::transport::{Channel, Endpoint};

/// Largest gRPC message either side accepts (scan batches and schema lists can be large).
pub const MAX_MESSAGE: usize = 256 << 20;

/// One store as PD reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub id: u64,
    pub address: String,
    pub up: bool,
}

/// Connection to a cluster (and, for `local://DIR` without a server, the cluster itself).
#[derive(Clone)]
pub struct ClusterClient {
    addr: String,
    cluster_id: u64,
    pd: PdClient<Channel>,
    kv: KvClient<Channel>,
    catalog: CatalogClient<Channel>,
    admin: AdminClient<Channel>,
    log: LogBackupClient<Channel>,
    store_channels: Arc<Mutex<HashMap<u64, (String, Channel)>>>,
    /// The `local://DIR` directory, when connected that way.
    local_dir: Option<String>,
    embedded: Option<Arc<tokio::sync::Mutex<Option<RunningCluster>>>>,
}

fn rpc<'a>(service: &'static str, addr: &'a str) -> impl Fn(tonic::Status) -> ClusterError + 'a {
    move |s| ClusterError::Rpc {
        service,
        addr: addr.to_string(),
        status: format!("{}: {}", s.code(), s.message()),
    }
}

fn header() -> Option<pdpb::RequestHeader> {
    Some(pdpb::RequestHeader { cluster_id: 0 })
}

fn check_header(h: Option<&pdpb::ResponseHeader>) -> Result<()> {
    if let Some(e) = h.and_then(|h| h.error.as_ref()) {
        if e.r#type != pdpb::ErrorType::Ok as i32 {
            return Err(ClusterError::Invalid(format!("PD: {}", e.message)));
        }
    }
    Ok(())
}

async fn channel(addr: &str) -> Result<Channel> {
    let uri = if addr.starts_with("http://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    let ep = Endpoint::from_shared(uri).map_err(|e| ClusterError::Connect {
        addr: addr.into(),
        detail: e.to_string(),
    })?;
    ep.connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| ClusterError::Connect {
            addr: addr.into(),
            detail: format!("{e} (is `brtool cluster start` running?)"),
        })
}

impl ClusterClient {
    /// Connects as `--pd` says: `host:port`, `http://host:port` or `local://DIR`.
    pub async fn connect(pd: &str) -> Result<ClusterClient> {
        if let Some(dir) = pd.strip_prefix("local://") {
            return Self::connect_local(PathBuf::from(dir)).await;
        }
        Self::connect_addr(pd, None).await
    }

    async fn connect_local(dir: PathBuf) -> Result<ClusterClient> {
        let shown = dir.display().to_string();
        if let Some(addr) = read_addr_file(&dir) {
            // `connect_addr` already asked PD for its stores: a server that answers is alive.
            // (Not `status()`: it sizes every region with a full scan of every store.)
            if let Ok(mut c) = Self::connect_addr(&addr, None).await {
                c.local_dir = Some(shown);
                return Ok(c);
            }
        }
        let running = RunningCluster::start(ClusterConfig::embedded(dir)).await?;
        let addr = running.pd_addr().to_string();
        let mut c = Self::connect_addr(&addr, Some(running)).await?;
        c.local_dir = Some(shown);
        Ok(c)
    }

    async fn connect_addr(addr: &str, embedded: Option<RunningCluster>) -> Result<ClusterClient> {
        let ch = channel(addr).await?;
        let mut pd = PdClient::new(ch.clone()).max_decoding_message_size(MAX_MESSAGE);
        let resp = pd
            .get_all_stores(pdpb::GetAllStoresRequest {
                header: header(),
                exclude_tombstone_stores: true,
            })
            .await
            .map_err(rpc("PD", addr))?
            .into_inner();
        check_header(resp.header.as_ref())?;
        let cluster_id = resp.header.map(|h| h.cluster_id).unwrap_or_default();
        Ok(ClusterClient {
            addr: addr.to_string(),
            cluster_id,
            pd,
            kv: KvClient::new(ch.clone())
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            catalog: CatalogClient::new(ch.clone()).max_decoding_message_size(MAX_MESSAGE),
            admin: AdminClient::new(ch.clone()),
            log: LogBackupClient::new(ch),
            store_channels: Arc::default(),
            local_dir: None,
            embedded: embedded.map(|r| Arc::new(tokio::sync::Mutex::new(Some(r)))),
        })
    }

    /// Stops an in-process cluster (flushes and closes its stores). A no-op for a remote one.
    pub async fn close(self) {
        if let Some(e) = &self.embedded {
            if let Some(r) = e.lock().await.take() {
                r.shutdown().await;
            }
        }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    /// Whether this client runs the cluster in its own process.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// A fresh timestamp; every transaction committed before the call is visible at it.
    pub async fn tso(&self) -> Result<u64> {
        let r = self
            .pd
            .clone()
            .tso(pdpb::TsoRequest {
                header: header(),
                count: 1,
            })
            .await
            .map_err(rpc("PD", &self.addr))?
            .into_inner();
        check_header(r.header.as_ref())?;
        let t = r.timestamp.unwrap_or_default();
        Ok(crate::codec::tso::compose(
            t.physical as u64,
            t.logical as u64,
        ))
    }

    pub async fn stores(&self) -> Result<Vec<StoreInfo>> {
        let r = self
            .pd
            .clone()
            .get_all_stores(pdpb::GetAllStoresRequest {
                header: header(),
                exclude_tombstone_stores: true,
            })
            .await
            .map_err(rpc("PD", &self.addr))?
            .into_inner();
        check_header(r.header.as_ref())?;
        Ok(r.stores
            .into_iter()
            .map(|s| StoreInfo {
                id: s.id,
                address: s.address,
                up: s.state == crate::proto::metapb::StoreState::Up as i32,
            })
            .collect())
    }

    /// Regions overlapping [start, end) (encoded region keys; empty end = +infinity).
    pub async fn scan_regions(&self, start: &[u8], end: &[u8]) -> Result<Vec<Region>> {
        let r = self
            .pd
            .clone()
            .scan_regions(pdpb::ScanRegionsRequest {
                header: header(),
                start_key: start.to_vec(),
                limit: 0,
                end_key: end.to_vec(),
            })
            .await
            .map_err(rpc("PD", &self.addr))?
            .into_inner();
        check_header(r.header.as_ref())?;
        Ok(r.regions
            .iter()
            .filter_map(|ri| {
                ri.region
                    .as_ref()
                    .map(|reg| Region::from_proto(reg, ri.leader.as_ref()))
            })
            .collect())
    }

    /// Splits at encoded keys; returns the new region ids.
    pub async fn split_regions(&self, keys: Vec<Vec<u8>>) -> Result<Vec<u64>> {
        let r = self
            .pd
            .clone()
            .split_regions(pdpb::SplitRegionsRequest {
                header: header(),
                split_keys: keys,
                retry_limit: 3,
            })
            .await
            .map_err(rpc("PD", &self.addr))?
            .into_inner();
        check_header(r.header.as_ref())?;
        Ok(r.regions_id)
    }

    pub async fn scatter_regions(&self, ids: Vec<u64>) -> Result<()> {
        let r = self
            .pd
            .clone()
            .scatter_region(pdpb::ScatterRegionRequest {
                header: header(),
                regions_id: ids,
            })
            .await
            .map_err(rpc("PD", &self.addr))?
            .into_inner();
        check_header(r.header.as_ref())
    }

    /// Sets (ttl > 0) or removes (ttl <= 0) a service GC safepoint; returns the min one.
    pub async fn update_service_safepoint(
        &self,
        service_id: &str,
        ttl_secs: i64,
        safe_point: u64,
    ) -> Result<u64> {
        let r = self
            .pd
            .clone()
            .update_service_gc_safe_point(pdpb::UpdateServiceGcSafePointRequest {
                header: header(),
                service_id: service_id.as_bytes().to_vec(),
                ttl: ttl_secs,
                safe_point,
            })
            .await
            .map_err(rpc("PD", &self.addr))?
            .into_inner();
        check_header(r.header.as_ref())?;
        Ok(r.min_safe_point)
    }

    pub async fn gc_safepoint(&self) -> Result<u64> {
        let r = self
            .pd
            .clone()
            .get_gc_safe_point(pdpb::GetGcSafePointRequest { header: header() })
            .await
            .map_err(rpc("PD", &self.addr))?
            .into_inner();
        check_header(r.header.as_ref())?;
        Ok(r.safe_point)
    }

    /// Runs GC to `safe_point` (0 = TiDB's default life time), capped by service safepoints.
    pub async fn gc(&self, safe_point: u64) -> Result<brkitpb::GcResponse> {
        Ok(self
            .kv
            .clone()
            .gc(brkitpb::GcRequest { safe_point })
            .await
            .map_err(rpc("Kv", &self.addr))?
            .into_inner())
    }

    /// Commits one transaction of raw-key puts (Some) and deletes (None); returns commit_ts.
    pub async fn commit(&self, muts: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<u64> {
        let mutations = muts
            .into_iter()
            .map(|(key, v)| match v {
                Some(value) => brkitpb::Mutation {
                    op: brkitpb::mutation::Op::Put as i32,
                    key,
                    value,
                },
                None => brkitpb::Mutation {
                    op: brkitpb::mutation::Op::Delete as i32,
                    key,
                    value: vec![],
                },
            })
            .collect();
        Ok(self
            .kv
            .clone()
            .commit(brkitpb::CommitRequest { mutations })
            .await
            .map_err(rpc("Kv", &self.addr))?
            .into_inner()
            .commit_ts)
    }

    /// Streams the latest values in raw [start, end) visible at `version`, batch by batch.
    pub async fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        version: u64,
        mut f: impl FnMut(Vec<u8>, Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let mut stream = self
            .kv
            .clone()
            .scan(brkitpb::ScanRequest {
                range: Some(brkitpb::KeyRange {
                    start: start.to_vec(),
                    end: end.to_vec(),
                }),
                version,
                batch_size: 1024,
                key_only: false,
            })
            .await
            .map_err(rpc("Kv", &self.addr))?
            .into_inner();
        while let Some(batch) = stream.message().await.map_err(rpc("Kv", &self.addr))? {
            for p in batch.pairs {
                f(p.key, p.value)?;
            }
        }
        Ok(())
    }

    /// ADMIN CHECKSUM over raw ranges at `version`, with TiKV's checksum rewrite rules
    /// (old_prefix, new_prefix).
    pub async fn checksum(
        &self,
        ranges: &[(Vec<u8>, Vec<u8>)],
        version: u64,
        rules: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<crate::format::checksum::Checksum> {
        let r = self
            .kv
            .clone()
            .checksum(brkitpb::ChecksumRequest {
                version,
                ranges: ranges
                    .iter()
                    .map(|(s, e)| brkitpb::KeyRange {
                        start: s.clone(),
                        end: e.clone(),
                    })
                    .collect(),
                rules: rules
                    .iter()
                    .map(|(o, n)| brkitpb::ChecksumRewriteRule {
                        old_prefix: o.clone(),
                        new_prefix: n.clone(),
                    })
                    .collect(),
            })
            .await
            .map_err(rpc("Kv", &self.addr))?
            .into_inner();
        Ok(crate::format::checksum::Checksum {
            crc64xor: r.checksum,
            total_kvs: r.total_kvs,
            total_bytes: r.total_bytes,
        })
    }

    /// Creates a database (DBInfo JSON, id 0 = allocate); returns the stored JSON.
    pub async fn create_database(&self, db_info: Vec<u8>, if_not_exists: bool) -> Result<Vec<u8>> {
        Ok(self
            .catalog
            .clone()
            .create_database(brkitpb::CreateDatabaseRequest {
                db_info,
                if_not_exists,
            })
            .await
            .map_err(rpc("Catalog", &self.addr))?
            .into_inner()
            .db_info)
    }

    /// Creates a table (TableInfo JSON; ids 0 = allocate); returns the stored JSON.
    pub async fn create_table(&self, db_id: i64, table_info: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self
            .catalog
            .clone()
            .create_table(brkitpb::CreateTableRequest { db_id, table_info })
            .await
            .map_err(rpc("Catalog", &self.addr))?
            .into_inner()
            .table_info)
    }

    pub async fn drop_table(&self, db_id: i64, table_id: i64) -> Result<()> {
        self.catalog
            .clone()
            .drop_table(brkitpb::DropTableRequest { db_id, table_id })
            .await
            .map_err(rpc("Catalog", &self.addr))?;
        Ok(())
    }

    /// Every database with its tables' JSON, as of `version` (0 = now); returns the version read.
    pub async fn list_schemas(&self, version: u64) -> Result<(Vec<brkitpb::DatabaseSchema>, u64)> {
        let r = self
            .catalog
            .clone()
            .list_schemas(brkitpb::ListSchemasRequest { version })
            .await
            .map_err(rpc("Catalog", &self.addr))?
            .into_inner();
        Ok((r.databases, r.version))
    }

    pub async fn status(&self) -> Result<brkitpb::StatusResponse> {
        Ok(self
            .admin
            .clone()
            .status(brkitpb::StatusRequest {})
            .await
            .map_err(rpc("Admin", &self.addr))?
            .into_inner())
    }

    /// Stops (`up = false`) or restarts a store's services (fault tests, operators).
    pub async fn set_store_state(&self, store_id: u64, up: bool) -> Result<()> {
        self.admin
            .clone()
            .set_store_state(brkitpb::SetStoreStateRequest { store_id, up })
            .await
            .map_err(rpc("Admin", &self.addr))?;
        Ok(())
    }

    /// Sets (or clears, with an empty value) a server failpoint.
    pub async fn set_failpoint(&self, name: &str, value: &str) -> Result<()> {
        self.admin
            .clone()
            .set_failpoint(brkitpb::SetFailpointRequest {
                name: name.into(),
                value: value.into(),
            })
            .await
            .map_err(rpc("Admin", &self.addr))?;
        Ok(())
    }

    /// Makes every later timestamp greater than `ts`.
    pub async fn advance_ts(&self, ts: u64) -> Result<()> {
        self.admin
            .clone()
            .advance_ts(brkitpb::AdvanceTsRequest { ts })
            .await
            .map_err(rpc("Admin", &self.addr))?;
        Ok(())
    }

    /// Asks a server to stop.
    pub async fn shutdown_server(&self) -> Result<()> {
        self.admin
            .clone()
            .shutdown(brkitpb::ShutdownRequest {})
            .await
            .map_err(rpc("Admin", &self.addr))?;
        Ok(())
    }

    /// Registers a log backup task (`log start`). Refused for an in-process cluster: the
    /// observers live in the store servers, which end with this process.
    pub async fn register_log_task(
        &self,
        name: &str,
        storage_url: &str,
        start_ts: u64,
        flush_interval_ms: u64,
    ) -> Result<logpb::TaskInfo> {
        let plain = crate::format::crypto::Cipher::plaintext();
        self.register_encrypted_log_task(name, storage_url, start_ts, flush_interval_ms, &plain)
            .await
    }

    /// [`Self::register_log_task`] for a task whose sub-files are encrypted with `cipher`
    /// (`--log.crypter.*`; plaintext = not encrypted). The key travels to the placement
    /// driver, which keeps it with the task (format/log.md LOG-CRYPT-3).
    pub async fn register_encrypted_log_task(
        &self,
        name: &str,
        storage_url: &str,
        start_ts: u64,
        flush_interval_ms: u64,
        cipher: &crate::format::crypto::Cipher,
    ) -> Result<logpb::TaskInfo> {
        if let Some(dir) = self.embedded_dir() {
            return Err(ClusterError::Invalid(format!(
                "log backup needs a running cluster: start one with `brtool cluster start --dir {dir}`"
            )));
        }
        self.log
            .clone()
            .register_task(logpb::RegisterTaskRequest {
                name: name.into(),
                storage_url: storage_url.into(),
                start_ts,
                flush_interval_ms,
                log_cipher: cipher
                    .is_encrypted()
                    .then(|| crate::proto::backup::CipherInfo {
                        cipher_type: cipher.method().to_proto(),
                        cipher_key: cipher.key().to_vec(),
                    }),
            })
            .await
            .map_err(rpc("LogBackup", &self.addr))?
            .into_inner()
            .task
            .ok_or_else(|| ClusterError::Invalid("RegisterTask answered no task".into()))
    }

    /// Log backup tasks (all when `name` is empty), the current ts and the GC safepoints.
    pub async fn log_tasks(&self, name: &str) -> Result<logpb::GetTasksResponse> {
        Ok(self
            .log
            .clone()
            .get_tasks(logpb::GetTasksRequest { name: name.into() })
            .await
            .map_err(rpc("LogBackup", &self.addr))?
            .into_inner())
    }

    /// Pauses a task; its GC safepoint is kept for `gc_ttl_secs` (0 = 24 h).
    pub async fn pause_log_task(&self, name: &str, gc_ttl_secs: i64) -> Result<logpb::TaskInfo> {
        self.log_change(
            self.log
                .clone()
                .pause_task(logpb::PauseTaskRequest {
                    name: name.into(),
                    gc_ttl_secs,
                })
                .await,
        )
    }

    pub async fn resume_log_task(&self, name: &str) -> Result<logpb::TaskInfo> {
        self.log_change(
            self.log
                .clone()
                .resume_task(logpb::ResumeTaskRequest { name: name.into() })
                .await,
        )
    }

    pub async fn stop_log_task(&self, name: &str) -> Result<logpb::TaskInfo> {
        self.log_change(
            self.log
                .clone()
                .stop_task(logpb::StopTaskRequest { name: name.into() })
                .await,
        )
    }

    fn log_change(
        &self,
        r: std::result::Result<tonic::Response<logpb::TaskResponse>, tonic::Status>,
    ) -> Result<logpb::TaskInfo> {
        r.map_err(rpc("LogBackup", &self.addr))?
            .into_inner()
            .task
            .ok_or_else(|| ClusterError::Invalid("LogBackup answered no task".into()))
    }

    /// The directory of a cluster this client runs in its own process.
    fn embedded_dir(&self) -> Option<String> {
        self.embedded.as_ref()?;
        Some(self.local_dir.clone().unwrap_or_else(|| "DIR".into()))
    }

    async fn store_channel(&self, store_id: u64) -> Result<(String, Channel)> {
        if let Some(c) = self.store_channels.lock().unwrap().get(&store_id) {
            return Ok(c.clone());
        }
        let stores = self.stores().await?;
        let s = stores
            .iter()
            .find(|s| s.id == store_id)
            .ok_or_else(|| ClusterError::Invalid(format!("PD knows no store {store_id}")))?;
        let ch = channel(&s.address)
            .await
            .map_err(|e| ClusterError::StoreUnavailable {
                store_id,
                addr: s.address.clone(),
                detail: e.to_string(),
            })?;
        let v = (s.address.clone(), ch);
        self.store_channels
            .lock()
            .unwrap()
            .insert(store_id, v.clone());
        Ok(v)
    }

    /// The Backup service of a store, and its address.
    pub async fn backup_client(&self, store_id: u64) -> Result<(String, BackupClient<Channel>)> {
        let (a, ch) = self.store_channel(store_id).await?;
        Ok((
            a,
            BackupClient::new(ch).max_decoding_message_size(MAX_MESSAGE),
        ))
    }

    /// The ImportSST service of a store, and its address.
    pub async fn import_client(&self, store_id: u64) -> Result<(String, ImportSstClient<Channel>)> {
        let (a, ch) = self.store_channel(store_id).await?;
        Ok((
            a,
            ImportSstClient::new(ch).max_decoding_message_size(MAX_MESSAGE),
        ))
    }
}
