use super::*;
use crate::model::NetworkCreate;

fn facts(links: &[&str]) -> HostFacts {
    HostFacts {
        links: links.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn ipam(subnet: &str, range: Option<&str>) -> Vec<IpamConfig> {
    let net: IpNet = subnet.parse().expect("subnet");
    let v = serde_json::json!({
        "subnet": subnet, "gateway": crate::ipam::first_host(&net), "ip_range": range, "aux": {}
    });
    vec![serde_json::from_value(v).expect("ipam")]
}

fn req(opts: &[&str]) -> NetworkCreate {
    NetworkCreate {
        name: "lan".into(),
        driver: "macvlan".into(),
        options: opts.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn macvlan_on_an_existing_parent() {
    let n = plan_network(
        &req(&["parent=eth0"]),
        Driver::Macvlan,
        ID,
        ipam("198.51.100.0/24", None),
        &[],
        &facts(&["lo", "eth0"]),
        LinkKinds::default(),
    )
    .expect("plan");
    assert_eq!(n.bridge, None);
    assert_eq!(
        n.options.get(opts::MACVLAN_MODE).map(String::as_str),
        Some("bridge")
    );
    assert!(
        network_steps(&n).is_empty(),
        "nothing to create on the host"
    );
    let e = Endpoint {
        id: "e".into(),
        container_id: "c".into(),
        network_id: ID.into(),
        ifname: "eth0".into(),
        ipv4: Some("198.51.100.2/24".parse().expect("ip")),
        ipv6: None,
        mac: "02:42:c6:33:64:02".into(),
        host_veth: "veth0".into(),
        aliases: vec![],
        position: 0,
        gw_priority: 0,
    };
    let gw: IpAddr = "198.51.100.1".parse().expect("gw");
    let Step::Driver(DriverStep::CreateSubLink {
        parent,
        netns,
        gateways,
        mac,
        ..
    }) = join_step(Path::new("/ns"), &e, &n, vec![gw])
    else {
        panic!("a sub-link")
    };
    assert_eq!(parent, "eth0");
    assert_eq!(netns.as_deref(), Some(Path::new("/ns")));
    assert_eq!(gateways, vec![gw]);
    assert_eq!(mac.as_deref(), Some("02:42:c6:33:64:02"));
}

#[test]
fn refusals_name_the_problem() {
    let plan = |opts: &[&str], driver, links: &[&str], kinds| {
        plan_network(
            &req(opts),
            driver,
            ID,
            ipam("198.51.100.0/24", None),
            &[],
            &facts(links),
            kinds,
        )
        .expect_err("must fail")
        .to_string()
    };
    let e = plan(&[], Driver::Macvlan, &["eth0"], LinkKinds::all());
    assert!(e.contains("-o parent="), "{e}");
    let e = plan(
        &["parent=eth9"],
        Driver::Macvlan,
        &["eth0"],
        LinkKinds::all(),
    );
    assert!(e.contains("eth9") && e.contains("does not exist"), "{e}");
    let e = plan(
        &["parent=eth0.10"],
        Driver::Macvlan,
        &["eth0"],
        LinkKinds::default(),
    );
    assert!(
        e.contains("CONFIG_VLAN_8021Q") && e.contains("nothing was created"),
        "{e}"
    );
    let e = plan(
        &["parent=eth0"],
        Driver::Ipvlan,
        &["eth0"],
        LinkKinds::default(),
    );
    assert!(e.contains("CONFIG_IPVLAN"), "{e}");
    let e = plan(
        &["parent=eth0", "macvlan_mode=weird"],
        Driver::Macvlan,
        &["eth0"],
        LinkKinds::all(),
    );
    assert!(e.contains("weird"), "{e}");
    let e = plan(
        &["parent=eth0", "host_shim=true"],
        Driver::Macvlan,
        &["eth0"],
        LinkKinds::all(),
    );
    assert!(e.contains("--ip-range"), "{e}");
    let e = plan(
        &["parent=eth0", "bogus=1"],
        Driver::Macvlan,
        &["eth0"],
        LinkKinds::all(),
    );
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn vlan_parent_is_created_and_ipvlan_planned_when_supported() {
    let n = plan_network(
        &req(&["parent=eth0.10", "ipvlan_mode=l3"]),
        Driver::Ipvlan,
        ID,
        ipam("198.51.100.0/24", None),
        &[],
        &facts(&["eth0"]),
        LinkKinds::all(),
    )
    .expect("plan");
    assert_eq!(
        network_steps(&n),
        vec![Step::Driver(DriverStep::CreateVlan {
            parent: "eth0".into(),
            name: "eth0.10".into(),
            id: 10
        })]
    );
    // A second network cannot take the same parent.
    let e = plan_network(
        &req(&["parent=eth0.10"]),
        Driver::Ipvlan,
        ID,
        ipam("192.0.2.0/24", None),
        &[n],
        &facts(&["eth0", "eth0.10"]),
        LinkKinds::all(),
    )
    .expect_err("same parent");
    assert!(e.to_string().contains("already uses parent"), "{e}");
}

#[test]
fn host_shim_gets_the_last_address_and_a_route_to_the_range() {
    let n = plan_network(
        &req(&["parent=eth0", "host_shim=true"]),
        Driver::Macvlan,
        ID,
        ipam("198.51.100.0/24", Some("198.51.100.64/27")),
        &[],
        &facts(&["eth0"]),
        LinkKinds::default(),
    )
    .expect("plan");
    let shim: IpAddr = "198.51.100.254".parse().expect("ip");
    assert_eq!(n.ipam[0].aux.get(SHIM_AUX), Some(&shim));
    assert!(!crate::ipam::assignable(&n.ipam[0], &shim));
    let steps = network_steps(&n);
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(matches!(
        &steps[1],
        Step::Driver(DriverStep::AddRoute { dst, dev, src })
            if dst.to_string() == "198.51.100.64/27" && dev == "bsh-0123456789" && *src == Some(shim)
    ));
    let undo = crate::plan::Plan { steps }.undo();
    assert!(matches!(
        &undo.steps[0],
        Step::Driver(DriverStep::DeleteRoute { .. })
    ));
}

#[test]
fn publishing_on_macvlan_is_refused() {
    let n = plan_network(
        &req(&["parent=eth0"]),
        Driver::Macvlan,
        ID,
        ipam("198.51.100.0/24", None),
        &[],
        &facts(&["eth0"]),
        LinkKinds::default(),
    )
    .expect("plan");
    let e = super::super::check_publish(&[n]).expect_err("refused");
    assert!(e.to_string().contains("drop -p"), "{e}");
}
