//! Read-only probes for CNI CHECK: does a link exist, with which MAC,
//! master and addresses. Only netlink get and dump requests are sent.

use crate::error::Result;
use crate::kernel::errno;
use crate::kernel::msg;
use crate::kernel::Netlink;
use ipnet::IpNet;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use netlink_packet_route::RouteNetlinkMessage;

/// What CHECK needs to know about one link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkState {
    /// Interface index.
    pub index: u32,
    /// MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: Option<String>,
    /// Index of its bridge, if it is a port of one.
    pub master: Option<u32>,
    /// Administratively up.
    pub up: bool,
    /// Its addresses with prefix length.
    pub addrs: Vec<IpNet>,
}

/// The state of link `name` in `nl`'s namespace, `None` if there is none.
/// With `with_addrs`, its addresses too (one dump of the namespace's
/// addresses).
pub fn link(nl: &mut Netlink, name: &str, with_addrs: bool) -> Result<Option<LinkState>> {
    let Some(RouteNetlinkMessage::NewLink(l)) =
        nl.get(msg::get_link(name), &[errno::ENODEV, errno::ENOENT])?
    else {
        return Ok(None);
    };
    let mut state = LinkState {
        index: l.header.index,
        up: l.header.flags.contains(LinkFlags::Up),
        ..Default::default()
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::Address(b) => state.mac = Some(crate::ids::format_mac(b)),
            LinkAttribute::Controller(m) => state.master = Some(*m),
            _ => {}
        }
    }
    if with_addrs {
        for m in nl.dump(msg::dump_addresses())? {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            if a.header.index != state.index {
                continue;
            }
            let ip = a.attributes.iter().find_map(|x| match x {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            });
            if let Some(net) = ip.and_then(|ip| IpNet::new(ip, a.header.prefix_len).ok()) {
                state.addrs.push(net);
            }
        }
    }
    Ok(Some(state))
}

/// The kind (`tbf`, `noqueue`, …) of the root qdisc of link `index` in
/// `nl`'s namespace, `None` if the kernel lists none. One dump of the
/// namespace's qdiscs, filtered here (a CHECK, not the ADD path: it grows
/// with the host's links).
pub fn root_qdisc(nl: &mut Netlink, index: u32) -> Result<Option<String>> {
    use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
    let dump = nl.dump(RouteNetlinkMessage::GetQueueDiscipline(TcMessage::default()))?;
    Ok(dump.into_iter().find_map(|m| match m {
        RouteNetlinkMessage::NewQueueDiscipline(q)
            if u32::try_from(q.header.index) == Ok(index) && q.header.parent == TcHandle::ROOT =>
        {
            q.attributes.into_iter().find_map(|a| match a {
                TcAttribute::Kind(k) => Some(k),
                _ => None,
            })
        }
        _ => None,
    }))
}
