//! Shared by the image tests: running berth on a throwaway root, and
//! building tarballs (hostile ones included) in memory.

#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use engine::cli::{Io, run};
use sha2::{Digest as _, Sha256};

/// A berth root in a temporary directory.
pub(crate) struct Root {
    pub(crate) dir: tempfile::TempDir,
}

impl Root {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Runs `berth --root <root> args…` with `stdin`; returns (exit code,
    /// stdout, stderr).
    pub(crate) fn berth(&self, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
        let (code, out, err) = self.berth_bytes(args, stdin);
        (code, String::from_utf8(out).unwrap(), err)
    }

    /// As [`Root::berth`], standard output as bytes.
    pub(crate) fn berth_bytes(&self, args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
        let mut input = stdin;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
        };
        let mut argv: Vec<OsString> = vec!["berth".into(), "--root".into(), self.path().into()];
        argv.extend(args.iter().map(OsString::from));
        let code = run(argv, &mut io);
        (code, out, String::from_utf8(err).unwrap())
    }

    /// Runs berth and expects success; returns standard output.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.berth(args, b"");
        assert_eq!(code, 0, "berth {args:?}: {err}");
        out
    }

    /// The store's files under `image/`.
    pub(crate) fn store(&self) -> PathBuf {
        self.path().join("image")
    }
}

/// `sha256:<hex>` of `data`.
pub(crate) fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// One entry of a tarball built by [`tarball`].
pub(crate) enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// A tar of `entries`, names written as given (even hostile ones).
pub(crate) fn tarball(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, kind, data, link): (&str, tar::EntryType, &[u8], Option<&str>) = match entry {
            Entry::Dir(n) => (n, tar::EntryType::Directory, b"", None),
            Entry::File(n, d) => (n, tar::EntryType::Regular, d, None),
            Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", Some(t)),
            Entry::HardLink(n, t) => (n, tar::EntryType::Link, b"", Some(t)),
        };
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_mtime(1_700_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A rootfs tarball of `/bin/busybox` with `sh` and `ls` symlinks.
pub(crate) fn busybox_rootfs() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox").unwrap();
    tarball(&[
        Entry::Dir("bin/"),
        Entry::File("bin/busybox", &busybox),
        Entry::Symlink("bin/sh", "busybox"),
        Entry::Symlink("bin/ls", "/bin/busybox"),
        Entry::Dir("etc/"),
        Entry::File("etc/motd", b"welcome\n"),
    ])
}

/// Writes `data` to `name` in `dir` and returns the path as a string.
pub(crate) fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Whether berth runs as root (devices and trusted xattrs need it).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
