//! netd's Docker API through bollard (a Rust Docker client), and bad input:
//! every bad request answers 4xx with a clear message and changes nothing.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{
    EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, NetworkConnectRequest,
    NetworkCreateRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::{ListNetworksOptions, PruneNetworksOptions};
use hyper::Method;
use netd_api::types::SandboxCreateRequest;
use tests::TestHost;
use tests::netd::{Netd, runtime};

async fn bollard(netd: &Netd) -> Docker {
    Docker::connect_with_unix(&netd.host(), 30, bollard::API_DEFAULT_VERSION)
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

fn filters(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        m.entry((*k).to_owned()).or_default().push((*v).to_owned());
    }
    m
}

fn status(e: &bollard::errors::Error) -> u16 {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => *status_code,
        other => panic!("not an API error: {other}"),
    }
}

#[test]
fn bollard_drives_the_network_api() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    runtime().block_on(async {
        let docker = bollard(&netd).await;
        let created = docker
            .create_network(NetworkCreateRequest {
                name: "app".into(),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some("10.50.0.0/24".into()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                labels: Some([("tier".to_owned(), "front".to_owned())].into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(created.id.len(), 64);
        let listed = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters(&[("label", "tier=front")])),
            }))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name.as_deref(), Some("app"));
        for (k, v, n) in [
            ("driver", "bridge", 2),
            ("type", "builtin", 3),
            ("name", "app", 1),
            ("scope", "local", 4),
        ] {
            let got = docker
                .list_networks(Some(ListNetworksOptions {
                    filters: Some(filters(&[(k, v)])),
                }))
                .await
                .unwrap();
            assert_eq!(got.len(), n, "filter {k}={v}");
        }

        let sb = netd
            .client()
            .sandbox_create(&SandboxCreateRequest {
                name: "web1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        docker
            .connect_network(
                "app",
                NetworkConnectRequest {
                    container: "web1".into(),
                    endpoint_config: Some(EndpointSettings {
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some("10.50.0.9".into()),
                            ..Default::default()
                        }),
                        aliases: Some(vec!["www".into()]),
                        ..Default::default()
                    }),
                },
            )
            .await
            .unwrap();
        let inspected = docker.inspect_network("app", None).await.unwrap();
        let containers = inspected.containers.unwrap();
        assert_eq!(
            containers[&sb.id].ipv4_address.as_deref(),
            Some("10.50.0.9/24")
        );
        assert_eq!(containers[&sb.id].name.as_deref(), Some("web1"));
        let e = docker
            .connect_network(
                "app",
                NetworkConnectRequest {
                    container: "web1".into(),
                    endpoint_config: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(status(&e), 403);

        docker
            .disconnect_network(
                "app",
                NetworkDisconnectRequest {
                    container: "web1".into(),
                    force: Some(false),
                },
            )
            .await
            .unwrap();
        let pruned = docker
            .prune_networks(Some(PruneNetworksOptions {
                filters: Some(filters(&[("label", "tier=front")])),
            }))
            .await
            .unwrap();
        assert_eq!(pruned.networks_deleted, Some(vec!["app".to_owned()]));
        let e = docker.remove_network("app").await.unwrap_err();
        assert_eq!(status(&e), 404);
        let e = docker.inspect_network("nosuch", None).await.unwrap_err();
        assert_eq!(status(&e), 404);
    });
}

/// What a bad request must not change: the API's view, the host's links and
/// the namespace files.
fn snapshot(netd: &Netd) -> (String, String, String, String) {
    let rt = runtime();
    let (_, nets) = rt
        .block_on(netd.client().raw(Method::GET, "/networks", None))
        .unwrap();
    let (_, sbs) = rt
        .block_on(netd.client().raw(Method::GET, "/sandboxes", None))
        .unwrap();
    let links = tests::run("ip", &["-o", "link"]);
    let links: String = links
        .lines()
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned() + "\n")
        .collect();
    (
        String::from_utf8_lossy(&nets).into_owned(),
        String::from_utf8_lossy(&sbs).into_owned(),
        links,
        tests::run("ls", &["/run/netd/netns"]),
    )
}

#[test]
fn bad_input_answers_4xx_and_changes_nothing() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let rt = runtime();
    rt.block_on(async {
        c.raw(
            Method::POST,
            "/networks/create",
            Some(br#"{"Name":"used","IPAM":{"Config":[{"Subnet":"10.60.0.0/16"}]}}"#.to_vec()),
        )
        .await
        .unwrap();
        c.sandbox_create(&SandboxCreateRequest {
            name: "box1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        c.raw(
            Method::POST,
            "/networks/used/connect",
            Some(br#"{"Container":"box1"}"#.to_vec()),
        )
        .await
        .unwrap();
    });
    let before = snapshot(&netd);
    let cases: &[(Method, &str, &str, u16, &str)] = &[
        (
            Method::POST,
            "/networks/create",
            "{not json",
            400,
            "invalid JSON",
        ),
        (
            Method::POST,
            "/networks/create",
            "",
            400,
            "request body is empty",
        ),
        (
            Method::POST,
            "/networks/create",
            r#"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.61.0.0/33"}]}}"#,
            400,
            "invalid subnet 10.61.0.0/33: invalid CIDR block notation",
        ),
        (
            Method::POST,
            "/networks/create",
            r#"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.61.0.0/24","Gateway":"10.62.0.1"}]}}"#,
            400,
            "invalid gateway 10.62.0.1: parent subnet 10.61.0.0/24 doesn't contain this address",
        ),
        (
            Method::POST,
            "/networks/create",
            r#"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.60.3.0/24"}]}}"#,
            403,
            "Pool overlaps with other one on this address space",
        ),
        (
            Method::POST,
            "/networks/create",
            r#"{"Name":"used"}"#,
            409,
            "network with name used already exists",
        ),
        (
            Method::POST,
            "/networks/create",
            r#"{"Name":"n","Options":{"com.docker.network.bridge.nope":"1"}}"#,
            400,
            "unknown option",
        ),
        (
            Method::POST,
            "/networks/create",
            r#"{"Name":"n","Driver":"weird"}"#,
            404,
            "plugin \"weird\" not found",
        ),
        (
            Method::POST,
            "/networks/create",
            r#"{"Name":""}"#,
            400,
            "invalid name: name is empty",
        ),
        (
            Method::POST,
            "/networks/nosuch/connect",
            r#"{"Container":"box1"}"#,
            404,
            "network nosuch not found",
        ),
        (
            Method::POST,
            "/networks/used/connect",
            r#"{"Container":"nobox"}"#,
            404,
            "No such container: nobox",
        ),
        (
            Method::POST,
            "/networks/used/connect",
            r#"{"Container":"box1"}"#,
            403,
            "endpoint with name box1 already exists in network used",
        ),
        (
            Method::POST,
            "/networks/used/connect",
            "[1,2",
            400,
            "invalid JSON",
        ),
        (
            Method::POST,
            "/networks/used/disconnect",
            r#"{"Container":"nobox"}"#,
            404,
            "No such container: nobox",
        ),
        (
            Method::DELETE,
            "/networks/nosuch",
            "",
            404,
            "network nosuch not found",
        ),
        (
            Method::DELETE,
            "/networks/used",
            "",
            403,
            "has active endpoints",
        ),
        (
            Method::DELETE,
            "/networks/none",
            "",
            403,
            "none is a pre-defined network and cannot be removed",
        ),
        (
            Method::POST,
            "/sandboxes",
            r#"{"Name":"box1"}"#,
            409,
            "is already in use",
        ),
        (
            Method::POST,
            "/sandboxes",
            r#"{"Name":"-bad"}"#,
            400,
            "Invalid container name",
        ),
        (
            Method::POST,
            "/sandboxes",
            r#"{"Id":"xyz"}"#,
            400,
            "invalid sandbox id",
        ),
        (
            Method::POST,
            "/sandboxes",
            r#"{"Name":"dnsbox","Dns":["not-an-ip"]}"#,
            400,
            "is not an IP address",
        ),
        (
            Method::POST,
            "/sandboxes",
            r#"{"Name":"hostbox","ExtraHosts":["nocolon"]}"#,
            400,
            "bad format for add-host",
        ),
        (
            Method::GET,
            "/networks?filters=%7B%22colour%22%3A%5B%22x%22%5D%7D",
            "",
            400,
            "invalid filter 'colour'",
        ),
        (
            Method::GET,
            "/networks?filters=%7B%22type%22%3A%5B%22x%22%5D%7D",
            "",
            400,
            "invalid filter: 'type'='x'",
        ),
        (
            Method::GET,
            "/v1.99/networks",
            "",
            400,
            "client version 1.99 is too new",
        ),
        (Method::GET, "/nowhere", "", 404, "page not found"),
    ];
    for (method, path, body, want_status, want_msg) in cases {
        let body = (!body.is_empty()).then(|| body.as_bytes().to_vec());
        let (status, resp) = rt.block_on(c.raw(method.clone(), path, body)).unwrap();
        let resp = String::from_utf8_lossy(&resp);
        assert_eq!(status.as_u16(), *want_status, "{method} {path}: {resp}");
        let msg: serde_json::Value = serde_json::from_str(&resp)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {resp}"));
        let msg = msg["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(want_msg),
            "{method} {path}: wanted {want_msg:?} in {msg:?}"
        );
        assert_eq!(snapshot(&netd), before, "{method} {path} changed the state");
    }
}

#[test]
fn three_hundred_networks_without_subnets_all_succeed() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    runtime().block_on(async {
        for i in 0..300 {
            c.network_create(&netd_api::types::NetworkCreateRequest {
                name: format!("n{i:03}"),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("network {i}: {e}"));
        }
        let all = c.networks(None).await.unwrap();
        assert_eq!(all.len(), 303);
        let mut subnets: Vec<String> = all
            .iter()
            .filter_map(|n| n.ipam.config.as_ref()?.first()?.subnet.clone())
            .collect();
        let count = subnets.len();
        subnets.sort();
        subnets.dedup();
        assert_eq!(subnets.len(), count, "every network has its own subnet");
        assert_eq!(count, 301);
    });
    let bridges = tests::run("ip", &["-o", "link", "show", "type", "bridge"]);
    assert_eq!(bridges.lines().count(), 301);
}

#[test]
fn concurrent_connects_get_distinct_addresses() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let rt = runtime();
    rt.block_on(async {
        let c = netd.client();
        c.network_create(&netd_api::types::NetworkCreateRequest {
            name: "busy".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        for i in 0..24 {
            c.sandbox_create(&SandboxCreateRequest {
                name: format!("par{i}"),
                ..Default::default()
            })
            .await
            .unwrap();
        }
    });
    let threads: Vec<_> = (0..24)
        .map(|i| {
            let c = netd.client();
            std::thread::spawn(move || {
                runtime().block_on(c.network_connect(
                    "busy",
                    &netd_api::types::NetworkConnectRequest {
                        container: format!("par{i}"),
                        endpoint_config: None,
                    },
                ))
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let net = rt.block_on(netd.client().network("busy")).unwrap();
    let mut addrs: Vec<String> = net
        .containers
        .values()
        .map(|e| e.ipv4_address.clone())
        .collect();
    assert_eq!(addrs.len(), 24);
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 24, "no address handed out twice");
}
