//! Making a packet *arrive* on a host interface (the uplink) the way one
//! from another machine would, for `berth trace` from an outside address.
//!
//! [`Injector`] creates a temporary veth of berth's own (`btraceXXXXXX`,
//! IPv6 off, no addresses) whose egress a tc filter redirects to the
//! ingress of the target interface (`mirred ingress redirect`); an
//! AF_PACKET socket sends the frame on it. The target interface itself is
//! not changed. The veth is deleted on drop, and links left by a trace
//! that died are removed by [`remove_stale_injectors`]. This is the only
//! part of berth that spawns `ip` and `tc`; it is off every hot path.

use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;

fn run(args: &[&str]) -> Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| Error::kernel(format!("cannot run {}: {e}", args[0])))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::kernel(format!(
        "{} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// A temporary veth whose egress is redirected to the ingress of another
/// interface (see the module docs); deleted on drop.
pub struct Injector {
    name: String,
    index: u32,
}

impl Injector {
    /// Prepares injection into `target`'s ingress in the caller's namespace.
    pub fn new(target: &str) -> Result<Injector> {
        let tag = std::process::id() & 0xff_ffff;
        let name = format!("btrace{tag:06x}");
        let peer = format!("btpeer{tag:06x}");
        run(&[
            "ip", "link", "add", &name, "type", "veth", "peer", "name", &peer,
        ])?;
        let mut inj = Injector { name, index: 0 };
        for dev in [&inj.name, &peer] {
            // No router solicitations or neighbour discovery leaking out.
            let _ = crate::kernel::sysctl::write(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "1");
        }
        run(&["ip", "link", "set", &peer, "up"])?;
        run(&["ip", "link", "set", &inj.name, "up"])?;
        run(&["tc", "qdisc", "add", "dev", &inj.name, "clsact"])?;
        run(&[
            "tc", "filter", "add", "dev", &inj.name, "egress", "protocol", "all", "u32", "match",
            "u32", "0", "0", "action", "mirred", "ingress", "redirect", "dev", target,
        ])?;
        let cname = std::ffi::CString::new(inj.name.as_str())
            .map_err(|_| Error::internal("link name contains a NUL byte"))?;
        // SAFETY: a NUL-terminated name, read only during the call.
        inj.index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if inj.index == 0 {
            return Err(Error::kernel(format!("probe: link {} vanished", inj.name)));
        }
        Ok(inj)
    }

    /// Sends `frame` (Ethernet) so that it arrives on the target interface.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: plain socket(2); the fd is owned right away.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        if fd < 0 {
            return Err(Error::kernel(format!(
                "probe: cannot open a packet socket: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        // SAFETY: an all-zero sockaddr_ll is valid; fields are set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.index as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(frame.get(..6).unwrap_or(&[0; 6]));
        // SAFETY: buffer and address are valid for the given lengths.
        let n = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if n < 0 {
            return Err(Error::kernel(format!(
                "probe: cannot send the injected packet: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }
}

impl Drop for Injector {
    fn drop(&mut self) {
        let _ = run(&["ip", "link", "del", &self.name]);
    }
}

/// Deletes injection links left by trace processes that died (their name
/// carries the PID).
pub fn remove_stale_injectors(links: &[String], alive: impl Fn(u32) -> bool) {
    for name in links {
        let Some(tag) = name.strip_prefix("btrace") else {
            continue;
        };
        if u32::from_str_radix(tag, 16).is_ok_and(|pid| !alive(pid)) {
            let _ = run(&["ip", "link", "del", name]);
        }
    }
}
