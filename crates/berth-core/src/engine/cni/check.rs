//! CNI CHECK (is the attachment still what ADD made?) and STATUS (can
//! berth serve ADD?). Both only look: netlink get/dump requests (links,
//! addresses, qdiscs) and nftables `get element`.

use super::{port_rules, CniFailure, CniResult};
use crate::engine::Engine;
use crate::kernel::{netns, Netlink};
use crate::model::{Container, Endpoint, Network};
use crate::observe::probe;
use crate::plan::OpKind;
use ipnet::IpNet;

/// What STATUS found when berth can serve ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Whether the network exists already (else the first ADD creates it).
    pub network_exists: bool,
}

impl Engine {
    /// CNI CHECK of attachment (`network`, `container_id`, `ifname`) in
    /// namespace `netns`: its record, its interface (MAC, up, addresses:
    /// its own and `expected` ones), its host end on the bridge, and the
    /// map elements of its published ports.
    pub fn cni_check(
        &mut self,
        attachment: (&str, &str, &str),
        netns_path: &std::path::Path,
        expected: &[IpNet],
    ) -> CniResult<()> {
        self.require_root()?;
        let (network, container_id, ifname) = attachment;
        let _lock = super::AttachmentLock::take(&self.paths, container_id, ifname)?;
        let Some(c) = self.cni_record(network, container_id, ifname)? else {
            return Err(CniFailure::UnknownContainer(format!(
                "container {container_id} is not attached to network {network} as {ifname}"
            )));
        };
        if !self.kernel.pinned(netns_path) {
            return Err(CniFailure::UnknownContainer(format!(
                "the network namespace {} of container {container_id} is gone",
                netns_path.display()
            )));
        }
        self.check_netns(netns_path)?;
        let (eps, nets) = self.store.read(|tx| tx.container_attachments(&c.id))?;
        let (Some(ep), Some(net)) = (eps.first(), nets.first()) else {
            return Err(drift(format!("the record of {} has no endpoint", c.name)));
        };
        let mut want: Vec<IpNet> = [ep.ipv4, ep.ipv6].into_iter().flatten().collect();
        for e in expected {
            if !want.contains(e) {
                want.push(*e);
            }
        }
        check_inside(netns_path, ep, &want)?;
        self.check_host(ep, net)?;
        self.check_shaping(&c, ep)?;
        self.check_elements(&c, &eps, &nets)
    }

    /// Bandwidth limits asked for at ADD are still in place: a token
    /// bucket as the root qdisc of the host end (into the container) and
    /// of its ifb device (out of it).
    fn check_shaping(&mut self, c: &Container, ep: &Endpoint) -> CniResult<()> {
        let Some(s) = c.cni.as_ref().and_then(|a| a.shaping) else {
            return Ok(());
        };
        let ifb = crate::kernel::tc::ifb_name(&ep.host_veth);
        let limited = [(s.ingress.0 > 0, &ep.host_veth), (s.egress.0 > 0, &ifb)];
        let host = self.kernel.host_netlink()?;
        for (_, dev) in limited.into_iter().filter(|(on, _)| *on) {
            let kind = match probe::link(host, dev, false)? {
                Some(l) => probe::root_qdisc(host, l.index)?,
                None => return Err(drift(format!("bandwidth device {dev} is missing"))),
            };
            if kind.as_deref() != Some("tbf") {
                return Err(drift(format!(
                    "the bandwidth limit on {dev} is gone (root qdisc: {})",
                    kind.as_deref().unwrap_or("none")
                )));
            }
        }
        Ok(())
    }

    /// The host end of the veth: present, a port of the network's bridge.
    fn check_host(&mut self, ep: &Endpoint, net: &Network) -> CniResult<()> {
        let bridge = net.bridge.clone().unwrap_or_default();
        let host = self.kernel.host_netlink()?;
        let Some(br) = probe::link(host, &bridge, false)? else {
            return Err(drift(format!(
                "bridge {bridge} of network {} is missing (run 'berth system reconcile')",
                net.name
            )));
        };
        match probe::link(host, &ep.host_veth, false)? {
            None => Err(drift(format!("host interface {} is missing", ep.host_veth))),
            Some(l) if l.master != Some(br.index) => Err(drift(format!(
                "host interface {} is not a port of bridge {bridge}",
                ep.host_veth
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Every published-port element is in berth's maps.
    fn check_elements(
        &mut self,
        c: &Container,
        eps: &[Endpoint],
        nets: &[Network],
    ) -> CniResult<()> {
        for rule in port_rules(c, eps, nets) {
            let found = self.kernel.nft_list_json(&rule.get());
            if !found.is_ok_and(|out| out.contains(&rule.target.addr.to_string())) {
                return Err(drift(format!(
                    "published port {}/{} to {} is missing from berth's nftables maps (run 'berth system reconcile')",
                    rule.host_ports.0,
                    rule.proto.as_str(),
                    rule.target.addr
                )));
            }
        }
        Ok(())
    }

    /// CNI STATUS for `network`: fails when an ADD could not succeed (no
    /// root, no free address, the network being removed) or attached
    /// containers are cut off (its bridge is missing). Changes nothing: it
    /// opens the store only, without the first-command host setup.
    pub fn cni_status(&mut self, network: &str) -> CniResult<Status> {
        if self.require_root().is_err() {
            return Err(CniFailure::NotAvailable(
                "berth must run as root to attach containers".into(),
            ));
        }
        let Some(net) = self.store.read(|tx| tx.network_by_name(network))? else {
            return Ok(Status {
                network_exists: false,
            });
        };
        let removing = |k| matches!(k, OpKind::RemoveNetwork | OpKind::OverlayDetach);
        if self
            .store
            .read(|tx| tx.network_op(&net.id))?
            .is_some_and(removing)
        {
            return Err(CniFailure::NotAvailable(format!(
                "network {network} is being removed"
            )));
        }
        let full = self.store.read(|tx| {
            for cfg in &net.ipam {
                let free =
                    crate::ipam::allocate_after(cfg, None, |ip| tx.addr_in_use(&net.id, ip))?;
                if free.is_none() {
                    return Ok(Some(cfg.subnet));
                }
            }
            Ok(None)
        })?;
        if let Some(subnet) = full {
            return Err(CniFailure::NotAvailable(format!(
                "no free address left in {subnet} of network {network}"
            )));
        }
        let bridge = net.bridge.clone().unwrap_or_default();
        let mut nl = Netlink::open()?;
        if probe::link(&mut nl, &bridge, false)?.is_none() {
            return Err(CniFailure::LimitedConnectivity(format!(
                "bridge {bridge} of network {network} is missing: run 'berth system reconcile'"
            )));
        }
        Ok(Status {
            network_exists: true,
        })
    }
}

fn drift(msg: String) -> CniFailure {
    CniFailure::Drift(msg)
}

/// The container end: present, up, with its MAC and every address of `want`.
fn check_inside(ns: &std::path::Path, ep: &Endpoint, want: &[IpNet]) -> CniResult<()> {
    let file = netns::open(ns)?;
    let mut nl = Netlink::open_in(&file)?;
    let Some(l) = probe::link(&mut nl, &ep.ifname, true)? else {
        return Err(drift(format!(
            "interface {} is missing in {}",
            ep.ifname,
            ns.display()
        )));
    };
    if l.mac.as_deref() != Some(ep.mac.as_str()) {
        return Err(drift(format!(
            "interface {} has MAC {} instead of {}",
            ep.ifname,
            l.mac.unwrap_or_default(),
            ep.mac
        )));
    }
    if !l.up {
        return Err(drift(format!("interface {} is down", ep.ifname)));
    }
    if let Some(missing) = want.iter().find(|a| !l.addrs.contains(a)) {
        return Err(drift(format!(
            "address {missing} is missing on {}",
            ep.ifname
        )));
    }
    Ok(())
}
