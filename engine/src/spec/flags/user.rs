//! `-u/--user name|uid[:group|gid]`: the syntax check. The names are looked
//! up in the container's files when it starts ([`crate::spec::build::resolve_user`]).

/// The largest uid or gid Docker accepts (2³¹−1).
pub const MAX_ID: u32 = i32::MAX.unsigned_abs();

/// A `--user` value split as runc's user package splits it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserSpec {
    /// A user name or uid; empty for the default (uid 0).
    pub user: String,
    /// A group name or gid, when one is given after `:`.
    pub group: Option<String>,
}

impl UserSpec {
    /// The user as a number, when it is one.
    pub fn uid(&self) -> Option<u32> {
        numeric_id(&self.user)
    }

    /// The group as a number, when one is given as a number.
    pub fn gid(&self) -> Option<u32> {
        self.group.as_deref().and_then(numeric_id)
    }
}

/// A `--user` value that can never name a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSpecError {
    /// A numeric id outside 0–2³¹−1 (runc's `ErrRange`).
    #[error("uids and gids must be in range 0-{MAX_ID}")]
    Range(String),
}

/// `--user`: `name`, `uid`, `name:group`, `uid:gid` (or mixed). Like runc,
/// only the first two `:`-separated parts count; a number is always an id,
/// and must be in range.
pub fn parse_user(value: &str) -> Result<UserSpec, UserSpecError> {
    let mut parts = value.split(':');
    let user = parts.next().unwrap_or_default().to_owned();
    let group = parts.next().map(str::to_owned);
    for part in std::iter::once(user.as_str()).chain(group.as_deref()) {
        if let Ok(n) = part.parse::<i64>()
            && !u32::try_from(n).is_ok_and(|n| n <= MAX_ID)
        {
            return Err(UserSpecError::Range(part.to_owned()));
        }
    }
    Ok(UserSpec { user, group })
}

/// `text` as an id when it is a number in range.
fn numeric_id(text: &str) -> Option<u32> {
    text.parse::<u32>().ok().filter(|n| *n <= MAX_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_specs_split_at_the_first_colon() {
        let spec = parse_user("1000:50").unwrap();
        assert_eq!((spec.uid(), spec.gid()), (Some(1000), Some(50)));
        let spec = parse_user("nobody").unwrap();
        assert_eq!((spec.user.as_str(), spec.group), ("nobody", None));
        let spec = parse_user("www:staff:extra").unwrap();
        assert_eq!(spec.group.as_deref(), Some("staff"));
        assert_eq!(parse_user("").unwrap(), UserSpec::default());
        assert_eq!(parse_user(":5").unwrap().gid(), Some(5));
    }

    #[test]
    fn ids_out_of_range_are_refused_with_runcs_message() {
        for bad in ["-1", "2147483648", "0:-5", "99999999999"] {
            assert_eq!(
                parse_user(bad).unwrap_err().to_string(),
                "uids and gids must be in range 0-2147483647"
            );
        }
        assert!(parse_user("2147483647").is_ok());
    }
}
