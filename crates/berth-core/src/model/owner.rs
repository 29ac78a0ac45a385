//! Networks another program manages. berth builds them for that program's
//! containers (Podman, through berth's netavark mode) and removes them with
//! the last one; berth's own commands neither attach containers to them nor
//! remove them while they are in use.

use serde::{Deserialize, Serialize};

/// Who manages a network, when it is not berth's own commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum NetworkOwner {
    /// A Podman network: its configuration lives in Podman's network
    /// directory, Podman allocates its addresses, and berth answers
    /// netavark's `setup` and `teardown` for it.
    Podman(PodmanNetwork),
}

/// What berth keeps of a Podman network besides the ordinary network record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodmanNetwork {
    /// Podman's id of the network (its `id`).
    pub id: String,
    /// `isolate`: no traffic to or from other networks. Without it the
    /// network reaches the other Podman networks that are not isolated
    /// either (netavark's default), through the host's routing.
    pub isolate: bool,
    /// `dns_enabled`: berth's resolver answers names on its gateways.
    pub dns: bool,
}

impl NetworkOwner {
    /// The program's name, as messages print it.
    pub fn program(&self) -> &'static str {
        match self {
            NetworkOwner::Podman(_) => "Podman",
        }
    }

    /// The command that removes such a network in that program.
    pub fn remove_hint(&self, name: &str) -> String {
        match self {
            NetworkOwner::Podman(_) => format!("podman network rm {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_names_the_owner() {
        let o = NetworkOwner::Podman(PodmanNetwork {
            id: "2f25".into(),
            isolate: true,
            dns: false,
        });
        let j = serde_json::to_value(&o).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"by": "podman", "id": "2f25", "isolate": true, "dns": false})
        );
        assert_eq!(serde_json::from_value::<NetworkOwner>(j).unwrap(), o);
    }
}
