//! The Claude Code driver: one long-lived `claude -p --input-format stream-json` process
//! per session. Turns, permission answers, interrupts and mode changes go to its stdin as
//! stream-json lines (the CLI's control protocol); its stdout is read by `claude_events`.

use super::claude_events::{ClaudeMessage, ClaudeParser, PermissionAsk};
use super::connection::{self, Effects, Protocol};
use super::process;
use super::{AgentError, AgentOutput, CliStart, DriverCommand, QueuedDriver, TurnInput};
use crate::protocol::{PermissionOption, PermissionOptionKind, RequestId, SessionEvent};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use tokio::sync::mpsc;

/// What the CLI prints when `--resume` names a conversation it does not have.
const RESUME_MISSING: &str = "No conversation found";
/// The option ids of a Claude permission card.
const ALLOW: &str = "allow";
const ALLOW_ALWAYS: &str = "allow_always";
const DENY: &str = "deny";

/// The argv for a start: the long-lived, interactive stream-json mode.
pub fn argv(start: &CliStart, fresh_id: &str) -> Vec<String> {
    let mut argv = start.command.clone();
    argv.extend(
        [
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--permission-prompt-tool",
            "stdio",
            "--permission-mode",
            &start.permission_mode,
        ]
        .map(str::to_owned),
    );
    match &start.resume {
        Some(id) => argv.extend(["--resume".to_owned(), id.clone()]),
        None => argv.extend(["--session-id".to_owned(), fresh_id.to_owned()]),
    }
    if let Some(model) = start.model.as_ref().filter(|m| !m.trim().is_empty()) {
        argv.extend(["--model".to_owned(), model.clone()]);
    }
    argv
}

/// Starts `claude` and its connection task.
pub fn start(
    start: CliStart,
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Result<(QueuedDriver, mpsc::Receiver<super::Numbered>), AgentError> {
    let fresh_id = uuid::Uuid::new_v4().to_string();
    let spawned = process::spawn(&argv(&start, &fresh_id), env, cwd)?;
    let protocol = ClaudeProtocol::new(&start, fresh_id);
    Ok(connection::launch(protocol, spawned))
}

/// Claude Code's stream-json control protocol: what the connection needs to remember
/// between lines.
struct ClaudeProtocol {
    parser: ClaudeParser,
    /// True once the CLI answered `initialize`; turns wait for it.
    ready: bool,
    queued: VecDeque<TurnInput>,
    /// Open `can_use_tool` requests, with what their answers must echo.
    permissions: HashMap<RequestId, PermissionAsk>,
    /// The conversation id this process was started with.
    conversation: String,
    /// True when started with `--resume`: an early exit may mean the conversation is gone.
    resuming: bool,
    next_request: u64,
}

impl Protocol for ClaudeProtocol {
    const NAME: &'static str = "claude";

    fn start(&mut self, effects: &mut Effects) {
        self.control(
            effects,
            "init",
            json!({"subtype": "initialize", "hooks": null}),
        );
    }

    fn on_line(&mut self, line: &str, effects: &mut Effects) {
        let messages = match self.parser.parse(line) {
            Ok(messages) => messages,
            Err(e) => {
                let snippet: String = line.chars().take(200).collect();
                let message =
                    format!("claude printed a line that is not stream-json ({e}): {snippet}");
                return effects.output(AgentOutput::Garbled(message));
            }
        };
        for message in messages {
            self.on_message(message, effects);
        }
    }

    fn on_command(&mut self, command: DriverCommand, effects: &mut Effects) {
        match command {
            DriverCommand::Turn(turn) if self.ready => send_turn(effects, turn),
            DriverCommand::Turn(turn) => self.queued.push_back(turn),
            DriverCommand::Permission { request, option_id } => {
                if let Some(ask) = self.permissions.remove(&request) {
                    let answer = permission_answer(&ask, &option_id);
                    control_answer(effects, &ask.request_id, answer);
                }
            }
            DriverCommand::Interrupt => {
                self.queued.clear();
                // Open questions are answered first, so the CLI is not left waiting on them.
                for (_, ask) in std::mem::take(&mut self.permissions) {
                    let answer = json!({"behavior": "deny", "message": "The user stopped the turn.", "interrupt": true});
                    control_answer(effects, &ask.request_id, answer);
                }
                self.control(effects, "interrupt", json!({"subtype": "interrupt"}));
            }
            DriverCommand::SetMode(mode) => {
                self.control(
                    effects,
                    "mode",
                    json!({"subtype": "set_permission_mode", "mode": mode}),
                );
            }
        }
    }

    fn exited(&mut self, code: Option<i32>, stderr_tail: String) -> AgentOutput {
        if self.resuming && !self.ready && stderr_tail.contains(RESUME_MISSING) {
            let reason = stderr_tail
                .lines()
                .find(|l| l.contains(RESUME_MISSING))
                .unwrap_or(RESUME_MISSING)
                .to_owned();
            return AgentOutput::ResumeFailed { reason };
        }
        AgentOutput::Exited { code, stderr_tail }
    }
}

impl ClaudeProtocol {
    /// The state of a CLI started as `start` asks, with `fresh_id` as a new conversation's id.
    fn new(start: &CliStart, fresh_id: String) -> Self {
        ClaudeProtocol {
            parser: ClaudeParser::default(),
            ready: false,
            queued: VecDeque::new(),
            permissions: HashMap::new(),
            conversation: start.resume.clone().unwrap_or(fresh_id),
            resuming: start.resume.is_some(),
            next_request: 0,
        }
    }

    fn control(&mut self, effects: &mut Effects, prefix: &str, request: Value) {
        self.next_request += 1;
        let request_id = format!("{prefix}_{}", self.next_request);
        effects.write(
            json!({"type": "control_request", "request_id": request_id, "request": request}),
        );
    }

    fn on_message(&mut self, message: ClaudeMessage, effects: &mut Effects) {
        match message {
            ClaudeMessage::ControlResponse { request_id, error } => {
                let initialize = request_id.starts_with("init_");
                match (initialize, error) {
                    (true, None) => {
                        self.ready = true;
                        effects.output(AgentOutput::Ready);
                        while let Some(turn) = self.queued.pop_front() {
                            send_turn(effects, turn);
                        }
                    }
                    (true, Some(error)) => {
                        let message = format!("claude refused to start: {error}");
                        effects.output(AgentOutput::Failed(message));
                    }
                    (false, Some(error)) => {
                        let message = format!("claude refused {request_id}: {error}");
                        effects.event(SessionEvent::Notice { message });
                    }
                    (false, None) => {}
                }
            }
            ClaudeMessage::Init { session_id, .. } => {
                if session_id != self.conversation {
                    // Never pretend: a different id means the earlier conversation is not
                    // what the CLI is continuing.
                    let reason = format!(
                        "claude answered as conversation {session_id}, not {}",
                        self.conversation
                    );
                    self.conversation = session_id.clone();
                    effects.event(SessionEvent::ConversationReset { reason });
                }
                effects.output(AgentOutput::Conversation {
                    agent_session_id: session_id,
                });
            }
            ClaudeMessage::PermissionAsked(ask) => {
                let request = RequestId(ask.request_id.clone());
                let event = SessionEvent::PermissionRequested {
                    request_id: request.clone(),
                    title: ask.title.clone(),
                    input: ask.input.clone(),
                    options: permission_options(&ask),
                };
                self.permissions.insert(request, ask);
                effects.event(event);
            }
            ClaudeMessage::Event(event) => effects.event(event),
            ClaudeMessage::Spending(usage) => effects.output(AgentOutput::Spending { usage }),
            // Before `initialize` is answered no turn was sent: a `result` then is the CLI
            // failing to start (e.g. `--resume` of a conversation it does not have), which
            // the exit reports.
            ClaudeMessage::TurnEnded { .. } if !self.ready => {
                tracing::debug!("claude ended before it was ready");
            }
            ClaudeMessage::TurnEnded { usage, stop_reason } => {
                self.permissions.clear();
                effects.output(AgentOutput::TurnEnded { usage, stop_reason });
            }
        }
    }
}

/// Answers the CLI's control request `request_id`.
fn control_answer(effects: &mut Effects, request_id: &str, response: Value) {
    effects.write(json!({
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": response},
    }));
}

/// A user message, its images before its text.
fn send_turn(effects: &mut Effects, turn: TurnInput) {
    let mut content: Vec<Value> = turn
        .attachments
        .iter()
        .filter(|a| a.mime_type.starts_with("image/"))
        .map(|image| {
            json!({"type": "image", "source": {"type": "base64", "media_type": image.mime_type, "data": image.data_base64}})
        })
        .collect();
    content.push(json!({"type": "text", "text": turn.text}));
    effects.write(json!({
        "type": "user",
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": null,
        "session_id": "",
    }));
}

/// The buttons of a permission card: always-allow only where the CLI offers rules for it.
fn permission_options(ask: &PermissionAsk) -> Vec<PermissionOption> {
    let option = |id: &str, label: &str, kind| PermissionOption {
        id: id.to_owned(),
        label: label.to_owned(),
        kind,
    };
    let mut options = vec![option(ALLOW, "Allow", PermissionOptionKind::AllowOnce)];
    if !ask.suggestions.is_empty() {
        options.push(option(
            ALLOW_ALWAYS,
            "Always allow",
            PermissionOptionKind::AllowAlways,
        ));
    }
    options.push(option(DENY, "Deny", PermissionOptionKind::RejectOnce));
    options
}

/// The `can_use_tool` answer for a chosen option.
fn permission_answer(ask: &PermissionAsk, option_id: &str) -> Value {
    match option_id {
        ALLOW => json!({"behavior": "allow", "updatedInput": ask.input}),
        ALLOW_ALWAYS => json!({
            "behavior": "allow",
            "updatedInput": ask.input,
            "updatedPermissions": ask.suggestions,
        }),
        _ => json!({"behavior": "deny", "message": "The user denied this in Switchboard."}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(resume: Option<&str>, model: Option<&str>) -> CliStart {
        CliStart {
            command: vec!["claude".into()],
            resume: resume.map(str::to_owned),
            permission_mode: "acceptEdits".into(),
            model: model.map(str::to_owned),
        }
    }

    #[test]
    fn a_first_start_names_its_conversation_and_later_ones_resume_it() {
        let fresh = argv(&start(None, None), "id-1").join(" ");
        assert!(fresh.starts_with("claude -p --input-format stream-json --output-format stream-json --verbose --include-partial-messages --permission-prompt-tool stdio --permission-mode acceptEdits"));
        assert!(fresh.ends_with("--session-id id-1"));
        let resumed = argv(&start(Some("id-1"), Some("opus")), "id-2").join(" ");
        assert!(resumed.ends_with("--resume id-1 --model opus"));
        assert!(!resumed.contains("id-2"));
    }

    #[test]
    fn always_allow_is_offered_only_with_rules_and_sends_them_back() {
        let mut ask = PermissionAsk {
            request_id: "r".into(),
            tool_name: "Bash".into(),
            input: json!({"command": "ls"}),
            suggestions: vec![],
            title: "Bash: ls".into(),
        };
        let ids = |ask: &PermissionAsk| {
            permission_options(ask)
                .into_iter()
                .map(|o| o.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&ask), [ALLOW, DENY]);
        ask.suggestions = vec![json!({"type": "setMode", "mode": "acceptEdits"})];
        assert_eq!(ids(&ask), [ALLOW, ALLOW_ALWAYS, DENY]);
        let always = permission_answer(&ask, ALLOW_ALWAYS);
        assert_eq!(always["updatedInput"]["command"], "ls");
        assert_eq!(always["updatedPermissions"][0]["mode"], "acceptEdits");
        assert_eq!(permission_answer(&ask, DENY)["behavior"], "deny");
    }

    #[test]
    fn turns_wait_for_the_answer_to_initialize() {
        let mut claude = ClaudeProtocol::new(&start(None, None), "id-1".into());
        let mut effects = Effects::default();
        claude.start(&mut effects);
        let turn = TurnInput {
            text: "hi".into(),
            attachments: Vec::new(),
            client_msg_id: None,
        };
        claude.on_command(DriverCommand::Turn(turn), &mut effects);
        let (writes, outputs) = effects.take();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0]["request"]["subtype"], "initialize");
        assert!(outputs.is_empty());
        let answer = json!({"type": "control_response", "response": {"subtype": "success", "request_id": writes[0]["request_id"]}});
        claude.on_line(&answer.to_string(), &mut effects);
        let (writes, outputs) = effects.take();
        assert!(matches!(outputs[..], [AgentOutput::Ready]));
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0]["message"]["content"][0]["text"], "hi");
    }

    #[test]
    fn a_resume_of_a_conversation_the_cli_lacks_ends_as_a_failed_resume() {
        let tail = "No conversation found with session ID: old".to_owned();
        let mut resumed = ClaudeProtocol::new(&start(Some("old"), None), "id-1".into());
        assert!(matches!(
            resumed.exited(Some(1), tail.clone()),
            AgentOutput::ResumeFailed { reason } if reason == tail
        ));
        let mut fresh = ClaudeProtocol::new(&start(None, None), "id-2".into());
        assert!(matches!(
            fresh.exited(Some(1), tail),
            AgentOutput::Exited { code: Some(1), .. }
        ));
    }
}
