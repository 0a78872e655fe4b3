//! Words and numbers as the UI shows them: token counts shortened (`12.3k`), costs in
//! dollars, the exact figures for the usage tooltip, permission modes by their meaning.
//! Pure, so it is tested natively.

use crate::protocol::Usage;

/// A count shortened to three significant digits at most: `950`, `1.2k`, `12.3k`, `123k`,
/// `4.5M`. A trailing `.0` is dropped (`1k`, not `1.0k`).
pub fn compact_count(n: u64) -> String {
    // Thresholds sit where rounding would carry into the next unit (999_500 -> "1M",
    // never "1000k").
    let unit = if n < 1_000 {
        return n.to_string();
    } else if n < 999_500 {
        (1_000, "k")
    } else if n < 999_500_000 {
        (1_000_000, "M")
    } else {
        (1_000_000_000, "B")
    };
    let (divisor, unit) = unit;
    // Tenths of the unit, rounded half up; from 100 of the unit on, whole ones.
    let tenths = (n * 10 + divisor / 2) / divisor;
    let digits = if tenths < 1_000 {
        decimal(tenths, 1)
    } else {
        ((n + divisor / 2) / divisor).to_string()
    };
    let digits = digits.strip_suffix(".0").unwrap_or(&digits);
    format!("{digits}{unit}")
}

/// `scaled` (a value times 10^`places`) written with `places` decimals: `decimal(1234, 2)`
/// is `12.34`. Integer arithmetic: the browser build carries no float-formatting code.
pub fn decimal(scaled: u64, places: u32) -> String {
    let unit = 10u64.pow(places);
    if places == 0 {
        return scaled.to_string();
    }
    let fraction = (scaled % unit).to_string();
    let pad = "0".repeat(places as usize - fraction.len());
    format!("{}.{pad}{fraction}", scaled / unit)
}

/// A count with thousands separators: `12,345`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A cost in dollars: cents from a dollar up (`$1.23`), else four decimals (`$0.0123`),
/// since single turns often cost fractions of a cent.
pub fn cost_text(cost: f64) -> String {
    // Decided on the rounded value: a sum of small costs lands just under a dollar.
    if cost >= 0.999_95 {
        format!("${}", decimal((cost * 100.0).round() as u64, 2))
    } else if cost >= 0.000_05 {
        format!("${}", decimal((cost * 10_000.0).round() as u64, 4))
    } else {
        "<$0.0001".to_string()
    }
}

/// Cache tokens of either kind: read from the cache and written to it.
fn cached(usage: &Usage) -> u64 {
    usage
        .cache_read_tokens
        .saturating_add(usage.cache_creation_tokens)
}

/// A positive cost, if the agent reported one.
fn cost(usage: &Usage) -> Option<f64> {
    usage.cost_usd.filter(|c| c.is_finite() && *c > 0.0)
}

/// The header's one-line summary, e.g. `12.3k in · 1.2k out · 40.1k cached · $0.0123`;
/// `None` while everything is zero (nothing to say yet).
pub fn usage_summary(usage: &Usage) -> Option<String> {
    let cached = cached(usage);
    let cost = cost(usage);
    if usage.input_tokens == 0 && usage.output_tokens == 0 && cached == 0 && cost.is_none() {
        return None;
    }
    let mut parts = vec![
        format!("{} in", compact_count(usage.input_tokens)),
        format!("{} out", compact_count(usage.output_tokens)),
    ];
    if cached > 0 {
        parts.push(format!("{} cached", compact_count(cached)));
    }
    if let Some(cost) = cost {
        parts.push(cost_text(cost));
    }
    Some(parts.join(" · "))
}

/// The exact figures behind [`usage_summary`], one per line, for its tooltip.
pub fn usage_details(usage: &Usage) -> String {
    let mut lines = vec![
        format!("Input: {} tokens", grouped(usage.input_tokens)),
        format!("Output: {} tokens", grouped(usage.output_tokens)),
        format!("Cache read: {} tokens", grouped(usage.cache_read_tokens)),
        format!(
            "Cache written: {} tokens",
            grouped(usage.cache_creation_tokens)
        ),
    ];
    lines.push(match usage.cost_usd.filter(|c| c.is_finite()) {
        Some(cost) => format!(
            "Cost: ${} (as the agent reported it)",
            decimal((cost * 1e6).round() as u64, 6)
        ),
        None => "Cost: not reported by the agent".to_string(),
    });
    if let (Some(used), Some(window)) = (usage.context_used, usage.context_window) {
        lines.push(format!(
            "Context: {} of {} tokens",
            grouped(used),
            grouped(window)
        ));
    }
    lines.join("\n")
}

/// A wall time as people say it: `850 ms`, `4.2 s`, `3 min 5 s`.
pub fn duration_text(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{} s", decimal((ms + 50) / 100, 1))
    } else {
        let seconds = (ms + 500) / 1_000;
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

/// The line under a finished turn: tokens, cost, context fill and wall time, e.g.
/// `1.2k in · 80 out · $0.0004 · context 12% · 4.2 s`; a turn that did not end normally says
/// how it ended first.
pub fn turn_usage_text(usage: &Usage, duration_ms: u64, stop_reason: &str) -> String {
    let mut parts = Vec::new();
    match stop_reason {
        "end_turn" | "" => {}
        "cancelled" => parts.push("Stopped".to_string()),
        "error" => parts.push("Failed".to_string()),
        other => parts.push(other.replace('_', " ")),
    }
    parts.extend(usage_summary(usage));
    if let Some(percent) = usage.context_percent() {
        parts.push(format!("context {percent}%"));
    }
    parts.push(duration_text(duration_ms));
    parts.join(" · ")
}

/// Friendlier names for the permission modes agents commonly use; others show as is.
pub fn mode_label(mode: &str) -> String {
    match mode {
        "default" => "Ask before tools".to_string(),
        "acceptEdits" => "Accept edits".to_string(),
        "bypassPermissions" => "Never ask".to_string(),
        "plan" => "Plan only".to_string(),
        other => other.to_string(),
    }
}

/// The notice after a permission mode change: its meaning, and the agent's own name for it.
pub fn mode_changed_text(mode: &str) -> String {
    let label = mode_label(mode);
    if label == mode {
        format!("Permission mode is now {mode}.")
    } else {
        format!("Permission mode is now \u{201c}{label}\u{201d} ({mode}).")
    }
}

/// A moment as `2026-12-03 14:05 UTC` (the same text on the server and in the browser, so
/// a server-rendered page hydrates without a mismatch).
pub fn date_time(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000);
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let (year, month, day) = crate::protocol::civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn moments_read_as_utc_dates() {
        assert_eq!(super::date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::date_time(1_796_306_700_000), "2026-12-03 14:05 UTC");
        assert_eq!(super::date_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
