//! Data-level checks.
