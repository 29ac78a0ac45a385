//! A delta applied to the index answers as a rebuild from the snapshot
//! with the delta applied.

use super::*;
use crate::snapshot::Snapshot;

fn net(id: &str, name: &str, gw: &str, dns: bool) -> NetworkRec {
    NetworkRec {
        id: id.into(),
        name: name.into(),
        dns,
        gateways: vec![gw.parse().unwrap()],
        internal: id == "n3",
        subnets: vec![format!("{gw}/24").parse::<ipnet::IpNet>().unwrap().trunc()],
    }
}

fn ep(c: &str, name: &str, net: &str, v4: &str, aliases: &[&str]) -> EndpointRec {
    EndpointRec {
        container_id: format!("{c:0>64}"),
        name: name.into(),
        hostname: format!("h-{name}"),
        network_id: net.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ipv4: Some(v4.parse().unwrap()),
        ipv6: None,
        external: None,
        dns: Vec::new(),
        dns_search: Vec::new(),
        dns_options: Vec::new(),
    }
}

fn delta(generation: u64, c: &str, nets: &[NetworkRec], eps: Vec<EndpointRec>) -> Delta {
    Delta {
        generation,
        container_id: format!("{c:0>64}"),
        networks: nets.to_vec(),
        endpoints: eps,
    }
}

/// Everything the index answers with, in an order that does not depend
/// on hashing.
fn canonical(r: &Resolver) -> String {
    let mut out = format!("gen {} gws {:?}\n", r.generation, r.gateways);
    for n in &r.nets {
        let mut names: Vec<_> = n.names.iter().collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        let mut ptr: Vec<_> = n.ptr.iter().collect();
        ptr.sort();
        out += &format!("net {} {} {names:?} {ptr:?}\n", n.id, n.name);
    }
    let mut askers: Vec<_> = r
        .askers
        .iter()
        .map(|(k, a)| format!("{k:?} {} {:?} {:?}", a.container, a.visible, a.upstreams))
        .collect();
    askers.sort();
    let mut containers: Vec<_> = r.containers.keys().collect();
    containers.sort();
    out + &format!("{askers:#?}\n{containers:?}")
}

#[test]
fn deltas_answer_as_a_rebuild_would() {
    let nets = vec![
        net("n1", "front", "10.1.0.1", true),
        net("n2", "plain", "10.2.0.1", false),
        net("n3", "back", "10.3.0.1", true),
    ];
    let mut snap = Snapshot {
        generation: 1,
        networks: nets.clone(),
        endpoints: vec![
            ep("a", "web", "n1", "10.1.0.2", &["www"]),
            ep("b", "db", "n1", "10.1.0.3", &["www"]),
            ep("b", "db", "n3", "10.3.0.3", &[]),
            ep("c", "side", "n2", "10.2.0.4", &[]),
        ],
        ..Snapshot::default()
    };
    let mut r = Resolver::new(&snap);
    let mut with_dns = ep("e", "e", "n3", "10.3.0.9", &[]);
    with_dns.dns = vec!["10.3.0.53".parse().unwrap()];
    let steps = vec![
        // a new container sharing an alias
        delta(
            2,
            "d",
            &nets[..1],
            vec![ep("d", "api", "n1", "10.1.0.5", &["www"])],
        ),
        // a renamed container with another alias
        delta(
            3,
            "a",
            &nets[..1],
            vec![ep("a", "web2", "n1", "10.1.0.2", &["w2"])],
        ),
        // a container gone
        delta(4, "b", &[], vec![]),
        // one only on an internal network, with its own --dns
        delta(5, "e", &nets[2..], vec![with_dns]),
        // a stale delta changes nothing
        delta(3, "d", &[], vec![]),
        // a container on a network the resolver does not serve
        delta(
            6,
            "f",
            &nets[1..2],
            vec![ep("f", "f", "n2", "10.2.0.6", &[])],
        ),
    ];
    for d in steps {
        let old: Vec<EndpointRec> = snap
            .endpoints
            .iter()
            .filter(|e| e.container_id == d.container_id)
            .cloned()
            .collect();
        if d.generation > snap.generation {
            assert!(r.apply_delta(&snap.networks, &old, &d), "{d:?}");
        }
        snap.apply(&d);
        assert_eq!(
            canonical(&r),
            canonical(&Resolver::new(&snap)),
            "after {d:?}"
        );
    }
    assert!(canonical(&r).contains("\"www\""), "{}", canonical(&r));
}

#[test]
fn a_changed_network_asks_for_a_rebuild() {
    let nets = vec![net("n1", "front", "10.1.0.1", true)];
    let snap = Snapshot {
        generation: 1,
        networks: nets.clone(),
        endpoints: vec![ep("a", "web", "n1", "10.1.0.2", &[])],
        ..Snapshot::default()
    };
    let mut r = Resolver::new(&snap);
    let before = canonical(&r);
    let renamed = net("n1", "front2", "10.1.0.1", true);
    let d = delta(
        2,
        "b",
        &[renamed],
        vec![ep("b", "b", "n1", "10.1.0.3", &[])],
    );
    assert!(!r.apply_delta(&snap.networks, &[], &d));
    let new_net = net("n9", "new", "10.9.0.1", true);
    let d = delta(
        2,
        "b",
        &[new_net],
        vec![ep("b", "b", "n9", "10.9.0.3", &[])],
    );
    assert!(!r.apply_delta(&snap.networks, &[], &d));
    let d = delta(2, "b", &nets, vec![ep("x", "x", "n1", "10.1.0.4", &[])]);
    assert!(!r.apply_delta(&snap.networks, &[], &d));
    assert_eq!(canonical(&r), before, "nothing changed");
}
