//! Malformed, odd and hostile input: the resolver answers correctly or
//! drops, never crashes, never leaks a name across networks, and keeps
//! answering.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::client::{addrs, closed_unanswered, connect, query, tcp, tcp_exchange, udp, udp_raw};
use common::server::TestServer;
use common::world::{self, LO_API, LO_A_GW, LO_DB, LO_WEB};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const SHORT: Duration = Duration::from_millis(150);

fn server() -> TestServer {
    // Forwarding goes to a dead upstream: unknown names get SERVFAIL fast.
    TestServer::start(&world::loopback(&["127.53.2.1:1".parse().unwrap()]), |c| {
        c.udp_workers = 2
    })
}

fn still_answers(s: &TestServer) {
    let answer = udp(s.addr(LO_A_GW), LO_WEB, &query("api", RecordType::A, None));
    assert_eq!(addrs(&answer), [LO_API]);
    let answer = tcp(s.addr(LO_A_GW), LO_WEB, &query("api", RecordType::A, None));
    assert_eq!(addrs(&answer), [LO_API]);
}

fn rcode(raw: &[u8]) -> ResponseCode {
    Message::from_vec(raw).unwrap().response_code
}

#[test]
fn malformed_udp_packets() {
    let s = server();
    let gw = s.addr(LO_A_GW);
    let valid = query("api", RecordType::A, None).to_vec().unwrap();
    // Too short for a header, or a response: silence.
    assert_eq!(udp_raw(gw, LO_WEB, &valid[..11], SHORT), None);
    let mut response = valid.clone();
    response[2] |= 0x80;
    assert_eq!(udp_raw(gw, LO_WEB, &response, SHORT), None);
    // A header promising a question that is not there: FORMERR.
    assert_eq!(
        rcode(&udp_raw(gw, LO_WEB, &valid[..12], SHORT).unwrap()),
        ResponseCode::FormErr
    );
    // No question, or two: FORMERR. Another opcode: NOTIMP.
    let mut none = valid[..12].to_vec();
    none[5] = 0;
    assert_eq!(
        rcode(&udp_raw(gw, LO_WEB, &none, SHORT).unwrap()),
        ResponseCode::FormErr
    );
    let mut two = query("api", RecordType::A, None);
    two.add_query(two.queries[0].clone());
    assert_eq!(
        rcode(&udp_raw(gw, LO_WEB, &two.to_vec().unwrap(), SHORT).unwrap()),
        ResponseCode::FormErr
    );
    let mut update = valid.clone();
    update[2] |= 5 << 3;
    assert_eq!(
        rcode(&udp_raw(gw, LO_WEB, &update, SHORT).unwrap()),
        ResponseCode::NotImp
    );
    // An oversized datagram (a query padded to 9000 bytes): cut, then
    // answered or dropped.
    let mut huge = valid.clone();
    huge.resize(9000, 0xff);
    let _ = udp_raw(gw, LO_WEB, &huge, SHORT);
    // Random bytes of every length up to 600.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let socket = std::net::UdpSocket::bind((LO_WEB, 0)).unwrap();
    for n in 0..600 {
        socket.send_to(&rng.bytes(n), gw).unwrap();
    }
    still_answers(&s);
}

#[test]
fn mutated_queries_never_leak_other_networks() {
    let s = server();
    let gw = s.addr(LO_A_GW);
    let socket = std::net::UdpSocket::bind((LO_WEB, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut rng = Rng(42);
    let names = [
        "db",
        "db.backnet",
        "3.0.19.127.in-addr.arpa",
        "api",
        "backend",
    ];
    let mut buf = vec![0u8; 65535];
    let mut answered = 0;
    for i in 0..1500 {
        let name = names[i % names.len()];
        let qtype = RecordType::from(rng.next() as u16 % 260);
        let mut bytes = query(name, qtype, None).to_vec().unwrap();
        for _ in 0..(rng.next() % 3) {
            let at = rng.next() as usize % bytes.len();
            bytes[at] = rng.next() as u8;
        }
        socket.send_to(&bytes, gw).unwrap();
        if i % 50 != 49 {
            continue;
        }
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            answered += 1;
            if let Ok(m) = Message::from_vec(&buf[..n]) {
                assert_no_leak(&m);
            }
        }
    }
    assert!(answered > 100, "answered only {answered}");
    still_answers(&s);
}

/// Nothing of backnet in an answer to web: no record naming it or its
/// addresses, and no "exists" (NOERROR) for its names.
fn assert_no_leak(m: &Message) {
    for record in m.answers.iter().chain(&m.authorities).chain(&m.additionals) {
        let text = record.to_string().to_ascii_lowercase();
        assert!(!text.contains("backnet"), "leaked {text}");
        assert!(
            !text.contains(LO_DB) && !text.contains("127.19.0.4"),
            "leaked {text}"
        );
    }
    let Some(q) = m.queries.first() else { return };
    let name = q.name().to_ascii().to_ascii_lowercase();
    let hidden = ["db.", "db.backnet.", "backend.", "3.0.19.127.in-addr.arpa."];
    if hidden.contains(&name.as_str()) {
        assert_ne!(m.response_code, ResponseCode::NoError, "{name} exists?");
    }
}

#[test]
fn every_query_type_for_a_local_name() {
    let s = server();
    let gw = s.addr(LO_A_GW);
    for t in 0..=300u16 {
        let qtype = RecordType::from(t);
        let answer = udp(gw, LO_WEB, &query("api", qtype, None));
        assert_eq!(answer.response_code, ResponseCode::NoError, "{qtype}");
        let want: &[&str] = match qtype {
            RecordType::A | RecordType::ANY => &[LO_API],
            _ => &[],
        };
        assert_eq!(addrs(&answer), want, "{qtype}");
    }
    // And a few forwarded ones (the upstream is dead: SERVFAIL).
    for qtype in [
        RecordType::MX,
        RecordType::TXT,
        RecordType::SRV,
        RecordType::Unknown(4242),
    ] {
        let answer = udp(gw, LO_WEB, &query("example.test", qtype, None));
        assert_eq!(answer.response_code, ResponseCode::ServFail);
    }
}

#[test]
fn hostile_tcp_clients() {
    let s = server();
    let gw = s.addr(LO_A_GW);
    // A huge length prefix, a few bytes, then close.
    let mut c = connect(gw, LO_WEB);
    c.write_all(&[0xff, 0xff, 1, 2, 3]).unwrap();
    drop(c);
    // A length below a header's: the server closes (EOF, or a reset as
    // the message's bytes were left unread).
    let mut c = connect(gw, LO_WEB);
    c.write_all(&[0, 3, 1, 2, 3]).unwrap();
    assert!(closed_unanswered(&mut c));
    // Stalled connections (mid-prefix, mid-message) do not block others
    // (under web's cap of 16 connections).
    let mut stalled = Vec::new();
    for i in 0..10 {
        let mut c = connect(gw, LO_WEB);
        c.write_all(if i % 2 == 0 {
            &[0xff][..]
        } else {
            &[0xff, 0xff, 9]
        })
        .unwrap();
        stalled.push(c);
    }
    // Garbage inside a well-framed message: FORMERR, connection kept.
    let mut c = connect(gw, LO_WEB);
    let mut rng = Rng(7);
    let mut framed = vec![0, 40];
    let mut garbage = rng.bytes(40);
    garbage[2] = 0; // a query
    garbage[4..6].copy_from_slice(&[0, 1]);
    framed.extend_from_slice(&garbage);
    c.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    c.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    c.read_exact(&mut reply).unwrap();
    assert_eq!(rcode(&reply), ResponseCode::FormErr);
    let answer = tcp_exchange(&mut c, &query("api", RecordType::A, None));
    assert_eq!(addrs(&answer), [LO_API]);
    drop(c);
    still_answers(&s);
}

#[test]
fn slowloris_clients_are_cut_off() {
    // A client trickling one byte at a time, never finishing its message:
    // closed once the idle timeout (1 s here) runs out for that message,
    // though bytes keep coming.
    let s = TestServer::start(&world::loopback(&[]), |c| {
        c.tcp_idle_timeout = Duration::from_secs(1)
    });
    let gw = s.addr(LO_A_GW);
    let mut c = connect(gw, LO_WEB);
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let message = query("api", RecordType::A, None).to_vec().unwrap();
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&message);
    // 100 ms per byte: the whole message would take far longer than 1 s.
    let mut closed = false;
    let mut buf = [0u8; 64];
    for &byte in &framed[..framed.len() - 1] {
        if c.write_all(&[byte]).is_err() {
            closed = true;
            break;
        }
        match c.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => panic!("an answer to an incomplete message"),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "the trickling client was never cut off");
    // Meanwhile, and after, others are served.
    let answer = tcp(gw, LO_API, &query("web", RecordType::A, None));
    assert_eq!(addrs(&answer), [LO_WEB]);
}

/// A query (id 0x4242, RD, one A question) for a name made of `labels`.
fn raw_query(labels: &[&[u8]]) -> Vec<u8> {
    let mut q = vec![0x42, 0x42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in labels {
        q.push(label.len() as u8);
        q.extend_from_slice(label);
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

#[test]
fn odd_spellings_of_local_names() {
    let s = server();
    let gw = s.addr(LO_A_GW);
    // Any case, escaped letters and a trailing dot are the same name; the
    // answer repeats the question as asked (0x20 randomisation works).
    for name in ["aPi", "API.", "\\Api", "api.APPNET", "Api.AppNet."] {
        let answer = udp(gw, LO_WEB, &query(name, RecordType::A, None));
        assert_eq!(addrs(&answer), [LO_API], "{name}");
        let q = query(name, RecordType::A, None);
        let asked = q.queries[0].name().to_ascii();
        let asked = asked.trim_end_matches('.');
        let echoed = answer.queries[0].name().to_ascii();
        assert_eq!(echoed.trim_end_matches('.'), asked, "{name}");
        let owner = answer.answers[0].name.to_ascii();
        assert_eq!(owner.trim_end_matches('.'), asked, "{name}");
    }
    // A label holding a dot, a NUL, an upper non-ASCII byte, an empty
    // label inside the name, a name with the network twice, a bare network
    // name: never a container's name (forwarded; the upstream here is dead,
    // so SERVFAIL), and never another network's. Built by hand: these are
    // spellings a name parser may refuse to produce.
    let odd: [&[&[u8]]; 6] = [
        &[b"api.appnet"],
        &[b"api\0"],
        &[b"\xffapi"],
        &[b"db.backnet"],
        &[b"api", b"appnet", b"appnet"],
        &[b"backnet"],
    ];
    for labels in odd {
        let raw = udp_raw(gw, LO_WEB, &raw_query(labels), SHORT).expect("an answer");
        let answer = Message::from_vec(&raw).unwrap();
        assert_eq!(answer.response_code, ResponseCode::ServFail, "{labels:?}");
        assert_no_leak(&answer);
    }
    // A question whose name is a compression pointer to itself: FORMERR.
    let mut looped = query("api", RecordType::A, None).to_vec().unwrap();
    looped.truncate(12);
    looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(
        rcode(&udp_raw(gw, LO_WEB, &looped, SHORT).unwrap()),
        ResponseCode::FormErr
    );
    still_answers(&s);
}
