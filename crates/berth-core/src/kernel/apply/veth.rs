//! Applying the veth steps (see `mod.rs`): creating an endpoint's veth
//! pair, and deleting its host end only when it is that endpoint's.
//!
//! Host ends are named `veth` + 7 hex digits of the endpoint id (Docker's
//! form): the store keeps the names unique, but another program (Docker,
//! with the same form) or a leak may hold a name. So berth marks each host
//! end with an alias, [`veth_alias`] of its endpoint, and deletes a link of
//! an endpoint's name only when the alias says it is that endpoint's.

use super::{container_if_requests, Applier};
use crate::error::{Error, Result};
use crate::kernel::{errno, msg, retire, sysctl};
use crate::plan::{veth_alias, Step};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a same-named link that is not provably this endpoint's may
/// take to go away (the host end of a veth whose namespace the kernel is
/// still freeing) before the creation fails.
const LEFTOVER_WAIT: Duration = Duration::from_secs(3);

/// What berth reads of an existing link before touching it.
#[derive(Debug, Default)]
struct LinkFacts {
    /// Its index.
    index: u32,
    /// Its alias, if any.
    alias: Option<String>,
    /// Its veth peer's index, when the peer is in another namespace.
    peer: Option<u32>,
}

impl Applier {
    pub(super) fn create_veth(&mut self, step: &Step) -> Result<()> {
        let Step::CreateVeth {
            host,
            peer,
            netns: ns_path,
            bridge,
            mtu,
            mac,
            addrs,
            gateways,
            owner,
        } = step
        else {
            return Ok(());
        };
        let master = self.host.link_index(bridge)?.ok_or_else(|| {
            Error::kernel(format!(
                "bridge {bridge} does not exist: run 'berth system reconcile' to recreate it"
            ))
        })?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(self.ns.file(ns_path)?);
        let peer_spec = msg::VethPeer {
            name: peer,
            netns_fd: fd,
            mac: msg::parse_mac(mac),
        };
        self.make_pair(host, peer, owner, ns_path, &|| {
            vec![msg::new_veth(host, *mtu, master, &peer_spec)]
        })?;
        // IPv6 off on the host end before it goes up (see `sysctl::no_ipv6`;
        // it also takes no router advertisement, should the bridge go and
        // leave it a host interface of its own). The container end ignores
        // router advertisements: it inherits that from the defaults of a
        // namespace berth made, and is told so in a CNI runtime's (written
        // when the socket inside it is opened). One procfs instance for
        // both ends (see `sysctl::Procfs`), the one that made this plan's
        // namespace if it did (`run`): each instance's teardown waits for an
        // RCU grace period. Dropped at the end of this step, so that no
        // instance outlives the plan's veth (a long-lived process would
        // otherwise keep one gathering every namespace it ever wrote in).
        let procfs = std::mem::take(&mut self.procfs);
        procfs.write_all_if_present(&sysctl::no_ipv6(host))?;
        let mut configure = vec![
            msg::no_ipv6_link_local(host),
            msg::bridge_port_hairpin(host),
            msg::link_up(host),
        ];
        if !owner.is_empty() {
            configure.push(msg::set_alias(host, &veth_alias(owner)));
        }
        self.host.run(configure)?;
        let peer_ra = match self.ns.made(ns_path) {
            true => Vec::new(),
            false => sysctl::no_router_advertisements(peer).to_vec(),
        };
        let (_, nl) = self.ns.get_entering(ns_path, &peer_ra, &procfs)?;
        let index = nl.link_index(peer)?.ok_or_else(|| {
            Error::kernel(format!("{peer} did not appear in {}", ns_path.display()))
        })?;
        nl.run(container_if_requests(index, peer, addrs, gateways))
    }

    /// Creates the pair `create` asks for, alone (it is configured by
    /// name only once it is known to be the one just made: a batch would
    /// go on to configure, and alias, a same-named link that made it
    /// fail). A name clash is cleared only where the clashing link is
    /// provably berth's (see [`Applier::clear_leftover`] and
    /// [`Applier::free_retired_name`]); anything else is left alone and
    /// named in the error.
    fn make_pair(
        &mut self,
        host: &str,
        peer: &str,
        owner: &str,
        ns_path: &Path,
        create: &dyn Fn() -> Vec<msg::Request>,
    ) -> Result<()> {
        let Some(e) = self.host.execute(create())?.into_iter().next() else {
            return Ok(());
        };
        if e.errno != errno::EEXIST {
            return Err(e.into_error());
        }
        self.clear_leftover(host, owner)?;
        self.free_retired_name(ns_path, peer)?;
        let Some(e) = self.host.execute(create())?.into_iter().next() else {
            return Ok(());
        };
        if e.errno != errno::EEXIST {
            return Err(e.into_error());
        }
        // The host end's name is free now: the clash left is the
        // container end's, with a link berth did not make.
        Err(Error::conflict(format!(
            "the namespace {} already has an interface named {peer}, which berth did not make: berth left it alone; remove or rename it there (e.g. 'ip link del {peer}' in that namespace), or give the endpoint another interface name",
            ns_path.display()
        )))
    }

    /// A link named `host` exists where endpoint `owner`'s veth must go.
    /// It is deleted only when it is that endpoint's own previous host end
    /// (its alias says so: a start right after a stop, while the kernel
    /// frees the old namespace); anything else is given [`LEFTOVER_WAIT`]
    /// to go away by itself, and is otherwise left alone (an error).
    fn clear_leftover(&mut self, host: &str, owner: &str) -> Result<()> {
        let deadline = Instant::now() + LEFTOVER_WAIT;
        loop {
            let Some(facts) = self.link_facts(host)? else {
                return Ok(());
            };
            if !owner.is_empty() && facts.alias.as_deref() == Some(veth_alias(owner).as_str()) {
                return self.delete_link(host);
            }
            if Instant::now() >= deadline {
                return Err(Error::conflict(format!(
                    "a link named {host} already exists and is not this container's veth (its alias is {:?}, berth's would be {:?}): berth left it alone; delete it if it is a leftover ('ip link del {host}'), or remove and re-create the container",
                    facts.alias.unwrap_or_default(),
                    veth_alias(owner)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Step::DeleteVeth`].
    pub(super) fn delete_veth(&mut self, name: &str, owner: &str, netns: &Path) -> Result<()> {
        match self.owned_facts(name, owner, netns)? {
            Some(_) => self.delete_link(name),
            None => Ok(()),
        }
    }

    /// [`Step::RetireVeth`]: the container end down and renamed (its name
    /// is free at once) unless `keep_peer`, then the host end down, off its
    /// bridge, in the retired group; `kernel::retire::reap` deletes it
    /// later. The host end down is what takes the pair out of service
    /// (the container end's carrier goes off with it, and cannot come back
    /// while the host end is down), so with `keep_peer` the container's
    /// namespace is not even opened: the rename and its down cost two
    /// expedited RCU grace periods under RTNL, about half of the step.
    pub(super) fn retire_veth(
        &mut self,
        name: &str,
        owner: &str,
        netns: &Path,
        keep_peer: bool,
    ) -> Result<()> {
        let Some(facts) = self.owned_facts(name, owner, netns)? else {
            return Ok(());
        };
        // The container end is renamed only where it provably is: the
        // link of its index there must be the host end's peer.
        if let (Some(peer), false) = (facts.peer, keep_peer) {
            if self.peer_in(netns, facts.index, Some(peer))? {
                self.retire_peer(peer, netns)?;
            }
        }
        let reqs = vec![retire::retire_host(facts.index, name)];
        for e in self.host.execute(reqs)? {
            if e.errno != errno::ENODEV {
                return Err(e.into_error());
            }
        }
        Ok(())
    }

    /// A veth creation found a link named `name` in `netns` (or a host
    /// end of its name): when that link is the container end of a veth
    /// retired with its name kept (`Step::RetireVeth`'s `keep_peer`: a
    /// `network disconnect` just before, its reaper not done yet), it is
    /// set down and renamed now, as the retirement would have done. It
    /// must provably be: its veth peer is a host link berth retired
    /// ([`retire::is_retired`]) whose peer is it. Anything else is left
    /// alone (the creation then fails as it would have).
    fn free_retired_name(&mut self, netns: &Path, name: &str) -> Result<()> {
        use netlink_packet_route::link::{LinkAttribute, LinkMessage};
        use netlink_packet_route::RouteNetlinkMessage;
        let missing = [errno::ENODEV, errno::ENOENT];
        let (_, nl) = self.ns.get(&netns.to_path_buf())?;
        let Some(RouteNetlinkMessage::NewLink(end)) = nl.get(msg::get_link(name), &missing)? else {
            return Ok(());
        };
        let elsewhere = end
            .attributes
            .iter()
            .any(|a| matches!(a, LinkAttribute::LinkNetNsId(_)));
        let host_end = end.attributes.iter().find_map(|a| match a {
            LinkAttribute::Link(i) => Some(*i),
            _ => None,
        });
        let Some(host_end) = host_end.filter(|_| elsewhere) else {
            return Ok(());
        };
        let mut m = LinkMessage::default();
        m.header.index = host_end;
        let Some(RouteNetlinkMessage::NewLink(h)) =
            self.host.get(RouteNetlinkMessage::GetLink(m), &missing)?
        else {
            return Ok(());
        };
        if retire::is_retired(&h)
            && h.attributes
                .contains(&LinkAttribute::Link(end.header.index))
        {
            self.retire_peer(end.header.index, netns)?;
        }
        Ok(())
    }

    /// Sets container end `peer`, in `netns`, down and renames it.
    fn retire_peer(&mut self, peer: u32, netns: &Path) -> Result<()> {
        let (_, nl) = self.ns.get(&netns.to_path_buf())?;
        let what = format!("interface {peer} in {}", netns.display());
        let reqs = vec![retire::down(peer, &what), retire::rename(peer, &what)];
        for e in nl.execute(reqs)? {
            // Gone with its namespace, or a same-named link there already
            // (it stays down under its old name until the reaper).
            if e.errno != errno::ENODEV && e.errno != errno::EEXIST {
                return Err(e.into_error());
            }
        }
        Ok(())
    }

    /// The facts of host link `name` when it is endpoint `owner`'s veth
    /// (its alias says so, or it has none and its peer is in `netns`);
    /// `None` when there is no such link; an error when it is another's.
    fn owned_facts(&mut self, name: &str, owner: &str, netns: &Path) -> Result<Option<LinkFacts>> {
        let Some(facts) = self.link_facts(name)? else {
            return Ok(None);
        };
        let ours = match facts.alias.as_deref() {
            Some(alias) => alias == veth_alias(owner),
            // Made by a berth from before aliases, or by one killed between
            // creating and configuring it: its peer is in the container.
            None => self.peer_in(netns, facts.index, facts.peer)?,
        };
        if !ours {
            return Err(Error::conflict(format!(
                "link {name} is not the veth of endpoint {} (alias {:?}): berth left it alone",
                crate::ids::short(owner),
                facts.alias.unwrap_or_default()
            )));
        }
        Ok(Some(facts))
    }

    /// True when host link `index`, whose veth peer has index `peer` in
    /// another namespace, has that peer in the namespace pinned at `ns`
    /// (the peer there points back at `index`).
    fn peer_in(&mut self, ns: &Path, index: u32, peer: Option<u32>) -> Result<bool> {
        use netlink_packet_route::link::{LinkAttribute, LinkMessage};
        use netlink_packet_route::RouteNetlinkMessage;
        let Some(peer) = peer else {
            return Ok(false);
        };
        if ns.as_os_str().is_empty() || !crate::kernel::netns::is_pinned(ns) {
            return Ok(false);
        }
        let Ok((_, nl)) = self.ns.get(&ns.to_path_buf()) else {
            return Ok(false);
        };
        let mut m = LinkMessage::default();
        m.header.index = peer;
        let missing = [errno::ENODEV, errno::ENOENT];
        Ok(match nl.get(RouteNetlinkMessage::GetLink(m), &missing)? {
            Some(RouteNetlinkMessage::NewLink(l)) => {
                l.attributes.contains(&LinkAttribute::Link(index))
            }
            _ => false,
        })
    }

    /// The index, alias and veth peer (index, when in another namespace)
    /// of link `name`; `None` when it does not exist.
    fn link_facts(&mut self, name: &str) -> Result<Option<LinkFacts>> {
        use netlink_packet_route::link::LinkAttribute;
        use netlink_packet_route::RouteNetlinkMessage;
        let missing = [errno::ENODEV, errno::ENOENT];
        let Some(RouteNetlinkMessage::NewLink(l)) = self.host.get(msg::get_link(name), &missing)?
        else {
            return Ok(None);
        };
        let mut facts = LinkFacts {
            index: l.header.index,
            ..Default::default()
        };
        let mut elsewhere = false;
        for a in l.attributes {
            match a {
                LinkAttribute::IfAlias(s) if !s.is_empty() => facts.alias = Some(s),
                LinkAttribute::Link(p) => facts.peer = Some(p),
                LinkAttribute::LinkNetNsId(_) => elsewhere = true,
                _ => {}
            }
        }
        if !elsewhere {
            facts.peer = None;
        }
        Ok(Some(facts))
    }
}
