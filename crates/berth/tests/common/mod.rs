//! Shared helpers of berth's integration tests: a lab with the berth binary.
#![allow(dead_code)]

pub mod crash;

use berth_lab::Lab;
use std::process::Output;

/// The berth binary under test.
pub const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// A lab (see berth-lab) in which `berth` runs with its own state root.
pub struct B {
    /// The lab.
    pub lab: Lab,
}

impl B {
    /// A lab with the outside world.
    pub fn new(name: &str) -> B {
        B {
            lab: Lab::new(name).expect("lab"),
        }
    }

    /// Runs `berth ARGS` (a shell word list) in the lab.
    pub fn berth(&self, args: &str) -> Output {
        self.lab.sh(&format!("{BERTH} {args}"))
    }

    /// Runs `berth ARGS`, panicking with its output unless it succeeds.
    pub fn ok(&self, args: &str) -> String {
        self.lab.sh_ok(&format!("{BERTH} {args}"))
    }

    /// Runs `berth ARGS` expecting failure; returns stderr.
    pub fn fails(&self, args: &str) -> String {
        let out = self.berth(args);
        assert!(
            !out.status.success(),
            "berth {args} should fail but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `sh -c SCRIPT` in the lab, which must succeed.
    pub fn sh(&self, script: &str) -> String {
        self.lab.sh_ok(script)
    }

    /// True when `sh -c SCRIPT` succeeds in the lab.
    pub fn try_sh(&self, script: &str) -> bool {
        self.lab.sh(script).status.success()
    }

    /// Runs a command inside container NAME (`berth exec`) and reports success.
    pub fn exec_ok(&self, name: &str, cmd: &str) -> bool {
        self.berth(&format!("exec {name} {cmd}")).status.success()
    }

    /// The IPv4 address of container NAME on network NET.
    pub fn ip(&self, name: &str, net: &str) -> String {
        self.ok(&format!(
            "inspect -f '{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}' {name}"
        ))
        .trim()
        .to_string()
    }

    /// Starts a detached busybox container that just sleeps.
    pub fn sleeper(&self, name: &str, extra: &str) -> String {
        self.ok(&format!("run -d --name {name} {extra} busybox sleep 3600"))
            .trim()
            .to_string()
    }

    /// Polls `script` until it succeeds (up to ~3 s).
    pub fn eventually(&self, script: &str) -> bool {
        (0..60).any(|_| {
            if self.try_sh(script) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            false
        })
    }
}

/// `ps` output without the durations Docker's status carries: "Exited
/// (0) 3 seconds ago" becomes "Exited (0)", "Up 2 minutes" becomes "Up".
pub fn undated(ps: &str) -> String {
    ps.lines()
        .map(|l| {
            let l = l.split(" ago").next().unwrap_or(l);
            let cut = l
                .find(") ")
                .map(|i| i + 1)
                .or_else(|| l.find("Up ").map(|i| i + 2));
            format!("{}\n", &l[..cut.unwrap_or(l.len())])
        })
        .collect()
}

/// Output's stdout as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The kernel objects and processes berth could leak in a lab, normalised
/// so that two reads compare equal when nothing was left behind: link
/// names (with their master), addresses, IPv4 routes, namespace pins (files
/// and mounts under `BERTH_ROOT/run/netns`) and `ip netns` names (entries
/// of and mounts on `/run/netns/`), the nftables ruleset (without
/// handles, set elements sorted) and the commands of the lab's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// `name[@master]` per link, sorted.
    pub links: Vec<String>,
    /// `dev addr/prefix`, sorted.
    pub addrs: Vec<String>,
    /// `dst dev`, sorted.
    pub routes: Vec<String>,
    /// Files in and mounts on `BERTH_ROOT/run/netns`, entries of and
    /// mounts on `/run/netns/`, sorted.
    pub netns: Vec<String>,
    /// `nft -j list ruleset`, normalised, one line per JSON line.
    pub ruleset: Vec<String>,
    /// Command lines of the processes living in the lab, sorted.
    pub processes: Vec<String>,
}

/// Drops nft handles and sorts set/map elements (their order is the
/// kernel's, not a configuration).
fn normalise_nft(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("handle");
            if let Some(serde_json::Value::Array(elems)) = m.get_mut("elem") {
                elems.sort_by_key(|e| e.to_string());
            }
            m.values_mut().for_each(normalise_nft);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalise_nft),
        _ => {}
    }
}

fn json_lines(b: &B, script: &str) -> serde_json::Value {
    let out = b.sh(script);
    if out.trim().is_empty() {
        return serde_json::Value::Array(Vec::new());
    }
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{script}: {e}: {out}"))
}

impl Kernel {
    /// Reads the lab's state now.
    pub fn read(b: &B) -> Kernel {
        let s = |v: &serde_json::Value, k: &str| {
            v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
        };
        let links_json = json_lines(b, "ip -j link");
        let mut links: Vec<String> = links_json
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| match l.get("master") {
                Some(m) => format!("{}@{}", s(l, "ifname"), m.as_str().unwrap_or("")),
                None => s(l, "ifname"),
            })
            .collect();
        links.sort();
        let mut addrs = Vec::new();
        for l in json_lines(b, "ip -j addr").as_array().into_iter().flatten() {
            for a in l
                .get("addr_info")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
            {
                // IPv6 link-local addresses are the kernel's autoconfiguration
                // (a bridge gets one once a port brings its carrier up and
                // keeps it), not state berth creates or removes.
                if s(a, "local").starts_with("fe80:") {
                    continue;
                }
                addrs.push(format!(
                    "{} {}/{}",
                    s(l, "ifname"),
                    s(a, "local"),
                    a.get("prefixlen").cloned().unwrap_or_default()
                ));
            }
        }
        addrs.sort();
        let mut routes: Vec<String> = json_lines(b, "ip -j route")
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| format!("{} {}", s(r, "dst"), s(r, "dev")))
            .collect();
        routes.sort();
        let netns_dir = b.lab.root().join("run/netns");
        let mut netns: Vec<String> = std::fs::read_dir(&netns_dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| format!("file {}", e.file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        // `ip netns` names (`/run/netns`, the lab's own) count too.
        netns.extend(
            b.sh("ls -A /run/netns 2>/dev/null || true")
                .lines()
                .map(|n| format!("name {n}")),
        );
        let dir = netns_dir.display().to_string();
        netns.extend(b.sh("cat /proc/self/mountinfo").lines().filter_map(|l| {
            let mp = l.split_whitespace().nth(4)?;
            (mp.starts_with(&dir) || mp.starts_with("/run/netns/")).then(|| format!("mount {mp}"))
        }));
        netns.sort();
        let mut rules = json_lines(b, "nft -j list ruleset");
        normalise_nft(&mut rules);
        let ruleset = serde_json::to_string_pretty(&rules)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let mut processes: Vec<String> = b
            .lab
            .processes()
            .iter()
            .filter_map(|p| std::fs::read(format!("/proc/{p}/cmdline")).ok())
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .filter(|c| !c.is_empty()) // zombies have no command line
            .collect();
        processes.sort();
        Kernel {
            links,
            addrs,
            routes,
            netns,
            ruleset,
            processes,
        }
    }

    /// What differs from `other`, section by section (`-` only here, `+`
    /// only there); empty when equal.
    pub fn diff(&self, other: &Kernel) -> String {
        let mut out = String::new();
        let sections = [
            ("links", &self.links, &other.links),
            ("addrs", &self.addrs, &other.addrs),
            ("routes", &self.routes, &other.routes),
            ("netns", &self.netns, &other.netns),
            ("ruleset", &self.ruleset, &other.ruleset),
            ("processes", &self.processes, &other.processes),
        ];
        for (name, a, b) in sections {
            if a != b {
                out.push_str(&format!("## {name}\n"));
                a.iter()
                    .filter(|l| !b.contains(l))
                    .for_each(|l| out.push_str(&format!("- {l}\n")));
                b.iter()
                    .filter(|l| !a.contains(l))
                    .for_each(|l| out.push_str(&format!("+ {l}\n")));
            }
        }
        out
    }
}

impl B {
    /// Waits (up to ~5 s: namespaces and their veths are freed
    /// asynchronously, supervisors exit on their own) until the lab's
    /// [`Kernel`] state equals `want`; panics with the difference otherwise.
    pub fn settles_to(&self, want: &Kernel, context: &str) {
        let mut last = String::new();
        for _ in 0..50 {
            let now = Kernel::read(self);
            if &now == want {
                return;
            }
            last = want.diff(&now);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{context}: the lab did not return to the expected state:\n{last}");
    }

    /// Names of every container (`ps -a`), sorted.
    pub fn container_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ok("ps -a --format '{{.Names}}'")
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    /// Names of every network (`network ls`), sorted.
    pub fn network_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ok("network ls --format '{{.Name}}'")
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    /// Operations recorded and not finished (`system info`).
    pub fn pending_ops(&self) -> u64 {
        let info: serde_json::Value =
            serde_json::from_str(&self.ok("system info --format json")).unwrap();
        info["PendingOperations"].as_u64().unwrap()
    }
}
