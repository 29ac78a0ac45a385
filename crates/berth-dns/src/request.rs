//! The request path without I/O: bytes in, an [`Action`] out.
//!
//! [`handle`] parses a query with hickory-proto, asks the [`Resolver`] and
//! either encodes the reply (local names, errors) or says where to forward
//! the query. Both the UDP and TCP loops and the fuzz target go through it.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{Name, RData, Record};

use crate::budget::Charge;
use crate::resolver::{Outcome, Resolver};

/// TTL of locally answered records (Docker's embedded DNS uses 600 s).
pub const LOCAL_TTL: u32 = 600;
/// The UDP payload size the resolver advertises in EDNS replies.
pub const SERVER_UDP_PAYLOAD: u16 = 1232;
/// The largest UDP reply the resolver ever sends, whatever a client asks.
pub const MAX_UDP_PAYLOAD: usize = 4096;
/// Plain DNS's UDP limit, for clients without EDNS.
pub const CLASSIC_UDP_PAYLOAD: usize = 512;
/// The DNS header size.
pub const HEADER_LEN: usize = 12;

/// How the query arrived, which bounds the reply size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: replies larger than the client's payload size are truncated.
    Udp,
    /// TCP: replies up to 65535 bytes.
    Tcp,
}

/// What to do with one incoming packet.
#[derive(Debug)]
pub enum Action<'a> {
    /// Send these bytes back.
    Reply(Vec<u8>),
    /// Forward the query to upstreams (see [`crate::forward`]).
    Forward(Forward<'a>),
    /// Say nothing (not a query, too short to answer, or garbage from a
    /// stranger).
    Drop,
}

/// A query to forward, with what is needed to answer the client.
#[derive(Debug)]
pub struct Forward<'a> {
    /// The upstreams to try, in order.
    pub upstreams: &'a [SocketAddr],
    /// The parsed query (for SERVFAIL and truncated replies).
    pub request: Message,
    /// The largest reply the client accepts.
    pub limit: usize,
    /// The budgets the forward is charged to (see [`crate::budget`]).
    pub charge: Charge<'a>,
}

/// Handles one packet that arrived on `listen` from `src`. A source that
/// is not an endpoint of the network `listen` serves gets REFUSED for a
/// query, silence for anything else.
pub fn handle<'a>(
    resolver: &'a Resolver,
    listen: IpAddr,
    src: IpAddr,
    packet: &[u8],
    transport: Transport,
) -> Action<'a> {
    if packet.len() < HEADER_LEN || packet[2] & 0x80 != 0 {
        return Action::Drop;
    }
    let client = resolver.client(listen, src);
    let request = match Message::from_vec(packet) {
        Ok(m) => m,
        Err(_) if client.is_none() => return Action::Drop,
        Err(_) => return Action::Reply(header_error(packet, ResponseCode::FormErr)),
    };
    let limit = client_limit(&request, transport);
    let Some(client) = client else {
        return Action::Reply(encode(error_reply(&request, ResponseCode::Refused), limit));
    };
    if request.op_code != OpCode::Query {
        return Action::Reply(encode(error_reply(&request, ResponseCode::NotImp), limit));
    }
    let [query] = request.queries.as_slice() else {
        return Action::Reply(encode(error_reply(&request, ResponseCode::FormErr), limit));
    };
    let records = match client.lookup(query) {
        Outcome::Refused => {
            return Action::Reply(encode(error_reply(&request, ResponseCode::Refused), limit))
        }
        Outcome::Forward([]) => {
            return Action::Reply(encode(error_reply(&request, ResponseCode::ServFail), limit))
        }
        Outcome::Forward(upstreams) => {
            return Action::Forward(Forward {
                upstreams,
                request,
                limit,
                charge: client.charge(),
            })
        }
        Outcome::Local(addrs) => addrs
            .into_iter()
            .map(|ip| {
                let data = match ip {
                    IpAddr::V4(a) => RData::A(A(a)),
                    IpAddr::V6(a) => RData::AAAA(AAAA(a)),
                };
                Record::from_rdata(query.name().clone(), LOCAL_TTL, data)
            })
            .collect(),
        Outcome::Ptr(name) => match Name::from_ascii(&name) {
            Ok(target) => vec![Record::from_rdata(
                query.name().clone(),
                LOCAL_TTL,
                RData::PTR(PTR(target)),
            )],
            Err(_) => Vec::new(),
        },
    };
    let mut reply = reply_to(&request);
    reply.metadata.authoritative = true;
    reply.answers = records;
    Action::Reply(encode(reply, limit))
}

/// The largest reply `request`'s client accepts over `transport`.
pub fn client_limit(request: &Message, transport: Transport) -> usize {
    match transport {
        Transport::Tcp => usize::from(u16::MAX),
        Transport::Udp => request
            .edns
            .as_ref()
            .map_or(CLASSIC_UDP_PAYLOAD, |e| usize::from(e.max_payload()))
            .clamp(CLASSIC_UDP_PAYLOAD, MAX_UDP_PAYLOAD),
    }
}

/// An empty reply to `request`: same id, question, RD and CD; RA set; an
/// OPT record if the request had one.
pub fn reply_to(request: &Message) -> Message {
    let mut reply = Message::new(request.id, MessageType::Response, request.op_code);
    reply.metadata = Metadata::response_from_request(&request.metadata);
    reply.metadata.recursion_available = true;
    reply.queries = request.queries.clone();
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(SERVER_UDP_PAYLOAD);
        reply.edns = Some(edns);
    }
    reply
}

/// A reply to `request` carrying only an error code.
pub fn error_reply(request: &Message, code: ResponseCode) -> Message {
    let mut reply = reply_to(request);
    reply.metadata.response_code = code;
    reply
}

/// Encodes `reply`; if it is larger than `limit`, drops its records and
/// sets TC so the client retries over TCP.
pub fn encode(mut reply: Message, limit: usize) -> Vec<u8> {
    if let Ok(bytes) = reply.to_vec() {
        if bytes.len() <= limit {
            return bytes;
        }
    }
    reply.answers.clear();
    reply.authorities.clear();
    reply.additionals.clear();
    reply.metadata.truncation = true;
    match reply.to_vec() {
        Ok(bytes) if bytes.len() <= limit => bytes,
        // The question alone does not fit (or cannot be encoded).
        _ => {
            let mut header = Message::new(reply.id, MessageType::Response, reply.op_code);
            header.metadata = reply.metadata;
            header.to_vec().unwrap_or_default()
        }
    }
}

/// A header-only error reply for a packet whose body cannot be parsed.
fn header_error(packet: &[u8], code: ResponseCode) -> Vec<u8> {
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let op_code = OpCode::from_u8((packet[2] >> 3) & 0x0f);
    let mut reply = Message::error_msg(id, op_code, code);
    reply.metadata.recursion_desired = packet[2] & 0x01 != 0;
    reply.metadata.recursion_available = true;
    reply.to_vec().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::RecordType;

    fn query(edns: Option<u16>) -> Message {
        let mut m = Message::query();
        m.add_query(Query::query(
            Name::from_ascii("pool.").unwrap(),
            RecordType::A,
        ));
        if let Some(size) = edns {
            let mut e = Edns::new();
            e.set_max_payload(size);
            m.set_edns(e);
        }
        m
    }

    #[test]
    fn limits() {
        assert_eq!(client_limit(&query(None), Transport::Udp), 512);
        assert_eq!(client_limit(&query(Some(100)), Transport::Udp), 512);
        assert_eq!(client_limit(&query(Some(1232)), Transport::Udp), 1232);
        assert_eq!(
            client_limit(&query(Some(65000)), Transport::Udp),
            MAX_UDP_PAYLOAD
        );
        assert_eq!(client_limit(&query(None), Transport::Tcp), 65535);
    }

    #[test]
    fn oversized_replies_are_truncated() {
        let request = query(None);
        let mut reply = reply_to(&request);
        for i in 0..100u8 {
            let a = RData::A(A::new(10, 0, 0, i));
            reply
                .answers
                .push(Record::from_rdata(Name::from_ascii("pool.").unwrap(), 1, a));
        }
        let full = encode(reply.clone(), 65535);
        assert!(full.len() > 512);
        let cut = Message::from_vec(&encode(reply, 512)).unwrap();
        assert!(cut.truncation && cut.answers.is_empty());
        assert_eq!((cut.id, cut.queries.len()), (request.id, 1));
    }

    /// One network (gateway 127.0.0.1) with one endpoint (127.0.0.2) and
    /// no upstream.
    fn one_endpoint() -> Resolver {
        Resolver::new(
            &crate::Snapshot::from_json(
                r#"{"networks": [{"id": "n", "name": "net", "dns": true, "gateways": ["127.0.0.1"]}],
                    "endpoints": [{"container_id": "c", "name": "a", "network_id": "n",
                                   "ipv4": "127.0.0.2"}]}"#,
            )
            .unwrap(),
        )
    }

    fn reply(action: Action<'_>) -> (Vec<u8>, Message) {
        let Action::Reply(bytes) = action else {
            panic!("expected a reply, got {action:?}");
        };
        let message = Message::from_vec(&bytes).unwrap();
        (bytes, message)
    }

    #[test]
    fn unparseable_bodies_get_formerr_with_the_id() {
        let resolver = one_endpoint();
        let gw: IpAddr = "127.0.0.1".parse().unwrap();
        let ep: IpAddr = "127.0.0.2".parse().unwrap();
        let mut packet = query(None).to_vec().unwrap();
        packet.truncate(14);
        let (bytes, formerr) = reply(handle(&resolver, gw, ep, &packet, Transport::Udp));
        assert_eq!(formerr.response_code, ResponseCode::FormErr);
        assert_eq!(&bytes[..2], &packet[..2]);
        assert!(matches!(
            handle(&resolver, gw, ep, &packet[..11], Transport::Udp),
            Action::Drop
        ));
        // No upstreams at all: SERVFAIL rather than silence.
        let packet = query(Some(1232)).to_vec().unwrap();
        let (_, servfail) = reply(handle(&resolver, gw, ep, &packet, Transport::Udp));
        assert_eq!(servfail.response_code, ResponseCode::ServFail);
        assert_eq!(
            servfail.edns.map(|e| e.max_payload()),
            Some(SERVER_UDP_PAYLOAD)
        );
    }

    #[test]
    fn strangers_get_refused_or_nothing() {
        let resolver = one_endpoint();
        let gw: IpAddr = "127.0.0.1".parse().unwrap();
        let packet = query(None).to_vec().unwrap();
        for stranger in ["127.0.0.3", "127.0.0.1", "::ffff:127.0.0.9", "::1"] {
            let src: IpAddr = stranger.parse().unwrap();
            let (bytes, refused) = reply(handle(&resolver, gw, src, &packet, Transport::Tcp));
            assert_eq!(refused.response_code, ResponseCode::Refused, "{stranger}");
            assert!(refused.answers.is_empty() && bytes.len() <= packet.len());
            // Garbage from a stranger: not even FORMERR.
            assert!(matches!(
                handle(&resolver, gw, src, &packet[..14], Transport::Udp),
                Action::Drop
            ));
        }
        // The endpoint, at another address than its network's gateway.
        let ep: IpAddr = "127.0.0.2".parse().unwrap();
        let (_, refused) = reply(handle(&resolver, ep, ep, &packet, Transport::Udp));
        assert_eq!(refused.response_code, ResponseCode::Refused);
        // IPv4-mapped forms are the same endpoint.
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        let (_, servfail) = reply(handle(&resolver, gw, mapped, &packet, Transport::Udp));
        assert_eq!(servfail.response_code, ResponseCode::ServFail);
    }
}
