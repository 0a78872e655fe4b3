//! The Codex driver: one long-lived `codex app-server` process per session, spoken to in
//! JSON-RPC 2.0 over stdio (`initialize`, `thread/start` or `thread/resume`, `turn/start`,
//! `turn/interrupt`, answers to approval requests); its stdout is read by `codex_events`.
//!
//! Why app-server and not `codex exec --json`: exec runs one process per turn (about 1.1 to
//! 1.6 s each before the answer on this machine), streams no text, and cannot ask for
//! approvals (it runs with `never`). app-server starts once (ready in 0.8 to 1.7 s), then a
//! text turn takes 0.1 to 0.3 s with text deltas, asks before commands and patches, stops a
//! turn on `turn/interrupt`, and resumes a thread from its rollout after the process was
//! killed. Codex keeps threads under `$CODEX_HOME/sessions`.
//!
//! Permission modes are presets of Codex's own approval policy and sandbox (see `MODES`);
//! `<approval>/<sandbox>` (e.g. `untrusted/read-only`) names any other pair. A mode change
//! applies from the next turn (`turn/start` carries it; app-server has no other way).

use super::codex_events::{ApprovalAsk, CodexMessage, CodexParser};
use super::codex_policy::{approval_answer, parse_mode, permission_options, sandbox_policy, MODES};
pub use super::codex_policy::{mode_names, ACCEPT, ACCEPT_FOR_SESSION, DECLINE};
use super::process::{self, spawn_line_reader, StderrTail};
use super::{
    AgentDriver, AgentError, AgentOutput, CliStart, DriverCommand, QueuedDriver, StartRequest,
    TurnInput,
};
use crate::protocol::{RequestId, SessionEvent, Usage};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

/// Starts Codex for a session: `command` is the `codex` executable (and any arguments of
/// its own), `env` is added to the server's environment (`CODEX_HOME`, the provider's key).
pub fn start_codex(
    request: &StartRequest,
    command: Vec<String>,
    env: &BTreeMap<String, String>,
) -> Result<(Box<dyn AgentDriver>, mpsc::Receiver<AgentOutput>), AgentError> {
    let start = CliStart {
        command,
        resume: request.resume.clone(),
        permission_mode: request.permission_mode.clone(),
        model: request.model.clone(),
    };
    let (driver, outputs) = start_app_server(start, env, &request.cwd)?;
    Ok((Box::new(driver), outputs))
}

/// The argv: the app-server on stdio.
pub fn argv(start: &CliStart) -> Vec<String> {
    let mut argv = start.command.clone();
    argv.push("app-server".to_owned());
    argv
}

/// Starts `codex app-server` and its connection task.
pub fn start_app_server(
    start: CliStart,
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Result<(QueuedDriver, mpsc::Receiver<AgentOutput>), AgentError> {
    let spawned = process::spawn(&argv(&start), env, cwd)?;
    let (outputs, output_rx) = mpsc::channel(256);
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (mode, unknown_mode) = match parse_mode(&start.permission_mode) {
        Some(_) => (start.permission_mode.clone(), None),
        None => (MODES[0].0.to_owned(), Some(start.permission_mode.clone())),
    };
    let connection = Connection {
        stdin: spawned.stdin,
        outputs,
        parser: CodexParser::default(),
        cwd: cwd.to_path_buf(),
        resume: start.resume.clone(),
        model: start.model.filter(|m| !m.trim().is_empty()),
        mode,
        mode_to_send: false,
        unknown_mode,
        next_id: 0,
        pending: HashMap::new(),
        thread: None,
        queued: VecDeque::new(),
        turn: TurnState::Idle,
        permissions: HashMap::new(),
        finished: false,
    };
    tokio::spawn(connection.run(command_rx, spawned.stdout, spawned.exited, spawned.stderr));
    Ok((QueuedDriver::new(commands, spawned.process), output_rx))
}

/// What one of our requests was, so its answer can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Initialize,
    Thread,
    Turn,
    Other,
}

/// Where the thread's turn is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TurnState {
    Idle,
    /// `turn/start` sent, its id not known yet; `stop` when an interrupt waits for it.
    Starting {
        stop: bool,
    },
    Running {
        turn_id: String,
    },
}

/// The connection task's state: it alone writes Codex's stdin.
struct Connection {
    stdin: ChildStdin,
    outputs: mpsc::Sender<AgentOutput>,
    parser: CodexParser,
    cwd: PathBuf,
    /// The thread asked for at start; `None` starts a fresh one.
    resume: Option<String>,
    model: Option<String>,
    /// The permission mode in force (or to be sent with the next turn).
    mode: String,
    /// True when `mode` changed since the thread started: the next `turn/start` carries it.
    mode_to_send: bool,
    /// A mode asked for at start that Codex does not have (the default is used instead).
    unknown_mode: Option<String>,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    /// The thread, once started or resumed: turns wait for it.
    thread: Option<String>,
    queued: VecDeque<TurnInput>,
    turn: TurnState,
    /// Open approval requests.
    permissions: HashMap<RequestId, ApprovalAsk>,
    /// Set after a refused resume: nothing more is reported.
    finished: bool,
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
        let version = env!("CARGO_PKG_VERSION");
        self.request(
            Pending::Initialize,
            "initialize",
            json!({"clientInfo": {"name": "switchboard", "title": "Switchboard", "version": version}}),
        )
        .await;
        let mut driver_alive = true;
        loop {
            tokio::select! {
                line = lines.recv() => match line {
                    Some(Ok(line)) => self.on_line(&line, &stderr).await,
                    Some(Err(message)) => self.output(AgentOutput::Garbled(message)).await,
                    None => break,
                },
                command = commands.recv(), if driver_alive => match command {
                    Some(command) => self.on_command(command).await,
                    // The driver was dropped, which kills the process: stdout ends soon.
                    None => driver_alive = false,
                },
            }
            if self.finished {
                // Dropping stdin ends the app-server; the session drops the process.
                return;
            }
        }
        let code = process::exit_code(exited).await;
        let stderr_tail = stderr.text();
        self.output(AgentOutput::Exited { code, stderr_tail }).await;
    }

    async fn output(&self, output: AgentOutput) {
        // The session task gone means nobody listens; the process is being killed anyway.
        let _ = self.outputs.send(output).await;
    }

    async fn event(&self, event: SessionEvent) {
        self.output(AgentOutput::Event(event)).await;
    }

    async fn write(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        if let Err(e) = self.stdin.write_all(line.as_bytes()).await {
            // The exit is reported when stdout closes; a write failure adds nothing.
            tracing::debug!("codex stdin closed: {e}");
        }
    }

    async fn request(&mut self, kind: Pending, method: &str, params: Value) {
        self.next_id += 1;
        let id = self.next_id;
        self.pending.insert(id, kind);
        self.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
    }

    async fn answer(&mut self, rpc_id: Value, result: Value) {
        self.write(json!({"jsonrpc": "2.0", "id": rpc_id, "result": result}))
            .await;
    }

    async fn on_command(&mut self, command: DriverCommand) {
        match command {
            DriverCommand::Turn(turn) => {
                self.queued.push_back(turn);
                self.next_turn().await;
            }
            DriverCommand::Permission { request, option_id } => {
                if let Some(ask) = self.permissions.remove(&request) {
                    let answer = approval_answer(&ask, &option_id);
                    self.answer(ask.rpc_id, answer).await;
                }
            }
            DriverCommand::Interrupt => self.interrupt().await,
            DriverCommand::SetMode(mode) => {
                if parse_mode(&mode).is_some() {
                    self.mode_to_send = self.mode_to_send || mode != self.mode;
                    self.mode = mode;
                } else {
                    let message = format!(
                        "Codex has no permission mode {mode}; it stays in {}.",
                        self.mode
                    );
                    self.event(SessionEvent::Notice { message }).await;
                }
            }
        }
    }

    /// Stop: open approvals are cancelled (which also ends the turn), then the turn is
    /// interrupted; a turn still queued ends here as cancelled.
    async fn interrupt(&mut self) {
        let had_queued = !self.queued.is_empty();
        self.queued.clear();
        for (_, ask) in std::mem::take(&mut self.permissions) {
            let answer = approval_answer(&ask, "cancel");
            self.answer(ask.rpc_id, answer).await;
        }
        match (&self.turn, &self.thread) {
            (TurnState::Running { turn_id }, Some(thread)) => {
                let params = json!({"threadId": thread, "turnId": turn_id});
                self.request(Pending::Other, "turn/interrupt", params).await;
            }
            (TurnState::Starting { .. }, _) => self.turn = TurnState::Starting { stop: true },
            _ if had_queued => {
                self.output(AgentOutput::TurnEnded {
                    usage: Usage::default(),
                    stop_reason: "cancelled".into(),
                })
                .await;
            }
            _ => {}
        }
    }

    /// Sends the next queued turn once the thread is ready and no turn runs.
    async fn next_turn(&mut self) {
        let Some(thread) = self.thread.clone() else {
            return;
        };
        if self.turn != TurnState::Idle {
            return;
        }
        let Some(turn) = self.queued.pop_front() else {
            return;
        };
        let mut input = vec![json!({"type": "text", "text": turn.text, "text_elements": []})];
        input.extend(
            turn.attachments
                .iter()
                .filter(|a| a.mime_type.starts_with("image/"))
                .map(|image| {
                    json!({"type": "image", "url": format!("data:{};base64,{}", image.mime_type, image.data_base64)})
                }),
        );
        let mut params = json!({"threadId": thread, "input": input});
        if self.mode_to_send {
            if let Some((approval, sandbox)) = parse_mode(&self.mode) {
                params["approvalPolicy"] = json!(approval);
                params["sandboxPolicy"] = sandbox_policy(sandbox);
            }
            self.mode_to_send = false;
        }
        self.turn = TurnState::Starting { stop: false };
        self.request(Pending::Turn, "turn/start", params).await;
    }

    async fn on_line(&mut self, line: &str, stderr: &StderrTail) {
        let messages = match self.parser.parse(line) {
            Ok(messages) => messages,
            Err(e) => {
                let snippet: String = line.chars().take(200).collect();
                let message = format!("codex printed a line that is not JSON-RPC ({e}): {snippet}");
                return self.output(AgentOutput::Garbled(message)).await;
            }
        };
        for message in messages {
            self.on_message(message, stderr).await;
            if self.finished {
                return;
            }
        }
    }

    async fn on_message(&mut self, message: CodexMessage, stderr: &StderrTail) {
        match message {
            CodexMessage::Response { id, result } => {
                let kind = self.pending.remove(&id).unwrap_or(Pending::Other);
                self.on_response(kind, result, stderr).await;
            }
            CodexMessage::PermissionAsked(ask) => {
                let request = RequestId(ask.request_id.clone());
                let event = SessionEvent::PermissionRequested {
                    request_id: request.clone(),
                    title: ask.title.clone(),
                    input: ask.input.clone(),
                    options: permission_options(&ask),
                };
                self.permissions.insert(request, ask);
                self.event(event).await;
            }
            CodexMessage::Unsupported { rpc_id, method } => {
                tracing::info!(%method, "codex asked for something Switchboard does not serve");
                self.write(json!({
                    "jsonrpc": "2.0",
                    "id": rpc_id,
                    "error": {"code": -32601, "message": format!("Switchboard does not support {method}")},
                }))
                .await;
            }
            CodexMessage::Resolved { rpc_id } => {
                self.permissions.retain(|_, ask| ask.rpc_id != rpc_id);
            }
            CodexMessage::TurnStarted { turn_id } => {
                if matches!(self.turn, TurnState::Starting { .. } | TurnState::Idle) {
                    self.turn_known(turn_id).await;
                }
            }
            CodexMessage::Event(event) => self.event(event).await,
            CodexMessage::TurnEnded {
                usage, stop_reason, ..
            } => {
                self.turn = TurnState::Idle;
                self.permissions.clear();
                self.output(AgentOutput::TurnEnded { usage, stop_reason })
                    .await;
                self.next_turn().await;
            }
            CodexMessage::Log(line) => tracing::info!("{line}"),
        }
    }

    /// The running turn's id is known: a stop that waited for it is sent now.
    async fn turn_known(&mut self, turn_id: String) {
        let stop = self.turn == TurnState::Starting { stop: true };
        self.turn = TurnState::Running {
            turn_id: turn_id.clone(),
        };
        if stop {
            if let Some(thread) = self.thread.clone() {
                let params = json!({"threadId": thread, "turnId": turn_id});
                self.request(Pending::Other, "turn/interrupt", params).await;
            }
        }
    }

    async fn on_response(
        &mut self,
        kind: Pending,
        result: Result<Value, String>,
        stderr: &StderrTail,
    ) {
        match (kind, result) {
            (Pending::Initialize, Ok(_)) => {
                self.write(json!({"jsonrpc": "2.0", "method": "initialized"}))
                    .await;
                self.open_thread().await;
            }
            (Pending::Initialize, Err(error)) => {
                let message = with_stderr(format!("codex refused to start: {error}"), stderr);
                self.output(AgentOutput::Failed(message)).await;
            }
            (Pending::Thread, Ok(result)) => self.thread_ready(&result).await,
            (Pending::Thread, Err(error)) if self.resume.is_some() => {
                // Never pretend: the session says the conversation starts afresh.
                let reason = format!("codex could not resume its thread: {error}");
                self.output(AgentOutput::ResumeFailed { reason }).await;
                self.finished = true;
            }
            (Pending::Thread, Err(error)) => {
                let message =
                    with_stderr(format!("codex refused to start a thread: {error}"), stderr);
                self.output(AgentOutput::Failed(message)).await;
            }
            (Pending::Turn, Ok(result)) => {
                if let Some(turn_id) = result.pointer("/turn/id").and_then(Value::as_str) {
                    if matches!(self.turn, TurnState::Starting { .. }) {
                        self.turn_known(turn_id.to_owned()).await;
                    }
                }
            }
            (Pending::Turn, Err(error)) => {
                self.turn = TurnState::Idle;
                self.event(SessionEvent::Error {
                    message: format!("codex refused the message: {error}"),
                    detail: None,
                })
                .await;
                self.output(AgentOutput::TurnEnded {
                    usage: Usage::default(),
                    stop_reason: "error".into(),
                })
                .await;
                self.next_turn().await;
            }
            (Pending::Other, Err(error)) => {
                tracing::info!("codex refused a request: {error}");
            }
            (Pending::Other, Ok(_)) => {}
        }
    }

    /// `thread/start`, or `thread/resume` of the stored thread, in the session's mode.
    async fn open_thread(&mut self) {
        let (approval, sandbox) = parse_mode(&self.mode).unwrap_or((MODES[0].1, MODES[0].2));
        let mut params = json!({
            "cwd": self.cwd.display().to_string(),
            "approvalPolicy": approval,
            "sandbox": sandbox,
        });
        if let Some(model) = &self.model {
            params["model"] = json!(model);
        }
        match self.resume.clone() {
            Some(thread) => {
                params["threadId"] = json!(thread);
                // The transcript is Switchboard's; the history need not come back.
                params["excludeTurns"] = json!(true);
                self.request(Pending::Thread, "thread/resume", params).await;
            }
            None => self.request(Pending::Thread, "thread/start", params).await,
        }
    }

    async fn thread_ready(&mut self, result: &Value) {
        let Some(thread) = result.pointer("/thread/id").and_then(Value::as_str) else {
            let message = format!("codex started a thread without an id: {result}");
            return self.output(AgentOutput::Failed(message)).await;
        };
        if let Some(asked) = self.resume.as_deref().filter(|asked| *asked != thread) {
            let reason = format!("codex answered as thread {thread}, not {asked}");
            self.event(SessionEvent::ConversationReset { reason }).await;
        }
        self.thread = Some(thread.to_owned());
        self.output(AgentOutput::Conversation {
            agent_session_id: thread.to_owned(),
        })
        .await;
        if let Some(mode) = self.unknown_mode.take() {
            let message = format!(
                "Codex has no permission mode {mode}; using {} instead.",
                self.mode
            );
            self.event(SessionEvent::Notice { message }).await;
        }
        self.output(AgentOutput::Ready).await;
        self.next_turn().await;
    }
}

/// `message`, and the last lines Codex wrote to stderr when there are any.
fn with_stderr(message: String, stderr: &StderrTail) -> String {
    let tail = stderr.text();
    if tail.trim().is_empty() {
        message
    } else {
        format!("{message}\n{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_server_runs_behind_the_configured_command() {
        let start = CliStart {
            command: vec!["npx".into(), "codex".into()],
            resume: None,
            permission_mode: "untrusted".into(),
            model: None,
        };
        assert_eq!(argv(&start), ["npx", "codex", "app-server"]);
    }
}
