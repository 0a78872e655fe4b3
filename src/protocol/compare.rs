//! Comparisons ("Ask several"): one prompt sent to 2 to 4 attempts, each an ordinary
//! session in its own worktree made from the same base commit.

use super::{AgentId, SessionId};
use serde::{Deserialize, Serialize};

/// Fewest attempts in a comparison.
pub const MIN_ATTEMPTS: usize = 2;
/// Most attempts in a comparison.
pub const MAX_ATTEMPTS: usize = 4;

/// One attempt of a comparison as the browser asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The session id the browser made for it.
    pub session: SessionId,
    /// The agent program (the same agent may appear twice).
    pub agent: AgentId,
    /// The model, when the agent lets the user choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The agent's permission mode; its default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
}
