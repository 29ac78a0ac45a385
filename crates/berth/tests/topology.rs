//! `berth topology` in a lab: the live picture matches what `ip` shows
//! (the `ifindex@peer` pairing the article reads by hand, addresses,
//! bridges, ports, the uplink and NAT), in every format, and objects that
//! only the kernel or only the store has are flagged.

mod common;
use common::B;

/// `ip -o link` index of `name` (in the lab, or in container `ctr`).
fn index(b: &B, ctr: Option<&str>, name: &str) -> u32 {
    let out = match ctr {
        Some(c) => b.sh(&format!("ip netns exec {c} ip -o link show {name}")),
        None => b.sh(&format!("ip -o link show {name}")),
    };
    out.split(':').next().unwrap().trim().parse().unwrap()
}

/// The host end of container `ctr`'s eth0, found as the article does:
/// `eth0@ifN` inside, then link N outside.
fn host_veth(b: &B, ctr: &str) -> String {
    let inside = b.sh(&format!("ip netns exec {ctr} ip -o link show eth0"));
    let peer = inside
        .split("eth0@if")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .unwrap();
    let links = b.sh("ip -o link");
    let l = links
        .lines()
        .find(|l| l.starts_with(&format!("{peer}: ")))
        .unwrap();
    l.split(':')
        .nth(1)
        .unwrap()
        .trim()
        .split('@')
        .next()
        .unwrap()
        .to_string()
}

fn bridge_of(b: &B, net: &str) -> String {
    b.ok(&format!(
        "network inspect -f '{{{{index .Options \"com.docker.network.bridge.name\"}}}}' {net}"
    ))
    .trim()
    .to_string()
}

#[test]
fn topology_shows_what_the_kernel_has() {
    let b = B::new("topo-live");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    b.ok("run -d --name web --network appnet --network-alias www -p 8080:80 busybox httpd -f -p 80 -h /etc");
    b.sleeper("d", "");
    let text = b.ok("topology");
    let bridge = bridge_of(&b, "appnet");
    let veth = host_veth(&b, "web");
    let (host_idx, ctr_idx) = (index(&b, None, &veth), index(&b, Some("web"), "eth0"));
    for want in [
        "host  uplink uplink@".to_string(),
        "198.51.100.2/24 2001:db8:1::2/64 via 198.51.100.1".into(),
        "network appnet  [".to_string(),
        format!("bridge {bridge} "),
        "gateway 192.0.2.1/24  NAT: masquerade out of uplink".into(),
        "web  (running, pid ".into(),
        "ip netns web)".into(),
        format!("veth {veth}@if{ctr_idx}  <══>  eth0@if{host_idx}  192.0.2.2/24"),
        "dns web, www".into(),
        "port 0.0.0.0:8080->80/tcp  forwarded".into(),
        "network bridge  [".into(),
        "bridge berth0 ".into(),
        "d  (running".into(),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }
    assert!(!text.contains("problems"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&b.ok("topology --format json")).unwrap();
    assert_eq!(json["problems"].as_array().unwrap().len(), 0);
    let web = &json["containers"][0];
    assert_eq!(web["links"][0]["inside"]["peer"], host_idx);
    assert_eq!(web["links"][0]["outside"]["index"], host_idx);
    // Only appnet and its container.
    let only = b.ok("topology appnet");
    assert!(
        only.contains("web") && !only.contains("network bridge"),
        "{only}"
    );
    assert!(b.berth("topology nosuchnet").status.code() == Some(1));
    let dot = b.ok("topology --format dot");
    assert!(
        dot.starts_with("graph berth {") && dot.contains("\"ctr_web\" -- \"net_appnet\""),
        "{dot}"
    );
    let have = b.try_sh("command -v dot");
    if berth_lab::tool_available(have, "graphviz's dot is not installed") {
        std::fs::write(b.lab.root().join("topology.dot"), &dot).unwrap();
        b.sh("dot -Tsvg $BERTH_ROOT/topology.dot > /dev/null");
    }
    let svg = b.ok("topology --format svg");
    assert!(
        svg.contains("<svg") && svg.contains("web") && svg.contains(&bridge),
        "{svg}"
    );
}

#[test]
fn objects_only_one_side_has_are_flagged() {
    let b = B::new("topo-problems");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let bridge = bridge_of(&b, "appnet");
    b.ok("run -d --name web --network appnet -p 8080:80 busybox httpd -f -p 80 -h /etc");
    b.sleeper("gone", "--network appnet");
    b.sleeper("lost", "");
    let ip = b.ip("web", "appnet");
    // Kernel only: a leaked veth on berth's bridge, a berth-like bridge,
    // a pin without a container.
    b.sh(&format!(
        "ip link add vethleak0 type veth peer name vethleak1 && ip link set vethleak0 master {bridge} up"
    ));
    // A bridge berth made (its name and berth's MAC for that name) that no
    // network has, and one of Docker's (same naming, random MAC): only the
    // first is berth's leftover.
    let mac =
        berth_core::observe::format_mac(&berth_core::kernel::msg::bridge_mac("br-0123456789ab"));
    b.sh(&format!(
        "ip link add br-0123456789ab address {mac} type bridge && ip link add br-0123456789ac type bridge"
    ));
    b.sh("touch $BERTH_ROOT/run/netns/feedfacefeedface");
    // Store only: a deleted port element, a deleted veth, an unpinned
    // namespace.
    b.sh(&format!(
        "nft delete element inet berth ports4 '{{ 0.0.0.0/0 . tcp . 8080 }}' && test -n '{ip}'"
    ));
    let gone = host_veth(&b, "gone");
    b.sh(&format!("ip link del {gone}"));
    let lost = b.ok("inspect -f '{{.Id}}' lost").trim().to_string();
    b.sh(&format!("umount $BERTH_ROOT/run/netns/{lost}"));
    let json: serde_json::Value = serde_json::from_str(&b.ok("topology --format json")).unwrap();
    let kinds: Vec<(String, String)> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |k: &str, s: &str| kinds.iter().any(|(a, b)| a == k && b.contains(s));
    assert!(has("leaked-veth", "vethleak0"), "{kinds:?}");
    assert!(has("orphan-bridge", "br-0123456789ab"), "{kinds:?}");
    assert!(!has("orphan-bridge", "br-0123456789ac"), "{kinds:?}");
    assert!(has("orphan-netns", "feedfacefeedface"), "{kinds:?}");
    assert!(
        has("missing-port", "web 0.0.0.0/0 . tcp . 8080"),
        "{kinds:?}"
    );
    assert!(has("missing-veth", &gone), "{kinds:?}");
    assert!(has("missing-veth", "gone:eth0"), "{kinds:?}");
    assert!(has("missing-netns", "lost"), "{kinds:?}");
    let text = b.ok("topology");
    for want in [
        "! vethleak0  (leaked: no container)",
        "! bridge br-0123456789ab  (no berth network)",
        "port 0.0.0.0:8080->80/tcp  ! MISSING in nftables",
        &format!("! {gone} ?"),
        "! leaked-veth",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    let dot = b.ok("topology --format dot");
    assert!(
        dot.contains("\"leak_vethleak0\" -- \"net_appnet\""),
        "{dot}"
    );
}

#[test]
fn a_macvlan_container_has_no_veth_and_no_problem() {
    let b = B::new("topo-macvlan");
    b.ok("network create -d macvlan --subnet 198.51.100.0/24 --gateway 198.51.100.1 --ip-range 198.51.100.64/27 -o parent=uplink lan");
    b.sleeper("edge", "--network lan");
    let text = b.ok("topology");
    for want in [
        "network lan  [",
        "macvlan on uplink",
        "no NAT: on the parent's LAN",
        "edge  (running",
        "link eth0 (on the parent, no veth)  198.51.100.64/24",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    assert!(!text.contains("problems"), "{text}");
    let dot = b.ok("topology --format dot");
    assert!(
        dot.contains("\"net_lan\" -- \"host\" [label=\"parent uplink\"]"),
        "{dot}"
    );
}
