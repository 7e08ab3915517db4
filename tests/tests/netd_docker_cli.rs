//! The real `docker` CLI manages netd's networks, with the same results as
//! `berth network`.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use netd_api::types::SandboxCreateRequest;
use tests::TestHost;
use tests::netd::{Netd, fails, ok, runtime};

fn sandbox(netd: &Netd, name: &str) -> String {
    runtime()
        .block_on(netd.client().sandbox_create(&SandboxCreateRequest {
            name: name.into(),
            ..Default::default()
        }))
        .unwrap()
        .id
}

fn names(out: &str) -> Vec<&str> {
    out.lines().collect()
}

#[test]
fn docker_cli_creates_lists_filters_inspects_and_removes() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let id = ok(&netd.docker(&[
        "network",
        "create",
        "--subnet",
        "10.30.0.0/24",
        "--ip-range",
        "10.30.0.128/25",
        "--gateway",
        "10.30.0.1",
        "--aux-address",
        "router=10.30.0.2",
        "--label",
        "team=web",
        "--internal",
        "--attachable",
        "web",
    ]))
    .trim()
    .to_owned();
    assert_eq!(id.len(), 64);
    ok(&netd.docker(&["network", "create", "--ipv6", "--label", "team=db", "db"]));

    let fmt = |args: &[&str]| {
        let mut a = vec!["network", "ls", "--format", "{{.Name}}"];
        a.extend_from_slice(args);
        ok(&netd.docker(&a))
    };
    assert_eq!(names(&fmt(&[])), ["bridge", "db", "host", "none", "web"]);
    assert_eq!(names(&fmt(&["-f", "driver=null"])), ["none"]);
    assert_eq!(names(&fmt(&["-f", &format!("id={}", &id[..10])])), ["web"]);
    assert_eq!(names(&fmt(&["-f", "label=team"])), ["db", "web"]);
    assert_eq!(names(&fmt(&["-f", "label=team=db"])), ["db"]);
    assert_eq!(names(&fmt(&["-f", "name=we"])), ["web"]);
    assert_eq!(names(&fmt(&["-f", "scope=local"])).len(), 5);
    assert_eq!(
        names(&fmt(&["-f", "type=builtin"])),
        ["bridge", "host", "none"]
    );
    assert_eq!(names(&fmt(&["-f", "type=custom"])), ["db", "web"]);
    assert_eq!(names(&fmt(&["-f", "dangling=true"])), ["db", "web"]);
    let q = ok(&netd.docker(&["network", "ls", "-q", "-f", "name=web"]));
    assert_eq!(q.trim(), &id[..12]);
    let e = fails(&netd.docker(&["network", "ls", "-f", "colour=red"]));
    assert!(e.contains("invalid filter 'colour'"), "{e}");

    let got = ok(&netd.docker(&[
        "network", "inspect", "web", "--format",
        "{{.Name}} {{.Internal}} {{.Attachable}} {{range .IPAM.Config}}{{.Subnet}} {{.IPRange}} {{.Gateway}} {{index .AuxiliaryAddresses \"router\"}}{{end}} {{index .Labels \"team\"}}",
    ]));
    assert_eq!(
        got.trim(),
        "web true true 10.30.0.0/24 10.30.0.128/25 10.30.0.1 10.30.0.2 web"
    );
    let v6 = ok(&netd.docker(&[
        "network",
        "inspect",
        "db",
        "--format",
        "{{.EnableIPv6}} {{len .IPAM.Config}}",
    ]));
    assert_eq!(v6.trim(), "true 2");

    // berth shows the same table as docker.
    assert_eq!(
        ok(&netd.berth(&["network", "ls"])),
        ok(&netd.docker(&["network", "ls"]))
    );
    assert_eq!(
        ok(&netd.berth(&["network", "ls", "--no-trunc", "-f", "label=team"])),
        ok(&netd.docker(&["network", "ls", "--no-trunc", "-f", "label=team"]))
    );

    ok(&netd.docker(&["network", "rm", "web", "db"]));
    assert_eq!(names(&fmt(&[])), ["bridge", "host", "none"]);
    assert!(tests::netd::reaped(), "removed bridges are deleted");
    let bridges = tests::run("ip", &["-o", "link", "show", "type", "bridge"]);
    assert_eq!(
        bridges.lines().count(),
        1,
        "only the default bridge is left: {bridges}"
    );
}

#[test]
fn docker_cli_connects_disconnects_and_prunes() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c1 = sandbox(&netd, "c1");
    ok(&netd.docker(&["network", "create", "--subnet", "10.31.0.0/24", "front"]));
    ok(&netd.docker(&["network", "create", "--label", "keep=yes", "kept"]));
    ok(&netd.docker(&["network", "create", "unused"]));
    ok(&netd.docker(&[
        "network",
        "connect",
        "--ip",
        "10.31.0.50",
        "--alias",
        "www",
        "front",
        "c1",
    ]));
    let got = ok(&netd.docker(&[
        "network",
        "inspect",
        "front",
        "--format",
        "{{range $id, $c := .Containers}}{{$id}} {{$c.Name}} {{$c.IPv4Address}}{{end}}",
    ]));
    assert_eq!(got.trim(), format!("{c1} c1 10.31.0.50/24"));
    let e = fails(&netd.docker(&["network", "connect", "front", "c1"]));
    assert!(
        e.contains("endpoint with name c1 already exists in network front"),
        "{e}"
    );
    let e = fails(&netd.docker(&["network", "connect", "front", "nosuch"]));
    assert!(e.contains("No such container: nosuch"), "{e}");
    let e = fails(&netd.docker(&["network", "rm", "front"]));
    assert!(e.contains("has active endpoints"), "{e}");

    // Prune spares networks in use and those its filters exclude.
    let out = ok(&netd.docker(&["network", "prune", "-f", "--filter", "label!=keep"]));
    assert_eq!(out.trim(), "Deleted Networks:\nunused");
    ok(&netd.docker(&["network", "disconnect", "front", "c1"]));
    let e = fails(&netd.docker(&["network", "disconnect", "front", "c1"]));
    assert!(e.contains("is not connected to network front"), "{e}");
    let out = ok(&netd.berth(&["network", "prune", "-f"]));
    assert_eq!(out.trim(), "Deleted Networks:\nfront\nkept");
    let out = ok(&netd.docker(&["network", "prune", "-f"]));
    assert_eq!(out.trim(), "", "nothing left to prune");
}

#[test]
fn docker_cli_sees_dockers_errors() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    ok(&netd.docker(&["network", "create", "--subnet", "10.40.0.0/16", "taken"]));
    let cases: &[(&[&str], &str)] = &[
        (
            &["network", "create", "taken"],
            "network with name taken already exists",
        ),
        (
            &["network", "create", "--subnet", "10.41.0.0/33", "n1"],
            "invalid CIDR",
        ),
        (
            &[
                "network",
                "create",
                "--subnet",
                "10.41.0.0/24",
                "--gateway",
                "10.42.0.1",
                "n2",
            ],
            "no matching subnet for gateway 10.42.0.1",
        ),
        (
            &["network", "create", "--subnet", "10.40.5.0/24", "n3"],
            "Pool overlaps with other one on this address space",
        ),
        (
            &[
                "network",
                "create",
                "-o",
                "com.docker.network.bridge.frobnicate=1",
                "n4",
            ],
            "unknown option",
        ),
        (&["network", "rm", "nosuch"], "network nosuch not found"),
        (
            &["network", "inspect", "nosuch"],
            "network nosuch not found",
        ),
        (
            &["network", "rm", "bridge"],
            "bridge is a pre-defined network and cannot be removed",
        ),
        (
            &["network", "create", "host"],
            "operation is not permitted on predefined host network",
        ),
    ];
    for (args, want) in cases {
        let e = fails(&netd.docker(args));
        assert!(
            e.contains(want),
            "docker {args:?}: wanted {want:?} in {e:?}"
        );
    }
    let all = ok(&netd.docker(&["network", "ls", "--format", "{{.Name}}"]));
    assert_eq!(
        all.lines().collect::<Vec<_>>(),
        ["bridge", "host", "none", "taken"]
    );
}
