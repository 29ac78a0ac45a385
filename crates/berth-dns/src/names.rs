//! Name helpers: lookup keys from query names, reverse (`.arpa`) names.
//!
//! Keys are lowercase ASCII, labels joined by `.`, without the trailing dot:
//! `Web.AppNet.` becomes `web.appnet`. A name whose labels hold a `.` byte
//! (`a\.b`) or non-UTF-8 bytes has no key: it can never be a container's
//! name, so it is forwarded like any unknown name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;

/// The lookup key of a query name, or `None` if it cannot name a container.
pub fn name_key(name: &Name) -> Option<String> {
    let mut key = String::with_capacity(name.len());
    for label in name.iter() {
        if label.contains(&b'.') || label.is_empty() {
            return None;
        }
        let label = std::str::from_utf8(label).ok()?;
        if !key.is_empty() {
            key.push('.');
        }
        key.extend(label.chars().map(|c| c.to_ascii_lowercase()));
    }
    (!key.is_empty()).then_some(key)
}

/// Normalises a configured name (container name, alias, hostname) into a
/// key: lowercase, without a trailing dot. Empty names give `None`.
pub fn config_key(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

/// Parses a full reverse name key (`4.3.2.1.in-addr.arpa`, or the 32
/// nibbles of an `ip6.arpa` name) into the address it names. Partial
/// names (`2.1.in-addr.arpa`) and anything else give `None`.
pub fn parse_reverse(key: &str) -> Option<IpAddr> {
    if let Some(rest) = key.strip_suffix(".in-addr.arpa") {
        let mut octets = [0u8; 4];
        let mut parts = rest.split('.');
        for slot in octets.iter_mut().rev() {
            let part = parts.next()?;
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        return parts
            .next()
            .is_none()
            .then_some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    let rest = key.strip_suffix(".ip6.arpa")?;
    let mut value: u128 = 0;
    let mut count = 0;
    for (i, part) in rest.split('.').enumerate() {
        if i >= 32 || part.len() != 1 {
            return None;
        }
        let nibble = u128::from_str_radix(part, 16).ok()?;
        value |= nibble << (4 * i);
        count += 1;
    }
    (count == 32).then_some(IpAddr::V6(Ipv6Addr::from(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Option<String> {
        name_key(&Name::from_ascii(s).unwrap())
    }

    #[test]
    fn keys_are_lowercase_without_trailing_dot() {
        assert_eq!(key("Web.AppNet.").as_deref(), Some("web.appnet"));
        assert_eq!(key("web").as_deref(), Some("web"));
        assert_eq!(key("."), None);
        assert_eq!(key("a\\.b"), None);
        assert_eq!(config_key("Web."), Some("web".into()));
        assert_eq!(config_key(""), None);
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            parse_reverse("2.0.18.172.in-addr.arpa"),
            Some("172.18.0.2".parse().unwrap())
        );
        assert_eq!(parse_reverse("0.18.172.in-addr.arpa"), None);
        assert_eq!(parse_reverse("1.2.0.18.172.in-addr.arpa"), None);
        assert_eq!(parse_reverse("256.0.18.172.in-addr.arpa"), None);
        assert_eq!(parse_reverse("+2.0.18.172.in-addr.arpa"), None);
        let v6: Ipv6Addr = "fd00:1::2".parse().unwrap();
        let nibbles: Vec<String> = format!("{:032x}", u128::from(v6))
            .chars()
            .rev()
            .map(|c| c.to_string())
            .collect();
        let name = format!("{}.ip6.arpa", nibbles.join("."));
        assert_eq!(parse_reverse(&name), Some(IpAddr::V6(v6)));
        assert_eq!(parse_reverse("2.ip6.arpa"), None);
        assert_eq!(parse_reverse("web"), None);
    }
}
