//! `commit`: a container's changes as a new image. The overlay upper
//! directory becomes a layer tarball (whiteouts and opaque directories as
//! `.wh.` entries, the runtime's mount points left out) on top of the
//! container's image; the config is the image's with the container's
//! (command, entrypoint, environment, working directory, user, ports,
//! labels) merged under the `--change` instructions, as Docker's commit
//! merges them, and one history entry more.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use chrono::Utc;
use nix::sys::stat::FileStat;

use super::archive::TarWriter;
use super::changes::{Node, is_runtime_mount_point};
use super::error::{ContainerError, Result};
use super::inroot;
use super::record::Container;
use crate::image::change::apply_change;
use crate::image::config::{
    ContainerConfig, Empty, History, ImageConfig, go_arch, go_rfc3339_nano,
};
use crate::image::digest::{Digest, HashingWriter};
use crate::image::reference::Reference;
use crate::image::store::Store;

/// What `commit` was asked for besides the container.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `-a`.
    pub author: String,
    /// `-m`.
    pub message: String,
    /// `-c`: Dockerfile instructions for the config.
    pub changes: Vec<String>,
    /// The tag to give the image.
    pub reference: Option<Reference>,
}

/// The digest of an empty layer tarball (the 1024 zero bytes that end a
/// tar stream): such a layer is not added, as Docker does.
pub fn empty_layer() -> Digest {
    Digest::of(&[0u8; 1024])
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// The image config of the container's config merged under the changes
/// (Docker's `merge(userConf, containerConfig)`).
pub fn merged_config(
    base: &ImageConfig,
    c: &Container,
    changes: &[String],
) -> Result<ContainerConfig> {
    let mut user = ContainerConfig::default();
    for change in changes {
        apply_change(&mut user, change)?;
    }
    let cc = &c.config;
    let image = base.config.clone().unwrap_or_default();
    if user.user.is_empty() {
        user.user = cc.user.clone();
    }
    let ports = user.exposed_ports.get_or_insert_with(BTreeMap::new);
    for port in cc.exposed_ports.iter().flat_map(BTreeMap::keys) {
        ports.entry(port.clone()).or_insert(Empty {});
    }
    if ports.is_empty() {
        user.exposed_ports = None;
    }
    let env = user.env.get_or_insert_with(Vec::new);
    for e in &cc.env {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        if !env
            .iter()
            .any(|u| u.split_once('=').map_or(u.as_str(), |(k, _)| k) == key)
        {
            env.push(e.clone());
        }
    }
    if env.is_empty() {
        user.env = None;
    }
    let labels = user.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in &cc.labels {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if user.entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if user.cmd.as_ref().is_none_or(Vec::is_empty) {
            user.cmd = non_empty(cc.cmd.clone());
        }
        if user.entrypoint.is_none() {
            user.entrypoint = non_empty(cc.entrypoint.clone());
        }
    }
    if user.working_dir.is_empty() {
        user.working_dir = cc.working_dir.clone();
    }
    let volumes = user.volumes.get_or_insert_with(BTreeMap::new);
    for v in image.volumes.iter().flat_map(BTreeMap::keys) {
        volumes.insert(v.clone(), Empty {});
    }
    if volumes.is_empty() {
        user.volumes = None;
    }
    if user.stop_signal.is_empty() {
        user.stop_signal = cc.stop_signal.clone().unwrap_or(image.stop_signal);
    }
    if user.healthcheck.is_none() {
        user.healthcheck = image.healthcheck;
    }
    Ok(user)
}

/// The new image's config: the base's layers plus `diff_id` (unless
/// empty), the merged container config, and one history entry.
pub fn commit_config(
    base: &ImageConfig,
    c: &Container,
    opts: &CommitOptions,
    diff_id: Digest,
    now: &str,
) -> Result<ImageConfig> {
    let config = merged_config(base, c, &opts.changes)?;
    let empty = diff_id == empty_layer();
    let mut rootfs = base.rootfs.clone();
    if !empty {
        rootfs.diff_ids.push(diff_id);
    }
    let mut history = base.history.clone();
    history.push(History {
        created: Some(now.to_owned()),
        author: opts.author.clone(),
        created_by: c.config.cmd.join(" "),
        comment: opts.message.clone(),
        empty_layer: empty,
    });
    Ok(ImageConfig {
        architecture: if base.architecture.is_empty() {
            go_arch().to_owned()
        } else {
            base.architecture.clone()
        },
        author: opts.author.clone(),
        comment: String::new(),
        config: Some(config),
        container: c.id.clone(),
        created: Some(now.to_owned()),
        docker_version: String::new(),
        history,
        os: "linux".to_owned(),
        rootfs,
        variant: base.variant.clone(),
    })
}

/// Leaves the runtime's mount points out of a layer.
fn skip_mount_points(name: &str, st: &FileStat, fd: BorrowedFd<'_>) -> bool {
    let node = Node {
        mode: st.st_mode,
        size: st.st_size,
        mtime: (st.st_mtime, st.st_mtime_nsec),
        whiteout: false,
        opaque: false,
    };
    let path = format!("/{}", name.trim_end_matches('/'));
    is_runtime_mount_point(&path, &node, || {
        inroot::list(fd).is_ok_and(|names| names.is_empty())
    })
}

/// Writes the layer tarball of the upper directory `upper` to `out`;
/// returns the bytes of file content.
pub fn write_layer(upper: &Path, out: impl Write) -> std::io::Result<u64> {
    let mut writer = TarWriter::new(out, true).skip_when(&skip_mount_points);
    if upper.exists() {
        let root = inroot::open_root(upper)?;
        writer.add_children(root.as_fd(), "")?;
    }
    let bytes = writer.content_bytes;
    writer.finish()?.flush()?;
    Ok(bytes)
}

/// Commits container `c` (its image `sha256:…` in the store under
/// `root`): stores the layer and the image, tags it; returns its id.
pub fn commit(root: &Path, upper: &Path, c: &Container, opts: &CommitOptions) -> Result<Digest> {
    let store = Store::open(root)?;
    let lock = store.lock()?;
    let mut state = store.state()?;
    let base_id = Digest::from_hex(c.image.trim_start_matches("sha256:"))?;
    let (base, _) = store.config(&base_id)?;
    let tmp = store.temp_file()?;
    let mut hashing = HashingWriter::new(tmp.as_file());
    write_layer(upper, &mut hashing).map_err(ContainerError::io("archive", upper))?;
    let (diff_id, _, _) = hashing.finish();
    if diff_id != empty_layer() {
        store.commit_blob(tmp, &diff_id)?;
    }
    let now = go_rfc3339_nano(&Utc::now());
    let config = commit_config(&base, c, opts, diff_id, &now)?;
    let id = store.add_image(&mut state, &config.to_bytes()?, Some(base_id), &lock)?;
    if let Some(reference) = &opts.reference {
        state.tag(reference.clone().with_default_tag(), id, &now);
    }
    store.save_state(&state, &lock)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::Config;

    fn container() -> Container {
        Container {
            id: "c".repeat(64),
            config: Config {
                cmd: vec!["sh".into(), "-c".into(), "echo hi > /f".into()],
                env: vec!["PATH=/bin".into(), "A=1".into()],
                working_dir: "/srv".into(),
                user: "nobody".into(),
                labels: BTreeMap::from([("tier".into(), "web".into())]),
                exposed_ports: Some(BTreeMap::from([("80/tcp".into(), serde_json::json!({}))])),
                ..Config::default()
            },
            ..Container::default()
        }
    }

    fn base() -> ImageConfig {
        ImageConfig {
            architecture: "amd64".into(),
            config: Some(ContainerConfig {
                cmd: Some(vec!["sh".into()]),
                ..ContainerConfig::default()
            }),
            history: vec![History {
                comment: "Imported from -".into(),
                ..History::default()
            }],
            os: "linux".into(),
            rootfs: crate::image::config::RootFs {
                diff_ids: vec![Digest::of(b"base")],
                ..Default::default()
            },
            ..ImageConfig::default()
        }
    }

    #[test]
    fn the_containers_config_is_kept_under_the_changes() {
        let changes = vec![
            r#"CMD ["cat","/f"]"#.to_owned(),
            "ENV A=2".to_owned(),
            "LABEL tier=db".to_owned(),
        ];
        let cfg = merged_config(&base(), &container(), &changes).unwrap();
        assert_eq!(cfg.cmd.unwrap(), ["cat", "/f"]);
        assert_eq!(cfg.env.unwrap(), ["A=2", "PATH=/bin"]);
        assert_eq!(cfg.labels.unwrap()["tier"], "db");
        assert_eq!(cfg.working_dir, "/srv");
        assert_eq!(cfg.user, "nobody");
        assert!(cfg.exposed_ports.unwrap().contains_key("80/tcp"));
        assert_eq!(cfg.entrypoint, None);
        // Without changes the container's own command is the default.
        let cfg = merged_config(&base(), &container(), &[]).unwrap();
        assert_eq!(cfg.cmd.unwrap(), ["sh", "-c", "echo hi > /f"]);
        // An entrypoint change drops the container's command.
        let cfg = merged_config(&base(), &container(), &["ENTRYPOINT [\"ls\"]".into()]).unwrap();
        assert_eq!(
            (cfg.entrypoint.unwrap(), cfg.cmd),
            (vec!["ls".to_owned()], None)
        );
        assert!(merged_config(&base(), &container(), &["RUN x".into()]).is_err());
    }

    #[test]
    fn the_layer_is_added_with_a_history_entry() {
        let opts = CommitOptions {
            author: "me".into(),
            message: "saved".into(),
            ..CommitOptions::default()
        };
        let diff = Digest::of(b"layer");
        let cfg =
            commit_config(&base(), &container(), &opts, diff, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(cfg.rootfs.diff_ids, [Digest::of(b"base"), diff]);
        let last = cfg.history.last().unwrap();
        assert_eq!(last.created_by, "sh -c echo hi > /f");
        assert_eq!(
            (last.author.as_str(), last.comment.as_str()),
            ("me", "saved")
        );
        assert!(!last.empty_layer);
        assert_eq!(cfg.author, "me");
        assert_eq!(cfg.container, "c".repeat(64));
        // No change: no layer, an empty history entry.
        let cfg = commit_config(&base(), &container(), &opts, empty_layer(), "t").unwrap();
        assert_eq!(cfg.rootfs.diff_ids.len(), 1);
        assert!(cfg.history.last().unwrap().empty_layer);
    }

    #[test]
    fn an_empty_upper_is_an_empty_layer() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        write_layer(dir.path(), &mut out).unwrap();
        assert_eq!(Digest::of(&out), empty_layer());
    }

    #[test]
    fn whiteouts_and_opaque_directories_become_wh_entries() {
        use nix::sys::stat::{Mode, SFlag, makedev, mknod};
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("www")).unwrap();
        std::fs::write(d.join("www/only"), "n").unwrap();
        // Both need privileges (CAP_MKNOD, trusted xattrs): skip without.
        if mknod(
            &d.join("gone"),
            SFlag::S_IFCHR,
            Mode::empty(),
            makedev(0, 0),
        )
        .is_err()
            || xattr::set(d.join("www"), "trusted.overlay.opaque", b"y").is_err()
        {
            return;
        }
        let mut out = Vec::new();
        write_layer(d, &mut out).unwrap();
        let names = crate::container::archive::entry_names(out.as_slice()).unwrap();
        assert_eq!(names, [".wh.gone", "www/", "www/.wh..wh..opq", "www/only"]);
    }

    #[test]
    fn the_layer_leaves_mount_points_out() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::write(d.join("etc/hosts"), "").unwrap();
        std::fs::write(d.join("etc/motd"), "hello").unwrap();
        std::fs::write(d.join("f"), "x").unwrap();
        let mut out = Vec::new();
        write_layer(d, &mut out).unwrap();
        let names = crate::container::archive::entry_names(out.as_slice()).unwrap();
        assert_eq!(names, ["etc/", "etc/motd", "f"]);
    }
}
