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
    let tag = Some(store.open_request(Request::Project));
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

/// Sends `text` to every attempt as if typed in each one's composer.
pub fn follow_up_all(store: Store, attempts: &[SessionId], text: &str) {
    for id in attempts {
        if let Some(view) = store.view(*id) {
            view.draft_text.set(text.to_owned());
            actions::send_message(store, *id);
        }
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
