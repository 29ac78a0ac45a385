//! The fuzz targets' bodies (`fuzz/fuzz_targets/`), here so that the seed
//! files in `fuzz/seeds/` are replayed through the same code by an
//! ordinary `cargo test` (`tests/fuzz_seeds.rs`) on stable, and the
//! targets stay one line each. Each function panics when an invariant is
//! broken: that is what the fuzzer looks for. Not an API.
//!
//! `request`: the request path, bytes → parse → lookup → reply, with a
//! fixed snapshot of three networks (one `--internal`). The first input
//! byte picks who asks and how (web on appnet, over IPv4 or IPv6; api on
//! both networks; a stranger; lone on the internal network; bit 3: UDP or
//! TCP); the rest is the packet. Invariants: no panic; every reply parses;
//! UDP replies fit the client's limit; web's replies never carry anything
//! of backnet (a network web is not on); a stranger only ever gets REFUSED
//! or nothing; lone (confined to an internal network) is never forwarded.

use std::net::IpAddr;
use std::sync::OnceLock;

use crate::request::{handle, Action, Transport};
use crate::{Resolver, Snapshot};
use hickory_proto::op::{Message, ResponseCode};

const SNAPSHOT: &str = r#"{"generation": 1, "host_upstreams": ["192.0.2.53"],
  "networks": [{"id": "A", "name": "appnet", "dns": true, "gateways": ["172.18.0.1", "fd00:1::1"]},
               {"id": "B", "name": "backnet", "dns": true, "gateways": ["172.19.0.1"]},
               {"id": "I", "name": "intnet", "dns": true, "gateways": ["172.30.0.1"],
                "internal": true, "subnets": ["172.30.0.0/16"]}],
  "endpoints": [
    {"container_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "name": "web",
     "hostname": "webhost", "network_id": "A", "aliases": ["www"], "ipv4": "172.18.0.2", "ipv6": "fd00:1::2"},
    {"container_id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "name": "api",
     "network_id": "A", "ipv4": "172.18.0.4"},
    {"container_id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "name": "api",
     "network_id": "B", "aliases": ["backend"], "ipv4": "172.19.0.4"},
    {"container_id": "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", "name": "db",
     "network_id": "B", "ipv4": "172.19.0.3", "ipv6": "fd00:2::3"},
    {"container_id": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "lone",
     "network_id": "I", "ipv4": "172.30.0.2", "external": false}]}"#;

fn resolver() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| Resolver::new(&Snapshot::from_json(SNAPSHOT).expect("valid snapshot")))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("valid address")
}

/// Target `request`: see the module docs.
pub fn request(data: &[u8]) {
    let Some((&selector, packet)) = data.split_first() else {
        return;
    };
    let who = selector % 5;
    let (listen, src) = match who {
        0 => (ip("172.18.0.1"), ip("172.18.0.2")),
        1 => (ip("fd00:1::1"), ip("fd00:1::2")),
        2 => (ip("172.19.0.1"), ip("172.19.0.4")),
        3 => (ip("172.18.0.1"), ip("172.18.0.99")),
        _ => (ip("172.30.0.1"), ip("172.30.0.2")),
    };
    let web = who < 2;
    let stranger = who == 3;
    let confined = who == 4;
    let transport = if selector & 8 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    match handle(resolver(), listen, src, packet, transport) {
        Action::Reply(bytes) => {
            let reply = Message::from_vec(&bytes).expect("replies parse");
            if stranger {
                assert_eq!(reply.response_code, ResponseCode::Refused);
                assert!(reply.answers.is_empty());
            }
            if transport == Transport::Udp {
                assert!(bytes.len() <= 4096);
            }
            if web {
                for record in reply.answers.iter().chain(&reply.additionals) {
                    let text = record.to_string().to_ascii_lowercase();
                    assert!(!text.contains("backnet"), "leak: {text}");
                    assert!(
                        !text.contains("172.19.") && !text.contains("fd00:2::"),
                        "leak: {text}"
                    );
                }
            }
        }
        Action::Forward(f) => {
            assert!(!f.upstreams.is_empty());
            assert!(!stranger, "a stranger's query was forwarded");
            assert!(!confined, "an internal network's query was forwarded");
        }
        Action::Drop => {}
    }
}
