//! `berth agent`: the one long-running berth process of a host in an
//! overlay cluster. It renews the host's lease in the cluster store (so its
//! endpoints expire if the host dies), publishes the host's endpoints,
//! releases stale reservations, and keeps every VXLAN device's forwarding
//! and neighbour entries equal to the other hosts' endpoints: after each
//! change seen through an etcd watch, and every `--interval` seconds. When
//! etcd is unreachable it keeps retrying and reconciles everything once it
//! is back (a restarted agent does the same on start).

use super::open;
use crate::cli::AgentArgs;
use anyhow::{anyhow, Result};
use berth_core::store::cluster::PREFIX;
use berth_core::store::etcd::{Cluster, HOW};
use std::path::Path;
use std::time::Duration;

/// Runs the agent (until killed, or once with `--once`).
pub fn run(root: Option<&Path>, a: &AgentArgs) -> Result<i32> {
    let mut engine = open(root)?;
    let url = engine
        .config()
        .store
        .clone()
        .ok_or_else(|| anyhow!("berth agent needs a cluster store: {HOW}"))?;
    let interval = Duration::from_secs(a.interval.max(1));
    eprintln!("berth agent: cluster store {url}");
    let cfg =
        berth_core::store::etcd_config::StoreConfig::new(&url, &engine.config().store_credentials)?;
    if let Some(w) = cfg.warning() {
        eprintln!("berth agent: warning: {w}");
    }
    let mut failing: Option<String> = None;
    let mut watcher: Option<Cluster> = None;
    loop {
        let revision = match engine.overlay_sync(None) {
            Ok(r) => {
                if failing.take().is_some() {
                    eprintln!("berth agent: cluster store reachable again; reconciled");
                }
                if a.once {
                    println!("{}", serde_json::to_string(&r)?);
                    return Ok(0);
                }
                r.revision
            }
            Err(e) if a.once => return Err(e.into()),
            Err(e) => {
                let msg = e.to_string();
                if failing.as_deref() != Some(msg.as_str()) {
                    eprintln!("berth agent: {msg} (retrying)");
                }
                failing = Some(msg);
                watcher = None;
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        let w = match watcher.take() {
            Some(w) => Ok(w),
            None => Cluster::configured(engine.config(), "berth agent"),
        };
        match w.and_then(|mut w| w.wait(PREFIX, revision, interval).map(|_| w)) {
            Ok(w) => watcher = Some(w),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}
