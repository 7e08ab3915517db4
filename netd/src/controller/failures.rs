//! Every failure point of every operation, without privileges: each
//! operation runs once to count its kernel steps, then once more for each
//! step with that step failing; a failed operation must leave the store,
//! IPAM, the port reservations, the DNS zones, the controller's memory and
//! the (fake) kernel exactly as they were.

use std::collections::{BTreeMap, BTreeSet};

use netd_api::portspec::{PortBinding, PortBindings};
use netd_api::types::{
    EndpointSettings, Ipam as IpamRequest, IpamConfig, NetworkCreateRequest, SandboxCreateRequest,
};

use super::Controller;
use super::fake::{FakeKernel, Held};
use super::plugin::{PluginEndpointSpec, PluginNetworkSpec, PluginSubnet};
use crate::error::NetdError;

/// One controller over a fake kernel, in a directory of its own.
struct Env {
    _dir: tempfile::TempDir,
    fake: FakeKernel,
    c: Controller,
}

async fn env() -> Env {
    let (dir, fake, c) = super::fake::controller().await;
    Env { _dir: dir, fake, c }
}

/// Everything an operation may change, as comparable data.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    stored: String,
    ipam: String,
    memory: String,
    reservations: BTreeMap<String, Vec<u16>>,
    zones: BTreeMap<String, BTreeSet<String>>,
    kernel: Held,
}

fn snapshot(e: &Env) -> Snapshot {
    let c = &e.c;
    Snapshot {
        stored: format!("{:?}", c.store.load().expect("the store loads")),
        ipam: format!("{:?}", c.ipam.to_state()),
        memory: format!(
            "{:?} {:?} {:?} {:?} {}",
            c.networks, c.endpoints, c.sandboxes, c.plugin_pools, c.next_seq
        ),
        reservations: c
            .reservations
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|h| h.port).collect()))
            .collect(),
        zones: c
            .zones
            .iter()
            .map(|(k, z)| (k.clone(), z.entries()))
            .collect(),
        kernel: e.fake.held(),
    }
}

const PLUGIN_NET: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const PLUGIN_EP: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// The operations under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A user network `name` (a /24 of its own, icc off on odd ones).
    Net(usize),
    RmNet(usize),
    /// A sandbox `sN`, publishing port 80 on host port 8000+N.
    Sandbox(usize),
    RmSandbox(usize),
    /// Sandbox N onto network M, with an alias.
    Connect(usize, usize),
    Disconnect(usize, usize),
    PluginNet,
    PluginEndpoint,
    PluginDeleteEndpoint,
    PluginJoin,
    PluginLeave,
    PluginPublish,
}

async fn run(c: &mut Controller, op: Op) -> Result<(), NetdError> {
    match op {
        Op::Net(n) => {
            let mut opts = BTreeMap::new();
            if n % 2 == 1 {
                opts.insert(
                    "com.docker.network.bridge.enable_icc".to_owned(),
                    "false".to_owned(),
                );
            }
            let req = NetworkCreateRequest {
                name: format!("net{n}"),
                driver: "bridge".into(),
                enable_ipv6: Some(n % 3 == 2),
                options: Some(opts),
                ipam: Some(IpamRequest {
                    config: Some(vec![IpamConfig {
                        subnet: Some(format!("10.{n}.0.0/24")),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            c.create_network(req).await.map(drop)
        }
        Op::RmNet(n) => c.remove_network(&format!("net{n}")).await,
        Op::Sandbox(n) => {
            let mut ports = PortBindings::new();
            ports.insert(
                "80/tcp".into(),
                vec![PortBinding {
                    host_ip: String::new(),
                    host_port: (8000 + n).to_string(),
                }],
            );
            let req = SandboxCreateRequest {
                name: format!("s{n}"),
                port_bindings: Some(ports),
                ..Default::default()
            };
            c.create_sandbox(req).await.map(drop)
        }
        Op::RmSandbox(n) => c.remove_sandbox(&format!("s{n}")).await,
        Op::Connect(s, n) => {
            let cfg = EndpointSettings {
                aliases: Some(vec![format!("alias{s}")]),
                ..Default::default()
            };
            c.connect(&format!("net{n}"), &format!("s{s}"), cfg).await
        }
        Op::Disconnect(s, n) => {
            c.disconnect(&format!("net{n}"), &format!("s{s}"), false)
                .await
        }
        Op::PluginNet => {
            let spec = PluginNetworkSpec {
                id: PLUGIN_NET.into(),
                subnets: vec![PluginSubnet {
                    pool: "10.200.0.0/24".parse().expect("a subnet"),
                    gateway: "10.200.0.1".parse().expect("an address"),
                    aux: BTreeMap::new(),
                }],
                ..Default::default()
            };
            c.plugin_create_network(spec).await
        }
        Op::PluginEndpoint => {
            let spec = PluginEndpointSpec {
                network: PLUGIN_NET.into(),
                id: PLUGIN_EP.into(),
                ipv4: Some("10.200.0.2/24".parse().expect("an address")),
                ..Default::default()
            };
            c.plugin_create_endpoint(spec).await.map(drop)
        }
        Op::PluginDeleteEndpoint => c.plugin_delete_endpoint(PLUGIN_NET, PLUGIN_EP).await,
        Op::PluginJoin => c
            .plugin_join(PLUGIN_NET, PLUGIN_EP, "/var/run/docker/netns/x")
            .map(drop),
        Op::PluginLeave => c.plugin_leave(PLUGIN_NET, PLUGIN_EP),
        Op::PluginPublish => {
            let m =
                netd_api::portspec::parse_port_specs(&["9000:90".to_owned()]).expect("a port spec");
            c.plugin_program_external(PLUGIN_NET, PLUGIN_EP, &m.1)
        }
    }
}

/// Runs `setup`, then `op` once per kernel step with that step failing:
/// whenever `op` fails, nothing may have changed. Returns how many steps
/// `op` takes.
async fn each_step_fails_cleanly(setup: &[Op], op: Op) -> usize {
    let mut clean = env().await;
    for s in setup {
        run(&mut clean.c, *s).await.expect("setup succeeds");
    }
    let first = clean.fake.steps();
    run(&mut clean.c, op).await.expect("the operation succeeds");
    let steps = clean.fake.steps() - first;
    for i in 0..steps {
        let mut e = env().await;
        for s in setup {
            run(&mut e.c, *s).await.expect("setup succeeds");
        }
        let before = snapshot(&e);
        e.fake.fail_at(Some(e.fake.steps() + i));
        let result = run(&mut e.c, op).await;
        let failed = e.fake.failed();
        e.fake.fail_at(None);
        assert!(
            failed.is_some(),
            "{op:?}: step {i} of {steps} was never reached"
        );
        if result.is_err() {
            assert_eq!(
                snapshot(&e),
                before,
                "{op:?} failed at {failed:?} and left a change behind"
            );
        }
    }
    steps
}

const NET: Op = Op::Net(1);

#[tokio::test]
async fn network_create_fails_cleanly_at_every_step() {
    assert!(each_step_fails_cleanly(&[], NET).await >= 3);
    assert!(each_step_fails_cleanly(&[], Op::Net(2)).await >= 3);
}

#[tokio::test]
async fn network_remove_fails_cleanly_at_every_step() {
    assert!(each_step_fails_cleanly(&[NET], Op::RmNet(1)).await >= 2);
}

#[tokio::test]
async fn sandbox_create_fails_cleanly_at_every_step() {
    assert!(each_step_fails_cleanly(&[], Op::Sandbox(1)).await >= 4);
}

#[tokio::test]
async fn connect_with_ports_and_aliases_fails_cleanly_at_every_step() {
    let setup = [NET, Op::Sandbox(1)];
    assert!(each_step_fails_cleanly(&setup, Op::Connect(1, 1)).await >= 6);
    // A second network: the gateway, routes and ports stay on the first.
    let setup = [NET, Op::Net(2), Op::Sandbox(1), Op::Connect(1, 1)];
    assert!(each_step_fails_cleanly(&setup, Op::Connect(1, 2)).await >= 4);
}

#[tokio::test]
async fn disconnect_fails_cleanly_at_every_step() {
    let setup = [
        NET,
        Op::Net(2),
        Op::Sandbox(1),
        Op::Connect(1, 1),
        Op::Connect(1, 2),
    ];
    assert!(each_step_fails_cleanly(&setup, Op::Disconnect(1, 1)).await >= 2);
}

#[tokio::test]
async fn sandbox_remove_fails_cleanly_at_every_step() {
    let setup = [NET, Op::Sandbox(1), Op::Connect(1, 1)];
    assert!(each_step_fails_cleanly(&setup, Op::RmSandbox(1)).await >= 2);
}

#[tokio::test]
async fn plugin_operations_fail_cleanly_at_every_step() {
    assert!(each_step_fails_cleanly(&[], Op::PluginNet).await >= 2);
    let net = [Op::PluginNet];
    assert!(each_step_fails_cleanly(&net, Op::PluginEndpoint).await >= 2);
    let ep = [Op::PluginNet, Op::PluginEndpoint];
    each_step_fails_cleanly(&ep, Op::PluginJoin).await;
    let joined = [Op::PluginNet, Op::PluginEndpoint, Op::PluginJoin];
    each_step_fails_cleanly(&joined, Op::PluginLeave).await;
    assert!(each_step_fails_cleanly(&joined, Op::PluginPublish).await >= 2);
    let published = [
        Op::PluginNet,
        Op::PluginEndpoint,
        Op::PluginJoin,
        Op::PluginPublish,
    ];
    assert!(each_step_fails_cleanly(&published, Op::PluginDeleteEndpoint).await >= 1);
}

#[tokio::test]
async fn a_successful_connect_holds_what_it_should() {
    let mut e = env().await;
    for op in [NET, Op::Sandbox(1), Op::Connect(1, 1)] {
        run(&mut e.c, op).await.expect("succeeds");
    }
    let held = e.fake.held();
    assert_eq!(held.veths.len(), 1, "one veth: {held:?}");
    assert!(
        held.ports.iter().any(|p| p.3 == 8001),
        "port 8001 held: {held:?}"
    );
    assert!(
        held.elements.iter().any(|el| el.contains("8001")),
        "a firewall element publishes 8001: {:?}",
        held.elements
    );
    assert_eq!(held.routes.values().map(BTreeSet::len).sum::<usize>(), 1);
    run(&mut e.c, Op::RmSandbox(1)).await.expect("removed");
    let held = e.fake.held();
    assert!(held.veths.is_empty() && held.ports.is_empty() && held.netns.is_empty());
    assert!(!held.elements.iter().any(|el| el.contains("8001")));
}

/// A deterministic stream of numbers for the random sequences.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(n).expect("small")).expect("small")
    }
}

fn random_op(r: &mut Rng) -> Op {
    let (s, n) = (r.below(3), r.below(3));
    match r.below(8) {
        0 => Op::Net(n),
        1 => Op::RmNet(n),
        2 => Op::Sandbox(s),
        3 => Op::RmSandbox(s),
        4 | 5 => Op::Connect(s, n),
        _ => Op::Disconnect(s, n),
    }
}

/// Random sequences of operations with random injected failures: every
/// failed operation leaves everything as it was, and at the end the kernel
/// holds exactly what the records say.
#[tokio::test]
async fn random_operations_with_random_failures_keep_state_consistent() {
    let seeds = std::env::var("NETD_PROPTEST_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24_u64);
    for seed in 1..=seeds {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut e = env().await;
        // A removal that fails after its operation committed leaves the
        // kernel object for the next start to clean.
        let mut litter = false;
        for _ in 0..14 {
            let op = random_op(&mut r);
            let before = snapshot(&e);
            let fail = (r.below(3) == 0).then(|| e.fake.steps() + r.below(8));
            e.fake.fail_at(fail);
            let result = run(&mut e.c, op).await;
            let injected = e.fake.failed();
            e.fake.fail_at(None);
            if result.is_err() {
                assert_eq!(
                    snapshot(&e),
                    before,
                    "seed {seed}: {op:?} failed ({injected:?}) and left a change behind"
                );
            } else if injected.is_some() {
                litter = true;
            }
        }
        let same = |kernel: BTreeSet<String>, records: BTreeSet<String>, what: &str| {
            if litter {
                assert!(
                    kernel.is_superset(&records),
                    "seed {seed}: {what}: {kernel:?} ⊉ {records:?}"
                );
            } else {
                assert_eq!(kernel, records, "seed {seed}: {what}");
            }
        };
        let held = e.fake.held();
        let veths: BTreeSet<String> =
            e.c.endpoints
                .values()
                .filter_map(|ep| ep.host_ifname.clone())
                .collect();
        same(held.veths.keys().cloned().collect(), veths, "veths");
        let ports: BTreeSet<u16> =
            e.c.endpoints
                .values()
                .flat_map(|ep| ep.ports.iter().map(|p| p.host_port))
                .collect();
        assert_eq!(
            held.ports.iter().map(|p| p.3).collect::<BTreeSet<_>>(),
            ports,
            "seed {seed}: held ports"
        );
        let text = |p: &std::path::PathBuf| p.display().to_string();
        let namespaces =
            e.c.sandboxes
                .values()
                .filter_map(|s| s.netns.as_ref().map(text));
        same(
            held.netns.iter().map(text).collect(),
            namespaces.collect(),
            "namespaces",
        );
    }
}
