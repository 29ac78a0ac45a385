//! The networks a new network could clash with, found through indexes
//! (issue 13, goal 3): the `subnets` table (a row per subnet of each
//! network, keyed by its first address) answers "which networks overlap
//! this range" without reading and decoding every network record, and
//! the `networks_by_bridge` index answers "which network has this bridge".

use super::{parse, Tx};
use crate::error::Result;
use crate::model::Network;
use ipnet::IpNet;
use rusqlite::params;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The key of a subnet in the `subnets` table: its address family (4 or
/// 6) and its first address as big-endian bytes, which SQLite compares
/// as addresses compare (memcmp), so a range of keys is a range of
/// addresses.
pub(crate) fn subnet_key(net: &IpNet) -> (i64, Vec<u8>) {
    addr_key(net.network())
}

/// An address's family and big-endian bytes.
fn addr_key(a: IpAddr) -> (i64, Vec<u8>) {
    match a {
        IpAddr::V4(a) => (4, a.octets().to_vec()),
        IpAddr::V6(a) => (6, a.octets().to_vec()),
    }
}

/// The distinct first addresses of the prefixes shorter than `net` that
/// contain its first address (pure): every subnet that overlaps `net`
/// and starts before it contains `net`'s first address, so it starts at
/// one of these. At most one per bit set in `net`'s prefix, plus 0.
fn containing_starts(net: &IpNet) -> BTreeSet<Vec<u8>> {
    (0..net.prefix_len())
        .filter_map(|len| IpNet::new(net.network(), len).ok())
        .map(|n| subnet_key(&n.trunc()).1)
        .collect()
}

impl Tx<'_> {
    /// Records network `n`'s subnets in the `subnets` table.
    pub(super) fn insert_subnets(&self, n: &Network) -> Result<()> {
        let mut st = self.t.prepare_cached(
            "INSERT INTO subnets (network_id, family, first, subnet) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for c in &n.ipam {
            let (family, first) = subnet_key(&c.subnet);
            st.execute(params![n.id, family, first, c.subnet.trunc().to_string()])?;
        }
        Ok(())
    }

    /// Forgets network `id`'s subnets.
    pub(super) fn delete_subnets(&self, id: &str) -> Result<()> {
        self.t
            .prepare_cached("DELETE FROM subnets WHERE network_id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// The ids of the networks with a subnet that overlaps `range`: those
    /// starting inside it (one index range), and those that contain its
    /// first address (one index lookup per shorter prefix that could).
    fn networks_overlapping(&self, range: &IpNet, out: &mut BTreeSet<String>) -> Result<()> {
        let range = range.trunc();
        let (family, first) = subnet_key(&range);
        let (_, last) = addr_key(range.broadcast());
        let mut inside = self.t.prepare_cached(
            "SELECT network_id, subnet FROM subnets WHERE family = ?1 AND first BETWEEN ?2 AND ?3",
        )?;
        let mut at = self.t.prepare_cached(
            "SELECT network_id, subnet FROM subnets WHERE family = ?1 AND first = ?2",
        )?;
        let mut rows: Vec<(String, String)> = inside
            .query_map(params![family, first, last], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for start in containing_starts(&range) {
            rows.extend(
                at.query_map(params![family, start], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            );
        }
        for (id, subnet) in rows {
            // A row that does not parse is kept: planning then sees the
            // whole record and decides.
            let clash = subnet
                .parse::<IpNet>()
                .map_or(true, |s| crate::ipam::overlaps(&s, &range));
            if clash {
                out.insert(id);
            }
        }
        Ok(())
    }

    /// The networks a new network with subnets in `ranges` and bridge
    /// `bridge` could clash with: those with a subnet overlapping one of
    /// `ranges`, and the one whose bridge is `bridge` — each found through
    /// an index, so the cost does not grow with the number of networks.
    /// Planning checks the new network against these as it would against
    /// every network (the others cannot clash).
    pub fn networks_near(&self, ranges: &[IpNet], bridge: Option<&str>) -> Result<Vec<Network>> {
        let mut ids = BTreeSet::new();
        for r in ranges {
            self.networks_overlapping(r, &mut ids)?;
        }
        if let Some(b) = bridge {
            let mut st = self.t.prepare_cached(
                "SELECT id FROM networks WHERE json_extract(data, '$.bridge') = ?1",
            )?;
            let found = st
                .query_map([b], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ids.extend(found);
        }
        let mut st = self
            .t
            .prepare_cached("SELECT data FROM networks WHERE id = ?1")?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            let data: String = st.query_row([id], |r| r.get(0))?;
            out.push(parse(&data)?);
        }
        Ok(out)
    }

    /// True when a network is called exactly `name`.
    pub fn network_name_taken(&self, name: &str) -> Result<bool> {
        let mut st = self
            .t
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM networks WHERE name = ?1)")?;
        Ok(st.query_row([name], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containing_starts_are_the_masked_first_addresses() {
        // 10 is 0b00001010: /0../4 start at 0, /5 and /6 at 8, /7 at 10.
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        let want: BTreeSet<Vec<u8>> = [[0, 0, 0, 0], [8, 0, 0, 0], [10, 0, 0, 0]]
            .iter()
            .map(|a| a.to_vec())
            .collect();
        assert_eq!(containing_starts(&n), want);
        // One start per bit set in the prefix before its last, plus 0.
        let n: IpNet = "10.200.5.0/24".parse().unwrap();
        let starts = containing_starts(&n);
        assert!(starts.contains(&vec![10, 200, 4, 0]));
        assert!(!starts.contains(&vec![10, 200, 5, 0]));
        assert_eq!(starts.len(), 7, "{starts:?}");
    }
}
