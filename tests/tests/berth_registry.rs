//! berth against a real registry (Debian's `docker-registry`, on loopback
//! inside the test's host): push and pull round trips by tag and by
//! digest, platform selection in an index the test writes, a corrupted
//! blob refused, and an interrupted download resumed with a Range request.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use tests::TestHost;
use tests::berth::Berth;
use tests::registry::Registry;

/// The registry's port inside every test's own network namespace.
const PORT: u16 = 5000;

/// Runs `berth`, expecting failure; its stderr.
fn fails(berth: &Berth, args: &[&str]) -> String {
    let out = berth.cmd(args);
    assert!(!out.status.success(), "berth {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The image id `name` resolves to.
fn id_of(berth: &Berth, name: &str) -> String {
    berth.ok(&["image", "inspect", "-f", "{{.Id}}", name])
}

/// The `digest: …` of `push` output.
fn pushed_digest(output: &str) -> (String, String) {
    let line = output.lines().find(|l| l.contains(": digest: ")).unwrap();
    let mut words = line.split_whitespace();
    let digest = words.nth(2).unwrap().to_owned();
    let size = words.nth(1).unwrap().to_owned();
    (digest, size)
}

#[test]
fn an_image_pushed_then_removed_pulls_back_by_tag_and_digest_and_runs() {
    let host = TestHost::enter();
    let registry = Registry::start(&host, PORT, None);
    let berth = Berth::new(&host);
    let name = format!("{}/tools/busybox:1.0", registry.addr);
    let id = id_of(&berth, "busybox");
    berth.ok(&["tag", "busybox", &name]);
    let pushed = berth.ok(&["push", &name]);
    assert!(pushed.contains("Pushed"), "{pushed}");
    let again = berth.ok(&["push", &name]);
    assert!(again.contains("Layer already exists"), "{again}");
    let (digest, _) = pushed_digest(&pushed);
    berth.ok(&["rmi", &name, "busybox"]);
    assert!(!berth.ok(&["images", "-q"]).contains(&id[7..19]));

    let pulled = berth.ok(&["pull", &name]);
    assert!(
        pulled.contains("1.0: Pulling from tools/busybox"),
        "{pulled}"
    );
    assert!(pulled.contains("Pull complete"), "{pulled}");
    assert!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    assert!(
        pulled.contains(&format!("Status: Downloaded newer image for {name}")),
        "{pulled}"
    );
    assert_eq!(id_of(&berth, &name), id);
    let up_to_date = berth.ok(&["pull", &name]);
    assert!(
        up_to_date.contains("Already exists") && up_to_date.contains("Image is up to date"),
        "{up_to_date}"
    );
    let out = berth.ok(&["run", "--rm", "--network", "none", &name, "echo", "pulled"]);
    assert_eq!(out, "pulled");

    berth.ok(&["rmi", &name]);
    let by_digest = format!("{}/tools/busybox@{digest}", registry.addr);
    assert_eq!(
        berth.ok(&["pull", "-q", &by_digest]),
        format!("{by_digest}")
    );
    assert_eq!(id_of(&berth, &by_digest), id);
    let out = berth.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &by_digest,
        "echo",
        "by digest",
    ]);
    assert_eq!(out, "by digest");

    // `run` pulls what the store lacks, saying so on standard error.
    berth.ok(&["rmi", &by_digest]);
    let out = berth.cmd(&["run", "--rm", "--network", "none", &name, "echo", "auto"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.starts_with(&format!("Unable to find image '{name}' locally\n")),
        "{err}"
    );
    assert!(err.contains("Pull complete"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "auto");
    let err = fails(
        &berth,
        &[
            "run",
            "--pull",
            "never",
            "--network",
            "none",
            "127.0.0.1:5000/none",
            "true",
        ],
    );
    assert!(err.contains("No such image"), "{err}");
}

#[test]
fn a_missing_tag_or_repository_is_reported_as_docker_does() {
    let host = TestHost::enter();
    let registry = Registry::start(&host, PORT, None);
    let berth = Berth::new(&host);
    let err = fails(
        &berth,
        &["pull", &format!("{}/nothing/here", registry.addr)],
    );
    assert_eq!(
        err.trim(),
        format!(
            "Error response from daemon: manifest for {}/nothing/here:latest not found: manifest unknown: manifest unknown",
            registry.addr
        )
    );
}

/// The host's architecture as Go names it.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("no Go name for {other}"),
    }
}

#[test]
fn a_multi_platform_index_gives_the_hosts_image_unless_another_platform_is_asked_for() {
    let host = TestHost::enter();
    let registry = Registry::start(&host, PORT, None);
    let berth = Berth::new(&host);
    let repo = format!("{}/multi", registry.addr);
    let tar = tests::dockerd::busybox_rootfs(&host).display().to_string();
    berth.ok(&["import", "-m", "arm build", &tar, &format!("{repo}:arm")]);
    berth.ok(&["import", "-m", "host build", &tar, &format!("{repo}:host")]);
    let (arm, arm_size) = pushed_digest(&berth.ok(&["push", &format!("{repo}:arm")]));
    let (native, native_size) = pushed_digest(&berth.ok(&["push", &format!("{repo}:host")]));
    let entry = |digest: &str, size: &str, platform: &str| {
        format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"platform":{platform}}}"#
        )
    };
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{},{},{}]}}"#,
        entry(
            &arm,
            &arm_size,
            r#"{"architecture":"arm","os":"linux","variant":"v7"}"#
        ),
        entry(
            &native,
            &native_size,
            &format!(r#"{{"architecture":"{}","os":"linux"}}"#, host_arch())
        ),
        entry(
            &arm,
            &arm_size,
            r#"{"architecture":"unknown","os":"unknown"}"#
        ),
    );
    let file = host.dir("index").join("index.json");
    std::fs::write(&file, &index).unwrap();
    registry.curl(
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.index.v1+json",
            "--data-binary",
            &format!("@{}", file.display()),
        ],
        "/v2/multi/manifests/all",
    );
    let (arm_id, native_id) = (
        id_of(&berth, &format!("{repo}:arm")),
        id_of(&berth, &format!("{repo}:host")),
    );
    berth.ok(&["rmi", &format!("{repo}:arm"), &format!("{repo}:host")]);

    berth.ok(&["pull", &format!("{repo}:all")]);
    assert_eq!(id_of(&berth, &format!("{repo}:all")), native_id);
    berth.ok(&["pull", "--platform", "linux/arm/v7", &format!("{repo}:all")]);
    assert_eq!(id_of(&berth, &format!("{repo}:all")), arm_id);
    let err = fails(
        &berth,
        &["pull", "--platform", "linux/s390x", &format!("{repo}:all")],
    );
    assert!(
        err.contains("no matching manifest for linux/s390x"),
        "{err}"
    );
}

/// The first layer's digest of `repo:tag`'s manifest on `registry`.
fn first_layer(registry: &Registry, repo: &str, tag: &str) -> String {
    let manifest = registry.curl(
        &["-H", "Accept: application/vnd.oci.image.manifest.v1+json"],
        &format!("/v2/{repo}/manifests/{tag}"),
    );
    let json: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    json["layers"][0]["digest"].as_str().unwrap().to_owned()
}

#[test]
fn a_corrupted_blob_is_refused_naming_its_digest_and_leaves_no_image() {
    let host = TestHost::enter();
    let registry = Registry::start(&host, PORT, None);
    let berth = Berth::new(&host);
    let name = format!("{}/corrupt:1", registry.addr);
    berth.ok(&["tag", "busybox", &name]);
    berth.ok(&["push", &name]);
    berth.ok(&["rmi", &name, "busybox"]);
    let layer = first_layer(&registry, "corrupt", "1");
    let blob = registry.blob_path(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();

    let err = fails(&berth, &["pull", &name]);
    assert!(
        err.contains(&format!("verification failed for digest {layer}")),
        "{err}"
    );
    assert_eq!(berth.ok(&["images", "-q"]), "");
    let kept = berth
        .root
        .join("image/pull")
        .join(format!("{}.partial", &layer[7..]));
    assert!(!kept.exists(), "the bad blob's bytes were kept");
    assert!(!berth.root.join("image/layers").join(&layer[7..]).exists());
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let host = TestHost::enter();
    let registry = Registry::start(&host, PORT, None);
    let berth = Berth::new(&host);
    let rootfs = host.dir("big-rootfs");
    let out = Command::new("head")
        .args(["-c", "16000000", "/dev/urandom"])
        .output()
        .unwrap();
    std::fs::write(rootfs.join("random"), &out.stdout).unwrap();
    let tar = host.dir("images").join("big.tar");
    tests::run(
        "tar",
        &[
            "-C",
            &rootfs.display().to_string(),
            "-cf",
            &tar.display().to_string(),
            ".",
        ],
    );
    let name = format!("{}/big:1", registry.addr);
    berth.ok(&["import", &tar.display().to_string(), &name]);
    let id = id_of(&berth, &name);
    berth.ok(&["push", &name]);
    berth.ok(&["rmi", &name]);
    // What a pull killed half-way leaves: the first bytes of the blob.
    let layer = first_layer(&registry, "big", "1");
    let blob = std::fs::read(registry.blob_path(&layer)).unwrap();
    let kept = blob.len() / 2;
    let staging = berth.root.join("image/pull");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(
        staging.join(format!("{}.partial", &layer[7..])),
        &blob[..kept],
    )
    .unwrap();

    let pulled = berth.ok(&["pull", &name]);
    assert!(pulled.contains("Resuming download at"), "{pulled}");
    assert_eq!(id_of(&berth, &name), id);
    let rest = blob.len() - kept;
    let log = registry.log();
    let ranged = log
        .lines()
        .filter(|l| l.contains(&format!("/blobs/{layer}")) && l.contains("\"GET "))
        .collect::<Vec<_>>();
    assert!(
        ranged.len() == 1 && ranged[0].contains(&format!("\" 206 {rest} ")),
        "the registry served more than the missing {rest} bytes: {ranged:?}"
    );
}
