//! Runtime configuration: `Leptos.toml`, overridden by environment variables and flags.
//! Precedence for each key: flag > env > Leptos.toml > default; clap handles the first two.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Switchboard's own secrets among the environment variables it reads: removed from the
/// environment of every program it starts (agents, their `--version` probes, git), so an
/// agent's `env` tool call cannot show them in a transcript.
pub const SECRET_ENV: &[&str] = &["SWITCHBOARD_TOKEN", DATABASE_URL_ENV];

/// The environment variable naming a PostgreSQL database (overrides `[database] url`); it
/// may hold a password.
pub const DATABASE_URL_ENV: &str = "SWITCHBOARD_DATABASE_URL";

/// Values given on the command line or in the environment (None = not given).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--addr` / SWITCHBOARD_ADDR.
    pub addr: Option<SocketAddr>,
    /// `--data-dir` / SWITCHBOARD_DATA_DIR.
    pub data_dir: Option<PathBuf>,
    /// `--config` / SWITCHBOARD_CONFIG: the Leptos.toml to read.
    pub config_file: Option<PathBuf>,
    /// `--token` / SWITCHBOARD_TOKEN: the access token.
    pub token: Option<String>,
    /// `--no-auth`: no token (loopback only).
    pub no_auth: bool,
}

impl Overrides {
    /// Only the data dir and the configuration file (the commands that serve nothing).
    pub fn files(data_dir: Option<PathBuf>, config_file: Option<PathBuf>) -> Overrides {
        Overrides {
            data_dir,
            config_file,
            ..Overrides::default()
        }
    }
}

/// A secret that never shows in `Debug` output (configs get logged).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// One `[agents.<key>]` table: how to start an agent program. For a built-in key (demo,
/// claude, codex, gemini, claude-acp) everything is optional; any other key is an ACP agent
/// and needs `command`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentCommand {
    /// argv; empty means the built-in default for that agent.
    #[serde(default)]
    pub command: Vec<String>,
    /// Extra environment for the agent process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The name shown to people.
    pub label: Option<String>,
    /// The agent's permission modes, its default first (ACP agents; default `["default"]`).
    #[serde(default)]
    pub modes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    agents: BTreeMap<String, AgentCommand>,
    #[serde(default)]
    runner: RunnerSection,
    #[serde(default)]
    budgets: BudgetsSection,
    #[serde(default)]
    database: DatabaseSection,
}

/// `[database]`: where the log lives. Without a `url`, the data dir's SQLite file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    /// `postgres://user:password@host:port/db`.
    url: Option<String>,
}

/// `[budgets]`: default spending limits; a budget set in the UI overrides its scope's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetsSection {
    session_usd: Option<f64>,
    session_tokens: Option<u64>,
    project_usd: Option<f64>,
    project_tokens: Option<u64>,
    day_usd: Option<f64>,
    day_tokens: Option<u64>,
}

/// The configured default budget of each scope (unlimited unless `[budgets]` sets one).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetDefaults {
    /// Each session's, unless set in the UI.
    pub session: crate::protocol::Budget,
    /// Each project's, unless set in the UI.
    pub project: crate::protocol::Budget,
    /// The whole server's per day (UTC), unless set in the UI.
    pub day: crate::protocol::Budget,
}

/// `[runner]`: where agents run.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunnerSection {
    mode: Option<RunnerMode>,
    linger_secs: Option<u64>,
    memory_kib: Option<usize>,
    spill_mib: Option<u64>,
    socket: Option<PathBuf>,
    unreachable_secs: Option<u64>,
}

/// Where agent processes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerMode {
    /// In a runner process that outlives the server (the default): a restart loses no turn.
    Detached,
    /// In the server's own process: one process, but a restart interrupts running turns.
    Embedded,
}

/// How the server uses its runner, and how a runner keeps outputs.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Detached or embedded (`runner.mode`, SWITCHBOARD_RUNNER).
    pub mode: RunnerMode,
    /// A socket to connect to instead of the data dir's own, never starting a runner
    /// there (`runner.socket`; a runner started by hand, or a proxy in the tests).
    pub socket: Option<PathBuf>,
    /// How long a runner with no server waits before it stops its agents and exits.
    pub linger: Duration,
    /// Bytes of unstored outputs one agent keeps in memory before spilling to a file.
    pub memory_limit: usize,
    /// Bytes one agent's spill file may hold before the agent is paused.
    pub spill_limit: u64,
    /// The runner protocol version spoken (SWITCHBOARD_RUNNER_PROTOCOL, only to test the
    /// drain of an older runner).
    pub protocol: u32,
    /// How long another machine's runner may be out of contact before its sessions show
    /// as unreachable (`runner.unreachable_secs`, SWITCHBOARD_RUNNER_UNREACHABLE_SECS).
    pub unreachable_after: Duration,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    addr: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    default_cwd: Option<PathBuf>,
    token: Option<String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    roots: Option<Vec<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_frame_bytes: Option<usize>,
    max_message_bytes: Option<usize>,
    cancel_step_secs: Option<u64>,
    agent_start_secs: Option<u64>,
    turn_silence_secs: Option<u64>,
    hello_wait_secs: Option<u64>,
    max_live_agents: Option<usize>,
    idle_agent_secs: Option<u64>,
    max_open_sessions: Option<usize>,
    max_frames_per_sec: Option<u32>,
    max_attachments: Option<usize>,
    max_attachment_bytes: Option<usize>,
    max_db_mib: Option<u64>,
    max_sockets_per_login: Option<usize>,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub addr: SocketAddr,
    /// Database and agent state directory.
    pub data_dir: PathBuf,
    /// A folder added to the default `roots` (sessions that name no project run in the
    /// Playground, never here).
    pub default_cwd: PathBuf,
    /// The configuration file read, if one was (no project may contain it).
    pub config_file: Option<PathBuf>,
    /// The access token, if given (`SWITCHBOARD_TOKEN` / `server.token`); else the data
    /// dir's token file is used or made.
    pub token: Option<Secret>,
    /// `--no-auth`: serve without a token (refused unless the address is loopback).
    pub no_auth: bool,
    /// Host names besides the loopback ones (and the bound IP) that requests may name.
    pub allowed_hosts: Vec<String>,
    /// A session's working directory must lie under one of these (after symlinks).
    pub roots: Vec<PathBuf>,
    /// Largest client frame read, in bytes.
    pub max_frame_bytes: usize,
    /// Longest user message, in bytes.
    pub max_message_bytes: usize,
    /// Pause between the steps of the stop ladder.
    pub cancel_step: Duration,
    /// How long an agent may take to become ready before the session shows an error.
    pub agent_start_timeout: Duration,
    /// How long a running turn may go without a word from the agent before it is stopped
    /// (time spent waiting for a permission answer does not count).
    pub turn_silence: Duration,
    /// How long a socket may stay open without saying `Hello` (the page's own socket says
    /// it from the page's head, `app::EarlySocket`, and closes itself if its app never runs).
    pub hello_wait: Duration,
    /// Most agent processes alive at once; the longest idle one is stopped to make room.
    pub max_live_agents: usize,
    /// Most sessions open (not ended) at once.
    pub max_open_sessions: usize,
    /// Frames one socket may send per second (sustained; bursts of 5x that are fine).
    pub max_frames_per_sec: u32,
    /// Most attachments on one message.
    pub max_attachments: usize,
    /// Largest attachment, decoded, in bytes.
    pub max_attachment_bytes: usize,
    /// Largest database, in MiB (0: no cap besides the disk; SQLite only).
    pub max_db_mib: u64,
    /// The PostgreSQL database to store in (`SWITCHBOARD_DATABASE_URL` / `database.url`);
    /// `None`: the data dir's SQLite file.
    pub database_url: Option<Secret>,
    /// Most sockets open at once for one browser login (a tab holds one).
    pub max_sockets_per_login: usize,
    /// An agent idle this long is stopped; the next message resumes its conversation.
    pub idle_agent_timeout: Duration,
    /// `[agents.<key>]` tables by key: built-in agents' overrides and configured ACP agents.
    pub agents: BTreeMap<String, AgentCommand>,
    /// `[runner]`.
    pub runner: RunnerSettings,
    /// `[budgets]`.
    pub budgets: BudgetDefaults,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("invalid {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: toml::de::Error,
    },
}

impl Config {
    /// Reads the config file (Leptos.toml in the working directory unless overridden; a
    /// missing default file is fine) and applies the overrides.
    pub fn load(overrides: Overrides) -> Result<Config, ConfigError> {
        let explicit = overrides.config_file.is_some();
        let path = overrides
            .config_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("Leptos.toml"));
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str::<FileConfig>(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source,
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                FileConfig::default()
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let read = std::fs::metadata(&path).is_ok();
        let mut config = Self::resolve(file, overrides);
        config.config_file = read.then_some(path);
        Ok(config)
    }

    fn resolve(file: FileConfig, overrides: Overrides) -> Config {
        let env_cwd = std::env::var_os("SWITCHBOARD_DEFAULT_CWD").map(PathBuf::from);
        let agents = file.agents;
        let default_cwd = env_cwd
            .or(file.server.default_cwd)
            .unwrap_or_else(|| PathBuf::from("."));
        Config {
            addr: overrides
                .addr
                .or(file.server.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
            data_dir: overrides
                .data_dir
                .or(file.server.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            roots: file.server.roots.unwrap_or_else(|| {
                // The user's projects are under their home; the default cwd may be elsewhere.
                let home = std::env::var_os("HOME").map(PathBuf::from);
                home.into_iter().chain([default_cwd.clone()]).collect()
            }),
            default_cwd,
            config_file: None,
            token: overrides.token.or(file.server.token).map(Secret),
            no_auth: overrides.no_auth,
            allowed_hosts: file.server.allowed_hosts,
            max_frame_bytes: file
                .limits
                .max_frame_bytes
                .unwrap_or(crate::protocol::MAX_CLIENT_FRAME_BYTES),
            max_message_bytes: file.limits.max_message_bytes.unwrap_or(256 * 1024),
            cancel_step: Duration::from_secs(file.limits.cancel_step_secs.unwrap_or(2)),
            agent_start_timeout: Duration::from_secs(file.limits.agent_start_secs.unwrap_or(30)),
            turn_silence: Duration::from_secs(file.limits.turn_silence_secs.unwrap_or(600)),
            hello_wait: Duration::from_secs(file.limits.hello_wait_secs.unwrap_or(60)),
            max_live_agents: file.limits.max_live_agents.unwrap_or(8),
            max_open_sessions: file.limits.max_open_sessions.unwrap_or(200),
            max_frames_per_sec: file.limits.max_frames_per_sec.unwrap_or(200),
            max_attachments: file.limits.max_attachments.unwrap_or(8),
            max_attachment_bytes: file.limits.max_attachment_bytes.unwrap_or(768 * 1024),
            max_db_mib: file.limits.max_db_mib.unwrap_or(0),
            database_url: std::env::var(DATABASE_URL_ENV)
                .ok()
                .filter(|url| !url.is_empty())
                .or(file.database.url)
                .map(Secret),
            max_sockets_per_login: file.limits.max_sockets_per_login.unwrap_or(64),
            idle_agent_timeout: Duration::from_secs(file.limits.idle_agent_secs.unwrap_or(15 * 60)),
            agents,
            budgets: {
                let b = &file.budgets;
                let budget = |max_usd, max_tokens| crate::protocol::Budget {
                    max_usd,
                    max_tokens,
                };
                BudgetDefaults {
                    session: budget(b.session_usd, b.session_tokens),
                    project: budget(b.project_usd, b.project_tokens),
                    day: budget(b.day_usd, b.day_tokens),
                }
            },
            runner: RunnerSettings {
                mode: match std::env::var("SWITCHBOARD_RUNNER").as_deref() {
                    Ok("embedded") => RunnerMode::Embedded,
                    Ok("detached") => RunnerMode::Detached,
                    _ => file.runner.mode.unwrap_or(RunnerMode::Detached),
                },
                socket: file.runner.socket,
                linger: Duration::from_secs(
                    std::env::var("SWITCHBOARD_RUNNER_LINGER_SECS")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .or(file.runner.linger_secs)
                        .unwrap_or(15 * 60),
                ),
                memory_limit: file.runner.memory_kib.unwrap_or(4 * 1024) * 1024,
                spill_limit: file.runner.spill_mib.unwrap_or(256) * 1024 * 1024,
                protocol: std::env::var("SWITCHBOARD_RUNNER_PROTOCOL")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(crate::server::runner::PROTOCOL_VERSION),
                unreachable_after: Duration::from_secs(
                    std::env::var("SWITCHBOARD_RUNNER_UNREACHABLE_SECS")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .or(file.runner.unreachable_secs)
                        .unwrap_or(30),
                ),
            },
        }
    }

    /// A configuration for tests: everything default, data in `data_dir`.
    pub fn for_tests(data_dir: &Path) -> Config {
        let mut config = Self::resolve(
            FileConfig::default(),
            Overrides {
                data_dir: Some(data_dir.to_path_buf()),
                ..Overrides::default()
            },
        );
        config.runner.mode = RunnerMode::Embedded;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let file: FileConfig = toml::from_str(
            "[server]\naddr = \"127.0.0.1:4000\"\ndata_dir = \"/tmp/x\"\n[limits]\ncancel_step_secs = 1\n[agents.demo]\ncommand = [\"my-agent\", \"--flag\"]\n",
        )
        .expect("valid toml");
        let config = Config::resolve(
            file,
            Overrides {
                addr: Some("127.0.0.1:5000".parse().expect("addr")),
                ..Overrides::default()
            },
        );
        assert_eq!(config.addr.port(), 5000);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.cancel_step, Duration::from_secs(1));
        assert_eq!(config.agents["demo"].command, vec!["my-agent", "--flag"]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("[server]\nadress = \"x\"\n").is_err());
    }

    #[test]
    fn the_shipped_leptos_toml_parses() {
        let text = include_str!("../../Leptos.toml");
        toml::from_str::<FileConfig>(text).expect("Leptos.toml is valid");
    }
}
