//! Paged transcripts: the last turns first, earlier pages put in front on request.

use super::*;
use crate::client::actions;
use crate::client::history::has_earlier;
use crate::client::store::SendStatus;
use crate::protocol::{ClientMsgId, LoggedEvent};

fn user(n: u64, text: &str) -> SessionEvent {
    SessionEvent::UserMessage {
        client_msg_id: ClientMsgId(uuid::Uuid::from_u128(u128::from(n))),
        text: text.into(),
        attachments: vec![],
    }
}

/// One whole turn from `seq`: the prompt, a tool call and its result, a reply.
fn turn(seq: u64, n: u64) -> Vec<LoggedEvent> {
    let call = format!("call-{n}");
    [
        user(n, &format!("question {n}")),
        SessionEvent::ToolCall {
            id: call.clone(),
            name: "Bash".into(),
            title: "ls".into(),
            input: serde_json::json!({"command": "ls"}),
        },
        SessionEvent::ToolResult {
            id: call,
            output: "a.txt".into(),
            is_error: false,
            duration_ms: None,
        },
        delta(&format!("m{n}"), &format!("answer {n}")),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, event)| LoggedEvent {
        seq: Seq(seq + i as u64),
        event,
    })
    .collect()
}

fn texts(store: &Store) -> Vec<String> {
    view(store, 1).entries.with_untracked(|entries| {
        entries
            .iter()
            .map(|entry| match &entry.body {
                EntryBody::User { text, .. } => text.clone(),
                EntryBody::Assistant { text, .. } => text.get_untracked(),
                EntryBody::Tool { status, .. } => format!("tool {:?}", status.get_untracked()),
                other => format!("{other:?}"),
            })
            .collect()
    })
}

/// A session whose log holds turns 1 to 3 (seqs 1..=12), opened with only turn 3 (seqs
/// 9..=12) as its first page.
fn opened_at_turn_3() -> Store {
    let store = connected(1);
    apply(
        &store,
        ServerFrame::HistoryStart {
            session: sid(1),
            first_seq: Seq(9),
            events: turn(9, 3),
        },
    );
    store
}

#[test]
fn an_earlier_page_goes_in_front_and_whole() {
    let store = opened_at_turn_3();
    assert!(has_earlier(&view(&store, 1)));
    assert_eq!(texts(&store)[0], "question 3");

    let page: Vec<LoggedEvent> = turn(1, 1).into_iter().chain(turn(5, 2)).collect();
    apply(
        &store,
        ServerFrame::Earlier {
            session: sid(1),
            before: Seq(9),
            first_seq: Seq(1),
            events: page.clone(),
            error: None,
        },
    );
    let all = texts(&store);
    assert_eq!(all.len(), 9, "{all:?}");
    assert_eq!(all[0], "question 1");
    assert_eq!(
        all[1], "tool Ok",
        "a result in the page finds its call there"
    );
    assert_eq!(all[3], "question 2");
    assert_eq!(all[6], "question 3");
    assert!(!has_earlier(&view(&store, 1)));
    // Live events still apply after the seqs the view holds, and an old page is not
    // applied twice.
    event(&store, 1, 13, delta("m3", " more"));
    apply(
        &store,
        ServerFrame::Earlier {
            session: sid(1),
            before: Seq(9),
            first_seq: Seq(1),
            events: page,
            error: None,
        },
    );
    let all = texts(&store);
    assert_eq!(all.len(), 9);
    assert_eq!(all[8], "answer 3 more");
    assert_eq!(
        view(&store, 1).entries.with_untracked(|e| e[2].key),
        4,
        "rows keep their seqs as keys"
    );
}

#[test]
fn history_start_is_ignored_by_a_view_that_holds_events() {
    let store = connected(1);
    event(&store, 1, 1, user(1, "hi"));
    apply(
        &store,
        ServerFrame::HistoryStart {
            session: sid(1),
            first_seq: Seq(40),
            events: vec![],
        },
    );
    assert!(!has_earlier(&view(&store, 1)));
}

#[test]
fn a_page_that_could_not_be_read_changes_nothing_and_can_be_asked_for_again() {
    let store = opened_at_turn_3();
    actions::show(store, Some(sid(1)));
    let view = view(&store, 1);
    // A message on its way while the reader scrolls up.
    view.draft_text.set("still sending".into());
    assert!(actions::send_message(store, sid(1)));
    let before = texts(&store);
    view.loading_earlier.set(true);
    apply(
        &store,
        ServerFrame::Earlier {
            session: sid(1),
            before: Seq(9),
            first_seq: Seq(9),
            events: vec![],
            error: Some("the session's log could not be read".into()),
        },
    );
    assert!(
        !view.loading_earlier.get_untracked(),
        "the next scroll asks again"
    );
    assert!(has_earlier(&view), "the log before is still there to fetch");
    assert_eq!(texts(&store), before, "no row added or removed");
    let pending = view.entries.with_untracked(|entries| {
        entries.iter().any(|e| {
            matches!(&e.body, EntryBody::User { status, .. }
                if status.get_untracked() == SendStatus::Pending)
        })
    });
    assert!(pending, "the message on its way is not failed by it");
    assert!(store
        .toast
        .get_untracked()
        .is_some_and(|t| t.contains("could not be loaded")));
}

#[test]
fn the_pane_waits_for_history_only_when_there_is_some_to_wait_for() {
    let store = connected(1);
    // The session has messages on the server, none here yet: nothing to show.
    patch(&store, 1, count_patch(4));
    assert!(!view(&store, 1).has_history());
    // Its first page arrived (even one with no events): show it.
    apply(
        &store,
        ServerFrame::HistoryStart {
            session: sid(1),
            first_seq: Seq(1),
            events: vec![],
        },
    );
    assert!(view(&store, 1).has_history());

    // A session without messages has nothing to wait for.
    let empty = connected(2);
    assert!(view(&empty, 2).has_history());
}
