//! Running the workload against a cluster: `load` creates the database and tables (the
//! catalog allocates ids and splits a region per table, as TiDB does) and commits rows in
//! large transactions, generating the next batch while the previous one commits; `run`
//! inserts, updates and deletes rows for a while (the changes PITR replays). `run` keeps what
//! it changed (next row number, row versions, deleted rows) in one brkit key outside the
//! table space, so later runs continue consistently.

use super::{delete_kvs, row_kvs, schema, update_kvs, Kvs, WorkloadSpec};
use crate::cluster::ClusterClient;
use crate::codec::model::{DBInfo, TableInfo};
use crate::engine::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Commit a load batch at this many bytes.
const LOAD_BATCH_BYTES: usize = 8 << 20;

/// What `load` did.
#[derive(Debug, Clone, Default)]
pub struct LoadSummary {
    pub tables: usize,
    pub rows: u64,
    pub kvs: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

fn werr(e: super::WorkloadError) -> EngineError {
    EngineError::BadOption {
        flag: "workload",
        detail: e.to_string(),
    }
}

/// DBInfo JSON as TiDB writes it for `CREATE DATABASE`.
pub fn db_json(name: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": 0, "db_name": {"O": name, "L": name.to_lowercase()}, "charset": "utf8mb4",
        "collate": "utf8mb4_bin", "state": 5
    }))
    .unwrap_or_default()
}

/// Creates the workload's tables in `spec.db` and loads `spec.rows` rows into each.
pub async fn load(client: &ClusterClient, spec: &WorkloadSpec) -> Result<LoadSummary> {
    let started = Instant::now();
    let db = DBInfo::from_json(&client.create_database(db_json(&spec.db), true).await?)
        .map_err(|e| EngineError::json("created DBInfo", e))?;
    let mut tables = Vec::new();
    for def in schema(spec) {
        let json = serde_json::to_vec(&def.info).map_err(|e| EngineError::json("TableInfo", e))?;
        let stored =
            client
                .create_table(db.id, json)
                .await
                .map_err(|e| EngineError::BadOption {
                    flag: "--db",
                    detail: format!("creating table {}.{}: {e}", spec.db, def.name),
                })?;
        tables.push(
            TableInfo::from_json(&stored).map_err(|e| EngineError::json("created TableInfo", e))?,
        );
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Kvs>>(2);
    let gen_tables = tables.clone();
    let (rows, seed) = (spec.rows, spec.seed);
    let generator = tokio::task::spawn_blocking(move || {
        let mut batch: Kvs = Vec::new();
        let mut size = 0;
        for t in &gen_tables {
            for row in 1..=rows {
                let kvs = match row_kvs(t, row, seed, 0) {
                    Ok(k) => k,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(werr(e)));
                        return;
                    }
                };
                for (k, v) in kvs {
                    size += k.len() + v.len();
                    batch.push((k, v));
                }
                if size >= LOAD_BATCH_BYTES {
                    if tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                        return;
                    }
                    size = 0;
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    });
    let mut summary = LoadSummary {
        tables: tables.len(),
        rows: rows * tables.len() as u64,
        ..Default::default()
    };
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        summary.kvs += batch.len() as u64;
        summary.bytes += batch
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum::<u64>();
        client
            .commit(batch.into_iter().map(|(k, v)| (k, Some(v))).collect())
            .await?;
    }
    let _ = generator.await;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// The state `run` keeps between invocations.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RunState {
    next_row: BTreeMap<String, u64>,
    versions: BTreeMap<String, BTreeMap<u64, u64>>,
    deleted: BTreeMap<String, Vec<u64>>,
}

fn state_key(db: &str) -> Vec<u8> {
    // Outside `t` (tables) and TiDB's `m` meta hashes: a brkit-private key.
    format!("mBrkitWorkloadState/{db}").into_bytes()
}

/// What `run` did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub commits: u64,
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    pub first_commit_ts: u64,
    pub last_commit_ts: u64,
}

/// Inserts, updates and deletes rows of the workload tables in `spec.db` for `duration`
/// (`spec.rows` must be what `load` used; `spec.seed` too).
pub async fn run(
    client: &ClusterClient,
    spec: &WorkloadSpec,
    duration: Duration,
) -> Result<RunSummary> {
    let (dbs, now) = client.list_schemas(0).await?;
    let mut tables = Vec::new();
    for d in &dbs {
        let db = DBInfo::from_json(&d.db_info).map_err(|e| EngineError::json("DBInfo", e))?;
        if db.db_name.l != spec.db.to_lowercase() {
            continue;
        }
        for t in &d.tables {
            tables.push(TableInfo::from_json(t).map_err(|e| EngineError::json("TableInfo", e))?);
        }
    }
    if tables.is_empty() {
        return Err(EngineError::BadOption {
            flag: "--db",
            detail: format!(
                "database {} has no tables; run `brtool workload load` first",
                spec.db
            ),
        });
    }
    let key = state_key(&spec.db);
    let mut state = RunState::default();
    client
        .scan(
            &key,
            &crate::codec::table::prefix_next(&key),
            now,
            |k, v| {
                if k == key {
                    state = serde_json::from_slice(&v).unwrap_or_default();
                }
                Ok(())
            },
        )
        .await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(spec.seed ^ now);
    let deadline = Instant::now() + duration;
    let mut summary = RunSummary::default();
    while Instant::now() < deadline {
        let mut puts: Kvs = Vec::new();
        let mut dels: Vec<Vec<u8>> = Vec::new();
        for _ in 0..16 {
            let t = &tables[rng.gen_range(0..tables.len())];
            let name = t.name.o.clone();
            let next = *state.next_row.entry(name.clone()).or_insert(spec.rows + 1);
            let deleted = state.deleted.entry(name.clone()).or_default();
            let op = rng.gen_range(0..10);
            let row = rng.gen_range(1..next.max(2));
            if op < 3 || next <= 1 {
                puts.extend(row_kvs(t, next, spec.seed, 0).map_err(werr)?);
                state.next_row.insert(name, next + 1);
                summary.inserts += 1;
            } else if deleted.contains(&row) || row >= next {
                continue;
            } else if op < 9 {
                let vs = state.versions.entry(name).or_default();
                let from = vs.get(&row).copied().unwrap_or(0);
                let m = update_kvs(t, row, spec.seed, from, from + 1).map_err(werr)?;
                vs.insert(row, from + 1);
                puts.extend(m.puts);
                dels.extend(m.deletes);
                summary.updates += 1;
            } else {
                let from = state
                    .versions
                    .get(&name)
                    .and_then(|v| v.get(&row))
                    .copied()
                    .unwrap_or(0);
                let m = delete_kvs(t, row, spec.seed, from).map_err(werr)?;
                deleted.push(row);
                dels.extend(m.deletes);
                puts.extend(m.puts);
                summary.deletes += 1;
            }
        }
        // a key both deleted and re-put in one transaction keeps the put
        let put_keys: std::collections::HashSet<&Vec<u8>> = puts.iter().map(|(k, _)| k).collect();
        let mut muts: Vec<(Vec<u8>, Option<Vec<u8>>)> = dels
            .iter()
            .filter(|k| !put_keys.contains(k))
            .map(|k| (k.clone(), None))
            .collect();
        muts.extend(puts.into_iter().map(|(k, v)| (k, Some(v))));
        muts.push((
            key.clone(),
            Some(serde_json::to_vec(&state).map_err(|e| EngineError::json("workload state", e))?),
        ));
        let ts = client.commit(muts).await?;
        if summary.first_commit_ts == 0 {
            summary.first_commit_ts = ts;
        }
        summary.last_commit_ts = ts;
        summary.commits += 1;
    }
    Ok(summary)
}

use rand::{Rng, SeedableRng};
