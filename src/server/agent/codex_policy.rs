//! Codex's permission modes (presets of its approval policy and sandbox) and its approval
//! cards: the buttons a request shows and the decision each sends back.

use super::codex_events::{ApprovalAsk, ApprovalKind};
use crate::protocol::{PermissionOption, PermissionOptionKind};
use serde_json::{json, Value};

/// The option ids of a Codex approval card: Codex's own decisions.
pub const ACCEPT: &str = "accept";
pub const ACCEPT_FOR_SESSION: &str = "acceptForSession";
pub const DECLINE: &str = "decline";

/// The permission modes, default first: `(mode, approval policy, sandbox)`.
///
/// - `untrusted`: asks before every command that is not known to only read, and before
///   every patch; commands run in the workspace-write sandbox.
/// - `on-request`: Codex's own default: works in the workspace without asking, asks when the
///   model wants to go beyond the sandbox.
/// - `read-only`: may read anything; asks before patches, writes by commands fail.
/// - `never`: never asks; what the workspace-write sandbox refuses fails.
/// - `danger-full-access`: never asks and runs without a sandbox.
pub const MODES: [(&str, &str, &str); 5] = [
    ("untrusted", "untrusted", "workspace-write"),
    ("on-request", "on-request", "workspace-write"),
    ("read-only", "on-request", "read-only"),
    ("never", "never", "workspace-write"),
    ("danger-full-access", "never", "danger-full-access"),
];

/// The mode names, default first (for the agent catalog).
pub fn mode_names() -> Vec<&'static str> {
    MODES.iter().map(|(name, _, _)| *name).collect()
}

/// A mode's approval policy and sandbox: a preset name, or `<approval>/<sandbox>`.
pub fn parse_mode(mode: &str) -> Option<(&str, &str)> {
    if let Some((_, approval, sandbox)) = MODES.iter().find(|(name, _, _)| *name == mode) {
        return Some((approval, sandbox));
    }
    let (approval, sandbox) = mode.split_once('/')?;
    let approvals = ["untrusted", "on-request", "never"];
    let sandboxes = ["read-only", "workspace-write", "danger-full-access"];
    (approvals.contains(&approval) && sandboxes.contains(&sandbox)).then_some((approval, sandbox))
}

/// `turn/start`'s `sandboxPolicy` for a sandbox mode name.
pub(super) fn sandbox_policy(sandbox: &str) -> Value {
    match sandbox {
        "read-only" => json!({"type": "readOnly"}),
        "danger-full-access" => json!({"type": "dangerFullAccess"}),
        _ => json!({"type": "workspaceWrite"}),
    }
}

/// The buttons of an approval card.
pub(super) fn permission_options(ask: &ApprovalAsk) -> Vec<PermissionOption> {
    let option = |id: &str, label: &str, kind| PermissionOption {
        id: id.to_owned(),
        label: label.to_owned(),
        kind,
    };
    vec![
        option(ACCEPT, "Allow", PermissionOptionKind::AllowOnce),
        option(
            ACCEPT_FOR_SESSION,
            match ask.kind {
                ApprovalKind::Command => "Allow for this session",
                ApprovalKind::FileChange => "Allow changes to these files for this session",
                ApprovalKind::Permissions { .. } => "Allow for this session",
            },
            PermissionOptionKind::AllowAlways,
        ),
        option(DECLINE, "Deny", PermissionOptionKind::RejectOnce),
    ]
}

/// The answer to an approval request for a chosen option (`cancel` also ends the turn).
pub(super) fn approval_answer(ask: &ApprovalAsk, option_id: &str) -> Value {
    match &ask.kind {
        ApprovalKind::Command | ApprovalKind::FileChange => {
            let decision = match option_id {
                ACCEPT | ACCEPT_FOR_SESSION | "cancel" => option_id,
                _ => DECLINE,
            };
            json!({"decision": decision})
        }
        ApprovalKind::Permissions { requested } => match option_id {
            ACCEPT => json!({"permissions": requested, "scope": "turn"}),
            ACCEPT_FOR_SESSION => json!({"permissions": requested, "scope": "session"}),
            _ => json!({"permissions": {}}),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(kind: ApprovalKind) -> ApprovalAsk {
        ApprovalAsk {
            rpc_id: json!(0),
            request_id: "t:0".into(),
            kind,
            item_id: "call".into(),
            title: "Bash: ls".into(),
            input: json!({"command": "ls"}),
        }
    }

    #[test]
    fn modes_are_codex_pairs_and_the_default_comes_first() {
        assert_eq!(mode_names()[0], "untrusted");
        assert_eq!(
            parse_mode("untrusted"),
            Some(("untrusted", "workspace-write"))
        );
        assert_eq!(parse_mode("read-only"), Some(("on-request", "read-only")));
        assert_eq!(
            parse_mode("danger-full-access"),
            Some(("never", "danger-full-access"))
        );
        assert_eq!(
            parse_mode("untrusted/read-only"),
            Some(("untrusted", "read-only"))
        );
        assert_eq!(parse_mode("bypassPermissions"), None);
        assert_eq!(parse_mode("never/everything"), None);
        assert_eq!(sandbox_policy("read-only")["type"], "readOnly");
    }

    #[test]
    fn answers_use_codex_decisions() {
        let command = ask(ApprovalKind::Command);
        let ids: Vec<String> = permission_options(&command)
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(ids, [ACCEPT, ACCEPT_FOR_SESSION, DECLINE]);
        assert_eq!(approval_answer(&command, ACCEPT)["decision"], "accept");
        assert_eq!(
            approval_answer(&command, ACCEPT_FOR_SESSION)["decision"],
            "acceptForSession"
        );
        assert_eq!(approval_answer(&command, "whatever")["decision"], "decline");
        assert_eq!(approval_answer(&command, "cancel")["decision"], "cancel");
        let permissions = ask(ApprovalKind::Permissions {
            requested: json!({"network": {"enabled": true}}),
        });
        let allowed = approval_answer(&permissions, ACCEPT);
        assert_eq!(allowed["permissions"]["network"]["enabled"], true);
        assert_eq!(allowed["scope"], "turn");
        assert_eq!(
            approval_answer(&permissions, DECLINE)["permissions"],
            json!({})
        );
    }
}
