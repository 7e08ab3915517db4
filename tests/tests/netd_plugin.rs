//! netd's plugin socket, spoken to as dockerd speaks: the request sequences
//! of `docker network create -d netd --ipam-driver netd` (with and without
//! a subnet), a container start with `-p`, its stop, `docker network rm`;
//! replays and retries; failures that roll back; malformed bodies. The
//! container side of `Join` is done as libnetwork does it, and real traffic
//! checks the result.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{Value, json};
use tests::netd::{Netd, eventually, ping, runtime};
use tests::plugin::{SOCKET, call_err, call_ok, post_raw, take_interface};
use tests::traffic::{Remote, serve_tcp, tcp_get};
use tests::{TestHost, run};

const NET: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const EP1: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const EP2: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

fn nft_elements() -> String {
    run("nft", &["list", "table", "inet", "netd"])
}

/// `docker network create -d netd --ipam-driver netd [--subnet S]`, as
/// dockerd sends it; returns (pool id, pool, gateway with prefix).
fn create_network(id: &str, subnet: &str, generic: &Value) -> (String, String, String) {
    let pool = call_ok(
        "/IpamDriver.RequestPool",
        &json!({"AddressSpace":"LocalDefault","Pool":subnet,"SubPool":"","Options":{},"V6":false}),
    );
    let pool_id = pool["PoolID"].as_str().unwrap().to_owned();
    let cidr = pool["Pool"].as_str().unwrap().to_owned();
    let gw = call_ok(
        "/IpamDriver.RequestAddress",
        &json!({"PoolID":pool_id,"Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}}),
    )["Address"]
        .as_str()
        .unwrap()
        .to_owned();
    call_ok(
        "/NetworkDriver.CreateNetwork",
        &json!({"NetworkID":id,"Options":{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":generic},
                "IPv4Data":[{"AddressSpace":"LocalDefault","Pool":cidr,"Gateway":gw,"AuxAddresses":null}],"IPv6Data":[]}),
    );
    (pool_id, cidr, gw)
}

/// A container start on the network, as dockerd drives it, up to the
/// interface being in `netns`; returns the container's address.
fn start_container(pool_id: &str, ep: &str, netns: &str, name: &str) -> String {
    let addr = call_ok(
        "/IpamDriver.RequestAddress",
        &json!({"PoolID":pool_id,"Address":"","Options":{}}),
    )["Address"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = call_ok(
        "/NetworkDriver.CreateEndpoint",
        &json!({"NetworkID":NET,"EndpointID":ep,"Interface":{"Address":addr,"AddressIPv6":"","MacAddress":""},
                "Options":{"com.docker.network.endpoint.exposedports":[{"Proto":6,"Port":80}],"com.docker.network.portmap":[]}}),
    );
    let mac = created["Interface"]["MacAddress"].as_str().unwrap();
    assert_eq!(mac.len(), 17, "netd chose a MAC: {created}");
    assert!(
        created["Interface"].get("Address").is_none(),
        "the caller's address is not echoed: {created}"
    );
    run("ip", &["netns", "add", name]);
    let join = call_ok(
        "/NetworkDriver.Join",
        &json!({"NetworkID":NET,"EndpointID":ep,"SandboxKey":netns,"Options":{}}),
    );
    assert_eq!(join["InterfaceName"]["DstPrefix"], "eth");
    let gw = join["Gateway"].as_str().unwrap();
    take_interface(
        netns,
        join["InterfaceName"]["SrcName"].as_str().unwrap(),
        "eth0",
        &addr,
        gw,
    );
    addr.split('/').next().unwrap().to_owned()
}

/// A container stop: dockerd revokes, leaves (its namespace goes), deletes
/// the endpoint and releases the address.
fn stop_container(pool_id: &str, ep: &str, name: &str, addr: &str) {
    let body = json!({"NetworkID":NET,"EndpointID":ep});
    call_ok("/NetworkDriver.RevokeExternalConnectivity", &body);
    call_ok("/NetworkDriver.Leave", &body);
    run("ip", &["netns", "del", name]);
    call_ok("/NetworkDriver.DeleteEndpoint", &body);
    call_ok(
        "/IpamDriver.ReleaseAddress",
        &json!({"PoolID":pool_id,"Address":addr}),
    );
}

#[test]
fn activation_capabilities_and_unknown_methods() {
    let host = TestHost::enter();
    let _netd = Netd::start(&host);
    let v = call_ok("/Plugin.Activate", &Value::Null);
    assert_eq!(v, json!({"Implements":["NetworkDriver","IpamDriver"]}));
    let v = call_ok("/NetworkDriver.GetCapabilities", &Value::Null);
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["ConnectivityScope"], "local");
    let v = call_ok("/IpamDriver.GetCapabilities", &Value::Null);
    assert_eq!(v["RequiresMACAddress"], false);
    let v = call_ok("/IpamDriver.GetDefaultAddressSpaces", &Value::Null);
    assert_eq!(v["LocalDefaultAddressSpace"], "LocalDefault");
    assert_eq!(v["GlobalDefaultAddressSpace"], "GlobalDefault");
    // Not implemented: 404, which libnetwork treats as optional.
    let (status, _) = post_raw(Path::new(SOCKET), "/NetworkDriver.GwAllocCheck", "{}");
    assert_eq!(status, 404);
    let (status, _) = post_raw(Path::new(SOCKET), "/VolumeDriver.Create", "{}");
    assert_eq!(status, 404);
    // Discovery and swarm calls of a local driver: accepted, nothing done.
    call_ok(
        "/NetworkDriver.DiscoverNew",
        &json!({"DiscoveryType":1,"DiscoveryData":{"Address":"10.0.0.1","self":true}}),
    );
    call_ok("/NetworkDriver.FreeNetwork", &json!({"NetworkID":NET}));
}

#[test]
fn dockers_sequence_connects_publishes_and_cleans_up() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let (pool_id, cidr, gw) = create_network(NET, "", &json!({}));
    assert!(gw.ends_with(&format!("/{}", cidr.split('/').nth(1).unwrap())));
    // netd shows the network, marked as the plugin's.
    let rt = runtime();
    let c = netd.client();
    let n = rt.block_on(c.network(NET)).unwrap();
    assert_eq!(n.labels["com.berth.netd.plugin"], "true");
    assert_eq!(
        n.ipam.config.as_ref().unwrap()[0].subnet.as_deref(),
        Some(cidr.as_str())
    );
    let bridge = format!("br-{}", &NET[..12]);
    assert!(host.links().contains(&bridge), "{:?}", host.links());

    let a = start_container(&pool_id, EP1, "/run/netns/c1", "c1");
    let b = start_container(&pool_id, EP2, "/run/netns/c2", "c2");
    assert!(ping("/run/netns/c1", &b), "container to container");
    assert!(
        ping("/run/netns/c1", gw.split('/').next().unwrap()),
        "to the gateway"
    );
    let n = rt.block_on(c.network(NET)).unwrap();
    assert_eq!(n.containers.len(), 2, "{:?}", n.containers);

    // docker run -p 8080:80: the port map comes with
    // ProgramExternalConnectivity, and a LAN neighbour reaches the server.
    serve_tcp("/run/netns/c1", 80);
    let remote = Remote::new();
    call_ok(
        "/NetworkDriver.ProgramExternalConnectivity",
        &json!({"NetworkID":NET,"EndpointID":EP1,"Options":{
            "com.docker.network.endpoint.exposedports":[{"Proto":6,"Port":80}],
            "com.docker.network.portmap":[{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080}]}}),
    );
    let got = tcp_get(Some(&remote.netns), &format!("{}:8080", remote.host_ip)).unwrap();
    assert_eq!(
        got,
        format!("peer={}", remote.ip),
        "the client's address is kept"
    );
    let info = call_ok(
        "/NetworkDriver.EndpointOperInfo",
        &json!({"NetworkID":NET,"EndpointID":EP1}),
    );
    assert_eq!(
        info["Value"]["com.docker.network.portmap"],
        json!([{"Proto":6,"IP":a,"Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080}])
    );

    // docker stop, then docker network rm: nothing stays.
    stop_container(&pool_id, EP1, "c1", &a);
    assert!(
        tcp_get(Some(&remote.netns), &format!("{}:8080", remote.host_ip)).is_err(),
        "unpublished"
    );
    assert!(!nft_elements().contains("8080"), "{}", nft_elements());
    stop_container(&pool_id, EP2, "c2", &b);
    call_ok("/NetworkDriver.DeleteNetwork", &json!({"NetworkID":NET}));
    call_ok(
        "/IpamDriver.ReleaseAddress",
        &json!({"PoolID":pool_id,"Address":gw}),
    );
    call_ok("/IpamDriver.ReleasePool", &json!({"PoolID":pool_id}));
    assert!(rt.block_on(c.network(NET)).is_err(), "gone from the store");
    assert!(
        eventually(30, || !host.links().iter().any(|l| l == &bridge
            || l.starts_with("veth")
            || l.starts_with("vnd"))),
        "links left: {:?}",
        host.links()
    );
    // The pool is free again: asking for it explicitly works.
    let again = call_ok(
        "/IpamDriver.RequestPool",
        &json!({"AddressSpace":"LocalDefault","Pool":cidr,"SubPool":"","V6":false}),
    );
    assert_eq!(again["PoolID"], pool_id);
}

#[test]
fn replays_and_retries_are_idempotent() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let req = json!({"AddressSpace":"LocalDefault","Pool":"10.77.0.0/24","SubPool":"","V6":false});
    let first = call_ok("/IpamDriver.RequestPool", &req);
    let second = call_ok("/IpamDriver.RequestPool", &req);
    assert_eq!(first["PoolID"], second["PoolID"]);
    assert_eq!(first["Pool"], "10.77.0.0/24");
    let pool_id = first["PoolID"].as_str().unwrap().to_owned();
    // Two users: the first release keeps the pool.
    call_ok("/IpamDriver.ReleasePool", &json!({"PoolID":pool_id}));
    let addr = call_ok(
        "/IpamDriver.RequestAddress",
        &json!({"PoolID":pool_id,"Address":"10.77.0.9","Options":{}}),
    );
    assert_eq!(addr["Address"], "10.77.0.9/24");
    let msg = call_err(
        "/IpamDriver.RequestAddress",
        &json!({"PoolID":pool_id,"Address":"10.77.0.9","Options":{}}),
        "Error",
    );
    assert!(msg.contains("10.77.0.9"), "{msg}");
    call_ok(
        "/IpamDriver.ReleaseAddress",
        &json!({"PoolID":pool_id,"Address":"10.77.0.9/24"}),
    );
    // Releasing again, and deleting what does not exist, succeed.
    call_ok(
        "/IpamDriver.ReleaseAddress",
        &json!({"PoolID":pool_id,"Address":"10.77.0.9/24"}),
    );
    call_ok(
        "/NetworkDriver.DeleteEndpoint",
        &json!({"NetworkID":NET,"EndpointID":EP1}),
    );
    call_ok(
        "/NetworkDriver.Leave",
        &json!({"NetworkID":NET,"EndpointID":EP1}),
    );
    call_ok("/NetworkDriver.DeleteNetwork", &json!({"NetworkID":NET}));
    // CreateNetwork twice is one network.
    let create = json!({"NetworkID":NET,"Options":{},
        "IPv4Data":[{"AddressSpace":"LocalDefault","Pool":"10.77.0.0/24","Gateway":"10.77.0.1/24"}]});
    call_ok("/NetworkDriver.CreateNetwork", &create);
    call_ok("/NetworkDriver.CreateNetwork", &create);
    let rt = runtime();
    let plugin_nets = rt
        .block_on(netd.client().networks(None))
        .unwrap()
        .into_iter()
        .filter(|n| n.labels.contains_key("com.berth.netd.plugin"))
        .count();
    assert_eq!(plugin_nets, 1);
    // CreateEndpoint replayed answers the same MAC.
    let ep = json!({"NetworkID":NET,"EndpointID":EP1,"Interface":{"Address":"10.77.0.2/24"}});
    let a = call_ok("/NetworkDriver.CreateEndpoint", &ep);
    let b = call_ok("/NetworkDriver.CreateEndpoint", &ep);
    assert_eq!(a, b);
    call_ok(
        "/NetworkDriver.DeleteEndpoint",
        &json!({"NetworkID":NET,"EndpointID":EP1}),
    );
    call_ok("/NetworkDriver.DeleteNetwork", &json!({"NetworkID":NET}));
    call_ok("/IpamDriver.ReleasePool", &json!({"PoolID":pool_id}));
    // The last release frees it; one more is a no-op.
    call_ok("/IpamDriver.ReleasePool", &json!({"PoolID":pool_id}));
}

#[test]
fn failures_roll_back_and_bad_bodies_are_refused() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let rt = runtime();
    let c = netd.client();
    // A pool overlapping one of netd's own networks is refused.
    let own = netd_api::types::NetworkCreateRequest {
        name: "own".into(),
        ipam: Some(netd_api::types::Ipam {
            config: Some(vec![netd_api::types::IpamConfig {
                subnet: Some("10.66.0.0/24".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    rt.block_on(c.network_create(&own)).unwrap();
    let msg = call_err(
        "/IpamDriver.RequestPool",
        &json!({"AddressSpace":"LocalDefault","Pool":"10.66.0.0/16","V6":false}),
        "Error",
    );
    assert!(msg.contains("overlap"), "{msg}");
    // Nor can the plugin touch the pool of netd's own network.
    let own_pool = "LocalDefault/10.66.0.0/24";
    call_err(
        "/IpamDriver.ReleasePool",
        &json!({"PoolID":own_pool}),
        "Error",
    );
    call_err(
        "/IpamDriver.RequestAddress",
        &json!({"PoolID":own_pool,"Address":""}),
        "Error",
    );
    // Bad CreateNetwork requests leave no bridge and no record.
    let links_before = host.links();
    let nft_before = nft_elements();
    let bad_option = json!({"NetworkID":NET,"Options":{"com.docker.network.generic":{"no.such.option":"1"}},
        "IPv4Data":[{"AddressSpace":"LocalDefault","Pool":"10.78.0.0/24","Gateway":"10.78.0.1/24"}]});
    let msg = call_err("/NetworkDriver.CreateNetwork", &bad_option, "Err");
    assert!(msg.contains("no.such.option"), "{msg}");
    let short_id =
        json!({"NetworkID":"abc","IPv4Data":[{"Pool":"10.78.0.0/24","Gateway":"10.78.0.1/24"}]});
    call_err("/NetworkDriver.CreateNetwork", &short_id, "Err");
    assert_eq!(host.links(), links_before);
    assert_eq!(nft_elements(), nft_before);
    // Endpoints: unknown network, address outside the subnet.
    call_err(
        "/NetworkDriver.CreateEndpoint",
        &json!({"NetworkID":NET,"EndpointID":EP1,"Interface":{"Address":"10.78.0.2/24"}}),
        "Err",
    );
    call_ok(
        "/NetworkDriver.CreateNetwork",
        &json!({"NetworkID":NET,"IPv4Data":[{"AddressSpace":"LocalDefault","Pool":"10.78.0.0/24","Gateway":"10.78.0.1/24"}]}),
    );
    let links_before = host.links();
    call_err(
        "/NetworkDriver.CreateEndpoint",
        &json!({"NetworkID":NET,"EndpointID":EP1,"Interface":{"Address":"10.99.0.2/24"}}),
        "Err",
    );
    assert_eq!(host.links(), links_before, "no veth left");
    // A published port that is taken: Docker's message, nothing added.
    call_ok(
        "/NetworkDriver.CreateEndpoint",
        &json!({"NetworkID":NET,"EndpointID":EP1,"Interface":{"Address":"10.78.0.2/24"}}),
    );
    let _taken = std::net::TcpListener::bind("0.0.0.0:8181").unwrap();
    let nft_before = nft_elements();
    let msg = call_err(
        "/NetworkDriver.ProgramExternalConnectivity",
        &json!({"NetworkID":NET,"EndpointID":EP1,"Options":{"com.docker.network.portmap":
            [{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8181,"HostPortEnd":8181}]}}),
        "Err",
    );
    assert!(msg.contains("port is already allocated"), "{msg}");
    assert_eq!(nft_elements(), nft_before);
    // netd's own API does not manage the plugin's network.
    let e = rt.block_on(c.network_remove(NET)).unwrap_err();
    assert!(e.to_string().contains("plugin"), "{e}");
    // The network has an endpoint: DeleteNetwork refuses.
    call_err(
        "/NetworkDriver.DeleteNetwork",
        &json!({"NetworkID":NET}),
        "Err",
    );
    // Malformed bodies: 400 with a message.
    for (path, body) in [
        ("/NetworkDriver.CreateNetwork", "{not json"),
        ("/NetworkDriver.Join", "[1,2]"),
        ("/IpamDriver.RequestPool", ""),
        ("/IpamDriver.RequestAddress", r#"{"PoolID":7}"#),
    ] {
        let (status, text) = post_raw(Path::new(SOCKET), path, body);
        assert_eq!(status, 400, "{path} {body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["Err"].as_str().unwrap().contains("invalid JSON"), "{v}");
    }
    // Bad values in well-formed bodies: the operation fails, 200 + Err.
    call_err(
        "/NetworkDriver.ProgramExternalConnectivity",
        &json!({"NetworkID":NET,"EndpointID":EP1,"Options":{"com.docker.network.portmap":[{"Proto":99,"Port":80}]}}),
        "Err",
    );
    call_err(
        "/IpamDriver.RequestPool",
        &json!({"AddressSpace":"LocalDefault","Pool":"10.0.0.0/99"}),
        "Error",
    );
    call_err(
        "/IpamDriver.RequestPool",
        &json!({"AddressSpace":"Nowhere","Pool":"10.1.0.0/24"}),
        "Error",
    );
}

#[test]
fn plugin_objects_survive_a_restart() {
    let host = TestHost::enter();
    let mut netd = Netd::start(&host);
    let (pool_id, _, gw) = create_network(
        NET,
        "10.79.0.0/24",
        &json!({"com.docker.network.driver.mtu":"1400"}),
    );
    let a = start_container(&pool_id, EP1, "/run/netns/c1", "c1");
    call_ok(
        "/NetworkDriver.ProgramExternalConnectivity",
        &json!({"NetworkID":NET,"EndpointID":EP1,"Options":{"com.docker.network.portmap":
            [{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8282,"HostPortEnd":8282}]}}),
    );
    netd.restart();
    assert!(ping("/run/netns/c1", gw.split('/').next().unwrap()));
    let rt = runtime();
    let n = rt.block_on(netd.client().network(NET)).unwrap();
    assert_eq!(n.containers.len(), 1);
    assert_eq!(n.options["com.docker.network.driver.mtu"], "1400");
    assert!(nft_elements().contains("8282"), "ports restored");
    // The pool is still counted: the same address cannot be handed twice.
    call_err(
        "/IpamDriver.RequestAddress",
        &json!({"PoolID":pool_id,"Address":a}),
        "Error",
    );
    stop_container(&pool_id, EP1, "c1", &a);
    call_ok("/NetworkDriver.DeleteNetwork", &json!({"NetworkID":NET}));
    call_ok(
        "/IpamDriver.ReleaseAddress",
        &json!({"PoolID":pool_id,"Address":gw}),
    );
    call_ok("/IpamDriver.ReleasePool", &json!({"PoolID":pool_id}));
    assert!(!nft_elements().contains("8282"));
}
