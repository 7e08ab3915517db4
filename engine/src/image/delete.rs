//! Removing images as Docker's `ImageDelete` does (untag first, delete
//! when the last tag goes, conflicts with containers and other tags), as
//! pure logic on a [`State`]; and the hook through which the container
//! store tells which images and layers its containers use.

use std::fmt;

use super::digest::Digest;
use super::error::{ImageError, Result};
use super::reference::Reference;
use super::state::State;

/// A container that uses an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// The container's id.
    pub container: String,
    /// Whether it is running.
    pub running: bool,
}

/// What the container store knows about image use; the image store asks
/// before deleting images and layers.
pub trait ImageUsers {
    /// The containers made from image `id`.
    fn users_of(&self, id: &Digest) -> Vec<ImageUse>;

    /// Diff ids of unpacked layers that containers mount and that must
    /// stay even when no image needs them any more.
    fn layers_in_use(&self) -> Vec<Digest> {
        Vec::new()
    }
}

/// No containers at all (until the container store plugs in).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContainers;

impl ImageUsers for NoContainers {
    fn users_of(&self, _id: &Digest) -> Vec<ImageUse> {
        Vec::new()
    }
}

/// One line of what a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteRecord {
    /// A tag was removed (familiar form, `busybox:latest`).
    Untagged(String),
    /// An image or a layer (by chain id) was deleted.
    Deleted(Digest),
}

impl fmt::Display for DeleteRecord {
    /// `Untagged: busybox:latest` or `Deleted: sha256:…`, as `docker rmi`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Untagged(r) => write!(f, "Untagged: {r}"),
            Self::Deleted(d) => write!(f, "Deleted: {d}"),
        }
    }
}

/// Docker's `imageDeleteConflict`.
fn conflict(id: &Digest, hard: bool, message: &str) -> ImageError {
    let force = if hard {
        "cannot be forced"
    } else {
        "must be forced"
    };
    ImageError::Conflict(format!(
        "conflict: unable to delete {} ({force}) - {message}",
        short(id)
    ))
}

/// An id cut to 12 hex digits.
pub fn short(id: &Digest) -> String {
    id.hex()[..12].to_owned()
}

/// Deletes `text` (a tag, an id or an id prefix) from `state` as
/// Docker's `ImageDelete`: a tag is untagged, and the image deleted when
/// that was its last tag; an id deletes the image with its tags (several
/// tags need `force`). Running containers always block; stopped ones
/// unless `force`. Returns the records and the image deleted, if any.
pub fn delete(
    state: &mut State,
    text: &str,
    force: bool,
    users: &dyn ImageUsers,
) -> Result<(Vec<DeleteRecord>, Option<Digest>)> {
    let id = state.resolve(text)?;
    let mut records = Vec::new();
    let refs = state.refs_of(&id);
    if !is_id_prefix(&id, text) {
        if !force
            && refs.len() == 1
            && let Some(user) = users.users_of(&id).first()
        {
            return Err(ImageError::Conflict(format!(
                "conflict: unable to remove repository reference \"{text}\" (must force) - container {} is using its referenced image {}",
                short_container(&user.container),
                short(&id)
            )));
        }
        let reference = Reference::parse_tagged(text)?;
        state.refs.remove(&reference);
        records.push(DeleteRecord::Untagged(reference.familiar()));
        if refs.len() > 1 {
            return Ok((records, None));
        }
        // The last tag is gone: the image goes too, unless a container
        // uses it (then it stays, dangling, quietly).
        match check_conflict(state, &id, force, users) {
            Err(c) if c.used => return Ok((records, None)),
            Err(c) => return Err(c.error),
            Ok(()) => {}
        }
    } else {
        if refs.len() == 1 {
            let mut without_refs = state.clone();
            without_refs.refs.clear();
            check_conflict(&without_refs, &id, force, users).map_err(|c| c.error)?;
            untag_all(state, &id, &mut records);
        }
        check_conflict(state, &id, force, users).map_err(|c| c.error)?;
    }
    untag_all(state, &id, &mut records);
    state.images.remove(&id);
    records.push(DeleteRecord::Deleted(id));
    Ok((records, Some(id)))
}

/// Removes every tag of `id`, recording each.
fn untag_all(state: &mut State, id: &Digest, records: &mut Vec<DeleteRecord>) {
    for r in state.refs_of(id) {
        state.refs.remove(&r);
        records.push(DeleteRecord::Untagged(r.familiar()));
    }
}

/// A reason not to delete, and whether it is a container's use.
#[derive(Debug)]
struct Conflict {
    error: ImageError,
    used: bool,
}

/// Docker's `checkImageDeleteConflict`: hard conflicts (child images,
/// running containers) always; soft ones (tags, stopped containers)
/// unless `force`.
fn check_conflict(
    state: &State,
    id: &Digest,
    force: bool,
    users: &dyn ImageUsers,
) -> Result<(), Conflict> {
    if !state.children(id).is_empty() {
        return Err(Conflict {
            error: conflict(id, true, "image has dependent child images"),
            used: false,
        });
    }
    let using = users.users_of(id);
    if let Some(user) = using.iter().find(|u| u.running) {
        let message = format!(
            "image is being used by running container {}",
            short_container(&user.container)
        );
        return Err(Conflict {
            error: conflict(id, true, &message),
            used: true,
        });
    }
    if force {
        return Ok(());
    }
    if !state.refs_of(id).is_empty() {
        return Err(Conflict {
            error: conflict(id, false, "image is referenced in multiple repositories"),
            used: false,
        });
    }
    if let Some(user) = using.first() {
        let message = format!(
            "image is being used by stopped container {}",
            short_container(&user.container)
        );
        return Err(Conflict {
            error: conflict(id, false, &message),
            used: true,
        });
    }
    Ok(())
}

/// Docker's `isImageIDPrefix`: whether `text` names the image by id or
/// id prefix (with or without `sha256:`) rather than by tag.
fn is_id_prefix(id: &Digest, text: &str) -> bool {
    id.to_string().starts_with(text) || id.hex().starts_with(text)
}

/// A container id cut to 12 characters.
fn short_container(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::image::state::ImageEntry;

    struct Users(BTreeMap<Digest, Vec<ImageUse>>);

    impl ImageUsers for Users {
        fn users_of(&self, id: &Digest) -> Vec<ImageUse> {
            self.0.get(id).cloned().unwrap_or_default()
        }
    }

    fn entry() -> ImageEntry {
        ImageEntry {
            manifest: Digest::of(b"m"),
            manifest_size: 1,
            parent: None,
            last_tag_time: None,
        }
    }

    fn state(tags: &[&str]) -> (State, Digest) {
        let id = Digest::of(b"img");
        let mut s = State::default();
        s.images.insert(id, entry());
        for t in tags {
            s.tag(Reference::parse_tagged(t).unwrap(), id, "t");
        }
        (s, id)
    }

    fn lines(records: &[DeleteRecord]) -> Vec<String> {
        records.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn untagging_one_of_two_tags_keeps_the_image() {
        let (mut s, id) = state(&["a", "b:1"]);
        let (records, deleted) = delete(&mut s, "a", false, &NoContainers).unwrap();
        assert_eq!(lines(&records), ["Untagged: a:latest"]);
        assert_eq!(deleted, None);
        assert!(s.images.contains_key(&id));
    }

    #[test]
    fn untagging_the_last_tag_deletes_the_image() {
        let (mut s, id) = state(&["a"]);
        let (records, deleted) = delete(&mut s, "a:latest", false, &NoContainers).unwrap();
        assert_eq!(
            lines(&records),
            ["Untagged: a:latest".to_owned(), format!("Deleted: {id}")]
        );
        assert_eq!(deleted, Some(id));
        assert!(s.images.is_empty() && s.refs.is_empty());
    }

    #[test]
    fn by_id_several_tags_need_force() {
        let (mut s, id) = state(&["a", "b"]);
        let err = delete(&mut s, &id.hex()[..12], false, &NoContainers).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                short(&id)
            )
        );
        let (records, _) = delete(&mut s, &id.hex()[..12], true, &NoContainers).unwrap();
        assert_eq!(
            lines(&records),
            [
                "Untagged: a:latest".to_owned(),
                "Untagged: b:latest".to_owned(),
                format!("Deleted: {id}")
            ]
        );
    }

    #[test]
    fn by_id_one_tag_goes_with_the_image() {
        let (mut s, id) = state(&["a"]);
        let (records, _) = delete(&mut s, &id.to_string(), false, &NoContainers).unwrap();
        assert_eq!(
            lines(&records),
            ["Untagged: a:latest".to_owned(), format!("Deleted: {id}")]
        );
    }

    #[test]
    fn containers_block_deletes_as_in_docker() {
        let (mut s, id) = state(&["a"]);
        let stopped = Users(BTreeMap::from([(
            id,
            vec![ImageUse {
                container: "c0ffee0123456789".to_owned(),
                running: false,
            }],
        )]));
        let err = delete(&mut s, "a", false, &stopped).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to remove repository reference \"a\" (must force) - container c0ffee012345 is using its referenced image {}",
                short(&id)
            )
        );
        let (records, deleted) = delete(&mut s.clone(), "a", true, &stopped).unwrap();
        assert_eq!(deleted, Some(id));
        assert_eq!(records.len(), 2);
        let running = Users(BTreeMap::from([(
            id,
            vec![ImageUse {
                container: "c0ffee0123456789".to_owned(),
                running: true,
            }],
        )]));
        let err = delete(&mut s, &id.hex(), true, &running).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "(cannot be forced) - image is being used by running container c0ffee012345"
            ),
            "{err}"
        );
        // A forced untag of a running image's last tag leaves it dangling.
        let (records, deleted) = delete(&mut s, "a", true, &running).unwrap();
        assert_eq!(
            (lines(&records), deleted),
            (vec!["Untagged: a:latest".to_owned()], None)
        );
        assert!(s.images.contains_key(&id));
    }

    #[test]
    fn unknown_images_are_not_found() {
        let (mut s, _) = state(&["a"]);
        let err = delete(&mut s, "nope", false, &NoContainers).unwrap_err();
        assert_eq!(err.to_string(), "No such image: nope:latest");
    }
}
