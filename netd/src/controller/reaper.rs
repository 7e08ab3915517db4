//! Deleting retired links off the request path.
//!
//! Destroying a network device costs the kernel tens of milliseconds of
//! synchronisation, during which it serialises other link changes. So netd
//! takes links out of service at once (down, detached, renamed, moved into
//! the [`GRAVEYARD_GROUP`] device group) and deletes the whole group in one
//! request once the API has been quiet for a moment (or at the latest a
//! couple of seconds after the first retirement): one synchronisation for
//! many links, none on a caller's critical path. A crash before the
//! deletion leaves the group for the next start, which deletes it first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use drivers::Links;
use drivers::bridge::GRAVEYARD_GROUP;
use tokio::sync::Notify;

/// How long the API must be idle before the graveyard is emptied.
const QUIET: Duration = Duration::from_millis(50);
/// The longest a retired link waits while the API stays busy.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// A handle on the background deleter.
#[derive(Debug, Clone)]
pub(crate) struct Reaper {
    pending: Arc<Notify>,
    /// Milliseconds since `epoch` of the last API change.
    activity: Arc<AtomicU64>,
    epoch: Instant,
}

impl Reaper {
    /// Starts the deleter on the current runtime.
    pub(crate) fn spawn(host: Links) -> Self {
        let r = Self {
            pending: Arc::new(Notify::new()),
            activity: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
        };
        let me = r.clone();
        tokio::spawn(async move {
            loop {
                me.pending.notified().await;
                let first = Instant::now();
                loop {
                    tokio::time::sleep(QUIET).await;
                    if me.idle_for() >= QUIET || first.elapsed() >= MAX_DELAY {
                        break;
                    }
                }
                match host.delete_group(GRAVEYARD_GROUP).await {
                    Ok(()) => tracing::debug!(
                        waited_ms = first.elapsed().as_millis(),
                        "retired links deleted"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not delete retired links; the next start will")
                    }
                }
            }
        });
        r
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn idle_for(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.activity.load(Ordering::Relaxed)),
        )
    }

    /// Records API activity, which postpones the deletion.
    pub(crate) fn touch(&self) {
        self.activity.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Says that links were moved to the graveyard.
    pub(crate) fn reap(&self) {
        self.touch();
        self.pending.notify_one();
    }
}
