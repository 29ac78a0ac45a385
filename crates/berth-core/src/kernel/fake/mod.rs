//! [`Fake`]: a [`Kernel`] without a kernel, for tests of the engine that
//! need no root and take milliseconds (youki's recording syscall trait and
//! knftables' `Fake` are the models).
//!
//! It keeps a model of the objects berth makes ([`Objects`]: links,
//! namespaces, `/run/netns` names, set and map elements, sysctls, routes),
//! changed by each step as the real kernel would change it, and a log of
//! what it was asked ([`Fake::log`]). A test can make the `n`-th step fail
//! ([`Fake::fail_step`]), kill "berth" after step `i` of an operation the
//! way the `failpoints` feature does ([`Fake::crash_after`]: the step
//! panics with [`Crash`], which the test catches), and start the next
//! "berth process" ([`Fake::restart`]: the old owner of recorded
//! operations is dead). A `Fake` is a handle: clones share one state, so
//! a test keeps one while the engine owns another.

mod listing;
mod objects;
mod retire;

pub use objects::{link_key, Link, Objects};

use super::api::{Kernel, NetnsName};
use super::caps::LinkKinds;
use super::facts::{HostFacts, Listener};
use crate::error::{Error, Result};
use crate::firewall::Element;
use crate::model::Proto;
use crate::plan::{OpKind, Step};
use ipnet::IpNet;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

/// The panic payload of a simulated crash after step `step` of `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    /// The operation.
    pub op: OpKind,
    /// The step after which it died.
    pub step: usize,
}

#[derive(Debug, Default)]
struct State {
    objects: Objects,
    log: Vec<String>,
    /// Steps applied since the last [`Fake::fail_step`].
    applied: usize,
    fail_at: Option<usize>,
    /// The failing step makes its change before it fails (half done).
    fail_late: bool,
    crash: Option<(OpKind, usize)>,
    /// Live processes: PID → start time.
    processes: BTreeMap<i32, u64>,
    next_pid: i32,
    pid: i32,
    not_root: bool,
    routes: Vec<IpNet>,
    kinds: Option<LinkKinds>,
    listeners: Vec<Listener>,
}

/// A fake kernel (see the module docs).
#[derive(Debug, Clone)]
pub struct Fake {
    state: Rc<RefCell<State>>,
}

impl Default for Fake {
    fn default() -> Self {
        Fake::new()
    }
}

impl Fake {
    /// An empty host (with a loopback and an `eth0`) where berth runs as
    /// root, as process 1000.
    pub fn new() -> Fake {
        let fake = Fake {
            state: Rc::new(RefCell::new(State {
                next_pid: 1000,
                ..State::default()
            })),
        };
        fake.restart();
        for name in ["lo", "eth0"] {
            fake.add_host_link(name, "device");
        }
        fake
    }

    /// What the kernel holds now.
    pub fn objects(&self) -> Objects {
        self.state.borrow().objects.clone()
    }

    /// Every request so far: `step KIND`, `nft`, `after OP:I`.
    pub fn log(&self) -> Vec<String> {
        self.state.borrow().log.clone()
    }

    /// Forgets the log.
    pub fn clear_log(&self) {
        self.state.borrow_mut().log.clear();
    }

    /// The kinds of the steps applied, in order, since the log was cleared.
    pub fn steps(&self) -> Vec<String> {
        let log = self.state.borrow().log.clone();
        log.iter()
            .filter_map(|l| l.strip_prefix("step ").map(String::from))
            .collect()
    }

    /// Makes the `n`-th step applied from now on (0 = the next) fail
    /// without changing anything; `None` stops failing.
    pub fn fail_step(&self, n: Option<usize>) {
        let mut s = self.state.borrow_mut();
        s.applied = 0;
        s.fail_at = n;
        s.fail_late = false;
    }

    /// Like [`Fake::fail_step`], but the step fails after making its
    /// change, as a step of several requests fails half-way.
    pub fn fail_step_late(&self, n: usize) {
        self.fail_step(Some(n));
        self.state.borrow_mut().fail_late = true;
    }

    /// "Kills berth" right after step `step` of operation `op` (panics
    /// with [`Crash`]); `None` stops it.
    pub fn crash_after(&self, at: Option<(OpKind, usize)>) {
        self.state.borrow_mut().crash = at;
    }

    /// A new berth process: the previous one is dead (its recorded
    /// operations are stale). Returns its PID.
    pub fn restart(&self) -> i32 {
        let mut s = self.state.borrow_mut();
        let old = s.pid;
        s.processes.remove(&old);
        s.next_pid += 1;
        let pid = s.next_pid;
        s.processes.insert(pid, pid as u64 * 10);
        s.pid = pid;
        pid
    }

    /// A new live process (a container's PID 1); returns its PID.
    pub fn spawn(&self) -> i32 {
        let mut s = self.state.borrow_mut();
        s.next_pid += 1;
        let pid = s.next_pid;
        s.processes.insert(pid, pid as u64 * 10);
        pid
    }

    /// Process `pid` dies.
    pub fn kill(&self, pid: i32) {
        self.state.borrow_mut().processes.remove(&pid);
    }

    /// Whether berth runs as root (the default).
    pub fn set_root(&self, root: bool) {
        self.state.borrow_mut().not_root = !root;
    }

    /// Adds a link to the host (a parent for macvlan, an underlay).
    pub fn add_host_link(&self, name: &str, kind: &str) {
        let link = Link {
            kind: kind.into(),
            master: None,
            alias: None,
            peer: None,
        };
        self.state
            .borrow_mut()
            .objects
            .links
            .insert(name.into(), link);
    }

    /// Adds a network namespace made by someone else (a CNI runtime's).
    pub fn add_netns(&self, path: &Path) {
        self.state
            .borrow_mut()
            .objects
            .netns
            .insert(path.to_path_buf());
    }

    /// Deletes a namespace made by someone else (a CNI runtime's, without
    /// a DEL): the links in it go with it, and their veth peers.
    pub fn delete_netns(&self, path: &Path) {
        let step = crate::plan::Step::RemoveNetns {
            path: path.to_path_buf(),
        };
        let _ = self.state.borrow_mut().objects.apply(&step);
    }

    /// Adds a route of the host (planning avoids its prefix).
    pub fn add_route(&self, dst: IpNet) {
        self.state.borrow_mut().routes.push(dst);
    }

    /// Adds a socket bound on the host (published ports clash with it).
    pub fn add_listener(&self, l: Listener) {
        self.state.borrow_mut().listeners.push(l);
    }

    fn note(&self, what: String) {
        self.state.borrow_mut().log.push(what);
    }
}

impl Kernel for Fake {
    fn is_root(&self) -> bool {
        !self.state.borrow().not_root
    }

    fn this_process(&self) -> (i32, u64) {
        let s = self.state.borrow();
        (s.pid, s.pid as u64 * 10)
    }

    fn process_start(&self, pid: i32) -> Option<u64> {
        self.state.borrow().processes.get(&pid).copied()
    }

    fn kill_and_wait(&mut self, pid: i32, start: Option<u64>, _grace: Duration) {
        if self.alive(pid, start) {
            self.note(format!("kill {pid}"));
            self.kill(pid);
        }
    }

    fn pinned(&self, path: &Path) -> bool {
        self.state.borrow().objects.netns.contains(path)
    }

    fn own_netns(&self, _path: &Path) -> bool {
        false
    }

    fn apply(&mut self, step: &Step) -> Result<()> {
        let mut s = self.state.borrow_mut();
        s.log.push(format!("step {}", step.kind()));
        let n = s.applied;
        s.applied += 1;
        if s.fail_at != Some(n) {
            return s.objects.apply(step);
        }
        if s.fail_late {
            let _ = s.objects.apply(step);
        }
        Err(Error::kernel(format!(
            "injected failure of step {}",
            step.kind()
        )))
    }

    fn after_step(&mut self, op: OpKind, i: usize) {
        let crash = self.state.borrow().crash == Some((op, i));
        if crash {
            self.note(format!("crash after {op}:{i}"));
            std::panic::panic_any(Crash { op, step: i });
        }
    }

    fn defer_sweeps(&mut self) {}

    fn sweep_deferred(&mut self) -> usize {
        0
    }

    fn lingering_fds(&self) -> Vec<std::os::fd::RawFd> {
        Vec::new()
    }

    fn reap_retired(&mut self) -> Result<usize> {
        self.note("reap retired veths".into());
        Ok(self.state.borrow_mut().objects.reap_retired())
    }

    fn replace_tables(&mut self, elements: &[Element]) -> Result<()> {
        self.note("replace tables".into());
        let mut s = self.state.borrow_mut();
        s.objects.tables = ["bridge berth", "inet berth"].map(String::from).into();
        s.objects.elements = elements.iter().cloned().collect();
        Ok(())
    }

    fn nft(&mut self, text: &str) -> Result<()> {
        self.note("nft".into());
        self.state.borrow_mut().objects.nft(text)
    }

    fn nft_list_json(&mut self, cmd: &str) -> Result<String> {
        listing::list_set(&self.state.borrow().objects, cmd).ok_or_else(|| {
            Error::kernel(format!(
                "{cmd}: No such file or directory (the fake kernel lists only sets)"
            ))
        })
    }

    fn host_facts(&mut self, links: &[&str], v6: bool) -> Result<HostFacts> {
        let mut routes = self.state.borrow().routes.clone();
        routes.retain(|r| v6 || r.addr().is_ipv4());
        let host = self.link_names()?;
        Ok(HostFacts {
            routes,
            links: links
                .iter()
                .filter(|l| host.iter().any(|h| h == *l))
                .map(|l| l.to_string())
                .collect(),
        })
    }

    fn host_netlink(&mut self) -> Result<&mut super::Netlink> {
        Err(Error::internal("the fake kernel has no netlink socket"))
    }

    fn link_names(&mut self) -> Result<Vec<String>> {
        let s = self.state.borrow();
        let host = s.objects.links.keys().filter(|k| !k.contains(':'));
        Ok(host.cloned().collect())
    }

    fn bridge_ports(&mut self, bridge: &str) -> Result<Vec<String>> {
        let s = self.state.borrow();
        let ports = s
            .objects
            .links
            .iter()
            .filter(|(k, l)| !k.contains(':') && l.master.as_deref() == Some(bridge));
        Ok(ports.map(|(k, _)| k.clone()).collect())
    }

    fn link_kinds(&mut self) -> Result<LinkKinds> {
        Ok(self.state.borrow().kinds.unwrap_or_else(LinkKinds::all))
    }

    fn link_mac(&mut self, _name: &str) -> Option<String> {
        None
    }

    fn listeners(&mut self, wanted: Option<&[(Proto, Option<IpAddr>, u16)]>) -> Vec<Listener> {
        let all = self.state.borrow().listeners.clone();
        match wanted {
            None => all,
            Some(w) => all
                .into_iter()
                .filter(|l| {
                    w.iter()
                        .any(|(p, _, port)| *p == l.proto && *port == l.port)
                })
                .collect(),
        }
    }

    fn sysctl(&mut self, key: &str) -> Result<String> {
        let s = self.state.borrow();
        Ok(s.objects.sysctls.get(key).cloned().unwrap_or("0".into()))
    }

    fn set_sysctl(&mut self, key: &str, value: &str) -> Result<()> {
        let mut s = self.state.borrow_mut();
        s.objects.sysctls.insert(key.into(), value.into());
        Ok(())
    }

    fn sync_netns_names(&mut self, root: &str, running: &[NetnsName]) -> Result<Vec<String>> {
        let mut s = self.state.borrow_mut();
        let mut changed = Vec::new();
        let objects = &mut s.objects;
        let (names, netns) = (&mut objects.names, &objects.netns);
        let entry = |n: &NetnsName| super::netns_names::entry(&n.name);
        names.retain(|link, (owner, pin)| {
            let keep = owner != root || running.iter().any(|r| entry(r) == *link && r.pin == *pin);
            if !keep {
                changed.push(format!("removed {}", link.display()));
            }
            keep
        });
        for r in running {
            if netns.contains(&r.pin) && !names.contains_key(&entry(r)) {
                names.insert(entry(r), (root.to_string(), r.pin.clone()));
                changed.push(format!("named {}", r.name));
            }
        }
        Ok(changed)
    }
}
