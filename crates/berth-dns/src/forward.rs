//! Forwarding to upstream resolvers.
//!
//! The client's query bytes are sent as they are, under a fresh random id,
//! over a pooled connected UDP socket (see [`crate::upstream`]) to each
//! upstream in turn; a truncated UDP answer is retried over TCP. The first answer is
//! passed back faithfully (rcode and sections as received; only the id is
//! rewritten), except that SERVFAIL and REFUSED try the next upstream first
//! (as Docker does) and are passed back only if no other upstream answers
//! better. The whole attempt is bounded by one timeout shared among the
//! upstreams; when it runs out the client gets SERVFAIL, never silence.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::request::{encode, error_reply, HEADER_LEN};
use crate::upstream::Upstreams;

/// A query to forward, owning what it needs (so it can run in a task).
#[derive(Debug, Clone)]
pub struct ForwardJob {
    /// The upstreams to try, in order.
    pub upstreams: Vec<SocketAddr>,
    /// The client's query, as received.
    pub query: Vec<u8>,
    /// The parsed query (for SERVFAIL and truncated replies).
    pub request: Message,
    /// The largest reply the client accepts.
    pub limit: usize,
}

/// Forwards `job`, and returns the bytes to send to the client.
pub async fn forward(job: &ForwardJob, pools: &Upstreams, total: Duration) -> Vec<u8> {
    let Some(question) = job.request.queries.first() else {
        return encode(error_reply(&job.request, ResponseCode::FormErr), job.limit);
    };
    let deadline = Instant::now() + total;
    let mut fallback: Option<Vec<u8>> = None;
    let count = job.upstreams.len();
    for (i, upstream) in job.upstreams.iter().enumerate() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // Share what is left among the upstreams not tried yet.
        let share = (deadline - now) / u32::try_from(count - i).unwrap_or(u32::MAX);
        let answer =
            match timeout_at(now + share, ask(pools, *upstream, &job.query, question)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => {
                    tracing::debug!(%upstream, error = %e, "upstream failed");
                    continue;
                }
                Err(_) => {
                    tracing::debug!(%upstream, "upstream timed out");
                    continue;
                }
            };
        // RCODE: low 4 bits of byte 3; SERVFAIL = 2, REFUSED = 5.
        let failed = matches!(answer[3] & 0x0f, 2 | 5);
        if !failed {
            return finish(answer, job);
        }
        fallback = Some(answer);
    }
    match fallback {
        Some(answer) => finish(answer, job),
        None => encode(error_reply(&job.request, ResponseCode::ServFail), job.limit),
    }
}

/// Rewrites an upstream answer for the client: its id, and TC if it is
/// larger than the client accepts.
fn finish(mut answer: Vec<u8>, job: &ForwardJob) -> Vec<u8> {
    answer[..2].copy_from_slice(&job.request.id.to_be_bytes());
    if answer.len() <= job.limit {
        return answer;
    }
    match Message::from_vec(&answer) {
        Ok(message) => encode(message, job.limit),
        Err(_) => encode(error_reply(&job.request, ResponseCode::ServFail), job.limit),
    }
}

/// Asks one upstream over UDP, then over TCP if the answer is truncated.
async fn ask(
    pools: &Upstreams,
    upstream: SocketAddr,
    query: &[u8],
    question: &Query,
) -> io::Result<Vec<u8>> {
    let answer = pools.exchange(upstream, query, question).await?;
    if answer[2] & 0x02 == 0 {
        return Ok(answer);
    }
    let id: u16 = rand::random();
    let mut query = query.to_vec();
    query[..2].copy_from_slice(&id.to_be_bytes());
    match ask_tcp(upstream, &query, id).await {
        Ok(full) => Ok(full),
        // No TCP there: the truncated answer (TC set) is still an answer.
        Err(e) => {
            tracing::debug!(%upstream, error = %e, "tcp retry failed");
            Ok(answer)
        }
    }
}

/// Whether `answer` is a response to our query `id`.
fn is_answer(answer: &[u8], id: u16) -> bool {
    answer.len() >= HEADER_LEN && answer[2] & 0x80 != 0 && answer[..2] == id.to_be_bytes()
}

/// One TCP exchange (length-prefixed).
async fn ask_tcp(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    stream.set_nodelay(true)?;
    let len = u16::try_from(query.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "query too large"))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await?;
    loop {
        let len = usize::from(stream.read_u16().await?);
        let mut answer = vec![0u8; len];
        stream.read_exact(&mut answer).await?;
        if is_answer(&answer, id) {
            return Ok(answer);
        }
    }
}
