//! Published ports, each test in its own lab: TCP, UDP, ranges, ephemeral
//! host ports, host-IP bindings (and moby#45610), hairpin, localhost, the
//! client's source address, IPv6, busy ports and closing on removal.

mod common;
mod netutil;

use common::B;
use netutil::{
    curl_from, curl_in, curl_ready, httpd, share, www, LAB, OUTSIDE, REFUSED, TIMED_OUT,
};

/// The host port of the first binding of container port `port` (`80/tcp`).
fn host_port(b: &B, name: &str, port: &str) -> u16 {
    let f = format!("'{{{{(index (index .NetworkSettings.Ports \"{port}\") 0).HostPort}}}}'");
    b.ok(&format!("inspect -f {f} {name}"))
        .trim()
        .parse()
        .unwrap()
}

/// Elements of one of berth's port maps, as `nft -j` prints them.
fn map_elements(b: &B, map: &str) -> Vec<serde_json::Value> {
    let out = b.sh(&format!("nft -j list map inet berth {map}"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i.get("map"))
        .flat_map(|m| m["elem"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// `-p 8081:80`: from outside, from the lab (its LAN address, 127.0.0.1 and
/// `localhost`), and the server sees the outside client's own address.
#[test]
fn tcp_port_serves_everyone_and_keeps_the_client_address() {
    let b = B::new("ports-tcp");
    let dir = www(&b, "www", "hello-tcp", &[]);
    b.ok(&format!("run -d --name web -p 8081:80 {}", httpd(&dir, 80)));
    let url = format!("http://{LAB}:8081/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &url).as_deref(),
        Ok("hello-tcp")
    );
    assert_eq!(curl_in(&b, None, &url, 2).as_deref(), Ok("hello-tcp"));
    assert_eq!(
        curl_in(&b, None, "http://127.0.0.1:8081/", 2).as_deref(),
        Ok("hello-tcp")
    );
    assert_eq!(
        curl_in(&b, None, "http://localhost:8081/", 2).as_deref(),
        Ok("hello-tcp")
    );
    let seen = curl_in(&b, Some("outside"), &format!("{url}cgi-bin/ip"), 2);
    assert_eq!(
        seen.as_deref(),
        Ok(OUTSIDE),
        "DNAT keeps the client's address"
    );
}

/// `-p 5353:53/udp` to a UDP echo that reports its peer.
#[test]
fn udp_port_answers_with_the_client_address() {
    let b = B::new("ports-udp");
    b.ok("run -d --name dns -p 5353:53/udp socat UDP4-RECVFROM:53,fork SYSTEM:'echo pong-$SOCAT_PEERADDR'");
    let ask = format!("echo ping | socat -T1 - UDP4:{LAB}:5353");
    let answered = (0..20).find_map(|_| {
        let out = b.lab.in_ns("outside", &ask);
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if text.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(100));
            return None;
        }
        Some(text)
    });
    assert_eq!(answered.as_deref(), Some("pong-198.51.100.1"));
    // TCP on the same number is not published.
    assert_eq!(
        curl_in(&b, Some("outside"), &format!("http://{LAB}:5353/"), 1),
        Err(REFUSED)
    );
}

/// A UDP client that keeps its source port (a resolver) reaches the new
/// container when another replaces the old one on the same host port: the
/// old flow's conntrack entry, DNATed to the old container, is forgotten.
#[test]
fn udp_flow_follows_a_replaced_container() {
    let b = B::new("ports-udp-flow");
    let echo = |name: &str| {
        format!("run -d --name {name} -p 5354:53/udp socat UDP4-RECVFROM:53,fork SYSTEM:'echo from-{name}'")
    };
    let ask = || {
        let script = format!("echo ping | socat -T1 - UDP4:{LAB}:5354,sourceport=40053,reuseaddr");
        String::from_utf8_lossy(&b.lab.in_ns("outside", &script).stdout)
            .trim()
            .to_string()
    };
    let until = |want: &str| (0..5).map(|_| ask()).find(|got| got == want);
    b.ok(&echo("old"));
    assert_eq!(until("from-old").as_deref(), Some("from-old"));
    b.ok("rm -f old");
    b.ok(&echo("new"));
    // Without the flush the entry keeps pointing at the old address and,
    // refreshed by every query, never expires.
    assert_eq!(until("from-new").as_deref(), Some("from-new"));
}

/// A range keeping its numbers and a shifted range.
#[test]
fn port_ranges_keep_or_shift_numbers() {
    let b = B::new("ports-range");
    let dir = www(&b, "www", "range", &[8000, 8001, 8002]);
    let serve = |p: u16| format!("busybox httpd -p {p} -h {dir}/{p}");
    let script = format!(
        "{}; {}; exec busybox httpd -f -p 8002 -h {dir}/8002",
        serve(8000),
        serve(8001)
    );
    b.ok(&format!(
        "run -d --name keep -p 8000-8002:8000-8002 {} sh -c '{script}'",
        share(&dir)
    ));
    b.ok(&format!(
        "run -d --name shift -p 9000-9001:8000-8001 {} sh -c '{script}'",
        share(&dir)
    ));
    for p in [8000, 8001, 8002] {
        let got = curl_ready(&b, Some("outside"), &format!("http://{LAB}:{p}/"));
        assert_eq!(got, Ok(format!("p{p}")), "kept port {p}");
    }
    for (host, want) in [(9000, "p8000"), (9001, "p8001")] {
        let got = curl_ready(&b, Some("outside"), &format!("http://{LAB}:{host}/"));
        assert_eq!(got.as_deref(), Ok(want), "shifted port {host}");
    }
    assert_eq!(
        curl_in(&b, Some("outside"), &format!("http://{LAB}:9002/"), 1),
        Err(REFUSED)
    );
}

/// `-p 80`: an ephemeral host port, shown by `inspect`.
#[test]
fn ephemeral_host_port_is_reported_and_works() {
    let b = B::new("ports-ephemeral");
    let dir = www(&b, "www", "ephemeral", &[]);
    b.ok(&format!("run -d --name web -p 80 {}", httpd(&dir, 80)));
    let port = host_port(&b, "web", "80/tcp");
    assert!(port >= 49153, "ephemeral port {port}");
    let got = curl_ready(&b, Some("outside"), &format!("http://{LAB}:{port}/"));
    assert_eq!(got.as_deref(), Ok("ephemeral"));
}

/// `-p 127.0.0.1:8085:80`: the lab reaches it on 127.0.0.1, a LAN neighbour
/// neither through the lab's address nor by routing 127.0.0.1 to the lab
/// (moby#45610, fixed in Docker 28).
#[test]
fn loopback_binding_is_not_reachable_from_the_lan() {
    let b = B::new("ports-loopback");
    let dir = www(&b, "www", "local-only", &[]);
    b.ok(&format!(
        "run -d --name web -p 127.0.0.1:8085:80 {}",
        httpd(&dir, 80)
    ));
    assert_eq!(
        curl_ready(&b, None, "http://127.0.0.1:8085/").as_deref(),
        Ok("local-only")
    );
    b.lab.add_host("neighbour", &["198.51.100.3/24"]).unwrap();
    let via_lan = curl_in(&b, Some("neighbour"), &format!("http://{LAB}:8085/"), 1);
    assert_eq!(
        via_lan,
        Err(REFUSED),
        "nothing is published on the LAN address"
    );
    // The attack: send packets for 127.0.0.1 to the lab's MAC address. A
    // counter in a table of the test's own shows they do arrive.
    b.sh("nft add table ip probe
nft add chain ip probe pre '{ type filter hook prerouting priority -500; }'
nft add rule ip probe pre iifname uplink ip daddr 127.0.0.1 tcp dport 8085 counter");
    b.lab.in_ns_ok(
        "neighbour",
        &format!(
            "set -e
sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 net.ipv4.conf.eth0.accept_local=1
ip route del 127.0.0.0/8 table local
ip route del 127.0.0.1 table local
ip route add 127.0.0.1/32 via {LAB} dev eth0 src 198.51.100.3"
        ),
    );
    let attack = curl_in(&b, Some("neighbour"), "http://127.0.0.1:8085/", 1);
    assert!(
        attack.is_err(),
        "moby#45610: the LAN reached a loopback-bound port: {attack:?}"
    );
    let probe = b.sh("nft -j list chain ip probe pre");
    let packets = probe
        .split("\"packets\": ")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next());
    assert!(
        packets.is_some_and(|n| n != "0"),
        "the attack never reached the lab: {probe}"
    );
}

/// Hairpin: containers reach published ports (their own included) through
/// the lab's address, from the same and from another network.
#[test]
fn containers_reach_published_ports_through_the_host() {
    let b = B::new("ports-hairpin");
    let dir = www(&b, "www", "hairpin", &[]);
    b.ok(&format!("run -d --name web -p 8086:80 {}", httpd(&dir, 80)));
    b.sleeper("peer", "");
    b.ok("network create other");
    b.sleeper("far", "--network other");
    let url = format!("http://{LAB}:8086/");
    assert_eq!(curl_ready(&b, None, &url).as_deref(), Ok("hairpin"));
    assert_eq!(
        curl_from(&b, "peer", &url, 2).as_deref(),
        Ok("hairpin"),
        "neighbour"
    );
    assert_eq!(
        curl_from(&b, "web", &url, 2).as_deref(),
        Ok("hairpin"),
        "itself"
    );
    assert_eq!(
        curl_from(&b, "far", &url, 2).as_deref(),
        Ok("hairpin"),
        "another network"
    );
    // Who the server sees: containers are masqueraded to the gateway (the
    // answer to a neighbour must come back through the host), the host's
    // own connection keeps its address.
    let ip = format!("{url}cgi-bin/ip");
    let gw = b.ok("network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' bridge");
    for from in ["peer", "web", "far"] {
        let seen = curl_from(&b, from, &ip, 2);
        assert_eq!(seen.as_deref(), Ok(gw.trim()), "{from}");
    }
    assert_eq!(curl_in(&b, None, &ip, 2).as_deref(), Ok(LAB), "the host");
    // With br_netfilter, hairpin frames are bridged (hairpin mode on the
    // port); without it, they are routed: both must work.
    b.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=0");
    assert_eq!(
        curl_from(&b, "peer", &url, 2).as_deref(),
        Ok("hairpin"),
        "routed, neighbour"
    );
    assert_eq!(
        curl_from(&b, "web", &url, 2).as_deref(),
        Ok("hairpin"),
        "routed, itself"
    );
}

/// `--ipv6` network: the published port answers on the lab's IPv6 address.
#[test]
fn ipv6_published_port_answers_from_outside() {
    let b = B::new("ports-v6");
    let dir = www(&b, "www", "hello-v6", &[]);
    b.ok("network create --ipv6 --subnet fd00:b0a7:1::/64 v6net");
    b.ok(&format!(
        "run -d --name web --network v6net -p 8082:80 {}",
        httpd(&dir, 80)
    ));
    let got = curl_ready(&b, Some("outside"), "http://[2001:db8:1::2]:8082/");
    assert_eq!(got.as_deref(), Ok("hello-v6"));
    let seen = curl_in(
        &b,
        Some("outside"),
        "http://[2001:db8:1::2]:8082/cgi-bin/ip",
        2,
    );
    assert_eq!(seen.as_deref(), Ok("2001:db8:1::1"));
    let v4 = curl_in(&b, Some("outside"), &format!("http://{LAB}:8082/"), 2);
    assert_eq!(v4.as_deref(), Ok("hello-v6"), "and on IPv4");
    // IPv6 hairpin, from a neighbour and from the container itself.
    b.sleeper("peer", "--network v6net");
    let url = "http://[2001:db8:1::2]:8082/";
    assert_eq!(
        curl_from(&b, "peer", url, 2).as_deref(),
        Ok("hello-v6"),
        "neighbour"
    );
    assert_eq!(
        curl_from(&b, "web", url, 2).as_deref(),
        Ok("hello-v6"),
        "itself"
    );
}

/// A busy host port is a clear error that creates nothing.
#[test]
fn busy_host_port_is_refused_and_leaves_nothing() {
    let b = B::new("ports-busy");
    let dir = www(&b, "www", "first", &[]);
    b.ok(&format!(
        "run -d --name first -p 8090:80 {}",
        httpd(&dir, 80)
    ));
    b.sh("busybox nc -l -p 8091 >/dev/null 2>&1 &");
    assert!(b.eventually("ss -Hltn | grep -q ':8091 '"));
    let before = netutil::settled_snapshot(&b);
    // Without CREATED/STATUS: their durations change while we look.
    let ps = "ps -a --format '{{.ID}} {{.Names}} {{.State}} {{.Ports}}'";
    let ps_before = b.ok(ps);
    let err = b.fails(&format!(
        "run -d --name second -p 8090:80 {}",
        httpd(&dir, 80)
    ));
    assert!(err.contains("8090") && err.contains("first"), "{err}");
    let err = b.fails(&format!(
        "run -d --name third -p 8091:80 {}",
        httpd(&dir, 80)
    ));
    assert!(err.contains("8091") && err.contains("listening"), "{err}");
    b.lab.snapshot().unwrap().assert_same(&before);
    assert_eq!(b.ok(ps), ps_before);
    assert!(b.fails("inspect second").contains("second"));
    let still = curl_in(&b, Some("outside"), &format!("http://{LAB}:8090/"), 2);
    assert_eq!(still.as_deref(), Ok("first"));
}

/// Removing the container closes its port and removes its map element.
#[test]
fn removing_the_container_closes_the_port() {
    let b = B::new("ports-rm");
    let dir = www(&b, "www", "bye", &[]);
    b.ok(&format!("run -d --name web -p 8092:80 {}", httpd(&dir, 80)));
    let url = format!("http://{LAB}:8092/");
    assert_eq!(curl_ready(&b, Some("outside"), &url).as_deref(), Ok("bye"));
    let has_8092 = |b: &B| {
        map_elements(b, "ports4")
            .iter()
            .any(|e| e.to_string().contains("8092"))
    };
    assert!(has_8092(&b), "{:?}", map_elements(&b, "ports4"));
    b.ok("rm -f web");
    assert!(!has_8092(&b), "{:?}", map_elements(&b, "ports4"));
    assert_eq!(curl_in(&b, Some("outside"), &url, 1), Err(REFUSED));
    assert_eq!(curl_in(&b, None, "http://127.0.0.1:8092/", 1), Err(REFUSED));
    let _ = TIMED_OUT;
}

/// `-p 0.0.0.0:PORT:80` means every IPv4 address (Docker's meaning), and it
/// covers later bindings of specific addresses to that port.
#[test]
fn unspecified_host_ip_means_every_address() {
    let b = B::new("ports-any");
    let dir = www(&b, "www", "any-v4", &[]);
    b.ok(&format!(
        "run -d --name web -p 0.0.0.0:8096:80 {}",
        httpd(&dir, 80)
    ));
    let got = curl_ready(&b, Some("outside"), &format!("http://{LAB}:8096/"));
    assert_eq!(got.as_deref(), Ok("any-v4"));
    assert_eq!(
        curl_in(&b, None, "http://127.0.0.1:8096/", 2).as_deref(),
        Ok("any-v4")
    );
    let err = b.fails(&format!(
        "run -d --name other -p 127.0.0.1:8096:80 {}",
        httpd(&dir, 80)
    ));
    assert!(err.contains("8096") && err.contains("web"), "{err}");
    b.sh("busybox nc -l -p 8097 >/dev/null 2>&1 &");
    assert!(b.eventually("ss -Hltn | grep -q ':8097 '"));
    let err = b.fails(&format!(
        "run -d --name third -p 0.0.0.0:8097:80 {}",
        httpd(&dir, 80)
    ));
    assert!(err.contains("8097") && err.contains("listening"), "{err}");
}

/// Disconnecting the network that carried a container's default route and
/// published ports moves both to the network it is still on.
#[test]
fn disconnect_moves_ports_and_default_route() {
    let b = B::new("ports-disconnect");
    let dir = www(&b, "www", "moved", &[]);
    b.ok("network create neta");
    b.ok("network create netb");
    b.ok(&format!(
        "run -d --name web --network neta -p 8098:80 {}",
        httpd(&dir, 80)
    ));
    let url = format!("http://{LAB}:8098/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &url).as_deref(),
        Ok("moved")
    );
    b.ok("network connect netb web");
    b.ok("network disconnect neta web");
    let routes = b.ok("exec web ip -j route show default");
    assert!(routes.contains("eth1"), "default route via netb: {routes}");
    assert!(
        netutil::pings(&b, "web", netutil::INTERNET),
        "outbound after disconnect"
    );
    assert_eq!(
        curl_in(&b, Some("outside"), &url, 2).as_deref(),
        Ok("moved")
    );
}
