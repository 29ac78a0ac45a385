//! `berth trace FROM TO[:PORT][/PROTO]`: the path a packet takes, hop by
//! hop, and where and why it would be dropped — from the live kernel, not
//! from berth's model.
//!
//! A real probe is sent ([`session`]): from the FROM container's namespace
//! or the host (a TCP connect, one UDP datagram or a ping), or injected on
//! the host interface facing an outside FROM address. A temporary table
//! of berth's own marks just that flow for nftables tracing, so the kernel
//! reports every chain of every table it crosses — Docker's iptables-nft
//! rules included — with the rule that matched and its verdict
//! ([`berth_core::observe::nftrace`]). Routes come from the kernel's own
//! lookups (RTM_GETROUTE with the packet's fields, in the right namespace).
//! [`explain`] turns that into hops and a verdict (pure); [`reasons`] names
//! the deciding rule in words. See docs/decisions/0010-trace-from-the-kernel.md.

pub mod elements;
pub mod explain;
pub mod reasons;
pub mod resolve;
pub mod rules;
pub mod session;
pub mod spec;
pub mod trip;
pub mod world;

use anyhow::{bail, Result};
use berth_core::engine::Engine;
use berth_core::kernel::Netlink;
use berth_core::observe::packet::Payload;
use berth_core::observe::NsView;
use explain::{Report, Trip};
use std::path::Path;
use std::time::Duration;

/// A source port (and echo id) for the probe: random, above the usual
/// ephemeral range's start, so the trace rules match this probe only.
fn probe_port() -> u16 {
    let id = berth_core::ids::new_id().unwrap_or_default();
    let r = u16::from_str_radix(id.get(..4).unwrap_or("0"), 16).unwrap_or(0);
    33_000 + r % 28_000
}

/// Sends one probe with a fresh source port (echo id).
fn probe(
    r: &resolve::Resolved,
    target: &spec::Target,
    timeout: Duration,
) -> Result<(u16, Payload, session::Observation)> {
    let sport = probe_port();
    let payload = match (target.proto, target.port) {
        (spec::Proto::Tcp, Some(dport)) => Payload::TcpSyn { sport, dport },
        (spec::Proto::Udp, Some(dport)) => Payload::Udp { sport, dport },
        _ => Payload::Echo { id: sport },
    };
    let probe = session::Probe {
        source: r.source.clone(),
        dst: r.dst,
        payload,
        timeout,
    };
    Ok((sport, payload, session::run(&probe)?))
}

/// Runs the trace and explains it.
pub fn trace(root: Option<&Path>, from: &str, to: &str, timeout: Duration) -> Result<Report> {
    berth_core::engine::require_root()?;
    let from = spec::parse_from(from)?;
    let target = spec::parse_to(to)?;
    let mut engine = Engine::open_store_only(&crate::config::engine(root)?)?;
    let host_view = NsView::read(&mut Netlink::open()?)?;
    let world = resolve::world(&mut engine, &host_view)?;
    let r = resolve::resolve(&mut engine, &from, &target, &host_view)?;
    if r.src.is_some_and(|s| s.is_ipv6() != r.dst.is_ipv6()) {
        bail!("{} and {} are of different IP families", r.from, r.to);
    }
    // Events lost to a flood of other traced packets: try once more.
    let (mut sport, mut payload, mut obs) = probe(&r, &target, timeout)?;
    if obs.lost > 0 {
        (sport, payload, obs) = probe(&r, &target, timeout)?;
    }
    if std::env::var_os("BERTH_TRACE_EVENTS").is_some() {
        for e in &obs.events {
            eprintln!("{e:?}");
        }
    }
    let rules = rules::RuleIndex::parse(&obs.ruleset_text);
    // The host routes the packet as it is after DNAT: the last address the
    // trace saw it going to.
    let routed_dst = obs
        .events
        .iter()
        .filter(|e| e.family != "bridge")
        .filter_map(|e| e.packet)
        .filter(|p| match payload {
            Payload::Echo { .. } => matches!(p.icmp_type, 8 | 128),
            _ => p.sport == sport,
        })
        .map(|p| p.dst)
        .next_back()
        .unwrap_or(r.dst);
    let host_route = resolve::host_route(r.src, routed_dst, r.host_iif, &host_view)?;
    let element = target
        .port
        .and_then(|p| elements::element_for(&obs.port_elements, target.proto.word(), r.dst, p));
    let trip = Trip {
        from: r.from,
        to: r.to,
        src: r.src,
        dst: r.dst,
        proto: target.proto,
        port: target.port,
        sport,
        kind: r.kind,
        source_route: r.source_route,
        host_route,
        element,
    };
    let mut report = explain::explain(&trip, &obs, &world, &rules);
    if obs.lost > 0 {
        report.hops.push("(some trace events were lost: many packets were traced at once; the path above may be incomplete)".into());
    }
    Ok(report)
}

/// The report as text.
pub fn render_text(r: &Report) -> String {
    let mut s = format!("trace {} -> {}: {}\n", r.from, r.to, r.packet);
    for (i, h) in r.hops.iter().enumerate() {
        s.push_str(&format!("  {:>2}  {h}\n", i + 1));
    }
    let verdict = serde_json::to_value(r.verdict)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    s.push_str(&format!("verdict: {verdict}: {}\n", r.reason));
    if let Some(rule) = &r.rule {
        s.push_str(&format!("decided by: {rule}\n"));
    }
    s
}

/// `berth trace`: prints the report; exit status 0 whatever the verdict.
pub fn run(
    root: Option<&Path>,
    from: &str,
    to: &str,
    format: Option<&str>,
    timeout: f64,
) -> Result<i32> {
    if !(0.05..=30.0).contains(&timeout) {
        bail!("--timeout {timeout}: give between 0.05 and 30 seconds");
    }
    let report = trace(root, from, to, Duration::from_secs_f64(timeout))?;
    match format {
        Some("json") => println!("{}", serde_json::to_string_pretty(&report)?),
        None | Some("text") => print!("{}", render_text(&report)),
        Some(other) => bail!("unknown --format {other:?}: use text or json"),
    }
    Ok(0)
}

#[cfg(test)]
mod tests;
