use super::*;
use crate::firewall::{Element, Field, IccPort, PortRule, PortTarget, Set};
use crate::model::Proto;

/// The words `nft --debug=netlink` prints for `bytes` (little-endian u32s).
fn words(bytes: &[u8]) -> String {
    bytes
        .chunks(4)
        .map(|c| format!("{:08x}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The port map element of `host`, `proto`, `ports` to `addr`:`port`.
fn port(host: Option<&str>, proto: Proto, ports: (u16, u16), addr: &str, port: u16) -> Element {
    PortRule {
        host_ip: host.map(|h| h.parse().unwrap()),
        proto,
        host_ports: ports,
        target: PortTarget {
            addr: addr.parse().unwrap(),
            port,
        },
    }
    .element()
}

#[test]
fn encodes_like_nft() {
    // Checked against `nft --debug=netlink` (nft 1.0.6).
    let e = port(None, Proto::Tcp, (8080, 8080), "10.88.0.2", 80);
    assert_eq!(
        e.command(true),
        "add element inet berth ports4 { 0.0.0.0/0 . tcp . 8080 : 10.88.0.2 . 80 }"
    );
    let op = encode(&e, true).unwrap();
    assert_eq!(words(&op.key), "00000000 00000006 0000901f");
    assert_eq!(
        words(op.key_end.as_ref().unwrap()),
        "ffffffff 00000006 0000901f"
    );
    assert_eq!(words(op.data.as_ref().unwrap()), "0200580a 00005000");
    let op = encode(
        &port(
            Some("198.51.100.2"),
            Proto::Udp,
            (53, 53),
            "10.88.0.2",
            5353,
        ),
        true,
    )
    .unwrap();
    assert_eq!(words(&op.key), "026433c6 00000011 00003500");
    assert_eq!(words(op.data.as_ref().unwrap()), "0200580a 0000e914");
    let e = port(None, Proto::Tcp, (8000, 8010), "10.88.0.2", 8000);
    assert_eq!(e.set, Set::Ports4Keep);
    let op = encode(&e, true).unwrap();
    assert_eq!(
        words(op.key_end.as_ref().unwrap()),
        "ffffffff 00000006 00004a1f"
    );
    assert_eq!(words(op.data.as_ref().unwrap()), "0200580a");
    let op = encode(&port(None, Proto::Tcp, (8080, 8080), "fd00::2", 80), true).unwrap();
    assert_eq!(
        words(op.key_end.as_ref().unwrap()),
        "ffffffff ffffffff ffffffff ffffffff 00000006 0000901f"
    );
    assert_eq!(
        words(op.data.as_ref().unwrap()),
        "000000fd 00000000 00000000 02000000 00005000"
    );
    let icc = IccPort {
        veth: "vethabc".into(),
    };
    let op = encode(&icc.elements()[0], true).unwrap();
    assert_eq!(words(&op.key), "68746576 00636261 00000000 00000000");
    assert_eq!(
        (op.family, op.key_end, op.data),
        (NFPROTO_BRIDGE, None, None)
    );
    let del = encode(&e, false).unwrap();
    assert!(!del.add && del.data.is_none() && del.key_end.is_some());
}

#[test]
fn encodes_port_guard_sets_like_nft() {
    // Checked against `nft --debug=netlink` (nft 1.0.6): a 6-byte MAC
    // padded to 8, the typeof raw payload key of port_nd like an address.
    let head = || {
        vec![
            Field::Ifname("vethabc".into()),
            Field::Ether([0x02, 0x42, 0xac, 0x11, 0, 2]),
        ]
    };
    let with = |f: Field| {
        let mut k = head();
        k.push(f);
        k
    };
    let port = "68746576 00636261 00000000 00000000 11ac4202 00000200";
    let op = encode(&Element::new(Set::PortMac, head()), true).unwrap();
    assert_eq!(words(&op.key), port);
    let v4 = Field::Addr("172.17.0.2".parse().unwrap());
    let op = encode(&Element::new(Set::PortIp4, with(v4.clone())), true).unwrap();
    assert_eq!(words(&op.key), format!("{port} 020011ac"));
    assert_eq!((op.key_end, op.data), (None, None));
    let v6 = format!("{port} 000000fd 00000000 00000000 02000000");
    let addr: std::net::Ipv6Addr = "fd00::2".parse().unwrap();
    let op = encode(
        &Element::new(Set::PortIp6, with(Field::Addr(addr.into()))),
        true,
    )
    .unwrap();
    assert_eq!(words(&op.key), v6);
    let nd = Element::new(Set::PortNd, with(Field::Raw128(addr)));
    assert_eq!(nd.command(false), "delete element bridge berth port_nd { \"vethabc\" . 02:42:ac:11:00:02 . 0xfd000000000000000000000000000002 }");
    let op = encode(&nd, false).unwrap();
    assert_eq!(words(&op.key), v6);
    assert!(!op.add);
    let too_long = vec![
        Field::Ifname("a-name-too-long-for-a-link".into()),
        Field::Ether([2, 0, 0, 0, 0, 1]),
    ];
    for bad in [
        Element::new(Set::PortMac, too_long),
        Element::new(Set::PortNd, with(Field::Addr(addr.into()))),
        Element::new(Set::PortIp4, with(Field::Addr(addr.into()))),
    ] {
        assert_eq!(encode(&bad, true), None, "{bad:?}");
    }
    let _ = v4;
}

#[test]
fn a_network_s_elements_go_over_netlink_too() {
    let net = crate::firewall::NetworkRules {
        bridge: "br-x".into(),
        internal: false,
        icc: false,
        masquerade: true,
        unisolated: false,
        dns_gateways: vec!["10.88.0.1".parse().unwrap()],
        gw_modes: [crate::model::network::GwMode::Routed; 2],
    };
    let add = ops(&[], &net.elements()).expect("every element over netlink");
    let of = |set: &str| -> Vec<String> {
        add.iter()
            .filter(|o| o.set == set)
            .map(|o| words(&o.key))
            .collect()
    };
    assert_eq!(of("dns4"), ["0100580a"]);
    assert_eq!(of("same_net").len(), 1);
    assert!(["bridges", "no_icc", "masq", "routed4", "routed6"]
        .iter()
        .all(|s| of(s).len() == 1));
    assert_eq!(add.len(), 7, "no interval element: {add:?}");
}

#[test]
fn anything_else_goes_to_libnftables() {
    let bridge = Element::new(
        Set::VxlanVteps,
        vec![Field::Addr("192.0.2.1".parse().unwrap())],
    );
    let mut no_value = port(None, Proto::Tcp, (8080, 8080), "10.0.0.2", 80);
    no_value.value.clear();
    let mut no_port = port(None, Proto::Tcp, (8080, 8080), "10.0.0.2", 80);
    no_port.key.pop();
    for e in [bridge, no_value, no_port] {
        assert_eq!(ops(&[], std::slice::from_ref(&e)), None, "{e:?}");
    }
    assert_eq!(ops(&[], &[]), None);
    let one = port(None, Proto::Tcp, (1, 1), "10.0.0.2", 1);
    assert_eq!(ops(&[one], &[]).unwrap().len(), 2);
}

#[test]
fn batch_is_framed() {
    let icc = IccPort { veth: "v".into() };
    let ops = ops(&[], &icc.elements()).unwrap();
    let b = batch(&ops);
    let len = |off: usize| u32::from_ne_bytes(b[off..off + 4].try_into().unwrap()) as usize;
    let kind = |off: usize| u16::from_ne_bytes(b[off + 4..off + 6].try_into().unwrap());
    assert_eq!(kind(0), NFNL_MSG_BATCH_BEGIN);
    let second = len(0);
    assert_eq!(
        kind(second),
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM
    );
    let third = second + len(second);
    assert_eq!(kind(third), NFNL_MSG_BATCH_END);
    assert_eq!(third + len(third), b.len());
}
