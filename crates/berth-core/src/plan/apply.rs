//! The executor: the only place where plans touch the kernel.

use super::{after_step, NsCache, Plan, Step};
use crate::error::{Error, Result};
use crate::kernel::{conntrack, errno, msg, netns, netns_names, sysctl, Netlink, Nft};
use std::path::Path;

/// Applies plans in the host's namespace (where it was created).
pub struct Applier {
    pub(super) host: Netlink,
    nft: Nft,
    pub(super) ns: NsCache,
    /// With [`Applier::defer_sweeps`]: namespaces unpinned whose leftover
    /// processes are to be ended later ([`Applier::take_deferred`]).
    deferred: Option<Vec<netns::NsKey>>,
}

impl Applier {
    /// Opens the host netlink socket and nftables handle.
    pub fn new() -> Result<Applier> {
        Ok(Applier {
            host: Netlink::open()?,
            nft: Nft::new(),
            ns: NsCache::default(),
            deferred: None,
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

    /// The host netlink socket.
    pub fn host(&mut self) -> &mut Netlink {
        &mut self.host
    }

    /// The namespace pinned at `path` (opened on first use): its file and
    /// a netlink socket inside it.
    pub(crate) fn netns_handles(&mut self, path: &Path) -> Result<&mut (std::fs::File, Netlink)> {
        self.ns.get(&path.to_path_buf())
    }

    /// The nftables handle.
    pub fn nft(&mut self) -> &mut Nft {
        &mut self.nft
    }

    /// Applies `plan` step by step. If a step fails, everything applied so
    /// far (the failing step included) is undone before the error returns.
    pub fn apply(&mut self, op: &str, plan: &Plan) -> Result<()> {
        let trace = std::env::var_os("BERTH_TRACE_STEPS").is_some();
        for (i, step) in plan.steps.iter().enumerate() {
            let t0 = std::time::Instant::now();
            let res = self.step(step);
            if trace {
                eprintln!(
                    "berth: step {op}:{i} {} took {:?}",
                    step.kind(),
                    t0.elapsed()
                );
            }
            if let Err(e) = res {
                let done = Plan {
                    steps: plan.steps[..=i].to_vec(),
                };
                for undo_err in self.apply_best_effort(&done.undo()) {
                    eprintln!("berth: warning: rollback: {undo_err}");
                }
                return Err(e);
            }
            after_step(op, i);
        }
        Ok(())
    }

    /// Applies every step, continuing past failures; returns the failures.
    /// Used for undo and teardown plans, whose steps are idempotent.
    pub fn apply_best_effort(&mut self, plan: &Plan) -> Vec<Error> {
        plan.steps
            .iter()
            .filter_map(|s| self.step(s).err())
            .collect()
    }

    /// Like [`Applier::apply_best_effort`], for the recorded plan of a
    /// removal that a crash must leave to be rolled forward: passes the
    /// failpoint of operation `op` after each step, like [`Applier::apply`].
    pub fn apply_forward(&mut self, op: &str, plan: &Plan) -> Vec<Error> {
        let trace = std::env::var_os("BERTH_TRACE_STEPS").is_some();
        let mut errors = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            let t0 = std::time::Instant::now();
            if let Err(e) = self.step(step) {
                errors.push(e);
            }
            if trace {
                eprintln!(
                    "berth: step {op}:{i} {} took {:?}",
                    step.kind(),
                    t0.elapsed()
                );
            }
            after_step(op, i);
        }
        errors
    }

    fn step(&mut self, step: &Step) -> Result<()> {
        match step {
            Step::CreateBridge { name, mtu, addrs } => self.create_bridge(name, *mtu, addrs),
            // A host booted without IPv6 has no IPv6 settings to make.
            Step::Sysctl { key, value } if key.starts_with("net.ipv6.") => {
                sysctl::write_if_present(key, value)
            }
            Step::Sysctl { key, value } => sysctl::write(key, value),
            Step::CreateNetns { path } => {
                let made = netns::create(path)?;
                self.ns.insert(path.clone(), made.file, made.netlink);
                Ok(())
            }
            Step::CreateVeth { .. } => self.create_veth(step),
            Step::Nft { apply, .. } => {
                self.nft.apply(apply)?;
                forget_unpublished(&mut self.nft, apply);
                Ok(())
            }
            Step::DeleteLink { name } => self.delete_link(name),
            Step::DeleteVeth { name, owner, netns } => self.delete_veth(name, owner, netns),
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

    pub(super) fn delete_link(&mut self, name: &str) -> Result<()> {
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

/// Deletes the conntrack entries of ports an nft transaction unpublished, so
/// established flows (UDP clients above all) do not stick to the old
/// container. Best effort: a failure only delays those flows until their
/// entries expire.
fn forget_unpublished(nft: &mut Nft, nft_text: &str) {
    let gone = conntrack::deleted_ports(nft_text);
    if gone.is_empty() {
        return;
    }
    let forgotten = nft
        .netfilter_socket()
        .and_then(|sock| conntrack::forget_on(sock, &gone));
    if let Err(e) = forgotten {
        eprintln!("berth: warning: forgetting flows of unpublished ports: {e}");
    }
}
