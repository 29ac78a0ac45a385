//! Whether the running kernel could carry an encrypted overlay: berth's
//! design (decision 16) runs VXLAN over WireGuard, so it asks the kernel for
//! a WireGuard link from a scratch network namespace, as `caps` does for
//! ipvlan (EOPNOTSUPP when the kernel lacks CONFIG_WIREGUARD).

use super::linkmsg::probe_kind;
use super::netlink::Netlink;
use crate::error::{Error, Result};
use netlink_packet_route::link::InfoKind;

/// True when the kernel knows WireGuard links.
pub fn wireguard() -> Result<bool> {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                Error::kernel(format!("cannot create a scratch network namespace: {e}"))
            })?;
            let mut nl = Netlink::open()?;
            let kind = InfoKind::Other("wireguard".into());
            let errors = nl.execute(vec![probe_kind(kind, "berthprobe0")])?;
            Ok(!errors.iter().any(|e| e.errno == libc::EOPNOTSUPP))
        })
        .join()
        .unwrap_or_else(|_| Err(Error::internal("WireGuard probe thread panicked")))
    })
}
