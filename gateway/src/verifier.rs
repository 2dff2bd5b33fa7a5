//! Document verification's share of the node. Unpacking an OFD package and
//! checking its signatures is CPU and memory work that an upload can make
//! large; on the async workers it would hold up every exchange. So every
//! verification — `POST /v1/verify` and the licence path's seal check — runs
//! on the blocking pool, at most `verify.workers` at once, with at most
//! `verify.queue` waiting and at most `verify.per_member` of one member's
//! running or waiting; beyond that the caller is answered `verifier_busy` at
//! once, with `Retry-After`, rather than queued without bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;
use yrdx_signing::{MemberId, OfdLimits};

use crate::config::VerifyConfig;
use crate::problem::Problem;

/// The bounded verification pool.
#[derive(Debug)]
pub struct Verifier {
    workers: Arc<Semaphore>,
    /// Running and waiting, in all and per member.
    load: Mutex<Load>,
    capacity: usize,
    per_member: usize,
    limits: OfdLimits,
}

#[derive(Debug, Default)]
struct Load {
    all: usize,
    by_member: HashMap<MemberId, usize>,
}

/// A verification's place in the pool, given back when it ends (or when the
/// request is dropped while it waits).
#[derive(Debug)]
struct Place<'a> {
    verifier: &'a Verifier,
    member: MemberId,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut load = self
            .verifier
            .load
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        load.all = load.all.saturating_sub(1);
        if let Some(n) = load.by_member.get_mut(&self.member) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                load.by_member.remove(&self.member);
            }
        }
    }
}

impl Verifier {
    /// The pool `config` describes.
    pub fn new(config: &VerifyConfig) -> Verifier {
        Verifier {
            workers: Arc::new(Semaphore::new(config.workers)),
            load: Mutex::new(Load::default()),
            capacity: config.workers.saturating_add(config.queue),
            per_member: config.per_member,
            limits: OfdLimits {
                max_total_size: config.max_inflated_bytes,
                max_entry_size: config.max_entry_bytes,
                ..OfdLimits::default()
            },
        }
    }

    /// The bounds an OFD package is read within.
    pub fn limits(&self) -> OfdLimits {
        self.limits
    }

    /// Runs `job` for `member` on the blocking pool once a worker is free, or
    /// refuses at once with `verifier_busy` when the pool or the member's
    /// share of it is full.
    pub async fn run<T, F>(&self, member: &MemberId, job: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let _place = self.take_place(member)?;
        let permit = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Problem::Internal)?;
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await;
        done.map_err(|e| {
            tracing::error!(error = %e, "a verification failed to run");
            Problem::Internal
        })
    }

    fn take_place(&self, member: &MemberId) -> Result<Place<'_>, Problem> {
        let mut load = self.load.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = load.by_member.get(member).copied().unwrap_or(0);
        if load.all >= self.capacity || mine >= self.per_member {
            return Err(Problem::VerifierBusy);
        }
        load.all += 1;
        *load.by_member.entry(member.clone()).or_default() += 1;
        Ok(Place {
            verifier: self,
            member: member.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn pool(workers: usize, queue: usize, per_member: usize) -> Arc<Verifier> {
        Arc::new(Verifier::new(&VerifyConfig {
            workers,
            queue,
            per_member,
            max_inflated_bytes: 1 << 20,
            max_entry_bytes: 1 << 20,
        }))
    }

    fn member(id: &str) -> MemberId {
        id.parse().unwrap()
    }

    /// One member cannot take more than its share, the pool no more than its
    /// workers and queue, and every place comes back when a job ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_refuses_beyond_its_bounds_and_frees_places() {
        let v = pool(1, 1, 2);
        let a = member("js:11320000014000118J:data");
        let b = member("zj:11330000002482028A:data");
        let gate = Arc::new(Semaphore::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        let job = |gate: Arc<Semaphore>, running: Arc<AtomicUsize>| {
            move || {
                running.fetch_add(1, Ordering::SeqCst);
                // Holds its worker until the test lets it go.
                while gate.try_acquire().is_err() {
                    std::thread::sleep(Duration::from_millis(2));
                }
                running.fetch_sub(1, Ordering::SeqCst);
                7
            }
        };
        let first = tokio::spawn({
            let (v, a) = (v.clone(), a.clone());
            let j = job(gate.clone(), running.clone());
            async move { v.run(&a, j).await }
        });
        let second = tokio::spawn({
            let (v, a) = (v.clone(), a.clone());
            let j = job(gate.clone(), running.clone());
            async move { v.run(&a, j).await }
        });
        // Both places taken (one running, one waiting): a third is refused,
        // whoever asks.
        while v.load.lock().unwrap().all < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(v.run(&b, || 0).await, Err(Problem::VerifierBusy));
        assert_eq!(v.run(&a, || 0).await, Err(Problem::VerifierBusy));
        assert!(running.load(Ordering::SeqCst) <= 1, "one worker only");
        gate.add_permits(2);
        assert_eq!(first.await.unwrap(), Ok(7));
        assert_eq!(second.await.unwrap(), Ok(7));
        assert_eq!(v.load.lock().unwrap().all, 0);
        assert!(v.load.lock().unwrap().by_member.is_empty());
        assert_eq!(v.run(&b, || 1).await, Ok(1));
    }

    /// A member's share is its own: with room in the pool, a second member is
    /// served while the first is at its limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_member_cannot_take_the_whole_pool() {
        let v = pool(2, 4, 1);
        let a = member("js:11320000014000118J:data");
        let b = member("zj:11330000002482028A:data");
        let gate = Arc::new(Semaphore::new(0));
        let held = tokio::spawn({
            let (v, a, gate) = (v.clone(), a.clone(), gate.clone());
            async move {
                v.run(&a, move || {
                    while gate.try_acquire().is_err() {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
                .await
            }
        });
        while v.load.lock().unwrap().all < 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(v.run(&a, || ()).await, Err(Problem::VerifierBusy));
        assert_eq!(v.run(&b, || 2).await, Ok(2));
        gate.add_permits(1);
        held.await.unwrap().unwrap();
    }
}
