//! The explanation on hand-made trace events.

use super::explain::{explain, FromKind, Trip, Verdict};
use super::rules::RuleIndex;
use super::session::Observation;
use super::spec::Proto;
use super::world::{NetInfo, World};
use berth_core::model::{PortBinding, Proto as P};
use berth_core::observe::emit::Outcome;
use berth_core::observe::nftrace::{TraceEvent, TraceKind, Verdict as V};
use berth_core::observe::packet::PacketInfo;

const RULES: &str = r#"table inet berth { # handle 1
	chain forward { # handle 2
		type filter hook forward priority filter; policy accept;
		iifname @bridges oifname @bridges drop comment "networks are isolated from each other" # handle 10
		oifname @internal drop # handle 11
	}
}
table inet berth_trace_1 { # handle 3
	chain mark_prerouting { # handle 1
		type filter hook prerouting priority -500; policy accept;
	}
	chain seen_input { # handle 2
		type filter hook input priority 500; policy accept;
	}
}
"#;

fn world() -> World {
    let mut w = World::default();
    for (i, n) in [(4, "br-a"), (5, "br-b"), (2, "uplink"), (6, "vetha")] {
        w.links.insert(i, n.into());
    }
    w.nets = vec![
        NetInfo {
            name: "neta".into(),
            bridge: "br-a".into(),
            icc: true,
            internal: false,
        },
        NetInfo {
            name: "netb".into(),
            bridge: "br-b".into(),
            icc: true,
            internal: false,
        },
    ];
    w.veths.insert("vetha".into(), ("a1".into(), "neta".into()));
    w.ports.push((
        "web".into(),
        PortBinding {
            host_ip: Some("127.0.0.1".parse().unwrap()),
            host_port: 8081,
            container_port: 80,
            count: 1,
            proto: P::Tcp,
        },
    ));
    w
}

fn pkt(src: &str, dst: &str, sport: u16, dport: u16, flags: u8) -> PacketInfo {
    PacketInfo {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: 6,
        sport,
        dport,
        icmp_type: 0,
        tcp_flags: flags,
    }
}

fn ev(
    family: &'static str,
    table: &str,
    chain: &str,
    rule: Option<u64>,
    verdict: Option<V>,
    p: PacketInfo,
) -> TraceEvent {
    TraceEvent {
        id: 1,
        family,
        table: table.into(),
        chain: chain.into(),
        kind: if rule.is_some() {
            TraceKind::Rule
        } else {
            TraceKind::Policy
        },
        rule,
        verdict,
        iif: Some(4),
        oif: Some(5),
        packet: Some(p),
    }
}

fn trip(kind: FromKind, dst: &str, port: u16) -> Trip {
    Trip {
        from: "from".into(),
        to: "to".into(),
        src: Some("172.18.0.2".parse().unwrap()),
        dst: dst.parse().unwrap(),
        proto: Proto::Tcp,
        port: Some(port),
        sport: 40001,
        kind,
        source_route: None,
        host_route: None,
        element: None,
    }
}

fn obs(events: Vec<TraceEvent>, outcome: Option<Outcome>) -> Observation {
    Observation {
        events,
        outcome,
        lost: 0,
        ruleset_text: String::new(),
        port_elements: Default::default(),
    }
}

fn container() -> FromKind {
    FromKind::Container {
        name: "a1".into(),
        internal: None,
    }
}

#[test]
fn a_drop_names_its_rule_and_reason() {
    let p = pkt("172.18.0.2", "172.19.0.2", 40001, 80, 2);
    let events = vec![
        ev(
            "inet",
            "berth_trace_1",
            "mark_prerouting",
            None,
            Some(V::Accept),
            p,
        ),
        ev("inet", "berth", "forward", Some(10), Some(V::Drop), p),
    ];
    let r = explain(
        &trip(container(), "172.19.0.2", 80),
        &obs(events, Some(Outcome::NoAnswer)),
        &world(),
        &RuleIndex::parse(RULES),
    );
    assert_eq!(r.verdict, Verdict::Dropped);
    assert_eq!(
        r.reason,
        "isolation: networks are isolated from each other (neta -> netb)"
    );
    assert!(r
        .rule
        .unwrap()
        .starts_with("inet berth forward: iifname @bridges oifname @bridges drop"));
    assert!(
        r.hops
            .iter()
            .any(|h| h == "host prerouting: in on br-a (network neta)"),
        "{:?}",
        r.hops
    );
}

#[test]
fn an_anti_spoofing_drop_names_the_container() {
    const BRIDGE: &str = r#"table bridge berth { # handle 4
	chain from_container { # handle 5
		drop comment "anti-spoofing: not the container's MAC address" # handle 7
	}
}
"#;
    let p = pkt("172.18.0.2", "172.18.0.3", 40001, 80, 2);
    let mut e = ev(
        "bridge",
        "berth",
        "from_container",
        Some(7),
        Some(V::Drop),
        p,
    );
    e.iif = Some(6);
    let r = explain(
        &trip(container(), "172.18.0.3", 80),
        &obs(vec![e], Some(Outcome::NoAnswer)),
        &world(),
        &RuleIndex::parse(BRIDGE),
    );
    assert_eq!(r.verdict, Verdict::Dropped);
    assert!(
        r.reason
            .starts_with("container a1 sent what is not its own to send (anti-spoofing: not the container's MAC address)"),
        "{}",
        r.reason
    );
}

#[test]
fn a_refusal_on_a_loopback_published_port() {
    let p = pkt("198.51.100.3", "198.51.100.2", 40001, 8081, 2);
    let events = vec![
        ev(
            "inet",
            "berth_trace_1",
            "mark_prerouting",
            None,
            Some(V::Accept),
            p,
        ),
        ev(
            "inet",
            "berth_trace_1",
            "seen_input",
            None,
            Some(V::Accept),
            p,
        ),
        ev(
            "inet",
            "berth_trace_1",
            "seen_postrouting",
            Some(9),
            Some(V::Drop),
            pkt("198.51.100.2", "198.51.100.3", 8081, 40001, 0x14),
        ),
    ];
    let t = trip(
        FromKind::Outside {
            iface: "uplink".into(),
        },
        "198.51.100.2",
        8081,
    );
    let r = explain(&t, &obs(events, None), &world(), &RuleIndex::parse(RULES));
    assert_eq!(r.verdict, Verdict::Refused, "{r:?}");
    assert!(
        r.reason.contains("published on 127.0.0.1 only")
            && r.reason.contains("127.0.0.1-only binding"),
        "{}",
        r.reason
    );
}

#[test]
fn answers_and_nat_rewrites() {
    let before = pkt("198.51.100.1", "198.51.100.2", 40001, 8080, 2);
    let after = pkt("198.51.100.1", "172.18.0.2", 40001, 80, 2);
    let reply = pkt("198.51.100.2", "198.51.100.1", 8080, 40001, 0x12);
    let events = vec![
        ev(
            "inet",
            "berth_trace_1",
            "mark_prerouting",
            None,
            Some(V::Accept),
            before,
        ),
        ev(
            "inet",
            "berth_trace_1",
            "seen_forward",
            None,
            Some(V::Accept),
            after,
        ),
        ev(
            "inet",
            "berth_trace_1",
            "seen_postrouting",
            Some(9),
            Some(V::Drop),
            reply,
        ),
    ];
    let mut t = trip(
        FromKind::Outside {
            iface: "uplink".into(),
        },
        "198.51.100.2",
        8080,
    );
    t.element = Some("ports4: 0.0.0.0/0 . tcp . 8080 : 172.18.0.2 . 80".into());
    let r = explain(&t, &obs(events, None), &world(), &RuleIndex::parse(RULES));
    assert_eq!(r.verdict, Verdict::Delivered);
    assert!(r.hops.iter().any(|h| h == "DNAT 198.51.100.2:8080 -> 172.18.0.2:80 (map element ports4: 0.0.0.0/0 . tcp . 8080 : 172.18.0.2 . 80)"), "{:?}", r.hops);
}

#[test]
fn an_internal_container_has_no_route_out() {
    let t = Trip {
        kind: FromKind::Container {
            name: "i1".into(),
            internal: Some("inet".into()),
        },
        ..trip(container(), "203.0.113.1", 80)
    };
    let r = explain(
        &t,
        &obs(vec![], Some(Outcome::Unreachable(libc::ENETUNREACH))),
        &world(),
        &RuleIndex::parse(RULES),
    );
    assert_eq!(r.verdict, Verdict::Dropped);
    assert_eq!(
        r.reason,
        "internal network inet: container i1 has no route out of its network"
    );
}

#[test]
fn only_the_first_packet_of_a_connect_is_followed() {
    let syn = pkt("172.18.0.2", "172.18.0.3", 40001, 80, 2);
    let ack = pkt("172.18.0.2", "172.18.0.3", 40001, 80, 0x10);
    let events = vec![
        ev(
            "inet",
            "berth_trace_1",
            "mark_prerouting",
            None,
            Some(V::Accept),
            syn,
        ),
        ev(
            "inet",
            "berth_trace_1",
            "seen_input",
            None,
            Some(V::Accept),
            syn,
        ),
        ev(
            "inet",
            "berth_trace_1",
            "mark_prerouting",
            None,
            Some(V::Accept),
            ack,
        ),
        ev("inet", "berth", "forward", Some(10), Some(V::Drop), ack),
    ];
    let r = explain(
        &trip(container(), "172.18.0.3", 80),
        &obs(events, Some(Outcome::Answered)),
        &world(),
        &RuleIndex::parse(RULES),
    );
    assert_eq!(r.verdict, Verdict::Delivered, "{r:?}");
    assert_eq!(
        r.hops
            .iter()
            .filter(|h| h.starts_with("host prerouting"))
            .count(),
        1,
        "{:?}",
        r.hops
    );
}
