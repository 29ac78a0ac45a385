//! From names to addresses, namespaces and interfaces: FROM and TO looked
//! up in the store, routes asked of the kernel (read-only).

use super::explain::FromKind;
use super::session::Source;
use super::spec::{Place, Target};
use super::world::{Lookup, NetInfo, World};
use anyhow::{anyhow, bail, Result};
use berth_core::engine::Engine;
use berth_core::kernel::{msg, netns, Netlink};
use berth_core::model::{Container, Endpoint};
use berth_core::observe::route_get::{lookup, RouteAnswer, RouteQuery};
use berth_core::observe::NsView;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// A running container with its endpoints.
pub struct Ctr {
    /// The record.
    pub c: Container,
    /// Its endpoints.
    pub eps: Vec<Endpoint>,
    /// Its namespace pin.
    pub ns: PathBuf,
}

/// Everything resolved about the trip, before the probe.
pub struct Resolved {
    /// How the probe leaves.
    pub source: Source,
    /// Where it starts, in the explanation's terms.
    pub kind: FromKind,
    /// Source address (when known before the kernel picks it).
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: IpAddr,
    /// FROM in words.
    pub from: String,
    /// TO in words.
    pub to: String,
    /// The route lookup where the probe starts.
    pub source_route: Option<Lookup>,
    /// The host interface the probe enters the host's stack on.
    pub host_iif: Option<u32>,
}

/// The host's view and the store's, for the explanation.
pub fn world(engine: &mut Engine, host: &NsView) -> Result<World> {
    let mut w = World {
        links: host
            .links
            .iter()
            .map(|l| (l.index, l.name.clone()))
            .collect(),
        ..Default::default()
    };
    let nets = engine.networks()?;
    for n in &nets {
        if let Some(b) = &n.bridge {
            w.nets.push(NetInfo {
                name: n.name.clone(),
                bridge: b.clone(),
                icc: n.icc,
                internal: n.internal,
            });
        }
    }
    for c in engine.containers()? {
        for e in engine.endpoints(&c.id)? {
            let net = nets
                .iter()
                .find(|n| n.id == e.network_id)
                .map_or(String::new(), |n| n.name.clone());
            w.veths.insert(e.host_veth.clone(), (c.name.clone(), net));
        }
        if Engine::is_running(&c) {
            w.ports
                .extend(c.ports.iter().map(|p| (c.name.clone(), p.clone())));
        }
    }
    Ok(w)
}

fn running(engine: &mut Engine, name: &str) -> Result<Ctr> {
    let c = engine.container(name)?;
    let ns = engine.netns_path(&c);
    if !Engine::is_running(&c) || !netns::is_pinned(&ns) {
        bail!(
            "container {} is not running: start it first (berth start {})",
            c.name,
            c.name
        );
    }
    let eps = engine.endpoints(&c.id)?;
    Ok(Ctr { c, eps, ns })
}

fn ep_addr(e: &Endpoint, v6: bool) -> Option<IpAddr> {
    if v6 { e.ipv6 } else { e.ipv4 }.map(|n| n.addr())
}

/// The container owning address `ip`, if any.
fn owner(engine: &mut Engine, ip: IpAddr) -> Result<Option<String>> {
    for c in engine.containers()? {
        if engine
            .endpoints(&c.id)?
            .iter()
            .any(|e| ep_addr(e, ip.is_ipv6()) == Some(ip))
        {
            return Ok(Some(c.name));
        }
    }
    Ok(None)
}

/// Asks the kernel of `nl`'s namespace.
fn ask(nl: &mut Netlink, place: String, query: RouteQuery, view: &NsView) -> Result<Lookup> {
    Ok(Lookup {
        answer: lookup(nl, &query)?,
        place,
        query,
        links: view
            .links
            .iter()
            .map(|l| (l.index, l.name.clone()))
            .collect(),
    })
}

fn query(dst: IpAddr, src: Option<IpAddr>, iif: Option<u32>) -> RouteQuery {
    RouteQuery {
        dst,
        src,
        iif,
        proto: 0,
        dport: 0,
    }
}

/// The destination address and its description.
fn destination(
    engine: &mut Engine,
    to: &Target,
    from: Option<&Ctr>,
    host: &mut Netlink,
    from_ip: Option<IpAddr>,
) -> Result<(IpAddr, String)> {
    let port = to
        .port
        .map(|p| format!(" port {p}/{}", to.proto.word()))
        .unwrap_or_default();
    Ok(match &to.place {
        Place::Addr(ip) => (*ip, format!("{ip}{port}")),
        Place::Container(name) => {
            let d = running(engine, name)?;
            let shared = d
                .eps
                .iter()
                .find(|e| from.is_some_and(|f| f.eps.iter().any(|x| x.network_id == e.network_id)));
            let e = shared.or_else(|| d.eps.first()).ok_or_else(|| {
                anyhow!("container {name} has no network address (network none or host)")
            })?;
            let ip = ep_addr(e, false)
                .or_else(|| ep_addr(e, true))
                .ok_or_else(|| anyhow!("container {name} has no address"))?;
            (ip, format!("container {} ({ip}){port}", d.c.name))
        }
        Place::Host => {
            let ip = match (from, from_ip) {
                (Some(f), _) => {
                    let e = f
                        .eps
                        .first()
                        .ok_or_else(|| anyhow!("container {} has no network", f.c.name))?;
                    let net = engine
                        .networks()?
                        .into_iter()
                        .find(|n| n.id == e.network_id);
                    net.and_then(|n| {
                        n.ipam
                            .iter()
                            .find(|c| c.subnet.addr().is_ipv4())
                            .map(|c| c.gateway)
                    })
                    .ok_or_else(|| anyhow!("no gateway for container {}", f.c.name))?
                }
                (None, Some(outside)) => match lookup(host, &query(outside, None, None))? {
                    RouteAnswer::Route(r) => r
                        .prefsrc
                        .ok_or_else(|| anyhow!("the host has no address towards {outside}"))?,
                    RouteAnswer::Error(_) => bail!("the host has no route back to {outside}"),
                },
                (None, None) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            };
            (ip, format!("this host ({ip}){port}"))
        }
    })
}

/// Resolves FROM and TO.
pub fn resolve(
    engine: &mut Engine,
    from: &Place,
    to: &Target,
    host_view: &NsView,
) -> Result<Resolved> {
    let mut host = Netlink::open()?;
    let mut from = from.clone();
    // An address of a container or of the host itself is that place.
    if let Place::Addr(ip) = from {
        if let Some(name) = owner(engine, ip)? {
            from = Place::Container(name);
        } else if host_view
            .links
            .iter()
            .any(|l| l.addrs.iter().any(|a| a.addr() == ip))
        {
            from = Place::Host;
        }
    }
    match from {
        Place::Container(name) => from_container(engine, &name, to, &mut host, host_view),
        Place::Host => {
            let (dst, to_words) = destination(engine, to, None, &mut host, None)?;
            let route = ask(&mut host, "host".into(), query(dst, None, None), host_view)?;
            Ok(Resolved {
                source: Source::Local(None),
                kind: FromKind::Host,
                src: route.prefsrc(),
                dst,
                from: "this host".into(),
                to: to_words,
                source_route: Some(route),
                host_iif: None,
            })
        }
        Place::Addr(ip) => from_outside(engine, ip, to, &mut host, host_view),
    }
}

/// A probe from a running container: the kernel's route in its namespace
/// says which interface (so which bridge) it leaves by.
fn from_container(
    engine: &mut Engine,
    name: &str,
    to: &Target,
    host: &mut Netlink,
    host_view: &NsView,
) -> Result<Resolved> {
    let f = running(engine, name)?;
    let (dst, to_words) = destination(engine, to, Some(&f), host, None)?;
    let nl_file = netns::open(&f.ns)?;
    let mut nl = Netlink::open_in(&nl_file)?;
    let view = NsView::read(&mut nl)?;
    let place = format!("container {}", f.c.name);
    let route = ask(&mut nl, place, query(dst, None, None), &view)?;
    let out_if = match &route.answer {
        RouteAnswer::Route(r) => r.oif.and_then(|i| view.link(i)).map(|l| l.name.clone()),
        RouteAnswer::Error(_) => None,
    };
    let ep = f
        .eps
        .iter()
        .find(|e| Some(&e.ifname) == out_if.as_ref())
        .or_else(|| f.eps.first());
    let bridge = ep
        .and_then(|e| host_view.by_name(&e.host_veth))
        .and_then(|l| l.master);
    let src = route
        .prefsrc()
        .or_else(|| ep.and_then(|e| ep_addr(e, dst.is_ipv6())));
    let nets = engine.networks()?;
    let mine: Vec<_> = nets
        .iter()
        .filter(|n| f.eps.iter().any(|e| e.network_id == n.id))
        .collect();
    let internal =
        (!mine.is_empty() && mine.iter().all(|n| n.internal)).then(|| mine[0].name.clone());
    let shown = src.map(|s| format!(" ({s})")).unwrap_or_default();
    Ok(Resolved {
        source: Source::Local(Some(f.ns.clone())),
        kind: FromKind::Container {
            name: f.c.name.clone(),
            internal,
        },
        src,
        dst,
        from: format!("container {}{shown}", f.c.name),
        to: to_words,
        source_route: Some(route),
        host_iif: bridge,
    })
}

/// A probe from another machine: it arrives on the interface the host
/// routes that address through, addressed to that interface's MAC.
fn from_outside(
    engine: &mut Engine,
    ip: IpAddr,
    to: &Target,
    host: &mut Netlink,
    host_view: &NsView,
) -> Result<Resolved> {
    let (dst, to_words) = destination(engine, to, None, host, Some(ip))?;
    let RouteAnswer::Route(r) = lookup(host, &query(ip, None, None))? else {
        bail!("this host has no route to {ip}: a packet from it could not be answered");
    };
    let link = r
        .oif
        .and_then(|i| host_view.link(i))
        .ok_or_else(|| anyhow!("no interface towards {ip}"))?;
    let mac = link
        .mac
        .as_deref()
        .and_then(msg::parse_mac)
        .and_then(|m| <[u8; 6]>::try_from(m).ok())
        .ok_or_else(|| {
            anyhow!(
                "interface {} has no MAC address: cannot inject a packet on it",
                link.name
            )
        })?;
    Ok(Resolved {
        source: Source::Injected {
            iface: link.name.clone(),
            mac,
            from: ip,
        },
        kind: FromKind::Outside {
            iface: link.name.clone(),
        },
        src: Some(ip),
        dst,
        from: format!("{ip} (outside, via {})", link.name),
        to: to_words,
        source_route: None,
        host_iif: Some(link.index),
    })
}

/// The host's route lookup for the packet as it arrives on `iif`.
pub fn host_route(
    src: Option<IpAddr>,
    dst: IpAddr,
    iif: Option<u32>,
    view: &NsView,
) -> Result<Option<Lookup>> {
    let (Some(src), Some(iif)) = (src, iif) else {
        return Ok(None);
    };
    let mut nl = Netlink::open()?;
    ask(
        &mut nl,
        "host".into(),
        query(dst, Some(src), Some(iif)),
        view,
    )
    .map(Some)
}
