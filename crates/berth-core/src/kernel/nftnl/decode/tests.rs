use super::*;
use crate::firewall::{IccPort, NetworkRules, PortGuard, PortRule, PortTarget, RoutingGuard};

/// The raw form the kernel dumps of `e`, from its encoding (or, for the
/// sets written as text, by hand).
fn raw_of(e: &Element) -> Raw {
    let op = super::super::encode(e, true).expect("encodable");
    Raw {
        key: op.key,
        key_end: op.key_end,
        data: op.data,
    }
}

#[test]
fn what_is_encoded_decodes_back() {
    let rule = |host: Option<&str>, ports: (u16, u16), addr: &str, port: u16| {
        PortRule {
            host_ip: host.map(|h| h.parse().unwrap()),
            proto: Proto::Udp,
            host_ports: ports,
            target: PortTarget {
                addr: addr.parse().unwrap(),
                port,
            },
        }
        .element()
    };
    let guard = PortGuard {
        veth: "veth89abcde".into(),
        mac: [0x02, 0x42, 0xac, 0x12, 0, 2],
        ipv4: Some("172.18.0.2".parse().unwrap()),
        ipv6: Some("fd00::2".parse().unwrap()),
    };
    let mut all = vec![
        rule(None, (8081, 8081), "172.17.0.2", 80),
        rule(Some("127.0.0.1"), (5353, 5353), "172.17.0.3", 53),
        rule(None, (8000, 8010), "172.17.0.4", 8000),
        rule(None, (8081, 8081), "fd00::2", 80),
        rule(Some("2001:db8::1"), (9000, 9001), "fd00::3", 9000),
    ];
    all.extend(guard.elements());
    all.extend(
        IccPort {
            veth: "veth1".into(),
        }
        .elements(),
    );
    for e in all {
        let back = decode_all(e.set, &[raw_of(&e)]);
        assert_eq!(back, vec![e.clone()], "{e}");
    }
}

#[test]
fn sets_written_as_text_decode_too() {
    let net = NetworkRules {
        bridge: "br-0123456789ab".into(),
        internal: true,
        icc: false,
        masquerade: false,
        unisolated: true,
        dns_gateways: vec!["172.18.0.1".parse().unwrap(), "fd00::1".parse().unwrap()],
        gw_modes: [crate::model::network::GwMode::Nat; 2],
    };
    let ifname = |n: &str| {
        let mut v = n.as_bytes().to_vec();
        v.resize(16, 0);
        v
    };
    let key = |k: Vec<u8>| Raw {
        key: k,
        ..Default::default()
    };
    for e in net.elements() {
        let raw = match e.set {
            Set::SameNet => [ifname(&net.bridge), ifname(&net.bridge)].concat(),
            Set::Dns4 => vec![172, 18, 0, 1],
            Set::Dns6 => "fd00::1".parse::<Ipv6Addr>().unwrap().octets().to_vec(),
            _ => ifname(&net.bridge),
        };
        assert_eq!(decode_all(e.set, &[key(raw)]), vec![e.clone()], "{e}");
    }
    // nf_proto is one byte in a set of one field.
    let guard = RoutingGuard { ipv6: true }.elements();
    assert_eq!(decode_all(Set::RoutingGuard, &[key(vec![10])]), guard);
    // The VXLAN guard: a VNI is 24 bits (`@th,96,24`), a member an address.
    let vxlan = crate::firewall::VxlanGuard {
        vnis: [4097].into(),
        vteps: ["192.0.2.11".parse().unwrap()].into(),
    }
    .elements();
    assert_eq!(
        decode_all(Set::VxlanVnis, &[key(vec![0, 0x10, 0x01])]),
        vxlan[..1]
    );
    assert_eq!(
        decode_all(Set::VxlanVteps, &[key(vec![192, 0, 2, 11])]),
        vxlan[1..]
    );
}

#[test]
fn only_whole_prefixes_decode_as_prefixes() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        prefix(ip("10.88.0.0"), ip("10.88.0.255")),
        Some("10.88.0.0/24".parse().unwrap())
    );
    assert_eq!(prefix(ip("10.0.0.0"), ip("10.0.0.2")), None);
}

#[test]
fn dump_messages_are_read() {
    let e = PortRule {
        host_ip: None,
        proto: Proto::Tcp,
        host_ports: (8080, 8080),
        target: PortTarget {
            addr: "192.0.2.2".parse().unwrap(),
            port: 80,
        },
    }
    .element();
    let op = super::super::encode(&e, true).unwrap();
    let data = |kind: u16, v: &[u8]| {
        let mut inner = Vec::new();
        super::super::push_attr(&mut inner, NFTA_DATA_VALUE, v);
        let mut out = Vec::new();
        super::super::push_attr(&mut out, kind | 0x8000, &inner);
        out
    };
    let mut elem = data(NFTA_SET_ELEM_KEY, &op.key);
    elem.extend(data(NFTA_SET_ELEM_KEY_END, op.key_end.as_ref().unwrap()));
    elem.extend(data(NFTA_SET_ELEM_DATA, op.data.as_ref().unwrap()));
    let mut list = Vec::new();
    super::super::push_attr(&mut list, NFTA_LIST_ELEM | 0x8000, &elem);
    let mut attrs = Vec::new();
    super::super::push_attr(&mut attrs, NFTA_SET_ELEM_LIST_ELEMENTS | 0x8000, &list);
    let mut buf = super::super::message(0x0a0c, 0, 1, NFPROTO_INET, 0, &attrs);
    buf.extend(super::super::message(NLMSG_DONE, 0, 1, 0, 0, &[]));
    let mut raw = Vec::new();
    assert_eq!(messages(&buf, &mut raw), Some(Ok(())));
    assert_eq!(decode_all(Set::Ports4, &raw), vec![e]);
}

#[test]
fn elements_read_as_berth_writes_them() {
    let rule = |host: Option<&str>, proto, ports: (u16, u16), addr: &str, port: u16| {
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
    };
    let read = |e: &Element| decode_all(e.set, &[raw_of(e)])[0].to_string();
    assert_eq!(
        [
            read(&rule(None, Proto::Tcp, (8080, 8080), "192.0.2.2", 80)),
            read(&rule(
                Some("127.0.0.1"),
                Proto::Udp,
                (5353, 5353),
                "192.0.2.3",
                53
            )),
        ],
        [
            "0.0.0.0/0 . tcp . 8080 : 192.0.2.2 . 80",
            "127.0.0.1 . udp . 5353 : 192.0.2.3 . 53"
        ]
    );
    assert_eq!(
        [read(&rule(
            None,
            Proto::Tcp,
            (8000, 8010),
            "192.0.2.4",
            8000
        ))],
        ["0.0.0.0/0 . tcp . 8000-8010 : 192.0.2.4"]
    );
    let garbage = Raw {
        key: b"not netlink".to_vec(),
        ..Default::default()
    };
    assert!(decode_all(Set::Ports4, &[garbage]).is_empty());
}
