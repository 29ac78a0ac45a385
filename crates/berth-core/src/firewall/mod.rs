//! The nftables ruleset model and its rendering (pure: no syscalls here).
//!
//! berth owns exactly two tables: `inet berth` (NAT, published ports,
//! isolation, the routing guard) and `bridge berth` (inter-container
//! communication off even when br_netfilter is not loaded; anti-spoofing,
//! no router advertisements or DHCP servers from containers: see `defence`). Their chains and rules are a static skeleton
//! that never grows; every network, container and published port is an
//! *element* of a set or map, added or removed in one transaction. Adding the
//! 1000th published port therefore costs what the first did, and the ruleset
//! can always be re-rendered whole from the store (reconcile after a firewall
//! reload).
//!
//! Elements are typed ([`Element`]) from the planner to the kernel layer,
//! which encodes them for netlink (`kernel::nftnl`) or, for libnftables and
//! the golden files, renders them as `nft -f` text ([`render`]). The text
//! syntax is used rather than JSON because nft 1.0.6 (Debian 12) cannot
//! declare a map with a concatenated value from JSON.

mod defence;
mod element;
mod elements;
mod skeleton;
mod vxlan_guard;

pub use defence::{link_local, PortGuard, RoutingGuard, PORT_GROUP};
pub use element::{render, Element, Family, Field, Set};
pub use elements::{IccPort, NetworkRules, OpenPort, PortRule, PortTarget};
pub use skeleton::{skeleton, skeleton_version, TABLE};
pub use vxlan_guard::{vni_element, VxlanGuard, VXLAN_PORT};

/// Text of one nftables transaction (a sequence of commands for `nft -f`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    lines: Vec<String>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Appends one command line.
    pub fn push(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// Appends all commands of `other`.
    pub fn extend(&mut self, other: Batch) {
        self.lines.extend(other.lines);
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The batch as `nft -f` input.
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }
}

/// Everything berth's tables must contain: the whole desired state, rendered
/// from the store. Used to (re)create the tables atomically.
pub fn full_ruleset(networks: &[NetworkRules], ports: &[PortRule]) -> Batch {
    let mut elements: Vec<Element> = networks.iter().flat_map(NetworkRules::elements).collect();
    elements.extend(ports.iter().map(PortRule::element));
    tables_with(&elements)
}

/// berth's tables replaced whole: the skeleton and `elements`, in one
/// transaction.
pub fn tables_with(elements: &[Element]) -> Batch {
    let mut b = Batch::new();
    // Create-then-delete makes the delete valid whether or not the tables exist,
    // so the whole replacement is one atomic transaction.
    b.push(format!("table inet {TABLE} {{}}"));
    b.push(format!("delete table inet {TABLE}"));
    b.push(format!("table bridge {TABLE} {{}}"));
    b.push(format!("delete table bridge {TABLE}"));
    b.extend(skeleton());
    b.extend(render(&[], elements));
    b
}

#[cfg(test)]
mod tests;
