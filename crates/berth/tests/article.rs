//! The experiments of the article berth started from (../shared/seed), done
//! with berth instead of Docker, each in its own lab. The plain-`ip` half of
//! the article (veth pairs and a bridge by hand) is in berth-lab's tests.

mod common;
use common::B;

/// "Three namespaces on a bridge ping each other": three containers on a
/// user-defined bridge network.
#[test]
fn three_containers_on_a_bridge_ping_each_other() {
    let b = B::new("art-bridge");
    let id = b.ok("network create --subnet 192.0.2.0/24 br0net");
    let mac = format!("cat /sys/class/net/br-{}/address", &id[..12]);
    let gateway_mac = b.sh(&mac);
    for n in ["ns0", "ns1", "ns2"] {
        b.sleeper(n, "--network br0net");
    }
    // The bridge (the containers' gateway) keeps its MAC as ports join: a
    // bridge left to pick the lowest port MAC would change it and break the
    // containers' ARP entries for the gateway.
    assert_eq!(b.sh(&mac), gateway_mac);
    let ips: Vec<String> = ["ns0", "ns1", "ns2"]
        .iter()
        .map(|n| b.ip(n, "br0net"))
        .collect();
    assert_eq!(ips, ["192.0.2.2", "192.0.2.3", "192.0.2.4"]);
    for from in ["ns0", "ns1", "ns2"] {
        for ip in &ips {
            assert!(
                b.exec_ok(from, &format!("busybox ping -c1 -W2 {ip}")),
                "{from} -> {ip}"
            );
        }
    }
    // Each container's eth0 is one end of a veth whose other end is a port of
    // the network's bridge: the `ifindex@peer` pairing the article reads by hand.
    let bridge = format!("br-{}", &b.ok("network inspect -f '{{.Id}}' br0net")[..12]);
    let ports = b.sh(&format!("ip -j link show master {bridge}"));
    let ports: serde_json::Value = serde_json::from_str(&ports).unwrap();
    assert_eq!(ports.as_array().unwrap().len(), 3);
}

/// `docker run -d -p 8081:80 nginx`, then `curl localhost:8081` and a
/// request from another host.
#[test]
fn published_web_server_answers_localhost_and_outside() {
    let b = B::new("art-web");
    b.ok("run -d --name web -p 8081:80 busybox sh -c 'mkdir -p /tmp/www && echo hello-berth > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www'");
    assert!(b.eventually("curl -sf -m2 http://localhost:8081/ | grep -q hello-berth"));
    assert!(b.eventually("curl -sf -m2 http://198.51.100.2:8081/ | grep -q hello-berth"));
    let out = b
        .lab
        .in_ns_ok("outside", "curl -sf -m2 http://198.51.100.2:8081/");
    assert_eq!(out.trim(), "hello-berth");
    let inspect =
        b.ok("inspect -f '{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}' web");
    assert_eq!(inspect.trim(), "8081");
}

/// Two containers on the default bridge ping each other and the outside,
/// and `network inspect bridge` lists them with their addresses.
#[test]
fn default_bridge_containers_reach_each_other_and_outside() {
    let b = B::new("art-default");
    b.sleeper("a1", "");
    b.sleeper("a2", "");
    let a2 = b.ip("a2", "bridge");
    assert!(b.exec_ok("a1", &format!("busybox ping -c1 -W2 {a2}")));
    assert!(
        b.exec_ok("a1", "busybox ping -c1 -W2 203.0.113.1"),
        "a1 reaches the internet through masquerade"
    );
    let listed =
        b.ok("network inspect bridge -f '{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}'");
    let a1 = b.ip("a1", "bridge");
    assert!(
        listed.contains(&format!("a1={a1}/16")) && listed.contains(&format!("a2={a2}/16")),
        "{listed}"
    );
    // Its interfaces are where the article looks for them.
    let addr = b.ok("exec a1 ip -o -4 addr show eth0");
    assert!(addr.contains(&a1), "{addr}");
}
