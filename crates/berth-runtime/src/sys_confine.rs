//! Raw system calls of the confinement steps: the new mount API (detached
//! copies of mounts, mount attributes), capabilities, `no_new_privs` and
//! seccomp.
//!
//! Like [`crate::sys`], everything here runs in the forked child before
//! `execve`: it only takes pre-built C strings, integers and slices, never
//! allocates, and reports failures as an [`Errno`]. libc has no wrappers for
//! `open_tree`, `move_mount`, `mount_setattr` and `capset`, so they are
//! called through `syscall(2)`; the `caps` crate's setters allocate (hash
//! sets, error strings), which a forked child must not do.

use std::ffi::CStr;
use std::os::fd::RawFd;

use libc::{c_int, c_uint};
use nix::errno::Errno;

use crate::sys::SysResult;

/// `-1`-on-error return value to a [`SysResult`].
fn check(ret: libc::c_long) -> SysResult {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// The empty path used with `AT_EMPTY_PATH` / `MOVE_MOUNT_F_EMPTY_PATH`.
const EMPTY: &CStr = c"";

/// `mount_setattr(2)` on `dirfd` + `path` with `flags` (`AT_*`).
fn setattr_at(dirfd: RawFd, path: &CStr, flags: c_uint, set: u64, clr: u64) -> SysResult {
    let attr = libc::mount_attr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: path is a NUL-terminated string, attr a live struct of the
    // size passed.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })
}

/// Sets and clears mount attributes (`MOUNT_ATTR_*`) of the mount at `path`
/// (and every mount below it when `recursive`).
pub(crate) fn mount_setattr(path: &CStr, recursive: bool, set: u64, clr: u64) -> SysResult {
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    setattr_at(libc::AT_FDCWD, path, flags as c_uint, set, clr)
}

/// Takes a detached copy of the mount at `src` (`open_tree` with
/// `OPEN_TREE_CLONE`, with its submounts when `recursive`), applies the
/// attributes `set` to it, and puts it at descriptor `slot` (close-on-exec).
pub(crate) fn clone_tree(src: &CStr, slot: RawFd, recursive: bool, set: u64) -> SysResult {
    let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as c_uint;
    }
    // SAFETY: src is a NUL-terminated string.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, src.as_ptr(), flags) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = fd as RawFd;
    let mut result = Ok(());
    if set != 0 {
        let at = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
        result = setattr_at(fd, EMPTY, at as c_uint, set, 0);
    }
    if result.is_ok() {
        // SAFETY: plain system call on fds; slot is a descriptor reserved
        // by the parent for this purpose.
        result = check(unsafe { libc::dup3(fd, slot, libc::O_CLOEXEC) }.into());
    }
    // SAFETY: fd was opened above and is not used afterwards.
    unsafe { libc::close(fd) };
    result
}

/// Attaches the detached mount at `slot` on `target` (`move_mount`),
/// following symlinks in `target` as `mount(2)` does.
pub(crate) fn attach_tree(slot: RawFd, target: &CStr) -> SysResult {
    let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_SYMLINKS;
    // SAFETY: both paths are NUL-terminated strings.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            slot,
            EMPTY.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            flags,
        )
    })
}

/// `prctl(2)` with integer arguments.
fn prctl(option: c_int, arg2: libc::c_ulong) -> SysResult {
    // SAFETY: plain system call with integer arguments.
    check(unsafe { libc::prctl(option, arg2, 0 as libc::c_ulong, 0 as libc::c_ulong, 0) }.into())
}

/// Drops every capability `0..=last` whose bit is not set in `keep` from
/// the bounding set (needs `CAP_SETPCAP`, so before [`capset`]).
pub(crate) fn drop_bounding(keep: u64, last: u32) -> SysResult {
    for cap in 0..=last.min(63) {
        if keep & (1u64 << cap) == 0 {
            prctl(libc::PR_CAPBSET_DROP, cap.into())?;
        }
    }
    Ok(())
}

/// Clears the ambient set.
pub(crate) fn clear_ambient() -> SysResult {
    // SAFETY: plain system call with integer arguments.
    check(
        unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        }
        .into(),
    )
}

/// Sets `no_new_privs`: execve never grants privileges again (setuid bits
/// and file capabilities are ignored).
pub(crate) fn no_new_privs() -> SysResult {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1)
}

/// Makes the process non-dumpable until its `execve`: processes of the
/// container it joins cannot ptrace it or open its `/proc` files while it
/// still holds the host's descriptors and all capabilities. Best effort.
pub(crate) fn set_not_dumpable() {
    let _ = prctl(libc::PR_SET_DUMPABLE, 0);
}

/// Installs a seccomp filter (`seccomp(SECCOMP_SET_MODE_FILTER)`); needs
/// `no_new_privs` or `CAP_SYS_ADMIN`.
pub(crate) fn seccomp_filter(prog: &[seccompiler::sock_filter]) -> SysResult {
    let fprog = libc::sock_fprog {
        len: prog.len() as libc::c_ushort,
        // seccompiler's sock_filter is #[repr(C)] with the kernel's layout
        // (u16 code, u8 jt, u8 jf, u32 k), the same as libc's.
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: fprog points at `prog`, which outlives the call; the kernel
    // copies the program.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as c_uint,
            &fprog as *const libc::sock_fprog,
        )
    })
}

/// Version 3 of the capability ABI (64-bit sets in two 32-bit words).
const CAP_V3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets the effective, permitted and inheritable sets of the calling
/// thread to `mask`.
pub(crate) fn capset(mask: u64) -> SysResult {
    let header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let word = |w: u32| CapData {
        effective: w,
        permitted: w,
        inheritable: w,
    };
    let data = [word(mask as u32), word((mask >> 32) as u32)];
    // SAFETY: header and data are live structs of the v3 layout.
    check(unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) })
}
