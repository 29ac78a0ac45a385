//! Self-tests of the lab harness: the world answers, teardown leaves nothing
//! behind on the host, processes die with the lab, labs are independent.

use std::time::{Duration, Instant};

use berth_lab::{host_state, Lab, LabError, INTERNET_V4, INTERNET_V6, OUTSIDE_V4, OUTSIDE_V6};
use serde_json::Value;

/// Parses JSON printed by a script.
fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn world_answers_pings() {
    let lab = Lab::new("pings").expect("lab");
    for addr in [OUTSIDE_V4, INTERNET_V4, OUTSIDE_V6, INTERNET_V6] {
        lab.sh_ok(&format!("busybox ping -c1 -W2 {addr}"));
    }
    // The uplink is where it should be, with its addresses.
    let addrs = json(&lab.sh_ok("ip -j addr show dev uplink"));
    let locals: Vec<&str> = addrs[0]["addr_info"]
        .as_array()
        .expect("addr_info")
        .iter()
        .filter_map(|a| a["local"].as_str())
        .collect();
    assert!(locals.contains(&"198.51.100.2"), "{locals:?}");
    assert!(locals.contains(&"2001:db8:1::2"), "{locals:?}");
    // The lab's /run is its own: `outside` is there, not on the host.
    assert_eq!(lab.sh_ok("ip netns ls | cut -d' ' -f1").trim(), "outside");
    assert!(!std::path::Path::new("/run/netns/outside").exists());
}

#[test]
fn outside_cannot_reach_unknown_subnets() {
    let lab = Lab::new("noroute").expect("lab");
    let routes = json(&lab.in_ns_ok("outside", "ip -j route"));
    let dsts: Vec<&str> = routes
        .as_array()
        .expect("routes")
        .iter()
        .filter_map(|r| r["dst"].as_str())
        .collect();
    assert_eq!(dsts, ["198.51.100.0/24"]);
}

#[test]
fn teardown_leaves_nothing_on_the_host() {
    let before = host_state().expect("host state");
    {
        let lab = Lab::new("leak").expect("lab");
        lab.add_host("nb", &["198.51.100.3/24"]).expect("host");
        lab.sh_ok("ip netns add extra && ip link add br-x type bridge");
        assert_eq!(host_state().expect("host state"), before);
    }
    assert_eq!(host_state().expect("host state"), before);
}

#[test]
fn processes_die_with_the_lab() {
    let lab = Lab::new("procs").expect("lab");
    let mut child = lab.command("sleep").arg("1000").spawn().expect("spawn");
    // A daemon reparented away from us, in the outside namespace. Its PID
    // in the lab means nothing here: find it by its unique command line.
    lab.in_ns_ok("outside", "sleep 1001 >/dev/null 2>&1 &");
    let pid = host_pid_of(&lab, "sleep 1001");
    let inside = lab.processes();
    assert!(
        inside.contains(&child.id()) && inside.contains(&pid),
        "{inside:?}"
    );
    drop(lab);
    let status = child.wait().expect("wait");
    assert!(!status.success());
    wait_gone(pid);
}

/// The PID (as this process sees it) of the lab's process whose command
/// line is `cmdline`; panics unless there is exactly one.
fn host_pid_of(lab: &Lab, cmdline: &str) -> u32 {
    let found: Vec<u32> = lab
        .processes()
        .into_iter()
        .filter(|p| {
            let raw = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&raw).replace('\0', " ").trim() == cmdline
        })
        .collect();
    assert_eq!(found.len(), 1, "processes {cmdline:?}: {found:?}");
    found[0]
}

/// PIDs (as this process sees them) of every process whose command line is
/// `cmdline`, on the whole machine.
fn pids_named(cmdline: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let raw = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&raw).replace('\0', " ").trim() == cmdline
        })
        .collect()
}

/// Waits up to 2 s for `pid` to be gone (or a zombie, which holds no
/// namespace); panics otherwise.
fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        if stat.is_empty() || state.starts_with('Z') {
            break;
        }
        assert!(Instant::now() < deadline, "daemon {pid} survived: {stat}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn parallel_labs_are_independent() {
    let a = std::thread::spawn(|| Lab::bare("par-a").expect("lab a"));
    let b = Lab::bare("par-b").expect("lab b");
    let a = a.join().expect("thread");
    assert_ne!(a.net_id(), b.net_id());
    a.sh_ok("ip link add only-a type bridge");
    b.sh_ok("ip link add only-b type bridge");
    assert!(!a.sh("ip link show only-b").status.success());
    assert!(!b.sh("ip link show only-a").status.success());
    // The lab's /sys belongs to the lab.
    assert_eq!(
        a.sh_ok("ls /sys/class/net | sort")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["lo", "only-a"]
    );
}

#[test]
fn commands_run_with_berth_root_and_cwd() {
    let lab = Lab::bare("env").expect("lab");
    let out = lab.sh_ok("echo $BERTH_ROOT; echo $BERTH_LAB; pwd");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], lab.root().to_str().expect("utf8"));
    assert_eq!(lines[1], "env");
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(lines[2], cwd.to_str().expect("utf8"));
    assert!(lab.root().is_dir());
    let root = lab.root().to_path_buf();
    drop(lab);
    assert!(!root.exists());
}

#[test]
fn snapshot_sees_changes_and_only_changes() {
    let lab = Lab::new("snap").expect("lab");
    // iptables-nft creates its table and chains on first use: do that first.
    lab.sh_ok("busybox ping -c1 -W2 198.51.100.1 && iptables -A INPUT -j ACCEPT && iptables -D INPUT -j ACCEPT");
    let before = lab.snapshot().expect("snapshot");
    lab.sh_ok("ip link add tmp0 type bridge && iptables -A INPUT -j ACCEPT");
    let during = lab.snapshot().expect("snapshot");
    assert_ne!(before, during);
    assert!(
        before.diff(&during).contains("tmp0"),
        "{}",
        before.diff(&during)
    );
    lab.sh_ok(
        "ip link del tmp0 && iptables -D INPUT -j ACCEPT && busybox ping -c1 -W2 198.51.100.1",
    );
    before.assert_same(&lab.snapshot().expect("snapshot"));
}

#[test]
fn neighbour_reaches_the_lab_directly() {
    let lab = Lab::new("lan").expect("lab");
    lab.add_host("neighbour", &["198.51.100.3/24", "2001:db8:1::3/64"])
        .expect("neighbour");
    lab.in_ns_ok(
        "neighbour",
        "busybox ping -c1 -W2 198.51.100.2 && busybox ping -c1 -W2 2001:db8:1::2",
    );
    lab.in_ns_ok("neighbour", "busybox ping -c1 -W2 203.0.113.1");
    lab.sh_ok("busybox ping -c1 -W2 198.51.100.3 && busybox ping -c1 -W2 198.51.100.1");
    // The lab itself reaches the neighbour's MAC directly, not via outside.
    let neigh = json(&lab.sh_ok("ip -j neigh show 198.51.100.3"));
    assert_eq!(neigh[0]["dev"], "uplink");
}

#[test]
fn docker_like_firewall_blocks_forwarding() {
    let lab = Lab::new("docker").expect("lab");
    lab.docker_like_firewall().expect("firewall");
    let rules = lab.sh_ok("iptables -S FORWARD");
    assert!(rules.contains("-P FORWARD DROP"), "{rules}");
    assert!(rules.contains("-A FORWARD -j DOCKER-USER"), "{rules}");
    assert!(lab
        .sh_ok("ip6tables -S FORWARD")
        .contains("-P FORWARD DROP"));
    assert!(lab
        .sh_ok("iptables -t nat -S POSTROUTING")
        .contains("172.17.0.0/16"));
    assert_eq!(
        lab.sh_ok("cat /proc/sys/net/bridge/bridge-nf-call-iptables")
            .trim(),
        "1"
    );
}

#[test]
fn failures_are_reported_readably() {
    let lab = Lab::bare("errors").expect("lab");
    let out = lab.sh("echo out; echo err >&2; exit 3");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stderr, b"err\n");
    let panic = std::panic::catch_unwind(|| lab.sh_ok("echo visible-out; false"));
    let msg = panic.expect_err("must panic");
    let msg = msg.downcast_ref::<String>().expect("string");
    assert!(
        msg.contains("visible-out") && msg.contains("false"),
        "{msg}"
    );
    assert!(matches!(lab.add_host("h", &[]), Err(LabError::Bare(_))));
    assert!(matches!(
        Lab::bare("bad name"),
        Err(LabError::InvalidName { .. })
    ));
    // A background daemon holding the output pipe does not hang `sh`.
    let start = Instant::now();
    lab.sh_ok("sleep 100 &");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn calling_process_stays_on_the_host() {
    let before = std::fs::read_link("/proc/self/ns/net").expect("ns");
    let _lab = Lab::bare("self").expect("lab");
    assert_eq!(std::fs::read_link("/proc/self/ns/net").expect("ns"), before);
    assert!(berth_lab::assert_not_host_netns().is_err());
    run_helper_in(&_lab, "probe_inside_lab");
}

/// Set by tests that re-run this binary for one of the helper tests below.
const HELPER: &str = "BERTH_LAB_TEST_HELPER";

/// Runs the ignored helper test `name` of this binary inside `lab` and
/// checks that it ran and passed (a renamed helper would run 0 tests).
fn run_helper_in(lab: &Lab, name: &str) {
    let mut cmd = lab.command(std::env::current_exe().expect("exe"));
    cmd.args(["--exact", name, "--ignored", "--nocapture"]);
    cmd.env(HELPER, "1");
    let out = cmd.output().expect("run the helper test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "helper {name}: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the ignored helper test `name` of this binary, with `HELPER` set.
fn helper(name: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("exe"));
    cmd.args(["--exact", name, "--ignored", "--nocapture", "--quiet"]);
    cmd.env(HELPER, "1");
    cmd
}

#[test]
fn holder_exits_when_its_owner_is_killed() {
    use std::io::BufRead;
    let mut owner = helper("owner_that_gets_killed")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn owner");
    let mut lines = std::io::BufReader::new(owner.stdout.take().expect("stdout")).lines();
    let (holder, root): (u32, String) = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            let (pid, root) = l.trim().strip_prefix("holder=")?.split_once(" root=")?;
            Some((pid.parse().ok()?, root.to_string()))
        })
        .expect("owner printed its holder's PID and root");
    owner.kill().expect("kill owner");
    owner.wait().expect("wait owner");
    wait_gone(holder);
    // A killed owner cannot remove its lab's temp dir: we do.
    assert!(root.contains("berth-lab-owner-"), "{root}");
    std::fs::remove_dir_all(&root).expect("remove the owner's root");
}

/// Helper of `holder_exits_when_its_owner_is_killed`: makes a lab, prints its
/// holder's PID and waits to be killed.
#[test]
#[ignore = "helper run by another test"]
fn owner_that_gets_killed() {
    if std::env::var_os(HELPER).is_none() {
        return;
    }
    let lab = Lab::new("owner").expect("lab");
    println!("holder={} root={}", lab.holder_pid(), lab.root().display());
    std::thread::sleep(Duration::from_secs(20));
}

/// Helper of `calling_process_stays_on_the_host`, run inside a lab.
#[test]
#[ignore = "helper run by another test"]
fn probe_inside_lab() {
    if std::env::var_os(HELPER).is_none() {
        return;
    }
    assert!(berth_lab::inside_lab());
    berth_lab::assert_not_host_netns().expect("inside a lab");
}

#[test]
fn run_in_bare_lab_runs_a_program_and_cleans_up() {
    let before = host_state().expect("host state");
    let marker = format!("sleep 1000.{}", std::process::id());
    let script = format!(
        "test \"$(ls /sys/class/net)\" = lo && ip netns add x && test -d \"$BERTH_ROOT\" || exit 1
         test \"$(cat /proc/1/comm)\" = berth-lab-init || exit 2
         {marker} >/dev/null 2>&1 &
         exit 7"
    );
    let status = berth_lab::run_in_bare_lab("tour-test", &["sh", "-c", &script]).expect("run");
    assert_eq!(status.code(), Some(7));
    assert_eq!(host_state().expect("host state"), before);
    assert!(
        pids_named(&marker).is_empty(),
        "the daemon outlived its lab"
    );
    assert!(berth_lab::run_in_bare_lab::<&str>("empty", &[]).is_err());
}

#[test]
fn forwarders_relay_signals_and_exit_statuses() {
    let lab = Lab::bare("fwd").expect("lab");
    let status = lab.command("sh").args(["-c", "exit 3"]).status();
    assert_eq!(status.expect("status").code(), Some(3));
    // A signal sent to the child (the forwarder) reaches the program, and
    // the caller sees the program's death by that signal.
    let mut child = lab
        .command("sh")
        .args(["-c", "trap 'exit 42' TERM; sleep 1000 & wait"])
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    assert_eq!(child.wait().expect("wait").code(), Some(42));
    use std::os::unix::process::ExitStatusExt;
    let mut child = lab.command("sleep").arg("1002").spawn().expect("spawn");
    let program = host_pid_of(&lab, "sleep 1002");
    assert_ne!(program, child.id(), "the program runs under a forwarder");
    child.kill().expect("kill");
    assert_eq!(child.wait().expect("wait").signal(), Some(9));
    wait_gone(program);
    // A program that cannot start is an error of `spawn`, as without a lab.
    let err = lab.command("/nonexistent/program").status();
    assert_eq!(
        err.expect_err("spawn fails").kind(),
        std::io::ErrorKind::NotFound
    );
}

/// A process in a network namespace pinned outside a lab (here: in an outer
/// lab, whose `/run/netns` the inner lab's mount namespace inherits, as a
/// lab made on a host inherits the host's) is not the lab's: a lab made
/// there and dropped leaves it alone.
#[test]
fn labs_spare_processes_of_namespaces_pinned_outside_them() {
    let outer = Lab::bare("spare-out").expect("lab");
    outer.sh_ok("ip netns add victim; ip netns exec victim sleep 1003 >/dev/null 2>&1 &");
    let victims = || outer.sh_ok("ip netns pids victim").lines().count();
    assert!((0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        victims() == 1
    }));
    run_helper_in(&outer, "inner_lab_comes_and_goes");
    assert_eq!(
        victims(),
        1,
        "the inner lab killed a process that was not its own"
    );
}

/// Helper of `labs_spare_processes_of_namespaces_pinned_outside_them`: a
/// lab with a world and a daemon, made and dropped.
#[test]
#[ignore = "helper run by another test"]
fn inner_lab_comes_and_goes() {
    if std::env::var_os(HELPER).is_none() {
        return;
    }
    berth_lab::assert_not_host_netns().expect("inside the outer lab");
    let lab = Lab::new("inner").expect("lab");
    lab.in_ns_ok("outside", "sleep 1004 >/dev/null 2>&1 &");
    assert_eq!(lab.processes().len(), 1);
    drop(lab);
    assert!(pids_named("sleep 1004").is_empty());
}
