//! The cross-checks of `berth topology`: objects only the kernel has
//! (leaked veths, berth's bridges without a network, pins without a
//! container, port elements nobody publishes) and objects only the store
//! has (missing veth ends, port elements).

use super::{Attachment, Port, Problem, ProblemKind};
use anyhow::Result;
use berth_core::engine::Engine;
use berth_core::firewall::{Element, Field};
use berth_core::kernel::msg::bridge_mac;
use berth_core::model::{Container, Network, PortBinding};
use berth_core::observe::{format_mac, Link, NsView};

/// Problems for the veth ends of a running container the kernel lacks.
pub(super) fn missing_ends(c: &Container, a: &Attachment) -> Vec<Problem> {
    let mut v = Vec::new();
    if a.outside.is_none() && !a.bridge.is_empty() {
        v.push(Problem {
            kind: ProblemKind::MissingVeth,
            subject: a.host_veth.clone(),
            bridge: Some(a.bridge.clone()),
            detail: format!(
                "the host end {} of {}'s {} is missing",
                a.host_veth, c.name, a.ifname
            ),
        });
    }
    if a.inside.is_none() {
        v.push(Problem {
            kind: ProblemKind::MissingVeth,
            subject: format!("{}:{}", c.name, a.ifname),
            bridge: Some(a.bridge.clone()),
            detail: format!("{} is missing inside container {}", a.ifname, c.name),
        });
    }
    v
}

/// The container's published ports, each checked against the kernel's
/// map elements; problems for the elements it needs and lacks.
pub(super) fn ports_view(
    c: &Container,
    wanted: &[Element],
    kernel: &[Element],
    problems: &mut Vec<Problem>,
) -> Vec<Port> {
    let missing: Vec<&Element> = wanted.iter().filter(|w| !kernel.contains(w)).collect();
    for elem in &missing {
        problems.push(Problem {
            kind: ProblemKind::MissingPort,
            subject: format!("{} {elem}", c.name),
            bridge: None,
            detail: format!(
                "the kernel's {} map lacks {elem}: 'berth system reconcile' restores it",
                elem.set.name()
            ),
        });
    }
    c.ports
        .iter()
        .map(|b| {
            let mine: Vec<&Element> = wanted.iter().filter(|e| element_of(b, e)).collect();
            Port {
                spec: crate::inspect::ports_short(std::slice::from_ref(b)),
                in_kernel: !mine.is_empty() && mine.iter().all(|m| !missing.contains(m)),
            }
        })
        .collect()
}

/// True when map element `elem` (`HOST . proto . PORTS : …`) belongs to
/// binding `b`.
fn element_of(b: &PortBinding, elem: &Element) -> bool {
    let [_, Field::Proto(proto), Field::Ports(first, _)] = elem.key.as_slice() else {
        return false;
    };
    let lo = u32::from(b.host_port);
    *proto == b.proto && (lo..lo + u32::from(b.count.max(1))).contains(&u32::from(*first))
}

/// True for a bridge berth created: a name berth gives bridges (`berth0`,
/// `br-<12 hex>`) and the MAC berth derives from that name. Docker names
/// its user-defined bridges the same way but gives them random MACs, so its
/// bridges are not taken for berth's leftovers.
fn berth_bridge(l: &Link) -> bool {
    let name = l.name.as_str();
    let named = name == "berth0"
        || name
            .strip_prefix("br-")
            .is_some_and(|h| h.len() == 12 && h.chars().all(|c| c.is_ascii_hexdigit()));
    named
        && l.kind.as_deref() == Some("bridge")
        && l.mac.as_deref() == Some(format_mac(&bridge_mac(name)).as_str())
}

/// veths on berth's bridges (those of `selected`, and orphan berth-like
/// ones unless `filtered`) that no running container owns.
pub(super) fn leaked_veths(
    host: &NsView,
    all: &[Network],
    selected: &[&Network],
    owned: &[String],
    filtered: bool,
) -> Vec<Problem> {
    let known: Vec<&str> = all.iter().filter_map(|n| n.bridge.as_deref()).collect();
    let watched = |b: &Link| {
        selected
            .iter()
            .any(|n| n.bridge.as_deref() == Some(&b.name))
            || (!filtered && !known.contains(&b.name.as_str()) && berth_bridge(b))
    };
    host.links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("veth") && !owned.contains(&l.name))
        .filter_map(|l| {
            let bridge = host.link(l.master?)?;
            watched(bridge).then(|| Problem {
                kind: ProblemKind::LeakedVeth,
                subject: l.name.clone(),
                bridge: Some(bridge.name.clone()),
                detail: format!(
                    "{} is a port of {} but no running berth container has it",
                    l.name, bridge.name
                ),
            })
        })
        .collect()
}

pub(super) fn orphan_bridges(host: &NsView, all: &[Network]) -> Vec<Problem> {
    host.links
        .iter()
        .filter(|l| berth_bridge(l))
        .filter(|l| !all.iter().any(|n| n.bridge.as_deref() == Some(l.name.as_str())))
        .map(|l| Problem {
            kind: ProblemKind::OrphanBridge,
            subject: l.name.clone(),
            bridge: None,
            detail: format!("bridge {} was made by berth (its name and MAC) but no berth network has it: a leftover", l.name),
        })
        .collect()
}

pub(super) fn orphan_pins(engine: &mut Engine) -> Result<Vec<Problem>> {
    let dir = engine.paths.run.join("netns");
    let ids: Vec<String> = engine.containers()?.into_iter().map(|c| c.id).collect();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut v: Vec<Problem> = rd
        .filter_map(|e| e.ok())
        .filter(|e| !ids.contains(&e.file_name().to_string_lossy().into_owned()))
        .map(|e| Problem {
            kind: ProblemKind::OrphanNetns,
            subject: e.path().display().to_string(),
            bridge: None,
            detail: format!(
                "namespace pin {} belongs to no container",
                e.path().display()
            ),
        })
        .collect();
    v.sort_by(|a, b| a.subject.cmp(&b.subject));
    Ok(v)
}

pub(super) fn leaked_ports(kernel: &[Element], wanted: &[Element]) -> Vec<Problem> {
    kernel
        .iter()
        .filter(|k| !wanted.contains(k))
        .map(|elem| Problem {
            kind: ProblemKind::LeakedPort,
            subject: elem.to_string(),
            bridge: None,
            detail: format!(
                "{} forwards {elem} but no running container publishes it",
                elem.set.name()
            ),
        })
        .collect()
}
