//! `berth docker-plugin` against the real Docker (Debian's docker.io 20.10)
//! in a lab: networks, containers, published ports, isolation, connect and
//! disconnect, Docker's embedded DNS, what berth shows of it, and cleanup;
//! then dockerd restarted under running containers and the plugin killed
//! with SIGKILL. Few tests, many checks each: dockerd is a heavy peer.

mod common;
mod dockerutil;

use berth_lab::{LAB_V4 as LAB, OUTSIDE_V4};
use dockerutil::{available, Docker};

#[test]
fn docker_runs_its_containers_on_berth() {
    if !available() {
        return;
    }
    let d = Docker::start("dockerplug", "");
    let b = &d.b;
    let net1 = d.ok("network create -d berth --ipam-driver berth --subnet 192.0.2.0/24 net1");
    d.ok("network create -d berth --ipam-driver berth net2");
    // berth sees Docker's networks, and leaves them to Docker.
    let short = &net1.trim()[..12];
    let ls = b.ok("network ls");
    assert!(ls.contains(&format!("docker-{short}")), "{ls}");
    let rm = b.fails(&format!("network rm docker-{short}"));
    assert!(rm.contains("docker network rm"), "{rm}");
    // Options berth does not know are refused by name; nothing is left.
    let bad = d.fails("network create -d berth --ipam-driver berth -o colour=blue net9");
    assert!(bad.contains("colour"), "{bad}");
    assert!(!d.ok("network ls").contains("net9"));

    d.ok("run -d --name web --network net1 -p 8080:80 bb httpd -f -p 80 -h /etc");
    d.ok("run -d --name other --network net1 bb sleep 3600");
    d.ok("run -d --name far --network net2 bb sleep 3600");
    let web = d.ok("inspect -f '{{.Id}}' web");
    // Docker's embedded DNS and the bridge: same network, by name.
    assert_eq!(d.exec("other", "ping -c1 -W2 web"), Some(0));
    let body = d.ok("exec other wget -qO- http://web/hostname");
    assert_eq!(body.trim(), &web.trim()[..12]);
    // The published port, from the outside world and from the host.
    let from_outside = b.sh(&format!(
        "ip netns exec outside curl -s -m 5 http://{LAB}:8080/hostname"
    ));
    assert_eq!(from_outside.trim(), &web.trim()[..12]);
    assert_eq!(
        b.sh("curl -s -m 5 http://127.0.0.1:8080/hostname").trim(),
        &web.trim()[..12]
    );
    // Outbound NAT, and isolation between networks (ping exit 1: dropped).
    assert_eq!(
        d.exec("far", &format!("ping -c1 -W2 {OUTSIDE_V4}")),
        Some(0)
    );
    let web_ip = d.ok("inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' web");
    assert!(web_ip.starts_with("192.0.2."), "{web_ip}");
    assert_eq!(
        d.exec("far", &format!("ping -c1 -W1 {}", web_ip.trim())),
        Some(1)
    );
    // connect / disconnect: a second interface, then gone again.
    d.ok("network connect net2 other");
    assert_eq!(d.exec("other", "ping -c1 -W2 far"), Some(0));
    d.ok("network disconnect net2 other");
    assert!(!d.ok("exec other ip -o link").contains("eth1"));

    // berth shows Docker's containers: ports, veths, no problem.
    let ps = b.ok("ps");
    assert!(
        ps.contains("0.0.0.0:8080->80/tcp") && ps.contains("docker:"),
        "{ps}"
    );
    let topo = b.ok("topology");
    assert!(!topo.contains("missing"), "{topo}");
    assert!(
        topo.contains("192.0.2.2/24") && topo.contains("port 0.0.0.0:8080->80/tcp  forwarded"),
        "{topo}"
    );
    let record = ps
        .split_whitespace()
        .find(|w| w.starts_with("docker:"))
        .unwrap_or("?");
    let rm = b.fails(&format!("rm -f {record}"));
    assert!(rm.contains("docker rm -f"), "{rm}");

    // --internal and enable_icc=false: no way out, no neighbour.
    d.ok("network create -d berth --ipam-driver berth --internal -o com.docker.network.bridge.enable_icc=false quiet");
    d.ok("run -d --name q1 --network quiet bb sleep 3600");
    d.ok("run -d --name q2 --network quiet bb sleep 3600");
    let routes = d.ok("exec q1 ip route");
    assert!(
        routes.contains("dev eth0") && !routes.contains("default"),
        "{routes}"
    );
    assert_eq!(d.exec("q1", "ping -c1 -W1 q2"), Some(1));
    assert_eq!(d.exec("q1", &format!("ping -c1 -W1 {OUTSIDE_V4}")), Some(1));

    // docker rm -f: the port stops answering (refused), nothing is left.
    d.ok("rm -f web");
    let refused = b.lab.sh(&format!("curl -s -m 5 http://{LAB}:8080/"));
    assert_eq!(refused.status.code(), Some(7), "curl after rm -f web");
    d.ok("rm -f other far q1 q2");
    d.ok("network rm net1 net2 quiet");
    assert!(!b.ok("network ls").contains("docker-"));
    assert_eq!(b.ok("ps -a").lines().count(), 1);
    assert_eq!(
        b.sh("ip -o link | grep -cE ': (veth|dk)' || true").trim(),
        "0"
    );
    let pools = b.sh(&format!(
        "sqlite3 {}/berth.db 'SELECT count(*) FROM docker_pools' 2>/dev/null || echo 0",
        b.lab.root().display()
    ));
    assert_eq!(pools.trim(), "0");
}

#[test]
fn docker_and_the_plugin_restart() {
    if !available() {
        return;
    }
    let d = Docker::start("dockerplug-rs", "--live-restore");
    let b = &d.b;
    d.ok("network create -d berth --ipam-driver berth --subnet 192.0.2.0/24 net1");
    d.ok("run -d --name web --network net1 -p 8080:80 bb httpd -f -p 80 -h /etc");
    d.ok("run -d --name other --network net1 bb sleep 3600");
    let get = format!("ip netns exec outside curl -s -m 5 http://{LAB}:8080/hostname");
    let web = d.ok("inspect -f '{{.Id}}' web")[..12].to_string();
    assert_eq!(b.sh(&get).trim(), web);

    // dockerd restarted (live restore): the containers keep their network.
    d.stop_dockerd();
    assert_eq!(b.sh(&get).trim(), web, "while dockerd is down");
    d.start_dockerd("--live-restore");
    assert!(d.ok("network ls").contains("net1"));
    assert_eq!(b.sh(&get).trim(), web);
    assert_eq!(d.exec("other", "ping -c1 -W2 web"), Some(0));

    // The plugin killed with SIGKILL, started again: the next operations work.
    d.kill_plugin();
    d.start_plugin();
    d.ok("run -d --name two --network net1 bb sleep 3600");
    // Killed in the middle of a Join (after the veth, before the commit):
    // the next plugin rolls it back, Docker's retry and its cleanup are
    // answered, and the next `docker run` works.
    if b.ok("system info --format json")
        .contains("\"Failpoints\":true")
    {
        d.kill_plugin();
        d.start_plugin_with("BERTH_FAILPOINT=docker_join:0");
        let run = format!(
            "({} run -d --name crash --network net1 bb sleep 3600 > {dir}/crash.out 2>&1; echo $? > {dir}/crash.rc) > /dev/null 2>&1 &",
            d.docker_cmd(),
            dir = d.dir.display()
        );
        b.sh(&run);
        assert!(d.plugin_gone(), "the failpoint did not kill the plugin");
        d.start_plugin();
        let dir = d.dir.display();
        let done = (0..300).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            b.try_sh(&format!("test -s {dir}/crash.rc"))
        });
        assert!(done, "docker run did not return: {}", d.log("crash.out"));
        // dockerd retries the Join with an empty body (its client's
        // retry loses it): the new plugin refuses that (400), so the run
        // fails, and berth has undone the half-made Join.
        assert!(
            d.log("crash.out").contains("NetworkDriver.Join"),
            "{}",
            d.log("crash.out")
        );
        assert_eq!(b.sh("ip -o link | grep -cE ': dk' || true").trim(), "0");
        d.docker("rm -f crash");
        d.ok("run -d --name crash2 --network net1 bb sleep 3600");
        assert_eq!(d.exec("crash2", "ping -c1 -W2 web"), Some(0));
        d.ok("rm -f crash2");
    }
    // And once more, socket-activated as the systemd units run it.
    d.kill_plugin();
    if d.start_plugin_activated() {
        d.ok("run -d --name three --network net1 bb sleep 3600");
        assert_eq!(d.exec("three", "ping -c1 -W2 two"), Some(0));
        assert!(d.log("plugin.log").contains("the socket passed by systemd"));
        d.ok("rm -f three");
    }
    assert_eq!(d.exec("two", "ping -c1 -W2 web"), Some(0));
    assert_eq!(b.sh(&get).trim(), web);
    let pending = b.sh(&format!(
        "sqlite3 {}/berth.db 'SELECT count(*) FROM ops' 2>/dev/null || echo 0",
        b.lab.root().display()
    ));
    assert_eq!(pending.trim(), "0");

    // Stale requests get the protocol's error, not a crash; unknown
    // methods a 404 (Docker then knows berth does not implement them).
    let ids = format!(
        r#"{{"NetworkID":"{0}","EndpointID":"{0}","SandboxKey":"/x"}}"#,
        "ab".repeat(32)
    );
    let (status, body) = d.post("/NetworkDriver.Join", &ids);
    assert_eq!(status, "500", "{body}");
    assert!(
        body.contains(r#""Err""#) && body.contains("not known"),
        "{body}"
    );
    let (status, _) = d.post("/NetworkDriver.Nonsense", "{}");
    assert_eq!(status, "404");
    let (status, body) = d.post("/NetworkDriver.Leave", "{not json");
    assert_eq!(status, "400", "{body}");
    assert_eq!(d.post("/Plugin.Activate", "").0, "200");

    // Everything goes away through Docker, after all of that.
    d.ok("rm -f web other two");
    d.ok("network rm net1");
    assert!(!b.ok("network ls").contains("docker-"));
    let veths = b.sh("ip -o link | grep -E ': (veth|dk)' || true");
    assert_eq!(
        veths,
        "",
        "leaked veths; plugin log:\n{}\ndockerd log:\n{}",
        d.log("plugin.log"),
        d.log("dockerd.log")
    );
}
