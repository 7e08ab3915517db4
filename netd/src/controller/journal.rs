//! Rollback that cannot be forgotten: each step of an operation that
//! changes something outside the controller's memory records how to undo
//! itself in a [`Journal`], and [`Controller::settle`] runs the undo steps,
//! newest first, unless the operation succeeded.
//!
//! The steps that record themselves are the controller's own helpers
//! (`allocate_addresses`, `reserve_ports`, `firewall_journaled`, …): a
//! caller cannot make the change without the journal that undoes it.

use std::path::PathBuf;

use drivers::firewall::Change as FirewallChange;
use ipam::{NetworkAllocation, PoolState};
use tracing::warn;

use super::Controller;
use crate::error::NetdError;
use crate::model::Network;

/// How to undo one step.
#[derive(Debug)]
pub(crate) enum Undo {
    /// Put an IPAM pool back as it was before an address was allocated or
    /// released in it (its cursor included).
    Pool(PoolState),
    /// Release a network's subnet allocation.
    Allocation(NetworkAllocation),
    /// Drop the host ports held for an endpoint.
    Ports { endpoint: String },
    /// Remove a namespace made for a sandbox.
    Netns(PathBuf),
    /// Remove a sandbox's file directory.
    Dir(PathBuf),
    /// Delete a bridge made for a network.
    Bridge(String),
    /// Delete an endpoint's veth pair.
    Veth(String),
    /// Apply the batch that reverses one applied.
    Firewall(FirewallChange),
    /// Point the sandbox's default route back at its gateway endpoint (as
    /// the committed state has it).
    DefaultRoute { sandbox: String },
    /// Render the sandbox's files again from the committed state.
    Files { sandbox: String },
    /// Make a retired network's bridge again.
    Network(Box<Network>),
}

/// The undo steps of one operation in progress.
#[derive(Debug, Default)]
#[must_use = "settle the journal: its undo steps run unless the operation succeeded"]
pub(crate) struct Journal {
    steps: Vec<Undo>,
}

impl Journal {
    /// Records how to undo the step just taken.
    pub(crate) fn push(&mut self, undo: Undo) {
        self.steps.push(undo);
    }

    /// The recorded steps, newest first.
    fn take(&mut self) -> Vec<Undo> {
        let mut steps = std::mem::take(&mut self.steps);
        steps.reverse();
        steps
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if !self.steps.is_empty() && !std::thread::panicking() {
            // A journal dropped with steps was never settled: a bug, and
            // in tests a failure.
            warn!(
                steps = self.steps.len(),
                "an operation's journal was dropped unsettled"
            );
            debug_assert!(false, "unsettled journal: {:?}", self.steps);
        }
    }
}

impl Controller {
    /// Ends an operation: on success forgets its undo steps, on failure runs
    /// them (newest first) and returns the error.
    pub(crate) async fn settle<T>(
        &mut self,
        mut journal: Journal,
        result: Result<T, NetdError>,
    ) -> Result<T, NetdError> {
        let steps = journal.take();
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                for step in steps {
                    self.undo(step).await;
                }
                Err(e)
            }
        }
    }

    /// [`Controller::settle`] for synchronous operations, whose journals
    /// hold only steps that undo without waiting (addresses, ports,
    /// firewall batches, files).
    pub(crate) fn settle_now<T>(
        &mut self,
        mut journal: Journal,
        result: Result<T, NetdError>,
    ) -> Result<T, NetdError> {
        let steps = journal.take();
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                for step in steps {
                    self.undo_now(step);
                }
                Err(e)
            }
        }
    }

    /// Runs one undo step; a failure is logged (the next start reconciles
    /// what a failed undo leaves).
    async fn undo(&mut self, step: Undo) {
        let what = format!("{step:?}");
        let failed = match step {
            Undo::Bridge(name) => self
                .kernel
                .delete_bridge(&name)
                .await
                .err()
                .map(NetdError::from),
            Undo::Veth(name) => self.kernel.leave(&name).await.err().map(NetdError::from),
            Undo::DefaultRoute { sandbox } => self.restore_default_route(&sandbox).await.err(),
            Undo::Network(n) => self.program_network(&n).await.err(),
            other => {
                self.undo_now(other);
                None
            }
        };
        if let Some(e) = failed {
            warn!(step = %what, error = %e.chain(), "an undo step failed; the next start reconciles");
        }
    }

    /// Runs one undo step that needs no waiting; a failure is logged. The
    /// steps that wait (links, routes) cannot be undone here: they are
    /// logged as left for the next start.
    fn undo_now(&mut self, step: Undo) {
        let what = format!("{step:?}");
        let failed = match step {
            Undo::Pool(state) => self
                .ipam
                .restore_pool_state(&state)
                .err()
                .map(NetdError::from),
            Undo::Allocation(a) => self.ipam.release_network(&a).err().map(NetdError::from),
            Undo::Ports { endpoint } => {
                self.reservations.remove(&endpoint);
                None
            }
            Undo::Netns(path) => self.kernel.remove_netns(&path).err().map(NetdError::from),
            Undo::Dir(path) => self.kernel.remove_dir(&path).err().map(NetdError::from),
            Undo::Firewall(change) => self
                .kernel
                .apply_firewall(change)
                .err()
                .map(NetdError::from),
            Undo::Files { sandbox } => self.rerender(&sandbox).err(),
            Undo::Bridge(_) | Undo::Veth(_) | Undo::DefaultRoute { .. } | Undo::Network(_) => {
                Some(NetdError::internal(
                    "a kernel step that needs waiting cannot be undone synchronously",
                ))
            }
        };
        if let Some(e) = failed {
            warn!(step = %what, error = %e.chain(), "an undo step failed; the next start reconciles");
        }
    }

    /// A pool's state before a step changes it, for [`Undo::Pool`].
    pub(crate) fn pool_before(&self, pool: &ipam::PoolId) -> Result<PoolState, NetdError> {
        self.ipam
            .pool_state(pool)
            .ok_or_else(|| NetdError::internal(format!("pool {pool} is not allocated")))
    }

    /// Renders a sandbox's files from the committed state (if it still
    /// exists).
    fn rerender(&self, sandbox: &str) -> Result<(), NetdError> {
        let Some(s) = self.sandboxes.get(sandbox) else {
            return Ok(());
        };
        let eps = self.sandbox_endpoints(sandbox);
        self.render_files(s, &eps)
    }
}
