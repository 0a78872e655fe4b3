//! When a session's state change is worth a desktop notification, and what it says: pure
//! decisions, tested natively. The browser-only [`super::notify`] watches the store and
//! shows them; the functions at the bottom are the sidebar toggle's way to it.

use crate::protocol::SessionState;

/// Something a background session did that the user may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A turn ended normally: the agent waits for the next message.
    Finished,
    /// A turn (or the agent's start) ended in an error.
    Failed(String),
    /// A turn was cut short.
    Interrupted(String),
    /// The agent waits for a permission answer.
    NeedsPermission,
}

impl Alert {
    /// What happened, in a few words, for the notification's body.
    pub fn describe(&self) -> String {
        match self {
            Alert::Finished => "Finished its turn".to_string(),
            Alert::Failed(message) => format!("Failed: {message}"),
            Alert::Interrupted(reason) => format!("Interrupted: {reason}"),
            Alert::NeedsPermission => "Asks for permission".to_string(),
        }
    }

    /// The notification's body: what happened, then the session's preview.
    pub fn body(&self, preview: &str) -> String {
        let preview = preview.trim();
        if preview.is_empty() {
            self.describe()
        } else {
            format!("{}\n{preview}", self.describe())
        }
    }
}

/// Whether a session going from `before` to `after` is worth telling: a turn that ends
/// (working or asking -> idle, error, interrupted), an agent that fails to start, or a new
/// permission question. Whether the session is visible is the caller's half of the decision.
pub fn alert_for(before: &SessionState, after: &SessionState) -> Option<Alert> {
    use SessionState::*;
    let in_turn = matches!(before, Working | AwaitingPermission);
    match after {
        AwaitingPermission if *before != AwaitingPermission => Some(Alert::NeedsPermission),
        Idle if in_turn => Some(Alert::Finished),
        Error { message } if in_turn || *before == Starting => Some(Alert::Failed(message.clone())),
        Interrupted { reason } if in_turn => Some(Alert::Interrupted(reason.clone())),
        _ => None,
    }
}

/// Where the notifications toggle stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyStatus {
    /// Not asked yet, or turned off here.
    Off,
    /// Allowed by the browser and turned on here.
    On,
    /// The browser (or the user, in its prompt) refused; only its site settings undo that.
    Blocked,
    /// This browser has no Web Notifications (or this is not the browser build).
    Unsupported,
}

impl NotifyStatus {
    /// The snake_case name, for the toggle's `data-status`.
    pub fn name(self) -> &'static str {
        match self {
            NotifyStatus::Off => "off",
            NotifyStatus::On => "on",
            NotifyStatus::Blocked => "blocked",
            NotifyStatus::Unsupported => "unsupported",
        }
    }
}

/// The toggle's state from this browser's permission and the saved choice.
pub fn notify_status() -> NotifyStatus {
    #[cfg(feature = "hydrate")]
    return super::notify::status();
    #[cfg(not(feature = "hydrate"))]
    NotifyStatus::Unsupported
}

/// Flips the toggle: turning on asks the browser first (it allows that only from a click),
/// then `done` gets the new status.
pub fn toggle_notifications(done: impl FnOnce(NotifyStatus) + 'static) {
    #[cfg(feature = "hydrate")]
    super::notify::toggle(done);
    #[cfg(not(feature = "hydrate"))]
    done(NotifyStatus::Unsupported);
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionState::*;

    fn error() -> SessionState {
        Error {
            message: "agent exited".into(),
        }
    }

    fn interrupted() -> SessionState {
        Interrupted {
            reason: "stopped".into(),
        }
    }

    #[test]
    fn a_turn_that_ends_alerts() {
        assert_eq!(alert_for(&Working, &Idle), Some(Alert::Finished));
        assert_eq!(alert_for(&AwaitingPermission, &Idle), Some(Alert::Finished));
        assert_eq!(
            alert_for(&Working, &error()),
            Some(Alert::Failed("agent exited".into()))
        );
        assert_eq!(
            alert_for(&Starting, &error()),
            Some(Alert::Failed("agent exited".into()))
        );
        assert_eq!(
            alert_for(&Working, &interrupted()),
            Some(Alert::Interrupted("stopped".into()))
        );
    }

    #[test]
    fn a_permission_question_alerts_once() {
        assert_eq!(
            alert_for(&Working, &AwaitingPermission),
            Some(Alert::NeedsPermission)
        );
        assert_eq!(alert_for(&AwaitingPermission, &AwaitingPermission), None);
    }

    #[test]
    fn other_changes_do_not() {
        assert_eq!(alert_for(&Idle, &Working), None);
        assert_eq!(alert_for(&Starting, &Idle), None);
        assert_eq!(alert_for(&Draft, &Starting), None);
        assert_eq!(alert_for(&Idle, &Idle), None);
        assert_eq!(alert_for(&Idle, &interrupted()), None);
        assert_eq!(alert_for(&Idle, &Archived), None);
        assert_eq!(alert_for(&Working, &Working), None);
    }

    #[test]
    fn bodies_say_what_happened_then_the_preview() {
        assert_eq!(Alert::Finished.body("  "), "Finished its turn");
        assert_eq!(
            Alert::NeedsPermission.body("Write demo.txt"),
            "Asks for permission\nWrite demo.txt"
        );
    }
}
