//! Volumes as Docker's `local` driver keeps them: a directory per volume
//! under `<root>/volumes/<name>/`, its data in `_data` (what containers
//! mount) and berth's record of it beside it (created time, labels,
//! options; anonymous volumes carry Docker's `com.docker.volume.anonymous`
//! label). [`store`] reads and changes them, [`users`] tells which
//! containers use which volumes, images and layers, [`for_container`]
//! makes and removes a container's volumes, [`filter`] holds the
//! listing and prune filters, [`mount`] the driver's `type`/`device`/`o`
//! options, [`size`] the disk usage of a directory tree.

pub mod error;
pub mod filter;
pub mod for_container;
pub mod mount;
pub mod record;
pub mod size;
pub mod store;
pub mod users;

pub use self::error::{Result, VolumeError};
pub use self::for_container::{for_mount, remove_anonymous};
pub use self::record::{ANONYMOUS_LABEL, LOCAL_DRIVER, Volume, VolumeMeta};
pub use self::store::Volumes;
pub use self::users::ContainerUse;
