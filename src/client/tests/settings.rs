//! The composer's settings: permission mode (drafts and live sessions), a draft's model,
//! and the conversation-reset banner.

use super::*;
use crate::client::actions;
use crate::protocol::{ErrorCode, SessionEvent, SessionPatch};
use leptos::prelude::*;

#[test]
fn a_draft_keeps_its_mode_and_model_locally() {
    let store = connected(0);
    let id = actions::new_draft(store);
    actions::set_draft_agent(store, id, AgentId::claude());
    actions::set_permission_mode(store, id, "plan".into());
    actions::set_draft_model(store, id, "opus ".into());
    let meta = store.view(id).expect("draft").meta.get_untracked();
    assert_eq!(meta.permission_mode, "plan");
    assert_eq!(
        meta.model.as_deref(),
        Some("opus "),
        "kept as typed; trimmed when sent"
    );
    actions::set_draft_model(store, id, "  ".into());
    assert_eq!(
        store.view(id).expect("draft").meta.get_untracked().model,
        None
    );

    actions::set_draft_agent(store, id, AgentId::demo());
    assert_eq!(
        store
            .view(id)
            .expect("draft")
            .meta
            .get_untracked()
            .permission_mode,
        "default",
        "a new agent starts from its default mode"
    );
}

#[test]
fn a_live_session_changes_mode_only_when_the_server_says_so() {
    let store = connected(1);
    actions::set_permission_mode(store, sid(1), "bypassPermissions".into());
    assert_eq!(
        view(&store, 1).meta.get_untracked().permission_mode,
        "default",
        "the server's patch decides"
    );
    actions::set_draft_model(store, sid(1), "opus".into());
    assert_eq!(
        view(&store, 1).meta.get_untracked().model,
        None,
        "fixed after creation"
    );

    patch(
        &store,
        1,
        SessionPatch {
            permission_mode: Some("bypassPermissions".into()),
            ..SessionPatch::default()
        },
    );
    event(
        &store,
        1,
        1,
        SessionEvent::PermissionModeChanged {
            mode: "bypassPermissions".into(),
        },
    );
    assert_eq!(
        view(&store, 1).meta.get_untracked().permission_mode,
        "bypassPermissions"
    );
    assert_eq!(len(&store, 1), 1, "a notice row says so");
}

#[test]
fn a_refusal_makes_the_settings_show_the_truth_again() {
    let store = connected(1);
    let meta = view(&store, 1).meta;
    // Stands in for the select's `prop:value`, which re-reads the meta when notified: a
    // memo recomputes (counting) each time its source changed.
    let reads = ArcMemo::new(move |previous: Option<&u32>| {
        meta.track();
        previous.map_or(0, |n| n + 1)
    });
    actions::set_permission_mode(store, sid(1), "plan".into());
    let before = reads.get_untracked();
    apply(
        &store,
        ServerFrame::Error {
            session: Some(sid(1)),
            code: ErrorCode::InvalidState,
            message: "no such mode".into(),
            // The mode change: a fresh store's first request.
            tag: Some(crate::protocol::RequestTag(1)),
        },
    );
    assert!(reads.get_untracked() > before, "the meta was notified");
}

#[test]
fn the_reset_banner_shows_for_new_resets_until_dismissed() {
    let store = connected(1);
    event(
        &store,
        1,
        1,
        SessionEvent::ConversationReset {
            reason: "session file missing".into(),
        },
    );
    let reset = view(&store, 1).conversation_reset;
    assert_eq!(
        reset.get_untracked().as_deref(),
        Some("session file missing")
    );
    actions::dismiss_conversation_reset(store, sid(1));
    assert_eq!(reset.get_untracked(), None);
    assert_eq!(len(&store, 1), 1, "the notice row stays");
}
