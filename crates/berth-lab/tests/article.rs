//! The article berth started from, reproduced by hand with plain `ip` and
//! `iptables` inside a bare lab: documentation of the model that berth
//! automates, checked with real pings and with `ip -j` output.
//!
//! Addresses: the article used 172.0.0.0/24, which is public address space;
//! here it is 192.0.2.0/24 (TEST-NET-1). Each test gets its own bare lab, so
//! `ip netns add` writes to the lab's private `/run`, never the host's.

use berth_lab::Lab;
use serde_json::Value;

/// Runs a script in the lab and parses its JSON output.
fn json(lab: &Lab, script: &str) -> Value {
    let out = lab.sh_ok(script);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{script}: {e}: {out}"))
}

/// Names of the links `ip -j link` shows in `netns` (`None`: the lab itself).
fn links(lab: &Lab, netns: Option<&str>) -> Vec<String> {
    let script = match netns {
        Some(ns) => format!("ip -n {ns} -j link"),
        None => "ip -j link".to_string(),
    };
    json(lab, &script)
        .as_array()
        .expect("array of links")
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(String::from))
        .collect()
}

/// IPv4 addresses of `dev` in `netns`.
fn addrs(lab: &Lab, netns: &str, dev: &str) -> Vec<String> {
    json(lab, &format!("ip -n {netns} -j -4 addr show dev {dev}"))[0]["addr_info"]
        .as_array()
        .expect("addr_info")
        .iter()
        .filter_map(|a| Some(format!("{}/{}", a["local"].as_str()?, a["prefixlen"])))
        .collect()
}

/// Whether one ping from `netns` to `addr` gets an answer within a second.
fn pings(lab: &Lab, netns: &str, addr: &str) -> bool {
    let script = format!("ip netns exec {netns} busybox ping -c1 -W1 {addr}");
    lab.sh(&script).status.success()
}

/// Part one: two namespaces joined by a veth pair, like two machines joined
/// by a crossover cable.
#[test]
fn a_two_namespaces_and_a_veth_pair() {
    let lab = Lab::bare("article-a").expect("bare lab");
    // Two network namespaces: each has its own links, addresses, routes and
    // firewall, and starts with nothing but a down `lo`.
    lab.sh_ok("ip netns add ns0 && ip netns add ns1");
    // A veth pair is a virtual cable: what goes in one end comes out of the other.
    lab.sh_ok("ip link add vth0 type veth peer name vth1");
    assert!(links(&lab, None).contains(&"vth0".to_string()));
    // Move one end into each namespace. (The article's `ip link set vth1
    // netns ns2` is a typo for ns1.) They vanish from the lab's own list.
    lab.sh_ok("ip link set vth0 netns ns0 && ip link set vth1 netns ns1");
    assert_eq!(links(&lab, None), ["lo"]);
    assert_eq!(links(&lab, Some("ns0")), ["lo", "vth0"]);
    assert_eq!(links(&lab, Some("ns1")), ["lo", "vth1"]);
    // Address both ends in one /24 and bring them up: the kernel adds the
    // connected route 192.0.2.0/24 on each side.
    lab.sh_ok(
        "ip -n ns0 addr add 192.0.2.1/24 dev vth0
         ip -n ns1 addr add 192.0.2.2/24 dev vth1
         ip -n ns0 link set vth0 up
         ip -n ns1 link set vth1 up",
    );
    assert_eq!(addrs(&lab, "ns0", "vth0"), ["192.0.2.1/24"]);
    let route = json(&lab, "ip -n ns0 -j route show 192.0.2.0/24");
    assert_eq!(route[0]["dev"], "vth0");
    // ns0 reaches ns1 over the cable, and the other way round.
    assert!(pings(&lab, "ns0", "192.0.2.2"), "ns0 -> ns1");
    assert!(pings(&lab, "ns1", "192.0.2.1"), "ns1 -> ns0");
}

/// Part two: three namespaces on a bridge (a virtual switch), which is what
/// Docker's default network is, and why it stops working once Docker's
/// firewall is on the host.
#[test]
fn b_three_namespaces_on_a_bridge() {
    let lab = Lab::bare("article-b").expect("bare lab");
    // The switch: a bridge in the lab ("the host"), up, with no address.
    lab.sh_ok("ip link add br0 type bridge && ip link set br0 up");
    for i in 0..3 {
        // One namespace per "container", a veth per namespace: one end
        // (vethN) goes into the namespace and is renamed eth0 there, the
        // other (br-vethN) is plugged into the bridge.
        lab.sh_ok(&format!(
            "ip netns add ns{i}
             ip link add veth{i} type veth peer name br-veth{i}
             ip link set veth{i} netns ns{i}
             ip -n ns{i} link set veth{i} name eth0
             ip -n ns{i} addr add 192.0.2.{}/24 dev eth0
             ip -n ns{i} link set eth0 up
             ip link set br-veth{i} master br0 up",
            i + 1
        ));
    }
    // The lab keeps the bridge and the three bridge ports; each namespace
    // has its eth0, with its address.
    let bridged = json(&lab, "ip -j link show master br0");
    let ports: Vec<&str> = bridged
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|l| l["ifname"].as_str())
        .collect();
    assert_eq!(ports, ["br-veth0", "br-veth1", "br-veth2"]);
    assert_eq!(links(&lab, Some("ns0")), ["lo", "eth0"]);
    assert_eq!(addrs(&lab, "ns0", "eth0"), ["192.0.2.1/24"]);
    // With an empty firewall the switch just works.
    assert!(pings(&lab, "ns0", "192.0.2.2"), "plain bridge: ns0 -> ns1");

    // Now the host gets Docker's firewall: FORWARD policy DROP. With
    // br_netfilter, bridge-nf-call-iptables=1 sends frames crossing a bridge
    // through iptables' FORWARD chain too, so the bridge stops forwarding.
    lab.docker_like_firewall().expect("Docker-like firewall");
    let sysctl = lab.sh_ok("cat /proc/sys/net/bridge/bridge-nf-call-iptables");
    assert_eq!(sysctl.trim(), "1");
    assert!(
        !pings(&lab, "ns0", "192.0.2.2"),
        "FORWARD DROP must block ns0 -> ns1"
    );
    let chain = lab.sh_ok("iptables -L FORWARD -v -n -x | head -n1");
    assert!(!chain.contains("policy DROP 0 packets"), "{chain}");

    // The article's fix: accept what comes in from br0.
    lab.sh_ok("iptables -A FORWARD -i br0 -j ACCEPT");
    assert!(pings(&lab, "ns0", "192.0.2.2"), "ns0 -> ns1");
    assert!(pings(&lab, "ns0", "192.0.2.3"), "ns0 -> ns2");
    assert!(pings(&lab, "ns2", "192.0.2.2"), "ns2 -> ns1");
}
