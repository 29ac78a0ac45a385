//! A container's confinement flags as `berth run` took them (Docker's
//! `HostConfig` fields): `--privileged`, `--cap-add`, `--cap-drop`,
//! `--security-opt`, `--read-only`, `-v HOST:CTR[:ro]`.
//!
//! Stored with the container (a record written before these fields existed
//! reads as all defaults, i.e. Docker's default confinement), so `start`
//! and `exec` apply the same confinement as the first `run`. Capability
//! names are checked and spelled canonically by the front-end (with
//! berth-runtime's table); everything else is validated here.

use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// `-v HOST:CTR[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    /// Absolute, canonical host path (it must exist).
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub target: PathBuf,
    /// `:ro`.
    #[serde(default)]
    pub read_only: bool,
}

impl Bind {
    /// Docker's `HostConfig.Binds` spelling: `HOST:CTR` or `HOST:CTR:ro`.
    pub fn to_docker(&self) -> String {
        let ro = if self.read_only { ":ro" } else { "" };
        format!("{}:{}{ro}", self.source.display(), self.target.display())
    }
}

/// The confinement flags of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SecurityConfig {
    /// `--privileged`.
    #[serde(default)]
    pub privileged: bool,
    /// `--cap-add`, canonical (`CAP_NET_ADMIN`, `ALL`).
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// `--cap-drop`, canonical.
    #[serde(default)]
    pub cap_drop: Vec<String>,
    /// `--security-opt`, normalised: `no-new-privileges=true|false`,
    /// `seccomp=unconfined`.
    #[serde(default)]
    pub security_opt: Vec<String>,
    /// `--read-only` (the rootfs; the host's files are read-only anyway).
    #[serde(default)]
    pub read_only: bool,
    /// `-v` bind mounts.
    #[serde(default)]
    pub binds: Vec<Bind>,
}

impl SecurityConfig {
    /// Whether processes get `no_new_privs`: yes by default, no with
    /// `--privileged`; an explicit `no-new-privileges=...` wins.
    pub fn no_new_privileges(&self) -> bool {
        let explicit = self
            .security_opt
            .iter()
            .rev()
            .find_map(|o| o.strip_prefix("no-new-privileges="));
        match explicit {
            Some(v) => v == "true",
            None => !self.privileged,
        }
    }

    /// Whether the default seccomp filter is installed.
    pub fn seccomp(&self) -> bool {
        !self.privileged && !self.security_opt.iter().any(|o| o == "seccomp=unconfined")
    }
}

/// Parses one `--security-opt` value into its normalised form. berth knows
/// `no-new-privileges[=|:]true|false` (bare: true) and
/// `seccomp[=|:]unconfined`; anything else is refused by name.
pub fn parse_security_opt(s: &str) -> Result<String> {
    let (key, value) = match s.split_once(['=', ':']) {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    };
    match (key, value) {
        ("no-new-privileges", None) => Ok("no-new-privileges=true".into()),
        ("no-new-privileges", Some(v @ ("true" | "false"))) => Ok(format!("no-new-privileges={v}")),
        ("seccomp", Some("unconfined")) => Ok("seccomp=unconfined".into()),
        ("seccomp", Some(_)) => Err(Error::invalid(format!(
            "invalid --security-opt {s:?}: berth has one seccomp filter (Docker's intent); \
             only seccomp=unconfined turns it off, custom profiles are not supported"
        ))),
        _ => Err(Error::invalid(format!(
            "invalid --security-opt {s:?}: berth supports no-new-privileges[=true|false] \
             and seccomp=unconfined"
        ))),
    }
}

/// Whether a path is absolute and free of `..`.
fn clean_absolute(p: &Path) -> bool {
    p.is_absolute() && !p.components().any(|c| c == Component::ParentDir)
}

/// Parses one `-v HOST:CTR[:OPTS]` value. HOST must be an absolute path
/// that exists (berth has no named volumes and, unlike Docker, does not
/// create a missing host directory); CTR an absolute path other than `/`;
/// OPTS `ro` or `rw`. Neither may contain `..`. HOST is made canonical.
pub fn parse_bind(s: &str) -> Result<Bind> {
    let bad = |why: &str| Err(Error::invalid(format!("invalid -v {s:?}: {why}")));
    let parts: Vec<&str> = s.split(':').collect();
    let (host, ctr, opts) = match parts.as_slice() {
        [h, c] => (*h, *c, ""),
        [h, c, o] => (*h, *c, *o),
        _ => return bad("expected HOST:CONTAINER[:ro|rw] (absolute paths)"),
    };
    let read_only = match opts {
        "" | "rw" => false,
        "ro" => true,
        o => return bad(&format!("unknown option {o:?}: use ro or rw")),
    };
    let (host, target) = (Path::new(host), PathBuf::from(ctr));
    if !clean_absolute(host) {
        return bad("the host path must be absolute, without '..' (berth has no named volumes)");
    }
    if !clean_absolute(&target) || target == Path::new("/") {
        return bad("the container path must be absolute, not /, without '..'");
    }
    let source = match std::fs::canonicalize(host) {
        Ok(p) => p,
        Err(_) => return bad("the host path does not exist (berth does not create it)"),
    };
    Ok(Bind {
        source,
        target,
        read_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_opts_like_docker() {
        assert_eq!(
            parse_security_opt("no-new-privileges").unwrap(),
            "no-new-privileges=true"
        );
        assert_eq!(
            parse_security_opt("no-new-privileges:false").unwrap(),
            "no-new-privileges=false"
        );
        assert_eq!(
            parse_security_opt("seccomp=unconfined").unwrap(),
            "seccomp=unconfined"
        );
        for bad in [
            "seccomp=/x.json",
            "apparmor=unconfined",
            "no-new-privileges=maybe",
            "label=disable",
        ] {
            let err = parse_security_opt(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn defaults_and_privileged() {
        let mut s = SecurityConfig::default();
        assert!(s.no_new_privileges() && s.seccomp());
        s.security_opt = vec![
            "no-new-privileges=false".into(),
            "seccomp=unconfined".into(),
        ];
        assert!(!s.no_new_privileges() && !s.seccomp());
        let mut p = SecurityConfig {
            privileged: true,
            ..Default::default()
        };
        assert!(!p.no_new_privileges() && !p.seccomp());
        p.security_opt = vec!["no-new-privileges=true".into()];
        assert!(p.no_new_privileges());
        // A record written before these fields existed: Docker's defaults.
        let old: SecurityConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(old, SecurityConfig::default());
    }

    #[test]
    fn binds_are_validated() {
        let b = parse_bind("/etc:/data:ro").unwrap();
        assert_eq!(b.to_docker(), "/etc:/data:ro");
        assert!(!parse_bind("/etc:/data").unwrap().read_only);
        for (v, why) in [
            ("vol:/data", "absolute"),
            ("/etc:data", "absolute"),
            ("/etc:/", "not /"),
            ("/etc:/a/../b", ".."),
            ("/etc/../etc:/a", ".."),
            ("/etc:/a:rx", "\"rx\""),
            ("/etc", "expected"),
            ("/no/such/dir:/a", "does not exist"),
        ] {
            let err = parse_bind(v).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(v), "{v}: {err}");
        }
    }
}
