//! Scenarios of Docker's remote network driver (`berth docker-plugin`):
//! Join, DeleteEndpoint, and an endpoint's ports published and revoked.

use super::harness::{Scenario, World};
use crate::model::docker::{DockerEndpointCreate, DockerNetworkCreate, DockerPorts, DockerSubnet};
use crate::model::parse_publish;
use crate::plan::OpKind;
use crate::Result;
use std::path::Path;

fn net_id() -> String {
    "ab".repeat(32)
}

fn ep_id() -> String {
    "cd".repeat(32)
}

/// Docker's CreateNetwork of 10.88.0.0/24, and the host's own namespace
/// (where a Join leaves the container end for Docker).
fn network(w: &mut World) {
    w.fake.add_netns(Path::new("/proc/self/ns/net"));
    let req = DockerNetworkCreate {
        network_id: net_id(),
        subnets: vec![DockerSubnet {
            pool: "10.88.0.0/24".parse().expect("pool"),
            gateway: None,
            aux: Default::default(),
        }],
        ..Default::default()
    };
    w.engine.docker_create_network(&req).expect("CreateNetwork");
}

fn endpoint(w: &mut World) {
    let req = DockerEndpointCreate {
        network_id: net_id(),
        endpoint_id: ep_id(),
        ..Default::default()
    };
    w.engine
        .docker_create_endpoint(&req)
        .expect("CreateEndpoint");
}

fn join(w: &mut World) -> Result<()> {
    let sandbox = Path::new("/var/run/docker/netns/0123456789ab");
    w.engine.docker_join(&net_id(), &ep_id(), sandbox).map(drop)
}

fn network_and_endpoint(w: &mut World) {
    network(w);
    endpoint(w);
}

fn joined(w: &mut World) {
    network_and_endpoint(w);
    join(w).expect("Join");
}

fn publish(w: &mut World) -> Result<()> {
    let req = DockerPorts {
        network_id: net_id(),
        endpoint_id: ep_id(),
        ports: vec![parse_publish("8500:80")?],
    };
    w.engine.docker_program(&req)
}

fn nothing(_: &mut World) {}

/// The scenarios.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "docker Join",
            kind: OpKind::DockerJoin,
            prelude: network_and_endpoint,
            setup: nothing,
            run: join,
            steps: &["create_veth", "elements"],
        },
        Scenario {
            name: "docker DeleteEndpoint",
            kind: OpKind::DockerDelete,
            prelude: network,
            setup: |w| {
                endpoint(w);
                join(w).expect("Join");
            },
            run: |w| w.engine.docker_delete_endpoint(&net_id(), &ep_id()),
            steps: &["elements", "retire_veth"],
        },
        Scenario {
            name: "docker ProgramExternalConnectivity",
            kind: OpKind::DockerPublish,
            prelude: joined,
            setup: nothing,
            run: publish,
            steps: &["elements"],
        },
        Scenario {
            name: "docker RevokeExternalConnectivity",
            kind: OpKind::DockerUnpublish,
            prelude: joined,
            setup: |w| publish(w).expect("publish"),
            run: |w| w.engine.docker_revoke(&net_id(), &ep_id()),
            steps: &["elements"],
        },
    ]
}
