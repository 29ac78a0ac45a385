//! Teardown: finding and killing every process that lives in one of a lab's
//! namespaces, by PID (never by name), including their descendants.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::ns::NsId;

/// How long teardown keeps killing before giving up (and logging).
const KILL_DEADLINE: Duration = Duration::from_secs(3);

/// Inode of the namespace a `/proc/PID/ns/KIND` link points to
/// (`net:[4026532001]` gives 4026532001).
fn ns_inode_of(pid: u32, kind: &str) -> Option<u64> {
    let link = fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()?;
    let text = link.to_str()?;
    let start = text.find('[')? + 1;
    text[start..].strip_suffix(']')?.parse().ok()
}

/// Inodes of the namespaces of a lab: its own network and mount namespaces
/// plus every namespace bind-mounted (nsfs) in its mount namespace, such as
/// `/run/netns/outside` or the network namespaces berth creates.
pub(crate) fn lab_namespaces(holder: u32, net: NsId, mnt: NsId) -> HashSet<u64> {
    let mut inodes: HashSet<u64> = [net.ino, mnt.ino].into();
    let path = format!("/proc/{holder}/mountinfo");
    match fs::read_to_string(&path) {
        Ok(text) => inodes.extend(text.lines().filter_map(nsfs_mount_inode)),
        Err(e) => eprintln!("berth-lab: reading {path}: {e}"),
    }
    inodes
}

/// For a mountinfo line of an nsfs mount, the inode of the namespace it pins.
fn nsfs_mount_inode(line: &str) -> Option<u64> {
    let (fields, rest) = line.split_once(" - ")?;
    if rest.split_whitespace().next()? != "nsfs" {
        return None;
    }
    let root = fields.split_whitespace().nth(3)?;
    let start = root.find(":[")? + 2;
    root[start..].strip_suffix(']')?.parse().ok()
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

/// Live (non-zombie) processes in one of `inodes`, plus all their live
/// descendants; never PID 1, the calling process or `spare`.
pub(crate) fn find_victims(inodes: &HashSet<u64>, spare: Option<u32>) -> Vec<u32> {
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
        if matches!(state, 'Z' | 'X') || pid == 1 || pid == me || Some(pid) == spare {
            continue;
        }
        children.entry(ppid).or_default().push(pid);
        let inside = ["net", "mnt"]
            .iter()
            .any(|kind| ns_inode_of(pid, kind).is_some_and(|i| inodes.contains(&i)));
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

/// SIGKILLs, by PID, every process in one of `inodes` and its descendants
/// (except `spare`), until none is left or a deadline passes. Returns how
/// many distinct processes were signalled. Never panics; logs to stderr.
pub(crate) fn kill_processes_in(inodes: &HashSet<u64>, spare: Option<u32>) -> usize {
    let deadline = Instant::now() + KILL_DEADLINE;
    let mut signalled = HashSet::new();
    loop {
        let victims = find_victims(inodes, spare);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nsfs_mountinfo_lines() {
        let line = "612 590 0:4 net:[4026532321] /run/netns/outside rw shared:300 - nsfs nsfs rw";
        assert_eq!(nsfs_mount_inode(line), Some(4026532321));
        let other = "30 1 0:25 / /run rw,nosuid - tmpfs tmpfs rw,mode=755";
        assert_eq!(nsfs_mount_inode(other), None);
    }

    #[test]
    fn reads_own_state() {
        let (state, ppid) = state_and_ppid(std::process::id()).expect("own stat");
        assert!(matches!(state, 'R' | 'S'));
        assert!(ppid > 0);
    }
}
