//! The executor of plan steps: where plans touch the kernel (netlink in
//! the host's namespace and in containers', nftables, sysctls, namespace
//! pins). [`super::Real`] applies every step through it; which steps run,
//! in which order, and what is undone when one fails is the engine's
//! business (`engine/run.rs`).

mod driver;
mod veth;

use crate::error::{Error, Result};
use crate::kernel::{conntrack, errno, msg, netns, netns_names, sysctl, Netlink, Nft};
use crate::plan::Step;
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Applies plans in the host's namespace (where it was created).
pub struct Applier {
    host: Netlink,
    nft: Nft,
    ns: NsCache,
    /// With [`Applier::defer_sweeps`]: namespaces unpinned whose leftover
    /// processes are to be ended later ([`Applier::take_deferred`]).
    deferred: Option<Vec<netns::NsKey>>,
    /// The procfs instance of the namespace this plan made, kept for the
    /// plan's veth ([`Applier::create_veth`] takes it).
    procfs: sysctl::Procfs,
    /// The procfs instance of the host's own sysctls (a network's bridge
    /// settings, forwarding): one for all of them, as each instance's
    /// teardown waits for an RCU grace period (`network create` made four).
    host_procfs: sysctl::Procfs,
}

impl Applier {
    /// Opens the host netlink socket and nftables handle (which spawns
    /// `nft` with `nft_spawn`).
    pub fn new(nft_spawn: bool) -> Result<Applier> {
        Ok(Applier {
            host: Netlink::open()?,
            nft: Nft::spawning(nft_spawn),
            ns: NsCache::default(),
            deferred: None,
            procfs: sysctl::Procfs::default(),
            host_procfs: sysctl::Procfs::default(),
        })
    }

    /// From now on [`Step::RemoveNetns`] only notes which namespace's
    /// leftover processes must be ended instead of scanning for them at
    /// once (a scan of every process of the host): for a supervisor, which
    /// does it after recording the exit that `stop` and `rm -f` wait for.
    pub fn defer_sweeps(&mut self) {
        self.deferred.get_or_insert_with(Vec::new);
    }

    /// The namespaces noted since [`Applier::defer_sweeps`].
    pub fn take_deferred(&mut self) -> Vec<netns::NsKey> {
        self.deferred
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The procfs instance of the host's own sysctls.
    pub fn host_procfs(&self) -> &sysctl::Procfs {
        &self.host_procfs
    }

    /// The host netlink socket.
    pub fn host(&mut self) -> &mut Netlink {
        &mut self.host
    }

    /// The namespace pinned at `path` (opened on first use): its file and
    /// a netlink socket inside it.
    pub(crate) fn netns_handles(&mut self, path: &Path) -> Result<&mut (std::fs::File, Netlink)> {
        self.ns.get(&path.to_path_buf())
    }

    /// The nftables handle, to look at.
    pub fn nft_ref(&self) -> &Nft {
        &self.nft
    }

    /// The nftables handle.
    pub fn nft(&mut self) -> &mut Nft {
        &mut self.nft
    }

    /// Applies one step.
    pub fn step(&mut self, step: &Step) -> Result<()> {
        match step {
            Step::CreateBridge { name, mtu, addrs } => self.create_bridge(name, *mtu, addrs),
            // A host booted without IPv6 has no IPv6 settings to make.
            Step::Sysctl { key, value } if key.starts_with("net.ipv6.") => {
                self.host_procfs.write_if_present(key, value)
            }
            Step::Sysctl { key, value } => self.host_procfs.write(key, value),
            Step::CreateNetns { path } => {
                self.procfs = sysctl::Procfs::default();
                let made = netns::create(path, &self.procfs)?;
                self.ns.insert(path.clone(), made.file, made.netlink);
                Ok(())
            }
            Step::CreateVeth { .. } => self.create_veth(step),
            Step::Elements { remove, add } => {
                self.nft.elements(remove, add)?;
                forget_unpublished(&mut self.nft, remove);
                Ok(())
            }
            // Plans recorded before elements were typed.
            Step::Nft { apply, .. } => self.nft.apply(apply),
            Step::DeleteLink { name } => self.delete_link(name),
            Step::DeleteVeth { name, owner, netns } => self.delete_veth(name, owner, netns),
            Step::RetireVeth { name, owner, netns } => self.retire_veth(name, owner, netns),
            Step::AttachPort { host, bridge } => self.attach_port(host, bridge),
            Step::DefaultRoutes {
                netns,
                ifname,
                gateways,
            } => self.default_routes(netns, ifname, gateways),
            Step::Routes {
                netns,
                ifname,
                routes,
                metric,
            } => self.routes(netns, ifname, routes, *metric),
            Step::LoopbackUp { netns } => {
                let (_, nl) = self.ns.get(netns)?;
                nl.run(vec![msg::link_up("lo")])
            }
            Step::Shape { host, shaping } => {
                crate::kernel::tc::shape(&mut self.host, host, shaping)
            }
            Step::NameNetns { pin, link, owner } => {
                netns_names::name_or_warn(pin, link, owner);
                Ok(())
            }
            Step::UnnameNetns { link, owner } => netns_names::unname(link, owner).map(|_| ()),
            Step::Driver(d) => self.driver_step(d),
            Step::UnpinNetns { path } => {
                self.ns.forget(path);
                netns::remove(path)
            }
            Step::NetnsSysctls { netns, settings } => {
                let (file, _) = self.ns.get(netns)?;
                sysctl::write_all_in(file, settings)
            }
            Step::RemoveNetns { path } => {
                self.ns.forget(path);
                // Processes left in it would keep it, its veths and their
                // addresses alive once the container is forgotten.
                let key = netns::pinned_key(path)?;
                netns::remove(path)?;
                match (&mut self.deferred, key) {
                    (Some(later), Some(key)) => later.push(key),
                    (None, Some(key)) => drop(netns::end_members(key)),
                    (_, None) => {}
                }
                Ok(())
            }
        }
    }

    fn default_routes(
        &mut self,
        ns: &std::path::Path,
        ifname: &str,
        gateways: &[std::net::IpAddr],
    ) -> Result<()> {
        let (_, nl) = self.ns.get(&ns.to_path_buf())?;
        let index = nl
            .link_index(ifname)?
            .ok_or_else(|| Error::kernel(format!("{ifname} is missing in {}", ns.display())))?;
        nl.run(
            gateways
                .iter()
                .map(|g| msg::default_route(*g, index))
                .collect(),
        )
    }

    fn routes(
        &mut self,
        ns: &std::path::Path,
        ifname: &str,
        routes: &[(ipnet::IpNet, std::net::IpAddr)],
        metric: Option<u32>,
    ) -> Result<()> {
        let (_, nl) = self.ns.get(&ns.to_path_buf())?;
        let index = nl
            .link_index(ifname)?
            .ok_or_else(|| Error::kernel(format!("{ifname} is missing in {}", ns.display())))?;
        nl.run(
            routes
                .iter()
                .map(|(dst, gw)| match metric {
                    Some(m) => msg::route_append(*dst, *gw, index, m),
                    None => msg::route(*dst, *gw, index),
                })
                .collect(),
        )
    }

    /// Creates the bridge down; an IPv4-only one gets no IPv6 link-local
    /// address (nothing on it speaks IPv6 to the host); then its
    /// addresses, then up.
    fn create_bridge(&mut self, name: &str, mtu: u32, addrs: &[ipnet::IpNet]) -> Result<()> {
        self.host.run(vec![msg::new_bridge(name, mtu)])?;
        let index = self
            .host
            .link_index(name)?
            .ok_or_else(|| Error::kernel(format!("bridge {name} vanished after creation")))?;
        let mut reqs: Vec<_> = addrs
            .iter()
            .map(|a| msg::add_address(index, *a, name))
            .collect();
        if !addrs.iter().any(|a| a.addr().is_ipv6()) {
            reqs.insert(0, msg::no_ipv6_link_local(name));
        }
        reqs.push(msg::link_up(name));
        self.host.run(reqs)
    }

    /// Enslaves existing link `host` to `bridge` (a no-op when it is
    /// already its port), in berth's port group, up, hairpin on.
    fn attach_port(&mut self, host: &str, bridge: &str) -> Result<()> {
        use netlink_packet_route::link::{LinkAttribute, LinkMessage};
        use netlink_packet_route::RouteNetlinkMessage;
        let master = self
            .host
            .link_index(bridge)?
            .ok_or_else(|| Error::kernel(format!("bridge {bridge} does not exist")))?;
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(host.to_string()));
        m.attributes.push(LinkAttribute::Controller(master));
        m.attributes
            .push(LinkAttribute::Group(crate::firewall::PORT_GROUP));
        let set_master = crate::kernel::Request {
            msg: RouteNetlinkMessage::SetLink(m),
            flags: 0,
            what: format!("attach {host} to bridge {bridge}"),
        };
        self.host.run(vec![
            set_master,
            msg::link_up(host),
            msg::bridge_port_hairpin(host),
        ])
    }

    fn delete_link(&mut self, name: &str) -> Result<()> {
        match self
            .host
            .execute(vec![msg::del_link(name)])?
            .into_iter()
            .next()
        {
            Some(e) if e.errno == errno::ENODEV || e.errno == errno::ENOENT => Ok(()),
            Some(e) => Err(e.into_error()),
            None => Ok(()),
        }
    }

    /// Deletes link `name` inside the namespace pinned at `ns`; gone is fine.
    pub fn delete_link_in(&mut self, ns: &Path, name: &str) -> Result<()> {
        let (_, nl) = self.ns.get(&ns.to_path_buf())?;
        match nl.execute(vec![msg::del_link(name)])?.into_iter().next() {
            Some(e) if e.errno == errno::ENODEV || e.errno == errno::ENOENT => Ok(()),
            Some(e) => Err(e.into_error()),
            None => Ok(()),
        }
    }
}

/// Deletes the conntrack entries of the ports among `removed` elements, so
/// established flows (UDP clients above all) do not stick to the old
/// container. Best effort: a failure only delays those flows until their
/// entries expire.
fn forget_unpublished(nft: &mut Nft, removed: &[crate::firewall::Element]) {
    let gone = conntrack::unpublished(removed);
    if gone.is_empty() {
        return;
    }
    let forgotten = nft
        .netfilter_socket()
        .and_then(|sock| conntrack::forget_on(sock, &gone));
    if let Err(e) = forgotten {
        tracing::warn!("forgetting flows of unpublished ports: {e}");
    }
}

/// Handles to namespaces opened while applying, and which of them this
/// applier created (their IPv6 defaults are berth's, see `netns::create`).
#[derive(Default)]
struct NsCache {
    map: HashMap<PathBuf, (File, Netlink)>,
    /// Namespaces opened by [`NsCache::file`] without a socket yet.
    files: HashMap<PathBuf, File>,
    made: HashSet<PathBuf>,
}

impl NsCache {
    fn get(&mut self, path: &PathBuf) -> Result<&mut (File, Netlink)> {
        self.get_entering(path, &[], &sysctl::Procfs::default())
    }

    /// The namespace's file, opened without a netlink socket inside it
    /// (see [`NsCache::get_entering`]).
    fn file(&mut self, path: &PathBuf) -> Result<&File> {
        if let Some((f, _)) = self.map.get(path) {
            return Ok(f);
        }
        if !self.files.contains_key(path) {
            self.files.insert(path.clone(), netns::open(path)?);
        }
        self.files
            .get(path)
            .ok_or_else(|| crate::Error::internal("namespace cache"))
    }

    /// [`NsCache::get`], writing the sysctls `settings` in the namespace
    /// first ([`sysctl::write_if_present`]) through `procfs`. When the
    /// socket is still to be opened, one visit of the namespace does both.
    fn get_entering(
        &mut self,
        path: &PathBuf,
        settings: &[(String, &str)],
        procfs: &sysctl::Procfs,
    ) -> Result<&mut (File, Netlink)> {
        if let Some((f, _)) = self.map.get(path) {
            if !settings.is_empty() {
                crate::kernel::enter::in_netns(f, || procfs.write_all_if_present(settings))?;
            }
        } else {
            let f = match self.files.remove(path) {
                Some(f) => f,
                None => netns::open(path)?,
            };
            let nl = Netlink::open_in_after(&f, || procfs.write_all_if_present(settings))?;
            self.map.insert(path.clone(), (f, nl));
        }
        self.map
            .get_mut(path)
            .ok_or_else(|| crate::Error::internal("namespace cache"))
    }

    fn insert(&mut self, path: PathBuf, file: File, nl: Netlink) {
        self.made.insert(path.clone());
        self.map.insert(path, (file, nl));
    }

    /// True when the namespace at `path` was created by this applier.
    fn made(&self, path: &PathBuf) -> bool {
        self.made.contains(path)
    }

    fn forget(&mut self, path: &PathBuf) {
        self.made.remove(path);
        self.map.remove(path);
        self.files.remove(path);
    }
}

/// The requests configuring a container interface: its addresses, its
/// IPv6 link-local address (or none on an IPv4-only one), up, its default
/// routes.
fn container_if_requests(
    index: u32,
    name: &str,
    addrs: &[IpNet],
    gateways: &[IpAddr],
) -> Vec<crate::kernel::Request> {
    let mut reqs: Vec<crate::kernel::Request> = addrs
        .iter()
        .map(|a| msg::add_address(index, *a, name))
        .collect();
    if addrs.iter().any(|a| a.addr().is_ipv6()) {
        reqs.push(msg::ipv6_link_local_from_mac(name));
    } else {
        reqs.push(msg::no_ipv6_link_local(name));
    }
    reqs.push(msg::link_up(name));
    reqs.extend(gateways.iter().map(|g| msg::default_route(*g, index)));
    reqs
}
