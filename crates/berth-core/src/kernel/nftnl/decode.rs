//! Reading a set's elements back from the kernel ([`dump`]: one
//! `GETSETELEM` dump) and decoding them into typed [`Element`]s — the
//! reverse of `encode.rs`, for every set of berth's tables (topology
//! compares the port maps with the store, doctor every set).

use super::encode::Kind;
use super::{NFPROTO_BRIDGE, NFPROTO_INET};
use crate::error::{Error, Result};
use crate::firewall::{Element, Family, Field, Set};
use crate::model::Proto;
use ipnet::IpNet;
use netlink_sys::Socket;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NFT_MSG_GETSETELEM: u16 = 13;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_KEY_END: u16 = 10;
const NFTA_DATA_VALUE: u16 = 1;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The layout of every set (see `encode::schema` for the ones written over
/// netlink): key kinds, value kinds, and whether keys are intervals of a
/// concatenation (an upper bound per element).
fn layout(set: Set) -> (&'static [Kind], &'static [Kind], bool) {
    use Kind::*;
    if let Some(s) = super::encode::schema(set) {
        return s;
    }
    match set {
        Set::SameNet => (&[IfName, IfName], &[], false),
        Set::Dns4 => (&[V4], &[], false),
        Set::Dns6 => (&[V6], &[], false),
        Set::RoutingGuard => (&[NfProto], &[], false),
        Set::VxlanVnis => (&[Vni], &[], false),
        Set::VxlanVteps => (&[V4], &[], false),
        _ => (&[IfName], &[], false),
    }
}

/// The elements of `set` in berth's table of the calling thread's network
/// namespace, through `sock` (a netfilter netlink socket); a missing table
/// or set has none.
pub fn dump(sock: &mut Socket, set: Set) -> Result<Vec<Element>> {
    let family = match set.family() {
        Family::Inet => NFPROTO_INET,
        Family::Bridge => NFPROTO_BRIDGE,
    };
    let mut attrs = Vec::new();
    super::push_attr(&mut attrs, 1, &super::cstr(crate::firewall::TABLE));
    super::push_attr(&mut attrs, 2, &super::cstr(set.name()));
    let kind = (super::NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
    let msg = super::message(kind, NLM_F_DUMP, 1, family, 0, &attrs);
    let fail = |what: &str, e: std::io::Error| Error::kernel(format!("nftables dump {what}: {e}"));
    sock.send(&msg, 0).map_err(|e| fail("send", e))?;
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = sock
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| fail("receive", e))?;
        match messages(&buf[..n], &mut raw) {
            Some(Ok(())) => break,
            Some(Err(errno)) if errno == libc::ENOENT => return Ok(Vec::new()),
            Some(Err(errno)) => return Err(fail("", std::io::Error::from_raw_os_error(errno))),
            None => {}
        }
    }
    Ok(decode_all(set, &raw))
}

/// One element as the kernel dumps it.
#[derive(Debug, Default)]
struct Raw {
    key: Vec<u8>,
    key_end: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
}

/// Adds the elements of the messages in `buf` to `out`; `Some` once the
/// dump is over (`Err(errno)` when it failed).
fn messages(mut buf: &[u8], out: &mut Vec<Raw>) -> Option<std::result::Result<(), i32>> {
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes(buf[..4].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        if len < 16 || len > buf.len() {
            return None;
        }
        let body = &buf[16..len];
        match kind {
            NLMSG_DONE => return Some(Ok(())),
            NLMSG_ERROR => {
                let errno = i32::from_ne_bytes(body.get(..4)?.try_into().ok()?);
                return Some(if errno == 0 { Ok(()) } else { Err(-errno) });
            }
            _ => {
                let list = attr(body.get(4..)?, NFTA_SET_ELEM_LIST_ELEMENTS)?;
                out.extend(attrs(list, NFTA_LIST_ELEM).map(raw));
            }
        }
        buf = &buf[(len.div_ceil(4) * 4).min(buf.len())..];
    }
    None
}

fn raw(elem: &[u8]) -> Raw {
    let value = |kind| attr(elem, kind).and_then(|d| attr(d, NFTA_DATA_VALUE).map(<[u8]>::to_vec));
    Raw {
        key: value(NFTA_SET_ELEM_KEY).unwrap_or_default(),
        key_end: value(NFTA_SET_ELEM_KEY_END),
        data: value(NFTA_SET_ELEM_DATA),
    }
}

/// The attributes of type `kind` in a run of netlink attributes.
fn attrs(mut buf: &[u8], kind: u16) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        while buf.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
            let t = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
            if len < 4 || len > buf.len() {
                return None;
            }
            let payload = &buf[4..len];
            buf = &buf[len.div_ceil(4).saturating_mul(4).min(buf.len())..];
            if t == kind {
                return Some(payload);
            }
        }
        None
    })
}

fn attr(buf: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(buf, kind).next()
}

/// Decodes a dump of `set`: elements that do not fit its layout are left
/// out (they are not berth's).
fn decode_all(set: Set, raw: &[Raw]) -> Vec<Element> {
    let (key, value, _) = layout(set);
    raw.iter()
        .filter_map(|r| {
            let hi = r.key_end.as_deref().unwrap_or(&r.key);
            let key = fields(key, &r.key, hi)?;
            let data = r.data.as_deref().unwrap_or_default();
            let value = match value.is_empty() {
                true => Vec::new(),
                false => fields(value, data, data)?,
            };
            Some(Element { set, key, value })
        })
        .collect()
}

/// The fields of kinds `kinds` in registers `lo` (and upper bounds `hi`).
fn fields(kinds: &[Kind], mut lo: &[u8], mut hi: &[u8]) -> Option<Vec<Field>> {
    let single = kinds.len() == 1;
    let mut out = Vec::new();
    for k in kinds {
        let width = match k {
            Kind::V4 | Kind::Proto | Kind::Service | Kind::NfProto | Kind::Vni => 4,
            Kind::V6 | Kind::IfName | Kind::Int128 => 16,
            Kind::Ether => 8,
        };
        // A set of one field keeps it unpadded (`nf_proto` is one byte).
        let width = if single { width.min(lo.len()) } else { width };
        let (a, b) = (lo.get(..width)?, hi.get(..width)?);
        out.push(field(*k, a, b)?);
        (lo, hi) = (&lo[width..], &hi[width..]);
    }
    Some(out)
}

fn field(kind: Kind, lo: &[u8], hi: &[u8]) -> Option<Field> {
    Some(match kind {
        Kind::V4 => addr_or_prefix(
            IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(lo).ok()?)),
            IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(hi).ok()?)),
        )?,
        Kind::V6 => addr_or_prefix(
            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(lo).ok()?)),
            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(hi).ok()?)),
        )?,
        Kind::Proto => match lo.first()? {
            6 => Field::Proto(Proto::Tcp),
            17 => Field::Proto(Proto::Udp),
            _ => return None,
        },
        Kind::Service => Field::Ports(
            u16::from_be_bytes([lo[0], *lo.get(1)?]),
            u16::from_be_bytes([hi[0], *hi.get(1)?]),
        ),
        Kind::IfName => {
            let end = lo.iter().position(|b| *b == 0).unwrap_or(lo.len());
            Field::Ifname(String::from_utf8(lo[..end].to_vec()).ok()?)
        }
        Kind::Ether => Field::Ether(lo.get(..6)?.try_into().ok()?),
        Kind::Int128 => Field::Raw128(Ipv6Addr::from(<[u8; 16]>::try_from(lo).ok()?)),
        Kind::NfProto => match lo.first()? {
            2 => Field::NfProto(false),
            10 => Field::NfProto(true),
            _ => return None,
        },
        Kind::Vni => match *lo {
            [a, b, c] | [a, b, c, _] => Field::Vni(u32::from_be_bytes([0, a, b, c])),
            _ => return None,
        },
    })
}

/// One address (`lo` = `hi`) or the prefix from `lo` to `hi`.
fn addr_or_prefix(lo: IpAddr, hi: IpAddr) -> Option<Field> {
    if lo == hi {
        return Some(Field::Addr(lo));
    }
    prefix(lo, hi).map(Field::Prefix)
}

/// The prefix covering exactly `lo`..=`hi`, if there is one.
fn prefix(lo: IpAddr, hi: IpAddr) -> Option<IpNet> {
    let (l, h, bits) = match (lo, hi) {
        (IpAddr::V4(l), IpAddr::V4(h)) => (u128::from(u32::from(l)), u128::from(u32::from(h)), 32),
        (IpAddr::V6(l), IpAddr::V6(h)) => (u128::from(l), u128::from(h), 128),
        _ => return None,
    };
    let host = l ^ h;
    let len = bits - (128 - host.leading_zeros());
    let net = IpNet::new(lo, len as u8).ok()?;
    (net.network() == lo && net.broadcast() == hi).then_some(net)
}

#[cfg(test)]
mod tests;
