//! The `/usage` pane (`usage-page`): what finished turns spent in a period of UTC days, as
//! three inline SVG charts (`usage-chart`, `data-chart` = `day`, `project`, `agent`), each
//! with a table of the same numbers. The period is the address' `?from=&to=` (presets: the
//! last 7 or 30 days, this month; or any dates), so a reload or a shared link shows the
//! same figures. The geometry is [`super::usage_chart`]'s.

use super::usage_chart::{
    bar_chart, day_chart, describe, micro_usd, money, BarChart, Unit, BARS_WIDTH, DAY_HEIGHT,
    DAY_WIDTH,
};
use crate::app::usage_for_period;
use crate::client::format::{decimal, grouped};
use crate::protocol::{Day, UsageDay, UsageFigures, UsageGroup, UsagePeriod, UsageReport};
use leptos::html::Input;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

/// Now, in milliseconds since the epoch (the browser's clock once hydrated).
fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now() as i64;
    #[cfg(not(feature = "hydrate"))]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The period choices offered as links: `data-preset`, label, and its days ending today.
fn presets(today: Day) -> [(&'static str, &'static str, UsagePeriod); 3] {
    [
        ("7d", "Last 7 days", UsagePeriod::new(today.plus(-6), today)),
        (
            "30d",
            "Last 30 days",
            UsagePeriod::new(today.plus(-29), today),
        ),
        (
            "month",
            "This month",
            UsagePeriod::new(today.first_of_month(), today),
        ),
    ]
}

/// The period the address asks for: `from` and `to` as given (checked when fetched), the
/// last 7 days when neither is given, and today or a week before for a missing one.
fn asked_period(from: Option<String>, to: Option<String>, today: Day) -> UsagePeriod {
    let to = to.unwrap_or_else(|| today.to_string());
    let from = from.unwrap_or_else(|| Day::parse(&to).unwrap_or(today).plus(-6).to_string());
    UsagePeriod { from, to }
}

/// The page's address for a period. Dates need no escaping once they parse; anything else
/// typed into the address is escaped so it stays one query value.
fn usage_path(period: &UsagePeriod) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' | b'.' => {
                    char::from(b).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    format!(
        "/usage?from={}&to={}",
        escape(&period.from),
        escape(&period.to)
    )
}

/// The report for a period, or why there is none, in words for the page.
async fn fetch_report(period: UsagePeriod) -> Result<UsageReport, String> {
    // Checked here too, so a bad address says why without a trip to the server.
    period.days()?;
    usage_for_period(period.from, period.to)
        .await
        .map_err(|error| match error {
            ServerFnError::ServerError(message) => message,
            other => format!("The report could not be fetched: {other}"),
        })
}

/// The Usage page.
#[component]
pub fn UsagePane() -> impl IntoView {
    let query = use_query_map();
    let today = Day::of_ms(now_ms());
    let period =
        Memo::new(move |_| query.with(|q| asked_period(q.get("from"), q.get("to"), today)));
    // Fetched during SSR and handed to the hydrating browser; again when the period moves.
    let report = Resource::new(move || period.get(), fetch_report);
    // The unit the reader picked (None: money when anything in the period has a cost).
    let chosen = RwSignal::new(None::<Unit>);
    view! {
        <section class="usage-pane" data-testid="usage-page">
            <div class="usage-card">
                <h1>"Usage"</h1>
                <p class="usage-intro">
                    "What the agents spent, from the cost and tokens each finished turn \
                     reported. Days are UTC days."
                </p>
                <PeriodChooser period today/>
                <Transition fallback=|| {
                    view! {
                        <p class="usage-loading" role="status">
                            <span class="state-dot spinner" aria-hidden="true"></span>
                            "Adding up the turns…"
                        </p>
                    }
                }>
                    {move || Suspend::new(async move {
                        match report.await {
                            Ok(report) => view! { <UsageBody report chosen/> }.into_any(),
                            Err(message) => view! {
                                <p class="usage-error" data-testid="usage-error" role="alert">
                                    {message}
                                </p>
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}

/// The preset links and the custom dates' form. Both only change the address.
#[component]
fn PeriodChooser(period: Memo<UsagePeriod>, today: Day) -> impl IntoView {
    let navigate = use_navigate();
    let from_ref = NodeRef::<Input>::new();
    let to_ref = NodeRef::<Input>::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let (Some(from), Some(to)) = (from_ref.get(), to_ref.get()) else {
            return; // Not hydrated: the form's own GET does the same.
        };
        ev.prevent_default();
        let chosen = UsagePeriod {
            from: from.value(),
            to: to.value(),
        };
        navigate(&usage_path(&chosen), Default::default());
    };
    let links = presets(today)
        .into_iter()
        .map(|(key, label, preset)| {
            let href = usage_path(&preset);
            let current = move || period.with(|p| *p == preset).then_some("page");
            view! {
                <a
                    class="usage-preset"
                    data-testid="usage-preset"
                    data-preset=key
                    href=href
                    data-noscroll=""
                    aria-current=current
                >
                    {label}
                </a>
            }
        })
        .collect_view();
    view! {
        <div class="usage-periods">
            <nav class="usage-presets" aria-label="Period">{links}</nav>
            <form
                class="usage-custom"
                data-testid="usage-custom"
                method="get"
                action="/usage"
                on:submit=on_submit
            >
                <label>
                    <span>"From"</span>
                    <input
                        type="date"
                        name="from"
                        data-testid="usage-from"
                        node_ref=from_ref
                        required
                        prop:value=move || period.with(|p| p.from.clone())
                    />
                </label>
                <label>
                    <span>"To"</span>
                    <input
                        type="date"
                        name="to"
                        data-testid="usage-to"
                        node_ref=to_ref
                        required
                        prop:value=move || period.with(|p| p.to.clone())
                    />
                </label>
                <button type="submit" class="usage-apply" data-testid="usage-apply">
                    "Show"
                </button>
            </form>
        </div>
    }
}

/// The totals, the unit switch and the three charts with their tables; or, for a period
/// without turns, one sentence.
#[component]
fn UsageBody(report: UsageReport, chosen: RwSignal<Option<Unit>>) -> impl IntoView {
    let UsagePeriod { from, to } = report.period.clone();
    if report.is_empty() {
        return view! {
            <p class="usage-empty" data-testid="usage-empty">
                {format!("Nothing was spent from {from} to {to}: no turn ended in this period.")}
            </p>
        }
        .into_any();
    }
    let total = report.total;
    let priced = total.priced_turns > 0;
    // Money is offered only when something in the period has a cost.
    let unit = Signal::derive(move || match chosen.get() {
        Some(Unit::Usd) if !priced => Unit::Tokens,
        Some(unit) => unit,
        None => Unit::default_for(&total),
    });
    let unit_button = move |which: Unit, label: &'static str| {
        view! {
            <button
                type="button"
                class="usage-unit-button"
                data-testid="usage-unit"
                data-unit=which.name()
                aria-pressed=move || if unit.get() == which { "true" } else { "false" }
                disabled=which == Unit::Usd && !priced
                on:click=move |_| chosen.set(Some(which))
            >
                {label}
            </button>
        }
    };
    let days = report.days.clone();
    let day_title = format!("Spending per day from {from} to {to}");
    let (projects, agents) = (report.projects.clone(), report.agents.clone());
    view! {
        <div class="usage-summary">
            <p
                class="usage-total"
                data-testid="usage-total"
                data-micro-usd=micro_usd(total.usd).to_string()
                data-tokens=total.tokens.to_string()
                data-turns=total.turns.to_string()
            >
                <span class="usage-stat">
                    <span class="usage-stat-value">
                        {if priced { money(total.usd, total.estimated) } else { "—".into() }}
                    </span>
                    <span class="usage-stat-name">"spent"</span>
                </span>
                <span class="usage-stat">
                    <span class="usage-stat-value">{grouped(total.tokens)}</span>
                    <span class="usage-stat-name">"tokens"</span>
                </span>
                <span class="usage-stat">
                    <span class="usage-stat-value">{grouped(total.turns)}</span>
                    <span class="usage-stat-name">"turns"</span>
                </span>
            </p>
            <div class="usage-units" role="group" aria-label="Charts show">
                {unit_button(Unit::Usd, "Cost")}
                {unit_button(Unit::Tokens, "Tokens")}
            </div>
        </div>
        {(!priced).then(|| view! {
            <p class="usage-note" data-testid="usage-no-cost">
                "No agent reported a cost in this period: the charts show tokens."
            </p>
        })}
        {total.estimated.then(|| view! {
            <p class="usage-note" data-testid="usage-estimate-note">
                "≈ marks a cost that is the agent's own estimate (Claude Code prices its \
                 tokens itself), not an amount billed."
            </p>
        })}
        <section class="usage-section usage-section-days">
            <h2>"Per day"</h2>
            <div class="usage-figure">
                {move || day_svg(&days, unit.get(), &day_title)}
                <FiguresTable kind="day" heading="Day" rows=day_rows(&report.days) total/>
            </div>
        </section>
        <GroupSection kind="project" heading="Project" title="Spending per project" groups=projects unit total/>
        <GroupSection kind="agent" heading="Agent" title="Spending per agent" groups=agents unit total/>
    }
    .into_any()
}

/// An SVG coordinate with one decimal, written without float formatting.
fn coord(value: f64) -> String {
    let tenths = (value.max(0.0) * 10.0).round() as u64;
    let text = decimal(tenths, 1);
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

/// What a chart's title says it measures.
fn unit_words(unit: Unit) -> &'static str {
    match unit {
        Unit::Usd => "in US dollars",
        Unit::Tokens => "in tokens",
    }
}

/// The bar chart per day.
fn day_svg(days: &[UsageDay], unit: Unit, title: &str) -> impl IntoView {
    let chart = day_chart(days, unit);
    let title = format!("{title}, {}", unit_words(unit));
    let (left, right, base) = (
        coord(chart.plot_left),
        coord(chart.plot_right),
        coord(chart.baseline),
    );
    let tick_x = coord(chart.plot_left - 6.0);
    let label_y = coord(DAY_HEIGHT - 6.0);
    view! {
        <svg
            class="usage-chart usage-chart-day"
            data-testid="usage-chart"
            data-chart="day"
            data-unit=unit.name()
            role="img"
            viewBox=format!("0 0 {} {}", coord(DAY_WIDTH), coord(DAY_HEIGHT))
            preserveAspectRatio="xMidYMid meet"
        >
            <title>{title}</title>
            {chart.grid.into_iter().map(|line| {
                let y = coord(line.y);
                view! {
                    <line class="usage-grid" x1=left.clone() x2=right.clone() y1=y.clone() y2=y.clone()></line>
                    <text class="usage-tick" x=tick_x.clone() y=y text-anchor="end" dominant-baseline="middle">
                        {line.label}
                    </text>
                }
            }).collect_view()}
            {days.iter().zip(chart.columns).map(|(day, column)| view! {
                <rect
                    class="usage-bar"
                    data-testid="usage-bar"
                    data-day=column.day
                    data-micro-usd=micro_usd(day.spent.usd).to_string()
                    data-tokens=day.spent.tokens.to_string()
                    x=coord(column.x)
                    y=coord(column.y)
                    width=coord(column.width)
                    height=coord(column.height)
                    rx="2"
                >
                    <title>{column.title}</title>
                </rect>
            }).collect_view()}
            <line class="usage-axis" x1=left.clone() x2=right y1=base.clone() y2=base></line>
            {chart.labels.into_iter().map(|label| view! {
                <text class="usage-day-label" x=coord(label.x) y=label_y.clone() text-anchor="middle">
                    {label.text}
                </text>
            }).collect_view()}
        </svg>
    }
}

/// A horizontal bar chart per project or per agent.
fn bars_svg(kind: &'static str, title: &str, groups: &[UsageGroup], unit: Unit) -> impl IntoView {
    let BarChart { rows, height } = bar_chart(groups, unit);
    let title = format!("{title}, {}", unit_words(unit));
    view! {
        <svg
            class="usage-chart usage-chart-bars"
            data-testid="usage-chart"
            data-chart=kind
            data-unit=unit.name()
            role="img"
            viewBox=format!("0 0 {} {}", coord(BARS_WIDTH), coord(height))
            preserveAspectRatio="xMidYMid meet"
        >
            <title>{title}</title>
            {rows.into_iter().map(|row| {
                let middle = coord(row.middle);
                view! {
                    <g class="usage-bar-row" data-key=row.key>
                        <title>{row.title}</title>
                        <text class="usage-bar-name" x=coord(row.x - 8.0) y=middle.clone() text-anchor="end" dominant-baseline="middle">
                            {row.name}
                        </text>
                        <rect class="usage-bar" x=coord(row.x) y=coord(row.y) width=coord(row.width) height=coord(row.height) rx="2"></rect>
                        <text class="usage-bar-value" x=coord(row.value_x) y=middle dominant-baseline="middle">
                            {row.value}
                        </text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}

/// One line of a figures table: its name and figures.
type FiguresRow = (String, UsageFigures);

fn day_rows(days: &[UsageDay]) -> Vec<FiguresRow> {
    days.iter().map(|d| (d.day.clone(), d.spent)).collect()
}

/// The per-project or per-agent chart with its table.
#[component]
fn GroupSection(
    kind: &'static str,
    heading: &'static str,
    title: &'static str,
    groups: Vec<UsageGroup>,
    unit: Signal<Unit>,
    total: UsageFigures,
) -> impl IntoView {
    let rows = group_rows(&groups);
    view! {
        <section class="usage-section">
            <h2>{format!("Per {kind}")}</h2>
            <div class="usage-figure">
                {move || bars_svg(kind, title, &groups, unit.get())}
                <FiguresTable kind heading rows total/>
            </div>
        </section>
    }
}

fn group_rows(groups: &[UsageGroup]) -> Vec<FiguresRow> {
    groups.iter().map(|g| (g.label.clone(), g.spent)).collect()
}

/// A cost cell: money (`≈` for an estimate), or a dash when nothing in it had a cost.
fn cost_cell(figures: &UsageFigures) -> String {
    if figures.priced_turns > 0 {
        money(figures.usd, figures.estimated)
    } else {
        "—".into()
    }
}

/// The numbers a chart draws, as a table (screen readers and exact figures), with the
/// period's total in its foot.
#[component]
fn FiguresTable(
    kind: &'static str,
    heading: &'static str,
    rows: Vec<FiguresRow>,
    total: UsageFigures,
) -> impl IntoView {
    view! {
        <div class="usage-table-wrap" tabindex="0" role="region" aria-label=format!("{heading} figures")>
            <table class="usage-table" data-testid="usage-table" data-table=kind>
                <thead>
                    <tr>
                        <th scope="col">{heading}</th>
                        <th scope="col" class="usage-num">"Cost"</th>
                        <th scope="col" class="usage-num">"Tokens"</th>
                        <th scope="col" class="usage-num">"Turns"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|(name, figures)| view! {
                        <tr data-quiet=(figures.turns == 0).to_string() title=describe(&figures)>
                            <th scope="row">{name}</th>
                            <td class="usage-num">{cost_cell(&figures)}</td>
                            <td class="usage-num">{grouped(figures.tokens)}</td>
                            <td class="usage-num">{grouped(figures.turns)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
                <tfoot>
                    <tr data-testid="usage-table-total" data-micro-usd=micro_usd(total.usd).to_string()>
                        <th scope="row">"Total"</th>
                        <td class="usage-num">{cost_cell(&total)}</td>
                        <td class="usage-num">{grouped(total.tokens)}</td>
                        <td class="usage-num">{grouped(total.turns)}</td>
                    </tr>
                </tfoot>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_end_today_and_the_address_holds_the_period() {
        let today = Day::parse("2026-12-03").expect("a date");
        let [week, month30, month] = presets(today);
        assert_eq!(week.2, UsagePeriod::new(today.plus(-6), today));
        assert_eq!(month30.2.from, "2026-11-04");
        assert_eq!(month.2.from, "2026-12-01");
        assert_eq!(usage_path(&week.2), "/usage?from=2026-11-27&to=2026-12-03");
        let odd = UsagePeriod {
            from: "a&b=c".into(),
            to: "2026-12-03".into(),
        };
        assert_eq!(usage_path(&odd), "/usage?from=a%26b%3Dc&to=2026-12-03");
    }

    #[test]
    fn an_address_without_dates_asks_for_the_last_week() {
        let today = Day::parse("2026-12-03").expect("a date");
        assert_eq!(
            asked_period(None, None, today),
            UsagePeriod::new(today.plus(-6), today)
        );
        let only_to = asked_period(None, Some("2026-01-10".into()), today);
        assert_eq!(only_to.from, "2026-01-04");
        let only_from = asked_period(Some("2026-11-01".into()), None, today);
        assert_eq!(only_from.to, "2026-12-03");
        assert_eq!(coord(12.34), "12.3");
        assert_eq!(coord(12.0), "12");
        assert_eq!(coord(-3.0), "0");
    }
}
