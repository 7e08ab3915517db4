//! Harness for berth's privileged end-to-end tests.
//!
//! Every privileged test runs in its own throwaway host (see
//! `scripts/testhost`, the target runner these tests are run under): a fresh
//! network namespace, a private mount namespace with tmpfs over `/run` (state
//! directories and `TMPDIR` live there), a fresh sysfs, and a private PID namespace whose init is the test
//! process itself. When the test ends, passing or panicking, the kernel
//! tears the whole host down, so a test needs no clean-up code to leave the
//! real machine untouched.
//!
//! A test starts with [`TestHost::enter`], which refuses to run anywhere but
//! in such a host: these tests create bridges, rules and mounts, and must
//! never do so on the real machine.

#![warn(missing_docs)]

pub mod berth;
pub mod dockerd;
pub mod netd;
pub mod plugin;
pub mod registry;
pub mod traffic;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The throwaway host a privileged test runs in.
#[derive(Debug)]
pub struct TestHost {
    _private: (),
}

impl TestHost {
    /// Checks that this process is the init of a throwaway host made by
    /// `scripts/testhost`, and panics otherwise.
    pub fn enter() -> Self {
        let marked = std::env::var_os("BERTH_TESTHOST").is_some_and(|v| v == "1");
        let is_init = std::process::id() == 1;
        assert!(
            marked && is_init,
            "privileged tests run only inside a throwaway host: \
             run `make test-privileged` (or set the target runner to scripts/testhost)"
        );
        Self { _private: () }
    }

    /// A fresh state directory for this test, on the host's private tmpfs.
    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = Path::new("/run/testhost/state").join(name);
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("creating state directory {}: {e}", dir.display()));
        dir
    }

    /// Takes capability number `cap` (`CAP_SYS_RESOURCE` is 24) out of the
    /// bounding set of the calling thread, and so of every process it
    /// starts from then on (netd, berth, the runtime, containers): a host
    /// that lacks the capability, as a restricted VM or a container does.
    pub fn drop_capability(&self, cap: u32) {
        // SAFETY: prctl(PR_CAPBSET_DROP) takes integers only and touches
        // no memory of this process.
        let rc = unsafe {
            nix::libc::prctl(
                nix::libc::PR_CAPBSET_DROP,
                nix::libc::c_ulong::from(cap),
                0,
                0,
                0,
            )
        };
        assert_eq!(
            rc,
            0,
            "dropping capability {cap} from the bounding set: {}",
            std::io::Error::last_os_error()
        );
    }

    /// The calling thread's bounding set (`CapBnd` of its status), one bit
    /// per capability.
    pub fn bounding_set(&self) -> u64 {
        capability_set(
            &fs::read_to_string("/proc/thread-self/status")
                .unwrap_or_else(|e| panic!("reading /proc/thread-self/status: {e}")),
            "CapBnd",
        )
    }

    /// Names of the network interfaces of this host, sorted, as sysfs shows them.
    pub fn links(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir("/sys/class/net")
            .unwrap_or_else(|e| panic!("reading /sys/class/net: {e}"))
            .map(|e| {
                e.unwrap_or_else(|e| panic!("reading /sys/class/net: {e}"))
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

/// The capability set `name` (`CapBnd`, `CapEff`…) of a `/proc/PID/status`
/// text, one bit per capability; panics when it has none.
pub fn capability_set(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no {name} in {status:?}"))
}

/// Runs a program and returns its standard output; panics with its standard
/// error when it fails, so test failures say what went wrong.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = output(program, args);
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a program and returns all it produced, whatever its exit status.
pub fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("starting `{program}`: {e}"))
}
