//! A container's processes and its supervisor: a supervisor killed between
//! starting the container's PID 1 and recording it (failpoints
//! `supervise:forked`, `supervise:recorded`, `supervise:started`) leaves no
//! process, no veth and no address in use once `berth run` has reported the
//! failure; and `rm -f` ends every process of a container's namespace,
//! recorded or not.

mod common;
use common::{Kernel, B, BERTH};

/// What a failed `run` must leave: the container recorded as exited, no
/// process of it, and after `rm -f` the lab as before.
fn nothing_runs(b: &B, base: &Kernel, what: &str) {
    let status = common::undated(&b.ok("ps -a --format '{{.Names}} {{.Status}}'"));
    assert_eq!(status.trim(), "x Exited (125)", "{what}");
    // berth's resolver may still be there (it leaves 1 s after its last
    // name: see Lab::command), and so may the reaper of the veth the
    // failed start retired (it leaves 1 s after its last work: see
    // kernel::reaper); the container's own processes may not. The
    // settle below waits for both to leave.
    let not_dns = |p: &Vec<String>| -> Vec<String> {
        p.iter()
            .filter(|c| {
                !c.ends_with(" __dns") && !c.ends_with(" __dns --child") && !c.contains(" __reap")
            })
            .cloned()
            .collect()
    };
    assert_eq!(
        not_dns(&Kernel::read(b).processes),
        not_dns(&base.processes),
        "{what}: the container's process survived its failed start"
    );
    b.ok("rm -f x");
    b.settles_to(base, what);
    // The address went back to the pool and nobody else uses it: a new
    // container gets it and the gateway answers it.
    b.ok("run -d --name y --network appnet --ip 192.0.2.2 busybox sleep 3600");
    assert!(b.exec_ok("y", "busybox ping -c1 -W2 192.0.2.1"), "{what}");
    b.ok("rm -f y");
    b.settles_to(base, &format!("{what}, then run and rm -f"));
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn a_supervisor_killed_while_starting_leaves_nothing_running() {
    let b = B::new("sup-kill");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    for step in ["forked", "recorded", "started"] {
        let out = b.lab.sh(&format!(
            "BERTH_FAILPOINT=supervise:{step} {BERTH} run -d --name x --network appnet --ip 192.0.2.2 busybox sleep 3600"
        ));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "supervise:{step}: {err}");
        assert!(
            err.contains("supervisor exited before starting it"),
            "supervise:{step}: {err}"
        );
        nothing_runs(&b, &base, &format!("supervisor killed at supervise:{step}"));
    }
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn rm_f_ends_every_process_in_the_containers_namespace() {
    let b = B::new("sup-rmf");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    // `run` killed once the container and its network exist: no process,
    // no supervisor. Then a process nobody recorded joins its namespace
    // (what a supervisor killed before recording used to leave).
    let out = b.lab.sh(&format!(
        "BERTH_FAILPOINT=run:created exec {BERTH} run -d --name x --network appnet busybox sleep 3600"
    ));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9)
    );
    let id = b.ok("ps -a -q --no-trunc").trim().to_string();
    b.sh(&format!(
        "nsenter --net=$BERTH_ROOT/run/netns/{id} busybox sleep 3601 </dev/null >/dev/null 2>&1 &"
    ));
    assert!(b.eventually("pgrep -f 'sleep 360[1]'"));
    // It holds the namespace: the veth is up, with the address.
    assert!(b.try_sh(&format!(
        "nsenter --net=$BERTH_ROOT/run/netns/{id} ip -br addr show eth0 | grep -q 192.0.2.2"
    )));
    b.ok("rm -f x");
    assert!(
        !b.try_sh("pgrep -f 'sleep 360[1]'"),
        "rm -f left the process"
    );
    b.settles_to(&base, "rm -f of a container with an unrecorded process");
    // A running container: its supervisor ends what is left in the
    // namespace once it has recorded the exit.
    let id = b.sleeper("y", "--network appnet");
    b.sh(&format!(
        "nsenter --net=$BERTH_ROOT/run/netns/{id} busybox sleep 3602 </dev/null >/dev/null 2>&1 &"
    ));
    assert!(b.eventually("pgrep -f 'sleep 360[2]'"));
    b.ok("rm -f y");
    assert!(
        b.eventually("! pgrep -f 'sleep 360[2]'"),
        "the process outlived its container"
    );
    b.settles_to(&base, "rm -f of a running container with an extra process");
}

#[test]
fn stop_and_start_keep_working_with_recorded_processes() {
    // The pid is recorded before the command runs: `ps` shows it running
    // right after `run -d`, `exec` reaches it, `stop` ends it.
    let b = B::new("sup-plain");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    b.sleeper("x", "--network appnet");
    let pid = b.ok("inspect -f '{{.State.Pid}}' x").trim().to_string();
    assert!(b.try_sh(&format!("test -d /proc/{pid}")), "pid {pid}");
    assert!(b.exec_ok("x", "busybox true"));
    b.ok("stop -t 0 x");
    assert!(
        !b.try_sh(&format!("test -d /proc/{pid}")),
        "pid {pid} alive"
    );
    b.ok("start x");
    assert!(b.exec_ok("x", "busybox ping -c1 -W2 192.0.2.1"));
    // A command that does not exist: recorded, then reported (127).
    let out = b.berth("run -d --name nf --network appnet busybox-nope");
    assert_eq!(out.status.code(), Some(127));
    b.ok("rm -f x nf");
    b.settles_to(&base, "after rm -f");
}

/// While its container runs, a supervisor holds nothing of the store (its
/// memory is the same whatever the store holds: issue 13, goal 6): no
/// open database file, no mapping of its shared index; the exit is still
/// recorded (the store is opened again then).
#[test]
fn a_waiting_supervisor_keeps_the_store_closed() {
    let b = B::new("sup-store");
    b.sleeper("c", "");
    let sup = b.sh(
        "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '__superv[i]se [0-9a-f]' && basename $p; done; true",
    );
    let sup = sup.trim();
    assert!(
        !sup.is_empty() && !sup.contains('\n'),
        "one supervisor: {sup:?}"
    );
    let fds = b.sh(&format!("ls -l /proc/{sup}/fd"));
    assert!(fds.contains("log") || fds.contains("pipe"), "{fds}");
    assert!(!fds.contains("berth.db"), "{fds}");
    let maps = b.sh(&format!("cat /proc/{sup}/maps"));
    assert!(!maps.contains("berth.db"), "{maps}");
    // Its container's exit is recorded all the same.
    b.ok("stop -t 1 c");
    let state = b.ok("inspect -f '{{.State.Status}}' c");
    assert_eq!(state.trim(), "exited");
}

/// A detached container costs two tasks (issue 13, goal 3): its process
/// and a single-threaded supervisor, which copies the output to the log
/// from its own wait loop — with and without a tty, all of it, also what
/// is written right before the exit.
#[test]
fn a_supervisor_is_one_task_and_keeps_the_whole_log() {
    let b = B::new("sup-task");
    let sups = |b: &B| {
        b.sh("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '__superv[i]se [0-9a-f]' && basename $p; done; true")
    };
    b.ok("run -d --name plain busybox sh -c 'echo out; echo err >&2; exec sleep 3600'");
    b.ok("run -d -t --name tty busybox sh -c 'echo tty-out; exec sleep 3600'");
    let pids = sups(&b);
    assert_eq!(pids.lines().count(), 2, "{pids}");
    for sup in pids.lines() {
        let threads = b.sh(&format!("grep Threads: /proc/{sup}/status"));
        assert_eq!(
            threads.split_whitespace().nth(1),
            Some("1"),
            "{sup}: {threads}"
        );
    }
    assert!(b.eventually(&format!("{BERTH} logs plain 2>&1 | grep -q err")));
    let plain = b.ok("logs plain");
    assert!(plain.contains("out") && plain.contains("err"), "{plain}");
    assert!(b.eventually(&format!("{BERTH} logs tty | grep -q tty-out")));
    // Output written by a container that exits at once is all in the log
    // once its exit is recorded.
    b.ok("run -d --name burst busybox sh -c 'seq 1 20000; echo last'");
    assert!(b.eventually(&format!(
        "{BERTH} inspect -f '{{{{.State.Status}}}}' burst | grep -q exited"
    )));
    let burst = b.ok("logs burst");
    assert_eq!(burst.lines().count(), 20001, "lines lost");
    assert!(
        burst.ends_with("20000\nlast\n"),
        "{}",
        &burst[burst.len() - 20..]
    );
    b.ok("rm -f plain tty burst");
}
