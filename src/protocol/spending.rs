//! Spending and budgets: a limit in money and/or tokens per session, per project and per day
//! for the whole server, and the alert a session carries when one is nearly or wholly used.

use serde::{Deserialize, Serialize};

/// The share of a budget at which a session is warned (and its tab marked).
pub const BUDGET_WARNING_FRACTION: f64 = 0.8;

/// What a budget applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    /// One session's turns, all time.
    Session,
    /// All sessions of one project, all time.
    Project,
    /// Every session on this server, today (UTC).
    Day,
}

impl BudgetScope {
    /// The snake_case name (`data-scope`, the database).
    pub fn name(self) -> &'static str {
        match self {
            BudgetScope::Session => "session",
            BudgetScope::Project => "project",
            BudgetScope::Day => "day",
        }
    }

    /// The scope named `name`, if any.
    pub fn parse(name: &str) -> Option<BudgetScope> {
        match name {
            "session" => Some(BudgetScope::Session),
            "project" => Some(BudgetScope::Project),
            "day" => Some(BudgetScope::Day),
            _ => None,
        }
    }

    /// For people: "this session's", "this project's", "today's".
    pub fn label(self) -> &'static str {
        match self {
            BudgetScope::Session => "this session's",
            BudgetScope::Project => "this project's",
            BudgetScope::Day => "today's",
        }
    }
}

/// A spending limit. Either figure may be absent (no limit in that unit); money applies to
/// agents that report a cost, tokens to every agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Most US dollars to spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usd: Option<f64>,
    /// Most tokens (read plus written) to spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

impl Budget {
    /// True when neither limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.max_usd.is_none() && self.max_tokens.is_none()
    }

    /// How much of the budget `spent` uses: the larger share of its two limits (1.0 is all
    /// of it); `None` when unlimited.
    pub fn used_fraction(&self, spent: Spent) -> Option<f64> {
        let usd = self.max_usd.map(|max| {
            if max > 0.0 {
                spent.usd / max
            } else {
                f64::INFINITY
            }
        });
        let tokens = self.max_tokens.map(|max| {
            if max > 0 {
                spent.tokens as f64 / max as f64
            } else {
                f64::INFINITY
            }
        });
        match (usd, tokens) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0).max(b.unwrap_or(0.0))),
        }
    }

    /// For people: "$1.00", "50,000 tokens", "$1.00 or 50,000 tokens", "no limit".
    pub fn describe(&self) -> String {
        let usd = self.max_usd.map(|usd| format!("${}", fixed(usd, 2)));
        let tokens = self.max_tokens.map(|n| format!("{n} tokens"));
        match (usd, tokens) {
            (Some(usd), Some(tokens)) => format!("{usd} or {tokens}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => "no limit".into(),
        }
    }
}

/// Money and tokens spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// US dollars (0 for agents that report no cost).
    pub usd: f64,
    /// Tokens read plus written.
    pub tokens: u64,
}

impl Spent {
    /// The sum of two amounts.
    pub fn plus(self, other: Spent) -> Spent {
        Spent {
            usd: self.usd + other.usd,
            tokens: self.tokens + other.tokens,
        }
    }

    /// What a usage record spent.
    pub fn of(usage: &super::Usage) -> Spent {
        Spent {
            usd: usage.cost_usd.unwrap_or(0.0),
            tokens: usage.billable_tokens(),
        }
    }
}

/// How much of a budget is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetLevel {
    /// At least [`BUDGET_WARNING_FRACTION`] of it: the session is warned.
    Near,
    /// All of it: a running turn is stopped and new turns are refused.
    Reached,
}

/// The most used budget that applies to a session, once it is near or reached.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetAlert {
    /// Which budget.
    pub scope: BudgetScope,
    /// Near or reached.
    pub level: BudgetLevel,
    /// What that scope has spent.
    pub spent: Spent,
    /// Its limit.
    pub budget: Budget,
}

impl BudgetAlert {
    /// The alert for `spent` against `budget`, when it is at least near.
    pub fn check(scope: BudgetScope, spent: Spent, budget: Budget) -> Option<BudgetAlert> {
        let used = budget.used_fraction(spent)?;
        let level = if used >= 1.0 {
            BudgetLevel::Reached
        } else if used >= BUDGET_WARNING_FRACTION {
            BudgetLevel::Near
        } else {
            return None;
        };
        Some(BudgetAlert {
            scope,
            level,
            spent,
            budget,
        })
    }

    /// The worse of two alerts (reached over near; the fuller one among equals).
    pub fn worse(a: Option<BudgetAlert>, b: Option<BudgetAlert>) -> Option<BudgetAlert> {
        match (a, b) {
            (Some(a), Some(b)) => {
                let rank = |x: &BudgetAlert| {
                    (
                        x.level == BudgetLevel::Reached,
                        x.budget.used_fraction(x.spent).unwrap_or(0.0),
                    )
                };
                Some(if rank(&b) > rank(&a) { b } else { a })
            }
            (a, b) => a.or(b),
        }
    }

    /// For people, e.g. "This session has used 85% of this project's budget ($1.00)."
    pub fn message(&self) -> String {
        let percent = fixed(
            (self.budget.used_fraction(self.spent).unwrap_or(0.0) * 100.0).floor(),
            0,
        );
        match self.level {
            BudgetLevel::Near => format!(
                "{percent}% of {} budget ({}) is used.",
                self.scope.label(),
                self.budget.describe()
            ),
            BudgetLevel::Reached => format!(
                "{} budget ({}) is used up: ${} and {} tokens spent.",
                capitalize(self.scope.label()),
                self.budget.describe(),
                fixed(self.spent.usd, 4),
                self.spent.tokens
            ),
        }
    }
}

/// `value` with `places` decimals, rounded half away from zero (`fixed(2.5, 2)` is
/// `"2.50"`), in integer arithmetic: `{:.2}` on a float would bring `core::fmt`'s float
/// printing into the browser's first load for these few messages. Beyond `u64` a value
/// shows as its largest.
pub fn fixed(value: f64, places: u32) -> String {
    let scale = 10u64.pow(places);
    // `as` saturates (and NaN is 0): no overflow whatever the value.
    let scaled = (value.abs() * scale as f64).round() as u64;
    let sign = if value < 0.0 && scaled > 0 { "-" } else { "" };
    let whole = scaled / scale;
    if places == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = scaled % scale;
    format!("{sign}{whole}.{fraction:0width$}", width = places as usize)
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// One budget that applies to a session, with what was spent against it (the session's
/// budget panel).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetLine {
    /// Which budget.
    pub scope: BudgetScope,
    /// Its limit (set in the UI, else the configuration's).
    pub budget: Budget,
    /// What was spent against it, running turns included.
    pub spent: Spent,
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOLLAR: Budget = Budget {
        max_usd: Some(1.0),
        max_tokens: None,
    };

    fn spent(usd: f64, tokens: u64) -> Spent {
        Spent { usd, tokens }
    }

    #[test]
    fn the_fuller_of_two_limits_counts_and_no_limit_is_none() {
        let both = Budget {
            max_usd: Some(1.0),
            max_tokens: Some(1000),
        };
        assert_eq!(both.used_fraction(spent(0.5, 900)), Some(0.9));
        assert_eq!(both.used_fraction(spent(0.7, 100)), Some(0.7));
        assert_eq!(Budget::default().used_fraction(spent(99.0, 9)), None);
        // A zero limit is used up by anything, not a division by zero.
        let zero = Budget {
            max_usd: Some(0.0),
            max_tokens: None,
        };
        assert_eq!(zero.used_fraction(spent(0.0, 0)), Some(f64::INFINITY));
    }

    #[test]
    fn alerts_start_at_80_percent_and_reached_beats_near() {
        assert_eq!(
            BudgetAlert::check(BudgetScope::Day, spent(0.79, 0), DOLLAR),
            None
        );
        let near = BudgetAlert::check(BudgetScope::Session, spent(0.8, 0), DOLLAR).expect("near");
        assert_eq!(near.level, BudgetLevel::Near);
        let reached =
            BudgetAlert::check(BudgetScope::Project, spent(1.0, 0), DOLLAR).expect("reached");
        assert_eq!(reached.level, BudgetLevel::Reached);
        assert_eq!(BudgetAlert::worse(Some(near), Some(reached)), Some(reached));
        assert_eq!(BudgetAlert::worse(Some(reached), None), Some(reached));
        let fuller = BudgetAlert::check(BudgetScope::Day, spent(0.95, 0), DOLLAR);
        assert_eq!(BudgetAlert::worse(Some(near), fuller), fuller);
        assert_eq!(
            near.message(),
            "80% of this session's budget ($1.00) is used."
        );
        assert!(reached
            .message()
            .starts_with("This project's budget ($1.00) is used up"));
    }

    #[test]
    fn fixed_point_text_rounds_half_away_from_zero() {
        assert_eq!(fixed(2.5, 2), "2.50");
        assert_eq!(fixed(0.00005, 4), "0.0001");
        assert_eq!(fixed(0.004, 2), "0.00");
        assert_eq!(fixed(1234.5678, 2), "1234.57");
        assert_eq!(fixed(85.0, 0), "85");
        assert_eq!(fixed(-1.25, 1), "-1.3");
        assert_eq!(fixed(-0.001, 2), "0.00");
        assert_eq!(fixed(f64::NAN, 2), "0.00");
        let reached =
            BudgetAlert::check(BudgetScope::Day, spent(1.23456, 7), DOLLAR).expect("reached");
        assert_eq!(
            reached.message(),
            "Today's budget ($1.00) is used up: $1.2346 and 7 tokens spent."
        );
    }
}
