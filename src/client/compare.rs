//! "Ask several" in the browser: the attempts a draft is set up with, asking them all at
//! once, a follow-up to every attempt, and keeping one.

use super::actions::{self, transport};
use super::changes::GitOp;
use super::ids::new_uuid;
use super::requests::Request;
use super::Store;
use crate::protocol::{
    AgentId, Attempt, ClientFrame, ClientMsgId, CompareId, SessionId, WorktreeEnd, MAX_ATTEMPTS,
    MIN_ATTEMPTS,
};
use leptos::prelude::*;

/// One attempt as set up in the draft.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptDraft {
    /// Its agent.
    pub agent: AgentId,
    /// Its model as typed (blank: the agent's default).
    pub model: String,
    /// Its permission mode (`None`: the agent's default).
    pub mode: Option<String>,
}

impl AttemptDraft {
    /// An attempt of `agent` with its defaults.
    pub fn of(agent: AgentId) -> AttemptDraft {
        AttemptDraft {
            agent,
            model: String::new(),
            mode: None,
        }
    }
}

/// "Ask several" was refused: says why, and puts the prompt back in a new draft of its
/// project (the draft it was typed in closed when it was asked).
pub fn ask_refused(
    store: Store,
    project: crate::protocol::ProjectId,
    text: String,
    attachments: Vec<crate::protocol::Attachment>,
    why: String,
) {
    let draft = super::projects::new_draft_in(store, Some(project));
    if let Some(view) = store.view(draft) {
        view.draft_text.set(text);
        view.draft_attachments.set(attachments);
    }
    store.toast.set(Some(format!(
        "Not asked: {why} Your prompt is back in a new draft tab."
    )));
}

/// The path of a comparison's view.
pub fn compare_path(id: CompareId) -> String {
    format!("/c/{id}")
}

/// Asks the draft's prompt of every attempt (each a new session in its own worktree of the
/// draft's project) and closes the draft. Returns the comparison, or why not.
pub fn ask_several(
    store: Store,
    draft: SessionId,
    attempts: &[AttemptDraft],
) -> Result<CompareId, String> {
    let view = store.view(draft).ok_or("The draft is gone.")?;
    if !(MIN_ATTEMPTS..=MAX_ATTEMPTS).contains(&attempts.len()) {
        return Err(format!("Ask {MIN_ATTEMPTS} to {MAX_ATTEMPTS} attempts."));
    }
    let text = view.draft_text.get_untracked();
    let attachments = view.draft_attachments.get_untracked();
    if text.trim().is_empty() && attachments.is_empty() {
        return Err("Type the task first.".into());
    }
    let (project, _, base_branch) = super::projects::draft_place(&store, &view);
    let project = project.ok_or("Pick a project (a git repository) first.")?;
    let compare = CompareId(new_uuid());
    let attempts: Vec<Attempt> = attempts
        .iter()
        .map(|a| Attempt {
            session: SessionId(new_uuid()),
            agent: a.agent.clone(),
            model: Some(a.model.trim().to_owned()).filter(|m| !m.is_empty()),
            permission_mode: a.mode.clone(),
        })
        .collect();
    let tag = Some(store.open_request(Request::Compare {
        project,
        text: text.clone(),
        attachments: attachments.clone(),
    }));
    transport::send(ClientFrame::AskSeveral {
        compare,
        project,
        base_branch,
        attempts,
        text,
        attachments,
        client_msg_id: ClientMsgId(new_uuid()),
        tag,
    });
    view.draft_text.set(String::new());
    view.draft_attachments.set(Vec::new());
    actions::close_tab(store, draft);
    Ok(compare)
}

/// Sends `text` to every attempt, as a message each.
pub fn follow_up_all(store: Store, attempts: &[SessionId], text: &str) {
    // Each attempt's own composer keeps what was typed there.
    for id in attempts {
        actions::send_text(store, *id, text.to_owned(), Vec::new());
    }
}

/// "Keep this one": merge `kept` and end the other attempts as `others` says. The result
/// shows as the kept session's merge result.
pub fn keep(store: Store, compare: CompareId, kept: SessionId, others: WorktreeEnd) {
    if let Some(view) = store.view(kept) {
        view.changes.busy.set(Some(GitOp::Merge));
        view.changes.result.set(None);
    }
    let tag = Some(store.open_request(Request::Git {
        session: kept,
        op: GitOp::Merge,
    }));
    transport::send(ClientFrame::KeepAttempt {
        compare,
        session: kept,
        others,
        tag,
    });
}

/// The attempts of `compare` among the store's sessions, oldest first.
pub fn attempts_of(store: Store, compare: CompareId) -> Vec<SessionId> {
    let mut found: Vec<(i64, SessionId)> = store.sessions.with(|list| {
        list.iter()
            .filter_map(|view| {
                view.meta
                    .with(|m| (m.compare == Some(compare)).then_some((m.created_at_ms, m.id)))
            })
            .collect()
    });
    found.sort();
    found.into_iter().map(|(_, id)| id).collect()
}

/// A row of a project's session list: a session, or the header of a comparison whose
/// attempts follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListRow {
    /// A comparison's header (its attempts come next, as `Attempt` rows).
    Compare(CompareId),
    /// A session of no comparison.
    Session(SessionId),
    /// An attempt, under its comparison's header.
    Attempt(SessionId),
}

/// Nests attempts under their comparison: where a comparison's first attempt would be,
/// its header, then all its attempts in list order; other sessions stay where they are.
pub fn nest(
    ids: &[SessionId],
    compare_of: impl Fn(SessionId) -> Option<CompareId>,
) -> Vec<ListRow> {
    let compares: Vec<Option<CompareId>> = ids.iter().map(|id| compare_of(*id)).collect();
    let mut rows = Vec::with_capacity(ids.len());
    let mut placed = std::collections::HashSet::new();
    for (index, id) in ids.iter().enumerate() {
        match compares[index] {
            None => rows.push(ListRow::Session(*id)),
            Some(compare) if placed.insert(compare) => {
                rows.push(ListRow::Compare(compare));
                rows.extend(
                    ids.iter()
                        .zip(&compares)
                        .filter(|(_, c)| **c == Some(compare))
                        .map(|(id, _)| ListRow::Attempt(*id)),
                );
            }
            Some(_) => {}
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_follow_their_comparisons_header_where_the_first_one_was() {
        let id = |n: u128| SessionId(uuid::Uuid::from_u128(n));
        let c = CompareId(uuid::Uuid::from_u128(100));
        let compare_of = |s: SessionId| (s == id(2) || s == id(4)).then_some(c);
        let rows = nest(&[id(1), id(2), id(3), id(4)], compare_of);
        assert_eq!(
            rows,
            vec![
                ListRow::Session(id(1)),
                ListRow::Compare(c),
                ListRow::Attempt(id(2)),
                ListRow::Attempt(id(4)),
                ListRow::Session(id(3)),
            ]
        );
        assert!(nest(&[], compare_of).is_empty());
    }
}
