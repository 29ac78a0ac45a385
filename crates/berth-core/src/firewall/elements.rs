//! What one network, one container veth or one published port adds to the
//! skeleton: typed [`Element`]s, and (for tests and the whole-ruleset
//! render) the `add` and idempotent `remove` batches they render to.

use super::element::{render, Element, Field, Set};
use super::{Batch, TABLE};
use crate::model::Proto;
use ipnet::IpNet;
use std::net::IpAddr;

/// The per-network elements: the bridge and its policy flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The network's bridge interface.
    pub bridge: String,
    /// `--internal`: no traffic in or out of the bridge.
    pub internal: bool,
    /// `enable_icc`: containers on the network may talk to each other.
    pub icc: bool,
    /// `enable_ip_masquerade`: outbound traffic is masqueraded.
    pub masquerade: bool,
    /// The network reaches the other networks marked so (Podman networks
    /// without `isolate`), and they reach it.
    pub unisolated: bool,
    /// Gateways where the embedded DNS listens for this network (empty
    /// when it is not DNS-enabled): port 53 there is for its bridge only.
    pub dns_gateways: Vec<IpAddr>,
    /// The IPv4 and IPv6 gateway modes (`nat` for networks without one).
    pub gw_modes: [crate::model::network::GwMode; 2],
}

impl NetworkRules {
    /// The network's elements.
    pub fn elements(&self) -> Vec<Element> {
        let b = || Field::Ifname(self.bridge.clone());
        let mut v = vec![
            Element::new(Set::Bridges, vec![b()]),
            Element::new(Set::SameNet, vec![b(), b()]),
        ];
        if self.internal {
            v.push(Element::new(Set::Internal, vec![b()]));
        }
        if !self.icc {
            v.push(Element::new(Set::NoIcc, vec![b()]));
        }
        if self.unisolated && !self.internal {
            v.push(Element::new(Set::Unisolated, vec![b()]));
        }
        if self.masquerade && !self.internal {
            v.push(Element::new(Set::Masq, vec![b()]));
        }
        use crate::model::network::GwMode;
        let modes = [
            (self.gw_modes[0], Set::Routed4, Set::Unprotected4),
            (self.gw_modes[1], Set::Routed6, Set::Unprotected6),
        ];
        for (mode, routed, unprotected) in modes {
            match mode {
                GwMode::Routed if !self.internal => v.push(Element::new(routed, vec![b()])),
                GwMode::NatUnprotected if !self.internal => {
                    v.push(Element::new(unprotected, vec![b()]))
                }
                _ => {}
            }
        }
        for gw in &self.dns_gateways {
            let set = if gw.is_ipv4() { Set::Dns4 } else { Set::Dns6 };
            v.push(Element::new(set, vec![Field::Addr(*gw)]));
        }
        v
    }

    /// Commands adding this network's elements.
    pub fn add(&self) -> Batch {
        render(&[], &self.elements())
    }

    /// Commands removing this network's elements (idempotent).
    pub fn remove(&self) -> Batch {
        render(&self.elements(), &[])
    }
}

/// A container's veth on an `enable_icc=false` network: an element of the
/// bridge table's `no_icc_ports` set (frames between two such ports are
/// dropped even where br_netfilter is not loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IccPort {
    /// Host end of the veth.
    pub veth: String,
}

impl IccPort {
    /// The element.
    pub fn elements(&self) -> Vec<Element> {
        vec![Element::new(
            Set::NoIccPorts,
            vec![Field::Ifname(self.veth.clone())],
        )]
    }

    /// The command adding the element.
    pub fn add(&self) -> Batch {
        render(&[], &self.elements())
    }

    /// Commands removing it (idempotent).
    pub fn remove(&self) -> Batch {
        render(&self.elements(), &[])
    }
}

/// A published port of a container on a `routed` network: reached at the
/// container's own address (no DNAT), an element of `open4` / `open6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPort {
    /// The container's address (its family selects the set).
    pub addr: IpAddr,
    /// tcp or udp.
    pub proto: Proto,
    /// First and last container port.
    pub ports: (u16, u16),
}

impl OpenPort {
    /// The set element.
    pub fn element(&self) -> Element {
        let set = if self.addr.is_ipv6() {
            Set::Open6
        } else {
            Set::Open4
        };
        Element::new(
            set,
            vec![
                Field::Addr(self.addr),
                Field::Proto(self.proto),
                Field::Ports(self.ports.0, self.ports.1),
            ],
        )
    }
}

/// Where a published port forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortTarget {
    /// The container's address (its family selects the v4 or v6 map).
    pub addr: IpAddr,
    /// The container port the first host port maps to.
    pub port: u16,
}

/// One published port or port range: one map element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    /// The host address it is bound to; `None` (or `0.0.0.0` / `::`) means
    /// every address of the target's family.
    pub host_ip: Option<IpAddr>,
    /// tcp or udp.
    pub proto: Proto,
    /// First and last host port (equal for a single port).
    pub host_ports: (u16, u16),
    /// The container side.
    pub target: PortTarget,
}

impl PortRule {
    /// The map element.
    pub fn element(&self) -> Element {
        let v6 = self.target.addr.is_ipv6();
        // 0.0.0.0 and :: mean every address of their family, as in Docker.
        let host = match (self.host_ip.filter(|ip| !ip.is_unspecified()), v6) {
            (Some(ip), _) => Field::Addr(ip),
            (None, false) => Field::Prefix(IpNet::V4(Default::default())),
            (None, true) => Field::Prefix(IpNet::V6(Default::default())),
        };
        let (lo, hi) = self.host_ports;
        let key = vec![host, Field::Proto(self.proto), Field::Ports(lo, hi)];
        // A range that keeps its port numbers maps to the address alone.
        let keep = lo != hi && self.target.port == lo;
        let addr = Field::Addr(self.target.addr);
        let port = Field::Ports(self.target.port, self.target.port);
        let (set, value) = match (v6, keep) {
            (false, false) => (Set::Ports4, vec![addr, port]),
            (false, true) => (Set::Ports4Keep, vec![addr]),
            (true, false) => (Set::Ports6, vec![addr, port]),
            (true, true) => (Set::Ports6Keep, vec![addr]),
        };
        Element { set, key, value }
    }

    /// The command adding this element.
    pub fn add(&self) -> Batch {
        render(&[], &[self.element()])
    }

    /// The command that looks this element up (`get element`, which fails
    /// when it is missing): for CNI CHECK.
    pub fn get(&self) -> String {
        let e = self.element();
        format!(
            "get element {} {TABLE} {} {{ {} }}",
            e.set.family().as_str(),
            e.set.name(),
            e.key_text()
        )
    }

    /// Commands removing this element (idempotent).
    pub fn remove(&self) -> Batch {
        render(&[self.element()], &[])
    }
}
