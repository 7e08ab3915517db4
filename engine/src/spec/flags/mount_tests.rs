use std::path::{Path, PathBuf};

use super::*;
use crate::spec::build::MountKind;
use crate::spec::flags::assert_errors;

fn parse(value: &str) -> Result<MountSpec, MountError> {
    parse_mount(value, Path::new("/work/app"), |p| {
        p != Path::new("/missing")
    })
}

fn err(value: &str) -> String {
    parse(value).unwrap_err().to_string()
}

#[test]
fn source_and_target_aliases_mean_the_same() {
    for value in [
        "type=bind,src=/source,dst=/target",
        "type=bind,source=/source,target=/target",
        "type=bind,source=/source,destination=/target",
        "Type=BIND,Source=/source,Target=/target",
    ] {
        let spec = parse(value).unwrap();
        assert_eq!(spec.kind, MountType::Bind, "{value}");
        assert_eq!(
            (spec.source.as_str(), spec.target.as_str()),
            ("/source", "/target")
        );
    }
}

#[test]
fn mount_type_defaults_to_volume() {
    let spec = parse("target=/target,source=foo").unwrap();
    assert_eq!(
        (spec.kind, spec.source.as_str()),
        (MountType::Volume, "foo")
    );
}

#[test]
fn readonly_takes_gos_booleans_or_no_value() {
    for (field, want) in [
        ("readonly", true),
        ("ro", true),
        ("ro=1", true),
        ("readonly=true", true),
        ("ro=0", false),
        ("readonly=false", false),
    ] {
        let spec = parse(&format!("type=bind,src=/a,dst=/b,{field}")).unwrap();
        assert_eq!(spec.read_only, want, "{field}");
    }
    assert_eq!(
        err("type=bind,src=/a,dst=/b,readonly=no"),
        "invalid value for readonly: no"
    );
}

#[test]
fn relative_sources_starting_with_dot_are_taken_from_the_working_directory() {
    assert_eq!(
        parse("type=bind,source=.,target=/t").unwrap().source,
        "/work/app"
    );
    assert_eq!(
        parse("type=bind,source=./d/,target=/t").unwrap().source,
        "/work/app/d"
    );
}

#[test]
fn quoted_fields_may_hold_commas() {
    let spec = parse(r#"type=bind,"src=/a,b",dst=/b"#).unwrap();
    assert_eq!(spec.source, "/a,b");
}

#[test]
fn cli_errors_are_the_docker_clis() {
    assert_errors(
        parse,
        &[
            ("type=tmpfs", "target is required"),
            ("type=bind", "target is required"),
            ("type=,target=/x", "type is required"),
            (
                "type=volume,target=/foo,bogus=foo",
                "unexpected key 'bogus' in 'bogus=foo'",
            ),
            (
                "type=volume, src=/foo,target=/foo",
                "unexpected key ' src' in ' src=/foo'",
            ),
            (
                "type=bind,target=/x,bogus",
                "invalid field 'bogus' must be a key=value pair",
            ),
            (
                "type=tmpfs,target=/foo,tmpfs-size=foo",
                "invalid value for tmpfs-size: foo",
            ),
            (
                "type=tmpfs,target=/x,tmpfs-mode=9",
                "invalid value for tmpfs-mode: 9",
            ),
            (
                "type=volume,target=/foo,source=/foo,bind-propagation=rprivate",
                "cannot mix 'bind-*' options with mount type 'volume'",
            ),
            (
                "type=bind,target=/foo,source=/foo,volume-nocopy=true",
                "cannot mix 'volume-*' options with mount type 'bind'",
            ),
            (
                "type=volume,target=/foo,tmpfs-size=1m",
                "cannot mix 'tmpfs-*' options with mount type 'volume'",
            ),
            (
                "type=bind,src=/a,dst=/b,bind-recursive=x",
                r#"invalid value for bind-recursive: x (must be "enabled", "disabled", "writable", or "readonly")"#,
            ),
            (
                "type=bind,src=/a,dst=/b,bind-recursive=writable",
                "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction",
            ),
            (
                "type=bind,src=/a,dst=/b,bind-recursive=readonly,readonly",
                "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction",
            ),
        ],
    );
}

#[test]
fn csv_errors_name_the_column() {
    assert_eq!(
        err(r#"type=bind,src="/a,b",dst=/b"#),
        r#"parse error on line 1, column 15: bare " in non-quoted-field"#
    );
    assert!(
        err(r#"type=bind,"src=/a"x,dst=/b"#)
            .ends_with(r#"extraneous or missing " in quoted-field"#)
    );
    assert_eq!(
        err(r#"type=bind,src=/a"b,dst=/b"#),
        r#"parse error on line 1, column 17: bare " in non-quoted-field"#
    );
    assert_eq!(
        err(r#""type=bind,src=/a,dst=/b"#),
        r#"parse error on line 1, column 25: extraneous or missing " in quoted-field"#
    );
}

#[test]
fn daemon_errors_are_mount_config_errors() {
    assert_errors(
        parse,
        &[
            (
                "type=foo,target=/x",
                r#"invalid mount config for type "foo": mount type unknown"#,
            ),
            (
                "type=bind,src=/missing,dst=/x",
                r#"invalid mount config for type "bind": bind source path does not exist: /missing"#,
            ),
            (
                "type=bind,src=/a,dst=/b,bind-propagation=foo",
                r#"invalid mount config for type "bind": invalid propagation mode: foo"#,
            ),
            (
                "type=bind,src=rel,dst=/b",
                r#"invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute"#,
            ),
            (
                "type=bind,dst=/b",
                r#"invalid mount config for type "bind": field Source must not be empty"#,
            ),
            (
                "type=volume,dst=/b,ro",
                r#"invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes"#,
            ),
            (
                "type=tmpfs,src=x,dst=/b",
                r#"invalid mount config for type "tmpfs": field Source must not be specified"#,
            ),
            (
                "type=volume,src=v,dst=/b,volume-subpath=../x",
                r#"invalid mount config for type "volume": subpath must be a relative path within the volume"#,
            ),
        ],
    );
    assert!(parse("type=bind,src=/missing,dst=/x,bind-create-src=true").is_ok());
}

#[test]
fn volume_options_are_collected() {
    let spec = parse(
        "type=volume,volume-driver=local,target=/foo,volume-label=a=1,volume-opt=o=addr,volume-nocopy",
    )
    .unwrap();
    let volume = spec.volume.unwrap();
    assert!(volume.no_copy);
    assert_eq!(volume.driver, "local");
    assert_eq!(volume.labels.get("a").map(String::as_str), Some("1"));
    assert_eq!(
        volume.driver_options.get("o").map(String::as_str),
        Some("addr")
    );
}

#[test]
fn mounts_become_runtime_mounts() {
    let bind = parse("type=bind,src=/a,dst=/b,bind-recursive=disabled,bind-propagation=rshared")
        .unwrap()
        .to_input(None)
        .unwrap();
    assert_eq!(bind.kind, MountKind::Bind);
    assert_eq!(bind.source, PathBuf::from("/a"));
    assert_eq!(bind.options, ["bind", "rshared"]);

    let volume = parse("type=volume,src=v,dst=/b,volume-subpath=sub").unwrap();
    let input = volume
        .to_input(Some(Path::new("/var/lib/berth/volumes/v/_data")))
        .unwrap();
    assert_eq!(
        input.source,
        PathBuf::from("/var/lib/berth/volumes/v/_data/sub")
    );
    assert!(input.options.is_empty());
    assert_eq!(
        volume.to_input(None).unwrap_err().to_string(),
        "no host directory given for the volume mounted at /b"
    );

    let tmpfs = parse("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777,ro").unwrap();
    let input = tmpfs.to_input(None).unwrap();
    assert_eq!(input.kind, MountKind::Tmpfs);
    assert_eq!(
        input.options,
        [
            "noexec",
            "nosuid",
            "nodev",
            "rprivate",
            "ro",
            "mode=1777",
            "size=64m"
        ]
    );
}

#[test]
fn duplicate_targets_are_refused() {
    let a = parse("type=bind,src=/a,dst=/data").unwrap();
    let b = parse("type=volume,src=v,dst=/data/").unwrap();
    assert_eq!(
        check_duplicate_targets(&[a.clone(), b])
            .unwrap_err()
            .to_string(),
        "Duplicate mount point: /data"
    );
    assert!(check_duplicate_targets(&[a]).is_ok());
}
