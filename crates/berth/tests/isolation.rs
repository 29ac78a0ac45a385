//! Isolation between and around networks, each test in its own lab: user
//! networks cannot reach each other, `--internal` networks cannot leave
//! their bridge, `enable_icc=false` keeps neighbours apart,
//! `enable_ip_masquerade=false` sends container addresses out unchanged, and
//! nothing from outside reaches a container unless a port is published.

mod common;
mod netutil;

use common::B;
use netutil::{
    answered, curl_from, curl_in, curl_ready, httpd, ping, ping_in, pings, share, www, Ping,
    INTERNET, LAB, LAB6, TIMED_OUT,
};

/// Two user-defined networks: each reaches itself and the world, never the
/// other; a container on both reaches both.
#[test]
fn user_networks_are_isolated_from_each_other() {
    let b = B::new("iso-nets");
    b.ok("network create neta");
    b.ok("network create netb");
    b.sleeper("a1", "--network neta");
    b.sleeper("a2", "--network neta");
    b.sleeper("b1", "--network netb");
    b.sleeper("ab", "--network neta --network netb");
    b.sleeper("d1", "");
    let (a1, a2, b1) = (b.ip("a1", "neta"), b.ip("a2", "neta"), b.ip("b1", "netb"));
    let (ab_a, ab_b) = (b.ip("ab", "neta"), b.ip("ab", "netb"));

    assert!(pings(&b, "a1", &a2), "a1 -> a2 on the same network");
    assert!(pings(&b, "b1", &ab_b), "b1 -> ab on netb");
    assert!(pings(&b, "a1", INTERNET), "neta reaches outside");
    assert!(pings(&b, "b1", INTERNET), "netb reaches outside");
    assert!(pings(&b, "ab", &a1), "ab reaches neta");
    assert!(pings(&b, "ab", &b1), "ab reaches netb");
    assert!(pings(&b, "ab", INTERNET), "ab reaches outside");

    // Across networks, even to ab's address on the other network (through
    // the host's routing, not through ab), nothing answers.
    let crossing = [
        ("a1", b1.as_str()),
        ("b1", a1.as_str()),
        ("a1", ab_b.as_str()),
        ("b1", ab_a.as_str()),
        ("d1", a1.as_str()),
    ];
    assert_eq!(answered(&b, &crossing), vec![], "must be dropped");
    // TCP too, not only ICMP: a server on netb is out of neta's reach.
    let dir = www(&b, "www", "netb-web", &[]);
    b.ok(&format!(
        "run -d --name web --network netb {}",
        httpd(&dir, 80)
    ));
    let web = b.ip("web", "netb");
    assert_eq!(
        curl_ready(&b, None, &format!("http://{web}/")).as_deref(),
        Ok("netb-web")
    );
    assert_eq!(
        curl_from(&b, "ab", &format!("http://{web}/"), 2).as_deref(),
        Ok("netb-web")
    );
    assert_eq!(
        curl_from(&b, "a1", &format!("http://{web}/"), 1),
        Err(TIMED_OUT)
    );
}

/// `--internal`: containers talk to each other but not to the world, and
/// the world (even with a route to the subnet) cannot reach them.
#[test]
fn internal_network_stays_on_its_bridge() {
    let b = B::new("iso-internal");
    b.ok("network create --internal --subnet 192.0.2.0/24 inet");
    b.sleeper("i1", "--network inet");
    b.sleeper("i2", "--network inet");
    let (i1, i2) = (b.ip("i1", "inet"), b.ip("i2", "inet"));
    assert!(pings(&b, "i1", &i2));
    assert!(pings(&b, "i2", &i1));
    // No default route (as Docker): a packet for the outside cannot leave.
    assert_eq!(
        ping(&b, "i1", INTERNET),
        Ping::NoRoute,
        "an internal network must not reach outside"
    );
    // With one added by hand inside the container, the firewall drops it.
    b.sh("ip netns exec i1 ip route add default via 192.0.2.1");
    assert_eq!(ping(&b, "i1", INTERNET), Ping::Dropped, "the firewall");
    assert_eq!(ping(&b, "i1", "198.51.100.1"), Ping::Dropped, "nor the LAN");
    assert!(pings(&b, "i1", &i2), "the bridge still works");
    b.lab
        .in_ns_ok("outside", &format!("ip route add 192.0.2.0/24 via {LAB}"));
    assert_eq!(
        ping_in(&b, Some("outside"), &i1),
        Ping::Dropped,
        "outside must not reach an internal container"
    );
    // A container with no default route cannot answer anyway; a route makes
    // the test about the firewall, not about routing.
    let out = b
        .lab
        .in_ns("outside", &format!("curl -sS -m1 http://{i1}:80/"));
    assert_eq!(out.status.code(), Some(TIMED_OUT));
}

/// `enable_icc=false`: neighbours on the bridge cannot talk directly, with
/// or without br_netfilter, but still reach the world and each other's
/// published ports through the host (as through Docker's proxy).
#[test]
fn icc_disabled_keeps_neighbours_apart() {
    let b = B::new("iso-icc");
    let dir = www(&b, "www", "icc-web", &[]);
    b.ok("network create -o com.docker.network.bridge.enable_icc=false noicc");
    b.ok(&format!(
        "run -d --name c1 --network noicc -p 8089:80 {}",
        httpd(&dir, 80)
    ));
    b.sleeper("c2", "--network noicc");
    let (c1, c2) = (b.ip("c1", "noicc"), b.ip("c2", "noicc"));
    let published = format!("http://{LAB}:8089/");
    assert_eq!(curl_ready(&b, None, &published).as_deref(), Ok("icc-web"));
    for br_netfilter in ["1", "0"] {
        b.sh(&format!(
            "sysctl -qw net.bridge.bridge-nf-call-iptables={br_netfilter} net.bridge.bridge-nf-call-ip6tables={br_netfilter}"
        ));
        let how = format!("bridge-nf-call-iptables={br_netfilter}");
        assert!(!pings(&b, "c2", &c1), "c2 -> c1 must be dropped ({how})");
        assert_eq!(
            curl_from(&b, "c2", &format!("http://{c1}/"), 1),
            Err(TIMED_OUT),
            "{how}"
        );
        let via_host = curl_from(&b, "c2", &published, 2);
        assert_eq!(
            via_host.as_deref(),
            Ok("icc-web"),
            "c2 -> published port ({how})"
        );
        let own = curl_from(&b, "c1", &published, 2);
        assert_eq!(own.as_deref(), Ok("icc-web"), "c1 -> its own port ({how})");
    }
    assert!(!pings(&b, "c1", &c2), "c1 -> c2 must be dropped");
    assert!(pings(&b, "c1", INTERNET));
    assert!(pings(&b, "c2", INTERNET));
    b.sleeper("c3", "");
    let c3 = b.ip("c3", "bridge");
    b.sleeper("c4", "");
    assert!(pings(&b, "c4", &c3), "the default bridge keeps icc on");
}

/// `enable_ip_masquerade=false`: the world sees the container's own
/// address (and needs a route back); with masquerade it sees the lab's.
#[test]
fn masquerade_off_keeps_the_container_source() {
    let b = B::new("iso-masq");
    let dir = www(&b, "www", "outside-web", &[]);
    b.lab.in_ns_ok(
        "outside",
        &format!("busybox httpd -p {INTERNET}:8000 -h {dir}"),
    );
    let url = format!("http://{INTERNET}:8000/cgi-bin/ip");
    b.ok("network create --subnet 192.0.2.0/24 -o com.docker.network.bridge.enable_ip_masquerade=false nomasq");
    b.sleeper("m1", "--network nomasq");
    b.sleeper("d1", "");
    let m1 = b.ip("m1", "nomasq");
    assert!(
        !pings(&b, "m1", INTERNET),
        "outside has no route back to 192.0.2.0/24"
    );
    assert_eq!(
        curl_from(&b, "d1", &url, 2).as_deref(),
        Ok(LAB),
        "masqueraded"
    );
    b.lab
        .in_ns_ok("outside", &format!("ip route add 192.0.2.0/24 via {LAB}"));
    assert!(pings(&b, "m1", INTERNET), "with a route back it crosses");
    assert_eq!(
        curl_from(&b, "m1", &url, 2),
        Ok(m1),
        "the source is the container's"
    );
}

/// Docker 28: a host on the LAN with a route to a container subnet cannot
/// open connections to containers directly, published port or not; the
/// published host port works and the host itself reaches the container.
#[test]
fn unsolicited_inbound_is_dropped_unless_published() {
    let b = B::new("iso-inbound");
    let dir = www(&b, "www", "direct", &[]);
    b.ok("network create --subnet 192.0.2.0/24 pub");
    b.ok(&format!(
        "run -d --name web --network pub -p 8080:80 {} sh -c 'busybox httpd -p 81 -h {dir}; exec busybox httpd -f -p 80 -h {dir}'",
        share(&dir)
    ));
    let web = b.ip("web", "pub");
    b.lab
        .in_ns_ok("outside", &format!("ip route add 192.0.2.0/24 via {LAB}"));
    assert_eq!(
        curl_ready(&b, Some("outside"), &format!("http://{LAB}:8080/")).as_deref(),
        Ok("direct")
    );
    assert_eq!(
        curl_ready(&b, None, &format!("http://{web}:81/")).as_deref(),
        Ok("direct")
    );
    assert_eq!(
        curl_in(&b, Some("outside"), &format!("http://{web}:81/"), 1),
        Err(TIMED_OUT)
    );
    assert_eq!(
        curl_in(&b, Some("outside"), &format!("http://{web}:80/"), 1),
        Err(TIMED_OUT)
    );
    assert_eq!(
        ping_in(&b, Some("outside"), &web),
        Ping::Dropped,
        "pings from outside are unsolicited too"
    );
    // The same over IPv6.
    b.ok("network create --ipv6 --subnet fd00:b0a7:3::/64 pub6");
    b.ok(&format!(
        "run -d --name web6 --network pub6 -p 8086:81 {}",
        httpd(&dir, 81)
    ));
    b.lab.in_ns_ok(
        "outside",
        &format!("ip -6 route add fd00:b0a7:3::/64 via {LAB6}"),
    );
    let published = curl_ready(&b, Some("outside"), &format!("http://[{LAB6}]:8086/"));
    assert_eq!(published.as_deref(), Ok("direct"));
    let direct = curl_in(&b, Some("outside"), "http://[fd00:b0a7:3::2]:81/", 1);
    assert_eq!(direct, Err(TIMED_OUT), "direct IPv6 access is dropped");
}

/// A container that routes 127.0.0.1 to its gateway (bridges have
/// route_localnet on, for the host's own localhost DNAT) still cannot reach
/// services bound to the host's loopback.
#[test]
fn containers_never_reach_the_host_loopback() {
    let b = B::new("iso-loopback");
    let dir = www(&b, "www", "host-local", &[]);
    b.sh(&format!("busybox httpd -p 127.0.0.1:9999 -h {dir}"));
    let local = curl_ready(&b, None, "http://127.0.0.1:9999/");
    assert_eq!(local.as_deref(), Ok("host-local"));
    // The attacker controls its namespace's routes and sysctls: Docker's
    // default confinement would stop it earlier (no CAP_NET_ADMIN,
    // read-only /proc/sys), so it is privileged here.
    b.sleeper("evil", "--privileged");
    let gw = b.ok("network inspect -f '{{(index .IPAM.Config 0).Gateway}}' bridge");
    b.ok(&format!(
        "exec evil sh -c 'set -e
sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 net.ipv4.conf.eth0.accept_local=1
ip route del 127.0.0.0/8 table local
ip route del 127.0.0.1 table local
ip route add 127.0.0.1/32 via {} dev eth0'",
        gw.trim()
    ));
    let got = curl_from(&b, "evil", "http://127.0.0.1:9999/", 1);
    assert_eq!(got, Err(TIMED_OUT), "the guard chain drops it");
}
