//! Which agents a session can run: the built-in catalog (names, labels, permission modes)
//! and what the server reports about each one on this machine (`AgentInfo`).

use serde::{Deserialize, Serialize};

/// Which agent backs a session: a key of the server's agent catalog, e.g. `demo`, `claude`,
/// `codex`, `gemini`, `claude-acp`, or the key of an `[agents.<key>]` ACP agent configured
/// in Leptos.toml. Stored as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub String);

impl AgentId {
    /// The built-in offline demo agent: works on every machine, so drafts start with it.
    pub fn demo() -> AgentId {
        AgentId(DEMO.into())
    }

    /// Claude Code in its own stream-json mode.
    pub fn claude() -> AgentId {
        AgentId(CLAUDE.into())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The built-in description of this agent, if it is one of ours.
    pub fn builtin(&self) -> Option<&'static BuiltinAgent> {
        BUILTIN_AGENTS.iter().find(|b| b.id == self.0)
    }

    /// The name shown to people when the server's catalog is not at hand.
    pub fn label(&self) -> String {
        self.builtin()
            .map_or_else(|| self.0.clone(), |b| b.label.to_owned())
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Key of the demo agent.
pub const DEMO: &str = "demo";
/// Key of Claude Code (stream-json driver).
pub const CLAUDE: &str = "claude";
/// Key of OpenAI's Codex CLI.
pub const CODEX: &str = "codex";
/// Key of Google's Gemini CLI (ACP mode).
pub const GEMINI: &str = "gemini";
/// Key of Claude Code through its ACP adapter.
pub const CLAUDE_ACP: &str = "claude-acp";

/// How Switchboard talks to an agent program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentProtocol {
    /// Agent Client Protocol: JSON-RPC over stdio (demo agent, Gemini, adapters, any ACP agent).
    Acp,
    /// Claude Code's stream-json control protocol.
    Claude,
    /// Codex's own protocol.
    Codex,
}

/// An agent Switchboard knows without configuration.
#[derive(Debug, PartialEq, Eq)]
pub struct BuiltinAgent {
    /// Catalog key.
    pub id: &'static str,
    /// Name shown to people.
    pub label: &'static str,
    /// How it is driven.
    pub protocol: AgentProtocol,
    /// The agent's own permission modes, its default first.
    pub modes: &'static [&'static str],
    /// Whether the user may name a model.
    pub models: bool,
}

/// The built-in agents, in the order the picker lists them.
pub const BUILTIN_AGENTS: [BuiltinAgent; 5] = [
    BuiltinAgent {
        id: DEMO,
        label: "Demo agent",
        protocol: AgentProtocol::Acp,
        modes: &["default", "bypassPermissions"],
        models: false,
    },
    BuiltinAgent {
        id: CLAUDE,
        label: "Claude Code",
        protocol: AgentProtocol::Claude,
        modes: &["default", "acceptEdits", "plan", "bypassPermissions"],
        models: true,
    },
    BuiltinAgent {
        id: CODEX,
        label: "Codex",
        protocol: AgentProtocol::Codex,
        // Approval x sandbox presets (the driver's `MODES`): ask when needed, ask for all
        // but trusted commands, read-only, never ask, never ask without a sandbox.
        modes: &[
            "untrusted",
            "on-request",
            "read-only",
            "never",
            "danger-full-access",
        ],
        models: true,
    },
    BuiltinAgent {
        id: GEMINI,
        label: "Gemini CLI",
        protocol: AgentProtocol::Acp,
        modes: &["default", "autoEdit", "yolo", "plan"],
        models: true,
    },
    BuiltinAgent {
        id: CLAUDE_ACP,
        label: "Claude Code (ACP)",
        protocol: AgentProtocol::Acp,
        modes: &["default", "acceptEdits", "plan", "bypassPermissions"],
        models: false,
    },
];

/// One agent as this server can run it: the picker lists the installed ones, the Doctor
/// page all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Catalog key.
    pub id: AgentId,
    /// Name shown to people.
    pub label: String,
    /// How it is driven.
    pub protocol: AgentProtocol,
    /// Its permission modes, the default first.
    pub modes: Vec<String>,
    /// Whether the user may name a model.
    pub models: bool,
    /// Whether its program was found.
    pub installed: bool,
    /// The program's path, when found.
    pub path: Option<String>,
    /// What `--version` said, when asked (the Doctor asks; the picker does not wait for it).
    pub version: Option<String>,
    /// The exact command that installs it, when missing (and known).
    pub install_hint: Option<String>,
    /// Why it cannot be used, in words (not found, `--version` failed, ...).
    pub problem: Option<String>,
}

impl AgentInfo {
    /// The default permission mode.
    pub fn default_mode(&self) -> String {
        self.modes
            .first()
            .cloned()
            .unwrap_or_else(|| "default".into())
    }
}

/// One browser login, as the settings view lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginInfo {
    /// Its public id (not the cookie's secret).
    pub id: String,
    /// When it logged in, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When it was last used (to the minute), milliseconds since the Unix epoch.
    pub last_used_ms: i64,
    /// The browser's User-Agent at login.
    pub user_agent: String,
    /// Whether it is the browser asking.
    pub current: bool,
}
