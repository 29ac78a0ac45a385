//! The overlay driver (pure planning): one network across every host whose
//! berth shares a cluster store (etcd).
//!
//! On each host that has containers on it, the network is a bridge
//! `bo-<id>` carrying the network's gateway address (the same on every
//! host: each host is the gateway of its own containers, so they reach the
//! outside through it — masqueraded — and its published ports reach them)
//! plus a VXLAN device `vx-<id>` (UDP 4789, the network's VNI, no learning,
//! no multicast) as a port of that bridge. For each container on another
//! host, the VXLAN device holds a static forwarding entry (its MAC -> its
//! host's tunnel endpoint) and a neighbour entry (its address -> its MAC)
//! with which the device answers ARP itself (`proxy`): nothing is ever
//! flooded. The entries are computed here as a difference between what the
//! cluster store lists and what the kernel holds ([`remote_steps`]).
//!
//! The MTU of the network is its creator's underlay MTU minus the VXLAN
//! overhead ([`VXLAN_OVERHEAD`]), so full-size packets never black-hole.
//!
//! Dual stack: a network may have an IPv6 subnet beside its IPv4 one; a
//! container's IPv6 address carries the host part of its IPv4 address
//! ([`ipv6_for`]), which the cluster store reserves, and the neighbour
//! entries cover both families (the device answers neighbour
//! solicitations too). The underlay stays IPv4.

use crate::error::{Error, Result};
use crate::firewall::vni_element;
use crate::ids;
use crate::model::network::{opt, parse_kv, parse_mtu};
use crate::model::{Driver, IpamConfig, Network, NetworkCreate};
use crate::plan::{DriverStep, Step};
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};

/// Bytes VXLAN adds over an IPv4 underlay: outer IPv4 (20) + UDP (8) +
/// VXLAN (8) + inner Ethernet (14).
pub const VXLAN_OVERHEAD: u32 = 50;

/// First VNI berth hands out (Docker's overlay starts at 4096 too).
pub const FIRST_VNI: u32 = 4097;

/// Local option: this host's tunnel endpoint address.
pub const LOCAL_VTEP: &str = "berth.vtep";
/// Local option: the underlay link carrying it.
pub const LOCAL_UNDERLAY: &str = "berth.underlay";

/// The bridge of overlay network `id` on every host.
pub fn bridge_name(id: &str) -> String {
    format!("bo-{}", ids::short(id))
}

/// The VXLAN device of overlay network `id` on every host.
pub fn vxlan_name(id: &str) -> String {
    format!("vx-{}", ids::short(id))
}

/// The VNI of an overlay network.
pub fn vni(net: &Network) -> Option<u32> {
    net.options.get(super::opts::VNI)?.parse().ok()
}

/// Plans an overlay network (pure): `vni` and `ipam` were chosen against
/// the cluster's networks; `underlay_mtu` is this host's.
pub fn plan_network(
    req: &NetworkCreate,
    id: &str,
    vni: u32,
    ipam: Vec<IpamConfig>,
    underlay_mtu: u32,
) -> Result<Network> {
    let mut o = parse_kv(&req.options, "-o/--opt", true)?;
    check_options(&o)?;
    let ipv6 = req.ipv6 || ipam.iter().any(|c| c.subnet.addr().is_ipv6());
    if ipv6 {
        check_dual_stack(&ipam)?;
    }
    let max = underlay_mtu.saturating_sub(VXLAN_OVERHEAD);
    let mtu = match o.get(opt::MTU).map(|m| parse_mtu(m)).transpose()? {
        Some(m) if m > max => {
            return Err(Error::invalid(format!(
                "MTU {m} is too large for this underlay (MTU {underlay_mtu} minus {VXLAN_OVERHEAD} bytes of VXLAN = {max}): large packets would be dropped"
            )))
        }
        Some(m) => m,
        None => max,
    };
    o.insert(super::opts::VNI.into(), vni.to_string());
    Ok(Network {
        id: id.to_string(),
        name: req.name.clone(),
        driver: Driver::Overlay,
        created: crate::model::now_rfc3339(),
        ipv6,
        internal: req.internal,
        ipam,
        options: o,
        labels: parse_kv(&req.labels, "--label", false)?,
        bridge: Some(bridge_name(id)),
        mtu,
        icc: true,
        masquerade: true,
        host_binding_ipv4: None,
        builtin: false,
        owner: None,
        docker: None,
    })
}

/// The overlay driver: a bridge network (`bridge.rs`) with a VXLAN device
/// as a port, whose forwarding entries reach the other hosts' containers.
pub struct Overlay;

impl super::Driver for Overlay {
    fn validate(&self, options: &std::collections::BTreeMap<String, String>) -> Result<()> {
        check_options(options)
    }

    fn network_plan(&self, net: &Network) -> crate::plan::Plan {
        super::bridge::bridge_steps(net, network_steps(net))
    }

    fn join_step(
        &self,
        ns: &std::path::Path,
        e: &crate::model::Endpoint,
        net: &Network,
        gateways: &[IpAddr],
    ) -> Step {
        super::bridge::Bridge.join_step(ns, e, net, gateways)
    }

    fn leave_step(&self, ns: &std::path::Path, e: &crate::model::Endpoint) -> Step {
        super::bridge::Bridge.leave_step(ns, e)
    }
}

/// Refuses an option the overlay driver does not know (only the MTU and
/// the interface prefix).
fn check_options(o: &std::collections::BTreeMap<String, String>) -> Result<()> {
    if let Some(p) = o.get(opt::IFACE_PREFIX) {
        crate::model::network::check_iface_prefix(p)?;
    }
    match o
        .keys()
        .find(|k| k.as_str() != opt::MTU && k.as_str() != opt::IFACE_PREFIX)
    {
        Some(k) => Err(Error::invalid(format!(
            "unknown option {k:?}: berth's overlay driver understands {}, {}",
            opt::MTU,
            opt::IFACE_PREFIX
        ))),
        None => Ok(()),
    }
}

/// The lowest VNI from [`FIRST_VNI`] not in `used`.
pub fn free_vni(used: &BTreeSet<u32>) -> u32 {
    (FIRST_VNI..)
        .find(|v| !used.contains(v))
        .unwrap_or(FIRST_VNI)
}

/// The steps an overlay network adds to its bridge on this host: its VNI
/// in the VXLAN guard, then the VXLAN device (needs [`LOCAL_VTEP`] and
/// [`LOCAL_UNDERLAY`], recorded when the network is realised on the host).
///
/// The guard comes first, in the same recorded plan: from the moment the
/// device exists, VXLAN for its VNI is taken only from the members the
/// guard lists (a member not yet synchronised is refused until then, never
/// a stranger admitted), and undoing the plan removes the device before
/// the VNI.
pub fn network_steps(net: &Network) -> Vec<Step> {
    let local = net.options.get(LOCAL_VTEP).and_then(|v| v.parse().ok());
    let underlay = net.options.get(LOCAL_UNDERLAY);
    match (local, underlay, vni(net), &net.bridge) {
        (Some(local), Some(underlay), Some(vni), Some(bridge)) => vec![
            Step::Elements {
                remove: Vec::new(),
                add: vec![vni_element(vni)],
            },
            Step::Driver(DriverStep::CreateVxlan {
                name: vxlan_name(&net.id),
                vni,
                local,
                underlay: underlay.clone(),
                mtu: net.mtu,
                bridge: bridge.clone(),
            }),
        ],
        _ => Vec::new(),
    }
}

/// The IPv4 and IPv6 subnets of a dual-stack overlay network.
fn stacks(ipam: &[IpamConfig]) -> Option<(&IpamConfig, &IpamConfig)> {
    let v4 = ipam.iter().find(|c| c.subnet.addr().is_ipv4())?;
    let v6 = ipam.iter().find(|c| c.subnet.addr().is_ipv6())?;
    Some((v4, v6))
}

/// The address in `v6` with the host part of `v4` in `v4net`.
fn derive(v4net: &IpNet, v6net: &IpNet, v4: IpAddr) -> Option<Ipv6Addr> {
    let (IpAddr::V4(a), IpNet::V4(n4), IpNet::V6(n6)) = (v4, v4net, v6net) else {
        return None;
    };
    let host = u32::from(a) & u32::from(n4.hostmask());
    Some(Ipv6Addr::from(u128::from(n6.network()) | u128::from(host)))
}

/// A dual-stack overlay network: one IPv4 and one IPv6 subnet, the IPv6
/// one with room for every IPv4 host part, and its gateway the IPv4
/// gateway's counterpart. A container's IPv6 address is derived from its
/// IPv4 address ([`ipv6_for`]), which the cluster store reserves, so it is
/// unique in the cluster without a second reservation.
fn check_dual_stack(ipam: &[IpamConfig]) -> Result<()> {
    let (v4, v6) = stacks(ipam).ok_or_else(|| {
        Error::invalid("an IPv6 overlay network needs an IPv4 subnet too (its IPv6 addresses follow the IPv4 ones): add an IPv4 --subnet")
    })?;
    let room = 128 - u32::from(v6.subnet.prefix_len());
    let need = 32 - u32::from(v4.subnet.prefix_len());
    if room < need || ipam.len() != 2 {
        return Err(Error::invalid(format!(
            "IPv6 subnet {} is too small for IPv4 subnet {}: an overlay container's IPv6 address carries its IPv4 host part (give an IPv6 subnet of at most /{}, and one subnet per family)",
            v6.subnet,
            v4.subnet,
            128 - need
        )));
    }
    let want = derive(&v4.subnet, &v6.subnet, v4.gateway);
    if want.map(IpAddr::V6) != Some(v6.gateway) {
        return Err(Error::invalid(format!(
            "IPv6 gateway {} does not match IPv4 gateway {}: on an overlay network the IPv6 gateway is the IPv4 one's counterpart, {}",
            v6.gateway,
            v4.gateway,
            want.map(|w| w.to_string()).unwrap_or_default()
        )));
    }
    Ok(())
}

/// The IPv6 address of the container whose IPv4 address on dual-stack
/// overlay network `net` is `v4` (`None` on an IPv4-only network).
pub fn ipv6_for(net: &Network, v4: std::net::Ipv4Addr) -> Option<Ipv6Addr> {
    let (c4, c6) = stacks(&net.ipam)?;
    derive(&c4.subnet, &c6.subnet, IpAddr::V4(v4))
}

pub use crate::kernel::vxlan::Remote;

/// The steps taking VXLAN device `dev` from the entries `have` to `want`
/// (pure): deletions first, then additions.
pub fn remote_steps(dev: &str, want: &BTreeSet<Remote>, have: &BTreeSet<Remote>) -> Vec<Step> {
    let step = |r: &Remote, add: bool| {
        Step::Driver(DriverStep::Remote {
            dev: dev.to_string(),
            ip: r.ip,
            mac: r.mac.clone(),
            vtep: r.vtep,
            add,
        })
    };
    let gone: Vec<&Remote> = have.difference(want).collect();
    let mut steps: Vec<Step> = gone.iter().map(|r| step(r, false)).collect();
    // A container's addresses share its MAC and forwarding entry: deleting
    // one address's entry deletes the forwarding entry, so the addresses
    // that stay with that MAC are added again after.
    steps.extend(
        want.iter()
            .filter(|r| !have.contains(r) || gone.iter().any(|g| g.mac == r.mac))
            .map(|r| step(r, true)),
    );
    steps
}

#[cfg(test)]
#[path = "overlay_tests.rs"]
mod tests;
