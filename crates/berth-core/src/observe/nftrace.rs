//! nftables trace events (`nft monitor trace`), read from the kernel.
//!
//! A packet whose `meta nftrace` is set makes the kernel report every base
//! and regular chain it crosses, every rule that matched it (with the
//! verdict) and every policy applied, as `NFT_MSG_TRACE` messages on the
//! netfilter netlink group `NFNLGRP_NFTRACE` of the packet's network
//! namespace. [`TraceListener`] subscribes to that group in the calling
//! thread's namespace; [`parse_trace`] decodes one message (pure) into a
//! [`TraceEvent`], including the packet's addresses and ports as the chain
//! saw them, so NAT rewrites show from one event to the next.
//!
//! The kernel only sends these events while someone listens, and only for
//! packets marked by a rule (`meta nftrace set 1`): berth's `trace` command
//! adds such a rule in a temporary table of its own.

use super::packet::{decode_l3, PacketInfo};
use crate::error::{Error, Result};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};
use std::os::fd::AsRawFd;
use std::time::Instant;

const NFNLGRP_NFTRACE: u32 = 9;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_TRACE: u16 = 17;
const NLA_TYPE_MASK: u16 = 0x3fff;

const NFTA_TRACE_TABLE: u16 = 1;
const NFTA_TRACE_CHAIN: u16 = 2;
const NFTA_TRACE_RULE_HANDLE: u16 = 3;
const NFTA_TRACE_TYPE: u16 = 4;
const NFTA_TRACE_VERDICT: u16 = 5;
const NFTA_TRACE_ID: u16 = 6;
const NFTA_TRACE_NETWORK_HEADER: u16 = 8;
const NFTA_TRACE_TRANSPORT_HEADER: u16 = 9;
const NFTA_TRACE_IIF: u16 = 10;
const NFTA_TRACE_OIF: u16 = 12;
const NFTA_TRACE_POLICY: u16 = 16;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;

/// What a trace event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceKind {
    /// A rule matched (its handle is in [`TraceEvent::rule`]).
    Rule,
    /// The end of a base chain: its policy was applied.
    Policy,
    /// The end of a regular chain: back to the caller.
    Return,
    /// Something else (a newer kernel).
    Other,
}

/// A verdict, as the kernel encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The packet is dropped (`drop`, `reject`, a policy of drop).
    Drop,
    /// The packet leaves this chain's hook accepted.
    Accept,
    /// Evaluation goes on with the next rule.
    Continue,
    /// `jump CHAIN`.
    Jump(String),
    /// `goto CHAIN`.
    Goto(String),
    /// `return`.
    Return,
    /// Any other code (queue, stolen, ...).
    Other(i32),
}

impl Verdict {
    fn from_code(code: i32, chain: Option<String>) -> Verdict {
        match code {
            0 => Verdict::Drop,
            1 => Verdict::Accept,
            -1 => Verdict::Continue,
            -3 => Verdict::Jump(chain.unwrap_or_default()),
            -4 => Verdict::Goto(chain.unwrap_or_default()),
            -5 => Verdict::Return,
            c => Verdict::Other(c),
        }
    }

    /// nft's word for it.
    pub fn word(&self) -> String {
        match self {
            Verdict::Drop => "drop".into(),
            Verdict::Accept => "accept".into(),
            Verdict::Continue => "continue".into(),
            Verdict::Jump(c) => format!("jump {c}"),
            Verdict::Goto(c) => format!("goto {c}"),
            Verdict::Return => "return".into(),
            Verdict::Other(c) => format!("verdict {c}"),
        }
    }
}

/// One trace event: a packet in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    /// Identifies the packet (the same for every event of one packet in
    /// one namespace).
    pub id: u32,
    /// The table's family (`ip`, `ip6`, `inet`, `bridge`, `netdev`, `arp`).
    pub family: &'static str,
    /// Table name.
    pub table: String,
    /// Chain name.
    pub chain: String,
    /// Rule, policy or return.
    pub kind: TraceKind,
    /// Handle of the rule that matched.
    pub rule: Option<u64>,
    /// The verdict (of the rule, or the policy).
    pub verdict: Option<Verdict>,
    /// Input interface index.
    pub iif: Option<u32>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// The packet's headers as this chain saw them.
    pub packet: Option<PacketInfo>,
}

/// The name nft uses for a netfilter family number.
pub fn family_name(nfproto: u8) -> &'static str {
    match nfproto {
        1 => "inet",
        2 => "ip",
        3 => "arp",
        5 => "netdev",
        7 => "bridge",
        10 => "ip6",
        _ => "unknown",
    }
}

/// Attributes of a run of netlink attributes: (type, payload).
fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((kind, &buf[4..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

fn string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn verdict(nested: &[u8]) -> Option<Verdict> {
    let mut code = None;
    let mut chain = None;
    for (t, v) in attrs(nested) {
        match t {
            NFTA_VERDICT_CODE => code = be32(v).map(|c| c as i32),
            NFTA_VERDICT_CHAIN => chain = Some(string(v)),
            _ => {}
        }
    }
    Some(Verdict::from_code(code?, chain))
}

/// Decodes one netlink message (header included) if it is a trace event.
pub fn parse_trace(msg: &[u8]) -> Option<TraceEvent> {
    let kind = u16::from_ne_bytes(msg.get(4..6)?.try_into().ok()?);
    if kind != (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE {
        return None;
    }
    let family = *msg.get(16)?;
    let mut ev = TraceEvent {
        id: 0,
        family: family_name(family),
        table: String::new(),
        chain: String::new(),
        kind: TraceKind::Other,
        rule: None,
        verdict: None,
        iif: None,
        oif: None,
        packet: None,
    };
    let (mut l3, mut l4, mut policy) = (None, None, None);
    for (t, v) in attrs(msg.get(20..)?) {
        match t {
            NFTA_TRACE_TABLE => ev.table = string(v),
            NFTA_TRACE_CHAIN => ev.chain = string(v),
            NFTA_TRACE_RULE_HANDLE => {
                ev.rule = v
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
            }
            NFTA_TRACE_TYPE => {
                ev.kind = match be32(v) {
                    Some(1) => TraceKind::Policy,
                    Some(2) => TraceKind::Return,
                    Some(3) => TraceKind::Rule,
                    _ => TraceKind::Other,
                }
            }
            NFTA_TRACE_VERDICT => ev.verdict = verdict(v),
            NFTA_TRACE_ID => ev.id = be32(v).unwrap_or_default(),
            NFTA_TRACE_NETWORK_HEADER => l3 = Some(v),
            NFTA_TRACE_TRANSPORT_HEADER => l4 = Some(v),
            NFTA_TRACE_IIF => ev.iif = be32(v),
            NFTA_TRACE_OIF => ev.oif = be32(v),
            NFTA_TRACE_POLICY => policy = be32(v),
            _ => {}
        }
    }
    if ev.kind == TraceKind::Policy && ev.verdict.is_none() {
        ev.verdict = policy.map(|p| Verdict::from_code(p as i32, None));
    }
    ev.packet = l3.and_then(|h| decode_l3(h, l4.unwrap_or_default()));
    Some(ev)
}

/// A subscription to the trace events of the calling thread's namespace.
pub struct TraceListener {
    sock: Socket,
    buf: Vec<u8>,
    lost: usize,
}

impl TraceListener {
    /// Subscribes to `NFNLGRP_NFTRACE` (needs CAP_NET_ADMIN).
    pub fn open() -> Result<TraceListener> {
        let err = |what: &str, e: std::io::Error| {
            Error::kernel(format!(
                "cannot {what} for nftables trace events: {e} (berth trace must run as root)"
            ))
        };
        let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| err("open a socket", e))?;
        sock.bind_auto().map_err(|e| err("bind a socket", e))?;
        sock.add_membership(NFNLGRP_NFTRACE)
            .map_err(|e| err("subscribe", e))?;
        force_rcvbuf(&sock, 8 << 20);
        sock.set_non_blocking(true)
            .map_err(|e| err("configure the socket", e))?;
        Ok(TraceListener {
            sock,
            buf: vec![0; 1 << 16],
            lost: 0,
        })
    }

    /// Every trace event received until `deadline` or until `done` says
    /// the events so far are enough (asked at least every 20 ms). Events
    /// lost to a full socket buffer are counted in [`TraceListener::lost`].
    pub fn collect(
        &mut self,
        deadline: Instant,
        mut done: impl FnMut(&[TraceEvent]) -> bool,
    ) -> Result<Vec<TraceEvent>> {
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || done(&events) {
                return Ok(events);
            }
            if !self.wait(left.min(std::time::Duration::from_millis(20)))? {
                continue;
            }
            match self.sock.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => events.extend(split(&self.buf[..n]).filter_map(parse_trace)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.lost += 1,
                Err(e) => return Err(Error::kernel(format!("reading trace events: {e}"))),
            }
        }
    }

    /// How many times events were lost because the socket's buffer was
    /// full (many packets traced at once).
    pub fn lost(&self) -> usize {
        self.lost
    }

    fn wait(&self, left: std::time::Duration) -> Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(Error::kernel(format!("waiting for trace events: {e}")));
        }
        Ok(n > 0)
    }
}

/// A receive buffer of `bytes`, above `net.core.rmem_max` (root may).
fn force_rcvbuf(sock: &Socket, bytes: libc::c_int) {
    // SAFETY: a valid int option on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        let _ = sock.set_rx_buf_sz(bytes as usize);
    }
}

/// The netlink messages of one datagram.
fn split(mut buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let len = u32::from_ne_bytes(buf.get(..4)?.try_into().ok()?) as usize;
        if len < 16 || len > buf.len() {
            return None;
        }
        let (msg, rest) = buf.split_at(len);
        buf = rest.get(((len + 3) & !3) - len..).unwrap_or_default();
        Some(msg)
    })
}

#[cfg(test)]
mod tests;
