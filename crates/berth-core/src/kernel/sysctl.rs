//! Reading and writing sysctls of the calling thread's network namespace.

use crate::error::{Error, Result};

fn path(key: &str) -> String {
    // In sysctl keys '.' separates levels and '/' stands for a '.' inside a name.
    let swapped: String = key
        .chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect();
    format!("/proc/sys/{swapped}")
}

/// Reads a sysctl (`net.ipv4.ip_forward`), trimmed.
pub fn read(key: &str) -> Result<String> {
    std::fs::read_to_string(path(key))
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::kernel(format!("cannot read sysctl {key}: {e}")))
}

/// Writes a sysctl.
pub fn write(key: &str, value: &str) -> Result<()> {
    std::fs::write(path(key), value)
        .map_err(|e| Error::kernel(format!("cannot set sysctl {key}={value}: {e}")))
}

/// Writes a sysctl that exists only where the kernel has the feature (an
/// IPv6 setting on a host booted with `ipv6.disable=1`): missing is fine.
pub fn write_if_present(key: &str, value: &str) -> Result<()> {
    match std::fs::write(path(key), value) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.map_err(|e| Error::kernel(format!("cannot set sysctl {key}={value}: {e}"))),
    }
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

/// Writes `settings` ([`write_if_present`]) in the network namespace `ns`,
/// from a short-lived thread that enters it: sysctls under `/proc/sys/net`
/// are those of the writing thread's namespace.
pub fn write_in(ns: &std::fs::File, settings: &[(String, &str)]) -> Result<()> {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::kernel(format!("cannot enter network namespace: {e}")))?;
            settings
                .iter()
                .try_for_each(|(k, v)| write_if_present(k, v))
        })
        .join()
        .unwrap_or_else(|_| Err(Error::internal("sysctl thread panicked")))
    })
}

/// Writes `settings` in the network namespace `ns` (like [`write_in`]),
/// each of which must exist there: a key the namespace lacks (a sysctl of
/// the host only, a typo, an interface it has not) is an error naming it.
pub fn write_all_in(ns: &std::fs::File, settings: &[(String, String)]) -> Result<()> {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::kernel(format!("cannot enter network namespace: {e}")))?;
            settings.iter().try_for_each(|(k, v)| {
                std::fs::write(path(k), v).map_err(|e| {
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
        .join()
        .unwrap_or_else(|_| Err(Error::internal("sysctl thread panicked")))
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
