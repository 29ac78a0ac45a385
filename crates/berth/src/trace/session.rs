//! One trace: a temporary table of berth's own marks the probe for
//! nftables tracing, the probe is sent for real, the kernel's trace events
//! are collected, and the table is removed — always, even on error
//! (guard), with SIGINT/SIGTERM held back while it exists, and tables left
//! by a trace that was killed are removed by the next one.
//!
//! The table (`inet berth_trace_PID` and `bridge berth_trace_PID`) has
//! chains at priority -500 on prerouting and output that set `meta nftrace`
//! on packets of the probe's flow only (its unique source port or echo id,
//! either direction), and empty chains at priority 500 on input, forward
//! and postrouting (and the bridge's forward and output) whose events show
//! where the packet went once every other chain of that hook let it pass.
//! For a probe injected from outside, a rule there also drops the replies
//! on their way out, so the probe never answers anyone.

use anyhow::{Context, Result};
use berth_core::kernel::Nft;
use berth_core::observe::emit::{probe_from, Outcome};
use berth_core::observe::inject::Injector;
use berth_core::observe::nftrace::{TraceEvent, TraceListener, Verdict};
use berth_core::observe::packet::{self, Payload};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long to keep reading once a local probe has its answer.
const GRACE: Duration = Duration::from_millis(100);

/// Source MAC of injected frames (locally administered).
const INJECTED_MAC: [u8; 6] = [0x02, 0x62, 0x74, 0x72, 0x63, 0x65];

/// Prefix of the temporary tables' names.
pub const TABLE_PREFIX: &str = "berth_trace_";

/// How the probe leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// From a socket in this namespace (`None`: the host's) .
    Local(Option<PathBuf>),
    /// Arriving on host interface `iface` from address `from`.
    Injected {
        /// Interface name.
        iface: String,
        /// Its MAC address (the frame's destination).
        mac: [u8; 6],
        /// The outside source address.
        from: IpAddr,
    },
}

/// The probe to send.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Where it starts.
    pub source: Source,
    /// Destination address.
    pub dst: IpAddr,
    /// TCP SYN, UDP datagram or echo request, with the unique port or id.
    pub payload: Payload,
    /// How long to wait for an answer.
    pub timeout: Duration,
}

/// What the kernel reported.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Trace events of the probe's flow (both directions), in order.
    pub events: Vec<TraceEvent>,
    /// What the sender saw (local probes).
    pub outcome: Option<Outcome>,
    /// Events were lost (the socket's buffer overflowed).
    pub lost: usize,
    /// `nft -a list ruleset` while the trace table existed.
    pub ruleset_text: String,
    /// The elements of berth's published-port maps.
    pub port_elements: Vec<berth_core::firewall::Element>,
}

/// The rules matching the probe's flow (pure), for `family` (`inet` or
/// `bridge`).
fn flow_match(payload: &Payload, v6: bool) -> Vec<String> {
    match *payload {
        Payload::TcpSyn { sport, .. } | Payload::Udp { sport, .. } => {
            let l4 = if matches!(payload, Payload::TcpSyn { .. }) {
                "tcp"
            } else {
                "udp"
            };
            vec![
                format!("meta l4proto {l4} th sport {sport}"),
                format!("meta l4proto {l4} th dport {sport}"),
            ]
        }
        Payload::Echo { id } if v6 => vec![format!("icmpv6 id {id}")],
        Payload::Echo { id } => vec![format!("icmp id {id}")],
    }
}

/// The reply of an injected probe, as it leaves towards `from` (pure).
fn reply_match(payload: &Payload, from: IpAddr) -> String {
    let ip = if from.is_ipv6() { "ip6" } else { "ip" };
    match *payload {
        Payload::TcpSyn { sport, .. } => format!("{ip} daddr {from} tcp dport {sport}"),
        Payload::Udp { sport, .. } => format!("{ip} daddr {from} udp dport {sport}"),
        Payload::Echo { id } if from.is_ipv6() => format!("ip6 daddr {from} icmpv6 id {id}"),
        Payload::Echo { id } => format!("ip daddr {from} icmp id {id}"),
    }
}

fn chain(name: &str, hook: &str, prio: i32, rules: &[String]) -> String {
    let mut c =
        format!("\tchain {name} {{\n\t\ttype filter hook {hook} priority {prio}; policy accept;\n");
    for r in rules {
        c.push_str(&format!("\t\t{r}\n"));
    }
    c.push_str("\t}\n");
    c
}

/// The temporary tables for `probe` (pure).
pub fn tables_text(name: &str, probe: &Probe) -> String {
    let v6 = probe.dst.is_ipv6();
    let mark: Vec<String> = flow_match(&probe.payload, v6)
        .iter()
        .map(|m| format!("{m} meta nftrace set 1"))
        .collect();
    let hold: Vec<String> = match &probe.source {
        Source::Injected { from, .. } => {
            vec![format!(
                "{} drop comment \"berth trace: the probe's reply stays here\"",
                reply_match(&probe.payload, *from)
            )]
        }
        Source::Local(_) => Vec::new(),
    };
    let inet = [
        chain("mark_prerouting", "prerouting", -500, &mark),
        chain("mark_output", "output", -500, &mark),
        chain("seen_input", "input", 500, &[]),
        chain("seen_forward", "forward", 500, &[]),
        chain("seen_postrouting", "postrouting", 500, &hold),
    ];
    let bridge = [
        chain("mark_prerouting", "prerouting", -500, &mark),
        chain("seen_forward", "forward", 500, &[]),
        chain("seen_output", "output", 500, &[]),
    ];
    format!(
        "table inet {name} {{\n{}}}\ntable bridge {name} {{\n{}}}\n",
        inet.concat(),
        bridge.concat()
    )
}

/// The temporary tables, deleted on drop; SIGINT, SIGTERM and SIGHUP wait
/// until then.
struct Tables {
    name: String,
    mask: nix::sys::signal::SigSet,
}

impl Tables {
    fn install(nft: &mut Nft, name: &str, text: &str) -> Result<Tables> {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal};
        let mut mask = SigSet::empty();
        for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            mask.add(s);
        }
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None);
        let t = Tables {
            name: name.to_string(),
            mask,
        };
        nft.apply(text).context("installing the trace table")?;
        Ok(t)
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        let n = &self.name;
        let text = format!("table inet {n} {{}}\ndelete table inet {n}\ntable bridge {n} {{}}\ndelete table bridge {n}\n");
        if let Err(e) = Nft::new().apply(&text) {
            eprintln!("berth: warning: cannot remove the trace table {n}: {e}; delete it with: nft delete table inet {n}; nft delete table bridge {n}");
        }
        use nix::sys::signal::SigmaskHow;
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&self.mask), None);
    }
}

/// Deletes trace tables and injection links of trace processes that died.
fn remove_stale(nft: &mut Nft, text: &str) {
    let alive = |pid: u32| berth_core::engine::pid_alive(pid as i32, None);
    for line in text.lines().filter(|l| l.starts_with("table ")) {
        let mut w = line.split_whitespace().skip(1);
        let (Some(family), Some(name)) = (w.next(), w.next()) else {
            continue;
        };
        let pid = name
            .strip_prefix(TABLE_PREFIX)
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !alive(p)) {
            let _ = nft.apply(&format!("delete table {family} {name}\n"));
        }
    }
    if let Ok(links) = std::fs::read_dir("/sys/class/net") {
        let names: Vec<String> = links
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        berth_core::observe::inject::remove_stale_injectors(&names, alive);
    }
}

/// The kernel sends a packet's headers and interfaces with the first
/// event of each base chain only; the events after it (rules, jumps into
/// regular chains, the policy) carry the same trace id: give them those.
fn with_packets(mut events: Vec<TraceEvent>) -> Vec<TraceEvent> {
    let mut last = std::collections::HashMap::new();
    for e in &mut events {
        match e.packet {
            Some(p) => {
                last.insert(e.id, (p, e.iif, e.oif));
            }
            None => {
                if let Some((p, iif, oif)) = last.get(&e.id).copied() {
                    e.packet = Some(p);
                    e.iif = e.iif.or(iif);
                    e.oif = e.oif.or(oif);
                }
            }
        }
    }
    events
}

/// Whether `e` belongs to the probe's flow.
fn of_flow(e: &TraceEvent, payload: &Payload) -> bool {
    let Some(p) = &e.packet else { return false };
    match *payload {
        Payload::TcpSyn { sport, .. } | Payload::Udp { sport, .. } => {
            p.sport == sport || p.dport == sport
        }
        Payload::Echo { id } => p.sport == id && matches!(p.proto, 1 | 58),
    }
}

/// Sends the probe with tracing on and collects what the kernel reported.
pub fn run(probe: &Probe) -> Result<Observation> {
    let mut nft = Nft::new();
    let before = nft.list_text("list tables").unwrap_or_default();
    remove_stale(&mut nft, &before);
    let mut listener = TraceListener::open()?;
    let name = format!("{TABLE_PREFIX}{}", std::process::id());
    let tables = Tables::install(&mut nft, &name, &tables_text(&name, probe))?;
    let ruleset_text = nft.list_text("list ruleset").unwrap_or_default();
    let port_elements = berth_core::observe::port_elements(&mut nft);
    let payload = probe.payload;
    let (events, outcome) = match &probe.source {
        Source::Local(ns) => std::thread::scope(|s| -> Result<_> {
            // Read while the probe waits for its answer: many traced
            // packets at once would overflow the socket's buffer.
            let sender = s.spawn(|| probe_from(ns.as_deref(), probe.dst, payload, probe.timeout));
            let mut finished: Option<Instant> = None;
            let events = listener.collect(Instant::now() + probe.timeout * 2 + GRACE, |_| {
                if sender.is_finished() {
                    let at = *finished.get_or_insert_with(Instant::now);
                    return at.elapsed() >= GRACE;
                }
                false
            })?;
            let outcome = sender
                .join()
                .unwrap_or_else(|_| Err(berth_core::Error::internal("probe thread panicked")))?;
            Ok((events, Some(outcome)))
        })?,
        Source::Injected { iface, mac, from } => {
            let injector = Injector::new(iface)?;
            let frame = packet::ethernet(
                *mac,
                INJECTED_MAC,
                &packet::build(*from, probe.dst, payload),
            );
            injector.send(&frame)?;
            // Wait for the reply (held back by the trace table) or the timeout.
            let events = listener.collect(Instant::now() + probe.timeout, |evs| {
                evs.iter()
                    .any(|e| e.table == name && e.verdict == Some(Verdict::Drop))
            })?;
            (events, None)
        }
    };
    drop(tables);
    Ok(Observation {
        lost: listener.lost(),
        events: with_packets(events)
            .into_iter()
            .filter(|e| of_flow(e, &payload))
            .collect(),
        outcome,
        ruleset_text,
        port_elements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_marks_only_the_probe_and_holds_injected_replies() {
        let probe = Probe {
            source: Source::Injected {
                iface: "uplink".into(),
                mac: [0; 6],
                from: "198.51.100.1".parse().unwrap(),
            },
            dst: "198.51.100.2".parse().unwrap(),
            payload: Payload::TcpSyn {
                sport: 40001,
                dport: 8080,
            },
            timeout: Duration::from_secs(1),
        };
        let text = tables_text("berth_trace_1", &probe);
        assert!(text.contains("meta l4proto tcp th sport 40001 meta nftrace set 1"));
        assert!(text.contains("meta l4proto tcp th dport 40001 meta nftrace set 1"));
        assert!(text.contains("type filter hook prerouting priority -500; policy accept;"));
        assert!(text.contains("ip daddr 198.51.100.1 tcp dport 40001 drop"));
        assert!(text.starts_with("table inet berth_trace_1 {"));
        assert!(text.contains("table bridge berth_trace_1 {"));
        let ping = Probe {
            source: Source::Local(None),
            payload: Payload::Echo { id: 7 },
            dst: "2001:db8::1".parse().unwrap(),
            ..probe
        };
        let text = tables_text("t", &ping);
        assert!(text.contains("icmpv6 id 7 meta nftrace set 1"));
        assert!(!text.contains("drop"));
    }
}
