//! Container lifecycle: running, exited, stop, start again, remove
//! (network connect / disconnect are in `attach.rs`).

use super::container::{network_plan, unports_step};
use super::run::{Intent, Outcome};
use super::{pid_alive, Engine};
use crate::error::{Error, Result};
use crate::model::{Container, ContainerState, Endpoint, Network};
use crate::plan::{OpKind, Plan, Step};
use crate::store::Tx;
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
    steps.extend(unports_step(c, eps, nets));
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

    /// `plan` taking container `c`'s network down, unpinning its namespace
    /// instead of removing it while running containers share it (`--network
    /// container:NAME`): their processes keep it, as with Docker.
    fn keep_shared(&mut self, c: &Container, plan: Plan) -> Result<Plan> {
        let sharing = self
            .store
            .read(|tx| tx.containers_joining(&c.id))?
            .into_iter()
            .any(|o| o.config.net_container.as_deref() == Some(&c.id) && self.running(&o));
        if !sharing {
            return Ok(plan);
        }
        let steps = plan
            .steps
            .into_iter()
            .map(|s| match s {
                Step::RemoveNetns { path } => Step::UnpinNetns { path },
                s => s,
            })
            .collect();
        Ok(Plan { steps })
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
            c.pid_start = self.kernel.process_start(pid);
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
        let plan = self.keep_shared(&c, teardown_plan(&self.paths, &c, &eps, &nets))?;
        self.run_op(
            OpKind::StopContainer,
            |_| {
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, _| record_exit(tx, id, code),
        )?;
        if let Err(e) = self.sync_dns(id, &nets) {
            tracing::warn!("embedded DNS: {e}");
        }
        Ok(())
    }

    /// True when the container's process is alive (for front-ends, from
    /// the host's `/proc`; the engine asks its kernel, see
    /// [`Engine::running`]).
    pub fn is_running(c: &Container) -> bool {
        if let Some(a) = &c.cni {
            // A CNI attachment lives as long as the runtime's namespace.
            return c.state == ContainerState::Running && crate::kernel::netns::is_pinned(&a.netns);
        }
        c.state == ContainerState::Running && c.pid.is_some_and(|p| pid_alive(p, c.pid_start))
    }

    /// True when the container's process is alive, as this engine's kernel
    /// sees it.
    pub fn running(&self, c: &Container) -> bool {
        if let Some(a) = &c.cni {
            return c.state == ContainerState::Running && self.kernel.pinned(&a.netns);
        }
        c.state == ContainerState::Running
            && c.pid.is_some_and(|p| self.kernel.alive(p, c.pid_start))
    }

    /// Ends container `c`'s process (see [`Engine::kill_and_wait`]) through
    /// this engine's kernel.
    fn kill(&mut self, c: &Container, grace: Duration) {
        if let Some(pid) = c.pid {
            self.kernel.kill_and_wait(pid, c.pid_start, grace);
        }
    }

    /// Rebuilds the network of a stopped container before its process is
    /// started again (`berth start`).
    pub fn prepare_start(&mut self, key: &str) -> Result<Container> {
        self.require_root()?;
        let c = self.container(key)?;
        super::cni::refuse(&c, "start")?;
        if self.running(&c) {
            return Err(Error::conflict(format!(
                "container {} is already running",
                c.name
            )));
        }
        // Running but dead (killed unseen), created by a `run` or left with
        // its network up by a `start` that died before starting the
        // process: take the old network down first.
        let pinned = self.kernel.pinned(&self.paths.netns(&c.id));
        if c.state != ContainerState::Exited || pinned {
            self.mark_exited(&c.id, None)?;
        }
        let (eps, nets) = self.container_networks(&c)?;
        let plan = network_plan(&self.paths, &c, &eps, &nets);
        self.run_op(
            OpKind::StartContainer,
            |_| {
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, outcome| match (outcome, tx.container(&c.id)?) {
                // Being started: in the resolver's snapshot from now on, so
                // a query its process sends right away is not refused.
                (Outcome::Applied, Some(mut c)) => {
                    c.state = ContainerState::Created;
                    tx.update_container(&c)
                }
                _ => Ok(()),
            },
        )?;
        self.sync_dns_for(&c.id);
        Ok(c)
    }

    /// Kills a running container's process (SIGTERM, then SIGKILL after
    /// `grace`) and waits until it is gone.
    pub fn kill_and_wait(c: &Container, grace: Duration) {
        if let Some(pid) = c.pid {
            crate::kernel::process::kill_and_wait(pid, c.pid_start, grace);
        }
    }

    /// `stop`: SIGTERM, SIGKILL after `grace`, network down.
    pub fn stop_container(&mut self, key: &str, grace: Duration) -> Result<Container> {
        self.require_root()?;
        let c = self.container(key)?;
        self.kill(&c, grace);
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
        while self.kernel.alive(sup, None) && Instant::now() < deadline {
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
        self.require_root()?;
        let c = self.container(key)?;
        if c.cni.as_ref().is_some_and(|a| a.docker) {
            super::cni::refuse(&c, "remove")?;
        }
        if self.running(&c) {
            if !force {
                return Err(Error::conflict(format!(
                    "you cannot remove a running container {}: stop it first or use 'berth rm -f {}'",
                    c.name, c.name
                )));
            }
            self.kill(&c, Duration::ZERO);
            // Its supervisor takes the network down and records the exit.
            self.await_exit_record(&c)?;
        }
        let c = self.container(&c.id)?;
        let (eps, nets) = self.container_networks(&c)?;
        let mut plan = self.keep_shared(&c, teardown_plan(&self.paths, &c, &eps, &nets))?;
        let stopping = self
            .store
            .read(|tx| Ok(tx.ops()?.iter().any(|o| o.subject == c.id)))?;
        if c.state == ContainerState::Exited && !stopping {
            // Exited and fully stopped: its map elements are already gone.
            // Deleting them again would make this process wait for an RCU
            // grace period when it closes its nftables socket (~10 ms).
            plan.steps.retain(|s| !s.is_firewall());
        }
        let nets = self
            .store
            .read(|tx| Ok(tx.container_attachments(&c.id)?.1))?;
        self.run_op(
            OpKind::RemoveContainer,
            |_| {
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (),
                })
            },
            |engine, _| {
                let _ = std::fs::remove_dir_all(engine.paths.container_dir(&c.id));
                Ok(())
            },
            |tx, _, _| tx.delete_container(&c.id),
        )?;
        if let Err(e) = self.sync_dns(&c.id, &nets) {
            tracing::warn!("embedded DNS: {e}");
        }
        self.overlay_changed(Some(&c.id));
        Ok(c)
    }
}

/// Records that container `id` exited with `code` (a stop, or its process
/// ended); a container removed meanwhile is fine.
pub(crate) fn record_exit(tx: &Tx, id: &str, code: Option<i32>) -> Result<()> {
    let Some(mut c) = tx.container(id)? else {
        return Ok(());
    };
    if c.state != ContainerState::Exited || code.is_some() {
        // A process that ran and whose status nobody recorded (its
        // supervisor died): 255, as for a lost container.
        let lost = (c.state == ContainerState::Running).then_some(255);
        c.state = ContainerState::Exited;
        c.exit_code = code.or(c.exit_code).or(lost);
        c.pid = None;
        c.finished_at = Some(crate::model::now_rfc3339());
        tx.update_container(&c)?;
    }
    Ok(())
}
