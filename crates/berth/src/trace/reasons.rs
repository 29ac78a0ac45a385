//! Why a probe was dropped or refused, in words (pure): berth's own rules
//! are known by their comments and sets, other tables' by their chain.

use super::rules::comment;
use super::trip::{FromKind, Trip};
use super::world::World;
use berth_core::observe::nftrace::TraceEvent;
use berth_core::observe::route_get::errno_words;

fn net_name(w: &World, ifname: &str) -> String {
    w.net_of(ifname)
        .map_or_else(|| ifname.to_string(), |n| n.name.clone())
}

/// Why the rule (or policy) of `e` dropped the probe.
pub fn drop_reason(e: &TraceEvent, text: Option<&str>, w: &World) -> String {
    let iif = w.ifname(e.iif);
    let oif = w.ifname(e.oif);
    let text = text.unwrap_or_default();
    let note = comment(text).unwrap_or_default();
    if e.table == "berth" && e.chain == "from_container" {
        let who = w
            .veths
            .get(&iif)
            .map_or_else(|| format!("port {iif}"), |(c, _)| format!("container {c}"));
        return format!("{who} sent what is not its own to send ({note}): a container sends only from its own MAC and addresses, and no router advertisements or DHCP server replies (docs/security.md)");
    }
    if e.table == "berth" {
        if text.contains("@no_icc") || note == "enable_icc=false" {
            return format!("enable_icc=false on network {}: its containers may not talk to each other directly (published ports still work)", net_name(w, &iif));
        }
        if text.contains("@internal") {
            let side = if text.starts_with("iifname") {
                &iif
            } else {
                &oif
            };
            return format!(
                "internal network {}: nothing enters or leaves its bridge",
                net_name(w, side)
            );
        }
        if note.contains("isolated") {
            return format!(
                "isolation: networks are isolated from each other ({} -> {})",
                net_name(w, &iif),
                net_name(w, &oif)
            );
        }
        if note.contains("unsolicited") {
            return format!("no unsolicited inbound traffic: containers of network {} are reached from outside only through published ports (this port is not published)", net_name(w, &oif));
        }
        if note.contains("loopback") {
            return "containers never reach the host's loopback (127.0.0.0/8)".into();
        }
    }
    let at = format!("{} {} {}", e.family, e.table, e.chain);
    if e.chain.starts_with("DOCKER-ISOLATION") {
        return format!("Docker's isolation between its networks ({at})");
    }
    if text.is_empty() {
        let docker = if e.table == "filter" && e.chain == "FORWARD" {
            format!(" (Docker's; berth's accept rules for {iif} are missing from DOCKER-USER: berth system reconcile)")
        } else {
            String::new()
        };
        return format!("the policy of {at} is drop{docker}");
    }
    format!("dropped by a rule of {at}: {text}")
}

/// Why the destination refused: the port is not published (or only on
/// 127.0.0.1), or nothing listens.
pub fn refusal_reason(t: &Trip, w: &World, local: bool) -> String {
    let Some(port) = t.port else {
        return format!("{} refused", t.to);
    };
    let proto = t.proto.word();
    if !local {
        let answer = if proto == "udp" {
            "ICMP port unreachable"
        } else {
            "a reset"
        };
        return format!(
            "nothing listens on {}:{port}/{proto}: the destination answered with {answer}",
            t.dst
        );
    }
    let binds = w.bindings(proto, port);
    if binds.is_empty() {
        return format!("port {port}/{proto} is not published: nothing listens on this host's {}:{port} (unpublished port)", t.dst);
    }
    let loopback = binds
        .iter()
        .all(|(_, b)| b.host_ip.is_some_and(|ip| ip.is_loopback()));
    if loopback && !t.dst.is_loopback() {
        let who = &binds[0].0;
        return format!("port {port}/{proto} of {who} is published on 127.0.0.1 only: reachable from this host only, not at {} (127.0.0.1-only binding)", t.dst);
    }
    let at: Vec<String> = binds
        .iter()
        .map(|(c, b)| {
            format!(
                "{c} on {}",
                b.host_ip.map_or("all addresses".into(), |i| i.to_string())
            )
        })
        .collect();
    format!(
        "port {port}/{proto} is published ({}) but not on {}; nothing else listens there",
        at.join(", "),
        t.dst
    )
}

/// Why a probe that no rule dropped got nowhere: the route where it
/// started, or the host's routing (`errno` from the sender, if any).
pub fn route_reason(t: &Trip, errno: Option<i32>, never_arrived: bool) -> (String, Option<String>) {
    if let FromKind::Container {
        name,
        internal: Some(net),
    } = &t.kind
    {
        if never_arrived {
            return (
                format!("internal network {net}: container {name} has no route out of its network"),
                t.source_route.as_ref().map(|l| l.words()),
            );
        }
    }
    if never_arrived {
        if let Some(l) = &t.source_route {
            if let Some(e) = l.error().or(errno) {
                return (format!("{}: {}", l.place, errno_words(e)), Some(l.words()));
            }
        }
    }
    if let Some(l) = t.host_route.as_ref().filter(|l| l.error().is_some()) {
        let e = l.error().unwrap_or_default();
        let mut why = format!("the host's routing drops it: {}", errno_words(e));
        if t.dst.is_loopback() {
            why.push_str(
                " (127.0.0.1-only binding: loopback addresses are reachable from this host only)",
            );
        }
        return (why, Some(l.words()));
    }
    match errno {
        Some(e) => (format!("an ICMP error came back: {}", errno_words(e)), None),
        None => ("no rule dropped it, yet it went no further: no route, rp_filter or a neighbour that does not answer".into(), t.host_route.as_ref().map(|l| l.words())),
    }
}
