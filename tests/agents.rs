//! Codex, Gemini CLI and the Claude ACP adapter through the real server, each the real pinned
//! CLI against this repo's fake model API: a text turn, a tool call with its result, a
//! permission allowed and one denied (checked on disk), Stop, resume after the agent process
//! was killed (the model saw the earlier turn), and an API error.

mod common;

use common::claude::{claude_bin, FakeModel};
use common::{events_of, new_session, Client, Server};
use std::path::{Path, PathBuf};
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, NewSession, Seq, ServerFrame, SessionEvent, SessionId,
};
use uuid::Uuid;

/// The project-local install of an agent CLI (scripts/install-tools.sh); missing fails.
fn agent_bin(name: &str) -> PathBuf {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()));
    let path = root.join("agents/node_modules/.bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-tools.sh",
        path.display()
    );
    path
}

/// One agent's set-up: its `[agents.<key>]` table and the mode that asks before tools.
struct Agent {
    key: &'static str,
    config: String,
    asking_mode: &'static str,
}

fn gemini(dir: &Path, fake: &FakeModel) -> Agent {
    // Its own settings dir: no update checks, no telemetry, one attempt on API errors, and
    // session cleanup off (with it on, gemini 0.61.0 deletes a loaded session on the next start).
    let home = dir.join("gemini-home");
    std::fs::create_dir_all(home.join(".gemini")).expect("gemini home");
    let settings = r#"{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},"telemetry":{"enabled":false},"general":{"disableAutoUpdate":true,"disableUpdateNag":true,"enableAutoUpdate":false,"enableAutoUpdateNotification":false,"sessionRetention":{"enabled":false},"maxAttempts":1}}"#;
    std::fs::write(home.join(".gemini/settings.json"), settings).expect("settings");
    Agent {
        key: "gemini",
        config: format!(
            r#"[agents.gemini]
command = ["{bin}", "--acp"]
env = {{ GEMINI_API_KEY = "test", GOOGLE_GEMINI_BASE_URL = "http://{addr}", GEMINI_CLI_TRUST_WORKSPACE = "true", GEMINI_CLI_NO_RELAUNCH = "true", GEMINI_CLI_HOME = "{home}" }}
"#,
            bin = agent_bin("gemini").display(),
            addr = fake.addr,
            home = home.display()
        ),
        asking_mode: "default",
    }
}

fn claude_acp(dir: &Path, fake: &FakeModel) -> Agent {
    let home = dir.join("claude-home");
    std::fs::create_dir_all(&home).expect("home");
    Agent {
        key: "claude-acp",
        config: format!(
            r#"[agents.claude-acp]
command = ["{bin}"]
env = {{ HOME = "{home}", CLAUDE_CODE_EXECUTABLE = "{claude}", ANTHROPIC_BASE_URL = "http://{addr}", ANTHROPIC_API_KEY = "test", DISABLE_TELEMETRY = "1", DISABLE_ERROR_REPORTING = "1", DISABLE_AUTOUPDATER = "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1", IS_SANDBOX = "1", CLAUDE_CODE_MAX_RETRIES = "0" }}
"#,
            bin = agent_bin("claude-agent-acp").display(),
            claude = claude_bin().display(),
            addr = fake.addr,
            home = home.display()
        ),
        asking_mode: "default",
    }
}

fn codex(dir: &Path, fake: &FakeModel) -> Agent {
    Agent {
        key: "codex",
        config: common::claude::codex_config(&dir.join("codex-home"), fake),
        asking_mode: "untrusted",
    }
}

/// A session of `agent` on a fresh server; returns what the checks need.
struct Rig {
    dir: tempfile::TempDir,
    _fake: FakeModel,
    server: Server,
    client: Client,
    session: SessionId,
    work: PathBuf,
}

async fn rig(make: fn(&Path, &FakeModel) -> Agent) -> (Rig, Agent) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeModel::start();
    let agent = make(dir.path(), &fake);
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let server = Server::start_with_env(
        dir.path(),
        &agent.config,
        &[("SWITCHBOARD_DEFAULT_CWD", work.to_str())],
    );
    let (client, _) = Client::connect(&server).await;
    let rig = Rig {
        dir,
        _fake: fake,
        server,
        client,
        session: new_session(),
        work,
    };
    (rig, agent)
}

impl Rig {
    async fn say(&mut self, text: &str, create: Option<NewSession>) {
        self.client
            .send(&ClientFrame::Send {
                session: self.session,
                client_msg_id: ClientMsgId(Uuid::new_v4()),
                text: text.into(),
                attachments: vec![],
                create,
                tag: None,
            })
            .await;
    }

    /// Reads this session's events until `done`.
    async fn until(
        &mut self,
        mut done: impl FnMut(&SessionEvent) -> bool,
    ) -> Vec<(Seq, SessionEvent)> {
        let session = self.session;
        let frames = self
            .client
            .until(|f| matches!(f, ServerFrame::Event { session: s, event, .. } if *s == session && done(event)))
            .await;
        events_of(&frames, session)
    }

    async fn turn(&mut self, text: &str) -> Vec<(Seq, SessionEvent)> {
        self.say(text, None).await;
        self.until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
            .await
    }

    /// Sends `text`, answers its permission request allowing or denying, reads to the end.
    async fn answer(&mut self, text: &str, allow: bool) -> Vec<(Seq, SessionEvent)> {
        self.say(text, None).await;
        let mut events = self
            .until(|e| matches!(e, SessionEvent::PermissionRequested { .. }))
            .await;
        let Some((
            _,
            SessionEvent::PermissionRequested {
                request_id,
                options,
                ..
            },
        )) = events.last().cloned()
        else {
            unreachable!()
        };
        let option = options
            .iter()
            .find(|o| {
                o.kind.allows() == allow
                    && !matches!(
                        o.kind,
                        switchboard::protocol::PermissionOptionKind::AllowAlways
                    )
            })
            .or_else(|| options.iter().find(|o| o.kind.allows() == allow))
            .unwrap_or_else(|| {
                panic!(
                    "an option that {} in {options:?}",
                    if allow { "allows" } else { "denies" }
                )
            });
        self.client
            .send(&ClientFrame::AnswerPermission {
                session: self.session,
                request_id,
                option_id: option.id.clone(),
                tag: None,
            })
            .await;
        events.extend(
            self.until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
                .await,
        );
        events
    }
}

fn reply(events: &[(Seq, SessionEvent)]) -> String {
    let whole = events.iter().rev().find_map(|(_, e)| match e {
        SessionEvent::AssistantMessage { text, .. } => Some(text.clone()),
        _ => None,
    });
    whole.unwrap_or_else(|| common::assistant_text(events))
}

async fn the_whole_experience(make: fn(&Path, &FakeModel) -> Agent) {
    let (mut rig, agent) = rig(make).await;
    let create = NewSession {
        permission_mode: Some(agent.asking_mode.into()),
        // A folder of its own (a project is made from it): the files it writes are checked.
        cwd: Some(rig.work.display().to_string()),
        ..NewSession::defaults(AgentId(agent.key.into()))
    };

    eprintln!("{}: A text turn", agent.key);
    // A text turn, with usage.
    rig.say("My name is Alice", Some(create)).await;
    let events = rig
        .until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
        .await;
    assert!(
        reply(&events).contains("FAKE-REPLY"),
        "{}: {events:?}",
        agent.key
    );

    eprintln!("{}: A permission denied", agent.key);
    // A permission denied: nothing on disk. Allowed: the file is there, with a tool card.
    let denied = rig.answer("TOOL_BASH:touch denied.txt", false).await;
    assert!(
        !rig.work.join("denied.txt").exists(),
        "{}: denied write happened: {denied:?}",
        agent.key
    );
    let allowed = rig.answer("TOOL_BASH:touch allowed.txt", true).await;
    assert!(
        rig.work.join("allowed.txt").exists(),
        "{}: allowed write missing: {allowed:?}",
        agent.key
    );
    assert!(
        allowed
            .iter()
            .any(|(_, e)| matches!(e, SessionEvent::ToolCall { .. })),
        "{}: a tool card: {allowed:?}",
        agent.key
    );
    assert!(
        allowed.iter().any(|(_, e)| matches!(
            e,
            SessionEvent::ToolResult {
                is_error: false,
                ..
            }
        )),
        "{}: a tool result: {allowed:?}",
        agent.key
    );

    eprintln!("{}: Stop mid-stream.", agent.key);
    // Stop mid-stream.
    rig.say("SLOW 30 200", None).await;
    rig.until(|e| matches!(e, SessionEvent::AssistantDelta { .. }))
        .await;
    rig.client
        .send(&ClientFrame::Cancel {
            session: rig.session,
            tag: None,
        })
        .await;
    let stopped = rig
        .until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
        .await;
    let reason = stopped.iter().find_map(|(_, e)| match e {
        SessionEvent::TurnCompleted { stop_reason, .. } => Some(stop_reason.clone()),
        _ => None,
    });
    assert!(
        matches!(reason.as_deref(), Some("cancelled" | "interrupted")),
        "{}: {reason:?}",
        agent.key
    );

    eprintln!("{}: An API error is shown", agent.key);
    // An API error is shown, and the session goes on.
    rig.say("ERROR500", None).await;
    let failed = rig
        .until(|e| matches!(e, SessionEvent::TurnCompleted { .. }))
        .await;
    assert!(
        failed
            .iter()
            .any(|(_, e)| matches!(e, SessionEvent::Error { .. })),
        "{}: {failed:?}",
        agent.key
    );

    eprintln!("{}: Resume after the agent process", agent.key);
    // Resume after the agent process was killed: the model sees the earlier turns.
    if agent.key == "gemini" {
        // gemini 0.61.0 cannot load a session in the UTC minute it was created (the load
        // damages it); a real session is rarely killed that fast, a test must wait.
        wait_for_next_minute(rig.dir.path()).await;
    }
    for pid in rig.server.agent_pids() {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !rig.server.agent_pids().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{}: the agent did not die",
            agent.key
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Let the session see the exit before the next message.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let resumed = rig.turn("Do you remember me?").await;
    let text = reply(&resumed);
    assert!(
        !resumed
            .iter()
            .any(|(_, e)| matches!(e, SessionEvent::ConversationReset { .. })),
        "{}: the conversation was lost: {resumed:?}",
        agent.key
    );
    let seen: u32 = text
        .split("I saw ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        seen >= 2,
        "{}: the model saw the earlier turns: {text}",
        agent.key
    );
    rig.server.stop();
}

/// Sleeps into the next UTC minute (gemini's session files are named by minute).
async fn wait_for_next_minute(_dir: &Path) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let left = 60 - now % 60 + 1;
    tokio::time::sleep(std::time::Duration::from_secs(left)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_the_whole_experience() {
    the_whole_experience(codex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_the_whole_experience() {
    the_whole_experience(gemini).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_acp_the_whole_experience() {
    the_whole_experience(claude_acp).await;
}
