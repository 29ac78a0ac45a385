//! The terminal picture of a [`Topology`]: the host and its uplink, then
//! one tree per network (its bridge, gateway and NAT, and the veth pairs of
//! its containers, both ends with their `@ifN` pairing), then containers
//! on no bridge, then the problems. Objects with a problem are marked `!`.

use super::{Attachment, Ctr, Iface, Net, ProblemKind, Topology};
use std::fmt::Write;

/// Renders `t` as text.
pub fn render(t: &Topology) -> String {
    let mut out = String::new();
    host_line(t, &mut out);
    for n in &t.networks {
        out.push('\n');
        network(t, n, &mut out);
    }
    for b in t
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::OrphanBridge)
    {
        out.push('\n');
        let _ = writeln!(out, "! bridge {}  (no berth network)", b.subject);
        leaked_veths_of(t, &b.subject, &mut out);
    }
    let loose: Vec<&Ctr> = t.containers.iter().filter(|c| c.links.is_empty()).collect();
    if !loose.is_empty() {
        out.push_str("\ncontainers on no bridge\n");
        for c in loose {
            let _ = writeln!(out, "  {}  ({})", c.name, ctr_state(c));
        }
    }
    if !t.problems.is_empty() {
        out.push_str("\nproblems\n");
        for p in &t.problems {
            let _ = writeln!(out, "  ! {:<14} {}", p.kind.as_str(), p.detail);
        }
    }
    out
}

fn host_line(t: &Topology, out: &mut String) {
    let uplink = match &t.host.uplink {
        Some(u) => format!("{} {}", u.label(), u.addrs.join(" ")),
        None => "none (no default route)".into(),
    };
    let via = t
        .host
        .gateway
        .as_ref()
        .map(|g| format!(" via {g}"))
        .unwrap_or_default();
    let fwd = if t.host.forwarding { "on" } else { "off" };
    let _ = writeln!(
        out,
        "host  uplink {}{via}  ip_forward {fwd}",
        uplink.trim_end()
    );
}

fn nat(t: &Topology, n: &Net) -> String {
    let uplink = t
        .host
        .uplink
        .as_ref()
        .map_or("the uplink", |u| u.name.as_str());
    if n.bridge_name.is_empty() {
        return "no NAT: on the parent's LAN".into();
    }
    match (n.internal, n.masquerade) {
        (true, _) => "internal: no traffic in or out".into(),
        (false, true) => format!("NAT: masquerade out of {uplink}"),
        (false, false) => "NAT: off (routed, not masqueraded)".into(),
    }
}

fn network(t: &Topology, n: &Net, out: &mut String) {
    let flag = if n.bridge_missing() { "! " } else { "" };
    let _ = writeln!(
        out,
        "{flag}network {}  [{}]  {}  gateway {}  {}{}",
        n.name,
        n.id,
        n.fabric(),
        n.gateways.join(" "),
        nat(t, n),
        if n.icc { "" } else { "  icc off" }
    );
    let members: Vec<(&Ctr, &Attachment)> = t
        .containers
        .iter()
        .flat_map(|c| c.links.iter().map(move |a| (c, a)))
        .filter(|(_, a)| a.network == n.name)
        .collect();
    for (i, (c, a)) in members.iter().enumerate() {
        let last = i + 1 == members.len() && !has_leaks(t, &n.bridge_name);
        member(c, a, last, out);
    }
    if members.is_empty() && !has_leaks(t, &n.bridge_name) {
        out.push_str("  (no containers)\n");
    }
    leaked_veths_of(t, &n.bridge_name, out);
}

fn has_leaks(t: &Topology, bridge: &str) -> bool {
    t.problems
        .iter()
        .any(|p| p.kind == ProblemKind::LeakedVeth && p.bridge.as_deref() == Some(bridge))
}

fn leaked_veths_of(t: &Topology, bridge: &str, out: &mut String) {
    let leaks: Vec<_> = t
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::LeakedVeth && p.bridge.as_deref() == Some(bridge))
        .collect();
    for (i, p) in leaks.iter().enumerate() {
        let corner = if i + 1 == leaks.len() {
            "└──"
        } else {
            "├──"
        };
        let _ = writeln!(out, "  {corner} ! {}  (leaked: no container)", p.subject);
    }
}

fn end(i: &Option<Iface>, stored: &str) -> String {
    match i {
        Some(i) if i.up => i.label(),
        Some(i) => format!("{} (down)", i.label()),
        None => format!("{stored} ?"),
    }
}

fn member(c: &Ctr, a: &Attachment, last: bool, out: &mut String) {
    let (corner, bar) = if last {
        ("└──", "   ")
    } else {
        ("├──", "│  ")
    };
    let _ = writeln!(out, "  {corner} {}  ({})", c.name, ctr_state(c));
    let live = c.state == "running";
    let pair = if a.bridge.is_empty() {
        format!(
            "link {} (on the parent, no veth)",
            end(&a.inside, &a.ifname)
        )
    } else if live {
        format!(
            "veth {}{}  <══>  {}{}",
            mark(&a.outside),
            end(&a.outside, &a.host_veth),
            mark(&a.inside),
            end(&a.inside, &a.ifname)
        )
    } else {
        format!("veth {} <══> {} (not running)", a.host_veth, a.ifname)
    };
    let _ = writeln!(out, "  {bar}   {pair}  {}  {}", a.addrs.join(" "), a.mac);
    if a.dns.len() > 1 {
        let _ = writeln!(out, "  {bar}   dns {}", a.dns.join(", "));
    }
    for p in &c.ports {
        let state = match (live, p.in_kernel) {
            (false, _) => "reserved",
            (true, true) => "forwarded",
            (true, false) => "! MISSING in nftables",
        };
        let _ = writeln!(out, "  {bar}   port {}  {state}", p.spec);
    }
}

fn mark(i: &Option<Iface>) -> &'static str {
    if i.is_none() {
        "! "
    } else {
        ""
    }
}

fn ctr_state(c: &Ctr) -> String {
    let mut s = c.state.clone();
    if let Some(pid) = c.pid {
        let _ = write!(s, ", pid {pid}");
    }
    if let Some(n) = &c.ip_netns {
        let _ = write!(s, ", ip netns {n}");
    }
    if c.state != "running" {
        s.push_str(", no namespace");
    }
    s
}
