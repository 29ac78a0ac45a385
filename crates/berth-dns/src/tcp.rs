//! The TCP side of one listen address: length-prefixed queries, answered
//! in order. A connection is closed when reading its next message (length
//! and body) or writing a reply takes longer than the idle timeout, so a
//! client trickling bytes holds it at most that long per message.
//!
//! Only endpoints of the network served at this address are served: other
//! sources are closed at once, before anything is read. Connections are
//! bounded per container, per network and in all (see [`crate::budget`]);
//! over a bound new connections are closed. Forwarded queries count as
//! forwards too; over the forward caps they are answered REFUSED.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::budget::{Kind, Permit};
use crate::forward::{forward, ForwardJob};
use crate::request::{encode, error_reply, handle, Action, Transport, HEADER_LEN};
use crate::server::Shared;

/// Accepts connections on `listener` (bound to `listen`) until aborted;
/// aborting it also ends its connections.
pub(crate) async fn serve(listener: TcpListener, listen: IpAddr, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, src) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!(%listen, error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(permit) = admit(&shared, listen, src) else {
            continue;
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let _permit = permit;
            if let Err(e) = connection(stream, listen, src, &shared).await {
                tracing::debug!(%src, error = %e, "tcp connection ended");
            }
        });
    }
}

/// A permit for a connection from `src`, or `None` (then it is closed):
/// not an endpoint of this address's network, or over a cap.
fn admit(shared: &Shared, listen: IpAddr, src: SocketAddr) -> Option<Permit> {
    let resolver = shared.resolver();
    let Some(client) = resolver.client(listen, src.ip()) else {
        tracing::debug!(%src, %listen, "tcp from a stranger; closed");
        return None;
    };
    let caps = shared.config.tcp_caps();
    let permit = client.charge().take(Kind::Tcp, caps, &shared.total);
    if permit.is_none() {
        tracing::debug!(%src, "too many tcp connections; closed");
    }
    permit
}

/// Serves one connection until the client closes it, stalls or errs.
async fn connection(
    mut stream: TcpStream,
    listen: IpAddr,
    src: SocketAddr,
    shared: &Shared,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let idle = shared.config.tcp_idle_timeout;
    loop {
        // One deadline for the length and the body together.
        let Ok(query) = timeout(idle, read_message(&mut stream)).await else {
            return Ok(());
        };
        let Some(query) = query? else {
            return Ok(());
        };
        // The resolver guard and the borrowed action end before any await.
        let pending = {
            let resolver = shared.resolver();
            match handle(&resolver, listen, src.ip(), &query, Transport::Tcp) {
                Action::Reply(reply) => Pending::Ready(reply),
                Action::Drop => continue,
                Action::Forward(f) => {
                    let caps = shared.config.forward_caps();
                    match f.charge.take(Kind::Forward, caps, &shared.total) {
                        Some(permit) => Pending::Forward(
                            Box::new(ForwardJob {
                                upstreams: f.upstreams.to_vec(),
                                query,
                                request: f.request,
                                limit: f.limit,
                            }),
                            permit,
                        ),
                        None => Pending::Ready(encode(
                            error_reply(&f.request, ResponseCode::Refused),
                            f.limit,
                        )),
                    }
                }
            }
        };
        let reply = match pending {
            Pending::Ready(reply) => reply,
            Pending::Forward(job, _permit) => {
                forward(&job, &shared.upstreams, shared.config.upstream_timeout).await
            }
        };
        if reply.is_empty() {
            continue;
        }
        let Ok(len) = u16::try_from(reply.len()) else {
            return Ok(());
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&reply);
        if timeout(idle, stream.write_all(&framed)).await.is_err() {
            return Ok(());
        }
    }
}

/// Reads one length-prefixed message; `None` if its length is below a
/// DNS header's (the connection is then closed).
async fn read_message(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let len = usize::from(stream.read_u16().await?);
    if len < HEADER_LEN {
        return Ok(None);
    }
    let mut query = vec![0u8; len];
    stream.read_exact(&mut query).await?;
    Ok(Some(query))
}

/// A reply ready to send, or a query still to forward (holding its
/// forward permit).
enum Pending {
    Ready(Vec<u8>),
    Forward(Box<ForwardJob>, Permit),
}
