//! Operations as data: the kind of every change berth makes, as recorded in
//! the store's intent journal (the `ops` table) next to its [`super::Plan`].
//!
//! A kind knows how a crash in the middle of it is recovered ([`Recovery`]):
//! creations are rolled back (their plan undone), removals rolled forward
//! (their plan applied again, then the records forgotten). It also names
//! the failpoint a test build crashes at (`BERTH_FAILPOINT=<name>:<step>`).
//! The engine's runner (`engine::run`) runs every operation the same way.

use std::fmt;

/// How an interrupted operation is finished by the next berth command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Undo every step of the plan, then forget the records it made.
    RollBack,
    /// Apply the plan again (every step is idempotent), then forget the
    /// records it was removing.
    RollForward,
}

/// The kind of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `run` / `create`: a container's namespace, veths and elements.
    CreateContainer,
    /// `rm`: a container's network taken down and its records forgotten.
    RemoveContainer,
    /// `start`: a stopped container's network built again.
    StartContainer,
    /// A container's exit (stop, or its process ended): its network down.
    StopContainer,
    /// `network connect`: a new endpoint of a container.
    Connect,
    /// `network disconnect`: an endpoint taken away.
    Disconnect,
    /// `network create` (bridge, macvlan, ipvlan).
    CreateNetwork,
    /// `network rm`.
    RemoveNetwork,
    /// CNI ADD: an attachment of a runtime's namespace.
    CniAdd,
    /// CNI DEL or GC: an attachment taken down.
    CniDel,
    /// Attachments whose runtime namespace is gone, forgotten in one batch
    /// (the subject: their container ids, separated by spaces).
    CniReap,
    /// An overlay network of the cluster realised on this host.
    OverlayAttach,
    /// An overlay network removed from the cluster taken down here.
    OverlayDetach,
    /// Docker's Join: an endpoint's veth, for Docker to move into its sandbox.
    DockerJoin,
    /// Docker's DeleteEndpoint: an endpoint taken down and forgotten.
    DockerDelete,
    /// Docker's ProgramExternalConnectivity: an endpoint's ports published.
    DockerPublish,
    /// Docker's RevokeExternalConnectivity: an endpoint's ports unpublished.
    DockerUnpublish,
}

impl OpKind {
    /// Every kind.
    pub const ALL: [OpKind; 17] = [
        OpKind::CreateContainer,
        OpKind::RemoveContainer,
        OpKind::StartContainer,
        OpKind::StopContainer,
        OpKind::Connect,
        OpKind::Disconnect,
        OpKind::CreateNetwork,
        OpKind::RemoveNetwork,
        OpKind::CniAdd,
        OpKind::CniDel,
        OpKind::CniReap,
        OpKind::OverlayAttach,
        OpKind::OverlayDetach,
        OpKind::DockerJoin,
        OpKind::DockerDelete,
        OpKind::DockerPublish,
        OpKind::DockerUnpublish,
    ];

    /// The name recorded in the store (and shown by `berth doctor`).
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::CreateContainer => "create",
            OpKind::RemoveContainer => "remove",
            OpKind::StartContainer => "start",
            OpKind::StopContainer => "stop",
            OpKind::Connect => "connect",
            OpKind::Disconnect => "disconnect",
            OpKind::CreateNetwork => "create_network",
            OpKind::RemoveNetwork => "remove_network",
            OpKind::CniAdd => "cni_add",
            OpKind::CniDel => "cni_del",
            OpKind::CniReap => "cni_reap",
            OpKind::OverlayAttach => "overlay_attach",
            OpKind::OverlayDetach => "overlay_detach",
            OpKind::DockerJoin => "docker_join",
            OpKind::DockerDelete => "docker_delete",
            OpKind::DockerPublish => "docker_publish",
            OpKind::DockerUnpublish => "docker_unpublish",
        }
    }

    /// The kind recorded as `name`; `None` for a name this berth does not
    /// know (a record written by a newer berth: kept, never guessed at).
    pub fn parse(name: &str) -> Option<OpKind> {
        match name {
            // Recorded for both ways of a Docker endpoint's ports by the
            // first plugin, and rolled forward.
            "docker_ports" => Some(OpKind::DockerUnpublish),
            _ => OpKind::ALL.into_iter().find(|k| k.as_str() == name),
        }
    }

    /// The failpoint prefix of the operation's steps: a build with the
    /// `failpoints` feature is killed after step `i` when
    /// `BERTH_FAILPOINT=<failpoint>:<i>`.
    pub fn failpoint(self) -> &'static str {
        self.as_str()
    }

    /// How a crash in the middle of the operation is recovered.
    pub fn recovery(self) -> Recovery {
        match self {
            OpKind::CreateContainer
            | OpKind::StartContainer
            | OpKind::Connect
            | OpKind::CreateNetwork
            | OpKind::CniAdd
            | OpKind::OverlayAttach
            | OpKind::DockerJoin
            | OpKind::DockerPublish => Recovery::RollBack,
            OpKind::RemoveContainer
            | OpKind::StopContainer
            | OpKind::Disconnect
            | OpKind::RemoveNetwork
            | OpKind::CniDel
            | OpKind::CniReap
            | OpKind::OverlayDetach
            | OpKind::DockerDelete
            | OpKind::DockerUnpublish => Recovery::RollForward,
        }
    }

    /// True for the kinds that create or remove the network that is their
    /// subject: while one is recorded, the network takes no new endpoints.
    pub fn changes_network(self) -> bool {
        matches!(
            self,
            OpKind::CreateNetwork
                | OpKind::RemoveNetwork
                | OpKind::OverlayAttach
                | OpKind::OverlayDetach
        )
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for k in OpKind::ALL {
            assert_eq!(OpKind::parse(k.as_str()), Some(k));
            assert_eq!(k.failpoint(), k.as_str());
        }
        let mut names: Vec<&str> = OpKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OpKind::ALL.len());
        assert_eq!(OpKind::parse("teleport"), None);
    }

    #[test]
    fn creations_roll_back_and_removals_forward() {
        // The names recorded by earlier berths keep their meaning.
        let back = ["create", "start", "connect", "create_network"];
        let forward = ["remove", "stop", "disconnect", "remove_network"];
        for name in back {
            let k = OpKind::parse(name).unwrap();
            assert_eq!(k.recovery(), Recovery::RollBack, "{name}");
        }
        for name in forward {
            let k = OpKind::parse(name).unwrap();
            assert_eq!(k.recovery(), Recovery::RollForward, "{name}");
        }
        assert_eq!(OpKind::CniAdd.recovery(), Recovery::RollBack);
        assert_eq!(OpKind::CniDel.recovery(), Recovery::RollForward);
        assert_eq!(OpKind::CniReap.recovery(), Recovery::RollForward);
    }
}
