//! Keeping a host in step with the cluster store (what `berth agent`
//! runs on every change and every few seconds, and what a command runs
//! after changing an overlay endpoint): this host's lease and record, its
//! endpoints published on that lease, its stale reservations released,
//! overlay networks removed elsewhere forgotten here, and each VXLAN
//! device's forwarding and neighbour entries made equal to the other
//! hosts' endpoints.

use super::overlay::cluster_networks;
use super::overlay_report::{ClusterReport, Conflict};
use super::Engine;
use crate::drivers::overlay::{self, Remote, LOCAL_VTEP};
use crate::drivers::{overlay_records, overlay_remote};
use crate::error::{Error, Result};
use crate::model::{Driver, Network};
use crate::store::cluster::{self as keys, AddrRec, HostRec, Kv};
use crate::store::etcd::Cluster;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Seconds a reservation may wait for its container to be recorded.
const GRACE: u64 = 30;

/// What one synchronisation did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SyncReport {
    /// The cluster store's revision it saw.
    pub revision: i64,
    /// Remote entries added or removed.
    pub changed: usize,
    /// Local endpoints (re)published.
    pub published: usize,
    /// Stale reservations released.
    pub released: usize,
}

impl Engine {
    fn cluster_file(&self, name: &str) -> std::path::PathBuf {
        self.paths.state.join("cluster").join(name)
    }

    /// This host's id in the cluster (made on first use) and its last lease.
    pub(crate) fn host_id_and_lease(&self) -> (String, i64) {
        let id = std::fs::read_to_string(self.cluster_file("host-id")).unwrap_or_default();
        let lease = std::fs::read_to_string(self.cluster_file("lease"))
            .ok()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        (id.trim().to_string(), lease)
    }

    /// Renews this host's lease, or grants a new one (and records this
    /// host's tunnel endpoint on it) when it expired; returns (id, lease).
    pub(crate) fn host_lease(&mut self, c: &mut Cluster) -> Result<(String, i64)> {
        let (mut id, lease) = self.host_id_and_lease();
        if id.is_empty() {
            id = crate::ids::new_id()?;
            std::fs::create_dir_all(self.paths.state.join("cluster"))?;
            std::fs::write(self.cluster_file("host-id"), &id)?;
        }
        if lease != 0 {
            match c.keep_alive(lease) {
                Ok(ttl) if ttl > 0 => return Ok((id, lease)),
                Ok(_) => {}
                // An expired lease is "not found" to etcd: grant a new one.
                Err(e) if e.to_string().contains("lease not found") => {}
                Err(e) => return Err(e),
            }
        }
        let lease = c.grant(self.config.cluster_ttl.max(2))?;
        std::fs::create_dir_all(self.paths.state.join("cluster"))?;
        std::fs::write(self.cluster_file("lease"), lease.to_string())?;
        let under = self.underlay(c)?;
        let rec = HostRec {
            name: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            vtep: under.addr,
            underlay: under.link,
            mtu: under.mtu,
        };
        let json = serde_json::to_string(&rec).map_err(|e| Error::internal(e.to_string()))?;
        c.put(&keys::host_key(&id), &json, lease)?;
        Ok((id, lease))
    }

    /// One synchronisation with the cluster store (see the module docs).
    /// `release`: a container just removed here, whose reservations go now.
    pub fn overlay_sync(&mut self, release: Option<&str>) -> Result<SyncReport> {
        let mut c = Cluster::configured(&self.config, "overlay networks")?;
        Ok(self.overlay_sync_on(&mut c, release)?.0)
    }

    /// [`Engine::overlay_sync`] on connection `c`; also returns everything
    /// it read (at the report's revision).
    pub(crate) fn overlay_sync_on(
        &mut self,
        c: &mut Cluster,
        release: Option<&str>,
    ) -> Result<(SyncReport, Vec<Kv>)> {
        let (host, lease) = self.host_lease(c)?;
        // One range read of everything berth keeps in the store.
        let (all, revision) = c.list(keys::PREFIX)?;
        let under = |p: String| -> Vec<Kv> {
            all.iter()
                .filter(|kv| kv.key.starts_with(&p))
                .cloned()
                .collect()
        };
        let kvs = under(keys::addrs_prefix(""));
        let (_, mut rejected) = overlay_records::networks(&under(keys::networks_prefix()));
        let (hosts, bad_hosts) = overlay_records::hosts(&under(keys::hosts_prefix()));
        rejected.extend(bad_hosts);
        let mut report = SyncReport {
            revision,
            ..Default::default()
        };
        self.forget_removed(&under(keys::networks_prefix()))?;
        let locals: Vec<Network> = self
            .networks()?
            .into_iter()
            .filter(|n| n.driver == Driver::Overlay)
            .collect();
        let mut conflicts = Vec::new();
        report.published = self.publish(c, &kvs, (&host, lease), &locals, &mut conflicts)?;
        report.released = self.release(c, &kvs, &host, release)?;
        for net in &locals {
            rejected.extend(overlay_remote::rejected(net, &kvs));
            report.changed += self.program_remotes(net, &kvs, &host)?;
        }
        self.export_names(&kvs, &host, &locals)?;
        self.sync_vteps(&hosts)?;
        let warning =
            crate::store::etcd_config::StoreConfig::new(c.url(), &self.config.store_credentials)
                .ok()
                .and_then(|cfg| cfg.warning());
        self.write_report(&ClusterReport {
            time: keys::unix_now(),
            store: c.url().to_string(),
            warning,
            rejected,
            conflicts,
        })?;
        Ok((report, all))
    }

    pub(super) fn remote_names_path(&self) -> std::path::PathBuf {
        self.paths.run.join("cluster").join("remote-endpoints.json")
    }

    /// The other hosts' endpoints on this host's overlay networks, as the
    /// embedded DNS serves them (written by the last synchronisation).
    pub(crate) fn overlay_dns_endpoints(&self) -> Vec<berth_dns::EndpointRec> {
        std::fs::read_to_string(self.remote_names_path())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Writes the other hosts' endpoints for the embedded DNS and makes it
    /// reload them when they changed.
    fn export_names(&mut self, kvs: &[Kv], host: &str, locals: &[Network]) -> Result<()> {
        let recs: Vec<berth_dns::EndpointRec> = locals
            .iter()
            .flat_map(|net| overlay_remote::dns_endpoints(net, kvs, host))
            .collect();
        let text = serde_json::to_string(&recs).map_err(|e| Error::internal(e.to_string()))?;
        let path = self.remote_names_path();
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, text)?;
        if let Err(e) = self.publish_dns() {
            tracing::warn!("embedded DNS: {e}");
        }
        Ok(())
    }

    /// Removes the local copies of overlay networks gone from the cluster
    /// (those without local endpoints). The local list is read first: a
    /// network is in the cluster store before it is realised on a host.
    /// `nets` lists the networks' keys: a network whose record is refused
    /// is still there (it is reported, not forgotten).
    fn forget_removed(&mut self, nets: &[Kv]) -> Result<()> {
        let locals = self.networks()?;
        for n in locals {
            let gone = n.driver == Driver::Overlay
                && !nets.iter().any(|kv| kv.key == keys::network_key(&n.id));
            let idle = self
                .store
                .read(|tx| Ok(tx.network_endpoints(&n.id)?.is_empty()))?;
            if gone && idle {
                self.remove_network_op(crate::plan::OpKind::OverlayDetach, &n)?;
            }
        }
        Ok(())
    }

    /// Makes sure every local overlay endpoint has its key, on this lease
    /// (created by compare-and-swap when missing: an address the store now
    /// gives to another host is a [`Conflict`], never taken over).
    fn publish(
        &mut self,
        c: &mut Cluster,
        kvs: &[Kv],
        (host, lease): (&str, i64),
        locals: &[Network],
        conflicts: &mut Vec<Conflict>,
    ) -> Result<usize> {
        let mut n = 0;
        for net in locals {
            let Some(vtep) = net.options.get(LOCAL_VTEP).and_then(|v| v.parse().ok()) else {
                continue;
            };
            for e in self.store.read(|tx| tx.network_endpoints(&net.id))? {
                let ctr = self.store.read(|tx| tx.container(&e.container_id))?;
                // A CNI pod's record name (`NETWORK:ID:IFNAME`) is no DNS name:
                // its first alias is its name in the cluster.
                let name = match &ctr {
                    Some(c) if c.cni.is_some() => e.aliases.first().cloned().unwrap_or_default(),
                    Some(c) => c.name.clone(),
                    None => String::new(),
                };
                let ips = [e.ipv4.map(|i| i.addr()), e.ipv6.map(|i| i.addr())];
                for ip in ips.into_iter().flatten() {
                    let key = keys::addr_key(&net.id, &ip);
                    let cur = kvs.iter().find(|kv| kv.key == key);
                    let rec: Option<AddrRec> =
                        cur.and_then(|kv| serde_json::from_str(&kv.value).ok());
                    if let Some(r) = &rec {
                        if r.host != host {
                            conflicts.push(Conflict {
                                network: net.name.clone(),
                                address: ip,
                                container: name.clone(),
                                veth: e.host_veth.clone(),
                                holder: r.vtep.to_string(),
                            });
                            continue;
                        }
                        if cur.is_some_and(|kv| kv.lease == lease) {
                            continue;
                        }
                    }
                    let rec = AddrRec {
                        host: host.to_string(),
                        vtep,
                        mac: e.mac.clone(),
                        container_id: e.container_id.clone(),
                        name: name.clone(),
                        hostname: ctr
                            .as_ref()
                            .map(|c| c.config.hostname.clone())
                            .unwrap_or_default(),
                        aliases: e.aliases.clone(),
                        reserved_at: keys::unix_now(),
                    };
                    let json =
                        serde_json::to_string(&rec).map_err(|e| Error::internal(e.to_string()))?;
                    let done = match cur {
                        // This host's own key, on an older lease: swapped
                        // only if nobody changed it since it was read.
                        Some(kv) => c.swap(&key, &kv.value, &json, lease)?,
                        None => c.create(&[(key, json)], lease)?,
                    };
                    n += usize::from(done);
                }
            }
        }
        Ok(n)
    }

    /// Deletes this host's keys with no local endpoint: at once for a
    /// recorded (or just removed, `release`) container, after [`GRACE`]
    /// for a reservation whose container never got recorded.
    fn release(
        &mut self,
        c: &mut Cluster,
        kvs: &[Kv],
        host: &str,
        release: Option<&str>,
    ) -> Result<usize> {
        // Endpoints and containers in one read, after the keys were listed:
        // a container recorded since has its endpoint in the same read, so
        // its fresh key is never taken for a leftover.
        let (eps, ctrs) = self.store.read(|tx| {
            let ids: BTreeSet<String> = tx.containers()?.into_iter().map(|c| c.id).collect();
            Ok((tx.endpoints()?, ids))
        })?;
        let mut stale = Vec::new();
        for kv in kvs {
            let Ok(r) = serde_json::from_str::<AddrRec>(&kv.value) else {
                continue;
            };
            let mut parts = kv.key.rsplit('/');
            let (Some(ip), Some(nid)) = (parts.next(), parts.next()) else {
                continue;
            };
            let ip: Option<IpAddr> = ip.parse().ok();
            let used = eps.iter().any(|e| {
                e.network_id == nid
                    && (e.ipv4.map(|i| i.addr()) == ip || e.ipv6.map(|i| i.addr()) == ip)
            });
            if r.host != host || used {
                continue;
            }
            let recorded = ctrs.contains(&r.container_id);
            let old = r.reserved_at + GRACE < keys::unix_now();
            if recorded || old || release == Some(r.container_id.as_str()) {
                stale.push(kv.key.clone());
            }
        }
        if !stale.is_empty() {
            c.delete(&stale)?;
        }
        Ok(stale.len())
    }

    /// Makes network `net`'s VXLAN device hold exactly the other hosts'
    /// endpoints; returns how many entries changed.
    fn program_remotes(&mut self, net: &Network, kvs: &[Kv], host: &str) -> Result<usize> {
        // Checked: a record another host wrote reaches the kernel only if
        // it is well-formed (see drivers::overlay_remote).
        let want: BTreeSet<Remote> = overlay_remote::remotes(net, kvs, host);
        let dev = overlay::vxlan_name(&net.id);
        let Some(index) = self.kernel.host_netlink()?.link_index(&dev)? else {
            return Ok(0);
        };
        let have = crate::kernel::vxlan::remotes(self.kernel.host_netlink()?, index)?;
        let steps = overlay::remote_steps(&dev, &want, &have);
        let n = steps.len();
        for e in self.apply_best_effort(&crate::plan::Plan { steps }) {
            tracing::warn!("overlay network {}: {e}", net.name);
        }
        Ok(n)
    }

    /// After a change of overlay endpoints here (best effort: the agent
    /// catches up otherwise).
    pub(crate) fn overlay_changed(&mut self, released: Option<&str>) {
        if self.config.store.is_none() {
            return;
        }
        if let Err(e) = self.overlay_sync(released) {
            tracing::warn!("cluster store: {e} ('berth agent' will catch up)");
        }
    }

    /// The cluster as `system info` shows it.
    pub fn cluster_info(&mut self) -> serde_json::Value {
        let Some(url) = self.config.store.clone() else {
            return serde_json::Value::Null;
        };
        let (id, lease) = self.host_id_and_lease();
        let mut info =
            serde_json::json!({"Store": url, "HostId": id, "Lease": format!("{lease:x}")});
        let hosts = Cluster::configured(&self.config, "system info").and_then(|mut c| {
            let (hosts, _) = c.list(&keys::hosts_prefix())?;
            let (addrs, rev) = c.list(&keys::addrs_prefix(""))?;
            let (nets, _) = cluster_networks(&mut c)?;
            Ok((hosts, addrs.len(), nets.len(), rev))
        });
        match hosts {
            Ok((hosts, endpoints, nets, rev)) => {
                let list: Vec<serde_json::Value> = overlay_records::hosts(&hosts)
                    .0
                    .into_iter()
                    .map(|(_, h)| serde_json::json!({"Name": h.name, "Vtep": h.vtep, "Underlay": h.underlay, "Mtu": h.mtu}))
                    .collect();
                info["Hosts"] = list.into();
                info["OverlayNetworks"] = nets.into();
                info["Endpoints"] = endpoints.into();
                info["Revision"] = rev.into();
            }
            Err(e) => info["Error"] = e.to_string().into(),
        }
        info
    }
}
