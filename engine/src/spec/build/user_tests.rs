use std::fs;

use super::*;
use crate::spec::strings;

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
broken:x:notanumber:1::/:/bin/sh
";

const GROUP: &str = "\
root:x:0:
bin:x:1:root,daemon
wheel:x:10:root
www:x:33:
staff:x:50:www
nogroup:x:65534:
";

fn rootfs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("etc")).unwrap();
    fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
    fs::write(dir.path().join("etc/group"), GROUP).unwrap();
    dir
}

fn resolve(user: &str) -> Result<ResolvedUser, UserError> {
    resolve_user(rootfs().path(), user, &[])
}

#[test]
fn empty_user_is_root_with_roots_groups() {
    let user = resolve("").unwrap();
    assert_eq!((user.uid, user.gid), (0, 0));
    assert_eq!(user.additional_gids, [0, 1, 10]);
    assert_eq!(user.home.as_deref(), Some("/root"));
}

#[test]
fn names_are_looked_up_in_the_containers_passwd() {
    let user = resolve("www").unwrap();
    assert_eq!((user.uid, user.gid), (33, 33));
    assert_eq!(user.additional_gids, [33, 50]);
    assert_eq!(user.home.as_deref(), Some("/var/www"));
}

#[test]
fn numeric_uids_need_no_entry_and_take_gid_zero() {
    let user = resolve("1000").unwrap();
    assert_eq!((user.uid, user.gid), (1000, 0));
    assert_eq!(user.additional_gids, [0]);
    assert_eq!(user.home, None);
    let user = resolve("33").unwrap();
    assert_eq!((user.uid, user.gid), (33, 33));
}

#[test]
fn an_explicit_group_replaces_the_primary_and_drops_supplementary_groups() {
    let user = resolve("www:staff").unwrap();
    assert_eq!((user.uid, user.gid), (33, 50));
    assert_eq!(user.additional_gids, [50]);
    let user = resolve("1000:2000").unwrap();
    assert_eq!((user.uid, user.gid), (1000, 2000));
    let user = resolve("nobody:10").unwrap();
    assert_eq!(user.gid, 10);
}

#[test]
fn unknown_names_fail_with_runcs_messages() {
    assert_eq!(
        resolve("ghost").unwrap_err().to_string(),
        "unable to find user ghost: no matching entries in passwd file"
    );
    assert_eq!(
        resolve("www:ghosts").unwrap_err().to_string(),
        "unable to find group ghosts: no matching entries in group file"
    );
    assert_eq!(
        resolve("-1").unwrap_err().to_string(),
        "uids and gids must be in range 0-2147483647"
    );
}

#[test]
fn group_add_appends_groups_by_name_or_number() {
    let dir = rootfs();
    let user = resolve_user(dir.path(), "daemon", &strings(&["staff", "4242", "50"])).unwrap();
    assert_eq!(user.additional_gids, [1, 1, 50, 4242]);
    let err = resolve_user(dir.path(), "", &strings(&["ghosts"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Unable to find group ghosts: no matching entries in group file"
    );
}

#[test]
fn missing_files_leave_only_numeric_ids() {
    let dir = tempfile::tempdir().unwrap();
    let user = resolve_user(dir.path(), "", &[]).unwrap();
    assert_eq!((user.uid, user.gid, user.additional_gids), (0, 0, vec![0]));
    assert_eq!(resolve_user(dir.path(), "5:6", &[]).unwrap().gid, 6);
    assert!(matches!(
        resolve_user(dir.path(), "root", &[]),
        Err(UserError::UnknownUser(name)) if name == "root"
    ));
}

#[test]
fn symlinks_resolve_inside_the_root_file_system() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc")).unwrap();
    fs::create_dir_all(dir.path().join("real")).unwrap();
    fs::write(
        dir.path().join("real/passwd"),
        "app:x:777:777::/app:/bin/sh\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/real/passwd", dir.path().join("etc/passwd")).unwrap();
    // Outside the root this would be the host's passwd; inside, the one above.
    std::os::unix::fs::symlink(
        "../../../../../../../etc/passwd",
        dir.path().join("etc/group"),
    )
    .unwrap();
    let user = resolve_user(dir.path(), "app", &strings(&["app"])).unwrap();
    assert_eq!((user.uid, user.gid), (777, 777));
    assert_eq!(user.additional_gids, [777, 777]);
}

#[test]
fn an_unreadable_root_names_itself() {
    let err = resolve_user(Path::new("/nonexistent/rootfs"), "", &[]).unwrap_err();
    assert!(err.to_string().starts_with(
        "reading /etc/passwd in the container's root file system /nonexistent/rootfs:"
    ));
}
