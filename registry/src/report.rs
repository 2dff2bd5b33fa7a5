//! Fulfilment reports: how each responsibility-list entry was honoured over a
//! period, computed from the exchange records themselves — so every figure
//! reconciles with the exchange log.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::clock::CST;
use crate::error::StoreError;
use crate::model::{EntryStatus, Registry};
use crate::store::Store;

/// The problem codes a report reads in the records. The registry keeps codes
/// as the text the log holds and owns none of them: the gateway, which does,
/// names the ones a report weighs.
#[derive(Clone, Copy, Debug)]
pub struct ReportCodes<'a> {
    /// The provider holds no record for the key: it was reached, and answered.
    pub record_not_found: &'a str,
    /// A quota refusal: the call did not count against the entry's quota.
    pub quota_exhausted: &'a str,
    /// The provider was called and failed: unreachable, too slow, an error
    /// status, an answer that does not map.
    pub provider_failures: &'a [&'a str],
    /// The provider answered, but what it served failed its seal or
    /// signature check (invalid, or not decidable): a failure of the
    /// provider all the same.
    pub seal_failures: &'a [&'a str],
}

/// A reporting period: a calendar month or day in China Standard Time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    /// `YYYY-MM` or `YYYY-MM-DD`.
    pub label: String,
    /// First millisecond (Unix).
    pub start_ms: i64,
    /// First millisecond after (Unix).
    pub end_ms: i64,
}

/// Parses `YYYY-MM` or `YYYY-MM-DD`.
pub fn parse_period(s: &str) -> Result<Period, String> {
    let bad = || format!("period `{s}` is not YYYY-MM or YYYY-MM-DD");
    let parts: Vec<&str> = s.split('-').collect();
    let year: i32 = parts.first().and_then(|y| y.parse().ok()).ok_or_else(bad)?;
    let month: u8 = parts.get(1).and_then(|m| m.parse().ok()).ok_or_else(bad)?;
    let month = Month::try_from(month).map_err(|_| bad())?;
    let (start, end) = match parts.get(2) {
        None => {
            let start = Date::from_calendar_date(year, month, 1).map_err(|_| bad())?;
            let (ny, nm) = if month == Month::December {
                (year + 1, Month::January)
            } else {
                (year, month.next())
            };
            (
                start,
                Date::from_calendar_date(ny, nm, 1).map_err(|_| bad())?,
            )
        }
        Some(d) if parts.len() == 3 => {
            let day: u8 = d.parse().map_err(|_| bad())?;
            let start = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
            (start, start.next_day().ok_or_else(bad)?)
        }
        Some(_) => return Err(bad()),
    };
    let ms = |d: Date| {
        let t = PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(CST);
        yrdx_signing::time::unix_ms(t)
    };
    Ok(Period {
        label: s.to_owned(),
        start_ms: ms(start),
        end_ms: ms(end),
    })
}

/// The fields of an exchange record a report reads.
#[derive(Deserialize)]
struct RecordView {
    #[serde(default)]
    consumer: Option<String>,
    #[serde(default)]
    entry: Option<String>,
    outcome: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    latency_us: u64,
    time: String,
}

/// Latency percentiles, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Quota use of an entry in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuotaUse {
    /// The entry's per-day limit.
    pub per_day: Option<u64>,
    /// The entry's per-month limit.
    pub per_month: Option<u64>,
    /// Most calls one consumer made in one day (China Standard Time).
    pub max_calls_in_a_day: u64,
    /// Calls counted against the quota (every call of the entry but those refused
    /// for quota).
    pub counted_calls: u64,
    /// Calls refused with `quota_exhausted`.
    pub refused: u64,
}

/// How one list entry was honoured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EntryReport {
    /// The entry id.
    pub entry: String,
    /// Its resource.
    pub resource: String,
    /// Its provider.
    pub provider: String,
    /// Calls under this entry.
    pub calls: u64,
    /// Calls served with data.
    pub served: u64,
    /// Refusals by problem code.
    pub refused: BTreeMap<String, u64>,
    /// Calls that reached the provider.
    pub reached_provider: u64,
    /// Of those, the share answered properly (data, or a clean "no record");
    /// an answer whose seal or signature failed counts as a failure.
    pub provider_success_rate: Option<f64>,
    /// Latency of served calls.
    pub latency_ms: Option<Latency>,
    /// The entry's reply time limit.
    pub deadline_ms: u64,
    /// Served calls slower than the limit.
    pub over_deadline: u64,
    /// Quota use.
    pub quota: QuotaUse,
}

/// A consumer's refusals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConsumerRefusals {
    /// The consumer.
    pub consumer: String,
    /// Refusals in all.
    pub refused: u64,
    /// By problem code.
    pub by_code: BTreeMap<String, u64>,
}

/// A fulfilment report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FulfilmentReport {
    /// The period.
    pub period: String,
    /// Its first instant, China Standard Time (RFC 3339).
    pub period_start: String,
    /// The first instant after it, China Standard Time (RFC 3339).
    pub period_end: String,
    /// The registry version whose list the report is against.
    pub registry_version: i64,
    /// Exchange records in the period.
    pub exchanges: u64,
    /// Of which served.
    pub served: u64,
    /// Of which refused.
    pub refused: u64,
    /// One row per list entry.
    pub entries: Vec<EntryReport>,
    /// Active entries with no call in the period.
    pub never_used: Vec<String>,
    /// Refusals that never got as far as an entry, by code.
    pub refused_without_entry: BTreeMap<String, u64>,
    /// The consumers refused most, most first (at most ten).
    pub consumers_refused_most: Vec<ConsumerRefusals>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "bounded by the slice length"
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    let v = sorted.get(rank.min(sorted.len()) - 1).copied().unwrap_or(0);
    v as f64 / 1000.0
}

#[derive(Default)]
struct Acc {
    served: u64,
    refused: BTreeMap<String, u64>,
    latencies: Vec<u64>,
    per_consumer_day: HashMap<(String, String), u64>,
}

impl Store {
    /// Computes the fulfilment report of `period` against `registry`'s list.
    pub async fn fulfilment(
        &self,
        registry: &Registry,
        period: &Period,
        codes: &ReportCodes<'_>,
    ) -> Result<FulfilmentReport, StoreError> {
        let mut report = FulfilmentReport {
            period: period.label.clone(),
            period_start: cst_time(period.start_ms),
            period_end: cst_time(period.end_ms),
            registry_version: registry.version(),
            ..FulfilmentReport::default()
        };
        let mut by_entry: HashMap<String, Acc> = HashMap::new();
        let mut by_consumer: HashMap<String, ConsumerRefusals> = HashMap::new();
        // The period's leaves lie between these two indices, found through the
        // time index. Paging by index within them keeps a report proportional
        // to its period: with the time condition alone, SQLite's planner reads
        // `ORDER BY idx … LIMIT` along the primary key from the log's first
        // leaf to its last, whatever the period.
        let what = "finding a report period's leaves";
        let bounds = sqlx::query(
            "SELECT MIN(idx), MAX(idx) FROM log_leaves WHERE time_ms >= $1 AND time_ms < $2",
        )
        .bind(period.start_ms)
        .bind(period.end_ms)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::query(what))?;
        let first: Option<i64> = bounds.try_get(0).map_err(StoreError::query(what))?;
        let last: Option<i64> = bounds.try_get(1).map_err(StoreError::query(what))?;
        // No leaf in the period: an empty range, so no page is read.
        let (mut after, last) = match (first, last) {
            (Some(first), Some(last)) => (first - 1, last),
            _ => (0, 0),
        };
        while after < last {
            let rows = sqlx::query("SELECT idx, leaf FROM log_leaves WHERE time_ms >= $1 AND time_ms < $2 AND idx > $3 AND idx <= $4 ORDER BY idx LIMIT 5000")
                .bind(period.start_ms)
                .bind(period.end_ms)
                .bind(after)
                .bind(last)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query("reading exchange records for a report"))?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                after = row
                    .try_get(0)
                    .map_err(StoreError::query("reading exchange records for a report"))?;
                let leaf: Vec<u8> = row
                    .try_get(1)
                    .map_err(StoreError::query("reading exchange records for a report"))?;
                let r: RecordView = serde_json::from_slice(&leaf)
                    .map_err(|e| StoreError::Corrupt(format!("leaf {after}: {e}")))?;
                report.exchanges += 1;
                let served = r.outcome == "served";
                let code = r.code.clone().unwrap_or_else(|| "-".into());
                if served {
                    report.served += 1;
                } else {
                    report.refused += 1;
                    if let Some(c) = &r.consumer {
                        let e = by_consumer
                            .entry(c.clone())
                            .or_insert_with(|| ConsumerRefusals {
                                consumer: c.clone(),
                                ..ConsumerRefusals::default()
                            });
                        e.refused += 1;
                        *e.by_code.entry(code.clone()).or_default() += 1;
                    }
                }
                match &r.entry {
                    None => {
                        if !served {
                            *report.refused_without_entry.entry(code).or_default() += 1;
                        }
                    }
                    Some(entry) => {
                        let acc = by_entry.entry(entry.clone()).or_default();
                        if served {
                            acc.served += 1;
                            acc.latencies.push(r.latency_us);
                        } else {
                            *acc.refused.entry(code.clone()).or_default() += 1;
                        }
                        if code != codes.quota_exhausted
                            && let Some(c) = &r.consumer
                        {
                            let day = day_of(&r.time);
                            *acc.per_consumer_day.entry((c.clone(), day)).or_default() += 1;
                        }
                    }
                }
            }
        }
        for e in registry.entries() {
            let acc = by_entry.remove(&e.id).unwrap_or_default();
            let refused_total: u64 = acc.refused.values().sum();
            let calls = acc.served + refused_total;
            if calls == 0 {
                if e.status == EntryStatus::Active {
                    report.never_used.push(e.id.clone());
                }
                continue;
            }
            let provider_fail: u64 = codes
                .provider_failures
                .iter()
                .chain(codes.seal_failures)
                .filter_map(|c| acc.refused.get(*c))
                .sum();
            let not_found = acc
                .refused
                .get(codes.record_not_found)
                .copied()
                .unwrap_or(0);
            let reached = acc.served + not_found + provider_fail;
            let mut lat = acc.latencies.clone();
            lat.sort_unstable();
            let deadline_us = e.deadline_ms.saturating_mul(1000);
            let quota_refused = acc.refused.get(codes.quota_exhausted).copied().unwrap_or(0);
            report.entries.push(EntryReport {
                entry: e.id.clone(),
                resource: e.resource.clone(),
                provider: e.provider.to_string(),
                calls,
                served: acc.served,
                refused: acc.refused.clone(),
                reached_provider: reached,
                #[allow(clippy::cast_precision_loss, reason = "a ratio for a report")]
                provider_success_rate: (reached > 0)
                    .then(|| (acc.served + not_found) as f64 / reached as f64),
                latency_ms: (!lat.is_empty()).then(|| Latency {
                    p50: percentile(&lat, 50.0),
                    p95: percentile(&lat, 95.0),
                    p99: percentile(&lat, 99.0),
                }),
                deadline_ms: e.deadline_ms,
                over_deadline: lat.iter().filter(|l| **l > deadline_us).count() as u64,
                quota: QuotaUse {
                    per_day: e.quota.per_day,
                    per_month: e.quota.per_month,
                    max_calls_in_a_day: acc.per_consumer_day.values().copied().max().unwrap_or(0),
                    counted_calls: calls - quota_refused,
                    refused: quota_refused,
                },
            });
        }
        let mut consumers: Vec<ConsumerRefusals> = by_consumer.into_values().collect();
        consumers.sort_by(|a, b| {
            b.refused
                .cmp(&a.refused)
                .then_with(|| a.consumer.cmp(&b.consumer))
        });
        consumers.truncate(10);
        report.consumers_refused_most = consumers;
        Ok(report)
    }
}

/// A Unix millisecond time as RFC 3339 in China Standard Time.
pub fn cst_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.to_offset(CST)
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A count under one name: a resource, a problem code, a consumer, an outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// What is counted (`-` when the record has none).
    pub key: String,
    /// How many exchange records.
    pub count: u64,
}

/// Exchanges from one region to another (consumer's region → provider's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegionPair {
    /// The consumer's region code, `-` when unidentified.
    pub from: String,
    /// The provider's region code, `-` when no provider was chosen.
    pub to: String,
    /// Served.
    pub served: u64,
    /// Refused.
    pub refused: u64,
}

/// The log's size at the end of an hour (its last checkpoint signed then).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SizePoint {
    /// When that checkpoint was signed, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The tree size it commits to.
    pub size: u64,
}

/// The overview of a period: counts of the exchanges the latest checkpoint
/// covers, read from the hourly counts the integrator keeps (`log_hours`),
/// never from the leaves, so it stays fast on a large log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogSummary {
    /// The period.
    pub period: String,
    /// Its first millisecond (Unix).
    pub start_ms: i64,
    /// The first millisecond after it.
    pub end_ms: i64,
    /// Exchange records in the period.
    pub exchanges: u64,
    /// Of which served.
    pub served: u64,
    /// Of which refused.
    pub refused: u64,
    /// By region pair, most first.
    pub by_region_pair: Vec<RegionPair>,
    /// By catalogue resource, most first.
    pub by_resource: Vec<Count>,
    /// Refusals by problem code, most first.
    pub refusals_by_code: Vec<Count>,
    /// The consumers with the most exchanges, most first (at most ten).
    pub busiest_consumers: Vec<Count>,
    /// The consumers refused most, most first (at most ten).
    pub most_refused_consumers: Vec<Count>,
    /// Active list entries no exchange in the period went under (as the
    /// fulfilment report's `never_used`).
    pub never_used: Vec<String>,
    /// The log's size hour by hour over the period, from its checkpoints.
    pub log_size: Vec<SizePoint>,
}

/// The region code of a member id, `{region}:{uscc}[:{subsystem}]`.
fn region_of(member: &str) -> String {
    member.split(':').next().unwrap_or("-").to_owned()
}

/// Counts sorted most first, then by name; at most `keep`.
fn ranked(map: HashMap<String, u64>, keep: usize) -> Vec<Count> {
    let mut v: Vec<Count> = map
        .into_iter()
        .map(|(key, count)| Count { key, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v.truncate(keep);
    v
}

impl Store {
    /// The overview of `period`: the leaves received in it that the latest
    /// checkpoint covers, counted by outcome, region pair, resource, problem
    /// code and consumer; the active entries of `registry`'s list none of
    /// them went under; and the log's size over it. It sums the hourly
    /// counts the integrator keeps — at most 24 × 31 hours of them for a
    /// month — and reads no leaf.
    pub async fn log_summary(
        &self,
        registry: &Registry,
        period: &Period,
    ) -> Result<LogSummary, StoreError> {
        let what = "summarising a period of the exchange log";
        // A period starts and ends on an hour (China Standard Time is a whole
        // number of hours from UTC), so its hours are exactly its leaves'.
        let rows = sqlx::query(
            "SELECT consumer, provider, resource, outcome, code, entry, \
             CAST(SUM(count) AS BIGINT) FROM log_hours \
             WHERE hour_ms >= $1 AND hour_ms < $2 \
             GROUP BY consumer, provider, resource, outcome, code, entry",
        )
        .bind(period.start_ms)
        .bind(period.end_ms)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(what))?;
        let mut summary = LogSummary {
            period: period.label.clone(),
            start_ms: period.start_ms,
            end_ms: period.end_ms,
            ..LogSummary::default()
        };
        let mut pairs: BTreeMap<(String, String), RegionPair> = BTreeMap::new();
        let mut used = std::collections::HashSet::new();
        let (mut resources, mut codes, mut busiest, mut refused_most) = (
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
        );
        for row in &rows {
            let text = |i: usize| -> Result<String, StoreError> {
                let v: Option<String> = row.try_get(i).map_err(StoreError::query(what))?;
                Ok(v.unwrap_or_else(|| "-".into()))
            };
            let (consumer, provider, resource, outcome, code) =
                (text(0)?, text(1)?, text(2)?, text(3)?, text(4)?);
            used.insert(text(5)?);
            let n: i64 = row.try_get(6).map_err(StoreError::query(what))?;
            let n = u64::try_from(n).unwrap_or(0);
            let served = outcome == "served";
            summary.exchanges += n;
            let from = if consumer == "-" {
                consumer.clone()
            } else {
                region_of(&consumer)
            };
            let to = if provider == "-" {
                provider.clone()
            } else {
                region_of(&provider)
            };
            let pair = pairs
                .entry((from.clone(), to.clone()))
                .or_insert(RegionPair {
                    from,
                    to,
                    ..RegionPair::default()
                });
            if served {
                summary.served += n;
                pair.served += n;
            } else {
                summary.refused += n;
                pair.refused += n;
                *codes.entry(code).or_default() += n;
                *refused_most.entry(consumer.clone()).or_default() += n;
            }
            *resources.entry(resource).or_default() += n;
            *busiest.entry(consumer).or_default() += n;
        }
        let mut pairs: Vec<RegionPair> = pairs.into_values().collect();
        pairs.sort_by_key(|p| std::cmp::Reverse(p.served + p.refused));
        summary.by_region_pair = pairs;
        summary.by_resource = ranked(resources, usize::MAX);
        summary.refusals_by_code = ranked(codes, usize::MAX);
        summary.busiest_consumers = ranked(busiest, 10);
        summary.most_refused_consumers = ranked(refused_most, 10);
        summary.never_used = registry
            .entries()
            .iter()
            .filter(|e| e.status == EntryStatus::Active && !used.contains(&e.id))
            .map(|e| e.id.clone())
            .collect();

        let what = "reading a period's checkpoints";
        let rows = sqlx::query(
            "SELECT MAX(time_ms), MAX(size) FROM log_checkpoints \
             WHERE time_ms >= $1 AND time_ms < $2 GROUP BY time_ms / 3600000 ORDER BY 1",
        )
        .bind(period.start_ms)
        .bind(period.end_ms)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(what))?;
        for row in &rows {
            let time_ms: i64 = row.try_get(0).map_err(StoreError::query(what))?;
            let size: i64 = row.try_get(1).map_err(StoreError::query(what))?;
            summary.log_size.push(SizePoint {
                time_ms,
                size: u64::try_from(size).unwrap_or(0),
            });
        }
        Ok(summary)
    }
}

/// The China Standard Time day of an RFC 3339 UTC time, `YYYY-MM-DD`.
fn day_of(time: &str) -> String {
    time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
        .map(|t| crate::dates::format(t.to_offset(CST).date()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_in_china_standard_time() {
        let p = parse_period("2026-11").unwrap();
        // 2026-11-01T00:00+08:00 = 2026-10-31T16:00Z.
        assert_eq!(p.start_ms, 1_793_462_400_000);
        assert_eq!(p.end_ms - p.start_ms, 30 * 86_400_000);
        let d = parse_period("2026-12-31").unwrap();
        assert_eq!(d.end_ms - d.start_ms, 86_400_000);
        for bad in ["2026", "2026-13", "2026-02-30", "x", "2026-11-01-01"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7000], 99.0), 7.0);
    }
}
