//! ProgramExternalConnectivity / RevokeExternalConnectivity: a Docker
//! endpoint's published ports, as elements of berth's port maps (the same
//! store table and maps as `berth run -p` and CNI portMappings).

use crate::engine::container::{delete_ops, elements};
use crate::engine::{ports, require_root, Engine};
use crate::error::{Error, Result};
use crate::model::docker::DockerPorts;
use crate::model::{Container, Endpoint, Network};
use crate::plan::{Plan, Step};

impl Engine {
    /// ProgramExternalConnectivity: publishes the ports (nothing on an
    /// internal network, which has no way in, as Docker's bridge).
    pub fn docker_program(&mut self, req: &DockerPorts) -> Result<()> {
        require_root()?;
        let net = self.docker_network(&req.network_id)?;
        let (c, ep) = self.docker_endpoint(&net, &req.endpoint_id)?;
        if net.internal || req.ports.is_empty() {
            return Ok(());
        }
        if !c.ports.is_empty() {
            self.docker_revoke(&req.network_id, &req.endpoint_id)?;
        }
        let c = self.docker_endpoint(&net, &req.endpoint_id)?.0;
        for p in &req.ports {
            if p.host_ip.is_some_and(|ip| ip.is_ipv6()) && ep.ipv6.is_none() {
                return Err(Error::invalid(format!(
                    "cannot publish on {}: the container has no IPv6 address",
                    p.host_ip.map(|ip| ip.to_string()).unwrap_or_default()
                )));
            }
        }
        let wanted: Vec<_> = req
            .ports
            .iter()
            .filter_map(|p| Some((p.proto, p.host_ip, p.host_ports?.0)))
            .collect();
        let listeners = crate::kernel::facts::bound_ports(&wanted);
        let mut after = c.clone();
        let plan = self.store.write(|tx| {
            after.ports = ports::reserve(tx, &c.id, &req.ports, net.host_binding_ipv4, &listeners)?;
            after.config.publish = req.ports.clone();
            tx.update_container(&after)?;
            let plan = change(&c, &after, &ep, &net);
            tx.insert_op("docker_ports", &c.id, &plan.to_json())?;
            Ok(plan)
        })?;
        let applied = self.applier()?.apply("docker_ports", &plan);
        self.store.write(|tx| {
            delete_ops(tx, "docker_ports", &c.id)?;
            if applied.is_err() {
                tx.delete_ports(&c.id)?;
                tx.update_container(&c)?;
            }
            Ok(())
        })?;
        applied
    }

    /// RevokeExternalConnectivity: unpublishes the ports (rolled forward
    /// after a crash).
    pub fn docker_revoke(&mut self, network_id: &str, endpoint_id: &str) -> Result<()> {
        require_root()?;
        let net = self.docker_network(network_id)?;
        let (c, ep) = self.docker_endpoint(&net, endpoint_id)?;
        if c.ports.is_empty() {
            return Ok(());
        }
        let mut after = c.clone();
        after.ports.clear();
        after.config.publish.clear();
        let plan = change(&c, &after, &ep, &net);
        self.record("docker_ports", &c.id, &plan, |tx| {
            tx.delete_ports(&c.id)?;
            tx.update_container(&after)
        })?;
        for e in self.applier()?.apply_forward("docker_ports", &plan) {
            eprintln!("berth: warning: unpublishing {}: {e}", c.name);
        }
        self.store.write(|tx| delete_ops(tx, "docker_ports", &c.id))
    }
}

/// The nftables step taking the endpoint's elements from what `before`
/// needs to what `after` needs.
fn change(before: &Container, after: &Container, ep: &Endpoint, net: &Network) -> Plan {
    let eps = std::slice::from_ref(ep);
    let nets = std::slice::from_ref(net);
    let (add_b, rm_b) = elements(before, eps, nets);
    let (add_a, rm_a) = elements(after, eps, nets);
    let mut apply = rm_b;
    apply.extend(add_a);
    let mut undo = rm_a;
    undo.extend(add_b);
    Plan {
        steps: vec![Step::Nft {
            apply: apply.text(),
            undo: undo.text(),
        }],
    }
}
