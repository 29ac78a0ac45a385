//! The bridge driver: a Linux bridge per network, a veth per endpoint
//! (the host end a port of the bridge, the other end in the container),
//! and the network's elements in berth's sets (isolation, NAT, DNS).
//! Overlay networks build on it (`overlay.rs`).

use super::Driver;
use crate::error::{Error, Result};
use crate::firewall::NetworkRules;
use crate::kernel::sysctl;
use crate::model::network::opt;
use crate::model::{Endpoint, Network};
use crate::plan::{Plan, Step};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// Name and bridge of the default network.
pub const DEFAULT_BRIDGE: &str = "berth0";

/// The bridge driver.
pub struct Bridge;

impl Driver for Bridge {
    fn validate(&self, options: &BTreeMap<String, String>) -> Result<()> {
        match options.keys().find(|k| !opt::ALL.contains(&k.as_str())) {
            Some(k) => Err(Error::invalid(format!(
                "unknown option {k:?}: berth's bridge driver understands {}",
                opt::ALL.join(", ")
            ))),
            None => Ok(()),
        }
    }

    fn network_plan(&self, net: &Network) -> Plan {
        bridge_steps(net, Vec::new())
    }

    fn join_step(&self, ns: &Path, e: &Endpoint, net: &Network, gateways: &[IpAddr]) -> Step {
        Step::CreateVeth {
            host: e.host_veth.clone(),
            peer: e.ifname.clone(),
            netns: ns.to_path_buf(),
            bridge: net.bridge.clone().unwrap_or_default(),
            mtu: net.mtu,
            mac: e.mac.clone(),
            addrs: [e.ipv4, e.ipv6].into_iter().flatten().collect(),
            gateways: gateways.to_vec(),
            owner: e.id.clone(),
        }
    }

    fn leave_step(&self, ns: &Path, e: &Endpoint) -> Step {
        Step::RetireVeth {
            name: e.host_veth.clone(),
            owner: e.id.clone(),
            netns: ns.to_path_buf(),
            // Only berth adds interfaces to its containers' namespaces.
            keep_peer: true,
        }
    }
}

/// The firewall elements of a network.
pub fn network_rules(net: &Network) -> Option<NetworkRules> {
    net.bridge.as_ref().map(|b| NetworkRules {
        bridge: b.clone(),
        internal: net.internal,
        icc: net.icc,
        masquerade: net.masquerade,
        unisolated: net.reaches_others(),
        dns_gateways: if net.dns_enabled() {
            bridge_gateways(net).collect()
        } else {
            Vec::new()
        },
        gw_modes: [net.gw_mode(false), net.gw_mode(true)],
    })
}

/// The gateway addresses the bridge of `net` holds: not those of an
/// `isolated` family, nor IPv4 with `inhibit_ipv4`.
pub fn bridge_gateways(net: &Network) -> impl Iterator<Item = IpAddr> + '_ {
    net.ipam
        .iter()
        .map(|c| c.gateway)
        .filter(|g| net.gateway_on_bridge(g.is_ipv6()))
}

/// The kernel objects of a network with a bridge: the bridge with its
/// gateway addresses, its sysctls, `extra` (an overlay's VXLAN device) and
/// its firewall elements.
pub fn bridge_steps(net: &Network, extra: Vec<Step>) -> Plan {
    let Some(bridge) = &net.bridge else {
        return Plan { steps: extra };
    };
    let addrs = net
        .ipam
        .iter()
        .filter(|c| net.gateway_on_bridge(c.gateway.is_ipv6()))
        .filter_map(|c| IpNet::new(c.gateway, c.subnet.prefix_len()).ok())
        .collect();
    let mut steps = vec![
        Step::CreateBridge {
            name: bridge.clone(),
            mtu: net.mtu,
            addrs,
        },
        // Lets the host's own 127.0.0.1 reach published ports (output DNAT);
        // the guard chain stops containers from using it to reach the host.
        Step::Sysctl {
            key: sysctl::iface_key("ipv4", bridge, "route_localnet"),
            value: "1".into(),
        },
    ];
    // A container's router advertisement must not give the host a default
    // route or an address through the bridge.
    steps.extend(
        sysctl::no_router_advertisements(bridge)
            .into_iter()
            .map(|(key, value)| Step::Sysctl {
                key,
                value: value.into(),
            }),
    );
    steps.extend(extra);
    if let Some(rules) = network_rules(net) {
        steps.push(Step::Elements {
            remove: Vec::new(),
            add: rules.elements(),
        });
    }
    Plan { steps }
}
