//! Container lifecycle: running, exited, stop, start again, remove
//! (network connect / disconnect are in `attach.rs`).

use super::container::{delete_ops, network_plan, ports_step};
use super::{pid_alive, require_root, Engine};
use crate::error::{Error, Result};
use crate::model::{Container, ContainerState, Endpoint, Network};
use crate::plan::{Plan, Step};
use std::time::{Duration, Instant};

/// The plan that takes a container's network down: its port elements, then
/// its namespace (the kernel frees the namespace, and the container ends of
/// its veths with it, once no process uses it — cheaper than deleting each
/// veth, which costs an RCU grace period).
pub(crate) fn teardown_plan(
    paths: &crate::paths::Paths,
    c: &Container,
    eps: &[Endpoint],
    nets: &[Network],
) -> Plan {
    if c.cni.is_some() {
        return super::cni::teardown_plan(c, eps, nets);
    }
    let mut steps = Vec::new();
    if let Some(Step::Nft { undo, .. }) = ports_step(c, eps, nets) {
        steps.push(Step::Nft {
            apply: undo,
            undo: String::new(),
        });
    }
    if !network_plan(paths, c, eps, nets).steps.is_empty() {
        steps.push(super::netns_names::unname_step(paths, c));
        steps.push(Step::RemoveNetns {
            path: paths.netns(&c.id),
        });
    }
    Plan { steps }
}

impl Engine {
    pub(crate) fn container_networks(
        &mut self,
        c: &Container,
    ) -> Result<(Vec<Endpoint>, Vec<Network>)> {
        self.store.read(|tx| {
            let eps = tx.container_endpoints(&c.id)?;
            let mut nets = Vec::new();
            for a in &c.config.networks {
                if let Some(n) = tx.network(&a.network)? {
                    nets.push(n);
                }
            }
            for e in &eps {
                if !nets.iter().any(|n| n.id == e.network_id) {
                    if let Some(n) = tx.network(&e.network_id)? {
                        nets.push(n);
                    }
                }
            }
            Ok((eps, nets))
        })
    }

    /// Records that the container's PID 1 runs as `pid`.
    pub fn mark_running(&mut self, id: &str, pid: i32, supervisor: Option<i32>) -> Result<()> {
        let was = self.store.write(|tx| {
            let Some(mut c) = tx.container(id)? else {
                return Ok(None);
            };
            let was = c.state;
            c.state = ContainerState::Running;
            c.pid = Some(pid);
            c.pid_start = super::proc_start_time(pid);
            c.supervisor_pid = supervisor;
            c.exit_code = None;
            c.started_at = Some(crate::model::now_rfc3339());
            tx.update_container(&c)?;
            Ok(Some(was))
        })?;
        // A created container (`run`, or `start` after prepare_start) is
        // in the resolver's snapshot already, as it is now.
        if was == Some(ContainerState::Exited) {
            self.sync_dns_for(id);
        }
        Ok(())
    }

    /// Records the exit status and takes the container's network down
    /// (records, addresses and host ports stay reserved for a restart).
    /// Idempotent; a container removed meanwhile is fine.
    pub fn mark_exited(&mut self, id: &str, code: Option<i32>) -> Result<()> {
        let Some(c) = self.store.read(|tx| tx.container(id))? else {
            return Ok(());
        };
        let (eps, nets) = self.container_networks(&c)?;
        let plan = teardown_plan(&self.paths, &c, &eps, &nets);
        self.record("stop", &c.id, &plan, |_| Ok(()))?;
        for e in self.applier()?.apply_forward("stop", &plan) {
            eprintln!("berth: warning: stopping {}: {e}", c.name);
        }
        self.store.write(|tx| {
            if let Some(mut c) = tx.container(id)? {
                if c.state != ContainerState::Exited || code.is_some() {
                    // A process that ran and whose status nobody recorded
                    // (its supervisor died): 255, as for a lost container.
                    let lost = (c.state == ContainerState::Running).then_some(255);
                    c.state = ContainerState::Exited;
                    c.exit_code = code.or(c.exit_code).or(lost);
                    c.pid = None;
                    c.finished_at = Some(crate::model::now_rfc3339());
                    tx.update_container(&c)?;
                }
            }
            delete_ops(tx, "stop", id)
        })?;
        if let Err(e) = self.sync_dns(&nets) {
            eprintln!("berth: warning: embedded DNS: {e}");
        }
        Ok(())
    }

    /// True when the container's process is alive.
    pub fn is_running(c: &Container) -> bool {
        if let Some(a) = &c.cni {
            // A CNI attachment lives as long as the runtime's namespace.
            return c.state == ContainerState::Running && crate::kernel::netns::is_pinned(&a.netns);
        }
        c.state == ContainerState::Running && c.pid.is_some_and(|p| pid_alive(p, c.pid_start))
    }

    /// Rebuilds the network of a stopped container before its process is
    /// started again (`berth start`).
    pub fn prepare_start(&mut self, key: &str) -> Result<Container> {
        require_root()?;
        let c = self.container(key)?;
        super::cni::refuse(&c, "start")?;
        if Self::is_running(&c) {
            return Err(Error::conflict(format!(
                "container {} is already running",
                c.name
            )));
        }
        // Running but dead (killed unseen), created by a `run` or left with
        // its network up by a `start` that died before starting the
        // process: take the old network down first.
        let pinned = crate::kernel::netns::is_pinned(&self.paths.netns(&c.id));
        if c.state != ContainerState::Exited || pinned {
            self.mark_exited(&c.id, None)?;
        }
        let (eps, nets) = self.container_networks(&c)?;
        let plan = network_plan(&self.paths, &c, &eps, &nets);
        self.record("start", &c.id, &plan, |_| Ok(()))?;
        let applied = self.applier()?.apply("start", &plan);
        self.store.write(|tx| {
            delete_ops(tx, "start", &c.id)?;
            match (&applied, tx.container(&c.id)?) {
                // Being started: in the resolver's snapshot from now on, so
                // a query its process sends right away is not refused.
                (Ok(()), Some(mut c)) => {
                    c.state = ContainerState::Created;
                    tx.update_container(&c)
                }
                _ => Ok(()),
            }
        })?;
        applied?;
        self.sync_dns_for(&c.id);
        Ok(c)
    }

    /// Kills a running container's process (SIGTERM, then SIGKILL after
    /// `grace`) and waits until it is gone.
    pub fn kill_and_wait(c: &Container, grace: Duration) {
        let Some(pid) = c.pid.filter(|p| pid_alive(*p, c.pid_start)) else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(pid);
        let signals = if grace.is_zero() {
            vec![nix::sys::signal::SIGKILL]
        } else {
            vec![nix::sys::signal::SIGTERM, nix::sys::signal::SIGKILL]
        };
        // A pidfd taken before signalling says exactly when the process ends
        // (no polling delay); None on kernels without pidfd_open.
        let pidfd = pidfd_open(pid.as_raw()).filter(|_| pid_alive(pid.as_raw(), c.pid_start));
        for sig in signals {
            let _ = nix::sys::signal::kill(pid, sig);
            let wait = if sig == nix::sys::signal::SIGKILL {
                Duration::from_secs(10)
            } else {
                grace
            };
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline {
                if !pid_alive(pid.as_raw(), c.pid_start) || is_zombie(pid.as_raw()) {
                    return;
                }
                match &pidfd {
                    Some(fd) => {
                        wait_readable(fd, deadline.saturating_duration_since(Instant::now()))
                    }
                    None => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }
    }

    /// `stop`: SIGTERM, SIGKILL after `grace`, network down.
    pub fn stop_container(&mut self, key: &str, grace: Duration) -> Result<Container> {
        require_root()?;
        let c = self.container(key)?;
        Self::kill_and_wait(&c, grace);
        self.await_exit_record(&c)?;
        self.mark_exited(&c.id, None)?;
        // Gone when its supervisor honoured --rm meanwhile.
        Ok(self.store.read(|tx| tx.container(&c.id))?.unwrap_or(c))
    }

    /// After killing a container: gives its live supervisor (up to 5 s) the
    /// time to record the exit status, so that `stop` returns with
    /// `Exited (137)` already in the store rather than a status-less exit.
    fn await_exit_record(&mut self, c: &Container) -> Result<()> {
        let Some(sup) = c.supervisor_pid.filter(|p| *p != std::process::id() as i32) else {
            return Ok(());
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid_alive(sup, None) && Instant::now() < deadline {
            match self.store.read(|tx| tx.container(&c.id))? {
                Some(cur) if cur.state == ContainerState::Running => {}
                _ => return Ok(()),
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// `rm [-f]`: removes a container (killing it first with `force`).
    pub fn remove_container(&mut self, key: &str, force: bool) -> Result<Container> {
        require_root()?;
        let c = self.container(key)?;
        if c.cni.as_ref().is_some_and(|a| a.docker) {
            super::cni::refuse(&c, "remove")?;
        }
        if Self::is_running(&c) {
            if !force {
                return Err(Error::conflict(format!(
                    "you cannot remove a running container {}: stop it first or use 'berth rm -f {}'",
                    c.name, c.name
                )));
            }
            Self::kill_and_wait(&c, Duration::ZERO);
            // Its supervisor takes the network down and records the exit.
            self.await_exit_record(&c)?;
        }
        let c = self.container(&c.id)?;
        let (eps, nets) = self.container_networks(&c)?;
        let mut plan = teardown_plan(&self.paths, &c, &eps, &nets);
        let stopping = self
            .store
            .read(|tx| Ok(tx.ops()?.iter().any(|o| o.subject == c.id)))?;
        if c.state == ContainerState::Exited && !stopping {
            // Exited and fully stopped: its map elements are already gone.
            // Deleting them again would make this process wait for an RCU
            // grace period when it closes its nftables socket (~10 ms).
            plan.steps.retain(|s| !matches!(s, Step::Nft { .. }));
        }
        self.record("remove", &c.id, &plan, |_| Ok(()))?;
        self.finish_remove_container(&c.id, &plan)?;
        self.overlay_changed(Some(&c.id));
        Ok(c)
    }

    /// Applies a removal plan and forgets the container (roll forward).
    pub(crate) fn finish_remove_container(&mut self, id: &str, plan: &Plan) -> Result<()> {
        for e in self.applier()?.apply_forward("remove", plan) {
            eprintln!("berth: warning: removing container: {e}");
        }
        let _ = std::fs::remove_dir_all(self.paths.container_dir(id));
        let nets = self.store.read(|tx| Ok(tx.container_attachments(id)?.1))?;
        self.store.write(|tx| {
            tx.delete_container(id)?;
            delete_ops(tx, "remove", id)
        })?;
        if let Err(e) = self.sync_dns(&nets) {
            eprintln!("berth: warning: embedded DNS: {e}");
        }
        Ok(())
    }
}

/// `pidfd_open(2)`: an fd that becomes readable when `pid` exits. Not in
/// nix 0.31, hence the raw syscall.
fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a fresh fd we own.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits until `fd` is readable or `timeout` passes.
fn wait_readable(fd: &std::os::fd::OwnedFd, timeout: Duration) {
    use std::os::fd::AsFd;
    let mut fds = [nix::poll::PollFd::new(
        fd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let ms = u16::try_from(timeout.as_millis().clamp(1, 10_000)).unwrap_or(10_000);
    let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}
