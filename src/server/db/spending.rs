//! What turns cost (`turn_spend`, one row per TurnCompleted) and the budgets set in the UI
//! (`budgets`): the figures budgets are checked against and the Usage page draws.

use super::{Db, DbError};
use crate::protocol::{Budget, BudgetScope, SessionId, Spent, Usage};
use sqlx::Row;

/// Records a finished turn's cost; called inside the transaction storing its event.
pub(super) async fn insert_turn(
    conn: &mut sqlx::AnyConnection,
    session: SessionId,
    seq: crate::protocol::Seq,
    at_ms: i64,
    usage: &Usage,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO turn_spend (session_id, seq, ended_at_ms, cost_usd, tokens, estimated) \
         VALUES ($1, $2, $3, CAST($4 AS DOUBLE PRECISION), $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(session.to_string())
    .bind(seq.0 as i64)
    .bind(at_ms)
    .bind(super::money(usage.cost_usd))
    .bind(usage.billable_tokens() as i64)
    .bind(i64::from(usage.cost_estimated))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// What every project's sessions have spent, all time: `(project id, spent)`.
    pub async fn spent_by_project(&self) -> Result<Vec<(String, Spent)>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query(
                "SELECT s.project_id AS project, coalesce(sum(t.cost_usd), 0.0) AS usd, \
             CAST(coalesce(sum(t.tokens), 0) AS BIGINT) AS tokens \
             FROM turn_spend t JOIN sessions s ON s.id = t.session_id \
             WHERE s.project_id IS NOT NULL GROUP BY s.project_id",
            )
            .fetch_all(&db.pool)
            .await?;
            rows.iter()
                .map(|row| Ok((row.try_get("project")?, spent_of(row)?)))
                .collect()
        })
        .await
    }

    /// What was spent on this server from `since_ms` on (the start of today).
    pub async fn spent_since(&self, since_ms: i64) -> Result<Spent, DbError> {
        self.detached(move |db| async move {
        let row = sqlx::query(
            "SELECT coalesce(sum(cost_usd), 0.0) AS usd, CAST(coalesce(sum(tokens), 0) AS BIGINT) AS tokens \
             FROM turn_spend WHERE ended_at_ms >= $1",
        )
        .bind(since_ms)
        .fetch_one(&db.pool)
        .await?;
        spent_of(&row)
    })
        .await
    }

    /// Every budget set in the UI: `(scope, target, budget)`.
    pub async fn budgets(&self) -> Result<Vec<(BudgetScope, String, Budget)>, DbError> {
        self.detached(move |db| async move {
            let rows = sqlx::query("SELECT scope, target, max_usd, max_tokens FROM budgets")
                .fetch_all(&db.pool)
                .await?;
            let mut budgets = Vec::with_capacity(rows.len());
            for row in &rows {
                let scope: String = row.try_get("scope")?;
                let Some(scope) = BudgetScope::parse(&scope) else {
                    return Err(DbError::Corrupt(format!("budget scope {scope}")));
                };
                let max_tokens: Option<i64> = row.try_get("max_tokens")?;
                budgets.push((
                    scope,
                    row.try_get("target")?,
                    Budget {
                        max_usd: row.try_get("max_usd")?,
                        max_tokens: max_tokens.map(|n| n.max(0) as u64),
                    },
                ));
            }
            Ok(budgets)
        })
        .await
    }

    /// Stores a budget set in the UI (an unlimited one too: it overrides the config's).
    pub async fn set_budget(
        &self,
        scope: BudgetScope,
        target: &str,
        budget: Budget,
    ) -> Result<(), DbError> {
        let target = target.to_owned();
        self.detached(move |db| async move {
            sqlx::query(
                "INSERT INTO budgets (scope, target, max_usd, max_tokens) \
             VALUES ($1, $2, CAST($3 AS DOUBLE PRECISION), $4) \
             ON CONFLICT (scope, target) DO UPDATE SET max_usd = excluded.max_usd, \
             max_tokens = excluded.max_tokens",
            )
            .bind(scope.name())
            .bind(target)
            .bind(super::money(budget.max_usd))
            .bind(budget.max_tokens.map(|n| n.min(i64::MAX as u64) as i64))
            .execute(&db.writer)
            .await?;
            Ok(())
        })
        .await
    }
}

fn spent_of(row: &sqlx::any::AnyRow) -> Result<Spent, DbError> {
    let tokens: i64 = row.try_get("tokens")?;
    Ok(Spent {
        usd: row.try_get("usd")?,
        tokens: tokens.max(0) as u64,
    })
}
