//! A small synchronous client of the cluster store (etcd v3), on the
//! `etcd-client` crate (feature `etcd`). berth is synchronous: the client
//! owns a current-thread tokio runtime and blocks on each request, which
//! times out after a few seconds so that a command fails clearly when etcd
//! is down instead of hanging; a request goes to another member when its
//! member fails (`etcd_failover.rs`), over TLS and as an etcd user when
//! configured so (`etcd_config.rs`). Built without the feature,
//! [`Cluster::connect`] says so. The data layout is in `cluster.rs`.

use super::cluster::{Kv, Watched};
use super::etcd_config::{Credentials, StoreConfig};
use crate::error::{Error, ErrorKind, Result};
use std::time::Duration;

/// How to configure a cluster store, for error messages.
pub const HOW: &str = "give every host's berth the same etcd cluster: --store etcds://HOST:2379[,HOST:2379...] with --store-ca/--store-cert/--store-key (or etcd://... in a lab), or BERTH_STORE=..., and run 'berth agent' on each host";

/// A connection to the cluster store.
pub struct Cluster {
    url: String,
    #[cfg(feature = "etcd")]
    inner: super::etcd_failover::Members,
}

impl Cluster {
    /// Connects to `url` (`etcds://HOST:PORT[,...]` or `etcd://...`) with
    /// `creds` (`etcd_config.rs`).
    pub fn connect(url: &str, creds: &Credentials) -> Result<Cluster> {
        Cluster::with_config(&StoreConfig::new(url, creds)?)
    }

    /// Connects to the store `cfg` describes.
    pub fn with_config(cfg: &StoreConfig) -> Result<Cluster> {
        let url = cfg.url.as_str();
        #[cfg(feature = "etcd")]
        {
            let inner = super::etcd_failover::Members::new(cfg).map_err(|e| store_err(url, e))?;
            Ok(Cluster {
                url: url.to_string(),
                inner,
            })
        }
        #[cfg(not(feature = "etcd"))]
        {
            Err(Error::invalid(format!(
                "this berth was built without the cluster store (cargo feature etcd): cannot use {url}"
            )))
        }
    }

    /// Connects to the configured store `url` (`Config::store`); a clear
    /// error, naming what needs it, when none is.
    pub fn configured(config: &crate::Config, what: &str) -> Result<Cluster> {
        let url = config
            .store
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::invalid(format!("{what} needs a cluster store: {HOW}")))?;
        Cluster::connect(url, &config.store_credentials)
    }

    /// The store's URL as configured.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn store_err(url: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Store,
        format!("cluster store {url}: {e} (is etcd running and reachable from this host?)"),
    )
}

macro_rules! call {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {{
        #[cfg(feature = "etcd")]
        {
            $self.inner.$method($($arg),*).map_err(|e| store_err(&$self.url, e))
        }
        #[cfg(not(feature = "etcd"))]
        {
            $(let _ = $arg;)*
            Err(store_err(&$self.url, "not built with etcd"))
        }
    }};
}

impl Cluster {
    /// Every key under `prefix`, with the store's revision.
    pub fn list(&mut self, prefix: &str) -> Result<(Vec<Kv>, i64)> {
        call!(self, list(prefix))
    }

    /// Every key under `prefix`, without the values (what an allocation
    /// needs: the addresses in use are the keys' last parts).
    pub fn list_keys(&mut self, prefix: &str) -> Result<Vec<String>> {
        call!(self, list_keys(prefix))
    }

    /// The value of `key`.
    pub fn get(&mut self, key: &str) -> Result<Option<Kv>> {
        Ok(self.list_exact(key)?.into_iter().next())
    }

    fn list_exact(&mut self, key: &str) -> Result<Vec<Kv>> {
        call!(self, get(key))
    }

    /// Atomically puts every pair, on `lease` (0: none), if none of the
    /// keys exists yet (compare-and-swap); false when one does.
    pub fn create(&mut self, pairs: &[(String, String)], lease: i64) -> Result<bool> {
        call!(self, create(pairs, lease))
    }

    /// Puts `key` = `new`, on `lease`, if it still holds `old`
    /// (compare-and-swap); false when it changed.
    pub fn swap(&mut self, key: &str, old: &str, new: &str, lease: i64) -> Result<bool> {
        call!(self, swap(key, old, new, lease))
    }

    /// Puts `key`, on `lease` (0: none).
    pub fn put(&mut self, key: &str, value: &str, lease: i64) -> Result<()> {
        call!(self, put(key, value, lease))
    }

    /// Deletes `keys` in one transaction.
    pub fn delete(&mut self, keys: &[String]) -> Result<()> {
        call!(self, delete(keys))
    }

    /// A new lease of `ttl` seconds.
    pub fn grant(&mut self, ttl: i64) -> Result<i64> {
        call!(self, grant(ttl))
    }

    /// Renews `lease`; its remaining TTL, 0 when it has expired.
    pub fn keep_alive(&mut self, lease: i64) -> Result<i64> {
        call!(self, keep_alive(lease))
    }

    /// Waits up to `timeout` for the next changes under `prefix`, through
    /// one watch kept open between calls (opened from revision `after + 1`
    /// by the first call and the first after a break: see `etcd_watch.rs`).
    pub fn watch(&mut self, prefix: &str, after: i64, timeout: Duration) -> Result<Watched> {
        call!(self, watch(prefix, after, timeout))
    }
}
