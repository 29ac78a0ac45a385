//! Applying [`DriverStep`]s: the macvlan, ipvlan and overlay drivers' part
//! of the executor (see `mod.rs`).

use super::{container_if_requests, Applier};
use crate::error::{Error, Result};
use crate::kernel::linkmsg::{self, SubKind};
use crate::kernel::{errno, Netlink, Request};
use crate::plan::DriverStep;
use std::net::IpAddr;

/// Runs `reqs`, treating "no such object" as done (idempotent deletes).
fn run_gone_ok(nl: &mut Netlink, reqs: Vec<Request>) -> Result<()> {
    let gone = [
        errno::ENODEV,
        errno::ENOENT,
        errno::EADDRNOTAVAIL,
        libc::ESRCH,
    ];
    match nl
        .execute(reqs)?
        .into_iter()
        .find(|e| !gone.contains(&e.errno))
    {
        Some(e) => Err(e.into_error()),
        None => Ok(()),
    }
}

fn index(nl: &mut Netlink, name: &str, what: &str) -> Result<u32> {
    nl.link_index(name)?
        .ok_or_else(|| Error::kernel(format!("{what} {name} does not exist")))
}

fn sub_kind(kind: &str, mode: &str) -> Result<SubKind> {
    let k = match kind {
        "macvlan" => linkmsg::macvlan_mode(mode).map(SubKind::Macvlan),
        "ipvlan" => linkmsg::ipvlan_mode(mode).map(SubKind::Ipvlan),
        _ => None,
    };
    k.ok_or_else(|| Error::internal(format!("unknown {kind} mode {mode:?} in a plan")))
}

impl Applier {
    /// Applies one driver step.
    pub(super) fn driver_step(&mut self, step: &DriverStep) -> Result<()> {
        match step {
            DriverStep::CreateSubLink { .. } => self.create_sublink(step),
            DriverStep::DeleteSubLink { name, netns } => {
                let nl = match netns {
                    Some(ns) if !crate::kernel::netns::is_pinned(ns) => return Ok(()),
                    Some(ns) => &mut self.netns_handles(ns)?.1,
                    None => self.host(),
                };
                run_gone_ok(nl, vec![crate::kernel::msg::del_link(name)])
            }
            DriverStep::CreateVlan { parent, name, id } => {
                let p = index(self.host(), parent, "parent link")?;
                self.host().run(vec![linkmsg::new_vlan(name, p, *id)])
            }
            DriverStep::AddRoute { dst, dev, src } => {
                let i = index(self.host(), dev, "link")?;
                self.host()
                    .run(vec![linkmsg::device_route(*dst, i, *src, true)])
            }
            DriverStep::DeleteRoute { dst, dev } => {
                let Some(i) = self.host().link_index(dev)? else {
                    return Ok(());
                };
                run_gone_ok(
                    self.host(),
                    vec![linkmsg::device_route(*dst, i, None, false)],
                )
            }
            DriverStep::CreateVxlan { .. } => self.create_vxlan(step),
            DriverStep::Remote {
                dev,
                ip,
                mac,
                vtep,
                add,
            } => self.remote(dev, *ip, mac, *vtep, *add),
            DriverStep::LinkState { name, up } => {
                if self.host().link_index(name)?.is_none() {
                    return Ok(());
                }
                self.host()
                    .run(vec![crate::kernel::link_state::set_state(name, *up)])
            }
        }
    }

    fn create_sublink(&mut self, step: &DriverStep) -> Result<()> {
        let DriverStep::CreateSubLink {
            kind,
            mode,
            parent,
            name,
            netns,
            mtu,
            mac,
            addrs,
            gateways,
        } = step
        else {
            return Ok(());
        };
        let kind = sub_kind(kind, mode)?;
        let p = index(self.host(), parent, "parent link")?;
        let fd = match netns {
            Some(ns) => Some(std::os::fd::AsRawFd::as_raw_fd(&self.netns_handles(ns)?.0)),
            None => None,
        };
        let req = linkmsg::new_sublink(kind, name, p, *mtu, fd, mac.as_deref());
        self.host().run(vec![req])?;
        let nl = match netns {
            Some(ns) => &mut self.netns_handles(ns)?.1,
            None => self.host(),
        };
        let i = index(nl, name, "new link")?;
        nl.run(container_if_requests(i, name, addrs, gateways))
    }

    fn create_vxlan(&mut self, step: &DriverStep) -> Result<()> {
        let DriverStep::CreateVxlan {
            name,
            vni,
            local,
            underlay,
            mtu,
            bridge,
        } = step
        else {
            return Ok(());
        };
        let underlay = index(self.host(), underlay, "underlay link")?;
        let bridge = index(self.host(), bridge, "bridge")?;
        let v = linkmsg::Vxlan {
            name,
            vni: *vni,
            local: *local,
            underlay,
            mtu: *mtu,
            bridge,
        };
        self.host().run(vec![
            linkmsg::new_vxlan(&v),
            linkmsg::bridge_port_no_learning(name),
        ])
    }

    fn remote(&mut self, dev: &str, ip: IpAddr, mac: &str, vtep: IpAddr, add: bool) -> Result<()> {
        let Some(i) = self.host().link_index(dev)? else {
            return if add {
                Err(Error::kernel(format!("VXLAN device {dev} does not exist")))
            } else {
                Ok(())
            };
        };
        let reqs = vec![
            linkmsg::fdb(i, mac, vtep, add),
            linkmsg::fdb_master(i, mac, add),
            linkmsg::neigh(i, ip, mac, add),
        ];
        if add {
            self.host().run(reqs)
        } else {
            run_gone_ok(self.host(), reqs)
        }
    }
}
