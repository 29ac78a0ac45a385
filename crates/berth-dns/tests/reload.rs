//! Hot reload through the control socket: the next query after `reload`
//! returns sees the new snapshot, listeners follow the gateways.

mod common;

use std::time::Duration;

use berth_dns::{control, Error, Server, ServerConfig};
use common::client::{addrs, query, udp, udp_raw};
use common::server::TestServer;
use common::upstream::FakeUpstream;
use common::world::{self, LO_API, LO_A_GW, LO_B_GW, LO_WEB};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::A;

fn setup() -> (TestServer, FakeUpstream) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let upstream = FakeUpstream::start(&rt, "127.53.1.1");
    let server = TestServer::start_in(rt, &world::loopback(&[upstream.addr]), |_| {});
    (server, upstream)
}

#[test]
fn added_and_removed_containers_on_the_next_query() {
    let (s, up) = setup();
    let gw = s.addr(LO_A_GW);
    let ask = |name: &str| udp(gw, LO_WEB, &query(name, A, None));
    assert_eq!(ask("newbie").response_code, ResponseCode::NXDomain);
    let mut snapshot = world::loopback(&[up.addr]);
    for generation in 2..12u64 {
        snapshot.generation = generation;
        let added = generation % 2 == 0;
        if added {
            snapshot
                .endpoints
                .push(world::ep(&world::id('n'), "newbie", "A", "127.18.0.9", &[]));
        } else {
            snapshot.endpoints.retain(|e| e.name != "newbie");
        }
        assert_eq!(s.reload(&snapshot).unwrap(), generation);
        let answer = ask("newbie");
        if added {
            assert_eq!(addrs(&answer), ["127.18.0.9"]);
        } else {
            assert_eq!(answer.response_code, ResponseCode::NXDomain);
        }
    }
    // Removing api makes it vanish for web (forwarded, unknown upstream).
    snapshot.endpoints.retain(|e| e.name != "api");
    s.reload(&snapshot).unwrap();
    assert_eq!(ask("api").response_code, ResponseCode::NXDomain);
    assert_eq!(
        control::ping(&s.control_path, Duration::from_secs(2)).unwrap(),
        11
    );
}

#[test]
fn journal_changes_are_served_without_a_new_snapshot() {
    use berth_dns::journal::{append, journal_path, Delta};
    let (s, up) = setup();
    let gw = s.addr(LO_A_GW);
    let ask = |name: &str| udp(gw, LO_WEB, &query(name, A, None));
    let journal = journal_path(&s.snapshot_path);
    let newbie = world::ep(&world::id('n'), "newbie", "A", "127.18.0.9", &[]);
    let mut delta = Delta {
        generation: 5,
        container_id: world::id('n'),
        networks: Vec::new(),
        endpoints: vec![newbie],
    };
    append(&journal, &delta).unwrap();
    assert_eq!(
        control::reload(&s.control_path, Duration::from_secs(5)).unwrap(),
        5
    );
    assert_eq!(addrs(&ask("newbie")), ["127.18.0.9"]);
    // Its removal, and a line not yet complete (being written): not read.
    delta.generation = 6;
    delta.endpoints.clear();
    append(&journal, &delta).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"generation\": 7"))
        .unwrap();
    assert_eq!(
        control::reload(&s.control_path, Duration::from_secs(5)).unwrap(),
        6
    );
    assert_eq!(ask("newbie").response_code, ResponseCode::NXDomain);
    assert_eq!(addrs(&ask("api")), [LO_API]);
    // A new snapshot (newer than the journal's lines) replaces it all;
    // the old journal's lines are skipped.
    let mut snapshot = world::loopback(&[up.addr]);
    snapshot.generation = 9;
    snapshot.endpoints.retain(|e| e.name != "api");
    assert_eq!(s.reload(&snapshot).unwrap(), 9);
    assert_eq!(ask("api").response_code, ResponseCode::NXDomain);
}

#[test]
fn listeners_follow_the_gateways() {
    let (s, up) = setup();
    let old_b = s.addr(LO_B_GW);
    let mut snapshot = world::loopback(&[up.addr]);
    snapshot.generation = 2;
    snapshot.networks.retain(|n| n.id != "B");
    snapshot
        .networks
        .push(world::net("C", "third", true, &["127.20.0.1"]));
    snapshot
        .endpoints
        .push(world::ep(&world::id('c'), "cee", "C", "127.20.0.2", &[]));
    snapshot
        .endpoints
        .push(world::ep(&world::id('c'), "cee", "A", "127.18.0.3", &[]));
    assert_eq!(s.reload(&snapshot).unwrap(), 2);
    let new_c = s.addr("127.20.0.1");
    assert_eq!(
        addrs(&udp(new_c, "127.20.0.2", &query("web", A, None))),
        [LO_WEB]
    );
    assert!(s
        .handle
        .listen_addrs()
        .iter()
        .all(|a| a.ip().to_string() != LO_B_GW));
    let q = query("api", A, None).to_vec().unwrap();
    assert_eq!(
        udp_raw(old_b, "127.19.0.4", &q, Duration::from_millis(300)),
        None
    );
    // appnet was kept (same socket, same port).
    assert_eq!(s.addr(LO_A_GW), s.addr(LO_A_GW));
}

#[test]
fn a_bad_snapshot_keeps_the_old_one() {
    let (s, _up) = setup();
    std::fs::write(&s.snapshot_path, "{not json").unwrap();
    let err = control::reload(&s.control_path, Duration::from_secs(2)).unwrap_err();
    assert!(
        matches!(err, Error::ControlReply(ref m) if m.contains("invalid snapshot")),
        "{err}"
    );
    assert_eq!(s.handle.generation(), 1);
    let answer = udp(s.addr(LO_A_GW), LO_WEB, &query("api", A, None));
    assert_eq!(addrs(&answer), [LO_API]);
}

#[test]
fn unbindable_gateways_are_reported_and_the_rest_served() {
    // Occupy 127.20.0.1:PORT, then run the resolver on PORT everywhere.
    let taken = std::net::UdpSocket::bind("127.20.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let _taken_tcp = std::net::TcpListener::bind(("127.20.0.1", port));
    let mut snapshot = world::loopback(&[]);
    let s = TestServer::start(&snapshot, |c| c.port = port);
    snapshot.generation = 2;
    snapshot
        .networks
        .push(world::net("C", "third", true, &["127.20.0.1"]));
    let err = s.reload(&snapshot).unwrap_err();
    assert!(err.to_string().contains("127.20.0.1"), "{err}");
    assert_eq!(s.handle.generation(), 2);
    let answer = udp(s.addr(LO_A_GW), LO_WEB, &query("api", A, None));
    assert_eq!(addrs(&answer), [LO_API]);
}

#[test]
fn control_protocol() {
    use std::io::{BufRead, BufReader, Write};
    let (s, _up) = setup();
    let mut stream = std::os::unix::net::UnixStream::connect(&s.control_path).unwrap();
    let mut lines = BufReader::new(stream.try_clone().unwrap()).lines();
    for (request, answer) in [
        ("ping\n", "ok 1"),
        ("reload\n", "ok 1"),
        ("reload 1\n", "ok 1"),
        ("reload 2\n", "ok 1"),
        ("reload 3\n", "ok 1"),
        (
            "reload 4\n",
            "err outdated: this resolver reads snapshots up to version 3, not 4",
        ),
        ("reload x\n", "err unknown request"),
        ("names\n", "ok 4"),
        ("ping 2\n", "err unknown request"),
        ("dance\n", "err unknown request"),
    ] {
        stream.write_all(request.as_bytes()).unwrap();
        assert_eq!(lines.next().unwrap().unwrap(), answer, "{request}");
    }
    assert_eq!(
        control::reload(&s.control_path, Duration::from_secs(5)).unwrap(),
        1
    );
    // A second resolver on the same control socket is refused.
    let config = ServerConfig::new(&s.snapshot_path, &s.control_path);
    let second = s.rt.block_on(Server::bind(config));
    assert!(matches!(second, Err(Error::AlreadyRunning(_))));
}

#[test]
fn an_outdated_resolver_is_recognised() {
    // A version-1 resolver knows only `reload`: to `reload 2` it answers
    // "err unknown request", which the client side reports as outdated.
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let old = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).unwrap();
        let answer = if line == "reload\n" {
            "ok 1\n"
        } else {
            "err unknown request\n"
        };
        (&stream).write_all(answer.as_bytes()).unwrap();
        line
    });
    let err = control::reload(&path, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, Error::OutdatedResolver(..)), "{err}");
    assert_eq!(old.join().unwrap(), "reload 3\n");
}

#[test]
fn shutdown_stops_listening_and_removes_the_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot_path = dir.path().join("dns.json");
    let control_path = dir.path().join("run/dns.sock");
    world::loopback(&[]).store(&snapshot_path).unwrap();
    let mut config = ServerConfig::new(&snapshot_path, &control_path);
    config.port = 0;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::bind(config)).unwrap();
    let gw = server.handle().listen_addrs()[0];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = rt.spawn(server.run(async move {
        let _ = stopped.await;
    }));
    assert!(control_path.exists());
    stop.send(()).unwrap();
    rt.block_on(running).unwrap().unwrap();
    assert!(!control_path.exists());
    let q = query("api", A, None).to_vec().unwrap();
    assert_eq!(udp_raw(gw, LO_API, &q, Duration::from_millis(300)), None);
}
