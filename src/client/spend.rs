//! Spending and budgets in the browser: reading a budget the user typed, setting it, and
//! letting one more turn past a used-up budget.

use super::actions::transport;
use super::requests::Request;
use super::Store;
use crate::protocol::{Budget, BudgetScope, ClientFrame, SessionId};

/// The unit a budget field is typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetUnit {
    /// US dollars.
    Usd,
    /// Tokens.
    Tokens,
}

/// Reads a typed limit: blank is no limit; "$1.50", "1.5", "50000", "50,000". `Err` says
/// what is wrong, for the field.
pub fn parse_limit(text: &str, unit: BudgetUnit) -> Result<Budget, String> {
    let cleaned: String = text
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',' && *c != '_' && !c.is_whitespace())
        .collect();
    if cleaned.is_empty() {
        return Ok(Budget::default());
    }
    match unit {
        BudgetUnit::Usd => match cleaned.parse::<f64>() {
            Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(Budget {
                max_usd: Some(usd),
                max_tokens: None,
            }),
            _ => Err(format!("“{}” is not an amount of dollars", text.trim())),
        },
        BudgetUnit::Tokens => match cleaned.parse::<u64>() {
            Ok(tokens) => Ok(Budget {
                max_usd: None,
                max_tokens: Some(tokens),
            }),
            Err(_) => Err(format!("“{}” is not a number of tokens", text.trim())),
        },
    }
}

/// How a budget shows in its field: the unit it is in and the figure ("" for none).
pub fn limit_text(budget: &Budget) -> (BudgetUnit, String) {
    match (budget.max_usd, budget.max_tokens) {
        (Some(usd), _) => (BudgetUnit::Usd, format!("{usd}")),
        (None, Some(tokens)) => (BudgetUnit::Tokens, tokens.to_string()),
        (None, None) => (BudgetUnit::Usd, String::new()),
    }
}

/// Sets a budget on the server; `target` is the session or project id (ignored for the day).
pub fn set_budget(
    store: Store,
    session: SessionId,
    scope: BudgetScope,
    target: String,
    budget: Budget,
) {
    let tag = Some(store.open_request(Request::Other { session }));
    transport::send(ClientFrame::SetBudget {
        scope,
        target,
        budget,
        tag,
    });
}

/// "Allow one more turn": the server lets the next turn past the used-up budget, and the
/// refused message is sent again.
pub fn allow_one_more_turn(
    store: Store,
    session: SessionId,
    text: String,
    attachments: Vec<crate::protocol::Attachment>,
) {
    let tag = Some(store.open_request(Request::Other { session }));
    transport::send(ClientFrame::AllowTurn { session, tag });
    // Sent as it was, leaving whatever the composer holds now.
    super::actions::send_text(store, session, text, attachments);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_people_type_them() {
        let usd = |v| {
            Ok(Budget {
                max_usd: Some(v),
                max_tokens: None,
            })
        };
        assert_eq!(parse_limit("$1.50", BudgetUnit::Usd), usd(1.5));
        assert_eq!(parse_limit(" 2 ", BudgetUnit::Usd), usd(2.0));
        assert_eq!(parse_limit("", BudgetUnit::Usd), Ok(Budget::default()));
        assert!(parse_limit("-1", BudgetUnit::Usd).is_err());
        assert!(parse_limit("lots", BudgetUnit::Usd).is_err());
        let tokens = parse_limit("50,000", BudgetUnit::Tokens).expect("tokens");
        assert_eq!(tokens.max_tokens, Some(50_000));
        assert!(parse_limit("1.5", BudgetUnit::Tokens).is_err());
        assert_eq!(limit_text(&tokens), (BudgetUnit::Tokens, "50000".into()));
    }
}
