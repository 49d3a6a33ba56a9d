//! When to retry a failed attempt and how long to wait: pure functions over the classified
//! error, the retry count and a random number, so the rules are tested without a clock.

use super::HttpConfig;
use hypernet_plugin_api::provider::{HttpResponse, ProviderError};
use std::time::{Duration, SystemTime};

/// The retry rules of one executor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries before giving up.
    pub max_retries: u32,
    /// Ceiling of the first backoff.
    pub base: Duration,
    /// Largest wait.
    pub max: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait, then try again.
    Retry(Duration),
    /// Return the error.
    GiveUp(GiveUpReason),
}

/// Why an error is returned without another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// Retrying cannot help (auth, bad request, context, credits, malformed).
    NotRetryable,
    /// `max_retries` retries were taken.
    Exhausted,
    /// The server asked for a longer wait than `retry_max_ms`: better fall back elsewhere.
    RetryAfterTooLong,
}

impl RetryPolicy {
    /// The policy of `[http]`.
    pub fn new(config: &HttpConfig) -> RetryPolicy {
        RetryPolicy {
            max_retries: config.max_retries,
            base: Duration::from_millis(config.retry_base_ms),
            max: Duration::from_millis(config.retry_max_ms),
        }
    }

    /// The ceiling of the backoff after `retries` retries: `base·2^retries`, at most `max`.
    pub fn ceiling(&self, retries: u32) -> Duration {
        let factor = 1u32.checked_shl(retries.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// Decides after a failure, `retries` retries having been taken; `unit` is uniform in
    /// `[0, 1)` (full jitter: the wait is uniform below the ceiling). A server-given
    /// `retry_after_ms` is waited exactly, unless it exceeds `max`.
    pub fn decide(&self, error: &ProviderError, retries: u32, unit: f64) -> Decision {
        if !error.is_retryable() {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        }
        if retries >= self.max_retries {
            return Decision::GiveUp(GiveUpReason::Exhausted);
        }
        match error.retry_after_ms().filter(|ms| *ms > 0) {
            Some(ms) if Duration::from_millis(ms) > self.max => {
                Decision::GiveUp(GiveUpReason::RetryAfterTooLong)
            }
            Some(ms) => Decision::Retry(Duration::from_millis(ms)),
            None => Decision::Retry(self.ceiling(retries).mul_f64(unit.clamp(0.0, 1.0))),
        }
    }
}

/// Fills in the wait of a rate-limit or overload error whose provider did not read it,
/// from a `retry-after` header holding an HTTP date.
pub fn with_retry_after_date(error: ProviderError, response: &HttpResponse) -> ProviderError {
    let date_wait = || {
        let when = httpdate::parse_http_date(response.header("retry-after")?.trim()).ok()?;
        let wait = when.duration_since(SystemTime::now()).unwrap_or_default();
        Some(wait.as_millis() as u64)
    };
    match error {
        ProviderError::RateLimited {
            message,
            retry_after_ms: None,
        } => ProviderError::RateLimited {
            message,
            retry_after_ms: date_wait(),
        },
        ProviderError::Overloaded {
            message,
            retry_after_ms: None,
        } => ProviderError::Overloaded {
            message,
            retry_after_ms: date_wait(),
        },
        other => other,
    }
}

/// A uniform number in `[0, 1)`, from the standard library's randomly keyed hasher.
pub fn unit_random() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(500),
            max: Duration::from_millis(30_000),
        }
    }

    fn server() -> ProviderError {
        ProviderError::Server {
            status: 503,
            message: "busy".into(),
        }
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let p = policy();
        let waits: Vec<u128> = (0..8).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(p.ceiling(200).as_millis(), 30000);
    }

    #[test]
    fn full_jitter_stays_below_the_ceiling() {
        let p = policy();
        assert_eq!(p.decide(&server(), 2, 0.0), Decision::Retry(Duration::ZERO));
        assert_eq!(
            p.decide(&server(), 2, 0.5),
            Decision::Retry(Duration::from_millis(1000))
        );
        for _ in 0..1000 {
            let u = unit_random();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn retry_after_is_waited_exactly_unless_too_long() {
        let p = policy();
        let limited = |ms| ProviderError::RateLimited {
            message: String::new(),
            retry_after_ms: Some(ms),
        };
        assert_eq!(
            p.decide(&limited(2000), 0, 0.1),
            Decision::Retry(Duration::from_millis(2000))
        );
        assert_eq!(
            p.decide(&limited(60_000), 0, 0.1),
            Decision::GiveUp(GiveUpReason::RetryAfterTooLong)
        );
        // Zero means "no advice": the backoff applies.
        assert_eq!(
            p.decide(&limited(0), 1, 0.5),
            Decision::Retry(Duration::from_millis(500))
        );
    }

    #[test]
    fn non_retryable_and_exhausted_give_up() {
        let p = policy();
        let auth = ProviderError::Auth {
            message: "key".into(),
        };
        assert_eq!(
            p.decide(&auth, 0, 0.5),
            Decision::GiveUp(GiveUpReason::NotRetryable)
        );
        assert_eq!(
            p.decide(&server(), 4, 0.5),
            Decision::GiveUp(GiveUpReason::Exhausted)
        );
        assert!(matches!(p.decide(&server(), 3, 0.5), Decision::Retry(_)));
    }

    #[test]
    fn retry_after_as_http_date() {
        let when = SystemTime::now() + Duration::from_secs(20);
        let response = HttpResponse {
            status: 429,
            headers: vec![("Retry-After".into(), httpdate::fmt_http_date(when))],
            body: String::new(),
        };
        let e = with_retry_after_date(ProviderError::from_status(&response), &response);
        let ms = e.retry_after_ms().unwrap();
        assert!((18_000..=20_000).contains(&ms), "{ms}");
    }
}
