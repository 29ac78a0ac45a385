//! IPAM requests of the protocol (`docs/ipam.md`): pools and addresses.

use super::{ip, net, null_default, Call, Refusal};
use serde::Deserialize;
use std::collections::BTreeMap;

/// RequestAddress's option saying the address is the network's gateway.
const ADDRESS_TYPE: &str = "RequestAddressType";
/// Its value for a gateway.
const GATEWAY_TYPE: &str = "com.docker.network.gateway";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RequestPoolReq {
    #[serde(default, deserialize_with = "null_default")]
    pool: String,
    #[serde(default, deserialize_with = "null_default")]
    sub_pool: String,
    #[serde(rename = "V6", default)]
    v6: bool,
}

pub(super) fn request_pool(r: RequestPoolReq) -> Result<Call, Refusal> {
    let opt = |what: &str, s: &str| (!s.is_empty()).then(|| net(what, s)).transpose();
    Ok(Call::RequestPool {
        pool: opt("Pool", &r.pool)?,
        range: opt("SubPool", &r.sub_pool)?,
        v6: r.v6,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RequestAddressReq {
    #[serde(rename = "PoolID")]
    pool: String,
    #[serde(default, deserialize_with = "null_default")]
    address: String,
    #[serde(default, deserialize_with = "null_default")]
    options: BTreeMap<String, String>,
}

pub(super) fn request_address(r: RequestAddressReq) -> Result<Call, Refusal> {
    Ok(Call::RequestAddress {
        address: (!r.address.is_empty())
            .then(|| ip("Address", &r.address))
            .transpose()?,
        gateway: r.options.get(ADDRESS_TYPE).map(String::as_str) == Some(GATEWAY_TYPE),
        pool: r.pool,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ReleaseAddressReq {
    #[serde(rename = "PoolID")]
    pool: String,
    address: String,
}

pub(super) fn release_address(r: ReleaseAddressReq) -> Result<Call, Refusal> {
    Ok(Call::ReleaseAddress {
        address: ip("Address", &r.address)?,
        pool: r.pool,
    })
}
