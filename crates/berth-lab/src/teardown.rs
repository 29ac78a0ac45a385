//! Finding and killing the processes of a lab, by PID (never by name):
//! those in the lab's PID namespace, and the forwarders (see `pidns.rs`)
//! whose children are. Other namespaces are never looked at: a lab's mount
//! namespace shows the host's `ip netns` pins too, and those are not the
//! lab's. Ending a whole lab needs none of this (its init's exit does it);
//! this serves [`crate::Lab::processes`] and [`crate::Lab::kill_all`].

use std::collections::{HashMap, HashSet};
use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long [`kill_processes_in`] keeps killing before giving up (and logging).
const KILL_DEADLINE: Duration = Duration::from_secs(3);

/// Inode of the namespace a `/proc/PID/ns/KIND` link points to
/// (`pid:[4026532001]` gives 4026532001).
fn ns_inode_of(pid: u32, kind: &str) -> Option<u64> {
    let link = fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()?;
    let text = link.to_str()?;
    let start = text.find('[')? + 1;
    text[start..].strip_suffix(']')?.parse().ok()
}

/// State letter and parent PID from `/proc/PID/stat`.
fn state_and_ppid(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let mut it = after.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Live (non-zombie) processes in the PID namespace `pid_ns` or whose
/// children go there (forwarders), plus all their live descendants; never
/// PID 1, the calling process or one of `spare` (the holder and the init).
pub(crate) fn find_victims(pid_ns: u64, spare: &[u32]) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut todo = Vec::new();
    for pid in dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let Some((state, ppid)) = state_and_ppid(pid) else {
            continue;
        };
        if matches!(state, 'Z' | 'X') || pid == 1 || pid == me || spare.contains(&pid) {
            continue;
        }
        children.entry(ppid).or_default().push(pid);
        let inside = ["pid", "pid_for_children"]
            .iter()
            .any(|kind| ns_inode_of(pid, kind) == Some(pid_ns));
        if inside {
            todo.push(pid);
        }
    }
    let mut victims = HashSet::new();
    while let Some(pid) = todo.pop() {
        if victims.insert(pid) {
            todo.extend(children.get(&pid).into_iter().flatten().copied());
        }
    }
    victims.into_iter().collect()
}

/// SIGKILLs, by PID, every process [`find_victims`] finds, until none is
/// left or a deadline passes. Returns how many distinct processes were
/// signalled. Never panics; logs to stderr.
pub(crate) fn kill_processes_in(pid_ns: u64, spare: &[u32]) -> usize {
    let deadline = Instant::now() + KILL_DEADLINE;
    let mut signalled = HashSet::new();
    loop {
        let victims = find_victims(pid_ns, spare);
        if victims.is_empty() {
            return signalled.len();
        }
        if Instant::now() > deadline {
            eprintln!("berth-lab: processes still alive after teardown: {victims:?}");
            return signalled.len();
        }
        for pid in victims {
            if let Ok(raw) = i32::try_from(pid) {
                let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
                signalled.insert(pid);
            }
        }
        sleep(Duration::from_millis(5));
    }
}

/// Removes the (empty) cgroup directories of `parent` in every hierarchy
/// under `/sys/fs/cgroup`, deepest first. Only `rmdir`: a cgroup that still
/// holds a process, or anything that is not a directory, stays.
pub(crate) fn remove_cgroup_tree(parent: &str) {
    fn remove(dir: &std::path::Path) {
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    remove(&e.path());
                }
            }
        }
        let _ = fs::remove_dir(dir);
    }
    let rel = parent.trim_start_matches('/');
    if rel.is_empty() || rel.contains("..") {
        return;
    }
    let Ok(hierarchies) = fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for h in hierarchies.flatten() {
        let dir = h.path().join(rel);
        if dir.is_dir() {
            remove(&dir);
        }
    }
    let top = std::path::Path::new("/sys/fs/cgroup").join(rel);
    if top.is_dir() {
        remove(&top);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_state() {
        let (state, ppid) = state_and_ppid(std::process::id()).expect("own stat");
        assert!(matches!(state, 'R' | 'S'));
        assert!(ppid > 0);
    }
}
