//! The last steps before `execve`: capabilities, `no_new_privs`, seccomp.
//!
//! Order: drop the bounding set (needs `CAP_SETPCAP`), clear the ambient
//! set, set `no_new_privs`, install the seccomp filter (which needs
//! `no_new_privs` or `CAP_SYS_ADMIN`, still held at that point, so
//! `no-new-privileges=false` works), and finally set the effective,
//! permitted and inheritable sets. The filter lets `capset` and `execve`
//! through. The container runs as root: at `execve` its permitted set
//! becomes inheritable | bounding, both the kept set, so the program starts
//! with exactly that set. A capability the calling process lacks itself is
//! left out (capset could not grant it).

use crate::caps;
use crate::error::RuntimeError;
use crate::plan::{Op, Plan};
use crate::spec::Confinement;

/// Appends the confinement steps for `c` (the plan's last steps).
pub(crate) fn push(p: &mut Plan, c: &Confinement) -> Result<(), RuntimeError> {
    let all = caps::all_mask();
    let keep = c.capabilities & all & caps::current_permitted();
    if keep != all {
        p.push(Op::DropBounding {
            keep,
            last: caps::last_cap(),
        });
    }
    p.push(Op::ClearAmbient);
    if c.no_new_privs {
        p.push(Op::NoNewPrivs);
    }
    if c.seccomp {
        p.push(Op::Seccomp(crate::seccomp::filter(keep)?));
    }
    p.push(Op::Capset(keep));
    Ok(())
}
