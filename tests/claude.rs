//! Claude Code sessions end to end: the real server, a real WebSocket client, the real
//! pinned `claude` CLI, and this repo's `fake-model` as its Anthropic API. No network.

mod common;

use common::claude::{claude_server, claude_session, reply_text, stop_reason, FakeModel};
use common::{events_of, new_session, Client, Server};
use switchboard::protocol::{ClientFrame, ServerFrame, SessionEvent, SessionId};

/// What every test starts with: a fake model, a server whose Claude sessions use it, a
/// connected client and the id of a session to create.
struct Rig {
    dir: tempfile::TempDir,
    fake: FakeModel,
    server: Server,
    client: Client,
    session: SessionId,
}

impl Rig {
    async fn start() -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = FakeModel::start();
        let server = claude_server(dir.path(), &fake, "");
        let (client, _) = Client::connect(&server).await;
        Rig {
            dir,
            fake,
            server,
            client,
            session: new_session(),
        }
    }
}

/// A new client after a restart, subscribed to `session` from its newest stored event.
async fn resubscribe(server: &Server, session: SessionId) -> Client {
    let (mut client, sessions) = Client::connect(server).await;
    let since = sessions
        .iter()
        .find(|s| s.id == session)
        .expect("listed after the restart")
        .last_seq;
    client
        .send(&ClientFrame::Subscribe {
            session,
            since,
            tail_turns: None,
            tag: None,
        })
        .await;
    client
}

fn permission_request(frame: &ServerFrame) -> Option<switchboard::protocol::RequestId> {
    match frame {
        ServerFrame::Event {
            event: SessionEvent::PermissionRequested { request_id, .. },
            ..
        } => Some(request_id.clone()),
        _ => None,
    }
}

fn state_is(frame: &ServerFrame, session: SessionId, wanted: &str) -> bool {
    matches!(frame, ServerFrame::SessionUpdated { session: s, patch }
        if *s == session && patch.state.as_ref().is_some_and(|st| st.name() == wanted))
}

#[tokio::test]
async fn a_text_turn_streams_and_reports_usage_and_cost() {
    let Rig {
        dir: _dir,
        fake: _fake,
        server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_claude(session, "Say hello", Some(claude_session("default")))
        .await;
    let frames = client
        .until(|f| matches!(f, ServerFrame::Event { session: s, event: SessionEvent::TurnCompleted { .. }, .. } if *s == session))
        .await;
    let events = events_of(&frames, session);
    let reply = reply_text(&events);
    assert!(reply.starts_with("FAKE-REPLY:"), "{reply}");
    assert!(reply.ends_with("Say hello"), "{reply}");
    assert!(
        events
            .iter()
            .any(|(_, e)| matches!(e, SessionEvent::AssistantDelta { .. })),
        "text streams in pieces before the whole message"
    );
    let usage = events
        .iter()
        .find_map(|(_, e)| match e {
            SessionEvent::TurnCompleted {
                usage, stop_reason, ..
            } => {
                assert_eq!(stop_reason, "end_turn");
                Some(*usage)
            }
            _ => None,
        })
        .expect("the turn completed");
    assert!(
        usage.input_tokens > 0 && usage.output_tokens > 0,
        "{usage:?}"
    );
    assert!(usage.cost_usd.is_some_and(|c| c > 0.0), "{usage:?}");
    // The CLI's conversation id is stored for resume. The idle state travels with the
    // session list, the turn's events with its log: it may come before the last event.
    if !frames.iter().any(|f| state_is(f, session, "idle")) {
        client.until(|f| state_is(f, session, "idle")).await;
    }
    let (_, sessions) = Client::connect(&server).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert!(listed.agent_session_id.is_some());
    assert_eq!(listed.preview, reply, "the preview is the reply, once");
    assert!(listed.usage.cost_usd.is_some());
}

#[tokio::test]
async fn a_tool_call_shows_its_input_and_result_and_really_ran() {
    let Rig {
        dir,
        fake: _fake,
        server: _server,
        mut client,
        session,
    } = Rig::start().await;
    let target = dir.path().join("touched.txt");
    let prompt = format!("TOOL_BASH:touch {} && echo touched", target.display());
    client
        .say_claude(session, &prompt, Some(claude_session("bypassPermissions")))
        .await;
    let events = client.turn(session).await;
    let call = events.iter().find_map(|(_, e)| match e {
        SessionEvent::ToolCall {
            id, name, input, ..
        } => Some((id.clone(), name.clone(), input.clone())),
        _ => None,
    });
    let (call_id, name, input) = call.expect("a tool call");
    assert_eq!(name, "Bash");
    assert!(input["command"]
        .as_str()
        .is_some_and(|c| c.contains("touched.txt")));
    assert!(events.iter().any(|(_, e)| matches!(e,
        SessionEvent::ToolResult { id, output, is_error: false, .. } if *id == call_id && output == "touched")));
    assert!(target.exists(), "the command ran");
    assert!(reply_text(&events).contains("Tool result received: touched"));
}

#[tokio::test]
async fn permission_allow_runs_the_tool_and_deny_does_not() {
    let Rig {
        dir,
        fake: _fake,
        server: _server,
        mut client,
        session,
    } = Rig::start().await;
    let allowed = dir.path().join("allowed.txt");
    let denied = dir.path().join("denied.txt");

    client
        .say_claude(
            session,
            &format!("TOOL_WRITE:{}", allowed.display()),
            Some(claude_session("default")),
        )
        .await;
    let frames = client.until(|f| permission_request(f).is_some()).await;
    let request_id = frames.iter().find_map(permission_request).expect("asked");
    client
        .until(|f| state_is(f, session, "awaiting_permission"))
        .await;
    assert!(!allowed.exists(), "nothing is written before the answer");
    client
        .send(&ClientFrame::AnswerPermission {
            session,
            request_id,
            option_id: "allow".into(),
            tag: None,
        })
        .await;
    let events = client.turn(session).await;
    assert!(allowed.exists(), "Allow let the Write run");
    assert!(events.iter().any(|(_, e)| matches!(
        e,
        SessionEvent::ToolResult {
            is_error: false,
            ..
        }
    )));

    client
        .say_claude(session, &format!("TOOL_WRITE:{}", denied.display()), None)
        .await;
    let frames = client.until(|f| permission_request(f).is_some()).await;
    let request_id = frames.iter().find_map(permission_request).expect("asked");
    client
        .send(&ClientFrame::AnswerPermission {
            session,
            request_id,
            option_id: "deny".into(),
            tag: None,
        })
        .await;
    let events = client.turn(session).await;
    assert!(!denied.exists(), "Deny kept the file from being written");
    assert!(events
        .iter()
        .any(|(_, e)| matches!(e, SessionEvent::ToolResult { is_error: true, .. })));
    assert!(events
        .iter()
        .any(|(_, e)| matches!(e, SessionEvent::PermissionResolved { allowed: false, .. })));
}

#[tokio::test]
async fn stop_interrupts_the_stream_and_the_same_process_answers_the_next_message() {
    let Rig {
        dir: _dir,
        fake: _fake,
        server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_claude(session, "SLOW 40 250", Some(claude_session("default")))
        .await;
    client.first_delta().await;
    let pids = server.agent_pids();
    assert_eq!(pids.len(), 1, "one claude process");
    client
        .send(&ClientFrame::Cancel { session, tag: None })
        .await;
    let events = client.turn(session).await;
    assert_eq!(stop_reason(&events).as_deref(), Some("cancelled"));

    client
        .say_claude(session, "Still alive after interrupt?", None)
        .await;
    let events = client.turn(session).await;
    assert!(reply_text(&events).ends_with("Still alive after interrupt?"));
    assert_eq!(server.agent_pids(), pids, "the same process answered");
}

#[tokio::test]
async fn the_permission_mode_changes_mid_session() {
    let Rig {
        dir,
        fake: _fake,
        server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_claude(session, "Say hello", Some(claude_session("default")))
        .await;
    client.turn(session).await;
    client
        .send(&ClientFrame::SetPermissionMode {
            session,
            mode: "acceptEdits".into(),
            tag: None,
        })
        .await;
    client
        .until(|f| matches!(f, ServerFrame::Event { event: SessionEvent::PermissionModeChanged { mode }, .. } if mode == "acceptEdits"))
        .await;
    // Inside its working directory (the Playground: it names no project); acceptEdits asks
    // for writes outside it.
    let target = dir.path().join("playground/edited.txt");
    client
        .say_claude(session, &format!("TOOL_WRITE:{}", target.display()), None)
        .await;
    let events = client.turn(session).await;
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, SessionEvent::PermissionRequested { .. })),
        "acceptEdits writes without asking"
    );
    assert!(target.exists());
    let (_, sessions) = Client::connect(&server).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert_eq!(listed.permission_mode, "acceptEdits");
    // An unknown mode is refused with a clear error.
    client
        .send(&ClientFrame::SetPermissionMode {
            session,
            mode: "yolo".into(),
            tag: None,
        })
        .await;
    client
        .until(|f| matches!(f, ServerFrame::Error { message, .. } if message.contains("yolo")))
        .await;
}

/// The conversation resumes after the process was killed and after a server restart: the
/// fake API sees the earlier turns.
#[tokio::test]
async fn the_conversation_survives_a_killed_process_and_a_server_restart() {
    let Rig {
        dir,
        fake,
        server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_claude(session, "My name is Alice", Some(claude_session("default")))
        .await;
    client.turn(session).await;

    for pid in server.agent_pids() {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    client.say_claude(session, "What is my name?", None).await;
    let events = client.turn(session).await;
    assert!(reply_text(&events).ends_with("What is my name?"));
    let conversation = fake.last_conversation().await;
    assert!(
        conversation.iter().any(|m| m.contains("My name is Alice")),
        "{conversation:?}"
    );
    assert!(!events
        .iter()
        .any(|(_, e)| matches!(e, SessionEvent::ConversationReset { .. })));

    server.stop();
    let server = claude_server(dir.path(), &fake, "");
    let mut client = resubscribe(&server, session).await;
    client
        .say_claude(session, "And after a restart?", None)
        .await;
    let events = client.turn(session).await;
    assert!(reply_text(&events).ends_with("And after a restart?"));
    let conversation = fake.last_conversation().await;
    assert!(
        conversation.iter().any(|m| m.contains("My name is Alice")),
        "{conversation:?}"
    );
    assert!(
        conversation.iter().any(|m| m.contains("What is my name?")),
        "{conversation:?}"
    );
}

/// A conversation the CLI no longer has is announced, never silently replaced.
#[tokio::test]
async fn a_lost_conversation_is_announced_and_a_fresh_one_answers() {
    let Rig {
        dir,
        fake,
        server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_claude(session, "Remember this", Some(claude_session("default")))
        .await;
    client.turn(session).await;
    // The machine restarts (the runner and its agents stop too), and the CLI's transcripts
    // go missing (a new machine, a wiped HOME).
    server.stop_with_runner();
    std::fs::remove_dir_all(dir.path().join("claude-home/.claude/projects"))
        .expect("transcripts existed");

    let server = claude_server(dir.path(), &fake, "");
    let mut client = resubscribe(&server, session).await;
    client.say_claude(session, "Do you remember?", None).await;
    let events = client.turn(session).await;
    assert!(
        events.iter().any(|(_, e)| matches!(e, SessionEvent::ConversationReset { reason } if reason.contains("No conversation found"))),
        "{events:?}"
    );
    assert!(reply_text(&events).ends_with("Do you remember?"));
    let conversation = fake.last_conversation().await;
    assert!(
        !conversation.iter().any(|m| m.contains("Remember this")),
        "fresh, as announced"
    );
}

#[tokio::test]
async fn a_model_api_error_is_shown_with_the_apis_message_and_the_session_goes_on() {
    let Rig {
        dir: _dir,
        fake: _fake,
        server: _server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_claude(session, "ERROR529", Some(claude_session("default")))
        .await;
    let events = client.turn(session).await;
    let error = events.iter().find_map(|(_, e)| match e {
        SessionEvent::Error { message, .. } => Some(message.clone()),
        _ => None,
    });
    let error = error.expect("an error event");
    assert!(
        error.contains("529") || error.contains("overloaded"),
        "{error}"
    );
    assert_eq!(stop_reason(&events).as_deref(), Some("error"));
    client.say_claude(session, "Better now?", None).await;
    let events = client.turn(session).await;
    assert!(reply_text(&events).ends_with("Better now?"));
}

#[tokio::test]
async fn a_cli_that_dies_mid_turn_is_an_error_with_retry() {
    let Rig {
        dir: _dir,
        fake: _fake,
        server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_claude(session, "Say hello", Some(claude_session("default")))
        .await;
    client.turn(session).await;
    client.say_claude(session, "SLOW 40 250", None).await;
    client.first_delta().await;
    for pid in server.agent_pids() {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let frames = client.until(|f| state_is(f, session, "error")).await;
    assert!(events_of(&frames, session).iter().any(|(_, e)| matches!(e,
        SessionEvent::Error { message, .. } if message.contains("exited"))));

    fake_fast_next(&mut client, session).await;
}

/// Retry runs the failed message again (here after the CLI died during "SLOW ...": the
/// retried turn streams again and completes).
async fn fake_fast_next(client: &mut Client, session: SessionId) {
    client
        .send(&ClientFrame::Retry { session, tag: None })
        .await;
    let events = client.turn(session).await;
    assert!(events.iter().any(
        |(_, e)| matches!(e, SessionEvent::Notice { message } if message.contains("Retrying"))
    ));
    assert!(reply_text(&events).contains("chunk 0"));
}

#[tokio::test]
async fn a_missing_claude_binary_is_refused_at_create_with_the_install_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with_env(
        dir.path(),
        "",
        &[
            ("SWITCHBOARD_CLAUDE_BIN", None),
            ("PATH", Some("/usr/bin:/bin")),
        ],
    );
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client
        .say_claude(session, "Hello?", Some(claude_session("default")))
        .await;
    let frames = client
        .until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    let Some(ServerFrame::Error { message, .. }) = frames.last() else {
        unreachable!()
    };
    assert!(
        message.contains("Claude Code is not installed"),
        "{message}"
    );
    assert!(
        message.contains("npm install --prefix /")
            && message.contains("/agents @anthropic-ai/claude-code@2.1.330"),
        "{message}"
    );
    let (_, sessions) = Client::connect(&server).await;
    assert!(
        sessions.iter().all(|s| s.id != session),
        "no session stuck in Starting"
    );
}

#[tokio::test]
async fn a_pasted_image_reaches_the_model_api() {
    let Rig {
        dir: _dir,
        fake,
        server: _server,
        mut client,
        session,
    } = Rig::start().await;
    client
        .say_with_image(
            session,
            "What is in this picture?",
            "dot.png",
            claude_session("default"),
        )
        .await;
    let events = client.turn(session).await;
    assert!(events.iter().any(|(_, e)| matches!(e,
        SessionEvent::UserMessage { attachments, .. } if attachments.len() == 1)));
    let requests = fake.requests().await;
    let sent_image = requests.iter().any(|r| {
        r["body"]["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| {
                m["content"].as_array().into_iter().flatten().any(|b| {
                    b["type"] == "image"
                        && b["source"]["data"] == common::ONE_PIXEL_PNG
                        && b["source"]["media_type"] == "image/png"
                })
            })
    });
    assert!(sent_image, "the image block reached the API");
}
