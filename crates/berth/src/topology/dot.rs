//! Graphviz DOT of a [`Topology`]: containers, bridges and the host as
//! nodes; veth pairs (labelled with both ends' `name@ifN`) and NAT as
//! edges; objects with a problem in red, dashed when only the kernel has
//! them. Valid for Graphviz's `dot` and for the layout-rs library that
//! draws `--format svg` (so it keeps to the subset both understand).

use super::{Ctr, Net, ProblemKind, Topology};
use std::fmt::Write;

/// DOT string literal of `s` (quotes and backslashes escaped, newlines as
/// `\n`).
pub fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

const OK_NET: &str = "lightblue";
const OK_CTR: &str = "lightyellow";
const OK_HOST: &str = "lightgray";
const BAD: &str = "mistyrose";

/// Renders `t` as an undirected Graphviz graph, laid out left to right:
/// containers, bridges, host.
pub fn render(t: &Topology) -> String {
    let mut out = String::from("graph berth {\n  rankdir=LR;\n  node [shape=box, fontsize=12];\n");
    host(t, &mut out);
    for n in &t.networks {
        network(t, n, &mut out);
    }
    for c in &t.containers {
        container(t, c, &mut out);
    }
    for p in &t.problems {
        match p.kind {
            ProblemKind::OrphanBridge => node(
                &mut out,
                &format!("br_{}", p.subject),
                &format!("! bridge {}\nno berth network", p.subject),
                BAD,
                true,
            ),
            ProblemKind::LeakedVeth => {
                let id = format!("leak_{}", p.subject);
                node(
                    &mut out,
                    &id,
                    &format!("! {}\nleaked veth", p.subject),
                    BAD,
                    true,
                );
                if let Some(b) = &p.bridge {
                    edge(&mut out, &id, &bridge_id(t, b), "leaked", true);
                }
            }
            ProblemKind::OrphanNetns => node(
                &mut out,
                &format!("ns_{}", p.subject),
                &format!("! namespace pin\n{}\nno container", p.subject),
                BAD,
                true,
            ),
            _ => {}
        }
    }
    out.push_str("}\n");
    out
}

fn node(out: &mut String, id: &str, label: &str, fill: &str, dashed: bool) {
    let style = if dashed {
        "\"filled,dashed\""
    } else {
        "filled"
    };
    let color = if fill == BAD { ", color=red" } else { "" };
    let _ = writeln!(
        out,
        "  {} [label={}, style={style}, fillcolor={fill}{color}];",
        quote(id),
        quote(label)
    );
}

fn edge(out: &mut String, a: &str, b: &str, label: &str, bad: bool) {
    let extra = if bad { ", color=red, style=dashed" } else { "" };
    let _ = writeln!(
        out,
        "  {} -- {} [label={}{extra}];",
        quote(a),
        quote(b),
        quote(label)
    );
}

/// The node id of bridge `name`: its network's, or an orphan's.
fn bridge_id(t: &Topology, name: &str) -> String {
    match t.networks.iter().find(|n| n.bridge_name == name) {
        Some(n) => format!("net_{}", n.name),
        None => format!("br_{name}"),
    }
}

fn host(t: &Topology, out: &mut String) {
    let mut label = String::from("host");
    match &t.host.uplink {
        Some(u) => {
            let _ = write!(label, "\nuplink {}", u.label());
            for a in &u.addrs {
                let _ = write!(label, "\n{a}");
            }
        }
        None => label.push_str("\nno default route"),
    }
    if let Some(g) = &t.host.gateway {
        let _ = write!(label, "\nvia {g}");
    }
    let _ = write!(
        label,
        "\nip_forward {}",
        if t.host.forwarding { "on" } else { "off" }
    );
    node(out, "host", &label, OK_HOST, false);
}

fn network(t: &Topology, n: &Net, out: &mut String) {
    let id = format!("net_{}", n.name);
    let flag = if n.bridge_missing() { "! " } else { "" };
    let mut label = format!("network {}\n{flag}{}", n.name, n.fabric());
    for g in &n.gateways {
        let _ = write!(label, "\ngateway {g}");
    }
    label.push_str(match (n.internal, n.masquerade) {
        _ if n.bridge_name.is_empty() => "\non the parent's LAN, no NAT",
        (true, _) => "\ninternal: no traffic in or out",
        (false, true) => "\nNAT: masquerade",
        (false, false) => "\nNAT: off",
    });
    if !n.icc {
        label.push_str("\nicc off");
    }
    let fill = if n.bridge_missing() { BAD } else { OK_NET };
    node(out, &id, &label, fill, false);
    match (n.internal, n.masquerade) {
        _ if n.bridge_name.is_empty() => {
            let parent = n.parent.as_deref().unwrap_or("?");
            edge(out, &id, "host", &format!("parent {parent}"), false)
        }
        (true, _) => {}
        (false, true) => edge(out, &id, "host", "masquerade", false),
        (false, false) => edge(out, &id, "host", "routed, no NAT", false),
    }
    let _ = t;
}

fn container(t: &Topology, c: &Ctr, out: &mut String) {
    let id = format!("ctr_{}", c.name);
    let mut label = format!("{}\n{}", c.name, c.state);
    if let Some(n) = &c.ip_netns {
        let _ = write!(label, "\nip netns {n}");
    }
    for a in &c.links {
        let inside = a.inside.as_ref().map_or(a.ifname.clone(), |i| i.label());
        let _ = write!(label, "\n{inside} {}", a.addrs.join(" "));
    }
    for p in &c.ports {
        let _ = write!(label, "\nport {}", p.spec);
    }
    let live = c.state == "running";
    let bad = t
        .problems
        .iter()
        .any(|p| p.subject == c.name || p.subject.starts_with(&format!("{} ", c.name)));
    node(out, &id, &label, if bad { BAD } else { OK_CTR }, !live);
    for a in &c.links {
        let outside = a
            .outside
            .as_ref()
            .map_or(a.host_veth.clone(), |i| i.label());
        let veth = !a.bridge.is_empty();
        let missing = live && (a.inside.is_none() || (veth && a.outside.is_none()));
        let inside = a.inside.as_ref().map_or(a.ifname.clone(), |i| i.label());
        let label = if veth {
            format!("{inside} ⇄ {outside}")
        } else {
            inside
        };
        edge(out, &id, &format!("net_{}", a.network), &label, missing);
    }
}
