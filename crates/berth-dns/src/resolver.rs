//! Who may see which name: the pure lookup logic.
//!
//! [`Resolver::new`] indexes a [`Snapshot`]; [`Resolver::lookup`] is a pure
//! function of that index, the address the query arrived on, the address
//! it came from and the question. No I/O happens here.
//!
//! The rules (Docker's, plus "not an open resolver"):
//! - the arrival address is a gateway: it names the network `N`;
//! - the source address must be an endpoint on `N` (one hash lookup): it
//!   names the asking container, which sees every DNS-enabled network it is
//!   attached to (`N` first). Anyone else — a LAN neighbour routing to the
//!   gateway, a container of another network, the host — is refused
//!   (REFUSED): the resolver answers and forwards for its containers only;
//! - on those networks a container answers to its name, its aliases on that
//!   network, its short (12 hex) and full id and its hostname, and also to
//!   `name.network` on that network only; case-insensitively;
//! - a name that matches on several visible networks answers with the
//!   addresses of the first network that has it, the arrival network first;
//! - PTR for a visible endpoint's address answers `name.network.`;
//! - everything else (other networks' names included: they are not leaked,
//!   not even as an error) is forwarded to the asker's `--dns` servers, or
//!   the host's upstreams — but only for a container that reaches beyond
//!   its networks (an endpoint on a network that is not `--internal`). A
//!   container confined to internal networks is forwarded only to
//!   upstreams inside its networks' subnets, which it could reach itself;
//!   with none, SERVFAIL (Docker: no forwarding from the host for internal
//!   networks, so no DNS path out of them).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::op::Query;
use hickory_proto::rr::{DNSClass, RecordType};
use ipnet::IpNet;

use crate::budget::{Budget, Charge};
use crate::names::{config_key, name_key, parse_reverse};
use crate::snapshot::{EndpointRec, Snapshot};

mod delta;
mod keys;

use keys::{endpoint_addrs, endpoint_keys, target};

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
    /// The source is not an endpoint of the network whose gateway the
    /// query arrived on: REFUSED.
    Refused,
}

/// One container's addresses on one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    v4: Option<std::net::Ipv4Addr>,
    v6: Option<std::net::Ipv6Addr>,
}

/// A DNS-enabled network's records.
#[derive(Debug, Default)]
pub(crate) struct Net {
    /// The network's id (budgets are carried over by it).
    id: String,
    /// Its name (PTR answers are `name.network.`).
    name: String,
    /// Lookup key → containers answering to it on this network.
    names: HashMap<String, Vec<Target>>,
    /// Endpoint address → `name.network.`.
    ptr: HashMap<IpAddr, String>,
    /// `--internal`.
    internal: bool,
    /// Its subnets.
    subnets: Vec<IpNet>,
    /// What queries arriving on its gateways hold.
    budget: Arc<Budget>,
}

/// A known asking endpoint.
#[derive(Debug)]
pub(crate) struct Asker {
    /// Index of its network (the arrival network).
    net: usize,
    /// Its container's id (the key of its budget in [`Resolver::containers`]).
    container: String,
    /// Indices of the networks it sees, the arrival network first.
    visible: Vec<usize>,
    /// Where its other questions go; `None`: the host's upstreams.
    upstreams: Option<Vec<SocketAddr>>,
}

/// An indexed snapshot, ready to answer questions.
#[derive(Debug, Default)]
pub struct Resolver {
    generation: u64,
    host_upstreams: Vec<SocketAddr>,
    nets: Vec<Net>,
    by_gateway: HashMap<IpAddr, usize>,
    by_net_name: HashMap<String, usize>,
    /// Network id → index in `nets`.
    net_index: HashMap<String, usize>,
    askers: HashMap<(usize, IpAddr), Asker>,
    /// Budget per asking container, by container id.
    containers: HashMap<String, Arc<Budget>>,
    gateways: Vec<IpAddr>,
}

/// A known asker: an endpoint of the network whose gateway its query
/// arrived on.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    resolver: &'a Resolver,
    asker: &'a Asker,
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
        for net in snapshot.networks.iter().filter(|n| n.dns) {
            if r.net_index.contains_key(net.id.as_str()) {
                continue;
            }
            let i = r.nets.len();
            r.net_index.insert(net.id.clone(), i);
            r.nets.push(Net {
                id: net.id.clone(),
                name: net.name.clone(),
                internal: net.internal,
                subnets: net.subnets.clone(),
                ..Net::default()
            });
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
        let eps = r.served(&snapshot.endpoints);
        for &(i, ep) in &eps {
            r.index_endpoint(i, ep);
        }
        r.index_askers(&eps);
        r
    }

    /// The endpoints among `eps` that are on served networks, with their
    /// network's index.
    pub(crate) fn served<'e>(&self, eps: &'e [EndpointRec]) -> Vec<(usize, &'e EndpointRec)> {
        eps.iter()
            .filter_map(|ep| self.net_index.get(ep.network_id.as_str()).map(|&i| (i, ep)))
            .collect()
    }

    /// Takes over the budgets of `old`'s networks and containers that are
    /// still here, so what is in flight across a reload still counts.
    pub fn carry_budgets(&mut self, old: &Resolver) {
        let nets: HashMap<&str, &Arc<Budget>> = old
            .nets
            .iter()
            .map(|n| (n.id.as_str(), &n.budget))
            .collect();
        for net in &mut self.nets {
            if let Some(&b) = nets.get(net.id.as_str()) {
                net.budget = b.clone();
            }
        }
        for (id, budget) in &mut self.containers {
            if let Some(b) = old.containers.get(id) {
                *budget = b.clone();
            }
        }
    }

    /// Records who may ask: each endpoint's addresses on its network, with
    /// the networks its container sees (that network first) and where its
    /// other questions go.
    pub(crate) fn index_askers(&mut self, eps: &[(usize, &EndpointRec)]) {
        // Per container: its networks, and whether it reaches out.
        let mut of: HashMap<&str, (Vec<usize>, Option<bool>)> = HashMap::new();
        for &(i, ep) in eps {
            let entry = of.entry(ep.container_id.as_str()).or_default();
            if !entry.0.contains(&i) {
                entry.0.push(i);
            }
            entry.1 = entry.1.or(ep.external);
        }
        // One budget each, kept when the container has one already.
        for id in of.keys() {
            if !self.containers.contains_key(*id) {
                self.containers.insert(id.to_string(), Arc::default());
            }
        }
        for &(i, ep) in eps {
            let (nets, external) = &of[ep.container_id.as_str()];
            let mut visible = vec![i];
            visible.extend(nets.iter().filter(|&&n| n != i));
            // Version-1 snapshots have no `external`: derive it.
            let external = external.unwrap_or_else(|| nets.iter().any(|&n| !self.nets[n].internal));
            let own: Vec<SocketAddr> = ep.dns.iter().map(|u| u.0).collect();
            let upstreams = match (external, own.is_empty()) {
                (true, true) => None,
                (true, false) => Some(own),
                (false, _) => {
                    let candidates = if own.is_empty() {
                        &self.host_upstreams
                    } else {
                        &own
                    };
                    Some(self.on_net(nets, candidates))
                }
            };
            for addr in endpoint_addrs(ep) {
                let asker = Asker {
                    net: i,
                    container: ep.container_id.clone(),
                    visible: visible.clone(),
                    upstreams: upstreams.clone(),
                };
                self.askers.entry((i, addr)).or_insert(asker);
            }
        }
    }

    /// The `upstreams` inside the subnets of networks `nets`.
    fn on_net(&self, nets: &[usize], upstreams: &[SocketAddr]) -> Vec<SocketAddr> {
        let inside = |u: &&SocketAddr| {
            let ip = u.ip().to_canonical();
            nets.iter()
                .any(|&n| self.nets[n].subnets.iter().any(|s| s.contains(&ip)))
        };
        upstreams.iter().filter(inside).copied().collect()
    }

    /// Adds one endpoint's names and reverse entries to network `i`.
    pub(crate) fn index_endpoint(&mut self, i: usize, ep: &EndpointRec) {
        let target = target(ep);
        let net = &mut self.nets[i];
        for key in endpoint_keys(ep) {
            let targets = net.names.entry(key).or_default();
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let ptr_name = format!("{}.{}.", ep.name.trim_end_matches('.'), net.name);
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
                .flat_map(|a| a.upstreams.iter().flatten().copied()),
        );
        all.sort();
        all.dedup();
        all
    }

    /// The asker behind a query that arrived on `listen` from `src`: an
    /// endpoint of the network `listen` is a gateway of, or nobody.
    pub fn client(&self, listen: IpAddr, src: IpAddr) -> Option<Client<'_>> {
        let &net = self.by_gateway.get(&listen.to_canonical())?;
        let asker = self.askers.get(&(net, src.to_canonical()))?;
        Some(Client {
            resolver: self,
            asker,
        })
    }

    /// Decides what to do with `query`, which arrived on `listen` from `src`.
    pub fn lookup(&self, listen: IpAddr, src: IpAddr, query: &Query) -> Outcome<'_> {
        match self.client(listen, src) {
            Some(client) => client.lookup(query),
            None => Outcome::Refused,
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

impl<'a> Client<'a> {
    /// Decides what to do with this client's `query`.
    pub fn lookup(&self, query: &Query) -> Outcome<'a> {
        let (r, asker) = (self.resolver, self.asker);
        let forward = Outcome::Forward(asker.upstreams.as_deref().unwrap_or(&r.host_upstreams));
        if query.query_class() != DNSClass::IN {
            return forward;
        }
        let Some(key) = name_key(query.name()) else {
            return forward;
        };
        let qtype = query.query_type();
        if qtype == RecordType::PTR {
            if let Some(ip) = parse_reverse(&key) {
                let found = asker.visible.iter().find_map(|&n| r.nets[n].ptr.get(&ip));
                return found.map_or(forward, |name| Outcome::Ptr(name.clone()));
            }
        }
        match r.find(&asker.visible, &key) {
            Some(targets) => Outcome::Local(addresses(targets, qtype)),
            None => forward,
        }
    }

    /// The budgets this client's forwards and connections are charged to:
    /// its container's and its arrival network's.
    pub fn charge(&self) -> Charge<'a> {
        let network = &self.resolver.nets[self.asker.net].budget;
        Charge {
            // Every asker's container has a budget (`index_askers`).
            container: self
                .resolver
                .containers
                .get(&self.asker.container)
                .unwrap_or(network),
            network,
        }
    }
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
