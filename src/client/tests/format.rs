//! The header's usage line and its tooltip.

use crate::client::format::{
    compact_count, cost_text, grouped, mode_changed_text, mode_label, usage_details, usage_summary,
};
use crate::protocol::Usage;

#[test]
fn counts_shorten_to_three_digits() {
    for (n, expected) in [
        (0, "0"),
        (999, "999"),
        (1_000, "1k"),
        (1_234, "1.2k"),
        (12_345, "12.3k"),
        (99_949, "99.9k"),
        (99_960, "100k"),
        (123_456, "123k"),
        (999_499, "999k"),
        (999_500, "1M"),
        (4_560_000, "4.6M"),
        (2_000_000_000, "2B"),
    ] {
        assert_eq!(compact_count(n), expected, "{n}");
    }
}

#[test]
fn exact_counts_group_thousands() {
    assert_eq!(grouped(0), "0");
    assert_eq!(grouped(999), "999");
    assert_eq!(grouped(1_000), "1,000");
    assert_eq!(grouped(12_345_678), "12,345,678");
}

#[test]
fn costs_show_cents_or_fractions_of_them() {
    assert_eq!(cost_text(12.3456), "$12.35");
    assert_eq!(cost_text(1.0), "$1.00");
    assert_eq!(cost_text(0.0123), "$0.0123");
    assert_eq!(cost_text(0.5), "$0.5000");
    assert_eq!(cost_text(0.00001), "<$0.0001");
}

#[test]
fn the_summary_names_tokens_cache_and_cost() {
    let usage = Usage {
        input_tokens: 12_345,
        output_tokens: 1_234,
        cache_read_tokens: 40_000,
        cache_creation_tokens: 100,
        cost_usd: Some(0.0123),
        cost_estimated: false,
        context_used: None,
        context_window: None,
    };
    assert_eq!(
        usage_summary(&usage).as_deref(),
        Some("12.3k in · 1.2k out · 40.1k cached · $0.0123")
    );
    let details = usage_details(&usage);
    for line in [
        "Input: 12,345 tokens",
        "Output: 1,234 tokens",
        "Cache read: 40,000 tokens",
        "Cache written: 100 tokens",
        "Cost: $0.012300",
    ] {
        assert!(details.contains(line), "{line} missing from {details}");
    }
}

#[test]
fn the_summary_leaves_out_what_is_not_there() {
    assert_eq!(usage_summary(&Usage::default()), None, "all zero: nothing");
    let zero_cost = Usage {
        cost_usd: Some(0.0),
        cost_estimated: false,
        ..Usage::default()
    };
    assert_eq!(usage_summary(&zero_cost), None);
    let no_cost = Usage {
        input_tokens: 10,
        output_tokens: 2,
        ..Usage::default()
    };
    assert_eq!(usage_summary(&no_cost).as_deref(), Some("10 in · 2 out"));
    assert!(usage_details(&no_cost).contains("not reported"));
    let cost_only = Usage {
        cost_usd: Some(2.5),
        cost_estimated: false,
        ..Usage::default()
    };
    assert_eq!(
        usage_summary(&cost_only).as_deref(),
        Some("0 in · 0 out · $2.50")
    );
}

#[test]
fn permission_modes_read_as_their_meaning() {
    assert_eq!(mode_label("bypassPermissions"), "Never ask");
    assert_eq!(mode_label("someNewMode"), "someNewMode");
    assert_eq!(
        mode_changed_text("plan"),
        "Permission mode is now \u{201c}Plan only\u{201d} (plan)."
    );
    assert_eq!(mode_changed_text("auto"), "Permission mode is now auto.");
}

#[test]
fn a_finished_turn_says_what_it_used_and_how_long_it_took() {
    use crate::client::format::{duration_text, turn_usage_text};
    assert_eq!(duration_text(850), "850 ms");
    assert_eq!(duration_text(4_249), "4.2 s");
    assert_eq!(duration_text(185_000), "3 min 5 s");
    let usage = Usage {
        input_tokens: 1_234,
        output_tokens: 80,
        cost_usd: Some(0.0004),
        cost_estimated: false,
        context_used: Some(50_000),
        context_window: Some(200_000),
        ..Usage::default()
    };
    assert_eq!(
        turn_usage_text(&usage, 4_200, "end_turn"),
        "1.2k in · 80 out · $0.0004 · context 25% · 4.2 s"
    );
    assert_eq!(
        turn_usage_text(&Usage::default(), 300, "cancelled"),
        "Stopped · 300 ms"
    );
    let mut total = usage;
    total.add(&Usage {
        context_used: Some(60_000),
        ..Usage::default()
    });
    assert_eq!(total.context_percent(), Some(30), "the newest level stands");
}
