use super::*;
use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};

fn roundtrip(r: Request) -> RouteNetlinkMessage {
    let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(r.msg));
    nl.finalize();
    let mut buf = vec![0; nl.buffer_len()];
    nl.serialize(&mut buf);
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf)
        .unwrap()
        .payload
    {
        NetlinkPayload::InnerMessage(m) => m,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn veth_message_carries_peer_namespace_and_master() {
    let peer = VethPeer {
        name: "eth0",
        netns_fd: 7,
        mac: parse_mac("02:42:ac:11:00:02"),
    };
    let RouteNetlinkMessage::NewLink(m) = roundtrip(new_veth("veth1234567", 1500, 9, &peer)) else {
        panic!()
    };
    assert!(m.attributes.contains(&LinkAttribute::Controller(9)));
    assert!(m
        .attributes
        .contains(&LinkAttribute::Group(crate::firewall::PORT_GROUP)));
    assert!(m
        .attributes
        .contains(&LinkAttribute::IfName("veth1234567".into())));
    assert!(
        !m.header.flags.contains(LinkFlags::Up),
        "up after addrgenmode"
    );
    let s = format!("{m:?}");
    assert!(s.contains("NetNsFd(7)") && s.contains("\"eth0\""), "{s}");
    // One queue each end, asked for up front: no RCU grace period for the
    // kernel to shrink them (see `new_veth`).
    assert!(m.attributes.contains(&LinkAttribute::NumTxQueues(1)));
    assert_eq!(s.matches("NumTxQueues(1)").count(), 2, "{s}");
    assert_eq!(s.matches("NumRxQueues(1)").count(), 2, "{s}");
}

#[test]
fn address_and_route_messages() {
    let RouteNetlinkMessage::NewAddress(a) =
        roundtrip(add_address(3, "172.17.0.2/16".parse().unwrap(), "eth0"))
    else {
        panic!()
    };
    assert_eq!(a.header.prefix_len, 16);
    assert!(a.attributes.contains(&AddressAttribute::Broadcast(
        "172.17.255.255".parse().unwrap()
    )));
    let RouteNetlinkMessage::NewAddress(a6) =
        roundtrip(add_address(3, "fd00::2/64".parse().unwrap(), "eth0"))
    else {
        panic!()
    };
    assert!(a6.header.flags.contains(AddressHeaderFlags::Nodad));
    let RouteNetlinkMessage::NewRoute(r) =
        roundtrip(default_route("172.17.0.1".parse().unwrap(), 3))
    else {
        panic!()
    };
    assert_eq!(r.header.destination_prefix_length, 0);
    assert!(r.attributes.contains(&RouteAttribute::Oif(3)));
    assert_eq!(parse_mac("zz:00"), None);
}
