//! Kernel objects against the store: bridges, veths, namespace pins, and
//! operations left half-done.

use super::facts::{ContainerFacts, Facts};
use super::Finding;
use berth_core::model::ContainerState;
use std::collections::BTreeSet;

/// Bridges missing or down, veths on berth bridges the store does not
/// know, and running containers whose veth is gone or detached.
pub fn links(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let known: BTreeSet<&str> = f
        .containers
        .iter()
        .flat_map(|c| c.endpoints.iter().map(|e| e.host_veth.as_str()))
        .collect();
    for (n, bridge) in f.bridges() {
        let Some(link) = f.link_named(bridge) else {
            out.push(Finding::fail(
                "links",
                format!(
                    "bridge {bridge} of network {} is missing: its containers are cut off",
                    n.name
                ),
                "berth system reconcile (recreates it and re-attaches the running containers)",
            ));
            continue;
        };
        if !link.up {
            out.push(Finding::fail(
                "links",
                format!("bridge {bridge} of network {} is down", n.name),
                format!("ip link set {bridge} up"),
            ));
        }
        for port in f.links.iter().filter(|l| l.master == Some(link.index)) {
            if !known.contains(port.name.as_str()) {
                out.push(Finding::warn(
                    "links",
                    format!("{} is a port of berth's bridge {bridge} (network {}) but belongs to no container berth knows (leaked)", port.name, n.name),
                    format!("ip link delete {}", port.name),
                ));
            }
        }
    }
    for c in f.containers.iter().filter(|c| c.running) {
        out.extend(container_links(f, c));
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "links",
            format!(
                "{} bridge(s) up; every veth on them belongs to a container",
                f.bridges().count()
            ),
        ));
    }
    out
}

fn container_links(f: &Facts, c: &ContainerFacts) -> Vec<Finding> {
    let name = &c.container.name;
    let mut out = Vec::new();
    for e in &c.endpoints {
        let Some((net, bridge)) = f.bridges().find(|(n, _)| n.id == e.network_id) else {
            continue;
        };
        let restart = format!("berth stop {name} && berth start {name} (rebuilds its network)");
        match f.link_named(&e.host_veth) {
            None => out.push(Finding::fail(
                "links",
                format!(
                    "container {name}: its {} on network {} is gone (host end {} missing)",
                    e.ifname, net.name, e.host_veth
                ),
                restart,
            )),
            Some(l)
                if f.link_named(bridge)
                    .is_some_and(|b| l.master != Some(b.index)) =>
            {
                out.push(Finding::fail(
                    "links",
                    format!(
                        "container {name}: {} is not a port of bridge {bridge} any more",
                        e.host_veth
                    ),
                    format!("ip link set {} master {bridge} up", e.host_veth),
                ))
            }
            Some(_) => {}
        }
    }
    out
}

/// Namespace pins without a container, running containers whose pin is
/// gone, containers that died unseen.
pub fn namespaces(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let dir = f.run_dir.join("netns");
    for (id, pinned) in &f.pins {
        let owner = f.containers.iter().find(|c| &c.container.id == id);
        let path = dir.join(id).display().to_string();
        match owner {
            None => out.push(Finding::warn(
                "namespaces",
                format!("namespace pin {path} belongs to no container (leaked)"),
                if *pinned {
                    format!("umount {path} && rm {path}")
                } else {
                    format!("rm {path}")
                },
            )),
            Some(c)
                if !c.running && !c.supervised && c.container.state == ContainerState::Exited =>
            {
                out.push(Finding::warn(
                    "namespaces",
                    format!(
                        "container {} has exited but its network namespace is still up",
                        c.container.name
                    ),
                    format!("berth rm {0} (or berth start {0})", c.container.name),
                ))
            }
            Some(_) => {}
        }
    }
    for c in &f.containers {
        let name = &c.container.name;
        let recorded_running = c.container.state == ContainerState::Running;
        if c.running && !c.pinned && !c.endpoints.is_empty() {
            out.push(Finding::fail(
                "namespaces",
                format!("container {name} runs but its namespace pin is gone: berth cannot reach its network (exec, connect, stop)"),
                format!("berth rm -f {name} and run it again"),
            ));
        } else if recorded_running && !c.running && !c.supervised {
            out.push(Finding::warn(
                "namespaces",
                format!("container {name} is recorded as running but its process died unseen"),
                "berth system reconcile (marks it exited and takes its network down)",
            ));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "namespaces",
            format!(
                "{} namespace pin(s), each of a container that uses it",
                f.pins.len()
            ),
        ));
    }
    out
}

/// Operations whose berth process died half-way.
pub fn operations(f: &Facts) -> Vec<Finding> {
    let mut out: Vec<Finding> = f
        .ops
        .iter()
        .filter_map(|o| Some((o, o.corrupt.as_ref()?)))
        .map(|(o, why)| {
            Finding::fail(
                "operations",
                format!(
                    "the record of operation {} ({} {}) is corrupt ({why}): berth cannot tell which bridges, veths, namespaces or rules it made, so it keeps the record and leaves them",
                    o.id,
                    o.kind,
                    &o.subject[..o.subject.len().min(12)]
                ),
                format!(
                    "remove what it made from the records ('berth rm -f' of its container, 'berth network rm' of its network), check 'berth topology' for objects the store does not know and delete those by hand, then 'berth system reconcile --forget-op {}'",
                    o.id
                ),
            )
        })
        .collect();
    let stale: Vec<String> = f
        .ops
        .iter()
        .filter(|o| !o.owner_alive && o.corrupt.is_none())
        .map(|o| format!("{} {}", o.kind, &o.subject[..o.subject.len().min(12)]))
        .collect();
    if stale.is_empty() && out.is_empty() {
        let live = f.ops.len();
        return vec![Finding::ok(
            "operations",
            format!("no interrupted operation ({live} in progress)"),
        )];
    }
    if !stale.is_empty() {
        out.push(Finding::warn(
            "operations",
            format!(
                "interrupted operation(s) waiting to be finished or undone: {}",
                stale.join(", ")
            ),
            "berth system reconcile (any berth command also does it)",
        ));
    }
    out
}
