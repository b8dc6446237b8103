//! `brtool cluster start|status|stop|store`: run the embedded cluster as a server on loopback
//! and look at or control it.

use super::common::{runtime, Outcome, PdArgs};
use crate::cluster::server::{ClusterConfig, RunningCluster, DEFAULT_REGION_SPLIT_BYTES};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Run the cluster in the foreground until `cluster stop` or Ctrl-C; records the PD address
    /// in DIR/cluster.addr.
    Start(StartArgs),
    /// Print the cluster's stores, regions and current ts.
    Status(PdArgs),
    /// Ask a running server to stop.
    Stop(PdArgs),
    /// Stop or restart one store's services (fault drills).
    Store(StoreArgs),
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Data directory (created and bootstrapped if new).
    #[arg(long)]
    pub dir: PathBuf,
    /// Number of stores when bootstrapping.
    #[arg(long, default_value_t = 3)]
    pub stores: u32,
    /// PD port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Split regions after this many bytes were written to one.
    #[arg(long, default_value_t = DEFAULT_REGION_SPLIT_BYTES)]
    pub region_split_bytes: u64,
}

#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub pd: PdArgs,
    /// Store id.
    #[arg(long)]
    pub id: u64,
    /// `down` stops the store's services, `up` restarts them.
    #[arg(long, value_parser = ["up", "down"])]
    pub state: String,
}

pub fn run(cmd: ClusterCommand) -> Outcome {
    let rt = runtime()?;
    rt.block_on(async move {
        match cmd {
            ClusterCommand::Start(a) => {
                let cfg = ClusterConfig {
                    dir: a.dir.clone(),
                    stores: a.stores,
                    host: "127.0.0.1".into(),
                    pd_port: a.port,
                    region_split_bytes: a.region_split_bytes,
                    write_addr_file: true,
                };
                let running = RunningCluster::start(cfg)
                    .await
                    .with_context(|| format!("starting the cluster in {}", a.dir.display()))?;
                // Log backup tasks merge small objects as they go (issue 5, LOG-MERGE-*).
                running.set_log_merger(std::sync::Arc::new(EngineMerger));
                println!(
                    "cluster serving at {} (data in {})",
                    running.pd_addr(),
                    a.dir.display()
                );
                println!(
                    "use --pd {} or --pd local://{}",
                    running.pd_addr(),
                    a.dir.display()
                );
                let stop = running.stopper();
                tokio::spawn(async move {
                    let _ = tokio::signal::ctrl_c().await;
                    let _ = stop.send(true);
                });
                running.wait().await;
                eprintln!("[brtool] cluster stopped");
                Ok(ExitCode::SUCCESS)
            }
            ClusterCommand::Status(pd) => {
                let c = pd.connect().await?;
                let s = c.status().await?;
                println!(
                    "cluster {} at {} (data in {})",
                    s.cluster_id,
                    c.addr(),
                    s.data_dir
                );
                println!("current ts {}  regions {}", s.current_ts, s.regions);
                for st in &s.stores {
                    println!(
                        "store {} {} {} leaders={} approx_bytes={}",
                        st.id,
                        st.address,
                        if st.up { "up" } else { "down" },
                        st.leader_regions,
                        st.approximate_bytes
                    );
                }
                c.close().await;
                Ok(ExitCode::SUCCESS)
            }
            ClusterCommand::Stop(pd) => {
                let c = pd.connect().await?;
                if c.is_embedded() {
                    c.close().await;
                    println!("no server was running");
                } else {
                    c.shutdown_server().await?;
                    println!("stop requested");
                }
                Ok(ExitCode::SUCCESS)
            }
            ClusterCommand::Store(a) => {
                let c = a.pd.connect().await?;
                c.set_store_state(a.id, a.state == "up").await?;
                println!("store {} is {}", a.id, a.state);
                c.close().await;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// The engine's log merge behind the cluster's merge hook (the cluster layer may not name
/// the engine; tests/layering.rs).
struct EngineMerger;

#[async_trait::async_trait]
impl crate::cluster::logbackup::merge_hook::SmallObjectMerger for EngineMerger {
    async fn merge(
        &self,
        storage: std::sync::Arc<dyn crate::storage::Storage>,
        target_bytes: u64,
    ) -> Result<(), String> {
        crate::engine::log::merge::merge_small_objects(storage.as_ref(), target_bytes)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
