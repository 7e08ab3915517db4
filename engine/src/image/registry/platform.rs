//! Platforms (`os/arch[/variant]`) and the choice of one image in a
//! manifest list or OCI index, as containerd's matcher makes it: os and
//! architecture must match; the variant must match exactly, except that
//! `arm64` and `arm64/v8` are one platform and an `arm/v7` host also runs
//! `arm/v6` and `arm/v5` images (the newest compatible one wins).

use std::fmt;

use super::error::{RegistryError, Result};
use crate::image::config::go_arch;
use crate::image::oci::Descriptor;

/// A platform, normalised (`aarch64` is `arm64`, `x86_64` is `amd64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// The operating system (`linux`).
    pub os: String,
    /// The architecture as Go names it (`amd64`, `arm64`, `arm`).
    pub architecture: String,
    /// The CPU variant (`v7`, `v8`), if any.
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this berth runs on.
    pub fn host() -> Self {
        Self::new("linux", go_arch(), None)
    }

    /// A normalised platform.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let (architecture, default_variant) = normalise_arch(architecture);
        let variant = variant
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or(default_variant);
        let mut platform = Self {
            os: os.to_ascii_lowercase(),
            architecture,
            variant,
        };
        // `arm64/v8` is plain `arm64`: one form, so that equality works.
        if platform.architecture == "arm64" && platform.variant.as_deref() == Some("v8") {
            platform.variant = None;
        }
        platform
    }

    /// Parses `--platform`: `os`, `os/arch` or `os/arch/variant`. A bare
    /// os means the host's architecture.
    pub fn parse(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad = || RegistryError::BadPlatform(text.to_owned());
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [os] => Ok(Self::new(os, go_arch(), None)),
            [os, arch] => Ok(Self::new(os, arch, None)),
            [os, arch, variant] => Ok(Self::new(os, arch, Some(variant))),
            _ => Err(bad()),
        }
    }

    /// How well an image of `offered` runs here: `None` when it does not,
    /// a higher rank for a better match.
    fn rank(&self, offered: &Self) -> Option<u8> {
        if self.os != offered.os || self.architecture != offered.architecture {
            return None;
        }
        if self.variant == offered.variant {
            return Some(u8::MAX);
        }
        let (Some(want), Some(have)) = (&self.variant, &offered.variant) else {
            // A variant asked for and none offered (or the reverse): the
            // offered image is the architecture's generic build.
            return (self.variant.is_none() || offered.variant.is_none()).then_some(1);
        };
        if self.architecture != "arm" {
            return None;
        }
        // An armv7 host runs v6 and v5 images, a v6 host v5 ones.
        let level = |v: &str| v.strip_prefix('v').and_then(|n| n.parse::<u8>().ok());
        match (level(want), level(have)) {
            (Some(w), Some(h)) if h < w => Some(2 + h),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The Go name of `arch`, and the variant an alias implies.
fn normalise_arch(arch: &str) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let (name, variant) = match arch.as_str() {
        "x86_64" | "x86-64" => ("amd64", None),
        "i386" | "i686" => ("386", None),
        "aarch64" => ("arm64", None),
        "armhf" | "armel" => ("arm", None),
        "armv7l" | "armv7" => ("arm", Some("v7")),
        "armv6l" | "armv6" => ("arm", Some("v6")),
        _ => return (arch, None),
    };
    (name.to_owned(), variant.map(str::to_owned))
}

/// The entry of an index's `manifests` that best matches `want`; ties go
/// to the first, as in Docker. Entries without a platform (attestations
/// have `unknown/unknown`) never match.
pub fn select<'a>(manifests: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let mut best: Option<(u8, &Descriptor)> = None;
    for descriptor in manifests {
        let Some(p) = &descriptor.platform else {
            continue;
        };
        let offered = Platform::new(&p.os, &p.architecture, p.variant.as_deref());
        if let Some(rank) = want.rank(&offered)
            && best.is_none_or(|(r, _)| rank > r)
        {
            best = Some((rank, descriptor));
        }
    }
    best.map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest::Digest;
    use crate::image::oci::{MEDIA_MANIFEST, Platform as OciPlatform};

    fn entry(n: u8, platform: &str) -> Descriptor {
        let mut d = Descriptor::new(MEDIA_MANIFEST, Digest::of(&[n]), 1);
        let parts: Vec<&str> = platform.split('/').collect();
        d.platform = Some(OciPlatform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        });
        d
    }

    fn chosen(list: &[Descriptor], want: &str) -> Option<u8> {
        let want = Platform::parse(want).unwrap();
        select(list, &want).map(|d| {
            list.iter()
                .position(|e| e.digest == d.digest)
                .and_then(|i| u8::try_from(i).ok())
                .unwrap()
        })
    }

    #[test]
    fn platforms_parse_and_normalise_aliases() {
        assert_eq!(
            Platform::parse("linux/aarch64").unwrap(),
            Platform::new("linux", "arm64", None)
        );
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap(),
            Platform::parse("linux/arm64").unwrap()
        );
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(Platform::parse("linux").unwrap(), Platform::host());
        for bad in ["", "linux/", "a/b/c/d", "/amd64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_variant_decides_between_arm_images() {
        let list = [
            entry(0, "linux/amd64"),
            entry(1, "linux/arm/v6"),
            entry(2, "linux/arm/v7"),
            entry(3, "linux/arm64/v8"),
            entry(4, "unknown/unknown"),
        ];
        assert_eq!(chosen(&list, "linux/amd64"), Some(0));
        assert_eq!(chosen(&list, "linux/arm/v7"), Some(2));
        assert_eq!(chosen(&list, "linux/arm/v6"), Some(1));
        assert_eq!(chosen(&list, "linux/arm64"), Some(3));
        assert_eq!(chosen(&list, "linux/s390x"), None);
        assert_eq!(chosen(&list, "windows/amd64"), None);
    }

    #[test]
    fn an_older_arm_variant_runs_when_the_exact_one_is_missing() {
        let list = [entry(0, "linux/arm/v5"), entry(1, "linux/arm/v6")];
        assert_eq!(chosen(&list, "linux/arm/v7"), Some(1));
        assert_eq!(chosen(&list, "linux/arm/v5"), Some(0));
        assert_eq!(chosen(&[entry(0, "linux/arm/v7")], "linux/arm/v6"), None);
    }

    #[test]
    fn the_first_of_equal_matches_wins() {
        let list = [entry(0, "linux/amd64"), entry(1, "linux/amd64")];
        assert_eq!(chosen(&list, "linux/amd64"), Some(0));
    }
}
