//! `run`'s confinement flags (`--privileged`, `--cap-add`, `--cap-drop`,
//! `--security-opt`, `--read-only`, `-v`) into the stored
//! [`SecurityConfig`], and a stored one into berth-runtime's
//! [`Confinement`] and bind mounts, for `run`, `start` and `exec` alike.

use crate::cli::RunArgs;
use anyhow::{anyhow, Result};
use berth_core::model::{parse_bind, parse_security_opt, SecurityConfig};
use berth_runtime::caps::{canonical, container_mask, parse_cap, CapName};
use berth_runtime::{BindMount, Confinement};
use std::path::{Path, PathBuf};

/// Validates the flags (nothing is created): capability names, security
/// options, `-v` values and where their targets can go.
pub fn security(a: &RunArgs, rootfs: Option<&Path>, hidden: &[PathBuf]) -> Result<SecurityConfig> {
    let names = |flag: &str, values: &[String]| -> Result<Vec<String>> {
        values
            .iter()
            .map(|v| {
                parse_cap(v)
                    .map(canonical)
                    .map_err(|e| anyhow!("invalid --{flag}: {e}"))
            })
            .collect()
    };
    let security_opt = a
        .security_opt
        .iter()
        .map(|o| parse_security_opt(o))
        .collect::<Result<Vec<_>, _>>()?;
    let binds = a
        .volume
        .iter()
        .map(|v| parse_bind(v))
        .collect::<Result<Vec<_>, _>>()?;
    let sec = SecurityConfig {
        privileged: a.privileged,
        cap_add: names("cap-add", &a.cap_add)?,
        cap_drop: names("cap-drop", &a.cap_drop)?,
        security_opt,
        read_only: a.read_only,
        binds,
    };
    berth_runtime::validate_mounts(rootfs, sec.privileged, hidden, &mounts(&sec))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(sec)
}

/// Parsed capability names (stored ones were validated by `run`).
fn caps(names: &[String]) -> Vec<CapName> {
    names.iter().filter_map(|n| parse_cap(n).ok()).collect()
}

/// The runtime's confinement for a stored configuration; `hidden` are
/// berth's own directories (unused by `exec`, which joins the mounts).
pub fn confinement(sec: &SecurityConfig, hidden: &[PathBuf]) -> Confinement {
    Confinement {
        capabilities: container_mask(sec.privileged, &caps(&sec.cap_add), &caps(&sec.cap_drop)),
        no_new_privs: sec.no_new_privileges(),
        seccomp: sec.seccomp(),
        privileged: sec.privileged,
        read_only: sec.read_only,
        hidden: hidden.to_vec(),
    }
}

/// The `-v` mounts for the runtime.
pub fn mounts(sec: &SecurityConfig) -> Vec<BindMount> {
    sec.binds
        .iter()
        .map(|b| BindMount {
            source: b.source.clone(),
            target: b.target.clone(),
            read_only: b.read_only,
        })
        .collect()
}
