//! Serde round trips of every frame kind, and the exact JSON shape of a few, so a change to
//! the wire format is a deliberate one.

use super::*;
use uuid::Uuid;

fn session_id() -> SessionId {
    SessionId(Uuid::from_u128(0x1234))
}

fn round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).expect("serializes");
    let back: T = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(&back, value, "round trip changed {json}");
}

fn sample_session() -> Session {
    Session {
        id: session_id(),
        title: "Fix the build".into(),
        agent: AgentId::demo(),
        cwd: "/home/dev/project".into(),
        project: Some(crate::protocol::ProjectId(uuid::Uuid::from_u128(7))),
        worktree: Some(crate::protocol::Worktree {
            path: "/data/worktrees/x".into(),
            branch: "switchboard/fix-1a2b3c4d".into(),
            base_branch: Some("main".into()),
            base_commit: "abc".into(),
        }),
        changes: Some(crate::protocol::ChangeCount {
            files: 2,
            unmerged_commits: 1,
        }),
        imported: Some(crate::protocol::ImportSource::Claude),
        placement: Default::default(),
        budget: None,
        compare: None,
        permission_mode: "default".into(),
        model: None,
        state: SessionState::Error {
            message: "agent exited".into(),
        },
        agent_session_id: Some("acp-1".into()),
        created_at_ms: 1,
        last_activity_ms: 2,
        preview: "Echo: hi".into(),
        usage: Usage {
            input_tokens: 3,
            output_tokens: 4,
            cache_read_tokens: 5,
            cache_creation_tokens: 6,
            cost_usd: Some(0.5),
            cost_estimated: false,
            context_used: None,
            context_window: None,
        },
        entry_count: 2,
        last_seq: Seq(9),
        read_seq: Seq(7),
        viewers: 1,
        rev: 0,
    }
}

#[test]
fn client_frames_round_trip() {
    let frames = vec![
        ClientFrame::Hello {
            client_id: ClientId(Uuid::from_u128(7)),
            resume: vec![ResumePoint {
                session: session_id(),
                since: Seq(3),
                tail_turns: None,
            }],
        },
        ClientFrame::Subscribe {
            session: session_id(),
            since: Seq(0),
            tail_turns: None,
            tag: None,
        },
        ClientFrame::Unsubscribe {
            session: session_id(),
        },
        ClientFrame::Send {
            session: session_id(),
            client_msg_id: ClientMsgId(Uuid::from_u128(8)),
            text: "hello".into(),
            attachments: vec![],
            create: Some(NewSession {
                agent: AgentId::demo(),
                cwd: None,
                project: None,
                worktree: true,
                base_branch: Some("main".into()),
                permission_mode: Some("default".into()),
                model: None,
            }),
            tag: None,
        },
        ClientFrame::Cancel {
            session: session_id(),
            tag: None,
        },
        ClientFrame::AnswerPermission {
            session: session_id(),
            request_id: RequestId("r1".into()),
            option_id: "allow".into(),
            tag: None,
        },
        ClientFrame::Rename {
            session: session_id(),
            title: "t".into(),
            tag: None,
        },
        ClientFrame::Archive {
            session: session_id(),
            worktree: Some(crate::protocol::WorktreeEnd::RemoveBoth),
            discard_unmerged: true,
            tag: None,
        },
        ClientFrame::Discard {
            session: session_id(),
            path: None,
            tag: None,
        },
        ClientFrame::Ping,
    ];
    for frame in &frames {
        round_trip(frame);
    }
}

#[test]
fn server_frames_round_trip() {
    let events = vec![
        SessionEvent::UserMessage {
            client_msg_id: ClientMsgId(Uuid::from_u128(1)),
            text: "hi".into(),
            attachments: vec![],
        },
        SessionEvent::AssistantDelta {
            message_id: "m".into(),
            text: "Ec".into(),
        },
        SessionEvent::AssistantMessage {
            message_id: "m".into(),
            text: "Echo".into(),
        },
        SessionEvent::Thinking {
            message_id: "t".into(),
            text: "hmm".into(),
        },
        SessionEvent::ToolCall {
            id: "c".into(),
            name: "list".into(),
            title: "ls".into(),
            input: serde_json::json!({"path": "."}),
        },
        SessionEvent::ToolResult {
            id: "c".into(),
            output: "a\nb".into(),
            is_error: false,
            duration_ms: None,
        },
        SessionEvent::PermissionRequested {
            request_id: RequestId("p".into()),
            title: "Write demo.txt".into(),
            input: serde_json::Value::Null,
            options: vec![PermissionOption {
                id: "allow".into(),
                label: "Allow".into(),
                kind: PermissionOptionKind::AllowOnce,
            }],
        },
        SessionEvent::PermissionResolved {
            request_id: RequestId("p".into()),
            option_id: Some("allow".into()),
            allowed: true,
        },
        SessionEvent::TurnStarted {
            client_msg_id: None,
        },
        SessionEvent::TurnCompleted {
            usage: Usage::default(),
            duration_ms: 5,
            stop_reason: "end_turn".into(),
        },
        SessionEvent::StateChanged {
            state: SessionState::Interrupted {
                reason: "restart".into(),
            },
        },
        SessionEvent::Error {
            message: "boom".into(),
            detail: Some("stderr".into()),
        },
        SessionEvent::Notice {
            message: "context reset".into(),
        },
    ];
    for event in events {
        round_trip(&ServerFrame::Event {
            session: session_id(),
            seq: Seq(1),
            event,
        });
    }
    round_trip(&ServerFrame::Connected {
        server_version: "0.1.0".into(),
        sessions: vec![sample_session()],
        agents: vec![crate::protocol::AgentInfo {
            id: crate::protocol::AgentId::claude(),
            label: "Claude Code".into(),
            protocol: crate::protocol::AgentProtocol::Claude,
            modes: vec!["default".into(), "plan".into()],
            models: true,
            installed: false,
            path: None,
            version: None,
            install_hint: Some(
                "npm install --prefix agents @anthropic-ai/claude-code@2.1.330".into(),
            ),
            problem: Some("`claude` was not found on PATH".into()),
        }],
        limits: Default::default(),
        projects: vec![],
    });
    round_trip(&ServerFrame::SessionCreated {
        session: sample_session(),
    });
    round_trip(&ServerFrame::SessionUpdated {
        session: session_id(),
        patch: SessionPatch {
            preview: Some("p".into()),
            ..SessionPatch::default()
        },
    });
    round_trip(&ServerFrame::SessionRemoved {
        session: session_id(),
    });
    round_trip(&ServerFrame::error(None, ErrorCode::Malformed, "bad"));
    round_trip(&ServerFrame::Pong);
}

#[test]
fn wire_shape_is_tagged_snake_case() {
    let json = serde_json::to_value(ClientFrame::Cancel {
        session: session_id(),
        tag: None,
    })
    .expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({"type": "cancel", "session": "00000000-0000-0000-0000-000000001234"})
    );
    let patch = serde_json::to_value(SessionPatch {
        state: Some(SessionState::AwaitingPermission),
        ..SessionPatch::default()
    })
    .expect("serializes");
    assert_eq!(
        patch,
        serde_json::json!({"state": {"state": "awaiting_permission"}}),
        "a patch carries only its changed fields"
    );
}

#[test]
fn a_turn_start_names_its_message_and_older_logs_still_load() {
    let id = ClientMsgId(uuid::Uuid::from_u128(7));
    let named = serde_json::to_value(SessionEvent::TurnStarted {
        client_msg_id: Some(id),
    })
    .expect("serializes");
    assert_eq!(
        named,
        serde_json::json!({"type": "turn_started", "client_msg_id": "00000000-0000-0000-0000-000000000007"})
    );
    // As logs written before the message id was kept have it.
    let old: SessionEvent =
        serde_json::from_str(r#"{"type":"turn_started"}"#).expect("an old turn start loads");
    assert_eq!(
        old,
        SessionEvent::TurnStarted {
            client_msg_id: None
        }
    );
    assert_eq!(
        serde_json::to_string(&old).expect("serializes"),
        r#"{"type":"turn_started"}"#,
        "and is written back the same"
    );
}

#[test]
fn patch_applies_only_present_fields() {
    let mut session = sample_session();
    session.apply(&SessionPatch {
        title: Some("New".into()),
        ..SessionPatch::default()
    });
    assert_eq!(session.title, "New");
    assert_eq!(session.preview, "Echo: hi");
}

/// The internally tagged enums read their tag first (`tag_first`): frames and logged
/// events written as earlier releases wrote them (tag first, nested tags too) read the same,
/// and an object with its tag elsewhere is refused by name, not misread.
#[test]
fn tagged_enums_read_what_earlier_releases_wrote() {
    let id = "00000000-0000-0000-0000-000000000007";
    let event: SessionEvent = serde_json::from_str(
        r#"{"type":"state_changed","state":{"state":"waiting_for_agent","ahead":2}}"#,
    )
    .expect("a logged state change loads");
    assert_eq!(
        event,
        SessionEvent::StateChanged {
            state: SessionState::WaitingForAgent { ahead: 2 }
        }
    );
    let frame: ServerFrame = serde_json::from_str(&format!(
        r#"{{"type":"diff","session":"{id}","path":"a.rs","body":{{"kind":"too_large","bytes":9}}}}"#
    ))
    .expect("a diff frame loads");
    let ServerFrame::Diff { body, .. } = frame else {
        panic!("not a diff: {frame:?}");
    };
    assert_eq!(
        body.decode().expect("a diff decodes"),
        DiffBody::TooLarge { bytes: 9 }
    );
    let frame: ServerFrame = serde_json::from_str(&format!(
        r#"{{"type":"git_done","session":"{id}","outcome":{{"outcome":"committed","commit":"abc"}}}}"#
    ))
    .expect("a git outcome loads");
    let ServerFrame::GitDone {
        tag: None, outcome, ..
    } = frame
    else {
        panic!("not a git outcome: {frame:?}");
    };
    assert!(matches!(
        outcome.decode().expect("an outcome decodes"),
        GitOutcome::Committed { .. }
    ));
    let frame: ServerFrame = serde_json::from_str(&format!(
        r#"{{"type":"import_candidates","candidates":[{{"source":"claude","path":"p","first_prompt":"hi","started_ms":1,"bytes":2,"status":{{"state":"grown","session":"{id}"}}}}]}}"#
    ))
    .expect("import candidates load");
    let ServerFrame::ImportCandidates { candidates, .. } = frame else {
        panic!("not candidates: {frame:?}");
    };
    let candidates = candidates.decode().expect("candidates decode");
    assert!(matches!(candidates[0].status, ImportStatus::Grown { .. }));
    let pong: ServerFrame =
        serde_json::from_str(r#"{"type":"pong"}"#).expect("a unit variant loads");
    assert_eq!(pong, ServerFrame::Pong);

    let error = serde_json::from_str::<SessionEvent>(r#"{"text":"hi","type":"notice"}"#)
        .expect_err("the tag not first");
    assert!(
        error
            .to_string()
            .contains("SessionEvent: \"type\" must be the object's first key"),
        "{error}"
    );
}

#[test]
fn a_deferred_payload_is_written_as_its_value_and_read_back_to_it() {
    let progress = crate::protocol::ImportProgress {
        running: true,
        files_total: 2,
        bytes_done: 7,
        ..Default::default()
    };
    let frame = ServerFrame::ImportProgress {
        progress: progress.clone().into(),
    };
    let text = serde_json::to_string(&frame).expect("encodes");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        json,
        serde_json::json!({
            "type": "import_progress",
            "progress": serde_json::to_value(&progress).expect("encodes"),
        }),
        "the wire is the value's own JSON"
    );
    let back: ServerFrame = serde_json::from_str(&text).expect("reads back");
    let ServerFrame::ImportProgress { progress: back } = back else {
        panic!("not progress: {back:?}");
    };
    assert_eq!(back.decode().expect("decodes"), progress);
}

#[test]
fn an_echo_is_told_from_the_json_of_any_event() {
    let id = ClientMsgId(Uuid::from_u128(7));
    let echo = SessionEvent::UserMessage {
        client_msg_id: id,
        text: "hi".into(),
        attachments: vec![],
    };
    let json = serde_json::to_string(&echo).expect("encodes");
    assert_eq!(echoed_in_json(&json), Some(id));
    assert_eq!(echo.echoed_message(), Some(id));
    // A turn names its message too, but it is no echo.
    let started = SessionEvent::TurnStarted {
        client_msg_id: Some(id),
    };
    let json = serde_json::to_string(&started).expect("encodes");
    assert_eq!(echoed_in_json(&json), None);
    assert_eq!(echoed_in_json("not json"), None);
}
