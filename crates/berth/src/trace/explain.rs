//! From the kernel's trace events to an explanation (pure): the hops the
//! probe took, the verdict, and the rule or route that decided it.

use super::reasons::{drop_reason, refusal_reason, route_reason};
use super::rules::RuleIndex;
use super::session::{Observation, TABLE_PREFIX};
use super::spec::Proto;
use super::world::World;
use berth_core::observe::emit::Outcome;
use berth_core::observe::nftrace::{TraceEvent, TraceKind, Verdict as NftVerdict};
use berth_core::observe::packet::{tcp_flags, PacketInfo};
use serde::Serialize;
use std::net::IpAddr;

pub use super::trip::{FromKind, Trip};

/// delivered, refused, dropped or no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The destination answered.
    Delivered,
    /// The destination's host refused it (TCP reset, ICMP port unreachable).
    Refused,
    /// Dropped on the way (firewall or routing).
    Dropped,
    /// It went through, nothing answered.
    NoAnswer,
}

/// The explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// FROM in words.
    pub from: String,
    /// TO in words.
    pub to: String,
    /// The probe packet.
    pub packet: String,
    /// Its destination address (before any DNAT).
    pub dst: IpAddr,
    /// Its destination port.
    pub port: Option<u16>,
    /// Hop by hop.
    pub hops: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    /// The rule (or route) that decided a drop or refusal.
    pub rule: Option<String>,
}

fn ours(e: &TraceEvent) -> bool {
    e.table.starts_with(TABLE_PREFIX)
}

/// Events of the probe itself (not of its reply).
fn is_forward(e: &TraceEvent, t: &Trip) -> bool {
    e.packet.is_some_and(|p| match t.proto {
        Proto::Icmp => matches!(p.icmp_type, 8 | 128),
        _ => p.sport == t.sport,
    })
}

/// The events of the probe's first packet: a connect sends more (the
/// handshake's ACK, a retransmitted SYN), each starting again at one of the
/// trace table's marking chains. (Trace ids are no help: the kernel may
/// give one packet several.)
fn first_packet<'a>(events: &'a [TraceEvent], t: &Trip) -> Vec<&'a TraceEvent> {
    let mut out = Vec::new();
    let mut marks = std::collections::HashSet::new();
    let mut prev: Option<(&str, &str, &str)> = None;
    for e in events.iter().filter(|e| is_forward(e, t)) {
        let key = (e.family, e.table.as_str(), e.chain.as_str());
        if ours(e) && e.chain.starts_with("mark_") && prev != Some(key) && !marks.insert(key) {
            break;
        }
        prev = Some(key);
        out.push(e);
    }
    out
}

fn addr(ip: IpAddr, port: u16) -> String {
    match (ip, port) {
        (_, 0) => ip.to_string(),
        (IpAddr::V6(v6), p) => format!("[{v6}]:{p}"),
        (v4, p) => format!("{v4}:{p}"),
    }
}

fn nat_hop(before: &PacketInfo, after: &PacketInfo, element: &Option<String>) -> Option<String> {
    if (before.dst, before.dport) != (after.dst, after.dport) {
        let el = element
            .as_ref()
            .map(|e| format!(" (map element {e})"))
            .unwrap_or_default();
        return Some(format!(
            "DNAT {} -> {}{el}",
            addr(before.dst, before.dport),
            addr(after.dst, after.dport)
        ));
    }
    if (before.src, before.sport) != (after.src, after.sport) {
        return Some(format!(
            "SNAT (masquerade) {} -> {}",
            addr(before.src, before.sport),
            addr(after.src, after.sport)
        ));
    }
    None
}

fn our_hop(e: &TraceEvent, w: &World) -> Option<String> {
    let iif = w.describe_if(&w.ifname(e.iif));
    let oif = w.describe_if(&w.ifname(e.oif));
    Some(match (e.family, e.chain.as_str()) {
        ("inet", "mark_prerouting") => format!("host prerouting: in on {iif}"),
        ("inet", "mark_output") => "host output: sent by this host".into(),
        ("inet", "seen_forward") => {
            format!("host forward: {iif} -> {oif}; every forward chain let it pass")
        }
        ("inet", "seen_input") => {
            format!("host input: delivered to this host on {iif}; every input chain let it pass")
        }
        ("inet", "seen_postrouting") => format!("host postrouting: out on {oif}"),
        ("bridge", "mark_prerouting") => format!("bridge: frame in on port {iif}"),
        ("bridge", "seen_forward") => format!("bridge: frame forwarded {iif} -> {oif}"),
        ("bridge", "seen_output") => format!("bridge: frame out on port {oif}"),
        _ => return None,
    })
}

fn rule_hop(e: &TraceEvent, rules: &RuleIndex) -> Option<String> {
    let at = format!("{} {} {}", e.family, e.table, e.chain);
    let verdict = e.verdict.as_ref().map(NftVerdict::word).unwrap_or_default();
    match e.kind {
        TraceKind::Rule if e.verdict != Some(NftVerdict::Continue) => {
            let text = e
                .rule
                .and_then(|h| rules.rule(e.family, &e.table, &e.chain, h))
                .unwrap_or("?");
            Some(format!("{at}: `{text}` -> {verdict}"))
        }
        TraceKind::Policy if e.verdict == Some(NftVerdict::Drop) => {
            let hook = rules
                .base(e.family, &e.table, &e.chain)
                .map(|b| format!(" (hook {})", b.hook))
                .unwrap_or_default();
            Some(format!("{at}: policy drop{hook}"))
        }
        _ => None,
    }
}

/// The hops of the probe's own events.
fn hops(t: &Trip, fwd: &[&TraceEvent], w: &World, rules: &RuleIndex) -> Vec<String> {
    let mut out: Vec<String> = t
        .source_route
        .iter()
        .map(|l| format!("{}: {}", l.place, l.words()))
        .collect();
    if let FromKind::Outside { iface } = &t.kind {
        out.push(format!(
            "arrives on {} from {} (injected on its ingress)",
            w.describe_if(iface),
            t.src.map_or_else(|| "?".into(), |s| s.to_string())
        ));
    }
    let mut prev: Option<PacketInfo> = None;
    let mut routed = false;
    let mut prev_chain = None;
    for e in fwd {
        if let (Some(p), Some(q)) = (prev, e.packet) {
            out.extend(nat_hop(&p, &q, &t.element));
        }
        prev = e.packet.or(prev);
        let hook = rules
            .base(e.family, &e.table, &e.chain)
            .map(|b| b.hook.as_str());
        let past_routing =
            e.family != "bridge" && matches!(hook, Some("forward" | "input" | "output"));
        if past_routing && !routed {
            routed = true;
            out.extend(
                t.host_route
                    .iter()
                    .map(|l| format!("{}: {}", l.place, l.words())),
            );
        }
        let same_chain = prev_chain == Some((e.family, e.table.as_str(), e.chain.as_str()));
        prev_chain = Some((e.family, e.table.as_str(), e.chain.as_str()));
        let hop = match ours(e) {
            true if same_chain => None,
            true => our_hop(e, w),
            false => rule_hop(e, rules),
        };
        if let Some(h) = hop.filter(|h| out.last() != Some(h)) {
            out.push(h);
        }
    }
    if !routed && !fwd.is_empty() {
        out.extend(
            t.host_route
                .iter()
                .map(|l| format!("{}: {}", l.place, l.words())),
        );
    }
    out
}

/// What the reply tells: answered, refused, or nothing.
fn reply_outcome(replies: &[&TraceEvent]) -> Option<Outcome> {
    let p = replies.iter().find_map(|e| e.packet)?;
    Some(match p.proto {
        6 if p.tcp_flags & tcp_flags::RST != 0 => Outcome::Refused,
        1 | 58 if !matches!(p.icmp_type, 0 | 129) => Outcome::Unreachable(libc::EHOSTUNREACH),
        _ => Outcome::Answered,
    })
}

/// Builds the report.
pub fn explain(t: &Trip, obs: &Observation, w: &World, rules: &RuleIndex) -> Report {
    let fwd = first_packet(&obs.events, t);
    let replies: Vec<&TraceEvent> = obs.events.iter().filter(|e| !is_forward(e, t)).collect();
    let hops = hops(t, &fwd, w, rules);
    let port = t.port.map(|p| format!(":{p}")).unwrap_or_default();
    let packet = format!(
        "{} {} -> {}{port}",
        t.proto.word(),
        t.src
            .map_or_else(|| "(kernel's choice)".into(), |s| s.to_string()),
        t.dst
    );
    let mut r = Report {
        from: t.from.clone(),
        to: t.to.clone(),
        packet,
        dst: t.dst,
        port: t.port,
        hops,
        verdict: Verdict::NoAnswer,
        reason: String::new(),
        rule: None,
    };
    let drop = fwd
        .iter()
        .find(|e| !ours(e) && e.verdict == Some(NftVerdict::Drop));
    if let Some(e) = drop {
        let text = e
            .rule
            .and_then(|h| rules.rule(e.family, &e.table, &e.chain, h));
        r.verdict = Verdict::Dropped;
        r.reason = drop_reason(e, text, w);
        r.rule = Some(match text {
            Some(tx) => format!("{} {} {}: {tx}", e.family, e.table, e.chain),
            None => format!("{} {} {}: policy drop", e.family, e.table, e.chain),
        });
        return r;
    }
    let outcome = obs
        .outcome
        .clone()
        .or_else(|| reply_outcome(&replies))
        .unwrap_or(Outcome::NoAnswer);
    decide(&mut r, t, &fwd, outcome, w);
    r
}

/// The verdict when no rule dropped the probe: from what came back.
fn decide(r: &mut Report, t: &Trip, fwd: &[&TraceEvent], outcome: Outcome, w: &World) {
    let local = fwd.iter().any(|e| ours(e) && e.chain == "seen_input");
    match outcome {
        Outcome::Answered => {
            r.verdict = Verdict::Delivered;
            r.reason = format!("{} answered", t.to);
        }
        Outcome::Refused => {
            r.verdict = Verdict::Refused;
            r.reason = refusal_reason(t, w, local);
            r.rule = t
                .port
                .map(|p| format!("nothing accepts {}/{} on {}", p, t.proto.word(), t.dst));
        }
        Outcome::Unreachable(errno) => {
            r.verdict = Verdict::Dropped;
            (r.reason, r.rule) = route_reason(t, Some(errno), fwd.is_empty());
        }
        Outcome::NoAnswer => {
            let reached = fwd.iter().any(|e| {
                ours(e)
                    && matches!(
                        e.chain.as_str(),
                        "seen_input" | "seen_postrouting" | "seen_forward" | "seen_output"
                    )
            });
            if reached || fwd.is_empty() && matches!(t.kind, FromKind::Host) {
                r.reason = format!(
                    "the probe went through but {} did not answer within the timeout",
                    t.to
                );
            } else {
                r.verdict = Verdict::Dropped;
                (r.reason, r.rule) = route_reason(t, None, fwd.is_empty());
            }
        }
    }
}
