//! The placement driver's durable state and its file `pd.json`: the document layout, loading
//! with every invariant checked (a damaged file is refused, naming it), and atomic saving
//! (temporary file, fsync, rename, fsync of the directory).
//!
//! Owns the file format only; the operations on the state live in `regions`, `tso` and `gc`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{PdError, Result};
use super::logtask::LogTask;
use super::regions::RegionMap;
use crate::cluster::region::{Epoch, Region};

/// Name of the state file inside the placement directory.
pub const STATE_FILE: &str = "pd.json";
/// The `format_version` this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One store of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreMeta {
    pub id: u64,
    /// gRPC address (`host:port`); empty until the store's server has started.
    pub address: String,
    /// Whether the store serves requests; leaders are not scattered to a down store.
    pub up: bool,
}

/// A service safepoint: holds the GC safepoint at or below `safepoint` until `expire_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSafepoint {
    pub safepoint: u64,
    /// Wall-clock ms after which the entry is ignored; `u64::MAX` never expires.
    pub expire_at_ms: u64,
}

/// The whole durable state, in memory.
#[derive(Debug, Clone)]
pub(super) struct State {
    pub cluster_id: u64,
    /// Every id handed out so far is below this bound (persisted, like PD's id allocator).
    pub id_bound: u64,
    /// Next id to hand out (memory only; starts at `id_bound` after a reopen).
    pub next_id: u64,
    /// Every TSO handed out so far has a physical part below this (ms).
    pub tso_bound_ms: u64,
    pub stores: BTreeMap<u64, StoreMeta>,
    pub regions: RegionMap,
    pub gc_safepoint: u64,
    pub services: BTreeMap<String, ServiceSafepoint>,
    pub log_tasks: BTreeMap<String, LogTask>,
}

/// How many ids one persisted bump of `id_bound` covers.
pub(super) const ID_STEP: u64 = 1000;

impl State {
    /// Next id; raises `id_bound` (to be persisted by the caller) when it is reached.
    pub fn alloc_id(&mut self) -> u64 {
        if self.next_id >= self.id_bound {
            self.id_bound = self.next_id.saturating_add(ID_STEP);
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn to_file(&self) -> PdFile {
        PdFile {
            format_version: FORMAT_VERSION,
            cluster_id: self.cluster_id,
            id_bound: self.id_bound,
            tso_bound_ms: self.tso_bound_ms,
            gc_safepoint: self.gc_safepoint,
            stores: self.stores.values().cloned().collect(),
            regions: self.regions.iter().map(RegionRecord::from).collect(),
            service_safepoints: self.services.clone(),
            log_tasks: self.log_tasks.values().cloned().collect(),
        }
    }

    /// Checks every invariant of a loaded document; `file` names it in errors.
    pub fn from_file(doc: PdFile, file: &Path) -> Result<State> {
        let damaged = |reason: String| PdError::Damaged {
            file: file.to_path_buf(),
            reason,
        };
        let mut stores = BTreeMap::new();
        for s in doc.stores {
            if s.id == 0 {
                return Err(damaged("store id 0".into()));
            }
            if stores.insert(s.id, s.clone()).is_some() {
                return Err(damaged(format!("store {} listed twice", s.id)));
            }
        }
        if stores.is_empty() {
            return Err(damaged("no stores".into()));
        }
        let mut regions = Vec::with_capacity(doc.regions.len());
        for r in doc.regions {
            let region = r.into_region().map_err(damaged)?;
            if !stores.contains_key(&region.leader_store) {
                return Err(damaged(format!(
                    "region {} has its leader on unknown store {}",
                    region.id, region.leader_store
                )));
            }
            if region.id >= doc.id_bound || region.peer_id >= doc.id_bound {
                return Err(damaged(format!(
                    "region {} (peer {}) is not below the id bound {}",
                    region.id, region.peer_id, doc.id_bound
                )));
            }
            regions.push(region);
        }
        let regions = RegionMap::from_sorted(regions).map_err(damaged)?;
        Ok(State {
            cluster_id: doc.cluster_id,
            id_bound: doc.id_bound,
            next_id: doc.id_bound,
            tso_bound_ms: doc.tso_bound_ms,
            stores,
            regions,
            gc_safepoint: doc.gc_safepoint,
            services: doc.service_safepoints,
            log_tasks: doc
                .log_tasks
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
        })
    }
}

/// `pd.json` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PdFile {
    pub format_version: u32,
    pub cluster_id: u64,
    pub id_bound: u64,
    pub tso_bound_ms: u64,
    pub gc_safepoint: u64,
    pub stores: Vec<StoreMeta>,
    /// Sorted by start key, covering the whole key space.
    pub regions: Vec<RegionRecord>,
    pub service_safepoints: BTreeMap<String, ServiceSafepoint>,
    /// Log backup tasks (absent in files written before log backup existed).
    #[serde(default)]
    pub log_tasks: Vec<LogTask>,
}

/// A region in `pd.json`: keys in hex so the file stays readable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RegionRecord {
    pub id: u64,
    pub start: String,
    pub end: String,
    pub conf_ver: u64,
    pub version: u64,
    pub leader_store: u64,
    pub peer_id: u64,
}

impl From<&Region> for RegionRecord {
    fn from(r: &Region) -> RegionRecord {
        RegionRecord {
            id: r.id,
            start: hex::encode(&r.start),
            end: hex::encode(&r.end),
            conf_ver: r.epoch.conf_ver,
            version: r.epoch.version,
            leader_store: r.leader_store,
            peer_id: r.peer_id,
        }
    }
}

impl RegionRecord {
    fn into_region(self) -> std::result::Result<Region, String> {
        let key = |what: &str, h: &str| {
            hex::decode(h).map_err(|e| format!("region {}: {what} key {h:?}: {e}", self.id))
        };
        Ok(Region {
            id: self.id,
            start: key("start", &self.start)?,
            end: key("end", &self.end)?,
            epoch: Epoch {
                conf_ver: self.conf_ver,
                version: self.version,
            },
            leader_store: self.leader_store,
            peer_id: self.peer_id,
        })
    }
}

/// Only the version, read before the rest so a newer layout gets a version error.
#[derive(Deserialize)]
struct VersionProbe {
    format_version: u32,
}

/// Reads `file`; `Ok(None)` when it does not exist.
pub(super) fn load(file: &Path) -> Result<Option<State>> {
    let bytes = match fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PdError::Io {
                file: file.to_path_buf(),
                source,
            })
        }
    };
    let damaged = |e: serde_json::Error| PdError::Damaged {
        file: file.to_path_buf(),
        reason: e.to_string(),
    };
    let probe: VersionProbe = serde_json::from_slice(&bytes).map_err(damaged)?;
    if probe.format_version != FORMAT_VERSION {
        return Err(PdError::UnknownVersion {
            file: file.to_path_buf(),
            found: probe.format_version,
            supported: FORMAT_VERSION,
        });
    }
    let doc: PdFile = serde_json::from_slice(&bytes).map_err(damaged)?;
    State::from_file(doc, file).map(Some)
}

/// Writes `doc` to `file` atomically: a reader sees the old or the new document, never a mix,
/// and after return the new one survives a crash.
pub(super) fn save(file: &Path, doc: &PdFile) -> Result<()> {
    let io = |source| PdError::Io {
        file: file.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(doc).expect("pd.json holds only plain data");
    let tmp = tmp_path(file);
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(&bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    fs::rename(&tmp, file).map_err(io)?;
    if let Some(dir) = file.parent() {
        // The rename is durable only once the directory entry is.
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

fn tmp_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    file.with_file_name(name)
}
