//! Concurrency: many berth processes started at the same instant in one lab
//! (the store serialises them) never share an address, a host port or a
//! subnet, and every container they make works.

mod common;
use common::{B, BERTH};
use std::collections::BTreeSet;

/// Runs `berth ARGS(i)` for every `i` concurrently (one sh script, `&`),
/// and fails with their errors unless every one succeeds.
fn concurrently(b: &B, n: usize, args: impl Fn(usize) -> String) {
    let mut script = String::from("pids=''\n");
    for i in 0..n {
        script.push_str(&format!(
            "{BERTH} {} >/dev/null &\npids=\"$pids $!\"\n",
            args(i)
        ));
    }
    script.push_str(
        "rc=0\nfor p in $pids; do wait $p || { r=$?; echo \"exit status $r\" >&2; rc=1; }; done\nexit $rc\n",
    );
    b.sh(&script);
}

/// `inspect -f TEMPLATE` of many containers at once, one line each.
fn inspect_all(b: &B, template: &str, names: &[String]) -> Vec<String> {
    let out = b.ok(&format!("inspect -f '{template}' {}", names.join(" ")));
    out.lines().map(|l| l.trim().to_string()).collect()
}

#[test]
fn fifty_parallel_runs_get_distinct_reachable_addresses() {
    let b = B::new("par-run");
    b.ok("network create --subnet 10.88.0.0/24 par");
    concurrently(&b, 50, |i| {
        format!("run -d --name c{i} --network par busybox sleep 3600")
    });
    let names: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
    let ips = inspect_all(
        &b,
        "{{(index .NetworkSettings.Networks \"par\").IPAddress}}",
        &names,
    );
    let distinct: BTreeSet<&String> = ips.iter().collect();
    assert_eq!(distinct.len(), 50, "addresses: {ips:?}");
    assert!(ips.iter().all(|ip| ip.starts_with("10.88.0.")), "{ips:?}");
    let pings: String = ips
        .iter()
        .map(|ip| format!("busybox ping -c1 -W2 {ip} >/dev/null || {{ echo {ip}; exit 1; }}\n"))
        .collect();
    b.sh(&pings);
    let running = b.ok("ps --format '{{.Names}}'");
    assert_eq!(running.lines().count(), 50, "{running}");
    let bridge =
        b.ok("network inspect -f '{{index .Options \"com.docker.network.bridge.name\"}}' par");
    let ports = b.sh(&format!("ip -o link show master {} | wc -l", bridge.trim()));
    assert_eq!(ports.trim(), "50", "one veth per container on the bridge");
    // Each `ip netns` name is anchored (a mount-namespace file under the
    // network namespace's, decision 0018), though fifty containers' new
    // mount namespaces were peers of /run/netns for a moment while the
    // names were made: an unanchored pin is copied into every later
    // container's mount namespace, and keeps its namespace alive there.
    let unanchored = b.sh(
        "grep ' /run/netns/c' /proc/self/mountinfo | awk '{print $5}' | sort | uniq -c | awk '$1 == 1 {print $2}'",
    );
    assert_eq!(unanchored.trim(), "", "names pinned without their anchor");
}

#[test]
fn twenty_parallel_published_ports_all_forward() {
    let b = B::new("par-ports");
    b.ok("network create --subnet 10.89.0.0/24 web");
    concurrently(&b, 20, |i| {
        format!(
            "run -d --name w{i} --network web -p {}:80 busybox httpd -f -p 80 -h /etc",
            8100 + i
        )
    });
    let names: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
    let hostnames = inspect_all(&b, "{{.Config.Hostname}}", &names);
    for (i, want) in hostnames.iter().enumerate() {
        let url = format!("http://198.51.100.2:{}/hostname", 8100 + i);
        let got = (0..40)
            .find_map(|_| {
                let out = b.lab.in_ns("outside", &format!("curl -sf -m1 {url}"));
                if out.status.success() {
                    return Some(String::from_utf8_lossy(&out.stdout).trim().to_string());
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
                None
            })
            .unwrap_or_else(|| panic!("{url} does not answer"));
        assert_eq!(&got, want, "port {} reaches the wrong container", 8100 + i);
    }
}

#[test]
fn parallel_network_creates_get_different_subnets() {
    let b = B::new("par-nets");
    b.ok("network ls");
    concurrently(&b, 2, |i| format!("network create n{i}"));
    let subnets: Vec<String> = (0..2)
        .map(|i| {
            b.ok(&format!(
                "network inspect -f '{{{{(index .IPAM.Config 0).Subnet}}}}' n{i}"
            ))
            .trim()
            .to_string()
        })
        .collect();
    assert_ne!(subnets[0], subnets[1]);
    let bridge = b
        .ok("network inspect -f '{{(index .IPAM.Config 0).Subnet}}' bridge")
        .trim()
        .to_string();
    assert!(!subnets.contains(&bridge), "{subnets:?} vs bridge {bridge}");
    // Both work: a container on each reaches the outside.
    b.sleeper("a", "--network n0");
    b.sleeper("z", "--network n1");
    assert!(b.exec_ok("a", "busybox ping -c1 -W2 203.0.113.1"));
    assert!(b.exec_ok("z", "busybox ping -c1 -W2 203.0.113.1"));
}

#[test]
fn parallel_first_commands_set_the_host_up_once() {
    let b = B::new("par-boot");
    concurrently(&b, 10, |i| format!("run -d --name s{i} busybox sleep 3600"));
    let names: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let ips = inspect_all(&b, "{{.NetworkSettings.IPAddress}}", &names);
    assert_eq!(ips.iter().collect::<BTreeSet<_>>().len(), 10, "{ips:?}");
    let nets = b.ok("network ls --format '{{.Name}}'");
    assert_eq!(nets.lines().filter(|n| *n == "bridge").count(), 1, "{nets}");
    let bridges = b.sh("ip -o link show type bridge");
    assert_eq!(bridges.lines().count(), 1, "{bridges}");
    assert!(b.exec_ok("s9", &format!("busybox ping -c1 -W2 {}", ips[0])));
    assert!(b.exec_ok("s0", "busybox ping -c1 -W2 203.0.113.1"));
}

/// Exit codes of `berth ARGS(i)` run concurrently, in order of `i`.
fn racing(b: &B, n: usize, args: impl Fn(usize) -> String) -> Vec<i32> {
    let mut script = String::from("pids=''\n");
    for i in 0..n {
        script.push_str(&format!(
            "{BERTH} {} >/dev/null 2>>$BERTH_ROOT/race.err &\npids=\"$pids $!\"\n",
            args(i)
        ));
    }
    script.push_str("for p in $pids; do wait $p; echo $?; done\n");
    b.sh(&script).lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn parallel_runs_on_one_host_port_one_wins() {
    let b = B::new("par-sameport");
    let codes = racing(&b, 10, |i| {
        format!("run -d --name w{i} -p 8080:80 busybox httpd -f -p 80 -h /etc")
    });
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == 125), "{codes:?}");
    let errors = b.sh("cat $BERTH_ROOT/race.err");
    assert!(errors.lines().all(|l| l.contains("8080")), "{errors}");
    assert_eq!(
        b.ok("ps -a -q").lines().count(),
        1,
        "losers leave no container"
    );
    assert_eq!(b.sh("ls $BERTH_ROOT/run/netns | wc -l").trim(), "1");
    assert_eq!(b.sh("ip -o link show master berth0 | wc -l").trim(), "1");
    // `run -d` returns once httpd is started, not once it listens: a
    // loaded machine (CI) may take a moment more.
    let out = b.lab.in_ns(
        "outside",
        "for i in $(seq 50); do curl -sf -m2 http://198.51.100.2:8080/hostname && exit 0; sleep 0.1; done; exit 1",
    );
    assert!(
        out.status.success(),
        "the winner serves; berth's published ports and the lab's links:\n{}",
        b.sh("nft list map inet berth ports4; ip -o link | cut -c1-80")
    );
}

#[test]
fn run_racing_network_rm_never_strands_a_container() {
    let b = B::new("par-netrm");
    b.ok("network ls");
    for i in 0..20 {
        b.ok("network create --subnet 10.77.0.0/24 n");
        let codes = racing(&b, 2, |j| {
            if j == 0 {
                format!("run -d --name c{i} --network n busybox sleep 3600")
            } else {
                "network rm n".to_string()
            }
        });
        // Exactly one wins: the run (then rm refuses: active endpoints) or
        // the rm (then run refuses: the network is being removed / gone).
        assert!(codes == [0, 1] || codes == [125, 0], "round {i}: {codes:?}");
        let errors = b.sh("cat $BERTH_ROOT/race.err; rm $BERTH_ROOT/race.err");
        // (The rm may also finish before the run looks the network up:
        // `network "n" not found`.)
        assert!(
            errors.contains("active endpoints")
                || errors.contains("network n")
                || errors.contains("network \"n\" not found"),
            "round {i}: {errors}"
        );
        assert!(
            !errors.contains("bridge"),
            "round {i}: a half-removed network: {errors}"
        );
        if codes[0] == 0 {
            assert!(b.exec_ok(&format!("c{i}"), "busybox ping -c1 -W2 10.77.0.1"));
            b.ok(&format!("rm -f c{i}"));
            b.ok("network rm n");
        }
        assert_eq!(b.pending_ops(), 0);
    }
    assert_eq!(b.network_names(), ["bridge", "host", "none"]);
    assert_eq!(b.ok("ps -a -q"), "");
    // `rm -f` leaves the container's namespace, and the veth end in it, to
    // the reaper, which gathers removals for 30 ms (decision 0017): the
    // veths go shortly after, not at once.
    let veths = || {
        b.sh("ip -o link show type veth | grep -c -v uplink || true")
            .trim()
            .to_string()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while veths() != "0" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(veths(), "0");
}
