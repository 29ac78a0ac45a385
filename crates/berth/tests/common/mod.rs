//! Shared helpers of berth's integration tests: a lab with the berth binary.
#![allow(dead_code)]

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
        B { lab: Lab::new(name).expect("lab") }
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
        assert!(!out.status.success(), "berth {args} should fail but printed {}", String::from_utf8_lossy(&out.stdout));
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
        self.ok(&format!("inspect -f '{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}' {name}")).trim().to_string()
    }

    /// Starts a detached busybox container that just sleeps.
    pub fn sleeper(&self, name: &str, extra: &str) -> String {
        self.ok(&format!("run -d --name {name} {extra} busybox sleep 3600")).trim().to_string()
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

/// Output's stdout as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
