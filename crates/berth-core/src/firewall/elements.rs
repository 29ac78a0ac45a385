//! Set and map elements: what one network or one published port adds to the
//! skeleton. Each renders an `add` batch and an idempotent `remove` batch.

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
    /// The network's subnets: containers reaching a published port from
    /// them are masqueraded (hairpin), whichever way the packet went.
    pub subnets: Vec<IpNet>,
    /// Gateways where the embedded DNS listens for this network (empty
    /// when it is not DNS-enabled): port 53 there is for its bridge only.
    pub dns_gateways: Vec<IpAddr>,
}

impl NetworkRules {
    fn elements(&self) -> Vec<(&'static str, &'static str, String)> {
        let b = quote(&self.bridge);
        let mut v = vec![
            ("inet", "bridges", b.clone()),
            ("inet", "same_net", format!("{b} . {b}")),
        ];
        if self.internal {
            v.push(("inet", "internal", b.clone()));
        }
        if !self.icc {
            v.push(("inet", "no_icc", b.clone()));
        }
        if self.unisolated && !self.internal {
            v.push(("inet", "unisolated", b.clone()));
        }
        if self.masquerade && !self.internal {
            v.push(("inet", "masq", b));
        }
        for net in &self.subnets {
            let set = if net.addr().is_ipv4() {
                "subnets4"
            } else {
                "subnets6"
            };
            v.push(("inet", set, net.trunc().to_string()));
        }
        for gw in &self.dns_gateways {
            let set = if gw.is_ipv4() { "dns4" } else { "dns6" };
            v.push(("inet", set, gw.to_string()));
        }
        v
    }

    /// Commands adding this network's elements.
    pub fn add(&self) -> Batch {
        render(&self.elements(), false)
    }

    /// Commands removing this network's elements (idempotent).
    pub fn remove(&self) -> Batch {
        render(&self.elements(), true)
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
    fn elements(&self) -> Vec<(&'static str, &'static str, String)> {
        vec![("bridge", "no_icc_ports", quote(&self.veth))]
    }

    /// The command adding the element.
    pub fn add(&self) -> Batch {
        render(&self.elements(), false)
    }

    /// Commands removing it (idempotent).
    pub fn remove(&self) -> Batch {
        render(&self.elements(), true)
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
    fn element(&self) -> (&'static str, &'static str, String) {
        let v6 = self.target.addr.is_ipv6();
        // 0.0.0.0 and :: mean every address of their family, as in Docker.
        let host = match (self.host_ip.filter(|ip| !ip.is_unspecified()), v6) {
            (Some(ip), _) => ip.to_string(),
            (None, false) => "0.0.0.0/0".to_string(),
            (None, true) => "::/0".to_string(),
        };
        let (lo, hi) = self.host_ports;
        let ports = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        };
        let key = format!("{host} . {} . {ports}", self.proto.as_str());
        // A range that keeps its port numbers maps to the address alone.
        let keep = lo != hi && self.target.port == lo;
        let (map, value) = match (v6, keep) {
            (false, false) => (
                "ports4",
                format!("{} . {}", self.target.addr, self.target.port),
            ),
            (false, true) => ("ports4_keep", self.target.addr.to_string()),
            (true, false) => (
                "ports6",
                format!("{} . {}", self.target.addr, self.target.port),
            ),
            (true, true) => ("ports6_keep", self.target.addr.to_string()),
        };
        ("inet", map, format!("{key} : {value}"))
    }

    /// The command adding this element.
    pub fn add(&self) -> Batch {
        render(&[self.element()], false)
    }

    /// The command that looks this element up (`get element`, which fails
    /// when it is missing): for CNI CHECK.
    pub fn get(&self) -> String {
        let (family, map, elem) = self.element();
        let key = elem.split(" : ").next().unwrap_or(&elem);
        format!("get element {family} {TABLE} {map} {{ {key} }}")
    }

    /// Commands removing this element (idempotent).
    pub fn remove(&self) -> Batch {
        render(&[self.element()], true)
    }
}

/// nft needs interface names quoted.
pub(super) fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

/// Renders element commands. Removal adds the element first: `add` of an
/// existing element is a no-op and `delete` of a missing one fails the whole
/// transaction, so add-then-delete removes it whether or not it was there
/// (nft 1.0.6 has no `destroy`).
pub(super) fn render(elements: &[(&str, &str, String)], remove: bool) -> Batch {
    let mut b = Batch::new();
    for (family, set, elem) in elements {
        b.push(format!("add element {family} {TABLE} {set} {{ {elem} }}"));
        if remove {
            let key = elem.split(" : ").next().unwrap_or(elem);
            b.push(format!("delete element {family} {TABLE} {set} {{ {key} }}"));
        }
    }
    b
}
