//! GC safepoints as PD keeps them: one GC safepoint that never moves back, and service
//! safepoints (each with a TTL) that hold it back: the GC safepoint is capped at the lowest
//! live service safepoint, which is how a backup's keeper protects the versions it reads.
//! Pure over the state; expiry compares with the `now_ms` the caller passes.

use std::collections::BTreeMap;

use super::error::{PdError, Result};
use super::state::ServiceSafepoint;

/// The lowest service safepoint not expired at `now_ms`.
pub(super) fn min_live(services: &BTreeMap<String, ServiceSafepoint>, now_ms: u64) -> Option<u64> {
    services
        .values()
        .filter(|s| s.expire_at_ms > now_ms)
        .map(|s| s.safepoint)
        .min()
}

/// Sets (TTL > 0) or removes (TTL <= 0) `service`'s safepoint, dropping expired entries, and
/// returns the lowest live service safepoint afterwards (the GC safepoint when none is left).
/// A safepoint below the GC safepoint is refused, like PD: what it would protect may be gone.
pub(super) fn update_service(
    services: &mut BTreeMap<String, ServiceSafepoint>,
    gc_safepoint: u64,
    service: &str,
    ttl_secs: i64,
    safepoint: u64,
    now_ms: u64,
) -> Result<u64> {
    services.retain(|_, s| s.expire_at_ms > now_ms);
    if ttl_secs <= 0 {
        services.remove(service);
    } else {
        if safepoint < gc_safepoint {
            return Err(PdError::SafepointBehindGc {
                service: service.to_string(),
                requested: safepoint,
                gc_safepoint,
            });
        }
        // ttl_secs > 0 here; i64::MAX seconds and other huge TTLs never expire.
        let expire_at_ms = (ttl_secs as u64)
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(now_ms))
            .unwrap_or(u64::MAX);
        services.insert(
            service.to_string(),
            ServiceSafepoint {
                safepoint,
                expire_at_ms,
            },
        );
    }
    Ok(min_live(services, now_ms).unwrap_or(gc_safepoint))
}

/// The GC safepoint after a request to move it to `requested`: never backwards, never above
/// the lowest live service safepoint.
pub(super) fn next_gc_safepoint(
    current: u64,
    requested: u64,
    services: &BTreeMap<String, ServiceSafepoint>,
    now_ms: u64,
) -> u64 {
    let capped = min_live(services, now_ms).map_or(requested, |m| requested.min(m));
    current.max(capped)
}
