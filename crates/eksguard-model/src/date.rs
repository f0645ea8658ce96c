//! Calendar arithmetic in UTC on the proleptic Gregorian calendar: civil dates to day
//! numbers and back, and RFC 3339 timestamps. The one place the workspace does it.

/// Seconds in a UTC day (leap seconds are not counted, as POSIX time does not).
pub const SECS_PER_DAY: i64 = 86_400;

/// Days from 0000-03-01 to 1970-01-01: the shift between the era arithmetic below, which
/// starts its years in March so that the leap day ends them, and the Unix epoch.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in 400 Gregorian years.
const DAYS_PER_ERA: i64 = 146_097;

/// Days since 1970-01-01 of a civil date (negative before it).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * DAYS_PER_ERA + doe - EPOCH_SHIFT
}

/// The civil date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + EPOCH_SHIFT;
    let era = z.div_euclid(DAYS_PER_ERA);
    let doe = z.rem_euclid(DAYS_PER_ERA);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both within their ranges by construction: 1..=31 and 1..=12.
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A civil date, compared as (year, month, day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub i32, pub u32, pub u32);

impl Date {
    /// `YYYY-MM-DD`, a day that is on the calendar: 2027-02-30 and 2026-02-29 are not.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let y: i32 = it.next()?.parse().ok()?;
        let m: u32 = it.next()?.parse().ok()?;
        let d: u32 = it.next()?.parse().ok()?;
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(0..=9999).contains(&y) {
            return None;
        }
        // A day past the month's end would roll over into the next month.
        let (ry, rm, rd) = civil_from_days(days_from_civil(i64::from(y), m, d));
        (ry == i64::from(y) && rm == m && rd == d).then_some(Date(y, m, d))
    }

    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days((secs / SECS_PER_DAY as u64) as i64)
    }

    /// The date of a day number since 1970-01-01.
    pub fn from_days(z: i64) -> Date {
        let (y, m, d) = civil_from_days(z);
        Date(y as i32, m, d)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        days_from_civil(i64::from(self.0), self.1, self.2)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0, self.1, self.2)
    }
}

/// `2024-05-01T12:00:00.123456Z` (or with an offset) as microseconds since the epoch.
pub fn parse_rfc3339_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in frac.bytes().take(6).enumerate().take(digits) {
            micros += i64::from(c - b'0') * 10i64.pow(5 - i as u32);
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        _ if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let v = (oh * 60 + om) * 60;
            if rest.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    // The month and day were checked above, so they fit a u32.
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * SECS_PER_DAY + h * 3600 + mi * 60 + sec - offset;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(
            days_from_civil(2025, 1, 3) - days_from_civil(2024, 12, 31),
            3
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_818), (2026, 12, 31));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // Every day of four centuries, leap years and the century rules included.
        for z in -800..147_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(Date::from_days(0), Date(1970, 1, 1));
        assert_eq!(Date::from_days(11_016), Date(2000, 2, 29));
        assert_eq!(Date(2024, 3, 1).days() - Date(2024, 2, 28).days(), 2);
        assert_eq!(Date(2023, 3, 1).days() - Date(2023, 2, 28).days(), 1);
        assert_eq!(Date::parse(" 2026-11-28 "), Some(Date(2026, 11, 28)));
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("2027-02-30"), None);
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2028-02-29"), Some(Date(2028, 2, 29)));
        assert_eq!(Date::parse("2026-04-31"), None);
        assert_eq!(Date::parse("2026-1"), None);
        assert_eq!(Date::parse("2026-01-01-x"), None);
        assert_eq!(Date(2026, 1, 5).to_string(), "2026-01-05");
        assert!(Date::today() > Date(2024, 1, 1));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_micros("2017-09-11T19:55:05Z"),
            Some(1_505_159_705_000_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2024-02-29T01:00:00.000001+01:00"),
            Some(1_709_164_800_000_001)
        );
        assert_eq!(parse_rfc3339_micros("yesterday"), None);
        assert_eq!(parse_rfc3339_micros("2024-05-01T12:00:00+é:00"), None);
        assert_eq!(parse_rfc3339_micros("2024-05-01T12é00:00Z"), None);
        assert_eq!(parse_rfc3339_micros("2024-13-01T00:00:00Z"), None);
    }
}
