//! Which link kinds the running kernel supports, learned by asking it.
//!
//! Kernels built without CONFIG_IPVLAN or CONFIG_VLAN_8021Q (the machines
//! berth is developed on) answer EOPNOTSUPP to a request for such a link.
//! berth asks before recording anything, so a network that cannot work is
//! refused with a message naming the missing support, and nothing is left
//! half-created. The test request is sent from a scratch network namespace
//! on a short-lived thread (and lacks the attributes a real link needs), so
//! nothing can appear in the host's namespace even if it were accepted.

use super::linkmsg::probe_kind;
use super::netlink::Netlink;
use crate::error::{Error, Result};
use netlink_packet_route::link::InfoKind;

/// Link kinds berth's drivers may need that a kernel can lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkKinds {
    /// ipvlan links (CONFIG_IPVLAN).
    pub ipvlan: bool,
    /// 802.1Q VLAN sub-interfaces (CONFIG_VLAN_8021Q).
    pub vlan: bool,
}

impl LinkKinds {
    /// Every kind supported (for planning tests).
    pub fn all() -> LinkKinds {
        LinkKinds {
            ipvlan: true,
            vlan: true,
        }
    }

    /// Asks the kernel about each kind (see the module docs).
    pub fn probe() -> Result<LinkKinds> {
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                    Error::kernel(format!("cannot create a scratch network namespace: {e}"))
                })?;
                let mut nl = Netlink::open()?;
                Ok(LinkKinds {
                    ipvlan: supported(&mut nl, InfoKind::IpVlan)?,
                    vlan: supported(&mut nl, InfoKind::Vlan)?,
                })
            })
            .join()
            .unwrap_or_else(|_| Err(Error::internal("link probe thread panicked")))
        })
    }
}

fn supported(nl: &mut Netlink, kind: InfoKind) -> Result<bool> {
    let errors = nl.execute(vec![probe_kind(kind, "berthprobe0")])?;
    Ok(!errors.iter().any(|e| e.errno == libc::EOPNOTSUPP))
}
