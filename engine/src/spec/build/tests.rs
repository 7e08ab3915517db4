use std::fs;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Mount, PosixRlimitType};

use super::*;
use crate::spec::strings;

fn rootfs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("etc")).unwrap();
    fs::write(
        dir.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("etc/group"),
        "root:x:0:\nwheel:x:10:root\napp:x:1000:\n",
    )
    .unwrap();
    dir
}

fn input(rootfs: &Path) -> SpecInput {
    SpecInput {
        args: strings(&["sh", "-c", "true"]),
        image_env: strings(&["PATH=/opt/bin:/bin", "LANG=C"]),
        rootfs: rootfs.to_owned(),
        hostname: "0123456789ab".to_owned(),
        network: NetworkNamespace::Join(PathBuf::from("/run/netd/netns/abc")),
        network_files: NetworkFiles {
            hosts: Some(PathBuf::from("/run/netd/sandbox/abc/hosts")),
            resolv_conf: Some(PathBuf::from("/run/netd/sandbox/abc/resolv.conf")),
            hostname: Some(PathBuf::from("/var/lib/berth/containers/abc/hostname")),
        },
        cgroups_path: "/berth/abc".to_owned(),
        host: HostFacts {
            online_cpus: 2,
            hard_limits: BTreeMap::from([("nofile".to_owned(), 20_000)]),
            ..HostFacts::default()
        },
        ..SpecInput::default()
    }
}

fn build(input: &SpecInput) -> Spec {
    build_spec(input).unwrap().spec
}

/// The spec of the test input as `change` changes it.
fn build_with(change: impl FnOnce(SpecInput) -> SpecInput) -> Result<Spec, SpecError> {
    let root = rootfs();
    build_spec(&change(input(root.path()))).map(|built| built.spec)
}

fn destinations(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .iter()
        .flatten()
        .map(|m| m.destination().to_string_lossy().into_owned())
        .collect()
}

fn mount_at<'a>(spec: &'a Spec, dest: &str) -> &'a Mount {
    spec.mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new(dest))
        .unwrap()
}

fn options(spec: &Spec, dest: &str) -> Vec<String> {
    mount_at(spec, dest).options().clone().unwrap_or_default()
}

#[test]
fn a_plain_container_gets_dockers_process() {
    let spec = build_with(|i| i).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_deref().unwrap(), ["sh", "-c", "true"]);
    assert_eq!(
        process.env().as_deref().unwrap(),
        ["PATH=/opt/bin:/bin", "HOSTNAME=0123456789ab", "LANG=C"]
    );
    assert_eq!(process.cwd(), Path::new("/"));
    assert_eq!(process.terminal(), Some(false));
    assert_eq!(process.no_new_privileges(), None);
    assert_eq!(process.oom_score_adj(), Some(0));
    let user = process.user();
    assert_eq!((user.uid(), user.gid()), (0, 0));
    assert_eq!(user.additional_gids().as_deref(), Some(&[0, 10][..]));
    let caps = process.capabilities().as_ref().unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
    assert_eq!(caps.effective(), caps.bounding());
    assert_eq!(caps.permitted(), caps.bounding());
    assert!(caps.inheritable().is_none() && caps.ambient().is_none());
    let rlimits = process.rlimits().as_deref().unwrap();
    assert_eq!(rlimits.len(), 1);
    assert_eq!(rlimits[0].typ(), PosixRlimitType::RlimitNofile);
    assert_eq!((rlimits[0].soft(), rlimits[0].hard()), (20_000, 20_000));
}

#[test]
fn a_plain_container_gets_dockers_root_and_linux_settings() {
    let root = rootfs();
    let spec = build(&input(root.path()));
    assert_eq!(spec.hostname().as_deref(), Some("0123456789ab"));
    let r = spec.root().as_ref().unwrap();
    assert_eq!(
        (r.path().as_path(), r.readonly()),
        (root.path(), Some(false))
    );
    let linux = spec.linux().as_ref().unwrap();
    let namespaces: Vec<_> = linux
        .namespaces()
        .iter()
        .flatten()
        .map(|n| (n.typ(), n.path().clone()))
        .collect();
    assert_eq!(
        namespaces,
        [
            (LinuxNamespaceType::Mount, None),
            (
                LinuxNamespaceType::Network,
                Some(PathBuf::from("/run/netd/netns/abc"))
            ),
            (LinuxNamespaceType::Uts, None),
            (LinuxNamespaceType::Pid, None),
            (LinuxNamespaceType::Ipc, None),
        ]
    );
    assert_eq!(linux.masked_paths().as_ref().unwrap().len(), 12);
    assert_eq!(linux.readonly_paths().as_ref().unwrap().len(), 5);
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new("/berth/abc"))
    );
    assert!(linux.sysctl().is_none());
    assert_eq!(
        linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap()
            .len(),
        8
    );
}

#[test]
fn a_plain_container_gets_dockers_mounts_then_the_network_files() {
    let spec = build_with(|i| i).unwrap();
    assert_eq!(
        destinations(&spec),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts",
        ]
    );
    assert_eq!(
        options(&spec, "/dev/pts"),
        [
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5"
        ]
    );
    assert_eq!(
        options(&spec, "/dev/shm"),
        ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    );
    assert_eq!(options(&spec, "/sys"), ["nosuid", "noexec", "nodev", "ro"]);
    assert_eq!(
        options(&spec, "/sys/fs/cgroup"),
        ["ro", "nosuid", "noexec", "nodev"]
    );
    let hosts = mount_at(&spec, "/etc/hosts");
    assert_eq!(hosts.typ().as_deref(), Some("bind"));
    assert_eq!(
        hosts.source().as_deref(),
        Some(Path::new("/run/netd/sandbox/abc/hosts"))
    );
    assert_eq!(options(&spec, "/etc/hosts"), ["rbind", "rprivate"]);
}

#[test]
fn a_terminal_sets_term_and_the_terminal_flag() {
    let spec = build_with(|i| SpecInput { tty: true, ..i }).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.terminal(), Some(true));
    assert!(
        process
            .env()
            .as_ref()
            .unwrap()
            .contains(&"TERM=xterm".to_owned())
    );
}

#[test]
fn user_workdir_and_no_new_privileges_are_applied() {
    let spec = build_with(|i| SpecInput {
        user: "app".to_owned(),
        working_dir: "/srv/app/".to_owned(),
        no_new_privileges: true,
        ..i
    })
    .unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!((process.user().uid(), process.user().gid()), (1000, 1000));
    assert_eq!(process.cwd(), Path::new("/srv/app"));
    assert_eq!(process.no_new_privileges(), Some(true));
}

#[test]
fn privileged_containers_get_everything_and_nothing_masked() {
    let spec = build_with(|i| SpecInput {
        privileged: true,
        ..i
    })
    .unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 41);
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.masked_paths().as_ref().unwrap().is_empty());
    assert!(linux.readonly_paths().as_ref().unwrap().is_empty());
    let devices = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].allow());
    assert_eq!(options(&spec, "/sys"), ["nosuid", "noexec", "nodev"]);
    assert_eq!(
        options(&spec, "/sys/fs/cgroup"),
        ["nosuid", "noexec", "nodev"]
    );
}

#[test]
fn read_only_makes_the_root_and_the_network_files_read_only() {
    let spec = build_with(|i| SpecInput {
        read_only: true,
        ..i
    })
    .unwrap();
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    assert_eq!(
        options(&spec, "/etc/resolv.conf"),
        ["rbind", "ro", "rprivate"]
    );
}

#[test]
fn user_mounts_replace_defaults_and_come_parents_first() {
    let bind = |source: &str, destination: &str, read_only, options: &[&str]| MountInput {
        kind: MountKind::Bind,
        source: PathBuf::from(source),
        destination: destination.to_owned(),
        read_only,
        options: strings(options),
    };
    let mounts = vec![
        bind("/srv/deep", "/data/deep/er", false, &["rprivate"]),
        bind("/srv/data", "/data", true, &["rshared"]),
        bind("/srv/shm", "/dev/shm", false, &["bind", "rprivate"]),
        MountInput {
            kind: MountKind::Tmpfs,
            source: PathBuf::new(),
            destination: "/run".to_owned(),
            read_only: true,
            options: strings(&["noexec", "size=1m"]),
        },
        bind("/srv/hosts", "/etc/hosts", true, &["rprivate"]),
    ];
    let spec = build_with(|i| SpecInput { mounts, ..i }).unwrap();
    let dests = destinations(&spec);
    assert_eq!(dests.iter().filter(|d| *d == "/dev/shm").count(), 1);
    assert_eq!(dests.iter().filter(|d| *d == "/etc/hosts").count(), 1);
    assert_eq!(
        dests[6..],
        [
            "/data",
            "/run",
            "/dev/shm",
            "/etc/hosts",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/data/deep/er"
        ]
    );
    assert_eq!(options(&spec, "/data"), ["rbind", "ro", "rshared"]);
    assert_eq!(options(&spec, "/dev/shm"), ["bind", "rprivate"]);
    assert_eq!(options(&spec, "/run"), ["noexec", "size=1m", "ro"]);
    assert_eq!(mount_at(&spec, "/run").typ().as_deref(), Some("tmpfs"));
    assert_eq!(
        mount_at(&spec, "/etc/hosts").source().as_deref(),
        Some(Path::new("/srv/hosts"))
    );
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(linux.rootfs_propagation().as_deref(), Some("shared"));
}

#[test]
fn a_user_dev_mount_drops_every_default_under_dev() {
    let spec = build_with(|i| SpecInput {
        mounts: vec![MountInput {
            kind: MountKind::Bind,
            source: PathBuf::from("/dev"),
            destination: "/dev".to_owned(),
            read_only: false,
            options: strings(&["rprivate"]),
        }],
        ..i
    })
    .unwrap();
    let dests = destinations(&spec);
    assert!(!dests.iter().any(|d| d.starts_with("/dev/")));
    assert_eq!(dests.iter().filter(|d| *d == "/dev").count(), 1);
}

#[test]
fn host_network_has_no_network_namespace_and_a_new_one_has_no_path() {
    let network = |network| {
        let spec = build_with(|i| SpecInput { network, ..i }).unwrap();
        spec.linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .iter()
            .flatten()
            .find(|n| n.typ() == LinuxNamespaceType::Network)
            .map(|n| n.path().clone())
    };
    assert_eq!(network(NetworkNamespace::Host), None);
    assert_eq!(network(NetworkNamespace::New), Some(None));
}

#[test]
fn a_private_cgroup_namespace_is_added_on_request() {
    let spec = build_with(|i| SpecInput {
        cgroup_namespace: true,
        ..i
    })
    .unwrap();
    let namespaces = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
    assert_eq!(namespaces.last().unwrap().typ(), LinuxNamespaceType::Cgroup);
}

#[test]
fn resources_reach_the_spec() {
    let spec = build_with(|i| SpecInput {
        resources: ResourcesInput {
            memory: 256 << 20,
            nano_cpus: 500_000_000,
            pids_limit: Some(64),
            ..ResourcesInput::default()
        },
        ..i
    })
    .unwrap();
    let resources = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    let memory = resources.memory().unwrap();
    assert_eq!(
        (memory.limit(), memory.swap()),
        (Some(256 << 20), Some(512 << 20))
    );
    assert_eq!(resources.cpu().as_ref().unwrap().quota(), Some(50_000));
    assert_eq!(resources.pids().unwrap().limit(), 64);
}

#[test]
fn specs_docker_would_refuse_are_refused() {
    let err = |change: fn(SpecInput) -> SpecInput| build_with(change).unwrap_err().to_string();
    assert_eq!(
        err(|i| SpecInput {
            args: Vec::new(),
            ..i
        }),
        "No command specified"
    );
    assert_eq!(
        err(|i| SpecInput {
            working_dir: "srv".to_owned(),
            ..i
        }),
        "the working directory 'srv' is invalid, it needs to be an absolute path"
    );
    assert_eq!(
        err(|i| SpecInput {
            user: "ghost".to_owned(),
            ..i
        }),
        "unable to find user ghost: no matching entries in passwd file"
    );
    assert_eq!(
        err(|i| SpecInput {
            cap_add: strings(&["bogus"]),
            ..i
        }),
        r#"unknown capability: "CAP_BOGUS""#
    );
}

#[test]
fn the_spec_serializes_with_the_oci_field_names() {
    let json = serde_json::to_value(build_with(|i| i).unwrap()).unwrap();
    assert!(json["ociVersion"].is_string());
    assert_eq!(json["process"]["oomScoreAdj"], 0);
    assert_eq!(json["linux"]["cgroupsPath"], "/berth/abc");
    assert_eq!(json["linux"]["resources"]["devices"][0]["allow"], false);
    assert_eq!(json["mounts"][0]["type"], "proc");
    assert!(json.get("annotations").is_none());
}
