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
use berth_core::engine::{Followed, Follower};
use berth_core::store::cluster::{Watched, PREFIX};
use berth_core::store::etcd::{Cluster, HOW};
use std::path::Path;
use std::time::{Duration, Instant};

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
    follow(&mut engine, interval, a.once)
}

/// The agent's loop: a full synchronisation on start, every `interval`,
/// after a broken watch or a failure, and when a change asks for one;
/// otherwise each change the watch reports is applied on its own
/// (`Engine::overlay_follow`), so a new endpoint elsewhere costs this host
/// its own entries, not a read of the whole cluster.
fn follow(engine: &mut berth_core::engine::Engine, interval: Duration, once: bool) -> Result<i32> {
    let mut failing: Option<String> = None;
    let mut conn: Option<Cluster> = None;
    let mut follower: Option<(Follower, Instant)> = None;
    loop {
        let (f, synced) = match follower.as_mut() {
            Some((f, at)) if at.elapsed() < interval => (f, *at),
            _ => {
                let c = match conn.take() {
                    Some(c) => Ok(c),
                    None => Cluster::configured(engine.config(), "berth agent"),
                };
                let started = c.and_then(|mut c| {
                    let r = engine.overlay_follow_start(&mut c)?;
                    conn = Some(c);
                    Ok(r)
                });
                match started {
                    Ok((r, f)) => {
                        if failing.take().is_some() {
                            eprintln!("berth agent: cluster store reachable again; reconciled");
                        }
                        if once {
                            println!("{}", serde_json::to_string(&r)?);
                            return Ok(0);
                        }
                        let (f, at) = follower.insert((f, Instant::now()));
                        (f, *at)
                    }
                    Err(e) if once => return Err(e.into()),
                    Err(e) => {
                        let msg = e.to_string();
                        if failing.as_deref() != Some(msg.as_str()) {
                            eprintln!("berth agent: {msg} (retrying)");
                        }
                        failing = Some(msg);
                        (conn, follower) = (None, None);
                        std::thread::sleep(Duration::from_millis(500));
                        continue;
                    }
                }
            }
        };
        let Some(c) = conn.as_mut() else { continue };
        let left = interval.saturating_sub(synced.elapsed());
        let resync = match c.watch(PREFIX, f.revision(), left) {
            Ok(Watched::Events(evs)) => match engine.overlay_follow(f, &evs) {
                Ok(Followed::Applied(_)) => false,
                Ok(Followed::Resync) => true,
                Err(e) => {
                    eprintln!("berth agent: {e} (synchronising fully)");
                    true
                }
            },
            Ok(Watched::Quiet) => false,
            Ok(Watched::Broken) => true,
            Err(_) => {
                conn = None;
                true
            }
        };
        if resync {
            follower = None;
        }
    }
}
