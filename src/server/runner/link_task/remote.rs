//! A link to another machine's runner: its connections come from the server's HTTP
//! handler, not from dialling, and when it is out of contact for too long the link tells
//! the sessions of its agents (and again when it is back).

use super::*;

/// A link to another machine's runner, which dials the server (the HTTP handler hands each
/// of its connections to the link) and may be out of contact for a while.
pub(in crate::server::runner) struct Remote {
    /// The machine's name, for its sessions' state.
    pub(in crate::server::runner) machine: String,
    /// How long the runner may be out of contact before its sessions are told.
    pub(in crate::server::runner) unreachable_after: Duration,
    /// Each new connection from the runner.
    pub(in crate::server::runner) streams: mpsc::UnboundedReceiver<RunnerStream>,
}

impl LinkTask {
    /// Tells every session of this link's agents that the runner is out of contact, or
    /// back, when that changed.
    pub(super) async fn set_unreachable(&mut self, unreachable: bool) {
        let Some(remote) = &self.remote else {
            return;
        };
        {
            let mut shared = lock(&self.shared);
            if shared.unreachable == unreachable {
                return;
            }
            shared.unreachable = unreachable;
        }
        if unreachable {
            tracing::warn!(machine = %remote.machine, "the machine's runner is out of contact");
        } else {
            tracing::info!(machine = %remote.machine, "the machine's runner is back");
        }
        for route in self.routes.values() {
            let _ = route
                .outputs
                .send(contact(&remote.machine, unreachable))
                .await;
        }
    }

    /// A session that starts or takes an agent while the runner is out of contact hears so
    /// at once.
    pub(super) fn tell_if_unreachable(&self, route: &NewRoute) {
        let unreachable = lock(&self.shared).unreachable;
        if let Some(remote) = self.remote.as_ref().filter(|_| unreachable) {
            // A new route's queue is empty, so this fits.
            let _ = route.outputs.try_send(contact(&remote.machine, true));
        }
    }
}

/// The next connection another machine's runner made; never, for this host's runner.
pub(super) async fn next_stream(remote: &mut Option<Remote>) -> RunnerStream {
    match remote {
        Some(remote) => match remote.streams.recv().await {
            Some(stream) => stream,
            // The machine's link is being dropped, and this task with it.
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// What a session hears when its machine's runner goes out of contact, or comes back.
pub(super) fn contact(machine: &str, unreachable: bool) -> Numbered {
    let output = if unreachable {
        AgentOutput::Unreachable {
            machine: machine.to_owned(),
        }
    } else {
        AgentOutput::Reachable
    };
    Numbered { seq: 0, output }
}
