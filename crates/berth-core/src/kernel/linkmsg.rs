//! Builders of the rtnetlink messages of the macvlan, ipvlan and overlay
//! drivers (pure): sub-interfaces of a parent link (macvlan, ipvlan,
//! 802.1Q VLAN), VXLAN devices, their forwarding (FDB) and neighbour
//! entries, and device routes. Kept apart from `msg.rs` (the bridge
//! driver's builders) so each driver's messages read on their own.

use super::msg::parse_mac;
use super::msg::Request;
use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoIpVlan, InfoKind, InfoMacVlan, InfoPortData, InfoPortKind,
    InfoVlan, InfoVxlan, IpVlanMode, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;
use std::os::fd::RawFd;

/// The UDP port of VXLAN (IANA).
pub const VXLAN_PORT: u16 = 4789;

/// What kind of sub-interface of a parent link to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    /// macvlan in this mode.
    Macvlan(MacVlanMode),
    /// ipvlan in this mode.
    Ipvlan(IpVlanMode),
}

/// Parses a macvlan mode as Docker spells it.
pub fn macvlan_mode(s: &str) -> Option<MacVlanMode> {
    Some(match s {
        "bridge" => MacVlanMode::Bridge,
        "private" => MacVlanMode::Private,
        "vepa" => MacVlanMode::Vepa,
        "passthru" => MacVlanMode::Passthrough,
        _ => return None,
    })
}

/// Parses an ipvlan mode as Docker spells it.
pub fn ipvlan_mode(s: &str) -> Option<IpVlanMode> {
    Some(match s {
        "l2" => IpVlanMode::L2,
        "l3" => IpVlanMode::L3,
        "l3s" => IpVlanMode::L3S,
        _ => return None,
    })
}

/// A sub-interface `name` of link index `parent`, up. With `netns_fd` it is
/// created directly inside that namespace (a container's), under its final
/// name; `mac` sets its address (macvlan only: ipvlan shares the parent's).
pub fn new_sublink(
    kind: SubKind,
    name: &str,
    parent: u32,
    mtu: Option<u32>,
    netns_fd: Option<RawFd>,
    mac: Option<&str>,
) -> Request {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::Link(parent));
    if let Some(mtu) = mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(fd) = netns_fd {
        m.attributes.push(LinkAttribute::NetNsFd(fd));
    }
    let (info_kind, data, what) = match kind {
        SubKind::Macvlan(mode) => {
            if let Some(mac) = mac.and_then(parse_mac) {
                m.attributes.push(LinkAttribute::Address(mac));
            }
            (
                InfoKind::MacVlan,
                InfoData::MacVlan(vec![InfoMacVlan::Mode(mode)]),
                "macvlan",
            )
        }
        SubKind::Ipvlan(mode) => (
            InfoKind::IpVlan,
            InfoData::IpVlan(vec![InfoIpVlan::Mode(mode)]),
            "ipvlan",
        ),
    };
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(info_kind),
        LinkInfo::Data(data),
    ]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create {what} link {name}"),
    }
}

/// An 802.1Q VLAN sub-interface `name` (VLAN `id`) of link index `parent`, up.
pub fn new_vlan(name: &str, parent: u32, id: u16) -> Request {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::Link(parent));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Vlan),
        LinkInfo::Data(InfoData::Vlan(vec![InfoVlan::Id(id)])),
    ]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create VLAN link {name}"),
    }
}

/// A link of `kind` with no parent, to learn whether the kernel knows the
/// kind at all (EOPNOTSUPP when it does not; another error when it does).
pub fn probe_kind(kind: InfoKind, name: &str) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind)]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create a test link {name}"),
    }
}

/// The VXLAN device of an overlay network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vxlan<'a> {
    /// Device name.
    pub name: &'a str,
    /// VXLAN network identifier.
    pub vni: u32,
    /// This host's tunnel endpoint address (IPv4).
    pub local: std::net::Ipv4Addr,
    /// Index of the underlay link carrying `local`.
    pub underlay: u32,
    /// MTU (the underlay's minus the VXLAN overhead).
    pub mtu: u32,
    /// Index of the bridge the device is a port of.
    pub bridge: u32,
}

/// A VXLAN device with static forwarding only: no learning, no multicast
/// group, ARP/ND answered from its neighbour table (`proxy`), UDP 4789;
/// enslaved to the network's bridge, up.
pub fn new_vxlan(v: &Vxlan) -> Request {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::IfName(v.name.to_string()));
    m.attributes.push(LinkAttribute::Mtu(v.mtu));
    m.attributes.push(LinkAttribute::Controller(v.bridge));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Vxlan),
        LinkInfo::Data(InfoData::Vxlan(vec![
            InfoVxlan::Id(v.vni),
            InfoVxlan::Local(v.local),
            InfoVxlan::Link(v.underlay),
            InfoVxlan::Port(VXLAN_PORT),
            InfoVxlan::Learning(false),
            InfoVxlan::Proxy(true),
            InfoVxlan::Ttl(64),
        ])),
    ]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create VXLAN device {} (VNI {})", v.name, v.vni),
    }
}

fn neigh_addr(ip: IpAddr) -> NeighbourAddress {
    match ip {
        IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
        IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
    }
}

/// Adds (`add`) or deletes a static forwarding entry of VXLAN device index
/// `dev`: frames for `mac` go to the tunnel endpoint `vtep`
/// (`bridge fdb replace MAC dev DEV dst VTEP self permanent`).
pub fn fdb(dev: u32, mac: &str, vtep: IpAddr, add: bool) -> Request {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = dev;
    m.header.state = NeighbourState::Permanent;
    m.header.flags = NeighbourFlags::Own;
    m.attributes.push(NeighbourAttribute::LinkLayerAddress(
        parse_mac(mac).unwrap_or_default(),
    ));
    m.attributes
        .push(NeighbourAttribute::Destination(neigh_addr(vtep)));
    neigh_request(m, add, format!("forwarding entry {mac} -> {vtep}"))
}

/// Adds (`add`) or deletes the overlay bridge's static entry saying that
/// `mac` is behind its VXLAN port, index `dev` (`bridge fdb replace MAC dev
/// DEV master static`). It replaces what the bridge may have learnt, so a
/// MAC that moves between hosts (an address given again, with the MAC
/// derived from it) never stays pinned to the wrong port, and frames for a
/// remote container are never flooded to the local ones.
pub fn fdb_master(dev: u32, mac: &str, add: bool) -> Request {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = dev;
    m.header.state = NeighbourState::Noarp;
    m.header.flags = NeighbourFlags::Controller;
    m.attributes.push(NeighbourAttribute::LinkLayerAddress(
        parse_mac(mac).unwrap_or_default(),
    ));
    neigh_request(m, add, format!("bridge entry {mac} -> VXLAN port"))
}

/// The VXLAN port of an overlay bridge learns nothing: the MACs behind it
/// are the static entries of [`fdb_master`], from the cluster store.
pub fn bridge_port_no_learning(name: &str) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::Learning(
            false,
        )])),
    ]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: 0,
        what: format!("turn off learning on bridge port {name}"),
    }
}

/// Adds (`add`) or deletes a permanent neighbour entry `ip` -> `mac` on
/// link index `dev` (`ip neigh replace IP lladdr MAC dev DEV nud permanent`).
pub fn neigh(dev: u32, ip: IpAddr, mac: &str, add: bool) -> Request {
    let mut m = NeighbourMessage::default();
    m.header.family = if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.ifindex = dev;
    m.header.state = NeighbourState::Permanent;
    m.attributes
        .push(NeighbourAttribute::Destination(neigh_addr(ip)));
    m.attributes.push(NeighbourAttribute::LinkLayerAddress(
        parse_mac(mac).unwrap_or_default(),
    ));
    neigh_request(m, add, format!("neighbour entry {ip} -> {mac}"))
}

fn neigh_request(m: NeighbourMessage, add: bool, what: String) -> Request {
    if add {
        Request {
            msg: RouteNetlinkMessage::NewNeighbour(m),
            flags: NLM_F_CREATE | NLM_F_REPLACE,
            what: format!("add {what}"),
        }
    } else {
        Request {
            msg: RouteNetlinkMessage::DelNeighbour(m),
            flags: 0,
            what: format!("delete {what}"),
        }
    }
}

/// Dump request for the neighbour (`bridge = false`) or forwarding
/// (`bridge = true`) entries of every link.
pub fn dump_neigh(bridge: bool) -> RouteNetlinkMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = if bridge {
        AddressFamily::Bridge
    } else {
        AddressFamily::Inet
    };
    RouteNetlinkMessage::GetNeighbour(m)
}

/// Adds (`add`) or deletes a route to `dst` straight out of link index
/// `dev` (scope link), with preferred source `src`.
pub fn device_route(dst: IpNet, dev: u32, src: Option<IpAddr>, add: bool) -> Request {
    let mut m = RouteMessage::default();
    m.header.address_family = if dst.addr().is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Static;
    m.header.scope = RouteScope::Link;
    m.header.kind = RouteType::Unicast;
    m.header.destination_prefix_length = dst.prefix_len();
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(
            dst.network(),
        )));
    m.attributes.push(RouteAttribute::Oif(dev));
    if let Some(src) = src {
        m.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    let what = format!("route {dst} to link {dev}");
    if add {
        Request {
            msg: RouteNetlinkMessage::NewRoute(m),
            flags: NLM_F_CREATE | NLM_F_REPLACE,
            what: format!("add {what}"),
        }
    } else {
        Request {
            msg: RouteNetlinkMessage::DelRoute(m),
            flags: 0,
            what: format!("delete {what}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};

    fn roundtrip(r: Request) -> RouteNetlinkMessage {
        let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(r.msg));
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf)
            .expect("parse")
            .payload
        {
            NetlinkPayload::InnerMessage(m) => m,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn macvlan_in_a_namespace() {
        let kind = SubKind::Macvlan(macvlan_mode("bridge").expect("mode"));
        let r = new_sublink(
            kind,
            "eth0",
            4,
            Some(1500),
            Some(9),
            Some("02:42:c6:33:64:40"),
        );
        let RouteNetlinkMessage::NewLink(m) = roundtrip(r) else {
            panic!()
        };
        assert!(m.attributes.contains(&LinkAttribute::Link(4)));
        assert!(m.attributes.contains(&LinkAttribute::NetNsFd(9)));
        let s = format!("{m:?}");
        assert!(s.contains("MacVlan") && s.contains("Bridge"), "{s}");
        assert_eq!(ipvlan_mode("l3"), Some(IpVlanMode::L3));
        assert_eq!(macvlan_mode("nope"), None);
    }

    #[test]
    fn vxlan_is_static() {
        let v = Vxlan {
            name: "vx-0123456789",
            vni: 4097,
            local: "192.0.2.11".parse().expect("ip"),
            underlay: 2,
            mtu: 1450,
            bridge: 7,
        };
        let RouteNetlinkMessage::NewLink(m) = roundtrip(new_vxlan(&v)) else {
            panic!()
        };
        let s = format!("{m:?}");
        for want in ["Id(4097)", "Learning(false)", "Proxy(true)", "Port(4789)"] {
            assert!(s.contains(want), "{want} in {s}");
        }
        assert!(m.attributes.contains(&LinkAttribute::Controller(7)));
    }

    #[test]
    fn fdb_and_neighbour_entries() {
        let vtep: IpAddr = "192.0.2.12".parse().expect("ip");
        let RouteNetlinkMessage::NewNeighbour(f) =
            roundtrip(fdb(5, "02:42:00:00:00:01", vtep, true))
        else {
            panic!()
        };
        assert_eq!(f.header.family, AddressFamily::Bridge);
        assert!(f.header.flags.contains(NeighbourFlags::Own));
        let ip: IpAddr = "198.18.0.3".parse().expect("ip");
        let RouteNetlinkMessage::DelNeighbour(n) =
            roundtrip(neigh(5, ip, "02:42:00:00:00:01", false))
        else {
            panic!()
        };
        assert_eq!(n.header.state, NeighbourState::Permanent);
        let RouteNetlinkMessage::NewRoute(r) = roundtrip(device_route(
            "198.51.100.70/32".parse().expect("net"),
            3,
            None,
            true,
        )) else {
            panic!()
        };
        assert_eq!(r.header.destination_prefix_length, 32);
    }
}
