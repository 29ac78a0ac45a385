//! A cluster of berth hosts for the overlay tests: an underlay lab holding
//! a bridge `under` (192.0.2.0/24) and etcd on 192.0.2.1 (one member, or
//! three on .1, .2, .3: `etcd.rs`; over TLS with client certificates and an
//! etcd user: `tls.rs`), and host labs (each a full lab of its own, with
//! its `outside`, its own network and mount namespaces and `BERTH_ROOT`)
//! plugged into it as 192.0.2.11, .12...
#![allow(dead_code)]

mod etcd;
pub mod tls;

use crate::common::{B, BERTH};
use berth_lab::Lab;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The cluster store's address on the underlay.
pub const ETCD: &str = "192.0.2.1";
/// Lease TTL (seconds) of the hosts in tests: a dead host expires quickly.
pub const TTL: u64 = 6;

/// One berth host.
pub struct Host {
    /// Its lab.
    pub b: B,
    /// Its underlay address.
    pub ip: String,
    agent: Option<Child>,
    url: String,
    /// `--store-ca ... --store-cert ... --store-key ... --store-auth ...`.
    pub store_args: Vec<String>,
}

/// The underlay, etcd and the hosts.
pub struct Cluster {
    /// The underlay lab (bridge `under`, etcd).
    pub under: Lab,
    /// The hosts.
    pub hosts: Vec<Host>,
    /// The etcd members' processes (None: killed).
    etcd: Vec<Option<Child>>,
    /// `etcd://192.0.2.1:2379` (every member, in order).
    pub url: String,
    /// The TLS material and etcd user, when the store is `etcds://`.
    pub tls: Option<tls::Tls>,
}

impl Cluster {
    /// An underlay with etcd running and `n` hosts, each running `berth agent`.
    pub fn new(name: &str, n: usize) -> Cluster {
        Cluster::with(name, n, 1, false)
    }

    /// `n` hosts on an etcd cluster of `members` members (1 or 3), over
    /// TLS with client certificates and an etcd user when `secure`.
    pub fn with(name: &str, n: usize, members: usize, secure: bool) -> Cluster {
        let under = Lab::bare(&format!("{name}-u")).expect("underlay lab");
        under.sh_ok("ip link add under type bridge && ip link set under up");
        for i in 0..members {
            under.sh_ok(&format!("ip addr add {}/24 dev under", etcd::member_ip(i)));
        }
        let scheme = if secure { "etcds" } else { "etcd" };
        let list: Vec<String> = (0..members)
            .map(|i| format!("{}:2379", etcd::member_ip(i)))
            .collect();
        let url = format!("{scheme}://{}", list.join(","));
        let tls = secure.then(|| tls::Tls::make(&under, members));
        let mut c = Cluster {
            under,
            hosts: Vec::new(),
            etcd: (0..members).map(|_| None).collect(),
            url,
            tls,
        };
        c.start_etcd();
        if let Some(t) = &c.tls {
            t.enable_auth(&c);
        }
        for i in 0..n {
            c.add_host(&format!("{name}-{i}"));
        }
        c
    }

    /// Adds a host (a lab linked to the underlay) running `berth agent`.
    pub fn add_host(&mut self, name: &str) -> usize {
        let b = B::new(name);
        let ip = format!("192.0.2.{}", 11 + self.hosts.len());
        b.lab
            .link_to(
                &self.under,
                "ul0",
                &format!("ul{}", self.hosts.len()),
                Some("under"),
            )
            .expect("link to the underlay");
        b.sh(&format!("ip addr add {ip}/24 dev ul0"));
        let mut h = Host {
            b,
            ip,
            agent: None,
            url: self.url.clone(),
            store_args: self
                .tls
                .as_ref()
                .map(|t| t.client_args())
                .unwrap_or_default(),
        };
        h.start_agent();
        self.hosts.push(h);
        self.hosts.len() - 1
    }

    /// `etcdctl get --prefix KEY --keys-only` in the underlay.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.etcdctl(&format!("get --prefix {prefix} --keys-only"))
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }

    /// Host `i`.
    pub fn h(&self, i: usize) -> &Host {
        &self.hosts[i]
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            h.kill_agent();
        }
        self.stop_etcd();
    }
}

impl Host {
    /// `BERTH_CLUSTER_TTL=.. berth --store ..` for scripts run in the lab.
    pub fn command_prefix(&self) -> String {
        self.prefix()
    }

    fn prefix(&self) -> String {
        format!(
            "BERTH_CLUSTER_TTL={TTL} {BERTH} --store {} {}",
            self.url,
            self.store_args.join(" ")
        )
    }

    /// Runs `berth ARGS` on this host (with the cluster store).
    pub fn berth(&self, args: &str) -> std::process::Output {
        self.b.lab.sh(&format!("{} {args}", self.prefix()))
    }

    /// `berth ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &str) -> String {
        self.b.lab.sh_ok(&format!("{} {args}", self.prefix()))
    }

    /// `berth ARGS`, which must fail; its stderr.
    pub fn fails(&self, args: &str) -> String {
        let out = self.berth(args);
        assert!(!out.status.success(), "berth {args} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts `berth agent` on this host.
    pub fn start_agent(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.b.lab.root().join("agent.log"))
            .expect("log");
        let child = self
            .b
            .lab
            .command(BERTH)
            .args(["--store", &self.url])
            .args(&self.store_args)
            .args(["agent", "--interval", "1"])
            .env("BERTH_CLUSTER_TTL", TTL.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start berth agent");
        self.agent = Some(child);
    }

    /// Kills this host's agent (SIGKILL).
    pub fn kill_agent(&mut self) {
        if let Some(mut c) = self.agent.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The agent's log so far.
    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.b.lab.root().join("agent.log")).unwrap_or_default()
    }

    /// Runs a command in container `name`; true when it succeeds.
    pub fn exec_ok(&self, name: &str, cmd: &str) -> bool {
        self.berth(&format!("exec {name} {cmd}")).status.success()
    }

    /// Polls `exec NAME CMD` until it succeeds (up to `secs`).
    pub fn eventually(&self, name: &str, cmd: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.exec_ok(name, cmd) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    /// The IPv4 address of container `name` on `net`.
    pub fn ip(&self, name: &str, net: &str) -> String {
        self.ok(&format!(
            "inspect -f '{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}' {name}"
        ))
        .trim()
        .to_string()
    }
}
