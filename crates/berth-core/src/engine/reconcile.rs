//! Bringing the kernel back in line with the store.
//!
//! - [`Engine::bootstrap`] runs once per boot (no boot marker in the runtime
//!   dir): containers recorded as running are marked exited (their
//!   processes and namespaces did not survive), the built-in networks are
//!   recorded, bridges are recreated and berth's nftables tables are
//!   rendered whole from the store.
//! - Every command finishes or undoes the operations of berth processes that
//!   died mid-way (intent records whose owner is gone): creations are rolled
//!   back, removals rolled forward (`recover.rs`).
//! - [`Engine::reconcile`] (`berth system reconcile`) does all of that plus
//!   tearing down containers whose process died unseen, and re-applies the
//!   whole ruleset (after a firewall reload or `nft flush ruleset`).

use super::network::{bridge_plan, plan_bridge_network};
use super::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::model::{Container, ContainerState, Driver, Network, NetworkCreate};
use crate::plan::{Plan, Step};
use std::collections::BTreeMap;

/// What a reconcile did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ReconcileReport {
    /// Half-done operations finished or undone (`kind subject`).
    pub operations: Vec<String>,
    /// Containers found dead and marked exited.
    pub exited: Vec<String>,
    /// Bridges recreated.
    pub bridges: Vec<String>,
    /// Number of published-port elements restored.
    pub ports: usize,
    /// `/run/netns` entries removed or made (`removed NAME`, `named NAME`).
    pub netns_names: Vec<String>,
    /// Retired veths deleted (left by a reaper that did not run).
    pub retired: usize,
}

impl Engine {
    /// First command since boot: see the module docs.
    pub(crate) fn bootstrap(&mut self) -> Result<()> {
        self.require_root()?;
        let _lock = self.lock()?;
        if self.paths.boot_marker().exists() {
            return Ok(()); // another berth did it while we waited
        }
        std::fs::create_dir_all(self.paths.run.join("netns"))?;
        for op in self.store.read(|tx| tx.ops())? {
            if let Err(e) = self.recover_op(&op) {
                tracing::warn!("cannot finish or undo the interrupted {} {}: {e} (see 'berth system reconcile')",
                    op.kind,
                    ids::short(&op.subject)
                );
            }
        }
        self.store.write(|tx| {
            for mut c in tx.containers()? {
                if c.state != ContainerState::Exited {
                    c.state = ContainerState::Exited;
                    c.pid = None;
                    c.exit_code = c.exit_code.or(Some(255));
                    tx.update_container(&c)?;
                }
            }
            Ok(())
        })?;
        if let Err(e) = self.sync_netns_names() {
            tracing::warn!("cleaning /run/netns: {e}");
        }
        self.ensure_builtin_networks()?;
        self.ensure_kernel(&mut ReconcileReport::default())?;
        std::fs::write(self.paths.boot_marker(), crate::model::now_rfc3339())?;
        Ok(())
    }

    fn ensure_builtin_networks(&mut self) -> Result<()> {
        // No link is asked about: the default bridge may exist already
        // (berth's own, from before a reboot of the store).
        let facts = self.kernel.host_facts(&[], true)?;
        let id = ids::new_id()?;
        let host_id = ids::new_id()?;
        let none_id = ids::new_id()?;
        self.store.write(|tx| {
            if tx.network("bridge")?.is_none() {
                let req = NetworkCreate {
                    name: "bridge".into(),
                    driver: "bridge".into(),
                    ..Default::default()
                };
                let existing = tx.networks()?;
                let mut net = plan_bridge_network(
                    &req,
                    &id,
                    &req.subnet_requests()?,
                    &existing,
                    &facts,
                    true,
                )?;
                net.options.insert(
                    "com.docker.network.bridge.default_bridge".into(),
                    "true".into(),
                );
                tx.insert_network(&net)?;
            }
            for (name, driver, nid) in [
                ("host", Driver::Host, &host_id),
                ("none", Driver::Null, &none_id),
            ] {
                if tx.network(name)?.is_none() {
                    tx.insert_network(&Network {
                        id: nid.clone(),
                        name: name.into(),
                        driver,
                        created: crate::model::now_rfc3339(),
                        ipv6: false,
                        internal: false,
                        ipam: Vec::new(),
                        options: BTreeMap::new(),
                        labels: BTreeMap::new(),
                        bridge: None,
                        mtu: 1500,
                        icc: true,
                        masquerade: false,
                        host_binding_ipv4: None,
                        builtin: true,
                        owner: None,
                        docker: None,
                    })?;
                }
            }
            Ok(())
        })
    }

    /// Re-renders berth's nftables tables from the store in one transaction,
    /// recreates missing bridges, and restores forwarding (guarded: the
    /// tables come first) and accept rules.
    fn ensure_kernel(&mut self, report: &mut ReconcileReport) -> Result<()> {
        let nets = self.networks()?;
        self.ensure_ruleset(report)?;
        let links = self.kernel.link_names()?;
        self.ensure_sublink_networks(&nets, &links);
        for n in nets.iter().filter(|n| n.bridge.is_some()) {
            let bridge = n.bridge.clone().unwrap_or_default();
            let plan = bridge_plan(n);
            // A recreated bridge takes back its containers' veths by name; an
            // existing one only refreshes its own ports (a same-named link
            // elsewhere may be another program's).
            let (mut steps, candidates): (Vec<Step>, Vec<String>) = if links.contains(&bridge) {
                let ports = self.kernel.bridge_ports(&bridge)?;
                let sysctls = plan.steps.into_iter();
                (
                    sysctls
                        .filter(|s| matches!(s, Step::Sysctl { .. }))
                        .collect(),
                    ports,
                )
            } else {
                report.bridges.push(bridge.clone());
                let steps = plan.steps.into_iter();
                (steps.filter(|s| !s.is_firewall()).collect(), links.clone())
            };
            steps.extend(self.released_ports(n, &bridge, &candidates)?);
            for e in self.apply_best_effort(&Plan { steps }) {
                tracing::warn!("network {}: {e}", n.name);
            }
            self.ensure_forwarding(n)?;
        }
        for n in &nets {
            self.allow_forward(n)?;
        }
        Ok(())
    }

    /// Replaces berth's tables with what the store says in one transaction:
    /// the skeleton, every network's elements, the routing guard's and
    /// those of every running container.
    fn ensure_ruleset(&mut self, report: &mut ReconcileReport) -> Result<()> {
        let elements = self.expected_elements()?;
        report.ports = elements.iter().filter(|e| e.set.is_ports()).count();
        self.kernel.replace_tables(&elements)
    }

    /// Steps (re-)attaching the veths of `net`'s running containers to its
    /// bridge: deleting a bridge releases its ports, and a veth made by a
    /// berth before the anti-spoofing check joins its port group here.
    fn released_ports(
        &mut self,
        net: &Network,
        bridge: &str,
        links: &[String],
    ) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        for e in self.store.read(|tx| tx.network_endpoints(&net.id))? {
            let running = self
                .store
                .read(|tx| tx.container(&e.container_id))?
                .is_some_and(|c| self.running(&c));
            if running && links.contains(&e.host_veth) {
                steps.push(Step::AttachPort {
                    host: e.host_veth.clone(),
                    bridge: bridge.to_string(),
                });
            }
        }
        Ok(steps)
    }

    /// `berth system reconcile`: see the module docs.
    pub fn reconcile(&mut self) -> Result<ReconcileReport> {
        self.require_root()?;
        let _lock = self.lock()?;
        let (operations, failed) = self.recover_stale_ops(true)?;
        let mut report = ReconcileReport {
            operations,
            ..Default::default()
        };
        report.exited = self.reap_dead()?;
        report.netns_names = self.sync_netns_names()?;
        report.retired = self.reap_now();
        self.ensure_kernel(&mut report)?;
        // The embedded DNS: restart it if it died, serve the current names.
        if let Err(e) = self.publish_dns() {
            tracing::warn!("embedded DNS: {e}");
        }
        if !failed.is_empty() {
            return Err(Error::new(
                crate::ErrorKind::Store,
                format!(
                    "everything else is reconciled, but {} interrupted operation(s) could not be finished or undone: {}",
                    failed.len(),
                    failed.join("; ")
                ),
            ));
        }
        Ok(report)
    }

    /// Marks the containers recorded as running whose process and
    /// supervisor both died unseen (`kill -9`, OOM) as exited with status
    /// 255 (Docker's code for a lost container) and takes their network
    /// down; returns their names. Does nothing without root.
    /// CNI attachments whose runtime namespace is gone are forgotten (as a
    /// DEL would): they can never run again.
    pub fn reap_dead(&mut self) -> Result<Vec<String>> {
        if !self.kernel.is_root() {
            return Ok(Vec::new());
        }
        let all = self.containers()?;
        self.reap_dead_among(all)
    }

    /// [`Engine::reap_dead`] for the containers `among` only (`inspect`
    /// checks the one it shows, not the whole store).
    pub fn reap_dead_among(&mut self, among: Vec<Container>) -> Result<Vec<String>> {
        let mut names = Vec::new();
        if !self.kernel.is_root() {
            return Ok(names);
        }
        // CNI runtimes' attachments (not Docker's endpoints: Docker adds and
        // removes those itself).
        let (runtimes, others): (Vec<_>, Vec<_>) = among
            .into_iter()
            .partition(|c| c.cni.as_ref().is_some_and(|a| !a.docker));
        names.extend(self.cni_reap(&runtimes).map_err(|e| match e {
            super::CniFailure::Engine(e) => e,
            other => Error::internal(other.to_string()),
        })?);
        for c in others {
            let supervised = c.supervisor_pid.is_some_and(|p| self.kernel.alive(p, None));
            if c.state == ContainerState::Running && !self.running(&c) && !supervised {
                self.mark_exited(&c.id, Some(255))?;
                names.push(c.name.clone());
            }
        }
        Ok(names)
    }

    /// `berth system reset`: removes every container and network berth made,
    /// its nftables tables and accept rules, restores the sysctls it changed
    /// and deletes its state.
    pub fn reset(&mut self) -> Result<()> {
        self.require_root()?;
        self.stop_resolver();
        for c in self.containers()? {
            self.remove_container(&c.id, true)?;
        }
        let _lock = self.lock()?;
        // Veths retired by the removals above or earlier, before the
        // state (and the reapers' lock files) go.
        self.reap_now();
        for n in self.networks()? {
            self.revoke_forward(&n)?;
            let plan = bridge_plan(&n).undo();
            let _ = self.apply_best_effort(&Plan {
                steps: plan
                    .steps
                    .into_iter()
                    .filter(|s| !s.is_firewall())
                    .collect(),
            });
        }
        let _ = self.kernel.nft("table inet berth {}\ndelete table inet berth\ntable bridge berth {}\ndelete table bridge berth\n");
        for (key, old) in self.store.read(|tx| tx.host_changes())? {
            if let Some(name) = key.strip_prefix("sysctl:") {
                let _ = self.kernel.set_sysctl(name, &old);
            }
        }
        let _ = self.store.write(|tx| {
            for op in tx.ops()? {
                tx.delete_op(op.id)?;
            }
            Ok(())
        });
        let _ = std::fs::remove_file(self.paths.db());
        let _ = std::fs::remove_file(self.paths.state.join("berth.db-wal"));
        let _ = std::fs::remove_file(self.paths.state.join("berth.db-shm"));
        let _ = std::fs::remove_dir_all(self.paths.state.join("containers"));
        // The pins' anchor is a mount (decision 18): unmounted first.
        let _ = crate::kernel::anchor::remove(&self.paths.run);
        let _ = std::fs::remove_dir_all(&self.paths.run);
        Ok(())
    }
}
