//! The engine's one door into the kernel: the [`Kernel`] trait.
//!
//! Everything the engine asks of the host — applying a plan's steps,
//! firewall transactions outside plans, the facts planning reads, which
//! processes and namespaces are alive — goes through this trait, so the
//! engine's sequencing (record, apply, roll back, recover) can be driven
//! without root by [`super::fake::Fake`], a recording fake with a model of
//! the objects berth makes. [`super::Real`] is the implementation over
//! netlink, nftables, sysctls and `/proc`; the lab tests prove it against
//! the real kernel.

use super::facts::{HostFacts, Listener};
use super::netns_names::Owner as NameOwner;
use crate::error::Result;
use crate::firewall::Element;
use crate::model::Proto;
use crate::plan::{OpKind, Step};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A running container's namespace that `/run/netns` should name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsName {
    /// The container's name (the entry's name).
    pub name: String,
    /// The namespace's pin.
    pub pin: PathBuf,
    /// The entry's owner marker.
    pub owner: NameOwner,
}

/// What the engine asks of the kernel (see the module docs).
pub trait Kernel {
    /// True when berth runs with the privileges to change kernel state.
    fn is_root(&self) -> bool;

    /// This process: its PID and start time (the owner of the operations
    /// it records).
    fn this_process(&self) -> (i32, u64);

    /// The start time of process `pid` (clock ticks since boot); `None`
    /// when there is no such process or it is a zombie.
    fn process_start(&self, pid: i32) -> Option<u64>;

    /// True when `pid` is alive and, if `start` is known, started then
    /// (not a reused PID).
    fn alive(&self, pid: i32, start: Option<u64>) -> bool {
        match (self.process_start(pid), start) {
            (Some(now), Some(s)) => now == s,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Ends process `pid` (started at `start`): SIGTERM, SIGKILL after
    /// `grace` (at once when zero); returns once it is gone.
    fn kill_and_wait(&mut self, pid: i32, start: Option<u64>, grace: Duration);

    /// True when a network namespace is pinned (or open) at `path`.
    fn pinned(&self, path: &Path) -> bool;

    /// True when `path` is this process's own network namespace.
    fn own_netns(&self, path: &Path) -> bool;

    /// Applies one step of a plan.
    fn apply(&mut self, step: &Step) -> Result<()>;

    /// Called after step `i` of operation `op` was applied: where a build
    /// with the `failpoints` feature is killed on request.
    fn after_step(&mut self, op: OpKind, i: usize);

    /// From now on, the processes left in namespaces that plans unpin are
    /// ended by [`Kernel::sweep_deferred`] instead of at once.
    fn defer_sweeps(&mut self);

    /// Ends the processes left in the namespaces unpinned since
    /// [`Kernel::defer_sweeps`]; how many there were.
    fn sweep_deferred(&mut self) -> usize;

    /// Descriptors whose last close would wait for the kernel (the
    /// netfilter socket after a deletion): a background process started
    /// now holds them, so that this one exits without waiting.
    fn lingering_fds(&self) -> Vec<std::os::fd::RawFd>;

    /// Deletes the retired veths (`kernel::retire`), waiting for the
    /// kernel; how many there were.
    fn reap_retired(&mut self) -> Result<usize>;

    /// Replaces berth's two tables whole, in one transaction: the skeleton
    /// and `elements` (after a firewall reload, an upgrade, a boot).
    fn replace_tables(&mut self, elements: &[Element]) -> Result<()>;

    /// Applies an nftables transaction outside plans and berth's elements
    /// (accept rules in another tool's chain, deleting berth's tables), in
    /// `nft -f` syntax.
    fn nft(&mut self, text: &str) -> Result<()>;

    /// Runs an nftables `list` command; its JSON output.
    fn nft_list_json(&mut self, cmd: &str) -> Result<String>;

    /// What planning checks a new network against: the main table's
    /// routes (IPv6 ones only with `v6`), and which of the links named in
    /// `links` exist (looked up by name, never a list of every link).
    fn host_facts(&mut self, links: &[&str], v6: bool) -> Result<HostFacts>;

    /// The host's netlink socket, for what the engine observes beyond this
    /// trait (CNI CHECK's probes, the overlay's VXLAN entries); the fake
    /// has none.
    fn host_netlink(&mut self) -> Result<&mut super::Netlink>;

    /// The names of the host's links.
    fn link_names(&mut self) -> Result<Vec<String>>;

    /// The names of the ports of bridge `bridge`.
    fn bridge_ports(&mut self, bridge: &str) -> Result<Vec<String>>;

    /// The link kinds the kernel supports among those drivers may need.
    fn link_kinds(&mut self) -> Result<super::caps::LinkKinds>;

    /// The MAC address of host link `name`.
    fn link_mac(&mut self, name: &str) -> Option<String>;

    /// The host's sockets that may clash with published ports: those among
    /// `wanted` (protocol, address or every address, port), or with
    /// `None` every listening socket.
    fn listeners(&mut self, wanted: Option<&[(Proto, Option<IpAddr>, u16)]>) -> Vec<Listener>;

    /// Reads sysctl `key` of the host's namespace.
    fn sysctl(&mut self, key: &str) -> Result<String>;

    /// Writes sysctl `key` of the host's namespace.
    fn set_sysctl(&mut self, key: &str, value: &str) -> Result<()>;

    /// Makes `/run/netns` name exactly `running` among the entries of the
    /// berth instance at `root` (removing that instance's others); what it
    /// changed, e.g. `removed web`, `named db`.
    fn sync_netns_names(&mut self, root: &str, running: &[NetnsName]) -> Result<Vec<String>>;
}
