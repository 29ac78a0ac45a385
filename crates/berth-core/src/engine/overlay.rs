//! Overlay networks, from the engine's side: creating one in the cluster
//! store, realising it on a host (its bridge and VXLAN device, recorded
//! locally like any network, so every local command works unchanged),
//! allocating addresses cluster-wide before a container is recorded, and
//! removing it. Keeping the VXLAN devices in step with the cluster is in
//! `overlay_sync.rs`; the planning in `drivers::overlay`.

use super::network::plan_ipam;
use super::Engine;
use crate::drivers::overlay::{self, LOCAL_UNDERLAY, LOCAL_VTEP};
use crate::drivers::{overlay_records, overlay_remote};
use crate::error::{Error, Result};
use crate::ids;
use crate::ipam;
use crate::kernel::vxlan::Underlay;
use crate::model::{Driver, Network, NetworkAttach, NetworkCreate};
use crate::plan::OpKind;
use crate::store::cluster::{self as keys, AddrRec};
use crate::store::etcd::Cluster;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// How many times an allocation retries when another host took the
/// candidate address first.
const CAS_TRIES: usize = 200;

/// What a container's overlay address reservation says about it.
pub(crate) struct Owner<'a> {
    /// Container id.
    pub id: &'a str,
    /// Container name.
    pub name: &'a str,
    /// Container hostname.
    pub hostname: &'a str,
}

impl Engine {
    /// `network create -d overlay`: records the network in the cluster store
    /// (name and VNI reserved by compare-and-swap) and realises it here.
    pub(crate) fn create_overlay_network(&mut self, req: &NetworkCreate) -> Result<Network> {
        refuse_encrypted(req)?;
        let mut cluster = Cluster::configured(&self.config, "an overlay network")?;
        let under = self.underlay(&cluster)?;
        let subnets = req.subnet_requests()?;
        let facts = self.kernel.host_facts(&[], true)?;
        let id = ids::new_id()?;
        let local = self.store.read(|tx| tx.networks())?;
        if local.iter().any(|n| n.name == req.name) {
            return Err(Error::conflict(format!(
                "network with name {:?} already exists on this host: choose another name",
                req.name
            )));
        }
        for _ in 0..10 {
            let (nets, vnis) = cluster_networks(&mut cluster)?;
            let mut existing = local.clone();
            existing.extend(
                nets.into_iter()
                    .filter(|n| !local.iter().any(|l| l.id == n.id)),
            );
            let ipam = plan_ipam(req, &id, &subnets, &existing, &facts)?;
            let net = overlay::plan_network(req, &id, overlay::free_vni(&vnis), ipam, under.mtu)?;
            let vni = overlay::vni(&net).unwrap_or(overlay::FIRST_VNI);
            let json = serde_json::to_string(&net).map_err(|e| Error::internal(e.to_string()))?;
            // The record must be one every host accepts.
            let kv = keys::Kv {
                key: keys::network_key(&id),
                value: json.clone(),
                lease: 0,
            };
            overlay_records::network(&kv)
                .map_err(|why| Error::invalid(format!("overlay network {}: {why}", req.name)))?;
            let pairs = [
                (keys::name_key(&net.name), id.clone()),
                (keys::vni_key(vni), id.clone()),
                (keys::network_key(&id), json),
            ];
            if cluster.create(&pairs, 0)? {
                self.realize_overlay(&net, &under)?;
                return Ok(net);
            }
            if cluster.get(&keys::name_key(&req.name))?.is_some() {
                return Err(Error::conflict(format!(
                    "network with name {:?} already exists in the cluster: choose another name",
                    req.name
                )));
            }
        }
        Err(Error::conflict(
            "another host kept taking the VNI this network was to get: try again",
        ))
    }

    /// This host's tunnel endpoint: the configured advertise address, or
    /// the address it reaches the cluster store from.
    pub(crate) fn underlay(&mut self, cluster: &Cluster) -> Result<Underlay> {
        let addr = match self.config.advertise {
            Some(a) => a,
            None => {
                let first = keys::parse_url(cluster.url())
                    .and_then(|e| e.into_iter().next())
                    .and_then(|e| e.parse().ok())
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "cannot tell this host's tunnel endpoint from {} (give the store as IP:PORT, or set BERTH_ADVERTISE_ADDR)",
                            cluster.url()
                        ))
                    })?;
                crate::kernel::vxlan::source_towards(first)?
            }
        };
        if !addr.is_ipv4() {
            return Err(Error::invalid(format!(
                "tunnel endpoint {addr} is IPv6: berth's overlay needs an IPv4 underlay"
            )));
        }
        crate::kernel::vxlan::underlay_of(self.kernel.host_netlink()?, addr)
    }

    /// Records and builds overlay network `net` on this host (its bridge,
    /// VXLAN device and firewall elements), unless it already is.
    pub(crate) fn realize_overlay(&mut self, net: &Network, under: &Underlay) -> Result<Network> {
        let _lock = self.lock()?;
        if let Some(n) = self.store.read(|tx| tx.network(&net.id))? {
            return Ok(n);
        }
        let mut local = net.clone();
        local
            .options
            .insert(LOCAL_VTEP.into(), under.addr.to_string());
        local
            .options
            .insert(LOCAL_UNDERLAY.into(), under.link.clone());
        self.create_network_op(OpKind::OverlayAttach, |tx| {
            if tx.network(&local.name)?.is_some() {
                return Err(Error::conflict(format!(
                    "overlay network {} has the name of a network of this host: rename or remove the local one",
                    local.name
                )));
            }
            Ok(local)
        })
    }

    /// Before a container is recorded: realises the overlay networks among
    /// `attaches` on this host (looking unknown names up in the cluster
    /// store) and reserves each one's address cluster-wide, written into
    /// the attachment (so the local allocation takes exactly that address).
    /// Does nothing without a cluster store; says whether an overlay
    /// network was among them and whether the host needs a synchronisation
    /// once the container is attached ([`Prepared`]).
    pub(crate) fn overlay_prepare(
        &mut self,
        owner: &Owner,
        attaches: &mut [NetworkAttach],
    ) -> Result<Prepared> {
        let mut done = Prepared::default();
        if self.config.store.is_none() {
            return Ok(done);
        }
        let (_, lease_before) = self.host_id_and_lease();
        let mut cluster: Option<Cluster> = None;
        for a in attaches.iter_mut() {
            let local = self.store.read(|tx| tx.network(&a.network))?;
            if local.as_ref().is_some_and(|n| n.driver != Driver::Overlay) {
                continue;
            }
            let c = match &mut cluster {
                Some(c) => c,
                None => cluster.insert(Cluster::configured(&self.config, "an overlay network")?),
            };
            let net = match local {
                Some(n) => n,
                None => match cluster_network(c, &a.network)? {
                    Some(n) => {
                        refuse_ip6(a, &n)?;
                        let under = self.underlay(c)?;
                        done.sync = true;
                        self.realize_overlay(&n, &under)?
                    }
                    None => continue,
                },
            };
            refuse_ip6(a, &net)?;
            let ip = self.reserve(c, &net, owner, a)?;
            a.ip = Some(ip);
            a.ip6 = overlay::ipv6_for(&net, ip);
            done.overlay = true;
        }
        // A lease granted anew (the old one expired): this host's other
        // endpoints went with the old one and are republished by the sync.
        done.sync |= done.overlay && self.host_id_and_lease().1 != lease_before;
        Ok(done)
    }

    /// After a container was attached to what [`Engine::overlay_prepare`]
    /// prepared: a synchronisation with the cluster store only when that
    /// left something for one to do. The usual case needs none: the
    /// reservation, made on this host's live lease with the container's
    /// id, name, MAC and aliases, already is the endpoint's published
    /// record, and every host's agent (this one's too) programs it from
    /// its watch. A full synchronisation re-reads the whole cluster prefix
    /// and every VXLAN device's entries, which at cluster size was most of
    /// an overlay `run -d`'s time (bench/cluster.sh).
    pub(crate) fn overlay_attached(&mut self, done: Prepared) {
        if done.sync {
            self.overlay_changed(None);
        }
    }

    /// Reserves an address of `net` in the cluster store for `owner`
    /// (`a.ip` when given, else the first free one) by compare-and-swap.
    fn reserve(
        &mut self,
        c: &mut Cluster,
        net: &Network,
        owner: &Owner,
        a: &NetworkAttach,
    ) -> Result<std::net::Ipv4Addr> {
        let cfg = net
            .ipam
            .iter()
            .find(|c| c.subnet.addr().is_ipv4())
            .ok_or_else(|| {
                Error::internal(format!("overlay network {} has no IPv4 subnet", net.name))
            })?;
        let mut clock = super::cni::Clock::of("overlay", self.config.trace_steps);
        // This host's lease as last recorded, not renewed first (the agent
        // renews it; a round trip less per reservation): etcd refuses a
        // reservation on a lease that expired ("lease not found"), and then
        // a new one is granted, with this host's record, and the
        // reservation made again.
        let (mut host, mut lease) = self.host_id_and_lease();
        if host.is_empty() || lease == 0 {
            (host, lease) = self.host_lease(c)?;
        }
        let vtep = net
            .options
            .get(LOCAL_VTEP)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::internal("overlay network without a local tunnel endpoint"))?;
        // This host's own endpoints: never offered, even while their keys
        // are missing (a lease that expired; the synchronisation after
        // this attach publishes them again).
        let here: Vec<IpAddr> = self
            .store
            .read(|tx| tx.network_endpoints(&net.id))?
            .iter()
            .filter_map(|e| e.ipv4.map(|i| i.addr()))
            .collect();
        for _ in 0..CAS_TRIES {
            let taken = c.list_keys(&keys::addrs_prefix(&net.id))?;
            clock.lap("list addresses");
            let used: BTreeSet<IpAddr> = taken
                .iter()
                .filter_map(|k| k.rsplit('/').next()?.parse().ok())
                .chain(here.iter().copied())
                .collect();
            let ip = match a.ip {
                Some(want) if used.contains(&IpAddr::V4(want)) => {
                    return Err(Error::conflict(format!(
                        "address {want} is already in use on network {} (somewhere in the cluster): choose another --ip",
                        net.name
                    )))
                }
                Some(want) => IpAddr::V4(want),
                None => ipam::allocate_after::<()>(cfg, None, |ip| Ok(used.contains(ip)))
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        Error::conflict(format!("no free address left in {} on network {}", cfg.subnet, net.name))
                    })?,
            };
            let IpAddr::V4(v4) = ip else { continue };
            let rec = AddrRec {
                host: host.clone(),
                vtep,
                mac: a.mac.clone().unwrap_or_else(|| ipam::mac_for_ipv4(v4)),
                container_id: owner.id.to_string(),
                name: owner.name.to_string(),
                hostname: owner.hostname.to_string(),
                aliases: a.aliases.clone(),
                reserved_at: keys::unix_now(),
            };
            let json = serde_json::to_string(&rec).map_err(|e| Error::internal(e.to_string()))?;
            let won = match c.create(&[(keys::addr_key(&net.id, &ip), json)], lease) {
                Err(e) if e.to_string().contains("lease not found") => {
                    (host, lease) = self.host_lease(c)?;
                    continue;
                }
                won => won?,
            };
            clock.lap("compare-and-swap");
            if won {
                return Ok(v4);
            }
        }
        Err(Error::conflict(format!(
            "could not reserve an address on network {}: other hosts kept taking them; try again",
            net.name
        )))
    }

    /// Before `network rm` of an overlay network: refuses while containers
    /// of other hosts use it.
    pub(crate) fn overlay_check_remove(&mut self, net: &Network) -> Result<()> {
        if net.driver != Driver::Overlay {
            return Ok(());
        }
        let mut c = Cluster::configured(&self.config, "removing an overlay network")?;
        let (host, _) = self.host_id_and_lease();
        let (kvs, _) = c.list(&keys::addrs_prefix(&net.id))?;
        let others: Vec<String> = overlay_remote::entries(net, &kvs, &host)
            .into_iter()
            .map(|e| format!("{} on {}", e.rec.name, e.rec.vtep))
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        Err(Error::conflict(format!(
            "network {} has active endpoints on other hosts ({}): remove those containers first",
            net.name,
            others.join(", ")
        )))
    }

    /// After `network rm` of an overlay network here: forgets it in the
    /// cluster store (the other hosts' agents remove their copies).
    pub(crate) fn overlay_forget(&mut self, net: &Network) -> Result<()> {
        if net.driver != Driver::Overlay {
            return Ok(());
        }
        let mut c = Cluster::configured(&self.config, "removing an overlay network")?;
        let mut del = vec![keys::network_key(&net.id), keys::name_key(&net.name)];
        if let Some(vni) = overlay::vni(net) {
            del.push(keys::vni_key(vni));
        }
        let (kvs, _) = c.list(&keys::addrs_prefix(&net.id))?;
        del.extend(kvs.into_iter().map(|kv| kv.key));
        c.delete(&del)
    }
}

/// What [`Engine::overlay_prepare`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// An overlay network was among the attachments: its address is
    /// reserved in the cluster store.
    pub overlay: bool,
    /// The host needs a synchronisation once the container is attached: a
    /// network was realised here just now (its VXLAN device holds no other
    /// host's entries yet, the guard and the DNS do not know it), or this
    /// host's lease was granted anew.
    pub sync: bool,
}

/// `--ip6` on an overlay network: refused (the IPv6 address follows the
/// IPv4 one, `drivers::overlay::ipv6_for`).
fn refuse_ip6(a: &NetworkAttach, net: &Network) -> Result<()> {
    match a.ip6 {
        Some(_) => Err(Error::invalid(format!(
            "--ip6 on overlay network {}: a container's IPv6 address there follows its IPv4 address (give --ip instead); nothing was changed",
            net.name
        ))),
        None => Ok(()),
    }
}

/// `-o encrypted`: refused, naming what is missing (decision 16: VXLAN over
/// WireGuard, keys through the cluster store; not implemented yet).
fn refuse_encrypted(req: &NetworkCreate) -> Result<()> {
    let asked = req
        .options
        .iter()
        .any(|o| o == "encrypted" || o.starts_with("encrypted="));
    if !asked {
        return Ok(());
    }
    let why = if crate::kernel::encryption::wireguard()? {
        "berth does not encrypt overlay networks yet".to_string()
    } else {
        "this kernel has no WireGuard (module wireguard, CONFIG_WIREGUARD), which berth's encrypted overlay needs".to_string()
    };
    Err(Error::invalid(format!(
        "-o encrypted: {why} (design: docs/decisions/0016-overlay-encryption.md); nothing was created. Without it, overlay traffic crosses the underlay in clear: keep the underlay private"
    )))
}

/// Every overlay network of the cluster (checked records: see
/// `drivers::overlay_records`) and the VNIs in use.
pub(crate) fn cluster_networks(c: &mut Cluster) -> Result<(Vec<Network>, BTreeSet<u32>)> {
    let (kvs, _) = c.list(&keys::networks_prefix())?;
    let (nets, _) = overlay_records::networks(&kvs);
    let (vkvs, _) = c.list(&keys::vnis_prefix())?;
    let vnis = vkvs
        .iter()
        .filter_map(|kv| kv.key.rsplit('/').next()?.parse().ok())
        .collect();
    Ok((nets, vnis))
}

/// An overlay network of the cluster by name or id; an error when its
/// record is refused (a record nobody can use is not silently skipped here:
/// the user asked for this network).
pub(crate) fn cluster_network(c: &mut Cluster, key: &str) -> Result<Option<Network>> {
    let by_name = c.get(&keys::name_key(key))?;
    let id = match &by_name {
        Some(kv) => kv.value.clone(),
        None if overlay_records::is_id(key) => key.to_string(),
        None => return Ok(None),
    };
    if !overlay_records::is_id(&id) {
        return Err(refused(key, "its name record does not hold a network id"));
    }
    let Some(kv) = c.get(&keys::network_key(&id))? else {
        return Ok(None);
    };
    let net = overlay_records::network(&kv).map_err(|why| refused(key, &why))?;
    if by_name.is_some() && net.name != key {
        return Err(refused(key, "its name record points to another network"));
    }
    Ok(Some(net))
}

fn refused(name: &str, why: &str) -> Error {
    Error::new(
        crate::error::ErrorKind::Store,
        format!(
            "the cluster store's record of overlay network {} is refused: {why}; nothing was changed (see berth doctor)",
            overlay_records::printable(name)
        ),
    )
}
