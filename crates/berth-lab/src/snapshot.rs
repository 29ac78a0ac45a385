//! Snapshots of a namespace's network configuration for "nothing changed"
//! assertions, and a read-only view of the real host for leak checks.

use std::process::Command;

use serde_json::Value;

use crate::exec::{check_output, describe, output_with_timeout};
use crate::lab::DEFAULT_TIMEOUT;
use crate::{Lab, LabError};

/// Keys dropped everywhere in snapshots: counters, lifetimes and handles
/// change without any configuration change.
const VOLATILE: &[&str] = &[
    "stats",
    "stats64",
    "valid_life_time",
    "preferred_life_time",
    "expires",
    "handle",
    "packets",
    "bytes",
];

/// The network configuration of one namespace, normalised so that two
/// snapshots compare equal when nothing changed: the keys `stats`, `stats64`,
/// `valid_life_time`, `preferred_life_time`, `expires`, `handle`, `packets`
/// and `bytes` are removed at every depth (counters, lifetimes, nft handles).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `ip -j link`.
    pub links: Value,
    /// `ip -j addr`.
    pub addrs: Value,
    /// `ip -j route` (IPv4 main table).
    pub routes4: Value,
    /// `ip -j -6 route` (IPv6 main table).
    pub routes6: Value,
    /// `ip -j rule` and `ip -j -6 rule`, as a two-element array.
    pub rules: Value,
    /// `nft -j list ruleset` (includes what iptables-nft made).
    pub ruleset: Value,
    /// Names from `ip netns ls` (sorted).
    pub netns: Vec<String>,
}

/// Removes volatile keys recursively.
fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !VOLATILE.contains(&k.as_str()));
            map.values_mut().for_each(normalise);
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// Runs a command and returns its stdout, or a [`LabError::Command`].
fn stdout_of(cmd: Command) -> Result<String, LabError> {
    let what = describe(&cmd);
    let out = check_output(what, output_with_timeout(cmd, DEFAULT_TIMEOUT))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command printing JSON and parses it (empty output is `null`).
fn json_of(cmd: Command) -> Result<Value, LabError> {
    let what = describe(&cmd);
    let text = stdout_of(cmd)?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let mut value: Value =
        serde_json::from_str(&text).map_err(|source| LabError::Json { what, source })?;
    normalise(&mut value);
    Ok(value)
}

/// Lines of `old` missing from `new` (prefixed `-`) and the reverse (`+`).
fn line_diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut out = String::new();
    for line in a.iter().filter(|l| !b.contains(l)) {
        out.push_str(&format!("- {line}\n"));
    }
    for line in b.iter().filter(|l| !a.contains(l)) {
        out.push_str(&format!("+ {line}\n"));
    }
    out
}

impl Snapshot {
    /// Takes a snapshot using `make(program)` to build each command (so it
    /// works in the lab or any of its namespaces).
    fn take(make: impl Fn(&str) -> Command) -> Result<Snapshot, LabError> {
        let json = |prog: &str, args: &[&str]| {
            let mut cmd = make(prog);
            cmd.args(args);
            json_of(cmd)
        };
        let mut netns_cmd = make("ip");
        netns_cmd.args(["netns", "ls"]);
        let mut netns: Vec<String> = stdout_of(netns_cmd)?
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect();
        netns.sort();
        Ok(Snapshot {
            links: json("ip", &["-j", "link"])?,
            addrs: json("ip", &["-j", "addr"])?,
            routes4: json("ip", &["-j", "route"])?,
            routes6: json("ip", &["-j", "-6", "route"])?,
            rules: Value::Array(vec![
                json("ip", &["-j", "rule"])?,
                json("ip", &["-j", "-6", "rule"])?,
            ]),
            ruleset: json("nft", &["-j", "list", "ruleset"])?,
            netns,
        })
    }

    /// A readable description of what differs from `other` (empty if equal):
    /// per section, the pretty-printed JSON lines only in one of them.
    pub fn diff(&self, other: &Snapshot) -> String {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let sections = [
            ("links", &self.links, &other.links),
            ("addrs", &self.addrs, &other.addrs),
            ("routes4", &self.routes4, &other.routes4),
            ("routes6", &self.routes6, &other.routes6),
            ("rules", &self.rules, &other.rules),
            ("ruleset", &self.ruleset, &other.ruleset),
        ];
        let mut out = String::new();
        for (name, a, b) in sections {
            if a != b {
                out.push_str(&format!("## {name}\n{}", line_diff(&pretty(a), &pretty(b))));
            }
        }
        if self.netns != other.netns {
            out.push_str(&format!(
                "## netns\n- {:?}\n+ {:?}\n",
                self.netns, other.netns
            ));
        }
        out
    }

    /// Panics with [`Snapshot::diff`] unless `other` equals `self`.
    pub fn assert_same(&self, other: &Snapshot) {
        if self != other {
            panic!("network configuration changed:\n{}", self.diff(other));
        }
    }
}

impl Lab {
    /// Snapshot of the lab's own network namespace (the "host").
    pub fn snapshot(&self) -> Result<Snapshot, LabError> {
        Snapshot::take(|prog| self.command(prog))
    }

    /// Snapshot of one of the lab's namespaces (see [`Lab::ns_command`]).
    pub fn snapshot_ns(&self, ns: &str) -> Result<Snapshot, LabError> {
        Snapshot::take(|prog| self.ns_command(ns, prog))
    }
}

/// What the real host shows, read-only: link names in its network namespace
/// and the entries of its `/run/netns`. A lab must leave both unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState {
    /// Sorted link names from `ip -j link` run in the caller's namespaces.
    pub links: Vec<String>,
    /// Sorted entries of `/run/netns` (empty if it does not exist).
    pub netns_files: Vec<String>,
}

/// Reads [`HostState`] of the calling process's namespaces (normally the host).
pub fn host_state() -> Result<HostState, LabError> {
    let mut cmd = Command::new("ip");
    cmd.args(["-j", "link"]);
    let links = json_of(cmd)?;
    let mut names: Vec<String> = links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("ifname")?.as_str().map(String::from))
        .collect();
    names.sort();
    let mut files: Vec<String> = match std::fs::read_dir("/run/netns") {
        Ok(dir) => dir
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(LabError::io("read /run/netns", e)),
    };
    files.sort();
    Ok(HostState {
        links: names,
        netns_files: files,
    })
}
