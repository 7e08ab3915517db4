//! The image commands end to end on a throwaway `--root`: import of a
//! busybox root file system, listing, inspect, history, tag, rmi, prune,
//! and save then load into another root keeping the image id.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

mod image_common;

use image_common::{Root, busybox_rootfs, write};

/// Imports the busybox rootfs as `tag`; returns the image id.
fn import_busybox(root: &Root, tag: &str) -> String {
    let (code, out, err) = root.berth(
        &["import", "-c", "CMD [\"sh\"]", "-", tag],
        &busybox_rootfs(),
    );
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_owned();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{out}");
    id
}

#[test]
fn import_shows_in_images_inspect_and_history() {
    let root = Root::new();
    let id = import_busybox(&root, "busybox");
    let short = &id[7..19];
    let out = root.ok(&["images"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE"
    );
    assert!(
        lines[1].starts_with(&format!("busybox      latest    {short}   ")),
        "{out}"
    );
    assert!(lines[1].ends_with("MB"), "{out}");
    assert_eq!(root.ok(&["image", "ls", "-q"]), format!("{short}\n"));
    assert_eq!(
        root.ok(&["image", "list", "-q", "--no-trunc"]),
        format!("{id}\n")
    );

    let inspect: serde_json::Value =
        serde_json::from_str(&root.ok(&["image", "inspect", "busybox"])).unwrap();
    let image = &inspect[0];
    assert_eq!(image["Id"], id.as_str());
    assert_eq!(image["RepoTags"][0], "busybox:latest");
    assert_eq!(image["Config"]["Cmd"][0], "sh");
    assert_eq!(image["Os"], "linux");
    assert_eq!(image["RootFS"]["Type"], "layers");
    assert_eq!(image["Comment"], "Imported from -");
    let upper = image["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap();
    let sh = std::path::Path::new(upper).join("bin/sh");
    assert_eq!(std::fs::read_link(&sh).unwrap().to_str(), Some("busybox"));
    let busybox = std::fs::metadata(std::path::Path::new(upper).join("bin/busybox")).unwrap();
    // Files and symlink targets, as Docker counts a layer.
    let links = "busybox".len() + "/bin/busybox".len();
    assert_eq!(
        image["Size"].as_u64(),
        Some(busybox.len() + 8 + links as u64)
    );
    assert_eq!(
        root.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.ID}} {{index .RepoTags 0}}",
            short
        ]),
        format!("{id} busybox:latest\n")
    );

    let history = root.ok(&["history", "busybox"]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(
        lines[0],
        "IMAGE          CREATED                  CREATED BY   SIZE      COMMENT"
    );
    assert!(
        lines[1].starts_with(short) && lines[1].ends_with("Imported from -"),
        "{history}"
    );
    assert_eq!(
        root.ok(&["image", "history", "-q", "--no-trunc", "busybox"]),
        format!("{id}\n")
    );
}

#[test]
fn import_reads_gzip_files_and_applies_message() {
    let root = Root::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &busybox_rootfs()).unwrap();
    let file = write(root.dir.path(), "rootfs.tar.gz", &gz.finish().unwrap());
    root.ok(&[
        "image",
        "import",
        "-m",
        "base layer",
        "-c",
        "ENV A=1",
        &file,
        "me/base:1",
    ]);
    let out = root.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Comment}} {{json .Config.Env}}",
        "me/base:1",
    ]);
    assert_eq!(out, "base layer [\"A=1\"]\n");
    assert_eq!(
        root.ok(&["history", "--format", "{{.Comment}}", "me/base:1"]),
        "base layer\n"
    );
}

#[test]
fn unknown_images_and_bad_references_read_as_docker() {
    let root = Root::new();
    let (code, _, err) = root.berth(&["image", "inspect", "nope"], b"");
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error response from daemon: No such image: nope:latest\n"
        )
    );
    let (code, _, err) = root.berth(&["rmi", "x:1", "Bad"], b"");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error response from daemon: No such image: x:1\n\
         Error response from daemon: invalid reference format: repository name (library/Bad) must be lowercase\n"
    );
    let (code, _, err) = root.berth(&["tag", "nope", "a:b"], b"");
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error response from daemon: No such image: nope:latest\n"
        )
    );
    let (code, _, err) = root.berth(&["history", "a:-b"], b"");
    assert_eq!(
        (code, err.as_str()),
        (1, "Error response from daemon: invalid reference format\n")
    );
    let (code, _, err) = root.berth(&["images", "--filter", "nope=1"], b"");
    assert_eq!(
        (code, err.as_str()),
        (1, "Error response from daemon: invalid filter 'nope'\n")
    );
    let (code, _, _) = root.berth(&["tag", "only-one"], b"");
    assert_eq!(code, 1);
    let (code, _, err) = root.berth(&["tag", "a", "Bad"], b"");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error parsing reference: \"Bad\" is not a valid repository/tag: \
         invalid reference format: repository name (library/Bad) must be lowercase\n"
    );
    let digest = format!("x@sha256:{}", "a".repeat(64));
    let (code, _, err) = root.berth(&["tag", "a", &digest], b"");
    assert_eq!(
        (code, err.as_str()),
        (1, "refusing to create a tag with a digest reference\n")
    );
}

#[test]
fn tag_rmi_and_filters() {
    let root = Root::new();
    let id = import_busybox(&root, "busybox:1");
    root.ok(&["tag", "busybox:1", "me/app"]);
    root.ok(&["image", "tag", &id[7..19], "localhost:5000/app:v2"]);
    let out = root.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(out, "busybox:1\nlocalhost:5000/app:v2\nme/app:latest\n");
    let out = root.ok(&["images", "me/app", "--format", "{{.Repository}}"]);
    assert_eq!(out, "me/app\n");
    let out = root.ok(&[
        "images",
        "--filter",
        "reference=me/*",
        "--format",
        "{{.Repository}}",
    ]);
    assert_eq!(out, "me/app\n");
    assert_eq!(root.ok(&["images", "-f", "dangling=true", "-q"]), "");

    // By id with several tags: must be forced.
    let (code, _, err) = root.berth(&["rmi", &id[7..19]], b"");
    assert_eq!(code, 1);
    assert!(
        err.contains("(must be forced) - image is referenced in multiple repositories"),
        "{err}"
    );
    assert_eq!(root.ok(&["rmi", "me/app"]), "Untagged: me/app:latest\n");
    assert_eq!(
        root.ok(&["image", "rm", "localhost:5000/app:v2"]),
        "Untagged: localhost:5000/app:v2\n"
    );
    let out = root.ok(&["rmi", "busybox:1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Untagged: busybox:1");
    assert_eq!(lines[1], format!("Deleted: {id}"));
    assert_eq!(lines.len(), 3, "the layer goes too: {out}");
    assert_eq!(root.ok(&["images", "-q"]), "");
    let blobs = std::fs::read_dir(root.store().join("blobs/sha256"))
        .unwrap()
        .count();
    let layers = std::fs::read_dir(root.store().join("layers"))
        .unwrap()
        .count();
    assert_eq!((blobs, layers), (0, 0));
}

#[test]
fn prune_removes_dangling_images_or_all_with_a() {
    let root = Root::new();
    let first = import_busybox(&root, "keep");
    // The same tag again: the first image is left dangling.
    let (code, _, _) = root.berth(&["import", "-m", "other", "-", "keep"], &busybox_rootfs());
    assert_eq!(code, 0);
    let out = root.ok(&["images", "--filter", "dangling=true", "--no-trunc", "-q"]);
    assert_eq!(out, format!("{first}\n"));
    let (code, out, _) = root.berth(&["image", "prune"], b"n\n");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    );
    let out = root.ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with(&format!("Deleted Images:\ndeleted: {first}\n")),
        "{out}"
    );
    assert!(
        out.ends_with("Total reclaimed space: 0B\n"),
        "the layer is shared: {out}"
    );
    let out = root.ok(&["image", "prune", "-a", "-f"]);
    assert!(
        out.starts_with("Deleted Images:\nuntagged: keep:latest\ndeleted: sha256:"),
        "{out}"
    );
    assert!(!out.ends_with("Total reclaimed space: 0B\n"), "{out}");
    assert_eq!(root.ok(&["images", "-a", "-q"]), "");
}

#[test]
fn save_then_load_into_another_root_keeps_the_id() {
    let root = Root::new();
    let id = import_busybox(&root, "busybox:1.0");
    root.ok(&["tag", "busybox:1.0", "me/app:2"]);
    let archive = root.dir.path().join("out/images.tar");
    let (code, _, err) = root.berth(&["save", "-o", archive.to_str().unwrap(), "busybox"], b"");
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            format!(
                "failed to save image: invalid output path: directory \"{}\" does not exist\n",
                archive.parent().unwrap().display()
            )
            .as_str()
        )
    );
    std::fs::create_dir(archive.parent().unwrap()).unwrap();
    root.ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "busybox",
        "me/app:2",
    ]);

    let mut names: Vec<String> = tar::Archive::new(std::fs::File::open(&archive).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    for name in [
        "manifest.json",
        "index.json",
        "oci-layout",
        "repositories",
        &format!("blobs/sha256/{}", &id[7..]),
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }

    let other = Root::new();
    let out = other.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: busybox:1.0\nLoaded image: me/app:2\n");
    assert_eq!(
        other.ok(&["images", "-q", "--no-trunc", "me/app:2"]),
        format!("{id}\n")
    );
    assert_eq!(
        other.ok(&["image", "inspect", "-f", "{{.Id}}", "busybox:1.0"]),
        format!("{id}\n")
    );

    // Through standard output and input, by id: untagged.
    let (code, bytes, _) = root.berth_bytes(&["image", "save", &id[7..19]], b"");
    assert_eq!(code, 0);
    let third = Root::new();
    let (code, out, err) = third.berth(&["image", "load"], &bytes);
    assert_eq!(
        (code, out, err),
        (0, format!("Loaded image ID: {id}\n"), String::new())
    );
}

#[test]
fn concurrent_tags_all_land() {
    let root = std::sync::Arc::new(Root::new());
    import_busybox(&root, "base");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let root = std::sync::Arc::clone(&root);
            std::thread::spawn(move || root.ok(&["tag", "base", &format!("t{i}")]))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let out = root.ok(&["images", "--format", "{{.Repository}}"]);
    assert_eq!(out.lines().count(), 9, "{out}");
}
