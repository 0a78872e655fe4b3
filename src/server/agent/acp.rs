//! The ACP client driver: speaks JSON-RPC 2.0 over an agent's stdio (initialize,
//! session/new or session/load, session/prompt, session/cancel, permission answers). The
//! demo agent uses it today; any ACP agent (gemini --acp, claude-agent-acp) uses it later.

use super::acp_events::{self, Inbound, Translator};
use super::connection::{self, Effects, Protocol};
use super::process;
use super::{AgentError, AgentOutput, DriverCommand, QueuedDriver, TurnInput};
use crate::protocol::{RequestId, SessionEvent};
use agent_client_protocol_schema::{v1 as acp, ProtocolVersion};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Quiet time after a session/load answer before the session counts as loaded.
const SETTLE_QUIET: std::time::Duration = std::time::Duration::from_millis(300);
/// The longest a replay after the answer may delay the first prompt.
const SETTLE_MAX: std::time::Duration = std::time::Duration::from_secs(3);

/// Starts the agent and its connection task. `resume` names an ACP session to load.
pub fn start(
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    resume: Option<String>,
    mode: Option<String>,
) -> Result<(QueuedDriver, mpsc::Receiver<super::Numbered>), AgentError> {
    let spawned = process::spawn(argv, env, cwd)?;
    let protocol = AcpProtocol::new(cwd, resume, mode);
    Ok(connection::launch(protocol, spawned))
}

/// What an outstanding request of ours was.
enum Pending {
    Initialize,
    NewSession,
    LoadSession,
    Prompt,
    SetMode,
}

/// The Agent Client Protocol, client side: what the connection needs to remember between
/// lines.
struct AcpProtocol {
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
    settling: Option<(Instant, Instant)>,
}

impl Protocol for AcpProtocol {
    const NAME: &'static str = "agent";

    fn start(&mut self, effects: &mut Effects) {
        let mut initialize = acp::InitializeRequest::new(ProtocolVersion::V1);
        // No fs or terminal: the agent works on the files itself, inside its cwd.
        initialize.client_capabilities = acp::ClientCapabilities::default();
        self.request(
            effects,
            "initialize",
            to_value(&initialize),
            Pending::Initialize,
        );
    }

    fn on_line(&mut self, line: &str, effects: &mut Effects) {
        let inbound = match acp_events::parse_line(line) {
            Ok(inbound) => inbound,
            Err(e) => {
                let snippet: String = line.chars().take(200).collect();
                return effects.output(AgentOutput::Garbled(format!(
                    "agent printed a line that is not ACP ({e}): {snippet}"
                )));
            }
        };
        match inbound {
            Inbound::Response { id, outcome } => {
                let pending = id.as_u64().and_then(|id| self.pending.remove(&id));
                self.on_response(pending, outcome, effects);
            }
            Inbound::Request { id, method, params } => {
                self.on_request(id, &method, params, effects);
            }
            Inbound::Notification { method, params } => {
                if let Some((answered, _)) = self.settling {
                    let quiet = Instant::now() + SETTLE_QUIET;
                    self.settling = Some((answered, quiet.min(answered + SETTLE_MAX)));
                }
                if method != "session/update" || self.loading {
                    return;
                }
                match self.translator.session_update(params) {
                    Ok(events) => {
                        for event in events {
                            effects.event(event);
                        }
                        if let Some(usage) = self.translator.take_spending() {
                            effects.output(AgentOutput::Spending { usage });
                        }
                    }
                    Err(e) => effects.output(AgentOutput::Garbled(e)),
                }
            }
        }
    }

    fn on_command(&mut self, command: DriverCommand, effects: &mut Effects) {
        match command {
            DriverCommand::Turn(turn) => match self.agent_session.clone() {
                Some(session) => self.prompt(session, turn, effects),
                None => self.queued.push_back(turn),
            },
            DriverCommand::Permission { request, option_id } => {
                if let Some(id) = self.permissions.remove(&request) {
                    let outcome = acp::RequestPermissionOutcome::Selected(
                        acp::SelectedPermissionOutcome::new(option_id),
                    );
                    let result = to_value(&acp::RequestPermissionResponse::new(outcome));
                    effects.write(json!({"jsonrpc": "2.0", "id": id, "result": result}));
                }
            }
            DriverCommand::SetMode(mode) => {
                if let Some(session) = self.agent_session.clone() {
                    let params = to_value(&acp::SetSessionModeRequest::new(session, mode));
                    self.request(effects, "session/set_mode", params, Pending::SetMode);
                }
            }
            DriverCommand::Interrupt => {
                self.queued.clear();
                // ACP: on cancel the client answers every open permission request "cancelled".
                for (_, id) in std::mem::take(&mut self.permissions) {
                    let result = to_value(&acp::RequestPermissionResponse::new(
                        acp::RequestPermissionOutcome::Cancelled,
                    ));
                    effects.write(json!({"jsonrpc": "2.0", "id": id, "result": result}));
                }
                if let Some(session) = self.agent_session.clone() {
                    let params = to_value(&acp::CancelNotification::new(session));
                    effects.write(
                        json!({"jsonrpc": "2.0", "method": "session/cancel", "params": params}),
                    );
                }
            }
        }
    }

    fn timer(&self) -> Option<Instant> {
        self.settling.map(|(_, at)| at)
    }

    /// The loaded conversation's replay is over: updates from now on are live.
    fn on_timer(&mut self, effects: &mut Effects) {
        self.settling = None;
        self.loading = false;
        if let Some(session) = self.resume.clone() {
            self.ready(session, effects);
        }
    }
}

impl AcpProtocol {
    /// The state of a client in `cwd` that loads `resume` (else starts a session) and
    /// switches to `mode` when the agent offers it.
    fn new(cwd: &Path, resume: Option<String>, mode: Option<String>) -> Self {
        AcpProtocol {
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
        }
    }

    fn request(&mut self, effects: &mut Effects, method: &str, params: Value, pending: Pending) {
        self.next_id += 1;
        let id = self.next_id;
        self.pending.insert(id, pending);
        effects.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
    }

    fn prompt(&mut self, session: String, turn: TurnInput, effects: &mut Effects) {
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
        self.request(effects, "session/prompt", params, Pending::Prompt);
    }

    /// Switches to the session's permission mode when the agent offers it but started in
    /// another; agents without modes are left alone.
    fn apply_mode(&mut self, result: &Value, effects: &mut Effects) {
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
            self.request(effects, "session/set_mode", params, Pending::SetMode);
        }
    }

    fn ready(&mut self, session: String, effects: &mut Effects) {
        self.agent_session = Some(session.clone());
        effects.output(AgentOutput::Ready);
        effects.output(AgentOutput::Conversation {
            agent_session_id: session.clone(),
        });
        while let Some(turn) = self.queued.pop_front() {
            self.prompt(session.clone(), turn, effects);
        }
    }

    fn new_session(&mut self, effects: &mut Effects) {
        let params = to_value(&acp::NewSessionRequest::new(self.cwd.clone()));
        self.request(effects, "session/new", params, Pending::NewSession);
    }

    fn on_response(
        &mut self,
        pending: Option<Pending>,
        outcome: Result<Value, String>,
        effects: &mut Effects,
    ) {
        match (pending, outcome) {
            (None, _) => {
                effects.output(AgentOutput::Garbled(
                    "answer to a request never made".into(),
                ));
            }
            (Some(Pending::Initialize), Ok(_)) => match self.resume.clone() {
                Some(session) => {
                    self.loading = true;
                    let params = to_value(&acp::LoadSessionRequest::new(session, self.cwd.clone()));
                    self.request(effects, "session/load", params, Pending::LoadSession);
                }
                None => self.new_session(effects),
            },
            (Some(Pending::LoadSession), Ok(result)) => {
                self.apply_mode(&result, effects);
                // Still loading: gemini answers session/load before most of its replay.
                let now = Instant::now();
                self.settling = Some((now, now + SETTLE_QUIET));
            }
            (Some(Pending::LoadSession), Err(message)) => {
                // Never pretend: say the conversation is gone, then start a fresh one.
                self.loading = false;
                effects.event(SessionEvent::ConversationReset { reason: message });
                self.new_session(effects);
            }
            (Some(Pending::NewSession), Ok(result)) => {
                match serde_json::from_value::<acp::NewSessionResponse>(result.clone()) {
                    Ok(response) => {
                        self.agent_session = Some(response.session_id.0.to_string());
                        self.apply_mode(&result, effects);
                        self.ready(response.session_id.0.to_string(), effects);
                    }
                    Err(e) => {
                        effects.output(AgentOutput::Failed(format!("bad session/new answer: {e}")));
                    }
                }
            }
            (Some(Pending::Initialize | Pending::NewSession), Err(message)) => {
                effects.output(AgentOutput::Failed(format!(
                    "the agent refused to start a session: {message}"
                )));
            }
            (Some(Pending::Prompt), Ok(result)) => {
                let (mut usage, stop_reason) = acp_events::prompt_result(result);
                if usage.cost_usd.is_none() {
                    usage.cost_usd = self.translator.turn_cost();
                }
                effects.output(AgentOutput::TurnEnded { usage, stop_reason });
            }
            (Some(Pending::SetMode), Ok(_)) => {}
            (Some(Pending::SetMode), Err(message)) => {
                effects.event(SessionEvent::Notice {
                    message: format!("The agent did not change its mode: {message}"),
                });
            }
            (Some(Pending::Prompt), Err(message)) => {
                effects.event(SessionEvent::Error {
                    message: format!("The agent failed the turn: {message}"),
                    detail: None,
                });
                effects.output(AgentOutput::TurnEnded {
                    usage: Default::default(),
                    stop_reason: "error".into(),
                });
            }
        }
    }

    fn on_request(&mut self, id: Value, method: &str, params: Value, effects: &mut Effects) {
        if method == "session/request_permission" {
            let request = RequestId(id.to_string());
            match acp_events::permission_request(request.clone(), params) {
                Ok(event) => {
                    self.permissions.insert(request, id);
                    return effects.event(event);
                }
                Err(e) => effects.output(AgentOutput::Garbled(e)),
            }
        }
        // We advertise no fs or terminal capability, so nothing else is expected.
        let error = json!({"code": -32601, "message": format!("method not supported: {method}")});
        effects.write(json!({"jsonrpc": "2.0", "id": id, "error": error}));
    }
}

/// `value` as JSON; the protocol types always serialize, `null` is never sent in practice.
fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_session_is_ready_once_its_replay_has_settled() {
        let mut agent = AcpProtocol::new(Path::new("/w"), Some("s1".into()), None);
        let mut effects = Effects::default();
        agent.start(&mut effects);
        let turn = TurnInput {
            text: "hi".into(),
            attachments: Vec::new(),
            client_msg_id: None,
        };
        agent.on_command(DriverCommand::Turn(turn), &mut effects);
        agent.on_line(r#"{"jsonrpc": "2.0", "id": 1, "result": {}}"#, &mut effects);
        assert_eq!(agent.timer(), None);
        agent.on_line(r#"{"jsonrpc": "2.0", "id": 2, "result": {}}"#, &mut effects);
        let answered = agent.timer();
        assert!(answered.is_some());
        // A replayed update is not reported again, and pushes the settling back.
        let replay = json!({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s1", "update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "old"}}}});
        agent.on_line(&replay.to_string(), &mut effects);
        assert!(agent.timer() >= answered);
        let (writes, outputs) = effects.take();
        let methods: Vec<_> = writes.iter().map(|w| w["method"].clone()).collect();
        assert_eq!(methods, ["initialize", "session/load"]);
        assert!(outputs.is_empty());
        agent.on_timer(&mut effects);
        assert_eq!(agent.timer(), None);
        let (writes, outputs) = effects.take();
        assert!(matches!(
            &outputs[..],
            [AgentOutput::Ready, AgentOutput::Conversation { agent_session_id }] if agent_session_id == "s1"
        ));
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0]["method"], "session/prompt");
        assert_eq!(writes[0]["params"]["sessionId"], "s1");
    }
}
