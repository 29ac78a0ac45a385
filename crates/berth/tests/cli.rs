//! The command line as a Docker user sees it: exit codes, `--rm`, terminals,
//! logs, stop/start, listings and templates, prune, connect/disconnect of a
//! running container, `--hostname`, `-e`, `--rootfs`, `system info`.

mod common;
use common::{stdout, B, BERTH};
use std::time::Duration;

const WEB: &str = "busybox httpd -f -p 80 -h /etc";

/// `berth ARGS`' exit code.
fn code(b: &B, args: &str) -> i32 {
    b.berth(args).status.code().unwrap_or(-1)
}

/// Polls (up to ~2 s) whether `curl` from `outside` to port 8080 of the lab
/// gets an answer, until it equals `want`.
fn port_answers(b: &B, want: bool) -> bool {
    (0..40).any(|_| {
        let ok = b
            .lab
            .in_ns("outside", "curl -sf -m1 http://198.51.100.2:8080/hostname")
            .status
            .success();
        if ok != want {
            std::thread::sleep(Duration::from_millis(50));
        }
        ok == want
    })
}

/// Number of ports on the bridge of network `net`.
fn bridge_ports(b: &B, net: &str) -> usize {
    let bridge = b.ok(&format!(
        "network inspect -f '{{{{index .Options \"com.docker.network.bridge.name\"}}}}' {net}"
    ));
    b.sh(&format!("ip -o link show master {}", bridge.trim()))
        .lines()
        .count()
}

#[test]
fn exec_passes_output_and_exit_codes() {
    let b = B::new("cli-exec");
    b.sleeper("c", "");
    assert_eq!(b.ok("exec c echo hi"), "hi\n");
    assert_eq!(code(&b, "exec c sh -c 'exit 7'"), 7);
    let out = b.berth("exec c no-such-command");
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-command"));
    assert!(b.fails("exec nope true").contains("nope"));
}

#[test]
fn run_exit_codes() {
    let b = B::new("cli-run");
    assert_eq!(code(&b, "run busybox sh -c 'exit 3'"), 3);
    assert_eq!(code(&b, "run no-such-command"), 127);
    b.sh("echo 'echo x' > /tmp/noexec && chmod -x /tmp/noexec");
    assert_eq!(code(&b, "run -v /tmp/noexec:/tmp/noexec /tmp/noexec"), 126);
    assert_eq!(code(&b, "run --network nope busybox true"), 125);
    assert_eq!(code(&b, "run -d no-such-command"), 127);
    let status = b.ok("ps -a --format '{{.Status}}'");
    assert_eq!(
        status
            .lines()
            .filter(|s| s.starts_with("Exited (127)"))
            .count(),
        2,
        "{status}"
    );
}

#[test]
fn rm_flag_removes_foreground_and_detached_containers() {
    let b = B::new("cli-rm");
    assert_eq!(b.ok("run --rm --name fg busybox echo fg"), "fg\n");
    assert_eq!(code(&b, "run --rm --name fg3 busybox sh -c 'exit 3'"), 3);
    b.ok("run -d --rm --name st busybox sleep 3600");
    assert_eq!(b.ok("stop -t 0 st"), "st\n", "stop of an --rm container");
    b.ok("run -d --rm --name bg busybox sh -c 'sleep 0.2'");
    assert!(b.eventually(&format!(
        "! {BERTH} ps -a --format '{{{{.Names}}}}' | grep -q bg"
    )));
    assert_eq!(b.ok("ps -a -q"), "");
    assert_eq!(b.sh("ls $BERTH_ROOT/run/netns | wc -l").trim(), "0");
}

#[test]
fn terminals_and_stdin() {
    let b = B::new("cli-tty");
    let tty = |cmd: &str| {
        b.lab.sh(&format!(
            "script -qec \"{BERTH} {cmd}\" /dev/null </dev/null"
        ))
    };
    let out = tty("run -it busybox sh -c '[ -t 0 ] && [ -t 1 ] && echo is-a-tty'");
    assert!(stdout(&out).contains("is-a-tty"), "{}", stdout(&out));
    assert_eq!(tty("run -it busybox sh -c 'exit 5'").status.code(), Some(5));
    assert_eq!(
        b.ok("run busybox sh -c '[ -t 0 ] || echo no-tty'"),
        "no-tty\n"
    );
    let piped = b.sh(&format!(
        "echo 'echo from-stdin' | {BERTH} run -i busybox sh"
    ));
    assert_eq!(piped, "from-stdin\n");
    b.sleeper("c", "");
    let out = tty("exec -it c sh -c '[ -t 0 ] && echo exec-tty'");
    assert!(stdout(&out).contains("exec-tty"), "{}", stdout(&out));
}

#[test]
fn logs_and_follow() {
    let b = B::new("cli-logs");
    b.ok("run -d --name l busybox sh -c 'echo one; sleep 1; echo two >&2'");
    // "two" comes a second after "one": returning with both means it
    // followed the log until the container exited.
    let followed = b.ok("logs -f l");
    assert_eq!(
        followed, "one\ntwo\n",
        "logs -f follows until the container exits"
    );
    assert_eq!(b.ok("logs l"), "one\ntwo\n");
    assert!(b
        .ok("ps -a --format '{{.Status}}'")
        .starts_with("Exited (0)"));
    // Following a container that another command stops: `stop` comes once
    // the follower has printed what was logged so far (it is following),
    // and the follower ends with the container.
    b.ok("run -d --name s busybox sh -c 'echo up; exec sleep 3600'");
    let script = format!(
        "{BERTH} logs -f s > $BERTH_ROOT/follow & f=$!
         for _ in $(seq 200); do grep -q up $BERTH_ROOT/follow && break; sleep 0.05; done
         {BERTH} stop -t 0 s >/dev/null; wait $f; echo \"rc=$?\"; cat $BERTH_ROOT/follow"
    );
    assert_eq!(b.sh(&script), "rc=0\nup\n");
}

#[test]
fn stop_takes_the_network_down_and_start_brings_it_back() {
    let b = B::new("cli-stop");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    b.ok(&format!(
        "run -d --name web --network appnet -p 8080:80 {WEB}"
    ));
    b.ok("run -d --name term --network appnet busybox sh -c 'trap \"exit 143\" TERM; while :; do sleep 0.1; done'");
    let ip = b.ip("web", "appnet");
    assert!(port_answers(&b, true));
    assert_eq!(bridge_ports(&b, "appnet"), 2);
    // httpd, as PID 1, ignores SIGTERM: killed after the grace time.
    assert_eq!(b.ok("stop -t 1 web"), "web\n");
    b.ok("stop term");
    let status = b.ok("ps -a --format '{{.Names}} {{.Status}}'");
    assert!(status.contains("web Exited (137)"), "{status}");
    assert!(status.contains("term Exited (143)"), "{status}");
    assert_eq!(b.ok("ps -q"), "");
    assert!(port_answers(&b, false), "the published port still answers");
    let gone = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        bridge_ports(&b, "appnet") == 0
    });
    assert!(gone, "the veths of stopped containers are gone");
    assert!(b.fails("exec web true").contains("start"));
    b.ok("stop web");
    b.ok("start web");
    assert!(b.fails("start web").contains("already running"));
    assert_eq!(b.ip("web", "appnet"), ip, "the same address comes back");
    assert!(port_answers(&b, true), "the port answers again");
    assert_eq!(bridge_ports(&b, "appnet"), 1);
    assert!(b
        .ok("ps --format '{{.Names}} {{.Status}}'")
        .starts_with("web Up"));
    // Start right after stop: the old veth may still be being freed.
    for _ in 0..5 {
        b.ok("stop -t 0 web");
        b.ok("start web");
    }
    assert!(port_answers(&b, true));
    assert_eq!(bridge_ports(&b, "appnet"), 1);
}

#[test]
fn listings_and_templates() {
    let b = B::new("cli-ps");
    let id = b
        .ok(&format!("run -d --name web -p 8080:80 {WEB}"))
        .trim()
        .to_string();
    b.ok("run --name done busybox true");
    assert_eq!(b.ok("ps --format '{{.Names}}'"), "web\n");
    assert_eq!(b.ok("ps -a --format '{{.Names}}'"), "done\nweb\n");
    assert_eq!(b.ok("ps -q").trim(), &id[..12]);
    assert_eq!(b.ok("ps -a -q --no-trunc").lines().count(), 2);
    let table = b.ok("ps");
    assert!(
        table.starts_with("CONTAINER ID") && table.contains("0.0.0.0:8080->80/tcp"),
        "{table}"
    );
    let row: serde_json::Value = serde_json::from_str(b.ok("ps --format json").trim()).unwrap();
    assert_eq!(row["Names"], "web");
    assert_eq!(row["State"], "running");
    let ports: serde_json::Value =
        serde_json::from_str(&b.ok("inspect -f '{{json .NetworkSettings.Ports}}' web")).unwrap();
    assert_eq!(ports["80/tcp"][0]["HostPort"], "8080");
    let idx =
        b.ok("inspect -f '{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}' web");
    assert_eq!(idx.trim(), "8080");
    let range = b.ok("inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}' web");
    assert_eq!(range.trim(), format!("bridge={}", b.ip("web", "bridge")));
    assert_eq!(
        b.ok("network ls --format '{{.Name}}'"),
        "bridge\nhost\nnone\n"
    );
    let nets = b.ok("network ls --format json");
    assert_eq!(nets.lines().count(), 3);
    let full: serde_json::Value = serde_json::from_str(&b.ok("inspect web")).unwrap();
    assert_eq!(full[0]["Id"], id.as_str());
    assert!(b.fails("inspect -f '{{.Nope' web").contains("template"));
}

#[test]
fn network_prune_removes_unused_user_networks_only() {
    let b = B::new("cli-prune");
    b.ok("network create used");
    b.ok("network create unused1");
    b.ok("network create unused2");
    b.sleeper("c", "--network used");
    let out = b.ok("network prune -f");
    assert!(
        out.contains("unused1") && out.contains("unused2") && !out.contains("used\n"),
        "{out}"
    );
    assert_eq!(b.network_names(), ["bridge", "host", "none", "used"]);
    assert_eq!(b.sh("ip -o link show type bridge | wc -l").trim(), "2");
    assert!(b.exec_ok("c", "busybox ping -c1 -W2 203.0.113.1"));
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let b = B::new("cli-conn");
    b.ok("network create --subnet 192.0.2.0/24 front");
    b.ok("network create --subnet 10.99.0.0/24 back");
    b.sleeper("app", "--network front");
    b.sleeper("db", "--network back");
    let db = b.ip("db", "back");
    let pid = b.ok("inspect -f '{{.State.Pid}}' app");
    let ping = format!("busybox ping -c1 -W1 {db}");
    assert!(!b.exec_ok("app", &ping));
    b.ok("network connect --ip 10.99.0.50 back app");
    assert_eq!(b.ip("app", "back"), "10.99.0.50");
    assert!(b
        .ok("exec app ip -o -4 addr show eth1")
        .contains("10.99.0.50/24"));
    assert!(b.exec_ok("app", &ping), "app reaches back after connect");
    assert!(
        b.exec_ok("app", "busybox ping -c1 -W2 203.0.113.1"),
        "default route unchanged"
    );
    assert_eq!(b.ok("inspect -f '{{.State.Pid}}' app"), pid, "no restart");
    b.ok("network disconnect back app");
    // At once: eth1 carries nothing (its host end is down, off the
    // bridge: its carrier is off); the reaper then deletes the pair.
    let eth1 = b.sh(&format!(
        "{} exec app ip -o link show eth1 2>/dev/null || true",
        BERTH
    ));
    assert!(
        eth1.trim().is_empty() || eth1.contains("NO-CARRIER"),
        "eth1 still carries: {eth1}"
    );
    assert!(
        !b.exec_ok("app", &ping),
        "app cannot reach back after disconnect"
    );
    assert!(
        b.eventually(&format!("! {} exec app ip link show eth1", BERTH)),
        "eth1 is not gone"
    );
    assert!(b.exec_ok("app", "busybox ping -c1 -W2 203.0.113.1"));
    assert_eq!(b.ok("inspect -f '{{.State.Pid}}' app"), pid, "no restart");
    assert_eq!(bridge_ports(&b, "back"), 1);
    // Connected while stopped: attached when it starts.
    b.ok("stop -t 0 app");
    b.ok("network connect back app");
    b.ok("start app");
    assert!(b.exec_ok("app", &ping), "connected while stopped");
}

#[test]
fn hostname_env_and_rootfs() {
    let b = B::new("cli-rootfs");
    let out = b.ok("run --rm --hostname myhost -e FOO=bar -e EMPTY= busybox sh -c 'echo $(hostname) $FOO [$EMPTY] $HOSTNAME'");
    assert_eq!(out, "myhost bar [] myhost\n");
    b.ok("run -d --name h -h other busybox sleep 3600");
    assert_eq!(b.ok("exec h cat /etc/hostname"), "other\n");
    assert_eq!(b.ok("exec -e X=1 h sh -c 'echo $X'"), "1\n");
    let root = b.lab.root().join("rootfs");
    b.sh(&format!(
        "mkdir -p {r}/bin {r}/etc {r}/tmp && cp /bin/busybox {r}/bin/ && chroot {r} /bin/busybox --install -s /bin && echo inside > {r}/marker",
        r = root.display()
    ));
    let r = root.display();
    let out = b.ok(&format!("run --rm --rootfs {r} /bin/sh -c 'cat /marker; ls /bin/busybox; [ -e /usr/bin/curl ] || echo no-curl'"));
    assert_eq!(out, "inside\n/bin/busybox\nno-curl\n");
    b.ok(&format!("run -d --name rf --rootfs {r} /bin/sleep 3600"));
    assert!(
        b.exec_ok("rf", "ping -c1 -W2 203.0.113.1"),
        "networking works in a rootfs"
    );
    assert_eq!(b.ok("exec rf cat /marker"), "inside\n");
    assert!(b
        .fails("run --rootfs /nonexistent /bin/sh")
        .contains("/nonexistent"));
}

#[test]
fn system_info() {
    let b = B::new("cli-info");
    b.sleeper("c", "");
    b.ok("run busybox true");
    let text = b.ok("system info");
    assert!(
        text.contains("Containers: 2") && text.contains("ContainersRunning: 1"),
        "{text}"
    );
    let info: serde_json::Value = serde_json::from_str(&b.ok("system info --format json")).unwrap();
    assert_eq!(info["Networks"], 3);
    assert_eq!(info["PendingOperations"], 0);
    assert_eq!(info["IPv4Forwarding"], true);
    assert_eq!(info["StateRoot"], b.lab.root().display().to_string());
}
