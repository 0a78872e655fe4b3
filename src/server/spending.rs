//! Budgets and what is being spent against them. One `Spending` per server: it knows what
//! was spent today and by each project (stored turns, from `turn_spend`), what running
//! turns have spent so far (reported by their session tasks), and every budget (the UI's,
//! else `[budgets]` in the configuration). A session task asks it, after each report from
//! its agent, whether a budget that applies is near or used up.

use crate::protocol::{Budget, BudgetAlert, BudgetScope, ProjectId, SessionId, Spent};
use crate::server::config::BudgetDefaults;
use crate::server::db::{Db, DbError};
use std::collections::HashMap;
use std::sync::Mutex;

/// Milliseconds in a day: today is the UTC day holding now.
const DAY_MS: i64 = 86_400_000;

/// The server's budgets and running totals; shared by every session task.
pub struct Spending {
    db: Db,
    defaults: BudgetDefaults,
    ledger: Mutex<Ledger>,
}

/// What has been spent, by scope.
#[derive(Default)]
struct Ledger {
    /// The start of the day `today` counts (UTC midnight, ms).
    day_start_ms: i64,
    /// Stored turns since `day_start_ms`.
    today: Spent,
    /// Stored turns of each project's sessions.
    projects: HashMap<ProjectId, Spent>,
    /// Running turns' spending so far, with their project.
    running: HashMap<SessionId, (Option<ProjectId>, Spent)>,
    /// Budgets set in the UI, by scope and target ('' for the day).
    budgets: HashMap<(BudgetScope, String), Budget>,
}

/// What a session's spending looks like against every budget that applies to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// The worst alert, when some budget is at least near.
    pub alert: Option<BudgetAlert>,
}

impl Spending {
    /// Reads the stored totals and budgets.
    pub async fn load(db: Db, defaults: BudgetDefaults) -> Result<Spending, DbError> {
        let day_start_ms = day_start(now_ms());
        let mut ledger = Ledger {
            day_start_ms,
            today: db.spent_since(day_start_ms).await?,
            ..Ledger::default()
        };
        for (project, spent) in db.spent_by_project().await? {
            if let Some(project) = ProjectId::parse(&project) {
                ledger.projects.insert(project, spent);
            }
        }
        for (scope, target, budget) in db.budgets().await? {
            ledger.budgets.insert((scope, target), budget);
        }
        Ok(Spending {
            db,
            defaults,
            ledger: Mutex::new(ledger),
        })
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // Only plain arithmetic runs under the lock; a panic there would be a bug here.
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The budget of `scope` for `target` (a session or project id; ignored for the day).
    pub fn budget(&self, scope: BudgetScope, target: &str) -> Budget {
        let key = (scope, scope_target(scope, target));
        self.ledger()
            .budgets
            .get(&key)
            .copied()
            .unwrap_or(match scope {
                BudgetScope::Session => self.defaults.session,
                BudgetScope::Project => self.defaults.project,
                BudgetScope::Day => self.defaults.day,
            })
    }

    /// Reads the budgets again (another server node set one).
    pub async fn reload_budgets(&self) -> Result<(), DbError> {
        let budgets = self.db.budgets().await?;
        let mut ledger = self.ledger();
        ledger.budgets = budgets
            .into_iter()
            .map(|(scope, target, budget)| ((scope, target), budget))
            .collect();
        Ok(())
    }

    /// Stores a budget set in the UI; it applies at once (the sessions it affects are told
    /// by the caller).
    pub async fn set_budget(
        &self,
        scope: BudgetScope,
        target: &str,
        budget: Budget,
    ) -> Result<(), DbError> {
        let target = scope_target(scope, target);
        self.db.set_budget(scope, &target, budget).await?;
        self.ledger().budgets.insert((scope, target), budget);
        Ok(())
    }

    /// A running turn of `session` has spent `so_far` (its whole spending since it began).
    pub fn turn_progress(&self, session: SessionId, project: Option<ProjectId>, so_far: Spent) {
        self.ledger().running.insert(session, (project, so_far));
    }

    /// A turn of `session` ended having spent `spent`, now stored.
    pub fn turn_stored(&self, session: SessionId, project: Option<ProjectId>, spent: Spent) {
        let mut ledger = self.ledger();
        ledger.running.remove(&session);
        ledger.roll_day();
        ledger.today = ledger.today.plus(spent);
        if let Some(project) = project {
            let total = ledger.projects.entry(project).or_default();
            *total = total.plus(spent);
        }
    }

    /// A turn ended without storing what it spent (it never reached the agent).
    pub fn turn_dropped(&self, session: SessionId) {
        self.ledger().running.remove(&session);
    }

    /// `session` (in `project`, having stored turns worth `stored`) against its own
    /// budget, its project's and today's, counting every running turn.
    pub fn standing(
        &self,
        session: SessionId,
        project: Option<ProjectId>,
        stored: Spent,
    ) -> Standing {
        let alert = self
            .overview(session, project, stored)
            .into_iter()
            .map(|(scope, budget, spent)| BudgetAlert::check(scope, spent, budget))
            .fold(None, BudgetAlert::worse);
        Standing { alert }
    }

    /// Each scope's budget and spending for `session`, for its budget panel.
    pub fn overview(
        &self,
        session: SessionId,
        project: Option<ProjectId>,
        stored: Spent,
    ) -> Vec<(BudgetScope, Budget, Spent)> {
        let mut out = vec![(
            BudgetScope::Session,
            self.budget(BudgetScope::Session, &session.to_string()),
            stored.plus(self.running(|id, _| id == session)),
        )];
        if let Some(project) = project {
            let stored = self
                .ledger()
                .projects
                .get(&project)
                .copied()
                .unwrap_or_default();
            out.push((
                BudgetScope::Project,
                self.budget(BudgetScope::Project, &project.to_string()),
                stored.plus(self.running(|_, p| p == Some(project))),
            ));
        }
        let today = {
            let mut ledger = self.ledger();
            ledger.roll_day();
            ledger.today
        };
        out.push((
            BudgetScope::Day,
            self.budget(BudgetScope::Day, ""),
            today.plus(self.running(|_, _| true)),
        ));
        out
    }

    fn running(&self, filter: impl Fn(SessionId, Option<ProjectId>) -> bool) -> Spent {
        self.ledger()
            .running
            .iter()
            .filter(|(id, (p, _))| filter(**id, *p))
            .fold(Spent::default(), |sum, (_, (_, spent))| sum.plus(*spent))
    }
}

impl Ledger {
    /// A new UTC day starts from nothing.
    fn roll_day(&mut self) {
        let today = day_start(now_ms());
        if today != self.day_start_ms {
            self.day_start_ms = today;
            self.today = Spent::default();
        }
    }
}

/// The key a scope's budget is stored under: the day has one budget.
fn scope_target(scope: BudgetScope, target: &str) -> String {
    match scope {
        BudgetScope::Day => String::new(),
        _ => target.to_owned(),
    }
}

fn day_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

fn now_ms() -> i64 {
    crate::server::session_task::now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{BudgetLevel, Usage};

    fn usd(max: f64) -> Budget {
        Budget {
            max_usd: Some(max),
            max_tokens: None,
        }
    }

    fn cost(usd: f64) -> Spent {
        Spent { usd, tokens: 0 }
    }

    #[tokio::test]
    async fn running_turns_count_against_their_project_and_the_day() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path()).await.expect("db");
        let defaults = BudgetDefaults {
            day: usd(1.0),
            ..BudgetDefaults::default()
        };
        let spending = Spending::load(db.clone(), defaults).await.expect("loads");
        let project = ProjectId(uuid::Uuid::new_v4());
        let (a, b, c) = (
            SessionId(uuid::Uuid::new_v4()),
            SessionId(uuid::Uuid::new_v4()),
            SessionId(uuid::Uuid::new_v4()),
        );
        spending
            .set_budget(BudgetScope::Project, &project.to_string(), usd(0.5))
            .await
            .expect("stored");
        spending.turn_progress(a, Some(project), cost(0.3));
        assert_eq!(
            spending.standing(b, Some(project), Spent::default()).alert,
            None
        );
        // Another session of the project spends too: both see the project near.
        spending.turn_progress(b, Some(project), cost(0.15));
        let alert = spending
            .standing(a, Some(project), Spent::default())
            .alert
            .expect("near");
        assert_eq!(
            (alert.scope, alert.level),
            (BudgetScope::Project, BudgetLevel::Near)
        );
        // Stored, then a session outside the project uses the day up.
        spending.turn_stored(a, Some(project), cost(0.3));
        spending.turn_dropped(b);
        spending.turn_progress(c, None, cost(0.7));
        let alert = spending
            .standing(c, None, Spent::default())
            .alert
            .expect("reached");
        assert_eq!(
            (alert.scope, alert.level),
            (BudgetScope::Day, BudgetLevel::Reached)
        );
        // A session budget set in the UI is its own.
        spending
            .set_budget(BudgetScope::Session, &b.to_string(), usd(0.01))
            .await
            .expect("stored");
        let stored = Spent::of(&Usage {
            cost_usd: Some(0.02),
            ..Usage::default()
        });
        let alert = spending
            .standing(b, Some(project), stored)
            .alert
            .expect("alert");
        assert_eq!(alert.level, BudgetLevel::Reached);
        // Budgets are read back at start.
        let again = Spending::load(db, defaults).await.expect("loads");
        assert_eq!(
            again.budget(BudgetScope::Project, &project.to_string()),
            usd(0.5)
        );
        assert_eq!(again.budget(BudgetScope::Day, "ignored"), usd(1.0));
    }
}
