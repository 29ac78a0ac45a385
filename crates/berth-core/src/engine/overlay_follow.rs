//! Following the cluster store between full synchronisations: what `berth
//! agent` does with each change its watch reports. A full synchronisation
//! (`overlay_sync.rs`) reads every key and rebuilds every VXLAN device's
//! entries, which costs the size of the cluster; a new endpoint on another
//! host needs only its own forwarding and neighbour entries and its names.
//! So after a full read the agent keeps the checked address records of
//! this host's overlay networks ([`Follower`]) and applies each change to
//! them: the record is checked like any other (`drivers::overlay_remote`),
//! the entries of its MAC are changed on the network's VXLAN device, and
//! its container's names reach the embedded DNS as one journal line.
//!
//! What is not a plain endpoint of another host asks for a full
//! synchronisation instead ([`Followed::Resync`]): a host or network
//! record that changed, a network realised here since the last full read,
//! this host's own record deleted while its container still uses the
//! address (republished by compare-and-swap) or written by another host
//! (a conflict, reported). The agent also synchronises fully every few
//! seconds, after a broken watch and after a failure.

use super::dns::network_rec;
use super::Engine;
use crate::drivers::overlay::{self, Remote};
use crate::drivers::overlay_records;
use crate::drivers::overlay_remote::{self, Entry};
use crate::error::{Error, Result};
use crate::model::{Driver, Network};
use crate::store::cluster::{self as keys, Event};
use crate::store::etcd::Cluster;
use berth_dns::journal::Delta;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::overlay_sync::SyncReport;

/// What the agent knows of the cluster since its last full read.
#[derive(Debug, Clone, Default)]
pub struct Follower {
    /// The store's revision of the last full read, then of the last
    /// change applied: changes at or below it are already known.
    revision: i64,
    /// This host's id.
    host: String,
    /// This host's overlay networks, by id.
    nets: BTreeMap<String, Network>,
    /// The checked address records of those networks (this host's too), by key.
    addrs: BTreeMap<String, Entry>,
}

impl Follower {
    /// The revision up to which it knows the store.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// A follower of host `host` on `nets` that knows nothing yet.
    #[cfg(test)]
    pub(crate) fn new(host: &str, nets: Vec<Network>, revision: i64) -> Follower {
        Follower {
            revision,
            host: host.to_string(),
            nets: nets.into_iter().map(|n| (n.id.clone(), n)).collect(),
            addrs: BTreeMap::new(),
        }
    }
}

/// What [`Engine::overlay_follow`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// The changes were applied: this many VXLAN entries changed.
    Applied(usize),
    /// A change needs a full synchronisation (see the module docs).
    Resync,
}

impl Engine {
    /// A full synchronisation on `c` ([`Engine::overlay_sync`]) and a
    /// follower that knows what it read.
    pub fn overlay_follow_start(&mut self, c: &mut Cluster) -> Result<(SyncReport, Follower)> {
        let (report, all) = self.overlay_sync_on(c, None)?;
        let (host, _) = self.host_id_and_lease();
        let nets: BTreeMap<String, Network> = self
            .networks()?
            .into_iter()
            .filter(|n| n.driver == Driver::Overlay)
            .map(|n| (n.id.clone(), n))
            .collect();
        let addrs = all
            .iter()
            .filter_map(|kv| {
                let net = nets.get(network_of(&kv.key)?)?;
                let e = overlay_remote::check(net, kv).ok().flatten()?;
                Some((kv.key.clone(), e))
            })
            .collect();
        let f = Follower {
            revision: report.revision,
            host,
            nets,
            addrs,
        };
        Ok((report, f))
    }

    /// Applies `events` (in the store's order; those `f` already knows are
    /// skipped) to this host's VXLAN devices and embedded DNS.
    pub fn overlay_follow(&mut self, f: &mut Follower, events: &[Event]) -> Result<Followed> {
        let mut changed = 0;
        let mut names = BTreeSet::new();
        for ev in events {
            if ev.revision <= f.revision {
                continue;
            }
            match self.follow_one(f, ev, &mut names)? {
                Some(n) => changed += n,
                None => return Ok(Followed::Resync),
            }
            f.revision = ev.revision;
        }
        if !names.is_empty() {
            if let Err(e) = self.follow_dns(f, &names) {
                // The full synchronisation rewrites the names file it
                // compares with, and the whole snapshot with it.
                tracing::warn!("embedded DNS: {e}");
                let _ = std::fs::remove_file(self.remote_names_path());
                return Ok(Followed::Resync);
            }
        }
        Ok(Followed::Applied(changed))
    }

    /// One change: the number of VXLAN entries it changed, None when it
    /// needs a full synchronisation. `names`: containers whose names changed.
    fn follow_one(
        &mut self,
        f: &mut Follower,
        ev: &Event,
        names: &mut BTreeSet<String>,
    ) -> Result<Option<usize>> {
        let key = &ev.kv.key;
        let Some(nid) = network_of(key) else {
            // Hosts (the VTEP guard) and networks: a full read. Names and
            // VNIs change with their network's record.
            let full =
                key.starts_with(&keys::hosts_prefix()) || key.starts_with(&keys::networks_prefix());
            return Ok((!full).then_some(0));
        };
        let Some(net) = f.nets.get(nid).cloned() else {
            // Realised here since the last full read?
            let here = overlay_records::is_id(nid)
                && self
                    .store
                    .read(|tx| tx.network(nid))?
                    .is_some_and(|n| n.id == nid && n.driver == Driver::Overlay);
            return Ok((!here).then_some(0));
        };
        let old = f.addrs.get(key).cloned();
        let new = match ev.put {
            true => overlay_remote::check(&net, &ev.kv).unwrap_or_else(|why| {
                tracing::warn!(
                    "cluster store: skipped {}: {why}",
                    overlay_records::printable(key)
                );
                None
            }),
            false => None,
        };
        let mine = |e: &Option<Entry>| e.as_ref().is_some_and(|e| e.rec.host == f.host);
        let theirs = |e: &Option<Entry>| e.as_ref().is_some_and(|e| e.rec.host != f.host);
        if mine(&old) || mine(&new) {
            let ip = key.rsplit('/').next().and_then(|t| t.parse().ok());
            let done = match &new {
                // This host's own record (a reservation, a republication).
                Some(_) => mine(&new) && !theirs(&old),
                // Deleted: fine once its container no longer uses it (a
                // record made unreadable is republished by the full read).
                None => !ev.put && !self.uses(nid, ip)?,
            };
            if !done {
                return Ok(None);
            }
            set(&mut f.addrs, key, new);
            return Ok(Some(0));
        }
        let macs: BTreeSet<String> = [&old, &new]
            .into_iter()
            .flatten()
            .map(|e| e.rec.mac.clone())
            .collect();
        let have = remotes_of(f, nid, &macs);
        set(&mut f.addrs, key, new.clone());
        let want = remotes_of(f, nid, &macs);
        let steps = overlay::remote_steps(&overlay::vxlan_name(nid), &want, &have);
        let n = steps.len();
        for e in self.apply_best_effort(&crate::plan::Plan { steps }) {
            tracing::warn!("overlay network {}: {e}", net.name);
        }
        if net.dns_enabled() && old != new {
            names.extend([old, new].into_iter().flatten().map(|e| e.rec.container_id));
        }
        Ok(Some(n))
    }

    /// Whether a local endpoint of network `nid` has address `ip`.
    fn uses(&mut self, nid: &str, ip: Option<IpAddr>) -> Result<bool> {
        let eps = self.store.read(|tx| tx.network_endpoints(nid))?;
        Ok(eps.iter().any(|e| {
            [e.ipv4, e.ipv6]
                .into_iter()
                .flatten()
                .any(|a| Some(a.addr()) == ip)
        }))
    }

    /// The other hosts' names after a change to containers `ids`: the file
    /// full snapshots are built from, and one journal line per container.
    fn follow_dns(&mut self, f: &Follower, ids: &BTreeSet<String>) -> Result<()> {
        let all: Vec<(&Network, berth_dns::EndpointRec)> = f
            .addrs
            .iter()
            .filter(|(_, e)| e.rec.host != f.host)
            .filter_map(|(key, e)| {
                let net = f.nets.get(network_of(key)?)?;
                Some((net, overlay_remote::dns_endpoint(net, e)?))
            })
            .collect();
        let recs: Vec<&berth_dns::EndpointRec> = all.iter().map(|(_, r)| r).collect();
        let text = serde_json::to_string(&recs).map_err(|e| Error::internal(e.to_string()))?;
        let path = self.remote_names_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, text)?;
        let deltas: Vec<Delta> = ids
            .iter()
            .map(|id| {
                let mine: Vec<&(&Network, berth_dns::EndpointRec)> =
                    all.iter().filter(|(_, r)| &r.container_id == id).collect();
                let mut networks: Vec<_> = mine
                    .iter()
                    .filter(|(n, _)| n.dns_enabled())
                    .map(|(n, _)| network_rec(n))
                    .collect();
                networks.dedup_by(|a, b| a.id == b.id);
                Delta {
                    generation: super::dns::generation(),
                    container_id: id.clone(),
                    networks,
                    endpoints: mine
                        .iter()
                        .filter(|(n, _)| n.dns_enabled())
                        .map(|(_, r)| r.clone())
                        .collect(),
                }
            })
            .collect();
        self.sync_dns_deltas(deltas)
    }
}

/// Network id of an address key (`.../addrs/<id>/<ip>`).
fn network_of(key: &str) -> Option<&str> {
    key.strip_prefix(&keys::addrs_prefix(""))?.split('/').next()
}

/// The other hosts' VXLAN entries of network `nid` with one of `macs`.
fn remotes_of(f: &Follower, nid: &str, macs: &BTreeSet<String>) -> BTreeSet<Remote> {
    let prefix = keys::addrs_prefix(nid);
    f.addrs
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, e)| e.rec.host != f.host && macs.contains(&e.rec.mac))
        .map(|(_, e)| overlay_remote::remote(e))
        .collect()
}

fn set(addrs: &mut BTreeMap<String, Entry>, key: &str, e: Option<Entry>) {
    match e {
        Some(e) => addrs.insert(key.to_string(), e),
        None => addrs.remove(key),
    };
}
