//! Deterministic ids and times for imported events: the `ClientMsgId` of an imported
//! prompt is a UUID v5 of its source record's own identity (so importing a file twice
//! gives the same ids), and transcript timestamps (RFC 3339) as ms since the epoch.

use crate::protocol::ClientMsgId;
use uuid::Uuid;

/// The namespace of every imported id (a fixed random UUID, Switchboard's own).
const IMPORT_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_0a3e_52d4_4f7b_9a0e_3d2b_8c41_f5a7);

/// The `ClientMsgId` of an imported prompt: UUID v5 of `name` (e.g. `claude:<record
/// uuid>`) in Switchboard's import namespace.
pub fn import_msg_id(name: &str) -> ClientMsgId {
    ClientMsgId(Uuid::new_v5(&IMPORT_NAMESPACE, name.as_bytes()))
}

/// `2026-11-22T22:02:03.869Z` (or with a `+hh:mm` offset) as ms since the epoch.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (hours * 60 + minutes)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_always_gets_the_same_id() {
        assert_eq!(import_msg_id("claude:x"), import_msg_id("claude:x"));
        assert_ne!(import_msg_id("claude:x"), import_msg_id("claude:y"));
        assert_eq!(import_msg_id("claude:x").0.get_version_num(), 5);
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-11-22T22:02:03.869Z"),
            Some(1_795_384_923_869)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-22T23:02:03.8+01:00"),
            Some(1_795_384_923_800)
        );
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
        assert_eq!(parse_rfc3339_ms("2026-13-22T22:02:03Z"), None);
    }
}
