//! Driving berth as a CNI plugin the way a runtime does: environment
//! variables and the configuration on stdin, one process per call; and
//! configuration lists run like libcni (ADD in order with `prevResult`
//! chaining, CHECK in order and DEL in reverse with the final result),
//! mixing berth with the reference plugins in /usr/lib/cni.
#![allow(dead_code)]

use crate::common::{B, BERTH};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where Debian's containernetworking-plugins are (scripts/deps installs them).
pub const CNI_BIN: &str = "/usr/lib/cni";

/// One attachment: container id, namespace (`/run/netns/NAME` in the lab)
/// and interface.
#[derive(Debug, Clone)]
pub struct Att {
    /// `CNI_CONTAINERID`.
    pub cid: String,
    /// `CNI_NETNS`.
    pub netns: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
}

impl Att {
    /// Container `cid` in a new lab namespace of the same name, as `eth0`.
    pub fn new(b: &B, cid: &str) -> Att {
        b.lab.add_netns(cid).expect("netns");
        Att {
            cid: cid.into(),
            netns: format!("/run/netns/{cid}"),
            ifname: "eth0".into(),
        }
    }
}

/// What a plugin call printed.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Exit status 0.
    pub ok: bool,
    /// stdout as JSON (`Null` when empty).
    pub json: Value,
    /// stderr.
    pub stderr: String,
}

impl Reply {
    /// The error code of a failed call.
    pub fn code(&self) -> u64 {
        assert!(!self.ok, "expected a failure, got {}", self.json);
        self.json["code"]
            .as_u64()
            .unwrap_or_else(|| panic!("no error code in {} ({})", self.json, self.stderr))
    }

    /// The result of a successful call.
    pub fn result(&self) -> &Value {
        assert!(self.ok, "plugin failed: {} {}", self.json, self.stderr);
        &self.json
    }

    /// The error's `msg` and `details`.
    pub fn message(&self) -> String {
        format!("{} {}", self.json["msg"], self.json["details"])
    }
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

/// Runs plugin binary `bin` with `CNI_COMMAND=cmd`, the variables of `att`
/// (or none), `extra` variables and `conf` on stdin.
pub fn call(b: &B, bin: &str, cmd: &str, att: Option<&Att>, extra: &str, conf: &Value) -> Reply {
    let dir = b.lab.root().join("cni-stdin");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.json", CALLS.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&file, conf.to_string()).unwrap();
    let vars = match att {
        Some(a) => format!(
            "CNI_CONTAINERID={} CNI_NETNS={} CNI_IFNAME={}",
            a.cid, a.netns, a.ifname
        ),
        None => String::new(),
    };
    let script = format!(
        "CNI_COMMAND={cmd} CNI_PATH={CNI_BIN} {vars} {extra} {bin} < {}",
        file.display()
    );
    let out = b.lab.sh(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    Reply {
        ok: out.status.success(),
        json: serde_json::from_str(text.trim()).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs berth as a plugin.
pub fn berth(b: &B, cmd: &str, att: &Att, conf: &Value) -> Reply {
    call(b, BERTH, cmd, Some(att), "", conf)
}

/// A berth plugin configuration for network `name` on `subnet`, with the
/// keys of `extra` added (or replaced).
pub fn conf(name: &str, subnet: &str, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.1.0",
        "name": name,
        "type": "berth",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]]}
    });
    if let (Some(m), Value::Object(e)) = (c.as_object_mut(), extra) {
        m.extend(e);
    }
    c
}

/// `conf` with `runtimeConfig.portMappings` publishing `host` to `container`.
pub fn with_port(mut conf: Value, host: u16, container: u16) -> Value {
    conf["runtimeConfig"] = json!({"portMappings": [{"hostPort": host, "containerPort": container, "protocol": "tcp"}]});
    conf
}

/// A configuration list run as libcni runs it.
pub struct Chain {
    /// `{cniVersion, name, plugins: [...]}`.
    pub list: Value,
    /// Capability arguments the runtime offers (`portMappings`, `bandwidth`...).
    pub runtime: Value,
}

impl Chain {
    fn binary(t: &str) -> String {
        if t == "berth" {
            BERTH.to_string()
        } else {
            format!("{CNI_BIN}/{t}")
        }
    }

    /// The configuration of plugin `p` for one call: `cniVersion` and
    /// `name` from the list, `runtimeConfig` from the capabilities it
    /// declares, `prevResult` when given.
    fn plugin_conf(&self, p: &Value, prev: Option<&Value>) -> Value {
        let mut c = p.clone();
        c["cniVersion"] = self.list["cniVersion"].clone();
        c["name"] = self.list["name"].clone();
        let mut rt = serde_json::Map::new();
        if let Some(caps) = p["capabilities"].as_object() {
            for (k, on) in caps {
                if on.as_bool() == Some(true) && !self.runtime[k].is_null() {
                    rt.insert(k.clone(), self.runtime[k].clone());
                }
            }
        }
        if let Some(m) = c.as_object_mut() {
            m.remove("capabilities");
            if !rt.is_empty() {
                m.insert("runtimeConfig".into(), Value::Object(rt));
            }
            if let Some(prev) = prev {
                m.insert("prevResult".into(), prev.clone());
            }
        }
        c
    }

    fn plugins(&self) -> Vec<Value> {
        self.list["plugins"].as_array().cloned().unwrap_or_default()
    }

    /// ADD through every plugin; the final result.
    pub fn add(&self, b: &B, att: &Att) -> Result<Value, Reply> {
        let mut prev: Option<Value> = None;
        for p in self.plugins() {
            let t = p["type"].as_str().unwrap_or_default().to_string();
            let r = call(
                b,
                &Self::binary(&t),
                "ADD",
                Some(att),
                "",
                &self.plugin_conf(&p, prev.as_ref()),
            );
            if !r.ok {
                return Err(r);
            }
            prev = Some(r.json);
        }
        Ok(prev.unwrap_or(Value::Null))
    }

    /// CHECK through every plugin with the final ADD result.
    pub fn check(&self, b: &B, att: &Att, result: &Value) -> Result<(), Reply> {
        for p in self.plugins() {
            let t = p["type"].as_str().unwrap_or_default().to_string();
            let r = call(
                b,
                &Self::binary(&t),
                "CHECK",
                Some(att),
                "",
                &self.plugin_conf(&p, Some(result)),
            );
            if !r.ok {
                return Err(r);
            }
        }
        Ok(())
    }

    /// DEL through every plugin, in reverse, with the final ADD result.
    pub fn del(&self, b: &B, att: &Att, result: &Value) -> Result<(), Reply> {
        for p in self.plugins().iter().rev() {
            let t = p["type"].as_str().unwrap_or_default().to_string();
            let r = call(
                b,
                &Self::binary(&t),
                "DEL",
                Some(att),
                "",
                &self.plugin_conf(p, Some(result)),
            );
            if !r.ok {
                return Err(r);
            }
        }
        Ok(())
    }
}

/// Elements of berth's `ports4` map, as text.
pub fn ports4(b: &B) -> String {
    b.sh("nft list map inet berth ports4")
}

/// True when link `name` exists in the lab (or in netns `ns`).
pub fn link_exists(b: &B, ns: Option<&str>, name: &str) -> bool {
    let n = ns.map(|n| format!("-n {n} ")).unwrap_or_default();
    b.try_sh(&format!("ip {n}link show {name} >/dev/null 2>&1"))
}

/// Names of the containers `berth network inspect` lists on `net`, sorted.
pub fn members(b: &B, net: &str) -> String {
    let out = b.ok(&format!(
        "network inspect {net} -f '{{{{range .Containers}}}}{{{{.Name}}}} {{{{end}}}}'"
    ));
    let mut v: Vec<&str> = out.split_whitespace().collect();
    v.sort();
    v.join(" ")
}

/// berth's link group of retired veths (`berth_core::kernel::retire`).
pub const RETIRED_GROUP: u32 = 0x6265_7264;

/// After a DEL: host end `name` is out of service at once — gone, or
/// retired (down, off its bridge, in berth's retired group) — and deleted
/// by the background reaper within 10 s.
pub fn retired_then_gone(b: &B, name: &str) {
    let out = b.sh(&format!(
        "ip -j -d link show {name} 2>/dev/null || echo '[]'"
    ));
    let links: Value = serde_json::from_str(out.trim()).unwrap_or(json!([]));
    if let Some(l) = links.get(0) {
        assert!(l["master"].is_null(), "{name} is still a bridge port: {l}");
        let up = l["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "UP"));
        assert!(!up, "{name} is still up: {l}");
        assert_eq!(
            l["group"].as_str(),
            Some(RETIRED_GROUP.to_string().as_str()),
            "{name} is not in the retired group: {l}"
        );
    }
    reaped(b);
    assert!(!link_exists(b, None, name), "{name} was not deleted");
}

/// Waits (10 s at most) until the lab's host has no retired veth left,
/// then (10 s more at most) until the reaper has left too: it stays a
/// second after its last work (`berth_core::kernel::reaper::IDLE`), and a
/// snapshot of the lab (`common::Kernel`) taken after this must not
/// count it.
pub fn reaped(b: &B) {
    let cmd = format!("ip -o link show group {RETIRED_GROUP} | wc -l");
    if !(0..100).any(|_| {
        let gone = b.sh(&cmd).trim() == "0";
        if !gone {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        gone
    }) {
        panic!(
            "retired veths not deleted within 10 s: {}",
            b.sh(&format!("ip -d link show group {RETIRED_GROUP}"))
        );
    }
    let left = (0..100).any(|_| {
        let gone = b.try_sh("! pgrep -f '_[_]reap' >/dev/null");
        if !gone {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        gone
    });
    assert!(left, "the reaper did not leave within 10 s");
}

/// Whether namespace `ns` pings `ip` (one packet, 2 s).
pub fn pings(b: &B, ns: &str, ip: &str) -> bool {
    b.try_sh(&format!(
        "ip netns exec {ns} busybox ping -c1 -W2 {ip} >/dev/null"
    ))
}

/// The host end of the veth of an ADD result (interfaces[1]).
pub fn host_veth(result: &Value) -> String {
    result["interfaces"][1]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
