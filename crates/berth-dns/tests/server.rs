//! The resolver in-process on loopback: local answers over UDP and TCP,
//! forwarding to a fake upstream, truncation, timeouts.

mod common;

use std::time::{Duration, Instant};

use common::client::{
    addrs, closed_unanswered, connect, ptrs, query, tcp, tcp_exchange, tcp_send, udp,
};
use common::server::TestServer;
use common::upstream::FakeUpstream;
use common::world::{self, LO_API, LO_A_GW, LO_B_GW, LO_DB, LO_WEB};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::{self, A, AAAA, PTR};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A server for the loopback world, forwarding to a fake upstream.
fn setup() -> (TestServer, FakeUpstream) {
    let rt = runtime();
    let upstream = FakeUpstream::start(&rt, "127.53.0.1");
    let server = TestServer::start_in(rt, &world::loopback(&[upstream.addr]), |_| {});
    (server, upstream)
}

#[test]
fn local_names_over_udp_and_tcp() {
    let (s, up) = setup();
    let gw = s.addr(LO_A_GW);
    for (name, qtype, want) in [
        ("api", A, vec![LO_API]),
        ("WEB.", AAAA, vec!["fd00:1::2"]),
        ("www.appnet", A, vec![LO_WEB]),
        ("api", AAAA, vec![]),
    ] {
        let q = query(name, qtype, None);
        for answer in [udp(gw, LO_WEB, &q), tcp(gw, LO_WEB, &q)] {
            assert_eq!(answer.response_code, ResponseCode::NoError, "{name}");
            assert!(answer.authoritative && answer.recursion_available && answer.recursion_desired);
            let asked = &answer.queries[0];
            assert_eq!(
                asked.name().to_ascii(),
                format!("{}.", name.trim_end_matches('.'))
            );
            assert_eq!((answer.queries.len(), asked.query_type()), (1, qtype));
            assert_eq!(addrs(&answer), want, "{name} {qtype}");
        }
    }
    let ptr = udp(gw, LO_API, &query("3.0.19.127.in-addr.arpa", PTR, None));
    assert_eq!(ptrs(&ptr), ["db.backnet."]);
    // An EDNS query gets an EDNS answer.
    assert!(udp(gw, LO_WEB, &query("api", A, Some(1232))).edns.is_some());
    assert_eq!(up.seen.udp.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn each_gateway_answers_for_its_network() {
    let (s, up) = setup();
    // api, on both networks, gets each network's view at its gateway.
    let from_b = udp(s.addr(LO_B_GW), "127.19.0.4", &query("api", A, None));
    assert_eq!(addrs(&from_b), ["127.19.0.4"]);
    assert_eq!(
        addrs(&udp(s.addr(LO_A_GW), LO_API, &query("db", A, None))),
        [LO_DB]
    );
    // web is not on backnet: db is forwarded (and unknown upstream).
    let leak = udp(s.addr(LO_A_GW), LO_WEB, &query("db", A, None));
    assert_eq!(leak.response_code, ResponseCode::NXDomain);
    assert!(leak.answers.is_empty());
    assert!(up.seen.saw("db"));
    let leak = udp(
        s.addr(LO_A_GW),
        LO_WEB,
        &query("3.0.19.127.in-addr.arpa", PTR, None),
    );
    assert_eq!(leak.response_code, ResponseCode::NXDomain);
}

#[test]
fn strangers_are_refused_and_never_forwarded() {
    let (s, up) = setup();
    let gw = s.addr(LO_A_GW);
    // Not an endpoint of appnet: a LAN neighbour routing to the gateway,
    // or db (backnet) asking at appnet's gateway. UDP: REFUSED, for local
    // and outside names alike; nothing reaches the upstream.
    for stranger in ["127.18.0.99", LO_DB] {
        for name in ["web", "example.test"] {
            let refused = udp(gw, stranger, &query(name, A, None));
            assert_eq!(
                refused.response_code,
                ResponseCode::Refused,
                "{stranger} {name}"
            );
            assert!(refused.answers.is_empty());
        }
    }
    assert_eq!(up.seen.udp.load(std::sync::atomic::Ordering::SeqCst), 0);
    // TCP: closed before anything is read.
    let mut c = connect(gw, "127.18.0.99");
    tcp_send(&mut c, &query("example.test", A, None));
    assert!(closed_unanswered(&mut c));
    // The same query from an endpoint, next to it: forwarded and answered.
    assert_eq!(
        addrs(&udp(gw, LO_WEB, &query("example.test", A, None))),
        ["192.0.2.1"]
    );
    assert_eq!(
        addrs(&tcp(gw, LO_WEB, &query("example.test", A, None))),
        ["192.0.2.1"]
    );
}

#[test]
fn forwarded_answers_pass_through() {
    let (s, _up) = setup();
    let gw = s.addr(LO_A_GW);
    let ok = udp(gw, LO_WEB, &query("example.test", A, None));
    assert_eq!(ok.response_code, ResponseCode::NoError);
    assert_eq!(addrs(&ok), ["192.0.2.1"]);
    let nx = udp(gw, LO_WEB, &query("nope.test", A, None));
    assert_eq!(nx.response_code, ResponseCode::NXDomain);
    assert_eq!(nx.authorities.len(), 1, "the SOA comes through");
    let fail = tcp(gw, LO_WEB, &query("fail.test", A, None));
    assert_eq!(fail.response_code, ResponseCode::ServFail);
}

#[test]
fn truncated_upstream_answers_are_retried_over_tcp() {
    let (s, up) = setup();
    let gw = s.addr(LO_A_GW);
    use std::sync::atomic::Ordering::SeqCst;
    // Over TCP the client gets all 100 records (upstream: UDP, then TCP).
    let full = tcp(gw, LO_WEB, &query("big.test", A, None));
    assert_eq!(full.answers.len(), 100);
    assert!(up.seen.tcp.load(SeqCst) >= 1);
    // With a 4096-byte EDNS buffer it fits in UDP too.
    let edns = udp(gw, LO_WEB, &query("big.test", A, Some(4096)));
    assert_eq!((edns.answers.len(), edns.truncation), (100, false));
    // A plain 512-byte client gets TC, to retry over TCP.
    let small = udp(gw, LO_WEB, &query("big.test", A, None));
    assert!(small.truncation);
    assert!(small.answers.is_empty());
    assert_eq!(small.queries.len(), 1);
}

/// The upstream got the query and never answered: the client gets
/// SERVFAIL (within its own wait, six times the resolver's upstream
/// timeout) and not before that timeout ran out (a lower bound, which a slow
/// machine cannot break).
#[test]
fn silent_upstream_gives_servfail_within_the_timeout() {
    let (s, up) = setup();
    let gw = s.addr(LO_A_GW);
    for over_tcp in [false, true] {
        let start = Instant::now();
        let q = query("silent.test", A, None);
        let answer = if over_tcp {
            tcp(gw, LO_WEB, &q)
        } else {
            udp(gw, LO_WEB, &q)
        };
        assert_eq!(answer.response_code, ResponseCode::ServFail);
        assert!(up.seen.saw("silent.test"), "the upstream was asked");
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(500), "{took:?}");
    }
}

/// A dead upstream (its port refuses) is skipped at once, not after the
/// upstream timeout: with that timeout at a minute, the answer still comes
/// within the client's 3 s wait (`udp` panics otherwise).
#[test]
fn dead_upstreams_are_skipped() {
    let rt = runtime();
    let live = FakeUpstream::start(&rt, "127.53.0.2");
    // Nothing listens on port 1 of 127.53.0.3: refused at once.
    let dead: std::net::SocketAddr = "127.53.0.3:1".parse().unwrap();
    let s = TestServer::start_in(rt, &world::loopback(&[dead, live.addr]), |c| {
        c.upstream_timeout = Duration::from_secs(60)
    });
    let ok = udp(s.addr(LO_A_GW), LO_WEB, &query("example.test", A, None));
    assert_eq!(addrs(&ok), ["192.0.2.1"]);
    assert!(live.seen.saw("example.test"));
    // With no upstream at all: SERVFAIL at once.
    let none = TestServer::start(&world::loopback(&[]), |_| {});
    let fail = udp(none.addr(LO_A_GW), LO_WEB, &query("example.test", A, None));
    assert_eq!(fail.response_code, ResponseCode::ServFail);
}

#[test]
fn large_local_answers_are_truncated_over_udp_only() {
    let mut snapshot = world::loopback(&[]);
    for i in 0..60u8 {
        let id = format!("{i:02}{}", "f".repeat(62));
        let ip = format!("127.18.1.{i}");
        snapshot
            .endpoints
            .push(world::ep(&id, &format!("replica{i}"), "A", &ip, &["pool"]));
    }
    let s = TestServer::start(&snapshot, |_| {});
    let gw = s.addr(LO_A_GW);
    let small = udp(gw, LO_WEB, &query("pool", A, None));
    assert!(small.truncation && small.answers.is_empty());
    let edns = udp(gw, LO_WEB, &query("pool", A, Some(4096)));
    assert_eq!((edns.answers.len(), edns.truncation), (60, false));
    let mut stream = connect(gw, LO_WEB);
    // Several queries on one connection.
    for qtype in [A, RecordType::ANY] {
        assert_eq!(
            tcp_exchange(&mut stream, &query("pool", qtype, None))
                .answers
                .len(),
            60
        );
    }
}

#[test]
fn answers_must_repeat_the_question() {
    let (s, up) = setup();
    let gw = s.addr(LO_A_GW);
    for _ in 0..8 {
        let answer = udp(gw, LO_WEB, &query("spoof.test", A, None));
        assert_eq!(addrs(&answer), ["192.0.2.2"]);
    }
    // Queries are spread over a pool of upstream sockets (source ports).
    assert!(up.seen.udp_ports.lock().unwrap().len() >= 2);
}

#[test]
fn ipv6_gateways_and_askers() {
    // ::1 plays both the gateway and the asking container.
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let mut snapshot = world::loopback(&[]);
    snapshot
        .networks
        .push(world::net("S", "sixnet", true, &["::1"]));
    let mut six = world::ep(&world::id('5'), "six", "S", "127.66.0.2", &[]);
    six.ipv6 = Some("::1".parse().unwrap());
    snapshot.endpoints.push(six);
    let s = TestServer::start(&snapshot, |_| {});
    let gw = s.addr("::1");
    for answer in [
        udp(gw, "::1", &query("six", AAAA, None)),
        tcp(gw, "::1", &query("six", AAAA, None)),
    ] {
        assert_eq!(addrs(&answer), ["::1"]);
    }
    let ptr = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa";
    assert_eq!(
        ptrs(&udp(gw, "::1", &query(ptr, PTR, None))),
        ["six.sixnet."]
    );
}

#[test]
fn prebound_listeners_are_used() {
    use berth_dns::{Listener, Server, ServerConfig};
    let dir = tempfile::tempdir().unwrap();
    let snapshot_path = dir.path().join("dns.json");
    world::loopback(&[]).store(&snapshot_path).unwrap();
    let listener = Listener::bind("127.18.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = ServerConfig::new(&snapshot_path, dir.path().join("dns.sock"));
    config.port = 0;
    let rt = runtime();
    let server = rt
        .block_on(Server::bind_with(config, vec![listener]))
        .unwrap();
    assert!(server.handle().listen_addrs().contains(&addr));
    let _running = rt.spawn(server.run(std::future::pending()));
    assert_eq!(addrs(&udp(addr, LO_WEB, &query("api", A, None))), [LO_API]);
    assert_eq!(addrs(&tcp(addr, LO_WEB, &query("api", A, None))), [LO_API]);
}

#[test]
fn without_tcp_upstream_the_truncated_answer_passes_through() {
    let rt = runtime();
    let udp_only = FakeUpstream::start_with(&rt, "127.53.0.4", false);
    let s = TestServer::start_in(rt, &world::loopback(&[udp_only.addr]), |_| {});
    let answer = tcp(s.addr(LO_A_GW), LO_WEB, &query("big.test", A, None));
    assert_eq!(answer.response_code, ResponseCode::NoError);
    assert!(answer.truncation && answer.answers.is_empty());
}
