//! `network create` against the host, through the fake kernel: the bridge
//! name is looked up by name and the subnet checked against the host's
//! routes; each conflict is refused with its own error, and nothing is
//! recorded or built.

use super::harness::World;
use crate::model::NetworkCreate;

fn req(name: &str, subnet: &str, bridge: Option<&str>) -> NetworkCreate {
    NetworkCreate {
        name: name.into(),
        subnets: vec![subnet.into()],
        options: bridge
            .map(|b| format!("com.docker.network.bridge.name={b}"))
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

#[test]
fn host_links_and_routes_are_refused_by_name() {
    let mut w = World::new();
    w.fake.add_host_link("eth0", "veth");
    w.fake.add_route("192.0.2.0/25".parse().unwrap());
    w.fake.add_route("198.51.100.64/26".parse().unwrap());
    let before = w.fake.objects();
    let nets = w.engine.networks().unwrap().len();
    for (r, wants) in [
        (
            req("a", "203.0.113.0/24", Some("eth0")),
            &["bridge name \"eth0\" is already in use on this host"][..],
        ),
        // a route containing the subnet
        (
            req("b", "192.0.2.0/26", None),
            &[
                "subnet 192.0.2.0/26 overlaps 192.0.2.0/25",
                "routed on this host",
            ],
        ),
        // a route inside the subnet
        (
            req("c", "198.51.100.0/24", None),
            &[
                "subnet 198.51.100.0/24 overlaps 198.51.100.64/26",
                "routed on this host",
            ],
        ),
    ] {
        let e = w.engine.create_network(&r).unwrap_err().to_string();
        for want in wants {
            assert!(e.contains(want), "{}: {e:?} does not say {want:?}", r.name);
        }
    }
    assert_eq!(w.fake.objects(), before, "nothing was built");
    assert_eq!(
        w.engine.networks().unwrap().len(),
        nets,
        "nothing was recorded"
    );
    // Beside them: another name, another subnet.
    w.engine
        .create_network(&req("d", "203.0.113.0/24", Some("br-d")))
        .expect("a free name and subnet");
    assert!(w.fake.objects().links.contains_key("br-d"));
}
