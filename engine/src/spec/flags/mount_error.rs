//! What `-v`, `--mount` and `--tmpfs` refuse, in the words of the docker CLI
//! (format errors) and of the daemon (`invalid mount config for type …`).

use std::fmt;

/// A mount flag Docker refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    /// `-v ""`.
    #[error("invalid empty volume spec")]
    EmptyVolumeSpec,
    /// A `-v` value the CLI cannot split (`:/b`, `/a:/b:ro:z`).
    #[error("invalid spec: {spec}: {reason}")]
    VolumeSyntax {
        /// The value given.
        spec: String,
        /// `empty section between colons` or `too many colons`.
        reason: &'static str,
    },
    /// A `-v` value the daemon cannot split (`/foo:rw`).
    #[error("invalid volume specification: '{0}'")]
    VolumeSpec(String),
    /// A `-v` mode that is not a set of `ro|rw`, `z|Z`, a propagation,
    /// `nocopy` and a consistency, each at most once.
    #[error("invalid mode: {0}")]
    InvalidMode(String),
    /// A `-v` value whose mount the daemon refuses.
    #[error("invalid volume specification: '{spec}': {source}")]
    VolumeConfig {
        /// The value given.
        spec: String,
        /// Why the mount is refused.
        source: Box<MountError>,
    },
    /// A mount the daemon refuses (`invalid mount config for type "bind": …`).
    #[error("invalid mount config for type {kind:?}: {fault}")]
    Config {
        /// The mount's type as given.
        kind: String,
        /// What is wrong with it.
        fault: ConfigFault,
    },
    /// A `--tmpfs` target that is `/` or relative.
    #[error(transparent)]
    Destination(ConfigFault),
    /// A `--mount` value that is not one CSV record.
    #[error("parse error on line 1, column {column}: {}", if *.bare_quote { "bare \" in non-quoted-field" } else { "extraneous or missing \" in quoted-field" })]
    Csv {
        /// Where, from 1.
        column: usize,
        /// A quote inside an unquoted field, rather than an unclosed quote.
        bare_quote: bool,
    },
    /// A `--mount` field without `=` that is not a flag.
    #[error("invalid field '{0}' must be a key=value pair")]
    NotKeyValue(String),
    /// A `--mount` key the CLI does not know.
    #[error("unexpected key '{key}' in '{field}'")]
    UnexpectedKey {
        /// The key.
        key: String,
        /// The whole field.
        field: String,
    },
    /// A `--mount` value of the wrong kind (`readonly=no`, `tmpfs-mode=9`).
    #[error("invalid value for {key}: {value}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value given.
        value: String,
    },
    /// `bind-recursive` with a value it does not take.
    #[error(
        "invalid value for bind-recursive: {0} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
    )]
    InvalidRecursive(String),
    /// `--mount type=,…`.
    #[error("type is required")]
    TypeRequired,
    /// `--mount` without a target.
    #[error("target is required")]
    TargetRequired,
    /// Options of one mount type on a mount of another.
    #[error("cannot mix '{group}-*' options with mount type '{kind}'")]
    MixedOptions {
        /// `bind`, `volume` or `tmpfs`.
        group: &'static str,
        /// The mount's type.
        kind: String,
    },
    /// `bind-recursive=writable|readonly` on a writable mount.
    #[error("option 'bind-recursive={0}' requires 'readonly' to be specified in conjunction")]
    RecursiveNeedsReadonly(&'static str),
    /// `bind-recursive=readonly` with a propagation other than `rprivate`.
    #[error(
        "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction"
    )]
    RecursiveNeedsRprivate,
    /// A tmpfs option that is neither a mount flag nor a tmpfs setting.
    #[error("invalid tmpfs option {}", GoQuotedParts(.0))]
    TmpfsOption(String),
    /// Two mounts on one target.
    #[error("Duplicate mount point: {0}")]
    DuplicateTarget(String),
    /// A one-character volume name.
    #[error(
        "create {0}: volume name is too short, names should be at least two alphanumeric characters"
    )]
    VolumeNameTooShort(String),
    /// A volume name outside `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, often a relative
    /// path meant as a host directory.
    #[error(
        "create {0}: {0:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )]
    VolumeNameChars(String),
    /// A volume mount turned into a runtime mount without its directory.
    #[error("no host directory given for the volume mounted at {0}")]
    NoVolumeDirectory(String),
}

/// Why the daemon refuses a mount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigFault {
    /// A field that must be given (`Target`, `Source`).
    #[error("field {0} must not be empty")]
    MissingField(&'static str),
    /// A field that this type of mount does not take.
    #[error("field {0} must not be specified")]
    ExtraField(&'static str),
    /// A mount over the container's root.
    #[error("invalid specification: destination can't be '/'")]
    TargetIsRoot,
    /// A relative path.
    #[error("invalid mount path: '{0}' mount path must be absolute")]
    NotAbsolute(String),
    /// A `--mount` bind of a host path that does not exist.
    #[error("bind source path does not exist: {0}")]
    BindSourceMissing(String),
    /// `readonly` on an anonymous volume.
    #[error("must not set ReadOnly mode when using anonymous volumes")]
    ReadOnlyAnonymousVolume,
    /// `volume-subpath` on an anonymous volume.
    #[error("must not set Subpath when using anonymous volumes")]
    AnonymousVolumeSubpath,
    /// A `volume-subpath` that leaves the volume.
    #[error("subpath must be a relative path within the volume")]
    InvalidSubpath,
    /// A propagation that is not `[r]private`, `[r]shared`, `[r]slave`.
    #[error("invalid propagation mode: {0}")]
    InvalidPropagation(String),
    /// A type other than `bind`, `volume`, `tmpfs`.
    #[error("mount type unknown")]
    UnknownType,
}

/// Go's `%q` of a `[]string` made by splitting an option at `=`:
/// `["foo"]`, `["foo" "bar"]`.
struct GoQuotedParts<'a>(&'a str);

impl fmt::Display for GoQuotedParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_once('=') {
            Some((k, v)) => write!(f, "[{k:?} {v:?}]"),
            None => write!(f, "[{:?}]", self.0),
        }
    }
}
