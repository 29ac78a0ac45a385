//! `berth ps`: Docker's columns, filters and formats.

use super::open;
use crate::cli::PsArgs;
use crate::filter::Filters;
use crate::format::{self, ListSpec};
use crate::{inspect, times};
use anyhow::{bail, Result};
use berth_core::engine::Engine;
use berth_core::ids::short;
use berth_core::model::{Container, Network};
use std::path::Path;

/// `ps`'s columns (docker/cli `formatter/container.go`; berth has no
/// images, so its default table has no IMAGE column).
const PS: ListSpec = ListSpec {
    default: "table {{.ID}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    headers: &[
        ("ID", "CONTAINER ID"),
        ("Names", "NAMES"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Ports", "PORTS"),
        ("State", "STATE"),
        ("Status", "STATUS"),
        ("Size", "SIZE"),
        ("Labels", "LABELS"),
        ("Mounts", "MOUNTS"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Networks", "NETWORKS"),
    ],
    extra: &[],
};

/// The container states Docker knows (`status=` takes only these).
const STATES: &[&str] = &[
    "created",
    "running",
    "paused",
    "restarting",
    "removing",
    "exited",
    "dead",
];

/// docker/cli's `Ellipsis`: at most `max` characters, the last one `…`.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The networks a container is attached to (by name), stopped or not.
fn networks_of<'a>(c: &Container, nets: &'a [Network]) -> Vec<&'a Network> {
    c.config
        .networks
        .iter()
        .filter_map(|a| {
            nets.iter()
                .find(|n| n.name == a.network || n.id == a.network)
                .or_else(|| nets.iter().find(|n| n.id.starts_with(&a.network)))
        })
        .collect()
}

/// The `ps --format` fields of a container.
fn row(c: &Container, running: bool, nets: &[&Network], no_trunc: bool) -> serde_json::Value {
    let cmd = c.config.argv.join(" ");
    let cmd = if no_trunc { cmd } else { ellipsis(&cmd, 20) };
    let mounts: Vec<String> = c
        .config
        .security
        .binds
        .iter()
        .map(|b| {
            if no_trunc {
                b.source.display().to_string()
            } else {
                ellipsis(&b.source.display().to_string(), 15)
            }
        })
        .collect();
    serde_json::json!({
        "ID": if no_trunc { c.id.as_str() } else { short(&c.id) },
        "Names": c.name,
        "Image": c.config.rootfs.as_ref().map_or("<no image>".to_string(), |r| r.display().to_string()),
        // Go's strconv.Quote.
        "Command": serde_json::to_string(&cmd).unwrap_or_default(),
        "CreatedAt": times::go_time_string(&c.created, true),
        "RunningFor": format!("{} ago", times::since(&c.created)),
        "Ports": if running { inspect::ports_short(&c.ports) } else { String::new() },
        "State": state(c, running),
        "Status": inspect::status_text(c, running),
        "Size": "0B",
        "Labels": c.config.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "Label": c.config.labels,
        "Mounts": mounts.join(","),
        "LocalVolumes": "0",
        "Networks": nets.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(","),
        "Platform": serde_json::Value::Null,
    })
}

/// Docker's state word.
pub fn state(c: &Container, running: bool) -> &'static str {
    if running {
        "running"
    } else if c.state.as_str() == "created" {
        "created"
    } else {
        "exited"
    }
}

/// Whether `c` passes the filters (moby's `daemon/list.go`).
fn matches(f: &Filters, c: &Container, running: bool, nets: &[&Network]) -> bool {
    (f.matches("name", &c.name) || f.matches("name", &format!("/{}", c.name)))
        && f.matches("id", &c.id)
        && f.labels("label", &c.config.labels)
        && f.matches("status", state(c, running))
        && (!f.contains("network")
            || f.get("network").iter().any(|want| {
                nets.iter()
                    .any(|n| n.name == *want || n.id.starts_with(want))
            }))
}

/// `berth ps`.
pub fn ps(root: Option<&Path>, a: PsArgs) -> Result<i32> {
    let f = Filters::parse(&a.filter, &["id", "label", "name", "network", "status"])?;
    for s in f.get("status") {
        if !STATES.contains(&s) {
            bail!(
                "invalid filter 'status={s}': use one of {}",
                STATES.join(", ")
            );
        }
    }
    let all = a.all || f.contains("status");
    let mut engine = open(root)?;
    engine.reap_dead()?;
    let mut cs = engine.containers()?;
    cs.reverse();
    let nets = engine.networks()?;
    let mut items = Vec::new();
    for c in &cs {
        let running = Engine::is_running(c);
        let on = networks_of(c, &nets);
        if (!all && !running) || !matches(&f, c, running, &on) {
            continue;
        }
        items.push(row(c, running, &on, a.no_trunc));
    }
    let format = if a.quiet {
        Some("{{.ID}}")
    } else {
        a.format.as_deref()
    };
    print!("{}", format::list(format, &items, &PS)?);
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ellipsis_as_docker() {
        assert_eq!(
            super::ellipsis("busybox sleep 3600", 20),
            "busybox sleep 3600"
        );
        assert_eq!(
            super::ellipsis("busybox httpd -f -p 80 -h /etc", 20),
            "busybox httpd -f -p…"
        );
    }
}
