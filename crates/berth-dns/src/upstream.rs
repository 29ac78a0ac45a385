//! Pooled UDP exchanges with upstream resolvers.
//!
//! A fresh socket per forwarded query costs some ten system calls (socket,
//! bind, connect, epoll registration, close…); this pool keeps a few
//! connected sockets per upstream and matches answers to queries by id and
//! question. Against off-path spoofing each query gets a random id unused
//! on its socket, answers must repeat the question, and each socket is
//! replaced (new random source port) after [`USES_PER_SOCKET`] queries or
//! [`SOCKET_LIFETIME`], like dnsmasq's pool of random ports.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hickory_proto::op::Query;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::request::HEADER_LEN;

/// Sockets per upstream.
const SOCKETS_PER_UPSTREAM: usize = 4;
/// Queries sent on one socket before it is replaced.
pub const USES_PER_SOCKET: u32 = 2048;
/// Age after which a socket is replaced.
pub const SOCKET_LIFETIME: Duration = Duration::from_secs(30);
/// Largest UDP answer read.
const MAX_ANSWER: usize = u16::MAX as usize;

/// Locks a mutex, ignoring poisoning (the data stays consistent: every
/// critical section is a single map operation).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A query waiting for its answer.
#[derive(Debug)]
struct Waiter {
    /// Unique among all waiters ever: ids are reused, tokens never.
    token: u64,
    question: Query,
    reply: oneshot::Sender<Vec<u8>>,
}

type Pending = Arc<Mutex<HashMap<u16, Waiter>>>;

/// One connected socket and the task reading its answers.
#[derive(Debug)]
struct Conn {
    socket: Arc<UdpSocket>,
    pending: Pending,
    uses: AtomicU32,
    born: Instant,
    dead: Arc<AtomicBool>,
    reader: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Conn {
    /// Connects a new socket (random source port) to `upstream`.
    async fn open(upstream: SocketAddr) -> io::Result<Conn> {
        let local: IpAddr = match upstream {
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = Arc::new(UdpSocket::bind((local, 0)).await?);
        socket.connect(upstream).await?;
        let pending: Pending = Arc::default();
        let dead = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(read_answers(socket.clone(), pending.clone(), dead.clone()));
        Ok(Conn {
            socket,
            pending,
            uses: AtomicU32::new(0),
            born: Instant::now(),
            dead,
            reader,
        })
    }

    /// Whether the socket should no longer take new queries.
    fn worn(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
            || self.uses.load(Ordering::Relaxed) >= USES_PER_SOCKET
            || self.born.elapsed() >= SOCKET_LIFETIME
    }
}

/// Dispatches answers to their waiters. A socket error (ICMP port
/// unreachable: nothing listens there) fails every waiting query at once.
async fn read_answers(socket: Arc<UdpSocket>, pending: Pending, dead: Arc<AtomicBool>) {
    let mut buf = vec![0u8; MAX_ANSWER];
    loop {
        let n = match socket.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "upstream socket failed");
                dead.store(true, Ordering::Relaxed);
                lock(&pending).clear();
                return;
            }
        };
        let answer = &buf[..n];
        if n < HEADER_LEN || answer[2] & 0x80 == 0 {
            continue;
        }
        let id = u16::from_be_bytes([answer[0], answer[1]]);
        let mut pending = lock(&pending);
        let matches = pending
            .get(&id)
            .is_some_and(|w| question_of(answer).as_ref() == Some(&w.question));
        if matches {
            if let Some(waiter) = pending.remove(&id) {
                let _ = waiter.reply.send(answer.to_vec());
            }
        }
    }
}

/// The (first) question of a message.
fn question_of(message: &[u8]) -> Option<Query> {
    let mut decoder = BinDecoder::new(message.get(HEADER_LEN..)?);
    Query::read(&mut decoder).ok()
}

/// Removes a waiter when its query is abandoned (timeout, cancellation),
/// unless its id was answered and already reused by another query.
struct Registration {
    pending: Pending,
    id: u16,
    token: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut pending = lock(&self.pending);
        if pending.get(&self.id).is_some_and(|w| w.token == self.token) {
            pending.remove(&self.id);
        }
    }
}

/// Source of waiter tokens.
static TOKENS: AtomicU64 = AtomicU64::new(0);

/// The sockets of one upstream.
#[derive(Debug)]
struct Pool {
    slots: Vec<tokio::sync::Mutex<Option<Arc<Conn>>>>,
    next: AtomicUsize,
}

/// Pooled sockets for every upstream in use.
#[derive(Debug, Default)]
pub struct Upstreams {
    pools: Mutex<HashMap<SocketAddr, Arc<Pool>>>,
}

impl Upstreams {
    /// Forgets the pools of upstreams not in `keep` (after a reload).
    pub fn retain(&self, keep: &[SocketAddr]) {
        lock(&self.pools).retain(|addr, _| keep.contains(addr));
    }

    /// A socket for `upstream`, opening or replacing one as needed.
    async fn conn(&self, upstream: SocketAddr) -> io::Result<Arc<Conn>> {
        let pool = lock(&self.pools)
            .entry(upstream)
            .or_insert_with(|| {
                Arc::new(Pool {
                    slots: (0..SOCKETS_PER_UPSTREAM)
                        .map(|_| Default::default())
                        .collect(),
                    next: AtomicUsize::new(0),
                })
            })
            .clone();
        let i = pool.next.fetch_add(1, Ordering::Relaxed) % pool.slots.len();
        let mut slot = pool.slots[i].lock().await;
        if let Some(conn) = slot.as_ref().filter(|c| !c.worn()) {
            return Ok(conn.clone());
        }
        let conn = Arc::new(Conn::open(upstream).await?);
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Sends `query` (its id is replaced) to `upstream` and waits for the
    /// answer to it. The caller bounds the wait.
    pub async fn exchange(
        &self,
        upstream: SocketAddr,
        query: &[u8],
        question: &Query,
    ) -> io::Result<Vec<u8>> {
        let conn = self.conn(upstream).await?;
        conn.uses.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let token = TOKENS.fetch_add(1, Ordering::Relaxed);
        let id = {
            let mut pending = lock(&conn.pending);
            if pending.len() >= usize::from(u16::MAX) / 2 {
                return Err(io::Error::other("too many queries in flight"));
            }
            let mut id: u16 = rand::random();
            while pending.contains_key(&id) {
                id = rand::random();
            }
            let waiter = Waiter {
                token,
                question: question.clone(),
                reply: tx,
            };
            pending.insert(id, waiter);
            id
        };
        let _registered = Registration {
            pending: conn.pending.clone(),
            id,
            token,
        };
        let mut query = query.to_vec();
        query[..2].copy_from_slice(&id.to_be_bytes());
        conn.socket.send(&query).await?;
        rx.await
            .map_err(|_| io::Error::new(io::ErrorKind::ConnectionRefused, "upstream unreachable"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{Name, RecordType};

    fn waiter(token: u64) -> (Waiter, oneshot::Receiver<Vec<u8>>) {
        let (reply, rx) = oneshot::channel();
        let question = Query::query(Name::from_ascii("a.test.").unwrap(), RecordType::A);
        (
            Waiter {
                token,
                question,
                reply,
            },
            rx,
        )
    }

    #[test]
    fn an_abandoned_query_never_removes_a_newer_one_with_the_same_id() {
        let pending: Pending = Arc::default();
        let (newer, _rx) = waiter(2);
        lock(&pending).insert(7, newer);
        drop(Registration {
            pending: pending.clone(),
            id: 7,
            token: 1,
        });
        assert!(lock(&pending).contains_key(&7));
        drop(Registration {
            pending: pending.clone(),
            id: 7,
            token: 2,
        });
        assert!(lock(&pending).is_empty());
    }

    #[test]
    fn questions_are_read_from_answers() {
        let mut m = hickory_proto::op::Message::query();
        let q = Query::query(Name::from_ascii("A.Test.").unwrap(), RecordType::AAAA);
        m.add_query(q.clone());
        let bytes = m.to_vec().unwrap();
        let lower = Query::query(Name::from_ascii("a.test.").unwrap(), RecordType::AAAA);
        assert_eq!(question_of(&bytes), Some(lower));
        assert_eq!(question_of(&bytes[..5]), None);
    }
}
