//! Issue 14's flags against the real kernel, each test in its own lab:
//! gateway modes (routed: reached at the container's own address without
//! NAT, only on published ports; isolated: no way off the bridge), `-P`
//! with `--expose` and `berth port`, `--sysctl`, `--domainname`, and the
//! per-network `--network name=...` form.

mod common;
mod netutil;

use common::B;
use netutil::{
    curl_from, curl_in, curl_ready, httpd, ping, www, Ping, LAB, LAB6, OUTSIDE, TIMED_OUT,
};

const ROUTED: &str = "-o com.docker.network.bridge.gateway_mode_ipv4=routed";

/// A web root served by busybox httpd on `outside`'s port 8000 (its
/// `/cgi-bin/ip` says who connected).
fn outside_server(b: &B) {
    let dir = www(b, "outside-www", "outside", &[]);
    b.lab
        .in_ns_ok("outside", &format!("busybox httpd -p 8000 -h {dir}"));
}

/// `gateway_mode_ipv4=routed`: the outside reaches a published port at
/// the container's own address (with a route to the network, as Docker's
/// docs say) and sees no NAT either way; an unpublished port is dropped;
/// on a NAT network next to it the same direct route is dropped and the
/// container leaves with the host's address.
#[test]
fn routed_network_is_reached_without_nat_on_published_ports_only() {
    let b = B::new("flags-routed");
    b.ok(&format!("network create --subnet 192.0.2.0/25 {ROUTED} rt"));
    b.ok("network create --subnet 192.0.2.128/25 nt");
    let dir = www(&b, "www", "routed", &[]);
    let serve = format!(
        "-v {dir}:{dir}:ro busybox sh -c 'busybox httpd -p 81 -h {dir}; exec busybox httpd -f -p 80 -h {dir}'"
    );
    b.ok(&format!(
        "run -d --name web --network rt -p 8080:80 {serve}"
    ));
    b.ok(&format!(
        "run -d --name natweb --network nt -p 8090:80 {serve}"
    ));
    b.lab
        .in_ns_ok("outside", &format!("ip route add 192.0.2.0/24 via {LAB}"));
    let web = b.ip("web", "rt");
    let natweb = b.ip("natweb", "nt");
    // Published port at the container's address: answered, client kept.
    let url = format!("http://{web}/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &url).as_deref(),
        Ok("routed")
    );
    let seen = curl_in(&b, Some("outside"), &format!("{url}cgi-bin/ip"), 2);
    assert_eq!(seen.as_deref(), Ok(OUTSIDE));
    // Port 81 listens but is not published: dropped.
    let closed = curl_in(&b, Some("outside"), &format!("http://{web}:81/"), 1);
    assert_eq!(closed, Err(TIMED_OUT));
    // The host port still works too.
    let mapped = curl_in(&b, Some("outside"), &format!("http://{LAB}:8080/"), 2);
    assert_eq!(mapped.as_deref(), Ok("routed"));
    // The NAT network: direct routing is dropped, its host port answers.
    let direct = curl_in(&b, Some("outside"), &format!("http://{natweb}/"), 1);
    assert_eq!(direct, Err(TIMED_OUT));
    assert_eq!(
        curl_ready(&b, Some("outside"), &format!("http://{LAB}:8090/")).as_deref(),
        Ok("routed")
    );
    // Outbound: the routed container keeps its address, the NAT one is
    // masqueraded behind the host's.
    outside_server(&b);
    let from = |name: &str| curl_from(&b, name, &format!("http://{OUTSIDE}:8000/cgi-bin/ip"), 2);
    assert_eq!(from("web").as_deref(), Ok(web.as_str()));
    assert_eq!(from("natweb").as_deref(), Ok(LAB));
    // ICMP reaches the routed container (Docker's rule), not the NAT one.
    let ping_out = |ip: &str| {
        b.lab
            .in_ns("outside", &format!("busybox ping -c1 -W1 {ip}"))
    };
    assert!(ping_out(&web).status.success());
    assert_eq!(ping_out(&natweb).status.code(), Some(1));
}

/// `gateway_mode_ipv4=isolated` (internal only): the bridge has no IPv4
/// address, a container has no route off it ("Network is unreachable"),
/// while on a plain internal network the gateway answers; containers on
/// the isolated network still reach each other.
#[test]
fn isolated_network_has_no_gateway() {
    let b = B::new("flags-isolated");
    let e = b.fails("network create -o com.docker.network.bridge.gateway_mode_ipv4=isolated iso");
    assert!(e.contains("--internal"), "{e}");
    b.ok("network create --internal --subnet 192.0.2.0/25 -o com.docker.network.bridge.name=briso -o com.docker.network.bridge.gateway_mode_ipv4=isolated iso");
    b.ok("network create --internal --subnet 192.0.2.128/25 int");
    let addrs = b.sh("ip -j -4 addr show dev briso");
    assert!(!addrs.contains("192.0.2.1"), "{addrs}");
    b.sleeper("a", "--network iso");
    b.sleeper("c", "--network iso");
    b.sleeper("i", "--network int");
    assert_eq!(ping(&b, "a", &b.ip("c", "iso")), Ping::Answered);
    assert_eq!(ping(&b, "a", OUTSIDE), Ping::NoRoute);
    assert_eq!(ping(&b, "a", "192.0.2.1"), Ping::Dropped);
    assert_eq!(ping(&b, "i", "192.0.2.129"), Ping::Answered);
}

/// `--expose` with `-P`: each exposed port gets an ephemeral host port,
/// shown by `berth port` (Docker's lines), `ps` and `inspect`, and it
/// serves; without `-P` nothing is published.
#[test]
fn publish_all_maps_exposed_ports_and_port_lists_them() {
    let b = B::new("flags-publish-all");
    let dir = www(&b, "www", "published-all", &[]);
    b.ok(&format!(
        "run -d --name web --expose 80 --expose 5000-5001/udp -P {}",
        httpd(&dir, 80)
    ));
    let all = b.ok("port web");
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 6, "{all}");
    assert!(lines[0].starts_with("80/tcp -> 0.0.0.0:"), "{all}");
    assert!(lines[1].starts_with("80/tcp -> [::]:"), "{all}");
    assert!(lines[2].starts_with("5000/udp -> 0.0.0.0:"), "{all}");
    let one = b.ok("port web 80/tcp");
    let host_port: u16 = one
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("0.0.0.0:"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{one}"));
    assert!(host_port >= 1024, "{one}");
    assert_eq!(one, b.ok("port web 80"));
    let url = format!("http://{LAB}:{host_port}/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &url).as_deref(),
        Ok("published-all")
    );
    let ps = b.ok("ps --format '{{.Ports}}'");
    assert!(ps.contains(&format!("0.0.0.0:{host_port}->80/tcp")), "{ps}");
    let exposed = b.ok("inspect -f '{{json .Config.ExposedPorts}}' web");
    assert_eq!(
        exposed.trim(),
        r#"{"5000/udp":{},"5001/udp":{},"80/tcp":{}}"#
    );
    let e = b.fails("port web 81");
    assert!(
        e.contains("No public port '81/tcp' published for web"),
        "{e}"
    );
    b.ok("run -d --name quiet --expose 80 busybox sleep 3600");
    assert_eq!(b.ok("port quiet"), "");
}

/// `--sysctl net.*` is set in the container's namespace only; other
/// sysctls are refused with the reason and nothing is created.
#[test]
fn sysctl_sets_network_sysctls_in_the_container_only() {
    let b = B::new("flags-sysctl");
    b.sleeper(
        "s",
        "--sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.all.log_martians=1",
    );
    b.sleeper("plain", "");
    let read = |c: &str, k: &str| {
        b.ok(&format!("exec {c} cat /proc/sys/{k}"))
            .trim()
            .to_string()
    };
    assert_eq!(read("s", "net/ipv4/ip_forward"), "1");
    assert_eq!(read("s", "net/ipv4/conf/all/log_martians"), "1");
    assert_eq!(read("plain", "net/ipv4/ip_forward"), "0");
    for (bad, why) in [
        ("kernel.shmmax=1", "IPC sysctls"),
        ("vm.swappiness=1", "only network sysctls"),
        ("net.ipv4.conf.eth0/../../x=1", "not a sysctl name"),
        ("net.ipv4.no_such_thing=1", "no such sysctl"),
    ] {
        let e = b.fails(&format!("run --rm --sysctl {bad} busybox true"));
        assert!(e.contains(why), "{bad}: {e}");
    }
    assert_eq!(
        b.ok("ps -a -q").lines().count(),
        2,
        "a refused run left nothing"
    );
}

/// `--domainname`, and `--network name=...` with a driver option naming
/// the interface: the flat `--ip` goes to the first network.
#[test]
fn domainname_and_per_network_options() {
    let b = B::new("flags-netopt");
    b.ok("network create --subnet 192.0.2.0/25 front");
    b.ok("network create --subnet 203.0.113.128/25 back");
    b.sleeper(
        "web",
        "--domainname example.test --ip 192.0.2.50 --network front --network name=back,alias=db,ip=203.0.113.140,driver-opt=com.docker.network.endpoint.ifname=lan0",
    );
    assert_eq!(
        b.ok("exec web cat /proc/sys/kernel/domainname").trim(),
        "example.test"
    );
    let hosts = b.ok("exec web cat /etc/hosts");
    assert!(
        hosts.contains(".example.test "),
        "IP host.domain host: {hosts}"
    );
    assert_eq!(b.ip("web", "front"), "192.0.2.50");
    assert_eq!(b.ip("web", "back"), "203.0.113.140");
    let back = b.ok("inspect -f '{{json .NetworkSettings.Networks.back.DriverOpts}}' web");
    assert_eq!(
        back.trim(),
        r#"{"com.docker.network.endpoint.ifname":"lan0"}"#
    );
    let links = b.ok("exec web ip -j -4 addr show dev lan0");
    assert!(links.contains("203.0.113.140"), "{links}");
    b.sleeper("client", "--network back");
    assert!(b.exec_ok("client", "busybox ping -c1 -W2 db"));
    // network connect --driver-opt names the new interface; a bad option
    // is refused with its name.
    b.ok("network create --subnet 192.0.2.128/25 side");
    b.ok("network connect --driver-opt com.docker.network.endpoint.ifname=side0 side web");
    let side = b.ok("exec web ip -j -4 addr show dev side0");
    assert!(side.contains("192.0.2.130"), "{side}");
    let e = b.fails("network connect --driver-opt com.example.x=1 front client");
    assert!(e.contains("com.example.x"), "{e}");
    let e = b.fails("run --rm --ip 192.0.2.60 --network name=front,ip=192.0.2.61 busybox true");
    assert!(e.contains("both --ip and per-network ip"), "{e}");
    let e = b.fails("run --rm --network front --network host busybox true");
    assert!(e.contains("non-user-defined"), "{e}");
}

/// `--network container:NAME`: the second container shares the first's
/// interfaces and loopback; Docker's refusals; stopping the first leaves
/// the second running in the namespace (as Docker does).
#[test]
fn container_network_mode_shares_the_namespace() {
    let b = B::new("flags-container-mode");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let dir = www(&b, "www", "shared", &[]);
    let web = b.ok(&format!(
        "run -d --name web --network appnet -p 8081:80 {}",
        httpd(&dir, 80)
    ));
    b.sleeper("side", "--network container:web");
    let ip = b.ip("web", "appnet");
    let addrs = b.ok("exec side ip -j -4 addr");
    assert!(addrs.contains(&ip), "{addrs}");
    assert_eq!(
        b.ok("exec side busybox wget -q -O - http://127.0.0.1:80/")
            .trim(),
        "shared"
    );
    let mode = b.ok("inspect -f '{{.HostConfig.NetworkMode}}' side");
    assert_eq!(mode.trim(), format!("container:{}", web.trim()));
    for (args, why) in [
        ("--network container:nosuch", "no such container: nosuch"),
        ("--network container:web -p 8082:80", "port publishing"),
        ("--network container:web --hostname h", "hostname"),
        (
            "--network container:web --network appnet",
            "non-user-defined",
        ),
    ] {
        let e = b.fails(&format!("run --rm {args} busybox true"));
        assert!(e.contains(why), "{args}: {e}");
    }
    b.ok("run --name done busybox true");
    let e = b.fails("run --rm --network container:done busybox true");
    assert!(e.contains("non-running container: done"), "{e}");
    // The first stops: the second keeps running in the namespace.
    b.ok("stop -t 1 web");
    assert!(b.exec_ok("side", "true"));
    let state = b.ok("inspect -f '{{.State.Status}}' side");
    assert_eq!(state.trim(), "running");
    b.ok("rm -f side");
    b.ok("rm web done");
}

/// `gateway_mode_ipv6=routed` on a dual-stack network: IPv6 is routed
/// (published port at the container's address, others dropped) while IPv4
/// keeps NAT (its direct route is dropped).
#[test]
fn routed_ipv6_next_to_nat_ipv4() {
    let b = B::new("flags-routed6");
    b.ok("network create --ipv6 --subnet 192.0.2.0/24 --subnet 2001:db8:2::/64 -o com.docker.network.bridge.gateway_mode_ipv6=routed ds");
    let dir = www(&b, "www", "routed6", &[]);
    let serve = format!(
        "-v {dir}:{dir}:ro busybox sh -c 'busybox httpd -p 81 -h {dir}; exec busybox httpd -f -p 80 -h {dir}'"
    );
    b.ok(&format!(
        "run -d --name web --network ds -p 8080:80 {serve}"
    ));
    b.lab.in_ns_ok(
        "outside",
        &format!(
            "ip route add 192.0.2.0/24 via {LAB} && ip -6 route add 2001:db8:2::/64 via {LAB6}"
        ),
    );
    let v6 = b
        .ok("inspect -f '{{.NetworkSettings.Networks.ds.GlobalIPv6Address}}' web")
        .trim()
        .to_string();
    let v4 = b.ip("web", "ds");
    let url6 = format!("http://[{v6}]/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &url6).as_deref(),
        Ok("routed6")
    );
    let closed = curl_in(&b, Some("outside"), &format!("http://[{v6}]:81/"), 1);
    assert_eq!(closed, Err(TIMED_OUT));
    let direct4 = curl_in(&b, Some("outside"), &format!("http://{v4}/"), 1);
    assert_eq!(direct4, Err(TIMED_OUT));
}
