//! The fuzz targets' bodies (`fuzz/fuzz_targets/`), here so that the seed
//! files in `fuzz/seeds/` are replayed through the same code by an
//! ordinary `cargo test` (`tests/fuzz_seeds.rs`) on stable, and the
//! targets stay one line each. Each function panics when an invariant is
//! broken: that is what the fuzzer looks for. Not an API.

use crate::drivers::{overlay, overlay_remote};
use crate::error::ErrorKind;
use crate::model::{parse_publish, Driver, IpamConfig, Network, PortSpec};
use crate::store::cluster::Kv;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

/// Target `publish`: one `-p` value as a user types it. Invariants: no
/// panic; a bad value is the user's error (never an internal one); a
/// parsed value has ports from 1 up, ranges in order, a host range as long
/// as the container range (or a single container port), and renders back
/// to a value that parses to the same thing.
pub fn publish(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_publish(text) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(!e.to_string().is_empty());
        }
        Ok(p) => {
            let (c1, c2) = p.container_ports;
            assert!(c1 >= 1 && c1 <= c2, "{text:?}: {p:?}");
            if let Some((h1, h2)) = p.host_ports {
                assert!(h1 >= 1 && h1 <= h2, "{text:?}: {p:?}");
                assert!(c1 == c2 || h2 - h1 == c2 - c1, "{text:?}: {p:?}");
            }
            let again = render(&p);
            assert_eq!(parse_publish(&again).ok(), Some(p), "{text:?} -> {again:?}");
        }
    }
}

/// A `-p` value for `p`, in Docker's syntax.
fn render(p: &PortSpec) -> String {
    let range = |(a, b): (u16, u16)| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    let ip = match p.host_ip {
        Some(IpAddr::V6(ip)) => format!("[{ip}]:"),
        Some(ip) => format!("{ip}:"),
        None => String::new(),
    };
    let host = match p.host_ports {
        Some(h) => format!("{}:", range(h)),
        None if p.host_ip.is_some() => ":".into(),
        None => String::new(),
    };
    format!(
        "{ip}{host}{}/{}",
        range(p.container_ports),
        p.proto.as_str()
    )
}

/// The overlay network of [`cluster_records`]: 198.18.0.0/24, gateway .1.
pub(crate) fn overlay_network() -> Network {
    Network {
        id: "0f".repeat(32),
        name: "ov".into(),
        driver: Driver::Overlay,
        created: String::new(),
        ipv6: false,
        internal: false,
        ipam: vec![IpamConfig {
            subnet: "198.18.0.0/24".parse().expect("subnet"),
            gateway: "198.18.0.1".parse().expect("gateway"),
            ip_range: None,
            aux: BTreeMap::new(),
            range_start: None,
            range_end: None,
        }],
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        bridge: None,
        mtu: 1450,
        icc: true,
        masquerade: true,
        host_binding_ipv4: None,
        builtin: false,
        owner: None,
        docker: None,
    }
}

/// Target `cluster_records`: what `berth agent` reads from the cluster
/// store, as lines `KEY\nVALUE\n...` (keys under `/berth/v1/addrs/`,
/// values JSON address records), for overlay network `overlay_network()`
/// on host `h1`. Invariants: no panic; only well-formed records of other
/// hosts, for addresses of the network that are not its gateway, become
/// VXLAN entries (a MAC the kernel layer parses, a unicast IPv4 tunnel
/// endpoint) and DNS names; the entries plan one step each and nothing
/// once present; and the resolver, fed the names, answers each with its
/// address to a container of the network.
pub fn cluster_records(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    let kvs: Vec<Kv> = lines
        .chunks(2)
        .map(|kv| Kv {
            key: kv[0].to_string(),
            value: kv.get(1).unwrap_or(&"").to_string(),
            lease: 1,
        })
        .collect();
    let net = overlay_network();
    for e in overlay_remote::entries(&net, &kvs, "h1") {
        assert!(overlay_remote::endpoint_address(&net, e.ip), "{e:?}");
        assert_ne!(e.rec.host, "h1");
        assert!(crate::kernel::msg::parse_mac(&e.rec.mac).is_some(), "{e:?}");
        let IpAddr::V4(vtep) = e.rec.vtep else {
            panic!("an IPv6 tunnel endpoint: {e:?}");
        };
        assert!(!vtep.is_multicast() && !vtep.is_unspecified(), "{e:?}");
    }
    let want = overlay_remote::remotes(&net, &kvs, "h1");
    let dev = overlay::vxlan_name(&net.id);
    assert_eq!(
        overlay::remote_steps(&dev, &want, &BTreeSet::new()).len(),
        want.len()
    );
    assert!(overlay::remote_steps(&dev, &want, &want).is_empty());
    resolves_each(&net, overlay_remote::dns_endpoints(&net, &kvs, "h1"));
    // Network and host records: what comes out is berth's own shape.
    let (nets, _) = crate::drivers::overlay_records::networks(&kvs);
    for n in nets {
        assert_eq!(n.bridge, Some(overlay::bridge_name(&n.id)));
        assert!(n.options.keys().all(|k| !k.starts_with("berth.")), "{n:?}");
        assert!(n.owner.is_none() && n.docker.is_none() && !n.builtin);
    }
    let (hosts, _) = crate::drivers::overlay_records::hosts(&kvs);
    for (_, h) in hosts {
        assert!(
            h.vtep.is_ipv4() && crate::ids::ifname_ok(&h.underlay),
            "{h:?}"
        );
    }
}

/// The resolver, with `remote` and one local container (198.18.0.2),
/// answers each remote name with its address.
fn resolves_each(net: &Network, remote: Vec<berth_dns::EndpointRec>) {
    let local = berth_dns::EndpointRec {
        container_id: "c".repeat(64),
        name: "local".into(),
        network_id: net.id.clone(),
        ipv4: Some(Ipv4Addr::new(198, 18, 0, 2)),
        ..Default::default()
    };
    let mut endpoints = remote.clone();
    endpoints.push(local);
    let snapshot = serde_json::json!({
        "generation": 1,
        "host_upstreams": ["192.0.2.53"],
        "networks": [{"id": net.id, "name": net.name, "dns": true, "gateways": ["198.18.0.1"]}],
        "endpoints": endpoints,
    });
    let snapshot = berth_dns::Snapshot::from_json(&snapshot.to_string()).expect("a snapshot");
    let resolver = berth_dns::Resolver::new(&snapshot);
    for ep in &remote {
        let packet = a_query(&ep.name);
        let action = berth_dns::request::handle(
            &resolver,
            "198.18.0.1".parse().expect("gateway"),
            "198.18.0.2".parse().expect("local"),
            &packet,
            berth_dns::request::Transport::Udp,
        );
        let berth_dns::request::Action::Reply(reply) = action else {
            panic!("{:?} was not answered locally", ep.name);
        };
        let ip = ep
            .ipv4
            .expect("remote endpoints have an IPv4 address")
            .octets();
        assert_eq!(reply.get(3).map(|f| f & 0xf), Some(0), "{:?}", ep.name);
        assert!(
            reply.windows(4).any(|w| w == ip),
            "{:?}: {reply:?}",
            ep.name
        );
    }
}

/// A DNS query (id 1, RD) for `name`, type A, class IN.
fn a_query(name: &str) -> Vec<u8> {
    let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}
