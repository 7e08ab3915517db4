//! Real traffic between sandboxes that netd connects: IPv4 and IPv6 on one
//! bridge, a sandbox on two networks, disconnect, and the host and none
//! networks behaving as Docker's.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use netd_api::client::Client;
use netd_api::types::{
    EndpointSettings, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, SandboxCreateRequest, SandboxResource,
};
use tests::TestHost;
use tests::netd::{Netd, in_netns, ping, runtime};

async fn network(c: &Client, name: &str, v6_subnet: Option<&str>) -> String {
    let mut req = NetworkCreateRequest {
        name: name.into(),
        ..Default::default()
    };
    if let Some(s) = v6_subnet {
        req.enable_ipv6 = Some(true);
        req.ipam = Some(netd_api::types::Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(s.into()),
                ..Default::default()
            }]),
            ..Default::default()
        });
    }
    c.network_create(&req).await.unwrap().id
}

async fn sandbox(c: &Client, name: &str, mode: &str) -> SandboxResource {
    c.sandbox_create(&SandboxCreateRequest {
        name: name.into(),
        network_mode: mode.into(),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn connect(c: &Client, net: &str, sb: &str) -> Result<(), netd_api::client::ClientError> {
    c.network_connect(
        net,
        &NetworkConnectRequest {
            container: sb.into(),
            endpoint_config: Some(EndpointSettings::default()),
        },
    )
    .await
}

fn links(netns: &str) -> String {
    String::from_utf8_lossy(&in_netns(netns, &["ip", "-o", "link"]).stdout).into_owned()
}

#[test]
fn sandboxes_reach_each_other_over_v4_and_v6_and_across_two_networks() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let rt = runtime();
    rt.block_on(async {
        network(&c, "net1", Some("fd11::/64")).await;
        network(&c, "net2", None).await;
        let a = sandbox(&c, "sa", "").await;
        let b = sandbox(&c, "sb", "").await;
        let x = sandbox(&c, "sx", "").await;
        connect(&c, "net1", "sa").await.unwrap();
        connect(&c, "net1", "sb").await.unwrap();
        connect(&c, "net2", "sa").await.unwrap();
        connect(&c, "net2", "sx").await.unwrap();

        let b = c.sandbox(&b.id).await.unwrap();
        let b1 = &b.networks["net1"];
        assert!(!b1.ip_address.is_empty() && !b1.global_ipv6_address.is_empty());
        assert!(ping(&a.sandbox_key, &b1.ip_address), "IPv4 a -> b");
        assert!(ping(&a.sandbox_key, &b1.global_ipv6_address), "IPv6 a -> b");
        // Bridge ports carry IPv6 without having any: the host side of the
        // veth has it off, so it adds nothing to the host's routing table.
        let port = format!("veth{}", &b1.endpoint_id[..11]);
        let off = std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{port}/disable_ipv6"));
        assert_eq!(off.unwrap().trim(), "1", "IPv6 off on {port}");
        let x2 = c.sandbox(&x.id).await.unwrap().networks["net2"]
            .ip_address
            .clone();
        assert!(
            ping(&a.sandbox_key, &x2),
            "a reaches its second network too"
        );

        // The first network connected provides the default route.
        let a_view = c.sandbox(&a.id).await.unwrap();
        let route = in_netns(&a.sandbox_key, &["ip", "route", "show", "default"]);
        let route = String::from_utf8_lossy(&route.stdout);
        assert!(route.contains(&a_view.networks["net1"].gateway), "{route}");
        assert!(route.contains("dev eth0"), "{route}");
        assert!(links(&a.sandbox_key).contains("eth1"));

        // Disconnect removes the interface and its address.
        c.network_disconnect(
            "net2",
            &NetworkDisconnectRequest {
                container: "sa".into(),
                force: false,
            },
        )
        .await
        .unwrap();
        assert!(!links(&a.sandbox_key).contains("eth1"));
        assert!(
            tests::netd::eventually(30, || links(&a.sandbox_key).lines().count() == 2),
            "the retired interface is deleted soon after: {}",
            links(&a.sandbox_key)
        );
        let addrs =
            String::from_utf8_lossy(&in_netns(&a.sandbox_key, &["ip", "-o", "addr"]).stdout)
                .into_owned();
        assert!(
            !addrs.contains(&a_view.networks["net2"].ip_address),
            "{addrs}"
        );
        assert!(
            !ping(&a.sandbox_key, &x2),
            "disconnected network is unreachable"
        );
        assert!(
            ping(&a.sandbox_key, &b1.ip_address),
            "the other network still works"
        );
        assert!(
            !c.sandbox(&a.id)
                .await
                .unwrap()
                .networks
                .contains_key("net2")
        );
    });
}

#[test]
fn disconnecting_the_gateway_network_moves_the_default_route() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    runtime().block_on(async {
        network(&c, "first", None).await;
        network(&c, "second", None).await;
        let a = sandbox(&c, "sa", "").await;
        connect(&c, "first", "sa").await.unwrap();
        connect(&c, "second", "sa").await.unwrap();
        let gw2 = c.sandbox("sa").await.unwrap().networks["second"]
            .gateway
            .clone();
        c.network_disconnect(
            "first",
            &NetworkDisconnectRequest {
                container: "sa".into(),
                force: false,
            },
        )
        .await
        .unwrap();
        let route = in_netns(&a.sandbox_key, &["ip", "route", "show", "default"]);
        let route = String::from_utf8_lossy(&route.stdout);
        assert!(
            route.contains(&gw2),
            "default route now via the second network: {route}"
        );
        assert!(ping(&a.sandbox_key, &gw2));
    });
}

#[test]
fn host_and_none_behave_as_dockers() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    runtime().block_on(async {
        network(&c, "user", None).await;
        // host: the sandbox shares the host's namespace.
        let h = sandbox(&c, "hh", "host").await;
        assert_eq!(h.sandbox_key, "");
        connect(&c, "host", "hh").await.unwrap();
        let e = connect(&c, "user", "hh").await.unwrap_err();
        assert_eq!(e.status(), Some(400));
        assert!(e.to_string().contains("host network"), "{e}");
        sandbox(&c, "own", "").await;
        assert_eq!(
            connect(&c, "host", "own").await.unwrap_err().status(),
            Some(400)
        );
        let view = c.network("host").await.unwrap();
        assert!(view.containers.contains_key(&h.id));

        // none: loopback only, and nothing else alongside.
        let n = sandbox(&c, "nn", "none").await;
        connect(&c, "none", "nn").await.unwrap();
        let l = links(&n.sandbox_key);
        assert_eq!(l.lines().count(), 1, "only loopback: {l}");
        assert!(l.contains("lo:") && l.contains("UP"), "{l}");
        let e = connect(&c, "user", "nn").await.unwrap_err();
        assert!(e.to_string().contains("private (none) mode"), "{e}");
        connect(&c, "user", "own").await.unwrap();
        assert!(connect(&c, "none", "own").await.is_err());
        assert!(ping(&n.sandbox_key, "127.0.0.1"), "loopback works");

        // Neither predefined driver can be instantiated again.
        for d in ["host", "null"] {
            let e = c
                .network_create(&NetworkCreateRequest {
                    name: format!("another-{d}"),
                    driver: d.into(),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(e.status(), Some(403));
            assert_eq!(
                e.to_string(),
                format!("only one instance of \"{d}\" network is allowed")
            );
        }
    });
}
