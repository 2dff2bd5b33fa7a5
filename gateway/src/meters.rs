//! The rate meters: each list entry's per-second rate (with its burst), kept
//! in memory by governor, one limiter per entry keyed by consumer — the keys
//! are the entry's listed consumers, so memory is bounded by the list. With
//! several nodes on one store each node enforces its share, ⌈rate ÷ live
//! nodes⌉ (and ⌈burst ÷ live nodes⌉), re-evaluated when the live count
//! changes: a consumer spread evenly over n nodes gets the listed rate, at
//! most n − 1 calls a second more (see docs/performance.md, "Scale-out").
//! Per-day and per-month counts are exact in the store (`pipeline::meter`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota as Rate, RateLimiter};
use yrdx_registry::Registry;
use yrdx_signing::MemberId;

/// The per-second limiters of every entry with a rate.
#[derive(Debug, Default)]
pub struct Meters {
    per_entry: HashMap<String, Limiter>,
    nodes: u32,
}

#[derive(Debug, Clone)]
struct Limiter {
    // As listed, for the whole cluster.
    per_second: u32,
    burst: u32,
    // This node's share.
    node_per_second: u32,
    node_burst: u32,
    limiter: Arc<DefaultKeyedRateLimiter<MemberId>>,
}

impl Meters {
    /// Limiters for `registry`'s entries on one of `nodes` live nodes; an
    /// entry whose share did not change keeps its limiter (and its state)
    /// from `previous`.
    pub fn build(registry: &Registry, previous: Option<&Meters>, nodes: u32) -> Meters {
        let nodes = nodes.max(1);
        let mut per_entry = HashMap::new();
        for entry in registry.entries() {
            let Some(per_second) = entry.quota.per_second else {
                continue;
            };
            let burst = entry.quota.burst.unwrap_or(per_second);
            let node_per_second = per_second.div_ceil(nodes);
            let node_burst = burst.div_ceil(nodes);
            if let Some(old) = previous
                .and_then(|p| p.per_entry.get(&entry.id))
                .filter(|l| {
                    l.per_second == per_second
                        && l.burst == burst
                        && l.node_per_second == node_per_second
                        && l.node_burst == node_burst
                })
            {
                per_entry.insert(entry.id.clone(), old.clone());
                continue;
            }
            let (Some(rate), Some(b)) = (
                NonZeroU32::new(node_per_second),
                NonZeroU32::new(node_burst),
            ) else {
                continue;
            };
            per_entry.insert(
                entry.id.clone(),
                Limiter {
                    per_second,
                    burst,
                    node_per_second,
                    node_burst,
                    limiter: Arc::new(RateLimiter::dashmap(Rate::per_second(rate).allow_burst(b))),
                },
            );
        }
        Meters { per_entry, nodes }
    }

    /// The live node count the shares were computed for.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    /// This node's share of `entry`'s rate and burst, if it has a rate.
    pub fn share(&self, entry: &str) -> Option<(u32, u32)> {
        self.per_entry
            .get(entry)
            .map(|l| (l.node_per_second, l.node_burst))
    }

    /// Takes one call from the entry's rate; on refusal, the seconds until a
    /// call would pass (at least 1).
    pub fn check_rate(&self, entry: &str, consumer: &MemberId) -> Result<(), u64> {
        let Some(l) = self.per_entry.get(entry) else {
            return Ok(());
        };
        l.limiter.check_key(consumer).map_err(|not_until| {
            let wait = not_until.wait_time_from(l.limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}
