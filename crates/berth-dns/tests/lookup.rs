//! The pure lookup rules: who may see which name.

mod common;

use std::net::{IpAddr, SocketAddr};

use berth_dns::{Outcome, Resolver};
use common::world::{self, API_ID, WEB_ID};
use hickory_proto::op::Query;
use hickory_proto::rr::{DNSClass, Name, RecordType};

fn q(name: &str, qtype: RecordType) -> Query {
    Query::query(Name::from_ascii(name).unwrap(), qtype)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Asks `name` (A unless given) from `src` arriving at `listen`.
fn ask(r: &Resolver, listen: &str, src: &str, name: &str, qtype: RecordType) -> Outcome<'static> {
    match r.lookup(ip(listen), ip(src), &q(name, qtype)) {
        Outcome::Local(a) => Outcome::Local(a),
        Outcome::Ptr(p) => Outcome::Ptr(p),
        // Keep the upstream list comparable without the borrow.
        Outcome::Forward(u) => Outcome::Forward(Box::leak(u.to_vec().into_boxed_slice())),
        Outcome::Refused => Outcome::Refused,
    }
}

fn local(addrs: &[&str]) -> Outcome<'static> {
    Outcome::Local(addrs.iter().map(|a| ip(a)).collect())
}

fn host() -> Outcome<'static> {
    let u: Vec<SocketAddr> = vec!["192.0.2.53:53".parse().unwrap()];
    Outcome::Forward(Box::leak(u.into_boxed_slice()))
}

fn web_dns() -> Outcome<'static> {
    let u: Vec<SocketAddr> = vec!["198.51.100.53:53".parse().unwrap()];
    Outcome::Forward(Box::leak(u.into_boxed_slice()))
}

const A_GW: &str = "172.18.0.1";
const B_GW: &str = "172.19.0.1";
const WEB: &str = "172.18.0.2";
const API_A: &str = "172.18.0.4";
const DB: &str = "172.19.0.3";
use RecordType::{A, AAAA, MX, PTR};

#[test]
fn names_aliases_ids_hostname() {
    let r = Resolver::new(&world::snapshot());
    for name in ["api", &API_ID[..12], "apihost", "api."] {
        assert_eq!(ask(&r, A_GW, WEB, name, A), local(&[API_A]), "{name}");
    }
    // The full id is indexed too, but 64 characters exceed a DNS label's
    // 63: no query can carry it (as with Docker).
    assert_eq!(API_ID.len(), 64);
    assert!(Name::from_ascii(API_ID).is_err());
    // An alias shared by two containers answers both.
    assert_eq!(ask(&r, A_GW, API_A, "www", A), local(&[WEB, "172.18.0.6"]));
    // A container resolves itself, by its short id too.
    assert_eq!(ask(&r, A_GW, WEB, &WEB_ID[..12], A), local(&[WEB]));
    // A prefix of the id other than the 12-character one is not a name.
    assert_eq!(ask(&r, A_GW, WEB, &API_ID[..10], A), web_dns());
}

#[test]
fn case_and_trailing_dot_do_not_matter() {
    let r = Resolver::new(&world::snapshot());
    for name in ["API", "Api.", "ApiHost", "API.AppNet", "api.appnet."] {
        assert_eq!(ask(&r, A_GW, WEB, name, A), local(&[API_A]), "{name}");
    }
    let upper = API_ID.to_ascii_uppercase();
    assert_eq!(ask(&r, A_GW, WEB, &upper[..12], A), local(&[API_A]));
}

#[test]
fn name_dot_network_is_restricted_to_that_network() {
    let r = Resolver::new(&world::snapshot());
    assert_eq!(ask(&r, A_GW, WEB, "api.appnet", A), local(&[API_A]));
    // api is on backnet too, but web is not: no answer from there.
    assert_eq!(ask(&r, A_GW, WEB, "api.backnet", A), web_dns());
    // From api itself (on both), name.backnet picks backnet's address.
    assert_eq!(
        ask(&r, A_GW, API_A, "api.backnet", A),
        local(&["172.19.0.4"])
    );
    assert_eq!(ask(&r, A_GW, API_A, "db.appnet", A), host());
    assert_eq!(ask(&r, A_GW, API_A, "db.backnet", A), local(&[DB]));
    // Aliases work with the network suffix too; network names may hold dots.
    assert_eq!(
        ask(&r, A_GW, WEB, "www.appnet", A),
        local(&[WEB, "172.18.0.6"])
    );
    assert_eq!(
        ask(&r, "172.22.0.1", "172.22.0.2", "dotty.my.net", A),
        local(&["172.22.0.2"])
    );
}

#[test]
fn other_networks_are_invisible_in_every_record_type() {
    let r = Resolver::new(&world::snapshot());
    // db is on backnet only; secret on othernet only.
    for name in [
        "db",
        "db.backnet",
        "secret",
        "secret.othernet",
        "dbalias",
        "backend",
    ] {
        for t in [A, AAAA, MX, PTR, RecordType::ANY, RecordType::TXT] {
            assert_eq!(ask(&r, A_GW, WEB, name, t), web_dns(), "{name} {t}");
        }
    }
    // Reverse lookups of their addresses are forwarded as well.
    assert_eq!(
        ask(&r, A_GW, WEB, "3.0.19.172.in-addr.arpa", PTR),
        web_dns()
    );
    assert_eq!(
        ask(&r, A_GW, WEB, "5.0.21.172.in-addr.arpa.", PTR),
        web_dns()
    );
    // And a container on a DNS-disabled network is never served.
    assert_eq!(ask(&r, A_GW, WEB, "hidden", A), web_dns());
}

#[test]
fn multi_network_containers_see_both_and_prefer_the_arrival_network() {
    let r = Resolver::new(&world::snapshot());
    assert_eq!(ask(&r, A_GW, API_A, "db", A), local(&[DB]));
    assert_eq!(ask(&r, B_GW, "172.19.0.4", "web", A), local(&[WEB]));
    // The network-scoped alias of api on backnet: visible from backnet
    // members and from api itself, not from web.
    assert_eq!(ask(&r, B_GW, DB, "backend", A), local(&["172.19.0.4"]));
    assert_eq!(ask(&r, A_GW, API_A, "backend", A), local(&["172.19.0.4"]));
    // api is on both: each side sees its own address.
    assert_eq!(ask(&r, A_GW, WEB, "api", A), local(&[API_A]));
    assert_eq!(ask(&r, B_GW, DB, "api", A), local(&["172.19.0.4"]));
    // A name on both networks, different containers: arrival network wins.
    assert_eq!(ask(&r, A_GW, API_A, "twin", A), local(&["172.18.0.7"]));
    assert_eq!(
        ask(&r, B_GW, "172.19.0.4", "twin", A),
        local(&["172.19.0.7"])
    );
}

#[test]
fn record_types() {
    let r = Resolver::new(&world::snapshot());
    assert_eq!(ask(&r, A_GW, API_A, "web", AAAA), local(&["fd00:1::2"]));
    assert_eq!(
        ask(&r, A_GW, API_A, "web", RecordType::ANY),
        local(&[WEB, "fd00:1::2"])
    );
    // The name exists without that record: NODATA, not forwarded.
    assert_eq!(ask(&r, A_GW, WEB, "api", AAAA), local(&[]));
    assert_eq!(ask(&r, A_GW, WEB, "api", MX), local(&[]));
    assert_eq!(ask(&r, A_GW, WEB, "api", PTR), local(&[]));
    // The asker over IPv6 is the same container.
    assert_eq!(ask(&r, "fd00:1::1", "fd00:1::2", "api", A), local(&[API_A]));
    // Other classes are not ours.
    let mut chaos = q("api", A);
    chaos.set_query_class(DNSClass::CH);
    assert!(matches!(
        r.lookup(ip(A_GW), ip(WEB), &chaos),
        Outcome::Forward(_)
    ));
}

#[test]
fn reverse_lookups() {
    let r = Resolver::new(&world::snapshot());
    let ptr = |s: &str| Outcome::Ptr(s.to_string());
    assert_eq!(
        ask(&r, A_GW, WEB, "4.0.18.172.in-addr.arpa", PTR),
        ptr("api.appnet.")
    );
    assert_eq!(
        ask(&r, A_GW, API_A, "3.0.19.172.in-addr.arpa", PTR),
        ptr("db.backnet.")
    );
    assert_eq!(
        ask(&r, A_GW, API_A, "4.0.19.172.IN-ADDR.ARPA.", PTR),
        ptr("api.backnet.")
    );
    let v6 = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa";
    assert_eq!(ask(&r, A_GW, API_A, v6, PTR), ptr("web.appnet."));
    // The gateway and unknown addresses are not containers': forwarded.
    assert_eq!(
        ask(&r, A_GW, WEB, "1.0.18.172.in-addr.arpa", PTR),
        web_dns()
    );
    assert_eq!(ask(&r, A_GW, WEB, "18.172.in-addr.arpa", PTR), web_dns());
    // Overlapping subnets: the address is web's on appnet, not ghost's.
    assert_eq!(
        ask(&r, A_GW, API_A, "2.0.18.172.in-addr.arpa", PTR),
        ptr("web.appnet.")
    );
}

#[test]
fn unknown_askers_are_refused() {
    let r = Resolver::new(&world::snapshot());
    // Not an endpoint on that network (db's address at appnet's gateway),
    // or not an endpoint at all (a LAN neighbour routing to the gateway).
    for stranger in ["172.18.0.99", DB, "198.51.100.3", "172.18.0.1"] {
        assert_eq!(ask(&r, A_GW, stranger, "web", A), Outcome::Refused);
        assert_eq!(ask(&r, A_GW, stranger, "example.com", A), Outcome::Refused);
    }
    // ghost shares web's address, but on othernet: at appnet's gateway it
    // is web; at othernet's gateway it only sees othernet.
    assert_eq!(ask(&r, "172.21.0.1", WEB, "api", A), host());
    assert_eq!(
        ask(&r, "172.21.0.1", WEB, "secret", A),
        local(&["172.21.0.5"])
    );
    // Not a gateway, or the gateway of a DNS-disabled network.
    assert_eq!(ask(&r, "127.0.0.1", WEB, "web", A), Outcome::Refused);
    assert_eq!(
        ask(&r, "172.20.0.1", "172.20.0.2", "hidden", A),
        Outcome::Refused
    );
    // An empty snapshot knows nobody.
    let empty = Resolver::new(&Default::default());
    assert_eq!(
        empty.lookup(ip(A_GW), ip(WEB), &q("web", A)),
        Outcome::Refused
    );
    // An endpoint without upstreams: SERVFAIL (forward to nobody).
    let mut none = world::snapshot();
    none.host_upstreams.clear();
    let r = Resolver::new(&none);
    assert_eq!(
        ask(&r, A_GW, API_A, "example.com", A),
        Outcome::Forward(&[])
    );
}

/// A snapshot with an internal network `I` (172.30.0.0/16, gateway .1):
/// `lone` only on it, `both` on it and on appnet; `own` on it with its
/// `--dns` servers, one of them inside the internal subnet.
fn with_internal() -> berth_dns::Snapshot {
    let mut s = world::snapshot();
    let mut net = world::net("I", "intnet", true, &["172.30.0.1"]);
    net.internal = true;
    net.subnets = vec!["172.30.0.0/16".parse().unwrap()];
    s.networks.push(net);
    s.endpoints
        .push(world::ep(&world::id('1'), "lone", "I", "172.30.0.2", &[]));
    s.endpoints
        .push(world::ep(&world::id('2'), "both", "I", "172.30.0.3", &[]));
    s.endpoints
        .push(world::ep(&world::id('2'), "both", "A", "172.18.0.30", &[]));
    let mut own = world::ep(&world::id('3'), "own", "I", "172.30.0.4", &[]);
    own.dns = vec![
        "198.51.100.53".parse().unwrap(),
        "172.30.0.53".parse().unwrap(),
    ];
    s.endpoints.push(own);
    s
}

#[test]
fn internal_networks_do_not_forward() {
    let r = Resolver::new(&with_internal());
    const I_GW: &str = "172.30.0.1";
    // Confined to the internal network: local names answer, others get
    // SERVFAIL, not an upstream (no DNS path out).
    assert_eq!(
        ask(&r, I_GW, "172.30.0.2", "both", A),
        local(&["172.30.0.3"])
    );
    for name in ["example.com", "web", "x.y.z", "3.0.19.172.in-addr.arpa"] {
        assert_eq!(
            ask(&r, I_GW, "172.30.0.2", name, A),
            Outcome::Forward(&[]),
            "{name}"
        );
    }
    // Its own --dns servers: only the one inside its network is used
    // (it could reach that one itself).
    let on_net: Vec<SocketAddr> = vec!["172.30.0.53:53".parse().unwrap()];
    assert_eq!(
        ask(&r, I_GW, "172.30.0.4", "example.com", A),
        Outcome::Forward(&on_net)
    );
    // On an internal and a normal network, the container reaches out
    // anyway: forwarded, whichever gateway it asks (Docker's rule).
    assert_eq!(ask(&r, I_GW, "172.30.0.3", "example.com", A), host());
    assert_eq!(ask(&r, A_GW, "172.18.0.30", "example.com", A), host());
    // The engine's word wins over the derivation (e.g. a second network
    // that is not DNS-enabled, like the default bridge).
    let mut s = with_internal();
    let lone = s.endpoints.iter_mut().find(|e| e.name == "lone").unwrap();
    lone.external = Some(true);
    let r = Resolver::new(&s);
    assert_eq!(ask(&r, I_GW, "172.30.0.2", "example.com", A), host());
}

#[test]
fn version_one_snapshots_still_serve_their_endpoints() {
    // Written by berth before version 2: no version, internal, subnets or
    // external. Endpoints are served and forwarded as before; others are
    // refused.
    let s = berth_dns::Snapshot::from_json(
        r#"{"generation": 3, "host_upstreams": ["192.0.2.53"],
            "networks": [{"id": "A", "name": "appnet", "dns": true, "gateways": ["172.18.0.1"]}],
            "endpoints": [{"container_id": "c", "name": "web", "network_id": "A",
                           "ipv4": "172.18.0.2"}]}"#,
    )
    .unwrap();
    assert_eq!(s.version, 1);
    let r = Resolver::new(&s);
    assert_eq!(ask(&r, A_GW, WEB, "web", A), local(&[WEB]));
    assert_eq!(ask(&r, A_GW, WEB, "example.com", A), host());
    assert_eq!(ask(&r, A_GW, "172.18.0.9", "web", A), Outcome::Refused);
    // A newer snapshot's unknown fields are ignored, not an error.
    let newer = berth_dns::Snapshot::from_json(
        r#"{"version": 9, "future": {"x": 1},
            "networks": [{"id": "A", "name": "n", "dns": true, "later": true}],
            "endpoints": [{"container_id": "c", "name": "a", "network_id": "A", "more": []}]}"#,
    )
    .unwrap();
    assert_eq!(newer.version, 9);
    assert_eq!(
        berth_dns::Snapshot::default().version,
        berth_dns::SNAPSHOT_VERSION
    );
}

#[test]
fn upstreams_per_asker() {
    let r = Resolver::new(&world::snapshot());
    assert_eq!(ask(&r, A_GW, WEB, "example.com", A), web_dns());
    assert_eq!(ask(&r, A_GW, API_A, "example.com", A), host());
    assert_eq!(ask(&r, A_GW, API_A, "a\\.b", A), host());
    assert_eq!(ask(&r, A_GW, API_A, ".", RecordType::NS), host());
}

#[test]
fn listen_addrs_are_the_dns_networks_gateways() {
    let r = Resolver::new(&world::snapshot());
    let mut addrs: Vec<String> = r.listen_addrs().iter().map(|a| a.to_string()).collect();
    addrs.sort();
    assert_eq!(
        addrs,
        [
            "172.18.0.1",
            "172.19.0.1",
            "172.21.0.1",
            "172.22.0.1",
            "fd00:1::1"
        ]
    );
    assert_eq!(r.generation(), 7);
}
