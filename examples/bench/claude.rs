//! The Claude benchmark: time from the model API's first text byte (fake-model stamps it
//! into the text as `@<unix micros>` when it writes the SSE event) to that text arriving as
//! a WebSocket frame at a subscribed client, over 200 turns of the real `claude` CLI; the
//! same path with the demo agent next to it; and the claude process's memory.

use super::harness::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, NewSession, ServerFrame, SessionEvent, SessionId,
};
use uuid::Uuid;

const TURNS: usize = 200;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// The pinned CLI: SWITCHBOARD_CLAUDE_BIN, else the project-local install.
fn claude_bin() -> PathBuf {
    std::env::var_os("SWITCHBOARD_CLAUDE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("agents/node_modules/.bin/claude"))
}

/// Starts fake-model (FAKE_MODEL_BIN, else the release build) and returns it with its address.
fn start_fake_model() -> (std::process::Child, String) {
    let bin = std::env::var_os("FAKE_MODEL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/fake-model"));
    let mut child = Command::new(&bin)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{} (cargo build --release --features ssr --bin fake-model): {e}",
                bin.display()
            )
        });
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let addr = lines.next().expect("address line").expect("stdout");
    std::thread::spawn(move || for _ in lines {});
    (child, addr.trim().to_owned())
}

/// Latency of the first stamp of each turn; turn 0 (process start) is left out.
async fn first_text_latencies(server: &Server, agent: AgentId, prompt: &str) -> Vec<Duration> {
    let mut socket = connect(server).await;
    let session = SessionId(Uuid::new_v4());
    let mut latencies = Vec::new();
    for turn in 0..=TURNS {
        let create = (turn == 0).then(|| NewSession {
            permission_mode: Some("bypassPermissions".into()),
            ..NewSession::defaults(agent.clone())
        });
        let frame = ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: prompt.into(),
            attachments: vec![],
            create,
            tag: None,
        };
        send(&mut socket, &frame).await;
        let mut stamped = Vec::new();
        loop {
            match recv(&mut socket).await {
                ServerFrame::Event {
                    event:
                        SessionEvent::AssistantDelta { text, .. }
                        | SessionEvent::AssistantMessage { text, .. },
                    ..
                } if stamped.is_empty() => stamp_latencies(&text, &mut stamped),
                ServerFrame::Event {
                    event: SessionEvent::TurnCompleted { .. },
                    ..
                } => break,
                _ => {}
            }
        }
        if turn > 0 {
            latencies.extend(stamped.first());
        }
    }
    latencies
}

pub async fn claude() {
    let (mut fake, fake_addr) = start_fake_model();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let config = dir.path().join("bench.toml");
    let toml = format!(
        "[agents.claude]\ncommand = [\"{}\"]\nenv = {{ HOME = \"{}\", ANTHROPIC_BASE_URL = \"http://{fake_addr}\", ANTHROPIC_API_KEY = \"test\", IS_SANDBOX = \"1\", DISABLE_TELEMETRY = \"1\", DISABLE_ERROR_REPORTING = \"1\", DISABLE_AUTOUPDATER = \"1\", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = \"1\" }}\n",
        claude_bin().canonicalize().expect("claude is installed (scripts/install-tools.sh)").display(),
        home.display()
    );
    std::fs::write(&config, toml).expect("config");
    let server = start_configured(&dir.path().join("data"), Some(&config));
    println!("# Claude benchmark ({TURNS} turns each, after one warm-up turn)");

    let mut claude = first_text_latencies(&server, AgentId::claude(), "STAMP").await;
    report(
        "claude: fake-model first SSE text byte -> client frame",
        &mut claude,
    );
    let pids = agent_pids(&server);
    for pid in &pids {
        println!(
            "claude process {pid}: RSS {:.1} MiB after {TURNS} turns",
            rss_kib(*pid) as f64 / 1024.0
        );
    }
    let mut direct = cli_alone(&claude_bin(), &home, &fake_addr).await;
    report(
        "claude alone: fake-model first SSE text byte -> claude stdout line (its own share)",
        &mut direct,
    );
    let mut demo = first_text_latencies(&server, AgentId::demo(), "/stamp 1").await;
    report("demo: agent stdout line -> client frame", &mut demo);
    println!(
        "server RSS: {:.1} MiB",
        rss_kib(server.child.id()) as f64 / 1024.0
    );
    drop(server);
    let _ = fake.kill();
    let _ = fake.wait();
}

/// The same measurement on the CLI's own stdout, with no server: how much of the path is
/// the CLI itself.
async fn cli_alone(claude: &Path, home: &Path, fake_addr: &str) -> Vec<Duration> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut child = tokio::process::Command::new(claude)
        .args([
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
        ])
        .args([
            "--verbose",
            "--include-partial-messages",
            "--permission-mode",
            "default",
        ])
        .env("HOME", home)
        .env("ANTHROPIC_BASE_URL", format!("http://{fake_addr}"))
        .env("ANTHROPIC_API_KEY", "test")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .current_dir(home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("claude starts");
    let mut stdin = child.stdin.take().expect("piped");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let turn = r#"{"type":"user","message":{"role":"user","content":"STAMP"},"parent_tool_use_id":null,"session_id":""}"#;
    let mut latencies = Vec::new();
    for n in 0..=TURNS {
        stdin
            .write_all(format!("{turn}\n").as_bytes())
            .await
            .expect("stdin");
        let mut stamped = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"type\":\"result\"") {
                break;
            }
            if stamped.is_empty() && line.contains("text_delta") {
                stamp_latencies(&line.replace('"', " "), &mut stamped);
            }
        }
        if n > 0 {
            latencies.extend(stamped.first());
        }
    }
    latencies
}
