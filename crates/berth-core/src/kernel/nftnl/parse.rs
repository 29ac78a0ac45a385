//! Parsing the element commands berth renders (`add element inet berth
//! ports4 { KEY : VALUE }`) into their netlink encoding (pure).

use super::{NFPROTO_BRIDGE, NFPROTO_INET};
use std::net::IpAddr;

/// One `add element` / `delete element` command, encoded.
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

/// A field of a key or value.
#[derive(Clone, Copy)]
enum Field {
    V4,
    V6,
    Proto,
    Service,
    IfName,
    /// `ether_addr`: 6 bytes.
    Ether,
    /// A 128-bit integer in hex (`0xfe80…`), big-endian: the raw payload
    /// key of `port_nd`.
    Int128,
}

/// The key and value layout of the sets berth changes at run time.
fn schema(family: &str, set: &str) -> Option<(&'static [Field], &'static [Field], bool)> {
    use Field::*;
    Some(match (family, set) {
        ("inet", "ports4") => (&[V4, Proto, Service], &[V4, Service], true),
        ("inet", "ports4_keep") => (&[V4, Proto, Service], &[V4], true),
        ("inet", "ports6") => (&[V6, Proto, Service], &[V6, Service], true),
        ("inet", "ports6_keep") => (&[V6, Proto, Service], &[V6], true),
        ("bridge", "no_icc_ports") => (&[IfName], &[], false),
        ("bridge", "port_mac") => (&[IfName, Ether], &[], false),
        ("bridge", "port_ip4") => (&[IfName, Ether, V4], &[], false),
        ("bridge", "port_ip6") => (&[IfName, Ether, V6], &[], false),
        ("bridge", "port_nd") => (&[IfName, Ether, Int128], &[], false),
        _ => return None,
    })
}

/// Encodes one field value (`0.0.0.0/0`, `10.0.0.2`, `tcp`, `80`,
/// `8000-8010`, `"veth1"`, `02:42:ac:11:00:02`, `0xfe80…`) as its (lower,
/// upper) register bytes.
fn field(f: Field, text: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let pad = |mut v: Vec<u8>| {
        v.resize(v.len().div_ceil(4) * 4, 0);
        v
    };
    match f {
        Field::V4 | Field::V6 => {
            let (ip, len) = match text.split_once('/') {
                Some((ip, len)) => (ip.parse::<IpAddr>().ok()?, len.parse::<u32>().ok()?),
                None => {
                    let ip = text.parse::<IpAddr>().ok()?;
                    (ip, if ip.is_ipv4() { 32 } else { 128 })
                }
            };
            let (lo, hi) = match (f, ip) {
                (Field::V4, IpAddr::V4(a)) if len <= 32 => {
                    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                    let a = u32::from(a) & mask;
                    (a.to_be_bytes().to_vec(), (a | !mask).to_be_bytes().to_vec())
                }
                (Field::V6, IpAddr::V6(a)) if len <= 128 => {
                    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                    let a = u128::from(a) & mask;
                    (a.to_be_bytes().to_vec(), (a | !mask).to_be_bytes().to_vec())
                }
                _ => return None,
            };
            Some((lo, hi))
        }
        Field::Proto => {
            let p = match text {
                "tcp" => 6u8,
                "udp" => 17,
                _ => return None,
            };
            Some((pad(vec![p]), pad(vec![p])))
        }
        Field::Service => {
            let (a, b) = match text.split_once('-') {
                Some((a, b)) => (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?),
                None => {
                    let p = text.parse::<u16>().ok()?;
                    (p, p)
                }
            };
            Some((pad(a.to_be_bytes().to_vec()), pad(b.to_be_bytes().to_vec())))
        }
        Field::IfName => {
            let name = text.strip_prefix('"')?.strip_suffix('"')?;
            if name.is_empty() || name.len() > 15 {
                return None;
            }
            let mut v = name.as_bytes().to_vec();
            v.resize(16, 0);
            Some((v.clone(), v))
        }
        Field::Ether => {
            let mac = crate::kernel::msg::parse_mac(text)?;
            let v = pad(mac);
            Some((v.clone(), v))
        }
        Field::Int128 => {
            let hex = text.strip_prefix("0x")?;
            if hex.is_empty() || hex.len() > 32 {
                return None;
            }
            let v = u128::from_str_radix(hex, 16).ok()?.to_be_bytes().to_vec();
            Some((v.clone(), v))
        }
    }
}

/// Encodes a `.`-separated concatenation; `(lower, upper)`.
fn concat(fields: &[Field], text: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let parts: Vec<&str> = text.split(" . ").map(str::trim).collect();
    if parts.len() != fields.len() {
        return None;
    }
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    for (f, p) in fields.iter().zip(parts) {
        let (a, b) = field(*f, p)?;
        lo.extend(a);
        hi.extend(b);
    }
    Some((lo, hi))
}

/// Parses one `add|delete element FAMILY TABLE SET { KEY [: VALUE] }` line.
pub(super) fn parse_line(line: &str) -> Option<ElementOp> {
    let (head, body) = line.trim().split_once('{')?;
    let body = body.trim().strip_suffix('}')?.trim();
    let words: Vec<&str> = head.split_whitespace().collect();
    let [verb, "element", family, table, set] = words.as_slice() else {
        return None;
    };
    let add = match *verb {
        "add" => true,
        "delete" => false,
        _ => return None,
    };
    let (key_fields, value_fields, interval) = schema(family, set)?;
    let (key_text, value_text) = match body.split_once(" : ") {
        Some((k, v)) => (k, Some(v)),
        None => (body, None),
    };
    let (key, end) = concat(key_fields, key_text)?;
    let data = match (add, value_text, value_fields.is_empty()) {
        (true, Some(v), false) => Some(concat(value_fields, v)?.0),
        (_, None, true) | (false, None, false) => None,
        _ => return None,
    };
    Some(ElementOp {
        add,
        family: if *family == "inet" {
            NFPROTO_INET
        } else {
            NFPROTO_BRIDGE
        },
        table: table.to_string(),
        set: set.to_string(),
        key,
        key_end: interval.then_some(end),
        data,
    })
}

/// The element operations of an nft transaction text, or `None` when any
/// line is something else (the transaction then goes to libnftables).
pub fn parse(text: &str) -> Option<Vec<ElementOp>> {
    let ops: Option<Vec<ElementOp>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect();
    ops.filter(|o| !o.is_empty())
}
