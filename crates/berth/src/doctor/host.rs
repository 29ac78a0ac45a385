//! Host checks: IP forwarding and the routing guard, subnets that clash
//! with routes or other networks, and the default route.

use super::facts::Facts;
use super::Finding;
use berth_core::ipam::overlaps;
use ipnet::IpNet;

/// `net.ipv4.ip_forward` (and IPv6 forwarding when a network has IPv6).
pub fn forwarding(f: &Facts) -> Vec<Finding> {
    let mut keys = vec![("net.ipv4.ip_forward", &f.sysctls.ip_forward, "IPv4")];
    if f.networks.iter().any(|n| n.ipv6) {
        keys.push((
            "net.ipv6.conf.all.forwarding",
            &f.sysctls.ipv6_forward,
            "IPv6",
        ));
    }
    keys.into_iter()
        .map(|(key, value, family)| match value.as_deref() {
            Some("1") => Finding::ok("forwarding", format!("{key}=1")),
            Some(v) => Finding::fail(
                "forwarding",
                format!("{key}={v}: the host does not forward {family} packets, so containers reach nothing beyond their bridge and published ports do not answer"),
                format!("sysctl -w {key}=1 (berth system reconcile does it too); find what turned it off in /etc/sysctl.conf, /etc/sysctl.d or your firewall's settings"),
            ),
            None => Finding::warn(
                "forwarding",
                format!("cannot read {key}"),
                format!("check that /proc/sys is mounted: sysctl {key}"),
            ),
        })
        .collect()
}

/// What berth did about forwarding: where it turned forwarding on, it drops
/// forwarded traffic that involves no bridge (the routing guard); where
/// forwarding was on before, it drops nothing.
pub fn routing_guard(f: &Facts) -> Vec<Finding> {
    let mut out: Vec<Finding> = f
        .forwarding_changes
        .iter()
        .map(|(key, old)| {
            Finding::ok(
                "routing-guard",
                format!("berth turned {key} on (it was {old}), so it drops forwarded traffic that involves no bridge: the host does not route between its own interfaces (if it should: berth system keep-forwarding)"),
            )
        })
        .collect();
    let on = |v: &Option<String>| v.as_deref() == Some("1");
    for (key, value) in [
        ("net.ipv4.ip_forward", &f.sysctls.ip_forward),
        ("net.ipv6.conf.all.forwarding", &f.sysctls.ipv6_forward),
    ] {
        if on(value) && !f.forwarding_changes.iter().any(|(k, _)| k == key) {
            out.push(Finding::ok(
                "routing-guard",
                format!("{key} was on before berth: the host routes by choice, berth drops nothing of it"),
            ));
        }
    }
    out
}

/// The route a subnet's own bridge adds (the kernel's connected route).
fn is_own_route(f: &Facts, bridge: &str, route_oif: Option<u32>) -> bool {
    route_oif
        .and_then(|i| f.link(i))
        .is_some_and(|l| l.name == bridge)
}

/// Subnets overlapping another network's or a route not through their
/// own bridge.
pub fn subnets(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let nets: Vec<(&str, &str, IpNet)> = f
        .bridges()
        .flat_map(|(n, b)| n.ipam.iter().map(move |c| (n.name.as_str(), b, c.subnet)))
        .collect();
    for (i, (name, _, subnet)) in nets.iter().enumerate() {
        for (other, _, o) in nets.iter().skip(i + 1) {
            if overlaps(subnet, o) {
                out.push(Finding::fail(
                    "subnets",
                    format!("subnet {subnet} of network {name} overlaps {o} of network {other}: addresses in the overlap are ambiguous"),
                    format!("remove one of them and create it again with another --subnet (berth network rm {other}; berth network create --subnet CIDR {other})"),
                ));
            }
        }
    }
    for (name, bridge, subnet) in &nets {
        for r in &f.routes {
            let Some(dst) = r.dst else { continue };
            if !overlaps(subnet, &dst) || is_own_route(f, bridge, r.oif) {
                continue;
            }
            let dev = r
                .oif
                .and_then(|i| f.link(i))
                .map_or("?", |l| l.name.as_str());
            // Another berth bridge's route is the network overlap above.
            if f.bridges().any(|(_, b)| b == dev) {
                continue;
            }
            let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
            out.push(Finding::warn(
                "subnets",
                format!("subnet {subnet} of network {name} overlaps the route {dst}{via} dev {dev} (a VPN, a LAN or another bridge): that part of {dst} is unreachable from containers, or from this host"),
                format!("create the network again with a --subnet outside {dst} (berth network rm {name}; berth network create --subnet CIDR {name})"),
            ));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "subnets",
            format!(
                "{} subnet(s), no overlap with each other or with the host's routes",
                nets.len()
            ),
        ));
    }
    out
}

/// A default route (IPv6 too when a network has IPv6).
pub fn default_route(f: &Facts) -> Vec<Finding> {
    let mut families = vec![false];
    if f.networks.iter().any(|n| n.ipv6) {
        families.push(true);
    }
    families
        .into_iter()
        .map(|v6| {
            let name = if v6 { "IPv6" } else { "IPv4" };
            let route = f.routes.iter().find(|r| r.dst.is_none() && r.v6 == v6);
            match route {
                Some(r) => {
                    let dev = r.oif.and_then(|i| f.link(i)).map_or("?", |l| l.name.as_str());
                    let via = r.gateway.map(|g| format!("via {g} ")).unwrap_or_default();
                    Finding::ok("default-route", format!("{name} default route {via}dev {dev}"))
                }
                None => Finding::warn(
                    "default-route",
                    format!("no {name} default route: containers (and this host) reach only directly connected networks"),
                    if v6 {
                        "add one: ip -6 route add default via GATEWAY dev INTERFACE".to_string()
                    } else {
                        "add one: ip route add default via GATEWAY dev INTERFACE".to_string()
                    },
                ),
            }
        })
        .collect()
}
