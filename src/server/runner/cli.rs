//! `switchboard runner`: run the runner (what `serve` starts), or ask the running one for
//! its status, or to stop.

use super::wire::{HostedAgent, RunnerInfo, ToRunner};
use crate::server::config::Config;

/// What was asked for.
pub enum Action {
    /// Run the runner in this process until it is stopped; with `remote`, as another
    /// machine's runner that dials the server.
    Run(Option<super::RemoteArgs>),
    /// Print the running one's state.
    Status,
    /// Stop the running one (after running turns, or `now`).
    Stop {
        /// Without waiting for turns.
        now: bool,
    },
}

/// Does `action` for `config`'s data dir.
pub async fn run(config: &Config, action: Action) -> Result<(), String> {
    match action {
        Action::Run(remote) => {
            use tracing_subscriber::EnvFilter;
            tracing_subscriber::fmt()
                .with_env_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                )
                .init();
            super::run_host(config, remote).await
        }
        Action::Status => {
            let (info, agents) = super::control(config, ToRunner::Status).await?;
            print!("{}", report(&info, &agents));
            Ok(())
        }
        Action::Stop { now } => {
            let (info, agents) = super::control(config, ToRunner::Stop { now }).await?;
            match (now, agents.iter().filter(|a| a.busy).count()) {
                (true, _) | (false, 0) => println!("runner {} stops now", info.pid),
                (false, busy) => println!(
                    "runner {} stops once {busy} running turn(s) end; `--now` stops them",
                    info.pid
                ),
            }
            Ok(())
        }
    }
}

/// The status as people read it.
pub fn report(info: &RunnerInfo, agents: &[HostedAgent]) -> String {
    let mut out = format!(
        "runner pid {} version {} protocol {}{}\n{} agent(s)\n",
        info.pid,
        info.version,
        info.protocol,
        if info.draining { " (draining)" } else { "" },
        agents.len()
    );
    for agent in agents {
        out.push_str(&format!(
            "  {} pid {} session {} {}{} unstored outputs {}{}\n",
            agent.kind,
            agent.pid,
            agent.session,
            if agent.busy { "in a turn" } else { "idle" },
            if agent.paused {
                " PAUSED (backlog full)"
            } else {
                ""
            },
            agent.unacknowledged,
            match agent.spilled_bytes {
                0 => String::new(),
                bytes => format!(" ({bytes} bytes spilled)"),
            },
        ));
    }
    out
}
