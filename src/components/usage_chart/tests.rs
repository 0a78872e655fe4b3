//! The charts' geometry and labels.

use super::*;

fn figures(usd: f64, tokens: u64, turns: u64) -> UsageFigures {
    UsageFigures {
        usd,
        tokens,
        turns,
        priced_turns: turns,
        estimated: false,
    }
}

fn days(values: &[f64]) -> Vec<UsageDay> {
    values
        .iter()
        .enumerate()
        .map(|(i, &usd)| UsageDay {
            day: format!("2026-12-{:02}", i + 1),
            spent: figures(usd, (usd * 1000.0) as u64, u64::from(usd > 0.0)),
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn ticks_are_round_and_reach_the_largest_value() {
    let cases: [(f64, f64, f64); 7] = [
        // (max, step, top)
        (0.42, 0.1, 0.5),
        (0.4, 0.1, 0.4),
        (0.3, 0.1, 0.3),
        (7.0, 2.0, 8.0),
        (1234.0, 500.0, 1500.0),
        (0.0001, 0.00002, 0.0001),
        (95.0, 20.0, 100.0),
    ];
    for (max, step, top) in cases {
        let ticks = nice_ticks(max, 5, Unit::Usd);
        assert!(close(ticks.step, step), "{max}: step {}", ticks.step);
        assert!(close(ticks.top(), top), "{max}: top {}", ticks.top());
        assert!(ticks.top() >= max - 1e-12);
        assert!(ticks.values.len() <= 6, "{max}: {:?}", ticks.values);
        assert_eq!(ticks.values[0], 0.0);
    }
    // Tokens are whole: no step below one.
    let ticks = nice_ticks(3.0, 5, Unit::Tokens);
    assert_eq!(ticks.values, [0.0, 1.0, 2.0, 3.0]);
    // Nothing to show: one flat step.
    assert_eq!(nice_ticks(0.0, 4, Unit::Tokens).values, [0.0, 1.0]);
    assert_eq!(nice_ticks(f64::NAN, 4, Unit::Usd).values.len(), 2);
}

#[test]
fn tick_labels_have_the_decimals_their_step_needs() {
    assert_eq!(tick_label(0.04, 0.02, Unit::Usd), "$0.04");
    assert_eq!(tick_label(0.3, 0.1, Unit::Usd), "$0.30");
    assert_eq!(tick_label(0.00004, 0.00002, Unit::Usd), "$0.00004");
    assert_eq!(tick_label(4.0, 2.0, Unit::Usd), "$4");
    assert_eq!(tick_label(1500.0, 500.0, Unit::Usd), "$1,500");
    assert_eq!(tick_label(1500.0, 500.0, Unit::Tokens), "1.5k");
    assert_eq!(tick_label(0.0, 0.1, Unit::Usd), "$0");
}

#[test]
fn money_reads_like_the_turn_lines_and_marks_estimates() {
    assert_eq!(money(0.0, false), "$0.00");
    assert_eq!(money(0.42, true), "\u{2248}$0.4200");
    assert_eq!(money(12.345, false), "$12.35");
    assert_eq!(money(0.1, false), "$0.1000");
    assert_eq!(money(0.00002, false), "$0.00002");
    assert_eq!(money(f64::NAN, false), "$0.00");
    assert_eq!(micro_usd(0.1), 100_000);
    assert_eq!(micro_usd(-1.0), 0);
    let mut spent = figures(0.5, 12_345, 3);
    assert_eq!(
        describe(&spent),
        "$0.5000 \u{b7} 12,345 tokens \u{b7} 3 turns"
    );
    spent.priced_turns = 0;
    spent.turns = 1;
    assert_eq!(describe(&spent), "12,345 tokens \u{b7} 1 turn");
    assert_eq!(amount(&spent, Unit::Tokens), "12.3k");
    assert_eq!(amount(&spent, Unit::Usd), "\u{2014}", "no cost reported");
}

#[test]
fn the_unit_is_money_unless_nothing_reports_a_cost() {
    assert_eq!(Unit::default_for(&figures(0.1, 5, 1)), Unit::Usd);
    let mut tokens_only = figures(0.0, 5, 1);
    tokens_only.priced_turns = 0;
    assert_eq!(Unit::default_for(&tokens_only), Unit::Tokens);
}

#[test]
fn day_bars_are_as_tall_as_their_share_of_the_axis() {
    let chart = day_chart(&days(&[0.0, 0.2, 0.4, 0.1]), Unit::Usd);
    assert_eq!(chart.columns.len(), 4);
    // The axis tops at 0.4 (step 0.1): the 0.4 bar fills the plot, the 0.2 one half.
    let full = chart.baseline - DAY_TOP;
    assert!(close(chart.columns[2].height, full));
    assert!(close(chart.columns[1].height, full / 2.0));
    assert_eq!(chart.columns[0].height, 0.0);
    // A tiny figure keeps a sliver.
    let tiny = day_chart(&days(&[1.0, 0.000_01]), Unit::Usd);
    assert_eq!(tiny.columns[1].height, 1.0);
    assert!(close(chart.columns[0].y, chart.baseline));
    for column in &chart.columns {
        assert!(close(column.y + column.height, chart.baseline));
        assert!(column.x >= chart.plot_left && column.x + column.width <= chart.plot_right);
        assert!(column.width > 0.0);
    }
    assert!(chart.columns[1].x > chart.columns[0].x + chart.columns[0].width);
    let labels: Vec<_> = chart.grid.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["$0", "$0.10", "$0.20", "$0.30", "$0.40"]);
    assert!(close(chart.grid[0].y, chart.baseline));
    assert!(close(chart.grid[4].y, DAY_TOP));
    assert_eq!(
        chart.columns[1].title,
        "2026-12-02: $0.2000 \u{b7} 200 tokens \u{b7} 1 turn"
    );
    // Seven days or fewer: each named.
    assert_eq!(chart.labels.len(), 4);
    let labels: Vec<_> = chart.labels.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(labels, ["Dec 1", "2", "3", "4"]);
}

#[test]
fn a_long_period_names_some_days_and_always_the_last() {
    let month = days(&[0.5; 30]);
    let chart = day_chart(&month, Unit::Usd);
    assert!(chart.labels.len() <= 7, "{}", chart.labels.len());
    let labels: Vec<_> = chart.labels.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(labels, ["Dec 5", "10", "15", "20", "25", "30"]);
    // A new month is named where it starts.
    let mut across = days(&[0.5; 3]);
    across[0].day = "2026-11-30".into();
    let labels: Vec<_> = day_chart(&across, Unit::Usd)
        .labels
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(labels, ["Nov 30", "Dec 2", "3"]);
    let year: Vec<UsageDay> = (0..366).map(|_| month[0].clone()).collect();
    let chart = day_chart(&year, Unit::Tokens);
    assert!(chart.labels.len() <= 7);
    let last = chart.columns.last().expect("a column");
    assert!(last.x + last.width <= chart.plot_right + 1e-9);
    assert!(last.width > 0.0);
}

#[test]
fn horizontal_bars_are_scaled_to_the_largest() {
    let groups = vec![
        UsageGroup {
            key: "p1".into(),
            label: "A project with a very long name indeed".into(),
            spent: figures(1.0, 100, 2),
        },
        UsageGroup {
            key: String::new(),
            label: "No project".into(),
            spent: figures(0.25, 900, 1),
        },
        UsageGroup {
            key: "p3".into(),
            label: "Tiny".into(),
            spent: figures(0.000_000_1, 1, 1),
        },
    ];
    let chart = bar_chart(&groups, Unit::Usd);
    let room = BARS_WIDTH - BARS_NAME - BARS_VALUE;
    assert!(close(chart.rows[0].width, room));
    assert!(close(chart.rows[1].width, room / 4.0));
    assert_eq!(chart.rows[2].width, 1.0, "a tiny figure still shows");
    assert!(chart.rows[0].name.chars().count() <= 16);
    assert!(chart.rows[0].name.ends_with('\u{2026}'));
    assert!(chart.rows[0]
        .title
        .starts_with("A project with a very long name indeed: "));
    assert!(chart.rows[1].y > chart.rows[0].y);
    assert!(close(
        chart.rows[1].middle - chart.rows[0].middle,
        chart.height / 3.0
    ));
    assert!(close(chart.rows[0].value_x, BARS_NAME + room + 6.0));
    assert_eq!(chart.rows[1].value, "$0.2500");
    // In tokens the order of lengths follows the tokens.
    let chart = bar_chart(&groups, Unit::Tokens);
    assert!(chart.rows[1].width > chart.rows[0].width);
    assert_eq!(chart.rows[1].value, "900");
}

#[test]
fn days_and_names_are_written_short() {
    assert_eq!(short_day("2026-01-09"), "Jan 9");
    assert_eq!(short_day("nonsense"), "nonsense");
    assert_eq!(shorten("Alpha", 20), "Alpha");
    assert_eq!(shorten("abcdef", 4), "abc\u{2026}");
}
