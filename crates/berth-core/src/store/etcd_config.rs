//! How berth reaches its cluster store (pure apart from reading the files
//! it names): the members from `Config::store` (`--store`), and the
//! credentials from `Config::store_credentials` (`--store-ca`,
//! `--store-cert`, `--store-key`, `--store-auth`), checked before anything
//! is sent.
//!
//! - `etcd://HOST:PORT[,HOST:PORT...]`: plain gRPC, for labs (berth warns);
//! - `etcds://HOST:PORT[,...]`: TLS; the members' certificates are checked
//!   against `--store-ca` (required: berth trusts no system roots for its
//!   cluster), and `--store-cert` + `--store-key` give the client
//!   certificate etcd's `--client-cert-auth` asks for;
//! - `--store-auth FILE`: an etcd user, the file holding `USER:PASSWORD`
//!   on its first line; it must be readable by its owner only, like an ssh
//!   key, since it holds a secret.

use crate::error::{Error, Result};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A cluster store as configured: where and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The URL as given.
    pub url: String,
    /// One gRPC endpoint per member (`http://` or `https://` HOST:PORT).
    pub endpoints: Vec<String>,
    /// TLS material, for `etcds://`.
    pub tls: Option<TlsFiles>,
    /// etcd user and password.
    pub auth: Option<(String, String)>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("StoreConfig")
            .field("url", &self.url)
            .field("tls", &self.tls)
            .field("user", &self.auth.as_ref().map(|a| &a.0))
            .finish()
    }
}

/// The PEM contents of the TLS files.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA that signs the members' certificates.
    pub ca: Vec<u8>,
    /// The client certificate and its key, when etcd asks for one.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

/// The file paths of the credentials, as flags or variables give them.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    /// `--store-ca`.
    pub ca: Option<PathBuf>,
    /// `--store-cert`.
    pub cert: Option<PathBuf>,
    /// `--store-key`.
    pub key: Option<PathBuf>,
    /// `--store-auth`.
    pub auth: Option<PathBuf>,
}

/// The members of `url`: (TLS?, `HOST:PORT` each); None when malformed.
pub fn parse_members(url: &str) -> Option<(bool, Vec<String>)> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("etcds://") {
        (true, r)
    } else {
        (false, url.strip_prefix("etcd://")?)
    };
    let hosts: Vec<String> = rest
        .split(',')
        .map(|h| {
            h.trim()
                .trim_start_matches("etcds://")
                .trim_start_matches("etcd://")
        })
        .filter(|h| !h.is_empty())
        .map(String::from)
        .collect();
    let ok = |h: &String| {
        h.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty()
                && port.parse::<u16>().is_ok_and(|p| p != 0)
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b))
        })
    };
    (!hosts.is_empty() && hosts.iter().all(ok)).then_some((tls, hosts))
}

impl StoreConfig {
    /// The configuration of `url` with `creds`, every file read and checked.
    pub fn new(url: &str, creds: &Credentials) -> Result<StoreConfig> {
        let (tls, members) = parse_members(url).ok_or_else(|| {
            Error::invalid(format!(
                "invalid cluster store {url:?}: expected etcds://HOST:PORT[,HOST:PORT...] (TLS) or etcd://HOST:PORT[,...] (plain, for labs)"
            ))
        })?;
        let scheme = if tls { "https" } else { "http" };
        let tls = tls_files(url, tls, creds)?;
        let auth = creds.auth.as_deref().map(read_auth).transpose()?;
        Ok(StoreConfig {
            url: url.to_string(),
            endpoints: members.iter().map(|m| format!("{scheme}://{m}")).collect(),
            tls,
            auth,
        })
    }

    /// What is wrong with talking to this store over the network, if
    /// anything: a plain `etcd://` store lets anyone on the path read and
    /// forge the cluster's records.
    pub fn warning(&self) -> Option<String> {
        if self.tls.is_some() {
            return None;
        }
        let auth = if self.auth.is_some() {
            " (and sends the etcd password in clear)"
        } else {
            ""
        };
        Some(format!(
            "cluster store {} is plain etcd://: anyone on the network path can read and forge overlay records{auth}; use etcds:// with --store-ca, --store-cert and --store-key outside a lab",
            self.url
        ))
    }
}

fn tls_files(url: &str, tls: bool, c: &Credentials) -> Result<Option<TlsFiles>> {
    if !tls {
        if let Some(flag) = [
            (&c.ca, "--store-ca"),
            (&c.cert, "--store-cert"),
            (&c.key, "--store-key"),
        ]
        .iter()
        .find_map(|(p, f)| p.as_ref().map(|_| *f))
        {
            return Err(Error::invalid(format!(
                "{flag} is given but the cluster store {url} is plain etcd://: write it etcds://... to use TLS"
            )));
        }
        return Ok(None);
    }
    let ca = c.ca.as_deref().ok_or_else(|| {
        Error::invalid(format!(
            "cluster store {url} uses TLS: give the CA that signed its members' certificates with --store-ca FILE (or BERTH_STORE_CA)"
        ))
    })?;
    let identity = match (&c.cert, &c.key) {
        (Some(cert), Some(key)) => Some((read_pem(cert, "--store-cert")?, read_secret(key, "--store-key")?)),
        (None, None) => None,
        _ => {
            return Err(Error::invalid(
                "--store-cert and --store-key go together: give both (the client certificate and its key) or neither",
            ))
        }
    };
    Ok(Some(TlsFiles {
        ca: read_pem(ca, "--store-ca")?,
        identity,
    }))
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::invalid(format!("{flag} {}: {e}", path.display())))
}

fn read_pem(path: &Path, flag: &str) -> Result<Vec<u8>> {
    let pem = read(path, flag)?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN ") {
        return Err(Error::invalid(format!(
            "{flag} {}: not a PEM file (expected -----BEGIN ...)",
            path.display()
        )));
    }
    Ok(pem)
}

/// A file holding a secret: PEM or not, it must not be readable by others.
fn read_secret(path: &Path, flag: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid(format!("{flag} {}: {e}", path.display())))?;
    if meta.mode() & 0o077 != 0 {
        return Err(Error::invalid(format!(
            "{flag} {}: holds a secret but is readable by others (mode {:o}): chmod 600 it",
            path.display(),
            meta.mode() & 0o777
        )));
    }
    read(path, flag)
}

fn read_auth(path: &Path) -> Result<(String, String)> {
    let text = read_secret(path, "--store-auth")?;
    let text = String::from_utf8_lossy(&text);
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    match line.split_once(':') {
        Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
        _ => Err(Error::invalid(format!(
            "--store-auth {}: expected USER:PASSWORD on its first line",
            path.display()
        ))),
    }
}

#[cfg(test)]
#[path = "etcd_config_tests.rs"]
mod tests;
