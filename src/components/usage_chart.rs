//! The Usage page's charts as numbers: bar positions and sizes in SVG user units, axis
//! ticks at round values, and the labels, so `usage.rs` only draws what these compute.
//! Pure: tested natively. Money is written with integer arithmetic (as `client::format`
//! does), so the browser build carries no float-formatting code.

use crate::client::format::{compact_count, cost_text, decimal, grouped};
use crate::protocol::{UsageDay, UsageFigures, UsageGroup};

/// What the charts measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// US dollars, for agents that report a cost.
    Usd,
    /// Tokens read plus written, every agent.
    Tokens,
}

impl Unit {
    /// The name used in `data-unit`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Usd => "usd",
            Unit::Tokens => "tokens",
        }
    }

    /// What the figures are in this unit.
    pub fn value(self, figures: &UsageFigures) -> f64 {
        match self {
            Unit::Usd => figures.usd,
            Unit::Tokens => figures.tokens as f64,
        }
    }

    /// The unit a period is shown in at first: money, unless no turn in it reports a cost.
    pub fn default_for(total: &UsageFigures) -> Unit {
        if total.priced_turns > 0 {
            Unit::Usd
        } else {
            Unit::Tokens
        }
    }
}

/// An amount of money as the app writes a turn's cost (`$1.23`, `$0.0123`), amounts too
/// small for that with up to six decimals (`$0.00002`), and `≈` before an estimate.
pub fn money(usd: f64, estimated: bool) -> String {
    let usd = if usd.is_finite() { usd.max(0.0) } else { 0.0 };
    let text = if usd == 0.0 {
        "$0.00".to_owned()
    } else if usd < 0.000_05 {
        let micros = decimal((usd * 1e6).round() as u64, 6);
        format!("${}", micros.trim_end_matches('0').trim_end_matches('.'))
    } else {
        cost_text(usd)
    };
    if estimated {
        format!("\u{2248}{text}")
    } else {
        text
    }
}

/// A figure in `unit` for a bar's value label: money (a dash when no turn in it reported a
/// cost), or tokens shortened (`12.3k`).
pub fn amount(figures: &UsageFigures, unit: Unit) -> String {
    match unit {
        // Nothing in it had a cost: a dash, as in the tables (not "$0.00").
        Unit::Usd if figures.priced_turns == 0 => "\u{2014}".to_owned(),
        Unit::Usd => money(figures.usd, figures.estimated),
        Unit::Tokens => compact_count(figures.tokens),
    }
}

/// A whole description of some figures, for a bar's tooltip and the chart's title:
/// `≈$0.42 · 12,345 tokens · 3 turns`.
pub fn describe(figures: &UsageFigures) -> String {
    let turns = if figures.turns == 1 { "turn" } else { "turns" };
    let mut parts = Vec::with_capacity(3);
    if figures.priced_turns > 0 {
        parts.push(money(figures.usd, figures.estimated));
    }
    parts.push(format!("{} tokens", grouped(figures.tokens)));
    parts.push(format!("{} {turns}", figures.turns));
    parts.join(" \u{b7} ")
}

/// An amount in micro-dollars, for `data-` attributes a test can compare exactly.
pub fn micro_usd(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e6).round() as u64
    } else {
        0
    }
}

/// A value axis: round steps from 0 to the first step at or above the largest value.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// The distance between two ticks (1, 2 or 5 times a power of ten).
    pub step: f64,
    /// The ticks, from 0 up; the last is the axis' top.
    pub values: Vec<f64>,
}

impl Ticks {
    /// The axis' top value.
    pub fn top(&self) -> f64 {
        self.values.last().copied().unwrap_or(1.0)
    }
}

/// Ticks for values up to `max`, at most `at_most` steps: 0, 0.02, 0.04... Tokens are
/// whole, so their step is at least 1. An all-zero chart gets one step (its bars are flat).
pub fn nice_ticks(max: f64, at_most: usize, unit: Unit) -> Ticks {
    let at_most = at_most.max(1);
    if !max.is_finite() || max <= 0.0 {
        let step = if unit == Unit::Tokens { 1.0 } else { 0.01 };
        return Ticks {
            step,
            values: vec![0.0, step],
        };
    }
    let raw = max / at_most as f64;
    let magnitude = 10f64.powi(raw.log10().floor() as i32);
    let normal = raw / magnitude;
    // The tolerance keeps a float just over 2 (0.0001 / 5 / 1e-5) from choosing 5.
    let factor = if normal <= 1.0 + 1e-9 {
        1.0
    } else if normal <= 2.0 + 1e-9 {
        2.0
    } else if normal <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    let mut step = factor * magnitude;
    if unit == Unit::Tokens {
        step = step.max(1.0);
    }
    // The small tolerance keeps 0.3 / 0.1 (2.9999...) from adding a needless step.
    let steps = ((max / step) - 1e-9).ceil().max(1.0) as usize;
    Ticks {
        step,
        values: (0..=steps).map(|i| i as f64 * step).collect(),
    }
}

/// A tick's label: as many decimals as the step needs (`$0.02`, `$0.00005`, `$2`), or
/// tokens shortened (`1.5k`); the baseline is plain `$0`.
pub fn tick_label(value: f64, step: f64, unit: Unit) -> String {
    match unit {
        Unit::Tokens => compact_count(value.round().max(0.0) as u64),
        Unit::Usd if value <= 0.0 => "$0".to_owned(),
        Unit::Usd => {
            // Cents, not "$0.8": money reads with two decimals once it has any.
            let places = if step > 0.0 {
                match (-step.log10().floor()).clamp(0.0, 6.0) as u32 {
                    1 => 2,
                    places => places,
                }
            } else {
                2
            };
            let scaled = (value.max(0.0) * 10f64.powi(places as i32)).round() as u64;
            if places == 0 {
                format!("${}", grouped(scaled))
            } else {
                format!("${}", decimal(scaled, places))
            }
        }
    }
}

/// `2026-12-03` as `Dec 3`.
pub fn short_day(day: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = day.get(5..7).and_then(|m| m.parse::<usize>().ok());
    let date = day.get(8..10).and_then(|d| d.parse::<u32>().ok());
    match (month, date) {
        (Some(month @ 1..=12), Some(date)) => format!("{} {date}", MONTHS[month - 1]),
        _ => day.to_owned(),
    }
}

/// A name cut to `max` characters, with `…` when cut (the table has the whole name).
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let kept: String = name.chars().take(max.saturating_sub(1)).collect();
    format!("{}\u{2026}", kept.trim_end())
}

/// The day chart's canvas, in SVG user units (the SVG scales to the page's width).
pub const DAY_WIDTH: f64 = 400.0;
/// The day chart's height.
pub const DAY_HEIGHT: f64 = 200.0;
/// Room left of the plot for the value axis' labels.
const DAY_LEFT: f64 = 62.0;
/// Room right of the plot (half of the last day's label).
const DAY_RIGHT: f64 = 14.0;
/// Room above the plot (half a label over the top tick).
const DAY_TOP: f64 = 10.0;
/// Room under the plot for the day labels.
const DAY_BOTTOM: f64 = 24.0;
/// At most this many day labels under the chart (they would overlap beyond).
const DAY_LABELS: usize = 7;

/// One day's bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height (0 on a quiet day).
    pub height: f64,
    /// The tooltip: the day and its figures.
    pub title: String,
}

/// A horizontal grid line and its label on the value axis.
#[derive(Debug, Clone, PartialEq)]
pub struct GridLine {
    /// Its height.
    pub y: f64,
    /// Its value, written.
    pub label: String,
}

/// A label under the day axis.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisLabel {
    /// The middle of its day's column.
    pub x: f64,
    /// `Dec 3`.
    pub text: String,
}

/// The bar chart per day, laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct DayChart {
    /// One bar per day, in order.
    pub columns: Vec<Column>,
    /// The value axis' lines, from 0 up.
    pub grid: Vec<GridLine>,
    /// Day labels, spread so they never overlap; the last day always has one.
    pub labels: Vec<AxisLabel>,
    /// The plot's left edge (where grid lines start).
    pub plot_left: f64,
    /// The plot's right edge.
    pub plot_right: f64,
    /// The baseline's height.
    pub baseline: f64,
}

/// Lays out the bar chart of `days` in `unit`.
pub fn day_chart(days: &[UsageDay], unit: Unit) -> DayChart {
    let (left, right) = (DAY_LEFT, DAY_WIDTH - DAY_RIGHT);
    let (top, baseline) = (DAY_TOP, DAY_HEIGHT - DAY_BOTTOM);
    let max = days
        .iter()
        .map(|d| unit.value(&d.spent))
        .fold(0.0, f64::max);
    let ticks = nice_ticks(max, 5, unit);
    let scale = (baseline - top) / ticks.top();
    let slot = (right - left) / days.len().max(1) as f64;
    // A gap of a fifth of the slot, at most 6 units; a year's slivers touch.
    let gap = (slot * 0.2).min(6.0);
    let columns = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let value = unit.value(&d.spent);
            // A day with anything at all keeps a sliver, so it never reads as quiet.
            let height = if value > 0.0 {
                (value * scale).max(1.0)
            } else {
                0.0
            };
            Column {
                day: d.day.clone(),
                x: left + i as f64 * slot + gap / 2.0,
                y: baseline - height,
                width: slot - gap,
                height,
                title: format!("{}: {}", d.day, describe(&d.spent)),
            }
        })
        .collect();
    let grid = ticks
        .values
        .iter()
        .map(|&value| GridLine {
            y: baseline - value * scale,
            label: tick_label(value, ticks.step, unit),
        })
        .collect();
    // Every n-th day, counted back from the last, so the newest day is always named. Only
    // the first label and those in a new month name the month ("Nov 28", "29", "Dec 1"):
    // short labels still fit a phone's width.
    let every = days.len().div_ceil(DAY_LABELS).max(1);
    let mut month_shown = "";
    let mut labels = Vec::new();
    for (i, d) in days.iter().enumerate() {
        if !(days.len() - 1 - i).is_multiple_of(every) {
            continue;
        }
        let month = d.day.get(..7).unwrap_or_default();
        let text = if month == month_shown {
            short_day(&d.day)
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_owned()
        } else {
            short_day(&d.day)
        };
        month_shown = month;
        labels.push(AxisLabel {
            x: left + (i as f64 + 0.5) * slot,
            text,
        });
    }
    DayChart {
        columns,
        grid,
        labels,
        plot_left: left,
        plot_right: right,
        baseline,
    }
}

/// The horizontal bar charts' width.
pub const BARS_WIDTH: f64 = 400.0;
/// Room for the names left of the bars.
const BARS_NAME: f64 = 140.0;
/// Room for the figures right of the bars.
const BARS_VALUE: f64 = 80.0;
/// One row's height.
const BARS_ROW: f64 = 26.0;
/// A bar's thickness.
const BARS_THICKNESS: f64 = 16.0;
/// A name is cut to this many characters.
const BARS_NAME_CHARS: usize = 16;

/// One project's or agent's bar.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    /// The project's id or the agent's key.
    pub key: String,
    /// The name shown (shortened).
    pub name: String,
    /// The bar's top.
    pub y: f64,
    /// The row's middle, where its texts sit.
    pub middle: f64,
    /// The bar's left edge.
    pub x: f64,
    /// The bar's length (at least 1 for a non-zero figure, so it shows).
    pub width: f64,
    /// The bar's thickness.
    pub height: f64,
    /// Where the figure's text starts.
    pub value_x: f64,
    /// The figure, written.
    pub value: String,
    /// The tooltip: the whole name and figures.
    pub title: String,
}

/// A horizontal bar chart, laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// One row per group, in the report's order.
    pub rows: Vec<BarRow>,
    /// The canvas' height.
    pub height: f64,
}

/// Lays out one horizontal bar per group, the longest for the largest figure in `unit`.
pub fn bar_chart(groups: &[UsageGroup], unit: Unit) -> BarChart {
    let max = groups
        .iter()
        .map(|g| unit.value(&g.spent))
        .fold(0.0, f64::max);
    let room = BARS_WIDTH - BARS_NAME - BARS_VALUE;
    let rows = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let value = unit.value(&g.spent);
            let width = if max > 0.0 && value > 0.0 {
                (value / max * room).max(1.0)
            } else {
                0.0
            };
            let row_top = i as f64 * BARS_ROW;
            BarRow {
                key: g.key.clone(),
                name: shorten(&g.label, BARS_NAME_CHARS),
                y: row_top + (BARS_ROW - BARS_THICKNESS) / 2.0,
                middle: row_top + BARS_ROW / 2.0,
                x: BARS_NAME,
                width,
                height: BARS_THICKNESS,
                value_x: BARS_NAME + width + 6.0,
                value: amount(&g.spent, unit),
                title: format!("{}: {}", g.label, describe(&g.spent)),
            }
        })
        .collect();
    BarChart {
        rows,
        height: (groups.len().max(1) as f64 * BARS_ROW).max(BARS_ROW),
    }
}

#[cfg(test)]
mod tests;
