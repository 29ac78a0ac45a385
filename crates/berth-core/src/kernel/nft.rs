//! nftables transactions.
//!
//! berth talks to nftables through libnftables, the library behind the `nft`
//! command, loaded at run time with dlopen (Debian's `libnftables1`, which the
//! `nftables` package depends on). One call applies one atomic transaction
//! in-process, saving the ~3 ms of spawning `nft` on every container start.
//! No Rust crate binds libnftables (the `nftables` crate spawns `nft` with
//! JSON, which Debian 12's nft cannot use to declare maps with concatenated
//! values), hence this small FFI. If the library is missing, berth falls back
//! to spawning `nft -f -` with the same text.

use crate::error::{Error, Result};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::io::Write;
use std::process::{Command, Stdio};

type NewFn = unsafe extern "C" fn(u32) -> *mut c_void;
type CtxFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type GetBufFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type RunFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
type SetFlagsFn = unsafe extern "C" fn(*mut c_void, c_uint);

const NFT_CTX_OUTPUT_HANDLE: c_uint = 1 << 3;
const NFT_CTX_OUTPUT_JSON: c_uint = 1 << 4;

struct Lib {
    _lib: libloading::Library,
    ctx: *mut c_void,
    free: FreeFn,
    run: RunFn,
    out: GetBufFn,
    err: GetBufFn,
    set_flags: SetFlagsFn,
}

impl Drop for Lib {
    fn drop(&mut self) {
        // SAFETY: ctx came from nft_ctx_new of this library and is freed once.
        unsafe { (self.free)(self.ctx) }
    }
}

fn load() -> Option<Lib> {
    // SAFETY: loading a system library and resolving its documented C API
    // (libnftables(3)); the signatures above match that API.
    unsafe {
        let lib = libloading::Library::new("libnftables.so.1").ok()?;
        let new: NewFn = *lib.get(b"nft_ctx_new\0").ok()?;
        let buf_out: CtxFn = *lib.get(b"nft_ctx_buffer_output\0").ok()?;
        let buf_err: CtxFn = *lib.get(b"nft_ctx_buffer_error\0").ok()?;
        let free: FreeFn = *lib.get(b"nft_ctx_free\0").ok()?;
        let run: RunFn = *lib.get(b"nft_run_cmd_from_buffer\0").ok()?;
        let out: GetBufFn = *lib.get(b"nft_ctx_get_output_buffer\0").ok()?;
        let err: GetBufFn = *lib.get(b"nft_ctx_get_error_buffer\0").ok()?;
        let set_flags: SetFlagsFn = *lib.get(b"nft_ctx_output_set_flags\0").ok()?;
        let ctx = new(0);
        if ctx.is_null() {
            return None;
        }
        buf_out(ctx);
        buf_err(ctx);
        Some(Lib {
            _lib: lib,
            ctx,
            free,
            run,
            out,
            err,
            set_flags,
        })
    }
}

/// An nftables handle in the calling thread's network namespace.
///
/// libnftables is loaded on first use: element changes of berth's port
/// maps and per-container sets (the hot path) go straight to the kernel
/// over netlink instead ([`Nft::elements`], `kernel::nftnl`), so most
/// commands never load it.
pub struct Nft {
    lib: Option<Lib>,
    loaded: bool,
    conn: Option<super::nftnl::Conn>,
    /// Spawn `nft` for everything (no libnftables, no netlink).
    spawn: bool,
}

impl Default for Nft {
    fn default() -> Self {
        Nft::new()
    }
}

impl Nft {
    /// Loads libnftables, or prepares to spawn `nft` if it is missing.
    pub fn new() -> Nft {
        Nft::spawning(false)
    }

    /// Like [`Nft::new`]; with `spawn`, every transaction spawns `nft`
    /// (the fallback, forced: `BERTH_NFT_SPAWN=1` in the `berth` binary).
    pub fn spawning(spawn: bool) -> Nft {
        Nft {
            lib: None,
            loaded: false,
            conn: None,
            spawn,
        }
    }

    /// libnftables, loaded on first use (`None`: missing, or spawning forced).
    fn lib(&mut self) -> Option<&Lib> {
        if !self.loaded {
            self.loaded = true;
            self.lib = if self.spawn { None } else { load() };
        }
        self.lib.as_ref()
    }

    /// True when transactions run in-process.
    pub fn in_process(&mut self) -> bool {
        self.lib().is_some()
    }

    fn call(&mut self, text: &str, flags: c_uint) -> Result<String> {
        let Some(lib) = self.lib() else {
            return spawn(text, flags);
        };
        let c = CString::new(text).map_err(|_| Error::internal("nft input contains a NUL byte"))?;
        // SAFETY: ctx is valid for the life of `lib`; the buffers returned are
        // NUL-terminated strings owned by ctx, copied before the next call.
        unsafe {
            (lib.set_flags)(lib.ctx, flags);
            let rc = (lib.run)(lib.ctx, c.as_ptr());
            let out = cstr((lib.out)(lib.ctx));
            let err = cstr((lib.err)(lib.ctx));
            if rc != 0 {
                return Err(nft_error(&err, text));
            }
            Ok(out)
        }
    }

    /// Applies `text` (nft -f syntax) as one atomic transaction through
    /// libnftables.
    pub fn apply(&mut self, text: &str) -> Result<()> {
        self.call(text, 0).map(|_| ())
    }

    /// Removes `remove` (whether there or not) and adds `add` in one
    /// atomic transaction: over netlink when every element is one of the
    /// sets encoded there (`kernel::nftnl`), else through libnftables.
    pub fn elements(
        &mut self,
        remove: &[crate::firewall::Element],
        add: &[crate::firewall::Element],
    ) -> Result<()> {
        let text = || crate::firewall::render(remove, add).text();
        if !self.spawn {
            if let Some(ops) = super::nftnl::ops(remove, add) {
                if self.conn.is_none() {
                    self.conn = Some(super::nftnl::Conn::open()?);
                }
                if let Some(conn) = &mut self.conn {
                    return conn.apply(&ops, text);
                }
            }
        }
        self.apply(&text())
    }

    /// Runs a `list ...` command and returns nft's text output, each rule
    /// followed by `# handle N` (what `nft -a list ...` prints).
    pub fn list_text(&mut self, cmd: &str) -> Result<String> {
        self.call(cmd, NFT_CTX_OUTPUT_HANDLE)
    }

    /// This handle's netfilter netlink socket (opened on first use), kept
    /// for the life of the process (see `kernel::nftnl::Conn`).
    pub fn netfilter_socket(&mut self) -> Result<&mut netlink_sys::Socket> {
        if self.conn.is_none() {
            self.conn = Some(super::nftnl::Conn::open()?);
        }
        match &mut self.conn {
            Some(conn) => Ok(conn.socket()),
            None => Err(Error::internal("netfilter netlink socket")),
        }
    }

    /// The descriptor of this handle's netfilter netlink socket, if it was
    /// opened: its last close waits for the grace period of the last
    /// deletion (see `kernel::nftnl::Conn`), so a process that exits right
    /// after one hands it to a background process first.
    pub fn netfilter_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.conn.as_ref().map(|c| c.sock_ref().as_raw_fd())
    }

    /// Runs a `list ...` command and returns its JSON output (with handles).
    pub fn list_json(&mut self, cmd: &str) -> Result<String> {
        self.call(cmd, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE)
    }
}

unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: the caller passes a NUL-terminated string from libnftables.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn nft_error(err: &str, text: &str) -> Error {
    // libnftables repeats each error with a caret line; keep the first one.
    let first = err
        .lines()
        .find(|l| l.starts_with("Error"))
        .unwrap_or(err.trim());
    let cmd = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    Error::kernel(format!(
        "nftables refused the transaction ({first}); first command: {cmd}"
    ))
}

fn spawn(text: &str, flags: c_uint) -> Result<String> {
    let mut cmd = Command::new("nft");
    if flags & NFT_CTX_OUTPUT_JSON != 0 {
        cmd.arg("-j");
    }
    if flags & NFT_CTX_OUTPUT_HANDLE != 0 {
        cmd.arg("-a");
    }
    let mut child = cmd
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::kernel(format!(
                "cannot run nft (install the nftables package): {e}"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(nft_error(&String::from_utf8_lossy(&out.stderr), text));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
