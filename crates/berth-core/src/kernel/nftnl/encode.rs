//! Encoding typed elements ([`Element`]) for netlink (pure): the registers
//! of each field, as `nft --debug=netlink` shows them.

use super::{NFPROTO_BRIDGE, NFPROTO_INET};
use crate::firewall::{Element, Family, Field, Set};
use crate::model::Proto;
use std::net::IpAddr;

/// One element added or deleted, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementOp {
    /// Add (else delete).
    pub add: bool,
    /// `NFPROTO_INET` or `NFPROTO_BRIDGE`.
    pub family: u8,
    /// Table name.
    pub table: String,
    /// Set or map name.
    pub set: String,
    /// Key (lower bounds for an interval map).
    pub key: Vec<u8>,
    /// Upper bounds, for interval maps.
    pub key_end: Option<Vec<u8>>,
    /// The mapped value (maps, add only).
    pub data: Option<Vec<u8>>,
}

/// The type of a field of a key or value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    V4,
    V6,
    Proto,
    Service,
    IfName,
    /// `ether_addr`: 6 bytes.
    Ether,
    /// A 128-bit payload (`port_nd`).
    Int128,
    /// `nf_proto`: one byte (read back only).
    NfProto,
    /// A VNI: 24 bits, big-endian (`@th,96,24`; read back only).
    Vni,
}

/// The key and value layout of the sets whose elements go over netlink,
/// and whether the set holds intervals of a concatenation (then keys have
/// an upper bound); the others (the routing guard, the overlay's sets)
/// go to libnftables. A network's sets go over netlink so that `network
/// create` does not make libnftables dump every element of the interval
/// sets into its cache.
pub(super) fn schema(set: Set) -> Option<(&'static [Kind], &'static [Kind], bool)> {
    use Kind::*;
    Some(match set {
        Set::Bridges
        | Set::Internal
        | Set::NoIcc
        | Set::Masq
        | Set::Unisolated
        | Set::Routed4
        | Set::Routed6
        | Set::Unprotected4
        | Set::Unprotected6 => (&[IfName], &[], false),
        Set::SameNet => (&[IfName, IfName], &[], false),
        Set::Dns4 => (&[V4], &[], false),
        Set::Dns6 => (&[V6], &[], false),
        Set::Ports4 => (&[V4, Proto, Service], &[V4, Service], true),
        Set::Ports4Keep => (&[V4, Proto, Service], &[V4], true),
        Set::Ports6 => (&[V6, Proto, Service], &[V6, Service], true),
        Set::Ports6Keep => (&[V6, Proto, Service], &[V6], true),
        Set::NoIccPorts => (&[IfName], &[], false),
        Set::PortMac => (&[IfName, Ether], &[], false),
        Set::PortIp4 => (&[IfName, Ether, V4], &[], false),
        Set::PortIp6 => (&[IfName, Ether, V6], &[], false),
        Set::PortNd => (&[IfName, Ether, Int128], &[], false),
        Set::Open4 => (&[V4, Proto, Service], &[], true),
        Set::Open6 => (&[V6, Proto, Service], &[], true),
        _ => return None,
    })
}

fn pad(mut v: Vec<u8>) -> Vec<u8> {
    v.resize(v.len().div_ceil(4) * 4, 0);
    v
}

/// The (lower, upper) register bytes of `field` as a `kind`; `None` when
/// it is not one.
fn field(kind: Kind, field: &Field) -> Option<(Vec<u8>, Vec<u8>)> {
    let same = |v: Vec<u8>| Some((v.clone(), v));
    match (kind, field) {
        (Kind::V4, Field::Addr(IpAddr::V4(a))) => same(a.octets().to_vec()),
        (Kind::V6, Field::Addr(IpAddr::V6(a))) => same(a.octets().to_vec()),
        (Kind::V4 | Kind::V6, Field::Prefix(net)) if net.addr().is_ipv4() == (kind == Kind::V4) => {
            let bytes = |ip: IpAddr| match ip {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            };
            Some((bytes(net.network()), bytes(net.broadcast())))
        }
        (Kind::Proto, Field::Proto(p)) => same(pad(vec![proto_number(*p)])),
        (Kind::Service, Field::Ports(lo, hi)) => Some((
            pad(lo.to_be_bytes().to_vec()),
            pad(hi.to_be_bytes().to_vec()),
        )),
        (Kind::IfName, Field::Ifname(name)) if !name.is_empty() && name.len() <= 15 => {
            let mut v = name.as_bytes().to_vec();
            v.resize(16, 0);
            same(v)
        }
        (Kind::Ether, Field::Ether(mac)) => same(pad(mac.to_vec())),
        (Kind::Int128, Field::Raw128(a)) => same(a.octets().to_vec()),
        _ => None,
    }
}

/// IANA protocol number.
pub(crate) fn proto_number(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
    }
}

/// Encodes a concatenation; `(lower, upper)`.
fn concat(kinds: &[Kind], fields: &[Field]) -> Option<(Vec<u8>, Vec<u8>)> {
    if kinds.len() != fields.len() {
        return None;
    }
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    for (k, f) in kinds.iter().zip(fields) {
        let (a, b) = field(*k, f)?;
        lo.extend(a);
        hi.extend(b);
    }
    Some((lo, hi))
}

/// Element `e` added (else deleted, by its key), encoded; `None` when its
/// set goes to libnftables or its fields do not fit the set.
pub fn encode(e: &Element, add: bool) -> Option<ElementOp> {
    let (key_kinds, value_kinds, interval) = schema(e.set)?;
    let (key, end) = concat(key_kinds, &e.key)?;
    let data = match (add, value_kinds.is_empty()) {
        (true, false) => Some(concat(value_kinds, &e.value)?.0),
        (true, true) if !e.value.is_empty() => return None,
        _ => None,
    };
    Some(ElementOp {
        add,
        family: match e.set.family() {
            Family::Inet => NFPROTO_INET,
            Family::Bridge => NFPROTO_BRIDGE,
        },
        table: crate::firewall::TABLE.to_string(),
        set: e.set.name().to_string(),
        key,
        key_end: interval.then_some(end),
        data,
    })
}

/// One transaction removing `remove` (whether there or not: each is
/// added, then deleted, as in the text form) and adding `add`, encoded;
/// `None` when any element goes to libnftables.
pub fn ops(remove: &[Element], add: &[Element]) -> Option<Vec<ElementOp>> {
    let mut v = Vec::with_capacity(remove.len() * 2 + add.len());
    for e in remove {
        v.push(encode(e, true)?);
        v.push(encode(e, false)?);
    }
    for e in add {
        v.push(encode(e, true)?);
    }
    (!v.is_empty()).then_some(v)
}
