//! The plugin's parameters: `CNI_*` environment variables, checked per
//! command the way the spec and libcni's `skel` do (error 4 names the
//! missing or invalid variables).

use crate::error::{code, CniError};

/// A CNI operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Attach a container.
    Add,
    /// Detach it (idempotent, best effort).
    Del,
    /// Check that an attachment is as ADD left it.
    Check,
    /// Free every attachment of the network not listed as valid.
    Gc,
    /// Can the plugin serve ADD?
    Status,
    /// Which versions does the plugin speak?
    Version,
}

impl Command {
    /// Parses `CNI_COMMAND`.
    pub fn parse(s: &str) -> Option<Command> {
        Some(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            "VERSION" => Command::Version,
            _ => return None,
        })
    }

    /// The command as the runtime spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Gc => "GC",
            Command::Status => "STATUS",
            Command::Version => "VERSION",
        }
    }
}

/// The checked environment of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `CNI_COMMAND`.
    pub command: Command,
    /// `CNI_CONTAINERID` (empty for GC, STATUS, VERSION).
    pub container_id: String,
    /// `CNI_NETNS` (required by ADD and CHECK, optional for DEL).
    pub netns: Option<String>,
    /// `CNI_IFNAME` (empty for GC, STATUS, VERSION).
    pub ifname: String,
    /// `CNI_ARGS` as `KEY=VALUE` pairs.
    pub args: Vec<(String, String)>,
}

impl Env {
    /// The value of `key` in `CNI_ARGS` (`IP`, `MAC`...).
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn invalid_env(msg: impl Into<String>, details: impl Into<String>) -> CniError {
    CniError::new(code::INVALID_ENV, msg, details)
}

/// Checks a container id: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_container_id(id: &str) -> Result<(), CniError> {
    let mut chars = id.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Ok(());
    }
    Err(invalid_env(
        "invalid characters in CNI_CONTAINERID",
        format!("CNI_CONTAINERID={id:?}: it must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
    ))
}

/// Checks an interface name: 1 to 15 printable ASCII characters, not
/// `.`/`..`, none of `/ : " ' \ * %` (Linux refuses `/` and `:`; a quote
/// or backslash would change nftables text, `*` is a wildcard there, and
/// the kernel replaces `%d` by a number). The same rule as berth-core's
/// `ids::validate_ifname` (this crate is pure and depends on nothing of
/// berth's), with the protocol's error code.
pub fn validate_ifname(name: &str) -> Result<(), CniError> {
    let bad = name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| !c.is_ascii_graphic() || "/:\"'\\*%".contains(c));
    if bad {
        return Err(invalid_env(
            "invalid CNI_IFNAME",
            format!(
                "CNI_IFNAME={name:?}: an interface name has 1 to 15 printable characters, is not . or .., and has no spaces, '/', ':', quotes, '\\', '*' or '%'"
            ),
        ));
    }
    Ok(())
}

/// Parses `CNI_ARGS` (`K=V;K2=V2`); a pair without `=` is error 4.
fn parse_args(s: &str) -> Result<Vec<(String, String)>, CniError> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    invalid_env(
                        "invalid CNI_ARGS",
                        format!("CNI_ARGS pair {p:?} is not KEY=VALUE"),
                    )
                })
        })
        .collect()
}

/// Reads and checks the environment through `get` (`std::env::var` in the
/// plugin, a map in tests).
pub fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Env, CniError> {
    let var = |k: &str| get(k).filter(|v| !v.is_empty());
    let raw = var("CNI_COMMAND").ok_or_else(|| {
        invalid_env(
            "required env variables [CNI_COMMAND] missing",
            "set CNI_COMMAND to ADD, DEL, CHECK, GC, STATUS or VERSION",
        )
    })?;
    let command = Command::parse(&raw).ok_or_else(|| {
        invalid_env(
            format!("unknown CNI_COMMAND: {raw}"),
            "CNI_COMMAND is one of ADD, DEL, CHECK, GC, STATUS, VERSION",
        )
    })?;
    let needed: &[&str] = match command {
        Command::Add | Command::Check => &["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
        Command::Del => &["CNI_CONTAINERID", "CNI_IFNAME"],
        Command::Gc | Command::Status | Command::Version => &[],
    };
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|k| var(k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(invalid_env(
            format!("required env variables [{}] missing", missing.join(",")),
            format!("{} needs {}", command.as_str(), needed.join(", ")),
        ));
    }
    let container_id = var("CNI_CONTAINERID").unwrap_or_default();
    let ifname = var("CNI_IFNAME").unwrap_or_default();
    if !needed.is_empty() {
        validate_container_id(&container_id)?;
        validate_ifname(&ifname)?;
    }
    Ok(Env {
        command,
        container_id,
        netns: var("CNI_NETNS"),
        ifname,
        args: parse_args(&var("CNI_ARGS").unwrap_or_default())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<Env, CniError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(|k| m.get(k).cloned())
    }

    #[test]
    fn add_needs_everything_del_no_netns() {
        let e = env(&[("CNI_COMMAND", "ADD"), ("CNI_IFNAME", "eth0")]).unwrap_err();
        assert_eq!(e.code, code::INVALID_ENV);
        assert!(e.msg.contains("CNI_CONTAINERID,CNI_NETNS"), "{e}");
        let del = env(&[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", "IgnoreUnknown=1;IP=10.0.0.5"),
        ])
        .unwrap();
        assert_eq!(del.netns, None);
        assert_eq!(del.arg("IP"), Some("10.0.0.5"));
        assert!(env(&[("CNI_COMMAND", "VERSION")]).is_ok());
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("CNI_CONTAINERID", "-x"),
            ("CNI_IFNAME", "eth0:1"),
            ("CNI_IFNAME", "averyverylongname"),
            ("CNI_IFNAME", "eth\"0"),
            ("CNI_IFNAME", "eth%d"),
            ("CNI_IFNAME", "eth 0"),
            ("CNI_ARGS", "novalue"),
        ] {
            let mut vars = vec![
                ("CNI_COMMAND", "ADD"),
                ("CNI_CONTAINERID", "c1"),
                ("CNI_NETNS", "/run/netns/c1"),
                ("CNI_IFNAME", "eth0"),
            ];
            vars.retain(|(name, _)| *name != k);
            vars.push((k, v));
            let e = env(&vars).unwrap_err();
            assert_eq!(e.code, code::INVALID_ENV);
            assert!(e.to_string().contains(k), "{k}: {e}");
        }
        let e = env(&[("CNI_COMMAND", "BOOM")]).unwrap_err();
        assert!(e.msg.contains("BOOM"));
    }
}
