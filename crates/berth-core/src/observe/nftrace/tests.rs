use super::*;
use crate::observe::packet::{build, Payload};

fn push(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    out.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize((out.len() + 3) & !3, 0);
}

/// A trace message as the kernel sends it.
fn message(family: u8, attrs: &[u8]) -> Vec<u8> {
    let len = 20 + attrs.len();
    let mut m = Vec::new();
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE).to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&[family, 0, 0, 0]);
    m.extend_from_slice(attrs);
    m
}

fn rule_drop_event() -> Vec<u8> {
    let pkt = build(
        "172.18.0.2".parse().unwrap(),
        "172.19.0.2".parse().unwrap(),
        Payload::TcpSyn {
            sport: 40001,
            dport: 80,
        },
    );
    let mut a = Vec::new();
    push(&mut a, NFTA_TRACE_ID, &0xdead_beefu32.to_be_bytes());
    push(&mut a, NFTA_TRACE_TABLE, b"berth\0");
    push(&mut a, NFTA_TRACE_CHAIN, b"forward\0");
    push(&mut a, NFTA_TRACE_TYPE, &3u32.to_be_bytes());
    push(&mut a, NFTA_TRACE_RULE_HANDLE, &42u64.to_be_bytes());
    let mut v = Vec::new();
    push(&mut v, NFTA_VERDICT_CODE, &0u32.to_be_bytes());
    push(&mut a, NFTA_TRACE_VERDICT | 0x8000, &v);
    push(&mut a, NFTA_TRACE_IIF, &7u32.to_be_bytes());
    push(&mut a, NFTA_TRACE_OIF, &9u32.to_be_bytes());
    push(&mut a, NFTA_TRACE_NETWORK_HEADER, &pkt[..20]);
    push(&mut a, NFTA_TRACE_TRANSPORT_HEADER, &pkt[20..]);
    message(1, &a)
}

#[test]
fn decodes_a_rule_event_with_its_packet() {
    let ev = parse_trace(&rule_drop_event()).unwrap();
    assert_eq!(ev.id, 0xdead_beef);
    assert_eq!(
        (ev.family, ev.table.as_str(), ev.chain.as_str()),
        ("inet", "berth", "forward")
    );
    assert_eq!(ev.kind, TraceKind::Rule);
    assert_eq!(ev.rule, Some(42));
    assert_eq!(ev.verdict, Some(Verdict::Drop));
    assert_eq!((ev.iif, ev.oif), (Some(7), Some(9)));
    let p = ev.packet.unwrap();
    assert_eq!(p.dst, "172.19.0.2".parse::<std::net::IpAddr>().unwrap());
    assert_eq!((p.sport, p.dport), (40001, 80));
}

#[test]
fn policy_events_take_the_policy_as_verdict_and_jumps_name_their_chain() {
    let mut a = Vec::new();
    push(&mut a, NFTA_TRACE_TABLE, b"filter\0");
    push(&mut a, NFTA_TRACE_CHAIN, b"FORWARD\0");
    push(&mut a, NFTA_TRACE_TYPE, &1u32.to_be_bytes());
    push(&mut a, NFTA_TRACE_POLICY, &0u32.to_be_bytes());
    let ev = parse_trace(&message(2, &a)).unwrap();
    assert_eq!((ev.family, ev.kind), ("ip", TraceKind::Policy));
    assert_eq!(ev.verdict, Some(Verdict::Drop));
    let mut v = Vec::new();
    push(&mut v, NFTA_VERDICT_CODE, &(-3i32 as u32).to_be_bytes());
    push(&mut v, NFTA_VERDICT_CHAIN, b"DOCKER-USER\0");
    let mut a = Vec::new();
    push(&mut a, NFTA_TRACE_TYPE, &3u32.to_be_bytes());
    push(&mut a, NFTA_TRACE_VERDICT | 0x8000, &v);
    let ev = parse_trace(&message(2, &a)).unwrap();
    assert_eq!(ev.verdict, Some(Verdict::Jump("DOCKER-USER".into())));
    assert_eq!(ev.verdict.unwrap().word(), "jump DOCKER-USER");
}

#[test]
fn other_messages_and_datagrams_split() {
    let mut other = rule_drop_event();
    other[4] = 0; // another message type
    assert!(parse_trace(&other).is_none());
    let mut dgram = rule_drop_event();
    dgram.extend(rule_drop_event());
    assert_eq!(split(&dgram).filter_map(parse_trace).count(), 2);
    assert!(parse_trace(&[0; 8]).is_none());
}
