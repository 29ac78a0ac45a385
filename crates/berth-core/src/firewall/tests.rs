use super::*;
use crate::model::network::GwMode;
use crate::model::Proto;

fn sample() -> (Vec<NetworkRules>, Vec<PortRule>) {
    let nets = vec![
        NetworkRules {
            bridge: "berth0".into(),
            internal: false,
            icc: true,
            masquerade: true,
            unisolated: false,
            dns_gateways: vec![],
            gw_modes: [GwMode::Nat; 2],
        },
        NetworkRules {
            bridge: "br-0123456789ab".into(),
            internal: true,
            icc: false,
            masquerade: true,
            unisolated: true,
            dns_gateways: vec!["172.18.0.1".parse().unwrap(), "fd00::1".parse().unwrap()],
            gw_modes: [GwMode::Nat; 2],
        },
        // A Podman network without `isolate`.
        NetworkRules {
            bridge: "podman1".into(),
            internal: false,
            icc: true,
            masquerade: true,
            unisolated: true,
            dns_gateways: vec![],
            gw_modes: [GwMode::Nat; 2],
        },
    ];
    let ports = vec![
        PortRule {
            host_ip: None,
            proto: Proto::Tcp,
            host_ports: (8081, 8081),
            target: PortTarget {
                addr: "172.17.0.2".parse().unwrap(),
                port: 80,
            },
        },
        PortRule {
            host_ip: Some("127.0.0.1".parse().unwrap()),
            proto: Proto::Udp,
            host_ports: (5353, 5353),
            target: PortTarget {
                addr: "172.17.0.3".parse().unwrap(),
                port: 53,
            },
        },
        PortRule {
            host_ip: None,
            proto: Proto::Tcp,
            host_ports: (8000, 8010),
            target: PortTarget {
                addr: "172.17.0.4".parse().unwrap(),
                port: 8000,
            },
        },
        PortRule {
            host_ip: None,
            proto: Proto::Tcp,
            host_ports: (8081, 8081),
            target: PortTarget {
                addr: "fd00::2".parse().unwrap(),
                port: 80,
            },
        },
    ];
    (nets, ports)
}

/// Compares `text` with the golden file `name` (`BERTH_BLESS=1` rewrites it;
/// see `berth_lab::golden`).
pub(crate) fn golden(name: &str, text: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    berth_lab::golden(&path, text);
}

/// Two containers' veths (one on an IPv6 network) and the routing guard
/// of both families.
fn guards() -> (Vec<PortGuard>, Vec<RoutingGuard>) {
    let ports = vec![
        PortGuard {
            veth: "veth1234567".into(),
            mac: [0x02, 0x42, 0xac, 0x11, 0x00, 0x02],
            ipv4: Some("172.17.0.2".parse().unwrap()),
            ipv6: None,
        },
        PortGuard {
            veth: "veth89abcde".into(),
            mac: [0x02, 0x42, 0xac, 0x12, 0x00, 0x02],
            ipv4: Some("172.18.0.2".parse().unwrap()),
            ipv6: Some("fd00::2".parse().unwrap()),
        },
    ];
    let routing = vec![RoutingGuard { ipv6: false }, RoutingGuard { ipv6: true }];
    (ports, routing)
}

#[test]
fn full_ruleset_golden() {
    let (nets, ports) = sample();
    let mut b = full_ruleset(&nets, &ports);
    let (port_guards, routing) = guards();
    port_guards.iter().for_each(|g| b.extend(g.add()));
    routing.iter().for_each(|g| b.extend(g.add()));
    golden("ruleset.nft", &b.text());
}

#[test]
fn elements_golden() {
    let (nets, ports) = sample();
    let mut b = Batch::new();
    for n in &nets {
        b.extend(n.remove());
    }
    for p in &ports {
        b.extend(p.remove());
    }
    let (port_guards, routing) = guards();
    port_guards.iter().for_each(|g| b.extend(g.remove()));
    routing.iter().for_each(|g| b.extend(g.remove()));
    golden("remove-elements.nft", &b.text());
}

#[test]
fn the_port_group_is_the_one_the_skeleton_checks() {
    let text = skeleton().text();
    assert!(
        text.contains(&format!(
            "meta iifgroup {PORT_GROUP:#x} jump from_container"
        )),
        "{text}"
    );
}

#[test]
fn port_guard_allows_the_eui64_link_local() {
    let mac = [0x02, 0x42, 0xac, 0x12, 0x00, 0x02];
    assert_eq!(link_local(mac).to_string(), "fe80::42:acff:fe12:2");
    let (port_guards, _) = guards();
    let v4_only = port_guards[0].add().text();
    assert_eq!(v4_only.lines().count(), 2, "MAC and IPv4: {v4_only}");
    let dual = port_guards[1].add().text();
    for want in [
        "port_mac { \"veth89abcde\" . 02:42:ac:12:00:02 }",
        "port_ip6 { \"veth89abcde\" . 02:42:ac:12:00:02 . fd00::2 }",
        "port_ip6 { \"veth89abcde\" . 02:42:ac:12:00:02 . fe80::42:acff:fe12:2 }",
        "port_nd { \"veth89abcde\" . 02:42:ac:12:00:02 . 0xfe800000000000000042acfffe120002 }",
    ] {
        assert!(dual.contains(want), "{want} missing from {dual}");
    }
    assert_eq!(
        RoutingGuard::for_sysctl("net.ipv4.ip_forward"),
        Some(RoutingGuard { ipv6: false })
    );
    assert_eq!(
        RoutingGuard::for_sysctl("net.ipv4.conf.all.rp_filter"),
        None
    );
}

#[test]
fn skeleton_has_no_per_object_rules() {
    // The skeleton is the same text whatever the store holds.
    let (nets, ports) = sample();
    let with = full_ruleset(&nets, &ports).text();
    let without = full_ruleset(&[], &[]).text();
    let rules = |t: &str| t.lines().filter(|l| !l.starts_with("add element")).count();
    assert_eq!(rules(&with), rules(&without));
}

#[test]
fn unspecified_host_address_is_its_whole_family() {
    for (host, key) in [
        ("0.0.0.0", "0.0.0.0/0 . tcp . 8080"),
        ("::", "::/0 . tcp . 8080"),
    ] {
        let target = if host == "::" {
            "fd00::2"
        } else {
            "172.17.0.2"
        };
        let rule = PortRule {
            host_ip: Some(host.parse().unwrap()),
            proto: Proto::Tcp,
            host_ports: (8080, 8080),
            target: PortTarget {
                addr: target.parse().unwrap(),
                port: 80,
            },
        };
        assert!(rule.add().text().contains(key), "{}", rule.add().text());
    }
}

#[test]
fn a_network_adds_no_interval_element() {
    // An interval set's every change costs time growing with its elements
    // (Linux 6.18 rebuilds its lookup array on commit): a network's
    // elements are all in hash sets.
    let (nets, _) = sample();
    for e in nets.iter().flat_map(NetworkRules::elements) {
        assert!(
            !e.key.iter().any(|f| matches!(f, Field::Prefix(_))),
            "{e:?}"
        );
    }
    let text = skeleton().text();
    assert!(!text.contains("subnets"), "{text}");
}

#[test]
fn elements_of_retired_sets_are_dropped_from_recorded_plans() {
    // A plan an earlier version recorded, with its network's subnet in
    // `subnets4`: read back, it keeps only what the skeleton still has.
    let bridge = Element::new(Set::Bridges, vec![Field::Ifname("br-x".into())]);
    let subnet = Element::new(
        Set::Subnets4,
        vec![Field::Prefix("10.88.0.0/24".parse().unwrap())],
    );
    let old = crate::plan::Step::Elements {
        remove: vec![subnet.clone()],
        add: vec![bridge.clone(), subnet],
    };
    let text = serde_json::to_string(&old).unwrap();
    assert!(text.contains("\"subnets4\""), "{text}");
    let read: crate::plan::Step = serde_json::from_str(&text).unwrap();
    assert_eq!(
        read,
        crate::plan::Step::Elements {
            remove: vec![],
            add: vec![bridge],
        }
    );
}
