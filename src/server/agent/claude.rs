//! The Claude Code driver: one long-lived `claude -p --input-format stream-json` process
//! per session. Turns, permission answers, interrupts and mode changes go to its stdin as
//! stream-json lines (the CLI's control protocol); its stdout is read by `claude_events`.

use super::claude_events::{ClaudeMessage, ClaudeParser, PermissionAsk};
use super::process::{self, spawn_line_reader, StderrTail};
use super::{AgentError, AgentOutput, CliStart, DriverCommand, QueuedDriver, TurnInput};
use crate::protocol::{PermissionOption, PermissionOptionKind, RequestId, SessionEvent};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

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
) -> Result<(QueuedDriver, mpsc::Receiver<AgentOutput>), AgentError> {
    let fresh_id = uuid::Uuid::new_v4().to_string();
    let spawned = process::spawn(&argv(&start, &fresh_id), env, cwd)?;
    let (outputs, output_rx) = mpsc::channel(256);
    let (commands, command_rx) = mpsc::unbounded_channel();
    let connection = Connection {
        stdin: spawned.stdin,
        outputs,
        parser: ClaudeParser::default(),
        ready: false,
        queued: VecDeque::new(),
        permissions: HashMap::new(),
        conversation: start.resume.clone().unwrap_or(fresh_id),
        resuming: start.resume.is_some(),
        next_request: 0,
    };
    tokio::spawn(connection.run(command_rx, spawned.stdout, spawned.exited, spawned.stderr));
    Ok((QueuedDriver::new(commands, spawned.process), output_rx))
}

/// The connection task's state: it alone writes the CLI's stdin.
struct Connection {
    stdin: ChildStdin,
    outputs: mpsc::Sender<AgentOutput>,
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

impl Connection {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<DriverCommand>,
        stdout: ChildStdout,
        exited: oneshot::Receiver<Option<i32>>,
        stderr: StderrTail,
    ) {
        let mut lines = spawn_line_reader(stdout);
        self.control("init", json!({"subtype": "initialize", "hooks": null}))
            .await;
        let mut driver_alive = true;
        loop {
            tokio::select! {
                line = lines.recv() => match line {
                    Some(Ok(line)) => self.on_line(&line).await,
                    Some(Err(message)) => self.output(AgentOutput::Garbled(message)).await,
                    None => break,
                },
                command = commands.recv(), if driver_alive => match command {
                    Some(command) => self.on_command(command).await,
                    // The driver was dropped, which kills the process: stdout ends soon.
                    None => driver_alive = false,
                },
            }
        }
        let code = process::exit_code(exited).await;
        let stderr_tail = stderr.text();
        if self.resuming && !self.ready && stderr_tail.contains(RESUME_MISSING) {
            let reason = stderr_tail
                .lines()
                .find(|l| l.contains(RESUME_MISSING))
                .unwrap_or(RESUME_MISSING)
                .to_owned();
            return self.output(AgentOutput::ResumeFailed { reason }).await;
        }
        self.output(AgentOutput::Exited { code, stderr_tail }).await;
    }

    async fn output(&self, output: AgentOutput) {
        // The session task gone means nobody listens; the process is being killed anyway.
        let _ = self.outputs.send(output).await;
    }

    async fn write(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        if let Err(e) = self.stdin.write_all(line.as_bytes()).await {
            // The exit is reported when stdout closes; a write failure adds nothing.
            tracing::debug!("claude stdin closed: {e}");
        }
    }

    async fn control(&mut self, prefix: &str, request: Value) {
        self.next_request += 1;
        let request_id = format!("{prefix}_{}", self.next_request);
        self.write(
            json!({"type": "control_request", "request_id": request_id, "request": request}),
        )
        .await;
    }

    async fn on_command(&mut self, command: DriverCommand) {
        match command {
            DriverCommand::Turn(turn) if self.ready => self.send_turn(turn).await,
            DriverCommand::Turn(turn) => self.queued.push_back(turn),
            DriverCommand::Permission { request, option_id } => {
                if let Some(ask) = self.permissions.remove(&request) {
                    let answer = permission_answer(&ask, &option_id);
                    self.answer(&ask.request_id, answer).await;
                }
            }
            DriverCommand::Interrupt => {
                self.queued.clear();
                // Open questions are answered first, so the CLI is not left waiting on them.
                for (_, ask) in std::mem::take(&mut self.permissions) {
                    let answer = json!({"behavior": "deny", "message": "The user stopped the turn.", "interrupt": true});
                    self.answer(&ask.request_id, answer).await;
                }
                self.control("interrupt", json!({"subtype": "interrupt"}))
                    .await;
            }
            DriverCommand::SetMode(mode) => {
                self.control(
                    "mode",
                    json!({"subtype": "set_permission_mode", "mode": mode}),
                )
                .await;
            }
        }
    }

    async fn answer(&mut self, request_id: &str, response: Value) {
        self.write(json!({
            "type": "control_response",
            "response": {"subtype": "success", "request_id": request_id, "response": response},
        }))
        .await;
    }

    async fn send_turn(&mut self, turn: TurnInput) {
        let mut content: Vec<Value> = turn
            .attachments
            .iter()
            .filter(|a| a.mime_type.starts_with("image/"))
            .map(|image| {
                json!({"type": "image", "source": {"type": "base64", "media_type": image.mime_type, "data": image.data_base64}})
            })
            .collect();
        content.push(json!({"type": "text", "text": turn.text}));
        self.write(json!({
            "type": "user",
            "message": {"role": "user", "content": content},
            "parent_tool_use_id": null,
            "session_id": "",
        }))
        .await;
    }

    async fn on_line(&mut self, line: &str) {
        let messages = match self.parser.parse(line) {
            Ok(messages) => messages,
            Err(e) => {
                let snippet: String = line.chars().take(200).collect();
                let message =
                    format!("claude printed a line that is not stream-json ({e}): {snippet}");
                return self.output(AgentOutput::Garbled(message)).await;
            }
        };
        for message in messages {
            self.on_message(message).await;
        }
    }

    async fn on_message(&mut self, message: ClaudeMessage) {
        match message {
            ClaudeMessage::ControlResponse { request_id, error } => {
                let initialize = request_id.starts_with("init_");
                match (initialize, error) {
                    (true, None) => {
                        self.ready = true;
                        self.output(AgentOutput::Ready).await;
                        while let Some(turn) = self.queued.pop_front() {
                            self.send_turn(turn).await;
                        }
                    }
                    (true, Some(error)) => {
                        let message = format!("claude refused to start: {error}");
                        self.output(AgentOutput::Failed(message)).await;
                    }
                    (false, Some(error)) => {
                        let message = format!("claude refused {request_id}: {error}");
                        self.output(AgentOutput::Event(SessionEvent::Notice { message }))
                            .await;
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
                    self.output(AgentOutput::Event(SessionEvent::ConversationReset {
                        reason,
                    }))
                    .await;
                }
                self.output(AgentOutput::Conversation {
                    agent_session_id: session_id,
                })
                .await;
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
                self.output(AgentOutput::Event(event)).await;
            }
            ClaudeMessage::Event(event) => self.output(AgentOutput::Event(event)).await,
            // Before `initialize` is answered no turn was sent: a `result` then is the CLI
            // failing to start (e.g. `--resume` of a conversation it does not have), which
            // the exit reports.
            ClaudeMessage::TurnEnded { .. } if !self.ready => {
                tracing::debug!("claude ended before it was ready");
            }
            ClaudeMessage::TurnEnded { usage, stop_reason } => {
                self.permissions.clear();
                self.output(AgentOutput::TurnEnded { usage, stop_reason })
                    .await;
            }
        }
    }
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
}
