//! Builders of rtnetlink messages (pure): links, addresses and routes.
//! Kept apart from the socket so they can be read and tested on their own.

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;
use std::os::fd::RawFd;

/// One request: the message, its extra flags, and what it does (for errors).
pub struct Request {
    /// The message.
    pub msg: RouteNetlinkMessage,
    /// Flags besides `NLM_F_REQUEST | NLM_F_ACK` (e.g. CREATE | EXCL).
    pub flags: u16,
    /// Human description used in error messages.
    pub what: String,
}

fn family(ip: &IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(mac: &str) -> Option<Vec<u8>> {
    let v: Vec<u8> = mac
        .split(':')
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    (v.len() == 6 && mac.split(':').count() == 6).then_some(v)
}

fn up_header(msg: &mut LinkMessage) {
    msg.header.flags = LinkFlags::Up;
    msg.header.change_mask = LinkFlags::Up;
}

/// Create a bridge `name` with `mtu`, down: bring it up after its IPv6
/// settings (no link-local address on an IPv4-only network).
pub fn new_bridge(name: &str, mtu: u32) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::Mtu(mtu));
    // An explicit MAC (as Docker sets one): otherwise a bridge takes the
    // lowest MAC of its ports and changes it when a container joins with a
    // lower one, and the other containers' ARP entries for the gateway then
    // point at a veth instead of the bridge for up to a minute. Derived from
    // the name, so a bridge recreated by reconcile keeps it too.
    m.attributes.push(LinkAttribute::Address(bridge_mac(name)));
    m.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create bridge {name}"),
    }
}

/// A bridge's MAC: locally administered, unicast, from a hash of its name.
pub fn bridge_mac(name: &str) -> Vec<u8> {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let b = h.to_be_bytes();
    vec![0x02, b[0], b[1], b[2], b[3], b[4]]
}

/// The container end of a veth pair.
pub struct VethPeer<'a> {
    /// Name inside the container (eth0...).
    pub name: &'a str,
    /// fd of the container's network namespace.
    pub netns_fd: RawFd,
    /// MAC address.
    pub mac: Option<Vec<u8>>,
}

/// Create a veth pair whose host end `host` is enslaved to bridge index
/// `master`, in berth's interface group (`firewall::PORT_GROUP`: the bridge
/// table checks what it sends), down (bring it up after
/// [`no_ipv6_link_local`]), and whose
/// other end is created directly inside the container's namespace under
/// its final name: one message, no rename.
///
/// Both ends get one transmit and one receive queue, which is what a veth
/// uses unless XDP or GRO is turned on for it (and what `ip link add type
/// veth` leaves active too): a veth created without these attributes gets
/// one queue per possible CPU, and the kernel then drops the active count
/// back to one while it holds the RTNL lock, waiting for an expedited RCU
/// grace period per end (`veth_init_queues`) — most of the kernel's time
/// in creating the pair on a small VM. The cost: `ethtool -L` cannot give
/// berth's veths more queues later.
pub fn new_veth(host: &str, mtu: u32, master: u32, peer: &VethPeer) -> Request {
    let mut p = LinkMessage::default();
    p.attributes
        .push(LinkAttribute::IfName(peer.name.to_string()));
    p.attributes.push(LinkAttribute::Mtu(mtu));
    p.attributes.push(LinkAttribute::NetNsFd(peer.netns_fd));
    p.attributes.extend(one_queue());
    if let Some(mac) = &peer.mac {
        p.attributes.push(LinkAttribute::Address(mac.clone()));
    }
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(host.to_string()));
    m.attributes.push(LinkAttribute::Mtu(mtu));
    m.attributes.extend(one_queue());
    m.attributes.push(LinkAttribute::Controller(master));
    // From its first frame the port is checked against the container's
    // own addresses (fails closed until they are added).
    m.attributes
        .push(LinkAttribute::Group(crate::firewall::PORT_GROUP));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
    ]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create veth {host} (peer {} in the container)", peer.name),
    }
}

/// One transmit and one receive queue (see [`new_veth`]).
fn one_queue() -> [LinkAttribute; 2] {
    [LinkAttribute::NumTxQueues(1), LinkAttribute::NumRxQueues(1)]
}

/// Turn on hairpin mode on bridge port `name` (`ip link set NAME type
/// bridge_slave hairpin on`): a container reaching its own published port
/// has its packet DNATed back out of the port it came in on, which the
/// bridge refuses otherwise when br_netfilter bridges the DNATed frame.
pub fn bridge_port_hairpin(name: &str) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
            true,
        )])),
    ]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: 0,
        what: format!("turn on hairpin mode on bridge port {name}"),
    }
}

/// Bring link `name` up.
pub fn link_up(name: &str) -> Request {
    let mut m = LinkMessage::default();
    up_header(&mut m);
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    Request {
        msg: RouteNetlinkMessage::SetLink(m),
        flags: 0,
        what: format!("set {name} up"),
    }
}

/// Give link `name` no IPv6 link-local address (`addrgenmode none`).
/// Sent before the link is up. On the host end of a veth (a bridge port
/// never needs an address of its own) it keeps the host's IPv6 routing
/// table from growing by two routes per container, which the kernel walks
/// whenever a link changes state; on the container end of an IPv4-only
/// network it keeps the interface silent in IPv6 (no DAD, router
/// solicitation or MLD report flooded to every port of a bridge of a
/// thousand containers), as Docker disables IPv6 on such interfaces.
pub fn no_ipv6_link_local(name: &str) -> Request {
    let what = format!("turn off IPv6 link-local addressing on {name}");
    addr_gen_mode(name, netlink_packet_route::link::In6AddrGenMode::None, what)
}

/// Derive link `name`'s IPv6 link-local address from its MAC (`addrgenmode
/// eui64`), whatever the namespace's default: the bridge's anti-spoofing
/// set allows exactly that address (see `firewall::link_local`). Sent
/// before the link is up.
pub fn ipv6_link_local_from_mac(name: &str) -> Request {
    let what = format!("derive {name}'s IPv6 link-local address from its MAC");
    addr_gen_mode(
        name,
        netlink_packet_route::link::In6AddrGenMode::Eui64,
        what,
    )
}

fn addr_gen_mode(
    name: &str,
    mode: netlink_packet_route::link::In6AddrGenMode,
    what: String,
) -> Request {
    use netlink_packet_route::link::{AfSpecInet6, AfSpecUnspec};
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes
        .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
            vec![AfSpecInet6::AddrGenMode(mode)],
        )]));
    Request {
        msg: RouteNetlinkMessage::SetLink(m),
        flags: 0,
        what,
    }
}

/// Create an ifb device `name` (traffic shaping of a veth's egress).
pub fn new_ifb(name: &str) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Ifb)]));
    Request {
        msg: RouteNetlinkMessage::NewLink(m),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create ifb device {name}"),
    }
}

/// Set the alias (`IFLA_IFALIAS`) of link `name`.
pub fn set_alias(name: &str, alias: &str) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::IfAlias(alias.to_string()));
    Request {
        msg: RouteNetlinkMessage::SetLink(m),
        flags: 0,
        what: format!("set the alias of {name}"),
    }
}

/// Delete link `name`.
pub fn del_link(name: &str) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    Request {
        msg: RouteNetlinkMessage::DelLink(m),
        flags: 0,
        what: format!("delete link {name}"),
    }
}

/// Query link `name` (use with [`super::Netlink`]'s dump-less get).
pub fn get_link(name: &str) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    RouteNetlinkMessage::GetLink(m)
}

/// Add `addr` (with its prefix) to interface index `index`; IPv6 without DAD
/// (berth allocated it, so it is unique).
pub fn add_address(index: u32, addr: IpNet, ifname: &str) -> Request {
    let ip = addr.addr();
    let mut m = AddressMessage::default();
    m.header.family = family(&ip);
    m.header.prefix_len = addr.prefix_len();
    m.header.index = index;
    m.attributes.push(AddressAttribute::Local(ip));
    m.attributes.push(AddressAttribute::Address(ip));
    if let IpAddr::V4(v4) = ip {
        if let IpNet::V4(n) = addr {
            if n.prefix_len() < 31 {
                m.attributes
                    .push(AddressAttribute::Broadcast(n.broadcast()));
            }
        }
        let _ = v4;
    } else {
        m.header.flags = AddressHeaderFlags::Nodad;
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    Request {
        msg: RouteNetlinkMessage::NewAddress(m),
        flags: NLM_F_CREATE | NLM_F_REPLACE,
        what: format!("add address {addr} to {ifname}"),
    }
}

/// A unicast route via `gw` through interface index `oif`, no destination.
fn route_via(gw: IpAddr, oif: u32) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family(&gw);
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Static;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes
        .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
    m.attributes.push(RouteAttribute::Oif(oif));
    m
}

/// Add a default route via `gw` (through interface index `oif`).
pub fn default_route(gw: IpAddr, oif: u32) -> Request {
    Request {
        msg: RouteNetlinkMessage::NewRoute(route_via(gw, oif)),
        flags: NLM_F_CREATE | NLM_F_REPLACE,
        what: format!("add default route via {gw}"),
    }
}

/// Add a route to `dst` via `gw` (through interface index `oif`).
pub fn route(dst: IpNet, gw: IpAddr, oif: u32) -> Request {
    let mut m = route_via(gw, oif);
    m.header.destination_prefix_length = dst.prefix_len();
    let dst_addr = match dst.network() {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    };
    m.attributes.push(RouteAttribute::Destination(dst_addr));
    Request {
        msg: RouteNetlinkMessage::NewRoute(m),
        flags: NLM_F_CREATE | NLM_F_REPLACE,
        what: format!("add route to {dst} via {gw}"),
    }
}

/// Add a route to `dst` via `gw` (through interface index `oif`) with
/// priority `metric`, beside any route to the same destination
/// (`NLM_F_APPEND`): Podman's containers get one default route per
/// network, as netavark adds them, and keep the others when one goes.
pub fn route_append(dst: IpNet, gw: IpAddr, oif: u32, metric: u32) -> Request {
    let mut req = route(dst, gw, oif);
    if let RouteNetlinkMessage::NewRoute(m) = &mut req.msg {
        m.attributes.push(RouteAttribute::Priority(metric));
    }
    req.flags = NLM_F_CREATE | NLM_F_APPEND;
    req.what = format!("add route to {dst} via {gw} (metric {metric})");
    req
}

/// Dump request for all routes of a family.
pub fn dump_routes(v6: bool) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    RouteNetlinkMessage::GetRoute(m)
}

/// Dump request for the main table's routes of one family: with strict
/// dump checking ([`Netlink::dump_filtered_raw`](super::Netlink::dump_filtered_raw))
/// the kernel walks that table only, not the local table's two or three
/// routes per address of every bridge.
pub fn dump_main_routes(v6: bool) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    RouteNetlinkMessage::GetRoute(m)
}

/// Dump request for all links.
pub fn dump_links() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetLink(LinkMessage::default())
}

/// Dump request for all addresses.
pub fn dump_addresses() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetAddress(AddressMessage::default())
}

#[cfg(test)]
mod tests;
