//! What a container is made of, as pure logic: the OCI runtime spec that
//! runs it ([`build`]), the `berth run` flags that describe it ([`flags`]),
//! and the cgroup figures `berth stats` shows ([`cgroup_stats`]).
//!
//! Nothing here spawns a process or mounts anything. Only two places read
//! files, each given the directory to read under so tests use fixture trees:
//! the user lookup in the container's `/etc/passwd` and `/etc/group`
//! ([`build::resolve_user`]) and the cgroup readers ([`cgroup_stats`]).
//! Defaults and error messages are Docker's (moby and docker/cli), so that a
//! user meets the same behaviour and the same words.

pub mod build;
pub mod cgroup_stats;
pub mod flags;
pub(crate) mod path;

/// `items` as owned strings, for tests.
#[cfg(test)]
pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
