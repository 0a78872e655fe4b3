//! The Usage page's vocabulary: a period of UTC days asked for, and what was spent in it per
//! day, per project and per agent (from `turn_spend`, one row per finished turn).

use serde::{Deserialize, Serialize};

/// The longest period a report covers, in days (a leap year).
pub const MAX_PERIOD_DAYS: i64 = 366;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// A calendar day in UTC, counted from 1970-01-01 (day 0). Turns end after 1970, so earlier
/// days are refused rather than supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    /// The first day a date may name.
    pub const FIRST: Day = Day(0);
    /// The last day a date may name (9999-12-31): four-digit years only.
    pub const LAST: Day = Day(2_932_896);

    /// The day `days` after 1970-01-01, if it is between [`Day::FIRST`] and [`Day::LAST`].
    pub fn from_days(days: i64) -> Option<Day> {
        (Day::FIRST.0..=Day::LAST.0)
            .contains(&days)
            .then_some(Day(days))
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0
    }

    /// The UTC day holding the moment `ms` (milliseconds since the epoch), clamped to the
    /// days a date may name.
    pub fn of_ms(ms: i64) -> Day {
        Day(ms.div_euclid(DAY_MS).clamp(Day::FIRST.0, Day::LAST.0))
    }

    /// The day's first millisecond.
    pub fn start_ms(self) -> i64 {
        self.0 * DAY_MS
    }

    /// The day `n` days later (earlier when negative), kept between the first and last.
    pub fn plus(self, n: i64) -> Day {
        Day(self.0.saturating_add(n).clamp(Day::FIRST.0, Day::LAST.0))
    }

    /// A `YYYY-MM-DD` date (as a date field gives it), if it is a real day from 1970 on.
    pub fn parse(text: &str) -> Option<Day> {
        let bytes = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = bytes.get(range)?;
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        Day::from_days(days_from_civil(year, month, day))
    }

    /// Year, month (1-12) and day of the month.
    pub fn civil(self) -> (i64, i64, i64) {
        civil_date(self.0)
    }

    /// The first day of this day's month.
    pub fn first_of_month(self) -> Day {
        let (_, _, day) = self.civil();
        Day(self.0 - (day - 1))
    }
}

impl std::fmt::Display for Day {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (year, month, day) = self.civil();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The days a Usage report is asked for: `from` to `to`, both included, as `YYYY-MM-DD`
/// UTC dates (the page's `?from=&to=`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UsagePeriod {
    /// The first day.
    pub from: String,
    /// The last day (included).
    pub to: String,
}

impl UsagePeriod {
    /// The period of the days `from` to `to`.
    pub fn new(from: Day, to: Day) -> UsagePeriod {
        UsagePeriod {
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    /// The two days, or why the period cannot be reported on (for people: the page shows
    /// it as is).
    pub fn days(&self) -> Result<(Day, Day), String> {
        let parse = |which: &str, text: &str| {
            Day::parse(text).ok_or_else(|| {
                format!("The {which} date \u{201c}{text}\u{201d} is not a date (YYYY-MM-DD, from 1970 on).")
            })
        };
        let (from, to) = (parse("start", &self.from)?, parse("end", &self.to)?);
        if to < from {
            return Err(format!("The period ends ({to}) before it starts ({from})."));
        }
        let length = to.days() - from.days() + 1;
        if length > MAX_PERIOD_DAYS {
            return Err(format!(
                "The period is {length} days long; a report covers at most {MAX_PERIOD_DAYS} days."
            ));
        }
        Ok((from, to))
    }
}

/// What some finished turns spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageFigures {
    /// US dollars, summed over the turns that reported a cost.
    pub usd: f64,
    /// Tokens read plus written (cache traffic excluded), every turn.
    pub tokens: u64,
    /// Finished turns.
    pub turns: u64,
    /// Turns whose agent reported a cost (the others count in tokens only).
    pub priced_turns: u64,
    /// True when some cost in `usd` is the agent's own estimate (Claude Code prices its
    /// tokens itself) rather than a billed figure.
    pub estimated: bool,
}

impl UsageFigures {
    /// The sum of two.
    pub fn plus(self, other: UsageFigures) -> UsageFigures {
        UsageFigures {
            usd: self.usd + other.usd,
            tokens: self.tokens + other.tokens,
            turns: self.turns + other.turns,
            priced_turns: self.priced_turns + other.priced_turns,
            estimated: self.estimated || other.estimated,
        }
    }
}

/// One day of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageDay {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// What turns that ended that day spent (zero on a quiet day).
    pub spent: UsageFigures,
}

/// One project's or one agent's line of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageGroup {
    /// The project's id or the agent's key; empty for sessions without a project.
    pub key: String,
    /// For people: the project's name ("No project" for sessions outside any) or the
    /// agent's label.
    pub label: String,
    /// What its turns in the period spent.
    pub spent: UsageFigures,
}

/// What was spent in a period: every day of it (quiet days too), each project and agent
/// with turns in it (the most expensive first), and the totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UsageReport {
    /// The period reported on.
    pub period: UsagePeriod,
    /// Each day from `period.from` to `period.to`, in order.
    pub days: Vec<UsageDay>,
    /// Per project, by money then tokens, most first.
    pub projects: Vec<UsageGroup>,
    /// Per agent, by money then tokens, most first.
    pub agents: Vec<UsageGroup>,
    /// The whole period.
    pub total: UsageFigures,
}

impl UsageReport {
    /// True when no turn ended in the period.
    pub fn is_empty(&self) -> bool {
        self.total.turns == 0
    }
}

/// Year, month (1-12) and day of the month of the day `days` after 1970-01-01 (Howard
/// Hinnant's algorithm), for both the Usage page and the browser's date formatting.
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_and_write_as_utc_dates() {
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
        assert_eq!(
            Day::parse("2000-02-29").map(|d| d.start_ms()),
            Some(951_782_400_000)
        );
        let day = Day::parse("2026-12-03").expect("a date");
        assert_eq!(day.to_string(), "2026-12-03");
        assert_eq!(Day::of_ms(1_796_306_700_000), day);
        assert_eq!(day.first_of_month().to_string(), "2026-12-01");
        assert_eq!(day.plus(29).to_string(), "2027-01-01");
        assert_eq!(Day::LAST.to_string(), "9999-12-31");
        for bad in [
            "",
            "2026-13-01",
            "2026-02-29",
            "1969-12-31",
            "2026-1-01",
            "2026/01/01",
            "２０２６-01-01",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_period_is_checked_before_it_is_asked_for() {
        let period = |from: &str, to: &str| UsagePeriod {
            from: from.into(),
            to: to.into(),
        };
        assert!(period("2026-01-01", "2026-12-31").days().is_ok());
        assert!(
            period("2024-01-01", "2024-12-31").days().is_ok(),
            "366 days"
        );
        let long = period("2024-01-01", "2025-01-01").days();
        assert!(long.is_err_and(|e| e.contains("367 days")));
        let reversed = period("2026-02-01", "2026-01-01").days();
        assert!(reversed.is_err_and(|e| e.contains("before it starts")));
        let bad = period("yesterday", "2026-01-01").days();
        assert!(bad.is_err_and(|e| e.contains("start date")));
    }
}
