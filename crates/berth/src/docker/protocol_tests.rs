//! The protocol against bodies dockerd 20.10 sent (recorded in a lab with
//! `docker network create -d berth --ipam-driver berth ...`, `docker run
//! -p`, `docker network connect/disconnect`, `docker rm -f`).

use super::*;

const NET: &str = "57b2ec04398d98f27b46585e45b77e7caf3051c585fdb617bf4612ca47624bcb";
const EP: &str = "7c76b760e120879c96c4408db9e1dc85fb1e1c830d5a8221bbb8e7177a155854";

fn call(path: &str, body: &str) -> Call {
    match parse(path, body.as_bytes()) {
        Ok(c) => c,
        Err(e) => panic!("{path}: {e:?}"),
    }
}

fn refused(path: &str, body: &str) -> String {
    match parse(path, body.as_bytes()) {
        Err(Refusal::BadRequest(why)) => why,
        other => panic!("{path} {body}: expected a bad request, got {other:?}"),
    }
}

#[test]
fn handshake_calls_have_no_body() {
    assert_eq!(call("/Plugin.Activate", ""), Call::Activate);
    assert_eq!(
        call("/NetworkDriver.GetCapabilities", ""),
        Call::NetworkCapabilities
    );
    assert_eq!(
        call("/IpamDriver.GetCapabilities", ""),
        Call::IpamCapabilities
    );
    assert_eq!(
        call("/IpamDriver.GetDefaultAddressSpaces", ""),
        Call::AddressSpaces
    );
    assert_eq!(
        call(
            "/NetworkDriver.DiscoverNew",
            r#"{"DiscoveryType":1,"DiscoveryData":{"Address":"192.0.2.1","self":true}}"#
        ),
        Call::Discovery
    );
}

#[test]
fn unknown_paths_are_404s_not_errors() {
    assert_eq!(
        parse("/NetworkDriver.AllocateNetwork", b"{}"),
        Err(Refusal::UnknownPath(
            "/NetworkDriver.AllocateNetwork".into()
        ))
    );
}

#[test]
fn create_network_takes_options_subnets_and_flags() {
    let body = format!(
        r#"{{"NetworkID":"{NET}","Options":{{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":{{"com.docker.network.bridge.enable_icc":"false","foo":"bar"}},"com.docker.network.internal":true}},"IPv4Data":[{{"AddressSpace":"berth","Gateway":"10.77.0.1/24","Pool":"10.77.0.0/24"}}],"IPv6Data":[]}}"#
    );
    let Call::CreateNetwork(n) = call("/NetworkDriver.CreateNetwork", &body) else {
        panic!("not a CreateNetwork")
    };
    assert_eq!(n.network_id, NET);
    assert!(n.internal);
    assert!(!n.ipv6);
    assert_eq!(
        n.options
            .get("com.docker.network.bridge.enable_icc")
            .map(String::as_str),
        Some("false")
    );
    assert_eq!(n.options.get("foo").map(String::as_str), Some("bar"));
    assert_eq!(n.subnets.len(), 1);
    assert_eq!(n.subnets[0].pool.to_string(), "10.77.0.0/24");
    assert_eq!(
        n.subnets[0].gateway.map(|g| g.to_string()).as_deref(),
        Some("10.77.0.1")
    );
}

#[test]
fn create_network_refuses_bad_pools() {
    let body = |pool: &str| {
        format!(r#"{{"NetworkID":"{NET}","Options":{{}},"IPv4Data":[{{"Pool":"{pool}"}}]}}"#)
    };
    assert!(refused("/NetworkDriver.CreateNetwork", &body("10.77.0.1/24")).contains("host bits"));
    assert!(refused("/NetworkDriver.CreateNetwork", &body("nonsense")).contains("CIDR"));
    assert!(refused("/NetworkDriver.CreateNetwork", "{").contains("invalid request body"));
}

#[test]
fn create_endpoint_takes_docker_s_address() {
    let body = format!(
        r#"{{"NetworkID":"{NET}","EndpointID":"{EP}","Interface":{{"Address":"10.77.0.4/24","AddressIPv6":"","MacAddress":""}},"Options":{{}}}}"#
    );
    let Call::CreateEndpoint(e) = call("/NetworkDriver.CreateEndpoint", &body) else {
        panic!("not a CreateEndpoint")
    };
    assert_eq!(e.endpoint_id, EP);
    assert_eq!(
        e.ipv4.map(|a| a.to_string()).as_deref(),
        Some("10.77.0.4/24")
    );
    assert_eq!(e.ipv6, None);
    assert_eq!(e.mac, None);
    // No interface at all: berth allocates.
    let bare = format!(r#"{{"NetworkID":"{NET}","EndpointID":"{EP}","Interface":null}}"#);
    let Call::CreateEndpoint(e) = call("/NetworkDriver.CreateEndpoint", &bare) else {
        panic!("not a CreateEndpoint")
    };
    assert_eq!(e.ipv4, None);
}

#[test]
fn join_program_and_revoke() {
    let join = format!(
        r#"{{"NetworkID":"{NET}","EndpointID":"{EP}","SandboxKey":"/var/run/docker/netns/7f11462650f5","Options":{{"com.docker.network.endpoint.exposedports":[{{"Proto":6,"Port":80}}],"com.docker.network.portmap":[{{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080}}]}}}}"#
    );
    let Call::Join(ids, sandbox) = call("/NetworkDriver.Join", &join) else {
        panic!("not a Join")
    };
    assert_eq!((ids.network.as_str(), ids.endpoint.as_str()), (NET, EP));
    assert_eq!(sandbox, PathBuf::from("/var/run/docker/netns/7f11462650f5"));
    let program = format!(
        r#"{{"NetworkID":"{NET}","EndpointID":"{EP}","Options":{{"com.docker.network.endpoint.exposedports":[{{"Proto":6,"Port":80}},{{"Proto":17,"Port":53}}],"com.docker.network.portmap":[{{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080}},{{"Proto":17,"IP":"","Port":53,"HostIP":"127.0.0.1","HostPort":0,"HostPortEnd":0}},{{"Proto":6,"IP":"","Port":81,"HostIP":"","HostPort":9000,"HostPortEnd":9010}}]}}}}"#
    );
    let Call::Program(p) = call("/NetworkDriver.ProgramExternalConnectivity", &program) else {
        panic!("not a Program")
    };
    let spec = |ip: Option<&str>, hp: Option<(u16, u16)>, port: u16, proto: Proto| PortSpec {
        host_ip: ip.map(|s| s.parse().unwrap_or_else(|_| panic!("{s}"))),
        host_ports: hp,
        container_ports: (port, port),
        proto,
    };
    assert_eq!(
        p.ports,
        vec![
            spec(None, Some((8080, 8080)), 80, Proto::Tcp),
            spec(Some("127.0.0.1"), None, 53, Proto::Udp),
            spec(None, Some((9000, 9010)), 81, Proto::Tcp),
        ]
    );
    let revoke = format!(r#"{{"NetworkID":"{NET}","EndpointID":"{EP}"}}"#);
    assert!(matches!(
        call("/NetworkDriver.RevokeExternalConnectivity", &revoke),
        Call::Revoke(_)
    ));
    // An empty port map (a container without -p) publishes nothing.
    let none = format!(
        r#"{{"NetworkID":"{NET}","EndpointID":"{EP}","Options":{{"com.docker.network.portmap":[]}}}}"#
    );
    let Call::Program(p) = call("/NetworkDriver.ProgramExternalConnectivity", &none) else {
        panic!("not a Program")
    };
    assert!(p.ports.is_empty());
}

#[test]
fn sctp_is_refused_by_name() {
    let body = format!(
        r#"{{"NetworkID":"{NET}","EndpointID":"{EP}","Options":{{"com.docker.network.portmap":[{{"Proto":132,"Port":9,"HostPort":9}}]}}}}"#
    );
    assert!(refused("/NetworkDriver.ProgramExternalConnectivity", &body).contains("protocol 132"));
}

#[test]
fn ipam_requests() {
    assert_eq!(
        call(
            "/IpamDriver.RequestPool",
            r#"{"AddressSpace":"berth","Pool":"10.77.0.0/24","SubPool":"","Options":{},"V6":false}"#
        ),
        Call::RequestPool {
            pool: "10.77.0.0/24".parse().ok(),
            range: None,
            v6: false
        }
    );
    assert_eq!(
        call(
            "/IpamDriver.RequestPool",
            r#"{"AddressSpace":"berth","Pool":"","SubPool":"","Options":{},"V6":true}"#
        ),
        Call::RequestPool {
            pool: None,
            range: None,
            v6: true
        }
    );
    assert_eq!(
        call(
            "/IpamDriver.RequestAddress",
            r#"{"PoolID":"10.77.0.0/24","Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}}"#
        ),
        Call::RequestAddress {
            pool: "10.77.0.0/24".into(),
            address: None,
            gateway: true
        }
    );
    assert_eq!(
        call(
            "/IpamDriver.RequestAddress",
            r#"{"PoolID":"10.77.0.0/24","Address":"10.77.0.9","Options":null}"#
        ),
        Call::RequestAddress {
            pool: "10.77.0.0/24".into(),
            address: "10.77.0.9".parse().ok(),
            gateway: false
        }
    );
    assert_eq!(
        call(
            "/IpamDriver.ReleaseAddress",
            r#"{"PoolID":"10.77.0.0/24","Address":"10.77.0.4"}"#
        ),
        Call::ReleaseAddress {
            pool: "10.77.0.0/24".into(),
            address: "10.77.0.4".parse().unwrap_or_else(|_| panic!())
        }
    );
    assert_eq!(
        call("/IpamDriver.ReleasePool", r#"{"PoolID":"10.77.0.0/24"}"#),
        Call::ReleasePool("10.77.0.0/24".into())
    );
    assert!(refused(
        "/IpamDriver.RequestAddress",
        r#"{"PoolID":"p","Address":"10.77.0.999"}"#
    )
    .contains("not an IP address"));
    // dockerd retries a call with an empty body after a broken connection.
    assert!(refused("/IpamDriver.RequestAddress", "").contains("invalid request body"));
}
