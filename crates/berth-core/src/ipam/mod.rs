//! IP address management (pure): choosing subnets from Docker's default pools
//! and allocating addresses inside a subnet. The store runs these inside a
//! database transaction so concurrent berth processes never hand out the same
//! address twice.

use crate::model::IpamConfig;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Docker's default address pools, in order: 172.17.0.0/16 … 172.31.0.0/16,
/// then 192.168.0.0/16 cut into /20s.
pub fn default_pools() -> Vec<IpNet> {
    let mut v: Vec<IpNet> = (17..=31u8)
        .filter_map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).ok())
        .map(IpNet::V4)
        .collect();
    for i in 0..16u8 {
        if let Ok(n) = Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20) {
            v.push(IpNet::V4(n));
        }
    }
    v
}

/// True when the two networks share any address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first default pool that overlaps none of `taken` (other networks'
/// subnets and the host's routes).
pub fn pick_subnet(taken: &[IpNet]) -> Option<IpNet> {
    default_pools()
        .into_iter()
        .find(|p| !taken.iter().any(|t| overlaps(p, t)))
}

/// A unique-local IPv6 /64 derived from a network id, for `--ipv6` networks
/// created without an IPv6 `--subnet` (as Docker 27+ does).
pub fn ula_subnet(network_id: &str) -> IpNet {
    let hex: Vec<u16> = (0..3)
        .map(|i| {
            u16::from_str_radix(network_id.get(i * 4..i * 4 + 4).unwrap_or("0"), 16).unwrap_or(0)
        })
        .collect();
    let addr = Ipv6Addr::new(
        0xfd00 | (hex[0] >> 8),
        (hex[0] << 8) | (hex[1] >> 8),
        (hex[1] << 8) | (hex[2] >> 8),
        0,
        0,
        0,
        0,
        0,
    );
    Ipv6Net::new(addr, 64)
        .map(IpNet::V6)
        .unwrap_or_else(|_| IpNet::V6(Ipv6Net::default()))
}

/// The first usable host address (Docker's default gateway).
pub fn first_host(net: &IpNet) -> IpAddr {
    nth(net, 1)
}

fn nth(net: &IpNet, n: u128) -> IpAddr {
    match net {
        IpNet::V4(n4) => IpAddr::V4(Ipv4Addr::from(
            u32::from(n4.network()).wrapping_add(n as u32),
        )),
        IpNet::V6(n6) => IpAddr::V6(Ipv6Addr::from(u128::from(n6.network()).wrapping_add(n))),
    }
}

fn offset(net: &IpNet, ip: &IpAddr) -> u128 {
    match (net, ip) {
        (IpNet::V4(n), IpAddr::V4(a)) => u128::from(u32::from(*a) - u32::from(n.network())),
        (IpNet::V6(n), IpAddr::V6(a)) => u128::from(*a) - u128::from(n.network()),
        _ => 0,
    }
}

/// True when `ip` may be given to a container: inside the subnet, not its
/// network or broadcast address, not the gateway, not an aux address.
pub fn assignable(cfg: &IpamConfig, ip: &IpAddr) -> bool {
    if !cfg.subnet.contains(ip) || *ip == cfg.gateway || cfg.aux.values().any(|a| a == ip) {
        return false;
    }
    if *ip == cfg.subnet.network() {
        return false;
    }
    !(cfg.subnet.addr().is_ipv4() && *ip == cfg.subnet.broadcast())
}

/// Allocates the next free assignable address after `after` (wrapping
/// around), within `--ip-range` and `range_start..=range_end` when set, like
/// Docker's sequential allocator. `in_use` is asked about each candidate (an
/// indexed store lookup), so an allocation costs O(1) probes while
/// addresses are free, whatever the number of containers. `None` when the
/// range is full.
pub fn allocate_after<E>(
    cfg: &IpamConfig,
    after: Option<IpAddr>,
    mut in_use: impl FnMut(&IpAddr) -> Result<bool, E>,
) -> Result<Option<IpAddr>, E> {
    let Some((base, size)) = span(cfg) else {
        return Ok(None);
    };
    let first = match after.filter(|a| cfg.subnet.contains(a)) {
        Some(a) => match offset(&cfg.subnet, &a).checked_sub(base) {
            Some(d) if d < size => (d + 1) % size,
            _ => 0,
        },
        None => 0,
    };
    // Bound the scan: a /64 cannot be walked, and a million probes means full.
    for i in 0..size.min(1 << 20) {
        let ip = nth(&cfg.subnet, base + (first + i) % size);
        if assignable(cfg, &ip) && !in_use(&ip)? {
            return Ok(Some(ip));
        }
    }
    Ok(None)
}

/// The offsets (first, count) inside the subnet that allocation walks:
/// `ip_range` (or the whole subnet) cut to `range_start..=range_end`.
fn span(cfg: &IpamConfig) -> Option<(u128, u128)> {
    let range = cfg.ip_range.unwrap_or(cfg.subnet);
    let mut lo = offset(&cfg.subnet, &range.network());
    let size: u128 = match range {
        IpNet::V4(n) => 1u128 << (32 - n.prefix_len()),
        IpNet::V6(n) => 1u128
            .checked_shl(u32::from(128 - n.prefix_len()))
            .unwrap_or(u128::MAX),
    };
    let mut hi = lo.saturating_add(size - 1);
    if let Some(s) = cfg.range_start.filter(|s| range.contains(s)) {
        lo = lo.max(offset(&cfg.subnet, &s));
    }
    if let Some(e) = cfg.range_end.filter(|e| range.contains(e)) {
        hi = hi.min(offset(&cfg.subnet, &e));
    }
    (lo <= hi).then(|| (lo, (hi - lo).saturating_add(1)))
}

/// The lowest free assignable address given the set of used ones (pure
/// convenience over [`allocate_after`]).
pub fn allocate(cfg: &IpamConfig, used: &BTreeSet<IpAddr>) -> Option<IpAddr> {
    allocate_after::<()>(cfg, None, |ip| Ok(used.contains(ip)))
        .ok()
        .flatten()
}

/// Docker-style MAC derived from an IPv4 address: `02:42:` + the 4 bytes.
pub fn mac_for_ipv4(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// A random locally administered unicast MAC (for IPv6-only endpoints).
pub fn random_mac() -> String {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    b[0] = (b[0] & 0xfe) | 0x02;
    crate::ids::format_mac(&b)
}

#[cfg(test)]
mod tests;
