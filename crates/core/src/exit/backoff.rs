//! Back-off and dial concurrency per exit: after consecutive failures, new dials wait an
//! exponentially growing, jittered delay, so a dead exit is not hammered by a reconnect storm.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::config::RelayConfig;

/// The dial gate of one exit.
#[derive(Debug)]
pub struct ExitGate {
    dials: Semaphore,
    state: Mutex<State>,
    base: Duration,
    cap: Duration,
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    not_before: Option<Instant>,
}

/// The gates of the exits in use in this process, so that sessions sharing an exit share its
/// back-off and dial cap.
static GATES: OnceLock<Mutex<HashMap<String, Weak<ExitGate>>>> = OnceLock::new();

impl ExitGate {
    /// The gate of the exit named `key` (its URL without password), shared by every dialer in
    /// this process that uses it; created with `config`'s limits if none is alive.
    pub fn shared(key: &str, config: &RelayConfig) -> Arc<ExitGate> {
        let gates = GATES.get_or_init(|| Mutex::new(HashMap::new()));
        let Ok(mut gates) = gates.lock() else {
            return Arc::new(ExitGate::new(config));
        };
        if let Some(gate) = gates.get(key).and_then(Weak::upgrade) {
            return gate;
        }
        gates.retain(|_, g| g.strong_count() > 0);
        let gate = Arc::new(ExitGate::new(config));
        gates.insert(key.to_owned(), Arc::downgrade(&gate));
        gate
    }

    /// A gate with the limits of `config`.
    pub fn new(config: &RelayConfig) -> Self {
        Self {
            dials: Semaphore::new(config.max_concurrent_dials.max(1)),
            state: Mutex::new(State::default()),
            base: config.backoff_base,
            cap: config.backoff_cap,
        }
    }

    /// Waits for a dial slot. `None` if the gate was closed (never, in practice).
    pub async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        self.dials.acquire().await.ok()
    }

    /// How long a dial starting now must wait (zero when the exit is healthy).
    pub fn delay(&self) -> Duration {
        let not_before = self.state.lock().ok().and_then(|s| s.not_before);
        not_before
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    /// Consecutive failures so far.
    #[cfg(test)]
    pub fn consecutive_failures(&self) -> u32 {
        self.state
            .lock()
            .map(|s| s.consecutive_failures)
            .unwrap_or(0)
    }

    /// A dial reached the exit: back to no delay.
    pub fn succeeded(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = State::default();
        }
    }

    /// A dial failed because of the exit: the next one waits longer. Returns the new delay.
    pub fn failed(&self) -> Duration {
        let Ok(mut s) = self.state.lock() else {
            return Duration::ZERO;
        };
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        let full = backoff(self.base, self.cap, s.consecutive_failures);
        // "Equal jitter": between half and all of the delay, so dials spread out but still wait.
        let jittered = full / 2 + full.mul_f64(rand::rng().random_range(0.0..0.5));
        s.not_before = Some(Instant::now() + jittered);
        jittered
    }
}

/// The un-jittered delay after `failures` consecutive failures: base · 2^(failures-1), capped.
pub fn backoff(base: Duration, cap: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
    base.saturating_mul(factor).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_per_failure_up_to_the_cap() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(2));
        let delays: Vec<_> = (0..8).map(|n| backoff(base, cap, n).as_millis()).collect();
        assert_eq!(delays, [0, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(
            backoff(base, cap, u32::MAX),
            cap,
            "no overflow on long outages"
        );
    }

    #[test]
    fn dialers_of_one_exit_share_its_gate_and_others_do_not() {
        let config = RelayConfig::default();
        let a = ExitGate::shared("http://u@198.51.100.1:8080", &config);
        let b = ExitGate::shared("http://u@198.51.100.1:8080", &config);
        let other = ExitGate::shared("http://u@198.51.100.2:8080", &config);
        a.failed();
        assert_eq!(
            b.consecutive_failures(),
            1,
            "a failure seen by one session backs off the other"
        );
        assert_eq!(
            other.consecutive_failures(),
            0,
            "another exit is not affected"
        );
    }

    #[tokio::test]
    async fn failures_set_a_jittered_delay_and_success_clears_it() {
        let config = RelayConfig {
            backoff_base: Duration::from_millis(400),
            ..RelayConfig::default()
        };
        let gate = ExitGate::new(&config);
        assert_eq!(gate.delay(), Duration::ZERO);
        gate.failed();
        let d = gate.failed();
        assert!(
            d >= Duration::from_millis(400) && d <= Duration::from_millis(800),
            "second failure: between half and all of 800 ms, got {d:?}"
        );
        assert!(gate.delay() > Duration::ZERO && gate.delay() <= d);
        assert_eq!(gate.consecutive_failures(), 2);
        gate.succeeded();
        assert_eq!(gate.delay(), Duration::ZERO);
        assert_eq!(gate.consecutive_failures(), 0);
    }
}
