//! One scenario per kind of operation (see `harness::Scenario`).

use super::harness::{Scenario, World};
use crate::model::cni::{CniAdd, CniAddresses, CniAttachment, CniNetwork, CniSubnet};
use crate::model::{parse_publish, ContainerConfig, NetworkAttach, NetworkCreate};
use crate::plan::OpKind;
use crate::Result;
use std::time::Duration;

/// `network create --subnet SUBNET NAME`.
fn network(w: &mut World, name: &str, subnet: &str) {
    let req = NetworkCreate {
        name: name.into(),
        subnets: vec![subnet.into()],
        ..Default::default()
    };
    w.engine.create_network(&req).expect("network create");
}

/// `run -d --name NAME --network NET -p 8080:80`, running.
fn run(w: &mut World, name: &str, net: &str) -> Result<()> {
    let config = ContainerConfig {
        networks: vec![NetworkAttach {
            network: net.into(),
            ..Default::default()
        }],
        publish: vec![parse_publish("8080:80")?],
        argv: vec!["httpd".into()],
        ..Default::default()
    };
    let c = w.engine.create_container(Some(name), config)?.container;
    let pid = w.fake.spawn();
    w.engine.mark_running(&c.id, pid, None)
}

/// `network create --subnet 192.0.2.0/24 appnet`, for other tests.
pub fn appnet_for_tests(w: &mut World) {
    appnet(w)
}

fn appnet(w: &mut World) {
    network(w, "appnet", "192.0.2.0/24");
}

fn web_on_appnet(w: &mut World) {
    appnet(w);
    run(w, "web", "appnet").expect("run");
}

fn web_stopped(w: &mut World) {
    web_on_appnet(w);
    w.engine
        .stop_container("web", Duration::ZERO)
        .expect("stop");
}

pub fn web_and_othernet(w: &mut World) {
    web_on_appnet(w);
    network(w, "other", "198.51.100.0/24");
}

pub fn connect_other(w: &mut World) -> Result<()> {
    let attach = NetworkAttach {
        network: "other".into(),
        ..Default::default()
    };
    w.engine.connect("web", attach).map(drop)
}

/// The CNI ADD of the scenarios (attachment c1/eth0 on `cninet`).
pub fn cni_request(w: &World) -> CniAdd {
    let netns = w.engine.paths.state.join("runtime-ns");
    CniAdd {
        network: CniNetwork {
            name: "cninet".into(),
            subnets: vec![CniSubnet {
                subnet: "203.0.113.0/24".parse().expect("subnet"),
                gateway: None,
                range_start: None,
                range_end: None,
            }],
            ..Default::default()
        },
        attachment: CniAttachment {
            network: "cninet".into(),
            container_id: "c1".into(),
            ifname: "eth0".into(),
            netns,
            shaping: None,
            docker: false,
        },
        addresses: CniAddresses::Allocate(Vec::new()),
        mac: None,
        ports: vec![parse_publish("8400:80").expect("port")],
        aliases: Vec::new(),
        routes: Vec::new(),
        shaping: None,
        default_route_metric: None,
        loopback: false,
    }
}

/// A runtime's namespace for CNI, and the network its first ADD made.
pub fn cni_prelude(w: &mut World) {
    let req = cni_request(w);
    std::fs::write(&req.attachment.netns, "").expect("netns file");
    w.fake.add_netns(&req.attachment.netns);
    w.engine.cni_add(&req).expect("first ADD");
    w.engine.cni_del("cninet", "c1", "eth0").expect("DEL");
}

pub fn cni_add(w: &mut World) -> Result<()> {
    let req = cni_request(w);
    w.engine.cni_add(&req).map(drop).map_err(|e| match e {
        crate::engine::CniFailure::Engine(e) => e,
        other => crate::Error::internal(other.to_string()),
    })
}

fn cni_del(w: &mut World) -> Result<()> {
    let gone = w.engine.cni_del("cninet", "c1", "eth0");
    gone.map(drop)
        .map_err(|e| crate::Error::internal(e.to_string()))
}

fn nothing(_: &mut World) {}

/// Every scenario.
pub fn all() -> Vec<Scenario> {
    let mut v = vec![
        Scenario {
            name: "run",
            kind: OpKind::CreateContainer,
            prelude: appnet,
            setup: nothing,
            run: |w| run(w, "web", "appnet"),
            steps: &["create_netns", "name_netns", "create_veth", "elements"],
        },
        Scenario {
            name: "rm -f",
            kind: OpKind::RemoveContainer,
            prelude: appnet,
            setup: |w| run(w, "web", "appnet").expect("run"),
            run: |w| w.engine.remove_container("web", true).map(drop),
            steps: &["elements", "unname_netns", "remove_netns"],
        },
        Scenario {
            name: "start",
            kind: OpKind::StartContainer,
            prelude: web_stopped,
            setup: nothing,
            run: |w| w.engine.prepare_start("web").map(drop),
            steps: &["create_netns", "name_netns", "create_veth", "elements"],
        },
        Scenario {
            name: "stop",
            kind: OpKind::StopContainer,
            prelude: web_stopped,
            setup: |w| {
                let c = w.engine.prepare_start("web").expect("start");
                let pid = w.fake.spawn();
                w.engine.mark_running(&c.id, pid, None).expect("running");
            },
            run: |w| w.engine.stop_container("web", Duration::ZERO).map(drop),
            steps: &["elements", "unname_netns", "remove_netns"],
        },
        Scenario {
            name: "network connect",
            kind: OpKind::Connect,
            prelude: web_and_othernet,
            setup: nothing,
            run: connect_other,
            steps: &["create_veth", "elements"],
        },
        Scenario {
            name: "network disconnect",
            kind: OpKind::Disconnect,
            prelude: web_and_othernet,
            setup: |w| connect_other(w).expect("connect"),
            run: |w| w.engine.disconnect("web", "other"),
            steps: &["elements", "retire_veth"],
        },
        Scenario {
            name: "network create",
            kind: OpKind::CreateNetwork,
            prelude: nothing,
            setup: nothing,
            run: |w| {
                let req = NetworkCreate {
                    name: "n2".into(),
                    subnets: vec!["10.99.0.0/24".into()],
                    ..Default::default()
                };
                w.engine.create_network(&req).map(drop)
            },
            steps: &["create_bridge", "sysctl", "sysctl", "sysctl", "elements"],
        },
        Scenario {
            name: "network rm",
            kind: OpKind::RemoveNetwork,
            prelude: nothing,
            setup: appnet,
            run: |w| w.engine.remove_network("appnet").map(drop),
            steps: &["elements", "delete_link"],
        },
        Scenario {
            name: "CNI ADD",
            kind: OpKind::CniAdd,
            prelude: cni_prelude,
            setup: nothing,
            run: cni_add,
            steps: &["create_veth", "elements"],
        },
        Scenario {
            name: "CNI DEL",
            kind: OpKind::CniDel,
            prelude: cni_prelude,
            setup: |w| cni_add(w).expect("ADD"),
            run: cni_del,
            steps: &["elements", "retire_veth"],
        },
        Scenario {
            name: "CNI reap",
            kind: OpKind::CniReap,
            prelude: cni_prelude,
            setup: |w| {
                // An attachment whose runtime deletes its namespace
                // without a DEL.
                let mut req = cni_request(w);
                req.attachment.netns = w.engine.paths.state.join("dead-ns");
                std::fs::write(&req.attachment.netns, "").expect("netns file");
                w.fake.add_netns(&req.attachment.netns);
                w.engine.cni_add(&req).expect("ADD");
                w.fake.delete_netns(&req.attachment.netns);
                std::fs::remove_file(&req.attachment.netns).expect("netns file");
            },
            run: |w| w.engine.reap_dead().map(drop),
            steps: &["elements", "retire_veth"],
        },
    ];
    v.extend(super::overlay::scenarios());
    v.extend(super::docker::scenarios());
    v
}
