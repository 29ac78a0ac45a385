//! Requests to an etcd cluster that survive the loss of members (feature
//! `etcd`).
//!
//! etcd-client balances requests over all the endpoints it is given
//! (tonic's power-of-two-choices balancer), but a member that refuses
//! connections stays in the balancer and the requests sent to it fail
//! ("tcp connect error ... Connection refused") instead of going to a live
//! member. So berth keeps one client per member and talks to one member at
//! a time: a request that fails because of its member (unreachable,
//! closed, timed out, without a leader, or "leader changed") moves to the
//! next member, round after round, with a short pause after each round,
//! until one answers or the budget ([`BUDGET`]) is spent; an error of the
//! request itself (a failed compare, an unknown lease, a refused
//! permission) is returned at once. Requests are sent with
//! `require_leader`, so a member cut off from its cluster answers "no
//! leader" at once rather than serving stale data or hanging.
//!
//! A request that failed after it was sent may have been applied: puts and
//! deletes are idempotent, and [`Members::create`] checks, after such a
//! failure, whether the keys hold its own values before saying "taken".

use super::cluster::Kv;
use super::etcd_config::StoreConfig;
use etcd_client::{Client, Compare, CompareOp, ConnectOptions, GetOptions, PutOptions, Txn, TxnOp};
use std::future::Future;
use std::time::{Duration, Instant};

type R<T> = Result<T, etcd_client::Error>;

/// How long one request may take on one member.
const REQUEST: Duration = Duration::from_secs(3);
/// How long connecting to one member may take (a dead member costs this
/// much at most, once per request while it is down).
const CONNECT: Duration = Duration::from_millis(800);
/// How long a request may keep trying members (a leader election takes
/// one to two seconds with etcd's defaults).
const BUDGET: Duration = Duration::from_secs(8);
/// Rounds over members that were all unreachable (not merely slow) before
/// giving up early: nothing listens, so waiting for an election is
/// pointless.
const DEAD_ROUNDS: usize = 2;

/// The members of a cluster store and the one in use.
pub(super) struct Members {
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) endpoints: Vec<String>,
    opts: ConnectOptions,
    pub(super) current: usize,
    pub(super) client: Option<Client>,
    /// Failed attempts of the last request.
    retried: usize,
    /// The open watch of [`Members::watch`] (`etcd_watch.rs`).
    pub(super) watch: Option<super::etcd_watch::Open>,
}

pub(super) fn kv(k: &etcd_client::KeyValue) -> Kv {
    Kv {
        key: String::from_utf8_lossy(k.key()).into_owned(),
        value: String::from_utf8_lossy(k.value()).into_owned(),
        lease: k.lease(),
    }
}

fn put_opts(lease: i64) -> Option<PutOptions> {
    (lease != 0).then(|| PutOptions::new().with_lease(lease))
}

/// The connection options of `cfg`: timeouts, leader required, TLS, user.
fn options(cfg: &StoreConfig) -> ConnectOptions {
    let mut o = ConnectOptions::new()
        .with_connect_timeout(CONNECT)
        .with_timeout(REQUEST)
        .with_require_leader(true)
        .with_keep_alive(Duration::from_secs(5), Duration::from_secs(3));
    if let Some(tls) = &cfg.tls {
        let mut t = etcd_client::TlsOptions::new()
            .ca_certificate(etcd_client::Certificate::from_pem(&tls.ca));
        if let Some((cert, key)) = &tls.identity {
            t = t.identity(etcd_client::Identity::from_pem(cert, key));
        }
        o = o.with_tls(t);
    }
    if let Some((user, password)) = &cfg.auth {
        o = o
            .with_user(user.clone(), password.clone())
            .with_auto_token_refresh(true);
    }
    o
}

/// Whether `e` is the member's fault (try another one) rather than the
/// request's, and whether the member could not be talked to at all (refused,
/// no such name, a TLS or protocol failure). A connection attempt that
/// timed out is not counted there: on a loaded host or a lossy path one
/// lost SYN outlasts [`CONNECT`], so such a member is tried again until
/// the budget is spent.
fn classify(e: &etcd_client::Error) -> (bool, bool) {
    use tonic::Code;
    let text = format!("{e:?}");
    let timed_out = text.contains("TimedOut") || text.contains("Elapsed");
    match e {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => {
            (true, !timed_out)
        }
        etcd_client::Error::GRpcStatus(s) => {
            let m = s.message();
            let unreachable =
                (m.contains("connect") || m.contains("transport") || m.contains("dns"))
                    && !timed_out;
            let member = matches!(
                s.code(),
                Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::Cancelled
                    | Code::Unknown
                    | Code::Aborted
            ) || m.contains("leader")
                || m.contains("timed out");
            (member, unreachable)
        }
        // The lease expired (etcd-client's word for a renewal answered
        // with TTL 0): the request's fault, not the member's; retried, it
        // cost the whole budget before every new lease.
        etcd_client::Error::LeaseKeepAliveError(m) if m.contains("not found") => (false, false),
        etcd_client::Error::WatchError(_) | etcd_client::Error::LeaseKeepAliveError(_) => {
            (true, false)
        }
        _ => (false, false),
    }
}

impl Members {
    pub(super) fn new(cfg: &StoreConfig) -> Result<Members, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Members {
            rt,
            endpoints: cfg.endpoints.clone(),
            opts: options(cfg),
            current: 0,
            client: None,
            retried: 0,
            watch: None,
        })
    }

    /// The member in use, connected.
    pub(super) fn client(&mut self) -> R<Client> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let ep = [self.endpoints[self.current].clone()];
        let opts = self.opts.clone();
        let c = self.rt.block_on(async {
            tokio::time::timeout(REQUEST, Client::connect(ep, Some(opts)))
                .await
                .map_err(|_| etcd_client::Error::WatchError("connect timed out".into()))?
        })?;
        self.client = Some(c.clone());
        Ok(c)
    }

    /// Runs `f` against one member after another (see the module docs).
    fn call<T, F, Fut>(&mut self, mut f: F) -> Result<T, String>
    where
        F: FnMut(Client) -> Fut,
        Fut: Future<Output = R<T>>,
    {
        let n = self.endpoints.len();
        let deadline = Instant::now() + BUDGET;
        let mut errors: Vec<String> = vec![String::new(); n];
        let (mut attempt, mut unreachable_in_round, mut dead_rounds) = (0, 0, 0);
        self.retried = 0;
        loop {
            let res = match self.client() {
                Ok(c) => {
                    let fut = f(c);
                    self.rt.block_on(async {
                        tokio::time::timeout(REQUEST, fut)
                            .await
                            .unwrap_or_else(|_| {
                                Err(etcd_client::Error::WatchError("request timed out".into()))
                            })
                    })
                }
                Err(e) => Err(e),
            };
            let e = match res {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let (member, unreachable) = classify(&e);
            if !member {
                return Err(e.to_string());
            }
            self.retried += 1;
            errors[self.current] = format!(
                "{}: {e}",
                self.endpoints[self.current]
                    .split("://")
                    .last()
                    .unwrap_or("")
            );
            unreachable_in_round += usize::from(unreachable);
            self.client = None;
            self.current = (self.current + 1) % n;
            attempt += 1;
            if attempt % n == 0 {
                dead_rounds = if unreachable_in_round == n {
                    dead_rounds + 1
                } else {
                    0
                };
                unreachable_in_round = 0;
                if dead_rounds >= DEAD_ROUNDS || Instant::now() >= deadline {
                    return Err(format!("no member answered ({})", errors.join("; ")));
                }
                let pause = Duration::from_millis(100 * (attempt / n).min(5) as u64);
                std::thread::sleep(pause);
            }
        }
    }

    pub(super) fn list(&mut self, prefix: &str) -> Result<(Vec<Kv>, i64), String> {
        let prefix = prefix.to_string();
        self.call(|mut c| {
            let prefix = prefix.clone();
            async move {
                let r = c.get(prefix, Some(GetOptions::new().with_prefix())).await?;
                let rev = r.header().map_or(0, |h| h.revision());
                Ok((r.kvs().iter().map(kv).collect(), rev))
            }
        })
    }

    pub(super) fn list_keys(&mut self, prefix: &str) -> Result<Vec<String>, String> {
        let prefix = prefix.to_string();
        self.call(|mut c| {
            let opts = GetOptions::new().with_prefix().with_keys_only();
            let prefix = prefix.clone();
            async move {
                let r = c.get(prefix, Some(opts)).await?;
                let key = |k: &etcd_client::KeyValue| String::from_utf8_lossy(k.key()).into_owned();
                Ok(r.kvs().iter().map(key).collect())
            }
        })
    }

    pub(super) fn get(&mut self, key: &str) -> Result<Vec<Kv>, String> {
        let key = key.to_string();
        self.call(|mut c| {
            let key = key.clone();
            async move { Ok(c.get(key, None).await?.kvs().iter().map(kv).collect()) }
        })
    }

    pub(super) fn create(
        &mut self,
        pairs: &[(String, String)],
        lease: i64,
    ) -> Result<bool, String> {
        let txn = || {
            let when: Vec<Compare> = pairs
                .iter()
                .map(|(k, _)| Compare::create_revision(k.as_str(), CompareOp::Equal, 0))
                .collect();
            let then: Vec<TxnOp> = pairs
                .iter()
                .map(|(k, v)| TxnOp::put(k.as_str(), v.as_str(), put_opts(lease)))
                .collect();
            Txn::new().when(when).and_then(then)
        };
        let ok = self.call(|mut c| {
            let t = txn();
            async move { Ok(c.txn(t).await?.succeeded()) }
        })?;
        if ok || self.retried == 0 {
            return Ok(ok);
        }
        // An earlier attempt may have landed before its member failed: the
        // keys then hold exactly this request's values.
        for (k, v) in pairs {
            if !self.get(k)?.iter().any(|kv| &kv.value == v) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub(super) fn swap(
        &mut self,
        key: &str,
        old: &str,
        new: &str,
        lease: i64,
    ) -> Result<bool, String> {
        let ok = self.call(|mut c| {
            let t = Txn::new()
                .when(vec![Compare::value(key, CompareOp::Equal, old)])
                .and_then(vec![TxnOp::put(key, new, put_opts(lease))]);
            async move { Ok(c.txn(t).await?.succeeded()) }
        })?;
        if ok || self.retried == 0 {
            return Ok(ok);
        }
        Ok(self
            .get(key)?
            .iter()
            .any(|kv| kv.value == new && kv.lease == lease))
    }

    pub(super) fn put(&mut self, key: &str, value: &str, lease: i64) -> Result<(), String> {
        self.call(|mut c| {
            let (k, v) = (key.to_string(), value.to_string());
            async move {
                c.put(k, v, put_opts(lease)).await?;
                Ok(())
            }
        })
    }

    pub(super) fn delete(&mut self, keys: &[String]) -> Result<(), String> {
        self.call(|mut c| {
            let ops: Vec<TxnOp> = keys
                .iter()
                .map(|k| TxnOp::delete(k.as_str(), None))
                .collect();
            async move {
                c.txn(Txn::new().and_then(ops)).await?;
                Ok(())
            }
        })
    }

    pub(super) fn grant(&mut self, ttl: i64) -> Result<i64, String> {
        self.call(|mut c| async move { Ok(c.lease_grant(ttl, None).await?.id()) })
    }

    pub(super) fn keep_alive(&mut self, lease: i64) -> Result<i64, String> {
        self.call(|mut c| async move {
            let (mut keeper, mut stream) = c.lease_keep_alive(lease).await?;
            keeper.keep_alive().await?;
            Ok(stream.message().await?.map_or(0, |m| m.ttl()))
        })
    }
}
