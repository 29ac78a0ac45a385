//! A small synchronous client of the cluster store (etcd v3), on the
//! `etcd-client` crate (feature `etcd`). berth is synchronous: the client
//! owns a current-thread tokio runtime and blocks on each request, which
//! times out after a few seconds so that a command fails clearly when etcd
//! is down instead of hanging. Built without the feature, [`Cluster::connect`]
//! says so. The data layout is in `cluster.rs`.

use super::cluster::{parse_url, Kv};
use crate::error::{Error, ErrorKind, Result};
use std::time::Duration;

/// How to configure a cluster store, for error messages.
pub const HOW: &str = "give every host's berth the same etcd cluster: --store etcd://HOST:2379[,HOST:2379...] or BERTH_STORE=etcd://HOST:2379, and run 'berth agent' on each host";

/// A connection to the cluster store.
pub struct Cluster {
    url: String,
    #[cfg(feature = "etcd")]
    inner: imp::Inner,
}

impl Cluster {
    /// Connects to `url` (`etcd://HOST:PORT[,...]`).
    pub fn connect(url: &str) -> Result<Cluster> {
        let endpoints = parse_url(url).ok_or_else(|| {
            Error::invalid(format!(
                "invalid cluster store {url:?}: expected etcd://HOST:PORT[,HOST:PORT...]"
            ))
        })?;
        #[cfg(feature = "etcd")]
        {
            let inner = imp::Inner::connect(&endpoints).map_err(|e| store_err(url, e))?;
            Ok(Cluster {
                url: url.to_string(),
                inner,
            })
        }
        #[cfg(not(feature = "etcd"))]
        {
            let _ = endpoints;
            Err(Error::invalid(format!(
                "this berth was built without the cluster store (cargo feature etcd): cannot use {url}"
            )))
        }
    }

    /// Connects to the configured store `url` (`Config::store`); a clear
    /// error, naming what needs it, when none is.
    pub fn configured(url: Option<&str>, what: &str) -> Result<Cluster> {
        let url = url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::invalid(format!("{what} needs a cluster store: {HOW}")))?;
        Cluster::connect(url)
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

    /// Waits up to `timeout` for a change under `prefix` after revision
    /// `after`; true when something changed.
    pub fn wait(&mut self, prefix: &str, after: i64, timeout: Duration) -> Result<bool> {
        call!(self, wait(prefix, after, timeout))
    }
}

#[cfg(feature = "etcd")]
mod imp {
    use super::super::cluster::Kv;
    use etcd_client::{
        Client, Compare, CompareOp, ConnectOptions, GetOptions, PutOptions, Txn, TxnOp,
        WatchOptions,
    };
    use std::time::Duration;

    type R<T> = Result<T, etcd_client::Error>;

    pub(super) struct Inner {
        rt: tokio::runtime::Runtime,
        client: Client,
    }

    fn kv(k: &etcd_client::KeyValue) -> Kv {
        Kv {
            key: String::from_utf8_lossy(k.key()).into_owned(),
            value: String::from_utf8_lossy(k.value()).into_owned(),
            lease: k.lease(),
        }
    }

    fn put_opts(lease: i64) -> Option<PutOptions> {
        (lease != 0).then(|| PutOptions::new().with_lease(lease))
    }

    impl Inner {
        pub(super) fn connect(endpoints: &[String]) -> Result<Inner, String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let opts = ConnectOptions::new()
                .with_connect_timeout(Duration::from_secs(2))
                .with_timeout(Duration::from_secs(3));
            let client = rt
                .block_on(Client::connect(endpoints, Some(opts)))
                .map_err(|e| e.to_string())?;
            Ok(Inner { rt, client })
        }

        pub(super) fn list(&mut self, prefix: &str) -> R<(Vec<Kv>, i64)> {
            let opts = GetOptions::new().with_prefix();
            let r = self.rt.block_on(self.client.get(prefix, Some(opts)))?;
            let rev = r.header().map_or(0, |h| h.revision());
            Ok((r.kvs().iter().map(kv).collect(), rev))
        }

        pub(super) fn get(&mut self, key: &str) -> R<Vec<Kv>> {
            let r = self.rt.block_on(self.client.get(key, None))?;
            Ok(r.kvs().iter().map(kv).collect())
        }

        pub(super) fn create(&mut self, pairs: &[(String, String)], lease: i64) -> R<bool> {
            let when: Vec<Compare> = pairs
                .iter()
                .map(|(k, _)| Compare::create_revision(k.as_str(), CompareOp::Equal, 0))
                .collect();
            let then: Vec<TxnOp> = pairs
                .iter()
                .map(|(k, v)| TxnOp::put(k.as_str(), v.as_str(), put_opts(lease)))
                .collect();
            let txn = Txn::new().when(when).and_then(then);
            Ok(self.rt.block_on(self.client.txn(txn))?.succeeded())
        }

        pub(super) fn put(&mut self, key: &str, value: &str, lease: i64) -> R<()> {
            self.rt
                .block_on(self.client.put(key, value, put_opts(lease)))?;
            Ok(())
        }

        pub(super) fn delete(&mut self, keys: &[String]) -> R<()> {
            let ops: Vec<TxnOp> = keys
                .iter()
                .map(|k| TxnOp::delete(k.as_str(), None))
                .collect();
            self.rt
                .block_on(self.client.txn(Txn::new().and_then(ops)))?;
            Ok(())
        }

        pub(super) fn grant(&mut self, ttl: i64) -> R<i64> {
            Ok(self.rt.block_on(self.client.lease_grant(ttl, None))?.id())
        }

        pub(super) fn keep_alive(&mut self, lease: i64) -> R<i64> {
            let client = &mut self.client;
            self.rt.block_on(async {
                let (mut keeper, mut stream) = client.lease_keep_alive(lease).await?;
                keeper.keep_alive().await?;
                Ok(stream.message().await?.map_or(0, |m| m.ttl()))
            })
        }

        pub(super) fn wait(&mut self, prefix: &str, after: i64, timeout: Duration) -> R<bool> {
            let client = &mut self.client;
            self.rt.block_on(async {
                let opts = WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(after + 1);
                let mut stream = client.watch(prefix, Some(opts)).await?;
                let changed = tokio::time::timeout(timeout, async {
                    while let Some(m) = stream.message().await? {
                        if !m.events().is_empty() {
                            return Ok::<bool, etcd_client::Error>(true);
                        }
                    }
                    Ok(false)
                })
                .await;
                match changed {
                    Ok(r) => r,
                    Err(_) => Ok(false),
                }
            })
        }
    }
}
