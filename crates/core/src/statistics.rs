//! Message statistics (docs/MODULES.md, "Statistics"): the range asked
//! for, how it is cut into buckets, what the store counts for one bucket
//! and the figures made of it. Pure: the store counts, the application
//! decides whose inboxes are counted; percentiles are computed here so
//! both backends give the same ones.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use thiserror::Error;

use crate::ids::InboxId;
use crate::input::InputError;

/// How the figures are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// One bucket per UTC day of the range.
    Day,
    /// One bucket per inbox counted.
    Inbox,
    /// One bucket per agent with a figure of their own.
    Agent,
}

impl GroupBy {
    pub const KNOWN: &'static str = "day, inbox, agent";

    pub fn parse(text: &str) -> Result<Self, InputError> {
        match text {
            "day" => Ok(Self::Day),
            "inbox" => Ok(Self::Inbox),
            "agent" => Ok(Self::Agent),
            _ => Err(InputError::Unknown {
                field: "group_by",
                value: text.to_owned(),
                known: Self::KNOWN,
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Inbox => "inbox",
            Self::Agent => "agent",
        }
    }
}

/// A half-open stretch of time, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Why a range was refused (answered `bad_request` with these words).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RangeError {
    #[error("{field} must be an RFC 3339 timestamp (2026-11-01T00:00:00Z) or a date (2026-11-01)")]
    Unreadable { field: &'static str },
    #[error("from must be before to")]
    Backwards,
    #[error("the range must be at most {max} days long")]
    TooLong { max: u32 },
}

/// The range of a statistics request: `[from, to)`, not empty and at most
/// the configured number of days long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatisticsRange(Window);

impl StatisticsRange {
    /// The days a range covers when the request names no `from`.
    pub const DEFAULT_DAYS: i64 = 30;

    /// `from` and `to` as RFC 3339 timestamps or `YYYY-MM-DD` dates (a
    /// date is its UTC midnight). Without `to`: the end of the current UTC
    /// day (`now`'s); without `from`: [`Self::DEFAULT_DAYS`] before `to`,
    /// so the default is the last 30 UTC days, today included.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
        max_days: u32,
    ) -> Result<Self, RangeError> {
        let to = match to {
            Some(text) => instant(text, "to")?,
            None => midnight(now.date_naive()) + Duration::days(1),
        };
        let from = match from {
            Some(text) => instant(text, "from")?,
            None => to - Duration::days(Self::DEFAULT_DAYS),
        };
        if from >= to {
            return Err(RangeError::Backwards);
        }
        if to - from > Duration::days(i64::from(max_days)) {
            return Err(RangeError::TooLong { max: max_days });
        }
        Ok(Self(Window { from, to }))
    }

    pub fn window(&self) -> Window {
        self.0
    }

    /// The UTC days the range touches, each with its part of the range.
    pub fn days(&self) -> Vec<(NaiveDate, Window)> {
        let Window { from, to } = self.0;
        let mut days = Vec::new();
        let mut day = from.date_naive();
        loop {
            let start = midnight(day);
            if start >= to {
                break;
            }
            let end = start + Duration::days(1);
            days.push((
                day,
                Window {
                    from: start.max(from),
                    to: end.min(to),
                },
            ));
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        days
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
}

fn instant(text: &str, field: &'static str) -> Result<DateTime<Utc>, RangeError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .map(midnight)
        .ok_or(RangeError::Unreadable { field })
}

/// Which inboxes and which stretch of time one bucket counts (an agent's
/// figures are read for every agent at once:
/// `Store::statistics_spells_by_agent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketScope {
    pub inboxes: std::collections::BTreeSet<InboxId>,
    pub window: Window,
}

/// What the store reads of the conversation spells of one bucket: how many
/// opened and were resolved, and the durations (milliseconds) of their
/// first responses and resolutions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpellTally {
    pub opened: u64,
    pub resolved: u64,
    pub first_responses: Vec<i64>,
    pub resolutions: Vec<i64>,
}

/// Messages counted in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    pub inbound: u64,
    pub outbound: u64,
}

/// One bucket's figures as reported. Those that belong to no agent
/// (conversations opened, messages in) are `None` in an agent's bucket;
/// a percentile of no duration is `None`. Durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub conversations_opened: Option<u64>,
    pub conversations_resolved: u64,
    pub messages_in: Option<u64>,
    pub messages_out: u64,
    pub first_response_p50: Option<f64>,
    pub first_response_p90: Option<f64>,
    pub resolution_p50: Option<f64>,
    pub resolution_p90: Option<f64>,
}

impl Figures {
    /// The figures of a bucket; `agent`: it is an agent's.
    pub fn of(messages: MessageCounts, mut spells: SpellTally, agent: bool) -> Self {
        spells.first_responses.sort_unstable();
        spells.resolutions.sort_unstable();
        let seconds = |durations: &[i64], percent| {
            nearest_rank(durations, percent).map(|ms| ms as f64 / 1000.0)
        };
        Self {
            conversations_opened: (!agent).then_some(spells.opened),
            conversations_resolved: spells.resolved,
            messages_in: (!agent).then_some(messages.inbound),
            messages_out: messages.outbound,
            first_response_p50: seconds(&spells.first_responses, 50),
            first_response_p90: seconds(&spells.first_responses, 90),
            resolution_p50: seconds(&spells.resolutions, 50),
            resolution_p90: seconds(&spells.resolutions, 90),
        }
    }

    /// Nothing counted at all (an agent's bucket like this is not shown).
    pub fn is_empty(&self) -> bool {
        self.conversations_opened.unwrap_or(0) == 0
            && self.conversations_resolved == 0
            && self.messages_in.unwrap_or(0) == 0
            && self.messages_out == 0
            && self.first_response_p50.is_none()
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with
/// at least `percent`% of the values at or below it (rank
/// `ceil(percent / 100 * n)`, counted from 1). `None` for no values.
pub fn nearest_rank(sorted: &[i64], percent: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(percent.min(100)) * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn nearest_rank_takes_the_smallest_value_covering_the_percent() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        // 4 values: p50 is rank 2, p90 rank ceil(3.6) = 4
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 50), Some(20));
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 90), Some(40));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 50), Some(50));
        assert_eq!(nearest_rank(&hundred, 90), Some(90));
        assert_eq!(nearest_rank(&hundred, 0), Some(1));
    }

    #[test]
    fn figures_of_an_agent_leave_out_what_is_not_theirs() {
        let spells = SpellTally {
            opened: 3,
            resolved: 2,
            first_responses: vec![3000, 1000, 2000],
            resolutions: vec![60_000, 1500],
        };
        let counts = MessageCounts {
            inbound: 5,
            outbound: 4,
        };
        let all = Figures::of(counts, spells.clone(), false);
        assert_eq!(all.conversations_opened, Some(3));
        assert_eq!(all.messages_in, Some(5));
        assert_eq!(all.first_response_p50, Some(2.0));
        assert_eq!(all.first_response_p90, Some(3.0));
        assert_eq!(all.resolution_p50, Some(1.5));
        assert_eq!(all.resolution_p90, Some(60.0));
        let agent = Figures::of(counts, spells, true);
        assert_eq!(agent.conversations_opened, None);
        assert_eq!(agent.messages_in, None);
        assert_eq!(agent.messages_out, 4);
        assert!(!agent.is_empty());
        assert!(Figures::of(MessageCounts::default(), SpellTally::default(), true).is_empty());
    }

    #[test]
    fn ranges_read_dates_and_timestamps_half_open() {
        let now = at("2026-11-20T15:00:00Z");
        let range = StatisticsRange::parse(Some("2026-11-01"), Some("2026-11-03"), now, 400)
            .unwrap()
            .window();
        assert_eq!(range.from, at("2026-11-01T00:00:00Z"));
        assert_eq!(range.to, at("2026-11-03T00:00:00Z"));
        let range = StatisticsRange::parse(Some("2026-11-01T12:00:00+02:00"), None, now, 400)
            .unwrap()
            .window();
        assert_eq!(range.from, at("2026-11-01T10:00:00Z"));
        assert_eq!(range.to, at("2026-11-21T00:00:00Z"));
    }

    #[test]
    fn the_default_is_the_last_thirty_utc_days() {
        let now = at("2026-11-20T15:00:00Z");
        let range = StatisticsRange::parse(None, None, now, 400).unwrap();
        assert_eq!(range.window().from, at("2026-10-22T00:00:00Z"));
        assert_eq!(range.window().to, at("2026-11-21T00:00:00Z"));
        assert_eq!(range.days().len(), 30);
    }

    #[test]
    fn bad_ranges_are_refused_with_their_reason() {
        let now = at("2026-11-20T15:00:00Z");
        let parse = |from, to, max| StatisticsRange::parse(from, to, now, max);
        assert_eq!(
            parse(Some("yesterday"), None, 400),
            Err(RangeError::Unreadable { field: "from" })
        );
        assert_eq!(
            parse(None, Some("2026-13-01"), 400),
            Err(RangeError::Unreadable { field: "to" })
        );
        assert_eq!(
            parse(Some("2026-11-02"), Some("2026-11-02"), 400),
            Err(RangeError::Backwards)
        );
        assert_eq!(
            parse(Some("2026-01-01"), Some("2026-03-01"), 30),
            Err(RangeError::TooLong { max: 30 })
        );
        assert!(parse(Some("2026-01-01"), Some("2026-01-31"), 30).is_ok());
        assert!(GroupBy::parse("week").is_err());
        assert_eq!(GroupBy::parse("agent"), Ok(GroupBy::Agent));
    }

    #[test]
    fn days_cut_the_range_at_utc_midnights() {
        let now = at("2026-11-20T15:00:00Z");
        let range = StatisticsRange::parse(
            Some("2026-11-01T18:00:00Z"),
            Some("2026-11-03T06:00:00Z"),
            now,
            400,
        )
        .unwrap();
        let days = range.days();
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].0, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(days[0].1.from, at("2026-11-01T18:00:00Z"));
        assert_eq!(days[0].1.to, at("2026-11-02T00:00:00Z"));
        assert_eq!(days[2].1.from, at("2026-11-03T00:00:00Z"));
        assert_eq!(days[2].1.to, at("2026-11-03T06:00:00Z"));
    }
}
