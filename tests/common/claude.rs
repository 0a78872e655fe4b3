//! The real, pinned `claude` CLI against this repo's `fake-model` server: how the tests
//! start both, point one at the other, and read what the model API was sent.

use super::{Client, Server, TIMEOUT};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use switchboard::protocol::{AgentId, NewSession, Seq, SessionEvent, SessionId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The `claude` executable: SWITCHBOARD_CLAUDE_BIN, else the project-local install that
/// `scripts/install-tools.sh` makes. Missing is a failure, not a skip.
pub fn claude_bin() -> PathBuf {
    let path = std::env::var_os("SWITCHBOARD_CLAUDE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()))
                .join("agents/node_modules/.bin/claude")
        });
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-tools.sh (it installs the pinned @anthropic-ai/claude-code)",
        path.display()
    );
    path
}

/// A running `fake-model`; killed when dropped.
pub struct FakeModel {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl FakeModel {
    /// Starts the fake Anthropic API on port 0 and reads the address it printed.
    pub fn start() -> FakeModel {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fake-model"))
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("fake-model starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = lines
            .next()
            .expect("fake-model printed its address")
            .expect("readable stdout")
            .trim()
            .to_owned();
        std::thread::spawn(move || for _ in lines {});
        FakeModel { child, addr }
    }

    /// Every request the fake API received, in order (`{method, path, body}` each).
    pub async fn requests(&self) -> Vec<Value> {
        let mut stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .expect("fake-model accepts");
        let request = format!(
            "GET /_requests HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("request sent");
        let mut response = String::new();
        tokio::time::timeout(TIMEOUT, stream.read_to_string(&mut response))
            .await
            .expect("fake-model answers in time")
            .expect("readable answer");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default();
        serde_json::from_str(body).expect("/_requests is a JSON array")
    }

    /// The text of every user message in the newest `/v1/messages` conversation request.
    pub async fn last_conversation(&self) -> Vec<String> {
        let requests = self.requests().await;
        let last = requests
            .iter()
            .rev()
            .find(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/v1/messages"))
                    && !r["path"]
                        .as_str()
                        .is_some_and(|p| p.contains("count_tokens"))
                    && r["body"]["stream"] == true
            })
            .expect("a streamed messages request");
        let messages = last["body"]["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        messages
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| match &m["content"] {
                Value::String(text) => text.clone(),
                Value::Array(blocks) => blocks
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            })
            .collect()
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server whose Claude sessions use the pinned CLI against `fake`, with a throwaway HOME
/// (the CLI keeps its transcripts there) and `extra` TOML appended to the config.
pub fn claude_server(data_dir: &Path, fake: &FakeModel, extra: &str) -> Server {
    let home = data_dir.join("claude-home");
    std::fs::create_dir_all(&home).expect("home dir");
    let config = claude_config(&claude_bin(), &home, &fake.addr);
    Server::start_with_config(data_dir, &format!("{config}\n{extra}"))
}

/// The `[agents.claude]` section for `fake` at `addr`.
pub fn claude_config(claude: &Path, home: &Path, addr: &str) -> String {
    format!(
        r#"[agents.claude]
command = ["{claude}"]
env = {{ HOME = "{home}", ANTHROPIC_BASE_URL = "http://{addr}", ANTHROPIC_API_KEY = "test", DISABLE_TELEMETRY = "1", DISABLE_ERROR_REPORTING = "1", DISABLE_AUTOUPDATER = "1", DISABLE_BUG_COMMAND = "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1", IS_SANDBOX = "1", CLAUDE_CODE_MAX_RETRIES = "0" }}
"#,
        claude = claude.display(),
        home = home.display(),
    )
}

/// A new Claude session's creation settings.
pub fn claude_session(mode: &str) -> NewSession {
    NewSession {
        permission_mode: Some(mode.into()),
        ..NewSession::defaults(AgentId::claude())
    }
}

impl Client {
    /// Sends `text` to `session`; `create` makes it a Claude session first.
    pub async fn say_claude(&mut self, session: SessionId, text: &str, create: Option<NewSession>) {
        self.say_with(session, text, create).await;
    }
}

/// The reply a turn ended with: the last whole assistant message, else the deltas joined.
pub fn reply_text(events: &[(Seq, SessionEvent)]) -> String {
    let whole = events.iter().rev().find_map(|(_, e)| match e {
        SessionEvent::AssistantMessage { text, .. } => Some(text.clone()),
        _ => None,
    });
    whole.unwrap_or_else(|| super::assistant_text(events))
}

/// The stop reason of the turn's `TurnCompleted`.
pub fn stop_reason(events: &[(Seq, SessionEvent)]) -> Option<String> {
    events.iter().find_map(|(_, e)| match e {
        SessionEvent::TurnCompleted { stop_reason, .. } => Some(stop_reason.clone()),
        _ => None,
    })
}

/// Points the pinned `codex` CLI at `fake` with its own CODEX_HOME (`home`, written here)
/// and returns the `[agents.codex]` table that runs it so.
pub fn codex_config(home: &Path, fake: &FakeModel) -> String {
    std::fs::create_dir_all(home).expect("codex home");
    let config = format!(
        "model = \"gpt-5.5\"\nmodel_provider = \"fake\"\ncheck_for_update_on_startup = false\n\n\
         [model_providers.fake]\nname = \"Fake local\"\nbase_url = \"http://{}/v1\"\n\
         env_key = \"FAKE_OPENAI_KEY\"\nwire_api = \"responses\"\nrequest_max_retries = 0\n\
         stream_max_retries = 0\n\n[analytics]\nenabled = false\n",
        fake.addr
    );
    std::fs::write(home.join("config.toml"), config).expect("codex config");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()));
    let codex = root.join("agents/node_modules/.bin/codex");
    assert!(
        codex.exists(),
        "{} is missing: run scripts/install-tools.sh",
        codex.display()
    );
    format!(
        "[agents.codex]\ncommand = [\"{}\"]\nenv = {{ CODEX_HOME = \"{}\", FAKE_OPENAI_KEY = \"test\" }}\n",
        codex.display(),
        home.display()
    )
}
