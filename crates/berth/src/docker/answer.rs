//! The engine's answer to each [`Call`], as the protocol's JSON.

use super::protocol::{Call, Ids};
use berth_core::engine::Engine;
use berth_core::model::docker::DockerEndpointCreate;
use berth_core::Result;
use serde_json::{json, Value};

/// Docker's name for the interface prefix inside the sandbox.
const DST_PREFIX: &str = "eth";

/// Performs `call` on the engine; the JSON body of the success answer.
pub fn answer(engine: &mut Engine, call: Call) -> Result<Value> {
    let empty = json!({});
    Ok(match call {
        Call::Activate => json!({"Implements": ["NetworkDriver", "IpamDriver"]}),
        Call::NetworkCapabilities => json!({"Scope": "local", "ConnectivityScope": "local"}),
        Call::IpamCapabilities => {
            // Pools and addresses are in berth's store: nothing to replay
            // when dockerd restarts.
            json!({"RequiresMACAddress": false, "RequiresRequestReplay": false})
        }
        Call::AddressSpaces => json!({
            "LocalDefaultAddressSpace": "berth",
            "GlobalDefaultAddressSpace": "berth-global"
        }),
        Call::Discovery => empty,
        Call::CreateNetwork(req) => engine.docker_create_network(&req).map(|_| empty)?,
        Call::DeleteNetwork(id) => engine.docker_delete_network(&id).map(|_| empty)?,
        Call::CreateEndpoint(req) => create_endpoint(engine, &req)?,
        Call::EndpointInfo(ids) => endpoint_info(engine, &ids)?,
        Call::DeleteEndpoint(ids) => engine
            .docker_delete_endpoint(&ids.network, &ids.endpoint)
            .map(|_| empty)?,
        Call::Join(ids, sandbox) => {
            let j = engine.docker_join(&ids.network, &ids.endpoint, &sandbox)?;
            let mut out = json!({
                "InterfaceName": {"SrcName": j.src_name, "DstPrefix": DST_PREFIX},
                "DisableGatewayService": j.internal,
            });
            if let Some(g) = j.gateway {
                out["Gateway"] = json!(g.to_string());
            }
            if let Some(g) = j.gateway6 {
                out["GatewayIPv6"] = json!(g.to_string());
            }
            out
        }
        Call::Leave(ids) => engine
            .docker_leave(&ids.network, &ids.endpoint)
            .map(|_| empty)?,
        Call::Program(req) => engine.docker_program(&req).map(|_| empty)?,
        Call::Revoke(ids) => engine
            .docker_revoke(&ids.network, &ids.endpoint)
            .map(|_| empty)?,
        Call::RequestPool { pool, range, v6 } => {
            let p = engine.docker_request_pool(pool, range, v6)?;
            json!({"PoolID": p.id(), "Pool": p.subnet.to_string(), "Data": {}})
        }
        Call::ReleasePool(id) => engine.docker_release_pool(&id).map(|_| empty)?,
        Call::RequestAddress {
            pool,
            address,
            gateway,
        } => {
            let a = engine.docker_request_address(&pool, address, gateway)?;
            json!({"Address": a.to_string(), "Data": {}})
        }
        Call::ReleaseAddress { pool, address } => engine
            .docker_release_address(&pool, address)
            .map(|_| empty)?,
    })
}

/// CreateEndpoint's answer: only what Docker did not give (it refuses an
/// answer that changes what it set): the MAC, and the addresses berth
/// allocated when Docker's IPAM gave none.
fn create_endpoint(engine: &mut Engine, req: &DockerEndpointCreate) -> Result<Value> {
    let ep = engine.docker_create_endpoint(req)?;
    let mut iface = serde_json::Map::new();
    if req.mac.is_none() {
        iface.insert("MacAddress".into(), json!(ep.mac));
    }
    if let (None, Some(a)) = (req.ipv4, ep.ipv4) {
        iface.insert("Address".into(), json!(a.to_string()));
    }
    if let (None, Some(a)) = (req.ipv6, ep.ipv6) {
        iface.insert("AddressIPv6".into(), json!(a.to_string()));
    }
    Ok(json!({ "Interface": iface }))
}

/// EndpointOperInfo: what berth made for the endpoint (Docker shows it in
/// `docker network inspect`'s driver data).
fn endpoint_info(engine: &mut Engine, ids: &Ids) -> Result<Value> {
    let (c, ep) = engine.docker_endpoint_info(&ids.network, &ids.endpoint)?;
    Ok(json!({"Value": {
        "berth.container": c.name,
        "berth.veth": ep.host_veth,
    }}))
}
