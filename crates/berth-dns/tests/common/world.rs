//! A snapshot exercising every lookup rule.
//!
//! | network  | dns | gateway               | endpoints                                   |
//! |----------|-----|-----------------------|---------------------------------------------|
//! | appnet   | yes | 172.18.0.1, fd00:1::1 | web .2 (+v6, alias www), api .4, web2 .6 (www), twin-a .7 (twin) |
//! | backnet  | yes | 172.19.0.1            | db .3 (dbalias), api .4 (backend), twin-b .7 (twin) |
//! | nodns    | no  | 172.20.0.1            | hidden .2                                   |
//! | othernet | yes | 172.21.0.1            | secret .5, ghost 172.18.0.2 (overlaps web)  |
//! | my.net   | yes | 172.22.0.1            | dotty .2                                    |

use berth_dns::{EndpointRec, NetworkRec, Snapshot};

/// web's container id.
pub const WEB_ID: &str = "3f4e5d6c7b8a90123456789abcdef0123456789abcdef0123456789abcdef012";
/// api's container id.
pub const API_ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// A network record.
pub fn net(id: &str, name: &str, dns: bool, gateways: &[&str]) -> NetworkRec {
    NetworkRec {
        id: id.into(),
        name: name.into(),
        dns,
        gateways: gateways.iter().map(|g| g.parse().unwrap()).collect(),
        ..NetworkRec::default()
    }
}

/// An endpoint record with an IPv4 address and aliases.
pub fn ep(
    container_id: &str,
    name: &str,
    network_id: &str,
    ipv4: &str,
    aliases: &[&str],
) -> EndpointRec {
    EndpointRec {
        container_id: container_id.into(),
        name: name.into(),
        network_id: network_id.into(),
        ipv4: Some(ipv4.parse().unwrap()),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ..EndpointRec::default()
    }
}

/// A 64-character id made of one repeated character.
pub fn id(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

/// The snapshot described in this module's table.
pub fn snapshot() -> Snapshot {
    let mut web = ep(WEB_ID, "web", "A", "172.18.0.2", &["www"]);
    web.ipv6 = Some("fd00:1::2".parse().unwrap());
    web.hostname = "webhost".into();
    web.dns = vec!["198.51.100.53".parse().unwrap()];
    let mut api_a = ep(API_ID, "api", "A", "172.18.0.4", &[]);
    api_a.hostname = "apihost".into();
    let mut api_b = ep(API_ID, "api", "B", "172.19.0.4", &["backend"]);
    api_b.hostname = "apihost".into();
    Snapshot {
        generation: 7,
        host_upstreams: vec!["192.0.2.53".parse().unwrap()],
        networks: vec![
            net("A", "appnet", true, &["172.18.0.1", "fd00:1::1"]),
            net("B", "backnet", true, &["172.19.0.1"]),
            net("C", "nodns", false, &["172.20.0.1"]),
            net("D", "othernet", true, &["172.21.0.1"]),
            net("E", "my.net", true, &["172.22.0.1"]),
        ],
        endpoints: vec![
            web,
            api_a,
            api_b,
            ep(&id('6'), "web2", "A", "172.18.0.6", &["www"]),
            ep(&id('7'), "twin-a", "A", "172.18.0.7", &["twin"]),
            ep(&id('d'), "db", "B", "172.19.0.3", &["dbalias"]),
            ep(&id('8'), "twin-b", "B", "172.19.0.7", &["twin"]),
            ep(&id('h'), "hidden", "C", "172.20.0.2", &[]),
            ep(&id('5'), "secret", "D", "172.21.0.5", &[]),
            ep(&id('g'), "ghost", "D", "172.18.0.2", &[]),
            ep(&id('e'), "dotty", "E", "172.22.0.2", &[]),
        ],
        ..Snapshot::default()
    }
}

/// appnet's gateway in loopback worlds.
pub const LO_A_GW: &str = "127.18.0.1";
/// backnet's gateway in loopback worlds.
pub const LO_B_GW: &str = "127.19.0.1";
/// web's address (appnet).
pub const LO_WEB: &str = "127.18.0.2";
/// api's address on appnet (it is on backnet too, at 127.19.0.4).
pub const LO_API: &str = "127.18.0.4";
/// db's address (backnet only).
pub const LO_DB: &str = "127.19.0.3";

/// A world on loopback addresses: appnet (web, api), backnet (api, db),
/// forwarding to `upstreams`.
pub fn loopback(upstreams: &[std::net::SocketAddr]) -> Snapshot {
    let mut web = ep(WEB_ID, "web", "A", LO_WEB, &["www"]);
    web.ipv6 = Some("fd00:1::2".parse().unwrap());
    Snapshot {
        generation: 1,
        host_upstreams: upstreams.iter().map(|&u| u.into()).collect(),
        networks: vec![
            net("A", "appnet", true, &[LO_A_GW]),
            net("B", "backnet", true, &[LO_B_GW]),
        ],
        endpoints: vec![
            web,
            ep(API_ID, "api", "A", LO_API, &[]),
            ep(API_ID, "api", "B", "127.19.0.4", &["backend"]),
            ep(&id('d'), "db", "B", LO_DB, &[]),
        ],
        ..Snapshot::default()
    }
}
