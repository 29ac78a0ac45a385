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
