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
    pub(super) fn retire_veth(&mut self, name: &str, owner: &str, netns: &Path) -> Result<()> {
        if !self.owns(name, owner, netns)? {
            return Ok(());
        }
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
        if let Some(host) = self.links.get_mut(name) {
            host.master = None;
        }
        self.down.insert(name.to_string());
        self.retired.insert(name.to_string());
        Ok(())
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
