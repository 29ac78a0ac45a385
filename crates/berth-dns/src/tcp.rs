//! The TCP side of one listen address: length-prefixed queries, answered
//! in order, each connection closed after an idle timeout. The number of
//! connections is bounded; over the bound new connections are closed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::forward::{forward, ForwardJob};
use crate::request::{handle, Action, Transport, HEADER_LEN};
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
        let Ok(permit) = shared.tcp_connections.clone().try_acquire_owned() else {
            tracing::debug!(%src, "too many tcp connections; closed");
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
        let Ok(len) = timeout(idle, stream.read_u16()).await else {
            return Ok(());
        };
        let len = usize::from(len?);
        if len < HEADER_LEN {
            return Ok(());
        }
        let mut query = vec![0u8; len];
        if timeout(idle, stream.read_exact(&mut query)).await.is_err() {
            return Ok(());
        }
        // The resolver guard and the borrowed action end before any await.
        let pending = {
            let resolver = shared.resolver.load();
            match handle(&resolver, listen, src.ip(), &query, Transport::Tcp) {
                Action::Reply(reply) => Pending::Ready(reply),
                Action::Drop => continue,
                Action::Forward(f) => Pending::Forward(ForwardJob {
                    upstreams: f.upstreams.to_vec(),
                    query,
                    request: f.request,
                    limit: f.limit,
                }),
            }
        };
        let reply = match pending {
            Pending::Ready(reply) => reply,
            Pending::Forward(job) => {
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

/// A reply ready to send, or a query still to forward.
enum Pending {
    Ready(Vec<u8>),
    Forward(ForwardJob),
}
