//! The fake kernel's retired veths (`Step::RetireVeth`) and their reaper,
//! modelled on `kernel::retire`: a retired host end is down, off its
//! bridge and waiting; its container end has given its name back.

use super::objects::Objects;
use crate::error::{Error, Result};
use crate::plan::veth_alias;
use std::path::Path;

impl Objects {
    /// Whether host link `name` is endpoint `owner`'s veth (its alias, or
    /// no alias and its peer in `netns`); `false` when there is no such
    /// link; an error when it is another's.
    pub(super) fn owns(&self, name: &str, owner: &str, netns: &Path) -> Result<bool> {
        let Some(l) = self.links.get(name) else {
            return Ok(false);
        };
        let inside = format!("{}:", netns.display());
        let ours = match &l.alias {
            Some(a) => *a == veth_alias(owner),
            None => l.peer.as_ref().is_some_and(|p| p.starts_with(&inside)),
        };
        match ours {
            true => Ok(true),
            false => Err(Error::conflict(format!(
                "link {name} is not the veth of endpoint {owner}: berth left it alone"
            ))),
        }
    }

    /// `Step::RetireVeth`.
    pub(super) fn retire_veth(
        &mut self,
        name: &str,
        owner: &str,
        netns: &Path,
        keep_peer: bool,
    ) -> Result<()> {
        if !self.owns(name, owner, netns)? {
            return Ok(());
        }
        if !keep_peer {
            self.rename_peer(name, netns);
        }
        if let Some(host) = self.links.get_mut(name) {
            host.master = None;
        }
        self.down.insert(name.to_string());
        self.retired.insert(name.to_string());
        Ok(())
    }

    /// Renames the container end, in `netns`, of host link `name` out of
    /// the way.
    fn rename_peer(&mut self, name: &str, netns: &Path) {
        let inside = format!("{}:", netns.display());
        let peer = self.links.get(name).and_then(|l| l.peer.clone());
        if let Some(old) = peer.filter(|p| p.starts_with(&inside)) {
            if let Some(end) = self.links.remove(&old) {
                let new = format!("{inside}gone-{name}");
                self.links.insert(new.clone(), end);
                if let Some(host) = self.links.get_mut(name) {
                    host.peer = Some(new);
                }
            }
        }
    }

    /// A veth creation finds container link `inside` (`netns:name`) taken:
    /// when it is the container end of a retired veth that kept its name,
    /// renames it out of the way, like the real kernel layer.
    pub(super) fn free_retired_name(&mut self, inside: &str, netns: &Path) {
        let host = self.links.get(inside).and_then(|l| l.peer.clone());
        if let Some(host) = host.filter(|h| self.retired.contains(h)) {
            self.rename_peer(&host, netns);
        }
    }

    /// Deletes every retired veth (and its peer); how many.
    pub fn reap_retired(&mut self) -> usize {
        let retired: Vec<String> = self.retired.iter().cloned().collect();
        for name in &retired {
            self.delete_link(name);
        }
        retired.len()
    }
}
