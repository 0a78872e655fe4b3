//! The Usage page's figures: `turn_spend` grouped by UTC day, by project and by agent for a
//! period, in one read transaction so the groups and the totals add up.

use super::{Db, DbError};
use crate::protocol::{AgentId, Day, UsageDay, UsageFigures, UsageGroup, UsagePeriod, UsageReport};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

/// The label of sessions outside any project.
pub const NO_PROJECT: &str = "No project";

/// The figures every query selects, over the rows of `turn_spend t` it groups. A turn's
/// `estimated` counts only when it has a cost: an estimate of nothing is no estimate.
const FIGURES: &str =
    "coalesce(sum(t.cost_usd), 0.0) AS usd, CAST(coalesce(sum(t.tokens), 0) AS BIGINT) AS tokens, \
     count(*) AS turns, count(t.cost_usd) AS priced, \
     coalesce(max(CASE WHEN t.cost_usd IS NOT NULL THEN t.estimated ELSE 0 END), 0) AS estimated";

impl Db {
    /// What turns that ended from `from`'s first millisecond to `to`'s last (UTC) spent:
    /// every day of the period (zero on quiet ones), each project and agent with turns in
    /// it, most expensive first, and the totals.
    pub async fn usage_report(&self, from: Day, to: Day) -> Result<UsageReport, DbError> {
        self.detached(move |db| async move {
            let (start, end) = (from.start_ms(), to.plus(1).start_ms());
            // One snapshot (WAL): a turn finishing between two queries cannot make the days
            // and the totals disagree.
            let mut tx = db.pool.begin().await?;
            let day_rows = sqlx::query(&format!(
                "SELECT t.ended_at_ms / 86400000 AS day, {FIGURES} FROM turn_spend t \
             WHERE t.ended_at_ms >= $1 AND t.ended_at_ms < $2 GROUP BY day"
            ))
            .bind(start)
            .bind(end)
            .fetch_all(&mut *tx)
            .await?;
            // A project that was removed keeps its spending, under its id.
            let project_rows = sqlx::query(&format!(
                "SELECT s.project_id AS key, p.name AS label, {FIGURES} FROM turn_spend t \
             LEFT JOIN sessions s ON s.id = t.session_id \
             LEFT JOIN projects p ON p.id = s.project_id \
             WHERE t.ended_at_ms >= $1 AND t.ended_at_ms < $2 GROUP BY s.project_id, p.name"
            ))
            .bind(start)
            .bind(end)
            .fetch_all(&mut *tx)
            .await?;
            let agent_rows = sqlx::query(&format!(
                "SELECT s.agent AS key, {FIGURES} FROM turn_spend t \
             LEFT JOIN sessions s ON s.id = t.session_id \
             WHERE t.ended_at_ms >= $1 AND t.ended_at_ms < $2 GROUP BY s.agent"
            ))
            .bind(start)
            .bind(end)
            .fetch_all(&mut *tx)
            .await?;
            let total_row = sqlx::query(&format!(
            "SELECT {FIGURES} FROM turn_spend t WHERE t.ended_at_ms >= $1 AND t.ended_at_ms < $2"
        ))
            .bind(start)
            .bind(end)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;

            let mut by_day = HashMap::with_capacity(day_rows.len());
            for row in &day_rows {
                let day: i64 = row.try_get("day")?;
                by_day.insert(day, figures_of(row)?);
            }
            let days = (from.days()..=to.days())
                .map(|n| UsageDay {
                    day: from.plus(n - from.days()).to_string(),
                    spent: by_day.get(&n).copied().unwrap_or_default(),
                })
                .collect();
            let mut projects = project_rows
                .iter()
                .map(|row| {
                    let key: Option<String> = row.try_get("key")?;
                    let name: Option<String> = row.try_get("label")?;
                    let label = match (&key, name) {
                        (_, Some(name)) => name,
                        (None, None) => NO_PROJECT.to_owned(),
                        (Some(_), None) => "Removed project".to_owned(),
                    };
                    Ok(UsageGroup {
                        key: key.unwrap_or_default(),
                        label,
                        spent: figures_of(row)?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            let mut agents = agent_rows
                .iter()
                .map(|row| {
                    let key: Option<String> = row.try_get("key")?;
                    let label = key.as_ref().map_or_else(
                        || "Unknown agent".to_owned(),
                        |key| AgentId(key.clone()).label(),
                    );
                    Ok(UsageGroup {
                        key: key.unwrap_or_default(),
                        label,
                        spent: figures_of(row)?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            sort_groups(&mut projects);
            sort_groups(&mut agents);
            Ok(UsageReport {
                period: UsagePeriod::new(from, to),
                days,
                projects,
                agents,
                total: figures_of(&total_row)?,
            })
        })
        .await
    }
}

/// Most money first, then most tokens, then by name (a stable order for equal figures).
fn sort_groups(groups: &mut [UsageGroup]) {
    groups.sort_by(|a, b| {
        b.spent
            .usd
            .total_cmp(&a.spent.usd)
            .then(b.spent.tokens.cmp(&a.spent.tokens))
            .then_with(|| a.label.cmp(&b.label))
    });
}

fn figures_of(row: &AnyRow) -> Result<UsageFigures, DbError> {
    let count = |name: &str| -> Result<u64, DbError> {
        let n: i64 = row.try_get(name)?;
        Ok(n.max(0) as u64)
    };
    let estimated: i64 = row.try_get("estimated")?;
    Ok(UsageFigures {
        usd: row.try_get("usd")?,
        tokens: count("tokens")?,
        turns: count("turns")?,
        priced_turns: count("priced")?,
        estimated: estimated != 0,
    })
}

#[cfg(test)]
mod tests;
