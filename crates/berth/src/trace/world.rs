//! What the explanation knows besides the trace: interface names, which
//! bridge is which network, which veth is which container, the published
//! ports, and the kernel's route lookups (all read from the store and the
//! kernel before and after the probe).

use berth_core::model::PortBinding;
use berth_core::observe::route_get::{errno_words, RouteAnswer, RouteQuery};
use std::collections::HashMap;
use std::net::IpAddr;

/// A berth network as the explanation names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetInfo {
    /// Network name.
    pub name: String,
    /// Its bridge.
    pub bridge: String,
    /// `enable_icc`.
    pub icc: bool,
    /// `--internal`.
    pub internal: bool,
}

/// The host's side of things.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Host interface index → name.
    pub links: HashMap<u32, String>,
    /// berth's networks with a bridge.
    pub nets: Vec<NetInfo>,
    /// Host end of a veth → (container, network).
    pub veths: HashMap<String, (String, String)>,
    /// Published ports: (container, binding).
    pub ports: Vec<(String, PortBinding)>,
}

impl World {
    /// The name of host interface `index`.
    pub fn ifname(&self, index: Option<u32>) -> String {
        index
            .and_then(|i| self.links.get(&i).cloned())
            .unwrap_or_else(|| "?".into())
    }

    /// An interface in words: `br-x (network a)`, `vethX (web on a)`.
    pub fn describe_if(&self, name: &str) -> String {
        if let Some(n) = self.nets.iter().find(|n| n.bridge == name) {
            return format!("{name} (network {})", n.name);
        }
        match self.veths.get(name) {
            Some((c, n)) => format!("{name} ({c} on {n})"),
            None => name.to_string(),
        }
    }

    /// The network an interface (bridge or container veth) belongs to.
    pub fn net_of(&self, name: &str) -> Option<&NetInfo> {
        let net = match self.veths.get(name) {
            Some((_, n)) => n.as_str(),
            None => name,
        };
        self.nets.iter().find(|n| n.bridge == net || n.name == net)
    }

    /// Published bindings of `proto` covering host port `port`.
    pub fn bindings(&self, proto: &str, port: u16) -> Vec<&(String, PortBinding)> {
        self.ports
            .iter()
            .filter(|(_, b)| {
                b.proto.as_str() == proto
                    && (b.host_port..b.host_port.saturating_add(b.count.max(1))).contains(&port)
            })
            .collect()
    }
}

/// A kernel route lookup and its answer, where it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// `container a1`, `host`.
    pub place: String,
    /// The query.
    pub query: RouteQuery,
    /// The answer.
    pub answer: RouteAnswer,
    /// Interface names of that namespace (index → name).
    pub links: HashMap<u32, String>,
}

impl Lookup {
    /// `route to 203.0.113.1: via 172.18.0.1 dev eth0 src 172.18.0.2`.
    pub fn words(&self) -> String {
        let q = &self.query;
        let from = match (q.src, q.iif) {
            (Some(s), Some(i)) => format!(" from {s} in on {}", self.name(i)),
            _ => String::new(),
        };
        match &self.answer {
            RouteAnswer::Error(e) => format!("route to {}{from}: {}", q.dst, errno_words(*e)),
            RouteAnswer::Route(r) if r.kind == "local" => {
                format!("route to {}{from}: local (delivered to this host)", q.dst)
            }
            RouteAnswer::Route(r) => {
                let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
                let dev = r
                    .oif
                    .map(|i| format!(" dev {}", self.name(i)))
                    .unwrap_or_default();
                let src = r.prefsrc.map(|s| format!(" src {s}")).unwrap_or_default();
                let kind = if r.kind == "unicast" {
                    String::new()
                } else {
                    format!(" {}", r.kind)
                };
                format!("route to {}{from}:{kind}{via}{dev}{src}", q.dst)
            }
        }
    }

    fn name(&self, index: u32) -> String {
        self.links
            .get(&index)
            .cloned()
            .unwrap_or_else(|| index.to_string())
    }

    /// The lookup failed: its errno.
    pub fn error(&self) -> Option<i32> {
        match self.answer {
            RouteAnswer::Error(e) => Some(e),
            RouteAnswer::Route(_) => None,
        }
    }

    /// The source address the kernel chose.
    pub fn prefsrc(&self) -> Option<IpAddr> {
        match &self.answer {
            RouteAnswer::Route(r) => r.prefsrc,
            RouteAnswer::Error(_) => None,
        }
    }
}
