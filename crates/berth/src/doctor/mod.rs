//! `berth doctor`: what breaks container networking on this host, and what
//! to do about it.
//!
//! Two halves: [`facts`] reads the host and the store (read-only: netlink
//! dumps, nft listings, sysctls, the state store opened without recovery)
//! into a [`facts::Facts`] value; the checks ([`host`], [`firewall`],
//! [`ruleset`], [`objects`], [`dns`]) turn facts into [`Finding`]s and are
//! pure, so each is unit-tested on hand-made facts. Every finding is one
//! line: its status, the check's name, what was found and what to do.

pub mod cluster;
pub mod dns;
pub mod facts;
pub mod firewall;
pub mod host;
pub mod objects;
pub mod ruleset;

use anyhow::Result;
use serde::Serialize;
use std::path::Path;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Something to look at; containers may still work.
    Warn,
    /// Container networking is broken here.
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// ok, warn or fail.
    pub status: Status,
    /// The check's name (`forwarding`, `ruleset`, ...).
    pub check: &'static str,
    /// What was found.
    pub found: String,
    /// What to do (for warn and fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// A passing finding.
    pub fn ok(check: &'static str, found: impl Into<String>) -> Finding {
        Finding {
            status: Status::Ok,
            check,
            found: found.into(),
            fix: None,
        }
    }

    /// A warning with what to do.
    pub fn warn(check: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Warn,
            check,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }

    /// A failure with what to do.
    pub fn fail(check: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Fail,
            check,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Every check, in display order, on `f`.
pub fn check_all(f: &facts::Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(host::forwarding(f));
    out.extend(host::routing_guard(f));
    out.extend(firewall::forward_policy(f));
    out.extend(firewall::br_netfilter(f));
    out.extend(host::subnets(f));
    out.extend(host::default_route(f));
    out.extend(ruleset::check(f));
    out.extend(objects::links(f));
    out.extend(objects::namespaces(f));
    out.extend(objects::operations(f));
    out.extend(dns::check(&f.dns));
    out
}

/// One line of text per finding: `STATUS CHECK FOUND[ -> FIX]`.
pub fn render_text(findings: &[Finding]) -> String {
    let width = findings.iter().map(|f| f.check.len()).max().unwrap_or(0);
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!(
            "{:<4}  {:<width$}  {}",
            f.status.word(),
            f.check,
            f.found
        ));
        if let Some(fix) = &f.fix {
            s.push_str(&format!(" -> {fix}"));
        }
        s.push('\n');
    }
    s
}

/// `berth doctor [--format text|json]`: prints the findings; exit status 1
/// when any check fails.
pub fn run(root: Option<&Path>, format: Option<&str>) -> Result<i32> {
    let mut findings = match facts::gather(root) {
        Ok(f) => check_all(&f),
        Err(e) => vec![Finding::fail(
            "doctor",
            format!(
                "cannot read the host's state: {}",
                crate::config::report(&e)
            ),
            "run berth doctor as root (sudo berth doctor)",
        )],
    };
    findings.extend(cluster::check(&cluster::gather(root)));
    match format {
        Some("json") => println!("{}", serde_json::to_string_pretty(&findings)?),
        None | Some("text") => print!("{}", render_text(&findings)),
        Some(other) => anyhow::bail!("unknown --format {other:?}: use text or json"),
    }
    let failed = findings.iter().any(|f| f.status == Status::Fail);
    Ok(i32::from(failed))
}

#[cfg(test)]
mod tests;
