//! [`Real`]: the [`Kernel`] over the host's kernel — netlink, nftables,
//! sysctls, `/proc` and `/run/netns`. Its sockets (the host's netlink
//! socket, nftables) are opened on first use, so a command that changes
//! nothing opens none.

use super::api::{Kernel, NetnsName};
use super::apply::Applier;
use super::caps::LinkKinds;
use super::facts::{self, HostFacts, Listener};
use super::{netns, netns_names, process};
use crate::error::{Error, Result};
use crate::firewall::Element;
use crate::model::Proto;
use crate::plan::{OpKind, Step};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// The host's kernel (see the module docs).
#[derive(Default)]
pub struct Real {
    applier: Option<Applier>,
    defer: bool,
    /// Spawn `nft` rather than load libnftables or use netlink.
    nft_spawn: bool,
    /// The armed failpoint (`failpoints` feature).
    failpoint: Option<String>,
    /// The host's routes being read on a thread of their own, for the
    /// first [`Kernel::host_facts`] if it comes before any change.
    routes: Option<facts::RoutesEarly>,
}

impl Real {
    /// A handle that opens its sockets on first use; `nft_spawn` makes
    /// every nftables transaction spawn `nft`, `failpoint` arms a crash
    /// (`crate::failpoint`).
    pub fn new(nft_spawn: bool, failpoint: Option<String>) -> Real {
        Real {
            nft_spawn,
            failpoint,
            ..Real::default()
        }
    }

    /// This handle, whose first [`Kernel::host_facts`] takes the routes
    /// `early` reads (see [`facts::RoutesEarly`]).
    pub fn with_routes(self, early: Option<facts::RoutesEarly>) -> Real {
        Real {
            routes: early,
            ..self
        }
    }

    /// The executor, opened on first use.
    fn applier(&mut self) -> Result<&mut Applier> {
        if self.applier.is_none() {
            let mut a = Applier::new(self.nft_spawn)?;
            if self.defer {
                a.defer_sweeps();
            }
            self.applier = Some(a);
        }
        self.applier
            .as_mut()
            .ok_or_else(|| Error::internal("kernel executor"))
    }
}

impl Kernel for Real {
    fn is_root(&self) -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn this_process(&self) -> (i32, u64) {
        process::this_process()
    }

    fn process_start(&self, pid: i32) -> Option<u64> {
        process::proc_start_time(pid)
    }

    fn kill_and_wait(&mut self, pid: i32, start: Option<u64>, grace: Duration) {
        process::kill_and_wait(pid, start, grace);
    }

    fn pinned(&self, path: &Path) -> bool {
        netns::is_pinned(path)
    }

    fn own_netns(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        id(path).is_some() && id(path) == id(Path::new("/proc/self/ns/net"))
    }

    fn apply(&mut self, step: &Step) -> Result<()> {
        // Routes read before this handle changed the host (recovery, the
        // first command's setup) may miss or hold one of berth's.
        self.routes = None;
        self.applier()?.step(step)
    }

    fn after_step(&mut self, op: OpKind, i: usize) {
        if self.failpoint.is_some() {
            let name = format!("{}:{i}", op.failpoint());
            crate::failpoint::hit(&name, self.failpoint.as_deref());
        }
    }

    fn defer_sweeps(&mut self) {
        self.defer = true;
        if let Some(a) = self.applier.as_mut() {
            a.defer_sweeps();
        }
    }

    fn sweep_deferred(&mut self) -> usize {
        let keys = match self.applier.as_mut() {
            Some(a) => a.take_deferred(),
            None => return 0,
        };
        keys.into_iter().map(netns::end_members).sum()
    }

    fn released_namespaces(&self) -> usize {
        self.applier.as_ref().map_or(0, |a| a.released())
    }

    fn lingering_fds(&self) -> Vec<std::os::fd::RawFd> {
        self.applier
            .as_ref()
            .map(|a| a.lingering())
            .unwrap_or_default()
    }

    fn reap_retired(&mut self) -> Result<usize> {
        super::retire::reap(self.host_netlink()?)
    }

    fn replace_tables(&mut self, elements: &[Element]) -> Result<()> {
        let text = crate::firewall::tables_with(elements).text();
        self.applier()?.nft().apply(&text)
    }

    fn nft(&mut self, text: &str) -> Result<()> {
        self.applier()?.nft().apply(text)
    }

    fn nft_list_json(&mut self, cmd: &str) -> Result<String> {
        self.applier()?.nft().list_json(cmd)
    }

    fn host_facts(&mut self, links: &[&str], v6: bool) -> Result<HostFacts> {
        let early = self.routes.take();
        HostFacts::read(self.applier()?.host(), links, v6, early)
    }

    fn host_netlink(&mut self) -> Result<&mut super::Netlink> {
        Ok(self.applier()?.host())
    }

    fn link_names(&mut self) -> Result<Vec<String>> {
        facts::link_names(self.applier()?.host())
    }

    fn bridge_ports(&mut self, bridge: &str) -> Result<Vec<String>> {
        facts::bridge_ports(self.applier()?.host(), bridge)
    }

    fn link_kinds(&mut self) -> Result<LinkKinds> {
        LinkKinds::probe()
    }

    fn link_mac(&mut self, name: &str) -> Option<String> {
        // From sysfs: no netlink round trip.
        std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    fn listeners(&mut self, wanted: Option<&[(Proto, Option<IpAddr>, u16)]>) -> Vec<Listener> {
        match wanted {
            Some(w) => facts::bound_ports(w),
            None => facts::listeners(),
        }
    }

    fn sysctl(&mut self, key: &str) -> Result<String> {
        self.applier()?.host_procfs().read(key)
    }

    fn set_sysctl(&mut self, key: &str, value: &str) -> Result<()> {
        self.applier()?.host_procfs().write(key, value)
    }

    fn sync_netns_names(&mut self, root: &str, running: &[NetnsName]) -> Result<Vec<String>> {
        netns_names::sync(root, running)
    }
}
