//! The registry's budget services: set a budget (then every session it applies to checks
//! itself again), allow one more turn past a used-up one, and a session's budget lines.

use super::{Registry, ServiceError, SessionCommand};
use crate::protocol::{Budget, BudgetLine, BudgetScope, ProjectId, SessionId, Spent};

impl Registry {
    /// Stores a budget and tells the sessions it applies to.
    pub async fn set_budget(
        &self,
        scope: BudgetScope,
        target: &str,
        budget: Budget,
    ) -> Result<(), ServiceError> {
        let invalid = |what: &str| ServiceError::Invalid(format!("{what} is not a valid limit"));
        if budget
            .max_usd
            .is_some_and(|usd| !usd.is_finite() || usd < 0.0)
        {
            return Err(invalid("that amount"));
        }
        let affected: Vec<SessionId> = match scope {
            BudgetScope::Session => {
                let id = SessionId::parse(target).ok_or_else(|| invalid("that session id"))?;
                self.check_known(id)?;
                vec![id]
            }
            BudgetScope::Project => {
                let id = ProjectId::parse(target).ok_or_else(|| invalid("that project id"))?;
                self.context.projects.get(id)?;
                self.sessions()
                    .into_iter()
                    .filter(|s| s.project == Some(id))
                    .map(|s| s.id)
                    .collect()
            }
            BudgetScope::Day => self.sessions().into_iter().map(|s| s.id).collect(),
        };
        self.context
            .spending
            .set_budget(scope, target, budget)
            .await?;
        tracing::info!(scope = scope.name(), target, budget = %budget.describe(), "budget set");
        for id in affected {
            // A session that ended meanwhile has nothing to check.
            let _ = self.command(id, SessionCommand::BudgetChanged).await;
        }
        self.budgets_changed_here().await;
        Ok(())
    }

    /// Lets the session's next turn run although a budget is used up.
    pub async fn allow_turn(&self, id: SessionId) -> Result<(), ServiceError> {
        self.command(id, SessionCommand::AllowTurn).await
    }

    /// The budgets that apply to a session and what was spent against each.
    pub fn budget_lines(&self, id: SessionId) -> Result<Vec<BudgetLine>, ServiceError> {
        let session = self.stream(id)?.snapshot();
        Ok(self
            .context
            .spending
            .overview(id, session.project, Spent::of(&session.usage))
            .into_iter()
            .map(|(scope, budget, spent)| BudgetLine {
                scope,
                budget,
                spent,
            })
            .collect())
    }
}
