//! Ptys, attached sessions, signal forwarding, stop, exec and liveness.

mod common;

use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use berth_runtime::pty::{copy_window_size, set_window_size, Pty};
use berth_runtime::{
    is_alive, process_start_time, wait_attached, ContainerIo, ExecSpec, ExitStatus, PtyRelay,
    SignalForwarder,
};
use common::{into_pipe, pipe, read_all, KillOnDrop};
use nix::sys::signal::Signal;

/// Runs a relay session with `input` and returns (status, output).
fn relay(
    proc: &mut berth_runtime::Process,
    master: &OwnedFd,
    input: Option<&OwnedFd>,
) -> (ExitStatus, String) {
    let (r, w) = pipe();
    let relay = PtyRelay {
        master: master.as_fd(),
        input: input.map(|i| i.as_fd()),
        output: w.as_fd(),
        terminal: None,
    };
    let st = wait_attached(proc, Some(relay), None).unwrap();
    drop(w);
    (st, read_all(r))
}

sandboxed!(pty_run_sees_a_terminal, |sb| {
    let pty = Pty::open().unwrap();
    set_window_size(pty.master.as_fd(), 40, 120).unwrap();
    let script = "[ -t 0 ] && [ -t 1 ] && echo tty-yes; stty size; exit 5";
    let spec = sb.spec(&["busybox", "sh", "-c", script]);
    let mut proc = berth_runtime::spawn(&spec, ContainerIo::Tty(pty.slave)).unwrap();
    let (st, out) = relay(&mut proc, &pty.master, None);
    assert_eq!(st, ExitStatus::Exited(5), "{out}");
    assert!(out.contains("tty-yes\r\n40 120\r\n"), "{out:?}");
});

sandboxed!(pty_relays_input, |sb| {
    let pty = Pty::open().unwrap();
    let spec = sb.spec(&["busybox", "sh", "-c", "read line; echo got:$line"]);
    let mut proc = berth_runtime::spawn(&spec, ContainerIo::Tty(pty.slave)).unwrap();
    let (r, w) = pipe();
    nix::unistd::write(&w, b"hello\n").unwrap();
    drop(w);
    let (st, out) = relay(&mut proc, &pty.master, Some(&r));
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert!(out.contains("got:hello"), "{out:?}");
});

sandboxed!(exec_joins_container_with_and_without_tty, |sb| {
    let spec = sb.spec(&["busybox", "sleep", "10"]);
    let ctr = KillOnDrop(berth_runtime::spawn(&spec, ContainerIo::no_stdin()).unwrap());
    let pid = ctr.0.pid();
    let argv = |s: &str| ["busybox", "sh", "-c", s].map(String::from).to_vec();
    let env = vec![("PATH".to_string(), "/bin".to_string())];
    let exec = ExecSpec {
        argv: argv("hostname; echo $$; readlink /proc/self/ns/pid; readlink /proc/self/ns/net"),
        env: env.clone(),
        workdir: None,
        confinement: berth_runtime::Confinement::default(),
    };
    let (r, w) = pipe();
    let mut proc = berth_runtime::exec(pid, &exec, into_pipe(w)).unwrap();
    let out = read_all(r);
    assert_eq!(proc.wait().unwrap(), ExitStatus::Exited(0), "{out}");
    let pidns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    let netns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("ctr-test"));
    let inner_pid: u32 = lines.next().unwrap().parse().unwrap();
    assert!(inner_pid > 1 && inner_pid < 10, "{out}");
    assert!(out.contains(pidns.to_str().unwrap()), "{out}");
    assert!(out.contains(netns.to_str().unwrap()), "{out}");

    let pty = Pty::open().unwrap();
    let exec = ExecSpec {
        argv: argv("[ -t 0 ] && echo exec-tty; exit 2"),
        env,
        workdir: Some("/tmp".into()),
        confinement: berth_runtime::Confinement::default(),
    };
    let mut proc = berth_runtime::exec(pid, &exec, ContainerIo::Tty(pty.slave)).unwrap();
    let (st, out) = relay(&mut proc, &pty.master, None);
    assert_eq!(st, ExitStatus::Exited(2), "{out}");
    assert!(out.contains("exec-tty"), "{out:?}");
    drop(ctr);
});

sandboxed!(signals_are_forwarded_to_pid1, |sb| {
    let script = "trap 'exit 9' USR1; echo ready; while :; do sleep 0.05; done";
    let spec = sb.spec(&["busybox", "sh", "-c", script]);
    let (r, w) = pipe();
    let proc = berth_runtime::spawn(&spec, into_pipe(w)).unwrap();
    let mut proc = KillOnDrop(proc);
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let fwd = SignalForwarder::install(&SignalForwarder::FOREGROUND).unwrap();
    nix::sys::signal::raise(Signal::SIGUSR1).unwrap();
    let st = wait_attached(&mut proc.0, None, Some(&fwd)).unwrap();
    assert_eq!(st, ExitStatus::Exited(9));
});

sandboxed!(stop_terminates_or_kills_and_liveness_tracks_it, |sb| {
    // PID 1 with a SIGTERM handler exits on SIGTERM ...
    let script = "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done";
    let spec = sb.spec(&["busybox", "sh", "-c", script]);
    let (r, w) = pipe();
    let mut proc = berth_runtime::spawn(&spec, into_pipe(w)).unwrap();
    let start = process_start_time(proc.pid()).unwrap();
    assert!(is_alive(proc.pid(), start));
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    assert_eq!(
        proc.stop(Duration::from_secs(5)).unwrap(),
        ExitStatus::Exited(7)
    );
    assert!(!is_alive(proc.pid(), start));

    // ... without one the kernel drops SIGTERM for a namespace's PID 1, so
    // stop has to escalate to SIGKILL after the timeout.
    let spec = sb.spec(&["busybox", "sleep", "10"]);
    let mut proc = berth_runtime::spawn(&spec, ContainerIo::no_stdin()).unwrap();
    let st = proc.stop(Duration::from_millis(200)).unwrap();
    assert_eq!((st, st.code()), (ExitStatus::Signaled(9), 137));
});

sandboxed!(sigwinch_resizes_the_container_pty, |sb| {
    // A second pty stands in for the caller's terminal.
    let term = Pty::open().unwrap();
    set_window_size(term.master.as_fd(), 20, 60).unwrap();
    let pty = Pty::open().unwrap();
    // Initial size before the container starts (wait_attached copies it
    // again, but the container may already have looked).
    copy_window_size(term.slave.as_fd(), pty.master.as_fd()).unwrap();
    let script = "stty size; trap 'stty size; exit 0' WINCH; echo ready; \
                  while :; do sleep 0.05; done";
    let spec = sb.spec(&["busybox", "sh", "-c", script]);
    let mut proc = berth_runtime::spawn(&spec, ContainerIo::Tty(pty.slave)).unwrap();
    let fwd = SignalForwarder::install(&SignalForwarder::FOREGROUND_TTY).unwrap();
    let (r, w) = pipe();
    let term_master = term.master.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let mut lines = BufReader::new(std::fs::File::from(r)).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            out.push_str(&line);
            out.push('\n');
            if line.starts_with("ready") {
                set_window_size(term_master.as_fd(), 50, 150).unwrap();
                let me = nix::unistd::Pid::this();
                nix::sys::signal::kill(me, Signal::SIGWINCH).unwrap();
            }
        }
        out
    });
    let relay = PtyRelay {
        master: pty.master.as_fd(),
        input: None,
        output: w.as_fd(),
        terminal: Some(term.slave.as_fd()),
    };
    let st = wait_attached(&mut proc, Some(relay), Some(&fwd)).unwrap();
    drop(w);
    let out = reader.join().unwrap();
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert_eq!(out, "20 60\nready\n50 150\n");
});
