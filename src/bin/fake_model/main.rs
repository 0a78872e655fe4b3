//! `fake-model`: a scripted Anthropic Messages API on 127.0.0.1, so tests and benchmarks can
//! drive the real `claude` CLI offline. The reply is chosen by the last user prompt
//! (`scenario.rs`); every request is kept for inspection at `GET /_requests`.
//!
//! Usage: `fake-model [--addr 127.0.0.1:0]`. It prints the bound address as the only line
//! on stdout, then serves until killed. Logs go to stderr (`RUST_LOG`, default `warn`).

mod api_error;
mod conversation;
mod gemini;
mod handlers;
mod ids;
mod openai;
mod reply;
mod request_log;
mod scenario;
mod sse;

use clap::Parser;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use tracing_subscriber::EnvFilter;

/// Command line of the fake Anthropic API.
#[derive(Debug, Parser)]
#[command(
    name = "fake-model",
    about = "A scripted, offline Anthropic Messages API"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "FAKE_MODEL_ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// How many requests `GET /_requests` keeps (the oldest are dropped first).
    #[arg(long, env = "FAKE_MODEL_MAX_REQUESTS", default_value_t = 1000)]
    max_requests: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // Quiet by default: the tests let this process inherit their stderr.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let bound = listener.local_addr()?;
    // The one stdout line callers wait for; flushed now because stdout is usually a pipe.
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{bound}")?;
        stdout.flush()?;
    }
    tracing::info!(%bound, "fake-model listening");

    let log = request_log::RequestLog::new(args.max_requests);
    let app = handlers::router(log.clone())
        .merge(gemini::router(log.clone()))
        .merge(openai::router(log));
    axum::serve(listener, app).await?;
    Ok(())
}
