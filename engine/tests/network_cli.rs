//! `berth network …` end to end against a fake netd: a unix socket that
//! answers canned JSON and records what it was asked. Pins what berth sends
//! and prints, and its exit codes, without a real daemon.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

mod fake_netd;

use fake_netd::{FakeNetd, berth_at};

const ID_A: &str = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
const ID_B: &str = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222";

fn network_json(name: &str, id: &str, driver: &str) -> serde_json::Value {
    serde_json::json!({
        "Name": name, "Id": id, "Created": "2025-01-02T03:04:05.5Z", "Scope": "local",
        "Driver": driver, "EnableIPv4": true, "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": [{"Subnet": "10.5.0.0/24", "Gateway": "10.5.0.1"}]},
        "Internal": false, "Attachable": true, "Ingress": false, "ConfigFrom": {"Network": ""},
        "ConfigOnly": false, "Containers": {}, "Options": {}, "Labels": {"env": "dev"}
    })
}

fn not_found(what: &str) -> (u16, String) {
    (404, format!(r#"{{"message":"network {what} not found"}}"#))
}

/// A netd with networks `backend` (A) and `bridge` (B).
fn two_networks() -> FakeNetd {
    FakeNetd::start(|req| match (req.method.as_str(), req.path.as_str()) {
        ("GET", p) if p.starts_with("/networks?") || p == "/networks" => (
            200,
            serde_json::json!([
                network_json("bridge", ID_B, "bridge"),
                network_json("backend", ID_A, "bridge")
            ])
            .to_string(),
        ),
        ("GET", "/networks/backend") => (200, network_json("backend", ID_A, "bridge").to_string()),
        ("GET", p) => not_found(p.trim_start_matches("/networks/")),
        ("DELETE", "/networks/backend") => (204, String::new()),
        ("DELETE", p) => not_found(p.trim_start_matches("/networks/")),
        ("POST", "/networks/create") => (201, format!(r#"{{"Id":"{ID_A}","Warning":""}}"#)),
        ("POST", p) if p.ends_with("/connect") && req.body.contains("\"Links\":[") => (
            400,
            r#"{"message":"links are not supported on user-defined networks"}"#.to_owned(),
        ),
        ("POST", p) if p.ends_with("/connect") || p.ends_with("/disconnect") => {
            (200, String::new())
        }
        ("POST", p) if p.starts_with("/networks/prune") => {
            (200, r#"{"NetworksDeleted":["old1","old2"]}"#.to_owned())
        }
        _ => (500, r#"{"message":"unexpected"}"#.to_owned()),
    })
}

#[test]
fn ls_prints_a_sorted_table() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(&["network", "ls"], "");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "NETWORK ID     NAME      DRIVER    SCOPE\n\
         aaaaaaaaaaaa   backend   bridge    local\n\
         bbbbbbbbbbbb   bridge    bridge    local\n"
    );
}

#[test]
fn ls_sends_filters_as_dockers_json() {
    let netd = two_networks();
    let (code, out, _) = netd.berth(
        &[
            "network",
            "ls",
            "-q",
            "-f",
            "driver=bridge",
            "--filter",
            "label=env=dev",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(out, "aaaaaaaaaaaa\nbbbbbbbbbbbb\n");
    let path = &netd.requests()[0].path;
    assert_eq!(
        path,
        r#"/networks?filters={"driver":["bridge"],"label":["env=dev"]}"#
    );
}

#[test]
fn ls_format_json_and_templates() {
    let netd = two_networks();
    let (_, out, _) = netd.berth(&["network", "ls", "--format", "json"], "");
    assert_eq!(
        out.lines().next().unwrap(),
        r#"{"CreatedAt":"2025-01-02 03:04:05.5 +0000 UTC","Driver":"bridge","ID":"aaaaaaaaaaaa","IPv4":"true","IPv6":"false","Internal":"false","Labels":"env=dev","Name":"backend","Scope":"local"}"#
    );
    let (_, out, _) = netd.berth(
        &[
            "network",
            "ls",
            "--no-trunc",
            "--format",
            r#"{{.Name}} {{.ID}} {{.Label "env"}}"#,
        ],
        "",
    );
    assert_eq!(out, format!("backend {ID_A} dev\nbridge {ID_B} dev\n"));
    let (code, out, err) = netd.berth(&["network", "ls", "--format", "{{.Nope}}"], "");
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("template parsing error: "), "{err}");
}

#[test]
fn inspect_prints_found_networks_and_reports_missing_ones() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(&["network", "inspect", "backend", "nope"], "");
    assert_eq!(code, 1);
    assert_eq!(err, "Error response from daemon: network nope not found\n");
    assert!(
        out.starts_with("[\n    {\n        \"Name\": \"backend\",\n        \"Id\": \""),
        "{out}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        parsed,
        serde_json::json!([network_json("backend", ID_A, "bridge")])
    );
}

#[test]
fn inspect_with_a_template() {
    let netd = two_networks();
    let (code, out, _) = netd.berth(
        &[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}} {{json .Labels}}",
            "backend",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(out, "backend 10.5.0.0/24 {\"env\":\"dev\"}\n");
}

#[test]
fn inspect_with_a_bad_template_exits_64_before_asking_netd() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(&["network", "inspect", "-f", "{{.Name", "backend"], "");
    assert_eq!((code, out.as_str()), (64, ""));
    assert!(err.starts_with("template parsing error: "), "{err}");
    assert!(netd.requests().is_empty());
}

#[test]
fn rm_prints_removed_names_and_reports_failures() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(&["network", "rm", "backend", "nope"], "");
    assert_eq!(code, 1);
    assert_eq!(out, "backend\n");
    assert_eq!(
        err,
        "Error response from daemon: network nope not found\nexit status 1\n"
    );
}

#[test]
fn rm_force_ignores_missing_networks() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(&["network", "remove", "-f", "nope", "backend"], "");
    assert_eq!((code, out.as_str(), err.as_str()), (0, "backend\n", ""));
}

#[test]
fn create_sends_dockers_request_and_prints_the_id() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(
        &[
            "network",
            "create",
            "--subnet",
            "10.9.0.0/24",
            "--gateway",
            "10.9.0.1",
            "--aux-address",
            "r=10.9.0.2",
            "--label",
            "a=b",
            "-o",
            "mtu=1400",
            "--ipv6",
            "web",
        ],
        "",
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, format!("{ID_A}\n"));
    let req = &netd.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/networks/create")
    );
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["Name"], "web");
    assert_eq!(body["Driver"], "bridge");
    assert_eq!(body["EnableIPv6"], true);
    assert_eq!(body["EnableIPv4"], serde_json::Value::Null);
    assert_eq!(body["Labels"], serde_json::json!({"a": "b"}));
    assert_eq!(body["Options"], serde_json::json!({"mtu": "1400"}));
    assert_eq!(
        body["IPAM"],
        serde_json::json!({"Driver": "default", "Options": {}, "Config": [
            {"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1", "AuxiliaryAddresses": {"r": "10.9.0.2"}}
        ]})
    );
}

#[test]
fn create_with_a_stray_gateway_fails_before_asking_netd() {
    let netd = two_networks();
    let (code, _, err) = netd.berth(&["network", "create", "--gateway", "10.0.0.1", "web"], "");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "every ip-range or gateway must have a corresponding subnet\n"
    );
    assert!(netd.requests().is_empty());
}

#[test]
fn create_without_a_name_is_a_usage_error() {
    let (code, out, err) = berth_at("unix:///nonexistent.sock", &["network", "create"], "");
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "berth: 'berth network create' requires 1 argument\n\n\
         Usage:  berth network create [OPTIONS] NETWORK\n\n\
         Run 'berth network create --help' for more information\n"
    );
}

#[test]
fn connect_sends_endpoint_settings_and_netd_refuses_links() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(
        &[
            "network", "connect", "--ip", "10.5.0.9", "--alias", "web", "backend", "app",
        ],
        "",
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let req = &netd.requests()[0];
    assert_eq!(req.path, "/networks/backend/connect");
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["Container"], "app");
    assert_eq!(
        body["EndpointConfig"]["IPAMConfig"],
        serde_json::json!({"IPv4Address": "10.5.0.9"})
    );
    assert_eq!(
        body["EndpointConfig"]["Aliases"],
        serde_json::json!(["web"])
    );

    let (code, _, err) = netd.berth(
        &["network", "connect", "--link", "db:db", "backend", "app"],
        "",
    );
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error response from daemon: links are not supported on user-defined networks\n"
    );
}

#[test]
fn disconnect_sends_force() {
    let netd = two_networks();
    let (code, _, _) = netd.berth(&["network", "disconnect", "-f", "backend", "app"], "");
    assert_eq!(code, 0);
    let req = &netd.requests()[0];
    assert_eq!(req.path, "/networks/backend/disconnect");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&req.body).unwrap(),
        serde_json::json!({"Container": "app", "Force": true})
    );
}

#[test]
fn prune_asks_first_and_a_no_does_nothing() {
    let netd = two_networks();
    let (code, out, err) = netd.berth(&["network", "prune"], "n\n");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "WARNING! This will remove all custom networks not used by at least one container.\n\
         Are you sure you want to continue? [y/N] "
    );
    assert!(netd.requests().is_empty());
}

#[test]
fn prune_lists_deleted_networks() {
    let netd = two_networks();
    let (code, out, _) = netd.berth(&["network", "prune", "-f", "--filter", "until=24h"], "");
    assert_eq!(code, 0);
    assert_eq!(out, "Deleted Networks:\nold1\nold2\n\n");
    assert_eq!(
        netd.requests()[0].path,
        r#"/networks/prune?filters={"until":["24h"]}"#
    );
    let (code, out, _) = netd.berth(&["network", "prune"], "y\n");
    assert_eq!(code, 0);
    assert!(
        out.ends_with("[y/N] Deleted Networks:\nold1\nold2\n\n"),
        "{out}"
    );
}

#[test]
fn no_netd_is_a_connection_error() {
    let dir = tempfile::tempdir().unwrap();
    let host = format!("unix://{}/netd.sock", dir.path().display());
    let (code, out, err) = berth_at(&host, &["network", "ls"], "");
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with(&format!(
            "Cannot connect to netd at {host}. Is netd running?"
        )),
        "{err}"
    );
}
