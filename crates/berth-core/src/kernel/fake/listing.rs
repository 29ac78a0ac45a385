//! What the fake kernel lists: `list set FAMILY berth NAME`, from its
//! model, as `nft -j` prints it — what the VXLAN guard's synchronisation
//! reads back. Nothing else is listed.

use super::objects::Objects;
use crate::firewall::{Field, Set};

/// The JSON listing of the set `cmd` names; `None` for any other command,
/// an unknown set or a missing table.
pub(super) fn list_set(objects: &Objects, cmd: &str) -> Option<String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let ["list", "set", family, "berth", name] = words.as_slice() else {
        return None;
    };
    let set = Set::ALL
        .into_iter()
        .find(|s| s.name() == *name && s.family().as_str() == *family)?;
    if !objects.tables.contains(&format!("{family} berth")) {
        return None;
    }
    let elem: Vec<serde_json::Value> = objects
        .elements
        .iter()
        .filter(|e| e.set == set)
        .map(|e| match e.key.as_slice() {
            [Field::Vni(v)] => serde_json::json!(v),
            _ => serde_json::json!(e.key_text()),
        })
        .collect();
    let set = serde_json::json!({"family": family, "table": "berth", "name": name, "elem": elem});
    Some(serde_json::json!({"nftables": [{"set": set}]}).to_string())
}
