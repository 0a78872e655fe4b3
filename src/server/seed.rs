//! `switchboard seed-transcript`: writes one long, realistic demo session straight into a
//! data dir's database (before the server starts), so the long-transcript benchmark and its
//! browser test open a 10,000-entry session without running 2,500 agent turns first.

use super::db::{Db, DbError};
use crate::protocol::{
    AgentId, ClientMsgId, EntryCounter, Seq, Session, SessionEvent, SessionId, SessionState, Usage,
};
use std::path::Path;

/// Entries (what `entry_count` counts, by [`EntryCounter`]) a plain generated turn adds:
/// the prompt, the thinking, a tool card and the reply. The browser shows a fifth row per
/// turn, its usage line. Every 10th turn runs a second tool and a notice comes before every
/// 25th, so turns differ in length (a page cut by event count instead of by turn would
/// show): "10,000 entries" make 2,500 turns, 10,350 entries and 12,850 rows.
pub const ENTRIES_PER_TURN: usize = 4;

/// Writes a demo session of `entries.div_ceil(ENTRIES_PER_TURN)` turns (at least `entries`
/// transcript entries) and returns its id.
pub async fn seed_transcript(
    data_dir: &Path,
    entries: usize,
    title: &str,
) -> Result<SessionId, DbError> {
    let db = Db::open_for_data_dir(data_dir).await?;
    let id = SessionId(uuid::Uuid::new_v4());
    let turns = entries.div_ceil(ENTRIES_PER_TURN).max(1);
    let start_ms = super::session_task::now_ms() - (turns as i64) * 60_000;
    let mut events = Vec::with_capacity(turns * 7);
    let mut usage = Usage::default();
    let mut counter = EntryCounter::default();
    let mut entry_count = 0;
    for turn in 0..turns {
        let at_ms = start_ms + turn as i64 * 60_000;
        for event in turn_events(turn) {
            if let SessionEvent::TurnCompleted { usage: used, .. } = &event {
                usage.add(used);
            }
            if counter.is_new_entry(&event) {
                entry_count += 1;
            }
            events.push((Seq(events.len() as u64 + 1), at_ms, event));
        }
    }
    let mut session = Session::empty(
        id,
        AgentId::demo(),
        data_dir.display().to_string(),
        "default".into(),
        SessionState::Idle,
    );
    session.title = title.to_owned();
    session.created_at_ms = start_ms;
    session.last_activity_ms = start_ms + turns as i64 * 60_000;
    session.preview = format!("Turn {} is done.", turns);
    session.usage = usage;
    session.entry_count = entry_count;
    session.read_seq = Seq(events.len() as u64);
    db.save_session(&session).await?;
    db.append_events(id, &events).await?;
    Ok(id)
}

/// One turn: the user asks, the agent thinks, runs a command (two on every 10th turn), and
/// answers in markdown. Every 25th turn has a notice before it (between turns, where a
/// restart's notice goes), so the newest row stays the last turn's reply.
fn turn_events(turn: usize) -> Vec<SessionEvent> {
    let n = turn + 1;
    let call = format!("seed-call-{n}");
    let reply = if n.is_multiple_of(3) {
        format!(
            "Turn {n}: the build passes.\n\n| step | result |\n|---|---|\n| check | ok |\n| test | ok |\n\n\
             ```rust\nfn turn() -> usize {{\n    {n}\n}}\n```\n"
        )
    } else {
        format!(
            "Turn {n}: I looked at **src/lib.rs** and found `{}` items.\n\n- one\n- two\n",
            n * 7
        )
    };
    let mut events = Vec::new();
    if n.is_multiple_of(25) {
        events.push(SessionEvent::Notice {
            message: format!(
                "The agent was restarted before question {n}; the conversation resumes."
            ),
        });
    }
    events.extend([
        SessionEvent::UserMessage {
            client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
            text: format!("Question {n}: what does the code do now?"),
            attachments: vec![],
        },
        SessionEvent::TurnStarted {
            client_msg_id: None,
        },
        SessionEvent::Thinking {
            message_id: format!("seed-think-{n}"),
            text: format!("Turn {n}: list the files first, then read the one that matters."),
        },
        SessionEvent::ToolCall {
            id: call.clone(),
            name: "Bash".into(),
            title: "ls src".into(),
            input: serde_json::json!({ "command": "ls src", "description": "List sources" }),
        },
        SessionEvent::ToolResult {
            id: call,
            output: (0..(n % 12 + 1))
                .map(|i| format!("file_{i}.rs"))
                .collect::<Vec<_>>()
                .join("\n"),
            is_error: false,
            duration_ms: Some(200 + (n % 7) as u64 * 150),
        },
    ]);
    if n.is_multiple_of(10) {
        let call = format!("seed-call-{n}-b");
        events.push(SessionEvent::ToolCall {
            id: call.clone(),
            name: "Bash".into(),
            title: "cargo check".into(),
            input: serde_json::json!({ "command": "cargo check" }),
        });
        events.push(SessionEvent::ToolResult {
            id: call,
            output: "Finished `dev` profile".into(),
            is_error: false,
            duration_ms: Some(1_500),
        });
    }
    events.extend([
        SessionEvent::AssistantMessage {
            message_id: format!("seed-reply-{n}"),
            text: reply,
        },
        SessionEvent::TurnCompleted {
            usage: Usage {
                input_tokens: 1_200 + n as u64,
                output_tokens: 80,
                cache_read_tokens: 0,
                cache_creation_tokens: 0,
                cost_usd: Some(0.0004),
                cost_estimated: false,
                context_used: None,
                context_window: None,
            },
            duration_ms: 900,
            stop_reason: "end_turn".into(),
        },
    ]);
    events
}
