//! Reading the live topology: the store and the kernel side by side, and
//! the problems found by comparing them (see the parent module).

use super::{problems, Attachment, Ctr, Host, Iface, Net, Problem, ProblemKind, Topology};
use anyhow::Result;
use berth_core::engine::Engine;
use berth_core::firewall::Element;
use berth_core::kernel::netns_names;
use berth_core::kernel::{netns, sysctl, Netlink, Nft};
use berth_core::model::{Container, Network};
use berth_core::observe::{self, Link, NsView};

/// What the kernel says, read once per topology.
struct Kernel {
    host: NsView,
    /// The elements of berth's port maps.
    ports: Vec<Element>,
}

/// Reads the topology of the networks named in `only` (every network when
/// empty) and of the containers attached to them.
pub fn collect(engine: &mut Engine, only: &[String]) -> Result<Topology> {
    for n in only {
        engine.network(n)?;
    }
    let kernel = Kernel {
        host: NsView::read(&mut Netlink::open()?)?,
        ports: observe::port_elements(&mut Nft::new()),
    };
    let all = engine.networks()?;
    let nets: Vec<&Network> = all
        .iter()
        .filter(|n| n.driver.has_endpoints())
        .filter(|n| only.is_empty() || only.iter().any(|o| o == &n.name || n.id.starts_with(o)))
        .collect();
    let mut t = Topology {
        host: host_view(&kernel.host),
        ..Default::default()
    };
    for n in &nets {
        let (net, problem) = net_view(n, &kernel.host);
        t.networks.push(net);
        t.problems.extend(problem);
    }
    let mut owned_veths = Vec::new();
    let mut wanted_ports = Vec::new();
    for c in engine.containers()? {
        let eps = engine.endpoints(&c.id)?;
        if Engine::is_running(&c) {
            owned_veths.extend(eps.iter().map(|e| e.host_veth.clone()));
            if netns::is_pinned(&engine.netns_path(&c)) {
                wanted_ports.extend(engine.port_elements(&c)?);
            }
        }
        let shown = only.is_empty()
            || eps
                .iter()
                .any(|e| nets.iter().any(|n| n.id == e.network_id));
        if shown {
            let ctr = ctr_view(engine, &c, &all, &kernel, &mut t.problems)?;
            t.containers.push(ctr);
        }
    }
    t.problems.extend(problems::leaked_veths(
        &kernel.host,
        &all,
        &nets,
        &owned_veths,
        !only.is_empty(),
    ));
    if only.is_empty() {
        t.problems
            .extend(problems::orphan_bridges(&kernel.host, &all));
        t.problems.extend(problems::orphan_pins(engine)?);
        t.problems
            .extend(problems::leaked_ports(&kernel.ports, &wanted_ports));
    }
    Ok(t)
}

/// An interface of `view` as shown.
fn iface(l: &Link) -> Iface {
    Iface {
        name: l.name.clone(),
        index: l.index,
        mac: l.mac.clone(),
        addrs: l
            .addrs
            .iter()
            .filter(|a| !matches!(a.addr(), std::net::IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80))
            .map(|a| a.to_string())
            .collect(),
        up: l.up,
        // Only veths name a peer (a bridge port's IFLA_LINK is itself).
        peer: if l.kind.as_deref() == Some("veth") {
            l.peer_index
        } else {
            None
        },
        counters: l.counters,
    }
}

fn host_view(host: &NsView) -> Host {
    Host {
        uplink: host.uplink().map(iface),
        gateway: host
            .default_routes
            .first()
            .and_then(|(gw, _)| gw.map(|g| g.to_string())),
        forwarding: sysctl::read("net.ipv4.ip_forward").unwrap_or_default() == "1",
    }
}

fn net_view(n: &Network, host: &NsView) -> (Net, Option<Problem>) {
    let bridge_name = n.bridge.clone().unwrap_or_default();
    let bridge = host
        .by_name(&bridge_name)
        .filter(|l| l.kind.as_deref() == Some("bridge"))
        .map(iface);
    let problem = (n.bridge.is_some() && bridge.is_none()).then(|| Problem {
        kind: ProblemKind::MissingBridge,
        subject: bridge_name.clone(),
        bridge: None,
        detail: format!(
            "network {} has no bridge {bridge_name} in the kernel: 'berth system reconcile' recreates it",
            n.name
        ),
    });
    let net = Net {
        name: n.name.clone(),
        id: berth_core::ids::short(&n.id).to_string(),
        driver: n.driver.as_str().to_string(),
        parent: n.options.get("parent").cloned(),
        bridge_name,
        bridge,
        gateways: n
            .ipam
            .iter()
            .map(|c| format!("{}/{}", c.gateway, c.subnet.prefix_len()))
            .collect(),
        internal: n.internal,
        masquerade: n.masquerade && !n.internal,
        icc: n.icc,
    };
    (net, problem)
}

/// A container with both ends of its veths and its ports.
fn ctr_view(
    engine: &mut Engine,
    c: &Container,
    nets: &[Network],
    kernel: &Kernel,
    problems: &mut Vec<Problem>,
) -> Result<Ctr> {
    let running = Engine::is_running(c);
    let pin = engine.netns_path(c);
    let pinned = netns::is_pinned(&pin);
    let needs_ns = engine.start_spec(c)?.netns.is_some();
    if running && needs_ns && !pinned {
        problems.push(Problem {
            kind: ProblemKind::MissingNetns,
            subject: c.name.clone(),
            bridge: None,
            detail: format!(
                "container {} runs but its namespace {} is not pinned",
                c.name,
                pin.display()
            ),
        });
    }
    let inside = (running && pinned)
        .then(|| NsView::read_pinned(&pin).ok())
        .flatten();
    let links = attachments(engine, c, nets, inside.as_ref(), &kernel.host, problems)?;
    let ip_netns = name_of(c, &pin, pinned && running, problems);
    let wanted = if running && pinned {
        engine.port_elements(c)?
    } else {
        Vec::new()
    };
    let ports = problems::ports_view(c, &wanted, &kernel.ports, problems);
    Ok(Ctr {
        name: c.name.clone(),
        id: berth_core::ids::short(&c.id).to_string(),
        state: if running {
            "running".into()
        } else if c.state.as_str() == "running" {
            "dead".into()
        } else {
            c.state.as_str().into()
        },
        pid: c.pid.filter(|_| running),
        netns: pinned.then(|| pin.display().to_string()),
        ip_netns,
        links,
        ports,
    })
}

/// The container's `ip netns` name, or a problem when the name is taken.
fn name_of(
    c: &Container,
    pin: &std::path::Path,
    live: bool,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    if !live {
        return None;
    }
    let entry = netns_names::entry(&c.name);
    if netns_names::same_namespace(&entry, pin) {
        return Some(c.name.clone());
    }
    if entry.exists() {
        problems.push(Problem {
            kind: ProblemKind::NameTaken,
            subject: entry.display().to_string(),
            bridge: None,
            detail: format!(
                "{} is not container {}'s namespace: 'ip netns exec {}' enters something else",
                entry.display(),
                c.name,
                c.name
            ),
        });
    }
    None
}

/// The container end of a Docker endpoint's veth: Docker renamed it when
/// it moved it into the sandbox (`eth0`, `eth1`...), so it is found as the
/// host end's peer.
fn docker_end<'a>(
    c: &Container,
    inside: &'a NsView,
    host: &NsView,
    e: &berth_core::model::Endpoint,
) -> Option<&'a berth_core::observe::Link> {
    if !c.cni.as_ref().is_some_and(|a| a.docker) {
        return None;
    }
    let peer = host.by_name(&e.host_veth)?.peer_index?;
    inside.link(peer).filter(|l| l.peer_index.is_some())
}

/// Both ends of each of `c`'s veths (`inside`: its namespace, if read).
fn attachments(
    engine: &mut Engine,
    c: &Container,
    nets: &[Network],
    inside: Option<&NsView>,
    host: &NsView,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Attachment>> {
    let mut links = Vec::new();
    for e in engine.endpoints(&c.id)? {
        let net = nets.iter().find(|n| n.id == e.network_id);
        let mut dns = vec![c.name.clone()];
        dns.extend(e.aliases.iter().cloned());
        let a = Attachment {
            network: net.map(|n| n.name.clone()).unwrap_or_default(),
            bridge: net.and_then(|n| n.bridge.clone()).unwrap_or_default(),
            ifname: e.ifname.clone(),
            host_veth: e.host_veth.clone(),
            addrs: [e.ipv4, e.ipv6]
                .iter()
                .flatten()
                .map(|a| a.to_string())
                .collect(),
            mac: e.mac.clone(),
            dns,
            inside: inside
                .as_ref()
                .and_then(|v| v.by_name(&e.ifname).or_else(|| docker_end(c, v, host, &e)))
                .map(iface),
            outside: None,
        };
        // Only a network with a bridge has a veth pair (macvlan and ipvlan
        // interfaces hang on the parent link directly).
        let a = Attachment {
            outside: inside
                .filter(|_| !a.bridge.is_empty())
                .and_then(|_| host.by_name(&e.host_veth))
                .map(iface),
            ..a
        };
        if inside.is_some() {
            problems.extend(problems::missing_ends(c, &a));
        }
        links.push(a);
    }
    Ok(links)
}
