//! Crash injection for tests.
//!
//! Built with the `failpoints` feature, [`hit`] kills the process with
//! SIGKILL when the environment variable `BERTH_FAILPOINT` names the point
//! being passed (`<op>:<step index>`, e.g. `attach:2`), simulating `kill -9`
//! at exactly that moment. Crash-recovery tests enumerate every step of a
//! plan this way. Without the feature it compiles to nothing.

/// Passes the failpoint `name` (see the module docs).
#[inline]
pub fn hit(name: &str) {
    #[cfg(feature = "failpoints")]
    {
        if std::env::var("BERTH_FAILPOINT").is_ok_and(|v| v == name) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
            // SIGKILL to ourselves is delivered before kill returns; never continue.
            std::process::abort();
        }
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// True when this build can inject crashes.
pub fn enabled() -> bool {
    cfg!(feature = "failpoints")
}
