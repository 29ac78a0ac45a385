use super::*;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn ipam(subnet: &str) -> Vec<IpamConfig> {
    let net: ipnet::IpNet = subnet.parse().expect("subnet");
    let v = serde_json::json!({
        "subnet": subnet, "gateway": crate::ipam::first_host(&net), "ip_range": null, "aux": {}
    });
    vec![serde_json::from_value(v).expect("ipam")]
}

fn req(opts: &[&str]) -> NetworkCreate {
    NetworkCreate {
        name: "ov".into(),
        driver: "overlay".into(),
        options: opts.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn mtu_leaves_room_for_vxlan() {
    let n = plan_network(&req(&[]), ID, 4097, ipam("198.18.0.0/24"), 1500).expect("plan");
    assert_eq!(n.mtu, 1450);
    assert_eq!(vni(&n), Some(4097));
    assert_eq!(n.bridge.as_deref(), Some("bo-0123456789ab"));
    let e = plan_network(
        &req(&["com.docker.network.driver.mtu=1500"]),
        ID,
        4097,
        ipam("198.18.0.0/24"),
        1500,
    )
    .expect_err("too large");
    assert!(e.to_string().contains("1450"), "{e}");
    // IPv6 alone is refused: the IPv6 addresses follow the IPv4 ones.
    let mut v6 = req(&[]);
    v6.ipv6 = true;
    let e = plan_network(&v6, ID, 4097, ipam("fd00:b::/64"), 1500).expect_err("no IPv4");
    assert!(e.to_string().contains("IPv4 subnet too"), "{e}");
}

#[test]
fn dual_stack_derives_ipv6_from_ipv4() {
    let mut v6 = req(&[]);
    v6.ipv6 = true;
    let both = [ipam("198.18.0.0/24"), ipam("fd00:b::/64")].concat();
    let n = plan_network(&v6, ID, 4097, both, 1500).expect("dual stack");
    assert!(n.ipv6);
    let ip = |s: &str| s.parse().expect("ip");
    let ip6 = |s: &str| s.parse::<Ipv6Addr>().ok();
    assert_eq!(ipv6_for(&n, ip("198.18.0.7")), ip6("fd00:b::7"));
    assert_eq!(ipv6_for(&n, ip("198.18.0.255")), ip6("fd00:b::ff"));
    // Too small for the IPv4 host parts, or a gateway that is not the
    // IPv4 one's counterpart: refused, naming what to give.
    let small = [ipam("198.18.0.0/16"), ipam("fd00:b::/120")].concat();
    let e = plan_network(&v6, ID, 4097, small, 1500).expect_err("too small");
    assert!(e.to_string().contains("at most /112"), "{e}");
    let mut gw = [ipam("198.18.0.0/24"), ipam("fd00:b::/64")].concat();
    gw[1].gateway = "fd00:b::fe".parse().expect("ip");
    let e = plan_network(&v6, ID, 4097, gw, 1500).expect_err("gateway");
    assert!(e.to_string().contains("fd00:b::1"), "{e}");
    let v4only = plan_network(&req(&[]), ID, 4097, ipam("198.18.0.0/24"), 1500).expect("v4");
    assert_eq!(ipv6_for(&v4only, ip("198.18.0.7")), None);
}

#[test]
fn an_address_that_goes_keeps_the_shared_forwarding_entry() {
    let r = |ip: &str| Remote {
        ip: ip.parse().expect("ip"),
        mac: "02:42:c6:12:00:07".into(),
        vtep: "192.0.2.12".parse().expect("ip"),
    };
    let have: BTreeSet<Remote> = [r("198.18.0.7"), r("fd00:b::7")].into();
    let want: BTreeSet<Remote> = [r("198.18.0.7")].into();
    let steps = remote_steps("vx-0", &want, &have);
    let adds: Vec<bool> = steps
        .iter()
        .map(|s| matches!(s, Step::Driver(DriverStep::Remote { add: true, .. })))
        .collect();
    // The IPv6 entry is deleted, then the IPv4 one (same MAC) added again.
    assert_eq!(adds, vec![false, true], "{steps:?}");
    assert!(remote_steps("vx-0", &have, &have).is_empty());
}

#[test]
fn vxlan_step_needs_the_local_endpoint_and_follows_the_guard() {
    let mut n = plan_network(&req(&[]), ID, 4100, ipam("198.18.0.0/24"), 9000).expect("plan");
    assert!(network_steps(&n).is_empty());
    n.options.insert(LOCAL_VTEP.into(), "192.0.2.11".into());
    n.options.insert(LOCAL_UNDERLAY.into(), "eth0".into());
    assert_eq!(
        network_steps(&n),
        vec![
            Step::Elements {
                remove: Vec::new(),
                add: vec![crate::firewall::vni_element(4100)],
            },
            Step::Driver(DriverStep::CreateVxlan {
                name: "vx-0123456789ab".into(),
                vni: 4100,
                local: "192.0.2.11".parse().expect("ip"),
                underlay: "eth0".into(),
                mtu: 8950,
                bridge: "bo-0123456789ab".into(),
            })
        ]
    );
}

#[test]
fn remote_entries_are_a_difference() {
    let r = |ip: &str, vtep: &str| Remote {
        ip: ip.parse().expect("ip"),
        mac: format!("02:42:00:00:00:0{}", ip.rsplit('.').next().unwrap_or("1")),
        vtep: vtep.parse().expect("vtep"),
    };
    let have: BTreeSet<Remote> =
        [r("198.18.0.2", "192.0.2.11"), r("198.18.0.3", "192.0.2.12")].into();
    let want: BTreeSet<Remote> =
        [r("198.18.0.3", "192.0.2.12"), r("198.18.0.4", "192.0.2.13")].into();
    let steps = remote_steps("vx", &want, &have);
    assert_eq!(steps.len(), 2);
    assert!(
        matches!(&steps[0], Step::Driver(DriverStep::Remote { add: false, ip, .. }) if ip.to_string() == "198.18.0.2")
    );
    assert!(
        matches!(&steps[1], Step::Driver(DriverStep::Remote { add: true, ip, .. }) if ip.to_string() == "198.18.0.4")
    );
    assert!(remote_steps("vx", &want, &want).is_empty());
    assert_eq!(free_vni(&[4097, 4098].into()), 4099);
}
