//! Traffic shaping of a veth (CNI `bandwidth`), through the `tc` command.
//!
//! This is the one place berth spawns a process while attaching a
//! container, and only when the attachment asks for a limit: every other
//! attachment stays on the spawn-free path. As the reference `bandwidth`
//! plugin does:
//! - into the container: a token bucket (`tbf`) as the root qdisc of the
//!   host end of the veth, which shapes what it sends to the container;
//! - out of the container: what the host end receives is redirected
//!   (`mirred`) to an ifb device whose root qdisc is a token bucket. The
//!   ifb ([`ifb_name`]) is created here and deleted with the veth.

use super::msg;
use super::netlink::Netlink;
use crate::error::{Error, Result};
use crate::model::cni::Shaping;
use std::io::Write;
use std::process::{Command, Stdio};

pub use crate::plan::ifb_name;

/// A `tbf` of `rate` bits/s and `burst` bits as the root qdisc of `dev`.
fn tbf(dev: &str, (rate, burst): (u64, u64)) -> String {
    format!(
        "qdisc add dev {dev} root tbf rate {rate}bit burst {} latency 25ms\n",
        (burst / 8).max(1)
    )
}

/// The `tc -batch` script limiting host veth `dev` (pure).
pub fn script(dev: &str, s: &Shaping) -> String {
    let mut out = String::new();
    if s.ingress.0 > 0 {
        out.push_str(&tbf(dev, s.ingress));
    }
    if s.egress.0 > 0 {
        let ifb = ifb_name(dev);
        out.push_str(&format!("qdisc add dev {dev} handle ffff: ingress\n"));
        out.push_str(&format!(
            "filter add dev {dev} parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev {ifb}\n"
        ));
        out.push_str(&tbf(&ifb, s.egress));
    }
    out
}

/// Applies the limits of `s` to host veth `dev`: the ifb device if egress
/// is limited (through `nl`, the host's netlink socket), then one
/// `tc -batch -` process.
pub fn shape(nl: &mut Netlink, dev: &str, s: &Shaping) -> Result<()> {
    let text = script(dev, s);
    if text.is_empty() {
        return Ok(());
    }
    if s.egress.0 > 0 {
        let ifb = ifb_name(dev);
        nl.run(vec![msg::new_ifb(&ifb), msg::link_up(&ifb)])?;
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
    fn limits_sit_on_the_host_end_and_its_ifb() {
        let s = Shaping {
            ingress: (1_000_000, 80_000),
            egress: (0, 0),
        };
        assert_eq!(
            script("veth1234567", &s),
            "qdisc add dev veth1234567 root tbf rate 1000000bit burst 10000 latency 25ms\n"
        );
        let both = Shaping {
            ingress: (1, 8),
            egress: (2_000, 16),
        };
        let text = script("veth1234567", &both);
        assert!(text.contains("ingress\n") && text.contains("redirect dev bwb1234567"));
        assert!(text.contains("qdisc add dev bwb1234567 root tbf rate 2000bit burst 2 "));
        assert_eq!(script("veth1234567", &Shaping::default()), "");
        assert_eq!(ifb_name("veth1234567"), "bwb1234567");
    }
}
