//! The `berth` engine in a test host: its own root and runroot, a busybox
//! image imported from the host's `busybox-static`, and a clean-up that
//! removes every container and the test's cgroups (the real machine's)
//! even when the test panics.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::TestHost;
use crate::netd::bin;

/// A berth of the test host.
#[derive(Debug)]
pub struct Berth {
    /// `--root`.
    pub root: PathBuf,
    /// `--runroot`.
    pub runroot: PathBuf,
    cgroup_parent: String,
}

impl Berth {
    /// A berth with an imported `busybox` image (a link per applet, and
    /// `/www/index.html` for httpd).
    pub fn new(host: &TestHost) -> Self {
        let mut seed = [0u8; 6];
        getrandom_fill(&mut seed);
        let b = Self {
            root: host.dir("berth"),
            runroot: PathBuf::from("/run/berth"),
            cgroup_parent: format!(
                "berth-test-{}",
                seed.iter().map(|x| format!("{x:02x}")).collect::<String>()
            ),
        };
        let tar = crate::dockerd::busybox_rootfs(host);
        b.ok(&["import", &tar.display().to_string(), "busybox"]);
        b
    }

    /// Runs berth with `args`.
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running berth")
    }

    /// The berth command line, ready to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("berth"));
        c.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .args(args)
            .env("BERTH_CGROUP_PARENT", &self.cgroup_parent)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        c
    }

    /// Runs berth and returns its trimmed stdout; panics with its output
    /// when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The container cgroups left under the test's parent (none after a
    /// clean removal), in the real hierarchies: what crun makes in the
    /// tmpfs that [`let_crun_run`] lays over the cgroup2 mount is the
    /// test's own.
    pub fn cgroups(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in ctrls.flatten().filter(|c| is_cgroup_fs(&c.path())) {
                if let Ok(kids) = std::fs::read_dir(c.path().join(&self.cgroup_parent)) {
                    out.extend(kids.flatten().map(|k| k.path()).filter(|p| p.is_dir()));
                }
            }
        }
        out
    }
}

/// Whether `path` is a cgroup file system (v1 or v2).
fn is_cgroup_fs(path: &std::path::Path) -> bool {
    use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, statfs};
    statfs(path).is_ok_and(|s| {
        s.filesystem_type() == CGROUP_SUPER_MAGIC || s.filesystem_type() == CGROUP2_SUPER_MAGIC
    })
}

/// The installed crun, if any.
pub fn crun() -> Option<PathBuf> {
    ["/usr/bin/crun", "/usr/sbin/crun"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Lets Debian's crun run containers in this test host: it refuses a hybrid
/// cgroup layout while the cgroup2 mount (`/sys/fs/cgroup/unified`) is
/// there, so that mount is covered with a tmpfs, in the test's own mount
/// namespace only (the host is the proof that this runs in a throwaway
/// one). What crun then makes there is the test's own.
pub fn let_crun_run(_host: &TestHost) {
    if std::path::Path::new("/sys/fs/cgroup/unified").exists() {
        nix::mount::mount(
            Some("berth-test"),
            "/sys/fs/cgroup/unified",
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .expect("covering the cgroup2 mount");
    }
}

fn getrandom_fill(buf: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(buf);
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        let ids = String::from_utf8_lossy(&self.cmd(&["ps", "-aq"]).stdout).into_owned();
        for id in ids.split_whitespace() {
            let _ = self.cmd(&["rm", "-f", id]);
        }
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in ctrls.flatten() {
                let parent = c.path().join(&self.cgroup_parent);
                if let Ok(kids) = std::fs::read_dir(&parent) {
                    for k in kids.flatten().filter(|k| k.path().is_dir()) {
                        let _ = std::fs::remove_dir(k.path());
                    }
                }
                let _ = std::fs::remove_dir(&parent);
            }
        }
    }
}
