//! Issue 14's flags through the engine and the fake kernel: gateway modes,
//! `-P`/`--expose`, `gw-priority`, endpoint driver options, `--sysctl`.

use super::harness::World;
use crate::model::{parse_publish, ContainerConfig, Exposed, NetworkAttach, NetworkCreate, Proto};

/// `network create --subnet SUBNET -o KEY=VALUE... NAME`.
fn network(w: &mut World, name: &str, subnet: &str, opts: &[&str]) {
    let req = NetworkCreate {
        name: name.into(),
        subnets: vec![subnet.into()],
        options: opts.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    w.engine.create_network(&req).expect("network create");
}

fn attach(net: &str) -> NetworkAttach {
    NetworkAttach {
        network: net.into(),
        ..Default::default()
    }
}

fn run(w: &mut World, name: &str, config: ContainerConfig) -> crate::model::Container {
    let config = ContainerConfig {
        argv: vec!["httpd".into()],
        ..config
    };
    w.engine
        .create_container(Some(name), config)
        .expect("create")
        .container
}

/// The elements of `set`, as nft writes them.
fn elements(w: &World, set: &str) -> Vec<String> {
    w.fake
        .objects()
        .elements
        .iter()
        .filter(|e| e.set.name() == set)
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn a_routed_network_opens_published_ports_at_the_container_s_address() {
    let mut w = World::new();
    network(
        &mut w,
        "rt",
        "192.0.2.0/24",
        &["com.docker.network.bridge.gateway_mode_ipv4=routed"],
    );
    network(&mut w, "nat", "198.51.100.0/24", &[]);
    let config = ContainerConfig {
        networks: vec![attach("rt")],
        publish: vec![
            parse_publish("8080:80").unwrap(),
            parse_publish("127.0.0.1:8081:80").unwrap(),
            parse_publish("90-92:90-92/udp").unwrap(),
        ],
        ..Default::default()
    };
    run(&mut w, "web", config);
    let open = elements(&w, "open4");
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(
        open.iter()
            .any(|e| e.contains("192.0.2.2") && e.contains("tcp") && e.contains("80")),
        "{open:?}"
    );
    assert!(
        open.iter()
            .any(|e| e.contains("udp") && e.contains("90-92")),
        "{open:?}"
    );
    assert_eq!(elements(&w, "routed4").len(), 1);
    // The NAT network's containers get no open ports.
    let config = ContainerConfig {
        networks: vec![attach("nat")],
        publish: vec![parse_publish("9090:80").unwrap()],
        ..Default::default()
    };
    run(&mut w, "other", config);
    assert_eq!(elements(&w, "open4").len(), 2);
    w.engine.remove_container("web", true).expect("rm");
    assert!(elements(&w, "open4").is_empty());
}

#[test]
fn isolated_and_inhibit_ipv4_leave_the_bridge_without_an_address() {
    let mut w = World::new();
    let req = NetworkCreate {
        name: "iso".into(),
        subnets: vec!["192.0.2.0/24".into()],
        options: vec!["com.docker.network.bridge.gateway_mode_ipv4=isolated".into()],
        internal: true,
        ..Default::default()
    };
    let iso = w.engine.create_network(&req).expect("isolated");
    network(
        &mut w,
        "inh",
        "198.51.100.0/24",
        &["com.docker.network.bridge.inhibit_ipv4=true"],
    );
    network(&mut w, "plain", "203.0.113.0/24", &[]);
    let steps = |w: &mut World, n: &str| {
        let net = w.engine.network(n).expect("network");
        format!(
            "{:?}",
            crate::drivers::bridge::bridge_steps(&net, Vec::new())
        )
    };
    let plain = steps(&mut w, "plain");
    assert!(plain.contains("203.0.113.1/24"), "{plain}");
    let s = steps(&mut w, &iso.name);
    assert!(!s.contains("192.0.2.1"), "{s}");
    let s = steps(&mut w, "inh");
    assert!(!s.contains("198.51.100.1"), "{s}");
    // Isolated without --internal is refused, naming the fix.
    let req = NetworkCreate {
        name: "iso2".into(),
        options: vec!["com.docker.network.bridge.gateway_mode_ipv4=isolated".into()],
        ..Default::default()
    };
    let e = w.engine.create_network(&req).unwrap_err().to_string();
    assert!(e.contains("--internal"), "{e}");
    let req = NetworkCreate {
        name: "bad".into(),
        options: vec!["com.docker.network.bridge.gateway_mode_ipv6=open".into()],
        ..Default::default()
    };
    let e = w.engine.create_network(&req).unwrap_err().to_string();
    assert!(e.contains("unknown gateway mode open"), "{e}");
    // A container on the isolated network gets no default route.
    let config = ContainerConfig {
        networks: vec![attach(&iso.name)],
        ..Default::default()
    };
    let c = run(&mut w, "c", config);
    let (eps, nets) = w
        .engine
        .store
        .read(|tx| tx.container_attachments(&c.id))
        .expect("attachments");
    let veth =
        super::super::container::veth_step(std::path::Path::new("/x"), &eps[0], &nets[0], true);
    let v = format!("{veth:?}");
    assert!(v.contains("gateways: []"), "{v}");
    // On the inhibit_ipv4 network the gateway stays the containers' route.
    let config = ContainerConfig {
        networks: vec![attach("inh")],
        ..Default::default()
    };
    let c = run(&mut w, "d", config);
    let (eps, nets) = w
        .engine
        .store
        .read(|tx| tx.container_attachments(&c.id))
        .expect("attachments");
    let veth =
        super::super::container::veth_step(std::path::Path::new("/x"), &eps[0], &nets[0], true);
    let v = format!("{veth:?}");
    assert!(v.contains("gateways: [198.51.100.1]"), "{v}");
}

#[test]
fn publish_all_gives_each_exposed_port_a_host_port() {
    let mut w = World::new();
    network(&mut w, "app", "192.0.2.0/24", &[]);
    let config = ContainerConfig {
        networks: vec![attach("app")],
        expose: vec![
            Exposed {
                first: 80,
                last: 80,
                proto: Proto::Tcp,
            },
            Exposed {
                first: 53,
                last: 54,
                proto: Proto::Udp,
            },
        ],
        publish: vec![parse_publish("8080:80").unwrap()],
        publish_all: true,
        ..Default::default()
    };
    let c = run(&mut w, "web", config);
    // 80/tcp keeps its -p; 53/udp and 54/udp get ephemeral ports.
    assert_eq!(c.ports.len(), 3, "{:?}", c.ports);
    assert!(c
        .ports
        .iter()
        .any(|b| b.container_port == 80 && b.host_port == 8080));
    for port in [53, 54] {
        let b = c
            .ports
            .iter()
            .find(|b| b.container_port == port)
            .expect("bound");
        assert_eq!(b.proto, Proto::Udp);
        assert!(b.host_port >= 32768, "{b:?}");
    }
    // Without -P, --expose publishes nothing.
    let config = ContainerConfig {
        networks: vec![attach("app")],
        expose: vec![Exposed {
            first: 80,
            last: 80,
            proto: Proto::Tcp,
        }],
        ..Default::default()
    };
    assert!(run(&mut w, "quiet", config).ports.is_empty());
}

#[test]
fn gw_priority_moves_the_default_route_and_the_ports() {
    let mut w = World::new();
    network(&mut w, "a", "192.0.2.0/24", &[]);
    network(&mut w, "b", "198.51.100.0/24", &[]);
    let config = ContainerConfig {
        networks: vec![
            attach("a"),
            NetworkAttach {
                gw_priority: 5,
                ..attach("b")
            },
        ],
        publish: vec![parse_publish("8080:80").unwrap()],
        ..Default::default()
    };
    run(&mut w, "web", config);
    let ports = elements(&w, "ports4");
    assert!(
        ports.iter().all(|e| e.contains("198.51.100.2")),
        "{ports:?}"
    );
    assert_eq!(ports.len(), 1, "{ports:?}");
}

#[test]
fn endpoint_options_name_the_interface_and_set_its_sysctls() {
    let mut w = World::new();
    network(&mut w, "a", "192.0.2.0/24", &[]);
    network(
        &mut w,
        "b",
        "198.51.100.0/24",
        &["com.docker.network.container_iface_prefix=lan"],
    );
    let mut first = attach("a");
    first.driver_opts.insert(
        crate::model::netopt::ENDPOINT_IFNAME.into(),
        "uplink".into(),
    );
    first.driver_opts.insert(
        crate::model::netopt::ENDPOINT_SYSCTLS.into(),
        "net.ipv4.conf.IFNAME.log_martians=1".into(),
    );
    let config = ContainerConfig {
        networks: vec![first, attach("b")],
        sysctls: [("net.ipv4.ip_forward".to_string(), "1".to_string())].into(),
        ..Default::default()
    };
    let c = run(&mut w, "web", config);
    let eps = w.engine.endpoints(&c.id).expect("endpoints");
    let names: Vec<&str> = eps.iter().map(|e| e.ifname.as_str()).collect();
    assert_eq!(names, ["uplink", "lan0"]);
    let sysctls = w.fake.objects().sysctls;
    let mine: Vec<_> = sysctls
        .iter()
        .filter(|(k, _)| k.contains(&c.id))
        .map(|(k, v)| {
            (
                k.rsplit(':').next().unwrap_or_default().to_string(),
                v.clone(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            (
                "net.ipv4.conf.uplink.log_martians".to_string(),
                "1".to_string()
            ),
            ("net.ipv4.ip_forward".to_string(), "1".to_string())
        ]
    );
    assert!(w.fake.steps().contains(&"netns_sysctls".to_string()));
}

#[test]
fn a_shared_namespace_is_unpinned_not_removed_while_it_is_shared() {
    let mut w = World::new();
    network(&mut w, "app", "192.0.2.0/24", &[]);
    let config = ContainerConfig {
        networks: vec![attach("app")],
        ..Default::default()
    };
    let web = run(&mut w, "web", config);
    let pid = w.fake.spawn();
    w.engine.mark_running(&web.id, pid, None).expect("running");
    w.fake.clear_log();
    let config = ContainerConfig {
        net_container: Some("web".into()),
        ..Default::default()
    };
    let side = run(&mut w, "side", config);
    assert!(w.fake.steps().is_empty(), "{:?}", w.fake.steps());
    assert_eq!(side.config.net_container.as_deref(), Some(web.id.as_str()));
    assert_eq!(side.config.hostname, web.config.hostname);
    let spec = w.engine.start_spec(&side).expect("spec");
    assert_eq!(spec.netns, Some(w.engine.paths.netns(&web.id)));
    let pid = w.fake.spawn();
    w.engine.mark_running(&side.id, pid, None).expect("running");
    w.fake.clear_log();
    w.engine.mark_exited(&web.id, Some(0)).expect("stop web");
    let steps = w.fake.steps();
    assert!(steps.contains(&"unpin_netns".to_string()), "{steps:?}");
    assert!(!steps.contains(&"remove_netns".to_string()), "{steps:?}");
    // Alone again, it is removed as usual; joining a stopped one fails.
    w.engine.mark_exited(&side.id, Some(0)).expect("stop side");
    let config = ContainerConfig {
        net_container: Some("web".into()),
        ..Default::default()
    };
    let e = w.engine.create_container(
        Some("late"),
        ContainerConfig {
            argv: vec!["sh".into()],
            ..config
        },
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("non-running container: web"));
}
