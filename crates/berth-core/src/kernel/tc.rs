//! Traffic shaping of a veth (CNI `bandwidth`), through the `tc` command.
//!
//! This is the one place berth spawns a process while attaching a
//! container, and only when the attachment asks for a limit: every other
//! attachment stays on the spawn-free path. Both limits sit on the host end
//! of the veth, so deleting the veth removes them:
//! - into the container: a token bucket (`tbf`) as the root qdisc, which
//!   shapes what the host end sends;
//! - out of the container: a policer on the host end's ingress, which drops
//!   what exceeds the rate (no ifb device to create and clean up).

use crate::error::{Error, Result};
use crate::model::cni::Shaping;
use std::io::Write;
use std::process::{Command, Stdio};

/// The `tc -batch` script limiting `dev` (pure).
pub fn script(dev: &str, s: &Shaping) -> String {
    let mut out = String::new();
    let (rate, burst) = s.ingress;
    if rate > 0 {
        out.push_str(&format!(
            "qdisc add dev {dev} root tbf rate {rate}bit burst {} latency 25ms\n",
            (burst / 8).max(1)
        ));
    }
    let (rate, burst) = s.egress;
    if rate > 0 {
        out.push_str(&format!("qdisc add dev {dev} handle ffff: ingress\n"));
        out.push_str(&format!(
            "filter add dev {dev} parent ffff: protocol all prio 1 u32 match u32 0 0 police rate {rate}bit burst {} drop\n",
            (burst / 8).max(1)
        ));
    }
    out
}

/// Applies the limits of `s` to `dev` (one `tc -batch -` process).
pub fn shape(dev: &str, s: &Shaping) -> Result<()> {
    let text = script(dev, s);
    if text.is_empty() {
        return Ok(());
    }
    let mut child = Command::new("tc")
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::kernel(format!("cannot run tc (install iproute2): {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(Error::kernel(format!(
            "tc refused the bandwidth limits of {dev}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_sit_on_the_host_end() {
        let s = Shaping {
            ingress: (1_000_000, 80_000),
            egress: (0, 0),
        };
        assert_eq!(
            script("veth1", &s),
            "qdisc add dev veth1 root tbf rate 1000000bit burst 10000 latency 25ms\n"
        );
        let both = Shaping {
            ingress: (1, 8),
            egress: (2_000, 16),
        };
        let text = script("veth1", &both);
        assert!(text.contains("ingress\n") && text.contains("police rate 2000bit burst 2 drop"));
        assert_eq!(script("veth1", &Shaping::default()), "");
    }
}
