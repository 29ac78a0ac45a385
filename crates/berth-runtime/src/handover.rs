//! What a container's process receives at its start ([`crate::prepare`]):
//! its network namespace and its etc files, made while it waited.
//!
//! A prepared child builds its whole file system view before its start
//! (issue 13, goal 7): its own `/run` then hides the namespace pin made
//! after its fork, and a private `/` never receives the mounts of the
//! host (pins are never copied into a container). So the parent opens
//! them at the start, in its own (the host's) mount namespace: the
//! namespace file, and a detached copy (`open_tree(OPEN_TREE_CLONE)`) of
//! each etc file, and passes the descriptors over a `SOCK_SEQPACKET`
//! socket pair (`SCM_RIGHTS`). The child puts each on a descriptor
//! reserved for it ([`crate::plan::Op::Receive`]), joins the namespace
//! and attaches the copies (`move_mount` takes a detached mount into any
//! mount namespace its caller may mount in).

use std::ffi::CString;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{
    sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};

use crate::error::RuntimeError;
use crate::plan::{open_ns, path_cstring};
use crate::sys::SysResult;

/// How many descriptors one start passes at most.
pub(crate) const MAX_FDS: usize = 4;

/// The socket pair of a prepared child: `(parent's end, child's end)`,
/// close-on-exec, numbered above stdio.
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd), RuntimeError> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| RuntimeError::sys("socketpair", e))?;
    Ok((crate::fds::above_stdio(a)?, crate::fds::above_stdio(b)?))
}

/// What the parent opens at the start: the namespace file and the etc
/// files, by their paths on the host.
#[derive(Debug)]
pub(crate) struct Sources {
    /// The network namespace file.
    pub(crate) netns: std::path::PathBuf,
    /// The etc files, in the order of the child's reserved slots.
    pub(crate) etc: Vec<std::path::PathBuf>,
}

impl Sources {
    /// Opens everything (in the caller's mount namespace) and sends it on
    /// `sock`. A child already gone shows as its report, not here.
    pub(crate) fn send(&self, sock: &OwnedFd) -> Result<(), RuntimeError> {
        let mut held = Vec::with_capacity(1 + self.etc.len());
        held.push(open_ns(&self.netns)?);
        for path in &self.etc {
            held.push(clone_file(path)?);
        }
        let fds: Vec<RawFd> = held.iter().map(|f| f.as_raw_fd()).collect();
        let cmsg = [ControlMessage::ScmRights(&fds)];
        // EPIPE / ECONNRESET: the child failed its setup and exited; its
        // report says why.
        let _ = sendmsg::<UnixAddr>(
            sock.as_raw_fd(),
            &[IoSlice::new(b"s")],
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        );
        Ok(())
    }
}

/// A detached copy of the mount of the file at `path` (resolved now).
fn clone_file(path: &Path) -> Result<OwnedFd, RuntimeError> {
    let c: CString = path_cstring(path)?;
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    // SAFETY: c is a NUL-terminated string; the result is a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(RuntimeError::path(
            "take a copy of the mount of",
            path,
            Errno::last(),
        ));
    }
    // SAFETY: open_tree returned a new descriptor we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Receives the start message on `sock` and puts its descriptors on
/// `slots`, in order (async-signal-safe: the child runs it). End of file
/// (the parent died or gave up) is `EPIPE`; a message without exactly one
/// descriptor per slot is `EBADMSG`.
pub(crate) fn receive(sock: RawFd, slots: &[RawFd]) -> SysResult {
    let mut byte = 0u8;
    let mut iov = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    // Room for MAX_FDS descriptors, aligned as a cmsghdr needs.
    let mut control = [0u64; 8];
    // SAFETY: a zeroed msghdr is valid; the pointers set below outlive it.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    let n = loop {
        // SAFETY: msg describes live local buffers.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        break n;
    };
    if n < 0 {
        return Err(Errno::last());
    }
    if n == 0 {
        return Err(Errno::EPIPE);
    }
    // SAFETY: msg was filled by recvmsg; CMSG_* only walk its buffer.
    unsafe { place(&msg, slots) }
}

/// Moves the descriptors of `msg`'s `SCM_RIGHTS` onto `slots`; closes any
/// it does not use.
///
/// # Safety
/// `msg` must have been filled by `recvmsg`.
unsafe fn place(msg: &libc::msghdr, slots: &[RawFd]) -> SysResult {
    let cmsg = libc::CMSG_FIRSTHDR(msg);
    if cmsg.is_null()
        || (*cmsg).cmsg_level != libc::SOL_SOCKET
        || (*cmsg).cmsg_type != libc::SCM_RIGHTS
    {
        return Err(Errno::EBADMSG);
    }
    let header = libc::CMSG_LEN(0) as usize;
    let count = ((*cmsg).cmsg_len as usize).saturating_sub(header) / size_of::<libc::c_int>();
    let data = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
    let fits = count == slots.len() && msg.msg_flags & libc::MSG_CTRUNC == 0;
    let mut result = if fits { Ok(()) } else { Err(Errno::EBADMSG) };
    for i in 0..count.min(MAX_FDS) {
        let fd = std::ptr::read_unaligned(data.add(i));
        if result.is_ok() {
            if let Some(&slot) = slots.get(i) {
                if libc::dup3(fd, slot, libc::O_CLOEXEC) < 0 {
                    result = Err(Errno::last());
                }
            }
        }
        libc::close(fd);
    }
    result
}
