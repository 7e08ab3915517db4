//! Lexical path helpers shared by the mount parsers and the spec builder.

/// Go's `path.Clean`: the shortest path with the same meaning, lexically
/// (`//a/./b/../c/` → `/a/c`, `` → `.`).
pub(crate) fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// How deep a path is, as Docker sorts mounts: the parts of its clean form.
pub(crate) fn depth(path: &str) -> usize {
    clean_path(path).split('/').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_is_gos_path_clean() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("//a/./b/../c/", "/a/c"),
            ("/..", "/"),
            ("a/../..", ".."),
            ("../a", "../a"),
            ("./x", "x"),
            ("/etc/hosts", "/etc/hosts"),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }

    #[test]
    fn depth_counts_the_parts_of_the_clean_path() {
        assert!(depth("/dev") < depth("/dev/shm"));
        assert_eq!(depth("/a/b/"), depth("/a/b"));
    }
}
