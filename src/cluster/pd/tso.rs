//! The timestamp oracle's arithmetic: `physical_ms << 18 | logical` (TSO-1, `codec::tso`),
//! strictly increasing, and monotonic across restarts the way PD does it: an upper bound
//! (`now + 3 s`) is persisted before any timestamp at or beyond the previous bound is handed
//! out, and a reopened oracle starts at the saved bound. Pure: the caller reads the clock and
//! persists the bound.

use super::error::{PdError, Result};
use crate::codec::tso::{compose, logical, physical, LOGICAL_MASK, MAX_PHYSICAL_MS};

/// How far ahead of the clock the persisted bound is set (PD's default save interval).
pub const TSO_SAVE_INTERVAL_MS: u64 = 3000;

/// The last timestamp handed out (or the floor after a reopen / `advance_to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TsoState {
    pub physical: u64,
    pub logical: u64,
}

/// The outcome of a request: the new state, the timestamp to return, and a bound to persist
/// first when the new state reaches the old bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TsoStep {
    pub next: TsoState,
    pub ts: u64,
    pub new_bound_ms: Option<u64>,
}

impl TsoState {
    /// The state of a freshly opened oracle whose saved bound is `bound_ms`: every later
    /// timestamp is above `compose(bound_ms, 0)`, hence above any handed out before.
    pub fn after_restart(bound_ms: u64) -> TsoState {
        TsoState {
            physical: bound_ms,
            logical: 0,
        }
    }

    /// `count` consecutive timestamps at clock `now_ms`; `ts` is the last of them.
    pub fn next(self, now_ms: u64, count: u32, bound_ms: u64) -> Result<TsoStep> {
        let count = u64::from(count);
        if count == 0 || count > LOGICAL_MASK {
            return Err(PdError::Invalid(format!(
                "TSO count {count} is outside 1..={LOGICAL_MASK}"
            )));
        }
        let mut next = self;
        if now_ms > next.physical {
            next = TsoState {
                physical: now_ms,
                logical: 0,
            };
        }
        if next.logical + count > LOGICAL_MASK {
            // The logical part is used up: move to the next millisecond, ahead of the clock.
            next.physical += 1;
            next.logical = 0;
        }
        next.logical += count;
        if next.physical > MAX_PHYSICAL_MS {
            return Err(PdError::Invalid(format!(
                "TSO physical time {} ms is past 2^46 ms",
                next.physical
            )));
        }
        Ok(TsoStep {
            next,
            ts: compose(next.physical, next.logical),
            new_bound_ms: needs_bound(next.physical, now_ms, bound_ms),
        })
    }

    /// The state after which every timestamp is above `ts` (restore's `advance_to`).
    pub fn advanced_to(self, ts: u64, now_ms: u64, bound_ms: u64) -> Result<TsoStep> {
        let (p, l) = (physical(ts), logical(ts));
        let mut next = self;
        if (p, l) > (next.physical, next.logical) {
            next = TsoState {
                physical: p,
                logical: l,
            };
        }
        if next.logical >= LOGICAL_MASK {
            next.physical += 1;
            next.logical = 0;
        }
        if next.physical > MAX_PHYSICAL_MS {
            return Err(PdError::Invalid(format!(
                "cannot advance the TSO to {ts}: physical time past 2^46 ms"
            )));
        }
        Ok(TsoStep {
            next,
            ts: compose(next.physical, next.logical),
            new_bound_ms: needs_bound(next.physical, now_ms, bound_ms),
        })
    }
}

/// A new bound when `physical` is not below the current one.
fn needs_bound(physical: u64, now_ms: u64, bound_ms: u64) -> Option<u64> {
    (physical >= bound_ms).then(|| physical.max(now_ms).saturating_add(TSO_SAVE_INTERVAL_MS))
}
