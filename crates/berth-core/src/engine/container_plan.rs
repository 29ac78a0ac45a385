//! The plan of a container's kernel objects (pure): its namespace, one veth
//! per bridge endpoint, and its set/map elements (published ports, veths of
//! `enable_icc=false` networks, the addresses each veth may send from).

use super::ports;
use crate::firewall::{Element, IccPort, PortGuard};
use crate::model::{Container, Driver, Endpoint, Network};
use crate::plan::{Plan, Step};

/// The kernel objects of a container's network: its namespace, one veth per
/// bridge endpoint, and the map elements of its published ports.
pub(crate) fn network_plan(
    paths: &crate::paths::Paths,
    c: &Container,
    eps: &[Endpoint],
    nets: &[Network],
) -> Plan {
    // `--network host`, and `container:NAME` (the other's namespace).
    if nets.iter().any(|n| n.driver == Driver::Host) || c.config.net_container.is_some() {
        return Plan::default();
    }
    let ns = paths.netns(&c.id);
    let mut steps = vec![
        Step::CreateNetns { path: ns.clone() },
        super::netns_names::name_step(paths, c),
    ];
    let prim = primary(eps, nets).map(|e| e.id.clone());
    for e in eps {
        let Some(net) = nets.iter().find(|n| n.id == e.network_id) else {
            continue;
        };
        steps.push(veth_step(
            &ns,
            e,
            net,
            prim.as_deref() == Some(e.id.as_str()),
        ));
    }
    if let Some(step) = sysctls_step(&ns, c, eps, nets) {
        steps.push(step);
    }
    if let Some(step) = ports_step(c, eps, nets) {
        steps.push(step);
    }
    Plan { steps }
}

/// The sysctls a container's namespace at `ns` gets once its interfaces
/// exist: its `--sysctl`s, then each endpoint's own
/// (`com.docker.network.endpoint.sysctls`, `IFNAME` its interface).
pub(crate) fn sysctls_step(
    ns: &std::path::Path,
    c: &Container,
    eps: &[Endpoint],
    nets: &[Network],
) -> Option<Step> {
    let mut settings: Vec<(String, String)> = c
        .config
        .sysctls
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for e in eps {
        settings.extend(endpoint_sysctls(c, e, nets));
    }
    (!settings.is_empty()).then(|| Step::NetnsSysctls {
        netns: ns.to_path_buf(),
        settings,
    })
}

/// The per-interface sysctls of endpoint `e` (its attachment's driver
/// option; checked when it was recorded).
pub(crate) fn endpoint_sysctls(
    c: &Container,
    e: &Endpoint,
    nets: &[Network],
) -> Vec<(String, String)> {
    let Some(net) = nets.iter().find(|n| n.id == e.network_id) else {
        return Vec::new();
    };
    c.config
        .networks
        .iter()
        .filter(|a| a.network == net.name || a.network == net.id)
        .filter_map(|a| a.driver_opts.get(crate::model::netopt::ENDPOINT_SYSCTLS))
        .flat_map(|v| crate::model::netopt::endpoint_sysctls(v, &e.ifname).unwrap_or_default())
        .collect()
}

/// The veth of one endpoint.
pub(crate) fn veth_step(ns: &std::path::Path, e: &Endpoint, net: &Network, gateway: bool) -> Step {
    let gateways = if gateway {
        net.ipam
            .iter()
            .filter(|c| {
                (c.subnet.addr().is_ipv4() && e.ipv4.is_some())
                    || (c.subnet.addr().is_ipv6() && e.ipv6.is_some())
            })
            .filter(|c| net.has_gateway(c.subnet.addr().is_ipv6()))
            .map(|c| c.gateway)
            .collect()
    } else {
        Vec::new()
    };
    crate::drivers::join_step(ns, e, net, &gateways)
}

/// The set and map elements of a container: what each of its veths on a
/// berth bridge may send, its veths on `enable_icc=false` networks and its
/// published ports (on its primary endpoint).
pub(crate) fn elements(c: &Container, eps: &[Endpoint], nets: &[Network]) -> Vec<Element> {
    let mut v = Vec::new();
    for e in eps {
        if let Some(guard) = port_guard(e, nets) {
            v.extend(guard.elements());
        }
        if nets.iter().any(|n| n.id == e.network_id && !n.icc) {
            let port = IccPort {
                veth: e.host_veth.clone(),
            };
            v.extend(port.elements());
        }
    }
    if let Some(p) = primary(eps, nets) {
        let ipv4 = p.ipv4.map(|n| n.addr());
        let ipv6 = p.ipv6.map(|n| n.addr());
        v.extend(
            ports::rules(&c.ports, ipv4, ipv6)
                .iter()
                .map(|r| r.element()),
        );
        if let Some(net) = nets.iter().find(|n| n.id == p.network_id) {
            v.extend(open_ports(c, net, ipv4, ipv6));
        }
    }
    v
}

/// The published ports of a container on a network whose gateway mode is
/// `routed` for a family, opened at the container's own address of that
/// family (Docker 27: reachable by direct routing, no NAT); a binding to a
/// host address of the other family does not open it.
fn open_ports(
    c: &Container,
    net: &Network,
    ipv4: Option<std::net::IpAddr>,
    ipv6: Option<std::net::IpAddr>,
) -> Vec<Element> {
    use crate::model::network::GwMode;
    let mut v: Vec<Element> = Vec::new();
    for (addr, v6) in [(ipv4, false), (ipv6, true)] {
        let Some(addr) = addr.filter(|_| net.gw_mode(v6) == GwMode::Routed) else {
            continue;
        };
        let mut ranges: Vec<(crate::model::Proto, u16, u16)> = c
            .ports
            .iter()
            .filter(|b| b.host_ip.is_none_or(|ip| ip.is_ipv6() == v6))
            .map(|b| {
                let last = b.container_port.saturating_add(b.count.saturating_sub(1));
                (b.proto, b.container_port, last)
            })
            .collect();
        ranges.sort_unstable_by_key(|&(p, lo, hi)| (p.as_str(), lo, hi));
        // An interval set refuses overlapping elements: merge them.
        let mut merged: Vec<(crate::model::Proto, u16, u16)> = Vec::new();
        for (p, lo, hi) in ranges {
            match merged.last_mut() {
                Some(m) if m.0 == p && lo <= m.2.saturating_add(1) => m.2 = m.2.max(hi),
                _ => merged.push((p, lo, hi)),
            }
        }
        v.extend(merged.into_iter().map(|(proto, lo, hi)| {
            crate::firewall::OpenPort {
                addr,
                proto,
                ports: (lo, hi),
            }
            .element()
        }));
    }
    v
}

/// What endpoint `e` may send from, when it is a veth on a berth bridge
/// (macvlan and ipvlan endpoints are not: their frames never cross one).
/// A MAC that does not parse gives no elements: the port then sends
/// nothing (the check fails closed).
fn port_guard(e: &Endpoint, nets: &[Network]) -> Option<PortGuard> {
    let net = nets.iter().find(|n| n.id == e.network_id)?;
    if net.bridge.is_none() || matches!(net.driver, Driver::Macvlan | Driver::Ipvlan) {
        return None;
    }
    let mac = crate::kernel::msg::parse_mac(&e.mac)?;
    Some(PortGuard {
        veth: e.host_veth.clone(),
        mac: mac.try_into().ok()?,
        ipv4: e.ipv4.and_then(|n| match n.addr() {
            std::net::IpAddr::V4(a) => Some(a),
            std::net::IpAddr::V6(_) => None,
        }),
        ipv6: e.ipv6.and_then(|n| match n.addr() {
            std::net::IpAddr::V6(a) => Some(a),
            std::net::IpAddr::V4(_) => None,
        }),
    })
}

/// The step adding a container's elements, if it has any.
pub(crate) fn ports_step(c: &Container, eps: &[Endpoint], nets: &[Network]) -> Option<Step> {
    let add = elements(c, eps, nets);
    (!add.is_empty()).then(|| Step::Elements {
        remove: Vec::new(),
        add,
    })
}

/// The step removing a container's elements (its network going down), if
/// it has any.
pub(crate) fn unports_step(c: &Container, eps: &[Endpoint], nets: &[Network]) -> Option<Step> {
    let remove = elements(c, eps, nets);
    (!remove.is_empty()).then(|| Step::Elements {
        remove,
        add: Vec::new(),
    })
}

/// The step moving a container's elements from what `before` needs to
/// what `after` needs (connect / disconnect), undoable.
pub(crate) fn elements_change(
    c: &Container,
    before: &[Endpoint],
    after: &[Endpoint],
    nets: &[Network],
) -> Option<Step> {
    let remove = elements(c, before, nets);
    let add = elements(c, after, nets);
    (add != remove).then_some(Step::Elements { remove, add })
}

/// The endpoint that carries the default route and published ports: the
/// one with the highest `gw-priority` on a non-internal network, the first
/// of them when several have it (Docker 28's rule).
pub(crate) fn primary<'a>(eps: &'a [Endpoint], nets: &[Network]) -> Option<&'a Endpoint> {
    eps.iter()
        .filter(|e| nets.iter().any(|n| n.id == e.network_id && !n.internal))
        .max_by_key(|e| (e.gw_priority, std::cmp::Reverse(e.position)))
}
