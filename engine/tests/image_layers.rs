//! Layers as the store unpacks them: a hand-built `docker save` archive
//! whose top layer has a whiteout and an opaque directory loads and
//! unpacks into overlayfs form; hostile tarballs are refused and leave
//! nothing outside the store.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

mod image_common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use image_common::{Entry, Root, is_root, sha256, tarball, write};

/// A config for layers with `diff_ids`.
fn config(diff_ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "created": "2024-05-06T07:08:09.5Z",
        "history": [
            {"created": "2024-05-06T07:08:09Z", "created_by": "/bin/sh -c #(nop) ADD file:base in / "},
            {"created": "2024-05-06T07:08:09.5Z", "created_by": "/bin/sh -c rm /etc/a; rm -rf /var/cache/*", "comment": "clean"}
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    }))
    .unwrap()
}

/// The two layers: a base, and a top that deletes `etc/a` and makes
/// `var/cache` opaque.
fn layers() -> (Vec<u8>, Vec<u8>) {
    let base = tarball(&[
        Entry::Dir("etc/"),
        Entry::File("etc/a", b"a"),
        Entry::File("etc/keep", b"k"),
        Entry::Dir("var/"),
        Entry::Dir("var/cache/"),
        Entry::File("var/cache/old", b"old"),
    ]);
    let top = tarball(&[
        Entry::Dir("etc/"),
        Entry::File("etc/.wh.a", b""),
        Entry::Dir("var/cache/"),
        Entry::File("var/cache/.wh..wh..opq", b""),
        Entry::File("var/cache/new", b"new"),
        Entry::HardLink("etc/new-link", "var/cache/new"),
    ]);
    (base, top)
}

/// A legacy `docker save` archive: `<id>.json`, `<layer>/layer.tar`.
fn legacy_archive(base: &[u8], top: &[u8]) -> (Vec<u8>, String) {
    let config = config(&[sha256(base), sha256(top)]);
    let id = sha256(&config);
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": format!("{}.json", &id[7..]),
        "RepoTags": ["hand/made:1"],
        "Layers": ["l1/layer.tar", "l2/layer.tar"]
    }]))
    .unwrap();
    let config_name = format!("{}.json", &id[7..]);
    let archive = tarball(&[
        Entry::File(&config_name, &config),
        Entry::Dir("l1/"),
        Entry::File("l1/VERSION", b"1.0"),
        Entry::File("l1/layer.tar", base),
        Entry::Dir("l2/"),
        Entry::File("l2/layer.tar", top),
        Entry::File("manifest.json", &manifest),
        Entry::File("repositories", b"{}"),
    ]);
    (archive, id)
}

#[test]
fn a_docker_save_archive_with_whiteouts_loads_into_overlay_form() {
    if !is_root() {
        eprintln!("skipped: whiteouts are character devices, which need root");
        return;
    }
    let root = Root::new();
    let (base, top) = layers();
    let (archive, id) = legacy_archive(&base, &top);
    let (code, out, err) = root.berth(&["load"], &archive);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "Loaded image: hand/made:1\n");
    assert_eq!(root.ok(&["images", "-q", "--no-trunc"]), format!("{id}\n"));

    let layer = |diff: &[u8]| {
        root.store()
            .join("layers")
            .join(&sha256(diff)[7..])
            .join("diff")
    };
    let (base_dir, top_dir) = (layer(&base), layer(&top));
    assert_eq!(std::fs::read(base_dir.join("etc/a")).unwrap(), b"a");
    let whiteout = std::fs::symlink_metadata(top_dir.join("etc/a")).unwrap();
    assert!(whiteout.file_type().is_char_device());
    assert_eq!(whiteout.rdev(), 0);
    assert!(!top_dir.join("etc/.wh.a").exists());
    let opaque = xattr::get(top_dir.join("var/cache"), "trusted.overlay.opaque").unwrap();
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
    assert!(!top_dir.join("var/cache/.wh..wh..opq").exists());
    let new = std::fs::metadata(top_dir.join("var/cache/new")).unwrap();
    assert_eq!(new.nlink(), 2, "hard link kept");
    assert_eq!(new.mtime(), 1_700_000_000);

    let inspect = root.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Created}} {{len .RootFS.Layers}} {{.GraphDriver.Data.LowerDir}}",
        "hand/made:1",
    ]);
    assert_eq!(
        inspect,
        format!("2024-05-06T07:08:09.5Z 2 {}\n", base_dir.display())
    );
    let history = root.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}",
        "hand/made:1",
    ]);
    assert_eq!(
        history,
        format!(
            "{id}|/bin/sh -c rm /etc/a; rm -rf /var/cache/*|3B|clean\n\
             <missing>|/bin/sh -c #(nop) ADD file:base in / |5B|\n"
        )
    );
}

/// Mounts the layers as overlayfs in a private mount namespace of this
/// test's thread (gone when it ends) and checks what a container sees.
#[test]
fn overlayfs_sees_the_whiteouts_and_the_opaque_directory() {
    use nix::mount::{MsFlags, mount};
    if !is_root() {
        eprintln!("skipped: mounting overlayfs needs root");
        return;
    }
    let root = Root::new();
    let (base, top) = layers();
    let (archive, _) = legacy_archive(&base, &top);
    assert_eq!(root.berth(&["load"], &archive).0, 0);
    let dirs = root.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.GraphDriver.Data.UpperDir}}:{{.GraphDriver.Data.LowerDir}}",
        "hand/made:1",
    ]);
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .unwrap();
    let merged = root.dir.path().join("merged");
    std::fs::create_dir(&merged).unwrap();
    let options = format!("lowerdir={}", dirs.trim());
    mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .unwrap();
    let names = |dir: &str| {
        let mut n: Vec<String> = std::fs::read_dir(merged.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names("etc"), ["keep", "new-link"]);
    assert_eq!(names("var/cache"), ["new"]);
    nix::mount::umount(&merged).unwrap();
}

#[test]
fn an_oci_layout_archive_without_manifest_json_loads() {
    let root = Root::new();
    let base = tarball(&[Entry::File("hello", b"hi")]);
    let config = config(&[sha256(&base)]);
    let mut history_fixed: serde_json::Value = serde_json::from_slice(&config).unwrap();
    history_fixed["history"].as_array_mut().unwrap().pop();
    let config = serde_json::to_vec(&history_fixed).unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(&base), "size": base.len()}]
    }))
    .unwrap();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(&manifest), "size": manifest.len(),
            "annotations": {"io.containerd.image.name": "docker.io/library/oci:7"}
        }]
    }))
    .unwrap();
    let blob = |data: &[u8]| format!("blobs/sha256/{}", &sha256(data)[7..]);
    let (c, m, l) = (blob(&config), blob(&manifest), blob(&base));
    let archive = tarball(&[
        Entry::File("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        Entry::File("index.json", &index),
        Entry::File(&c, &config),
        Entry::File(&m, &manifest),
        Entry::File(&l, &base),
    ]);
    let file = write(root.dir.path(), "oci.tar", &archive);
    assert_eq!(
        root.ok(&["image", "load", "-q", "-i", &file]),
        "Loaded image: oci:7\n"
    );
    assert_eq!(
        root.ok(&["images", "--no-trunc", "-q"]),
        format!("{}\n", sha256(&config))
    );
}

#[test]
fn a_layer_whose_digest_does_not_match_is_refused() {
    let root = Root::new();
    let (base, top) = layers();
    let (archive, _) = legacy_archive(&base, &top);
    // Other content under the same name: the digest check must catch it.
    let tampered = tarball(&[Entry::File("x", b"y")]);
    let mut original = tar::Archive::new(archive.as_slice());
    let mut rebuilt = tar::Builder::new(Vec::new());
    for entry in original.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if entry.path().unwrap().ends_with("l1/layer.tar") {
            data.clone_from(&tampered);
            header.set_size(data.len() as u64);
            header.set_cksum();
        }
        rebuilt.append(&header, data.as_slice()).unwrap();
    }
    let archive = rebuilt.into_inner().unwrap();
    let (code, _, err) = root.berth(&["load"], &archive);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Error response from daemon: invalid diffID for layer 0: expected sha256:"),
        "{err}"
    );
    assert_eq!(root.ok(&["images", "-q"]), "");
}

/// Imports `tarball` and expects a refusal naming the entry.
fn refused(root: &Root, tarball: &[u8], entry: &str) {
    let (code, out, err) = root.berth(&["import", "-", "evil"], tarball);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.starts_with(&format!(
            "Error response from daemon: refusing tar entry \"{entry}\": "
        )),
        "{err}"
    );
    assert_eq!(root.ok(&["images", "-a", "-q"]), "");
    let leftovers = std::fs::read_dir(root.store().join("layers"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0, "no layer directory stays");
}

#[test]
fn hostile_tarballs_are_refused_and_leave_nothing_outside() {
    let root = Root::new();
    let outside = root.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();

    // `../../x` climbs out of the layer.
    refused(&root, &tarball(&[Entry::File("../../x", b"x")]), "../../x");
    refused(
        &root,
        &tarball(&[Entry::File("a/../../x", b"x")]),
        "a/../../x",
    );
    assert!(!root.store().join("x").exists() && !root.path().join("x").exists());

    // A symlink out, then a write through it.
    let target = outside.to_str().unwrap();
    let evil = tarball(&[
        Entry::Symlink("link", target),
        Entry::File("link/pwned", b"x"),
    ]);
    refused(&root, &evil, "link/pwned");
    assert!(!outside.join("pwned").exists());

    // A hard link to a file of the host.
    let before = std::fs::metadata("/etc/passwd").unwrap().nlink();
    refused(
        &root,
        &tarball(&[Entry::HardLink("passwd", "/etc/passwd")]),
        "passwd",
    );
    refused(
        &root,
        &tarball(&[Entry::HardLink("passwd", "../../../../etc/passwd")]),
        "passwd",
    );
    assert_eq!(std::fs::metadata("/etc/passwd").unwrap().nlink(), before);

    // A hard link through a symlink of the layer.
    let through = tarball(&[
        Entry::Symlink("etc", "/etc"),
        Entry::HardLink("p", "etc/passwd"),
    ]);
    refused(&root, &through, "p");
    assert_eq!(std::fs::metadata("/etc/passwd").unwrap().nlink(), before);
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert!(
        Path::new(&root.store())
            .join("tmp")
            .read_dir()
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_tarball_cannot_set_overlay_xattrs_itself() {
    if !is_root() {
        eprintln!("skipped: trusted xattrs need root");
        return;
    }
    let root = Root::new();
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_pax_extensions([
            ("SCHILY.xattr.trusted.overlay.opaque", &b"y"[..]),
            ("SCHILY.xattr.user.note", &b"kept"[..]),
        ])
        .unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    builder
        .append_data(&mut header, "dir/", std::io::empty())
        .unwrap();
    let tarball = builder.into_inner().unwrap();
    root.ok(&[
        "image",
        "import",
        &write(root.dir.path(), "x.tar", &tarball),
        "x",
    ]);
    let upper = root.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.GraphDriver.Data.UpperDir}}",
        "x",
    ]);
    let dir = Path::new(upper.trim()).join("dir");
    assert_eq!(xattr::get(&dir, "trusted.overlay.opaque").unwrap(), None);
    assert_eq!(
        xattr::get(&dir, "user.note").unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}
