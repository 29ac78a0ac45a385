//! `berth agent`: the one long-running berth process of a host in an
//! overlay cluster. It renews the host's lease in the cluster store (so its
//! endpoints expire if the host dies), publishes the host's endpoints,
//! releases stale reservations, and keeps every VXLAN device's forwarding
//! and neighbour entries equal to the other hosts' endpoints: after each
//! change seen through an etcd watch, and every `--interval` seconds. When
//! etcd is unreachable it keeps retrying and reconciles everything once it
//! is back (a restarted agent does the same on start).
//!
//! Every agent also heals the firewall: it listens to nftables' change
//! notifications and, when another program deleted part of berth's tables
//! (`nft flush ruleset`, `systemctl restart nftables`, a firewalld reload),
//! re-applies them and the host changes from the store. `berth agent
//! --local` does only that, on hosts without overlay networks.

use super::open;
use crate::cli::AgentArgs;
use anyhow::{anyhow, Result};
use berth_core::store::cluster::PREFIX;
use berth_core::store::etcd::{Cluster, HOW};
use std::path::Path;
use std::time::Duration;

/// How long the agent waits for a notification before it checks berth's
/// tables anyway (a backstop: notifications can be lost).
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// A flush is a burst of notifications: wait until it is over.
const BURST: Duration = Duration::from_millis(20);

/// Keeps berth's firewall tables in place (until killed, or once with
/// `once`): after each deletion in them that left them other than berth
/// made them, re-applies them from the store.
pub fn heal(root: Option<&Path>, once: bool) -> Result<i32> {
    use berth_core::kernel::nftevents::NftEvents;
    // Subscribed before the first check, so no deletion goes unseen.
    let mut events = NftEvents::open()?;
    let mut engine = open(root)?;
    let mut expected = engine.heal_firewall()?;
    if once {
        return Ok(0);
    }
    eprintln!("berth agent: keeping berth's firewall tables in place");
    loop {
        if events.wait(CHECK_EVERY)? {
            events.drain(BURST)?;
        }
        let now = engine.firewall_fingerprint();
        if now.is_some() && now == expected {
            continue;
        }
        match engine.heal_firewall() {
            Ok(fp) => {
                eprintln!(
                    "berth agent: berth's firewall tables were changed by another program; re-applied from the store"
                );
                expected = fp;
            }
            Err(e) => {
                eprintln!("berth agent: re-applying the firewall failed: {e} (retrying)");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// Runs the agent (until killed, or once with `--once`).
pub fn run(root: Option<&Path>, a: &AgentArgs) -> Result<i32> {
    if a.local {
        return heal(root, a.once);
    }
    let mut engine = open(root)?;
    let url = engine
        .config()
        .store
        .clone()
        .ok_or_else(|| anyhow!("berth agent needs a cluster store: {HOW}; on a host without overlay networks, berth agent --local keeps the firewall in place"))?;
    let interval = Duration::from_secs(a.interval.max(1));
    eprintln!("berth agent: cluster store {url}");
    let cfg =
        berth_core::store::etcd_config::StoreConfig::new(&url, &engine.config().store_credentials)?;
    if let Some(w) = cfg.warning() {
        eprintln!("berth agent: warning: {w}");
    }
    if !a.once {
        let root = root.map(Path::to_path_buf);
        std::thread::spawn(move || {
            if let Err(e) = heal(root.as_deref(), false) {
                eprintln!("berth agent: firewall healing stopped: {e}");
            }
        });
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
