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
use super::connection::{self, Effects, Protocol};
use super::process::{self, StderrTail};
use super::{
    AgentDriver, AgentError, AgentOutput, CliStart, DriverCommand, QueuedDriver, StartRequest,
    TurnInput,
};
use crate::protocol::{RequestId, SessionEvent, Usage};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// Starts Codex for a session: `command` is the `codex` executable (and any arguments of
/// its own), `env` is added to the server's environment (`CODEX_HOME`, the provider's key).
pub fn start_codex(
    request: &StartRequest,
    command: Vec<String>,
    env: &BTreeMap<String, String>,
) -> Result<(Box<dyn AgentDriver>, mpsc::Receiver<super::Numbered>), AgentError> {
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
) -> Result<(QueuedDriver, mpsc::Receiver<super::Numbered>), AgentError> {
    let spawned = process::spawn(&argv(&start), env, cwd)?;
    let protocol = CodexProtocol::new(start, cwd, spawned.stderr.clone());
    Ok(connection::launch(protocol, spawned))
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

/// Codex's app-server JSON-RPC: what the connection needs to remember between lines.
struct CodexProtocol {
    parser: CodexParser,
    /// Codex's stderr, for the detail of a refusal to start.
    stderr: StderrTail,
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
}

impl Protocol for CodexProtocol {
    const NAME: &'static str = "codex";

    fn start(&mut self, effects: &mut Effects) {
        let version = env!("CARGO_PKG_VERSION");
        self.request(
            effects,
            Pending::Initialize,
            "initialize",
            json!({"clientInfo": {"name": "switchboard", "title": "Switchboard", "version": version}}),
        );
    }

    fn on_line(&mut self, line: &str, effects: &mut Effects) {
        let messages = match self.parser.parse(line) {
            Ok(messages) => messages,
            Err(e) => {
                let snippet: String = line.chars().take(200).collect();
                let message = format!("codex printed a line that is not JSON-RPC ({e}): {snippet}");
                return effects.output(AgentOutput::Garbled(message));
            }
        };
        for message in messages {
            self.on_message(message, effects);
            // After a refused resume nothing more is reported.
            if effects.finished() {
                return;
            }
        }
    }

    fn on_command(&mut self, command: DriverCommand, effects: &mut Effects) {
        match command {
            DriverCommand::Turn(turn) => {
                self.queued.push_back(turn);
                self.next_turn(effects);
            }
            DriverCommand::Permission { request, option_id } => {
                if let Some(ask) = self.permissions.remove(&request) {
                    let answer = approval_answer(&ask, &option_id);
                    rpc_answer(effects, ask.rpc_id, answer);
                }
            }
            DriverCommand::Interrupt => self.interrupt(effects),
            DriverCommand::SetMode(mode) => {
                if parse_mode(&mode).is_some() {
                    self.mode_to_send = self.mode_to_send || mode != self.mode;
                    self.mode = mode;
                } else {
                    let message = format!(
                        "Codex has no permission mode {mode}; it stays in {}.",
                        self.mode
                    );
                    effects.event(SessionEvent::Notice { message });
                }
            }
        }
    }
}

impl CodexProtocol {
    /// The state of an app-server started as `start` asks, in `cwd`.
    fn new(start: CliStart, cwd: &Path, stderr: StderrTail) -> Self {
        let (mode, unknown_mode) = match parse_mode(&start.permission_mode) {
            Some(_) => (start.permission_mode, None),
            None => (MODES[0].0.to_owned(), Some(start.permission_mode)),
        };
        CodexProtocol {
            parser: CodexParser::default(),
            stderr,
            cwd: cwd.to_path_buf(),
            resume: start.resume,
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
        }
    }

    fn request(&mut self, effects: &mut Effects, kind: Pending, method: &str, params: Value) {
        self.next_id += 1;
        let id = self.next_id;
        self.pending.insert(id, kind);
        effects.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
    }

    /// Stop: open approvals are cancelled (which also ends the turn), then the turn is
    /// interrupted; a turn still queued ends here as cancelled.
    fn interrupt(&mut self, effects: &mut Effects) {
        let had_queued = !self.queued.is_empty();
        self.queued.clear();
        for (_, ask) in std::mem::take(&mut self.permissions) {
            let answer = approval_answer(&ask, "cancel");
            rpc_answer(effects, ask.rpc_id, answer);
        }
        match (&self.turn, &self.thread) {
            (TurnState::Running { turn_id }, Some(thread)) => {
                let params = json!({"threadId": thread, "turnId": turn_id});
                self.request(effects, Pending::Other, "turn/interrupt", params);
            }
            (TurnState::Starting { .. }, _) => self.turn = TurnState::Starting { stop: true },
            _ if had_queued => {
                effects.output(AgentOutput::TurnEnded {
                    usage: Usage::default(),
                    stop_reason: "cancelled".into(),
                });
            }
            _ => {}
        }
    }

    /// Sends the next queued turn once the thread is ready and no turn runs.
    fn next_turn(&mut self, effects: &mut Effects) {
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
        self.request(effects, Pending::Turn, "turn/start", params);
    }

    fn on_message(&mut self, message: CodexMessage, effects: &mut Effects) {
        match message {
            CodexMessage::Response { id, result } => {
                let kind = self.pending.remove(&id).unwrap_or(Pending::Other);
                self.on_response(kind, result, effects);
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
                effects.event(event);
            }
            CodexMessage::Unsupported { rpc_id, method } => {
                tracing::info!(%method, "codex asked for something Switchboard does not serve");
                effects.write(json!({
                    "jsonrpc": "2.0",
                    "id": rpc_id,
                    "error": {"code": -32601, "message": format!("Switchboard does not support {method}")},
                }));
            }
            CodexMessage::Resolved { rpc_id } => {
                self.permissions.retain(|_, ask| ask.rpc_id != rpc_id);
            }
            CodexMessage::TurnStarted { turn_id } => {
                if matches!(self.turn, TurnState::Starting { .. } | TurnState::Idle) {
                    self.turn_known(turn_id, effects);
                }
            }
            CodexMessage::Event(event) => effects.event(event),
            CodexMessage::Spending(usage) => effects.output(AgentOutput::Spending { usage }),
            CodexMessage::TurnEnded {
                usage, stop_reason, ..
            } => {
                self.turn = TurnState::Idle;
                self.permissions.clear();
                effects.output(AgentOutput::TurnEnded { usage, stop_reason });
                self.next_turn(effects);
            }
            CodexMessage::Log(line) => tracing::info!("{line}"),
        }
    }

    /// The running turn's id is known: a stop that waited for it is sent now.
    fn turn_known(&mut self, turn_id: String, effects: &mut Effects) {
        let stop = self.turn == TurnState::Starting { stop: true };
        self.turn = TurnState::Running {
            turn_id: turn_id.clone(),
        };
        if stop {
            if let Some(thread) = self.thread.clone() {
                let params = json!({"threadId": thread, "turnId": turn_id});
                self.request(effects, Pending::Other, "turn/interrupt", params);
            }
        }
    }

    fn on_response(&mut self, kind: Pending, result: Result<Value, String>, effects: &mut Effects) {
        match (kind, result) {
            (Pending::Initialize, Ok(_)) => {
                effects.write(json!({"jsonrpc": "2.0", "method": "initialized"}));
                self.open_thread(effects);
            }
            (Pending::Initialize, Err(error)) => {
                let message = self.with_stderr(format!("codex refused to start: {error}"));
                effects.output(AgentOutput::Failed(message));
            }
            (Pending::Thread, Ok(result)) => self.thread_ready(&result, effects),
            (Pending::Thread, Err(error)) if self.resume.is_some() => {
                // Never pretend: the session says the conversation starts afresh.
                let reason = format!("codex could not resume its thread: {error}");
                effects.output(AgentOutput::ResumeFailed { reason });
                effects.finish();
            }
            (Pending::Thread, Err(error)) => {
                let message = self.with_stderr(format!("codex refused to start a thread: {error}"));
                effects.output(AgentOutput::Failed(message));
            }
            (Pending::Turn, Ok(result)) => {
                if let Some(turn_id) = result.pointer("/turn/id").and_then(Value::as_str) {
                    if matches!(self.turn, TurnState::Starting { .. }) {
                        self.turn_known(turn_id.to_owned(), effects);
                    }
                }
            }
            (Pending::Turn, Err(error)) => {
                self.turn = TurnState::Idle;
                effects.event(SessionEvent::Error {
                    message: format!("codex refused the message: {error}"),
                    detail: None,
                });
                effects.output(AgentOutput::TurnEnded {
                    usage: Usage::default(),
                    stop_reason: "error".into(),
                });
                self.next_turn(effects);
            }
            (Pending::Other, Err(error)) => {
                tracing::info!("codex refused a request: {error}");
            }
            (Pending::Other, Ok(_)) => {}
        }
    }

    /// `thread/start`, or `thread/resume` of the stored thread, in the session's mode.
    fn open_thread(&mut self, effects: &mut Effects) {
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
                self.request(effects, Pending::Thread, "thread/resume", params);
            }
            None => self.request(effects, Pending::Thread, "thread/start", params),
        }
    }

    fn thread_ready(&mut self, result: &Value, effects: &mut Effects) {
        let Some(thread) = result.pointer("/thread/id").and_then(Value::as_str) else {
            let message = format!("codex started a thread without an id: {result}");
            return effects.output(AgentOutput::Failed(message));
        };
        if let Some(asked) = self.resume.as_deref().filter(|asked| *asked != thread) {
            let reason = format!("codex answered as thread {thread}, not {asked}");
            effects.event(SessionEvent::ConversationReset { reason });
        }
        self.thread = Some(thread.to_owned());
        effects.output(AgentOutput::Conversation {
            agent_session_id: thread.to_owned(),
        });
        if let Some(mode) = self.unknown_mode.take() {
            let message = format!(
                "Codex has no permission mode {mode}; using {} instead.",
                self.mode
            );
            effects.event(SessionEvent::Notice { message });
        }
        effects.output(AgentOutput::Ready);
        self.next_turn(effects);
    }

    /// `message`, and the last lines Codex wrote to stderr when there are any.
    fn with_stderr(&self, message: String) -> String {
        let tail = self.stderr.text();
        if tail.trim().is_empty() {
            message
        } else {
            format!("{message}\n{tail}")
        }
    }
}

/// The JSON-RPC result for Codex's request `rpc_id`.
fn rpc_answer(effects: &mut Effects, rpc_id: Value, result: Value) {
    effects.write(json!({"jsonrpc": "2.0", "id": rpc_id, "result": result}));
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

    /// A protocol whose `initialize` Codex has answered, and what it asked for so far.
    fn initialized(resume: Option<&str>) -> (CodexProtocol, Effects) {
        let start = CliStart {
            command: vec!["codex".into()],
            resume: resume.map(str::to_owned),
            permission_mode: MODES[0].0.to_owned(),
            model: None,
        };
        let mut codex = CodexProtocol::new(start, Path::new("/w"), StderrTail::default());
        let mut effects = Effects::default();
        codex.start(&mut effects);
        codex.on_line(r#"{"id": 1, "result": {}}"#, &mut effects);
        (codex, effects)
    }

    #[test]
    fn a_stop_before_the_turn_has_an_id_is_sent_once_it_has_one() {
        let (mut codex, mut effects) = initialized(None);
        codex.on_line(
            r#"{"id": 2, "result": {"thread": {"id": "t1"}}}"#,
            &mut effects,
        );
        let (writes, outputs) = effects.take();
        let methods: Vec<_> = writes.iter().map(|w| w["method"].clone()).collect();
        assert_eq!(methods, ["initialize", "initialized", "thread/start"]);
        assert!(matches!(
            outputs[..],
            [AgentOutput::Conversation { .. }, AgentOutput::Ready]
        ));
        let turn = TurnInput {
            text: "hi".into(),
            attachments: Vec::new(),
            client_msg_id: None,
        };
        codex.on_command(DriverCommand::Turn(turn), &mut effects);
        codex.on_command(DriverCommand::Interrupt, &mut effects);
        let (writes, _) = effects.take();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0]["method"], "turn/start");
        codex.on_line(
            r#"{"id": 3, "result": {"turn": {"id": "u1"}}}"#,
            &mut effects,
        );
        let (writes, _) = effects.take();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0]["method"], "turn/interrupt");
        assert_eq!(writes[0]["params"]["turnId"], "u1");
    }

    #[test]
    fn a_refused_resume_is_reported_and_ends_the_connection() {
        let (mut codex, mut effects) = initialized(Some("t0"));
        codex.on_line(
            r#"{"id": 2, "error": {"message": "no rollout"}}"#,
            &mut effects,
        );
        assert!(effects.finished());
        let (writes, outputs) = effects.take();
        assert_eq!(writes[2]["method"], "thread/resume");
        assert_eq!(writes[2]["params"]["threadId"], "t0");
        assert!(matches!(
            &outputs[..],
            [AgentOutput::ResumeFailed { reason }] if reason.contains("no rollout")
        ));
    }
}
