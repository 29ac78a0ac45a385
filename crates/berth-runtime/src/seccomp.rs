//! berth's default seccomp filter: Docker's intent as a deny-list (see
//! docs/decisions/0012-container-confinement.md).
//!
//! Docker's default profile (moby `profiles/seccomp/default.json`) allows
//! ~350 named system calls and answers EPERM to the rest; some groups are
//! allowed only when the container holds a capability (`mount` with
//! `CAP_SYS_ADMIN`, `reboot` with `CAP_SYS_BOOT`, ...). berth denies,
//! with EPERM, the calls that profile leaves out or gates (the dangerous
//! ones), lifts each gated group when the container has its capability as
//! Docker does, and checks the same arguments (`clone` with namespace
//! flags, `personality` with unsafe flags, `socket(AF_VSOCK)`).
//!
//! The program is built with `seccompiler` (Firecracker's BPF compiler)
//! behind a short hand-written prefix for what seccompiler cannot say (it
//! matches exact syscall numbers and has one match action):
//!
//! * x86_64 numbers with the x32 bit (`nr | 0x4000_0000`) reach the same
//!   kernel entry points under another number: EPERM for all of them, so
//!   the deny-list cannot be bypassed through the x32 ABI;
//! * `clone3` answers ENOSYS (its flags are in memory, which seccomp cannot
//!   read), so libc falls back to `clone`, whose flags are checked — as
//!   Docker does.
//!
//! seccompiler's own first check kills the process on a system call made
//! through another architecture's ABI (e.g. 32-bit `int 0x80` on x86_64),
//! whose numbers this list does not cover.
//!
//! The filter depends only on the capability mask; it is compiled once per
//! mask and process (~tens of µs) and shared.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use caps::Capability as C;
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule,
};

use crate::caps::has;
use crate::error::RuntimeError;

/// System calls denied unless the container holds one of the capabilities
/// (an empty list: always denied), grouped as in Docker's profile.
const GATED: &[(&[C], &[libc::c_long])] = &[
    (
        &[],
        &[
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_request_key,
            libc::SYS_kexec_load,
            libc::SYS_kexec_file_load,
            libc::SYS_pivot_root,
            libc::SYS_swapon,
            libc::SYS_swapoff,
            libc::SYS_userfaultfd,
            libc::SYS_io_uring_setup,
            libc::SYS_io_uring_enter,
            libc::SYS_io_uring_register,
        ],
    ),
    (
        &[C::CAP_SYS_ADMIN],
        &[
            libc::SYS_mount,
            libc::SYS_umount2,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_fsopen,
            libc::SYS_fsconfig,
            libc::SYS_fsmount,
            libc::SYS_fspick,
            libc::SYS_move_mount,
            libc::SYS_open_tree,
            libc::SYS_mount_setattr,
            libc::SYS_quotactl,
            libc::SYS_quotactl_fd,
            libc::SYS_fanotify_init,
            libc::SYS_lookup_dcookie,
            libc::SYS_sethostname,
            libc::SYS_setdomainname,
        ],
    ),
    (&[C::CAP_SYS_ADMIN, C::CAP_SYSLOG], &[libc::SYS_syslog]),
    (&[C::CAP_SYS_ADMIN, C::CAP_BPF], &[libc::SYS_bpf]),
    (
        &[C::CAP_SYS_ADMIN, C::CAP_PERFMON],
        &[libc::SYS_perf_event_open],
    ),
    (&[C::CAP_SYS_BOOT], &[libc::SYS_reboot]),
    (&[C::CAP_SYS_CHROOT], &[libc::SYS_chroot]),
    (
        &[C::CAP_SYS_MODULE],
        &[
            libc::SYS_init_module,
            libc::SYS_finit_module,
            libc::SYS_delete_module,
        ],
    ),
    (&[C::CAP_SYS_PACCT], &[libc::SYS_acct]),
    (
        &[C::CAP_SYS_PTRACE],
        &[
            libc::SYS_kcmp,
            libc::SYS_pidfd_getfd,
            libc::SYS_process_madvise,
        ],
    ),
    (
        &[C::CAP_SYS_TIME],
        &[
            libc::SYS_settimeofday,
            libc::SYS_clock_settime,
            libc::SYS_clock_adjtime,
            libc::SYS_adjtimex,
        ],
    ),
    (&[C::CAP_SYS_TTY_CONFIG], &[libc::SYS_vhangup]),
    (
        &[C::CAP_SYS_NICE],
        &[
            libc::SYS_get_mempolicy,
            libc::SYS_mbind,
            libc::SYS_set_mempolicy,
            libc::SYS_set_mempolicy_home_node,
            libc::SYS_migrate_pages,
            libc::SYS_move_pages,
        ],
    ),
    (
        &[C::CAP_DAC_READ_SEARCH],
        &[libc::SYS_open_by_handle_at, libc::SYS_name_to_handle_at],
    ),
    #[cfg(target_arch = "x86_64")]
    (&[C::CAP_SYS_RAWIO], &[libc::SYS_iopl, libc::SYS_ioperm]),
    #[cfg(target_arch = "x86_64")]
    (
        &[],
        &[libc::SYS__sysctl, libc::SYS_nfsservctl, libc::SYS_uselib],
    ),
];

/// The namespace flags of `clone` (Docker's mask 0x7E020000): NEWNS,
/// NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
const CLONE_NS_FLAGS: [i32; 7] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
];

/// `personality` values Docker allows: PER_LINUX, UNAME26, PER_LINUX32,
/// PER_LINUX32|UNAME26 and the query 0xffffffff.
const SAFE_PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// `AF_VSOCK`: Docker's profile refuses such sockets.
const AF_VSOCK: u64 = 40;

/// The compiled filter for a container with capability mask `caps`.
pub(crate) fn filter(caps: u64) -> Result<Arc<Vec<sock_filter>>, RuntimeError> {
    static CACHE: Mutex<Option<HashMap<u64, Arc<Vec<sock_filter>>>>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let map = cache.get_or_insert_with(HashMap::new);
    if let Some(prog) = map.get(&caps) {
        return Ok(Arc::clone(prog));
    }
    let prog = Arc::new(compile(caps)?);
    map.insert(caps, Arc::clone(&prog));
    Ok(prog)
}

/// A seccompiler error as a [`RuntimeError`].
fn bpf_error(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::InvalidSpec(format!("cannot build the seccomp filter: {e}"))
}

/// One condition on argument `arg`.
fn cond(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, RuntimeError> {
    SeccompCondition::new(arg, len, op, value).map_err(bpf_error)
}

/// The deny rules (`syscall -> rules`, an empty list matching any call).
fn rules(caps: u64) -> Result<BTreeMap<i64, Vec<SeccompRule>>, RuntimeError> {
    let mut rules = BTreeMap::new();
    for (lifted_by, calls) in GATED {
        if lifted_by.iter().any(|c| has(caps, *c)) {
            continue;
        }
        for nr in *calls {
            rules.insert(*nr, Vec::new());
        }
    }
    if !has(caps, C::CAP_SYS_ADMIN) {
        // Any namespace flag in clone's first argument: one rule per flag
        // (rules are alternatives).
        let per_flag = CLONE_NS_FLAGS
            .iter()
            .map(|f| {
                let f = *f as u64;
                let c = cond(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(f), f)?;
                SeccompRule::new(vec![c]).map_err(bpf_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        rules.insert(libc::SYS_clone, per_flag);
    }
    // A personality outside the safe ones: all "not equal" conditions hold.
    let unsafe_personality = SAFE_PERSONALITIES
        .iter()
        .map(|v| cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, *v))
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(
        libc::SYS_personality,
        vec![SeccompRule::new(unsafe_personality).map_err(bpf_error)?],
    );
    let vsock = cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, AF_VSOCK)?;
    rules.insert(
        libc::SYS_socket,
        vec![SeccompRule::new(vec![vsock]).map_err(bpf_error)?],
    );
    Ok(rules)
}

/// BPF instructions used by the prefix (linux/bpf_common.h): BPF_LD (0x00)
/// | BPF_W (0x00) | BPF_ABS (0x20), BPF_JMP (0x05) | BPF_JEQ/BPF_JGE |
/// BPF_K (0x00), BPF_RET (0x06) | BPF_K.
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_RET_K: u16 = 0x06;

/// The hand-written prefix (see the module doc): x32 numbers get EPERM,
/// `clone3` ENOSYS (unless `CAP_SYS_ADMIN`), everything else goes on to
/// seccompiler's program.
fn prefix(caps: u64) -> Vec<sock_filter> {
    let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    let errno = |e: i32| libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA);
    // Offset 0 of `struct seccomp_data` is the system call number.
    let mut p = vec![ins(BPF_LD_W_ABS, 0, 0, 0)];
    if cfg!(target_arch = "x86_64") {
        p.push(ins(BPF_JMP_JGE_K, 0, 1, 0x4000_0000));
        p.push(ins(BPF_RET_K, 0, 0, errno(libc::EPERM)));
    }
    if !has(caps, C::CAP_SYS_ADMIN) {
        p.push(ins(BPF_JMP_JEQ_K, 0, 1, libc::SYS_clone3 as u32));
        p.push(ins(BPF_RET_K, 0, 0, errno(libc::ENOSYS)));
    }
    p
}

/// Compiles the filter for capability mask `caps`.
fn compile(caps: u64) -> Result<Vec<sock_filter>, RuntimeError> {
    let arch = std::env::consts::ARCH.try_into().map_err(|_| {
        bpf_error(format!(
            "unsupported architecture {}",
            std::env::consts::ARCH
        ))
    })?;
    let filter = SeccompFilter::new(
        rules(caps)?,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(bpf_error)?;
    let body: BpfProgram = filter.try_into().map_err(bpf_error)?;
    let mut prog = prefix(caps);
    prog.extend(body);
    Ok(prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_and_is_cached() {
        let def = crate::caps::docker_default_mask();
        let a = filter(def).unwrap();
        let b = filter(def).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.len() < 1000, "{}", a.len());
    }

    #[test]
    fn capabilities_lift_their_groups() {
        let def = crate::caps::docker_default_mask();
        let denied = |caps: u64, nr: libc::c_long| rules(caps).unwrap().contains_key(&nr);
        assert!(denied(def, libc::SYS_mount));
        assert!(denied(def, libc::SYS_unshare));
        assert!(denied(def, libc::SYS_clone));
        assert!(!denied(def, libc::SYS_chroot), "SYS_CHROOT is a default");
        assert!(!denied(def, libc::SYS_ptrace), "allowed as Docker does");
        let admin = def | C::CAP_SYS_ADMIN.bitmask();
        assert!(!denied(admin, libc::SYS_mount));
        assert!(!denied(admin, libc::SYS_clone));
        assert!(denied(admin, libc::SYS_keyctl), "never allowed");
        assert!(denied(admin, libc::SYS_pivot_root), "never allowed");
        assert!(!denied(
            def | C::CAP_SYS_TIME.bitmask(),
            libc::SYS_settimeofday
        ));
        // clone3 gets ENOSYS from the prefix unless CAP_SYS_ADMIN.
        let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        assert!(prefix(def).iter().any(|i| i.k == enosys));
        assert!(!prefix(admin).iter().any(|i| i.k == enosys));
    }
}
