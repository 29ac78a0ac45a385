//! A real Docker (Debian's docker.io 20.10) inside a lab, with berth's
//! plugin as its network and IPAM driver `berth`. Everything lives in the
//! lab: the plugin on the lab's private `/run/docker/plugins/berth.sock`,
//! containerd with its root, state and `opt` dirs under the lab's temp dir
//! (its own config: nothing under `/opt` or `/var/lib` of the host), and
//! dockerd with its own data root, exec root, socket and pid file. The
//! lab's PID namespace ends all of them with the lab.
#![allow(dead_code)]

use super::common::{B, BERTH};
use std::path::PathBuf;
use std::process::Output;

/// Debian's Docker and containerd (scripts/deps installs them).
pub const DOCKER: &str = "/usr/bin/docker";

/// A lab running containerd, dockerd and `berth docker-plugin`.
pub struct Docker {
    /// The lab.
    pub b: B,
    /// Where Docker keeps everything (inside the lab's temp dir).
    pub dir: PathBuf,
}

/// Whether Docker can run here (else the test is skipped outside CI).
pub fn available() -> bool {
    berth_lab::tool_available(
        std::path::Path::new("/usr/sbin/dockerd").exists()
            && std::path::Path::new("/usr/bin/containerd").exists()
            && std::path::Path::new(DOCKER).exists(),
        "Debian's docker.io is not installed (scripts/deps)",
    )
}

impl Docker {
    /// A lab with the plugin, containerd and dockerd (`flags` added to
    /// dockerd's), and the image `bb` (busybox, imported: no registry).
    pub fn start(name: &str, flags: &str) -> Docker {
        let b = B::new(name);
        let dir = b.lab.root().join("docker");
        let d = Docker { b, dir };
        d.b.sh(&format!(
            "mkdir -p {dir}/containerd {dir}/cli && printf '%s\\n' \
             'version = 2' 'root = \"{dir}/containerd/root\"' 'state = \"{dir}/containerd/state\"' \
             'disabled_plugins = [\"io.containerd.grpc.v1.cri\"]' '[grpc]' '  address = \"{dir}/containerd/sock\"' \
             '[plugins.\"io.containerd.internal.v1.opt\"]' '  path = \"{dir}/containerd/opt\"' > {dir}/containerd/config.toml && \
             printf '{{\"deprecated-key-path\": \"{dir}/key.json\"}}\\n' > {dir}/daemon.json && \
             containerd --config {dir}/containerd/config.toml > {dir}/containerd.log 2>&1 &",
            dir = d.dir.display()
        ));
        assert!(
            d.b.eventually(&format!("test -S {}/containerd/sock", d.dir.display())),
            "containerd did not start"
        );
        d.start_plugin();
        d.start_dockerd(flags);
        d.b.sh(&format!(
            "set -e; fs={dir}/rootfs; mkdir -p $fs/bin; cp /bin/busybox $fs/bin/; \
             for a in $(busybox --list); do [ -e $fs/bin/$a ] || ln -s busybox $fs/bin/$a; done; \
             tar -C $fs -c . | {docker} import -c 'ENV PATH=/bin' - bb > /dev/null",
            dir = d.dir.display(),
            docker = d.docker_cmd()
        ));
        d
    }

    /// `docker` talking to this lab's dockerd.
    pub fn docker_cmd(&self) -> String {
        format!(
            "DOCKER_CONFIG={dir}/cli {DOCKER} -H unix://{dir}/docker.sock",
            dir = self.dir.display()
        )
    }

    /// Starts `berth docker-plugin` on the default socket (the lab's own
    /// `/run`); its pid (in the lab) goes to `plugin.pid`.
    pub fn start_plugin(&self) {
        self.start_plugin_with("");
    }

    /// [`Docker::start_plugin`] with `env` (`VAR=value ...`) set.
    pub fn start_plugin_with(&self, env: &str) {
        self.b.sh(&format!(
            "rm -f /run/docker/plugins/berth.sock; {env} {BERTH} docker-plugin >> {dir}/plugin.log 2>&1 & echo $! > {dir}/plugin.pid",
            dir = self.dir.display()
        ));
        assert!(
            self.b.eventually("test -S /run/docker/plugins/berth.sock"),
            "the plugin did not start: {}",
            self.log("plugin.log")
        );
    }

    /// Starts the plugin socket-activated, as systemd would: the socket is
    /// bound first by `systemd-socket-activate`, which execs berth with it
    /// (`LISTEN_FDS`) on the first connection; it passes no environment,
    /// so the lab's state root is given as `--root`. Returns false (nothing
    /// started) where that program is missing.
    pub fn start_plugin_activated(&self) -> bool {
        if !berth_lab::have_program("systemd-socket-activate") {
            return false;
        }
        self.b.sh(&format!(
            "rm -f /run/docker/plugins/berth.sock; systemd-socket-activate -l /run/docker/plugins/berth.sock \
             {BERTH} --root \"$BERTH_ROOT\" docker-plugin >> {dir}/plugin.log 2>&1 & echo $! > {dir}/plugin.pid",
            dir = self.dir.display()
        ));
        assert!(
            self.b.eventually("test -S /run/docker/plugins/berth.sock"),
            "the plugin's socket did not appear: {}",
            self.log("plugin.log")
        );
        true
    }

    /// Starts dockerd (again), waiting until it answers.
    pub fn start_dockerd(&self, flags: &str) {
        self.b.sh(&format!(
            "dockerd --containerd {dir}/containerd/sock --data-root {dir}/data --exec-root {dir}/exec \
             --pidfile {dir}/dockerd.pid -H unix://{dir}/docker.sock --config-file {dir}/daemon.json \
             --storage-driver overlay2 --default-ulimit nofile=$(ulimit -Sn):$(ulimit -Hn) \
             --cgroup-parent {cgroup} {flags} \
             >> {dir}/dockerd.log 2>&1 &",
            dir = self.dir.display(),
            cgroup = self.b.lab.cgroup_parent()
        ));
        let up = (0..150).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            self.b
                .try_sh(&format!("{} info > /dev/null 2>&1", self.docker_cmd()))
        });
        assert!(up, "dockerd did not start: {}", self.log("dockerd.log"));
    }

    /// Stops dockerd (SIGTERM) and waits until it is gone.
    pub fn stop_dockerd(&self) {
        self.b.sh(&format!(
            "p=$(cat {dir}/dockerd.pid); kill $p; for i in $(seq 150); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1",
            dir = self.dir.display()
        ));
    }

    /// Kills the plugin with SIGKILL.
    pub fn kill_plugin(&self) {
        self.b.sh(&format!(
            "p=$(cat {dir}/plugin.pid); kill -9 $p; for i in $(seq 50); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1",
            dir = self.dir.display()
        ));
    }

    /// Waits until the plugin's process is gone (it was killed).
    pub fn plugin_gone(&self) -> bool {
        self.b.eventually(&format!(
            "! kill -0 $(cat {}/plugin.pid) 2>/dev/null",
            self.dir.display()
        ))
    }

    /// Runs `docker ARGS` in the lab.
    pub fn docker(&self, args: &str) -> Output {
        self.b.lab.sh(&format!("{} {args}", self.docker_cmd()))
    }

    /// Runs `docker ARGS`, panicking with its output (and the plugin's
    /// log) unless it succeeds; returns stdout.
    pub fn ok(&self, args: &str) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args} failed ({}): {}{}\nplugin log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log("plugin.log")
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `docker ARGS` expecting failure; returns stderr.
    pub fn fails(&self, args: &str) -> String {
        let out = self.docker(args);
        assert!(
            !out.status.success(),
            "docker {args} should fail but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// The exit status of `docker exec NAME CMD`.
    pub fn exec(&self, name: &str, cmd: &str) -> Option<i32> {
        self.docker(&format!("exec {name} {cmd}")).status.code()
    }

    /// One of Docker's or the plugin's logs.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// A POST to the plugin's socket, as dockerd makes them: status and body.
    pub fn post(&self, path: &str, body: &str) -> (String, String) {
        let out = self.b.sh(&format!(
            "curl -s -o /dev/stdout -w '\\n%{{http_code}}' --unix-socket /run/docker/plugins/berth.sock -X POST -d '{body}' http://plugin{path}"
        ));
        let (body, status) = out.trim_end().rsplit_once('\n').unwrap_or(("", ""));
        (status.to_string(), body.to_string())
    }
}
