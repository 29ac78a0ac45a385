//! Taking a link down and up again by name (one rtnetlink message,
//! `DriverStep::LinkState`): how an overlay endpoint whose address another
//! host now holds is cut off from the network until the conflict is
//! resolved (engine/overlay_report.rs).

use super::netlink::Request;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

/// The request setting link `name` up or down.
pub fn set_state(name: &str, up: bool) -> Request {
    let mut m = LinkMessage::default();
    m.header.flags = if up {
        LinkFlags::Up
    } else {
        LinkFlags::empty()
    };
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    Request {
        msg: RouteNetlinkMessage::SetLink(m),
        flags: 0,
        what: format!("set {name} {}", if up { "up" } else { "down" }),
    }
}
