//! # berth-lab: throwaway network labs
//!
//! Every test, benchmark and demo of berth that touches the kernel runs
//! inside a **lab**: a fresh network namespace plus a private mount
//! namespace that stands in for "the host". Nothing here ever changes the
//! real host's network namespace, and the calling process never changes
//! namespace either (only forked children do, in a `pre_exec` hook), so labs
//! are safe in parallel test threads.
//!
//! ## The world of [`Lab::new`]
//!
//! ```text
//!   lab ("the host")                          outside ("the world")
//!   lo up                                     lo: 203.0.113.1/32, 2001:db8:2::1/128
//!   uplink 198.51.100.2/24  <-- veth -->      eth0 198.51.100.1/24
//!          2001:db8:1::2/64                        2001:db8:1::1/64
//!   default via 198.51.100.1 / 2001:db8:1::1  (no route to anything but the LAN,
//!                                              so container subnets must be masqueraded)
//! ```
//!
//! [`Lab::add_host`] adds hosts on the same LAN (`outside` then bridges its
//! `eth0` and the hosts into a bridge `lan` carrying its addresses), and
//! [`Lab::add_netns`] bare named namespaces. [`Lab::bare`] has only `lo`.
//! Only documentation ranges are used (192.0.2.0/24, 198.51.100.0/24,
//! 203.0.113.0/24, 2001:db8::/32), plus Docker's 172.17.0.1/16 on the
//! `docker0` of [`Lab::docker_like_firewall`]. IPv6 DAD is off in every
//! namespace of a lab (`accept_dad=0`, and addresses are added `nodad`).
//!
//! ## Isolation
//!
//! * A holder process is forked into new network, mount and PID
//!   namespaces; in them `/` is made private, `/run` is a fresh tmpfs (so
//!   `ip netns add` and berth's runtime files stay in the lab), `/sys` a
//!   fresh sysfs, and the lab's init (PID 1 of its PID namespace) mounts the
//!   lab's own `/proc`. Their namespace files are opened and checked against
//!   those of PID 1 and of the caller before anything is configured
//!   ([`LabError::NotIsolated`] otherwise).
//! * Commands ([`Lab::command`]) `setns` into those namespaces between fork
//!   and exec, and fork once more so that the program is a process of the
//!   lab's PID namespace; `BERTH_ROOT` (a temp dir) and `BERTH_LAB` are set.
//! * Drop closes the lifeline of the lab's init: the init exits, and the
//!   kernel kills every process of the lab's PID namespace — daemons,
//!   containers in nested PID namespaces — and nothing else. The lab never
//!   goes looking for "its" processes through namespaces: its mount
//!   namespace shows the host's `ip netns` pins, which are not the lab's.
//!   Then the temp dir is removed. If the calling process dies instead, the
//!   lifeline closes all the same.
//! * Inside a lab, PIDs are the lab's (its `/proc` is its own): a PID that
//!   berth prints in a lab means nothing to the caller's `/proc`.

//! ## API at a glance
//!
//! * [`Lab::new`] / [`Lab::bare`]: build a lab; dropping it tears it down.
//! * [`Lab::command`]: a `std::process::Command` that runs in the lab;
//!   [`Lab::ns_command`] the same in one of its namespaces.
//! * [`Lab::sh`] / [`Lab::sh_ok`], [`Lab::in_ns`] / [`Lab::in_ns_ok`]:
//!   `sh -c` scripts with a timeout ([`DEFAULT_TIMEOUT`]); the `_ok` forms
//!   panic with script, status, stdout and stderr.
//! * [`Lab::add_netns`], [`Lab::add_host`]: more namespaces, more LAN hosts.
//! * [`Lab::docker_like_firewall`]: what `dockerd` does to a host's firewall.
//! * [`Lab::snapshot`] / [`Lab::snapshot_ns`] and [`Snapshot::assert_same`]:
//!   "nothing changed" assertions; [`host_state`]: read-only host leak check.
//! * [`Lab::processes`], [`Lab::kill_all`]: what runs in the lab.
//! * [`golden`], [`tool_available`]: test guards that never pass silently
//!   (no self-blessing golden files, no skips in CI).
//! * [`run_in_bare_lab`]: run a whole program in a throwaway lab (`berth tour`);
//!   [`assert_not_host_netns`] and [`inside_lab`] for that program.
//!
//! ## Example
//!
//! ```no_run
//! let lab = berth_lab::Lab::new("example")?;
//! lab.sh_ok("busybox ping -c1 -W1 203.0.113.1");
//! lab.add_host("neighbour", &["198.51.100.3/24"])?;
//! lab.in_ns_ok("neighbour", "busybox ping -c1 -W1 198.51.100.2");
//! # Ok::<(), berth_lab::LabError>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod checks;
mod error;
mod exec;
mod lab;
mod link;
mod ns;
mod pidns;
mod snapshot;
mod teardown;
mod tour;
mod world;

pub use checks::{golden, have_program, in_ci, tool_available, BLESS_ENV};
pub use error::LabError;
pub use exec::{check_output, describe, output_with_timeout};
pub use lab::{Lab, DEFAULT_TIMEOUT};
pub use ns::NsId;
pub use snapshot::{host_state, HostState, Snapshot};
pub use tour::{assert_not_host_netns, inside_lab, run_in_bare_lab, LAB_ENV};
pub use world::{INTERNET_V4, INTERNET_V6, LAB_V4, LAB_V6, OUTSIDE, OUTSIDE_V4, OUTSIDE_V6};
