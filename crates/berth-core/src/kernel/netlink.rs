//! A small synchronous rtnetlink client bound to one network namespace.
//!
//! Requests are sent back to back and their acknowledgements collected
//! afterwards, so configuring a container's interface is one netlink
//! conversation. A socket belongs to the namespace it was opened in: to talk
//! to a container's namespace, [`Netlink::open_in`] opens the socket with
//! the calling thread inside that namespace for the call
//! ([`super::enter`]).
//!
//! Written on netlink-packet-route's message types and netlink-sys's socket
//! (as netavark and youki do) rather than the async rtnetlink crate: berth's
//! hot path is a handful of messages and needs no runtime.

use crate::error::{Error, Result};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::os::fd::AsFd;

pub use super::msg::Request;

/// A netlink error: the errno and the request that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlError {
    /// Positive errno.
    pub errno: i32,
    /// The failed request's description.
    pub what: String,
}

impl NlError {
    /// As a berth error.
    pub fn into_error(self) -> Error {
        Error::kernel(format!(
            "{}: {}",
            self.what,
            std::io::Error::from_raw_os_error(self.errno)
        ))
    }
}

/// A netlink route socket in one namespace.
pub struct Netlink {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink> {
        let mut sock = Socket::new(NETLINK_ROUTE)
            .map_err(|e| Error::kernel(format!("cannot open a netlink socket: {e}")))?;
        sock.bind_auto()
            .map_err(|e| Error::kernel(format!("cannot bind a netlink socket: {e}")))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::kernel(format!("cannot connect a netlink socket: {e}")))?;
        let _ = sock.set_ext_ack(true);
        Ok(Netlink {
            sock,
            seq: 0,
            buf: vec![0; 65536],
        })
    }

    /// Opens a socket inside the namespace `ns` (a netns fd); the calling
    /// thread is back in its own namespace when this returns.
    pub fn open_in(ns: impl AsFd) -> Result<Netlink> {
        Netlink::open_in_after(ns, || Ok(()))
    }

    /// [`Netlink::open_in`], running `first` inside the namespace before
    /// (see [`super::enter`]).
    pub fn open_in_after(ns: impl AsFd, first: impl FnOnce() -> Result<()>) -> Result<Netlink> {
        super::enter::in_netns(ns, || {
            first()?;
            Netlink::open()
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        nl.finalize();
        let mut out = vec![0; nl.buffer_len()];
        nl.serialize(&mut out);
        self.sock
            .send(&out, 0)
            .map_err(|e| Error::kernel(format!("netlink send: {e}")))?;
        Ok(self.seq)
    }

    /// Receives one datagram and parses every message in it.
    fn recv(&mut self) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        let n = self
            .sock
            .recv(&mut &mut self.buf[..], 0)
            .map_err(|e| Error::kernel(format!("netlink receive: {e}")))?;
        let mut msgs = Vec::new();
        let mut off = 0;
        while off + 16 <= n {
            let len = u32::from_ne_bytes([
                self.buf[off],
                self.buf[off + 1],
                self.buf[off + 2],
                self.buf[off + 3],
            ]) as usize;
            if len < 16 || off + len > n {
                break;
            }
            let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..off + len])
                .map_err(|e| Error::kernel(format!("cannot parse a netlink message: {e}")))?;
            msgs.push(m);
            off += (len + 3) & !3;
        }
        Ok(msgs)
    }

    /// Sends every request, then waits for all acknowledgements. Returns the
    /// error of each failed request (the kernel processes them in order and
    /// does not stop at the first failure).
    pub fn execute(&mut self, reqs: Vec<Request>) -> Result<Vec<NlError>> {
        let mut pending: Vec<(u32, String)> = Vec::with_capacity(reqs.len());
        for r in reqs {
            let seq = self.send(r.msg, r.flags | NLM_F_ACK)?;
            pending.push((seq, r.what));
        }
        let mut errors = Vec::new();
        while !pending.is_empty() {
            for m in self.recv()? {
                if let NetlinkPayload::Error(e) = m.payload {
                    let seq = m.header.sequence_number;
                    if let Some(i) = pending.iter().position(|(s, _)| *s == seq) {
                        let (_, what) = pending.swap_remove(i);
                        if let Some(code) = e.code {
                            errors.push(NlError {
                                errno: -code.get(),
                                what,
                            });
                        }
                    }
                }
            }
        }
        Ok(errors)
    }

    /// Runs requests and fails on the first error.
    pub fn run(&mut self, reqs: Vec<Request>) -> Result<()> {
        match self.execute(reqs)?.into_iter().next() {
            Some(e) => Err(e.into_error()),
            None => Ok(()),
        }
    }

    /// Sends a get request and returns the single reply, `Ok(None)` when the
    /// kernel answers with one of `missing` errnos (e.g. ENODEV).
    pub fn get(
        &mut self,
        msg: RouteNetlinkMessage,
        missing: &[i32],
    ) -> Result<Option<RouteNetlinkMessage>> {
        let seq = self.send(msg, 0)?;
        loop {
            for m in self.recv()? {
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(inner) => return Ok(Some(inner)),
                    NetlinkPayload::Error(e) => {
                        let errno = e.code.map_or(0, |c| -c.get());
                        if missing.contains(&errno) {
                            return Ok(None);
                        }
                        return Err(Error::kernel(format!(
                            "netlink get: {}",
                            std::io::Error::from_raw_os_error(errno)
                        )));
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends a get request and returns the single reply, or the errno the
    /// kernel answered with (route lookups report "no route" that way).
    pub fn get_errno(
        &mut self,
        msg: RouteNetlinkMessage,
    ) -> Result<std::result::Result<RouteNetlinkMessage, i32>> {
        let seq = self.send(msg, 0)?;
        loop {
            for m in self.recv()? {
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(inner) => return Ok(Ok(inner)),
                    NetlinkPayload::Error(e) => return Ok(Err(e.code.map_or(0, |c| -c.get()))),
                    _ => {}
                }
            }
        }
    }

    /// The index of link `name`, `None` if there is no such link.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>> {
        let reply = self.get(super::msg::get_link(name), &[libc::ENODEV, libc::ENOENT])?;
        Ok(match reply {
            Some(RouteNetlinkMessage::NewLink(l)) => Some(l.header.index),
            _ => None,
        })
    }

    /// Sends a dump request with the kernel's strict checking of the
    /// request (`NETLINK_GET_STRICT_CHK`, Linux 4.20+) on for this dump
    /// only, so the kernel applies the filters in its header (a route
    /// table, a protocol) instead of returning everything (on a kernel
    /// without it the dump is unfiltered: callers filter the replies too).
    /// No message is built per reply: `each` gets every reply's type and
    /// payload as the kernel wrote them, for the caller to read only the
    /// few fields it needs. A host route
    /// table has a route per bridge; parsing each one whole (every
    /// attribute, in allocated vectors) was a third of what a dump cost
    /// berth beside 1,000 networks (issue 13).
    pub fn dump_filtered_raw(
        &mut self,
        msg: RouteNetlinkMessage,
        each: impl FnMut(u16, &[u8]),
    ) -> Result<()> {
        let strict = self.sock.set_netlink_get_strict_chk(true).is_ok();
        let out = self.dump_raw(msg, each);
        if strict {
            let _ = self.sock.set_netlink_get_strict_chk(false);
        }
        out
    }

    /// Sends a dump request and hands each reply's type and payload to
    /// `each`, unparsed, until the kernel says the dump is done.
    fn dump_raw(
        &mut self,
        msg: RouteNetlinkMessage,
        mut each: impl FnMut(u16, &[u8]),
    ) -> Result<()> {
        use netlink_packet_core::{NetlinkBuffer, NLMSG_DONE, NLMSG_ERROR};
        let seq = self.send(msg, NLM_F_DUMP)?;
        loop {
            let n = self
                .sock
                .recv(&mut &mut self.buf[..], 0)
                .map_err(|e| Error::kernel(format!("netlink receive: {e}")))?;
            let mut off = 0;
            while off + 16 <= n {
                let Ok(m) = NetlinkBuffer::new_checked(&self.buf[off..n]) else {
                    break;
                };
                let len = m.length() as usize;
                off += (len + 3) & !3;
                if m.sequence_number() != seq {
                    continue;
                }
                let payload = m.payload();
                match m.message_type() {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        if code != 0 {
                            return Err(Error::kernel(format!(
                                "netlink dump: {}",
                                std::io::Error::from_raw_os_error(-code)
                            )));
                        }
                    }
                    t => each(t, payload),
                }
            }
        }
    }

    /// Sends a dump request and collects every reply message.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_DUMP)?;
        let mut out = Vec::new();
        loop {
            for m in self.recv()? {
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        if let Some(code) = e.code {
                            return Err(Error::kernel(format!(
                                "netlink dump: {}",
                                std::io::Error::from_raw_os_error(-code.get())
                            )));
                        }
                    }
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    _ => {}
                }
            }
        }
    }
}
