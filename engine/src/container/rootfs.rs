//! A container's root file system: the image's unpacked layers as
//! overlayfs lower directories, with the container's own upper and work
//! directories, mounted at `DIR/merged` for the runtime.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use super::error::{ContainerError, Result};

/// The directories of one container's overlay.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// The image's layers, top first.
    pub lower: Vec<PathBuf>,
    /// The container's changes.
    pub upper: PathBuf,
    /// overlayfs's scratch directory.
    pub work: PathBuf,
    /// Where it is mounted.
    pub merged: PathBuf,
}

impl Overlay {
    /// The overlay of a container whose directory is `dir`.
    pub fn for_container(dir: &Path, lower: Vec<PathBuf>) -> Self {
        Self {
            lower,
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
        }
    }

    /// The mount options.
    pub fn options(&self) -> String {
        let lower: Vec<String> = self.lower.iter().map(|p| p.display().to_string()).collect();
        format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.join(":"),
            self.upper.display(),
            self.work.display()
        )
    }

    /// Whether it is mounted now.
    pub fn is_mounted(&self) -> bool {
        // A mount point sits on another device than its parent: O(1),
        // where reading the mount table grows with the host's mounts.
        use std::os::unix::fs::MetadataExt;
        let parent = self.merged.parent().map(std::fs::metadata);
        match (std::fs::metadata(&self.merged), parent) {
            (Ok(m), Some(Ok(p))) => m.dev() != p.dev(),
            _ => false,
        }
    }

    /// Mounts it (once).
    pub fn mount(&self) -> Result<()> {
        self.mount_with("")
    }

    /// Mounts it (once) for a container that is removed when it exits
    /// (`--rm`): `volatile`, so that the unmount does not sync the file
    /// system under the upper dir (whose content goes with the container),
    /// as Podman mounts its `--rm` containers. A kernel without the option
    /// gets a plain mount.
    pub fn mount_transient(&self) -> Result<()> {
        match self.mount_with(",volatile") {
            Err(ContainerError::Io { source, .. })
                if source.raw_os_error() == Some(libc::EINVAL) =>
            {
                self.mount()
            }
            other => other,
        }
    }

    fn mount_with(&self, extra: &str) -> Result<()> {
        if self.lower.is_empty() {
            return Err(ContainerError::NoLayers {
                merged: self.merged.clone(),
            });
        }
        for d in [&self.upper, &self.work, &self.merged] {
            std::fs::create_dir_all(d).map_err(ContainerError::io("create directory", d))?;
        }
        if self.is_mounted() {
            return Ok(());
        }
        // A volatile mount that was not unmounted cleanly (a crash) leaves
        // this behind, and the kernel refuses the dirs until it is gone.
        // Mostly not there; one that stays makes the mount fail, which is
        // reported.
        let _ = std::fs::remove_dir_all(self.work.join("work/incompat"));
        let opts = format!("{}{extra}", self.options());
        mount(
            Some("overlay"),
            &self.merged,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(|e| ContainerError::io("mount overlay on", &self.merged)(e.into()))
    }

    /// Unmounts it (lazily, so a process still inside does not block it).
    pub fn unmount(&self) -> Result<()> {
        if !self.is_mounted() {
            return Ok(());
        }
        umount2(&self.merged, MntFlags::MNT_DETACH)
            .map_err(|e| ContainerError::io("unmount", &self.merged)(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_list_layers_top_first() {
        let o = Overlay::for_container(
            Path::new("/c"),
            vec![PathBuf::from("/l/top"), PathBuf::from("/l/base")],
        );
        assert_eq!(
            o.options(),
            "lowerdir=/l/top:/l/base,upperdir=/c/upper,workdir=/c/work"
        );
        assert_eq!(o.merged, Path::new("/c/merged"));
    }
}
