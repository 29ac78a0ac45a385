//! `spawn` with a rootfs (`pivot_root` into a busybox tree) and `exec` into
//! such a container.

mod common;

use berth_runtime::{ExecSpec, ExitStatus};
use common::{into_pipe, pipe, read_all, run, KillOnDrop};

sandboxed!(rootfs_pivot_shows_only_the_rootfs, |sb| {
    let mut spec = sb.spec(&[
        "sh",
        "-c",
        "ls -a /; echo --; cat /marker-file; cat /etc/hosts; \
         cat /etc/resolv.conf; cat /etc/hostname; hostname; echo $$; ls /dev; \
         echo x > /dev/null && head -c 4 /dev/zero | wc -c; ls /sys/class/net | wc -l; \
         cat /proc/mounts | grep -c berth-oldroot",
    ]);
    let rootfs = sb.rootfs();
    spec.rootfs = Some(rootfs.clone());
    let (st, out) = run(&spec).unwrap();
    // grep -c exits 1 when it counts 0 matches, which is what we want.
    assert_eq!(st, ExitStatus::Exited(1), "{out}");
    let (ls, rest) = out.split_once("--\n").unwrap();
    let mut entries: Vec<&str> = ls.lines().collect();
    entries.sort();
    assert_eq!(
        entries,
        [".", "..", "bin", "dev", "etc", "marker-file", "proc", "sys"],
        "{out}"
    );
    let want = format!(
        "rootfs\n{}{}{}ctr-test\n1\n",
        common::HOSTS,
        common::RESOLV,
        common::HOSTNAME
    );
    assert!(rest.starts_with(&want), "{out}");
    for dev in ["null", "zero", "urandom", "tty", "pts", "ptmx", "shm", "fd"] {
        assert!(rest.lines().any(|l| l == dev), "/dev/{dev} missing: {out}");
    }
    assert!(rest.ends_with("4\n3\n0\n"), "{out}");
    // The old-root directory was removed again; the etc files were created.
    assert!(!rootfs.join(".berth-oldroot").exists());
    assert!(rootfs.join("etc/hosts").exists());
});

sandboxed!(rootfs_replaces_dangling_etc_symlinks, |sb| {
    let rootfs = sb.rootfs();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    let link = rootfs.join("etc/resolv.conf");
    std::os::unix::fs::symlink("/run/systemd/resolve/stub-resolv.conf", &link).unwrap();
    let mut spec = sb.spec(&["cat", "/etc/resolv.conf"]);
    spec.rootfs = Some(rootfs);
    let (st, out) = run(&spec).unwrap();
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), common::RESOLV));
});

sandboxed!(exec_joins_a_running_rootfs_container, |sb| {
    let mut spec = sb.spec(&["sleep", "10"]);
    spec.rootfs = Some(sb.rootfs());
    let ctr = berth_runtime::spawn(&spec, berth_runtime::ContainerIo::no_stdin()).unwrap();
    let mut ctr = KillOnDrop(ctr);
    let pid = ctr.0.pid();

    let exec = ExecSpec {
        argv: [
            "sh",
            "-c",
            "pwd; ls /; hostname; readlink /proc/self/ns/pid; \
                readlink /proc/self/ns/net; readlink /proc/self/ns/uts; ps",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        env: vec![("PATH".into(), "/bin".into())],
        workdir: None,
        confinement: berth_runtime::Confinement::default(),
    };
    let (r, w) = pipe();
    let mut proc = berth_runtime::exec(pid, &exec, into_pipe(w)).unwrap();
    let out = read_all(r);
    assert_eq!(proc.wait().unwrap(), ExitStatus::Exited(0), "{out}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("/"));
    assert!(out.contains("marker-file\n"), "{out}");
    assert!(out.contains("ctr-test\n"), "{out}");
    for ns in ["pid", "net", "uts"] {
        let link = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        assert!(out.contains(link.to_str().unwrap()), "{ns}: {out}");
    }
    // ps inside lists the container's PID 1 (sleep).
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("sleep")),
        "{out}"
    );

    let missing = ExecSpec {
        argv: vec!["no-such-cmd".into()],
        ..exec
    };
    let err =
        berth_runtime::exec(pid, &missing, berth_runtime::ContainerIo::no_stdin()).unwrap_err();
    assert_eq!(err.exit_code(), 127, "{err}");
    let st = ctr.0.stop(std::time::Duration::from_millis(100)).unwrap();
    assert_eq!(st, ExitStatus::Signaled(9));
});

sandboxed!(rootfs_pty_run_has_console_and_devpts, |sb| {
    use std::os::fd::AsFd;
    let pty = berth_runtime::pty::Pty::open().unwrap();
    let script = "[ -t 0 ] && echo tty-ok; [ -c /dev/console ] && echo console-ok; \
                  ls /dev/pts; exit 4";
    let mut spec = sb.spec(&["sh", "-c", script]);
    spec.rootfs = Some(sb.rootfs());
    let mut proc = berth_runtime::spawn(&spec, berth_runtime::ContainerIo::Tty(pty.slave)).unwrap();
    let (r, w) = pipe();
    let relay = berth_runtime::PtyRelay {
        master: pty.master.as_fd(),
        input: None,
        output: w.as_fd(),
        terminal: None,
    };
    let st = berth_runtime::wait_attached(&mut proc, Some(relay), None).unwrap();
    drop(w);
    let out = read_all(r);
    assert_eq!(st, ExitStatus::Exited(4), "{out}");
    // A fresh devpts instance: only its ptmx, none of the host's ptys.
    assert_eq!(out, "tty-ok\r\nconsole-ok\r\nptmx\r\n");
});
