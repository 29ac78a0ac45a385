//! The network defends containers and the host, each test in its own lab:
//! a container's router advertisement changes no route or address (on the
//! host or a neighbour), and a container cannot send as another (ARP, IPv4,
//! IPv6 neighbour advertisements, source MAC). The routing guard: see
//! routing_guard.rs.

mod common;
#[path = "netutil/frames.rs"]
mod frames;
mod netutil;

use common::B;
use frames::{
    arp_reply, mac, neighbour_advert, ras_seen_by, router_advert, send_from, send_in_ns, tools,
    udp4, udp_received,
};
use netutil::pings;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A field of container `name`'s endpoint on `net` (`inspect`).
fn ep(b: &B, name: &str, net: &str, field: &str) -> String {
    b.ok(&format!(
        "inspect -f '{{{{(index .NetworkSettings.Networks \"{net}\").{field}}}}}' {name}"
    ))
    .trim()
    .to_string()
}

/// IPv6 routes and addresses, of the lab (`None`) or of a container: what a
/// router advertisement would change.
fn v6_state(b: &B, container: Option<&str>) -> String {
    let cmd = "ip -6 route show table all; ip -6 addr";
    match container {
        None => b.sh(cmd),
        Some(c) => b.ok(&format!("exec {c} sh -c '{cmd}'")),
    }
}

/// The lladdr of the neighbour entry for `ip` (in the lab, or in a container).
fn neighbour(b: &B, container: Option<&str>, ip: &str) -> String {
    let cmd = format!("ip -j neigh show {ip}");
    let out = match container {
        None => b.sh(&cmd),
        Some(c) => b.ok(&format!("exec {c} {cmd}")),
    };
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["lladdr"].as_str().unwrap_or_default().to_string()
}

/// The host end of container `name`'s eth0 (its peer's index, named in the lab).
fn host_port(b: &B, name: &str) -> String {
    let inside: serde_json::Value =
        serde_json::from_str(&b.ok(&format!("exec {name} ip -j link show eth0"))).unwrap();
    let index = inside[0]["link_index"].as_u64().unwrap();
    let links: serde_json::Value = serde_json::from_str(&b.sh("ip -j link")).unwrap();
    links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["ifindex"].as_u64() == Some(index))
        .and_then(|l| l["ifname"].as_str())
        .unwrap()
        .to_string()
}

/// A link-local source no container has.
fn rogue_ll() -> Ipv6Addr {
    "fe80::bad".parse().unwrap()
}

/// A container on an IPv4-only network sends a router advertisement: its
/// neighbour never receives it, and neither the host nor the neighbour
/// gets a route or an address; the bridge has no IPv6 address at all.
#[test]
fn a_containers_router_advertisement_changes_nothing() {
    let b = B::new("def-ra");
    let t = tools(&b);
    b.ok("network create --subnet 192.0.2.0/24 -o com.docker.network.bridge.name=brra v4net");
    b.sleeper("a1", &format!("--network v4net {t}"));
    b.sleeper("a2", &format!("--network v4net {t}"));
    let a2 = ep(&b, "a2", "v4net", "IPAddress");
    assert!(pings(&b, "a1", &a2), "a1 reaches a2");
    let bridge_v6 = b.sh("ip -j -6 addr show dev brra");
    assert!(
        !bridge_v6.contains("addr_info\":[{"),
        "no IPv6 address (not even link-local) on an IPv4-only bridge: {bridge_v6}"
    );
    let (host, neigh) = (v6_state(&b, None), v6_state(&b, Some("a2")));
    let a1_mac = mac(&ep(&b, "a1", "v4net", "MacAddress"));
    let ra = router_advert(a1_mac, rogue_ll(), "2001:db8:99::".parse().unwrap());
    let seen = ras_seen_by(&b, "a2", "eth0", 2, || {
        send_from(&b, "a1", "eth0", &[ra.clone(), ra.clone()]);
    });
    assert_eq!(
        seen, 0,
        "the bridge drops a container's router advertisement"
    );
    assert_eq!(
        v6_state(&b, None),
        host,
        "the host's IPv6 routes and addresses"
    );
    assert_eq!(v6_state(&b, Some("a2")), neigh, "the neighbour's");
    assert!(!b.sh("ip -6 route").contains("fe80::bad"));
    assert!(pings(&b, "a1", &a2), "a1's own traffic still passes");
}

/// A router advertisement reaching the bridge from a port that is not a
/// container's (a rogue device plugged into it): the neighbour receives it,
/// and still neither it nor the host configure anything from it
/// (`accept_ra=0`, `autoconf=0` on the bridge and in containers).
#[test]
fn router_advertisements_are_ignored_by_host_and_containers() {
    let b = B::new("def-ra-sysctl");
    let t = tools(&b);
    b.ok("network create --subnet 192.0.2.0/24 -o com.docker.network.bridge.name=brrs v4net");
    b.sleeper("a2", &format!("--network v4net {t}"));
    b.lab.add_netns("rogue").unwrap();
    b.sh("ip link add roguep type veth peer name eth0 netns rogue && ip link set roguep master brrs up && ip -n rogue link set eth0 up");
    let (host, neigh) = (v6_state(&b, None), v6_state(&b, Some("a2")));
    let ra = router_advert(
        [0x02, 0, 0, 0, 0x0b, 0xad],
        rogue_ll(),
        "2001:db8:98::".parse().unwrap(),
    );
    let seen = ras_seen_by(&b, "a2", "eth0", 2, || {
        send_in_ns(&b, "rogue", "eth0", &[ra.clone(), ra.clone()]);
    });
    assert!(seen > 0, "the advertisement reached the neighbour");
    assert_eq!(v6_state(&b, None), host, "the host ignored it");
    assert_eq!(v6_state(&b, Some("a2")), neigh, "the neighbour ignored it");
    // a2's host end, a bridge port, has no IPv6 of its own (and so no
    // route in the host's tables); the rogue port, not berth's, keeps its.
    let ports = b.sh("ip -o link show master brrs");
    let veth = ports
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n))
        .find(|n| n.starts_with("veth"))
        .unwrap_or_else(|| panic!("no veth port in {ports}"));
    let off = |dev: &str| b.sh(&format!("cat /proc/sys/net/ipv6/conf/{dev}/disable_ipv6"));
    assert_eq!(off(veth).trim(), "1", "IPv6 is on on the host end {veth}");
    assert_eq!(off("roguep").trim(), "0");
    let routes = b.sh("ip -6 route show table all");
    assert!(!routes.contains(&format!("dev {veth} ")), "{routes}");
    assert!(routes.contains("dev roguep "), "{routes}");
}

/// a1 (CAP_NET_RAW, as by default) claims a2's address and the gateway's
/// in ARP, sends a frame with a2's MAC, and UDP from a2's address: the
/// host's and a2's neighbour entries, the bridge's forwarding entry for
/// a2's MAC and what the host receives are as if nothing was sent; a1's
/// own datagram arrives.
#[test]
fn a_container_cannot_send_as_another() {
    let b = B::new("def-spoof4");
    let t = tools(&b);
    b.ok("network create --subnet 192.0.2.0/24 -o com.docker.network.bridge.name=brsp v4net");
    b.sleeper("a1", &format!("--network v4net {t}"));
    b.sleeper("a2", &format!("--network v4net {t}"));
    let (a1, a2) = (
        ep(&b, "a1", "v4net", "IPAddress"),
        ep(&b, "a2", "v4net", "IPAddress"),
    );
    let gw = ep(&b, "a2", "v4net", "Gateway");
    let (a1_mac, a2_mac) = (
        ep(&b, "a1", "v4net", "MacAddress"),
        ep(&b, "a2", "v4net", "MacAddress"),
    );
    let br_mac = b.sh("cat /sys/class/net/brsp/address").trim().to_string();
    // Neighbour entries to poison: the host's for a2, a2's for the gateway.
    b.sh(&format!("busybox ping -c1 -W1 {a2}"));
    assert!(pings(&b, "a2", &gw));
    assert_eq!(neighbour(&b, None, &a2), a2_mac);
    assert_eq!(neighbour(&b, Some("a2"), &gw), br_mac);
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let (m1, m2, mb) = (mac(&a1_mac), mac(&a2_mac), mac(&br_mac));
    let got = udp_received(&b, &gw, 9999, 2, || {
        send_from(
            &b,
            "a1",
            "eth0",
            &[
                udp4((mb, m1), ip(&a2), ip(&gw), 9999, b"spoofed"),
                udp4((mb, m1), ip(&a1), ip(&gw), 9999, b"genuine"),
            ],
        );
    });
    assert_eq!(
        got,
        vec!["genuine".to_string()],
        "only a1's own datagram arrives"
    );
    send_from(
        &b,
        "a1",
        "eth0",
        &[
            // a2's MAC: the bridge must not learn it on a1's port.
            arp_reply(m2, ip(&a2)),
            arp_reply(m1, ip(&a2)),
            arp_reply(m1, ip(&gw)),
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(neighbour(&b, None, &a2), a2_mac, "the host's entry for a2");
    assert_eq!(
        neighbour(&b, Some("a2"), &gw),
        br_mac,
        "a2's entry for its gateway"
    );
    let fdb: serde_json::Value = serde_json::from_str(&b.sh("bridge -j fdb show br brsp")).unwrap();
    let ports: Vec<&str> = fdb
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["mac"] == a2_mac.as_str())
        .filter_map(|e| e["ifname"].as_str())
        .collect();
    assert_eq!(
        ports,
        [host_port(&b, "a2")],
        "a2's MAC stays on a2's port: {fdb}"
    );
    assert!(pings(&b, "a2", &gw), "a2 still reaches the host");
    assert!(pings(&b, "a1", &a2), "and a1 reaches a2");
}

/// On an IPv6 network: a1's neighbour advertisement for a2's address does
/// not move the host's entry for a2, and a router advertisement from a1's
/// own link-local address (which passes the address check) reaches no one;
/// a1 and a2 still talk over IPv6.
#[test]
fn ipv6_neighbour_and_router_advertisements_are_checked() {
    let b = B::new("def-spoof6");
    let t = tools(&b);
    b.ok("network create --ipv6 --subnet 192.0.2.0/24 --subnet 2001:db8:5::/64 v6net");
    b.sleeper("a1", &format!("--network v6net {t}"));
    b.sleeper("a2", &format!("--network v6net {t}"));
    let a2 = ep(&b, "a2", "v6net", "GlobalIPv6Address");
    let a1: Ipv6Addr = ep(&b, "a1", "v6net", "GlobalIPv6Address").parse().unwrap();
    let (m1, a2_mac) = (
        mac(&ep(&b, "a1", "v6net", "MacAddress")),
        ep(&b, "a2", "v6net", "MacAddress"),
    );
    assert!(pings(&b, "a1", &a2), "a1 reaches a2 over IPv6");
    b.sh(&format!("busybox ping -c1 -W1 {a2}"));
    assert_eq!(neighbour(&b, None, &a2), a2_mac);
    let a1_ll = berth_core::firewall::link_local(m1);
    assert!(
        b.ok("exec a1 ip -6 addr show dev eth0")
            .contains(&a1_ll.to_string()),
        "a1's link-local is derived from its MAC"
    );
    let na = neighbour_advert(m1, a1, a2.parse().unwrap());
    let ra = router_advert(m1, a1_ll, "2001:db8:97::".parse().unwrap());
    let seen = ras_seen_by(&b, "a2", "eth0", 2, || {
        send_from(&b, "a1", "eth0", &[na.clone(), ra.clone(), ra.clone()]);
    });
    assert_eq!(seen, 0, "a1's router advertisement reaches no one");
    assert_eq!(neighbour(&b, None, &a2), a2_mac, "the host's entry for a2");
    assert!(!b.ok("exec a2 ip -6 route").contains("default via fe80"));
    assert!(pings(&b, "a2", &a1.to_string()), "a2 reaches a1 over IPv6");
}

/// A veth outside the checked port group (made by a berth before the
/// check, or moved out of it) sends unchecked; `system reconcile` (which an
/// upgrade runs) puts it back.
#[test]
fn reconcile_puts_a_veth_back_in_the_checked_group() {
    let b = B::new("def-group");
    let t = tools(&b);
    b.ok("network create --subnet 192.0.2.0/24 v4net");
    b.sleeper("a1", &format!("--network v4net {t}"));
    b.sleeper("a2", &format!("--network v4net {t}"));
    let (a2, gw) = (
        ep(&b, "a2", "v4net", "IPAddress"),
        ep(&b, "a2", "v4net", "Gateway"),
    );
    assert!(pings(&b, "a2", &gw));
    let gw_mac = mac(&neighbour(&b, Some("a2"), &gw));
    let m1 = mac(&ep(&b, "a1", "v4net", "MacAddress"));
    let port = host_port(&b, "a1");
    let group = |b: &B| -> String {
        let l: serde_json::Value =
            serde_json::from_str(&b.sh(&format!("ip -j -d link show {port}"))).unwrap();
        l[0]["group"].as_str().unwrap_or_default().to_string()
    };
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let spoofed = udp4((gw_mac, m1), ip(&a2), ip(&gw), 9998, b"spoofed");
    let arrives = |b: &B| {
        let got = udp_received(b, &gw, 9998, 2, || {
            send_from(b, "a1", "eth0", std::slice::from_ref(&spoofed));
        });
        !got.is_empty()
    };
    assert_eq!(group(&b), "1650815604");
    b.sh(&format!("ip link set {port} group default"));
    assert!(arrives(&b), "outside the group nothing is checked");
    b.ok("system reconcile");
    assert_eq!(group(&b), "1650815604");
    assert!(!arrives(&b), "checked again");
    assert!(pings(&b, "a1", &a2), "a1's own traffic passes");
}
