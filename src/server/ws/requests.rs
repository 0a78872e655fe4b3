//! The socket's requests that answer with more than an acknowledgement: a search, a
//! session's changes and git actions, and "Ask several" (which subscribes this socket to
//! every attempt it made).

use super::SocketRoutes;
use crate::protocol::{ErrorCode, GitOutcome, RequestTag, Seq, ServerFrame, SessionId};
use crate::server::registry::{AskSeveral, ServiceError};

impl SocketRoutes {
    /// Answers a search over every transcript; a query that cannot be read gets a
    /// `bad_query` error naming why.
    pub(super) async fn search(
        &self,
        query: crate::protocol::SearchQuery,
        tag: Option<RequestTag>,
    ) -> Result<(), ServiceError> {
        use crate::server::db::search::SearchError;
        match self.registry.db().search(&query).await {
            Ok((groups, more)) => {
                self.send(ServerFrame::SearchResults {
                    tag,
                    groups: groups.into(),
                    more,
                })
                .await;
                Ok(())
            }
            Err(SearchError::BadQuery(why)) => {
                self.error(None, tag, ErrorCode::BadQuery, why).await;
                Ok(())
            }
            Err(SearchError::Db(e)) => Err(e.into()),
        }
    }

    /// Sends the session's changes to this socket.
    pub(super) async fn send_changes(&self, session: SessionId) -> Result<(), ServiceError> {
        let summary = self.registry.changes(session).await?;
        self.send(ServerFrame::Changes {
            session,
            summary: summary.into(),
        })
        .await;
        Ok(())
    }

    /// Sends the changes as they are after a commit, discard or merge, then its answer: a
    /// page that shows "committed" already holds the summary that follows from it (the End
    /// dialog, opened right after, counts the new commit as unmerged).
    pub(super) async fn git_done(
        &self,
        session: SessionId,
        tag: Option<RequestTag>,
        outcome: Result<GitOutcome, ServiceError>,
    ) -> Result<(), ServiceError> {
        let outcome = outcome?;
        let changes = self.send_changes(session).await;
        self.send(ServerFrame::GitDone {
            session,
            tag,
            outcome: outcome.into(),
        })
        .await;
        // The operation was done either way; an unreadable summary is said after its answer.
        changes
    }

    /// Asks every attempt, then follows each one it made (also when a later one failed: the
    /// ones made are sessions like any).
    pub(super) async fn ask_several(&mut self, ask: AskSeveral) -> Result<(), ServiceError> {
        let ids: Vec<SessionId> = ask.attempts.iter().map(|a| a.session).collect();
        let registry = std::sync::Arc::clone(&self.registry);
        let asked = registry.ask_several(ask).await;
        for id in ids
            .into_iter()
            .filter(|id| registry.check_known(*id).is_ok())
        {
            if !self.subscriptions.contains_key(&id) {
                self.subscribe(id, Seq(0), None)?;
            }
        }
        asked
    }
}
