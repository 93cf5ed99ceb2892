//! Calendar date and time of day from seconds since 1970 (UTC), for `date`.
//!
//! Proleptic Gregorian calendar; the day-count conversion is the
//! era-based method described by Howard Hinnant in "chrono-Compatible
//! Low-Level Date Algorithms" (written here from that description).

use core::fmt;

/// A UTC date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
}

const SECS_PER_DAY: i64 = 86_400;
const DAYS_PER_ERA: i64 = 146_097;
/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;

impl DateTime {
    /// The date and time `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(SECS_PER_DAY);
        let rem = secs.rem_euclid(SECS_PER_DAY);
        let z = days + EPOCH_SHIFT;
        let era = z.div_euclid(DAYS_PER_ERA);
        let doe = z.rem_euclid(DAYS_PER_ERA); // day of era, 0..146096
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..399
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..365, from March 1st
        let mp = (5 * doy + 2) / 153; // month from March, 0..11
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }
}

impl fmt::Display for DateTime {
    /// ISO 8601: `2026-11-22 04:17:04 UTC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(DateTime::from_unix(0).to_string(), "1970-01-01 00:00:00 UTC");
        assert_eq!(DateTime::from_unix(951_782_400).to_string(), "2000-02-29 00:00:00 UTC");
        assert_eq!(DateTime::from_unix(1_795_320_000).to_string(), "2026-11-22 04:00:00 UTC");
        assert_eq!(DateTime::from_unix(4_107_542_399).to_string(), "2100-02-28 23:59:59 UTC");
        assert_eq!(DateTime::from_unix(-1).to_string(), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn consecutive_days_are_consecutive() {
        let mut prev = DateTime::from_unix(0);
        for d in 1..(400 * 366) {
            let cur = DateTime::from_unix(d * SECS_PER_DAY);
            let next_day = (prev.day + 1, prev.month, prev.year);
            let next_month = (1, prev.month % 12 + 1, prev.year + i64::from(prev.month == 12));
            assert!(
                (cur.day, cur.month, cur.year) == next_day || (cur.day, cur.month, cur.year) == next_month,
                "{prev} -> {cur}"
            );
            prev = cur;
        }
    }
}
