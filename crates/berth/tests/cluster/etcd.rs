//! The cluster store of the test clusters: one etcd member, or three (a
//! real raft cluster) on 192.0.2.1, .2 and .3 in the underlay lab, with
//! their data on a tmpfs of that lab (fsyncs on a loaded machine would
//! otherwise make elections flap). Members are killed with SIGKILL (a crash,
//! not a shutdown) and restarted with their data, as after a reboot.

use super::Cluster;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The underlay address of member `i`.
pub fn member_ip(i: usize) -> String {
    format!("192.0.2.{}", 1 + i)
}

impl Cluster {
    /// The etcd members' count.
    pub fn members(&self) -> usize {
        self.etcd.len()
    }

    fn initial_cluster(&self) -> String {
        (0..self.members())
            .map(|i| format!("m{i}=http://{}:2380", member_ip(i)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts member `i` (with the data it has, if any).
    pub fn start_member(&mut self, i: usize) {
        let data = self.under.root().join(format!("etcd/m{i}"));
        if !data.parent().is_some_and(|d| d.exists()) {
            let dir = self.under.root().join("etcd");
            std::fs::create_dir_all(&dir).expect("etcd dir");
            self.under
                .sh_ok(&format!("mount -t tmpfs tmpfs {}", dir.display()));
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.under.root().join(format!("etcd-m{i}.log")))
            .expect("log");
        let ip = member_ip(i);
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let client = format!("{scheme}://{ip}:2379");
        let peer = format!("http://{ip}:2380");
        let mut cmd = self.under.command("etcd");
        cmd.args(["--name", &format!("m{i}"), "--data-dir"])
            .arg(&data)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &self.initial_cluster()])
            .args(["--initial-cluster-state", "new"]);
        if let Some(t) = &self.tls {
            cmd.args(t.server_args(i));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start etcd");
        self.etcd[i] = Some(child);
    }

    /// Starts every member that is not running and waits until the
    /// cluster answers writes.
    pub fn start_etcd(&mut self) {
        for i in 0..self.members() {
            if self.etcd[i].is_none() {
                self.start_member(i);
            }
        }
        self.wait_writable();
    }

    /// Kills member `i` (SIGKILL).
    pub fn kill_member(&mut self, i: usize) {
        if let Some(mut c) = self.etcd[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGKILL to member `i` without reaping it (from a `&self`, while
    /// other threads use the cluster); [`Cluster::kill_member`] reaps it.
    pub fn signal_member(&self, i: usize) {
        if let Some(c) = &self.etcd[i] {
            // SAFETY: kill(2) on the pid of a child we have not reaped.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGKILL) };
        }
    }

    /// Kills every member: an outage.
    pub fn stop_etcd(&mut self) {
        for i in 0..self.members() {
            self.kill_member(i);
        }
    }

    /// `etcdctl` with every member and the test's credentials; stdout.
    pub fn etcdctl(&self, args: &str) -> String {
        let out = self.etcdctl_status(args);
        assert!(
            out.status.success(),
            "etcdctl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `etcdctl ARGS` with every live member; its output whatever it is.
    pub fn etcdctl_status(&self, args: &str) -> std::process::Output {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let eps: Vec<String> = (0..self.members())
            .filter(|i| self.etcd[*i].is_some())
            .map(|i| format!("{scheme}://{}:2379", member_ip(i)))
            .collect();
        let creds = self
            .tls
            .as_ref()
            .map(|t| t.etcdctl_args())
            .unwrap_or_default();
        self.under.sh(&format!(
            "ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=5s --endpoints {} {creds} {args}",
            eps.join(",")
        ))
    }

    /// Waits (up to 30 s) until a write through the live members succeeds.
    pub fn wait_writable(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.etcdctl_status("put /test/alive 1").status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let logs = self.under.sh("tail -n 15 etcd-m*.log");
        panic!(
            "etcd did not become writable: {}",
            String::from_utf8_lossy(&logs.stdout)
        );
    }

    /// Waits (up to 30 s) until member `i` answers as a healthy member.
    pub fn wait_member(&self, i: usize) {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let creds = self
            .tls
            .as_ref()
            .map(|t| t.etcdctl_args())
            .unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ok = self
                .under
                .sh(&format!(
                    "ETCDCTL_API=3 etcdctl --dial-timeout=1s --endpoints {scheme}://{}:2379 {creds} endpoint health",
                    member_ip(i)
                ))
                .status
                .success();
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("etcd member {i} did not come back");
    }

    /// The member that leads, among the live ones (waiting up to 30 s
    /// for an election to end).
    pub fn leader(&self) -> Option<usize> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let l = self.leader_now();
            if l.is_some() || Instant::now() > deadline {
                return l;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn leader_now(&self) -> Option<usize> {
        let json = self.etcdctl_status("endpoint status -w json");
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).ok()?;
        let arr = v.as_array()?;
        let leader = arr
            .iter()
            .find_map(|e| e.pointer("/Status/leader")?.as_u64().filter(|l| *l != 0))?;
        let ep = arr
            .iter()
            .find(|e| {
                e.pointer("/Status/header/member_id")
                    .and_then(|m| m.as_u64())
                    == Some(leader)
            })?
            .pointer("/Endpoint")?
            .as_str()?
            .to_string();
        (0..self.members()).find(|i| ep.contains(&format!("//{}:", member_ip(*i))))
    }
}
