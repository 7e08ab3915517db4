//! The OCI runtime's binary, made safe to run before berth runs it.
//!
//! crun protects its binary from the containers it starts (CVE-2019-5736:
//! a container process writing to the runtime through `/proc/PID/exe`) on
//! every call: it bind-mounts itself read-only and executes itself again,
//! which costs about a millisecond of each call. It skips that when the
//! binary it runs from cannot be written already: a sealed memfd, or a
//! file on a read-only mount. berth gives it the latter once: a read-only
//! bind mount of the binary under its runroot ([`view_dir`]), made by the
//! first call that needs it and checked by every later one (still the same
//! file, still read-only). Where no mount can be made, each call gets a
//! sealed in-memory copy instead (about 0.2 ms for crun's half megabyte).
//! The protection is crun's own in all three cases: nothing the container
//! can reach writes to the binary.
//!
//! runc is run as it is: runc 1.1 copies itself whatever it runs from
//! (measured: a sealed copy made it slower, not faster).

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary made ready to run once.
#[derive(Debug)]
pub struct Prepared {
    program: Program,
}

#[derive(Debug)]
enum Program {
    /// The binary itself (runc, or anything not crun).
    Plain,
    /// The read-only view of the binary, at this path.
    View(PathBuf),
    /// A sealed copy, which must stay open until the command has started.
    Sealed(File),
}

impl Prepared {
    /// `binary` made ready: its read-only view under `view_dir` for crun
    /// (made when missing or stale), else a sealed copy, else itself.
    pub fn new(binary: &Path, view_dir: &Path) -> Self {
        if !is_crun(binary) {
            return Self {
                program: Program::Plain,
            };
        }
        let program = match readonly_view(binary, view_dir) {
            Ok(path) => Program::View(path),
            // No mount here (no privilege, or a runroot that refuses it).
            Err(_) => sealed_copy(binary).map_or(Program::Plain, Program::Sealed),
        };
        Self { program }
    }

    /// A command that runs the binary; `binary` stays its `argv[0]`.
    /// `self` must live until the command has started.
    pub fn command(&self, binary: &Path) -> Command {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let mut c = match &self.program {
            Program::Plain => return Command::new(binary),
            Program::View(path) => {
                let mut c = Command::new(path);
                // What runc's and crun's clone check asks of a binary on a
                // read-only mount (crun 1.8 takes it without; others may
                // not). The container's environment is the spec's, not this.
                c.env(CLONED_BINARY_ENV, "1");
                c
            }
            Program::Sealed(f) => Command::new(format!("/proc/self/fd/{}", f.as_raw_fd())),
        };
        c.arg0(binary);
        c
    }

    /// As [`Prepared::command`], for a command its caller keeps (a sealed
    /// copy is not kept open for it: the binary itself runs instead).
    pub fn into_command(self, binary: &Path) -> Command {
        match self.program {
            Program::View(_) => self.command(binary),
            Program::Plain | Program::Sealed(_) => Command::new(binary),
        }
    }
}

/// The variable that tells the runtime its binary is a protected clone.
const CLONED_BINARY_ENV: &str = "_LIBCONTAINER_CLONED_BINARY";

/// Where the read-only views of runtime binaries live, for a runtime that
/// keeps its state in `state_dir`.
pub fn view_dir(state_dir: &Path) -> PathBuf {
    state_dir.with_file_name("runtime-bin")
}

/// Whether `binary` is crun.
fn is_crun(binary: &Path) -> bool {
    binary
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("crun"))
}

/// What makes a view current: the binary it shows, and that it is read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

/// Whether `view` is a read-only mount showing the file `binary` is now.
fn is_current_view(view: &Path, binary: &Path) -> bool {
    let id = |p: &Path| {
        std::fs::metadata(p).ok().map(|m| FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    };
    match (id(view), id(binary)) {
        (Some(v), Some(b)) if v == b => nix::sys::statvfs::statvfs(view)
            .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY)),
        _ => false,
    }
}

/// The read-only bind mount of `binary` in `dir`, made (or made again, when
/// the binary was replaced since) under a lock, so that concurrent starts
/// do not stack mounts.
fn readonly_view(binary: &Path, dir: &Path) -> io::Result<PathBuf> {
    let name = binary
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a binary without a name"))?;
    let view = dir.join(name);
    if is_current_view(&view, binary) {
        return Ok(view);
    }
    std::fs::create_dir_all(dir)?;
    let lock = File::create(dir.join(".lock"))?;
    lock.lock()?;
    if is_current_view(&view, binary) {
        return Ok(view);
    }
    // A stale view (the binary was upgraded) comes off first; the file it
    // was mounted on stays as the mount point.
    while nix::mount::umount2(&view, nix::mount::MntFlags::MNT_DETACH).is_ok() {}
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&view)?;
    use nix::mount::{MsFlags, mount};
    mount(
        Some(binary),
        &view,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )?;
    let readonly = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    if let Err(e) = mount(None::<&str>, &view, None::<&str>, readonly, None::<&str>) {
        // The remount's error is the one to report; a view that stays
        // mounted read-write is never used (see `is_current_view`).
        let _ = nix::mount::umount2(&view, nix::mount::MntFlags::MNT_DETACH);
        return Err(e.into());
    }
    if is_current_view(&view, binary) {
        Ok(view)
    } else {
        Err(io::Error::other(format!(
            "{} is not a read-only view of {}",
            view.display(),
            binary.display()
        )))
    }
}

/// A sealed in-memory copy of `binary` (a memfd sealed against writes,
/// growth and shrinking).
fn sealed_copy(binary: &Path) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create with a valid name; the descriptor is checked.
    let fd = unsafe {
        libc::memfd_create(
            c"berth-runtime".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor that nothing else owns.
    let mut copy = unsafe { File::from_raw_fd(fd) };
    io::copy(&mut File::open(binary)?, &mut copy)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on the descriptor `copy` owns.
    if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_crun_is_prepared() {
        assert!(is_crun(Path::new("/usr/bin/crun")));
        assert!(is_crun(Path::new("/opt/crun-1.8")));
        assert!(!is_crun(Path::new("/usr/sbin/runc")));
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Prepared::new(Path::new("/usr/sbin/runc"), dir.path());
        assert!(matches!(p.program, Program::Plain));
        // Nothing was mounted or made for it.
        assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
    }

    #[test]
    fn a_writable_file_is_no_view() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("crun");
        std::fs::write(&f, b"x").expect("write");
        // The same file, but not read-only: not a view (unless the
        // temporary directory itself is read-only, which it is not).
        assert!(!is_current_view(&f, &f));
        assert!(!is_current_view(&dir.path().join("missing"), &f));
    }

    #[test]
    fn the_view_dir_sits_beside_the_state_dir() {
        assert_eq!(
            view_dir(Path::new("/run/berth/runtime")),
            PathBuf::from("/run/berth/runtime-bin")
        );
    }

    #[test]
    fn the_sealed_copy_runs_and_cannot_be_written() {
        use std::os::fd::AsRawFd;
        let copy = sealed_copy(Path::new("/bin/true")).expect("copied");
        // SAFETY: fcntl on a descriptor this test owns.
        let seals = unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_GET_SEALS) };
        assert_eq!(
            seals,
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE,
            "exactly the seals runtimes look for"
        );
        assert!(io::Write::write_all(&mut &copy, b"x").is_err());
        // The copy executes, named as the binary (a stand-in for crun).
        let prepared = Prepared {
            program: Program::Sealed(copy),
        };
        let mut c = prepared.command(Path::new("/usr/bin/crun"));
        assert!(
            c.get_program()
                .to_string_lossy()
                .starts_with("/proc/self/fd/")
        );
        assert!(c.status().expect("runs").success());
        // Anything else runs as it is.
        let plain = Prepared::new(Path::new("/bin/true"), Path::new("/nonexistent"));
        assert_eq!(
            plain.command(Path::new("/bin/true")).get_program(),
            "/bin/true"
        );
    }
}
