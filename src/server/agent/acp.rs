//! The ACP client driver: speaks JSON-RPC 2.0 over an agent's stdio (initialize,
//! session/new or session/load, session/prompt, session/cancel, permission answers). The
//! demo agent uses it today; any ACP agent (gemini --acp, claude-agent-acp) uses it later.

use super::acp_events::{self, Inbound, Translator};
use super::process::{self, spawn_line_reader, StderrTail};
use super::{AgentError, AgentOutput, DriverCommand, QueuedDriver, TurnInput};
use crate::protocol::{RequestId, SessionEvent};
use agent_client_protocol_schema::{v1 as acp, ProtocolVersion};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

/// Quiet time after a session/load answer before the session counts as loaded.
const SETTLE_QUIET: std::time::Duration = std::time::Duration::from_millis(300);
/// The longest a replay after the answer may delay the first prompt.
const SETTLE_MAX: std::time::Duration = std::time::Duration::from_secs(3);

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Starts the agent and its connection task. `resume` names an ACP session to load.
pub fn start(
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    resume: Option<String>,
    mode: Option<String>,
) -> Result<(QueuedDriver, mpsc::Receiver<AgentOutput>), AgentError> {
    let spawned = process::spawn(argv, env, cwd)?;
    let (outputs, output_rx) = mpsc::channel(256);
    let (commands, command_rx) = mpsc::unbounded_channel();
    let connection = Connection {
        stdin: spawned.stdin,
        outputs,
        next_id: 0,
        pending: HashMap::new(),
        agent_session: None,
        queued: VecDeque::new(),
        permissions: HashMap::new(),
        translator: Translator::default(),
        cwd: cwd.to_path_buf(),
        resume,
        mode,
        loading: false,
        settling: None,
    };
    tokio::spawn(connection.run(command_rx, spawned.stdout, spawned.exited, spawned.stderr));
    Ok((QueuedDriver::new(commands, spawned.process), output_rx))
}

/// What an outstanding request of ours was.
enum Pending {
    Initialize,
    NewSession,
    LoadSession,
    Prompt,
    SetMode,
}

/// The connection task's state: it alone writes the agent's stdin.
struct Connection {
    stdin: ChildStdin,
    outputs: mpsc::Sender<AgentOutput>,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    /// The ACP session id once session/new or session/load succeeded.
    agent_session: Option<String>,
    /// Prompts sent before the agent was ready.
    queued: VecDeque<TurnInput>,
    /// Open permission requests: our id -> the JSON-RPC id to answer.
    permissions: HashMap<RequestId, Value>,
    translator: Translator,
    cwd: PathBuf,
    resume: Option<String>,
    /// True while session/load replays history we already have in our log.
    loading: bool,
    /// The permission mode the session asked for; set after session/new or session/load
    /// when the agent starts in another one (claude-agent-acp starts in `auto`).
    mode: Option<String>,
    /// After session/load answered: when the replay that may still follow is over (no
    /// update for `SETTLE_QUIET`, at most `SETTLE_MAX` after the answer), the session is
    /// ready. Gemini answers session/load before sending most of its replay.
    settling: Option<(tokio::time::Instant, tokio::time::Instant)>,
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
        let mut initialize = acp::InitializeRequest::new(ProtocolVersion::V1);
        // No fs or terminal: the agent works on the files itself, inside its cwd.
        initialize.client_capabilities = acp::ClientCapabilities::default();
        self.request("initialize", to_value(&initialize), Pending::Initialize)
            .await;
        let mut driver_alive = true;
        loop {
            let settle = self.settling.map(|(_, at)| at);
            tokio::select! {
                _ = sleep_until_some(settle) => self.settled().await,
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
        self.output(AgentOutput::Exited {
            code,
            stderr_tail: stderr.text(),
        })
        .await;
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
            tracing::debug!("agent stdin closed: {e}");
        }
    }

    async fn request(&mut self, method: &str, params: Value, pending: Pending) {
        self.next_id += 1;
        let id = self.next_id;
        self.pending.insert(id, pending);
        self.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
    }

    async fn on_command(&mut self, command: DriverCommand) {
        match command {
            DriverCommand::Turn(turn) => match self.agent_session.clone() {
                Some(session) => self.prompt(session, turn).await,
                None => self.queued.push_back(turn),
            },
            DriverCommand::Permission { request, option_id } => {
                if let Some(id) = self.permissions.remove(&request) {
                    let outcome = acp::RequestPermissionOutcome::Selected(
                        acp::SelectedPermissionOutcome::new(option_id),
                    );
                    let result = to_value(&acp::RequestPermissionResponse::new(outcome));
                    self.write(json!({"jsonrpc": "2.0", "id": id, "result": result}))
                        .await;
                }
            }
            DriverCommand::SetMode(mode) => {
                if let Some(session) = self.agent_session.clone() {
                    let params = to_value(&acp::SetSessionModeRequest::new(session, mode));
                    self.request("session/set_mode", params, Pending::SetMode)
                        .await;
                }
            }
            DriverCommand::Interrupt => {
                self.queued.clear();
                // ACP: on cancel the client answers every open permission request "cancelled".
                for (_, id) in std::mem::take(&mut self.permissions) {
                    let result = to_value(&acp::RequestPermissionResponse::new(
                        acp::RequestPermissionOutcome::Cancelled,
                    ));
                    self.write(json!({"jsonrpc": "2.0", "id": id, "result": result}))
                        .await;
                }
                if let Some(session) = self.agent_session.clone() {
                    let params = to_value(&acp::CancelNotification::new(session));
                    self.write(
                        json!({"jsonrpc": "2.0", "method": "session/cancel", "params": params}),
                    )
                    .await;
                }
            }
        }
    }

    async fn prompt(&mut self, session: String, turn: TurnInput) {
        self.translator.begin_turn();
        let mut prompt: Vec<acp::ContentBlock> = turn
            .attachments
            .into_iter()
            .filter(|a| a.mime_type.starts_with("image/"))
            .map(|image| {
                acp::ContentBlock::Image(acp::ImageContent::new(image.data_base64, image.mime_type))
            })
            .collect();
        prompt.push(acp::ContentBlock::Text(acp::TextContent::new(turn.text)));
        let params = to_value(&acp::PromptRequest::new(session, prompt));
        // Updates before the first prompt replay the loaded conversation; from here on
        // they are this turn's.
        self.loading = false;
        self.request("session/prompt", params, Pending::Prompt)
            .await;
    }

    /// The loaded conversation's replay is over: updates from now on are live.
    async fn settled(&mut self) {
        self.settling = None;
        self.loading = false;
        if let Some(session) = self.resume.clone() {
            self.ready(session).await;
        }
    }

    /// Switches to the session's permission mode when the agent offers it but started in
    /// another; agents without modes are left alone.
    async fn apply_mode(&mut self, result: &Value) {
        let modes = &result["modes"];
        let Some(wanted) = self.mode.clone() else {
            return;
        };
        let offered = modes["availableModes"]
            .as_array()
            .is_some_and(|list| list.iter().any(|m| m["id"] == wanted.as_str()));
        let Some(session) = self.agent_session.clone().or_else(|| self.resume.clone()) else {
            return;
        };
        if offered && modes["currentModeId"] != wanted.as_str() {
            let params = to_value(&acp::SetSessionModeRequest::new(session, wanted));
            self.request("session/set_mode", params, Pending::SetMode)
                .await;
        }
    }

    async fn ready(&mut self, session: String) {
        self.agent_session = Some(session.clone());
        self.output(AgentOutput::Ready).await;
        self.output(AgentOutput::Conversation {
            agent_session_id: session.clone(),
        })
        .await;
        while let Some(turn) = self.queued.pop_front() {
            self.prompt(session.clone(), turn).await;
        }
    }

    async fn new_session(&mut self) {
        let params = to_value(&acp::NewSessionRequest::new(self.cwd.clone()));
        self.request("session/new", params, Pending::NewSession)
            .await;
    }

    async fn on_line(&mut self, line: &str) {
        let inbound = match acp_events::parse_line(line) {
            Ok(inbound) => inbound,
            Err(e) => {
                let snippet: String = line.chars().take(200).collect();
                return self
                    .output(AgentOutput::Garbled(format!(
                        "agent printed a line that is not ACP ({e}): {snippet}"
                    )))
                    .await;
            }
        };
        match inbound {
            Inbound::Response { id, outcome } => {
                let pending = id.as_u64().and_then(|id| self.pending.remove(&id));
                self.on_response(pending, outcome).await;
            }
            Inbound::Request { id, method, params } => self.on_request(id, &method, params).await,
            Inbound::Notification { method, params } => {
                if let Some((answered, _)) = self.settling {
                    let quiet = tokio::time::Instant::now() + SETTLE_QUIET;
                    self.settling = Some((answered, quiet.min(answered + SETTLE_MAX)));
                }
                if method != "session/update" || self.loading {
                    return;
                }
                match self.translator.session_update(params) {
                    Ok(events) => {
                        for event in events {
                            self.output(AgentOutput::Event(event)).await;
                        }
                    }
                    Err(e) => self.output(AgentOutput::Garbled(e)).await,
                }
            }
        }
    }

    async fn on_response(&mut self, pending: Option<Pending>, outcome: Result<Value, String>) {
        match (pending, outcome) {
            (None, _) => {
                self.output(AgentOutput::Garbled(
                    "answer to a request never made".into(),
                ))
                .await
            }
            (Some(Pending::Initialize), Ok(_)) => match self.resume.clone() {
                Some(session) => {
                    self.loading = true;
                    let params = to_value(&acp::LoadSessionRequest::new(session, self.cwd.clone()));
                    self.request("session/load", params, Pending::LoadSession)
                        .await;
                }
                None => self.new_session().await,
            },
            (Some(Pending::LoadSession), Ok(result)) => {
                self.apply_mode(&result).await;
                // Still loading: gemini answers session/load before most of its replay.
                let now = tokio::time::Instant::now();
                self.settling = Some((now, now + SETTLE_QUIET));
            }
            (Some(Pending::LoadSession), Err(message)) => {
                // Never pretend: say the conversation is gone, then start a fresh one.
                self.loading = false;
                self.output(AgentOutput::Event(SessionEvent::ConversationReset {
                    reason: message,
                }))
                .await;
                self.new_session().await;
            }
            (Some(Pending::NewSession), Ok(result)) => {
                match serde_json::from_value::<acp::NewSessionResponse>(result.clone()) {
                    Ok(response) => {
                        self.agent_session = Some(response.session_id.0.to_string());
                        self.apply_mode(&result).await;
                        self.ready(response.session_id.0.to_string()).await
                    }
                    Err(e) => {
                        self.output(AgentOutput::Failed(format!("bad session/new answer: {e}")))
                            .await
                    }
                }
            }
            (Some(Pending::Initialize | Pending::NewSession), Err(message)) => {
                self.output(AgentOutput::Failed(format!(
                    "the agent refused to start a session: {message}"
                )))
                .await;
            }
            (Some(Pending::Prompt), Ok(result)) => {
                let (usage, stop_reason) = acp_events::prompt_result(result);
                self.output(AgentOutput::TurnEnded { usage, stop_reason })
                    .await;
            }
            (Some(Pending::SetMode), Ok(_)) => {}
            (Some(Pending::SetMode), Err(message)) => {
                self.output(AgentOutput::Event(SessionEvent::Notice {
                    message: format!("The agent did not change its mode: {message}"),
                }))
                .await;
            }
            (Some(Pending::Prompt), Err(message)) => {
                self.output(AgentOutput::Event(SessionEvent::Error {
                    message: format!("The agent failed the turn: {message}"),
                    detail: None,
                }))
                .await;
                self.output(AgentOutput::TurnEnded {
                    usage: Default::default(),
                    stop_reason: "error".into(),
                })
                .await;
            }
        }
    }

    async fn on_request(&mut self, id: Value, method: &str, params: Value) {
        if method == "session/request_permission" {
            let request = RequestId(id.to_string());
            match acp_events::permission_request(request.clone(), params) {
                Ok(event) => {
                    self.permissions.insert(request, id);
                    return self.output(AgentOutput::Event(event)).await;
                }
                Err(e) => self.output(AgentOutput::Garbled(e)).await,
            }
        }
        // We advertise no fs or terminal capability, so nothing else is expected.
        let error = json!({"code": -32601, "message": format!("method not supported: {method}")});
        self.write(json!({"jsonrpc": "2.0", "id": id, "error": error}))
            .await;
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
