//! Overlay networks on a three-member etcd cluster (real raft) when
//! members die: any one member down, the leader killed in the middle of
//! parallel attaches, quorum lost. Two host labs and their agents; the
//! members run in the underlay lab (see tests/cluster).

mod cluster;
mod common;

use cluster::Cluster;
use std::collections::BTreeMap;

const NET: &str = "--subnet 198.18.0.0/24 ov";

/// `run -d` of `n` containers named `PREFIX1..n` in parallel on host `h`;
/// (name, exit status, stderr) of each.
fn parallel_runs(c: &Cluster, h: usize, prefix: &str, n: usize) -> Vec<(String, bool, String)> {
    let host = c.h(h);
    let dir = host.b.lab.root().join(format!("runs-{prefix}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = format!(
        "cd {d}; for i in $(seq {n}); do ( {berth} run -d --name {prefix}$i --network ov busybox sleep 600 >/dev/null 2>err$i; echo $? > rc$i ) & done; wait",
        d = dir.display(),
        berth = host.command_prefix(),
    );
    host.b.lab.sh_ok(&script);
    (1..=n)
        .map(|i| {
            let rc = std::fs::read_to_string(dir.join(format!("rc{i}"))).unwrap_or_default();
            let err = std::fs::read_to_string(dir.join(format!("err{i}"))).unwrap_or_default();
            (format!("{prefix}{i}"), rc.trim() == "0", err)
        })
        .collect()
}

/// Every container of every host on `ov` with its address; panics on an
/// address held twice.
fn addresses(c: &Cluster) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, h) in c.hosts.iter().enumerate() {
        for name in h.ok("ps -a --format '{{.Names}}'").lines() {
            let ip = h.ip(name, "ov");
            if let Some(other) = seen.insert(ip.clone(), format!("{name}@{i}")) {
                panic!("{ip} is held by {name}@{i} and by {other}");
            }
        }
    }
    seen
}

/// Checks a batch of attaches: each either succeeded (its container runs)
/// or failed cleanly (a clear error, nothing left on its host).
fn succeeded_or_clean(c: &Cluster, h: usize, runs: &[(String, bool, String)]) -> usize {
    let names = c.h(h).ok("ps -a --format '{{.Names}}'");
    let mut ok = 0;
    for (name, success, err) in runs {
        if *success {
            ok += 1;
            assert!(
                names.lines().any(|n| n == name),
                "{name} succeeded but is not there: {names}"
            );
        } else {
            assert!(
                err.contains("cluster store"),
                "{name} failed unclearly: {err}"
            );
            assert!(
                !names.lines().any(|n| n == name),
                "{name} failed but left a container: {names}"
            );
        }
    }
    ok
}

#[test]
fn any_one_member_can_die_and_the_leader_can_die_mid_attach() {
    let mut c = Cluster::with("cf", 2, 3, false);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    c.h(1)
        .ok("run -d --name base --network ov busybox sleep 600");
    let base = c.h(1).ip("base", "ov");
    // Any one member down (first, middle, last in the store's list): new
    // attaches work, and the agents program them on the other host.
    for m in 0..3 {
        c.kill_member(m);
        let name = format!("k{m}");
        c.h(0).ok(&format!(
            "run -d --name {name} --network ov busybox sleep 600"
        ));
        let ip = c.h(0).ip(&name, "ov");
        assert!(
            c.h(1)
                .eventually("base", &format!("busybox ping -c1 -W1 {ip}"), 20),
            "member {m} down: base -> {name} ({ip})\n{}",
            c.h(1).agent_log()
        );
        assert!(c
            .h(0)
            .exec_ok(&name, &format!("busybox ping -c1 -W1 {base}")));
        c.start_member(m);
        c.wait_member(m);
    }

    // The leader killed in the middle of parallel attaches: raft elects
    // another; every attach succeeds or fails cleanly, no address twice.
    let leader = c.leader().expect("a leader");
    let before = count(&c);
    let runs = attaches_while(&c, "a", || {
        wait_for_containers(&c, before + 2);
        c.signal_member(leader);
    });
    c.kill_member(leader);
    let ok = succeeded_or_clean(&c, 0, &runs.0) + succeeded_or_clean(&c, 1, &runs.1);
    assert_eq!(
        ok, 16,
        "with a quorum left, every attach gets through an election: {runs:?}"
    );
    addresses(&c);
    c.start_member(leader);
    c.wait_member(leader);

    // One member down, then the leader killed mid-attach: no quorum is
    // left, so later attaches fail, cleanly; none gets an address twice.
    let first = (leader + 1) % 3;
    c.kill_member(first);
    let leader = c.leader().expect("a leader of two");
    let before = count(&c);
    let runs = attaches_while(&c, "b", || {
        wait_for_containers(&c, before + 2);
        c.signal_member(leader);
    });
    c.kill_member(leader);
    let ok = succeeded_or_clean(&c, 0, &runs.0) + succeeded_or_clean(&c, 1, &runs.1);
    assert!(
        (2..16).contains(&ok),
        "some attaches before, none after: {runs:?}"
    );
    addresses(&c);
    // The quorum back: the agents catch up, new attaches work, and the
    // cluster and the hosts agree on every address.
    c.start_etcd();
    c.h(1)
        .ok("run -d --name after --network ov busybox sleep 600");
    let after = c.h(1).ip("after", "ov");
    assert!(
        c.h(0)
            .eventually("k0", &format!("busybox ping -c1 -W1 {after}"), 20),
        "{}",
        c.h(0).agent_log()
    );
    let live = addresses(&c);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let keys: std::collections::BTreeSet<String> = c
            .keys("/berth/v1/addrs/")
            .iter()
            .filter_map(|k| k.rsplit('/').next().map(String::from))
            .collect();
        let want: std::collections::BTreeSet<String> = live.keys().cloned().collect();
        if keys == want {
            break;
        }
        // Reservations of failed attaches go after their grace time.
        assert!(
            std::time::Instant::now() < deadline,
            "store {keys:?} != hosts {want:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Containers on both hosts.
fn count(c: &Cluster) -> usize {
    c.hosts
        .iter()
        .map(|h| h.ok("ps -a -q").lines().count())
        .sum()
}

/// Waits (up to 60 s) until the hosts hold `n` containers in all.
fn wait_for_containers(c: &Cluster, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(c) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "no attach got through"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// 8 parallel attaches on each host while `during` runs.
type Runs = Vec<(String, bool, String)>;
fn attaches_while(c: &Cluster, prefix: &str, during: impl FnOnce()) -> (Runs, Runs) {
    std::thread::scope(|s| {
        let a = s.spawn(|| parallel_runs(c, 0, &format!("{prefix}x"), 8));
        let b = s.spawn(|| parallel_runs(c, 1, &format!("{prefix}y"), 8));
        during();
        (a.join().expect("host 0"), b.join().expect("host 1"))
    })
}

/// Polls `f` for up to `secs` seconds.
fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    false
}

/// Cuts host `h` off from every etcd member (packets dropped, as on a
/// partitioned network), or reconnects it.
fn partition(c: &Cluster, h: usize, cut: bool) {
    let script = if cut {
        "nft add table inet partition && nft add chain inet partition out '{ type filter hook output priority 0; }' && nft add rule inet partition out ip daddr 192.0.2.1-192.0.2.3 drop"
    } else {
        "nft delete table inet partition"
    };
    c.h(h).b.sh(script);
}

#[test]
fn a_partitioned_host_is_refused_an_address_given_away_and_a_killed_agent_catches_up() {
    let mut c = Cluster::with("cp", 2, 3, false);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    for (h, name) in [(0, "a"), (0, "keep"), (1, "b")] {
        c.h(h).ok(&format!(
            "run -d --name {name} --network ov busybox sleep 600"
        ));
    }
    let (a, keep) = (c.h(0).ip("a", "ov"), c.h(0).ip("keep", "ov"));
    assert!(c
        .h(1)
        .eventually("b", &format!("busybox ping -c1 -W1 {a}"), 20));

    // Host 0 cut off from etcd longer than its lease: its endpoints expire
    // and host 1 is given a's address.
    partition(&c, 0, true);
    let key = |ip: &str| {
        c.keys("/berth/v1/addrs/")
            .iter()
            .any(|k| k.ends_with(&format!("/{ip}")))
    };
    assert!(until(40, || !key(&a)), "host 0's keys expire");
    c.h(1).ok(&format!(
        "run -d --name taker --network ov --ip {a} busybox sleep 600"
    ));
    let taker_mac = c.h(1).ok("exec taker cat /sys/class/net/eth0/address");
    // Back: host 0's endpoints are re-validated by compare-and-swap; keep's
    // address is free and published again, a's is refused and a is cut off.
    partition(&c, 0, false);
    assert!(
        until(30, || c
            .h(0)
            .agent_log()
            .contains(&format!("address {a} of container a"))),
        "{}",
        c.h(0).agent_log()
    );
    assert!(c
        .h(1)
        .eventually("b", &format!("busybox ping -c1 -W1 {keep}"), 20));
    let doctor = c.h(0).berth("doctor");
    let text = common::stdout(&doctor);
    assert!(!doctor.status.success(), "{text}");
    assert!(
        text.contains("cluster-address") && text.contains("berth rm -f a"),
        "{text}"
    );
    // Live once: from host 0, the address now leads to the taker on host 1.
    assert!(
        !c.h(0).exec_ok("a", "busybox ping -c1 -W1 198.18.0.1"),
        "a is cut off"
    );
    let dbg = "bridge fdb show | grep -v permanent; ip neigh; nft list set inet berth vxlan_vteps; ip -br link";
    assert!(
        c.h(0)
            .eventually("keep", &format!("busybox ping -c1 -W1 {a}"), 20),
        "h0: {}\nh1: {}\n{}",
        c.h(0).b.sh(dbg),
        c.h(1).b.sh(dbg),
        c.h(0).agent_log()
    );
    let neigh = c.h(0).ok(&format!("exec keep busybox ip neigh show {a}"));
    assert!(
        neigh.contains(taker_mac.trim()),
        "{neigh} is the taker's ({taker_mac})"
    );
    let holder = c.etcdctl(&format!(
        "get --print-value-only /berth/v1/addrs/{}/{a}",
        net_id(&c)
    ));
    assert!(holder.contains(&c.h(1).ip), "{holder}");
    // The operator removes a: the conflict is over.
    c.h(0).ok("rm -f a");
    assert!(until(20, || !c
        .h(0)
        .ok("doctor --format json")
        .contains("cluster-address")));

    // The agent of host 1 killed (-9) while host 0 changes: restarted, it
    // catches up from the store, and entries that did not change are
    // never removed and re-added (no flapping of the data path).
    c.hosts[1].kill_agent();
    c.h(0)
        .ok("run -d --name late --network ov busybox sleep 600");
    let late = c.h(0).ip("late", "ov");
    let monitor = c.h(1).b.lab.root().join("monitor.log");
    let mut mon = c
        .h(1)
        .b
        .lab
        .command("sh")
        .arg("-c")
        .arg(format!("exec ip monitor neigh > {}", monitor.display()))
        .spawn()
        .expect("ip monitor");
    std::thread::sleep(std::time::Duration::from_millis(300));
    c.hosts[1].start_agent();
    assert!(c
        .h(1)
        .eventually("b", &format!("busybox ping -c1 -W1 {late}"), 20));
    let _ = mon.kill();
    let _ = mon.wait();
    let seen = std::fs::read_to_string(&monitor).unwrap_or_default();
    assert!(
        seen.contains(&late),
        "the monitor saw the new entry: {seen}"
    );
    assert!(
        !seen.contains(&format!("{keep} ")),
        "keep's entry flapped: {seen}\n{}",
        c.h(1).agent_log()
    );
    assert!(c.h(1).exec_ok("b", &format!("busybox ping -c1 -W1 {keep}")));
}

/// The overlay network's id.
fn net_id(c: &Cluster) -> String {
    c.h(0)
        .ok("network inspect -f '{{.Id}}' ov")
        .trim()
        .to_string()
}
