//! `switchboard demo-agent`: an offline ACP agent with no AI, speaking JSON-RPC on stdio.
//! It exists so the app, its tests and a new user's first minutes need no model or key, and
//! so the ACP client driver is exercised by a real child process.
//!
//! Prompts: anything -> "Echo: <prompt>" in chunks; `/slow N`; `/stamp N`; `/burst N`;
//! `/tool`; `/permission`; `/hang`; `/crash`; `/history`; `/abuse` (hostile output for the
//! tests). Env: SWITCHBOARD_DEMO_DELAY_MS (chunk pause, default 40), SWITCHBOARD_DEMO_STATE_DIR (where conversations are kept
//! for session/load), SWITCHBOARD_DEMO_LOG (a file each reply chunk is appended to, one per
//! line, so a test can compare the transcript with what was said), SWITCHBOARD_DEMO_USD_PER_TOKEN
//! (the made-up price of a word, default $10 per million: each turn reports its cost). The prompts themselves
//! live in `prompts.rs`.

mod prompts;

pub use prompts::{chunks, parse_command, DemoCommand, ABUSE_MARKUP};
use prompts::{word_count, Turn};

use super::agent::acp_events::{self, Inbound};
use agent_client_protocol_schema::{v1 as acp, ProtocolVersion};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};

/// The demo's price of a token (a word) unless SWITCHBOARD_DEMO_USD_PER_TOKEN says
/// otherwise: $10 per million.
const DEFAULT_USD_PER_TOKEN: f64 = 0.000_01;

/// Set to true to cancel the running turn.
type CancelSwitch = watch::Sender<bool>;

/// Shared by the reader loop and the turn tasks.
struct Agent {
    out: mpsc::UnboundedSender<Vec<u8>>,
    state_dir: PathBuf,
    delay: Duration,
    /// Set by SWITCHBOARD_DEMO_BYPASS or `session/set_mode` to `bypassPermissions`.
    bypass_permissions: std::sync::atomic::AtomicBool,
    next_request: Mutex<u64>,
    /// Our outstanding permission requests, answered by the client.
    answers: Mutex<HashMap<u64, oneshot::Sender<Value>>>,
    /// Each ACP session's cwd and the cancel switch of its running turn.
    sessions: Mutex<HashMap<String, (PathBuf, Option<CancelSwitch>)>>,
    /// SWITCHBOARD_DEMO_LOG: every reply chunk, as said.
    said_log: Option<Mutex<std::fs::File>>,
    /// SWITCHBOARD_DEMO_USD_PER_TOKEN: the made-up price of a token (a word here), so
    /// spending and budgets can be tested without a model.
    usd_per_token: f64,
    /// What each ACP session has cost so far in this process, in USD, and the words of its
    /// running turn already billed (`/slow` bills each second, like a model call).
    spent: Mutex<HashMap<String, (f64, u64)>>,
}

/// Runs the agent until stdin closes.
pub async fn run() -> std::io::Result<()> {
    let state_dir = std::env::var_os("SWITCHBOARD_DEMO_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("switchboard-demo-agent"));
    std::fs::create_dir_all(&state_dir)?;
    let delay = std::env::var("SWITCHBOARD_DEMO_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = out_rx.recv().await {
            if stdout.write_all(&line).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let agent = Arc::new(Agent {
        out,
        state_dir,
        delay: Duration::from_millis(delay),
        bypass_permissions: std::env::var_os("SWITCHBOARD_DEMO_BYPASS").is_some().into(),
        next_request: Mutex::new(0),
        answers: Mutex::new(HashMap::new()),
        sessions: Mutex::new(HashMap::new()),
        usd_per_token: std::env::var("SWITCHBOARD_DEMO_USD_PER_TOKEN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_USD_PER_TOKEN),
        spent: Mutex::new(HashMap::new()),
        said_log: match std::env::var_os("SWITCHBOARD_DEMO_LOG") {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
            None => None,
        },
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        match acp_events::parse_line(&line) {
            Ok(inbound) => agent.handle(inbound),
            Err(e) => eprintln!("demo agent: ignoring a line that is not JSON-RPC: {e}"),
        }
    }
    drop(agent);
    let _ = writer.await;
    Ok(())
}

impl Agent {
    fn send(&self, message: Value) {
        self.send_raw(format!("{message}\n").into_bytes());
    }

    /// Writes bytes to stdout as they are, in order with the messages (`/abuse`).
    fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.out.send(bytes);
    }

    fn reply(&self, id: &Value, result: Result<Value, String>) {
        self.send(match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(message) => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": message}})
            }
        });
    }

    fn update(&self, session: &str, update: acp::SessionUpdate) {
        let params =
            serde_json::to_value(acp::SessionNotification::new(session.to_owned(), update))
                .unwrap_or(Value::Null);
        self.send(json!({"jsonrpc": "2.0", "method": "session/update", "params": params}));
    }

    fn say(&self, session: &str, text: &str) {
        if let Some(log) = &self.said_log {
            use std::io::Write;
            let _ = writeln!(lock(log), "{}", text.escape_debug());
        }
        let chunk = acp::ContentChunk::new(acp::ContentBlock::Text(acp::TextContent::new(text)));
        self.update(session, acp::SessionUpdate::AgentMessageChunk(chunk));
    }

    /// Adds `tokens` at the configured price to the session's cost and reports the
    /// cumulative figure, as ACP agents do (`usage_update`).
    pub(super) fn report_cost(&self, session: &str, tokens: u64) {
        let total = {
            let mut spent = lock(&self.spent);
            let (total, billed) = spent.entry(session.to_owned()).or_insert((0.0, 0));
            *total += tokens as f64 * self.usd_per_token;
            *billed += tokens;
            *total
        };
        let update = acp::UsageUpdate::new(tokens, 200_000).cost(acp::Cost::new(total, "USD"));
        self.update(session, acp::SessionUpdate::UsageUpdate(update));
    }

    /// Bills what the turn said that was not billed yet, and starts the next turn's count.
    fn finish_billing(&self, session: &str, turn_tokens: u64) {
        let billed = lock(&self.spent)
            .get(session)
            .map_or(0, |(_, billed)| *billed);
        self.report_cost(session, turn_tokens.saturating_sub(billed));
        if let Some((_, billed)) = lock(&self.spent).get_mut(session) {
            *billed = 0;
        }
    }

    fn history_path(&self, session: &str) -> PathBuf {
        // Session ids are our own UUIDs; anything else is refused before it reaches a path.
        self.state_dir.join(format!("{session}.json"))
    }

    fn handle(self: &Arc<Self>, inbound: Inbound) {
        match inbound {
            Inbound::Request { id, method, params } => self.on_request(id, &method, params),
            Inbound::Notification { method, params } if method == "session/cancel" => {
                if let Some(session) = params.get("sessionId").and_then(Value::as_str) {
                    if let Some((_, Some(cancel))) = lock(&self.sessions).get(session) {
                        let _ = cancel.send(true);
                    }
                }
            }
            Inbound::Notification { .. } => {}
            Inbound::Response { id, outcome } => {
                let waiter = id.as_u64().and_then(|id| lock(&self.answers).remove(&id));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(outcome.unwrap_or(Value::Null));
                }
            }
        }
    }

    fn on_request(self: &Arc<Self>, id: Value, method: &str, params: Value) {
        match method {
            "initialize" => {
                let mut response = acp::InitializeResponse::new(ProtocolVersion::V1);
                response.agent_capabilities.load_session = true;
                self.reply(
                    &id,
                    serde_json::to_value(response).map_err(|e| e.to_string()),
                );
            }
            "session/new" => {
                let session = uuid::Uuid::new_v4().to_string();
                let cwd = params.get("cwd").and_then(Value::as_str).unwrap_or(".");
                lock(&self.sessions).insert(session.clone(), (PathBuf::from(cwd), None));
                let result = serde_json::to_value(acp::NewSessionResponse::new(session));
                self.reply(&id, result.map_err(|e| e.to_string()));
            }
            "session/load" => {
                let result = self.load(&params);
                self.reply(&id, result.map(|()| Value::Null));
            }
            "session/set_mode" => {
                let mode = params.get("modeId").and_then(Value::as_str);
                let bypass = mode == Some("bypassPermissions");
                self.bypass_permissions
                    .store(bypass, std::sync::atomic::Ordering::Relaxed);
                self.reply(&id, Ok(json!({})));
            }
            "session/prompt" => {
                let agent = Arc::clone(self);
                tokio::spawn(async move { agent.prompt(id, params).await });
            }
            other => self.reply(&id, Err(format!("method not supported: {other}"))),
        }
    }

    fn load(&self, params: &Value) -> Result<(), String> {
        let session = params
            .get("sessionId")
            .and_then(Value::as_str)
            .filter(|s| uuid::Uuid::parse_str(s).is_ok())
            .ok_or("unknown session")?;
        let cwd = params.get("cwd").and_then(Value::as_str).unwrap_or(".");
        let history = read_history(&self.history_path(session)).ok_or("Session not found")?;
        // ACP: loading replays the conversation as updates before answering.
        for prompt in &history {
            let chunk = acp::ContentChunk::new(acp::ContentBlock::Text(acp::TextContent::new(
                prompt.as_str(),
            )));
            self.update(session, acp::SessionUpdate::UserMessageChunk(chunk));
        }
        lock(&self.sessions).insert(session.to_owned(), (PathBuf::from(cwd), None));
        Ok(())
    }

    async fn prompt(self: Arc<Self>, id: Value, params: Value) {
        let request: acp::PromptRequest = match serde_json::from_value(params) {
            Ok(request) => request,
            Err(e) => return self.reply(&id, Err(format!("bad session/prompt: {e}"))),
        };
        let session = request.session_id.0.to_string();
        let text: String = request
            .prompt
            .iter()
            .filter_map(|block| match block {
                acp::ContentBlock::Text(t) => Some(t.text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (cancel_tx, cancel) = watch::channel(false);
        let cwd = match lock(&self.sessions).get_mut(&session) {
            Some((cwd, running)) => {
                *running = Some(cancel_tx);
                cwd.clone()
            }
            None => return self.reply(&id, Err("Session not found".into())),
        };
        let path = self.history_path(&session);
        let mut history = read_history(&path).unwrap_or_default();
        let earlier = history.clone();
        history.push(text.clone());
        if let Err(e) = write_history(&path, &history) {
            eprintln!("demo agent: cannot save history: {e}");
        }
        let turn = Turn {
            agent: &self,
            session: &session,
            cancel,
        };
        let (reply, cancelled) = turn.run(parse_command(&text), &cwd, &earlier).await;
        if let Some((_, running)) = lock(&self.sessions).get_mut(&session) {
            *running = None;
        }
        let stop = if cancelled {
            acp::StopReason::Cancelled
        } else {
            acp::StopReason::EndTurn
        };
        let (input, output) = (word_count(&text), word_count(&reply));
        self.finish_billing(&session, input + output);
        let response =
            acp::PromptResponse::new(stop).usage(acp::Usage::new(input + output, input, output));
        self.reply(
            &id,
            serde_json::to_value(response).map_err(|e| e.to_string()),
        );
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock would be a bug in this file; keep serving anyway.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read_history(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_history(path: &Path, history: &[String]) -> std::io::Result<()> {
    let text = serde_json::to_string(history).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}
