//! Malformed, odd and hostile input: the resolver answers correctly or
//! drops, never crashes, never leaks a name across networks, and keeps
//! answering.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::client::{addrs, connect, query, tcp, tcp_exchange, udp, udp_raw};
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
    let mut rest = Vec::new();
    assert!(matches!(c.read_to_end(&mut rest), Ok(0) | Err(_)));
    // Stalled connections (mid-prefix, mid-message) do not block others.
    let mut stalled = Vec::new();
    for i in 0..20 {
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
    still_answers(&s);
}
