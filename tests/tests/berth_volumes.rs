//! berth's volumes and system commands against real containers: `volume
//! create|ls|inspect|rm|prune` with Docker's in-use refusal, `run -v` data
//! outliving its container, `rm -v` taking anonymous volumes only, `rmi`
//! refused while a container uses the image (and its layers kept when
//! forced), `system df` counts, `system prune`, and `version`/`info`
//! naming the runtime and netd.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::process::Output;

use tests::TestHost;
use tests::berth::Berth;
use tests::netd::Netd;

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The test's host, its netd, and berth with the busybox image.
fn setup() -> (TestHost, Netd, Berth) {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let berth = Berth::new(&host);
    (host, netd, berth)
}

/// Runs berth against this test's netd.
fn cmd(berth: &Berth, netd: &Netd, args: &[&str]) -> Output {
    let host = netd.host();
    let mut full = vec!["--netd-host", host.as_str()];
    full.extend_from_slice(args);
    berth.cmd(&full)
}

/// Runs berth against this test's netd; its trimmed stdout, and a panic
/// when it fails.
fn ok(berth: &Berth, netd: &Netd, args: &[&str]) -> String {
    let out = cmd(berth, netd, args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    stdout(&out).trim().to_owned()
}

/// The volumes container `name` mounts, in mount order.
fn volumes_of(berth: &Berth, netd: &Netd, name: &str) -> Vec<String> {
    ok(
        berth,
        netd,
        &[
            "inspect",
            "-f",
            "{{range .HostConfig.Mounts}}{{.Name}} {{end}}",
            name,
        ],
    )
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

#[test]
fn volumes_are_created_listed_inspected_and_kept_while_used() {
    let (_host, netd, berth) = setup();
    let cmd = |args: &[&str]| cmd(&berth, &netd, args);
    let b = |args: &[&str]| ok(&berth, &netd, args);
    assert_eq!(
        b(&["volume", "create", "--label", "tier=db", "data"]),
        "data"
    );
    let anon = b(&["volume", "create"]);
    assert_eq!(anon.len(), 64, "a random name: {anon}");
    assert!(anon.bytes().all(|c| c.is_ascii_hexdigit()));
    let ls = b(&["volume", "ls"]);
    assert!(ls.starts_with("DRIVER    VOLUME NAME\n"), "{ls}");
    assert!(ls.contains("\nlocal     data"), "{ls}");
    assert!(ls.contains(&format!("\nlocal     {anon}")), "{ls}");
    // Docker's inspect shape.
    let inspect: serde_json::Value =
        serde_json::from_str(&b(&["volume", "inspect", "data"])).unwrap();
    let v = &inspect[0];
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "CreatedAt",
            "Driver",
            "Labels",
            "Mountpoint",
            "Name",
            "Options",
            "Scope"
        ]
    );
    assert_eq!(v["Labels"]["tier"], "db");
    assert_eq!(v["Driver"], "local");
    let mountpoint = v["Mountpoint"].as_str().unwrap().to_owned();
    assert_eq!(
        mountpoint,
        berth.root.join("volumes/data/_data").display().to_string()
    );
    assert_eq!(
        b(&["volume", "inspect", "-f", "{{.Name}} {{.Scope}}", "data"]),
        "data local"
    );
    let out = cmd(&["volume", "inspect", "nope"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out),
        "Error response from daemon: get nope: no such volume\n"
    );
    // In use by a running container, then by a stopped one: refused.
    let id = b(&[
        "run",
        "-d",
        "--name",
        "user",
        "--network",
        "none",
        "-v",
        "data:/data",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_eq!(b(&["volume", "ls", "-q", "-f", "dangling=false"]), "data");
    assert_eq!(b(&["volume", "ls", "-q", "-f", "dangling=true"]), anon);
    assert_eq!(b(&["volume", "ls", "-q", "-f", "label=tier=db"]), "data");
    let refused = format!("Error response from daemon: remove data: volume is in use - [{id}]\n");
    let out = cmd(&["volume", "rm", "data"]);
    assert_eq!((code(&out), stderr(&out)), (1, refused.clone()));
    b(&["stop", "-t", "0", "user"]);
    let out = cmd(&["volume", "rm", "-f", "data"]);
    assert_eq!(
        (code(&out), stderr(&out)),
        (1, refused),
        "-f does not take a used volume"
    );
    assert!(std::path::Path::new(&mountpoint).is_dir());
    b(&["rm", "user"]);
    assert_eq!(b(&["volume", "rm", "data", &anon]), format!("data\n{anon}"));
    assert_eq!(b(&["volume", "ls", "-q"]), "");
    let out = cmd(&["volume", "rm", "data"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out),
        "Error response from daemon: get data: no such volume\n"
    );
    assert_eq!(b(&["volume", "rm", "-f", "data"]), "data");
}

#[test]
fn run_volumes_outlive_their_container_until_pruned() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    b(&[
        "run",
        "--name",
        "writer",
        "--network",
        "none",
        "-v",
        "keep:/keep",
        "-v",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "echo kept > /keep/f; echo gone > /scratch/f",
    ]);
    let names = volumes_of(&berth, &netd, "writer");
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "keep");
    let anon = names[1].clone();
    assert_eq!(anon.len(), 64);
    // run recorded both: the anonymous one with Docker's label.
    assert_eq!(
        b(&["volume", "inspect", "-f", "{{json .Labels}}", &anon]),
        r#"{"com.docker.volume.anonymous":""}"#
    );
    assert_eq!(
        b(&["volume", "inspect", "-f", "{{json .Labels}}", "keep"]),
        "null"
    );
    b(&["rm", "writer"]);
    let again = b(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "keep:/keep",
        "busybox",
        "cat",
        "/keep/f",
    ]);
    assert_eq!(again, "kept");
    // prune: the unused anonymous volume only, then with -a the rest.
    let out = b(&["volume", "prune", "-f"]);
    assert_eq!(
        out,
        format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 5B")
    );
    assert_eq!(b(&["volume", "ls", "-q"]), "keep");
    let out = b(&["volume", "prune", "-a", "-f"]);
    assert_eq!(out, "Deleted Volumes:\nkeep\n\nTotal reclaimed space: 5B");
    assert_eq!(b(&["volume", "ls", "-q"]), "");
}

#[test]
fn rm_v_removes_anonymous_volumes_and_keeps_named_ones() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    for name in ["one", "two"] {
        b(&[
            "create",
            "--name",
            name,
            "--network",
            "none",
            "-v",
            "named:/n",
            "-v",
            "/a",
            "busybox",
            "true",
        ]);
    }
    let anon_one = volumes_of(&berth, &netd, "one")[1].clone();
    let anon_two = volumes_of(&berth, &netd, "two")[1].clone();
    assert_eq!(b(&["rm", "one"]), "one");
    assert!(
        b(&["volume", "ls", "-q"]).contains(&anon_one),
        "rm without -v keeps it"
    );
    assert_eq!(b(&["rm", "-v", "two"]), "two");
    let left = b(&["volume", "ls", "-q"]);
    assert!(!left.contains(&anon_two), "{left}");
    assert!(left.contains("named"), "{left}");
    assert!(!berth.root.join("volumes").join(&anon_two).exists());
}

#[test]
fn rmi_is_refused_while_containers_use_the_image() {
    let (_host, netd, berth) = setup();
    let cmd = |args: &[&str]| cmd(&berth, &netd, args);
    let b = |args: &[&str]| ok(&berth, &netd, args);
    let image = b(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    let short = image.trim_start_matches("sha256:")[..12].to_owned();
    let stopped = b(&[
        "create",
        "--name",
        "stopped",
        "--network",
        "none",
        "busybox",
        "echo",
        "still here",
    ]);
    let out = cmd(&["rmi", "busybox"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out),
        format!(
            "Error response from daemon: conflict: unable to remove repository reference \"busybox\" (must force) - container {} is using its referenced image {short}\n",
            &stopped[..12]
        )
    );
    let out = cmd(&["rmi", &short]);
    assert_eq!(
        stderr(&out),
        format!(
            "Error response from daemon: conflict: unable to delete {short} (must be forced) - image is being used by stopped container {}\n",
            &stopped[..12]
        )
    );
    let running = b(&[
        "run",
        "-d",
        "--name",
        "running",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    let out = cmd(&["rmi", "-f", &short]);
    assert_eq!(
        stderr(&out),
        format!(
            "Error response from daemon: conflict: unable to delete {short} (cannot be forced) - image is being used by running container {}\n",
            &running[..12]
        )
    );
    b(&["rm", "-f", "running"]);
    // Forced while a stopped container uses it: the image goes, the
    // layers the container mounts stay, and it still starts.
    let out = b(&["rmi", "-f", "busybox"]);
    assert!(
        out.starts_with("Untagged: busybox:latest\nDeleted: sha256:"),
        "{out}"
    );
    assert_eq!(b(&["images", "-q"]), "");
    let layers = berth.root.join("image/layers");
    assert_eq!(
        std::fs::read_dir(&layers).unwrap().count(),
        1,
        "the layer stays"
    );
    assert_eq!(b(&["start", "-a", "stopped"]), "still here");
    b(&["rm", "stopped"]);
    // Without users, rmi works as before.
    berth.ok(&[
        "import",
        &tests::dockerd::busybox_rootfs(&_host).display().to_string(),
        "busybox",
    ]);
    let out = b(&["rmi", "busybox"]);
    assert!(
        out.starts_with("Untagged: busybox:latest\nDeleted: sha256:"),
        "{out}"
    );
}

#[test]
fn system_df_counts_and_system_prune_removes() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    b(&[
        "run",
        "-d",
        "--name",
        "live",
        "--network",
        "none",
        "-v",
        "data:/data",
        "busybox",
        "sleep",
        "600",
    ]);
    b(&[
        "run",
        "--name",
        "done",
        "--network",
        "none",
        "-v",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "echo 123456789 > /scratch/f; echo abc > /root/f",
    ]);
    b(&["volume", "create", "spare"]);
    let df = b(&["system", "df"]);
    let lines: Vec<&str> = df.lines().collect();
    assert_eq!(
        lines[0],
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
    );
    let row = |kind: &str| -> Vec<String> {
        let line = lines.iter().find(|l| l.starts_with(kind)).unwrap();
        line[kind.len()..]
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("Images")[..2], ["1", "1"], "{df}");
    assert_eq!(row("Containers")[..4], ["2", "1", "4B", "4B"], "{df}");
    assert_eq!(row("Local Volumes")[..3], ["3", "2", "10B"], "{df}");
    assert_eq!(row("Build Cache"), ["0", "0", "0B", "0B"], "{df}");
    assert_eq!(
        b(&[
            "system",
            "df",
            "--format",
            "{{.Type}}={{.TotalCount}}/{{.Active}}"
        ]),
        "Images=1/1\nContainers=2/1\nLocal Volumes=3/2\nBuild Cache=0/0"
    );
    let verbose = b(&["system", "df", "-v"]);
    for part in [
        "Images space usage:\n\nREPOSITORY   TAG       IMAGE ID",
        "\nContainers space usage:\n\nCONTAINER ID",
        "\nLocal Volumes space usage:\n\nVOLUME NAME ",
        "\nBuild cache usage: 0B\n",
    ] {
        assert!(verbose.contains(part), "{part:?} in\n{verbose}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&b(&["system", "df", "-v", "--format", "json"])).unwrap();
    assert_eq!(json["Volumes"].as_array().unwrap().len(), 3);
    // system prune: the stopped container, the unused network, with
    // --volumes its anonymous volume (not the named spare one).
    b(&["network", "create", "unused"]);
    let done = b(&["inspect", "-f", "{{.Id}}", "done"]);
    let anon = volumes_of(&berth, &netd, "done")[0].clone();
    let out = b(&["system", "prune", "-f", "--volumes"]);
    assert!(
        out.starts_with(&format!(
            "Deleted Containers:\n{done}\n\nDeleted Networks:\nunused\n\nDeleted Volumes:\n{anon}\n\n"
        )),
        "{out}"
    );
    assert!(out.ends_with("Total reclaimed space: 14B"), "{out}");
    assert_eq!(
        b(&["ps", "-aq"]).lines().count(),
        1,
        "the running one stays"
    );
    let vols = b(&["volume", "ls", "-q"]);
    assert_eq!(vols, "data\nspare");
    assert_eq!(b(&["images", "-q"]).lines().count(), 1, "in use: kept");
}

#[test]
fn version_and_info_name_the_runtime_and_netd() {
    let (_host, netd, berth) = setup();
    let cmd = |args: &[&str]| cmd(&berth, &netd, args);
    let b = |args: &[&str]| ok(&berth, &netd, args);
    let version = b(&["version"]);
    assert!(
        version.starts_with("Client:\n Version:           "),
        "{version}"
    );
    assert!(
        version.contains("\n\nServer: berth\n Engine:\n"),
        "{version}"
    );
    let runtime = b(&["info", "-f", "{{.DefaultRuntime}}"]);
    assert!(["runc", "crun"].contains(&runtime.as_str()), "{runtime}");
    assert!(
        version.contains(&format!("\n {runtime}:\n  Version:")),
        "{version}"
    );
    assert!(
        version.contains("\n netd:\n  Version:")
            && version.contains("  Socket:           unix:///run/netd/netd.sock"),
        "{version}"
    );
    let server = b(&["version", "-f", "{{.Server.Version}}"]);
    assert_eq!(server, b(&["version", "-f", "{{.Client.Version}}"]));
    let components = b(&[
        "version",
        "-f",
        "{{range .Server.Components}}{{.Name}} {{end}}",
    ]);
    assert_eq!(components, format!("Engine {runtime} netd"));
    // info: containers by state, images, storage, cgroups, runtime, netd.
    b(&[
        "run",
        "-d",
        "--name",
        "up",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    b(&[
        "create",
        "--name",
        "idle",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    let info = b(&["info"]);
    for part in [
        "Server:\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 1\n",
        " Storage Driver: overlay2\n",
        " Cgroup Driver: cgroupfs\n Cgroup Version: ",
        " Netd:\n  Status: reachable\n  Socket: unix:///run/netd/netd.sock\n  Version: ",
        &format!(" Default Runtime: {runtime}\n {runtime} version: "),
        &format!(" Berth Root Dir: {}\n", berth.root.display()),
    ] {
        assert!(info.contains(part), "{part:?} in\n{info}");
    }
    assert_eq!(
        b(&[
            "info",
            "-f",
            "{{.ContainersRunning}} {{.Images}} {{.Driver}} {{.Netd.Status}}"
        ]),
        "1 1 overlay2 reachable"
    );
    let cgroup = b(&["info", "-f", "{{.CgroupVersion}}"]);
    assert!(cgroup == "1" || cgroup == "2", "{cgroup}");
    // Without netd: said so, and version leaves it out.
    let info = berth.ok(&["--netd-host", "/run/nowhere.sock", "info"]);
    assert!(
        info.contains(" Netd:\n  Status: unreachable\n  Socket: unix:///run/nowhere.sock\n"),
        "{info}"
    );
    let version = berth.ok(&["--netd-host", "/run/nowhere.sock", "version"]);
    assert!(!version.contains("netd"), "{version}");
    let out = cmd(&["version", "-f", "{{.Nope"]);
    assert_eq!(code(&out), 64, "{out:?}");
}

#[test]
fn a_volume_with_device_options_mounts_its_file_system() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    b(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=2m",
        "tv",
    ]);
    let data = berth.root.join("volumes/tv/_data");
    let df = b(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "tv:/t",
        "busybox",
        "sh",
        "-c",
        "echo hi > /t/f; df -k /t | tail -n 1",
    ]);
    assert!(df.starts_with("tmpfs") && df.contains(" 2048 "), "{df}");
    assert_eq!(std::fs::read_to_string(data.join("f")).unwrap(), "hi\n");
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&format!(" {} ", data.display()))
    };
    assert!(mounted());
    // rm unmounts it first, then removes the volume.
    assert_eq!(b(&["volume", "rm", "tv"]), "tv");
    assert!(!mounted());
    assert!(!berth.root.join("volumes/tv").exists());
}
