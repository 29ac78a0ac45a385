//! ProgramExternalConnectivity / RevokeExternalConnectivity: a Docker
//! endpoint's published ports, as elements of berth's port maps (the same
//! store table and maps as `berth run -p` and CNI portMappings).

use crate::engine::container::elements;
use crate::engine::run::{Intent, Outcome};
use crate::engine::{ports, Engine};
use crate::error::{Error, Result};
use crate::model::docker::DockerPorts;
use crate::model::{Container, Endpoint, Network};
use crate::plan::{OpKind, Plan, Step};

impl Engine {
    /// ProgramExternalConnectivity: publishes the ports (nothing on an
    /// internal network, which has no way in, as Docker's bridge).
    pub fn docker_program(&mut self, req: &DockerPorts) -> Result<()> {
        self.require_root()?;
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
        let listeners = self.kernel.listeners(Some(&wanted));
        let mut after = c.clone();
        self.run_op(
            OpKind::DockerPublish,
            |tx| {
                after.ports =
                    ports::reserve(tx, &c.id, &req.ports, net.host_binding_ipv4, &listeners)?;
                after.config.publish = req.ports.clone();
                tx.update_container(&after)?;
                Ok(Intent {
                    subject: c.id.clone(),
                    plan: change(&c, &after, &ep, &net),
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, outcome| match outcome {
                Outcome::Applied => Ok(()),
                Outcome::RolledBack => unpublished(tx, &c.id),
            },
        )
    }

    /// RevokeExternalConnectivity: unpublishes the ports (rolled forward
    /// after a crash).
    pub fn docker_revoke(&mut self, network_id: &str, endpoint_id: &str) -> Result<()> {
        self.require_root()?;
        let net = self.docker_network(network_id)?;
        let (c, ep) = self.docker_endpoint(&net, endpoint_id)?;
        if c.ports.is_empty() {
            return Ok(());
        }
        let mut after = c.clone();
        after.ports.clear();
        after.config.publish.clear();
        let plan = change(&c, &after, &ep, &net);
        self.run_op(
            OpKind::DockerUnpublish,
            |tx| {
                unpublished(tx, &c.id)?;
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (),
                })
            },
            |_, _| Ok(()),
            |_, _, _| Ok(()),
        )
    }
}

/// Forgets the host ports of Docker endpoint record `cid` (a publication
/// rolled back, or revoked).
pub(crate) fn unpublished(tx: &crate::store::Tx, cid: &str) -> Result<()> {
    tx.delete_ports(cid)?;
    if let Some(mut c) = tx.container(cid)? {
        c.ports.clear();
        c.config.publish.clear();
        tx.update_container(&c)?;
    }
    Ok(())
}

/// The nftables step taking the endpoint's elements from what `before`
/// needs to what `after` needs.
fn change(before: &Container, after: &Container, ep: &Endpoint, net: &Network) -> Plan {
    let eps = std::slice::from_ref(ep);
    let nets = std::slice::from_ref(net);
    Plan {
        steps: vec![Step::Elements {
            remove: elements(before, eps, nets),
            add: elements(after, eps, nets),
        }],
    }
}
