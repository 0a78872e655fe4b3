//! Spending in the session header: `session-spend` (what the session spent, "≈" when the
//! figure is the agent's own estimate) opens the budget panel: one `budget-input` per
//! budget that applies (`data-scope` session, project, day) with its unit and what was
//! spent against it. The tab's `budget-warning` mark lives here too.

use super::deferred::Deferred;
use super::panes::{pane_extra, PaneExtra};
use super::use_store;
use crate::app::budget_lines;
use crate::client::format::{compact_count, cost_text};
use crate::client::spend::{self, limit_text, parse_limit, BudgetUnit};
use crate::client::store::SessionView;
use crate::protocol::{BudgetLevel, BudgetLine, BudgetScope, Session, SessionState, Spent};
use leptos::prelude::*;

/// What a session spent, for people: "$0.0123 · 1.2k tokens", "≈$0.01 · ..." for an
/// estimate, "1.2k tokens" when the agent reports no cost.
pub fn spend_text(session: &Session) -> String {
    let usage = &session.usage;
    let tokens = format!("{} tokens", compact_count(usage.billable_tokens()));
    match usage.cost_usd {
        Some(cost) if usage.cost_estimated => format!("≈{} · {tokens}", cost_text(cost)),
        Some(cost) => format!("{} · {tokens}", cost_text(cost)),
        None => tokens,
    }
}

/// The header's spend button and its budget panel.
#[component]
pub fn SessionSpend(session: SessionView) -> impl IntoView {
    let meta = RwSignal::from(session.meta.clone());
    let open = RwSignal::from(session.budget_open.clone());
    let is_draft = move || meta.with(|m| m.state == SessionState::Draft);
    let text = Memo::new(move |_| meta.with(spend_text));
    let level = Memo::new(move |_| meta.with(|m| m.budget.map(|alert| alert.level)));
    let title = move || {
        let estimate = meta.with(|m| m.usage.cost_estimated);
        let base = if estimate {
            "Spent by this session (≈: the agent's own estimate of the cost). Click for budgets."
        } else {
            "Spent by this session. Click for budgets."
        };
        match meta.with(|m| m.budget) {
            Some(alert) => format!("{} {base}", alert.message()),
            None => base.to_owned(),
        }
    };
    view! {
        <Show when=move || !is_draft()>
            <button
                type="button"
                class="session-spend"
                data-testid="session-spend"
                data-level=move || match level.get() {
                    Some(BudgetLevel::Near) => "near",
                    Some(BudgetLevel::Reached) => "reached",
                    None => "fine",
                }
                aria-expanded=move || open.get().to_string()
                title=title
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {move || text.get()}
            </button>
        </Show>
        <Show when=move || open.get() && !is_draft()>
            {
                let session = session.clone();
                view! { <Deferred load=move || pane_extra(PaneExtra::Budgets { session: session.clone() })/> }
            }
        </Show>
    }
}

/// The budgets that apply to the session, each editable.
#[component]
pub fn BudgetPanel(session: SessionView) -> impl IntoView {
    let id = session.id;
    let meta = RwSignal::from(session.meta.clone());
    let open = RwSignal::from(session.budget_open.clone());
    // Read again whenever the session spends or a budget is set.
    let version = RwSignal::new(0u32);
    let lines = LocalResource::new(move || {
        version.track();
        meta.with(|m| {
            (
                m.usage.cost_usd,
                m.usage.output_tokens,
                m.budget.map(|a| a.level),
            )
        });
        budget_lines(id.to_string())
    });
    view! {
        <div class="budget-panel" data-testid="budget-panel" role="dialog" aria-label="Budgets">
            <div class="budget-panel-head">
                <strong>"Budgets"</strong>
                <button type="button" class="icon-button" aria-label="Close" on:click=move |_| open.set(false)>"×"</button>
            </div>
            <p class="budget-help">
                "At 80% the session is warned; a turn that uses a budget up is stopped. Blank means no limit."
            </p>
            <Suspense fallback=|| view! { <p class="budget-help">"Reading budgets…"</p> }>
                {move || lines.get().map(|result| match result {
                    Ok(lines) => lines
                        .into_iter()
                        .map(|line| view! { <BudgetField session=session.clone() line version/> })
                        .collect_view()
                        .into_any(),
                    Err(e) => view! { <p class="budget-error">{format!("Cannot read budgets: {e}")}</p> }.into_any(),
                })}
            </Suspense>
        </div>
    }
}

/// One budget: its scope, what was spent against it, and the field that sets it.
#[component]
fn BudgetField(session: SessionView, line: BudgetLine, version: RwSignal<u32>) -> impl IntoView {
    let store = use_store();
    let id = session.id;
    let project = session.meta.with_untracked(|m| m.project);
    let (unit, figure) = limit_text(&line.budget);
    let unit = RwSignal::new(unit);
    let error = RwSignal::new(None::<String>);
    let scope = line.scope;
    let label = match scope {
        BudgetScope::Session => "This session",
        BudgetScope::Project => "This project",
        BudgetScope::Day => "Today, all sessions (UTC)",
    };
    let target = match scope {
        BudgetScope::Session => id.to_string(),
        BudgetScope::Project => project.map(|p| p.to_string()).unwrap_or_default(),
        BudgetScope::Day => String::new(),
    };
    let save = move |text: String| match parse_limit(&text, unit.get_untracked()) {
        Ok(budget) => {
            error.set(None);
            spend::set_budget(store, id, scope, target.clone(), budget);
            // The server applies it in order before answering anything else; read again.
            set_timeout(
                move || version.update(|v| *v += 1),
                std::time::Duration::from_millis(150),
            );
        }
        Err(message) => error.set(Some(message)),
    };
    let used = line.budget.used_fraction(line.spent);
    view! {
        <div class="budget-line" data-scope=scope.name()>
            <label class="budget-label">
                <span>{label}</span>
                <span class="budget-spent" data-testid="budget-spent">{spent_text(line.spent, used)}</span>
            </label>
            <div class="budget-entry">
                <select
                    class="budget-unit"
                    aria-label="Unit"
                    on:change=move |ev| unit.set(if event_target_value(&ev) == "tokens" { BudgetUnit::Tokens } else { BudgetUnit::Usd })
                >
                    <option value="usd" selected=unit.get_untracked() == BudgetUnit::Usd>"$"</option>
                    <option value="tokens" selected=unit.get_untracked() == BudgetUnit::Tokens>"tokens"</option>
                </select>
                <input
                    class="budget-input"
                    data-testid="budget-input"
                    data-scope=scope.name()
                    inputmode="decimal"
                    placeholder="no limit"
                    aria-label=format!("{label}: budget")
                    value=figure
                    on:change=move |ev| save(event_target_value(&ev))
                />
            </div>
            {move || error.get().map(|e| view! { <p class="budget-error" role="alert">{e}</p> })}
        </div>
    }
}

fn spent_text(spent: Spent, used: Option<f64>) -> String {
    let base = format!(
        "{} · {} tokens spent",
        cost_text(spent.usd),
        compact_count(spent.tokens)
    );
    match used {
        Some(used) => format!("{base} ({}%)", (used * 100.0).floor() as u64),
        None => base,
    }
}

/// The tab's mark while a budget that applies is at least 80% used (`data-level` near or
/// reached).
#[component]
pub fn BudgetMark(meta: ArcRwSignal<Session>) -> impl IntoView {
    let meta = RwSignal::from(meta);
    let alert = Memo::new(move |_| meta.with(|m| m.budget));
    move || {
        alert.get().map(|alert| {
            let reached = alert.level == BudgetLevel::Reached;
            view! {
                <span
                    class="budget-mark"
                    class:reached=reached
                    data-testid="budget-warning"
                    data-level=if reached { "reached" } else { "near" }
                    title=alert.message()
                    role="img"
                    aria-label=alert.message()
                >
                    "$"
                </span>
            }
        })
    }
}

/// A budget row of the transcript: a warning, a stopped turn, or a message the server
/// refused (then with "Allow one more turn" and "Raise budget").
#[component]
pub fn BudgetRow(
    session: crate::protocol::SessionId,
    message: String,
    stopped: bool,
    resend: Option<(String, std::sync::Arc<[crate::protocol::Attachment]>)>,
) -> impl IntoView {
    let store = use_store();
    let raise = move |_| {
        if let Some(view) = store.view(session) {
            view.budget_open.set(true);
        }
    };
    let allowed = RwSignal::new(false);
    view! {
        <div
            class="message notice budget"
            class:error=stopped
            data-testid=if stopped { "budget-stopped" } else { "budget-notice" }
            data-role="notice"
            data-kind="budget"
            role=if stopped { "alert" } else { "note" }
        >
            <span class="notice-icon" aria-hidden="true">"$"</span>
            <div class="notice-body">
                <div class="notice-text">{message}</div>
                {resend.map(|(text, images)| view! {
                    <div class="budget-actions">
                        <button type="button" data-testid="budget-raise" on:click=raise>"Raise budget"</button>
                        <button
                            type="button"
                            data-testid="budget-allow"
                            disabled=move || allowed.get()
                            on:click=move |_| {
                                allowed.set(true);
                                spend::allow_one_more_turn(store, session, text.clone(), images.to_vec());
                            }
                        >
                            "Allow one more turn"
                        </button>
                    </div>
                })}
            </div>
        </div>
    }
}
