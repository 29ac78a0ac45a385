//! A blocking DNS client over std sockets, bound to a chosen source address
//! (the "container" asking).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use socket2::{Domain, Socket, Type};

/// How long a client waits for an answer.
pub const WAIT: Duration = Duration::from_secs(3);

/// A query for `name`/`qtype` with RD set, optionally with EDNS.
pub fn query(name: &str, qtype: RecordType, edns: Option<u16>) -> Message {
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m
}

/// Sends raw bytes over UDP from `src`; the raw answer, or `None`.
pub fn udp_raw(server: SocketAddr, src: &str, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind((src.parse::<IpAddr>().unwrap(), 0)).unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send_to(bytes, server).unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = socket.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Asks over UDP from `src`; panics on silence.
pub fn udp(server: SocketAddr, src: &str, m: &Message) -> Message {
    let raw = udp_raw(server, src, &m.to_vec().unwrap(), WAIT).expect("no UDP answer");
    let answer = Message::from_vec(&raw).unwrap();
    assert_eq!(answer.id, m.id);
    answer
}

/// A TCP connection to `server` from `src`.
pub fn connect(server: SocketAddr, src: &str) -> TcpStream {
    let socket = Socket::new(Domain::for_address(server), Type::STREAM, None).unwrap();
    let local = SocketAddr::new(src.parse().unwrap(), 0);
    socket.bind(&local.into()).unwrap();
    socket.connect_timeout(&server.into(), WAIT).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// One length-prefixed exchange on an open connection.
pub fn tcp_exchange(stream: &mut TcpStream, m: &Message) -> Message {
    let bytes = m.to_vec().unwrap();
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut answer).unwrap();
    let answer = Message::from_vec(&answer).unwrap();
    assert_eq!(answer.id, m.id);
    answer
}

/// Whether the server closed `stream` (EOF or a reset) without sending
/// anything, within [`WAIT`]; a connection still open is `false`.
pub fn closed_unanswered(stream: &mut TcpStream) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => {
            matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe) && rest.is_empty()
        }
    }
}

/// Sends `m` length-prefixed on `stream`, ignoring errors (the server may
/// have closed it already).
pub fn tcp_send(stream: &mut TcpStream, m: &Message) {
    let bytes = m.to_vec().unwrap();
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    let _ = stream.write_all(&framed);
}

/// Asks over a fresh TCP connection from `src`.
pub fn tcp(server: SocketAddr, src: &str, m: &Message) -> Message {
    tcp_exchange(&mut connect(server, src), m)
}

/// The addresses in an answer's A/AAAA records, as strings.
pub fn addrs(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

/// The PTR targets of an answer.
pub fn ptrs(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::PTR(p) => Some(p.0.to_string()),
            _ => None,
        })
        .collect()
}
