//! Fair shares: a container (or a network) flooding the resolver with
//! forwards that never finish, or with idle TCP connections, is capped,
//! and containers elsewhere still get answers.

mod common;

use std::time::Duration;

use common::client::{addrs, closed_unanswered, connect, query, tcp, tcp_exchange, tcp_send};
use common::client::{udp, udp_raw};
use common::server::TestServer;
use common::upstream::FakeUpstream;
use common::world::{self, LO_API, LO_A_GW, LO_B_GW, LO_DB, LO_WEB};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::A;

/// A third container on appnet (besides web and api).
const LO_THIRD: &str = "127.18.0.9";

/// The loopback world plus `third` on appnet, forwarding to a fake upstream
/// (`silent.test` never answers; `example.test` answers at once), with
/// small caps and long timeouts so what is held stays held.
fn setup() -> (TestServer, FakeUpstream) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let upstream = FakeUpstream::start(&rt, "127.53.0.7");
    let mut snapshot = world::loopback(&[upstream.addr]);
    snapshot
        .endpoints
        .push(world::ep(&world::id('9'), "third", "A", LO_THIRD, &[]));
    let server = TestServer::start_in(rt, &snapshot, |c| {
        c.upstream_timeout = Duration::from_secs(60);
        c.tcp_idle_timeout = Duration::from_secs(60);
        c.max_forwards_per_container = 8;
        c.max_forwards_per_network = 12;
        c.max_forwards = 100;
        c.max_tcp_per_container = 4;
        c.max_tcp_per_network = 6;
        c.max_tcp_connections = 100;
    });
    (server, upstream)
}

/// Sends `n` queries for a name the upstream never answers, from `src`.
fn flood(gw: std::net::SocketAddr, src: &str, n: u16) -> std::net::UdpSocket {
    let socket = std::net::UdpSocket::bind((src, 0)).unwrap();
    for id in 0..n {
        let mut q = query("silent.test", A, None);
        q.metadata.id = id;
        socket.send_to(&q.to_vec().unwrap(), gw).unwrap();
    }
    socket
}

/// Whether a forwarded UDP query from `src` is answered (it is dropped
/// when over a cap: silence).
fn forwards(gw: std::net::SocketAddr, src: &str) -> bool {
    let q = query("example.test", A, None).to_vec().unwrap();
    udp_raw(gw, src, &q, Duration::from_millis(700)).is_some()
}

#[test]
fn a_flooding_container_does_not_starve_others() {
    let (s, up) = setup();
    let (a, b) = (s.addr(LO_A_GW), s.addr(LO_B_GW));
    // web floods: 100 forwards that never finish; 8 are taken, the rest
    // dropped (the same socket queue, so all are seen before what follows).
    let _flood = flood(a, LO_WEB, 100);
    assert!(!forwards(a, LO_WEB), "web is over its share");
    // What is in flight still counts after a reload.
    let mut snapshot = berth_dns::Snapshot::load(&s.snapshot_path).unwrap();
    snapshot.generation += 1;
    s.reload(&snapshot).unwrap();
    assert!(!forwards(a, LO_WEB), "web is still over its share");
    // Over TCP its forwards are answered REFUSED (it may still connect).
    let mut c = connect(a, LO_WEB);
    let refused = tcp_exchange(&mut c, &query("example.test", A, None));
    assert_eq!(refused.response_code, ResponseCode::Refused);
    // Its local names still answer (no forward needed) ...
    assert_eq!(addrs(&udp(a, LO_WEB, &query("api", A, None))), [LO_API]);
    // ... and other containers, on its network and on another, forward.
    assert!(forwards(a, LO_API), "api on the same network");
    assert!(forwards(b, LO_DB), "db on another network");
    assert_eq!(
        addrs(&tcp(b, LO_DB, &query("example.test", A, None))),
        ["192.0.2.1"]
    );
    // The flood reached the upstream only as far as web's share.
    let silent = up
        .seen
        .names
        .lock()
        .unwrap()
        .iter()
        .filter(|n| *n == "silent.test")
        .count();
    assert_eq!(silent, 8);
}

#[test]
fn a_flooding_network_does_not_starve_other_networks() {
    let (s, _up) = setup();
    let (a, b) = (s.addr(LO_A_GW), s.addr(LO_B_GW));
    // web and api together hold appnet's 12 (web 8, api the 4 left).
    let _f1 = flood(a, LO_WEB, 20);
    let _f2 = flood(a, LO_API, 20);
    assert!(!forwards(a, LO_THIRD), "appnet is over its share");
    assert!(forwards(b, LO_DB), "backnet is not");
    // api is on backnet too: there it gets the rest of its container's 8,
    // then nothing more, while db still does.
    let _f3 = flood(b, "127.19.0.4", 20);
    assert!(
        !forwards(b, "127.19.0.4"),
        "per container, on every network"
    );
    assert!(forwards(b, LO_DB));
}

#[test]
fn idle_tcp_connections_are_capped() {
    let (s, _up) = setup();
    let (a, b) = (s.addr(LO_A_GW), s.addr(LO_B_GW));
    // web opens 10 idle connections: 4 are kept, the rest closed at once.
    let mut idle: Vec<_> = (0..10).map(|_| connect(a, LO_WEB)).collect();
    let mut c = connect(a, LO_WEB);
    tcp_send(&mut c, &query("api", A, None));
    assert!(closed_unanswered(&mut c), "web is over its share");
    // Others on appnet (2 left of 6) and on backnet are served.
    assert_eq!(addrs(&tcp(a, LO_API, &query("web", A, None))), [LO_WEB]);
    let _held: Vec<_> = (0..2).map(|_| connect(a, LO_THIRD)).collect();
    let mut c = connect(a, LO_THIRD);
    tcp_send(&mut c, &query("api", A, None));
    assert!(closed_unanswered(&mut c), "appnet is over its share");
    assert_eq!(
        addrs(&tcp(b, LO_DB, &query("api", A, None))),
        ["127.19.0.4"]
    );
    // web closes its connections: it is served again.
    idle.clear();
    let served = (0..50).any(|_| {
        let mut c = connect(a, LO_WEB);
        tcp_send(&mut c, &query("api", A, None));
        let mut len = [0u8; 2];
        std::io::Read::read_exact(&mut c, &mut len).is_ok() || {
            std::thread::sleep(Duration::from_millis(100));
            false
        }
    });
    assert!(served);
}
