//! Budgets in the session task: what its running turn has spent so far, the alert the
//! session carries (a notice at 80%, its tab marked), the stop of a turn that uses a budget
//! up, and the refusal of new turns until the budget is raised or one more is allowed.

use super::SessionTask;
use crate::protocol::{
    BudgetAlert, BudgetLevel, BudgetMark, SessionEvent, SessionPatch, Spent, Usage,
};
use crate::server::registry::ServiceError;

impl SessionTask {
    /// What the running turn has spent so far (after one of its model calls).
    pub(super) async fn on_spending(&mut self, usage: Usage) {
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        turn.usage_so_far = usage;
        let spent = Spent::of(&usage);
        self.spending
            .turn_progress(self.session.id, self.session.project, spent);
        self.check_budget().await;
    }

    /// The session against every budget that applies to it, counting running turns.
    fn budget_alert(&self) -> Option<BudgetAlert> {
        self.spending
            .standing(
                self.session.id,
                self.session.project,
                Spent::of(&self.session.usage),
            )
            .alert
    }

    /// At start-up: the alert as it stands, taken as already told (no second notice).
    pub(super) fn recover_budget(&mut self) {
        self.session.budget = self.budget_alert();
        self.budget_noticed = self.session.budget.map(|alert| alert.level);
        self.stream.set_snapshot(&self.session);
    }

    /// Checks the session against its budgets (`refresh_budget`), and stops the running
    /// turn once one is used up, unless the user allowed this turn past it.
    pub(super) async fn check_budget(&mut self) {
        let Some(alert) = self.refresh_budget().await else {
            return;
        };
        let exempt = self.turn.as_ref().is_some_and(|turn| turn.budget_exempt);
        let running = self.turn.is_some() && self.stopping.is_none();
        if alert.level != BudgetLevel::Reached || !running || exempt {
            return;
        }
        self.budget_noticed = Some(BudgetLevel::Reached);
        let message = format!(
            "{} The turn was stopped. Raise the budget, or allow one more turn, to go on.",
            alert.message()
        );
        self.record(SessionEvent::Budget {
            alert,
            stopped: true,
            message,
        })
        .await;
        self.stop_turn().await;
    }

    /// Publishes the session's alert when it changed, and says so in the transcript once
    /// when a budget passes 80%. Returns the alert.
    pub(super) async fn refresh_budget(&mut self) -> Option<BudgetAlert> {
        let alert = self.budget_alert();
        if alert != self.session.budget {
            self.publish(SessionPatch {
                budget: Some(BudgetMark { alert }),
                ..SessionPatch::default()
            })
            .await;
        }
        let Some(alert) = alert else {
            self.budget_noticed = None;
            return None;
        };
        if alert.level == BudgetLevel::Near && self.budget_noticed.is_none() {
            self.budget_noticed = Some(BudgetLevel::Near);
            let message = format!("{} A turn that uses it up is stopped.", alert.message());
            self.record(SessionEvent::Budget {
                alert,
                stopped: false,
                message,
            })
            .await;
        }
        Some(alert)
    }

    /// A new message is refused while a budget that applies is used up, unless the user
    /// allowed one more turn.
    pub(super) fn refuse_over_budget(&self) -> Result<(), ServiceError> {
        if self.allow_turn {
            return Ok(());
        }
        match self.budget_alert() {
            Some(alert) if alert.level == BudgetLevel::Reached => {
                Err(ServiceError::OverBudget(format!(
                    "{} Raise the budget, or allow one more turn, to send this message.",
                    alert.message()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Before a waiting message becomes a turn: while a budget is used up it is not sent
    /// (nor are the ones behind it), and the transcript says so. Returns whether the turn
    /// may start, and whether it is exempt from the budget stop.
    pub(super) async fn budget_allows_turn(&mut self) -> Option<bool> {
        if std::mem::take(&mut self.allow_turn) {
            return Some(true);
        }
        let alert = match self.budget_alert() {
            Some(alert) if alert.level == BudgetLevel::Reached => alert,
            _ => return Some(false),
        };
        let waiting = self.queue.len() + 1;
        self.queue.clear();
        let message = format!(
            "{} {waiting} waiting message{} not sent to the agent. Raise the budget, or allow one more turn, and send again.",
            alert.message(),
            if waiting == 1 { " was" } else { "s were" }
        );
        self.record(SessionEvent::Budget {
            alert,
            stopped: true,
            message,
        })
        .await;
        None
    }
}
