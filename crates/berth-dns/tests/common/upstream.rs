//! A fake upstream resolver (UDP and TCP on one loopback address and port).
//!
//! By query name:
//! - `example.test`: `A 192.0.2.1`;
//! - `fail.test`: SERVFAIL;
//! - `big.test`: over UDP, an empty truncated (TC) answer; over TCP, 100 A
//!   records;
//! - `silent.test`: never answers;
//! - `spoof.test`: first an answer with the right id but another question
//!   (`evil.test A 6.6.6.6`), then the real one (`A 192.0.2.2`);
//! - anything else: NXDOMAIN with an SOA in the authority section.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::runtime::Runtime;

/// What the fake upstream saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub udp: AtomicUsize,
    pub udp_ports: Mutex<std::collections::BTreeSet<u16>>,
    pub tcp: AtomicUsize,
    pub names: Mutex<Vec<String>>,
}

impl Seen {
    /// Whether a query for `name` (lowercase, no trailing dot) arrived.
    pub fn saw(&self, name: &str) -> bool {
        self.names.lock().unwrap().iter().any(|n| n == name)
    }
}

/// A running fake upstream.
pub struct FakeUpstream {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
}

impl FakeUpstream {
    /// Starts on `ip` (any free port, same for UDP and TCP) in `rt`.
    pub fn start(rt: &Runtime, ip: &str) -> FakeUpstream {
        Self::start_with(rt, ip, true)
    }

    /// Like [`FakeUpstream::start`]; without TCP if `tcp` is false (its
    /// port refuses connections).
    pub fn start_with(rt: &Runtime, ip: &str, with_tcp: bool) -> FakeUpstream {
        let (udp, tcp) = rt.block_on(async {
            loop {
                let udp = UdpSocket::bind((ip.parse::<std::net::IpAddr>().unwrap(), 0))
                    .await
                    .unwrap();
                if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                    break (udp, tcp);
                }
            }
        });
        let addr = udp.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        rt.spawn(serve_udp(udp, seen.clone()));
        if with_tcp {
            rt.spawn(serve_tcp(tcp, seen.clone()));
        }
        FakeUpstream { addr, seen }
    }
}

async fn serve_udp(socket: UdpSocket, seen: Arc<Seen>) {
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((n, src)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        seen.udp.fetch_add(1, Ordering::SeqCst);
        seen.udp_ports.lock().unwrap().insert(src.port());
        if let Some(spoof) = spoofed(&buf[..n]) {
            let _ = socket.send_to(&spoof, src).await;
        }
        if let Some(reply) = answer(&buf[..n], false, &seen) {
            let _ = socket.send_to(&reply, src).await;
        }
    }
}

async fn serve_tcp(listener: TcpListener, seen: Arc<Seen>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Ok(len) = stream.read_u16().await {
                let mut query = vec![0u8; usize::from(len)];
                if stream.read_exact(&mut query).await.is_err() {
                    return;
                }
                seen.tcp.fetch_add(1, Ordering::SeqCst);
                if let Some(reply) = answer(&query, true, &seen) {
                    let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&reply);
                    let _ = stream.write_all(&framed).await;
                }
            }
        });
    }
}

/// The reply to `query`, or `None` to stay silent.
fn answer(query: &[u8], tcp: bool, seen: &Seen) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let question = q.queries.first()?.clone();
    let name = question
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    seen.names.lock().unwrap().push(name.clone());
    let mut reply = Message::new(q.id, MessageType::Response, q.op_code);
    reply.metadata.recursion_desired = q.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_query(question.clone());
    let owner = question.name().clone();
    match name.as_str() {
        "silent.test" => return None,
        "spoof.test" => {
            reply.add_answer(Record::from_rdata(
                owner,
                60,
                RData::A(A::new(192, 0, 2, 2)),
            ));
        }
        "example.test" => {
            reply.add_answer(Record::from_rdata(
                owner,
                60,
                RData::A(A::new(192, 0, 2, 1)),
            ));
        }
        "fail.test" => reply.metadata.response_code = ResponseCode::ServFail,
        "big.test" if !tcp => reply.metadata.truncation = true,
        "big.test" => {
            for i in 0..100u8 {
                let a = RData::A(A::new(198, 18, 0, i));
                reply.add_answer(Record::from_rdata(owner.clone(), 60, a));
            }
        }
        _ => {
            reply.metadata.response_code = ResponseCode::NXDomain;
            let soa = SOA::new(
                Name::from_ascii("ns.test.").unwrap(),
                Name::from_ascii("admin.test.").unwrap(),
                1,
                3600,
                600,
                86400,
                60,
            );
            let zone = Name::from_ascii("test.").unwrap();
            reply.add_authority(Record::from_rdata(zone, 60, RData::SOA(soa)));
        }
    }
    reply.to_vec().ok()
}

/// For `spoof.test`: an answer with the query's id for another question.
fn spoofed(query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let question = q.queries.first()?;
    if !question
        .name()
        .to_ascii()
        .eq_ignore_ascii_case("spoof.test.")
    {
        return None;
    }
    let evil = Name::from_ascii("evil.test.").unwrap();
    let mut reply = Message::new(q.id, MessageType::Response, q.op_code);
    reply.add_query(hickory_proto::op::Query::query(
        evil.clone(),
        question.query_type(),
    ));
    reply.add_answer(Record::from_rdata(evil, 60, RData::A(A::new(6, 6, 6, 6))));
    reply.to_vec().ok()
}
