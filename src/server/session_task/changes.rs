//! Counting what the session changed in its folder, for the header: debounced after tool
//! results, turn ends and git actions, run beside the task (git may take a while on a big
//! repository) and published as a `changes` patch when the figures moved.

use super::SessionTask;
use crate::protocol::{ChangeCount, SessionPatch};
use crate::server::workspace;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long after the first trigger the count starts: a burst of tool results costs one
/// count.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// When the next count starts and the one running.
#[derive(Default)]
pub(super) struct Counting {
    /// Set while a count is due.
    due: Option<Instant>,
    /// The count under way (`None` inside: nothing to count or git failed).
    running: Option<JoinHandle<Option<ChangeCount>>>,
    /// A trigger came while a count ran: count again after it.
    again: bool,
}

impl Counting {
    /// Asks for a count soon; triggers within the debounce share it.
    pub(super) fn soon(&mut self) {
        if self.running.is_some() {
            self.again = true;
        } else if self.due.is_none() {
            self.due = Some(Instant::now() + DEBOUNCE);
        }
    }

    /// When the due count starts.
    pub(super) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The running count's figures, when it ends (pending when none runs).
    pub(super) async fn result(&mut self) -> Option<ChangeCount> {
        let Some(running) = self.running.as_mut() else {
            return std::future::pending().await;
        };
        let count = running.await.ok().flatten();
        self.running = None;
        if std::mem::take(&mut self.again) {
            self.due = Some(Instant::now() + DEBOUNCE);
        }
        count
    }
}

impl SessionTask {
    /// Starts the due count beside the task, when the session is in a git repository.
    pub(super) fn start_count(&mut self) {
        self.counting.due = None;
        let Some(git) = self.projects.git().cloned() else {
            return;
        };
        let is_git = self
            .session
            .project
            .and_then(|id| self.projects.get(id).ok())
            .is_some_and(|project| project.is_git);
        let Some(target) = workspace::change_target(&self.session, is_git) else {
            return;
        };
        let session = self.session.id;
        self.counting.running = Some(tokio::spawn(async move {
            match workspace::count(&git, &target).await {
                Ok(count) => Some(count),
                Err(e) => {
                    tracing::debug!(%session, error = %e, "cannot count changes");
                    None
                }
            }
        }));
    }

    /// A count ended: publish its figures when they moved.
    pub(super) async fn counted(&mut self, count: Option<ChangeCount>) {
        if let Some(count) = count.filter(|count| self.session.changes != Some(*count)) {
            self.publish(SessionPatch {
                changes: Some(count),
                ..SessionPatch::default()
            })
            .await;
        }
    }
}
