//! Crash injection for tests.
//!
//! Built with the `failpoints` feature, [`hit`] kills the process with
//! SIGKILL when the armed failpoint (the front-end's `BERTH_FAILPOINT`,
//! given to the engine in `Config::failpoint`) names the point being
//! passed (`<op>:<step index>`, e.g. `create:2`), simulating `kill -9` at
//! exactly that moment. Crash-recovery tests enumerate every step of a plan
//! this way. Without the feature it compiles to nothing.

/// Passes the failpoint `name`; dies there when `armed` names it (see the
/// module docs).
#[inline]
pub fn hit(name: &str, armed: Option<&str>) {
    #[cfg(feature = "failpoints")]
    {
        if armed == Some(name) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
            // SIGKILL to ourselves is delivered before kill returns; never continue.
            std::process::abort();
        }
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = (name, armed);
}

/// True when this build can inject crashes.
pub fn enabled() -> bool {
    cfg!(feature = "failpoints")
}
