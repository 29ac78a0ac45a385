//! Who may see which name: the pure lookup logic.
//!
//! [`Resolver::new`] indexes a [`Snapshot`]; [`Resolver::lookup`] is a pure
//! function of that index, the address the query arrived on, the address
//! it came from and the question. No I/O happens here.
//!
//! The rules (Docker's):
//! - the arrival address is a gateway: it names the network `N`;
//! - the source address is an endpoint on `N`: it names the asking container,
//!   which sees every DNS-enabled network it is attached to (`N` first);
//! - on those networks a container answers to its name, its aliases on that
//!   network, its short (12 hex) and full id and its hostname, and also to
//!   `name.network` on that network only; case-insensitively;
//! - a name that matches on several visible networks answers with the
//!   addresses of the first network that has it, the arrival network first;
//! - PTR for a visible endpoint's address answers `name.network.`;
//! - everything else (other networks' names included: they are not leaked,
//!   not even as an error) is forwarded to the asker's `--dns` servers, or
//!   the host's upstreams; unknown askers only ever get forwarding.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::Query;
use hickory_proto::rr::{DNSClass, RecordType};

use crate::names::{config_key, name_key, parse_reverse};
use crate::snapshot::{EndpointRec, Snapshot};

/// What to do with a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The name is a visible container's: answer with these addresses (of
    /// the queried family; empty means "the name exists, no such record",
    /// NOERROR without answers).
    Local(Vec<IpAddr>),
    /// A reverse query for a visible container's address: answer with this
    /// fully qualified name (`name.network.`).
    Ptr(String),
    /// Not ours to answer: forward to these upstreams (empty: SERVFAIL).
    Forward(&'a [SocketAddr]),
}

/// One container's addresses on one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    v4: Option<std::net::Ipv4Addr>,
    v6: Option<std::net::Ipv6Addr>,
}

/// A DNS-enabled network's records.
#[derive(Debug, Default)]
struct Net {
    /// Lookup key → containers answering to it on this network.
    names: HashMap<String, Vec<Target>>,
    /// Endpoint address → `name.network.`.
    ptr: HashMap<IpAddr, String>,
}

/// A known asking endpoint.
#[derive(Debug)]
struct Asker {
    /// Indices of the networks it sees, the arrival network first.
    visible: Vec<usize>,
    /// Its `--dns` servers (empty: use the host's upstreams).
    upstreams: Vec<SocketAddr>,
}

/// An indexed snapshot, ready to answer questions.
#[derive(Debug, Default)]
pub struct Resolver {
    generation: u64,
    host_upstreams: Vec<SocketAddr>,
    nets: Vec<Net>,
    by_gateway: HashMap<IpAddr, usize>,
    by_net_name: HashMap<String, usize>,
    askers: HashMap<(usize, IpAddr), Asker>,
    gateways: Vec<IpAddr>,
}

impl Resolver {
    /// Indexes a snapshot. Endpoints on unknown or DNS-disabled networks
    /// are ignored.
    pub fn new(snapshot: &Snapshot) -> Resolver {
        let mut r = Resolver {
            generation: snapshot.generation,
            host_upstreams: snapshot.host_upstreams.iter().map(|u| u.0).collect(),
            ..Resolver::default()
        };
        let mut net_index: HashMap<&str, usize> = HashMap::new();
        let mut net_names: Vec<&str> = Vec::new();
        for net in snapshot.networks.iter().filter(|n| n.dns) {
            if net_index.contains_key(net.id.as_str()) {
                continue;
            }
            let i = r.nets.len();
            net_index.insert(&net.id, i);
            r.nets.push(Net::default());
            net_names.push(&net.name);
            if let Some(key) = config_key(&net.name) {
                r.by_net_name.entry(key).or_insert(i);
            }
            for gw in &net.gateways {
                let gw = gw.to_canonical();
                if r.by_gateway.insert(gw, i).is_none() {
                    r.gateways.push(gw);
                }
            }
        }
        // Endpoints on served networks, with their network's index.
        let eps: Vec<(usize, &EndpointRec)> = snapshot
            .endpoints
            .iter()
            .filter_map(|ep| net_index.get(ep.network_id.as_str()).map(|&i| (i, ep)))
            .collect();
        for &(i, ep) in &eps {
            r.index_endpoint(i, ep, net_names[i]);
        }
        r.index_askers(&eps);
        r
    }

    /// Records who may ask: each endpoint's addresses on its network, with
    /// the networks its container sees (that network first).
    fn index_askers(&mut self, eps: &[(usize, &EndpointRec)]) {
        let mut nets_of: HashMap<&str, Vec<usize>> = HashMap::new();
        for &(i, ep) in eps {
            let list = nets_of.entry(ep.container_id.as_str()).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
        for &(i, ep) in eps {
            let mut visible = vec![i];
            if let Some(all) = nets_of.get(ep.container_id.as_str()) {
                visible.extend(all.iter().filter(|&&n| n != i));
            }
            let upstreams: Vec<SocketAddr> = ep.dns.iter().map(|u| u.0).collect();
            for addr in endpoint_addrs(ep) {
                let asker = Asker {
                    visible: visible.clone(),
                    upstreams: upstreams.clone(),
                };
                self.askers.entry((i, addr)).or_insert(asker);
            }
        }
    }

    /// Adds one endpoint's names and reverse entries to network `i`.
    fn index_endpoint(&mut self, i: usize, ep: &EndpointRec, net_name: &str) {
        let target = Target {
            v4: ep.ipv4,
            v6: ep.ipv6,
        };
        let net = &mut self.nets[i];
        let short_id = ep
            .container_id
            .get(..12)
            .filter(|_| ep.container_id.len() > 12);
        let mut keys: Vec<String> = [Some(ep.name.as_str()), Some(ep.hostname.as_str()), short_id]
            .into_iter()
            .flatten()
            .chain(std::iter::once(ep.container_id.as_str()))
            .chain(ep.aliases.iter().map(String::as_str))
            .filter_map(config_key)
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let targets = net.names.entry(key).or_default();
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let ptr_name = format!("{}.{}.", ep.name.trim_end_matches('.'), net_name);
        for addr in endpoint_addrs(ep) {
            net.ptr.entry(addr).or_insert_with(|| ptr_name.clone());
        }
    }

    /// The generation of the snapshot this resolver was built from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every gateway address of every DNS-enabled network: where to listen.
    pub fn listen_addrs(&self) -> &[IpAddr] {
        &self.gateways
    }

    /// Every upstream any asker may be forwarded to.
    pub fn upstreams(&self) -> Vec<SocketAddr> {
        let mut all = self.host_upstreams.clone();
        all.extend(
            self.askers
                .values()
                .flat_map(|a| a.upstreams.iter().copied()),
        );
        all.sort();
        all.dedup();
        all
    }

    /// Decides what to do with `query`, which arrived on `listen` from `src`.
    pub fn lookup(&self, listen: IpAddr, src: IpAddr, query: &Query) -> Outcome<'_> {
        let host = Outcome::Forward(&self.host_upstreams);
        let Some(&net) = self.by_gateway.get(&listen.to_canonical()) else {
            return host;
        };
        let Some(asker) = self.askers.get(&(net, src.to_canonical())) else {
            return host;
        };
        let forward = if asker.upstreams.is_empty() {
            host
        } else {
            Outcome::Forward(&asker.upstreams)
        };
        if query.query_class() != DNSClass::IN {
            return forward;
        }
        let Some(key) = name_key(query.name()) else {
            return forward;
        };
        let qtype = query.query_type();
        if qtype == RecordType::PTR {
            if let Some(ip) = parse_reverse(&key) {
                let found = asker
                    .visible
                    .iter()
                    .find_map(|&n| self.nets[n].ptr.get(&ip));
                return found.map_or(forward, |name| Outcome::Ptr(name.clone()));
            }
        }
        match self.find(&asker.visible, &key) {
            Some(targets) => Outcome::Local(addresses(targets, qtype)),
            None => forward,
        }
    }

    /// The containers answering to `key` on the first visible network that
    /// has it: plain names first, then `name.network` splits.
    fn find(&self, visible: &[usize], key: &str) -> Option<&[Target]> {
        let on = |n: usize, k: &str| self.nets[n].names.get(k).map(Vec::as_slice);
        if let Some(found) = visible.iter().find_map(|&n| on(n, key)) {
            return Some(found);
        }
        key.match_indices('.').find_map(|(dot, _)| {
            let n = *self.by_net_name.get(&key[dot + 1..])?;
            if visible.contains(&n) {
                on(n, &key[..dot])
            } else {
                None
            }
        })
    }
}

/// An endpoint's addresses.
fn endpoint_addrs(ep: &EndpointRec) -> impl Iterator<Item = IpAddr> {
    let v4 = ep.ipv4.map(IpAddr::V4);
    let v6 = ep.ipv6.map(IpAddr::V6);
    v4.into_iter().chain(v6)
}

/// The addresses of `targets` that answer a `qtype` question.
fn addresses(targets: &[Target], qtype: RecordType) -> Vec<IpAddr> {
    let (want4, want6) = match qtype {
        RecordType::A => (true, false),
        RecordType::AAAA => (false, true),
        RecordType::ANY => (true, true),
        _ => (false, false),
    };
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        if let Some(a) = t.v4.filter(|_| want4) {
            out.push(IpAddr::V4(a));
        }
        if let Some(a) = t.v6.filter(|_| want6) {
            out.push(IpAddr::V6(a));
        }
    }
    out.dedup();
    out
}
