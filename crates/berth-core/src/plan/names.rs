//! Who a `/run/netns` entry berth makes belongs to (plain data, recorded in
//! plans: see `kernel::netns_names` for the mechanism).

/// Who an entry belongs to: one container of one berth state root.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NameOwner {
    /// berth's state root (several roots may share one `/run/netns`).
    pub root: String,
    /// The container id.
    pub container: String,
}

const MARKER_HEAD: &str = "berth netns name v1";

impl NameOwner {
    /// The marker text written under the mount.
    pub fn marker(&self) -> String {
        format!(
            "{MARKER_HEAD}\nroot={}\ncontainer={}\n",
            self.root, self.container
        )
    }

    /// Parses a marker; `None` for anything that is not berth's.
    pub fn parse(text: &str) -> Option<NameOwner> {
        let mut lines = text.lines();
        if lines.next()? != MARKER_HEAD {
            return None;
        }
        let root = lines.next()?.strip_prefix("root=")?.to_string();
        let container = lines.next()?.strip_prefix("container=")?.to_string();
        Some(NameOwner { root, container })
    }
}
