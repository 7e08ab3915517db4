//! The process environment as Docker makes it: the user's variables over
//! the image's (moby's create-time merge), over `PATH`, `HOSTNAME` and, with
//! a terminal, `TERM` (moby's `CreateDaemonEnvironment`).

/// Docker's default `PATH` on Linux.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The name of a `KEY=VALUE` (or bare `KEY`) entry.
fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// The container's configured environment: `user`'s entries, then the
/// image's whose names `user` does not use. A bare `KEY` from the user thus
/// hides the image's `KEY`.
pub fn merge_env(image: &[String], user: &[String]) -> Vec<String> {
    let mut env = user.to_vec();
    env.extend(
        image
            .iter()
            .filter(|i| !user.iter().any(|u| key(u) == key(i)))
            .cloned(),
    );
    env
}

/// The process's environment: `PATH`, `HOSTNAME` and (with `tty`)
/// `TERM=xterm`, each replaced by a `config` entry of the same name, then
/// the other `config` entries in order; bare `KEY` entries remove `KEY`
/// and never appear.
pub fn process_env(config: &[String], hostname: &str, tty: bool) -> Vec<String> {
    let mut env: Vec<Option<String>> = vec![
        Some(format!("PATH={DEFAULT_PATH}")),
        Some(format!("HOSTNAME={hostname}")),
    ];
    if tty {
        env.push(Some("TERM=xterm".to_owned()));
    }
    for entry in config {
        let name = key(entry);
        let existing = env
            .iter()
            .position(|e| e.as_deref().is_some_and(|e| key(e) == name));
        let value = entry.contains('=').then(|| entry.clone());
        match (existing, value) {
            (Some(i), value) => env[i] = value,
            (None, Some(value)) => env.push(Some(value)),
            (None, None) => {}
        }
    }
    env.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::strings;

    #[test]
    fn user_env_wins_over_the_images_and_comes_first() {
        let merged = merge_env(
            &strings(&["PATH=/img/bin", "LANG=C", "SECRET=1"]),
            &strings(&["LANG=fr_FR", "SECRET", "NEW=x"]),
        );
        assert_eq!(merged, ["LANG=fr_FR", "SECRET", "NEW=x", "PATH=/img/bin"]);
    }

    #[test]
    fn process_env_starts_with_dockers_defaults() {
        assert_eq!(
            process_env(&[], "abc123", false),
            [format!("PATH={DEFAULT_PATH}"), "HOSTNAME=abc123".to_owned()]
        );
        assert_eq!(process_env(&[], "h", true)[2], "TERM=xterm");
    }

    #[test]
    fn config_env_replaces_defaults_in_place_and_bare_keys_unset() {
        let env = process_env(&strings(&["A=1", "PATH=/bin", "TERM", "B"]), "h", true);
        assert_eq!(env, ["PATH=/bin", "HOSTNAME=h", "A=1"]);
    }
}
