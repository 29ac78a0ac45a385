//! The forwarding berth turns on does not make the host a router between
//! its own interfaces (the routing guard), each test in its own lab with
//! two LAN namespaces on two of the lab's interfaces.

mod common;
mod netutil;

use common::B;
use netutil::pings;

/// Two LANs on two of the host's own interfaces and a VM-like namespace
/// behind another tool's bridge; forwarding is off.
fn two_lans(b: &B) {
    for (ns, host_if, net) in [("lan1", "lana", 0), ("lan2", "lanb", 64)] {
        b.lab.add_netns(ns).unwrap();
        b.sh(&format!(
            "set -e
ip link add {host_if} type veth peer name eth0 netns {ns}
ip addr add 192.0.2.{}/26 dev {host_if}
ip link set {host_if} up
ip -n {ns} addr add 192.0.2.{}/26 dev eth0
ip -n {ns} link set eth0 up
ip -n {ns} route add default via 192.0.2.{}",
            net + 1,
            net + 2,
            net + 1
        ));
    }
    // The world answers the LANs (if the host forwarded to it).
    b.lab
        .in_ns_ok("outside", "ip route add 192.0.2.0/24 via 198.51.100.2");
    b.lab.add_netns("vm").unwrap();
    b.sh("set -e
ip link add virbr9 type bridge
ip addr add 192.0.2.129/26 dev virbr9
ip link set virbr9 up
ip link add vnet0 type veth peer name eth0 netns vm
ip link set vnet0 master virbr9 up
ip -n vm addr add 192.0.2.130/26 dev eth0
ip -n vm link set eth0 up
ip -n vm route add default via 192.0.2.129
sysctl -qw net.ipv4.ip_forward=0");
}

fn lan_reaches(b: &B, from: &str, to: &str) -> bool {
    b.lab
        .in_ns(from, &format!("busybox ping -c1 -W1 {to}"))
        .status
        .success()
}

/// berth turns forwarding on for its network; the host still does not
/// route between its own interfaces (LAN to LAN, LAN to uplink), while
/// containers reach the LANs and another tool's bridge is left alone.
/// `doctor` says so; `system keep-forwarding` makes the host a router.
#[test]
fn the_host_does_not_become_a_router() {
    let b = B::new("def-router");
    two_lans(&b);
    assert!(!lan_reaches(&b, "lan1", "192.0.2.66"), "no forwarding yet");
    b.ok("network create n");
    b.sleeper("c", "--network n");
    assert_eq!(b.sh("sysctl -n net.ipv4.ip_forward").trim(), "1");
    assert!(pings(&b, "c", "192.0.2.2"), "containers reach the LAN");
    assert!(
        lan_reaches(&b, "lan1", "192.0.2.130"),
        "another tool's bridge is left alone"
    );
    assert!(
        !lan_reaches(&b, "lan1", "192.0.2.66"),
        "LAN to LAN is not routed"
    );
    assert!(
        !lan_reaches(&b, "lan1", netutil::OUTSIDE),
        "nor LAN to uplink"
    );
    let doctor = common::stdout(&b.berth("doctor"));
    assert!(
        doctor.contains("routing-guard")
            && doctor.contains("berth turned net.ipv4.ip_forward on (it was 0)"),
        "{doctor}"
    );
    let kept = b.ok("system keep-forwarding");
    assert!(kept.contains("net.ipv4.ip_forward"), "{kept}");
    assert!(
        lan_reaches(&b, "lan1", "192.0.2.66"),
        "the host routes by choice now"
    );
    let doctor = common::stdout(&b.berth("doctor"));
    assert!(doctor.contains("was on before berth"), "{doctor}");
    b.ok("rm -f c");
    b.ok("network rm n");
    b.ok("system reset --force");
    assert_eq!(b.sh("sysctl -n net.ipv4.ip_forward").trim(), "1", "kept");
}

/// Forwarding already on before berth: the host routes by its
/// administrator's choice and berth drops none of it; `system reset`
/// puts back what berth turned on, and only that.
#[test]
fn a_router_by_choice_is_left_alone() {
    {
        let b = B::new("def-router-choice");
        two_lans(&b);
        b.sh("sysctl -qw net.ipv4.ip_forward=1");
        assert!(lan_reaches(&b, "lan1", "192.0.2.66"));
        b.ok("network create n");
        assert!(lan_reaches(&b, "lan1", "192.0.2.66"), "still routed");
        assert!(!b
            .sh("nft list set inet berth routing_guard")
            .contains("ipv4"));
        b.ok("network rm n");
        b.ok("system reset --force");
        assert_eq!(b.sh("sysctl -n net.ipv4.ip_forward").trim(), "1");
    }
    let b = B::new("def-router-reset");
    two_lans(&b);
    b.ok("network create n");
    assert!(b
        .sh("nft list set inet berth routing_guard")
        .contains("ipv4"));
    b.ok("network rm n");
    b.ok("system reset --force");
    assert_eq!(
        b.sh("sysctl -n net.ipv4.ip_forward").trim(),
        "0",
        "restored"
    );
}
