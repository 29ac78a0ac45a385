//! Reading and writing sysctls of the calling thread's network namespace.
//!
//! Each call opens its keys through a procfs instance of its own (a
//! detached mount made with `fsopen`/`fsmount`, gone when the call
//! returns), not through `/proc`: the kernel keeps one `/proc/sys/net`
//! dentry per network namespace that ever looked it up, all in one hash
//! chain of the procfs instance, and every lookup walks the chain (a
//! spinlock and a comparison per namespace: ~10 ms per open beside 10,000
//! containers, issue 13). A fresh instance holds only this call's
//! namespace. Where the kernel refuses (`fsopen` missing, or denied in a
//! container), `/proc/sys` is used.

use crate::error::{Error, Result};
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};

fn rel_path(key: &str) -> String {
    // In sysctl keys '.' separates levels and '/' stands for a '.' inside a name.
    let swapped: String = key
        .chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect();
    format!("sys/{swapped}")
}

// The mount API's flags (linux/mount.h), not exported by the libc crate.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;

/// A new procfs instance, detached (in no mount namespace; it goes with
/// the returned fd), or `None` where the kernel refuses one. Written by
/// hand: neither nix nor std wraps the mount API.
fn private_proc() -> Option<OwnedFd> {
    // SAFETY: fsopen takes a NUL-terminated name and flags; a returned fd
    // is ours alone.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, c"proc".as_ptr(), FSOPEN_CLOEXEC) };
    if fs < 0 {
        return None;
    }
    // SAFETY: fs is an fd fsopen just returned.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as i32) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fs);
    // SAFETY: FSCONFIG_CMD_CREATE takes no key, value or aux.
    let made = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            raw,
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if made < 0 {
        return None;
    }
    // SAFETY: fsmount takes the configured context's fd and flags.
    let mnt = unsafe { libc::syscall(libc::SYS_fsmount, raw, FSMOUNT_CLOEXEC, 0) };
    // SAFETY: mnt is an fd fsmount just returned.
    (mnt >= 0).then(|| unsafe { OwnedFd::from_raw_fd(mnt as i32) })
}

/// Where this call's sysctls are opened: a procfs instance of its own, or
/// `/proc` (see the module docs).
struct Proc(Option<OwnedFd>);

impl Proc {
    fn new() -> Proc {
        Proc(private_proc())
    }

    /// Opens sysctl `key` for reading or writing.
    fn open(&self, key: &str, write: bool) -> std::io::Result<File> {
        let rel = rel_path(key);
        let Some(root) = &self.0 else {
            let path = format!("/proc/{rel}");
            return std::fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open(path);
        };
        let flags = if write {
            nix::fcntl::OFlag::O_WRONLY
        } else {
            nix::fcntl::OFlag::O_RDONLY
        };
        let fd = nix::fcntl::openat(
            root,
            rel.as_str(),
            flags | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(std::io::Error::from)?;
        Ok(File::from(fd))
    }

    fn read(&self, key: &str) -> std::io::Result<String> {
        std::io::read_to_string(self.open(key, false)?)
    }

    fn write(&self, key: &str, value: &str) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.open(key, true)?, value.as_bytes())
    }

    /// [`write_if_present`] through this instance.
    fn write_if_present(&self, key: &str, value: &str) -> Result<()> {
        match self.write(key, value) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => {
                other.map_err(|e| Error::kernel(format!("cannot set sysctl {key}={value}: {e}")))
            }
        }
    }
}

/// Reads a sysctl (`net.ipv4.ip_forward`), trimmed.
pub fn read(key: &str) -> Result<String> {
    Proc::new()
        .read(key)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::kernel(format!("cannot read sysctl {key}: {e}")))
}

/// Writes a sysctl.
pub fn write(key: &str, value: &str) -> Result<()> {
    Proc::new()
        .write(key, value)
        .map_err(|e| Error::kernel(format!("cannot set sysctl {key}={value}: {e}")))
}

/// Writes a sysctl that exists only where the kernel has the feature (an
/// IPv6 setting on a host booted with `ipv6.disable=1`): missing is fine.
pub fn write_if_present(key: &str, value: &str) -> Result<()> {
    Proc::new().write_if_present(key, value)
}

/// The settings that keep interface `ifname` from being configured by
/// router advertisements (`accept_ra=0`, `autoconf=0`): a container that
/// sends one (ICMPv6 type 134) must not give its host or its neighbours a
/// default route or an address (the CVE-2020-13401 class).
pub fn no_router_advertisements(ifname: &str) -> [(String, &'static str); 2] {
    [
        (iface_key("ipv6", ifname, "accept_ra"), "0"),
        (iface_key("ipv6", ifname, "autoconf"), "0"),
    ]
}

/// IPv6 off on `ifname`: for the host end of a veth, a bridge port, which
/// needs no IPv6 of its own (the bridge has the network's). Off, it has
/// no addresses, takes no router advertisement, and adds no multicast
/// route to the host's table: with one per port, every IPv6 link event on
/// the host walked a table as long as the host's container count
/// (`rt6_sync_down_dev`: ~3% of a `run -d`'s CPU beside 2,700 containers,
/// issue 13).
pub fn no_ipv6(ifname: &str) -> [(String, &'static str); 1] {
    [(iface_key("ipv6", ifname, "disable_ipv6"), "1")]
}

/// Writes `settings` ([`write_if_present`]) in the network namespace `ns`,
/// with the calling thread inside it for the call ([`super::enter`]):
/// sysctls under `/proc/sys/net` are those of the writing thread's
/// namespace.
pub fn write_in(ns: &std::fs::File, settings: &[(String, &str)]) -> Result<()> {
    super::enter::in_netns(ns, || write_all_if_present(settings))
}

/// Writes every one of `settings` ([`write_if_present`]) through one
/// procfs instance (each instance costs a mount and its teardown).
pub fn write_all_if_present(settings: &[(String, &str)]) -> Result<()> {
    Procfs::default().write_all_if_present(settings)
}

/// A procfs instance of its own (see the module docs), made on first use
/// and shared by the writes of one step, in whichever network namespace
/// the calling thread is at each write: the sysctls under `sys/net` are
/// looked up in the writer's namespace, and a fresh instance holds the
/// entries of those few namespaces only. Each instance costs a mount and
/// its teardown (~40 µs): an ADD's host and container ends share one.
#[derive(Default)]
pub struct Procfs(std::cell::OnceCell<Proc>);

impl Procfs {
    /// Reads sysctl `key` ([`read`]) through this instance.
    pub fn read(&self, key: &str) -> Result<String> {
        self.0
            .get_or_init(Proc::new)
            .read(key)
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::kernel(format!("cannot read sysctl {key}: {e}")))
    }

    /// Writes sysctl `key` ([`write`]) through this instance.
    pub fn write(&self, key: &str, value: &str) -> Result<()> {
        self.0
            .get_or_init(Proc::new)
            .write(key, value)
            .map_err(|e| Error::kernel(format!("cannot set sysctl {key}={value}: {e}")))
    }

    /// Writes sysctl `key` if it exists ([`write_if_present`]) through
    /// this instance.
    pub fn write_if_present(&self, key: &str, value: &str) -> Result<()> {
        self.0.get_or_init(Proc::new).write_if_present(key, value)
    }

    /// Writes every one of `settings` ([`write_if_present`]) through this
    /// instance, in the calling thread's network namespace.
    pub fn write_all_if_present(&self, settings: &[(String, &str)]) -> Result<()> {
        if settings.is_empty() {
            return Ok(());
        }
        let proc = self.0.get_or_init(Proc::new);
        settings
            .iter()
            .try_for_each(|(k, v)| proc.write_if_present(k, v))
    }
}

/// Writes `settings` in the network namespace `ns` (like [`write_in`]),
/// each of which must exist there: a key the namespace lacks (a sysctl of
/// the host only, a typo, an interface it has not) is an error naming it.
pub fn write_all_in(ns: &std::fs::File, settings: &[(String, String)]) -> Result<()> {
    super::enter::in_netns(ns, || {
        let proc = Proc::new();
        settings.iter().try_for_each(|(k, v)| {
                proc.write(k, v).map_err(|e| {
                    let why = match e.kind() {
                        std::io::ErrorKind::NotFound => {
                            "no such sysctl in a container's network namespace (it is the host's only, or misspelt)".to_string()
                        }
                        std::io::ErrorKind::PermissionDenied => {
                            "it is not settable per network namespace".to_string()
                        }
                        _ => e.to_string(),
                    };
                    Error::invalid(format!("cannot set sysctl {k}={v}: {why}"))
                })
            })
    })
}

/// Sets a sysctl if it differs; returns the previous value when it changed.
pub fn ensure(key: &str, value: &str) -> Result<Option<String>> {
    let old = read(key)?;
    if old == value {
        return Ok(None);
    }
    write(key, value)?;
    Ok(Some(old))
}

/// The sysctl key of a per-interface setting (`net.ipv4.conf.<if>.<name>`);
/// interface names may contain dots, which sysctl paths spell as '/'.
pub fn iface_key(family: &str, ifname: &str, name: &str) -> String {
    format!("net.{family}.conf.{}.{name}", ifname.replace('.', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_paths_under_proc() {
        assert_eq!(
            rel_path("net.ipv4.conf.eth0/100.accept_ra"),
            "sys/net/ipv4/conf/eth0.100/accept_ra"
        );
    }

    #[test]
    fn reads_through_its_own_procfs_or_proc() {
        assert_eq!(read("kernel.ostype").expect("kernel.ostype"), "Linux");
    }

    #[test]
    fn a_missing_key_is_not_found_either_way() {
        // With or without a procfs of its own (root or not), the same error.
        let e = Proc::new()
            .read("net.berth_no_such_key")
            .expect_err("no such sysctl");
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert!(Proc::new()
            .write_if_present("net.berth_no_such_key", "1")
            .is_ok());
    }
}
