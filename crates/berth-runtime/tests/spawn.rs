//! `spawn` without a rootfs: namespaces, hostname, etc files, netns, exit
//! codes, and the caller's own namespaces staying untouched.

mod common;

use std::os::unix::fs::PermissionsExt;

use berth_runtime::{ExitStatus, RuntimeError};
use common::{inode, run, KillOnDrop};

sandboxed!(container_is_pid1_of_its_own_pid_ns, |sb| {
    let script = "echo pid=$$; ps; echo procs $(cd /proc && echo [0-9]*)";
    let (st, out) = run(&sb.spec(&["busybox", "sh", "-c", script])).unwrap();
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert!(out.starts_with("pid=1\n"), "{out}");
    // ps shows only the shell (PID 1) and ps itself.
    let pids: Vec<u32> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(pids, [1, 2], "{out}");
    // /proc is the container's: only a handful of small pids, PID 1 first.
    let procs: Vec<u32> = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(procs.first(), Some(&1), "{out}");
    assert!(procs.len() <= 4 && procs.iter().all(|&p| p < 10), "{out}");
});

sandboxed!(hostname_and_etc_files_are_the_containers, |sb| {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let before = [
        read("/etc/hosts"),
        read("/etc/hostname"),
        read("/etc/resolv.conf"),
    ];
    let host_name = nix::unistd::gethostname().unwrap();
    let script = "hostname; echo --; cat /etc/hosts; echo --; cat /etc/hostname; \
                  echo --; cat /etc/resolv.conf";
    let (st, out) = run(&sb.spec(&["busybox", "sh", "-c", script])).unwrap();
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    let parts: Vec<&str> = out.split("--\n").collect();
    assert_eq!(parts[0], "ctr-test\n");
    assert_eq!(parts[1], common::HOSTS);
    assert_eq!(parts[2], common::HOSTNAME);
    assert_eq!(parts[3], common::RESOLV);
    let after = [
        read("/etc/hosts"),
        read("/etc/hostname"),
        read("/etc/resolv.conf"),
    ];
    assert_eq!(before, after, "host etc files changed");
    assert_eq!(nix::unistd::gethostname().unwrap(), host_name);
});

sandboxed!(container_is_in_the_given_netns, |sb| {
    let spec = sb.spec(&[
        "busybox",
        "sh",
        "-c",
        "readlink /proc/self/ns/net; ls /sys/class/net",
    ]);
    let (st, out) = run(&spec).unwrap();
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    let want = format!("net:[{}]", inode(&spec.netns));
    assert_eq!(out.lines().next(), Some(want.as_str()), "{out}");
    // sysfs was mounted inside the container's netns: its interfaces only.
    let ifaces: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(ifaces, ["bt0", "bt1", "lo"], "{out}");
});

sandboxed!(exit_codes_follow_docker, |sb| {
    let (st, _) = run(&sb.spec(&["busybox", "sh", "-c", "exit 3"])).unwrap();
    assert_eq!((st, st.code()), (ExitStatus::Exited(3), 3));

    let err = run(&sb.spec(&["no-such-command-berth"])).unwrap_err();
    assert!(matches!(err, RuntimeError::CommandNotFound { .. }), "{err}");
    assert_eq!(err.exit_code(), 127);
    let err = run(&sb.spec(&["/tmp/no/such/file"])).unwrap_err();
    assert_eq!(err.exit_code(), 127, "{err}");

    let script = sb.dir.join("not-executable");
    std::fs::write(&script, "#!/bin/busybox sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    // The host's /tmp is not the container's: share the directory.
    let mut spec = sb.spec(&[script.to_str().unwrap()]);
    spec.mounts = vec![berth_runtime::BindMount {
        source: sb.dir.clone(),
        target: sb.dir.clone(),
        read_only: true,
    }];
    let err = run(&spec).unwrap_err();
    assert!(matches!(err, RuntimeError::NotExecutable { .. }), "{err}");
    assert_eq!(err.exit_code(), 126);

    let mut proc = berth_runtime::spawn(
        &sb.spec(&["busybox", "sleep", "10"]),
        berth_runtime::ContainerIo::no_stdin(),
    )
    .unwrap();
    proc.signal(nix::sys::signal::Signal::SIGKILL).unwrap();
    let st = proc.wait().unwrap();
    assert_eq!((st, st.code()), (ExitStatus::Signaled(9), 137));
});

sandboxed!(setup_failures_name_the_step, |sb| {
    let mut spec = sb.spec(&["busybox", "true"]);
    spec.workdir = Some("/no/such/dir".into());
    let err = run(&spec).unwrap_err();
    assert_eq!(err.exit_code(), 125);
    assert!(err.to_string().contains("chdir to /no/such/dir"), "{err}");

    // A regular file is not a network namespace.
    let mut spec = sb.spec(&["busybox", "true"]);
    spec.netns = sb.etc_files().hosts;
    let err = run(&spec).unwrap_err();
    assert!(err.to_string().contains("join network namespace"), "{err}");
    assert!(err.to_string().contains("EINVAL"), "{err}");

    spec.netns = sb.dir.join("missing-netns");
    let err = run(&spec).unwrap_err();
    assert!(err.to_string().contains("missing-netns"), "{err}");
});

sandboxed!(caller_namespaces_are_unchanged, |sb| {
    let kinds = ["net", "mnt", "uts", "ipc", "pid", "pid_for_children"];
    let snapshot = || -> Vec<u64> {
        let mut v: Vec<u64> = kinds
            .iter()
            .map(|k| inode(format!("/proc/self/ns/{k}")))
            .collect();
        v.extend(
            kinds
                .iter()
                .map(|k| inode(format!("/proc/thread-self/ns/{k}"))),
        );
        v
    };
    let before = snapshot();
    let proc = berth_runtime::spawn(
        &sb.spec(&["busybox", "sleep", "10"]),
        berth_runtime::ContainerIo::no_stdin(),
    )
    .unwrap();
    let guard = KillOnDrop(proc);
    assert_eq!(snapshot(), before);
    let container_pidns = inode(format!("/proc/{}/ns/pid", guard.0.pid()));
    assert_ne!(container_pidns, before[4]);

    // A plain child still starts in our own namespaces.
    let out = std::process::Command::new("/bin/busybox")
        .args([
            "sh",
            "-c",
            "readlink /proc/self/ns/pid; readlink /proc/self/ns/net",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let want = format!("pid:[{}]\nnet:[{}]\n", before[4], before[0]);
    assert_eq!(text, want);
    drop(guard);
});

sandboxed!(the_pid_is_recorded_before_the_command_runs, |sb| {
    // The hook sees the child before exec: it is still a copy of this test
    // binary (the command, which prints, runs only after the hook).
    let me = std::fs::read_link("/proc/self/exe").unwrap();
    let spec = sb.spec(&["busybox", "echo", "ran"]);
    let (r, w) = common::pipe();
    let mut seen = None;
    let mut record = |pid: i32| {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|e| e.to_string())?;
        seen = Some((pid, exe));
        Ok(())
    };
    let mut p = berth_runtime::spawn_recorded(&spec, common::into_pipe(w), &mut record).unwrap();
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(0));
    assert_eq!(common::read_all(r), "ran\n");
    let (pid, exe) = seen.expect("the hook was called");
    assert_eq!(pid, p.pid());
    assert_eq!(exe, me, "the command was exec'd before it was recorded");

    // A hook that fails: the command never runs, the error says why.
    let (r, w) = common::pipe();
    let mut refuse = |_pid: i32| Err("store is gone".to_string());
    let e = berth_runtime::spawn_recorded(&spec, common::into_pipe(w), &mut refuse).unwrap_err();
    assert!(matches!(e, RuntimeError::NotRecorded(_)), "{e}");
    assert!(e.to_string().contains("store is gone"), "{e}");
    assert_eq!(e.exit_code(), 125);
    assert_eq!(
        common::read_all(r),
        "",
        "the command ran although recording failed"
    );
});
