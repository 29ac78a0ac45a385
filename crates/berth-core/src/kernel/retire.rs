//! Retired veths: taken out of service at once, deleted later in batches.
//!
//! Deleting a veth makes the caller wait for the kernel's RCU grace period
//! (~20 ms here, whatever the machine's speed); so does moving it to another
//! namespace. Setting it down, taking it off its bridge and renaming it do
//! not. So a CNI DEL or a `network disconnect` only *retires* the veth
//! ([`crate::plan::Step::RetireVeth`]): the container end goes down and
//! gives its name back (a DEL; a disconnect leaves it to the reaper, and a
//! creation that needs its name frees it then), the host end goes down,
//! leaves its bridge and joins link group [`RETIRED_GROUP`]. A reaper ([`reap`]) then deletes the whole
//! group with one `RTM_DELLINK` (`ip link delete group N`), which the kernel
//! does in one batch: many veths wait for one grace period.
//!
//! The group is the record: a crash between retiring and reaping leaves
//! links in the group, and the next reaper (any later retirement, or
//! `berth system reconcile`) deletes them. The group is berth's by choice
//! of number only, so the reaper first checks that every link in it is a
//! veth berth retired (berth's alias, down, off any bridge); if anything
//! else is there, berth's retired veths are deleted one by one and the
//! rest is left alone.
//!
//! One reaper serves a burst of retirements: it stays a moment, woken by
//! each over a socket, and lock files make sure none is missed
//! ([`Reaper`], `kernel::reaper`).

use crate::error::Result;
use crate::kernel::msg::Request;
use crate::kernel::{errno, Netlink};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use std::path::Path;

/// The link group of retired veths ("berd" in ASCII: berth's dead), beside
/// `firewall::PORT_GROUP` ("bert") that live ports are in; numbers no
/// distribution names in `/etc/iproute2/group`.
pub const RETIRED_GROUP: u32 = 0x6265_7264;

/// The name a retired container end takes: `gone` and its index, unique in
/// its namespace, so that the interface name it had is free at once.
pub fn retired_name(index: u32) -> String {
    format!("gone{index}")
}

/// Set link `index` down (a container end, before it is renamed).
pub fn down(index: u32, what: &str) -> Request {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.change_mask = LinkFlags::Up;
    Request {
        msg: RouteNetlinkMessage::SetLink(m),
        flags: 0,
        what: format!("set {what} down"),
    }
}

/// Rename down link `index` to [`retired_name`].
pub fn rename(index: u32, what: &str) -> Request {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes
        .push(LinkAttribute::IfName(retired_name(index)));
    Request {
        msg: RouteNetlinkMessage::SetLink(m),
        flags: 0,
        what: format!("rename {what} out of the way"),
    }
}

/// Set host end `index` down, off its bridge, in [`RETIRED_GROUP`] (one
/// message: the kernel applies the three in order).
pub fn retire_host(index: u32, what: &str) -> Request {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::Controller(0));
    m.attributes.push(LinkAttribute::Group(RETIRED_GROUP));
    Request {
        msg: RouteNetlinkMessage::SetLink(m),
        flags: 0,
        what: format!("retire {what}"),
    }
}

/// Delete every link of [`RETIRED_GROUP`] in one batch.
fn delete_group() -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::Group(RETIRED_GROUP));
    Request {
        msg: RouteNetlinkMessage::DelLink(m),
        flags: 0,
        what: format!("delete link group {RETIRED_GROUP}"),
    }
}

/// Delete link `index`.
fn delete_index(index: u32) -> Request {
    let mut m = LinkMessage::default();
    m.header.index = index;
    Request {
        msg: RouteNetlinkMessage::DelLink(m),
        flags: 0,
        what: format!("delete retired link {index}"),
    }
}

/// Whether link `l` is in [`RETIRED_GROUP`].
fn in_group(l: &LinkMessage) -> bool {
    l.attributes.contains(&LinkAttribute::Group(RETIRED_GROUP))
}

/// Whether link `l` is a veth berth retired: in [`RETIRED_GROUP`], with
/// berth's alias, down and off any bridge (a live port in the group by
/// mistake is never deleted with the group).
pub fn is_retired(l: &LinkMessage) -> bool {
    let berths = l.attributes.iter().any(|a| match a {
        LinkAttribute::IfAlias(s) => s.starts_with("berth:"),
        _ => false,
    });
    let bridged = l
        .attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::Controller(m) if *m != 0));
    let up = l.header.flags.contains(LinkFlags::Up);
    in_group(l) && berths && !bridged && !up
}

/// The links of [`RETIRED_GROUP`] in `nl`'s namespace: (index, whether it
/// is a veth berth retired, [`is_retired`]).
pub fn retired(nl: &mut Netlink) -> Result<Vec<(u32, bool)>> {
    let mut out = Vec::new();
    for m in nl.dump(super::msg::dump_links())? {
        let RouteNetlinkMessage::NewLink(l) = m else {
            continue;
        };
        if in_group(&l) {
            out.push((l.header.index, is_retired(&l)));
        }
    }
    Ok(out)
}

/// Deletes the retired links of `nl`'s namespace; how many. One batch when
/// all are berth's; otherwise berth's one by one, the others left alone.
pub fn reap(nl: &mut Netlink) -> Result<usize> {
    let links = retired(nl)?;
    let ours: Vec<u32> = links.iter().filter(|l| l.1).map(|l| l.0).collect();
    let reqs = if ours.len() == links.len() {
        if ours.is_empty() {
            return Ok(0);
        }
        vec![delete_group()]
    } else {
        tracing::warn!(
            "link group {RETIRED_GROUP} holds {} link(s) that are not berth's: left alone",
            links.len() - ours.len()
        );
        ours.iter().map(|i| delete_index(*i)).collect()
    };
    for e in nl.execute(reqs)? {
        // Gone already: a veth's peer went with it, or another reaper won.
        if e.errno != errno::ENODEV && e.errno != errno::ENOENT {
            return Err(e.into_error());
        }
    }
    Ok(ours.len())
}

pub use super::reaper::Reaper;

/// What `berth __reap` does: as the reaper of the state root whose
/// runtime dir is `run_dir`, deletes the retired veths of this process's
/// namespace, and those of the removals that wake it for
/// [`super::reaper::IDLE`] after (`Ok(None)`: another reaper was waiting
/// and will).
///
/// `held`: descriptors the removal that started this reaper handed over
/// by inheritance (its netfilter socket, the namespaces it unpinned),
/// closed first, waiting here for the kernel: a namespace kept open would
/// keep its veth a port of its bridge, with the removed container's
/// address and MAC, for as long as this reaper stays. Numbers below 3 are
/// never closed.
pub fn reap_once(run_dir: &Path, held: &[std::os::fd::RawFd]) -> Result<Option<usize>> {
    for fd in held.iter().filter(|fd| **fd > 2) {
        // Only descriptors this process has, once each (closing a number
        // that is not open is an error, ignored).
        let _ = nix::unistd::close(*fd);
    }
    Reaper::new(run_dir).serve(&mut Netlink::open()?, super::reaper::IDLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retire_message_takes_the_link_down_off_its_bridge_into_the_group() {
        let RouteNetlinkMessage::SetLink(m) = retire_host(7, "veth1234567").msg else {
            panic!("not a SetLink");
        };
        assert_eq!(m.header.index, 7);
        assert_eq!(m.header.change_mask, LinkFlags::Up);
        assert!(!m.header.flags.contains(LinkFlags::Up));
        assert!(m.attributes.contains(&LinkAttribute::Controller(0)));
        assert!(m.attributes.contains(&LinkAttribute::Group(RETIRED_GROUP)));
        assert_eq!(retired_name(4_294_967_295).len(), 14, "fits IFNAMSIZ");
        assert_ne!(RETIRED_GROUP, crate::firewall::PORT_GROUP);
    }
}
